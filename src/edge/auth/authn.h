/* authn.h — what a request presents, turned into who it is, in one place.
 *
 * The WebSocket path, the admin API and the HTTP paths to come all ask
 * here. Failed credentials are counted per client address and per
 * presented id (edge/auth/ratelimit.h); past the limit failures are answered 429,
 * but correct credentials always pass, so someone failing behind the same
 * NAT cannot lock out the admin or a CI job. Secrets are compared in
 * constant time and never copied out. */
#ifndef BURROW_EDGE_AUTHN_H
#define BURROW_EDGE_AUTHN_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "core/http1.h"
#include "edge/edge.h"

typedef struct authn_req {
	const http1_parser_t *hp;
	const struct sockaddr_storage *peer;
	const char *peer_str; /* for messages */
} authn_req_t;

typedef struct authn {
	int status;		    /* 0: passed (or nothing presented); else 401 or 429 */
	char reason[256];	    /* with status: the one line the client gets */
	bool presented;		    /* the request carried credentials */
	const model_token_t *token; /* the service token that passed (in e->model) */
	char ident[160];	    /* who, for logs: "service token ci"; empty when anonymous */
} authn_t;

/* The admin bearer token (Authorization: Bearer …). True when it passed;
 * otherwise out->status and out->reason say why (reason is a JSON body). */
bool authn_admin(edge_t *e, const authn_req_t *rq, authn_t *out);

/* A client's service-token pair (Cf-Access-Client-Id / -Secret) on an
 * application hostname. Passing, or presenting none (then a person's app
 * token, cf-access-token, is checked against the app in edge/http/access.c,
 * and the policy decides: bypass or 401), leaves out->status 0. */
void authn_client(edge_t *e, const authn_req_t *rq, authn_t *out);

enum authn_token_state { AUTHN_TOKEN_OK, AUTHN_TOKEN_REVOKED, AUTHN_TOKEN_EXPIRED };

/* Whether service token t (NULL: deleted) still admits sessions at now;
 * when not, why names the cause ("service token ci revoked"). Used at
 * session start and when live sessions are checked again (edge/sessions/sessions.c),
 * so the two never disagree. */
enum authn_token_state authn_token_state(const model_token_t *t, const char *name, time_t now, char *why,
					 size_t whylen);

#endif
