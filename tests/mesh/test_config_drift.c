/* Members files that differ between nodes (issue 10 item 4, measured on
 * five daemons): each node counts its majority over its own list, so both
 * sides of a partition can "have a majority". Five mesh/node compositions
 * on a virtual-time network, each with its own member list and the
 * members digest the shell computes from its file, filtered on receipt as
 * mimamorid's RPC handler does (daemon/mesh/mesh_node.c on_deliver: a
 * sender not in our file is refused, gossip about strangers dropped):
 *  - n1's file lists n1..n3, the others' n1..n5, then {n1,n2} | {n3,n4,n5}:
 *    nobody is fenced or notified (every node holds its verdicts and says
 *    so); without the hold n1 fenced n3, a healthy host on the majority
 *    side;
 *  - the same partition with identical files: the majority still fences
 *    the minority and notifies (a real failure is still recovered);
 *  - a rolling edit (n1's file, then the others' one by one, then the new
 *    node started) holds while the files differ, then verdicts work again;
 *  - a fence already running when the hold starts finishes, and its
 *    notification waits until the hold ends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/units.h"
#include "mesh/node.h"
#include "tests/support/vnet.h"

#define N 5
#define LATENCY_NS NS_PER_MS
#define MAX_RECS 64

enum item_kind { ITEM_MSG = 1, ITEM_FENCE_DONE, ITEM_NOTIFY_DONE };

struct item {
	enum item_kind kind;
	char subject[MESH_NAME_MAX];
	uint64_t incarnation;
	enum agr_incident_kind incident;
	struct mesh_wire_msg msg; /* ITEM_MSG */
};

struct rec {
	uint32_t by, subject; /* node ids */
	uint64_t at;
};

/* One node: its members file (node ids, in file order) and its mnode. */
struct tnode {
	uint32_t n_members;
	uint32_t id_of[N];
	const char *names[N];
	const char *urls[N];
	struct mnode *mn;
	uint32_t held_logs, resumed_logs, differ_logs;
};

struct world {
	struct vnet *vn;
	char names[N][MESH_NAME_MAX];
	char addrs[N][MESH_ADDR_MAX];
	struct tnode node[N];
	struct mnode_out out[8];
	struct item item;       /* scratch */
	struct mesh_wire_msg rx; /* scratch: a message as the shell filters it */
	uint64_t fence_delay_ns;
	struct rec fences[MAX_RECS], notifies[MAX_RECS];
	size_t n_fences, n_notifies;
};

static uint32_t id_of_name(const struct world *w, const char *name)
{
	for (uint32_t i = 0; i < N; i++)
		if (strcmp(w->names[i], name) == 0)
			return i;
	return MNODE_NONE;
}

static uint32_t id_of_addr(const struct world *w, const char *addr)
{
	for (uint32_t i = 0; i < N; i++)
		if (strcmp(w->addrs[i], addr) == 0)
			return i;
	fail_msg("no node has address %s", addr);
	return MNODE_NONE;
}

static bool in_file(const struct tnode *t, const char *name)
{
	return mnode_names_find(mnode_names(t->mn), name) != MNODE_NONE;
}

static void send_to(struct world *w, uint32_t from, uint32_t to, const struct mesh_wire_msg *m)
{
	assert_int_not_equal(from, to);
	w->item.kind = ITEM_MSG;
	w->item.msg = *m;
	vnet_send(w->vn, from, to, &w->item, sizeof(w->item));
}

static void post(struct world *w, uint32_t to, enum item_kind kind, const struct agr_action *act,
		 uint64_t delay)
{
	memset(&w->item, 0, offsetof(struct item, msg));
	w->item.kind = kind;
	snprintf(w->item.subject, sizeof(w->item.subject), "%s", act->subject);
	w->item.incarnation = act->incarnation;
	w->item.incident = act->incident;
	vnet_post(w->vn, to, delay, &w->item, offsetof(struct item, msg));
}

/* Everything node i's composition asks for, as the shell does it. */
static void drain(struct world *w, uint32_t i)
{
	struct tnode *t = &w->node[i];
	size_t k;

	while ((k = mnode_poll(t->mn, w->out, 8)) > 0) {
		for (size_t j = 0; j < k; j++) {
			const struct mnode_out *o = &w->out[j];

			switch (o->kind) {
			case MNODE_OUT_SEND:
				for (uint32_t d = 0; d < o->n_to; d++) {
					if (o->to[d] != MNODE_NONE)
						send_to(w, i, t->id_of[o->to[d]], &o->msg);
					else if (o->to_addr[0])
						send_to(w, i, id_of_addr(w, o->to_addr), &o->msg);
				}
				break;
			case MNODE_OUT_BROADCAST:
				for (uint32_t d = 0; d < t->n_members; d++)
					if (mnode_reachable(t->mn, d))
						send_to(w, i, t->id_of[d], &o->msg);
				break;
			case MNODE_OUT_FENCE:
				assert_true(w->n_fences < MAX_RECS);
				w->fences[w->n_fences++] = (struct rec){
					.by = i, .subject = t->id_of[o->subject], .at = w->vn->now };
				post(w, i, ITEM_FENCE_DONE, &o->act, w->fence_delay_ns);
				break;
			case MNODE_OUT_NOTIFY:
				assert_true(w->n_notifies < MAX_RECS);
				w->notifies[w->n_notifies++] = (struct rec){
					.by = i, .subject = t->id_of[o->subject], .at = w->vn->now };
				post(w, i, ITEM_NOTIFY_DONE, &o->act, LATENCY_NS);
				break;
			case MNODE_OUT_LOG:
				if (strcmp(o->act.event, "verdicts_held") == 0)
					t->held_logs++;
				else if (strcmp(o->act.event, "verdicts_resumed") == 0)
					t->resumed_logs++;
				else if (strcmp(o->act.event, "members_differ") == 0)
					t->differ_logs++;
				if (getenv("DRIFT_TRACE") && o->act.level <= AGR_LOG_WARN)
					print_message("%8.3f %s: [%s] %s\n", (double)w->vn->now / 1e9,
						      w->names[i], o->act.event, o->act.text);
				break;
			case MNODE_OUT_MEMBER:
				break;
			}
		}
	}
}

static uint64_t hook_deadline(const struct vnet *vn, uint32_t i, void *ctx)
{
	struct world *w = ctx;

	(void)vn;
	return w->node[i].mn != NULL ? mnode_next_deadline(w->node[i].mn) : VNET_NEVER;
}

static void hook_tick(struct vnet *vn, uint32_t i, void *ctx)
{
	struct world *w = ctx;

	assert_int_equal(mnode_tick(w->node[i].mn, vn->now), 0);
	drain(w, i);
}

static void hook_deliver(struct vnet *vn, uint32_t from, uint32_t to, const void *payload,
			 size_t len, void *ctx)
{
	struct world *w = ctx;
	const struct item *it = payload;
	struct tnode *t = &w->node[to];

	(void)len;
	if (t->mn == NULL)
		return;
	if (it->kind == ITEM_MSG) {
		/* The RPC handler's admission (mesh_node.c on_deliver): the
		 * sender must be in our file, a PING_REQ's target too, and
		 * gossip about others is dropped. */
		struct mesh_wire_msg *m = &w->rx;
		uint32_t kept = 0;

		assert_int_equal(id_of_name(w, it->msg.from), from);
		if (!in_file(t, it->msg.from))
			return;
		*m = it->msg;
		if (m->kind == MESH_WIRE_SWIM) {
			if (m->swim.type == MESH_MSG_PING_REQ && !in_file(t, m->swim.target))
				return;
			for (uint32_t u = 0; u < m->swim.n_updates; u++)
				if (in_file(t, m->swim.updates[u].name))
					m->swim.updates[kept++] = m->swim.updates[u];
			m->swim.n_updates = kept;
		}
		(void)mnode_on_message(t->mn, m, vn->now);
	} else if (it->kind == ITEM_FENCE_DONE) {
		(void)mnode_on_fence_result(t->mn, it->subject, it->incarnation, AGR_FENCE_OK,
					    vn->now);
	} else {
		(void)mnode_on_notify_result(t->mn, it->incident, it->subject, it->incarnation,
					     202, vn->now);
	}
	drain(w, to);
}

/* Starts (or restarts) node i with the members file listing ids[0..k),
 * joining through seed (MNODE_NONE: none). */
static void start_node(struct world *w, uint32_t i, const uint32_t *ids, uint32_t k,
		       uint32_t seed)
{
	struct tnode *t = &w->node[i];
	struct mnode_config cfg = { .self_addr = w->addrs[i] };
	char err[256] = "";
	const char *seed_addr = seed != MNODE_NONE ? w->addrs[seed] : NULL;

	mnode_free(t->mn);
	t->n_members = k;
	for (uint32_t m = 0; m < k; m++) {
		t->id_of[m] = ids[m];
		t->names[m] = w->names[ids[m]];
		t->urls[m] = w->addrs[ids[m]];
	}
	membership_config_default(&cfg.membership);
	cfg.membership.max_members = k;
	cfg.membership.seed = 1000 + i + w->vn->now;
	agreement_config_default(&cfg.agreement);
	cfg.agreement.self = w->names[i];
	cfg.agreement.members = t->names;
	cfg.agreement.n_members = k;
	/* What the shell does at load: names and URLs of its file. */
	cfg.members_digest = mnode_members_digest(t->names, t->urls, k);
	cfg.hold_on_unknown_digest = true;
	t->mn = mnode_new(&cfg, err, sizeof(err));
	if (t->mn == NULL)
		fail_msg("mnode_new: %s", err);
	vnet_set_up(w->vn, i, true);
	assert_int_equal(mnode_join(t->mn, seed_addr ? &seed_addr : NULL, seed_addr ? 1 : 0,
				    w->vn->now),
			 0);
	drain(w, i);
}

/* An orderly restart (SIGTERM, start 1 s later) with another file. */
static void restart_node(struct world *w, uint32_t i, const uint32_t *ids, uint32_t k,
			 uint32_t seed)
{
	mnode_leave(w->node[i].mn, w->vn->now);
	drain(w, i);
	assert_int_equal(vnet_run_until(w->vn, w->vn->now + NS_PER_S), 0);
	vnet_set_up(w->vn, i, false);
	mnode_free(w->node[i].mn);
	w->node[i].mn = NULL;
	assert_int_equal(vnet_run_until(w->vn, w->vn->now + NS_PER_S), 0);
	start_node(w, i, ids, k, seed);
}

static const uint32_t ALL5[] = { 0, 1, 2, 3, 4 };
static const uint32_t FIRST3[] = { 0, 1, 2 };
static const uint32_t FIRST4[] = { 0, 1, 2, 3 };

static void world_init(struct world *w)
{
	struct vnet_config nc = { .n = N, .latency_ns = LATENCY_NS, .seed = 11,
				  .max_steps = 20000000 };
	struct vnet_hooks hooks = { .ctx = w, .deliver = hook_deliver, .tick = hook_tick,
				    .deadline = hook_deadline };

	memset(w, 0, sizeof(*w));
	for (uint32_t i = 0; i < N; i++) {
		snprintf(w->names[i], sizeof(w->names[i]), "n%u", i + 1);
		snprintf(w->addrs[i], sizeof(w->addrs[i]), "tls+tcp://10.0.0.%u:7947", i + 1);
	}
	w->fence_delay_ns = LATENCY_NS;
	w->vn = vnet_new(&nc, &hooks);
	assert_non_null(w->vn);
	for (uint32_t i = 0; i < N; i++)
		vnet_set_up(w->vn, i, false); /* each comes up in start_node */
}

static void world_free(struct world *w)
{
	vnet_free(w->vn);
	for (uint32_t i = 0; i < N; i++)
		mnode_free(w->node[i].mn);
}

static void run_for(struct world *w, uint64_t ns)
{
	assert_int_equal(vnet_run_until(w->vn, w->vn->now + ns), 0);
}

static void partition_12_345(struct world *w)
{
	for (uint32_t i = 0; i < N; i++)
		vnet_set_group(w->vn, i, i < 2 ? 1 : 0);
}

static size_t fences_of(const struct world *w, uint32_t subject)
{
	size_t c = 0;

	for (size_t i = 0; i < w->n_fences; i++)
		c += w->fences[i].subject == subject;
	return c;
}

/* The measured case: n1's file lists n1..n3, the others' n1..n5; then
 * {n1,n2} | {n3,n4,n5}. n1 counts 2 of 3 live and n2's observation of n3
 * makes 2 of 3: without the hold it fenced n3, healthy and on the
 * majority side. With it, every node hears a digest other than its own
 * and holds: no host is fenced or notified, and each says why. */
static void test_differing_files_hold_verdicts(void **state)
{
	static struct world w;

	(void)state;
	world_init(&w);
	start_node(&w, 1, ALL5, N, MNODE_NONE);
	start_node(&w, 0, FIRST3, 3, 1);
	for (uint32_t i = 2; i < N; i++)
		start_node(&w, i, ALL5, N, 1);
	run_for(&w, 5 * NS_PER_S);
	bool held_before = true;

	for (uint32_t i = 0; i < N; i++)
		held_before = held_before && mnode_verdicts_held(w.node[i].mn);
	partition_12_345(&w);
	/* n1, backup rank 1 for n3 behind n2, takes over one takeover step
	 * (claim_settle + fence_timeout + notify_timeout, 90.1 s) after its
	 * verdict. */
	run_for(&w, 120 * NS_PER_S);
	for (size_t f = 0; f < w.n_fences; f++)
		print_error("%s fenced %s at %.3f s\n", w.names[w.fences[f].by],
			    w.names[w.fences[f].subject], (double)w.fences[f].at / 1e9);
	assert_int_equal(fences_of(&w, 2), 0); /* n3: healthy, majority side */
	assert_int_equal(w.n_fences, 0);
	assert_int_equal(w.n_notifies, 0);
	/* Why: n1's digest differs from everybody's; n4 and n5, whom n1
	 * never talks to, hear it from n3 (members_differ). All hold,
	 * loudly, before the partition and still after it. */
	assert_true(held_before);
	for (uint32_t i = 0; i < N; i++) {
		assert_true(mnode_verdicts_held(w.node[i].mn));
		assert_true(w.node[i].held_logs >= 1);
		assert_true(w.node[i].differ_logs >= 1);
	}
	assert_int_equal(mnode_digest_mismatches(w.node[0].mn), 2); /* n2, n3 */
	assert_int_equal(mnode_digest_mismatches(w.node[1].mn), 1); /* n1 */
	assert_int_equal(mnode_digest_mismatches(w.node[2].mn), 1); /* n1 */
	assert_int_equal(mnode_digest_mismatches(w.node[3].mn), 0); /* told by n3 */
	world_free(&w);
}

/* The same partition with identical files: no hold, and the majority
 * {n3,n4,n5} fences and notifies both minority hosts, once each; the
 * minority fences nobody. */
static void test_identical_files_still_recover(void **state)
{
	static struct world w;

	(void)state;
	world_init(&w);
	start_node(&w, 1, ALL5, N, MNODE_NONE);
	for (uint32_t i = 0; i < N; i++)
		if (i != 1)
			start_node(&w, i, ALL5, N, 1);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < N; i++) {
		assert_false(mnode_verdicts_held(w.node[i].mn));
		assert_int_equal(w.node[i].held_logs, 0);
	}
	partition_12_345(&w);
	run_for(&w, 60 * NS_PER_S);
	assert_int_equal(fences_of(&w, 0), 1);
	assert_int_equal(fences_of(&w, 1), 1);
	assert_int_equal(w.n_fences, 2);
	for (size_t f = 0; f < w.n_fences; f++)
		assert_true(w.fences[f].by >= 2);
	assert_int_equal(w.n_notifies, 2);
	for (size_t k = 0; k < w.n_notifies; k++)
		assert_true(w.notifies[k].by >= 2 && w.notifies[k].subject < 2);
	world_free(&w);
}

/* Adding n5 the way operators do: n1..n4 run with a file of four; n1's
 * file gets n5 and n1 restarts, then n2, n3, n4 one by one, then n5
 * starts. Nobody is fenced on the way, the nodes hold while the files
 * differ, and hold_ns after the last difference the verdicts work again:
 * a crash of n4 is fenced and notified once. */
static void test_rolling_edit_ends_with_verdicts_working(void **state)
{
	static struct world w;
	const uint64_t hold_ns = 20 * NS_PER_S; /* the default: 2 x observation_ttl */

	(void)state;
	world_init(&w);
	start_node(&w, 1, FIRST4, 4, MNODE_NONE);
	start_node(&w, 0, FIRST4, 4, 1);
	start_node(&w, 2, FIRST4, 4, 1);
	start_node(&w, 3, FIRST4, 4, 1);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < 4; i++)
		assert_false(mnode_verdicts_held(w.node[i].mn));

	restart_node(&w, 0, ALL5, N, 1);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < 4; i++)
		assert_true(mnode_verdicts_held(w.node[i].mn));
	for (uint32_t i = 1; i < 4; i++) {
		restart_node(&w, i, ALL5, N, 0);
		run_for(&w, 5 * NS_PER_S);
	}
	start_node(&w, 4, ALL5, N, 0);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(mnode_digest_mismatches(w.node[i].mn), 0);
	run_for(&w, hold_ns);
	for (uint32_t i = 0; i < N; i++) {
		assert_false(mnode_verdicts_held(w.node[i].mn));
		assert_int_equal(mnode_members_digest_of(w.node[i].mn),
				 mnode_members_digest_of(w.node[0].mn));
	}
	assert_true(w.node[2].resumed_logs >= 1);
	assert_int_equal(w.n_fences, 0);
	assert_int_equal(w.n_notifies, 0);

	/* Verdicts work again. */
	vnet_set_up(w.vn, 3, false);
	run_for(&w, 30 * NS_PER_S);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].subject, 3);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].subject, 3);
	assert_true(w.notifies[0].at > w.fences[0].at);
	world_free(&w);
}

/* A fence already running when the hold starts is not undone (a running
 * power-off cannot be): it finishes, and the COMPUTE_HOST notification
 * (Masakari evacuates) waits until the hold ends, then goes once. */
static void test_fence_running_when_hold_starts(void **state)
{
	static struct world w;
	static struct mesh_wire_msg m;
	const uint64_t hold_ns = 20 * NS_PER_S;
	uint32_t fencer;
	uint64_t injected_at;

	(void)state;
	world_init(&w);
	w.fence_delay_ns = 3 * NS_PER_S;
	start_node(&w, 1, ALL5, N, MNODE_NONE);
	for (uint32_t i = 0; i < N; i++)
		if (i != 1)
			start_node(&w, i, ALL5, N, 1);
	run_for(&w, 5 * NS_PER_S);
	vnet_set_up(w.vn, 4, false);
	while (w.n_fences == 0 && w.vn->now < 60 * NS_PER_S)
		run_for(&w, 10 * NS_PER_MS);
	assert_int_equal(w.n_fences, 1);
	fencer = w.fences[0].by;

	/* A member's message with another digest (its file was edited): the
	 * fencer holds while its fence runs. */
	memset(&m, 0, sizeof(m));
	m.kind = MESH_WIRE_PROBE_ACK;
	snprintf(m.from, sizeof(m.from), "%s", w.names[fencer == 0 ? 1 : 0]);
	m.nonce = 1;
	m.members_digest = mnode_members_digest_of(w.node[fencer].mn) ^ 1;
	injected_at = w.vn->now;
	(void)mnode_on_message(w.node[fencer].mn, &m, injected_at);
	drain(&w, fencer);

	run_for(&w, hold_ns - NS_PER_S);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.n_notifies, 0); /* fenced, notification held */
	assert_true(mnode_verdicts_held(w.node[fencer].mn));
	run_for(&w, 10 * NS_PER_S);
	assert_false(mnode_verdicts_held(w.node[fencer].mn));
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].by, fencer);
	assert_int_equal(w.notifies[0].subject, 4);
	assert_true(w.notifies[0].at >= injected_at + hold_ns);
	world_free(&w);
}

/* A rolling upgrade: a peer of an older version sends no digest. The
 * daemon (hold_on_unknown_digest) holds, as for another file, until that
 * peer runs the new version and hold_ns has passed; without the flag (the
 * simulator) the absent field is ignored. */
static void test_older_peer_holds(void **state)
{
	static struct world w;
	static struct mesh_wire_msg m;
	struct mnode_config cfg = { .self_addr = "tcp://x:1" };
	const char *names[] = { "n1", "n2", "n3" };
	char err[256];
	struct mnode *plain;

	(void)state;
	world_init(&w);
	start_node(&w, 0, FIRST3, 3, MNODE_NONE);
	memset(&m, 0, sizeof(m));
	m.kind = MESH_WIRE_PROBE_ACK;
	snprintf(m.from, sizeof(m.from), "n2");
	m.nonce = 1;
	(void)mnode_on_message(w.node[0].mn, &m, NS_PER_S);
	drain(&w, 0);
	assert_true(mnode_verdicts_held(w.node[0].mn));
	assert_int_equal(mnode_digest_mismatches(w.node[0].mn), 1);
	assert_int_equal(w.node[0].held_logs, 1);
	/* upgraded: its digest now, and hold_ns later the hold ends */
	m.members_digest = mnode_members_digest_of(w.node[0].mn);
	(void)mnode_on_message(w.node[0].mn, &m, 2 * NS_PER_S);
	drain(&w, 0);
	assert_int_equal(mnode_digest_mismatches(w.node[0].mn), 0);
	assert_true(mnode_verdicts_held(w.node[0].mn));
	assert_int_equal(mnode_next_deadline(w.node[0].mn) <= 22 * NS_PER_S, true);
	assert_int_equal(mnode_tick(w.node[0].mn, 22 * NS_PER_S), 0);
	drain(&w, 0);
	assert_false(mnode_verdicts_held(w.node[0].mn));
	assert_int_equal(w.node[0].resumed_logs, 1);
	world_free(&w);

	membership_config_default(&cfg.membership);
	agreement_config_default(&cfg.agreement);
	cfg.agreement.self = "n1";
	cfg.agreement.members = names;
	cfg.agreement.n_members = 3;
	plain = mnode_new(&cfg, err, sizeof(err));
	assert_non_null(plain);
	m.members_digest = 0;
	(void)mnode_on_message(plain, &m, NS_PER_S);
	assert_false(mnode_verdicts_held(plain));
	assert_int_equal(mnode_digest_mismatches(plain), 0);
	mnode_free(plain);
}

/* The digest: independent of the file's order, changed by any name or
 * URL, never 0. */
static void test_digest(void **state)
{
	const char *a[] = { "n1", "n2", "n3" }, *ua[] = { "tcp://a:1", "tcp://b:1", "tcp://c:1" };
	const char *b[] = { "n3", "n1", "n2" }, *ub[] = { "tcp://c:1", "tcp://a:1", "tcp://b:1" };
	const char *uc[] = { "tcp://a:1", "tcp://b:2", "tcp://c:1" };
	uint64_t d = mnode_members_digest(a, ua, 3);

	(void)state;
	assert_int_not_equal(d, 0);
	assert_int_equal(mnode_members_digest(b, ub, 3), d);
	assert_int_not_equal(mnode_members_digest(a, uc, 3), d);
	assert_int_not_equal(mnode_members_digest(a, ua, 2), d);
	assert_int_not_equal(mnode_members_digest(a, NULL, 3), d);
	assert_int_equal(mnode_members_digest(a, ua, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_differing_files_hold_verdicts),
		cmocka_unit_test(test_identical_files_still_recover),
		cmocka_unit_test(test_rolling_edit_ends_with_verdicts_working),
		cmocka_unit_test(test_fence_running_when_hold_starts),
		cmocka_unit_test(test_older_peer_holds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
