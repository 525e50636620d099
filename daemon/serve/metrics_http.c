/* See metrics_http.h. nng runs the handler on its own threads and may
 * still be inside it when the server is stopped, so what the handler
 * touches lives in a scrape context owned by the nng handler (freed by
 * nng when its last reference drops), and a scrape runs entirely under
 * that context's lock: once stop has set `stopping` under the lock, no
 * scrape is running and none will touch the registry again. */
#include "daemon/serve/metrics_http.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* A GET has no body; a small one is read so that the 405 can be sent on a
 * healthy connection, a large one gets nng's 400. */
#define MAX_REQUEST_BODY 4096

struct scrape_ctx {
	pthread_mutex_t lock; /* held for a whole scrape; see above */
	bool stopping;
	struct metrics *m;
	metrics_refresh_cb refresh;
	void *refresh_ctx;
};

struct metrics_http {
	nng_http_server *server;
	nng_http_handler *handler;
	struct scrape_ctx *ctx;
	int port;
};

static void scrape_ctx_free(void *arg)
{
	struct scrape_ctx *c = arg;

	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int error_response(nng_http_res **out, uint16_t status)
{
	int rv = nng_http_res_alloc_error(out, status);

	if (rv == 0 && status == NNG_HTTP_STATUS_METHOD_NOT_ALLOWED)
		rv = nng_http_res_set_header(*out, "Allow", "GET, HEAD");
	return rv;
}

static int scrape(struct scrape_ctx *c, nng_http_res **out)
{
	char *body = NULL;
	size_t len = 0;
	bool stopping;
	int rv;

	pthread_mutex_lock(&c->lock);
	stopping = c->stopping;
	if (!stopping) {
		if (c->refresh)
			c->refresh(c->refresh_ctx);
		body = metrics_render(c->m, &len);
	}
	pthread_mutex_unlock(&c->lock);
	if (stopping)
		return error_response(out, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE);
	if (!body)
		return error_response(out, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR);
	rv = nng_http_res_alloc(out);
	if (rv == 0)
		rv = nng_http_res_set_header(*out, "Content-Type", CONTENT_TYPE);
	if (rv == 0)
		rv = nng_http_res_copy_data(*out, body, len);
	free(body);
	return rv;
}

/* Registered for every method (nng would answer a wrong method with a
 * bare 405, without the Allow header HTTP requires); HEAD is a GET whose
 * body nng drops. */
static void handle(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	const char *method = nng_http_req_get_method(req);
	nng_http_res *res = NULL;
	int rv;

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		rv = scrape(nng_http_handler_get_data(h), &res);
	else
		rv = error_response(&res, NNG_HTTP_STATUS_METHOD_NOT_ALLOWED);
	if (rv != 0) {
		/* Out of memory: nng closes the connection. */
		nng_http_res_free(res);
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static int bound_port(nng_http_server *s)
{
	nng_sockaddr sa;

	if (nng_http_server_get_addr(s, &sa) != 0)
		return -1;
	switch (sa.s_family) {
	case NNG_AF_INET:
		return ntohs(sa.s_in.sa_port);
	case NNG_AF_INET6:
		return ntohs(sa.s_in6.sa_port);
	default:
		return -1;
	}
}

struct metrics_http *metrics_http_start(const char *listen, struct metrics *m,
					metrics_refresh_cb refresh, void *refresh_ctx, char *err,
					size_t errlen)
{
	char urlstr[METRICS_LISTEN_MAX + 16];
	struct metrics_http *h;
	struct scrape_ctx *c;
	nng_url *url = NULL;
	const char *step;
	int rv;

	if (!m) {
		snprintf(err, errlen, "no metrics registry");
		return NULL;
	}
	if (metrics_listen_url(listen, urlstr, sizeof(urlstr), err, errlen) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	c = calloc(1, sizeof(*c));
	if (!h || !c || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(h);
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->m = m;
	c->refresh = refresh;
	c->refresh_ctx = refresh_ctx;
	h->ctx = c;

	step = "address";
	rv = nng_url_parse(&url, urlstr);
	if (rv == 0) {
		step = "server";
		rv = nng_http_server_hold(&h->server, url);
		nng_url_free(url);
	}
	if (rv == 0) {
		step = "handler";
		rv = nng_http_handler_alloc(&h->handler, "/metrics", handle);
	}
	if (rv != 0) {
		if (h->server)
			nng_http_server_release(h->server);
		scrape_ctx_free(c);
		free(h);
		snprintf(err, errlen, "%s: %s: %s", listen, step, nng_strerror(rv));
		return NULL;
	}
	/* From here the handler owns c: freeing the handler frees it. */
	rv = nng_http_handler_set_data(h->handler, c, scrape_ctx_free);
	if (rv != 0)
		scrape_ctx_free(c);
	if (rv == 0)
		rv = nng_http_handler_set_method(h->handler, NULL);
	if (rv == 0)
		rv = nng_http_handler_collect_body(h->handler, true, MAX_REQUEST_BODY);
	if (rv == 0) {
		rv = nng_http_server_add_handler(h->server, h->handler);
		step = "/metrics already served";
	}
	if (rv == 0) {
		rv = nng_http_server_start(h->server);
		step = "listen";
		if (rv != 0)
			nng_http_server_del_handler(h->server, h->handler);
	}
	if (rv != 0) {
		nng_http_handler_free(h->handler);
		nng_http_server_release(h->server);
		free(h);
		snprintf(err, errlen, "%s: %s: %s", listen, step, nng_strerror(rv));
		return NULL;
	}
	h->port = bound_port(h->server);
	return h;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	/* Waits for a scrape in progress (it holds the lock throughout). */
	pthread_mutex_lock(&h->ctx->lock);
	h->ctx->stopping = true;
	pthread_mutex_unlock(&h->ctx->lock);
	nng_http_server_stop(h->server);
	/* Takes our reference back; a handler call still in flight keeps the
	 * context alive until it returns. */
	if (nng_http_server_del_handler(h->server, h->handler) == 0)
		nng_http_handler_free(h->handler);
	nng_http_server_release(h->server);
	free(h);
}

int metrics_http_port(const struct metrics_http *h)
{
	return h ? h->port : -1;
}
