/* audit_store.c — the audit log's rows in SQLite: append a batch, prune by
 * age, query with filters. Runs on the store thread only.
 *
 * (It reaches SQLite through store_db() until the audit operations move
 * behind the store interface.) */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/audit.h"
#include "edge/audit_int.h"
#include "edge/store.h"

/* Records per query: about 2 MB of JSON, under the admin client's 4 MiB. */
#define AUDIT_QUERY_MAX 5000

static const char *const kind_names[] = {
    [AUDIT_SESSION_START] = "session", [AUDIT_SESSION_END] = "session",	  [AUDIT_REFUSAL] = "refusal",
    [AUDIT_ADMIN] = "admin",	       [AUDIT_ADMIN_REFUSAL] = "refusal",
};
static const char *const event_names[] = {
    [AUDIT_SESSION_START] = "start", [AUDIT_SESSION_END] = "end",	[AUDIT_REFUSAL] = "refused",
    [AUDIT_ADMIN] = "change",	     [AUDIT_ADMIN_REFUSAL] = "refused",
};

const char *audit_kind_name(enum audit_kind k)
{
	return kind_names[k];
}
const char *audit_event_name(enum audit_kind k)
{
	return event_names[k];
}

int audit_store_append(store_t *st, const char *edge_name, const audit_event_t *evs, size_t n)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *stmt = NULL;
	int r = ERR_STORE;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(
		db,
		"INSERT INTO audit (time_ms, edge, kind, event, actor, app, hostname, client, what,"
		" status, reason, session, bytes_up, bytes_down, duration_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
		-1, &stmt, NULL) != SQLITE_OK)
		goto rollback;
	for (size_t i = 0; i < n; i++) {
		const audit_event_t *ev = &evs[i];
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, ev->time_ms);
		sqlite3_bind_text(stmt, 2, edge_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, kind_names[ev->kind], -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, event_names[ev->kind], -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 5, ev->actor, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 6, ev->app, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 7, ev->host, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 8, ev->client, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 9, ev->what, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 10, ev->status);
		sqlite3_bind_text(stmt, 11, ev->reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 12, ev->session, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 13, (sqlite3_int64)ev->bytes_up);
		sqlite3_bind_int64(stmt, 14, (sqlite3_int64)ev->bytes_down);
		sqlite3_bind_int64(stmt, 15, ev->duration_ms);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto rollback;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
rollback:
	log_error("audit: cannot store %zu records: %s", n, sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
fail:
	log_error("audit: cannot store %zu records: %s", n, sqlite3_errmsg(db));
	return r;
}

int audit_store_prune(store_t *st, int64_t before_ms, int64_t *deleted)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *stmt = NULL;
	*deleted = 0;
	if (sqlite3_prepare_v2(db, "DELETE FROM audit WHERE time_ms < ?1", -1, &stmt, NULL) != SQLITE_OK)
		return ERR_STORE;
	sqlite3_bind_int64(stmt, 1, before_ms);
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		log_error("audit: cannot prune: %s", sqlite3_errmsg(db));
		return ERR_STORE;
	}
	*deleted = sqlite3_changes(db);
	return 0;
}

/* ---- GET /api/v1/audit ---- */

typedef struct audit_filter {
	int64_t since_s; /* 0: no bound */
	int64_t after;	 /* records with a larger id only */
	int64_t limit;
	char app[65];
	char kind[16];
} audit_filter_t;

/* Decodes one query value in place (%XX and '+'); -1 when malformed. */
static int unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			unsigned v;
			if (!p[1] || !p[2] || sscanf(p + 1, "%2x", &v) != 1 || v == 0)
				return -1;
			*o++ = (char)v;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return 0;
}

static int parse_int(const char *v, int64_t max, int64_t *out)
{
	char *end;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || n < 0 || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Fills f from the query string; on a bad parameter writes why. */
static int parse_filter(const char *query, audit_filter_t *f, char *why, size_t whylen)
{
	memset(f, 0, sizeof(*f));
	f->limit = 1000;
	char q[1024];
	if (!query)
		return 0;
	if (strlen(query) >= sizeof(q)) {
		snprintf(why, whylen, "query string too long");
		return -1;
	}
	memcpy(q, query, strlen(query) + 1);
	char *save = NULL;
	for (char *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *v = strchr(kv, '=');
		if (!v) {
			snprintf(why, whylen, "query parameter without a value");
			return -1;
		}
		*v++ = '\0';
		if (unescape(v) != 0) {
			snprintf(why, whylen, "malformed query value");
			return -1;
		}
		int bad = 0;
		if (strcmp(kv, "since") == 0) {
			bad = parse_int(v, (int64_t)1 << 40, &f->since_s);
		} else if (strcmp(kv, "after") == 0) {
			bad = parse_int(v, INT64_MAX, &f->after);
		} else if (strcmp(kv, "limit") == 0) {
			bad = parse_int(v, AUDIT_QUERY_MAX, &f->limit) || f->limit == 0;
		} else if (strcmp(kv, "app") == 0) {
			bad = strlen(v) >= sizeof(f->app);
			if (!bad)
				memcpy(f->app, v, strlen(v) + 1);
		} else if (strcmp(kv, "kind") == 0) {
			bad =
			    strcmp(v, "session") != 0 && strcmp(v, "refusal") != 0 && strcmp(v, "admin") != 0;
			if (!bad)
				memcpy(f->kind, v, strlen(v) + 1);
		} else {
			snprintf(why, whylen, "unknown query parameter (since, after, limit, app, kind)");
			return -1;
		}
		if (bad) { /* (kv is one of the names above) */
			snprintf(why, whylen,
				 "bad value for %s (since: seconds; after: a record id; limit: 1-5000; app: "
				 "a name;"
				 " kind: session, refusal or admin)",
				 kv);
			return -1;
		}
	}
	return 0;
}

static json_t *row_json(sqlite3_stmt *s)
{
	int64_t ms = sqlite3_column_int64(s, 1);
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char when[40];
	gmtime_r(&t, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(ms % 1000));
	json_t *o = json_object();
	static const char *const text_cols[] = {NULL,	 NULL,	   "edge",     "kind",	 "event",
						"actor", "app",	   "hostname", "client", "what",
						NULL,	 "reason", "session"};
	json_object_set_new(o, "id", json_integer(sqlite3_column_int64(s, 0)));
	json_object_set_new(o, "time", json_string(when));
	for (int c = 2; c <= 12; c++)
		if (text_cols[c])
			json_object_set_new(o, text_cols[c],
					    json_string((const char *)sqlite3_column_text(s, c)));
	json_object_set_new(o, "status", json_integer(sqlite3_column_int(s, 10)));
	json_object_set_new(o, "bytes_up", json_integer(sqlite3_column_int64(s, 13)));
	json_object_set_new(o, "bytes_down", json_integer(sqlite3_column_int64(s, 14)));
	json_object_set_new(o, "duration_ms", json_integer(sqlite3_column_int64(s, 15)));
	return o;
}

static void reply(admin_resp_t *resp, int status, json_t *o)
{
	resp->status = status;
	resp->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!resp->body)
		resp->status = 500;
}

void audit_query(store_t *st, const char *query, admin_resp_t *resp)
{
	audit_filter_t f;
	char why[200];
	if (parse_filter(query, &f, why, sizeof(why)) != 0) {
		reply(resp, 400, json_pack("{s:s}", "error", why));
		return;
	}
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int64_t since_ms = f.since_s ? ((int64_t)time(NULL) - f.since_s) * 1000 : 0;
	if (sqlite3_prepare_v2(
		db,
		"SELECT id, time_ms, edge, kind, event, actor, app, hostname, client, what, status,"
		" reason, session, bytes_up, bytes_down, duration_ms FROM audit"
		" WHERE id > ?1 AND time_ms >= ?2 AND (?3 = '' OR app = ?3) AND (?4 = '' OR kind = ?4)"
		" ORDER BY id LIMIT ?5",
		-1, &s, NULL) != SQLITE_OK) {
		log_error("audit: query failed: %s", sqlite3_errmsg(db));
		reply(resp, 500, json_pack("{s:s}", "error", "the edge cannot read its audit log"));
		return;
	}
	sqlite3_bind_int64(s, 1, f.after);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_text(s, 3, f.app, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, f.kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, f.limit);
	json_t *arr = json_array();
	int64_t next = f.after;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		next = sqlite3_column_int64(s, 0);
		json_array_append_new(arr, row_json(s));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		log_error("audit: query failed: %s", sqlite3_errmsg(db));
		reply(resp, 500, json_pack("{s:s}", "error", "the edge cannot read its audit log"));
		return;
	}
	reply(resp, 200, json_pack("{s:o,s:I}", "events", arr, "next", (json_int_t)next));
}
