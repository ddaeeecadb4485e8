/* store.h — the edge's persistent state behind typed operations.
 *
 * Callers see records and the project's error codes, never SQL: an
 * operation is one transaction in the engine (a create is all or nothing,
 * e.g. a tunnel and its routes), and it returns 0 or
 *   ERR_NOTFOUND  what it names does not exist (why says which object),
 *   ERR_EXISTS    a name or hostname is taken (why says by whom),
 *   ERR_TOOBIG    a bound was reached (policy precedence),
 *   ERR_NOMEM, ERR_STORE (store_errmsg has the engine's words).
 *
 * Engines: SQLite (store_sqlite*.c, the only files that include sqlite3.h)
 * is the one there is. The seam is a table of operations (store_engine.h)
 * rather than one implementation picked at build time, so a second engine
 * (PostgreSQL for clustered edges) plugs in beside it without #ifdefs and
 * one binary can open either; store.c dispatches and holds what engines
 * share. The unit tests (tests/unit/test_store.c) use only this header.
 *
 * Change signal: every write transaction moves a counter kept in the
 * database itself (store_change_version), so an edge notices the commits of
 * other edges sharing the store whatever the engine.
 *
 * Every function blocks: call them only from the edge's store worker
 * (edge/jobs.c) or before the event loop starts. A store_t is used by one
 * thread at a time. Secrets are never stored, only their SHA-256 (passwords:
 * their argon2id hash), except the edge's own token-signing keys, which it
 * needs to sign with: the file is 0600 for them. Lists come
 * back in a defined order (named at each function), never storage order. */
#ifndef BURROW_EDGE_STORE_STORE_H
#define BURROW_EDGE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hostname.h"
#include "edge/model.h"

#define STORE_NAME_MAX 64	     /* object names (the admin API checks them) */
#define STORE_ID_MAX 64		     /* uuids (36) and client ids (39) fit */
#define STORE_AUD_LEN 64	     /* an app's tag: 64 hex characters */
#define STORE_PRECEDENCE_MAX 1000000 /* a policy's precedence is 0..this */
#define STORE_EMAIL_MAX 254	     /* a user's email (the admin API checks it) */
#define STORE_PWHASH_MAX 128	     /* crypto_pwhash_STRBYTES */
#define STORE_KID_LEN 32	     /* a signing key's id: 32 lowercase hex chars */
#define STORE_URL_MAX 512	     /* an identity provider's issuer URL */
#define STORE_CLIENT_ID_MAX 255	     /* an OIDC client_id */
#define STORE_CLIENT_SECRET_MAX 1024 /* an OIDC client_secret */
#define STORE_CA_PEM_MAX 49152	     /* a provider's CA certificates (PEM), below the admin body cap */
#define STORE_CLAIM_MAX 64	     /* the name of a provider's groups claim */
#define STORE_SCOPES_MAX 256	     /* the scopes asked of a provider, space-separated */

typedef struct store store_t;

/* A list of strings the holder owns (each string and the array). */
typedef struct store_strv {
	char **v;
	size_t n;
} store_strv_t;

typedef struct store_app {
	char id[STORE_ID_MAX + 1];
	char name[STORE_NAME_MAX + 1];
	char aud[STORE_AUD_LEN + 1];
	int64_t session_duration; /* seconds */
	int64_t created_at;	  /* unix seconds; set by the store */
	store_strv_t hostnames;	  /* normalised; listed in name order */
	store_strv_t idps;	  /* identity providers it accepts, by name; empty: any */
} store_app_t;

typedef struct store_policy {
	char id[STORE_ID_MAX + 1];
	char app_id[STORE_ID_MAX + 1];
	char app_name[STORE_NAME_MAX + 1];
	char name[STORE_NAME_MAX + 1];
	enum policy_action action;
	int64_t precedence;
	store_strv_t include, require, exclude; /* selectors, as given */
} store_policy_t;

typedef struct store_token {
	char id[STORE_ID_MAX + 1]; /* client id */
	char name[STORE_NAME_MAX + 1];
	uint8_t secret_hash[32];
	int64_t created_at;
	int64_t expires_at; /* 0: never */
	bool revoked;
} store_token_t;

typedef struct store_tunnel {
	char id[STORE_ID_MAX + 1];
	char name[STORE_NAME_MAX + 1];
	uint8_t secret_hash[32];
	int64_t created_at;
} store_tunnel_t;

typedef struct store_route {
	char hostname[HOSTNAME_MAX + 1];
	char tunnel_id[STORE_ID_MAX + 1];
	char tunnel_name[STORE_NAME_MAX + 1];
} store_route_t;

/* A user of the built-in identity provider. */
typedef struct store_user {
	char email[STORE_EMAIL_MAX + 1];    /* lowercased */
	char pw_hash[STORE_PWHASH_MAX + 1]; /* crypto_pwhash_str output (argon2id) */
	int64_t created_at;
} store_user_t;

/* One of the edge's token-signing keys. */
typedef struct store_key {
	char kid[STORE_KID_LEN + 1];
	char *private_pem; /* owned; NULL in lists */
	int64_t created_at;
	int64_t retired_at; /* 0: the current signing key */
} store_key_t;

/* An OpenID Connect identity provider the edge is a relying party of. The
 * client secret is the one secret the store keeps in the clear (the edge
 * sends it to the provider, client_secret_basic): it leaves the store only
 * through the snapshot, never in a list, and is wiped when freed. */
typedef struct store_idp {
	char name[STORE_NAME_MAX + 1];
	char issuer[STORE_URL_MAX + 1]; /* exactly as the provider's discovery document says */
	char client_id[STORE_CLIENT_ID_MAX + 1];
	char *client_secret; /* owned; NULL in lists */
	char *ca_pem;	     /* owned; NULL: the system roots only */
	char groups_claim[STORE_CLAIM_MAX + 1];
	char scopes[STORE_SCOPES_MAX + 1];
	int64_t created_at;
} store_idp_t;

/* Which object an ERR_NOTFOUND or ERR_EXISTS is about: the store's one-line
 * reason, in fields, so that each caller words it for its own audience. */
enum store_what {
	STORE_NONE = 0,
	STORE_APP,
	STORE_POLICY,
	STORE_TOKEN,
	STORE_TUNNEL,
	STORE_ROUTE,	/* key: the hostname without a route */
	STORE_HOSTNAME, /* taken: owner names the app or the tunnel holding it */
	STORE_USER,	/* key: the email */
	STORE_IDP,	/* key: the provider's name; owner: an app naming it (delete refused) */
};

typedef struct store_why {
	enum store_what what;
	char key[HOSTNAME_MAX + 1];	/* the name, id or hostname asked for */
	char owner[STORE_NAME_MAX + 1]; /* STORE_HOSTNAME: who has it */
} store_why_t;

/* Opens (creating if needed, mode 0600) and migrates the SQLite database at
 * path. On failure writes a one-line reason into err. */
int store_open(const char *path, store_t **out, char *err, size_t errlen);
void store_close(store_t *st);
/* Number of migrations applied. */
int store_schema_version(store_t *st);
/* The engine's words for the last ERR_STORE (never NULL; "" before any). */
const char *store_errmsg(store_t *st);

/* The change counter: moves with every committed write, by this edge or any
 * other sharing the store; reads leave it alone. */
int store_change_version(store_t *st, int64_t *out);

/* The whole configuration as one consistent snapshot; m->version is the
 * change version it was read at. Free with model_free. */
int store_load_model(store_t *st, model_t **out);

/* Apps (listed by name). `app` arguments take an id or a name (the id wins
 * when both match). create: in gives id, name, aud, session_duration,
 * hostnames (unique, normalised) and idps (unique provider names; empty:
 * any provider); out (cleared with store_app_clear) gets the stored app.
 * ERR_EXISTS for a taken name or hostname; ERR_NOTFOUND (what STORE_IDP)
 * for a provider that does not exist. delete takes the app's policies,
 * hostnames and providers with it and copies its id into id. */
int store_app_list(store_t *st, store_app_t **out, size_t *n);
int store_app_create(store_t *st, const store_app_t *in, store_app_t *out, store_why_t *why);
int store_app_delete(store_t *st, const char *app, char id[STORE_ID_MAX + 1], store_why_t *why);

/* Policies (listed by app name, then precedence, then creation). list: app
 * NULL lists every app's. add: in->app_id takes an app id or name; tokens
 * names the service tokens its selectors name, each of which must exist
 * (ERR_NOTFOUND, what STORE_TOKEN); a negative in->precedence means one
 * after the app's last (ERR_TOOBIG past STORE_PRECEDENCE_MAX). */
int store_policy_list(store_t *st, const char *app, store_policy_t **out, size_t *n, store_why_t *why);
int store_policy_add(store_t *st, const store_policy_t *in, const store_strv_t *tokens, store_policy_t *out,
		     store_why_t *why);
int store_policy_delete(store_t *st, const char *id, store_why_t *why);

/* Service tokens (listed by name; revoked ones stay, names stay taken).
 * create: in gives id, name, secret_hash and expires_at. revoke takes an id
 * or a name; *changed is false when it was revoked already (the first
 * revocation stands and nothing is written). */
int store_token_list(store_t *st, store_token_t **out, size_t *n);
int store_token_create(store_t *st, const store_token_t *in, store_token_t *out, store_why_t *why);
int store_token_revoke(store_t *st, const char *token, char id[STORE_ID_MAX + 1], bool *changed,
		       store_why_t *why);

/* Tunnels (listed by name). create routes hostnames (unique, normalised;
 * may be empty) to the new tunnel in the same transaction. delete takes its
 * routes with it. */
int store_tunnel_list(store_t *st, store_tunnel_t **out, size_t *n);
int store_tunnel_create(store_t *st, const store_tunnel_t *in, const store_strv_t *hostnames,
			store_tunnel_t *out, store_why_t *why);
int store_tunnel_delete(store_t *st, const char *tunnel, char id[STORE_ID_MAX + 1], store_why_t *why);

/* Routes (listed by hostname): one tunnel per hostname. add takes a tunnel
 * id or name; delete copies the route it removed into out. */
int store_route_list(store_t *st, store_route_t **out, size_t *n);
int store_route_add(store_t *st, const char *tunnel, const char *hostname, store_route_t *out,
		    store_why_t *why);
int store_route_delete(store_t *st, const char *hostname, store_route_t *out, store_why_t *why);

/* Users of the built-in identity provider (listed by email). list leaves
 * pw_hash empty: only the model carries hashes. create: in gives email
 * (lowercased) and pw_hash; created_at is set by the store. ERR_EXISTS and
 * ERR_NOTFOUND name the email (what STORE_USER). */
int store_user_list(store_t *st, store_user_t **out, size_t *n);
int store_user_create(store_t *st, const store_user_t *in, store_user_t *out, store_why_t *why);
int store_user_delete(store_t *st, const char *email, store_why_t *why);

/* The edge's token-signing keys (listed newest first, private_pem NULL: free()
 * the array). rotate adds a new key (kid, PEM of an EC P-256 private key)
 * created at now; the key that was current gets retired_at = now; keys retired
 * before now - keep_s are deleted (keep_s: how long tokens they signed may
 * live, the longest app session duration). One transaction. */
int store_key_list(store_t *st, store_key_t **out, size_t *n);
int store_key_rotate(store_t *st, const char *kid, const char *private_pem, int64_t now, int64_t keep_s);

/* OpenID Connect identity providers (listed by name; lists never carry the
 * client secret). create: in gives every field but created_at (ca_pem may
 * be NULL); ERR_EXISTS (what STORE_IDP) for a taken name. delete:
 * ERR_NOTFOUND for an unknown name; ERR_EXISTS (what STORE_IDP, owner the
 * first app by name) while an app names the provider: removing it from the
 * app instead could leave the app's list empty, which means "any provider",
 * silently widening who may log in to it. Free with store_idp_clear or
 * store_idps_free (both wipe the secret). */
int store_idp_list(store_t *st, store_idp_t **out, size_t *n);
int store_idp_create(store_t *st, const store_idp_t *in, store_idp_t *out, store_why_t *why);
int store_idp_delete(store_t *st, const char *name, store_why_t *why);

/* Session revocations by email: sets (or moves) its revoked_at to now. */
int store_revoke_email(store_t *st, const char *email, int64_t now);

/* Freeing what the store hands out. Token, tunnel and route arrays hold no
 * pointers: free() them. */
void store_strv_clear(store_strv_t *sv);
void store_app_clear(store_app_t *a);
void store_apps_free(store_app_t *v, size_t n);
void store_policy_clear(store_policy_t *p);
void store_policies_free(store_policy_t *v, size_t n);
void store_idp_clear(store_idp_t *p);
void store_idps_free(store_idp_t *v, size_t n);

/* ---- the audit log (edge/audit/audit.c appends, GET /api/v1/audit reads) ---- */

typedef struct store_audit_rec {
	int64_t id; /* set by the store: orders records as written; ignored on append */
	int64_t time_ms;
	const char *edge, *kind, *event, *actor, *app, *hostname, *client, *what, *reason, *session;
	int status;
	uint64_t bytes_up, bytes_down;
	int64_t duration_ms;
} store_audit_rec_t;

typedef struct store_audit_filter {
	int64_t after;		/* only records with a larger id */
	int64_t since_ms;	/* and written at or after this time; 0: any */
	const char *app, *kind; /* NULL or "": any */
	int64_t limit;
} store_audit_filter_t;

/* Called for each record found, oldest first; its strings live until it
 * returns. Non-zero stops the query and is returned. */
typedef int (*store_audit_fn)(void *arg, const store_audit_rec_t *rec);

/* Appends n records in one transaction (all or none). Records do not move
 * the change counter: no model depends on them. */
int store_audit_append(store_t *st, const store_audit_rec_t *recs, size_t n);
/* Deletes records written before before_ms; *deleted says how many. */
int store_audit_prune(store_t *st, int64_t before_ms, int64_t *deleted);
int store_audit_query(store_t *st, const store_audit_filter_t *f, store_audit_fn fn, void *arg);

/* DEPRECATED: the SQLite handle, for white-box fuzzing only. NULL for
 * another engine. Code uses the operations above. */
struct sqlite3 *store_db(store_t *st);

#endif
