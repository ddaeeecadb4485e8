/* metrics.c — Prometheus text exposition on --metrics (plain HTTP).
 * Any request gets the current counters; the listener should stay on a
 * private address. */
#include <stdio.h>
#include <stdlib.h>

#include "core/addr.h"
#include "core/conn.h"
#include "edge/edge.h"

static void m_on_data(conn_t *c, buf_t *in)
{
	edge_t *e = c->data;
	buf_consume(in, buf_used(in));
	if (c->shut_req)
		return;
	char body[2048];
	const edge_metrics_t *m = &e->m;
	int n = snprintf(body, sizeof(body),
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
	char head[160];
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %d\r\n"
			  "Connection: close\r\n\r\n",
			  n);
	conn_write(c, head, (size_t)hn);
	conn_write(c, body, (size_t)n);
	conn_finish(c);
}

static void m_on_eof(conn_t *c, int status) { conn_close(c); }

static const conn_cbs_t metrics_cbs = {.on_data = m_on_data, .on_eof = m_on_eof};

static void on_metrics_connection(uv_stream_t *server, int status)
{
	edge_t *e = server->data;
	if (status < 0)
		return;
	conn_t *c = conn_new(e->loop, &metrics_cbs, e);
	if (c && conn_accept(c, server, NULL) != 0)
		conn_close(c);
}

int metrics_listen(edge_t *e, const char *addr)
{
	struct sockaddr_storage ss;
	int r = addr_parse_ip(addr, &ss);
	if (r)
		return r;
	if ((r = uv_tcp_init(e->loop, &e->metrics_listener)) != 0)
		return r;
	e->metrics_listener.data = e;
	e->metrics_on = true;
	if ((r = uv_tcp_bind(&e->metrics_listener, (struct sockaddr *)&ss, 0)) != 0)
		return r;
	return uv_listen((uv_stream_t *)&e->metrics_listener, 128, on_metrics_connection);
}
