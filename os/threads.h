/* Helper threads (libvirt, notifier, nng's pool) run at normal priority
 * even though they are created by the real-time event loop thread: a
 * thread inherits its creator's scheduling policy unless told otherwise. */
#ifndef MIMAMORI_THREADS_H
#define MIMAMORI_THREADS_H

#include <pthread.h>

/* pthread_create() with an explicit SCHED_OTHER policy. Returns 0 or an
 * errno value, like pthread_create(). */
int thread_start_normal_priority(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
