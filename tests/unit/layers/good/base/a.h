#pragma once
#include <stdint.h>
/* The time (in ns) is an argument here; a commented-out
 * #include "nothere.h" or #include <pthread.h> or a call time(NULL)
 * is no include and no call. */
int64_t civil_time(int64_t t); // time(NULL) in a line comment
/*
#include "nothere.h"
#include <pthread.h>
long f(void) { return time(NULL); }
*/
