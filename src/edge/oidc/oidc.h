/* oidc.h — the edge as an OpenID Connect relying party: authorization code
 * flow with PKCE (S256), state and nonce bound to the browser that started
 * the login (a sealed cookie), discovery and JWKS per provider (cached), the
 * token request over HTTPS (libcurl's multi interface on the edge's loop)
 * and the ID token's verification (oidc_verify.h).
 *
 * The auth domain's routes (edge/http/) call this; it never writes HTTP
 * responses itself. Everything runs on the loop thread, callbacks included,
 * and each started operation ends with exactly one callback (never from
 * inside the call that started it) unless it is cancelled. Errors are one
 * line naming the provider and what to check; they never hold a code, a
 * token, a cookie or a secret. */
#ifndef BURROW_EDGE_OIDC_OIDC_H
#define BURROW_EDGE_OIDC_OIDC_H

#include "edge/auth/apptoken.h"
#include "edge/edge.h"

#define OIDC_STATE_COOKIE "burrow_oidc"
#define OIDC_CALLBACK_PATH "/cdn-cgi/access/callback"
#define OIDC_LOGIN_TTL 600   /* seconds a login may take: the cookie's life */
#define OIDC_RET_MAX 2048    /* bytes of the caller's return path kept in the cookie */
#define OIDC_COOKIE_MAX 4096 /* the longest cookie value oidc_begin makes */

typedef struct oidc oidc_t;

/* A curl multi on e->loop and a random key for the state cookie. Reads
 * e->model (providers) and e->auth_origin (the redirect URI) at each call,
 * so model reloads need no notice. 0, ERR_NOMEM or ERR_UNAVAIL. */
int oidc_init(edge_t *e, oidc_t **out);
/* Cancels everything in flight: no callback runs after it. Frees once the
 * loop has closed its handles. Not from inside an oidc callback. */
void oidc_close(oidc_t *o);

/* Starts a login at provider idp (a name in e->model): resolves discovery
 * (cached), then cb gets the provider URL to redirect the browser to and the
 * value of the cookie to set (name OIDC_STATE_COOKIE; the caller sets it
 * Path=/cdn-cgi/access/; Secure; HttpOnly; SameSite=Lax; Max-Age=600). The
 * cookie is sealed (XChaCha20-Poly1305 with oidc_init's key) and holds the
 * state, nonce, PKCE verifier, idp, ret and an expiry. ret is opaque here
 * (at most OIDC_RET_MAX bytes). Returns 0 (cb will run) or an error (it
 * will not): ERR_INVAL for a bad argument, ERR_UNAVAIL when too many
 * requests are in flight. */
typedef void (*oidc_begin_cb)(void *arg, int status /* 0 or ERR_* */, const char *location,
			      const char *cookie, const char *err);
int oidc_begin(oidc_t *o, const char *idp, const char *ret, oidc_begin_cb cb, void *arg);

/* The provider sent the browser to /cdn-cgi/access/callback?QUERY with the
 * state cookie (its value, or NULL when absent): checks the query's state
 * against the cookie's (constant time) and refuses a state seen before
 * (single use), a provider `error` (its code and description, printable
 * ASCII, in err: escape it for HTML), a missing code; exchanges the code at
 * the token endpoint (client_secret_basic, code_verifier, the exact
 * redirect_uri), verifies the ID token and calls cb with the identity
 * (email lowercased, sub, idp = the provider's name, login_method "oidc",
 * groups from the provider's groups claim) and the ret from the cookie
 * (NULL when the cookie could not be read). Status: ERR_AUTH (refused: err
 * says why), ERR_UNAVAIL (the provider could not be reached or answered
 * badly; or too much in flight). Every refusal comes through cb; the call
 * itself returns an error (and cb never runs) only for a NULL argument
 * (ERR_INVAL) or no memory (ERR_NOMEM). oidc_begin likewise. */
typedef void (*oidc_done_cb)(void *arg, int status, const identity_t *id, const char *ret, const char *err);
int oidc_callback(oidc_t *o, const char *query, const char *cookie, oidc_done_cb cb, void *arg);

/* The browser's connection went away: no callback runs for arg (every
 * operation started with it). */
void oidc_cancel(oidc_t *o, void *arg);

#endif
