/* Fencing a failed host, and the child-process runner under it.
 *
 * proc_runner: runs commands as children without blocking the caller and
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
 * fence_runner: FENCE actions of mesh/agreement.h.
 *   method pacemaker: stonith_admin --reboot HOST --timeout T (from PATH)
 *   method command:   COMMAND HOST (the configured absolute path)
 * The result is OK if and only if the command exits 0. With pacemaker,
 * exit 0 of `stonith_admin --reboot` is trusted as the confirmation: it
 * returns only once the fencer (pacemaker-fenced) has reported the reboot
 * done by a fence device, and fails (non-zero) when the device fails, no
 * device can fence the host, or the fencer's own timeout T passes. A
 * second `stonith_admin --history HOST` would only re-read the fencer's
 * record of that same operation, and would be one more cluster tool that
 * can hang (field guide): not done. The child is killed T + 10 s after
 * its start (stonith_admin normally answers at T with its own error), and
 * that counts as a timeout. stonith_admin needs root's uid or the haclient
 * group, not a capability, so it works from the capless mesh thread.
 *
 * Not thread-safe: one owner (the mesh thread). */
#ifndef MIMAMORI_FENCE_RUNNER_H
#define MIMAMORI_FENCE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- child processes ---------------------------------------------------- */

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
/* "exit 0", "exit 1", "killed by signal 9", "timed out after 60.0 s". */
void proc_result_describe(const struct proc_result *res, char *buf, size_t len);

/* ---- fencing --------------------------------------------------------------- */

enum fence_method { FENCE_METHOD_PACEMAKER = 1, FENCE_METHOD_COMMAND, FENCE_METHOD_NONE };
enum fence_outcome { FENCE_OUTCOME_OK = 1, FENCE_OUTCOME_FAILED, FENCE_OUTCOME_TIMEOUT };

#define FENCE_HOST_MAX 64      /* host name, NUL included */
#define FENCE_DETAIL_MAX 512
#define FENCE_KILL_GRACE_S 10  /* beyond stonith_admin's own --timeout */
#define FENCE_CAPTURE_MAX 4096 /* output kept for the log */

struct fence_result {
	char host[FENCE_HOST_MAX];
	uint64_t incarnation;
	uint32_t attempt;
	enum fence_outcome outcome;
	uint64_t duration_ns;
	/* How it ended and the last line of its output, for the log. */
	char detail[FENCE_DETAIL_MAX];
};

struct fence_runner;

/* method: "pacemaker", "command" or "none" (config.h's fencing_method);
 * command: the absolute path for "command"; timeout_s: 1..3600. NULL with
 * err on a bad argument. "none" makes a runner that refuses to start. */
struct fence_runner *fence_runner_new(const char *method, const char *command, long timeout_s,
				      char *err, size_t errlen);
void fence_runner_free(struct fence_runner *f);
enum fence_method fence_runner_method(const struct fence_runner *f);
/* What runs, for the log: "stonith_admin --reboot HOST --timeout 60". */
void fence_runner_describe(const struct fence_runner *f, const char *host, char *buf,
			   size_t len);
/* Longest a fence may take before it is reported (kill deadline). */
uint64_t fence_runner_timeout_ns(const struct fence_runner *f);
int fence_runner_fd(const struct fence_runner *f);
/* Starts fencing host. 0; -EALREADY when host is being fenced (the
 * running attempt will report); -ENOTSUP for method none; -ENOENT etc.
 * when the command cannot be started (report it as a failed fence). */
int fence_runner_start(struct fence_runner *f, const char *host, uint64_t incarnation,
		       uint32_t attempt, uint64_t now);
size_t fence_runner_poll(struct fence_runner *f, uint64_t now, struct fence_result *out,
			 size_t max);
uint64_t fence_runner_next_deadline(const struct fence_runner *f);

#endif
