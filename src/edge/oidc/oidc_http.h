/* oidc_http.h — HTTPS requests from the edge's loop: libcurl's multi socket
 * interface driven by uv_poll_t (one per socket) and one uv_timer_t. Only
 * edge/oidc/ uses it; only burrow-edge links libcurl.
 *
 * Bounded: OIDC_HTTP_INFLIGHT requests at once, OIDC_HTTP_BODY_MAX bytes of
 * response body, OIDC_HTTP_TIMEOUT_MS per request, https only, no
 * redirects. Each request ends with exactly one callback on the loop,
 * never from inside oidc__http_start, unless cancelled. */
#ifndef BURROW_EDGE_OIDC_HTTP_H
#define BURROW_EDGE_OIDC_HTTP_H

#include <stddef.h>
#include <uv.h>

#define OIDC_HTTP_INFLIGHT 64
#define OIDC_HTTP_BODY_MAX (1024 * 1024)
#define OIDC_HTTP_TIMEOUT_MS 15000

typedef struct oidc_http oidc_http_t;
typedef struct oidc_http_req oidc_http_req_t;

typedef struct oidc_http_opts {
	const char *url;
	const char *ca_pem;	 /* trusted besides the system roots; NULL: system roots only */
	const char *form;	 /* application/x-www-form-urlencoded POST body; NULL: GET */
	const char *user, *pass; /* HTTP Basic credentials (already form-encoded), or NULL */
} oidc_http_opts_t;

/* status 0: a response came (code: its HTTP status; body NUL-terminated,
 * borrowed for the call). Otherwise ERR_TIMEOUT, ERR_TOOBIG (body over the
 * cap) or ERR_UNAVAIL, with curl's words in err (no URL query, no body). */
typedef void (*oidc_http_cb)(void *arg, int status, long code, const char *body, size_t len, const char *err);

int oidc__http_init(uv_loop_t *loop, oidc_http_t **out);
/* Cancels every request (no callbacks) and frees once the loop closed its
 * handles. */
void oidc__http_close(oidc_http_t *h);
/* 0 with *out set (for oidc__http_cancel), ERR_UNAVAIL when
 * OIDC_HTTP_INFLIGHT are in flight, ERR_NOMEM. */
int oidc__http_start(oidc_http_t *h, const oidc_http_opts_t *o, oidc_http_cb cb, void *arg,
		     oidc_http_req_t **out);
/* No callback for r after this; r is freed. */
void oidc__http_cancel(oidc_http_req_t *r);

#endif
