/* mimamori-sim: the simulator's own random streams, apart from the cores'
 * seeded PRNGs. Every random choice of the network and of the scenarios
 * comes from a stream seeded from --seed, so a seed replays a run exactly.
 * The generator is base/rng.h's splitmix64; this header only derives a
 * stream's state from (seed, stream) and scales draws to a range. */
#ifndef MIMAMORI_SIM_RNG_H
#define MIMAMORI_SIM_RNG_H

#include <stdint.h>

#include "base/rng.h"

struct sim_rng {
	uint64_t s; /* splitmix64 state */
};

static inline void rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	r->s = seed * UINT64_C(0x9e3779b97f4a7c15) ^ (stream + 1) * UINT64_C(0xd1b54a32d192ed03);
}

static inline uint64_t rng_next(struct sim_rng *r)
{
	return splitmix64_next(&r->s);
}

/* Uniform in [0, n) (n > 0; Lemire's multiply, bias < n / 2^64: the
 * simulator's scaling, not base/rng.h's rejection, so a seed replays the
 * runs it always did). */
static inline uint64_t rng_below(struct sim_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rng_below(r, hi - lo + 1);
}

#endif
