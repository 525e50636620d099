#include "nothing.h"
#include "../tests/t.c"
