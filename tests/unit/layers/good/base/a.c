#include "base/a.h"

struct clk { long (*time)(void); };
static const char *s = "clock_gettime(CLOCK_MONOTONIC) /* not a comment";
static const char q = '"';
long realtime(long x);
long use(struct clk *c, struct clk d)
{
	return c->time() + d.time() + civil_time(1) + realtime(2) + q + (s != 0); /* time( */
}
