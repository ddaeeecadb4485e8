/* store_sqlite_idps.c — the SQLite engine's OpenID Connect identity
 * providers: their reader (shared with the snapshot) and operations.
 *
 * The client secret leaves this file only through the snapshot
 * (with_secret): lists never carry it, and every copy is wiped before it
 * is freed (store_idp_clear). Must never: put a secret into errmsg. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "edge/store/store_sqlite_int.h"

#define SQL_IDP_COLS                                                                                         \
	"SELECT name, issuer, client_id, client_secret, ca_pem, groups_claim, scopes, created_at FROM idps"

/* Copies a nullable TEXT column into a new string (NULL stays NULL). */
static int dup_col(sqlite3_stmt *q, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	*out = NULL;
	if (!t)
		return 0;
	return (*out = strdup((const char *)t)) ? 0 : ERR_NOMEM;
}

/* ctx: non-NULL to copy the client secret too */
static int idp_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_idp_t *p = item;
	int r;
	if ((r = store__sq_text(s, q, 0, p->name, sizeof(p->name))) != 0 ||
	    (r = store__sq_text(s, q, 1, p->issuer, sizeof(p->issuer))) != 0 ||
	    (r = store__sq_text(s, q, 2, p->client_id, sizeof(p->client_id))) != 0 ||
	    (ctx && (r = dup_col(q, 3, &p->client_secret)) != 0) || (r = dup_col(q, 4, &p->ca_pem)) != 0 ||
	    (r = store__sq_text(s, q, 5, p->groups_claim, sizeof(p->groups_claim))) != 0 ||
	    (r = store__sq_text(s, q, 6, p->scopes, sizeof(p->scopes))) != 0)
		return r;
	p->created_at = sqlite3_column_int64(q, 7);
	return 0;
}

int store__sq_idps(sq_t *s, bool with_secret, const char *name, store_idp_t **out, size_t *n)
{
	const char *sql = name ? SQL_IDP_COLS " WHERE name = ?1" : SQL_IDP_COLS " ORDER BY name";
	int r = store__sq_rows(s, sql, name, sizeof(**out), idp_row, with_secret ? s : NULL, (void **)out, n);
	if (r != 0) {
		store_idps_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

int store__sq_idp_list(store_t *st, store_idp_t **out, size_t *n)
{
	return store__sq_idps(store__sq(st), false, NULL, out, n);
}

static int idp_insert(sq_t *s, const store_idp_t *in)
{
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(
	    s,
	    "INSERT INTO idps (name, issuer, client_id, client_secret, ca_pem, groups_claim,"
	    " scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	    &q);
	if (r != 0)
		return r;
	sqlite3_bind_text(q, 1, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, in->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, in->client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, in->client_secret, -1, SQLITE_STATIC);
	if (in->ca_pem)
		sqlite3_bind_text(q, 5, in->ca_pem, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	sqlite3_bind_text(q, 6, in->groups_claim, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, in->scopes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
	sqlite3_finalize(q);
	return r;
}

int store__sq_idp_create(store_t *st, const store_idp_t *in, store_idp_t *out, store_why_t *why)
{
	sq_t *s = store__sq(st);
	store_idp_t *v = NULL;
	char found[STORE_NAME_MAX + 1];
	size_t n = 0;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = store__sq_lookup(s, "SELECT name FROM idps WHERE name = ?1", in->name, found, sizeof(found));
	if (r == 0) {
		store__set_why(why, STORE_IDP, in->name, NULL);
		r = ERR_EXISTS;
		goto out;
	}
	if (r != ERR_NOTFOUND || (r = idp_insert(s, in)) != 0)
		goto out;
	/* read back without the secret: only the model carries it */
	if ((r = store__sq_idps(s, false, in->name, &v, &n)) == 0 && n != 1) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg),
			 "the new identity provider cannot be read back");
		r = ERR_STORE;
	}
	if (r == 0) {
		*out = v[0];
		memset(&v[0], 0, sizeof(v[0]));
	}
out:
	store_idps_free(v, n);
	if ((r = store__sq_end(s, r, true)) != 0)
		store_idp_clear(out);
	return r;
}

int store__sq_idp_delete(store_t *st, const char *name, store_why_t *why)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	char app[STORE_NAME_MAX + 1];
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = store__sq_lookup(
	    s,
	    "SELECT a.name FROM app_idps i JOIN apps a ON a.id = i.app_id WHERE i.idp_name = ?1"
	    " ORDER BY a.name LIMIT 1",
	    name, app, sizeof(app));
	if (r == 0) {
		store__set_why(why, STORE_IDP, name, app);
		r = ERR_EXISTS;
		goto out;
	}
	if (r != ERR_NOTFOUND || (r = store__sq_prepare(s, "DELETE FROM idps WHERE name = ?1", &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		r = store__sq_fail(s);
	} else if (sqlite3_changes(s->db) == 0) {
		store__set_why(why, STORE_IDP, name, NULL);
		r = ERR_NOTFOUND;
	}
out:
	sqlite3_finalize(q);
	return store__sq_end(s, r, true);
}
