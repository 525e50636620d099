/* Tests of the virtual-time network (tests/support/vnet.h) the mesh tests
 * stand on: event order, delays, loss, reachability judged on arrival,
 * posted results, armed and polled timers, stalls, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/units.h"
#include "tests/support/vnet.h"

#define MS NS_PER_MS

/* What the hooks saw, in order. */
struct seen {
	char kind; /* 'd' deliver, 't' tick */
	uint32_t from, to;
	uint64_t at;
	int tag;
};

struct rec {
	struct seen ev[4096];
	size_t n;
	int drop_tag;                 /* drop hook refuses this tag; -1 none */
	uint64_t deadline[4];         /* polled timers */
	uint64_t deadline_after_tick; /* what a tick sets the deadline to */
};

static void hook_deliver(struct vnet *net, uint32_t from, uint32_t to, const void *payload,
			 size_t len, void *ctx)
{
	struct rec *r = ctx;
	int tag;

	assert_int_equal(len, sizeof(tag));
	memcpy(&tag, payload, sizeof(tag));
	assert_true(r->n < 4096);
	r->ev[r->n++] = (struct seen){ 'd', from, to, net->now, tag };
}

static void hook_tick(struct vnet *net, uint32_t node, void *ctx)
{
	struct rec *r = ctx;

	assert_true(r->n < 4096);
	r->ev[r->n++] = (struct seen){ 't', node, node, net->now, -1 };
	if (node < 4)
		r->deadline[node] = r->deadline_after_tick;
}

static uint64_t hook_deadline(const struct vnet *net, uint32_t node, void *ctx)
{
	struct rec *r = ctx;

	(void)net;
	return node < 4 ? r->deadline[node] : VNET_NEVER;
}

static bool hook_drop(const struct vnet *net, uint32_t from, uint32_t to, const void *payload,
		      size_t len, void *ctx)
{
	struct rec *r = ctx;
	int tag;

	(void)net;
	(void)from;
	(void)to;
	(void)len;
	memcpy(&tag, payload, sizeof(tag));
	return tag == r->drop_tag;
}

static struct vnet *make(struct rec *r, uint32_t n, uint64_t latency, uint64_t jitter,
			 uint32_t loss_ppm, uint64_t seed, bool polled)
{
	struct vnet_config nc = { .n = n, .start_ns = 1000, .latency_ns = latency,
				  .jitter_ns = jitter, .loss_ppm = loss_ppm, .seed = seed,
				  .max_steps = 1000 };
	struct vnet_hooks h = { .ctx = r, .deliver = hook_deliver, .tick = hook_tick,
				.drop = hook_drop, .deadline = polled ? hook_deadline : NULL };

	memset(r, 0, sizeof(*r));
	r->drop_tag = -1;
	for (int i = 0; i < 4; i++)
		r->deadline[i] = VNET_NEVER;
	r->deadline_after_tick = VNET_NEVER;
	return vnet_new(&nc, &h);
}

static void send_tag(struct vnet *net, uint32_t from, uint32_t to, int tag)
{
	vnet_send(net, from, to, &tag, sizeof(tag));
}

static void post_tag(struct vnet *net, uint32_t node, uint64_t delay, int tag)
{
	vnet_post(net, node, delay, &tag, sizeof(tag));
}

/* By time, then in the order queued; run_until ends at `until`. */
static void test_order(void **state)
{
	struct rec r;
	struct vnet *net = make(&r, 3, 5 * MS, 0, 0, 1, false);

	(void)state;
	assert_int_equal(net->now, 1000);
	send_tag(net, 0, 1, 1);          /* at +5 ms */
	post_tag(net, 2, 1 * MS, 2);     /* at +1 ms */
	send_tag(net, 2, 1, 3);          /* at +5 ms, after tag 1 */
	post_tag(net, 1, 5 * MS, 4);     /* at +5 ms, after tag 3 */
	vnet_set_out_delay(net, 0, 1 * MS);
	send_tag(net, 0, 2, 5);          /* at +6 ms */
	assert_int_equal(vnet_run_until(net, 1000 + 5 * MS - 1), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(net->now, 1000 + 5 * MS - 1);
	assert_int_equal(vnet_run_until(net, 1000 + 20 * MS), 0);
	assert_int_equal(net->now, 1000 + 20 * MS);
	static const int tags[] = { 2, 1, 3, 4, 5 };
	static const uint64_t at[] = { 1 * MS, 5 * MS, 5 * MS, 5 * MS, 6 * MS };
	assert_int_equal(r.n, 5);
	for (size_t k = 0; k < 5; k++) {
		assert_int_equal(r.ev[k].tag, tags[k]);
		assert_int_equal(r.ev[k].at, 1000 + at[k]);
	}
	assert_int_equal(r.ev[0].from, 2); /* a posted result comes "from" its node */
	assert_int_equal(r.ev[0].to, 2);
	assert_int_equal(r.ev[1].from, 0);
	assert_int_equal(r.ev[1].to, 1);
	/* time never goes back */
	assert_int_equal(vnet_run_until(net, 5), 0);
	assert_int_equal(net->now, 1000 + 20 * MS);
	assert_int_equal(net->counters.sent, 3);
	assert_int_equal(net->counters.delivered, 3);
	assert_int_equal(net->counters.lost, 0);
	vnet_free(net);
}

/* Jitter within [0, jitter), loss near its rate; the same seed gives the
 * same fates, another seed other ones. */
static uint64_t fates(uint64_t seed, uint64_t *lost, uint64_t *min_d, uint64_t *max_d)
{
	struct rec r;
	struct vnet *net = make(&r, 2, 1 * MS, 1 * MS, 100000, seed, false);
	uint64_t digest = FNV1A64_OFFSET; /* FNV-1a's step over 64-bit words */

	*min_d = UINT64_MAX;
	*max_d = 0;
	for (int k = 0; k < 4000; k++) {
		size_t before = r.n;
		uint64_t t0 = net->now;
		send_tag(net, 0, 1, k);
		assert_int_equal(vnet_run_until(net, net->now + 3 * MS), 0);
		if (r.n > before) {
			uint64_t d = r.ev[before].at - t0;
			*min_d = d < *min_d ? d : *min_d;
			*max_d = d > *max_d ? d : *max_d;
			digest = (digest ^ d) * FNV1A64_PRIME;
		} else {
			digest = (digest ^ UINT64_MAX) * FNV1A64_PRIME;
		}
		r.n = 0;
	}
	*lost = net->counters.lost;
	assert_int_equal(net->counters.sent, 4000);
	assert_int_equal(net->counters.delivered + net->counters.lost, 4000);
	vnet_free(net);
	return digest;
}

static void test_delay_loss_seed(void **state)
{
	uint64_t lost, lo, hi, lost2, lo2, hi2;
	uint64_t a, b, c;

	(void)state;
	a = fates(7, &lost, &lo, &hi);
	b = fates(7, &lost2, &lo2, &hi2);
	assert_true(a == b);
	assert_int_equal(lost, lost2);
	assert_true(lost > 300 && lost < 500); /* 10 % of 4000, +- 5 sigma */
	assert_true(lo >= 1 * MS && hi < 2 * MS);
	assert_true(hi - lo > MS / 2); /* the jitter spreads */
	c = fates(8, &lost2, &lo2, &hi2);
	assert_true(a != c);
}

/* Reachability is judged on arrival: a partition or a cut made while a
 * message flies catches it; a down receiver gets nothing; a down sender's
 * messages in flight still arrive; posted results ignore the network;
 * the drop hook refuses what the network would deliver. */
static void test_reachability(void **state)
{
	struct rec r;
	struct vnet *net = make(&r, 3, 5 * MS, 0, 0, 1, false);

	(void)state;
	send_tag(net, 0, 1, 1);
	vnet_set_group(net, 1, 1);
	assert_false(vnet_link_ok(net, 0, 1));
	post_tag(net, 1, 1 * MS, 2); /* a result crosses no network */
	assert_int_equal(vnet_run_until(net, net->now + 10 * MS), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].tag, 2);
	assert_int_equal(net->counters.lost, 1);
	vnet_heal(net);
	assert_int_equal(vnet_group(net, 1), 0);
	/* one-way cut */
	vnet_cut(net, 0, 1, true);
	send_tag(net, 0, 1, 3);
	send_tag(net, 1, 0, 4);
	assert_int_equal(vnet_run_until(net, net->now + 10 * MS), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].tag, 4);
	vnet_cut(net, 0, 1, false);
	assert_true(vnet_link_ok(net, 0, 1));
	/* down receiver; down sender */
	send_tag(net, 0, 2, 5);
	send_tag(net, 2, 1, 6);
	vnet_set_up(net, 2, false);
	post_tag(net, 2, 1 * MS, 7);
	assert_int_equal(vnet_run_until(net, net->now + 10 * MS), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ev[2].tag, 6);
	assert_false(vnet_is_up(net, 2));
	/* the test's own drop rule */
	r.drop_tag = 8;
	send_tag(net, 0, 1, 8);
	send_tag(net, 0, 1, 9);
	assert_int_equal(vnet_run_until(net, net->now + 10 * MS), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ev[3].tag, 9);
	assert_int_equal(net->counters.sent, 7);
	assert_int_equal(net->counters.lost, 4);
	assert_int_equal(net->counters.delivered, 3); /* posted results not counted */
	vnet_free(net);
}

/* Armed timers: a new arm supersedes, a past deadline fires now, a down
 * node's timer never fires and a revived node has none. */
static void test_armed_timers(void **state)
{
	struct rec r;
	struct vnet *net = make(&r, 2, 5 * MS, 0, 0, 1, false);
	uint64_t t0 = net->now;

	(void)state;
	vnet_arm(net, 0, t0 + 10 * MS);
	vnet_arm(net, 0, t0 + 3 * MS); /* supersedes */
	vnet_arm(net, 1, VNET_NEVER);  /* nothing */
	assert_int_equal(vnet_run_until(net, t0 + 20 * MS), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].kind, 't');
	assert_int_equal(r.ev[0].at, t0 + 3 * MS);
	vnet_arm(net, 1, 0); /* in the past: now */
	assert_int_equal(vnet_run_until(net, net->now), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].at, t0 + 20 * MS);
	vnet_arm(net, 0, net->now + 1 * MS);
	vnet_set_up(net, 0, false);
	assert_int_equal(vnet_run_until(net, net->now + 5 * MS), 0);
	assert_int_equal(r.n, 2);
	vnet_arm(net, 0, net->now + 1 * MS);
	vnet_set_up(net, 0, true); /* restarted: the old timer is gone */
	assert_int_equal(vnet_run_until(net, net->now + 5 * MS), 0);
	assert_int_equal(r.n, 2);
	vnet_free(net);
}

/* A stalled node sees what was due meanwhile when the stall ends, in the
 * original order; its timer waits too; others are not held up. */
static void test_stall(void **state)
{
	struct rec r;
	struct vnet *net = make(&r, 3, 1 * MS, 0, 0, 1, false);
	uint64_t t0 = net->now;

	(void)state;
	vnet_stall(net, 1, t0 + 10 * MS);
	send_tag(net, 0, 1, 1);
	vnet_arm(net, 1, t0 + 2 * MS);
	send_tag(net, 2, 1, 2);
	send_tag(net, 1, 2, 3); /* a stalled node's earlier sends still go */
	assert_int_equal(vnet_run_until(net, t0 + 20 * MS), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ev[0].tag, 3);
	assert_int_equal(r.ev[0].at, t0 + 1 * MS);
	assert_int_equal(r.ev[1].tag, 1);
	assert_int_equal(r.ev[2].tag, 2);
	assert_int_equal(r.ev[3].kind, 't');
	for (int k = 1; k < 4; k++)
		assert_int_equal(r.ev[k].at, t0 + 10 * MS);
	vnet_free(net);
}

/* Polled timers: at an instant, the due messages first, then the due
 * nodes' ticks in node order; down nodes are not asked; a deadline that
 * never moves on ends the run with -ELOOP. */
static void test_polled(void **state)
{
	struct rec r;
	struct vnet *net = make(&r, 4, 5 * MS, 0, 0, 1, true);
	uint64_t t0 = net->now;

	(void)state;
	r.deadline[3] = t0 + 5 * MS;
	r.deadline[1] = t0 + 5 * MS;
	r.deadline[2] = t0 + 4 * MS;
	send_tag(net, 0, 3, 1); /* at +5 ms */
	vnet_set_up(net, 2, false);
	assert_int_equal(vnet_run_until(net, t0 + 10 * MS), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ev[0].kind, 'd');
	assert_int_equal(r.ev[1].kind, 't');
	assert_int_equal(r.ev[1].from, 1);
	assert_int_equal(r.ev[2].kind, 't');
	assert_int_equal(r.ev[2].from, 3);
	for (int k = 0; k < 3; k++)
		assert_int_equal(r.ev[k].at, t0 + 5 * MS);
	/* a core that stays due: the loop gives up */
	r.deadline[0] = net->now;
	r.deadline_after_tick = net->now;
	assert_int_equal(vnet_run_until(net, net->now + 1 * MS), -ELOOP);
	vnet_free(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_delay_loss_seed),
		cmocka_unit_test(test_reachability),
		cmocka_unit_test(test_armed_timers),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_polled),
	};

	return cmocka_run_group_tests_name("vnet", tests, NULL, NULL);
}
