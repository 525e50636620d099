#include "mesh/m.h"
#include "bpf/k.h"
#include "proto/m.pb-c.h"
#include <time.h>
#include <sys/wait.h>
