/* mimamori-sim nemesis: random fault schedules and the ground-truth
 * checker, see nemesis.h. */
#include "tools/sim/nemesis.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/clock.h"
#include "tools/sim/sim.h"

#define GRACE (2 * NS_PER_S)
/* The quiet phase: long enough to notify a power loss (~2-3 s) after
 * the last fault; 25 s when the schedule may drift a members file (the
 * hold lasts 2 x observation_ttl = 20 s after the last differing
 * message), 12 s otherwise (one schedule in three may drift). */
#define QUIET_DRIFT (25 * NS_PER_S)
#define QUIET_PLAIN (12 * NS_PER_S)
#define STEADY (2 * NS_PER_S)
#define MAX_FAULTS 64
#define KNOW(s) (2 * (s)->nem->w)
#define MAX_PRINTED 100000 /* violating schedules printed per campaign */

enum nem_kind {
	NK_PARTITION,
	NK_SPLIT,
	NK_OUTAGE,
	NK_OUTAGE_STAGGERED,
	NK_CRASH,
	NK_FLAP,
	NK_LOSS,
	NK_DELAY,
	NK_STALL,
	NK_DAEMON_RESTART,
	NK_DAEMON_DOWN,
	NK_ASYM,
	NK_INBOUND,
	NK_DRIFT,
	NK_KINDS
};

static const char *const kind_names[NK_KINDS] = {
	"partition (minority cut off)", "split (no majority)", "full outage, healed at once",
	"full outage, staggered heal", "power loss (crash)", "flapping node",
	"loss burst", "delay spike", "stall (SIGSTOP-like)",
	"daemon SIGKILL + restart", "daemon down (kernel answers)", "one-way block",
	"inbound cut", "member-file drift",
};

enum nem_violation { NV_FENCE, NV_POST, NV_UNFENCED, NV_MISSED, NV_CORE, NV_KINDS };

static const char *const violation_names[NV_KINDS] = {
	"fence of a host not legitimately declared", "COMPUTE_HOST of a host not legitimately declared",
	"COMPUTE_HOST before its fence", "power loss not notified", "core error / livelock",
};

enum nem_op { NOP_BEGIN = 1, NOP_END, NOP_STEP, NOP_QUIET };

/* Event codes: scenario.c's OP_NEMESIS + nem_op in the high half, the
 * fault index (bits 16..31) and a node (bits 0..15) in the low half. */
#define NEM_OP_BASE 64u
#define NCODE(op, idx, node)                                                                   \
	(((uint64_t)(NEM_OP_BASE + (op)) << 32) | ((uint64_t)(idx) << 16) | (uint32_t)(node))

struct nem_fault {
	enum nem_kind kind;
	uint32_t node, node2;
	uint64_t begin, end;
	uint64_t a, b;  /* flap: down / up ranges packed; stall: repeats left; loss: threshold */
	bool down;      /* flap: currently isolated */
	uint16_t *plan; /* partition / split: group of every node */
	uint32_t *order; /* staggered heal: node order */
};

struct nem_host {
	uint32_t flap_down, inbound; /* its own faults running (flapping, inbound cut) */
	bool in_majority;   /* its component of the bidirectional links is a majority */
	uint64_t imp_start; /* start of the current impaired stretch, SIM_NEVER */
	uint64_t long_end;  /* end of the last stretch >= W, SIM_NEVER */
	bool fence_ok, ever_off;
	bool fence_legit; /* a FENCE of it was issued while legitimate */
	uint64_t off_at;  /* powered off at (SIM_NEVER: on) */
	uint32_t posts202, posts409;
	uint32_t fenced_by;    /* the last member that issued a FENCE of it, UINT32_MAX */
	bool notifier_killed;  /* that member's daemon was killed before a 202 for it */
};

struct nem_violation_rec {
	enum nem_violation kind;
	uint32_t node, subject;
	uint64_t at;
};

struct nemesis {
	uint64_t fault_begin, fault_end, quiet_at;
	uint64_t base_loss_threshold, base_latency;
	struct nem_fault f[MAX_FAULTS];
	uint32_t n_f;
	struct nem_host *h;
	struct nem_violation_rec v[16];
	uint32_t n_v;
	uint64_t v_count[NV_KINDS];
	uint64_t kinds[NK_KINDS];
	uint64_t fences, legit_late_fences, posts202, posts409, power_losses, notified;
	uint64_t max_lag; /* fence after its stretch ended, the longest */
	uint32_t *comp, *stack; /* scratch: component of every node, BFS stack */
	uint64_t w;             /* W: the daemon's unreachable window (agreement.h's default) */
	uint64_t quiet;         /* the quiet phase's length */
	bool drift_allowed;
};

/* ---- ground truth ---------------------------------------------------------- */

static bool stalled(const struct sim *s, uint32_t h)
{
	return s->nodes[h].up && s->now < s->nodes[h].stall_until;
}

/* Components of the graph of bidirectional links between present nodes
 * (SWIM's indirect probes carry a one-way block or a missing direct
 * link): a node is in the majority when its component has more than
 * half of the members. Present: powered on, or powered off less than
 * KNOW ago (nobody can know of a crash before the failure detector has
 * run: a crash inside a bare majority does not undo, at once, what that
 * majority could see). Returns whether any component does. */
static bool present(const struct sim *s, uint32_t i)
{
	const struct nem_host *h = &s->nem->h[i];
	return s->up[i] || (h->off_at != SIM_NEVER && s->now < h->off_at + KNOW(s));
}

static bool components(struct sim *s)
{
	struct nemesis *nm = s->nem;
	bool majority = false;

	for (uint32_t i = 0; i < s->n; i++)
		nm->comp[i] = UINT32_MAX;
	for (uint32_t root = 0; root < s->n; root++) {
		if (!present(s, root) || nm->comp[root] != UINT32_MAX)
			continue;
		uint32_t sp = 0, size = 0;
		nm->stack[sp++] = root;
		nm->comp[root] = root;
		while (sp > 0) {
			uint32_t a = nm->stack[--sp];
			size++;
			for (uint32_t b = 0; b < s->n; b++)
				if (nm->comp[b] == UINT32_MAX && present(s, b) &&
				    net_link_ok(&s->net, a, b) && net_link_ok(&s->net, b, a)) {
					nm->comp[b] = root;
					nm->stack[sp++] = b;
				}
		}
		bool maj = 2 * (uint64_t)size > s->n;
		majority |= maj;
		for (uint32_t i = root; i < s->n; i++)
			if (nm->comp[i] == root)
				nm->h[i].in_majority = maj;
	}
	for (uint32_t i = 0; i < s->n; i++)
		if (!s->up[i])
			nm->h[i].in_majority = false;
	return majority;
}

void nemesis_observe(struct sim *s)
{
	struct nemesis *nm = s->nem;
	if (nm == NULL)
		return;
	uint64_t w = nm->w;
	for (uint32_t i = 0; i < s->n; i++)
		if (!s->up[i] && nm->h[i].off_at == SIM_NEVER)
			nm->h[i].off_at = s->now;
	bool majority = components(s);
	for (uint32_t i = 0; i < s->n; i++) {
		struct nem_host *h = &nm->h[i];
		/* a host silent by its own fault (powered off, stalled, cut
		 * off alone) is impaired whatever the others' state; one cut
		 * off by a network fault only if a majority exists (before,
		 * nobody can tell who was cut: issue 10 item 1) */
		uint8_t fl = s->net.flags[i];
		bool own_cut = (h->flap_down && (fl & NET_ISOLATED)) || (h->inbound && (fl & NET_IN_CUT));
		bool imp = !s->up[i] || stalled(s, i) || own_cut ||
			   (majority && !h->in_majority);
		if (!s->up[i])
			h->ever_off = true;
		if (imp && h->imp_start == SIM_NEVER) {
			h->imp_start = s->now;
		} else if (!imp && h->imp_start != SIM_NEVER) {
			if (s->now - h->imp_start >= w)
				h->long_end = s->now;
			h->imp_start = SIM_NEVER;
		}
	}
}

/* legitimate(h, now), see nemesis.h; *lag: how long ago the stretch ended. */
static bool legitimate(const struct sim *s, uint32_t subject, uint64_t *lag)
{
	const struct nem_host *h = &s->nem->h[subject];
	uint64_t w = s->nem->w;

	*lag = 0;
	if (h->imp_start != SIM_NEVER && s->now - h->imp_start >= w)
		return true;
	if (h->long_end != SIM_NEVER && s->now - h->long_end <= GRACE) {
		*lag = s->now - h->long_end;
		return true;
	}
	return false;
}

static void violation(struct sim *s, enum nem_violation kind, uint32_t node, uint32_t subject)
{
	struct nemesis *nm = s->nem;

	nm->v_count[kind]++;
	if (nm->n_v < sizeof(nm->v) / sizeof(nm->v[0]))
		nm->v[nm->n_v++] = (struct nem_violation_rec){ kind, node, subject, s->now };
	sim_trace(s, "NEMESIS VIOLATION: %s: %s (by %s)", violation_names[kind], s->names[subject],
		  node < s->n ? s->names[node] : "-");
}

void nemesis_on_fence(struct sim *s, uint32_t fencer, uint32_t subject)
{
	uint64_t lag;

	if (s->nem == NULL || subject >= s->n)
		return;
	nemesis_observe(s);
	s->nem->fences++;
	s->nem->h[subject].fenced_by = fencer;
	if (!legitimate(s, subject, &lag)) {
		violation(s, NV_FENCE, fencer, subject);
		return;
	}
	s->nem->h[subject].fence_legit = true;
	if (lag > 0)
		s->nem->legit_late_fences++;
	if (lag > s->nem->max_lag)
		s->nem->max_lag = lag;
}

void nemesis_on_fence_ok(struct sim *s, uint32_t subject)
{
	if (s->nem != NULL && subject < s->n)
		s->nem->h[subject].fence_ok = true;
}

void nemesis_on_post(struct sim *s, uint32_t node, uint32_t subject, int http)
{
	struct nemesis *nm = s->nem;
	uint64_t lag;

	if (nm == NULL || subject >= s->n)
		return;
	nemesis_observe(s);
	if (http == 202) {
		nm->h[subject].posts202++;
		nm->posts202++;
	} else {
		nm->h[subject].posts409++;
		nm->posts409++;
	}
	/* after a legitimate fence that powered it off, the POST is its
	 * consequence (the fence itself was judged when it was issued) */
	if (!legitimate(s, subject, &lag) && !(nm->h[subject].fence_legit && !s->up[subject]))
		violation(s, NV_POST, node, subject);
	if (!nm->h[subject].fence_ok)
		violation(s, NV_UNFENCED, node, subject);
}

/* ---- the schedule ---------------------------------------------------------- */

static void at(struct sim *s, uint64_t t, enum nem_op op, uint32_t idx, uint32_t node)
{
	if (t < s->scn.end)
		sim_schedule(s, t, EV_SCENARIO, 0, NULL, NCODE(op, idx, node));
}

static uint64_t range_ms(struct sim *s, uint64_t lo_ms, uint64_t hi_ms)
{
	return rng_range(&s->scn.rng, lo_ms * NS_PER_MS, hi_ms * NS_PER_MS);
}

static uint32_t pick(struct sim *s)
{
	return (uint32_t)rng_below(&s->scn.rng, s->n);
}

static struct nem_fault *add(struct sim *s, enum nem_kind kind, uint64_t begin, uint64_t len)
{
	struct nemesis *nm = s->nem;

	if (nm->n_f == MAX_FAULTS)
		return NULL;
	struct nem_fault *f = &nm->f[nm->n_f++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->begin = begin;
	f->end = len == SIM_NEVER ? nm->quiet_at : begin + len;
	if (f->end > nm->quiet_at)
		f->end = nm->quiet_at;
	nm->kinds[kind]++;
	return f;
}

/* A random order of the nodes. */
static uint32_t *shuffled(struct sim *s)
{
	uint32_t *p = malloc(s->n * sizeof(*p));
	if (p == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory (nemesis)\n");
		abort();
	}
	for (uint32_t i = 0; i < s->n; i++)
		p[i] = i;
	for (uint32_t i = s->n; i > 1; i--) {
		uint32_t j = (uint32_t)rng_below(&s->scn.rng, i);
		uint32_t t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

static uint16_t *plan_new(struct sim *s)
{
	uint16_t *plan = calloc(s->n, sizeof(*plan));
	if (plan == NULL) {
		fprintf(stderr, "mimamori-sim: out of memory (nemesis)\n");
		abort();
	}
	return plan;
}

/* Network faults, one after the other (they share the groups and the
 * isolation flags). */
static void gen_network(struct sim *s)
{
	struct nemesis *nm = s->nem;
	uint64_t t = nm->fault_begin + range_ms(s, 0, 3000);

	while (t < nm->fault_end) {
		uint32_t r = (uint32_t)rng_below(&s->scn.rng, 5);
		struct nem_fault *f = NULL;
		uint32_t *perm;

		switch (r) {
		case 0: { /* a minority of 1..(N-1)/2 cut off */
			uint32_t k = 1 + (uint32_t)rng_below(&s->scn.rng, (s->n - 1) / 2);
			f = add(s, NK_PARTITION, t, range_ms(s, 300, 8000));
			if (f == NULL)
				return;
			f->plan = plan_new(s);
			perm = shuffled(s);
			for (uint32_t i = 0; i < k; i++)
				f->plan[perm[i]] = 1;
			free(perm);
			break;
		}
		case 1: { /* no side has a majority: halves, or three groups */
			f = add(s, NK_SPLIT, t, range_ms(s, 500, 8000));
			if (f == NULL)
				return;
			f->plan = plan_new(s);
			perm = shuffled(s);
			bool three = s->n >= 6 && rng_below(&s->scn.rng, 2) == 0;
			for (uint32_t i = 0; i < s->n; i++)
				f->plan[perm[i]] = three ? (uint16_t)(i % 3) :
						   (uint16_t)(i < s->n / 2 ? 1 : i < 2 * (s->n / 2) ? 2 : 3);
			free(perm);
			break;
		}
		case 2:
			f = add(s, NK_OUTAGE, t, range_ms(s, 500, 10000));
			break;
		case 3:
			f = add(s, NK_OUTAGE_STAGGERED, t, range_ms(s, 2000, 10000));
			if (f != NULL)
				f->order = shuffled(s);
			break;
		default:
			break; /* a calm stretch */
		}
		if (f != NULL) {
			uint32_t idx = (uint32_t)(f - nm->f);
			at(s, f->begin, NOP_BEGIN, idx, 0);
			if (f->kind == NK_OUTAGE_STAGGERED) {
				/* a majority at once, each other node 0-2.5 s later */
				for (uint32_t i = 0; i < s->n; i++)
					at(s, f->end + (i <= s->n / 2 ? 0 : range_ms(s, 0, 2500)), NOP_STEP,
					   idx, f->order[i]);
				t = f->end + 2500 * NS_PER_MS;
			} else {
				at(s, f->end, NOP_END, idx, 0);
				t = f->end;
			}
		} else {
			t += range_ms(s, 1000, 5000);
		}
		t += range_ms(s, 500, 6000);
	}
}

static void gen_nodes(struct sim *s)
{
	struct nemesis *nm = s->nem;
	uint32_t k = 1 + (uint32_t)rng_below(&s->scn.rng, 6);
	uint32_t crashes = 0, max_crashes = s->n >= 9 ? (s->n - 1) / 4 : 1;
	uint64_t span = nm->fault_end - nm->fault_begin;

	for (uint32_t i = 0; i < k; i++) {
		enum nem_kind kind = (enum nem_kind)(NK_CRASH + rng_below(&s->scn.rng, NK_KINDS - NK_CRASH));
		uint64_t t = nm->fault_begin + rng_below(&s->scn.rng, span);
		struct nem_fault *f;

		if (kind == NK_CRASH && crashes++ >= max_crashes)
			kind = NK_STALL;
		if (kind == NK_DRIFT && !nm->drift_allowed)
			kind = NK_ASYM;
		switch (kind) {
		case NK_CRASH:
			f = add(s, kind, t, 0);
			break;
		case NK_FLAP:
			f = add(s, kind, t, range_ms(s, 3000, 15000));
			break;
		case NK_LOSS:
			f = add(s, kind, t, range_ms(s, 1000, 6000));
			if (f != NULL)
				f->a = (uint64_t)((2 + rng_below(&s->scn.rng, 19)) * 4294967296.0 / 100);
			break;
		case NK_DELAY:
			f = add(s, kind, t, range_ms(s, 1000, 6000));
			if (f != NULL)
				f->a = range_ms(s, 10, 250);
			break;
		case NK_STALL:
			f = add(s, kind, t, 0);
			if (f != NULL)
				f->a = 1 + rng_below(&s->scn.rng, 4);
			break;
		case NK_DAEMON_RESTART:
			f = add(s, kind, t, range_ms(s, 300, 5000));
			break;
		case NK_DAEMON_DOWN:
			f = add(s, kind, t, SIM_NEVER);
			break;
		case NK_ASYM:
		case NK_INBOUND:
			f = add(s, kind, t, range_ms(s, 1000, 10000));
			break;
		case NK_DRIFT:
			f = add(s, kind, t, range_ms(s, 2000, 10000));
			break;
		default:
			f = NULL;
			break;
		}
		if (f == NULL)
			return;
		f->node = pick(s);
		f->node2 = (f->node + 1 + (uint32_t)rng_below(&s->scn.rng, s->n - 1)) % s->n;
		uint32_t idx = (uint32_t)(f - nm->f);
		at(s, f->begin, NOP_BEGIN, idx, f->node);
		if (kind != NK_CRASH && kind != NK_STALL && kind != NK_FLAP)
			at(s, f->end, NOP_END, idx, f->node);
	}
}

static void start(struct sim *s)
{
	struct nemesis *nm = s->nem;

	nm->fault_begin = s->st.t0 + STEADY;
	nm->quiet_at = s->scn.end - nm->quiet;
	nm->fault_end = nm->quiet_at;
	nm->base_loss_threshold = s->net.loss_threshold;
	nm->base_latency = s->net.cfg.latency_ns;
	gen_network(s);
	gen_nodes(s);
	at(s, nm->quiet_at, NOP_QUIET, 0, 0);
	nemesis_observe(s);
}

static const struct scenario nemesis_scenario = {
	"nemesis", "random fault schedules (mimamori-sim nemesis)", 0.0, start
};

/* A daemon restarted with the members digest of digest_of[node]. */
/* A member's daemon dies: its open notifications (hosts it fenced and
 * nobody has notified yet) are left to a takeover. */
static void notifier_lost(struct sim *s, uint32_t node)
{
	for (uint32_t i = 0; i < s->n; i++) {
		struct nem_host *h = &s->nem->h[i];
		if (h->fenced_by == node && h->posts202 == 0)
			h->notifier_killed = true;
	}
}

static void daemon_restart(struct sim *s, uint32_t node)
{
	notifier_lost(s, node);
	sim_daemon_kill(s, node);
	sim_daemon_start(s, node);
}

static void isolate_all(struct sim *s, bool on)
{
	for (uint32_t i = 0; i < s->n; i++)
		net_set_flag(&s->net, i, NET_ISOLATED, on);
}

static void begin(struct sim *s, struct nem_fault *f, uint32_t idx)
{
	switch (f->kind) {
	case NK_PARTITION:
	case NK_SPLIT:
		sim_trace(s, "nemesis: %s", kind_names[f->kind]);
		for (uint32_t i = 0; i < s->n; i++)
			net_set_group(&s->net, i, f->plan[i]);
		sim_health_update(s);
		break;
	case NK_OUTAGE:
	case NK_OUTAGE_STAGGERED:
		sim_trace(s, "nemesis: every link down");
		isolate_all(s, true);
		sim_health_update(s);
		break;
	case NK_CRASH:
		sim_trace(s, "nemesis: power loss of %s", s->names[f->node]);
		sim_power_off(s, f->node);
		break;
	case NK_FLAP:
		f->down = false;
		at(s, s->now, NOP_STEP, idx, f->node);
		break;
	case NK_LOSS:
		sim_trace(s, "nemesis: loss burst %.1f%%", (double)f->a * 100 / 4294967296.0);
		s->net.loss_threshold = f->a;
		break;
	case NK_DELAY:
		sim_trace(s, "nemesis: latency %.0f ms", (double)f->a / 1e6);
		s->net.cfg.latency_ns = f->a;
		break;
	case NK_STALL:
		at(s, s->now, NOP_STEP, idx, f->node);
		break;
	case NK_DAEMON_RESTART:
	case NK_DAEMON_DOWN:
		sim_trace(s, "nemesis: %s's daemon killed", s->names[f->node]);
		notifier_lost(s, f->node);
		sim_daemon_kill(s, f->node);
		break;
	case NK_ASYM:
		sim_trace(s, "nemesis: %s -> %s blocked", s->names[f->node2], s->names[f->node]);
		net_block(&s->net, f->node2, f->node);
		sim_health_update(s);
		break;
	case NK_INBOUND:
		sim_trace(s, "nemesis: nothing reaches %s", s->names[f->node]);
		net_set_flag(&s->net, f->node, NET_IN_CUT, true);
		s->nem->h[f->node].inbound++;
		sim_health_update(s);
		break;
	case NK_DRIFT:
		sim_trace(s, "nemesis: %s's members file edited, daemon restarted", s->names[f->node]);
		s->digest_of[f->node] = UINT64_C(0x6d656d62657273) ^ f->node; /* not the others' */
		daemon_restart(s, f->node);
		break;
	case NK_KINDS:
		break;
	}
}

static void end(struct sim *s, struct nem_fault *f)
{
	switch (f->kind) {
	case NK_PARTITION:
	case NK_SPLIT:
		for (uint32_t i = 0; i < s->n; i++)
			net_set_group(&s->net, i, 0);
		sim_health_update(s);
		break;
	case NK_OUTAGE:
		isolate_all(s, false);
		sim_health_update(s);
		break;
	case NK_LOSS:
		s->net.loss_threshold = s->nem->base_loss_threshold;
		break;
	case NK_DELAY:
		s->net.cfg.latency_ns = s->nem->base_latency;
		break;
	case NK_DAEMON_RESTART:
	case NK_DAEMON_DOWN:
		sim_trace(s, "nemesis: %s's daemon started again", s->names[f->node]);
		sim_daemon_start(s, f->node);
		break;
	case NK_ASYM:
		net_unblock(&s->net, f->node2, f->node);
		sim_health_update(s);
		break;
	case NK_INBOUND:
		if (s->nem->h[f->node].inbound > 0 && --s->nem->h[f->node].inbound == 0)
			net_set_flag(&s->net, f->node, NET_IN_CUT, false);
		sim_health_update(s);
		break;
	case NK_DRIFT:
		if (s->digest_of[f->node] != 0) {
			s->digest_of[f->node] = 0;
			daemon_restart(s, f->node);
		}
		break;
	default:
		break;
	}
}

static void step(struct sim *s, struct nem_fault *f, uint32_t idx, uint32_t node)
{
	uint64_t d;

	switch (f->kind) {
	case NK_OUTAGE_STAGGERED:
		sim_trace(s, "nemesis: %s reachable again", s->names[node]);
		net_set_flag(&s->net, node, NET_ISOLATED, false);
		sim_health_update(s);
		break;
	case NK_FLAP:
		if (s->now >= f->end) {
			if (f->down) {
				f->down = false;
				if (s->nem->h[node].flap_down > 0)
					s->nem->h[node].flap_down--;
				net_set_flag(&s->net, node, NET_ISOLATED, false);
				sim_health_update(s);
			}
			break;
		}
		f->down = !f->down;
		d = f->down ? range_ms(s, 200, 2500) : range_ms(s, 200, 3000);
		sim_trace(s, "nemesis: %s %s for %.3f s", s->names[node],
			  f->down ? "unreachable" : "reachable", (double)d / 1e9);
		net_set_flag(&s->net, node, NET_ISOLATED, f->down);
		if (f->down)
			s->nem->h[node].flap_down++;
		else if (s->nem->h[node].flap_down > 0)
			s->nem->h[node].flap_down--;
		sim_health_update(s);
		at(s, s->now + d, NOP_STEP, idx, node);
		break;
	case NK_STALL:
		if (f->a == 0 || s->now >= s->nem->quiet_at || !s->nodes[node].up)
			break;
		f->a--;
		d = range_ms(s, 100, 3000);
		sim_trace(s, "nemesis: %s stalls for %.3f s", s->names[node], (double)d / 1e9);
		if (s->nodes[node].stall_until < s->now + d)
			s->nodes[node].stall_until = s->now + d;
		s->nodes[node].last_stall_end = s->nodes[node].stall_until;
		at(s, s->now + d, NOP_END, idx, node); /* nemesis_step observes its end */
		at(s, s->now + d + range_ms(s, 500, 3000), NOP_STEP, idx, node);
		break;
	default:
		break;
	}
}

/* Everything healed; powered-off hosts stay off. */
static void quiet(struct sim *s)
{
	sim_trace(s, "nemesis: quiet phase, every fault healed");
	net_heal(&s->net);
	s->net.loss_threshold = s->nem->base_loss_threshold;
	s->net.cfg.latency_ns = s->nem->base_latency;
	for (uint32_t i = 0; i < s->n; i++) {
		s->nem->h[i].flap_down = s->nem->h[i].inbound = 0;
		if (!s->up[i])
			continue;
		if (s->nodes[i].stall_until > s->now)
			s->nodes[i].stall_until = s->now;
		if (s->digest_of[i] != 0) {
			s->digest_of[i] = 0;
			daemon_restart(s, i);
		} else if (!s->nodes[i].up) {
			sim_daemon_start(s, i);
		}
	}
	sim_health_update(s);
}

void nemesis_step(struct sim *s, uint64_t code)
{
	enum nem_op op = (enum nem_op)((code >> 32) - NEM_OP_BASE);
	uint32_t idx = (uint32_t)(code >> 16) & 0xffffu, node = (uint32_t)code & 0xffffu;

	if (s->nem == NULL)
		return;
	if (op == NOP_QUIET) {
		quiet(s);
		return;
	}
	if (idx >= s->nem->n_f)
		return;
	struct nem_fault *f = &s->nem->f[idx];
	if (op == NOP_BEGIN)
		begin(s, f, idx);
	else if (op == NOP_END)
		end(s, f);
	else
		step(s, f, idx, node);
	nemesis_observe(s);
}

/* ---- one schedule and the campaign ----------------------------------------- */

struct campaign {
	uint64_t schedules, nodes_sum, violating;
	uint64_t kinds[NK_KINDS];
	uint64_t v_count[NV_KINDS];
	uint64_t fences, legit_late_fences, posts202, posts409, power_losses, notified;
	uint64_t verdicts, false_deaths, max_lag;
	uint32_t n_min, n_max;
	uint32_t printed;
};

struct nem_options {
	uint64_t schedules, seed;
	uint32_t n_lo, n_hi;
	uint64_t agr_window_ns; /* 0: the default; else the cores' (not the checker's) */
	uint64_t *seeds;        /* --seeds: these instead of seed .. seed + schedules - 1 */
	size_t n_seeds;
	bool trace, quiet_runs, lines;
};

/* The schedule's world, from its seed alone (stream 11: apart from the
 * engine's streams, which sim_new seeds from the same seed). */
static void schedule_config(const struct nem_options *o, uint64_t seed, struct sim_config *c,
			    bool *drift_out)
{
	struct sim_rng r;

	memset(c, 0, sizeof(*c));
	rng_seed(&r, seed, 10);
	c->n = o->n_lo + (uint32_t)rng_below(&r, o->n_hi - o->n_lo + 1);
	rng_seed(&r, seed, 11);
	c->seed = seed;
	c->transport = rng_below(&r, 3) == 0 ? TRANSPORT_DATAGRAM : TRANSPORT_TCP;
	c->rto_ns = 200 * NS_PER_MS;
	c->net.loss = (double)rng_below(&r, 4) / 100.0;
	c->net.latency_ns = rng_range(&r, 200 * NS_PER_US, 5 * NS_PER_MS);
	c->net.jitter_ns = rng_range(&r, 0, 5 * NS_PER_MS);
	c->fence_mode = FENCE_POWEROFF;
	c->fence_delay_ns = rng_range(&r, 10 * NS_PER_MS, 2 * NS_PER_S);
	c->masakari_rtt_ns = 20 * NS_PER_MS;
	bool drift = rng_below(&r, 3) == 0;
	*drift_out = drift;
	c->duration_ns = STEADY + rng_range(&r, 10 * NS_PER_S, 20 * NS_PER_S) +
			 (drift ? QUIET_DRIFT : QUIET_PLAIN);
	c->trace = o->trace;
	c->scenario = &nemesis_scenario;
	scenario_knobs_default(&c->knobs);
	membership_config_default(&c->mcfg);
	agreement_config_default(&c->acfg);
	if (o->agr_window_ns != 0)
		c->acfg.unreachable_window_ns = o->agr_window_ns;
}

/* Frees one schedule's nemesis state and its simulation. */
static void schedule_free(struct sim *s, struct nemesis *nm)
{
	for (uint32_t i = 0; i < nm->n_f; i++) {
		free(nm->f[i].plan);
		free(nm->f[i].order);
	}
	free(nm->h);
	free(nm->comp);
	free(nm->stack);
	free(nm);
	s->nem = NULL;
	sim_free(s);
}

static int run_schedule(const struct nem_options *o, uint64_t seed, struct campaign *cp,
			uint64_t takeover_wait)
{
	struct sim_config c;
	struct nemesis *nm = calloc(1, sizeof(*nm));

	bool drift;
	schedule_config(o, seed, &c, &drift);
	c.duration_ns += takeover_wait;
	if (nm == NULL)
		return -1;
	struct sim *s = sim_new(&c);
	if (s == NULL) {
		free(nm);
		return -1;
	}
	nm->h = calloc(s->n, sizeof(*nm->h));
	nm->comp = calloc(s->n, sizeof(*nm->comp));
	nm->stack = calloc(s->n, sizeof(*nm->stack));
	if (nm->h == NULL || nm->comp == NULL || nm->stack == NULL) {
		free(nm->comp);
		free(nm->stack);
		free(nm->h);
		sim_free(s);
		free(nm);
		return -1;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		nm->h[i].imp_start = nm->h[i].long_end = nm->h[i].off_at = SIM_NEVER;
		nm->h[i].fenced_by = UINT32_MAX;
	}
	struct agreement_config dflt;
	agreement_config_default(&dflt);
	nm->w = dflt.unreachable_window_ns;
	nm->drift_allowed = drift;
	nm->quiet = (drift ? QUIET_DRIFT : QUIET_PLAIN) + takeover_wait;
	s->nem = nm;
	sim_run(s);

	/* the end: every host powered off is notified, if a majority is on */
	uint32_t on = 0;
	for (uint32_t i = 0; i < s->n; i++)
		on += s->up[i];
	bool takeover_due = false;
	for (uint32_t i = 0; i < s->n; i++)
		takeover_due = takeover_due || (nm->h[i].ever_off && nm->h[i].posts202 == 0 &&
						nm->h[i].notifier_killed);
	if (takeover_due && takeover_wait == 0 && 2 * (uint64_t)on > s->n) {
		/* A host fenced by a member whose daemon was then killed, not
		 * notified: the takeover comes a takeover step after that
		 * notifier's last progress (see nemesis.h, "missed"). The same
		 * schedule again, its quiet phase that much longer; only that
		 * run counts. */
		uint64_t step = dflt.takeover_step_ns != 0 ?
					dflt.takeover_step_ns :
					dflt.claim_settle_ns + dflt.fence_timeout_ns +
						dflt.notify_timeout_ns;
		if (o->trace)
			fprintf(stderr, "nemesis: a fenced host's notifier was killed before its "
					"POST: the schedule again, its quiet phase %.1f s longer\n",
				(double)step / 1e9);
		schedule_free(s, nm);
		return run_schedule(o, seed, cp, step);
	}
	for (uint32_t i = 0; i < s->n; i++) {
		if (!nm->h[i].ever_off)
			continue;
		nm->power_losses++;
		if (nm->h[i].posts202 > 0)
			nm->notified++;
		else if (2 * (uint64_t)on > s->n)
			violation(s, NV_MISSED, UINT32_MAX, i);
	}
	if (s->st.core_errors || s->st.tick_spins)
		violation(s, NV_CORE, UINT32_MAX, 0);

	uint64_t nv = 0;
	for (int k = 0; k < NV_KINDS; k++) {
		nv += nm->v_count[k];
		cp->v_count[k] += nm->v_count[k];
	}
	for (int k = 0; k < NK_KINDS; k++)
		cp->kinds[k] += nm->kinds[k];
	cp->schedules++;
	cp->nodes_sum += s->n;
	if (cp->schedules == 1 || s->n < cp->n_min)
		cp->n_min = s->n;
	if (s->n > cp->n_max)
		cp->n_max = s->n;
	cp->fences += nm->fences;
	cp->legit_late_fences += nm->legit_late_fences;
	cp->posts202 += nm->posts202;
	cp->posts409 += nm->posts409;
	cp->power_losses += nm->power_losses;
	cp->notified += nm->notified;
	cp->verdicts += s->st.verdicts;
	cp->false_deaths += s->st.false_deaths;
	if (nm->max_lag > cp->max_lag)
		cp->max_lag = nm->max_lag;
	if (nv > 0) {
		cp->violating++;
		if (cp->printed++ < MAX_PRINTED) {
			printf("VIOLATION schedule seed=%llu n=%u transport=%s loss=%.2f faults:",
			       (unsigned long long)seed, s->n,
			       c.transport == TRANSPORT_TCP ? "tcp" : "datagram", c.net.loss);
			for (uint32_t i = 0; i < nm->n_f; i++)
				printf(" %s@%.1f-%.1f(%s)", kind_names[nm->f[i].kind],
				       (double)(nm->f[i].begin - s->st.t0) / 1e9,
				       (double)(nm->f[i].end - s->st.t0) / 1e9,
				       s->names[nm->f[i].node]);
			printf("\n");
			for (uint32_t i = 0; i < nm->n_v; i++)
				printf("  t=%.3f %s: %s (by %s)\n", (double)(nm->v[i].at - s->st.t0) / 1e9,
				       violation_names[nm->v[i].kind], s->names[nm->v[i].subject],
				       nm->v[i].node < s->n ? s->names[nm->v[i].node] : "-");
			printf("  replay: mimamori-sim nemesis --schedules 1 --seed %llu --nodes %u --trace\n",
			       (unsigned long long)seed, s->n);
		}
	}
	if (o->lines) {
		/* one record per schedule: partial campaigns can be summed */
		printf("sched seed=%llu n=%u v=", (unsigned long long)seed, s->n);
		for (int k = 0; k < NV_KINDS; k++)
			printf("%s%llu", k ? "," : "", (unsigned long long)nm->v_count[k]);
		printf(" k=");
		for (int k = 0; k < NK_KINDS; k++)
			printf("%s%llu", k ? "," : "", (unsigned long long)nm->kinds[k]);
		printf(" losses=%llu notified=%llu fences=%llu late=%llu lag_ms=%llu posts=%llu,%llu "
		       "verdicts=%llu\n",
		       (unsigned long long)nm->power_losses, (unsigned long long)nm->notified,
		       (unsigned long long)nm->fences, (unsigned long long)nm->legit_late_fences,
		       (unsigned long long)(nm->max_lag / NS_PER_MS), (unsigned long long)nm->posts202,
		       (unsigned long long)nm->posts409, (unsigned long long)s->st.verdicts);
	} else if (nv == 0 && !o->quiet_runs) {
		printf("ok schedule seed=%llu n=%u faults=%u fences=%llu posts=%llu\n",
		       (unsigned long long)seed, s->n, nm->n_f, (unsigned long long)nm->fences,
		       (unsigned long long)(nm->posts202 + nm->posts409));
	}
	fflush(stdout);
	schedule_free(s, nm);
	return 0;
}

static void report(const struct nem_options *o, const struct campaign *cp)
{
	uint64_t total = 0, vtotal = 0;

	if (o->seeds != NULL)
		printf("\n# mimamori-sim nemesis --seeds (%zu) --nodes %u..%u\n", o->n_seeds, o->n_lo,
		       o->n_hi);
	else
		printf("\n# mimamori-sim nemesis --schedules %llu --seed %llu --nodes %u..%u\n",
		       (unsigned long long)o->schedules, (unsigned long long)o->seed, o->n_lo,
		       o->n_hi);
	printf("| schedules | N (min..max, mean) | faults | power losses (crash + fence) | "
	       "notified (202) | fences | late legitimate fences (max lag) | POSTs 202 / 409 | "
	       "verdicts | violations |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (int k = 0; k < NK_KINDS; k++)
		total += cp->kinds[k];
	for (int k = 0; k < NV_KINDS; k++)
		vtotal += cp->v_count[k];
	printf("| %llu | %u..%u, %.1f | %llu | %llu | %llu | %llu | %llu (%.3f s) | %llu / %llu | "
	       "%llu | %llu in %llu schedules |\n",
	       (unsigned long long)cp->schedules, cp->n_min, cp->n_max,
	       cp->schedules ? (double)cp->nodes_sum / (double)cp->schedules : 0.0,
	       (unsigned long long)total, (unsigned long long)cp->power_losses,
	       (unsigned long long)cp->notified, (unsigned long long)cp->fences,
	       (unsigned long long)cp->legit_late_fences, (double)cp->max_lag / 1e9,
	       (unsigned long long)cp->posts202, (unsigned long long)cp->posts409,
	       (unsigned long long)cp->verdicts, (unsigned long long)vtotal,
	       (unsigned long long)cp->violating);
	printf("\n| fault | injected |\n|---|---|\n");
	for (int k = 0; k < NK_KINDS; k++)
		printf("| %s | %llu |\n", kind_names[k], (unsigned long long)cp->kinds[k]);
	printf("\n| violation | count |\n|---|---|\n");
	for (int k = 0; k < NV_KINDS; k++)
		printf("| %s | %llu |\n", violation_names[k], (unsigned long long)cp->v_count[k]);
	uint64_t safety = vtotal - cp->v_count[NV_CORE];
	printf("\nsafety violations (fence, POST, unfenced, missed): %llu; core errors / livelocks: "
	       "%llu\n",
	       (unsigned long long)safety, (unsigned long long)cp->v_count[NV_CORE]);
	printf("verdict: %s\n", vtotal == 0 ? "ok" : "VIOLATION");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mimamori-sim nemesis [options]\n"
		"  --schedules K   random fault schedules (default 100)\n"
		"  --seed S        first seed (default 1); schedule i uses S + i\n"
		"  --seeds A,B,... exactly these seeds (a fixed set)\n"
		"  --nodes A..B    members, uniform per schedule (default 5..50); or N\n"
		"  --quiet         no line per passing schedule\n"
		"  --lines         a record line per schedule (sched seed= n= v= k= ...)\n"
		"  --trace         faults, decisions and violations on stderr\n"
		"  --agr-window MS the cores' unreachable window; the checker keeps judging\n"
		"                  with the daemon's default (a check of the checker: a short\n"
		"                  window must be caught)\n"
		"Every schedule is a function of its seed (and A..B): a violation line\n"
		"prints the command that replays it. Exit status: 0, 4 on a violation,\n"
		"2 on bad options, 1 on errors. Wall time on stderr.\n");
}

static int parse_nodes(const char *arg, uint32_t *lo, uint32_t *hi)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	a = strtoul(arg, &end, 10);
	if (end == arg || errno)
		return -1;
	if (strncmp(end, "..", 2) == 0) {
		const char *p = end + 2;
		b = strtoul(p, &end, 10);
		if (end == p || errno)
			return -1;
	} else {
		b = a;
	}
	if (*end != '\0' || a < 2 || b < a || b > 10000)
		return -1;
	*lo = (uint32_t)a;
	*hi = (uint32_t)b;
	return 0;
}

int nemesis_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "schedules", required_argument, NULL, 'k' }, { "seed", required_argument, NULL, 's' },
		{ "nodes", required_argument, NULL, 'n' },     { "quiet", no_argument, NULL, 'q' },
		{ "trace", no_argument, NULL, 't' },           { "help", no_argument, NULL, 'h' },
		{ "agr-window", required_argument, NULL, 'w' },
		{ "seeds", required_argument, NULL, 'S' },
		{ "lines", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct nem_options o = { .schedules = 100, .seed = 1, .n_lo = 5, .n_hi = 50 };
	struct campaign cp;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			errno = 0;
			o.schedules = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || o.schedules == 0) {
				fprintf(stderr, "mimamori-sim nemesis: bad --schedules %s\n", optarg);
				return 2;
			}
			break;
		case 's':
			errno = 0;
			o.seed = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0') {
				fprintf(stderr, "mimamori-sim nemesis: bad --seed %s\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_nodes(optarg, &o.n_lo, &o.n_hi) != 0) {
				fprintf(stderr, "mimamori-sim nemesis: bad --nodes %s\n", optarg);
				return 2;
			}
			break;
		case 'w':
			errno = 0;
			o.agr_window_ns = strtoull(optarg, &end, 10) * NS_PER_MS;
			if (errno || end == optarg || *end != '\0' || o.agr_window_ns == 0) {
				fprintf(stderr, "mimamori-sim nemesis: bad --agr-window %s\n", optarg);
				return 2;
			}
			break;
		case 'S': {
			const char *p = optarg;
			free(o.seeds);
			o.seeds = calloc(strlen(optarg) / 2 + 1, sizeof(*o.seeds));
			o.n_seeds = 0;
			if (o.seeds == NULL)
				return 1;
			for (;;) {
				errno = 0;
				o.seeds[o.n_seeds++] = strtoull(p, &end, 10);
				if (errno || end == p || (*end != ',' && *end != '\0')) {
					fprintf(stderr, "mimamori-sim nemesis: bad --seeds %s\n", optarg);
					free(o.seeds);
					return 2;
				}
				if (*end == '\0')
					break;
				p = end + 1;
			}
			o.schedules = o.n_seeds;
			break;
		}
		case 'l':
			o.lines = true;
			break;
		case 'q':
			o.quiet_runs = true;
			break;
		case 't':
			o.trace = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&cp, 0, sizeof(cp));
	uint64_t t = mono_ns();
	for (uint64_t i = 0; i < o.schedules; i++)
		if (run_schedule(&o, o.seeds != NULL ? o.seeds[i] : o.seed + i, &cp, 0) != 0) {
			free(o.seeds);
			return 1;
		}
	free(o.seeds);
	report(&o, &cp);
	fprintf(stderr, "mimamori-sim nemesis: %llu schedules, wall %.1f s\n",
		(unsigned long long)cp.schedules, (double)(mono_ns() - t) / 1e9);
	uint64_t vtotal = 0;
	for (int k = 0; k < NV_KINDS; k++)
		vtotal += cp.v_count[k];
	return vtotal == 0 ? 0 : 4;
}
