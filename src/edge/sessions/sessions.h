/* sessions.h — live client sessions, each bound to what allowed it.
 *
 * A session remembers its hostname, its service token (if any), its tunnel
 * and when it started. Whenever the model changes, and once a second (for
 * expiries and session durations), every live session is evaluated again as
 * if it were starting now; one that would be refused is ended at once with
 * a WebSocket Close 1008 whose reason the client prints (e.g. "service token
 * ci revoked"), and its stream is reset, which closes the origin. */
#ifndef BURROW_EDGE_SESSIONS_H
#define BURROW_EDGE_SESSIONS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "core/relay.h"

typedef struct edge edge_t;

typedef struct edge_session {
	struct edge_session *prev, *next; /* edge_t.sessions */
	relay_t *relay;
	const h2_session_t *via; /* the tunnel connection it runs on */
	bool ending;
	time_t started;
	char token_id[128]; /* "" without a service token (bypass) */
	char token_name[96];
	char tunnel_id[64];
	char tunnel_name[80];
	/* the owner's, alive as long as the session */
	const char *host;
	const struct sockaddr_storage *peer;
	const struct identity *id; /* the person an app token named, or NULL */
	const char *app;	   /* the application's name */
	const char *session_id;	   /* 16 hex digits, as in the audit log */
	const char *ident;	   /* for logs: "service token ci" */
	const char *peer_str;
	char end_reason[128]; /* why the edge ended it; empty when it ended by itself */
} edge_session_t;

/* A session that relays: from now on it is checked. */
void sessions_add(edge_t *e, edge_session_t *s);
/* Its relay is done (before the owner frees s). */
void sessions_remove(edge_t *e, edge_session_t *s);
/* Ends every live session the current model no longer allows. */
void sessions_check(edge_t *e);
/* GET /api/v1/sessions[?email=E]: the live sessions as JSON (malloc'd),
 * or NULL when out of memory. */
char *sessions_list_json(const edge_t *e, const char *email);
/* The once-a-second check (expiries, session durations). */
int sessions_start(edge_t *e);

#endif
