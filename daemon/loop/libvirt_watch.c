/* The libvirt watcher thread (see libvirt_watch.h).
 *
 * libvirt delivers events only while its event loop runs, so this thread
 * does nothing but run it: connect, subscribe, run the loop until the
 * connection closes (libvirtd died, or the keepalive found it hung), then
 * reconnect with exponential backoff. Each callback turns what libvirt
 * said into a struct fact and writes it whole to a pipe; a fact is smaller
 * than PIPE_BUF, so the write is atomic and the main thread never sees a
 * partial record. */
#include "daemon/loop/libvirt_watch.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "core/watchlist.h"
#include "daemon/common/proc_scan.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/threads.h"

_Static_assert(sizeof(struct fact) <= PIPE_BUF, "facts must be written atomically");

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
/* A hung libvirtd is declared gone after interval * (count + 1) seconds. */
#define KEEPALIVE_INTERVAL_S 2
#define KEEPALIVE_COUNT 3
#define STOP_POLL_MS 200
#define CMDLINE_MAX 65536
#define STATE_CHECKS_MAX 64
#define STATE_CHECK_RETRY_MS 1000
#define STATE_CHECK_ATTEMPTS 5

/* A domain whose state the main thread asked for (libvirt_watch_check_state). */
struct state_check {
	bool used;
	char uuid[FACT_UUID_LEN];
	uint64_t due_ns;
	unsigned attempts;
};

struct libvirt_watch {
	char uri[512];
	int pipe_rd, pipe_wr;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool connection_closed;
	virConnectPtr conn;
	int lifecycle_cb_id, io_error_cb_id;
	pthread_mutex_t status_lock; /* guards status only */
	struct libvirt_watch_status status;
	pthread_mutex_t checks_lock; /* guards checks only */
	struct state_check checks[STATE_CHECKS_MAX];
};

static void emit(struct libvirt_watch *w, const struct fact *f)
{
	ssize_t n;

	do
		n = write(w->pipe_wr, f, sizeof(*f));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*f))
		log_error("libvirt: cannot queue a fact for the main loop: %s",
			  n < 0 ? strerror(errno) : "short write");
}

static void set_status(struct libvirt_watch *w, bool connected, const char *error)
{
	pthread_mutex_lock(&w->status_lock);
	w->status.connected = connected;
	if (error)
		snprintf(w->status.last_error, sizeof(w->status.last_error), "%s", error);
	pthread_mutex_unlock(&w->status_lock);
}

int qemu_cmdline_parse(const char *cmdline, size_t len, char uuid[FACT_UUID_LEN],
		       char name[FACT_NAME_LEN])
{
	const char *p = cmdline, *end = cmdline + len;
	const char *prev = NULL;
	bool found = false;

	name[0] = '\0';
	while (p < end) {
		const char *arg = p;
		size_t alen = strnlen(arg, (size_t)(end - arg));

		if (prev && strcmp(prev, "-uuid") == 0 && alen == FACT_UUID_LEN - 1) {
			memcpy(uuid, arg, alen);
			uuid[alen] = '\0';
			found = true;
		} else if (prev && strcmp(prev, "-name") == 0) {
			/* "guest=NAME,debug-threads=on" or plain "NAME" */
			const char *s = strncmp(arg, "guest=", 6) == 0 ? arg + 6 : arg;
			size_t n = strcspn(s, ",");

			if (n >= FACT_NAME_LEN)
				n = FACT_NAME_LEN - 1;
			memcpy(name, s, n);
			name[n] = '\0';
		}
		/* an argument not NUL-terminated inside the buffer ends the scan */
		if (arg + alen >= end)
			break;
		prev = arg;
		p = arg + alen + 1;
	}
	return found ? 0 : -1;
}

static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

struct qemu_search {
	const char *uuid;
	char *name_out;
	uint32_t found;
	unsigned long long found_start; /* its start time, clock ticks since boot */
	unsigned matches;
};

/* Field 22 of /proc/PID/stat (after the parenthesised comm, which may hold
 * spaces); 0 when unreadable. */
static unsigned long long proc_start_ticks(uint32_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	n = read_small_file(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	/* after ") ": state is field 3, starttime field 22 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			    "%*d %*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

static bool match_qemu(uint32_t pid, const char *comm, void *arg)
{
	static char cmdline[CMDLINE_MAX];
	struct qemu_search *q = arg;
	char path[64], got_uuid[FACT_UUID_LEN], got_name[FACT_NAME_LEN];
	ssize_t n;

	if (!watchlist_prefix_of(comm, WATCH_DEATH_GUEST))
		return true;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	n = read_small_file(path, cmdline, sizeof(cmdline));
	if (n <= 0)
		return true;
	if (qemu_cmdline_parse(cmdline, (size_t)n, got_uuid, got_name) != 0 ||
	    strcmp(got_uuid, q->uuid) != 0)
		return true;
	/* Two qemu with one uuid: a previous run still exiting, or both ends
	 * of a live migration between two libvirtd on one kernel (the tests).
	 * The youngest is the one libvirt's event is about. */
	unsigned long long start = proc_start_ticks(pid);
	q->matches++;
	if (q->found == 0 || start >= q->found_start) {
		q->found = pid;
		q->found_start = start;
		snprintf(q->name_out, FACT_NAME_LEN, "%s", got_name);
	}
	return true;
}

/* Finds the qemu process whose -uuid is uuid. /proc is the host's even
 * when libvirtd runs in another mount namespace, which is why this does not
 * rely on /run/libvirt/qemu/NAME.pid. Returns the tgid or 0. */
static uint32_t find_qemu_tgid(const char *uuid, char name_out[FACT_NAME_LEN])
{
	struct qemu_search q = { .uuid = uuid, .name_out = name_out };

	proc_for_each(match_qemu, &q);
	if (q.matches > 1)
		log_info("libvirt: %u qemu processes carry uuid %s; the youngest, %u, is taken",
			 q.matches, uuid, q.found);
	return q.found;
}

static void domain_ids(virDomainPtr dom, char uuid[FACT_UUID_LEN], char name[FACT_NAME_LEN])
{
	char buf[VIR_UUID_STRING_BUFLEN];
	const char *n = virDomainGetName(dom);

	if (virDomainGetUUIDString(dom, buf) == 0)
		snprintf(uuid, FACT_UUID_LEN, "%s", buf);
	else
		uuid[0] = '\0';
	snprintf(name, FACT_NAME_LEN, "%s", n ? n : "");
}

/* The destination of an incoming live migration, found when we connect
 * after its STARTED/MIGRATED: paused for the migration, and libvirt (9.0)
 * refuses job statistics "available only on the source host". The source
 * is paused for the migration only at the switch-over, and answers. */
static bool incoming_migration(virDomainPtr dom)
{
	int state = 0, reason = 0, type = 0, n = 0;
	virTypedParameterPtr params = NULL;

	if (virDomainGetState(dom, &state, &reason, 0) < 0 || state != VIR_DOMAIN_PAUSED ||
	    reason != VIR_DOMAIN_PAUSED_MIGRATION)
		return false;
	if (virDomainGetJobStats(dom, &type, &params, &n, 0) == 0) {
		virTypedParamsFree(params, n);
		return false;
	}
	return virGetLastErrorCode() == VIR_ERR_OPERATION_UNSUPPORTED;
}

/* The scan at (re)connection, after the event subscription, vouches that
 * every later event of this run reaches us, and a panic before it shows in
 * libvirt's state: CRASHED, or PAUSED/CRASHED (a libvirtd that restarted
 * finds qemu's guest-panicked runstate so). Unread state vouches nothing. */
static void note_scanned_state(virDomainPtr dom, struct guest_running_fact *g)
{
	int state = 0, reason = 0;

	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		return;
	g->scanned = true;
	g->crashed = state == VIR_DOMAIN_CRASHED ||
		     (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_CRASHED);
}

/* The tgid<->guest mapping, confirmed: libvirt says the domain is active
 * and a qemu process carries its uuid. at_connect: a scan of the domains
 * that were running before we listened, whose incoming migrations no
 * STARTED/MIGRATED event will tell us about. */
static void emit_guest_running(struct libvirt_watch *w, virDomainPtr dom, bool at_connect)
{
	struct fact f = { .kind = FACT_GUEST_RUNNING };
	char cmd_name[FACT_NAME_LEN];

	domain_ids(dom, f.guest.uuid, f.guest.name);
	f.guest.tgid = find_qemu_tgid(f.guest.uuid, cmd_name);
	f.guest.incoming_migration = at_connect && incoming_migration(dom);
	if (at_connect)
		note_scanned_state(dom, &f.guest);
	if (f.guest.incoming_migration)
		log_info("libvirt: guest %s (%s) is the destination of an incoming migration",
			 f.guest.name, f.guest.uuid);
	f.guest.ts_ns = mono_ns();
	if (f.guest.tgid == 0) {
		log_warn("libvirt: guest %s (%s) is active but no qemu process carries its uuid",
			 f.guest.name, f.guest.uuid);
		return;
	}
	emit(w, &f);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			void *opaque)
{
	struct libvirt_watch *w = opaque;
	struct fact f = { .kind = FACT_LIBVIRT_LIFECYCLE };

	(void)conn;
	f.lifecycle.ts_ns = mono_ns();
	domain_ids(dom, f.lifecycle.uuid, f.lifecycle.name);
	f.lifecycle.event = event;
	f.lifecycle.detail = detail;
	emit(w, &f);
	/* STARTED resets the guest's incarnation in the core; the new qemu
	 * tgid must follow it, not precede it. */
	if (event == VIR_DOMAIN_EVENT_STARTED || event == VIR_DOMAIN_EVENT_RESUMED)
		emit_guest_running(w, dom, false);
	return 0;
}

static void on_io_error(virConnectPtr conn, virDomainPtr dom, const char *src_path,
			const char *dev_alias, int action, const char *reason, void *opaque)
{
	struct libvirt_watch *w = opaque;
	struct fact f = { .kind = FACT_LIBVIRT_IO_ERROR };

	(void)conn;
	f.io_error.ts_ns = mono_ns();
	domain_ids(dom, f.io_error.uuid, f.io_error.name);
	f.io_error.action = action;
	snprintf(f.io_error.reason, sizeof(f.io_error.reason), "%s%s%s%s%s",
		 reason && *reason ? reason : "", reason && *reason ? " " : "",
		 dev_alias ? dev_alias : "", src_path ? ":" : "", src_path ? src_path : "");
	emit(w, &f);
}

/* One state check on the live connection: 1 when done (a fact emitted, or
 * given up), 0 to ask again later (still active: libvirt may still be
 * stopping it; or the call failed). */
static int check_state(struct libvirt_watch *w, const struct state_check *c)
{
	struct fact f = { .kind = FACT_LIBVIRT_STATE };
	bool last = c->attempts + 1 >= STATE_CHECK_ATTEMPTS;
	virDomainPtr dom = virDomainLookupByUUIDString(w->conn, c->uuid);
	int state = 0, reason = 0;

	snprintf(f.state.uuid, sizeof(f.state.uuid), "%s", c->uuid);
	if (!dom && virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
		if (last)
			log_warn("libvirt: cannot look up domain %s to learn why libvirt stopped it: %s",
				 c->uuid, virGetLastErrorMessage());
		return last;
	}
	if (dom) {
		int rc = virDomainGetState(dom, &state, &reason, 0);

		domain_ids(dom, f.state.uuid, f.state.name);
		virDomainFree(dom);
		if (rc < 0 || (state != VIR_DOMAIN_SHUTOFF && !last)) {
			if (rc < 0 && last)
				log_warn("libvirt: cannot read the state of %s: %s", c->uuid,
					 virGetLastErrorMessage());
			return rc < 0 ? last : 0;
		}
		f.state.found = true;
		f.state.state = state;
		f.state.reason = reason;
	}
	f.state.ts_ns = mono_ns();
	log_info("libvirt: domain %s %s: state %d reason %d", f.state.name, f.state.uuid, state,
		 reason);
	emit(w, &f);
	return 1;
}

static void run_due_state_checks(struct libvirt_watch *w)
{
	uint64_t now = mono_ns();

	for (size_t i = 0; i < STATE_CHECKS_MAX; i++) {
		struct state_check c;

		pthread_mutex_lock(&w->checks_lock);
		c = w->checks[i];
		pthread_mutex_unlock(&w->checks_lock);
		if (!c.used || c.due_ns > now)
			continue;
		int done = check_state(w, &c);

		/* the main thread only fills unused slots: this one is still c */
		pthread_mutex_lock(&w->checks_lock);
		if (done) {
			w->checks[i].used = false;
		} else {
			w->checks[i].attempts++;
			w->checks[i].due_ns = now + (uint64_t)STATE_CHECK_RETRY_MS * 1000000u;
		}
		pthread_mutex_unlock(&w->checks_lock);
	}
}

int libvirt_watch_check_state(struct libvirt_watch *w, const char *uuid, unsigned delay_ms)
{
	int rc = -ENOSPC;

	pthread_mutex_lock(&w->checks_lock);
	for (size_t i = 0; i < STATE_CHECKS_MAX; i++) {
		struct state_check *c = &w->checks[i];

		if (c->used)
			continue;
		memset(c, 0, sizeof(*c));
		c->used = true;
		snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
		c->due_ns = mono_ns() + (uint64_t)delay_ms * 1000000u;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&w->checks_lock);
	return rc;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct libvirt_watch *w = opaque;

	(void)conn;
	(void)reason;
	atomic_store(&w->connection_closed, true);
}

static void on_stop_poll(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
	/* Only here so virEventRunDefaultImpl returns and the loop re-checks
	 * the stop flag. */
}

static void silence_libvirt_errors(void *opaque, virErrorPtr err)
{
	(void)opaque;
	log_debug("libvirt: %s", err && err->message ? err->message : "error");
}

static void emit_connection(struct libvirt_watch *w, bool up)
{
	struct fact f = { .kind = FACT_LIBVIRT_CONNECTION };

	f.connection.ts_ns = mono_ns();
	f.connection.up = up;
	emit(w, &f);
}

static int connect_and_subscribe(struct libvirt_watch *w)
{
	virDomainPtr *doms = NULL;
	int n;

	w->conn = virConnectOpen(w->uri);
	if (!w->conn)
		return -1;
	atomic_store(&w->connection_closed, false);
	if (virConnectSetKeepAlive(w->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) < 0)
		log_warn("libvirt: keepalive not supported by %s; a hung libvirtd goes unnoticed",
			 w->uri);
	virConnectRegisterCloseCallback(w->conn, on_close, w, NULL);
	w->lifecycle_cb_id = virConnectDomainEventRegisterAny(
		w->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), w, NULL);
	w->io_error_cb_id = virConnectDomainEventRegisterAny(
		w->conn, NULL, VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON,
		VIR_DOMAIN_EVENT_CALLBACK(on_io_error), w, NULL);
	if (w->lifecycle_cb_id < 0 || w->io_error_cb_id < 0) {
		virConnectUnregisterCloseCallback(w->conn, on_close);
		virConnectClose(w->conn);
		w->conn = NULL;
		return -1;
	}
	emit_connection(w, true);
	/* Guests that were already running when we (re)connected. */
	n = virConnectListAllDomains(w->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	for (int i = 0; i < n; i++) {
		emit_guest_running(w, doms[i], true);
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

static void disconnect(struct libvirt_watch *w)
{
	if (!w->conn)
		return;
	if (w->lifecycle_cb_id >= 0)
		virConnectDomainEventDeregisterAny(w->conn, w->lifecycle_cb_id);
	if (w->io_error_cb_id >= 0)
		virConnectDomainEventDeregisterAny(w->conn, w->io_error_cb_id);
	virConnectUnregisterCloseCallback(w->conn, on_close);
	virConnectClose(w->conn);
	w->conn = NULL;
	w->lifecycle_cb_id = w->io_error_cb_id = -1;
}

static void sleep_unless_stopped(struct libvirt_watch *w, unsigned ms)
{
	while (ms > 0 && !atomic_load(&w->stop)) {
		unsigned step = ms < STOP_POLL_MS ? ms : STOP_POLL_MS;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void *watch_thread(void *arg)
{
	struct libvirt_watch *w = arg;
	unsigned backoff_ms = RECONNECT_MIN_MS;
	bool ever_connected = false;
	int timer = virEventAddTimeout(STOP_POLL_MS, on_stop_poll, w, NULL);

	while (!atomic_load(&w->stop)) {
		if (connect_and_subscribe(w) < 0) {
			virErrorPtr e = virGetLastError();
			const char *msg = e && e->message ? e->message : "unknown error";

			set_status(w, false, msg);
			log_warn("libvirt: cannot connect to %s: %s (retry in %u ms)", w->uri, msg,
				 backoff_ms);
			sleep_unless_stopped(w, backoff_ms);
			backoff_ms = backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff_ms * 2;
			continue;
		}
		if (ever_connected) {
			pthread_mutex_lock(&w->status_lock);
			w->status.reconnects++;
			pthread_mutex_unlock(&w->status_lock);
		}
		ever_connected = true;
		backoff_ms = RECONNECT_MIN_MS;
		set_status(w, true, NULL);
		log_info("libvirt: connected to %s", w->uri);
		/* Events first, then checks: a STOPPED libvirt sent before its
		 * state was read reaches the core before the state does. */
		while (!atomic_load(&w->stop) && !atomic_load(&w->connection_closed)) {
			if (virEventRunDefaultImpl() < 0) {
				log_warn("libvirt: event loop failed");
				break;
			}
			run_due_state_checks(w);
		}
		disconnect(w);
		emit_connection(w, false);
		if (!atomic_load(&w->stop)) {
			set_status(w, false, "connection closed (libvirtd stopped or hung)");
			log_warn("libvirt: connection to %s lost; kernel facts still decide for known guests",
				 w->uri);
		}
	}
	if (timer >= 0)
		virEventRemoveTimeout(timer);
	return NULL;
}

struct libvirt_watch *libvirt_watch_start(const char *uri, char *err, size_t errlen)
{
	static bool event_impl_registered;
	struct libvirt_watch *w;
	int fds[2];

	assert(uri && err);
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(w->uri, sizeof(w->uri), "%s", uri);
	snprintf(w->status.uri, sizeof(w->status.uri), "%s", uri);
	w->lifecycle_cb_id = w->io_error_cb_id = -1;
	pthread_mutex_init(&w->status_lock, NULL);
	pthread_mutex_init(&w->checks_lock, NULL);
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(w);
		return NULL;
	}
	/* The writer blocks rather than dropping a fact if the main loop lags. */
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) & ~O_NONBLOCK);
	w->pipe_rd = fds[0];
	w->pipe_wr = fds[1];
	virSetErrorFunc(NULL, silence_libvirt_errors);
	if (!event_impl_registered) {
		if (virEventRegisterDefaultImpl() < 0) {
			snprintf(err, errlen, "libvirt: cannot register the event loop");
			goto fail;
		}
		event_impl_registered = true;
	}
	if (thread_start_normal_priority(&w->thread, watch_thread, w) != 0) {
		snprintf(err, errlen, "cannot start the libvirt thread");
		goto fail;
	}
	return w;
fail:
	close(fds[0]);
	close(fds[1]);
	pthread_mutex_destroy(&w->status_lock);
	pthread_mutex_destroy(&w->checks_lock);
	free(w);
	return NULL;
}

void libvirt_watch_stop(struct libvirt_watch *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	close(w->pipe_rd);
	close(w->pipe_wr);
	pthread_mutex_destroy(&w->status_lock);
	pthread_mutex_destroy(&w->checks_lock);
	free(w);
}

int libvirt_watch_fd(const struct libvirt_watch *w) { return w->pipe_rd; }

int libvirt_watch_read(struct libvirt_watch *w, struct fact *out)
{
	ssize_t n;

	do
		n = read(w->pipe_rd, out, sizeof(*out));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*out))
		return -EPROTO; /* cannot happen: writes are atomic and whole */
	return 1;
}

void libvirt_watch_get_status(struct libvirt_watch *w, struct libvirt_watch_status *out)
{
	pthread_mutex_lock(&w->status_lock);
	*out = w->status;
	pthread_mutex_unlock(&w->status_lock);
}
