/* See mesh_peers.h. */
#include "daemon/mesh/mesh_peers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/transport.h"
#include "os/threads.h"

#define URL_MAX 256
#define NAME_MAX_LEN 128

struct entry {
	struct rpc_client *client; /* NULL: free slot */
	char url[URL_MAX];
	char server_name[NAME_MAX_LEN];
	uint64_t last_used;
};

/* Clients waiting for the closer thread. */
struct closing {
	struct rpc_client *client;
	struct closing *next;
};

struct mesh_peers {
	struct mesh_peers_opts opts;
	char ca_file[512], cert_key_file[512];
	size_t max;
	struct entry *v;
	uint64_t tick;

	pthread_t closer;
	bool closer_started;
	pthread_mutex_t lock; /* the closing list and stop */
	pthread_cond_t wake;
	struct closing *to_close;
	bool stop;

	_Atomic size_t clients;
	_Atomic uint64_t created, evicted, create_failed, sent, not_started, ok, failed, denied;
};

static void *closer_thread(void *arg)
{
	struct mesh_peers *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct closing *c = p->to_close;

		if (c) {
			p->to_close = c->next;
			pthread_mutex_unlock(&p->lock);
			rpc_client_close(c->client);
			free(c);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (p->stop)
			break;
		pthread_cond_wait(&p->wake, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct mesh_peers *mesh_peers_new(const struct mesh_peers_opts *opts, char *err, size_t errlen)
{
	struct mesh_peers *p;
	size_t max = opts && opts->max_clients ? opts->max_clients : MESH_PEERS_DEFAULT_MAX;
	int rc;

	if (max > MESH_PEERS_MAX) {
		snprintf(err, errlen, "mesh peers: max_clients %zu is above %d", max, MESH_PEERS_MAX);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p)
		p->v = calloc(max, sizeof(*p->v));
	if (!p || !p->v) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (opts)
		p->opts = *opts;
	if (opts && opts->ca_file)
		snprintf(p->ca_file, sizeof(p->ca_file), "%s", opts->ca_file);
	if (opts && opts->cert_key_file)
		snprintf(p->cert_key_file, sizeof(p->cert_key_file), "%s", opts->cert_key_file);
	p->max = max;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	rc = thread_start_normal_priority(&p->closer, closer_thread, p);
	if (rc != 0) {
		snprintf(err, errlen, "mesh peers: cannot start the closer thread: %s", strerror(rc));
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p->v);
		free(p);
		return NULL;
	}
	p->closer_started = true;
	return p;
}

static void close_later(struct mesh_peers *p, struct rpc_client *c)
{
	struct closing *item = malloc(sizeof(*item));

	if (!item) {
		rpc_client_close(c); /* out of memory: close here, it is bounded */
		return;
	}
	item->client = c;
	pthread_mutex_lock(&p->lock);
	item->next = p->to_close;
	p->to_close = item;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void mesh_peers_free(struct mesh_peers *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->max; i++) {
		if (p->v[i].client)
			close_later(p, p->v[i].client);
		p->v[i].client = NULL;
	}
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (p->closer_started)
		pthread_join(p->closer, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->v);
	free(p);
}

static struct entry *lookup(struct mesh_peers *p, const char *url, const char *server_name,
			    struct rpc_status *st)
{
	struct entry *free_slot = NULL, *lru = NULL;
	struct rpc_client_opts co = {
		.max_msg = p->opts.max_msg,
		.max_inflight = p->opts.max_inflight ? p->opts.max_inflight : 64,
		.reconnect_min_ms = p->opts.reconnect_min_ms ? p->opts.reconnect_min_ms : 100,
		.reconnect_max_ms = p->opts.reconnect_max_ms ? p->opts.reconnect_max_ms : 2000,
		.wait_connected = false,
	};
	struct rpc_tls_files tls = {
		.ca_file = p->ca_file,
		.cert_key_file = p->cert_key_file,
		.server_name = server_name,
	};
	char err[256];
	int rc;

	for (size_t i = 0; i < p->max; i++) {
		struct entry *e = &p->v[i];

		if (!e->client) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (strcmp(e->url, url) == 0) {
			if (strcmp(e->server_name, server_name) == 0)
				return e;
			/* Same URL, another name (members file changed under
			 * us): the old client verifies the wrong name. */
			close_later(p, e->client);
			e->client = NULL;
			atomic_fetch_sub(&p->clients, 1);
			free_slot = e;
			break;
		}
		if (!lru || e->last_used < lru->last_used)
			lru = e;
	}
	if (strlen(url) >= URL_MAX || strlen(server_name) >= NAME_MAX_LEN) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "peer URL or name too long");
		return NULL;
	}
	if (!free_slot) {
		close_later(p, lru->client);
		lru->client = NULL;
		atomic_fetch_sub(&p->clients, 1);
		atomic_fetch_add(&p->evicted, 1);
		free_slot = lru;
	}
	if (rpc_transport_of(url) == RPC_TRANSPORT_TLS)
		co.tls = &tls;
	rc = rpc_client_new(&free_slot->client, url, &co, err, sizeof(err));
	if (rc != 0) {
		free_slot->client = NULL;
		atomic_fetch_add(&p->create_failed, 1);
		rpc_status_set(st, RPC_UNAVAILABLE, "%s: %s", url, err);
		return NULL;
	}
	snprintf(free_slot->url, sizeof(free_slot->url), "%s", url);
	snprintf(free_slot->server_name, sizeof(free_slot->server_name), "%s", server_name);
	atomic_fetch_add(&p->clients, 1);
	atomic_fetch_add(&p->created, 1);
	return free_slot;
}

static void call_done(void *arg, const struct rpc_status *st, ProtobufCMessage *reply)
{
	struct mesh_peers *p = arg;

	if (st->code == RPC_OK) {
		atomic_fetch_add_explicit(&p->ok, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&p->failed, 1, memory_order_relaxed);
		if (st->code == RPC_PERMISSION_DENIED)
			atomic_fetch_add_explicit(&p->denied, 1, memory_order_relaxed);
	}
	rpc_message_free(reply);
}

uint32_t mesh_peers_send(struct mesh_peers *p, const char *url, const char *server_name,
			 const ProtobufCServiceDescriptor *svc, const char *method,
			 const ProtobufCMessage *req, uint32_t deadline_ms, struct rpc_status *st)
{
	struct entry *e = lookup(p, url, server_name ? server_name : "", st);
	uint32_t code;

	if (!e) {
		atomic_fetch_add_explicit(&p->not_started, 1, memory_order_relaxed);
		return st ? st->code : RPC_UNAVAILABLE;
	}
	e->last_used = ++p->tick;
	code = rpc_call_async(e->client, svc, method, req, deadline_ms, call_done, p, st);
	if (code == RPC_OK)
		atomic_fetch_add_explicit(&p->sent, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&p->not_started, 1, memory_order_relaxed);
	return code;
}

void mesh_peers_get_stats(const struct mesh_peers *p, struct mesh_peers_stats *out)
{
	struct mesh_peers *q = (struct mesh_peers *)p;

	out->clients = atomic_load(&q->clients);
	out->created = atomic_load(&q->created);
	out->evicted = atomic_load(&q->evicted);
	out->create_failed = atomic_load(&q->create_failed);
	out->sent = atomic_load(&q->sent);
	out->not_started = atomic_load(&q->not_started);
	out->ok = atomic_load(&q->ok);
	out->failed = atomic_load(&q->failed);
	out->denied = atomic_load(&q->denied);
}
