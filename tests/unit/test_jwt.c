/* test_jwt.c — JWS compact tokens: ES256 sign/verify, RS256 and PS256
 * tokens made here with OpenSSL, the allow-list (none, HS256 with a public
 * key as secret, ES384), malformed shapes, JWK import/export and base64url. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/jwt.h"

static EVP_PKEY *ec_key, *ec_other, *rsa_key, *rsa_small;

static int keys_setup(void **state)
{
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa_small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	return ec_key && ec_other && rsa_key && rsa_small ? 0 : -1;
}

static int keys_teardown(void **state)
{
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec_other);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_small);
	return 0;
}

/* ---- helpers ---- */

/* base64url of n bytes, appended to dst (NUL-terminated, large enough) */
static void cat_b64(char *dst, const void *p, size_t n)
{
	size_t at = strlen(dst);
	size_t w = b64url_encode(p, n, dst + at, 4 * n / 3 + 4);
	assert_true(w > 0 || n == 0);
}

/* "<b64 hdr>.<b64 payload>." (no signature yet), malloc'd with room for one */
static char *signing_input(const char *hdr, const char *payload)
{
	size_t cap = 4 * (strlen(hdr) + strlen(payload)) / 3 + 32 + 2048;
	char *s = calloc(1, cap);
	assert_non_null(s);
	cat_b64(s, hdr, strlen(hdr));
	strcat(s, ".");
	cat_b64(s, payload, strlen(payload));
	return s;
}

/* A token from JSON texts and raw signature bytes. */
static char *mk(const char *hdr, const char *payload, const void *sig, size_t siglen)
{
	char *s = signing_input(hdr, payload);
	strcat(s, ".");
	cat_b64(s, sig, siglen);
	return s;
}

static int parse(const char *tok, jwt_t *j)
{
	char err[128];
	return jwt_parse(tok, strlen(tok), j, err, sizeof(err));
}

static void assert_parse_refused(const char *tok)
{
	jwt_t j;
	char err[128];
	int r = jwt_parse(tok, strlen(tok), &j, err, sizeof(err));
	if (r != ERR_INVAL)
		fail_msg("parse gave %d for \"%.80s\"", r, tok);
	assert_true(err[0] != '\0');
	/* a failed parse leaves nothing to free, and clearing is still safe */
	assert_null(j.header);
	assert_null(j.claims);
	assert_null(j.sig);
	assert_null(j.signing_input);
	jwt_clear(&j);
}

static int verify_tok(const char *tok, EVP_PKEY *key)
{
	jwt_t j;
	char err[128];
	int r = parse(tok, &j);
	if (r != 0)
		fail_msg("parse failed: %d", r);
	r = jwt_verify(&j, key, err, sizeof(err));
	jwt_clear(&j);
	return r;
}

static char *sign_claims(EVP_PKEY *key, const char *kid, const char *claims_text)
{
	json_error_t jerr;
	json_t *claims = json_loads(claims_text, 0, &jerr);
	assert_non_null(claims);
	char *tok = jwt_sign_es256(key, kid, claims);
	json_decref(claims);
	assert_non_null(tok);
	return tok;
}

/* Signs data with an RSA key as RS256 or PS256 (saltlen for PS256). */
static size_t rsa_sign(EVP_PKEY *key, int pss, int saltlen, const char *data, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t n = cap;
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key), 1);
	if (pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen), 1);
	} else {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
	}
	assert_int_equal(EVP_DigestSign(ctx, sig, &n, (const unsigned char *)data, strlen(data)), 1);
	EVP_MD_CTX_free(ctx);
	return n;
}

/* A token signed with an RSA key by OpenSSL directly (not by jwt.c). */
static char *rsa_token(EVP_PKEY *key, const char *alg, int saltlen)
{
	char hdr[64];
	uint8_t sig[1024];
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"r1\"}", alg);
	char *s = signing_input(hdr, "{\"sub\":\"bob\",\"exp\":2000000000}");
	size_t n = rsa_sign(key, strcmp(alg, "PS256") == 0, saltlen, s, sig, sizeof(sig));
	strcat(s, ".");
	cat_b64(s, sig, n);
	return s;
}

/* Splits a token in place into its three parts. */
static void split3(char *tok, char **h, char **p, char **s)
{
	*h = tok;
	*p = strchr(tok, '.');
	assert_non_null(*p);
	*(*p)++ = '\0';
	*s = strchr(*p, '.');
	assert_non_null(*s);
	*(*s)++ = '\0';
}

static EVP_PKEY *import_text(const char *text, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *jwk = json_loads(text, 0, &jerr);
	assert_non_null(jwk);
	EVP_PKEY *k = jwt_jwk_import(jwk, err, errlen);
	json_decref(jwk);
	return k;
}

static void assert_import_refused(const char *text)
{
	char err[128] = "";
	EVP_PKEY *k = import_text(text, err, sizeof(err));
	if (k) {
		EVP_PKEY_free(k);
		fail_msg("imported %s", text);
	}
	assert_true(err[0] != '\0');
}

/* ---- ES256 ---- */

static void test_jwt_es256_sign_parse_verify(void **state)
{
	char *tok = sign_claims(ec_key, "k1", "{\"sub\":\"alice\",\"exp\":2000000000,\"iat\":1700000000}");
	jwt_t j;
	char err[128];
	assert_int_equal(parse(tok, &j), 0);
	assert_int_equal(j.alg, JWT_ES256);
	assert_string_equal(j.kid, "k1");
	assert_string_equal(json_string_value(json_object_get(j.header, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(j.claims, "sub")), "alice");
	assert_int_equal(j.siglen, 64);
	assert_int_equal(j.signing_len, (size_t)(strrchr(tok, '.') - tok));
	assert_memory_equal(j.signing_input, tok, j.signing_len);
	assert_int_equal(jwt_verify(&j, ec_key, err, sizeof(err)), 0);

	/* the public half, through its JWK, verifies it too */
	json_t *jwk = jwt_jwk_public(ec_key, "k1");
	assert_non_null(jwk);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), "k1");
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))), 43);
	assert_null(json_object_get(jwk, "d"));
	EVP_PKEY *pub = jwt_jwk_import(jwk, err, sizeof(err));
	assert_non_null(pub);
	assert_int_equal(jwt_verify(&j, pub, err, sizeof(err)), 0);
	EVP_PKEY_free(pub);
	json_decref(jwk);
	jwt_clear(&j);
	free(tok);
}

static void test_jwt_es256_no_kid_and_bad_sign_args(void **state)
{
	json_t *claims = json_pack("{s:s}", "sub", "x");
	char *tok = jwt_sign_es256(ec_key, NULL, claims);
	jwt_t j;
	assert_non_null(tok);
	assert_int_equal(parse(tok, &j), 0);
	assert_string_equal(j.kid, "");
	assert_null(json_object_get(j.header, "kid"));
	jwt_clear(&j);
	free(tok);

	/* not an EC P-256 key, claims not an object, a kid too long */
	char kid[JWT_KID_MAX + 2];
	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	json_t *arr = json_array();
	assert_null(jwt_sign_es256(rsa_key, "k", claims));
	assert_null(jwt_sign_es256(ec_key, "k", arr));
	assert_null(jwt_sign_es256(ec_key, kid, claims));
	assert_null(jwt_sign_es256(NULL, "k", claims));
	json_decref(arr);
	json_decref(claims);
}

static void test_jwt_claim_time(void **state)
{
	char *tok = sign_claims(ec_key, "k1",
				"{\"exp\":2000000000,\"iat\":1700000000.0,\"nbf\":\"1\",\"a\":-1,"
				"\"b\":9007199254740992,\"c\":9007199254740993,\"d\":1.5,\"e\":1e300,"
				"\"f\":null,\"g\":-0.5}");
	jwt_t j;
	int64_t t = -1;
	assert_int_equal(parse(tok, &j), 0);
	assert_int_equal(jwt_claim_time(&j, "exp", &t), 0);
	assert_int_equal(t, 2000000000);
	assert_int_equal(jwt_claim_time(&j, "iat", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(jwt_claim_time(&j, "b", &t), 0);
	assert_int_equal(t, 9007199254740992LL);
	assert_int_equal(jwt_claim_time(&j, "nbf", &t), ERR_INVAL);
	assert_int_equal(jwt_claim_time(&j, "missing", &t), ERR_NOTFOUND);
	assert_int_equal(jwt_claim_time(&j, "a", &t), ERR_INVAL);
	assert_int_equal(jwt_claim_time(&j, "c", &t), ERR_INVAL);
	assert_int_equal(jwt_claim_time(&j, "d", &t), ERR_INVAL);
	assert_int_equal(jwt_claim_time(&j, "e", &t), ERR_INVAL);
	assert_int_equal(jwt_claim_time(&j, "f", &t), ERR_INVAL);
	assert_int_equal(jwt_claim_time(&j, "g", &t), ERR_INVAL);
	jwt_clear(&j);
	free(tok);
}

static void test_jwt_tampered_payload_fails(void **state)
{
	char *tok = sign_claims(ec_key, "k1", "{\"sub\":\"alice\",\"exp\":2000000000}");
	char *h, *p, *s;
	split3(tok, &h, &p, &s);
	/* the same token with one payload byte changed: alice -> alicf */
	char *forged = mk("{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
			  "{\"sub\":\"alicf\",\"exp\":2000000000}", "", 0);
	char *fh, *fp, *fs;
	split3(forged, &fh, &fp, &fs);
	assert_string_equal(fh, h); /* the header is the one jwt_sign_es256 wrote */
	char *tampered = malloc(strlen(h) + strlen(fp) + strlen(s) + 3);
	assert_non_null(tampered);
	sprintf(tampered, "%s.%s.%s", h, fp, s);
	assert_int_equal(verify_tok(tampered, ec_key), ERR_AUTH);

	/* and the original still verifies */
	sprintf(tampered, "%s.%s.%s", h, p, s);
	assert_int_equal(verify_tok(tampered, ec_key), 0);
	free(tampered);
	free(forged);
	free(tok);
}

static void test_jwt_tampered_signature_fails(void **state)
{
	char *tok = sign_claims(ec_key, "k1", "{\"sub\":\"alice\"}");
	char *h, *p, *s;
	split3(tok, &h, &p, &s);
	uint8_t sig[64];
	assert_int_equal(b64url_decode(s, strlen(s), sig, sizeof(sig)), 64);
	sig[10] ^= 0x01;
	char *tampered = calloc(1, strlen(h) + strlen(p) + 100);
	assert_non_null(tampered);
	sprintf(tampered, "%s.%s.", h, p);
	cat_b64(tampered, sig, sizeof(sig));
	assert_int_equal(verify_tok(tampered, ec_key), ERR_AUTH);

	/* s flipped in its high half too (r unchanged) */
	sig[10] ^= 0x01;
	sig[40] ^= 0x80;
	sprintf(tampered, "%s.%s.", h, p);
	cat_b64(tampered, sig, sizeof(sig));
	assert_int_equal(verify_tok(tampered, ec_key), ERR_AUTH);
	free(tampered);
	free(tok);
}

static void test_jwt_es256_other_key_fails(void **state)
{
	char *tok = sign_claims(ec_key, "k1", "{\"sub\":\"alice\"}");
	assert_int_equal(verify_tok(tok, ec_other), ERR_AUTH);
	assert_int_equal(verify_tok(tok, ec_key), 0);
	free(tok);
}

static void test_jwt_es256_with_rsa_key_is_inval(void **state)
{
	char *tok = sign_claims(ec_key, "k1", "{\"sub\":\"alice\"}");
	assert_int_equal(verify_tok(tok, rsa_key), ERR_INVAL);
	free(tok);
	/* and the other way: an RS256 token with an EC key */
	tok = rsa_token(rsa_key, "RS256", 0);
	assert_int_equal(verify_tok(tok, ec_key), ERR_INVAL);
	free(tok);
}

static void test_jwt_es256_wrong_signature_length(void **state)
{
	char *tok = sign_claims(ec_key, "k1", "{\"sub\":\"alice\"}");
	char *h, *p, *s;
	split3(tok, &h, &p, &s);
	uint8_t sig[65] = {0};
	assert_int_equal(b64url_decode(s, strlen(s), sig, 64), 64);
	static const size_t lens[] = {63, 65, 1, 32};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *bad = calloc(1, strlen(h) + strlen(p) + 100);
		assert_non_null(bad);
		sprintf(bad, "%s.%s.", h, p);
		cat_b64(bad, sig, lens[i]);
		jwt_t j;
		char err[128];
		int r = parse(bad, &j);
		if (r == 0)
			r = jwt_verify(&j, ec_key, err, sizeof(err));
		if (r != ERR_AUTH && r != ERR_INVAL)
			fail_msg("signature of %zu bytes gave %d", lens[i], r);
		jwt_clear(&j);
		free(bad);
	}
	free(tok);
}

/* ---- the allow-list ---- */

static void test_jwt_alg_none_refused(void **state)
{
	uint8_t sig[64] = {1};
	char *t1 = signing_input("{\"alg\":\"none\"}", "{\"sub\":\"admin\"}");
	strcat(t1, ".");
	assert_parse_refused(t1); /* the classic: an empty signature */
	char *t2 = mk("{\"alg\":\"none\"}", "{\"sub\":\"admin\"}", sig, sizeof(sig));
	assert_parse_refused(t2);
	char *t3 = mk("{\"alg\":\"None\"}", "{\"sub\":\"admin\"}", sig, sizeof(sig));
	assert_parse_refused(t3);
	free(t1);
	free(t2);
	free(t3);
}

/* HS256 with the verifier's public key (its PEM, its JWK text) as the HMAC
 * secret: the confusion attack on libraries that let the token pick. */
static void test_jwt_hs256_with_public_key_secret_refused(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, ec_key), 1);
	char *pem = NULL;
	long pemlen = BIO_get_mem_data(bio, &pem);
	assert_true(pemlen > 0);

	json_t *jwk = jwt_jwk_public(ec_key, "k1");
	char *jwk_text = json_dumps(jwk, JSON_COMPACT);
	assert_non_null(jwk_text);

	const struct {
		const void *secret;
		size_t len;
	} secrets[] = {{pem, (size_t)pemlen}, {jwk_text, strlen(jwk_text)}};
	for (size_t i = 0; i < 2; i++) {
		char *s = signing_input("{\"alg\":\"HS256\",\"kid\":\"k1\"}", "{\"sub\":\"admin\"}");
		uint8_t mac[32];
		size_t maclen = 0;
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secrets[i].secret,
					  secrets[i].len, (const unsigned char *)s, strlen(s), mac,
					  sizeof(mac), &maclen));
		assert_int_equal(maclen, 32);
		strcat(s, ".");
		cat_b64(s, mac, maclen);
		assert_parse_refused(s);
		free(s);
	}
	free(jwk_text);
	json_decref(jwk);
	BIO_free(bio);
}

static void test_jwt_other_algs_refused(void **state)
{
	uint8_t sig[96] = {1};
	static const char *const hdrs[] = {
	    "{\"alg\":\"ES384\"}",
	    "{\"alg\":\"ES512\"}",
	    "{\"alg\":\"RS512\"}",
	    "{\"alg\":\"HS512\"}",
	    "{\"alg\":\"es256\"}",
	    "{\"alg\":\"ES256 \"}",
	    "{\"alg\":\"\"}",
	    "{\"typ\":\"JWT\"}",
	    "{\"alg\":256}",
	    "{\"alg\":null}",
	    "{\"alg\":[\"ES256\"]}",
	    "{\"alg\":{\"v\":\"ES256\"}}",
	    "{\"alg\":true}",
	    "{}",
	    "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}",
	};
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		char *t = mk(hdrs[i], "{\"sub\":\"a\"}", sig, sizeof(sig));
		assert_parse_refused(t);
		free(t);
	}
	/* the three allowed ones parse */
	static const char *const ok[] = {"{\"alg\":\"ES256\"}", "{\"alg\":\"RS256\"}", "{\"alg\":\"PS256\"}"};
	static const enum jwt_alg algs[] = {JWT_ES256, JWT_RS256, JWT_PS256};
	for (size_t i = 0; i < 3; i++) {
		char *t = mk(ok[i], "{}", sig, sizeof(sig));
		jwt_t j;
		assert_int_equal(parse(t, &j), 0);
		assert_int_equal(j.alg, algs[i]);
		jwt_clear(&j);
		free(t);
	}
}

static void test_jwt_kid_limits(void **state)
{
	uint8_t sig[64] = {1};
	char hdr[JWT_KID_MAX + 64], kid[JWT_KID_MAX + 2];
	jwt_t j;

	memset(kid, 'k', JWT_KID_MAX);
	kid[JWT_KID_MAX] = '\0';
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	char *t = mk(hdr, "{}", sig, sizeof(sig));
	assert_int_equal(parse(t, &j), 0);
	assert_string_equal(j.kid, kid);
	jwt_clear(&j);
	free(t);

	strcat(kid, "k"); /* JWT_KID_MAX + 1 */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	t = mk(hdr, "{}", sig, sizeof(sig));
	assert_parse_refused(t);
	free(t);

	t = mk("{\"alg\":\"ES256\",\"kid\":7}", "{}", sig, sizeof(sig));
	assert_parse_refused(t);
	free(t);
}

/* A token of exactly total bytes (its signature is 64 zero bytes). */
static char *token_of_len(size_t total)
{
	uint8_t sig[64] = {0};
	/* b64 lengths of 4k+1 do not exist: a kid of 1..4 bytes moves the header to a fitting one */
	for (size_t k = 1; k <= 4; k++) {
		char hdr[64] = "{\"alg\":\"ES256\",\"kid\":\"";
		strncat(hdr, "kkkk", k);
		strcat(hdr, "\"}");
		size_t hl = (strlen(hdr) * 4 + 2) / 3;
		size_t sl = (64 * 4 + 2) / 3;
		size_t pl = total - hl - sl - 2;
		if (pl % 4 == 1)
			continue;
		size_t n = pl / 4 * 3 + (pl % 4 ? pl % 4 - 1 : 0); /* payload bytes */
		char *payload = malloc(n + 1);
		assert_non_null(payload);
		memcpy(payload, "{\"p\":\"", 6);
		memset(payload + 6, 'x', n - 8);
		memcpy(payload + n - 2, "\"}", 3);
		char *t = mk(hdr, payload, sig, sizeof(sig));
		free(payload);
		assert_int_equal(strlen(t), total);
		return t;
	}
	fail();
	return NULL;
}

static void test_jwt_max_length(void **state)
{
	jwt_t j;
	char *t = token_of_len(JWT_MAX);
	assert_int_equal(parse(t, &j), 0);
	jwt_clear(&j);
	free(t);
	t = token_of_len(JWT_MAX + 1);
	assert_parse_refused(t);
	free(t);
}

/* ---- malformed shapes ---- */

static void test_jwt_bad_base64url_refused(void **state)
{
	uint8_t sig[64] = {1};
	char *t = mk("{\"alg\":\"ES256\"}", "{\"a\":1}", sig, sizeof(sig)); /* payload: 7 bytes, 10 chars */
	char *h, *p, *s;
	split3(t, &h, &p, &s);
	assert_int_equal(strlen(p), 10);
	char buf[512];

	snprintf(buf, sizeof(buf), "%s.%s==.%s", h, p, s); /* padding */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.%s=", h, p, s);
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.+%s", h, p, s + 1); /* '+' */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s./%s", h, p, s + 1); /* '/' */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%sAAA.%s", h, p, s); /* 13 chars: 1 mod 4 */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.%sAAA", h, p, s); /* 89 chars: 1 mod 4 */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, s);
	buf[strlen(buf) - 1] = 'B'; /* the last char's unused bits set */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, s);
	buf[3] = ' ';
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, s);
	buf[3] = '\0'; /* a NUL inside len */
	jwt_t j;
	char err[128];
	assert_int_equal(jwt_parse(buf, strlen(h) + strlen(p) + strlen(s) + 2, &j, err, sizeof(err)),
			 ERR_INVAL);
	free(t);
}

static void test_jwt_parts_refused(void **state)
{
	uint8_t sig[64] = {1};
	char *t = mk("{\"alg\":\"ES256\"}", "{\"a\":1}", sig, sizeof(sig));
	char *h, *p, *s;
	split3(t, &h, &p, &s);
	char buf[512];

	snprintf(buf, sizeof(buf), "%s.%s", h, p); /* 2 parts */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.%s.%s", h, p, s, s); /* 4 parts */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.%s.", h, p, s);
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), ".%s.%s", p, s); /* empty parts */
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s..%s", h, s);
	assert_parse_refused(buf);
	snprintf(buf, sizeof(buf), "%s.%s.", h, p);
	assert_parse_refused(buf);
	assert_parse_refused("..");
	assert_parse_refused("");
	assert_parse_refused(h);

	jwt_t j;
	char err[16];
	assert_int_equal(jwt_parse(NULL, 0, &j, err, sizeof(err)), ERR_INVAL);
	assert_int_equal(jwt_parse(t, 0, &j, NULL, 0), ERR_INVAL);
	free(t);
}

static void test_jwt_json_refused(void **state)
{
	uint8_t sig[64] = {1};
	static const char *const bad[][2] = {
	    {"[\"ES256\"]", "{}"},
	    {"\"ES256\"", "{}"},
	    {"1", "{}"},
	    {"null", "{}"},
	    {"{\"alg\":\"ES256\"", "{}"},
	    {"{\"alg\":\"ES256\"} x", "{}"},
	    {"{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "{}"},
	    {"{\"alg\":\"none\",\"alg\":\"ES256\"}", "{}"},
	    {"{\"alg\":\"ES256\"}", "[]"},
	    {"{\"alg\":\"ES256\"}", "\"x\""},
	    {"{\"alg\":\"ES256\"}", "{\"sub\":\"a\",\"sub\":\"b\"}"},
	    {"{\"alg\":\"ES256\"}", "{\"sub\":\"a\\u0000b\"}"},
	    {"{\"alg\":\"ES256\"}", "{\"n\":123456789012345678901234567890}"},
	    {"{\"alg\":\"ES256\"}", ""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = mk(bad[i][0], bad[i][1], sig, sizeof(sig));
		assert_parse_refused(t);
		free(t);
	}
}

static void test_jwt_errors_never_quote_the_token(void **state)
{
	uint8_t sig[64] = {1};
	char *t = mk("{\"alg\":\"HS256\",\"kid\":\"secretkid\"}", "{\"sub\":\"secret\"}", sig, sizeof(sig));
	jwt_t j;
	char err[256];
	assert_int_equal(jwt_parse(t, strlen(t), &j, err, sizeof(err)), ERR_INVAL);
	assert_null(strstr(err, "secret"));
	assert_null(strstr(err, "eyJ"));
	free(t);
	t = sign_claims(ec_key, "secretkid", "{\"sub\":\"secret\"}");
	assert_int_equal(parse(t, &j), 0);
	assert_int_equal(jwt_verify(&j, ec_other, err, sizeof(err)), ERR_AUTH);
	assert_true(err[0] != '\0');
	assert_null(strstr(err, "secret"));
	assert_null(strstr(err, "eyJ"));
	jwt_clear(&j);
	jwt_clear(&j); /* twice is fine */
	free(t);
}

/* ---- RSA ---- */

static void test_jwt_rs256_ps256_verify_with_imported_jwk(void **state)
{
	char err[128];
	json_t *jwk = jwt_jwk_public(rsa_key, "r1");
	assert_non_null(jwk);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "n"))), 342); /* 256 bytes */
	assert_null(json_object_get(jwk, "d"));
	EVP_PKEY *pub = jwt_jwk_import(jwk, err, sizeof(err));
	assert_non_null(pub);
	json_decref(jwk);

	char *rs = rsa_token(rsa_key, "RS256", 0);
	char *ps = rsa_token(rsa_key, "PS256", RSA_PSS_SALTLEN_DIGEST);
	assert_int_equal(verify_tok(rs, pub), 0);
	assert_int_equal(verify_tok(ps, pub), 0);
	assert_int_equal(verify_tok(rs, rsa_key), 0);

	/* PS256 fixes the salt at 32 bytes: a longer one does not verify */
	char *ps_long = rsa_token(rsa_key, "PS256", 64);
	assert_int_equal(verify_tok(ps_long, pub), ERR_AUTH);

	/* a PS256 signature under an RS256 header (same signing input otherwise) fails */
	char *rh, *rp, *rsig, *ph, *pp, *psig;
	split3(rs, &rh, &rp, &rsig);
	split3(ps, &ph, &pp, &psig);
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s.%s.%s", rh, rp, psig);
	assert_int_equal(verify_tok(buf, pub), ERR_AUTH);
	/* a one-byte change in the payload fails */
	char *forged = rsa_token(rsa_key, "RS256", 0);
	char *fh, *fp, *fsig;
	split3(forged, &fh, &fp, &fsig);
	fp[5] = fp[5] == 'A' ? 'B' : 'A';
	snprintf(buf, sizeof(buf), "%s.%s.%s", fh, fp, fsig);
	jwt_t j;
	int r = parse(buf, &j);
	if (r == 0)
		r = jwt_verify(&j, pub, err, sizeof(err));
	assert_true(r == ERR_AUTH || r == ERR_INVAL);
	jwt_clear(&j);
	/* an RSA token checked against another RSA key */
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(other);
	char *rs2 = rsa_token(rsa_key, "RS256", 0);
	assert_int_equal(verify_tok(rs2, other), ERR_AUTH);
	free(rs2);
	EVP_PKEY_free(other);

	free(forged);
	free(ps_long);
	free(rs);
	free(ps);
	EVP_PKEY_free(pub);
}

static void test_jwt_rsa_1024_refused(void **state)
{
	char err[128];
	char *tok = rsa_token(rsa_small, "RS256", 0);
	assert_int_equal(verify_tok(tok, rsa_small), ERR_INVAL);
	free(tok);
	tok = rsa_token(rsa_small, "PS256", RSA_PSS_SALTLEN_DIGEST);
	assert_int_equal(verify_tok(tok, rsa_small), ERR_INVAL);
	free(tok);

	json_t *jwk = jwt_jwk_public(rsa_small, "small");
	assert_non_null(jwk);
	assert_null(jwt_jwk_import(jwk, err, sizeof(err)));
	assert_true(err[0] != '\0');
	json_decref(jwk);
}

/* ---- JWK import ---- */

static void test_jwk_import_refusals(void **state)
{
	char err[128];
	json_t *jwk = jwt_jwk_public(ec_key, "k1");
	const char *x = json_string_value(json_object_get(jwk, "x"));
	const char *y = json_string_value(json_object_get(jwk, "y"));
	char text[1024];
	uint8_t raw[33];

	/* the good one first */
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	EVP_PKEY *k = import_text(text, err, sizeof(err));
	assert_non_null(k);
	EVP_PKEY_free(k);

	assert_import_refused("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}");
	assert_import_refused("{\"kty\":\"oct\"}");
	assert_import_refused("{\"crv\":\"P-256\"}");
	assert_import_refused("[]");
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	assert_import_refused(text);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	assert_import_refused(text);
	/* a private member */
	snprintf(text, sizeof(text),
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}", x, y, x);
	assert_import_refused(text);
	/* published for encryption, or for another algorithm */
	snprintf(text, sizeof(text),
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"use\":\"enc\"}", x, y);
	assert_import_refused(text);
	snprintf(text, sizeof(text),
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"alg\":\"HS256\"}", x, y);
	assert_import_refused(text);

	/* a point off the curve: y with its last byte changed */
	assert_int_equal(b64url_decode(y, strlen(y), raw, sizeof(raw)), 32);
	raw[31] ^= 0x01;
	char y2[64] = "";
	cat_b64(y2, raw, 32);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x, y2);
	assert_import_refused(text);
	/* x of 31 bytes, of 33 bytes */
	assert_int_equal(b64url_decode(x, strlen(x), raw, sizeof(raw)), 32);
	char x31[64] = "", x33[64] = "";
	cat_b64(x31, raw + 1, 31);
	raw[32] = 0;
	cat_b64(x33, raw, 33);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x31, y);
	assert_import_refused(text);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x33, y);
	assert_import_refused(text);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":7,\"y\":\"%s\"}", y);
	assert_import_refused(text);
	/* the point at infinity spelled as zeros */
	char zero[64] = "";
	memset(raw, 0, 32);
	cat_b64(zero, raw, 32);
	snprintf(text, sizeof(text), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", zero,
		 zero);
	assert_import_refused(text);
	json_decref(jwk);

	/* RSA */
	jwk = jwt_jwk_public(rsa_key, "r1");
	const char *n = json_string_value(json_object_get(jwk, "n"));
	char big[2048];
	snprintf(big, sizeof(big), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n);
	k = import_text(big, err, sizeof(err));
	assert_non_null(k);
	EVP_PKEY_free(k);
	snprintf(big, sizeof(big), "{\"kty\":\"RSA\",\"n\":\"%s\"}", n);
	assert_import_refused(big); /* missing e */
	snprintf(big, sizeof(big), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"d\":\"AQAB\"}", n);
	assert_import_refused(big);
	snprintf(big, sizeof(big), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAC\"}", n); /* even */
	assert_import_refused(big);
	snprintf(big, sizeof(big), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQ\"}", n); /* e = 1 */
	assert_import_refused(big);
	snprintf(big, sizeof(big), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"ES256\"}", n);
	assert_import_refused(big);
	snprintf(big, sizeof(big), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"p\":\"AQAB\"}", n);
	assert_import_refused(big);
	assert_import_refused("{\"kty\":\"RSA\",\"e\":\"AQAB\"}");
	assert_import_refused("{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}");
	json_decref(jwk);

	assert_null(jwt_jwk_import(NULL, err, sizeof(err)));
	assert_null(jwt_jwk_public(NULL, "k"));
}

/* ---- base64url ---- */

static void test_b64url_round_trips(void **state)
{
	static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE"};
	const char *plain = "fooba";
	char out[32];
	uint8_t dec[32];
	for (size_t n = 0; n <= 5; n++) {
		assert_int_equal(b64url_encode((const uint8_t *)plain, n, out, sizeof(out)), strlen(enc[n]));
		assert_string_equal(out, enc[n]);
		assert_int_equal(b64url_decode(enc[n], strlen(enc[n]), dec, sizeof(dec)), (long)n);
		assert_memory_equal(dec, plain, n);
		/* exactly enough room, and one byte less */
		assert_int_equal(b64url_encode((const uint8_t *)plain, n, out, strlen(enc[n]) + 1),
				 strlen(enc[n]));
		if (n > 0) {
			assert_int_equal(b64url_encode((const uint8_t *)plain, n, out, strlen(enc[n])), 0);
			assert_int_equal(b64url_decode(enc[n], strlen(enc[n]), dec, n), (long)n);
			assert_int_equal(b64url_decode(enc[n], strlen(enc[n]), dec, n - 1), -1);
		}
	}
	/* every byte value, at every alignment */
	uint8_t all[256], back[256];
	char text[400];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	for (size_t off = 0; off < 3; off++) {
		size_t n = 256 - off;
		size_t w = b64url_encode(all + off, n, text, sizeof(text));
		assert_true(w > 0);
		assert_null(strpbrk(text, "+/="));
		assert_int_equal(b64url_decode(text, w, back, sizeof(back)), (long)n);
		assert_memory_equal(back, all + off, n);
	}
	assert_int_equal(b64url_encode((const uint8_t *)"\xfb\xff", 2, out, sizeof(out)), 3);
	assert_string_equal(out, "-_8");
}

static void test_b64url_refusals(void **state)
{
	uint8_t dec[32];
	static const char *const bad[] = {"Zg==", "Zm8=", "Z",	    "Zm9vY", "Zm9v+A", "Zm9v/A", "Zm9v A",
					  "Zh",	  "Zm9",  "Zm9vYh", "Zm.v",  "====",   "Zg=",	 "\x80\x80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (b64url_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)) != -1)
			fail_msg("decoded \"%s\"", bad[i]);
	}
	assert_int_equal(b64url_decode("Zm\0v", 4, dec, sizeof(dec)), -1);
	assert_int_equal(b64url_decode("", 0, NULL, 0), 0);
	char out[4];
	assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, out, sizeof(out)), 0);
	assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, out, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jwt_es256_sign_parse_verify),
	    cmocka_unit_test(test_jwt_es256_no_kid_and_bad_sign_args),
	    cmocka_unit_test(test_jwt_claim_time),
	    cmocka_unit_test(test_jwt_tampered_payload_fails),
	    cmocka_unit_test(test_jwt_tampered_signature_fails),
	    cmocka_unit_test(test_jwt_es256_other_key_fails),
	    cmocka_unit_test(test_jwt_es256_with_rsa_key_is_inval),
	    cmocka_unit_test(test_jwt_es256_wrong_signature_length),
	    cmocka_unit_test(test_jwt_alg_none_refused),
	    cmocka_unit_test(test_jwt_hs256_with_public_key_secret_refused),
	    cmocka_unit_test(test_jwt_other_algs_refused),
	    cmocka_unit_test(test_jwt_kid_limits),
	    cmocka_unit_test(test_jwt_max_length),
	    cmocka_unit_test(test_jwt_bad_base64url_refused),
	    cmocka_unit_test(test_jwt_parts_refused),
	    cmocka_unit_test(test_jwt_json_refused),
	    cmocka_unit_test(test_jwt_errors_never_quote_the_token),
	    cmocka_unit_test(test_jwt_rs256_ps256_verify_with_imported_jwk),
	    cmocka_unit_test(test_jwt_rsa_1024_refused),
	    cmocka_unit_test(test_jwk_import_refusals),
	    cmocka_unit_test(test_b64url_round_trips),
	    cmocka_unit_test(test_b64url_refusals),
	};
	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
