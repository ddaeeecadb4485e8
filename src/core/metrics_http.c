/* metrics_http.c — answers any request with the current metrics. */
#include "core/metrics_http.h"

#include <stdio.h>

#include "core/addr.h"
#include "core/conn.h"

#define METRICS_MAX 8192

static void m_on_data(conn_t *c, buf_t *in)
{
	metrics_http_t *m = c->data;
	buf_consume(in, buf_used(in));
	if (c->shut_req)
		return;
	char body[METRICS_MAX];
	size_t n = m->render(m->data, body, sizeof(body));
	char head[160];
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  n);
	conn_write(c, head, (size_t)hn);
	conn_write(c, body, n);
	conn_finish(c);
}

static void m_on_eof(conn_t *c, int status) { conn_close(c); }

static const conn_cbs_t metrics_cbs = {.on_data = m_on_data, .on_eof = m_on_eof};

static void on_connection(uv_stream_t *server, int status)
{
	metrics_http_t *m = server->data;
	if (status < 0)
		return;
	conn_t *c = conn_new(server->loop, &metrics_cbs, m);
	if (c && conn_accept(c, server, NULL) != 0)
		conn_close(c);
}

int metrics_http_listen(uv_loop_t *loop, metrics_http_t *m, const char *addr, metrics_render_fn render, void *data)
{
	struct sockaddr_storage ss;
	int r = addr_parse_ip(addr, &ss);
	if (r)
		return r;
	m->render = render;
	m->data = data;
	if ((r = uv_tcp_init(loop, &m->listener)) != 0)
		return r;
	m->listener.data = m;
	if ((r = uv_tcp_bind(&m->listener, (struct sockaddr *)&ss, 0)) != 0)
		return r;
	return uv_listen((uv_stream_t *)&m->listener, 128, on_connection);
}
