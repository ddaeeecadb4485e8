/* oidc_state.h — a login in progress, held by the browser: the sealed state
 * cookie, and the memory of states already used (each is good once).
 *
 * Only edge/oidc/ and its tests use this. */
#ifndef BURROW_EDGE_OIDC_STATE_H
#define BURROW_EDGE_OIDC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "edge/oidc/oidc.h"

#define OIDC_KEY_LEN 32
#define OIDC_RAND_B64 43 /* 32 random bytes, unpadded base64url */

typedef struct oidc_login {
	char state[OIDC_RAND_B64 + 1];
	char nonce[OIDC_RAND_B64 + 1];
	char verifier[OIDC_RAND_B64 + 1]; /* PKCE code_verifier */
	char idp[65];
	char ret[OIDC_RET_MAX + 1];
	int64_t exp; /* unix seconds */
} oidc_login_t;

/* Seals l with key into out (unpadded base64url of nonce || XChaCha20-
 * Poly1305 ciphertext, additional data "burrow_oidc/1"). 0, ERR_TOOBIG
 * when it does not fit outlen, ERR_NOMEM. */
int oidc__state_seal(const uint8_t key[OIDC_KEY_LEN], const oidc_login_t *l, char *out, size_t outlen);
/* Opens a cookie value: ERR_AUTH when it was not sealed with key or was
 * changed, ERR_TIMEOUT when its exp has passed (at now), ERR_INVAL when it
 * is malformed. l is zeroed on failure. */
int oidc__state_open(const uint8_t key[OIDC_KEY_LEN], const char *cookie, int64_t now, oidc_login_t *l);

/* States already presented, kept until they expire; at most OIDC_USED_MAX. */
#define OIDC_USED_MAX 65536
typedef struct oidc_used oidc_used_t;
int oidc__used_init(oidc_used_t **out);
void oidc__used_free(oidc_used_t *u);
/* 0 when state is new (remembered until exp); ERR_EXISTS when it was seen;
 * ERR_TOOBIG when OIDC_USED_MAX unexpired states are remembered. */
int oidc__used_add(oidc_used_t *u, const char *state, int64_t exp, int64_t now);

#endif
