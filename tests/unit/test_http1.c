/* test_http1.c — HTTP/1.1 parsing: results, incremental feeding, bounds and
 * the request-smuggling refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/http1.h"

/* Feeds s in pieces of `step` bytes (all at once when 0), each piece in a
 * buffer of its own that is wiped after the call, so the parser cannot keep
 * pointers into it. Stops at the first result other than HTTP1_MORE;
 * *used gets the bytes of s consumed. */
static int feed_steps(http1_parser_t *p, const char *s, size_t n, size_t step, size_t *used)
{
	size_t off = 0;
	int r = HTTP1_MORE;
	while (off < n) {
		size_t len = step && step < n - off ? step : n - off;
		uint8_t *piece = malloc(len);
		assert_non_null(piece);
		memcpy(piece, s + off, len);
		size_t c = 0;
		r = http1_feed(p, piece, len, &c);
		assert_true(c <= len);
		memset(piece, 0xAA, len);
		free(piece);
		off += c;
		if (r != HTTP1_MORE)
			break;
		assert_int_equal(c, len);
	}
	if (used)
		*used = off;
	return r;
}

static int feed_str(http1_parser_t *p, const char *s, size_t *used)
{
	return feed_steps(p, s, strlen(s), 0, used);
}

/* Parses one request from s with a fresh parser; returns the result. */
static int parse_request(const char *s, size_t max_body)
{
	http1_parser_t p;
	http1_init(&p, true, max_body);
	int r = feed_str(&p, s, NULL);
	http1_free(&p);
	return r;
}

static void assert_header(const http1_parser_t *p, const char *name, const char *value)
{
	const http1_header_t *h = http1_header(p, name);
	assert_non_null(h);
	assert_string_equal(h->value, value);
	assert_int_equal(h->value_len, strlen(value));
	assert_int_equal(h->name_len, strlen(h->name));
}

static const char simple_get[] = "GET /a/b?x=1 HTTP/1.1\r\n"
				 "Host: example.test\r\n"
				 "User-Agent: t\r\n"
				 "Accept: */*\r\n"
				 "\r\n";

static void test_http1_parses_simple_get(void **state)
{
	http1_parser_t p;
	size_t used;
	http1_init(&p, true, 0);
	assert_int_equal(feed_str(&p, simple_get, &used), HTTP1_DONE);
	assert_int_equal(used, strlen(simple_get));
	assert_int_equal(p.method, HTTP_GET);
	assert_string_equal(p.url, "/a/b?x=1");
	assert_int_equal(p.url_len, 8);
	assert_int_equal(p.nheaders, 3);
	assert_string_equal(p.headers[0].name, "Host");
	assert_header(&p, "host", "example.test");
	assert_header(&p, "USER-AGENT", "t");
	assert_header(&p, "Accept", "*/*");
	assert_null(http1_header(&p, "Cookie"));
	assert_true(p.keep_alive);
	assert_false(p.upgrade);
	assert_int_equal(buf_used(&p.body), 0);
	http1_free(&p);
}

static void test_http1_request_with_body(void **state)
{
	static const char req[] = "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
	http1_parser_t p;
	size_t used;
	http1_init(&p, true, 1024);
	assert_int_equal(feed_str(&p, req, &used), HTTP1_DONE);
	assert_int_equal(used, strlen(req));
	assert_int_equal(p.method, HTTP_POST);
	assert_int_equal(buf_used(&p.body), 11);
	assert_memory_equal(buf_head(&p.body), "hello world", 11);
	http1_free(&p);
}

static void test_http1_chunked_body(void **state)
{
	static const char req[] = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
	for (size_t step = 0; step <= 7; step++) {
		http1_parser_t p;
		size_t used;
		http1_init(&p, true, 1024);
		assert_int_equal(feed_steps(&p, req, strlen(req), step, &used), HTTP1_DONE);
		assert_int_equal(used, strlen(req));
		assert_int_equal(buf_used(&p.body), 11);
		assert_memory_equal(buf_head(&p.body), "hello world", 11);
		/* trailers are dropped, headers untouched */
		assert_int_equal(p.nheaders, 2);
		assert_null(http1_header(&p, "X-Trailer"));
		assert_header(&p, "Transfer-Encoding", "chunked");
		http1_free(&p);
	}
}

static void test_http1_rejects_body_over_max(void **state)
{
	assert_int_equal(
	    parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world", 10),
	    ERR_TOOBIG);
	assert_int_equal(
	    parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello worl", 10),
	    HTTP1_DONE);
}

static void test_http1_rejects_body_over_max_before_it_arrives(void **state)
{
	http1_parser_t p;
	size_t used;
	http1_init(&p, true, 100);
	assert_int_equal(
	    feed_str(&p, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n", &used),
	    ERR_TOOBIG);
	http1_free(&p);
}

static void test_http1_rejects_chunked_body_over_max(void **state)
{
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				       "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
				       10),
			 ERR_TOOBIG);
}

static void test_http1_zero_max_body_refuses_any_body(void **state)
{
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", 0),
			 ERR_TOOBIG);
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 0),
			 HTTP1_DONE);
}

/* A request with n headers "X-<i>: v". */
static char *request_with_headers(size_t n)
{
	size_t cap = 64 + n * 32;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t len = (size_t)snprintf(s, cap, "GET / HTTP/1.1\r\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "X-%zu: v%zu\r\n", i, i);
	snprintf(s + len, cap - len, "\r\n");
	return s;
}

static void test_http1_accepts_64_headers(void **state)
{
	char *s = request_with_headers(HTTP1_MAX_HEADERS);
	http1_parser_t p;
	http1_init(&p, true, 0);
	assert_int_equal(feed_steps(&p, s, strlen(s), 3, NULL), HTTP1_DONE);
	assert_int_equal(p.nheaders, HTTP1_MAX_HEADERS);
	assert_header(&p, "X-0", "v0");
	assert_header(&p, "X-63", "v63");
	http1_free(&p);
	free(s);
}

static void test_http1_rejects_too_many_headers(void **state)
{
	char *s = request_with_headers(HTTP1_MAX_HEADERS + 1);
	assert_int_equal(parse_request(s, 0), ERR_TOOBIG);
	free(s);
}

/* A request whose head is exactly `size` bytes long. */
static char *request_of_head_size(size_t size)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX-Pad: ";
	static const char post[] = "\r\n\r\n";
	char *s = malloc(size + 1);
	assert_non_null(s);
	size_t pad = size - (sizeof(pre) - 1) - (sizeof(post) - 1);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'a', pad);
	memcpy(s + sizeof(pre) - 1 + pad, post, sizeof(post));
	assert_int_equal(strlen(s), size);
	return s;
}

static void test_http1_accepts_head_of_max_size(void **state)
{
	char *s = request_of_head_size(HTTP1_MAX_HEAD);
	for (size_t step = 0; step <= 1; step++) {
		http1_parser_t p;
		size_t used;
		http1_init(&p, true, 0);
		assert_int_equal(feed_steps(&p, s, strlen(s), step ? 1000 : 0, &used), HTTP1_DONE);
		assert_int_equal(used, HTTP1_MAX_HEAD);
		assert_int_equal(http1_header(&p, "X-Pad")->value_len, HTTP1_MAX_HEAD - 27);
		http1_free(&p);
	}
	free(s);
}

static void test_http1_rejects_head_too_big(void **state)
{
	char *s = request_of_head_size(HTTP1_MAX_HEAD + 1);
	assert_int_equal(parse_request(s, 0), ERR_TOOBIG);
	free(s);
	/* An endless head is refused once the bound is reached, not at its end. */
	http1_parser_t p;
	http1_init(&p, true, 0);
	char junk[1000];
	memset(junk, 'a', sizeof(junk));
	int r = feed_str(&p, "GET / HTTP/1.1\r\nX-Pad: ", NULL);
	size_t fed = 0;
	while (r == HTTP1_MORE && fed < 10 * HTTP1_MAX_HEAD) {
		size_t used;
		r = http1_feed(&p, (const uint8_t *)junk, sizeof(junk), &used);
		fed += sizeof(junk);
	}
	assert_int_equal(r, ERR_TOOBIG);
	assert_true(fed < HTTP1_MAX_HEAD + sizeof(junk));
	http1_free(&p);
}

static void test_http1_rejects_duplicate_content_length(void **state)
{
	assert_int_equal(
	    parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
			  10),
	    ERR_PROTO);
	assert_int_equal(
	    parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nxy",
			  10),
	    ERR_PROTO);
}

static void test_http1_rejects_duplicate_host(void **state)
{
	assert_int_equal(parse_request("GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n", 0), ERR_PROTO);
}

static void test_http1_rejects_cl_and_te(void **state)
{
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
				       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
				       10),
			 ERR_PROTO);
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
				       "Content-Length: 5\r\n\r\n0\r\n\r\n",
				       10),
			 ERR_PROTO);
}

static void test_http1_rejects_unknown_transfer_encoding_in_request(void **state)
{
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 10),
			 ERR_PROTO);
}

static void test_http1_rejects_obs_fold(void **state)
{
	assert_int_equal(parse_request("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n", 0),
			 ERR_PROTO);
	assert_int_equal(parse_request("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n\ttwo\r\n\r\n", 0),
			 ERR_PROTO);
	assert_int_equal(parse_request("GET / HTTP/1.1\r\nX-A: one\n two\r\nHost: h\r\n\r\n", 0), ERR_PROTO);
}

static void test_http1_rejects_obs_fold_split_across_feeds(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n";
	const char *fold = strstr(req, "\n two");
	http1_parser_t p;
	size_t used;
	http1_init(&p, true, 0);
	/* the LF ends one feed, the space starts the next */
	size_t first = (size_t)(fold - req) + 1;
	assert_int_equal(feed_steps(&p, req, first, 0, &used), HTTP1_MORE);
	assert_int_equal(feed_str(&p, req + first, &used), ERR_PROTO);
	http1_free(&p);
}

static void test_http1_space_in_body_is_not_obs_fold(void **state)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n\r\n \r\n\t";
	for (size_t step = 0; step <= 1; step++) {
		http1_parser_t p;
		http1_init(&p, true, 100);
		assert_int_equal(feed_steps(&p, req, strlen(req), step, NULL), HTTP1_DONE);
		assert_memory_equal(buf_head(&p.body), "\r\n \r\n\t", 6);
		http1_free(&p);
	}
}

static void test_http1_rejects_nul_in_header_value(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
	http1_parser_t p;
	http1_init(&p, true, 0);
	assert_int_equal(feed_steps(&p, req, sizeof(req) - 1, 0, NULL), ERR_PROTO);
	http1_free(&p);
}

static void test_http1_rejects_malformed_request_line(void **state)
{
	assert_int_equal(parse_request("GET /\r\n\r\n", 0), ERR_PROTO); /* HTTP/0.9 */
	assert_int_equal(parse_request("GET / HTTP/2.0\r\n\r\n", 0), ERR_PROTO);
	assert_int_equal(parse_request("G@T / HTTP/1.1\r\n\r\n", 0), ERR_PROTO);
	assert_int_equal(parse_request("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 0), ERR_PROTO);
	assert_int_equal(parse_request("GET / HTTP/1.1\r\nHost h\r\n\r\n", 0), ERR_PROTO);
}

static void test_http1_rejects_space_before_colon(void **state)
{
	/* http-parser reads this as a Content-Length; others ignore it. */
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\nhello", 10),
			 ERR_PROTO);
	assert_int_equal(
	    parse_request("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\t: chunked\r\n\r\n", 10),
	    ERR_PROTO);
}

static void test_http1_rejects_bare_cr(void **state)
{
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nX: a\rContent-Length: 5\r\n\r\nhello", 10),
			 ERR_PROTO);
	assert_int_equal(parse_request("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 10), ERR_PROTO);
	assert_int_equal(parse_request("GET / HTTP/1.1\rHost: a\r\n\r\n", 10), ERR_PROTO);
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nContent-Length: 5\r\r\nhello", 10), ERR_PROTO);
}

static void test_http1_rejects_bad_content_length(void **state)
{
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", 10), ERR_PROTO);
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\nhello", 10), ERR_PROTO);
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nContent-Length: 5,5\r\n\r\nhello", 10), ERR_PROTO);
	assert_int_equal(parse_request("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 10), ERR_PROTO);
}

static void test_http1_connect_stops_at_head(void **state)
{
	static const char req[] = "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n\x16\x03\x01";
	http1_parser_t p;
	size_t used;
	http1_init(&p, true, 0);
	assert_int_equal(feed_str(&p, req, &used), HTTP1_DONE);
	assert_int_equal(used, sizeof(req) - 1 - 3);
	assert_int_equal(p.method, HTTP_CONNECT);
	assert_string_equal(p.url, "a.test:443");
	assert_true(p.upgrade);
	http1_free(&p);
}

static void test_http1_head_split_byte_by_byte(void **state)
{
	/* Long values are split over many feeds and the store reallocates
	 * while they arrive. */
	char req[4096];
	char big[1500];
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(req, sizeof(req),
		 "PUT /path/to/thing?q=1 HTTP/1.1\r\nHost: example.test\r\nX-Big: %s\r\nX-Empty:\r\n"
		 "X-Spaces:   padded   \r\nContent-Length: 4\r\n\r\nbody",
		 big);
	http1_parser_t p;
	size_t used;
	http1_init(&p, true, 100);
	assert_int_equal(feed_steps(&p, req, strlen(req), 1, &used), HTTP1_DONE);
	assert_int_equal(used, strlen(req));
	assert_int_equal(p.method, HTTP_PUT);
	assert_string_equal(p.url, "/path/to/thing?q=1");
	assert_int_equal(p.nheaders, 5);
	assert_header(&p, "Host", "example.test");
	assert_header(&p, "X-Big", big);
	assert_header(&p, "X-Empty", "");
	assert_header(&p, "X-Spaces", "padded");
	assert_header(&p, "Content-Length", "4");
	assert_memory_equal(buf_head(&p.body), "body", 4);
	http1_free(&p);
}

static void test_http1_upgrade_leaves_trailing_bytes(void **state)
{
	static const char req[] = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
				  "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Sec-WebSocket-Version: 13\r\n\r\n\x82\x85\x01\x02\x03\x04xxxxx";
	size_t head = (size_t)(strstr(req, "\r\n\r\n") - req) + 4;
	for (size_t step = 0; step <= 1; step++) {
		http1_parser_t p;
		size_t used;
		http1_init(&p, true, 0);
		assert_int_equal(feed_steps(&p, req, sizeof(req) - 1, step, &used), HTTP1_DONE);
		assert_int_equal(used, head);
		assert_true(p.upgrade);
		assert_true(http1_header_has_token(&p, "Connection", "upgrade"));
		assert_true(http1_header_has_token(&p, "Upgrade", "WebSocket"));
		http1_free(&p);
	}
}

static void test_http1_rejects_upgrade_request_with_body(void **state)
{
	assert_int_equal(
	    parse_request("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
			  "Content-Length: 4\r\n\r\nbody",
			  100),
	    ERR_PROTO);
	assert_int_equal(
	    parse_request("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
			  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			  100),
	    ERR_PROTO);
	assert_int_equal(
	    parse_request("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nContent-Length: 4\r\n\r\n"
			  "body",
			  100),
	    ERR_PROTO);
	/* Content-Length: 0 announces no body */
	assert_int_equal(
	    parse_request("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
			  "Content-Length: 0\r\n\r\n",
			  100),
	    HTTP1_DONE);
}

static void test_http1_response_101_leaves_trailing_bytes(void **state)
{
	static const char res[] =
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "\r\n\x81\x02hi";
	size_t head = sizeof(res) - 1 - 4;
	for (size_t step = 0; step <= 1; step++) {
		http1_parser_t p;
		size_t used;
		http1_init(&p, false, 0);
		assert_int_equal(feed_steps(&p, res, sizeof(res) - 1, step, &used), HTTP1_DONE);
		assert_int_equal(used, head);
		assert_int_equal(p.status, 101);
		assert_true(p.upgrade);
		assert_header(&p, "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
		http1_free(&p);
	}
}

static void test_http1_response_101_without_upgrade_headers_stops_at_head(void **state)
{
	static const char res[] = "HTTP/1.1 101 Switching Protocols\r\n\r\nNEXT";
	http1_parser_t p;
	size_t used;
	http1_init(&p, false, 0);
	assert_int_equal(feed_str(&p, res, &used), HTTP1_DONE);
	assert_int_equal(used, sizeof(res) - 1 - 4);
	assert_true(p.upgrade);
	http1_free(&p);
}

static void test_http1_response_401_with_body(void **state)
{
	static const char res[] = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
				  "Content-Length: 12\r\nContent-Type: text/plain\r\n\r\nunauthorized";
	http1_parser_t p;
	size_t used;
	http1_init(&p, false, 1024);
	assert_int_equal(feed_str(&p, res, &used), HTTP1_DONE);
	assert_int_equal(used, sizeof(res) - 1);
	assert_int_equal(p.status, 401);
	assert_false(p.upgrade);
	assert_true(p.keep_alive);
	assert_header(&p, "WWW-Authenticate", "Bearer");
	assert_memory_equal(buf_head(&p.body), "unauthorized", 12);
	http1_free(&p);
}

static void test_http1_response_body_to_eof(void **state)
{
	static const char res[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this ";
	http1_parser_t p;
	size_t used;
	http1_init(&p, false, 1024);
	assert_int_equal(feed_str(&p, res, &used), HTTP1_MORE);
	assert_int_equal(feed_str(&p, "until close", &used), HTTP1_MORE);
	assert_int_equal(http1_feed_eof(&p), HTTP1_DONE);
	assert_int_equal(p.status, 200);
	assert_false(p.keep_alive);
	assert_int_equal(buf_used(&p.body), 23);
	assert_memory_equal(buf_head(&p.body), "all of this until close", 23);
	http1_free(&p);
}

static void test_http1_response_body_to_eof_is_bounded(void **state)
{
	static const char res[] = "HTTP/1.1 200 OK\r\n\r\n0123456789";
	http1_parser_t p;
	http1_init(&p, false, 9);
	assert_int_equal(feed_str(&p, res, NULL), ERR_TOOBIG);
	http1_free(&p);
}

static void test_http1_304_with_content_length_has_no_body(void **state)
{
	static const char res[] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK";
	http1_parser_t p;
	size_t used;
	http1_init(&p, false, 0);
	assert_int_equal(feed_str(&p, res, &used), HTTP1_DONE);
	assert_int_equal(used, strstr(res, "\r\n\r\n") - res + 4);
	assert_int_equal(p.status, 304);
	http1_free(&p);
}

static void test_http1_eof_mid_body_is_error(void **state)
{
	http1_parser_t p;
	http1_init(&p, true, 100);
	assert_int_equal(feed_str(&p, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc", NULL),
			 HTTP1_MORE);
	assert_int_equal(http1_feed_eof(&p), ERR_PROTO);
	http1_free(&p);
}

static void test_http1_eof_mid_head_is_error(void **state)
{
	http1_parser_t p;
	http1_init(&p, true, 100);
	assert_int_equal(feed_str(&p, "GET / HTTP/1.1\r\nHo", NULL), HTTP1_MORE);
	assert_int_equal(http1_feed_eof(&p), ERR_PROTO);
	http1_free(&p);
}

static void test_http1_eof_between_messages_is_clean(void **state)
{
	http1_parser_t p;
	http1_init(&p, true, 0);
	assert_int_equal(http1_feed_eof(&p), HTTP1_MORE);
	assert_int_equal(feed_str(&p, simple_get, NULL), HTTP1_DONE);
	http1_reset(&p);
	assert_int_equal(http1_feed_eof(&p), HTTP1_MORE);
	http1_free(&p);
}

static void test_http1_pipelined_requests_with_reset(void **state)
{
	static const char two[] = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
				  "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
				  "GET /three HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char *const urls[] = {"/one", "/two", "/three"};
	http1_parser_t p;
	http1_init(&p, true, 100);
	size_t off = 0;
	for (size_t i = 0; i < 3; i++) {
		size_t used;
		assert_int_equal(http1_feed(&p, (const uint8_t *)two + off, sizeof(two) - 1 - off, &used),
				 HTTP1_DONE);
		assert_string_equal(p.url, urls[i]);
		assert_true(p.keep_alive);
		if (i == 1)
			assert_memory_equal(buf_head(&p.body), "abc", 3);
		else
			assert_int_equal(buf_used(&p.body), 0);
		/* without a reset nothing more is taken */
		size_t again;
		assert_int_equal(http1_feed(&p, (const uint8_t *)two + off + used, 1, &again), HTTP1_DONE);
		assert_int_equal(again, 0);
		off += used;
		http1_reset(&p);
	}
	assert_int_equal(off, sizeof(two) - 1);
	http1_free(&p);
}

static void test_http1_connection_close_is_not_keep_alive(void **state)
{
	http1_parser_t p;
	http1_init(&p, true, 0);
	assert_int_equal(feed_str(&p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", NULL),
			 HTTP1_DONE);
	assert_false(p.keep_alive);
	http1_reset(&p);
	assert_int_equal(feed_str(&p, "GET / HTTP/1.0\r\n\r\n", NULL), HTTP1_DONE);
	assert_false(p.keep_alive);
	http1_reset(&p);
	assert_int_equal(feed_str(&p, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", NULL), HTTP1_DONE);
	assert_true(p.keep_alive);
	http1_free(&p);
}

static void test_http1_header_has_token(void **state)
{
	http1_parser_t p;
	http1_init(&p, true, 0);
	assert_int_equal(feed_str(&p,
				  "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive ,\tUpgrade\r\n"
				  "X-List: a,b\r\nX-List: upgrade-ish, c \r\n\r\n",
				  NULL),
			 HTTP1_DONE);
	assert_true(http1_header_has_token(&p, "connection", "upgrade"));
	assert_true(http1_header_has_token(&p, "Connection", "KEEP-ALIVE"));
	assert_false(http1_header_has_token(&p, "Connection", "close"));
	assert_false(http1_header_has_token(&p, "Connection", "keep"));
	assert_true(http1_header_has_token(&p, "X-List", "c"));
	assert_true(http1_header_has_token(&p, "X-List", "b"));
	assert_false(http1_header_has_token(&p, "X-List", "upgrade"));
	assert_false(http1_header_has_token(&p, "X-Missing", "a"));
	assert_int_equal(http1_header_count(&p, "x-list"), 2);
	assert_int_equal(http1_header_count(&p, "x-missing"), 0);
	http1_free(&p);
}

static void test_http1_path_copies_before_query(void **state)
{
	http1_parser_t p;
	char out[16];
	http1_init(&p, true, 0);
	assert_int_equal(feed_str(&p, "GET /cdn-cgi/x?a=b?c HTTP/1.1\r\nHost: h\r\n\r\n", NULL), HTTP1_DONE);
	assert_int_equal(http1_path(&p, out, sizeof(out)), 0);
	assert_string_equal(out, "/cdn-cgi/x");
	assert_int_equal(http1_path(&p, out, 11), 0);
	assert_int_equal(http1_path(&p, out, 10), ERR_TOOBIG);
	http1_reset(&p);
	assert_int_equal(feed_str(&p, "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n", NULL), HTTP1_DONE);
	assert_int_equal(http1_path(&p, out, sizeof(out)), 0);
	assert_string_equal(out, "/plain");
	http1_free(&p);
}

static void test_http1_reason_phrases(void **state)
{
	static const int codes[] = {101, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405,
				    408, 409, 413, 426, 429, 431, 500, 501, 502, 503, 504};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_string_not_equal(http1_reason(codes[i]), "Unknown");
	assert_string_equal(http1_reason(200), "OK");
	assert_string_equal(http1_reason(404), "Not Found");
	assert_string_equal(http1_reason(101), "Switching Protocols");
	assert_string_equal(http1_reason(999), "Unknown");
	assert_string_equal(http1_reason(-1), "Unknown");
}

static void test_http1_error_is_sticky(void **state)
{
	http1_parser_t p;
	size_t used;
	http1_init(&p, true, 0);
	assert_int_equal(feed_str(&p, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", NULL), ERR_PROTO);
	assert_int_equal(feed_str(&p, simple_get, &used), ERR_PROTO);
	assert_int_equal(used, 0);
	assert_int_equal(http1_feed_eof(&p), ERR_PROTO);
	http1_reset(&p);
	assert_int_equal(feed_str(&p, simple_get, NULL), HTTP1_DONE);
	http1_free(&p);
}

static void test_http1_response_url_is_empty(void **state)
{
	http1_parser_t p;
	http1_init(&p, false, 10);
	assert_int_equal(feed_str(&p, "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n", NULL), HTTP1_DONE);
	assert_int_equal(p.status, 204);
	assert_string_equal(p.url, "");
	assert_header(&p, "X-A", "b");
	http1_free(&p);
}

/* Head first: nothing of a body is accepted until the caller set a bound. */
static void test_http1_head_first_stops_before_body(void **state)
{
	static const char req[] = "POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / "
				  "HTTP/1.1\r\nHost: h\r\n\r\n";
	http1_parser_t p;
	size_t used;
	http1_init_head_first(&p);
	assert_int_equal(http1_feed(&p, (const uint8_t *)req, strlen(req), &used), HTTP1_HEAD);
	/* (the head's last LF stays unconsumed: http-parser paused on it) */
	assert_int_equal(used, strlen(req) - strlen("\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n"));
	assert_true(p.has_body);
	assert_int_equal(buf_used(&p.body), 0);
	assert_int_equal(http1_set_max_body(&p, 5), 0);
	size_t more;
	assert_int_equal(http1_feed(&p, (const uint8_t *)req + used, strlen(req) - used, &more), HTTP1_DONE);
	assert_int_equal(more, 6);
	assert_memory_equal(buf_head(&p.body), "hello", 5);
	/* the pipelined next request, after a reset: no body, so DONE at once */
	http1_reset(&p);
	size_t off = used + more;
	assert_int_equal(http1_feed(&p, (const uint8_t *)req + off, strlen(req) - off, &more), HTTP1_DONE);
	assert_int_equal(off + more, strlen(req));
	assert_false(p.has_body);
	http1_free(&p);
}

static void test_http1_head_first_bounds(void **state)
{
	static const char big[] = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\nxx";
	static const char chunked[] =
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n";
	http1_parser_t p;
	size_t used;
	http1_init_head_first(&p);
	assert_int_equal(http1_feed(&p, (const uint8_t *)big, strlen(big), &used), HTTP1_HEAD);
	assert_int_equal(http1_set_max_body(&p, 1024 * 1024), ERR_TOOBIG);
	assert_true(p.body_too_large);
	http1_free(&p);
	/* a caller that feeds on without a bound gets nothing buffered */
	http1_init_head_first(&p);
	assert_int_equal(http1_feed(&p, (const uint8_t *)chunked, strlen(chunked), &used), HTTP1_HEAD);
	size_t more;
	assert_int_equal(http1_feed(&p, (const uint8_t *)chunked + used, strlen(chunked) - used, &more),
			 ERR_TOOBIG);
	assert_int_equal(buf_used(&p.body), 0);
	http1_free(&p);
	/* with a bound, a chunked body is read */
	http1_init_head_first(&p);
	assert_int_equal(http1_feed(&p, (const uint8_t *)chunked, strlen(chunked), &used), HTTP1_HEAD);
	assert_int_equal(http1_set_max_body(&p, 16), 0);
	assert_int_equal(http1_feed(&p, (const uint8_t *)chunked + used, strlen(chunked) - used, &more),
			 HTTP1_DONE);
	assert_memory_equal(buf_head(&p.body), "abcd", 4);
	http1_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http1_parses_simple_get),
	    cmocka_unit_test(test_http1_request_with_body),
	    cmocka_unit_test(test_http1_chunked_body),
	    cmocka_unit_test(test_http1_rejects_body_over_max),
	    cmocka_unit_test(test_http1_rejects_body_over_max_before_it_arrives),
	    cmocka_unit_test(test_http1_rejects_chunked_body_over_max),
	    cmocka_unit_test(test_http1_zero_max_body_refuses_any_body),
	    cmocka_unit_test(test_http1_accepts_64_headers),
	    cmocka_unit_test(test_http1_rejects_too_many_headers),
	    cmocka_unit_test(test_http1_accepts_head_of_max_size),
	    cmocka_unit_test(test_http1_rejects_head_too_big),
	    cmocka_unit_test(test_http1_rejects_duplicate_content_length),
	    cmocka_unit_test(test_http1_rejects_duplicate_host),
	    cmocka_unit_test(test_http1_rejects_cl_and_te),
	    cmocka_unit_test(test_http1_rejects_unknown_transfer_encoding_in_request),
	    cmocka_unit_test(test_http1_rejects_obs_fold),
	    cmocka_unit_test(test_http1_rejects_obs_fold_split_across_feeds),
	    cmocka_unit_test(test_http1_space_in_body_is_not_obs_fold),
	    cmocka_unit_test(test_http1_rejects_nul_in_header_value),
	    cmocka_unit_test(test_http1_rejects_malformed_request_line),
	    cmocka_unit_test(test_http1_rejects_space_before_colon),
	    cmocka_unit_test(test_http1_rejects_bare_cr),
	    cmocka_unit_test(test_http1_rejects_bad_content_length),
	    cmocka_unit_test(test_http1_connect_stops_at_head),
	    cmocka_unit_test(test_http1_head_split_byte_by_byte),
	    cmocka_unit_test(test_http1_upgrade_leaves_trailing_bytes),
	    cmocka_unit_test(test_http1_rejects_upgrade_request_with_body),
	    cmocka_unit_test(test_http1_response_101_leaves_trailing_bytes),
	    cmocka_unit_test(test_http1_response_101_without_upgrade_headers_stops_at_head),
	    cmocka_unit_test(test_http1_response_401_with_body),
	    cmocka_unit_test(test_http1_response_body_to_eof),
	    cmocka_unit_test(test_http1_response_body_to_eof_is_bounded),
	    cmocka_unit_test(test_http1_304_with_content_length_has_no_body),
	    cmocka_unit_test(test_http1_eof_mid_body_is_error),
	    cmocka_unit_test(test_http1_eof_mid_head_is_error),
	    cmocka_unit_test(test_http1_eof_between_messages_is_clean),
	    cmocka_unit_test(test_http1_pipelined_requests_with_reset),
	    cmocka_unit_test(test_http1_connection_close_is_not_keep_alive),
	    cmocka_unit_test(test_http1_header_has_token),
	    cmocka_unit_test(test_http1_path_copies_before_query),
	    cmocka_unit_test(test_http1_reason_phrases),
	    cmocka_unit_test(test_http1_error_is_sticky),
	    cmocka_unit_test(test_http1_response_url_is_empty),
	    cmocka_unit_test(test_http1_head_first_stops_before_body),
	    cmocka_unit_test(test_http1_head_first_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
