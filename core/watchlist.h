/* The processes mimamorid watches without being told, one line each in
 * watchlist.c's table, and where each one's death goes. The probe loader
 * fills the kernel's name table from it, the pidfd fallback scans /proc
 * with it, the libvirt watcher recognises a guest's qemu by it, and the
 * event loop asks it whether a failed process is the mesh's to judge.
 * Names are kernel comms: their bound is the BPF side's (bpf/exitwatch.h). */
#ifndef MIMAMORI_CORE_WATCHLIST_H
#define MIMAMORI_CORE_WATCHLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/exitwatch.h"

/* A comm with its NUL, and the longest name that can match one. */
#define WATCHLIST_COMM_LEN EXITWATCH_COMM_LEN
#define WATCHLIST_NAME_MAX (WATCHLIST_COMM_LEN - 1)
/* The kernel's name table: the built-ins, then [process] watched. */
#define WATCHLIST_MAX_NAMES EXITWATCH_MAX_NAMES

enum watch_match {
	WATCH_EXACT = 1, /* the whole comm ("qemu-kvm") */
	WATCH_PREFIX,    /* the comm's start ("qemu-system-" + the arch) */
};

/* Where the death of a built-in watched process goes. */
enum watch_death {
	/* A guest's qemu: the correlator ties its tgid to the domain libvirt
	 * names, and a failure becomes a VM notification (the guest path). */
	WATCH_DEATH_GUEST = 1,
	/* A host process the mesh judges: with [mesh] enabled it is watched like
	 * a [process] watched name, and its failure goes to the peers (a PROCESS
	 * notification while this host stays reachable, else their COMPUTE_HOST)
	 * instead of to Masakari from here. Without the mesh its death is only
	 * recorded, unless [process] watched lists it (then: a PROCESS
	 * notification from here). */
	WATCH_DEATH_MESH,
};

struct watch_entry {
	const char *comm; /* at most WATCHLIST_NAME_MAX chars (the kernel's cut) */
	enum watch_match match;
	enum watch_death death;
	const char *process; /* the process in reports: "qemu", "pacemaker_remoted" */
};

/* The built-in table; *n is set to its length. */
const struct watch_entry *watchlist_builtins(size_t *n);

/* True when comm matches e the way the kernel probe compares. */
bool watch_entry_matches(const struct watch_entry *e, const char *comm);

/* The first built-in matching comm the way the kernel probe compares, or
 * NULL. */
const struct watch_entry *watchlist_match(const char *comm);

/* True when one of the built-ins whose death goes to `death` starts comm
 * (the /proc scans' looser rule: every name taken as a prefix). */
bool watchlist_prefix_of(const char *comm, enum watch_death death);

/* What the loader writes into the kernel's rodata: the built-ins, then the
 * extra names (exact), from slot 0 on. cmp_len[i] is the number of bytes of
 * names[i] the kernel compares: the prefix's length, or strlen + 1 (the
 * NUL) for an exact name; an unused slot has 0. */
struct watch_kernel_table {
	size_t n;
	char names[WATCHLIST_MAX_NAMES][WATCHLIST_COMM_LEN];
	uint32_t cmp_len[WATCHLIST_MAX_NAMES];
};

/* Fills out (zeroed first) from the built-ins and the n_extra names
 * ([process] watched; cut to WATCHLIST_NAME_MAX chars like the kernel's
 * comm). Returns 0, or -EINVAL (an empty name) or -E2BIG (too many) with a
 * reason in err. */
int watchlist_kernel_table(const char (*extra)[WATCHLIST_COMM_LEN], size_t n_extra,
			   struct watch_kernel_table *out, char *err, size_t errlen);

/* The pidfd fallback's /proc scan: the built-ins' names, then the extra
 * names, all taken as prefixes. Writes at most max pointers (into the
 * table and into extra) and returns how many. */
size_t watchlist_scan_prefixes(const char (*extra)[WATCHLIST_COMM_LEN], size_t n_extra,
			       const char **out, size_t max);

/* The host process names the correlator classifies: the configured ones,
 * then, with the mesh, each WATCH_DEATH_MESH built-in whose process is not
 * configured under any of its names. Writes at most max names and returns
 * how many; *overflow is set when a mesh built-in did not fit. */
size_t watchlist_process_names(const char (*configured)[WATCHLIST_COMM_LEN], size_t n_configured,
			       bool mesh_enabled, char (*out)[WATCHLIST_COMM_LEN], size_t max,
			       bool *overflow);

/* Where the failure of the watched host process `name` (a verdict's name,
 * a configured comm) goes: the mesh's built-in entry when the mesh is on
 * and name is one of its processes, else NULL (Masakari, from here). */
const struct watch_entry *watchlist_failure_to_mesh(const char *name, bool mesh_enabled);

/* The built-in guest managers (libvirtd, virtqemud): a signal one of them
 * sends to a guest's qemu is a stop request, not a failure. Writes at most
 * max names and returns how many. */
size_t watchlist_managers(char (*out)[WATCHLIST_COMM_LEN], size_t max);

#endif
