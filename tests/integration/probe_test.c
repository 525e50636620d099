/* Integration test of the exit watch in the running kernel: loads the real
 * eBPF probe (daemon/loop/probe.c + bpf/exitwatch.bpf.c), makes copies of the
 * victim helper named like watched processes, kills them in the ways that
 * matter to mimamori and checks the one fact each death produces. Then
 * the same for the pidfd fallback. Emits TAP; needs root.
 *
 *   probe_test [VICTIM_BINARY [TMP_BASE [EXPECTED_EXIT_VARIANT]]]
 * (defaults: probe_victim next to this executable, $TMPDIR or /tmp; the
 * victims run from there, so it must allow exec). EXPECTED_EXIT_VARIANT
 * (group_dead | live-count): what the harness knows the kernel calls for
 * (tests/kernel: Debian 12's 6.1 needs live-count); checked on top of what
 * the kernel's BTF says.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <bpf/btf.h>

#include "os/clock.h"
#include "os/log.h"
#include "daemon/loop/pidfd_watch.h"
#include "daemon/loop/probe.h"

#define DEADLINE_MS 5000 /* generous (facts take well under 20 ms), never a sleep */
#define MAX_CHILDREN 128
#define MAX_FACTS 256
#define MAX_COPIES 8
#define LATENCY_ROUNDS 20
#define OOM_LIMIT_BYTES (64u << 20)

#define QEMU "qemu-system-x86_64"
#define QEMU_COMM "qemu-system-x86"
#define PCMK "pacemaker-remoted"
#define PCMK_COMM "pacemaker-remot"
#define BYSTANDER "bystander"
#define EXTRA_NAME "mimamori-extra1"       /* configured extra, 15 chars */
#define EXTRA_LONG "mimamori-extra1-longer" /* comm truncates to EXTRA_NAME */
#define EXTRA_SHORT "mimamori-extra"        /* a prefix of it: must not match */
#define PIDFD_NAME "pidfd-victim"

/* ---- TAP ---------------------------------------------------------------- */

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3))) static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed++;
	return ok;
}

__attribute__((format(printf, 1, 2))) static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ---- clean-up state: cleanup() uses only async-signal-safe calls, so the
 * handler for meson's timeout SIGTERM can run it too ---------------------- */

static char tmp_dir[PATH_MAX];
static char copies[MAX_COPIES][PATH_MAX];
static int n_copies;
/* The OOM case's cgroups: cgroup_parent (a child of the root, v2; of this
 * process's memory cgroup, v1), cgroup_dir (the victim's, inside it). The
 * memory controller is enabled only in cgroup_parent's subtree_control
 * (cgroup_subtree, when cgroup_enabled): the root's is never written. */
static char cgroup_parent[PATH_MAX];
static char cgroup_dir[PATH_MAX];
static char cgroup_subtree[PATH_MAX];
static volatile sig_atomic_t cgroup_enabled;
static volatile pid_t live_children[MAX_CHILDREN]; /* 0: reaped */
static pid_t spawned[MAX_CHILDREN];                /* every child ever */
static int n_spawned;

static int write_file(const char *path, const char *text);

/* Undoes what make_oom_cgroup did, innermost first; async-signal-safe.
 * Returns 0, or -errno of the first step that failed. */
static int cgroup_remove(void)
{
	int rc = 0;

	if (cgroup_dir[0]) {
		if (rmdir(cgroup_dir) && errno != ENOENT)
			rc = -errno;
		else
			cgroup_dir[0] = '\0';
	}
	if (cgroup_enabled && rc == 0) {
		/* rmdir would drop it too; done first so that a parent that cannot
		 * be removed does not keep the controller enabled */
		rc = write_file(cgroup_subtree, "-memory");
		if (rc == 0)
			cgroup_enabled = 0;
	}
	if (cgroup_parent[0] && rc == 0) {
		if (rmdir(cgroup_parent) && errno != ENOENT)
			rc = -errno;
		else
			cgroup_parent[0] = '\0';
	}
	return rc;
}

static void cleanup(void)
{
	for (int i = 0; i < n_spawned; i++) {
		pid_t pid = live_children[i];

		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			live_children[i] = 0;
		}
	}
	for (int i = 0; i < n_copies; i++)
		unlink(copies[i]);
	if (tmp_dir[0])
		rmdir(tmp_dir);
	cgroup_remove();
}

static void on_fatal_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- clock and files ---------------------------------------------------- */

static uint64_t now_ns(void)
{
	return mono_ns();
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(text), n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, (size_t)len);
	if (n != len) {
		int rc = n < 0 ? -errno : -EIO;

		close(fd);
		return rc;
	}
	return close(fd) ? -errno : 0;
}

static int copy_executable(const char *src, const char *dst)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
	}
	if (n < 0)
		rc = -errno;
	close(in);
	if (close(out) && rc == 0)
		rc = -errno;
	return rc;
}

/* Copies the victim as tmp_dir/name; the kernel names the process after it. */
static const char *victim_copy(const char *victim, const char *name)
{
	for (int i = 0; i < n_copies; i++) {
		const char *base = strrchr(copies[i], '/');

		if (base && !strcmp(base + 1, name))
			return copies[i];
	}
	if (n_copies == MAX_COPIES)
		return NULL;
	if (snprintf(copies[n_copies], PATH_MAX, "%s/%s", tmp_dir, name) >= PATH_MAX)
		return NULL;
	if (copy_executable(victim, copies[n_copies])) {
		copies[n_copies][0] = '\0';
		return NULL;
	}
	return copies[n_copies++];
}

/* ---- victims ------------------------------------------------------------ */

static const char *victim_bin;

static void forget_child(pid_t pid)
{
	for (int i = 0; i < n_spawned; i++) {
		if (live_children[i] == pid)
			live_children[i] = 0;
	}
}

/* Starts tmp_dir/name with mode and arg, optionally in a cgroup (its
 * cgroup.procs), and waits until the victim says it is set up. */
static pid_t spawn(const char *name, const char *mode, const char *arg, const char *cgroup_procs)
{
	const char *path = victim_copy(victim_bin, name);
	struct pollfd pfd = { .events = POLLIN };
	int ready[2];
	pid_t pid;
	char c;

	if (!path || n_spawned == MAX_CHILDREN) {
		diag("cannot prepare victim %s", name);
		return -1;
	}
	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	if (pid == 0) {
		char self[32];

		snprintf(self, sizeof(self), "%d", (int)getpid());
		if (cgroup_procs && write_file(cgroup_procs, self))
			_exit(126);
		if (dup2(ready[1], 3) != 3) /* dup2 clears close-on-exec */
			_exit(126);
		execl(path, path, mode, arg, (char *)NULL);
		_exit(127);
	}
	spawned[n_spawned] = pid;
	live_children[n_spawned++] = pid;
	close(ready[1]);
	pfd.fd = ready[0];
	if (poll(&pfd, 1, DEADLINE_MS) != 1 || read(ready[0], &c, 1) != 1) {
		diag("victim %s (%s) did not get ready", name, mode);
		close(ready[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		forget_child(pid);
		return -1;
	}
	close(ready[0]);
	return pid;
}

/* Reaps pid; returns its wait status, or -1. */
static int reap(pid_t pid)
{
	int status;

	if (pid <= 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	forget_child(pid);
	return status;
}

static bool is_spawned(uint32_t tgid)
{
	for (int i = 0; i < n_spawned; i++) {
		if ((uint32_t)spawned[i] == tgid)
			return true;
	}
	return false;
}

struct kill_req {
	pid_t pid;
	int sigs[2];
	int n;
	int rc;
};

/* Sends the signals from a thread with its own name, as libvirtd's
 * "rpc-libvirtd" worker does, to tell thread and leader comm apart. */
static void *killer_thread(void *arg)
{
	struct kill_req *req = arg;

	prctl(PR_SET_NAME, "rpc-killer");
	for (int i = 0; i < req->n && req->rc == 0; i++)
		req->rc = kill(req->pid, req->sigs[i]) ? -errno : 0;
	return NULL;
}

static int kill_from_thread(pid_t pid, int sig1, int sig2)
{
	struct kill_req req = { .pid = pid, .sigs = { sig1, sig2 }, .n = sig2 ? 2 : 1 };
	pthread_t t;

	if (pthread_create(&t, NULL, killer_thread, &req))
		return -1;
	pthread_join(t, NULL);
	return req.rc;
}

/* ---- facts from the probe ----------------------------------------------- */

struct got {
	struct fact f;
	uint64_t arrived_ns;
};

static struct got facts[MAX_FACTS];
static size_t n_facts;

/* Keeps only facts about our own victims: the host's other qemu and
 * pacemaker processes may die during the test too. */
static void on_fact(const struct fact *f, void *ctx)
{
	(void)ctx;
	if (f->kind != FACT_PROC_EXIT || !is_spawned(f->exit.tgid))
		return;
	if (n_facts == MAX_FACTS) {
		diag("fact table full, dropping tgid %u", f->exit.tgid);
		return;
	}
	facts[n_facts].f = *f;
	facts[n_facts++].arrived_ns = now_ns();
}

static const struct got *find_fact(pid_t pid)
{
	for (size_t i = 0; i < n_facts; i++) {
		if (facts[i].f.exit.tgid == (uint32_t)pid)
			return &facts[i];
	}
	return NULL;
}

static size_t count_facts(pid_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < n_facts; i++)
		n += facts[i].f.exit.tgid == (uint32_t)pid;
	return n;
}

/* Waits on the probe's fd for pid's fact, up to DEADLINE_MS. */
static const struct got *wait_fact(struct probe *p, pid_t pid)
{
	uint64_t deadline = now_ns() + (uint64_t)DEADLINE_MS * 1000000u;
	struct pollfd pfd = { .fd = probe_fd(p), .events = POLLIN };

	for (;;) {
		const struct got *g = find_fact(pid);
		uint64_t now = now_ns();
		int rc;

		if (g)
			return g;
		if (now >= deadline)
			return NULL;
		rc = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		if (rc < 0 && errno != EINTR)
			return NULL;
		rc = probe_consume(p, on_fact, NULL);
		if (rc < 0) {
			diag("probe_consume: %s", strerror(-rc));
			return NULL;
		}
	}
}

/* Everything that died before a sentinel died has been delivered once the
 * sentinel's fact arrives (the ring buffer is read in order): so "no fact"
 * and "exactly one fact" are checked without waiting on a clock. */
static bool barrier(struct probe *p)
{
	pid_t s = spawn(QEMU, "exit", "0", NULL);
	const struct got *g = s > 0 ? wait_fact(p, s) : NULL;

	reap(s);
	return g != NULL;
}

static bool comm_is(const char *comm, const char *want)
{
	return strncmp(comm, want, FACT_COMM_LEN) == 0;
}

/* The common part of every eBPF fact: ours, complete, and the status a
 * parent's wait() saw. */
static const struct proc_exit_fact *expect_fact(struct probe *p, const char *what, pid_t pid,
						 const char *comm, int *status)
{
	const struct got *g = pid > 0 ? wait_fact(p, pid) : NULL;
	const struct proc_exit_fact *e;

	*status = reap(pid);
	if (!check(g != NULL, "%s: fact for tgid %d", what, (int)pid))
		return NULL;
	e = &g->f.exit;
	check(g->f.kind == FACT_PROC_EXIT && e->source == EXIT_SOURCE_EBPF && e->status_known,
	      "%s: FACT_PROC_EXIT from eBPF with status", what);
	check(comm_is(e->comm, comm), "%s: comm '%s' == '%s'", what, e->comm, comm);
	check(e->wait_status == *status, "%s: wait_status 0x%x == waitpid's 0x%x", what,
	      (unsigned)e->wait_status, (unsigned)*status);
	check(e->ts_ns > 0 && e->ts_ns <= g->arrived_ns, "%s: ts on CLOCK_MONOTONIC", what);
	return e;
}

static void expect_signal(const char *what, const char *which, const struct signal_fact *s, int sig,
			  pid_t sender, const char *thread_comm, const char *leader_comm)
{
	check(s->sig == sig, "%s: %s sig %d == %d", what, which, s->sig, sig);
	check(s->sender_tgid == (uint32_t)sender, "%s: %s sender tgid %u == %d", what, which,
	      s->sender_tgid, (int)sender);
	check(comm_is(s->sender_comm, thread_comm), "%s: %s sender thread '%s' == '%s'", what, which,
	      s->sender_comm, thread_comm);
	check(comm_is(s->sender_leader_comm, leader_comm), "%s: %s sender leader '%s' == '%s'", what,
	      which, s->sender_leader_comm, leader_comm);
}

/* ---- cases -------------------------------------------------------------- */

static char self_comm[FACT_COMM_LEN];

static void case_sigkill(struct probe *p, const char *tag)
{
	char what[64];
	pid_t pid = spawn(QEMU, "sleep", NULL, NULL);
	const struct proc_exit_fact *e;
	int status;

	snprintf(what, sizeof(what), "%s SIGKILL", tag);
	if (pid > 0 && kill(pid, SIGKILL))
		diag("kill: %s", strerror(errno));
	e = expect_fact(p, what, pid, QEMU_COMM, &status);
	if (!e)
		return;
	check(WIFSIGNALED(e->wait_status) && WTERMSIG(e->wait_status) == SIGKILL,
	      "%s: killed by signal 9", what);
	check(e->has_fatal_signal && e->fatal_signal.si_code == SI_USER,
	      "%s: fatal signal recorded, si_code SI_USER", what);
	if (e->has_fatal_signal)
		expect_signal(what, "fatal", &e->fatal_signal, SIGKILL, getpid(), self_comm, self_comm);
	check(!e->has_stop_request && !e->oom_killed, "%s: no stop request, not OOM", what);
}

static void case_exit(struct probe *p, const char *tag)
{
	char what[64];
	pid_t pid = spawn(PCMK, "exit", "3", NULL);
	const struct proc_exit_fact *e;
	int status;

	snprintf(what, sizeof(what), "%s exit(3)", tag);
	e = expect_fact(p, what, pid, PCMK_COMM, &status);
	if (!e)
		return;
	check(WIFEXITED(e->wait_status) && WEXITSTATUS(e->wait_status) == 3, "%s: exit status 3",
	      what);
	check(!e->has_fatal_signal && !e->has_stop_request && !e->oom_killed,
	      "%s: no signal, not OOM", what);
}

static void case_leader_first(struct probe *p, const char *tag)
{
	char what[64];
	pid_t pid = spawn(QEMU, "mt", "5", NULL);
	const struct proc_exit_fact *e;
	int status;

	snprintf(what, sizeof(what), "%s leader exits first", tag);
	e = expect_fact(p, what, pid, QEMU_COMM, &status);
	if (!e)
		return;
	check(WIFEXITED(e->wait_status) && WEXITSTATUS(e->wait_status) == 5,
	      "%s: worker's exit status 5", what);
	check(barrier(p), "%s: sentinel after it reported", what);
	check(count_facts(pid) == 1, "%s: exactly one fact (got %zu)", what, count_facts(pid));
}

/* All threads die at once: in the live-count variant several may see
 * signal->live == 0, and still only one fact may come out. */
static void case_threads_killed(struct probe *p, const char *tag)
{
	char what[64];
	pid_t pid = spawn(QEMU, "threads", "16", NULL);
	const struct proc_exit_fact *e;
	int status;

	snprintf(what, sizeof(what), "%s SIGKILL of 17 threads", tag);
	if (pid > 0 && kill(pid, SIGKILL))
		diag("kill: %s", strerror(errno));
	e = expect_fact(p, what, pid, QEMU_COMM, &status);
	if (!e)
		return;
	check(WIFSIGNALED(e->wait_status) && WTERMSIG(e->wait_status) == SIGKILL,
	      "%s: killed by signal 9", what);
	check(barrier(p), "%s: sentinel after it reported", what);
	check(count_facts(pid) == 1, "%s: exactly one fact (got %zu)", what, count_facts(pid));
}

static void case_segv(struct probe *p)
{
	const char *what = "SIGSEGV";
	pid_t pid = spawn(QEMU, "segv", NULL, NULL);
	const struct proc_exit_fact *e;
	int status;

	e = expect_fact(p, what, pid, QEMU_COMM, &status);
	if (!e)
		return;
	check(WIFSIGNALED(e->wait_status) && WTERMSIG(e->wait_status) == SIGSEGV,
	      "%s: killed by signal 11", what);
	check(e->has_fatal_signal && e->fatal_signal.si_code > 0,
	      "%s: fatal signal from the kernel (si_code %d > 0)", what, e->fatal_signal.si_code);
	if (e->has_fatal_signal)
		expect_signal(what, "fatal", &e->fatal_signal, SIGSEGV, pid, QEMU_COMM, QEMU_COMM);
}

static void case_sigterm_exit0(struct probe *p)
{
	const char *what = "SIGTERM then exit 0";
	pid_t pid = spawn(QEMU, "term", NULL, NULL);
	const struct proc_exit_fact *e;
	int status;

	if (pid > 0 && kill_from_thread(pid, SIGTERM, 0))
		diag("kill: %s", strerror(errno));
	e = expect_fact(p, what, pid, QEMU_COMM, &status);
	if (!e)
		return;
	check(WIFEXITED(e->wait_status) && WEXITSTATUS(e->wait_status) == 0, "%s: exited 0", what);
	check(e->has_fatal_signal && e->has_stop_request, "%s: fatal signal and stop request", what);
	if (!e->has_fatal_signal || !e->has_stop_request)
		return;
	expect_signal(what, "fatal", &e->fatal_signal, SIGTERM, getpid(), "rpc-killer", self_comm);
	expect_signal(what, "stop", &e->stop_request, SIGTERM, getpid(), "rpc-killer", self_comm);
	check(e->stop_request.si_code == SI_USER, "%s: si_code SI_USER", what);
}

static void case_term_then_kill(struct probe *p)
{
	const char *what = "SIGTERM ignored, then SIGKILL";
	pid_t pid = spawn(PCMK, "keep-term", NULL, NULL);
	const struct proc_exit_fact *e;
	int status;

	if (pid > 0 && kill_from_thread(pid, SIGTERM, SIGKILL))
		diag("kill: %s", strerror(errno));
	e = expect_fact(p, what, pid, PCMK_COMM, &status);
	if (!e)
		return;
	check(WIFSIGNALED(e->wait_status) && WTERMSIG(e->wait_status) == SIGKILL,
	      "%s: killed by signal 9", what);
	check(e->has_fatal_signal && e->has_stop_request, "%s: fatal signal and stop request", what);
	if (!e->has_fatal_signal || !e->has_stop_request)
		return;
	expect_signal(what, "fatal (last)", &e->fatal_signal, SIGKILL, getpid(), "rpc-killer",
		      self_comm);
	expect_signal(what, "stop (first)", &e->stop_request, SIGTERM, getpid(), "rpc-killer",
		      self_comm);
	check(e->stop_request.ts_ns <= e->fatal_signal.ts_ns && e->fatal_signal.ts_ns <= e->ts_ns,
	      "%s: stop <= fatal <= exit in time", what);
}

static void case_unwatched(struct probe *p)
{
	const char *what = "unwatched name";
	pid_t quiet = spawn(BYSTANDER, "exit", "0", NULL);
	pid_t short_name = spawn(EXTRA_SHORT, "exit", "0", NULL);

	reap(quiet);
	reap(short_name);
	check(quiet > 0 && short_name > 0, "%s: victims ran", what);
	check(barrier(p), "%s: sentinel reported", what);
	check(count_facts(quiet) == 0, "%s: '%s' produced no fact", what, BYSTANDER);
	check(count_facts(short_name) == 0, "%s: '%s' (prefix of extra '%s') produced no fact", what,
	      EXTRA_SHORT, EXTRA_NAME);
}

static void case_extra_name(struct probe *p)
{
	const char *what = "configured extra name";
	pid_t pid = spawn(EXTRA_LONG, "exit", "4", NULL);
	const struct proc_exit_fact *e;
	int status;

	e = expect_fact(p, what, pid, EXTRA_NAME, &status);
	if (e)
		check(WIFEXITED(e->wait_status) && WEXITSTATUS(e->wait_status) == 4,
		      "%s: exit status 4", what);
}

static void case_allowlist(struct probe *p)
{
	const char *what = "allowlisted tgid";
	pid_t pid = spawn(BYSTANDER, "sleep", NULL, NULL);
	const struct proc_exit_fact *e;
	int rc, status;

	rc = pid > 0 ? probe_allow_tgid(p, (uint32_t)pid) : -ESRCH;
	check(rc == 0, "%s: probe_allow_tgid -> %d", what, rc);
	if (pid > 0)
		kill(pid, SIGKILL);
	e = expect_fact(p, what, pid, BYSTANDER, &status);
	if (e)
		check(e->has_fatal_signal && e->fatal_signal.sig == SIGKILL,
		      "%s: SIGKILL recorded for an unwatched name", what);
	rc = pid > 0 ? probe_allow_tgid(p, (uint32_t)pid) : -ESRCH;
	check(rc == -ESRCH, "%s: allowing a reaped tgid -> -ESRCH (%d)", what, rc);
}

/* cgroup_dir/file into out; false when it does not fit. */
static bool cgroup_file(char *out, size_t len, const char *file)
{
	int n = snprintf(out, len, "%s/%s", cgroup_dir, file);

	return n > 0 && (size_t)n < len;
}

/* true when the blank-separated list in file path names word */
static bool file_lists(const char *path, const char *word)
{
	char buf[512], *tok, *save = NULL;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

/* Why there is no memory cgroup to use, into why: the kernel's own
 * account (/proc/cgroups) first. */
static void memcg_missing(char *why, size_t len, bool v2)
{
	char line[256], name[64];
	int hier, num, enabled;
	bool known = false, on = false;
	FILE *f = fopen("/proc/cgroups", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d %d %d", name, &hier, &num, &enabled) == 4 &&
		    !strcmp(name, "memory"))
			known = true, on = enabled != 0;
	if (f)
		fclose(f);
	if (!known)
		snprintf(why, len, "this kernel has no memory cgroup controller (CONFIG_MEMCG)");
	else if (!on)
		snprintf(why, len, "the memory cgroup controller is disabled (cgroup_disable=memory)");
	else if (!v2)
		snprintf(why, len, "no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory");
	else if (!file_lists("/sys/fs/cgroup/cgroup.controllers", "memory"))
		snprintf(why, len, "the memory controller is bound to a cgroup v1 hierarchy, not "
				   "to the cgroup2 at /sys/fs/cgroup");
	else
		snprintf(why, len, "the root cgroup does not enable memory for its children "
				   "(/sys/fs/cgroup/cgroup.subtree_control; this test never changes the root)");
}

/* A memory cgroup with a small limit for the victim: cgroup_dir inside a
 * cgroup_parent of this run's own (unique name), the controller enabled in
 * cgroup_parent's subtree only (v2). Returns the victim's cgroup.procs path,
 * or NULL with the reason in why; cgroup_remove() undoes it. */
static const char *make_oom_cgroup(char *procs, size_t len, char *why, size_t whylen)
{
	struct statfs fs;
	char self[PATH_MAX] = "", line[PATH_MAX], path[PATH_MAX], limit[32];
	bool v2;
	FILE *f;
	int rc;

	if (statfs("/sys/fs/cgroup", &fs)) {
		snprintf(why, whylen, "statfs /sys/fs/cgroup: %s", strerror(errno));
		return NULL;
	}
	v2 = fs.f_type == CGROUP2_SUPER_MAGIC;
	diag("cgroup %s (/sys/fs/cgroup is %s)", v2 ? "v2" : "v1 memory controller",
	     v2 ? "cgroup2fs" : "not cgroup2fs");
	if (!v2 && (statfs("/sys/fs/cgroup/memory", &fs) || fs.f_type != CGROUP_SUPER_MAGIC)) {
		memcg_missing(why, whylen, v2);
		return NULL;
	}
	f = v2 ? NULL : fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *memory = strstr(line, ":memory:");

		if (memory) {
			snprintf(self, sizeof(self), "%s", memory + strlen(":memory:"));
			self[strcspn(self, "\n")] = '\0';
		}
	}
	if (f)
		fclose(f);
	if (!strcmp(self, "/"))
		self[0] = '\0';
	/* v2 forbids processes in inner nodes: there use a child of the root */
	if (snprintf(cgroup_parent, sizeof(cgroup_parent), "%s%s/mimamori-probe-%d-%llx",
		     v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", self, (int)getpid(),
		     (unsigned long long)(now_ns() & 0xffffffu)) >= (int)sizeof(cgroup_parent) ||
	    snprintf(cgroup_subtree, sizeof(cgroup_subtree), "%s/cgroup.subtree_control",
		     cgroup_parent) >= (int)sizeof(cgroup_subtree) ||
	    snprintf(cgroup_dir, sizeof(cgroup_dir), "%s/victim", cgroup_parent) >=
		    (int)sizeof(cgroup_dir)) {
		snprintf(why, whylen, "cgroup path too long");
		cgroup_parent[0] = cgroup_dir[0] = '\0';
		return NULL;
	}
	if (mkdir(cgroup_parent, 0755)) {
		snprintf(why, whylen, "cannot create %s: %s", cgroup_parent, strerror(errno));
		cgroup_parent[0] = cgroup_dir[0] = '\0';
		return NULL;
	}
	if (v2) {
		if (snprintf(path, sizeof(path), "%s/cgroup.controllers", cgroup_parent) >=
			    (int)sizeof(path) ||
		    !file_lists(path, "memory")) {
			memcg_missing(why, whylen, v2);
			cgroup_dir[0] = '\0';
			return NULL;
		}
		cgroup_enabled = 1; /* before the write: a half-done write is undone too */
		rc = write_file(cgroup_subtree, "+memory");
		if (rc) {
			cgroup_enabled = 0;
			snprintf(why, whylen, "cannot enable memory in %s: %s", cgroup_subtree,
				 strerror(-rc));
			cgroup_dir[0] = '\0';
			return NULL;
		}
	}
	if (mkdir(cgroup_dir, 0755)) {
		snprintf(why, whylen, "cannot create %s: %s", cgroup_dir, strerror(errno));
		cgroup_dir[0] = '\0';
		return NULL;
	}
	snprintf(limit, sizeof(limit), "%u", OOM_LIMIT_BYTES);
	if (!cgroup_file(path, sizeof(path), v2 ? "memory.max" : "memory.limit_in_bytes") ||
	    (rc = write_file(path, limit))) {
		snprintf(why, whylen, "cannot set the memory limit of %s: %s", cgroup_dir,
			 strerror(-rc));
		return NULL;
	}
	/* swap would turn the OOM kill into slow paging */
	if (cgroup_file(path, sizeof(path), v2 ? "memory.swap.max" : "memory.swappiness") &&
	    access(path, F_OK) == 0 && write_file(path, "0"))
		diag("cannot set %s (swap may delay the OOM kill)", path);
	if (!cgroup_file(procs, len, "cgroup.procs")) {
		snprintf(why, whylen, "cgroup path too long");
		return NULL;
	}
	return procs;
}

static void case_oom(struct probe *p)
{
	const char *what = "memcg OOM kill";
	char procs[PATH_MAX], why[PATH_MAX + 256] = "", parent[PATH_MAX];
	const char *cg = make_oom_cgroup(procs, sizeof(procs), why, sizeof(why));
	const struct proc_exit_fact *e;
	pid_t pid;
	int status, rc;

	snprintf(parent, sizeof(parent), "%s", cgroup_parent);
	if (check(cg != NULL, "%s: a memory cgroup of its own%s%s", what, cg ? "" : ": ", why)) {
		pid = spawn(QEMU, "oom", NULL, cg);
		e = expect_fact(p, what, pid, QEMU_COMM, &status);
		if (e) {
			check(e->oom_killed, "%s: oom_killed", what);
			check(WIFSIGNALED(e->wait_status) && WTERMSIG(e->wait_status) == SIGKILL,
			      "%s: killed by signal 9", what);
			check(e->has_fatal_signal && e->fatal_signal.sig == SIGKILL &&
				      e->fatal_signal.si_code == SI_KERNEL,
			      "%s: SIGKILL with si_code SI_KERNEL (sig %d code %d)", what,
			      e->fatal_signal.sig, e->fatal_signal.si_code);
		}
	}
	/* the victim is reaped; the kernel may take a moment to let go of its cgroup */
	for (int i = 0; (rc = cgroup_remove()) == -EBUSY && i < 100; i++)
		usleep(10000);
	check(rc == 0 && !cgroup_parent[0] && !cgroup_dir[0] && !cgroup_enabled,
	      "%s: its cgroups removed, nothing else changed (%s%s%s)", what,
	      parent[0] ? parent : "none made", rc ? ": " : "", rc ? strerror(-rc) : "");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* kill() to the fact in user space; reported, not asserted (timing
 * belongs to benchmarks, not pass/fail). */
static void measure_latency(struct probe *p)
{
	uint64_t user[LATENCY_ROUNDS], kernel[LATENCY_ROUNDS];
	int n = 0;

	for (int i = 0; i < LATENCY_ROUNDS; i++) {
		pid_t pid = spawn(QEMU, "sleep", NULL, NULL);
		const struct got *g;
		uint64_t t0;

		if (pid <= 0)
			break;
		t0 = now_ns();
		kill(pid, SIGKILL);
		g = wait_fact(p, pid);
		reap(pid);
		if (!g)
			break;
		user[n] = g->arrived_ns - t0;
		kernel[n++] = g->f.exit.ts_ns - t0;
	}
	if (!check(n == LATENCY_ROUNDS, "latency: %d SIGKILLs reported", LATENCY_ROUNDS))
		return;
	qsort(user, (size_t)n, sizeof(user[0]), cmp_u64);
	qsort(kernel, (size_t)n, sizeof(kernel[0]), cmp_u64);
	diag("kill() -> exit record in kernel: p50 %.0f us, max %.0f us", kernel[n / 2] / 1e3,
	     kernel[n - 1] / 1e3);
	diag("kill() -> fact in user space:    p50 %.0f us, max %.0f us", user[n / 2] / 1e3,
	     user[n - 1] / 1e3);
}

/* ---- pidfd fallback ----------------------------------------------------- */

static struct fact pidfd_facts[16];
static size_t n_pidfd_facts;

static void on_pidfd_fact(const struct fact *f, void *ctx)
{
	(void)ctx;
	if (n_pidfd_facts < 16)
		pidfd_facts[n_pidfd_facts++] = *f;
}

static const struct fact *wait_pidfd_fact(struct pidfd_watch *w, pid_t pid)
{
	uint64_t deadline = now_ns() + (uint64_t)DEADLINE_MS * 1000000u;
	struct pollfd pfd = { .fd = pidfd_watch_fd(w), .events = POLLIN };

	for (;;) {
		uint64_t now = now_ns();

		for (size_t i = 0; i < n_pidfd_facts; i++) {
			if (pidfd_facts[i].exit.tgid == (uint32_t)pid)
				return &pidfd_facts[i];
		}
		if (now >= deadline)
			return NULL;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return NULL;
		if (pidfd_watch_consume(w, now_ns(), on_pidfd_fact, NULL) < 0)
			return NULL;
	}
}

static void case_pidfd(void)
{
	const char *prefixes[] = { PIDFD_NAME };
	struct pidfd_watch *w = pidfd_watch_new();
	const struct fact *f;
	pid_t added, scanned;
	uint64_t t0;
	size_t n;
	int rc;

	if (!check(w != NULL, "pidfd: pidfd_watch_new"))
		return;
	added = spawn(BYSTANDER, "sleep", NULL, NULL);
	rc = added > 0 ? pidfd_watch_add(w, (uint32_t)added, BYSTANDER) : -1;
	check(rc == 0 && pidfd_watch_add(w, (uint32_t)added, BYSTANDER) == 0 &&
		      pidfd_watch_count(w) == 1,
	      "pidfd: add (twice: idempotent) -> %d, count %zu", rc, pidfd_watch_count(w));
	t0 = now_ns();
	kill(added, SIGKILL);
	f = wait_pidfd_fact(w, added);
	if (check(f != NULL, "pidfd: exit of an added tgid reported")) {
		check(f->kind == FACT_PROC_EXIT && f->exit.source == EXIT_SOURCE_PIDFD &&
			      !f->exit.status_known && comm_is(f->exit.comm, BYSTANDER),
		      "pidfd: PIDFD source, status unknown, comm '%s'", f->exit.comm);
		check(f->exit.ts_ns >= t0, "pidfd: ts is the now passed in");
		diag("kill() -> pidfd fact: %.0f us", (f->exit.ts_ns - t0) / 1e3);
	}
	check(pidfd_watch_count(w) == 0, "pidfd: forgotten after its exit");
	reap(added);
	rc = pidfd_watch_add(w, (uint32_t)added, BYSTANDER);
	check(rc == -ESRCH, "pidfd: add of a reaped tgid -> -ESRCH (%d)", rc);

	scanned = spawn(PIDFD_NAME, "sleep", NULL, NULL);
	n = pidfd_watch_scan(w, prefixes, 1);
	check(n >= 1 && pidfd_watch_count(w) >= 1, "pidfd: scan found '%s' (%zu added)", PIDFD_NAME,
	      n);
	check(pidfd_watch_scan(w, prefixes, 1) == 0, "pidfd: rescan adds nothing");
	kill(scanned, SIGKILL);
	f = wait_pidfd_fact(w, scanned);
	check(f != NULL && comm_is(f->exit.comm, PIDFD_NAME), "pidfd: scanned victim's exit reported");
	reap(scanned);
	pidfd_watch_free(w);
}

/* ---- main --------------------------------------------------------------- */

static int setup_dirs(const char *tmp_base)
{
	if (mkdir(tmp_base, 0755) && errno != EEXIST)
		return -1;
	if (snprintf(tmp_dir, sizeof(tmp_dir), "%s/mimamori-probe-XXXXXX", tmp_base) >=
	    (int)sizeof(tmp_dir))
		return -1;
	if (!mkdtemp(tmp_dir)) {
		tmp_dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- the exit variant this kernel calls for ----------------------------- */

static enum probe_exit_variant expected_variant; /* from the command line; AUTO: none */

static const char *variant_name(enum probe_exit_variant v)
{
	return v == PROBE_EXIT_GROUP_DEAD ? "group_dead"
	       : v == PROBE_EXIT_LIVE_COUNT ? "live-count"
					     : "auto";
}

/* Read apart from the loader's test (which counts the tracepoint's
 * arguments): whether the kernel's own record of sched_process_exit has a
 * group_dead field (6.18 yes, 6.1 no). 6.1 has no record of its own for
 * the event: it shares sched_process_template's with sched_process_free.
 * AUTO when the BTF cannot tell. */
static enum probe_exit_variant kernel_exit_variant(void)
{
	static const char *const records[] = { "trace_event_raw_sched_process_exit",
					       "trace_event_raw_sched_process_template" };
	struct btf *btf = btf__load_vmlinux_btf();
	enum probe_exit_variant v = PROBE_EXIT_AUTO;
	const struct btf_type *t = NULL;

	if (!btf)
		return PROBE_EXIT_AUTO;
	for (size_t r = 0; r < sizeof(records) / sizeof(records[0]) && !t; r++) {
		int id = btf__find_by_name_kind(btf, records[r], BTF_KIND_STRUCT);

		if (id > 0)
			t = btf__type_by_id(btf, (__u32)id);
	}
	if (t) {
		const struct btf_member *m = btf_members(t);

		v = PROBE_EXIT_LIVE_COUNT;
		for (unsigned i = 0; i < btf_vlen(t); i++, m++) {
			const char *name = btf__name_by_offset(btf, m->name_off);

			if (name && !strcmp(name, "group_dead"))
				v = PROBE_EXIT_GROUP_DEAD;
		}
	}
	btf__free(btf);
	return v;
}

static void run_probe_cases(void)
{
	struct probe_config cfg = { .n_extra_names = 1 };
	enum probe_exit_variant wanted = kernel_exit_variant(), used;
	struct probe_stats st;
	struct utsname uts;
	struct probe *p;
	const char *tag;
	char err[256];
	size_t before;

	diag("kernel %s: sched_process_exit's record %s group_dead",
	     uname(&uts) ? "?" : uts.release,
	     wanted == PROBE_EXIT_GROUP_DEAD ? "has" : wanted == PROBE_EXIT_LIVE_COUNT ? "lacks" : "?");
	check(wanted != PROBE_EXIT_AUTO, "kernel BTF describes sched_process_exit's record");
	if (expected_variant != PROBE_EXIT_AUTO)
		check(wanted == expected_variant, "this kernel calls for the %s variant (expected: %s)",
		      variant_name(wanted), variant_name(expected_variant));
	memcpy(cfg.extra_names[0], EXTRA_NAME, sizeof(EXTRA_NAME));
	p = probe_open(&cfg, err, sizeof(err));
	if (!check(p != NULL, "probe_open%s%s", p ? "" : ": ", p ? "" : err))
		return;
	used = probe_exit_variant(p);
	tag = variant_name(used);
	check(used == wanted, "probe_open chose the %s exit variant, the one this kernel calls for",
	      tag);
	/* the same cases, the same facts, whichever variant this kernel needs */
	case_sigkill(p, tag);
	case_segv(p);
	case_exit(p, tag);
	case_sigterm_exit0(p);
	case_term_then_kill(p);
	case_leader_first(p, tag);
	/* the race the live-count dedup guards against is rare */
	for (int i = 0; i < (used == PROBE_EXIT_LIVE_COUNT ? 5 : 1); i++)
		case_threads_killed(p, tag);
	case_unwatched(p);
	case_extra_name(p);
	case_allowlist(p);
	case_oom(p);
	measure_latency(p);
	probe_get_stats(p, &st);
	check(st.events >= n_facts && st.ringbuf_drops == 0,
	      "stats: %llu records, %llu ring-buffer drops", (unsigned long long)st.events,
	      (unsigned long long)st.ringbuf_drops);
	probe_close(p);

	if (used != PROBE_EXIT_GROUP_DEAD) {
		/* forcing group_dead here must fail before loading, not load a
		 * program that never sees a death */
		p = probe_open_variant(&cfg, PROBE_EXIT_GROUP_DEAD, err, sizeof(err));
		check(p == NULL && strstr(err, "group_dead"),
		      "probe_open_variant(GROUP_DEAD) refused on this kernel: %s", p ? "loaded" : err);
		probe_close(p);
		return;
	}
	/* the variant for kernels without group_dead (6.1) loads here too */
	p = probe_open_variant(&cfg, PROBE_EXIT_LIVE_COUNT, err, sizeof(err));
	if (!check(p != NULL, "probe_open_variant(LIVE_COUNT)%s%s", p ? "" : ": ", p ? "" : err))
		return;
	before = n_facts;
	case_sigkill(p, "live-count");
	case_exit(p, "live-count");
	case_leader_first(p, "live-count");
	for (int i = 0; i < 5; i++) /* the race it guards against is rare */
		case_threads_killed(p, "live-count");
	check(n_facts > before, "live-count: facts delivered");
	probe_close(p);
}

/* dir_of_exe/name into out (the default victim and temporary base). */
static bool beside_exe(char *out, size_t len, const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int m;

	if (n <= 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	m = snprintf(out, len, "%s/%s", exe, name);
	return m > 0 && (size_t)m < len;
}

int main(int argc, char **argv)
{
	const char *tmp_base = getenv("TMPDIR");
	char victim[PATH_MAX];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		/* a skip only in a developer's partial run (tools/check) */
		const char *allow = getenv("MIMAMORI_ALLOW_SKIP");
		if (allow && *allow) {
			printf("1..0 # SKIP needs root (CAP_BPF, CAP_PERFMON, cgroups)\n");
			return 0;
		}
		printf("1..1\nnot ok 1 - not run: needs root (CAP_BPF, CAP_PERFMON, cgroups)\n");
		return 1;
	}
	if (argc <= 1 && !beside_exe(victim, sizeof(victim), "probe_victim")) {
		printf("Bail out! cannot locate this executable's directory\n");
		return 1;
	}
	victim_bin = argc > 1 ? argv[1] : victim;
	if (argc > 3) {
		expected_variant = !strcmp(argv[3], "group_dead")   ? PROBE_EXIT_GROUP_DEAD
				   : !strcmp(argv[3], "live-count") ? PROBE_EXIT_LIVE_COUNT
								    : PROBE_EXIT_AUTO;
		if (expected_variant == PROBE_EXIT_AUTO) {
			printf("Bail out! expected exit variant '%s': group_dead or live-count\n",
			       argv[3]);
			return 1;
		}
	}
	if (!tmp_base || !tmp_base[0])
		tmp_base = "/tmp";
	if (setup_dirs(argc > 2 ? argv[2] : tmp_base)) {
		printf("Bail out! cannot create a temporary directory under %s: %s\n",
		       argc > 2 ? argv[2] : tmp_base, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	signal(SIGABRT, on_fatal_signal); /* a failed assert in the code under test */
	signal(SIGSEGV, on_fatal_signal);
	if (prctl(PR_GET_NAME, self_comm))
		snprintf(self_comm, sizeof(self_comm), "?");
	log_set_level(LOG_LEVEL_WARN);

	run_probe_cases();
	case_pidfd();

	cleanup();
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
