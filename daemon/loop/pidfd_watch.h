/* Degraded mode when eBPF cannot load: pidfd_open(2) + epoll on the PIDs
 * we know (guests' qemu, watched host processes). It tells that a process
 * died and when, not why: no exit status (not our child), no sender, no
 * OOM flag. */
#ifndef MIMAMORI_PIDFD_WATCH_H
#define MIMAMORI_PIDFD_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/facts.h"

#define PIDFD_WATCH_MAX 4096

struct pidfd_watch;

struct pidfd_watch *pidfd_watch_new(void);
void pidfd_watch_free(struct pidfd_watch *w);
/* An epoll fd that becomes readable when a watched process exits. */
int pidfd_watch_fd(const struct pidfd_watch *w);
/* Starts watching tgid (idempotent). comm is recorded for the fact.
 * Returns 0, or -errno (-ESRCH when it is already gone). */
int pidfd_watch_add(struct pidfd_watch *w, uint32_t tgid, const char *comm);
/* Adds every running process whose comm starts with one of the prefixes. */
size_t pidfd_watch_scan(struct pidfd_watch *w, const char *const *prefixes, size_t n);

typedef void (*pidfd_fact_cb)(const struct fact *f, void *ctx);
/* Delivers a FACT_PROC_EXIT (source PIDFD, status unknown) per exit. */
int pidfd_watch_consume(struct pidfd_watch *w, uint64_t now_mono_ns, pidfd_fact_cb cb, void *ctx);
size_t pidfd_watch_count(const struct pidfd_watch *w);

#endif
