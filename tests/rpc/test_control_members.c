/* The control service's Members RPC, called the way mimamorictl calls it
 * (rpc_call on the daemon's ipc socket), with real mesh nodes behind it:
 * two mesh threads in this process, meshed over tcp:// on loopback, each
 * with its own notifier, outbox and event log.
 *  - with the mesh: the reply is the mesh's view, every configured member
 *    with its address and state, this node marked, total and truncated set;
 *    a member that stops shows as no longer alive;
 *  - without the mesh: FAILED_PRECONDITION, never a list of this node alone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/common/config.h"
#include "proto/control.pb-c.h"
#include "daemon/serve/control_service.h"
#include "daemon/common/event_log.h"
#include "daemon/mesh/mesh_node.h"
#include "daemon/notifier/notifier.h"
#include "rpc/client.h"
#include "rpc/message.h"
#include "tests/support/mesh_daemon.h"

#define SVC (&mimamori__control__descriptor)
#define DEADLINE_MS 5000

struct node {
	struct test_mesh_daemon d;
	struct control_service *control;
};

static char g_dir[256];
static int g_port[2];
/* Static: a stopped control service stays allocated (control_service_stop:
 * nng may still reference it), as in mimamorid until its exit. */
static struct node g_a, g_b, g_c;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Everything mimamorid starts for the control service and the mesh, in
 * the same order, from a real configuration. mesh: [mesh] enabled. */
static void node_start(struct node *n, const char *name, int port, bool mesh)
{
	char err[512];

	test_mesh_daemon_start(&n->d, g_dir, name, port, mesh);
	struct control_context cc = {
		.hostname = n->d.cfg.hostname,
		.pid = getpid(),
		.events = n->d.events,
		.notifier = n->d.notifier,
		.metrics = n->d.metrics,
		.mesh = n->d.mesh,
	};
	n->control = control_service_start(n->d.sock, &cc, err, sizeof(err));
	if (!n->control)
		fail_msg("control service: %s", err);
}

/* mimamorid's order: the control service first (its handlers read the
 * mesh), then the mesh, then the notifier. */
static void node_stop(struct node *n)
{
	control_service_stop(n->control);
	test_mesh_daemon_stop(&n->d);
}

/* Members on n's control socket: the status code, and the reply on OK. */
static uint32_t members(struct node *n, Mimamori__MembersReply **reply, struct rpc_status *st)
{
	char url[700], err[256];
	struct rpc_client *c;
	struct rpc_client_opts o = { .wait_connected = true };
	Mimamori__MembersRequest req = MIMAMORI__MEMBERS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	uint32_t code;

	snprintf(url, sizeof(url), "ipc://%s", n->d.sock);
	if (rpc_client_new(&c, url, &o, err, sizeof(err)) != 0)
		fail_msg("connect %s: %s", url, err);
	code = rpc_call(c, SVC, "Members", &req.base, &m, DEADLINE_MS, st);
	rpc_client_close(c);
	assert_true((code == RPC_OK) == (m != NULL));
	*reply = (Mimamori__MembersReply *)m;
	return code;
}

static const Mimamori__Member *find(const Mimamori__MembersReply *r, const char *name)
{
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i]->name && strcmp(r->members[i]->name, name) == 0)
			return r->members[i];
	return NULL;
}

/* Polls n's Members until member has state want (or fails after 15 s). */
/* Polls n's Members until member is in state want (15 s at most) and
 * returns that reply: a later call could already show another state (a
 * freshly joined peer may be suspected for a moment on a loaded machine). */
static Mimamori__MembersReply *reply_with_state(struct node *n, const char *member,
						Mimamori__MemberState want)
{
	Mimamori__MemberState last = MIMAMORI__MEMBER_STATE__MEMBER_STATE_UNKNOWN;

	for (int i = 0; i < 150; i++) {
		Mimamori__MembersReply *r;
		struct rpc_status st;

		assert_int_equal(members(n, &r, &st), RPC_OK);
		const Mimamori__Member *m = find(r, member);
		assert_non_null(m);
		last = m->state;
		if (last == want)
			return r;
		rpc_message_free(&r->base);
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fail_msg("%s: %s is in state %d after 15 s, not %d", n->d.name, member, (int)last, (int)want);
	return NULL;
}

static void wait_state(struct node *n, const char *member, Mimamori__MemberState want)
{
	Mimamori__MembersReply *r = reply_with_state(n, member, want);

	rpc_message_free(&r->base);
}

static int setup(void **state)
{
	char members_text[256];
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(g_dir, sizeof(g_dir), "%s/mimamori-members-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(g_dir))
		return -1;
	g_port[0] = test_free_port();
	g_port[1] = test_free_port();
	snprintf(members_text, sizeof(members_text),
		 "node-a tcp://127.0.0.1:%d\nnode-b tcp://127.0.0.1:%d\n", g_port[0], g_port[1]);
	char path[300];
	snprintf(path, sizeof(path), "%s/members", g_dir);
	write_file(path, members_text);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_members_is_the_mesh_view(void **state)
{
	struct node *a = &g_a, *b = &g_b;
	char want_a[64], want_b[64];

	(void)state;
	node_start(a, "node-a", g_port[0], true);
	node_start(b, "node-b", g_port[1], true);
	snprintf(want_a, sizeof(want_a), "tcp://127.0.0.1:%d", g_port[0]);
	snprintf(want_b, sizeof(want_b), "tcp://127.0.0.1:%d", g_port[1]);

	/* Both see each other alive: the view comes from the membership.
	 * The reply checked below is one in which node-b is alive. */
	wait_state(b, "node-a", MIMAMORI__MEMBER_STATE__MEMBER_STATE_ALIVE);
	Mimamori__MembersReply *r = reply_with_state(a, "node-b",
						     MIMAMORI__MEMBER_STATE__MEMBER_STATE_ALIVE);
	struct rpc_status st;
	assert_int_equal(r->n_members, 2);
	assert_true(r->has_total && r->total == 2);
	assert_true(r->has_truncated && !r->truncated);
	/* members file order, addresses from it, this node marked */
	assert_string_equal(r->members[0]->name, "node-a");
	assert_string_equal(r->members[0]->address, want_a);
	assert_true(r->members[0]->has_self && r->members[0]->self);
	assert_int_equal(r->members[0]->state, MIMAMORI__MEMBER_STATE__MEMBER_STATE_ALIVE);
	assert_string_equal(r->members[1]->name, "node-b");
	assert_string_equal(r->members[1]->address, want_b);
	assert_true(r->members[1]->has_self && !r->members[1]->self);
	assert_int_equal(r->members[1]->state, MIMAMORI__MEMBER_STATE__MEMBER_STATE_ALIVE);
	/* since when: the membership's record of the join */
	assert_true(r->members[1]->has_state_since_unix_ms && r->members[1]->state_since_unix_ms > 0);
	rpc_message_free(&r->base);

	/* node-b leaves: node-a's view follows (LEFT), and still lists it. */
	node_stop(b);
	wait_state(a, "node-b", MIMAMORI__MEMBER_STATE__MEMBER_STATE_LEFT);
	assert_int_equal(members(a, &r, &st), RPC_OK);
	assert_int_equal(r->n_members, 2);
	rpc_message_free(&r->base);
	node_stop(a);
}

static void test_members_without_mesh_is_an_error(void **state)
{
	struct node *c = &g_c;
	Mimamori__MembersReply *r = NULL;
	struct rpc_status st;

	(void)state;
	node_start(c, "node-c", test_free_port(), false);
	assert_int_equal(members(c, &r, &st), RPC_FAILED_PRECONDITION);
	assert_null(r);
	assert_non_null(strstr(st.message, "mesh is not enabled"));
	node_stop(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_is_the_mesh_view),
		cmocka_unit_test(test_members_without_mesh_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
