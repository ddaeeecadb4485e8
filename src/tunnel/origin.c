/* origin.c — one CONNECT stream from the edge: dial the origin the ingress
 * rules name for the stream's hostname, answer 200 once it is up (or an
 * error status with a one-line burrow-error), then relay bytes.
 *
 * Must never: put the origin's address in burrow-client-error, which the
 * edge shows to the client (burrow-error, the whole story, goes only to the
 * edge's log). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hostname.h"
#include "core/log.h"
#include "core/relay.h"
#include "tunnel/tunnel.h"

typedef struct origin {
	connector_t *cn;
	h2_stream_t *s;
	conn_t *c;
	const ingress_rule_t *rule;
	uv_getaddrinfo_t gai;
	char host[HOSTNAME_MAX + 1];
	int refs;
	bool stream_gone;
	bool active;
	struct sockaddr_storage ss; /* IP-literal origin, dialled from the check */
	struct origin *dial_next;
} origin_t;

static void origin_unref(origin_t *o)
{
	if (--o->refs == 0)
		free(o);
}

/* why: the whole reason, for the edge's log; cause: what the client may be
 * told, without the origin's address (NULL: why holds none). */
static void refuse(h2_stream_t *s, int status, const char *why, const char *cause)
{
	nghttp2_nv nv[2] = {h2_nv("burrow-error", why), h2_nv("burrow-client-error", cause ? cause : why)};
	h2_respond(s, status, nv, 2, true);
}

/* The origin could not be reached: logged, counted, 502. what says which step
 * failed for the client ("connect to the origin"), err how. */
static void refuse_origin(origin_t *o, const char *why, const char *what, const char *err)
{
	char cause[256];
	snprintf(cause, sizeof(cause), "the connector could not %s: %s", what, err);
	log_warn("%s", why);
	o->cn->m.origin_failures++;
	refuse(o->s, 502, why, cause);
}

static void pend_on_data(h2_stream_t *s, const uint8_t *p, size_t n) { h2_stream_consume(s, n); }

static void pend_on_close(h2_stream_t *s, uint32_t code)
{
	origin_t *o = h2_stream_data(s);
	o->stream_gone = true;
	o->s = NULL;
	if (o->c)
		conn_close(o->c);
	origin_unref(o);
}

static const h2_stream_cbs_t pending_cbs = {.on_data = pend_on_data, .on_close = pend_on_close};

static void relay_done(void *data, const relay_stats_t *st)
{
	origin_t *o = data;
	if (o->active)
		o->cn->m.streams_active--;
	log_debug("session for %s ended: %llu bytes to origin, %llu from origin", o->host,
		  (unsigned long long)st->down, (unsigned long long)st->up);
	origin_unref(o);
}

static void o_on_open(conn_t *c, int status)
{
	origin_t *o = c->data;
	if (o->stream_gone)
		return; /* the conn is closing already */
	if (status < 0) {
		char why[1024];
		snprintf(why, sizeof(why), "origin %s:%s for %s: %s", o->rule->host, o->rule->port, o->host,
			 err_str(status));
		refuse_origin(o, why, "connect to the origin", err_str(status));
		return;
	}
	if (h2_respond(o->s, 200, NULL, 0, false) != 0) {
		h2_stream_reset(o->s, NGHTTP2_INTERNAL_ERROR);
		conn_close(c);
		return;
	}
	o->active = true;
	o->cn->m.streams_total++;
	o->cn->m.streams_active++;
	/* From here the relay owns the conn and the stream; the stream's
	 * reference moves to the relay. */
	o->c = NULL;
	if (relay_start(c, o->s, false, relay_done, o, NULL) != 0) {
		h2_stream_reset(o->s, NGHTTP2_INTERNAL_ERROR);
		conn_close(c);
		return;
	}
	o->refs--; /* the conn's: its callbacks are the relay's now */
}

static void o_on_close(conn_t *c)
{
	origin_t *o = c->data;
	if (o->c == c)
		o->c = NULL;
	origin_unref(o);
}

static const conn_cbs_t origin_cbs = {.on_open = o_on_open, .on_close = o_on_close};

static void origin_dial(origin_t *o, const struct sockaddr *sa);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	origin_t *o = req->data;
	if (o->stream_gone) {
		uv_freeaddrinfo(res);
		origin_unref(o);
		return;
	}
	if (status < 0) {
		char why[1024];
		snprintf(why, sizeof(why), "origin %s for %s: cannot resolve: %s", o->rule->host, o->host,
			 uv_strerror(status));
		uv_freeaddrinfo(res);
		refuse_origin(o, why, "resolve the origin's name", uv_strerror(status));
		origin_unref(o);
		return;
	}
	origin_dial(o, res->ai_addr);
	uv_freeaddrinfo(res);
}

/* Connects to sa and drops the resolver's reference to o. */
static void origin_dial(origin_t *o, const struct sockaddr *sa)
{
	o->c = conn_new(o->cn->loop, &origin_cbs, o);
	int r = ERR_NOMEM;
	if (o->c) {
		o->refs++; /* the conn's */
		r = conn_connect(o->c, sa, NULL, NULL);
		if (r == 0)
			liveness_socket(&o->cn->live, o->c);
	}
	if (r != 0) {
		char why[1024];
		snprintf(why, sizeof(why), "origin %s:%s for %s: %s", o->rule->host, o->rule->port, o->host,
			 err_str(r));
		refuse_origin(o, why, "connect to the origin", err_str(r));
		if (o->c)
			conn_close(o->c);
	}
	origin_unref(o); /* the resolver's */
}

static void on_dial_check(uv_check_t *h)
{
	connector_t *cn = h->data;
	origin_t *q = cn->dial_q;
	cn->dial_q = NULL;
	uv_check_stop(h);
	while (q) {
		origin_t *o = q;
		q = o->dial_next;
		if (o->stream_gone) {
			origin_unref(o); /* the dialler's */
			continue;
		}
		origin_dial(o, (const struct sockaddr *)&o->ss);
	}
}

static void dial_later(connector_t *cn, origin_t *o)
{
	if (!cn->dialer_init) {
		uv_check_init(cn->loop, &cn->dialer);
		cn->dialer.data = cn;
		cn->dialer_init = true;
	}
	o->dial_next = cn->dial_q;
	cn->dial_q = o;
	uv_check_start(&cn->dialer, on_dial_check);
}

void origin_serve(connector_t *cn, h2_stream_t *s)
{
	const char *auth = h2_stream_header(s, ":authority");
	const char *kind = h2_stream_header(s, "burrow-kind");
	char host[HOSTNAME_MAX + 1];
	if (cn->stopping) {
		refuse(s, 503, "connector is shutting down", NULL);
		return;
	}
	if (!auth || hostname_normalize(auth, strlen(auth), host) != 0) {
		refuse(s, 400, "missing or invalid hostname", NULL);
		return;
	}
	if (kind && strcmp(kind, "tcp") != 0) {
		refuse(s, 501, "stream kind not supported by this connector", NULL);
		return;
	}
	const ingress_rule_t *rule = ingress_match(&cn->ingress, host);
	if (!rule) {
		char why[400];
		snprintf(why, sizeof(why), "no ingress rule for %s on this connector", host);
		refuse(s, 404, why, NULL);
		return;
	}
	origin_t *o = calloc(1, sizeof(*o));
	if (!o) {
		refuse(s, 503, "connector out of memory", NULL);
		return;
	}
	o->cn = cn;
	o->s = s;
	o->rule = rule;
	memcpy(o->host, host, sizeof(host));
	o->refs = 2; /* the stream's and the resolver's */
	h2_stream_set_cbs(s, &pending_cbs, o);
	/* An IP literal needs no resolver thread (a shorter time to banner),
	 * but the dial still waits until the input read in this loop turn is
	 * processed: a RST_STREAM right behind the request (rapid reset)
	 * then cancels it before any socket is opened. */
	int port = (int)strtol(rule->port, NULL, 10); /* the ingress parser checked it */
	if (uv_ip4_addr(rule->host, port, (struct sockaddr_in *)&o->ss) == 0 ||
	    uv_ip6_addr(rule->host, port, (struct sockaddr_in6 *)&o->ss) == 0) {
		dial_later(cn, o);
		return;
	}
	struct addrinfo hints = {0};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	o->gai.data = o;
	if (uv_getaddrinfo(cn->loop, &o->gai, on_resolved, rule->host, rule->port, &hints) != 0) {
		refuse(s, 502, "cannot resolve origin", "the connector could not resolve the origin's name");
		o->refs--;
	}
}
