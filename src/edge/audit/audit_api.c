/* audit_api.c — between the audit log and the store: events become store
 * records (a batch per flush), and GET /api/v1/audit's query string becomes
 * a store filter whose records become JSON. Runs on the store thread only. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/audit/audit.h"
#include "edge/audit/audit_int.h"
#include "edge/store/store.h"

/* Records per query: about 2 MB of JSON, under the admin client's 4 MiB. */
#define AUDIT_QUERY_MAX 5000

static const char *const kind_names[] = {
    [AUDIT_SESSION_START] = "session", [AUDIT_SESSION_END] = "session",	  [AUDIT_REFUSAL] = "refusal",
    [AUDIT_ADMIN] = "admin",	       [AUDIT_ADMIN_REFUSAL] = "refusal",
    [AUDIT_LOGIN] = "login",	       [AUDIT_LOGIN_FAILED] = "login",
    [AUDIT_DECISION] = "login",
};
static const char *const event_names[] = {
    [AUDIT_SESSION_START] = "start", [AUDIT_SESSION_END] = "end",	[AUDIT_REFUSAL] = "refused",
    [AUDIT_ADMIN] = "change",	     [AUDIT_ADMIN_REFUSAL] = "refused",
    [AUDIT_LOGIN] = "success",	     [AUDIT_LOGIN_FAILED] = "failure",
    [AUDIT_DECISION] = "token",
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
	store_audit_rec_t *recs = calloc(n ? n : 1, sizeof(*recs));
	if (!recs)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const audit_event_t *ev = &evs[i];
		recs[i] = (store_audit_rec_t){
		    .time_ms = ev->time_ms,
		    .edge = edge_name,
		    .kind = kind_names[ev->kind],
		    .event = event_names[ev->kind],
		    .actor = ev->actor,
		    .app = ev->app,
		    .hostname = ev->host,
		    .client = ev->client,
		    .what = ev->what,
		    .reason = ev->reason,
		    .session = ev->session,
		    .status = ev->status,
		    .bytes_up = ev->bytes_up,
		    .bytes_down = ev->bytes_down,
		    .duration_ms = ev->duration_ms,
		};
	}
	int r = store_audit_append(st, recs, n);
	if (r)
		log_error("audit: cannot store %zu records: %s", n, store_errmsg(st));
	free(recs);
	return r;
}

int audit_store_prune(store_t *st, int64_t before_ms, int64_t *deleted)
{
	int r = store_audit_prune(st, before_ms, deleted);
	if (r)
		log_error("audit: cannot prune: %s", store_errmsg(st));
	return r;
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
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*o++ = (char)(hi * 16 + lo);
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
			    strcmp(v, "session") != 0 && strcmp(v, "refusal") != 0 && strcmp(v, "admin") != 0 &&
			    strcmp(v, "login") != 0;
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
				 " kind: session, refusal, admin or login)",
				 kv);
			return -1;
		}
	}
	return 0;
}

static int add_json(void *arg, const store_audit_rec_t *a)
{
	json_t *arr = arg;
	time_t t = (time_t)(a->time_ms / 1000);
	struct tm tm;
	char when[40];
	gmtime_r(&t, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(a->time_ms % 1000));
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:I,s:I}", "id",
			      (json_int_t)a->id, "time", when, "edge", a->edge, "kind", a->kind, "event", a->event,
			      "actor", a->actor, "app", a->app, "hostname", a->hostname, "client", a->client, "what",
			      a->what, "status", a->status, "reason", a->reason, "session", a->session, "bytes_up",
			      (json_int_t)a->bytes_up, "bytes_down", (json_int_t)a->bytes_down, "duration_ms",
			      (json_int_t)a->duration_ms);
	return o && json_array_append_new(arr, o) == 0 ? 0 : ERR_NOMEM;
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
	store_audit_filter_t sf = {
	    .after = f.after,
	    .since_ms = f.since_s ? ((int64_t)time(NULL) - f.since_s) * 1000 : 0,
	    .app = f.app,
	    .kind = f.kind,
	    .limit = f.limit,
	};
	json_t *arr = json_array();
	int r = arr ? store_audit_query(st, &sf, add_json, arr) : ERR_NOMEM;
	size_t n = arr ? json_array_size(arr) : 0;
	int64_t next = n ? (int64_t)json_integer_value(json_object_get(json_array_get(arr, n - 1), "id")) : f.after;
	if (r != 0) {
		json_decref(arr);
		log_error("audit: query failed: %s", r == ERR_STORE ? store_errmsg(st) : err_str(r));
		reply(resp, 500, json_pack("{s:s}", "error", "the edge cannot read its audit log"));
		return;
	}
	reply(resp, 200, json_pack("{s:o,s:I}", "events", arr, "next", (json_int_t)next));
}
