/* SWIM + Lifeguard membership core; see membership.h for the protocol.
 *
 * Layout of the state
 * -------------------
 * - t: the member table (member_table.h: max_members slots, slot 0 is
 *   us, each member's strings, the name index). When it is full a new
 *   member takes the slot of the oldest dead or left one (here).
 * - order[]: this round's probe order (shuffled); dead/left entries are
 *   skipped when reached. Also the pool random helpers and gossip targets
 *   are drawn from.
 * - suspects[]: the members under suspicion, to find expired timers
 *   without walking the table.
 * - The broadcast queue: members whose current record must be gossiped,
 *   in buckets by how many times it was sent (intrusive lists through the
 *   member slots, newest first). A member is queued at most once; a new
 *   record about it replaces the old one (its count restarts at 0).
 * - The output ring: events and send descriptors; a send's message, and
 *   its piggybacked updates, are built when polled.
 * - relays[]: PING_REQs we serve; syncs[]: SYNC streams we send.
 * - One probe of our own at a time (struct probe). */
#include "mesh/membership.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/rng.h"
#include "base/text.h"
#include "base/units.h"
#include "mesh/member_table.h"

/* ---- internal types ---------------------------------------------------- */

/* Suspicion bookkeeping of suspects[i], in susp[i]: kept out of the
 * member slots, so a node pays for the suspects it holds, not for N. */
struct suspicion {
	uint64_t deadline_ns;
	uint32_t accusers[MESH_MAX_CONFIRMATIONS + 1]; /* 32-bit name hashes: a
		collision only loses a confirmation (a longer timer) */
	uint32_t n_accusers;
	uint32_t expected;
};

struct relay {
	bool active;
	bool want_nack;
	uint64_t our_seq, their_seq;
	uint64_t deadline_ns;
	char to_name[MESH_NAME_MAX];
	char to_addr[MESH_ADDR_MAX];
};

struct sync_session {
	bool active;
	uint32_t cursor;
	char to_name[MESH_NAME_MAX];
	char to_addr[MESH_ADDR_MAX];
};

struct out_send {
	uint32_t type;
	uint32_t flags;
	bool header_only; /* a GOSSIP sent even without updates (leave) */
	bool buddy_only;  /* the destination's own record, no queued ones
			     (a reconnect ping: a transmission to a member
			     likely dead must not use up a record's sends) */
	uint64_t seq;
	uint64_t timeout_ns;
	char to_name[MESH_NAME_MAX];
	char to_addr[MESH_ADDR_MAX];
	char target[MESH_NAME_MAX];
	char target_addr[MESH_ADDR_MAX];
};

struct out_entry {
	uint32_t kind;
	union {
		struct out_send send;
		struct mesh_event event;
	};
};

struct probe {
	bool active;
	bool indirect; /* PING_REQs sent (or none possible) */
	uint32_t member;
	uint32_t name_hash; /* detects the slot being reused meanwhile */
	uint64_t seq;
	uint64_t start_ns, direct_deadline_ns, end_ns;
	uint32_t nacks_expected, nacks_received;
};

struct membership {
	struct membership_config cfg;
	uint64_t now;
	struct xoshiro256 rng;
	uint64_t seq;
	uint32_t lhm;
	bool joined, leaving;
	uint32_t leave_cursor; /* leaving: next member slot tell_leave() tells */

	struct member_table t;

	uint32_t *order;
	uint32_t order_len, order_pos, order_cap;
	uint32_t *suspects;
	struct suspicion *susp; /* parallel to suspects[] */
	uint32_t n_suspects;

	uint32_t bq_head[MESH_MAX_RETRANSMITS];
	uint32_t bq_len;

	struct out_entry *out;
	uint32_t out_head, out_len, out_cap;

	struct relay relays[MESH_MAX_RELAYS];
	struct sync_session syncs[MESH_MAX_SYNC_SESSIONS];
	struct probe probe;

	uint64_t next_probe_at, next_gossip_at, last_gossip_at;
	uint64_t join_retry_at, next_sync_at;
	uint64_t next_reconnect_at, last_death_at; /* reconnect pings (dead_reconnect) */
	/* A member back from the dead to push-pull with (MT_NIL: none),
	 * and when the last such push-pull went out (0: never). */
	uint32_t revived, revived_hash;
	uint64_t revival_sync_at;
	char seeds[MESH_MAX_SEEDS][MESH_ADDR_MAX];
	uint32_t n_seeds;

	struct mesh_summary summary;
	struct mesh_counters counters;
};

enum source { SRC_HEADER, SRC_GOSSIP, SRC_SYNC };

/* A reconnect ping (dead_reconnect) every this many probe intervals
 * (1 s by default): an outage's dead members still hear of their death
 * within about a second of its heal, and a member without a majority
 * sends one small message a second while it has recently dead ones. */
#define RECONNECT_PROBES 5u

/* ---- small helpers ----------------------------------------------------- */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* NUL inside the array, no control characters, non-empty if required. */
static bool str_ok(const char *s, size_t cap, bool nonempty)
{
	const char *end = memchr(s, '\0', cap);

	assert(s && cap > 0);
	if (!end || (nonempty && end == s))
		return false;
	return !text_has_control_n(s, (size_t)(end - s));
}

static uint64_t scaled(const struct membership *m, uint64_t ns)
{
	assert(m->lhm <= m->cfg.lhm_max);
	return ns * (m->lhm + 1u);
}

static void lhm_add(struct membership *m, int delta)
{
	int64_t v = (int64_t)m->lhm + delta;

	assert(delta >= -1 && delta <= (int)MESH_MAX_INDIRECT + 1);
	if (v < 0)
		v = 0;
	if (v > (int64_t)m->cfg.lhm_max)
		v = m->cfg.lhm_max;
	m->lhm = (uint32_t)v;
	assert(m->lhm <= m->cfg.lhm_max);
}

/* An RTT kept in 32 bits: microseconds rounded up (a nonzero RTT stays
 * nonzero, and a duration <= a whole number of microseconds stays <= it),
 * saturated at ~71 minutes. */
static uint32_t rtt_us(uint64_t ns)
{
	uint64_t us = ns / 1000u + (ns % 1000u != 0);

	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Members counted for the retransmit limit and K: not dead, not left,
 * ourselves included. */
static uint32_t live_count(const struct membership *m)
{
	return m->summary.alive + m->summary.suspect + 1u;
}

/* ---- pure helpers (public) --------------------------------------------- */

uint32_t membership_retransmit_limit(uint32_t retransmit_mult, uint32_t n)
{
	uint64_t p = 1;
	uint32_t digits = 0;

	assert(retransmit_mult <= MESH_MAX_RETRANSMIT_MULT);
	/* smallest d with 10^d >= n + 1, i.e. ceil(log10(n + 1)) */
	while (p < (uint64_t)n + 1) {
		p *= 10;
		digits++;
	}
	assert(digits <= 10);
	return retransmit_mult * digits;
}

uint64_t membership_suspicion_timeout(uint64_t min_ns, uint64_t max_ns, uint32_t k, uint32_t c)
{
	double frac, raw;
	uint64_t t;

	assert(min_ns <= max_ns);
	if (k == 0 || c >= k)
		return min_ns;
	frac = log((double)c + 1.0) / log((double)k + 1.0);
	raw = (double)max_ns - (double)(max_ns - min_ns) * frac;
	if (raw <= (double)min_ns)
		t = min_ns;
	else if (raw >= (double)max_ns)
		t = max_ns;
	else
		t = (uint64_t)floor(raw);
	assert(t >= min_ns && t <= max_ns);
	return t;
}

const char *mesh_state_name(uint32_t state)
{
	switch (state) {
	case MESH_STATE_NONE: return "none";
	case MESH_ALIVE: return "alive";
	case MESH_SUSPECT: return "suspect";
	case MESH_DEAD: return "dead";
	case MESH_LEFT: return "left";
	default: return "?";
	}
}

const char *mesh_msg_type_name(uint32_t type)
{
	switch (type) {
	case MESH_MSG_PING: return "ping";
	case MESH_MSG_ACK: return "ack";
	case MESH_MSG_PING_REQ: return "ping-req";
	case MESH_MSG_NACK: return "nack";
	case MESH_MSG_GOSSIP: return "gossip";
	case MESH_MSG_JOIN: return "join";
	case MESH_MSG_SYNC: return "sync";
	default: return "?";
	}
}

/* ---- validation -------------------------------------------------------- */

static const char *update_invalid(const struct mesh_update *u, bool is_sender)
{
	assert(u);
	assert(MESH_INCARNATION_MAX < UINT64_MAX - 2); /* room for +1 refutations */
	if (!str_ok(u->name, sizeof(u->name), true))
		return "update name not terminated, empty or with control characters";
	if (!str_ok(u->addr, sizeof(u->addr), true))
		return "update addr not terminated, empty or with control characters";
	if (!str_ok(u->by, sizeof(u->by), false))
		return "update by not terminated or with control characters";
	if (u->incarnation > MESH_INCARNATION_MAX)
		return "incarnation out of range";
	if (is_sender) {
		if (u->state != MESH_ALIVE && u->state != MESH_LEFT)
			return "sender state must be alive or left";
		if (u->by[0] != '\0')
			return "sender by must be empty";
		return NULL;
	}
	if (u->state < MESH_ALIVE || u->state > MESH_LEFT)
		return "update state out of range";
	if ((u->state == MESH_SUSPECT || u->state == MESH_DEAD) && u->by[0] == '\0')
		return "suspect/dead update without by";
	return NULL;
}

int mesh_msg_validate(const struct mesh_msg *msg, const char **why)
{
	const char *bad = NULL;

	assert(msg);
	if (msg->type < MESH_MSG_PING || msg->type > MESH_MSG_TYPE_MAX)
		bad = "unknown message type";
	else if (msg->flags & ~MESH_FLAGS_ALL)
		bad = "unknown flags";
	else if (msg->n_updates > MESH_MAX_UPDATES)
		bad = "too many updates";
	else if (!str_ok(msg->target, sizeof(msg->target), false))
		bad = "target not terminated or with control characters";
	else if (!str_ok(msg->target_addr, sizeof(msg->target_addr), false))
		bad = "target_addr not terminated or with control characters";
	else
		bad = update_invalid(&msg->sender, true);
	if (!bad && (msg->type == MESH_MSG_PING || msg->type == MESH_MSG_PING_REQ) &&
	    msg->target[0] == '\0')
		bad = "ping without target";
	if (!bad && msg->type == MESH_MSG_PING_REQ) {
		if (msg->target_addr[0] == '\0')
			bad = "ping-req without target address";
		else if (msg->timeout_ns == 0 || msg->timeout_ns > MESH_MAX_TIMEOUT_NS)
			bad = "ping-req timeout out of range";
	}
	for (uint32_t i = 0; !bad && i < msg->n_updates; i++)
		bad = update_invalid(&msg->updates[i], false);
	if (why)
		*why = bad;
	assert(bad == NULL || bad[0] != '\0');
	return bad ? -EINVAL : 0;
}

/* ---- configuration ----------------------------------------------------- */

void membership_config_default(struct membership_config *cfg)
{
	assert(cfg);
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_members = 1024;
	cfg->probe_interval_ns = 200 * NS_PER_MS;
	cfg->probe_timeout_ns = 100 * NS_PER_MS;
	cfg->indirect_checks = 3;
	cfg->retransmit_mult = 4;
	cfg->suspicion_min_ns = 400 * NS_PER_MS;
	cfg->suspicion_max_ns = 3000 * NS_PER_MS;
	cfg->suspicion_confirmations = 3;
	cfg->suspect_probers = 8;
	cfg->lhm_max = 8;
	cfg->gossip_interval_ns = 50 * NS_PER_MS;
	cfg->gossip_nodes = 3;
	cfg->sync_interval_ns = 30000 * NS_PER_MS;
	cfg->dead_reconnect_ns = 30000 * NS_PER_MS;
	cfg->join_retry_ns = 1000 * NS_PER_MS;
	cfg->max_piggyback_bytes = 1400;
	cfg->max_updates_per_msg = MESH_MAX_UPDATES;
	cfg->out_queue_len = 128;
	cfg->seed = 0;
	assert(membership_config_check(cfg, NULL, 0) == 0);
}

int membership_config_check(const struct membership_config *cfg, char *err, size_t errlen)
{
	const char *bad = NULL;

	assert(cfg);
	assert(err || errlen == 0);
	if (cfg->max_members < 2 || cfg->max_members > MESH_MAX_MEMBERS)
		bad = "max_members must be 2..16384";
	else if (cfg->probe_timeout_ns < 100000 || cfg->probe_timeout_ns > MESH_MAX_TIMEOUT_NS / 2)
		bad = "probe_timeout must be 100 us..30 s";
	else if (cfg->probe_interval_ns < 2 * cfg->probe_timeout_ns ||
		 cfg->probe_interval_ns > MESH_MAX_TIMEOUT_NS)
		bad = "probe_interval must be 2 * probe_timeout..60 s";
	else if (cfg->indirect_checks > MESH_MAX_INDIRECT)
		bad = "indirect_checks must be 0..8";
	else if (cfg->retransmit_mult < 1 || cfg->retransmit_mult > MESH_MAX_RETRANSMIT_MULT)
		bad = "retransmit_mult must be 1..16";
	else if (cfg->suspicion_min_ns == 0 || cfg->suspicion_min_ns > cfg->suspicion_max_ns ||
		 cfg->suspicion_max_ns > 10 * MESH_MAX_TIMEOUT_NS)
		bad = "suspicion timeouts must be 0 < min <= max <= 600 s";
	else if (cfg->suspicion_confirmations > MESH_MAX_CONFIRMATIONS)
		bad = "suspicion_confirmations must be 0..8";
	else if (cfg->suspect_probers > MESH_MAX_MEMBERS)
		bad = "suspect_probers must be 0..16384";
	else if (cfg->lhm_max > MESH_MAX_LHM)
		bad = "lhm_max must be 0..16";
	else if (cfg->gossip_interval_ns < 1000000 || cfg->gossip_interval_ns > MESH_MAX_TIMEOUT_NS)
		bad = "gossip_interval must be 1 ms..60 s";
	else if (cfg->gossip_nodes > MESH_MAX_GOSSIP_NODES)
		bad = "gossip_nodes must be 0..8";
	else if (cfg->sync_interval_ns != 0 && (cfg->sync_interval_ns < 100 * NS_PER_MS ||
						cfg->sync_interval_ns > 3600 * NS_PER_S))
		bad = "sync_interval must be 0 (off) or 100 ms..1 h";
	else if (cfg->dead_reconnect_ns > 3600 * NS_PER_S)
		bad = "dead_reconnect must be 0 (off)..1 h";
	else if (cfg->join_retry_ns < 10 * NS_PER_MS || cfg->join_retry_ns > 10 * MESH_MAX_TIMEOUT_NS)
		bad = "join_retry must be 10 ms..600 s";
	else if (cfg->max_piggyback_bytes < MESH_UPDATE_MAX_WIRE || cfg->max_piggyback_bytes > 65536)
		bad = "max_piggyback_bytes must be 280..65536";
	else if (cfg->max_updates_per_msg < 1 || cfg->max_updates_per_msg > MESH_MAX_UPDATES)
		bad = "max_updates_per_msg must be 1..32";
	else if (cfg->out_queue_len < MESH_MIN_OUT_QUEUE || cfg->out_queue_len > MESH_MAX_OUT_QUEUE)
		bad = "out_queue_len must be 72..65536";
	if (bad && err && errlen > 0)
		snprintf(err, errlen, "%s", bad);
	return bad ? -EINVAL : 0;
}

/* ---- output ring ------------------------------------------------------- */

static uint32_t out_room(const struct membership *m)
{
	assert(m->out_len <= m->out_cap);
	return m->out_cap - m->out_len;
}

static struct out_entry *out_push(struct membership *m, uint32_t kind)
{
	struct out_entry *e;

	assert(kind == MESH_OUT_SEND || kind == MESH_OUT_EVENT);
	assert(out_room(m) > 0); /* callers reserve room first */
	e = &m->out[(m->out_head + m->out_len) % m->out_cap];
	m->out_len++;
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	return e;
}

static struct out_send *push_send(struct membership *m, uint32_t type, const char *to_name,
				  const char *to_addr)
{
	struct out_send *s = &out_push(m, MESH_OUT_SEND)->send;

	assert(type >= MESH_MSG_PING && type <= MESH_MSG_TYPE_MAX);
	assert(to_addr && to_addr[0] != '\0');
	s->type = type;
	copy_str(s->to_name, sizeof(s->to_name), to_name ? to_name : "");
	copy_str(s->to_addr, sizeof(s->to_addr), to_addr);
	return s;
}

static void push_event(struct membership *m, const struct member *mb, uint32_t old_state)
{
	struct mesh_event *ev = &out_push(m, MESH_OUT_EVENT)->event;

	assert(mb != &m->t.members[MT_SELF]);
	assert(old_state != mb->state || mb->state == MESH_DEAD);
	copy_str(ev->name, sizeof(ev->name), member_name(&m->t, mb));
	copy_str(ev->addr, sizeof(ev->addr), member_addr(&m->t, mb));
	copy_str(ev->by, sizeof(ev->by), member_by(&m->t, mb));
	ev->incarnation = mb->incarnation;
	ev->at_ns = m->now;
	ev->old_state = old_state;
	ev->new_state = mb->state;
}

/* ---- broadcast queue --------------------------------------------------- */

static void bq_unlink(struct membership *m, uint32_t idx)
{
	struct member *mb = &m->t.members[idx];

	assert(mb->bq_queued && mb->bq_transmits < MESH_MAX_RETRANSMITS);
	assert(m->bq_len > 0);
	if (mb->bq_prev != MT_NIL)
		m->t.members[mb->bq_prev].bq_next = mb->bq_next;
	else
		m->bq_head[mb->bq_transmits] = mb->bq_next;
	if (mb->bq_next != MT_NIL)
		m->t.members[mb->bq_next].bq_prev = mb->bq_prev;
	mb->bq_prev = mb->bq_next = MT_NIL;
	mb->bq_queued = false;
	m->bq_len--;
}

static void bq_link(struct membership *m, uint32_t idx, uint32_t transmits)
{
	struct member *mb = &m->t.members[idx];

	assert(!mb->bq_queued && transmits < MESH_MAX_RETRANSMITS);
	mb->bq_transmits = transmits;
	mb->bq_prev = MT_NIL;
	mb->bq_next = m->bq_head[transmits];
	if (mb->bq_next != MT_NIL)
		m->t.members[mb->bq_next].bq_prev = idx;
	m->bq_head[transmits] = idx;
	mb->bq_queued = true;
	m->bq_len++;
	assert(m->bq_len <= m->cfg.max_members);
}

/* Gossip rounds (GOSSIP to gossip_nodes members) are due while a queued
 * record has been sent fewer than gossip_nodes times, while more records
 * are queued than one message carries, or while our own "left" record
 * is queued: a round takes news one hop in every
 * direction, and its other transmissions ride on pings and acks (and on
 * rounds due for fresher news), fewest-transmitted first. So a node
 * sends at most one round per gossip interval, however much news the
 * cluster makes. */
static bool bq_gossip_due(const struct membership *m)
{
	uint32_t fresh = m->cfg.gossip_nodes < MESH_MAX_RETRANSMITS ? m->cfg.gossip_nodes
							    : MESH_MAX_RETRANSMITS;

	if (m->bq_len == 0)
		return false;
	/* a backlog (a SYNC, a warm start, a healed partition) drains at the
	 * rounds' pace, not only at the probes' */
	if (m->bq_len > m->cfg.max_updates_per_msg)
		return true;
	if (m->leaving && m->t.members[MT_SELF].bq_queued)
		return true;
	for (uint32_t t = 0; t < fresh; t++)
		if (m->bq_head[t] != MT_NIL)
			return true;
	return false;
}

/* Queues a member's (new) record for dissemination, due in the next
 * gossip round: at once if we sent none for a gossip interval, else one
 * interval after the last round. News is batched: the cluster's false
 * suspicions and refutations grow with N, the rounds do not. Deaths,
 * leaves and our own record (a refutation) are urgent: a round at once,
 * at most four per interval, as they are rare per node whatever N is
 * (one per real failure, or per suspicion of ourselves), and a death's
 * spread is detection time. */
static void bq_queue(struct membership *m, uint32_t idx)
{
	const struct member *mb = &m->t.members[idx];
	bool urgent;
	uint64_t due;

	assert(idx < m->cfg.max_members);
	assert(m->t.members[idx].state != MESH_STATE_NONE);
	if (m->t.members[idx].bq_queued)
		bq_unlink(m, idx);
	bq_link(m, idx, 0);
	urgent = idx == MT_SELF || mb->state == MESH_DEAD || mb->state == MESH_LEFT;
	due = m->last_gossip_at == 0 ? m->now
		: max_u64(m->now, m->last_gossip_at + (urgent ? m->cfg.gossip_interval_ns / 4
							      : m->cfg.gossip_interval_ns));
	if (due < m->next_gossip_at)
		m->next_gossip_at = due;
}

/* One more transmission of a queued record; dropped at the limit. */
static void bq_sent(struct membership *m, uint32_t idx, uint32_t limit)
{
	uint32_t t = m->t.members[idx].bq_transmits + 1;

	assert(m->t.members[idx].bq_queued);
	bq_unlink(m, idx);
	if (t < limit && t < MESH_MAX_RETRANSMITS)
		bq_link(m, idx, t);
	assert(m->t.members[idx].bq_queued == (t < limit && t < MESH_MAX_RETRANSMITS));
}

/* ---- probe order ------------------------------------------------------- */

static bool probeable(const struct membership *m, uint32_t idx)
{
	uint8_t st = m->t.members[idx].state;

	return idx != MT_SELF && (st == MESH_ALIVE || st == MESH_SUSPECT);
}

/* A new (or revived) member goes to a random place of the rest of this
 * round (SWIM), so it is probed within the round. */
static void order_insert(struct membership *m, uint32_t idx)
{
	uint32_t j;

	assert(idx != MT_SELF && idx < m->cfg.max_members);
	assert(m->order_pos <= m->order_len);
	if (m->order_len == m->order_cap)
		return; /* the next round includes it */
	j = m->order_pos + (uint32_t)xoshiro256_below(&m->rng, m->order_len - m->order_pos + 1u);
	m->order[m->order_len] = m->order[j];
	m->order[j] = idx;
	m->order_len++;
	assert(m->order_len <= m->order_cap);
}

/* Someone else suspects idx: with probability suspect_probers / (N - 1)
 * it becomes our next probe target, so about suspect_probers members
 * check it within a probe interval and their verdicts (confirmations)
 * arrive together. Reordering only: we still probe once per interval. */
static void order_put_next(struct membership *m, uint32_t idx)
{
	assert(m->order_len < m->order_cap && m->order_pos <= m->order_len);
	m->order[m->order_len++] = m->order[m->order_pos];
	m->order[m->order_pos] = idx;
	assert(m->order_len <= m->order_cap);
}

static void order_promote(struct membership *m, uint32_t idx)
{
	uint32_t others = live_count(m) - 1;

	assert(idx != MT_SELF && m->t.members[idx].state == MESH_SUSPECT);
	assert(m->order_pos <= m->order_len);
	if (m->cfg.suspect_probers == 0 || m->leaving || m->order_len == m->order_cap ||
	    (m->probe.active && m->probe.member == idx))
		return;
	if (others > m->cfg.suspect_probers &&
	    xoshiro256_below(&m->rng, others) >= m->cfg.suspect_probers)
		return;
	order_put_next(m, idx);
}

/* New round: every probeable member, Fisher-Yates shuffled. */
static void order_rebuild(struct membership *m)
{
	uint32_t n = 0;

	for (uint32_t i = 1; i < m->cfg.max_members; i++)
		if (probeable(m, i))
			m->order[n++] = i;
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = (uint32_t)xoshiro256_below(&m->rng, i);
		uint32_t t = m->order[i - 1];
		m->order[i - 1] = m->order[j];
		m->order[j] = t;
	}
	m->order_len = n;
	m->order_pos = 0;
	assert(n <= m->summary.alive + m->summary.suspect);
	assert(n <= m->order_cap);
}

/* Up to want distinct random members from the order pool that satisfy
 * the filter (alive_only: alive, else alive or suspect), excluding
 * `exclude`. Bounded attempts: a stale pool yields fewer. */
static uint32_t pick_random(struct membership *m, uint32_t want, bool alive_only,
			    uint32_t exclude, uint32_t *picked)
{
	uint32_t n = 0;

	assert(want <= MESH_MAX_GOSSIP_NODES || want <= MESH_MAX_INDIRECT);
	if (m->order_len == 0)
		return 0;
	for (uint32_t attempt = 0; n < want && attempt < 4 * want + 8; attempt++) {
		uint32_t idx = m->order[xoshiro256_below(&m->rng, m->order_len)];
		bool dup = false;
		if (!probeable(m, idx) || idx == exclude)
			continue;
		if (alive_only && m->t.members[idx].state != MESH_ALIVE)
			continue;
		for (uint32_t k = 0; k < n; k++)
			dup = dup || picked[k] == idx;
		if (!dup)
			picked[n++] = idx;
	}
	assert(n <= want);
	return n;
}

/* ---- member table ------------------------------------------------------ */

static void suspects_remove(struct membership *m, uint32_t idx)
{
	struct member *mb = &m->t.members[idx];
	uint32_t pos = mb->suspect_pos;

	assert(pos < m->n_suspects && m->suspects[pos] == idx);
	m->n_suspects--;
	if (pos != m->n_suspects) {
		m->suspects[pos] = m->suspects[m->n_suspects];
		m->susp[pos] = m->susp[m->n_suspects];
		m->t.members[m->suspects[pos]].suspect_pos = pos;
	}
	mb->suspect_pos = MT_NIL;
	assert(m->n_suspects < m->cfg.max_members);
}

static uint32_t *summary_slot(struct membership *m, uint8_t state)
{
	switch (state) {
	case MESH_ALIVE: return &m->summary.alive;
	case MESH_SUSPECT: return &m->summary.suspect;
	case MESH_DEAD: return &m->summary.dead;
	case MESH_LEFT: return &m->summary.left;
	default: return NULL;
	}
}

/* Undoes the protocol's bookkeeping of idx, then frees its slot. */
static void member_free(struct membership *m, uint32_t idx)
{
	struct member *mb = &m->t.members[idx];
	uint32_t *cnt = summary_slot(m, mb->state);

	assert(idx != MT_SELF && mb->state != MESH_STATE_NONE);
	assert(cnt && *cnt > 0);
	(*cnt)--;
	if (mb->bq_queued)
		bq_unlink(m, idx);
	if (mb->suspect_pos != MT_NIL)
		suspects_remove(m, idx);
	member_slot_release(&m->t, idx);
}

/* A free slot, evicting the oldest dead or left member if needed. */
static uint32_t member_alloc(struct membership *m)
{
	uint32_t victim = MT_NIL;

	if (m->t.n_free == 0) {
		for (uint32_t i = 1; i < m->cfg.max_members; i++) {
			const struct member *mb = &m->t.members[i];
			if ((mb->state == MESH_DEAD || mb->state == MESH_LEFT) &&
			    (victim == MT_NIL ||
			     mb->state_since_ns < m->t.members[victim].state_since_ns))
				victim = i;
		}
		if (victim == MT_NIL)
			return MT_NIL;
		member_free(m, victim);
		m->counters.members_evicted++;
	}
	return member_slot_take(&m->t);
}

static struct suspicion *susp_of(struct membership *m, const struct member *mb)
{
	assert(mb->state == MESH_SUSPECT && mb->suspect_pos < m->n_suspects);
	return &m->susp[mb->suspect_pos];
}

static void suspicion_update_deadline(struct membership *m, struct member *mb)
{
	struct suspicion *sp = susp_of(m, mb);
	uint32_t c = sp->n_accusers > 0 ? sp->n_accusers - 1 : 0;

	sp->deadline_ns = mb->state_since_ns +
		membership_suspicion_timeout(m->cfg.suspicion_min_ns, m->cfg.suspicion_max_ns,
					     sp->expected, c);
	assert(sp->deadline_ns >= mb->state_since_ns + m->cfg.suspicion_min_ns);
}

/* Records an accuser; true when it is new and counts (a confirmation
 * beyond the first accuser, up to K of them). */
static bool suspicion_add_accuser(struct membership *m, struct member *mb, const char *by)
{
	struct suspicion *sp = susp_of(m, mb);
	uint64_t h64 = fnv1a64(by);
	uint32_t h = (uint32_t)(h64 ^ (h64 >> 32));

	assert(sp->n_accusers <= MESH_MAX_CONFIRMATIONS + 1);
	for (uint32_t i = 0; i < sp->n_accusers; i++)
		if (sp->accusers[i] == h)
			return false;
	if (sp->n_accusers >= sp->expected + 1 || sp->n_accusers >= MESH_MAX_CONFIRMATIONS + 1)
		return false; /* the timeout is at its minimum already */
	sp->accusers[sp->n_accusers++] = h;
	return true;
}

/* A suspicion starts now, accused by mby(): K from the current
 * membership (capped at N - 2: the suspect and the accuser cannot
 * confirm), the first accuser recorded, the timer at its maximum. */
static void suspicion_start(struct membership *m, uint32_t idx)
{
	struct member *mb = &m->t.members[idx];
	struct suspicion *sp = susp_of(m, mb);
	uint32_t n = live_count(m); /* the suspect counted */

	assert(mb->by_ref != REF_NONE);
	mb->state_since_ns = m->now;
	sp->expected = m->cfg.suspicion_confirmations;
	if (n < 2 + sp->expected)
		sp->expected = n >= 2 ? n - 2 : 0;
	sp->n_accusers = 0;
	suspicion_add_accuser(m, mb, member_by(&m->t, mb));
	suspicion_update_deadline(m, mb);
	if (mb->by_ref != REF_SELF)
		order_promote(m, idx);
}

/* The one place a member other than us changes state: summary, suspicion
 * bookkeeping, probe order, event and dissemination. The caller has
 * checked the transition is allowed and reserved one output. */
static void member_set_state(struct membership *m, uint32_t idx, uint8_t state, uint64_t inc,
			     const char *by)
{
	struct member *mb = &m->t.members[idx];
	uint8_t old = mb->state;
	uint64_t old_inc = mb->incarnation;
	uint32_t *cnt;

	assert(idx != MT_SELF && state >= MESH_ALIVE && state <= MESH_LEFT);
	assert(old == MESH_STATE_NONE || inc >= mb->incarnation);
	if ((cnt = summary_slot(m, old)) != NULL) {
		assert(*cnt > 0);
		(*cnt)--;
	}
	(*summary_slot(m, state))++;
	if (old == MESH_SUSPECT && state != MESH_SUSPECT)
		suspects_remove(m, idx);
	mb->state = state;
	mb->incarnation = inc;
	if (!member_set_strings(&m->t, mb, NULL, NULL, by))
		assert(!"callers check strings_fit()");
	if (old != state)
		mb->state_since_ns = m->now;
	if (state == MESH_DEAD && old != MESH_DEAD) {
		m->last_death_at = m->now;
		if (m->next_reconnect_at == 0)
			m->next_reconnect_at = m->now + RECONNECT_PROBES * m->cfg.probe_interval_ns;
	}
	if (state == MESH_SUSPECT && old != MESH_SUSPECT) {
		mb->suspect_pos = m->n_suspects;
		m->suspects[m->n_suspects++] = idx;
		suspicion_start(m, idx);
	}
	if (state == MESH_ALIVE && old != MESH_ALIVE && old != MESH_SUSPECT)
		order_insert(m, idx);
	if (state == MESH_ALIVE && old == MESH_DEAD && m->revived == MT_NIL &&
	    (m->revival_sync_at == 0 ||
	     m->now - m->revival_sync_at >= RECONNECT_PROBES * m->cfg.probe_interval_ns)) {
		/* back from the dead: what we missed while apart (records
		 * gossiped then, lost in the outage) comes by push-pull with
		 * it, at the next tick; at most one a reconnect interval */
		m->revived = idx;
		m->revived_hash = mb->name_hash;
		if (m->joined && !m->leaving)
			m->next_sync_at = m->now;
	}
	if (old != state || (state == MESH_DEAD && inc != old_inc))
		push_event(m, mb, old);
	bq_queue(m, idx);
	assert(m->summary.alive + m->summary.suspect + m->summary.dead + m->summary.left +
	       m->t.n_free + 1 == m->cfg.max_members);
}

/* ---- applying updates -------------------------------------------------- */

/* Someone holds a record about us that is not our current one, at an
 * incarnation >= ours: assert ourselves with a higher incarnation. */
static void apply_self(struct membership *m, const struct mesh_update *u)
{
	struct member *self = &m->t.members[MT_SELF];

	assert(strcmp(u->name, member_name(&m->t, self)) == 0);
	if (u->incarnation < self->incarnation)
		return;
	if (u->incarnation >= MESH_INCARNATION_MAX / 2 ||
	    (u->incarnation - self->incarnation > MESH_INCARNATION_LEAD &&
	     self->incarnation != 0)) {
		/* Nobody honest holds us this far above what we said (see
		 * "Authority"): a forgery, not to be chased towards the top.
		 * Only a fresh start (incarnation 0: a restarted daemon does
		 * not know what its previous life said) jumps far, and never
		 * into the upper half, so a refutation always stays possible. */
		m->counters.updates_refused++;
		return;
	}
	if (u->incarnation == self->incarnation && u->state == self->state &&
	    strcmp(u->addr, member_addr(&m->t, self)) == 0)
		return;
	self->incarnation = u->incarnation + 1;
	m->counters.refutations++;
	if (u->state == MESH_SUSPECT || u->state == MESH_DEAD)
		lhm_add(m, 1); /* Lifeguard: being accused hints we are slow */
	bq_queue(m, MT_SELF);
	assert(self->incarnation <= MESH_INCARNATION_MAX);
}

/* A record about someone other than its sender (see "Authority"): a
 * LEFT is not taken (its subject is probed next, to hear it first-hand),
 * nor an incarnation more than MESH_INCARNATION_LEAD above the subject's
 * own word. True when the record may be applied. */
static bool hearsay_acceptable(struct membership *m, const struct mesh_update *u, uint32_t idx)
{
	const struct member *mb = idx == MT_NIL ? NULL : &m->t.members[idx];

	if (u->state == MESH_LEFT) {
		m->counters.left_hearsay++;
		if (mb && (mb->state == MESH_ALIVE || mb->state == MESH_SUSPECT) && !m->leaving &&
		    m->order_len < m->order_cap && !(m->probe.active && m->probe.member == idx))
			order_put_next(m, idx);
		return false;
	}
	if (u->incarnation > (mb ? mb->heard_inc : 0) + MESH_INCARNATION_LEAD) {
		m->counters.updates_refused++;
		return false;
	}
	return true;
}

/* Applies one record (validated). `sender` is the message's sender. */
static void apply_update(struct membership *m, const struct mesh_update *u, enum source src,
			 const char *sender)
{
	uint32_t state = u->state;
	const char *by = u->by;
	uint32_t idx;
	struct member *mb;
	bool first_hand = strcmp(u->name, sender) == 0;

	assert(state >= MESH_ALIVE && state <= MESH_LEFT);
	assert(out_room(m) >= 1);
	if (src == SRC_SYNC && state == MESH_DEAD) {
		/* memberlist: a peer's "dead" may be stale; suspect it and
		 * let the member refute. But one newer than the dead we hold
		 * is taken as from gossip (see MESH_DEAD below): it accuses
		 * nobody we hold alive. */
		uint32_t held = member_find(&m->t, u->name);
		if (held == MT_NIL || held == MT_SELF || m->t.members[held].state != MESH_DEAD ||
		    u->incarnation <= m->t.members[held].incarnation) {
			state = MESH_SUSPECT;
			by = sender;
		}
	}
	if (strcmp(u->name, member_name(&m->t, &m->t.members[MT_SELF])) == 0) {
		apply_self(m, u);
		return;
	}
	idx = member_find(&m->t, u->name);
	if (!first_hand && !hearsay_acceptable(m, u, idx))
		return;
	if (idx == MT_NIL) {
		if (state != MESH_ALIVE)
			return; /* no news about strangers but that they live */
		idx = member_alloc(m);
		if (idx == MT_NIL) {
			m->counters.members_rejected++;
			return;
		}
		mb = &m->t.members[idx];
		if (!member_set_strings(&m->t, mb, u->name, u->addr, "")) {
			/* directory in use and no own block for a stranger */
			member_slot_untake(&m->t, idx); /* taken again next */
			m->counters.members_rejected++;
			return;
		}
		mb->heard_inc = first_hand ? u->incarnation : 0;
		member_set_state(m, idx, MESH_ALIVE, u->incarnation, "");
		/* inserted into the index once its state is set */
		member_index_insert(&m->t, idx);
		return;
	}
	mb = &m->t.members[idx];
	if (first_hand && u->incarnation > mb->heard_inc)
		mb->heard_inc = u->incarnation;
	switch (state) {
	case MESH_ALIVE:
		if (u->incarnation <= mb->incarnation)
			return;
		if (!member_set_strings(&m->t, mb, NULL, u->addr, "")) {
			m->counters.members_rejected++;
			return;
		}
		member_set_state(m, idx, MESH_ALIVE, u->incarnation, "");
		return;
	case MESH_SUSPECT:
		if (u->incarnation < mb->incarnation || mb->state == MESH_DEAD ||
		    mb->state == MESH_LEFT)
			return;
		if (!member_strings_fit(&m->t, mb, NULL, NULL, by)) {
			m->counters.members_rejected++;
			return;
		}
		if (mb->state == MESH_SUSPECT && u->incarnation > mb->incarnation) {
			/* it refuted (we missed that) and is suspected again: a
			 * new suspicion with a new timer; still suspect, no event */
			mb->incarnation = u->incarnation;
			member_set_strings(&m->t, mb, NULL, NULL, by);
			suspicion_start(m, idx);
			bq_queue(m, idx);
			return;
		}
		if (mb->state == MESH_SUSPECT) {
			if (suspicion_add_accuser(m, mb, by)) {
				/* a confirmation: shorter timer, and re-gossip it */
				member_set_strings(&m->t, mb, NULL, NULL, by);
				suspicion_update_deadline(m, mb);
				m->counters.confirmations++;
				bq_queue(m, idx);
			}
			return;
		}
		member_set_state(m, idx, MESH_SUSPECT, u->incarnation, by);
		return;
	case MESH_DEAD:
		/* Dead at a newer incarnation than the dead we hold: it came
		 * back (we missed its ALIVE) and failed again. Taken, with an
		 * event: the agreement probes and observes only the
		 * incarnation membership holds, and a designated observer
		 * stuck on the old one kept a real power loss from a verdict. */
		if (u->incarnation < mb->incarnation || mb->state == MESH_LEFT ||
		    (mb->state == MESH_DEAD && u->incarnation == mb->incarnation))
			return;
		if (!member_strings_fit(&m->t, mb, NULL, NULL, by)) {
			m->counters.members_rejected++;
			return;
		}
		member_set_state(m, idx, MESH_DEAD, u->incarnation, by);
		return;
	case MESH_LEFT:
		if (u->incarnation < mb->incarnation || mb->state == MESH_LEFT)
			return;
		member_set_state(m, idx, MESH_LEFT, u->incarnation, u->name);
		return;
	default:
		assert(!"unreachable");
	}
}

/* ---- lifecycle --------------------------------------------------------- */

struct membership *membership_create(const struct membership_config *cfg,
				     const char *self_name, const char *self_addr)
{
	struct membership *m;
	uint32_t n_own;

	if (!cfg || !self_name || !self_addr || membership_config_check(cfg, NULL, 0) != 0 ||
	    strlen(self_name) >= MESH_NAME_MAX || strlen(self_addr) >= MESH_ADDR_MAX ||
	    !str_ok(self_name, strlen(self_name) + 1, true) ||
	    !str_ok(self_addr, strlen(self_addr) + 1, true)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cfg = *cfg;
	n_own = cfg->directory && cfg->foreign_members ?
			(cfg->foreign_members < cfg->max_members ? cfg->foreign_members :
								   cfg->max_members) :
			cfg->max_members;
	if (member_table_init(&m->t, cfg->max_members, n_own, cfg->directory) < 0) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->order_cap = 2 * cfg->max_members;
	m->order = calloc(m->order_cap, sizeof(*m->order));
	m->suspects = calloc(cfg->max_members, sizeof(*m->suspects));
	/* suspicion records are used from the bottom (a dense array): pages
	 * beyond the high-water mark of what is in use stay untouched */
	m->susp = calloc(cfg->max_members, sizeof(*m->susp));
	m->out_cap = cfg->out_queue_len;
	m->out = calloc(m->out_cap, sizeof(*m->out));
	if (!m->order || !m->suspects || !m->out || !m->susp) {
		membership_destroy(m);
		errno = ENOMEM;
		return NULL;
	}
	xoshiro256_seed(&m->rng, cfg->seed);
	for (uint32_t i = 0; i < MESH_MAX_RETRANSMITS; i++)
		m->bq_head[i] = MT_NIL;
	member_table_add_self(&m->t, self_name, self_addr);
	m->next_gossip_at = UINT64_MAX;
	m->revived = MT_NIL;
	return m;
}

void membership_destroy(struct membership *m)
{
	if (!m)
		return;
	member_table_fini(&m->t);
	free(m->order);
	free(m->suspects);
	free(m->susp);
	free(m->out);
	free(m);
}

static void advance_now(struct membership *m, uint64_t now)
{
	assert(m);
	assert(now >= m->now); /* the caller's clock is monotonic */
	m->now = now;
}

static void send_joins(struct membership *m)
{
	assert(out_room(m) >= m->n_seeds);
	for (uint32_t i = 0; i < m->n_seeds; i++) {
		push_send(m, MESH_MSG_JOIN, "", m->seeds[i]);
		m->counters.joins_sent++;
	}
	m->join_retry_at = m->now + m->cfg.join_retry_ns;
	assert(m->join_retry_at > m->now);
}

static void schedule_sync(struct membership *m)
{
	uint64_t iv = m->cfg.sync_interval_ns;

	/* a random phase in [iv/2, 3iv/2) spreads the cluster's syncs */
	m->next_sync_at = iv == 0 ? UINT64_MAX : m->now + iv / 2 + xoshiro256_below(&m->rng, iv);
	assert(iv == 0 || m->next_sync_at > m->now);
}

static void set_joined(struct membership *m)
{
	assert(!m->joined);
	m->joined = true;
	schedule_sync(m);
	assert(m->joined);
}

int membership_join(struct membership *m, const char *const *seed_addrs, size_t n, uint64_t now)
{
	uint32_t k = 0;

	assert(m && (seed_addrs || n == 0));
	advance_now(m, now);
	if (n > MESH_MAX_SEEDS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!seed_addrs[i] || strlen(seed_addrs[i]) >= MESH_ADDR_MAX ||
		    !str_ok(seed_addrs[i], strlen(seed_addrs[i]) + 1, true))
			return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(seed_addrs[i], member_addr(&m->t, &m->t.members[MT_SELF])) != 0)
			copy_str(m->seeds[k++], MESH_ADDR_MAX, seed_addrs[i]);
	m->n_seeds = k;
	if (k == 0) {
		if (!m->joined)
			set_joined(m);
		return 0;
	}
	m->joined = false;
	m->next_sync_at = UINT64_MAX;
	if (out_room(m) >= k)
		send_joins(m);
	else
		m->join_retry_at = now; /* the next tick sends them */
	assert(m->n_seeds <= MESH_MAX_SEEDS);
	return 0;
}

void membership_leave(struct membership *m, uint64_t now)
{
	struct member *self = &m->t.members[MT_SELF];

	advance_now(m, now);
	if (m->leaving)
		return;
	m->leaving = true;
	m->probe.active = false;
	self->state = MESH_LEFT;
	if (self->incarnation < MESH_INCARNATION_MAX)
		self->incarnation++;
	bq_queue(m, MT_SELF);
	m->leave_cursor = 1; /* tell_leave(): every member, first-hand */
	assert(self->incarnation <= MESH_INCARNATION_MAX);
	assert(self->bq_queued);
}

bool membership_leave_done(const struct membership *m)
{
	assert(m);
	return m->leaving && m->leave_cursor >= m->cfg.max_members &&
	       (!m->t.members[MT_SELF].bq_queued || m->summary.alive + m->summary.suspect == 0);
}

/* ---- message handling -------------------------------------------------- */

static struct relay *relay_by_seq(struct membership *m, uint64_t seq)
{
	for (uint32_t i = 0; i < MESH_MAX_RELAYS; i++)
		if (m->relays[i].active && m->relays[i].our_seq == seq)
			return &m->relays[i];
	return NULL;
}

static void handle_ack(struct membership *m, const struct mesh_msg *msg)
{
	struct probe *p = &m->probe;
	struct relay *r;

	assert(msg->type == MESH_MSG_ACK);
	if (p->active && msg->seq == p->seq) {
		struct member *t = &m->t.members[p->member];
		if (t->name_hash == p->name_hash && strcmp(member_name(&m->t, t), msg->sender.name) == 0)
			t->last_rtt_us = rtt_us(m->now - p->start_ns); /* direct: a real RTT */
		p->active = false;
		m->counters.acks_received++;
		lhm_add(m, -1);
		return;
	}
	r = relay_by_seq(m, msg->seq);
	if (r) {
		/* the target answered our ping on someone's behalf */
		struct out_send *s = push_send(m, MESH_MSG_ACK, r->to_name, r->to_addr);
		s->seq = r->their_seq;
		r->active = false;
		return;
	}
	m->counters.late_acks++;
	assert(!p->active || msg->seq != p->seq);
}

static void handle_ping_req(struct membership *m, const struct mesh_msg *msg)
{
	struct relay *r = NULL;
	struct out_send *s;

	assert(msg->type == MESH_MSG_PING_REQ);
	assert(msg->target[0] != '\0' && msg->target_addr[0] != '\0');
	if (strcmp(msg->target, member_name(&m->t, &m->t.members[MT_SELF])) == 0) {
		s = push_send(m, MESH_MSG_ACK, msg->sender.name, msg->sender.addr);
		s->seq = msg->seq;
		return;
	}
	for (uint32_t i = 0; i < MESH_MAX_RELAYS && !r; i++)
		if (!m->relays[i].active)
			r = &m->relays[i];
	if (!r) {
		m->counters.ping_reqs_dropped++;
		return;
	}
	r->active = true;
	r->want_nack = (msg->flags & MESH_FLAG_WANT_NACK) != 0;
	r->our_seq = ++m->seq;
	r->their_seq = msg->seq;
	/* the requester's window, capped by the longest we would wait */
	r->deadline_ns = m->now + min_u64(msg->timeout_ns,
					  m->cfg.probe_timeout_ns * (m->cfg.lhm_max + 1u));
	copy_str(r->to_name, sizeof(r->to_name), msg->sender.name);
	copy_str(r->to_addr, sizeof(r->to_addr), msg->sender.addr);
	s = push_send(m, MESH_MSG_PING, msg->target, msg->target_addr);
	s->seq = r->our_seq;
	copy_str(s->target, sizeof(s->target), msg->target);
	m->counters.ping_reqs_served++;
	assert(r->deadline_ns > m->now);
}

static void open_sync(struct membership *m, const char *to_name, const char *to_addr)
{
	struct sync_session *free_slot = NULL;

	assert(to_name && to_addr && to_addr[0] != '\0');
	for (uint32_t i = 0; i < MESH_MAX_SYNC_SESSIONS; i++) {
		struct sync_session *ss = &m->syncs[i];
		if (ss->active && strcmp(ss->to_name, to_name) == 0) {
			ss->cursor = 0; /* already streaming to it: restart */
			return;
		}
		if (!ss->active && !free_slot)
			free_slot = ss;
	}
	if (!free_slot) {
		m->counters.joins_dropped++; /* the peer retries */
		return;
	}
	free_slot->active = true;
	free_slot->cursor = 0;
	copy_str(free_slot->to_name, sizeof(free_slot->to_name), to_name);
	copy_str(free_slot->to_addr, sizeof(free_slot->to_addr), to_addr);
	assert(free_slot->active);
}

int membership_handle_message(struct membership *m, const struct mesh_msg *msg, uint64_t now)
{
	const struct member *self = &m->t.members[MT_SELF];
	enum source src;

	assert(m && msg);
	advance_now(m, now);
	if (mesh_msg_validate(msg, NULL) != 0) {
		m->counters.messages_invalid++;
		return -EINVAL;
	}
	if (strcmp(msg->sender.name, member_name(&m->t, self)) == 0) {
		/* our own echo, or a peer using our name */
		m->counters.messages_invalid++;
		return -EINVAL;
	}
	if (out_room(m) < MESH_HANDLE_MAX_OUTPUTS) {
		m->counters.messages_dropped++;
		return -ENOBUFS;
	}
	m->counters.messages_received++;
	apply_update(m, &msg->sender, SRC_HEADER, msg->sender.name);
	src = msg->type == MESH_MSG_SYNC ? SRC_SYNC : SRC_GOSSIP;
	for (uint32_t i = 0; i < msg->n_updates; i++)
		apply_update(m, &msg->updates[i], src, msg->sender.name);

	switch (msg->type) {
	case MESH_MSG_PING:
		if (strcmp(msg->target, member_name(&m->t, self)) != 0) {
			m->counters.messages_ignored++; /* meant for a previous owner of this address */
			break;
		}
		push_send(m, MESH_MSG_ACK, msg->sender.name, msg->sender.addr)->seq = msg->seq;
		break;
	case MESH_MSG_ACK:
		handle_ack(m, msg);
		break;
	case MESH_MSG_PING_REQ:
		handle_ping_req(m, msg);
		break;
	case MESH_MSG_NACK:
		if (m->probe.active && m->probe.indirect && msg->seq == m->probe.seq &&
		    m->probe.nacks_received < m->probe.nacks_expected)
			m->probe.nacks_received++;
		m->counters.nacks_received++;
		break;
	case MESH_MSG_GOSSIP:
		break;
	case MESH_MSG_JOIN:
		open_sync(m, msg->sender.name, msg->sender.addr);
		m->counters.joins_served++;
		break;
	case MESH_MSG_SYNC:
		m->counters.sync_received++;
		if (!m->joined)
			set_joined(m);
		break;
	default:
		assert(!"validated type");
	}
	assert(m->out_len <= m->out_cap);
	return 0;
}

/* ---- timers ------------------------------------------------------------ */

static void tick_relays(struct membership *m)
{
	assert(m->out_len <= m->out_cap);
	for (uint32_t i = 0; i < MESH_MAX_RELAYS; i++) {
		struct relay *r = &m->relays[i];
		if (!r->active || r->deadline_ns > m->now)
			continue;
		assert(r->deadline_ns <= m->now && r->to_addr[0] != '\0');
		if (r->want_nack) {
			if (out_room(m) < 1)
				return;
			push_send(m, MESH_MSG_NACK, r->to_name, r->to_addr)->seq = r->their_seq;
			m->counters.nacks_sent++;
		}
		r->active = false;
	}
	assert(m->out_len <= m->out_cap);
}

static void tick_suspicions(struct membership *m)
{
	uint32_t i = 0;

	while (i < m->n_suspects) {
		uint32_t idx = m->suspects[i];
		struct member *mb = &m->t.members[idx];
		assert(mb->state == MESH_SUSPECT && mb->suspect_pos == i);
		if (m->susp[i].deadline_ns > m->now) {
			i++;
			continue;
		}
		if (out_room(m) < 1)
			return;
		/* removes suspects[i]: the slot now holds another suspect */
		member_set_state(m, idx, MESH_DEAD, mb->incarnation,
				 member_name(&m->t, &m->t.members[MT_SELF]));
		m->counters.dead_declared++;
	}
	assert(i == m->n_suspects);
}

static void probe_start(struct membership *m)
{
	struct probe *p = &m->probe;
	uint32_t idx = MT_NIL;
	struct out_send *s;

	assert(!p->active && !m->leaving);
	m->next_probe_at = m->now + scaled(m, m->cfg.probe_interval_ns);
	for (uint32_t round = 0; round < 2 && idx == MT_NIL; round++) {
		while (m->order_pos < m->order_len && idx == MT_NIL) {
			uint32_t cand = m->order[m->order_pos++];
			if (probeable(m, cand))
				idx = cand;
		}
		if (idx == MT_NIL)
			order_rebuild(m);
	}
	if (idx == MT_NIL)
		return; /* nobody to probe */
	struct member *t = &m->t.members[idx];
	p->active = true;
	p->indirect = false;
	p->member = idx;
	p->name_hash = t->name_hash;
	p->seq = ++m->seq;
	p->start_ns = m->now;
	p->direct_deadline_ns = m->now + scaled(m, m->cfg.probe_timeout_ns);
	p->end_ns = m->now + 2 * scaled(m, m->cfg.probe_timeout_ns);
	p->nacks_expected = p->nacks_received = 0;
	s = push_send(m, MESH_MSG_PING, member_name(&m->t, t), member_addr(&m->t, t));
	s->seq = p->seq;
	copy_str(s->target, sizeof(s->target), member_name(&m->t, t));
	m->counters.probes_sent++;
	assert(p->end_ns <= m->next_probe_at);
}

static bool probe_target_valid(const struct membership *m)
{
	const struct probe *p = &m->probe;
	const struct member *t = &m->t.members[p->member];

	return t->name_hash == p->name_hash && probeable(m, p->member);
}

static void probe_indirect(struct membership *m)
{
	struct probe *p = &m->probe;
	uint32_t helpers[MESH_MAX_INDIRECT];
	uint32_t n;
	const struct member *t = &m->t.members[p->member];

	assert(p->active && !p->indirect);
	n = pick_random(m, m->cfg.indirect_checks, true, p->member, helpers);
	for (uint32_t i = 0; i < n; i++) {
		const struct member *h = &m->t.members[helpers[i]];
		struct out_send *s = push_send(m, MESH_MSG_PING_REQ, member_name(&m->t, h),
					       member_addr(&m->t, h));
		s->seq = p->seq;
		s->flags = MESH_FLAG_WANT_NACK;
		copy_str(s->target, sizeof(s->target), member_name(&m->t, t));
		copy_str(s->target_addr, sizeof(s->target_addr), member_addr(&m->t, t));
		/* the helper NACKs before our indirect window closes */
		s->timeout_ns = (p->end_ns - p->direct_deadline_ns) * 4 / 5;
		m->counters.ping_reqs_sent++;
	}
	p->indirect = true;
	p->nacks_expected = n;
	assert(n <= m->cfg.indirect_checks);
}

/* No ack in either window: Lifeguard health penalty, then suspect the
 * target and tell it (buddy system). */
static void probe_fail(struct membership *m)
{
	struct probe *p = &m->probe;
	struct member *t = &m->t.members[p->member];
	struct mesh_update u;

	assert(p->active && p->indirect);
	p->active = false;
	m->counters.probes_failed++;
	/* helpers that could not NACK point at us; with no helper at all
	 * every failed probe counts (memberlist's rule) */
	lhm_add(m, p->nacks_expected > 0 ? (int)(p->nacks_expected - p->nacks_received) : 1);
	if (t->name_hash != p->name_hash || !probeable(m, p->member))
		return; /* refuted, declared, or replaced meanwhile */
	memset(&u, 0, sizeof(u));
	copy_str(u.name, sizeof(u.name), member_name(&m->t, t));
	copy_str(u.addr, sizeof(u.addr), member_addr(&m->t, t));
	copy_str(u.by, sizeof(u.by), member_name(&m->t, &m->t.members[MT_SELF]));
	u.incarnation = t->incarnation;
	u.state = MESH_SUSPECT;
	apply_update(m, &u, SRC_GOSSIP, member_name(&m->t, &m->t.members[MT_SELF]));
	m->counters.suspicions_raised++;
	/* the suspect hears it from us at once (its record goes first in
	 * every message we send it while we suspect it) */
	push_send(m, MESH_MSG_GOSSIP, member_name(&m->t, t), member_addr(&m->t, t));
	assert(t->state == MESH_SUSPECT);
}

/* Whether a reconnect ping may be due: no majority of the members we
 * know (left ones aside) is live here, and a member died less than
 * dead_reconnect ago (it may have come back since: then none is sent).
 * Only a member without a majority pings: after a partition or an
 * outage, where both sides hold each other dead, some side has none
 * (and until it merges, nothing that needs a quorum runs there); a
 * member with a majority live leaves a dead one to that one's own pings
 * (our ACK carries its dead record: it refutes), and a crash costs it
 * nothing. */
static bool reconnect_pending(const struct membership *m)
{
	uint32_t known = live_count(m) + m->summary.dead;

	return m->cfg.dead_reconnect_ns != 0 && m->summary.dead > 0 && m->next_reconnect_at != 0 &&
	       m->joined && !m->leaving && 2 * live_count(m) <= known &&
	       m->now - m->last_death_at < m->cfg.dead_reconnect_ns;
}

/* Reconnect (see membership.h): one PING to a random member held dead
 * for less than dead_reconnect, every RECONNECT_PROBES probe intervals
 * (not scaled by the LHM: it accuses nobody, and an outage leaves the
 * LHM at its top). Not a probe: its ACK (a late ack) only carries the
 * member's refutation in its header; no ACK, no verdict. */
static void tick_reconnect(struct membership *m)
{
	uint32_t pick = MT_NIL, seen = 0;
	struct out_send *s;

	if (!reconnect_pending(m)) {
		m->next_reconnect_at = 0; /* the next death re-arms it */
		return;
	}
	if (m->now < m->next_reconnect_at || out_room(m) < 1)
		return;
	m->next_reconnect_at = m->now + RECONNECT_PROBES * m->cfg.probe_interval_ns;
	for (uint32_t i = 1; i < m->cfg.max_members; i++) {
		const struct member *mb = &m->t.members[i];
		if (mb->state != MESH_DEAD || m->now - mb->state_since_ns >= m->cfg.dead_reconnect_ns)
			continue;
		if (xoshiro256_below(&m->rng, ++seen) == 0)
			pick = i; /* reservoir sampling: uniform among them */
	}
	if (pick == MT_NIL)
		return;
	const struct member *t = &m->t.members[pick];
	s = push_send(m, MESH_MSG_PING, member_name(&m->t, t), member_addr(&m->t, t));
	s->seq = ++m->seq;
	s->buddy_only = true;
	copy_str(s->target, sizeof(s->target), member_name(&m->t, t));
	m->counters.dead_pings_sent++;
}

static void tick_probe(struct membership *m)
{
	struct probe *p = &m->probe;

	assert(!p->active || p->start_ns <= m->now);
	assert(!p->active || !m->leaving);
	if (p->active && !probe_target_valid(m))
		p->active = false; /* left, dead or evicted meanwhile: no verdict */
	if (p->active && !p->indirect && m->now >= p->direct_deadline_ns) {
		if (out_room(m) < m->cfg.indirect_checks)
			return;
		probe_indirect(m);
	}
	if (p->active && p->indirect && m->now >= p->end_ns) {
		if (out_room(m) < 2)
			return;
		probe_fail(m);
	}
	if (!p->active && !m->leaving && m->now >= m->next_probe_at) {
		if (out_room(m) < 1)
			return;
		probe_start(m);
	}
	assert(!p->active || p->end_ns > m->now || !p->indirect);
}

static void tick_gossip(struct membership *m)
{
	uint32_t targets[MESH_MAX_GOSSIP_NODES];
	uint32_t n;

	if (m->cfg.gossip_nodes == 0 || m->now < m->next_gossip_at)
		return;
	if (!bq_gossip_due(m)) {
		/* the rest goes out piggybacked; news reschedules a round */
		m->next_gossip_at = UINT64_MAX;
		return;
	}
	if (out_room(m) < m->cfg.gossip_nodes)
		return;
	n = pick_random(m, m->cfg.gossip_nodes, false, MT_NIL, targets);
	for (uint32_t i = 0; i < n; i++) {
		const struct member *t = &m->t.members[targets[i]];
		push_send(m, MESH_MSG_GOSSIP, member_name(&m->t, t), member_addr(&m->t, t));
	}
	m->last_gossip_at = m->now;
	m->next_gossip_at = m->now + m->cfg.gossip_interval_ns;
	assert(n <= m->cfg.gossip_nodes);
}

/* Anti-entropy partner: half the time (when there are any) a member we
 * believe dead, so a healed partition finds its way back. */
static uint32_t pick_sync_partner(struct membership *m)
{
	uint32_t one;

	assert(m->joined && !m->leaving);
	if (m->summary.dead > 0 && xoshiro256_below(&m->rng, 2) == 0) {
		uint32_t start = (uint32_t)xoshiro256_below(&m->rng, m->cfg.max_members);
		for (uint32_t k = 0; k < m->cfg.max_members; k++) {
			uint32_t i = (start + k) % m->cfg.max_members;
			if (m->t.members[i].state == MESH_DEAD)
				return i;
		}
		assert(!"summary counts a dead member the table lacks");
	}
	if (pick_random(m, 1, false, MT_NIL, &one) == 1) {
		assert(one != MT_SELF && probeable(m, one));
		return one;
	}
	return MT_NIL;
}

static void tick_sync(struct membership *m)
{
	uint32_t idx;

	if (!m->joined || m->leaving || m->now < m->next_sync_at)
		return;
	if (out_room(m) < 1)
		return;
	schedule_sync(m);
	idx = pick_sync_partner(m);
	if (m->revived != MT_NIL) {
		const struct member *r = &m->t.members[m->revived];
		if (r->name_hash == m->revived_hash && r->state == MESH_ALIVE) {
			idx = m->revived;
			m->revival_sync_at = m->now;
		}
		m->revived = MT_NIL;
	}
	if (idx == MT_NIL)
		return;
	const struct member *t = &m->t.members[idx];
	assert(idx != MT_SELF && t->state != MESH_LEFT);
	push_send(m, MESH_MSG_JOIN, member_name(&m->t, t), member_addr(&m->t, t));
	open_sync(m, member_name(&m->t, t), member_addr(&m->t, t)); /* push our side too */
	m->counters.joins_sent++;
	assert(m->next_sync_at > m->now);
}

/* Leaving: a LEFT is only taken from its subject, so we tell every
 * member ourselves (a GOSSIP each: our header says LEFT), as the output
 * ring has room, keeping room for what a message in the meantime needs. */
static void tick_leave(struct membership *m)
{
	while (m->leaving && m->leave_cursor < m->cfg.max_members &&
	       out_room(m) > MESH_HANDLE_MAX_OUTPUTS) {
		const struct member *mb = &m->t.members[m->leave_cursor++];

		if (mb->state == MESH_ALIVE || mb->state == MESH_SUSPECT)
			push_send(m, MESH_MSG_GOSSIP, member_name(&m->t, mb),
				  member_addr(&m->t, mb))->header_only = true;
	}
}

void membership_tick(struct membership *m, uint64_t now)
{
	assert(m);
	advance_now(m, now);
	tick_relays(m);
	tick_suspicions(m);
	tick_probe(m);
	tick_reconnect(m);
	tick_gossip(m);
	if (!m->joined && m->n_seeds > 0 && now >= m->join_retry_at && out_room(m) >= m->n_seeds)
		send_joins(m);
	tick_sync(m);
	tick_leave(m);
	assert(m->out_len <= m->out_cap);
}

uint64_t membership_next_deadline(const struct membership *m)
{
	uint64_t d = UINT64_MAX;
	const struct probe *p = &m->probe;

	assert(m);
	for (uint32_t i = 0; i < MESH_MAX_RELAYS; i++)
		if (m->relays[i].active)
			d = min_u64(d, m->relays[i].deadline_ns);
	for (uint32_t i = 0; i < m->n_suspects; i++)
		d = min_u64(d, m->susp[i].deadline_ns);
	if (p->active)
		d = min_u64(d, p->indirect ? p->end_ns : p->direct_deadline_ns);
	else if (!m->leaving)
		d = min_u64(d, m->next_probe_at);
	if (m->bq_len > 0 && m->cfg.gossip_nodes > 0)
		d = min_u64(d, m->next_gossip_at);
	if (!m->joined && m->n_seeds > 0)
		d = min_u64(d, m->join_retry_at);
	if (m->joined && !m->leaving)
		d = min_u64(d, m->next_sync_at);
	if (reconnect_pending(m))
		d = min_u64(d, m->next_reconnect_at);
	if (m->leaving && m->leave_cursor < m->cfg.max_members)
		d = min_u64(d, m->now);
	/* a confirmation can move a suspicion deadline into the past: due now */
	assert(!p->active || d <= p->end_ns);
	return d;
}

/* ---- output ------------------------------------------------------------ */

static void fill_update(const struct membership *m, struct mesh_update *u,
			const struct member *mb)
{
	assert(mb->state >= MESH_ALIVE && mb->state <= MESH_LEFT);
	assert(mb->wire == member_update_wire_size(member_name(&m->t, mb), member_addr(&m->t, mb),
						   member_by(&m->t, mb)));
	copy_str(u->name, sizeof(u->name), member_name(&m->t, mb));
	copy_str(u->addr, sizeof(u->addr), member_addr(&m->t, mb));
	copy_str(u->by, sizeof(u->by), member_by(&m->t, mb));
	u->incarnation = mb->incarnation;
	u->state = mb->state;
	assert(update_invalid(u, false) == NULL);
}

/* Piggyback: the destination's own record first when we suspect it or
 * hold it dead (buddy system), then queued records, fewest-sent first,
 * within the count and byte budgets. */
static void fill_piggyback(struct membership *m, struct mesh_msg *msg, const char *to_name,
			   bool buddy_only)
{
	uint32_t picked[MESH_MAX_UPDATES];
	uint32_t n_picked = 0, n = 0, skipped = 0;
	uint32_t budget = m->cfg.max_piggyback_bytes;
	uint32_t max = m->cfg.max_updates_per_msg;
	uint32_t limit = membership_current_retransmit_limit(m);
	uint32_t dest = to_name[0] ? member_find(&m->t, to_name) : MT_NIL;

	assert(msg->n_updates == 0 && max <= MESH_MAX_UPDATES);
	/* records sent often enough under a smaller N than when queued */
	for (uint32_t t = limit; t < MESH_MAX_RETRANSMITS; t++)
		while (m->bq_head[t] != MT_NIL)
			bq_unlink(m, m->bq_head[t]);
	/* buddy: what we hold against the recipient, so it can refute; LEFT
	 * too, as hearsay of it travels no further than its holder */
	if (dest != MT_NIL && dest != MT_SELF && m->t.members[dest].state != MESH_ALIVE) {
		const struct member *d = &m->t.members[dest];
		fill_update(m, &msg->updates[n++], d);
		budget -= d->wire;
		if (d->bq_queued)
			picked[n_picked++] = dest;
	}
	/* records too big for what is left are skipped, a bounded number of
	 * times: the walk stays O(max) however long the queue */
	for (uint32_t t = 0; !buddy_only && t < limit && n < max && skipped <= max; t++) {
		for (uint32_t idx = m->bq_head[t]; idx != MT_NIL && n < max && skipped <= max;
		     idx = m->t.members[idx].bq_next) {
			const struct member *mb = &m->t.members[idx];
			if (idx == dest)
				continue;
			if (mb->wire > budget) {
				skipped++;
				continue;
			}
			fill_update(m, &msg->updates[n++], mb);
			budget -= mb->wire;
			picked[n_picked++] = idx;
		}
	}
	for (uint32_t i = 0; i < n_picked; i++)
		bq_sent(m, picked[i], limit);
	msg->n_updates = n;
	m->counters.updates_sent += n;
	assert(n <= max && n_picked <= n);
}

static void fill_sender(const struct membership *m, struct mesh_msg *msg)
{
	const struct member *self = &m->t.members[MT_SELF];

	copy_str(msg->sender.name, sizeof(msg->sender.name), member_name(&m->t, self));
	copy_str(msg->sender.addr, sizeof(msg->sender.addr), member_addr(&m->t, self));
	msg->sender.incarnation = self->incarnation;
	msg->sender.state = self->state;
	assert(msg->sender.state == MESH_ALIVE || msg->sender.state == MESH_LEFT);
}

/* Builds the message of a queued send; false if there is nothing worth
 * sending any more (a GOSSIP whose records all went out meanwhile). */
static bool build_send(struct membership *m, const struct out_send *s, struct mesh_send *out)
{
	struct mesh_msg *msg = &out->msg;

	assert(s->type >= MESH_MSG_PING && s->type <= MESH_MSG_TYPE_MAX);
	assert(s->type != MESH_MSG_SYNC); /* streams are built by build_sync */
	memset(out, 0, sizeof(*out));
	copy_str(out->to_name, sizeof(out->to_name), s->to_name);
	copy_str(out->to_addr, sizeof(out->to_addr), s->to_addr);
	msg->type = s->type;
	msg->flags = s->flags;
	msg->seq = s->seq;
	msg->timeout_ns = s->timeout_ns;
	copy_str(msg->target, sizeof(msg->target), s->target);
	copy_str(msg->target_addr, sizeof(msg->target_addr), s->target_addr);
	fill_sender(m, msg);
	fill_piggyback(m, msg, s->to_name, s->buddy_only);
	if (msg->type == MESH_MSG_GOSSIP && msg->n_updates == 0 && !s->header_only)
		return false;
	if (msg->type == MESH_MSG_GOSSIP)
		m->counters.gossip_sent++;
	assert(mesh_msg_validate(msg, NULL) == 0);
	return true;
}

/* The next chunk of a SYNC stream: table slots from the cursor on. */
static void build_sync(struct membership *m, struct sync_session *ss, struct mesh_send *out)
{
	struct mesh_msg *msg = &out->msg;
	uint32_t budget = m->cfg.max_piggyback_bytes;
	uint32_t n = 0;

	assert(ss->active);
	memset(out, 0, sizeof(*out));
	copy_str(out->to_name, sizeof(out->to_name), ss->to_name);
	copy_str(out->to_addr, sizeof(out->to_addr), ss->to_addr);
	msg->type = MESH_MSG_SYNC;
	fill_sender(m, msg);
	for (; ss->cursor < m->cfg.max_members && n < m->cfg.max_updates_per_msg; ss->cursor++) {
		const struct member *mb = &m->t.members[ss->cursor];
		if (mb->state == MESH_STATE_NONE)
			continue;
		if (mb->wire > budget)
			break;
		fill_update(m, &msg->updates[n++], mb);
		budget -= mb->wire;
	}
	msg->n_updates = n;
	if (ss->cursor >= m->cfg.max_members) {
		msg->flags = MESH_FLAG_SYNC_LAST;
		ss->active = false;
	}
	m->counters.sync_sent++;
	assert(n > 0 || !ss->active);
	assert(mesh_msg_validate(msg, NULL) == 0);
}

size_t membership_poll_output(struct membership *m, struct mesh_out *out, size_t max)
{
	size_t n = 0;

	assert(m && (out || max == 0));
	while (n < max && m->out_len > 0) {
		struct out_entry *e = &m->out[m->out_head];
		m->out_head = (m->out_head + 1) % m->out_cap;
		m->out_len--;
		if (e->kind == MESH_OUT_EVENT) {
			out[n].kind = MESH_OUT_EVENT;
			out[n].event = e->event;
			n++;
		} else if (build_send(m, &e->send, &out[n].send)) {
			out[n].kind = MESH_OUT_SEND;
			n++;
		}
	}
	/* drained: start over at the bottom, so only the ring's high-water
	 * mark is ever touched (a lazily mapped ring costs what is used) */
	if (m->out_len == 0)
		m->out_head = 0;
	/* SYNC streams only when the ordinary outputs are drained */
	for (uint32_t i = 0; i < MESH_MAX_SYNC_SESSIONS && n < max && m->out_len == 0; i++) {
		while (m->syncs[i].active && n < max) {
			build_sync(m, &m->syncs[i], &out[n].send);
			out[n].kind = MESH_OUT_SEND;
			n++;
		}
	}
	assert(n <= max);
	assert(m->out_len <= m->out_cap);
	return n;
}

void membership_drop_broadcasts(struct membership *m)
{
	for (uint32_t t = 0; t < MESH_MAX_RETRANSMITS; t++)
		while (m->bq_head[t] != MT_NIL)
			bq_unlink(m, m->bq_head[t]);
	assert(m->bq_len == 0);
}

/* ---- queries ----------------------------------------------------------- */

static void fill_info(const struct membership *m, uint32_t idx, struct mesh_member_info *info)
{
	const struct member *mb = &m->t.members[idx];

	assert(mb->state != MESH_STATE_NONE);
	memset(info, 0, sizeof(*info));
	copy_str(info->name, sizeof(info->name), member_name(&m->t, mb));
	copy_str(info->addr, sizeof(info->addr), member_addr(&m->t, mb));
	copy_str(info->by, sizeof(info->by), member_by(&m->t, mb));
	info->state = mb->state;
	info->self = idx == MT_SELF;
	info->incarnation = mb->incarnation;
	info->state_since_ns = mb->state_since_ns;
	info->last_rtt_ns = (uint64_t)mb->last_rtt_us * 1000u;
	if (mb->state == MESH_SUSPECT) {
		const struct suspicion *sp = &m->susp[mb->suspect_pos];
		info->confirmations = sp->n_accusers > 0 ? sp->n_accusers - 1 : 0;
		info->expected_confirmations = sp->expected;
		info->suspicion_deadline_ns = sp->deadline_ns;
	}
	assert(info->confirmations <= MESH_MAX_CONFIRMATIONS);
}

bool membership_member_next(const struct membership *m, uint32_t *cursor,
			    struct mesh_member_info *info)
{
	assert(m && cursor && info);
	while (*cursor < m->cfg.max_members) {
		uint32_t i = (*cursor)++;
		if (m->t.members[i].state != MESH_STATE_NONE) {
			fill_info(m, i, info);
			return true;
		}
	}
	return false;
}

int membership_member_get(const struct membership *m, const char *name,
			  struct mesh_member_info *info)
{
	uint32_t idx;

	assert(m && name && info);
	if (strlen(name) >= MESH_NAME_MAX)
		return -ENOENT;
	idx = member_find(&m->t, name);
	if (idx == MT_NIL)
		return -ENOENT;
	fill_info(m, idx, info);
	return 0;
}

void membership_summary(const struct membership *m, struct mesh_summary *out)
{
	assert(m && out);
	*out = m->summary;
}

void membership_counters(const struct membership *m, struct mesh_counters *out)
{
	assert(m && out);
	*out = m->counters;
}

uint32_t membership_lhm(const struct membership *m)
{
	assert(m);
	return m->lhm;
}

uint64_t membership_incarnation(const struct membership *m)
{
	assert(m);
	return m->t.members[MT_SELF].incarnation;
}

bool membership_joined(const struct membership *m)
{
	assert(m);
	return m->joined;
}

uint32_t membership_current_retransmit_limit(const struct membership *m)
{
	uint32_t limit = membership_retransmit_limit(m->cfg.retransmit_mult, live_count(m));

	if (limit < 1)
		limit = 1;
	if (limit > MESH_MAX_RETRANSMITS)
		limit = MESH_MAX_RETRANSMITS;
	return limit;
}
