/* store_sqlite_sql.c — the SQLite engine's statement helpers (transactions,
 * lookups, columns, row mapping) and the readers that turn rows into the
 * store's records, shared by the operations and the snapshot. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/store/store_sqlite_int.h"

#define SQL_APP_COLS "SELECT id, name, aud, session_duration, created_at FROM apps"
#define SQL_POLICY_COLS                                                                                      \
	"SELECT p.id, p.app_id, a.name, p.name, p.action, p.precedence, p.include_json, p.require_json,"     \
	" p.exclude_json FROM policies p JOIN apps a ON a.id = p.app_id"
#define SQL_TOKEN_COLS                                                                                       \
	"SELECT client_id, name, secret_hash, created_at, expires_at, revoked_at IS NOT NULL"                \
	" FROM service_tokens"
#define SQL_TUNNEL_COLS "SELECT id, name, secret_hash, created_at FROM tunnels"
#define SQL_ROUTE_COLS                                                                                       \
	"SELECT r.hostname, r.tunnel_id, t.name FROM routes r JOIN tunnels t ON t.id = r.tunnel_id"

/* ---- helpers ---- */

int store__sq_fail(sq_t *s)
{
	snprintf(s->base.errmsg, sizeof(s->base.errmsg), "%s", sqlite3_errmsg(s->db));
	return ERR_STORE;
}

int store__sq_begin(sq_t *s)
{
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store__sq_fail(s);
	return 0;
}

int store__sq_end(sq_t *s, int r, bool wrote)
{
	/* the counter moves inside the transaction it counts: both commit or neither */
	if (r == 0 && wrote &&
	    sqlite3_exec(s->db, "UPDATE meta SET change_version = change_version + 1 WHERE id = 1", NULL,
			 NULL, NULL) != SQLITE_OK)
		r = store__sq_fail(s);
	if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = store__sq_fail(s);
	if (sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int store__sq_prepare(sq_t *s, const char *sql, sqlite3_stmt **q)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK)
		return store__sq_fail(s);
	return 0;
}

int store__sq_lookup(sq_t *s, const char *sql, const char *arg, char *out, size_t outlen)
{
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(s, sql, &q);
	if (r != 0)
		goto out;
	sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		r = ERR_NOTFOUND;
	else if (rc == SQLITE_ROW)
		r = store__sq_text(s, q, 0, out, outlen);
	else
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	return r;
}

int store__sq_text(sq_t *s, sqlite3_stmt *q, int col, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	if ((size_t)snprintf(out, outlen, "%s", t ? (const char *)t : "") >= outlen) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg), "a stored value is longer than %zu bytes",
			 outlen - 1);
		return ERR_STORE;
	}
	return 0;
}

int store__sq_hash(sq_t *s, sqlite3_stmt *q, int col, uint8_t out[32])
{
	const void *p = sqlite3_column_blob(q, col);
	if (!p || sqlite3_column_bytes(q, col) != 32) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg), "a stored secret hash is not 32 bytes");
		return ERR_STORE;
	}
	memcpy(out, p, 32);
	return 0;
}

int store__sq_rows(sq_t *s, const char *sql, const char *arg, size_t elem, store_sq_row_fn fn, void *ctx,
		   void **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int rc, r = store__sq_prepare(s, sql, &q);

	if (r != 0)
		goto out;
	if (arg)
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			void *p = realloc(*out, ncap * elem);
			if (!p) {
				r = ERR_NOMEM;
				goto out;
			}
			memset((char *)p + cap * elem, 0, (ncap - cap) * elem);
			*out = p;
			cap = ncap;
		}
		/* counted before filling so a half-built item is still freed */
		if ((r = fn(s, q, (char *)*out + (*n)++ * elem, ctx)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	return r;
}

/* ---- selector lists: stored as a JSON array of strings ---- */

static int strv_parse(sq_t *s, const unsigned char *text, store_strv_t *out)
{
	json_t *arr = json_loads(text ? (const char *)text : "[]", JSON_REJECT_DUPLICATES, NULL);
	int r = ERR_STORE;

	if (!json_is_array(arr)) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg),
			 "a stored selector list is not a JSON array");
		goto out;
	}
	size_t n = json_array_size(arr);
	if (n && !(out->v = calloc(n, sizeof(*out->v)))) {
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *str = json_string_value(json_array_get(arr, i));
		if (!str) {
			snprintf(s->base.errmsg, sizeof(s->base.errmsg), "a stored selector is not a string");
			goto out;
		}
		if (!(out->v[out->n] = strdup(str))) {
			r = ERR_NOMEM;
			goto out;
		}
		out->n++;
	}
	r = 0;
out:
	json_decref(arr);
	return r;
}

/* ---- readers ---- */

/* The statements listing an app's hostnames and providers. */
typedef struct app_lists {
	sqlite3_stmt *hosts, *idps;
} app_lists_t;

/* Appends the first column of every row of q (?1 bound to id) to sv. */
static int column_strv(sq_t *s, sqlite3_stmt *q, const char *id, store_strv_t *sv)
{
	size_t cap = 0;
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sv->n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			char **p = realloc(sv->v, ncap * sizeof(*p));
			if (!p)
				return ERR_NOMEM;
			sv->v = p;
			cap = ncap;
		}
		const unsigned char *h = sqlite3_column_text(q, 0);
		if (!(sv->v[sv->n] = strdup(h ? (const char *)h : "")))
			return ERR_NOMEM;
		sv->n++;
	}
	return rc == SQLITE_DONE ? 0 : store__sq_fail(s);
}

/* ctx: the app_lists_t */
static int app_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_app_t *a = item;
	app_lists_t *l = ctx;
	int r;

	if ((r = store__sq_text(s, q, 0, a->id, sizeof(a->id))) != 0 ||
	    (r = store__sq_text(s, q, 1, a->name, sizeof(a->name))) != 0 ||
	    (r = store__sq_text(s, q, 2, a->aud, sizeof(a->aud))) != 0)
		return r;
	a->session_duration = sqlite3_column_int64(q, 3);
	a->created_at = sqlite3_column_int64(q, 4);
	if ((r = column_strv(s, l->hosts, a->id, &a->hostnames)) != 0)
		return r;
	return column_strv(s, l->idps, a->id, &a->idps);
}

int store__sq_apps(sq_t *s, const char *id, store_app_t **out, size_t *n)
{
	app_lists_t l = {NULL, NULL};
	int r;
	if ((r = store__sq_prepare(s,
				   "SELECT hostname FROM app_hostnames WHERE app_id = ?1 ORDER BY hostname",
				   &l.hosts)) == 0 &&
	    (r = store__sq_prepare(s, "SELECT idp_name FROM app_idps WHERE app_id = ?1 ORDER BY idp_name",
				   &l.idps)) == 0)
		r = store__sq_rows(s, id ? SQL_APP_COLS " WHERE id = ?1" : SQL_APP_COLS " ORDER BY name", id,
				   sizeof(**out), app_row, &l, (void **)out, n);
	sqlite3_finalize(l.hosts);
	sqlite3_finalize(l.idps);
	if (r != 0) {
		store_apps_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

static int action_from_text(const unsigned char *t)
{
	static const char *const names[] = {"allow", "deny", "bypass", "service_auth"};
	static const int actions[] = {POLICY_ALLOW, POLICY_DENY, POLICY_BYPASS, POLICY_SERVICE_AUTH};
	for (size_t i = 0; t && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp((const char *)t, names[i]) == 0)
			return actions[i];
	return -1;
}

static int policy_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_policy_t *p = item;
	int r, action = action_from_text(sqlite3_column_text(q, 4));

	if (action < 0) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg), "a stored policy has an unknown action");
		return ERR_STORE;
	}
	p->action = (enum policy_action)action;
	p->precedence = sqlite3_column_int64(q, 5);
	if ((r = store__sq_text(s, q, 0, p->id, sizeof(p->id))) != 0 ||
	    (r = store__sq_text(s, q, 1, p->app_id, sizeof(p->app_id))) != 0 ||
	    (r = store__sq_text(s, q, 2, p->app_name, sizeof(p->app_name))) != 0 ||
	    (r = store__sq_text(s, q, 3, p->name, sizeof(p->name))) != 0 ||
	    (r = strv_parse(s, sqlite3_column_text(q, 6), &p->include)) != 0 ||
	    (r = strv_parse(s, sqlite3_column_text(q, 7), &p->require)) != 0 ||
	    (r = strv_parse(s, sqlite3_column_text(q, 8), &p->exclude)) != 0)
		return r;
	return 0;
}

int store__sq_policies(sq_t *s, const char *app_id, const char *id, store_policy_t **out, size_t *n)
{
	/* ties in precedence keep creation order (seq), so evaluation order is stable */
	const char *sql = id	   ? SQL_POLICY_COLS " WHERE p.id = ?1"
			  : app_id ? SQL_POLICY_COLS " WHERE p.app_id = ?1 ORDER BY p.precedence, p.seq"
				   : SQL_POLICY_COLS " ORDER BY a.name, p.precedence, p.seq";
	int r = store__sq_rows(s, sql, id ? id : app_id, sizeof(**out), policy_row, NULL, (void **)out, n);
	if (r != 0) {
		store_policies_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

static int token_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_token_t *t = item;
	int r;
	if ((r = store__sq_text(s, q, 0, t->id, sizeof(t->id))) != 0 ||
	    (r = store__sq_text(s, q, 1, t->name, sizeof(t->name))) != 0 ||
	    (r = store__sq_hash(s, q, 2, t->secret_hash)) != 0)
		return r;
	t->created_at = sqlite3_column_int64(q, 3);
	t->expires_at = sqlite3_column_int64(q, 4);
	t->revoked = sqlite3_column_int(q, 5) != 0;
	return 0;
}

/* Frees a list of records without pointers after a failed read. */
static int pod_rows(int r, void **out, size_t *n)
{
	if (r != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

int store__sq_tokens(sq_t *s, const char *id, store_token_t **out, size_t *n)
{
	const char *sql = id ? SQL_TOKEN_COLS " WHERE client_id = ?1" : SQL_TOKEN_COLS " ORDER BY name";
	return pod_rows(store__sq_rows(s, sql, id, sizeof(**out), token_row, NULL, (void **)out, n),
			(void **)out, n);
}

static int tunnel_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_tunnel_t *t = item;
	int r;
	if ((r = store__sq_text(s, q, 0, t->id, sizeof(t->id))) != 0 ||
	    (r = store__sq_text(s, q, 1, t->name, sizeof(t->name))) != 0 ||
	    (r = store__sq_hash(s, q, 2, t->secret_hash)) != 0)
		return r;
	t->created_at = sqlite3_column_int64(q, 3);
	return 0;
}

int store__sq_tunnels(sq_t *s, const char *id, store_tunnel_t **out, size_t *n)
{
	const char *sql = id ? SQL_TUNNEL_COLS " WHERE id = ?1" : SQL_TUNNEL_COLS " ORDER BY name";
	return pod_rows(store__sq_rows(s, sql, id, sizeof(**out), tunnel_row, NULL, (void **)out, n),
			(void **)out, n);
}

static int route_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_route_t *rt = item;
	int r;
	if ((r = store__sq_text(s, q, 0, rt->hostname, sizeof(rt->hostname))) != 0 ||
	    (r = store__sq_text(s, q, 1, rt->tunnel_id, sizeof(rt->tunnel_id))) != 0 ||
	    (r = store__sq_text(s, q, 2, rt->tunnel_name, sizeof(rt->tunnel_name))) != 0)
		return r;
	return 0;
}

int store__sq_routes(sq_t *s, const char *hostname, store_route_t **out, size_t *n)
{
	const char *sql =
	    hostname ? SQL_ROUTE_COLS " WHERE r.hostname = ?1" : SQL_ROUTE_COLS " ORDER BY r.hostname";
	return pod_rows(store__sq_rows(s, sql, hostname, sizeof(**out), route_row, NULL, (void **)out, n),
			(void **)out, n);
}
