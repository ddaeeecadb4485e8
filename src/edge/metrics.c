/* metrics.c — the edge's Prometheus counters (--metrics ADDR). */
#include <stdio.h>

#include "edge/edge.h"

static size_t render(void *data, char *out, size_t cap)
{
	const edge_t *e = data;
	const edge_metrics_t *m = &e->m;
	int n = snprintf(out, cap,
			 "# TYPE burrow_edge_sessions_total counter\nburrow_edge_sessions_total %llu\n"
			 "# TYPE burrow_edge_sessions_active gauge\nburrow_edge_sessions_active %llu\n"
			 "# TYPE burrow_edge_refused_total counter\n"
			 "burrow_edge_refused_total{status=\"401\"} %llu\nburrow_edge_refused_total{status=\"403\"} %llu\n"
			 "burrow_edge_refused_total{status=\"404\"} %llu\nburrow_edge_refused_total{status=\"502\"} %llu\n"
			 "burrow_edge_refused_total{status=\"503\"} %llu\nburrow_edge_refused_total{status=\"other\"} %llu\n"
			 "# TYPE burrow_edge_bytes_total counter\nburrow_edge_bytes_total{dir=\"up\"} %llu\n"
			 "burrow_edge_bytes_total{dir=\"down\"} %llu\n"
			 "# TYPE burrow_edge_tunnel_connections gauge\nburrow_edge_tunnel_connections %llu\n"
			 "# TYPE burrow_edge_registrations_refused_total counter\n"
			 "burrow_edge_registrations_refused_total %llu\n",
			 (unsigned long long)m->sessions_total, (unsigned long long)m->sessions_active,
			 (unsigned long long)m->refused[0], (unsigned long long)m->refused[1],
			 (unsigned long long)m->refused[2], (unsigned long long)m->refused[3],
			 (unsigned long long)m->refused[4], (unsigned long long)m->refused[5],
			 (unsigned long long)m->bytes_up, (unsigned long long)m->bytes_down,
			 (unsigned long long)m->tunnel_conns, (unsigned long long)m->registrations_refused);
	return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

int metrics_listen(edge_t *e, const char *addr) { return metrics_http_listen(e->loop, &e->metrics, addr, render, e); }
