/* h2.c — nghttp2 sessions on a conn.
 *
 * nghttp2 is driven with its callback API: frames go straight into the
 * conn's output buffer, and DATA payloads are copied once, from the stream's
 * buffer to the conn, with NGHTTP2_DATA_FLAG_NO_COPY. Windows are opened only
 * by h2_stream_consume (NGHTTP2 automatic WINDOW_UPDATE is off); how far:
 * h2_window.c.
 *
 * Must never: call nghttp2_session_send from inside an nghttp2 callback
 * (kick() defers), or touch a stream after its on_close. */
#include "core/h2.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/h2_int.h"
#include "core/h2_mem.h"
#include "core/slab.h"
#include "core/log.h"

/* Every session of a process runs on its one loop thread. */
static size_t h2_live;
static size_t h2_budget = H2_BUDGET;

size_t h2_share(void)
{
	size_t share = h2_live ? h2_budget / h2_live : h2_budget;
	if (share < H2_SHARE_MIN)
		return H2_SHARE_MIN;
	return share < H2_STREAM_OUT_MAX ? share : H2_STREAM_OUT_MAX;
}

void h2_set_budget(size_t bytes)
{
	h2_budget = bytes ? bytes : H2_BUDGET;
}

/* A stream asks its writer for more (on_drain) once its buffer fell to a
 * quarter of the share. */
static size_t out_low(void)
{
	return h2_share() / 4;
}

nghttp2_nv h2_nv(const char *name, const char *value)
{
	nghttp2_nv nv = {(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value), NGHTTP2_NV_FLAG_NONE};
	return nv;
}

static void kick(h2_session_t *h);

/* ---- streams ---- */

/* The session's conn carries every stream's bytes: it reads a plain
 * conn's share per loop iteration for each of them. With one share, a
 * tunnel connection of thousands of sessions read 128 KiB per iteration
 * while each of their clients read as much: its queue grew, the kernel ran
 * short of TCP memory and dropped its packets, and retransmission backoff
 * stalled every session on it (bench conc: 4 of 5,100 done in 550 s). */
static void session_budget(h2_session_t *h)
{
	conn_set_read_budget(h->conn, CONN_TURN_READ * (h->nstreams ? h->nstreams : 1));
}

static slab_t stream_slab = {.size = sizeof(h2_stream_t)};

static h2_stream_t *stream_new(h2_session_t *h)
{
	h2_stream_t *s = slab_alloc(&stream_slab);
	if (!s)
		return NULL;
	s->sess = h;
	s->rwin = H2_SHARE_MIN; /* our SETTINGS' initial window */
	s->epoch_ns = h2_now();
	buf_init(&s->out, H2_STREAM_OUT_MAX);
	buf_init(&s->hdrs, H2_HDR_STORE_MAX);
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h2_live++;
	if (++h->nstreams == 2)
		conn_set_notsent_lowat(h->conn, H2_CONN_NOTSENT_LOWAT);
	session_budget(h);
	return s;
}

static void stream_unlink(h2_stream_t *s)
{
	h2_session_t *h = s->sess;
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h2_live--;
	if (--h->nstreams == 1)
		conn_set_notsent_lowat(h->conn, 0);
	session_budget(h);
	if (s->drain_queued) {
		h2_stream_t **pp = &h->drain_head;
		while (*pp && *pp != s)
			pp = &(*pp)->drain_next;
		if (*pp)
			*pp = s->drain_next;
	}
}

static void stream_close(h2_stream_t *s, uint32_t code)
{
	stream_unlink(s);
	if (s->cbs && s->cbs->on_close)
		s->cbs->on_close(s, code);
	buf_free(&s->out);
	buf_free(&s->hdrs);
	slab_free(&stream_slab, s);
}

void h2_stream_set_cbs(h2_stream_t *s, const h2_stream_cbs_t *cbs, void *data)
{
	s->cbs = cbs;
	s->data = data;
}

void *h2_stream_data(h2_stream_t *s) { return s->data; }
h2_session_t *h2_stream_session(h2_stream_t *s) { return s->sess; }
int h2_stream_status(h2_stream_t *s) { return s->status; }

const char *h2_stream_header(h2_stream_t *s, const char *name)
{
	const char *p = (const char *)s->hdrs.data;
	const char *end = p + s->hdrs.len;
	while (p && p < end) {
		const char *v = p + strlen(p) + 1;
		if (strcmp(p, name) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

size_t h2_stream_room(h2_stream_t *s)
{
	size_t cap = h2_share(), used = buf_used(&s->out);
	size_t room = used < cap ? cap - used : 0;
	/* Past the end of the storage an append moves the unsent bytes to its
	 * front. With more than a quarter unsent, offer only the space up to
	 * the end and wait for the drain: the move is then at most a quarter
	 * share per three quarters written, not every byte again (bench:
	 * the edge's iperf3 up spent 1.4 % of its time in that move). */
	if (used > out_low() && s->out.cap >= cap && s->out.cap - s->out.len < room)
		room = s->out.cap - s->out.len;
	if (room > 0)
		return room;
	/* The writer waits for room: it gets on_drain (the share may have
	 * shrunk below what it filled in). */
	s->want_drain = true;
	return 0;
}

/* A writer's call on the stack (stream_resume): an on_drain run by the
 * send it makes, or by a write another stream's on_drain makes meanwhile,
 * skips its stream (run_drains). */
struct h2_writing {
	int32_t id;
	const struct h2_writing *up;
};

static bool is_writing(const h2_session_t *h, int32_t id)
{
	for (const struct h2_writing *w = h->writing; w; w = w->up)
		if (w->id == id)
			return true;
	return false;
}

static void stream_resume(h2_stream_t *s)
{
	h2_session_t *h = s->sess;
	if (s->deferred && !h->closing) {
		s->deferred = false;
		nghttp2_session_resume_data(h->ng, s->id);
	}
	/* By id: the send may close s (END_STREAM); ids are not reused. */
	struct h2_writing me = {s->id, h->writing};
	h->writing = &me;
	kick(h);
	h->writing = me.up;
}

uint8_t *h2_stream_reserve(h2_stream_t *s, size_t n)
{
	if (s->sess->closing || s->end_req)
		return NULL;
	s->busy = true;
	/* Room for the DATA frame header in front: send_data_cb then hands
	 * header and payload to the conn as one piece (no copy). */
	if (buf_used(&s->out) == 0)
		buf_headroom(&s->out, H2_FRAME_HDR);
	if (buf_reserve(&s->out, n) != 0 || !buf_tail(&s->out)) {
		s->want_drain = true;
		return NULL;
	}
	return buf_tail(&s->out);
}

void h2_stream_commit(h2_stream_t *s, size_t n)
{
	buf_commit(&s->out, n);
	size_t cap = h2_share();
	if (buf_used(&s->out) >= cap - cap / 4)
		s->want_drain = true;
	stream_resume(s);
}

int h2_stream_write(h2_stream_t *s, const void *p, size_t n)
{
	if (s->sess->closing || s->end_req)
		return ERR_CLOSED;
	uint8_t *w = n ? h2_stream_reserve(s, n) : NULL;
	if (n && !w)
		return ERR_TOOBIG;
	if (n)
		memcpy(w, p, n);
	h2_stream_commit(s, n);
	return 0;
}

void h2_stream_end(h2_stream_t *s)
{
	if (s->sess->closing || s->end_req)
		return;
	s->end_req = true;
	stream_resume(s);
}

void h2_stream_consume(h2_stream_t *s, size_t n)
{
	if (s->sess->closing || n == 0)
		return;
	nghttp2_session_consume(s->sess->ng, s->id, n);
	h2_window_autotune(s, n);
	kick(s->sess);
}

void h2_stream_reset(h2_stream_t *s, uint32_t code)
{
	if (s->sess->closing)
		return;
	nghttp2_submit_rst_stream(s->sess->ng, NGHTTP2_FLAG_NONE, s->id, code);
	kick(s->sess);
}

static ssize_t data_read_cb(nghttp2_session *ng, int32_t id, uint8_t *b, size_t length, uint32_t *flags,
			    nghttp2_data_source *src, void *user)
{
	h2_stream_t *s = src->ptr;
	size_t avail = buf_used(&s->out);
	if (avail == 0) {
		if (s->end_req) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			return 0;
		}
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	size_t n = avail < length ? avail : length;
	s->busy = true;
	*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	if (s->end_req && n == avail)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static nghttp2_data_provider provider_for(h2_stream_t *s)
{
	nghttp2_data_provider p;
	p.source.ptr = s;
	p.read_callback = data_read_cb;
	return p;
}

h2_stream_t *h2_submit(h2_session_t *h, const nghttp2_nv *nva, size_t nvlen, const h2_stream_cbs_t *cbs,
		       void *data)
{
	if (h->closing || h->goaway || h->server)
		return NULL;
	h2_stream_t *s = stream_new(h);
	if (!s)
		return NULL;
	s->cbs = cbs;
	s->data = data;
	nghttp2_data_provider prd = provider_for(s);
	int32_t id = nghttp2_submit_request(h->ng, NULL, nva, nvlen, &prd, s);
	if (id < 0) {
		stream_unlink(s);
		buf_free(&s->out);
		slab_free(&stream_slab, s);
		return NULL;
	}
	s->id = id;
	kick(h); /* sends the HEADERS: nghttp2 opens the stream */
	h2_window_open(s);
	kick(h);
	return s;
}

int h2_respond(h2_stream_t *s, int status, const nghttp2_nv *extra, size_t nextra, bool end)
{
	h2_session_t *h = s->sess;
	if (h->closing)
		return ERR_CLOSED;
	nghttp2_nv nva[16];
	char st[4];
	if (nextra > 15 || status < 100 || status > 999)
		return ERR_INVAL;
	st[0] = (char)('0' + status / 100);
	st[1] = (char)('0' + status / 10 % 10);
	st[2] = (char)('0' + status % 10);
	st[3] = '\0';
	nva[0] = h2_nv(":status", st);
	for (size_t i = 0; i < nextra; i++)
		nva[i + 1] = extra[i];
	nghttp2_data_provider prd = provider_for(s);
	int r = nghttp2_submit_response(h->ng, s->id, nva, nextra + 1, end ? NULL : &prd);
	if (r != 0)
		return ERR_PROTO;
	kick(h);
	return 0;
}

/* ---- nghttp2 callbacks ---- */

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *user)
{
	h2_session_t *h = user;
	if (conn_full(h->conn))
		return NGHTTP2_ERR_WOULDBLOCK;
	if (conn_write(h->conn, data, len) != 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return (ssize_t)len;
}

/* DATA payloads of 16384 - 9 bytes: frame and header fill exactly one TLS
 * record (a 16,393-byte frame would become a full record plus a 9-byte one). */
static ssize_t read_length_cb(nghttp2_session *ng, uint8_t type, int32_t id, int32_t sess_window,
			      int32_t stream_window, uint32_t max_frame, void *user)
{
	ssize_t n = 16384 - H2_FRAME_HDR;
	if (n > sess_window)
		n = sess_window;
	if (n > stream_window)
		n = stream_window;
	if ((uint32_t)n > max_frame)
		n = (ssize_t)max_frame;
	return n;
}

static int send_data_cb(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
			nghttp2_data_source *src, void *user)
{
	h2_session_t *h = user;
	h2_stream_t *s = src->ptr;
	if (conn_full(h->conn))
		return NGHTTP2_ERR_WOULDBLOCK;
	size_t pad = frame->data.padlen;
	if (pad == 0 && s->out.off >= H2_FRAME_HDR) {
		/* The bytes before the head were sent already: put the frame
		 * header there and encrypt header and payload in one go. */
		uint8_t *p = buf_head(&s->out) - H2_FRAME_HDR;
		memcpy(p, framehd, H2_FRAME_HDR);
		if (conn_write_direct(h->conn, p, H2_FRAME_HDR + length) != 0)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		goto sent;
	}
	uint8_t *p = conn_write_reserve(h->conn, H2_FRAME_HDR + length + pad);
	if (!p)
		return NGHTTP2_ERR_WOULDBLOCK;
	memcpy(p, framehd, H2_FRAME_HDR);
	size_t off = H2_FRAME_HDR;
	if (pad) {
		p[off++] = (uint8_t)(pad - 1);
	}
	memcpy(p + off, buf_head(&s->out), length);
	off += length;
	if (pad > 1) {
		memset(p + off, 0, pad - 1);
		off += pad - 1;
	}
	conn_write_commit(h->conn, off);
sent:
	buf_consume(&s->out, length);
	/* Grown while the process had fewer streams (a larger share): once
	 * empty it goes, and comes back at today's share. */
	if (buf_used(&s->out) == 0 && s->out.cap > 2 * h2_share())
		buf_free(&s->out);
	if (s->want_drain && buf_used(&s->out) <= out_low() && !s->drain_queued) {
		s->drain_queued = true;
		s->drain_next = h->drain_head;
		h->drain_head = s;
	}
	return 0;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	h2_session_t *h = user;
	if (!h->server || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	h2_stream_t *s = stream_new(h);
	if (!s)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->id = frame->hd.stream_id;
	nghttp2_session_set_stream_user_data(ng, s->id, s);
	h2_window_open(s);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	h2_stream_t *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
	if (!s)
		return 0;
	if (s->nhdrs >= H2_MAX_HEADERS)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (buf_append(&s->hdrs, name, namelen) || buf_append(&s->hdrs, "", 1) ||
	    buf_append(&s->hdrs, value, valuelen) || buf_append(&s->hdrs, "", 1))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	s->nhdrs++;
	if (!s->sess->server && namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3)
		s->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	h2_session_t *h = user;
	if (frame->hd.type == NGHTTP2_GOAWAY) {
		bool first = !h->goaway;
		h->goaway = true;
		if (first && h->cbs->on_goaway)
			h->cbs->on_goaway(h);
		return 0;
	}
	if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
		/* nghttp2 applies our initial window only now, as a cut to
		 * the windows of streams opened before: give them back the
		 * windows we set (no-op for the others). */
		for (h2_stream_t *s = h->streams; s; s = s->next)
			if (s->id > 0)
				nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, s->id,
								      (int32_t)s->rwin);
		return 0;
	}
	if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
		h2_rtt_pong(h, frame->ping.opaque_data);
		return 0;
	}
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	h2_stream_t *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
	if (!s)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS) {
		if (h->server && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
			if (h->cbs->on_request)
				h->cbs->on_request(h, s);
		} else if (!h->server && frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
			if (s->status >= 200 && s->cbs && s->cbs->on_response)
				s->cbs->on_response(s);
		}
		/* Header values are only read inside those callbacks (h2.h):
		 * an open session should not keep them. */
		buf_free(&s->hdrs);
		s->nhdrs = 0;
	}
	if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && s->cbs && s->cbs->on_end)
		s->cbs->on_end(s);
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
			 void *user)
{
	h2_stream_t *s = nghttp2_session_get_stream_user_data(ng, id);
	if (!s || !s->cbs || !s->cbs->on_data) {
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	s->cbs->on_data(s, data, len);
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	h2_stream_t *s = nghttp2_session_get_stream_user_data(ng, id);
	if (s)
		stream_close(s, code);
	return 0;
}

/* ---- session ---- */

/* A stream whose writer is inside its write (stream_resume) stays
 * queued: a writer that loops over its input would be called again before
 * it counted what it wrote (at a 16 KiB share, test_relay's edge so sent
 * 16 KiB twice), and one that then pauses would miss the drain for good
 * (bench conc: 5 of 10,000 sessions stalled). Its turn comes with a later
 * kick: a writer that found no room waits on bytes still queued, and
 * sending them kicks. The list is read afresh each time: an on_drain may
 * close any stream. */
static void run_drains(h2_session_t *h)
{
	while (!h->closing) {
		h2_stream_t **pp = &h->drain_head;
		while (*pp && is_writing(h, (*pp)->id))
			pp = &(*pp)->drain_next;
		h2_stream_t *s = *pp;
		if (!s)
			break;
		*pp = s->drain_next;
		s->drain_queued = false;
		s->drain_next = NULL;
		/* Filled again since it was queued (its writer ran meanwhile):
		 * it still wants the next fall to the low mark, not this one —
		 * a writer that saw no room and waits would otherwise never
		 * hear of room again. */
		if (buf_used(&s->out) > out_low())
			continue;
		s->want_drain = false;
		if (s->cbs && s->cbs->on_drain)
			s->cbs->on_drain(s);
	}
}

static void kick(h2_session_t *h)
{
	if (h->closing)
		return;
	if (h->busy) {
		h->want_send = true;
		return;
	}
	h->busy++;
	do {
		h->want_send = false;
		int r = nghttp2_session_send(h->ng);
		if (r != 0) {
			log_debug("h2: send failed: %s", nghttp2_strerror(r));
			h->busy--;
			h2_session_close(h);
			return;
		}
	} while (h->want_send && !h->closing);
	h->busy--;
	run_drains(h);
	if (!h->closing && !nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng))
		conn_finish(h->conn);
}

static void on_conn_open(conn_t *c, int status)
{
	h2_session_t *h = c->data;
	if (status == 0) {
		if (c->tls && !conn_tls_alpn_is(c, "h2")) {
			log_debug("h2: peer did not negotiate ALPN h2");
			status = ERR_PROTO;
		}
	}
	if (status == 0) {
		h->rx_at = uv_now(c->loop); /* the handshake's answer */
		h2_rtt_ping(h); /* the first round trip, for autotuning */
		kick(h);
	}
	if (h->cbs->on_open)
		h->cbs->on_open(h, status);
	if (status < 0)
		conn_close(c);
}

static void on_conn_data(conn_t *c, buf_t *in)
{
	h2_session_t *h = c->data;
	h->rx_seq++;
	h->rx_at = uv_now(c->loop);
	if (h->closing) {
		buf_consume(in, buf_used(in));
		return;
	}
	h->busy++;
	h->rx_base = buf_head(in);
	ssize_t r = nghttp2_session_mem_recv(h->ng, buf_head(in), buf_used(in));
	h->rx_base = NULL;
	h->busy--;
	if (r < 0) {
		log_debug("h2: receive failed: %s", nghttp2_strerror((int)r));
		buf_consume(in, buf_used(in));
		h->err = ERR_PROTO;
		kick(h); /* sends GOAWAY where nghttp2 queued one */
		h2_session_close(h);
		return;
	}
	buf_consume(in, (size_t)r);
	kick(h);
}

static void on_conn_eof(conn_t *c, int status)
{
	h2_session_t *h = c->data;
	if (!h->err)
		h->err = status ? status : ERR_CLOSED;
	conn_close(c);
}

static void on_conn_drain(conn_t *c)
{
	h2_session_t *h = c->data;
	kick(h);
}

static void free_handle(uv_handle_t *t)
{
	free(t);
}

static void on_conn_close(conn_t *c)
{
	h2_session_t *h = c->data;
	h->closing = true;
	for (h2_stream_t *s = h->streams, *next; s; s = next) {
		next = s->next; /* stream_close frees s and only s */
		stream_close(s, NGHTTP2_INTERNAL_ERROR);
	}
	nghttp2_session_del(h->ng);
	if (h->hb_timer)
		uv_close((uv_handle_t *)h->hb_timer, free_handle);
	if (h->cbs->on_close)
		h->cbs->on_close(h, h->err);
	free(h);
}

/* Releases the send buffer of every stream that sent nothing for a whole
 * sweep period; the next write allocates it again. */
static void on_conn_sweep(conn_t *c)
{
	h2_session_t *h = c->data;
	for (h2_stream_t *s = h->streams; s; s = s->next) {
		if (s->busy)
			s->busy = false;
		else if (buf_used(&s->out) == 0)
			buf_free(&s->out);
	}
}

static const conn_cbs_t h2_conn_cbs = {
	.on_open = on_conn_open,
	.on_data = on_conn_data,
	.on_eof = on_conn_eof,
	.on_drain = on_conn_drain,
	.on_close = on_conn_close,
	.on_sweep = on_conn_sweep,
};

h2_session_t *h2_session_new(conn_t *c, bool server, const h2_session_cbs_t *cbs, void *data)
{
	h2_session_t *h = calloc(1, sizeof(*h));
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	if (!h)
		return NULL;
	h->conn = c;
	h->server = server;
	h->cbs = cbs;
	h->data = data;
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto fail;
	nghttp2_session_callbacks_set_send_callback(cb, send_cb);
	nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
	nghttp2_session_callbacks_set_data_source_read_length_callback(cb, read_length_cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_peer_max_concurrent_streams(opt, H2_MAX_STREAMS);
	int r = server ? nghttp2_session_server_new3(&h->ng, cb, h, opt, h2_mem())
		       : nghttp2_session_client_new3(&h->ng, cb, h, opt, h2_mem());
	if (r)
		goto fail;
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_SHARE_MIN},
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, /* a client's setting only */
	};
	if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv, server ? 2 : 3) ||
	    nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)H2_CONN_WINDOW))
		goto fail;
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	conn_set_owner(c, &h2_conn_cbs, h);
	conn_set_carrier(c);
	c->high_water = H2_CONN_HIGH_WATER;
	c->low_water = H2_CONN_LOW_WATER;
	if (c->opened)
		h2_rtt_ping(h); /* else once open: a handshake is no round trip */
	kick(h);
	return h;
fail:
	if (h->ng)
		nghttp2_session_del(h->ng);
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	free(h);
	return NULL;
}

void *h2_session_data(h2_session_t *h) { return h->data; }
void h2_session_set_owner(h2_session_t *h, const h2_session_cbs_t *cbs, void *data)
{
	h->cbs = cbs;
	h->data = data;
}
conn_t *h2_session_conn(h2_session_t *h)
{
	return h->conn;
}
bool h2_session_goaway(h2_session_t *h) { return h->goaway || h->closing; }

size_t h2_session_streams(const h2_session_t *h) { return h->nstreams; }

size_t h2_stream_data_headroom(const h2_stream_t *s, const uint8_t *p)
{
	/* nghttp2 parses its input front to back and copies what it keeps
	 * (frame headers, header blocks) into its own state: the bytes before
	 * a delivered DATA chunk are never read again. */
	const uint8_t *base = s->sess->rx_base;
	return base && p >= base ? (size_t)(p - base) : 0;
}

void h2_session_drain(h2_session_t *h)
{
	if (h->closing || h->goaway)
		return;
	h->goaway = true;
	nghttp2_submit_goaway(h->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->ng),
			      NGHTTP2_NO_ERROR, NULL, 0);
	kick(h);
}

/* Heartbeats: the timer looks a few times per interval, so a PING goes
 * out at most a quarter interval late. */
static void on_heartbeat(uv_timer_t *t)
{
	h2_session_t *h = t->data;
	if (h->closing)
		return;
	uint64_t silent = uv_now(t->loop) - h->rx_at;
	if (silent >= (uint64_t)h->hb_interval_ms * h->hb_count) {
		h->err = ERR_TIMEOUT;
		if (h->cbs->on_dead)
			h->cbs->on_dead(h, silent);
		h2_session_close(h);
		return;
	}
	if (silent >= h->hb_interval_ms && h->conn->opened)
		h2_session_probe(h);
}

int h2_session_heartbeat(h2_session_t *h, uint32_t interval_ms, uint32_t count)
{
	if (interval_ms == 0 || count < 2 || h->hb_timer)
		return ERR_INVAL;
	uv_timer_t *t = malloc(sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	uv_timer_init(h->conn->loop, t);
	t->data = h;
	uint64_t tick = interval_ms / 4 ? interval_ms / 4 : 1;
	if (tick > 1000)
		tick = 1000;
	uv_timer_start(t, on_heartbeat, tick, tick);
	uv_unref((uv_handle_t *)t);
	h->hb_timer = t;
	h->hb_interval_ms = interval_ms;
	h->hb_count = count;
	h->rx_at = uv_now(h->conn->loop);
	return 0;
}

void h2_session_probe(h2_session_t *h)
{
	if (h->closing)
		return;
	h2_rtt_ping(h);
	kick(h);
}

uint64_t h2_session_rx_seq(const h2_session_t *h)
{
	return h->rx_seq;
}

void h2_session_close(h2_session_t *h)
{
	if (h->closing)
		return;
	conn_close(h->conn);
}
