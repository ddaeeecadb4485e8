/* front.c — the edge's front door: TLS, HTTP/1.1, admin API, WebSocket.
 *
 * Every client connection arrives here. A request head is parsed with hard
 * bounds and routed by host class (docs/design.md): on the admin class
 * /api/v1/ goes to the admin API (bearer token, run on the store thread);
 * on an application hostname a WebSocket upgrade is authenticated
 * (edge/auth/authn.c), checked against the application's policies, routed to a
 * live connector connection as one HTTP/2 stream, and answered 101 only
 * once the connector has the origin connection up. A request body is read
 * only after its credentials passed (admin: up to 1 MiB); before that the
 * edge holds nothing but the head. Authenticated admin requests keep the
 * connection open for the next (pipelined requests are answered in order);
 * every refusal is a plain HTTP response with a one-line reason and ends
 * the connection.
 *
 * Must never: log a secret, buffer a body before authentication, answer a
 * 302 to a WebSocket request (it would send the cloudflared client into a
 * login it cannot finish), or route before the policy allowed it. */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/fault.h"
#include "core/form.h"
#include "core/hostname.h"
#include "core/http1.h"
#include "core/log.h"
#include "core/relay.h"
#include "core/slab.h"
#include "core/ws.h"
#include "edge/admin/admin_api.h"
#include "edge/audit/audit.h"
#include "edge/auth/authn.h"
#include "edge/edge.h"
#include "edge/auth/policy.h"
#include "edge/http/front_int.h"

static slab_t front_slab = {.size = sizeof(front_t)};

/* The client proved who it is (or a bypass policy let it in): its
 * connection no longer counts against its address's cap. */
static void front_authenticated(front_t *f)
{
	edge_unauth_release(f->e, EDGE_CLIENT, &f->unauth);
}

/* The parser holds 64 header slots (2.3 KiB): a relaying session keeps
 * only what its log line needs. */
static void front_free_parser(front_t *f)
{
	if (f->hp) {
		http1_free(f->hp);
		free(f->hp);
		f->hp = NULL;
	}
}

/* Frees what one request kept (wiped: bodies, tokens and one-time secrets
 * pass through here), for the next request or the end. */
static void request_clear(front_t *f)
{
	free(f->method);
	free(f->path);
	free(f->query);
	f->method = f->path = f->query = NULL;
	if (f->body)
		OPENSSL_cleanse(f->body, f->body_len); /* POST /api/v1/users carries a password */
	free(f->body);
	f->body = NULL;
	f->body_len = 0;
	free(f->id);
	f->id = NULL;
	if (f->jwt) {
		OPENSSL_cleanse(f->jwt, strlen(f->jwt));
		free(f->jwt);
		f->jwt = NULL;
	}
	if (f->resp.body) {
		/* May hold a just-created secret shown once. */
		OPENSSL_cleanse(f->resp.body, strlen(f->resp.body));
		free(f->resp.body);
	}
	memset(&f->resp, 0, sizeof(f->resp));
}

static void front_unref(front_t *f)
{
	if (--f->refs > 0)
		return;
	edge_unauth_release(f->e, EDGE_CLIENT, &f->unauth); /* (at close already; a backstop) */
	front_free_parser(f);
	request_clear(f);
	slab_free(&front_slab, f);
}

static void on_timer_closed(uv_handle_t *h)
{
	front_t *f = h->data;
	front_unref(f);
}

static void timer_close(front_t *f)
{
	if (f->timer_closed)
		return;
	f->timer_closed = true;
	uv_close((uv_handle_t *)&f->timer, on_timer_closed);
}

static void on_timeout(uv_timer_t *t);
static void next_request(front_t *f);

/* Writes a complete response; with keep, the connection then waits for the
 * next request, else it closes after the response. */
/* The response is out: wait for the next request, or close. */
static void response_sent(front_t *f, bool keep)
{
	f->requests++;
	if (keep) {
		next_request(f);
		return;
	}
	f->state = F_DONE;
	if (!f->timer_closed)
		uv_timer_stop(&f->timer);
	conn_finish(f->c);
}

/* Writes chunks of resp.body while the connection takes them; on_drain
 * brings it back for the rest. */
static void write_chunks(front_t *f)
{
	const char *body = f->resp.body;
	size_t len = strlen(body);
	while (f->out_off < len && !conn_full(f->c)) {
		size_t n = len - f->out_off < FRONT_CHUNK ? len - f->out_off : FRONT_CHUNK;
		char size[16];
		int sn = snprintf(size, sizeof(size), "%zx\r\n", n);
		if (conn_write(f->c, size, (size_t)sn) != 0 || conn_write(f->c, body + f->out_off, n) != 0 ||
		    conn_write(f->c, "\r\n", 2) != 0) {
			f->state = F_DONE;
			conn_close(f->c);
			return;
		}
		f->out_off += n;
	}
	if (f->out_off < len)
		return;
	if (conn_write(f->c, "0\r\n\r\n", 5) != 0) {
		f->state = F_DONE;
		conn_close(f->c);
		return;
	}
	response_sent(f, f->out_keep);
}

static void f_on_drain(conn_t *c)
{
	front_t *f = c->data;
	if (f->state == F_WRITING)
		write_chunks(f);
}

static void respond_full(front_t *f, int status, const char *headers, const char *ctype, const char *body,
			 bool keep)
{
	size_t blen = body ? strlen(body) : 0;
	if (blen > FRONT_STREAM_MIN && body == f->resp.body && !f->head_only && f->hp->hp.http_minor >= 1) {
		char head[256];
		int n = snprintf(head, sizeof(head),
				 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
				 "Cache-Control: no-store\r\nConnection: %s\r\n\r\n",
				 status, http1_reason(status), ctype, keep ? "keep-alive" : "close");
		/* (only admin API bodies are this large: no extra headers) */
		if (conn_write(f->c, head, (size_t)n) != 0) {
			f->state = F_DONE;
			conn_close(f->c);
			return;
		}
		f->state = F_WRITING;
		f->out_keep = keep;
		f->out_off = 0;
		uv_timer_start(&f->timer, on_timeout, FRONT_BODY_TIMEOUT_MS, 0);
		write_chunks(f);
		return;
	}
	buf_t b;
	size_t hlen = headers ? strlen(headers) : 0;
	buf_init(&b, blen + hlen + 512); /* the rest of the head is < 256 bytes: nothing is cut */
	int r = buf_printf(
	    &b,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	    "%sConnection: %s\r\n\r\n",
	    status, http1_reason(status), ctype, blen, headers ? headers : "", keep ? "keep-alive" : "close");
	if (r == 0 && blen && !f->head_only)
		r = buf_append(&b, body, blen);
	if (r == 0)
		r = conn_write(f->c, buf_head(&b), buf_used(&b));
	if (r != 0)
		log_error("client %s: response of %zu bytes not sent: %s", f->peer, blen, err_str(r));
	buf_free(&b);
	response_sent(f, keep && r == 0);
}

static void respond_keep(front_t *f, int status, const char *ctype, const char *body, bool keep)
{
	respond_full(f, status, NULL, ctype, body, keep);
}

void front__send(front_t *f, int status, const char *headers, const char *ctype, const char *body, bool keep)
{
	respond_full(f, status, headers, ctype, body, keep);
}

static void respond(front_t *f, int status, const char *ctype, const char *body)
{
	respond_keep(f, status, ctype, body, false);
}

/* The fields every event of this connection shares. */
static void front_event(const front_t *f, audit_event_t *ev)
{
	snprintf(ev->actor, sizeof(ev->actor), "%.95s", f->ident);
	snprintf(ev->app, sizeof(ev->app), "%s", f->app);
	snprintf(ev->host, sizeof(ev->host), "%s", f->host);
	snprintf(ev->client, sizeof(ev->client), "%s", f->peer);
	memcpy(ev->session, f->session_id, sizeof(ev->session));
}

/* A refusal: status plus one line saying what is wrong and what to do. The
 * log gets detail instead when there is more the client must not see. */
static void refuse_detail(front_t *f, int status, const char *reason, const char *detail)
{
	char line[600];
	snprintf(line, sizeof(line), "%s\n", reason);
	audit_event_t ev = {.kind = AUDIT_REFUSAL, .status = status};
	front_event(f, &ev);
	snprintf(ev.reason, sizeof(ev.reason), "%s", detail ? detail : reason);
	audit_emit(f->e, &ev);
	respond(f, status, "text/plain; charset=utf-8", line);
}

static void refuse(front_t *f, int status, const char *reason)
{
	refuse_detail(f, status, reason, NULL);
}

void front__refuse(front_t *f, int status, const char *reason)
{
	refuse(f, status, reason);
}

void front__event(const front_t *f, audit_event_t *ev)
{
	front_event(f, ev);
}

void front__unref(front_t *f)
{
	front_unref(f);
}

/* ---- admin API ---- */

static void admin_work(edge_t *e, void *arg, bool *changed)
{
	front_t *f = arg;
	admin_req_t req = {f->method, f->path, f->body, f->body_len};
	if (strcmp(f->path, "/api/v1/audit") == 0 && strcmp(f->method, "GET") == 0)
		audit_query(e->store, f->query, &f->resp);
	else
		admin_api_exec(e->store, &req, &f->resp);
	*changed = f->resp.changed;
	if (strcmp(f->method, "GET") != 0)
		audit_describe_admin(f->method, f->path, f->body, f->body_len, f->what, sizeof(f->what));
}

static void admin_done(edge_t *e, void *arg)
{
	front_t *f = arg;
	if (f->what[0]) { /* a change (or an attempt): who did what, and how it went */
		audit_event_t ev = {.kind = AUDIT_ADMIN, .status = f->resp.status};
		front_event(f, &ev);
		snprintf(ev.what, sizeof(ev.what), "%s", f->what);
		audit_emit(e, &ev);
	}
	if (f->state == F_ADMIN) {
		bool keep = f->hp->keep_alive;
		respond_keep(f, f->resp.status, "application/json", f->resp.body ? f->resp.body : "{}", keep);
	}
	front_unref(f);
}

/* The request (head and body) is complete: run it on the store thread. */
static void admin_start(front_t *f)
{
	/* HEAD is GET without the body (the store never sees HEAD). */
	const char *method =
	    f->hp->method == HTTP_HEAD ? "GET" : http_method_str((enum http_method)f->hp->method);
	f->method = strdup(method);
	f->body_len = buf_used(&f->hp->body);
	f->body = malloc(f->body_len + 1);
	if (!f->method || !f->body) {
		respond(f, 500, "application/json", "{\"error\":\"edge out of memory\"}");
		return;
	}
	if (f->body_len)
		memcpy(f->body, buf_head(&f->hp->body), f->body_len);
	f->state = F_ADMIN;
	uv_timer_stop(&f->timer);
	f->refs++;
	conn_pause(f->c); /* a pipelined next request waits for this answer */
	if (fault_hit("admin_job") || edge_job_submit(f->e, admin_work, admin_done, f) != 0) {
		f->refs--;
		respond(f, 500, "application/json", "{\"error\":\"edge out of memory\"}");
	}
}

static void admin_sessions(front_t *f)
{
	char email[256] = "";
	const char *q = strchr(f->hp->url, '?');
	int r = q ? form_get(q + 1, strlen(q + 1), "email", email, sizeof(email)) : ERR_NOTFOUND;
	if (r != 0 && r != ERR_NOTFOUND) {
		respond_keep(f, 400, "application/json", "{\"error\":\"bad query: only email=EMAIL\"}",
			     f->hp->keep_alive);
		return;
	}
	for (char *p = email; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	char *body = sessions_list_json(f->e, email[0] ? email : NULL);
	if (!body) {
		respond(f, 500, "application/json", "{\"error\":\"edge out of memory\"}");
		return;
	}
	respond_keep(f, 200, "application/json", body, f->hp->keep_alive);
	free(body);
}

static void handle_admin(front_t *f, const char *path)
{
	authn_t a;
	authn_req_t rq = {f->hp, &f->peer_ss, f->peer};
	if (!authn_admin(f->e, &rq, &a)) {
		audit_event_t ev = {.kind = AUDIT_ADMIN_REFUSAL, .status = a.status};
		front_event(f, &ev);
		snprintf(ev.what, sizeof(ev.what), "%s %.140s",
			 http_method_str((enum http_method)f->hp->method), path);
		snprintf(ev.reason, sizeof(ev.reason), "%s",
			 a.status == 429 ? "too many failed attempts" : "admin token missing or wrong");
		audit_emit(f->e, &ev);
		respond(f, a.status, "application/json", a.reason);
		return;
	}
	front_authenticated(f);
	snprintf(f->ident, sizeof(f->ident), "admin");
	if (strcmp(path, "/api/v1/sessions") == 0 && !f->hp->has_body &&
	    (f->hp->method == HTTP_GET || f->hp->method == HTTP_HEAD)) {
		admin_sessions(f); /* live sessions are the loop's: answered here, not on the store thread */
		return;
	}
	const char *q = strchr(f->hp->url, '?');
	f->path = strdup(path);
	f->query = q ? strdup(q + 1) : NULL;
	if (!f->path || (q && !f->query)) {
		respond(f, 500, "application/json", "{\"error\":\"edge out of memory\"}");
		return;
	}
	if (f->hp->has_body && f->state == F_READING) {
		/* Only now may a body be read, and only so much. */
		if (http1_set_max_body(f->hp, FRONT_MAX_BODY) != 0) {
			audit_event_t ev = {.kind = AUDIT_ADMIN_REFUSAL, .status = 413};
			front_event(f, &ev);
			snprintf(ev.what, sizeof(ev.what), "%s %.140s",
				 http_method_str((enum http_method)f->hp->method), path);
			snprintf(ev.reason, sizeof(ev.reason), "request body too large (at most 1 MiB)");
			audit_emit(f->e, &ev);
			respond(f, 413, "application/json",
				"{\"error\":\"request body too large (at most 1 MiB)\"}");
			return;
		}
		f->state = F_BODY;
		f->on_body = admin_start;
		uv_timer_start(&f->timer, on_timeout, FRONT_BODY_TIMEOUT_MS, 0);
		return; /* f_on_data goes on with the body */
	}
	admin_start(f);
}

void front__read_body(front_t *f, size_t max, void (*done)(front_t *f))
{
	if (!f->hp->has_body || f->state != F_READING) {
		done(f);
		return;
	}
	if (http1_set_max_body(f->hp, max) != 0) {
		refuse(f, 413, "request body too large");
		return;
	}
	f->state = F_BODY;
	f->on_body = done;
	uv_timer_start(&f->timer, on_timeout, FRONT_BODY_TIMEOUT_MS, 0);
}

void front__wait(front_t *f, uint64_t ms)
{
	f->state = F_WAIT;
	conn_pause(f->c);
	if (ms)
		uv_timer_start(&f->timer, on_timeout, ms, 0);
	else
		uv_timer_stop(&f->timer);
}

/* ---- WebSocket sessions ---- */

static void session_done(void *data, const relay_stats_t *st)
{
	front_t *f = data;
	edge_t *e = f->e;
	sessions_remove(e, &f->sess);
	audit_event_t ev = {.kind = AUDIT_SESSION_END, .status = 101};
	front_event(f, &ev);
	ev.bytes_up = st->up;
	ev.bytes_down = st->down;
	ev.duration_ms = (int64_t)(uv_now(e->loop) - f->started_ms);
	ev.reset = st->h2_error;
	snprintf(ev.reason, sizeof(ev.reason), "%s",
		 f->sess.end_reason[0] ? f->sess.end_reason
		 : st->h2_error	       ? "reset"
				       : "closed");
	audit_emit(e, &ev);
	front_unref(f); /* the relay's reference */
}

static void cs_on_response(h2_stream_t *s)
{
	front_t *f = h2_stream_data(s);
	if (!f || f->state != F_CONNECTING)
		return;
	int status = h2_stream_status(s);
	if (status != 200) {
		/* burrow-error may name the origin's address: the log's alone. */
		const char *why = h2_stream_header(s, "burrow-error");
		const char *cause = h2_stream_header(s, "burrow-client-error");
		char line[512], detail[512];
		snprintf(line, sizeof(line), "origin unreachable: %s",
			 cause ? cause : "the connector refused the session (the edge's log has its reason)");
		snprintf(detail, sizeof(detail), "origin unreachable: %s",
			 why ? why : "connector refused the stream");
		h2_stream_set_cbs(s, NULL, NULL);
		h2_stream_reset(s, NGHTTP2_CANCEL);
		f->stream = NULL;
		refuse_detail(f, 502, line, detail);
		front_unref(f); /* the stream's reference */
		return;
	}
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Accept: %s\r\n\r\n",
			 f->accept);
	conn_write(f->c, hdr, (size_t)n);
	f->state = F_RELAYING;
	f->stream = NULL;
	f->started_ms = uv_now(f->e->loop);
	audit_session_id(f->session_id);
	audit_event_t ev = {.kind = AUDIT_SESSION_START, .status = 101};
	front_event(f, &ev);
	audit_emit(f->e, &ev);
	/* The stream's reference passes to the relay; the conn's callbacks
	 * become the relay's, so its reference goes now. */
	front_free_parser(f);
	timer_close(f);
	conn_t *c = f->c;
	f->c = NULL;
	f->sess.started = time(NULL);
	f->sess.via = h2_stream_session(s);
	liveness_socket(&f->e->live, c); /* a client may vanish without a word */
	/* Listed before the relay starts: it may end inside relay_start (bytes
	 * the client sent early), and session_done unlists it. */
	sessions_add(f->e, &f->sess);
	if (relay_start(c, s, true, session_done, f, &f->sess.relay) != 0) {
		sessions_remove(f->e, &f->sess);
		audit_event_t end = {.kind = AUDIT_SESSION_END, .status = 101};
		front_event(f, &end);
		snprintf(end.reason, sizeof(end.reason), "the edge is out of memory");
		audit_emit(f->e, &end);
		/* The stream's reference is dropped here, not by cs_on_close. */
		h2_stream_set_cbs(s, NULL, NULL);
		h2_stream_reset(s, NGHTTP2_INTERNAL_ERROR);
		front_unref(f);
		conn_close(c); /* still front's: f_on_close drops the conn's reference */
		return;
	}
	front_unref(f);
}

static bool connect_retry(front_t *f, h2_stream_t *old);

static void cs_on_close(h2_stream_t *s, uint32_t code)
{
	front_t *f = h2_stream_data(s);
	if (!f)
		return;
	f->stream = NULL;
	/* The connection died under it (not a connector's refusal): no byte
	 * reached the origin, another connection may carry it. */
	if (f->state == F_CONNECTING &&
	    !(code && h2_session_goaway(h2_stream_session(s)) && connect_retry(f, s)))
		refuse(f, 502, "connector dropped the session before the origin answered");
	front_unref(f);
}

static void cs_on_data(h2_stream_t *s, const uint8_t *p, size_t n) { h2_stream_consume(s, n); }

static const h2_stream_cbs_t connect_cbs = {
	.on_response = cs_on_response,
	.on_data = cs_on_data,
	.on_close = cs_on_close,
};

static void connect_timer(front_t *f);

static void on_timeout(uv_timer_t *t)
{
	front_t *f = t->data;
	if (f->state == F_WRITING) {
		log_info("client %s did not read a %zu-byte response in %d s; closing", f->peer,
			 strlen(f->resp.body), FRONT_BODY_TIMEOUT_MS / 1000);
		f->state = F_DONE;
		conn_close(f->c);
	} else if (f->state == F_READING || f->state == F_BODY) {
		/* (a kept-alive connection idle between requests is no refusal) */
		if (f->requests == 0 || f->state == F_BODY) {
			log_debug("client %s sent no complete request in time; closing", f->peer);
			f->e->m.refused[5]++;
		}
		f->state = F_DONE;
		conn_close(f->c);
	} else if (f->state == F_CONNECTING && f->stream) {
		connect_timer(f);
	} else if (f->state == F_WAIT && f->transfer[0]) {
		transfer_timeout(f);
	}
}

/* What allowed the session, for edge/sessions/sessions.c to check again later. */
static void bind_session(front_t *f, const policy_subject_t *subj)
{
	edge_session_t *b = &f->sess;
	b->host = f->host;
	snprintf(b->token_id, sizeof(b->token_id), "%s", subj->token_id ? subj->token_id : "");
	snprintf(b->token_name, sizeof(b->token_name), "%s", subj->token_name ? subj->token_name : "");
	const model_route_t *route = model_route_by_host(f->e->model, f->host);
	const model_tunnel_t *tun = route ? model_tunnel_by_id(f->e->model, route->tunnel_id) : NULL;
	snprintf(b->tunnel_id, sizeof(b->tunnel_id), "%s", tun ? tun->id : "");
	snprintf(b->tunnel_name, sizeof(b->tunnel_name), "%s", tun ? tun->name : "");
	b->peer = &f->peer_ss;
	b->id = f->id;
	b->app = f->app;
	b->session_id = f->session_id;
	b->ident = f->ident;
	b->peer_str = f->peer;
}

/* Opens the session's CONNECT stream on h, and the timer that probes it. */
static int connect_submit(front_t *f, h2_session_t *h)
{
	const char *token = f->sess.token_name;
	nghttp2_nv nva[8] = {
	    h2_nv(":method", "CONNECT"), h2_nv(":authority", f->host),	     h2_nv("burrow-kind", "tcp"),
	    h2_nv("burrow-app", f->app), h2_nv("burrow-client-ip", f->peer),
	};
	size_t n = 5;
	if (token[0])
		nva[n++] = h2_nv("burrow-service-token", token);
	if (f->id) /* who, for origins that check (the token's signature: /cdn-cgi/access/certs) */
		nva[n++] = h2_nv("burrow-user", f->id->email);
	if (f->jwt)
		nva[n++] = h2_nv("cf-access-jwt-assertion", f->jwt);
	h2_stream_t *s = fault_hit("connect_submit") ? NULL : h2_submit(h, nva, n, &connect_cbs, f);
	if (!s)
		return ERR_UNAVAIL;
	f->refs++;
	f->stream = s;
	f->state = F_CONNECTING;
	f->phase = CP_PROBE;
	uint64_t probe = 2 * h2_session_rtt(h) / 1000000;
	if (probe < FRONT_PROBE_MIN_MS || !h2_session_rtt(h))
		probe = h2_session_rtt(h) ? FRONT_PROBE_MIN_MS : FRONT_PROBE_MAX_MS;
	if (probe > FRONT_PROBE_MAX_MS)
		probe = FRONT_PROBE_MAX_MS;
	uv_timer_start(&f->timer, on_timeout, probe, 0);
	return 0;
}

/* Moves the session from old's silent connection to another of its tunnel,
 * if there is one. old's callbacks are off (its close is no refusal); the
 * caller drops old's reference. */
static bool connect_retry(front_t *f, h2_stream_t *old)
{
	h2_session_t *from = h2_stream_session(old);
	const char *reason = NULL;
	char why[512];
	if (f->retried || f->state != F_CONNECTING)
		return false;
	edge_tconn_t *t = tunnels_pick(f->e, f->host, from, &reason, why, sizeof(why));
	if (!t)
		return false;
	f->retried = true;
	f->e->m.connect_retries++;
	log_info("session %s -> %s from %s: tunnel connection %d silent; CONNECT retried on connection %d",
		 f->ident, f->host, f->peer, tunnels_conn_index(from),
		 tunnels_conn_index(tunnels_session(t)));
	h2_stream_set_cbs(old, NULL, NULL);
	if (old == f->stream)
		f->stream = NULL;
	if (connect_submit(f, tunnels_session(t)) != 0)
		refuse(f, 503, "edge cannot open a stream to the connector right now; retry");
	return true;
}

/* The CONNECT still waits: probe its connection, judge the probe, or give
 * up at FRONT_CONNECT_TIMEOUT_MS from the first CONNECT. */
static void connect_timer(front_t *f)
{
	h2_stream_t *s = f->stream;
	h2_session_t *h = h2_stream_session(s);
	uint64_t waited = uv_now(f->e->loop) - f->connect_ms;
	if (waited >= FRONT_CONNECT_TIMEOUT_MS) {
		f->stream = NULL;
		h2_stream_set_cbs(s, NULL, NULL);
		h2_stream_reset(s, NGHTTP2_CANCEL);
		refuse(f, 504, "the connector did not reach the origin in time");
		front_unref(f); /* the stream's reference */
		return;
	}
	uint64_t next = FRONT_CONNECT_TIMEOUT_MS - waited;
	if (f->phase == CP_PROBE) {
		f->phase = CP_VERDICT;
		f->probe_seq = h2_session_rx_seq(h);
		h2_session_probe(h);
		if (next > FRONT_SILENT_MS)
			next = FRONT_SILENT_MS;
	} else if (f->phase == CP_VERDICT) {
		f->phase = CP_WAIT;
		if (h2_session_rx_seq(h) == f->probe_seq) {
			tunnels_suspect(h);
			if (connect_retry(f, s)) {
				h2_stream_reset(s, NGHTTP2_CANCEL);
				front_unref(f); /* old's reference */
				return;
			}
		}
	}
	uv_timer_start(&f->timer, on_timeout, next, 0);
}

static void handle_websocket(front_t *f)
{
	edge_t *e = f->e;
	char why[512];
	const http1_header_t *key = http1_header(f->hp, "Sec-WebSocket-Key");
	const http1_header_t *ver = http1_header(f->hp, "Sec-WebSocket-Version");
	if (f->hp->method != HTTP_GET || !key || !ws_key_valid(key->value, key->value_len) || !ver ||
	    strcmp(ver->value, "13") != 0 || http1_header_count(f->hp, "Sec-WebSocket-Key") != 1) {
		refuse(f, 400, "bad WebSocket upgrade: need GET with a valid Sec-WebSocket-Key and version 13");
		return;
	}
	ws_accept_key(key->value, key->value_len, f->accept);

	const model_app_t *app = model_app_by_host(e->model, f->host);
	if (!app) {
		snprintf(why, sizeof(why), "unknown hostname %s: no application is configured for it", f->host);
		refuse(f, 404, why);
		return;
	}
	snprintf(f->app, sizeof(f->app), "%s", app->name);

	/* Credentials: the service-token pair, as the cloudflared client sends it. */
	authn_t an;
	authn_req_t rq = {f->hp, &f->peer_ss, f->peer};
	authn_client(e, &rq, &an);
	memcpy(f->ident, an.ident, sizeof(f->ident));
	if (an.status) {
		refuse(f, an.status, an.reason);
		return;
	}
	policy_subject_t subj = {0};
	subj.addr = (const struct sockaddr *)&f->peer_ss;
	if (an.token) {
		subj.token_id = an.token->id;
		subj.token_name = an.token->name;
	} else {
		/* A person's app token (cf-access-token), from a login. */
		int st = access_app_token(f, app, why, sizeof(why));
		if (st > 1) {
			refuse(f, st, why);
			return;
		}
		if (st == 1) {
			subj.email = f->id->email;
			subj.groups = f->id->groups;
			subj.ngroups = f->id->ngroups;
			subj.login_method = f->id->login_method;
			snprintf(f->ident, sizeof(f->ident), "%.159s", f->id->email);
		}
	}

	policy_decision_t d;
	policy_eval(app, &subj, &d);
	if (!d.allowed) {
		if (!subj.token_id && !subj.email && f->e->auth_host[0])
			refuse(f, 401,
			       "no credentials: log in with burrow access login, or pass a service token "
			       "with --id "
			       "and --secret");
		else if (!subj.token_id && !subj.email)
			refuse(f, 401, "no credentials: pass a service token with --id and --secret");
		else
			refuse(f, 403, d.reason);
		return;
	}
	if (!f->ident[0])
		snprintf(f->ident, sizeof(f->ident), "anonymous (bypass)");
	front_authenticated(f);
	bind_session(f, &subj);

	f->connect_ms = uv_now(e->loop);
	f->started = time(NULL);
	const char *reason = NULL;
	edge_tconn_t *t = tunnels_pick(e, f->host, NULL, &reason, why, sizeof(why));
	if (!t) {
		refuse(f, 502, reason);
		return;
	}
	if (connect_submit(f, tunnels_session(t)) != 0)
		refuse(f, 503, "edge cannot open a stream to the connector right now; retry");
	/* Still reading: a client that goes away meanwhile is seen at once
	 * (f_on_eof, f_on_close); bytes it sends early pause it (f_on_data). */
}

/* ---- request dispatch ---- */

static bool is_ip_literal(const char *h)
{
	unsigned char a[16];
	return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

bool edge_is_admin_host(const edge_t *e, const char *host)
{
	for (int i = 0; i < e->nadmin_hosts; i++)
		if (strcmp(e->admin_hosts[i], host) == 0)
			return true;
	return false;
}

/* ---- the router: host class x path prefix ---- */

/* The edge's IP literals (a client that dials an IP sends no SNI) and
 * --admin-hostname are the admin class; --auth-domain is where people log
 * in; every other host is an application's. */
enum host_class { HC_ADMIN, HC_AUTH, HC_APP };

static void route_admin(front_t *f, const char *path)
{
	handle_admin(f, path);
}

static void route_not_found(front_t *f, const char *path)
{
	refuse(f, 404, "not found");
}

static void route_access(front_t *f, const char *path)
{
	access_route_app(f, path);
}

static void route_auth(front_t *f, const char *path)
{
	access_route_auth(f, path);
}

static void route_app(front_t *f, const char *path)
{
	if (f->hp->upgrade && http1_header_has_token(f->hp, "Upgrade", "websocket"))
		handle_websocket(f);
	else if (model_app_by_host(f->e->model, f->host))
		refuse(f, 426,
		       "this hostname carries TCP through burrow: connect with burrow access ssh or burrow "
		       "access tcp");
	else
		refuse(f, 404, "not found");
}

/* First match wins; a prefix ending in '/' also matches the path without
 * it ("/api/v1"). Methods are the handler's business (the admin API has its
 * own table; a WebSocket upgrade must be a GET). */
static const struct front_route {
	enum host_class hc;
	const char *prefix;
	void (*fn)(front_t *f, const char *path);
} front_routes[] = {
    {HC_ADMIN, "/api/v1/", route_admin},       /* the admin API */
    {HC_ADMIN, "/", route_not_found},	       /* nothing else there yet (a dashboard later) */
    {HC_AUTH, "/cdn-cgi/access/", route_auth}, /* login pages, transfers, keys */
    {HC_AUTH, "/", route_not_found},
    {HC_APP, "/api/v1/", route_not_found},	/* no admin API on an app's hostname, whatever the token */
    {HC_APP, "/cdn-cgi/access/", route_access}, /* login pages (single sign-on) */
    {HC_APP, "/", route_app},			/* the app's sessions */
};

static bool prefix_matches(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 ||
	       (n > 1 && prefix[n - 1] == '/' && strlen(path) == n - 1 && strncmp(path, prefix, n - 1) == 0);
}

static void route(front_t *f, enum host_class hc, const char *path)
{
	for (size_t i = 0; i < sizeof(front_routes) / sizeof(front_routes[0]); i++)
		if (front_routes[i].hc == hc && prefix_matches(path, front_routes[i].prefix)) {
			front_routes[i].fn(f, path);
			return;
		}
	refuse(f, 404, "not found"); /* (a path that is not absolute) */
}

static void handle_request(front_t *f)
{
	char path[1024];
	f->head_only = f->hp->method == HTTP_HEAD;
	char hostbuf[HOSTNAME_MAX + 8];
	if (http1_path(f->hp, path, sizeof(path)) != 0) {
		refuse(f, 414, "request target too long");
		return;
	}
	const http1_header_t *h = http1_header(f->hp, "Host");
	if (!h || h->value_len >= sizeof(hostbuf)) {
		refuse(f, 400, "missing or oversized Host header");
		return;
	}
	memcpy(hostbuf, h->value, h->value_len);
	hostbuf[h->value_len] = '\0';
	/* Strip a port; IPv6 literals are [..]:port. */
	char *hp = hostbuf;
	if (hp[0] == '[') {
		char *end = strchr(hp, ']');
		if (end)
			*end = '\0';
		hp++;
	} else {
		char *colon = strchr(hp, ':');
		if (colon)
			*colon = '\0';
	}
	const char *sni = conn_tls_sni(f->c);
	bool ip = is_ip_literal(hp);
	if (!ip && hostname_normalize(hp, strlen(hp), f->host) != 0) {
		refuse(f, 400, "invalid Host header");
		return;
	}
	char sni_norm[HOSTNAME_MAX + 1];
	/* (a TLS server name is never an IP: with one, an IP Host mismatches) */
	if (sni &&
	    (ip || hostname_normalize(sni, strlen(sni), sni_norm) != 0 || strcmp(sni_norm, f->host) != 0)) {
		refuse(f, 421, "Host header does not match the TLS server name");
		return;
	}
	enum host_class hc = ip || edge_is_admin_host(f->e, f->host)			   ? HC_ADMIN
			     : f->e->auth_host[0] && strcmp(f->host, f->e->auth_host) == 0 ? HC_AUTH
											   : HC_APP;
	route(f, hc, path);
}

/* The connection waits for its next request: what the last one kept is
 * released, and bytes a client pipelined meanwhile are parsed now. */
static void next_request(front_t *f)
{
	request_clear(f);
	http1_reset(f->hp);
	f->head_only = false;
	f->host[0] = f->ident[0] = f->what[0] = '\0';
	f->state = F_READING;
	uv_timer_start(&f->timer, on_timeout, FRONT_HEAD_TIMEOUT_MS, 0);
	conn_resume(f->c);
}

static void f_on_data(conn_t *c, buf_t *in)
{
	front_t *f = c->data;
	if (f->state != F_READING && f->state != F_BODY) {
		/* Bytes after the head (early WebSocket frames, a pipelined
		 * request) wait. */
		conn_pause(c);
		return;
	}
	size_t used = 0;
	int r = http1_feed(f->hp, buf_head(in), buf_used(in), &used);
	buf_consume(in, used);
	if (r == ERR_TOOBIG) {
		if (f->hp->body_too_large)
			refuse(f, 413, "request body too large (at most 1 MiB)");
		else
			refuse(f, 431, "request head too large (at most 16 KiB and 64 headers)");
		return;
	}
	if (r < 0) {
		refuse(f, 400, "malformed HTTP request");
		return;
	}
	if (r == HTTP1_DONE && f->state == F_BODY)
		f->on_body(f);
	else if (r == HTTP1_HEAD || r == HTTP1_DONE)
		handle_request(f);
}

static void f_on_eof(conn_t *c, int status)
{
	front_t *f = c->data;
	if (f->state == F_READING || f->state == F_BODY || f->state == F_CONNECTING || status < 0)
		conn_close(c);
}

static void f_on_close(conn_t *c)
{
	front_t *f = c->data;
	/* The client left, not the connector: no refusal (cs_on_close, which
	 * the reset may call at once, sees F_DONE). */
	if (f->state == F_CONNECTING)
		log_info("session %s -> %s from %s: client went away before the session started", f->ident,
			 f->host, f->peer);
	f->state = F_DONE;
	f->c = NULL;
	if (f->stream) {
		h2_stream_t *s = f->stream;
		f->stream = NULL;
		h2_stream_reset(s, NGHTTP2_CANCEL);
	}
	edge_unauth_release(f->e, EDGE_CLIENT, &f->unauth);
	transfer_cancel(f);
	access_closed(f);
	timer_close(f);
	front_unref(f);
}

static const conn_cbs_t front_cbs = {
    .on_data = f_on_data,
    .on_drain = f_on_drain,
    .on_eof = f_on_eof,
    .on_close = f_on_close,
};

static void on_front_connection(uv_stream_t *server, int status)
{
	edge_t *e = server->data;
	edge_accept_t a;
	if (!edge_unauth_accept(e, EDGE_CLIENT, server, status, e->app_ctx, &a))
		return;
	conn_t *c = a.c;
	front_t *f = fault_hit("front_alloc") ? NULL : slab_alloc(&front_slab);
	http1_parser_t *hp = f && !fault_hit("parser_alloc") ? malloc(sizeof(*hp)) : NULL;
	if (!hp) {
		slab_free(&front_slab, f);
		edge_unauth_release(e, EDGE_CLIENT, &a.unauth);
		conn_close(c);
		return;
	}
	f->hp = hp;
	f->e = e;
	f->c = c;
	f->unauth = a.unauth;
	memcpy(f->peer, a.peer, sizeof(f->peer));
	f->peer_ss = a.peer_ss;
	f->refs = 2; /* the conn's and the timer's */
	http1_init_head_first(f->hp);
	uv_timer_init(e->loop, &f->timer);
	f->timer.data = f;
	uv_timer_start(&f->timer, on_timeout, FRONT_HEAD_TIMEOUT_MS, 0);
	conn_set_owner(c, &front_cbs, f);
}

int front_listen(edge_t *e, const char *addr)
{
	struct sockaddr_storage ss;
	int r = addr_parse_ip(addr, &ss);
	if (r)
		return r;
	if ((r = uv_tcp_init(e->loop, &e->app_listener)) != 0)
		return r;
	e->app_listener.data = e;
	if ((r = uv_tcp_bind(&e->app_listener, (struct sockaddr *)&ss, 0)) != 0)
		return r;
	return uv_listen((uv_stream_t *)&e->app_listener, EDGE_LISTEN_BACKLOG, on_front_connection);
}
