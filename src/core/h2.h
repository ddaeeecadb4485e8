/* h2.h — HTTP/2 sessions on a conn (nghttp2), with per-stream flow control.
 *
 * Both tunnel ends use this: the edge is the HTTP/2 client (it opens one
 * stream per client session), the connector is the server. A stream carries
 * bytes both ways: h2_stream_write() queues outgoing DATA in a bounded
 * per-stream buffer; incoming DATA is handed to on_data and counts against
 * the receive window until the owner calls h2_stream_consume() — which it
 * does only once the bytes left for their destination. A slow reader
 * therefore stalls only its own stream.
 *
 * Lifetime: the session owns its conn and its streams. A stream's on_close is
 * its last callback (the stream is freed when it returns); the session's
 * on_close is the session's last (after every stream's on_close). */
#ifndef BURROW_H2_H
#define BURROW_H2_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/conn.h"

/* Receive windows start at INIT (or the stream's share, below) and follow
 * each stream's pace, between INIT and MAX: 4 to 16 round trips of what
 * its reader took over the last 100 ms or more (the idea of TCP's receive autotuning), the round trip
 * being the session's least PING time (the path without its queue). A
 * slow or interactive stream so holds at most INIT in flight, a bulk one
 * beside it no more than it needs (bench: a ping's p50 beside iperf3 2.2
 * -> 1.3 ms), and one over a long path what rate x RTT needs. */
#define H2_STREAM_WINDOW_INIT (256 * 1024)
#define H2_STREAM_WINDOW_MAX (2 * 1024 * 1024)
#define H2_CONN_WINDOW ((1U << 31) - 1)
#define H2_STREAM_OUT_MAX (512 * 1024) /* per-stream outgoing buffer cap */
/* A process's streams share its memory: while more than H2_BUDGET /
 * H2_STREAM_OUT_MAX of them are open, each one's buffers shrink to its
 * share of H2_BUDGET (h2_share(), never below H2_SHARE_MIN): the outgoing
 * buffer, its relay's conn, and the receive window (from one share, or
 * INIT if less, to four). Before this an edge held 725 KiB per busy
 * session (bench conc, 1,000 sessions: 735 MiB; haproxy 73 MiB). The
 * floor is one TLS record, and our SETTINGS announce it as the initial
 * window, so that a stream opened under many holds at most a share from
 * its first byte (bench conc, 4,000 sessions: edge 600 -> 440 MiB,
 * connector 240 -> 180 MiB, against a 64 KiB floor). */
#define H2_BUDGET (64 * 1024 * 1024)
#define H2_SHARE_MIN (16 * 1024)
#define H2_MAX_STREAMS 20000
#define H2_MAX_HEADERS 32
/* The session's conn is kept shallow: frames wait in nghttp2's per-stream
 * queues, where a small frame of an interactive session can pass a bulk
 * one, instead of in one deep FIFO behind it. */
#define H2_CONN_HIGH_WATER (64 * 1024)
/* While two or more streams share the connection, bulk data parked in the
 * kernel's send buffer (MBs on fast links) would delay the others' frames:
 * keep at most this much unsent there. A lone stream needs no such guard,
 * and it costs (bench: edge 1.53 -> 1.31 core-s/GiB, 3.2 -> 3.8 Gbit/s
 * without it), so it is set only while streams share. */
#define H2_CONN_NOTSENT_LOWAT (128 * 1024)
#define H2_CONN_LOW_WATER (16 * 1024)

typedef struct h2_session h2_session_t;
typedef struct h2_stream h2_stream_t;

typedef struct h2_stream_cbs {
	/* Client role: the response head arrived (status in h2_stream_status). */
	void (*on_response)(h2_stream_t *s);
	/* DATA payload; p points into the session's receive buffer, valid
	 * during the call (see h2_stream_data_headroom). */
	void (*on_data)(h2_stream_t *s, const uint8_t *p, size_t n);
	/* The peer ended its side (END_STREAM). */
	void (*on_end)(h2_stream_t *s);
	/* The outgoing buffer has room again after being full. Never from
	 * inside this stream's own h2_stream_write / _commit / _end. */
	void (*on_drain)(h2_stream_t *s);
	/* Stream closed; error_code is 0 for a clean close, else an HTTP/2
	 * error code (RST_STREAM or session loss). Last callback. */
	void (*on_close)(h2_stream_t *s, uint32_t error_code);
} h2_stream_cbs_t;

typedef struct h2_session_cbs {
	/* Server role: a request head arrived on a new stream. Set the stream's
	 * callbacks with h2_stream_set_cbs, then respond (now or later). */
	void (*on_request)(h2_session_t *h, h2_stream_t *s);
	/* Connection-level TLS/TCP open finished (status < 0: failed). */
	void (*on_open)(h2_session_t *h, int status);
	/* The session is gone (its conn closed); err says why (0: clean). */
	void (*on_close)(h2_session_t *h, int err);
	/* The peer sent GOAWAY: it takes no new streams and is going away
	 * (open streams go on). Optional. */
	void (*on_goaway)(h2_session_t *h);
	/* Heartbeats (h2_session_heartbeat) went unanswered: nothing arrived
	 * for silent_ms. The session closes right after (err ERR_TIMEOUT);
	 * this is the owner's chance to say so. Optional. */
	void (*on_dead)(h2_session_t *h, uint64_t silent_ms);
} h2_session_cbs_t;

/* Takes ownership of c: from now on the session receives c's callbacks.
 * server: true for the HTTP/2 server role. */
h2_session_t *h2_session_new(conn_t *c, bool server, const h2_session_cbs_t *cbs, void *data);
void *h2_session_data(h2_session_t *h);
/* Hands the session to another owner: its callbacks and data from now on. */
void h2_session_set_owner(h2_session_t *h, const h2_session_cbs_t *cbs, void *data);
/* The conn the session runs on (owned by the session). */
conn_t *h2_session_conn(h2_session_t *h);
/* True once either side sent GOAWAY: no new streams. */
bool h2_session_goaway(h2_session_t *h);
/* Streams open on the session (for spreading new ones). */
size_t h2_session_streams(const h2_session_t *h);
/* Sends GOAWAY and lets open streams finish; the conn closes when the last
 * one has. */
void h2_session_drain(h2_session_t *h);
/* Closes the conn at once; streams get on_close with an error. */
void h2_session_close(h2_session_t *h);

/* Heartbeats, for connections that live for months behind NATs and
 * firewalls which forget flows without a word: once the session has
 * received nothing for interval_ms it sends a PING (whose answer, like any
 * frame, counts as a sign of life; the traffic also keeps a NAT's mapping
 * of an idle connection open). Nothing received for count x interval_ms
 * (count >= 2: count heartbeats missed) and the session is dead: on_dead,
 * then it closes with ERR_TIMEOUT. The clock starts now, so a connection
 * that never opens is dead as late. One timer per session, none per
 * stream; nothing on the data path but a counter per read. */
int h2_session_heartbeat(h2_session_t *h, uint32_t interval_ms, uint32_t count);
/* Sends a PING now unless one is out: for an owner whose stream waited
 * longer than a round trip for an answer, to learn whether the connection
 * still carries anything (h2_session_rx_seq). */
void h2_session_probe(h2_session_t *h);
/* Counts the reads of the session's conn: unchanged since an earlier look
 * means nothing arrived in between. */
uint64_t h2_session_rx_seq(const h2_session_t *h);

/* Client role: opens a stream. The request never carries END_STREAM until
 * h2_stream_end(). Returns NULL on failure (e.g. too many streams). */
h2_stream_t *h2_submit(h2_session_t *h, const nghttp2_nv *nva, size_t nvlen, const h2_stream_cbs_t *cbs,
		       void *data);
/* Server role: answers a request. With end, the stream ends with the
 * headers; otherwise DATA may follow. */
int h2_respond(h2_stream_t *s, int status, const nghttp2_nv *extra, size_t nextra, bool end);

void h2_stream_set_cbs(h2_stream_t *s, const h2_stream_cbs_t *cbs, void *data);
void *h2_stream_data(h2_stream_t *s);
h2_session_t *h2_stream_session(h2_stream_t *s);
/* Response status (client role), 0 before on_response. */
int h2_stream_status(h2_stream_t *s);
/* A received header value (request or response), NUL-terminated; NULL when
 * absent. Pseudo-headers too (":method", ":authority", ":path"). Only valid
 * inside on_request / on_response: the headers are released after them. */
const char *h2_stream_header(h2_stream_t *s, const char *name);

/* Inside on_data only: how many bytes in front of p the callee may
 * overwrite. They are frame headers and payloads of this read that nghttp2
 * has parsed and delivered already, so a relay can build its own frame
 * header there and send header and payload in one piece, without a copy. */
size_t h2_stream_data_headroom(const h2_stream_t *s, const uint8_t *p);

/* Queues bytes to send as DATA. ERR_TOOBIG when the buffer is full: check
 * h2_stream_room() and wait for on_drain. A write may send, and so make
 * room at once: wait only after h2_stream_room() returned 0, which
 * promises on_drain once the buffer fell to a quarter of the share. */
int h2_stream_write(h2_stream_t *s, const void *p, size_t n);
size_t h2_stream_room(h2_stream_t *s);
/* h2_stream_write in two steps, for a writer that transforms bytes on
 * their way in (unmasking) and so copies them once: space for n bytes at
 * the end of the queue (NULL when closed or full, as ERR_CLOSED and
 * ERR_TOOBIG above), then h2_stream_commit of the bytes written there. */
uint8_t *h2_stream_reserve(h2_stream_t *s, size_t n);
void h2_stream_commit(h2_stream_t *s, size_t n);
/* END_STREAM after the queued bytes (half-close). */
void h2_stream_end(h2_stream_t *s);
/* Tells the peer we processed n received bytes (opens its window, and
 * grows it when the reader keeps up faster than the window allows). */
void h2_stream_consume(h2_stream_t *s, size_t n);
/* The stream's receive window now (H2_STREAM_WINDOW_INIT..MAX). */
size_t h2_stream_window(const h2_stream_t *s);
/* The session's round trip in ns: the least of its PINGs over the last
 * 10 s (the path without the queue); 0 before the first. */
uint64_t h2_session_rtt(const h2_session_t *h);
/* Aborts the stream (RST_STREAM). on_close follows. */
void h2_stream_reset(h2_stream_t *s, uint32_t error_code);

/* Bytes each stream of this process may buffer in each direction now:
 * H2_BUDGET over the streams open, within H2_SHARE_MIN..H2_STREAM_OUT_MAX. */
size_t h2_share(void);
/* Tests only: sets the budget (0 restores H2_BUDGET). */
void h2_set_budget(size_t bytes);

/* Tests only: the monotonic clock (ns) that windows and PINGs use; NULL
 * restores uv_hrtime. */
void h2_set_clock(uint64_t (*now)(void));

/* Builds an nghttp2_nv from two C strings (no copy flags: the strings must
 * live until the submit call returns; nghttp2 copies them). */
nghttp2_nv h2_nv(const char *name, const char *value);

#endif
