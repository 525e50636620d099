/* The connections (nng pipes) an endpoint has admitted, by id, fed from
 * nng's pipe callbacks. nng may report a pipe's removal without having
 * reported its addition (a pipe that fails while being added), so a bare
 * counter could drift; a set cannot. Bounded; thread-safe. */
#ifndef MIMAMORI_RPC_PIPE_SET_H
#define MIMAMORI_RPC_PIPE_SET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct rpc_pipe_set {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* CLOCK_MONOTONIC */
	uint32_t *ids;
	uint32_t n;
	uint32_t cap;
};

/* Returns 0, or -ENOMEM. */
int rpc_pipe_set_init(struct rpc_pipe_set *ps, uint32_t cap);
void rpc_pipe_set_fini(struct rpc_pipe_set *ps);
/* False when the set is full (the caller refuses the connection). */
bool rpc_pipe_set_add(struct rpc_pipe_set *ps, uint32_t id);
/* Removing an id that is not there is a no-op. */
void rpc_pipe_set_remove(struct rpc_pipe_set *ps, uint32_t id);
uint32_t rpc_pipe_set_count(struct rpc_pipe_set *ps);
bool rpc_pipe_set_contains(struct rpc_pipe_set *ps, uint32_t id);
/* Waits until the set is empty; false after timeout_ms. */
bool rpc_pipe_set_wait_empty(struct rpc_pipe_set *ps, uint32_t timeout_ms);

#endif
