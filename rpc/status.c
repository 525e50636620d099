/* See status.h. */
#include "rpc/status.h"

#include <assert.h>
#include <stdio.h>

#include "base/text.h"

static const char *const names[RPC_CODE_MAX + 1] = {
	[RPC_OK] = "OK",
	[RPC_CANCELLED] = "CANCELLED",
	[RPC_UNKNOWN] = "UNKNOWN",
	[RPC_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[RPC_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
	[RPC_NOT_FOUND] = "NOT_FOUND",
	[RPC_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[RPC_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[RPC_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[RPC_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[RPC_ABORTED] = "ABORTED",
	[RPC_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[RPC_UNIMPLEMENTED] = "UNIMPLEMENTED",
	[RPC_INTERNAL] = "INTERNAL",
	[RPC_UNAVAILABLE] = "UNAVAILABLE",
	[RPC_DATA_LOSS] = "DATA_LOSS",
	[RPC_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

const char *rpc_status_name(uint32_t code)
{
	if (code > RPC_CODE_MAX)
		return "INVALID_CODE";
	assert(names[code] != NULL);
	return names[code];
}

uint32_t rpc_status_vset(struct rpc_status *st, uint32_t code, const char *fmt, va_list ap)
{
	if (st == NULL)
		return code;
	char raw[RPC_MAX_ERRMSG];
	vsnprintf(raw, sizeof(raw), fmt, ap);
	st->code = code;
	text_sanitize(st->message, sizeof(st->message), raw, sizeof(raw));
	return code;
}

uint32_t rpc_status_set(struct rpc_status *st, uint32_t code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rpc_status_vset(st, code, fmt, ap);
	va_end(ap);
	return code;
}
