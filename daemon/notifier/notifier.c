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

#include <jansson.h>

#include "base/units.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/threads.h"

#define TOKEN_RETRY_S 10
/* Hosts whose return we remember (notifier_cancel_host); the mesh's
 * members are far fewer. */
#define MAX_ALIVE_HOSTS 256
#define HOST_NAME_LEN 256

struct alive_host {
	char name[HOST_NAME_LEN];
	uint64_t incarnation; /* seen alive at, or whose failure a peer notified */
};

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
	/* notifier_cancel_host's memory, under lock (a ring when full). */
	struct alive_host alive[MAX_ALIVE_HOSTS];
	size_t n_alive, alive_next;
	/* notifier_peer_notified's memory, under lock (a ring when full). */
	struct alive_host peer_notified[MAX_ALIVE_HOSTS];
	size_t n_peer_notified, peer_notified_next;
	/* The sender thread's scratch for outbox_list. */
	const struct outbox_entry **scan;
};

static bool peer_notified_covers(const struct notifier *n, const struct outbox_entry *e);

/* Both clocks at one instant: the schedule runs on the monotonic one. */
static struct delivery_clock clock_now(void)
{
	return (struct delivery_clock){ .mono_ns = (int64_t)mono_ns(),
					.realtime_ns = realtime_ns() };
}

/* The condition variable runs on CLOCK_MONOTONIC (notifier_start). */
static void wait_until(struct notifier *n, int64_t deadline_mono_ns)
{
	struct timespec ts = timespec_of_ns(deadline_mono_ns > 0 ? (uint64_t)deadline_mono_ns : 0);

	pthread_cond_timedwait(&n->wake, &n->lock, &ts);
}

/* The pending entry due soonest on the monotonic clock (the oldest among
 * equals), or NULL. */
static const struct outbox_entry *next_due(struct notifier *n)
{
	const struct outbox_entry *best = NULL;
	size_t count = outbox_list(n->ob, n->scan, OUTBOX_MAX_ENTRIES);

	for (size_t i = 0; i < count; i++) {
		const struct outbox_entry *e = n->scan[i];

		if (e->state == OUTBOX_PENDING &&
		    (best == NULL || e->sched.due_mono_ns < best->sched.due_mono_ns))
			best = e;
	}
	return best;
}

static void set_schedule(struct notifier *n, uint64_t id, const struct delivery_schedule *s)
{
	struct outbox_entry *e = outbox_find_mutable(n->ob, id);

	if (e)
		e->sched = *s;
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
	/* Age (max_age) and next attempt on the monotonic clock; an operator's
	 * retry restarted the age (notifier_retry). */
	struct delivery_schedule sched = e->sched;
	int64_t failed_at = e->created_realtime_ns;
	char *body = strdup(e->body);
	char err[512] = "";
	struct attempt_outcome outcome;
	struct delivery_action action;
	enum metrics_notification_type type;
	bool typed, still_pending;
	struct delivery_clock now;
	const struct outbox_entry *cur;

	if (!body) {
		wait_until(n, (int64_t)mono_ns() + 100 * (int64_t)NS_PER_MS);
		return;
	}
	pthread_mutex_unlock(&n->lock);
	outcome = masakari_client_post_notification(n->mc, body, err, sizeof(err));
	typed = metrics_notification_type_of(body, &type) == 0;
	free(body);
	now = clock_now();
	action = delivery_schedule_decide(&n->policy, &outcome, attempts, &sched, now,
					  (double)rand_r(&n->rng_state) / ((double)RAND_MAX + 1.0));
	if (action.kind == DELIVERY_REAUTH_RETRY)
		masakari_client_invalidate_token(n->mc);
	pthread_mutex_lock(&n->lock);
	masakari_client_get_status(n->mc, &n->client_status);
	/* Superseded (notifier_cancel_host) while the request ran: its
	 * outcome was told then; only an acceptance is still recorded. */
	cur = outbox_find(n->ob, id);
	still_pending = cur && cur->state == OUTBOX_PENDING;

	long status = outcome.kind == ATTEMPT_HTTP ? outcome.http_status : 0;
	/* Masakari checks maintenance before duplicates: our COMPUTE_HOST for
	 * a failure whose notification by a peer Masakari already accepted
	 * (its engine then put the host on maintenance) is refused "on
	 * maintenance". That is our duplicate, not a refusal (issue 10,
	 * item 8): delivered, counted as a duplicate, no alert. */
	bool after_peer = status == 409 &&
			  outcome.conflict == MASAKARI_CONFLICT_HOST_ON_MAINTENANCE && cur &&
			  peer_notified_covers(n, cur);

	if (after_peer) {
		action.kind = DELIVERY_DONE;
		outcome.conflict = MASAKARI_CONFLICT_DUPLICATE;
	}
	struct delivery_record rec = {
		.outbox_id = id,
		.result = result_name(action.kind, status),
		.http_status = status,
		.attempts = attempts,
		.realtime_ns = now.realtime_ns,
		.since_failure_ns = now.realtime_ns > failed_at ? (uint64_t)(now.realtime_ns - failed_at) : 0,
		.error = err[0] ? err : NULL,
	};
	int rc = 0;

	metrics_set_gauge(n->metrics, METRICS_MASAKARI_REACHABLE, outcome.kind == ATTEMPT_HTTP);
	if (typed)
		metrics_notification(n->metrics, type, metrics_notification_result_of(action.kind, status));
	if (status == 409)
		metrics_masakari_conflict(n->metrics, outcome.conflict);
	if (action.kind == DELIVERY_DONE)
		metrics_observe_notification_latency_ns(n->metrics, rec.since_failure_ns);
	switch (action.kind) {
	case DELIVERY_DONE:
		rc = outbox_mark_delivered(n->ob, id);
		n->accepted++;
		log_info("notification %llu %s by Masakari (HTTP %ld) %.1f ms after the failure%s",
			 (unsigned long long)id, rec.result, status, (double)rec.since_failure_ns / 1e6,
			 after_peer ? " (\"on maintenance\": a peer's notification of this failure "
				      "was accepted first)" : "");
		break;
	case DELIVERY_RETRY:
	case DELIVERY_REAUTH_RETRY:
		n->retries++;
		if (!still_pending) {
			log_info("notification %llu: attempt %u not delivered, and it was settled "
				 "meanwhile (%s): not retried", (unsigned long long)id, attempts,
				 cur ? cur->last_error : "gone");
			break;
		}
		/* The stored time is the wall-clock twin of the monotonic one. */
		rc = outbox_record_attempt(n->ob, id, err[0] ? err : action.reason,
					   sched.due_realtime_ns);
		/* Even when the record could not be written: back off in memory. */
		set_schedule(n, id, &sched);
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
		if (!still_pending)
			break;
		rc = outbox_mark_failed(n->ob, id, reason);
		if (rc == 0 && status == 409 &&
		    outcome.conflict == MASAKARI_CONFLICT_HOST_ON_MAINTENANCE) {
			struct outbox_entry *m = outbox_find_mutable(n->ob, id);

			if (m)
				m->refused_maintenance = true; /* notifier_peer_notified */
		}
		if (status == 409 && outcome.conflict == MASAKARI_CONFLICT_HOST_ON_MAINTENANCE)
			/* Not "delivered": Masakari dropped it (issue 10, item 8). */
			log_error("notification %llu REFUSED by Masakari: the host is on "
				  "maintenance, so nothing is recovered (%s); kept in the outbox: "
				  "after checking the host, clear its on_maintenance in Masakari and "
				  "`mimamorictl outbox retry %llu`",
				  (unsigned long long)id, err, (unsigned long long)id);
		else
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
	if (n->delivery_fn && action.kind != DELIVERY_RETRY && action.kind != DELIVERY_REAUTH_RETRY &&
	    (still_pending || action.kind == DELIVERY_DONE))
		n->delivery_fn(n->delivery_ctx, id, action.kind == DELIVERY_DONE, status);
}

/* Keeps a Keystone token ready so a failure never waits for Keystone
 * (masakari-monitors pays ~0.9 s on its first notification). Called and
 * returns with the lock held; returns when to check again. */
static int64_t keep_token_fresh(struct notifier *n, int64_t now_mono)
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
		return now_mono + TOKEN_RETRY_S * (int64_t)NS_PER_S;
	}
	/* A token whose life is already over (clocks out of step with
	 * Keystone's): ask again later, not in a busy loop. */
	if (renew_at != 0 && renew_at <= now_mono)
		return now_mono + TOKEN_RETRY_S * (int64_t)NS_PER_S;
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
		const struct outbox_entry *e = next_due(n);
		struct delivery_clock now = clock_now();

		if (!e || delivery_schedule_wait_ns(&e->sched, now) > 0) {
			int64_t wake_at = e ? e->sched.due_mono_ns : INT64_MAX;

			if (now.mono_ns >= token_check_at) {
				token_check_at = keep_token_fresh(n, now.mono_ns);
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

/* The outbox stores wall-clock times; monotonic time does not survive a
 * reboot (or a restart): each pending entry's wait and age are converted
 * once here, clamped (delivery_schedule_restore). */
static void restore_schedules(struct notifier *n)
{
	struct delivery_clock now = clock_now();
	size_t count = outbox_list(n->ob, n->scan, OUTBOX_MAX_ENTRIES);
	size_t restored = 0;

	for (size_t i = 0; i < count; i++) {
		const struct outbox_entry *e = n->scan[i];
		int64_t origin = e->retried_realtime_ns > e->created_realtime_ns
					 ? e->retried_realtime_ns
					 : e->created_realtime_ns;
		struct delivery_schedule s;

		if (e->state != OUTBOX_PENDING)
			continue;
		s = delivery_schedule_restore(&n->policy, origin, e->next_attempt_realtime_ns, now);
		set_schedule(n, e->id, &s);
		restored++;
	}
	if (restored > 0)
		log_info("outbox: %zu pending notifications rescheduled from their stored "
			 "wall-clock times (waits capped at %lld ms)", restored,
			 (long long)(n->policy.max_backoff_ns / (int64_t)NS_PER_MS));
}

/* Called with the lock held. */
static int submit_locked(struct notifier *n, const char *body, int64_t failure_realtime_ns,
			 uint64_t *id_out)
{
	struct delivery_clock now = clock_now();
	uint64_t id = 0;
	int rc = outbox_append(n->ob, body, strlen(body), failure_realtime_ns, &id);

	if (rc < 0)
		return rc;
	/* Age counts from the submission, on the monotonic clock. */
	struct delivery_schedule s = delivery_schedule_start(now);

	set_schedule(n, id, &s);
	pthread_cond_signal(&n->wake);
	if (id_out)
		*id_out = id;
	return 0;
}

/* body is a COMPUTE_HOST notification about host. */
static bool compute_host_of(const char *body, const char *host)
{
	json_t *root = body ? json_loads(body, 0, NULL) : NULL;
	json_t *nt = json_object_get(root, "notification");
	const char *type = json_string_value(json_object_get(nt, "type"));
	const char *name = json_string_value(json_object_get(nt, "hostname"));
	bool match = type && name && strcmp(type, "COMPUTE_HOST") == 0 && strcmp(name, host) == 0;

	json_decref(root);
	return match;
}

/* e is a COMPUTE_HOST this daemon queued for a failure a peer notified
 * (notifier_peer_notified); called with the lock held. */
static bool peer_notified_covers(const struct notifier *n, const struct outbox_entry *e)
{
	if (!e->host_known)
		return false;
	for (size_t i = 0; i < n->n_peer_notified; i++)
		if (n->peer_notified[i].incarnation == e->host_incarnation &&
		    compute_host_of(e->body, n->peer_notified[i].name))
			return true;
	return false;
}

static struct alive_host *alive_of(struct notifier *n, const char *host)
{
	for (size_t i = 0; i < n->n_alive; i++)
		if (strcmp(n->alive[i].name, host) == 0)
			return &n->alive[i];
	return NULL;
}

/* A pending entry is not sent (see notifier_cancel_host); called with the
 * lock held. */
static void supersede(struct notifier *n, const struct outbox_entry *e, const char *why)
{
	uint64_t id = e->id;
	uint32_t attempts = e->attempts;
	int64_t now = realtime_ns();
	char reason[OUTBOX_REASON_LEN];
	int rc;

	snprintf(reason, sizeof(reason), "superseded: %s", why);
	rc = outbox_mark_failed(n->ob, id, reason);
	if (rc < 0) {
		struct outbox_entry *m = outbox_find_mutable(n->ob, id);

		/* Not durable: hold it in memory all the same (never due). */
		if (m)
			m->sched.due_mono_ns = INT64_MAX;
		log_error("outbox: cannot record notification %llu as superseded: %s (held in "
			  "memory; a restart loads it pending again)",
			  (unsigned long long)id, strerror(-rc));
	}
	log_error("COMPUTE_HOST notification %llu NOT sent: %s; its guests may need an "
		  "operator (`mimamorictl outbox retry %llu` sends it after all)",
		  (unsigned long long)id, reason, (unsigned long long)id);
	if (n->events) {
		struct delivery_record rec = { .outbox_id = id, .result = "superseded",
					       .attempts = attempts, .realtime_ns = now,
					       .error = reason };

		event_log_delivery(n->events, &rec);
	}
	if (n->delivery_fn)
		n->delivery_fn(n->delivery_ctx, id, false, 0);
}

int notifier_submit_host(struct notifier *n, const char *body, int64_t failure_realtime_ns,
			 const char *host, uint64_t incarnation, uint64_t *id_out)
{
	uint64_t id = 0;
	int rc;

	assert(host != NULL);
	pthread_mutex_lock(&n->lock);
	rc = submit_locked(n, body, failure_realtime_ns, &id);
	if (rc == 0) {
		struct outbox_entry *e = outbox_find_mutable(n->ob, id);
		const struct alive_host *a = alive_of(n, host);

		assert(e != NULL);
		e->host_incarnation = incarnation;
		e->host_known = true;
		if (a && a->incarnation > incarnation) {
			char why[OUTBOX_REASON_LEN];

			snprintf(why, sizeof(why),
				 "%s was already seen alive at incarnation %llu, above the notified "
				 "%llu", host, (unsigned long long)a->incarnation,
				 (unsigned long long)incarnation);
			supersede(n, e, why);
		}
		if (id_out)
			*id_out = id;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

size_t notifier_cancel_host(struct notifier *n, const char *host, uint64_t incarnation,
			    const char *reason)
{
	size_t superseded = 0, count;
	struct alive_host *a;

	assert(host != NULL && reason != NULL);
	if (strlen(host) >= HOST_NAME_LEN)
		return 0; /* no COMPUTE_HOST can name it: the mesh's names are shorter */
	pthread_mutex_lock(&n->lock);
	a = alive_of(n, host);
	if (!a) {
		a = &n->alive[n->n_alive < MAX_ALIVE_HOSTS ? n->n_alive++ : n->alive_next++ % MAX_ALIVE_HOSTS];
		snprintf(a->name, sizeof(a->name), "%s", host);
		a->incarnation = incarnation;
	} else if (incarnation > a->incarnation) {
		a->incarnation = incarnation;
	}
	/* Marking one failed changes no other entry's place in the list. */
	count = outbox_list(n->ob, n->scan, OUTBOX_MAX_ENTRIES);
	for (size_t i = 0; i < count; i++) {
		const struct outbox_entry *e = n->scan[i];
		char why[OUTBOX_REASON_LEN];

		if (e->state != OUTBOX_PENDING || e->host_incarnation >= incarnation ||
		    e->sched.due_mono_ns == INT64_MAX || !compute_host_of(e->body, host))
			continue;
		if (e->host_incarnation)
			snprintf(why, sizeof(why), "%s (notified at incarnation %llu)", reason,
				 (unsigned long long)e->host_incarnation);
		else
			snprintf(why, sizeof(why), "%s (queued before this daemon started)", reason);
		supersede(n, e, why);
		superseded++;
	}
	pthread_mutex_unlock(&n->lock);
	return superseded;
}

size_t notifier_peer_notified(struct notifier *n, const char *host, uint64_t incarnation)
{
	size_t settled = 0, count, k;
	struct alive_host *p = NULL;

	assert(host != NULL);
	if (strlen(host) >= HOST_NAME_LEN)
		return 0; /* no COMPUTE_HOST can name it */
	pthread_mutex_lock(&n->lock);
	for (k = 0; k < n->n_peer_notified; k++)
		if (strcmp(n->peer_notified[k].name, host) == 0 &&
		    n->peer_notified[k].incarnation == incarnation)
			p = &n->peer_notified[k];
	if (!p) {
		p = &n->peer_notified[n->n_peer_notified < MAX_ALIVE_HOSTS
					      ? n->n_peer_notified++
					      : n->peer_notified_next++ % MAX_ALIVE_HOSTS];
		snprintf(p->name, sizeof(p->name), "%s", host);
		p->incarnation = incarnation;
	}
	/* Ours already refused "on maintenance" before the peer's word came:
	 * settled now. Settling one changes no other entry's place. */
	count = outbox_list(n->ob, n->scan, OUTBOX_MAX_ENTRIES);
	for (size_t i = 0; i < count; i++) {
		const struct outbox_entry *e = n->scan[i];
		uint64_t id = e->id;

		if (e->state != OUTBOX_FAILED || !e->refused_maintenance ||
		    !peer_notified_covers(n, e))
			continue;
		if (outbox_mark_delivered(n->ob, id) < 0)
			continue;
		settled++;
		log_info("notification %llu settled: Masakari refused it \"on maintenance\" because "
			 "a peer's notification of the same failure (%s at incarnation %llu) was "
			 "accepted first", (unsigned long long)id, host,
			 (unsigned long long)incarnation);
	}
	pthread_mutex_unlock(&n->lock);
	return settled;
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
	n->scan = calloc(OUTBOX_MAX_ENTRIES, sizeof(*n->scan));
	if (!n->scan) {
		snprintf(err, errlen, "out of memory");
		masakari_client_free(n->mc);
		free(n);
		return NULL;
	}
	n->ob = ob;
	n->policy = *policy;
	restore_schedules(n);
	n->events = events;
	n->metrics = metrics;
	n->rng_state = (unsigned)realtime_ns();
	masakari_client_get_status(n->mc, &n->client_status);
	pthread_mutex_init(&n->lock, NULL);
	/* Waits run on the monotonic clock: a wall-clock step neither delays
	 * nor hastens a retry (the outbox stores wall-clock times, converted
	 * once at start: restore_schedules). */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (thread_start_normal_priority(&n->thread, sender_thread, n) != 0) {
		snprintf(err, errlen, "cannot start the notifier thread");
		masakari_client_free(n->mc);
		free(n->scan);
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
	free(n->scan);
	free(n);
}

int notifier_submit(struct notifier *n, const char *body, int64_t failure_realtime_ns,
		    uint64_t *id_out)
{
	int rc;

	pthread_mutex_lock(&n->lock);
	rc = submit_locked(n, body, failure_realtime_ns, id_out);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

int notifier_retry(struct notifier *n, uint64_t id)
{
	int rc;

	struct delivery_clock now = clock_now();

	pthread_mutex_lock(&n->lock);
	rc = outbox_retry(n->ob, id, now.realtime_ns);
	if (rc == 0) {
		/* The operator's retry restarts the age limit. */
		struct delivery_schedule s = delivery_schedule_start(now);

		set_schedule(n, id, &s);
		pthread_cond_signal(&n->wake);
	}
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
	/* The plan in force (after a restart the stored time may lie further
	 * ahead than the capped wait: delivery_schedule_restore). */
	out->next_attempt_realtime_ns = e->sched.due_realtime_ns != 0 ? e->sched.due_realtime_ns
								      : e->next_attempt_realtime_ns;
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
