/* See status_file.h. Written to a temporary file and renamed, so a reader
 * never sees half a document. */
#include "daemon/loop/status_file.h"

#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/notification.h"

static const char *token_state_name(enum token_state t)
{
	switch (t) {
	case TOKEN_NONE: return "none";
	case TOKEN_VALID: return "valid";
	case TOKEN_NOAUTH: return "noauth";
	case TOKEN_ERROR: return "error";
	}
	return "unknown";
}

static json_t *time_json(int64_t realtime_ns)
{
	char buf[32];

	if (realtime_ns == 0)
		return json_null();
	notification_format_time(realtime_ns, buf);
	return json_string(buf);
}

int status_file_write(const char *state_dir, const struct daemon_status *s, char *err,
		      size_t errlen)
{
	char path[1024], tmp[1040];
	json_t *guests = json_array(), *procs = json_array();
	json_t *doc;
	int rc;

	for (size_t i = 0; i < s->n_guests; i++)
		json_array_append_new(guests, json_integer(s->guest_tgids[i]));
	for (size_t i = 0; i < s->n_process_names; i++)
		json_array_append_new(procs, json_string(s->process_names[i]));
	doc = json_pack(
		"{s:s, s:i, s:o, s:{s:s, s:b, s:s, s:I, s:I, s:I}, s:{s:b, s:s, s:i, s:s},"
		" s:{s:s, s:s, s:o, s:s}, s:{s:I, s:I, s:o, s:I, s:I}, s:o, s:o, s:I, s:I, s:s}",
		"node", s->hostname, "pid", (int)s->pid, "started", time_json(s->started_realtime_ns),
		"probe", "mode", s->probe_mode, "degraded", s->degraded_reason[0] != '\0', "reason",
		s->degraded_reason, "events", (json_int_t)s->probe_stats.events, "ringbuf_drops",
		(json_int_t)s->probe_stats.ringbuf_drops, "pidfd_watched", (json_int_t)s->pidfd_watched,
		"libvirt", "connected", s->libvirt.connected, "uri", s->libvirt.uri, "reconnects",
		(int)s->libvirt.reconnects, "last_error", s->libvirt.last_error,
		"masakari", "token", token_state_name(s->notifier.masakari.token), "endpoint",
		s->notifier.masakari.endpoint, "token_expires",
		time_json(s->notifier.masakari.token_expires_realtime_ns), "last_error",
		s->notifier.masakari.last_error,
		"outbox", "pending", (json_int_t)s->notifier.pending, "failed",
		(json_int_t)s->notifier.failed, "oldest_pending",
		time_json(s->notifier.oldest_pending_realtime_ns), "accepted",
		(json_int_t)s->notifier.accepted, "retries", (json_int_t)s->notifier.retries,
		"guest_pids", guests, "watched_processes", procs, "verdicts", (json_int_t)s->verdicts,
		"notifications", (json_int_t)s->notifications, "capabilities",
		s->capabilities ? s->capabilities : "unknown");
	if (!doc) {
		snprintf(err, errlen, "cannot build the status document");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/status.json", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	rc = json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (rc < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int status_file_remove(const char *state_dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/status.json", state_dir);
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
