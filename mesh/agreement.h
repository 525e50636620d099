/* Host-failure agreement, fencing and notifier election: a pure state
 * machine (no socket, file, clock, thread or randomness). The shell feeds
 * it membership events, peer messages, Pacemaker's view, fence and
 * Masakari results, and `now` (monotonic ns); it drains actions (messages
 * to send, FENCE, NOTIFY_*, decision records). Same inputs, same outputs.
 *
 * One instance per daemon; every daemon of a failover segment runs one,
 * with the same configured member list.
 *
 * Safety first: a false "host failed" verdict fences a healthy host and
 * lets Masakari restart its guests elsewhere while they still run on
 * shared storage. Every rule below leans towards "no verdict".
 *
 * When is a host H declared failed (HOST incident, keyed by H's
 * incarnation i at death)
 * ------------------------------------------------------------------------
 * All of, at the deciding node:
 *  (a) the local membership (SWIM) says H is DEAD at incarnation i. LEFT
 *      is a planned shutdown, never a failure.
 *  (b) observers: a quorum Q of H's designated observers have observed H
 *      unreachable at incarnation i. Designated observers (as in Rapid's
 *      multi-observer cut detection): members are placed on a ring by a
 *      64-bit hash of their name; H's observers are the K members that
 *      follow H on that ring, skipping H and members the local view holds
 *      DEAD or LEFT (they cannot observe; without the skip, a rack failure
 *      that takes out K-Q+1 of H's observers would block the verdict for
 *      ever). With fewer than K other members, all of them. Q defaults to
 *      a majority of min(K, n-1): K=5 gives 3 of 5.
 *  (c) majority: observations of H unreachable at incarnation i, received
 *      within the last observation_ttl, come from more than half of the
 *      configured members (n/2 + 1 of n, counting this node's own); and
 *      the local membership holds more than half of the configured
 *      members alive or suspect (self included).
 *
 * An observation is first-hand: a member whose membership says H is
 * SUSPECT or DEAD probes H directly through the agreement channel, one
 * PROBE every probe_interval, and observes H unreachable only when a whole
 * unreachable_window passed with no PROBE_ACK, counted from the start of
 * the current unanswered run: the suspicion for the first run (its first
 * probe goes one interval later: most false suspicions are refuted by
 * then, and N members probing each of ~N suspicions would make the
 * steady message rate grow with N), the first probe after an ack for a
 * later one. An ack to any probe of this incarnation ends the run and
 * withdraws our observation. Observing while H is only SUSPECT is allowed (it is a
 * first-hand fact); the verdict still needs (a), (b) and (c). Once
 * observed, H is probed every resend_interval (any ack withdraws the
 * observation) and the observation is re-sent every resend_interval while
 * the incident is open, so observations stay fresh (older than
 * observation_ttl they no longer count).
 *
 * Connected again (issue 10, item 1). An observation counts only if its
 * whole window ran while the observer may observe: a majority live in its
 * view and some peer heard within 2 x unreachable_window (any message;
 * the composition calls agreement_on_heard). Otherwise the run starts
 * over and nothing is sent or re-told. When this node regains a majority,
 * or hears a peer after such a silence, every HOST incident still
 * gathering evidence drops its fresh observations (ours and received) and
 * our runs restart at that instant: after a switch reload, where every
 * node held every other dead, a decider whose live count crosses n/2
 * would otherwise declare members whose links came back a few hundred ms
 * later (their refutations not yet arrived). A verdict then needs a
 * majority of observations made after the reconnection, i.e. a whole
 * unreachable window of unanswered probes (mimamori-sim staggered-heal:
 * 200 seeds, 0 verdicts). The view alone is not enough: through a short
 * outage a view may keep a stale majority (SWIM probes one member per
 * period, slower as Lifeguard's LHM grows), so silence is the second
 * sign. A power loss with a majority present changes neither: no delay.
 *
 * Why these numbers (mimamori-sim, docs/BENCHMARKS.md). A healthy host
 * that stalls S seconds (SIGSTOP, CPU starvation) answers the probes
 * queued during the stall when it runs again; it is observed only if
 * sigma + unreachable_window < S + ack delay, where sigma (>= ~0.1-0.2 s
 * after the stall begins) is when the observer learns the suspicion. A
 * crashed host is observed at sigma + unreachable_window. So the window
 * buys stall tolerance one for one with detection time; re-probing (not a
 * single probe) makes a lost probe or ack irrelevant: at 5% loss all of
 * the ~5 round trips of a 1.2 s window at 200 ms must fail (p ~ 1e-5)
 * for one member, and a verdict needs a majority of members. The default
 * window (1.2 s) tolerates a 1.1 s stall at 5% loss in the simulator with
 * margin for a real daemon's wake-up after SIGCONT; crash -> verdict is
 * ~sigma + 1.2 s. claim_settle only has to cover claims crossing on a
 * LAN (ms), not a lost message (a resend would take resend_interval):
 * 100 ms.
 *
 * Why (c) counts observations rather than trusting the local view: a node
 * cut off in a minority keeps stale ALIVE entries for members it has not
 * probed yet (SWIM probes one member per period), so "my view has a
 * majority alive" can be true in a minority, and with K < n-1 a minority
 * can hold Q of H's observers (n=7, K=5, partition 3|4). And SWIM lets a
 * DEAD rumour at incarnation i override ALIVE at the same incarnation:
 * after a partition heals, the majority briefly holds a healthy H dead
 * until H refutes; counting "members that hold H dead" would declare it
 * (tests/model/agreement.pml finds that counterexample with -DNAIVE). A
 * host that a majority can reach answers a majority's probes, so fewer
 * than n/2+1 members can observe it unreachable: no verdict, whatever the
 * views say. Corollaries: a 2-member segment never declares; n=4 needs
 * all 3 survivors.
 *
 * Pacemaker's view (crm_mon) never causes, speeds up or vetoes a verdict
 * ------------------------------------------------------------------------
 * agreement_on_pacemaker_view() takes Pacemaker's view (mesh/
 * pacemaker_view.h; the daemon converts crm_mon's output). Only a
 * PACEMAKER_OK view (DC with quorum) is read; NO_INFO (crm_mon exit 102,
 * empty document, no DC) and NO_QUORUM (no-quorum-policy stops every
 * remote, so all show offline) are "no information", recorded once. An OK
 * view is corroboration only: the decision record says what Pacemaker
 * thinks of H (offline / unclean / reconnecting / online / absent) and
 * whether its fence history shows H fenced. It does not veto: Pacemaker
 * lags the mesh by 6-37 s on a lost network and shows a dead remote
 * online="true" for ~20 s while it retries the connection. It does not
 * declare either: a killed pacemaker-remoted makes H offline in
 * Pacemaker within 70 ms while H and its guests are fine. When an OK view
 * shows a member offline or unclean that the mesh holds ALIVE, a warning
 * is recorded (once per change).
 *
 * Process failure (PROCESS incident)
 * ----------------------------------
 * A node whose own probe saw its pacemaker-remoted (or another watched
 * process) die calls agreement_local_process_failed(): a process report is
 * broadcast at once, and again (every resend_interval, backing off to 8 of
 * them) until a peer's NOTIFIED covers it (the notifier tells the
 * reporter; any peer holding the record answers a re-sent report) or
 * idle_expiry passed (ERROR record): one lost broadcast lost it before
 * (issue 10, item 10). A report carries a sequence number (seq, at least
 * the failure's wall-clock ns): PROCESS incidents and their NOTIFIED
 * records are keyed by (incarnation, seq), so a second failure at the same
 * incarnation is a new incident (before, it was dropped as already
 * notified); a completed one gives way to it at once, an open one first
 * runs to its end (the re-sent report opens the next). Peers open a
 * PROCESS incident for H and wait
 * process_grace: if H is then ALIVE in membership (reachable), it is a
 * process failure and one node sends NOTIFY_PROCESS; if H went DEAD or
 * LEFT meanwhile, the PROCESS incident is dropped and the host path
 * applies. The grace matters: Masakari puts a host on maintenance after a
 * PROCESS notification and answers a later COMPUTE_HOST one with 409, so
 * a host that is dying must not be reported as a process failure first.
 * H never notifies about itself. (The shell must not also notify the
 * reported process through the local correlation core.)
 *
 * Who notifies (notifier election, folded in here)
 * ------------------------------------------------
 * Rendezvous hashing: every member m gets score(m, H) from the two name
 * hashes; candidates are ranked by descending score. HOST candidates are
 * the members with a fresh observation of H that the local view does not
 * hold DEAD/LEFT (they proved recently that they are alive and on the
 * deciding side, so a minority node that a stale view still lists never
 * becomes the notifier; the field guide's lost-notification bug), plus a
 * peer that claimed the incident recently. PROCESS candidates are members
 * ALIVE or SUSPECT (self included), H excluded.
 *  - Rank 0 claims: sends progress CLAIMED, waits claim_settle, then
 *    fences (HOST) and notifies. Progress (CLAIMED, FENCED, FENCE_FAILED,
 *    NOTIFYING) is sent at each step and re-sent every resend_interval
 *    while it works, NOTIFYING included for as long as Masakari has not
 *    answered (the shell's outbox is durable and keeps retrying: a
 *    notifier that still says NOTIFYING is alive and is not replaced
 *    before progress_bound, below);
 *    then NOTIFIED, with Masakari's HTTP status, once Masakari accepted it
 *    (202, or 409 for a duplicate); ABANDONED if it gives up without
 *    fencing. If its own delivery fails for good (a final 4xx, the outbox
 *    gave up or could not store it: a failed fsync latches it broken),
 *    that is not a completion: it sends HANDED_OVER, with host_status
 *    NORMAL if the host is known fenced, and stops being a candidate; the
 *    others drop it from the candidates and the next rank acts at once,
 *    without fencing again when it was fenced (issue 10, item 9).
 *  - A claim heard first leads: a node that decides after hearing a
 *    peer's claim ranks behind that claimer, whatever the scores.
 *  - A claimer that has not emitted NOTIFY yet yields (and becomes a
 *    backup) to a stronger claim: a committed one (FENCED, or NOTIFYING:
 *    that claimer notifies next or already did) beats an uncommitted one,
 *    and between claims at the same level the better score wins. Scores
 *    thus only settle claims that crossed in flight; commitment matters
 *    when a partition held a claim up until after its sender notified.
 *    Deciders with different evidence (an observation lost on its way to
 *    one of them) can both rank themselves 0, and a claim goes to a
 *    subset (Routing): so a claimer (or notifier) that hears a weaker
 *    CLAIMED answers its sender directly with its own progress, and a
 *    claim is re-told half-way through the settle; the weaker claimer
 *    yields before it fences unless every copy each way was lost
 *    (mimamori-sim crash at 5% loss: duplicate POSTs in 6 of 300 seeds at
 *    N=20 and 5 of 300 at N=50 before, 0 after).
 *  - Rank r (1..max_backups) takes over at max(decision, last progress
 *    heard, since when the current notifier is the best one in our view)
 *    + r * takeover_step, unless NOTIFIED arrived. Ranks are recomputed
 *    whenever the view or the observations change: if the notifier is
 *    declared dead, the next one acts at once. A silent notifier is
 *    replaced: every progress message heard moves the base forward, but
 *    only for progress_bound (2 takeover steps) after it claimed: a
 *    claimer still fencing (its fence keeps failing) or still waiting on
 *    Masakari then no longer counts (record "notifier_overdue"), the next
 *    rank acts, trusting its fence if it said FENCED, and Masakari's 409
 *    absorbs a duplicate; its later progress holds nobody back.
 *
 * Trust (issue 10, item 5)
 * -------------------------
 * Members are authenticated (TLS names), but one compromised member must
 * not be able to make the notifier skip its fence or end an incident for
 * everyone. Progress (CLAIMED .. HANDED_OVER) is taken only about the
 * sender's own work (notifier = from). A fence is believed (FENCED, or
 * NOTIFYING NORMAL, or HANDED_OVER NORMAL) only from a member already
 * heard claiming this incident (a real claimer says CLAIMED a settle
 * before it fences, and re-sends its progress), ABANDONED and HANDED_OVER
 * likewise. NOTIFIED is taken only for an open incident at that very key
 * (a record for an incarnation far ahead would silence every later
 * failure of that host), from a member heard claiming it, or when two
 * members name the same notifier (a late node hears the notifier's own
 * echo and a holder's re-tell), never when it names this node. Anything
 * else is counted (untrusted_dropped) and recorded once per incident. A
 * member that claims and then lies at every step is indistinguishable
 * from a notifier: these rules bound it to incidents it takes part in.
 * Wire compatibility: an older peer rejects HANDED_OVER (unknown stage),
 * so it replaces the notifier only after its takeover step.
 *
 * Routing (per-node message rate flat in N)
 * -----------------------------------------
 * Observations and progress are not broadcast. They go to the members
 * that may have to act: the top R = max_backups + 1 members by score that
 * the local view holds live ("static" ranks: every member computes nearly
 * the same set without knowing who observed), the top R candidates in the
 * local view (fresh observers), and the claimer; at most AGR_MAX_DEST
 * (SEND_OBSERVATION / SEND_COMPLETION carry the list). The static top R
 * receive every observation, so they can decide; the best observer among
 * them outranks every other observer (scores), so the notifier is one of
 * them and backups (the next ranks) hear its progress. Any other member
 * only observes: it keeps probing and re-sending its observation until it
 * learns NOTIFIED, which a member that holds the NOTIFIED record sends
 * back to whoever sends it a late observation or claim (one reply per
 * message). Corner case: if none of the static top R observes H (they
 * all still reach it), nobody decides until views change (they are then
 * dead or no longer the top R): no verdict rather than a wrong one.
 * Process reports are still broadcast (rare; every live member is a
 * PROCESS candidate).
 * In normal operation exactly one NOTIFY. A second one happens only when a
 * notifier's NOTIFIED was lost (or it died after its POST and before
 * telling anyone) and a backup took over: Masakari's 409 is the backstop.
 *
 * Fencing before notification (HOST)
 * ----------------------------------
 * fence_policy REQUIRED (default): FENCE(H), then NOTIFY_HOST(H, NORMAL)
 * only after FENCE_OK. Failed or timed out: error record, progress
 * FENCE_FAILED, retry with backoff fence_retry_min..max, no notification;
 * unless unfenced_notify_after > 0: after that many failed attempts,
 * NOTIFY_HOST(H, UNKNOWN). A backup that heard FENCED (or NOTIFYING with
 * host_status NORMAL) from a peer does not fence again. fence_policy NONE (explicit): no FENCE, NOTIFY_HOST(H,
 * UNKNOWN) at once. NORMAL / UNKNOWN is the payload's host_status:
 * {event: STOPPED, cluster_status: OFFLINE, host_status: ...}. FENCE and
 * NOTIFY are emitted only while the local view holds a majority (else the
 * node holds, and backups on the majority side take over).
 *
 * Returns, restarts, staleness
 * ----------------------------
 *  - H ALIVE/SUSPECT/LEFT at an incarnation above i before the verdict:
 *    incident cancelled. After the verdict: if nobody fenced or claimed
 *    (no FENCE of ours, no CLAIMED/FENCED heard), cancelled; a claimer
 *    that had not fenced yet abandons and sends ABANDONED, which
 *    cancels the backups. With a fence in flight or confirmed, or a claim
 *    whose claimer went silent (its fence may have hit): carried to the
 *    notification, fencing again first if no fence was confirmed (a fence
 *    is what makes the notification safe). A fence that failed while H is
 *    back and nobody else claimed: abandoned, loudly. But a host that is
 *    ALIVE (or SUSPECT) here at its newer incarnation when we would fence
 *    it (a takeover, a settled claim, a fence retry) is fenced only if a
 *    fence of it is known (ours in flight or confirmed, a peer's FENCED or
 *    NOTIFYING NORMAL): a claim followed by silence proves nothing (the
 *    claimer's ABANDONED may have been lost) and fencing would reboot a
 *    live hypervisor: abandoned with an ERROR record
 *    (not_fencing_live_host). Had the silent claimer's fence hit, the host
 *    would be dead here again a takeover step later, and is fenced and
 *    notified; only a host fenced, rebooted and back within a takeover
 *    step is left to the operator (that record).
 *  - After NOTIFIED (ours or gossiped): recorded per member; the same
 *    incident (incarnation <= the notified one) is never notified again;
 *    a newer incarnation's failure opens a new incident at once, even
 *    while the completed one lingers (completion_linger: before, a host
 *    back and dead again within it was detected only when it ended;
 *    issue 10, item 10);
 *    late observations and claims are answered, to their sender, with
 *    our NOTIFIED record.
 *  - Messages about incarnations below the member's current one are
 *    dropped (stale after a heal), except progress about an incident
 *    still open at that incarnation; so are messages naming unknown
 *    members.
 *
 * Use
 * ---
 *   a = agreement_new(&cfg, err, sizeof(err));
 *   membership event       -> agreement_on_member_state()
 *   peer message           -> agreement_on_probe / _probe_ack /
 *                             _observation / _completion / _process_report
 *   Pacemaker's view       -> agreement_on_pacemaker_view()
 *   fence done             -> agreement_on_fence_result()
 *   Masakari answered      -> agreement_on_notify_result() (202/409 or the
 *                             outbox's final failure)
 *   at agreement_next_deadline() -> agreement_tick()
 *   after EVERY call       -> agreement_poll_actions() until it returns 0.
 * `now` must not decrease (a smaller value is taken as the last one).
 * Inputs return 0, -EINVAL (malformed), -ENOENT (unknown member or
 * incident: ignored), or -EBUSY when the previous actions were not drained
 * (the input is refused: drain and retry).
 *
 * Bounds: AGR_MAX_MEMBERS members, AGR_MAX_INCIDENTS open incidents
 * (opened on SUSPECT too; when full, completed incidents are evicted
 * first, then observing ones whose subject is not dead here;
 * otherwise the new one waits and is retried every tick), AGR_QUEUE_LEN
 * actions (decision records are dropped, and counted, before any other
 * action could be). All memory is allocated by agreement_new(). Not
 * thread-safe: one owner. No recursion. */
#ifndef MIMAMORI_MESH_AGREEMENT_H
#define MIMAMORI_MESH_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/units.h"
#include "mesh/pacemaker_view.h"

/* ---- limits ------------------------------------------------------------ */

#define AGR_NAME_MAX 64        /* member name, NUL included (= MESH_NAME_MAX) */
#define AGR_MAX_MEMBERS 16384
#define AGR_MAX_OBSERVERS 16   /* cfg.observers (K) */
#define AGR_MAX_BACKUPS 8      /* cfg.max_backups */
/* Destinations of one SEND_OBSERVATION / SEND_COMPLETION: static top R,
 * candidate top R (R = max_backups + 1), the claimer. */
#define AGR_MAX_DEST (2 * (AGR_MAX_BACKUPS + 1) + 1)
#define AGR_MAX_INCIDENTS 128  /* open incidents (HOST + PROCESS) */
#define AGR_PROCESS_MAX 64     /* process name, NUL included */
#define AGR_EVENT_MAX 32
#define AGR_TEXT_MAX 384
#define AGR_QUEUE_LEN 1024
#define AGR_INCARNATION_MAX (UINT64_C(1) << 62)
#define AGR_MAX_DURATION_NS (UINT64_C(3600) * NS_PER_S)

/* ---- enums --------------------------------------------------------------- */

/* Same values as enum mesh_state (mesh/membership.h). */
enum agr_member_state {
	AGR_MEMBER_UNKNOWN = 0, /* never heard of: not counted alive */
	AGR_MEMBER_ALIVE = 1,
	AGR_MEMBER_SUSPECT = 2,
	AGR_MEMBER_DEAD = 3,
	AGR_MEMBER_LEFT = 4,
};

enum agr_fence_policy {
	AGR_FENCE_REQUIRED = 0, /* notify only after a confirmed fence */
	AGR_FENCE_NONE = 1,     /* fencing method "none": notify UNKNOWN */
};

enum agr_host_status { AGR_HOST_NORMAL = 1, AGR_HOST_UNKNOWN = 2 };

enum agr_fence_result { AGR_FENCE_OK = 1, AGR_FENCE_FAILED = 2, AGR_FENCE_TIMEOUT = 3 };

enum agr_incident_kind { AGR_INCIDENT_HOST = 1, AGR_INCIDENT_PROCESS = 2 };

/* Progress / completion stages, as gossiped. */
enum agr_stage {
	AGR_STAGE_CLAIMED = 1,      /* "I am the notifier for this incident" */
	AGR_STAGE_FENCED = 2,       /* fence confirmed */
	AGR_STAGE_FENCE_FAILED = 3, /* still working: retrying the fence */
	AGR_STAGE_NOTIFIED = 4,     /* Masakari answered: final */
	AGR_STAGE_ABANDONED = 5,    /* the claimer gave up without fencing
				       (the host came back first) */
	AGR_STAGE_NOTIFYING = 6,    /* committed: NOTIFY sent, waiting for
				       Masakari (host_status says whether it
				       was fenced) */
	AGR_STAGE_HANDED_OVER = 7,  /* its delivery failed here for good (a
				       final 4xx, the outbox gave up or could
				       not store it): the next rank takes over
				       now; host_status NORMAL: it fenced */
};

/* Same order as enum log_level (os/log.h). */
enum agr_log_level { AGR_LOG_ERROR = 0, AGR_LOG_WARN, AGR_LOG_INFO, AGR_LOG_DEBUG };

/* ---- messages between peers (the shell encodes them) ---------------------- */

struct agr_observation {
	char observer[AGR_NAME_MAX];
	char subject[AGR_NAME_MAX];
	uint64_t incarnation; /* subject's, at which it was seen dead */
};

struct agr_completion {
	char from[AGR_NAME_MAX];     /* the sender */
	char notifier[AGR_NAME_MAX]; /* who did the work (= from, except when
					re-telling a NOTIFIED someone else did) */
	char subject[AGR_NAME_MAX];
	uint64_t incarnation;
	uint32_t kind;        /* enum agr_incident_kind */
	uint32_t stage;       /* enum agr_stage */
	uint32_t host_status; /* enum agr_host_status, NOTIFIED of a HOST incident */
	int32_t http_status;  /* NOTIFIED: Masakari's answer (202, 409, or failure) */
	uint64_t report_seq;  /* PROCESS: the report's sequence number (0: none,
				 an older peer's) */
};

struct agr_process_report {
	char reporter[AGR_NAME_MAX]; /* the host whose process died */
	uint64_t incarnation;        /* reporter's own incarnation */
	char process[AGR_PROCESS_MAX];
	/* When it died, on the reporter's clock (ns since the epoch; 0 =
	 * unknown): the notification's generated_time. Carried, never
	 * compared with anything (clocks differ between hosts). */
	int64_t failed_at_unix_ns;
	/* This report among the reporter's (0: none, an older peer's): a
	 * second failure at the same incarnation is a new report. Grows
	 * across restarts too (at least the failure's wall-clock ns). */
	uint64_t seq;
};

/* ---- actions -------------------------------------------------------------- */

enum agr_action_kind {
	AGR_ACT_SEND_PROBE = 1,          /* to `subject`: probe {self, nonce} */
	AGR_ACT_SEND_PROBE_ACK,          /* to `peer`: ack {self, nonce} */
	AGR_ACT_SEND_OBSERVATION,        /* to each of dest[0..n_dest):
					    {self, subject, incarnation} */
	AGR_ACT_SEND_COMPLETION,         /* to each of dest[0..n_dest): {self, subject,
					    incarnation, incident, stage, host_status,
					    http_status} */
	AGR_ACT_BROADCAST_PROCESS_REPORT,/* {self, incarnation, process} */
	AGR_ACT_FENCE,                   /* subject, incarnation, attempt */
	AGR_ACT_NOTIFY_HOST,             /* subject, incarnation, host_status */
	AGR_ACT_NOTIFY_PROCESS,          /* subject, incarnation, process */
	AGR_ACT_LOG,                     /* level, event, text (decision records) */
};

struct agr_action {
	enum agr_action_kind kind;
	/* Names point into the core's member table (valid until
	 * agreement_free). subject: who the action is about (NULL for a LOG
	 * about no member); peer: the destination of SEND_PROBE_ACK, the
	 * notifier of a SEND_COMPLETION. */
	const char *subject;
	const char *peer;
	/* SEND_OBSERVATION / SEND_COMPLETION: the members to send it to
	 * (never self; the subject only for the NOTIFIED of a PROCESS
	 * incident, which its reporter waits for; may be 0: nobody to
	 * tell). */
	uint32_t n_dest;
	const char *dest[AGR_MAX_DEST];
	uint64_t incarnation;
	uint64_t nonce;
	enum agr_incident_kind incident;
	enum agr_stage stage;
	enum agr_host_status host_status;
	int32_t http_status;
	uint32_t attempt;           /* FENCE: 1, 2, ... */
	uint64_t decided_at;        /* FENCE, NOTIFY_*: when this node decided (now) */
	char process[AGR_PROCESS_MAX];
	int64_t failed_at_unix_ns;  /* BROADCAST_PROCESS_REPORT, NOTIFY_PROCESS: as reported */
	uint64_t report_seq;        /* BROADCAST_PROCESS_REPORT, PROCESS completions */
	enum agr_log_level level;
	/* LOG: a short machine tag ("declared", "notifier", "cancelled",
	 * "fence_failed", ...) and one line for operators. */
	char event[AGR_EVENT_MAX];
	char text[AGR_TEXT_MAX];
};

/* ---- configuration -------------------------------------------------------- */

struct agreement_config {
	const char *self;
	/* The failover segment's members, self included (copied, unless
	 * members_borrowed). */
	const char *const *members;
	size_t n_members;
	/* false (default, the daemon): the names are copied and the caller's
	 * array may go after agreement_new(). true: the members array and its
	 * strings are immutable and outlive the instance (the simulator's
	 * shared name table); they are referenced, not copied (N x N names
	 * in the simulator). Actions' name pointers then point into them. */
	bool members_borrowed;
	uint32_t observers;          /* K: 5 (1..AGR_MAX_OBSERVERS) */
	uint32_t observer_quorum;    /* Q: 0 = majority of min(K, n-1) */
	uint32_t max_backups;        /* ranks that may take over: 3 */
	enum agr_fence_policy fence_policy;
	uint32_t unfenced_notify_after; /* failed fences before notifying UNKNOWN; 0 = never */
	uint64_t probe_interval_ns;     /* 200 ms: PROBE cadence until observed */
	uint64_t unreachable_window_ns; /* 1.2 s without any ack, from the first
					   probe of the unanswered run: observed */
	uint64_t resend_interval_ns;    /* 1 s: re-send observations / progress,
					   keep-alive probe once observed */
	uint64_t observation_ttl_ns;    /* 10 s: observations older than this expire */
	uint64_t claim_settle_ns;       /* 100 ms between CLAIMED and FENCE/NOTIFY */
	uint64_t fence_timeout_ns;      /* 60 s: the shell's fence timeout */
	uint64_t notify_timeout_ns;     /* 30 s: part of the default takeover_step */
	uint64_t takeover_step_ns;      /* 0 = settle + fence + notify timeouts */
	/* How long a claimer's progress (FENCE_FAILED, NOTIFYING, ...) keeps
	 * the backups waiting without a NOTIFIED: then the next rank acts.
	 * 0 = 2 x the takeover step. */
	uint64_t progress_bound_ns;
	uint64_t fence_retry_min_ns;    /* 5 s */
	uint64_t fence_retry_max_ns;    /* 60 s */
	uint64_t process_grace_ns;      /* 10 s: > membership's detection time */
	uint64_t completion_linger_ns;  /* 120 s: keep the NOTIFIED incident */
	uint64_t idle_expiry_ns;        /* 600 s: undecided incident without evidence */
};

/* Fills the defaults above (self/members NULL). */
void agreement_config_default(struct agreement_config *cfg);

struct agreement;

/* NULL with a reason in err: bad config (names empty, too long, with
 * control characters or duplicated; self not a member; limits) or out of
 * memory. The only allocation. */
struct agreement *agreement_new(const struct agreement_config *cfg, char *err, size_t errlen);
void agreement_free(struct agreement *a);

/* ---- inputs --------------------------------------------------------------- */

/* The local membership's view of `name` changed (mesh_event: new_state,
 * incarnation). Reports about self are ignored. */
int agreement_on_member_state(struct agreement *a, const char *name,
			      enum agr_member_state state, uint64_t incarnation, uint64_t now);
/* A PROBE from `from`: answered with SEND_PROBE_ACK. */
int agreement_on_probe(struct agreement *a, const char *from, uint64_t nonce, uint64_t now);
/* The answer to one of our probes. */
int agreement_on_probe_ack(struct agreement *a, const char *from, uint64_t nonce, uint64_t now);
/* How a suspect's kernel answered our connect to its daemon's port. */
enum agr_peer_answer {
	AGR_PEER_REFUSED,  /* TCP RST: its daemon is down */
	AGR_PEER_ACCEPTED, /* the listening socket is the kernel's: its daemon is hung or starved */
};
/* A connection to `peer`'s daemon was answered by its kernel (refused or
 * accepted, `how`): first-hand evidence that the host is up and only its
 * monitor is down or hung. Like an ack it ends our unanswered run and
 * withdraws our observation, and no run completes within 2 x
 * unreachable_window of such an answer; logged once per incident
 * ("monitor_down", WARN, saying which answer). A crashed or hung daemon
 * is reported, never fenced on its own. -ENOENT: not suspected here. */
int agreement_on_peer_answered(struct agreement *a, const char *peer, enum agr_peer_answer how,
			       uint64_t now);
/* agreement_on_peer_answered(a, peer, AGR_PEER_REFUSED, now) */
int agreement_on_peer_refused(struct agreement *a, const char *peer, uint64_t now);
int agreement_on_observation(struct agreement *a, const struct agr_observation *o,
			     uint64_t now);
int agreement_on_completion(struct agreement *a, const struct agr_completion *c, uint64_t now);
int agreement_on_process_report(struct agreement *a, const struct agr_process_report *r,
				uint64_t now);
/* Our own probe saw `process` die on this host: broadcasts the report. */
int agreement_local_process_failed(struct agreement *a, const char *process,
				   int64_t failed_at_unix_ns, uint64_t self_incarnation,
				   uint64_t now);
/* The latest Pacemaker view (any status; see above). -EINVAL: a count
 * above its bound or an unknown status. */
int agreement_on_pacemaker_view(struct agreement *a, const struct pacemaker_view *v,
				uint64_t now);
/* A message from a peer arrived (the composition calls this for every
 * one, membership's included, before handling it). The first one after a
 * silence of 2 x unreachable_window (cut off: a switch reload) restarts
 * every observation still gathering evidence, as regaining a majority
 * does ("Connected again" above); while silent, this node makes and
 * re-tells no observation. Emits at most a record; never -EBUSY. A shell
 * that never calls it is never silent. */
void agreement_on_heard(struct agreement *a, uint64_t now);
/* agreement_on_heard, and peer (a member's name) was heard at now: one
 * held DEAD here, heard after a silence, restarts the observations. */
void agreement_on_heard_from(struct agreement *a, const char *peer, uint64_t now);
/* Result of FENCE(subject, incarnation). */
int agreement_on_fence_result(struct agreement *a, const char *subject, uint64_t incarnation,
			      enum agr_fence_result result, uint64_t now);
/* Masakari's final answer to NOTIFY_HOST / NOTIFY_PROCESS (http_status
 * 202 or 409 = accepted; AGR_HTTP_REFUSED_MAINTENANCE = refused for the
 * host itself, final for every notifier: ends the incident, as an error;
 * anything else = this node's delivery failed for good: handed over). */
#define AGR_HTTP_REFUSED_MAINTENANCE (-409)
/* Not sent: the shell's notifier superseded it (the host is alive again
 * at a newer incarnation; every notifier that sees it so does the same):
 * ends the incident, as an error, like AGR_HTTP_REFUSED_MAINTENANCE. */
#define AGR_HTTP_SUPERSEDED (-410)
int agreement_on_notify_result(struct agreement *a, enum agr_incident_kind kind,
			       const char *subject, uint64_t incarnation, int http_status,
			       uint64_t now);
/* Holds every verdict (held) or lets them go on: while held, nothing is
 * declared, claimed, fenced or notified, as without a majority (a fence
 * already running finishes; its notification waits in HOLDING); inputs,
 * probes, observations and completions flow as before. mesh/node holds
 * while the segment's members files differ. */
int agreement_set_hold(struct agreement *a, bool held, uint64_t now);
/* Runs the timers due at now. */
int agreement_tick(struct agreement *a, uint64_t now);
/* When agreement_tick() must run next; UINT64_MAX if nothing is pending. */
uint64_t agreement_next_deadline(const struct agreement *a);

/* Moves up to max actions into out, oldest first; returns how many. */
size_t agreement_poll_actions(struct agreement *a, struct agr_action *out, size_t max);

/* Wire helpers: the message an action asks to send, filled from it. */
void agreement_action_observation(const struct agreement *a, const struct agr_action *act,
				  struct agr_observation *out);
void agreement_action_completion(const struct agreement *a, const struct agr_action *act,
				 struct agr_completion *out);
void agreement_action_process_report(const struct agreement *a, const struct agr_action *act,
				     struct agr_process_report *out);

/* ---- queries -------------------------------------------------------------- */

enum agr_incident_stage {
	AGR_IS_NONE = 0,
	AGR_IS_OBSERVING,   /* evidence gathering, no verdict */
	AGR_IS_DECLARED,    /* verdict; waiting as candidate or backup */
	AGR_IS_SETTLING,    /* we claimed; waiting claim_settle */
	AGR_IS_FENCING,     /* FENCE emitted, no result yet */
	AGR_IS_FENCE_BACKOFF,
	AGR_IS_HOLDING,     /* ready to notify, no majority here */
	AGR_IS_NOTIFYING,   /* NOTIFY emitted, waiting for Masakari */
	AGR_IS_COMPLETED,
};

struct agr_incident_info {
	enum agr_incident_stage stage;
	uint64_t incarnation;
	uint32_t observations;       /* fresh, distinct members */
	uint32_t observations_needed;/* n/2 + 1 */
	uint32_t designated;         /* K in effect */
	uint32_t designated_observed;
	uint32_t quorum;             /* Q in effect */
	bool self_observed;
	uint32_t rank;               /* our rank; UINT32_MAX: not a candidate */
	char notifier[AGR_NAME_MAX]; /* best candidate in our view ("" if none) */
	char completed_by[AGR_NAME_MAX];
	int32_t http_status;
	uint32_t fence_attempts;
	bool fence_confirmed;        /* by us or a peer */
	bool notify_emitted;         /* by us */
};

/* 0 or -ENOENT (no open incident of that kind for subject). */
int agreement_incident(const struct agreement *a, enum agr_incident_kind kind,
		       const char *subject, struct agr_incident_info *out);

struct agr_counters {
	uint64_t declared, cancelled, abandoned;
	uint64_t fences, fence_failures, notifications, completions_heard;
	uint64_t duplicate_notifications; /* we notified and so did someone else */
	uint64_t stale_dropped, unknown_dropped, table_full, logs_dropped;
	/* completions not taken: progress about another member's work, a
	 * NOTIFIED or FENCED from a member that never claimed the incident
	 * (agreement.h, Trust) */
	uint64_t untrusted_dropped;
	/* of those, what no honest member sends (recorded at WARN; the rest
	 * are NOTIFIEDs waiting for a second member's word) */
	uint64_t untrusted_no_honest_sender;
	uint64_t handovers; /* incidents handed to the next rank (ours) */
	/* incidents where every candidate here handed over (or overran its
	 * bound): nobody left to notify them (handovers_exhausted event) */
	uint64_t handovers_exhausted;
};
void agreement_counters(const struct agreement *a, struct agr_counters *out);

/* Designated observers of subject in the local view, ring order; returns
 * how many (<= max). -ENOENT for an unknown subject. */
int agreement_observers(const struct agreement *a, const char *subject, const char **out,
			size_t max);
/* Rendezvous score of member for subject (higher ranks first). Pure. */
uint64_t agreement_score(const char *member, const char *subject);
/* 64-bit hash of a name (the ring order). Pure. */
uint64_t agreement_name_hash(const char *name);

const char *agr_action_kind_name(enum agr_action_kind k);
const char *agr_incident_stage_name(enum agr_incident_stage s);
const char *agr_stage_name(enum agr_stage s);

#endif
