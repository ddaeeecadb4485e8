/* test_oidc_idtoken.c — ID-token verification (edge/oidc/oidc_idtoken.c)
 * with tokens signed here by our own keys against a JWKS built here: a good
 * token gives the identity; a key not in the JWKS, an unknown kid (so the
 * caller fetches again), alg none, another iss, aud or azp, expiry and iat
 * beyond the skew, a wrong nonce, no email, email_verified false and
 * malformed or oversized groups are each refused. Also the provider's
 * documents (discovery: exact issuer, https endpoints, S256; JWKS) and the
 * sealed state cookie and single-use states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "core/err.h"
#include "core/jwt.h"
#include "core/log.h"
#include "edge/oidc/oidc_state.h"
#include "edge/oidc/oidc_verify.h"

#define ISS "https://idp.example"
#define NOW 1800000000

static EVP_PKEY *key_a, *key_b;
static oidc_jwks_t jwks; /* key_a as "ka" */

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

static int group_setup(void **state)
{
	key_a = new_key();
	key_b = new_key();
	json_t *set = json_pack("{s:[o]}", "keys", jwt_jwk_public(key_a, "ka"));
	char *text = json_dumps(set, 0);
	char err[160];
	int r = oidc_jwks_parse(text, strlen(text), &jwks, err, sizeof(err));
	free(text);
	json_decref(set);
	return r;
}

static int group_teardown(void **state)
{
	oidc_jwks_clear(&jwks);
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	return 0;
}

/* The claims of a good token; tests change them. */
static json_t *good_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:[s,s]}", "iss", ISS, "aud", "burrow",
			 "sub", "u-1", "exp", (json_int_t)NOW + 300, "iat", (json_int_t)NOW - 5, "nonce",
			 "n-123", "email", "Ann@Site.Test", "email_verified", 1, "groups", "ops", "dev");
}

static const oidc_expect_t expect = {
    .issuer = ISS, .client_id = "burrow", .nonce = "n-123", .groups_claim = NULL, .idp = "corp", .now = NOW};

/* Signs claims (taken) with key as kid and verifies; returns the result. */
static int verify(EVP_PKEY *key, const char *kid, json_t *claims, const oidc_expect_t *x, identity_t *id,
		  char *err, size_t errlen)
{
	char *tok = jwt_sign_es256(key, kid, claims);
	json_decref(claims);
	assert_non_null(tok);
	int r = oidc_idtoken_verify(tok, strlen(tok), &jwks, x ? x : &expect, id, err, errlen);
	free(tok);
	return r;
}

static void expect_refusal(json_t *claims, const oidc_expect_t *x, const char *why)
{
	identity_t id;
	char err[256];
	assert_int_equal(verify(key_a, "ka", claims, x, &id, err, sizeof(err)), ERR_AUTH);
	if (!strstr(err, why))
		fail_msg("refusal \"%s\" does not say \"%s\"", err, why);
	assert_string_equal(id.email, "");
}

static void test_oidc_idtoken_good_gives_identity(void **state)
{
	identity_t id;
	char err[256] = "";
	assert_int_equal(verify(key_a, "ka", good_claims(), NULL, &id, err, sizeof(err)), 0);
	assert_string_equal(id.email, "ann@site.test");
	assert_string_equal(id.sub, "u-1");
	assert_string_equal(id.idp, "corp");
	assert_string_equal(id.login_method, "oidc");
	assert_int_equal(id.ngroups, 2);
	assert_string_equal(id.groups[0], "ops");
	assert_string_equal(id.groups[1], "dev");

	/* a token without kid: found by trying every key */
	json_t *c = good_claims();
	char *tok = jwt_sign_es256(key_a, NULL, c);
	json_decref(c);
	assert_int_equal(oidc_idtoken_verify(tok, strlen(tok), &jwks, &expect, &id, err, sizeof(err)), 0);
	free(tok);
}

static void test_oidc_idtoken_key_not_in_jwks(void **state)
{
	identity_t id;
	char err[256];
	/* the JWKS's kid, another key: a bad signature */
	assert_int_equal(verify(key_b, "ka", good_claims(), NULL, &id, err, sizeof(err)), ERR_AUTH);
	assert_string_equal(err, "the ID token has a bad signature");
	/* an unknown kid: the caller fetches the JWKS again */
	assert_int_equal(verify(key_b, "kb", good_claims(), NULL, &id, err, sizeof(err)), ERR_NOTFOUND);
	assert_string_equal(err, "the ID token is signed by a key not in the provider's JWKS");
	/* no kid, and no key verifies */
	assert_int_equal(verify(key_b, NULL, good_claims(), NULL, &id, err, sizeof(err)), ERR_NOTFOUND);
}

static void test_oidc_idtoken_alg_none_refused(void **state)
{
	identity_t id;
	char err[256], p[512], tok[700];
	json_t *c = good_claims();
	char *text = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	assert_true(b64url_encode((const uint8_t *)text, strlen(text), p, sizeof(p)) > 0);
	free(text);
	snprintf(tok, sizeof(tok), "eyJhbGciOiJub25lIn0.%s.", p);
	assert_int_equal(oidc_idtoken_verify(tok, strlen(tok), &jwks, &expect, &id, err, sizeof(err)),
			 ERR_AUTH);
	assert_non_null(strstr(err, "does not parse"));
}

static void test_oidc_idtoken_iss_aud_azp(void **state)
{
	json_t *c = good_claims();
	json_object_set_new(c, "iss", json_string("https://evil.example"));
	expect_refusal(c, NULL, "another issuer");

	c = good_claims();
	json_object_set_new(c, "aud", json_string("other"));
	expect_refusal(c, NULL, "another client (aud)");

	/* several audiences: azp must be there and be us */
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "burrow", "other"));
	expect_refusal(c, NULL, "another party (azp)");
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "burrow", "other"));
	json_object_set_new(c, "azp", json_string("burrow"));
	identity_t id;
	char err[256];
	assert_int_equal(verify(key_a, "ka", c, NULL, &id, err, sizeof(err)), 0);

	c = good_claims();
	json_object_set_new(c, "azp", json_string("other"));
	expect_refusal(c, NULL, "another party (azp)");
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s]", "other"));
	expect_refusal(c, NULL, "another client (aud)");
}

static void test_oidc_idtoken_times(void **state)
{
	identity_t id;
	char err[256];
	json_t *c = good_claims();
	json_object_set_new(c, "exp", json_integer(NOW - OIDC_SKEW));
	expect_refusal(c, NULL, "has expired");
	c = good_claims();
	json_object_set_new(c, "exp", json_integer(NOW - OIDC_SKEW + 1)); /* within the skew */
	assert_int_equal(verify(key_a, "ka", c, NULL, &id, err, sizeof(err)), 0);
	c = good_claims();
	json_object_del(c, "exp");
	expect_refusal(c, NULL, "no valid exp");
	c = good_claims();
	json_object_set_new(c, "iat", json_integer(NOW + OIDC_SKEW + 1));
	expect_refusal(c, NULL, "issued in the future");
	c = good_claims();
	json_object_del(c, "iat");
	expect_refusal(c, NULL, "no valid iat");
	c = good_claims();
	json_object_set_new(c, "nbf", json_integer(NOW + OIDC_SKEW + 10));
	expect_refusal(c, NULL, "not valid yet");
}

static void test_oidc_idtoken_nonce(void **state)
{
	json_t *c = good_claims();
	json_object_set_new(c, "nonce", json_string("n-124"));
	expect_refusal(c, NULL, "nonce");
	c = good_claims();
	json_object_del(c, "nonce");
	expect_refusal(c, NULL, "nonce");
}

static void test_oidc_idtoken_email(void **state)
{
	identity_t id;
	char err[256];
	json_t *c = good_claims();
	json_object_del(c, "email");
	expect_refusal(c, NULL, "no usable email");
	c = good_claims();
	json_object_set_new(c, "email", json_string("not-an-email"));
	expect_refusal(c, NULL, "no usable email");
	c = good_claims();
	json_object_set_new(c, "email_verified", json_false());
	expect_refusal(c, NULL, "not verified");
	c = good_claims();
	json_object_set_new(c, "email_verified", json_string("false"));
	expect_refusal(c, NULL, "not verified");
	/* "true" as a string (some providers) and absent both pass */
	c = good_claims();
	json_object_set_new(c, "email_verified", json_string("true"));
	assert_int_equal(verify(key_a, "ka", c, NULL, &id, err, sizeof(err)), 0);
	c = good_claims();
	json_object_del(c, "email_verified");
	assert_int_equal(verify(key_a, "ka", c, NULL, &id, err, sizeof(err)), 0);
}

static void test_oidc_idtoken_groups_claim(void **state)
{
	identity_t id;
	char err[256];
	oidc_expect_t x = expect;
	x.groups_claim = "roles";
	json_t *c = good_claims();
	json_object_set_new(c, "roles", json_pack("[s]", "admins"));
	assert_int_equal(verify(key_a, "ka", c, &x, &id, err, sizeof(err)), 0);
	assert_int_equal(id.ngroups, 1);
	assert_string_equal(id.groups[0], "admins");

	c = good_claims(); /* no "roles": no groups (the "groups" claim is not read) */
	assert_int_equal(verify(key_a, "ka", c, &x, &id, err, sizeof(err)), 0);
	assert_int_equal(id.ngroups, 0);

	c = good_claims();
	json_object_set_new(c, "groups", json_string("ops"));
	expect_refusal(c, NULL, "not an array");
	c = good_claims();
	json_object_set_new(c, "groups", json_pack("[s,i]", "ops", 5));
	expect_refusal(c, NULL, "not a string");
	json_t *many = json_array();
	for (int i = 0; i <= IDENTITY_GROUPS_MAX; i++) {
		char g[16];
		snprintf(g, sizeof(g), "g%d", i);
		json_array_append_new(many, json_string(g));
	}
	c = good_claims();
	json_object_set_new(c, "groups", many);
	expect_refusal(c, NULL, "at most 32 groups");
}

static void test_oidc_discovery_parse(void **state)
{
	oidc_discovery_t d;
	char err[256];
	const char *good =
	    "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
	    "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/jwks\","
	    "\"response_types_supported\":[\"code\"],\"code_challenge_methods_supported\":[\"S256\"]}";
	assert_int_equal(oidc_discovery_parse(good, strlen(good), ISS, &d, err, sizeof(err)), 0);
	assert_string_equal(d.token_endpoint, ISS "/token");
	/* the issuer compares exactly: a trailing slash is another issuer */
	assert_int_equal(oidc_discovery_parse(good, strlen(good), ISS "/", &d, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "names another issuer"));
	const char *http = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
			   "\"token_endpoint\":\"http://idp.example/token\",\"jwks_uri\":\"" ISS "/jwks\"}";
	assert_int_equal(oidc_discovery_parse(http, strlen(http), ISS, &d, err, sizeof(err)), ERR_INVAL);
	assert_string_equal(err, "its discovery document's token_endpoint is not an https URL");
	const char *plain = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
			    "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/jwks\","
			    "\"code_challenge_methods_supported\":[\"plain\"]}";
	assert_int_equal(oidc_discovery_parse(plain, strlen(plain), ISS, &d, err, sizeof(err)), ERR_INVAL);
	assert_string_equal(err, "it does not support PKCE with S256");
	assert_int_equal(oidc_discovery_parse("[]", 2, ISS, &d, err, sizeof(err)), ERR_INVAL);
}

static void test_oidc_jwks_parse(void **state)
{
	oidc_jwks_t ks;
	char err[256];
	const char *enc = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}";
	assert_int_equal(oidc_jwks_parse(enc, strlen(enc), &ks, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "no signing key"));
	assert_int_equal(oidc_jwks_parse("{}", 2, &ks, err, sizeof(err)), ERR_INVAL);
	/* a usable key beside one that is not: the usable one is kept */
	json_t *set = json_pack("{s:[{s:s}, o]}", "keys", "kty", "OKP", jwt_jwk_public(key_b, "kb"));
	char *text = json_dumps(set, 0);
	assert_int_equal(oidc_jwks_parse(text, strlen(text), &ks, err, sizeof(err)), 0);
	assert_int_equal(ks.n, 1);
	assert_string_equal(ks.keys[0].kid, "kb");
	oidc_jwks_clear(&ks);
	free(text);
	json_decref(set);
}

static void test_oidc_state_cookie(void **state)
{
	uint8_t key[OIDC_KEY_LEN], other[OIDC_KEY_LEN];
	oidc_login_t l = {
	    .state = "s", .nonce = "n", .verifier = "v", .idp = "corp", .ret = "/back?x=1", .exp = 1000};
	oidc_login_t got;
	char cookie[OIDC_COOKIE_MAX + 1];
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	assert_int_equal(oidc__state_seal(key, &l, cookie, sizeof(cookie)), 0);
	assert_int_equal(oidc__state_open(key, cookie, 999, &got), 0);
	assert_string_equal(got.ret, "/back?x=1");
	assert_string_equal(got.idp, "corp");
	assert_int_equal(oidc__state_open(key, cookie, 1000, &got), ERR_TIMEOUT);
	assert_int_equal(oidc__state_open(other, cookie, 999, &got), ERR_AUTH);
	cookie[5] = cookie[5] == 'A' ? 'B' : 'A';
	assert_int_not_equal(oidc__state_open(key, cookie, 999, &got), 0);
	assert_int_equal(oidc__state_open(key, "", 999, &got), ERR_INVAL);
	assert_int_equal(oidc__state_open(key, NULL, 999, &got), ERR_INVAL);

	oidc_used_t *u;
	assert_int_equal(oidc__used_init(&u), 0);
	assert_int_equal(oidc__used_add(u, "abc", 100, 10), 0);
	assert_int_equal(oidc__used_add(u, "abc", 100, 50), ERR_EXISTS);
	assert_int_equal(oidc__used_add(u, "abd", 100, 50), 0);
	/* forgotten once expired (its cookie has expired too) */
	assert_int_equal(oidc__used_add(u, "abc", 200, 100), 0);
	oidc__used_free(u);
}

int main(void)
{
	log_set_level(L_ERROR);
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oidc_idtoken_good_gives_identity),
	    cmocka_unit_test(test_oidc_idtoken_key_not_in_jwks),
	    cmocka_unit_test(test_oidc_idtoken_alg_none_refused),
	    cmocka_unit_test(test_oidc_idtoken_iss_aud_azp),
	    cmocka_unit_test(test_oidc_idtoken_times),
	    cmocka_unit_test(test_oidc_idtoken_nonce),
	    cmocka_unit_test(test_oidc_idtoken_email),
	    cmocka_unit_test(test_oidc_idtoken_groups_claim),
	    cmocka_unit_test(test_oidc_discovery_parse),
	    cmocka_unit_test(test_oidc_jwks_parse),
	    cmocka_unit_test(test_oidc_state_cookie),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
