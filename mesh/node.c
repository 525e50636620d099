/* See node.h. */
#include "mesh/node.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/hash.h"
#include "base/units.h"

/* ---- names ------------------------------------------------------------ */

struct mnode_names {
	uint32_t n;
	uint32_t mask;      /* slots - 1 (a power of two >= 2n) */
	const char **v;     /* borrowed strings, configuration order */
	uint32_t *slots;    /* index + 1; 0 = empty (open addressing) */
};

struct mnode_names *mnode_names_new(const char *const *names, uint32_t n)
{
	struct mnode_names *t;
	uint32_t cap = 2;

	if (names == NULL || n == 0 || n > AGR_MAX_MEMBERS) {
		errno = EINVAL;
		return NULL;
	}
	while (cap < 2 * n)
		cap *= 2;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->n = n;
	t->mask = cap - 1;
	t->v = calloc(n, sizeof(*t->v));
	t->slots = calloc(cap, sizeof(*t->slots));
	if (t->v == NULL || t->slots == NULL) {
		mnode_names_free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s;

		if (names[i] == NULL || mnode_names_find(t, names[i]) != MNODE_NONE) {
			mnode_names_free(t);
			errno = EINVAL;
			return NULL;
		}
		t->v[i] = names[i];
		for (s = (uint32_t)fnv1a64(names[i]) & t->mask; t->slots[s] != 0; s = (s + 1) & t->mask)
			;
		t->slots[s] = i + 1;
	}
	return t;
}

void mnode_names_free(struct mnode_names *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t->slots);
	free(t);
}

uint32_t mnode_names_find(const struct mnode_names *t, const char *name)
{
	if (name == NULL)
		return MNODE_NONE;
	for (uint32_t s = (uint32_t)fnv1a64(name) & t->mask; t->slots[s] != 0; s = (s + 1) & t->mask)
		if (strcmp(t->v[t->slots[s] - 1], name) == 0)
			return t->slots[s] - 1;
	return MNODE_NONE;
}

uint32_t mnode_names_count(const struct mnode_names *t)
{
	return t->n;
}

const char *mnode_names_get(const struct mnode_names *t, uint32_t idx)
{
	return idx < t->n ? t->v[idx] : NULL;
}

/* ---- the node --------------------------------------------------------- */

/* An agreement input, kept when the core refused it for undrained
 * actions (-EBUSY) and fed again once they are drained. */
enum pend_kind {
	PEND_MEMBER_STATE = 1,
	PEND_PROBE,
	PEND_PROBE_ACK,
	PEND_OBSERVATION,
	PEND_COMPLETION,
	PEND_PROCESS_REPORT,
	PEND_LOCAL_PROCESS,
	PEND_FENCE_RESULT,
	PEND_NOTIFY_RESULT,
	PEND_VIEW,
	PEND_TICK,
	PEND_HOLD, /* agreement_set_hold(result != 0) */
	PEND_REFUSED,
};

struct pending {
	enum pend_kind kind;
	uint64_t now;
	uint32_t member;      /* MEMBER_STATE, PROBE(_ACK), FENCE/NOTIFY_RESULT: its index */
	uint32_t state;       /* MEMBER_STATE */
	uint64_t incarnation; /* MEMBER_STATE, FENCE/NOTIFY_RESULT, LOCAL_PROCESS (ours) */
	uint64_t nonce;
	int result;           /* FENCE: enum agr_fence_result; NOTIFY: HTTP status;
				 REFUSED: enum agr_peer_answer */
	enum agr_incident_kind incident;
	const struct pacemaker_view *view;
	union {
		struct agr_observation observation;
		struct agr_completion completion;
		struct agr_process_report report; /* also LOCAL_PROCESS's name and time */
	};
};

/* Incarnation and suspicion of one member (its state is kept apart, one
 * byte each: the simulator holds N nodes of N members). */
struct member_time {
	uint64_t incarnation;
	uint64_t suspect_since_ns;
};

/* A record of the digest check, emitted as MNODE_OUT_LOG. */
struct digest_note {
	enum agr_log_level level;
	uint32_t subject; /* member index or MNODE_NONE */
	char event[AGR_EVENT_MAX];
	char text[AGR_TEXT_MAX];
};

#define DIGEST_NOTES 8 /* one input makes at most two */

enum digest_state { DIGEST_UNHEARD = 0, DIGEST_SAME, DIGEST_OTHER };

struct mnode {
	struct membership *ms;
	struct agreement *agr;
	const struct mnode_names *names;
	struct mnode_names *own_names; /* when not shared */
	uint32_t self;
	uint8_t *state;            /* enum mesh_state per member */
	struct member_time *time;
	uint64_t now;              /* the latest now of any input */
	/* The cores' deadlines, asked again only after a call into that core. */
	uint64_t ms_deadline, agr_deadline;
	bool ms_dirty, agr_dirty;
	/* mnode_tick() ran: the agreement's timers are due once membership's
	 * outputs are drained (its news first, as the shells always did). */
	bool tick_due;
	uint64_t tick_now;
	struct pending pending[MNODE_PENDING_MAX];
	uint32_t pend_head, pend_len;
	struct mesh_out mout; /* scratch: one membership output */
	/* The members digest check (see node.h). */
	uint64_t digest, hold_ns;
	bool hold_on_unknown;   /* cfg.hold_on_unknown_digest */
	uint64_t *peer_digest;  /* last heard per member; 0: none */
	uint8_t *digest_state;  /* enum digest_state per member */
	uint8_t *says_differ;   /* its last message said members_differ */
	uint32_t n_other;       /* members in DIGEST_OTHER */
	bool other_ever;        /* a message with another digest came */
	uint64_t other_last_ns; /* when the last one came */
	bool held;              /* told to the agreement */
	struct digest_note notes[DIGEST_NOTES];
	uint32_t note_head, note_len;
	uint64_t notes_dropped;
	/* Joined with seeds, no seed's whole table yet: our incarnation may
	 * still be below our previous life's (mnode_local_process_failed). */
	bool unsettled;
	uint64_t join_at;
	struct pending deferred[MNODE_DEFERRED_MAX]; /* PEND_LOCAL_PROCESS, in order */
	uint32_t n_deferred;
};


struct mnode *mnode_new(const struct mnode_config *cfg, char *err, size_t errlen)
{
	struct mnode *n = calloc(1, sizeof(*n));
	const struct agreement_config *ac = &cfg->agreement;
	char why[256] = "";

	if (n == NULL) {
		errbuf_set(err, errlen, "%s", "out of memory");
		return NULL;
	}
	n->names = cfg->names;
	if (n->names == NULL) {
		if (ac->n_members > AGR_MAX_MEMBERS)
			goto bad_members;
		n->own_names = mnode_names_new(ac->members, (uint32_t)ac->n_members);
		if (n->own_names == NULL)
			goto bad_members;
		n->names = n->own_names;
	}
	if (ac->self == NULL || mnode_names_count(n->names) != ac->n_members) {
		errbuf_set(err, errlen, "%s", "the names table is not the agreement's member list");
		goto out;
	}
	n->self = mnode_names_find(n->names, ac->self);
	if (n->self == MNODE_NONE) {
		errbuf_set(err, errlen, "this node ('%.64s') is not a member", ac->self);
		goto out;
	}
	n->state = calloc(ac->n_members, sizeof(*n->state));
	n->time = calloc(ac->n_members, sizeof(*n->time));
	n->peer_digest = calloc(ac->n_members, sizeof(*n->peer_digest));
	n->digest_state = calloc(ac->n_members, sizeof(*n->digest_state));
	n->says_differ = calloc(ac->n_members, sizeof(*n->says_differ));
	n->digest = cfg->members_digest != 0
			    ? cfg->members_digest
			    : mnode_members_digest(ac->members, NULL, (uint32_t)ac->n_members);
	n->hold_on_unknown = cfg->hold_on_unknown_digest;
	n->hold_ns = cfg->digest_hold_ns != 0 ? cfg->digest_hold_ns
					      : 2 * ac->observation_ttl_ns;
	if (n->state == NULL || n->time == NULL || n->peer_digest == NULL ||
	    n->digest_state == NULL || n->says_differ == NULL || n->digest == 0) {
		errbuf_set(err, errlen, "%s", "out of memory");
		goto out;
	}
	n->ms = membership_create(&cfg->membership, ac->self, cfg->self_addr);
	if (n->ms == NULL) {
		errbuf_set(err, errlen, "membership: %s", strerror(errno));
		goto out;
	}
	n->agr = agreement_new(ac, why, sizeof(why));
	if (n->agr == NULL) {
		errbuf_set(err, errlen, "agreement: %s", why);
		goto out;
	}
	n->state[n->self] = MESH_ALIVE;
	n->ms_dirty = n->agr_dirty = true;
	return n;
bad_members:
	errbuf_set(err, errlen, "members: %s", errno == ENOMEM ? "out of memory"
			  : "empty, too many, or a name missing or repeated");
out:
	mnode_free(n);
	return NULL;
}

void mnode_free(struct mnode *n)
{
	if (n == NULL)
		return;
	membership_destroy(n->ms);
	agreement_free(n->agr);
	mnode_names_free(n->own_names);
	free(n->state);
	free(n->time);
	free(n->peer_digest);
	free(n->digest_state);
	free(n->says_differ);
	free(n);
}

static void advance(struct mnode *n, uint64_t now)
{
	if (now > n->now)
		n->now = now;
}

/* ---- agreement inputs, and the -EBUSY retry ---------------------------- */

static int agr_call(struct mnode *n, const struct pending *p)
{
	const char *member = mnode_names_get(n->names, p->member);

	n->agr_dirty = true;
	switch (p->kind) {
	case PEND_MEMBER_STATE:
		return agreement_on_member_state(n->agr, member, (enum agr_member_state)p->state,
						 p->incarnation, p->now);
	case PEND_PROBE:
		return agreement_on_probe(n->agr, member, p->nonce, p->now);
	case PEND_PROBE_ACK:
		return agreement_on_probe_ack(n->agr, member, p->nonce, p->now);
	case PEND_OBSERVATION:
		return agreement_on_observation(n->agr, &p->observation, p->now);
	case PEND_COMPLETION:
		return agreement_on_completion(n->agr, &p->completion, p->now);
	case PEND_PROCESS_REPORT:
		return agreement_on_process_report(n->agr, &p->report, p->now);
	case PEND_LOCAL_PROCESS:
		return agreement_local_process_failed(n->agr, p->report.process,
						      p->report.failed_at_unix_ns, p->incarnation,
						      p->now);
	case PEND_FENCE_RESULT:
		return agreement_on_fence_result(n->agr, member, p->incarnation,
						 (enum agr_fence_result)p->result, p->now);
	case PEND_NOTIFY_RESULT:
		return agreement_on_notify_result(n->agr, p->incident, member, p->incarnation,
						  p->result, p->now);
	case PEND_VIEW:
		return agreement_on_pacemaker_view(n->agr, p->view, p->now);
	case PEND_TICK:
		return agreement_tick(n->agr, p->now);
	case PEND_HOLD:
		return agreement_set_hold(n->agr, p->result != 0, p->now);
	case PEND_REFUSED:
		return agreement_on_peer_answered(n->agr, member, (enum agr_peer_answer)p->result,
						  p->now);
	}
	return -EINVAL;
}

/* Feeds p now, or after the actions are drained (and after the inputs
 * already waiting, in order). */
static int agr_feed(struct mnode *n, const struct pending *p)
{
	advance(n, p->now);
	if (n->pend_len == 0) {
		int rc = agr_call(n, p);

		if (rc != -EBUSY)
			return rc;
	}
	if (n->pend_len == MNODE_PENDING_MAX)
		return -EBUSY;
	n->pending[(n->pend_head + n->pend_len) % MNODE_PENDING_MAX] = *p;
	n->pend_len++;
	return 0;
}

/* An input about a member by name: its index, or -ENOENT. */
static int member_of(const struct mnode *n, const char *name, uint32_t *idx)
{
	*idx = mnode_names_find(n->names, name);
	return *idx == MNODE_NONE ? -ENOENT : 0;
}

/* ---- the members digest ----------------------------------------------- */

struct digest_sort {
	const char *const *names;
};

static int cmp_by_name(const void *x, const void *y, void *ctx)
{
	const struct digest_sort *d = ctx;

	return strcmp(d->names[*(const uint32_t *)x], d->names[*(const uint32_t *)y]);
}

static uint64_t fnv1a64_more(uint64_t h, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
		h ^= *c;
		h *= FNV1A64_PRIME;
	}
	return h;
}

uint64_t mnode_members_digest(const char *const *names, const char *const *urls, uint32_t n)
{
	struct digest_sort d = { .names = names };
	uint32_t *order;
	uint64_t h = FNV1A64_OFFSET;

	if (names == NULL || n == 0)
		return 0;
	order = calloc(n, sizeof(*order));
	if (order == NULL)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_by_name, &d);
	for (uint32_t i = 0; i < n; i++) {
		h = fnv1a64_more(h, names[order[i]]);
		h = fnv1a64_more(h, "\t");
		h = fnv1a64_more(h, urls != NULL && urls[order[i]] != NULL ? urls[order[i]] : "");
		h = fnv1a64_more(h, "\n");
	}
	free(order);
	return h != 0 ? h : 1; /* 0 is "unknown" on the wire */
}

static void digest_note(struct mnode *n, enum agr_log_level level, uint32_t subject,
			const char *event, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void digest_note(struct mnode *n, enum agr_log_level level, uint32_t subject,
			const char *event, const char *fmt, ...)
{
	struct digest_note *d;
	va_list ap;

	if (n->note_len == DIGEST_NOTES) {
		n->notes_dropped++;
		return;
	}
	d = &n->notes[(n->note_head + n->note_len++) % DIGEST_NOTES];
	d->level = level;
	d->subject = subject;
	snprintf(d->event, sizeof(d->event), "%s", event);
	va_start(ap, fmt);
	vsnprintf(d->text, sizeof(d->text), fmt, ap);
	va_end(ap);
}

/* Holds or resumes the agreement's verdicts as the digests say. */
static void update_hold(struct mnode *n, uint64_t now)
{
	bool want = n->n_other > 0 || (n->other_ever && now < n->other_last_ns + n->hold_ns);
	struct pending p = { .kind = PEND_HOLD, .now = now, .result = want };

	if (want == n->held)
		return;
	n->held = want;
	n->agr_dirty = true;
	if (want)
		digest_note(n, AGR_LOG_ERROR, MNODE_NONE, "verdicts_held",
			    "members files differ in the segment: verdicts HELD (no declaration, "
			    "fence or notification) until every member's file matches ours "
			    "(digest %016llx) for %llu s",
			    (unsigned long long)n->digest,
			    (unsigned long long)(n->hold_ns / NS_PER_S));
	else
		digest_note(n, AGR_LOG_WARN, MNODE_NONE, "verdicts_resumed",
			    "every member's members file has matched ours for %llu s: verdicts "
			    "resume", (unsigned long long)(n->hold_ns / NS_PER_S));
	/* -EBUSY: kept and fed after the drain, before any later input. */
	(void)agr_feed(n, &p);
}

/* The sender's digest against ours (see node.h). */
static void check_digest(struct mnode *n, const struct mesh_wire_msg *m, uint64_t now)
{
	uint32_t idx = mnode_names_find(n->names, m->from);
	bool same = m->members_digest == n->digest;
	uint8_t was;

	advance(n, now);
	if (idx == MNODE_NONE || idx == n->self)
		return; /* the shell refuses strangers */
	if (m->members_digest == 0 && !n->hold_on_unknown)
		return;
	was = n->digest_state[idx];
	n->peer_digest[idx] = m->members_digest;
	if (!same || m->members_differ) {
		/* Its own, or one it hears (told, not told on: no echo). */
		n->other_ever = true;
		n->other_last_ns = now;
	}
	if (m->members_differ && !n->says_differ[idx])
		digest_note(n, AGR_LOG_ERROR, idx, "members_differ",
			    "%s hears a member whose members file differs from its own", m->from);
	n->says_differ[idx] = m->members_differ;
	if (same && was == DIGEST_OTHER) {
		n->n_other--;
		digest_note(n, AGR_LOG_WARN, idx, "members_match",
			    "%s's members file matches ours again (digest %016llx)", m->from,
			    (unsigned long long)n->digest);
	} else if (!same && was != DIGEST_OTHER) {
		n->n_other++;
		if (m->members_digest == 0)
			digest_note(n, AGR_LOG_ERROR, idx, "members_differ",
				    "%s sends no members digest (an older mimamorid?): its members "
				    "file cannot be compared with ours (digest %016llx)",
				    m->from, (unsigned long long)n->digest);
		else
			digest_note(n, AGR_LOG_ERROR, idx, "members_differ",
				    "%s's members file differs from ours: its digest %016llx, ours "
				    "%016llx; make the members files equal on every node",
				    m->from, (unsigned long long)m->members_digest,
				    (unsigned long long)n->digest);
	}
	n->digest_state[idx] = same ? DIGEST_SAME : DIGEST_OTHER;
	update_hold(n, now);
}

/* ---- inputs ----------------------------------------------------------- */

int mnode_join(struct mnode *n, const char *const *seed_addrs, size_t k, uint64_t now)
{
	int rc;

	advance(n, now);
	n->ms_dirty = true;
	rc = membership_join(n->ms, seed_addrs, k, now);
	if (rc == 0 && k > 0) {
		n->unsettled = true;
		n->join_at = now;
	}
	return rc;
}

/* Our incarnation is settled: the reports that waited go out, at it. */
static void settle(struct mnode *n, uint64_t now)
{
	n->unsettled = false;
	for (uint32_t k = 0; k < n->n_deferred; k++) {
		struct pending p = n->deferred[k];

		p.now = now;
		p.incarnation = membership_incarnation(n->ms);
		if (agr_feed(n, &p) == -EBUSY) {
			/* inputs kept across a drain are full: the rest waits for
			 * the next message */
			memmove(n->deferred, n->deferred + k, (n->n_deferred - k) * sizeof(p));
			n->n_deferred -= k;
			return;
		}
	}
	n->n_deferred = 0;
}

void mnode_leave(struct mnode *n, uint64_t now)
{
	advance(n, now);
	n->ms_dirty = true;
	membership_leave(n->ms, now);
}

bool mnode_leave_done(const struct mnode *n)
{
	return membership_leave_done(n->ms);
}

void mnode_drop_broadcasts(struct mnode *n)
{
	n->ms_dirty = true;
	membership_drop_broadcasts(n->ms);
}

int mnode_on_peer_answered(struct mnode *n, uint32_t idx, enum agr_peer_answer how, uint64_t now)
{
	struct pending p = { .kind = PEND_REFUSED, .now = now, .member = idx, .result = how };

	if (idx >= mnode_names_count(n->names) || idx == n->self ||
	    (how != AGR_PEER_REFUSED && how != AGR_PEER_ACCEPTED))
		return -EINVAL;
	return agr_feed(n, &p);
}

int mnode_on_peer_refused(struct mnode *n, uint32_t idx, uint64_t now)
{
	return mnode_on_peer_answered(n, idx, AGR_PEER_REFUSED, now);
}

int mnode_on_message(struct mnode *n, const struct mesh_wire_msg *m, uint64_t now)
{
	struct pending p = { .now = now };

	/* Any message: we are not cut off (agreement_on_heard). */
	agreement_on_heard_from(n->agr, m->from, now);
	n->agr_dirty = true;
	/* Before the message acts: an observation from a node counting
	 * another list must not complete a verdict here. */
	check_digest(n, m, now);
	switch (m->kind) {
	case MESH_WIRE_SWIM: {
		int rc;

		advance(n, now);
		n->ms_dirty = true;
		rc = membership_handle_message(n->ms, &m->swim, now);
		/* A seed's whole table applied: what it held of our previous
		 * life is refuted; our incarnation is above it now. */
		if ((n->unsettled && rc == 0 && m->swim.type == MESH_MSG_SYNC &&
		     (m->swim.flags & MESH_FLAG_SYNC_LAST) != 0) ||
		    (n->unsettled && now >= n->join_at + MNODE_SETTLE_MAX_NS) ||
		    (!n->unsettled && n->n_deferred > 0))
			settle(n, now);
		return rc;
	}
	case MESH_WIRE_PROBE:
	case MESH_WIRE_PROBE_ACK:
		if (member_of(n, m->from, &p.member) < 0)
			return -ENOENT;
		p.kind = m->kind == MESH_WIRE_PROBE ? PEND_PROBE : PEND_PROBE_ACK;
		p.nonce = m->nonce;
		break;
	case MESH_WIRE_OBSERVATION:
		p.kind = PEND_OBSERVATION;
		p.observation = m->observation;
		break;
	case MESH_WIRE_COMPLETION:
		p.kind = PEND_COMPLETION;
		p.completion = m->completion;
		break;
	case MESH_WIRE_PROCESS_REPORT:
		p.kind = PEND_PROCESS_REPORT;
		p.report = m->report;
		break;
	default:
		return -EINVAL;
	}
	return agr_feed(n, &p);
}

int mnode_tick(struct mnode *n, uint64_t now)
{
	advance(n, now);
	update_hold(n, now);
	if (membership_next_deadline(n->ms) <= now) {
		n->ms_dirty = true;
		membership_tick(n->ms, now);
	}
	n->tick_due = true;
	n->tick_now = now;
	return 0;
}

int mnode_on_fence_result(struct mnode *n, const char *subject, uint64_t incarnation,
			  enum agr_fence_result result, uint64_t now)
{
	struct pending p = { .kind = PEND_FENCE_RESULT, .now = now, .incarnation = incarnation,
			     .result = (int)result };

	if (member_of(n, subject, &p.member) < 0)
		return -ENOENT;
	return agr_feed(n, &p);
}

int mnode_on_notify_result(struct mnode *n, enum agr_incident_kind kind, const char *subject,
			   uint64_t incarnation, int http_status, uint64_t now)
{
	struct pending p = { .kind = PEND_NOTIFY_RESULT, .now = now, .incarnation = incarnation,
			     .result = http_status, .incident = kind };

	if (member_of(n, subject, &p.member) < 0)
		return -ENOENT;
	return agr_feed(n, &p);
}

int mnode_on_pacemaker_view(struct mnode *n, const struct pacemaker_view *v, uint64_t now)
{
	struct pending p = { .kind = PEND_VIEW, .now = now, .view = v };

	if (v == NULL)
		return -EINVAL;
	return agr_feed(n, &p);
}

int mnode_local_process_failed(struct mnode *n, const char *process, int64_t failed_at_unix_ns,
			       uint64_t now)
{
	struct pending p = { .kind = PEND_LOCAL_PROCESS, .now = now,
			     .incarnation = membership_incarnation(n->ms) };

	if (process == NULL || strlen(process) >= sizeof(p.report.process) ||
	    failed_at_unix_ns < 0)
		return -EINVAL;
	snprintf(p.report.process, sizeof(p.report.process), "%s", process);
	p.report.failed_at_unix_ns = failed_at_unix_ns;
	if (n->unsettled && now >= n->join_at + MNODE_SETTLE_MAX_NS)
		settle(n, now);
	if (!n->unsettled && n->n_deferred == 0)
		return agr_feed(n, &p);
	/* Just (re)started: at incarnation 0 every peer holding our previous
	 * life would drop the report as stale, and its re-sends too. */
	if (n->n_deferred == MNODE_DEFERRED_MAX)
		return -EBUSY;
	advance(n, now);
	n->deferred[n->n_deferred++] = p;
	digest_note(n, AGR_LOG_INFO, n->self, "process_report_deferred",
		    "%s died on this host just after this daemon joined: the report waits until a "
		    "peer's whole table brought our incarnation above our previous life's "
		    "(at most %llu s)",
		    process, (unsigned long long)(MNODE_SETTLE_MAX_NS / UINT64_C(1000000000)));
	if (!n->unsettled)
		settle(n, now);
	return 0;
}

/* ---- outputs ---------------------------------------------------------- */

/* Our view of a member from membership's news, then the agreement's. */
static void on_event(struct mnode *n, const struct mesh_event *e, uint32_t idx)
{
	struct member_time *t = &n->time[idx];
	struct pending p = { .kind = PEND_MEMBER_STATE, .now = e->at_ns, .member = idx,
			     .state = e->new_state, .incarnation = e->incarnation };

	switch (e->new_state) {
	case MESH_SUSPECT:
	case MESH_DEAD:
		/* The failure's time: the first suspicion at this incarnation
		 * (DEAD without a suspicion seen here: now). */
		if (t->suspect_since_ns == 0 || t->incarnation != e->incarnation)
			t->suspect_since_ns = e->at_ns;
		break;
	default: /* ALIVE, LEFT: no failure pending */
		t->suspect_since_ns = 0;
		break;
	}
	n->state[idx] = (uint8_t)e->new_state;
	t->incarnation = e->incarnation;
	(void)agr_feed(n, &p); /* the actions are drained: taken at once */
}

static void membership_out(struct mnode *n, const struct mesh_out *mo, struct mnode_out *o)
{
	o->subject = MNODE_NONE;
	if (mo->kind == MESH_OUT_EVENT) {
		const struct mesh_event *e = &mo->event;
		uint32_t idx = mnode_names_find(n->names, e->name);

		o->kind = MNODE_OUT_MEMBER;
		o->event = *e;
		o->subject = idx;
		o->self = idx == n->self;
		if (idx != MNODE_NONE && idx != n->self)
			on_event(n, e, idx);
		return;
	}
	const struct mesh_send *s = &mo->send;

	o->kind = MNODE_OUT_SEND;
	o->n_to = 1;
	/* By name when membership names the recipient (a name that is not a
	 * member goes nowhere); by address only for a JOIN to a seed. */
	o->to[0] = s->to_name[0] ? mnode_names_find(n->names, s->to_name) : MNODE_NONE;
	if (s->to_name[0])
		o->to_addr[0] = '\0';
	else
		memcpy(o->to_addr, s->to_addr, sizeof(o->to_addr));
	o->act.kind = 0;
	o->msg.kind = MESH_WIRE_SWIM;
	snprintf(o->msg.from, sizeof(o->msg.from), "%s", mnode_names_get(n->names, n->self));
	o->msg.members_digest = n->digest;
	o->msg.members_differ = n->n_other > 0;
	/* The used part only: a message is ~9.5 KiB with every update. */
	memcpy(&o->msg.swim, &s->msg,
	       offsetof(struct mesh_msg, updates) + s->msg.n_updates * sizeof(struct mesh_update));
}

static void set_dests(struct mnode *n, struct mnode_out *o, const struct agr_action *act)
{
	o->n_to = act->n_dest;
	for (uint32_t i = 0; i < act->n_dest; i++)
		o->to[i] = mnode_names_find(n->names, act->dest[i]);
}

static void notify_time(const struct mnode *n, struct mnode_out *o)
{
	const struct agr_action *act = &o->act;
	bool host = act->kind == AGR_ACT_NOTIFY_HOST;
	const struct member_time *t = o->subject != MNODE_NONE ? &n->time[o->subject] : NULL;

	o->failed_at_unix_ns = !host && act->failed_at_unix_ns > 0 ? act->failed_at_unix_ns : 0;
	if (host && t != NULL && t->suspect_since_ns != 0 && t->incarnation == act->incarnation)
		o->failed_at_mono_ns = t->suspect_since_ns;
	else
		o->failed_at_mono_ns = act->decided_at != 0 ? act->decided_at : n->now;
}

/* o->act holds an action just polled: the rest of o from it. */
static void action_out(struct mnode *n, struct mnode_out *o)
{
	const struct agr_action *act = &o->act;

	o->subject = act->subject != NULL ? mnode_names_find(n->names, act->subject) : MNODE_NONE;
	o->msg.kind = 0;
	snprintf(o->msg.from, sizeof(o->msg.from), "%s", mnode_names_get(n->names, n->self));
	o->msg.members_digest = n->digest;
	o->msg.members_differ = n->n_other > 0;
	o->to_addr[0] = '\0';
	o->n_to = 0;
	switch (act->kind) {
	case AGR_ACT_SEND_PROBE:
	case AGR_ACT_SEND_PROBE_ACK:
		o->kind = MNODE_OUT_SEND;
		o->msg.kind = act->kind == AGR_ACT_SEND_PROBE ? MESH_WIRE_PROBE : MESH_WIRE_PROBE_ACK;
		o->msg.nonce = act->nonce;
		o->n_to = 1;
		o->to[0] = act->kind == AGR_ACT_SEND_PROBE
				   ? o->subject
				   : mnode_names_find(n->names, act->peer);
		break;
	case AGR_ACT_SEND_OBSERVATION:
		o->kind = MNODE_OUT_SEND;
		o->msg.kind = MESH_WIRE_OBSERVATION;
		agreement_action_observation(n->agr, act, &o->msg.observation);
		set_dests(n, o, act);
		break;
	case AGR_ACT_SEND_COMPLETION:
		o->kind = MNODE_OUT_SEND;
		o->msg.kind = MESH_WIRE_COMPLETION;
		agreement_action_completion(n->agr, act, &o->msg.completion);
		set_dests(n, o, act);
		break;
	case AGR_ACT_BROADCAST_PROCESS_REPORT:
		o->kind = MNODE_OUT_BROADCAST;
		o->msg.kind = MESH_WIRE_PROCESS_REPORT;
		agreement_action_process_report(n->agr, act, &o->msg.report);
		break;
	case AGR_ACT_FENCE:
		/* Power-cycling is not undone: only ever another configured member. */
		assert(o->subject != MNODE_NONE && o->subject != n->self);
		o->kind = MNODE_OUT_FENCE;
		break;
	case AGR_ACT_NOTIFY_HOST:
	case AGR_ACT_NOTIFY_PROCESS:
		o->kind = MNODE_OUT_NOTIFY;
		notify_time(n, o);
		break;
	case AGR_ACT_LOG:
		o->kind = MNODE_OUT_LOG;
		break;
	}
}

static void note_out(struct mnode *n, struct mnode_out *o)
{
	const struct digest_note *d = &n->notes[n->note_head];

	n->note_head = (n->note_head + 1) % DIGEST_NOTES;
	n->note_len--;
	memset(&o->act, 0, sizeof(o->act));
	o->kind = MNODE_OUT_LOG;
	o->subject = d->subject;
	o->n_to = 0;
	o->msg.kind = 0;
	o->act.kind = AGR_ACT_LOG;
	o->act.level = d->level;
	o->act.subject = mnode_names_get(n->names, d->subject);
	memcpy(o->act.event, d->event, sizeof(o->act.event));
	memcpy(o->act.text, d->text, sizeof(o->act.text));
}

size_t mnode_poll(struct mnode *n, struct mnode_out *out, size_t max)
{
	size_t k = 0;

	while (k < max) {
		/* The digest check's records first: they say why what follows
		 * is held. */
		if (n->note_len > 0) {
			note_out(n, &out[k++]);
			continue;
		}
		/* The agreement's actions first: its inputs are refused while
		 * they pile up. */
		if (agreement_poll_actions(n->agr, &out[k].act, 1) == 1) {
			n->agr_dirty = true;
			action_out(n, &out[k++]);
			continue;
		}
		/* Drained: the inputs it refused, in order. */
		if (n->pend_len > 0) {
			struct pending p = n->pending[n->pend_head];

			n->pend_head = (n->pend_head + 1) % MNODE_PENDING_MAX;
			n->pend_len--;
			int rc = agr_call(n, &p);

			assert(rc != -EBUSY); /* nothing is queued: it cannot be refused */
			(void)rc;
			continue;
		}
		if (membership_poll_output(n->ms, &n->mout, 1) == 1) {
			n->ms_dirty = true;
			membership_out(n, &n->mout, &out[k++]);
			continue;
		}
		/* The agreement's timers after membership's news of this tick. */
		if (n->tick_due) {
			struct pending p = { .kind = PEND_TICK, .now = n->tick_now };

			n->tick_due = false;
			(void)mnode_next_deadline(n); /* refreshes agr_deadline */
			if (n->agr_deadline <= n->tick_now)
				(void)agr_feed(n, &p);
			continue;
		}
		break;
	}
	return k;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t mnode_next_deadline(struct mnode *n)
{
	/* Held only by the timer: a tick must come when it runs out. */
	uint64_t hold_end = n->held && n->n_other == 0 ? n->other_last_ns + n->hold_ns
						      : UINT64_MAX;

	if (n->ms_dirty) {
		n->ms_deadline = membership_next_deadline(n->ms);
		n->ms_dirty = false;
	}
	if (n->agr_dirty) {
		n->agr_deadline = agreement_next_deadline(n->agr);
		n->agr_dirty = false;
	}
	return min_u64(min_u64(n->ms_deadline, n->agr_deadline), hold_end);
}

/* ---- queries ---------------------------------------------------------- */

bool mnode_reachable(const struct mnode *n, uint32_t idx)
{
	if (idx >= mnode_names_count(n->names) || idx == n->self)
		return false;
	return n->state[idx] != MESH_DEAD && n->state[idx] != MESH_LEFT;
}

int mnode_member(const struct mnode *n, uint32_t idx, struct mnode_member *out)
{
	if (idx >= mnode_names_count(n->names))
		return -EINVAL;
	out->state = n->state[idx];
	out->incarnation = n->time[idx].incarnation;
	out->suspect_since_ns = n->time[idx].suspect_since_ns;
	return 0;
}

bool mnode_verdicts_held(const struct mnode *n)
{
	return n->held;
}

uint32_t mnode_digest_mismatches(const struct mnode *n)
{
	return n->n_other;
}

uint64_t mnode_members_digest_of(const struct mnode *n)
{
	return n->digest;
}

uint64_t mnode_member_digest(const struct mnode *n, uint32_t idx)
{
	return idx < mnode_names_count(n->names) ? n->peer_digest[idx] : 0;
}

uint32_t mnode_self(const struct mnode *n)
{
	return n->self;
}

const struct mnode_names *mnode_names(const struct mnode *n)
{
	return n->names;
}

const struct membership *mnode_membership(const struct mnode *n)
{
	return n->ms;
}

const struct agreement *mnode_agreement(const struct mnode *n)
{
	return n->agr;
}
