/* Asynchronous calls whose replies arrive just as their deadlines expire,
 * on a client closed (as the mesh's peer cache evicts one) while they are
 * in flight.
 *
 * nng's timer thread (nng:aio:expire) takes an expiring aio's cancel
 * function and its argument, the call's REQ context, under its lock and
 * calls it after dropping the lock; a reply landing in between completes
 * the call. A client that then closed the context (or the socket) before
 * that timer thread was done with it made nng read a freed context and
 * lock a freed mutex: the mesh soak's crash. The peer here is a raw REP
 * socket that takes every request, stops answering, and then answers them
 * all in one burst at about the calls' deadline, a little earlier or later
 * each round; the client is closed as soon as the last call is over.
 *
 * nng runs nothing of ours when it goes wrong, and AddressSanitizer does
 * not see into the system's libnng: meson runs this test with ASan's
 * free_fill (freed memory overwritten, as MALLOC_PERTURB_ does), so that
 * nng following a freed context's pointers crashes the test. Linked with
 * an ASan-built libnng (LD_LIBRARY_PATH) the old code was reported as a
 * heap-use-after-free in req0_ctx_cancel_recv within a few seconds.
 *
 * A reply arriving while a REQ socket closes can hang nng 1.5.2 (see
 * rpc/client.h), so each round ends with one more call, answered after
 * the burst: once it is back, every late reply has been read, and closing
 * races only the timer thread.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "rpc/client.h"
#include "os/clock.h"
#include "rpc/envelope.h"
#include "rpc/message.h"
#include "tests/rpc/testsvc.h"

#define SVC (&mimamori__test__test_svc__descriptor)

enum {
	CALLS = 64,      /* per round: the mesh's max_inflight per peer */
	DEADLINE_MS = 30,
	ROUNDS_DEFAULT = 300,
};

/* The peer: collects a round's requests, then answers them all at once at
 * the time the main thread set for the round. */
struct peer {
	nng_socket sock;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t answer_at_ns; /* 0: not yet known */
	unsigned expected;     /* requests of this round */
	unsigned round;        /* bumped by main for each round */
	unsigned answered;     /* rounds the peer has finished */
	bool stop;
};

static void sleep_until(uint64_t t_ns)
{
	uint64_t now = mono_ns();
	if (t_ns <= now)
		return;
	struct timespec ts = {.tv_sec = (time_t)((t_ns - now) / 1000000000u),
			      .tv_nsec = (long)((t_ns - now) % 1000000000u)};
	nanosleep(&ts, NULL);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	nng_msg *held[CALLS];
	unsigned seen_round = 0;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->round == seen_round)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		seen_round = p->round;
		unsigned want = p->expected;
		pthread_mutex_unlock(&p->lock);

		/* Take the round's requests without answering (a stopped peer). */
		unsigned n = 0;
		while (n < want) {
			nng_msg *m;
			int rv = nng_recvmsg(p->sock, &m, 0);
			if (rv == NNG_ETIMEDOUT)
				break; /* some calls failed to send: answer what came */
			assert_int_equal(rv, 0);
			held[n++] = m;
		}
		pthread_mutex_lock(&p->lock);
		while (p->answer_at_ns == 0)
			pthread_cond_wait(&p->cond, &p->lock);
		uint64_t at = p->answer_at_ns;
		pthread_mutex_unlock(&p->lock);

		/* Answer all at once; the raw socket routes each reply by the
		 * header its request came with. */
		sleep_until(at);
		struct rpc_reply_head head = {.call_id = 0, .code = RPC_UNAVAILABLE,
					      .message = "late"};
		size_t len = rpc_reply_size(&head, 0);
		for (unsigned i = 0; i < n; i++) {
			nng_msg_clear(held[i]);
			assert_int_equal(nng_msg_realloc(held[i], len), 0);
			rpc_reply_pack(&head, NULL, 0, nng_msg_body(held[i]));
			if (nng_sendmsg(p->sock, held[i], 0) != 0)
				nng_msg_free(held[i]);
		}
		/* The round's last call: answered at once, after the burst. */
		nng_msg *m;
		if (nng_recvmsg(p->sock, &m, 0) == 0) {
			nng_msg_clear(m);
			assert_int_equal(nng_msg_realloc(m, len), 0);
			rpc_reply_pack(&head, NULL, 0, nng_msg_body(m));
			if (nng_sendmsg(p->sock, m, 0) != 0)
				nng_msg_free(m);
		}
		pthread_mutex_lock(&p->lock);
		p->answered = seen_round;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
}

struct tally {
	atomic_uint done;
	atomic_uint deadline, unavailable, other;
};

static void on_done(void *arg, const struct rpc_status *st, ProtobufCMessage *reply)
{
	struct tally *t = arg;
	if (st->code == RPC_DEADLINE_EXCEEDED)
		atomic_fetch_add(&t->deadline, 1);
	else if (st->code == RPC_UNAVAILABLE)
		atomic_fetch_add(&t->unavailable, 1);
	else
		atomic_fetch_add(&t->other, 1);
	rpc_message_free(reply);
	atomic_fetch_add(&t->done, 1);
}

static void test_replies_at_deadline_while_closing(void **state)
{
	(void)state;
	const char *env = getenv("RPC_RACE_ROUNDS");
	unsigned rounds = env != NULL ? (unsigned)strtoul(env, NULL, 10) : ROUNDS_DEFAULT;

	struct peer p = {0};
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	assert_int_equal(nng_rep0_open_raw(&p.sock), 0);
	/* Bounded wait for a round whose requests did not all arrive. */
	assert_int_equal(nng_socket_set_ms(p.sock, NNG_OPT_RECVTIMEO, 2000), 0);
	nng_listener l;
	assert_int_equal(nng_listen(p.sock, "tcp://127.0.0.1:0", &l, 0), 0);
	nng_sockaddr sa;
	assert_int_equal(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa), 0);
	char url[64];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));
	assert_int_equal(pthread_create(&p.thread, NULL, peer_main, &p), 0);

	struct tally t = {0};
	unsigned started = 0;
	for (unsigned r = 1; r <= rounds; r++) {
		struct rpc_client_opts co = {.max_inflight = CALLS + 1, .wait_connected = true};
		struct rpc_client *c;
		char err[256];
		assert_int_equal(rpc_client_new(&c, url, &co, err, sizeof(err)), 0);

		pthread_mutex_lock(&p.lock);
		p.answer_at_ns = 0;
		p.expected = CALLS;
		p.round = r;
		pthread_cond_broadcast(&p.cond);
		pthread_mutex_unlock(&p.lock);

		Mimamori__Test__EchoRequest req = MIMAMORI__TEST__ECHO_REQUEST__INIT;
		req.text = "are you there";
		uint64_t t0 = mono_ns();
		unsigned n = 0;
		for (unsigned i = 0; i < CALLS; i++) {
			struct rpc_status st;
			if (rpc_call_async(c, SVC, "Echo", &req.base, DEADLINE_MS, on_done, &t,
					   &st) == RPC_OK)
				n++;
		}
		assert_int_equal(n, CALLS);
		started += n;
		/* The replies land from 4 ms before the deadline to 4 ms
		 * after it, sweeping across rounds. */
		int64_t offset_us = -4000 + (int64_t)((r * 997u) % 8000u);
		pthread_mutex_lock(&p.lock);
		p.answer_at_ns = t0 + (uint64_t)DEADLINE_MS * 1000000u +
				 (uint64_t)(offset_us * 1000);
		pthread_cond_broadcast(&p.cond);
		pthread_mutex_unlock(&p.lock);

		/* Answered after the burst: all late replies are in. */
		ProtobufCMessage *reply;
		struct rpc_status st;
		assert_int_equal(rpc_call(c, SVC, "Echo", &req.base, &reply, 5000, &st),
				 RPC_UNAVAILABLE);
		/* Closed (evicted) with calls possibly still in flight: returns
		 * once every one has completed, then closes the socket. */
		rpc_client_close(c);
		assert_int_equal(atomic_load(&t.done), started);

		pthread_mutex_lock(&p.lock);
		while (p.answered != r)
			pthread_cond_wait(&p.cond, &p.lock);
		pthread_mutex_unlock(&p.lock);
	}
	print_message("%u calls: %u deadline exceeded, %u answered (unavailable), %u other\n",
		      started, atomic_load(&t.deadline), atomic_load(&t.unavailable),
		      atomic_load(&t.other));
	assert_int_equal(atomic_load(&t.other), 0);

	pthread_mutex_lock(&p.lock);
	p.stop = true;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	pthread_join(p.thread, NULL);
	nng_close(p.sock);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies_at_deadline_while_closing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
