/* oidc_int.h — shared by the edge/oidc/ files only: the relying party's
 * context, its per-provider caches and the logins in flight. */
#ifndef BURROW_EDGE_OIDC_INT_H
#define BURROW_EDGE_OIDC_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "edge/oidc/oidc.h"
#include "edge/oidc/oidc_http.h"
#include "edge/oidc/oidc_state.h"
#include "edge/oidc/oidc_verify.h"

#define OIDC_ERR_MAX 1024
#define OIDC_DOC_TTL_MS (3600 * 1000)	 /* discovery and JWKS are fetched again after this */
#define OIDC_JWKS_REFETCH_MS (60 * 1000) /* an unknown kid fetches the JWKS at most this often */
#define OIDC_OPS_MAX 1024		 /* logins in flight; more are refused (ERR_UNAVAIL) */

enum oidc_doc { OIDC_DISC, OIDC_JWKS };

/* What the edge knows of one provider; config copied to notice changes. */
typedef struct oidc_prov {
	struct oidc_prov *next;
	struct oidc *o;
	char name[65];
	char *issuer, *ca_pem;
	oidc_discovery_t disc;
	bool have_disc;
	uint64_t disc_at_ms;
	oidc_jwks_t jwks;
	bool have_jwks;
	uint64_t jwks_at_ms;	 /* last fetch started (for the refetch limit) */
	oidc_http_req_t *req[2]; /* in flight: discovery, JWKS */
} oidc_prov_t;

enum oidc_op_kind { OIDC_OP_BEGIN, OIDC_OP_CALLBACK };
enum oidc_phase { OIDC_PH_DISC, OIDC_PH_TOKEN, OIDC_PH_JWKS, OIDC_PH_VERIFY };

typedef struct oidc_op {
	struct oidc_op *prev, *next;
	struct oidc *o;
	enum oidc_op_kind kind;
	enum oidc_phase phase;
	int waiting;	/* -1: none; else the enum oidc_doc its provider fetches */
	bool ready;	/* step it from the kick timer */
	bool refetched; /* the JWKS was fetched again for an unknown kid */
	oidc_prov_t *prov;
	void *arg;
	oidc_begin_cb bcb;
	oidc_done_cb dcb;
	oidc_login_t login;
	bool have_login;
	char *code;			  /* the authorization code (wiped) */
	char *id_token;			  /* from the token response (wiped) */
	char iss_param[OIDC_URL_MAX + 1]; /* RFC 9207 "iss" of the redirect, or "" */
	oidc_http_req_t *req;		  /* its token request */
	int status;
	char err[OIDC_ERR_MAX];
} oidc_op_t;

struct oidc {
	edge_t *e;
	oidc_http_t *http;
	uint8_t key[OIDC_KEY_LEN];
	oidc_used_t *used;
	oidc_prov_t *provs;
	oidc_op_t *ops;
	size_t nops;
	uv_timer_t kick;
	bool closing;
};

/* oidc_provider.c. want: 0 when the document is cached and fresh; 1 when a
 * fetch is on its way (oidc__prov_fetched is called when it ends); an error
 * with why in err otherwise. refresh (JWKS): fetch again even if cached,
 * unless the last fetch started less than OIDC_JWKS_REFETCH_MS ago
 * (ERR_EXISTS). */
oidc_prov_t *oidc__prov_for(struct oidc *o, const model_idp_t *mi);
int oidc__prov_want(oidc_prov_t *p, enum oidc_doc which, bool refresh, char *err, size_t errlen);
void oidc__provs_free(struct oidc *o);
/* oidc_flow.c: a provider's fetch ended (status 0: its cache is filled). */
void oidc__prov_fetched(oidc_prov_t *p, enum oidc_doc which, int status, const char *err);

#endif
