/* mimamori-sim: the engine, see sim.h. */
#include "tools/sim/sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/sim/wire.h"

#define WARM_WINDOW (100 * NS_PER_MS)
#define WARM_MIN (1 * NS_PER_S)
#define WARM_MAX (120 * NS_PER_S)

void sim_trace(const struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->cfg.trace)
		return;
	fprintf(stderr, "%11.6f ", (double)s->now / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void sim_schedule(struct sim *s, uint64_t at, uint32_t kind, uint32_t node, void *ptr,
		  uint64_t u)
{
	struct sim_event ev = { .at = at, .kind = (uint16_t)kind, .node = node };

	if (ptr != NULL)
		ev.data.ptr = ptr;
	else
		ev.data.u = u;
	evq_push(&s->q, &ev);
}

/* tcp: the sender's kernel tries again later (takes sm's reference). */
static void retransmit(struct sim *s, uint32_t to, struct sim_msg *sm, uint16_t attempt)
{
	if (attempt > TCP_MAX_RETRIES) {
		s->st.lost_giveup++;
		wire_unref(sm);
		return;
	}
	s->st.retransmits++;
	struct sim_event ev = { .at = s->now + (s->cfg.rto_ns << (attempt - 1)),
				.kind = EV_MSG_RETRY, .aux = attempt, .node = to };
	ev.data.ptr = sm;
	evq_push(&s->q, &ev);
}

void sim_send(struct sim *s, uint32_t from, uint32_t to, struct sim_msg *sm)
{
	uint64_t delay;

	if (sm->kind == SIM_MSG_MESH) {
		const struct mesh_msg *mm = (const struct mesh_msg *)(const void *)sm->mesh;
		s->st.sent.msgs_mesh++;
		s->st.sent.bytes_mesh += sm->bytes;
		if (mm->type <= MESH_MSG_TYPE_MAX) {
			s->st.sent.mesh_by_type[mm->type]++;
			s->st.sent.updates_by_type[mm->type] += mm->n_updates;
		}
	} else {
		s->st.sent.msgs_agr++;
		s->st.sent.bytes_agr += sm->bytes;
	}
	if (!net_link_ok(&s->net, from, to)) {
		s->st.lost_cut++;
		if (s->cfg.transport == TRANSPORT_TCP) {
			wire_ref(sm);
			retransmit(s, to, sm, 1);
		}
		return;
	}
	if (!net_transmit(&s->net, &delay)) {
		s->st.lost_random++;
		if (sm->kind == SIM_MSG_COMPLETION)
			sim_trace(s, "%s -> %s: completion (%s %s) lost", s->names[from], s->names[to],
				  agr_stage_name(sm->agr.comp.stage), sm->agr.comp.subject);
		if (s->cfg.transport == TRANSPORT_TCP) {
			wire_ref(sm);
			retransmit(s, to, sm, 1);
		}
		return;
	}
	wire_ref(sm);
	sim_schedule(s, s->now + delay, EV_MSG, to, sm, 0);
}

static void retry_due(struct sim *s, const struct sim_event *ev)
{
	struct sim_msg *sm = ev->data.ptr;
	uint64_t delay;

	if (!s->up[sm->from]) { /* the sender's kernel is gone */
		wire_unref(sm);
		return;
	}
	if (!net_link_ok(&s->net, sm->from, ev->node)) {
		s->st.lost_cut++;
		retransmit(s, ev->node, sm, (uint16_t)(ev->aux + 1));
		return;
	}
	if (!net_transmit(&s->net, &delay)) {
		s->st.lost_random++;
		retransmit(s, ev->node, sm, (uint16_t)(ev->aux + 1));
		return;
	}
	sim_schedule(s, s->now + delay, EV_MSG, ev->node, sm, 0);
}

void sim_health_update(struct sim *s)
{
	net_bidir_counts(&s->net, s->up, s->bidir);
	s->n_healthy = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		s->healthy[i] = 2 * (uint64_t)s->bidir[i] > s->n;
		s->n_healthy += s->healthy[i];
	}
	stats_health_changed(s);
	nemesis_observe(s);
}

void sim_power_off(struct sim *s, uint32_t node)
{
	if (!s->up[node])
		return;
	sim_trace(s, "%s: powered off", s->names[node]);
	s->up[node] = false;
	s->nodes[node].up = false;
	sim_health_update(s);
}

void sim_daemon_kill(struct sim *s, uint32_t node)
{
	if (!s->up[node] || !s->nodes[node].up)
		return;
	/* the process is gone, the host is not: s->up (health) unchanged */
	s->nodes[node].up = false;
}

void sim_daemon_start(struct sim *s, uint32_t node)
{
	struct node *nd = &s->nodes[node];

	if (!s->up[node] || nd->up)
		return;
	node_free(nd);
	if (node_init(s, nd, node) != 0) {
		s->st.core_errors++;
		return;
	}
	nd->start_at = s->now;
	node_warm_start(s, nd, s->now);
}

struct sim *sim_new(const struct sim_config *cfg)
{
	struct sim *s = calloc(1, sizeof(*s));
	uint32_t n = cfg->n;

	if (s == NULL)
		goto oom;
	s->cfg = *cfg;
	s->n = n;
	evq_init(&s->q);
	s->names = calloc(n, sizeof(*s->names));
	s->name_ptrs = calloc(n, sizeof(*s->name_ptrs));
	s->up = calloc(n, sizeof(*s->up));
	s->healthy = calloc(n, sizeof(*s->healthy));
	s->bidir = calloc(n, sizeof(*s->bidir));
	s->digest_of = calloc(n, sizeof(*s->digest_of));
	s->nodes = calloc(n, sizeof(*s->nodes));
	if (s->names == NULL || s->name_ptrs == NULL || s->up == NULL || s->healthy == NULL ||
	    s->bidir == NULL || s->digest_of == NULL || s->nodes == NULL)
		goto oom;
	if (net_init(&s->net, n, &cfg->net, cfg->seed) != 0 || services_init(&s->svc, n) != 0 ||
	    stats_init(&s->st, n) != 0)
		goto oom;
	rng_seed(&s->scn.rng, cfg->seed, 2);
	rng_seed(&s->start_rng, cfg->seed, 3);
	for (uint32_t i = 0; i < n; i++) {
		sim_node_name(i, s->names[i], sizeof(s->names[i]));
		s->name_ptrs[i] = s->names[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		if (node_init(s, &s->nodes[i], i) != 0) {
			sim_free(s);
			return NULL;
		}
		s->up[i] = true;
	}
	sim_health_update(s);
	return s;
oom:
	fprintf(stderr, "mimamori-sim: out of memory setting up %u nodes\n", n);
	sim_free(s);
	return NULL;
}

static void drop(struct sim *s, const struct sim_event *ev)
{
	switch (ev->kind) {
	case EV_MSG:
		s->st.lost_down++;
		wire_unref(ev->data.ptr);
		break;
	case EV_MSG_RETRY:
		wire_unref(ev->data.ptr);
		break;
	case EV_FENCE_DONE:
	case EV_MASAKARI_REPLY:
		services_drop(ev);
		break;
	default:
		break;
	}
}

void sim_free(struct sim *s)
{
	struct sim_event ev;

	if (s == NULL)
		return;
	while (evq_pop(&s->q, &ev))
		drop(s, &ev);
	evq_free(&s->q);
	if (s->nodes != NULL)
		for (uint32_t i = 0; i < s->n; i++)
			node_free(&s->nodes[i]);
	free(s->nodes);
	mesh_directory_free(s->dir);
	mnode_names_free(s->mnames);
	net_free(&s->net);
	services_free(&s->svc);
	stats_free(&s->st);
	free(s->names);
	free(s->name_ptrs);
	free(s->up);
	free(s->healthy);
	free(s->bidir);
	free(s->digest_of);
	free(s->scn.plan);
	free(s);
}

/* A message reached a host whose kernel runs but whose daemon is down
 * (the kernel answers the connection with a reset) or stalled (the kernel
 * completes it: the listening socket is the kernel's), which the sender
 * sees if the way back works and its own daemon runs and is not stalled.
 * mimamorid's refusal probe feeds both to mnode_on_peer_refused. */
static void kernel_answered(struct sim *s, const struct sim_event *ev)
{
	const struct sim_msg *sm = ev->data.ptr;
	struct node *from = &s->nodes[sm->from];

	if (!from->up || s->now < from->stall_until || !net_link_ok(&s->net, ev->node, sm->from))
		return;
	s->st.refused++;
	node_on_refused(s, from, ev->node);
}

static void dispatch(struct sim *s, struct sim_event *ev)
{
	struct node *nd;

	if (ev->kind == EV_SCENARIO) {
		scenario_step(s, ev->data.u);
		return;
	}
	if (ev->kind == EV_MSG_RETRY) {
		retry_due(s, ev);
		return;
	}
	nd = &s->nodes[ev->node];
	if (!nd->up) {
		if (ev->kind == EV_MSG && s->up[ev->node])
			kernel_answered(s, ev);
		drop(s, ev);
		return;
	}
	if (s->now < nd->stall_until) {
		/* CPU-starved: the process sees it when it runs again */
		if (ev->kind == EV_MSG && ev->at != nd->stall_until)
			kernel_answered(s, ev); /* once, on arrival */
		if (ev->kind == EV_TIMER) {
			if (ev->at != nd->armed)
				return; /* stale */
			nd->armed = nd->stall_until;
		}
		ev->at = nd->stall_until;
		evq_push(&s->q, ev);
		return;
	}
	switch (ev->kind) {
	case EV_TIMER:
		if (ev->at == nd->armed)
			node_on_timer(s, nd);
		break;
	case EV_MSG: {
		struct sim_msg *sm = ev->data.ptr;
		if (!net_link_ok(&s->net, sm->from, ev->node)) {
			s->st.lost_cut++; /* cut while in flight */
			if (s->cfg.transport == TRANSPORT_TCP) {
				retransmit(s, ev->node, sm, 1);
				break;
			}
		} else {
			node_on_msg(s, nd, sm);
		}
		wire_unref(sm);
		break;
	}
	case EV_FENCE_DONE:
		services_fence_done(s, ev);
		break;
	case EV_MASAKARI_REPLY:
		services_reply(s, ev);
		break;
	default:
		break;
	}
}

static void run_until(struct sim *s, uint64_t t)
{
	struct sim_event ev;

	while (evq_next_at(&s->q) <= t) {
		evq_pop(&s->q, &ev);
		s->now = ev.at;
		dispatch(s, &ev);
	}
	if (s->now < t)
		s->now = t;
}

void sim_run(struct sim *s)
{
	uint64_t t = 0;

	s->warming = true;
	for (uint32_t i = 0; i < s->n; i++) {
		s->nodes[i].start_at = rng_below(&s->start_rng, s->cfg.mcfg.probe_interval_ns);
		node_warm_start(s, &s->nodes[i], 0);
	}
	if (s->cfg.warmup_ns > 0) {
		run_until(s, s->cfg.warmup_ns);
		t = s->cfg.warmup_ns;
	} else {
		for (;;) {
			s->warm_window_alive = 0;
			run_until(s, t + WARM_WINDOW);
			t += WARM_WINDOW;
			if ((t >= WARM_MIN && s->warm_window_alive == 0) || t >= WARM_MAX)
				break;
		}
	}
	s->warming = false;
	s->st.t0 = t;
	s->st.at_t0 = s->st.sent;
	s->st.end = t + s->cfg.duration_ns;
	s->scn.end = s->st.end;
	s->cfg.scenario->start(s);
	run_until(s, s->st.end);
	if (!s->st.event_seen) {
		s->st.first_event = s->st.end;
		s->st.at_event = s->st.sent;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct mesh_counters c;
		membership_counters(mnode_membership(s->nodes[i].mn), &c);
		s->st.suspicions += c.suspicions_raised;
		s->st.refutations += c.refutations;
	}
}
