/* The wire format of one call (proto/rpc.proto): an RpcRequest or RpcReply
 * per nng message, the packed request or reply message in its body field.
 * Pure functions over byte buffers, no nng, so the fuzzer drives exactly
 * what the server runs.
 *
 * Encoding writes the head fields with protobuf-c, then appends the body
 * field (4) by hand packed straight from the message: protobuf allows any
 * field order, and the body is packed once, into its final place. */
#ifndef MIMAMORI_RPC_ENVELOPE_H
#define MIMAMORI_RPC_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/rpc.pb-c.h"
#include "rpc/status.h"

/* Largest packed request or reply message an envelope of max_msg bytes may
 * carry. */
size_t rpc_max_body(size_t max_msg);

struct rpc_request_head {
	uint64_t call_id;
	const char *method;   /* valid per rpc_method_name_valid() */
	bool has_deadline;
	uint64_t deadline_ms; /* budget left when sent; 0 = spent */
};

struct rpc_reply_head {
	uint64_t call_id;
	uint32_t code;
	const char *message; /* NULL or "" when none */
};

/* Size of the envelope around a body of body_len packed bytes (0 = no
 * body field), and the packing into dst, which must hold exactly that
 * many bytes. body must pack to body_len bytes (asserted). */
size_t rpc_request_size(const struct rpc_request_head *h, size_t body_len);
void rpc_request_pack(const struct rpc_request_head *h, const ProtobufCMessage *body,
		      size_t body_len, uint8_t *dst);
size_t rpc_reply_size(const struct rpc_reply_head *h, size_t body_len);
void rpc_reply_pack(const struct rpc_reply_head *h, const ProtobufCMessage *body,
		    size_t body_len, uint8_t *dst);

/* Decode and validate an envelope of len bytes received under a max_msg
 * limit: RPC_OK with *out (free with rpc_message_free(&(*out)->base)), or
 * RPC_INVALID_ARGUMENT / RPC_RESOURCE_EXHAUSTED with the reason in st. A
 * request must name a well-formed method and carry at most
 * rpc_max_body(max_msg) body bytes; so must a reply. */
uint32_t rpc_request_decode(const uint8_t *data, size_t len, size_t max_msg,
			    Mimamori__RpcRequest **out, struct rpc_status *st);
uint32_t rpc_reply_decode(const uint8_t *data, size_t len, size_t max_msg,
			  Mimamori__RpcReply **out, struct rpc_status *st);

/* "package.Service/Method": 3..RPC_MAX_METHOD bytes of [A-Za-z0-9_.] with
 * exactly one '/', neither side empty. */
bool rpc_method_name_valid(const char *name);
/* Writes the wire name of method index i of svc into out; false when it
 * would exceed RPC_MAX_METHOD or be invalid (a schema problem). */
bool rpc_method_name(const ProtobufCServiceDescriptor *svc, unsigned i,
		     char out[RPC_MAX_METHOD + 1]);
/* The method of svc a wire name designates, or NULL when it names another
 * service or no method of this one; *index (may be NULL) receives its
 * position in svc->methods. */
const ProtobufCMethodDescriptor *rpc_method_lookup(const ProtobufCServiceDescriptor *svc,
						   const char *name, unsigned *index);

#endif
