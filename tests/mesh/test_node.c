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
#include "tests/support/vnet.h"

#define MAX_NODES 8
#define LATENCY_NS NS_PER_MS

/* What travels on the virtual network: a peer message, or a result posted
 * back to the node that asked (a fence, Masakari's answer). */
enum item_kind { ITEM_MSG = 1, ITEM_FENCE_DONE, ITEM_NOTIFY_DONE };

struct item {
	enum item_kind kind;
	char subject[MESH_NAME_MAX];
	uint64_t incarnation;
	enum agr_incident_kind incident;
	struct mesh_wire_msg msg; /* ITEM_MSG */
};

struct fence_rec {
	uint32_t by, subject;
	uint64_t at, incarnation;
};

struct notify_rec {
	uint32_t by, subject;
	uint64_t at, incarnation, failed_at_mono_ns;
	enum agr_action_kind kind;
	enum agr_host_status host_status;
};

struct net {
	uint32_t n;
	struct vnet *vn;
	char names[MAX_NODES][MESH_NAME_MAX];
	char addrs[MAX_NODES][MESH_ADDR_MAX];
	const char *name_ptrs[MAX_NODES];
	struct mnode *node[MAX_NODES];
	struct mnode_out out[8];
	struct item item; /* scratch */
	struct fence_rec fences[64];
	size_t n_fences;
	struct notify_rec notifies[64];
	size_t n_notifies;
	/* [observer][subject]: the first SUSPECT or DEAD event's time and
	 * incarnation, reset by ALIVE: what the failure time must be. */
	uint64_t first_suspect_at[MAX_NODES][MAX_NODES];
	uint64_t first_suspect_inc[MAX_NODES][MAX_NODES];
	/* the fence's answer (0: AGR_FENCE_OK) */
	enum agr_fence_result fence_result;
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
	/* drop the next drop_reports process reports; reports broadcast */
	uint32_t drop_reports, reports_sent;
	/* node notify_fail_node's Masakari answers notify_fail_http */
	bool notify_fail;
	uint32_t notify_fail_node;
	int notify_fail_http;
	/* every HANDED_OVER is dropped (a peer of a version without it rejects
	 * the unknown stage: a rolling upgrade) */
	bool drop_handed_over;
	uint32_t handed_over_dropped;
	/* each node's last [monitor_down] record */
	char monitor_down[MAX_NODES][AGR_TEXT_MAX];
};

static void send_msg(struct net *w, uint32_t from, uint32_t to, const struct mesh_wire_msg *m)
{
	assert_int_not_equal(to, from);
	assert_true(to < w->n);
	if (w->vn == NULL)
		return; /* a node fed by hand: its messages go nowhere */
	w->item.kind = ITEM_MSG;
	w->item.msg = *m;
	vnet_send(w->vn, from, to, &w->item, sizeof(w->item));
}

static void post(struct net *w, uint32_t to, enum item_kind kind, const struct agr_action *act)
{
	if (w->vn == NULL)
		return;
	memset(&w->item, 0, offsetof(struct item, msg));
	w->item.kind = kind;
	snprintf(w->item.subject, sizeof(w->item.subject), "%s", act->subject);
	w->item.incarnation = act->incarnation;
	w->item.incident = act->incident;
	vnet_post(w->vn, to, LATENCY_NS, &w->item, offsetof(struct item, msg));
}

static uint32_t node_of_addr(const struct net *w, const char *addr)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (strcmp(w->addrs[i], addr) == 0)
			return i;
	fail_msg("no node has address %s", addr);
	return MNODE_NONE;
}

/* Everything node i wants done, as a shell does it. */
static void drain(struct net *w, uint32_t i)
{
	uint64_t now = w->vn ? w->vn->now : 0;
	size_t k;

	while ((k = mnode_poll(w->node[i], w->out, 8)) > 0) {
		for (size_t j = 0; j < k; j++) {
			const struct mnode_out *o = &w->out[j];

			switch (o->kind) {
			case MNODE_OUT_SEND:
				for (uint32_t d = 0; d < o->n_to; d++)
					send_msg(w, i, o->to[d] != MNODE_NONE ? o->to[d]
									       : node_of_addr(w, o->to_addr),
						 &o->msg);
				break;
			case MNODE_OUT_BROADCAST:
				w->reports_sent += o->msg.kind == MESH_WIRE_PROCESS_REPORT;
				for (uint32_t d = 0; d < w->n; d++)
					if (mnode_reachable(w->node[i], d))
						send_msg(w, i, d, &o->msg);
				break;
			case MNODE_OUT_FENCE:
				assert_true(w->n_fences < 64);
				w->fences[w->n_fences++] = (struct fence_rec){
					.by = i, .subject = o->subject, .at = now,
					.incarnation = o->act.incarnation };
				post(w, i, ITEM_FENCE_DONE, &o->act);
				break;
			case MNODE_OUT_NOTIFY:
				assert_true(w->n_notifies < 64);
				w->notifies[w->n_notifies++] = (struct notify_rec){
					.by = i, .subject = o->subject, .at = now,
					.incarnation = o->act.incarnation,
					.failed_at_mono_ns = o->failed_at_mono_ns, .kind = o->act.kind,
					.host_status = o->act.host_status };
				post(w, i, ITEM_NOTIFY_DONE, &o->act);
				break;
			case MNODE_OUT_MEMBER: {
				uint32_t s = o->subject;

				assert_int_not_equal(s, MNODE_NONE);
				if (o->self)
					break;
				if (o->event.new_state == MESH_SUSPECT || o->event.new_state == MESH_DEAD) {
					if (w->first_suspect_at[i][s] == 0 ||
					    w->first_suspect_inc[i][s] != o->event.incarnation) {
						w->first_suspect_at[i][s] = o->event.at_ns;
						w->first_suspect_inc[i][s] = o->event.incarnation;
					}
				} else {
					w->first_suspect_at[i][s] = 0;
				}
				break;
			}
			case MNODE_OUT_LOG:
				if (strcmp(o->act.event, "monitor_down") == 0)
					snprintf(w->monitor_down[i], sizeof(w->monitor_down[i]), "%s",
						 o->act.text);
				if (getenv("NODE_TRACE") != NULL && o->act.kind == AGR_ACT_LOG)
					printf("%9.3f %s %s: %s\n", (double)now / 1e9, w->names[i],
					       o->act.event, o->act.text);
				break;
			}
		}
	}
}

/* The one deadline must be the earlier of the two cores' at every step. */
static uint64_t hook_deadline(const struct vnet *vn, uint32_t i, void *ctx)
{
	struct net *w = ctx;
	uint64_t ms = membership_next_deadline(mnode_membership(w->node[i]));
	uint64_t ag = agreement_next_deadline(mnode_agreement(w->node[i]));
	uint64_t d = mnode_next_deadline(w->node[i]);

	(void)vn;
	assert_int_equal(d, ms < ag ? ms : ag);
	return d;
}

static void hook_tick(struct vnet *vn, uint32_t i, void *ctx)
{
	struct net *w = ctx;

	assert_int_equal(mnode_tick(w->node[i], vn->now), 0);
	drain(w, i);
}

static void hook_deliver(struct vnet *vn, uint32_t from, uint32_t to, const void *payload,
			 size_t len, void *ctx)
{
	struct net *w = ctx;
	const struct item *it = payload;
	struct mnode *nd = w->node[to];

	(void)from;
	(void)len;
	if (it->kind == ITEM_MSG)
		(void)mnode_on_message(nd, &it->msg, vn->now);
	else if (it->kind == ITEM_FENCE_DONE)
		assert_int_equal(mnode_on_fence_result(nd, it->subject, it->incarnation,
						       w->fence_result != 0 ? w->fence_result :
									      AGR_FENCE_OK,
						       vn->now), 0);
	else
		assert_int_equal(mnode_on_notify_result(nd, it->incident, it->subject,
							it->incarnation,
							w->notify_fail && to == w->notify_fail_node ?
								w->notify_fail_http : 202,
							vn->now), 0);
	drain(w, to);
}

static bool is_abandoned(const struct item *it)
{
	return it->kind == ITEM_MSG && it->msg.kind == MESH_WIRE_COMPLETION &&
	       it->msg.completion.stage == AGR_STAGE_ABANDONED;
}

/* One lost message: every ABANDONED to one node (the first it went to). */
static bool hook_drop(const struct vnet *vn, uint32_t from, uint32_t to, const void *payload,
		      size_t len, void *ctx)
{
	struct net *w = ctx;
	const struct item *it = payload;

	(void)vn;
	(void)len;
	if (w->drop_reports > 0 && it->kind == ITEM_MSG &&
	    it->msg.kind == MESH_WIRE_PROCESS_REPORT) {
		w->drop_reports--;
		return true;
	}
	if (w->drop_handed_over && it->kind == ITEM_MSG && it->msg.kind == MESH_WIRE_COMPLETION &&
	    it->msg.completion.stage == AGR_STAGE_HANDED_OVER) {
		w->handed_over_dropped++;
		return true;
	}
	if (w->drop_claim_evidence && it->kind == ITEM_MSG && from == w->claim_best &&
	    to == w->claim_other) {
		if (it->msg.kind == MESH_WIRE_OBSERVATION) {
			w->claim_obs_dropped++;
			return true;
		}
		if (it->msg.kind == MESH_WIRE_COMPLETION &&
		    it->msg.completion.stage == AGR_STAGE_CLAIMED && w->claimed_dropped == 0) {
			w->claimed_dropped++;
			return true;
		}
	}
	if (!w->drop_abandoned || !is_abandoned(payload))
		return false;
	if (w->abandoned_dropped_to == MNODE_NONE)
		w->abandoned_dropped_to = to;
	if (to != w->abandoned_dropped_to) {
		w->abandoned_delivered++;
		return false;
	}
	w->abandoned_dropped++;
	return true;
}

/* Node i's mnode, as a fresh daemon starts it. */
static struct mnode *node_new(struct net *w, uint32_t i)
{
	struct mnode_config cfg = { .self_addr = w->addrs[i] };
	char err[256] = "";
	struct mnode *nd;

	membership_config_default(&cfg.membership);
	cfg.membership.max_members = w->n;
	cfg.membership.seed = 1000 + i;
	agreement_config_default(&cfg.agreement);
	cfg.agreement.self = w->names[i];
	cfg.agreement.members = w->name_ptrs;
	cfg.agreement.n_members = w->n;
	nd = mnode_new(&cfg, err, sizeof(err));
	if (nd == NULL)
		fail_msg("mnode_new(%s): %s", w->names[i], err);
	return nd;
}

/* n nodes; with `network`, on a vnet (1 ms links) and joined through
 * compute-0; without, only created (a test feeds one node by hand). */
static void net_init(struct net *w, uint32_t n, bool network)
{
	memset(w, 0, sizeof(*w));
	w->n = n;
	w->abandoned_dropped_to = MNODE_NONE;
	for (uint32_t i = 0; i < n; i++) {
		snprintf(w->names[i], sizeof(w->names[i]), "compute-%u", i);
		snprintf(w->addrs[i], sizeof(w->addrs[i]), "tcp://10.0.0.%u:7947", i + 1);
		w->name_ptrs[i] = w->names[i];
	}
	for (uint32_t i = 0; i < n; i++)
		w->node[i] = node_new(w, i);
	if (!network)
		return;
	struct vnet_config nc = { .n = n, .latency_ns = LATENCY_NS, .seed = 7,
				  .max_steps = 10000000 };
	struct vnet_hooks hooks = { .ctx = w, .deliver = hook_deliver, .tick = hook_tick,
				    .deadline = hook_deadline, .drop = hook_drop };

	w->vn = vnet_new(&nc, &hooks);
	assert_non_null(w->vn);
	for (uint32_t i = 0; i < n; i++) {
		const char *seed = w->addrs[0];

		assert_int_equal(mnode_join(w->node[i], i == 0 ? NULL : &seed, i == 0 ? 0 : 1, 0), 0);
		drain(w, i);
	}
}

static void net_free(struct net *w)
{
	vnet_free(w->vn);
	for (uint32_t i = 0; i < w->n; i++)
		mnode_free(w->node[i]);
}

static void run_until(struct net *w, uint64_t until)
{
	assert_int_equal(vnet_run_until(w->vn, until), 0);
}

static void all_alive(struct net *w)
{
	for (uint32_t i = 0; i < w->n; i++)
		for (uint32_t j = 0; j < w->n; j++) {
			struct mnode_member m;

			if (i == j)
				continue;
			assert_int_equal(mnode_member(w->node[i], j, &m), 0);
			assert_int_equal(m.state, MESH_ALIVE);
		}
}

/* A member's death: every survivor's membership gets there, the agreement
 * reaches a verdict with a majority, one survivor fences, and only after
 * the fence's success notifies COMPUTE_HOST (host_status NORMAL) once. */
static void test_death_fences_then_notifies(void **state)
{
	static struct net w;
	const uint32_t victim = 4;

	(void)state;
	net_init(&w, 5, true);
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	assert_int_equal(w.n_fences, 0);
	assert_int_equal(w.n_notifies, 0);

	vnet_set_up(w.vn, victim, false);
	uint64_t crash_at = w.vn->now;
	run_until(&w, 20 * NS_PER_S);

	for (uint32_t i = 0; i < w.n; i++) {
		struct mnode_member m;

		if (i == victim)
			continue;
		assert_int_equal(mnode_member(w.node[i], victim, &m), 0);
		assert_int_equal(m.state, MESH_DEAD);
	}
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].subject, victim);
	assert_true(w.fences[0].at > crash_at);
	assert_int_equal(w.n_notifies, 1);
	const struct notify_rec *nr = &w.notifies[0];

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
		assert_int_equal(agreement_incident(mnode_agreement(w.node[i]), AGR_INCIDENT_HOST,
						    w.names[victim], &info), 0);
		assert_int_equal(info.stage, AGR_IS_COMPLETED);
	}
	net_free(&w);
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
	static struct net w;
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
	w.drop_claim_evidence = true;
	w.claim_best = order[0];
	w.claim_other = order[1];
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);

	vnet_set_up(w.vn, victim, false);
	run_until(&w, 20 * NS_PER_S);

	/* the scenario happened: X never heard B's observation nor its first claim */
	assert_true(w.claim_obs_dropped >= 1);
	assert_int_equal(w.claimed_dropped, 1);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].subject, victim);
	assert_int_equal(w.fences[0].by, w.claim_best);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].by, w.claim_best);
	for (uint32_t i = 0; i < 4; i++) {
		struct agr_counters c;

		agreement_counters(mnode_agreement(w.node[i]), &c);
		assert_int_equal(c.duplicate_notifications, 0);
	}
	net_free(&w);
}

/* The failure time of a COMPUTE_HOST notification is when the notifier
 * first suspected the host at the incarnation it died with: after the
 * crash, well before the verdict. */
static void test_notify_failure_time_is_first_suspicion(void **state)
{
	static struct net w;
	const uint32_t victim = 2;

	(void)state;
	net_init(&w, 5, true);
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	uint64_t crash_at = w.vn->now;
	run_until(&w, 20 * NS_PER_S);

	assert_int_equal(w.n_notifies, 1);
	const struct notify_rec *nr = &w.notifies[0];
	struct mnode_member m;

	assert_int_equal(mnode_member(w.node[nr->by], victim, &m), 0);
	assert_int_equal(nr->incarnation, m.incarnation);
	assert_int_not_equal(w.first_suspect_at[nr->by][victim], 0);
	assert_int_equal(w.first_suspect_inc[nr->by][victim], nr->incarnation);
	assert_int_equal(nr->failed_at_mono_ns, w.first_suspect_at[nr->by][victim]);
	assert_int_equal(m.suspect_since_ns, nr->failed_at_mono_ns);
	assert_true(nr->failed_at_mono_ns > crash_at);
	/* SWIM needs at least a probe timeout and the agreement a whole
	 * unreachable window more: the suspicion comes well before. */
	assert_true(nr->failed_at_mono_ns + NS_PER_S < nr->at);
	net_free(&w);
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
	static struct net w;
	const uint32_t victim = 3;

	(void)state;
	net_init(&w, 5, true);
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	w.drop_abandoned = true;
	w.fence_result = AGR_FENCE_FAILED;
	/* frozen (a stall: it keeps its view and comes back by refuting) */
	vnet_set_up(w.vn, victim, false);
	for (uint64_t t = w.vn->now; w.n_fences == 0; t += 100 * NS_PER_MS) {
		assert_true(t < 30 * NS_PER_S);
		run_until(&w, t);
	}
	const uint32_t claimer = w.fences[0].by;
	const uint64_t dead_inc = w.fences[0].incarnation;

	/* the backups hear CLAIMED and FENCE_FAILED; then the member is back */
	run_until(&w, w.vn->now + 1500 * NS_PER_MS);
	assert_int_equal(w.n_fences, 1);
	vnet_set_up(w.vn, victim, true);
	w.fence_result = AGR_FENCE_OK;
	const uint64_t healed_at = w.vn->now;

	run_until(&w, healed_at + 400 * NS_PER_S);
	/* the scenario happened: the claimer abandoned, one backup missed it */
	struct agr_counters c;

	agreement_counters(mnode_agreement(w.node[claimer]), &c);
	assert_true(c.abandoned >= 1);
	assert_true(w.abandoned_dropped >= 1);
	assert_int_not_equal(w.abandoned_dropped_to, claimer);
	assert_int_not_equal(w.abandoned_dropped_to, victim);
	/* nobody fenced or notified the member after it came back */
	for (size_t k = 0; k < w.n_fences; k++)
		assert_true(w.fences[k].at < healed_at);
	assert_int_equal(w.n_notifies, 0);
	for (uint32_t i = 0; i < w.n; i++) {
		struct mnode_member m;
		struct agr_incident_info info;

		if (i == victim)
			continue;
		assert_int_equal(mnode_member(w.node[i], victim, &m), 0);
		assert_int_equal(m.state, MESH_ALIVE);
		assert_true(m.incarnation > dead_inc);
		/* the incident is over everywhere (abandoned, cancelled) */
		assert_int_equal(agreement_incident(mnode_agreement(w.node[i]), AGR_INCIDENT_HOST,
						    w.names[victim], &info), -ENOENT);
	}
	net_free(&w);
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
	static struct net w;
	struct mnode_member m;

	(void)state;
	net_init(&w, 3, false);
	struct mnode *a = w.node[0];

	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_ALIVE, 0, 10);
	drain(&w, 0);
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_SUSPECT, 0,
		     100 * NS_PER_MS);
	drain(&w, 0);
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_DEAD, 0,
		     500 * NS_PER_MS);
	drain(&w, 0);
	assert_int_equal(mnode_member(a, 2, &m), 0);
	assert_int_equal(m.state, MESH_DEAD);
	assert_int_equal(m.suspect_since_ns, 100 * NS_PER_MS);

	/* back at incarnation 1, then suspected and dead again */
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_ALIVE, 1,
		     600 * NS_PER_MS);
	drain(&w, 0);
	assert_int_equal(mnode_member(a, 2, &m), 0);
	assert_int_equal(m.state, MESH_ALIVE);
	assert_int_equal(m.suspect_since_ns, 0);
	gossip_about(a, w.names[1], w.addrs[1], w.names[2], w.addrs[2], MESH_DEAD, 1,
		     900 * NS_PER_MS);
	drain(&w, 0);
	assert_int_equal(mnode_member(a, 2, &m), 0);
	assert_int_equal(m.state, MESH_DEAD);
	assert_int_equal(m.incarnation, 1);
	assert_int_equal(m.suspect_since_ns, 900 * NS_PER_MS);
	/* dead means unreachable for broadcasts; never heard of does not */
	assert_false(mnode_reachable(a, 2));
	assert_true(mnode_reachable(a, 1));
	assert_false(mnode_reachable(a, 0));
	net_free(&w);
}

/* An agreement input refused because the actions were not drained (the
 * core's -EBUSY) is kept and fed again after the drain: every probe gets
 * its ack, none is lost; only when the kept inputs are full is -EBUSY the
 * caller's to handle. */
static void test_busy_input_is_retried_after_drain(void **state)
{
	static struct net w;
	static struct mesh_wire_msg m;
	size_t fed = 0, acks = 0, k;
	int rc = 0;

	(void)state;
	net_init(&w, 3, false);
	struct mnode *a = w.node[0];

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
	net_free(&w);
}

/* A process report goes to every member not DEAD or LEFT in our view, a
 * member never heard of included (it may be starting). */
static void test_process_report_broadcast_rule(void **state)
{
	static struct net w;
	size_t k, broadcasts = 0;

	(void)state;
	net_init(&w, 4, false);
	struct mnode *a = w.node[0];

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
	net_free(&w);
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
	static struct net w;
	const uint32_t reporter = 2;

	(void)state;
	net_init(&w, 5, true);
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	w.drop_reports = 4;
	assert_int_equal(mnode_local_process_failed(w.node[reporter], "pacemaker-remoted",
						    1234, w.vn->now), 0);
	drain(&w, reporter);
	run_until(&w, 40 * NS_PER_S);
	assert_int_equal(w.drop_reports, 0);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].kind, AGR_ACT_NOTIFY_PROCESS);
	assert_int_equal(w.notifies[0].subject, reporter);
	assert_int_equal(w.n_fences, 0);
	uint32_t sent = w.reports_sent;
	assert_true(sent >= 2);
	run_until(&w, 80 * NS_PER_S);
	assert_int_equal(w.reports_sent, sent);
	assert_int_equal(w.n_notifies, 1);
	net_free(&w);
}

/* Issue 10, item 9, through the composition: Masakari refuses the
 * notifier's COMPUTE_HOST for good (400): the next rank notifies at once,
 * without a second fence. */
static void test_failed_notification_handed_over(void **state)
{
	static struct net w;
	const uint32_t victim = 4;
	uint32_t best = 0;

	(void)state;
	net_init(&w, 5, true);
	for (uint32_t i = 1; i < 4; i++)
		if (agreement_score(w.names[i], w.names[victim]) >
		    agreement_score(w.names[best], w.names[victim]))
			best = i;
	w.notify_fail = true;
	w.notify_fail_node = best;
	w.notify_fail_http = 400;
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	run_until(&w, 20 * NS_PER_S);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].by, best);
	assert_int_equal(w.n_notifies, 2);
	assert_int_equal(w.notifies[0].by, best);
	assert_int_not_equal(w.notifies[1].by, best);
	assert_int_equal(w.notifies[1].host_status, AGR_HOST_NORMAL);
	assert_true(w.notifies[1].at - w.notifies[0].at < NS_PER_S);
	net_free(&w);
}

/* The [monitor_down] record says what the suspect's kernel did: refused
 * our connect (its daemon is down) or accepted it (its daemon is hung or
 * starved); before, an accepted connect was recorded as a refusal. */
static void test_monitor_down_says_refused_or_accepted(void **state)
{
	static struct net w;
	const uint32_t victim = 4;
	struct agr_incident_info info;

	(void)state;
	net_init(&w, 5, true);
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	for (uint64_t t = w.vn->now;
	     agreement_incident(mnode_agreement(w.node[0]), AGR_INCIDENT_HOST, w.names[victim],
				&info) != 0 ||
	     agreement_incident(mnode_agreement(w.node[1]), AGR_INCIDENT_HOST, w.names[victim],
				&info) != 0;
	     t += 10 * NS_PER_MS) {
		assert_true(t < 20 * NS_PER_S);
		run_until(&w, t);
	}
	assert_int_equal(mnode_on_peer_answered(w.node[0], victim, AGR_PEER_ACCEPTED, w.vn->now), 0);
	drain(&w, 0);
	assert_int_equal(mnode_on_peer_answered(w.node[1], victim, AGR_PEER_REFUSED, w.vn->now), 0);
	drain(&w, 1);
	assert_non_null(strstr(w.monitor_down[0], "accepts our connect"));
	assert_null(strstr(w.monitor_down[0], "refuses"));
	assert_non_null(strstr(w.monitor_down[1], "refuses our connect"));
	assert_null(strstr(w.monitor_down[1], "accepts"));
	net_free(&w);
}

/* Issue 10, loose end of item 10: a daemon restarted (a graceful stop,
 * so its peers hold it LEFT at its incarnation + 1) starts again at
 * incarnation 0 and a watched process dies at once, before membership's
 * refutation brought its incarnation back above its previous life's. Its
 * report must still reach the peers and be acted on exactly once (before:
 * every peer dropped it as stale, and its re-sends too: never notified). */
static void test_process_report_right_after_restart(void **state)
{
	static struct net w;
	const uint32_t reporter = 2;
	struct mnode_member m;

	(void)state;
	net_init(&w, 5, true);
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	mnode_leave(w.node[reporter], w.vn->now);
	drain(&w, reporter);
	for (uint64_t t = w.vn->now; !mnode_leave_done(w.node[reporter]); t += 10 * NS_PER_MS) {
		assert_true(t < 10 * NS_PER_S);
		run_until(&w, t);
	}
	run_until(&w, w.vn->now + NS_PER_S);
	assert_int_equal(mnode_member(w.node[0], reporter, &m), 0);
	assert_int_equal(m.state, MESH_LEFT);
	assert_true(m.incarnation >= 1);

	/* the daemon starts again: empty state, incarnation 0 */
	mnode_free(w.node[reporter]);
	w.node[reporter] = node_new(&w, reporter);
	const char *seed = w.addrs[0];

	assert_int_equal(mnode_join(w.node[reporter], &seed, 1, w.vn->now), 0);
	drain(&w, reporter);
	assert_int_equal(mnode_local_process_failed(w.node[reporter], "nova-compute",
						    1796600000LL * NS_PER_S, w.vn->now), 0);
	drain(&w, reporter);
	run_until(&w, w.vn->now + 60 * NS_PER_S);
	assert_int_equal(w.n_fences, 0);
	assert_int_equal(w.n_notifies, 1);
	assert_int_equal(w.notifies[0].kind, AGR_ACT_NOTIFY_PROCESS);
	assert_int_equal(w.notifies[0].subject, reporter);
	/* and it stops re-sending once notified: nothing more later */
	uint32_t sent = w.reports_sent;

	run_until(&w, w.vn->now + 120 * NS_PER_S);
	assert_int_equal(w.reports_sent, sent);
	assert_int_equal(w.n_notifies, 1);
	net_free(&w);
}

/* A rolling upgrade: the notifier's COMPUTE_HOST is refused for good
 * (400) and it hands over, but its peers run a version without
 * HANDED_OVER and reject it. They take over only after their takeover
 * step (the claimer fell silent), and they know its fence from its
 * FENCED and NOTIFYING NORMAL: one fence in all, never a second, and the
 * failure is still notified (docs/ROLLING-UPGRADE.md). */
static void test_handover_to_old_peers_fences_once(void **state)
{
	static struct net w;
	const uint32_t victim = 4;
	uint32_t best = 0;

	(void)state;
	net_init(&w, 5, true);
	for (uint32_t i = 1; i < 4; i++)
		if (agreement_score(w.names[i], w.names[victim]) >
		    agreement_score(w.names[best], w.names[victim]))
			best = i;
	w.notify_fail = true;
	w.notify_fail_node = best;
	w.notify_fail_http = 400;
	w.drop_handed_over = true;
	run_until(&w, 5 * NS_PER_S);
	all_alive(&w);
	vnet_set_up(w.vn, victim, false);
	run_until(&w, 400 * NS_PER_S);
	assert_true(w.handed_over_dropped >= 1);
	assert_int_equal(w.n_fences, 1);
	assert_int_equal(w.fences[0].by, best);
	assert_int_equal(w.n_notifies, 2);
	assert_int_equal(w.notifies[0].by, best);
	assert_int_not_equal(w.notifies[1].by, best);
	assert_int_equal(w.notifies[1].host_status, AGR_HOST_NORMAL);
	/* not at once, as a peer that takes HANDED_OVER does: a takeover step */
	assert_true(w.notifies[1].at - w.notifies[0].at > NS_PER_S);
	net_free(&w);
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
