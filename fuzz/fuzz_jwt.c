/* fuzz_jwt.c — libFuzzer target for JWS compact tokens, JWKs and
 * base64url (core/jwt.c).
 *
 * The input is tried as a token (parse, the time claims, verification
 * against one P-256 key made at start-up, which no input can have signed),
 * as base64url (whatever decodes must encode back to the same text: one
 * spelling per byte string) and as a JWK. A parsed ES256 token's claims are
 * signed again and must verify. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "core/jwt.h"

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			__builtin_trap();                                                                    \
	} while (0)

static EVP_PKEY *key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CHECK(key != NULL);
	return 0;
}

static void check_times(const jwt_t *j)
{
	static const char *const names[] = {"exp", "iat", "nbf"};
	for (size_t i = 0; i < 3; i++) {
		int64_t t = -1;
		int r = jwt_claim_time(j, names[i], &t);
		CHECK(r == 0 || r == ERR_NOTFOUND || r == ERR_INVAL);
		CHECK(r != 0 || (t >= 0 && t <= 9007199254740992LL));
	}
}

/* The claims signed again with our key parse and verify. */
static void check_resign(const jwt_t *j)
{
	char *tok = jwt_sign_es256(key, j->kid, j->claims);
	if (!tok)
		return; /* (the claims, dumped again, may not fit JWT_MAX) */
	jwt_t back;
	char err[128];
	CHECK(jwt_parse(tok, strlen(tok), &back, err, sizeof(err)) == 0);
	CHECK(back.alg == JWT_ES256 && strcmp(back.kid, j->kid) == 0);
	CHECK(jwt_verify(&back, key, err, sizeof(err)) == 0);
	jwt_clear(&back);
	free(tok);
}

static void try_token(const uint8_t *data, size_t size)
{
	jwt_t j;
	char err[128];
	int r = jwt_parse((const char *)data, size, &j, err, sizeof(err));
	CHECK(r == 0 || r == ERR_INVAL || r == ERR_NOMEM);
	if (r != 0) {
		CHECK(!j.header && !j.claims && !j.sig && !j.signing_input);
		jwt_clear(&j);
		return;
	}
	CHECK(size <= JWT_MAX);
	CHECK(j.alg == JWT_RS256 || j.alg == JWT_PS256 || j.alg == JWT_ES256);
	CHECK(strlen(j.kid) <= JWT_KID_MAX);
	CHECK(json_is_object(j.header) && json_is_object(j.claims));
	CHECK(j.siglen > 0 && j.signing_len + 2 <= size);
	CHECK(memcmp(j.signing_input, data, j.signing_len) == 0 && j.signing_input[j.signing_len] == '\0');
	check_times(&j);
	r = jwt_verify(&j, key, err, sizeof(err));
	/* no input was signed with a key made after it */
	CHECK(r == ERR_AUTH || r == ERR_INVAL);
	CHECK(r != ERR_INVAL || j.alg != JWT_ES256);
	if (j.alg == JWT_ES256)
		check_resign(&j);
	jwt_clear(&j);
}

static void try_b64(const uint8_t *data, size_t size)
{
	uint8_t *out = malloc(size + 1);
	char *text = malloc(size + 2);
	CHECK(out && text);
	long n = b64url_decode((const char *)data, size, out, size);
	if (n >= 0) {
		CHECK((size_t)n <= size);
		size_t w = b64url_encode(out, (size_t)n, text, size + 1);
		CHECK(w == size && memcmp(text, data, size) == 0);
		if (n > 0)
			CHECK(b64url_decode((const char *)data, size, out, (size_t)n - 1) == -1);
	}
	free(out);
	free(text);
}

static void try_jwk(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *jwk = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!jwk)
		return;
	char err[128];
	EVP_PKEY *k = jwt_jwk_import(jwk, err, sizeof(err));
	if (k) {
		/* whatever imports exports again, and that imports */
		json_t *pub = jwt_jwk_public(k, "k");
		CHECK(pub != NULL);
		EVP_PKEY *k2 = jwt_jwk_import(pub, err, sizeof(err));
		CHECK(k2 != NULL);
		CHECK(EVP_PKEY_eq(k, k2) == 1);
		EVP_PKEY_free(k2);
		json_decref(pub);
		EVP_PKEY_free(k);
	}
	json_decref(jwk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try_token(data, size);
	try_b64(data, size);
	try_jwk(data, size);
	return 0;
}
