#include "bpf/k.skel.h"
#include "daemon/serve/s.h"
#include "os/o.h"
#include "rpc/r.h"
#include <sys/epoll.h>
