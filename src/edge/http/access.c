/* access.c — where people log in: the auth domain's pages and the
 * /cdn-cgi/access/ paths of every application hostname.
 *
 * A CLI login (DESIGN.md, "CLI login") goes:
 *   app host  GET  /cdn-cgi/access/cli?transfer=T&key=K   302 to the auth domain
 *   auth      GET  /cdn-cgi/access/cli?host=H&transfer=T&key=K
 *                  no org session: 303 to /cdn-cgi/access/login?return=...
 *                  policy denies: 403 page naming the app
 *                  else a consent page showing the code the terminal shows
 *   auth      POST /cdn-cgi/access/cli  (CSRF-checked)  app token sealed to K, put under T
 *   app host  GET  /cdn-cgi/access/transfer/T           the sealed token (the CLI polls)
 * and the built-in provider's form:
 *   auth      GET/POST /cdn-cgi/access/login            password checked on the thread pool;
 *                                                       sets the org session (CF_Authorization)
 * plus /cdn-cgi/access/certs (JWKS), /get-identity and /logout on both.
 *
 * Must never: redirect anywhere but to this edge's own auth domain; accept a
 * form without its CSRF token; let a locked-out address or account check a
 * password (so a lock cannot be probed past); put a token, password or
 * cookie in a URL, log line or audit record. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/form.h"
#include "core/hostname.h"
#include "core/jwt.h"
#include "core/log.h"
#include "edge/auth/policy.h"
#include "edge/http/front_int.h"
#include "edge/http/pages.h"
#include "edge/oidc/oidc.h"

#define ACCESS_FORM_MAX 8192 /* a login or consent form's body */
#define ACCESS_PW_MAX 1024
#define ACCESS_RETURN_MAX 512
#define CSRF_COOKIE "burrow_csrf"
#define ORG_COOKIE "CF_Authorization"
#define HTML "text/html; charset=utf-8"
#define TEXT "text/plain; charset=utf-8"

/* ---- small helpers ---- */

static const char *query_of(const front_t *f)
{
	const char *q = strchr(f->hp->url, '?');
	return q ? q + 1 : "";
}

static int query_get(const front_t *f, const char *name, char *out, size_t outlen)
{
	const char *q = query_of(f);
	return form_get(q, strlen(q), name, out, outlen);
}

static int body_get(const front_t *f, const char *name, char *out, size_t outlen)
{
	const buf_t *b = &f->hp->body;
	return form_get((const char *)buf_head(b), buf_used(b), name, out, outlen);
}

static int cookie(const front_t *f, const char *name, char *out, size_t outlen)
{
	const http1_header_t *h = http1_header(f->hp, "Cookie");
	if (!h)
		return ERR_NOTFOUND;
	return cookie_get(h->value, h->value_len, name, out, outlen);
}

static void page(front_t *f, int status, const char *headers, char *html)
{
	if (!html) {
		front__send(f, 500, NULL, TEXT, "edge out of memory\n", false);
		return;
	}
	front__send(f, status, headers, HTML, html, false);
	free(html);
}

static void message(front_t *f, int status, const char *title, const char *text, const char *app,
		    const char *who)
{
	page(f, status, NULL, page_message(title, text, app, who));
}

static void redirect(front_t *f, int status, const char *location)
{
	char h[2200];
	snprintf(h, sizeof(h), "Location: %s\r\n", location);
	front__send(f, status, h, TEXT, NULL, false);
}

static void login_event(front_t *f, enum audit_kind kind, int status, const char *who, const char *app,
			const char *reason)
{
	audit_event_t ev = {.kind = kind, .status = status};
	front__event(f, &ev);
	snprintf(ev.actor, sizeof(ev.actor), "%.95s", who && who[0] ? who : "anonymous");
	if (app)
		snprintf(ev.app, sizeof(ev.app), "%s", app);
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason ? reason : "");
	audit_emit(f->e, &ev);
}

/* Where a login may go back to: a path on the auth domain itself, in
 * characters a Location header and an HTML attribute take as they are. */
static bool return_ok(const char *r)
{
	if (strncmp(r, "/cdn-cgi/access/", 16) != 0 || strlen(r) > ACCESS_RETURN_MAX)
		return false;
	for (const char *p = r; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\')
			return false;
	}
	return strstr(r, "//") == NULL;
}

/* ---- CSRF: a random nonce in a cookie, its HMAC in the form ---- */

typedef struct access_state {
	uint8_t csrf_key[32];
} access_state_t;

static access_state_t *state(edge_t *e)
{
	static access_state_t st; /* one edge per process */
	static bool ready;
	if (!ready) {
		if (RAND_bytes(st.csrf_key, sizeof(st.csrf_key)) != 1)
			abort(); /* no randomness: nothing here would be safe */
		ready = true;
	}
	return &st;
}

static void csrf_mac(edge_t *e, const char *nonce, char out[44])
{
	uint8_t mac[32];
	unsigned int n = sizeof(mac);
	HMAC(EVP_sha256(), state(e)->csrf_key, sizeof(state(e)->csrf_key), (const uint8_t *)nonce,
	     strlen(nonce), mac, &n);
	b64url_encode(mac, sizeof(mac), out, 44);
}

/* The form token for this browser; *set gets a Set-Cookie line when the
 * browser had no nonce yet. */
static void csrf_token(front_t *f, char tok[44], char *set, size_t setlen)
{
	char nonce[64];
	set[0] = '\0';
	if (cookie(f, CSRF_COOKIE, nonce, sizeof(nonce)) != 0 || strlen(nonce) != 43) {
		uint8_t r[32];
		RAND_bytes(r, sizeof(r));
		b64url_encode(r, sizeof(r), nonce, sizeof(nonce));
		snprintf(set, setlen,
			 "Set-Cookie: " CSRF_COOKIE
			 "=%s; Path=/cdn-cgi/access/; Secure; HttpOnly; SameSite=Strict\r\n",
			 nonce);
	}
	csrf_mac(f->e, nonce, tok);
}

static bool csrf_ok(front_t *f)
{
	char nonce[64], got[64], want[44];
	if (cookie(f, CSRF_COOKIE, nonce, sizeof(nonce)) != 0 || strlen(nonce) != 43 ||
	    body_get(f, "csrf", got, sizeof(got)) != 0 || strlen(got) != 43)
		return false;
	csrf_mac(f->e, nonce, want);
	return CRYPTO_memcmp(got, want, 43) == 0;
}

static void csrf_refused(front_t *f)
{
	login_event(f, AUDIT_LOGIN_FAILED, 403, NULL, NULL, "form without a valid CSRF token");
	message(f, 403, "Form expired",
		"This form expired or was not sent by this site. Go back, reload the page and try again.",
		NULL, NULL);
}

/* ---- the org session ---- */

static bool org_session(front_t *f, identity_t *id)
{
	char tok[JWT_MAX + 1], why[160];
	if (cookie(f, ORG_COOKIE, tok, sizeof(tok)) != 0)
		return false;
	return apptoken_verify(f->e->model, f->e->auth_origin, NULL, tok, strlen(tok), time(NULL), id, why,
			       sizeof(why)) == 0;
}

static void subject_of(const front_t *f, const identity_t *id, policy_subject_t *s)
{
	memset(s, 0, sizeof(*s));
	s->email = id->email;
	s->groups = id->groups;
	s->ngroups = id->ngroups;
	s->login_method = id->login_method;
	s->addr = (const struct sockaddr *)&f->peer_ss;
}

/* ---- the built-in provider's login form ---- */

/* The app a login is for, when it goes back to a CLI consent page. */
static const model_app_t *return_app_of(const front_t *f, const char *ret)
{
	const char *q = strncmp(ret, "/cdn-cgi/access/cli?", 20) == 0 ? ret + 20 : NULL;
	char h[HOSTNAME_MAX + 1], host[HOSTNAME_MAX + 1];
	if (!q || form_get(q, strlen(q), "host", h, sizeof(h)) != 0 ||
	    hostname_normalize(h, strlen(h), host) != 0)
		return NULL;
	return model_app_by_host(f->e->model, host);
}

#define LOGIN_IDPS_MAX 16

/* The login page offers the providers the app accepts (every provider
 * when it names none) and the built-in users' form when it accepts them. */
static void login_form(front_t *f, int status, const char *ret, const char *error, const char *email)
{
	const model_t *m = f->e->model;
	const model_app_t *app = return_app_of(f, ret);
	const char *idps[LOGIN_IDPS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < m->nidps && n < LOGIN_IDPS_MAX; i++)
		if (!app || model_app_accepts_idp(app, m->idps[i].name))
			idps[n++] = m->idps[i].name;
	bool form = !app || model_app_accepts_idp(app, "local");
	char tok[44], set[160];
	csrf_token(f, tok, set, sizeof(set));
	page(f, status, set[0] ? set : NULL,
	     page_login(app ? app->name : NULL, ret, tok, error, email, idps, n, form));
}

static void login_get(front_t *f)
{
	char ret[ACCESS_RETURN_MAX + 1] = "";
	if (query_get(f, "return", ret, sizeof(ret)) != 0 || !return_ok(ret))
		ret[0] = '\0';
	identity_t id;
	if (org_session(f, &id)) {
		if (ret[0]) {
			char loc[ACCESS_RETURN_MAX + HOSTNAME_MAX + 32];
			snprintf(loc, sizeof(loc), "%s%s", f->e->auth_origin, ret);
			redirect(f, 303, loc);
		} else {
			message(f, 200, "Logged in", "You are logged in. You may close this tab.", NULL,
				id.email);
		}
		return;
	}
	login_form(f, 200, ret, NULL, NULL);
}

typedef struct pw_check {
	uv_work_t req;
	front_t *f;
	char email[STORE_EMAIL_MAX + 1];
	char pw[ACCESS_PW_MAX + 1];
	char hash[STORE_PWHASH_MAX + 1]; /* "" for an unknown user */
	char ret[ACCESS_RETURN_MAX + 1];
	bool ok;
} pw_check_t;

/* A hash to check unknown users against, so that they take as long. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static uv_once_t dummy_once = UV_ONCE_INIT;
static void dummy_make(void)
{
	uint8_t r[16];
	randombytes_buf(r, sizeof(r));
	if (crypto_pwhash_str(dummy_hash, (const char *)r, sizeof(r), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = '\0';
}

static void pw_work(uv_work_t *req)
{
	pw_check_t *w = req->data;
	if (w->hash[0]) {
		w->ok = crypto_pwhash_str_verify(w->hash, w->pw, strlen(w->pw)) == 0;
	} else {
		uv_once(&dummy_once, dummy_make);
		if (dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, w->pw, strlen(w->pw)) == 0)
			log_debug("login: a random password matched (impossible)");
		w->ok = false;
	}
	sodium_memzero(w->pw, sizeof(w->pw));
}

/* A person logged in (through how): the org session cookie, an audit
 * event, and back to ret (a checked path on the auth domain) or a page.
 * extra: more header lines (ending CRLF) or "". */
static void logged_in(front_t *f, const identity_t *id, const char *ret, const char *how, const char *extra)
{
	edge_t *e = f->e;
	char why[160];
	char *tok = apptoken_mint(e->model, e->auth_origin, NULL, id, time(NULL), why, sizeof(why));
	if (!tok) {
		message(f, 500, "Login failed", why, NULL, NULL);
		return;
	}
	login_event(f, AUDIT_LOGIN, 200, id->email, NULL, how);
	size_t hl = strlen(tok) + strlen(extra) + ACCESS_RETURN_MAX + HOSTNAME_MAX + 256;
	char *h = malloc(hl);
	if (h) {
		int n = snprintf(h, hl,
				 "Set-Cookie: " ORG_COOKIE
				 "=%s; Path=/; Max-Age=%d; Secure; HttpOnly; SameSite=Lax\r\n%s",
				 tok, APPTOKEN_ORG_TTL, extra);
		if (ret && ret[0] && return_ok(ret))
			snprintf(h + n, hl - (size_t)n, "Location: %s%s\r\n", e->auth_origin, ret);
	}
	OPENSSL_cleanse(tok, strlen(tok));
	free(tok);
	if (!h) {
		front__send(f, 500, NULL, TEXT, "edge out of memory\n", false);
		return;
	}
	if (ret && ret[0] && return_ok(ret))
		front__send(f, 303, h, TEXT, NULL, false);
	else
		page(
		    f, 200, h,
		    page_message("Logged in", "You are logged in. You may close this tab.", NULL, id->email));
	OPENSSL_cleanse(h, strlen(h));
	free(h);
}

static void pw_done(uv_work_t *req, int status)
{
	pw_check_t *w = req->data;
	front_t *f = w->f;
	f->work = NULL;
	if (f->state == F_WAIT && f->c) {
		edge_t *e = f->e;
		uint64_t now = uv_now(e->loop);
		if (w->ok && status == 0) {
			identity_t id = {0};
			snprintf(id.email, sizeof(id.email), "%s", w->email);
			snprintf(id.sub, sizeof(id.sub), "%s", w->email);
			snprintf(id.idp, sizeof(id.idp), "local");
			snprintf(id.login_method, sizeof(id.login_method), "local");
			logged_in(f, &id, w->ret, "built-in users (local)", "");
		} else {
			rl_fail(e->rl, &f->peer_ss, now);
			char id[STORE_EMAIL_MAX + 8];
			int n = snprintf(id, sizeof(id), "user:%s", w->email);
			rl_fail_id(e->rl, id, (size_t)n, now);
			login_event(f, AUDIT_LOGIN_FAILED, 401, w->email, NULL,
				    w->hash[0] ? "wrong password" : "no such user");
			login_form(f, 401, w->ret, "Wrong email or password.", w->email);
		}
	}
	sodium_memzero(w, sizeof(*w));
	free(w);
	front__unref(f);
}

static void login_post_body(front_t *f)
{
	edge_t *e = f->e;
	if (!csrf_ok(f)) {
		csrf_refused(f);
		return;
	}
	pw_check_t *w = calloc(1, sizeof(*w));
	if (!w) {
		front__send(f, 500, NULL, TEXT, "edge out of memory\n", false);
		return;
	}
	if (body_get(f, "return", w->ret, sizeof(w->ret)) != 0 || !return_ok(w->ret))
		w->ret[0] = '\0';
	if (body_get(f, "email", w->email, sizeof(w->email)) != 0 ||
	    body_get(f, "password", w->pw, sizeof(w->pw)) != 0 || !w->email[0] || !w->pw[0]) {
		char ret[ACCESS_RETURN_MAX + 1];
		memcpy(ret, w->ret, sizeof(ret));
		sodium_memzero(w, sizeof(*w));
		free(w);
		login_form(f, 400, ret, "Enter your email and password.", NULL);
		return;
	}
	for (char *p = w->email; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	/* Locked: no password is checked at all, right or wrong. */
	uint64_t now = uv_now(e->loop);
	char id[STORE_EMAIL_MAX + 8];
	int n = snprintf(id, sizeof(id), "user:%s", w->email);
	if (rl_blocked_ms(e->rl, &f->peer_ss, now) || rl_blocked_id_ms(e->rl, id, (size_t)n, now)) {
		login_event(f, AUDIT_LOGIN_FAILED, 429, w->email, NULL,
			    "too many failed logins: locked for a while");
		sodium_memzero(w, sizeof(*w));
		free(w);
		message(f, 429, "Too many failed logins",
			"Too many failed logins for this account or from your address. Wait a minute and try "
			"again.",
			NULL, NULL);
		return;
	}
	const model_user_t *u = model_user_by_email(e->model, w->email);
	if (u)
		snprintf(w->hash, sizeof(w->hash), "%s", u->pw_hash);
	w->f = f;
	w->req.data = w;
	f->refs++;
	f->work = w;
	front__wait(f, 0);
	if (uv_queue_work(e->loop, &w->req, pw_work, pw_done) != 0) {
		f->refs--;
		f->work = NULL;
		sodium_memzero(w, sizeof(*w));
		free(w);
		front__send(f, 503, NULL, TEXT, "edge busy; retry\n", false);
	}
}

/* ---- CLI login: consent and transfer ---- */

typedef struct cli_params {
	char host[HOSTNAME_MAX + 1];
	char transfer[TRANSFER_ID_LEN + 1];
	char key[64];
	uint8_t pk[32];
	char code[10]; /* "1a2b-3c4d": the first 4 bytes of SHA-256(pk) */
} cli_params_t;

typedef int (*getter_fn)(const front_t *f, const char *name, char *out, size_t outlen);

static bool cli_params(const front_t *f, getter_fn get, bool need_host, cli_params_t *p)
{
	memset(p, 0, sizeof(*p));
	char h[HOSTNAME_MAX + 1];
	if (need_host &&
	    (get(f, "host", h, sizeof(h)) != 0 || hostname_normalize(h, strlen(h), p->host) != 0))
		return false;
	if (get(f, "transfer", p->transfer, sizeof(p->transfer)) != 0 || !transfer_id_ok(p->transfer) ||
	    get(f, "key", p->key, sizeof(p->key)) != 0 || strlen(p->key) != 43 ||
	    b64url_decode(p->key, 43, p->pk, sizeof(p->pk)) != 32)
		return false;
	uint8_t d[32];
	unsigned int dn = sizeof(d);
	EVP_Digest(p->pk, sizeof(p->pk), d, &dn, EVP_sha256(), NULL);
	snprintf(p->code, sizeof(p->code), "%02x%02x-%02x%02x", d[0], d[1], d[2], d[3]);
	return true;
}

static const char bad_cli[] = "This login link is incomplete or damaged. Run burrow access login again.";

/* The app for p->host and whether id may use it; answers the page itself
 * (and returns NULL) when not. */
static const model_app_t *cli_allowed(front_t *f, const cli_params_t *p, const identity_t *id)
{
	const model_app_t *app = model_app_by_host(f->e->model, p->host);
	if (!app) {
		message(f, 404, "Unknown application", "No application on this edge serves that hostname.",
			NULL, id->email);
		return NULL;
	}
	snprintf(f->app, sizeof(f->app), "%s", app->name);
	policy_subject_t s;
	subject_of(f, id, &s);
	policy_decision_t d;
	if (!model_app_accepts_idp(app, id->idp)) { /* first: the app's --idp, then its policies */
		memset(&d, 0, sizeof(d));
		snprintf(d.reason, sizeof(d.reason), "app %.64s does not accept logins through %.64s",
			 app->name, id->idp);
	} else {
		policy_eval(app, &s, &d);
	}
	if (!d.allowed) {
		login_event(f, AUDIT_DECISION, 403, id->email, app->name, d.reason);
		/* The waiting client learns it too, in one line. */
		char line[600];
		snprintf(line, sizeof(line), "access to %s denied for %s: %s", app->name, id->email,
			 d.reason);
		char *l = strdup(line);
		if (l)
			transfer_put(f->e, p->transfer, 403, l);
		char text[640];
		snprintf(text, sizeof(text), "Access denied: %s may not use %s (%s).", id->email, app->name,
			 d.reason);
		message(f, 403, "Access denied", text, app->name, id->email);
		return NULL;
	}
	return app;
}

static void cli_get(front_t *f)
{
	cli_params_t p;
	if (!cli_params(f, query_get, true, &p)) {
		message(f, 400, "Bad login link", bad_cli, NULL, NULL);
		return;
	}
	identity_t id;
	if (!org_session(f, &id)) {
		char ret[ACCESS_RETURN_MAX + 1], enc[ACCESS_RETURN_MAX * 3 + 1], loc[ACCESS_RETURN_MAX * 4];
		snprintf(ret, sizeof(ret), "/cdn-cgi/access/cli?host=%s&transfer=%s&key=%s", p.host,
			 p.transfer, p.key);
		url_encode(ret, enc, sizeof(enc));
		snprintf(loc, sizeof(loc), "%s/cdn-cgi/access/login?return=%s", f->e->auth_origin, enc);
		redirect(f, 303, loc);
		return;
	}
	const model_app_t *app = cli_allowed(f, &p, &id);
	if (!app)
		return;
	char tok[44], set[160];
	csrf_token(f, tok, set, sizeof(set));
	page(f, 200, set[0] ? set : NULL,
	     page_authorize(app->name, id.email, p.code, p.host, p.transfer, p.key, tok));
}

static void cli_post_body(front_t *f)
{
	if (!csrf_ok(f)) {
		csrf_refused(f);
		return;
	}
	cli_params_t p;
	if (!cli_params(f, body_get, true, &p)) {
		message(f, 400, "Bad login link", bad_cli, NULL, NULL);
		return;
	}
	identity_t id;
	if (!org_session(f, &id)) {
		message(f, 401, "Logged out", "Your login session ended. Run burrow access login again.",
			NULL, NULL);
		return;
	}
	const model_app_t *app = cli_allowed(f, &p, &id);
	if (!app)
		return;
	char why[160];
	char *tok = apptoken_mint(f->e->model, f->e->auth_origin, app, &id, time(NULL), why, sizeof(why));
	size_t tl = tok ? strlen(tok) : 0;
	size_t sl = tl + crypto_box_SEALBYTES;
	uint8_t *sealed = tok ? malloc(sl) : NULL;
	char *b64 = sealed ? malloc(sl * 4 / 3 + 4) : NULL;
	int r = b64 && crypto_box_seal(sealed, (const uint8_t *)tok, tl, p.pk) == 0 ? 0 : ERR_NOMEM;
	if (r == 0)
		b64url_encode(sealed, sl, b64, sl * 4 / 3 + 4);
	if (tok) {
		OPENSSL_cleanse(tok, tl);
		free(tok);
	}
	free(sealed);
	if (r == 0) {
		r = transfer_put(f->e, p.transfer, 200, b64); /* takes b64 */
		b64 = NULL;
	}
	free(b64);
	if (r != 0) {
		message(f, 503, "Try again",
			"The edge could not hand over the login right now. Try again shortly.", app->name,
			id.email);
		return;
	}
	login_event(f, AUDIT_DECISION, 200, id.email, app->name, "app token issued to the command line");
	char text[300];
	snprintf(text, sizeof(text), "The command line is logged in to %s. You may close this tab.",
		 app->name);
	message(f, 200, "Logged in", text, app->name, id.email);
}

/* ---- OpenID Connect providers (edge/oidc/) ---- */

static void oidc_begun(void *arg, int status, const char *location, const char *cookie, const char *err)
{
	front_t *f = arg;
	f->oidc_wait = false;
	if (f->state == F_WAIT && f->c) {
		if (status != 0) {
			login_event(f, AUDIT_LOGIN_FAILED, 502, NULL, NULL, err);
			message(f, 502, "Login failed", err, NULL, NULL);
		} else {
			size_t hl = strlen(location) + strlen(cookie) + 200;
			char *h = malloc(hl);
			if (h) {
				snprintf(h, hl,
					 "Set-Cookie: " OIDC_STATE_COOKIE
					 "=%s; Path=/cdn-cgi/access/; Max-Age=%d; Secure; "
					 "HttpOnly; SameSite=Lax\r\nLocation: %s\r\n",
					 cookie, OIDC_LOGIN_TTL, location);
				front__send(f, 302, h, TEXT, NULL, false);
				free(h);
			} else {
				front__send(f, 500, NULL, TEXT, "edge out of memory\n", false);
			}
		}
	}
	front__unref(f);
}

/* GET /cdn-cgi/access/login/NAME?return=R: off to provider NAME. */
static void oidc_start(front_t *f, const char *idp)
{
	edge_t *e = f->e;
	char ret[ACCESS_RETURN_MAX + 1] = "";
	if (query_get(f, "return", ret, sizeof(ret)) != 0 || !return_ok(ret))
		ret[0] = '\0';
	if (!model_idp_by_name(e->model, idp) || !e->oidc) {
		message(f, 404, "Unknown identity provider",
			"This edge has no identity provider of that name.", NULL, NULL);
		return;
	}
	f->refs++;
	f->oidc_wait = true;
	front__wait(f, 0);
	int r = oidc_begin(e->oidc, idp, ret, oidc_begun, f);
	if (r != 0) {
		f->oidc_wait = false;
		f->refs--;
		message(f, 503, "Try again", "The edge cannot start a login right now. Try again shortly.",
			NULL, NULL);
	}
}

static void oidc_done(void *arg, int status, const identity_t *id, const char *ret, const char *err)
{
	front_t *f = arg;
	f->oidc_wait = false;
	if (f->state == F_WAIT && f->c) {
		/* the state cookie has served: it goes either way */
		const char *gone =
		    "Set-Cookie: " OIDC_STATE_COOKIE "=; Path=/cdn-cgi/access/; Max-Age=0; Secure; "
		    "HttpOnly; SameSite=Lax\r\n";
		if (status == 0) {
			char how[160];
			snprintf(how, sizeof(how), "provider %.64s (oidc)", id->idp);
			logged_in(f, id, ret, how, gone);
		} else {
			login_event(f, AUDIT_LOGIN_FAILED, status == ERR_AUTH ? 401 : 502, NULL, NULL, err);
			page(f, status == ERR_AUTH ? 401 : 502, gone,
			     page_message("Login failed",
					  err && err[0] ? err : "the identity provider's answer was refused",
					  NULL, NULL));
		}
	}
	front__unref(f);
}

/* GET /cdn-cgi/access/callback?code=...&state=...: back from a provider. */
static void oidc_back(front_t *f)
{
	edge_t *e = f->e;
	char c[OIDC_COOKIE_MAX + 1];
	bool have = cookie(f, OIDC_STATE_COOKIE, c, sizeof(c)) == 0;
	if (!e->oidc) {
		message(f, 404, "Not found", "No login is in progress here.", NULL, NULL);
		return;
	}
	f->refs++;
	f->oidc_wait = true;
	front__wait(f, 0);
	if (oidc_callback(e->oidc, query_of(f), have ? c : NULL, oidc_done, f) != 0) {
		f->oidc_wait = false;
		f->refs--;
		message(f, 503, "Try again", "The edge cannot finish this login right now. Try again.", NULL,
			NULL);
	}
}

void access_closed(front_t *f)
{
	if (f->oidc_wait && f->e->oidc) {
		oidc_cancel(f->e->oidc, f);
		f->oidc_wait = false;
		front__unref(f); /* the operation's reference: its callback will not come */
	}
}

/* ---- keys, identity, logout ---- */

static void certs(front_t *f)
{
	char *jwks = apptoken_jwks(f->e->model);
	if (!jwks) {
		front__send(f, 500, NULL, TEXT, "edge out of memory\n", false);
		return;
	}
	front__send(f, 200, NULL, "application/json", jwks, false);
	free(jwks);
}

static void identity_json(front_t *f, const identity_t *id)
{
	json_t *groups = json_array();
	for (size_t i = 0; groups && i < id->ngroups; i++)
		json_array_append_new(groups, json_string(id->groups[i]));
	json_t *o =
	    json_pack("{s:s, s:s, s:{s:s, s:s}, s:o*, s:I, s:I}", "email", id->email, "sub",
		      id->sub[0] ? id->sub : id->email, "idp", "id", id->idp, "type", id->login_method,
		      "groups", groups, "iat", (json_int_t)id->iat, "exp", (json_int_t)id->exp);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	front__send(f, s ? 200 : 500, NULL, "application/json", s ? s : "{}", false);
	free(s);
}

static void logout(front_t *f)
{
	page(f, 200, "Set-Cookie: " ORG_COOKIE "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax\r\n",
	     page_message("Logged out", "You are logged out. You may close this tab.", NULL, NULL));
}

static bool is_get(const front_t *f)
{
	return f->hp->method == HTTP_GET || f->hp->method == HTTP_HEAD;
}

/* ---- routes ---- */

void access_route_auth(front_t *f, const char *path)
{
	const char *p = path + strlen("/cdn-cgi/access");
	identity_t id;
	if (strcmp(p, "/login") == 0 && is_get(f)) {
		login_get(f);
	} else if (strcmp(p, "/login") == 0 && f->hp->method == HTTP_POST) {
		front__read_body(f, ACCESS_FORM_MAX, login_post_body);
	} else if (strncmp(p, "/login/", 7) == 0 && is_get(f)) {
		oidc_start(f, p + 7);
	} else if (strcmp(p, "/callback") == 0 && is_get(f)) {
		oidc_back(f);
	} else if (strcmp(p, "/cli") == 0 && is_get(f)) {
		cli_get(f);
	} else if (strcmp(p, "/cli") == 0 && f->hp->method == HTTP_POST) {
		front__read_body(f, ACCESS_FORM_MAX, cli_post_body);
	} else if (strcmp(p, "/certs") == 0 && is_get(f)) {
		certs(f);
	} else if (strcmp(p, "/get-identity") == 0 && is_get(f)) {
		if (org_session(f, &id))
			identity_json(f, &id);
		else
			front__refuse(f, 401, "not logged in");
	} else if (strcmp(p, "/logout") == 0) {
		logout(f);
	} else {
		front__refuse(f, 404, "not found");
	}
}

void access_route_app(front_t *f, const char *path)
{
	edge_t *e = f->e;
	const char *p = path + strlen("/cdn-cgi/access");
	if (strcmp(p, "/certs") == 0 && is_get(f)) {
		certs(f);
		return;
	}
	if (!e->auth_host[0]) {
		front__refuse(f, 404,
			      "single sign-on is not set up on this edge (its administrator starts it with "
			      "--auth-domain)");
		return;
	}
	if (strcmp(p, "/cli") == 0 && is_get(f)) {
		cli_params_t cp;
		if (!cli_params(f, query_get, false, &cp)) {
			front__refuse(f, 400,
				      "bad login link: need transfer and key; run burrow access login again");
			return;
		}
		char loc[HOSTNAME_MAX * 2 + 256];
		snprintf(loc, sizeof(loc), "%s/cdn-cgi/access/cli?host=%s&transfer=%s&key=%s", e->auth_origin,
			 f->host, cp.transfer, cp.key);
		redirect(f, 302, loc);
	} else if (strncmp(p, "/transfer/", 10) == 0 && is_get(f)) {
		if (!transfer_id_ok(p + 10)) {
			front__refuse(f, 400, "bad transfer id");
			return;
		}
		transfer_get(f, p + 10);
	} else if (strcmp(p, "/get-identity") == 0 && is_get(f)) {
		const model_app_t *app = model_app_by_host(e->model, f->host);
		char why[256];
		int st = app ? access_app_token(f, app, why, sizeof(why)) : 404;
		if (st == 1)
			identity_json(f, f->id);
		else
			front__refuse(f, st == 0 ? 401 : st,
				      st == 0	  ? "no app token"
				      : st == 404 ? "not found"
						  : why);
	} else if (strcmp(p, "/logout") == 0) {
		logout(f);
	} else {
		front__refuse(f, 404, "not found");
	}
}

int access_app_token(front_t *f, const model_app_t *app, char *reason, size_t rlen)
{
	const http1_header_t *h = http1_header(f->hp, "cf-access-token");
	char tok[JWT_MAX + 1];
	size_t len;
	if (h) {
		if (http1_header_count(f->hp, "cf-access-token") != 1) {
			snprintf(reason, rlen, "more than one cf-access-token header");
			return 400;
		}
		len = h->value_len;
		if (len > JWT_MAX) {
			snprintf(reason, rlen,
				 "app token too large: log in again with: burrow access login https://%s",
				 f->host);
			return 401;
		}
		memcpy(tok, h->value, len);
		tok[len] = '\0';
	} else if (cookie(f, ORG_COOKIE, tok, sizeof(tok)) == 0) {
		len = strlen(tok);
	} else {
		return 0;
	}
	identity_t *id = malloc(sizeof(*id));
	char why[160];
	if (!id) {
		snprintf(reason, rlen, "edge out of memory; retry");
		return 503;
	}
	if (apptoken_verify(f->e->model, f->e->auth_origin, app, tok, len, time(NULL), id, why,
			    sizeof(why)) != 0) {
		free(id);
		snprintf(reason, rlen, "%s: log in again with: burrow access login https://%s", why, f->host);
		return 401;
	}
	free(f->id);
	f->id = id;
	free(f->jwt);
	f->jwt = strndup(tok, len); /* (NULL when out of memory: the connector then gets the email only) */
	OPENSSL_cleanse(tok, len);
	return 1;
}
