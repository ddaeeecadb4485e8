/* store_sqlite_int.h — shared by the store_sqlite*.c files only: the SQLite
 * engine's handle and its statement helpers. SQL is only ever prepared from
 * constant strings with bound parameters. */
#ifndef BURROW_EDGE_STORE_SQLITE_INT_H
#define BURROW_EDGE_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "edge/store/store_engine.h"

typedef struct sq {
	store_t base; /* first: a store_t * is an sq_t * */
	sqlite3 *db;
} sq_t;

static inline sq_t *store__sq(store_t *st)
{
	return (sq_t *)st;
}

/* Records the engine's words for the failure (store_errmsg); ERR_STORE. */
int store__sq_fail(sq_t *s);
/* Write transaction: IMMEDIATE takes the write lock before the checks, so
 * checks and writes see one state. end commits when r is 0 and rolls back
 * otherwise; wrote moves the change counter first. Returns r, or ERR_STORE
 * when the commit failed (then nothing was written). */
int store__sq_begin(sq_t *s);
int store__sq_end(sq_t *s, int r, bool wrote);
int store__sq_prepare(sq_t *s, const char *sql, sqlite3_stmt **q);
/* Runs sql with ?1 bound to arg and copies the first column of the first
 * row into out: 0, ERR_NOTFOUND or ERR_STORE. */
int store__sq_lookup(sq_t *s, const char *sql, const char *arg, char *out, size_t outlen);
/* Copies a TEXT column (NULL becomes ""); the store's own writes keep it in
 * bounds, so a longer value is damage: ERR_STORE. */
int store__sq_text(sq_t *s, sqlite3_stmt *q, int col, char *out, size_t outlen);
int store__sq_hash(sq_t *s, sqlite3_stmt *q, int col, uint8_t out[32]);

/* Runs sql (?1 bound to arg when not NULL) and maps each row with fn into a
 * grown array of elem-sized items (zeroed before fn fills one). On failure
 * *out and *n still hold what was built, for the caller to free. */
typedef int (*store_sq_row_fn)(sq_t *s, sqlite3_stmt *q, void *item, void *ctx);
int store__sq_rows(sq_t *s, const char *sql, const char *arg, size_t elem, store_sq_row_fn fn, void *ctx,
		   void **out, size_t *n);

/* Readers shared by the operations and the snapshot: every row, or the one
 * named by id when id is not NULL (policies: app_id selects an app's). */
int store__sq_apps(sq_t *s, const char *id, store_app_t **out, size_t *n);
int store__sq_policies(sq_t *s, const char *app_id, const char *id, store_policy_t **out, size_t *n);
int store__sq_tokens(sq_t *s, const char *id, store_token_t **out, size_t *n);
int store__sq_tunnels(sq_t *s, const char *id, store_tunnel_t **out, size_t *n);
int store__sq_routes(sq_t *s, const char *hostname, store_route_t **out, size_t *n);
/* store_sqlite_sso.c: users (with_hash: their pw_hash too; email NULL: all),
 * signing keys newest first (with_pem: their private_pem too), revocations. */
int store__sq_users(sq_t *s, bool with_hash, const char *email, store_user_t **out, size_t *n);
int store__sq_keys(sq_t *s, bool with_pem, store_key_t **out, size_t *n);
int store__sq_revocations(sq_t *s, store_revocation_t **out, size_t *n);
/* store_sqlite_idps.c: identity providers by name (with_secret: their client
 * secret too; name NULL: all). */
int store__sq_idps(sq_t *s, bool with_secret, const char *name, store_idp_t **out, size_t *n);

/* The operations (store_sqlite_apps.c, store_sqlite_creds.c, store_sqlite_sso.c). */
int store__sq_app_list(store_t *st, store_app_t **out, size_t *n);
int store__sq_app_create(store_t *st, const store_app_t *in, store_app_t *out, store_why_t *why);
int store__sq_app_delete(store_t *st, const char *app, char id[STORE_ID_MAX + 1], store_why_t *why);
int store__sq_policy_list(store_t *st, const char *app, store_policy_t **out, size_t *n, store_why_t *why);
int store__sq_policy_add(store_t *st, const store_policy_t *in, const store_strv_t *tokens,
			 store_policy_t *out, store_why_t *why);
int store__sq_policy_delete(store_t *st, const char *id, store_why_t *why);
int store__sq_token_list(store_t *st, store_token_t **out, size_t *n);
int store__sq_token_create(store_t *st, const store_token_t *in, store_token_t *out, store_why_t *why);
int store__sq_token_revoke(store_t *st, const char *token, char id[STORE_ID_MAX + 1], bool *changed,
			   store_why_t *why);
int store__sq_tunnel_list(store_t *st, store_tunnel_t **out, size_t *n);
int store__sq_tunnel_create(store_t *st, const store_tunnel_t *in, const store_strv_t *hostnames,
			    store_tunnel_t *out, store_why_t *why);
int store__sq_tunnel_delete(store_t *st, const char *tunnel, char id[STORE_ID_MAX + 1], store_why_t *why);
int store__sq_route_list(store_t *st, store_route_t **out, size_t *n);
int store__sq_route_add(store_t *st, const char *tunnel, const char *hostname, store_route_t *out,
			store_why_t *why);
int store__sq_route_delete(store_t *st, const char *hostname, store_route_t *out, store_why_t *why);
int store__sq_user_list(store_t *st, store_user_t **out, size_t *n);
int store__sq_user_create(store_t *st, const store_user_t *in, store_user_t *out, store_why_t *why);
int store__sq_user_delete(store_t *st, const char *email, store_why_t *why);
int store__sq_key_list(store_t *st, store_key_t **out, size_t *n);
int store__sq_key_rotate(store_t *st, const char *kid, const char *private_pem, int64_t now, int64_t keep_s);
int store__sq_revoke_email(store_t *st, const char *email, int64_t now);
int store__sq_idp_list(store_t *st, store_idp_t **out, size_t *n);
int store__sq_idp_create(store_t *st, const store_idp_t *in, store_idp_t *out, store_why_t *why);
int store__sq_idp_delete(store_t *st, const char *name, store_why_t *why);

/* store_sqlite_audit.c */
int store__sq_audit_append(store_t *st, const store_audit_rec_t *recs, size_t n);
int store__sq_audit_prune(store_t *st, int64_t before_ms, int64_t *deleted);
int store__sq_audit_query(store_t *st, const store_audit_filter_t *f, store_audit_fn fn, void *arg);

#endif
