/* The eBPF exit probe's user-space side: loads bpf/exitwatch.bpf.c, picks
 * the program variants this kernel's tracepoint signatures need, and turns
 * ring-buffer records into FACT_PROC_EXIT facts. */
#ifndef MIMAMORI_PROBE_H
#define MIMAMORI_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "core/correlate.h"
#include "core/facts.h"

/* Every [process] watched name; core/watchlist.c asserts they fit beside
 * the built-ins. */
#define PROBE_MAX_EXTRA_NAMES CORRELATE_MAX_PROCESS_NAMES

struct probe_config {
	/* Process names to watch besides the built-in ones (core/watchlist.c:
	 * qemu, pacemaker remote), e.g. nova-compute, libvirtd; truncated to
	 * 15 chars like the kernel's comm. */
	size_t n_extra_names;
	char extra_names[PROBE_MAX_EXTRA_NAMES][FACT_COMM_LEN];
};

struct probe_stats {
	uint64_t events;      /* records delivered to user space */
	uint64_t ringbuf_drops; /* records the kernel could not queue */
};

struct probe;

/* How the kernel side learns that a thread group died. The running
 * kernel's sched_process_exit tracepoint decides: with a group_dead
 * argument (6.18) or without it (6.1: signal->live read instead, with a
 * dedup for threads exiting together). */
enum probe_exit_variant {
	PROBE_EXIT_AUTO = 0,   /* whatever the running kernel offers */
	PROBE_EXIT_GROUP_DEAD, /* tracepoint (p, group_dead) */
	PROBE_EXIT_LIVE_COUNT, /* tracepoint (p): also loads on newer kernels */
};

/* Loads and attaches. Returns NULL with a reason in err when eBPF cannot
 * be used here (no CAP_BPF, no BTF, verifier refusal). */
struct probe *probe_open(const struct probe_config *cfg, char *err, size_t errlen);
/* probe_open with the exit variant forced (tests run the fallback variant
 * on kernels that no longer need it); AUTO is probe_open. */
struct probe *probe_open_variant(const struct probe_config *cfg, enum probe_exit_variant variant,
				 char *err, size_t errlen);
/* The variant in use (never AUTO), for the startup log. */
enum probe_exit_variant probe_exit_variant(const struct probe *p);
void probe_close(struct probe *p);

/* A file descriptor that becomes readable when records are waiting. */
int probe_fd(const struct probe *p);

/* Also watch this tgid whatever its name (the tgid allowlist map), until
 * it dies. Returns 0 or -errno: -ESRCH when it is already gone, -EINVAL
 * for a thread id, -E2BIG when 4096 tgids are allowlisted. */
int probe_allow_tgid(struct probe *p, uint32_t tgid);

typedef void (*probe_fact_cb)(const struct fact *f, void *ctx);
/* Drains the ring buffer without blocking, calling cb for each exit.
 * Returns the number of facts delivered or -errno. */
int probe_consume(struct probe *p, probe_fact_cb cb, void *ctx);
void probe_get_stats(const struct probe *p, struct probe_stats *out);

#endif
