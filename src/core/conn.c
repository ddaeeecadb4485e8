/* conn.c — byte streams on libuv with optional TLS through a BIO pair.
 *
 * Must never: block, grow a buffer past its cap, or free the conn before
 * libuv's close callback. */
#include "core/conn.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/stdio_pump.h"

static void conn_pump(conn_t *c);
static void conn_fail(conn_t *c, int err);
static void conn_push(conn_t *c);

/* Conns written since the loop last polled; flushed in one prepare
 * callback. One loop per process, so one list. */
static conn_t *dirty_head;
static uv_prepare_t flusher;
static uv_loop_t *flusher_loop;

static void on_flush(uv_prepare_t *h)
{
	while (dirty_head) {
		conn_t *c = dirty_head;
		dirty_head = c->dirty_next;
		if (dirty_head)
			dirty_head->dirty_prev = NULL;
		c->dirty = false;
		c->dirty_next = c->dirty_prev = NULL;
		conn_push(c);
	}
}

static void mark_dirty(conn_t *c)
{
	if (c->dirty)
		return;
	if (flusher_loop != c->loop) {
		uv_prepare_init(c->loop, &flusher);
		uv_prepare_start(&flusher, on_flush);
		uv_unref((uv_handle_t *)&flusher);
		flusher_loop = c->loop;
	}
	c->dirty = true;
	c->dirty_prev = NULL;
	c->dirty_next = dirty_head;
	if (dirty_head)
		dirty_head->dirty_prev = c;
	dirty_head = c;
}

static void unmark_dirty(conn_t *c)
{
	if (!c->dirty)
		return;
	if (c->dirty_prev)
		c->dirty_prev->dirty_next = c->dirty_next;
	else
		dirty_head = c->dirty_next;
	if (c->dirty_next)
		c->dirty_next->dirty_prev = c->dirty_prev;
	c->dirty = false;
	c->dirty_next = c->dirty_prev = NULL;
}

conn_t *conn_new(uv_loop_t *loop, const conn_cbs_t *cbs, void *data)
{
	conn_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->cbs = cbs;
	c->data = data;
	buf_init(&c->rbuf, CONN_RBUF_MAX);
	buf_init(&c->wbuf, CONN_WBUF_MAX);
	buf_init(&c->wflight, CONN_WBUF_MAX);
	c->high_water = CONN_HIGH_WATER;
	c->low_water = CONN_LOW_WATER;
	return c;
}

static void conn_free(conn_t *c)
{
	if (c->ssl)
		SSL_free(c->ssl); /* frees the internal BIO of the pair */
	if (c->net_bio)
		BIO_free(c->net_bio);
	buf_free(&c->rbuf);
	buf_free(&c->wbuf);
	buf_free(&c->wflight);
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	conn_t *c = h->data;
	if (--c->handles_open > 0)
		return;
	if (c->cbs->on_close)
		c->cbs->on_close(c);
	conn_free(c);
}

void conn_close(conn_t *c)
{
	if (c->closing)
		return;
	c->closing = true;
	unmark_dirty(c);
	if (c->handles_open == 0) {
		/* Never got a handle, so no close callback will come: report
		 * and free now. */
		if (c->cbs->on_close)
			c->cbs->on_close(c);
		conn_free(c);
		return;
	}
	if (c->stdio) {
		uv_close((uv_handle_t *)&c->h.pipe, on_handle_closed);
		uv_close((uv_handle_t *)&c->out_pipe, on_handle_closed);
	} else {
		uv_close((uv_handle_t *)&c->h.tcp, on_handle_closed);
	}
}

static void conn_fail(conn_t *c, int err)
{
	if (c->closing)
		return;
	if (!c->err)
		c->err = err;
	if (!c->opened) {
		c->opened = true;
		if (c->cbs->on_open)
			c->cbs->on_open(c, err);
	} else if (!c->eof_reported) {
		c->eof_reported = true;
		if (c->cbs->on_eof)
			c->cbs->on_eof(c, err);
	}
	conn_close(c);
}

/* ---- output ---- */

size_t conn_pending(const conn_t *c)
{
	size_t n = buf_used(&c->wbuf) + c->inflight;
	if (c->net_bio)
		n += BIO_ctrl_pending(c->net_bio);
	else
		n += buf_used(&c->wflight);
	return n;
}

static void written(conn_t *c)
{
	if (conn_full(c))
		c->above_high = true;
	mark_dirty(c);
}

int conn_write(conn_t *c, const void *p, size_t n)
{
	if (c->closing || c->shut_req)
		return ERR_CLOSED;
	int r = buf_append(&c->wbuf, p, n);
	if (r == 0)
		written(c);
	return r;
}

uint8_t *conn_write_reserve(conn_t *c, size_t n)
{
	if (c->closing || c->shut_req)
		return NULL;
	if (buf_reserve(&c->wbuf, n) != 0)
		return NULL;
	return buf_tail(&c->wbuf);
}

void conn_write_commit(conn_t *c, size_t n)
{
	buf_commit(&c->wbuf, n);
	written(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	conn_t *c = req->data;
	c->shut_done = true;
	if (c->close_after)
		conn_close(c);
}

static void on_write(uv_write_t *req, int status);

static int tls_encrypt(conn_t *c)
{
	while (buf_used(&c->wbuf) > 0) {
		size_t n = buf_used(&c->wbuf);
		if (n > INT32_MAX)
			n = INT32_MAX;
		ERR_clear_error();
		int r = SSL_write(c->ssl, buf_head(&c->wbuf), (int)n);
		if (r > 0) {
			buf_consume(&c->wbuf, (size_t)r);
			continue;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return 0;
		return ERR_TLS;
	}
	return 0;
}

/* One uv_write of p[0..n); the bytes stay put until on_write. Nonzero
 * when it failed (the conn is closing then). */
static int start_write(conn_t *c, char *p, size_t n)
{
	uv_buf_t b = uv_buf_init(p, (unsigned)n);
	c->inflight = n;
	c->writing = true;
	c->wreq.data = c;
	int r = uv_write(&c->wreq, c->out, &b, 1, on_write);
	if (r) {
		c->writing = false;
		c->inflight = 0;
		conn_fail(c, r);
	}
	return r;
}

/* Moves output toward the socket: encrypt what fits, then one uv_write. */
static void conn_push(conn_t *c)
{
	unmark_dirty(c);
	if (c->closing || c->writing || !c->out)
		goto drain; /* !out: no stream yet (or a test harness without one) */
	if (c->net_bio) {
		if (!c->handshaking && tls_encrypt(c) != 0) {
			conn_fail(c, ERR_TLS);
			return;
		}
		if (c->shut_req && !c->shut_done && buf_used(&c->wbuf) == 0 && !c->handshaking &&
		    !(SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN))
			SSL_shutdown(c->ssl); /* queues close_notify in the pair */
		char *p = NULL;
		int n = BIO_nread0(c->net_bio, &p);
		if (n > 0 && start_write(c, p, (size_t)n) != 0)
			return;
	} else if (buf_used(&c->wbuf) > 0) {
		/* Swap buffers: wbuf keeps collecting while wflight is on the wire. */
		buf_t t = c->wflight;
		c->wflight = c->wbuf;
		c->wbuf = t;
		buf_reset(&c->wbuf);
		if (start_write(c, (char *)buf_head(&c->wflight), buf_used(&c->wflight)) != 0)
			return;
	}
	if (!c->writing && c->shut_req && !c->shut_started && buf_used(&c->wbuf) == 0 &&
	    (!c->net_bio || BIO_ctrl_pending(c->net_bio) == 0)) {
		c->shut_started = true;
		c->sreq.data = c;
		if (uv_shutdown(&c->sreq, c->out, on_shutdown) != 0) {
			c->shut_done = true;
			if (c->close_after) {
				conn_close(c);
				return;
			}
		}
	}
drain:
	if (conn_full(c)) {
		c->above_high = true;
	}
}

static void on_write(uv_write_t *req, int status)
{
	conn_t *c = req->data;
	c->writing = false;
	if (c->net_bio && status == 0)
		BIO_nread(c->net_bio, NULL, (int)c->inflight);
	else
		buf_reset(&c->wflight);
	c->inflight = 0;
	if (status < 0) {
		if (status != UV_ECANCELED)
			conn_fail(c, status);
		return;
	}
	if (c->closing)
		return;
	conn_push(c);
	if (c->above_high && conn_pending(c) < c->low_water && !c->closing) {
		c->above_high = false;
		if (c->cbs->on_drain)
			c->cbs->on_drain(c);
		if (!c->closing)
			conn_push(c);
	}
	/* The peer may have sent data we could not decrypt while the ring was
	 * full of our own output (renegotiation-free TLS rarely needs this). */
	if (!c->closing && c->net_bio && !c->paused)
		conn_pump(c);
}

void conn_shutdown(conn_t *c)
{
	if (c->closing || c->shut_req)
		return;
	c->shut_req = true;
	conn_push(c);
}

void conn_finish(conn_t *c)
{
	if (c->closing)
		return;
	c->close_after = true;
	if (c->shut_done) {
		conn_close(c);
		return;
	}
	c->shut_req = true;
	conn_push(c);
}

/* ---- input ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
	conn_t *c = h->data;
	if (c->net_bio) {
		char *p = NULL;
		int n = BIO_nwrite0(c->net_bio, &p);
		if (n <= 0) {
			*out = uv_buf_init(NULL, 0);
			return;
		}
		*out = uv_buf_init(p, (unsigned)n);
		return;
	}
	if (buf_reserve(&c->rbuf, CONN_READ_CHUNK) != 0 &&
	    (buf_space(&c->rbuf) == 0 && buf_reserve(&c->rbuf, 1) != 0)) {
		*out = uv_buf_init(NULL, 0);
		return;
	}
	*out = uv_buf_init((char *)buf_tail(&c->rbuf), (unsigned)buf_space(&c->rbuf));
}

static void conn_stop_reading(conn_t *c)
{
	if (c->reading) {
		uv_read_stop(c->in);
		c->reading = false;
	}
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void conn_start_reading(conn_t *c)
{
	if (!c->reading && !c->eof_in && !c->closing) {
		if (uv_read_start(c->in, on_alloc, on_read) == 0)
			c->reading = true;
	}
}

static void report_eof(conn_t *c)
{
	if (c->eof_reported || c->closing)
		return;
	c->eof_reported = true;
	if (c->cbs->on_eof)
		c->cbs->on_eof(c, 0);
}

/* Hands buffered plaintext to the owner until it stops consuming. */
static void deliver(conn_t *c)
{
	while (!c->closing && !c->paused && buf_used(&c->rbuf) > 0) {
		size_t before = buf_used(&c->rbuf);
		c->cbs->on_data(c, &c->rbuf);
		if (c->closing || buf_used(&c->rbuf) == before)
			break;
	}
}

static int tls_handshake(conn_t *c)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->handshaking = false;
		return 1;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	unsigned long le = ERR_peek_last_error();
	char msg[256];
	ERR_error_string_n(le, msg, sizeof(msg));
	if (SSL_get_verify_result(c->ssl) != X509_V_OK)
		log_debug("TLS handshake failed: certificate: %s",
			  X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
	else
		log_debug("TLS handshake failed: %s", le ? msg : "connection closed");
	return ERR_TLS;
}

/* Decrypts what the ring holds into rbuf and delivers it. */
static void conn_pump(conn_t *c)
{
	if (c->in_pump || c->closing)
		return;
	c->in_pump = true;
	if (c->net_bio && c->handshaking) {
		int r = tls_handshake(c);
		if (r < 0) {
			conn_push(c); /* send the alert */
			c->in_pump = false;
			conn_fail(c, ERR_TLS);
			return;
		}
		if (r == 1 && !c->opened) {
			c->opened = true;
			if (c->cbs->on_open)
				c->cbs->on_open(c, 0);
		}
	}
	while (!c->closing && !c->handshaking) {
		if (c->net_bio && !c->paused) {
			bool eof = false;
			for (;;) {
				if (buf_reserve(&c->rbuf, 16 * 1024 + 256) != 0 && buf_space(&c->rbuf) == 0)
					break;
				ERR_clear_error();
				int r = SSL_read(c->ssl, buf_tail(&c->rbuf), (int)buf_space(&c->rbuf));
				if (r > 0) {
					buf_commit(&c->rbuf, (size_t)r);
					continue;
				}
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					break;
				if (e == SSL_ERROR_ZERO_RETURN) {
					eof = true;
					break;
				}
				c->in_pump = false;
				conn_fail(c, ERR_TLS);
				return;
			}
			deliver(c);
			if (eof && buf_used(&c->rbuf) == 0) {
				report_eof(c);
				break;
			}
			if (buf_used(&c->rbuf) > 0 && (c->paused || c->closing))
				break;
			if (SSL_pending(c->ssl) > 0 && buf_space(&c->rbuf) > 0)
				continue;
			break;
		}
		if (!c->net_bio && !c->paused) {
			deliver(c);
			if (c->eof_in && buf_used(&c->rbuf) == 0)
				report_eof(c);
		}
		break;
	}
	c->in_pump = false;
	if (c->closing)
		return;
	/* Keep the ring draining unless the owner asked us to stop or rbuf is
	 * full of bytes the owner has not taken. */
	if (!c->paused && buf_used(&c->rbuf) < CONN_RBUF_MAX / 2)
		conn_start_reading(c);
	else
		conn_stop_reading(c);
	conn_push(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	conn_t *c = s->data;
	if (n == UV_ENOBUFS) {
		conn_stop_reading(c);
		return;
	}
	if (n < 0) {
		conn_stop_reading(c);
		if (n != UV_EOF) {
			conn_fail(c, (int)n);
			return;
		}
		c->eof_in = true;
		if (c->net_bio) {
			BIO_shutdown_wr(c->net_bio);
			if (c->handshaking) {
				conn_fail(c, UV_ECONNRESET);
				return;
			}
		}
		conn_pump(c);
		/* TLS peers that end without close_notify look like a clean EOF
		 * (SSL_OP_IGNORE_UNEXPECTED_EOF); make sure the owner hears it. */
		if (!c->closing && buf_used(&c->rbuf) == 0 && !c->paused)
			report_eof(c);
		return;
	}
	if (n == 0)
		return;
	if (c->net_bio)
		BIO_nwrite(c->net_bio, NULL, (int)n);
	else
		buf_commit(&c->rbuf, (size_t)n);
	conn_pump(c);
}

void conn_pause(conn_t *c)
{
	c->paused = true;
	conn_stop_reading(c);
}

void conn_resume(conn_t *c)
{
	if (!c->paused || c->closing)
		return;
	c->paused = false;
	conn_pump(c);
	if (!c->closing && c->eof_in && buf_used(&c->rbuf) == 0 && !c->paused)
		report_eof(c);
}

/* ---- set-up ---- */

static int tls_setup(conn_t *c, SSL_CTX *ctx, bool server, const char *host)
{
	BIO *ibio = NULL;
	c->ssl = SSL_new(ctx);
	if (!c->ssl)
		return ERR_NOMEM;
	if (!BIO_new_bio_pair(&ibio, CONN_BIO_SIZE, &c->net_bio, CONN_BIO_SIZE))
		return ERR_NOMEM;
	SSL_set_bio(c->ssl, ibio, ibio);
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	c->tls_server = server;
	c->handshaking = true;
	if (server) {
		SSL_set_accept_state(c->ssl);
		return 0;
	}
	SSL_set_connect_state(c->ssl);
	if (host && *host) {
		struct in6_addr a6;
		struct in_addr a4;
		bool is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
		if (is_ip) {
			X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
			if (!X509_VERIFY_PARAM_set1_ip_asc(vp, host))
				return ERR_INVAL;
		} else {
			if (!SSL_set_tlsext_host_name(c->ssl, host) || !SSL_set1_host(c->ssl, host))
				return ERR_INVAL;
		}
	}
	return 0;
}

static void setup_handle(conn_t *c)
{
	c->h.tcp.data = c;
	c->in = c->out = (uv_stream_t *)&c->h.tcp;
	c->handles_open = 1;
}

int conn_accept(conn_t *c, uv_stream_t *server, SSL_CTX *ctx)
{
	int r = uv_tcp_init(c->loop, &c->h.tcp);
	if (r)
		return r;
	setup_handle(c);
	if ((r = uv_accept(server, c->in)) != 0)
		return r;
	uv_tcp_nodelay(&c->h.tcp, 1);
	if (ctx) {
		if ((r = tls_setup(c, ctx, true, NULL)) != 0)
			return r;
	} else {
		c->opened = true;
	}
	conn_start_reading(c);
	return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
	conn_t *c = req->data;
	if (c->closing)
		return;
	if (status < 0) {
		conn_fail(c, status);
		return;
	}
	uv_tcp_nodelay(&c->h.tcp, 1);
	conn_start_reading(c);
	if (c->net_bio) {
		conn_pump(c); /* produces the ClientHello */
		return;
	}
	c->opened = true;
	if (c->cbs->on_open)
		c->cbs->on_open(c, 0);
	if (!c->closing)
		conn_push(c);
}

int conn_connect(conn_t *c, const struct sockaddr *addr, SSL_CTX *ctx, const char *host)
{
	int r = uv_tcp_init(c->loop, &c->h.tcp);
	if (r)
		return r;
	setup_handle(c);
	if (ctx && (r = tls_setup(c, ctx, false, host)) != 0)
		return r;
	c->creq.data = c;
	return uv_tcp_connect(&c->creq, &c->h.tcp, addr, on_connect);
}

int conn_open_stdio(conn_t *c)
{
	int r = uv_pipe_init(c->loop, &c->h.pipe, 0);
	if (r)
		return r;
	c->h.pipe.data = c;
	c->handles_open = 1;
	c->stdio = true;
	if ((r = uv_pipe_init(c->loop, &c->out_pipe, 0)) != 0)
		return r;
	c->out_pipe.data = c;
	c->handles_open = 2;
	int in_fd = stdio_pollable(0, true), out_fd = stdio_pollable(1, false);
	if (in_fd < 0 || out_fd < 0)
		return in_fd < 0 ? in_fd : out_fd;
	if ((r = uv_pipe_open(&c->h.pipe, in_fd)) != 0)
		return r;
	if ((r = uv_pipe_open(&c->out_pipe, out_fd)) != 0)
		return r;
	c->in = (uv_stream_t *)&c->h.pipe;
	c->out = (uv_stream_t *)&c->out_pipe;
	c->opened = true;
	conn_start_reading(c);
	return 0;
}

void conn_peer_ip(conn_t *c, char *out, size_t outlen, struct sockaddr_storage *ss)
{
	struct sockaddr_storage tmp;
	int len = sizeof(tmp);
	if (!ss)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	out[0] = '\0';
	if (c->stdio || uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)ss, &len) != 0)
		return;
	if (ss->ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)ss, out, outlen);
	else if (ss->ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)ss, out, outlen);
}
