/* oidc_doc.c — the provider's documents: the discovery document
 * (/.well-known/openid-configuration) and its JWKS.
 *
 * Pure: bytes in, records out. The issuer comparison is exact (OpenID
 * Connect Discovery §4.3: a provider that names another issuer is refused,
 * or a document served elsewhere could point us at anyone's keys). Must
 * never: accept an endpoint that is not https, or a private key. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "edge/oidc/oidc_http.h"
#include "edge/oidc/oidc_verify.h"

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* An https URL with a host, of printable ASCII, at most OIDC_URL_MAX. */
static bool https_url(const char *s)
{
	size_t n = 0;
	for (; s && s[n]; n++)
		if (s[n] <= 0x20 || s[n] >= 0x7f)
			return false;
	return s && n <= OIDC_URL_MAX && strncmp(s, "https://", 8) == 0 && s[8] && s[8] != '/' &&
	       !strchr(s, '#');
}

/* Whether the array under key, when present, holds the string want. */
static bool lists_or_absent(json_t *doc, const char *key, const char *want)
{
	json_t *a = json_object_get(doc, key), *v;
	size_t i;
	if (!a)
		return true;
	json_array_foreach(a, i,
			   v) if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) return true;
	return false;
}

static int copy_url(json_t *doc, const char *key, char *out, char *err, size_t errlen)
{
	const char *v = json_string_value(json_object_get(doc, key));
	if (!https_url(v)) {
		if (err && errlen)
			snprintf(err, errlen, "its discovery document's %s is %s", key,
				 v ? "not an https URL" : "missing");
		return ERR_INVAL;
	}
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

int oidc_discovery_parse(const char *json, size_t len, const char *issuer, oidc_discovery_t *out, char *err,
			 size_t errlen)
{
	json_t *doc = NULL;
	int r = ERR_INVAL;

	memset(out, 0, sizeof(*out));
	if (!json || len > OIDC_HTTP_BODY_MAX ||
	    !(doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(doc)) {
		set_err(err, errlen, "its discovery document is not a JSON object");
		goto out;
	}
	const char *iss = json_string_value(json_object_get(doc, "issuer"));
	if (!iss || !issuer || strcmp(iss, issuer) != 0) {
		set_err(
		    err, errlen,
		    iss ? "its discovery document names another issuer: the issuer configured must match it "
			  "exactly (scheme, host, port, path, trailing slash)"
			: "its discovery document has no issuer");
		goto out;
	}
	if (copy_url(doc, "authorization_endpoint", out->authorization_endpoint, err, errlen) != 0 ||
	    copy_url(doc, "token_endpoint", out->token_endpoint, err, errlen) != 0 ||
	    copy_url(doc, "jwks_uri", out->jwks_uri, err, errlen) != 0)
		goto out;
	if (!lists_or_absent(doc, "response_types_supported", "code")) {
		set_err(err, errlen, "it does not support the authorization code flow (response type code)");
		goto out;
	}
	if (!lists_or_absent(doc, "code_challenge_methods_supported", "S256")) {
		set_err(err, errlen, "it does not support PKCE with S256");
		goto out;
	}
	r = 0;
out:
	json_decref(doc);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

void oidc_jwks_clear(oidc_jwks_t *ks)
{
	for (size_t i = 0; ks->keys && i < ks->n; i++)
		EVP_PKEY_free(ks->keys[i].key);
	free(ks->keys);
	ks->keys = NULL;
	ks->n = 0;
}

int oidc_jwks_parse(const char *json, size_t len, oidc_jwks_t *out, char *err, size_t errlen)
{
	json_t *doc = NULL, *keys, *k;
	char why[160];
	size_t i;
	int r = ERR_INVAL;

	memset(out, 0, sizeof(*out));
	if (!json || len > OIDC_HTTP_BODY_MAX ||
	    !(doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(doc) ||
	    !json_is_array(keys = json_object_get(doc, "keys"))) {
		set_err(err, errlen, "its JWKS is not a JSON object with a \"keys\" array");
		goto out;
	}
	if (json_array_size(keys) > OIDC_JWKS_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "its JWKS has more than %d keys", OIDC_JWKS_MAX);
		goto out;
	}
	if (json_array_size(keys) && !(out->keys = calloc(json_array_size(keys), sizeof(*out->keys)))) {
		r = ERR_NOMEM;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	json_array_foreach(keys, i, k)
	{
		json_t *kid = json_object_get(k, "kid");
		/* an encryption key, or a type we do not verify with: not ours to use */
		if (!json_is_object(k) ||
		    (kid && (!json_is_string(kid) || json_string_length(kid) > JWT_KID_MAX ||
			     strlen(json_string_value(kid)) != json_string_length(kid))))
			continue;
		EVP_PKEY *pk = jwt_jwk_import(k, why, sizeof(why));
		if (!pk)
			continue;
		oidc_jwk_t *jk = &out->keys[out->n++];
		jk->key = pk;
		snprintf(jk->kid, sizeof(jk->kid), "%s", kid ? json_string_value(kid) : "");
	}
	if (out->n == 0) {
		set_err(err, errlen,
			"its JWKS has no signing key burrow can use (RSA >= 2048 bits or EC P-256)");
		goto out;
	}
	r = 0;
out:
	json_decref(doc);
	if (r != 0)
		oidc_jwks_clear(out);
	return r;
}
