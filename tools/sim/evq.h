/* mimamori-sim: the event queue. A binary min-heap (array, no recursion)
 * of events ordered by (virtual time, insertion sequence): events due at
 * the same nanosecond run in the order they were scheduled, so a run is a
 * function of its seed. */
#ifndef MIMAMORI_SIM_EVQ_H
#define MIMAMORI_SIM_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_event {
	uint64_t at;  /* virtual ns */
	uint64_t seq; /* set by evq_push: ties broken by insertion order */
	uint16_t kind;
	uint16_t aux; /* the owner's (retransmission attempt) */
	uint32_t node;
	union {
		void *ptr;
		uint64_t u;
	} data;
};

struct evq {
	struct sim_event *heap;
	size_t len, cap;
	uint64_t seq;
	size_t peak;
};

void evq_init(struct evq *q);
/* Frees the array only: payloads are the owner's (drain with evq_pop). */
void evq_free(struct evq *q);
/* Aborts on out of memory (the simulator cannot go on without it). */
void evq_push(struct evq *q, const struct sim_event *ev);
/* The earliest event; false when empty. */
bool evq_pop(struct evq *q, struct sim_event *out);
/* Time of the earliest event; UINT64_MAX when empty. */
uint64_t evq_next_at(const struct evq *q);

#endif
