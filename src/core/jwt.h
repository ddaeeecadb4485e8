/* jwt.h — JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515).
 *
 * Parsing is separate from trusting: jwt_parse only checks the shape (three
 * base64url parts, JSON objects, an "alg" on the allow-list) and copies what
 * the caller needs; jwt_verify checks the signature against one key. Claims
 * (iss, aud, exp, ...) are the caller's business: the edge's app tokens in
 * edge/auth/apptoken.c, a client reading its cached token's "exp".
 *
 * Allow-list: RS256, PS256, ES256. Everything else — "none", HS256 (a
 * public key used as an HMAC secret), ES384, a missing or non-string alg —
 * is refused by jwt_parse. jwt_verify also refuses an alg that does not fit
 * the key (ES256 needs an EC P-256 key, RS256/PS256 an RSA key of >= 2048
 * bits). ES256 signatures are the JOSE form: r||s, 64 bytes. A header
 * with "crit" is refused too: no extension is implemented.
 *
 * Bounded: a token longer than JWT_MAX bytes is refused (ERR_INVAL) before
 * any decoding.
 * Errors are ERR_INVAL (shape, base64, JSON, alg) or ERR_AUTH (signature),
 * with one line in err that never quotes the token. */
#ifndef BURROW_CORE_JWT_H
#define BURROW_CORE_JWT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX 8192
#define JWT_KID_MAX 128

enum jwt_alg { JWT_RS256 = 1, JWT_PS256, JWT_ES256 };

typedef struct jwt {
	enum jwt_alg alg;
	char kid[JWT_KID_MAX + 1]; /* "" when the header has none */
	json_t *header;		   /* owned: the decoded header object */
	json_t *claims;		   /* owned: the decoded payload object */
	char *signing_input;	   /* owned: "<b64 header>.<b64 payload>" */
	size_t signing_len;
	uint8_t *sig; /* owned: decoded signature */
	size_t siglen;
} jwt_t;

/* Parses tok[0..len) (no NUL needed). On success out owns its parts: free
 * with jwt_clear (also safe on a zeroed or failed jwt_t). */
int jwt_parse(const char *tok, size_t len, jwt_t *out, char *err, size_t errlen);
void jwt_clear(jwt_t *j);

/* Checks j's signature with key (a public or private EVP_PKEY). 0 when it
 * verifies; ERR_AUTH when it does not; ERR_INVAL when alg and key disagree. */
int jwt_verify(const jwt_t *j, EVP_PKEY *key, char *err, size_t errlen);

/* Signs claims with an EC P-256 private key as ES256, header
 * {"alg":"ES256","kid":kid,"typ":"JWT"} (no "kid" when kid is NULL).
 * Returns a malloc'd NUL-terminated token, or NULL (allocation or key
 * failure, claims not an object, a kid over JWT_KID_MAX, or a token that
 * would be longer than JWT_MAX: what it signs, jwt_parse reads back). */
char *jwt_sign_es256(EVP_PKEY *key, const char *kid, const json_t *claims);

/* A key's public half as a JWK object: EC P-256 {"kty":"EC","crv":"P-256",
 * "x","y","kid","alg":"ES256","use":"sig"} or RSA {"kty":"RSA","n","e",
 * "kid","alg":"RS256","use":"sig"}. NULL on failure. */
json_t *jwt_jwk_public(EVP_PKEY *key, const char *kid);

/* The public key in a JWK object (from a provider's JWKS): kty EC (crv
 * P-256, a point on the curve) or RSA (2048 to 8192 bits, odd e); anything
 * else, a private member ("d", "p", ..., "k") or a malformed member is
 * refused, and so is a "use" other than "sig" or an "alg" that does not fit
 * the key. Returns a new EVP_PKEY, or NULL with err. */
EVP_PKEY *jwt_jwk_import(const json_t *jwk, char *err, size_t errlen);

/* Unpadded base64url (RFC 4648 §5). encode writes a NUL-terminated string
 * and returns its length, or 0 when out (outlen bytes) is too small.
 * decode refuses padding, characters outside the alphabet, impossible
 * lengths and unused bits that are not zero (so each byte string has one
 * spelling), and output that does not fit in outlen; returns the decoded
 * length or -1. */
size_t b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
long b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen);

/* A numeric claim ("exp", "iat", "nbf") as whole seconds: 0 when present
 * and an integer (or a real with no fraction) in 0..2^53, ERR_NOTFOUND
 * when absent, ERR_INVAL otherwise. */
int jwt_claim_time(const jwt_t *j, const char *name, int64_t *out);

#endif
