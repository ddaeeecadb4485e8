/* http_client.h — a small blocking HTTPS/1.1 client for the admin CLI (and
 * the client's login poll, src/access/login.c).
 *
 * One request per connection (Connection: close). The peer is verified
 * against the system CA directory plus an optional PEM file, by DNS name or
 * by IP address as the URL says. Meant for short-lived CLI processes only:
 * it blocks, so it must never run on an event loop thread. */
#ifndef BURROW_ADMIN_HTTP_CLIENT_H
#define BURROW_ADMIN_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/admin_util.h"
#include "core/buf.h"

#define HTTP_CLIENT_MAX_BODY ((size_t)4 << 20)
#define HTTP_CLIENT_CONNECT_TIMEOUT_MS 10000
#define HTTP_CLIENT_IO_TIMEOUT_MS 30000

typedef struct http_client_req {
	const admin_url_t *url;
	const char *ca_file; /* PEM trusted besides the system roots, or NULL */
	const char *token;   /* bearer token (token_len bytes), or NULL; never logged */
	size_t token_len;
	const char *method;
	const char *path;
	const char *body; /* JSON, or NULL for none */
	size_t body_len;
	/* Where to connect when not url's host and port (an edge address for
	 * an application hostname): SNI, the name checked and Host stay url's.
	 * NULL: url. */
	const admin_url_t *connect;
	int timeout_ms; /* connect and each read/write; 0: the defaults above */
} http_client_req_t;

typedef struct http_client_resp {
	int status;
	buf_t body; /* may hold a one-time secret: free with buf_free_secret */
	/* The peer's certificate or the CA file was refused: a retry cannot
	 * help (set when the request failed). */
	bool trust_failed;
} http_client_resp_t;

/* Sends the request and reads the whole response (body <= 4 MiB). Returns 0
 * with resp filled (any status), or a negative error with one line in err
 * saying what failed and what to check. resp->body is initialised either
 * way. */
int http_client_request(const http_client_req_t *req, http_client_resp_t *resp, char *err, size_t errlen);

#endif
