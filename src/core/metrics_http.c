/* metrics_http.c — answers one request per connection with the current
 * metrics, holding few connections and none for long (metrics_http.h).
 *
 * Must never: keep a connection past its deadline, hold more connections
 * than the caps allow, release a per-address count twice or not at all, or
 * log more than one refusal line per 10 s however hard a peer knocks. */
#include "core/metrics_http.h"

#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/conn.h"
#include "core/err.h"
#include "core/log.h"

#define METRICS_MAX 8192
#define METRICS_HEAD_MAX 8192 /* a request head longer than this is no scrape */
#define METRICS_WARN_MS 10000

struct metrics_conn {
	metrics_http_t *m;
	conn_t *c;
	addrcap_entry_t *ent; /* this connection's count against its address */
	uint64_t deadline;    /* uv_now() when it is closed, answered or not */
	bool answered;
	char peer[64];
	metrics_conn_t *next, *prev;
};

static void on_deadline(uv_timer_t *t);

/* Arms the timer for the oldest connection not yet closing (the list is in
 * accept order, so in deadline order). */
static void arm(metrics_http_t *m)
{
	uint64_t now = uv_now(m->deadline.loop);
	for (const metrics_conn_t *mc = m->live; mc; mc = mc->next)
		if (!mc->c->closing) {
			uv_timer_start(&m->deadline, on_deadline, mc->deadline > now ? mc->deadline - now : 0,
				       0);
			return;
		}
	uv_timer_stop(&m->deadline);
}

static void on_deadline(uv_timer_t *t)
{
	metrics_http_t *m = t->data;
	uint64_t now = uv_now(t->loop);
	metrics_conn_t *next;
	for (metrics_conn_t *mc = m->live; mc && mc->deadline <= now; mc = next) {
		next = mc->next;
		if (mc->c->closing)
			continue;
		log_debug("metrics: %s %s within %d ms; closing", mc->peer,
			  mc->answered ? "did not take the answer" : "sent no complete request",
			  METRICS_DEADLINE_MS);
		conn_close(mc->c);
	}
	arm(m);
}

static void answer(metrics_conn_t *mc)
{
	metrics_http_t *m = mc->m;
	char body[METRICS_MAX];
	size_t n = m->render(m->data, body, sizeof(body));
	char head[160];
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  n);
	mc->answered = true;
	conn_write(mc->c, head, (size_t)hn);
	conn_write(mc->c, body, n);
	conn_finish(mc->c);
}

/* One request, answered once its head is complete; the rest is ignored. */
static void m_on_data(conn_t *c, buf_t *in)
{
	metrics_conn_t *mc = c->data;
	const uint8_t *p = buf_head(in);
	size_t n = buf_used(in);
	if (mc->answered) {
		buf_consume(in, n);
		return;
	}
	if (!memmem(p, n, "\r\n\r\n", 4) && !memmem(p, n, "\n\n", 2)) {
		if (n > METRICS_HEAD_MAX)
			conn_close(c);
		return;
	}
	buf_consume(in, n);
	answer(mc);
}

/* After the answer, a clean EOF leaves conn_finish to flush and close. */
static void m_on_eof(conn_t *c, int status)
{
	const metrics_conn_t *mc = c->data;
	if (status < 0 || !mc->answered)
		conn_close(c);
}

static void m_on_close(conn_t *c)
{
	metrics_conn_t *mc = c->data;
	metrics_http_t *m = mc->m;
	if (mc->prev)
		mc->prev->next = mc->next;
	else
		m->live = mc->next;
	if (mc->next)
		mc->next->prev = mc->prev;
	else
		m->live_tail = mc->prev;
	m->nlive--;
	addrcap_release(m->per_addr, &mc->ent);
	free(mc);
}

static const conn_cbs_t metrics_cbs = {.on_data = m_on_data, .on_eof = m_on_eof, .on_close = m_on_close};

/* RST rather than FIN: the peer learns at once, and we keep no TIME_WAIT
 * state for each refusal. */
static void reset_close(conn_t *c)
{
	uv_os_fd_t fd;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	if (uv_fileno((const uv_handle_t *)c->in, &fd) == 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c);
}

static void refuse(metrics_http_t *m, conn_t *c, const struct sockaddr_storage *peer, int r)
{
	uint64_t now = uv_now(c->loop);
	m->refused++;
	m->unlogged++;
	if (!m->warned_ms || now - m->warned_ms >= METRICS_WARN_MS) {
		char who[64], more[64] = "";
		addrcap_format((const struct sockaddr *)peer, who, sizeof(who));
		if (m->unlogged > 1)
			snprintf(more, sizeof(more), " (%llu refused since the last such warning)",
				 (unsigned long long)m->unlogged);
		if (r == ERR_UNAVAIL)
			log_warn(
			    "metrics: %d connections open, the most this listener holds: resetting new ones "
			    "(this one from %s) until some close%s; each closes within %d s",
			    METRICS_CONN_MAX, who, more, METRICS_DEADLINE_MS / 1000);
		else if (r == ERR_TOOBIG)
			log_warn(
			    "metrics: %s holds %d connections, the most one address may: resetting new ones "
			    "from it until some close%s; each closes within %d s",
			    who, METRICS_PER_ADDR, more, METRICS_DEADLINE_MS / 1000);
		else
			log_warn("metrics: cannot take a connection from %s: %s%s", who, err_str(r), more);
		m->warned_ms = now;
		m->unlogged = 0;
	}
	reset_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	static const conn_cbs_t none = {0};
	metrics_http_t *m = server->data;
	if (status < 0)
		return;
	/* Accepted before anything else, so that a refusal costs no more
	 * than the accept and the close. */
	conn_t *c = conn_new(server->loop, &none, NULL);
	if (!c)
		return;
	if (conn_accept(c, server, NULL) != 0) {
		conn_close(c);
		return;
	}
	struct sockaddr_storage ss;
	char peer[64];
	conn_peer_ip(c, peer, sizeof(peer), &ss);
	addrcap_entry_t *ent = NULL;
	int r = m->nlive >= METRICS_CONN_MAX ? ERR_UNAVAIL
					     : addrcap_take(m->per_addr, (struct sockaddr *)&ss, &ent);
	metrics_conn_t *mc = r ? NULL : calloc(1, sizeof(*mc));
	if (!mc) {
		addrcap_release(m->per_addr, &ent);
		refuse(m, c, &ss, r ? r : ERR_NOMEM);
		return;
	}
	mc->m = m;
	mc->c = c;
	mc->ent = ent;
	mc->deadline = uv_now(server->loop) + METRICS_DEADLINE_MS;
	memcpy(mc->peer, peer, sizeof(mc->peer));
	mc->prev = m->live_tail;
	if (m->live_tail)
		m->live_tail->next = mc;
	else
		m->live = mc;
	m->live_tail = mc;
	m->nlive++;
	conn_set_owner(c, &metrics_cbs, mc);
	if (!uv_is_active((const uv_handle_t *)&m->deadline))
		arm(m);
}

int metrics_http_listen(uv_loop_t *loop, metrics_http_t *m, const char *addr, metrics_render_fn render, void *data)
{
	struct sockaddr_storage ss;
	int r = addr_parse_ip(addr, &ss);
	if (r)
		return r;
	m->render = render;
	m->data = data;
	uint64_t seed = 0;
	/* Unpredictable buckets; a failure only makes them guessable. */
	(void)RAND_bytes((unsigned char *)&seed, sizeof(seed));
	if ((r = addrcap_new(METRICS_PER_ADDR, seed, &m->per_addr)) != 0)
		return r;
	if ((r = uv_timer_init(loop, &m->deadline)) != 0)
		return r;
	m->deadline.data = m;
	uv_unref((uv_handle_t *)&m->deadline); /* never what keeps the loop running */
	if ((r = uv_tcp_init(loop, &m->listener)) != 0)
		return r;
	m->listener.data = m;
	if ((r = uv_tcp_bind(&m->listener, (struct sockaddr *)&ss, 0)) != 0)
		return r;
	return uv_listen((uv_stream_t *)&m->listener, 128, on_connection);
}

uint64_t metrics_http_refused(const metrics_http_t *m)
{
	return m->refused;
}

void metrics_http_free(metrics_http_t *m)
{
	addrcap_free(m->per_addr);
	m->per_addr = NULL;
}
