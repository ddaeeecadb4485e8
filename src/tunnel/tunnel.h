/* tunnel.h — the connector role (`burrow tunnel ...`). */
#ifndef BURROW_TUNNEL_H
#define BURROW_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/h2.h"
#include "core/liveness.h"
#include "core/metrics_http.h"
#include "tunnel/ingress.h"

#define TUNNEL_MAX_HA 16

typedef struct connector connector_t;

typedef struct slot {
	connector_t *cn;
	int index;
	int attempt;
	int edge_idx;    /* index into cn->edges being dialled / connected */
	bool going_home; /* drained on purpose to return to its home edge */
	bool probing;    /* a TCP probe of the home edge is out */
	h2_session_t *h2;
	bool registered;
	bool dialing;
	bool dead; /* its heartbeats went unanswered: redial at once */
	uv_timer_t retry;
	uv_getaddrinfo_t gai;
	const char *edge; /* "host:port" being dialled */
	char edge_host[256];
	buf_t result; /* body of the edge's registration result */
} slot_t;

typedef struct tunnel_metrics {
	uint64_t streams_total;
	uint64_t streams_active;
	uint64_t origin_failures;
	uint64_t reconnects;
	uint64_t dead; /* connections declared dead (heartbeats unanswered) */
} tunnel_metrics_t;

struct connector {
	uv_loop_t *loop;
	SSL_CTX *ctx;
	char tunnel_id[64];
	char tunnel_name[80];
	char *secret; /* wiped on exit */
	const char *const *edges;
	int nedges;
	ingress_t ingress;
	slot_t slots[TUNNEL_MAX_HA];
	int nslots;
	bool stopping;
	long long grace_ms;
	liveness_t live; /* heartbeats and keepalive (core/liveness.h) */
	uv_timer_t grace;
	uv_timer_t rebalance; /* slots away from their home edge probe it */
	int ndraining;	      /* connections a stopping edge drains (supervisor.c) */
	bool warned_hosts;    /* said once which hostnames the edge does not route here */
	struct origin *dial_q; /* origins to dial after this turn's input (origin.c) */
	uv_check_t dialer;
	bool dialer_init;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	metrics_http_t metrics;
	tunnel_metrics_t m;
	int exit_code;
};

int tunnel_main(int argc, char **argv);

/* supervisor.c */
int supervisor_start(connector_t *cn);
void supervisor_stop(connector_t *cn);

/* origin.c: serves one CONNECT stream from the edge. */
void origin_serve(connector_t *cn, h2_stream_t *s);

#endif
