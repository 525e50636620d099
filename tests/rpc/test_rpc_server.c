/* Client and server over ipc and tcp: round trips, what the server answers
 * to unknown methods, garbage, oversize messages, spent deadlines and slow
 * handlers (and that it keeps serving afterwards), concurrency, async
 * calls, closing with calls in flight, reconnection, stopping
 * and the ipc socket's permissions. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>

#include "rpc/client.h"
#include "os/clock.h"
#include "rpc/message.h"
#include "rpc/server.h"
#include "tests/rpc/testsvc.h"

#define SVC (&mimamori__test__test_svc__descriptor)
#define DEADLINE_MS 5000

static uint32_t echo(struct rpc_client *c, const Mimamori__Test__EchoRequest *req,
		     Mimamori__Test__EchoReply **reply, struct rpc_status *st)
{
	ProtobufCMessage *m = NULL;
	uint32_t code = rpc_call(c, SVC, "Echo", &req->base, &m, DEADLINE_MS, st);
	*reply = (Mimamori__Test__EchoReply *)m;
	assert_true((code == RPC_OK) == (m != NULL));
	assert_int_equal(st->code, code);
	return code;
}

static void round_trip(const char *url, bool ipc)
{
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server(url, &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);
	assert_true(rpc_client_connected(c));

	uint8_t blob[300];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	req.text = "\xe8\xa6\x8b\xe5\xae\x88\xe3\x82\x8a hello";
	req.has_blob = 1;
	req.blob.data = blob;
	req.blob.len = sizeof(blob);
	Mimamori__Test__EchoReply *r;
	struct rpc_status st;
	assert_int_equal(echo(c, &req, &r, &st), RPC_OK);
	assert_string_equal(st.message, "");
	assert_string_equal(r->text, req.text);
	assert_true(r->has_blob);
	assert_memory_equal(r->blob.data, blob, sizeof(blob));
	assert_string_equal(r->method, "mimamori.test.TestSvc/Echo");
	assert_true(r->has_call_id && r->call_id != 0);
	if (ipc) {
		/* The server sees the calling process's credentials. */
		assert_true(r->has_peer_cred);
		assert_int_equal(r->peer_uid, getuid());
	} else {
		assert_false(r->has_peer_cred);
		assert_non_null(strstr(r->peer_addr, "127.0.0.1:"));
	}
	assert_string_equal(r->peer_name, "");
	uint64_t first_id = r->call_id;
	rpc_message_free(&r->base);

	/* A second call on the same connection gets a new call id. */
	assert_int_equal(echo(c, &req, &r, &st), RPC_OK);
	assert_true(r->call_id != first_id);
	rpc_message_free(&r->base);

	struct rpc_server_stats stats;
	rpc_server_get_stats(s, &stats);
	assert_int_equal(stats.calls, 2);
	assert_int_equal(stats.by_code[RPC_OK], 2);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

static void test_round_trip_ipc(void **state)
{
	(void)state;
	char url[160], path[128];
	test_path(path, sizeof(path), "rt.sock");
	snprintf(url, sizeof(url), "ipc://%s", path);
	round_trip(url, true);
}

static void test_round_trip_tcp(void **state)
{
	(void)state;
	round_trip("tcp://127.0.0.1:0", false);
}

static void test_unknown_method(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	/* A server that only implements Echo. */
	struct rpc_server *s;
	char err[256];
	assert_int_equal(rpc_server_new(&s, "tcp://127.0.0.1:0", SVC, testsvc_handlers, 1, &t,
					NULL, err, sizeof(err)),
			 0);
	snprintf(dial, sizeof(dial), "tcp://127.0.0.1:%d", rpc_server_port(s));
	struct rpc_client *c = test_connect(dial);

	Mimamori__Test__SleepRequest sreq = MIMAMORI__TEST__SLEEP_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_status st;
	assert_int_equal(rpc_call(c, SVC, "Sleep", &sreq.base, &reply, DEADLINE_MS, &st),
			 RPC_UNIMPLEMENTED);
	assert_null(reply);
	assert_string_equal(st.message, "unknown method mimamori.test.TestSvc/Sleep");
	/* Not in the service at all: refused before anything is sent. */
	assert_int_equal(rpc_call(c, SVC, "Nope", &sreq.base, &reply, DEADLINE_MS, &st),
			 RPC_UNIMPLEMENTED);
	/* A request of the wrong type for the method. */
	assert_int_equal(rpc_call(c, SVC, "Echo", &sreq.base, &reply, DEADLINE_MS, &st),
			 RPC_INVALID_ARGUMENT);

	/* Unknown names on the wire, including another service's method. */
	nng_socket raw = raw_open(dial);
	const char *names[] = {"mimamori.test.TestSvc/Nope", "mimamori.Control/Status",
			       "mimamori.test.TestSvcX/Echo"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;
		uint8_t *buf = raw_request(names[i], true, 1000, NULL, &len);
		Mimamori__RpcReply *rep;
		assert_int_equal(raw_exchange(raw, buf, len, &rep), 0);
		assert_int_equal(rep->code, RPC_UNIMPLEMENTED);
		assert_int_equal(rep->call_id, 77);
		rpc_message_free(&rep->base);
		free(buf);
	}
	nng_close(raw);
	assert_int_equal(testsvc_sleep_calls(&t), 0);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

static void test_unknown_handler_name_refused(void **state)
{
	(void)state;
	struct rpc_handler bad[] = {{"Ech0", testsvc_handlers[0].fn}};
	struct rpc_server *s = (struct rpc_server *)1;
	char err[256];
	assert_int_not_equal(rpc_server_new(&s, "tcp://127.0.0.1:0", SVC, bad, 1, NULL, NULL, err,
					    sizeof(err)),
			     0);
	assert_null(s);
	assert_string_equal(err, "mimamori.test.TestSvc has no method Ech0");
	assert_int_not_equal(rpc_server_new(&s, "inproc://x", SVC, testsvc_handlers, 2, NULL, NULL,
					    err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "only ipc://, tcp:// and tls+tcp://"));
}

/* Bytes that are no envelope get INVALID_ARGUMENT, and the same socket's
 * next, valid request is served. */
static void test_garbage_then_valid(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	nng_socket raw = raw_open(dial);

	static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	Mimamori__RpcReply *rep;
	assert_int_equal(raw_exchange(raw, junk, sizeof(junk), &rep), 0);
	assert_int_equal(rep->code, RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(rep->message, "do not parse"));
	rpc_message_free(&rep->base);

	/* A valid envelope whose body is garbage for EchoRequest. */
	Mimamori__RpcRequest env = MIMAMORI__RPC_REQUEST__INIT;
	env.method = "mimamori.test.TestSvc/Echo";
	env.has_body = 1;
	env.body.data = (uint8_t *)junk;
	env.body.len = sizeof(junk);
	uint8_t buf[128];
	size_t n = protobuf_c_message_pack(&env.base, buf);
	assert_int_equal(raw_exchange(raw, buf, n, &rep), 0);
	assert_int_equal(rep->code, RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(rep->message, "mimamori.test.EchoRequest"));
	rpc_message_free(&rep->base);

	/* Text that is not UTF-8, and an enum value the schema lacks. */
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	req.text = "\xc3\x28";
	size_t len;
	uint8_t *b = raw_request("mimamori.test.TestSvc/Echo", true, 1000, &req.base, &len);
	assert_int_equal(raw_exchange(raw, b, len, &rep), 0);
	assert_int_equal(rep->code, RPC_INVALID_ARGUMENT);
	assert_string_equal(rep->message, "EchoRequest.text: not UTF-8");
	rpc_message_free(&rep->base);
	free(b);
	req.text = "ok";
	req.has_color = 1;
	req.color = (Mimamori__Test__Color)9;
	b = raw_request("mimamori.test.TestSvc/Echo", true, 1000, &req.base, &len);
	assert_int_equal(raw_exchange(raw, b, len, &rep), 0);
	assert_int_equal(rep->code, RPC_INVALID_ARGUMENT);
	rpc_message_free(&rep->base);
	free(b);
	assert_int_equal(testsvc_echo_calls(&t), 0);

	/* The same socket, a valid call. */
	req.color = MIMAMORI__TEST__COLOR__COLOR_RED;
	req.text = "after garbage";
	b = raw_request("mimamori.test.TestSvc/Echo", true, 1000, &req.base, &len);
	assert_int_equal(raw_exchange(raw, b, len, &rep), 0);
	assert_int_equal(rep->code, RPC_OK);
	ProtobufCMessage *m;
	struct rpc_status st;
	assert_int_equal(rpc_message_unpack(&mimamori__test__echo_reply__descriptor, rep->body.data,
					    rep->body.len, 65536, &m, &st),
			 RPC_OK);
	assert_string_equal(((Mimamori__Test__EchoReply *)m)->text, "after garbage");
	rpc_message_free(m);
	rpc_message_free(&rep->base);
	free(b);
	nng_close(raw);

	struct rpc_server_stats stats;
	rpc_server_get_stats(s, &stats);
	assert_int_equal(stats.by_code[RPC_INVALID_ARGUMENT], 4);
	assert_int_equal(stats.by_code[RPC_OK], 1);
	rpc_server_close(s);
	testsvc_fini(&t);
}

static void test_oversize(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);

	/* A request too big to send is refused by the client itself. */
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	req.has_blob = 1;
	req.blob.len = 70 * 1024;
	req.blob.data = calloc(1, req.blob.len);
	assert_non_null(req.blob.data);
	Mimamori__Test__EchoReply *r;
	struct rpc_status st;
	assert_int_equal(echo(c, &req, &r, &st), RPC_RESOURCE_EXHAUSTED);

	/* One sent anyway, a well-formed REQ message (request id in its
	 * header) that only the size limit stops, makes the server drop that
	 * link without reading it. */
	nng_socket raw = raw_sender(dial);
	nng_msg *big;
	assert_int_equal(nng_msg_alloc(&big, 200 * 1024), 0);
	memset(nng_msg_body(big), 0x5a, nng_msg_len(big));
	assert_int_equal(nng_msg_header_append_u32(big, 0x80000001u), 0);
	assert_int_equal(nng_sendmsg(raw, big, 0), 0);
	assert_true(raw_wait_dropped(5));
	nng_close(raw);
	struct rpc_server_stats stats;
	rpc_server_get_stats(s, &stats);
	assert_int_equal(stats.calls, 0);

	/* A reply that would be too big is refused by the server. */
	req.blob.len = 10;
	req.has_pad_reply = 1;
	req.pad_reply = 100 * 1024;
	assert_int_equal(echo(c, &req, &r, &st), RPC_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(st.message, "reply of"));

	/* And the server still serves. */
	req.has_pad_reply = 0;
	req.text = "still here";
	assert_int_equal(echo(c, &req, &r, &st), RPC_OK);
	assert_string_equal(r->text, "still here");
	rpc_message_free(&r->base);
	assert_int_equal(testsvc_echo_calls(&t), 2);
	free(req.blob.data);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

static void test_deadline_already_passed(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);

	/* The client does not even send a call whose budget is 0. */
	Mimamori__Test__SleepRequest sreq = MIMAMORI__TEST__SLEEP_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_status st;
	assert_int_equal(rpc_call(c, SVC, "Sleep", &sreq.base, &reply, 0, &st),
			 RPC_DEADLINE_EXCEEDED);
	assert_int_equal(rpc_call(c, SVC, "Sleep", &sreq.base, &reply, RPC_MAX_DEADLINE_MS + 1, &st),
			 RPC_INVALID_ARGUMENT);
	struct rpc_server_stats stats;
	rpc_server_get_stats(s, &stats);
	assert_int_equal(stats.calls, 0);

	/* The server does not run the handler for one that arrives spent
	 * (a forwarded call, a caller with a slow clock). */
	nng_socket raw = raw_open(dial);
	size_t len;
	uint8_t *b = raw_request("mimamori.test.TestSvc/Sleep", true, 0, &sreq.base, &len);
	Mimamori__RpcReply *rep;
	assert_int_equal(raw_exchange(raw, b, len, &rep), 0);
	assert_int_equal(rep->code, RPC_DEADLINE_EXCEEDED);
	assert_false(rep->has_body);
	rpc_message_free(&rep->base);
	free(b);
	nng_close(raw);
	assert_int_equal(testsvc_sleep_calls(&t), 0);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* The client gives up at its deadline, not when the handler is done. */
static void test_slow_handler_client_deadline(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);

	Mimamori__Test__SleepRequest sreq = MIMAMORI__TEST__SLEEP_REQUEST__INIT;
	sreq.has_ms = 1;
	sreq.ms = 10000;
	ProtobufCMessage *reply;
	struct rpc_status st;
	uint64_t t0 = mono_ns();
	assert_int_equal(rpc_call(c, SVC, "Sleep", &sreq.base, &reply, 200, &st),
			 RPC_DEADLINE_EXCEEDED);
	uint64_t ms = (mono_ns() - t0) / 1000000u;
	assert_true(ms >= 190);
	assert_true(ms < 2000); /* ~200; generous for a loaded machine */
	assert_string_equal(st.message, "no reply within 200 ms");
	assert_int_equal(testsvc_sleep_calls(&t), 1);
	/* Close before the handler can answer (see rpc_client_close). */
	rpc_client_close(c);
	testsvc_release(&t);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* A handler that overran the request's deadline gets DEADLINE_EXCEEDED
 * from the server, not its (late) success. */
static void test_slow_handler_server_deadline(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	nng_socket raw = raw_open(dial); /* waits 5 s: longer than the handler */
	Mimamori__Test__SleepRequest sreq = MIMAMORI__TEST__SLEEP_REQUEST__INIT;
	sreq.has_ms = 1;
	sreq.ms = 300;
	size_t len;
	uint8_t *b = raw_request("mimamori.test.TestSvc/Sleep", true, 100, &sreq.base, &len);
	Mimamori__RpcReply *rep;
	assert_int_equal(raw_exchange(raw, b, len, &rep), 0);
	assert_int_equal(rep->code, RPC_DEADLINE_EXCEEDED);
	assert_non_null(strstr(rep->message, "of a 100 ms budget"));
	assert_false(rep->has_body);
	rpc_message_free(&rep->base);
	free(b);
	nng_close(raw);
	rpc_server_close(s);
	testsvc_fini(&t);
}

static void test_handler_errors(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	Mimamori__Test__EchoReply *r;
	struct rpc_status st;

	req.text = "entry 5";
	req.has_fail_code = 1;
	req.fail_code = RPC_NOT_FOUND;
	assert_int_equal(echo(c, &req, &r, &st), RPC_NOT_FOUND);
	assert_string_equal(st.message, "asked to fail: entry 5");
	req.fail_code = 99; /* not a status code */
	assert_int_equal(echo(c, &req, &r, &st), RPC_INTERNAL);
	assert_string_equal(st.message, "handler returned code 99");

	/* A handler's reply that would not validate is an INTERNAL error
	 * on the server, not garbage for the client. */
	req.has_fail_code = 0;
	req.has_bad_reply = 1;
	req.bad_reply = 1;
	assert_int_equal(echo(c, &req, &r, &st), RPC_INTERNAL);
	assert_string_equal(st.message, "handler's reply: EchoReply.text: not UTF-8");

	/* Text copied with rpc_call_strdup is made printable. */
	req.has_bad_reply = 0;
	req.text = "tab\there\x7f";
	assert_int_equal(echo(c, &req, &r, &st), RPC_OK);
	assert_string_equal(r->text, "tab?here?");
	rpc_message_free(&r->base);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* ---- asynchronous calls ---- */

struct outcome {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned done;
	unsigned ok;
	unsigned mismatched;
};

struct pending {
	struct outcome *o;
	char expect[32];
};

static void outcome_init(struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
}

static void on_done(void *arg, const struct rpc_status *st, ProtobufCMessage *reply)
{
	struct pending *p = arg;
	struct outcome *o = p->o;
	bool match = true;
	if (reply != NULL && reply->descriptor == &mimamori__test__echo_reply__descriptor)
		match = strcmp(((Mimamori__Test__EchoReply *)reply)->text, p->expect) == 0;
	rpc_message_free(reply);
	pthread_mutex_lock(&o->lock);
	o->done++;
	o->ok += st->code == RPC_OK;
	o->mismatched += !match;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

static bool outcome_wait(struct outcome *o, unsigned n, unsigned timeout_s)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s;
	pthread_mutex_lock(&o->lock);
	int rv = 0;
	while (o->done < n && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&o->cond, &o->lock, &until);
	bool ok = o->done >= n;
	pthread_mutex_unlock(&o->lock);
	return ok;
}

static void test_async_many(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256], path[128], url[160];
	test_path(path, sizeof(path), "async.sock");
	snprintf(url, sizeof(url), "ipc://%s", path);
	struct rpc_server *s = test_server(url, &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);
	enum { N = 64 };
	struct outcome o;
	outcome_init(&o);
	struct pending p[N];
	for (unsigned i = 0; i < N; i++) {
		p[i].o = &o;
		snprintf(p[i].expect, sizeof(p[i].expect), "call %u", i);
		Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
		req.text = p[i].expect;
		struct rpc_status st;
		assert_int_equal(rpc_call_async(c, SVC, "Echo", &req.base, DEADLINE_MS, on_done, &p[i],
						&st),
				 RPC_OK);
	}
	assert_true(outcome_wait(&o, N, 10));
	assert_int_equal(o.ok, N);
	assert_int_equal(o.mismatched, 0);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* With 4 workers, 4 calls run at once: all 4 handlers are seen inside
 * Sleep together (one worker could never get there). */
static void test_concurrent_workers(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server_opts so = {.workers = 4};
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, &so, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);
	struct outcome o;
	outcome_init(&o);
	struct pending p[4];
	for (unsigned i = 0; i < 4; i++) {
		p[i] = (struct pending){.o = &o};
		Mimamori__Test__SleepRequest req = MIMAMORI__TEST__SLEEP_REQUEST__INIT;
		req.has_ms = 1;
		req.ms = 20000;
		assert_int_equal(rpc_call_async(c, SVC, "Sleep", &req.base, 30000, on_done, &p[i],
						NULL),
				 RPC_OK);
	}
	assert_true(testsvc_wait_sleeping(&t, 4, 5000));
	testsvc_release(&t);
	assert_true(outcome_wait(&o, 4, 10));
	assert_int_equal(o.ok, 4);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

struct closer {
	pthread_t thread;
	struct rpc_client *c;
};

static void *close_client(void *arg)
{
	struct closer *cl = arg;
	rpc_client_close(cl->c);
	return NULL;
}

/* Closing a client lets its calls in flight finish, and every callback
 * has run when rpc_client_close returns. */
static void test_close_waits_for_calls(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	struct outcome o;
	outcome_init(&o);
	struct pending p[3];
	struct closer cl = {.c = test_connect(dial)};
	for (unsigned i = 0; i < 3; i++) {
		p[i] = (struct pending){.o = &o};
		Mimamori__Test__SleepRequest req = MIMAMORI__TEST__SLEEP_REQUEST__INIT;
		req.has_ms = 1;
		req.ms = 20000;
		assert_int_equal(rpc_call_async(cl.c, SVC, "Sleep", &req.base, 30000, on_done, &p[i],
						NULL),
				 RPC_OK);
	}
	assert_true(testsvc_wait_sleeping(&t, 3, 5000));
	assert_int_equal(pthread_create(&cl.thread, NULL, close_client, &cl), 0);
	testsvc_release(&t);
	assert_int_equal(pthread_join(cl.thread, NULL), 0);
	pthread_mutex_lock(&o.lock);
	assert_int_equal(o.done, 3);
	assert_int_equal(o.ok, 3);
	pthread_mutex_unlock(&o.lock);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* Too many calls in flight: refused at once, nothing started. */
static void test_inflight_limit(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	char err[256];
	struct rpc_client_opts co = {.wait_connected = true, .max_inflight = 2};
	struct rpc_client *c;
	assert_int_equal(rpc_client_new(&c, dial, &co, err, sizeof(err)), 0);
	struct outcome o;
	outcome_init(&o);
	struct pending p[2] = {{.o = &o}, {.o = &o}};
	Mimamori__Test__SleepRequest req = MIMAMORI__TEST__SLEEP_REQUEST__INIT;
	req.has_ms = 1;
	req.ms = 20000;
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(rpc_call_async(c, SVC, "Sleep", &req.base, 30000, on_done, &p[i],
						NULL),
				 RPC_OK);
	struct rpc_status st;
	assert_int_equal(rpc_call_async(c, SVC, "Sleep", &req.base, 30000, on_done, &p[0], &st),
			 RPC_RESOURCE_EXHAUSTED);
	assert_string_equal(st.message, "2 calls in flight");
	testsvc_release(&t);
	assert_true(outcome_wait(&o, 2, 10));
	assert_int_equal(o.ok, 2);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* ---- connections ---- */

static void test_not_connected(void **state)
{
	(void)state;
	char path[128], url[160], err[256];
	test_path(path, sizeof(path), "nobody.sock");
	snprintf(url, sizeof(url), "ipc://%s", path);
	struct rpc_client *c;
	struct rpc_client_opts wait = {.wait_connected = true};
	assert_int_not_equal(rpc_client_new(&c, url, &wait, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "connect ipc://"));

	/* In the background: calls fail UNAVAILABLE, not DEADLINE_EXCEEDED. */
	assert_int_equal(rpc_client_new(&c, url, NULL, err, sizeof(err)), 0);
	assert_false(rpc_client_connected(c));
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_status st;
	assert_int_equal(rpc_call(c, SVC, "Echo", &req.base, &reply, 200, &st), RPC_UNAVAILABLE);
	assert_non_null(strstr(st.message, "not connected"));

	/* The server comes up: the client connects by itself. */
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server(url, &t, NULL, dial, sizeof(dial));
	assert_int_equal(rpc_call(c, SVC, "Echo", &req.base, &reply, 5000, &st), RPC_OK);
	rpc_message_free(reply);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* test_server_restart's call that may be sent on the connection the old
 * server's close is ending. nng 1.5.2 then sometimes leaks the request
 * (~1 run in 200): REQ's pipe close stops the pipe's send aio before it
 * takes the pipe off the ready list, so a request handed to the pipe in
 * between is cloned into an aio the transport refuses (nni_aio_begin
 * fails, no callback) and nothing frees the clone. Not inlined: the
 * test's leak suppression (lsan.supp) names this function. */
__attribute__((noinline)) static uint32_t call_racing_connection_end(
	struct rpc_client *c, const Mimamori__Test__EchoRequest *req, ProtobufCMessage **reply,
	struct rpc_status *st)
{
	uint32_t code = rpc_call(c, SVC, "Echo", &req->base, reply, 5000, st);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keeps this frame */
	return code;
}

/* A restarted server on the same ipc path (stale socket file) is found
 * again by a client that stayed up. */
static void test_server_restart(void **state)
{
	(void)state;
	char path[128], url[160], dial[256];
	test_path(path, sizeof(path), "restart.sock");
	snprintf(url, sizeof(url), "ipc://%s", path);
	struct testsvc t;
	testsvc_init(&t);
	struct rpc_server *s = test_server(url, &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_status st;
	assert_int_equal(rpc_call(c, SVC, "Echo", &req.base, &reply, 5000, &st), RPC_OK);
	rpc_message_free(reply);
	rpc_server_close(s);
	s = test_server(url, &t, NULL, dial, sizeof(dial));
	/* A call that races the client noticing the old connection's end is
	 * sent on it and fails UNAVAILABLE (never resent behind the caller's
	 * back); the caller's retry reaches the new server. */
	uint32_t code = call_racing_connection_end(c, &req, &reply, &st);
	if (code == RPC_UNAVAILABLE)
		code = rpc_call(c, SVC, "Echo", &req.base, &reply, 5000, &st);
	assert_int_equal(code, RPC_OK);
	rpc_message_free(reply);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

/* After rpc_server_stop no handler runs: calls go unanswered (the
 * connection stays up) until the caller's deadline. */
static void test_server_stop(void **state)
{
	(void)state;
	struct testsvc t;
	testsvc_init(&t);
	char dial[256];
	struct rpc_server *s = test_server("tcp://127.0.0.1:0", &t, NULL, dial, sizeof(dial));
	struct rpc_client *c = test_connect(dial);
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_status st;
	assert_int_equal(rpc_call(c, SVC, "Echo", &req.base, &reply, 5000, &st), RPC_OK);
	rpc_message_free(reply);
	rpc_server_stop(s);
	rpc_server_stop(s); /* idempotent */
	assert_int_equal(rpc_call(c, SVC, "Echo", &req.base, &reply, 300, &st),
			 RPC_DEADLINE_EXCEEDED);
	assert_int_equal(testsvc_echo_calls(&t), 1);
	rpc_client_close(c);
	rpc_server_close(s);
	testsvc_fini(&t);
}

static void test_ipc_permissions(void **state)
{
	(void)state;
	char path[128], url[160], dial[256], err[256];
	struct testsvc t;
	testsvc_init(&t);
	struct stat sb;

	/* Default: 0660, group kept. */
	test_path(path, sizeof(path), "mode.sock");
	snprintf(url, sizeof(url), "ipc://%s", path);
	struct rpc_server *s = test_server(url, &t, NULL, dial, sizeof(dial));
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0660);
	rpc_server_close(s);

	/* A named group: chown :group, mode as asked. */
	struct group *gr = getgrnam("daemon");
	if (gr == NULL)
		gr = getgrgid(1);
	assert_non_null(gr);
	char group[64];
	snprintf(group, sizeof(group), "%s", gr->gr_name);
	gid_t gid = gr->gr_gid;
	struct rpc_server_opts so = {.ipc_group = group, .ipc_mode = 0660};
	s = test_server(url, &t, &so, dial, sizeof(dial));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0660);
	assert_int_equal(sb.st_gid, gid);
	assert_int_equal(sb.st_uid, getuid());
	rpc_server_close(s);

	/* An unknown group fails before anything listens. */
	test_path(path, sizeof(path), "nogroup.sock");
	snprintf(url, sizeof(url), "ipc://%s", path);
	so.ipc_group = "no-such-group-mimamori";
	assert_int_not_equal(rpc_server_new(&s, url, SVC, testsvc_handlers, 2, &t, &so, err,
					    sizeof(err)),
			     0);
	assert_string_equal(err, "group no-such-group-mimamori: no such group");
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);
	testsvc_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_ipc),
		cmocka_unit_test(test_round_trip_tcp),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_unknown_handler_name_refused),
		cmocka_unit_test(test_garbage_then_valid),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_deadline_already_passed),
		cmocka_unit_test(test_slow_handler_client_deadline),
		cmocka_unit_test(test_slow_handler_server_deadline),
		cmocka_unit_test(test_handler_errors),
		cmocka_unit_test(test_async_many),
		cmocka_unit_test(test_concurrent_workers),
		cmocka_unit_test(test_close_waits_for_calls),
		cmocka_unit_test(test_inflight_limit),
		cmocka_unit_test(test_not_connected),
		cmocka_unit_test(test_server_restart),
		cmocka_unit_test(test_server_stop),
		cmocka_unit_test(test_ipc_permissions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
