/* The notifier over a real outbox (a scratch directory) and a Masakari
 * endpoint that refuses connections (127.0.0.1:1), so entries stay
 * pending: a COMPUTE_HOST for a host the mesh sees alive again at a newer
 * incarnation is superseded, never sent (issue 10, item 11): kept as
 * failed with the reason, in the event log, told to the delivery callback;
 * one queued later for an older incarnation is superseded at once; after a
 * restart (incarnation unknown) any alive news supersedes it. Other hosts'
 * and PROCESS notifications are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/notification.h"
#include "daemon/common/event_log.h"
#include "daemon/notifier/notifier.h"
#include "os/clock.h"

#define MAX_TOLD 64

struct told_one {
	uint64_t id;
	bool delivered;
	long http;
};

struct told {
	pthread_mutex_t lock;
	size_t n;
	struct told_one v[MAX_TOLD];
};

struct fixture {
	char dir[64];
	struct event_log *events;
	struct notifier *n;
	struct told told;
};

static void on_delivery(void *ctx, uint64_t id, bool delivered, long http)
{
	struct told *t = ctx;

	pthread_mutex_lock(&t->lock);
	if (t->n < MAX_TOLD)
		t->v[t->n++] = (struct told_one){ id, delivered, http };
	pthread_mutex_unlock(&t->lock);
}

static bool was_told_given_up(struct fixture *f, uint64_t id)
{
	bool found = false;

	pthread_mutex_lock(&f->told.lock);
	for (size_t i = 0; i < f->told.n; i++)
		if (f->told.v[i].id == id && !f->told.v[i].delivered && f->told.v[i].http == 0)
			found = true;
	pthread_mutex_unlock(&f->told.lock);
	return found;
}

static void start_at(struct fixture *f, const char *endpoint)
{
	struct masakari_client_config mcfg;
	struct delivery_policy_config policy;
	struct outbox *ob;
	char err[256];

	memset(&mcfg, 0, sizeof(mcfg));
	mcfg.noauth = true;
	snprintf(mcfg.endpoint_override, sizeof(mcfg.endpoint_override), "%s", endpoint);
	mcfg.timeout_ms = 200;
	delivery_policy_defaults(&policy);
	policy.max_backoff_ns = 1 * (int64_t)NS_PER_S; /* keeps the waits below short */
	ob = outbox_open(f->dir, NULL, err, sizeof(err));
	if (!ob)
		fail_msg("outbox: %s", err);
	f->n = notifier_start(&mcfg, &policy, ob, f->events, NULL, err, sizeof(err));
	if (!f->n)
		fail_msg("notifier: %s", err);
	notifier_set_delivery_callback(f->n, on_delivery, &f->told);
}

static void start(struct fixture *f)
{
	start_at(f, "http://127.0.0.1:1/v1");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(f->dir, sizeof(f->dir), "%s/test_notifier.XXXXXX", tmp);
	assert_non_null(mkdtemp(f->dir));
	pthread_mutex_init(&f->told.lock, NULL);
	f->events = event_log_open(f->dir, err, sizeof(err));
	if (!f->events)
		fail_msg("event log: %s", err);
	start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	notifier_set_delivery_callback(f->n, NULL, NULL);
	notifier_stop(f->n);
	event_log_close(f->events);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	pthread_mutex_destroy(&f->told.lock);
	free(f);
	return 0;
}

static uint64_t submit_host(struct fixture *f, const char *host, uint64_t inc)
{
	char *body = notification_body_compute_host(host, true, realtime_ns());
	uint64_t id = 0;

	assert_non_null(body);
	assert_int_equal(notifier_submit_host(f->n, body, realtime_ns(), host, inc, &id), 0);
	free(body);
	assert_true(id > 0);
	return id;
}

static uint64_t submit_process(struct fixture *f, const char *host)
{
	char *body = notification_body_process(host, "nova-compute", realtime_ns());
	uint64_t id = 0;

	assert_non_null(body);
	assert_int_equal(notifier_submit(f->n, body, realtime_ns(), &id), 0);
	free(body);
	return id;
}

static struct notifier_entry entry(struct fixture *f, uint64_t id)
{
	struct notifier_entry e;

	assert_int_equal(notifier_get_entry(f->n, id, &e), 0);
	return e;
}

static void assert_superseded(struct fixture *f, uint64_t id, const char *why)
{
	struct notifier_entry e = entry(f, id);

	assert_int_equal(e.state, OUTBOX_FAILED);
	if (strncmp(e.last_error, "superseded: ", 12) != 0 || !strstr(e.last_error, why))
		fail_msg("outbox %llu: reason \"%s\", want superseded ... %s", (unsigned long long)id,
			 e.last_error, why);
	assert_true(was_told_given_up(f, id));
}

static bool in_event_log(struct fixture *f, uint64_t id, const char *word)
{
	static struct event_record recs[256];
	uint64_t first, last;
	size_t k = event_log_since(f->events, 0, recs, 256, &first, &last);

	for (size_t i = 0; i < k; i++)
		if (recs[i].outbox_id == id && strcmp(recs[i].kind, "delivery") == 0 &&
		    strstr(recs[i].cause, word))
			return true;
	return false;
}

static void test_alive_at_newer_incarnation_supersedes(void **state)
{
	struct fixture *f = *state;
	uint64_t a = submit_host(f, "h1", 3);
	uint64_t b = submit_process(f, "h1");
	uint64_t c = submit_host(f, "h2", 3);

	/* Alive at the notified incarnation: the failure it reported may
	 * still stand. */
	assert_int_equal(notifier_cancel_host(f->n, "h1", 3, "h1 is alive at 3"), 0);
	assert_int_equal(entry(f, a).state, OUTBOX_PENDING);
	assert_int_equal(notifier_cancel_host(f->n, "h1", 4, "h1 is alive at 4"), 1);
	assert_superseded(f, a, "h1 is alive at 4 (notified at incarnation 3)");
	assert_true(in_event_log(f, a, "superseded"));
	/* Another host's, and a PROCESS about h1, are not touched. */
	assert_int_equal(entry(f, b).state, OUTBOX_PENDING);
	assert_int_equal(entry(f, c).state, OUTBOX_PENDING);
	/* Queued late (a backup's takeover) for the old incarnation: at once. */
	uint64_t d = submit_host(f, "h1", 3);
	assert_superseded(f, d, "already seen alive at incarnation 4");
	/* A new failure at the newer incarnation is sent. */
	uint64_t e = submit_host(f, "h1", 4);
	assert_int_equal(entry(f, e).state, OUTBOX_PENDING);
	assert_int_equal(notifier_cancel_host(f->n, "h1", 4, "again"), 0);
	/* The operator can send a superseded one after all. */
	assert_int_equal(notifier_retry(f->n, a), 0);
	assert_int_equal(entry(f, a).state, OUTBOX_PENDING);
}

static void test_restart_loaded_entry_superseded_by_alive(void **state)
{
	struct fixture *f = *state;
	uint64_t a = submit_host(f, "h1", 7);
	uint64_t c = submit_host(f, "h2", 7);

	/* A crash and restart: the outbox is loaded, the incarnation it was
	 * notified at is not stored. */
	notifier_set_delivery_callback(f->n, NULL, NULL);
	notifier_stop(f->n);
	start(f);
	assert_int_equal(entry(f, a).state, OUTBOX_PENDING);
	assert_int_equal(notifier_cancel_host(f->n, "h1", 1, "h1 is alive at 1"), 1);
	assert_superseded(f, a, "queued before this daemon started");
	assert_int_equal(entry(f, c).state, OUTBOX_PENDING);
	/* Stored: still superseded after another restart. */
	notifier_set_delivery_callback(f->n, NULL, NULL);
	notifier_stop(f->n);
	start(f);
	struct notifier_entry e = entry(f, a);
	assert_int_equal(e.state, OUTBOX_FAILED);
	assert_non_null(strstr(e.last_error, "superseded"));
}

/* Loaded pending entries are rescheduled on the monotonic clock: one whose
 * stored next attempt lies a day ahead (written by a clock that was wrong)
 * is attempted within max_backoff, not a day later. */
static void test_restart_reschedules_from_stored_times(void **state)
{
	struct fixture *f = *state;
	uint64_t a = submit_host(f, "h3", 1);
	uint64_t deadline;

	/* Wait for the first refused attempt: next attempt stored. */
	deadline = mono_ns() + 5 * NS_PER_S;
	while (entry(f, a).attempts < 1 && mono_ns() < deadline)
		usleep(10000);
	assert_true(entry(f, a).attempts >= 1);
	notifier_stop(f->n);
	/* The log as a clock a day ahead would have left it: retry in 24 h. */
	char err[256];
	struct outbox *ob = outbox_open(f->dir, NULL, err, sizeof(err));
	assert_non_null(ob);
	assert_int_equal(outbox_record_attempt(ob, a, "test", realtime_ns() + 24 * 3600 * (int64_t)NS_PER_S), 0);
	uint32_t before = outbox_find(ob, a)->attempts;
	outbox_close(ob);
	start(f);
	/* Attempted within max_backoff (1 s here), plus slack. */
	deadline = mono_ns() + 5 * NS_PER_S;
	while (entry(f, a).attempts <= before && mono_ns() < deadline)
		usleep(50000);
	assert_true(entry(f, a).attempts > before);
}

/* Masakari's API as it answers a COMPUTE_HOST for a host its engine has
 * put on maintenance: the 409 and its exact body, recorded from Masakari
 * 14.0.2 (FIELD-GUIDE; tests/fuzz/corpus/masakari_reply). One answer per
 * connection, on a thread. */
struct on_maintenance {
	int fd;
	pthread_t thread;
	atomic_uint requests;
	char url[64];
};

static void *on_maintenance_main(void *arg)
{
	static const char body[] =
		"{\"conflict\": {\"code\": 409, \"message\": \"Notification received from host "
		"h1 of type 'COMPUTE_HOST' is ignored as the host is already under maintenance.\"}}";
	struct on_maintenance *m = arg;
	int c;

	while ((c = accept(m->fd, NULL, NULL)) >= 0) {
		char req[8192], reply[512];
		size_t got = 0;
		ssize_t k;
		const char *end = NULL, *cl;

		/* the request: headers, then Content-Length bytes of body */
		while (got < sizeof(req) - 1 && (k = recv(c, req + got, sizeof(req) - 1 - got, 0)) > 0) {
			got += (size_t)k;
			req[got] = '\0';
			end = strstr(req, "\r\n\r\n");
			cl = strcasestr(req, "content-length:");
			if (end && (!cl || got >= (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10)))
				break;
		}
		int len = snprintf(reply, sizeof(reply),
				   "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n"
				   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				   strlen(body), body);
		if (end && send(c, reply, (size_t)len, MSG_NOSIGNAL) == len)
			atomic_fetch_add(&m->requests, 1);
		close(c);
	}
	return NULL;
}

static void on_maintenance_start(struct on_maintenance *m)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(m->fd >= 0);
	assert_int_equal(bind(m->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(m->fd, 16), 0);
	assert_int_equal(getsockname(m->fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(m->url, sizeof(m->url), "http://127.0.0.1:%u/v1", ntohs(a.sin_port));
	atomic_init(&m->requests, 0);
	assert_int_equal(pthread_create(&m->thread, NULL, on_maintenance_main, m), 0);
}

static void on_maintenance_stop(struct on_maintenance *m)
{
	shutdown(m->fd, SHUT_RDWR);
	pthread_join(m->thread, NULL);
	close(m->fd);
}

static void restart_at(struct fixture *f, const char *endpoint)
{
	notifier_set_delivery_callback(f->n, NULL, NULL);
	notifier_stop(f->n);
	start_at(f, endpoint);
}

/* Until entry id left the outbox's pending set (10 s at most). */
static void wait_settled(struct fixture *f, uint64_t id)
{
	uint64_t deadline = mono_ns() + 10 * NS_PER_S;
	struct notifier_entry e;

	while (notifier_get_entry(f->n, id, &e) == 0 && e.state == OUTBOX_PENDING) {
		assert_true(mono_ns() < deadline);
		usleep(10000);
	}
}

/* The event log's delivery record of id says result. */
static bool delivery_logged_as(struct fixture *f, uint64_t id, const char *result)
{
	static struct event_record recs[256];
	uint64_t first, last;
	size_t k = event_log_since(f->events, 0, recs, 256, &first, &last);

	for (size_t i = 0; i < k; i++)
		if (recs[i].outbox_id == id && strcmp(recs[i].kind, "delivery") == 0 &&
		    strcmp(recs[i].verdict, result) == 0)
			return true;
	return false;
}

static bool was_told(struct fixture *f, uint64_t id, bool delivered, long http)
{
	bool found = false;

	pthread_mutex_lock(&f->told.lock);
	for (size_t i = 0; i < f->told.n; i++)
		if (f->told.v[i].id == id && f->told.v[i].delivered == delivered &&
		    f->told.v[i].http == http)
			found = true;
	pthread_mutex_unlock(&f->told.lock);
	return found;
}

/* Issue 10, item 8: a backup notifier's COMPUTE_HOST after a peer's was
 * accepted meets Masakari's "on maintenance" 409 (it checks maintenance
 * before duplicates). Known before the answer: a duplicate, delivered.
 * The same answer for another host, or for another failure (incarnation)
 * of this one, stays a refusal: failed, kept, alerted. */
static void test_maintenance_after_peer_notified_is_duplicate(void **state)
{
	struct fixture *f = *state;
	struct on_maintenance m;
	struct notifier_entry e;

	on_maintenance_start(&m);
	restart_at(f, m.url);
	assert_int_equal(notifier_peer_notified(f->n, "h1", 5), 0);
	uint64_t dup = submit_host(f, "h1", 5);
	uint64_t other_host = submit_host(f, "h2", 5);
	uint64_t other_failure = submit_host(f, "h1", 6);

	wait_settled(f, dup);
	wait_settled(f, other_host);
	wait_settled(f, other_failure);
	assert_int_equal(notifier_get_entry(f->n, dup, &e), -ENOENT); /* delivered */
	assert_true(was_told(f, dup, true, 409));
	assert_true(delivery_logged_as(f, dup, "duplicate"));
	assert_true(delivery_logged_as(f, other_host, "failed"));
	assert_int_equal(entry(f, other_host).state, OUTBOX_FAILED);
	assert_true(was_told(f, other_host, false, 409));
	assert_int_equal(entry(f, other_failure).state, OUTBOX_FAILED);
	assert_true(atomic_load(&m.requests) >= 3);
	on_maintenance_stop(&m);
}

/* The peer's word after our answer: the entry already failed "on
 * maintenance" is settled then; one failed for another reason is not. */
static void test_peer_notified_later_settles_refused_entry(void **state)
{
	struct fixture *f = *state;
	struct on_maintenance m;
	struct notifier_entry e;

	on_maintenance_start(&m);
	restart_at(f, m.url);
	uint64_t refused = submit_host(f, "h1", 5);

	wait_settled(f, refused);
	assert_int_equal(entry(f, refused).state, OUTBOX_FAILED);
	on_maintenance_stop(&m);
	restart_at(f, "http://127.0.0.1:1/v1");
	/* after a restart the incarnation is unknown: never matched */
	assert_int_equal(notifier_peer_notified(f->n, "h1", 5), 0);
	assert_int_equal(entry(f, refused).state, OUTBOX_FAILED);

	on_maintenance_start(&m);
	restart_at(f, m.url);
	uint64_t again = submit_host(f, "h1", 7);
	uint64_t superseded = submit_host(f, "h3", 7);

	assert_int_equal(notifier_cancel_host(f->n, "h3", 8, "h3 is alive at 8"), 1);
	wait_settled(f, again);
	assert_int_equal(entry(f, again).state, OUTBOX_FAILED);
	assert_int_equal(notifier_peer_notified(f->n, "h1", 6), 0); /* another failure */
	assert_int_equal(notifier_peer_notified(f->n, "h3", 7), 0); /* not refused for maintenance */
	assert_int_equal(entry(f, superseded).state, OUTBOX_FAILED);
	assert_int_equal(notifier_peer_notified(f->n, "h1", 7), 1);
	assert_int_equal(notifier_get_entry(f->n, again, &e), -ENOENT);
	on_maintenance_stop(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alive_at_newer_incarnation_supersedes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_loaded_entry_superseded_by_alive, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_reschedules_from_stored_times, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_maintenance_after_peer_notified_is_duplicate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_notified_later_settles_refused_entry, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
