/* Mutual TLS between nodes (tls+tcp): a round trip with the caller's
 * verified certificate name visible to the handler, and every way a peer
 * must be turned away: no client certificate, a certificate from another
 * CA (either side), a server that is not the node the client asked for,
 * plain TCP on the TLS port. Certificates come from mkcerts.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "tests/rpc/testsvc.h"

#define SVC (&mimamori__test__test_svc__descriptor)

struct fixture {
	struct testsvc t;
	struct rpc_server *s;
	char url[128];
	char ca[256], rogue_ca[256];
	char node[4][256]; /* node1..node3 */
	char nocn[256], rogue[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	test_cert(f->ca, sizeof(f->ca), "ca.crt");
	test_cert(f->rogue_ca, sizeof(f->rogue_ca), "rogueca.crt");
	for (int i = 1; i <= 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "node%d.pem", i);
		test_cert(f->node[i], sizeof(f->node[i]), name);
	}
	test_cert(f->nocn, sizeof(f->nocn), "nocn.pem");
	test_cert(f->rogue, sizeof(f->rogue), "rogue.pem");
	testsvc_init(&f->t);
	/* The server is node1. */
	struct rpc_tls_files tls = {.ca_file = f->ca, .cert_key_file = f->node[1]};
	struct rpc_server_opts so = {.tls = &tls};
	f->s = test_server("tls+tcp://127.0.0.1:0", &f->t, &so, f->url, sizeof(f->url));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	testsvc_release(&f->t);
	rpc_server_close(f->s);
	testsvc_fini(&f->t);
	free(f);
	return 0;
}

/* Connects as cert (signed by ca) expecting the server to be server_name;
 * returns the nng error of the first connection. */
static int try_connect(struct fixture *f, const char *ca, const char *cert,
		       const char *server_name, struct rpc_client **out)
{
	struct rpc_tls_files tls = {.ca_file = ca, .cert_key_file = cert,
				    .server_name = server_name};
	struct rpc_client_opts co = {.wait_connected = true, .tls = &tls};
	char err[256];
	*out = NULL;
	return rpc_client_new(out, f->url, &co, err, sizeof(err));
}

static Mimamori__Test__EchoReply *echo_ok(struct rpc_client *c, const char *text)
{
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	req.text = (char *)text;
	ProtobufCMessage *m;
	struct rpc_status st;
	uint32_t code = rpc_call(c, SVC, "Echo", &req.base, &m, 5000, &st);
	if (code != RPC_OK)
		fail_msg("Echo: %s: %s", rpc_status_name(code), st.message);
	return (Mimamori__Test__EchoReply *)m;
}

static void test_round_trip_peer_name(void **state)
{
	struct fixture *f = *state;
	struct rpc_client *c;
	assert_int_equal(try_connect(f, f->ca, f->node[2], "node1.mesh.test", &c), 0);
	Mimamori__Test__EchoReply *r = echo_ok(c, "over TLS");
	assert_string_equal(r->text, "over TLS");
	/* The handler sees who called, from the verified certificate. */
	assert_string_equal(r->peer_name, "node2.mesh.test");
	assert_non_null(strstr(r->peer_addr, "127.0.0.1:"));
	assert_false(r->has_peer_cred);
	rpc_message_free(&r->base);
	rpc_client_close(c);
}

/* Two callers on two connections, calls interleaved: each call reports
 * its own connection's name (the engine hands names over per thread). */
static void test_peer_name_per_connection(void **state)
{
	struct fixture *f = *state;
	struct rpc_client *c2, *c3;
	assert_int_equal(try_connect(f, f->ca, f->node[2], "node1.mesh.test", &c2), 0);
	assert_int_equal(try_connect(f, f->ca, f->node[3], "node1.mesh.test", &c3), 0);
	for (int i = 0; i < 20; i++) {
		Mimamori__Test__EchoReply *r = echo_ok(i % 2 ? c2 : c3, "x");
		assert_string_equal(r->peer_name, i % 2 ? "node2.mesh.test" : "node3.mesh.test");
		rpc_message_free(&r->base);
	}
	rpc_client_close(c2);
	rpc_client_close(c3);
}

/* A certificate from the cluster CA without a usable common name gets
 * through TLS, but the handler learns no name (and would refuse). */
static void test_no_common_name(void **state)
{
	struct fixture *f = *state;
	struct rpc_client *c;
	assert_int_equal(try_connect(f, f->ca, f->nocn, "node1.mesh.test", &c), 0);
	Mimamori__Test__EchoReply *r = echo_ok(c, "who am I");
	assert_string_equal(r->peer_name, "");
	rpc_message_free(&r->base);
	rpc_client_close(c);
}

static void test_client_without_certificate(void **state)
{
	struct fixture *f = *state;
	/* rpc_tls_config insists on a certificate: build the client by hand. */
	char err[256];
	struct rpc_tls_files none = {.ca_file = f->ca, .server_name = "node1.mesh.test"};
	nng_tls_config *cfg;
	assert_int_not_equal(rpc_tls_config(&cfg, NNG_TLS_MODE_CLIENT, &none, err, sizeof(err)), 0);
	assert_int_equal(rpc_tls_engine_install(), 0);
	assert_int_equal(nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT), 0);
	assert_int_equal(nng_tls_config_ca_file(cfg, f->ca), 0);
	assert_int_equal(nng_tls_config_server_name(cfg, "node1.mesh.test"), 0);
	nng_socket s;
	assert_int_equal(nng_req0_open(&s), 0);
	nng_dialer d;
	assert_int_equal(nng_dialer_create(&d, s, f->url), 0);
	assert_int_equal(nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg), 0);
	assert_int_not_equal(nng_dialer_start(d, 0), 0);
	nng_tls_config_free(cfg);
	nng_close(s);
	assert_int_equal(testsvc_echo_calls(&f->t), 0);
}

static void test_client_from_rogue_ca(void **state)
{
	struct fixture *f = *state;
	struct rpc_client *c;
	/* Its certificate claims node2 but chains to another CA. */
	assert_int_not_equal(try_connect(f, f->ca, f->rogue, "node1.mesh.test", &c), 0);
	assert_null(c);
	/* Even when the client trusts that CA itself. */
	assert_int_not_equal(try_connect(f, f->rogue_ca, f->rogue, "node1.mesh.test", &c), 0);
	assert_int_equal(testsvc_echo_calls(&f->t), 0);
}

static void test_server_from_rogue_ca(void **state)
{
	struct fixture *f = *state;
	/* A server impersonating node2 with the rogue CA's certificate. */
	struct rpc_tls_files tls = {.ca_file = f->rogue_ca, .cert_key_file = f->rogue};
	struct rpc_server_opts so = {.tls = &tls};
	struct testsvc t;
	testsvc_init(&t);
	char url[128];
	struct rpc_server *rogue = test_server("tls+tcp://127.0.0.1:0", &t, &so, url, sizeof(url));
	struct rpc_tls_files mine = {.ca_file = f->ca, .cert_key_file = f->node[3],
				     .server_name = "node2.mesh.test"};
	struct rpc_client_opts co = {.wait_connected = true, .tls = &mine};
	struct rpc_client *c = NULL;
	char err[256];
	assert_int_not_equal(rpc_client_new(&c, url, &co, err, sizeof(err)), 0);
	assert_null(c);
	assert_int_equal(testsvc_echo_calls(&t), 0);
	rpc_server_close(rogue);
	testsvc_fini(&t);
}

static void test_wrong_server_name(void **state)
{
	struct fixture *f = *state;
	struct rpc_client *c;
	/* The server is node1; a client that wants node3 must not talk to it. */
	assert_int_not_equal(try_connect(f, f->ca, f->node[2], "node3.mesh.test", &c), 0);
	assert_null(c);
}

static void test_plain_tcp_on_tls_port(void **state)
{
	struct fixture *f = *state;
	char url[128], err[256];
	snprintf(url, sizeof(url), "tcp://%s", f->url + strlen("tls+tcp://"));
	struct rpc_client *c;
	assert_int_equal(rpc_client_new(&c, url, NULL, err, sizeof(err)), 0);
	Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
	ProtobufCMessage *m;
	struct rpc_status st;
	assert_int_equal(rpc_call(c, SVC, "Echo", &req.base, &m, 300, &st), RPC_UNAVAILABLE);
	rpc_client_close(c);
	assert_int_equal(testsvc_echo_calls(&f->t), 0);
}

static void test_missing_tls_files(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct rpc_client *c;
	assert_int_not_equal(rpc_client_new(&c, f->url, NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "needs TLS files"));
	struct rpc_tls_files no_name = {.ca_file = f->ca, .cert_key_file = f->node[2]};
	struct rpc_client_opts co = {.tls = &no_name};
	assert_int_not_equal(rpc_client_new(&c, f->url, &co, err, sizeof(err)), 0);
	assert_string_equal(err, "tls: a client needs the server's expected name");
	struct rpc_tls_files missing = {.ca_file = "/nonexistent/ca.crt",
					.cert_key_file = f->node[2], .server_name = "x"};
	co.tls = &missing;
	assert_int_not_equal(rpc_client_new(&c, f->url, &co, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/ca.crt"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_peer_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_name_per_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_common_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_without_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_from_rogue_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_from_rogue_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_server_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_tcp_on_tls_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_tls_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
