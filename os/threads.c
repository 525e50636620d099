/* See threads.h. */
#include "os/threads.h"

#include <sched.h>

int thread_start_normal_priority(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	struct sched_param sp = { .sched_priority = 0 };
	int rc = pthread_attr_init(&attr);

	if (rc != 0)
		return rc;
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
