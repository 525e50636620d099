/* bench-rpc: unary round trips of Control.Status (the call mimamorictl
 * makes most) over ipc, tcp and tls+tcp on loopback, with 1 and several
 * concurrent clients, each its own connection and thread making blocking
 * calls. Prints p50/p99 latency and calls per second per row, and for
 * tls+tcp what a new connection (handshake) costs.
 *
 *   bench-rpc [--seconds S] [--clients 1,8] [--transports ipc,tcp,tls]
 *             [--certs DIR]
 *
 * Without --certs, a CA and node certificates are made with mkcerts.sh
 * (tests/rpc) in a temporary directory. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/control.pb-c.h"
#include "rpc/client.h"
#include "os/clock.h"
#include "rpc/message.h"
#include "rpc/server.h"

#define MAX_CLIENTS 64
#define MAX_SAMPLES (1u << 18) /* per client thread */
#define WARMUP_CALLS 200
#define CALL_DEADLINE_MS 5000
#define HANDSHAKES 20

#ifndef BENCH_MKCERTS
#error "BENCH_MKCERTS: path of tests/rpc/mkcerts.sh, set by rpc/meson.build"
#endif

static const char *const guest_names[] = {"web-1", "db-primary", "cache-3", "batch-17"};

/* A Status reply of realistic size (~300 bytes): a node with four guests. */
static uint32_t status_handler(void *ctx, struct rpc_call *call, const ProtobufCMessage *req,
			       ProtobufCMessage *reply)
{
	(void)ctx;
	(void)req;
	Mimamori__StatusReply *r = (Mimamori__StatusReply *)reply;
	r->node_name = "compute-17.example.org";
	r->version = MIMAMORI_VERSION;
	r->has_uptime_s = 1;
	r->uptime_s = 86400;
	Mimamori__ProbeStatus *probe = rpc_call_message_new(call, &mimamori__probe_status__descriptor);
	Mimamori__WatchedGuest **guests = rpc_call_alloc(call, 4 * sizeof(*guests));
	if (probe == NULL || guests == NULL)
		return RPC_RESOURCE_EXHAUSTED;
	probe->has_mode = 1;
	probe->mode = MIMAMORI__PROBE_MODE__PROBE_MODE_EBPF;
	r->probe = probe;
	for (size_t i = 0; i < 4; i++) {
		guests[i] = rpc_call_message_new(call, &mimamori__watched_guest__descriptor);
		if (guests[i] == NULL)
			return RPC_RESOURCE_EXHAUSTED;
		guests[i]->uuid = "0b7e6f4e-55a3-4f0e-9f4b-2a4b3c5d6e7f";
		guests[i]->name = (char *)guest_names[i];
		guests[i]->has_pid = 1;
		guests[i]->pid = 4242 + (uint32_t)i;
	}
	r->n_guests = 4;
	r->guests = guests;
	return RPC_OK;
}

static const struct rpc_handler handlers[] = {{"Status", status_handler}};

/* Rows run in two phases so that connecting and warming up are not
 * timed: every client connects and warms up, all wait at `ready`, the
 * main thread sets end_ns, all pass `go` and call until end_ns. */
struct row {
	pthread_barrier_t ready, go;
	uint64_t end_ns;
};

struct runner {
	pthread_t thread;
	const char *url;
	const struct rpc_tls_files *tls;
	struct row *row;
	uint64_t *samples; /* round trips in ns */
	size_t n;
	uint64_t last_ns; /* when the last timed call returned */
	uint64_t failures;
	char err[256];
};

static void *run_client(void *arg)
{
	struct runner *r = arg;
	struct rpc_client_opts co = {.wait_connected = true, .tls = r->tls};
	struct rpc_client *c = NULL;
	int rv = rpc_client_new(&c, r->url, &co, r->err, sizeof(r->err));
	Mimamori__StatusRequest req = MIMAMORI__STATUS_REQUEST__INIT;
	struct rpc_status st;
	for (int i = 0; rv == 0 && i < WARMUP_CALLS; i++) {
		ProtobufCMessage *reply;
		if (rpc_call(c, &mimamori__control__descriptor, "Status", &req.base, &reply,
			     CALL_DEADLINE_MS, &st) == RPC_OK)
			rpc_message_free(reply);
	}
	pthread_barrier_wait(&r->row->ready);
	pthread_barrier_wait(&r->row->go);
	if (rv != 0)
		return NULL;
	uint64_t end = r->row->end_ns;
	while (r->n < MAX_SAMPLES) {
		uint64_t t0 = mono_ns();
		if (t0 >= end)
			break;
		ProtobufCMessage *reply;
		uint32_t code = rpc_call(c, &mimamori__control__descriptor, "Status", &req.base,
					 &reply, CALL_DEADLINE_MS, &st);
		uint64_t t1 = mono_ns();
		if (code != RPC_OK) {
			if (r->failures++ == 0)
				snprintf(r->err, sizeof(r->err), "%s: %.200s", rpc_status_name(code),
					 st.message);
			continue;
		}
		rpc_message_free(reply);
		r->samples[r->n++] = t1 - t0;
		r->last_ns = t1;
	}
	rpc_client_close(c);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* One row: n_clients threads against a fresh server on url. */
static int bench_row(const char *label, const char *url, const struct rpc_tls_files *tls,
		     unsigned n_clients, double seconds)
{
	char err[256];
	struct rpc_server_opts so = {.workers = n_clients < 4 ? 4 : n_clients, .tls = tls};
	struct rpc_server *s;
	if (rpc_server_new(&s, url, &mimamori__control__descriptor, handlers, 1, NULL, &so, err,
			   sizeof(err)) != 0) {
		fprintf(stderr, "bench-rpc: %s\n", err);
		return -1;
	}
	char dial_url[256];
	int port = rpc_server_port(s);
	if (port > 0)
		snprintf(dial_url, sizeof(dial_url), "%.*s:%d",
			 (int)(strrchr(url, ':') - url), url, port);
	else
		snprintf(dial_url, sizeof(dial_url), "%s", url);

	struct runner *runners = calloc(n_clients, sizeof(*runners));
	struct row row;
	pthread_barrier_init(&row.ready, NULL, n_clients + 1);
	pthread_barrier_init(&row.go, NULL, n_clients + 1);
	int ret = 0;
	for (unsigned i = 0; i < n_clients; i++) {
		runners[i] = (struct runner){.url = dial_url, .tls = tls, .row = &row};
		runners[i].samples = malloc(MAX_SAMPLES * sizeof(uint64_t));
		if (runners[i].samples == NULL ||
		    pthread_create(&runners[i].thread, NULL, run_client, &runners[i]) != 0) {
			fprintf(stderr, "bench-rpc: cannot start client %u\n", i);
			exit(1);
		}
	}
	pthread_barrier_wait(&row.ready);
	uint64_t t0 = mono_ns();
	row.end_ns = t0 + (uint64_t)(seconds * 1e9);
	pthread_barrier_wait(&row.go);
	size_t total = 0;
	uint64_t failures = 0, last = t0;
	for (unsigned i = 0; i < n_clients; i++) {
		pthread_join(runners[i].thread, NULL);
		total += runners[i].n;
		if (runners[i].last_ns > last)
			last = runners[i].last_ns;
		failures += runners[i].failures;
		if (runners[i].err[0] != '\0' && ret == 0) {
			fprintf(stderr, "bench-rpc: %s client %u: %s\n", label, i, runners[i].err);
			ret = runners[i].n == 0 ? -1 : 0;
		}
	}
	double elapsed = (double)(last - t0) / 1e9;
	uint64_t *all = malloc((total > 0 ? total : 1) * sizeof(uint64_t));
	size_t k = 0;
	for (unsigned i = 0; i < n_clients; i++) {
		memcpy(all + k, runners[i].samples, runners[i].n * sizeof(uint64_t));
		k += runners[i].n;
		free(runners[i].samples);
	}
	qsort(all, total, sizeof(uint64_t), cmp_u64);
	if (total > 0)
		printf("%-8s %7u %9zu %9.0f %9.0f %11.0f %8llu\n", label, n_clients, total,
		       (double)all[total / 2] / 1e3, (double)all[(size_t)((double)total * 0.99)] / 1e3,
		       (double)total / elapsed, (unsigned long long)failures);
	free(all);
	free(runners);
	pthread_barrier_destroy(&row.ready);
	pthread_barrier_destroy(&row.go);
	rpc_server_close(s);
	return ret;
}

/* Median cost of a new mutual-TLS connection (dial, handshake, first
 * call) against one server. */
static void bench_handshake(const char *url, const struct rpc_tls_files *tls)
{
	char err[256];
	struct rpc_server_opts so = {.tls = tls};
	struct rpc_server *s;
	if (rpc_server_new(&s, url, &mimamori__control__descriptor, handlers, 1, NULL, &so, err,
			   sizeof(err)) != 0) {
		fprintf(stderr, "bench-rpc: %s\n", err);
		return;
	}
	char dial_url[256];
	snprintf(dial_url, sizeof(dial_url), "tls+tcp://127.0.0.1:%d", rpc_server_port(s));
	uint64_t t[HANDSHAKES];
	size_t n = 0;
	for (int i = 0; i < HANDSHAKES; i++) {
		uint64_t t0 = mono_ns();
		struct rpc_client_opts co = {.wait_connected = true, .tls = tls};
		struct rpc_client *c;
		if (rpc_client_new(&c, dial_url, &co, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench-rpc: %s\n", err);
			continue;
		}
		Mimamori__StatusRequest req = MIMAMORI__STATUS_REQUEST__INIT;
		ProtobufCMessage *reply;
		if (rpc_call(c, &mimamori__control__descriptor, "Status", &req.base, &reply,
			     CALL_DEADLINE_MS, NULL) == RPC_OK) {
			rpc_message_free(reply);
			t[n++] = mono_ns() - t0;
		}
		rpc_client_close(c);
	}
	if (n > 0) {
		qsort(t, n, sizeof(uint64_t), cmp_u64);
		printf("tls+tcp new connection + first call: median %.1f ms, max %.1f ms (%zu runs)\n",
		       (double)t[n / 2] / 1e6, (double)t[n - 1] / 1e6, n);
	}
	rpc_server_close(s);
}

/* TMPDIR, else /tmp: where temporary files go */
static const char *tmp_base(void)
{
	const char *tmp = getenv("TMPDIR");

	return tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
}

static int make_certs(char *dir, size_t dirlen)
{
	int n = snprintf(dir, dirlen, "%s/bench-rpc.XXXXXX", tmp_base());

	if (n < 0 || (size_t)n >= dirlen) {
		fprintf(stderr, "bench-rpc: TMPDIR %s is too long\n", tmp_base());
		return -1;
	}
	if (mkdtemp(dir) == NULL) {
		perror("bench-rpc: mkdtemp");
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", BENCH_MKCERTS, dir, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-rpc: %s %s failed\n", BENCH_MKCERTS, dir);
		return -1;
	}
	return 0;
}

static void remove_certs(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-rpc [--seconds S] [--clients 1,8] "
			"[--transports ipc,tcp,tls] [--certs DIR]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 2.0;
	char clients_arg[64] = "1,8";
	char transports_arg[64] = "ipc,tcp,tls";
	const char *certs = NULL;
	static const struct option longopts[] = {
		{"seconds", required_argument, NULL, 's'},
		{"clients", required_argument, NULL, 'c'},
		{"transports", required_argument, NULL, 't'},
		{"certs", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "s:c:t:C:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			seconds = strtod(optarg, NULL);
			if (!(seconds > 0 && seconds <= 600))
				usage();
			break;
		case 'c':
			snprintf(clients_arg, sizeof(clients_arg), "%s", optarg);
			break;
		case 't':
			snprintf(transports_arg, sizeof(transports_arg), "%s", optarg);
			break;
		case 'C':
			certs = optarg;
			break;
		default:
			usage();
		}
	}
	unsigned clients[8];
	size_t n_clients = 0;
	for (char *save = NULL, *tok = strtok_r(clients_arg, ",", &save);
	     tok != NULL && n_clients < 8; tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, NULL, 10);
		if (v < 1 || v > MAX_CLIENTS)
			usage();
		clients[n_clients++] = (unsigned)v;
	}
	bool want_tls = strstr(transports_arg, "tls") != NULL;
	char tmpdir[256] = "";
	if (want_tls && certs == NULL) {
		if (make_certs(tmpdir, sizeof(tmpdir)) != 0)
			return 1;
		certs = tmpdir;
	}
	char ca[512], node[512], ipc_url[300];
	snprintf(ca, sizeof(ca), "%s/ca.crt", certs != NULL ? certs : ".");
	snprintf(node, sizeof(node), "%s/node1.pem", certs != NULL ? certs : ".");
	/* sun_path holds 108 bytes: a TMPDIR too long for it fails at listen */
	snprintf(ipc_url, sizeof(ipc_url), "ipc://%s/bench-rpc.%d.sock", tmp_base(), (int)getpid());
	struct rpc_tls_files tls = {.ca_file = ca, .cert_key_file = node,
				    .server_name = "node1.mesh.test"};

	struct {
		const char *name, *label, *url;
		const struct rpc_tls_files *tls;
	} transports[] = {
		{"ipc", "ipc", ipc_url, NULL},
		{"tcp", "tcp", "tcp://127.0.0.1:0", NULL},
		{"tls", "tls+tcp", "tls+tcp://127.0.0.1:0", &tls},
	};
	printf("Control.Status round trips, %.1f s per row, blocking calls, one connection per "
	       "client\n", seconds);
	printf("%-8s %7s %9s %9s %9s %11s %8s\n", "transport", "clients", "calls", "p50_us",
	       "p99_us", "calls/s", "failed");
	int ret = 0;
	for (size_t t = 0; t < sizeof(transports) / sizeof(transports[0]); t++) {
		if (strstr(transports_arg, transports[t].name) == NULL)
			continue;
		for (size_t i = 0; i < n_clients; i++)
			if (bench_row(transports[t].label, transports[t].url, transports[t].tls,
				      clients[i], seconds) != 0)
				ret = 1;
	}
	if (want_tls)
		bench_handshake("tls+tcp://127.0.0.1:0", &tls);
	if (tmpdir[0] != '\0')
		remove_certs(tmpdir);
	return ret;
}
