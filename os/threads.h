/* Threads of mimamorid: one stack size and one malloc arena policy for all
 * of them, ours and the libraries' (nng's pool, libcurl's resolver), and
 * helper threads (libvirt, notifier, mesh, RPC workers) at normal priority
 * even though they are created by the real-time event loop thread: a
 * thread inherits its creator's scheduling policy unless told otherwise. */
#ifndef MIMAMORI_THREADS_H
#define MIMAMORI_THREADS_H

#include <pthread.h>
#include <stddef.h>

/* The stack of every thread (glibc's default is RLIMIT_STACK, 8 MiB).
 * The deepest measured (docs/BENCHMARKS.md, "Footprint") touches well under
 * a quarter of it: a TLS handshake on an nng thread, a libcurl request on
 * the notifier's, getaddrinfo on a resolver's (glibc caps its alloca at a
 * quarter of the stack). The thread-local storage of the process is carved
 * from it too: keep large buffers out of _Thread_local. */
#define THREAD_STACK_SIZE ((size_t)256 * 1024)

/* malloc arenas of the process (glibc makes up to 8 per CPU, one per thread
 * that meets a locked one, each a 64 MiB reservation that keeps what it
 * grew to): the main one, which the event loop (the main thread) uses, and
 * one that the helper threads share. They allocate rarely and briefly. */
#define THREAD_MALLOC_ARENAS 2

/* Blocks from this size up are mmap'd and returned to the kernel on free
 * (glibc's default, 128 KiB, but fixed: glibc otherwise raises it to the
 * largest block freed, up to 32 MiB, which a reply buffer then keeps). */
#define THREAD_MMAP_THRESHOLD ((size_t)128 * 1024)

/* Sets the process's defaults: THREAD_STACK_SIZE for threads created
 * without an explicit size (the libraries'), and glibc malloc's
 * THREAD_MALLOC_ARENAS and THREAD_MMAP_THRESHOLD (a sanitizer's allocator
 * ignores them). Call first thing in main, before any thread and any
 * library that may start one. Returns 0 or an errno value. */
int threads_init_process(void);

/* pthread_create() with THREAD_STACK_SIZE and an explicit SCHED_OTHER
 * policy. Returns 0 or an errno value, like pthread_create(). */
int thread_start_normal_priority(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
