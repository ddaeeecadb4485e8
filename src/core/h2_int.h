/* h2_int.h — what h2.c and h2_window.c share: the session and stream
 * structs, and the window functions h2.c calls. Not for other modules. */
#ifndef BURROW_H2_INT_H
#define BURROW_H2_INT_H

#include "core/h2.h"

#define H2_HDR_STORE_MAX 8192
#define H2_FRAME_HDR 9

struct h2_stream {
	h2_session_t *sess;
	int32_t id;
	const h2_stream_cbs_t *cbs;
	void *data;
	buf_t out;
	buf_t hdrs; /* "name\0value\0" pairs */
	uint8_t nhdrs;
	int status;
	bool end_req;
	bool deferred;
	bool want_drain;
	bool drain_queued;
	bool busy;	    /* queued or sent DATA since the last sweep */
	uint32_t rwin;	    /* our receive window for it */
	uint64_t epoch_ns;  /* autotuning: when the current period began */
	size_t epoch_bytes; /* consumed since then */
	h2_stream_t *next;
	h2_stream_t *prev;
	h2_stream_t *drain_next;
};

struct h2_session {
	nghttp2_session *ng;
	conn_t *conn;
	bool server;
	const h2_session_cbs_t *cbs;
	void *data;
	h2_stream_t *streams;
	size_t nstreams;
	h2_stream_t *drain_head;
	const struct h2_writing *writing; /* writers sending now, innermost first */
	const uint8_t *rx_base;		  /* input of the running mem_recv, else NULL */
	int busy;
	bool want_send;
	bool closing;
	bool goaway;
	int err;
	uint64_t rtt_ns;     /* least PING round trip of the last H2_RTT_WINDOW_NS, 0 before the first */
	uint64_t rtt_min_at; /* when that least one was taken */
	uint64_t rtt_at;     /* when the last one was taken */
	uint64_t ping_ns;    /* send time of our outstanding PING, else 0 */
	/* heartbeats (h2_session_heartbeat) */
	uint64_t rx_seq;	 /* reads of the conn */
	uint64_t rx_at;		 /* loop time (ms) of the last read */
	uint32_t hb_interval_ms; /* 0: no heartbeats */
	uint32_t hb_count;
	uv_timer_t *hb_timer; /* freed once closed */
};

/* The clock of h2_set_clock (uv_hrtime unless a test set one). */
uint64_t h2_now(void);
/* Raises a new stream's window from our SETTINGS' initial one to its
 * share's (h2_window.c). */
void h2_window_open(h2_stream_t *s);
/* The reader took n bytes of s: resizes s's window from its pace. */
void h2_window_autotune(h2_stream_t *s, size_t n);
/* Sends a PING to measure the round trip, unless one is out. */
void h2_rtt_ping(h2_session_t *h);
/* A PING ACK arrived with opaque data. */
void h2_rtt_pong(h2_session_t *h, const uint8_t opaque[8]);

#endif
