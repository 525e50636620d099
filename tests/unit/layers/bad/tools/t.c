#include "tests/h.h"
