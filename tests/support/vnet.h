/* Test support: a virtual-time network for tests that run several sans-I/O
 * cores in one process (the mesh's membership and agreement cores, their
 * composition). The test owns the cores; vnet owns time, the events in
 * flight and the network between nodes 0..n-1, and calls the test's hooks
 * when something reaches a node. Deterministic: the same seed and the same
 * calls give the same run, so a failure replays.
 *
 * Clock    net->now, virtual ns. It moves only inside vnet_run_until.
 * Events   one queue ordered by (time, insertion order): messages between
 *          nodes (vnet_send), results coming back to one node (vnet_post:
 *          a fence or an HTTP answer) and armed timers (vnet_arm). Events
 *          due at the same nanosecond run in the order they were queued.
 * Links    a message's delay is latency + the sender's out_delay + a
 *          uniform jitter in [0, jitter); it is lost with probability
 *          loss_ppm / 10^6, drawn when it is sent. Whether it gets through
 *          is judged when it arrives (a cut also catches messages in
 *          flight): the receiver is up, sender and receiver are in the same
 *          group (partitions), the one-way link from -> to is not cut, and
 *          the test's drop hook does not refuse it.
 * Nodes    up or down (a down node gets nothing, its timers do not fire);
 *          stalled until t (vnet_stall: a paused process: everything due
 *          for it waits until t, then arrives in the original order).
 * Random   splitmix64 from base/rng.h on the network's own state, seeded
 *          from cfg.seed: one draw for loss (only while loss_ppm > 0), one
 *          for jitter (only while jitter > 0) per message sent. The cores'
 *          own generators are apart (the test seeds them).
 *
 * Plugging cores in (struct vnet_hooks):
 *   deliver  a message or a posted result reaches `to` (for a result,
 *            from == to): hand it to the core, then drain the core's
 *            outputs into vnet_send / vnet_post.
 *   tick     the node's timer is due: call its core's tick, drain.
 * Timers, one of two styles per network:
 *   armed    after every call into a core, vnet_arm(net, node, the core's
 *            next deadline): the deadline becomes an event in the queue; a
 *            new arm supersedes the previous one (which then does nothing).
 *   polled   hooks.deadline: before each step the loop asks every up node
 *            for its next deadline; at each instant first the due events
 *            run, then tick for each due node in node order.
 *
 * A minimal use (armed timers):
 *   struct vnet_config nc = { .n = 3, .latency_ns = NS_PER_MS, .seed = 7 };
 *   struct vnet_hooks hooks = { .deliver = on_msg, .tick = on_tick, .ctx = t };
 *   struct vnet *net = vnet_new(&nc, &hooks);
 *   ... start the cores, vnet_send their first messages, vnet_arm ...
 *   assert_int_equal(vnet_run_until(net, net->now + 5 * NS_PER_S), 0);
 *   vnet_free(net);
 *
 * Not thread-safe (one test thread). Out of memory aborts with a message. */
#ifndef MIMAMORI_TESTS_SUPPORT_VNET_H
#define MIMAMORI_TESTS_SUPPORT_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_NEVER UINT64_MAX

struct vnet;

struct vnet_hooks {
	void *ctx; /* passed to every hook */
	/* Required. payload: len bytes copied at send, valid during the call. */
	void (*deliver)(struct vnet *net, uint32_t from, uint32_t to, const void *payload,
			size_t len, void *ctx);
	/* Required with armed or polled timers. */
	void (*tick)(struct vnet *net, uint32_t node, void *ctx);
	/* Optional: polled timers (see above); VNET_NEVER for none. */
	uint64_t (*deadline)(const struct vnet *net, uint32_t node, void *ctx);
	/* Optional: true drops a message that the network would deliver
	 * (loss by message type, a one-off rule of the test). Not asked for
	 * posted results. */
	bool (*drop)(const struct vnet *net, uint32_t from, uint32_t to, const void *payload,
		     size_t len, void *ctx);
};

struct vnet_config {
	uint32_t n;          /* nodes 0..n-1, > 0 */
	uint64_t start_ns;   /* net->now at creation */
	uint64_t latency_ns; /* base one-way delay */
	uint64_t jitter_ns;  /* + uniform [0, jitter) per message; 0: none */
	uint32_t loss_ppm;   /* per message, parts per million */
	uint64_t seed;       /* the network's randomness */
	/* vnet_run_until fails with -ELOOP after this many steps in one call
	 * (a core whose deadline never moves on); 0: no limit. */
	uint64_t max_steps;
};

struct vnet_counters {
	uint64_t sent;      /* vnet_send calls */
	uint64_t lost;      /* lost at send or refused at arrival */
	uint64_t delivered; /* passed to deliver (posted results not counted) */
	uint64_t events;    /* events run, of every kind */
	size_t queue_peak;
};

/* The state, readable by tests (net->now, net->counters, ...); change it
 * only through the functions below. */
struct vnet {
	uint32_t n;
	uint64_t now;
	struct vnet_config cfg;
	struct vnet_hooks hooks;
	uint64_t rng; /* splitmix64 state */
	struct vnet_counters counters;
	bool *up;
	uint32_t *group;
	uint64_t *out_delay;
	uint64_t *stalled_until;
	uint64_t *armed;    /* the live timer's deadline per node, VNET_NEVER */
	uint8_t *cut;       /* n * n, [from * n + to]; allocated by the first cut */
	struct vnet_event *queue; /* binary min-heap */
	size_t queue_len, queue_cap;
	uint64_t seq;
};

/* Every node up, in group 0, no cuts, no delays beyond the config. */
struct vnet *vnet_new(const struct vnet_config *cfg, const struct vnet_hooks *hooks);
/* Frees the events still queued too. */
void vnet_free(struct vnet *net);

/* A message from -> to (from != to) through the network. */
void vnet_send(struct vnet *net, uint32_t from, uint32_t to, const void *payload, size_t len);
/* A result for `node` delay_ns from now, outside the network (no loss,
 * no cut; lost only if the node is down when it is due). */
void vnet_post(struct vnet *net, uint32_t node, uint64_t delay_ns, const void *payload,
	       size_t len);
/* Armed timers: `node`'s next deadline (a past one fires now). VNET_NEVER
 * or the deadline already armed changes nothing. */
void vnet_arm(struct vnet *net, uint32_t node, uint64_t at_ns);

/* Runs every event and timer due up to until_ns, then net->now = until_ns
 * (it never goes back). 0, or -ELOOP (cfg.max_steps exceeded). */
int vnet_run_until(struct vnet *net, uint64_t until_ns);

/* Down: receives nothing, its timers do not fire. Up again: its armed
 * timer is forgotten (a restarted process has none): arm it afresh. */
void vnet_set_up(struct vnet *net, uint32_t node, bool up);
bool vnet_is_up(const struct vnet *net, uint32_t node);
/* Partitions: messages cross only between nodes of one group. */
void vnet_set_group(struct vnet *net, uint32_t node, uint32_t group);
uint32_t vnet_group(const struct vnet *net, uint32_t node);
/* One-way cut from -> to (to -> from still works unless cut too). */
void vnet_cut(struct vnet *net, uint32_t from, uint32_t to, bool cut);
/* One group again, no cuts (stalls and delays stay). */
void vnet_heal(struct vnet *net);
/* Added to every message the node sends (a node that cannot keep up). */
void vnet_set_out_delay(struct vnet *net, uint32_t node, uint64_t delay_ns);
uint64_t vnet_out_delay(const struct vnet *net, uint32_t node);
void vnet_set_loss_ppm(struct vnet *net, uint32_t loss_ppm);
uint32_t vnet_loss_ppm(const struct vnet *net);
/* The node's events and timers due before until_ns wait until then. */
void vnet_stall(struct vnet *net, uint32_t node, uint64_t until_ns);
/* Would a message from -> to arriving now get through (receiver up, same
 * group, no cut; loss and the drop hook aside)? */
bool vnet_link_ok(const struct vnet *net, uint32_t from, uint32_t to);

#endif
