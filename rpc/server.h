/* The RPC server: one nng REP socket, one listener, and a fixed pool of
 * worker threads, each with its own REP context, so up to `workers` calls
 * (from one connection or many) run at once.
 *
 * Threading: handlers run on the server's worker threads, several at a
 * time, never on nng's callback threads (a slow handler must not stall
 * nng's task queue). A handler that touches shared daemon state takes the
 * daemon's lock itself and copies what it needs into its reply before
 * returning; the reply is packed after the handler returned, outside that
 * lock.
 *
 * Per call: the request envelope and body are bounded (max_msg), unpacked
 * with an allocation budget and validated (rpc/message.h); the method is
 * looked up by name in the service descriptor (unknown: UNIMPLEMENTED);
 * a request whose deadline is spent gets DEADLINE_EXCEEDED without running
 * the handler, and so does one whose handler overran its deadline (the
 * client has stopped waiting; its late answer must not look like success).
 * Garbage gets INVALID_ARGUMENT and the connection stays up. */
#ifndef MIMAMORI_RPC_SERVER_H
#define MIMAMORI_RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc/bounds.h"
#include "rpc/status.h"
#include "rpc/transport.h"

struct rpc_server;
struct rpc_call;

/* A handler fills reply, an initialised message of the method's output
 * type, and returns RPC_OK; or returns another code, with rpc_call_error()
 * for the message. Everything reply points to must outlive the handler:
 * take it from the call's arena (rpc_call_alloc, rpc_call_strdup,
 * rpc_call_message_new), which the server frees after packing, or from
 * static storage. Nothing is freed by the handler. */
typedef uint32_t (*rpc_handler_fn)(void *ctx, struct rpc_call *call,
				   const ProtobufCMessage *req, ProtobufCMessage *reply);

struct rpc_handler {
	const char *method; /* as in the .proto: "Status" */
	rpc_handler_fn fn;
};

struct rpc_server_opts {
	size_t max_msg;           /* 0: RPC_DEFAULT_MAX_MSG */
	uint32_t workers;         /* 0: RPC_DEFAULT_WORKERS */
	uint32_t max_connections; /* 0: RPC_DEFAULT_MAX_CONNECTIONS; more are closed */
	uint32_t max_handler_ms;  /* 0: RPC_DEFAULT_MAX_HANDLER_MS; caps every deadline */
	uint32_t send_timeout_ms; /* 0: RPC_DEFAULT_SEND_TIMEOUT_MS */
	uint32_t ipc_mode;        /* 0: 0660 */
	const char *ipc_group;    /* ipc: chown :group (by name); NULL keeps it */
	const struct rpc_tls_files *tls; /* tls+tcp: required */
};

/* Listens on url (ipc://, tcp://, tls+tcp://) and serves svc. handlers
 * name methods of svc (an unknown name is an error here, not at the first
 * call); methods without one answer UNIMPLEMENTED. ctx is passed to every
 * handler. opts may be NULL for the defaults. Returns 0 and *out, or an
 * nng error with a reason in err. */
int rpc_server_new(struct rpc_server **out, const char *url, const ProtobufCServiceDescriptor *svc,
		   const struct rpc_handler *handlers, size_t n_handlers, void *ctx,
		   const struct rpc_server_opts *opts, char *err, size_t errlen);

/* Stops serving: running handlers finish (their replies are dropped), no
 * handler runs once this returns, so the state handlers use may be freed.
 * Connections stay open (unanswered) until rpc_server_close. Idempotent;
 * NULL is a no-op.
 *
 * A process about to exit should stop and not close: nng 1.5.2 can hang
 * for good closing a socket while a request is arriving (fixed upstream
 * in 1.8); exit() needs no nng teardown. */
void rpc_server_stop(struct rpc_server *s);

/* rpc_server_stop, then closes the listener and connections and frees.
 * NULL is a no-op. */
void rpc_server_close(struct rpc_server *s);

/* The TCP port the listener is bound to (for tcp://host:0), or -1. */
int rpc_server_port(const struct rpc_server *s);

struct rpc_server_stats {
	uint64_t calls;                     /* replies produced */
	uint64_t by_code[RPC_CODE_MAX + 1]; /* ... by status code */
	uint64_t connections_refused;       /* over max_connections */
};
void rpc_server_get_stats(const struct rpc_server *s, struct rpc_server_stats *out);

/* ---- inside a handler: the call ---- */

/* Who called. Filled on first use (a few option look-ups on the pipe). */
struct rpc_peer {
	enum rpc_transport transport;
	/* ipc: the peer process's credentials (SO_PEERCRED). */
	bool has_cred;
	uint32_t uid, gid;
	int32_t pid;
	/* tls+tcp: the common name of the verified client certificate; "" when
	 * there is none (handlers of the mesh refuse such calls). */
	char name[RPC_PEER_NAME_MAX + 1];
	/* tcp, tls+tcp: "address:port". */
	char addr[64];
};

const struct rpc_peer *rpc_call_peer(struct rpc_call *call);
/* "package.Service/Method". */
const char *rpc_call_method(const struct rpc_call *call);
uint64_t rpc_call_id(const struct rpc_call *call);
/* Milliseconds left before the caller gives up (<= 0: already late). */
int64_t rpc_call_remaining_ms(const struct rpc_call *call);

/* Zeroed memory from the call's arena (RPC_ARENA_FACTOR x max_msg per
 * call, 16-byte aligned), NULL when it is spent: return
 * RPC_RESOURCE_EXHAUSTED then. */
void *rpc_call_alloc(struct rpc_call *call, size_t size);
/* A copy of s (at most maxlen bytes of it, for fixed-size fields that may
 * lack a NUL) made valid UTF-8 without control characters, so that daemon
 * text (libvirt errors, guest names) never makes a reply invalid. NULL
 * when the arena is spent; s NULL gives NULL. */
char *rpc_call_strdup(struct rpc_call *call, const char *s);
char *rpc_call_strndup(struct rpc_call *call, const char *s, size_t maxlen);
/* An initialised message of type desc (for sub-messages). */
void *rpc_call_message_new(struct rpc_call *call, const ProtobufCMessageDescriptor *desc);
/* Sets the reply's status message and returns code:
 * return rpc_call_error(call, RPC_NOT_FOUND, "no outbox entry %llu", id); */
uint32_t rpc_call_error(struct rpc_call *call, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
