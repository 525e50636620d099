/* The clock deadlines are measured on: CLOCK_MONOTONIC, so a wall-clock
 * step (NTP, an operator) never expires or extends a call. */
#ifndef MIMAMORI_RPC_CLOCK_H
#define MIMAMORI_RPC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t rpc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
