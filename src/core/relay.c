/* relay.c — conn <-> HTTP/2 stream byte relay (raw or WebSocket-framed).
 *
 * Must never: buffer more than the conn's and the stream's caps, or
 * acknowledge DATA before the conn accepted it. */
#include "core/relay.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/slab.h"
#include "core/ws.h"

struct relay {
	conn_t *conn;
	h2_stream_t *stream;
	bool ws;
	ws_decoder_t dec;
	relay_done_cb done;
	void *data;
	relay_stats_t st;
	size_t unacked;   /* stream bytes written to conn, not yet consumed */
	bool conn_in_end; /* conn side finished sending (EOF or Close frame) */
	bool stream_in_end;
	bool close_sent;  /* ws: our Close frame is queued */
	bool failed;      /* protocol error: flush our Close, then close */
	bool conn_gone;
	bool stream_gone;
	int depth; /* > 0 while a callback of ours runs: free only at depth 0 */
};

static slab_t relay_slab = {.size = sizeof(relay_t)};

static void relay_maybe_free(relay_t *r)
{
	if (!r->conn_gone || !r->stream_gone || r->depth > 0)
		return;
	if (r->done)
		r->done(r->data, &r->st);
	slab_free(&relay_slab, r);
}

static int ws_send(conn_t *c, enum ws_opcode op, const void *p, size_t n)
{
	uint8_t hdr[14];
	size_t hl = ws_frame_header(hdr, op, true, n, NULL);
	uint8_t *w = conn_write_reserve(c, hl + n);
	if (!w)
		return ERR_TOOBIG;
	memcpy(w, hdr, hl);
	if (n)
		memcpy(w + hl, p, n);
	conn_write_commit(c, hl + n);
	return 0;
}

/* A binary frame of stream payload p[0..n). Where the receive buffer has
 * room in front of p (h2_stream_data_headroom), the frame header is written
 * there and header and payload are encrypted in one piece: no copy. */
static int ws_send_payload(relay_t *r, const uint8_t *p, size_t n)
{
	uint8_t hdr[14];
	size_t hl = ws_frame_header(hdr, WS_OP_BINARY, true, n, NULL);
	if (h2_stream_data_headroom(r->stream, p) < hl)
		return ws_send(r->conn, WS_OP_BINARY, p, n);
	uint8_t *w = (uint8_t *)(uintptr_t)(p - hl); /* our buffer: h2.h says we may */
	memcpy(w, hdr, hl);
	return conn_write_direct(r->conn, w, hl + n);
}

static void send_ws_close(relay_t *r, uint16_t code)
{
	if (r->close_sent || r->conn_gone)
		return;
	uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
	r->close_sent = true;
	ws_send(r->conn, WS_OP_CLOSE, p, 2);
}

static void ack_stream(relay_t *r)
{
	if (r->unacked && !r->stream_gone && !conn_full(r->conn)) {
		h2_stream_consume(r->stream, r->unacked);
		r->unacked = 0;
	}
}

/* ---- conn side ---- */

static void conn_finished_input(relay_t *r)
{
	if (r->conn_in_end)
		return;
	r->conn_in_end = true;
	if (!r->stream_gone)
		h2_stream_end(r->stream);
}

/* A piece of a client's message into the stream, unmasked on the way: one
 * pass over the bytes where unmasking in place and then copying made two. */
static void stream_put(relay_t *r, const ws_event_t *ev)
{
	if (!ev->masked) {
		h2_stream_write(r->stream, ev->data, ev->len);
		return;
	}
	uint8_t *w = h2_stream_reserve(r->stream, ev->len);
	if (!w)
		return; /* closed: as h2_stream_write (feed_stream never exceeds the room) */
	ws_mask_copy(w, ev->data, ev->len, ev->mask, ev->mask_pos);
	h2_stream_commit(r->stream, ev->len);
}

/* Feeds up to room (the stream's, just read) from in; returns the bytes of
 * in used. */
static size_t feed_stream(relay_t *r, conn_t *c, buf_t *in, size_t room)
{
	size_t n = buf_used(in) < room ? buf_used(in) : room;
	if (!r->ws) {
		h2_stream_write(r->stream, buf_head(in), n);
		r->st.up += n;
		return n;
	}
	size_t off = 0;
	/* Pongs are output too: stop decoding while the conn is full, or a
	 * ping flood would queue replies up to the write cap. */
	while (off < n && !r->conn_in_end && !r->stream_gone && !conn_full(c)) {
		size_t used = 0;
		ws_event_t ev;
		int e = ws_decode(&r->dec, buf_head(in) + off, n - off, &used, &ev);
		off += used;
		if (e < 0) {
			log_debug("relay: bad WebSocket frame from client: %s", err_str(e));
			send_ws_close(r, 1002);
			r->failed = true;
			if (!r->stream_gone)
				h2_stream_reset(r->stream, NGHTTP2_CANCEL);
			conn_finish(c);
			return buf_used(in);
		}
		if (e == 0)
			break;
		switch (ev.type) {
		case WS_EV_DATA:
			if (ev.len) {
				stream_put(r, &ev);
				r->st.up += ev.len;
			}
			break;
		case WS_EV_PING: ws_send(c, WS_OP_PONG, ev.data, ev.len); break;
		case WS_EV_PONG: break;
		case WS_EV_CLOSE: conn_finished_input(r); break;
		}
	}
	return off;
}

/* Sizes the conn's buffer to the stream's share of memory (h2.h). */
static void fit_conn(relay_t *r)
{
	size_t w = h2_share();
	if (r->conn->high_water != w)
		conn_set_water(r->conn, w, w / 4);
}

static void r_on_data(conn_t *c, buf_t *in)
{
	relay_t *r = c->data;
	fit_conn(r);
	/* Room is looked at right before each write and right before pausing,
	 * with no send in between: a write can send (and drain the stream's
	 * buffer), and an on_drain that came while we were not paused yet
	 * must not be the one we wait for (bench conc: 5 of 10,000 sessions
	 * stalled so, paused beside an empty stream). */
	while (buf_used(in) > 0 && !r->conn_in_end && !r->stream_gone && !(r->ws && conn_full(c))) {
		size_t room = h2_stream_room(r->stream);
		if (room == 0) {
			conn_pause(c); /* room 0 promised an on_drain */
			return;
		}
		size_t used = feed_stream(r, c, in, room);
		buf_consume(in, used);
		if (used == 0)
			break;
	}
	if (r->conn_in_end || r->stream_gone)
		buf_consume(in, buf_used(in));
	else if (buf_used(in) > 0)
		conn_pause(c); /* our pongs filled the conn: r_on_drain resumes */
}

static void r_on_eof(conn_t *c, int status)
{
	relay_t *r = c->data;
	if (status < 0) {
		r->st.conn_error = status;
		if (!r->stream_gone)
			h2_stream_reset(r->stream, NGHTTP2_CANCEL);
		conn_close(c);
		return;
	}
	/* A bare TCP close without a Close frame is a normal end for
	 * WebSocket clients (the cloudflared client does it). */
	conn_finished_input(r);
	if (r->ws || r->stream_gone)
		conn_finish(c);
}

static void r_on_drain(conn_t *c)
{
	relay_t *r = c->data;
	ack_stream(r);
	/* Input may have stopped because our own output (pongs) was full. */
	if (!r->conn_in_end && !r->stream_gone)
		conn_resume(c);
}

static void r_on_close(conn_t *c)
{
	relay_t *r = c->data;
	r->conn_gone = true;
	r->depth++;
	/* The reset may close the stream synchronously (s_on_close). */
	if (!r->stream_gone)
		h2_stream_reset(r->stream, r->conn_in_end ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
	r->depth--;
	relay_maybe_free(r);
}

static const conn_cbs_t relay_conn_cbs = {
	.on_data = r_on_data,
	.on_eof = r_on_eof,
	.on_drain = r_on_drain,
	.on_close = r_on_close,
};

/* ---- stream side ---- */

static void s_on_data(h2_stream_t *s, const uint8_t *p, size_t n)
{
	relay_t *r = h2_stream_data(s);
	if (r->conn_gone) {
		h2_stream_consume(s, n);
		return;
	}
	fit_conn(r);
	int e = r->ws ? ws_send_payload(r, p, n) : conn_write_borrow(r->conn, p, n);
	if (e) {
		/* Only when the peer ignored flow control or the conn is
		 * shutting: drop the session rather than grow. */
		h2_stream_reset(s, NGHTTP2_FLOW_CONTROL_ERROR);
		conn_close(r->conn);
		return;
	}
	r->st.down += n;
	r->unacked += n;
	ack_stream(r);
}

static void s_on_end(h2_stream_t *s)
{
	relay_t *r = h2_stream_data(s);
	r->stream_in_end = true;
	if (r->conn_gone)
		return;
	if (r->ws) {
		send_ws_close(r, 1000);
		if (r->conn_in_end)
			conn_finish(r->conn);
	} else {
		conn_shutdown(r->conn);
	}
}

static void s_on_drain(h2_stream_t *s)
{
	relay_t *r = h2_stream_data(s);
	if (!r->conn_gone)
		conn_resume(r->conn);
}

static void s_on_close(h2_stream_t *s, uint32_t code)
{
	relay_t *r = h2_stream_data(s);
	r->stream_gone = true;
	r->stream = NULL;
	r->st.h2_error = code;
	if (!r->conn_gone) {
		if (code == NGHTTP2_NO_ERROR && r->stream_in_end) {
			if (r->ws)
				send_ws_close(r, 1000);
			conn_finish(r->conn);
		} else if (r->failed) {
			conn_finish(r->conn); /* deliver the Close 1002 already queued */
		} else {
			if (r->ws)
				send_ws_close(r, 1011);
			conn_close(r->conn);
		}
	}
	relay_maybe_free(r);
}

static const h2_stream_cbs_t relay_stream_cbs = {
	.on_data = s_on_data,
	.on_end = s_on_end,
	.on_drain = s_on_drain,
	.on_close = s_on_close,
};

void relay_end(relay_t *r, uint16_t code, const char *reason)
{
	r->depth++;
	if (!r->conn_gone) {
		if (r->ws && !r->close_sent) {
			uint8_t p[2 + WS_CLOSE_REASON_MAX];
			size_t len = strlen(reason), n = len;
			if (n > WS_CLOSE_REASON_MAX)
				n = WS_CLOSE_REASON_MAX;
			/* a cut must not split a UTF-8 sequence: the client checks */
			while (n > 0 && n < len && ((uint8_t)reason[n] & 0xC0) == 0x80)
				n--;
			p[0] = (uint8_t)(code >> 8);
			p[1] = (uint8_t)code;
			for (size_t i = 0; i < n; i++) /* bytes of a frame, no C string */
				p[2 + i] = (uint8_t)reason[i];
			r->close_sent = true;
			ws_send(r->conn, WS_OP_CLOSE, p, 2 + n);
		}
		r->failed = true; /* s_on_close flushes the Close, then closes */
		r->conn_in_end = true;
		conn_pause(r->conn);
	}
	if (!r->stream_gone)
		h2_stream_reset(r->stream, NGHTTP2_CANCEL);
	else if (!r->conn_gone)
		conn_finish(r->conn);
	r->depth--;
	relay_maybe_free(r);
}

int relay_start(conn_t *c, h2_stream_t *s, bool ws, relay_done_cb done, void *data, relay_t **out)
{
	relay_t *r = fault_hit("relay_start") ? NULL : slab_alloc(&relay_slab);
	if (!r)
		return ERR_NOMEM;
	if (out)
		*out = r;
	r->conn = c;
	r->stream = s;
	r->ws = ws;
	r->done = done;
	r->data = data;
	ws_decoder_init(&r->dec, true);
	r->dec.defer_unmask = true; /* stream_put unmasks as it copies */
	conn_set_owner(c, &relay_conn_cbs, r);
	h2_stream_set_cbs(s, &relay_stream_cbs, r);
	if (c->paused)
		conn_resume(c);
	else if (buf_used(&c->rbuf))
		r_on_data(c, &c->rbuf);
	return 0;
}
