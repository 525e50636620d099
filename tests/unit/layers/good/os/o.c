#include "os/o.h"
#include "base/a.h"
#include <pthread.h>
#include <time.h>
long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return time(NULL) + t.tv_sec; }
