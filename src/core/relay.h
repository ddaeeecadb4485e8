/* relay.h — moves bytes both ways between a conn and an HTTP/2 stream.
 *
 * The edge relays a client's WebSocket (ws = true: the conn side speaks RFC
 * 6455 framing, we are the server) to a tunnel stream; the connector relays
 * an origin TCP connection (ws = false) to its stream. Back-pressure both
 * ways: the conn is paused while the stream's buffer is full, and received
 * DATA is acknowledged (window opened) only once the conn took it.
 * End of stream maps hop by hop: FIN or WebSocket Close <-> END_STREAM, and
 * errors <-> RST_STREAM / connection abort. */
#ifndef BURROW_RELAY_H
#define BURROW_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conn.h"
#include "core/h2.h"

typedef struct relay_stats {
	uint64_t up;   /* conn -> stream bytes */
	uint64_t down; /* stream -> conn bytes */
	uint32_t h2_error; /* 0 when the stream closed cleanly */
	int conn_error;    /* 0 when the conn closed cleanly */
} relay_stats_t;

typedef void (*relay_done_cb)(void *data, const relay_stats_t *st);
typedef struct relay relay_t;

/* Takes over c's and s's callbacks; both are closed by the relay, and
 * done(data, stats) runs once when both are gone. Bytes already buffered in c
 * are relayed first. *out (when out is not NULL) is the relay, valid until
 * done runs. */
int relay_start(conn_t *c, h2_stream_t *s, bool ws, relay_done_cb done, void *data, relay_t **out);

/* Ends the session from outside: the stream is reset (CANCEL: the connector
 * closes the origin), and a WebSocket conn gets a Close frame with code and
 * reason (cut to WS_CLOSE_REASON_MAX bytes) before it closes; a raw conn just
 * closes. done runs as for any end. Not from inside the relay's callbacks. */
void relay_end(relay_t *r, uint16_t code, const char *reason);

#endif
