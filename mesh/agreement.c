/* See agreement.h for the rules. This file is the state machine.
 *
 * State
 * -----
 * Members are sorted by name (index = position; lookup by binary search)
 * and also placed on a ring ordered by (hash(name), name). Per member: the
 * local membership state and incarnation, the open HOST and PROCESS
 * incidents (indices into a fixed table), the last NOTIFIED record heard
 * per kind (in a->done, apart), and Pacemaker's flags from the last usable
 * view. Names are copied once into a->names, or borrowed from the caller
 * (cfg.members_borrowed); a member holds a 32-bit offset or index.
 *
 * An incident (kind, subject, incarnation) moves through
 *   OBSERVING -> DECLARED -> SETTLING -> [FENCING <-> FENCE_BACKOFF]
 *             -> [HOLDING] -> NOTIFYING -> COMPLETED
 * and may be released (cancelled, abandoned, expired, evicted) on the way.
 * Observations live in two bitmaps of n bits (current and previous window
 * of observation_ttl / 2 each): a set bit in either is a fresh observation.
 *
 * Every decision is re-evaluated from state (evaluate()) after each input,
 * so nothing depends on the order in which a view change and a message
 * arrive. Functions call downwards only: no recursion. */
#include "mesh/agreement.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/hash.h"
#include "base/text.h"
#include "base/units.h"
#include "mesh/pacemaker_view.h"

#define NONE UINT32_MAX
#define NEVER UINT64_MAX
/* Per incident: obs_cur, obs_prev, obs_ever, claimed (one block). */
#define BITSETS 4

/* Most essential (non-LOG) actions one call can emit per incident:
 * observation, probe, progress, FENCE/NOTIFY, completion, echo (a send
 * to a list of destinations is one action). */
#define PER_INCIDENT_ACTIONS 6
/* Our NOTIFIED is repeated this many times (every resend interval); after
 * that, late probers and claimers get it on demand (echo_done). */
#define NOTIFIED_RESENDS 3
#define QUEUE_RESERVE (PER_INCIDENT_ACTIONS * AGR_MAX_INCIDENTS + 16)
_Static_assert(QUEUE_RESERVE < AGR_QUEUE_LEN, "queue too small for its reserve");
_Static_assert(AGR_MEMBER_LEFT == 4, "member states mirror enum mesh_state");
_Static_assert(PCMK_VIEW_NAME_LEN == AGR_NAME_MAX, "a Pacemaker node name fits a member's");

enum {
	PCMK_PRESENT = 1u << 0,
	PCMK_ONLINE = 1u << 1,
	PCMK_UNCLEAN = 1u << 2,
	PCMK_RECONNECTING = 1u << 3,
	PCMK_SHUTDOWN = 1u << 4,
	PCMK_FENCED = 1u << 5,
};

/* Packed (24 bytes): two per member per node, N x N in the simulator. */
struct done_record {
	uint64_t inc;
	uint64_t seq; /* PROCESS: the report's sequence number (0 for HOST) */
	uint32_t by;
	int16_t http;        /* an HTTP status */
	uint8_t host_status; /* enum agr_host_status */
	bool known;
};

/* 40 bytes, ordered without padding: N x N of these in the simulator.
 * The name is an offset into a->names (copied), or an index into the
 * caller's cfg.members (members_borrowed); see name_of(). The done
 * records live apart, in a->done: written for the few members with a
 * completed incident, so the untouched pages of that array cost nothing. */
struct member {
	uint64_t hash;
	uint64_t inc;
	uint32_t name;
	uint32_t ring_pos;
	uint32_t host_incident; /* index or NONE */
	uint32_t proc_incident;
	uint32_t route_mark; /* scratch for route(): de-duplication */
	uint8_t state;       /* enum agr_member_state */
	uint8_t pcmk, pcmk_warned;
};
_Static_assert(sizeof(struct member) == 40, "struct member grew");

struct incident {
	enum agr_incident_stage stage; /* AGR_IS_NONE: free slot */
	enum agr_incident_kind kind;
	uint32_t subject;
	uint64_t inc;
	uint64_t seq; /* PROCESS: the report's sequence number (key: inc, seq) */
	uint64_t created_at, evidence_at, decided_at, progress_at;
	uint64_t deadline;  /* stage timer (see evaluate / tick) */
	uint64_t resend_at; /* re-send observation / progress */
	uint64_t window_at; /* next observation window rotation */
	uint64_t notify_at, completed_at, fence_sent_at;
	uint64_t *obs_cur, *obs_prev;
	uint64_t *obs_ever; /* every observer of this incident */
	/* members whose own progress about this incident we heard: only they
	 * are believed when they say FENCED or NOTIFIED (agreement.h, Trust) */
	uint64_t *claimed;
	/* A bit was set since the four bitsets were last cleared. Clean
	 * bitsets are not written (cleared, rotated) at all: most incidents
	 * (refuted suspicions) never get an observer, and 128 slots x 3 x N
	 * bits per node would otherwise all be touched (N x N x 48 bytes in
	 * the simulator). Memory only: clean bitsets are all zero. */
	bool obs_dirty;
	/* our probing of the subject (HOST, while SUSPECT or DEAD here) */
	bool probing;
	bool observed;      /* the window passed unanswered: our observation stands */
	bool seen_dead;     /* the subject was DEAD here at in->inc */
	uint64_t run_start; /* first probe of the current unanswered run, NEVER */
	uint64_t probe_at;  /* next PROBE, NEVER when not probing */
	uint64_t nonce_lo, probe_nonce; /* this incarnation's probes: acks accepted */
	bool ack_logged;
	/* the subject's kernel refused a connection to its daemon (0: never):
	 * the host is up, its monitor is not (agreement_on_peer_refused) */
	uint64_t refused_at;
	bool refused_logged;
	/* what peers told us */
	bool progress_seen, peer_fenced;
	uint32_t claimer; /* strongest recent claimer (see stronger()), NONE */
	uint64_t claimer_at;
	uint64_t claimer_since; /* since when it is the claimer (progress_bound) */
	/* members no longer waited for: they handed the incident over, or
	 * claimed it longer than progress_bound ago without a NOTIFIED (self
	 * included after our own handover) */
	uint32_t excluded[AGR_MAX_BACKUPS + 2];
	uint32_t n_excluded;
	/* a NOTIFIED from a member we never heard claim it, kept until a
	 * second member names the same notifier (a late node's echoes) */
	uint32_t vouch_by, vouch_from;
	bool untrusted_logged;
	bool claimer_committed; /* it said FENCED or NOTIFYING */
	/* the best candidate in our view, and since when it is */
	uint32_t best;
	uint64_t best_since;
	uint32_t notified_resends; /* NOTIFIED re-sends left */
	/* what we did */
	bool acted, fence_in_flight, fence_confirmed, notify_emitted;
	bool returned, hold_logged, hold_after_settle, dup_logged;
	bool exhausted_logged; /* handovers_exhausted said once */
	uint32_t fence_attempts;
	enum agr_stage progress_stage;
	enum agr_host_status host_status;
	uint32_t completed_by;
	int32_t http;
	char process[AGR_PROCESS_MAX];
	int64_t failed_at_unix_ns; /* PROCESS: as reported */
};

struct agreement {
	struct agreement_config cfg;
	uint32_t n, self, words;
	uint32_t n_live; /* others ALIVE or SUSPECT */
	/* have_majority() as of the last view change: regaining one restarts
	 * the observations (majority_regained) */
	bool majority;
	uint64_t heard_at; /* last message from a peer (agreement_on_heard), 0 never */
	uint64_t deaf_until; /* end of our last deaf gap (deaf()), 0 none */
	uint64_t *peer_heard_at; /* per member: its last message here, 0 never */
	uint64_t step;   /* takeover step */
	uint64_t bound;  /* progress bound */
	uint64_t report_seq; /* our last process report's */
	/* our process reports, re-sent until a peer tells us their NOTIFIED */
	struct local_report {
		bool active;
		uint64_t inc, seq, started_at, resend_at, interval;
		int64_t failed_at_unix_ns;
		char process[AGR_PROCESS_MAX];
	} reports[4];
	struct member *m;
	uint32_t *ring;
	char *names;                 /* copied names; NULL when borrowed */
	const char *const *borrowed; /* cfg.members when members_borrowed */
	struct done_record *done;    /* 2 per member: HOST, then PROCESS */
	uint64_t *bitpool;
	struct incident inc[AGR_MAX_INCIDENTS];
	struct agr_action *q;
	uint32_t q_head, q_len;
	uint64_t now, nonce;
	uint32_t route_gen;
	bool want_scan;
	enum pacemaker_status pcmk_status;
	bool pcmk_seen;
	bool held; /* agreement_set_hold: the members files differ */
	char pcmk_reason[PCMK_VIEW_REASON_LEN];
	uint64_t logs_dropped_told;
	struct agr_counters ctr;
};

/* ------------------------------------------------------------ hashing */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* FNV-1a, then mixed. Every node must compute the same bits: the ring
 * (observers) and the scores (notifier) depend on them. */
uint64_t agreement_name_hash(const char *name)
{
	assert(name != NULL);
	return mix64(fnv1a64(name));
}

static uint64_t subject_salt(uint64_t subject_hash)
{
	return mix64(subject_hash ^ UINT64_C(0x9e3779b97f4a7c15));
}

static uint64_t score_h(uint64_t member_hash, uint64_t salt)
{
	return mix64(member_hash ^ salt);
}

uint64_t agreement_score(const char *member, const char *subject)
{
	return score_h(agreement_name_hash(member), subject_salt(agreement_name_hash(subject)));
}

/* ------------------------------------------------------------ names */

const char *agr_action_kind_name(enum agr_action_kind k)
{
	switch (k) {
	case AGR_ACT_SEND_PROBE:
		return "SEND_PROBE";
	case AGR_ACT_SEND_PROBE_ACK:
		return "SEND_PROBE_ACK";
	case AGR_ACT_SEND_OBSERVATION:
		return "SEND_OBSERVATION";
	case AGR_ACT_SEND_COMPLETION:
		return "SEND_COMPLETION";
	case AGR_ACT_BROADCAST_PROCESS_REPORT:
		return "BROADCAST_PROCESS_REPORT";
	case AGR_ACT_FENCE:
		return "FENCE";
	case AGR_ACT_NOTIFY_HOST:
		return "NOTIFY_HOST";
	case AGR_ACT_NOTIFY_PROCESS:
		return "NOTIFY_PROCESS";
	case AGR_ACT_LOG:
		return "LOG";
	}
	return "?";
}

const char *agr_incident_stage_name(enum agr_incident_stage s)
{
	static const char *const names[] = { "none",   "observing",     "declared",
					     "settling", "fencing",     "fence_backoff",
					     "holding",  "notifying",   "completed" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *agr_stage_name(enum agr_stage s)
{
	switch (s) {
	case AGR_STAGE_HANDED_OVER:
		return "handed_over";
	case AGR_STAGE_NOTIFYING:
		return "notifying";
	case AGR_STAGE_ABANDONED:
		return "abandoned";
	case AGR_STAGE_CLAIMED:
		return "claimed";
	case AGR_STAGE_FENCED:
		return "fenced";
	case AGR_STAGE_FENCE_FAILED:
		return "fence_failed";
	case AGR_STAGE_NOTIFIED:
		return "notified";
	}
	return "?";
}

static const char *kind_name(enum agr_incident_kind k)
{
	return k == AGR_INCIDENT_HOST ? "host" : "process";
}

/* ------------------------------------------------------------ config */

void agreement_config_default(struct agreement_config *cfg)
{
	assert(cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	cfg->observers = 5;
	cfg->observer_quorum = 0;
	cfg->max_backups = 3;
	cfg->fence_policy = AGR_FENCE_REQUIRED;
	cfg->unfenced_notify_after = 0;
	cfg->probe_interval_ns = 200 * NS_PER_MS;
	cfg->unreachable_window_ns = 1200 * NS_PER_MS;
	cfg->resend_interval_ns = 1 * NS_PER_S;
	cfg->observation_ttl_ns = 10 * NS_PER_S;
	cfg->claim_settle_ns = 100 * NS_PER_MS;
	cfg->fence_timeout_ns = 60 * NS_PER_S;
	cfg->notify_timeout_ns = 30 * NS_PER_S;
	cfg->takeover_step_ns = 0;
	cfg->fence_retry_min_ns = 5 * NS_PER_S;
	cfg->fence_retry_max_ns = 60 * NS_PER_S;
	cfg->process_grace_ns = 10 * NS_PER_S;
	cfg->completion_linger_ns = 120 * NS_PER_S;
	cfg->idle_expiry_ns = 600 * NS_PER_S;
}

static bool valid_name(const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0')
		return false;
	size_t n = strnlen(s, max);
	return n < max && !text_has_control_n(s, n);
}

static int check_config(const struct agreement_config *c, char *err, size_t errlen)
{
	if (c->self == NULL || c->members == NULL) {
		errbuf_set(err, errlen, "self and members are required");
		return -1;
	}
	if (c->n_members < 1 || c->n_members > AGR_MAX_MEMBERS) {
		errbuf_set(err, errlen, "members: %zu, expected 1..%d", c->n_members,
			AGR_MAX_MEMBERS);
		return -1;
	}
	if (c->observers < 1 || c->observers > AGR_MAX_OBSERVERS) {
		errbuf_set(err, errlen, "observers: %u, expected 1..%d", c->observers,
			AGR_MAX_OBSERVERS);
		return -1;
	}
	if (c->observer_quorum > c->observers) {
		errbuf_set(err, errlen, "observer_quorum %u > observers %u", c->observer_quorum,
			c->observers);
		return -1;
	}
	if (c->max_backups > AGR_MAX_BACKUPS) {
		errbuf_set(err, errlen, "max_backups: %u, expected 0..%d", c->max_backups,
			AGR_MAX_BACKUPS);
		return -1;
	}
	if (c->fence_policy != AGR_FENCE_REQUIRED && c->fence_policy != AGR_FENCE_NONE) {
		errbuf_set(err, errlen, "fence_policy: unknown value");
		return -1;
	}
	if (c->unfenced_notify_after > 1000) {
		errbuf_set(err, errlen, "unfenced_notify_after: %u, expected 0..1000",
			c->unfenced_notify_after);
		return -1;
	}
	const struct {
		const char *name;
		uint64_t v;
		bool zero_ok;
	} d[] = {
		{ "probe_interval", c->probe_interval_ns, false },
		{ "unreachable_window", c->unreachable_window_ns, false },
		{ "resend_interval", c->resend_interval_ns, false },
		{ "observation_ttl", c->observation_ttl_ns, false },
		{ "claim_settle", c->claim_settle_ns, true },
		{ "fence_timeout", c->fence_timeout_ns, false },
		{ "notify_timeout", c->notify_timeout_ns, false },
		{ "takeover_step", c->takeover_step_ns, true },
		{ "progress_bound", c->progress_bound_ns, true },
		{ "fence_retry_min", c->fence_retry_min_ns, false },
		{ "fence_retry_max", c->fence_retry_max_ns, false },
		{ "process_grace", c->process_grace_ns, true },
		{ "completion_linger", c->completion_linger_ns, false },
		{ "idle_expiry", c->idle_expiry_ns, false },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if ((d[i].v == 0 && !d[i].zero_ok) || d[i].v > AGR_MAX_DURATION_NS) {
			errbuf_set(err, errlen, "%s: out of range (1 ns .. 1 h)", d[i].name);
			return -1;
		}
	}
	if (c->fence_retry_min_ns > c->fence_retry_max_ns) {
		errbuf_set(err, errlen, "fence_retry_min > fence_retry_max");
		return -1;
	}
	if (c->observation_ttl_ns < 2 * c->resend_interval_ns) {
		errbuf_set(err, errlen, "observation_ttl must be >= 2 * resend_interval");
		return -1;
	}
	/* At least two probes per window (one lost probe is not a death),
	 * and the fast cadence no slower than the keep-alive one. */
	if (2 * c->probe_interval_ns > c->unreachable_window_ns) {
		errbuf_set(err, errlen, "probe_interval must be <= unreachable_window / 2");
		return -1;
	}
	if (c->probe_interval_ns > c->resend_interval_ns) {
		errbuf_set(err, errlen, "probe_interval must be <= resend_interval");
		return -1;
	}
	if (!valid_name(c->self, AGR_NAME_MAX)) {
		errbuf_set(err, errlen, "self: empty, longer than %d bytes or with control characters",
			AGR_NAME_MAX - 1);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ lookup */

static const char *name_of(const struct agreement *a, const struct member *mb)
{
	return a->borrowed != NULL ? a->borrowed[mb->name] : a->names + mb->name;
}

#define MNAME(a, i) name_of((a), &(a)->m[(i)])

static struct done_record *done_of(const struct agreement *a, enum agr_incident_kind kind,
				   uint32_t subject)
{
	assert(subject < a->n);
	return &a->done[2 * (size_t)subject + (kind == AGR_INCIDENT_HOST ? 0 : 1)];
}

static int cmp_member_name(const void *x, const void *y, void *ctx)
{
	const struct agreement *a = ctx;
	return strcmp(name_of(a, x), name_of(a, y));
}

static int cmp_ring(const void *pa, const void *pb, void *ctx)
{
	const struct agreement *a = ctx;
	const struct member *x = &a->m[*(const uint32_t *)pa];
	const struct member *y = &a->m[*(const uint32_t *)pb];
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return strcmp(name_of(a, x), name_of(a, y));
}

static uint32_t find(const struct agreement *a, const char *name)
{
	if (name == NULL)
		return NONE;
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, MNAME(a, mid));
		if (c == 0)
			return (uint32_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NONE;
}

/* A name from the network: bounded, then looked up. */
static uint32_t find_msg(struct agreement *a, const char *name)
{
	if (name == NULL || !valid_name(name, AGR_NAME_MAX))
		return NONE;
	return find(a, name);
}

/* ------------------------------------------------------------ lifecycle */

struct agreement *agreement_new(const struct agreement_config *cfg, char *err, size_t errlen)
{
	if (cfg == NULL) {
		errbuf_set(err, errlen, "no configuration");
		return NULL;
	}
	if (check_config(cfg, err, errlen) < 0)
		return NULL;
	size_t total = 0;
	for (size_t i = 0; i < cfg->n_members; i++) {
		if (!valid_name(cfg->members[i], AGR_NAME_MAX)) {
			errbuf_set(err, errlen,
				"member %zu: empty, longer than %d bytes or with control characters",
				i + 1, AGR_NAME_MAX - 1);
			return NULL;
		}
		total += strlen(cfg->members[i]) + 1;
	}

	struct agreement *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = *cfg;
	/* borrowed: kept (the caller's array outlives us); else copied below
	 * and the caller's array may go */
	a->cfg.members = cfg->members_borrowed ? cfg->members : NULL;
	a->n = (uint32_t)cfg->n_members;
	a->words = (a->n + 63) / 64;
	a->m = calloc(a->n, sizeof(*a->m));
	a->ring = calloc(a->n, sizeof(*a->ring));
	a->done = calloc(2 * (size_t)a->n, sizeof(*a->done));
	if (cfg->members_borrowed)
		a->borrowed = cfg->members;
	else
		a->names = malloc(total);
	a->bitpool = calloc((size_t)AGR_MAX_INCIDENTS * BITSETS * a->words, sizeof(uint64_t));
	a->q = calloc(AGR_QUEUE_LEN, sizeof(*a->q));
	a->peer_heard_at = calloc(a->n, sizeof(*a->peer_heard_at));
	if (a->m == NULL || a->peer_heard_at == NULL || a->ring == NULL || a->done == NULL ||
	    (a->names == NULL && a->borrowed == NULL) || a->bitpool == NULL || a->q == NULL) {
		errbuf_set(err, errlen, "out of memory");
		agreement_free(a);
		return NULL;
	}
	size_t off = 0;
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->borrowed != NULL) {
			a->m[i].name = i;
		} else {
			size_t l = strlen(cfg->members[i]) + 1;
			memcpy(a->names + off, cfg->members[i], l);
			a->m[i].name = (uint32_t)off;
			off += l;
		}
		a->m[i].hash = agreement_name_hash(MNAME(a, i));
	}
	qsort_r(a->m, a->n, sizeof(*a->m), cmp_member_name, a);
	for (uint32_t i = 0; i + 1 < a->n; i++) {
		if (strcmp(MNAME(a, i), MNAME(a, i + 1)) == 0) {
			errbuf_set(err, errlen, "member %s listed twice", MNAME(a, i));
			agreement_free(a);
			return NULL;
		}
	}
	for (uint32_t i = 0; i < a->n; i++) {
		a->m[i].state = AGR_MEMBER_UNKNOWN;
		a->m[i].host_incident = NONE;
		a->m[i].proc_incident = NONE;
		a->ring[i] = i;
	}
	qsort_r(a->ring, a->n, sizeof(*a->ring), cmp_ring, a);
	for (uint32_t i = 0; i < a->n; i++)
		a->m[a->ring[i]].ring_pos = i;
	a->self = find(a, cfg->self);
	if (a->self == NONE) {
		errbuf_set(err, errlen, "self (%s) is not in members", cfg->self);
		agreement_free(a);
		return NULL;
	}
	a->cfg.self = MNAME(a, a->self);
	a->m[a->self].state = AGR_MEMBER_ALIVE;
	a->majority = a->n == 1; /* only self is live yet */
	a->step = cfg->takeover_step_ns != 0 ?
			  cfg->takeover_step_ns :
			  cfg->claim_settle_ns + cfg->fence_timeout_ns + cfg->notify_timeout_ns;
	a->bound = cfg->progress_bound_ns != 0 ? cfg->progress_bound_ns : 2 * a->step;
	for (uint32_t i = 0; i < AGR_MAX_INCIDENTS; i++) {
		a->inc[i].obs_cur = a->bitpool + (size_t)i * BITSETS * a->words;
		a->inc[i].obs_prev = a->inc[i].obs_cur + a->words;
		a->inc[i].obs_ever = a->inc[i].obs_prev + a->words;
		a->inc[i].claimed = a->inc[i].obs_ever + a->words;
	}
	a->pcmk_status = PACEMAKER_NO_INFO;
	return a;
}

void agreement_free(struct agreement *a)
{
	if (a == NULL)
		return;
	free(a->m);
	free(a->ring);
	free(a->names);
	free(a->done);
	free(a->bitpool);
	free(a->q);
	free(a->peer_heard_at);
	free(a);
}

/* ------------------------------------------------------------ actions */

static struct agr_action *emit(struct agreement *a, enum agr_action_kind kind, uint32_t subject)
{
	assert(a->q_len < AGR_QUEUE_LEN); /* QUEUE_RESERVE guarantees room */
	struct agr_action *act = &a->q[(a->q_head + a->q_len) % AGR_QUEUE_LEN];
	a->q_len++;
	memset(act, 0, offsetof(struct agr_action, text));
	act->text[0] = '\0';
	act->kind = kind;
	act->subject = subject != NONE ? MNAME(a, subject) : NULL;
	return act;
}

static void rec(struct agreement *a, enum agr_log_level level, uint32_t subject,
		const char *event, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void rec(struct agreement *a, enum agr_log_level level, uint32_t subject,
		const char *event, const char *fmt, ...)
{
	if (a->q_len >= AGR_QUEUE_LEN - QUEUE_RESERVE) {
		a->ctr.logs_dropped++;
		return;
	}
	struct agr_action *act = emit(a, AGR_ACT_LOG, subject);
	act->level = level;
	snprintf(act->event, sizeof(act->event), "%s", event);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(act->text, sizeof(act->text), fmt, ap);
	va_end(ap);
}

size_t agreement_poll_actions(struct agreement *a, struct agr_action *out, size_t max)
{
	assert(a != NULL && (out != NULL || max == 0));
	size_t k = 0;
	while (k < max && a->q_len > 0) {
		out[k++] = a->q[a->q_head];
		a->q_head = (a->q_head + 1) % AGR_QUEUE_LEN;
		a->q_len--;
	}
	if (a->q_len == 0)
		a->q_head = 0;
	return k;
}

static int enter(struct agreement *a, uint64_t now)
{
	assert(a != NULL);
	if (a->q_len > AGR_QUEUE_LEN - QUEUE_RESERVE)
		return -EBUSY;
	if (now > a->now)
		a->now = now;
	if (a->ctr.logs_dropped > a->logs_dropped_told && a->q_len == 0) {
		rec(a, AGR_LOG_WARN, NONE, "records_dropped",
		    "%llu decision records were dropped (action queue not drained fast enough)",
		    (unsigned long long)(a->ctr.logs_dropped - a->logs_dropped_told));
		a->logs_dropped_told = a->ctr.logs_dropped;
	}
	return 0;
}

/* ------------------------------------------------------------ views */

static bool is_live(const struct agreement *a, uint32_t i)
{
	return i == a->self || a->m[i].state == AGR_MEMBER_ALIVE ||
	       a->m[i].state == AGR_MEMBER_SUSPECT;
}

static bool is_gone(const struct agreement *a, uint32_t i)
{
	return i != a->self &&
	       (a->m[i].state == AGR_MEMBER_DEAD || a->m[i].state == AGR_MEMBER_LEFT);
}

static uint32_t live_count(const struct agreement *a)
{
	return a->n_live + 1;
}

/* What every irreversible step (declare, claim, fence, notify) needs: a
 * majority of the configured members live here, and no hold from outside
 * (agreement_set_hold: the segment's members files differ, so "the
 * configured members" is not one list). Held steps wait in their stage. */
static bool have_majority(const struct agreement *a)
{
	return 2 * (uint64_t)live_count(a) > a->n && !a->held;
}

static bool obs_has(const struct incident *in, uint32_t i)
{
	return ((in->obs_cur[i / 64] | in->obs_prev[i / 64]) >> (i % 64)) & 1u;
}

static void obs_set(const struct agreement *a, struct incident *in, uint32_t i)
{
	assert(i < a->n);
	in->obs_cur[i / 64] |= UINT64_C(1) << (i % 64);
	in->obs_ever[i / 64] |= UINT64_C(1) << (i % 64);
	in->obs_dirty = true;
}

static uint32_t obs_total(const struct agreement *a, const struct incident *in)
{
	uint32_t t = 0;
	for (uint32_t w = 0; w < a->words; w++)
		t += (uint32_t)__builtin_popcountll(in->obs_cur[w] | in->obs_prev[w]);
	return t;
}

static uint32_t majority_needed(const struct agreement *a)
{
	return a->n / 2 + 1;
}

/* Designated observers of subject: the K members after it on the ring,
 * skipping members the local view holds dead or left. */
static uint32_t designated(const struct agreement *a, uint32_t subject, uint32_t *out)
{
	uint32_t k = 0, pos = a->m[subject].ring_pos;
	for (uint32_t step = 1; step < a->n && k < a->cfg.observers; step++) {
		uint32_t i = a->ring[(pos + step) % a->n];
		if (is_gone(a, i))
			continue;
		out[k++] = i;
	}
	return k;
}

static uint32_t quorum_for(const struct agreement *a, uint32_t k_eff)
{
	uint32_t k_full = a->cfg.observers < a->n - 1 ? a->cfg.observers : a->n - 1;
	uint32_t q = a->cfg.observer_quorum != 0 ? a->cfg.observer_quorum : k_full / 2 + 1;
	if (q > k_full)
		q = k_full / 2 + 1;
	if (k_eff < k_full && q > k_eff / 2 + 1)
		q = k_eff / 2 + 1;
	return q == 0 ? 1 : q;
}

static uint64_t score_of(const struct agreement *a, uint32_t i, uint32_t subject)
{
	return score_h(a->m[i].hash, subject_salt(a->m[subject].hash));
}

/* i ranks before j for subject. */
static bool better(const struct agreement *a, uint32_t i, uint32_t j, uint32_t subject)
{
	uint64_t si = score_of(a, i, subject), sj = score_of(a, j, subject);
	return si != sj ? si > sj : i < j;
}

/* Between two claims: a claimer that committed (fenced, or notified)
 * wins over one that has not; at the same level the better score wins. */
static bool stronger(const struct agreement *a, uint32_t i, bool i_committed, uint32_t j,
		     bool j_committed, uint32_t subject)
{
	if (i_committed != j_committed)
		return i_committed;
	return better(a, i, j, subject);
}

static bool claimer_recent(const struct agreement *a, const struct incident *in)
{
	return in->claimer != NONE && !is_gone(a, in->claimer) &&
	       a->now < in->claimer_at + a->step;
}

static bool is_excluded(const struct incident *in, uint32_t i)
{
	for (uint32_t k = 0; k < in->n_excluded; k++)
		if (in->excluded[k] == i)
			return true;
	return false;
}

/* No longer waited for (it handed over, or overran progress_bound). The
 * list is bounded: a segment where that many members failed at one
 * incident forgets the oldest (it then counts again). */
static void exclude(struct incident *in, uint32_t i)
{
	if (is_excluded(in, i))
		return;
	uint32_t cap = (uint32_t)(sizeof(in->excluded) / sizeof(in->excluded[0]));
	if (in->n_excluded == cap) {
		memmove(in->excluded, in->excluded + 1, (cap - 1) * sizeof(in->excluded[0]));
		in->n_excluded--;
	}
	in->excluded[in->n_excluded++] = i;
}

static bool candidate(const struct agreement *a, const struct incident *in, uint32_t i)
{
	if (i == in->subject || is_gone(a, i) || is_excluded(in, i))
		return false;
	if (in->claimer == i && claimer_recent(a, in))
		return true;
	if (in->kind == AGR_INCIDENT_PROCESS)
		return is_live(a, i);
	/* Fresh observers while the subject is dead here; once it is not
	 * (it came back: nobody probes it any more), everyone who observed. */
	const struct member *h = &a->m[in->subject];
	if (h->state == AGR_MEMBER_DEAD && h->inc == in->inc)
		return obs_has(in, i);
	return (in->obs_ever[i / 64] >> (i % 64)) & 1u;
}

/* Our rank among the candidates (0 = notifier), NONE if not one; *best
 * gets the best candidate (NONE if none). */
static uint32_t rank_of_self(const struct agreement *a, const struct incident *in,
			     uint32_t *best)
{
	uint32_t b = NONE, rank = 0;
	bool self_ok = candidate(a, in, a->self);
	/* A claim we heard leads, whatever its score. */
	uint32_t lead = claimer_recent(a, in) && in->claimer != a->self ? in->claimer : NONE;
	for (uint32_t i = 0; i < a->n; i++) {
		if (!candidate(a, in, i) || i == lead)
			continue;
		if (b == NONE || better(a, i, b, in->subject))
			b = i;
		if (self_ok && i != a->self && better(a, i, a->self, in->subject))
			rank++;
	}
	if (lead != NONE) {
		b = lead;
		rank++;
	}
	if (best != NULL)
		*best = b;
	return self_ok ? rank : NONE;
}

/* ------------------------------------------------------------ records */

static void describe_pacemaker(const struct agreement *a, uint32_t i, char *buf, size_t len)
{
	if (a->pcmk_status != PACEMAKER_OK) {
		snprintf(buf, len, "no information (%s)",
			 a->pcmk_seen ? a->pcmk_reason : "no view yet");
		return;
	}
	uint8_t f = a->m[i].pcmk;
	const char *state;
	if (!(f & PCMK_PRESENT))
		state = "not in its view";
	else if (f & PCMK_UNCLEAN)
		state = "unclean";
	else if (!(f & PCMK_ONLINE))
		state = "offline";
	else if (f & PCMK_RECONNECTING)
		state = "online but reconnecting (not trusted)";
	else
		state = "online (lags the mesh; no veto)";
	snprintf(buf, len, "%s%s", state, (f & PCMK_FENCED) ? ", fence history: fenced" : "");
}

static void list_names(const struct agreement *a, const uint32_t *idx, uint32_t n,
		       const struct incident *in, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (uint32_t k = 0; k < n && used + 1 < len; k++) {
		int w = snprintf(buf + used, len - used, "%s%s%s", k ? " " : "",
				 MNAME(a, idx[k]), in != NULL && obs_has(in, idx[k]) ? "+" : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* ------------------------------------------------------------ routing */

static bool keep_static(const struct agreement *a, const struct incident *in, uint32_t i)
{
	return i != in->subject && i != a->self && is_live(a, i);
}

static bool keep_candidate(const struct agreement *a, const struct incident *in, uint32_t i)
{
	return i != a->self && candidate(a, in, i);
}

/* The best r (<= AGR_MAX_BACKUPS + 1) members by score among those keep()
 * accepts, best first; returns how many. O(n * r). */
static uint32_t top_by_score(const struct agreement *a, const struct incident *in, uint32_t r,
			     bool (*keep)(const struct agreement *, const struct incident *, uint32_t),
			     uint32_t *out)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < a->n; i++) {
		if (!keep(a, in, i))
			continue;
		if (k == r && !better(a, i, out[k - 1], in->subject))
			continue;
		uint32_t j = k < r ? k++ : k - 1;
		while (j > 0 && better(a, i, out[j - 1], in->subject)) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = i;
	}
	return k;
}

static void route_add(struct agreement *a, struct agr_action *act, uint32_t i)
{
	if (i == NONE || i == a->self || a->m[i].route_mark == a->route_gen ||
	    act->n_dest >= AGR_MAX_DEST)
		return;
	a->m[i].route_mark = a->route_gen;
	act->dest[act->n_dest++] = MNAME(a, i);
}

/* Destinations of an observation or progress about in (agreement.h,
 * Routing): the claimer, the static top R, the candidate top R. */
static void route(struct agreement *a, const struct incident *in, struct agr_action *act)
{
	uint32_t top[AGR_MAX_BACKUPS + 1];
	uint32_t r = a->cfg.max_backups + 1;
	if (++a->route_gen == 0) {
		for (uint32_t i = 0; i < a->n; i++)
			a->m[i].route_mark = 0;
		a->route_gen = 1;
	}
	act->n_dest = 0;
	if (in->claimer != NONE && !is_gone(a, in->claimer) && in->claimer != in->subject)
		route_add(a, act, in->claimer);
	uint32_t k = top_by_score(a, in, r, keep_static, top);
	for (uint32_t i = 0; i < k; i++)
		route_add(a, act, top[i]);
	k = top_by_score(a, in, r, keep_candidate, top);
	for (uint32_t i = 0; i < k; i++)
		route_add(a, act, top[i]);
}

static struct agr_action *send_progress(struct agreement *a, struct incident *in,
					enum agr_stage stage)
{
	struct agr_action *act = emit(a, AGR_ACT_SEND_COMPLETION, in->subject);
	act->peer = MNAME(a, a->self);
	act->incarnation = in->inc;
	act->report_seq = in->seq;
	act->incident = in->kind;
	act->stage = stage;
	act->host_status = in->host_status;
	act->http_status = stage == AGR_STAGE_NOTIFIED ? in->http : 0;
	route(a, in, act);
	return act;
}

/* Tells a competing claimer `to` our own progress about in, directly. */
static void answer_claim(struct agreement *a, struct incident *in, uint32_t to)
{
	struct agr_action *act = emit(a, AGR_ACT_SEND_COMPLETION, in->subject);
	act->peer = MNAME(a, a->self);
	act->incarnation = in->inc;
	act->report_seq = in->seq;
	act->incident = in->kind;
	act->stage = in->progress_stage;
	act->host_status = in->host_status;
	act->n_dest = 1;
	act->dest[0] = MNAME(a, to);
}

/* Tells `to` the NOTIFIED record we hold for subject, in answer to its late
 * observation, claim or report (one answer per message: bounded by what
 * arrives), so it stops. */
static void echo_done(struct agreement *a, enum agr_incident_kind kind, uint32_t subject,
		      uint32_t to)
{
	const struct done_record *d = done_of(a, kind, subject);
	/* A process report's sender is told too: it re-sends until then. */
	if (!d->known || to == a->self || (to == subject && kind != AGR_INCIDENT_PROCESS))
		return;
	struct agr_action *act = emit(a, AGR_ACT_SEND_COMPLETION, subject);
	act->peer = MNAME(a, d->by);
	act->incarnation = d->inc;
	act->report_seq = d->seq;
	act->incident = kind;
	act->stage = AGR_STAGE_NOTIFIED;
	act->host_status = d->host_status;
	act->http_status = d->http;
	act->n_dest = 1;
	act->dest[0] = MNAME(a, to);
}

/* ------------------------------------------------------------ probing */

/* We probe the subject while our view holds it SUSPECT or DEAD at the
 * incident's incarnation and the incident is open. */
static bool probing_wanted(const struct agreement *a, const struct incident *in)
{
	const struct member *h = &a->m[in->subject];
	return in->kind == AGR_INCIDENT_HOST && in->stage != AGR_IS_COMPLETED &&
	       in->stage != AGR_IS_NONE && h->inc == in->inc &&
	       (h->state == AGR_MEMBER_SUSPECT || h->state == AGR_MEMBER_DEAD);
}

static void send_probe(struct agreement *a, struct incident *in)
{
	in->probe_nonce = ++a->nonce;
	if (in->nonce_lo == 0)
		in->nonce_lo = in->probe_nonce;
	if (in->run_start == NEVER)
		in->run_start = a->now;
	/* Fast until observed; then a keep-alive that can still withdraw it. */
	in->probe_at = a->now +
		       (in->observed ? a->cfg.resend_interval_ns : a->cfg.probe_interval_ns);
	struct agr_action *act = emit(a, AGR_ACT_SEND_PROBE, in->subject);
	act->nonce = in->probe_nonce;
	act->incarnation = in->inc;
}

static void probe_stop(struct incident *in)
{
	in->probing = false;
	in->probe_at = NEVER;
	in->run_start = NEVER;
}

/* Starts (or stops) probing as the view asks. */
static void probe_update(struct agreement *a, struct incident *in)
{
	bool want = probing_wanted(a, in);
	if (want && !in->probing) {
		/* The window counts from the suspicion; the first probe waits one
		 * interval: most false suspicions are refuted by then, and every
		 * member probing each of them would make the steady message
		 * rate grow with N (suspicions ~N, probers ~N). */
		in->probing = true;
		in->run_start = a->now;
		in->probe_at = a->now + a->cfg.probe_interval_ns;
	} else if (!want && in->probing) {
		probe_stop(in);
	}
}

static void send_observation(struct agreement *a, struct incident *in)
{
	struct agr_action *act = emit(a, AGR_ACT_SEND_OBSERVATION, in->subject);
	act->incarnation = in->inc;
	route(a, in, act);
}

/* ------------------------------------------------------------ incidents */

static uint32_t slot_of(const struct agreement *a, const struct incident *in)
{
	return (uint32_t)(in - a->inc);
}

static void release(struct agreement *a, struct incident *in)
{
	assert(in->stage != AGR_IS_NONE);
	struct member *h = &a->m[in->subject];
	uint32_t *link = in->kind == AGR_INCIDENT_HOST ? &h->host_incident : &h->proc_incident;
	assert(*link == slot_of(a, in));
	*link = NONE;
	uint64_t *cur = in->obs_cur, *prev = in->obs_prev, *ever = in->obs_ever;
	uint64_t *claimed = in->claimed;
	if (in->obs_dirty)
		memset(cur, 0, BITSETS * a->words * sizeof(uint64_t));
	assert(prev == cur + a->words && ever == prev + a->words && claimed == ever + a->words);
	memset(in, 0, sizeof(*in));
	in->obs_cur = cur;
	in->obs_prev = prev;
	in->obs_ever = ever;
	in->claimed = claimed;
	in->stage = AGR_IS_NONE;
	a->want_scan = true;
}

/* A slot for a new incident: a free one, else the oldest completed one,
 * else the stalest observing one whose subject is not dead here. */
static struct incident *grab_slot(struct agreement *a)
{
	struct incident *done = NULL, *stale = NULL;
	for (uint32_t i = 0; i < AGR_MAX_INCIDENTS; i++) {
		struct incident *in = &a->inc[i];
		if (in->stage == AGR_IS_NONE)
			return in;
		if (in->stage == AGR_IS_COMPLETED &&
		    (done == NULL || in->completed_at < done->completed_at))
			done = in;
		if (in->stage == AGR_IS_OBSERVING && in->kind == AGR_INCIDENT_HOST &&
		    a->m[in->subject].state != AGR_MEMBER_DEAD &&
		    (stale == NULL || in->evidence_at < stale->evidence_at))
			stale = in;
	}
	struct incident *victim = done != NULL ? done : stale;
	if (victim == NULL)
		return NULL;
	release(a, victim);
	return victim;
}

static struct incident *incident_open(struct agreement *a, enum agr_incident_kind kind,
				      uint32_t subject, uint64_t inc)
{
	struct member *h = &a->m[subject];
	assert((kind == AGR_INCIDENT_HOST ? h->host_incident : h->proc_incident) == NONE);
	struct incident *in = grab_slot(a);
	if (in == NULL) {
		a->ctr.table_full++;
		a->want_scan = true;
		return NULL;
	}
	assert(in->stage == AGR_IS_NONE);
	in->stage = AGR_IS_OBSERVING;
	in->kind = kind;
	in->subject = subject;
	in->inc = inc;
	in->created_at = in->evidence_at = a->now;
	in->deadline = NEVER;
	in->run_start = in->probe_at = NEVER;
	in->resend_at = a->now + a->cfg.resend_interval_ns;
	in->window_at = a->now + a->cfg.observation_ttl_ns / 2;
	in->claimer = NONE;
	in->vouch_by = in->vouch_from = NONE;
	in->best = NONE;
	in->completed_by = NONE;
	in->host_status = AGR_HOST_NORMAL;
	in->progress_stage = AGR_STAGE_CLAIMED;
	if (kind == AGR_INCIDENT_HOST)
		h->host_incident = slot_of(a, in);
	else
		h->proc_incident = slot_of(a, in);
	return in;
}

static struct incident *incident_of(struct agreement *a, enum agr_incident_kind kind,
				    uint32_t subject)
{
	uint32_t s = kind == AGR_INCIDENT_HOST ? a->m[subject].host_incident :
						 a->m[subject].proc_incident;
	if (s == NONE)
		return NULL;
	assert(s < AGR_MAX_INCIDENTS && a->inc[s].stage != AGR_IS_NONE);
	assert(a->inc[s].subject == subject && a->inc[s].kind == kind);
	return &a->inc[s];
}

static void reset_observations(struct agreement *a, struct incident *in, uint64_t inc)
{
	assert(in->stage == AGR_IS_OBSERVING);
	if (in->obs_dirty)
		memset(in->obs_cur, 0, BITSETS * a->words * sizeof(uint64_t));
	in->obs_dirty = false;
	in->inc = inc;
	/* A new incarnation: our probes and observation were about the old one. */
	probe_stop(in);
	in->observed = false;
	in->seen_dead = false;
	in->nonce_lo = in->probe_nonce = 0;
	in->progress_seen = false;
	in->peer_fenced = false;
	in->claimer = NONE;
	in->n_excluded = 0;
	in->vouch_by = in->vouch_from = NONE;
}

/* (inc, seq) keys: an incident's incarnation, then (PROCESS) its
 * report's sequence number. */
static bool key_below(uint64_t inc, uint64_t seq, uint64_t inc2, uint64_t seq2)
{
	return inc != inc2 ? inc < inc2 : seq < seq2;
}

static void mark_done(struct agreement *a, enum agr_incident_kind kind, uint32_t subject,
		      uint64_t inc, uint64_t seq, uint32_t by, int32_t http,
		      enum agr_host_status status)
{
	struct done_record *d = done_of(a, kind, subject);
	if (d->known && key_below(inc, seq, d->inc, d->seq))
		return;
	d->known = true;
	d->inc = inc;
	d->seq = seq;
	d->by = by;
	d->http = (int16_t)http;
	d->host_status = (uint8_t)status;
}

static bool done_covers(const struct agreement *a, enum agr_incident_kind kind, uint32_t subject,
			uint64_t inc, uint64_t seq)
{
	const struct done_record *d = done_of(a, kind, subject);
	return d->known && !key_below(d->inc, d->seq, inc, seq);
}

/* A completed incident gives way to a newer incarnation (or process
 * report) of its subject at once: waiting for its linger delayed a second
 * failure within 120 s (issue 10, item 10). Its NOTIFIED record stays. */
static struct incident *superseded(struct agreement *a, struct incident *in, uint64_t inc,
				   uint64_t seq)
{
	if (in == NULL || in->stage != AGR_IS_COMPLETED || !key_below(in->inc, in->seq, inc, seq))
		return in;
	release(a, in);
	return NULL;
}

/* A host incident nobody can act on here (declared, no candidate left:
 * every rank handed over) gives way to a newer incarnation of its host,
 * as a completed one does: it held the host's next failure for
 * idle_expiry, unobserved (netns nemesis 30:3 then 30:5). The host lived
 * at that newer incarnation, so the old failure's notification is owed
 * to nobody a new one does not cover (a COMPUTE_HOST is per host). An
 * incident someone may still act on (a recent claimer, a backup waiting
 * its turn) is kept. */
static struct incident *give_way(struct agreement *a, struct incident *in, uint64_t inc)
{
	in = superseded(a, in, inc, 0);
	if (in == NULL || in->kind != AGR_INCIDENT_HOST || in->stage != AGR_IS_DECLARED ||
	    in->inc >= inc)
		return in;
	uint32_t best = NONE;
	(void)rank_of_self(a, in, &best);
	if (best != NONE)
		return in;
	rec(a, AGR_LOG_WARN, in->subject, "gave_way",
	    "%s incident of %s (incarnation %llu), left with nobody to notify it, gives way to "
	    "its failure at incarnation %llu",
	    kind_name(in->kind), MNAME(a, in->subject), (unsigned long long)in->inc,
	    (unsigned long long)inc);
	release(a, in);
	return NULL;
}

static void complete(struct agreement *a, struct incident *in, uint32_t by, int32_t http,
		     enum agr_host_status status)
{
	assert(in->stage != AGR_IS_NONE && in->stage != AGR_IS_COMPLETED);
	in->stage = AGR_IS_COMPLETED;
	in->completed_at = a->now;
	in->completed_by = by;
	in->http = http;
	in->host_status = status;
	in->deadline = a->now + a->cfg.completion_linger_ns;
	probe_stop(in);
	mark_done(a, in->kind, in->subject, in->inc, in->seq, by, http, status);
	if (by == a->self) {
		struct agr_action *act = send_progress(a, in, AGR_STAGE_NOTIFIED);
		/* The reporter of a process failure re-sends its report until
		 * it hears this: told directly. */
		if (in->kind == AGR_INCIDENT_PROCESS && act->n_dest < AGR_MAX_DEST)
			act->dest[act->n_dest++] = MNAME(a, in->subject);
		in->notified_resends = NOTIFIED_RESENDS;
	}
}

/* Finishes an incident that a NOTIFIED record already covers. */
static void complete_from_record(struct agreement *a, struct incident *in)
{
	const struct done_record *d = done_of(a, in->kind, in->subject);
	assert(d->known);
	if (in->notify_emitted && d->by != a->self && !in->dup_logged) {
		in->dup_logged = true;
		a->ctr.duplicate_notifications++;
		rec(a, AGR_LOG_WARN, in->subject, "duplicate",
		    "%s incident of %s: %s notified it too (HTTP %d); our notification is a "
		    "duplicate (Masakari answers 409)",
		    kind_name(in->kind), MNAME(a, in->subject), MNAME(a, d->by), d->http);
	}
	if (in->stage != AGR_IS_COMPLETED) {
		rec(a, AGR_LOG_INFO, in->subject, "completed",
		    "%s incident of %s (incarnation %llu) notified by %s, Masakari answered %d",
		    kind_name(in->kind), MNAME(a, in->subject), (unsigned long long)in->inc,
		    MNAME(a, d->by), d->http);
		complete(a, in, d->by, d->http, d->host_status);
	}
}

static void abandon(struct agreement *a, struct incident *in, const char *why)
{
	a->ctr.abandoned++;
	if (in->acted)
		send_progress(a, in, AGR_STAGE_ABANDONED);
	rec(a, in->fence_attempts > 0 ? AGR_LOG_ERROR : AGR_LOG_WARN, in->subject, "abandoned",
	    "%s incident of %s (incarnation %llu) abandoned: %s; not notifying: check %s",
	    kind_name(in->kind), MNAME(a, in->subject), (unsigned long long)in->inc, why,
	    MNAME(a, in->subject));
	release(a, in);
}

/* An incident opened on a suspicion that cleared, with no evidence at
 * all: released without a record (suspicions are routine). */
static bool drop_if_idle(struct agreement *a, struct incident *in)
{
	if (in->stage != AGR_IS_OBSERVING || in->kind != AGR_INCIDENT_HOST || in->seen_dead ||
	    in->progress_seen || obs_total(a, in) != 0)
		return false;
	release(a, in);
	return true;
}

static void cancel(struct agreement *a, struct incident *in, const char *why)
{
	a->ctr.cancelled++;
	rec(a, AGR_LOG_INFO, in->subject, "cancelled",
	    "%s incident of %s (incarnation %llu) cancelled: %s", kind_name(in->kind),
	    MNAME(a, in->subject), (unsigned long long)in->inc, why);
	release(a, in);
}

/* The subject may have been fenced: by us, by a peer that said so, or by a
 * peer that claimed the incident and went silent. */
static bool maybe_fenced(const struct incident *in)
{
	return in->fence_in_flight || in->fence_confirmed || in->peer_fenced || in->progress_seen;
}

/* A fence of the subject is known to have started: ours (in flight or
 * confirmed) or a peer's (its FENCED, or NOTIFYING NORMAL). A claim alone
 * is not one. */
static bool fence_known(const struct incident *in)
{
	return in->fence_in_flight || in->fence_confirmed || in->peer_fenced;
}

/* The subject came back after the verdict and is alive (or suspect) here
 * at its newer incarnation now: not dead again. */
static bool back_alive(const struct agreement *a, const struct incident *in)
{
	const struct member *h = &a->m[in->subject];
	return in->kind == AGR_INCIDENT_HOST && in->returned && h->inc > in->inc &&
	       (h->state == AGR_MEMBER_ALIVE || h->state == AGR_MEMBER_SUSPECT);
}

/* Before we fence a host that came back: if it is alive here at its newer
 * incarnation and no fence of it is known, a claimer's silence proves
 * nothing (its ABANDONED may have been lost, issue 10 item 3) and a
 * fence would reboot a live hypervisor: abandoned, loudly. Had the silent
 * claimer's fence hit after the return, the host would be dead here again
 * (a takeover comes a whole takeover step after its last word). Returns
 * true when the incident was released. */
static bool refuse_fencing_live_host(struct agreement *a, struct incident *in)
{
	if (!back_alive(a, in) || fence_known(in))
		return false;
	rec(a, AGR_LOG_ERROR, in->subject, "not_fencing_live_host",
	    "%s is alive here at incarnation %llu after the verdict on incarnation %llu and no "
	    "fence of it is known (%s claimed it and went silent): not fencing a live host; "
	    "check %s and whether it was fenced",
	    MNAME(a, in->subject), (unsigned long long)a->m[in->subject].inc,
	    (unsigned long long)in->inc, in->claimer != NONE ? MNAME(a, in->claimer) : "a peer",
	    MNAME(a, in->subject));
	abandon(a, in, "the host is alive again and no fence of it is known");
	return true;
}

static uint64_t fence_backoff(const struct agreement *a, uint32_t attempts)
{
	uint64_t d = a->cfg.fence_retry_min_ns;
	for (uint32_t i = 1; i < attempts && d < a->cfg.fence_retry_max_ns; i++)
		d *= 2;
	return d < a->cfg.fence_retry_max_ns ? d : a->cfg.fence_retry_max_ns;
}

/* ------------------------------------------------------------ acting */

static void hold(struct agreement *a, struct incident *in, const char *what)
{
	if (in->hold_logged)
		return;
	in->hold_logged = true;
	if (a->held)
		rec(a, AGR_LOG_WARN, in->subject, "holding",
		    "%s incident of %s: %s held: the members files differ in the segment",
		    kind_name(in->kind), MNAME(a, in->subject), what);
	else
		rec(a, AGR_LOG_WARN, in->subject, "holding",
		    "%s incident of %s: %s held: this node sees %u of %u members live, no "
		    "majority",
		    kind_name(in->kind), MNAME(a, in->subject), what, live_count(a), a->n);
}

static void notify(struct agreement *a, struct incident *in, enum agr_host_status status)
{
	/* Irreversible (Masakari evacuates the host's guests): only after our
	 * claim settled, and a NORMAL host only once it is known fenced, by
	 * our fence or by a peer's (its FENCED, or NOTIFYING NORMAL, about
	 * this incarnation); UNKNOWN only as the fencing policy allows. */
	assert(in->acted && (in->stage == AGR_IS_SETTLING || in->stage == AGR_IS_FENCING ||
			     in->stage == AGR_IS_HOLDING));
	assert(in->kind == AGR_INCIDENT_HOST || status == AGR_HOST_NORMAL);
	assert(in->kind != AGR_INCIDENT_HOST || status != AGR_HOST_NORMAL ||
	       in->fence_confirmed || in->peer_fenced);
	assert(in->kind != AGR_INCIDENT_HOST || status != AGR_HOST_UNKNOWN ||
	       a->cfg.fence_policy == AGR_FENCE_NONE ||
	       (a->cfg.unfenced_notify_after != 0 &&
		in->fence_attempts >= a->cfg.unfenced_notify_after));
	in->host_status = status;
	if (!have_majority(a)) {
		in->stage = AGR_IS_HOLDING;
		in->hold_after_settle = false;
		in->deadline = NEVER;
		hold(a, in, "notification");
		return;
	}
	assert(have_majority(a));
	in->hold_logged = false;
	in->stage = AGR_IS_NOTIFYING;
	in->notify_emitted = true;
	in->notify_at = a->now;
	in->deadline = NEVER;
	a->ctr.notifications++;
	/* Committed: a later claimer that hears this yields to us. */
	in->progress_stage = AGR_STAGE_NOTIFYING;
	send_progress(a, in, AGR_STAGE_NOTIFYING);
	struct agr_action *act;
	if (in->kind == AGR_INCIDENT_HOST) {
		act = emit(a, AGR_ACT_NOTIFY_HOST, in->subject);
		act->host_status = status;
		rec(a, status == AGR_HOST_NORMAL ? AGR_LOG_INFO : AGR_LOG_WARN, in->subject,
		    "notify", "notifying Masakari: COMPUTE_HOST %s STOPPED, host_status %s%s",
		    MNAME(a, in->subject), status == AGR_HOST_NORMAL ? "NORMAL" : "UNKNOWN",
		    status == AGR_HOST_NORMAL ? " (fence confirmed)" :
		    a->cfg.fence_policy == AGR_FENCE_NONE ? " (fencing method none)" :
							    " (NOT fenced: unfenced_notify_after)");
	} else {
		act = emit(a, AGR_ACT_NOTIFY_PROCESS, in->subject);
		snprintf(act->process, sizeof(act->process), "%s", in->process);
		act->failed_at_unix_ns = in->failed_at_unix_ns;
		rec(a, AGR_LOG_INFO, in->subject, "notify",
		    "notifying Masakari: PROCESS %s STOPPED on %s", in->process,
		    MNAME(a, in->subject));
	}
	act->incarnation = in->inc;
	act->incident = in->kind;
	act->decided_at = in->decided_at;
}

static void fence(struct agreement *a, struct incident *in)
{
	/* Irreversible (the host goes down): only after our claim settled or
	 * a failed fence's back-off, with a majority live here, under the
	 * fencing policy, and for a host that came back only if someone may
	 * have fenced it already. */
	assert(in->kind == AGR_INCIDENT_HOST && a->cfg.fence_policy == AGR_FENCE_REQUIRED);
	assert(in->acted && (in->stage == AGR_IS_SETTLING || in->stage == AGR_IS_FENCE_BACKOFF));
	assert(have_majority(a));
	assert(!in->returned || maybe_fenced(in));
	in->stage = AGR_IS_FENCING;
	if (in->fence_in_flight) {
		/* An earlier attempt (before we yielded) is still running. */
		in->deadline = in->fence_sent_at + 2 * a->cfg.fence_timeout_ns;
		return;
	}
	in->fence_attempts++;
	in->fence_in_flight = true;
	in->fence_sent_at = a->now;
	in->deadline = a->now + 2 * a->cfg.fence_timeout_ns; /* watchdog */
	a->ctr.fences++;
	struct agr_action *act = emit(a, AGR_ACT_FENCE, in->subject);
	act->incarnation = in->inc;
	act->incident = in->kind;
	act->attempt = in->fence_attempts;
	act->decided_at = in->decided_at;
	rec(a, AGR_LOG_INFO, in->subject, "fence", "fencing %s (incarnation %llu), attempt %u",
	    MNAME(a, in->subject), (unsigned long long)in->inc, in->fence_attempts);
}

/* Claim settled: do the irreversible part. */
static void after_settle(struct agreement *a, struct incident *in)
{
	assert(in->stage == AGR_IS_SETTLING || in->stage == AGR_IS_HOLDING);
	if (!have_majority(a)) {
		in->stage = AGR_IS_HOLDING;
		in->hold_after_settle = true;
		in->deadline = NEVER;
		hold(a, in, in->kind == AGR_INCIDENT_HOST ? "fencing" : "notification");
		return;
	}
	in->hold_logged = false;
	in->stage = AGR_IS_SETTLING;
	if (in->kind == AGR_INCIDENT_PROCESS) {
		notify(a, in, AGR_HOST_NORMAL);
		return;
	}
	if (in->returned && !maybe_fenced(in)) {
		abandon(a, in, "the host came back before anyone fenced it");
		return;
	}
	if (refuse_fencing_live_host(a, in))
		return;
	if (a->cfg.fence_policy == AGR_FENCE_NONE)
		notify(a, in, AGR_HOST_UNKNOWN);
	else if (in->fence_confirmed || in->peer_fenced)
		notify(a, in, AGR_HOST_NORMAL);
	else
		fence(a, in);
}

static void start_claim(struct agreement *a, struct incident *in, uint32_t rank)
{
	assert(in->stage == AGR_IS_DECLARED);
	if (!have_majority(a)) {
		hold(a, in, "claim");
		in->deadline = NEVER;
		return;
	}
	in->hold_logged = false;
	in->stage = AGR_IS_SETTLING;
	in->acted = true;
	in->progress_stage = in->fence_confirmed ? AGR_STAGE_FENCED : AGR_STAGE_CLAIMED;
	send_progress(a, in, in->progress_stage);
	in->deadline = a->now + a->cfg.claim_settle_ns;
	/* Re-told half-way through the settle: a claim lost on its way to a
	 * competing claimer (deciders with different evidence may both rank
	 * themselves 0) gets a second chance to make it yield before either
	 * fences; the regular resend (resend_interval) comes after both. */
	in->resend_at = a->now + a->cfg.claim_settle_ns / 2;
	if (rank == 0)
		rec(a, AGR_LOG_INFO, in->subject, "notifier",
		    "%s incident of %s: this node is the notifier (rank 0)", kind_name(in->kind),
		    MNAME(a, in->subject));
	else
		rec(a, AGR_LOG_WARN, in->subject, "takeover",
		    "%s incident of %s: taking over as backup rank %u (no completion since %llu ms)",
		    kind_name(in->kind), MNAME(a, in->subject), rank,
		    (unsigned long long)((a->now - (in->progress_at > in->decided_at ?
							    in->progress_at :
							    in->decided_at)) /
					 NS_PER_MS));
	if (a->cfg.claim_settle_ns == 0)
		after_settle(a, in);
}

/* The claimer has worked on it for progress_bound without a NOTIFIED
 * (its fence keeps failing, or Masakari does not answer it): its progress
 * no longer holds the backups back (issue 10, item 9). */
static bool claimer_overdue(const struct agreement *a, const struct incident *in)
{
	return in->claimer != NONE && in->claimer != a->self && !is_excluded(in, in->claimer) &&
	       a->now >= in->claimer_since + a->bound;
}

/* DECLARED: act now, or set the takeover deadline. */
static void consider_acting(struct agreement *a, struct incident *in)
{
	assert(in->stage == AGR_IS_DECLARED);
	if (claimer_overdue(a, in)) {
		rec(a, AGR_LOG_WARN, in->subject, "notifier_overdue",
		    "%s incident of %s: %s has worked on it for %llu s without a NOTIFIED (still "
		    "%s): the next rank acts (Masakari answers a duplicate with 409)%s",
		    kind_name(in->kind), MNAME(a, in->subject), MNAME(a, in->claimer),
		    (unsigned long long)((a->now - in->claimer_since) / NS_PER_S),
		    in->claimer_committed ? "notifying or fenced" : "claiming or fencing",
		    in->peer_fenced ? "; its fence is known, not fencing again" : "");
		exclude(in, in->claimer);
		in->claimer = NONE;
	}
	uint32_t best = NONE;
	uint32_t rank = rank_of_self(a, in, &best);
	if (best != in->best) {
		/* A new notifier in our view: backups wait from now on. */
		in->best = best;
		in->best_since = a->now;
	}
	in->deadline = NEVER;
	if (best == NONE && in->n_excluded > 0 && !in->exhausted_logged) {
		/* Held, not completed: idle_expiry drops it and, the host still
		 * dead, it is observed and notified again; a newer incarnation's
		 * failure does not wait for that (give_way). */
		in->exhausted_logged = true;
		a->ctr.handovers_exhausted++;
		rec(a, AGR_LOG_ERROR, in->subject, "handovers_exhausted",
		    "%s incident of %s (incarnation %llu): every candidate handed over or overran "
		    "its bound; nobody here can notify it. Held until the host fails at a newer "
		    "incarnation, or for idle_expiry (%llu s), then observed and notified again; "
		    "check Masakari and mimamorictl outbox",
		    kind_name(in->kind), MNAME(a, in->subject), (unsigned long long)in->inc,
		    (unsigned long long)(a->cfg.idle_expiry_ns / NS_PER_S));
	}
	if (rank == NONE || rank > a->cfg.max_backups)
		return;
	uint64_t base = in->progress_at > in->decided_at ? in->progress_at : in->decided_at;
	if (in->best_since > base)
		base = in->best_since;
	uint64_t at = base + (uint64_t)rank * a->step;
	if (rank > 0 && a->now < at) {
		in->deadline = at;
		/* wake up when the claimer overruns its bound, too */
		if (in->claimer != NONE && in->claimer != a->self &&
		    !is_excluded(in, in->claimer) && in->claimer_since + a->bound < at)
			in->deadline = in->claimer_since + a->bound;
		return;
	}
	/* Our turn. A host that came back is taken over only if someone may
	 * have fenced it (then it is fenced again, or known fenced, before
	 * the notification). */
	if (in->kind == AGR_INCIDENT_HOST && in->returned && !maybe_fenced(in)) {
		abandon(a, in, "the host came back and nobody fenced it");
		return;
	}
	if (refuse_fencing_live_host(a, in))
		return;
	start_claim(a, in, rank);
}

/* ------------------------------------------------------------ decisions */

struct evidence {
	uint32_t total, needed, k, hits, q, live;
	uint32_t obs[AGR_MAX_OBSERVERS];
	bool dead, majority;
};

static void gather(const struct agreement *a, const struct incident *in, struct evidence *ev)
{
	const struct member *h = &a->m[in->subject];
	ev->dead = h->state == AGR_MEMBER_DEAD && h->inc == in->inc;
	ev->total = obs_total(a, in);
	ev->needed = majority_needed(a);
	ev->k = designated(a, in->subject, ev->obs);
	ev->q = quorum_for(a, ev->k);
	ev->hits = 0;
	for (uint32_t i = 0; i < ev->k; i++)
		ev->hits += obs_has(in, ev->obs[i]);
	ev->live = live_count(a);
	ev->majority = have_majority(a);
}

/* The verdict's rules (agreement.h), recomputed from the state rather
 * than taken from the caller's evidence. */
static void assert_verdict(const struct agreement *a, const struct incident *in)
{
	const struct member *h = &a->m[in->subject];

	assert(in->stage == AGR_IS_OBSERVING && in->subject != a->self);
	/* a majority of the configured members live here, self included */
	assert(2 * (uint64_t)live_count(a) > a->n);
	if (in->kind == AGR_INCIDENT_HOST) {
		uint32_t obs[AGR_MAX_OBSERVERS], hits = 0;
		uint32_t k = designated(a, in->subject, obs);
		for (uint32_t i = 0; i < k; i++)
			hits += obs_has(in, obs[i]);
		/* (a) dead here at the incident's incarnation */
		assert(h->state == AGR_MEMBER_DEAD && h->inc == in->inc);
		/* (b) a quorum (>= 1) of its designated observers observed it */
		assert(hits >= 1 && hits >= quorum_for(a, k));
		/* (c) fresh observations from more than half of the members */
		assert(2 * (uint64_t)obs_total(a, in) > a->n);
	} else {
		/* reachable after the grace, and no host incident open */
		const struct incident *hi = h->host_incident != NONE ? &a->inc[h->host_incident] :
								       NULL;
		assert(h->state == AGR_MEMBER_ALIVE);
		assert(a->now >= in->created_at + a->cfg.process_grace_ns);
		assert(hi == NULL || hi->stage == AGR_IS_COMPLETED);
	}
}

static void declare(struct agreement *a, struct incident *in, const struct evidence *ev)
{
	assert_verdict(a, in);
	in->stage = AGR_IS_DECLARED;
	in->decided_at = a->now;
	a->ctr.declared++;
	uint32_t best = NONE;
	uint32_t rank = rank_of_self(a, in, &best);
	char pcmk[PCMK_VIEW_REASON_LEN + 32], rk[24], obs[200];
	describe_pacemaker(a, in->subject, pcmk, sizeof(pcmk));
	if (rank == NONE)
		snprintf(rk, sizeof(rk), "not a candidate");
	else
		snprintf(rk, sizeof(rk), "rank %u", rank);
	if (in->kind == AGR_INCIDENT_HOST) {
		list_names(a, ev->obs, ev->k, in, obs, sizeof(obs));
		rec(a, AGR_LOG_WARN, in->subject, "declared",
		    "%s declared failed (incarnation %llu): dead in membership; unreachable for "
		    "%u/%u members (need %u); observers %u/%u (need %u): %s; %u/%u live here; "
		    "pacemaker: %s; notifier: %s (this node: %s)",
		    MNAME(a, in->subject), (unsigned long long)in->inc, ev->total, a->n,
		    ev->needed, ev->hits, ev->k, ev->q, obs, ev->live, a->n, pcmk,
		    best != NONE ? MNAME(a, best) : "?", rk);
		/* A host failure supersedes a pending process report. */
		struct incident *p = incident_of(a, AGR_INCIDENT_PROCESS, in->subject);
		if (p != NULL && !p->notify_emitted && p->stage != AGR_IS_COMPLETED)
			cancel(a, p, "the host itself failed");
	} else {
		rec(a, AGR_LOG_WARN, in->subject, "declared",
		    "process failure on %s: it reported %s dead and is reachable (alive at "
		    "incarnation %llu); %u/%u live here; pacemaker: %s; notifier: %s "
		    "(this node: %s)",
		    MNAME(a, in->subject), in->process,
		    (unsigned long long)a->m[in->subject].inc, live_count(a), a->n, pcmk,
		    best != NONE ? MNAME(a, best) : "?", rk);
	}
	consider_acting(a, in);
}

static void try_decide_host(struct agreement *a, struct incident *in)
{
	assert(in->kind == AGR_INCIDENT_HOST && in->stage == AGR_IS_OBSERVING);
	if (done_covers(a, AGR_INCIDENT_HOST, in->subject, in->inc, 0)) {
		complete_from_record(a, in);
		return;
	}
	struct evidence ev;
	gather(a, in, &ev);
	if (!ev.dead || ev.total < ev.needed || ev.hits < ev.q || !ev.majority)
		return;
	declare(a, in, &ev);
}

static void try_decide_process(struct agreement *a, struct incident *in)
{
	assert(in->kind == AGR_INCIDENT_PROCESS && in->stage == AGR_IS_OBSERVING);
	const struct member *h = &a->m[in->subject];
	if (done_covers(a, AGR_INCIDENT_PROCESS, in->subject, in->inc, in->seq)) {
		complete_from_record(a, in);
		return;
	}
	if (a->now < in->deadline)
		return; /* grace */
	const struct incident *hi = incident_of(a, AGR_INCIDENT_HOST, in->subject);
	bool host_open = hi != NULL && hi->stage != AGR_IS_COMPLETED;
	if (h->state != AGR_MEMBER_ALIVE || host_open || !have_majority(a)) {
		/* Suspect, or a host incident is gathering evidence, or no
		 * majority: look again later. */
		in->deadline = a->now + a->cfg.resend_interval_ns;
		return;
	}
	struct evidence ev;
	memset(&ev, 0, sizeof(ev));
	declare(a, in, &ev);
}

/* Re-examines one incident from its state. */
static void evaluate(struct agreement *a, struct incident *in)
{
	probe_update(a, in);
	switch (in->stage) {
	case AGR_IS_OBSERVING:
		if (in->kind == AGR_INCIDENT_HOST)
			try_decide_host(a, in);
		else
			try_decide_process(a, in);
		break;
	case AGR_IS_DECLARED:
		consider_acting(a, in);
		break;
	case AGR_IS_SETTLING:
		if (a->now >= in->deadline)
			after_settle(a, in);
		break;
	case AGR_IS_HOLDING:
		if (!have_majority(a))
			break;
		if (in->hold_after_settle)
			after_settle(a, in);
		else
			notify(a, in, in->host_status);
		break;
	case AGR_IS_NONE:
	case AGR_IS_FENCING:
	case AGR_IS_FENCE_BACKOFF:
	case AGR_IS_NOTIFYING:
	case AGR_IS_COMPLETED:
		break;
	}
}

static void evaluate_all(struct agreement *a)
{
	for (uint32_t i = 0; i < AGR_MAX_INCIDENTS; i++)
		if (a->inc[i].stage != AGR_IS_NONE)
			evaluate(a, &a->inc[i]);
}

/* Cut off: no message from any peer for two unreachable windows. */
static uint64_t silence_ns(const struct agreement *a)
{
	return 2 * a->cfg.unreachable_window_ns;
}

static bool silent(const struct agreement *a)
{
	return a->heard_at != 0 && a->now >= a->heard_at + silence_ns(a);
}

/* Deaf: no message from any peer for half a window. A connected node
 * hears ~15 SWIM messages a second; one that hears none cannot tell
 * whether the subject or itself is cut off: its unanswered probes are no
 * evidence about the subject. A member that receives nothing (an inbound
 * cut) inside a bare majority "observed" every member of the cut-off
 * minority after its window, before its view or silent() noticed, and its
 * observation was the n/2 + 1-th (nemesis seed 136 at N = 41). */
static uint64_t deaf_ns(const struct agreement *a)
{
	return a->cfg.unreachable_window_ns / 2;
}

static bool deaf(const struct agreement *a)
{
	return a->heard_at != 0 && a->now >= a->heard_at + deaf_ns(a);
}

/* We may observe (and re-tell an observation): a majority live here and
 * a peer heard recently. Observations made without either would be stale
 * once we are connected again (restart_observations), or are evidence
 * against this node rather than the subject (deaf). */
static bool may_observe(const struct agreement *a)
{
	return a->majority && !silent(a) && !deaf(a);
}

/* Connected again: a live majority here again, or a message after a
 * silence. After an outage where no side had a majority (a switch reload)
 * our observations, and those we received, saw the outage, not a
 * failure: counted as fresh, a decider whose live count just crossed n/2
 * declares members whose refutations have not arrived yet (their links
 * came back a few hundred ms later; issue 10, item 1). A node's view may
 * even keep a stale majority through a short outage (SWIM probes one
 * member per period, slower as Lifeguard's LHM grows): silence is the
 * other sign. So every HOST incident still gathering evidence starts
 * over: its fresh observations are dropped and our probing run restarts
 * now; a verdict needs observations made after this instant (a whole
 * unreachable window of unanswered probes at each observer, which neither
 * makes nor re-tells observations while cut off: may_observe). A power
 * loss with a majority present never gets here: no delay. */
static void restart_observations(struct agreement *a, const char *why)
{
	uint32_t restarted = 0;
	for (uint32_t i = 0; i < AGR_MAX_INCIDENTS; i++) {
		struct incident *in = &a->inc[i];
		if (in->stage != AGR_IS_OBSERVING || in->kind != AGR_INCIDENT_HOST)
			continue;
		if (in->obs_dirty) /* obs_ever stays: who observed, for candidates */
			memset(in->obs_cur, 0, 2 * a->words * sizeof(uint64_t));
		in->observed = false;
		if (in->probing) {
			in->run_start = a->now;
			if (in->probe_at > a->now + a->cfg.probe_interval_ns)
				in->probe_at = a->now + a->cfg.probe_interval_ns;
		}
		restarted++;
	}
	rec(a, AGR_LOG_WARN, NONE, "observations_restarted",
	    "%s: observations made before now are stale (%u open incidents restarted); a "
	    "verdict needs a whole unreachable window of fresh ones (%u of %u members live "
	    "here)",
	    why, restarted, live_count(a), a->n);
}

static void majority_update(struct agreement *a)
{
	/* the live count only: a hold from outside is not a reconnection */
	bool majority = 2 * (uint64_t)live_count(a) > a->n;
	if (majority == a->majority)
		return;
	a->majority = majority;
	if (majority) {
		restart_observations(a, "a majority is live here again");
		return;
	}
	rec(a, AGR_LOG_WARN, NONE, "majority_lost",
	    "%u of %u members live here: no majority; no verdict, and this node's "
	    "observations stop until one is back",
	    live_count(a), a->n);
}

/* The subject showed life at an incarnation above the incident's. */
static void host_returned(struct agreement *a, struct incident *in)
{
	assert(in->kind == AGR_INCIDENT_HOST);
	const struct member *h = &a->m[in->subject];
	switch (in->stage) {
	case AGR_IS_OBSERVING:
		if (!drop_if_idle(a, in))
			cancel(a, in, "the host is back before any verdict");
		return;
	case AGR_IS_DECLARED:
		if (!maybe_fenced(in)) {
			cancel(a, in, "the host came back after the verdict, before anyone fenced it");
			return;
		}
		break;
	case AGR_IS_SETTLING:
	case AGR_IS_HOLDING:
	case AGR_IS_FENCE_BACKOFF:
		if (!maybe_fenced(in)) {
			abandon(a, in,
				in->stage == AGR_IS_FENCE_BACKOFF ?
					"the fence failed and the host is back" :
					"the host came back before we fenced it");
			return;
		}
		break;
	case AGR_IS_FENCING:
	case AGR_IS_NOTIFYING:
	case AGR_IS_COMPLETED:
	case AGR_IS_NONE:
		break;
	}
	bool fenced = in->fence_in_flight || in->fence_confirmed || in->peer_fenced;
	if (!in->returned && in->stage != AGR_IS_COMPLETED)
		rec(a, AGR_LOG_WARN, in->subject, "returned",
		    "%s is back (%s, incarnation %llu) after the verdict on incarnation %llu; %s",
		    name_of(a, h), h->state == AGR_MEMBER_LEFT ? "left" : "alive",
		    (unsigned long long)h->inc, (unsigned long long)in->inc,
		    fenced ? "a fence was started, so the notification goes on (its guests were "
			     "fenced)" :
			     "a peer claimed it and may have fenced it: the incident goes on (fence "
			     "first, then notify) unless that claimer abandons");
	in->returned = true;
}

/* ------------------------------------------------------------ inputs */

int agreement_on_member_state(struct agreement *a, const char *name,
			      enum agr_member_state state, uint64_t incarnation, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (state < AGR_MEMBER_ALIVE || state > AGR_MEMBER_LEFT ||
	    incarnation > AGR_INCARNATION_MAX)
		return -EINVAL;
	uint32_t idx = find_msg(a, name);
	if (idx == NONE) {
		a->ctr.unknown_dropped++;
		return -ENOENT;
	}
	if (idx == a->self)
		return 0;
	struct member *h = &a->m[idx];
	if (incarnation < h->inc && h->state != AGR_MEMBER_UNKNOWN) {
		a->ctr.stale_dropped++;
		return 0;
	}
	if (incarnation == h->inc && state == h->state)
		return 0;
	if (incarnation == h->inc &&
	    (h->state == AGR_MEMBER_DEAD || h->state == AGR_MEMBER_LEFT) &&
	    (state == AGR_MEMBER_ALIVE || state == AGR_MEMBER_SUSPECT)) {
		a->ctr.stale_dropped++;
		return 0;
	}
	bool was_live = is_live(a, idx);
	h->state = state;
	h->inc = incarnation;
	bool live = is_live(a, idx);
	if (was_live && !live)
		a->n_live--;
	else if (!was_live && live)
		a->n_live++;
	assert(a->n_live < a->n);
	majority_update(a);

	struct incident *hi = incident_of(a, AGR_INCIDENT_HOST, idx);
	struct incident *pi = incident_of(a, AGR_INCIDENT_PROCESS, idx);
	if (state == AGR_MEMBER_DEAD) {
		hi = give_way(a, hi, incarnation);
		if (hi != NULL && hi->inc < incarnation && hi->stage == AGR_IS_OBSERVING)
			reset_observations(a, hi, incarnation);
		if (hi == NULL && !done_covers(a, AGR_INCIDENT_HOST, idx, incarnation, 0))
			hi = incident_open(a, AGR_INCIDENT_HOST, idx, incarnation);
		if (hi != NULL && hi->inc == incarnation)
			hi->seen_dead = true;
		if (pi != NULL && !pi->notify_emitted && pi->stage != AGR_IS_COMPLETED)
			cancel(a, pi, "the host is dead in membership: host failure path");
	} else {
		if (hi != NULL && incarnation > hi->inc)
			host_returned(a, hi);
		hi = incident_of(a, AGR_INCIDENT_HOST, idx); /* may be gone */
		if (state == AGR_MEMBER_SUSPECT) {
			/* Probing starts at suspicion: the window counts from here. */
			hi = give_way(a, hi, incarnation);
			if (hi != NULL && hi->inc < incarnation && hi->stage == AGR_IS_OBSERVING)
				reset_observations(a, hi, incarnation);
			if (hi == NULL && !done_covers(a, AGR_INCIDENT_HOST, idx, incarnation, 0))
				hi = incident_open(a, AGR_INCIDENT_HOST, idx, incarnation);
		} else if (state == AGR_MEMBER_ALIVE && hi != NULL) {
			drop_if_idle(a, hi);
			hi = incident_of(a, AGR_INCIDENT_HOST, idx);
		}
		if (state == AGR_MEMBER_LEFT && pi != NULL && !pi->notify_emitted &&
		    pi->stage != AGR_IS_COMPLETED)
			cancel(a, pi, "the host left the mesh (planned shutdown)");
	}
	if (hi != NULL)
		probe_update(a, hi);
	evaluate_all(a);
	return 0;
}

void agreement_on_heard(struct agreement *a, uint64_t now)
{
	assert(a != NULL);
	if (now > a->now)
		a->now = now;
	if (a->heard_at != 0 && a->now >= a->heard_at + silence_ns(a)) {
		char why[96];
		snprintf(why, sizeof(why), "a peer heard again after %llu ms of silence",
			 (unsigned long long)((a->now - a->heard_at) / NS_PER_MS));
		restart_observations(a, why);
	}
	if (a->heard_at != 0 && a->now >= a->heard_at + deaf_ns(a))
		a->deaf_until = a->now;
	a->heard_at = a->now;
}

/* A member this node holds DEAD speaks again after a silence: a split
 * this node's live count never noticed has healed (or it came back).
 * Observations made on either side saw the split, not a failure: counted
 * together they can reach a majority no side had (nemesis seed 111 at
 * N = 19: 9|9|1, both halves observed the singleton). Start over, as on
 * a reconnection; once per silence, so a member held dead that keeps
 * answering does not hold every verdict off. */
void agreement_on_heard_from(struct agreement *a, const char *peer, uint64_t now)
{
	assert(a != NULL);
	agreement_on_heard(a, now);
	uint32_t idx = find_msg(a, peer);
	if (idx == NONE || idx == a->self)
		return;
	uint64_t last = a->peer_heard_at[idx];
	a->peer_heard_at[idx] = a->now;
	if (a->m[idx].state != AGR_MEMBER_DEAD ||
	    (last != 0 && a->now < last + a->cfg.unreachable_window_ns))
		return;
	char why[160];
	snprintf(why, sizeof(why), "%s, held dead here, heard again (a split healed?)",
		 name_of(a, &a->m[idx]));
	restart_observations(a, why);
}

int agreement_on_probe(struct agreement *a, const char *from, uint64_t nonce, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	uint32_t idx = find_msg(a, from);
	if (idx == NONE) {
		a->ctr.unknown_dropped++;
		return -ENOENT;
	}
	if (idx == a->self)
		return -EINVAL;
	struct agr_action *act = emit(a, AGR_ACT_SEND_PROBE_ACK, NONE);
	act->peer = MNAME(a, idx);
	act->nonce = nonce;
	return 0;
}

int agreement_on_probe_ack(struct agreement *a, const char *from, uint64_t nonce, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	uint32_t idx = find_msg(a, from);
	if (idx == NONE) {
		a->ctr.unknown_dropped++;
		return -ENOENT;
	}
	struct incident *in = incident_of(a, AGR_INCIDENT_HOST, idx);
	/* Any probe of this incarnation counts (a stalled host answers the
	 * queued ones when it runs again); older nonces are another run's. */
	if (in == NULL || nonce == 0 || in->nonce_lo == 0 || nonce < in->nonce_lo ||
	    nonce > in->probe_nonce)
		return -ENOENT; /* late or unknown: harmless */
	/* We reach it: the run ends, our own observation is withdrawn. */
	in->run_start = NEVER;
	if (in->observed && in->probing) /* back to the fast cadence */
		in->probe_at = a->now + a->cfg.probe_interval_ns;
	in->observed = false;
	uint32_t s = a->self;
	if (in->obs_dirty) {
		in->obs_cur[s / 64] &= ~(UINT64_C(1) << (s % 64));
		in->obs_prev[s / 64] &= ~(UINT64_C(1) << (s % 64));
	}
	if (!in->ack_logged && in->stage == AGR_IS_OBSERVING &&
	    a->m[idx].state == AGR_MEMBER_DEAD) {
		in->ack_logged = true;
		rec(a, AGR_LOG_WARN, idx, "reachable",
		    "membership holds %s dead (incarnation %llu) but it answers our probes: not "
		    "observing it",
		    MNAME(a, idx), (unsigned long long)in->inc);
	}
	evaluate(a, in);
	return 0;
}

/* How long a refusal by the subject's kernel keeps us from observing it:
 * longer than the peers cache's reconnect back-off (2 s at most), so a
 * daemon that stays down is refused again within it. */
static uint64_t refused_hold_ns(const struct agreement *a)
{
	return 2 * a->cfg.unreachable_window_ns;
}

/* A whole window passed since the first probe of the current run with
 * no ack: first-hand observation (also re-told every resend_interval). */
/* Our probing run of in is complete: a whole window without an ack, and
 * no refusal by its kernel within refused_hold_ns. */
static bool run_complete(const struct agreement *a, const struct incident *in)
{
	return in->probing && !in->observed && in->run_start != NEVER &&
	       a->now >= in->run_start + a->cfg.unreachable_window_ns &&
	       (in->refused_at == 0 || a->now >= in->refused_at + refused_hold_ns(a));
}

int agreement_on_peer_answered(struct agreement *a, const char *peer, enum agr_peer_answer how,
			       uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	uint32_t idx = find_msg(a, peer);
	if (idx == NONE) {
		a->ctr.unknown_dropped++;
		return -ENOENT;
	}
	if (idx == a->self)
		return -EINVAL;
	struct incident *in = incident_of(a, AGR_INCIDENT_HOST, idx);
	if (in == NULL)
		return -ENOENT; /* not suspected here: nothing to hold */
	in->refused_at = a->now;
	/* Like an ack: the run ends and our observation is withdrawn (the
	 * host answers, only its daemon does not). */
	in->run_start = NEVER;
	in->observed = false;
	uint32_t s = a->self;
	if (in->obs_dirty && in->stage == AGR_IS_OBSERVING) {
		/* Its host is up now: what we received before this saw a cut
		 * link, not a failure (made in an outage, delivered at the
		 * heal, such an observation would count for observation_ttl
		 * and join a later split's: nemesis seed 365 at N = 17). */
		memset(in->obs_cur, 0, 2 * a->words * sizeof(uint64_t));
	} else if (in->obs_dirty) {
		in->obs_cur[s / 64] &= ~(UINT64_C(1) << (s % 64));
		in->obs_prev[s / 64] &= ~(UINT64_C(1) << (s % 64));
	}
	if (!in->refused_logged) {
		in->refused_logged = true;
		rec(a, AGR_LOG_WARN, idx, "monitor_down",
		    "%s's kernel %s our connect to its daemon (incarnation %llu): the host is "
		    "up, its monitor is %s; not observing it unreachable",
		    MNAME(a, idx), how == AGR_PEER_ACCEPTED ? "accepts" : "refuses",
		    (unsigned long long)in->inc,
		    how == AGR_PEER_ACCEPTED ? "hung or starved" : "down");
	}
	evaluate(a, in);
	return 0;
}

int agreement_on_peer_refused(struct agreement *a, const char *peer, uint64_t now)
{
	return agreement_on_peer_answered(a, peer, AGR_PEER_REFUSED, now);
}

static void observe_self(struct agreement *a, struct incident *in)
{
	in->observed = true;
	obs_set(a, in, a->self);
	in->evidence_at = a->now;
	send_observation(a, in);
	/* A decider needs n/2 + 1 of them: one lost copy must not cost a
	 * whole resend_interval, so the first re-send comes one probe
	 * interval later. */
	if (in->resend_at > a->now + a->cfg.probe_interval_ns)
		in->resend_at = a->now + a->cfg.probe_interval_ns;
}

int agreement_on_observation(struct agreement *a, const struct agr_observation *o, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (o == NULL || o->incarnation > AGR_INCARNATION_MAX)
		return -EINVAL;
	uint32_t obs = find_msg(a, o->observer), subj = find_msg(a, o->subject);
	if (obs == NONE || subj == NONE) {
		a->ctr.unknown_dropped++;
		return -ENOENT;
	}
	if (obs == subj)
		return -EINVAL;
	if (subj == a->self)
		return 0; /* others think we are dead: membership refutes */
	const struct member *h = &a->m[subj];
	if (o->incarnation < h->inc ||
	    (o->incarnation == h->inc && h->state == AGR_MEMBER_LEFT)) {
		a->ctr.stale_dropped++;
		return 0;
	}
	if (done_covers(a, AGR_INCIDENT_HOST, subj, o->incarnation, 0)) {
		echo_done(a, AGR_INCIDENT_HOST, subj, obs);
		return 0;
	}
	struct incident *in = superseded(a, incident_of(a, AGR_INCIDENT_HOST, subj),
					 o->incarnation, 0);
	if (in != NULL && o->incarnation < in->inc) {
		a->ctr.stale_dropped++;
		return 0;
	}
	if (in != NULL && o->incarnation > in->inc) {
		if (in->stage != AGR_IS_OBSERVING)
			return 0; /* the older incident runs to its end first */
		reset_observations(a, in, o->incarnation);
	}
	if (in == NULL)
		in = incident_open(a, AGR_INCIDENT_HOST, subj, o->incarnation);
	if (in == NULL)
		return 0;
	obs_set(a, in, obs);
	in->evidence_at = a->now;
	evaluate(a, in);
	return 0;
}

static int check_completion(const struct agr_completion *c)
{
	if (c == NULL || c->incarnation > AGR_INCARNATION_MAX)
		return -EINVAL;
	if (c->kind != AGR_INCIDENT_HOST && c->kind != AGR_INCIDENT_PROCESS)
		return -EINVAL;
	if (c->stage < AGR_STAGE_CLAIMED || c->stage > AGR_STAGE_HANDED_OVER)
		return -EINVAL;
	if (c->stage == AGR_STAGE_NOTIFIED && c->kind == AGR_INCIDENT_HOST &&
	    c->host_status != AGR_HOST_NORMAL && c->host_status != AGR_HOST_UNKNOWN)
		return -EINVAL;
	return 0;
}

static bool claimed_by(const struct incident *in, uint32_t i)
{
	return (in->claimed[i / 64] >> (i % 64)) & 1u;
}

static void set_claimed(struct incident *in, uint32_t i)
{
	in->claimed[i / 64] |= UINT64_C(1) << (i % 64);
	in->obs_dirty = true;
}

/* A completion we do not take (agreement.h, Trust): counted, and recorded
 * once per incident: WARN when no honest member sends it (a member that
 * does is compromised or broken), DEBUG for a NOTIFIED still waiting for a
 * second member's word (a late node's first echo, routinely). */
static void untrusted(struct agreement *a, struct incident *in, uint32_t subj, uint32_t from,
		      enum agr_log_level level, const char *what)
{
	a->ctr.untrusted_dropped++;
	if (level <= AGR_LOG_WARN)
		a->ctr.untrusted_no_honest_sender++;
	if (in == NULL || in->untrusted_logged)
		return;
	in->untrusted_logged = level <= AGR_LOG_WARN;
	rec(a, level, subj, "untrusted_completion",
	    "%s incident of %s: %s from %s not taken (a member that never claimed it cannot "
	    "end it or vouch for a fence)",
	    kind_name(in->kind), MNAME(a, subj), what, MNAME(a, from));
}

/* A process report of ours is covered by a peer's NOTIFIED: stop
 * re-sending it. */
static void report_acknowledged(struct agreement *a, const struct agr_completion *c)
{
	for (size_t k = 0; k < sizeof(a->reports) / sizeof(a->reports[0]); k++) {
		struct local_report *r = &a->reports[k];
		if (!r->active || key_below(c->incarnation, c->report_seq, r->inc, r->seq))
			continue;
		r->active = false;
		rec(a, AGR_LOG_INFO, a->self, "process_report_acknowledged",
		    "our report of %s is notified (HTTP %d): not sent again", r->process,
		    c->http_status);
	}
}

/* A NOTIFIED about in's key. Taken from a member we heard claim it (its
 * own word), or when two members name the same notifier (a late node
 * hears the notifier's echo and a holder's re-tell); never when it names
 * this node (we know what we did) nor without an open incident at that
 * key (a record far ahead would silence every later failure). */
static void take_notified(struct agreement *a, struct incident *in,
			  const struct agr_completion *c, uint32_t from, uint32_t by)
{
	enum agr_incident_kind kind = in->kind;
	uint32_t subj = in->subject;
	if (in->stage == AGR_IS_COMPLETED) {
		if (in->notify_emitted && in->completed_by == a->self && by != a->self &&
		    !in->dup_logged) {
			in->dup_logged = true;
			a->ctr.duplicate_notifications++;
			rec(a, AGR_LOG_WARN, subj, "duplicate",
			    "%s incident of %s was notified by %s too (HTTP %d): duplicate",
			    kind_name(kind), MNAME(a, subj), MNAME(a, by), c->http_status);
		}
		return;
	}
	bool trusted = by != a->self && by == from && claimed_by(in, by);
	if (!trusted && by != a->self) {
		if (in->vouch_by == by && in->vouch_from != from) {
			trusted = true;
		} else if (in->vouch_by == NONE) {
			in->vouch_by = by;
			in->vouch_from = from;
		}
	}
	if (!trusted) {
		if (by == a->self)
			untrusted(a, in, subj, from, AGR_LOG_WARN, "a NOTIFIED naming this node");
		else
			untrusted(a, in, subj, from, AGR_LOG_DEBUG,
				  "a NOTIFIED by a member we did not hear claim it (until a "
				  "second member names it)");
		return;
	}
	enum agr_host_status hs = kind == AGR_INCIDENT_HOST ? (enum agr_host_status)c->host_status :
							    AGR_HOST_NORMAL;
	mark_done(a, kind, subj, in->inc, in->seq, by, c->http_status, hs);
	complete_from_record(a, in);
}

int agreement_on_completion(struct agreement *a, const struct agr_completion *c, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if ((rc = check_completion(c)) < 0)
		return rc;
	uint32_t from = find_msg(a, c->from), subj = find_msg(a, c->subject);
	uint32_t by = c->notifier[0] != '\0' ? find_msg(a, c->notifier) : from;
	if (from == NONE || subj == NONE || by == NONE) {
		a->ctr.unknown_dropped++;
		return -ENOENT;
	}
	enum agr_incident_kind kind = (enum agr_incident_kind)c->kind;
	enum agr_stage stage = (enum agr_stage)c->stage;
	if (from == a->self || by == subj)
		return 0;
	if (subj == a->self) {
		if (kind == AGR_INCIDENT_PROCESS && stage == AGR_STAGE_NOTIFIED)
			report_acknowledged(a, c);
		return 0;
	}
	uint64_t seq = kind == AGR_INCIDENT_PROCESS ? c->report_seq : 0;
	struct incident *in = incident_of(a, kind, subj);
	bool same = in != NULL && in->inc == c->incarnation && in->seq == seq;

	if (stage != AGR_STAGE_NOTIFIED && by != from) {
		untrusted(a, same ? in : NULL, subj, from, AGR_LOG_WARN,
			  "progress about another member's work");
		return 0;
	}

	if (stage == AGR_STAGE_NOTIFIED) {
		a->ctr.completions_heard++;
		if (!same) {
			a->ctr.stale_dropped++;
			return 0;
		}
		take_notified(a, in, c, from, by);
		return 0;
	}

	if (stage == AGR_STAGE_ABANDONED || stage == AGR_STAGE_HANDED_OVER) {
		if (!same || in->stage == AGR_IS_COMPLETED)
			return 0;
		if (!claimed_by(in, by)) {
			untrusted(a, in, subj, from, AGR_LOG_WARN,
				  stage == AGR_STAGE_ABANDONED ? "an ABANDONED" : "a HANDED_OVER");
			return 0;
		}
	}

	if (stage == AGR_STAGE_ABANDONED) {
		/* The claimer gave up before fencing (the host came back). */
		if (in->claimer == by)
			in->claimer = NONE;
		in->progress_seen = in->claimer != NONE && in->claimer != a->self;
		rec(a, AGR_LOG_INFO, subj, "claim_abandoned",
		    "%s incident of %s: %s abandoned its claim without fencing",
		    kind_name(kind), MNAME(a, subj), MNAME(a, by));
		if (in->returned && !maybe_fenced(in) && in->stage == AGR_IS_DECLARED) {
			cancel(a, in, "the host came back and its claimer did not fence it");
			return 0;
		}
		evaluate(a, in);
		return 0;
	}

	if (stage == AGR_STAGE_HANDED_OVER) {
		/* Its delivery failed for good: the next rank acts now, and
		 * does not fence again if it fenced (issue 10, item 9). */
		if (kind == AGR_INCIDENT_HOST && c->host_status == AGR_HOST_NORMAL)
			in->peer_fenced = true;
		exclude(in, by);
		if (in->claimer == by)
			in->claimer = NONE;
		rec(a, AGR_LOG_WARN, subj, "handed_over",
		    "%s incident of %s: %s's notification failed for good; it handed the incident "
		    "over (%s): the next rank acts now",
		    kind_name(kind), MNAME(a, subj), MNAME(a, by),
		    kind != AGR_INCIDENT_HOST ? "process" :
		    c->host_status == AGR_HOST_NORMAL ? "it fenced the host" : "not fenced");
		evaluate(a, in);
		return 0;
	}

	/* Progress: someone is working on it. */
	if (done_covers(a, kind, subj, c->incarnation, seq)) {
		echo_done(a, kind, subj, from);
		return 0;
	}
	if (c->incarnation < a->m[subj].inc && kind == AGR_INCIDENT_HOST &&
	    (in == NULL || in->inc != c->incarnation)) {
		a->ctr.stale_dropped++;
		return 0;
	}
	in = superseded(a, in, c->incarnation, seq);
	if (in != NULL && (in->inc != c->incarnation || in->seq != seq)) {
		if (!key_below(in->inc, in->seq, c->incarnation, seq) ||
		    in->stage != AGR_IS_OBSERVING) {
			a->ctr.stale_dropped++;
			return 0;
		}
		if (kind == AGR_INCIDENT_HOST) {
			reset_observations(a, in, c->incarnation);
		} else {
			in->inc = c->incarnation;
			in->seq = seq;
		}
	}
	if (in == NULL) {
		in = incident_open(a, kind, subj, c->incarnation);
		if (in == NULL)
			return 0;
		in->seq = seq;
		if (kind == AGR_INCIDENT_PROCESS)
			in->deadline = a->now + a->cfg.process_grace_ns;
	}
	bool fenced_stage = stage == AGR_STAGE_FENCED ||
			    (stage == AGR_STAGE_NOTIFYING && c->host_status == AGR_HOST_NORMAL);
	if (is_excluded(in, by)) {
		/* It handed over or overran its bound: its word on a fence
		 * still counts (it claimed), its progress holds nobody back. */
		if (fenced_stage && claimed_by(in, by))
			in->peer_fenced = true;
		evaluate(a, in);
		return 0;
	}
	/* A fence is believed only from a member already heard claiming it
	 * (a real claimer says CLAIMED a settle before it fences, and re-sends
	 * its progress): one message cannot make a backup skip the fence. */
	bool was_claimer = claimed_by(in, by);
	set_claimed(in, by);
	in->progress_seen = true;
	in->progress_at = a->now;
	bool by_committed = stage == AGR_STAGE_FENCED || stage == AGR_STAGE_NOTIFYING;
	if (fenced_stage && was_claimer)
		in->peer_fenced = true;
	if (in->claimer == by) {
		in->claimer_at = a->now;
		in->claimer_committed = in->claimer_committed || by_committed;
	} else if (in->claimer == NONE || !claimer_recent(a, in) ||
		   stronger(a, by, by_committed, in->claimer, in->claimer_committed, subj)) {
		in->claimer = by;
		in->claimer_at = a->now;
		in->claimer_since = a->now;
		in->claimer_committed = by_committed;
	}
	bool acting_before_notify = in->stage == AGR_IS_SETTLING || in->stage == AGR_IS_FENCING ||
				    in->stage == AGR_IS_FENCE_BACKOFF || in->stage == AGR_IS_HOLDING;
	if (acting_before_notify &&
	    stronger(a, by, by_committed, a->self, in->fence_confirmed, subj)) {
		rec(a, AGR_LOG_INFO, subj, "yield",
		    "%s incident of %s: %s (%s) is working on it (%s); this node yields",
		    kind_name(kind), MNAME(a, subj), MNAME(a, by),
		    by_committed ? "committed" : "better rank", agr_stage_name(stage));
		in->stage = AGR_IS_DECLARED;
		in->hold_logged = false;
	} else if ((acting_before_notify || in->stage == AGR_IS_NOTIFYING) &&
		   stage == AGR_STAGE_CLAIMED) {
		/* A competing claim that does not beat ours: its claimer may
		 * have missed our CLAIMED (deciders with different evidence
		 * can both rank themselves 0, and a claim goes to a subset).
		 * Tell it, directly, so it yields before it fences. One
		 * answer per claim received, and never to an answer (those
		 * carry a committed stage, or come from the claim it beats). */
		answer_claim(a, in, from);
	}
	evaluate(a, in);
	return 0;
}

static void broadcast_report(struct agreement *a, const struct local_report *r)
{
	struct agr_action *act = emit(a, AGR_ACT_BROADCAST_PROCESS_REPORT, a->self);
	act->incarnation = r->inc;
	act->report_seq = r->seq;
	act->failed_at_unix_ns = r->failed_at_unix_ns;
	snprintf(act->process, sizeof(act->process), "%s", r->process);
}

/* One broadcast can be lost (issue 10, item 10): our reports go out again,
 * backing off to 8 resend intervals, until a peer's NOTIFIED covers them
 * (report_acknowledged) or idle_expiry passed. */
static void tick_reports(struct agreement *a)
{
	for (size_t k = 0; k < sizeof(a->reports) / sizeof(a->reports[0]); k++) {
		struct local_report *r = &a->reports[k];
		if (!r->active || a->now < r->resend_at)
			continue;
		if (a->now >= r->started_at + a->cfg.idle_expiry_ns) {
			r->active = false;
			rec(a, AGR_LOG_ERROR, a->self, "process_report_unacknowledged",
			    "our report of %s was never acknowledged as notified in %llu s: not sent "
			    "again; check the segment and Masakari",
			    r->process, (unsigned long long)(a->cfg.idle_expiry_ns / NS_PER_S));
			continue;
		}
		broadcast_report(a, r);
		if (r->interval < 8 * a->cfg.resend_interval_ns)
			r->interval *= 2;
		r->resend_at = a->now + r->interval;
	}
}

int agreement_local_process_failed(struct agreement *a, const char *process,
				   int64_t failed_at_unix_ns, uint64_t self_incarnation,
				   uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (!valid_name(process, AGR_PROCESS_MAX) || self_incarnation > AGR_INCARNATION_MAX ||
	    failed_at_unix_ns < 0)
		return -EINVAL;
	/* A new report, even at the same incarnation (issue 10, item 10);
	 * at least the failure's wall-clock ns, so it grows across restarts
	 * of this daemon too. */
	uint64_t seq = a->report_seq + 1;
	if ((uint64_t)failed_at_unix_ns > seq)
		seq = (uint64_t)failed_at_unix_ns;
	a->report_seq = seq;
	struct local_report *r = &a->reports[0];
	for (size_t k = 0; k < sizeof(a->reports) / sizeof(a->reports[0]); k++) {
		if (!a->reports[k].active) {
			r = &a->reports[k];
			break;
		}
		if (a->reports[k].started_at < r->started_at)
			r = &a->reports[k];
	}
	memset(r, 0, sizeof(*r));
	r->active = true;
	r->inc = self_incarnation;
	r->seq = seq;
	r->failed_at_unix_ns = failed_at_unix_ns;
	snprintf(r->process, sizeof(r->process), "%s", process);
	r->started_at = a->now;
	r->interval = a->cfg.resend_interval_ns;
	r->resend_at = a->now + r->interval;
	broadcast_report(a, r);
	rec(a, AGR_LOG_WARN, a->self, "process_report",
	    "%s died on this host: telling peers (a process failure if this host stays "
	    "reachable); sent again until a peer tells us it is notified",
	    process);
	return 0;
}

int agreement_on_process_report(struct agreement *a, const struct agr_process_report *r,
				uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (r == NULL || r->incarnation > AGR_INCARNATION_MAX ||
	    !valid_name(r->process, AGR_PROCESS_MAX) || r->failed_at_unix_ns < 0)
		return -EINVAL;
	uint32_t idx = find_msg(a, r->reporter);
	if (idx == NONE) {
		a->ctr.unknown_dropped++;
		return -ENOENT;
	}
	if (idx == a->self)
		return 0;
	const struct member *h = &a->m[idx];
	if (r->incarnation < h->inc && h->state != AGR_MEMBER_UNKNOWN) {
		a->ctr.stale_dropped++;
		return 0;
	}
	if (done_covers(a, AGR_INCIDENT_PROCESS, idx, r->incarnation, r->seq)) {
		echo_done(a, AGR_INCIDENT_PROCESS, idx, idx); /* it stops re-sending */
		return 0;
	}
	if (h->state == AGR_MEMBER_DEAD || h->state == AGR_MEMBER_LEFT) {
		rec(a, AGR_LOG_INFO, idx, "process_report",
		    "%s reported %s dead but is %s here: ignored (host path)", name_of(a, h), r->process,
		    h->state == AGR_MEMBER_DEAD ? "dead" : "gone");
		return 0;
	}
	/* One process incident per host at a time: a newer report replaces a
	 * completed one, else waits (its reporter sends it again). */
	struct incident *in = superseded(a, incident_of(a, AGR_INCIDENT_PROCESS, idx),
					 r->incarnation, r->seq);
	if (in != NULL)
		return 0;
	in = incident_open(a, AGR_INCIDENT_PROCESS, idx, r->incarnation);
	if (in == NULL)
		return 0;
	in->seq = r->seq;
	snprintf(in->process, sizeof(in->process), "%s", r->process);
	in->failed_at_unix_ns = r->failed_at_unix_ns;
	in->deadline = a->now + a->cfg.process_grace_ns;
	in->evidence_at = a->now;
	char pcmk[PCMK_VIEW_REASON_LEN + 32];
	describe_pacemaker(a, idx, pcmk, sizeof(pcmk));
	rec(a, AGR_LOG_WARN, idx, "process_report",
	    "%s reports %s dead; waiting %llu ms: if it stays reachable this is a process "
	    "failure, not a host failure (pacemaker: %s)",
	    name_of(a, h), r->process, (unsigned long long)(a->cfg.process_grace_ns / NS_PER_MS), pcmk);
	evaluate(a, in);
	return 0;
}

int agreement_on_pacemaker_view(struct agreement *a, const struct pacemaker_view *v,
				uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (v == NULL || v->n_nodes > PCMK_VIEW_MAX_NODES || v->n_fenced > PCMK_VIEW_MAX_FENCED ||
	    (v->status != PACEMAKER_NO_INFO && v->status != PACEMAKER_NO_QUORUM &&
	     v->status != PACEMAKER_OK))
		return -EINVAL;
	/* The strings are read up to their arrays' end, terminated or not. */
	const int reason_max = (int)sizeof(v->reason), dc_max = (int)sizeof(v->dc);
	bool changed = !a->pcmk_seen || a->pcmk_status != v->status;
	a->pcmk_seen = true;
	a->pcmk_status = v->status;
	snprintf(a->pcmk_reason, sizeof(a->pcmk_reason), "%.*s",
		 v->status == PACEMAKER_OK ? 0 : reason_max, v->reason);
	for (uint32_t i = 0; i < a->n; i++)
		a->m[i].pcmk = 0;
	if (v->status != PACEMAKER_OK) {
		if (changed)
			rec(a, AGR_LOG_INFO, NONE, "pacemaker",
			    "pacemaker view: %s (%.*s): no information, ignored",
			    pacemaker_status_name(v->status), reason_max, v->reason);
		for (uint32_t i = 0; i < a->n; i++)
			a->m[i].pcmk_warned = 0;
		return 0;
	}
	if (changed)
		rec(a, AGR_LOG_INFO, NONE, "pacemaker",
		    "pacemaker view usable (DC %.*s with quorum, %zu nodes): corroboration only",
		    dc_max, v->dc, v->n_nodes);
	for (size_t k = 0; k < v->n_nodes; k++) {
		const struct pacemaker_node *nd = &v->nodes[k];
		uint32_t i = find_msg(a, nd->name);
		if (i == NONE)
			continue;
		a->m[i].pcmk = PCMK_PRESENT | (nd->online ? PCMK_ONLINE : 0) |
			       (nd->unclean ? PCMK_UNCLEAN : 0) |
			       (nd->reconnecting ? PCMK_RECONNECTING : 0) |
			       (nd->shutdown ? PCMK_SHUTDOWN : 0);
	}
	for (size_t k = 0; k < v->n_fenced; k++) {
		uint32_t i = find_msg(a, v->fenced[k]);
		if (i != NONE)
			a->m[i].pcmk |= PCMK_FENCED;
	}
	for (uint32_t i = 0; i < a->n; i++) {
		struct member *h = &a->m[i];
		uint8_t bad = h->pcmk & (PCMK_PRESENT | PCMK_ONLINE | PCMK_UNCLEAN);
		bool disagrees = (h->pcmk & PCMK_PRESENT) &&
				 (!(h->pcmk & PCMK_ONLINE) || (h->pcmk & PCMK_UNCLEAN)) &&
				 (is_live(a, i));
		if (!disagrees) {
			h->pcmk_warned = 0;
			continue;
		}
		if (h->pcmk_warned == bad)
			continue;
		h->pcmk_warned = bad;
		const struct incident *pi = incident_of(a, AGR_INCIDENT_PROCESS, i);
		rec(a, AGR_LOG_WARN, i, "pacemaker_disagrees",
		    "pacemaker reports %s %s but the mesh holds it %s: not a host failure%s%s",
		    name_of(a, h), (h->pcmk & PCMK_UNCLEAN) ? "unclean" : "offline",
		    i == a->self ? "(this node)" : "alive",
		    pi != NULL ? "; it reported " : "", pi != NULL ? pi->process : "");
	}
	return 0;
}

static void fence_result(struct agreement *a, struct incident *in, enum agr_fence_result result)
{
	assert(in->kind == AGR_INCIDENT_HOST && in->fence_in_flight);
	uint32_t idx = in->subject;
	in->fence_in_flight = false;
	if (result == AGR_FENCE_OK) {
		in->fence_confirmed = true;
		rec(a, AGR_LOG_INFO, idx, "fenced", "%s fenced (attempt %u)", MNAME(a, idx),
		    in->fence_attempts);
		if (in->stage == AGR_IS_COMPLETED)
			return;
		in->progress_stage = AGR_STAGE_FENCED;
		send_progress(a, in, AGR_STAGE_FENCED);
		if (in->stage == AGR_IS_FENCING) {
			notify(a, in, AGR_HOST_NORMAL);
		} else if (in->stage == AGR_IS_DECLARED && in->claimer != NONE &&
			   in->claimer != a->self &&
			   stronger(a, a->self, true, in->claimer, in->claimer_committed, idx)) {
			/* We yielded while our fence ran on, and our FENCED now
			 * beats the claim we yielded to: that claimer yields to it
			 * and would wait for us, we for it, both until a takeover
			 * step. Claim again, fenced: the notification follows the
			 * settle unless a stronger claim makes us yield. */
			rec(a, AGR_LOG_INFO, idx, "resume",
			    "%s incident of %s: our fence completed after we yielded to %s (%s): "
			    "ours is now the stronger claim; this node claims it again",
			    kind_name(in->kind), MNAME(a, idx), MNAME(a, in->claimer),
			    in->claimer_committed ? "fenced too, worse rank" : "not fenced");
			start_claim(a, in, rank_of_self(a, in, NULL));
		}
		return;
	}
	a->ctr.fence_failures++;
	rec(a, AGR_LOG_ERROR, idx, "fence_failed",
	    "FENCING %s FAILED (%s, attempt %u): not notifying Masakari; %s", MNAME(a, idx),
	    result == AGR_FENCE_TIMEOUT ? "timeout" : "failed", in->fence_attempts,
	    a->cfg.unfenced_notify_after != 0 &&
			    in->fence_attempts >= a->cfg.unfenced_notify_after ?
		    "giving up on the fence (unfenced_notify_after)" :
		    "retrying");
	if (in->stage != AGR_IS_FENCING)
		return;
	if (a->cfg.unfenced_notify_after != 0 &&
	    in->fence_attempts >= a->cfg.unfenced_notify_after) {
		notify(a, in, AGR_HOST_UNKNOWN);
		return;
	}
	if (in->returned && !in->peer_fenced && !in->progress_seen) {
		abandon(a, in, "the fence failed and the host is back");
		return;
	}
	in->progress_stage = AGR_STAGE_FENCE_FAILED;
	send_progress(a, in, AGR_STAGE_FENCE_FAILED);
	in->stage = AGR_IS_FENCE_BACKOFF;
	in->deadline = a->now + fence_backoff(a, in->fence_attempts);
}

int agreement_on_fence_result(struct agreement *a, const char *subject, uint64_t incarnation,
			      enum agr_fence_result result, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (result != AGR_FENCE_OK && result != AGR_FENCE_FAILED && result != AGR_FENCE_TIMEOUT)
		return -EINVAL;
	uint32_t idx = find_msg(a, subject);
	if (idx == NONE)
		return -ENOENT;
	struct incident *in = incident_of(a, AGR_INCIDENT_HOST, idx);
	if (in == NULL || in->inc != incarnation || !in->fence_in_flight)
		return -ENOENT;
	fence_result(a, in, result);
	return 0;
}

/* Our delivery failed for good (issue 10, item 9): a final 4xx, or the
 * outbox gave up or could not store it (a failed fsync latches it
 * broken). Announcing that as a completion would stop everyone; the
 * next rank takes over now instead, told whether we fenced (it does not
 * fence again), and this node no longer counts as a candidate. */
static void hand_over(struct agreement *a, struct incident *in, int http_status)
{
	bool fenced = in->fence_confirmed || in->peer_fenced;
	a->ctr.handovers++;
	in->host_status = fenced ? AGR_HOST_NORMAL : AGR_HOST_UNKNOWN;
	send_progress(a, in, AGR_STAGE_HANDED_OVER);
	rec(a, AGR_LOG_ERROR, in->subject, "handed_over",
	    "%s incident of %s (incarnation %llu): this node's notification failed for good "
	    "(HTTP %d); handed to the next rank%s; see mimamorictl outbox",
	    kind_name(in->kind), MNAME(a, in->subject), (unsigned long long)in->inc, http_status,
	    in->kind != AGR_INCIDENT_HOST ? "" :
	    fenced ? " (fenced: it will not fence again)" : " (not fenced)");
	exclude(in, a->self);
	in->stage = AGR_IS_DECLARED;
	in->acted = false;
	in->hold_logged = false;
	in->deadline = NEVER;
	in->progress_at = a->now;
}

int agreement_on_notify_result(struct agreement *a, enum agr_incident_kind kind,
			       const char *subject, uint64_t incarnation, int http_status,
			       uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (kind != AGR_INCIDENT_HOST && kind != AGR_INCIDENT_PROCESS)
		return -EINVAL;
	uint32_t idx = find_msg(a, subject);
	if (idx == NONE)
		return -ENOENT;
	struct incident *in = incident_of(a, kind, idx);
	if (in == NULL || in->inc != incarnation || !in->notify_emitted)
		return -ENOENT;
	bool ok = http_status == 202 || http_status == 409;
	rec(a, ok ? AGR_LOG_INFO : AGR_LOG_ERROR, idx, "notified",
	    "%s incident of %s (incarnation %llu): Masakari answered %d%s", kind_name(kind),
	    MNAME(a, idx), (unsigned long long)incarnation, http_status,
	    ok ? "" :
	    http_status == AGR_HTTP_REFUSED_MAINTENANCE ?
		 " (refused: the host is on maintenance in Masakari; nobody else will retry: "
		 "operator action needed)" :
	    http_status == AGR_HTTP_SUPERSEDED ?
		 " (not sent: the host is alive again at a newer incarnation; nobody else will "
		 "send it: its guests may need an operator)" :
		 " (this node's delivery failed for good: handed to the next rank)");
	if (in->stage == AGR_IS_COMPLETED) {
		/* Someone else's NOTIFIED came first; ours was a duplicate. */
		return 0;
	}
	/* A host on maintenance refuses every notifier alike, and every
	 * notifier that sees the host alive again supersedes its COMPUTE_HOST:
	 * handing either over would only repeat it max_backups times, and
	 * then leave the incident open for good. */
	if (!ok && http_status != AGR_HTTP_REFUSED_MAINTENANCE &&
	    http_status != AGR_HTTP_SUPERSEDED && in->stage == AGR_IS_NOTIFYING) {
		hand_over(a, in, http_status);
		return 0;
	}
	complete(a, in, a->self, http_status, in->host_status);
	return 0;
}

/* ------------------------------------------------------------ timers */

static void tick_incident(struct agreement *a, struct incident *in)
{
	uint64_t now = a->now;
	const struct member *h = &a->m[in->subject];
	if (in->kind == AGR_INCIDENT_HOST && now >= in->window_at) {
		if (in->obs_dirty) {
			memcpy(in->obs_prev, in->obs_cur, a->words * sizeof(uint64_t));
			memset(in->obs_cur, 0, a->words * sizeof(uint64_t));
		}
		in->window_at = now + a->cfg.observation_ttl_ns / 2;
	}
	probe_update(a, in);
	if (run_complete(a, in) && in->run_start < a->deaf_until) {
		/* Deaf for part of the run (a flapping member of a bare
		 * majority, isolated after its run began, back before it
		 * ended): only what follows the gap counts. This is cf8388d's
		 * rule 2 alone; its rule 3 (heard_through) stays withdrawn:
		 * with both, a power loss in a full outage was first observed
		 * 8 s after the heal (nemesis 2577/26), with this one 1.2 s. */
		in->run_start = a->deaf_until;
	}
	if (run_complete(a, in)) {
		/* A run ends in an observation only if a peer was heard in its
		 * last two probe intervals: a member isolated 0.36-0.55 s
		 * before its run ended, not deaf yet, found a cut-off minority
		 * unreachable and was the n/2 + 1-th (nemesis 228/40, 5220/23). */
		if (may_observe(a) &&
		    (a->heard_at == 0 || now < a->heard_at + 2 * a->cfg.probe_interval_ns))
			observe_self(a, in);
		else /* cut off, deaf, unheard or no majority: start over */
			in->run_start = now;
	}
	if (in->probing && now >= in->probe_at)
		send_probe(a, in);

	switch (in->stage) {
	case AGR_IS_OBSERVING:
		if (in->kind == AGR_INCIDENT_HOST && h->state != AGR_MEMBER_DEAD &&
		    now >= in->evidence_at + a->cfg.idle_expiry_ns) {
			rec(a, AGR_LOG_DEBUG, in->subject, "expired",
			    "observations of %s expired without a verdict", name_of(a, h));
			release(a, in);
			return;
		}
		break;
	case AGR_IS_DECLARED: {
		/* Nobody can act (no candidate here) for idle_expiry. */
		uint64_t last = in->progress_at > in->decided_at ? in->progress_at : in->decided_at;
		if (!in->acted && now >= last + a->cfg.idle_expiry_ns) {
			rec(a, AGR_LOG_ERROR, in->subject, "expired",
			    "%s incident of %s: declared but nobody acted or completed for %llu s; "
			    "dropped",
			    kind_name(in->kind), name_of(a, h),
			    (unsigned long long)(a->cfg.idle_expiry_ns / NS_PER_S));
			release(a, in);
			return;
		}
		break;
	}
	case AGR_IS_SETTLING:
		break; /* evaluate() below */
	case AGR_IS_FENCING:
		if (now >= in->deadline) {
			rec(a, AGR_LOG_ERROR, in->subject, "fence_watchdog",
			    "no fence result for %s after %llu ms", name_of(a, h),
			    (unsigned long long)((now - in->fence_sent_at) / NS_PER_MS));
			fence_result(a, in, AGR_FENCE_TIMEOUT);
			if (in->stage == AGR_IS_NONE)
				return;
		}
		break;
	case AGR_IS_FENCE_BACKOFF:
		if (now >= in->deadline) {
			if (in->returned && !in->peer_fenced && !in->progress_seen) {
				abandon(a, in, "the fence failed and the host is back");
				return;
			}
			if (refuse_fencing_live_host(a, in))
				return;
			if (!have_majority(a)) {
				in->stage = AGR_IS_HOLDING;
				in->hold_after_settle = true;
				in->deadline = NEVER;
				hold(a, in, "fence retry");
			} else {
				fence(a, in);
			}
		}
		break;
	case AGR_IS_COMPLETED:
		if (now >= in->deadline) {
			release(a, in);
			return;
		}
		break;
	case AGR_IS_HOLDING:
	case AGR_IS_NOTIFYING:
	case AGR_IS_NONE:
		break;
	}

	if (now >= in->resend_at) {
		in->resend_at = now + a->cfg.resend_interval_ns;
		if (in->probing && in->observed && may_observe(a)) {
			/* Still unanswered: keep our observation fresh, here and
			 * at the deciders (a lost or early one is re-told).
			 * Not without a majority: it would be stale when one is
			 * back (majority_regained). */
			obs_set(a, in, a->self);
			in->evidence_at = now;
			send_observation(a, in);
		}
		switch (in->stage) {
		case AGR_IS_SETTLING:
		case AGR_IS_FENCING:
		case AGR_IS_FENCE_BACKOFF:
		case AGR_IS_HOLDING:
			send_progress(a, in, in->progress_stage);
			break;
		case AGR_IS_NOTIFYING:
			/* For as long as Masakari has not answered: the outbox
			 * keeps retrying, and a notifier that still says so is
			 * not replaced by a backup (agreement.h). */
			send_progress(a, in, in->progress_stage);
			break;
		case AGR_IS_COMPLETED:
			if (in->completed_by == a->self && in->notified_resends > 0) {
				in->notified_resends--;
				send_progress(a, in, AGR_STAGE_NOTIFIED);
			}
			break;
		case AGR_IS_NONE:
		case AGR_IS_OBSERVING:
		case AGR_IS_DECLARED:
			break;
		}
	}
	evaluate(a, in);
}

int agreement_set_hold(struct agreement *a, bool held, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	if (held == a->held)
		return 0;
	a->held = held;
	if (!held)
		evaluate_all(a); /* what waited in its stage goes on */
	return 0;
}

int agreement_tick(struct agreement *a, uint64_t now)
{
	int rc = enter(a, now);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < AGR_MAX_INCIDENTS; i++)
		if (a->inc[i].stage != AGR_IS_NONE)
			tick_incident(a, &a->inc[i]);
	tick_reports(a);
	if (a->want_scan) {
		/* Members dead here without an incident (the table was full, or
		 * an older incident of theirs was still running). */
		a->want_scan = false;
		for (uint32_t i = 0; i < a->n; i++) {
			struct member *h = &a->m[i];
			if (h->state != AGR_MEMBER_DEAD || h->host_incident != NONE ||
			    done_covers(a, AGR_INCIDENT_HOST, i, h->inc, 0))
				continue;
			struct incident *in = incident_open(a, AGR_INCIDENT_HOST, i, h->inc);
			if (in == NULL)
				break; /* want_scan set again */
			in->seen_dead = true;
			probe_update(a, in);
		}
	}
	return 0;
}

uint64_t agreement_next_deadline(const struct agreement *a)
{
	assert(a != NULL);
	uint64_t next = a->want_scan ? a->now + a->cfg.resend_interval_ns : NEVER;
	for (size_t k = 0; k < sizeof(a->reports) / sizeof(a->reports[0]); k++)
		if (a->reports[k].active && a->reports[k].resend_at < next)
			next = a->reports[k].resend_at;
	for (uint32_t i = 0; i < AGR_MAX_INCIDENTS; i++) {
		const struct incident *in = &a->inc[i];
		if (in->stage == AGR_IS_NONE)
			continue;
		uint64_t t = in->resend_at;
		if (in->deadline < t)
			t = in->deadline;
		if (in->kind == AGR_INCIDENT_HOST && in->window_at < t)
			t = in->window_at;
		if (in->probing && in->probe_at < t)
			t = in->probe_at;
		if (in->probing && !in->observed && in->run_start != NEVER) {
			/* When run_complete() can first hold: a refusal's hold
			 * ends later than the window (offering the window's end
			 * while held would be a deadline in the past: a spin). */
			uint64_t done = in->run_start + a->cfg.unreachable_window_ns;
			if (in->refused_at != 0 && in->refused_at + refused_hold_ns(a) > done)
				done = in->refused_at + refused_hold_ns(a);
			if (done < t)
				t = done;
		}
		if (t < next)
			next = t;
	}
	return next;
}

/* ------------------------------------------------------------ wire helpers */

void agreement_action_observation(const struct agreement *a, const struct agr_action *act,
				  struct agr_observation *out)
{
	assert(a != NULL && act != NULL && out != NULL);
	assert(act->kind == AGR_ACT_SEND_OBSERVATION && act->subject != NULL);
	memset(out, 0, sizeof(*out));
	snprintf(out->observer, sizeof(out->observer), "%s", a->cfg.self);
	snprintf(out->subject, sizeof(out->subject), "%s", act->subject);
	out->incarnation = act->incarnation;
}

void agreement_action_completion(const struct agreement *a, const struct agr_action *act,
				 struct agr_completion *out)
{
	assert(a != NULL && act != NULL && out != NULL);
	assert(act->kind == AGR_ACT_SEND_COMPLETION && act->subject != NULL);
	memset(out, 0, sizeof(*out));
	snprintf(out->from, sizeof(out->from), "%s", a->cfg.self);
	snprintf(out->notifier, sizeof(out->notifier), "%s",
		 act->peer != NULL ? act->peer : a->cfg.self);
	snprintf(out->subject, sizeof(out->subject), "%s", act->subject);
	out->incarnation = act->incarnation;
	out->kind = act->incident;
	out->stage = act->stage;
	out->host_status = act->host_status;
	out->http_status = act->http_status;
	out->report_seq = act->report_seq;
}

void agreement_action_process_report(const struct agreement *a, const struct agr_action *act,
				     struct agr_process_report *out)
{
	assert(a != NULL && act != NULL && out != NULL);
	assert(act->kind == AGR_ACT_BROADCAST_PROCESS_REPORT);
	memset(out, 0, sizeof(*out));
	snprintf(out->reporter, sizeof(out->reporter), "%s", a->cfg.self);
	snprintf(out->process, sizeof(out->process), "%s", act->process);
	out->incarnation = act->incarnation;
	out->failed_at_unix_ns = act->failed_at_unix_ns;
	out->seq = act->report_seq;
}

/* ------------------------------------------------------------ queries */

int agreement_incident(const struct agreement *a, enum agr_incident_kind kind,
		       const char *subject, struct agr_incident_info *out)
{
	assert(a != NULL && out != NULL);
	uint32_t idx = find(a, subject);
	if (idx == NONE || (kind != AGR_INCIDENT_HOST && kind != AGR_INCIDENT_PROCESS))
		return -ENOENT;
	uint32_t s = kind == AGR_INCIDENT_HOST ? a->m[idx].host_incident :
						 a->m[idx].proc_incident;
	if (s == NONE)
		return -ENOENT;
	const struct incident *in = &a->inc[s];
	memset(out, 0, sizeof(*out));
	out->stage = in->stage;
	out->incarnation = in->inc;
	if (kind == AGR_INCIDENT_HOST) {
		struct evidence ev;
		gather(a, in, &ev);
		out->observations = ev.total;
		out->observations_needed = ev.needed;
		out->designated = ev.k;
		out->designated_observed = ev.hits;
		out->quorum = ev.q;
		out->self_observed = obs_has(in, a->self);
	}
	uint32_t best = NONE;
	out->rank = rank_of_self(a, in, &best);
	if (best != NONE)
		snprintf(out->notifier, sizeof(out->notifier), "%s", MNAME(a, best));
	if (in->completed_by != NONE)
		snprintf(out->completed_by, sizeof(out->completed_by), "%s",
			 MNAME(a, in->completed_by));
	out->http_status = in->http;
	out->fence_attempts = in->fence_attempts;
	out->fence_confirmed = in->fence_confirmed || in->peer_fenced;
	out->notify_emitted = in->notify_emitted;
	return 0;
}

void agreement_counters(const struct agreement *a, struct agr_counters *out)
{
	assert(a != NULL && out != NULL);
	*out = a->ctr;
}

int agreement_observers(const struct agreement *a, const char *subject, const char **out,
			size_t max)
{
	assert(a != NULL && (out != NULL || max == 0));
	uint32_t idx = find(a, subject);
	if (idx == NONE)
		return -ENOENT;
	uint32_t obs[AGR_MAX_OBSERVERS];
	uint32_t k = designated(a, idx, obs);
	size_t n = k < max ? k : max;
	for (size_t i = 0; i < n; i++)
		out[i] = MNAME(a, obs[i]);
	return (int)n;
}
