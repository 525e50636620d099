/* See client.h. A call is: pack (prepare), send on a fresh REQ context
 * with the deadline as timeout, receive with what is left of it, decode
 * (finish). The blocking call waits on its aio; the asynchronous one
 * chains the same steps in the aio's callback. */
#include "rpc/client.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "base/units.h"
#include "os/clock.h"
#include "rpc/envelope.h"
#include "rpc/message.h"
#include "rpc/pipe_set.h"

/* A dialer has one connection at a time; a few may overlap while one
 * closes and the next opens. */
#define CLIENT_PIPES 8
#define URL_MAX 1024

struct rpc_client {
	nng_socket sock;
	bool sock_open;
	nng_dialer dialer;
	char url[URL_MAX];
	size_t max_msg;
	uint32_t max_inflight;
	_Atomic uint64_t next_call_id;
	struct rpc_pipe_set pipes;

	pthread_mutex_t lock;
	pthread_cond_t idle; /* inflight reached 0, or a call joined finished */
	uint32_t inflight;   /* calls started and not yet released */
	bool closing;
	/* Asynchronous calls whose callback has run, waiting for
	 * release_finished() to free their aio and then their context (see
	 * async_finish). */
	struct async_call *finished;
};

/* A call between packing and decoding. */
struct prepared {
	const ProtobufCMethodDescriptor *m;
	nng_msg *msg; /* the request, until nng takes it */
	uint64_t call_id;
	uint64_t deadline_ns;
	uint32_t deadline_ms;
};

struct async_call {
	struct rpc_client *c;
	struct prepared p;
	nng_ctx ctx;
	nng_aio *aio;
	bool receiving;
	rpc_done_fn done;
	void *arg;
	struct async_call *next; /* in c->finished */
};

bool rpc_client_connected(const struct rpc_client *c)
{
	return rpc_pipe_set_count((struct rpc_pipe_set *)&c->pipes) > 0;
}

static void pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct rpc_client *c = arg;
	uint32_t id = (uint32_t)nng_pipe_id(pipe);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		if (!rpc_pipe_set_add(&c->pipes, id))
			nng_pipe_close(pipe); /* more than a dialer ever makes */
	} else {
		rpc_pipe_set_remove(&c->pipes, id);
	}
}

/* Packs the request. On RPC_OK p->msg is ours to send or free. */
static uint32_t prepare(struct rpc_client *c, const ProtobufCServiceDescriptor *svc,
			const char *method, const ProtobufCMessage *req, uint32_t deadline_ms,
			struct prepared *p, struct rpc_status *st)
{
	assert(svc != NULL && svc->magic == PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC);
	*p = (struct prepared){0};
	if (deadline_ms == 0)
		return rpc_status_set(st, RPC_DEADLINE_EXCEEDED, "deadline passed before the call");
	if (deadline_ms > RPC_MAX_DEADLINE_MS)
		return rpc_status_set(st, RPC_INVALID_ARGUMENT, "deadline of %u ms exceeds %u ms",
				      deadline_ms, RPC_MAX_DEADLINE_MS);
	const ProtobufCMethodDescriptor *m =
		method != NULL ? protobuf_c_service_descriptor_get_method_by_name(svc, method) : NULL;
	if (m == NULL)
		return rpc_status_set(st, RPC_UNIMPLEMENTED, "%s has no method %s", svc->name,
				      method != NULL ? method : "(null)");
	if (req == NULL || req->descriptor != m->input)
		return rpc_status_set(st, RPC_INVALID_ARGUMENT, "%s/%s takes a %s", svc->name,
				      m->name, m->input->name);
	char name[RPC_MAX_METHOD + 1];
	if (!rpc_method_name(svc, (unsigned)(m - svc->methods), name))
		return rpc_status_set(st, RPC_INVALID_ARGUMENT, "%s/%s: name too long", svc->name,
				      m->name);
	size_t body_len = protobuf_c_message_get_packed_size(req);
	if (body_len > rpc_max_body(c->max_msg))
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED,
				      "request of %zu bytes exceeds the %zu byte limit", body_len,
				      rpc_max_body(c->max_msg));
	/* The server gets a little less than we wait, so that its answer,
	 * DEADLINE_EXCEEDED included, is back before we give up: the caller
	 * learns what happened, and no reply arrives after its call is gone
	 * (see rpc_client_close). */
	uint32_t margin = deadline_ms / 10 < RPC_DEADLINE_MARGIN_MS ? deadline_ms / 10
								   : RPC_DEADLINE_MARGIN_MS;
	struct rpc_request_head head = {
		.call_id = atomic_fetch_add_explicit(&c->next_call_id, 1, memory_order_relaxed),
		.method = name,
		.has_deadline = true,
		.deadline_ms = deadline_ms - margin,
	};
	size_t size = rpc_request_size(&head, body_len);
	assert(size <= c->max_msg);
	if (nng_msg_alloc(&p->msg, size) != 0)
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
	rpc_request_pack(&head, req, body_len, nng_msg_body(p->msg));
	p->m = m;
	p->call_id = head.call_id;
	p->deadline_ms = deadline_ms;
	p->deadline_ns = mono_ns() + (uint64_t)deadline_ms * NS_PER_MS;
	return RPC_OK;
}

static uint32_t from_nng(struct rpc_client *c, const struct prepared *p, int rv,
			 struct rpc_status *st)
{
	switch (rv) {
	case NNG_ETIMEDOUT:
		if (!rpc_client_connected(c))
			return rpc_status_set(st, RPC_UNAVAILABLE, "not connected to %s", c->url);
		return rpc_status_set(st, RPC_DEADLINE_EXCEEDED, "no reply within %u ms",
				      p->deadline_ms);
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return rpc_status_set(st, RPC_CANCELLED, "client closed");
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_ECONNREFUSED:
	case NNG_ECONNABORTED:
	case NNG_EUNREACHABLE:
	case NNG_EPEERAUTH:
	case NNG_ECRYPTO:
		return rpc_status_set(st, RPC_UNAVAILABLE, "%s: %s", c->url, nng_strerror(rv));
	case NNG_ENOMEM:
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
	default:
		return rpc_status_set(st, RPC_UNKNOWN, "%s: %s", c->url, nng_strerror(rv));
	}
}

/* Turns the outcome of the exchange (rv, and the reply when rv is 0) into
 * the call's status and reply. Frees nothing it was given. */
static uint32_t finish(struct rpc_client *c, const struct prepared *p, int rv,
		       nng_msg *reply_msg, ProtobufCMessage **reply, struct rpc_status *st)
{
	*reply = NULL;
	if (rv != 0)
		return from_nng(c, p, rv, st);
	assert(reply_msg != NULL);
	struct rpc_status why;
	Mimamori__RpcReply *env;
	if (rpc_reply_decode(nng_msg_body(reply_msg), nng_msg_len(reply_msg), c->max_msg, &env,
			     &why) != RPC_OK)
		return rpc_status_set(st, RPC_INTERNAL, "malformed reply: %s", why.message);
	uint32_t code;
	if (env->call_id != p->call_id && !(env->call_id == 0 && env->code != RPC_OK)) {
		/* call_id 0 with an error: the server could not read the request. */
		code = rpc_status_set(st, RPC_INTERNAL, "reply to call %llu, expected %llu",
				      (unsigned long long)env->call_id,
				      (unsigned long long)p->call_id);
	} else if (env->code > RPC_CODE_MAX) {
		code = rpc_status_set(st, RPC_UNKNOWN, "server sent code %u: %s", env->code,
				      env->message != NULL ? env->message : "");
	} else if (env->code != RPC_OK) {
		code = rpc_status_set(st, env->code, "%s", env->message != NULL ? env->message : "");
	} else {
		code = rpc_message_unpack(p->m->output, env->body.data,
					  env->has_body ? env->body.len : 0,
					  RPC_UNPACK_BUDGET_FACTOR * c->max_msg, reply, &why);
		if (code != RPC_OK)
			code = rpc_status_set(st, RPC_INTERNAL, "reply: %s", why.message);
		else
			rpc_status_set(st, RPC_OK, "%s", "");
	}
	rpc_message_free(&env->base);
	return code;
}

/* Frees the asynchronous calls that have finished: each aio first, then
 * its context. nng_aio_free waits for the aio's callback to return and
 * for nng's timer thread (nng:aio:expire) to be done with the aio: that
 * thread takes an expiring aio's cancel function and argument (our
 * context) under its lock and calls it after dropping the lock, so a reply
 * can complete the call in between; closing the context before then let
 * nng read the freed context and lock a mutex through it. Runs on the
 * callers' threads, never in an nng callback (nng_aio_free would wait for
 * itself there). */
static void release_finished(struct rpc_client *c)
{
	pthread_mutex_lock(&c->lock);
	struct async_call *a = c->finished;
	c->finished = NULL;
	pthread_mutex_unlock(&c->lock);
	if (a == NULL)
		return;
	uint32_t n = 0;
	while (a != NULL) {
		struct async_call *next = a->next;
		nng_aio_free(a->aio);
		nng_ctx_close(a->ctx);
		free(a);
		n++;
		a = next;
	}
	pthread_mutex_lock(&c->lock);
	assert(c->inflight >= n);
	c->inflight -= n;
	if (c->inflight == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
}

/* Admits a call and opens its context under the lock, so that no context
 * is opened on a socket rpc_client_close has already closed. */
static uint32_t call_begin(struct rpc_client *c, nng_ctx *ctx, struct rpc_status *st)
{
	uint32_t code = RPC_OK;
	release_finished(c); /* they count against max_inflight until then */
	pthread_mutex_lock(&c->lock);
	if (c->closing) {
		code = rpc_status_set(st, RPC_CANCELLED, "client closed");
	} else if (c->inflight >= c->max_inflight) {
		code = rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "%u calls in flight",
				      c->inflight);
	} else {
		int rv = nng_ctx_open(ctx, c->sock);
		if (rv != 0)
			code = rpc_status_set(st, rv == NNG_ENOMEM ? RPC_RESOURCE_EXHAUSTED : RPC_INTERNAL,
					      "open context: %s", nng_strerror(rv));
		else
			c->inflight++;
	}
	pthread_mutex_unlock(&c->lock);
	return code;
}

/* For rpc_call, whose aio is freed (nng_aio_free: see release_finished)
 * before this closes the context. */
static void call_end(struct rpc_client *c, nng_ctx ctx)
{
	nng_ctx_close(ctx); /* abandons the request if no reply came */
	pthread_mutex_lock(&c->lock);
	assert(c->inflight > 0);
	if (--c->inflight == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
}

static nng_duration remaining_ms(const struct prepared *p)
{
	uint64_t now = mono_ns();
	if (now >= p->deadline_ns)
		return 0;
	return (nng_duration)((p->deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS);
}

uint32_t rpc_call(struct rpc_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
		  const ProtobufCMessage *req, ProtobufCMessage **reply, uint32_t deadline_ms,
		  struct rpc_status *st)
{
	assert(c != NULL && reply != NULL);
	*reply = NULL;
	struct prepared p;
	uint32_t code = prepare(c, svc, method, req, deadline_ms, &p, st);
	if (code != RPC_OK)
		return code;
	nng_aio *aio;
	int rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0) {
		nng_msg_free(p.msg);
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	nng_ctx ctx;
	if ((code = call_begin(c, &ctx, st)) != RPC_OK) {
		nng_msg_free(p.msg);
		nng_aio_free(aio);
		return code;
	}
	nng_aio_set_msg(aio, p.msg);
	nng_aio_set_timeout(aio, (nng_duration)deadline_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	nng_msg *reply_msg = NULL;
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(p.msg); /* not taken by nng */
	} else {
		nng_duration left = remaining_ms(&p);
		if (left == 0) {
			rv = NNG_ETIMEDOUT;
		} else {
			nng_aio_set_timeout(aio, left);
			nng_ctx_recv(ctx, aio);
			nng_aio_wait(aio);
			if ((rv = nng_aio_result(aio)) == 0)
				reply_msg = nng_aio_get_msg(aio);
		}
	}
	code = finish(c, &p, rv, reply_msg, reply, st);
	if (reply_msg != NULL)
		nng_msg_free(reply_msg);
	nng_aio_free(aio);
	call_end(c, ctx);
	return code;
}

static void async_finish(struct async_call *a, int rv, nng_msg *reply_msg)
{
	struct rpc_client *c = a->c;
	struct rpc_status st;
	ProtobufCMessage *reply;
	finish(c, &a->p, rv, reply_msg, &reply, &st);
	if (reply_msg != NULL)
		nng_msg_free(reply_msg);
	a->done(a->arg, &st, reply);
	/* Neither the aio (this is its callback) nor the context (nng's timer
	 * thread may still be using it) can be freed here: the next call or
	 * rpc_client_close does it (release_finished). */
	pthread_mutex_lock(&c->lock);
	a->next = c->finished;
	c->finished = a;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	/* Last: rpc_client_close may free a and c from here on. */
}

static void async_step(void *arg)
{
	struct async_call *a = arg;
	int rv = nng_aio_result(a->aio);
	if (a->receiving) {
		async_finish(a, rv, rv == 0 ? nng_aio_get_msg(a->aio) : NULL);
		return;
	}
	if (rv != 0) {
		nng_msg_free(a->p.msg); /* not taken by nng */
		async_finish(a, rv, NULL);
		return;
	}
	nng_duration left = remaining_ms(&a->p);
	if (left == 0) {
		async_finish(a, NNG_ETIMEDOUT, NULL);
		return;
	}
	a->receiving = true;
	nng_aio_set_timeout(a->aio, left);
	nng_ctx_recv(a->ctx, a->aio);
}

uint32_t rpc_call_async(struct rpc_client *c, const ProtobufCServiceDescriptor *svc,
			const char *method, const ProtobufCMessage *req, uint32_t deadline_ms,
			rpc_done_fn done, void *arg, struct rpc_status *st)
{
	assert(c != NULL && done != NULL);
	struct async_call *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
	uint32_t code = prepare(c, svc, method, req, deadline_ms, &a->p, st);
	if (code != RPC_OK) {
		free(a);
		return code;
	}
	if (nng_aio_alloc(&a->aio, async_step, a) != 0) {
		nng_msg_free(a->p.msg);
		free(a);
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	if ((code = call_begin(c, &a->ctx, st)) != RPC_OK) {
		nng_msg_free(a->p.msg);
		nng_aio_free(a->aio);
		free(a);
		return code;
	}
	a->c = c;
	a->done = done;
	a->arg = arg;
	nng_aio_set_msg(a->aio, a->p.msg);
	nng_aio_set_timeout(a->aio, (nng_duration)deadline_ms);
	nng_ctx_send(a->ctx, a->aio);
	return rpc_status_set(st, RPC_OK, "%s", "");
}

void rpc_client_close(struct rpc_client *c)
{
	if (c == NULL)
		return;
	/* Calls in flight finish first, by their reply or their deadline:
	 * closing a REQ socket while a reply arrives can hang nng 1.5.2's
	 * reaper for good (its pipe's receive is re-armed as it stops; fixed
	 * upstream in 1.8). Only a reply later than its call's deadline can
	 * still race the close below. */
	pthread_mutex_lock(&c->lock);
	c->closing = true;
	for (;;) {
		if (c->finished != NULL) {
			pthread_mutex_unlock(&c->lock);
			release_finished(c);
			pthread_mutex_lock(&c->lock);
		} else if (c->inflight > 0) {
			pthread_cond_wait(&c->idle, &c->lock);
		} else {
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (c->sock_open)
		nng_close(c->sock);
	rpc_pipe_set_fini(&c->pipes);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int rpc_client_new(struct rpc_client **out, const char *url, const struct rpc_client_opts *opts,
		   char *err, size_t errlen)
{
	assert(out != NULL);
	*out = NULL;
	static const struct rpc_client_opts defaults;
	if (opts == NULL)
		opts = &defaults;
	struct rpc_dial_opts d = {
		.max_msg = opts->max_msg != 0 ? opts->max_msg : RPC_DEFAULT_MAX_MSG,
		.reconnect_min_ms = opts->reconnect_min_ms != 0 ? opts->reconnect_min_ms
								: RPC_DEFAULT_RECONNECT_MIN_MS,
		.reconnect_max_ms = opts->reconnect_max_ms != 0 ? opts->reconnect_max_ms
								: RPC_DEFAULT_RECONNECT_MAX_MS,
		.tls = opts->tls,
	};
	uint32_t max_inflight = opts->max_inflight != 0 ? opts->max_inflight
							: RPC_DEFAULT_MAX_INFLIGHT;
	if (url == NULL || strlen(url) >= URL_MAX || d.max_msg < RPC_MIN_MAX_MSG ||
	    d.max_msg > RPC_MAX_MAX_MSG || d.reconnect_min_ms > d.reconnect_max_ms) {
		snprintf(err, errlen, "rpc client: option out of range");
		return NNG_EINVAL;
	}
	struct rpc_client *c = calloc(1, sizeof(*c));
	if (c == NULL || rpc_pipe_set_init(&c->pipes, CLIENT_PIPES) != 0) {
		free(c);
		snprintf(err, errlen, "rpc client: out of memory");
		return NNG_ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	snprintf(c->url, sizeof(c->url), "%s", url);
	c->max_msg = d.max_msg;
	c->max_inflight = max_inflight;
	atomic_init(&c->next_call_id, 1);

	int rv;
	const char *what = NULL;
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		what = "open REQ socket";
	} else {
		c->sock_open = true;
		/* At most once: never resend a request (see client.h). */
		if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
					    NNG_DURATION_INFINITE)) != 0)
			what = "disable resend";
		else if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, d.max_msg)) != 0)
			what = "set recv-size-max";
		else if ((rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_event, c)) != 0 ||
			 (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_event, c)) != 0)
			what = "pipe notify";
	}
	if (rv == 0)
		rv = rpc_dial(c->sock, url, &d, opts->wait_connected, &c->dialer, err, errlen);
	else
		snprintf(err, errlen, "rpc client: %s: %s", what, nng_strerror(rv));
	if (rv != 0) {
		rpc_client_close(c);
		return rv;
	}
	*out = c;
	return 0;
}
