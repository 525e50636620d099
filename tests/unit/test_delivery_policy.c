/* Delivery policy: how each Masakari answer is classified, backoff growth,
 * cap and jitter bounds, and expiry by age (never by attempt count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/delivery_policy.h"

#define MS INT64_C(1000000)
#define S INT64_C(1000000000)
#define H (3600 * S)
#define NOW (INT64_C(1795726545) * S)

static struct delivery_policy_config defaults(void)
{
	struct delivery_policy_config cfg;
	delivery_policy_defaults(&cfg);
	return cfg;
}

static struct delivery_action http(long status, uint32_t attempts)
{
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome o = { .kind = ATTEMPT_HTTP, .http_status = status };
	return delivery_policy_decide(&cfg, &o, attempts, NOW - 1 * S, NOW, 0.5);
}

static void test_defaults(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	assert_int_equal(cfg.initial_backoff_ns, 200 * MS);
	assert_int_equal(cfg.max_backoff_ns, 30 * S);
	assert_int_equal(cfg.max_age_ns, 24 * H);
}

static void test_classification_table(void **state)
{
	(void)state;
	static const struct {
		long status;
		uint32_t attempts;
		enum delivery_action_kind want;
	} table[] = {
		{ 200, 1, DELIVERY_DONE },
		{ 201, 1, DELIVERY_DONE },
		{ 202, 1, DELIVERY_DONE },
		{ 204, 7, DELIVERY_DONE },
		{ 409, 1, DELIVERY_PERMANENT_FAIL }, /* a 409 not read as a duplicate */
		{ 409, 50, DELIVERY_PERMANENT_FAIL },
		{ 401, 1, DELIVERY_REAUTH_RETRY },
		{ 401, DELIVERY_REAUTH_IMMEDIATE_MAX, DELIVERY_REAUTH_RETRY },
		{ 401, DELIVERY_REAUTH_IMMEDIATE_MAX + 1, DELIVERY_RETRY },
		{ 401, 40, DELIVERY_RETRY },
		{ 400, 1, DELIVERY_PERMANENT_FAIL },
		{ 403, 1, DELIVERY_PERMANENT_FAIL },
		{ 404, 1, DELIVERY_PERMANENT_FAIL },
		{ 405, 1, DELIVERY_PERMANENT_FAIL },
		{ 413, 1, DELIVERY_PERMANENT_FAIL },
		{ 415, 1, DELIVERY_PERMANENT_FAIL },
		{ 422, 1, DELIVERY_PERMANENT_FAIL },
		{ 499, 1, DELIVERY_PERMANENT_FAIL },
		{ 408, 1, DELIVERY_RETRY },
		{ 429, 1, DELIVERY_RETRY },
		{ 500, 1, DELIVERY_RETRY },
		{ 502, 3, DELIVERY_RETRY },
		{ 503, 1, DELIVERY_RETRY },
		{ 504, 1, DELIVERY_RETRY },
		{ 599, 1, DELIVERY_RETRY },
		{ 100, 1, DELIVERY_RETRY },  /* nonsense: keep trying, do not drop */
		{ 301, 1, DELIVERY_RETRY },  /* redirects are not followed */
		{ 0, 1, DELIVERY_RETRY },
		{ -1, 1, DELIVERY_RETRY },
		{ 600, 1, DELIVERY_RETRY },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct delivery_action a = http(table[i].status, table[i].attempts);
		if (a.kind != table[i].want)
			fail_msg("HTTP %ld attempt %u: got %d want %d", table[i].status,
				 table[i].attempts, a.kind, table[i].want);
		assert_non_null(a.reason);
		assert_true(a.reason[0] != '\0');
		if (a.kind == DELIVERY_RETRY)
			assert_true(a.retry_at_ns > NOW);
		if (a.kind == DELIVERY_REAUTH_RETRY)
			assert_int_equal(a.retry_at_ns, NOW); /* at once */
	}
}

static struct delivery_action conflict(enum masakari_conflict c, uint32_t attempts, int64_t age)
{
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome o = { .kind = ATTEMPT_HTTP, .http_status = 409, .conflict = c };
	return delivery_policy_decide(&cfg, &o, attempts, NOW - age, NOW, 0.5);
}

/* Issue 10, item 8: Masakari's 409 "ignored as the host is already under
 * maintenance" stored nothing and recovers nothing: never DONE. Only its
 * duplicate 409 is; a 409 we cannot read is not proof either. */
static void test_409_only_a_duplicate_is_delivered(void **state)
{
	(void)state;
	assert_int_equal(conflict(MASAKARI_CONFLICT_DUPLICATE, 1, S).kind, DELIVERY_DONE);
	assert_int_equal(conflict(MASAKARI_CONFLICT_DUPLICATE, 9, 25 * H).kind, DELIVERY_DONE);
	struct delivery_action m = conflict(MASAKARI_CONFLICT_HOST_ON_MAINTENANCE, 1, S);
	assert_int_equal(m.kind, DELIVERY_PERMANENT_FAIL);
	assert_non_null(strstr(m.reason, "maintenance"));
	/* old or not: final, never EXPIRED */
	assert_int_equal(conflict(MASAKARI_CONFLICT_HOST_ON_MAINTENANCE, 3, 25 * H).kind,
			 DELIVERY_PERMANENT_FAIL);
	struct delivery_action u = conflict(MASAKARI_CONFLICT_UNRECOGNISED, 1, S);
	assert_int_equal(u.kind, DELIVERY_PERMANENT_FAIL);
	assert_non_null(strstr(u.reason, "409"));
	/* the field only matters for a 409 */
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome o = { .kind = ATTEMPT_HTTP, .http_status = 202,
				     .conflict = MASAKARI_CONFLICT_HOST_ON_MAINTENANCE };
	assert_int_equal(delivery_policy_decide(&cfg, &o, 1, NOW, NOW, 0.5).kind, DELIVERY_DONE);
}

static void test_reasons_name_the_cause(void **state)
{
	(void)state;
	assert_non_null(strstr(conflict(MASAKARI_CONFLICT_HOST_ON_MAINTENANCE, 1, S).reason,
			       "maintenance"));
	assert_non_null(strstr(conflict(MASAKARI_CONFLICT_DUPLICATE, 1, S).reason, "duplicate"));
	assert_non_null(strstr(http(400, 1).reason, "400"));
	assert_non_null(strstr(http(403, 1).reason, "403"));
	assert_non_null(strstr(http(401, 1).reason, "401"));
}

static void test_transport_and_no_endpoint(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome t = { .kind = ATTEMPT_TRANSPORT };
	struct attempt_outcome n = { .kind = ATTEMPT_NO_ENDPOINT };
	struct delivery_action a = delivery_policy_decide(&cfg, &t, 1, NOW, NOW, 0.0);
	assert_int_equal(a.kind, DELIVERY_RETRY);
	assert_int_equal(a.retry_at_ns, NOW + 100 * MS);
	a = delivery_policy_decide(&cfg, &n, 2, NOW, NOW, 0.0);
	assert_int_equal(a.kind, DELIVERY_RETRY);
	assert_int_equal(a.retry_at_ns, NOW + 200 * MS);
	/* An unknown outcome kind must not lose the notification. */
	struct attempt_outcome u = { .kind = (enum attempt_outcome_kind)99 };
	assert_int_equal(delivery_policy_decide(&cfg, &u, 1, NOW, NOW, 0.0).kind, DELIVERY_RETRY);
}

static int64_t expected_base(uint32_t attempts)
{
	int64_t d = 200 * MS;
	for (uint32_t i = 1; i < attempts && d < 30 * S; i++)
		d *= 2;
	return d < 30 * S ? d : 30 * S;
}

static void test_backoff_growth_and_cap(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	/* jitter 0 gives the floor (half), jitter ~1 the full delay. */
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 1, 0.0), 100 * MS);
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 2, 0.0), 200 * MS);
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 3, 0.0), 400 * MS);
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 8, 0.0), 12800 * MS);
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 9, 0.0), 15 * S); /* 51.2 s capped */
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 1000, 0.0), 15 * S);
	assert_int_equal(delivery_policy_backoff_ns(&cfg, UINT32_MAX, 0.0), 15 * S);
	/* attempts 0 is treated like the first attempt */
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 0, 0.0), 100 * MS);

	int64_t prev = 0;
	for (uint32_t a = 1; a <= 64; a++) {
		int64_t d = delivery_policy_backoff_ns(&cfg, a, 0.999999);
		assert_true(d >= prev); /* grows, never shrinks */
		assert_true(d <= 30 * S);
		assert_true(d > expected_base(a) - expected_base(a) / 1000);
		prev = d;
	}
}

static void test_jitter_bounds(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	for (uint32_t a = 1; a <= 20; a++) {
		int64_t base = expected_base(a);
		for (int k = 0; k <= 1000; k++) {
			double j = k / 1000.0;
			int64_t d = delivery_policy_backoff_ns(&cfg, a, j);
			assert_true(d >= base / 2);
			assert_true(d <= base);
		}
		/* out-of-range jitter is clamped, never outside the bounds */
		const double bad[] = { -1.0, -0.0, 1.0, 2.5, 1e300, -1e300, NAN, INFINITY };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int64_t d = delivery_policy_backoff_ns(&cfg, a, bad[i]);
			assert_true(d >= base / 2 && d <= base);
		}
	}
	/* Different jitter values really spread the retries. */
	assert_true(delivery_policy_backoff_ns(&cfg, 5, 0.1) <
		    delivery_policy_backoff_ns(&cfg, 5, 0.9));
}

static void test_custom_and_bad_config(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = { .initial_backoff_ns = 1 * S,
					      .max_backoff_ns = 10 * S,
					      .max_age_ns = 1 * H };
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 1, 0.0), 500 * MS);
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 4, 0.0), 4 * S);
	assert_int_equal(delivery_policy_backoff_ns(&cfg, 5, 0.0), 5 * S);
	/* Nonsense config never yields a zero or negative delay. */
	struct delivery_policy_config bad = { .initial_backoff_ns = 0, .max_backoff_ns = -5,
					      .max_age_ns = 0 };
	for (uint32_t a = 1; a < 100; a++)
		assert_true(delivery_policy_backoff_ns(&bad, a, 0.0) > 0);
	struct delivery_policy_config huge = { .initial_backoff_ns = INT64_MAX / 2,
					       .max_backoff_ns = INT64_MAX,
					       .max_age_ns = 0 };
	assert_true(delivery_policy_backoff_ns(&huge, 100, 0.999) > 0);
	/* retry_at saturates instead of wrapping */
	struct attempt_outcome t = { .kind = ATTEMPT_TRANSPORT };
	struct delivery_action a =
		delivery_policy_decide(&huge, &t, 100, INT64_MAX - 10, INT64_MAX - 10, 0.999);
	assert_int_equal(a.kind, DELIVERY_RETRY);
	assert_int_equal(a.retry_at_ns, INT64_MAX);
}

static void test_expiry_by_age_not_count(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome t = { .kind = ATTEMPT_TRANSPORT };
	struct attempt_outcome s503 = { .kind = ATTEMPT_HTTP, .http_status = 503 };
	struct attempt_outcome s401 = { .kind = ATTEMPT_HTTP, .http_status = 401 };
	struct attempt_outcome s409 = { .kind = ATTEMPT_HTTP, .http_status = 409,
					.conflict = MASAKARI_CONFLICT_DUPLICATE };
	struct attempt_outcome s400 = { .kind = ATTEMPT_HTTP, .http_status = 400 };
	struct attempt_outcome s202 = { .kind = ATTEMPT_HTTP, .http_status = 202 };

	/* Thousands of attempts but young: keep retrying. */
	assert_int_equal(delivery_policy_decide(&cfg, &t, 100000, NOW - 1 * H, NOW, 0.3).kind,
			 DELIVERY_RETRY);
	/* Exactly max_age old is still young; one ns more is expired. */
	assert_int_equal(delivery_policy_decide(&cfg, &t, 1, NOW - 24 * H, NOW, 0.3).kind,
			 DELIVERY_RETRY);
	struct delivery_action a = delivery_policy_decide(&cfg, &t, 1, NOW - 24 * H - 1, NOW, 0.3);
	assert_int_equal(a.kind, DELIVERY_EXPIRED);
	assert_non_null(a.reason);
	assert_int_equal(delivery_policy_decide(&cfg, &s503, 2, NOW - 25 * H, NOW, 0.3).kind,
			 DELIVERY_EXPIRED);
	assert_int_equal(delivery_policy_decide(&cfg, &s401, 1, NOW - 25 * H, NOW, 0.3).kind,
			 DELIVERY_EXPIRED);
	/* A final answer stays final even when old. */
	assert_int_equal(delivery_policy_decide(&cfg, &s409, 1, NOW - 25 * H, NOW, 0.3).kind,
			 DELIVERY_DONE);
	assert_int_equal(delivery_policy_decide(&cfg, &s202, 1, NOW - 25 * H, NOW, 0.3).kind,
			 DELIVERY_DONE);
	assert_int_equal(delivery_policy_decide(&cfg, &s400, 1, NOW - 25 * H, NOW, 0.3).kind,
			 DELIVERY_PERMANENT_FAIL);
	/* The clock stepped back: not expired. */
	assert_int_equal(delivery_policy_decide(&cfg, &t, 1, NOW + 48 * H, NOW, 0.3).kind,
			 DELIVERY_RETRY);
	/* A corrupt created time far in the past cannot overflow into "young". */
	assert_int_equal(delivery_policy_decide(&cfg, &t, 1, INT64_MIN, INT64_MAX - 1, 0.3).kind,
			 DELIVERY_EXPIRED);
	/* max_age <= 0: never expires. */
	cfg.max_age_ns = 0;
	assert_int_equal(delivery_policy_decide(&cfg, &t, 1, NOW - 1000 * H, NOW, 0.3).kind,
			 DELIVERY_RETRY);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome o = { .kind = ATTEMPT_HTTP, .http_status = 503 };
	struct delivery_action a = delivery_policy_decide(&cfg, &o, 4, NOW - S, NOW, 0.42);
	struct delivery_action b = delivery_policy_decide(&cfg, &o, 4, NOW - S, NOW, 0.42);
	assert_int_equal(a.kind, b.kind);
	assert_int_equal(a.retry_at_ns, b.retry_at_ns);
	assert_ptr_equal(a.reason, b.reason);
}

/* ---- two clocks: a wall-clock step between attempts (issue 10, item 11) ----
 * The monotonic clock starts near boot; the wall clock at NOW. */
#define MONO0 (1000 * S)

static struct delivery_clock clock_at(int64_t mono, int64_t realtime)
{
	return (struct delivery_clock){ .mono_ns = mono, .realtime_ns = realtime };
}

/* A notification appended at t0, its first attempt refused 1 s later: the
 * retry is due after the backoff (200 ms at jitter 0..1: 100..200 ms). */
static struct delivery_schedule after_first_refusal(struct delivery_clock *now)
{
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome t = { .kind = ATTEMPT_TRANSPORT };
	struct delivery_schedule s = delivery_schedule_start(clock_at(MONO0, NOW));

	assert_int_equal(delivery_schedule_wait_ns(&s, clock_at(MONO0, NOW)), 0);
	*now = clock_at(MONO0 + S, NOW + S);
	struct delivery_action a = delivery_schedule_decide(&cfg, &t, 1, &s, *now, 0.0);
	assert_int_equal(a.kind, DELIVERY_RETRY);
	assert_int_equal(s.due_mono_ns, MONO0 + S + 100 * MS);
	assert_int_equal(s.due_realtime_ns, NOW + S + 100 * MS); /* what is stored */
	return s;
}

static void test_clock_step_back_does_not_delay_retry(void **state)
{
	(void)state;
	struct delivery_clock now;
	struct delivery_schedule s = after_first_refusal(&now);

	/* 100 ms later by the monotonic clock, but the wall clock was set back
	 * an hour in between: the retry is due now, not in an hour. */
	now = clock_at(now.mono_ns + 100 * MS, now.realtime_ns + 100 * MS - 1 * H);
	assert_int_equal(delivery_schedule_wait_ns(&s, now), 0);
	/* And 50 ms earlier it waits exactly the remaining 50 ms. */
	now = clock_at(now.mono_ns - 50 * MS, now.realtime_ns - 50 * MS);
	assert_int_equal(delivery_schedule_wait_ns(&s, now), 50 * MS);
}

static void test_clock_step_forward_expires_nothing(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome t = { .kind = ATTEMPT_TRANSPORT };
	struct delivery_clock now;
	struct delivery_schedule s = after_first_refusal(&now);

	/* The wall clock jumps a day and a bit ahead; the notification is 2 s
	 * old: it is retried, never expired, and not retried early either. */
	now = clock_at(now.mono_ns + 50 * MS, now.realtime_ns + 50 * MS + 25 * H);
	assert_int_equal(delivery_schedule_wait_ns(&s, now), 50 * MS);
	now = clock_at(now.mono_ns + 950 * MS, now.realtime_ns + 950 * MS);
	struct delivery_action a = delivery_schedule_decide(&cfg, &t, 2, &s, now, 0.0);
	assert_int_equal(a.kind, DELIVERY_RETRY);
	assert_int_equal(s.due_mono_ns, now.mono_ns + 200 * MS);
	/* The stored time follows today's wall clock (it is shown to people). */
	assert_int_equal(s.due_realtime_ns, now.realtime_ns + 200 * MS);
}

static void test_max_age_counts_monotonic_time(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome t = { .kind = ATTEMPT_TRANSPORT };
	struct delivery_schedule s = delivery_schedule_start(clock_at(MONO0, NOW));

	/* The wall clock set back a day: 24 h + 1 s of real time still
	 * expires it. */
	struct delivery_action a =
		delivery_schedule_decide(&cfg, &t, 9, &s, clock_at(MONO0 + 24 * H + S, NOW + S), 0.5);
	assert_int_equal(a.kind, DELIVERY_EXPIRED);
	s = delivery_schedule_start(clock_at(MONO0, NOW));
	a = delivery_schedule_decide(&cfg, &t, 9, &s, clock_at(MONO0 + 24 * H - S, NOW + 48 * H), 0.5);
	assert_int_equal(a.kind, DELIVERY_RETRY);
}

/* A reboot: monotonic time restarts, the stored wall-clock times are
 * converted once, clamped. */
static void test_restore_after_reboot(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	struct delivery_clock boot = clock_at(5 * S, NOW);
	struct delivery_schedule s;

	/* Stored: created 10 min ago, next attempt in 12 s. */
	s = delivery_schedule_restore(&cfg, NOW - 600 * S, NOW + 12 * S, boot);
	assert_int_equal(s.due_mono_ns, 5 * S + 12 * S);
	assert_int_equal(s.due_realtime_ns, NOW + 12 * S);
	assert_int_equal(s.age_origin_mono_ns, 5 * S - 600 * S); /* before boot: fine */
	/* Overdue: at once. */
	s = delivery_schedule_restore(&cfg, NOW - 600 * S, NOW - 60 * S, boot);
	assert_int_equal(delivery_schedule_wait_ns(&s, boot), 0);
	/* Written by a clock a day ahead: waits at most max_backoff, and its
	 * age starts at 0, not negative. */
	s = delivery_schedule_restore(&cfg, NOW + 24 * H, NOW + 24 * H, boot);
	assert_int_equal(delivery_schedule_wait_ns(&s, boot), cfg.max_backoff_ns);
	assert_int_equal(s.age_origin_mono_ns, 5 * S);
	/* Older than max_age at load: the next refusal expires it. */
	s = delivery_schedule_restore(&cfg, NOW - 25 * H, NOW, boot);
	struct attempt_outcome t = { .kind = ATTEMPT_TRANSPORT };
	assert_int_equal(delivery_schedule_decide(&cfg, &t, 1, &s, boot, 0.5).kind,
			 DELIVERY_EXPIRED);
	/* Garbage times saturate instead of overflowing. */
	s = delivery_schedule_restore(&cfg, INT64_MIN, INT64_MAX, clock_at(INT64_MAX - 1, INT64_MIN));
	assert_true(s.due_mono_ns >= INT64_MAX - 1);
	s = delivery_schedule_restore(&cfg, INT64_MAX, INT64_MIN, clock_at(0, INT64_MAX));
	assert_int_equal(s.due_mono_ns, 0);
}

static void test_reauth_due_at_once(void **state)
{
	(void)state;
	struct delivery_policy_config cfg = defaults();
	struct attempt_outcome o = { .kind = ATTEMPT_HTTP, .http_status = 401 };
	struct delivery_schedule s = delivery_schedule_start(clock_at(MONO0, NOW));
	struct delivery_clock now = clock_at(MONO0 + S, NOW - 1 * H);

	assert_int_equal(delivery_schedule_decide(&cfg, &o, 1, &s, now, 0.5).kind,
			 DELIVERY_REAUTH_RETRY);
	assert_int_equal(delivery_schedule_wait_ns(&s, now), 0);
	assert_int_equal(s.due_realtime_ns, NOW - 1 * H);
	/* A final answer leaves the schedule alone. */
	struct delivery_schedule before = s;
	o.http_status = 202;
	assert_int_equal(delivery_schedule_decide(&cfg, &o, 2, &s, now, 0.5).kind, DELIVERY_DONE);
	assert_memory_equal(&s, &before, sizeof(s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_classification_table),
		cmocka_unit_test(test_409_only_a_duplicate_is_delivered),
		cmocka_unit_test(test_reasons_name_the_cause),
		cmocka_unit_test(test_transport_and_no_endpoint),
		cmocka_unit_test(test_backoff_growth_and_cap),
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_custom_and_bad_config),
		cmocka_unit_test(test_expiry_by_age_not_count),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_clock_step_back_does_not_delay_retry),
		cmocka_unit_test(test_clock_step_forward_expires_nothing),
		cmocka_unit_test(test_max_age_counts_monotonic_time),
		cmocka_unit_test(test_restore_after_reboot),
		cmocka_unit_test(test_reauth_due_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
