#include "mesh/m.h"
#include "proto/m.pb-c.h"
#include <stddef.h>
#include <stdatomic.h>
