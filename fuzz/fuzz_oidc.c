/* fuzz_oidc.c — libFuzzer target for what the OpenID Connect relying party
 * reads from providers (edge/oidc/oidc_doc.c, oidc_idtoken.c, oidc_state.c).
 *
 * The input is tried as a discovery document (the endpoints it accepts are
 * https URLs, the issuer it accepts is the one asked for), as a JWKS (every
 * key it keeps is usable), as an ID token against a JWKS of one key made at
 * start-up (which no input can have signed, so nothing may verify) and as a
 * state cookie (a key made at start-up: nothing may open). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "core/err.h"
#include "core/jwt.h"
#include "edge/oidc/oidc_state.h"
#include "edge/oidc/oidc_verify.h"

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			__builtin_trap();                                                                    \
	} while (0)

#define ISS "https://idp.example"

static oidc_jwks_t jwks;
static uint8_t cookie_key[OIDC_KEY_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[160];
	CHECK(sodium_init() >= 0);
	randombytes_buf(cookie_key, sizeof(cookie_key));
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CHECK(key != NULL);
	json_t *set = json_pack("{s:[o]}", "keys", jwt_jwk_public(key, "k1"));
	char *text = json_dumps(set, 0);
	CHECK(text && oidc_jwks_parse(text, strlen(text), &jwks, err, sizeof(err)) == 0);
	free(text);
	json_decref(set);
	EVP_PKEY_free(key);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char err[256];

	oidc_discovery_t d;
	if (oidc_discovery_parse(s, size, ISS, &d, err, sizeof(err)) == 0) {
		CHECK(strncmp(d.authorization_endpoint, "https://", 8) == 0);
		CHECK(strncmp(d.token_endpoint, "https://", 8) == 0);
		CHECK(strncmp(d.jwks_uri, "https://", 8) == 0);
	}

	oidc_jwks_t ks;
	if (oidc_jwks_parse(s, size, &ks, err, sizeof(err)) == 0) {
		CHECK(ks.n > 0 && ks.n <= OIDC_JWKS_MAX);
		for (size_t i = 0; i < ks.n; i++)
			CHECK(ks.keys[i].key != NULL);
	}
	oidc_jwks_clear(&ks);

	identity_t id;
	oidc_expect_t x = {
	    .issuer = ISS, .client_id = "burrow", .nonce = "n", .idp = "corp", .now = 1800000000};
	int r = oidc_idtoken_verify(s, size, &jwks, &x, &id, err, sizeof(err));
	CHECK(r == ERR_AUTH || r == ERR_NOTFOUND);
	CHECK(id.email[0] == '\0');

	char *cookie = malloc(size + 1);
	CHECK(cookie != NULL);
	memcpy(cookie, data, size);
	cookie[size] = '\0';
	oidc_login_t l;
	CHECK(oidc__state_open(cookie_key, cookie, 0, &l) != 0);
	free(cookie);
	return 0;
}
