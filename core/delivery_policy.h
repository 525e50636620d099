/* Delivery policy: a pure function from "what happened to this attempt"
 * to "what to do next". Classifies Masakari's answers and transport
 * errors and computes exponential backoff with jitter, bounded by the
 * notification's age rather than by a small retry count. */
#ifndef MIMAMORI_DELIVERY_POLICY_H
#define MIMAMORI_DELIVERY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/masakari_reply.h"

struct delivery_policy_config {
	int64_t initial_backoff_ns;  /* first retry delay (default 200 ms) */
	int64_t max_backoff_ns;      /* cap (default 30 s) */
	int64_t max_age_ns;          /* give up after this age (default 24 h);
				      * <= 0: never expire */
};

/* A 401 is answered with an immediate re-authentication while the
 * notification has made at most this many attempts; after that it is a
 * RETRY with backoff, so a credential problem does not hammer Keystone. */
#define DELIVERY_REAUTH_IMMEDIATE_MAX 2u

void delivery_policy_defaults(struct delivery_policy_config *cfg);

enum attempt_outcome_kind {
	ATTEMPT_HTTP = 1,      /* an HTTP answer with a status code */
	ATTEMPT_TRANSPORT,     /* connect refused, timeout, DNS, TLS... */
	ATTEMPT_NO_ENDPOINT,   /* auth/catalog did not give us an endpoint yet */
};

struct attempt_outcome {
	enum attempt_outcome_kind kind;
	long http_status;
	/* A 409's meaning (core/masakari_reply.h); zero, "unrecognised",
	 * otherwise. Only a duplicate is delivered. */
	enum masakari_conflict conflict;
};

enum delivery_action_kind {
	DELIVERY_DONE = 1,       /* 202, or a 409 saying "duplicate" (Masakari has it) */
	DELIVERY_RETRY,          /* try again at retry_at_ns */
	DELIVERY_REAUTH_RETRY,   /* drop the token, authenticate, retry at once */
	DELIVERY_PERMANENT_FAIL, /* 400, a 409 other than a duplicate (host on
				  * maintenance) and other client errors: keep,
				  * do not retry */
	DELIVERY_EXPIRED,        /* older than max_age: keep as failed */
};

struct delivery_action {
	enum delivery_action_kind kind;
	int64_t retry_at_ns;
	const char *reason; /* static string, for logs and the outbox */
};

/* created_ns (when the age starts) and now_ns are on one clock, which
 * retry_at_ns is on too: the notifier uses the monotonic one (through
 * delivery_schedule_decide below). attempts counts this attempt (>= 1).
 * jitter is a random value in
 * [0, 1) the caller draws, so the function stays deterministic (values
 * outside are clamped). Backoff is "equal jitter": the un-jittered delay
 * is initial * 2^(attempts-1) capped at max, and the delay returned lies
 * in [delay/2, delay]. EXPIRED replaces any retry once now - created >
 * max_age; DONE and PERMANENT_FAIL are never turned into EXPIRED. */
struct delivery_action delivery_policy_decide(const struct delivery_policy_config *cfg,
					      const struct attempt_outcome *outcome,
					      uint32_t attempts, int64_t created_ns,
					      int64_t now_ns, double jitter);

/* The jittered backoff delay for an attempt number (>= 1), as used above. */
int64_t delivery_policy_backoff_ns(const struct delivery_policy_config *cfg, uint32_t attempts,
				   double jitter);

/* ---- scheduling on two clocks ----
 * Every timing decision (when to try next, backoff, max_age) is taken on
 * CLOCK_MONOTONIC, so a wall-clock step (NTP, an operator, a VM resumed)
 * neither delays a retry nor expires a notification seconds old. The wall
 * clock only stamps what is stored (the outbox's next-attempt time) and
 * shown. Monotonic time does not survive a reboot (nor, comparably, a
 * daemon restart), so the stored wall-clock times are turned into
 * monotonic ones once, when the outbox is loaded (delivery_schedule_restore),
 * clamped: that conversion is the only place a wall-clock step can act. */

/* Both clocks, read once by the shell at one instant. */
struct delivery_clock {
	int64_t mono_ns;
	int64_t realtime_ns;
};

/* One pending notification's timing, in memory (the notifier's). */
struct delivery_schedule {
	int64_t age_origin_mono_ns; /* max_age counts from here */
	int64_t due_mono_ns;        /* the next attempt */
	int64_t due_realtime_ns;    /* the same instant by the wall clock: stored, shown */
};

/* A new notification, or one an operator put back: due at once, its age
 * counted from now. */
struct delivery_schedule delivery_schedule_start(struct delivery_clock now);

/* From an outbox record loaded at start: age_origin_realtime_ns (created,
 * or the operator's retry) and the stored next attempt. The remaining wait
 * is clamped to [0, max_backoff] (a stored time far ahead, written by a
 * clock that was wrong then, must not hold a notification for hours); the
 * age so far is clamped at 0 (a record from "the future" is new). So after
 * a reboot a notification is retried at most max_backoff later, and its
 * age is what the wall clock says at load, counted on the monotonic clock
 * from then on. */
struct delivery_schedule delivery_schedule_restore(const struct delivery_policy_config *cfg,
						   int64_t age_origin_realtime_ns,
						   int64_t due_realtime_ns,
						   struct delivery_clock now);

/* After an attempt (attempts counts it): delivery_policy_decide on the
 * monotonic clock; for a RETRY or REAUTH_RETRY *s gets the next attempt
 * (both clocks), otherwise it is left alone. */
struct delivery_action delivery_schedule_decide(const struct delivery_policy_config *cfg,
						const struct attempt_outcome *outcome,
						uint32_t attempts, struct delivery_schedule *s,
						struct delivery_clock now, double jitter);

/* How long until s is due (0: due now), on the monotonic clock. */
int64_t delivery_schedule_wait_ns(const struct delivery_schedule *s, struct delivery_clock now);

#endif
