/* model.c — the lookups the event loop runs against the edge's
 * configuration snapshot, and freeing it.
 *
 * The store builds a model_t from one consistent snapshot on a worker
 * thread (store_load_model). Once built, a model_t is never modified: the
 * loop thread reads it without locks. */
#include "edge/model.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static void free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void policy_clear(model_policy_t *p)
{
	free(p->id);
	free(p->name);
	free_strv(p->include, p->ninclude);
	free_strv(p->require, p->nrequire);
	free_strv(p->exclude, p->nexclude);
}

static void app_clear(model_app_t *a)
{
	free(a->id);
	free(a->name);
	free(a->aud);
	free_strv(a->hostnames, a->nhostnames);
	for (size_t i = 0; i < a->npolicies; i++)
		policy_clear(&a->policies[i]);
	free(a->policies);
	free_strv(a->idps, a->nidps);
}

static void idp_clear(model_idp_t *p)
{
	free(p->name);
	free(p->issuer);
	free(p->client_id);
	if (p->client_secret) {
		OPENSSL_cleanse(p->client_secret, strlen(p->client_secret));
		free(p->client_secret);
	}
	free(p->ca_pem);
	free(p->groups_claim);
	free(p->scopes);
}

void model_free(model_t *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->napps; i++)
		app_clear(&m->apps[i]);
	free(m->apps);
	for (size_t i = 0; i < m->ntokens; i++) {
		free(m->tokens[i].id);
		free(m->tokens[i].name);
	}
	free(m->tokens);
	for (size_t i = 0; i < m->ntunnels; i++) {
		free(m->tunnels[i].id);
		free(m->tunnels[i].name);
	}
	free(m->tunnels);
	for (size_t i = 0; i < m->nroutes; i++) {
		free(m->routes[i].hostname);
		free(m->routes[i].tunnel_id);
	}
	free(m->routes);
	for (size_t i = 0; i < m->nusers; i++) {
		free(m->users[i].email);
		if (m->users[i].pw_hash) {
			OPENSSL_cleanse(m->users[i].pw_hash, strlen(m->users[i].pw_hash));
			free(m->users[i].pw_hash);
		}
	}
	free(m->users);
	for (size_t i = 0; i < m->nkeys; i++)
		EVP_PKEY_free(m->keys[i].pkey);
	free(m->keys);
	for (size_t i = 0; i < m->nrevocations; i++)
		free(m->revocations[i].email);
	free(m->revocations);
	for (size_t i = 0; i < m->nidps; i++)
		idp_clear(&m->idps[i]);
	free(m->idps);
	free(m);
}

/* Each lookup is one scan function, so a hash index can replace the body
 * without touching callers. */

const model_app_t *model_app_by_host(const model_t *m, const char *host)
{
	if (!m || !host)
		return NULL;
	for (size_t i = 0; i < m->napps; i++)
		for (size_t j = 0; j < m->apps[i].nhostnames; j++)
			if (strcmp(m->apps[i].hostnames[j], host) == 0)
				return &m->apps[i];
	return NULL;
}

const model_app_t *model_app_by_name(const model_t *m, const char *name_or_id)
{
	if (!m || !name_or_id)
		return NULL;
	/* ids first: an id names exactly one app even if some app is named like an id */
	for (size_t i = 0; i < m->napps; i++)
		if (strcmp(m->apps[i].id, name_or_id) == 0)
			return &m->apps[i];
	for (size_t i = 0; i < m->napps; i++)
		if (strcmp(m->apps[i].name, name_or_id) == 0)
			return &m->apps[i];
	return NULL;
}

const model_token_t *model_token_by_id(const model_t *m, const char *client_id)
{
	if (!m || !client_id)
		return NULL;
	for (size_t i = 0; i < m->ntokens; i++)
		if (strcmp(m->tokens[i].id, client_id) == 0)
			return &m->tokens[i];
	return NULL;
}

const model_token_t *model_token_by_name(const model_t *m, const char *name)
{
	if (!m || !name)
		return NULL;
	for (size_t i = 0; i < m->ntokens; i++)
		if (strcmp(m->tokens[i].name, name) == 0)
			return &m->tokens[i];
	return NULL;
}

const model_tunnel_t *model_tunnel_by_id(const model_t *m, const char *id)
{
	if (!m || !id)
		return NULL;
	for (size_t i = 0; i < m->ntunnels; i++)
		if (strcmp(m->tunnels[i].id, id) == 0)
			return &m->tunnels[i];
	return NULL;
}

const model_route_t *model_route_by_host(const model_t *m, const char *host)
{
	if (!m || !host)
		return NULL;
	for (size_t i = 0; i < m->nroutes; i++)
		if (strcmp(m->routes[i].hostname, host) == 0)
			return &m->routes[i];
	return NULL;
}

const model_user_t *model_user_by_email(const model_t *m, const char *email)
{
	if (!m || !email)
		return NULL;
	for (size_t i = 0; i < m->nusers; i++)
		if (strcmp(m->users[i].email, email) == 0)
			return &m->users[i];
	return NULL;
}

const model_key_t *model_key_by_kid(const model_t *m, const char *kid)
{
	if (!m || !kid)
		return NULL;
	for (size_t i = 0; i < m->nkeys; i++)
		if (strcmp(m->keys[i].kid, kid) == 0)
			return &m->keys[i];
	return NULL;
}

const model_key_t *model_signing_key(const model_t *m)
{
	if (!m || m->nkeys == 0 || m->keys[0].retired_at != 0 || !m->keys[0].pkey)
		return NULL;
	return &m->keys[0];
}

const model_idp_t *model_idp_by_name(const model_t *m, const char *name)
{
	if (!m || !name)
		return NULL;
	for (size_t i = 0; i < m->nidps; i++)
		if (strcmp(m->idps[i].name, name) == 0)
			return &m->idps[i];
	return NULL;
}

bool model_app_accepts_idp(const model_app_t *app, const char *idp)
{
	if (!app || !idp)
		return false;
	if (app->nidps == 0)
		return true;
	for (size_t i = 0; i < app->nidps; i++)
		if (strcmp(app->idps[i], idp) == 0)
			return true;
	return false;
}

int64_t model_revoked_at(const model_t *m, const char *email)
{
	if (!m || !email)
		return 0;
	for (size_t i = 0; i < m->nrevocations; i++)
		if (strcmp(m->revocations[i].email, email) == 0)
			return m->revocations[i].revoked_at;
	return 0;
}

/* 0 on success; out is zeroed on failure. */
static int hash_secret(const char *secret, size_t len, uint8_t out[32])
{
	unsigned int n = 0;
	if (EVP_Digest(secret, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		memset(out, 0, 32);
		return ERR_INVAL;
	}
	return 0;
}

void model_hash_secret(const char *secret, size_t len, uint8_t out[32])
{
	(void)hash_secret(secret, len, out);
}

bool model_secret_ok(const uint8_t hash[32], const char *secret, size_t len)
{
	uint8_t h[32];
	bool ok = false;
	/* a failed digest must never compare equal to anything */
	if (!hash || !secret || hash_secret(secret, len, h) != 0)
		goto out;
	ok = CRYPTO_memcmp(h, hash, sizeof(h)) == 0;
out:
	OPENSSL_cleanse(h, sizeof(h));
	return ok;
}
