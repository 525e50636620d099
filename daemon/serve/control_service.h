/* The Control service (proto/control.proto) that mimamorictl calls on the
 * local ipc socket. Handlers run on the RPC server's worker threads, never
 * on the event loop: what belongs to the event loop (the correlation
 * core's guests, probe counters) reaches them as a snapshot the loop
 * publishes; the notifier, libvirt watcher and event log are read through
 * their own locks. */
#ifndef MIMAMORI_CONTROL_SERVICE_H
#define MIMAMORI_CONTROL_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/correlate.h"
#include "daemon/common/event_log.h"
#include "daemon/loop/libvirt_watch.h"
#include "daemon/mesh/mesh_node.h"
#include "daemon/common/metrics.h"
#include "daemon/notifier/notifier.h"
#include "daemon/loop/probe.h"

#define CONTROL_MAX_GUESTS 256 /* per reply: more are reported as truncated */

/* What the event loop owns, copied out for the handlers. */
struct control_snapshot {
	const char *probe_mode;      /* "ebpf", "pidfd" */
	char degraded_reason[512];
	struct probe_stats probe_stats;
	size_t pidfd_watched;
	size_t n_guests;
	bool guests_truncated;
	struct correlate_guest_info guests[CONTROL_MAX_GUESTS];
	uint64_t verdicts, notifications;
};

/* Fixed for the daemon's lifetime. */
struct control_context {
	const char *hostname;
	pid_t pid;
	int64_t started_realtime_ns;
	const char *capabilities; /* cap_to_text form */
	const char (*process_names)[FACT_COMM_LEN];
	size_t n_process_names;
	struct event_log *events;
	struct notifier *notifier;
	struct libvirt_watch *libvirt;
	struct metrics *metrics;
	struct mesh_node *mesh; /* NULL without [mesh] enabled */
};

struct control_service;

/* Before the capability drop: creates the socket's directory and, when a
 * group is configured, gives it that group with the setgid bit so the
 * socket nng creates later inherits the group (chown needs CAP_CHOWN,
 * which the daemon no longer holds then). Returns 0, or -1 with err. */
int control_prepare_socket_dir(const char *socket_path, const char *group, char *err,
			       size_t errlen);

/* Listens on ipc://socket_path (mode 0660). ctx is copied. */
struct control_service *control_service_start(const char *socket_path,
					      const struct control_context *ctx, char *err,
					      size_t errlen);
void control_service_stop(struct control_service *cs);
void control_service_publish(struct control_service *cs, const struct control_snapshot *snap);

#endif
