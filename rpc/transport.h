/* What differs between the transports RPC runs on, in one place: which
 * URLs are allowed, the limits every endpoint gets (nng's defaults are
 * unlimited messages and a 1 s redial without cap), TLS for tls+tcp, and
 * the ipc socket's owner and mode. */
#ifndef MIMAMORI_RPC_TRANSPORT_H
#define MIMAMORI_RPC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "rpc/tls.h"

enum rpc_transport {
	RPC_TRANSPORT_IPC = 1, /* ipc://PATH: the local control socket */
	RPC_TRANSPORT_TCP,     /* tcp://HOST:PORT: tests, trusted networks */
	RPC_TRANSPORT_TLS,     /* tls+tcp://HOST:PORT: the mesh, mutual TLS */
};

/* The transport of url, or 0 for any other scheme (inproc, ws, ...: not
 * offered, they lack the limits or the authentication we rely on). */
enum rpc_transport rpc_transport_of(const char *url);
const char *rpc_transport_name(enum rpc_transport t);

struct rpc_listen_opts {
	size_t max_msg;
	uint32_t ipc_mode;        /* permission bits of the ipc socket */
	const char *ipc_group;    /* NULL: keep the creator's group */
	const struct rpc_tls_files *tls; /* required for tls+tcp */
};

struct rpc_dial_opts {
	size_t max_msg;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	const struct rpc_tls_files *tls; /* required for tls+tcp */
};

/* Creates and starts a listener for url on sock with opts applied; for
 * ipc, the socket file gets ipc_mode before it accepts anything and then
 * root:ipc_group. Returns 0 or an nng error with a reason in err. */
int rpc_listen(nng_socket sock, const char *url, const struct rpc_listen_opts *opts,
	       nng_listener *out, char *err, size_t errlen);

/* Creates and starts a dialer for url on sock with opts applied. With
 * wait, the first connection is made before returning and its failure is
 * returned (a control tool wants "connection refused" at once); without,
 * nng dials and redials in the background. */
int rpc_dial(nng_socket sock, const char *url, const struct rpc_dial_opts *opts, bool wait,
	     nng_dialer *out, char *err, size_t errlen);

#endif
