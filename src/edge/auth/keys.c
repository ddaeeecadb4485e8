/* keys.c — the edge's token-signing keys: generating them (EC P-256, a random
 * kid), encoding them as PEM for the store and decoding them for the model.
 *
 * Never logs a key, and wipes every PEM copy it makes: memory BIOs here are
 * secure-memory BIOs, which clear their buffers when freed. */
#include "edge/auth/keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"

#define KEEP_MIN_S ((int64_t)24 * 3600)

int keys_new(char kid[33], char **pem_out)
{
	static const char hex[] = "0123456789abcdef";
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	uint8_t id[16];
	char *data;
	long len;
	int r = ERR_UNAVAIL;

	*pem_out = NULL;
	kid[0] = '\0';
	if (RAND_bytes(id, sizeof(id)) != 1)
		goto out;
	if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) || !(bio = BIO_new(BIO_s_secmem())) ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0)
		goto out;
	if (!(*pem_out = malloc((size_t)len + 1))) {
		r = ERR_NOMEM;
		goto out;
	}
	memcpy(*pem_out, data, (size_t)len);
	(*pem_out)[len] = '\0';
	for (size_t i = 0; i < sizeof(id); i++) {
		kid[2 * i] = hex[id[i] >> 4];
		kid[2 * i + 1] = hex[id[i] & 15];
	}
	kid[32] = '\0';
	r = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return r;
}

/* A passphrase callback that has none: an encrypted PEM fails instead of
 * OpenSSL asking the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

EVP_PKEY *keys_from_pem(const char *pem)
{
	char group[64];
	size_t glen = 0;
	BIO *bio;
	EVP_PKEY *pkey = NULL;

	if (!pem || !(bio = BIO_new_mem_buf(pem, -1)))
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey && (!EVP_PKEY_is_a(pkey, "EC") ||
		     EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
						    &glen) != 1 ||
		     strcmp(group, "prime256v1") != 0)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

int64_t keys_keep_s(const int64_t *durations, size_t n)
{
	int64_t keep = KEEP_MIN_S;
	for (size_t i = 0; durations && i < n; i++)
		if (durations[i] > keep)
			keep = durations[i];
	return keep;
}

int keys_ensure(store_t *st, char *err, size_t errlen)
{
	store_key_t *keys = NULL;
	store_app_t *apps = NULL;
	int64_t *durs = NULL;
	size_t nkeys = 0, napps = 0;
	char kid[33];
	char *pem = NULL;
	int r;

	if ((r = store_key_list(st, &keys, &nkeys)) != 0) {
		snprintf(err, errlen, "cannot read the signing keys: %s", store_errmsg(st));
		goto out;
	}
	if (nkeys > 0 && keys[0].retired_at == 0)
		goto out; /* a current key exists */
	if ((r = store_app_list(st, &apps, &napps)) != 0) {
		snprintf(err, errlen, "cannot read the apps: %s", store_errmsg(st));
		goto out;
	}
	if (napps && !(durs = calloc(napps, sizeof(*durs)))) {
		snprintf(err, errlen, "out of memory");
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < napps; i++)
		durs[i] = apps[i].session_duration;
	if ((r = keys_new(kid, &pem)) != 0) {
		snprintf(err, errlen, "cannot generate a token-signing key: %s", err_str(r));
		goto out;
	}
	if ((r = store_key_rotate(st, kid, pem, (int64_t)time(NULL), keys_keep_s(durs, napps))) != 0) {
		snprintf(err, errlen, "cannot store the new token-signing key: %s", store_errmsg(st));
		goto out;
	}
	log_info("edge: created token-signing key %s", kid);
out:
	if (pem) {
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
	}
	free(durs);
	store_apps_free(apps, napps);
	free(keys);
	return r;
}
