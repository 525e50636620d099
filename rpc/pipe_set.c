/* See pipe_set.h. Linear scans: at most RPC_MAX_CONNECTIONS ids, touched
 * once per connect and disconnect. */
#include "rpc/pipe_set.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "os/clock.h"

int rpc_pipe_set_init(struct rpc_pipe_set *ps, uint32_t cap)
{
	assert(cap > 0);
	ps->ids = calloc(cap, sizeof(*ps->ids));
	if (ps->ids == NULL)
		return -ENOMEM;
	ps->n = 0;
	ps->cap = cap;
	pthread_mutex_init(&ps->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ps->changed, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

void rpc_pipe_set_fini(struct rpc_pipe_set *ps)
{
	if (ps->ids == NULL)
		return;
	pthread_cond_destroy(&ps->changed);
	pthread_mutex_destroy(&ps->lock);
	free(ps->ids);
	ps->ids = NULL;
}

bool rpc_pipe_set_add(struct rpc_pipe_set *ps, uint32_t id)
{
	pthread_mutex_lock(&ps->lock);
	bool ok = ps->n < ps->cap;
	if (ok)
		ps->ids[ps->n++] = id;
	pthread_mutex_unlock(&ps->lock);
	return ok;
}

void rpc_pipe_set_remove(struct rpc_pipe_set *ps, uint32_t id)
{
	pthread_mutex_lock(&ps->lock);
	for (uint32_t i = 0; i < ps->n; i++) {
		if (ps->ids[i] == id) {
			ps->ids[i] = ps->ids[--ps->n];
			pthread_cond_broadcast(&ps->changed);
			break;
		}
	}
	pthread_mutex_unlock(&ps->lock);
}

uint32_t rpc_pipe_set_count(struct rpc_pipe_set *ps)
{
	pthread_mutex_lock(&ps->lock);
	uint32_t n = ps->n;
	pthread_mutex_unlock(&ps->lock);
	return n;
}

bool rpc_pipe_set_contains(struct rpc_pipe_set *ps, uint32_t id)
{
	pthread_mutex_lock(&ps->lock);
	bool found = false;
	for (uint32_t i = 0; i < ps->n && !found; i++)
		found = ps->ids[i] == id;
	pthread_mutex_unlock(&ps->lock);
	return found;
}

bool rpc_pipe_set_wait_empty(struct rpc_pipe_set *ps, uint32_t timeout_ms)
{
	struct timespec until = timespec_of_ns(mono_ns() + (uint64_t)timeout_ms * NS_PER_MS);
	pthread_mutex_lock(&ps->lock);
	int rv = 0;
	while (ps->n > 0 && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&ps->changed, &ps->lock, &until);
	bool empty = ps->n == 0;
	pthread_mutex_unlock(&ps->lock);
	return empty;
}
