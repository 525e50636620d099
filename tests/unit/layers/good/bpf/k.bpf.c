#include "vmlinux.h"
#include "k.h"
