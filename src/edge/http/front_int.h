/* front_int.h — the front door's connection, shared by the files of
 * src/edge/http/ (front.c: server and router; access.c: login pages and
 * the CLI's token transfer; transfer.c: transfers waiting for a login).
 * Only those include it. */
#ifndef BURROW_EDGE_HTTP_FRONT_INT_H
#define BURROW_EDGE_HTTP_FRONT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/http1.h"
#include "edge/admin/admin_api.h"
#include "edge/audit/audit.h"
#include "edge/auth/apptoken.h"
#include "edge/edge.h"

/* An admin request body, once its token passed. */
#define FRONT_MAX_BODY (1024 * 1024)
/* A client has this long from accept to a complete request head (TLS
 * handshake included), and a kept-alive connection as long between
 * requests: slowloris connections cannot pile up. */
#define FRONT_HEAD_TIMEOUT_MS 10000
/* An authenticated admin request's body has this long to arrive, and a
 * large response as long to leave. */
#define FRONT_BODY_TIMEOUT_MS 30000
/* Responses larger than this go out chunked, a piece at a time as the
 * client reads: the connection's buffer never holds more than its high
 * water mark of one. */
#define FRONT_STREAM_MIN (64 * 1024)
#define FRONT_CHUNK (16 * 1024)
/* The connector has this long to connect to the origin and answer. */
#define FRONT_CONNECT_TIMEOUT_MS 15000
/* A CONNECT unanswered for two round trips (within these bounds; the
 * higher one while no round trip is known) has its connection probed with
 * a PING; a connection that then stays silent this long is suspect, and
 * the session moves to another connection of the tunnel (once: no byte
 * reached the origin before the 200). A dead connection of four so costs a
 * session a second, not a 504. */
#define FRONT_PROBE_MIN_MS 50
#define FRONT_PROBE_MAX_MS 500
#define FRONT_SILENT_MS 1000

enum connect_phase { CP_PROBE, CP_VERDICT, CP_WAIT };

/* F_WAIT: a login page waits for a password check or a transfer (access.c). */
enum front_state { F_READING, F_BODY, F_ADMIN, F_WAIT, F_WRITING, F_CONNECTING, F_RELAYING, F_DONE };

typedef struct front {
	edge_t *e;
	conn_t *c;
	http1_parser_t *hp; /* the request head; freed once the session relays */
	enum front_state state;
	int refs;
	bool head_only;	   /* HEAD: the response carries no body */
	bool out_keep;	   /* F_WRITING: keep the connection after the response */
	size_t out_off;	   /* F_WRITING: bytes of resp.body sent */
	uint32_t requests; /* answered on this connection */
	char peer[64];
	struct sockaddr_storage peer_ss;
	char host[HOSTNAME_MAX + 1];
	char ident[160]; /* who, for logs: "service token ci" */
	char app[64];	 /* the application's name, once found */
	char session_id[17];
	char what[160]; /* an admin request, for the audit log */
	char accept[29];
	h2_stream_t *stream;
	uv_timer_t timer;
	bool timer_closed;
	time_t started;
	uint64_t started_ms; /* loop time the session began relaying */
	uint64_t connect_ms; /* loop time the first CONNECT went out */
	uint64_t probe_seq;  /* the connection's reads when it was probed */
	enum connect_phase phase;
	bool retried;		 /* the CONNECT moved to another connection */
	addrcap_entry_t *unauth; /* until authenticated or closed (edge/auth/unauth.c) */
	edge_session_t sess;	 /* while relaying: what allowed it (edge/sessions/sessions.c) */
	/* admin job */
	char *method;
	char *path;
	char *query; /* after '?', or NULL */
	uint8_t *body;
	size_t body_len;
	admin_resp_t resp;
	/* single sign-on (access.c) */
	void (*on_body)(struct front *f); /* F_BODY: the body is complete */
	identity_t *id;			  /* who an app token or login said this is (owned) */
	char *jwt;			  /* that app token, passed on to the connector (owned) */
	struct front *tnext;		  /* transfer.c: waiting for this transfer id */
	char transfer[44];
	void *work;	/* access.c: a password check on the thread pool */
	bool oidc_wait; /* access.c: an OpenID Connect step holds a reference */
} front_t;

/* Responses (front.c). Every one ends the request: keep leaves the
 * connection open for the next one (only after an authenticated request or
 * a login page's GET), else it closes. headers are extra header lines, each
 * ending in CRLF, or NULL. */
void front__send(front_t *f, int status, const char *headers, const char *ctype, const char *body, bool keep);
void front__refuse(front_t *f, int status, const char *reason);
void front__event(const front_t *f, audit_event_t *ev);
void front__unref(front_t *f);
/* After a refusal's head: reads a body of at most max bytes (413 beyond),
 * then calls done. */
void front__read_body(front_t *f, size_t max, void (*done)(front_t *f));
/* Holds f (state F_WAIT, reading paused) until an answer, or ms. */
void front__wait(front_t *f, uint64_t ms);

/* The routes of access.c. */
void access_route_app(front_t *f, const char *path);
void access_route_auth(front_t *f, const char *path);
/* f's connection closed: what access.c started for it is cancelled. */
void access_closed(front_t *f);
/* A client's cf-access-token (or CF_Authorization cookie) on an app
 * hostname: 0 when absent, 1 when it verified (f->id set), or an HTTP
 * status with reason. */
int access_app_token(front_t *f, const model_app_t *app, char *reason, size_t rlen);

/* Transfers (transfer.c): the sealed app token for a CLI login waits here
 * until its client asks (or 5 minutes). */
#define TRANSFER_ID_LEN 43
#define TRANSFER_HOLD_MS 20000
bool transfer_id_ok(const char *id);
/* Takes sealed (malloc'd): with status 200 the sealed token, else (403)
 * the one line the waiting client prints. ERR_TOOBIG when too many are
 * waiting. */
int transfer_put(edge_t *e, const char *id, int status, char *sealed);
/* Answers f now (200 with the token, when there) or holds it up to
 * TRANSFER_HOLD_MS (then 204). */
void transfer_get(front_t *f, const char *id);
/* The hold ran out: 204. */
void transfer_timeout(front_t *f);
/* f closed (safe when it was not waiting). */
void transfer_cancel(front_t *f);

#endif
