/* killstamp PID SIGNAL: sends SIGNAL to PID and prints the CLOCK_MONOTONIC
 * and CLOCK_REALTIME nanoseconds taken just before the kill(2), so the demo
 * and the benchmarks can measure from the very moment of the kill on the
 * clock the kernel probe stamps with. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char *end;
	long pid, sig;

	if (argc != 3) {
		fprintf(stderr, "usage: killstamp PID SIGNAL\n");
		return 2;
	}
	pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "killstamp: bad pid '%s'\n", argv[1]);
		return 2;
	}
	sig = strtol(argv[2], &end, 10);
	if (*end || sig <= 0 || sig >= NSIG) {
		fprintf(stderr, "killstamp: bad signal '%s'\n", argv[2]);
		return 2;
	}
	long long mono = ns(CLOCK_MONOTONIC), real = ns(CLOCK_REALTIME);

	if (kill((pid_t)pid, (int)sig) < 0) {
		fprintf(stderr, "killstamp: kill %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("%lld %lld\n", mono, real);
	return 0;
}
