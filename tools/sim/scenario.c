/* mimamori-sim: scenarios, see scenario.h. */
#include "tools/sim/scenario.h"

#include <stdlib.h>
#include <string.h>

#include "tools/sim/sim.h"

enum op {
	OP_CRASH = 1,
	OP_PARTITION,   /* apply scn.plan; register the minority as failures */
	OP_SPLIT,       /* apply scn.plan; nobody has a majority */
	OP_STALL,
	OP_FLAP_DOWN,
	OP_FLAP_UP,
	OP_BLOCK,       /* target2 -> target cut */
	OP_INBOUND_CUT, /* nothing reaches target */
	OP_OUTAGE,      /* every node isolated (a switch reload) */
	OP_HEAL,        /* node reachable again */
	OP_DAEMON_KILL, /* the node's daemon dies; its host (kernel, guests) runs on */
	OP_DAEMON_START, /* the daemon starts again with empty state (systemd's restart) */
	OP_NEMESIS = 64, /* and above: nemesis.c's codes */
};

#define CODE(op, node) (((uint64_t)(op) << 32) | (uint32_t)(node))

void scenario_knobs_default(struct scenario_knobs *k)
{
	memset(k, 0, sizeof(*k));
	k->stall_min_ns = 500 * NS_PER_MS;
	k->stall_max_ns = 2000 * NS_PER_MS;
	k->stall_gap_min_ns = 1000 * NS_PER_MS;
	k->stall_gap_max_ns = 5000 * NS_PER_MS;
	k->flap_down_min_ns = 500 * NS_PER_MS;
	k->flap_down_max_ns = 2000 * NS_PER_MS;
	k->flap_up_min_ns = 1000 * NS_PER_MS;
	k->flap_up_max_ns = 3000 * NS_PER_MS;
}

/* First fault: 2 s of steady state, then a random phase within a probe
 * interval. */
static uint64_t first_fault_at(struct sim *s)
{
	return s->st.t0 + 2 * NS_PER_S + rng_below(&s->scn.rng, s->cfg.mcfg.probe_interval_ns);
}

static void at(struct sim *s, uint64_t t, enum op op, uint32_t node)
{
	if (t < s->scn.end)
		sim_schedule(s, t, EV_SCENARIO, 0, NULL, CODE(op, node));
}

static uint32_t pick(struct sim *s)
{
	return (uint32_t)rng_below(&s->scn.rng, s->n);
}

/* k more distinct random nodes (from perm[*used..]) get group g. */
static void plan_pick(struct sim *s, uint32_t k, uint16_t g, uint32_t *perm, uint32_t *used)
{
	for (uint32_t i = 0; i < k && *used < s->n; i++, (*used)++) {
		uint32_t j = *used + (uint32_t)rng_below(&s->scn.rng, s->n - *used);
		uint32_t t = perm[*used];
		perm[*used] = perm[j];
		perm[j] = t;
		s->scn.plan[perm[*used]] = g;
	}
}

static bool plan_alloc(struct sim *s, uint32_t **perm)
{
	s->scn.plan = calloc(s->n, sizeof(*s->scn.plan));
	*perm = calloc(s->n, sizeof(**perm));
	if (s->scn.plan == NULL || *perm == NULL) {
		free(*perm);
		return false;
	}
	for (uint32_t i = 0; i < s->n; i++)
		(*perm)[i] = i;
	return true;
}

static uint32_t max_minority(const struct sim *s)
{
	return (s->n - 1) / 2;
}

/* ---- scenarios ---------------------------------------------------------- */

static void start_none(struct sim *s)
{
	(void)s;
}

static void start_crash(struct sim *s)
{
	at(s, first_fault_at(s), OP_CRASH, pick(s));
}

static void start_crash_multi(struct sim *s)
{
	uint32_t k = s->cfg.knobs.crashes ? s->cfg.knobs.crashes : 3;
	uint32_t *perm;
	uint64_t t = first_fault_at(s);

	if (k > max_minority(s))
		k = max_minority(s);
	uint32_t used = 0;
	if (!plan_alloc(s, &perm))
		return;
	plan_pick(s, k, 1, perm, &used);
	for (uint32_t i = 0; i < s->n; i++)
		if (s->scn.plan[i] == 1)
			at(s, t, OP_CRASH, i);
	free(perm);
}

/* SIGKILL of one healthy host's daemon (crash, OOM kill, assert), restarted
 * RESTART s later (systemd's Restart=on-failure, RestartSec=1s), or never
 * (0). The host is healthy throughout: a fence or POST of it is false. */
static void start_daemon_kill(struct sim *s, uint64_t restart_ns)
{
	uint64_t t = first_fault_at(s);
	uint32_t node = pick(s);

	at(s, t, OP_DAEMON_KILL, node);
	if (restart_ns != 0)
		at(s, t + restart_ns, OP_DAEMON_START, node);
}

static void start_daemon_restart(struct sim *s)
{
	/* RestartSec=1s + ~0.45 s until an ASan build listens (netns harness);
	 * peers reconnect on nng's backoff (100 ms doubling to 2 s) after that */
	start_daemon_kill(s, NS_PER_S + 450 * NS_PER_MS);
}

static void start_daemon_down(struct sim *s)
{
	start_daemon_kill(s, 0);
}

static void start_partition_k(struct sim *s, uint32_t k)
{
	uint32_t *perm, used = 0;

	if (k > max_minority(s))
		k = max_minority(s);
	if (k == 0 || !plan_alloc(s, &perm))
		return;
	plan_pick(s, k, 1, perm, &used);
	free(perm);
	at(s, first_fault_at(s), OP_PARTITION, 0);
}

static void start_partition(struct sim *s)
{
	start_partition_k(s, s->cfg.knobs.minority ? s->cfg.knobs.minority : 3);
}

static void start_partition_half(struct sim *s)
{
	start_partition_k(s, max_minority(s));
}

static void start_split(struct sim *s)
{
	uint32_t *perm, used = 0;

	if (!plan_alloc(s, &perm))
		return;
	/* two halves; with N odd, (N-1)/2 | (N-1)/2 | 1: no side > N/2 */
	plan_pick(s, s->n / 2, 1, perm, &used);
	if (s->n % 2 == 1)
		plan_pick(s, 1, 2, perm, &used);
	free(perm);
	at(s, first_fault_at(s), OP_SPLIT, 0);
}

static void start_asym(struct sim *s)
{
	s->scn.target = pick(s);
	s->scn.target2 = (s->scn.target + 1 + (uint32_t)rng_below(&s->scn.rng, s->n - 1)) % s->n;
	at(s, first_fault_at(s), OP_BLOCK, s->scn.target);
}

static void start_asym_inbound(struct sim *s)
{
	s->scn.target = pick(s);
	at(s, first_fault_at(s), OP_INBOUND_CUT, s->scn.target);
}

static void start_starved(struct sim *s)
{
	s->scn.target = pick(s);
	at(s, first_fault_at(s), OP_STALL, s->scn.target);
}

static void start_flapping(struct sim *s)
{
	s->scn.target = pick(s);
	at(s, first_fault_at(s), OP_FLAP_DOWN, s->scn.target);
}

/* A switch reload (issue 10, item 1): every link down for 4-10 s, so
 * nobody has a majority and every node ends up holding every other dead;
 * then the links come back one by one: a bare majority of nodes at once,
 * each of the others 0.3 s or 0.8 s later (alternately), well inside the
 * agreement's unreachable window. Nobody failed: any verdict, fence or
 * POST is wrong (sim_test.sh expects verdicts=0 posts=0). */
static void start_staggered_heal(struct sim *s)
{
	uint32_t *perm, used = 0;
	uint64_t t = first_fault_at(s);
	uint64_t heal = t + rng_range(&s->scn.rng, 4 * NS_PER_S, 10 * NS_PER_S);

	if (!plan_alloc(s, &perm))
		return;
	plan_pick(s, s->n, 0, perm, &used); /* a random order */
	at(s, t, OP_OUTAGE, 0);
	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t late = i <= s->n / 2 ? 0 : (i - s->n / 2) % 2 == 1 ? 300 * NS_PER_MS :
										  800 * NS_PER_MS;
		at(s, heal + late, OP_HEAL, perm[i]);
	}
	free(perm);
}

static const struct scenario scenarios[] = {
	{ "steady", "no fault (load and false positives at --loss)", 0.0, start_none },
	{ "loss", "no fault, 5% loss unless --loss", 0.05, start_none },
	{ "crash", "one random node crashes", 0.0, start_crash },
	{ "daemon-restart",
	  "one healthy host's daemon is SIGKILLed and restarted 1 s later (empty state)", 0.0,
	  start_daemon_restart },
	{ "daemon-down", "one healthy host's daemon is SIGKILLed and stays down", 0.0,
	  start_daemon_down },
	{ "crash-multi", "--crashes K (default 3, at most (N-1)/2) nodes crash at once", 0.0,
	  start_crash_multi },
	{ "partition", "a minority of --minority K (default 3, at most (N-1)/2) nodes is cut off",
	  0.0, start_partition },
	{ "partition-half", "the largest minority, (N-1)/2 nodes, is cut off (bare majority)", 0.0,
	  start_partition_half },
	{ "split", "cut in halves (N odd: (N-1)/2 | (N-1)/2 | 1): no side has a majority", 0.0,
	  start_split },
	{ "asym", "one direction blocked: A reaches B, B cannot reach A", 0.0, start_asym },
	{ "asym-inbound", "one node receives nothing but can still send", 0.0,
	  start_asym_inbound },
	{ "starved",
	  "one CPU-starved node: stalls of --stall (0.5-2 s) every --stall-gap (1-5 s); 5% loss "
	  "unless --loss",
	  0.05, start_starved },
	{ "flapping",
	  "one node unreachable for --flap-down (0.5-2 s), reachable for --flap-up (1-3 s), "
	  "repeatedly",
	  0.0, start_flapping },
	{ "staggered-heal",
	  "every link down 4-10 s (no side has a majority), then back one by one: a majority "
	  "at once, the others 0.3 s / 0.8 s later",
	  0.0, start_staggered_heal },
};

const struct scenario *scenario_find(const char *name)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}

void scenario_list(FILE *out)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(out, "  %-15s %s\n", scenarios[i].name, scenarios[i].help);
}

/* ---- steps ---------------------------------------------------------------- */

static void apply_plan(struct sim *s, bool register_minority)
{
	for (uint32_t i = 0; i < s->n; i++)
		net_set_group(&s->net, i, s->scn.plan[i]);
	sim_health_update(s);
	if (register_minority)
		for (uint32_t i = 0; i < s->n; i++)
			if (s->scn.plan[i] != 0)
				stats_failure(s, i, "partition");
}

void scenario_step(struct sim *s, uint64_t code)
{
	enum op op = (enum op)(code >> 32);
	uint32_t node = (uint32_t)code;
	const struct scenario_knobs *k = &s->cfg.knobs;
	uint64_t d;

	if (!s->st.event_seen) {
		s->st.event_seen = true;
		s->st.first_event = s->now;
		s->st.at_event = s->st.sent;
	}
	if (op >= OP_NEMESIS) {
		nemesis_step(s, code);
		return;
	}
	switch (op) {
	case OP_CRASH:
		sim_trace(s, "scenario: crash %s", s->names[node]);
		sim_power_off(s, node);
		stats_failure(s, node, "crash");
		break;
	case OP_DAEMON_KILL:
		sim_trace(s, "scenario: %s's daemon killed (its host runs on)", s->names[node]);
		sim_daemon_kill(s, node);
		break;
	case OP_DAEMON_START:
		sim_trace(s, "scenario: %s's daemon started again", s->names[node]);
		sim_daemon_start(s, node);
		break;
	case OP_PARTITION:
		sim_trace(s, "scenario: partition");
		apply_plan(s, true);
		break;
	case OP_SPLIT:
		sim_trace(s, "scenario: split");
		apply_plan(s, false);
		break;
	case OP_STALL:
		if (!s->up[node])
			break;
		d = rng_range(&s->scn.rng, k->stall_min_ns, k->stall_max_ns);
		sim_trace(s, "scenario: %s stalls for %.3f s", s->names[node], (double)d / 1e9);
		s->nodes[node].stall_until = s->now + d;
		s->nodes[node].last_stall_end = s->now + d;
		at(s, s->now + d + rng_range(&s->scn.rng, k->stall_gap_min_ns, k->stall_gap_max_ns),
		   OP_STALL, node);
		break;
	case OP_FLAP_DOWN:
		if (!s->up[node])
			break;
		d = rng_range(&s->scn.rng, k->flap_down_min_ns, k->flap_down_max_ns);
		sim_trace(s, "scenario: %s unreachable for %.3f s", s->names[node], (double)d / 1e9);
		net_set_flag(&s->net, node, NET_ISOLATED, true);
		sim_health_update(s);
		at(s, s->now + d, OP_FLAP_UP, node);
		break;
	case OP_FLAP_UP:
		if (!s->up[node])
			break;
		sim_trace(s, "scenario: %s reachable", s->names[node]);
		net_set_flag(&s->net, node, NET_ISOLATED, false);
		sim_health_update(s);
		at(s, s->now + rng_range(&s->scn.rng, k->flap_up_min_ns, k->flap_up_max_ns),
		   OP_FLAP_DOWN, node);
		break;
	case OP_BLOCK:
		sim_trace(s, "scenario: %s -> %s blocked (%s -> %s works)", s->names[s->scn.target2],
			  s->names[node], s->names[node], s->names[s->scn.target2]);
		net_block(&s->net, s->scn.target2, node);
		sim_health_update(s);
		break;
	case OP_OUTAGE:
		sim_trace(s, "scenario: every link down");
		for (uint32_t i = 0; i < s->n; i++)
			net_set_flag(&s->net, i, NET_ISOLATED, true);
		sim_health_update(s);
		break;
	case OP_HEAL:
		sim_trace(s, "scenario: %s reachable again", s->names[node]);
		net_set_flag(&s->net, node, NET_ISOLATED, false);
		sim_health_update(s);
		break;
	case OP_INBOUND_CUT:
		sim_trace(s, "scenario: nothing reaches %s", s->names[node]);
		net_set_flag(&s->net, node, NET_IN_CUT, true);
		sim_health_update(s);
		stats_failure(s, node, "inbound cut");
		break;
	case OP_NEMESIS:
		break; /* handled above */
	}
}
