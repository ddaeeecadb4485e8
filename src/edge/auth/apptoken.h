/* apptoken.h — the tokens the edge signs: app tokens and org sessions.
 *
 * After a person logs in (built-in users, later OIDC providers) the edge
 * holds who they are in an identity_t and writes it into JWTs signed with
 * its current key (ES256, kid; keys in the store, public at
 * /cdn-cgi/access/certs):
 *   - the org session: cookie CF_Authorization on the auth domain, "type":
 *     "org", "aud" the auth domain's origin, valid APPTOKEN_ORG_TTL;
 *   - an app token per application: "type": "app", "aud" [the app's tag],
 *     valid the app's session duration; the client sends it as
 *     cf-access-token on every session.
 * Both carry iss (the auth domain's origin), sub, email, groups, idp,
 * login_method, iat, nbf, exp, jti.
 *
 * Verification refuses, each with its own one-line reason: a token that
 * does not parse, an unknown kid, a bad signature, another type, issuer or
 * audience (a token for app A at app B), expired or not yet valid, issued
 * at or before a revocation of its email, or a built-in user since deleted.
 * Must never: accept a token the edge did not sign, or put a token in a
 * reason or a log line. */
#ifndef BURROW_EDGE_AUTH_APPTOKEN_H
#define BURROW_EDGE_AUTH_APPTOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "edge/model.h"

#define APPTOKEN_ORG_TTL (24 * 3600)
#define APPTOKEN_DEFAULT_TTL (24 * 3600) /* an app without a session duration */
#define APPTOKEN_SKEW 60		 /* seconds of clock skew allowed on iat/nbf */
#define IDENTITY_GROUPS_MAX 32

typedef struct identity {
	char email[255];
	char sub[256];
	char idp[65];	       /* "local", or the provider's name */
	char login_method[16]; /* "local" or "oidc" (policy selector login-method=) */
	char groups_buf[1024]; /* NUL-separated */
	const char *groups[IDENTITY_GROUPS_MAX];
	size_t ngroups;
	int64_t iat, exp;
	char jti[44];
} identity_t;

/* Adds a group (copied); false when full. */
bool identity_add_group(identity_t *id, const char *g);

/* Signs an app token for app, or an org session (app NULL), valid from
 * now. Returns a malloc'd token (free it), or NULL with why. issuer is
 * the auth domain's origin ("https://auth.site.test[:port]"). */
char *apptoken_mint(const model_t *m, const char *issuer, const model_app_t *app, const identity_t *id,
		    time_t now, char *why, size_t whylen);

/* Verifies tok[0..len): an app token for app, or an org session (app
 * NULL). 0 and *out filled, or ERR_AUTH with a reason such as "app token
 * expired". */
int apptoken_verify(const model_t *m, const char *issuer, const model_app_t *app, const char *tok, size_t len,
		    time_t now, identity_t *out, char *why, size_t whylen);

/* The JWKS of m's keys: {"keys":[...]} (malloc'd JSON text), or NULL. */
char *apptoken_jwks(const model_t *m);

#endif
