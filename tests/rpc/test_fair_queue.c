/* rpc/fair_queue: per-sender caps, the urgent reserve, round robin with
 * urgent items first, and drops counted per sender. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rpc/fair_queue.h"

static struct fair_queue *make(void)
{
	struct fair_queue_config c = { .n_senders = 3, .slots = 8, .reserve = 2,
				       .per_sender_urgent = 2, .per_sender_bulk = 4,
				       .item_size = sizeof(uint32_t) };
	struct fair_queue *q = fair_queue_new(&c);

	assert_non_null(q);
	return q;
}

static void push(struct fair_queue *q, uint32_t sender, bool urgent, uint32_t v, int want)
{
	assert_int_equal(fair_queue_push(q, sender, urgent, &v, sizeof(v)), want);
}

static uint32_t pop(struct fair_queue *q, uint32_t *sender)
{
	uint32_t v = 0;

	assert_true(fair_queue_pop(q, &v, sender));
	return v;
}

static void test_flooder_holds_its_caps_only(void **state)
{
	struct fair_queue *q = make();
	uint32_t s;

	(void)state;
	/* sender 0 floods bulk: 4 taken, the rest dropped and counted */
	for (uint32_t i = 0; i < 10; i++)
		push(q, 0, false, 100 + i, i < 4 ? 0 : -ENOBUFS);
	/* and urgent: 2 taken */
	for (uint32_t i = 0; i < 5; i++)
		push(q, 0, true, 200 + i, i < 2 ? 0 : -ENOBUFS);
	assert_int_equal(fair_queue_dropped(q, 0), 9);
	/* 6 of 8 used: bulk may not take the reserve, urgent may */
	push(q, 1, false, 300, -ENOBUFS);
	push(q, 1, true, 301, 0);
	push(q, 2, true, 302, 0);
	assert_int_equal(fair_queue_len(q), 8);
	push(q, 2, true, 303, -ENOBUFS); /* pool full */
	/* urgent first, senders in turn: 0, 1, 2, then 0 again */
	assert_int_equal(pop(q, &s), 200);
	assert_int_equal(s, 0);
	assert_int_equal(pop(q, &s), 301);
	assert_int_equal(s, 1);
	assert_int_equal(pop(q, &s), 302);
	assert_int_equal(pop(q, &s), 201);
	/* then bulk in order */
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(pop(q, &s), 100 + i);
	assert_false(fair_queue_pop(q, &s, NULL));
	assert_int_equal(fair_queue_len(q), 0);
	fair_queue_free(q);
}

static void test_round_robin_bulk(void **state)
{
	struct fair_queue *q = make();
	uint32_t s, order[6];

	(void)state;
	push(q, 0, false, 1, 0);
	push(q, 0, false, 2, 0);
	push(q, 0, false, 3, 0);
	push(q, 2, false, 7, 0);
	push(q, 1, false, 5, 0);
	push(q, 1, false, 6, 0);
	for (int i = 0; i < 6; i++)
		order[i] = pop(q, &s);
	/* one each, in the order the senders first queued */
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 7);
	assert_int_equal(order[2], 5);
	assert_int_equal(order[3], 2);
	assert_int_equal(order[4], 6);
	assert_int_equal(order[5], 3);
	assert_int_equal(fair_queue_push(q, 3, false, &s, sizeof(s)), -EINVAL);
	fair_queue_free(q);
}

static void test_bad_config(void **state)
{
	struct fair_queue_config c = { .n_senders = 1, .slots = 4, .reserve = 4,
				       .per_sender_urgent = 1, .per_sender_bulk = 1,
				       .item_size = 8 };

	(void)state;
	assert_null(fair_queue_new(&c)); /* reserve must leave bulk a slot */
	assert_int_equal(errno, EINVAL);
	c.reserve = 3;
	struct fair_queue *q = fair_queue_new(&c);
	assert_non_null(q);
	fair_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flooder_holds_its_caps_only),
		cmocka_unit_test(test_round_robin_bulk),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
