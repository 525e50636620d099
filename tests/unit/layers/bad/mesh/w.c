#include "proto/y.pb-c.h"
#include "bpf/exitwatch.skel.h"
#include <base/a.h>
