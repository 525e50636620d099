/* See delivery_policy.h. Pure: no clock, no randomness, no I/O; time and
 * jitter come in as arguments so every decision can be tested. */
#include "core/delivery_policy.h"

#include <assert.h>
#include <stddef.h>

#include "base/units.h"

void delivery_policy_defaults(struct delivery_policy_config *cfg)
{
	assert(cfg != NULL);
	cfg->initial_backoff_ns = 200 * (int64_t)NS_PER_MS;
	cfg->max_backoff_ns = 30 * (int64_t)NS_PER_S;
	cfg->max_age_ns = 24 * 3600 * (int64_t)NS_PER_S;
}

static double clamp_jitter(double jitter)
{
	/* NaN fails both comparisons: treat it as 0 rather than propagate. */
	if (!(jitter >= 0.0))
		return 0.0;
	if (jitter >= 1.0)
		return 1.0 - 0x1p-53; /* largest double below 1 */
	return jitter;
}

int64_t delivery_policy_backoff_ns(const struct delivery_policy_config *cfg, uint32_t attempts,
				   double jitter)
{
	assert(cfg != NULL);
	/* A bad config must not produce a zero or negative delay (a busy
	 * retry loop): fall back to the defaults for nonsense values. */
	int64_t initial =
		cfg->initial_backoff_ns > 0 ? cfg->initial_backoff_ns : 200 * (int64_t)NS_PER_MS;
	int64_t cap = cfg->max_backoff_ns >= initial ? cfg->max_backoff_ns : initial;
	uint32_t doublings = attempts > 0 ? attempts - 1 : 0;

	int64_t delay = initial;
	/* Double until the cap; comparing against cap/2 avoids overflow. */
	for (uint32_t i = 0; i < doublings && delay < cap; i++)
		delay = delay > cap / 2 ? cap : delay * 2;
	if (delay > cap)
		delay = cap;

	/* Equal jitter: keep half of the delay as a floor so a burst of
	 * failures never retries immediately, spread the other half. */
	int64_t half = delay / 2;
	double spread = clamp_jitter(jitter) * (double)(delay - half);
	int64_t out = half + (int64_t)spread;
	/* The double product can round above the exact value for delays
	 * near 2^63; clamp so the bound holds for any config. */
	if (out > delay || out < half)
		out = delay;
	assert(out >= half && out <= delay);
	return out;
}

static int64_t add_saturating(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static bool expired(const struct delivery_policy_config *cfg, int64_t created_ns, int64_t now_ns)
{
	int64_t age;
	if (cfg->max_age_ns <= 0)
		return false;
	/* A huge difference (corrupt timestamp) overflows: it is certainly
	 * older than any max_age when now is the larger one. */
	if (__builtin_sub_overflow(now_ns, created_ns, &age))
		return now_ns > created_ns;
	return age > cfg->max_age_ns;
}

static struct delivery_action retry_or_expire(const struct delivery_policy_config *cfg,
					      enum delivery_action_kind kind, const char *reason,
					      uint32_t attempts, int64_t created_ns,
					      int64_t now_ns, double jitter)
{
	struct delivery_action a = { .kind = kind, .retry_at_ns = now_ns, .reason = reason };

	if (expired(cfg, created_ns, now_ns)) {
		a.kind = DELIVERY_EXPIRED;
		a.reason = "expired: not delivered within max_age";
		return a;
	}
	if (kind == DELIVERY_RETRY)
		a.retry_at_ns = add_saturating(now_ns, delivery_policy_backoff_ns(cfg, attempts, jitter));
	return a;
}

struct delivery_action delivery_policy_decide(const struct delivery_policy_config *cfg,
					      const struct attempt_outcome *outcome,
					      uint32_t attempts, int64_t created_ns,
					      int64_t now_ns, double jitter)
{
	assert(cfg != NULL && outcome != NULL);
	struct delivery_action done = { .kind = DELIVERY_DONE, .retry_at_ns = now_ns };
	struct delivery_action fail = { .kind = DELIVERY_PERMANENT_FAIL, .retry_at_ns = now_ns };

	switch (outcome->kind) {
	case ATTEMPT_TRANSPORT:
		return retry_or_expire(cfg, DELIVERY_RETRY, "transport error", attempts, created_ns,
				       now_ns, jitter);
	case ATTEMPT_NO_ENDPOINT:
		return retry_or_expire(cfg, DELIVERY_RETRY,
				       "no endpoint (authentication or catalog failed)", attempts,
				       created_ns, now_ns, jitter);
	case ATTEMPT_HTTP:
		break;
	default:
		/* Unknown kind: a caller bug; retrying is the choice that
		 * cannot lose the notification. */
		return retry_or_expire(cfg, DELIVERY_RETRY, "unknown outcome", attempts, created_ns,
				       now_ns, jitter);
	}

	long s = outcome->http_status;
	if (s >= 200 && s <= 299) {
		done.reason = "accepted by Masakari";
		return done;
	}
	switch (s) {
	case 409:
		/* DuplicateNotification: Masakari has this failure already.
		 * HostOnMaintenanceError: Masakari stored nothing and recovers
		 * nothing (issue 10, item 8: a PROCESS notification had put the
		 * host on maintenance, the COMPUTE_HOST after its fence was
		 * refused, the guests never evacuated): a failure an operator
		 * must see, kept for `outbox retry` once maintenance is off.
		 * Sending again at once cannot change either. A 409 we cannot
		 * read is no proof Masakari has it: failed too. */
		switch (outcome->conflict) {
		case MASAKARI_CONFLICT_DUPLICATE:
			done.reason = "409 duplicate: Masakari already has this notification";
			return done;
		case MASAKARI_CONFLICT_HOST_ON_MAINTENANCE:
			fail.reason = "409 host on maintenance: Masakari ignored the notification, "
				      "nothing will be recovered";
			return fail;
		default:
			fail.reason = "409 conflict not recognised as a duplicate: Masakari may not "
				      "have the notification";
			return fail;
		}
	case 401:
		/* Usually an expired or revoked token: re-authenticate and retry
		 * at once; repeated 401s mean a credential/role problem, so back
		 * off instead of hammering Keystone. */
		if (attempts <= DELIVERY_REAUTH_IMMEDIATE_MAX)
			return retry_or_expire(cfg, DELIVERY_REAUTH_RETRY,
					       "401 unauthorized: re-authenticating", attempts,
					       created_ns, now_ns, jitter);
		return retry_or_expire(cfg, DELIVERY_RETRY,
				       "401 unauthorized again: backing off", attempts, created_ns,
				       now_ns, jitter);
	case 408:
		return retry_or_expire(cfg, DELIVERY_RETRY, "408 request timeout", attempts,
				       created_ns, now_ns, jitter);
	case 429:
		return retry_or_expire(cfg, DELIVERY_RETRY, "429 too many requests", attempts,
				       created_ns, now_ns, jitter);
	case 400:
		fail.reason = "400 bad request: Masakari rejected the notification "
			      "(unknown host or invalid payload)";
		return fail;
	case 403:
		fail.reason = "403 forbidden: the credentials may not create notifications";
		return fail;
	case 404:
		fail.reason = "404 not found: wrong endpoint or API path";
		return fail;
	case 422:
		fail.reason = "422 unprocessable entity: Masakari rejected the notification";
		return fail;
	default:
		break;
	}
	if (s >= 400 && s <= 499) {
		fail.reason = "4xx client error: Masakari rejected the notification";
		return fail;
	}
	if (s >= 500 && s <= 599)
		return retry_or_expire(cfg, DELIVERY_RETRY, "5xx server error", attempts, created_ns,
				       now_ns, jitter);
	/* 1xx/3xx (we never follow redirects) or garbage: the endpoint is
	 * misconfigured or misbehaving, not the notification; keep trying. */
	return retry_or_expire(cfg, DELIVERY_RETRY, "unexpected HTTP status", attempts, created_ns,
			       now_ns, jitter);
}

/* ---- scheduling on two clocks (see delivery_policy.h) ---- */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* a - b, saturated: stored times may be anything (a corrupt record). */
static int64_t sub_saturating(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return a > b ? INT64_MAX : INT64_MIN;
	return r;
}

struct delivery_schedule delivery_schedule_start(struct delivery_clock now)
{
	return (struct delivery_schedule){ .age_origin_mono_ns = now.mono_ns,
					   .due_mono_ns = now.mono_ns,
					   .due_realtime_ns = now.realtime_ns };
}

struct delivery_schedule delivery_schedule_restore(const struct delivery_policy_config *cfg,
						   int64_t age_origin_realtime_ns,
						   int64_t due_realtime_ns,
						   struct delivery_clock now)
{
	assert(cfg != NULL);
	int64_t cap = cfg->max_backoff_ns > 0 ? cfg->max_backoff_ns : 0;
	int64_t wait = clamp64(sub_saturating(due_realtime_ns, now.realtime_ns), 0, cap);
	int64_t age = clamp64(sub_saturating(now.realtime_ns, age_origin_realtime_ns), 0, INT64_MAX);

	return (struct delivery_schedule){
		.age_origin_mono_ns = sub_saturating(now.mono_ns, age),
		.due_mono_ns = add_saturating(now.mono_ns, wait),
		.due_realtime_ns = add_saturating(now.realtime_ns, wait),
	};
}

struct delivery_action delivery_schedule_decide(const struct delivery_policy_config *cfg,
						const struct attempt_outcome *outcome,
						uint32_t attempts, struct delivery_schedule *s,
						struct delivery_clock now, double jitter)
{
	assert(cfg != NULL && outcome != NULL && s != NULL);
	struct delivery_action a = delivery_policy_decide(cfg, outcome, attempts,
							  s->age_origin_mono_ns, now.mono_ns, jitter);

	if (a.kind == DELIVERY_RETRY || a.kind == DELIVERY_REAUTH_RETRY) {
		/* The delay is a duration: the same on both clocks. */
		int64_t delay = clamp64(sub_saturating(a.retry_at_ns, now.mono_ns), 0, INT64_MAX);

		s->due_mono_ns = a.retry_at_ns;
		s->due_realtime_ns = add_saturating(now.realtime_ns, delay);
	}
	return a;
}

int64_t delivery_schedule_wait_ns(const struct delivery_schedule *s, struct delivery_clock now)
{
	assert(s != NULL);
	return clamp64(sub_saturating(s->due_mono_ns, now.mono_ns), 0, INT64_MAX);
}
