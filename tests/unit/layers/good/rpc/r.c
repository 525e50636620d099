#include "rpc/r.h"
#include "core/c.h"
#include "os/o.h"
#include <sys/socket.h>
#include <nng/nng.h>
