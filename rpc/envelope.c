/* See envelope.h. */
#include "rpc/envelope.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "rpc/message.h"

/* Key of RpcRequest.body and RpcReply.body: field 4, wire type 2
 * (length-delimited). Both messages keep body as field 4 for this. */
#define BODY_KEY 0x22

size_t rpc_max_body(size_t max_msg)
{
	assert(max_msg >= RPC_MIN_MAX_MSG && max_msg <= RPC_MAX_MAX_MSG);
	return max_msg - RPC_ENVELOPE_OVERHEAD;
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t body_field_size(size_t body_len)
{
	return body_len == 0 ? 0 : 1 + varint_size(body_len) + body_len;
}

static void body_field_pack(const ProtobufCMessage *body, size_t body_len, uint8_t *p)
{
	if (body_len == 0)
		return;
	assert(body != NULL);
	*p++ = BODY_KEY;
	uint64_t v = body_len;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	size_t written = protobuf_c_message_pack(body, p);
	assert(written == body_len);
	(void)written;
}

static void request_fill(Mimamori__RpcRequest *r, const struct rpc_request_head *h)
{
	assert(h->method != NULL && rpc_method_name_valid(h->method));
	r->has_call_id = 1;
	r->call_id = h->call_id;
	r->method = (char *)h->method; /* packing only reads it */
	r->has_deadline_ms = h->has_deadline ? 1 : 0;
	r->deadline_ms = h->deadline_ms;
}

static void reply_fill(Mimamori__RpcReply *r, const struct rpc_reply_head *h)
{
	assert(h->code <= RPC_CODE_MAX);
	r->has_call_id = 1;
	r->call_id = h->call_id;
	r->has_code = 1;
	r->code = h->code;
	if (h->message != NULL && h->message[0] != '\0')
		r->message = (char *)h->message;
}

size_t rpc_request_size(const struct rpc_request_head *h, size_t body_len)
{
	Mimamori__RpcRequest r = MIMAMORI__RPC_REQUEST__INIT;
	request_fill(&r, h);
	return protobuf_c_message_get_packed_size(&r.base) + body_field_size(body_len);
}

void rpc_request_pack(const struct rpc_request_head *h, const ProtobufCMessage *body,
		      size_t body_len, uint8_t *dst)
{
	Mimamori__RpcRequest r = MIMAMORI__RPC_REQUEST__INIT;
	request_fill(&r, h);
	size_t n = protobuf_c_message_pack(&r.base, dst);
	body_field_pack(body, body_len, dst + n);
}

size_t rpc_reply_size(const struct rpc_reply_head *h, size_t body_len)
{
	Mimamori__RpcReply r = MIMAMORI__RPC_REPLY__INIT;
	reply_fill(&r, h);
	return protobuf_c_message_get_packed_size(&r.base) + body_field_size(body_len);
}

void rpc_reply_pack(const struct rpc_reply_head *h, const ProtobufCMessage *body,
		    size_t body_len, uint8_t *dst)
{
	Mimamori__RpcReply r = MIMAMORI__RPC_REPLY__INIT;
	reply_fill(&r, h);
	size_t n = protobuf_c_message_pack(&r.base, dst);
	body_field_pack(body, body_len, dst + n);
}

/* An envelope unpacks to its struct plus copies of its own strings and
 * bytes: twice the wire size is more than enough, whatever a peer repeats. */
static size_t envelope_budget(size_t len)
{
	return 2 * len + 1024;
}

uint32_t rpc_request_decode(const uint8_t *data, size_t len, size_t max_msg,
			    Mimamori__RpcRequest **out, struct rpc_status *st)
{
	assert(out != NULL);
	*out = NULL;
	if (len > max_msg)
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED,
				      "request of %zu bytes exceeds the %zu byte limit", len, max_msg);
	ProtobufCMessage *m;
	uint32_t code = rpc_message_unpack(&mimamori__rpc_request__descriptor, data, len,
					   envelope_budget(len), &m, st);
	if (code != RPC_OK)
		return code;
	Mimamori__RpcRequest *r = (Mimamori__RpcRequest *)m;
	if (r->method == NULL || !rpc_method_name_valid(r->method)) {
		rpc_message_free(m);
		return rpc_status_set(st, RPC_INVALID_ARGUMENT, "missing or malformed method name");
	}
	if (r->has_body && r->body.len > rpc_max_body(max_msg)) {
		rpc_message_free(m);
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "request body exceeds %zu bytes",
				      rpc_max_body(max_msg));
	}
	*out = r;
	return RPC_OK;
}

uint32_t rpc_reply_decode(const uint8_t *data, size_t len, size_t max_msg,
			  Mimamori__RpcReply **out, struct rpc_status *st)
{
	assert(out != NULL);
	*out = NULL;
	if (len > max_msg)
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED,
				      "reply of %zu bytes exceeds the %zu byte limit", len, max_msg);
	ProtobufCMessage *m;
	uint32_t code = rpc_message_unpack(&mimamori__rpc_reply__descriptor, data, len,
					   envelope_budget(len), &m, st);
	if (code != RPC_OK)
		return code;
	Mimamori__RpcReply *r = (Mimamori__RpcReply *)m;
	if (r->has_body && r->body.len > rpc_max_body(max_msg)) {
		rpc_message_free(m);
		return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "reply body exceeds %zu bytes",
				      rpc_max_body(max_msg));
	}
	*out = r;
	return RPC_OK;
}

static bool method_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

bool rpc_method_name_valid(const char *name)
{
	if (name == NULL)
		return false;
	size_t slash = 0, n = 0;
	bool seen_slash = false;
	for (; name[n] != '\0'; n++) {
		if (n >= RPC_MAX_METHOD)
			return false;
		if (name[n] == '/') {
			if (seen_slash)
				return false;
			seen_slash = true;
			slash = n;
		} else if (!method_char(name[n])) {
			return false;
		}
	}
	return seen_slash && slash > 0 && slash + 1 < n;
}

bool rpc_method_name(const ProtobufCServiceDescriptor *svc, unsigned i,
		     char out[RPC_MAX_METHOD + 1])
{
	assert(svc != NULL && svc->magic == PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC);
	assert(i < svc->n_methods);
	int n = snprintf(out, RPC_MAX_METHOD + 1, "%s/%s", svc->name, svc->methods[i].name);
	return n > 0 && (size_t)n <= RPC_MAX_METHOD && rpc_method_name_valid(out);
}

const ProtobufCMethodDescriptor *rpc_method_lookup(const ProtobufCServiceDescriptor *svc,
						   const char *name, unsigned *index)
{
	assert(svc != NULL && svc->magic == PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC);
	assert(name != NULL);
	size_t n = strlen(svc->name);
	if (strncmp(name, svc->name, n) != 0 || name[n] != '/')
		return NULL;
	const ProtobufCMethodDescriptor *m =
		protobuf_c_service_descriptor_get_method_by_name(svc, name + n + 1);
	if (m == NULL)
		return NULL;
	assert(m >= svc->methods && m < svc->methods + svc->n_methods);
	if (index != NULL)
		*index = (unsigned)(m - svc->methods);
	return m;
}
