/* carrier.c — client side of one session: local stream <-> WebSocket.
 *
 * Must never: print or log a credential, write bytes to the local stream
 * before the edge answered 101, or buffer past the conns' caps. */
#include "access/carrier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/http1.h"
#include "core/log.h"
#include "core/tls.h"
#include "core/version.h"
#include "core/ws.h"

#define RESP_BODY_MAX 4096

/* C_RETRY: a 401 to an app token; the edge conn is closing, and once it
 * is gone the session logs in again and redials (once). */
enum { C_RESOLVING, C_HANDSHAKE, C_OPEN, C_DONE, C_RETRY };

typedef struct carrier {
	const access_cfg_t *cfg;
	conn_t *local;
	conn_t *edge;
	uv_getaddrinfo_t gai;
	http1_parser_t hp;
	ws_decoder_t dec;
	char key[25];
	char edge_host[256];
	char edge_port[8];
	struct sockaddr_storage addr; /* the edge's, kept for a retry */
	unsigned token_gen;	      /* cfg->app_token_gen when the upgrade went out */
	bool sent_app_token;
	bool retried;
	int state;
	int status; /* result for done */
	bool local_in_end;  /* local finished sending: our Close is out */
	bool remote_in_end; /* edge finished sending */
	bool local_gone;
	bool edge_gone;
	bool reported;
	carrier_done_cb done;
	void *data;
} carrier_t;

static void carrier_maybe_free(carrier_t *k)
{
	if (!k->local_gone || !k->edge_gone || k->state == C_RESOLVING)
		return;
	http1_free(&k->hp);
	if (k->done)
		k->done(k->status, k->data);
	free(k);
}

/* One line on stderr, once per session. */
static void fail(carrier_t *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(carrier_t *k, const char *fmt, ...)
{
	if (!k->reported) {
		char msg[1024];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fprintf(stderr, "burrow: %s: %s\n", k->cfg->hostname, msg);
		k->reported = true;
	}
	k->status = 1;
	k->state = C_DONE;
	if (k->edge && !k->edge_gone)
		conn_close(k->edge);
	if (k->local && !k->local_gone)
		conn_close(k->local);
}

static int ws_send(carrier_t *k, enum ws_opcode op, const uint8_t *p, size_t n)
{
	uint8_t mask[4], hdr[14];
	ws_mask_key(mask);
	size_t hl = ws_frame_header(hdr, op, true, n, mask);
	uint8_t *w = conn_write_reserve(k->edge, hl + n);
	if (!w)
		return ERR_TOOBIG;
	memcpy(w, hdr, hl);
	if (n)
		ws_mask_copy(w + hl, p, n, mask, 0);
	conn_write_commit(k->edge, hl + n);
	return 0;
}

/* A binary frame of local bytes p[0..n), masked where they lie (they are
 * ours: the local conn's input, consumed once sent) and sealed together with
 * the frame header: no copy on the way to the edge. Nothing is masked
 * unless the frame can be written whole. */
static int ws_send_local(carrier_t *k, uint8_t *p, size_t n)
{
	uint8_t mask[4], hdr[14];
	ws_mask_key(mask);
	size_t hl = ws_frame_header(hdr, WS_OP_BINARY, true, n, mask);
	if (!conn_can_write(k->edge, hl + n))
		return ERR_TOOBIG;
	ws_mask(p, n, mask, 0);
	return conn_write_frame(k->edge, hdr, hl, p, n);
}

static void check_finished(carrier_t *k)
{
	if (k->local_in_end && k->remote_in_end && k->state == C_OPEN) {
		k->state = C_DONE;
		conn_finish(k->edge);
		conn_finish(k->local);
	}
}

/* ---- local side ---- */

static void l_on_data(conn_t *c, buf_t *in)
{
	carrier_t *k = c->data;
	if (k->state != C_OPEN) {
		conn_pause(c); /* hold bytes until the edge said 101 */
		return;
	}
	if (k->local_in_end) {
		buf_consume(in, buf_used(in));
		return;
	}
	while (buf_used(in) > 0) {
		size_t n = buf_used(in);
		if (n > CONN_READ_CHUNK)
			n = CONN_READ_CHUNK;
		if (ws_send_local(k, buf_head(in), n) != 0)
			break;
		buf_consume(in, n);
	}
	if (conn_full(k->edge) || buf_used(in) > 0)
		conn_pause(c);
}

static void l_on_eof(conn_t *c, int status)
{
	carrier_t *k = c->data;
	if (status < 0 || k->state != C_OPEN) {
		if (k->state != C_OPEN) {
			/* The local side went away before the session opened. */
			k->state = C_DONE;
			if (k->edge && !k->edge_gone)
				conn_close(k->edge);
		}
		conn_close(c);
		return;
	}
	if (!k->local_in_end) {
		k->local_in_end = true;
		uint8_t code[2] = {0x03, 0xe8}; /* 1000: normal */
		ws_send(k, WS_OP_CLOSE, code, 2);
	}
	check_finished(k);
}

static void l_on_drain(conn_t *c)
{
	carrier_t *k = c->data;
	if (k->edge && !k->edge_gone)
		conn_resume(k->edge);
}

static void l_on_close(conn_t *c)
{
	carrier_t *k = c->data;
	k->local_gone = true;
	if (k->edge && !k->edge_gone)
		conn_finish(k->edge);
	carrier_maybe_free(k);
}

static const conn_cbs_t local_cbs = {
	.on_data = l_on_data,
	.on_eof = l_on_eof,
	.on_drain = l_on_drain,
	.on_close = l_on_close,
};

/* ---- edge side ---- */

static void remote_ended(carrier_t *k)
{
	if (k->remote_in_end)
		return;
	k->remote_in_end = true;
	if (!k->local_gone)
		conn_shutdown(k->local);
	if (!k->local_in_end) {
		/* The origin ended: like a TCP peer closing, the session is over
		 * for ssh; finish once our output is flushed. */
		k->local_in_end = true;
		uint8_t code[2] = {0x03, 0xe8};
		ws_send(k, WS_OP_CLOSE, code, 2);
	}
	check_finished(k);
}

/* The edge ended a session it no longer allows (Close 1008) or whose tunnel
 * connection died (Close 1011): one line that says why, and a failed exit,
 * as for a refusal. The reason is the edge's text; control bytes are not
 * passed to the terminal. */
static void ended_by_edge(carrier_t *k, const uint8_t *reason, size_t n)
{
	char why[WS_CLOSE_REASON_MAX + 1];
	size_t i;
	for (i = 0; i < n && i < WS_CLOSE_REASON_MAX; i++) {
		char ch = (char)reason[i];
		if (reason[i] < 0x20 || reason[i] == 0x7f)
			ch = '?';
		why[i] = ch;
	}
	why[i] = '\0';
	if (!k->reported)
		fprintf(stderr, "burrow: %s: session ended by the edge: %s\n", k->cfg->hostname,
			i ? why : "no longer allowed");
	k->reported = true;
	k->status = 1;
}

static void open_session(carrier_t *k)
{
	const http1_header_t *acc = http1_header(&k->hp, "Sec-WebSocket-Accept");
	char want[29];
	ws_accept_key(k->key, strlen(k->key), want);
	if (!acc || acc->value_len != 28 || memcmp(acc->value, want, 28) != 0) {
		fail(k, "edge answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept");
		return;
	}
	k->state = C_OPEN;
	log_debug("session open");
	conn_resume(k->local);
}

static void handle_refusal(carrier_t *k)
{
	int st = k->hp.status;
	char line[512] = "";
	size_t n = buf_used(&k->hp.body);
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, buf_head(&k->hp.body), n);
	line[n] = '\0';
	char *nl = strpbrk(line, "\r\n");
	if (nl)
		*nl = '\0';
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	if (st == 401 && k->sent_app_token && k->cfg->relogin && !k->retried) {
		/* The token expired or was revoked: a new login, then once more. */
		log_debug("edge refused the app token (401): logging in again");
		k->state = C_RETRY;
		conn_close(k->edge);
		return;
	}
	if (st == 302 || st == 303)
		fail(k, "edge asked for a browser login (%d): use a service token with --id and --secret", st);
	else
		fail(k, "edge refused the session (%d %s): %s", st, http1_reason(st),
		     line[0] ? line : "no reason given");
}

static void e_on_data(conn_t *c, buf_t *in)
{
	carrier_t *k = c->data;
	if (k->state == C_HANDSHAKE) {
		size_t used = 0;
		int r = http1_feed(&k->hp, buf_head(in), buf_used(in), &used);
		buf_consume(in, used);
		if (r < 0) {
			fail(k, "edge sent a malformed HTTP response");
			return;
		}
		if (r == HTTP1_MORE)
			return;
		if (k->hp.status == 101) {
			open_session(k);
			if (k->state != C_OPEN)
				return;
		} else {
			handle_refusal(k);
			return;
		}
	}
	if (k->state != C_OPEN) {
		buf_consume(in, buf_used(in));
		return;
	}
	size_t off = 0, n = buf_used(in);
	while (off < n && !k->remote_in_end) {
		if (!k->local_gone && conn_full(k->local)) {
			conn_pause(c); /* local is slow: wait for its drain */
			break;
		}
		size_t used = 0;
		ws_event_t ev;
		int r = ws_decode(&k->dec, buf_head(in) + off, n - off, &used, &ev);
		off += used;
		if (r < 0) {
			buf_consume(in, off);
			fail(k, "edge sent a malformed WebSocket frame");
			return;
		}
		if (r == 0)
			break;
		if (ev.type == WS_EV_DATA && ev.len && !k->local_gone)
			conn_write_borrow(k->local, ev.data, ev.len);
		else if (ev.type == WS_EV_PING)
			ws_send(k, WS_OP_PONG, ev.data, ev.len);
		else if (ev.type == WS_EV_CLOSE) {
			if (ev.close_code == WS_CLOSE_POLICY || ev.close_code == WS_CLOSE_UNAVAILABLE)
				ended_by_edge(k, ev.data, ev.len);
			remote_ended(k);
		}
	}
	buf_consume(in, off);
	if (k->remote_in_end)
		buf_consume(in, buf_used(in));
}

static void tls_failed(carrier_t *k, conn_t *c)
{
	enum conn_tls_fail kind;
	const char *why = conn_tls_failure(c, &kind);
	const char *conf = getenv("OPENSSL_CONF");
	const char *host = k->cfg->hostname;
	switch (kind) {
	case CONN_TLS_FAIL_NAME:
		fail(k,
		     "TLS handshake with edge %s:%s failed: its certificate is not valid for %s (%s): "
		     "check that BURROW_EDGE names the burrow edge that serves %s",
		     k->edge_host, k->edge_port, host, why, host);
		break;
	case CONN_TLS_FAIL_TIME:
		fail(k,
		     "TLS handshake with edge %s:%s failed: its certificate for %s is refused (%s): "
		     "check this machine's clock and the edge's",
		     k->edge_host, k->edge_port, host, why);
		break;
	case CONN_TLS_FAIL_TRUST:
	case CONN_TLS_FAIL_CERT:
		fail(k,
		     "TLS handshake with edge %s:%s failed: its certificate for %s is not trusted (%s): set "
		     "BURROW_CA to the edge's ca.pem",
		     k->edge_host, k->edge_port, host, why);
		break;
	case CONN_TLS_FAIL_HANDSHAKE:
		fail(k,
		     "TLS handshake with edge %s:%s failed: %s: check that BURROW_EDGE names the edge's "
		     "listener%s",
		     k->edge_host, k->edge_port, why ? why : "the edge closed the connection",
		     conf && *conf ? " and what OPENSSL_CONF allows" : "");
		break;
	}
}

static void e_on_open(conn_t *c, int status)
{
	carrier_t *k = c->data;
	if (status < 0) {
		const char *trust = status == ERR_TLS ? tls_client_trust_error(k->cfg->ctx) : NULL;
		if (trust)
			fail(k,
			     "%s (BURROW_CA must name a PEM file of CA certificates, e.g. the edge's ca.pem)",
			     trust);
		else if (status == ERR_TLS)
			tls_failed(k, c);
		else if (status == UV_ECONNRESET)
			fail(k,
			     "edge %s:%s closed the connection before the TLS handshake finished (an edge refuses "
			     "addresses holding more than --max-unauth-per-addr unfinished connections): retry "
			     "shortly, and check BURROW_EDGE=HOST:PORT",
			     k->edge_host, k->edge_port);
		else
			fail(k, "cannot reach edge %s:%s: %s (set BURROW_EDGE=HOST:PORT if the edge is elsewhere)",
			     k->edge_host, k->edge_port, err_str(status));
		return;
	}
	buf_t b;
	buf_init(&b, 16384);
	buf_printf(&b,
		   "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: burrow/%s\r\nUpgrade: websocket\r\n"
		   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
		   k->cfg->hostname, BURROW_VERSION, k->key);
	if (k->cfg->token_id && k->cfg->token_secret)
		buf_printf(&b, "Cf-Access-Client-Id: %s\r\nCf-Access-Client-Secret: %s\r\n", k->cfg->token_id,
			   k->cfg->token_secret);
	if (k->cfg->app_token) {
		buf_printf(&b, "cf-access-token: %s\r\n", k->cfg->app_token);
		k->sent_app_token = true;
		k->token_gen = k->cfg->app_token_gen;
	}
	if (k->cfg->destination)
		buf_printf(&b, "Cf-Access-Jump-Destination: %s\r\n", k->cfg->destination);
	buf_append_str(&b, "\r\n");
	conn_write(c, buf_head(&b), buf_used(&b));
	buf_free_secret(&b);
}

static void e_on_eof(conn_t *c, int status)
{
	carrier_t *k = c->data;
	if (k->state == C_HANDSHAKE) {
		if (status == 0 && http1_feed_eof(&k->hp) == HTTP1_DONE && k->hp.status >= 300) {
			handle_refusal(k);
			return;
		}
		fail(k, "edge closed the connection before answering%s",
		     status == ERR_TLS ? " (a bad TLS record)" : "");
		return;
	}
	if (status < 0 && k->state == C_OPEN && !k->remote_in_end) {
		fail(k, "connection to edge lost: %s", err_str(status));
		return;
	}
	/* A TCP close without a Close frame ends the session normally. */
	remote_ended(k);
	if (!k->edge_gone)
		conn_close(c);
}

static void e_on_drain(conn_t *c)
{
	carrier_t *k = c->data;
	if (!k->local_gone && k->state == C_OPEN)
		conn_resume(k->local);
}

static void redial(carrier_t *k);

static void e_on_close(conn_t *c)
{
	carrier_t *k = c->data;
	k->edge_gone = true;
	if (k->state == C_RETRY && !k->local_gone) {
		redial(k);
		return;
	}
	if (!k->local_gone) {
		if (k->state == C_OPEN || k->state == C_DONE)
			conn_finish(k->local);
		else
			conn_close(k->local);
	}
	carrier_maybe_free(k);
}

static const conn_cbs_t edge_cbs = {
	.on_open = e_on_open,
	.on_data = e_on_data,
	.on_eof = e_on_eof,
	.on_drain = e_on_drain,
	.on_close = e_on_close,
};

static void dial(carrier_t *k, const struct sockaddr *sa)
{
	if ((const void *)sa != (const void *)&k->addr)
		memcpy(&k->addr, sa,
		       sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	k->edge = conn_new(k->cfg->loop, &edge_cbs, k);
	int r = k->edge ? conn_connect(k->edge, sa, k->cfg->ctx, k->cfg->hostname) : ERR_NOMEM;
	if (r != 0) {
		fail(k, "cannot dial edge %s:%s: %s", k->edge_host, k->edge_port, err_str(r));
		if (!k->edge) {
			k->edge_gone = true;
			carrier_maybe_free(k);
		}
	}
}

/* After a 401 to the app token: a new token unless another session got one
 * meanwhile (blocking: the login waits for the person), then the same edge
 * address again with a fresh handshake. */
static void redial(carrier_t *k)
{
	const access_cfg_t *cfg = k->cfg;
	k->retried = true;
	k->edge = NULL;
	if (cfg->app_token_gen == k->token_gen && cfg->relogin(cfg->relogin_arg) != 0) {
		k->reported = true; /* the login said why */
		fail(k, "login failed");
		return;
	}
	http1_free(&k->hp);
	http1_init(&k->hp, false, RESP_BODY_MAX);
	ws_decoder_init(&k->dec, false);
	ws_make_key(k->key);
	k->sent_app_token = false;
	k->edge_gone = false;
	k->state = C_HANDSHAKE;
	dial(k, (struct sockaddr *)&k->addr);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	carrier_t *k = req->data;
	k->state = C_HANDSHAKE;
	if (status < 0) {
		uv_freeaddrinfo(res);
		k->edge_gone = true;
		fail(k, "cannot resolve edge %s: %s (set BURROW_EDGE=HOST:PORT)", k->edge_host, uv_strerror(status));
		carrier_maybe_free(k);
		return;
	}
	if (k->local_gone) {
		uv_freeaddrinfo(res);
		k->edge_gone = true;
		carrier_maybe_free(k);
		return;
	}
	dial(k, res->ai_addr);
	uv_freeaddrinfo(res);
}

int carrier_start(const access_cfg_t *cfg, conn_t *local, carrier_done_cb done, void *data)
{
	carrier_t *k = calloc(1, sizeof(*k));
	if (!k)
		return ERR_NOMEM;
	k->cfg = cfg;
	k->local = local;
	k->done = done;
	k->data = data;
	k->state = C_RESOLVING;
	http1_init(&k->hp, false, RESP_BODY_MAX);
	ws_decoder_init(&k->dec, false);
	ws_make_key(k->key);
	conn_set_owner(local, &local_cbs, k);
	conn_pause(local);
	const char *edge = cfg->edge;
	char def[HOSTNAME_MAX + 8];
	if (!edge) {
		snprintf(def, sizeof(def), "%s:443", cfg->hostname);
		edge = def;
	}
	if (addr_split(edge, "443", k->edge_host, sizeof(k->edge_host), k->edge_port, sizeof(k->edge_port)) != 0) {
		fprintf(stderr, "burrow: %s: invalid edge address %s: expected HOST:PORT\n", cfg->hostname, edge);
		http1_free(&k->hp);
		free(k);
		return ERR_INVAL;
	}
	/* An IP literal needs no resolver: skipping it keeps libuv's thread
	 * pool from starting, which is time to the sshd banner. */
	struct sockaddr_storage ss;
	int port = (int)strtol(k->edge_port, NULL, 10); /* addr_split checked it */
	if (uv_ip4_addr(k->edge_host, port, (struct sockaddr_in *)&ss) == 0 ||
	    uv_ip6_addr(k->edge_host, port, (struct sockaddr_in6 *)&ss) == 0) {
		k->state = C_HANDSHAKE;
		dial(k, (struct sockaddr *)&ss);
		return 0;
	}
	struct addrinfo hints = {0};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	k->gai.data = k;
	int r = uv_getaddrinfo(cfg->loop, &k->gai, on_resolved, k->edge_host, k->edge_port, &hints);
	if (r != 0) {
		http1_free(&k->hp);
		free(k);
		return r;
	}
	return 0;
}
