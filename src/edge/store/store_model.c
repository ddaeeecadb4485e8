/* store_model.c — builds the edge's model (edge/model.h) from a snapshot of
 * the store's records, for every engine alike: an engine only reads the
 * records in one consistent snapshot. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/auth/keys.h"
#include "edge/store/store_engine.h"

/* Moves a string list out of the store's record into the model's fields. */
static void take_strv(store_strv_t *sv, char ***v, size_t *n)
{
	*v = sv->v;
	*n = sv->n;
	sv->v = NULL;
	sv->n = 0;
}

static int fill_policy(model_policy_t *mp, store_policy_t *sp)
{
	mp->action = sp->action;
	mp->precedence = (int)sp->precedence;
	take_strv(&sp->include, &mp->include, &mp->ninclude);
	take_strv(&sp->require, &mp->require, &mp->nrequire);
	take_strv(&sp->exclude, &mp->exclude, &mp->nexclude);
	if (!(mp->id = strdup(sp->id)) || !(mp->name = strdup(sp->name)))
		return ERR_NOMEM;
	return 0;
}

/* The app's policies, in the snapshot's order (precedence, then creation). */
static int fill_app(model_app_t *ma, store_app_t *sa, store_snapshot_t *s)
{
	size_t n = 0;
	int r;

	ma->session_duration = sa->session_duration;
	take_strv(&sa->hostnames, &ma->hostnames, &ma->nhostnames);
	take_strv(&sa->idps, &ma->idps, &ma->nidps);
	if (!(ma->id = strdup(sa->id)) || !(ma->name = strdup(sa->name)) || !(ma->aud = strdup(sa->aud)))
		return ERR_NOMEM;
	for (size_t i = 0; i < s->npolicies; i++)
		n += strcmp(s->policies[i].app_id, sa->id) == 0;
	if (n && !(ma->policies = calloc(n, sizeof(*ma->policies))))
		return ERR_NOMEM;
	for (size_t i = 0; i < s->npolicies && ma->npolicies < n; i++) {
		if (strcmp(s->policies[i].app_id, sa->id) != 0)
			continue;
		/* counted before filling so a half-built policy is still freed */
		if ((r = fill_policy(&ma->policies[ma->npolicies++], &s->policies[i])) != 0)
			return r;
	}
	return 0;
}

static int fill_creds(model_t *m, const store_snapshot_t *s)
{
	if ((s->ntokens && !(m->tokens = calloc(s->ntokens, sizeof(*m->tokens)))) ||
	    (s->ntunnels && !(m->tunnels = calloc(s->ntunnels, sizeof(*m->tunnels)))) ||
	    (s->nroutes && !(m->routes = calloc(s->nroutes, sizeof(*m->routes)))))
		return ERR_NOMEM;
	for (size_t i = 0; i < s->ntokens; i++) {
		model_token_t *t = &m->tokens[m->ntokens++];
		memcpy(t->secret_hash, s->tokens[i].secret_hash, sizeof(t->secret_hash));
		t->created_at = s->tokens[i].created_at;
		t->expires_at = s->tokens[i].expires_at;
		t->revoked = s->tokens[i].revoked;
		if (!(t->id = strdup(s->tokens[i].id)) || !(t->name = strdup(s->tokens[i].name)))
			return ERR_NOMEM;
	}
	for (size_t i = 0; i < s->ntunnels; i++) {
		model_tunnel_t *t = &m->tunnels[m->ntunnels++];
		memcpy(t->secret_hash, s->tunnels[i].secret_hash, sizeof(t->secret_hash));
		t->created_at = s->tunnels[i].created_at;
		if (!(t->id = strdup(s->tunnels[i].id)) || !(t->name = strdup(s->tunnels[i].name)))
			return ERR_NOMEM;
	}
	for (size_t i = 0; i < s->nroutes; i++) {
		model_route_t *rt = &m->routes[m->nroutes++];
		if (!(rt->hostname = strdup(s->routes[i].hostname)) ||
		    !(rt->tunnel_id = strdup(s->routes[i].tunnel_id)))
			return ERR_NOMEM;
	}
	return 0;
}

/* Users, signing keys (decoded: a key that does not decode is left out, so
 * it can never be "current") and revocations. */
static int fill_sso(model_t *m, const store_snapshot_t *s)
{
	if ((s->nusers && !(m->users = calloc(s->nusers, sizeof(*m->users)))) ||
	    (s->nkeys && !(m->keys = calloc(s->nkeys, sizeof(*m->keys)))) ||
	    (s->nrevocations && !(m->revocations = calloc(s->nrevocations, sizeof(*m->revocations)))))
		return ERR_NOMEM;
	for (size_t i = 0; i < s->nusers; i++) {
		model_user_t *u = &m->users[m->nusers++];
		u->created_at = s->users[i].created_at;
		if (!(u->email = strdup(s->users[i].email)) || !(u->pw_hash = strdup(s->users[i].pw_hash)))
			return ERR_NOMEM;
	}
	for (size_t i = 0; i < s->nkeys; i++) {
		EVP_PKEY *pkey = keys_from_pem(s->keys[i].private_pem);
		if (!pkey) {
			log_error("store: signing key %s is not an EC P-256 private key; left out",
				  s->keys[i].kid);
			continue;
		}
		model_key_t *k = &m->keys[m->nkeys++];
		memcpy(k->kid, s->keys[i].kid, sizeof(k->kid));
		k->pkey = pkey;
		k->created_at = s->keys[i].created_at;
		k->retired_at = s->keys[i].retired_at;
	}
	for (size_t i = 0; i < s->nrevocations; i++) {
		model_revocation_t *rv = &m->revocations[m->nrevocations++];
		rv->revoked_at = s->revocations[i].revoked_at;
		if (!(rv->email = strdup(s->revocations[i].email)))
			return ERR_NOMEM;
	}
	return 0;
}

/* Moves a string out of a record (NULL stays NULL); false when in was set
 * and copying failed. */
static bool dup_opt(const char *in, char **out)
{
	*out = in ? strdup(in) : NULL;
	return !in || *out;
}

/* Identity providers; the client secret moves (never copied, so the one
 * copy the snapshot had is the one the model wipes). */
static int fill_idps(model_t *m, store_snapshot_t *s)
{
	if (s->nidps && !(m->idps = calloc(s->nidps, sizeof(*m->idps))))
		return ERR_NOMEM;
	for (size_t i = 0; i < s->nidps; i++) {
		store_idp_t *sp = &s->idps[i];
		model_idp_t *p = &m->idps[m->nidps++];
		p->client_secret = sp->client_secret;
		sp->client_secret = NULL;
		if (!p->client_secret || !(p->name = strdup(sp->name)) || !(p->issuer = strdup(sp->issuer)) ||
		    !(p->client_id = strdup(sp->client_id)) || !dup_opt(sp->ca_pem, &p->ca_pem) ||
		    !(p->groups_claim = strdup(sp->groups_claim)) || !(p->scopes = strdup(sp->scopes)))
			return ERR_NOMEM;
	}
	return 0;
}

int store__model_from(store_snapshot_t *s, model_t **out)
{
	model_t *m = calloc(1, sizeof(*m));
	int r = ERR_NOMEM;

	*out = NULL;
	if (!m || (s->napps && !(m->apps = calloc(s->napps, sizeof(*m->apps)))))
		goto out;
	m->version = s->version;
	for (size_t i = 0; i < s->napps; i++)
		if ((r = fill_app(&m->apps[m->napps++], &s->apps[i], s)) != 0)
			goto out;
	if ((r = fill_creds(m, s)) != 0 || (r = fill_sso(m, s)) != 0 || (r = fill_idps(m, s)) != 0)
		goto out;
	*out = m;
	m = NULL;
out:
	model_free(m);
	return r;
}
