/* liveness.h — how long a silent peer is trusted (docs/design.md
 * "Liveness"): heartbeats on tunnel connections, TCP keepalive and
 * TCP_USER_TIMEOUT on every long-lived socket. The same three options on
 * burrow edge and burrow tunnel: --heartbeat-interval, --heartbeat-count,
 * --tcp-keepalive. */
#ifndef BURROW_LIVENESS_H
#define BURROW_LIVENESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/conn.h"
#include "core/h2.h"

/* A dead path is noticed within count x interval: 15 s (cloudflared's
 * --heartbeat-interval / --heartbeat-count are 5 s and 5). */
#define LIVENESS_HB_INTERVAL "5s"
#define LIVENESS_HB_COUNT "3"
/* A client or origin gone without a word frees its session within this. */
#define LIVENESS_KEEPALIVE "60s"

typedef struct liveness {
	uint32_t hb_interval_ms;
	uint32_t hb_count;
	uint32_t keepalive_s;
} liveness_t;

/* The three option values; 0, or ERR_INVAL with a one-line reason in err. */
int liveness_parse(const char *interval, const char *count, const char *keepalive, liveness_t *lv, char *err,
		   size_t errlen);
/* A tunnel connection's session: heartbeats. */
void liveness_session(const liveness_t *lv, h2_session_t *h);
/* A tunnel connection's socket (once it has one): keepalive (at least
 * twice the heartbeats' bound), and unacknowledged data bounded one
 * interval after the heartbeats' verdict, which so comes first and says
 * why. */
void liveness_tunnel_socket(const liveness_t *lv, conn_t *c);
/* Any other long-lived socket (a client's WebSocket, an origin): keepalive. */
void liveness_socket(const liveness_t *lv, conn_t *c);

#endif
