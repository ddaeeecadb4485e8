/* store_engine.h — the seam between store.c and the engines: what an
 * engine implements. Only store*.c include this.
 *
 * An engine's store struct begins with a struct store, and its open
 * function fills ops. store.c has already cleared the out parameters and
 * why before calling any of these, so an engine sets only what it finds. */
#ifndef BURROW_EDGE_STORE_ENGINE_H
#define BURROW_EDGE_STORE_ENGINE_H

#include "edge/store/store.h"

/* A session revocation, as the snapshot reads it. */
typedef struct store_revocation {
	char email[STORE_EMAIL_MAX + 1];
	int64_t revoked_at;
} store_revocation_t;

/* Everything the model is built from, read in one snapshot. */
typedef struct store_snapshot {
	int64_t version;
	store_app_t *apps; /* by name */
	size_t napps;
	store_policy_t *policies; /* by app name, precedence, creation */
	size_t npolicies;
	store_token_t *tokens;
	size_t ntokens;
	store_tunnel_t *tunnels;
	size_t ntunnels;
	store_route_t *routes;
	size_t nroutes;
	store_user_t *users; /* by email, with their pw_hash */
	size_t nusers;
	store_key_t *keys; /* newest first, with their private_pem */
	size_t nkeys;
	store_revocation_t *revocations; /* by email */
	size_t nrevocations;
	store_idp_t *idps; /* by name, with their client secrets */
	size_t nidps;
} store_snapshot_t;

typedef struct store_ops {
	void (*close)(store_t *st);
	struct sqlite3 *(*db)(store_t *st); /* deprecated; NULL when not SQLite */
	int (*change_version)(store_t *st, int64_t *out);
	int (*snapshot)(store_t *st, store_snapshot_t *out);

	int (*app_list)(store_t *st, store_app_t **out, size_t *n);
	int (*app_create)(store_t *st, const store_app_t *in, store_app_t *out, store_why_t *why);
	int (*app_delete)(store_t *st, const char *app, char id[STORE_ID_MAX + 1], store_why_t *why);

	int (*policy_list)(store_t *st, const char *app, store_policy_t **out, size_t *n, store_why_t *why);
	int (*policy_add)(store_t *st, const store_policy_t *in, const store_strv_t *tokens,
			  store_policy_t *out, store_why_t *why);
	int (*policy_delete)(store_t *st, const char *id, store_why_t *why);

	int (*token_list)(store_t *st, store_token_t **out, size_t *n);
	int (*token_create)(store_t *st, const store_token_t *in, store_token_t *out, store_why_t *why);
	int (*token_revoke)(store_t *st, const char *token, char id[STORE_ID_MAX + 1], bool *changed,
			    store_why_t *why);

	int (*tunnel_list)(store_t *st, store_tunnel_t **out, size_t *n);
	int (*tunnel_create)(store_t *st, const store_tunnel_t *in, const store_strv_t *hostnames,
			     store_tunnel_t *out, store_why_t *why);
	int (*tunnel_delete)(store_t *st, const char *tunnel, char id[STORE_ID_MAX + 1], store_why_t *why);

	int (*route_list)(store_t *st, store_route_t **out, size_t *n);
	int (*route_add)(store_t *st, const char *tunnel, const char *hostname, store_route_t *out,
			 store_why_t *why);
	int (*route_delete)(store_t *st, const char *hostname, store_route_t *out, store_why_t *why);

	int (*user_list)(store_t *st, store_user_t **out, size_t *n);
	int (*user_create)(store_t *st, const store_user_t *in, store_user_t *out, store_why_t *why);
	int (*user_delete)(store_t *st, const char *email, store_why_t *why);
	int (*key_list)(store_t *st, store_key_t **out, size_t *n);
	int (*key_rotate)(store_t *st, const char *kid, const char *private_pem, int64_t now, int64_t keep_s);
	int (*revoke_email)(store_t *st, const char *email, int64_t now);
	int (*idp_list)(store_t *st, store_idp_t **out, size_t *n);
	int (*idp_create)(store_t *st, const store_idp_t *in, store_idp_t *out, store_why_t *why);
	int (*idp_delete)(store_t *st, const char *name, store_why_t *why);

	int (*audit_append)(store_t *st, const store_audit_rec_t *recs, size_t n);
	int (*audit_prune)(store_t *st, int64_t before_ms, int64_t *deleted);
	int (*audit_query)(store_t *st, const store_audit_filter_t *f, store_audit_fn fn, void *arg);
} store_ops_t;

struct store {
	const store_ops_t *ops;
	int schema_version;
	char errmsg[256]; /* the engine's words for the last ERR_STORE */
};

/* Engines. */
int store__sqlite_open(const char *path, store_t **out, char *err, size_t errlen);

/* Shared by engines (store.c). */
void store__set_why(store_why_t *why, enum store_what what, const char *key, const char *owner);
void store__snapshot_clear(store_snapshot_t *s);
/* Frees keys and their private PEMs (wiped first). */
void store__keys_free(store_key_t *v, size_t n);
/* Builds a model from s, taking its selector lists (s stays freeable). */
int store__model_from(store_snapshot_t *s, model_t **out);

#endif
