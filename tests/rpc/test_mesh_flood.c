/* One member floods, the others' probes and acks still flow (issue 10,
 * item 5): two real mesh nodes (node-a, node-c: mesh threads with their RPC
 * servers, tcp:// on loopback) and a third configured member, node-b, that
 * this test plays: it sends node-a valid SWIM pings as fast as loopback
 * carries them, on four connections, for a few seconds. Meanwhile a and c
 * must keep each other alive (no suspicion: c's pings and acks reach a
 * through a's receive queue), a must count the flood it dropped
 * (mimamori_mesh_peer_queue_dropped_total), and b must have been refused
 * (RESOURCE_EXHAUSTED) for part of it: the flood was a real one. Before
 * per-peer queues one shared queue of 128 messages took whoever came
 * first, so the flood crowded out c's acks and a and c suspected each
 * other. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/common/config.h"
#include "daemon/common/event_log.h"
#include "daemon/common/metrics.h"
#include "daemon/mesh/mesh_node.h"
#include "daemon/notifier/notifier.h"
#include "mesh/wire.h"
#include "proto/mesh.pb-c.h"
#include "rpc/client.h"
#include "rpc/message.h"
#include "tests/support/mesh_daemon.h"

#define FLOOD_MS 4000
#define FLOOD_CLIENTS 4

static char g_dir[256];
static int g_port[3]; /* a, b, c */
static struct test_mesh_daemon g_a, g_c;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* member's state in n's published view */
static uint32_t state_of(struct test_mesh_daemon *n, const char *member, uint32_t *rtt_us)
{
	struct mesh_node_member v[3];
	long k = mesh_node_members(n->mesh, v, 3, 1000);

	assert_true(k == 3);
	for (long i = 0; i < k; i++)
		if (strcmp(v[i].name, member) == 0) {
			if (rtt_us)
				*rtt_us = v[i].last_rtt_us;
			return v[i].state;
		}
	fail_msg("%s not in %s's view", member, n->name);
	return 0;
}

/* A value of a metrics line ("name value"), 0 when absent. */
static double metric(struct test_mesh_daemon *n, const char *name)
{
	size_t len;
	char *text = metrics_render(n->metrics, &len);
	double v = 0;
	size_t nl = strlen(name);

	assert_non_null(text);
	for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ')
			v = strtod(p + nl + 1, NULL);
	free(text);
	return v;
}

/* ---- the flooder (node-b) ------------------------------------------------ */

static atomic_bool g_stop;
static atomic_ulong g_sent, g_ok, g_exhausted, g_other;

static void flood_done(void *arg, const struct rpc_status *st, ProtobufCMessage *reply)
{
	(void)arg;
	if (st->code == RPC_OK)
		atomic_fetch_add(&g_ok, 1);
	else if (st->code == RPC_RESOURCE_EXHAUSTED)
		atomic_fetch_add(&g_exhausted, 1);
	else
		atomic_fetch_add(&g_other, 1);
	rpc_message_free(reply);
}

static void *flood(void *arg)
{
	struct rpc_client *c;
	struct rpc_client_opts o = { .wait_connected = true, .max_inflight = 256 };
	char url[64], err[256];
	static _Thread_local struct mesh_wire_msg m;
	static _Thread_local struct mesh_wire_pb pb;
	uint64_t seq = (uint64_t)(uintptr_t)arg << 40;

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", g_port[0]);
	if (rpc_client_new(&c, url, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "flood: connect %s: %s\n", url, err);
		return NULL;
	}
	memset(&m, 0, sizeof(m));
	m.kind = MESH_WIRE_SWIM;
	snprintf(m.from, sizeof(m.from), "node-b");
	m.swim.type = MESH_MSG_PING;
	snprintf(m.swim.sender.name, MESH_NAME_MAX, "node-b");
	snprintf(m.swim.sender.addr, MESH_ADDR_MAX, "tcp://127.0.0.1:%d", g_port[1]);
	m.swim.sender.state = MESH_ALIVE;
	snprintf(m.swim.target, MESH_NAME_MAX, "node-a");
	while (!atomic_load(&g_stop)) {
		const Mimamori__MeshEnvelope *env;
		struct rpc_status st;

		m.swim.seq = ++seq;
		env = mesh_wire_to_pb(&m, &pb);
		if (rpc_call_async(c, &mimamori__mesh__descriptor, "Deliver", &env->base, 2000,
				   flood_done, NULL, &st) == RPC_OK)
			atomic_fetch_add(&g_sent, 1);
		else
			usleep(50); /* max_inflight reached */
	}
	rpc_client_close(c);
	return NULL;
}

/* ---- setup ------------------------------------------------------------------ */

static int setup(void **state)
{
	char text[256], path[300];
	const char *tmp = getenv("TMPDIR");
	FILE *f;

	(void)state;
	snprintf(g_dir, sizeof(g_dir), "%s/mimamori-flood-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(g_dir))
		return -1;
	for (int i = 0; i < 3; i++)
		g_port[i] = test_free_port();
	snprintf(text, sizeof(text),
		 "node-a tcp://127.0.0.1:%d\nnode-b tcp://127.0.0.1:%d\nnode-c tcp://127.0.0.1:%d\n",
		 g_port[0], g_port[1], g_port[2]);
	snprintf(path, sizeof(path), "%s/members", g_dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_flood_does_not_starve_acks(void **state)
{
	struct test_mesh_daemon *a = &g_a, *c = &g_c;
	pthread_t th[FLOOD_CLIENTS];
	uint64_t t0;
	uint32_t rtt0 = 0, rtt = 0, rtt_changes = 0, bad = 0;

	(void)state;
	test_mesh_daemon_start(a, g_dir, "node-a", g_port[0], true);
	test_mesh_daemon_start(c, g_dir, "node-c", g_port[2], true);
	/* a and c see each other alive (b is never heard: it never answers) */
	t0 = now_ms();
	while (state_of(a, "node-c", NULL) != 1 || state_of(c, "node-a", NULL) != 1) {
		if (now_ms() - t0 > 15000)
			fail_msg("node-a and node-c did not see each other alive within 15 s");
		sleep_ms(50);
	}
	sleep_ms(1000); /* settled */
	state_of(c, "node-a", &rtt0);
	for (uintptr_t i = 0; i < FLOOD_CLIENTS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, flood, (void *)(i + 1)), 0);
	t0 = now_ms();
	while (now_ms() - t0 < FLOOD_MS) {
		uint32_t sa = state_of(a, "node-c", NULL), sc = state_of(c, "node-a", &rtt);

		if (sa != 1 || sc != 1) {
			if (bad++ == 0)
				print_message("at %.2f s: node-a holds node-c %u, node-c holds node-a %u\n",
					      (double)(now_ms() - t0) / 1000, sa, sc);
		}
		if (rtt != rtt0) {
			rtt_changes++;
			rtt0 = rtt;
		}
		sleep_ms(20);
	}
	atomic_store(&g_stop, true);
	for (int i = 0; i < FLOOD_CLIENTS; i++)
		pthread_join(th[i], NULL);
	print_message("flood: %lu sent, %lu queued, %lu refused (queue full), %lu other; node-a "
		      "dropped %.0f of node-b's; node-c's probe RTT of node-a changed %u times\n",
		      atomic_load(&g_sent), atomic_load(&g_ok), atomic_load(&g_exhausted),
		      atomic_load(&g_other), metric(a, "mimamori_mesh_peer_queue_dropped_total"),
		      rtt_changes);
	/* the flood was one: node-a could not keep up with it */
	assert_true(atomic_load(&g_exhausted) > 0);
	/* and it cost node-b's messages only */
	assert_int_equal(bad, 0);
	assert_true(rtt_changes > 0); /* c's direct probes of a were answered */
	assert_true(metric(a, "mimamori_mesh_peer_queue_dropped_total") > 0);
	test_mesh_daemon_stop(c);
	test_mesh_daemon_stop(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_does_not_starve_acks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
