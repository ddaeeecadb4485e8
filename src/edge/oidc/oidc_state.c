/* oidc_state.c — the state cookie (sealed with a key only this edge process
 * holds) and the set of states already used.
 *
 * The cookie binds a login to the browser that started it: the provider's
 * redirect carries the state, the cookie carries the same state plus the
 * nonce and PKCE verifier, so a redirect replayed into another browser (or
 * forged by a page) finds no matching cookie. Must never: accept a cookie
 * that does not open with the key, an expired one, or a state twice. */
#include "edge/oidc/oidc_state.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jwt.h"

#define AD "burrow_oidc/1"
#define NPUB crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define PLAIN_MAX (OIDC_RET_MAX * 2 + 512) /* ret may need escaping in JSON */

int oidc__state_seal(const uint8_t key[OIDC_KEY_LEN], const oidc_login_t *l, char *out, size_t outlen)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "s", l->state, "n", l->nonce, "v",
			      l->verifier, "i", l->idp, "r", l->ret, "e", (json_int_t)l->exp);
	char *plain = o ? json_dumps(o, JSON_COMPACT) : NULL;
	uint8_t *box = NULL;
	int r = ERR_NOMEM;

	json_decref(o);
	if (!plain)
		goto out;
	size_t plen = strlen(plain);
	if (plen > PLAIN_MAX) {
		r = ERR_TOOBIG;
		goto out;
	}
	if (!(box = malloc(NPUB + plen + ABYTES)))
		goto out;
	randombytes_buf(box, NPUB);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + NPUB, &clen, (const uint8_t *)plain, plen,
						   (const uint8_t *)AD, strlen(AD), NULL, box, key);
	r = b64url_encode(box, NPUB + (size_t)clen, out, outlen) ? 0 : ERR_TOOBIG;
out:
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	free(box);
	return r;
}

static bool copy_field(json_t *o, const char *key, char *out, size_t outlen)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) >= outlen || strlen(s) != json_string_length(v))
		return false;
	memcpy(out, s, json_string_length(v) + 1);
	return true;
}

int oidc__state_open(const uint8_t key[OIDC_KEY_LEN], const char *cookie, int64_t now, oidc_login_t *l)
{
	size_t clen = cookie ? strlen(cookie) : 0;
	size_t max = NPUB + PLAIN_MAX + ABYTES;
	uint8_t *box = NULL, *plain = NULL;
	json_t *o = NULL;
	int r = ERR_INVAL;

	memset(l, 0, sizeof(*l));
	if (!cookie || clen == 0 || clen > (max * 4 + 2) / 3 || !(box = malloc(max)) ||
	    !(plain = malloc(PLAIN_MAX + 1)))
		goto out;
	long n = b64url_decode(cookie, clen, box, max);
	if (n < (long)(NPUB + ABYTES))
		goto out;
	unsigned long long plen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, box + NPUB, (size_t)n - NPUB,
						       (const uint8_t *)AD, strlen(AD), box, key) != 0) {
		r = ERR_AUTH;
		goto out;
	}
	if (plen > PLAIN_MAX ||
	    !(o = json_loadb((const char *)plain, (size_t)plen, JSON_REJECT_DUPLICATES, NULL)))
		goto out;
	json_t *e = json_object_get(o, "e");
	if (!copy_field(o, "s", l->state, sizeof(l->state)) ||
	    !copy_field(o, "n", l->nonce, sizeof(l->nonce)) ||
	    !copy_field(o, "v", l->verifier, sizeof(l->verifier)) ||
	    !copy_field(o, "i", l->idp, sizeof(l->idp)) || !copy_field(o, "r", l->ret, sizeof(l->ret)) ||
	    !json_is_integer(e))
		goto out;
	l->exp = json_integer_value(e);
	r = now < l->exp ? 0 : ERR_TIMEOUT;
out:
	json_decref(o);
	if (plain) {
		sodium_memzero(plain, PLAIN_MAX + 1);
		free(plain);
	}
	free(box);
	if (r != 0)
		sodium_memzero(l, sizeof(*l));
	return r;
}

/* ---- used states ---- */

#define BUCKETS 4096

typedef struct used_ent {
	struct used_ent *next;
	int64_t exp;
	char state[OIDC_RAND_B64 + 1];
} used_ent_t;

struct oidc_used {
	used_ent_t *b[BUCKETS];
	size_t n;
};

int oidc__used_init(oidc_used_t **out)
{
	return (*out = calloc(1, sizeof(**out))) ? 0 : ERR_NOMEM;
}

static void prune_bucket(oidc_used_t *u, used_ent_t **pp, int64_t now)
{
	while (*pp) {
		used_ent_t *e = *pp;
		if (e->exp <= now) {
			*pp = e->next;
			free(e);
			u->n--;
		} else {
			pp = &e->next;
		}
	}
}

void oidc__used_free(oidc_used_t *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		prune_bucket(u, &u->b[i], INT64_MAX);
	free(u);
}

int oidc__used_add(oidc_used_t *u, const char *state, int64_t exp, int64_t now)
{
	/* states are random: their first bytes index well enough (a forged one
	 * never gets here: its cookie does not open) */
	uint32_t h = 2166136261u;
	size_t len = strlen(state);
	if (len > OIDC_RAND_B64)
		return ERR_INVAL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)state[i]) * 16777619u;
	used_ent_t **pp = &u->b[h % BUCKETS];
	prune_bucket(u, pp, now);
	for (used_ent_t *e = *pp; e; e = e->next)
		if (strcmp(e->state, state) == 0)
			return ERR_EXISTS;
	if (u->n >= OIDC_USED_MAX) {
		for (size_t i = 0; i < BUCKETS; i++)
			prune_bucket(u, &u->b[i], now);
		if (u->n >= OIDC_USED_MAX)
			return ERR_TOOBIG;
	}
	used_ent_t *e = calloc(1, sizeof(*e));
	if (!e)
		return ERR_NOMEM;
	memcpy(e->state, state, len + 1);
	e->exp = exp;
	e->next = *pp;
	*pp = e;
	u->n++;
	return 0;
}
