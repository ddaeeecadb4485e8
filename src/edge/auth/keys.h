/* keys.h — the edge's own token-signing keys: EC P-256 private keys, made
 * here, kept in the store as PEM (store_key_rotate) and read back into the
 * model (model_key_t) for signing app tokens.
 *
 * Blocking (key generation, store calls): worker threads or before the loop
 * starts only. Private keys never reach a log. */
#ifndef BURROW_EDGE_AUTH_KEYS_H
#define BURROW_EDGE_AUTH_KEYS_H

#include <openssl/evp.h>
#include <stddef.h>

#include "edge/store/store.h"

/* A new EC P-256 private key as PEM (malloc'd, caller frees with free after
 * OPENSSL_cleanse) and its kid (32 hex chars, random). 0 or ERR_NOMEM /
 * ERR_UNAVAIL. */
int keys_new(char kid[33], char **pem_out);
/* Before the loop starts: when the store holds no current signing key, adds
 * one (store_key_rotate). On failure writes one line into err. */
int keys_ensure(store_t *st, char *err, size_t errlen);
/* PEM -> EVP_PKEY (used by model building); NULL unless it is an EC P-256
 * private key. Never prompts for a passphrase. */
EVP_PKEY *keys_from_pem(const char *pem);
/* How long a retired key is kept (store_key_rotate's keep_s): the longest
 * session duration among apps, at least 24 h, so every token it signed can
 * still be checked until it expires. */
int64_t keys_keep_s(const int64_t *durations, size_t n);

#endif
