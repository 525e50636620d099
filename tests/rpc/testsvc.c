/* See testsvc.h. */
#include "tests/rpc/testsvc.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/protocol/reqrep0/req.h>

#include "rpc/envelope.h"
#include "rpc/message.h"

void testsvc_init(struct testsvc *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
}

void testsvc_fini(struct testsvc *t)
{
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
}

void testsvc_release(struct testsvc *t)
{
	pthread_mutex_lock(&t->lock);
	t->release = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static struct timespec after_ms(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

bool testsvc_wait_sleeping(struct testsvc *t, unsigned n, unsigned timeout_ms)
{
	struct timespec until = after_ms(timeout_ms);
	pthread_mutex_lock(&t->lock);
	int rv = 0;
	while (t->sleeping < n && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&t->cond, &t->lock, &until);
	bool ok = t->sleeping >= n;
	pthread_mutex_unlock(&t->lock);
	return ok;
}

unsigned testsvc_sleep_calls(struct testsvc *t)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->sleep_calls;
	pthread_mutex_unlock(&t->lock);
	return n;
}

unsigned testsvc_echo_calls(struct testsvc *t)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->echo_calls;
	pthread_mutex_unlock(&t->lock);
	return n;
}

static uint32_t echo(void *ctx, struct rpc_call *call, const ProtobufCMessage *req_,
		     ProtobufCMessage *reply_)
{
	struct testsvc *t = ctx;
	const Mimamori__Test__EchoRequest *req = (const Mimamori__Test__EchoRequest *)req_;
	Mimamori__Test__EchoReply *r = (Mimamori__Test__EchoReply *)reply_;
	pthread_mutex_lock(&t->lock);
	t->echo_calls++;
	pthread_mutex_unlock(&t->lock);

	if (req->has_fail_code)
		return rpc_call_error(call, req->fail_code, "asked to fail: %s",
				      req->text != NULL ? req->text : "");
	r->text = rpc_call_strdup(call, req->text);
	size_t blob = (req->has_blob ? req->blob.len : 0) + (req->has_pad_reply ? req->pad_reply : 0);
	if (blob > 0) {
		uint8_t *b = rpc_call_alloc(call, blob);
		if (b == NULL)
			return rpc_call_error(call, RPC_RESOURCE_EXHAUSTED, "arena spent");
		if (req->has_blob)
			memcpy(b, req->blob.data, req->blob.len);
		r->has_blob = 1;
		r->blob.data = b;
		r->blob.len = blob;
	}
	const struct rpc_peer *p = rpc_call_peer(call);
	r->peer_name = rpc_call_strdup(call, p->name);
	r->peer_addr = rpc_call_strdup(call, p->addr);
	r->has_has_peer_cred = 1;
	r->has_peer_cred = p->has_cred;
	if (p->has_cred) {
		r->has_peer_uid = 1;
		r->peer_uid = p->uid;
	}
	r->method = rpc_call_strdup(call, rpc_call_method(call));
	r->has_call_id = 1;
	r->call_id = rpc_call_id(call);
	if (req->has_bad_reply && req->bad_reply)
		r->text = (char *)"\xff\xfe not UTF-8";
	return RPC_OK;
}

static uint32_t sleep_handler(void *ctx, struct rpc_call *call, const ProtobufCMessage *req_,
			      ProtobufCMessage *reply_)
{
	(void)call;
	struct testsvc *t = ctx;
	const Mimamori__Test__SleepRequest *req = (const Mimamori__Test__SleepRequest *)req_;
	Mimamori__Test__SleepReply *r = (Mimamori__Test__SleepReply *)reply_;
	struct timespec t0, t1, until = after_ms(req->ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&t->lock);
	t->sleep_calls++;
	t->sleeping++;
	pthread_cond_broadcast(&t->cond);
	int rv = 0;
	while (!t->release && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&t->cond, &t->lock, &until);
	t->sleeping--;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->has_slept_ms = 1;
	r->slept_ms = (uint32_t)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	return RPC_OK;
}

const struct rpc_handler testsvc_handlers[2] = {
	{"Echo", echo},
	{"Sleep", sleep_handler},
};

/* ---- scratch directory and certificates ---- */

/* under TMPDIR [/tmp]; its ipc sockets must fit in sun_path (108 bytes) */
static char dir[80];
static char certs[128];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_dir(void)
{
	if (dir[0] != '\0')
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_dir(void)
{
	if (dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		int n;

		if (tmp == NULL || tmp[0] == '\0')
			tmp = "/tmp";
		n = snprintf(dir, sizeof(dir), "%s/rpc-test.XXXXXX", tmp);
		if (n < 0 || (size_t)n >= sizeof(dir)) {
			dir[0] = '\0';
			fail_msg("TMPDIR=%s is too long for the test's ipc socket paths", tmp);
		}
		if (mkdtemp(dir) == NULL) {
			int e = errno;

			dir[0] = '\0';
			fail_msg("mkdtemp under %s: %s", tmp, strerror(e));
		}
		atexit(remove_dir);
	}
	return dir;
}

void test_path(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", test_dir(), name);
}

const char *test_certs(void)
{
	if (certs[0] != '\0')
		return certs;
	const char *script = getenv("RPC_MKCERTS");
	assert_non_null(script);
	test_path(certs, sizeof(certs), "certs");
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", script, certs, (char *)NULL);
		_exit(127);
	}
	int status;
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return certs;
}

void test_cert(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", test_certs(), name);
}

struct rpc_server *test_server(const char *url, struct testsvc *t,
			       const struct rpc_server_opts *opts, char *dial_url, size_t dial_len)
{
	char err[256];
	struct rpc_server *s = NULL;
	int rv = rpc_server_new(&s, url, &mimamori__test__test_svc__descriptor, testsvc_handlers, 2,
				t, opts, err, sizeof(err));
	if (rv != 0)
		fail_msg("rpc_server_new %s: %s", url, err);
	int port = rpc_server_port(s);
	const char *colon = strrchr(url, ':');
	if (port > 0 && colon != NULL)
		snprintf(dial_url, dial_len, "%.*s:%d", (int)(colon - url), url, port);
	else
		snprintf(dial_url, dial_len, "%s", url);
	return s;
}

/* ---- raw REQ socket ---- */

nng_socket raw_open(const char *url)
{
	nng_socket s;
	assert_int_equal(nng_req0_open(&s), 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE), 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000), 0);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000), 0);
	int rv = nng_dial(s, url, NULL, 0);
	if (rv != 0)
		fail_msg("dial %s: %s", url, nng_strerror(rv));
	return s;
}

uint8_t *raw_request(const char *method, bool has_deadline, uint64_t deadline_ms,
		     const ProtobufCMessage *body, size_t *len)
{
	struct rpc_request_head h = {.call_id = 77, .method = method, .has_deadline = has_deadline,
				     .deadline_ms = deadline_ms};
	size_t body_len = body != NULL ? protobuf_c_message_get_packed_size(body) : 0;
	*len = rpc_request_size(&h, body_len);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	rpc_request_pack(&h, body, body_len, buf);
	return buf;
}

int raw_exchange(nng_socket s, const void *data, size_t len, Mimamori__RpcReply **reply)
{
	*reply = NULL;
	int rv = nng_send(s, (void *)data, len, 0);
	if (rv != 0)
		return -rv;
	nng_msg *m;
	if ((rv = nng_recvmsg(s, &m, 0)) != 0)
		return -rv;
	struct rpc_status st;
	uint32_t code = rpc_reply_decode(nng_msg_body(m), nng_msg_len(m), RPC_DEFAULT_MAX_MSG, reply,
					 &st);
	nng_msg_free(m);
	if (code != RPC_OK)
		fail_msg("undecodable reply: %s", st.message);
	return 0;
}

struct rpc_client *test_connect(const char *url)
{
	char err[256];
	struct rpc_client_opts co = {.wait_connected = true};
	struct rpc_client *c = NULL;
	int rv = rpc_client_new(&c, url, &co, err, sizeof(err));
	if (rv != 0)
		fail_msg("connect %s: %s", url, err);
	return c;
}

/* Set by raw_sender's pipe callback when its link is gone. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool removed;
} dropped = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};

static void on_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)ev;
	(void)arg;
	pthread_mutex_lock(&dropped.lock);
	dropped.removed = true;
	pthread_cond_broadcast(&dropped.cond);
	pthread_mutex_unlock(&dropped.lock);
}

nng_socket raw_sender(const char *url)
{
	nng_socket raw;
	assert_int_equal(nng_req0_open_raw(&raw), 0);
	assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_RECONNMINT, 60000), 0);
	assert_int_equal(nng_socket_set_ms(raw, NNG_OPT_RECONNMAXT, 60000), 0);
	assert_int_equal(nng_pipe_notify(raw, NNG_PIPE_EV_REM_POST, on_pipe_removed, NULL), 0);
	pthread_mutex_lock(&dropped.lock);
	dropped.removed = false;
	pthread_mutex_unlock(&dropped.lock);
	assert_int_equal(nng_dial(raw, url, NULL, 0), 0);
	return raw;
}

bool raw_wait_dropped(unsigned timeout_s)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s;
	pthread_mutex_lock(&dropped.lock);
	int rv = 0;
	while (!dropped.removed && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&dropped.cond, &dropped.lock, &until);
	bool removed = dropped.removed;
	pthread_mutex_unlock(&dropped.lock);
	return removed;
}
