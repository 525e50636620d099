/* The refusal probes (daemon/mesh/refusal_probe.c) on real loopback
 * sockets: a port nobody listens on is REFUSED (the kernel's reset), a
 * listening one ACCEPTED, IPv4 and IPv6 URLs of both schemes; an address
 * that does not answer is never REFUSED (no route, or our timeout); self,
 * a URL without HOST:PORT and a name that does not resolve are never
 * probed; one connect per member at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/units.h"
#include "daemon/mesh/refusal_probe.h"
#include "os/clock.h"

#define WAIT_NS (10 * NS_PER_S)

/* A bound TCP socket on the loopback of family af: listening when asked,
 * else closed again (its port then refuses). Returns the fd (or -1 when
 * closed) and the port. */
static int loopback_port(int af, bool listening, unsigned *port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)af };
	socklen_t len = af == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (af == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (listening) {
		assert_int_equal(listen(fd, 8), 0);
		return fd;
	}
	close(fd);
	return -1;
}

/* Runs p until n results are in (into out, in order); fails after
 * WAIT_NS. */
static void wait_results(struct refusal_probe *p, struct refusal_result *out, size_t n)
{
	uint64_t give_up = mono_ns() + WAIT_NS;
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = { .fd = refusal_probe_fd(p), .events = POLLIN };
		uint64_t now = mono_ns(), d = refusal_probe_next_deadline(p);

		if (d > now)
			(void)poll(&pf, 1, (int)((d - now) / NS_PER_MS + 1 > 100 ? 100
								      : (d - now) / NS_PER_MS + 1));
		got += refusal_probe_poll(p, mono_ns(), out + got, n - got);
		if (mono_ns() > give_up)
			fail_msg("%zu results of %zu", got, n);
	}
}

static struct refusal_result wait_result(struct refusal_probe *p, uint32_t member)
{
	struct refusal_result r;

	wait_results(p, &r, 1);
	assert_int_equal(r.member, member);
	return r;
}

static void set(struct members_entry *e, const char *name, const char *url)
{
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->url, sizeof(e->url), "%s", url);
}

static void test_refused_and_accepted(void **state)
{
	struct members_entry v[6];
	struct members_list l = { .n = 6, .v = v };
	unsigned closed4, open4, closed6, open6;
	int l4 = loopback_port(AF_INET, true, &open4), l6 = loopback_port(AF_INET6, true, &open6);
	struct refusal_probe *p;
	struct refusal_result r;
	char url[128];

	(void)state;
	loopback_port(AF_INET, false, &closed4);
	loopback_port(AF_INET6, false, &closed6);
	set(&v[0], "self", "tls+tcp://127.0.0.1:1");
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u", closed4);
	set(&v[1], "down4", url);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", open4);
	set(&v[2], "up4", url);
	snprintf(url, sizeof(url), "tls+tcp://[::1]:%u", closed6);
	set(&v[3], "down6", url);
	snprintf(url, sizeof(url), "tls+tcp://[::1]:%u", open6);
	set(&v[4], "up6", url);
	set(&v[5], "nameless", "tls+tcp://nohostport");
	p = refusal_probe_new(&l, 0, 2 * NS_PER_S);
	assert_non_null(p);

	/* self and a URL without HOST:PORT: never probed */
	assert_false(refusal_probe_has_address(p, 0));
	assert_int_equal(refusal_probe_start(p, 0, mono_ns()), -ENOENT);
	assert_false(refusal_probe_has_address(p, 5));
	assert_int_equal(refusal_probe_start(p, 5, mono_ns()), -ENOENT);
	assert_int_equal(refusal_probe_start(p, 6, mono_ns()), -ENOENT);

	for (uint32_t m = 1; m <= 4; m++) {
		assert_int_equal(refusal_probe_start(p, m, mono_ns()), 0);
		assert_true(refusal_probe_running(p, m));
		assert_int_equal(refusal_probe_start(p, m, mono_ns()), -EALREADY);
		r = wait_result(p, m);
		assert_false(refusal_probe_running(p, m));
		assert_int_equal(r.outcome, m % 2 ? REFUSAL_REFUSED : REFUSAL_ACCEPTED);
		assert_int_equal(r.err, 0);
	}
	/* all at once: each reported once */
	{
		struct refusal_result all[4];
		unsigned seen = 0;

		for (uint32_t m = 1; m <= 4; m++)
			assert_int_equal(refusal_probe_start(p, m, mono_ns()), 0);
		wait_results(p, all, 4);
		for (size_t i = 0; i < 4; i++) {
			assert_true(all[i].member >= 1 && all[i].member <= 4);
			assert_int_equal(all[i].outcome, all[i].member % 2 ? REFUSAL_REFUSED
									   : REFUSAL_ACCEPTED);
			seen |= 1u << all[i].member;
		}
		assert_int_equal(seen, 0x1e);
	}
	assert_int_equal(refusal_probe_next_deadline(p), UINT64_MAX);
	refusal_probe_free(p);
	close(l4);
	close(l6);
}

/* A SYN nobody answers: a listener whose accept queue is full drops it
 * (what a host that is gone looks like): our timeout, not a refusal.
 * (An outside address would do on a plain host, not behind a proxy that
 * answers every address.) Freed with a connect in flight too. */
static void test_no_answer_is_not_a_refusal(void **state)
{
	struct members_entry v[2];
	struct members_list l = { .n = 2, .v = v };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct refusal_probe *p;
	struct refusal_result r;
	unsigned port;
	int lfd, fill[4];
	char url[64];
	uint64_t t0;

	(void)state;
	(void)loopback_port(AF_INET, false, &port); /* a free port */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	a.sin_port = htons((uint16_t)port);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	/* fill the queue (backlog 0 holds one; a few more to be sure) */
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		(void)connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(100 * 1000);
	set(&v[0], "self", "tls+tcp://127.0.0.1:1");
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u", port);
	set(&v[1], "silent", url);
	p = refusal_probe_new(&l, 0, 300 * NS_PER_MS);
	assert_non_null(p);
	t0 = mono_ns();
	assert_int_equal(refusal_probe_start(p, 1, t0), 0);
	r = wait_result(p, 1);
	assert_int_equal(r.outcome, REFUSAL_NO_ANSWER);
	assert_int_equal(r.err, ETIMEDOUT);
	assert_true(mono_ns() >= t0 + 300 * NS_PER_MS);
	assert_int_equal(refusal_probe_start(p, 1, mono_ns()), 0);
	refusal_probe_free(p); /* in flight: closed */
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

/* A name that does not resolve: logged, never probed. */
static void test_unresolvable_name(void **state)
{
	struct members_entry v[2];
	struct members_list l = { .n = 2, .v = v };
	struct refusal_probe *p;

	(void)state;
	set(&v[0], "self", "tls+tcp://127.0.0.1:1");
	set(&v[1], "ghost", "tls+tcp://no-such-host.invalid:7947");
	p = refusal_probe_new(&l, 0, NS_PER_S);
	assert_non_null(p);
	assert_false(refusal_probe_has_address(p, 1));
	assert_int_equal(refusal_probe_start(p, 1, mono_ns()), -ENOENT);
	refusal_probe_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_and_accepted),
		cmocka_unit_test(test_no_answer_is_not_a_refusal),
		cmocka_unit_test(test_unresolvable_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
