/* today's case: the pure mesh (rank 1) reaching into core (rank 2) */
#include "base/a.h"
#include "core/crm_mon.h"
