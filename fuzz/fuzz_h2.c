/* fuzz_h2.c — the HTTP/2 stream glue (core/h2.c) on untrusted frames.
 *
 * The first input byte picks the role: even = server (the connector, which
 * receives the edge's streams), odd = client (the edge, which receives a
 * connector's responses). The rest is fed as received bytes, in pieces
 * whose sizes come from the input. Streams get answered, written to,
 * ended, consumed and reset, so every callback path runs. No sockets: the
 * conn has no handle, its output stays in memory. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/conn.h"
#include "core/h2.h"

static void st_on_data(h2_stream_t *s, const uint8_t *p, size_t n)
{
	h2_stream_consume(s, n);
	if (n && p[0] == 'R')
		h2_stream_reset(s, NGHTTP2_CANCEL);
}

static void st_on_end(h2_stream_t *s) { h2_stream_end(s); }
static void st_on_close(h2_stream_t *s, uint32_t code) {}
static void st_on_response(h2_stream_t *s) { h2_stream_write(s, "pong", 4); }

static const h2_stream_cbs_t stream_cbs = {
	.on_response = st_on_response,
	.on_data = st_on_data,
	.on_end = st_on_end,
	.on_close = st_on_close,
};

static void on_request(h2_session_t *h, h2_stream_t *s)
{
	const char *m = h2_stream_header(s, ":method");
	const char *a = h2_stream_header(s, ":authority");
	h2_stream_set_cbs(s, &stream_cbs, NULL);
	if (m && strcmp(m, "CONNECT") == 0 && a) {
		h2_respond(s, 200, NULL, 0, false);
		h2_stream_write(s, "hello", 5);
	} else {
		nghttp2_nv e = h2_nv("burrow-error", "no");
		h2_respond(s, 404, &e, 1, true);
	}
}

/* A handle-less conn closes synchronously: this flag, not the freed conn,
 * says whether the session is gone. */
static bool session_gone;
static void on_session_close(h2_session_t *h, int err) { session_gone = true; }

static const h2_session_cbs_t session_cbs = {.on_request = on_request, .on_close = on_session_close};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const conn_cbs_t none = {0};
	if (size < 2)
		return 0;
	bool server = (data[0] & 1) == 0;
	size_t chunk = (size_t)data[1] * 7 + 1;
	data += 2;
	size -= 2;
	session_gone = false;
	conn_t *c = conn_new(uv_default_loop(), &none, NULL);
	h2_session_t *h = h2_session_new(c, server, &session_cbs, NULL);
	if (!h) {
		conn_close(c);
		return 0;
	}
	if (!server && !session_gone) {
		nghttp2_nv nva[] = {h2_nv(":method", "CONNECT"), h2_nv(":authority", "ssh.site.test")};
		h2_submit(h, nva, 2, &stream_cbs, NULL);
	}
	if (server && !session_gone) {
		/* The client connection preface must come first; prepend it so
		 * the fuzzer reaches the frame parser. */
		static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
		c->cbs->on_data(c, &(buf_t){.data = (uint8_t *)preface, .len = 24, .cap = 24, .max = 24});
	}
	size_t off = 0;
	while (off < size && !session_gone) {
		size_t n = size - off < chunk ? size - off : chunk;
		buf_t in;
		buf_init(&in, n);
		buf_append(&in, data + off, n);
		c->cbs->on_data(c, &in);
		buf_free(&in);
		off += n;
	}
	if (!session_gone)
		conn_close(c); /* no handle: closes at once, the session tears down */
	return 0;
}
