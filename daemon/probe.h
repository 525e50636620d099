/* The eBPF exit probe's user-space side: loads bpf/exitwatch.bpf.c, picks
 * the program variants this kernel's tracepoint signatures need, and turns
 * ring-buffer records into FACT_PROC_EXIT facts. */
#ifndef MIMAMORI_PROBE_H
#define MIMAMORI_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "facts.h"

#define PROBE_MAX_EXTRA_NAMES 8

struct probe_config {
	/* Process names to watch besides the built-in qemu and pacemaker
	 * remote ones (e.g. nova-compute, libvirtd); truncated to 15 chars
	 * like the kernel's comm. */
	size_t n_extra_names;
	char extra_names[PROBE_MAX_EXTRA_NAMES][FACT_COMM_LEN];
};

struct probe_stats {
	uint64_t events;      /* records delivered to user space */
	uint64_t ringbuf_drops; /* records the kernel could not queue */
};

struct probe;

/* Loads and attaches. Returns NULL with a reason in err when eBPF cannot
 * be used here (no CAP_BPF, no BTF, verifier refusal). */
struct probe *probe_open(const struct probe_config *cfg, char *err, size_t errlen);
void probe_close(struct probe *p);

/* A file descriptor that becomes readable when records are waiting. */
int probe_fd(const struct probe *p);

/* Also watch this tgid whatever its name (the tgid allowlist map). */
int probe_allow_tgid(struct probe *p, uint32_t tgid);

typedef void (*probe_fact_cb)(const struct fact *f, void *ctx);
/* Drains the ring buffer without blocking, calling cb for each exit.
 * Returns the number of facts delivered or -errno. */
int probe_consume(struct probe *p, probe_fact_cb cb, void *ctx);
void probe_get_stats(const struct probe *p, struct probe_stats *out);

#endif
