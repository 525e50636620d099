/* os/threads: every thread of mimamorid, ours and the libraries', runs on
 * a THREAD_STACK_SIZE stack, and the process's thread-local storage (made
 * in every thread, carved from its stack) stays small (issue 12: 923 KiB of
 * _Thread_local buffers made every thread's stack 932 KiB resident).
 * MIMAMORID: the built daemon, whose PT_TLS segment is checked. */
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "os/threads.h"

/* Thread-local storage the daemon may have: 1/32 of a stack. */
#define TLS_MAX (THREAD_STACK_SIZE / 32)

struct seen {
	size_t stack_size;
	int policy;
};

static void *look(void *arg)
{
	struct seen *s = arg;
	pthread_attr_t attr;
	struct sched_param sp;

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstacksize(&attr, &s->stack_size);
		pthread_attr_destroy(&attr);
	}
	pthread_getschedparam(pthread_self(), &s->policy, &sp);
	return NULL;
}

static void test_helper_thread_has_the_bounded_stack(void **state)
{
	struct seen s = { 0, -1 };
	pthread_t t;

	(void)state;
	assert_int_equal(thread_start_normal_priority(&t, look, &s), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.stack_size, THREAD_STACK_SIZE);
	assert_int_equal(s.policy, SCHED_OTHER);
}

/* What nng, libcurl and libvirt create with pthread_create(..., NULL, ...)
 * or an attribute without a size gets the process default. */
static void test_library_threads_get_the_bounded_stack(void **state)
{
	struct seen s = { 0, -1 };
	pthread_attr_t attr;
	pthread_t t;

	(void)state;
	assert_int_equal(threads_init_process(), 0);
	assert_int_equal(pthread_create(&t, NULL, look, &s), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.stack_size, THREAD_STACK_SIZE);
	s.stack_size = 0;
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_create(&t, &attr, look, &s), 0);
	pthread_attr_destroy(&attr);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.stack_size, THREAD_STACK_SIZE);
}

static void test_daemon_thread_local_storage_is_small(void **state)
{
	const char *path = getenv("MIMAMORID");
	Elf64_Ehdr eh;
	size_t tls = 0;
	int fd, found = 0;

	(void)state;
	assert_non_null(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		assert_int_equal(pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * eh.e_phentsize)),
				 sizeof(ph));
		if (ph.p_type == PT_TLS) {
			tls = ph.p_memsz;
			found = 1;
		}
	}
	close(fd);
	if (found && tls > TLS_MAX)
		fail_msg("%s: thread-local storage of %zu bytes (bound %zu): a large "
			 "_Thread_local buffer is made in every thread; use the heap",
			 path, tls, (size_t)TLS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_thread_has_the_bounded_stack),
		cmocka_unit_test(test_library_threads_get_the_bounded_stack),
		cmocka_unit_test(test_daemon_thread_local_storage_is_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
