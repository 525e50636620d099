/* The composition of membership + agreement (mesh/node.h) as mimamorid's
 * mesh thread and the simulator drive it: N nodes on a virtual-time network
 * (every message, fence and Masakari answer takes 1 ms), a member crashes,
 * and what an operator cares about is checked: the survivors agree, one of
 * them fences it and then notifies, with the failure's time the moment it
 * was first suspected at the incarnation it died with; an input the
 * agreement refuses while its actions pile up is not lost; the one deadline
 * is the earlier of the cores'. */
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

#define LATENCY_NS MNODE_NET_LATENCY_NS

/* This file's faults on the network (the drop hook) and what it reads
 * from the outputs (member and log hooks); reset by net_init. */
struct node_test {
	/* drop ABANDONED completions to one node (the first one sent to) */
	bool drop_abandoned;
	uint32_t abandoned_dropped_to;
	uint32_t abandoned_dropped, abandoned_delivered;
	/* competing claims: every OBSERVATION from claim_best to claim_other
	 * (so claim_other ranks itself 0 too), and claim_best's first
	 * CLAIMED to claim_other */
	bool drop_claim_evidence;
	uint32_t claim_best, claim_other;
	uint32_t claim_obs_dropped, claimed_dropped;
	/* drop the next drop_reports process reports */
	uint32_t drop_reports;
	/* every HANDED_OVER is dropped (a peer of a version without it rejects
	 * the unknown stage: a rolling upgrade) */
	bool drop_handed_over;
	uint32_t handed_over_dropped;
	/* [observer][subject]: the first SUSPECT or DEAD event's time and
	 * incarnation, reset by ALIVE: what the failure time must be. */
	uint64_t first_suspect_at[MNODE_NET_MAX][MNODE_NET_MAX];
	uint64_t first_suspect_inc[MNODE_NET_MAX][MNODE_NET_MAX];
	/* each node's last [monitor_down] record */
	char monitor_down[MNODE_NET_MAX][AGR_TEXT_MAX];
};

static struct node_test tf;

static bool is_abandoned(const struct mesh_wire_msg *m)
{
	return m->kind == MESH_WIRE_COMPLETION && m->completion.stage == AGR_STAGE_ABANDONED;
}

/* The lost messages this file's tests ask for. */
static bool hook_drop(struct mnode_net *w, uint32_t from, uint32_t to,
		      const struct mesh_wire_msg *m)
{
	(void)w;
	if (tf.drop_reports > 0 && m->kind == MESH_WIRE_PROCESS_REPORT) {
		tf.drop_reports--;
		return true;
	}
	if (tf.drop_handed_over && m->kind == MESH_WIRE_COMPLETION &&
	    m->completion.stage == AGR_STAGE_HANDED_OVER) {
		tf.handed_over_dropped++;
		return true;
	}
	if (tf.drop_claim_evidence && from == tf.claim_best && to == tf.claim_other) {
		if (m->kind == MESH_WIRE_OBSERVATION) {
			tf.claim_obs_dropped++;
			return true;
		}
		if (m->kind == MESH_WIRE_COMPLETION && m->completion.stage == AGR_STAGE_CLAIMED &&
		    tf.claimed_dropped == 0) {
			tf.claimed_dropped++;
			return true;
		}
	}
	if (!tf.drop_abandoned || !is_abandoned(m))
		return false;
	if (tf.abandoned_dropped_to == MNODE_NONE)
		tf.abandoned_dropped_to = to;
	if (to != tf.abandoned_dropped_to) {
		tf.abandoned_delivered++;
		return false;
	}
	tf.abandoned_dropped++;
	return true;
}

static void hook_member(struct mnode_net *w, uint32_t i, const struct mnode_out *o)
{
	uint32_t s = o->subject;

	(void)w;
	assert_int_not_equal(s, MNODE_NONE);
	if (o->self)
		return;
	if (o->event.new_state == MESH_SUSPECT || o->event.new_state == MESH_DEAD) {
		if (tf.first_suspect_at[i][s] == 0 ||
		    tf.first_suspect_inc[i][s] != o->event.incarnation) {
			tf.first_suspect_at[i][s] = o->event.at_ns;
			tf.first_suspect_inc[i][s] = o->event.incarnation;
		}
	} else {
		tf.first_suspect_at[i][s] = 0;
	}
}

static void hook_log(struct mnode_net *w, uint32_t i, const struct mnode_out *o)
{
	if (strcmp(o->act.event, "monitor_down") == 0)
		snprintf(tf.monitor_down[i], sizeof(tf.monitor_down[i]), "%s", o->act.text);
	if (getenv("NODE_TRACE") != NULL && o->act.kind == AGR_ACT_LOG)
		printf("%9.3f %s %s: %s\n", (double)(w->vn ? w->vn->now : 0) / 1e9, w->names[i],
		       o->act.event, o->act.text);
}

static const uint32_t ALL_IDS[MNODE_NET_MAX] = { 0, 1, 2, 3, 4, 5, 6, 7 };

/* n nodes, every file listing all; with `network`, on a vnet (1 ms links)
 * and joined through compute-0; without, only created (a test feeds one
 * node by hand). Membership seeds 1000 + i; the one deadline checked at
 * every step. */
static void net_init(struct mnode_net *w, uint32_t n, bool network)
{
	const struct mnode_net_config cfg = {
		.n = n, .name_prefix = "compute-", .first_number = 0, .addr_scheme = "tcp",
		.network = network, .vnet_seed = 7, .max_steps = 10000000, .strict = true,
		.hooks = { .drop = hook_drop, .member = hook_member, .log = hook_log },
	};

	memset(&tf, 0, sizeof(tf));
	tf.abandoned_dropped_to = MNODE_NONE;
	mnode_net_init(w, &cfg);
	for (uint32_t i = 0; i < n; i++) {
		mnode_net_create(w, i, ALL_IDS, n, 1000 + i);
		if (network)
			mnode_net_join(w, i, i == 0 ? MNODE_NONE : 0);
	}
}

static void all_alive(struct mnode_net *w)
{
	for (uint32_t i = 0; i < w->n; i++)
		for (uint32_t j = 0; j < w->n; j++) {
			struct mnode_member m;

			if (i == j)
				continue;
			assert_int_equal(mnode_member(w->mn[i], j, &m), 0);
			assert_int_equal(m.state, MESH_ALIVE);
		}
}

/* A member's death: every survivor's membership gets there, the agreement
 * reaches a verdict with a majority, one survivor fences, and only after
 * the fence's success notifies COMPUTE_HOST (host_status NORMAL) once. */
static void test_death_fences_then_notifies(void **state)
{
	static struct mnode_net w;
	const uint32_t victim = 4;

	(void)state;
	net_init(&w, 5, true);
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	assert_int_equal(w.n_fences, 0);
	assert_int_equal(w.n_notifies, 0);

	vnet_set_up(w.vn, victim, false);
	uint64_t crash_at = w.vn->now;
	mnode_net_run_until(&w, 20 * NS_PER_S);

	for (uint32_t i = 0; i < w.n; i++) {
		struct mnode_member m;

		if (i == victim)
			continue;
		assert_int_equal(mnode_member(w.mn[i], victim, &m), 0);
		assert_int_equal(m.state, MESH_DEAD);
	}
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].subject, victim);
	assert_true(w.fences[0].at > crash_at);
	assert_int_equal(w.n_notifies, 1);
	const struct mnode_net_rec *nr = &w.notifies[0];

	assert_int_equal(nr->kind, AGR_ACT_NOTIFY_HOST);
	assert_int_equal(nr->subject, victim);
	assert_int_equal(nr->host_status, AGR_HOST_NORMAL);
	/* by the fencer, after its fence answered */
	assert_int_equal(nr->by, w.fences[0].by);
	assert_true(nr->at >= w.fences[0].at + LATENCY_NS);
	for (uint32_t i = 0; i < w.n; i++) {
		struct agr_incident_info info;

		if (i == victim)
			continue;
		assert_int_equal(agreement_incident(mnode_agreement(w.mn[i]), AGR_INCIDENT_HOST,
						    w.names[victim], &info), 0);
		assert_int_equal(info.stage, AGR_IS_COMPLETED);
	}
	mnode_net_free(&w);
}

/* Two deciders with different evidence both rank themselves 0: the best
 * survivor B by score, and another, X, that never got B's observation (so
 * B is no candidate in its view). B's CLAIMED to X is lost, X's reaches B.
 * B answers X's weaker claim and re-tells its own during the settle, so X
 * yields before it fences: one fence, one COMPUTE_HOST (before the fix:
 * two of each; mimamori-sim --nodes 20 --scenario crash --loss 0.05
 * --fence-delay 0.01 --seed 55). */
static void test_competing_claims_converge_before_fencing(void **state)
{
	static struct mnode_net w;
	const uint32_t victim = 4;
	uint32_t order[4] = { 0, 1, 2, 3 };

	(void)state;
	net_init(&w, 5, true);
	/* survivors by descending score for the victim */
	for (uint32_t i = 0; i < 4; i++)
		for (uint32_t j = i + 1; j < 4; j++)
			if (agreement_score(w.names[order[j]], w.names[victim]) >
			    agreement_score(w.names[order[i]], w.names[victim])) {
				uint32_t t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
	tf.drop_claim_evidence = true;
	tf.claim_best = order[0];
	tf.claim_other = order[1];
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);

	vnet_set_up(w.vn, victim, false);
	mnode_net_run_until(&w, 20 * NS_PER_S);

	/* the scenario happened: X never heard B's observation nor its first claim */
	assert_true(tf.claim_obs_dropped >= 1);
	assert_int_equal(tf.claimed_dropped, 1);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].subject, victim);
	assert_int_equal(w.fences[0].by, tf.claim_best);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].by, tf.claim_best);
	for (uint32_t i = 0; i < 4; i++) {
		struct agr_counters c;

		agreement_counters(mnode_agreement(w.mn[i]), &c);
		assert_int_equal(c.duplicate_notifications, 0);
	}
	mnode_net_free(&w);
}

/* The failure time of a COMPUTE_HOST notification is when the notifier
 * first suspected the host at the incarnation it died with: after the
 * crash, well before the verdict. */
static void test_notify_failure_time_is_first_suspicion(void **state)
{
	static struct mnode_net w;
	const uint32_t victim = 2;

	(void)state;
	net_init(&w, 5, true);
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	uint64_t crash_at = w.vn->now;
	mnode_net_run_until(&w, 20 * NS_PER_S);

	assert_int_equal(w.n_notifies, 1);
	const struct mnode_net_rec *nr = &w.notifies[0];
	struct mnode_member m;

	assert_int_equal(mnode_member(w.mn[nr->by], victim, &m), 0);
	assert_int_equal(nr->incarnation, m.incarnation);
	assert_int_not_equal(tf.first_suspect_at[nr->by][victim], 0);
	assert_int_equal(tf.first_suspect_inc[nr->by][victim], nr->incarnation);
	assert_int_equal(nr->failed_at_mono_ns, tf.first_suspect_at[nr->by][victim]);
	assert_int_equal(m.suspect_since_ns, nr->failed_at_mono_ns);
	assert_true(nr->failed_at_mono_ns > crash_at);
	/* SWIM needs at least a probe timeout and the agreement a whole
	 * unreachable window more: the suspicion comes well before. */
	assert_true(nr->failed_at_mono_ns + NS_PER_S < nr->at);
	mnode_net_free(&w);
}

/* Issue 10, item 3: one lost ABANDONED. A member stalls; the
 * majority declares it, the notifier claims it and its fence fails; the
 * member comes back (refutes at a new incarnation), so the notifier
 * abandons without fencing, but its ABANDONED to one backup is lost. That
 * backup heard the claim and the FENCE_FAILED, never the ABANDONED: when
 * the claimer falls silent it must not take over and fence a host that is
 * alive in its own view at a newer incarnation (the claimer's silence is
 * no proof of a fence; only a FENCED, a NOTIFYING NORMAL or our own fence
 * is). Nothing may fence or notify the member after it came back. */
static void test_lost_abandoned_does_not_fence_a_returned_host(void **state)
{
	static struct mnode_net w;
	const uint32_t victim = 3;

	(void)state;
	net_init(&w, 5, true);
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	tf.drop_abandoned = true;
	w.fence_result = AGR_FENCE_FAILED;
	/* frozen (a stall: it keeps its view and comes back by refuting) */
	vnet_set_up(w.vn, victim, false);
	for (uint64_t t = w.vn->now; w.n_fences == 0; t += 100 * NS_PER_MS) {
		assert_true(t < 30 * NS_PER_S);
		mnode_net_run_until(&w, t);
	}
	const uint32_t claimer = w.fences[0].by;
	const uint64_t dead_inc = w.fences[0].incarnation;

	/* the backups hear CLAIMED and FENCE_FAILED; then the member is back */
	mnode_net_run_until(&w, w.vn->now + 1500 * NS_PER_MS);
	assert_int_equal(w.n_fences, 1);
	vnet_set_up(w.vn, victim, true);
	w.fence_result = AGR_FENCE_OK;
	const uint64_t healed_at = w.vn->now;

	mnode_net_run_until(&w, healed_at + 400 * NS_PER_S);
	/* the scenario happened: the claimer abandoned, one backup missed it */
	struct agr_counters c;

	agreement_counters(mnode_agreement(w.mn[claimer]), &c);
	assert_true(c.abandoned >= 1);
	assert_true(tf.abandoned_dropped >= 1);
	assert_int_not_equal(tf.abandoned_dropped_to, claimer);
	assert_int_not_equal(tf.abandoned_dropped_to, victim);
	/* nobody fenced or notified the member after it came back */
	for (size_t k = 0; k < w.n_fences; k++)
		assert_true(w.fences[k].at < healed_at);
	assert_int_equal(w.n_notifies, 0);
	for (uint32_t i = 0; i < w.n; i++) {
		struct mnode_member m;
		struct agr_incident_info info;

		if (i == victim)
			continue;
		assert_int_equal(mnode_member(w.mn[i], victim, &m), 0);
		assert_int_equal(m.state, MESH_ALIVE);
		assert_true(m.incarnation > dead_inc);
		/* the incident is over everywhere (abandoned, cancelled) */
		assert_int_equal(agreement_incident(mnode_agreement(w.mn[i]), AGR_INCIDENT_HOST,
						    w.names[victim], &info), -ENOENT);
	}
	mnode_net_free(&w);
}

/* One message from `from` carrying one update about `about`. */
static void gossip_about(struct mnode *nd, const char *from, const char *from_addr,
			 const char *about, const char *about_addr, uint32_t st, uint64_t inc,
			 uint64_t now)
{
	static struct mesh_wire_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = MESH_WIRE_SWIM;
	snprintf(m.from, sizeof(m.from), "%s", from);
	m.swim.type = MESH_MSG_GOSSIP;
	snprintf(m.swim.sender.name, sizeof(m.swim.sender.name), "%s", from);
	snprintf(m.swim.sender.addr, sizeof(m.swim.sender.addr), "%s", from_addr);
	m.swim.sender.state = MESH_ALIVE;
	m.swim.n_updates = 1;
	snprintf(m.swim.updates[0].name, sizeof(m.swim.updates[0].name), "%s", about);
	snprintf(m.swim.updates[0].addr, sizeof(m.swim.updates[0].addr), "%s", about_addr);
	if (st == MESH_SUSPECT || st == MESH_DEAD)
		snprintf(m.swim.updates[0].by, sizeof(m.swim.updates[0].by), "%s", from);
	m.swim.updates[0].state = st;
	m.swim.updates[0].incarnation = inc;
	assert_int_equal(mnode_on_message(nd, &m, now), 0);
}

/* The suspicion that counts is the one at the incarnation the member dies
 * with: a suspicion refuted (alive at a higher incarnation) does not date
 * a later death; a DEAD after a SUSPECT at the same incarnation keeps the
 * SUSPECT's time. */
static void test_suspect_since_follows_the_incarnation(void **state)
{
	static struct mnode_net w;
	struct mnode_member m;

	(void)state;
	net_init(&w, 3, false);
	struct mnode *a = w.mn[0];

	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_ALIVE, 0, 10);
	mnode_net_drain(&w, 0);
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_SUSPECT, 0,
		     100 * NS_PER_MS);
	mnode_net_drain(&w, 0);
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_DEAD, 0,
		     500 * NS_PER_MS);
	mnode_net_drain(&w, 0);
	assert_int_equal(mnode_member(a, 2, &m), 0);
	assert_int_equal(m.state, MESH_DEAD);
	assert_int_equal(m.suspect_since_ns, 100 * NS_PER_MS);

	/* back at incarnation 1, then suspected and dead again */
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_ALIVE, 1,
		     600 * NS_PER_MS);
	mnode_net_drain(&w, 0);
	assert_int_equal(mnode_member(a, 2, &m), 0);
	assert_int_equal(m.state, MESH_ALIVE);
	assert_int_equal(m.suspect_since_ns, 0);
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_DEAD, 1,
		     900 * NS_PER_MS);
	mnode_net_drain(&w, 0);
	assert_int_equal(mnode_member(a, 2, &m), 0);
	assert_int_equal(m.state, MESH_DEAD);
	assert_int_equal(m.incarnation, 1);
	assert_int_equal(m.suspect_since_ns, 900 * NS_PER_MS);
	/* dead means unreachable for broadcasts; never heard of does not */
	assert_false(mnode_reachable(a, 2));
	assert_true(mnode_reachable(a, 1));
	assert_false(mnode_reachable(a, 0));
	mnode_net_free(&w);
}

/* An agreement input refused because the actions were not drained (the
 * core's -EBUSY) is kept and fed again after the drain: every probe gets
 * its ack, none is lost; only when the kept inputs are full is -EBUSY the
 * caller's to handle. */
static void test_busy_input_is_retried_after_drain(void **state)
{
	static struct mnode_net w;
	static struct mesh_wire_msg m;
	size_t fed = 0, acks = 0, k;
	int rc = 0;

	(void)state;
	net_init(&w, 3, false);
	struct mnode *a = w.mn[0];

	while (mnode_poll(a, w.out, 8) > 0)
		;
	memset(&m, 0, sizeof(m));
	m.kind = MESH_WIRE_PROBE;
	snprintf(m.from, sizeof(m.from), "%s", w.names[1]);
	for (fed = 0; fed < 4 * AGR_QUEUE_LEN; fed++) {
		m.nonce = fed + 1;
		rc = mnode_on_message(a, &m, 1000 + fed);
		if (rc != 0)
			break;
	}
	/* The core refused some (else MNODE_PENDING_MAX more would not have
	 * run out): they were kept. */
	assert_int_equal(rc, -EBUSY);
	assert_true(fed > MNODE_PENDING_MAX);
	while ((k = mnode_poll(a, w.out, 8)) > 0)
		for (size_t j = 0; j < k; j++)
			if (w.out[j].kind == MNODE_OUT_SEND && w.out[j].msg.kind == MESH_WIRE_PROBE_ACK) {
				assert_int_equal(w.out[j].n_to, 1);
				assert_int_equal(w.out[j].to[0], 1);
				assert_int_equal(w.out[j].msg.nonce, acks + 1); /* in order */
				acks++;
			}
	assert_int_equal(acks, fed);
	/* and after the drain, inputs are taken again */
	m.nonce = fed + 1;
	assert_int_equal(mnode_on_message(a, &m, 1000 + fed), 0);
	mnode_net_free(&w);
}

/* A process report goes to every member not DEAD or LEFT in our view, a
 * member never heard of included (it may be starting). */
static void test_process_report_broadcast_rule(void **state)
{
	static struct mnode_net w;
	size_t k, broadcasts = 0;

	(void)state;
	net_init(&w, 4, false);
	struct mnode *a = w.mn[0];

	while (mnode_poll(a, w.out, 8) > 0)
		;
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_ALIVE, 0, 10);
	/* 2 says itself that it leaves: a LEFT counts first-hand only */
	gossip_about(a, w.names[2], w.addrs[2], w.names[2], w.addrs[2], MESH_LEFT, 1, 11);
	while (mnode_poll(a, w.out, 8) > 0)
		;
	assert_int_equal(mnode_local_process_failed(a, "pacemaker-remoted", 1234, 20), 0);
	while ((k = mnode_poll(a, w.out, 8)) > 0)
		for (size_t j = 0; j < k; j++)
			if (w.out[j].kind == MNODE_OUT_BROADCAST) {
				assert_int_equal(w.out[j].msg.kind, MESH_WIRE_PROCESS_REPORT);
				assert_string_equal(w.out[j].msg.report.process, "pacemaker-remoted");
				assert_string_equal(w.out[j].msg.report.reporter, w.names[0]);
				broadcasts++;
			}
	assert_int_equal(broadcasts, 1);
	assert_true(mnode_reachable(a, 1));  /* alive */
	assert_false(mnode_reachable(a, 2)); /* left */
	assert_true(mnode_reachable(a, 3));  /* never heard of */
	mnode_net_free(&w);
}

/* A shared names table must be the agreement's list; self must be in it. */
static void test_config_checks(void **state)
{
	const char *names[] = { "a", "b", "c" };
	const char *dup[] = { "a", "b", "a" };
	struct mnode_names *t = mnode_names_new(names, 3);
	struct mnode_config cfg = { .self_addr = "tcp://a:1" };
	char err[256];
	struct mnode *n;

	(void)state;
	assert_non_null(t);
	assert_int_equal(mnode_names_find(t, "c"), 2);
	assert_int_equal(mnode_names_find(t, "d"), MNODE_NONE);
	assert_null(mnode_names_new(dup, 3));
	membership_config_default(&cfg.membership);
	cfg.membership.max_members = 3;
	agreement_config_default(&cfg.agreement);
	cfg.agreement.members = names;
	cfg.agreement.n_members = 3;
	cfg.agreement.self = "z";
	assert_null(mnode_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "not a member"));
	cfg.agreement.self = "b";
	cfg.names = t;
	cfg.agreement.n_members = 2;
	assert_null(mnode_new(&cfg, err, sizeof(err)));
	cfg.agreement.n_members = 3;
	n = mnode_new(&cfg, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(mnode_self(n), 1);
	mnode_free(n);
	mnode_names_free(t);
}

/* Issue 10, item 10, through the composition: the first broadcast of a
 * process report is lost to every peer; the reporter sends it again until
 * the notifier's NOTIFIED reaches it, then stops. */
static void test_process_report_resent_until_notified(void **state)
{
	static struct mnode_net w;
	const uint32_t reporter = 2;

	(void)state;
	net_init(&w, 5, true);
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	tf.drop_reports = 4;
	assert_int_equal(mnode_local_process_failed(w.mn[reporter], "pacemaker-remoted",
						    1234, w.vn->now), 0);
	mnode_net_drain(&w, reporter);
	mnode_net_run_until(&w, 40 * NS_PER_S);
	assert_int_equal(tf.drop_reports, 0);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].kind, AGR_ACT_NOTIFY_PROCESS);
	assert_int_equal(w.notifies[0].subject, reporter);
	assert_int_equal(w.n_fences, 0);
	uint32_t sent = w.reports_sent;
	assert_true(sent >= 2);
	mnode_net_run_until(&w, 80 * NS_PER_S);
	assert_int_equal(w.reports_sent, sent);
	assert_int_equal(w.n_notifies, 1);
	mnode_net_free(&w);
}

/* Issue 10, item 9, through the composition: Masakari refuses the
 * notifier's COMPUTE_HOST for good (400): the next rank notifies at once,
 * without a second fence. */
static void test_failed_notification_handed_over(void **state)
{
	static struct mnode_net w;
	const uint32_t victim = 4;
	uint32_t best = 0;

	(void)state;
	net_init(&w, 5, true);
	for (uint32_t i = 1; i < 4; i++)
		if (agreement_score(w.names[i], w.names[victim]) >
		    agreement_score(w.names[best], w.names[victim]))
			best = i;
	w.notify_http[best] = 400;
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	mnode_net_run_until(&w, 20 * NS_PER_S);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].by, best);
	assert_int_equal(w.n_notifies, 2);
	assert_int_equal(w.notifies[0].by, best);
	assert_int_not_equal(w.notifies[1].by, best);
	assert_int_equal(w.notifies[1].host_status, AGR_HOST_NORMAL);
	assert_true(w.notifies[1].at - w.notifies[0].at < NS_PER_S);
	mnode_net_free(&w);
}

/* The [monitor_down] record says what the suspect's kernel did: refused
 * our connect (its daemon is down) or accepted it (its daemon is hung or
 * starved); before, an accepted connect was recorded as a refusal. */
static void test_monitor_down_says_refused_or_accepted(void **state)
{
	static struct mnode_net w;
	const uint32_t victim = 4;
	struct agr_incident_info info;

	(void)state;
	net_init(&w, 5, true);
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	for (uint64_t t = w.vn->now;
	     agreement_incident(mnode_agreement(w.mn[0]), AGR_INCIDENT_HOST, w.names[victim],
				&info) != 0 ||
	     agreement_incident(mnode_agreement(w.mn[1]), AGR_INCIDENT_HOST, w.names[victim],
				&info) != 0;
	     t += 10 * NS_PER_MS) {
		assert_true(t < 20 * NS_PER_S);
		mnode_net_run_until(&w, t);
	}
	assert_int_equal(mnode_on_peer_answered(w.mn[0], victim, AGR_PEER_ACCEPTED, w.vn->now), 0);
	mnode_net_drain(&w, 0);
	assert_int_equal(mnode_on_peer_answered(w.mn[1], victim, AGR_PEER_REFUSED, w.vn->now), 0);
	mnode_net_drain(&w, 1);
	assert_non_null(strstr(tf.monitor_down[0], "accepts our connect"));
	assert_null(strstr(tf.monitor_down[0], "refuses"));
	assert_non_null(strstr(tf.monitor_down[1], "refuses our connect"));
	assert_null(strstr(tf.monitor_down[1], "accepts"));
	mnode_net_free(&w);
}

/* Issue 10, loose end of item 10: a daemon restarted (a graceful stop,
 * so its peers hold it LEFT at its incarnation + 1) starts again at
 * incarnation 0 and a watched process dies at once, before membership's
 * refutation brought its incarnation back above its previous life's. Its
 * report must still reach the peers and be acted on exactly once (before:
 * every peer dropped it as stale, and its re-sends too: never notified). */
static void test_process_report_right_after_restart(void **state)
{
	static struct mnode_net w;
	const uint32_t reporter = 2;
	struct mnode_member m;

	(void)state;
	net_init(&w, 5, true);
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	mnode_leave(w.mn[reporter], w.vn->now);
	mnode_net_drain(&w, reporter);
	for (uint64_t t = w.vn->now; !mnode_leave_done(w.mn[reporter]); t += 10 * NS_PER_MS) {
		assert_true(t < 10 * NS_PER_S);
		mnode_net_run_until(&w, t);
	}
	mnode_net_run_until(&w, w.vn->now + NS_PER_S);
	assert_int_equal(mnode_member(w.mn[0], reporter, &m), 0);
	assert_int_equal(m.state, MESH_LEFT);
	assert_true(m.incarnation >= 1);

	/* the daemon starts again: empty state, incarnation 0 */
	mnode_net_start(&w, reporter, ALL_IDS, w.n, 0, 1000 + reporter);
	assert_int_equal(mnode_local_process_failed(w.mn[reporter], "nova-compute",
						    1796600000LL * NS_PER_S, w.vn->now), 0);
	mnode_net_drain(&w, reporter);
	mnode_net_run_until(&w, w.vn->now + 60 * NS_PER_S);
	assert_int_equal(w.n_fences, 0);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].kind, AGR_ACT_NOTIFY_PROCESS);
	assert_int_equal(w.notifies[0].subject, reporter);
	/* and it stops re-sending once notified: nothing more later */
	uint32_t sent = w.reports_sent;

	mnode_net_run_until(&w, w.vn->now + 120 * NS_PER_S);
	assert_int_equal(w.reports_sent, sent);
	assert_int_equal(w.n_notifies, 1);
	mnode_net_free(&w);
}

/* A rolling upgrade: the notifier's COMPUTE_HOST is refused for good
 * (400) and it hands over, but its peers run a version without
 * HANDED_OVER and reject it. They take over only after their takeover
 * step (the claimer fell silent), and they know its fence from its
 * FENCED and NOTIFYING NORMAL: one fence in all, never a second, and the
 * failure is still notified (docs/ROLLING-UPGRADE.md). */
static void test_handover_to_old_peers_fences_once(void **state)
{
	static struct mnode_net w;
	const uint32_t victim = 4;
	uint32_t best = 0;

	(void)state;
	net_init(&w, 5, true);
	for (uint32_t i = 1; i < 4; i++)
		if (agreement_score(w.names[i], w.names[victim]) >
		    agreement_score(w.names[best], w.names[victim]))
			best = i;
	w.notify_http[best] = 400;
	tf.drop_handed_over = true;
	mnode_net_run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	mnode_net_run_until(&w, 400 * NS_PER_S);
	assert_true(tf.handed_over_dropped >= 1);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].by, best);
	assert_int_equal(w.n_notifies, 2);
	assert_int_equal(w.notifies[0].by, best);
	assert_int_not_equal(w.notifies[1].by, best);
	assert_int_equal(w.notifies[1].host_status, AGR_HOST_NORMAL);
	/* not at once, as a peer that takes HANDED_OVER does: a takeover step */
	assert_true(w.notifies[1].at - w.notifies[0].at > NS_PER_S);
	mnode_net_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_death_fences_then_notifies),
		cmocka_unit_test(test_notify_failure_time_is_first_suspicion),
		cmocka_unit_test(test_suspect_since_follows_the_incarnation),
		cmocka_unit_test(test_busy_input_is_retried_after_drain),
		cmocka_unit_test(test_process_report_broadcast_rule),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_lost_abandoned_does_not_fence_a_returned_host),
		cmocka_unit_test(test_competing_claims_converge_before_fencing),
		cmocka_unit_test(test_process_report_resent_until_notified),
		cmocka_unit_test(test_failed_notification_handed_over),
		cmocka_unit_test(test_monitor_down_says_refused_or_accepted),
		cmocka_unit_test(test_process_report_right_after_restart),
		cmocka_unit_test(test_handover_to_old_peers_fences_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
