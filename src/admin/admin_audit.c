/* admin_audit.c — `burrow admin audit`: the edge's audit log, filtered,
 * as lines or JSON lines, optionally followed (admin.c polls with the last
 * record's id). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "core/err.h"
#include "admin/admin_cli.h"
#include "admin/admin_util.h"

const admin_opt_t admin_audit_opts[] = {
    {"since", AOPT_SINCE, AVAL_DURATION_POS, "DUR", 0, "only records of the last DUR (e.g. 1h, 7d)"},
    {"app", AOPT_APP, AVAL_NAME, "APP", 0, "only this application's records"},
    {"kind", AOPT_KIND, AVAL_TEXT, "KIND", 0, "only session, refusal, admin or login records"},
    {"follow", AOPT_FOLLOW, AVAL_NONE, NULL, 0, "keep printing new records as they come (Ctrl-C ends)"},
    {NULL, 0, 0, NULL, 0, NULL},
};

int admin_audit_check(const admin_inv_t *inv, char *err, size_t errlen)
{
	const char *k = admin_inv_get(inv, AOPT_KIND);
	if (k && strcmp(k, "session") != 0 && strcmp(k, "refusal") != 0 && strcmp(k, "admin") != 0 &&
	    strcmp(k, "login") != 0) {
		snprintf(err, errlen,
			 "audit: --kind must be session, refusal, admin or login (see 'burrow admin audit "
			 "--help')");
		return ERR_INVAL;
	}
	return 0;
}

int admin_audit_build(const admin_inv_t *inv, admin_request_t *req)
{
	const char *since = admin_inv_get(inv, AOPT_SINCE), *app = admin_inv_get(inv, AOPT_APP),
		   *kind = admin_inv_get(inv, AOPT_KIND);
	int64_t s = 0;
	if (since && duration_parse(since, &s) != 0)
		return ERR_INVAL; /* (checked while parsing) */
	req->method = "GET";
	/* app is a name and kind a word: nothing to escape. */
	size_t cap = sizeof(req->path);
	int n = snprintf(req->path, cap, "/api/v1/audit?after=%lld", inv->after);
	if (s)
		n += snprintf(req->path + n, cap - (size_t)n, "&since=%lld", (long long)s);
	if (app)
		n += snprintf(req->path + n, cap - (size_t)n, "&app=%.64s", app);
	if (kind)
		snprintf(req->path + n, cap - (size_t)n, "&kind=%.8s", kind);
	return 0;
}

static const char *str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

/* One record as one line: when, what, how it went, who, where, and why. */
static int render_line(const json_t *ev, buf_t *out)
{
	char actor[100], app[80], host[260], client[70], why[300], what[170];
	admin_sanitize(str(ev, "actor"), actor, sizeof(actor));
	admin_sanitize(str(ev, "app"), app, sizeof(app));
	admin_sanitize(str(ev, "hostname"), host, sizeof(host));
	admin_sanitize(str(ev, "client"), client, sizeof(client));
	admin_sanitize(str(ev, "reason"), why, sizeof(why));
	admin_sanitize(str(ev, "what"), what, sizeof(what));
	int r = buf_printf(out, "%s  %-7s %-7s %3lld  %s", str(ev, "time"), str(ev, "kind"), str(ev, "event"),
			   (long long)json_integer_value(json_object_get(ev, "status")),
			   actor[0] ? actor : "anonymous");
	if (r == 0 && what[0])
		r = buf_printf(out, "  %s", what);
	if (r == 0 && host[0])
		r = buf_printf(out, "  %s%s%s", app[0] ? app : "", app[0] ? " " : "", host);
	if (r == 0 && client[0])
		r = buf_printf(out, "  from %s", client);
	if (r == 0 && strcmp(str(ev, "event"), "end") == 0)
		r = buf_printf(out, "  %lld bytes up, %lld down in %.1fs",
			       (long long)json_integer_value(json_object_get(ev, "bytes_up")),
			       (long long)json_integer_value(json_object_get(ev, "bytes_down")),
			       (double)json_integer_value(json_object_get(ev, "duration_ms")) / 1000.0);
	if (r == 0 && why[0])
		r = buf_printf(out, "  (%s)", why);
	return r ? r : buf_append_str(out, "\n");
}

int admin_audit_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	json_t *arr = json_object_get(resp, "events"), *ev;
	size_t i;
	int r = 0;
	if (!json_is_array(arr) || !json_is_integer(json_object_get(resp, "next"))) {
		snprintf(err, errlen, "the edge's response has no \"events\" list: is it an older edge?");
		return ERR_PROTO;
	}
	json_array_foreach(arr, i, ev)
	{
		if (inv->json) {
			char *line = json_dumps(ev, JSON_COMPACT);
			r = line ? buf_printf(&out->out, "%s\n", line) : ERR_NOMEM;
			free(line);
		} else {
			r = render_line(ev, &out->out);
		}
		if (r)
			break;
	}
	return r;
}
