#include "tests/rpc/t.pb-c.h"
#include "tools/x.h"
#include "mesh/m.h"
