/* Test support: a mimamorid's mesh side in a test process, started the way
 * mimamorid starts it and from a real configuration: event log, metrics
 * (mesh families on), outbox and notifier (Masakari at a port nothing
 * listens on: nothing is notified), and with the mesh, its thread with its
 * RPC server on tcp:// loopback. Several in one process mesh with each
 * other through the members file dir/members, which the test writes. The
 * control service is the test's (it reads what this starts). */
#ifndef MIMAMORI_TESTS_SUPPORT_MESH_DAEMON_H
#define MIMAMORI_TESTS_SUPPORT_MESH_DAEMON_H
#include <stdbool.h>

#include "daemon/common/config.h"
#include "daemon/common/event_log.h"
#include "daemon/common/metrics.h"
#include "daemon/mesh/mesh_node.h"
#include "daemon/notifier/notifier.h"

struct test_mesh_daemon {
	char name[16];
	char dir[512];   /* dir/name: state_dir, outbox, event log */
	char sock[600];  /* [control] socket = dir/name/control.sock */
	struct mimamori_config cfg;
	struct event_log *events;
	struct metrics *metrics;
	struct notifier *notifier;
	struct mesh_node *mesh; /* NULL without the mesh */
};

/* A loopback TCP port nobody listens on right now (the kernel's pick). */
int test_free_port(void);
/* Starts d as `name` in dir/name (created), listening on
 * tcp://127.0.0.1:port with [mesh] enabled = mesh. Fails the test on any
 * error, naming the step. */
void test_mesh_daemon_start(struct test_mesh_daemon *d, const char *dir, const char *name,
			    int port, bool mesh);
/* In mimamorid's order: the mesh, the notifier, the event log, metrics. */
void test_mesh_daemon_stop(struct test_mesh_daemon *d);

#endif
