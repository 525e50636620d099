/* See fence_runner.h. */
#include "daemon/mesh/fence_runner.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/units.h"
#include "daemon/common/proc_runner.h"

struct fence_job {
	bool used;
	char host[FENCE_HOST_MAX];
	uint64_t incarnation;
	uint32_t attempt;
};

struct fence_runner {
	enum fence_method method;
	char command[512];
	long timeout_s;
	struct proc_runner *pr;
	struct fence_job jobs[PROC_RUNNER_MAX_CHILDREN];
};

/* The bookkeeping: one job per running child (the job's slot is the
 * child's tag), and never two fences of one host at once, since a second
 * reboot could hit the host as it comes back. */
static void assert_jobs(const struct fence_runner *f)
{
	size_t used = 0;

	for (size_t i = 0; i < PROC_RUNNER_MAX_CHILDREN; i++) {
		const struct fence_job *j = &f->jobs[i];

		if (!j->used)
			continue;
		used++;
		assert(j->host[0] != '\0' && memchr(j->host, '\0', sizeof(j->host)));
		for (size_t k = i + 1; k < PROC_RUNNER_MAX_CHILDREN; k++)
			assert(!f->jobs[k].used || strcmp(f->jobs[k].host, j->host) != 0);
	}
	assert(used == proc_runner_running(f->pr));
}

struct fence_runner *fence_runner_new(const char *method, const char *command, long timeout_s,
				      char *err, size_t errlen)
{
	struct fence_runner *f;
	enum fence_method m;

	assert(method);
	if (strcmp(method, "pacemaker") == 0) {
		m = FENCE_METHOD_PACEMAKER;
	} else if (strcmp(method, "command") == 0) {
		m = FENCE_METHOD_COMMAND;
		if (!command || command[0] != '/') {
			snprintf(err, errlen, "[fencing] command: an absolute path is required");
			return NULL;
		}
		if (strlen(command) >= sizeof(f->command)) {
			snprintf(err, errlen, "[fencing] command: path too long");
			return NULL;
		}
	} else if (strcmp(method, "none") == 0) {
		m = FENCE_METHOD_NONE;
	} else {
		snprintf(err, errlen, "[fencing] method: unknown '%s'", method);
		return NULL;
	}
	if (timeout_s < 1 || timeout_s > 3600) {
		snprintf(err, errlen, "[fencing] timeout: %ld is out of 1..3600 s", timeout_s);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->method = m;
	f->timeout_s = timeout_s;
	if (command)
		snprintf(f->command, sizeof(f->command), "%s", command);
	f->pr = proc_runner_new(PROC_RUNNER_MAX_CHILDREN);
	if (!f->pr) {
		snprintf(err, errlen, "fence runner: %s", strerror(errno));
		free(f);
		return NULL;
	}
	return f;
}

void fence_runner_free(struct fence_runner *f)
{
	if (!f)
		return;
	proc_runner_free(f->pr);
	free(f);
}

enum fence_method fence_runner_method(const struct fence_runner *f)
{
	return f->method;
}

uint64_t fence_runner_timeout_ns(const struct fence_runner *f)
{
	long s = f->method == FENCE_METHOD_PACEMAKER ? f->timeout_s + FENCE_KILL_GRACE_S
						     : f->timeout_s;

	return (uint64_t)s * NS_PER_S;
}

int fence_runner_fd(const struct fence_runner *f)
{
	return proc_runner_fd(f->pr);
}

uint64_t fence_runner_next_deadline(const struct fence_runner *f)
{
	return proc_runner_next_deadline(f->pr);
}

void fence_runner_describe(const struct fence_runner *f, const char *host, char *buf,
			   size_t len)
{
	switch (f->method) {
	case FENCE_METHOD_PACEMAKER:
		snprintf(buf, len, "stonith_admin --reboot %s --timeout %ld", host, f->timeout_s);
		break;
	case FENCE_METHOD_COMMAND:
		snprintf(buf, len, "%s %s", f->command, host);
		break;
	default:
		snprintf(buf, len, "(fencing method none)");
	}
}

int fence_runner_start(struct fence_runner *f, const char *host, uint64_t incarnation,
		       uint32_t attempt, uint64_t now)
{
	char timeout[24];
	const char *argv[7];
	size_t slot = PROC_RUNNER_MAX_CHILDREN;
	int rc;

	/* The caller's contract: host is a member's name (the agreement
	 * fences only members): 1..63 bytes without control characters,
	 * since it becomes an argument of a command that reboots a host. */
	assert(f && host && host[0] != '\0' && strlen(host) < FENCE_HOST_MAX);
	assert(!text_has_control(host));
	if (f->method == FENCE_METHOD_NONE)
		return -ENOTSUP;
	for (size_t i = 0; i < PROC_RUNNER_MAX_CHILDREN; i++) {
		if (f->jobs[i].used && strcmp(f->jobs[i].host, host) == 0)
			return -EALREADY;
		if (!f->jobs[i].used && slot == PROC_RUNNER_MAX_CHILDREN)
			slot = i;
	}
	if (slot == PROC_RUNNER_MAX_CHILDREN)
		return -EAGAIN;
	if (f->method == FENCE_METHOD_PACEMAKER) {
		snprintf(timeout, sizeof(timeout), "%ld", f->timeout_s);
		argv[0] = "stonith_admin";
		argv[1] = "--reboot";
		argv[2] = host;
		argv[3] = "--timeout";
		argv[4] = timeout;
		argv[5] = NULL;
	} else {
		argv[0] = f->command;
		argv[1] = host;
		argv[2] = NULL;
	}
	rc = proc_runner_spawn(f->pr, argv, slot, fence_runner_timeout_ns(f), FENCE_CAPTURE_MAX,
			       true, now);
	if (rc < 0) {
		assert_jobs(f); /* nothing started */
		return rc;
	}
	assert(!f->jobs[slot].used);
	f->jobs[slot].used = true;
	snprintf(f->jobs[slot].host, sizeof(f->jobs[slot].host), "%s", host);
	f->jobs[slot].incarnation = incarnation;
	f->jobs[slot].attempt = attempt;
	assert_jobs(f);
	return 0;
}

/* The last non-empty line of out, trimmed, at most len - 1 bytes. */
static void last_line(const char *out, size_t n, char *buf, size_t len)
{
	size_t end = n, start;

	buf[0] = '\0';
	while (end > 0 && (out[end - 1] == '\n' || out[end - 1] == '\r' || out[end - 1] == ' '))
		end--;
	start = end;
	while (start > 0 && out[start - 1] != '\n')
		start--;
	if (end > start) {
		size_t k = 0;

		for (size_t i = start; i < end && k + 1 < len; i++)
			buf[k++] = text_is_control((unsigned char)out[i]) ? ' ' : out[i];
		buf[k] = '\0';
	}
}

size_t fence_runner_poll(struct fence_runner *f, uint64_t now, struct fence_result *out,
			 size_t max)
{
	struct proc_result res[PROC_RUNNER_MAX_CHILDREN];
	size_t n, got = 0;

	assert(f && (out || max == 0));
	if (max > PROC_RUNNER_MAX_CHILDREN)
		max = PROC_RUNNER_MAX_CHILDREN;
	n = proc_runner_poll(f->pr, now, res, max);
	for (size_t i = 0; i < n; i++) {
		struct fence_job *j;
		struct fence_result *r = &out[got++];
		char how[96], tail[256];

		/* A result belongs to a fence started and not yet reported:
		 * each started fence is reported exactly once. */
		assert(res[i].tag < PROC_RUNNER_MAX_CHILDREN && f->jobs[res[i].tag].used);
		j = &f->jobs[res[i].tag];

		memset(r, 0, sizeof(*r));
		snprintf(r->host, sizeof(r->host), "%s", j->host);
		r->incarnation = j->incarnation;
		r->attempt = j->attempt;
		r->duration_ns = res[i].ended_ns - res[i].started_ns;
		r->outcome = res[i].timed_out ? FENCE_OUTCOME_TIMEOUT
			     : res[i].exited && res[i].exit_code == 0 ? FENCE_OUTCOME_OK
								       : FENCE_OUTCOME_FAILED;
		proc_result_describe(&res[i], how, sizeof(how));
		last_line(res[i].output ? res[i].output : "", res[i].output_len, tail,
			  sizeof(tail));
		snprintf(r->detail, sizeof(r->detail), "%s%s%s%s", how, tail[0] ? ": \"" : "", tail,
			 tail[0] ? "\"" : "");
		proc_result_release(&res[i]);
		j->used = false;
	}
	assert_jobs(f);
	return got;
}
