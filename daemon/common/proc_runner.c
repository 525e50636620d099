/* See proc_runner.h. */
#include "daemon/common/proc_runner.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/units.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

/* epoll data: slot index, and whether the event is the pidfd or the pipe. */
#define TAG_PIPE 0x100u

struct child {
	bool used;
	bool exited; /* pidfd readable: reap pending */
	bool killed; /* SIGKILL sent at the deadline */
	pid_t pid;
	int pidfd;
	int out_fd; /* -1 when not captured or at EOF */
	uint64_t tag;
	uint64_t started_ns, deadline_ns;
	size_t capture_max;
	char *buf;
	size_t len;
	bool truncated;
};

struct proc_runner {
	int epfd;
	size_t max;
	struct child kids[PROC_RUNNER_MAX_CHILDREN];
};

/* The bookkeeping of one slot. A used slot owns a live, unreaped child
 * (pid > 1: kill(-pid) must never name our own group or every process),
 * its pidfd, and a capture buffer exactly when it captures; a free slot
 * owns nothing. */
static void assert_slot(const struct child *k)
{
	if (k->used) {
		assert(k->pid > 1 && k->pidfd >= 0);
		assert((k->buf != NULL) == (k->capture_max > 0));
		assert(k->len <= k->capture_max);
		assert(k->out_fd < 0 || k->buf != NULL);
		assert(k->deadline_ns >= k->started_ns);
	} else {
		assert(k->pidfd < 0 && k->out_fd < 0 && k->buf == NULL);
	}
}

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

struct proc_runner *proc_runner_new(size_t max_children)
{
	struct proc_runner *r;

	if (max_children == 0 || max_children > PROC_RUNNER_MAX_CHILDREN) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->max = max_children;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		free(r);
		return NULL;
	}
	for (size_t i = 0; i < PROC_RUNNER_MAX_CHILDREN; i++)
		r->kids[i].pidfd = r->kids[i].out_fd = -1;
	return r;
}

int proc_runner_fd(const struct proc_runner *r)
{
	assert(r && r->epfd >= 0);
	return r->epfd;
}

size_t proc_runner_running(const struct proc_runner *r)
{
	size_t n = 0;

	assert(r);
	for (size_t i = 0; i < r->max; i++)
		n += r->kids[i].used;
	return n;
}

uint64_t proc_runner_next_deadline(const struct proc_runner *r)
{
	uint64_t d = UINT64_MAX;

	assert(r);
	for (size_t i = 0; i < r->max; i++)
		if (r->kids[i].used && !r->kids[i].killed && r->kids[i].deadline_ns < d)
			d = r->kids[i].deadline_ns;
	return d;
}

static void close_pipe(struct proc_runner *r, struct child *k)
{
	if (k->out_fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, k->out_fd, NULL);
		close(k->out_fd);
		k->out_fd = -1;
	}
}

/* Reads what the pipe holds now; closes it at EOF. */
static void drain_pipe(struct proc_runner *r, struct child *k)
{
	char scratch[4096];

	assert(k->used);
	while (k->out_fd >= 0) {
		size_t room = k->len < k->capture_max ? k->capture_max - k->len : 0;
		char *dst = room ? k->buf + k->len : scratch;
		size_t want = room ? room : sizeof(scratch);
		ssize_t n = read(k->out_fd, dst, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_pipe(r, k);
			return;
		}
		if (room)
			k->len += (size_t)n;
		else
			k->truncated = true;
		assert(k->len <= k->capture_max);
	}
}

static void kill_child(struct child *k)
{
	/* Cannot be undone, and kill(-pid) with pid 0 or 1 would hit the
	 * daemon's own group or every process. */
	assert(k->used && k->pid > 1 && k->pidfd >= 0);
	/* The group first (a script's children), then the child itself
	 * through its pidfd (it cannot have been recycled: not reaped). */
	kill(-k->pid, SIGKILL);
	syscall(SYS_pidfd_send_signal, k->pidfd, SIGKILL, NULL, 0);
	k->killed = true;
}

int proc_runner_spawn(struct proc_runner *r, const char *const argv[], uint64_t tag,
		      uint64_t timeout_ns, size_t capture_max, bool with_stderr, uint64_t now)
{
	struct child *k = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all_default;
	int pipefd[2] = { -1, -1 };
	pid_t pid;
	int rc;

	/* The caller's contract: a deadline that does not wrap, a buffer
	 * size that does not either. */
	assert(r);
	assert(timeout_ns <= UINT64_MAX - now);
	assert(capture_max < SIZE_MAX);
	for (size_t i = 0; i < r->max && !k; i++)
		if (!r->kids[i].used)
			k = &r->kids[i];
	if (!k)
		return -EAGAIN;
	if (!argv || !argv[0])
		return -EINVAL;
	if (capture_max) {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return -errno;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all_default);
	sigdelset(&all_default, SIGKILL); /* cannot be reset (nor need be) */
	sigdelset(&all_default, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all_default);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (capture_max) {
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
		if (with_stderr)
			posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
		else
			posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	}
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (rc != 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		return -rc;
	}

	memset(k, 0, sizeof(*k));
	k->pid = pid;
	k->out_fd = -1;
	k->pidfd = sys_pidfd_open(pid);
	if (k->pidfd < 0) {
		/* Cannot happen on Linux >= 5.3 for our own unreaped child. */
		int e = errno;

		assert(pid > 1);
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		k->pidfd = -1;
		return -e;
	}
	k->used = true;
	k->tag = tag;
	k->started_ns = now;
	k->deadline_ns = now + timeout_ns;
	k->capture_max = capture_max;
	if (capture_max) {
		k->buf = malloc(capture_max + 1);
		if (!k->buf) {
			close(pipefd[0]);
			pipefd[0] = -1;
			k->capture_max = 0;
		}
	}
	if (pipefd[0] >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_PIPE | (uint64_t)(k - r->kids) };

		fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
		k->out_fd = pipefd[0];
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, k->out_fd, &ev) < 0)
			close_pipe(r, k);
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)(k - r->kids) };

	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, k->pidfd, &ev) < 0) {
		/* Without it we would never hear of the exit: treat as dead at
		 * the deadline (poll checks every child with waitid anyway). */
	}
	assert_slot(k);
	return 0;
}

/* Reaps k if it exited: fills res and frees the slot. */
static bool try_reap(struct proc_runner *r, struct child *k, uint64_t now, struct proc_result *res)
{
	siginfo_t si;

	assert_slot(k);
	assert(k->used);
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)k->pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR)
			return false;
		/* ECHILD: someone else reaped it (a stray waitpid(-1)). */
		si.si_pid = k->pid;
		si.si_code = CLD_KILLED;
		si.si_status = 0;
	} else if (si.si_pid == 0) {
		return false; /* still running */
	}
	drain_pipe(r, k); /* what it wrote before exiting */
	memset(res, 0, sizeof(*res));
	res->tag = k->tag;
	res->pid = k->pid;
	res->timed_out = k->killed;
	res->exited = si.si_code == CLD_EXITED;
	res->exit_code = res->exited ? si.si_status : -1;
	res->term_signal = res->exited ? 0 : si.si_status;
	res->started_ns = k->started_ns;
	res->ended_ns = now;
	if (k->buf) {
		k->buf[k->len] = '\0';
		res->output = k->buf;
		res->output_len = k->len;
		k->buf = NULL;
	}
	res->output_truncated = k->truncated;
	close_pipe(r, k); /* a grandchild may hold it open: stop reading */
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, k->pidfd, NULL);
	close(k->pidfd);
	/* Freed here, so each child is reported exactly once. */
	memset(k, 0, sizeof(*k));
	k->pidfd = k->out_fd = -1;
	assert_slot(k);
	return true;
}

size_t proc_runner_poll(struct proc_runner *r, uint64_t now, struct proc_result *out, size_t max)
{
	struct epoll_event evs[2 * PROC_RUNNER_MAX_CHILDREN];
	size_t got = 0;
	int n;

	assert(r && (out || max == 0));
	/* Consume readiness (level-triggered: reading is what clears it). */
	n = epoll_wait(r->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), 0);
	for (int i = 0; i < n; i++) {
		uint64_t d = evs[i].data.u64;
		struct child *k;

		/* Only our slots' fds are in the set, tagged as in spawn. */
		assert((d & ~(uint64_t)(TAG_PIPE | 0xffu)) == 0 && (d & 0xffu) < r->max);
		k = &r->kids[d & 0xffu];

		if (!k->used)
			continue;
		if (d & TAG_PIPE)
			drain_pipe(r, k);
		else
			k->exited = true;
	}
	for (size_t i = 0; i < r->max && got < max; i++) {
		struct child *k = &r->kids[i];

		if (!k->used)
			continue;
		if (!k->killed && now >= k->deadline_ns)
			kill_child(k);
		if (try_reap(r, k, now, &out[got]))
			got++;
	}
	assert(got <= max);
	return got;
}

void proc_runner_free(struct proc_runner *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->max; i++) {
		struct child *k = &r->kids[i];
		siginfo_t si;

		if (!k->used)
			continue;
		kill_child(k);
		waitid((idtype_t)P_PIDFD, (id_t)k->pidfd, &si, WEXITED);
		close_pipe(r, k);
		close(k->pidfd);
		free(k->buf);
	}
	close(r->epfd);
	free(r);
}

void proc_result_release(struct proc_result *res)
{
	if (!res)
		return;
	free(res->output);
	res->output = NULL;
	res->output_len = 0;
}

void proc_result_describe(const struct proc_result *res, char *buf, size_t len)
{
	double secs = (double)(res->ended_ns - res->started_ns) / (double)NS_PER_S;

	if (res->timed_out)
		snprintf(buf, len, "timed out after %.1f s (killed)", secs);
	else if (res->exited)
		snprintf(buf, len, "exit %d after %.3f s", res->exit_code, secs);
	else
		snprintf(buf, len, "killed by signal %d after %.3f s", res->term_signal, secs);
}
