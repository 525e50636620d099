/* See threads.h. */
#include "os/threads.h"

#include <malloc.h>
#include <sched.h>

int threads_init_process(void)
{
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);

	if (rc != 0)
		return rc;
	rc = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (rc == 0)
		rc = pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return rc;
	/* Best effort: glibc's malloc takes them (returns 1); a sanitizer's
	 * allocator ignores them (returns 0) and keeps its own policy. */
	(void)mallopt(M_ARENA_MAX, THREAD_MALLOC_ARENAS);
	(void)mallopt(M_MMAP_THRESHOLD, (int)THREAD_MMAP_THRESHOLD);
	(void)mallopt(M_TRIM_THRESHOLD, (int)THREAD_MMAP_THRESHOLD);
	return 0;
}

int thread_start_normal_priority(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	struct sched_param sp = { .sched_priority = 0 };
	int rc = pthread_attr_init(&attr);

	if (rc != 0)
		return rc;
	rc = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (rc == 0)
		rc = pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	if (rc == 0)
		rc = pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	if (rc == 0)
		rc = pthread_attr_setschedparam(&attr, &sp);
	if (rc == 0)
		rc = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc;
}
