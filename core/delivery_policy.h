/* Delivery policy: a pure function from "what happened to this attempt"
 * to "what to do next". Classifies Masakari's answers and transport
 * errors and computes exponential backoff with jitter, bounded by the
 * notification's age rather than by a small retry count. */
#ifndef MIMAMORI_DELIVERY_POLICY_H
#define MIMAMORI_DELIVERY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

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
};

enum delivery_action_kind {
	DELIVERY_DONE = 1,       /* 202, or 409 (duplicate / already known) */
	DELIVERY_RETRY,          /* try again at retry_at_ns */
	DELIVERY_REAUTH_RETRY,   /* drop the token, authenticate, retry at once */
	DELIVERY_PERMANENT_FAIL, /* 400 and other client errors: keep, do not retry */
	DELIVERY_EXPIRED,        /* older than max_age: keep as failed */
};

struct delivery_action {
	enum delivery_action_kind kind;
	int64_t retry_at_ns;
	const char *reason; /* static string, for logs and the outbox */
};

/* attempts counts this attempt (>= 1). jitter is a random value in
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

#endif
