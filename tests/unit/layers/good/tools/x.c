#include "tools/x.h"
#include "daemon/loop/l.c"
