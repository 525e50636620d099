/* See control_service.h. Replies are built in the call's arena
 * (rpc_call_alloc & co.), so a handler never frees anything and a reply
 * that would not fit fails with RESOURCE_EXHAUSTED rather than growing. */
#include "daemon/serve/control_service.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/control.pb-c.h"
#include "base/units.h"
#include "os/clock.h"
#include "os/log.h"
#include "daemon/common/proc_scan.h"
#include "rpc/bounds.h"
#include "rpc/server.h"

#define MAX_EVENTS_PER_REPLY 200
/* Packed events per reply: well inside the server's max_msg
 * (RPC_DEFAULT_MAX_MSG) with the envelope and the other fields. */
#define EVENTS_REPLY_BUDGET (48 * 1024)
_Static_assert(EVENTS_REPLY_BUDGET + 8 * 1024 < RPC_DEFAULT_MAX_MSG, "room for the envelope");
#define MAX_OUTBOX_PER_REPLY 200

struct control_service {
	struct rpc_server *server;
	struct control_context ctx;
	pthread_mutex_t lock; /* guards snap */
	struct control_snapshot snap;
};

static int64_t to_unix_ms(int64_t realtime_ns_value)
{
	return realtime_ns_value / (int64_t)NS_PER_MS;
}

int control_prepare_socket_dir(const char *socket_path, const char *group, char *err,
			       size_t errlen)
{
	char copy[512], *dir;
	struct group *gr = NULL;

	if (snprintf(copy, sizeof(copy), "%s", socket_path) >= (int)sizeof(copy)) {
		snprintf(err, errlen, "[control] socket: path too long");
		return -1;
	}
	dir = dirname(copy);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "[control] socket: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!group || !group[0])
		return 0;
	/* The directory's group and setgid bit are how the socket gets its
	 * group; never do that to a shared directory. */
	if (strcmp(dir, "/") == 0 || strcmp(dir, "/run") == 0 || strcmp(dir, "/tmp") == 0 ||
	    strcmp(dir, "/var/run") == 0) {
		snprintf(err, errlen,
			 "[control] group needs the socket in a directory of its own (not %s)", dir);
		return -1;
	}
	gr = getgrnam(group);
	if (!gr) {
		snprintf(err, errlen, "[control] group: no group named '%s'", group);
		return -1;
	}
	if (chown(dir, 0, gr->gr_gid) < 0 || chmod(dir, 02750) < 0) {
		snprintf(err, errlen, "[control] socket: cannot give %s to group %s: %s", dir, group,
			 strerror(errno));
		return -1;
	}
	/* Without CAP_FSETID the kernel drops the setgid bit silently. */
	struct stat st;
	if (stat(dir, &st) < 0 || !(st.st_mode & S_ISGID) || st.st_gid != gr->gr_gid) {
		snprintf(err, errlen, "[control] socket: %s did not keep group %s with the setgid "
			 "bit (CAP_FSETID missing?)", dir, group);
		return -1;
	}
	return 0;
}

static uint32_t done(struct control_service *cs, struct rpc_call *call, uint32_t code)
{
	metrics_rpc_request(cs->ctx.metrics, rpc_call_method(call), rpc_status_name(code));
	return code;
}

#define NEW(call, type, desc) ((type *)rpc_call_message_new((call), &(desc)))
#define STR(call, s) rpc_call_strdup((call), (s))

static Mimamori__TokenState token_state(enum token_state t)
{
	switch (t) {
	case TOKEN_NONE: return MIMAMORI__TOKEN_STATE__TOKEN_STATE_NONE;
	case TOKEN_VALID: return MIMAMORI__TOKEN_STATE__TOKEN_STATE_VALID;
	case TOKEN_NOAUTH: return MIMAMORI__TOKEN_STATE__TOKEN_STATE_NOAUTH;
	case TOKEN_ERROR: return MIMAMORI__TOKEN_STATE__TOKEN_STATE_ERROR;
	}
	return MIMAMORI__TOKEN_STATE__TOKEN_STATE_UNKNOWN;
}

/* cap_to_text(3) form "cap_bpf,cap_perfmon=ep" -> ["CAP_BPF", "CAP_PERFMON"];
 * "=" (none) -> []. */
static uint32_t fill_capabilities(struct rpc_call *call, const char *text,
				  Mimamori__StatusReply *r)
{
	char buf[256], *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", text ? text : "");
	char *eq = strchr(buf, '=');
	if (eq)
		*eq = '\0';
	r->capabilities = rpc_call_alloc(call, 64 * sizeof(char *));
	if (!r->capabilities)
		return RPC_RESOURCE_EXHAUSTED;
	for (char *c = strtok_r(buf, ",", &save); c && n < 64; c = strtok_r(NULL, ",", &save)) {
		char *s = STR(call, c);

		if (!s)
			return RPC_RESOURCE_EXHAUSTED;
		for (char *p = s; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		r->capabilities[n++] = s;
	}
	r->n_capabilities = n;
	return RPC_OK;
}

struct comm_search {
	const char *name;
	uint32_t lowest;
};

static bool match_comm(uint32_t pid, const char *comm, void *arg)
{
	struct comm_search *c = arg;

	if (strncmp(comm, c->name, PROC_COMM_LEN - 1) == 0 && (c->lowest == 0 || pid < c->lowest))
		c->lowest = pid;
	return true;
}

/* The pid of the oldest running process whose comm is name, or 0. Read
 * per Status call: watched host processes come and go with their service
 * manager, not with anything the daemon sees. */
static uint32_t pid_of_comm(const char *name)
{
	struct comm_search c = { .name = name };

	proc_for_each(match_comm, &c);
	return c.lowest;
}

/* A handler's large scratch comes from the heap, per call, never from a
 * static __thread array: thread-local storage is made (and zeroed) in every
 * thread of the process, nng's pool included, and these took 923 KiB of
 * each thread's stack (issue 12). A block of THREAD_MMAP_THRESHOLD or more
 * is mmap'd: only what a call writes is touched, and free returns it. */
static uint32_t status_reply(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			     ProtobufCMessage *reply, struct control_snapshot *snap)
{
	struct control_service *cs = arg;
	Mimamori__StatusReply *r = (Mimamori__StatusReply *)reply;
	struct libvirt_watch_status lv;
	struct notifier_status ns;
	int64_t now = realtime_ns();

	(void)req;
	pthread_mutex_lock(&cs->lock);
	*snap = cs->snap;
	pthread_mutex_unlock(&cs->lock);
	libvirt_watch_get_status(cs->ctx.libvirt, &lv);
	notifier_get_status(cs->ctx.notifier, &ns);

	r->node_name = STR(call, cs->ctx.hostname);
	r->version = STR(call, MIMAMORI_VERSION);
	r->has_pid = true;
	r->pid = (uint32_t)cs->ctx.pid;
	r->has_started_unix_ms = true;
	r->started_unix_ms = to_unix_ms(cs->ctx.started_realtime_ns);
	r->has_uptime_s = true;
	r->uptime_s = (uint64_t)((now - cs->ctx.started_realtime_ns) / (int64_t)NS_PER_S);

	Mimamori__ProbeStatus *p = NEW(call, Mimamori__ProbeStatus, mimamori__probe_status__descriptor);
	Mimamori__LibvirtStatus *l = NEW(call, Mimamori__LibvirtStatus, mimamori__libvirt_status__descriptor);
	Mimamori__MasakariStatus *m = NEW(call, Mimamori__MasakariStatus, mimamori__masakari_status__descriptor);
	Mimamori__OutboxSummary *o = NEW(call, Mimamori__OutboxSummary, mimamori__outbox_summary__descriptor);
	Mimamori__Counters *c = NEW(call, Mimamori__Counters, mimamori__counters__descriptor);
	if (!p || !l || !m || !o || !c)
		return done(cs, call, RPC_RESOURCE_EXHAUSTED);

	p->has_mode = true;
	p->mode = snap->probe_mode && strcmp(snap->probe_mode, "ebpf") == 0
			  ? MIMAMORI__PROBE_MODE__PROBE_MODE_EBPF
			  : MIMAMORI__PROBE_MODE__PROBE_MODE_PIDFD;
	if (snap->degraded_reason[0])
		p->degraded_reason = STR(call, snap->degraded_reason);
	p->has_events = p->has_ringbuf_drops = p->has_pidfd_watched = true;
	p->events = snap->probe_stats.events;
	p->ringbuf_drops = snap->probe_stats.ringbuf_drops;
	p->pidfd_watched = (uint32_t)snap->pidfd_watched;
	r->probe = p;

	l->has_connected = l->has_reconnects = true;
	l->connected = lv.connected;
	l->uri = STR(call, lv.uri);
	l->reconnects = lv.reconnects;
	if (lv.last_error[0])
		l->last_error = STR(call, lv.last_error);
	r->libvirt = l;

	m->endpoint = STR(call, ns.masakari.endpoint);
	m->has_token_state = true;
	m->token_state = token_state(ns.masakari.token);
	if (ns.masakari.token_expires_realtime_ns) {
		m->has_token_expires_unix_ms = true;
		m->token_expires_unix_ms = to_unix_ms(ns.masakari.token_expires_realtime_ns);
	}
	if (ns.masakari.last_error[0])
		m->last_error = STR(call, ns.masakari.last_error);
	r->masakari = m;

	o->has_pending = o->has_failed = o->has_accepted = o->has_retries = true;
	o->pending = (uint32_t)ns.pending;
	o->failed = (uint32_t)ns.failed;
	o->accepted = ns.accepted;
	o->retries = ns.retries;
	if (ns.oldest_pending_realtime_ns) {
		o->has_oldest_pending_age_ms = true;
		o->oldest_pending_age_ms =
			now > ns.oldest_pending_realtime_ns
				? (uint64_t)(now - ns.oldest_pending_realtime_ns) / NS_PER_MS
				: 0;
	}
	r->outbox = o;

	r->guests = rpc_call_alloc(call, (snap->n_guests + 1) * sizeof(*r->guests));
	if (!r->guests)
		return done(cs, call, RPC_RESOURCE_EXHAUSTED);
	for (size_t i = 0; i < snap->n_guests; i++) {
		Mimamori__WatchedGuest *g = NEW(call, Mimamori__WatchedGuest, mimamori__watched_guest__descriptor);

		if (!g)
			return done(cs, call, RPC_RESOURCE_EXHAUSTED);
		g->uuid = rpc_call_strndup(call, snap->guests[i].uuid, sizeof(snap->guests[i].uuid));
		g->name = rpc_call_strndup(call, snap->guests[i].name, sizeof(snap->guests[i].name));
		g->has_pid = true;
		g->pid = snap->guests[i].tgid;
		r->guests[r->n_guests++] = g;
	}
	if (snap->guests_truncated) {
		r->has_guests_truncated = true;
		r->guests_truncated = true;
	}
	r->processes = rpc_call_alloc(call, (cs->ctx.n_process_names + 1) * sizeof(*r->processes));
	if (!r->processes)
		return done(cs, call, RPC_RESOURCE_EXHAUSTED);
	for (size_t i = 0; i < cs->ctx.n_process_names; i++) {
		Mimamori__WatchedProcess *w = NEW(call, Mimamori__WatchedProcess, mimamori__watched_process__descriptor);

		if (!w)
			return done(cs, call, RPC_RESOURCE_EXHAUSTED);
		w->name = rpc_call_strndup(call, cs->ctx.process_names[i], FACT_COMM_LEN);
		w->pid = pid_of_comm(cs->ctx.process_names[i]);
		w->has_pid = w->pid != 0;
		r->processes[r->n_processes++] = w;
	}
	c->has_verdicts = c->has_notifications = c->has_notifications_failed = true;
	c->verdicts = snap->verdicts;
	c->notifications = snap->notifications;
	c->notifications_failed = ns.failed;
	r->counters = c;
	return done(cs, call, fill_capabilities(call, cs->ctx.capabilities, r));
}

static uint32_t on_status(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage *reply)
{
	struct control_snapshot *scratch = malloc(sizeof(*scratch));
	uint32_t code;

	if (!scratch)
		return done(arg, call, RPC_RESOURCE_EXHAUSTED);
	code = status_reply(arg, call, req, reply, scratch);
	free(scratch);
	return code;
}

static uint32_t events_reply(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			     ProtobufCMessage *reply, struct event_record *recs)
{
	struct control_service *cs = arg;
	const Mimamori__EventsRequest *q = (const Mimamori__EventsRequest *)req;
	Mimamori__EventsReply *r = (Mimamori__EventsReply *)reply;
	uint64_t first, last;
	size_t want = q->has_max_count && q->max_count ? q->max_count : 50;
	size_t n, bytes = 0;

	if (want > MAX_EVENTS_PER_REPLY)
		want = MAX_EVENTS_PER_REPLY;
	/* One more than asked for tells whether more follow. */
	n = event_log_since(cs->ctx.events, q->has_since_seq ? q->since_seq : 0, recs, want + 1,
			    &first, &last);
	r->has_first_seq = r->has_last_seq = r->has_truncated = true;
	r->first_seq = first;
	r->last_seq = last;
	r->truncated = n > want;
	if (n > want)
		n = want;
	r->events = rpc_call_alloc(call, (n + 1) * sizeof(*r->events));
	if (!r->events)
		return done(cs, call, RPC_RESOURCE_EXHAUSTED);
	for (size_t i = 0; i < n; i++) {
		const struct event_record *e = &recs[i];
		Mimamori__Event *ev = NEW(call, Mimamori__Event, mimamori__event__descriptor);

		if (!ev)
			return done(cs, call, RPC_RESOURCE_EXHAUSTED);
		ev->has_seq = ev->has_time_unix_ms = true;
		ev->seq = e->seq;
		ev->time_unix_ms = to_unix_ms(e->realtime_ns);
		ev->kind = STR(call, e->kind);
		ev->subject = STR(call, e->subject);
		if (e->subject_name[0] && strcmp(e->subject_name, e->subject) != 0)
			ev->subject_name = STR(call, e->subject_name);
		if (e->cause[0])
			ev->cause = STR(call, e->cause);
		if (e->verdict[0])
			ev->verdict = STR(call, e->verdict);
		ev->has_notify = true;
		ev->notify = e->notify;
		if (e->detect_us) {
			ev->has_detect_latency_us = true;
			ev->detect_latency_us = e->detect_us;
		}
		if (e->outbox_id) {
			ev->has_outbox_id = true;
			ev->outbox_id = e->outbox_id;
		}
		if (e->source[0])
			ev->source = STR(call, e->source);
		/* Long decision records: a full page may not fit one reply;
		 * stop early and let the client ask for the rest. */
		bytes += protobuf_c_message_get_packed_size(&ev->base) + 4;
		if (bytes > EVENTS_REPLY_BUDGET && r->n_events > 0) {
			r->truncated = true;
			break;
		}
		r->events[r->n_events++] = ev;
	}
	return done(cs, call, RPC_OK);
}

static Mimamori__OutboxState outbox_state(enum outbox_state s)
{
	switch (s) {
	case OUTBOX_PENDING: return MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_PENDING;
	case OUTBOX_DELIVERED: return MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_DELIVERED;
	case OUTBOX_FAILED: return MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_FAILED;
	}
	return MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_UNKNOWN;
}

static Mimamori__OutboxEntry *entry_message(struct rpc_call *call, const struct notifier_entry *e)
{
	Mimamori__OutboxEntry *m = NEW(call, Mimamori__OutboxEntry, mimamori__outbox_entry__descriptor);

	if (!m)
		return NULL;
	m->has_id = m->has_state = m->has_created_unix_ms = m->has_attempts = true;
	m->id = e->id;
	m->state = outbox_state(e->state);
	m->created_unix_ms = to_unix_ms(e->created_realtime_ns);
	m->attempts = e->attempts;
	if (e->state == OUTBOX_PENDING && e->next_attempt_realtime_ns) {
		m->has_next_attempt_unix_ms = true;
		m->next_attempt_unix_ms = to_unix_ms(e->next_attempt_realtime_ns);
	}
	if (e->last_error[0])
		m->last_error = rpc_call_strndup(call, e->last_error, sizeof(e->last_error));
	m->body_excerpt = rpc_call_strndup(call, e->body_excerpt, sizeof(e->body_excerpt));
	m->has_body_len = true;
	m->body_len = (uint32_t)e->body_len;
	if (e->retried_realtime_ns) {
		m->has_retried_unix_ms = true;
		m->retried_unix_ms = to_unix_ms(e->retried_realtime_ns);
	}
	return m;
}

static uint32_t on_events(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage *reply)
{
	struct event_record *scratch = malloc((MAX_EVENTS_PER_REPLY + 1) * sizeof(*scratch));
	uint32_t code;

	if (!scratch)
		return done(arg, call, RPC_RESOURCE_EXHAUSTED);
	code = events_reply(arg, call, req, reply, scratch);
	free(scratch);
	return code;
}

static uint32_t outbox_reply(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			     ProtobufCMessage *reply, struct notifier_entry *entries)
{
	struct control_service *cs = arg;
	const Mimamori__OutboxRequest *q = (const Mimamori__OutboxRequest *)req;
	Mimamori__OutboxReply *r = (Mimamori__OutboxReply *)reply;
	enum outbox_state state = 0;
	size_t want = q->has_max_count && q->max_count ? q->max_count : MAX_OUTBOX_PER_REPLY;
	size_t n, total = 0;

	if (q->has_state) {
		switch (q->state) {
		case MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_PENDING: state = OUTBOX_PENDING; break;
		case MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_FAILED: state = OUTBOX_FAILED; break;
		case MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_DELIVERED:
			/* Delivered entries leave the outbox; their record is the event log. */
			r->has_total = r->has_truncated = true;
			return done(cs, call, RPC_OK);
		default:
			return done(cs, call, rpc_call_error(call, RPC_INVALID_ARGUMENT, "unknown state %d",
							     (int)q->state));
		}
	}
	if (want > MAX_OUTBOX_PER_REPLY)
		want = MAX_OUTBOX_PER_REPLY;
	n = notifier_list(cs->ctx.notifier, state, q->has_after_id ? q->after_id : 0, entries, want,
			  &total);
	r->entries = rpc_call_alloc(call, (n + 1) * sizeof(*r->entries));
	if (!r->entries)
		return done(cs, call, RPC_RESOURCE_EXHAUSTED);
	for (size_t i = 0; i < n; i++) {
		r->entries[i] = entry_message(call, &entries[i]);
		if (!r->entries[i])
			return done(cs, call, RPC_RESOURCE_EXHAUSTED);
		r->n_entries++;
	}
	r->has_total = r->has_truncated = true;
	r->total = (uint32_t)total;
	r->truncated = total > n;
	return done(cs, call, RPC_OK);
}

static uint32_t on_outbox(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage *reply)
{
	struct notifier_entry *scratch = malloc(MAX_OUTBOX_PER_REPLY * sizeof(*scratch));
	uint32_t code;

	if (!scratch)
		return done(arg, call, RPC_RESOURCE_EXHAUSTED);
	code = outbox_reply(arg, call, req, reply, scratch);
	free(scratch);
	return code;
}

static uint32_t on_outbox_retry(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
				ProtobufCMessage *reply)
{
	struct control_service *cs = arg;
	const Mimamori__OutboxRetryRequest *q = (const Mimamori__OutboxRetryRequest *)req;
	Mimamori__OutboxRetryReply *r = (Mimamori__OutboxRetryReply *)reply;
	struct notifier_entry e;
	int rc;

	if (!q->has_id)
		return done(cs, call, rpc_call_error(call, RPC_INVALID_ARGUMENT, "id is required"));
	rc = notifier_retry(cs->ctx.notifier, q->id);
	if (rc == -ENOENT)
		return done(cs, call, rpc_call_error(call, RPC_NOT_FOUND, "no outbox entry %llu",
						     (unsigned long long)q->id));
	if (rc == -EINVAL)
		return done(cs, call, rpc_call_error(call, RPC_FAILED_PRECONDITION,
						     "outbox entry %llu has not failed: only a failed "
						     "notification can be retried",
						     (unsigned long long)q->id));
	if (rc < 0)
		return done(cs, call, rpc_call_error(call, RPC_INTERNAL, "retry of %llu: %s",
						     (unsigned long long)q->id, strerror(-rc)));
	log_info("outbox: entry %llu put back to pending by an operator", (unsigned long long)q->id);
	if (notifier_get_entry(cs->ctx.notifier, q->id, &e) == 0) {
		r->entry = entry_message(call, &e);
		if (!r->entry)
			return done(cs, call, RPC_RESOURCE_EXHAUSTED);
	}
	return done(cs, call, RPC_OK);
}

#define MAX_MEMBERS_PER_REPLY 512
/* Packed members per reply (names and URLs up to 64 + 128 bytes): like
 * Events, a reply stops at a byte budget and says it was cut short. */
#define MEMBERS_REPLY_BUDGET (48 * 1024)
_Static_assert(MEMBERS_REPLY_BUDGET + 8 * 1024 < RPC_DEFAULT_MAX_MSG, "room for the envelope");

static uint32_t members_reply(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			      ProtobufCMessage *reply, struct mesh_node_member *members)
{
	struct control_service *cs = arg;
	Mimamori__MembersReply *r = (Mimamori__MembersReply *)reply;
	int64_t left = rpc_call_remaining_ms(call);
	uint32_t wait_ms;
	size_t bytes = 0, total;
	long n;

	(void)req;
	/* The view is the mesh's or none: a list of this node alone would
	 * read as "the others are gone". */
	if (!cs->ctx.mesh)
		return done(cs, call, rpc_call_error(call, RPC_FAILED_PRECONDITION,
						     "the mesh is not enabled on this node ([mesh] "
						     "enabled = false): there is no membership view"));
	/* Leave a quarter of the deadline for the error to travel back. */
	wait_ms = left <= 4 ? 1 : left - left / 4 > 5000 ? 5000 : (uint32_t)(left - left / 4);
	n = mesh_node_members(cs->ctx.mesh, members, MAX_MEMBERS_PER_REPLY, wait_ms);
	if (n == -ETIMEDOUT)
		return done(cs, call, rpc_call_error(call, RPC_UNAVAILABLE,
						     "the mesh thread did not hand over its view within "
						     "%u ms (busy or stuck)", wait_ms));
	if (n < 0)
		return done(cs, call, rpc_call_error(call, RPC_INTERNAL, "mesh view: %s",
						     strerror((int)-n)));
	if (n == 0)
		return done(cs, call, rpc_call_error(call, RPC_INTERNAL,
						     "the mesh reported no members, not even this node"));
	total = mesh_node_member_count(cs->ctx.mesh);
	r->has_total = r->has_truncated = true;
	r->total = (uint32_t)total;
	r->truncated = total > (size_t)n;
	r->members = rpc_call_alloc(call, (size_t)n * sizeof(*r->members));
	if (!r->members)
		return done(cs, call, RPC_RESOURCE_EXHAUSTED);
	for (size_t i = 0; i < (size_t)n; i++) {
		const struct mesh_node_member *mm = &members[i];
		Mimamori__Member *m = NEW(call, Mimamori__Member, mimamori__member__descriptor);

		if (!m)
			return done(cs, call, RPC_RESOURCE_EXHAUSTED);
		m->name = rpc_call_strndup(call, mm->name, sizeof(mm->name));
		m->address = rpc_call_strndup(call, mm->addr, sizeof(mm->addr));
		m->has_state = m->has_incarnation = m->has_self = true;
		/* mesh_state and MemberState share their numbering (1..4). */
		m->state = mm->state >= MESH_ALIVE && mm->state <= MESH_LEFT
				   ? (Mimamori__MemberState)mm->state
				   : MIMAMORI__MEMBER_STATE__MEMBER_STATE_UNKNOWN;
		m->incarnation = mm->incarnation;
		m->self = mm->self;
		if (mm->last_rtt_us) {
			m->has_last_rtt_us = true;
			m->last_rtt_us = mm->last_rtt_us;
		}
		if (mm->state_since_realtime_ns) {
			m->has_state_since_unix_ms = true;
			m->state_since_unix_ms = to_unix_ms(mm->state_since_realtime_ns);
		}
		bytes += protobuf_c_message_get_packed_size(&m->base) + 4;
		if (bytes > MEMBERS_REPLY_BUDGET) {
			r->truncated = true;
			break;
		}
		r->members[r->n_members++] = m;
	}
	return done(cs, call, RPC_OK);
}

/* A socket file left by a daemon that was killed makes nng fail with
 * "address in use". It is removed only when it is a socket nobody answers
 * on: a running daemon's socket is never taken over. */
static uint32_t on_members(void *arg, struct rpc_call *call, const ProtobufCMessage *req,
			   ProtobufCMessage *reply)
{
	struct mesh_node_member *scratch = malloc(MAX_MEMBERS_PER_REPLY * sizeof(*scratch));
	uint32_t code;

	if (!scratch)
		return done(arg, call, RPC_RESOURCE_EXHAUSTED);
	code = members_reply(arg, call, req, reply, scratch);
	free(scratch);
	return code;
}

static int remove_stale_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "[control] socket: %s exists and is not a socket", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "[control] socket: %s is in use: is another mimamorid running?",
			 path);
		return -1;
	}
	unlink(path);
	return 0;
}

struct control_service *control_service_start(const char *socket_path,
					      const struct control_context *ctx, char *err,
					      size_t errlen)
{
	static const struct rpc_handler handlers[] = {
		{ "Status", on_status },	 { "Events", on_events },
		{ "Outbox", on_outbox },	 { "OutboxRetry", on_outbox_retry },
		{ "Members", on_members },
	};
	struct rpc_server_opts opts = { .ipc_mode = 0660 };
	struct control_service *cs = calloc(1, sizeof(*cs));
	char url[600];
	int rc;

	if (!cs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cs->ctx = *ctx;
	pthread_mutex_init(&cs->lock, NULL);
	snprintf(url, sizeof(url), "ipc://%s", socket_path);
	if (remove_stale_socket(socket_path, err, errlen) < 0) {
		pthread_mutex_destroy(&cs->lock);
		free(cs);
		return NULL;
	}
	rc = rpc_server_new(&cs->server, url, &mimamori__control__descriptor, handlers,
			    sizeof(handlers) / sizeof(handlers[0]), cs, &opts, err, errlen);
	if (rc != 0) {
		pthread_mutex_destroy(&cs->lock);
		free(cs);
		return NULL;
	}
	return cs;
}

/* Stops serving but leaves nng's sockets open for the process exit to
 * reclaim: nng 1.5.2 can hang for good closing a socket while a message
 * arrives (fixed upstream in 1.8). cs stays allocated for the same reason:
 * nng may still reference the server. */
void control_service_stop(struct control_service *cs)
{
	if (!cs)
		return;
	rpc_server_stop(cs->server);
}

void control_service_publish(struct control_service *cs, const struct control_snapshot *snap)
{
	if (!cs)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->snap = *snap;
	pthread_mutex_unlock(&cs->lock);
}
