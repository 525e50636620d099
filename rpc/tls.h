/* Mutual TLS between mimamori nodes, and the verified name of the peer.
 *
 * nng 1.5.2 cannot tell a server who the client is: it has no
 * NNG_OPT_TLS_PEER_CN (added in 1.6), only NNG_OPT_TLS_VERIFIED. So this
 * file registers its own nng TLS engine over mbed TLS 2.28 (nng's engine
 * API, supplemental/tls/engine.h), the same library nng's built-in engine
 * uses. The engine's "verified" hook is the one per-connection call nng
 * routes to it from nng_pipe_get_bool(pipe, NNG_OPT_TLS_VERIFIED): it
 * answers as nng's own engine would and, on the calling thread, leaves the
 * certificate's common name for rpc_tls_peer_name() to pick up right after.
 * The engine also offers only X25519/P-256/P-384 and ECDHE+AEAD suites
 * (nng's picks P-521 first: ~30 ms per handshake here).
 *
 * The engine replaces nng's for the whole process (it is registered before
 * the first TLS config is made). Connections set up by configs made before
 * that keep nng's engine and have no peer name. */
#ifndef MIMAMORI_RPC_TLS_H
#define MIMAMORI_RPC_TLS_H

#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "rpc/bounds.h"

/* The files of one node's TLS identity. */
struct rpc_tls_files {
	const char *ca_file;       /* PEM: the cluster CA (peers must chain to it) */
	const char *cert_key_file; /* PEM: this node's certificate and key, concatenated */
	/* Client side: the name the server's certificate must carry (CN or DNS
	 * SAN); required. Server side: ignored (any certificate from the CA is
	 * accepted; handlers check its name with rpc_call_peer()). */
	const char *server_name;
};

/* Registers mimamori's engine with nng if it is not the current one.
 * Returns 0 or an nng error. Idempotent and thread-safe. */
int rpc_tls_engine_install(void);

/* A TLS config for mode that presents cert_key_file, requires the peer's
 * certificate and verifies it against ca_file (TLS 1.2, mbed TLS has no
 * 1.3 here); in client mode also requires server_name in the server's
 * certificate. Installs the engine first. Returns 0 and *out (release with
 * nng_tls_config_free), or an nng error with a reason in err. */
int rpc_tls_config(nng_tls_config **out, nng_tls_mode mode, const struct rpc_tls_files *files,
		   char *err, size_t errlen);

/* The common name of the verified certificate presented by the peer at the
 * other end of pipe: 0 with name set (1..RPC_PEER_NAME_MAX bytes of
 * [A-Za-z0-9._-]), NNG_ENOTSUP when the pipe is not TLS (or predates the
 * engine), NNG_EPEERAUTH when the certificate is not verified or has no
 * such name (none, several, or other characters), or nng's error when the
 * pipe is gone. name is "" unless 0 is returned. */
int rpc_tls_peer_name(nng_pipe pipe, char name[RPC_PEER_NAME_MAX + 1]);

#endif
