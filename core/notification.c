/* See notification.h. The body mirrors what masakari-monitors sends, so
 * Masakari (and anyone reading its notification list) cannot tell the
 * difference: same types, payload keys and generated_time format. */
#include "core/notification.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/units.h"

void notification_format_time(int64_t realtime_ns, char out[32])
{
	/* Floor division so times before 1970 still format correctly. */
	int64_t sec = realtime_ns / (int64_t)NS_PER_S;
	int64_t rem = realtime_ns % (int64_t)NS_PER_S;
	if (rem < 0) {
		rem += (int64_t)NS_PER_S;
		sec -= 1;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	/* masakari-monitors sends timeutils.utcnow().isoformat(): naive UTC
	 * with microseconds and no zone suffix; Masakari parses it as UTC. */
	if (gmtime_r(&t, &tm) == NULL ||
	    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)(rem / 1000)) >= 32) {
		/* Unreachable for int64 nanoseconds (years 1677..2262); keep
		 * the output a valid date rather than garbage. */
		snprintf(out, 32, "1970-01-01T00:00:00.000000");
	}
}

/* A JSON string from a fixed-size verdict field: bounded by the field
 * size (it may lack a NUL) and made valid UTF-8, since a kernel comm cut
 * at 15 bytes can split a multi-byte character and jansson rejects that. */
static json_t *string_from_field(const char *field, size_t size)
{
	size_t n = strnlen(field, size);
	json_t *s = json_stringn(field, n);
	if (s != NULL)
		return s;
	char buf[256];
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)field[i];
		buf[i] = c < 0x80 ? (char)c : '?';
	}
	return json_stringn(buf, n);
}

char *notification_body_from_verdict(const struct verdict *v, const char *hostname,
				     int64_t failure_realtime_ns)
{
	assert(v != NULL);
	if (hostname == NULL || hostname[0] == '\0')
		return NULL;

	char when[32];
	notification_format_time(failure_realtime_ns, when);

	json_t *payload;
	const char *type;
	if (v->is_process) {
		type = "PROCESS";
		payload = json_pack("{s:s, s:o}", "event", "STOPPED", "process_name",
				    string_from_field(v->name, sizeof(v->name)));
	} else {
		type = "VM";
		payload = json_pack("{s:o, s:o, s:o}", "event",
				    string_from_field(v->event, sizeof(v->event)), "instance_uuid",
				    string_from_field(v->instance_uuid, sizeof(v->instance_uuid)),
				    "vir_domain_event",
				    string_from_field(v->vir_domain_event, sizeof(v->vir_domain_event)));
	}
	if (payload == NULL)
		return NULL;
	/* json_pack "o" steals its argument even on failure, and fails on a
	 * NULL one (allocation failure above). */
	json_t *root = json_pack("{s:{s:s, s:s, s:s, s:o}}", "notification", "type", type,
				 "hostname", hostname, "generated_time", when, "payload", payload);
	if (root == NULL)
		return NULL;
	char *body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return body;
}

char *notification_body_compute_host(const char *hostname, bool fenced,
				     int64_t failure_realtime_ns)
{
	char when[32];
	json_t *root;
	char *body;

	if (hostname == NULL || hostname[0] == '\0')
		return NULL;
	notification_format_time(failure_realtime_ns, when);
	root = json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s, s:s}}}", "notification", "type",
			 "COMPUTE_HOST", "hostname", hostname, "generated_time", when, "payload",
			 "event", "STOPPED", "cluster_status", "OFFLINE", "host_status",
			 fenced ? "NORMAL" : "UNKNOWN");
	body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return body;
}

char *notification_body_process(const char *hostname, const char *process,
				int64_t failure_realtime_ns)
{
	char when[32];
	json_t *root;
	char *body;

	if (hostname == NULL || hostname[0] == '\0' || process == NULL || process[0] == '\0')
		return NULL;
	notification_format_time(failure_realtime_ns, when);
	root = json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s}}}", "notification", "type", "PROCESS",
			 "hostname", hostname, "generated_time", when, "payload", "event", "STOPPED",
			 "process_name", process);
	body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return body;
}
