/* See notifier.h. The outbox is shared by the main loop (appends) and this
 * thread (attempts and outcomes), so every outbox call happens under one
 * mutex; the HTTP request itself runs with the mutex released, on a copy
 * of the body, so a slow Masakari never delays an append. */
#include "daemon/notifier/notifier.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/units.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/threads.h"

#define TOKEN_RETRY_S 10

struct notifier {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	struct outbox *ob;
	struct masakari_client *mc;
	struct delivery_policy_config policy;
	struct event_log *events;
	struct metrics *metrics;
	uint64_t accepted, retries;
	unsigned rng_state;
	/* Snapshot of the client's state, refreshed by the sender thread after
	 * each request, so readers never touch the client concurrently. */
	struct masakari_client_status client_status;
	/* Set by notifier_reconfigure(), taken by the sender thread. */
	bool reconfigure;
	struct masakari_client_config next_client;
	struct delivery_policy_config next_policy;
	/* notifier_set_delivery_callback(); called under lock. */
	notifier_delivery_fn delivery_fn;
	void *delivery_ctx;
};

static void wait_until(struct notifier *n, int64_t deadline_realtime_ns)
{
	struct timespec ts = {
		.tv_sec = deadline_realtime_ns / (int64_t)NS_PER_S,
		.tv_nsec = deadline_realtime_ns % (int64_t)NS_PER_S,
	};

	pthread_cond_timedwait(&n->wake, &n->lock, &ts);
}

static const char *result_name(enum delivery_action_kind k, long status)
{
	switch (k) {
	case DELIVERY_DONE: return status == 409 ? "duplicate" : "accepted";
	case DELIVERY_RETRY: return "retry";
	case DELIVERY_REAUTH_RETRY: return "reauth";
	case DELIVERY_PERMANENT_FAIL: return "failed";
	case DELIVERY_EXPIRED: return "expired";
	}
	return "unknown";
}

/* One attempt on the entry due soonest; called and returns with the lock
 * held. */
static void attempt(struct notifier *n, const struct outbox_entry *e)
{
	uint64_t id = e->id;
	uint32_t attempts = e->attempts + 1;
	/* An operator's retry restarts the age limit. */
	int64_t created = e->retried_realtime_ns > e->created_realtime_ns ? e->retried_realtime_ns
									  : e->created_realtime_ns;
	int64_t failed_at = e->created_realtime_ns;
	char *body = strdup(e->body);
	char err[512] = "";
	struct attempt_outcome outcome;
	struct delivery_action action;
	enum metrics_notification_type type;
	bool typed;
	int64_t now;

	if (!body) {
		wait_until(n, realtime_ns() + 100 * (int64_t)NS_PER_MS);
		return;
	}
	pthread_mutex_unlock(&n->lock);
	outcome = masakari_client_post_notification(n->mc, body, err, sizeof(err));
	typed = metrics_notification_type_of(body, &type) == 0;
	free(body);
	now = realtime_ns();
	action = delivery_policy_decide(&n->policy, &outcome, attempts, created, now,
					(double)rand_r(&n->rng_state) / ((double)RAND_MAX + 1.0));
	if (action.kind == DELIVERY_REAUTH_RETRY)
		masakari_client_invalidate_token(n->mc);
	pthread_mutex_lock(&n->lock);
	masakari_client_get_status(n->mc, &n->client_status);

	long status = outcome.kind == ATTEMPT_HTTP ? outcome.http_status : 0;
	struct delivery_record rec = {
		.outbox_id = id,
		.result = result_name(action.kind, status),
		.http_status = status,
		.attempts = attempts,
		.realtime_ns = now,
		.since_failure_ns = now > failed_at ? (uint64_t)(now - failed_at) : 0,
		.error = err[0] ? err : NULL,
	};
	int rc = 0;

	metrics_set_gauge(n->metrics, METRICS_MASAKARI_REACHABLE, outcome.kind == ATTEMPT_HTTP);
	if (typed)
		metrics_notification(n->metrics, type, metrics_notification_result_of(action.kind, status));
	if (action.kind == DELIVERY_DONE)
		metrics_observe_notification_latency_ns(n->metrics, rec.since_failure_ns);
	switch (action.kind) {
	case DELIVERY_DONE:
		rc = outbox_mark_delivered(n->ob, id);
		n->accepted++;
		log_info("notification %llu %s by Masakari (HTTP %ld) %.1f ms after the failure",
			 (unsigned long long)id, rec.result, status, (double)rec.since_failure_ns / 1e6);
		break;
	case DELIVERY_RETRY:
	case DELIVERY_REAUTH_RETRY:
		n->retries++;
		rc = outbox_record_attempt(n->ob, id, err[0] ? err : action.reason,
					   action.kind == DELIVERY_REAUTH_RETRY ? now : action.retry_at_ns);
		log_warn("notification %llu not delivered (attempt %u): %s; %s", (unsigned long long)id,
			 attempts, err[0] ? err : action.reason,
			 action.kind == DELIVERY_REAUTH_RETRY ? "re-authenticating" : "will retry");
		break;
	case DELIVERY_PERMANENT_FAIL:
	case DELIVERY_EXPIRED: {
		char reason[OUTBOX_REASON_LEN];
		int len = snprintf(reason, sizeof(reason), "%s: ", action.reason);

		/* Masakari's message may be long: keep its beginning. */
		snprintf(reason + len, sizeof(reason) - (size_t)len, "%.*s",
			 (int)(sizeof(reason) - (size_t)len - 1), err);
		rc = outbox_mark_failed(n->ob, id, reason);
		log_error("notification %llu failed permanently: %s (kept in the outbox; "
			  "`mimamorictl outbox retry %llu` after fixing the cause)",
			  (unsigned long long)id, reason, (unsigned long long)id);
		break;
	}
	}
	if (rc < 0)
		log_error("outbox: cannot record the outcome of %llu: %s", (unsigned long long)id,
			  strerror(-rc));
	if (n->events)
		event_log_delivery(n->events, &rec);
	if (n->delivery_fn && action.kind != DELIVERY_RETRY && action.kind != DELIVERY_REAUTH_RETRY)
		n->delivery_fn(n->delivery_ctx, id, action.kind == DELIVERY_DONE, status);
}

/* Keeps a Keystone token ready so a failure never waits for Keystone
 * (masakari-monitors pays ~0.9 s on its first notification). Called and
 * returns with the lock held; returns when to check again. */
static int64_t keep_token_fresh(struct notifier *n, int64_t now)
{
	char err[512];
	int rc;
	int64_t renew_at;

	pthread_mutex_unlock(&n->lock);
	rc = masakari_client_refresh_token(n->mc, err, sizeof(err));
	renew_at = masakari_client_token_renew_at(n->mc);
	pthread_mutex_lock(&n->lock);
	masakari_client_get_status(n->mc, &n->client_status);
	if (rc < 0) {
		log_warn("masakari: cannot get a Keystone token: %s (retrying in %d s)", err,
			 TOKEN_RETRY_S);
		return now + TOKEN_RETRY_S * (int64_t)NS_PER_S;
	}
	return renew_at ? renew_at : INT64_MAX;
}

/* Called and returns with the lock held. A client that cannot be created
 * (out of memory) leaves the old one in place. */
static void apply_reconfigure(struct notifier *n)
{
	struct masakari_client *fresh;

	n->reconfigure = false;
	n->policy = n->next_policy;
	pthread_mutex_unlock(&n->lock);
	fresh = masakari_client_new(&n->next_client);
	pthread_mutex_lock(&n->lock);
	if (!fresh) {
		log_error("reload: cannot create the new Masakari client; keeping the old one");
		return;
	}
	masakari_client_free(n->mc);
	n->mc = fresh;
	masakari_client_get_status(n->mc, &n->client_status);
}

static void *sender_thread(void *arg)
{
	struct notifier *n = arg;
	int64_t token_check_at = 0;

	pthread_mutex_lock(&n->lock);
	while (!n->stop) {
		if (n->reconfigure) {
			apply_reconfigure(n);
			token_check_at = 0; /* authenticate with the new credentials now */
			continue;
		}
		const struct outbox_entry *e = outbox_next_due(n->ob);
		int64_t now = realtime_ns();

		if (!e || e->next_attempt_realtime_ns > now) {
			int64_t wake_at = e ? e->next_attempt_realtime_ns : INT64_MAX;

			if (now >= token_check_at) {
				token_check_at = keep_token_fresh(n, now);
				continue; /* the lock was released: look again */
			}
			if (token_check_at < wake_at)
				wake_at = token_check_at;
			if (wake_at == INT64_MAX)
				pthread_cond_wait(&n->wake, &n->lock);
			else
				wait_until(n, wake_at);
			continue;
		}
		attempt(n, e);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

struct notifier *notifier_start(const struct masakari_client_config *mcfg,
				const struct delivery_policy_config *policy, struct outbox *ob,
				struct event_log *events, struct metrics *metrics, char *err,
				size_t errlen)
{
	struct notifier *n = calloc(1, sizeof(*n));
	pthread_condattr_t ca;

	assert(mcfg && policy && ob);
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->mc = masakari_client_new(mcfg);
	if (!n->mc) {
		snprintf(err, errlen, "cannot create the Masakari client");
		free(n);
		return NULL;
	}
	n->ob = ob;
	n->policy = *policy;
	n->events = events;
	n->metrics = metrics;
	n->rng_state = (unsigned)realtime_ns();
	masakari_client_get_status(n->mc, &n->client_status);
	pthread_mutex_init(&n->lock, NULL);
	/* The outbox schedule is in wall-clock time (it survives reboots). */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_REALTIME);
	pthread_cond_init(&n->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (thread_start_normal_priority(&n->thread, sender_thread, n) != 0) {
		snprintf(err, errlen, "cannot start the notifier thread");
		masakari_client_free(n->mc);
		pthread_cond_destroy(&n->wake);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return NULL;
	}
	return n;
}

void notifier_stop(struct notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	masakari_client_free(n->mc);
	outbox_close(n->ob);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

int notifier_submit(struct notifier *n, const char *body, int64_t failure_realtime_ns,
		    uint64_t *id_out)
{
	int rc;

	pthread_mutex_lock(&n->lock);
	rc = outbox_append(n->ob, body, strlen(body), failure_realtime_ns, id_out);
	if (rc == 0)
		pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

int notifier_retry(struct notifier *n, uint64_t id)
{
	int rc;

	pthread_mutex_lock(&n->lock);
	rc = outbox_retry(n->ob, id, realtime_ns());
	if (rc == 0)
		pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

void notifier_get_status(struct notifier *n, struct notifier_status *out)
{
	static const struct outbox_entry *list[OUTBOX_MAX_ENTRIES]; /* under n->lock */
	size_t count;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->lock);
	out->pending = outbox_count(n->ob, OUTBOX_PENDING);
	out->failed = outbox_count(n->ob, OUTBOX_FAILED);
	count = outbox_list(n->ob, list, OUTBOX_MAX_ENTRIES);
	for (size_t i = 0; i < count; i++) {
		if (list[i]->state == OUTBOX_PENDING) {
			out->oldest_pending_realtime_ns = list[i]->created_realtime_ns;
			break;
		}
	}
	out->accepted = n->accepted;
	out->retries = n->retries;
	out->masakari = n->client_status;
	pthread_mutex_unlock(&n->lock);
}

void notifier_set_delivery_callback(struct notifier *n, notifier_delivery_fn fn, void *ctx)
{
	pthread_mutex_lock(&n->lock);
	n->delivery_fn = fn;
	n->delivery_ctx = ctx;
	pthread_mutex_unlock(&n->lock);
}

void notifier_reconfigure(struct notifier *n, const struct masakari_client_config *mcfg,
			  const struct delivery_policy_config *policy)
{
	pthread_mutex_lock(&n->lock);
	n->next_client = *mcfg;
	n->next_policy = *policy;
	n->reconfigure = true;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
}

static void copy_entry(const struct outbox_entry *e, struct notifier_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->id = e->id;
	out->state = e->state;
	out->created_realtime_ns = e->created_realtime_ns;
	out->next_attempt_realtime_ns = e->next_attempt_realtime_ns;
	out->retried_realtime_ns = e->retried_realtime_ns;
	out->attempts = e->attempts;
	snprintf(out->last_error, sizeof(out->last_error), "%s", e->last_error);
	snprintf(out->body_excerpt, sizeof(out->body_excerpt), "%s", e->body ? e->body : "");
	out->body_len = e->body_len;
}

size_t notifier_list(struct notifier *n, enum outbox_state state, uint64_t after_id,
		     struct notifier_entry *out, size_t max, size_t *total)
{
	static const struct outbox_entry *list[OUTBOX_MAX_ENTRIES];
	size_t count, written = 0, matching = 0;

	pthread_mutex_lock(&n->lock); /* also guards the static list */
	count = outbox_list(n->ob, list, OUTBOX_MAX_ENTRIES);
	for (size_t i = 0; i < count; i++) {
		const struct outbox_entry *e = list[i];

		if (e->id <= after_id || (state && e->state != state))
			continue;
		matching++;
		if (written < max)
			copy_entry(e, &out[written++]);
	}
	pthread_mutex_unlock(&n->lock);
	if (total)
		*total = matching;
	return written;
}

int notifier_get_entry(struct notifier *n, uint64_t id, struct notifier_entry *entry)
{
	const struct outbox_entry *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&n->lock);
	e = outbox_find(n->ob, id);
	if (e) {
		copy_entry(e, entry);
		rc = 0;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}
