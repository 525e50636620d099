/* See server.h. Each worker loops: receive on its context, serve, send
 * the reply on the same context, blocking on its own aio; nng's threads
 * only move bytes. */
#include "rpc/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/ipc/ipc.h>

#include "base/units.h"
#include "os/clock.h"
#include "os/threads.h"
#include "rpc/envelope.h"
#include "rpc/message.h"
#include "rpc/pipe_set.h"
#include "base/text.h"

#define ARENA_ALIGN 16

struct worker;

struct rpc_call {
	struct worker *w;
	const char *method; /* the request's, validated */
	uint64_t call_id;
	uint64_t deadline_ns;
	nng_pipe pipe;
	bool peer_resolved;
	struct rpc_peer peer;
	struct rpc_status status;
};

struct worker {
	struct rpc_server *s;
	pthread_t thread;
	bool thread_started;
	bool ctx_open;
	nng_ctx ctx;
	nng_aio *aio;
	uint8_t *arena;
	size_t arena_size;
	size_t arena_used;
	struct rpc_call call;
};

struct rpc_server {
	nng_socket sock;
	bool sock_open;
	nng_listener listener;
	bool listening;
	enum rpc_transport transport;
	const ProtobufCServiceDescriptor *svc;
	rpc_handler_fn *handlers; /* svc->n_methods entries, NULL = none */
	void *ctx;
	size_t max_msg;
	uint32_t max_handler_ms;
	uint32_t send_timeout_ms;
	atomic_bool closing;

	struct rpc_pipe_set pipes; /* admitted, at most max_connections */

	_Atomic uint64_t calls;
	_Atomic uint64_t by_code[RPC_CODE_MAX + 1];
	_Atomic uint64_t refused;

	uint32_t n_workers;
	struct worker *workers;
};

/* ---- the call's arena and context ---- */

void *rpc_call_alloc(struct rpc_call *call, size_t size)
{
	assert(call != NULL && call->w != NULL);
	struct worker *w = call->w;
	size_t off = (w->arena_used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (off > w->arena_size || size > w->arena_size - off)
		return NULL;
	void *p = w->arena + off;
	w->arena_used = off + size;
	memset(p, 0, size);
	return p;
}

char *rpc_call_strndup(struct rpc_call *call, const char *s, size_t maxlen)
{
	if (s == NULL)
		return NULL;
	size_t n = strnlen(s, maxlen);
	char *d = rpc_call_alloc(call, n + 1);
	if (d != NULL)
		text_sanitize(d, n + 1, s, n);
	return d;
}

char *rpc_call_strdup(struct rpc_call *call, const char *s)
{
	return s == NULL ? NULL : rpc_call_strndup(call, s, strlen(s));
}

void *rpc_call_message_new(struct rpc_call *call, const ProtobufCMessageDescriptor *desc)
{
	assert(desc != NULL && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
	void *m = rpc_call_alloc(call, desc->sizeof_message);
	if (m != NULL)
		protobuf_c_message_init(desc, m);
	return m;
}

uint32_t rpc_call_error(struct rpc_call *call, uint32_t code, const char *fmt, ...)
{
	assert(call != NULL);
	va_list ap;
	va_start(ap, fmt);
	rpc_status_vset(&call->status, code, fmt, ap);
	va_end(ap);
	return code;
}

const char *rpc_call_method(const struct rpc_call *call)
{
	return call->method;
}

uint64_t rpc_call_id(const struct rpc_call *call)
{
	return call->call_id;
}

int64_t rpc_call_remaining_ms(const struct rpc_call *call)
{
	uint64_t now = mono_ns();
	if (now >= call->deadline_ns)
		return -(int64_t)((now - call->deadline_ns) / NS_PER_MS);
	return (int64_t)((call->deadline_ns - now) / NS_PER_MS);
}

static void format_addr(const nng_sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->s_family == NNG_AF_INET) {
		inet_ntop(AF_INET, &sa->s_in.sa_addr, host, sizeof(host));
		port = ntohs(sa->s_in.sa_port);
		snprintf(out, outlen, "%s:%u", host, port);
	} else if (sa->s_family == NNG_AF_INET6) {
		inet_ntop(AF_INET6, sa->s_in6.sa_addr, host, sizeof(host));
		port = ntohs(sa->s_in6.sa_port);
		snprintf(out, outlen, "[%s]:%u", host, port);
	} else {
		snprintf(out, outlen, "?");
	}
}

const struct rpc_peer *rpc_call_peer(struct rpc_call *call)
{
	assert(call != NULL && call->w != NULL);
	struct rpc_peer *p = &call->peer;
	if (call->peer_resolved)
		return p;
	call->peer_resolved = true;
	p->transport = call->w->s->transport;
	if (p->transport == RPC_TRANSPORT_IPC) {
		uint64_t uid, gid, pid;
		if (nng_pipe_get_uint64(call->pipe, NNG_OPT_IPC_PEER_UID, &uid) == 0 &&
		    nng_pipe_get_uint64(call->pipe, NNG_OPT_IPC_PEER_GID, &gid) == 0 &&
		    nng_pipe_get_uint64(call->pipe, NNG_OPT_IPC_PEER_PID, &pid) == 0) {
			p->has_cred = true;
			p->uid = (uint32_t)uid;
			p->gid = (uint32_t)gid;
			p->pid = (int32_t)pid;
		}
		return p;
	}
	nng_sockaddr sa;
	if (nng_pipe_get_addr(call->pipe, NNG_OPT_REMADDR, &sa) == 0)
		format_addr(&sa, p->addr, sizeof(p->addr));
	if (p->transport == RPC_TRANSPORT_TLS && rpc_tls_peer_name(call->pipe, p->name) != 0)
		p->name[0] = '\0';
	return p;
}

/* ---- serving one request ---- */

/* Runs one call up to the packed size of its reply. On RPC_OK, *reply is
 * the handler's reply (in the arena) and *reply_len its packed size. */
static uint32_t dispatch(struct worker *w, const uint8_t *data, size_t len, uint64_t t0,
			 Mimamori__RpcRequest **env, ProtobufCMessage **req,
			 const ProtobufCMessage **reply, size_t *reply_len)
{
	struct rpc_server *s = w->s;
	struct rpc_call *call = &w->call;
	struct rpc_status *st = &call->status;

	/* nng closes a pipe refused in its ADD_PRE callback asynchronously: a
	 * request can still slip through, and must not be served. */
	if (!rpc_pipe_set_contains(&s->pipes, (uint32_t)nng_pipe_id(call->pipe)))
		return rpc_status_set(st, RPC_UNAVAILABLE, "connection refused: limit reached");

	uint32_t code = rpc_request_decode(data, len, s->max_msg, env, st);
	if (code != RPC_OK)
		return code;
	call->call_id = (*env)->call_id;
	call->method = (*env)->method;

	unsigned index;
	const ProtobufCMethodDescriptor *m = rpc_method_lookup(s->svc, call->method, &index);
	if (m == NULL || s->handlers[index] == NULL)
		return rpc_status_set(st, RPC_UNIMPLEMENTED, "unknown method %s", call->method);

	uint64_t budget_ms = s->max_handler_ms;
	if ((*env)->has_deadline_ms) {
		if ((*env)->deadline_ms == 0)
			return rpc_status_set(st, RPC_DEADLINE_EXCEEDED,
					      "deadline passed before the call started");
		if ((*env)->deadline_ms < budget_ms)
			budget_ms = (*env)->deadline_ms;
	}
	call->deadline_ns = t0 + budget_ms * NS_PER_MS;

	size_t unpack_budget = RPC_UNPACK_BUDGET_FACTOR * s->max_msg;
	code = rpc_message_unpack(m->input, (*env)->body.data, (*env)->has_body ? (*env)->body.len : 0,
				  unpack_budget, req, st);
	if (code != RPC_OK)
		return code;

	ProtobufCMessage *out = rpc_call_message_new(call, m->output);
	assert(out != NULL); /* the arena is far larger than any message struct */
	code = s->handlers[index](s->ctx, call, *req, out);
	if (code > RPC_CODE_MAX)
		return rpc_status_set(st, RPC_INTERNAL, "handler returned code %u", code);

	uint64_t t1 = mono_ns();
	if (t1 > call->deadline_ns)
		return rpc_status_set(st, RPC_DEADLINE_EXCEEDED,
				      "handler took %llu ms of a %llu ms budget",
				      (unsigned long long)((t1 - t0) / NS_PER_MS),
				      (unsigned long long)budget_ms);
	if (code != RPC_OK) {
		st->code = code;
		return code;
	}
	struct rpc_status why;
	if (rpc_message_validate(out, &why) != RPC_OK)
		return rpc_status_set(st, RPC_INTERNAL, "handler's reply: %s", why.message);
	size_t n = protobuf_c_message_get_packed_size(out);
	if (n > rpc_max_body(s->max_msg))
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED,
				      "reply of %zu bytes exceeds the %zu byte limit", n,
				      rpc_max_body(s->max_msg));
	*reply = out;
	*reply_len = n;
	return RPC_OK;
}

/* The reply message for one request, or NULL when nng cannot allocate one
 * (the client then runs into its deadline). */
static nng_msg *serve(struct worker *w, nng_msg *req_msg)
{
	struct rpc_server *s = w->s;
	uint64_t t0 = mono_ns();
	w->arena_used = 0;
	w->call = (struct rpc_call){.w = w, .method = "", .pipe = nng_msg_get_pipe(req_msg)};
	w->call.deadline_ns = t0 + (uint64_t)s->max_handler_ms * NS_PER_MS;

	Mimamori__RpcRequest *env = NULL;
	ProtobufCMessage *req = NULL;
	const ProtobufCMessage *reply = NULL;
	size_t reply_len = 0;
	uint32_t code = dispatch(w, nng_msg_body(req_msg), nng_msg_len(req_msg), t0, &env, &req,
				 &reply, &reply_len);
	assert(code <= RPC_CODE_MAX);
	assert(code == RPC_OK || reply == NULL);

	struct rpc_reply_head head = {
		.call_id = w->call.call_id,
		.code = code,
		.message = code == RPC_OK ? NULL : w->call.status.message,
	};
	size_t size = rpc_reply_size(&head, reply_len);
	assert(size <= s->max_msg);
	nng_msg *out = NULL;
	if (nng_msg_alloc(&out, size) == 0)
		rpc_reply_pack(&head, reply, reply_len, nng_msg_body(out));
	else
		out = NULL;

	rpc_message_free(req);
	if (env != NULL)
		rpc_message_free(&env->base);
	atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->by_code[code], 1, memory_order_relaxed);
	return out;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct rpc_server *s = w->s;
	for (;;) {
		nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		int rv = nng_aio_result(w->aio);
		if (atomic_load(&s->closing) || rv == NNG_ECLOSED) {
			if (rv == 0)
				nng_msg_free(nng_aio_get_msg(w->aio));
			break;
		}
		if (rv != 0)
			continue; /* ENOMEM and the like: transient, keep serving */
		nng_msg *req = nng_aio_get_msg(w->aio);
		nng_msg *rep = serve(w, req);
		nng_msg_free(req);
		if (rep == NULL)
			continue;
		/* Bounded: a client that does not read must not hold a worker. */
		nng_aio_set_msg(w->aio, rep);
		nng_aio_set_timeout(w->aio, (nng_duration)s->send_timeout_ms);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if (nng_aio_result(w->aio) != 0)
			nng_msg_free(rep); /* not taken by nng */
	}
	return NULL;
}

/* ---- connections ---- */

static void pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct rpc_server *s = arg;
	uint32_t id = (uint32_t)nng_pipe_id(pipe);
	if (ev == NNG_PIPE_EV_REM_POST) {
		rpc_pipe_set_remove(&s->pipes, id); /* refused ones were never added */
		return;
	}
	assert(ev == NNG_PIPE_EV_ADD_PRE);
	if (!rpc_pipe_set_add(&s->pipes, id)) {
		atomic_fetch_add_explicit(&s->refused, 1, memory_order_relaxed);
		nng_pipe_close(pipe);
	}
}

/* ---- life cycle ---- */

void rpc_server_stop(struct rpc_server *s)
{
	if (s == NULL || atomic_exchange(&s->closing, true))
		return;
	/* Stopping a worker's aio aborts its pending receive or send and fails
	 * its next one at once: each worker wakes, sees closing and leaves
	 * (after its handler, if in one). Its context stays open until
	 * rpc_server_close has freed the aio (see there). */
	for (uint32_t i = 0; i < s->n_workers; i++) {
		if (s->workers[i].aio != NULL)
			nng_aio_stop(s->workers[i].aio);
	}
	for (uint32_t i = 0; i < s->n_workers; i++) {
		if (s->workers[i].thread_started) {
			pthread_join(s->workers[i].thread, NULL);
			s->workers[i].thread_started = false;
		}
	}
}

void rpc_server_close(struct rpc_server *s)
{
	if (s == NULL)
		return;
	rpc_server_stop(s);
	/* Each aio before its context, and both before the socket:
	 * nng_aio_free waits for nng's timer thread, which may still be in a
	 * timed-out send's cancel function, using the context and socket
	 * (see release_finished in client.c). */
	for (uint32_t i = 0; i < s->n_workers; i++) {
		struct worker *w = &s->workers[i];
		if (w->aio != NULL)
			nng_aio_free(w->aio);
		w->aio = NULL;
		if (w->ctx_open)
			nng_ctx_close(w->ctx);
		w->ctx_open = false;
		free(w->arena);
	}
	if (s->sock_open)
		nng_close(s->sock); /* also closes the listener and its pipes */
	free(s->workers);
	free(s->handlers);
	rpc_pipe_set_fini(&s->pipes);
	free(s);
}

static int resolve_handlers(struct rpc_server *s, const struct rpc_handler *handlers,
			    size_t n_handlers, char *err, size_t errlen)
{
	const ProtobufCServiceDescriptor *svc = s->svc;
	for (unsigned i = 0; i < svc->n_methods; i++) {
		char name[RPC_MAX_METHOD + 1];
		if (!rpc_method_name(svc, i, name)) {
			snprintf(err, errlen, "%s: method %s has no valid wire name", svc->name,
				 svc->methods[i].name);
			return NNG_EINVAL;
		}
	}
	for (size_t i = 0; i < n_handlers; i++) {
		const ProtobufCMethodDescriptor *m =
			handlers[i].method != NULL
				? protobuf_c_service_descriptor_get_method_by_name(svc, handlers[i].method)
				: NULL;
		if (m == NULL || handlers[i].fn == NULL) {
			snprintf(err, errlen, "%s has no method %s", svc->name,
				 handlers[i].method != NULL ? handlers[i].method : "(null)");
			return NNG_EINVAL;
		}
		size_t index = (size_t)(m - svc->methods);
		if (s->handlers[index] != NULL) {
			snprintf(err, errlen, "%s: two handlers for %s", svc->name, m->name);
			return NNG_EINVAL;
		}
		s->handlers[index] = handlers[i].fn;
	}
	return 0;
}

static int server_fail(struct rpc_server *s, int rv, const char *what, char *err, size_t errlen)
{
	if (what != NULL)
		snprintf(err, errlen, "rpc server: %s: %s", what, nng_strerror(rv));
	rpc_server_close(s);
	return rv;
}

int rpc_server_new(struct rpc_server **out, const char *url, const ProtobufCServiceDescriptor *svc,
		   const struct rpc_handler *handlers, size_t n_handlers, void *ctx,
		   const struct rpc_server_opts *opts, char *err, size_t errlen)
{
	assert(out != NULL && svc != NULL && svc->magic == PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC);
	assert(handlers != NULL || n_handlers == 0);
	*out = NULL;
	static const struct rpc_server_opts defaults;
	if (opts == NULL)
		opts = &defaults;
	size_t max_msg = opts->max_msg != 0 ? opts->max_msg : RPC_DEFAULT_MAX_MSG;
	uint32_t workers = opts->workers != 0 ? opts->workers : RPC_DEFAULT_WORKERS;
	uint32_t max_conns = opts->max_connections != 0 ? opts->max_connections
							 : RPC_DEFAULT_MAX_CONNECTIONS;
	if (max_msg < RPC_MIN_MAX_MSG || max_msg > RPC_MAX_MAX_MSG || workers > RPC_MAX_WORKERS ||
	    max_conns > RPC_MAX_CONNECTIONS ||
	    (opts->max_handler_ms != 0 && opts->max_handler_ms > RPC_MAX_DEADLINE_MS) ||
	    (opts->ipc_mode & ~0777u) != 0) {
		snprintf(err, errlen, "rpc server: option out of range");
		return NNG_EINVAL;
	}

	struct rpc_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "rpc server: out of memory");
		return NNG_ENOMEM;
	}
	atomic_init(&s->closing, false);
	s->svc = svc;
	s->ctx = ctx;
	s->transport = rpc_transport_of(url);
	s->max_msg = max_msg;
	s->max_handler_ms = opts->max_handler_ms != 0 ? opts->max_handler_ms
						      : RPC_DEFAULT_MAX_HANDLER_MS;
	s->send_timeout_ms = opts->send_timeout_ms != 0 ? opts->send_timeout_ms
							: RPC_DEFAULT_SEND_TIMEOUT_MS;
	s->handlers = calloc(svc->n_methods > 0 ? svc->n_methods : 1, sizeof(*s->handlers));
	s->workers = calloc(workers, sizeof(*s->workers));
	if (s->handlers == NULL || s->workers == NULL ||
	    rpc_pipe_set_init(&s->pipes, max_conns) != 0)
		return server_fail(s, NNG_ENOMEM, "allocation", err, errlen);
	s->n_workers = workers;

	int rv;
	if ((rv = resolve_handlers(s, handlers, n_handlers, err, errlen)) != 0)
		return server_fail(s, rv, NULL, err, errlen);
	if (s->transport == 0) {
		snprintf(err, errlen, "%s: only ipc://, tcp:// and tls+tcp:// are offered",
			 url != NULL ? url : "(null)");
		return server_fail(s, NNG_ENOTSUP, NULL, err, errlen);
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0)
		return server_fail(s, rv, "open REP socket", err, errlen);
	s->sock_open = true;
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0)
		return server_fail(s, rv, "set recv-size-max", err, errlen);
	if ((rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, pipe_event, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_event, s)) != 0)
		return server_fail(s, rv, "pipe notify", err, errlen);

	/* Arenas and contexts are made up front: no allocation per call
	 * beyond what nng and protobuf-c do. */
	for (uint32_t i = 0; i < workers; i++) {
		struct worker *w = &s->workers[i];
		w->s = s;
		w->arena_size = RPC_ARENA_FACTOR * max_msg;
		if ((w->arena = malloc(w->arena_size)) == NULL)
			return server_fail(s, NNG_ENOMEM, "allocation", err, errlen);
		if ((rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0)
			return server_fail(s, rv, "allocate aio", err, errlen);
		if ((rv = nng_ctx_open(&w->ctx, s->sock)) != 0)
			return server_fail(s, rv, "open context", err, errlen);
		w->ctx_open = true;
	}

	struct rpc_listen_opts lo = {
		.max_msg = max_msg,
		.ipc_mode = opts->ipc_mode != 0 ? opts->ipc_mode : 0660,
		.ipc_group = opts->ipc_group,
		.tls = opts->tls,
	};
	if ((rv = rpc_listen(s->sock, url, &lo, &s->listener, err, errlen)) != 0)
		return server_fail(s, rv, NULL, err, errlen);
	s->listening = true;

	for (uint32_t i = 0; i < workers; i++) {
		struct worker *w = &s->workers[i];
		if ((rv = thread_start_normal_priority(&w->thread, worker_main, w)) != 0) {
			snprintf(err, errlen, "rpc server: start worker: %s", strerror(rv));
			return server_fail(s, NNG_ENOMEM, NULL, err, errlen);
		}
		w->thread_started = true;
	}
	*out = s;
	return 0;
}

int rpc_server_port(const struct rpc_server *s)
{
	int port;
	if (!s->listening || nng_listener_get_int(s->listener, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
		return -1;
	return port;
}

void rpc_server_get_stats(const struct rpc_server *s, struct rpc_server_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->calls = atomic_load_explicit(&s->calls, memory_order_relaxed);
	for (unsigned i = 0; i <= RPC_CODE_MAX; i++)
		out->by_code[i] = atomic_load_explicit(&s->by_code[i], memory_order_relaxed);
	out->connections_refused = atomic_load_explicit(&s->refused, memory_order_relaxed);
}
