/* store_sqlite_creds.c — the SQLite engine's operations on the objects that
 * carry credentials: service tokens, tunnels and their routes. Only secret
 * hashes reach the database. Writes follow store_sqlite_apps.c: checks and
 * writes in one IMMEDIATE transaction, the new record read back inside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "edge/store/store_sqlite_int.h"

#define SQL_TUNNEL_ID "SELECT id FROM tunnels WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1"

/* Inserts a credential row: ?1 id, ?2 name, ?3 hash, ?4 created, ?5 extra
 * (when has_extra). Returns 0, ERR_EXISTS (name taken) or ERR_STORE. */
static int cred_insert(sq_t *s, const char *sql, const char *id, const char *name, const uint8_t hash[32],
		       bool has_extra, int64_t extra)
{
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(s, sql, &q);
	if (r != 0)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)time(NULL));
	if (has_extra)
		sqlite3_bind_int64(q, 5, extra);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		r = ERR_EXISTS;
	else if (rc != SQLITE_DONE)
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	return r;
}

/* Copies the single record a reader found into out and frees the list:
 * ERR_STORE unless there was exactly one. */
static int read_one(sq_t *s, void *v, size_t n, void *out, size_t elem)
{
	int r = 0;
	if (n != 1) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg), "the new record cannot be read back");
		r = ERR_STORE;
	}
	if (r == 0)
		memcpy(out, v, elem);
	free(v);
	return r;
}

/* ---- service tokens ---- */

int store__sq_token_list(store_t *st, store_token_t **out, size_t *n)
{
	return store__sq_tokens(store__sq(st), NULL, out, n);
}

int store__sq_token_create(store_t *st, const store_token_t *in, store_token_t *out, store_why_t *why)
{
	sq_t *s = store__sq(st);
	store_token_t *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = cred_insert(s,
			"INSERT INTO service_tokens (client_id, name, secret_hash, created_at, expires_at)"
			" VALUES (?1, ?2, ?3, ?4, ?5)",
			in->id, in->name, in->secret_hash, true, in->expires_at);
	if (r == ERR_EXISTS)
		store__set_why(why, STORE_TOKEN, in->name, NULL);
	if (r == 0)
		r = store__sq_tokens(s, in->id, &v, &n);
	if (r == 0)
		r = read_one(s, v, n, out, sizeof(*out));
	return store__sq_end(s, r, true);
}

int store__sq_token_revoke(store_t *st, const char *token, char id[STORE_ID_MAX + 1], bool *changed,
			   store_why_t *why)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = store__sq_lookup(s,
			     "SELECT client_id FROM service_tokens WHERE client_id = ?1 OR name = ?1"
			     " ORDER BY client_id = ?1 DESC LIMIT 1",
			     token, id, STORE_ID_MAX + 1);
	if (r == ERR_NOTFOUND)
		store__set_why(why, STORE_TOKEN, token, NULL);
	/* revoking twice keeps the first revocation time */
	if (r != 0 || (r = store__sq_prepare(s,
					     "UPDATE service_tokens SET revoked_at = ?2"
					     " WHERE client_id = ?1 AND revoked_at IS NULL",
					     &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
	else
		*changed = sqlite3_changes(s->db) > 0;
out:
	sqlite3_finalize(q);
	if ((r = store__sq_end(s, r, *changed)) != 0)
		*changed = false;
	return r;
}

/* ---- tunnels and routes ---- */

int store__sq_tunnel_list(store_t *st, store_tunnel_t **out, size_t *n)
{
	return store__sq_tunnels(store__sq(st), NULL, out, n);
}

int store__sq_route_list(store_t *st, store_route_t **out, size_t *n)
{
	return store__sq_routes(store__sq(st), NULL, out, n);
}

/* Routes every hostname to tunnel_id; ERR_EXISTS (naming the tunnel that
 * has it) when one is routed already. */
static int routes_insert(sq_t *s, const char *tunnel_id, const char *const *hosts, size_t nhosts,
			 store_why_t *why)
{
	char owner[STORE_NAME_MAX + 1];
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(s, "INSERT INTO routes (hostname, tunnel_id) VALUES (?1, ?2)", &q);

	for (size_t i = 0; r == 0 && i < nhosts; i++) {
		r = store__sq_lookup(s,
				     "SELECT t.name FROM routes r JOIN tunnels t ON t.id = r.tunnel_id"
				     " WHERE r.hostname = ?1",
				     hosts[i], owner, sizeof(owner));
		if (r == 0) {
			store__set_why(why, STORE_HOSTNAME, hosts[i], owner);
			r = ERR_EXISTS;
			break;
		}
		if (r != ERR_NOTFOUND)
			break;
		r = 0;
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, hosts[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, tunnel_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			r = store__sq_fail(s);
	}
	sqlite3_finalize(q);
	return r;
}

/* The tunnel and the routes of its hostnames are one transaction: all or
 * nothing. */
int store__sq_tunnel_create(store_t *st, const store_tunnel_t *in, const store_strv_t *hostnames,
			    store_tunnel_t *out, store_why_t *why)
{
	sq_t *s = store__sq(st);
	store_tunnel_t *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = cred_insert(s, "INSERT INTO tunnels (id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
			in->id, in->name, in->secret_hash, false, 0);
	if (r == ERR_EXISTS)
		store__set_why(why, STORE_TUNNEL, in->name, NULL);
	if (r == 0 && hostnames)
		r = routes_insert(s, in->id, (const char *const *)hostnames->v, hostnames->n, why);
	if (r == 0)
		r = store__sq_tunnels(s, in->id, &v, &n);
	if (r == 0)
		r = read_one(s, v, n, out, sizeof(*out));
	return store__sq_end(s, r, true);
}

int store__sq_tunnel_delete(store_t *st, const char *tunnel, char id[STORE_ID_MAX + 1], store_why_t *why)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = store__sq_lookup(s, SQL_TUNNEL_ID, tunnel, id, STORE_ID_MAX + 1);
	if (r == ERR_NOTFOUND)
		store__set_why(why, STORE_TUNNEL, tunnel, NULL);
	/* its routes go with it (ON DELETE CASCADE) */
	if (r != 0 || (r = store__sq_prepare(s, "DELETE FROM tunnels WHERE id = ?1", &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	return store__sq_end(s, r, true);
}

int store__sq_route_add(store_t *st, const char *tunnel, const char *hostname, store_route_t *out,
			store_why_t *why)
{
	sq_t *s = store__sq(st);
	char id[STORE_ID_MAX + 1];
	store_route_t *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = store__sq_lookup(s, SQL_TUNNEL_ID, tunnel, id, sizeof(id));
	if (r == ERR_NOTFOUND)
		store__set_why(why, STORE_TUNNEL, tunnel, NULL);
	if (r == 0)
		r = routes_insert(s, id, &hostname, 1, why);
	if (r == 0)
		r = store__sq_routes(s, hostname, &v, &n);
	if (r == 0)
		r = read_one(s, v, n, out, sizeof(*out));
	return store__sq_end(s, r, true);
}

int store__sq_route_delete(store_t *st, const char *hostname, store_route_t *out, store_why_t *why)
{
	sq_t *s = store__sq(st);
	store_route_t *v = NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	if ((r = store__sq_routes(s, hostname, &v, &n)) != 0)
		goto out;
	if (n == 0) {
		store__set_why(why, STORE_ROUTE, hostname, NULL);
		r = ERR_NOTFOUND;
		goto out;
	}
	*out = v[0];
	if ((r = store__sq_prepare(s, "DELETE FROM routes WHERE hostname = ?1", &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, hostname, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	free(v);
	return store__sq_end(s, r, true);
}
