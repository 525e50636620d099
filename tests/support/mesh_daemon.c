/* See mesh_daemon.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/delivery_policy.h"
#include "daemon/notifier/outbox.h"
#include "tests/support/mesh_daemon.h"

int test_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

void test_mesh_daemon_start(struct test_mesh_daemon *d, const char *dir, const char *name,
			    int port, bool mesh)
{
	char conf[2048], err[512];
	struct outbox_open_report rep = { 0 };
	struct delivery_policy_config policy;
	struct outbox *ob;
	int len;

	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->dir, sizeof(d->dir), "%s/%s", dir, name);
	assert_int_equal(mkdir(d->dir, 0700), 0);
	snprintf(d->sock, sizeof(d->sock), "%s/control.sock", d->dir);
	/* Masakari at a port nothing listens on: nothing is notified here. */
	len = snprintf(conf, sizeof(conf),
		       "[node]\nhostname = %s\nstate_dir = %s\n"
		       "[masakari]\nendpoint_override = http://127.0.0.1:1/v1\n"
		       "[control]\nsocket = %s\n"
		       "[mesh]\nenabled = %s\nlisten = tcp://127.0.0.1:%d\nmembers_file = %s/members\n"
		       "allow_insecure_tcp = true\n"
		       "[fencing]\nmethod = none\n"
		       "[pacemaker]\ninterval = 0\n",
		       name, d->dir, d->sock, mesh ? "true" : "false", port, dir);
	assert_true(len > 0 && len < (int)sizeof(conf));
	config_defaults(&d->cfg);
	if (config_load_buffer(&d->cfg, name, conf, (size_t)len, err, sizeof(err)) < 0 ||
	    config_validate(&d->cfg, err, sizeof(err)) < 0)
		fail_msg("config of %s: %s", name, err);
	d->events = event_log_open(d->dir, err, sizeof(err));
	if (!d->events)
		fail_msg("event log of %s: %s", name, err);
	d->metrics = metrics_new();
	assert_non_null(d->metrics);
	metrics_mesh_enable(d->metrics);
	ob = outbox_open(d->dir, &rep, err, sizeof(err));
	if (!ob)
		fail_msg("outbox of %s: %s", name, err);
	delivery_policy_defaults(&policy);
	d->notifier = notifier_start(&d->cfg.masakari, &policy, ob, d->events, d->metrics, err,
				     sizeof(err));
	if (!d->notifier)
		fail_msg("notifier of %s: %s", name, err);
	d->mesh = NULL;
	if (mesh) {
		d->mesh = mesh_node_start(&d->cfg, d->notifier, d->events, d->metrics, err,
					  sizeof(err));
		if (!d->mesh)
			fail_msg("mesh of %s: %s", name, err);
	}
}

void test_mesh_daemon_stop(struct test_mesh_daemon *d)
{
	mesh_node_stop(d->mesh);
	d->mesh = NULL;
	notifier_stop(d->notifier);
	event_log_close(d->events);
	metrics_free(d->metrics);
}
