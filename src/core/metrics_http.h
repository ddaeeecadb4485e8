/* metrics_http.h — a minimal plain-HTTP endpoint for Prometheus scrapes.
 * Every request on the listener gets the text render() produces. Keep the
 * listener on a private address: it has no authentication.
 *
 * A scraper opens a connection, sends one request and reads one answer,
 * so the listener holds few connections and none for long: at most
 * METRICS_CONN_MAX in all and METRICS_PER_ADDR from one address (IPv4, or
 * IPv6 /64), each closed METRICS_DEADLINE_MS after it was accepted however
 * far it got. A connection over either cap is reset at accept and counted
 * (metrics_http_refused). Without these, idle connections to this
 * listener took every descriptor the process had, and TLS on the edge's
 * other listeners failed (review of issue 25: 240 were enough). */
#ifndef BURROW_METRICS_HTTP_H
#define BURROW_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/addrcap.h"

#define METRICS_CONN_MAX 64
#define METRICS_PER_ADDR 8
/* From accept to the answer sent: a scrape on a private network takes
 * milliseconds; Prometheus's default scrape timeout is 10 s, and it
 * retries at the next interval. */
#define METRICS_DEADLINE_MS 5000

/* Writes the exposition text into out (at most cap bytes); returns its length. */
typedef size_t (*metrics_render_fn)(void *data, char *out, size_t cap);

typedef struct metrics_conn metrics_conn_t;

/* The owner embeds it; its fields belong to metrics_http.c. */
typedef struct metrics_http {
	uv_tcp_t listener;
	uv_timer_t deadline; /* fires at the oldest connection's deadline */
	metrics_render_fn render;
	void *data;
	addrcap_t *per_addr;
	metrics_conn_t *live; /* oldest first: deadlines in order */
	metrics_conn_t *live_tail;
	size_t nlive;
	uint64_t refused;   /* reset at accept: over a cap */
	uint64_t warned_ms; /* last refusal warning (at most one per 10 s) */
	uint64_t unlogged;  /* refusals since it */
} metrics_http_t;

int metrics_http_listen(uv_loop_t *loop, metrics_http_t *m, const char *addr, metrics_render_fn render, void *data);
/* Connections reset at accept because a cap was reached. */
uint64_t metrics_http_refused(const metrics_http_t *m);
/* Frees what listen allocated (at exit: the loop no longer runs). */
void metrics_http_free(metrics_http_t *m);

#endif
