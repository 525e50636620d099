/* Walking /proc: every process with its comm. The libvirt watcher finds
 * qemu by its -uuid, the pidfd fallback finds watched processes, and the
 * control service reports watched processes' pids, all through this. */
#ifndef MIMAMORI_PROC_SCAN_H
#define MIMAMORI_PROC_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/exitwatch.h"

#define PROC_COMM_LEN EXITWATCH_COMM_LEN /* kernel TASK_COMM_LEN */

/* Reads /proc/PID/comm without its newline; false when the process is gone. */
bool proc_read_comm(uint32_t pid, char comm[PROC_COMM_LEN]);

/* Called for each process; returning false ends the walk. */
typedef bool (*proc_visit_fn)(uint32_t pid, const char *comm, void *ctx);

/* Visits every process whose comm could be read, in /proc's order. */
void proc_for_each(proc_visit_fn visit, void *ctx);

#endif
