/* FNV-1a (64-bit) over a NUL-terminated string: the one name hash of the
 * project (the member table's index, the agreement's observer ranking).
 * Not for adversarial keys: names come from the members file. */
#ifndef MIMAMORI_BASE_HASH_H
#define MIMAMORI_BASE_HASH_H

#include <stdint.h>

#define FNV1A64_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV1A64_PRIME UINT64_C(0x100000001b3)

static inline uint64_t fnv1a64(const char *s)
{
	uint64_t h = FNV1A64_OFFSET;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		h ^= *p;
		h *= FNV1A64_PRIME;
	}
	return h;
}

#endif
