/* Test support: the virtual-time network, see vnet.h. */
#include "tests/support/vnet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

enum vnet_event_kind { VNET_EV_MSG, VNET_EV_POST, VNET_EV_TIMER };

struct vnet_event {
	uint64_t at;
	uint64_t seq; /* ties broken by insertion order: deterministic */
	enum vnet_event_kind kind;
	uint32_t from, to;
	void *payload; /* owned by the queue until the event has run */
	size_t len;
};

static void *xalloc(void *p, size_t n, size_t size)
{
	void *q = realloc(p, n * size);

	if (q == NULL && n > 0) {
		fprintf(stderr, "vnet: out of memory (%zu x %zu bytes)\n", n, size);
		abort();
	}
	return q;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "vnet: out of memory (%zu x %zu bytes)\n", n, size);
		abort();
	}
	return p;
}

static void check_node(const struct vnet *net, uint32_t node, const char *what)
{
	if (node >= net->n) {
		fprintf(stderr, "vnet: %s: node %u of %u\n", what, node, net->n);
		abort();
	}
}

/* ---- the event queue: a binary min-heap on (at, seq) ---------------------- */

static bool before(const struct vnet_event *a, const struct vnet_event *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void push(struct vnet *net, struct vnet_event ev)
{
	size_t i;

	if (net->queue_len == net->queue_cap) {
		net->queue_cap = net->queue_cap ? 2 * net->queue_cap : 1024;
		net->queue = xalloc(net->queue, net->queue_cap, sizeof(*net->queue));
	}
	ev.seq = net->seq++;
	i = net->queue_len++;
	while (i > 0 && before(&ev, &net->queue[(i - 1) / 2])) {
		net->queue[i] = net->queue[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	net->queue[i] = ev;
	if (net->queue_len > net->counters.queue_peak)
		net->counters.queue_peak = net->queue_len;
}

static struct vnet_event pop(struct vnet *net)
{
	struct vnet_event top = net->queue[0], last = net->queue[--net->queue_len];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= net->queue_len)
			break;
		if (c + 1 < net->queue_len && before(&net->queue[c + 1], &net->queue[c]))
			c++;
		if (!before(&net->queue[c], &last))
			break;
		net->queue[i] = net->queue[c];
		i = c;
	}
	if (net->queue_len > 0)
		net->queue[i] = last;
	return top;
}

static uint64_t next_event_at(const struct vnet *net)
{
	return net->queue_len > 0 ? net->queue[0].at : VNET_NEVER;
}

static void *copy_payload(const void *payload, size_t len)
{
	void *p;

	if (len == 0)
		return NULL;
	p = xalloc(NULL, 1, len);
	memcpy(p, payload, len);
	return p;
}

/* ---- creation ------------------------------------------------------------- */

struct vnet *vnet_new(const struct vnet_config *cfg, const struct vnet_hooks *hooks)
{
	struct vnet *net;

	if (cfg->n == 0 || hooks->deliver == NULL || (hooks->deadline != NULL && hooks->tick == NULL)) {
		fprintf(stderr, "vnet: no nodes, no deliver hook, or deadline without tick\n");
		abort();
	}
	net = xcalloc(1, sizeof(*net));
	net->n = cfg->n;
	net->cfg = *cfg;
	net->hooks = *hooks;
	net->now = cfg->start_ns;
	/* apart from the cores' streams, which tests seed from the same seed */
	net->rng = cfg->seed ^ UINT64_C(0x5eed5eed5eed5eed);
	net->up = xcalloc(cfg->n, sizeof(*net->up));
	net->group = xcalloc(cfg->n, sizeof(*net->group));
	net->out_delay = xcalloc(cfg->n, sizeof(*net->out_delay));
	net->stalled_until = xcalloc(cfg->n, sizeof(*net->stalled_until));
	net->armed = xcalloc(cfg->n, sizeof(*net->armed));
	for (uint32_t i = 0; i < cfg->n; i++) {
		net->up[i] = true;
		net->armed[i] = VNET_NEVER;
	}
	return net;
}

void vnet_free(struct vnet *net)
{
	if (net == NULL)
		return;
	while (net->queue_len > 0)
		free(pop(net).payload);
	free(net->queue);
	free(net->up);
	free(net->group);
	free(net->out_delay);
	free(net->stalled_until);
	free(net->armed);
	free(net->cut);
	free(net);
}

/* ---- what the cores emit ----------------------------------------------- */

void vnet_send(struct vnet *net, uint32_t from, uint32_t to, const void *payload, size_t len)
{
	struct vnet_event ev = { .kind = VNET_EV_MSG, .from = from, .to = to };

	check_node(net, from, "send from");
	check_node(net, to, "send to");
	if (from == to) {
		fprintf(stderr, "vnet: node %u sends to itself\n", from);
		abort();
	}
	net->counters.sent++;
	if (net->cfg.loss_ppm > 0 && splitmix64_next(&net->rng) % 1000000 < net->cfg.loss_ppm) {
		net->counters.lost++;
		return;
	}
	ev.at = net->now + net->cfg.latency_ns + net->out_delay[from] +
		(net->cfg.jitter_ns ? splitmix64_next(&net->rng) % net->cfg.jitter_ns : 0);
	ev.payload = copy_payload(payload, len);
	ev.len = len;
	push(net, ev);
}

void vnet_post(struct vnet *net, uint32_t node, uint64_t delay_ns, const void *payload,
	       size_t len)
{
	struct vnet_event ev = { .kind = VNET_EV_POST, .from = node, .to = node };

	check_node(net, node, "post");
	ev.at = net->now + delay_ns;
	ev.payload = copy_payload(payload, len);
	ev.len = len;
	push(net, ev);
}

void vnet_arm(struct vnet *net, uint32_t node, uint64_t at_ns)
{
	check_node(net, node, "arm");
	if (at_ns < net->now)
		at_ns = net->now;
	if (at_ns == net->armed[node] || at_ns == VNET_NEVER)
		return;
	net->armed[node] = at_ns;
	push(net, (struct vnet_event){ .at = at_ns, .kind = VNET_EV_TIMER, .to = node });
}

/* ---- running -------------------------------------------------------------- */

static bool link_ok(const struct vnet *net, uint32_t from, uint32_t to)
{
	return net->group[from] == net->group[to] &&
	       (net->cut == NULL || !net->cut[(size_t)from * net->n + to]);
}

static void run_event(struct vnet *net, struct vnet_event ev)
{
	uint32_t to = ev.to;

	net->counters.events++;
	if (ev.at < net->stalled_until[to] && net->up[to]) {
		if (ev.kind == VNET_EV_TIMER && ev.at != net->armed[to])
			return; /* superseded */
		ev.at = net->stalled_until[to]; /* the paused process sees it later */
		if (ev.kind == VNET_EV_TIMER)
			net->armed[to] = ev.at;
		push(net, ev);
		return;
	}
	switch (ev.kind) {
	case VNET_EV_TIMER:
		if (!net->up[to] || ev.at != net->armed[to])
			return; /* down, or superseded */
		net->armed[to] = VNET_NEVER;
		net->hooks.tick(net, to, net->hooks.ctx);
		return;
	case VNET_EV_POST:
		if (net->up[to])
			net->hooks.deliver(net, to, to, ev.payload, ev.len, net->hooks.ctx);
		break;
	case VNET_EV_MSG:
		if (!net->up[to] || !link_ok(net, ev.from, to) ||
		    (net->hooks.drop != NULL &&
		     net->hooks.drop(net, ev.from, to, ev.payload, ev.len, net->hooks.ctx))) {
			net->counters.lost++;
			break;
		}
		net->counters.delivered++;
		net->hooks.deliver(net, ev.from, to, ev.payload, ev.len, net->hooks.ctx);
		break;
	}
	free(ev.payload);
}

static uint64_t next_polled_deadline(const struct vnet *net)
{
	uint64_t t = VNET_NEVER;

	for (uint32_t i = 0; net->hooks.deadline != NULL && i < net->n; i++) {
		if (!net->up[i])
			continue;
		uint64_t d = net->hooks.deadline(net, i, net->hooks.ctx);
		if (d < t)
			t = d;
	}
	return t;
}

int vnet_run_until(struct vnet *net, uint64_t until_ns)
{
	for (uint64_t steps = 0;; steps++) {
		uint64_t t = until_ns, e = next_event_at(net), d = next_polled_deadline(net);

		if (net->cfg.max_steps > 0 && steps >= net->cfg.max_steps) {
			fprintf(stderr, "vnet: %llu steps before %llu ns, now %llu ns: a deadline "
				"that never moves on?\n", (unsigned long long)steps,
				(unsigned long long)until_ns, (unsigned long long)net->now);
			return -ELOOP;
		}
		if (e < t)
			t = e;
		if (d < t)
			t = d;
		if (t > net->now)
			net->now = t;
		/* everything due now, including what it queues for now */
		while (net->queue_len > 0 && net->queue[0].at <= net->now) {
			struct vnet_event ev = pop(net);
			if (ev.at < net->now) {
				fprintf(stderr, "vnet: event at %llu ns run at %llu ns\n",
					(unsigned long long)ev.at, (unsigned long long)net->now);
				abort();
			}
			run_event(net, ev);
		}
		for (uint32_t i = 0; net->hooks.deadline != NULL && i < net->n; i++)
			if (net->up[i] && net->hooks.deadline(net, i, net->hooks.ctx) <= net->now)
				net->hooks.tick(net, i, net->hooks.ctx);
		if (net->now >= until_ns)
			return 0;
	}
}

/* ---- the network's state -------------------------------------------------- */

void vnet_set_up(struct vnet *net, uint32_t node, bool up)
{
	check_node(net, node, "set_up");
	if (up && !net->up[node])
		net->armed[node] = VNET_NEVER;
	net->up[node] = up;
}

bool vnet_is_up(const struct vnet *net, uint32_t node)
{
	check_node(net, node, "is_up");
	return net->up[node];
}

void vnet_set_group(struct vnet *net, uint32_t node, uint32_t group)
{
	check_node(net, node, "set_group");
	net->group[node] = group;
}

uint32_t vnet_group(const struct vnet *net, uint32_t node)
{
	check_node(net, node, "group");
	return net->group[node];
}

void vnet_cut(struct vnet *net, uint32_t from, uint32_t to, bool cut)
{
	check_node(net, from, "cut from");
	check_node(net, to, "cut to");
	if (net->cut == NULL) {
		if (!cut)
			return;
		net->cut = xcalloc((size_t)net->n * net->n, 1);
	}
	net->cut[(size_t)from * net->n + to] = cut;
}

void vnet_heal(struct vnet *net)
{
	memset(net->group, 0, net->n * sizeof(*net->group));
	free(net->cut);
	net->cut = NULL;
}

void vnet_set_out_delay(struct vnet *net, uint32_t node, uint64_t delay_ns)
{
	check_node(net, node, "set_out_delay");
	net->out_delay[node] = delay_ns;
}

uint64_t vnet_out_delay(const struct vnet *net, uint32_t node)
{
	check_node(net, node, "out_delay");
	return net->out_delay[node];
}

void vnet_set_loss_ppm(struct vnet *net, uint32_t loss_ppm)
{
	net->cfg.loss_ppm = loss_ppm;
}

uint32_t vnet_loss_ppm(const struct vnet *net)
{
	return net->cfg.loss_ppm;
}

void vnet_stall(struct vnet *net, uint32_t node, uint64_t until_ns)
{
	check_node(net, node, "stall");
	net->stalled_until[node] = until_ns;
}

bool vnet_link_ok(const struct vnet *net, uint32_t from, uint32_t to)
{
	check_node(net, from, "link_ok from");
	check_node(net, to, "link_ok to");
	return net->up[to] && link_ok(net, from, to);
}
