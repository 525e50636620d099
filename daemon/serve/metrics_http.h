/* GET /metrics over HTTP (nng's HTTP server), for Prometheus. Each scrape
 * first calls the daemon's refresh callback, so gauges that mirror state
 * (outbox depth, libvirt connection) are current, then renders the
 * registry. Other paths answer 404, other methods 405. */
#ifndef MIMAMORI_METRICS_HTTP_H
#define MIMAMORI_METRICS_HTTP_H

#include <stddef.h>

#include "daemon/common/metrics.h"

/* Called on an nng thread before each render, one scrape at a time: it
 * must only touch state that is safe to read from another thread. */
typedef void (*metrics_refresh_cb)(void *ctx);

struct metrics_http;

/* listen is HOST:PORT (metrics_listen_url); port 0 picks a free one
 * (metrics_http_port). refresh may be NULL. m and
 * refresh_ctx must outlive metrics_http_stop(). Returns NULL with the
 * reason in err (bad address, port in use). */
struct metrics_http *metrics_http_start(const char *listen, struct metrics *m,
					metrics_refresh_cb refresh, void *refresh_ctx, char *err,
					size_t errlen);
/* Stops listening and waits for a scrape in progress; after it returns,
 * neither m nor the callback is used again. NULL is a no-op. */
void metrics_http_stop(struct metrics_http *h);
/* The TCP port actually bound, or -1. */
int metrics_http_port(const struct metrics_http *h);

#endif
