/* fence_driver TIMEOUT_S HOST: fences HOST the way mimamorid's mesh thread
 * does, through daemon/mesh/fence_runner.c with fencing_method = pacemaker
 * (stonith_admin from PATH), after the daemon's own privilege drop
 * (daemon/loop/privileges.c: uid 0, no capability, no_new_privs). Prints
 * one line, "caps=C outcome=OK|FAILED|TIMEOUT ms=N detail=D", and exits 0
 * once the runner reported; 2 on a usage or setup error. fence_test.sh
 * judges the line against what the real cluster did. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/loop/privileges.h"
#include "daemon/mesh/fence_runner.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *outcome_name(enum fence_outcome o)
{
	switch (o) {
	case FENCE_OUTCOME_OK:
		return "OK";
	case FENCE_OUTCOME_FAILED:
		return "FAILED";
	case FENCE_OUTCOME_TIMEOUT:
		return "TIMEOUT";
	}
	return "?";
}

int main(int argc, char **argv)
{
	char err[256], caps[128];
	struct fence_runner *f;
	struct fence_result res;
	long timeout_s;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s TIMEOUT_S HOST\n", argv[0]);
		return 2;
	}
	timeout_s = strtol(argv[1], NULL, 10);
	/* Dropped first, as mimamorid does before its mesh thread fences. */
	if (privileges_drop_all(err, sizeof(err)) < 0) {
		fprintf(stderr, "fence_driver: %s\n", err);
		return 2;
	}
	privileges_describe(caps, sizeof(caps));
	f = fence_runner_new("pacemaker", NULL, timeout_s, err, sizeof(err));
	if (!f) {
		fprintf(stderr, "fence_driver: %s\n", err);
		return 2;
	}
	rc = fence_runner_start(f, argv[2], 1, 1, now_ns());
	if (rc < 0) {
		fprintf(stderr, "fence_driver: fence_runner_start: %s\n", strerror(-rc));
		fence_runner_free(f);
		return 2;
	}
	for (;;) {
		uint64_t deadline = fence_runner_next_deadline(f), now = now_ns();
		int wait_ms = deadline == UINT64_MAX ? 1000
			      : deadline <= now	      ? 0
						      : (int)((deadline - now) / 1000000u) + 1;
		struct pollfd p = { .fd = fence_runner_fd(f), .events = POLLIN };

		if (poll(&p, 1, wait_ms) < 0 && errno != EINTR) {
			fprintf(stderr, "fence_driver: poll: %s\n", strerror(errno));
			fence_runner_free(f);
			return 2;
		}
		if (fence_runner_poll(f, now_ns(), &res, 1) == 1)
			break;
	}
	printf("caps=%s outcome=%s ms=%llu detail=%s\n", caps, outcome_name(res.outcome),
	       (unsigned long long)(res.duration_ns / 1000000u), res.detail);
	fence_runner_free(f);
	return 0;
}
