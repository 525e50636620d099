#include "core/crm_mon.h"
