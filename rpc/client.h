/* The RPC client: one nng REQ socket dialing one server, shared by any
 * number of threads. Each call gets its own REQ context, so calls run
 * concurrently over one connection and a late reply can never be taken
 * for the answer to another call.
 *
 * Deadlines are enforced here (nng aio timeouts) and sent along (less a
 * small margin), so the server answers before the caller gives up and
 * stops working for a caller that stopped waiting. REQ's automatic
 * resend is disabled: a request is delivered at most once (nng would
 * otherwise resend after 60 s or on reconnect, running a handler twice);
 * a connection lost mid-call fails the call with UNAVAILABLE. */
#ifndef MIMAMORI_RPC_CLIENT_H
#define MIMAMORI_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc/bounds.h"
#include "rpc/status.h"
#include "rpc/transport.h"

struct rpc_client;

struct rpc_client_opts {
	size_t max_msg;            /* 0: RPC_DEFAULT_MAX_MSG */
	uint32_t max_inflight;     /* 0: RPC_DEFAULT_MAX_INFLIGHT */
	uint32_t reconnect_min_ms; /* 0: RPC_DEFAULT_RECONNECT_MIN_MS */
	uint32_t reconnect_max_ms; /* 0: RPC_DEFAULT_RECONNECT_MAX_MS */
	/* Connect before rpc_client_new returns and fail if that fails (a
	 * control tool); otherwise connect and reconnect in the background
	 * (the mesh: a peer may be down when we start). */
	bool wait_connected;
	const struct rpc_tls_files *tls; /* tls+tcp: required, with server_name */
};

/* opts may be NULL. Returns 0 and *out, or an nng error with a reason in
 * err (with wait_connected: the connection's failure, e.g. NNG_ECONNREFUSED). */
int rpc_client_new(struct rpc_client **out, const char *url, const struct rpc_client_opts *opts,
		   char *err, size_t errlen);

/* Refuses new calls (CANCELLED), waits for the calls in flight to finish
 * by themselves (reply or deadline; every async callback has returned when
 * this does), then closes and frees. NULL is a no-op.
 *
 * nng 1.5.2 can hang for good when a REQ socket is closed while a reply
 * is arriving (fixed upstream in 1.8): waiting for the calls in flight
 * removes that case except for a reply later than its call's deadline
 * (a handler far over its budget). Long-lived processes should close
 * clients rarely; a process about to exit need not close at all. Never
 * call it from an rpc_done_fn (it waits for that very callback). */
void rpc_client_close(struct rpc_client *c);

/* True while at least one connection to the server is up. */
bool rpc_client_connected(const struct rpc_client *c);

/* Calls method (its name in the .proto, "Status") of svc with req, which
 * must be of the method's input type, waiting at most deadline_ms
 * (1..RPC_MAX_DEADLINE_MS; 0 fails at once with DEADLINE_EXCEEDED).
 * Returns the status code, also in st (may be NULL) with a message. On
 * RPC_OK *reply holds the method's output message: free it with
 * rpc_message_free() (rpc/message.h). A call that times out without any
 * connection to the server is UNAVAILABLE, with one DEADLINE_EXCEEDED. */
uint32_t rpc_call(struct rpc_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
		  const ProtobufCMessage *req, ProtobufCMessage **reply, uint32_t deadline_ms,
		  struct rpc_status *st);

/* Completion of an asynchronous call: runs once, on an nng thread, so it
 * must not block (hand the reply to the caller's own loop). reply is NULL
 * unless st->code is RPC_OK; it then belongs to the callback (free it with
 * rpc_message_free). */
typedef void (*rpc_done_fn)(void *arg, const struct rpc_status *st, ProtobufCMessage *reply);

/* Starts the call and returns RPC_OK: done will run exactly once. The
 * call's nng aio and context are freed after done has returned, by the
 * next call on this client or by rpc_client_close (they cannot be freed
 * on nng's thread: see release_finished in client.c); until then the call
 * counts against max_inflight. Any
 * other return (bad arguments, too many calls in flight: RESOURCE_EXHAUSTED,
 * client closing: CANCELLED) means nothing started and done will not run;
 * st (may be NULL) says why. req is packed before this returns. */
uint32_t rpc_call_async(struct rpc_client *c, const ProtobufCServiceDescriptor *svc,
			const char *method, const ProtobufCMessage *req, uint32_t deadline_ms,
			rpc_done_fn done, void *arg, struct rpc_status *st);

#endif
