/* conn.c — byte streams on libuv with optional TLS (conn_tls.c), whose
 * idle buffers a sweep gives back (conn_sweep.c), and which can send a
 * caller's bytes without copying them (conn_lent.c); socket options and
 * the peer address are in conn_sock.c.
 *
 * Must never: block, grow a buffer past its cap, or free the conn before
 * libuv's close callback. */
#include "core/conn.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn_int.h"
#include "core/conn_sweep.h"
#include "core/conn_tls.h"
#include "core/err.h"
#include "core/log.h"
#include "core/slab.h"
#include "core/stdio_pump.h"
#include "core/tls.h"
#include "core/tlsrec.h"

static void conn_pump(conn_t *c);
static void conn_push(conn_t *c);
static void conn_start_reading(conn_t *c);
static bool check_drained(conn_t *c);

#define CONN_PUSH_ROUNDS 16 /* encrypt-and-send rounds per push: up to 1 MiB of TLS */

/* Conns written since the loop last polled; flushed in one prepare
 * callback. One loop per process, so one list. */
static conn_t *dirty_head;
static uv_prepare_t flusher;
static uv_loop_t *flusher_loop;

static uint64_t turn; /* loop iterations, counted by on_flush */

/* c has read its budget in this loop iteration. */
static bool turn_read_all(const conn_t *c)
{
	return c->read_turn == turn && c->turn_read >= c->read_budget;
}

static bool can_read_more(const conn_t *c)
{
	return !c->paused && buf_used(&c->rbuf) < CONN_RBUF_MAX / 2;
}

/* Runs once per loop iteration, before the loop polls for I/O: sends what
 * the iteration queued, and begins the next turn, in which every conn may
 * read its budget again (on_alloc). */
static void on_flush(uv_prepare_t *h)
{
	turn++;
	while (dirty_head) {
		conn_t *c = dirty_head;
		dirty_head = c->dirty_next;
		if (dirty_head)
			dirty_head->dirty_prev = NULL;
		c->dirty = false;
		c->dirty_next = c->dirty_prev = NULL;
		conn_push(c);
		check_drained(c);
	}
}

/* I/O happened: the next sweep leaves this conn's buffers alone. */
void conn_mark_busy(conn_t *c)
{
	c->busy = true;
	c->trimmed = false;
}

/* The flusher and the sweeper belong to the (one) loop of the process. */
static void loop_setup(uv_loop_t *loop)
{
	if (flusher_loop == loop)
		return;
	uv_prepare_init(loop, &flusher);
	uv_prepare_start(&flusher, on_flush);
	uv_unref((uv_handle_t *)&flusher);
	conn_sweep_start(loop);
	flusher_loop = loop;
}

static void mark_dirty(conn_t *c)
{
	if (c->dirty)
		return;
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

/* Every conn of the process (one loop). */
static slab_t conn_slab = {.size = sizeof(conn_t)};

void conn_set_owner(conn_t *c, const conn_cbs_t *cbs, void *data)
{
	c->cbs = cbs;
	c->data = data;
}

conn_t *conn_new(uv_loop_t *loop, const conn_cbs_t *cbs, void *data)
{
	conn_t *c = slab_alloc(&conn_slab);
	if (!c)
		return NULL;
	c->loop = loop;
	c->cbs = cbs;
	c->data = data;
	buf_init(&c->rbuf, CONN_RBUF_MAX);
	buf_init(&c->wbuf, CONN_WBUF_MAX);
	buf_init(&c->wflight, CONN_WBUF_MAX);
	buf_init(&c->tin, CONN_TLS_IN);
	buf_init(&c->tout, CONN_TLS_OUT);
	c->high_water = CONN_HIGH_WATER;
	c->low_water = CONN_LOW_WATER;
	c->read_budget = CONN_TURN_READ;
	loop_setup(loop);
	conn_sweep_add(c);
	return c;
}

static void conn_free(conn_t *c)
{
	conn_sweep_remove(c);
	conn_tls_free(c);
	buf_free(&c->rbuf);
	buf_free(&c->wbuf);
	buf_free(&c->wflight);
	buf_free(&c->tin);
	buf_free(&c->tout);
	free(c->out_pipe);
	slab_free(&conn_slab, c);
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
	if (c->lent)
		conn_lent_drop(c);
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
		if (c->handles_open > 1) /* fd 1's pipe was set up */
			uv_close((uv_handle_t *)c->out_pipe, on_handle_closed);
	} else {
		uv_close((uv_handle_t *)&c->h.tcp, on_handle_closed);
	}
}

void conn_fail(conn_t *c, int err)
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
	return c->lent + buf_used(&c->wbuf) + buf_used(&c->tout) + buf_used(&c->wflight);
}

void conn_written(conn_t *c)
{
	if (conn_full(c))
		c->above_high = true;
	mark_dirty(c);
}

int conn_write(conn_t *c, const void *p, size_t n)
{
	if (c->closing || c->shut_req)
		return ERR_CLOSED;
	if (c->lent)
		conn_lent_flush(c); /* keeps the order of c's output */
	int r = buf_append(&c->wbuf, p, n);
	if (r == 0)
		conn_written(c);
	return r;
}

/* Room for need bytes of ciphertext in tout, sending what it holds first
 * when the socket is free: a direct write then need not fall back to a
 * copy just because the previous records have not left yet. */
static bool tout_room(conn_t *c, size_t need)
{
	if (buf_room(&c->tout) >= need)
		return true;
	if (c->writing || buf_used(&c->wbuf) > 0 || !c->out)
		return false;
	conn_push(c);
	return !c->closing && !c->writing && buf_room(&c->tout) >= need;
}

bool conn_can_write(const conn_t *c, size_t n)
{
	/* What conn_write needs: the lent bytes copied into wbuf, then n. */
	return !c->closing && !c->shut_req && c->lent <= buf_room(&c->wbuf) &&
	       n <= buf_room(&c->wbuf) - c->lent;
}

int conn_write_frame(conn_t *c, const void *h, size_t hn, const void *p, size_t n)
{
	size_t total = hn + n;
	if (!conn_can_write(c, total))
		return c->closing || c->shut_req ? ERR_CLOSED : ERR_TOOBIG;
	/* Only when every record fits in tout: SSL_write then never stalls
	 * half-way through a record (which would tie OpenSSL to p). 64 bytes
	 * cover a record's header, tag and padding. The SSL (a connection not
	 * on TLS 1.3) cannot seal two pieces as one: it gets one piece only. */
	bool direct = c->tls && !c->handshaking && buf_used(&c->wbuf) == 0 && total <= INT32_MAX &&
		      (c->rec || hn == 0) && tout_room(c, total + 64 * (total / 16384 + 1));
	if (!direct) {
		int r = hn ? conn_write(c, h, hn) : 0;
		return r ? r : conn_write(c, p, n);
	}
	size_t done = 0;
	if (c->rec) {
		/* On failure the rest goes to wbuf too, and conn_push meets the
		 * error: failing here would call the owner back mid-write. */
		(void)tlsrec_seal2(c->rec, h, hn, p, n, &c->tout, &done);
	} else {
		ERR_clear_error();
		int r = SSL_write(c->ssl, p, (int)n);
		if (r <= 0)
			return conn_write(c, p, n); /* let conn_push meet the error */
		done = (size_t)r;
	}
	/* wbuf was empty and has room for all (conn_can_write): no failure. */
	if (done < hn && buf_append(&c->wbuf, (const uint8_t *)h + done, hn - done) != 0)
		return ERR_TOOBIG;
	size_t pdone = done > hn ? done - hn : 0;
	if (pdone < n && buf_append(&c->wbuf, (const uint8_t *)p + pdone, n - pdone) != 0)
		return ERR_TOOBIG;
	conn_written(c);
	return 0;
}

int conn_write_direct(conn_t *c, const void *p, size_t n)
{
	return conn_write_frame(c, NULL, 0, p, n);
}

uint8_t *conn_write_reserve(conn_t *c, size_t n)
{
	if (c->closing || c->shut_req)
		return NULL;
	if (c->lent)
		conn_lent_flush(c);
	if (buf_reserve(&c->wbuf, n) != 0)
		return NULL;
	return buf_tail(&c->wbuf);
}

void conn_write_commit(conn_t *c, size_t n)
{
	buf_commit(&c->wbuf, n);
	conn_written(c);
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
	if (c->rec) {
		/* What is sealed waits in tout; tlsrec stops at tout's cap too. */
		size_t lim = conn_seal_chunk(c), queued = buf_used(&c->tout);
		if (queued >= lim)
			return 0;
		size_t n = buf_used(&c->wbuf), done = 0;
		if (n > lim - queued)
			n = lim - queued;
		int r = tlsrec_seal(c->rec, buf_head(&c->wbuf), n, &c->tout, &done);
		buf_consume(&c->wbuf, done);
		return r;
	}
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

/* Sends what out holds: straight away as far as the socket takes it, the
 * rest by one uv_write from wflight, where the bytes stay put until
 * on_write. Returns 1 when a uv_write is now in flight, 0 when out was sent
 * whole, <0 when the conn failed (it is closing then). */
static int send_out(conn_t *c, buf_t *out, bool try_first)
{
	uv_buf_t b = uv_buf_init((char *)buf_head(out), (unsigned)buf_used(out));
	int n = try_first ? uv_try_write(c->out, &b, 1) : UV_EAGAIN;
	if (n < 0 && n != UV_EAGAIN) {
		conn_fail(c, n);
		return n;
	}
	conn_mark_busy(c);
	if (n > 0)
		buf_consume(out, (size_t)n);
	if (buf_used(out) == 0)
		return 0;
	/* Swap: out keeps collecting while wflight is on the wire. */
	buf_t t = c->wflight;
	c->wflight = *out;
	*out = t;
	buf_reset(out);
	b = uv_buf_init((char *)buf_head(&c->wflight), (unsigned)buf_used(&c->wflight));
	c->writing = true;
	c->wreq.data = c;
	int r = uv_write(&c->wreq, c->out, &b, 1, on_write);
	if (r) {
		c->writing = false;
		conn_fail(c, r);
		return r < 0 ? r : UV_EIO; /* the contract: < 0 once failed */
	}
	return 1;
}

/* Seals our close_notify into tout, once (it waits for room there). */
static void queue_close_notify(conn_t *c)
{
	if (c->rec) {
		if (!c->rec_closed && tlsrec_alert(c->rec, TLSREC_CLOSE_NOTIFY, &c->tout) == 0)
			c->rec_closed = true;
	} else if (!(SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN)) {
		SSL_shutdown(c->ssl);
	}
}

/* Moves output toward the socket: encrypt what fits, send it, repeat while
 * the socket takes everything. Bounded: the last round always leaves its
 * bytes to a uv_write, whose callback carries on in a later loop turn, so
 * one conn cannot hog the loop. */
static void conn_push(conn_t *c)
{
	if (c->lent)
		conn_lent_flush(c);
	unmark_dirty(c);
	if (c->closing || c->writing || !c->out)
		goto drain; /* !out: no stream yet (or a test harness without one) */
	for (int round = 0; round < CONN_PUSH_ROUNDS; round++) {
		buf_t *out = &c->wbuf;
		if (c->tls) {
			if (!c->handshaking && tls_encrypt(c) != 0) {
				conn_fail(c, ERR_TLS);
				return;
			}
			if (c->shut_req && !c->shut_done && buf_used(&c->wbuf) == 0 && !c->handshaking)
				queue_close_notify(c);
			out = &c->tout;
		}
		if (buf_used(out) == 0)
			break;
		int r = send_out(c, out, round + 1 < CONN_PUSH_ROUNDS);
		if (r < 0)
			return;
		if (r > 0 || buf_used(&c->wbuf) == 0)
			break;
	}
	if (!c->writing && c->shut_req && !c->shut_started && buf_used(&c->wbuf) == 0 &&
	    buf_used(&c->tout) == 0) {
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
	if (conn_full(c))
		c->above_high = true;
	else if (c->above_high && !c->writing && !c->closing && conn_pending(c) < c->low_water)
		mark_dirty(c); /* sent without a uv_write: on_flush tells the owner */
	if (!c->closing)
		conn_fit_buffers(c);
}

/* Tells the owner (on_drain) once pending output that had reached the
 * high-water mark falls below the low one; true when it did. */
static bool check_drained(conn_t *c)
{
	if (!c->above_high || c->closing || conn_pending(c) >= c->low_water)
		return false;
	c->above_high = false;
	if (c->cbs->on_drain)
		c->cbs->on_drain(c);
	return true;
}

static void on_write(uv_write_t *req, int status)
{
	conn_t *c = req->data;
	c->writing = false;
	buf_reset(&c->wflight);
	if (status < 0) {
		if (status != UV_ECANCELED)
			conn_fail(c, status);
		return;
	}
	if (c->closing)
		return;
	conn_push(c);
	if (check_drained(c) && !c->closing)
		conn_push(c);
	/* The peer may have sent data we could not decrypt while tout was
	 * full of our own output (renegotiation-free TLS rarely needs this). */
	if (!c->closing && c->tls && !c->paused)
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
	/* This conn has read its share of the loop iteration: libuv would read
	 * one socket up to 32 times (2 MiB, milliseconds of TLS work) before
	 * any other socket's turn, and an interactive session's byte would wait
	 * behind a bulk one's. Decline the read (libuv reports UV_ENOBUFS) but
	 * stay armed: the socket is still readable at the next poll, when the
	 * next turn has begun (on_flush). Stopping and restarting the read
	 * instead cost two epoll_ctl calls a turn. */
	if (turn_read_all(c)) {
		*out = uv_buf_init(NULL, 0);
		return;
	}
	buf_t *in = c->tls ? &c->tin : &c->rbuf;
	size_t want = conn_read_chunk(c);
	if (buf_reserve(in, want) != 0 && (buf_space(in) == 0 && buf_reserve(in, 1) != 0)) {
		*out = uv_buf_init(NULL, 0);
		return;
	}
	*out = uv_buf_init((char *)buf_tail(in), (unsigned)conn_read_offer(c, in, want));
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
		conn_lent_open();
		c->cbs->on_data(c, &c->rbuf);
		/* The input that lent output points into may move once we
		 * return: send or copy it now. */
		conn_lent_close();
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
		return conn_tls_established(c) == 0 ? 1 : ERR_NOMEM;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	c->tls_error = ERR_peek_last_error();
	c->tls_verify = (int)SSL_get_verify_result(c->ssl);
	enum conn_tls_fail kind;
	const char *why = conn_tls_failure(c, &kind);
	log_debug("TLS handshake failed: %s%s", kind != CONN_TLS_FAIL_HANDSHAKE ? "certificate: " : "",
		  why ? why : "connection closed");
	return ERR_TLS;
}

/* OpenSSL decrypts what tin holds into rbuf; *eof at close_notify. */
static int ssl_decrypt(conn_t *c, bool *eof)
{
	for (;;) {
		if (buf_reserve(&c->rbuf, 16 * 1024 + 256) != 0 && buf_space(&c->rbuf) == 0)
			return 0;
		ERR_clear_error();
		int r = SSL_read(c->ssl, buf_tail(&c->rbuf), (int)buf_space(&c->rbuf));
		if (r > 0) {
			buf_commit(&c->rbuf, (size_t)r);
			continue;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN) {
			*eof = true;
			return 0;
		}
		return ERR_TLS;
	}
}

/* tlsrec opens the whole records tin holds into rbuf; *eof at
 * close_notify. A bad record gets its alert, sent as far as the socket
 * takes it at once: the conn is closing. */
static int rec_decrypt(conn_t *c, bool *eof)
{
	uint8_t alert;
	int r = tlsrec_open(c->rec, &c->tin, &c->rbuf, &alert);
	if (r == TLSREC_CLOSED)
		*eof = true;
	if (r >= 0)
		return 0;
	log_debug("TLS record refused (alert %u)", alert);
	if (alert != TLSREC_NO_ALERT && c->out && tlsrec_alert(c->rec, alert, &c->tout) == 0 && !c->writing) {
		uv_buf_t b = uv_buf_init((char *)buf_head(&c->tout), (unsigned)buf_used(&c->tout));
		(void)uv_try_write(c->out, &b, 1);
	}
	return ERR_TLS;
}

/* Decrypts what the ring holds into rbuf and delivers it. */
static void conn_pump(conn_t *c)
{
	if (c->in_pump || c->closing)
		return;
	c->in_pump = true;
	if (c->tls && c->handshaking) {
		int r = tls_handshake(c);
		if (r < 0) {
			conn_push(c); /* send the alert */
			/* conn_close frees at once only a conn without a handle;
			 * a handshaking one has its socket. */
			c->in_pump = false; // NOLINT(clang-analyzer-unix.Malloc)
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
		if (c->tls && !c->paused) {
			bool eof = false;
			if ((c->rec ? rec_decrypt(c, &eof) : ssl_decrypt(c, &eof)) != 0) {
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
			if (c->rec ? tlsrec_ready(&c->tin, &c->rbuf)
				   : SSL_pending(c->ssl) > 0 && buf_space(&c->rbuf) > 0)
				continue;
			break;
		}
		if (!c->tls && !c->paused) {
			deliver(c);
			if (c->eof_in && buf_used(&c->rbuf) == 0)
				report_eof(c);
		}
		break;
	}
	c->in_pump = false;
	if (c->closing)
		return;
	conn_fit_buffers(c);
	/* Keep the ring draining unless the owner asked us to stop or rbuf is
	 * full of bytes the owner has not taken (on_alloc holds a conn to its
	 * share of each loop iteration). */
	if (can_read_more(c))
		conn_start_reading(c);
	else
		conn_stop_reading(c);
	conn_push(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	conn_t *c = s->data;
	if (n == UV_ENOBUFS) {
		if (turn_read_all(c))
			return; /* its turn is over, not its reading */
		conn_stop_reading(c);
		return;
	}
	if (n < 0) {
		conn_stop_reading(c);
		if (n != UV_EOF) {
			conn_fail(c, (int)n);
			return;
		}
		c->eof_in = true; /* our BIO reports EOF once tin is empty */
		if (c->tls && c->handshaking) {
			conn_fail(c, UV_ECONNRESET);
			return;
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
	conn_mark_busy(c);
	buf_commit(c->tls ? &c->tin : &c->rbuf, (size_t)n);
	if (c->read_turn != turn) {
		c->read_turn = turn;
		c->turn_read = 0;
	}
	c->turn_read += (size_t)n;
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
	/* A failing pump only starts the close: c lives until its handle's
	 * close callback (the analyzer assumes a conn without a handle). */
	if (!c->closing && c->eof_in && buf_used(&c->rbuf) == 0 && // NOLINT(clang-analyzer-unix.Malloc)
	    !c->paused)
		report_eof(c);
}

/* ---- set-up ---- */

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
		if ((r = conn_tls_setup(c, ctx, true, NULL)) != 0)
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
	if (c->notsent_lowat)
		conn_set_notsent_lowat(c, c->notsent_lowat);
	if (c->carrier)
		conn_set_carrier(c);
	conn_start_reading(c);
	if (c->tls) {
		conn_pump(c); /* produces and sends the ClientHello */
		/* A failing pump only closes: a connecting conn has its
		 * handle, so it is freed later, never inside the pump. */
		if (!c->closing) // NOLINT(clang-analyzer-unix.Malloc)
			tls_client_prepare(SSL_get_SSL_CTX(c->ssl));
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
	if (ctx && (r = conn_tls_setup(c, ctx, false, host)) != 0)
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
	if (!(c->out_pipe = malloc(sizeof(*c->out_pipe))))
		return UV_ENOMEM;
	if ((r = uv_pipe_init(c->loop, c->out_pipe, 0)) != 0)
		return r;
	c->out_pipe->data = c;
	c->handles_open = 2;
	int in_fd = stdio_pollable(0, true), out_fd = stdio_pollable(1, false);
	if (in_fd < 0 || out_fd < 0)
		return in_fd < 0 ? in_fd : out_fd;
	if ((r = uv_pipe_open(&c->h.pipe, in_fd)) != 0)
		return r;
	if ((r = uv_pipe_open(c->out_pipe, out_fd)) != 0)
		return r;
	c->in = (uv_stream_t *)&c->h.pipe;
	c->out = (uv_stream_t *)c->out_pipe;
	c->opened = true;
	conn_start_reading(c);
	return 0;
}
