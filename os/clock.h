/* The clocks, one copy each. Deadlines, timeouts and durations are measured
 * on CLOCK_MONOTONIC (mono_ns), so a wall-clock step (NTP, an operator)
 * never expires or extends them; CLOCK_REALTIME (realtime_ns) only stamps
 * what people and Masakari read. Pure code never calls these: it takes the
 * time as an argument. */
#ifndef MIMAMORI_OS_CLOCK_H
#define MIMAMORI_OS_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "base/units.h"

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * (int64_t)NS_PER_S + ts.tv_nsec;
}

/* An instant or duration in ns as a timespec (timerfds, timed waits). */
static inline struct timespec timespec_of_ns(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) };
}

/* A CLOCK_MONOTONIC instant as wall-clock time, by today's offset between
 * the clocks (a step since then moves it: good enough for a timestamp). */
static inline int64_t mono_to_realtime(uint64_t mono)
{
	return (int64_t)mono + (realtime_ns() - (int64_t)mono_ns());
}

#endif
