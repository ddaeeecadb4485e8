/* http1.h — HTTP/1.1 message parsing on http-parser, with hard bounds.
 *
 * An http1_parser_t is fed bytes incrementally. It copies the head (start
 * line + headers) and body into storage it owns, so the caller's buffer may
 * be reused at once. Bounds: head <= HTTP1_MAX_HEAD bytes, <= HTTP1_MAX_HEADERS
 * headers, body <= the max_body given at init. Messages that http-parser
 * rejects, obs-fold continuation lines, Content-Length together with
 * Transfer-Encoding, or duplicated Content-Length/Host headers are refused
 * with ERR_PROTO (request smuggling defence). */
#ifndef BURROW_HTTP1_H
#define BURROW_HTTP1_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define HTTP1_MAX_HEAD 16384
#define HTTP1_MAX_HEADERS 64

typedef struct http1_header {
	const char *name; /* NUL-terminated, inside the parser's storage */
	const char *value;
	size_t name_len;
	size_t value_len;
} http1_header_t;

typedef struct http1_parser {
	http_parser hp;
	http_parser_settings settings;
	bool is_request;
	size_t max_body;
	/* results, valid after http1_feed returns HTTP1_DONE */
	int method;      /* enum http_method (requests) */
	int status;      /* responses */
	const char *url; /* request target, NUL-terminated */
	size_t url_len;
	http1_header_t headers[HTTP1_MAX_HEADERS];
	size_t nheaders;
	bool upgrade;    /* request asked for / response switched to another protocol */
	bool keep_alive; /* connection may carry another message */
	bool body_too_large; /* ERR_TOOBIG came from the body bound (413), not the head (431) */
	bool has_body;	     /* the head announced a body (Content-Length > 0 or chunked) */
	bool head_first;     /* http1_feed stops with HTTP1_HEAD before a body (http1_init_head_first) */
	buf_t body;
	/* private */
	buf_t store; /* url and header strings */
	size_t head_bytes;
	int state;
	int error;
} http1_parser_t;

enum { HTTP1_MORE = 0, HTTP1_DONE = 1, HTTP1_HEAD = 2 };

/* max_body: largest body accepted (0: none allowed). */
void http1_init(http1_parser_t *p, bool is_request, size_t max_body);
/* A request parser that accepts no body until its caller has read the head
 * and decided (e.g. after authentication): http1_feed returns HTTP1_HEAD
 * when a head that announces a body is complete; http1_set_max_body then
 * sets the bound and feeding goes on. A request without a body ends in
 * HTTP1_DONE as usual. */
void http1_init_head_first(http1_parser_t *p);
/* The body bound for the message being parsed. ERR_TOOBIG when its
 * Content-Length already exceeds it (answer 413). */
int http1_set_max_body(http1_parser_t *p, size_t max_body);
void http1_free(http1_parser_t *p);
/* Prepares for the next message on the same connection. */
void http1_reset(http1_parser_t *p);

/* Feeds bytes. *consumed gets how many were used. Returns HTTP1_DONE when a
 * whole message is parsed (for an upgrade request or a 101 response: when the
 * head is complete; the bytes after it are not consumed and belong to the new
 * protocol), HTTP1_MORE when more input is needed, ERR_TOOBIG past a bound, or
 * ERR_PROTO on malformed input. For a response whose body runs to EOF, call
 * http1_feed_eof() when the connection ends. */
int http1_feed(http1_parser_t *p, const uint8_t *data, size_t n, size_t *consumed);
int http1_feed_eof(http1_parser_t *p);

/* Case-insensitive header lookup; NULL when absent. */
const http1_header_t *http1_header(const http1_parser_t *p, const char *name);
/* Number of headers with this name (case-insensitive). */
size_t http1_header_count(const http1_parser_t *p, const char *name);
/* True when a comma-separated header value contains token (case-insensitive),
 * e.g. http1_header_has_token(p, "Connection", "upgrade"). */
bool http1_header_has_token(const http1_parser_t *p, const char *name, const char *token);

/* Path part of the request target (before '?'), copied into out (NUL-terminated).
 * Returns 0 or ERR_TOOBIG. */
int http1_path(const http1_parser_t *p, char *out, size_t outlen);

/* Standard reason phrase for a status code ("OK", "Not Found", ...). */
const char *http1_reason(int status);

#endif
