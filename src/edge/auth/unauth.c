/* unauth.c — the listeners' cap on unauthenticated connections per source
 * address (--max-unauth-per-addr; the counting itself is core/addrcap.c).
 *
 * A connection counts from accept until it authenticates (client: the
 * WebSocket upgrade's credentials pass the policy, or the admin token is
 * right; connector: registration succeeds) or closes. An address at the
 * cap has each new connection reset at once, before any byte of TLS is
 * read or written.
 *
 * Must never: release a count twice or not at all (an address would be
 * locked out for good), or log more than one line per 10 s however hard a
 * peer knocks. */
#include <openssl/rand.h>
#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/edge.h"

#define UNAUTH_WARN_MS 10000

static const char *const listener_name[EDGE_LISTENERS] = {"client", "tunnel"};

int edge_unauth_init(edge_t *e, uint32_t limit)
{
	for (int l = 0; l < EDGE_LISTENERS; l++) {
		uint64_t seed = 0;
		/* Unpredictable buckets; a failure only makes them guessable. */
		(void)RAND_bytes((unsigned char *)&seed, sizeof(seed));
		int r = addrcap_new(limit, seed, &e->unauth[l]);
		if (r)
			return r;
	}
	return 0;
}

void edge_unauth_free(edge_t *e)
{
	for (int l = 0; l < EDGE_LISTENERS; l++) {
		addrcap_free(e->unauth[l]);
		e->unauth[l] = NULL;
	}
}

/* RST rather than FIN: the client learns at once ("connection reset by
 * peer"), and the edge keeps no TIME_WAIT state for each refusal. */
static void reset_close(conn_t *c)
{
	uv_os_fd_t fd;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	if (uv_fileno((const uv_handle_t *)c->in, &fd) == 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c);
}

static void warn_refused(edge_t *e, enum edge_listener l, const struct sockaddr_storage *peer, int r)
{
	uint64_t now = uv_now(e->loop);
	e->unauth_unlogged++;
	if (e->unauth_warned_ms && now - e->unauth_warned_ms < UNAUTH_WARN_MS)
		return;
	char who[64], more[64] = "";
	addrcap_format((const struct sockaddr *)peer, who, sizeof(who));
	if (e->unauth_unlogged > 1)
		snprintf(more, sizeof(more), " (%llu refused since the last such warning)",
			 (unsigned long long)e->unauth_unlogged);
	e->unauth_warned_ms = now;
	e->unauth_unlogged = 0;
	if (r == ERR_TOOBIG)
		log_warn("too many unauthenticated %s connections from %s (limit %u, --max-unauth-per-addr): "
			 "refusing new ones until some authenticate or close%s; raise the limit if many "
			 "legitimate clients share this address",
			 listener_name[l], who, addrcap_limit(e->unauth[l]), more);
	else
		log_warn("cannot count a new %s connection from %s: %s; closing it%s", listener_name[l], who,
			 err_str(r), more);
}

bool edge_unauth_accept(edge_t *e, enum edge_listener l, uv_stream_t *server, int status, SSL_CTX *ctx,
			edge_accept_t *a)
{
	static const conn_cbs_t none = {0};
	memset(a, 0, sizeof(*a));
	if (status < 0) {
		edge_accept_failed(e, listener_name[l], status);
		return false;
	}
	/* Accepted before anything else is set up, so that a connection
	 * from an address at its cap costs no more than the accept. */
	conn_t *c = conn_new(e->loop, &none, NULL);
	if (!c)
		return false;
	if (conn_accept(c, server, ctx) != 0) {
		conn_close(c);
		return false;
	}
	conn_peer_ip(c, a->peer, sizeof(a->peer), &a->peer_ss);
	edge_accepted(e, listener_name[l], c->in);
	int r = addrcap_take(e->unauth[l], (const struct sockaddr *)&a->peer_ss, &a->unauth);
	if (r != 0) {
		if (r == ERR_TOOBIG)
			e->m.unauth_refused[l]++;
		warn_refused(e, l, &a->peer_ss, r);
		reset_close(c);
		return false;
	}
	a->c = c;
	return true;
}

void edge_unauth_release(edge_t *e, enum edge_listener l, addrcap_entry_t **ent)
{
	addrcap_release(e->unauth[l], ent);
}
