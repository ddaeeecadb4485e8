/* store.c — the engine-neutral half of the store: dispatch to the engine's
 * operations, and what every engine shares (freeing records, reasons).
 *
 * Each call clears its out parameters and why first, so an engine fills in
 * only what it finds and a caller never reads stale values. */
#include "edge/store/store.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "edge/store/store_engine.h"

int store_open(const char *path, store_t **out, char *err, size_t errlen)
{
	/* one engine so far; a URL scheme (postgres://) will pick another here */
	return store__sqlite_open(path, out, err, errlen);
}

void store_close(store_t *st)
{
	if (st)
		st->ops->close(st);
}

int store_schema_version(store_t *st)
{
	return st->schema_version;
}

const char *store_errmsg(store_t *st)
{
	return st->errmsg;
}

struct sqlite3 *store_db(store_t *st)
{
	return st->ops->db ? st->ops->db(st) : NULL;
}

static void why_reset(store_why_t *why)
{
	if (why)
		memset(why, 0, sizeof(*why));
}

void store__set_why(store_why_t *why, enum store_what what, const char *key, const char *owner)
{
	if (!why)
		return;
	why->what = what;
	snprintf(why->key, sizeof(why->key), "%s", key ? key : "");
	snprintf(why->owner, sizeof(why->owner), "%s", owner ? owner : "");
}

int store_change_version(store_t *st, int64_t *out)
{
	*out = 0;
	return st->ops->change_version(st, out);
}

int store_load_model(store_t *st, model_t **out)
{
	store_snapshot_t s = {0};
	*out = NULL;
	int r = st->ops->snapshot(st, &s);
	if (r == 0)
		r = store__model_from(&s, out);
	store__snapshot_clear(&s);
	return r;
}

/* ---- apps and policies ---- */

int store_app_list(store_t *st, store_app_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->app_list(st, out, n);
}

int store_app_create(store_t *st, const store_app_t *in, store_app_t *out, store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	return st->ops->app_create(st, in, out, why);
}

int store_app_delete(store_t *st, const char *app, char id[STORE_ID_MAX + 1], store_why_t *why)
{
	id[0] = '\0';
	why_reset(why);
	return st->ops->app_delete(st, app, id, why);
}

int store_policy_list(store_t *st, const char *app, store_policy_t **out, size_t *n, store_why_t *why)
{
	*out = NULL;
	*n = 0;
	why_reset(why);
	return st->ops->policy_list(st, app, out, n, why);
}

int store_policy_add(store_t *st, const store_policy_t *in, const store_strv_t *tokens, store_policy_t *out,
		     store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	return st->ops->policy_add(st, in, tokens, out, why);
}

int store_policy_delete(store_t *st, const char *id, store_why_t *why)
{
	why_reset(why);
	return st->ops->policy_delete(st, id, why);
}

/* ---- credentials ---- */

int store_token_list(store_t *st, store_token_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->token_list(st, out, n);
}

int store_token_create(store_t *st, const store_token_t *in, store_token_t *out, store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	return st->ops->token_create(st, in, out, why);
}

int store_token_revoke(store_t *st, const char *token, char id[STORE_ID_MAX + 1], bool *changed,
		       store_why_t *why)
{
	id[0] = '\0';
	*changed = false;
	why_reset(why);
	return st->ops->token_revoke(st, token, id, changed, why);
}

int store_tunnel_list(store_t *st, store_tunnel_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->tunnel_list(st, out, n);
}

int store_tunnel_create(store_t *st, const store_tunnel_t *in, const store_strv_t *hostnames,
			store_tunnel_t *out, store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	return st->ops->tunnel_create(st, in, hostnames, out, why);
}

int store_tunnel_delete(store_t *st, const char *tunnel, char id[STORE_ID_MAX + 1], store_why_t *why)
{
	id[0] = '\0';
	why_reset(why);
	return st->ops->tunnel_delete(st, tunnel, id, why);
}

int store_route_list(store_t *st, store_route_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->route_list(st, out, n);
}

int store_route_add(store_t *st, const char *tunnel, const char *hostname, store_route_t *out,
		    store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	return st->ops->route_add(st, tunnel, hostname, out, why);
}

int store_route_delete(store_t *st, const char *hostname, store_route_t *out, store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	return st->ops->route_delete(st, hostname, out, why);
}

/* ---- single sign-on: users, signing keys, revocations ---- */

int store_user_list(store_t *st, store_user_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->user_list(st, out, n);
}

int store_user_create(store_t *st, const store_user_t *in, store_user_t *out, store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	if (!in->email[0] || !in->pw_hash[0])
		return ERR_INVAL;
	return st->ops->user_create(st, in, out, why);
}

int store_user_delete(store_t *st, const char *email, store_why_t *why)
{
	why_reset(why);
	return st->ops->user_delete(st, email, why);
}

int store_key_list(store_t *st, store_key_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->key_list(st, out, n);
}

static bool kid_ok(const char *kid)
{
	size_t i = 0;
	for (; kid && i < STORE_KID_LEN; i++)
		if (!((kid[i] >= '0' && kid[i] <= '9') || (kid[i] >= 'a' && kid[i] <= 'f')))
			return false;
	return kid && kid[i] == '\0';
}

int store_key_rotate(store_t *st, const char *kid, const char *private_pem, int64_t now, int64_t keep_s)
{
	/* now > 0: a retired_at of 0 would mean "current" */
	if (!kid_ok(kid) || !private_pem || !*private_pem || now <= 0)
		return ERR_INVAL;
	return st->ops->key_rotate(st, kid, private_pem, now, keep_s < 0 ? 0 : keep_s);
}

int store_revoke_email(store_t *st, const char *email, int64_t now)
{
	if (!email || !*email || strlen(email) > STORE_EMAIL_MAX)
		return ERR_INVAL;
	return st->ops->revoke_email(st, email, now);
}

/* ---- identity providers ---- */

int store_idp_list(store_t *st, store_idp_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->idp_list(st, out, n);
}

static bool bounded(const char *s, size_t max)
{
	return s && *s && strlen(s) <= max;
}

int store_idp_create(store_t *st, const store_idp_t *in, store_idp_t *out, store_why_t *why)
{
	memset(out, 0, sizeof(*out));
	why_reset(why);
	if (!in->name[0] || !in->issuer[0] || !in->client_id[0] ||
	    !bounded(in->client_secret, STORE_CLIENT_SECRET_MAX) || !in->groups_claim[0] || !in->scopes[0] ||
	    (in->ca_pem && !bounded(in->ca_pem, STORE_CA_PEM_MAX)))
		return ERR_INVAL;
	return st->ops->idp_create(st, in, out, why);
}

int store_idp_delete(store_t *st, const char *name, store_why_t *why)
{
	why_reset(why);
	return st->ops->idp_delete(st, name, why);
}

/* ---- freeing ---- */

void store_strv_clear(store_strv_t *sv)
{
	for (size_t i = 0; sv->v && i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void store_app_clear(store_app_t *a)
{
	store_strv_clear(&a->hostnames);
	store_strv_clear(&a->idps);
}

void store_idp_clear(store_idp_t *p)
{
	if (p->client_secret) {
		OPENSSL_cleanse(p->client_secret, strlen(p->client_secret));
		free(p->client_secret);
	}
	free(p->ca_pem);
	p->client_secret = NULL;
	p->ca_pem = NULL;
}

void store_idps_free(store_idp_t *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		store_idp_clear(&v[i]);
	free(v);
}

void store_apps_free(store_app_t *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		store_app_clear(&v[i]);
	free(v);
}

void store_policy_clear(store_policy_t *p)
{
	store_strv_clear(&p->include);
	store_strv_clear(&p->require);
	store_strv_clear(&p->exclude);
}

void store_policies_free(store_policy_t *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		store_policy_clear(&v[i]);
	free(v);
}

void store__keys_free(store_key_t *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		if (v[i].private_pem) {
			OPENSSL_cleanse(v[i].private_pem, strlen(v[i].private_pem));
			free(v[i].private_pem);
		}
	free(v);
}

void store__snapshot_clear(store_snapshot_t *s)
{
	store_apps_free(s->apps, s->napps);
	store_policies_free(s->policies, s->npolicies);
	free(s->tokens);
	free(s->tunnels);
	free(s->routes);
	if (s->users)
		OPENSSL_cleanse(s->users, s->nusers * sizeof(*s->users));
	free(s->users);
	store__keys_free(s->keys, s->nkeys);
	free(s->revocations);
	store_idps_free(s->idps, s->nidps);
	memset(s, 0, sizeof(*s));
}

int store_audit_append(store_t *st, const store_audit_rec_t *recs, size_t n)
{
	return n ? st->ops->audit_append(st, recs, n) : 0;
}

int store_audit_prune(store_t *st, int64_t before_ms, int64_t *deleted)
{
	*deleted = 0;
	return st->ops->audit_prune(st, before_ms, deleted);
}

int store_audit_query(store_t *st, const store_audit_filter_t *f, store_audit_fn fn, void *arg)
{
	return st->ops->audit_query(st, f, fn, arg);
}
