/* See pidfd_watch.h. One pidfd per watched process in an epoll set; the
 * slot index rides in the epoll data so an exit maps back to its entry
 * without a search. The table is allocated once, at PIDFD_WATCH_MAX. */
#include "daemon/loop/pidfd_watch.h"
#include "daemon/common/proc_scan.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CONSUME_BATCH 64

struct entry {
	int pidfd; /* -1: free slot */
	uint32_t tgid;
	char comm[FACT_COMM_LEN];
};

struct pidfd_watch {
	int epfd;
	size_t count;
	struct entry slots[PIDFD_WATCH_MAX];
};

struct pidfd_watch *pidfd_watch_new(void)
{
	struct pidfd_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		free(w);
		return NULL;
	}
	for (size_t i = 0; i < PIDFD_WATCH_MAX; i++)
		w->slots[i].pidfd = -1;
	return w;
}

void pidfd_watch_free(struct pidfd_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < PIDFD_WATCH_MAX; i++) {
		if (w->slots[i].pidfd >= 0)
			close(w->slots[i].pidfd);
	}
	close(w->epfd);
	free(w);
}

int pidfd_watch_fd(const struct pidfd_watch *w)
{
	assert(w);
	return w->epfd;
}

size_t pidfd_watch_count(const struct pidfd_watch *w)
{
	assert(w);
	return w->count;
}

static bool watching(const struct pidfd_watch *w, uint32_t tgid)
{
	for (size_t i = 0; i < PIDFD_WATCH_MAX; i++) {
		if (w->slots[i].pidfd >= 0 && w->slots[i].tgid == tgid)
			return true;
	}
	return false;
}

/* Takes ownership of pidfd (closed on failure). Returns 1 when added. */
static int adopt(struct pidfd_watch *w, int pidfd, uint32_t tgid, const char *comm)
{
	struct epoll_event ev = { .events = EPOLLIN };
	size_t i;

	for (i = 0; i < PIDFD_WATCH_MAX && w->slots[i].pidfd >= 0; i++)
		;
	if (i == PIDFD_WATCH_MAX) {
		close(pidfd);
		return -ENOSPC;
	}
	ev.data.u64 = i;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, pidfd, &ev)) {
		int rc = -errno;

		close(pidfd);
		return rc;
	}
	w->slots[i].pidfd = pidfd;
	w->slots[i].tgid = tgid;
	memset(w->slots[i].comm, 0, FACT_COMM_LEN);
	if (comm)
		strncpy(w->slots[i].comm, comm, FACT_COMM_LEN - 1);
	w->count++;
	assert(w->count <= PIDFD_WATCH_MAX);
	return 1;
}

static int open_pidfd(uint32_t tgid)
{
	/* pidfds are always close-on-exec */
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)tgid, 0u);

	return fd < 0 ? -errno : fd;
}

int pidfd_watch_add(struct pidfd_watch *w, uint32_t tgid, const char *comm)
{
	int fd, rc;

	assert(w);
	if (tgid == 0)
		return -EINVAL;
	if (watching(w, tgid))
		return 0;
	if (w->count == PIDFD_WATCH_MAX)
		return -ENOSPC;
	fd = open_pidfd(tgid);
	if (fd < 0)
		return fd;
	rc = adopt(w, fd, tgid, comm);
	return rc < 0 ? rc : 0;
}

/* /proc/<pid>/comm without its newline; false when unreadable (gone). */
static bool has_prefix(const char *comm, const char *const *prefixes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(prefixes[i]);

		/* a prefix longer than a comm (15 chars) never matches */
		if (len > 0 && strncmp(comm, prefixes[i], len) == 0)
			return true;
	}
	return false;
}

struct scan {
	struct pidfd_watch *w;
	const char *const *prefixes;
	size_t n;
	size_t added;
};

static bool scan_one(uint32_t pid, const char *comm, void *arg)
{
	struct scan *sc = arg;
	char again[PROC_COMM_LEN];
	int fd;

	if (sc->w->count >= PIDFD_WATCH_MAX)
		return false;
	if (watching(sc->w, pid) || !has_prefix(comm, sc->prefixes, sc->n))
		return true;
	/* The pid may be recycled between reading comm and pidfd_open:
	 * re-read comm after the pidfd pins the process, and keep it
	 * only if that process is still the one alive. */
	fd = open_pidfd(pid);
	if (fd < 0)
		return true;
	if (!proc_read_comm(pid, again) || strcmp(comm, again) != 0 ||
	    (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0u) != 0 && errno != EPERM)) {
		close(fd);
		return true;
	}
	if (adopt(sc->w, fd, pid, comm) > 0)
		sc->added++;
	return true;
}

size_t pidfd_watch_scan(struct pidfd_watch *w, const char *const *prefixes, size_t n)
{
	struct scan sc = { .w = w, .prefixes = prefixes, .n = n };

	assert(w && (prefixes || n == 0));
	proc_for_each(scan_one, &sc);
	return sc.added;
}

int pidfd_watch_consume(struct pidfd_watch *w, uint64_t now_mono_ns, pidfd_fact_cb cb, void *ctx)
{
	struct epoll_event evs[CONSUME_BATCH];
	int delivered = 0;

	assert(w && cb);
	/* bounded: every round removes what it reports */
	for (size_t round = 0; round <= PIDFD_WATCH_MAX / CONSUME_BATCH; round++) {
		int n = epoll_wait(w->epfd, evs, CONSUME_BATCH, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return delivered > 0 ? delivered : -errno;
		}
		for (int i = 0; i < n; i++) {
			uint64_t slot = evs[i].data.u64;
			struct fact f;

			assert(slot < PIDFD_WATCH_MAX && w->slots[slot].pidfd >= 0);
			memset(&f, 0, sizeof(f));
			f.kind = FACT_PROC_EXIT;
			f.exit.ts_ns = now_mono_ns;
			f.exit.source = EXIT_SOURCE_PIDFD;
			f.exit.tgid = w->slots[slot].tgid;
			memcpy(f.exit.comm, w->slots[slot].comm, FACT_COMM_LEN);
			f.exit.status_known = false;
			/* forget it before the callback, which may re-add tgids */
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->slots[slot].pidfd, NULL);
			close(w->slots[slot].pidfd);
			w->slots[slot].pidfd = -1;
			w->count--;
			cb(&f, ctx);
			delivered++;
		}
		if (n < CONSUME_BATCH)
			break;
	}
	return delivered;
}
