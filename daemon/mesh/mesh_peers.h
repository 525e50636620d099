/* The mesh's outgoing connections: a bounded cache of RPC clients, one per
 * peer URL, created on first use and evicted least-recently-used when
 * more than `max_clients` peers are in use.
 *
 * Why a cache: SWIM talks to every member over time but to few at once (a
 * probe target, its helpers, a few gossip targets per 50 ms), so 1,000
 * members need not mean 1,000 connections. Why long-lived entries: a TLS
 * connection costs a handshake (~30 ms with nng's own engine, a few ms
 * with rpc/tls.c's X25519/P-256 one) and, to a blackholed address, a
 * connect that hangs ~11 s: a client is never closed because its peer is
 * suspected or dead (field guide: tearing connections down on suspicion
 * makes reconnects stall in the kernel and views flap). It is closed only
 * when evicted for room, or at shutdown.
 *
 * Sending is fire and forget: mesh_peers_send() starts an asynchronous
 * Deliver call with a deadline and returns; its outcome only feeds the
 * counters (a failed call is a lost message, which the cores tolerate).
 * rpc_client_close() waits for a client's calls in flight (at most their
 * deadline), so evicted clients are closed on a helper thread, never on
 * the caller's.
 *
 * Cost at N = 1,000 members with the default bound of 64: at most 64
 * outgoing connections (one socket fd each; nng adds no thread per
 * socket, its task pool is shared), plus the incoming ones our peers'
 * caches open to our server (bounded by the server's max_connections; on
 * average also ~64 per node, since every node holds at most 64). Memory
 * per cached client: the nng socket, dialer and pipe (a few KiB) and, with
 * TLS, mbed TLS's context with its 16 KiB input and output record buffers
 * (~40 KiB in all): ~2.5 MiB for 64 clients, the same again for incoming
 * connections. Round-robin probing of 999 peers through 64 slots means
 * about one new connection (handshake) per probe interval (5/s at 200 ms)
 * on each side: the price of the bound; raise it where fds are cheap.
 *
 * Thread-safety: one owner (the mesh thread) calls new/send/free;
 * mesh_peers_get_stats() may be called from any thread. */
#ifndef MIMAMORI_MESH_PEERS_H
#define MIMAMORI_MESH_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc/status.h"

#define MESH_PEERS_DEFAULT_MAX 64
#define MESH_PEERS_MAX 4096

struct mesh_peers_opts {
	size_t max_clients;        /* 0: MESH_PEERS_DEFAULT_MAX; at most MESH_PEERS_MAX */
	size_t max_msg;            /* nng RECVMAXSZ of each client; 0: RPC default */
	uint32_t reconnect_min_ms; /* 0: 100 ms */
	uint32_t reconnect_max_ms; /* 0: 2 s */
	uint32_t max_inflight;     /* calls in flight per peer; 0: 64 */
	/* tls+tcp:// URLs: the cluster CA and this node's cert + key (PEM).
	 * NULL for tcp:// (tests). */
	const char *ca_file;
	const char *cert_key_file;
};

struct mesh_peers_stats {
	size_t clients;          /* cached now */
	uint64_t created;        /* clients created */
	uint64_t evicted;        /* closed for room */
	uint64_t create_failed;  /* rpc_client_new failed */
	uint64_t sent;           /* calls started */
	uint64_t not_started;    /* rpc_call_async refused (too many in flight...) */
	uint64_t ok;             /* answered OK */
	uint64_t failed;         /* answered otherwise or timed out */
	uint64_t denied;         /* ... of which PERMISSION_DENIED */
};

struct mesh_peers;

/* NULL with err on a bad option or when the closer thread cannot start.
 * Call from a normal-priority thread (threads.h): nng's pool and the
 * closer thread inherit its policy. */
struct mesh_peers *mesh_peers_new(const struct mesh_peers_opts *opts, char *err, size_t errlen);
/* Closes every client (waiting for their calls in flight) and frees. */
void mesh_peers_free(struct mesh_peers *p);

/* Starts method of svc with req on the client for url (created if needed;
 * server_name is the name the peer's certificate must carry). Returns
 * RPC_OK when the call started; otherwise nothing was sent and st says
 * why (no client could be made, too many calls in flight). */
uint32_t mesh_peers_send(struct mesh_peers *p, const char *url, const char *server_name,
			 const ProtobufCServiceDescriptor *svc, const char *method,
			 const ProtobufCMessage *req, uint32_t deadline_ms, struct rpc_status *st);

void mesh_peers_get_stats(const struct mesh_peers *p, struct mesh_peers_stats *out);

#endif
