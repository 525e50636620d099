/* Test fixtures shared by the RPC tests: the TestSvc handlers and their
 * observable state, a scratch directory with certificates, and a raw nng
 * REQ socket for sending bytes no well-behaved client would. */
#ifndef MIMAMORI_TESTS_RPC_TESTSVC_H
#define MIMAMORI_TESTS_RPC_TESTSVC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "proto/rpc.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "tests/rpc/testsvc.pb-c.h"

/* What the handlers did, for tests to wait on and assert. */
struct testsvc {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	unsigned echo_calls;
	unsigned sleep_calls;
	unsigned sleeping; /* handlers inside Sleep now */
	bool release;      /* Sleep returns at once */
};

void testsvc_init(struct testsvc *t);
void testsvc_fini(struct testsvc *t);
/* Wakes every Sleep now and makes later ones return at once. */
void testsvc_release(struct testsvc *t);
/* Waits until n handlers are inside Sleep; false after timeout_ms. */
bool testsvc_wait_sleeping(struct testsvc *t, unsigned n, unsigned timeout_ms);
unsigned testsvc_sleep_calls(struct testsvc *t);
unsigned testsvc_echo_calls(struct testsvc *t);

/* Handlers for Echo and Sleep; ctx is a struct testsvc. */
extern const struct rpc_handler testsvc_handlers[2];

/* A scratch directory for this process, removed at exit. */
const char *test_dir(void);
/* test_dir()/name into out. */
void test_path(char *out, size_t outlen, const char *name);
/* Runs $RPC_MKCERTS once into test_dir()/certs and returns that dir. */
const char *test_certs(void);
/* test_certs()/name. */
void test_cert(char *out, size_t outlen, const char *name);

/* Starts a TestSvc server on url (tcp port 0 allowed) with opts (may be
 * NULL) and writes the URL clients dial into dial_url. Fails the test on
 * error. */
struct rpc_server *test_server(const char *url, struct testsvc *t,
			       const struct rpc_server_opts *opts, char *dial_url,
			       size_t dial_len);

/* A client connected to url (blocking dial); fails the test on error. */
struct rpc_client *test_connect(const char *url);

/* A raw REQ socket dialed (blocking) to url, resend off, 5 s timeouts. */
nng_socket raw_open(const char *url);
/* An encoded request envelope (malloc'd, *len bytes) around body. */
uint8_t *raw_request(const char *method, bool has_deadline, uint64_t deadline_ms,
		     const ProtobufCMessage *body, size_t *len);
/* Sends len bytes and decodes the reply envelope: RPC_OK with *reply
 * (free with rpc_message_free) or the nng error as a negative number. */
int raw_exchange(nng_socket s, const void *data, size_t len, Mimamori__RpcReply **reply);

/* A raw-mode REQ socket dialed to url, for bytes the server should drop
 * the link for: it keeps no request state (nng 1.5.2 may leak a cooked
 * REQ connection reset with a request pending) and redials only after a
 * minute (idle when closed). raw_wait_dropped() waits until its link is
 * gone; one such socket at a time. */
nng_socket raw_sender(const char *url);
bool raw_wait_dropped(unsigned timeout_s);

#endif
