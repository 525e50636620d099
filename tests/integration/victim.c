/* A process for probe_test to watch die. probe_test runs it through copies
 * named like the processes mimamori watches (the kernel takes the comm from
 * the executable's name) and reads one byte on fd 3 once the victim is set
 * up, so the test never guesses with a sleep.
 *
 *   victim sleep        wait to be killed
 *   victim exit N       exit(N)
 *   victim segv         NULL dereference (kernel-generated SIGSEGV)
 *   victim term         exit(0) on SIGTERM, as QEMU does
 *   victim keep-term    catch and ignore SIGTERM (so SIGKILL must follow)
 *   victim mt N         the leader thread exits first; a worker then exit(N)s
 *   victim threads N    N more threads, all waiting to be killed together
 *   victim oom          allocate and touch memory until the OOM killer fires
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define READY_FD 3
#define OOM_CHUNK (1u << 20)

static pthread_t leader;
static int mt_code;
/* where allocations escape, so the compiler cannot drop them */
static char *volatile oom_sink;

static void ready(void)
{
	ssize_t n = write(READY_FD, "r", 1);

	(void)n; /* run by hand there is no one listening */
	close(READY_FD);
}

static void exit_zero(int sig)
{
	(void)sig;
	_exit(0);
}

static void ignore(int sig)
{
	(void)sig;
}

static int on_signal(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* Waits for the leader thread to be gone (glibc clears its tid at exit and
 * wakes joiners), so the group dies on this thread, not the leader. */
static void *worker(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "worker");
	if (pthread_join(leader, NULL) != 0)
		_exit(98);
	exit(mt_code);
}

static __attribute__((noreturn)) int wait_forever(void)
{
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sleep";
	int code = argc > 2 ? atoi(argv[2]) : 0;

	if (!strcmp(mode, "sleep")) {
		ready();
		return wait_forever();
	}
	if (!strcmp(mode, "exit")) {
		ready();
		return code;
	}
	if (!strcmp(mode, "segv")) {
		struct rlimit none = { 0, 0 }; /* no core file in the build tree */
		volatile int *null = NULL;

		if (setrlimit(RLIMIT_CORE, &none))
			return 97;
		ready();
		return *null;
	}
	if (!strcmp(mode, "term") || !strcmp(mode, "keep-term")) {
		/* a handler, not SIG_IGN: an ignored signal is never delivered */
		if (on_signal(SIGTERM, !strcmp(mode, "term") ? exit_zero : ignore))
			return 96;
		ready();
		return wait_forever();
	}
	if (!strcmp(mode, "mt")) {
		pthread_t t;

		mt_code = code;
		leader = pthread_self();
		if (pthread_create(&t, NULL, worker, NULL))
			return 95;
		ready();
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "threads")) {
		for (int i = 0; i < code && i < 64; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, idle, NULL))
				return 93;
		}
		ready();
		return wait_forever();
	}
	if (!strcmp(mode, "oom")) {
		ready();
		for (;;) {
			char *p = malloc(OOM_CHUNK);

			if (!p)
				return 94;
			memset(p, 1, OOM_CHUNK);
			oom_sink = p;
		}
	}
	fprintf(stderr, "victim: unknown mode %s\n", mode);
	return 2;
}
