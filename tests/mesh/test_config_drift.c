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
#include "tests/support/mnode_net.h"
#include "tests/support/vnet.h"

#define N 5

/* What each node logged of its hold (the log hook). */
struct hold_logs {
	uint32_t held, resumed, differ;
};

static struct hold_logs logs[N];

static bool in_file(const struct mnode *mn, const char *name)
{
	return mnode_names_find(mnode_names(mn), name) != MNODE_NONE;
}

/* The RPC handler's admission (mesh_node.c on_deliver): the sender must
 * be in our file, a PING_REQ's target too, and gossip about others is
 * dropped. */
static bool hook_admit(struct mnode_net *w, uint32_t from, uint32_t to, struct mesh_wire_msg *m)
{
	const struct mnode *mn = w->mn[to];
	uint32_t kept = 0;

	assert_int_equal(mnode_net_id_of_name(w, m->from), from);
	if (!in_file(mn, m->from))
		return false;
	if (m->kind == MESH_WIRE_SWIM) {
		if (m->swim.type == MESH_MSG_PING_REQ && !in_file(mn, m->swim.target))
			return false;
		for (uint32_t u = 0; u < m->swim.n_updates; u++)
			if (in_file(mn, m->swim.updates[u].name))
				m->swim.updates[kept++] = m->swim.updates[u];
		m->swim.n_updates = kept;
	}
	return true;
}

static void hook_log(struct mnode_net *w, uint32_t i, const struct mnode_out *o)
{
	if (strcmp(o->act.event, "verdicts_held") == 0)
		logs[i].held++;
	else if (strcmp(o->act.event, "verdicts_resumed") == 0)
		logs[i].resumed++;
	else if (strcmp(o->act.event, "members_differ") == 0)
		logs[i].differ++;
	if (getenv("DRIFT_TRACE") && o->act.level <= AGR_LOG_WARN)
		print_message("%8.3f %s: [%s] %s\n", (double)w->vn->now / 1e9, w->names[i],
			      o->act.event, o->act.text);
}

/* Starts (or restarts) node i with the members file listing ids[0..k),
 * joining through seed (MNODE_NONE: none). */
static void start_node(struct mnode_net *w, uint32_t i, const uint32_t *ids, uint32_t k,
		       uint32_t seed)
{
	mnode_net_start(w, i, ids, k, seed, 1000 + i + w->vn->now);
}

/* An orderly restart (SIGTERM, start 1 s later) with another file. */
static void restart_node(struct mnode_net *w, uint32_t i, const uint32_t *ids, uint32_t k,
			 uint32_t seed)
{
	mnode_leave(w->mn[i], w->vn->now);
	mnode_net_drain(w, i);
	assert_int_equal(vnet_run_until(w->vn, w->vn->now + NS_PER_S), 0);
	vnet_set_up(w->vn, i, false);
	mnode_free(w->mn[i]);
	w->mn[i] = NULL;
	assert_int_equal(vnet_run_until(w->vn, w->vn->now + NS_PER_S), 0);
	start_node(w, i, ids, k, seed);
}

static const uint32_t ALL5[] = { 0, 1, 2, 3, 4 };
static const uint32_t FIRST3[] = { 0, 1, 2 };
static const uint32_t FIRST4[] = { 0, 1, 2, 3 };

/* Five nodes n1..n5, each down until start_node; each carries its file's
 * digest and holds on an unknown one, as mimamorid does. */
static void world_init(struct mnode_net *w)
{
	const struct mnode_net_config cfg = {
		.n = N, .name_prefix = "n", .first_number = 1, .addr_scheme = "tls+tcp",
		.network = true, .vnet_seed = 11, .max_steps = 20000000, .digests = true,
		.hooks = { .admit = hook_admit, .log = hook_log },
	};

	memset(logs, 0, sizeof(logs));
	mnode_net_init(w, &cfg);
	for (uint32_t i = 0; i < N; i++)
		vnet_set_up(w->vn, i, false); /* each comes up in start_node */
}

static void run_for(struct mnode_net *w, uint64_t ns)
{
	assert_int_equal(vnet_run_until(w->vn, w->vn->now + ns), 0);
}

static void partition_12_345(struct mnode_net *w)
{
	for (uint32_t i = 0; i < N; i++)
		vnet_set_group(w->vn, i, i < 2 ? 1 : 0);
}

static size_t fences_of(const struct mnode_net *w, uint32_t subject)
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
	static struct mnode_net w;

	(void)state;
	world_init(&w);
	start_node(&w, 1, ALL5, N, MNODE_NONE);
	start_node(&w, 0, FIRST3, 3, 1);
	for (uint32_t i = 2; i < N; i++)
		start_node(&w, i, ALL5, N, 1);
	run_for(&w, 5 * NS_PER_S);
	bool held_before = true;

	for (uint32_t i = 0; i < N; i++)
		held_before = held_before && mnode_verdicts_held(w.mn[i]);
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
		assert_true(mnode_verdicts_held(w.mn[i]));
		assert_true(logs[i].held >= 1);
		assert_true(logs[i].differ >= 1);
	}
	assert_int_equal(mnode_digest_mismatches(w.mn[0]), 2); /* n2, n3 */
	assert_int_equal(mnode_digest_mismatches(w.mn[1]), 1); /* n1 */
	assert_int_equal(mnode_digest_mismatches(w.mn[2]), 1); /* n1 */
	assert_int_equal(mnode_digest_mismatches(w.mn[3]), 0); /* told by n3 */
	mnode_net_free(&w);
}

/* The same partition with identical files: no hold, and the majority
 * {n3,n4,n5} fences and notifies both minority hosts, once each; the
 * minority fences nobody. */
static void test_identical_files_still_recover(void **state)
{
	static struct mnode_net w;

	(void)state;
	world_init(&w);
	start_node(&w, 1, ALL5, N, MNODE_NONE);
	for (uint32_t i = 0; i < N; i++)
		if (i != 1)
			start_node(&w, i, ALL5, N, 1);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < N; i++) {
		assert_false(mnode_verdicts_held(w.mn[i]));
		assert_int_equal(logs[i].held, 0);
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
	mnode_net_free(&w);
}

/* Adding n5 the way operators do: n1..n4 run with a file of four; n1's
 * file gets n5 and n1 restarts, then n2, n3, n4 one by one, then n5
 * starts. Nobody is fenced on the way, the nodes hold while the files
 * differ, and hold_ns after the last difference the verdicts work again:
 * a crash of n4 is fenced and notified once. */
static void test_rolling_edit_ends_with_verdicts_working(void **state)
{
	static struct mnode_net w;
	const uint64_t hold_ns = 20 * NS_PER_S; /* the default: 2 x observation_ttl */

	(void)state;
	world_init(&w);
	start_node(&w, 1, FIRST4, 4, MNODE_NONE);
	start_node(&w, 0, FIRST4, 4, 1);
	start_node(&w, 2, FIRST4, 4, 1);
	start_node(&w, 3, FIRST4, 4, 1);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < 4; i++)
		assert_false(mnode_verdicts_held(w.mn[i]));

	restart_node(&w, 0, ALL5, N, 1);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < 4; i++)
		assert_true(mnode_verdicts_held(w.mn[i]));
	for (uint32_t i = 1; i < 4; i++) {
		restart_node(&w, i, ALL5, N, 0);
		run_for(&w, 5 * NS_PER_S);
	}
	start_node(&w, 4, ALL5, N, 0);
	run_for(&w, 5 * NS_PER_S);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(mnode_digest_mismatches(w.mn[i]), 0);
	run_for(&w, hold_ns);
	for (uint32_t i = 0; i < N; i++) {
		assert_false(mnode_verdicts_held(w.mn[i]));
		assert_int_equal(mnode_members_digest_of(w.mn[i]),
				 mnode_members_digest_of(w.mn[0]));
	}
	assert_true(logs[2].resumed >= 1);
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
	mnode_net_free(&w);
}

/* A fence already running when the hold starts is not undone (a running
 * power-off cannot be): it finishes, and the COMPUTE_HOST notification
 * (Masakari evacuates) waits until the hold ends, then goes once. */
static void test_fence_running_when_hold_starts(void **state)
{
	static struct mnode_net w;
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
	m.members_digest = mnode_members_digest_of(w.mn[fencer]) ^ 1;
	injected_at = w.vn->now;
	(void)mnode_on_message(w.mn[fencer], &m, injected_at);
	mnode_net_drain(&w, fencer);

	run_for(&w, hold_ns - NS_PER_S);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.n_notifies, 0); /* fenced, notification held */
	assert_true(mnode_verdicts_held(w.mn[fencer]));
	run_for(&w, 10 * NS_PER_S);
	assert_false(mnode_verdicts_held(w.mn[fencer]));
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].by, fencer);
	assert_int_equal(w.notifies[0].subject, 4);
	assert_true(w.notifies[0].at >= injected_at + hold_ns);
	mnode_net_free(&w);
}

/* A rolling upgrade: a peer of an older version sends no digest. The
 * daemon (hold_on_unknown_digest) holds, as for another file, until that
 * peer runs the new version and hold_ns has passed; without the flag (the
 * simulator) the absent field is ignored. */
static void test_older_peer_holds(void **state)
{
	static struct mnode_net w;
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
	(void)mnode_on_message(w.mn[0], &m, NS_PER_S);
	mnode_net_drain(&w, 0);
	assert_true(mnode_verdicts_held(w.mn[0]));
	assert_int_equal(mnode_digest_mismatches(w.mn[0]), 1);
	assert_int_equal(logs[0].held, 1);
	/* upgraded: its digest now, and hold_ns later the hold ends */
	m.members_digest = mnode_members_digest_of(w.mn[0]);
	(void)mnode_on_message(w.mn[0], &m, 2 * NS_PER_S);
	mnode_net_drain(&w, 0);
	assert_int_equal(mnode_digest_mismatches(w.mn[0]), 0);
	assert_true(mnode_verdicts_held(w.mn[0]));
	assert_int_equal(mnode_next_deadline(w.mn[0]) <= 22 * NS_PER_S, true);
	assert_int_equal(mnode_tick(w.mn[0], 22 * NS_PER_S), 0);
	mnode_net_drain(&w, 0);
	assert_false(mnode_verdicts_held(w.mn[0]));
	assert_int_equal(logs[0].resumed, 1);
	mnode_net_free(&w);

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
