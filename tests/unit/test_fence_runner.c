/* The child-process runner (daemon/common/proc_runner.c) and fencing on it
 * (daemon/mesh/fence_runner.c), with real children: exit codes and
 * captured output, truncation at the bound, SIGKILL at the deadline
 * reported as a timeout, the child limit, a command that cannot run; a
 * fence command per host: OK, FAILED, TIMEOUT, one fence of a host at a
 * time (-EALREADY), each started fence reported exactly once, the last
 * output line in the detail with control characters blanked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/units.h"
#include "daemon/common/proc_runner.h"
#include "daemon/mesh/fence_runner.h"
#include "os/clock.h"

#define WAIT_NS (20 * NS_PER_S) /* bound on any one wait below */

/* Waits on fd until readable or the deadline, then returns the time. */
static uint64_t wait_fd(int fd, uint64_t deadline)
{
	uint64_t now = mono_ns();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t until = deadline < now + 100 * NS_PER_MS ? deadline : now + 100 * NS_PER_MS;

	if (until > now)
		(void)poll(&p, 1, (int)((until - now + NS_PER_MS - 1) / NS_PER_MS));
	return mono_ns();
}

/* Polls r until one result arrives; fails after WAIT_NS. */
static void one_result(struct proc_runner *r, struct proc_result *res)
{
	uint64_t give_up = mono_ns() + WAIT_NS;

	for (;;) {
		uint64_t now = wait_fd(proc_runner_fd(r), proc_runner_next_deadline(r));

		if (proc_runner_poll(r, now, res, 1) == 1)
			return;
		if (now > give_up)
			fail_msg("no child result within %llu s",
				 (unsigned long long)(WAIT_NS / NS_PER_S));
	}
}

static void spawn_ok(struct proc_runner *r, const char *script, uint64_t tag, uint64_t timeout_ns,
		     size_t capture)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };

	assert_int_equal(proc_runner_spawn(r, argv, tag, timeout_ns, capture, true, mono_ns()), 0);
}

static void test_exit_and_output(void **state)
{
	struct proc_runner *r = proc_runner_new(2);
	struct proc_result res;
	char how[96];

	(void)state;
	assert_non_null(r);
	spawn_ok(r, "printf 'hello '; printf 'world' >&2; exit 3", 7, WAIT_NS, 64);
	assert_int_equal(proc_runner_running(r), 1);
	one_result(r, &res);
	assert_int_equal(res.tag, 7);
	assert_true(res.exited);
	assert_false(res.timed_out);
	assert_int_equal(res.exit_code, 3);
	assert_string_equal(res.output, "hello world");
	assert_false(res.output_truncated);
	proc_result_describe(&res, how, sizeof(how));
	assert_true(strncmp(how, "exit 3 after ", 13) == 0);
	proc_result_release(&res);
	assert_null(res.output);
	assert_int_equal(proc_runner_running(r), 0);
	assert_int_equal(proc_runner_next_deadline(r), UINT64_MAX);
	/* Reported once: nothing more comes. */
	assert_int_equal(proc_runner_poll(r, mono_ns(), &res, 1), 0);
	proc_runner_free(r);
}

static void test_capture_bound(void **state)
{
	struct proc_runner *r = proc_runner_new(1);
	struct proc_result res;

	(void)state;
	/* 100 kB through a 100-byte capture: the rest is read and dropped,
	 * so the child never blocks on a full pipe and exits. */
	spawn_ok(r, "head -c 100000 /dev/zero | tr '\\0' x", 0, WAIT_NS, 100);
	one_result(r, &res);
	assert_true(res.exited);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.output_len, 100);
	assert_int_equal(strlen(res.output), 100);
	assert_true(res.output_truncated);
	proc_result_release(&res);
	proc_runner_free(r);
}

static void test_deadline_kills(void **state)
{
	struct proc_runner *r = proc_runner_new(1);
	struct proc_result res;
	uint64_t t0 = mono_ns();
	char how[96];

	(void)state;
	spawn_ok(r, "sleep 30", 0, 200 * NS_PER_MS, 0);
	assert_true(proc_runner_next_deadline(r) >= t0 + 200 * NS_PER_MS);
	one_result(r, &res);
	assert_true(res.timed_out);
	assert_false(res.exited);
	assert_int_equal(res.term_signal, SIGKILL);
	assert_null(res.output);
	assert_true(mono_ns() - t0 < 10 * NS_PER_S);
	proc_result_describe(&res, how, sizeof(how));
	assert_non_null(strstr(how, "timed out"));
	proc_runner_free(r);
}

static void test_limits_and_errors(void **state)
{
	struct proc_runner *r = proc_runner_new(1);
	const char *missing[] = { "/nonexistent/mimamori-test", NULL };
	const char *argv[] = { "sleep", "30", NULL };

	(void)state;
	assert_null(proc_runner_new(0));
	assert_int_equal(errno, EINVAL);
	assert_null(proc_runner_new(PROC_RUNNER_MAX_CHILDREN + 1));
	assert_int_equal(proc_runner_spawn(r, missing, 0, WAIT_NS, 0, false, mono_ns()), -ENOENT);
	assert_int_equal(proc_runner_running(r), 0);
	assert_int_equal(proc_runner_spawn(r, argv, 0, WAIT_NS, 0, false, mono_ns()), 0);
	assert_int_equal(proc_runner_spawn(r, argv, 1, WAIT_NS, 0, false, mono_ns()), -EAGAIN);
	assert_int_equal(proc_runner_running(r), 1);
	proc_runner_free(r); /* kills and reaps the sleeper */
}

/* ---- fencing ------------------------------------------------------------- */

static char script[64];

/* A fence command whose outcome the host name picks. */
static void setup_script(void)
{
	FILE *f;

	snprintf(script, sizeof(script), "/tmp/mimamori-fence-test-%ld.sh", (long)getpid());
	f = fopen(script, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n"
	      "case \"$1\" in\n"
	      "ok-host) echo \"fenced $1\"; exit 0 ;;\n"
	      "bad-host) printf 'first line\\nno \\001device\\n\\n'; exit 1 ;;\n"
	      "slow-host) exec sleep 30 ;;\n"
	      "esac\n"
	      "exit 2\n",
	      f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(script, 0700), 0);
}

/* Polls f until want results have come; fails after WAIT_NS. */
static size_t fence_results(struct fence_runner *f, struct fence_result *out, size_t want)
{
	uint64_t give_up = mono_ns() + WAIT_NS;
	size_t got = 0;

	while (got < want) {
		uint64_t now = wait_fd(fence_runner_fd(f), fence_runner_next_deadline(f));

		got += fence_runner_poll(f, now, out + got, want - got);
		if (now > give_up)
			fail_msg("%zu of %zu fence results within %llu s", got, want,
				 (unsigned long long)(WAIT_NS / NS_PER_S));
	}
	return got;
}

static const struct fence_result *by_host(const struct fence_result *v, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].host, host) == 0)
			return &v[i];
	fail_msg("no result for %s", host);
	return NULL;
}

static void test_fence_command(void **state)
{
	char err[256] = "", what[128];
	struct fence_runner *f;
	struct fence_result res[3];
	const struct fence_result *r;
	uint64_t now = mono_ns();

	(void)state;
	setup_script();
	f = fence_runner_new("command", script, 1, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(fence_runner_method(f), FENCE_METHOD_COMMAND);
	assert_int_equal(fence_runner_timeout_ns(f), NS_PER_S);
	fence_runner_describe(f, "ok-host", what, sizeof(what));
	assert_non_null(strstr(what, " ok-host"));

	assert_int_equal(fence_runner_start(f, "ok-host", 4, 1, now), 0);
	assert_int_equal(fence_runner_start(f, "bad-host", 5, 2, now), 0);
	assert_int_equal(fence_runner_start(f, "slow-host", 6, 3, now), 0);
	/* One fence of a host at a time: the running one will report. */
	assert_int_equal(fence_runner_start(f, "ok-host", 4, 2, now), -EALREADY);
	assert_int_equal(fence_runner_start(f, "slow-host", 6, 4, now), -EALREADY);

	assert_int_equal(fence_results(f, res, 3), 3);
	r = by_host(res, 3, "ok-host");
	assert_int_equal(r->outcome, FENCE_OUTCOME_OK);
	assert_int_equal(r->incarnation, 4);
	assert_int_equal(r->attempt, 1);
	assert_non_null(strstr(r->detail, "\"fenced ok-host\""));
	r = by_host(res, 3, "bad-host");
	assert_int_equal(r->outcome, FENCE_OUTCOME_FAILED);
	assert_int_equal(r->attempt, 2);
	/* The last non-empty line, its control character blanked. */
	assert_non_null(strstr(r->detail, "exit 1 after "));
	assert_non_null(strstr(r->detail, "\"no  device\""));
	r = by_host(res, 3, "slow-host");
	assert_int_equal(r->outcome, FENCE_OUTCOME_TIMEOUT);
	assert_true(r->duration_ns >= NS_PER_S);

	/* Each started fence reported exactly once; the host may be fenced
	 * again after its result. */
	assert_int_equal(fence_runner_poll(f, mono_ns(), res, 3), 0);
	assert_int_equal(fence_runner_next_deadline(f), UINT64_MAX);
	assert_int_equal(fence_runner_start(f, "ok-host", 7, 1, mono_ns()), 0);
	assert_int_equal(fence_results(f, res, 1), 1);
	assert_int_equal(res[0].outcome, FENCE_OUTCOME_OK);
	assert_int_equal(res[0].incarnation, 7);
	fence_runner_free(f);
	unlink(script);
}

static void test_fence_config(void **state)
{
	char err[256] = "";
	struct fence_runner *f;

	(void)state;
	assert_null(fence_runner_new("command", "relative.sh", 60, err, sizeof(err)));
	assert_non_null(strstr(err, "absolute"));
	assert_null(fence_runner_new("ipmi", NULL, 60, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown"));
	assert_null(fence_runner_new("pacemaker", NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "1..3600"));
	f = fence_runner_new("pacemaker", NULL, 60, err, sizeof(err));
	assert_non_null(f);
	/* stonith_admin gets its own timeout and 10 s more before the kill. */
	assert_int_equal(fence_runner_timeout_ns(f), 70 * NS_PER_S);
	fence_runner_free(f);
	f = fence_runner_new("none", NULL, 60, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(fence_runner_start(f, "ok-host", 1, 1, mono_ns()), -ENOTSUP);
	fence_runner_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_and_output),
		cmocka_unit_test(test_capture_bound),
		cmocka_unit_test(test_deadline_kills),
		cmocka_unit_test(test_limits_and_errors),
		cmocka_unit_test(test_fence_command),
		cmocka_unit_test(test_fence_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
