/* libFuzzer target: what the RPC layer does with bytes from the network,
 * under the bounds the server and client use. The bytes are decoded as a
 * request envelope, whose body is unpacked and validated as the input of
 * the Control method it names (or, when it names none, of one picked by
 * its call id: every decoder must cope with any body); as a reply
 * envelope, whose body is tried as every Control output; and bare, as the
 * body of every Control request. Whatever unpacks must stay valid when
 * packed and unpacked again. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/control.pb-c.h"
#include "rpc/bounds.h"
#include "rpc/envelope.h"
#include "rpc/message.h"
#include "base/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG RPC_DEFAULT_MAX_MSG
#define BUDGET (RPC_UNPACK_BUDGET_FACTOR * RPC_DEFAULT_MAX_MSG)

static void check_status(uint32_t code, const struct rpc_status *st)
{
	/* Refusals are the two the server sends for bad input, with a
	 * printable reason. */
	assert(code == RPC_INVALID_ARGUMENT || code == RPC_RESOURCE_EXHAUSTED);
	assert(st->code == code);
	assert(utf8_valid((const uint8_t *)st->message, strlen(st->message)));
}

static void check_body(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len)
{
	ProtobufCMessage *m;
	struct rpc_status st;
	uint32_t code = rpc_message_unpack(desc, data, len, BUDGET, &m, &st);
	if (code != RPC_OK) {
		check_status(code, &st);
		assert(m == NULL);
		return;
	}
	assert(m != NULL && m->descriptor == desc);
	/* Packing is canonical: a second round trip reproduces the first. */
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n > 0 ? n : 1);
	assert(buf != NULL);
	assert(protobuf_c_message_pack(m, buf) == n);
	ProtobufCMessage *again;
	code = rpc_message_unpack(desc, buf, n, 2 * BUDGET + 2 * n, &again, &st);
	assert(code == RPC_OK);
	/* Same bytes, not only the same length: a field that changes on the
	 * way through (or a length that happens to match) shows. */
	assert(protobuf_c_message_get_packed_size(again) == n);
	uint8_t *buf2 = malloc(n > 0 ? n : 1);
	assert(buf2 != NULL);
	assert(protobuf_c_message_pack(again, buf2) == n);
	assert(memcmp(buf, buf2, n) == 0);
	free(buf2);
	rpc_message_free(again);
	free(buf);
	rpc_message_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* nng drops anything larger (NNG_OPT_RECVMAXSZ) before we see it. */
	if (size > MAX_MSG)
		return 0;
	const ProtobufCServiceDescriptor *svc = &mimamori__control__descriptor;
	struct rpc_status st;

	Mimamori__RpcRequest *req;
	uint32_t code = rpc_request_decode(data, size, MAX_MSG, &req, &st);
	if (code == RPC_OK) {
		assert(rpc_method_name_valid(req->method));
		assert(!req->has_body || req->body.len <= rpc_max_body(MAX_MSG));
		const ProtobufCMethodDescriptor *m = rpc_method_lookup(svc, req->method, NULL);
		if (m == NULL)
			m = &svc->methods[req->call_id % svc->n_methods];
		check_body(m->input, req->body.data, req->has_body ? req->body.len : 0);
		rpc_message_free(&req->base);
	} else {
		check_status(code, &st);
	}

	Mimamori__RpcReply *rep;
	code = rpc_reply_decode(data, size, MAX_MSG, &rep, &st);
	if (code == RPC_OK) {
		for (unsigned i = 0; i < svc->n_methods; i++)
			check_body(svc->methods[i].output, rep->body.data,
				   rep->has_body ? rep->body.len : 0);
		rpc_message_free(&rep->base);
	} else {
		check_status(code, &st);
	}

	for (unsigned i = 0; i < svc->n_methods; i++)
		check_body(svc->methods[i].input, data, size);
	return 0;
}
