#include "core/crm_mon.h"
#include <pthread.h>
#  include <netinet/in.h>
 # include <sys/socket.h>
#include <nng/nng.h>
#include "os/clock.h"
#include "rpc/r.h"
/* a comment over
 * two lines */ static long t0(void) { return time(NULL); }
static void t1(struct timespec *ts) { clock_gettime(1, ts); }
static void t2(void *tv) { gettimeofday (tv, 0); }
