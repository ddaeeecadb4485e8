/* tunnels.c — connectors' connections: accept, register, route streams.
 *
 * A connector dials the tunnel listener (TLS, ALPN h2) and takes the HTTP/2
 * server role; the edge is the client. The edge's first stream asks the
 * connector to register (POST /burrow/v1/register); the answer carries the
 * tunnel id and secret, the connection index and the hostnames it serves.
 * The edge checks the secret in constant time against the stored hash and
 * that every hostname is routed to the tunnel (routes are bound by an admin:
 * burrow admin route add / tunnel create --hostname), and reports the
 * outcome on a second stream (POST /burrow/v1/registered). Only then does it
 * route sessions there.
 *
 * Must never: route to an unregistered connection, accept a hostname not
 * routed to the connection's tunnel (credentials do not claim hostnames), or
 * log a secret. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/hostname.h"
#include "core/log.h"
#include "core/regmsg.h"
#include "core/ws.h"
#include "edge/edge.h"

/* A connection that has not registered by then is closed. */
#define REG_TIMEOUT_MS 10000

struct edge_tconn {
	edge_t *e;
	h2_session_t *h2;
	char peer[64];
	char tunnel_id[64];
	char tunnel_name[80];
	char version[48];
	int conn_index;
	reg_request_t *req; /* while registering */
	int status;
	buf_t body;
	bool registered;
	bool closed;
	bool dead;	      /* heartbeats unanswered: closing */
	bool suspect;	      /* a session's CONNECT and PING met silence ... */
	uint64_t suspect_seq; /* ... and nothing arrived since this read */
	int refs; /* the session and the timer */
	uv_timer_t timer;
	edge_tconn_t *next;
	edge_tconn_t *prev;
	addrcap_entry_t *unauth; /* until registered or closed (edge/auth/unauth.c) */
};

static void tconn_unref(edge_tconn_t *t)
{
	if (--t->refs > 0)
		return;
	edge_unauth_release(t->e, EDGE_TUNNEL, &t->unauth); /* (at close already; a backstop) */
	buf_free(&t->body);
	if (t->req) {
		reg_request_wipe(t->req);
		free(t->req);
	}
	free(t);
}

static void on_timer_closed(uv_handle_t *h) { tconn_unref(h->data); }

static void on_reg_timeout(uv_timer_t *tm)
{
	edge_tconn_t *t = tm->data;
	if (t->registered || t->closed)
		return;
	log_warn("tunnel connection from %s did not register within %d ms; closing", t->peer, REG_TIMEOUT_MS);
	h2_session_close(t->h2);
}

h2_session_t *tunnels_session(edge_tconn_t *t) { return t->h2; }

/* ---- registration ---- */

static void result_on_close(h2_stream_t *s, uint32_t code) {}
static void result_on_data(h2_stream_t *s, const uint8_t *p, size_t n) { h2_stream_consume(s, n); }
static const h2_stream_cbs_t result_cbs = {.on_data = result_on_data, .on_close = result_on_close};

static void send_result(edge_tconn_t *t, const char *error, const char *warning)
{
	nghttp2_nv nva[] = {
		h2_nv(":method", "POST"),
		h2_nv(":scheme", "https"),
		h2_nv(":authority", "burrow-edge"),
		h2_nv(":path", "/burrow/v1/registered"),
		h2_nv("content-type", "application/json"),
	};
	reg_result_t res = {0};
	res.ok = error == NULL;
	res.conn_index = t->conn_index;
	snprintf(res.tunnel_name, sizeof(res.tunnel_name), "%s", t->tunnel_name);
	if (error)
		snprintf(res.error, sizeof(res.error), "%s", error);
	if (warning)
		snprintf(res.warning, sizeof(res.warning), "%s", warning);
	char *txt = reg_result_encode(&res);
	h2_stream_t *s = h2_submit(t->h2, nva, sizeof(nva) / sizeof(nva[0]), &result_cbs, t);
	if (s && txt) {
		h2_stream_write(s, txt, strlen(txt));
		h2_stream_end(s);
	}
	free(txt);
	if (error) {
		t->e->m.registrations_refused++;
		log_warn("tunnel connection from %s refused: %s", t->peer, error);
		h2_session_drain(t->h2);
	}
}

static void accept_registration(edge_tconn_t *t, const char *warning)
{
	t->registered = true;
	edge_unauth_release(t->e, EDGE_TUNNEL, &t->unauth);
	uv_timer_stop(&t->timer);
	t->e->m.tunnel_conns++;
	size_t nh = t->req ? t->req->nhosts : 0;
	log_info("tunnel %s connection %d registered from %s (connector %s, %zu hostname%s)", t->tunnel_name,
		 t->conn_index, t->peer, t->version, nh, nh == 1 ? "" : "s");
	if (warning[0])
		log_warn("tunnel %s connection %d from %s: %s", t->tunnel_name, t->conn_index, t->peer,
			 warning);
	send_result(t, NULL, warning[0] ? warning : NULL);
}

/* Hostnames are served only where routed to this tunnel. Those that are
 * not are named in warn (the first one with the fix, then how many more):
 * the connector serves the rest and says so. None served at all refuses
 * the registration with that reason in err. */
static void check_routes(const edge_tconn_t *t, const reg_request_t *q, char *err, size_t errlen, char *warn,
			 size_t warnlen)
{
	char first[400] = "";
	size_t served = 0, unserved = 0;
	for (size_t i = 0; i < q->nhosts; i++) {
		const model_route_t *r = model_route_by_host(t->e->model, q->hosts[i]);
		if (r && strcmp(r->tunnel_id, t->tunnel_id) == 0) {
			served++;
			continue;
		}
		if (unserved++)
			continue;
		if (!r)
			snprintf(first, sizeof(first),
				 "hostname %s is not routed to tunnel %s: run burrow admin route add %s %s",
				 q->hosts[i], t->tunnel_name, t->tunnel_name, q->hosts[i]);
		else /* (the other tunnel's name is the admin's business, not this connector's) */
			snprintf(
			    first, sizeof(first),
			    "hostname %s is routed to another tunnel, not to tunnel %s: see burrow admin "
			    "route list",
			    q->hosts[i], t->tunnel_name);
	}
	if (!unserved)
		return;
	if (!served && q->nhosts) {
		snprintf(err, errlen, "%s", first);
		return;
	}
	if (unserved == 1)
		snprintf(warn, warnlen, "%s", first);
	else
		snprintf(warn, warnlen, "%s (and %zu more hostnames not served)", first, unserved - 1);
}

static void process_registration(edge_tconn_t *t)
{
	char err[512] = "", warn[512] = "";
	reg_request_t *q = t->req = calloc(1, sizeof(*t->req));
	if (!q) {
		snprintf(err, sizeof(err), "edge is out of memory");
		goto out;
	}
	if (t->status != 200) {
		snprintf(err, sizeof(err), "registration answer had status %d", t->status);
		goto out;
	}
	if (reg_request_parse(buf_head(&t->body), buf_used(&t->body), q, err, sizeof(err)) != 0)
		goto out;
	const model_tunnel_t *tun = model_tunnel_by_id(t->e->model, q->tunnel_id);
	bool ok = tun && model_secret_ok(tun->secret_hash, q->secret, q->secret_len);
	reg_request_wipe(q);
	if (!ok) {
		snprintf(err, sizeof(err), "tunnel credentials rejected: unknown tunnel or wrong secret");
		goto out;
	}
	snprintf(t->tunnel_id, sizeof(t->tunnel_id), "%s", tun->id);
	snprintf(t->tunnel_name, sizeof(t->tunnel_name), "%s", tun->name);
	snprintf(t->version, sizeof(t->version), "%s", q->version);
	t->conn_index = q->conn_index;
	check_routes(t, q, err, sizeof(err), warn, sizeof(warn));
out:
	buf_free_secret(&t->body);
	if (err[0])
		send_result(t, err, NULL);
	else
		accept_registration(t, warn);
}

static void reg_on_response(h2_stream_t *s)
{
	edge_tconn_t *t = h2_stream_data(s);
	t->status = h2_stream_status(s);
}

static void reg_on_data(h2_stream_t *s, const uint8_t *p, size_t n)
{
	edge_tconn_t *t = h2_stream_data(s);
	if (buf_append(&t->body, p, n) != 0) {
		h2_stream_reset(s, NGHTTP2_REFUSED_STREAM);
		h2_session_drain(t->h2);
	}
	h2_stream_consume(s, n);
}

static void reg_on_end(h2_stream_t *s)
{
	edge_tconn_t *t = h2_stream_data(s);
	process_registration(t);
}

static void reg_on_close(h2_stream_t *s, uint32_t code)
{
	edge_tconn_t *t = h2_stream_data(s);
	if (code != 0 && !t->registered && !t->closed)
		h2_session_close(t->h2);
}

static const h2_stream_cbs_t reg_cbs = {
	.on_response = reg_on_response,
	.on_data = reg_on_data,
	.on_end = reg_on_end,
	.on_close = reg_on_close,
};

/* ---- session ---- */

static void t_on_open(h2_session_t *h, int status)
{
	edge_tconn_t *t = h2_session_data(h);
	if (status < 0) {
		log_debug("tunnel connection from %s failed before registration: %s", t->peer, err_str(status));
		return;
	}
	nghttp2_nv nva[] = {
		h2_nv(":method", "POST"),
		h2_nv(":scheme", "https"),
		h2_nv(":authority", "burrow-edge"),
		h2_nv(":path", "/burrow/v1/register"),
	};
	h2_stream_t *s = h2_submit(h, nva, sizeof(nva) / sizeof(nva[0]), &reg_cbs, t);
	if (!s) {
		h2_session_close(h);
		return;
	}
	h2_stream_end(s);
}

static void t_on_close(h2_session_t *h, int err)
{
	edge_tconn_t *t = h2_session_data(h);
	edge_t *e = t->e;
	t->closed = true;
	if (t->registered) {
		log_info("tunnel %s connection %d from %s closed", t->tunnel_name, t->conn_index, t->peer);
		e->m.tunnel_conns--;
	}
	t->registered = false;
	edge_unauth_release(e, EDGE_TUNNEL, &t->unauth);
	if (t->prev)
		t->prev->next = t->next;
	else
		e->tconns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	uv_close((uv_handle_t *)&t->timer, on_timer_closed);
	tconn_unref(t);
	edge_drain_check(e);
}

/* Ends the sessions that run on t with why: the client hears it (a
 * WebSocket Close), the audit log records it. */
static void end_sessions(edge_tconn_t *t, const char *why)
{
	edge_session_t *next;
	for (edge_session_t *s = t->e->sessions; s; s = next) {
		next = s->next; /* relay_end may finish s at once */
		if (s->via != t->h2 || s->ending)
			continue;
		s->ending = true;
		snprintf(s->end_reason, sizeof(s->end_reason), "ended by the edge: %.100s", why);
		log_info("session %s -> %s from %s ended by the edge: %s", s->ident, s->host, s->peer_str,
			 why);
		relay_end(s->relay, WS_CLOSE_UNAVAILABLE, why);
	}
}

/* Heartbeats went unanswered: the path lost this connection without a
 * word. No new session goes to it; its sessions end now rather than hang
 * (their bytes cannot arrive), and the connector redials on its own. */
static void t_on_dead(h2_session_t *h, uint64_t silent_ms)
{
	edge_tconn_t *t = h2_session_data(h);
	edge_t *e = t->e;
	t->dead = true;
	e->m.tunnel_conns_dead++;
	e->m.tunnel_dead_silent_ms += silent_ms;
	char why[160];
	snprintf(why, sizeof(why), "tunnel %.60s connection %d is dead (nothing heard for %.1f s)",
		 t->registered ? t->tunnel_name : "(unregistered)", t->conn_index, (double)silent_ms / 1000);
	log_warn("tunnel %s connection %d from %s is dead: nothing heard for %.1f s (%u heartbeats "
		 "unanswered); closing it and its %zu session(s)",
		 t->registered ? t->tunnel_name : "(unregistered)", t->conn_index, t->peer,
		 (double)silent_ms / 1000, e->live.hb_count, h2_session_streams(h));
	end_sessions(t, why);
}

static const h2_session_cbs_t tunnel_session_cbs = {
	.on_open = t_on_open,
	.on_close = t_on_close,
	.on_dead = t_on_dead,
};

static void on_tunnel_connection(uv_stream_t *server, int status)
{
	edge_t *e = server->data;
	edge_accept_t a;
	if (!edge_unauth_accept(e, EDGE_TUNNEL, server, status, e->tunnel_ctx, &a))
		return;
	conn_t *c = a.c;
	edge_tconn_t *t = calloc(1, sizeof(*t));
	if (!t) {
		edge_unauth_release(e, EDGE_TUNNEL, &a.unauth);
		conn_close(c);
		return;
	}
	t->e = e;
	t->refs = 1;
	t->unauth = a.unauth;
	memcpy(t->peer, a.peer, sizeof(t->peer));
	buf_init(&t->body, REG_MAX_BODY);
	t->h2 = h2_session_new(c, false, &tunnel_session_cbs, t);
	if (!t->h2) {
		edge_unauth_release(e, EDGE_TUNNEL, &t->unauth);
		conn_close(c);
		free(t);
		return;
	}
	liveness_session(&e->live, t->h2);
	liveness_tunnel_socket(&e->live, c);
	t->next = e->tconns;
	if (e->tconns)
		e->tconns->prev = t;
	e->tconns = t;
	t->refs++; /* the timer's */
	uv_timer_init(e->loop, &t->timer);
	t->timer.data = t;
	uv_timer_start(&t->timer, on_reg_timeout, REG_TIMEOUT_MS, 0);
}

int tunnels_listen(edge_t *e, const char *addr)
{
	struct sockaddr_storage ss;
	int r = addr_parse_ip(addr, &ss);
	if (r)
		return r;
	if ((r = uv_tcp_init(e->loop, &e->tunnel_listener)) != 0)
		return r;
	e->tunnel_listener.data = e;
	if ((r = uv_tcp_bind(&e->tunnel_listener, (struct sockaddr *)&ss, 0)) != 0)
		return r;
	return uv_listen((uv_stream_t *)&e->tunnel_listener, EDGE_LISTEN_BACKLOG, on_tunnel_connection);
}

static bool tconn_serves(const edge_tconn_t *t, const char *tunnel_id)
{
	return t->registered && !t->dead && !h2_session_goaway(t->h2) && strcmp(t->tunnel_id, tunnel_id) == 0;
}

/* Silent since a session found it so (a read since clears it). */
static bool tconn_suspect(const edge_tconn_t *t)
{
	return t->suspect && h2_session_rx_seq(t->h2) == t->suspect_seq;
}

void tunnels_suspect(h2_session_t *h)
{
	edge_tconn_t *t = h2_session_data(h);
	t->suspect = true;
	t->suspect_seq = h2_session_rx_seq(h);
}

int tunnels_conn_index(h2_session_t *h)
{
	const edge_tconn_t *t = h2_session_data(h);
	return t->conn_index;
}

/* The live connection carrying the fewest streams, so sessions spread over
 * the connector's connections and a new one rarely queues behind another's
 * bulk; ties take turns. With suspects false, none found silent. */
static edge_tconn_t *pick(edge_t *e, const char *tunnel_id, h2_session_t *exclude, bool suspects)
{
	size_t fewest = SIZE_MAX, ties = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (edge_tconn_t *t = e->tconns; t; t = t->next) {
			if (!tconn_serves(t, tunnel_id) || t->h2 == exclude ||
			    (!suspects && tconn_suspect(t)))
				continue;
			size_t ns = h2_session_streams(t->h2);
			if (pass == 0 && ns < fewest) {
				fewest = ns;
				ties = 0;
			}
			if (pass == 0 && ns == fewest)
				ties++;
			if (pass == 1 && ns == fewest && ties-- == 0)
				return t;
		}
		if (ties == 0)
			return NULL;
		ties = (size_t)(e->next_pick++ % ties);
	}
	return NULL;
}

edge_tconn_t *tunnels_pick(edge_t *e, const char *host, h2_session_t *exclude, const char **why, char *whybuf,
			   size_t whylen)
{
	const model_route_t *r = model_route_by_host(e->model, host);
	if (!r) {
		snprintf(whybuf, whylen,
			 "no tunnel serves %s: route it with burrow admin route add TUNNEL %s", host, host);
		*why = whybuf;
		return NULL;
	}
	edge_tconn_t *t = pick(e, r->tunnel_id, exclude, false);
	if (!t)
		t = pick(e, r->tunnel_id, exclude, true);
	if (!t) {
		const model_tunnel_t *tun = model_tunnel_by_id(e->model, r->tunnel_id);
		snprintf(whybuf, whylen, "no connector of tunnel %s is connected", tun ? tun->name : r->tunnel_id);
		*why = whybuf;
	}
	return t;
}

void tunnels_model_changed(edge_t *e)
{
	for (edge_tconn_t *t = e->tconns; t; t = t->next)
		if (t->registered && !model_tunnel_by_id(e->model, t->tunnel_id)) {
			log_info("tunnel %s was deleted: closing its connection %d", t->tunnel_name, t->conn_index);
			t->registered = false;
			e->m.tunnel_conns--;
			h2_session_close(t->h2);
		}
}

void tunnels_drain_all(edge_t *e)
{
	for (edge_tconn_t *t = e->tconns; t; t = t->next)
		if (t->h2)
			h2_session_drain(t->h2);
}
