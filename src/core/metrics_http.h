/* metrics_http.h — a minimal plain-HTTP endpoint for Prometheus scrapes.
 * Every request on the listener gets the text render() produces. Keep the
 * listener on a private address: it has no authentication. */
#ifndef BURROW_METRICS_HTTP_H
#define BURROW_METRICS_HTTP_H

#include <stddef.h>
#include <uv.h>

/* Writes the exposition text into out (at most cap bytes); returns its length. */
typedef size_t (*metrics_render_fn)(void *data, char *out, size_t cap);

typedef struct metrics_http {
	uv_tcp_t listener;
	metrics_render_fn render;
	void *data;
} metrics_http_t;

int metrics_http_listen(uv_loop_t *loop, metrics_http_t *m, const char *addr, metrics_render_fn render, void *data);

#endif
