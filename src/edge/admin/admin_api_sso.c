/* admin_api_sso.c — admin API handlers for single sign-on: users of the
 * built-in identity provider, the edge's token-signing keys and per-email
 * session revocations.
 *
 * Runs on the store worker, never the loop: argon2id hashing (about 64 MiB
 * and a tenth of a second) and key generation happen here. A password exists
 * in the request body and in one stack buffer that is wiped after hashing;
 * it never reaches the store, a response, the log or the audit record
 * (audit_describe_admin names the email only). Private keys never leave the
 * store through this API. */
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/admin/admin_api_int.h"
#include "edge/auth/keys.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

int admin_api_init(void)
{
	/* idempotent and thread-safe: the first handler that hashes also calls it */
	if (sodium_init() < 0) {
		log_error("admin api: libsodium cannot be initialised");
		return ERR_UNAVAIL;
	}
	return 0;
}

bool admin__email_ok(const char *s)
{
	size_t n = 0, ats = 0, at = 0;
	for (; s && s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		/* printable ASCII; nothing that ends or escapes a path segment (DELETE /users/EMAIL) */
		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '%' ||
		    ch == '\\' || ch == '"')
			return false;
		if (ch == '@') {
			ats++;
			at = n;
		}
	}
	return n >= 1 && n <= STORE_EMAIL_MAX && ats == 1 && at > 0 && at < n - 1;
}

int admin__email(admin_ctx_t *c, const char *in, char out[STORE_EMAIL_MAX + 1])
{
	if (!in) {
		admin__error(c, 400, "\"email\" is required");
		return ERR_INVAL;
	}
	if (!admin__email_ok(in)) {
		admin__error(
		    c, 400,
		    "\"%s\" is not an email address: one '@' between a non-empty name and domain, at "
		    "most %d printable ASCII characters, none of space / ? # %% \\ \"",
		    admin__echo(in), STORE_EMAIL_MAX);
		return ERR_INVAL;
	}
	size_t i = 0;
	for (; in[i]; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
	out[i] = '\0';
	return 0;
}

/* Replies {key: [fn(item)...]}; r is the store call's result. */
static void reply_items(admin_ctx_t *c, int r, const char *key, json_t *(*fn)(const void *), const void *v,
			size_t n, size_t elem)
{
	json_t *arr = NULL;
	if (r != 0 || !(arr = json_array())) {
		admin__store_error(c, "list objects");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, fn((const char *)v + i * elem)) != 0) {
			json_decref(arr);
			admin__error(c, 500, "out of memory");
			return;
		}
	admin__reply(c, 200, json_pack("{s:o}", key, arr));
}

/* ---- users ---- */

static json_t *user_json(const void *item)
{
	const store_user_t *u = item;
	return json_pack("{s:s, s:I}", "email", u->email, "created_at", (json_int_t)u->created_at);
}

void admin__users_list(admin_ctx_t *c, const char *arg)
{
	store_user_t *v = NULL;
	size_t n = 0;
	int r = store_user_list(c->st, &v, &n);
	reply_items(c, r, "users", user_json, v, n, sizeof(*v));
	free(v);
}

/* The body's password, wiped in place once copied: jansson's copy would
 * otherwise be freed as it is. */
static void wipe_body_string(admin_ctx_t *c, const char *key)
{
	json_t *v = c->body ? json_object_get(c->body, key) : NULL;
	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

void admin__users_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"email", "password", NULL};
	const char *email_in, *pw_in;
	char pw[PASSWORD_MAX + 1];
	size_t pwlen = 0;
	store_user_t in = {0}, rec = {0};
	store_why_t why;
	int r;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "email", &email_in) != 0 ||
	    admin__email(c, email_in, in.email) != 0 || admin__get_string(c, "password", &pw_in) != 0)
		goto out;
	if (!pw_in) {
		admin__error(c, 400, "\"password\" is required");
		goto out;
	}
	pwlen = strlen(pw_in);
	if (pwlen < PASSWORD_MIN || pwlen > PASSWORD_MAX) {
		admin__error(c, 400, "\"password\" must be %d to %d bytes long (it has %zu)", PASSWORD_MIN,
			     PASSWORD_MAX, pwlen);
		goto out;
	}
	memcpy(pw, pw_in, pwlen + 1);
	wipe_body_string(c, "password");
	if (admin_api_init() != 0) {
		admin__error(c, 500, "the edge cannot hash passwords (libsodium failed to initialise)");
		goto out;
	}
	r = crypto_pwhash_str(in.pw_hash, pw, pwlen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE);
	sodium_memzero(pw, sizeof(pw));
	if (r != 0) {
		log_error("admin api: hashing a password failed (out of memory?)");
		admin__error(c, 500,
			     "the edge could not hash the password (out of memory); nothing was changed");
		goto out;
	}
	r = store_user_create(c->st, &in, &rec, &why);
	if (r == ERR_EXISTS) {
		admin__error(c, 409, "a user %s already exists; delete it first to set a new password",
			     in.email);
		goto out;
	}
	if (r != 0) {
		admin__store_error(c, "create the user");
		goto out;
	}
	c->resp->changed = true;
	log_info("admin api: created user %s", rec.email);
	admin__reply(c, 201, user_json(&rec));
out:
	wipe_body_string(c, "password");
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(&in, sizeof(in));
}

void admin__users_delete(admin_ctx_t *c, const char *arg)
{
	char email[STORE_EMAIL_MAX + 1];
	store_why_t why;

	if (admin__email(c, arg, email) != 0)
		return;
	int r = store_user_delete(c->st, email, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no user %s (burrow admin user list shows the users)", email);
		return;
	}
	if (r != 0) {
		admin__store_error(c, "delete the user");
		return;
	}
	c->resp->changed = true;
	log_info("admin api: deleted user %s", email);
	admin__reply(c, 200, json_pack("{s:s}", "deleted", email));
}

/* ---- token-signing keys ---- */

static json_t *key_json(const void *item)
{
	const store_key_t *k = item;
	return json_pack("{s:s, s:I, s:I}", "kid", k->kid, "created_at", (json_int_t)k->created_at,
			 "retired_at", (json_int_t)k->retired_at);
}

void admin__keys_list(admin_ctx_t *c, const char *arg)
{
	store_key_t *v = NULL;
	size_t n = 0;
	int r = store_key_list(c->st, &v, &n);
	reply_items(c, r, "keys", key_json, v, n, sizeof(*v));
	free(v);
}

/* How long retired keys stay: the longest app session (a token it signed
 * may live that long), at least 24 h. */
static int keep_seconds(admin_ctx_t *c, int64_t *out)
{
	store_app_t *apps = NULL;
	int64_t *durs = NULL;
	size_t n = 0;
	int r = store_app_list(c->st, &apps, &n);
	if (r == 0 && n && !(durs = calloc(n, sizeof(*durs))))
		r = ERR_NOMEM;
	for (size_t i = 0; r == 0 && i < n; i++)
		durs[i] = apps[i].session_duration;
	if (r == 0)
		*out = keys_keep_s(durs, n);
	free(durs);
	store_apps_free(apps, n);
	return r;
}

void admin__keys_rotate(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {NULL};
	char kid[33];
	char *pem = NULL;
	int64_t keep = 0, now = (int64_t)time(NULL);
	int r;

	if (admin__check_fields(c, fields) != 0)
		return;
	if (keep_seconds(c, &keep) != 0) {
		admin__store_error(c, "read the apps' session durations");
		return;
	}
	if (keys_new(kid, &pem) != 0) {
		admin__error(c, 500, "the edge could not generate a signing key; nothing was changed");
		return;
	}
	r = store_key_rotate(c->st, kid, pem, now, keep);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	if (r != 0) {
		admin__store_error(c, "store the new signing key");
		return;
	}
	c->resp->changed = true;
	log_info("admin api: rotated the token-signing key: %s is current", kid);
	admin__reply(c, 201, json_pack("{s:s, s:I}", "kid", kid, "created_at", (json_int_t)now));
}

/* ---- session revocation ---- */

/* Every app token and org session issued to the email up to now is refused
 * from the reload on (the live-session checker reads model_revoked_at). */
void admin__sessions_revoke(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"email", NULL};
	const char *email_in;
	char email[STORE_EMAIL_MAX + 1];
	int64_t now = (int64_t)time(NULL);

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "email", &email_in) != 0 ||
	    admin__email(c, email_in, email) != 0)
		return;
	if (store_revoke_email(c->st, email, now) != 0) {
		admin__store_error(c, "record the revocation");
		return;
	}
	c->resp->changed = true;
	log_info("admin api: revoked the sessions of %s", email);
	admin__reply(c, 200, json_pack("{s:s, s:I}", "email", email, "revoked_at", (json_int_t)now));
}
