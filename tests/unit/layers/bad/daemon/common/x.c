#include "daemon/loop/y.h"
