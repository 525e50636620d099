#include "vmlinux.h"
