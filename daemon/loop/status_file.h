/* STATE_DIR/status.json: the daemon's state as an operator wants it at a
 * glance (probe mode and why it is degraded, libvirt connection, Masakari
 * token and endpoint, outbox depth, watched guests), rewritten atomically
 * every second. */
#ifndef MIMAMORI_STATUS_FILE_H
#define MIMAMORI_STATUS_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/loop/libvirt_watch.h"
#include "daemon/notifier/notifier.h"
#include "daemon/loop/probe.h"

#define STATUS_MAX_GUESTS 1024

struct daemon_status {
	const char *hostname;
	pid_t pid;
	int64_t started_realtime_ns;
	const char *probe_mode;       /* "ebpf" or "pidfd" */
	const char *degraded_reason;  /* "" when not degraded */
	struct probe_stats probe_stats;
	size_t pidfd_watched;
	struct libvirt_watch_status libvirt;
	struct notifier_status notifier;
	size_t n_guests;
	uint32_t guest_tgids[STATUS_MAX_GUESTS];
	uint64_t verdicts, notifications;
	const char (*process_names)[FACT_COMM_LEN];
	size_t n_process_names;
	const char *capabilities; /* cap_to_text form, "=" when none */
};

int status_file_write(const char *state_dir, const struct daemon_status *s, char *err,
		      size_t errlen);
/* Removes a previous daemon's status.json (call holding the state
 * directory's lock): until we write ours, there is none rather than a
 * stale one that says "connected". 0, or -errno other than ENOENT. */
int status_file_remove(const char *state_dir);

#endif
