/* store_sqlite_sso.c — the SQLite engine's records for single sign-on: users
 * of the built-in identity provider, the edge's token-signing keys and
 * per-email session revocations; their readers (shared with the snapshot)
 * and their operations.
 *
 * Password hashes and private keys leave this file only through the
 * snapshot (with_hash, with_pem): lists never carry them, and every copy of
 * a private key is wiped before it is freed. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "edge/store/store_sqlite_int.h"

#define SQL_USER_COLS "SELECT email, pw_hash, created_at FROM users"
#define SQL_KEY_COLS "SELECT kid, private_pem, created_at, retired_at FROM signing_keys ORDER BY seq DESC"

/* ---- readers ---- */

/* ctx: non-NULL to copy the hash too */
static int user_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_user_t *u = item;
	int r;
	if ((r = store__sq_text(s, q, 0, u->email, sizeof(u->email))) != 0 ||
	    (ctx && (r = store__sq_text(s, q, 1, u->pw_hash, sizeof(u->pw_hash))) != 0))
		return r;
	u->created_at = sqlite3_column_int64(q, 2);
	return 0;
}

int store__sq_users(sq_t *s, bool with_hash, const char *email, store_user_t **out, size_t *n)
{
	const char *sql = email ? SQL_USER_COLS " WHERE email = ?1" : SQL_USER_COLS " ORDER BY email";
	int r = store__sq_rows(s, sql, email, sizeof(**out), user_row, with_hash ? s : NULL, (void **)out, n);
	if (r != 0) {
		if (*out)
			OPENSSL_cleanse(*out, *n * sizeof(**out));
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

/* ctx: non-NULL to copy the private key too */
static int key_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_key_t *k = item;
	int r;
	if ((r = store__sq_text(s, q, 0, k->kid, sizeof(k->kid))) != 0)
		return r;
	k->created_at = sqlite3_column_int64(q, 2);
	k->retired_at = sqlite3_column_int64(q, 3);
	if (ctx) {
		const unsigned char *pem = sqlite3_column_text(q, 1);
		if (!(k->private_pem = strdup(pem ? (const char *)pem : "")))
			return ERR_NOMEM;
	}
	return 0;
}

int store__sq_keys(sq_t *s, bool with_pem, store_key_t **out, size_t *n)
{
	int r = store__sq_rows(s, SQL_KEY_COLS, NULL, sizeof(**out), key_row, with_pem ? s : NULL,
			       (void **)out, n);
	if (r != 0) {
		store__keys_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

static int revocation_row(sq_t *s, sqlite3_stmt *q, void *item, void *ctx)
{
	store_revocation_t *rv = item;
	rv->revoked_at = sqlite3_column_int64(q, 1);
	return store__sq_text(s, q, 0, rv->email, sizeof(rv->email));
}

int store__sq_revocations(sq_t *s, store_revocation_t **out, size_t *n)
{
	int r = store__sq_rows(s, "SELECT email, revoked_at FROM revocations ORDER BY email", NULL,
			       sizeof(**out), revocation_row, NULL, (void **)out, n);
	if (r != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

/* ---- users ---- */

int store__sq_user_list(store_t *st, store_user_t **out, size_t *n)
{
	return store__sq_users(store__sq(st), false, NULL, out, n);
}

int store__sq_user_create(store_t *st, const store_user_t *in, store_user_t *out, store_why_t *why)
{
	sq_t *s = store__sq(st);
	store_user_t *v = NULL;
	sqlite3_stmt *q = NULL;
	char found[STORE_EMAIL_MAX + 1];
	size_t n = 0;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = store__sq_lookup(s, "SELECT email FROM users WHERE email = ?1", in->email, found, sizeof(found));
	if (r == 0) {
		store__set_why(why, STORE_USER, in->email, NULL);
		r = ERR_EXISTS;
		goto out;
	}
	if (r != ERR_NOTFOUND ||
	    (r = store__sq_prepare(s, "INSERT INTO users (email, pw_hash, created_at) VALUES (?1, ?2, ?3)",
				   &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, in->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, in->pw_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE) {
		r = store__sq_fail(s);
		goto out;
	}
	/* read back without the hash: only the model carries hashes */
	if ((r = store__sq_users(s, false, in->email, &v, &n)) == 0 && n != 1) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg), "the new user cannot be read back");
		r = ERR_STORE;
	}
	if (r == 0)
		*out = v[0];
out:
	sqlite3_finalize(q);
	free(v);
	if ((r = store__sq_end(s, r, true)) != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int store__sq_user_delete(store_t *st, const char *email, store_why_t *why)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	if ((r = store__sq_prepare(s, "DELETE FROM users WHERE email = ?1", &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, email, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		r = store__sq_fail(s);
	} else if (sqlite3_changes(s->db) == 0) {
		store__set_why(why, STORE_USER, email, NULL);
		r = ERR_NOTFOUND;
	}
out:
	sqlite3_finalize(q);
	return store__sq_end(s, r, true);
}

/* ---- signing keys ---- */

int store__sq_key_list(store_t *st, store_key_t **out, size_t *n)
{
	return store__sq_keys(store__sq(st), false, out, n);
}

/* Runs sql with ?1 bound to a (at's text when not NULL) and, when sql has
 * it, ?2 to b (bt's text when not NULL). */
static int exec2(sq_t *s, const char *sql, int64_t a, int64_t b, const char *at, const char *bt)
{
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(s, sql, &q);
	if (r != 0)
		return r;
	if (at)
		sqlite3_bind_text(q, 1, at, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, a);
	if (sqlite3_bind_parameter_count(q) >= 2 && bt)
		sqlite3_bind_text(q, 2, bt, -1, SQLITE_STATIC);
	else if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_int64(q, 2, b);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
	sqlite3_finalize(q);
	return r;
}

/* Retire, prune and add in one transaction: edges sharing the store see the
 * new key and the retired one together, never two current keys. */
int store__sq_key_rotate(store_t *st, const char *kid, const char *private_pem, int64_t now, int64_t keep_s)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	if ((r = exec2(s, "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at = 0", now, 0, NULL,
		       NULL)) != 0 ||
	    (r = exec2(s, "DELETE FROM signing_keys WHERE retired_at != 0 AND retired_at < ?1 - ?2", now,
		       keep_s, NULL, NULL)) != 0 ||
	    (r = store__sq_prepare(
		 s,
		 "INSERT INTO signing_keys (kid, private_pem, created_at, retired_at) VALUES (?1, ?2, ?3, 0)",
		 &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, private_pem, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	return store__sq_end(s, r, true);
}

/* ---- revocations ---- */

/* A later revocation moves the time forward; a clock that went back never
 * moves it back (which would let revoked sessions in again). */
int store__sq_revoke_email(store_t *st, const char *email, int64_t now)
{
	sq_t *s = store__sq(st);
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	r = exec2(s,
		  "INSERT INTO revocations (email, revoked_at) VALUES (?1, ?2) ON CONFLICT (email)"
		  " DO UPDATE SET revoked_at = MAX(revoked_at, excluded.revoked_at)",
		  0, now, email, NULL);
	return store__sq_end(s, r, true);
}
