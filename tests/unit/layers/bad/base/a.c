#include "a.h"
#include "../core/crm_mon.h"
#include "./base/a.h"
#include "base/nosuch.h"
