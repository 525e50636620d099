/* See mesh_node.h. The mesh thread's shell around mesh/node.h, the one
 * composition of the two cores (the simulator drives the same): this file
 * does the I/O the node asks for (RPC to peers, the fence runner, crm_mon,
 * the notifier), logs and counts, and feeds the results back.
 *
 * Threads: the mesh thread owns the node, the peers cache, the fence and
 * crm_mon runners and the epoll loop; nobody else touches them. Like the
 * event loop for the control service, it PUBLISHES what other threads may
 * read: the members view (snap_lock), after a member's news and at least
 * every PUBLISH_EVERY_NS; mesh_node_members() copies the latest one, and a
 * view older than VIEW_STALE_NS means the thread is stuck. The RPC
 * server's workers decode, authenticate and queue (per-peer rx queues, qlock); the
 * notifier's delivery callback and mesh_node_local_process_failed() queue
 * small control items (ctl ring, qlock); both wake the loop through an
 * eventfd. qlock and snap_lock are leaves; the mesh thread calls into the
 * notifier (submit) holding neither.
 *
 * A suspected member's host is also asked directly, by a TCP connect to
 * its mesh port (refusal_probe.h, on this loop): a refusal means its
 * kernel is up and only its daemon is down, which the node takes as
 * first-hand evidence against observing it unreachable
 * (mnode_on_peer_refused); reported, never fenced on its own. */
#include "daemon/mesh/mesh_node.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "core/crm_mon.h"
#include "daemon/common/proc_runner.h"
#include "daemon/mesh/fence_runner.h"
#include "os/log.h"
#include "daemon/mesh/members_file.h"
#include "daemon/mesh/mesh_peers.h"
#include "daemon/mesh/refusal_probe.h"
#include "mesh/node.h"
#include "mesh/wire.h"
#include "core/notification.h"
#include "rpc/fair_queue.h"
#include "rpc/server.h"
#include "rpc/transport.h"
#include "os/clock.h"
#include "os/threads.h"

/* Decoded messages waiting for the loop (~9.5 KiB each), in per-peer
 * queues (rpc/fair_queue.h): one flooding peer fills its own share only,
 * and probes and acks have slots of their own. */
#define RX_QUEUE_LEN 256
#define RX_RESERVE 64            /* slots only probes and acks may take */
#define RX_PER_PEER_URGENT 16
#define RX_PER_PEER_BULK 32
#define CTL_QUEUE_LEN 256
#define MAX_PENDING_NOTIFY 256 /* notifications waiting for Masakari's answer */
#define OUT_BATCH 16
#define DEFERRED_MAX 64
#define LEAVE_WAIT_NS (1000 * NS_PER_MS)
#define GOSSIP_DEADLINE_MS 1000u  /* gossip, join, sync and agreement messages */
#define CRM_MON_TIMEOUT_NS (10 * NS_PER_S)
#define SERVER_WORKERS 4
/* The members view is published after a member's news, else at most this
 * often (the RTTs and observers change without news) and at least this
 * often (the loop wakes for it): its age tells a reader the thread runs. */
#define PUBLISH_EVERY_NS (500 * NS_PER_MS)
/* Older than this (two missed publishes): the mesh thread is stuck. */
#define VIEW_STALE_NS (2 * PUBLISH_EVERY_NS)
/* Refusal probes: a quarter of the unreachable window between two
 * connects to a suspected member (and each one's timeout), within these
 * bounds: the first refusal lands well inside the window, and one lands
 * within every 2 windows after it (the node's hold, mesh/agreement.h). */
#define REFUSAL_EVERY_MIN_NS (50 * NS_PER_MS)
#define REFUSAL_EVERY_MAX_NS (500 * NS_PER_MS)
/* With no member to ask, the members are looked over this often anyway. */
#define REFUSAL_SWEEP_IDLE_NS (1000 * NS_PER_MS)

enum ctl_kind { CTL_PROCESS_FAILED = 1, CTL_DELIVERY, CTL_STOP };

struct ctl_item {
	enum ctl_kind kind;
	char process[AGR_PROCESS_MAX];
	uint64_t ts_ns;
	uint64_t outbox_id;
	bool delivered;
	long http_status;
};

struct pending_notify {
	bool used;
	uint64_t outbox_id;
	enum agr_incident_kind kind;
	uint32_t subject; /* member index */
	uint64_t incarnation;
};

enum deferred_kind { DEF_FENCE_RESULT = 1, DEF_NOTIFY_RESULT };

struct deferred {
	enum deferred_kind kind;
	uint32_t subject;
	uint64_t incarnation;
	enum agr_fence_result fence;
	enum agr_incident_kind incident;
	int http_status;
};

/* What the shell remembers per configured member to log news once (the
 * node keeps the member's view). */
struct member_log {
	uint64_t observed_inc;    /* last incarnation we logged an observation for, + 1 */
	/* The last progress heard about this member's incidents (logged once). */
	uint32_t heard_kind, heard_stage;
	uint64_t heard_inc;
	char heard_notifier[MESH_NAME_MAX];
	/* refusal probes: the next connect, and the last refusal fed (mono
	 * ns; 0: none since it was last alive) */
	uint64_t refusal_next_ns;
	uint64_t refused_at;
};

struct mesh_node {
	/* configuration, fixed after start */
	char self[MESH_NAME_MAX];
	char self_addr[MESH_ADDR_MAX];
	char listen[256];
	char ca_file[CONFIG_PATH_LEN], cert_file[CONFIG_PATH_LEN];
	char crm_mon_path[CONFIG_PATH_LEN];
	uint64_t crm_interval_ns;
	bool tls;
	struct members_list members;
	uint32_t self_idx;
	uint64_t probe_deadline_ms;
	/* The agreement's probes and their acks: a late one still counts
	 * until the unreachable window closes (the receiver drops requests
	 * past their deadline). */
	uint32_t agr_probe_deadline_ms;

	struct notifier *notifier;
	struct event_log *events;
	struct metrics *metrics;

	/* mesh thread */
	struct mnode *node; /* its names table is immutable: any thread may read it */
	struct member_log *logx;
	bool view_changed;  /* a member's news since the last publish */

	/* the published members view (snap_lock): view[cur] is readers'; the
	 * mesh thread fills the other one, then swaps */
	pthread_mutex_t snap_lock;
	pthread_cond_t snap_cond;
	struct mesh_node_member *view_buf[2];
	unsigned view_cur;
	uint64_t view_at; /* mono ns of the last publish; 0: none yet */
	struct rpc_server *server;
	struct mesh_peers *peers;
	struct fence_runner *fence;
	struct proc_runner *crm;
	bool crm_disabled, crm_running;
	uint64_t crm_next_ns;
	int crm_last_status; /* -1 before the first view */
	struct crm_mon_view *view;
	struct refusal_probe *refusal; /* NULL: [mesh] refused_means_alive = false */
	uint64_t refusal_every_ns, refusal_hold_ns;
	uint64_t refusal_sweep_ns; /* the next refusal_step with work */
	bool refusal_kick;         /* news that may make a member worth asking: sweep now */
	int epfd, timerfd, evfd;
	pthread_t thread;
	bool thread_started;
	bool leaving;
	uint64_t leave_deadline;
	struct mnode_out *outbuf;
	struct pending_notify pending[MAX_PENDING_NOTIFY];
	struct deferred deferred[DEFERRED_MAX];
	size_t n_deferred;
	struct mesh_counters last_mc;
	struct agr_counters last_ac;

	/* start-up handshake */
	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	int start_state; /* 0 pending, 1 running, -1 failed */
	char start_err[512];

	/* queues (qlock) */
	pthread_mutex_t qlock;
	struct fair_queue *rx;
	struct ctl_item ctl[CTL_QUEUE_LEN];
	size_t ctl_head, ctl_len;
	bool stop_requested;

	_Atomic uint64_t rejected, dropped_rx, invalid;
};

/* ---- small helpers --------------------------------------------------------- */

static void note(struct mesh_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct mesh_node *n, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n->events)
		event_log_note(n->events, "mesh", buf);
}

/* Member index of name, or -1. Thread-safe (the node's names table is
 * fixed once the node exists, before the server starts). */
static long member_idx(const struct mesh_node *n, const char *name)
{
	uint32_t i;

	if (!name || !name[0])
		return -1;
	i = mnode_names_find(mnode_names(n->node), name);
	return i == MNODE_NONE ? -1 : (long)i;
}

static void wake(struct mesh_node *n)
{
	uint64_t one = 1;

	if (write(n->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("mesh: eventfd: %s", strerror(errno));
}

static bool ctl_push(struct mesh_node *n, const struct ctl_item *it)
{
	bool ok = false;

	pthread_mutex_lock(&n->qlock);
	assert(n->ctl_len <= CTL_QUEUE_LEN && n->ctl_head < CTL_QUEUE_LEN);
	if (n->ctl_len < CTL_QUEUE_LEN) {
		n->ctl[(n->ctl_head + n->ctl_len) % CTL_QUEUE_LEN] = *it;
		n->ctl_len++;
		ok = true;
	}
	pthread_mutex_unlock(&n->qlock);
	if (ok)
		wake(n);
	return ok;
}

/* ---- the RPC handler (server worker threads) ------------------------------- */

static bool power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t reject(struct mesh_node *n, struct rpc_call *call, const char *why)
{
	uint64_t count = atomic_fetch_add(&n->rejected, 1) + 1;
	const struct rpc_peer *peer = rpc_call_peer(call);

	metrics_mesh_add(n->metrics, METRICS_MESH_PEERS_REJECTED, 1);
	if (power_of_two(count))
		log_warn("mesh: refused a message from %s: %s (%" PRIu64 " refused so far)",
			 peer->addr[0] ? peer->addr : "?", why, count);
	return rpc_call_error(call, RPC_PERMISSION_DENIED, "%s", why);
}

/* Probes and acks: what the failure detectors time, queued apart. */
static bool rx_urgent(const struct mesh_wire_msg *m)
{
	if (m->kind == MESH_WIRE_PROBE || m->kind == MESH_WIRE_PROBE_ACK)
		return true;
	return m->kind == MESH_WIRE_SWIM &&
	       (m->swim.type == MESH_MSG_PING || m->swim.type == MESH_MSG_ACK ||
		m->swim.type == MESH_MSG_PING_REQ || m->swim.type == MESH_MSG_NACK);
}

static uint32_t on_deliver(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			   ProtobufCMessage *reply)
{
	struct mesh_node *n = ctx;
	const Mimamori__MeshEnvelope *env = (const Mimamori__MeshEnvelope *)req;
	struct mesh_wire_msg m;
	const char *why = NULL;
	char text[256];
	size_t size;
	bool queued = false;

	(void)reply;
	if (n->tls) {
		const struct rpc_peer *peer = rpc_call_peer(call);

		if (!peer->name[0])
			return reject(n, call, "no verified certificate name");
		if (!env->from || strcmp(peer->name, env->from) != 0) {
			snprintf(text, sizeof(text), "sender '%.64s' is not the certificate's name "
				 "'%.64s'", env->from ? env->from : "", peer->name);
			return reject(n, call, text);
		}
	}
	if (!env->from || member_idx(n, env->from) < 0) {
		snprintf(text, sizeof(text), "'%.64s' is not a member", env->from ? env->from : "");
		return reject(n, call, text);
	}
	if (strcmp(env->from, n->self) == 0)
		return reject(n, call, "the sender claims this node's own name");
	if (mesh_wire_from_pb(env, &m, &why) < 0) {
		uint64_t c = atomic_fetch_add(&n->invalid, 1) + 1;

		metrics_mesh_add(n->metrics, METRICS_MESH_DROPPED, 1);
		if (power_of_two(c))
			log_warn("mesh: invalid message from %s: %s (%" PRIu64 " so far)", env->from,
				 why, c);
		return rpc_call_error(call, RPC_INVALID_ARGUMENT, "%s", why);
	}
	size = sizeof(m);
	if (m.kind == MESH_WIRE_SWIM) {
		/* The mesh is the members file: gossip about others is dropped,
		 * and a helper is never asked to ping a stranger. */
		uint32_t k = 0;

		if (m.swim.type == MESH_MSG_PING_REQ && member_idx(n, m.swim.target) < 0)
			return rpc_call_error(call, RPC_INVALID_ARGUMENT, "target is not a member");
		for (uint32_t i = 0; i < m.swim.n_updates; i++)
			if (member_idx(n, m.swim.updates[i].name) >= 0)
				m.swim.updates[k++] = m.swim.updates[i];
		m.swim.n_updates = k;
		size = offsetof(struct mesh_wire_msg, swim) + offsetof(struct mesh_msg, updates) +
		       (size_t)k * sizeof(struct mesh_update);
	}
	pthread_mutex_lock(&n->qlock);
	queued = fair_queue_push(n->rx, (uint32_t)member_idx(n, m.from), rx_urgent(&m), &m,
				 size) == 0;
	pthread_mutex_unlock(&n->qlock);
	if (!queued) {
		uint64_t c = atomic_fetch_add(&n->dropped_rx, 1) + 1;

		metrics_mesh_add(n->metrics, METRICS_MESH_DROPPED, 1);
		metrics_mesh_add(n->metrics, METRICS_MESH_PEER_QUEUE_DROPPED, 1);
		if (power_of_two(c))
			log_warn("mesh: %s's receive queue is full (it sends faster than this node "
				 "handles), its message dropped (%" PRIu64 " dropped so far)",
				 m.from, c);
		return rpc_call_error(call, RPC_RESOURCE_EXHAUSTED, "receive queue full");
	}
	metrics_mesh_add(n->metrics, METRICS_MESH_RECEIVED, 1);
	wake(n);
	return RPC_OK;
}

/* ---- notifier callback (notifier thread, its lock held) -------------------- */

static void on_delivery(void *ctx, uint64_t outbox_id, bool delivered, long http_status)
{
	struct mesh_node *n = ctx;
	struct ctl_item it = { .kind = CTL_DELIVERY, .outbox_id = outbox_id,
			       .delivered = delivered, .http_status = http_status };

	if (!ctl_push(n, &it))
		log_error("mesh: control queue full: delivery of notification %" PRIu64
			  " not passed on (the agreement's notify timeout will cover it)",
			  outbox_id);
}

/* ---- sending ----------------------------------------------------------------- */

static void send_to(struct mesh_node *n, uint32_t idx, const struct mesh_wire_msg *m,
		    uint32_t deadline_ms)
{
	struct mesh_wire_pb pb;
	struct rpc_status st;
	const Mimamori__MeshEnvelope *env;
	uint32_t code;

	assert(idx < n->members.n); /* the node's indexes are the members file's */
	if (idx == n->self_idx)
		return;
	env = mesh_wire_to_pb(m, &pb);
	code = mesh_peers_send(n->peers, n->members.v[idx].url, n->members.v[idx].name,
			       &mimamori__mesh__descriptor, "Deliver", &env->base, deadline_ms, &st);
	if (code == RPC_OK) {
		metrics_mesh_add(n->metrics, METRICS_MESH_SENT, 1);
	} else {
		metrics_mesh_add(n->metrics, METRICS_MESH_DROPPED, 1);
		log_debug("mesh: %s to %s not sent: %s %s", mesh_wire_kind_name(m->kind),
			  n->members.v[idx].name, rpc_status_name(code), st.message);
	}
}

/* To every member the node holds reachable (mnode_reachable). */
static uint32_t broadcast(struct mesh_node *n, const struct mesh_wire_msg *m)
{
	uint32_t count = 0;

	for (uint32_t i = 0; i < n->members.n; i++) {
		if (!mnode_reachable(n->node, i))
			continue;
		send_to(n, i, m, GOSSIP_DEADLINE_MS);
		count++;
	}
	return count;
}

/* To each destination the node listed; returns how many. */
static uint32_t send_to_list(struct mesh_node *n, const struct mnode_out *o, uint32_t deadline_ms)
{
	uint32_t count = 0;

	for (uint32_t i = 0; i < o->n_to; i++) {
		if (o->to[i] == MNODE_NONE)
			continue;
		send_to(n, o->to[i], &o->msg, deadline_ms);
		count++;
	}
	return count;
}

static void send_swim(struct mesh_node *n, const struct mnode_out *o)
{
	const struct mesh_msg *msg = &o->msg.swim;
	/* The members file's URL for a name, whatever address was gossiped;
	 * an address alone (a JOIN to a seed) must be a member's URL. */
	long idx = o->to[0] != MNODE_NONE ? (long)o->to[0] : members_find_url(&n->members, o->to_addr);

	if (idx < 0) {
		metrics_mesh_add(n->metrics, METRICS_MESH_DROPPED, 1);
		log_debug("mesh: not sending %s to unknown %s", mesh_msg_type_name(msg->type),
			  o->to_addr);
		return;
	}
	switch (msg->type) {
	case MESH_MSG_PING:
	case MESH_MSG_ACK:
	case MESH_MSG_PING_REQ:
	case MESH_MSG_NACK:
		send_to(n, (uint32_t)idx, &o->msg, (uint32_t)n->probe_deadline_ms);
		break;
	default:
		send_to(n, (uint32_t)idx, &o->msg, GOSSIP_DEADLINE_MS);
	}
}

/* ---- what the node asks for ------------------------------------------------ */

static void defer(struct mesh_node *n, const struct deferred *d)
{
	if (n->n_deferred < DEFERRED_MAX)
		n->deferred[n->n_deferred++] = *d;
	else
		log_error("mesh: deferred input queue full: a fence or notify result was lost "
			  "(the agreement's timeouts will retry)");
}

static enum log_level agr_level(enum agr_log_level l)
{
	switch (l) {
	case AGR_LOG_ERROR: return LOG_LEVEL_ERROR;
	case AGR_LOG_WARN: return LOG_LEVEL_WARN;
	case AGR_LOG_INFO: return LOG_LEVEL_INFO;
	default: return LOG_LEVEL_DEBUG;
	}
}

static void do_notify(struct mesh_node *n, const struct mnode_out *o)
{
	const struct agr_action *act = &o->act;
	bool host = act->kind == AGR_ACT_NOTIFY_HOST;
	/* The node decided when the failure happened (mesh/node.h); a
	 * monotonic instant becomes wall-clock time here. */
	int64_t failure_rt = o->failed_at_unix_ns > 0 ? o->failed_at_unix_ns
						      : mono_to_realtime(o->failed_at_mono_ns);
	char *body = host ? notification_body_compute_host(act->subject,
							   act->host_status == AGR_HOST_NORMAL,
							   failure_rt)
			  : notification_body_process(act->subject, act->process, failure_rt);
	uint64_t id = 0;
	int rc = !body ? -ENOMEM
		 : host ? notifier_submit_host(n->notifier, body, failure_rt, act->subject,
					       act->incarnation, &id)
			: notifier_submit(n->notifier, body, failure_rt, &id);
	struct pending_notify *slot = NULL;

	assert(o->subject < n->members.n);
	if (rc < 0) {
		log_error("mesh: cannot queue the %s notification for %s: %s; body: %s",
			  host ? "COMPUTE_HOST" : "PROCESS", act->subject, strerror(-rc),
			  body ? body : "(none)");
		note(n, "notification for %s NOT queued: %s", act->subject, strerror(-rc));
		defer(n, &(struct deferred){ .kind = DEF_NOTIFY_RESULT, .subject = o->subject,
					     .incarnation = act->incarnation,
					     .incident = act->incident, .http_status = 0 });
		free(body);
		return;
	}
	if (host)
		log_info("mesh: COMPUTE_HOST notification for %s queued: outbox id %" PRIu64
			 " (host_status %s, incarnation %" PRIu64 ")",
			 act->subject, id, act->host_status == AGR_HOST_NORMAL ? "NORMAL" : "UNKNOWN",
			 act->incarnation);
	else
		log_info("mesh: PROCESS notification for %s (%s) queued: outbox id %" PRIu64,
			 act->subject, act->process, id);
	note(n, "%s notification for %s queued as outbox %" PRIu64,
	     host ? "COMPUTE_HOST" : "PROCESS", act->subject, id);
	free(body);
	for (size_t i = 0; i < MAX_PENDING_NOTIFY && !slot; i++)
		if (!n->pending[i].used)
			slot = &n->pending[i];
	if (!slot) {
		log_warn("mesh: too many notifications in flight; the agreement will not hear "
			 "of outbox %" PRIu64 "'s delivery", id);
		return;
	}
	*slot = (struct pending_notify){ .used = true, .outbox_id = id, .kind = act->incident,
					 .subject = o->subject, .incarnation = act->incarnation };
}

static void do_fence(struct mesh_node *n, const struct mnode_out *o)
{
	const struct agr_action *act = &o->act;
	char what[700];
	int rc;

	/* Power-cycling cannot be undone: only ever another configured member
	 * (mesh/node.c asserts the same of the agreement's action). */
	assert(o->subject < n->members.n && o->subject != n->self_idx);
	assert(strcmp(act->subject, n->members.v[o->subject].name) == 0);
	fence_runner_describe(n->fence, act->subject, what, sizeof(what));
	rc = fence_runner_start(n->fence, act->subject, act->incarnation, act->attempt, mono_ns());
	if (rc == -EALREADY) {
		log_info("mesh: fence of %s already running; its result will count", act->subject);
		return;
	}
	if (rc < 0) {
		log_error("mesh: FENCE %s (attempt %u): cannot run `%s`: %s", act->subject,
			  act->attempt, what, strerror(-rc));
		note(n, "fence of %s could not start: %s", act->subject, strerror(-rc));
		metrics_mesh_add(n->metrics, METRICS_MESH_FENCES_FAILED, 1);
		defer(n, &(struct deferred){ .kind = DEF_FENCE_RESULT, .subject = o->subject,
					     .incarnation = act->incarnation,
					     .fence = AGR_FENCE_FAILED });
		return;
	}
	log_warn("mesh: FENCING %s (incarnation %" PRIu64 ", attempt %u): running `%s`",
		 act->subject, act->incarnation, act->attempt, what);
	note(n, "fencing %s: %s", act->subject, what);
}

static void update_member_gauges(struct mesh_node *n)
{
	struct mesh_summary s;

	membership_summary(mnode_membership(n->node), &s);
	metrics_mesh_set_members(n->metrics, METRICS_MESH_ALIVE, s.alive);
	metrics_mesh_set_members(n->metrics, METRICS_MESH_SUSPECT, s.suspect);
	metrics_mesh_set_members(n->metrics, METRICS_MESH_DEAD, s.dead);
	metrics_mesh_set_members(n->metrics, METRICS_MESH_LEFT, s.left);
}

/* Membership's news, for the operators. */
static void log_member(struct mesh_node *n, const struct mnode_out *o)
{
	const struct mesh_event *e = &o->event;
	const char *name = e->name;
	unsigned long long inc = (unsigned long long)e->incarnation;

	if (o->subject == MNODE_NONE)
		return; /* filtered on receipt: cannot happen */
	if (o->self) {
		if (e->new_state == MESH_ALIVE && e->old_state != MESH_STATE_NONE)
			log_info("mesh: refuted a suspicion of this node (now incarnation %llu)",
				 inc);
		return;
	}
	switch (e->new_state) {
	case MESH_ALIVE:
		if (e->old_state == MESH_STATE_NONE) {
			log_info("mesh: %s joined (%s, incarnation %llu)", name, e->addr, inc);
			note(n, "%s joined", name);
		} else {
			log_info("mesh: %s is alive again (was %s; incarnation %llu)", name,
				 mesh_state_name(e->old_state), inc);
			note(n, "%s alive again (incarnation %llu)", name, inc);
		}
		break;
	case MESH_SUSPECT:
		log_warn("mesh: %s suspected by %s (incarnation %llu)", name, e->by, inc);
		note(n, "%s suspected by %s", name, e->by);
		break;
	case MESH_DEAD:
		log_warn("mesh: %s declared DEAD by %s (incarnation %llu): probing it and seeking "
			 "agreement", name, e->by[0] ? e->by : "?", inc);
		note(n, "%s dead (declared by %s, incarnation %llu)", name, e->by, inc);
		break;
	case MESH_LEFT:
		log_info("mesh: %s left the mesh (planned shutdown; incarnation %llu)", name, inc);
		note(n, "%s left", name);
		break;
	}
	update_member_gauges(n);
}

/* A host seen up again (rebooted after its fence, or refuted) must not be
 * evacuated by a COMPUTE_HOST still waiting in the outbox for an older
 * incarnation: the notifier keeps it as superseded (notifier.h). */
static void supersede_host_notifications(struct mesh_node *n, const struct mesh_event *e)
{
	unsigned long long inc = (unsigned long long)e->incarnation;
	char reason[160];
	size_t k;

	snprintf(reason, sizeof(reason), "%s is alive in the mesh at incarnation %llu", e->name,
		 inc);
	k = notifier_cancel_host(n->notifier, e->name, e->incarnation, reason);
	if (k > 0)
		note(n, "%zu COMPUTE_HOST notification(s) for %s superseded: alive at incarnation "
		     "%llu", k, e->name, inc);
}

static void do_out(struct mesh_node *n, const struct mnode_out *o)
{
	const struct agr_action *act = &o->act;

	switch (o->kind) {
	case MNODE_OUT_SEND:
		switch (o->msg.kind) {
		case MESH_WIRE_SWIM:
			send_swim(n, o);
			break;
		case MESH_WIRE_PROBE:
		case MESH_WIRE_PROBE_ACK:
			send_to_list(n, o, n->agr_probe_deadline_ms);
			break;
		case MESH_WIRE_OBSERVATION: {
			uint32_t to = send_to_list(n, o, GOSSIP_DEADLINE_MS);

			if (o->subject != MNODE_NONE &&
			    n->logx[o->subject].observed_inc != act->incarnation + 1) {
				n->logx[o->subject].observed_inc = act->incarnation + 1;
				log_warn("mesh: OBSERVED %s unreachable: no answer to our probe "
					 "(incarnation %" PRIu64 "); observation sent to %u members",
					 act->subject, act->incarnation, to);
				note(n, "observed %s unreachable (incarnation %" PRIu64 ")",
				     act->subject, act->incarnation);
			}
			break;
		}
		case MESH_WIRE_COMPLETION:
			log_debug("mesh: telling peers: %s %s of %s by %s",
				  act->incident == AGR_INCIDENT_HOST ? "HOST" : "PROCESS",
				  agr_stage_name(act->stage), act->subject, o->msg.completion.notifier);
			send_to_list(n, o, GOSSIP_DEADLINE_MS);
			break;
		}
		break;
	case MNODE_OUT_BROADCAST:
		broadcast(n, &o->msg);
		break;
	case MNODE_OUT_FENCE:
		if (o->subject != MNODE_NONE)
			do_fence(n, o);
		break;
	case MNODE_OUT_NOTIFY:
		if (o->subject != MNODE_NONE)
			do_notify(n, o);
		break;
	case MNODE_OUT_MEMBER:
		n->refusal_kick = true;
		log_member(n, o);
		if (!o->self && o->subject != MNODE_NONE && o->event.new_state == MESH_ALIVE)
			supersede_host_notifications(n, &o->event);
		n->view_changed = true;
		break;
	case MNODE_OUT_LOG:
		log_msg(agr_level(act->level), "mesh agreement [%s] %s", act->event, act->text);
		if (act->level <= AGR_LOG_INFO)
			note(n, "[%s] %s", act->event, act->text);
		break;
	}
}

/* After every input to the node: everything it asks for. */
static void drain(struct mesh_node *n)
{
	size_t k;

	while ((k = mnode_poll(n->node, n->outbuf, OUT_BATCH)) > 0)
		for (size_t i = 0; i < k; i++)
			do_out(n, &n->outbuf[i]);
}

/* An input's result: -ENOENT (unknown member or incident) is the cores'
 * "ignored"; anything else is worth a debug line. */
static void input_rc(const char *what, int rc)
{
	if (rc < 0 && rc != -ENOENT)
		log_debug("mesh: %s not taken: %s", what, strerror(-rc));
}

/* ---- refusal probes ------------------------------------------------------------ */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Whether member i's host is worth asking: suspected in membership (its
 * incident may still be on its way to the agreement), or with a host
 * incident the agreement has not completed (a verdict, our own run). A
 * host gone for good (fenced, notified) is not asked again, nor one alive
 * again at a newer incarnation than its incident's: it answers the mesh
 * itself. Asked anyway, its kernel's answer every refusal period, fed as a
 * refusal, was logged as a hung daemon and held a later failure's verdict
 * (nemesis seed 30:3, an incident left open after its fence). */
static bool refusal_wanted(struct mesh_node *n, uint32_t i)
{
	struct mnode_member m;
	struct agr_incident_info info;

	if (i == n->self_idx || mnode_member(n->node, i, &m) != 0)
		return false;
	if (agreement_incident(mnode_agreement(n->node), AGR_INCIDENT_HOST, n->members.v[i].name,
			       &info) == 0)
		return info.stage != AGR_IS_COMPLETED &&
		       !(m.state == MESH_ALIVE && m.incarnation > info.incarnation);
	return m.state == MESH_SUSPECT;
}

/* Members whose host refused within the hold and that are not alive:
 * their daemon is down, their host is up (mimamori_mesh_monitor_down). */
static void update_monitor_down(struct mesh_node *n, uint64_t now)
{
	int64_t down = 0;

	for (uint32_t i = 0; i < n->members.n; i++) {
		struct mnode_member m;
		struct member_log *l = &n->logx[i];

		if (l->refused_at == 0)
			continue;
		if (mnode_member(n->node, i, &m) == 0 &&
		    (m.state == MESH_ALIVE || m.state == MESH_LEFT)) {
			l->refused_at = 0; /* back (or gone in order) */
			continue;
		}
		if (now < l->refused_at + n->refusal_hold_ns)
			down++;
	}
	metrics_mesh_set_monitor_down(n->metrics, down);
}

static void refusal_results(struct mesh_node *n, uint64_t now)
{
	struct refusal_result r[16];
	size_t k;

	while ((k = refusal_probe_poll(n->refusal, now, r, 16)) > 0) {
		for (size_t j = 0; j < k; j++) {
			uint32_t i = r[j].member;
			const char *name = n->members.v[i].name;
			int rc;

			if (r[j].outcome == REFUSAL_NO_ANSWER) {
				log_debug("mesh: refusal probe of %s: %s%s%s", name,
					  refusal_outcome_name(r[j].outcome), r[j].err ? ": " : "",
					  r[j].err ? strerror(r[j].err) : "");
				continue;
			}
			/* Refused or accepted, the host's kernel answered the
			 * SYN: the host is up and reachable, whatever its daemon
			 * does (down, hung, starved). An accepted connect while the
			 * member is suspected is a daemon that cannot answer the
			 * mesh (a hung one: the listening socket is the kernel's),
			 * or a link that comes and goes faster than TCP's
			 * retransmissions of the mesh's own connection: neither is
			 * a dead host (issue 10, item 2). */
			metrics_mesh_add(n->metrics, METRICS_MESH_PEER_REFUSALS, 1);
			/* -ENOENT: not suspected in the agreement (yet, or any
			 * more): the next probe tells it again */
			rc = mnode_on_peer_answered(n->node, i,
						    r[j].outcome == REFUSAL_ACCEPTED ? AGR_PEER_ACCEPTED
										     : AGR_PEER_REFUSED,
						    now);
			if (rc == 0 && n->logx[i].refused_at == 0)
				log_warn("mesh: %s's host %s connections to its mesh port: its "
					 "mimamorid is %s, the host is up; reported, not observed "
					 "unreachable", name,
					 r[j].outcome == REFUSAL_REFUSED ? "refuses" : "accepts",
					 r[j].outcome == REFUSAL_REFUSED ? "down" : "not answering the mesh (hung?)");
			if (rc == 0)
				n->logx[i].refused_at = now;
			else
				input_rc("refusal", rc);
			drain(n);
		}
	}
}

/* Results, then a connect to each suspected member whose turn it is: at
 * once after news (a suspicion, a peer's observation), else when a turn
 * comes, and at least every REFUSAL_SWEEP_IDLE_NS. */
static void refusal_step(struct mesh_node *n, uint64_t now)
{
	if (!n->refusal)
		return;
	refusal_results(n, now);
	if (!n->refusal_kick && now < n->refusal_sweep_ns)
		return;
	n->refusal_kick = false;
	n->refusal_sweep_ns = now + REFUSAL_SWEEP_IDLE_NS;
	for (uint32_t i = 0; i < n->members.n; i++) {
		struct member_log *l = &n->logx[i];
		int rc;

		if (!refusal_wanted(n, i))
			continue;
		if (now < l->refusal_next_ns || refusal_probe_running(n->refusal, i)) {
			n->refusal_sweep_ns = min_u64(n->refusal_sweep_ns,
						      l->refusal_next_ns > now ? l->refusal_next_ns
									       : now + n->refusal_every_ns);
			continue;
		}
		l->refusal_next_ns = now + n->refusal_every_ns;
		n->refusal_sweep_ns = min_u64(n->refusal_sweep_ns, l->refusal_next_ns);
		rc = refusal_probe_start(n->refusal, i, now);
		if (rc < 0 && rc != -ENOENT)
			log_debug("mesh: refusal probe of %s not started: %s", n->members.v[i].name,
				  strerror(-rc));
	}
	update_monitor_down(n, now);
}

static void run_deferred(struct mesh_node *n)
{
	while (n->n_deferred > 0) {
		struct deferred d = n->deferred[0];
		const char *name = n->members.v[d.subject].name;

		memmove(&n->deferred[0], &n->deferred[1], (n->n_deferred - 1) * sizeof(d));
		n->n_deferred--;
		if (d.kind == DEF_FENCE_RESULT)
			input_rc("fence result", mnode_on_fence_result(n->node, name, d.incarnation,
									d.fence, mono_ns()));
		else
			input_rc("notify result",
				 mnode_on_notify_result(n->node, d.incident, name, d.incarnation,
							d.http_status, mono_ns()));
		drain(n);
	}
}

/* Copies the cores' counters into the metrics (as deltas). */
static void sync_counters(struct mesh_node *n)
{
	struct mesh_counters mc;
	struct agr_counters ac;

	membership_counters(mnode_membership(n->node), &mc);
	metrics_mesh_add(n->metrics, METRICS_MESH_SUSPICIONS,
			 mc.suspicions_raised - n->last_mc.suspicions_raised);
	metrics_mesh_add(n->metrics, METRICS_MESH_REFUTATIONS,
			 mc.refutations - n->last_mc.refutations);
	metrics_mesh_add(n->metrics, METRICS_MESH_HEARSAY_REFUSED,
			 mc.left_hearsay + mc.updates_refused - n->last_mc.left_hearsay -
				 n->last_mc.updates_refused);
	n->last_mc = mc;
	agreement_counters(mnode_agreement(n->node), &ac);
	metrics_mesh_add(n->metrics, METRICS_MESH_DECLARATIONS, ac.declared - n->last_ac.declared);
	metrics_mesh_add(n->metrics, METRICS_MESH_UNTRUSTED_NO_HONEST_SENDER,
			 ac.untrusted_no_honest_sender - n->last_ac.untrusted_no_honest_sender);
	metrics_mesh_add(n->metrics, METRICS_MESH_UNTRUSTED_UNCONFIRMED,
			 (ac.untrusted_dropped - ac.untrusted_no_honest_sender) -
				 (n->last_ac.untrusted_dropped - n->last_ac.untrusted_no_honest_sender));
	metrics_mesh_add(n->metrics, METRICS_MESH_HANDOVERS, ac.handovers - n->last_ac.handovers);
	metrics_mesh_add(n->metrics, METRICS_MESH_HANDOVERS_EXHAUSTED,
			 ac.handovers_exhausted - n->last_ac.handovers_exhausted);
	n->last_ac = ac;
	metrics_mesh_set_members_file(n->metrics, mnode_digest_mismatches(n->node),
				      mnode_verdicts_held(n->node));
}

/* Logs a peer's progress report once per change. */
static void log_heard(struct mesh_node *n, const struct mesh_wire_msg *m)
{
	const struct agr_completion *c = &m->completion;
	long subj = member_idx(n, c->subject);
	struct member_log *x;

	if (subj < 0)
		return;
	x = &n->logx[subj];
	if (x->heard_kind == c->kind && x->heard_stage == c->stage &&
	    x->heard_inc == c->incarnation && strcmp(x->heard_notifier, c->notifier) == 0)
		return;
	x->heard_kind = c->kind;
	x->heard_stage = c->stage;
	x->heard_inc = c->incarnation;
	snprintf(x->heard_notifier, sizeof(x->heard_notifier), "%s", c->notifier);
	log_info("mesh: %s tells: %s incident of %s (incarnation %" PRIu64 "): %s by %s%s",
		 m->from, c->kind == AGR_INCIDENT_HOST ? "HOST" : "PROCESS", c->subject,
		 c->incarnation, agr_stage_name(c->stage), c->notifier,
		 c->stage == AGR_STAGE_NOTIFIED ? " (Masakari answered)" : "");
}

/* A peer's accepted COMPUTE_HOST for a failure we may notify too (a
 * backup's takeover): ours then meets Masakari's "on maintenance" 409,
 * the first one's effect, and is a duplicate, not a refusal (issue 10,
 * item 8; notifier_peer_notified). Told once the agreement took the
 * peer's word (it completed the incident by it), or, when our own answer
 * was that 409, on the notifier's own word. */
static void tell_peer_notified(struct mesh_node *n, const struct agr_completion *c,
			       const char *from)
{
	struct agr_incident_info info;

	if (n->notifier == NULL || c->stage != AGR_STAGE_NOTIFIED || c->kind != AGR_INCIDENT_HOST ||
	    (c->http_status != 202 && c->http_status != 409) || strcmp(c->notifier, n->self) == 0)
		return;
	if (agreement_incident(mnode_agreement(n->node), AGR_INCIDENT_HOST, c->subject, &info) != 0 ||
	    info.incarnation != c->incarnation || info.stage != AGR_IS_COMPLETED)
		return;
	if (strcmp(info.completed_by, c->notifier) == 0 ||
	    (strcmp(info.completed_by, n->self) == 0 &&
	     info.http_status == AGR_HTTP_REFUSED_MAINTENANCE && strcmp(c->notifier, from) == 0))
		(void)notifier_peer_notified(n->notifier, c->subject, c->incarnation);
}

static void handle_rx(struct mesh_node *n, const struct mesh_wire_msg *m, uint64_t now)
{
	const struct membership *ms = mnode_membership(n->node);
	int rc;

	if (m->kind == MESH_WIRE_COMPLETION)
		log_heard(n, m);
	if (m->kind == MESH_WIRE_OBSERVATION)
		n->refusal_kick = true; /* may open an incident here */
	rc = mnode_on_message(n->node, m, now);
	if (rc < 0 && m->kind == MESH_WIRE_SWIM)
		log_debug("mesh: %s from %s not taken: %s", mesh_msg_type_name(m->swim.type),
			  m->from, strerror(-rc));
	else
		input_rc(mesh_wire_kind_name(m->kind), rc);
	drain(n);
	if (m->kind == MESH_WIRE_COMPLETION)
		tell_peer_notified(n, &m->completion, m->from);
	if (m->kind == MESH_WIRE_SWIM) {
		uint64_t acks = n->last_mc.acks_received;
		struct mesh_counters mc;

		membership_counters(ms, &mc);
		if (m->swim.type == MESH_MSG_ACK && mc.acks_received > acks) {
			struct mesh_member_info info;

			if (membership_member_get(ms, m->from, &info) == 0 && info.last_rtt_ns)
				metrics_mesh_observe_rtt_ns(n->metrics, info.last_rtt_ns);
		}
		n->last_mc.acks_received = mc.acks_received;
	}
}

/* ---- control items ----------------------------------------------------------- */

/* Whether membership knows member i at an incarnation above inc: it was
 * alive at it (only the member itself raises its incarnation). */
static bool alive_above(struct mesh_node *n, uint32_t i, uint64_t inc)
{
	struct mnode_member m;

	return mnode_member(n->node, i, &m) == 0 && m.incarnation > inc;
}

static void handle_ctl(struct mesh_node *n, const struct ctl_item *c, uint64_t now)
{
	switch (c->kind) {
	case CTL_PROCESS_FAILED:
		log_warn("mesh: local %s died: reporting it to the peers (they notify Masakari "
			 "if this host stays reachable)", c->process);
		note(n, "local %s died: reported to peers", c->process);
		input_rc("local process failure",
			 mnode_local_process_failed(n->node, c->process,
						    mono_to_realtime(c->ts_ns ? c->ts_ns : mono_ns()),
						    now));
		drain(n);
		break;
	case CTL_DELIVERY:
		for (size_t i = 0; i < MAX_PENDING_NOTIFY; i++) {
			struct pending_notify *p = &n->pending[i];
			int http = c->delivered ? (int)c->http_status : (int)(c->http_status ? c->http_status : -1);

			/* Not delivered: the agreement hands the incident to the
			 * next rank (issue 10, item 9), except a 409 refused for a
			 * host on maintenance, which every notifier would get: it
			 * must not read as the 409 of a duplicate (accepted). */
			if (!c->delivered && http == 409)
				http = AGR_HTTP_REFUSED_MAINTENANCE;

			if (!p->used || p->outbox_id != c->outbox_id)
				continue;
			p->used = false;
			/* A COMPUTE_HOST the notifier superseded (its host is alive
			 * at a newer incarnation: notifier_cancel_host) is not a
			 * delivery failure: every notifier that sees the host so
			 * supersedes it too, so handing it over only went round the
			 * ranks and left the incident open for good, which then
			 * kept the host's next failure from being observed (nemesis
			 * seed 30:3 then 30:5: a power loss never notified). */
			if (!c->delivered && p->kind == AGR_INCIDENT_HOST &&
			    alive_above(n, p->subject, p->incarnation))
				http = AGR_HTTP_SUPERSEDED;
			if (c->delivered)
				log_info("mesh: notification %" PRIu64 " for %s delivered (HTTP %ld)",
					 c->outbox_id, n->members.v[p->subject].name, c->http_status);
			else
				log_error("mesh: notification %" PRIu64 " for %s given up (HTTP %ld): "
					  "see mimamorictl outbox", c->outbox_id,
					  n->members.v[p->subject].name, c->http_status);
			input_rc("notify result",
				 mnode_on_notify_result(n->node, p->kind, n->members.v[p->subject].name,
							p->incarnation, http, now));
			drain(n);
			break;
		}
		break;
	case CTL_STOP:
		break;
	}
}

/* ---- fence and crm_mon results ------------------------------------------------- */

/* The fence runner's outcome as the agreement takes it: the one mapping. */
static enum agr_fence_result agr_fence_result_of(enum fence_outcome outcome)
{
	switch (outcome) {
	case FENCE_OUTCOME_OK:
		return AGR_FENCE_OK;
	case FENCE_OUTCOME_TIMEOUT:
		return AGR_FENCE_TIMEOUT;
	default:
		return AGR_FENCE_FAILED;
	}
}

static void handle_fence_results(struct mesh_node *n, uint64_t now)
{
	struct fence_result res[4];
	size_t k;

	while ((k = fence_runner_poll(n->fence, now, res, 4)) > 0) {
		for (size_t i = 0; i < k; i++) {
			const struct fence_result *r = &res[i];
			enum agr_fence_result ar = agr_fence_result_of(r->outcome);

			if (ar == AGR_FENCE_OK) {
				log_warn("mesh: FENCED %s (attempt %u): %s", r->host, r->attempt,
					 r->detail);
				metrics_mesh_add(n->metrics, METRICS_MESH_FENCES_OK, 1);
			} else {
				log_error("mesh: fence of %s FAILED (attempt %u): %s", r->host,
					  r->attempt, r->detail);
				metrics_mesh_add(n->metrics, METRICS_MESH_FENCES_FAILED, 1);
			}
			note(n, "fence of %s %s: %s", r->host, ar == AGR_FENCE_OK ? "ok" : "failed",
			     r->detail);
			input_rc("fence result",
				 mnode_on_fence_result(n->node, r->host, r->incarnation, ar, now));
			drain(n);
		}
	}
}

static void start_crm_mon(struct mesh_node *n, uint64_t now)
{
	const char *argv[] = { n->crm_mon_path, "-X", NULL };
	int rc;

	n->crm_next_ns = now + n->crm_interval_ns;
	if (n->crm_running)
		return; /* the previous run is still going (its timeout bounds it) */
	rc = proc_runner_spawn(n->crm, argv, 0, CRM_MON_TIMEOUT_NS, CRM_MON_MAX_DOC, false, now);
	if (rc == -ENOENT || rc == -EACCES) {
		log_warn("mesh: cannot run %s (%s): no Pacemaker view (crm_mon) from now on; the "
			 "mesh decides without it", n->crm_mon_path, strerror(-rc));
		n->crm_disabled = true;
		return;
	}
	if (rc < 0) {
		log_warn("mesh: cannot run %s: %s", n->crm_mon_path, strerror(-rc));
		return;
	}
	n->crm_running = true;
}

static void handle_crm_results(struct mesh_node *n, uint64_t now)
{
	struct proc_result res;

	while (proc_runner_poll(n->crm, now, &res, 1) == 1) {
		char err[256] = "";
		int exit_code = res.exited ? res.exit_code : 255;

		n->crm_running = false;
		if (res.exited && res.exit_code == 127) {
			log_warn("mesh: %s exited 127 (not found?): no Pacemaker view from now on",
				 n->crm_mon_path);
			n->crm_disabled = true;
		}
		if (crm_mon_parse(res.output ? res.output : "", res.output_len, exit_code, n->view,
				  err, sizeof(err)) < 0 &&
		    n->crm_last_status != -2) {
			log_warn("mesh: crm_mon output not understood: %s", err);
		}
		if (res.timed_out)
			log_warn("mesh: %s -X timed out after %.0f s", n->crm_mon_path,
				 (double)CRM_MON_TIMEOUT_NS / 1e9);
		if ((int)n->view->status != n->crm_last_status) {
			log_info("mesh: Pacemaker view: %s%s%s (crm_mon exit %d)",
				 crm_mon_status_name(n->view->status), n->view->reason[0] ? ": " : "",
				 n->view->reason, exit_code);
			n->crm_last_status = (int)n->view->status;
		}
		{
			struct pacemaker_view pv; /* ~78 KiB: the thread's default stack */

			crm_mon_pacemaker_view(n->view, &pv);
			input_rc("Pacemaker view", mnode_on_pacemaker_view(n->node, &pv, now));
			drain(n); /* pv is read until then */
		}
		proc_result_release(&res);
	}
}

/* ---- the loop ---------------------------------------------------------------- */

static uint64_t next_deadline(struct mesh_node *n)
{
	uint64_t d = min_u64(mnode_next_deadline(n->node), fence_runner_next_deadline(n->fence));

	if (n->crm) {
		d = min_u64(d, proc_runner_next_deadline(n->crm));
		if (!n->crm_disabled)
			d = min_u64(d, n->crm_next_ns);
	}
	if (n->leaving)
		d = min_u64(d, n->leave_deadline);
	if (n->refusal)
		d = min_u64(d, min_u64(n->refusal_sweep_ns, refusal_probe_next_deadline(n->refusal)));
	return min_u64(d, n->view_at + PUBLISH_EVERY_NS);
}

static void arm_timer(struct mesh_node *n, uint64_t deadline)
{
	struct itimerspec its = { 0 };

	if (deadline != UINT64_MAX) {
		if (deadline == 0)
			deadline = 1;
		its.it_value.tv_sec = (time_t)(deadline / NS_PER_S);
		its.it_value.tv_nsec = (long)(deadline % NS_PER_S);
	}
	if (timerfd_settime(n->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("mesh: timerfd: %s", strerror(errno));
}

/* The members view for other threads (see the top). */
static void publish_members(struct mesh_node *n)
{
	struct mesh_node_member *out = n->view_buf[!n->view_cur]; /* nobody reads it now */
	uint64_t now = mono_ns();
	int64_t offset = realtime_ns() - (int64_t)now;

	for (size_t i = 0; i < n->members.n; i++) {
		struct mesh_node_member *o = &out[i];
		struct mesh_member_info info;
		const char *obs[MESH_NODE_MAX_OBSERVERS];
		int nobs;

		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", n->members.v[i].name);
		snprintf(o->addr, sizeof(o->addr), "%s", n->members.v[i].url);
		o->self = i == n->self_idx;
		if (membership_member_get(mnode_membership(n->node), o->name, &info) == 0) {
			o->state = info.state;
			o->incarnation = info.incarnation;
			o->last_rtt_us = (uint32_t)(info.last_rtt_ns / 1000 > UINT32_MAX
							    ? UINT32_MAX : info.last_rtt_ns / 1000);
			if (o->last_rtt_us == 0 && info.last_rtt_ns)
				o->last_rtt_us = 1;
			o->state_since_realtime_ns = info.state_since_ns
							     ? (int64_t)info.state_since_ns + offset
							     : 0;
		}
		nobs = agreement_observers(mnode_agreement(n->node), o->name, obs,
					   MESH_NODE_MAX_OBSERVERS);
		for (int j = 0; j < nobs; j++)
			snprintf(o->observers[o->n_observers++], MESH_NAME_MAX, "%s", obs[j]);
	}
	pthread_mutex_lock(&n->snap_lock);
	n->view_cur = !n->view_cur;
	n->view_at = now;
	pthread_cond_broadcast(&n->snap_cond);
	pthread_mutex_unlock(&n->snap_lock);
	n->view_changed = false;
}

static void maybe_publish(struct mesh_node *n)
{
	if (n->view_changed || n->view_at == 0 || mono_ns() >= n->view_at + PUBLISH_EVERY_NS)
		publish_members(n);
}

/* Everything due at now. */
static void step(struct mesh_node *n)
{
	uint64_t now = mono_ns();
	uint64_t drained;

	if (read(n->evfd, &drained, sizeof(drained)) < 0 && errno != EAGAIN)
		log_warn("mesh: eventfd: %s", strerror(errno));
	if (read(n->timerfd, &drained, sizeof(drained)) < 0 && errno != EAGAIN)
		log_warn("mesh: timerfd: %s", strerror(errno));
	/* Received messages, the peers in turn: at most a queue's worth per
	 * step, so a flood cannot starve the timers; what is left wakes the
	 * loop again. */
	for (size_t k = 0;; k++) {
		/* On the stack (os/threads.h: room enough), not _Thread_local: that
		 * is made in every thread of the process (issue 12). */
		struct mesh_wire_msg m;
		bool got = false, more = false;

		pthread_mutex_lock(&n->qlock);
		if (k < RX_QUEUE_LEN)
			got = fair_queue_pop(n->rx, &m, NULL);
		else
			more = fair_queue_len(n->rx) > 0;
		pthread_mutex_unlock(&n->qlock);
		if (more)
			wake(n);
		if (!got)
			break;
		handle_rx(n, &m, now);
	}
	for (;;) {
		struct ctl_item c;
		bool got = false;

		pthread_mutex_lock(&n->qlock);
		if (n->ctl_len > 0) {
			c = n->ctl[n->ctl_head];
			n->ctl_head = (n->ctl_head + 1) % CTL_QUEUE_LEN;
			n->ctl_len--;
			got = true;
		}
		pthread_mutex_unlock(&n->qlock);
		if (!got)
			break;
		handle_ctl(n, &c, now);
	}
	handle_fence_results(n, now);
	if (n->crm) {
		handle_crm_results(n, now);
		if (!n->crm_disabled && !n->leaving && now >= n->crm_next_ns)
			start_crm_mon(n, now);
	}
	/* A refusal counts before a tick could complete a run with it. */
	if (n->refusal)
		refusal_results(n, now);
	/* Timers. A tick with no room for its work leaves its deadline <= now:
	 * a few rounds, then the loop comes back at once. */
	for (int i = 0; i < 8 && mnode_next_deadline(n->node) <= now; i++) {
		mnode_tick(n->node, now);
		drain(n);
	}
	run_deferred(n);
	refusal_step(n, now);
	sync_counters(n);
}

static void *mesh_thread(void *arg);

static int start_network(struct mesh_node *n, char *err, size_t errlen)
{
	static const struct rpc_handler handlers[] = { { "Deliver", on_deliver } };
	struct rpc_tls_files tls = { .ca_file = n->ca_file, .cert_key_file = n->cert_file };
	size_t conns = n->members.n + 16;
	struct rpc_server_opts so = {
		.max_msg = MESH_WIRE_MAX_MSG,
		.workers = SERVER_WORKERS,
		.max_connections = (uint32_t)(conns > RPC_MAX_CONNECTIONS ? RPC_MAX_CONNECTIONS
			: conns < RPC_DEFAULT_MAX_CONNECTIONS ? RPC_DEFAULT_MAX_CONNECTIONS : conns),
		.max_handler_ms = 1000,
		.send_timeout_ms = 1000,
		.tls = n->tls ? &tls : NULL,
	};
	struct mesh_peers_opts po = {
		.max_clients = MESH_PEERS_DEFAULT_MAX,
		.max_msg = MESH_WIRE_MAX_MSG,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = 2000,
		.ca_file = n->tls ? n->ca_file : NULL,
		.cert_key_file = n->tls ? n->cert_file : NULL,
	};
	char why[400];
	int rc;

	rc = rpc_server_new(&n->server, n->listen, &mimamori__mesh__descriptor, handlers, 1, n, &so,
			    why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "[mesh] %.300s", why);
		return -1;
	}
	n->peers = mesh_peers_new(&po, why, sizeof(why));
	if (!n->peers) {
		snprintf(err, errlen, "%s", why);
		rpc_server_close(n->server);
		n->server = NULL;
		return -1;
	}
	return 0;
}

static void join(struct mesh_node *n, uint64_t now)
{
	const char *seeds[MESH_MAX_SEEDS];
	size_t n_seeds = 0, others = n->members.n - 1;
	uint32_t start = 0;

	if (others > 0) {
		if (getrandom(&start, sizeof(start), 0) != sizeof(start))
			start = (uint32_t)now;
		start %= (uint32_t)n->members.n;
	}
	/* Up to MESH_MAX_SEEDS other members, from a random place on. */
	for (size_t k = 0; k < n->members.n && n_seeds < MESH_MAX_SEEDS; k++) {
		size_t i = (start + k) % n->members.n;

		if (i != n->self_idx)
			seeds[n_seeds++] = n->members.v[i].url;
	}
	if (mnode_join(n->node, seeds, n_seeds, now) < 0)
		log_error("mesh: join failed (bad seed address?)");
	else
		log_info("mesh: joining via %zu of %zu other members", n_seeds, others);
}

static void *mesh_thread(void *arg)
{
	struct mesh_node *n = arg;
	char err[512];
	int rc = start_network(n, err, sizeof(err));

	pthread_mutex_lock(&n->start_lock);
	n->start_state = rc == 0 ? 1 : -1;
	if (rc < 0)
		snprintf(n->start_err, sizeof(n->start_err), "%s", err);
	pthread_cond_broadcast(&n->start_cond);
	pthread_mutex_unlock(&n->start_lock);
	if (rc < 0)
		return NULL;

	join(n, mono_ns());
	drain(n);
	publish_members(n);

	for (;;) {
		struct epoll_event evs[8];
		int k;
		bool stop;

		arm_timer(n, next_deadline(n));
		k = epoll_wait(n->epfd, evs, 8, -1);
		if (k < 0 && errno != EINTR) {
			log_error("mesh: epoll_wait: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&n->qlock);
		stop = n->stop_requested;
		pthread_mutex_unlock(&n->qlock);
		if (stop && !n->leaving) {
			uint64_t now = mono_ns();

			n->leaving = true;
			n->leave_deadline = now + LEAVE_WAIT_NS;
			log_info("mesh: leaving the mesh");
			mnode_leave(n->node, now);
			drain(n);
		}
		step(n);
		maybe_publish(n);
		if (n->leaving && (mnode_leave_done(n->node) || mono_ns() >= n->leave_deadline)) {
			log_info("mesh: left (%s)", mnode_leave_done(n->node)
							    ? "every member was told"
							    : "gave up waiting after 1 s");
			break;
		}
	}
	/* No handler runs once this returns: the queues may go. */
	rpc_server_stop(n->server);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------ */

static void free_node(struct mesh_node *n)
{
	if (!n)
		return;
	rpc_server_close(n->server);
	mesh_peers_free(n->peers);
	fence_runner_free(n->fence);
	refusal_probe_free(n->refusal);
	proc_runner_free(n->crm);
	mnode_free(n->node);
	if (n->epfd >= 0)
		close(n->epfd);
	if (n->timerfd >= 0)
		close(n->timerfd);
	if (n->evfd >= 0)
		close(n->evfd);
	members_list_free(&n->members);
	free(n->logx);
	free(n->view);
	fair_queue_free(n->rx);
	free(n->outbuf);
	free(n->view_buf[0]);
	free(n->view_buf[1]);
	pthread_mutex_destroy(&n->snap_lock);
	pthread_cond_destroy(&n->snap_cond);
	pthread_mutex_destroy(&n->qlock);
	pthread_mutex_destroy(&n->start_lock);
	pthread_cond_destroy(&n->start_cond);
	free(n);
}

/* Peers check that our certificate's common name is the name we claim: a
 * node whose certificate names another host would have every message
 * refused, be declared dead and be fenced. So refuse to start instead. */
static int check_own_certificate(const char *file, const char *self, char *err, size_t errlen)
{
	mbedtls_x509_crt crt;
	const mbedtls_x509_name *cn = NULL;
	int rv;

	mbedtls_x509_crt_init(&crt);
	rv = mbedtls_x509_crt_parse_file(&crt, file);
	if (rv < 0 || crt.raw.p == NULL) {
		snprintf(err, errlen, "[mesh] cert_file %s: no certificate could be read (mbed TLS "
			 "error -0x%04x)", file, (unsigned)-rv);
		mbedtls_x509_crt_free(&crt);
		return -1;
	}
	/* The first certificate of the file is the node's own. */
	for (const mbedtls_x509_name *nm = &crt.subject; nm; nm = nm->next)
		if (nm->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0)
			cn = cn ? NULL : nm;
	if (!cn || cn->val.len != strlen(self) || memcmp(cn->val.p, self, cn->val.len) != 0) {
		snprintf(err, errlen,
			 "[mesh] cert_file %s: the certificate's common name is '%.*s', not this "
			 "host's member name '%s': peers would refuse every message from it",
			 file, cn ? (int)(cn->val.len > 64 ? 64 : cn->val.len) : 0,
			 cn ? (const char *)cn->val.p : "", self);
		mbedtls_x509_crt_free(&crt);
		return -1;
	}
	mbedtls_x509_crt_free(&crt);
	return 0;
}

/* Whether an executable called name is in one of PATH's directories. */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char dir[CONFIG_PATH_LEN], full[CONFIG_PATH_LEN + 64];

	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (len > 0 && len < sizeof(dir)) {
			memcpy(dir, path, len);
			dir[len] = '\0';
			snprintf(full, sizeof(full), "%s/%s", dir, name);
			if (access(full, X_OK) == 0)
				return true;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int make_node(struct mesh_node *n, const struct mimamori_config *cfg, char *err,
		     size_t errlen)
{
	struct mnode_config nc = { .self_addr = n->self_addr };
	struct membership_config *mc = &nc.membership;
	struct agreement_config *ac = &nc.agreement;
	const char **names, **urls;
	char why[256];

	membership_config_default(mc);
	mc->max_members = (uint32_t)(n->members.n < 2 ? 2 : n->members.n);
	if (getrandom(&mc->seed, sizeof(mc->seed), 0) != sizeof(mc->seed))
		mc->seed = (uint64_t)realtime_ns() ^ (uint64_t)getpid();
	if (membership_config_check(mc, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "mesh: membership configuration: %s", why);
		return -1;
	}
	n->probe_deadline_ms = mc->probe_timeout_ns / NS_PER_MS;
	if (n->probe_deadline_ms < 1)
		n->probe_deadline_ms = 1;

	/* The node borrows the names (the members list outlives it). */
	names = calloc(n->members.n, sizeof(*names));
	urls = calloc(n->members.n, sizeof(*urls));
	if (!names || !urls) {
		free(names);
		free(urls);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n->members.n; i++) {
		names[i] = n->members.v[i].name;
		urls[i] = n->members.v[i].url;
	}
	/* Every message carries it: a peer with another file holds its
	 * verdicts, and so do we (mesh/node.h). */
	nc.members_digest = mnode_members_digest(names, urls, (uint32_t)n->members.n);
	nc.hold_on_unknown_digest = true;
	free(urls);
	log_info("mesh: members file: %zu members, digest %016" PRIx64, n->members.n,
		 nc.members_digest);
	agreement_config_default(ac);
	ac->self = n->self;
	ac->members = names;
	ac->n_members = n->members.n;
	ac->fence_policy = strcmp(cfg->fencing_method, "none") == 0 ? AGR_FENCE_NONE
								    : AGR_FENCE_REQUIRED;
	ac->fence_timeout_ns = fence_runner_timeout_ns(n->fence);
	/* The stall a healthy host survives without being fenced, traded
	 * against detection time ([mesh] unreachable_window_ms). probe_interval,
	 * resend_interval, claim_settle: the core's defaults (agreement.h). */
	ac->unreachable_window_ns = (uint64_t)cfg->mesh_unreachable_window_ms * NS_PER_MS;
	n->agr_probe_deadline_ms = (uint32_t)cfg->mesh_unreachable_window_ms;
	n->node = mnode_new(&nc, why, sizeof(why));
	free(names);
	if (!n->node) {
		snprintf(err, errlen, "mesh: %s", why);
		return -1;
	}
	return 0;
}

struct mesh_node *mesh_node_start(const struct mimamori_config *cfg, struct notifier *notifier,
				  struct event_log *events, struct metrics *metrics, char *err,
				  size_t errlen)
{
	struct mesh_node *n = calloc(1, sizeof(*n));
	long self;
	int rc;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->epfd = n->timerfd = n->evfd = -1;
	n->crm_last_status = -1;
	pthread_mutex_init(&n->snap_lock, NULL);
	{
		pthread_condattr_t ca;

		/* Readers wait on CLOCK_MONOTONIC deadlines. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&n->snap_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_init(&n->qlock, NULL);
	pthread_mutex_init(&n->start_lock, NULL);
	pthread_cond_init(&n->start_cond, NULL);
	n->notifier = notifier;
	n->events = events;
	n->metrics = metrics;

	/* Members: this host must be one of them. */
	if (members_file_load(cfg->mesh_members_file, &n->members, err, errlen) < 0)
		goto fail;
	self = members_find(&n->members, cfg->hostname);
	if (self < 0) {
		snprintf(err, errlen, "%s: this host ('%s', [node] hostname) is not a member",
			 cfg->mesh_members_file, cfg->hostname);
		goto fail;
	}
	n->self_idx = (uint32_t)self;
	snprintf(n->self, sizeof(n->self), "%.*s", MESH_NAME_MAX - 1, cfg->hostname);
	n->logx = calloc(n->members.n, sizeof(*n->logx));
	n->rx = fair_queue_new(&(struct fair_queue_config){
		.n_senders = (uint32_t)n->members.n, .slots = RX_QUEUE_LEN, .reserve = RX_RESERVE,
		.per_sender_urgent = RX_PER_PEER_URGENT, .per_sender_bulk = RX_PER_PEER_BULK,
		.item_size = sizeof(struct mesh_wire_msg) });
	n->outbuf = calloc(OUT_BATCH, sizeof(*n->outbuf));
	n->view = calloc(1, sizeof(*n->view));
	n->view_buf[0] = calloc(n->members.n, sizeof(*n->view_buf[0]));
	n->view_buf[1] = calloc(n->members.n, sizeof(*n->view_buf[1]));
	if (!n->logx || !n->rx || !n->outbuf || !n->view || !n->view_buf[0] || !n->view_buf[1]) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	/* Addresses and transport. */
	snprintf(n->listen, sizeof(n->listen), "%s", cfg->mesh_listen);
	n->tls = rpc_transport_of(n->listen) == RPC_TRANSPORT_TLS;
	if (!n->tls && rpc_transport_of(n->listen) != RPC_TRANSPORT_TCP) {
		snprintf(err, errlen, "[mesh] listen %s: must be tls+tcp:// (or tcp:// for tests)",
			 n->listen);
		goto fail;
	}
	if (!n->tls && !cfg->mesh_allow_insecure_tcp) {
		snprintf(err, errlen, "[mesh] listen %s: tcp:// without TLS needs [mesh] "
			 "allow_insecure_tcp = true (tests only)", n->listen);
		goto fail;
	}
	metrics_mesh_set_insecure(metrics, !n->tls); /* and a warning once started */
	if ((rpc_transport_of(n->members.v[self].url) == RPC_TRANSPORT_TLS) != n->tls) {
		snprintf(err, errlen, "%s: members use %s but [mesh] listen is %s",
			 cfg->mesh_members_file, n->members.v[self].url, n->listen);
		goto fail;
	}
	snprintf(n->self_addr, sizeof(n->self_addr), "%s", n->members.v[self].url);
	if (cfg->mesh_advertise[0] && strcmp(cfg->mesh_advertise, n->self_addr) != 0)
		log_warn("mesh: [mesh] advertise %s differs from this host's URL in %s (%s): peers "
			 "dial the members file's URL", cfg->mesh_advertise, cfg->mesh_members_file,
			 n->self_addr);
	snprintf(n->ca_file, sizeof(n->ca_file), "%s", cfg->mesh_ca_file);
	snprintf(n->cert_file, sizeof(n->cert_file), "%s", cfg->mesh_cert_file);
	if (n->tls && (access(n->ca_file, R_OK) < 0 || access(n->cert_file, R_OK) < 0)) {
		snprintf(err, errlen, "[mesh] ca_file %s / cert_file %s: %s", n->ca_file,
			 n->cert_file, strerror(errno));
		goto fail;
	}
	if (n->tls && check_own_certificate(n->cert_file, n->self, err, errlen) < 0)
		goto fail;

	/* Fencing and Pacemaker. */
	n->fence = fence_runner_new(cfg->fencing_method, cfg->fencing_command,
				    cfg->fencing_timeout_s, err, errlen);
	if (!n->fence)
		goto fail;
	if (cfg->crm_mon_interval_s > 0) {
		snprintf(n->crm_mon_path, sizeof(n->crm_mon_path), "%s", cfg->crm_mon_path);
		n->crm_interval_ns = (uint64_t)cfg->crm_mon_interval_s * NS_PER_S;
		n->crm = proc_runner_new(1);
		if (!n->crm) {
			snprintf(err, errlen, "mesh: crm_mon runner: %s", strerror(errno));
			goto fail;
		}
		if (access(n->crm_mon_path, X_OK) < 0) {
			log_warn("mesh: %s: %s: no Pacemaker view (crm_mon); the mesh decides "
				 "without it", n->crm_mon_path, strerror(errno));
			n->crm_disabled = true;
		}
		crm_mon_init();
	}
	if (make_node(n, cfg, err, errlen) < 0)
		goto fail;
	if (cfg->mesh_refused_means_alive) {
		uint64_t every = (uint64_t)cfg->mesh_unreachable_window_ms * NS_PER_MS / 4;

		n->refusal_every_ns = every < REFUSAL_EVERY_MIN_NS ? REFUSAL_EVERY_MIN_NS
				      : every > REFUSAL_EVERY_MAX_NS ? REFUSAL_EVERY_MAX_NS : every;
		/* how long one refusal holds our observation (mesh/agreement.c) */
		n->refusal_hold_ns = 2 * (uint64_t)cfg->mesh_unreachable_window_ms * NS_PER_MS;
		n->refusal = refusal_probe_new(&n->members, n->self_idx, n->refusal_every_ns);
		if (!n->refusal) {
			snprintf(err, errlen, "mesh: refusal probes: %s", strerror(errno));
			goto fail;
		}
	}

	/* The loop's fds. */
	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	n->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	n->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->epfd < 0 || n->timerfd < 0 || n->evfd < 0 || epoll_add(n->epfd, n->timerfd) < 0 ||
	    epoll_add(n->epfd, n->evfd) < 0 || epoll_add(n->epfd, fence_runner_fd(n->fence)) < 0 ||
	    (n->crm && epoll_add(n->epfd, proc_runner_fd(n->crm)) < 0) ||
	    (n->refusal && epoll_add(n->epfd, refusal_probe_fd(n->refusal)) < 0)) {
		snprintf(err, errlen, "mesh: event loop: %s", strerror(errno));
		goto fail;
	}
	n->crm_next_ns = mono_ns() + NS_PER_S; /* first view a second after start */

	rc = thread_start_normal_priority(&n->thread, mesh_thread, n);
	if (rc != 0) {
		snprintf(err, errlen, "mesh: cannot start the mesh thread: %s", strerror(rc));
		goto fail;
	}
	n->thread_started = true;
	pthread_mutex_lock(&n->start_lock);
	while (n->start_state == 0)
		pthread_cond_wait(&n->start_cond, &n->start_lock);
	pthread_mutex_unlock(&n->start_lock);
	if (n->start_state < 0) {
		pthread_join(n->thread, NULL);
		snprintf(err, errlen, "%s", n->start_err);
		goto fail;
	}
	notifier_set_delivery_callback(notifier, on_delivery, n);
	metrics_mesh_enable(metrics);
	if (fence_runner_method(n->fence) == FENCE_METHOD_NONE)
		log_warn("mesh: [fencing] method = none: failed hosts are NOT fenced; their "
			 "COMPUTE_HOST notifications say host_status UNKNOWN");
	else if (fence_runner_method(n->fence) == FENCE_METHOD_PACEMAKER && !on_path("stonith_admin"))
		log_error("mesh: [fencing] method = pacemaker but stonith_admin is not on PATH "
			  "(%s): every fence will fail and failed hosts will not be notified",
			  getenv("PATH") ? getenv("PATH") : "unset");
	else if (fence_runner_method(n->fence) == FENCE_METHOD_COMMAND &&
		 access(cfg->fencing_command, X_OK) < 0)
		log_error("mesh: [fencing] command %s: %s: every fence will fail and failed hosts "
			  "will not be notified", cfg->fencing_command, strerror(errno));
	if (!n->refusal)
		log_warn("mesh: [mesh] refused_means_alive = false: a member whose host refuses "
			 "connections (its mimamorid crashed, the host is up) is treated like a "
			 "dead host: fenced and notified");
	if (!n->tls)
		log_warn("mesh: INSECURE: [mesh] listen is %s: peers are NOT authenticated (no TLS "
			 "certificate names); any process that reaches this port can speak for any "
			 "member. Use tls+tcp:// outside tests.", n->listen);
	log_info("mesh: %s listening on %s, %zu members (%s), fencing: %s, crm_mon: %s",
		 n->self, n->listen, n->members.n, n->tls ? "mutual TLS" : "plain TCP",
		 cfg->fencing_method,
		 !n->crm ? "off" : n->crm_disabled ? "unavailable" : n->crm_mon_path);
	note(n, "started: %zu members, fencing %s", n->members.n, cfg->fencing_method);
	return n;
fail:
	free_node(n);
	return NULL;
}

void mesh_node_stop(struct mesh_node *n)
{
	if (!n)
		return;
	/* No delivery callback runs once this returns. */
	notifier_set_delivery_callback(n->notifier, NULL, NULL);
	pthread_mutex_lock(&n->qlock);
	n->stop_requested = true;
	pthread_mutex_unlock(&n->qlock);
	wake(n);
	if (n->thread_started)
		pthread_join(n->thread, NULL);
	free_node(n);
}

int mesh_node_local_process_failed(struct mesh_node *n, const char *process, uint64_t ts_ns)
{
	struct ctl_item it = { .kind = CTL_PROCESS_FAILED, .ts_ns = ts_ns };

	if (!n)
		return 0;
	if (!process || !process[0] || strlen(process) >= sizeof(it.process))
		return -EINVAL;
	snprintf(it.process, sizeof(it.process), "%s", process);
	return ctl_push(n, &it) ? 0 : -EAGAIN;
}

size_t mesh_node_member_count(const struct mesh_node *n)
{
	return n ? n->members.n : 0;
}

long mesh_node_members(struct mesh_node *n, struct mesh_node_member *out, size_t max,
		       uint32_t timeout_ms)
{
	uint64_t until;
	struct timespec abs;
	size_t k;

	if (!n)
		return -EINVAL;
	/* Bounded: the caller is an RPC handler with a deadline. A view older
	 * than VIEW_STALE_NS means the mesh thread has not run its loop for
	 * that long: wait up to timeout_ms for a new one, then give an error
	 * rather than a view that may be long out of date. */
	until = mono_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	abs = timespec_of_ns(until);
	pthread_mutex_lock(&n->snap_lock);
	while (n->view_at == 0 || mono_ns() > n->view_at + VIEW_STALE_NS) {
		if (mono_ns() >= until ||
		    pthread_cond_timedwait(&n->snap_cond, &n->snap_lock, &abs) == ETIMEDOUT) {
			if (n->view_at != 0 && mono_ns() <= n->view_at + VIEW_STALE_NS)
				break;
			pthread_mutex_unlock(&n->snap_lock);
			return -ETIMEDOUT;
		}
	}
	k = n->members.n < max ? n->members.n : max;
	memcpy(out, n->view_buf[n->view_cur], k * sizeof(*out));
	pthread_mutex_unlock(&n->snap_lock);
	return (long)k;
}
