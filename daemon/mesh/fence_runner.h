/* Fencing a failed host (through daemon/common/proc_runner.h).
 *
 * FENCE actions of mesh/agreement.h:
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

#include <stddef.h>
#include <stdint.h>

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
/* Starts fencing host, a member's name (1..FENCE_HOST_MAX - 1 bytes, no
 * control character: asserted). 0; -EALREADY when host is being fenced
 * (the running attempt will report); -ENOTSUP for method none; -ENOENT
 * etc. when the command cannot be started (report it as a failed fence). */
int fence_runner_start(struct fence_runner *f, const char *host, uint64_t incarnation,
		       uint32_t attempt, uint64_t now);
/* Up to max results into out, each started fence's exactly once. */
size_t fence_runner_poll(struct fence_runner *f, uint64_t now, struct fence_result *out,
			 size_t max);
uint64_t fence_runner_next_deadline(const struct fence_runner *f);

#endif
