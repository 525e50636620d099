/* One mesh node: the composition of the two pure cores, membership (SWIM +
 * Lifeguard, mesh/membership.h) and agreement (mesh/agreement.h), that
 * mimamorid's mesh thread (daemon/mesh/mesh_node.c) and the simulator
 * (tools/sim/node.c) both drive, so the simulator checks the production
 * glue. Pure like the cores: no socket, clock, thread or allocation after
 * mnode_new(); `now` (monotonic ns) is an argument; same inputs, same
 * outputs.
 *
 * What it adds to the cores (the glue, written once):
 *  - membership events -> this node's view of each configured member
 *    (state, incarnation, since when it is suspected at that incarnation)
 *    -> agreement_on_member_state();
 *  - peer messages (struct mesh_wire_msg, mesh/wire.h) dispatched to the
 *    core they are for;
 *  - an agreement input refused with -EBUSY (actions not drained) is kept
 *    and fed again once the actions are drained: the caller never retries;
 *  - agreement actions turned into messages with their destinations
 *    (member indexes), a broadcast to the members mnode_reachable() says
 *    (not DEAD nor LEFT here; never heard of counts: it may be starting),
 *    FENCE, and NOTIFY with the failure's time by one rule (below);
 *  - one deadline: the earlier of the cores'.
 *
 * The members digest: every message carries this node's digest of its
 * member list (mnode_members_digest: names and URLs); a member whose last
 * message carried another (or none, an older version's message, with
 * hold_on_unknown_digest) means the members
 * files differ, and each node's majority would then be counted over its
 * own list (two sides of a partition can both "have a majority"). While
 * any member's last message differs, and for hold_ns after the last such
 * message or the last one saying members_differ (the sender hears a
 * digest other than its own: a node the drifted one never talks to, not
 * being in its file, learns it so; said only of a direct difference, so
 * it is not echoed around), the node holds its verdicts (agreement_set_hold: no
 * declaration, claim, fence or notification; a fence already running
 * finishes, its notification waits) and says so in MNODE_OUT_LOG records
 * ("members_differ", "members_match", "verdicts_held", "verdicts_resumed")
 * and mnode_verdicts_held(). FNV-1a catches drift (an edited file), not an
 * adversary: members are authenticated by TLS, and one that lies about
 * its digest can only hold the segment's verdicts, which it could as well
 * by not answering.
 *
 * The failure's time (a NOTIFY's generated_time): for a host, when this
 * node first suspected it at the incarnation it died with (SUSPECT, or DEAD
 * when the suspicion was never seen here); for a process, when it died by
 * its host's clock (the report's failed_at_unix_ns); otherwise when this
 * node decided. Given as failed_at_unix_ns when known, else as a monotonic
 * instant (failed_at_mono_ns) that the shell turns into wall-clock time.
 *
 * Members are identified by their index in the configured list
 * (agreement.members order): the members file's order in the daemon, the
 * node id in the simulator.
 *
 * Use
 * ---
 *   n = mnode_new(&cfg, err, sizeof(err));
 *   mnode_join(n, seeds, k, now);
 *   a peer's message          -> mnode_on_message(n, &msg, now)
 *   at mnode_next_deadline()  -> mnode_tick(n, now)
 *   fence finished            -> mnode_on_fence_result()
 *   Masakari answered         -> mnode_on_notify_result()
 *   Pacemaker's view          -> mnode_on_pacemaker_view()
 *   our process died          -> mnode_local_process_failed()
 *   after EVERY call          -> mnode_poll() until it returns 0.
 * Inputs return 0 (taken, or kept for after the drain), -EINVAL
 * (malformed), -ENOENT (unknown member or incident: ignored), -ENOBUFS (a
 * SWIM message dropped: outputs not drained), -EBUSY (inputs kept for after
 * the drain are MNODE_PENDING_MAX already: drain first).
 *
 * Not thread-safe: one owner. */
#ifndef MIMAMORI_MESH_NODE_H
#define MIMAMORI_MESH_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/agreement.h"
#include "mesh/membership.h"
#include "mesh/wire.h"

#define MNODE_NONE UINT32_MAX /* "no member" index */
#define MNODE_PENDING_MAX 16  /* agreement inputs kept across a drain */
#define MNODE_DEFERRED_MAX 4  /* process reports waiting for our incarnation */
#define MNODE_SETTLE_MAX_NS (10 * UINT64_C(1000000000)) /* waited for at most */

/* The member names in configuration order with a name -> index table:
 * immutable, so one may serve many nodes (the simulator's N nodes). The
 * strings are borrowed: they must outlive the table. NULL with errno
 * EINVAL (n == 0, above AGR_MAX_MEMBERS, a NULL or duplicate name) or
 * ENOMEM. */
struct mnode_names;
struct mnode_names *mnode_names_new(const char *const *names, uint32_t n);
void mnode_names_free(struct mnode_names *t);
/* Index of name, or MNODE_NONE. */
uint32_t mnode_names_find(const struct mnode_names *t, const char *name);
uint32_t mnode_names_count(const struct mnode_names *t);
const char *mnode_names_get(const struct mnode_names *t, uint32_t idx);

struct mnode_config {
	/* The cores' configurations. agreement.members is the configured
	 * member list (self included) and defines the indexes; membership
	 * gets agreement.self as its name. */
	struct membership_config membership;
	struct agreement_config agreement;
	const char *self_addr;
	/* NULL: built from agreement.members (and borrowing its strings, which
	 * must then outlive the node). Otherwise a shared table with the same
	 * names in the same order. */
	const struct mnode_names *names;
	/* mnode_members_digest of this node's member list (the shell: names
	 * and URLs of the members file); 0: of agreement.members' names
	 * alone (the simulator: one list for every node). */
	uint64_t members_digest;
	/* How long verdicts stay held after the last message with another
	 * digest; 0: 2 x agreement.observation_ttl_ns (the evidence gathered
	 * while the lists differed has expired by then). */
	uint64_t digest_hold_ns;
	/* A message without a digest (0: an older peer) counts as another
	 * digest: true in the daemon (a rolling upgrade holds rather than
	 * trusting a peer that cannot say which list it counts over); false
	 * ignores the field when absent (the simulator's messages do not
	 * carry it). */
	bool hold_on_unknown_digest;
};

/* The digest of a member list, whatever its order: FNV-1a 64 over the
 * entries sorted by name, each "name\turl\n" (urls NULL: names alone).
 * Never 0 (0 on the wire is "unknown"); 0 only for n == 0 or out of
 * memory. Pure. */
uint64_t mnode_members_digest(const char *const *names, const char *const *urls, uint32_t n);

/* This node's view of one member. */
struct mnode_member {
	uint32_t state;            /* enum mesh_state of the last event; NONE: never heard of */
	uint64_t incarnation;      /* of the last event */
	uint64_t suspect_since_ns; /* first SUSPECT (or DEAD) at `incarnation`; 0: none */
};

enum mnode_out_kind {
	MNODE_OUT_SEND = 1,  /* msg to each of to[0..n_to) */
	MNODE_OUT_BROADCAST, /* msg to every member mnode_reachable() holds, self excepted */
	MNODE_OUT_FENCE,     /* act: FENCE subject (incarnation, attempt) */
	MNODE_OUT_NOTIFY,    /* act: NOTIFY_HOST / NOTIFY_PROCESS subject; failed_at_* */
	MNODE_OUT_MEMBER,    /* event: membership's news about a member (logs, metrics) */
	MNODE_OUT_LOG,       /* act: an agreement decision record */
};

struct mnode_out {
	enum mnode_out_kind kind;
	/* SEND: destinations, member indexes. A SWIM message has one:
	 * MNODE_NONE with to_addr set for a JOIN to a seed address (membership
	 * knows no name), MNODE_NONE with to_addr "" for a name that is not a
	 * configured member (send nothing). */
	uint32_t n_to;
	uint32_t to[AGR_MAX_DEST];
	char to_addr[MESH_ADDR_MAX];
	/* SEND, BROADCAST: the message, from = this node. */
	struct mesh_wire_msg msg;
	/* SEND and BROADCAST of an agreement message, FENCE, NOTIFY, LOG: the
	 * agreement's action (names point into the core's table). */
	struct agr_action act;
	/* FENCE, NOTIFY, LOG, MEMBER: the member it is about; MNODE_NONE for
	 * none or an unknown name. */
	uint32_t subject;
	/* NOTIFY: the failure's time (see above): failed_at_unix_ns when
	 * known (> 0), else failed_at_mono_ns. */
	int64_t failed_at_unix_ns;
	uint64_t failed_at_mono_ns;
	/* MEMBER: the event (about this node itself: self is true; the
	 * agreement never hears of it). */
	struct mesh_event event;
	bool self;
};

struct mnode;

/* NULL with a reason in err: a core's configuration, an unknown self, a
 * names table that is not agreement.members, or out of memory. The only
 * allocation. */
struct mnode *mnode_new(const struct mnode_config *cfg, char *err, size_t errlen);
void mnode_free(struct mnode *n);

/* ---- inputs ----------------------------------------------------------- */

/* membership_join (seed addresses) / membership_leave. */
int mnode_join(struct mnode *n, const char *const *seed_addrs, size_t k, uint64_t now);
void mnode_leave(struct mnode *n, uint64_t now);
bool mnode_leave_done(const struct mnode *n);
/* A peer's message, decoded and authenticated (m->from is the sender). */
int mnode_on_message(struct mnode *n, const struct mesh_wire_msg *m, uint64_t now);
/* A connection to member idx's daemon was answered by its kernel: refused
 * (TCP RST, ECONNREFUSED: its monitor is down) or accepted (its monitor is
 * hung); either way its host is up (agreement_on_peer_answered). -ENOENT:
 * not suspected here (harmless). */
int mnode_on_peer_answered(struct mnode *n, uint32_t idx, enum agr_peer_answer how, uint64_t now);
/* mnode_on_peer_answered(n, idx, AGR_PEER_REFUSED, now) */
int mnode_on_peer_refused(struct mnode *n, uint32_t idx, uint64_t now);
/* Runs the timers due at now: membership's at once, the agreement's after
 * membership's outputs are drained (within mnode_poll). */
int mnode_tick(struct mnode *n, uint64_t now);
int mnode_on_fence_result(struct mnode *n, const char *subject, uint64_t incarnation,
			  enum agr_fence_result result, uint64_t now);
/* Masakari's final answer (202/409, or the outbox gave up: any other). */
int mnode_on_notify_result(struct mnode *n, enum agr_incident_kind kind, const char *subject,
			   uint64_t incarnation, int http_status, uint64_t now);
/* Pacemaker's latest view (mesh/pacemaker_view.h). If it has to wait
 * for a drain, v is read then: keep it unchanged until mnode_poll()
 * returned 0. */
int mnode_on_pacemaker_view(struct mnode *n, const struct pacemaker_view *v, uint64_t now);
/* This host's `process` died (failed_at_unix_ns: when, by our clock; 0
 * unknown): reported to the peers with our current incarnation. Between
 * mnode_join() with seeds and the end of a seed's whole table (or
 * MNODE_SETTLE_MAX_NS) the report waits: a restarted daemon starts at
 * incarnation 0, below what its peers hold of its previous life, and a
 * report at it is dropped as stale everywhere; the table brings our old
 * records, which membership refutes above them. */
int mnode_local_process_failed(struct mnode *n, const char *process, int64_t failed_at_unix_ns,
			       uint64_t now);
/* The simulator's pre-converged start (membership_drop_broadcasts). */
void mnode_drop_broadcasts(struct mnode *n);

/* ---- outputs ---------------------------------------------------------- */

/* Moves up to max outputs into out, in the order they happened; returns
 * how many. Feeds membership's news and kept inputs to the agreement as
 * its actions drain. */
size_t mnode_poll(struct mnode *n, struct mnode_out *out, size_t max);
/* When mnode_tick() must run next: the earlier of the cores' deadlines;
 * UINT64_MAX if none. May be <= the last now (work is due). */
uint64_t mnode_next_deadline(struct mnode *n);

/* ---- queries ---------------------------------------------------------- */

/* Whether a broadcast goes to member idx: not self, not DEAD or LEFT in
 * our view (never heard of counts as reachable: it may be starting). */
bool mnode_reachable(const struct mnode *n, uint32_t idx);
/* Verdicts held: a member's last message carried another members digest,
 * or did within digest_hold_ns. */
bool mnode_verdicts_held(const struct mnode *n);
/* Members whose last message carried another digest (or none). */
uint32_t mnode_digest_mismatches(const struct mnode *n);
/* This node's members digest, and member idx's last one heard (0: none
 * heard, or an older peer's message without one). */
uint64_t mnode_members_digest_of(const struct mnode *n);
uint64_t mnode_member_digest(const struct mnode *n, uint32_t idx);
/* Our view of member idx: 0, or -EINVAL for a bad index. */
int mnode_member(const struct mnode *n, uint32_t idx, struct mnode_member *out);
uint32_t mnode_self(const struct mnode *n);
const struct mnode_names *mnode_names(const struct mnode *n);
/* The cores, for their queries (counters, member info, observers). */
const struct membership *mnode_membership(const struct mnode *n);
const struct agreement *mnode_agreement(const struct mnode *n);

#endif
