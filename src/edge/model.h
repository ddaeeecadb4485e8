/* model.h — the edge's in-memory snapshot of its configuration.
 *
 * The event loop never queries the store. A worker thread loads a complete,
 * immutable model_t from the store (store_load_model, at start and after
 * every change); the
 * loop thread swaps it in and frees the old one. Lookups are therefore plain
 * memory reads on the loop thread. Hostnames are stored normalised
 * (hostname_normalize). */
#ifndef BURROW_EDGE_MODEL_H
#define BURROW_EDGE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

enum policy_action {
	POLICY_ALLOW = 1,    /* needs a user identity (app token) */
	POLICY_DENY,         /* refuses whoever matches */
	POLICY_BYPASS,       /* lets anyone who matches through, no credentials */
	POLICY_SERVICE_AUTH, /* needs a service token */
};

typedef struct model_policy {
	char *id;
	char *name;
	enum policy_action action;
	int precedence; /* lower runs first */
	char **include; /* selectors, e.g. "everyone", "service-token=ci" */
	size_t ninclude;
	char **require;
	size_t nrequire;
	char **exclude;
	size_t nexclude;
} model_policy_t;

typedef struct model_app {
	char *id;
	char *name;
	char *aud; /* application tag: 64 hex chars */
	char **hostnames;
	size_t nhostnames;
	int64_t session_duration; /* seconds */
	model_policy_t *policies; /* sorted by precedence */
	size_t npolicies;
	char **idps;  /* names of the identity providers it accepts */
	size_t nidps; /* 0: any provider */
} model_app_t;

typedef struct model_token {
	char *id; /* client id, e.g. "3f2a...9c.access" */
	char *name;
	uint8_t secret_hash[32]; /* SHA-256 of the secret */
	int64_t created_at;
	int64_t expires_at; /* 0: never */
	bool revoked;
} model_token_t;

typedef struct model_tunnel {
	char *id; /* UUID */
	char *name;
	uint8_t secret_hash[32];
	int64_t created_at;
} model_tunnel_t;

typedef struct model_route {
	char *hostname;
	char *tunnel_id;
} model_route_t;

/* A user of the built-in identity provider. */
typedef struct model_user {
	char *email;   /* lowercased */
	char *pw_hash; /* crypto_pwhash_str output (argon2id) */
	int64_t created_at;
} model_user_t;

/* One of the edge's own token-signing keys. */
typedef struct model_key {
	char kid[33];	/* 32 lowercase hex chars */
	EVP_PKEY *pkey; /* EC P-256 private key (signs app tokens) */
	int64_t created_at;
	int64_t retired_at; /* 0: the current signing key */
} model_key_t;

/* Everything issued to email at or before revoked_at is void. */
typedef struct model_revocation {
	char *email;
	int64_t revoked_at; /* tokens and org sessions issued at or before this are refused */
} model_revocation_t;

/* An OpenID Connect identity provider (edge/oidc/). */
typedef struct model_idp {
	char *name, *issuer, *client_id, *client_secret, *ca_pem /* NULL: system roots */, *groups_claim,
	    *scopes;
} model_idp_t;

typedef struct model {
	model_app_t *apps;
	size_t napps;
	model_token_t *tokens;
	size_t ntokens;
	model_tunnel_t *tunnels;
	size_t ntunnels;
	model_route_t *routes;
	size_t nroutes;
	model_user_t *users; /* by email */
	size_t nusers;
	model_key_t *keys; /* newest first */
	size_t nkeys;
	model_revocation_t *revocations;
	size_t nrevocations;
	model_idp_t *idps; /* by name */
	size_t nidps;
	int64_t version; /* the store's change version this was read at */
} model_t;

/* A model is loaded with store_load_model (edge/store/store.h). */
void model_free(model_t *m);

/* Lookups; host must already be normalised. NULL when absent. */
const model_app_t *model_app_by_host(const model_t *m, const char *host);
const model_app_t *model_app_by_name(const model_t *m, const char *name_or_id);
const model_token_t *model_token_by_id(const model_t *m, const char *client_id);
const model_token_t *model_token_by_name(const model_t *m, const char *name);
const model_tunnel_t *model_tunnel_by_id(const model_t *m, const char *id);
const model_route_t *model_route_by_host(const model_t *m, const char *host);
/* email must already be lowercased. */
const model_user_t *model_user_by_email(const model_t *m, const char *email);
const model_key_t *model_key_by_kid(const model_t *m, const char *kid);
/* keys[0] when its retired_at is 0, else NULL (no key signs). */
const model_key_t *model_signing_key(const model_t *m);
const model_idp_t *model_idp_by_name(const model_t *m, const char *name);
/* Whether app accepts logins through provider idp ("local" for the
 * built-in one): true when the app names no providers, or names idp. */
bool model_app_accepts_idp(const model_app_t *app, const char *idp);
/* When email's sessions were last revoked; 0 when never. */
int64_t model_revoked_at(const model_t *m, const char *email);

/* SHA-256 of a secret, and a constant-time check of a secret against one. */
void model_hash_secret(const char *secret, size_t len, uint8_t out[32]);
bool model_secret_ok(const uint8_t hash[32], const char *secret, size_t len);

#endif
