/* Bounds of the RPC layer: everything a peer can make us allocate, wait
 * for or walk is capped here. */
#ifndef MIMAMORI_RPC_BOUNDS_H
#define MIMAMORI_RPC_BOUNDS_H

/* Largest nng message (envelope included) a socket accepts or sends by
 * default; configurable per server and client within [MIN, MAX]. nng's own
 * default is unlimited: a peer announcing 1 GB would make us reserve it. */
#define RPC_DEFAULT_MAX_MSG (64 * 1024)
#define RPC_MIN_MAX_MSG 1024
#define RPC_MAX_MAX_MSG (16 * 1024 * 1024)
/* Room the envelope fields other than body may take (tags, call_id,
 * method, code, message): the body may use max_msg minus this. */
#define RPC_ENVELOPE_OVERHEAD 512
/* protobuf-c allocates far more than the wire size for some inputs (64 KiB
 * of empty repeated sub-messages unpack to 2.9 MB): unpacking one message
 * may allocate at most this many times the configured max_msg. */
#define RPC_UNPACK_BUDGET_FACTOR 16
/* Memory a handler may take from its call's arena to build a reply, as a
 * multiple of max_msg (the packed reply must still fit max_msg). */
#define RPC_ARENA_FACTOR 4
/* "package.Service/Method". */
#define RPC_MAX_METHOD 128
/* Status messages, NUL included. */
#define RPC_MAX_ERRMSG 256
/* Message nesting the validator walks; our schemas have no cycles, so
 * their depth is fixed and far below this. */
#define RPC_MAX_NESTING 16
/* A client sends the server its deadline minus 10%, at most this much
 * less, so the server's answer comes back before the client gives up. */
#define RPC_DEADLINE_MARGIN_MS 50u
/* Longest deadline a caller may ask for. */
#define RPC_MAX_DEADLINE_MS (10u * 60u * 1000u)
/* A certificate common name we accept as a node name, NUL excluded. */
#define RPC_PEER_NAME_MAX 64
/* Server worker threads (concurrent handlers) and connections. */
#define RPC_DEFAULT_WORKERS 4
#define RPC_MAX_WORKERS 64
#define RPC_DEFAULT_MAX_CONNECTIONS 64
#define RPC_MAX_CONNECTIONS 1024
/* Async calls one client may have in flight. */
#define RPC_DEFAULT_MAX_INFLIGHT 256
/* Handler budget when a request carries no deadline, and the cap on any. */
#define RPC_DEFAULT_MAX_HANDLER_MS 30000u
/* How long a server worker waits to hand a reply to a client that does not
 * read, before dropping it and serving others. */
#define RPC_DEFAULT_SEND_TIMEOUT_MS 5000u
/* Redial backoff (nng's defaults are 1 s and no cap). */
#define RPC_DEFAULT_RECONNECT_MIN_MS 100
#define RPC_DEFAULT_RECONNECT_MAX_MS 2000

#endif
