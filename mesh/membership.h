/* Mesh membership: SWIM failure detection and gossip dissemination with
 * HashiCorp's Lifeguard extensions, as a pure state machine.
 *
 * Like ngtcp2 or Foca, the core owns no socket, clock, thread or timer:
 * the caller feeds it messages and `now` (monotonic nanoseconds) and drains
 * what it wants done: messages to send and membership events. All memory
 * is allocated by membership_create() for cfg.max_members; nothing is
 * allocated afterwards. A seeded PRNG lives in the state, so the same seed
 * and the same inputs give the same outputs (tests replay runs this way).
 *
 * Protocol
 * --------
 * - Probing (SWIM): every probe interval one member is pinged, in a
 *   randomized round-robin order (the list is shuffled every round; a new
 *   member is inserted at a random place of the current round). No ack
 *   within the probe timeout: PING_REQ to `indirect_checks` random alive
 *   members, which ping the target on our behalf and forward its ACK, or
 *   answer NACK when their own wait ends (Lifeguard). No ack by the end of
 *   the second window (one more probe timeout): the target is suspected.
 * - Suspicion (SWIM + Lifeguard dynamic suspicion timeout): a suspect
 *   member becomes dead when its suspicion timer expires. The timer starts
 *   at suspicion_max and shrinks towards suspicion_min as independent
 *   members confirm the suspicion (memberlist's formula, see
 *   membership_suspicion_timeout()). Every member that hears a suspicion
 *   runs its own timer; the first to expire declares the member dead
 *   (`by` names it) and gossips it. Confirmations come from members whose
 *   own probes fail; so that they come within a probe period or two
 *   rather than at the cluster's round-robin pace (one probe of a given
 *   member per interval), a member hearing a new suspicion makes the
 *   suspect its next probe target with probability suspect_probers /
 *   (N - 1): about suspect_probers independent checks, and no extra
 *   probes (the order changes, not the rate).
 * - Refutation: a member that hears itself suspected (or dead, or left,
 *   or alive with a newer incarnation) at an incarnation >= its own takes
 *   incarnation + 1 and gossips alive. An alive update replaces a
 *   suspect/dead/left state only with a greater incarnation.
 * - Buddy system (Lifeguard): when our probe suspects a member we send
 *   the suspicion to that member at once, and every message we send to a
 *   member we hold suspect, dead or left carries that member's record first, so
 *   it can refute without waiting for gossip.
 * - Local health multiplier, LHM (Lifeguard): 0..lhm_max. +1 per NACK we
 *   expected and did not get for a failed probe (+1 when no helper could
 *   be asked), +1 when we must refute a suspicion of ourselves, -1 per
 *   successful probe. The probe interval and the probe timeout are
 *   multiplied by LHM + 1: a node that is itself slow probes less often,
 *   waits longer, and so accuses less.
 * - Dissemination: updates (alive/suspect/dead/left + incarnation) are
 *   piggybacked on every message we send, fewest-transmitted first, each
 *   at most retransmit_mult * ceil(log10(N + 1)) times (N = members not
 *   dead or left, ourselves included), within max_updates_per_msg and
 *   max_piggyback_bytes (sizes estimated: the strings plus
 *   MESH_UPDATE_OVERHEAD each). News is batched: a gossip round (GOSSIP
 *   to `gossip_nodes` random members) is due at most once per gossip
 *   interval (at once if the last one is older), while a queued record
 *   was sent fewer than gossip_nodes times or more records are queued
 *   than one message carries; the other transmissions ride on pings and
 *   acks. Deaths, leaves and our own refutations are urgent (at most 4
 *   rounds per interval): rare per node whatever N is. So gossip traffic
 *   is bounded (gossip_nodes / gossip_interval) while the cluster's
 *   false suspicions grow with N.
 * - Join: JOIN to the seed addresses (retried every join_retry until an
 *   answer). A JOIN receiver adds the sender and streams its whole table
 *   back as SYNC messages (push-pull; chunks within the same budgets,
 *   the last one flagged MESH_FLAG_SYNC_LAST; at most
 *   MESH_MAX_SYNC_SESSIONS streams at once, further JOINs are dropped and
 *   retried by their senders). Joined members also push-pull with a
 *   random member every sync_interval (anti-entropy); half of those go to
 *   a member we believe dead, if any, so a healed partition merges. In a
 *   SYNC a `dead` record is taken as `suspect` (as in memberlist): the
 *   receiver's fresher knowledge may refute it.
 * - Reconnect: a member that holds no majority of the members it knows
 *   live (left ones aside) also pings, every 5 probe intervals, one
 *   random member it has held dead for less than dead_reconnect
 *   (memberlist's "gossip to the dead"), carrying that dead record only:
 *   a member that is up refutes, and the ACK's header (alive, newer
 *   incarnation) brings it back. So an outage that left every member dead
 *   at every other merges within seconds of its heal, not at the next
 *   anti-entropy (15-45 s); a side of a partition with a majority needs
 *   no pings (the other side pings it), nor does a crash.
 * - Revival push-pull: a member back from the dead (alive at a newer
 *   incarnation than the dead we hold) is push-pulled with at once (JOIN
 *   + our SYNC stream; at most one such a second), as anti-entropy would
 *   later: records gossiped while we were apart were lost. In a SYNC, a
 *   `dead` newer than the dead we hold is taken as dead (as from gossip),
 *   any other `dead` as `suspect`.
 * - Leave: membership_leave() marks us `left` with incarnation + 1,
 *   tells every member it holds alive or suspect directly (a GOSSIP each,
 *   whose header says `left`) and gossips it; we stop probing but still
 *   answer. Others record `left`, never `dead`: a planned shutdown is not
 *   a failure. Keep running until membership_leave_done() (or a deadline)
 *   before closing the transport.
 * - Authority: a member is the only authority on its own leave and on
 *   its incarnation. A record about X is first-hand when X sends it (its
 *   header, or an update about X in X's message); any other is hearsay,
 *   and one stolen member key must not switch off failure handling for
 *   others with it. So (1) a LEFT is taken first-hand only: a left member
 *   is never declared failed, so a relayed "X left" would hide X's real
 *   failure for good; hearsay of it makes X our next probe target (a
 *   leaving X still answers, with its `left` header) and is counted
 *   (left_hearsay). Relays cannot be authenticated (no signatures inside
 *   messages), so they carry no LEFT at all: leave() tells everyone
 *   itself. (2) Hearsay may move X's incarnation at most
 *   MESH_INCARNATION_LEAD above the highest X sent us itself (0 for a
 *   member we never heard: strangers are introduced at <= the lead);
 *   beyond: dropped, counted (updates_refused). The lead counts from X's
 *   own word, never from hearsay, so it cannot be ratcheted; X drops
 *   claims about itself beyond its own incarnation + the lead (nobody
 *   honest can hold them) and refutes the others, so it climbs at most
 *   lead + 1 per refuted claim: ~2^51 forged rounds to reach
 *   MESH_INCARNATION_MAX. The one exception is a fresh start
 *   (incarnation 0: a restarted daemon must refute its previous life's
 *   records, whatever they say), and even then X never jumps into the
 *   upper half (>= MESH_INCARNATION_MAX / 2, which only forgeries reach).
 *   Before, one record "X suspect at 2^62" left X no incarnation to
 *   refute with. A member whose incarnation lags X's by more than the
 *   lead learns X's from X itself (any message of X).
 *
 * Use
 * ---
 *   m = membership_create(&cfg, "compute-17", "tls+tcp://10.0.0.17:7947");
 *   membership_join(m, seeds, n, now);
 *   loop:
 *     on a message:     membership_handle_message(m, &msg, now)
 *     at the deadline:  membership_tick(m, now)   // now >= next_deadline
 *     after each call:  while ((n = membership_poll_output(m, out, k))) ...
 *     sleep until membership_next_deadline(m)
 * `now` must never decrease between calls. Drain the outputs after every
 * call: a message that arrives while fewer than MESH_HANDLE_MAX_OUTPUTS
 * output slots are free is dropped (counted, like network loss), and a
 * tick postpones work it has no room for (next_deadline stays <= now).
 *
 * Messages come from the network: the transport must check the sender's
 * name against the peer's certificate and call mesh_msg_validate() after
 * decoding; membership_handle_message() validates again. The core trusts
 * authenticated peers' suspicions and deaths (a member may report any
 * other dead: the layer above confirms a death), within "Authority".
 *
 * Defaults (membership_config_default) and why
 * ----------------------------------------------
 * - probe_interval 200 ms: the cluster probes any given member about
 *   once per interval, so a crash is first noticed ~1 interval later on
 *   average; 5 pings + 5 acks a second per node is negligible load.
 * - probe_timeout 100 ms (direct) + 100 ms (indirect): LAN round trips
 *   over TLS are ~2 ms at p99, so 100 ms absorbs scheduling hiccups; a
 *   segment lost on TCP needs >= 200 ms (RTO) and is covered by the
 *   indirect path, which uses other connections. Both windows fit in the
 *   interval, so probes never overlap.
 * - indirect_checks 3 (SWIM): at 5% loss a probe of a live member fails
 *   directly ~10% of the time and all three indirect paths fail ~0.6% of
 *   that: ~6e-4 false suspicions per probe, each refuted in milliseconds.
 * - suspicion 0.4..3 s, K = 3: a lone accuser (the likely sick one, or a
 *   one-sided network fault) waits 3 s, ~1000x the time a refutation
 *   takes (buddy message + urgent refutation); 0.4 s only once four members
 *   failed to reach the suspect independently. No log(N) factor as in
 *   memberlist: refutations and deaths go out at once, so their spread
 *   costs network hops, not gossip periods.
 * - suspect_probers 8: about 8 members check a new suspect at their next
 *   probe; fewer than 3 of them (P ~1.4%) falls back to round-robin pace.
 * - lhm_max 8, retransmit_mult 4, sync 30 s: Lifeguard's and memberlist's.
 * - gossip 3 members / 50 ms, news batched per interval (deaths at
 *   once): <= 60 GOSSIP/s per node, none when nothing changes.
 * Measured in the simulator (1-2 ms latency, 5% loss, tests and 40-run
 * samples): a crashed member is held dead by all others after p50 0.79 s
 * / p90 1.0 s at N = 5, p50 0.75 s / p90 1.1 s at N = 100, 0.7-1.0 s at
 * N = 1000; no false death in 60 s at 5% or 10% loss; a member stalled
 * <= 0.5 s is suspected and refutes, one stalled >= 1.2 s is declared dead
 * (the price of ~1 s detection: the layer above must confirm a death).
 *
 * Not thread-safe: one owner. No recursion, no allocation after create. */
#ifndef MIMAMORI_MESH_MEMBERSHIP_H
#define MIMAMORI_MESH_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/units.h"

/* ---- limits ---------------------------------------------------------- */

#define MESH_NAME_MAX 64   /* member name (compute host name), NUL included */
#define MESH_ADDR_MAX 128  /* opaque address, NUL included */
#define MESH_MAX_UPDATES 32      /* updates one message may carry */
#define MESH_MAX_MEMBERS 16384   /* largest table (cfg.max_members) */
#define MESH_MAX_SEEDS 16
#define MESH_MAX_INDIRECT 8      /* cfg.indirect_checks */
#define MESH_MAX_GOSSIP_NODES 8  /* cfg.gossip_nodes */
#define MESH_MAX_RELAYS 64       /* PING_REQs we serve at once */
#define MESH_MAX_SYNC_SESSIONS 8 /* state streams (SYNC) we send at once */
#define MESH_MAX_LHM 16          /* cfg.lhm_max */
#define MESH_MAX_CONFIRMATIONS 8 /* cfg.suspicion_confirmations */
#define MESH_MAX_RETRANSMIT_MULT 16
/* ceil(log10(MESH_MAX_MEMBERS + 1)) == 5 */
#define MESH_MAX_RETRANSMITS (MESH_MAX_RETRANSMIT_MULT * 5)
/* Incarnations above this are rejected, so +1 never wraps. */
#define MESH_INCARNATION_MAX (UINT64_C(1) << 62)
/* How far above a member's own word (the highest incarnation it sent us
 * itself) a third party may move it: see "Authority" below. */
#define MESH_INCARNATION_LEAD UINT64_C(1024)
/* Longest duration a peer may ask us to wait (PING_REQ timeout), and the
 * cap of every configured duration. */
#define MESH_MAX_TIMEOUT_NS (UINT64_C(60) * NS_PER_S)
/* Size estimate of one update on the wire, beyond its three strings
 * (incarnation varint, state, tags and lengths). */
#define MESH_UPDATE_OVERHEAD 24
#define MESH_UPDATE_MAX_WIRE (2 * MESH_NAME_MAX + MESH_ADDR_MAX + MESH_UPDATE_OVERHEAD)
/* Most outputs one membership_handle_message() call can produce: one
 * event per update plus the sender's, and two sends. */
#define MESH_HANDLE_MAX_OUTPUTS (MESH_MAX_UPDATES + 4)
#define MESH_MIN_OUT_QUEUE (2 * MESH_HANDLE_MAX_OUTPUTS)
#define MESH_MAX_OUT_QUEUE 65536

/* ---- states, updates, messages ---------------------------------------- */

enum mesh_state {
	MESH_STATE_NONE = 0, /* not a member (yet): old state of a new member */
	MESH_ALIVE = 1,
	MESH_SUSPECT = 2,
	MESH_DEAD = 3, /* declared failed by the suspicion timeout */
	MESH_LEFT = 4, /* left on purpose (shutdown, maintenance) */
};

/* One member's record as gossiped. */
struct mesh_update {
	char name[MESH_NAME_MAX];
	char addr[MESH_ADDR_MAX];
	/* suspect: the accuser; dead: who declared it; alive, left: "" */
	char by[MESH_NAME_MAX];
	uint64_t incarnation;
	uint32_t state; /* enum mesh_state, ALIVE..LEFT */
};

/* Suspect, alive, dead and left are not message types: they are updates
 * (above), carried by every message. GOSSIP is a message that carries
 * only updates (eager dissemination, the buddy system's suspicion sent to
 * the suspect, leave). */
enum mesh_msg_type {
	MESH_MSG_PING = 1,  /* seq, target = the recipient's name */
	MESH_MSG_ACK,       /* seq of the PING (or PING_REQ) answered */
	MESH_MSG_PING_REQ,  /* seq, target + target_addr, timeout_ns */
	MESH_MSG_NACK,      /* seq of a PING_REQ whose target did not answer */
	MESH_MSG_GOSSIP,    /* updates only */
	MESH_MSG_JOIN,      /* push-pull request: answer with SYNC messages */
	MESH_MSG_SYNC,      /* a chunk of the sender's whole table */
	MESH_MSG_TYPE_MAX = MESH_MSG_SYNC,
};

#define MESH_FLAG_WANT_NACK 0x1u /* PING_REQ: answer NACK on timeout */
#define MESH_FLAG_SYNC_LAST 0x2u /* SYNC: last chunk of the stream */
#define MESH_FLAGS_ALL (MESH_FLAG_WANT_NACK | MESH_FLAG_SYNC_LAST)

struct mesh_msg {
	uint32_t type;             /* enum mesh_msg_type */
	uint32_t flags;            /* MESH_FLAG_* */
	/* The sender's own record: state ALIVE, or LEFT while it leaves;
	 * by is "". Every message updates the receiver's view of its sender. */
	struct mesh_update sender;
	uint64_t seq;              /* PING, ACK, PING_REQ, NACK */
	char target[MESH_NAME_MAX];      /* PING, PING_REQ */
	char target_addr[MESH_ADDR_MAX]; /* PING_REQ */
	uint64_t timeout_ns;       /* PING_REQ: how long the helper waits */
	uint32_t n_updates;        /* <= MESH_MAX_UPDATES */
	struct mesh_update updates[MESH_MAX_UPDATES];
};

/* 0 when every field is within bounds: known type and flags, strings
 * NUL-terminated inside their arrays, without control characters and
 * non-empty where required, states and incarnations in range, n_updates
 * <= MESH_MAX_UPDATES, PING_REQ timeout in (0, MESH_MAX_TIMEOUT_NS].
 * Otherwise -EINVAL and, when why is not NULL, a static reason. */
int mesh_msg_validate(const struct mesh_msg *msg, const char **why);

/* ---- outputs ------------------------------------------------------------ */

struct mesh_event {
	char name[MESH_NAME_MAX];
	char addr[MESH_ADDR_MAX];
	/* suspect: the accuser; dead: the member whose suspicion timer
	 * declared it (ourselves or a peer); left: the member; alive: "" */
	char by[MESH_NAME_MAX];
	uint64_t incarnation;
	uint64_t at_ns;      /* `now` of the call that produced it */
	uint32_t old_state;  /* enum mesh_state; NONE for a new member; DEAD
				for a dead member now dead at a newer
				incarnation */
	uint32_t new_state;
};

struct mesh_send {
	char to_name[MESH_NAME_MAX]; /* "" when only the address is known (JOIN) */
	char to_addr[MESH_ADDR_MAX];
	struct mesh_msg msg;
};

enum mesh_out_kind { MESH_OUT_SEND = 1, MESH_OUT_EVENT = 2 };

struct mesh_out {
	uint32_t kind; /* enum mesh_out_kind */
	union {
		struct mesh_send send;
		struct mesh_event event;
	};
};

/* ---- configuration ------------------------------------------------------ */

struct membership_config {
	uint32_t max_members;          /* table size, us included: 2..MESH_MAX_MEMBERS */
	uint64_t probe_interval_ns;    /* 200 ms; >= 2 * probe_timeout_ns */
	uint64_t probe_timeout_ns;     /* 100 ms: direct window, then indirect window */
	uint32_t indirect_checks;      /* 3 helpers per failed direct probe */
	uint32_t retransmit_mult;      /* 4 */
	uint64_t suspicion_min_ns;     /* 400 ms: timeout with all confirmations */
	uint64_t suspicion_max_ns;     /* 3 s: timeout of a lone accuser */
	uint32_t suspicion_confirmations; /* K, expected confirmations: 3 (capped at N - 2) */
	/* How many members, in expectation, make a member they hear is
	 * suspected their next probe target (each with probability
	 * suspect_probers / (N - 1)): 8; 0 = plain round-robin. */
	uint32_t suspect_probers;
	uint32_t lhm_max;              /* 8; 0 disables the local health multiplier */
	uint64_t gossip_interval_ns;   /* 50 ms */
	uint32_t gossip_nodes;         /* 3; 0 = piggyback on probes only */
	uint64_t sync_interval_ns;     /* 30 s anti-entropy push-pull; 0 = off */
	/* 30 s: while no majority is live here, every 5 probe intervals a
	 * member held dead for less than this is sent a PING (not a probe:
	 * no verdict) carrying its dead record only; a live one refutes and
	 * its ACK brings it back (see "Reconnect"). 0 = off. */
	uint64_t dead_reconnect_ns;
	uint64_t join_retry_ns;        /* 1 s */
	uint32_t max_piggyback_bytes;  /* 1400, >= MESH_UPDATE_MAX_WIRE */
	uint32_t max_updates_per_msg;  /* 32, <= MESH_MAX_UPDATES */
	uint32_t out_queue_len;        /* 128, MESH_MIN_OUT_QUEUE..MESH_MAX_OUT_QUEUE */
	uint64_t seed;                 /* PRNG seed (from getrandom in the daemon) */
	/* NULL (default): every member's strings are copied into the core
	 * (~256 bytes each). Otherwise an immutable directory the caller
	 * keeps alive longer than the core (it may share it among cores):
	 * members found in it are stored as references, and only
	 * foreign_members (0 = max_members) members at a time may have a
	 * name, address or accuser outside it (further ones are rejected,
	 * counted in members_rejected). */
	const struct mesh_directory *directory;
	uint32_t foreign_members;
};

/* An immutable name -> address table (see membership_config.directory).
 * NULL with errno EINVAL (n == 0 or > MESH_MAX_MEMBERS, a bad or
 * duplicate name, a bad address) or ENOMEM. The strings are copied. */
struct mesh_directory;
struct mesh_directory *mesh_directory_new(const char *const *names, const char *const *addrs,
					  uint32_t n);
void mesh_directory_free(struct mesh_directory *d);

/* Fills the defaults above (max_members 1024, seed 0). */
void membership_config_default(struct membership_config *cfg);
/* 0 or -EINVAL with a message in err (may be NULL). */
int membership_config_check(const struct membership_config *cfg, char *err, size_t errlen);

/* ---- lifecycle and inputs ----------------------------------------------- */

struct membership;

/* NULL with errno EINVAL (bad config, name or address: non-empty,
 * shorter than MESH_NAME_MAX / MESH_ADDR_MAX, no control characters) or
 * ENOMEM. The only allocation of the module. We start alive, incarnation 0,
 * not joined: call membership_join() (with no seeds for the first node). */
struct membership *membership_create(const struct membership_config *cfg,
				     const char *self_name, const char *self_addr);
void membership_destroy(struct membership *m);

/* Sends JOIN to each seed address (our own address is skipped) and
 * retries every join_retry_ns until a SYNC arrives. n == 0: we are the
 * first member and count as joined. -EINVAL for n > MESH_MAX_SEEDS or a
 * bad address. */
int membership_join(struct membership *m, const char *const *seed_addrs, size_t n,
		    uint64_t now);
/* Graceful leave (see above). Idempotent. */
void membership_leave(struct membership *m, uint64_t now);
/* True once our `left` record has been sent retransmit-limit times, or
 * nobody is left to tell. */
bool membership_leave_done(const struct membership *m);

/* 0; -EINVAL for an invalid message (or one claiming our own name);
 * -ENOBUFS when the outputs were not drained (message dropped). */
int membership_handle_message(struct membership *m, const struct mesh_msg *msg, uint64_t now);
/* Runs every timer due at `now`. */
void membership_tick(struct membership *m, uint64_t now);
/* When membership_tick() must next run; UINT64_MAX if never. May be <=
 * the last `now` (work is due). */
uint64_t membership_next_deadline(const struct membership *m);
/* Moves up to max outputs into out, oldest first; returns how many.
 * Piggybacked updates are chosen here, when the message leaves. */
size_t membership_poll_output(struct membership *m, struct mesh_out *out, size_t max);

/* Forgets every queued broadcast: for a start from a view the whole
 * cluster already shares (the simulator's pre-converged start), where
 * re-gossiping N "alive" records from N nodes is O(N^2) messages of news
 * nobody needs. */
void membership_drop_broadcasts(struct membership *m);

/* ---- queries ------------------------------------------------------------ */

struct mesh_member_info {
	char name[MESH_NAME_MAX];
	char addr[MESH_ADDR_MAX];
	char by[MESH_NAME_MAX];        /* as in mesh_event */
	uint32_t state;                /* enum mesh_state */
	bool self;
	uint64_t incarnation;
	uint64_t state_since_ns;       /* when it entered `state` (suspicion start) */
	uint64_t last_rtt_ns;          /* our last direct ping -> ack; 0 = none yet */
	uint32_t confirmations;        /* suspect: independent accusers beyond the first */
	uint32_t expected_confirmations; /* suspect: K used for its timeout */
	uint64_t suspicion_deadline_ns;  /* suspect: when it becomes dead */
};

struct mesh_summary {
	uint32_t alive, suspect, dead, left; /* other members, us excluded */
};

struct mesh_counters {
	uint64_t messages_received, messages_invalid, messages_dropped, messages_ignored;
	uint64_t probes_sent, acks_received, probes_failed, late_acks;
	uint64_t dead_pings_sent;     /* reconnect pings to members held dead (dead_reconnect) */
	uint64_t ping_reqs_sent, ping_reqs_served, ping_reqs_dropped;
	uint64_t nacks_sent, nacks_received;
	uint64_t suspicions_raised;  /* our own probes accused (new suspicion or confirmation) */
	uint64_t confirmations;      /* new independent accusers heard, our own included */
	uint64_t refutations;        /* we refuted a record about ourselves */
	uint64_t dead_declared;      /* our suspicion timer expired first */
	uint64_t gossip_sent, updates_sent;
	uint64_t joins_sent, joins_served, joins_dropped, sync_sent, sync_received;
	uint64_t members_rejected;   /* table full of live members, or no own strings block */
	uint64_t members_evicted;    /* dead/left records dropped for room */
	/* Records a third party may not give (see "Authority"): */
	uint64_t left_hearsay;       /* a LEFT about another member: not taken */
	uint64_t updates_refused;    /* an incarnation beyond MESH_INCARNATION_LEAD */
};

/* Iterates the table, us included: start with *cursor = 0; false at end. */
bool membership_member_next(const struct membership *m, uint32_t *cursor,
			    struct mesh_member_info *info);
/* 0 or -ENOENT. */
int membership_member_get(const struct membership *m, const char *name,
			  struct mesh_member_info *info);
void membership_summary(const struct membership *m, struct mesh_summary *out);
void membership_counters(const struct membership *m, struct mesh_counters *out);
uint32_t membership_lhm(const struct membership *m);
uint64_t membership_incarnation(const struct membership *m);
bool membership_joined(const struct membership *m);
/* The current piggyback retransmit limit (see retransmit_limit below). */
uint32_t membership_current_retransmit_limit(const struct membership *m);

/* ---- pure helpers ------------------------------------------------------- */

/* retransmit_mult * ceil(log10(n + 1)): 4 -> 8 at n = 10, 12 at 100,
 * 16 at 1000. */
uint32_t membership_retransmit_limit(uint32_t retransmit_mult, uint32_t n);
/* max(min, max - (max - min) * log(c + 1) / log(k + 1)), floored to the
 * nanosecond; min when k == 0 or c >= k. */
uint64_t membership_suspicion_timeout(uint64_t min_ns, uint64_t max_ns, uint32_t k,
				      uint32_t c);
const char *mesh_state_name(uint32_t state);
const char *mesh_msg_type_name(uint32_t type);

#endif
