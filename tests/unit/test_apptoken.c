/* test_apptoken.c — the edge's own tokens: what apptoken_verify accepts
 * and each thing it refuses, with the reason the client gets. Models are
 * built by hand around a fresh EC key: no store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "core/jwt.h"
#include "edge/auth/apptoken.h"

#define ISS "https://auth.site.test:8443"
#define NOW 1800000000

typedef struct fixture {
	model_t m;
	model_key_t keys[2];
	model_app_t apps[2];
	char *hosts_ssh[1], *hosts_web[1];
	model_user_t users[1];
	model_revocation_t revs[1];
	identity_t id;
} fixture_t;

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	return k;
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	snprintf(f->keys[0].kid, sizeof(f->keys[0].kid), "%s", "0123456789abcdef0123456789abcdef");
	f->keys[0].pkey = ec_key();
	f->m.keys = f->keys;
	f->m.nkeys = 1;
	f->hosts_ssh[0] = "ssh.site.test";
	f->hosts_web[0] = "web.site.test";
	f->apps[0] = (model_app_t){.id = "a1",
				   .name = "ssh",
				   .aud = "aaaa",
				   .hostnames = f->hosts_ssh,
				   .nhostnames = 1,
				   .session_duration = 3600};
	f->apps[1] = (model_app_t){.id = "a2",
				   .name = "web",
				   .aud = "bbbb",
				   .hostnames = f->hosts_web,
				   .nhostnames = 1,
				   .session_duration = 3600};
	f->m.apps = f->apps;
	f->m.napps = 2;
	f->users[0] = (model_user_t){.email = "alice@site.test", .pw_hash = "x"};
	f->m.users = f->users;
	f->m.nusers = 1;
	snprintf(f->id.email, sizeof(f->id.email), "alice@site.test");
	snprintf(f->id.idp, sizeof(f->id.idp), "local");
	snprintf(f->id.login_method, sizeof(f->id.login_method), "local");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	EVP_PKEY_free(f->keys[0].pkey);
	EVP_PKEY_free(f->keys[1].pkey);
	free(f);
	return 0;
}

static char *mint(fixture_t *f, const model_app_t *app, time_t at)
{
	char why[160];
	char *t = apptoken_mint(&f->m, ISS, app, &f->id, at, why, sizeof(why));
	assert_non_null(t);
	return t;
}

/* verify tok for app at NOW: 0, or the reason */
static int check(fixture_t *f, const model_app_t *app, const char *tok, char *why, size_t whylen)
{
	identity_t out;
	int r = apptoken_verify(&f->m, ISS, app, tok, strlen(tok), NOW, &out, why, whylen);
	if (r == 0) {
		assert_string_equal(out.email, "alice@site.test");
		assert_string_equal(out.idp, "local");
	}
	return r;
}

static void refused_with(fixture_t *f, const model_app_t *app, const char *tok, const char *needle)
{
	char why[200] = "";
	assert_int_equal(check(f, app, tok, why, sizeof(why)), ERR_AUTH);
	if (!strstr(why, needle))
		fail_msg("reason '%s' lacks '%s'", why, needle);
}

static void test_app_token_round_trip(void **state)
{
	fixture_t *f = *state;
	identity_add_group(&f->id, "ops");
	identity_add_group(&f->id, "dev");
	char *t = mint(f, &f->apps[0], NOW - 10);
	identity_t out;
	char why[160];
	assert_int_equal(apptoken_verify(&f->m, ISS, &f->apps[0], t, strlen(t), NOW, &out, why, sizeof(why)),
			 0);
	assert_int_equal(out.ngroups, 2);
	assert_string_equal(out.groups[0], "ops");
	assert_string_equal(out.groups[1], "dev");
	assert_int_equal(out.exp, NOW - 10 + 3600);
	/* the header names the key */
	jwt_t j = {0};
	assert_int_equal(jwt_parse(t, strlen(t), &j, why, sizeof(why)), 0);
	assert_string_equal(j.kid, f->keys[0].kid);
	assert_int_equal(j.alg, JWT_ES256);
	jwt_clear(&j);
	free(t);
}

static void test_other_app_refused(void **state)
{
	fixture_t *f = *state;
	char *t = mint(f, &f->apps[0], NOW);
	refused_with(f, &f->apps[1], t, "another application");
	free(t);
}

static void test_expired_and_not_yet_valid(void **state)
{
	fixture_t *f = *state;
	char *t = mint(f, &f->apps[0], NOW - 3600); /* exp == NOW */
	refused_with(f, &f->apps[0], t, "expired");
	free(t);
	t = mint(f, &f->apps[0], NOW + APPTOKEN_SKEW + 5);
	refused_with(f, &f->apps[0], t, "not valid yet");
	free(t);
	t = mint(f, &f->apps[0], NOW + APPTOKEN_SKEW - 5); /* within the skew */
	char why[160];
	assert_int_equal(check(f, &f->apps[0], t, why, sizeof(why)), 0);
	free(t);
}

static void test_org_session_is_not_an_app_token(void **state)
{
	fixture_t *f = *state;
	char *org = mint(f, NULL, NOW);
	refused_with(f, &f->apps[0], org, "another type");
	char *app = mint(f, &f->apps[0], NOW);
	refused_with(f, NULL, app, "another type");
	identity_t out;
	char why[160];
	assert_int_equal(apptoken_verify(&f->m, ISS, NULL, org, strlen(org), NOW, &out, why, sizeof(why)), 0);
	free(org);
	free(app);
}

static void test_other_issuer_refused(void **state)
{
	fixture_t *f = *state;
	char why[160];
	char *t = apptoken_mint(&f->m, "https://evil.test", &f->apps[0], &f->id, NOW, why, sizeof(why));
	refused_with(f, &f->apps[0], t, "another issuer");
	free(t);
}

static void test_unknown_key_refused(void **state)
{
	fixture_t *f = *state;
	/* signed by a key the edge has since forgotten */
	snprintf(f->keys[1].kid, sizeof(f->keys[1].kid), "%s", "ffffffffffffffffffffffffffffffff");
	f->keys[1].pkey = ec_key();
	model_key_t k0 = f->keys[0];
	f->keys[0] = f->keys[1];
	char *t = mint(f, &f->apps[0], NOW);
	f->keys[1] = f->keys[0];
	f->keys[0] = k0;
	refused_with(f, &f->apps[0], t, "unknown key");
	free(t);
	/* same kid, another key: the signature is what counts */
	char *u = NULL;
	EVP_PKEY *real = f->keys[0].pkey;
	f->keys[0].pkey = f->keys[1].pkey;
	u = mint(f, &f->apps[0], NOW);
	f->keys[0].pkey = real;
	refused_with(f, &f->apps[0], u, "bad signature");
	free(u);
}

static void test_rotated_key_still_verifies(void **state)
{
	fixture_t *f = *state;
	char *old = mint(f, &f->apps[0], NOW);
	/* rotate: a new current key first, the old one retired but kept */
	model_key_t k0 = f->keys[0];
	k0.retired_at = NOW;
	snprintf(f->keys[0].kid, sizeof(f->keys[0].kid), "%s", "11111111111111111111111111111111");
	f->keys[0].pkey = ec_key();
	f->keys[0].retired_at = 0;
	f->keys[1] = k0;
	f->m.nkeys = 2;
	char why[160];
	assert_int_equal(check(f, &f->apps[0], old, why, sizeof(why)), 0);
	char *fresh = mint(f, &f->apps[0], NOW);
	jwt_t j = {0};
	assert_int_equal(jwt_parse(fresh, strlen(fresh), &j, why, sizeof(why)), 0);
	assert_string_equal(j.kid, "11111111111111111111111111111111");
	jwt_clear(&j);
	char *jwks = apptoken_jwks(&f->m);
	assert_non_null(strstr(jwks, "11111111111111111111111111111111"));
	assert_non_null(strstr(jwks, "0123456789abcdef0123456789abcdef"));
	assert_null(strstr(jwks, "\"d\""));
	free(jwks);
	free(old);
	free(fresh);
}

static void test_revoked_and_deleted(void **state)
{
	fixture_t *f = *state;
	char *t = mint(f, &f->apps[0], NOW - 100);
	f->revs[0] = (model_revocation_t){.email = "alice@site.test", .revoked_at = NOW - 50};
	f->m.revocations = f->revs;
	f->m.nrevocations = 1;
	refused_with(f, &f->apps[0], t, "revoked");
	char *after = mint(f, &f->apps[0], NOW - 10); /* a login after the revocation works */
	char why[160];
	assert_int_equal(check(f, &f->apps[0], after, why, sizeof(why)), 0);
	f->m.nusers = 0; /* the built-in user is deleted */
	refused_with(f, &f->apps[0], after, "no longer exists");
	free(t);
	free(after);
}

static void test_app_limited_to_a_provider(void **state)
{
	fixture_t *f = *state;
	char *idps[] = {"corp"};
	f->apps[0].idps = idps;
	f->apps[0].nidps = 1;
	char *local = mint(f, &f->apps[0], NOW); /* a built-in user's login */
	refused_with(f, &f->apps[0], local, "identity provider this application does not accept");
	snprintf(f->id.idp, sizeof(f->id.idp), "corp");
	snprintf(f->id.login_method, sizeof(f->id.login_method), "oidc");
	char *corp = mint(f, &f->apps[0], NOW);
	identity_t out;
	char why[160];
	assert_int_equal(
	    apptoken_verify(&f->m, ISS, &f->apps[0], corp, strlen(corp), NOW, &out, why, sizeof(why)), 0);
	assert_string_equal(out.idp, "corp");
	free(local);
	free(corp);
}

static void test_tampered_and_malformed(void **state)
{
	fixture_t *f = *state;
	char *t = mint(f, &f->apps[0], NOW);
	/* the same token with another email in its claims, the signature kept */
	jwt_t j = {0};
	char why[160];
	assert_int_equal(jwt_parse(t, strlen(t), &j, why, sizeof(why)), 0);
	json_object_set_new(j.claims, "email", json_string("mallory@site.test"));
	char *claims = json_dumps(j.claims, JSON_COMPACT);
	char forged[3 * JWT_MAX], b64[JWT_MAX];
	assert_true(b64url_encode((const uint8_t *)claims, strlen(claims), b64, sizeof(b64)) > 0);
	const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
	snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(d1 - t), t, b64, d2);
	refused_with(f, &f->apps[0], forged, "bad signature");
	free(claims);
	jwt_clear(&j);
	refused_with(f, &f->apps[0], "a.b.c", "malformed");
	refused_with(f, &f->apps[0], "", "malformed");
	size_t big = JWT_MAX + 10;
	char *huge = malloc(big + 1);
	memset(huge, 'A', big);
	huge[big] = '\0';
	huge[10] = huge[20] = '.';
	refused_with(f, &f->apps[0], huge, "malformed");
	free(huge);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_app_token_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_app_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_and_not_yet_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_org_session_is_not_an_app_token, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_issuer_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotated_key_still_verifies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_and_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_app_limited_to_a_provider, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tampered_and_malformed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
