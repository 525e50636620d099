/* Child processes: runs commands as children without blocking the caller and
 * without SIGCHLD: each child is spawned with posix_spawn in its own
 * process group, watched through a pidfd (pidfd_open) and reaped with
 * waitid(P_PIDFD), so no other thread's waitpid() or signal disposition
 * matters and no pid can be recycled under us. All pidfds and output pipes
 * sit in one epoll set whose fd the caller adds to its own loop; the
 * caller calls proc_runner_poll() when that fd is readable and at
 * proc_runner_next_deadline(). A child still running at its deadline gets
 * SIGKILL, as does its whole process group (a fence script's own
 * children), and is reported as timed out once reaped. Children get
 * /dev/null as stdin, an empty signal mask and default signal handlers
 * (the daemon's threads block SIGTERM/SIGINT/SIGHUP for its signalfd; a
 * child must not inherit that). Output is captured up to a bound; the rest
 * is read and dropped so a chatty child never blocks on a full pipe.
 *
 * Users: the mesh thread's fence runner (daemon/mesh/fence_runner.h) and
 * its crm_mon second opinion. Not thread-safe: one owner per runner. */
#ifndef MIMAMORI_PROC_RUNNER_H
#define MIMAMORI_PROC_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_RUNNER_MAX_CHILDREN 16

struct proc_runner;

struct proc_result {
	uint64_t tag;          /* as given to proc_runner_spawn */
	pid_t pid;
	bool timed_out;        /* killed at its deadline */
	bool exited;           /* exited normally: exit_code is valid */
	int exit_code;
	int term_signal;       /* killed by this signal (when !exited) */
	char *output;          /* captured output, NUL-terminated; NULL if none */
	size_t output_len;
	bool output_truncated; /* more than capture_max bytes were written */
	uint64_t started_ns, ended_ns; /* the caller's clock (`now`) */
};

/* NULL on error (errno). max_children: 1..PROC_RUNNER_MAX_CHILDREN. */
struct proc_runner *proc_runner_new(size_t max_children);
/* Kills every running child (SIGKILL to its group), reaps them, frees. */
void proc_runner_free(struct proc_runner *r);
/* Readable when a child exited or wrote output. */
int proc_runner_fd(const struct proc_runner *r);
/* Starts argv (argv[0] searched in PATH when it has no '/') with the
 * environment of the daemon. capture_max 0: output to /dev/null; else
 * stdout (and stderr too with with_stderr; otherwise stderr goes to
 * /dev/null) is kept up to capture_max bytes. Returns 0, or -ENOENT /
 * -EACCES (cannot execute argv[0]), -EAGAIN (max_children running), or
 * another -errno. */
int proc_runner_spawn(struct proc_runner *r, const char *const argv[], uint64_t tag,
		      uint64_t timeout_ns, size_t capture_max, bool with_stderr, uint64_t now);
/* Reads output, kills children past their deadline, reaps the exited ones
 * and moves up to max results into out (release each with
 * proc_result_release). Call until it returns 0 when the fd is readable
 * and when now >= proc_runner_next_deadline(). */
size_t proc_runner_poll(struct proc_runner *r, uint64_t now, struct proc_result *out,
			size_t max);
/* The earliest deadline of a running child; UINT64_MAX if none. */
uint64_t proc_runner_next_deadline(const struct proc_runner *r);
size_t proc_runner_running(const struct proc_runner *r);
void proc_result_release(struct proc_result *res);
/* "exit 0 after 0.012 s", "killed by signal 9 after 1.500 s", "timed out
 * after 60.0 s (killed)". */
void proc_result_describe(const struct proc_result *res, char *buf, size_t len);

#endif
