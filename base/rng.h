/* Seeded pseudo-random numbers, one copy each: splitmix64 (a stream from a
 * single 64-bit state; also what seeds the others) and xoshiro256** (the
 * cores' generator). Deterministic for a seed, so a simulated run or a
 * test replays exactly. Not for secrets. Header only. */
#ifndef MIMAMORI_BASE_RNG_H
#define MIMAMORI_BASE_RNG_H

#include <stdint.h>

static inline uint64_t splitmix64_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

struct xoshiro256 {
	uint64_t s[4];
};

/* The state from splitmix64 of seed, as its authors recommend. */
static inline void xoshiro256_seed(struct xoshiro256 *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64_next(&seed);
}

static inline uint64_t rng_rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline uint64_t xoshiro256_next(struct xoshiro256 *r)
{
	uint64_t *s = r->s;
	uint64_t result = rng_rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, n), n > 0, without modulo bias (rejection). */
static inline uint64_t xoshiro256_below(struct xoshiro256 *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;

	do {
		v = xoshiro256_next(r);
	} while (v >= limit);
	return v % n;
}

#endif
