/* Bounded unpacking and validation of protobuf-c messages that came from
 * the network. protobuf-c trusts its input more than we may: it allocates
 * up to ~44x the wire size, accepts strings that are not UTF-8 and enum
 * values the schema does not name. Everything a peer sends goes through
 * here before a handler or caller sees it. */
#ifndef MIMAMORI_RPC_MESSAGE_H
#define MIMAMORI_RPC_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc/status.h"

/* Unpacks len bytes as a desc message, allocating at most budget bytes in
 * total, then validates it (rpc_message_validate). Returns RPC_OK with
 * *out set, RPC_INVALID_ARGUMENT when the bytes do not parse or the content
 * is invalid, RPC_RESOURCE_EXHAUSTED when the budget ran out; st (may be
 * NULL) says why. Free *out with rpc_message_free(). */
uint32_t rpc_message_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			    size_t len, size_t budget, ProtobufCMessage **out,
			    struct rpc_status *st);

/* Frees a message from rpc_message_unpack (or any protobuf-c unpack with
 * the default allocator). NULL is a no-op. */
void rpc_message_free(ProtobufCMessage *m);

/* RPC_OK, or RPC_INVALID_ARGUMENT naming the first field that holds a
 * string that is not UTF-8, an enum value the schema does not name, an
 * unknown field numbered 0, or nesting deeper than RPC_MAX_NESTING. Walks
 * without recursion. */
uint32_t rpc_message_validate(const ProtobufCMessage *m, struct rpc_status *st);

#endif
