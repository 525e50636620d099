/* RPC status codes: the gRPC set, so operators and tools read them the way
 * they read any gRPC service's, and the mesh can map them to retry policy
 * (UNAVAILABLE and DEADLINE_EXCEEDED may be retried; INVALID_ARGUMENT never).
 * Values travel on the wire in RpcReply.code: never renumber. */
#ifndef MIMAMORI_RPC_STATUS_H
#define MIMAMORI_RPC_STATUS_H

#include <stdarg.h>
#include <stdint.h>

#include "rpc/bounds.h"

enum rpc_code {
	RPC_OK = 0,
	RPC_CANCELLED = 1,
	RPC_UNKNOWN = 2,
	RPC_INVALID_ARGUMENT = 3,
	RPC_DEADLINE_EXCEEDED = 4,
	RPC_NOT_FOUND = 5,
	RPC_ALREADY_EXISTS = 6,
	RPC_PERMISSION_DENIED = 7,
	RPC_RESOURCE_EXHAUSTED = 8,
	RPC_FAILED_PRECONDITION = 9,
	RPC_ABORTED = 10,
	RPC_OUT_OF_RANGE = 11,
	RPC_UNIMPLEMENTED = 12,
	RPC_INTERNAL = 13,
	RPC_UNAVAILABLE = 14,
	RPC_DATA_LOSS = 15,
	RPC_UNAUTHENTICATED = 16,
};
#define RPC_CODE_MAX RPC_UNAUTHENTICATED

/* The outcome of one call as the caller sees it. message is valid UTF-8
 * without control characters, "" on success. */
struct rpc_status {
	uint32_t code;
	char message[RPC_MAX_ERRMSG];
};

/* "OK", "DEADLINE_EXCEEDED", ...; "INVALID_CODE" for values above
 * RPC_CODE_MAX (a newer or broken peer). Never NULL. */
const char *rpc_status_name(uint32_t code);

/* Fills st (may be NULL) and returns code, so a failure path is one line:
 * return rpc_status_set(st, RPC_UNAVAILABLE, "connect %s: %s", ...). The
 * text is sanitised (see rpc/utf8.h). */
uint32_t rpc_status_set(struct rpc_status *st, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint32_t rpc_status_vset(struct rpc_status *st, uint32_t code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
