/* oidc_verify.h — what the relying party reads from providers, as pure
 * functions (no I/O, no clock: `now` is passed), so unit tests and fuzz
 * targets call them directly: the discovery document, the JWKS and the ID
 * token.
 *
 * Every parser is bounded (documents at most OIDC_HTTP_BODY_MAX bytes,
 * OIDC_JWKS_MAX keys, URLs OIDC_URL_MAX) and refuses rather than repairs.
 * Errors are one line in err that never quotes a token. */
#ifndef BURROW_EDGE_OIDC_VERIFY_H
#define BURROW_EDGE_OIDC_VERIFY_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jwt.h"
#include "edge/auth/apptoken.h"

#define OIDC_URL_MAX 1024
#define OIDC_JWKS_MAX 64
#define OIDC_SKEW 60	   /* seconds of clock skew allowed on exp, iat and nbf */
#define OIDC_AUD_MAX 16	   /* values in an array "aud" */
#define OIDC_GROUP_MAX 255 /* bytes in one group name */

typedef struct oidc_discovery {
	char authorization_endpoint[OIDC_URL_MAX + 1];
	char token_endpoint[OIDC_URL_MAX + 1];
	char jwks_uri[OIDC_URL_MAX + 1];
} oidc_discovery_t;

/* The discovery document json[0..len): "issuer" must equal issuer byte for
 * byte; the three endpoints must be https URLs; when the provider lists
 * response_types_supported it must include "code", and when it lists
 * code_challenge_methods_supported, "S256". 0 or ERR_INVAL. */
int oidc_discovery_parse(const char *json, size_t len, const char *issuer, oidc_discovery_t *out, char *err,
			 size_t errlen);

typedef struct oidc_jwk {
	char kid[JWT_KID_MAX + 1]; /* "" when the key has none */
	EVP_PKEY *key;
} oidc_jwk_t;

typedef struct oidc_jwks {
	oidc_jwk_t *keys;
	size_t n;
} oidc_jwks_t;

/* A JWKS {"keys":[...]}: the signing keys jwt_jwk_import accepts; others
 * (encryption keys, unsupported types) are skipped. ERR_INVAL when it is not
 * a JWKS, holds more than OIDC_JWKS_MAX keys or none usable. out is cleared
 * with oidc_jwks_clear (also on failure). */
int oidc_jwks_parse(const char *json, size_t len, oidc_jwks_t *out, char *err, size_t errlen);
void oidc_jwks_clear(oidc_jwks_t *ks);

typedef struct oidc_expect {
	const char *issuer;	  /* "iss" must equal it */
	const char *client_id;	  /* in "aud"; "azp" when present (needed with several audiences) */
	const char *nonce;	  /* "nonce" must equal it */
	const char *groups_claim; /* where the groups are; NULL: "groups" */
	const char *idp;	  /* the provider's name, copied into the identity */
	int64_t now;
} oidc_expect_t;

/* Verifies an ID token: signature by a key of ks (alg RS256/PS256/ES256,
 * jwt_parse's allow-list; the key with its "kid", or any key when it has
 * none), iss, aud, azp, exp and iat (OIDC_SKEW), nbf when present, nonce,
 * sub, email (required), email_verified (when present it must be true) and
 * the groups claim (absent: none; else an array of at most
 * IDENTITY_GROUPS_MAX strings). Fills id (email lowercased, login_method
 * "oidc"). 0; ERR_NOTFOUND when no key of ks has its kid (fetch the JWKS
 * again); ERR_AUTH otherwise. */
int oidc_idtoken_verify(const char *tok, size_t len, const oidc_jwks_t *ks, const oidc_expect_t *x,
			identity_t *id, char *err, size_t errlen);

#endif
