/* A Masakari notification as mimamori keeps it: the request body is built
 * once, when the verdict is reached (generated_time = time of the failure),
 * and stored verbatim in the outbox so a retry sends the same bytes. */
#ifndef MIMAMORI_NOTIFICATION_H
#define MIMAMORI_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/correlate.h"

/* Builds {"notification": {"type", "hostname", "generated_time", "payload"}}
 * for a verdict with notify set. failure_realtime_ns is the failure's wall
 * clock time. Returns a malloc'd NUL-terminated JSON string or NULL. */
char *notification_body_from_verdict(const struct verdict *v, const char *hostname,
				     int64_t failure_realtime_ns);

/* The mesh's notifications (daemon/mesh: a peer host or process failed):
 * COMPUTE_HOST {event STOPPED, cluster_status OFFLINE, host_status NORMAL
 * (fenced) or UNKNOWN (not fenced)} and PROCESS {event STOPPED,
 * process_name}, as masakari-monitors sends them. malloc'd JSON, or NULL
 * (a NULL or empty name, out of memory). */
char *notification_body_compute_host(const char *hostname, bool fenced,
				     int64_t failure_realtime_ns);
char *notification_body_process(const char *hostname, const char *process,
				int64_t failure_realtime_ns);

/* ISO 8601 UTC with microseconds, as Masakari accepts for generated_time. */
void notification_format_time(int64_t realtime_ns, char out[32]);

#endif
