/* oidc_flow.c — the relying party's two steps: oidc_begin (state, nonce and
 * PKCE verifier into a sealed cookie; the provider's authorization URL) and
 * oidc_callback (state against cookie, single use, the code exchanged at
 * the token endpoint, the ID token verified against the provider's JWKS).
 *
 * Every login in flight is an op; it waits for its provider's documents
 * (oidc_provider.c) or its own token request, and is stepped from one timer
 * (the kick), so a callback never runs inside the call that started it nor
 * inside another op's callback. Must never: put a code, token, cookie or
 * secret into an error or a log line; call a callback after oidc_cancel for
 * its arg or after oidc_close. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/form.h"
#include "core/log.h"
#include "edge/oidc/oidc_int.h"

#define LOCATION_MAX 8192
#define FORM_MAX 8192

/* ---- ops ---- */

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void op_unlink(oidc_op_t *op)
{
	oidc_t *o = op->o;
	if (op->prev)
		op->prev->next = op->next;
	else
		o->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
	o->nops--;
}

static void op_free(oidc_op_t *op)
{
	oidc__http_cancel(op->req);
	wipe_free(op->code);
	wipe_free(op->id_token);
	sodium_memzero(&op->login, sizeof(op->login));
	free(op);
}

static void kick_cb(uv_timer_t *t);

static void kick(oidc_t *o)
{
	if (!o->closing)
		uv_timer_start(&o->kick, kick_cb, 0, 0);
}

static void op_ready(oidc_op_t *op, int status, const char *err)
{
	op->ready = true;
	op->waiting = -1;
	if (status != 0 && op->status == 0) {
		op->status = status;
		snprintf(op->err, sizeof(op->err), "%s", err && *err ? err : err_str(status));
	}
	kick(op->o);
}

static oidc_op_t *op_new(oidc_t *o, enum oidc_op_kind kind, void *arg)
{
	oidc_op_t *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->o = o;
	op->kind = kind;
	op->arg = arg;
	op->waiting = -1;
	op->next = o->ops;
	if (o->ops)
		o->ops->prev = op;
	o->ops = op;
	o->nops++;
	if (o->nops > OIDC_OPS_MAX)
		op_ready(op, ERR_UNAVAIL, "too many logins in flight at this edge; try again in a moment");
	return op;
}

/* The op's one callback; op is gone afterwards. */
static void op_finish(oidc_op_t *op, int status, const char *location, const char *cookie,
		      const identity_t *id, const char *err)
{
	op_unlink(op);
	if (status != 0)
		log_info("oidc: login %s: %s", op->kind == OIDC_OP_BEGIN ? "start" : "callback", err);
	if (op->kind == OIDC_OP_BEGIN)
		op->bcb(op->arg, status, status ? NULL : location, status ? NULL : cookie,
			status ? err : NULL);
	else
		op->dcb(op->arg, status, status ? NULL : id, op->have_login ? op->login.ret : NULL,
			status ? err : NULL);
	op_free(op);
}

static void op_fail(oidc_op_t *op, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void op_fail(oidc_op_t *op, int status, const char *fmt, ...)
{
	char err[OIDC_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	op_finish(op, status, NULL, NULL, NULL, err);
}

void oidc__prov_fetched(oidc_prov_t *p, enum oidc_doc which, int status, const char *err)
{
	for (oidc_op_t *op = p->o->ops; op; op = op->next)
		if (op->prov == p && op->waiting == (int)which)
			op_ready(op, status, err);
}

/* ---- helpers ---- */

static int rand_b64(char out[OIDC_RAND_B64 + 1])
{
	uint8_t b[32];
	randombytes_buf(b, sizeof(b));
	size_t n = b64url_encode(b, sizeof(b), out, OIDC_RAND_B64 + 1);
	sodium_memzero(b, sizeof(b));
	return n == OIDC_RAND_B64 ? 0 : ERR_INVAL;
}

/* S256: base64url(SHA-256(verifier)). */
static int pkce_challenge(const char *verifier, char out[OIDC_RAND_B64 + 1])
{
	uint8_t h[32];
	unsigned int n = 0;
	if (EVP_Digest(verifier, strlen(verifier), h, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return ERR_INVAL;
	return b64url_encode(h, 32, out, OIDC_RAND_B64 + 1) == OIDC_RAND_B64 ? 0 : ERR_INVAL;
}

/* Appends "&key=value" (value %-encoded; the first one without '&'). */
static bool add_param(char *out, size_t outlen, size_t *used, bool first, const char *key, const char *val)
{
	char enc[3 * 1024 + 1];
	if (!url_encode(val, enc, sizeof(enc)) && *val)
		return false;
	int n = snprintf(out + *used, outlen - *used, "%s%s=%s", first ? "" : "&", key, enc);
	if (n < 0 || (size_t)n >= outlen - *used)
		return false;
	*used += (size_t)n;
	return true;
}

static void redirect_uri(const oidc_t *o, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s", o->e->auth_origin, OIDC_CALLBACK_PATH);
}

/* Printable ASCII only, for text a provider sent that goes into err. */
static void sanitize(const char *in, char *out, size_t outlen)
{
	size_t i = 0;
	for (; in && in[i] && i + 1 < outlen; i++)
		out[i] = (char)((in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?');
	out[i] = '\0';
}

/* ---- begin ---- */

static void begin_step(oidc_op_t *op)
{
	oidc_t *o = op->o;
	const model_idp_t *mi = model_idp_by_name(o->e->model, op->login.idp);
	char err[OIDC_ERR_MAX], challenge[OIDC_RAND_B64 + 1], redirect[HOSTNAME_MAX + 64];
	char *loc = NULL, cookie[OIDC_COOKIE_MAX + 1];
	size_t used = 0;
	int r;

	if (!mi) {
		op_fail(op, ERR_NOTFOUND, "no identity provider named %s (burrow admin idp list shows them)",
			op->login.idp);
		return;
	}
	if (!o->e->auth_origin[0]) {
		op_fail(op, ERR_UNAVAIL, "provider %s: the edge has no --auth-domain, so no redirect URI",
			mi->name);
		return;
	}
	if (!(op->prov = oidc__prov_for(o, mi))) {
		op_fail(op, ERR_NOMEM, "provider %s: out of memory", mi->name);
		return;
	}
	r = oidc__prov_want(op->prov, OIDC_DISC, false, err, sizeof(err));
	if (r == 1) {
		op->waiting = OIDC_DISC;
		return;
	}
	if (r != 0) {
		op_fail(op, r, "%s", err);
		return;
	}
	if (rand_b64(op->login.state) != 0 || rand_b64(op->login.nonce) != 0 ||
	    rand_b64(op->login.verifier) != 0 || pkce_challenge(op->login.verifier, challenge) != 0 ||
	    !(loc = malloc(LOCATION_MAX))) {
		op_fail(op, ERR_NOMEM, "provider %s: cannot make the login's random values", mi->name);
		goto out;
	}
	op->login.exp = (int64_t)time(NULL) + OIDC_LOGIN_TTL;
	redirect_uri(o, redirect, sizeof(redirect));
	const char *ep = op->prov->disc.authorization_endpoint;
	int n = snprintf(loc, LOCATION_MAX, "%s%c", ep, strchr(ep, '?') ? '&' : '?');
	used = n > 0 ? (size_t)n : 0;
	if (n < 0 || (size_t)n >= LOCATION_MAX ||
	    !add_param(loc, LOCATION_MAX, &used, true, "response_type", "code") ||
	    !add_param(loc, LOCATION_MAX, &used, false, "client_id", mi->client_id) ||
	    !add_param(loc, LOCATION_MAX, &used, false, "redirect_uri", redirect) ||
	    !add_param(loc, LOCATION_MAX, &used, false, "scope", mi->scopes) ||
	    !add_param(loc, LOCATION_MAX, &used, false, "state", op->login.state) ||
	    !add_param(loc, LOCATION_MAX, &used, false, "nonce", op->login.nonce) ||
	    !add_param(loc, LOCATION_MAX, &used, false, "code_challenge", challenge) ||
	    !add_param(loc, LOCATION_MAX, &used, false, "code_challenge_method", "S256")) {
		op_fail(op, ERR_TOOBIG, "provider %s: its authorization URL would be too long", mi->name);
		goto out;
	}
	if (oidc__state_seal(o->key, &op->login, cookie, sizeof(cookie)) != 0) {
		op_fail(op, ERR_TOOBIG, "provider %s: the login's state does not fit in a cookie", mi->name);
		goto out;
	}
	op_finish(op, 0, loc, cookie, NULL, NULL);
out:
	sodium_memzero(cookie, sizeof(cookie));
	free(loc);
}

int oidc_begin(oidc_t *o, const char *idp, const char *ret, oidc_begin_cb cb, void *arg)
{
	if (!o || !idp || !cb || o->closing)
		return ERR_INVAL;
	if (ret && strlen(ret) > OIDC_RET_MAX)
		return ERR_INVAL;
	oidc_op_t *op = op_new(o, OIDC_OP_BEGIN, arg);
	if (!op)
		return ERR_NOMEM;
	op->bcb = cb;
	snprintf(op->login.idp, sizeof(op->login.idp), "%s", idp);
	snprintf(op->login.ret, sizeof(op->login.ret), "%s", ret ? ret : "");
	if (strlen(idp) >= sizeof(op->login.idp))
		op_ready(op, ERR_NOTFOUND, "no identity provider by that name");
	op_ready(op, 0, NULL);
	return 0;
}

/* ---- callback ---- */

/* The token response: its id_token into op, or why not. */
static void token_cb(void *arg, int status, long code, const char *body, size_t len, const char *why)
{
	oidc_op_t *op = arg;
	char err[OIDC_ERR_MAX], detail[300];
	json_t *j = NULL;

	op->req = NULL;
	if (status != 0) {
		snprintf(err, sizeof(err), "provider %s: the token request failed: %s", op->login.idp,
			 why && *why ? why : err_str(status));
		op_ready(op, ERR_UNAVAIL, err);
		return;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (code != 200) {
		const char *e = json_string_value(json_object_get(j, "error"));
		const char *d = json_string_value(json_object_get(j, "error_description"));
		char es[64], ds[200];
		sanitize(e, es, sizeof(es));
		sanitize(d, ds, sizeof(ds));
		if (e)
			snprintf(detail, sizeof(detail), "HTTP %ld %s%s%s%s", code, es, d ? " (" : "",
				 d ? ds : "", d ? ")" : "");
		else
			snprintf(detail, sizeof(detail), "HTTP %ld", code);
		snprintf(err, sizeof(err),
			 "provider %s: the token request was refused: %s; a code is good once and for a few "
			 "minutes: log in again, and check the client id and secret",
			 op->login.idp, detail);
		op_ready(op, ERR_AUTH, err);
		goto out;
	}
	const char *tok = json_string_value(json_object_get(j, "id_token"));
	if (!tok || !(op->id_token = strdup(tok))) {
		snprintf(err, sizeof(err),
			 "provider %s: the token response has no id_token (is scope openid asked?)",
			 op->login.idp);
		op_ready(op, ERR_UNAVAIL, err);
		goto out;
	}
	op->phase = OIDC_PH_JWKS;
	op_ready(op, 0, NULL);
out:
	if (j) {
		/* the response also held the access token: its copy goes with j */
		json_decref(j);
	}
}

/* client_secret_basic (RFC 6749 §2.3.1): id and secret form-encoded, then Basic. */
static int start_token_request(oidc_op_t *op, const model_idp_t *mi, char *err, size_t errlen)
{
	char *form = malloc(FORM_MAX), redirect[HOSTNAME_MAX + 64];
	char *user = malloc(3 * STORE_CLIENT_ID_MAX + 1), *pass = malloc(3 * STORE_CLIENT_SECRET_MAX + 1);
	size_t used = 0;
	int r = ERR_NOMEM;

	redirect_uri(op->o, redirect, sizeof(redirect));
	if (!form || !user || !pass)
		goto out;
	if (!url_encode(mi->client_id, user, 3 * STORE_CLIENT_ID_MAX + 1) ||
	    !url_encode(mi->client_secret, pass, 3 * STORE_CLIENT_SECRET_MAX + 1) ||
	    !add_param(form, FORM_MAX, &used, true, "grant_type", "authorization_code") ||
	    !add_param(form, FORM_MAX, &used, false, "code", op->code) ||
	    !add_param(form, FORM_MAX, &used, false, "redirect_uri", redirect) ||
	    !add_param(form, FORM_MAX, &used, false, "code_verifier", op->login.verifier)) {
		r = ERR_TOOBIG;
		snprintf(err, errlen, "provider %s: the code or the client credentials are too long",
			 mi->name);
		goto out;
	}
	oidc_http_opts_t ho = {.url = op->prov->disc.token_endpoint,
			       .ca_pem = mi->ca_pem,
			       .form = form,
			       .user = user,
			       .pass = pass};
	r = oidc__http_start(op->o->http, &ho, token_cb, op, &op->req);
	if (r != 0)
		snprintf(err, errlen, "provider %s: the token request cannot start: %s", mi->name,
			 r == ERR_UNAVAIL ? "too many requests to identity providers in flight; try again"
					  : err_str(r));
out:
	if (form) {
		OPENSSL_cleanse(form, FORM_MAX);
		free(form);
	}
	if (user)
		free(user);
	if (pass) {
		OPENSSL_cleanse(pass, 3 * STORE_CLIENT_SECRET_MAX + 1);
		free(pass);
	}
	if (r != 0 && r != ERR_TOOBIG && !err[0])
		snprintf(err, errlen, "provider %s: out of memory", mi->name);
	return r;
}

static void verify_step(oidc_op_t *op, const model_idp_t *mi)
{
	char err[OIDC_ERR_MAX], why[OIDC_ERR_MAX];
	identity_t id;
	oidc_expect_t x = {.issuer = mi->issuer,
			   .client_id = mi->client_id,
			   .nonce = op->login.nonce,
			   .groups_claim = mi->groups_claim,
			   .idp = mi->name,
			   .now = (int64_t)time(NULL)};
	int r = oidc_idtoken_verify(op->id_token, strlen(op->id_token), &op->prov->jwks, &x, &id, why,
				    sizeof(why));
	if (r == ERR_NOTFOUND && !op->refetched) {
		op->refetched = true;
		r = oidc__prov_want(op->prov, OIDC_JWKS, true, err, sizeof(err));
		if (r == 1) {
			op->waiting = OIDC_JWKS;
			return;
		}
		if (r == 0)
			r = ERR_NOTFOUND; /* (cannot happen: refresh never answers 0) */
	}
	if (r != 0) {
		op_fail(op, ERR_AUTH, "provider %s: %s", mi->name, why);
		return;
	}
	log_info("oidc: provider %s: %s logged in", mi->name, id.email);
	op_finish(op, 0, NULL, NULL, &id, NULL);
	sodium_memzero(&id, sizeof(id));
}

static void callback_step(oidc_op_t *op)
{
	oidc_t *o = op->o;
	const model_idp_t *mi = model_idp_by_name(o->e->model, op->login.idp);
	char err[OIDC_ERR_MAX];
	int r;

	if (!mi) {
		op_fail(op, ERR_AUTH, "provider %s no longer exists at this edge; log in again",
			op->login.idp);
		return;
	}
	if (!(op->prov = oidc__prov_for(o, mi))) {
		op_fail(op, ERR_NOMEM, "provider %s: out of memory", mi->name);
		return;
	}
	switch (op->phase) {
	case OIDC_PH_DISC:
		r = oidc__prov_want(op->prov, OIDC_DISC, false, err, sizeof(err));
		if (r == 1) {
			op->waiting = OIDC_DISC;
			return;
		}
		if (r != 0) {
			op_fail(op, r, "%s", err);
			return;
		}
		/* RFC 9207: a provider that names itself must be the one this login went to */
		if (op->iss_param[0] && strcmp(op->iss_param, mi->issuer) != 0) {
			op_fail(op, ERR_AUTH,
				"provider %s: the response names another issuer (iss): a mix-up of "
				"providers; log in "
				"again",
				mi->name);
			return;
		}
		err[0] = '\0';
		if (start_token_request(op, mi, err, sizeof(err)) != 0) {
			op_fail(op, ERR_UNAVAIL, "%s", err);
			return;
		}
		op->phase = OIDC_PH_TOKEN;
		return;
	case OIDC_PH_TOKEN: return; /* (token_cb moves it on) */
	case OIDC_PH_JWKS:
		r = oidc__prov_want(op->prov, OIDC_JWKS, false, err, sizeof(err));
		if (r == 1) {
			op->waiting = OIDC_JWKS;
			return;
		}
		if (r != 0) {
			op_fail(op, ERR_UNAVAIL, "%s", err);
			return;
		}
		op->phase = OIDC_PH_VERIFY;
		/* fall through */
	case OIDC_PH_VERIFY: verify_step(op, mi); return;
	}
}

/* Reads the redirect's query and the cookie into op; a refusal into op->err. */
static int callback_parse(oidc_op_t *op, const char *query, const char *cookie)
{
	oidc_t *o = op->o;
	char state[OIDC_RAND_B64 + 2], perr[128], pdesc[512], ps[64], pd[256];
	size_t qlen = strlen(query);
	int64_t now = (int64_t)time(NULL);
	int r;

	r = oidc__state_open(o->key, cookie, now, &op->login);
	if (r != 0) {
		snprintf(op->err, sizeof(op->err), "%s",
			 !cookie || !*cookie
			     ? "no login is in progress in this browser (its login cookie is missing): "
			       "start the login again"
			 : r == ERR_TIMEOUT
			     ? "the login took longer than 10 minutes: start it again"
			     : "this browser's login cookie is not valid here: start the login again");
		return ERR_AUTH;
	}
	op->have_login = true;
	r = form_get(query, qlen, "state", state, sizeof(state));
	if (r != 0 || strlen(state) != strlen(op->login.state) ||
	    CRYPTO_memcmp(state, op->login.state, strlen(state)) != 0) {
		snprintf(
		    op->err, sizeof(op->err),
		    "provider %s: the response does not belong to the login this browser started (state): "
		    "start the login again",
		    op->login.idp);
		return ERR_AUTH;
	}
	r = oidc__used_add(o->used, op->login.state, op->login.exp, now);
	if (r != 0) {
		snprintf(op->err, sizeof(op->err), "%s",
			 r == ERR_EXISTS
			     ? "this login response was used already (state): start the login again"
			     : "too many logins at this edge right now; try again in a moment");
		return r == ERR_EXISTS ? ERR_AUTH : ERR_UNAVAIL;
	}
	if ((r = form_get(query, qlen, "error", perr, sizeof(perr))) != ERR_NOTFOUND) {
		if (r != 0)
			snprintf(perr, sizeof(perr), "(unreadable)");
		if (form_get(query, qlen, "error_description", pdesc, sizeof(pdesc)) != 0)
			pdesc[0] = '\0';
		sanitize(perr, ps, sizeof(ps));
		sanitize(pdesc, pd, sizeof(pd));
		snprintf(op->err, sizeof(op->err), "provider %s refused the login: %s%s%s%s", op->login.idp,
			 ps, pd[0] ? " (" : "", pd, pd[0] ? ")" : "");
		return ERR_AUTH;
	}
	if ((r = form_get(query, qlen, "iss", op->iss_param, sizeof(op->iss_param))) != 0 &&
	    r != ERR_NOTFOUND) {
		snprintf(op->err, sizeof(op->err), "provider %s: the response's iss is malformed",
			 op->login.idp);
		return ERR_AUTH;
	}
	if (r == ERR_NOTFOUND)
		op->iss_param[0] = '\0';
	char *code = malloc(4096);
	if (!code)
		return ERR_NOMEM;
	if (form_get(query, qlen, "code", code, 4096) != 0 || !code[0]) {
		free(code);
		snprintf(op->err, sizeof(op->err), "provider %s: the response has no authorization code",
			 op->login.idp);
		return ERR_AUTH;
	}
	op->code = code;
	return 0;
}

int oidc_callback(oidc_t *o, const char *query, const char *cookie, oidc_done_cb cb, void *arg)
{
	if (!o || !query || !cb || o->closing)
		return ERR_INVAL;
	oidc_op_t *op = op_new(o, OIDC_OP_CALLBACK, arg);
	if (!op)
		return ERR_NOMEM;
	op->dcb = cb;
	if (op->status == 0) {
		int r = callback_parse(op, query, cookie);
		if (r != 0) {
			char err[OIDC_ERR_MAX];
			snprintf(err, sizeof(err), "%s", op->err[0] ? op->err : err_str(r));
			op_ready(op, r, err);
		}
	}
	op_ready(op, 0, NULL);
	return 0;
}

/* ---- the kick: steps ready ops, one at a time ---- */

static void kick_cb(uv_timer_t *t)
{
	oidc_t *o = t->data;
	for (;;) {
		/* (op_finish unlinks what it frees: the list holds no freed op; the
		 * analyzer cannot see that the head has no prev) */
		oidc_op_t *op = o->ops; // NOLINT(clang-analyzer-unix.Malloc)
		while (op && !op->ready) // NOLINT(clang-analyzer-unix.Malloc)
			op = op->next;
		if (!op || o->closing)
			return;
		op->ready = false;
		if (op->status != 0) {
			char err[OIDC_ERR_MAX];
			snprintf(err, sizeof(err), "%s", op->err);
			op_finish(op, op->status, NULL, NULL, NULL, err);
		} else if (op->kind == OIDC_OP_BEGIN) {
			begin_step(op);
		} else {
			callback_step(op);
		}
	}
}

void oidc_cancel(oidc_t *o, void *arg)
{
	if (!o)
		return;
	oidc_op_t *op = o->ops;
	while (op) {
		oidc_op_t *next = op->next;
		if (op->arg == arg) {
			op_unlink(op);
			op_free(op);
		}
		op = next;
	}
}

/* ---- lifetime ---- */

int oidc_init(edge_t *e, oidc_t **out)
{
	oidc_t *o;
	int r;

	*out = NULL;
	if (sodium_init() < 0)
		return ERR_UNAVAIL;
	if (!(o = calloc(1, sizeof(*o))))
		return ERR_NOMEM;
	o->e = e;
	randombytes_buf(o->key, sizeof(o->key));
	if ((r = oidc__used_init(&o->used)) != 0 || (r = oidc__http_init(e->loop, &o->http)) != 0) {
		oidc__used_free(o->used);
		sodium_memzero(o->key, sizeof(o->key));
		free(o);
		return r;
	}
	uv_timer_init(e->loop, &o->kick);
	o->kick.data = o;
	*out = o;
	return 0;
}

static void kick_closed(uv_handle_t *h)
{
	free(h->data);
}

void oidc_close(oidc_t *o)
{
	if (!o || o->closing)
		return;
	o->closing = true;
	oidc_op_t *op = o->ops; /* the whole list goes: detached first, then freed */
	o->ops = NULL;
	o->nops = 0;
	while (op) {
		oidc_op_t *next = op->next;
		op_free(op);
		op = next;
	}
	oidc__provs_free(o);
	oidc__http_close(o->http);
	oidc__used_free(o->used);
	sodium_memzero(o->key, sizeof(o->key));
	uv_timer_stop(&o->kick);
	uv_close((uv_handle_t *)&o->kick, kick_closed);
}
