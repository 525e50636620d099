/* See event_log.h. Lines are built with jansson and appended with one
 * write(2) on an O_APPEND descriptor; the mutex only serialises rotation. */
#include "daemon/common/event_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/notification.h"
#include "os/clock.h"
#include "os/log.h"

struct event_log {
	char path[1024];
	char rotated[1040];
	int fd;
	pthread_mutex_t lock; /* serialises rotation and the ring */
	uint64_t next_seq;
	struct event_record ring[EVENT_RING_SIZE]; /* seq s lives at s % size */
};

static void remember(struct event_log *el, struct event_record *r)
{
	pthread_mutex_lock(&el->lock);
	r->seq = ++el->next_seq;
	el->ring[r->seq % EVENT_RING_SIZE] = *r;
	pthread_mutex_unlock(&el->lock);
}

size_t event_log_since(struct event_log *el, uint64_t since_seq, struct event_record *out,
		       size_t max, uint64_t *first_seq, uint64_t *last_seq)
{
	size_t n = 0;

	pthread_mutex_lock(&el->lock);
	uint64_t last = el->next_seq;
	uint64_t first = last > EVENT_RING_SIZE ? last - EVENT_RING_SIZE + 1 : (last ? 1 : 0);
	uint64_t from = since_seq + 1 > first ? since_seq + 1 : first;

	for (uint64_t s = from; first && s <= last && n < max; s++)
		out[n++] = el->ring[s % EVENT_RING_SIZE];
	pthread_mutex_unlock(&el->lock);
	*first_seq = first;
	*last_seq = last;
	return n;
}

static int open_log(struct event_log *el)
{
	el->fd = open(el->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	return el->fd < 0 ? -errno : 0;
}

struct event_log *event_log_open(const char *dir, char *err, size_t errlen)
{
	struct event_log *el = calloc(1, sizeof(*el));

	if (!el) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(el->path, sizeof(el->path), "%s/events.jsonl", dir);
	snprintf(el->rotated, sizeof(el->rotated), "%s.1", el->path);
	pthread_mutex_init(&el->lock, NULL);
	if (open_log(el) < 0) {
		snprintf(err, errlen, "%s: %s", el->path, strerror(errno));
		pthread_mutex_destroy(&el->lock);
		free(el);
		return NULL;
	}
	return el;
}

void event_log_close(struct event_log *el)
{
	if (!el)
		return;
	close(el->fd);
	pthread_mutex_destroy(&el->lock);
	free(el);
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static void append(struct event_log *el, json_t *obj, int64_t realtime_ns)
{
	char when[32];
	char *line;
	size_t len;
	struct stat st;

	notification_format_time(realtime_ns, when);
	json_object_set_new(obj, "time", json_string(when));
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!line)
		return;
	len = strlen(line);
	line[len] = '\n';
	pthread_mutex_lock(&el->lock);
	if (fstat(el->fd, &st) == 0 && st.st_size + (off_t)len > EVENT_LOG_MAX_BYTES) {
		close(el->fd);
		if (rename(el->path, el->rotated) < 0)
			log_warn("event log: cannot rotate %s: %s", el->path, strerror(errno));
		if (open_log(el) < 0)
			log_error("event log: cannot reopen %s: %s", el->path, strerror(errno));
	}
	if (el->fd >= 0 && write(el->fd, line, len + 1) != (ssize_t)(len + 1))
		log_warn("event log: short write to %s", el->path);
	pthread_mutex_unlock(&el->lock);
	free(line);
}

static const char *signal_name(int sig)
{
	const char *abbrev = sigabbrev_np(sig);
	static __thread char buf[16];

	if (!abbrev) {
		snprintf(buf, sizeof(buf), "%d", sig);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	return buf;
}

static json_t *signal_json(const struct signal_fact *s)
{
	return json_pack("{s:s, s:i, s:i, s:I, s:s, s:s}", "signal", signal_name(s->sig), "signo",
			 s->sig, "si_code", s->si_code, "sender_pid", (json_int_t)s->sender_tgid,
			 "sender_comm", s->sender_comm, "sender_process", s->sender_leader_comm);
}

static json_t *fact_json(const struct fact *f)
{
	json_t *o = json_object();

	switch (f->kind) {
	case FACT_PROC_EXIT: {
		const struct proc_exit_fact *e = &f->exit;

		json_object_set_new(o, "kind", json_string("process_exit"));
		json_object_set_new(o, "source",
				    json_string(e->source == EXIT_SOURCE_EBPF ? "ebpf" : "pidfd"));
		json_object_set_new(o, "pid", json_integer(e->tgid));
		json_object_set_new(o, "comm", json_string(e->comm));
		if (e->status_known) {
			if (WIFSIGNALED(e->wait_status))
				json_object_set_new(o, "killed_by",
						    json_string(signal_name(WTERMSIG(e->wait_status))));
			else
				json_object_set_new(o, "exit_code",
						    json_integer(WEXITSTATUS(e->wait_status)));
		}
		json_object_set_new(o, "oom_killed", json_boolean(e->oom_killed));
		if (e->has_fatal_signal)
			json_object_set_new(o, "fatal_signal", signal_json(&e->fatal_signal));
		if (e->has_stop_request)
			json_object_set_new(o, "stop_request", signal_json(&e->stop_request));
		break;
	}
	case FACT_GUEST_RUNNING:
		json_object_set_new(o, "kind", json_string("guest_running"));
		json_object_set_new(o, "pid", json_integer(f->guest.tgid));
		json_object_set_new(o, "uuid", json_string(f->guest.uuid));
		json_object_set_new(o, "name", json_string(f->guest.name));
		if (f->guest.scanned)
			json_object_set_new(o, "scanned_crashed", json_boolean(f->guest.crashed));
		break;
	case FACT_LIBVIRT_LIFECYCLE:
		json_object_set_new(o, "kind", json_string("libvirt_lifecycle"));
		json_object_set_new(o, "uuid", json_string(f->lifecycle.uuid));
		json_object_set_new(o, "name", json_string(f->lifecycle.name));
		json_object_set_new(o, "event", json_integer(f->lifecycle.event));
		json_object_set_new(o, "detail", json_integer(f->lifecycle.detail));
		break;
	case FACT_LIBVIRT_IO_ERROR:
		json_object_set_new(o, "kind", json_string("libvirt_io_error"));
		json_object_set_new(o, "uuid", json_string(f->io_error.uuid));
		json_object_set_new(o, "name", json_string(f->io_error.name));
		json_object_set_new(o, "action", json_integer(f->io_error.action));
		json_object_set_new(o, "reason", json_string(f->io_error.reason));
		break;
	case FACT_LIBVIRT_CONNECTION:
		json_object_set_new(o, "kind", json_string("libvirt_connection"));
		json_object_set_new(o, "up", json_boolean(f->connection.up));
		break;
	case FACT_LIBVIRT_STATE:
		json_object_set_new(o, "kind", json_string("libvirt_state"));
		json_object_set_new(o, "uuid", json_string(f->state.uuid));
		json_object_set_new(o, "name", json_string(f->state.name));
		json_object_set_new(o, "found", json_boolean(f->state.found));
		json_object_set_new(o, "state", json_integer(f->state.state));
		json_object_set_new(o, "reason", json_integer(f->state.reason));
		break;
	}
	return o;
}

static const char *fact_kind_name(enum fact_kind k)
{
	switch (k) {
	case FACT_PROC_EXIT: return "proc_exit";
	case FACT_GUEST_RUNNING: return "guest_running";
	case FACT_LIBVIRT_LIFECYCLE: return "libvirt_lifecycle";
	case FACT_LIBVIRT_IO_ERROR: return "libvirt_io_error";
	case FACT_LIBVIRT_CONNECTION: return "libvirt_connection";
	case FACT_LIBVIRT_STATE: return "libvirt_state";
	}
	return "unknown";
}

static const char *source_name(enum verdict_source s)
{
	switch (s) {
	case VERDICT_FROM_KERNEL: return "kernel";
	case VERDICT_FROM_PIDFD: return "pidfd";
	case VERDICT_FROM_LIBVIRT: return "libvirt";
	}
	return "unknown";
}

void event_log_verdict(struct event_log *el, const struct fact *trigger,
		       const struct verdict *v, const struct verdict_timing *t,
		       uint64_t outbox_id)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("verdict"));
	json_object_set_new(o, "verdict", json_string(verdict_kind_name(v->kind)));
	json_object_set_new(o, "source", json_string(source_name(v->source)));
	json_object_set_new(o, "notify", json_boolean(v->notify));
	json_object_set_new(o, "subject", json_string(v->name));
	if (v->instance_uuid[0])
		json_object_set_new(o, "instance_uuid", json_string(v->instance_uuid));
	if (v->tgid)
		json_object_set_new(o, "pid", json_integer(v->tgid));
	json_object_set_new(o, "cause", json_string(v->cause));
	if (v->notify) {
		json_object_set_new(o, "event", json_string(v->event));
		if (v->vir_domain_event[0])
			json_object_set_new(o, "vir_domain_event", json_string(v->vir_domain_event));
		json_object_set_new(o, "outbox_id", json_integer((json_int_t)outbox_id));
	}
	json_object_set_new(o, "detect_us",
			    json_real((double)(t->verdict_mono_ns - t->fact_mono_ns) / 1e3));
	json_object_set_new(o, "mono_ns", json_pack("{s:I, s:I, s:I}",
		"fact", (json_int_t)t->fact_mono_ns, "received", (json_int_t)t->received_mono_ns,
		"verdict", (json_int_t)t->verdict_mono_ns));
	if (t->durable_mono_ns)
		json_object_set_new(json_object_get(o, "mono_ns"), "durable",
				    json_integer((json_int_t)t->durable_mono_ns));
	json_object_set_new(o, "fact", fact_json(trigger));
	append(el, o, t->verdict_realtime_ns);

	struct event_record r = {
		.realtime_ns = t->verdict_realtime_ns,
		.notify = v->notify,
		.detect_us = (t->verdict_mono_ns - t->fact_mono_ns) / 1000,
		.outbox_id = outbox_id,
	};
	COPY(r.kind, fact_kind_name(trigger->kind));
	COPY(r.subject, v->instance_uuid[0] ? v->instance_uuid : v->name);
	COPY(r.subject_name, v->name);
	COPY(r.cause, v->cause);
	COPY(r.verdict, verdict_kind_name(v->kind));
	COPY(r.source, source_name(v->source));
	remember(el, &r);
}

void event_log_delivery(struct event_log *el, const struct delivery_record *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("delivery"));
	json_object_set_new(o, "outbox_id", json_integer((json_int_t)r->outbox_id));
	json_object_set_new(o, "result", json_string(r->result));
	if (r->http_status)
		json_object_set_new(o, "http_status", json_integer(r->http_status));
	json_object_set_new(o, "attempts", json_integer(r->attempts));
	json_object_set_new(o, "since_failure_ms", json_real((double)r->since_failure_ns / 1e6));
	if (r->error)
		json_object_set_new(o, "error", json_string(r->error));
	append(el, o, r->realtime_ns);

	struct event_record e = { .realtime_ns = r->realtime_ns, .outbox_id = r->outbox_id };
	COPY(e.kind, "delivery");
	snprintf(e.subject, sizeof(e.subject), "outbox %llu", (unsigned long long)r->outbox_id);
	if (r->http_status)
		snprintf(e.cause, sizeof(e.cause), "HTTP %ld after %u attempt(s)%s%.100s",
			 r->http_status, r->attempts, r->error ? ": " : "", r->error ? r->error : "");
	else
		snprintf(e.cause, sizeof(e.cause), "attempt %u: %.120s", r->attempts,
			 r->error ? r->error : "no answer");
	COPY(e.verdict, r->result);
	remember(el, &e);
}

void event_log_note(struct event_log *el, const char *what, const char *detail)
{
	int64_t now = realtime_ns();
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("note"));
	json_object_set_new(o, "what", json_string(what));
	json_object_set_new(o, "detail", json_string(detail));
	append(el, o, now);

	struct event_record r = { .realtime_ns = now };
	COPY(r.kind, "note");
	COPY(r.subject, what);
	COPY(r.cause, detail);
	remember(el, &r);
}
