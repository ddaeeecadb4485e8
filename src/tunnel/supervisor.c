/* supervisor.c — the connector's HA connections to the edge.
 *
 * Keeps --ha-connections TLS+HTTP/2 connections, spread over the --edge
 * addresses, registered. A lost connection is redialled with capped
 * exponential backoff and jitter; the process never needs a restart. A
 * registration the edge refuses (wrong credentials, a hostname not routed
 * to the tunnel) is final: retrying cannot fix configuration, so the
 * connector says why and exits. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/log.h"
#include "core/regmsg.h"
#include "core/version.h"
#include "tunnel/tunnel.h"

#define BACKOFF_BASE_MS 200
#define BACKOFF_CAP_MS 1000
#define REBALANCE_MS 3000 /* how often a slot away from its home edge probes it */

static void slot_dial(slot_t *s);

static uint64_t backoff_ms(int attempt)
{
	uint64_t d = BACKOFF_BASE_MS;
	for (int i = 0; i < attempt && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	unsigned int r = 0;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	return d / 2 + r % (d / 2 + 1); /* jitter: [d/2, d] */
}

static void on_retry(uv_timer_t *t)
{
	slot_t *s = t->data;
	if (!s->cn->stopping)
		slot_dial(s);
}

static void slot_schedule(slot_t *s)
{
	if (s->cn->stopping)
		return;
	uint64_t d = backoff_ms(s->attempt);
	s->attempt++;
	uv_timer_start(&s->retry, on_retry, d, 0);
}

static void all_closed_check(connector_t *cn)
{
	if (!cn->stopping || cn->ndraining > 0)
		return;
	for (int i = 0; i < cn->nslots; i++)
		if (cn->slots[i].h2 || cn->slots[i].dialing)
			return;
	uv_stop(cn->loop);
}

/* ---- registration streams (edge -> connector) ---- */

static void reg_body_on_close(h2_stream_t *st, uint32_t code) {}
static const h2_stream_cbs_t reg_body_cbs = {.on_close = reg_body_on_close};

static void answer_register(slot_t *s, h2_stream_t *st)
{
	connector_t *cn = s->cn;
	reg_request_t *q = calloc(1, sizeof(*q));
	char *txt = NULL;
	if (q) {
		snprintf(q->tunnel_id, sizeof(q->tunnel_id), "%s", cn->tunnel_id);
		q->secret_len = strlen(cn->secret);
		if (q->secret_len < sizeof(q->secret))
			memcpy(q->secret, cn->secret, q->secret_len + 1);
		snprintf(q->version, sizeof(q->version), "%s", BURROW_VERSION);
		q->conn_index = s->index;
		for (size_t i = 0; i < cn->ingress.n && q->nhosts < REG_MAX_HOSTS; i++)
			if (cn->ingress.rules[i].hostname[0])
				memcpy(q->hosts[q->nhosts++], cn->ingress.rules[i].hostname, HOSTNAME_MAX + 1);
		txt = reg_request_encode(q);
		reg_request_wipe(q);
		free(q);
	}
	nghttp2_nv ct = h2_nv("content-type", "application/json");
	h2_stream_set_cbs(st, &reg_body_cbs, s);
	if (!txt || h2_respond(st, 200, &ct, 1, false) != 0) {
		h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
	} else {
		h2_stream_write(st, txt, strlen(txt));
		h2_stream_end(st);
	}
	if (txt) {
		OPENSSL_cleanse(txt, strlen(txt));
		free(txt);
	}
}

static void result_on_data(h2_stream_t *st, const uint8_t *p, size_t n)
{
	slot_t *s = h2_stream_data(st);
	if (buf_append(&s->result, p, n) != 0)
		h2_stream_reset(st, NGHTTP2_REFUSED_STREAM);
	h2_stream_consume(st, n);
}

static void result_on_end(h2_stream_t *st)
{
	slot_t *s = h2_stream_data(st);
	connector_t *cn = s->cn;
	reg_result_t res;
	int r = reg_result_parse(buf_head(&s->result), buf_used(&s->result), &res);
	buf_reset(&s->result);
	h2_respond(st, 200, NULL, 0, true);
	if (r == 0 && res.ok) {
		s->registered = true;
		s->attempt = 0;
		log_info("registered connection %d of tunnel %s to edge %s", s->index, cn->tunnel_name, s->edge);
		if (res.warning[0] && !cn->warned_hosts) { /* once per process, not per connection */
			cn->warned_hosts = true;
			fprintf(stderr, "burrow: tunnel: edge %s serves only part of this connector: %s\n",
				s->edge, res.warning);
			log_warn("edge %s serves only part of this connector: %s", s->edge, res.warning);
		}
		return;
	}
	const char *why = r == 0 ? res.error : "malformed registration result";
	fprintf(stderr, "burrow: tunnel: edge %s refused registration: %s\n", s->edge, why);
	log_error("edge %s refused registration: %s", s->edge, why);
	cn->exit_code = 1;
	supervisor_stop(cn);
}

static void result_on_close(h2_stream_t *st, uint32_t code) {}

static const h2_stream_cbs_t result_cbs = {
	.on_data = result_on_data,
	.on_end = result_on_end,
	.on_close = result_on_close,
};

static void s_on_request(h2_session_t *h, h2_stream_t *st)
{
	slot_t *s = h2_session_data(h);
	const char *method = h2_stream_header(st, ":method");
	const char *path = h2_stream_header(st, ":path");
	if (method && strcmp(method, "CONNECT") == 0) {
		if (!s->registered) {
			h2_respond(st, 503, NULL, 0, true);
			return;
		}
		origin_serve(s->cn, st);
		return;
	}
	if (path && strcmp(path, "/burrow/v1/register") == 0) {
		answer_register(s, st);
		return;
	}
	if (path && strcmp(path, "/burrow/v1/registered") == 0) {
		h2_stream_set_cbs(st, &result_cbs, s);
		return;
	}
	nghttp2_nv e = h2_nv("burrow-error", "unknown request");
	h2_respond(st, 404, &e, 1, true);
}

static void s_on_open(h2_session_t *h, int status)
{
	slot_t *s = h2_session_data(h);
	s->dialing = false;
	if (status == ERR_TLS) {
		enum conn_tls_fail kind;
		const char *why = conn_tls_failure(h2_session_conn(h), &kind);
		/* What failed, and what to look at, by kind. */
		static const struct {
			const char *what, *hint;
		} say[] = {
		    [CONN_TLS_FAIL_HANDSHAKE] = {"", ""},
		    [CONN_TLS_FAIL_TRUST] = {"certificate not trusted: ",
					     " (is BURROW_CA the edge's ca.pem?)"},
		    [CONN_TLS_FAIL_NAME] = {"certificate for another host: ",
					    " (does --edge name the edge by a name its certificate holds?)"},
		    [CONN_TLS_FAIL_TIME] = {"certificate refused: ",
					    " (check the clocks of this machine and the edge)"},
		    [CONN_TLS_FAIL_CERT] = {"certificate not trusted: ",
					    " (is BURROW_CA the edge's ca.pem?)"},
		};
		log_warn("connection %d to edge %s failed: TLS handshake: %s%s%s", s->index, s->edge,
			 say[kind].what, why ? why : "the edge closed the connection", say[kind].hint);
	} else if (status < 0) {
		log_warn("connection %d to edge %s failed: %s", s->index, s->edge, err_str(status));
	}
}

static void s_on_close(h2_session_t *h, int err)
{
	slot_t *s = h2_session_data(h);
	connector_t *cn = s->cn;
	bool was = s->registered;
	s->h2 = NULL;
	s->registered = false;
	s->dialing = false;
	buf_reset(&s->result);
	if (s->dead) {
		/* said by s_on_dead; the edge was not refusing: no backoff */
		s->dead = false;
		s->attempt = 0;
		cn->m.reconnects++;
		if (!cn->stopping)
			slot_dial(s);
		else
			all_closed_check(cn);
		return;
	}
	if (was && !cn->stopping && s->going_home) {
		log_info("connection %d drained; moving back to edge %s", s->index, cn->edges[s->index % cn->nedges]);
	} else if (was && !cn->stopping) {
		log_warn("connection %d to edge %s lost (%s); reconnecting", s->index, s->edge,
			 err ? err_str(err) : "closed by the edge");
		cn->m.reconnects++;
	}
	if (cn->stopping) {
		all_closed_check(cn);
		return;
	}
	if (s->going_home) {
		s->going_home = false;
		s->attempt = 0; /* attempt 0 dials the home edge */
		slot_dial(s);
		return;
	}
	slot_schedule(s);
}

/* Heartbeats went unanswered: the path to the edge lost this connection
 * without a word (a NAT or firewall that forgot the flow). A new connection
 * most likely passes: s_on_close redials at once. */
static void s_on_dead(h2_session_t *h, uint64_t silent_ms)
{
	slot_t *s = h2_session_data(h);
	connector_t *cn = s->cn;
	s->dead = true;
	cn->m.dead++;
	log_warn("connection %d to edge %s is dead: nothing heard for %.1f s (%u heartbeats unanswered); "
		 "redialling",
		 s->index, s->edge, (double)silent_ms / 1000, cn->live.hb_count);
}

/* ---- an edge going away: its GOAWAY says it is draining (SIGTERM). The
 * connection's open sessions finish on it, detached from the slot, while the
 * slot dials a replacement at once, to the next edge: capacity moves before
 * the old edge is gone. */

static void d_on_request(h2_session_t *h, h2_stream_t *st)
{
	nghttp2_nv e = h2_nv("burrow-error", "connection draining");
	h2_respond(st, 503, &e, 1, true);
}

static void d_on_close(h2_session_t *h, int err)
{
	connector_t *cn = h2_session_data(h);
	cn->ndraining--;
	all_closed_check(cn);
}

static const h2_session_cbs_t draining_session_cbs = {
    .on_request = d_on_request,
    .on_close = d_on_close,
};

static void s_on_goaway(h2_session_t *h)
{
	slot_t *s = h2_session_data(h);
	connector_t *cn = s->cn;
	if (cn->stopping || !s->registered)
		return; /* our own drain, or a refusal on the way (s_on_close handles it) */
	s->attempt++;	/* this edge is going away: the next one */
	const char *next = cn->edges[(s->index + s->attempt) % cn->nedges];
	log_info(
	    "connection %d: edge %s is shutting down; %zu open session(s) finish there; reconnecting to %s",
	    s->index, s->edge, h2_session_streams(h), next);
	cn->ndraining++;
	h2_session_set_owner(h, &draining_session_cbs, cn);
	s->h2 = NULL;
	s->registered = false;
	s->going_home = false;
	buf_reset(&s->result);
	slot_dial(s);
}

static const h2_session_cbs_t slot_session_cbs = {
    .on_request = s_on_request,
    .on_open = s_on_open,
    .on_close = s_on_close,
    .on_goaway = s_on_goaway,
    .on_dead = s_on_dead,
};

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	slot_t *s = req->data;
	connector_t *cn = s->cn;
	if (status < 0 || cn->stopping) {
		if (status < 0)
			log_warn("connection %d: cannot resolve edge %s: %s", s->index, s->edge, uv_strerror(status));
		uv_freeaddrinfo(res);
		s->dialing = false;
		if (cn->stopping)
			all_closed_check(cn);
		else
			slot_schedule(s);
		return;
	}
	static const conn_cbs_t none = {0}; /* the session takes it over */
	conn_t *c = conn_new(cn->loop, &none, NULL);
	int r = ERR_NOMEM;
	if (c) {
		s->h2 = h2_session_new(c, true, &slot_session_cbs, s);
		if (s->h2) {
			liveness_session(&cn->live, s->h2);
			r = conn_connect(c, res->ai_addr, cn->ctx, s->edge_host);
		}
		if (r == 0)
			liveness_tunnel_socket(&cn->live, c);
	}
	uv_freeaddrinfo(res);
	if (r != 0) {
		log_warn("connection %d: cannot dial edge %s: %s", s->index, s->edge, err_str(r));
		if (c)
			conn_close(c); /* the session's on_close reschedules */
		else {
			s->dialing = false;
			slot_schedule(s);
		}
	}
}

static void slot_dial(slot_t *s)
{
	connector_t *cn = s->cn;
	char port[8];
	/* Slot i's home edge is edges[i % n]; each failed attempt moves on to
	 * the next edge, so one edge down leaves the others every slot. */
	s->edge_idx = (s->index + s->attempt) % cn->nedges;
	s->edge = cn->edges[s->edge_idx];
	if (addr_split(s->edge, "7844", s->edge_host, sizeof(s->edge_host), port, sizeof(port)) != 0) {
		log_error("invalid edge address %s", s->edge);
		slot_schedule(s);
		return;
	}
	struct addrinfo hints = {0};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	s->dialing = true;
	s->gai.data = s;
	int r = uv_getaddrinfo(cn->loop, &s->gai, on_resolved, s->edge_host, port, &hints);
	if (r) {
		s->dialing = false;
		slot_schedule(s);
	}
}

/* ---- going home: with several edges, a slot that failed over to another
 * edge returns to its own once that edge accepts TCP connections again, so a
 * restarted edge gets its share of connections back. The slot drains (new
 * streams go to the other slots; open sessions finish) and then redials. */

typedef struct probe {
	uv_tcp_t tcp;
	uv_connect_t req;
	uv_getaddrinfo_t gai;
	slot_t *slot;
	bool ok;
} probe_t;

static void probe_closed(uv_handle_t *h)
{
	probe_t *p = h->data;
	slot_t *s = p->slot;
	s->probing = false;
	if (p->ok && s->h2 && s->registered && !s->cn->stopping && s->edge_idx != s->index % s->cn->nedges) {
		log_info("connection %d: edge %s is back; draining the connection to %s", s->index,
			 s->cn->edges[s->index % s->cn->nedges], s->edge);
		s->going_home = true;
		h2_session_drain(s->h2);
	}
	free(p);
}

static void probe_connected(uv_connect_t *req, int status)
{
	probe_t *p = req->data;
	p->ok = status == 0;
	uv_close((uv_handle_t *)&p->tcp, probe_closed);
}

static void probe_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	probe_t *p = req->data;
	slot_t *s = p->slot;
	if (status == 0 && uv_tcp_init(s->cn->loop, &p->tcp) == 0) {
		p->tcp.data = p;
		p->req.data = p;
		if (uv_tcp_connect(&p->req, &p->tcp, res->ai_addr, probe_connected) != 0)
			uv_close((uv_handle_t *)&p->tcp, probe_closed);
	} else {
		s->probing = false;
		free(p);
	}
	uv_freeaddrinfo(res);
}

static void on_rebalance(uv_timer_t *t)
{
	connector_t *cn = t->data;
	if (cn->stopping || cn->nedges < 2)
		return;
	for (int i = 0; i < cn->nslots; i++) {
		slot_t *s = &cn->slots[i];
		if (!s->registered || s->probing || s->going_home || s->edge_idx == i % cn->nedges)
			continue;
		char host[256], port[8];
		if (addr_split(cn->edges[i % cn->nedges], "7844", host, sizeof(host), port, sizeof(port)) != 0)
			continue;
		probe_t *p = calloc(1, sizeof(*p));
		if (!p)
			return;
		p->slot = s;
		p->gai.data = p;
		struct addrinfo hints = {0};
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		s->probing = true;
		if (uv_getaddrinfo(cn->loop, &p->gai, probe_resolved, host, port, &hints) != 0) {
			s->probing = false;
			free(p);
		}
	}
}

int supervisor_start(connector_t *cn)
{
	uv_timer_init(cn->loop, &cn->rebalance);
	cn->rebalance.data = cn;
	uv_timer_start(&cn->rebalance, on_rebalance, REBALANCE_MS, REBALANCE_MS);
	uv_unref((uv_handle_t *)&cn->rebalance);
	for (int i = 0; i < cn->nslots; i++) {
		slot_t *s = &cn->slots[i];
		s->cn = cn;
		s->index = i;
		buf_init(&s->result, REG_MAX_BODY);
		uv_timer_init(cn->loop, &s->retry);
		s->retry.data = s;
		slot_dial(s);
	}
	return 0;
}

/* Stops taking new streams; open sessions may finish (the caller bounds
 * that with the grace period). */
void supervisor_stop(connector_t *cn)
{
	if (cn->stopping)
		return;
	cn->stopping = true;
	for (int i = 0; i < cn->nslots; i++) {
		slot_t *s = &cn->slots[i];
		uv_timer_stop(&s->retry);
		if (s->h2)
			h2_session_drain(s->h2);
	}
	all_closed_check(cn);
}
