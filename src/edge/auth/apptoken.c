/* apptoken.c — signing and checking the edge's own tokens (apptoken.h). */
#include "edge/auth/apptoken.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/jwt.h"

bool identity_add_group(identity_t *id, const char *g)
{
	size_t used = 0;
	if (id->ngroups)
		used = (size_t)(id->groups[id->ngroups - 1] - id->groups_buf) +
		       strlen(id->groups[id->ngroups - 1]) + 1;
	size_t n = strlen(g);
	if (id->ngroups >= IDENTITY_GROUPS_MAX || used + n + 1 > sizeof(id->groups_buf) || n == 0)
		return false;
	memcpy(id->groups_buf + used, g, n + 1);
	id->groups[id->ngroups++] = id->groups_buf + used;
	return true;
}

static void new_jti(char out[44])
{
	uint8_t r[32];
	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r)); /* (RAND_bytes does not fail once seeded) */
	b64url_encode(r, sizeof(r), out, 44);
}

char *apptoken_mint(const model_t *m, const char *issuer, const model_app_t *app, const identity_t *id,
		    time_t now, char *why, size_t whylen)
{
	const model_key_t *k = model_signing_key(m);
	if (!k) {
		snprintf(why, whylen, "the edge has no signing key");
		return NULL;
	}
	int64_t ttl = app ? (app->session_duration > 0 ? app->session_duration : APPTOKEN_DEFAULT_TTL)
			  : APPTOKEN_ORG_TTL;
	char jti[44];
	new_jti(jti);
	json_t *groups = json_array();
	for (size_t i = 0; groups && i < id->ngroups; i++)
		json_array_append_new(groups, json_string(id->groups[i]));
	json_t *aud = app ? json_pack("[s]", app->aud) : json_string(issuer);
	json_t *c =
	    json_pack("{s:s, s:o*, s:s, s:s, s:o*, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "iss", issuer, "aud",
		      aud, "sub", id->sub[0] ? id->sub : id->email, "email", id->email, "groups", groups,
		      "idp", id->idp, "login_method", id->login_method, "iat", (json_int_t)now, "nbf",
		      (json_int_t)now, "exp", (json_int_t)now + ttl, "jti", jti, "type", app ? "app" : "org");
	char *tok = c ? jwt_sign_es256(k->pkey, k->kid, c) : NULL;
	json_decref(c);
	if (!tok)
		snprintf(why, whylen, "the edge could not sign a token (out of memory?)");
	return tok;
}

static int refuse(char *why, size_t whylen, const char *what, const char *reason)
{
	snprintf(why, whylen, "%s %s", what, reason);
	return ERR_AUTH;
}

static bool aud_has(const json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	size_t i;
	const json_t *v;
	json_array_foreach(aud, i,
			   v) if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) return true;
	return false;
}

/* A string claim into out; false when absent, not a string or too long. */
static bool claim_str(const json_t *claims, const char *name, char *out, size_t outlen)
{
	const json_t *v = json_object_get(claims, name);
	if (!json_is_string(v) || json_string_length(v) >= outlen || json_string_length(v) == 0)
		return false;
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return false; /* an embedded NUL */
	memcpy(out, s, json_string_length(v) + 1);
	return true;
}

int apptoken_verify(const model_t *m, const char *issuer, const model_app_t *app, const char *tok, size_t len,
		    time_t now, identity_t *out, char *why, size_t whylen)
{
	const char *what = app ? "app token" : "login session";
	char err[160];
	jwt_t j = {0};
	int r = ERR_AUTH;
	memset(out, 0, sizeof(*out));
	if (jwt_parse(tok, len, &j, err, sizeof(err)) != 0) {
		refuse(why, whylen, what, "is malformed");
		goto out;
	}
	const model_key_t *k = j.alg == JWT_ES256 ? model_key_by_kid(m, j.kid) : NULL;
	if (!k) {
		refuse(why, whylen, what, "was not signed by this edge (unknown key)");
		goto out;
	}
	if (jwt_verify(&j, k->pkey, err, sizeof(err)) != 0) {
		refuse(why, whylen, what, "has a bad signature");
		goto out;
	}
	const json_t *c = j.claims;
	char type[8] = "", iss[300] = "";
	if (!claim_str(c, "type", type, sizeof(type)) || strcmp(type, app ? "app" : "org") != 0) {
		refuse(why, whylen, what, "is of another type");
		goto out;
	}
	if (!claim_str(c, "iss", iss, sizeof(iss)) || strcmp(iss, issuer) != 0) {
		refuse(why, whylen, what, "is from another issuer");
		goto out;
	}
	if (!aud_has(json_object_get(c, "aud"), app ? app->aud : issuer)) {
		refuse(why, whylen, what, app ? "is for another application" : "is for another domain");
		goto out;
	}
	int64_t exp, iat, nbf;
	if (jwt_claim_time(&j, "exp", &exp) != 0 || jwt_claim_time(&j, "iat", &iat) != 0) {
		refuse(why, whylen, what, "lacks exp or iat");
		goto out;
	}
	if (exp <= (int64_t)now) {
		refuse(why, whylen, what, "expired");
		goto out;
	}
	int nr = jwt_claim_time(&j, "nbf", &nbf);
	if (iat > (int64_t)now + APPTOKEN_SKEW || (nr == 0 && nbf > (int64_t)now + APPTOKEN_SKEW) ||
	    (nr != 0 && nr != ERR_NOTFOUND)) {
		refuse(why, whylen, what, "is not valid yet");
		goto out;
	}
	if (!claim_str(c, "email", out->email, sizeof(out->email)) ||
	    !claim_str(c, "idp", out->idp, sizeof(out->idp)) ||
	    !claim_str(c, "login_method", out->login_method, sizeof(out->login_method)) ||
	    !claim_str(c, "jti", out->jti, sizeof(out->jti))) {
		refuse(why, whylen, what, "lacks email, idp, login_method or jti");
		goto out;
	}
	claim_str(c, "sub", out->sub, sizeof(out->sub));
	const json_t *groups = json_object_get(c, "groups");
	size_t i;
	const json_t *g;
	json_array_foreach(groups, i,
			   g) if (!json_is_string(g) || !identity_add_group(out, json_string_value(g)))
	{
		refuse(why, whylen, what, "has malformed groups");
		goto out;
	}
	out->iat = iat;
	out->exp = exp;
	int64_t rev = model_revoked_at(m, out->email);
	if (rev && iat <= rev) {
		refuse(why, whylen, what, "was revoked by an administrator");
		goto out;
	}
	if (app && !model_app_accepts_idp(app, out->idp)) {
		refuse(why, whylen, what, "comes from an identity provider this application does not accept");
		goto out;
	}
	if (strcmp(out->login_method, "local") == 0 && !model_user_by_email(m, out->email)) {
		refuse(why, whylen, what, "belongs to a user who no longer exists");
		goto out;
	}
	r = 0;
out:
	jwt_clear(&j);
	if (r)
		memset(out, 0, sizeof(*out));
	return r;
}

char *apptoken_jwks(const model_t *m)
{
	json_t *keys = json_array();
	for (size_t i = 0; keys && i < m->nkeys; i++) {
		json_t *k = jwt_jwk_public(m->keys[i].pkey, m->keys[i].kid);
		if (k)
			json_array_append_new(keys, k);
	}
	json_t *o = json_pack("{s:o*}", "keys", keys);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}
