/* audit.h — one record per decision, session end and admin change.
 *
 * The same record feeds the edge's log line, its metrics counters and the
 * audit log, so the three never disagree: callers describe what happened in
 * an audit_event_t and call audit_emit; nothing else logs or counts these.
 * The audit log is kept in the store (written in batches by a store job, once
 * a second, never on the event loop), pruned past --audit-retention, read by
 * GET /api/v1/audit (`burrow admin audit`), and optionally appended as JSON
 * lines to --audit-log FILE for log shippers. Never holds a secret: actors
 * are token names, reasons are the lines clients get. */
#ifndef BURROW_EDGE_AUDIT_H
#define BURROW_EDGE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/admin/admin_api.h"

typedef struct edge edge_t;
typedef struct store store_t;

enum audit_kind {
	AUDIT_SESSION_START, /* kind "session", event "start": a session was allowed and began */
	AUDIT_SESSION_END,   /* kind "session", event "end": bytes, duration, why it ended */
	AUDIT_REFUSAL,	     /* kind "refusal": a request or session refused (status, reason) */
	AUDIT_ADMIN,	     /* kind "admin": an admin change (what, status) */
	AUDIT_ADMIN_REFUSAL, /* kind "refusal": the admin API refused a request */
	AUDIT_LOGIN,	     /* kind "login", event "success": a person logged in (actor, reason: provider) */
	AUDIT_LOGIN_FAILED,  /* kind "login", event "failure": wrong password, locked, provider error */
	AUDIT_DECISION, /* kind "login", event "token": an app token issued, or refused by policy (status) */
};

typedef struct audit_event {
	int64_t time_ms; /* set by audit_emit */
	enum audit_kind kind;
	char actor[96];	   /* "service token ci", "admin", "anonymous" */
	char app[64];	   /* application name, when one was found */
	char host[254];	   /* hostname asked for */
	char client[64];   /* client address */
	char what[160];	   /* admin: "POST /api/v1/apps name=ssh" */
	char reason[256];  /* the line the client got, or why a session ended */
	char session[17];  /* session id (hex), sessions only */
	int status;	   /* HTTP status: 101 for a session, the refusal's, the admin API's */
	uint64_t bytes_up; /* session end only */
	uint64_t bytes_down;
	int64_t duration_ms;
	bool reset; /* session end: the stream was reset, not closed */
} audit_event_t;

typedef struct audit_opts {
	const char *file;      /* --audit-log: JSON lines appended here (0600), or NULL */
	int64_t retention_s;   /* --audit-retention */
	const char *edge_name; /* who wrote the record: "host/listen-address" */
} audit_opts_t;

/* Opens the --audit-log file (if any) and starts the flush timer. On failure
 * writes one line into err. */
int audit_start(edge_t *e, const audit_opts_t *o, char *err, size_t errlen);
/* No more flushes (the edge is stopping; its store jobs are finishing). */
void audit_hold(edge_t *e);
/* Writes what is still queued (after the loop stopped, when no store job
 * runs) and closes the file. */
void audit_stop(edge_t *e);

/* Logs ev, counts it in the metrics and queues it for the audit log. */
void audit_emit(edge_t *e, audit_event_t *ev);

/* A new session id (16 hex digits). */
void audit_session_id(char out[17]);

/* Describes an admin request for the audit log: method, path and the
 * body's "name", or its "email" when it has no name (users, revocations);
 * never another field: bodies are what an admin typed (a password, say), but
 * only these identify the object. Runs on the store thread. */
void audit_describe_admin(const char *method, const char *path, const uint8_t *body, size_t len, char *out,
			  size_t outlen);

/* GET /api/v1/audit?since=S&app=NAME&kind=K&after=ID&limit=N on the store
 * thread. */
void audit_query(store_t *st, const char *query, admin_resp_t *resp);

#endif
