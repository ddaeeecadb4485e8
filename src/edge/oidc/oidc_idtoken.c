/* oidc_idtoken.c — verifying an ID token from a provider (OpenID Connect
 * Core §3.1.3.7) and turning it into an identity_t.
 *
 * Pure: the keys, the expectations and the clock come in. Each refusal has
 * its own one-line reason, worded for the person at the browser and the
 * administrator reading the log; none quotes the token or its nonce. Must
 * never: accept a token without a signature by one of the provider's keys
 * (jwt_parse refuses "none" and HMAC), another audience, an expired token,
 * a replayed nonce, or an email the provider says it has not verified. */
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "edge/oidc/oidc_verify.h"

static int refuse(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "the ID token %s", msg);
	return ERR_AUTH;
}

/* The string claim, when it is one of at most max bytes without a NUL. */
static const char *claim_str(json_t *c, const char *name, size_t max)
{
	json_t *v = json_object_get(c, name);
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) > max || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

static bool aud_ok(json_t *c, const char *client_id, size_t *naud)
{
	json_t *aud = json_object_get(c, "aud"), *v;
	size_t i;
	bool found = false;
	*naud = 0;
	if (json_is_string(aud)) {
		*naud = 1;
		return strcmp(json_string_value(aud), client_id) == 0;
	}
	if (!json_is_array(aud) || json_array_size(aud) == 0 || json_array_size(aud) > OIDC_AUD_MAX)
		return false;
	json_array_foreach(aud, i, v)
	{
		if (!json_is_string(v))
			return false;
		found |= strcmp(json_string_value(v), client_id) == 0;
	}
	*naud = json_array_size(aud);
	return found;
}

/* Checks the signature: the key with the token's kid, or, without a kid,
 * any key that verifies. ERR_NOTFOUND when no key could be tried or none
 * verifies a token without kid (maybe keys rotated). */
static int check_sig(const jwt_t *j, const oidc_jwks_t *ks, char *err, size_t errlen)
{
	char why[128];
	bool tried = false;
	for (size_t i = 0; ks && i < ks->n; i++) {
		if (j->kid[0] && strcmp(ks->keys[i].kid, j->kid) != 0)
			continue;
		tried = true;
		if (jwt_verify(j, ks->keys[i].key, why, sizeof(why)) == 0)
			return 0;
		if (j->kid[0])
			return refuse(err, errlen, "has a bad signature");
	}
	if (err && errlen)
		snprintf(err, errlen, "the ID token is signed by a key not in the provider's JWKS");
	return tried && j->kid[0] ? ERR_AUTH : ERR_NOTFOUND;
}

static int check_times(const jwt_t *j, int64_t now, char *err, size_t errlen)
{
	int64_t exp, iat, nbf;
	int r;
	if (jwt_claim_time(j, "exp", &exp) != 0)
		return refuse(err, errlen, "has no valid exp");
	if (now >= exp + OIDC_SKEW)
		return refuse(err, errlen, "has expired: check the edge's and the provider's clocks");
	if (jwt_claim_time(j, "iat", &iat) != 0)
		return refuse(err, errlen, "has no valid iat");
	if (iat > now + OIDC_SKEW)
		return refuse(err, errlen,
			      "was issued in the future: check the edge's and the provider's clocks");
	if ((r = jwt_claim_time(j, "nbf", &nbf)) != ERR_NOTFOUND && (r != 0 || nbf > now + OIDC_SKEW))
		return refuse(err, errlen, "is not valid yet: check the edge's and the provider's clocks");
	return 0;
}

/* email_verified when present: true (or "true", as some providers send). */
static bool email_verified(json_t *c)
{
	json_t *v = json_object_get(c, "email_verified");
	if (!v)
		return true;
	if (json_is_string(v))
		return strcmp(json_string_value(v), "true") == 0;
	return json_is_true(v);
}

static int fill_groups(json_t *c, const char *claim, identity_t *id, char *err, size_t errlen)
{
	json_t *g = json_object_get(c, claim), *v;
	size_t i;
	if (!g || json_is_null(g))
		return 0;
	/* refused, not truncated: a dropped group could be the one an exclude rule names */
	if (!json_is_array(g) || json_array_size(g) > IDENTITY_GROUPS_MAX) {
		if (err && errlen)
			snprintf(err, errlen,
				 "the ID token's \"%s\" claim is not an array of at most %d groups", claim,
				 IDENTITY_GROUPS_MAX);
		return ERR_AUTH;
	}
	json_array_foreach(g, i, v)
	{
		const char *s = json_string_value(v);
		if (!s || json_string_length(v) > OIDC_GROUP_MAX || strlen(s) != json_string_length(v) ||
		    !identity_add_group(id, s)) {
			if (err && errlen)
				snprintf(
				    err, errlen,
				    "the ID token's \"%s\" claim has a group that is not a string of 1-%d "
				    "bytes, or more groups than fit",
				    claim, OIDC_GROUP_MAX);
			return ERR_AUTH;
		}
	}
	return 0;
}

static bool email_ok(const char *s)
{
	size_t n = 0, ats = 0;
	for (; s[n]; n++) {
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return false;
		ats += s[n] == '@';
	}
	return n >= 3 && n < sizeof(((identity_t *)0)->email) && ats == 1 && s[0] != '@' && s[n - 1] != '@';
}

int oidc_idtoken_verify(const char *tok, size_t len, const oidc_jwks_t *ks, const oidc_expect_t *x,
			identity_t *id, char *err, size_t errlen)
{
	jwt_t j = {0};
	char why[160];
	size_t naud;
	int r;

	memset(id, 0, sizeof(*id));
	if (jwt_parse(tok, len, &j, why, sizeof(why)) != 0) {
		if (err && errlen)
			snprintf(err, errlen, "the ID token does not parse: %s", why);
		r = ERR_AUTH;
		goto out;
	}
	if ((r = check_sig(&j, ks, err, errlen)) != 0)
		goto out;
	json_t *c = j.claims;
	const char *iss = claim_str(c, "iss", 1024), *azp = claim_str(c, "azp", 1024);
	const char *nonce = claim_str(c, "nonce", 512), *sub = claim_str(c, "sub", sizeof(id->sub) - 1);
	const char *email = claim_str(c, "email", sizeof(id->email) - 1);
	r = ERR_AUTH;
	if (!iss || strcmp(iss, x->issuer) != 0) {
		refuse(err, errlen, "is from another issuer");
		goto out;
	}
	if (!aud_ok(c, x->client_id, &naud)) {
		refuse(err, errlen, "is for another client (aud): check the provider's client id");
		goto out;
	}
	if ((azp || json_object_get(c, "azp") || naud > 1) && (!azp || strcmp(azp, x->client_id) != 0)) {
		refuse(err, errlen, "was issued to another party (azp)");
		goto out;
	}
	if ((r = check_times(&j, x->now, err, errlen)) != 0)
		goto out;
	r = ERR_AUTH;
	if (!nonce || !x->nonce || strlen(nonce) != strlen(x->nonce) ||
	    CRYPTO_memcmp(nonce, x->nonce, strlen(nonce)) != 0) {
		refuse(err, errlen, "does not carry this login's nonce");
		goto out;
	}
	if (!sub || !*sub) {
		refuse(err, errlen, "has no subject (sub)");
		goto out;
	}
	if (!email || !email_ok(email)) {
		refuse(err, errlen,
		       "has no usable email: the provider must release the email claim (scope \"email\")");
		goto out;
	}
	if (!email_verified(c)) {
		refuse(err, errlen,
		       "says the email address is not verified: verify it at the provider first");
		goto out;
	}
	size_t i = 0;
	for (; email[i]; i++)
		id->email[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] - 'A' + 'a' : email[i]);
	id->email[i] = '\0';
	snprintf(id->sub, sizeof(id->sub), "%s", sub);
	snprintf(id->idp, sizeof(id->idp), "%s", x->idp ? x->idp : "");
	snprintf(id->login_method, sizeof(id->login_method), "oidc");
	if ((r = fill_groups(c, x->groups_claim ? x->groups_claim : "groups", id, err, errlen)) != 0)
		goto out;
	r = 0;
out:
	jwt_clear(&j);
	if (r != 0) {
		memset(id, 0, sizeof(*id));
		if (r != ERR_NOTFOUND)
			r = ERR_AUTH;
	}
	return r;
}
