/* Time units, one definition each. Times are nanoseconds in uint64_t
 * (CLOCK_MONOTONIC) or int64_t (CLOCK_REALTIME, may precede 1970). */
#ifndef MIMAMORI_BASE_UNITS_H
#define MIMAMORI_BASE_UNITS_H

#include <stdint.h>

#define NS_PER_US UINT64_C(1000)
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)
#define US_PER_S UINT64_C(1000000)
#define MS_PER_S UINT64_C(1000)

#endif
