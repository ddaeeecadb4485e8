/* oidc_provider.c — per provider: its discovery document and its JWKS,
 * fetched over HTTPS (oidc_http.c), parsed (oidc_doc.c) and cached.
 *
 * One fetch per document at a time, whoever waits for it: the logins
 * waiting are told when it ends (oidc__prov_fetched). Both documents are
 * fetched again after OIDC_DOC_TTL_MS; an ID token whose kid is not in the
 * cached JWKS fetches it again, at most once per OIDC_JWKS_REFETCH_MS, so
 * tokens with made-up kids cannot make the edge hammer the provider. A
 * provider whose configuration changed (issuer, CA) starts from nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/oidc/oidc_int.h"

#define WELL_KNOWN "/.well-known/openid-configuration"

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void prov_reset(oidc_prov_t *p)
{
	for (int i = 0; i < 2; i++) {
		oidc__http_cancel(p->req[i]);
		p->req[i] = NULL;
	}
	oidc_jwks_clear(&p->jwks);
	memset(&p->disc, 0, sizeof(p->disc));
	p->have_disc = p->have_jwks = false;
	p->disc_at_ms = p->jwks_at_ms = 0;
}

static void prov_free(oidc_prov_t *p)
{
	prov_reset(p);
	free(p->issuer);
	free(p->ca_pem);
	free(p);
}

void oidc__provs_free(struct oidc *o)
{
	while (o->provs) {
		oidc_prov_t *p = o->provs;
		o->provs = p->next;
		prov_free(p);
	}
}

oidc_prov_t *oidc__prov_for(struct oidc *o, const model_idp_t *mi)
{
	oidc_prov_t *p = o->provs;
	while (p && strcmp(p->name, mi->name) != 0)
		p = p->next;
	if (p && same(p->issuer, mi->issuer) && same(p->ca_pem, mi->ca_pem))
		return p;
	if (p) {
		/* changed under us: whoever waited on the old fetches hears of it */
		bool waited[2] = {p->req[0] != NULL, p->req[1] != NULL};
		prov_reset(p);
		for (int i = 0; i < 2; i++)
			if (waited[i])
				oidc__prov_fetched(p, (enum oidc_doc)i, ERR_UNAVAIL,
						   "its configuration changed during the login; try again");
		free(p->issuer);
		free(p->ca_pem);
		p->issuer = p->ca_pem = NULL;
	} else {
		if (!(p = calloc(1, sizeof(*p))))
			return NULL;
		p->o = o;
		snprintf(p->name, sizeof(p->name), "%s", mi->name);
		p->next = o->provs;
		o->provs = p;
	}
	p->issuer = strdup(mi->issuer);
	p->ca_pem = mi->ca_pem ? strdup(mi->ca_pem) : NULL;
	if (!p->issuer || (mi->ca_pem && !p->ca_pem)) {
		free(p->issuer);
		free(p->ca_pem);
		p->issuer = p->ca_pem = NULL; /* (never matches: tried again next time) */
		return NULL;
	}
	return p;
}

/* "provider corp: discovery at URL failed: WHY" into err. */
static void fetch_err(oidc_prov_t *p, enum oidc_doc which, const char *url, const char *why, char *err,
		      size_t errlen)
{
	snprintf(err, errlen, "provider %s: %s at %.300s failed: %s", p->name,
		 which == OIDC_DISC ? "discovery" : "fetching the signing keys (JWKS)", url, why);
}

static void disc_url(const oidc_prov_t *p, char *out, size_t outlen)
{
	size_t n = strlen(p->issuer);
	/* the well-known path goes after the issuer's own path, without doubling a trailing slash */
	snprintf(out, outlen, "%.*s%s", (int)(n && p->issuer[n - 1] == '/' ? n - 1 : n), p->issuer,
		 WELL_KNOWN);
}

static void fetched(oidc_prov_t *p, enum oidc_doc which, int status, long code, const char *body, size_t len,
		    const char *why)
{
	char url[OIDC_URL_MAX + 64], err[OIDC_ERR_MAX], detail[256];
	int r = ERR_UNAVAIL;

	p->req[which] = NULL;
	if (which == OIDC_DISC)
		disc_url(p, url, sizeof(url));
	else
		snprintf(url, sizeof(url), "%s", p->disc.jwks_uri);
	if (status != 0) {
		fetch_err(p, which, url, why && *why ? why : err_str(status), err, sizeof(err));
		goto out;
	}
	if (code != 200) {
		snprintf(detail, sizeof(detail), "HTTP %ld", code);
		fetch_err(p, which, url, detail, err, sizeof(err));
		goto out;
	}
	if (which == OIDC_DISC) {
		oidc_discovery_t d;
		if (oidc_discovery_parse(body, len, p->issuer, &d, detail, sizeof(detail)) != 0) {
			fetch_err(p, which, url, detail, err, sizeof(err));
			goto out;
		}
		p->disc = d;
		p->have_disc = true;
		p->disc_at_ms = uv_now(p->o->e->loop);
	} else {
		oidc_jwks_t ks;
		if (oidc_jwks_parse(body, len, &ks, detail, sizeof(detail)) != 0) {
			fetch_err(p, which, url, detail, err, sizeof(err));
			goto out;
		}
		oidc_jwks_clear(&p->jwks);
		p->jwks = ks;
		p->have_jwks = true;
	}
	r = 0;
	err[0] = '\0';
out:
	if (r != 0)
		log_warn("oidc: %s", err);
	oidc__prov_fetched(p, which, r, err);
}

static void disc_cb(void *arg, int status, long code, const char *body, size_t len, const char *why)
{
	fetched(arg, OIDC_DISC, status, code, body, len, why);
}

static void jwks_cb(void *arg, int status, long code, const char *body, size_t len, const char *why)
{
	fetched(arg, OIDC_JWKS, status, code, body, len, why);
}

int oidc__prov_want(oidc_prov_t *p, enum oidc_doc which, bool refresh, char *err, size_t errlen)
{
	uint64_t now = uv_now(p->o->e->loop);
	char url[OIDC_URL_MAX + 64];
	int r;

	if (p->req[which])
		return 1;
	if (which == OIDC_DISC && p->have_disc && now - p->disc_at_ms < OIDC_DOC_TTL_MS)
		return 0;
	if (which == OIDC_JWKS) {
		bool fresh = p->have_jwks && now - p->jwks_at_ms < OIDC_DOC_TTL_MS;
		if (!refresh && fresh)
			return 0;
		if (refresh && p->jwks_at_ms && now - p->jwks_at_ms < OIDC_JWKS_REFETCH_MS) {
			snprintf(err, errlen,
				 "provider %s: the ID token is signed by a key not in its JWKS (fetched "
				 "again less "
				 "than a minute ago)",
				 p->name);
			return ERR_EXISTS;
		}
		if (!p->have_disc) {
			snprintf(err, errlen, "provider %s: no discovery document", p->name);
			return ERR_UNAVAIL;
		}
	}
	if (which == OIDC_DISC)
		disc_url(p, url, sizeof(url));
	else
		snprintf(url, sizeof(url), "%s", p->disc.jwks_uri);
	oidc_http_opts_t ho = {.url = url, .ca_pem = p->ca_pem};
	r = oidc__http_start(p->o->http, &ho, which == OIDC_DISC ? disc_cb : jwks_cb, p, &p->req[which]);
	if (r != 0) {
		fetch_err(p, which, url,
			  r == ERR_UNAVAIL ? "too many requests to identity providers in flight; try again"
					   : err_str(r),
			  err, errlen);
		return ERR_UNAVAIL;
	}
	if (which == OIDC_JWKS)
		p->jwks_at_ms = now;
	return 1;
}
