/* The RPC layer's pure parts: status names, UTF-8 checks, method names,
 * envelope encoding and decoding with their bounds, and the bounded,
 * validating unpack of messages from the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/control.pb-c.h"
#include "rpc/envelope.h"
#include "rpc/message.h"
#include "rpc/status.h"
#include "base/text.h"
#include "tests/rpc/testsvc.pb-c.h"

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(rpc_status_name(RPC_OK), "OK");
	assert_string_equal(rpc_status_name(RPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
	assert_string_equal(rpc_status_name(RPC_UNIMPLEMENTED), "UNIMPLEMENTED");
	assert_string_equal(rpc_status_name(RPC_UNAUTHENTICATED), "UNAUTHENTICATED");
	assert_int_equal(RPC_UNAVAILABLE, 14);
	assert_int_equal(RPC_DATA_LOSS, 15);
	for (uint32_t c = 0; c <= RPC_CODE_MAX; c++)
		assert_string_not_equal(rpc_status_name(c), "INVALID_CODE");
	assert_string_equal(rpc_status_name(17), "INVALID_CODE");
	assert_string_equal(rpc_status_name(UINT32_MAX), "INVALID_CODE");

	struct rpc_status st;
	assert_int_equal(rpc_status_set(&st, RPC_NOT_FOUND, "id %d\tgone\xff", 7), RPC_NOT_FOUND);
	assert_int_equal(st.code, RPC_NOT_FOUND);
	assert_string_equal(st.message, "id 7?gone?");
	assert_int_equal(rpc_status_set(NULL, RPC_ABORTED, "x"), RPC_ABORTED);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid((const uint8_t *)"plain", 5));
	assert_true(utf8_valid((const uint8_t *)"\xe8\xa6\x8b\xe5\xae\x88\xe3\x82\x8a", 9));
	assert_true(utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
	assert_false(utf8_valid((const uint8_t *)"\xff", 1));
	assert_false(utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong '/' */
	assert_false(utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid((const uint8_t *)"\xe8\xa6", 2));         /* cut short */

	char out[8];
	/* Cut at a character boundary, never in the middle of one. */
	assert_int_equal(text_sanitize(out, sizeof(out), "ab\xe8\xa6\x8b\xe5\xae\x88", 8), 5);
	assert_string_equal(out, "ab\xe8\xa6\x8b");
	assert_int_equal(text_sanitize(out, sizeof(out), "a\nb\x7f", 4), 4);
	assert_string_equal(out, "a?b?");
	/* srclen bounds a source without NUL. */
	const char fixed[3] = {'x', 'y', 'z'};
	assert_int_equal(text_sanitize(out, sizeof(out), fixed, 2), 2);
	assert_string_equal(out, "xy");
	assert_int_equal(text_sanitize(out, sizeof(out), NULL, 5), 0);
	assert_string_equal(out, "");
}

static void test_method_names(void **state)
{
	(void)state;
	assert_true(rpc_method_name_valid("mimamori.Control/Status"));
	assert_false(rpc_method_name_valid("mimamori.Control"));
	assert_false(rpc_method_name_valid("/Status"));
	assert_false(rpc_method_name_valid("mimamori.Control/"));
	assert_false(rpc_method_name_valid("a/b/c"));
	assert_false(rpc_method_name_valid("a/b c"));
	assert_false(rpc_method_name_valid("a/b\xc3\xa9"));
	assert_false(rpc_method_name_valid(""));
	assert_false(rpc_method_name_valid(NULL));
	char longname[RPC_MAX_METHOD + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[3] = '/';
	assert_false(rpc_method_name_valid(longname));
	longname[RPC_MAX_METHOD] = '\0'; /* exactly RPC_MAX_METHOD bytes */
	assert_true(rpc_method_name_valid(longname));

	char name[RPC_MAX_METHOD + 1];
	const ProtobufCServiceDescriptor *svc = &mimamori__control__descriptor;
	for (unsigned i = 0; i < svc->n_methods; i++) {
		assert_true(rpc_method_name(svc, i, name));
		unsigned index = 99;
		assert_ptr_equal(rpc_method_lookup(svc, name, &index), &svc->methods[i]);
		assert_int_equal(index, i);
	}
	assert_true(rpc_method_name(svc, 0, name));
	assert_string_equal(name, "mimamori.Control/Status");
	assert_null(rpc_method_lookup(svc, "mimamori.Control/Nope", NULL));
	/* The same method name under another service is not ours. */
	assert_null(rpc_method_lookup(svc, "mimamori.test.TestSvc/Status", NULL));
	assert_null(rpc_method_lookup(svc, "mimamori.ControlX/Status", NULL));
	assert_null(rpc_method_lookup(svc, "mimamori.Contro/Status", NULL));
}

static void test_request_round_trip(void **state)
{
	(void)state;
	Mimamori__OutboxRetryRequest body = MIMAMORI__OUTBOX_RETRY_REQUEST__INIT;
	body.has_id = 1;
	body.id = 123456789;
	size_t body_len = protobuf_c_message_get_packed_size(&body.base);
	struct rpc_request_head h = {.call_id = 42, .method = "mimamori.Control/OutboxRetry",
				     .has_deadline = true, .deadline_ms = 1500};
	size_t len = rpc_request_size(&h, body_len);
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	rpc_request_pack(&h, &body.base, body_len, buf);

	Mimamori__RpcRequest *r;
	struct rpc_status st;
	assert_int_equal(rpc_request_decode(buf, len, RPC_DEFAULT_MAX_MSG, &r, &st), RPC_OK);
	assert_int_equal(r->call_id, 42);
	assert_string_equal(r->method, "mimamori.Control/OutboxRetry");
	assert_true(r->has_deadline_ms);
	assert_int_equal(r->deadline_ms, 1500);
	assert_true(r->has_body);
	assert_int_equal(r->body.len, body_len);
	ProtobufCMessage *m;
	assert_int_equal(rpc_message_unpack(&mimamori__outbox_retry_request__descriptor, r->body.data,
					    r->body.len, 4096, &m, &st),
			 RPC_OK);
	assert_int_equal(((Mimamori__OutboxRetryRequest *)m)->id, 123456789);
	rpc_message_free(m);
	rpc_message_free(&r->base);

	/* An empty body (StatusRequest{}) travels as no body field at all. */
	h.has_deadline = false;
	len = rpc_request_size(&h, 0);
	rpc_request_pack(&h, NULL, 0, buf);
	assert_int_equal(rpc_request_decode(buf, len, RPC_DEFAULT_MAX_MSG, &r, &st), RPC_OK);
	assert_false(r->has_body);
	assert_false(r->has_deadline_ms);
	rpc_message_free(&r->base);
	free(buf);
}

static void test_reply_round_trip(void **state)
{
	(void)state;
	struct rpc_reply_head h = {.call_id = 9, .code = RPC_NOT_FOUND, .message = "no entry 5"};
	size_t len = rpc_reply_size(&h, 0);
	uint8_t buf[256];
	assert_true(len <= sizeof(buf));
	rpc_reply_pack(&h, NULL, 0, buf);
	Mimamori__RpcReply *r;
	struct rpc_status st;
	assert_int_equal(rpc_reply_decode(buf, len, RPC_DEFAULT_MAX_MSG, &r, &st), RPC_OK);
	assert_int_equal(r->call_id, 9);
	assert_int_equal(r->code, RPC_NOT_FOUND);
	assert_string_equal(r->message, "no entry 5");
	assert_false(r->has_body);
	rpc_message_free(&r->base);
}

static void test_garbage_envelopes(void **state)
{
	(void)state;
	struct rpc_status st;
	Mimamori__RpcRequest *r = (Mimamori__RpcRequest *)1;
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34};
	assert_int_equal(rpc_request_decode(junk, sizeof(junk), RPC_DEFAULT_MAX_MSG, &r, &st),
			 RPC_INVALID_ARGUMENT);
	assert_null(r);
	/* Parses, but names no method. */
	assert_int_equal(rpc_request_decode(NULL, 0, RPC_DEFAULT_MAX_MSG, &r, &st),
			 RPC_INVALID_ARGUMENT);
	/* A method name that is not valid UTF-8 is caught by validation. */
	Mimamori__RpcRequest bad = MIMAMORI__RPC_REQUEST__INIT;
	bad.method = "a/\xff";
	uint8_t buf[64];
	size_t n = protobuf_c_message_pack(&bad.base, buf);
	assert_int_equal(rpc_request_decode(buf, n, RPC_DEFAULT_MAX_MSG, &r, &st),
			 RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "UTF-8"));
	/* Valid UTF-8 but not a method name. */
	bad.method = "a b/c";
	n = protobuf_c_message_pack(&bad.base, buf);
	assert_int_equal(rpc_request_decode(buf, n, RPC_DEFAULT_MAX_MSG, &r, &st),
			 RPC_INVALID_ARGUMENT);
}

static void test_size_limits(void **state)
{
	(void)state;
	size_t max_msg = RPC_MIN_MAX_MSG;
	size_t max_body = rpc_max_body(max_msg);
	assert_int_equal(max_body, RPC_MIN_MAX_MSG - RPC_ENVELOPE_OVERHEAD);

	/* A body just over the limit is refused even inside max_msg... */
	Mimamori__RpcRequest big = MIMAMORI__RPC_REQUEST__INIT;
	big.method = "mimamori.Control/Status";
	big.has_body = 1;
	big.body.len = max_body + 1;
	big.body.data = calloc(1, big.body.len);
	assert_non_null(big.body.data);
	size_t n = protobuf_c_message_get_packed_size(&big.base);
	assert_true(n <= max_msg);
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	protobuf_c_message_pack(&big.base, buf);
	Mimamori__RpcRequest *r;
	struct rpc_status st;
	assert_int_equal(rpc_request_decode(buf, n, max_msg, &r, &st), RPC_RESOURCE_EXHAUSTED);
	/* ...one at the limit is fine... */
	big.body.len = max_body;
	n = protobuf_c_message_get_packed_size(&big.base);
	protobuf_c_message_pack(&big.base, buf);
	assert_int_equal(rpc_request_decode(buf, n, max_msg, &r, &st), RPC_OK);
	rpc_message_free(&r->base);
	/* ...and a whole message over max_msg is refused before parsing. */
	uint8_t *zeros = calloc(1, max_msg + 1);
	assert_non_null(zeros);
	assert_int_equal(rpc_request_decode(zeros, max_msg + 1, max_msg, &r, &st),
			 RPC_RESOURCE_EXHAUSTED);
	Mimamori__RpcReply *reply;
	assert_int_equal(rpc_reply_decode(zeros, max_msg + 1, max_msg, &reply, &st),
			 RPC_RESOURCE_EXHAUSTED);
	free(zeros);
	free(big.body.data);
	free(buf);
}

/* protobuf-c turns 2 bytes of wire (an empty repeated sub-message) into a
 * struct and a pointer: the budget stops that amplification. */
static void test_unpack_budget(void **state)
{
	(void)state;
	size_t n_guests = 30000;
	uint8_t *wire = malloc(2 * n_guests);
	assert_non_null(wire);
	for (size_t i = 0; i < n_guests; i++) {
		wire[2 * i] = (10 << 3) | 2; /* StatusReply.guests, length-delimited */
		wire[2 * i + 1] = 0;
	}
	ProtobufCMessage *m;
	struct rpc_status st;
	assert_int_equal(rpc_message_unpack(&mimamori__status_reply__descriptor, wire, 2 * n_guests,
					    RPC_UNPACK_BUDGET_FACTOR * RPC_DEFAULT_MAX_MSG, &m, &st),
			 RPC_RESOURCE_EXHAUSTED);
	assert_null(m);
	/* The same shape, smaller, unpacks. */
	assert_int_equal(rpc_message_unpack(&mimamori__status_reply__descriptor, wire, 2 * 1000,
					    RPC_UNPACK_BUDGET_FACTOR * RPC_DEFAULT_MAX_MSG, &m, &st),
			 RPC_OK);
	assert_int_equal(((Mimamori__StatusReply *)m)->n_guests, 1000);
	rpc_message_free(m);
	free(wire);
}

static void test_validate(void **state)
{
	(void)state;
	struct rpc_status st;
	uint8_t buf[512];
	ProtobufCMessage *m;

	/* Invalid UTF-8 deep in a repeated sub-message. */
	Mimamori__Event e0 = MIMAMORI__EVENT__INIT, e1 = MIMAMORI__EVENT__INIT;
	e0.kind = "proc_exit";
	e1.cause = "SIGKILL \xc3\x28";
	Mimamori__Event *events[] = {&e0, &e1};
	Mimamori__EventsReply er = MIMAMORI__EVENTS_REPLY__INIT;
	er.n_events = 2;
	er.events = events;
	size_t n = protobuf_c_message_pack(&er.base, buf);
	assert_int_equal(rpc_message_unpack(&mimamori__events_reply__descriptor, buf, n, 65536, &m,
					    &st),
			 RPC_INVALID_ARGUMENT);
	assert_string_equal(st.message, "Event.cause: not UTF-8");
	e1.cause = "SIGKILL from bash[4242]";
	n = protobuf_c_message_pack(&er.base, buf);
	assert_int_equal(rpc_message_unpack(&mimamori__events_reply__descriptor, buf, n, 65536, &m,
					    &st),
			 RPC_OK);
	rpc_message_free(m);

	/* An enum value the schema does not name (protobuf-c keeps it). */
	Mimamori__OutboxRequest req = MIMAMORI__OUTBOX_REQUEST__INIT;
	req.has_state = 1;
	req.state = (Mimamori__OutboxState)7;
	n = protobuf_c_message_pack(&req.base, buf);
	assert_int_equal(rpc_message_unpack(&mimamori__outbox_request__descriptor, buf, n, 65536, &m,
					    &st),
			 RPC_INVALID_ARGUMENT);
	assert_string_equal(st.message, "OutboxRequest.state: unknown enum value 7");
	req.state = MIMAMORI__OUTBOX_STATE__OUTBOX_STATE_FAILED;
	n = protobuf_c_message_pack(&req.base, buf);
	assert_int_equal(rpc_message_unpack(&mimamori__outbox_request__descriptor, buf, n, 65536, &m,
					    &st),
			 RPC_OK);
	rpc_message_free(m);

	/* Repeated strings are checked one by one. */
	char *caps[] = {"CAP_BPF", "CAP_\xff"};
	Mimamori__StatusReply sr = MIMAMORI__STATUS_REPLY__INIT;
	sr.n_capabilities = 2;
	sr.capabilities = caps;
	assert_int_equal(rpc_message_validate(&sr.base, &st), RPC_INVALID_ARGUMENT);
	assert_string_equal(st.message, "StatusReply.capabilities: not UTF-8");
	caps[1] = "CAP_PERFMON";
	assert_int_equal(rpc_message_validate(&sr.base, &st), RPC_OK);
}

/* Unknown fields are a newer peer's additions and pass; field number 0
 * (which protobuf-c accepts in overlong form, then repacks as bytes it
 * refuses) does not. */
static void test_unknown_fields(void **state)
{
	(void)state;
	ProtobufCMessage *m;
	struct rpc_status st;
	static const uint8_t field99[] = {0x98, 0x06, 0x05}; /* field 99, varint 5 */
	assert_int_equal(rpc_message_unpack(&mimamori__status_request__descriptor, field99,
					    sizeof(field99), 4096, &m, &st),
			 RPC_OK);
	assert_int_equal(m->n_unknown_fields, 1);
	rpc_message_free(m);
	static const uint8_t field0[] = {0x80, 0x00, 0x05}; /* tag 0, written in two bytes */
	assert_int_equal(rpc_message_unpack(&mimamori__status_request__descriptor, field0,
					    sizeof(field0), 4096, &m, &st),
			 RPC_INVALID_ARGUMENT);
	assert_string_equal(st.message, "StatusRequest: field number 0");
}

/* Nesting is bounded without recursion (Tree is the test schema's
 * deliberately recursive type). */
static void test_validate_depth(void **state)
{
	(void)state;
	Mimamori__Test__Tree nodes[RPC_MAX_NESTING + 1];
	for (size_t i = 0; i <= RPC_MAX_NESTING; i++) {
		mimamori__test__tree__init(&nodes[i]);
		nodes[i].label = "x";
		nodes[i].child = i < RPC_MAX_NESTING ? &nodes[i + 1] : NULL;
	}
	struct rpc_status st;
	/* RPC_MAX_NESTING levels: fine. */
	nodes[RPC_MAX_NESTING - 1].child = NULL;
	assert_int_equal(rpc_message_validate(&nodes[0].base, &st), RPC_OK);
	/* One more: refused. */
	nodes[RPC_MAX_NESTING - 1].child = &nodes[RPC_MAX_NESTING];
	assert_int_equal(rpc_message_validate(&nodes[0].base, &st), RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "nested deeper"));
	/* Bad text below the limit is still found. */
	nodes[RPC_MAX_NESTING - 1].child = NULL;
	nodes[5].label = "\x80";
	assert_int_equal(rpc_message_validate(&nodes[0].base, &st), RPC_INVALID_ARGUMENT);
	assert_string_equal(st.message, "Tree.label: not UTF-8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_method_names),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_garbage_envelopes),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_unpack_budget),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_validate_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
