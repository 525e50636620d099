#include "proto/y.pb-c.h"
#include "bpf/exitwatch.skel.h"
