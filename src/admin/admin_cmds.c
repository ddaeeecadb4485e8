/* admin_cmds.c — the `burrow admin` command table: for each command its
 * options, how it becomes an admin API request (docs/admin-api.md) and how
 * the response is shown to people.
 *
 * Pure: builds JSON and text only. Text that came from the edge is sanitised
 * before it is shown; secrets appear only in the output of the two commands
 * that exist to show them once. */
#include "admin/admin_cli.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_util.h"
#include "core/err.h"

#define CELL_MAX (64 * 1024)

/* ---- JSON helpers ---- */

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t jint(const json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

/* The edge's string, sanitised for one line of output. */
static const char *jshow(const json_t *o, const char *key, char *out, size_t outlen)
{
	const char *v = jstr(o, key);
	admin_sanitize(v ? v : "-", out, outlen);
	return out;
}

/* Joins a JSON array of strings with sep; "-" when empty. NUL-terminated in
 * b (caller frees b). */
static const char *join_list(const json_t *arr, const char *sep, buf_t *b)
{
	size_t i;
	json_t *v;
	int r = 0;

	buf_init(b, CELL_MAX);
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v))
			r = r ? r : buf_printf(b, "%s%s", buf_used(b) ? sep : "", json_string_value(v));
	}
	if (r == 0 && buf_used(b) == 0)
		r = buf_append_str(b, "-");
	if (r != 0 || buf_append(b, "", 1) != 0)
		return "?";
	return (const char *)buf_head(b);
}

static int array_of(json_t *resp, const char *key, json_t **arr, char *err, size_t errlen)
{
	*arr = json_object_get(resp, key);
	if (!json_is_array(*arr)) {
		snprintf(err, errlen,
			 "the edge's response has no \"%s\" list: is --url the edge's admin listener?", key);
		return ERR_PROTO;
	}
	return 0;
}

static int need_string(json_t *resp, const char *key, char *err, size_t errlen)
{
	if (!json_is_string(json_object_get(resp, key))) {
		snprintf(err, errlen,
			 "the edge's response has no \"%s\": is --url the edge's admin listener?", key);
		return ERR_PROTO;
	}
	return 0;
}

static int finish_body(json_t *j, bool ok, admin_request_t *req)
{
	if (j && ok)
		req->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return req->body ? 0 : ERR_NOMEM;
}

/* Adds every value of option id as a JSON array under key. */
static bool set_list(json_t *j, const char *key, const admin_inv_t *inv, int id)
{
	json_t *arr = json_array();
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < inv->nargs; i++)
		if (inv->args[i].id == id)
			ok = json_array_append_new(arr, json_string(inv->args[i].val)) == 0;
	if (!ok) {
		json_decref(arr);
		return false;
	}
	return json_object_set_new(j, key, arr) == 0;
}

static int64_t duration_of(const admin_inv_t *inv, int id, int64_t dflt)
{
	const char *v = admin_inv_get(inv, id);
	int64_t secs = dflt;

	if (v)
		duration_parse(v, &secs); /* validated by the parser */
	return secs;
}

/* ---- apps ---- */

static const admin_opt_t app_create_opts[] = {
    {"name", AOPT_NAME, AVAL_NAME, "NAME", AOPT_REQUIRED, "application name: 1-64 of A-Z a-z 0-9 . _ -"},
    {"hostname", AOPT_HOSTNAME, AVAL_TEXT, "HOST", AOPT_REQUIRED | AOPT_REPEAT,
     "hostname the application protects; repeat for more"},
    {"session-duration", AOPT_SESSION_DURATION, AVAL_DURATION_POS, "DURATION", 0,
     "how long a login to the application lasts (default 24h)"},
    {"idp", AOPT_IDP, AVAL_NAME, "NAME", AOPT_REPEAT,
     "identity provider people may log in with (burrow admin idp list); repeat for more; default: any"},
    {NULL, 0, 0, NULL, 0, NULL},
};

static int app_create_build(const admin_inv_t *inv, admin_request_t *req)
{
	json_t *j = json_object();
	bool ok = j && json_object_set_new(j, "name", json_string(admin_inv_get(inv, AOPT_NAME))) == 0 &&
		  set_list(j, "hostnames", inv, AOPT_HOSTNAME);

	if (ok && admin_inv_count(inv, AOPT_IDP))
		ok = set_list(j, "idps", inv, AOPT_IDP);
	if (ok && admin_inv_get(inv, AOPT_SESSION_DURATION))
		ok = json_object_set_new(j, "session_duration",
					 json_integer(duration_of(inv, AOPT_SESSION_DURATION, 86400))) == 0;
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/apps");
	return finish_body(j, ok, req);
}

static int app_create_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	char name[80], id[80], dur[32];
	buf_t hosts;
	int r;

	if ((r = need_string(resp, "id", err, errlen)) != 0)
		return r;
	duration_format(jint(resp, "session_duration"), dur, sizeof(dur));
	r = buf_printf(&out->out, "App \"%s\" created (id %s) for %s; a login lasts %s.\n",
		       jshow(resp, "name", name, sizeof(name)), jshow(resp, "id", id, sizeof(id)),
		       join_list(json_object_get(resp, "hostnames"), ", ", &hosts), dur);
	buf_free(&hosts);
	json_t *idps = json_object_get(resp, "idps");
	if (r == 0 && json_array_size(idps) > 0) {
		r = buf_printf(&out->out, "People log in to it only through: %s.\n",
			       join_list(idps, ", ", &hosts));
		buf_free(&hosts);
	}
	return r;
}

static int app_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/api/v1/apps");
	return 0;
}

static int app_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	static const char *const head[] = {"NAME", "HOSTNAMES", "SESSION", "CREATED", "ID"};
	admin_table_t t;
	json_t *arr, *a;
	size_t i;
	int r;

	if ((r = array_of(resp, "apps", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 5, head)) != 0)
		return r;
	json_array_foreach(arr, i, a)
	{
		char dur[32], created[40];
		buf_t hosts;
		duration_format(jint(a, "session_duration"), dur, sizeof(dur));
		admin_format_time(jint(a, "created_at"), created, sizeof(created));
		const char *row[] = {jstr(a, "name"), join_list(json_object_get(a, "hostnames"), ",", &hosts),
				     dur, created, jstr(a, "id")};
		r = admin_table_add(&t, row);
		buf_free(&hosts);
		if (r)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int app_delete_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "DELETE";
	snprintf(req->path, sizeof(req->path), "/api/v1/apps/%s", inv->pos);
	return 0;
}

static int app_delete_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	char id[80];

	return buf_printf(&out->out, "App \"%s\" deleted (id %s), with its policies.\n", inv->pos,
			  jshow(resp, "deleted", id, sizeof(id)));
}

/* ---- policies ---- */

static const admin_opt_t policy_add_opts[] = {
    {"app", AOPT_APP, AVAL_NAME, "APP", AOPT_REQUIRED, "application (name or id) the policy belongs to"},
    {"action", AOPT_ACTION, AVAL_ACTION, "ACTION", AOPT_REQUIRED,
     "what a match does: allow, deny, bypass or service_auth"},
    {"name", AOPT_NAME, AVAL_NAME, "NAME", 0, "policy name (default: the action)"},
    {"include", AOPT_INCLUDE, AVAL_TEXT, "SEL", AOPT_REPEAT, "matches when any include selector matches"},
    {"require", AOPT_REQUIRE, AVAL_TEXT, "SEL", AOPT_REPEAT, "and every require selector matches"},
    {"exclude", AOPT_EXCLUDE, AVAL_TEXT, "SEL", AOPT_REPEAT, "and no exclude selector matches"},
    {"precedence", AOPT_PRECEDENCE, AVAL_UINT, "N", 0,
     "order within the application, lowest first (default: after the last)"},
    {NULL, 0, 0, NULL, 0, NULL},
};

static int policy_add_check(const admin_inv_t *inv, char *err, size_t errlen)
{
	if (strcmp(admin_inv_get(inv, AOPT_ACTION), "service_auth") == 0 &&
	    admin_inv_count(inv, AOPT_INCLUDE) == 0) {
		snprintf(
		    err, errlen,
		    "policy add: a service_auth policy needs at least one --include selector, e.g. --include "
		    "service-token=ci (see 'burrow admin policy add --help')");
		return ERR_INVAL;
	}
	return 0;
}

static int policy_add_build(const admin_inv_t *inv, admin_request_t *req)
{
	const char *name = admin_inv_get(inv, AOPT_NAME), *prec = admin_inv_get(inv, AOPT_PRECEDENCE);
	json_t *j = json_object();
	bool ok = j && json_object_set_new(j, "action", json_string(admin_inv_get(inv, AOPT_ACTION))) == 0 &&
		  set_list(j, "include", inv, AOPT_INCLUDE) && set_list(j, "require", inv, AOPT_REQUIRE) &&
		  set_list(j, "exclude", inv, AOPT_EXCLUDE);

	if (ok && name)
		ok = json_object_set_new(j, "name", json_string(name)) == 0;
	if (ok && prec)
		ok = json_object_set_new(j, "precedence", json_integer(strtoll(prec, NULL, 10))) == 0;
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/apps/%s/policies", admin_inv_get(inv, AOPT_APP));
	return finish_body(j, ok, req);
}

static int policy_add_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	char name[80], action[40], app[80], id[80];
	int r;

	if ((r = need_string(resp, "id", err, errlen)) != 0)
		return r;
	return buf_printf(&out->out, "Policy \"%s\" (%s) added to app \"%s\": id %s, precedence %lld.\n",
			  jshow(resp, "name", name, sizeof(name)),
			  jshow(resp, "action", action, sizeof(action)), jshow(resp, "app", app, sizeof(app)),
			  jshow(resp, "id", id, sizeof(id)), (long long)jint(resp, "precedence"));
}

static const admin_opt_t policy_list_opts[] = {
    {"app", AOPT_APP, AVAL_NAME, "APP", 0, "only this application's policies (name or id)"},
    {NULL, 0, 0, NULL, 0, NULL},
};

static int policy_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	const char *app = admin_inv_get(inv, AOPT_APP);

	req->method = "GET";
	if (app)
		snprintf(req->path, sizeof(req->path), "/api/v1/apps/%s/policies", app);
	else
		snprintf(req->path, sizeof(req->path), "/api/v1/policies");
	return 0;
}

static int policy_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			      size_t errlen)
{
	static const char *const head[] = {"ID",     "APP",	"PRECEDENCE", "NAME",
					   "ACTION", "INCLUDE", "REQUIRE",    "EXCLUDE"};
	admin_table_t t;
	json_t *arr, *p;
	size_t i;
	int r;

	if ((r = array_of(resp, "policies", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 8, head)) != 0)
		return r;
	json_array_foreach(arr, i, p)
	{
		char prec[24];
		buf_t inc, req, exc;
		snprintf(prec, sizeof(prec), "%lld", (long long)jint(p, "precedence"));
		const char *row[] = {jstr(p, "id"),
				     jstr(p, "app"),
				     prec,
				     jstr(p, "name"),
				     jstr(p, "action"),
				     join_list(json_object_get(p, "include"), ",", &inc),
				     join_list(json_object_get(p, "require"), ",", &req),
				     join_list(json_object_get(p, "exclude"), ",", &exc)};
		r = admin_table_add(&t, row);
		buf_free(&inc);
		buf_free(&req);
		buf_free(&exc);
		if (r)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int policy_delete_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "DELETE";
	snprintf(req->path, sizeof(req->path), "/api/v1/policies/%s", inv->pos);
	return 0;
}

static int policy_delete_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
				size_t errlen)
{
	char id[80];

	return buf_printf(&out->out, "Policy %s deleted.\n", jshow(resp, "deleted", id, sizeof(id)));
}

/* ---- service tokens ---- */

/* A year, as the service tokens of the Cloudflare flow this mirrors. */
#define SERVICE_TOKEN_DEFAULT_DURATION ((int64_t)8760 * 3600)

static const admin_opt_t token_create_opts[] = {
    {"name", AOPT_NAME, AVAL_NAME, "NAME", AOPT_REQUIRED, "token name: 1-64 of A-Z a-z 0-9 . _ -"},
    {"duration", AOPT_DURATION, AVAL_DURATION, "DURATION", 0,
     "how long the token is valid (default 8760h; 0: never expires)"},
    {NULL, 0, 0, NULL, 0, NULL},
};

static int token_create_build(const admin_inv_t *inv, admin_request_t *req)
{
	json_t *j = json_object();
	bool ok = j && json_object_set_new(j, "name", json_string(admin_inv_get(inv, AOPT_NAME))) == 0 &&
		  json_object_set_new(
		      j, "duration",
		      json_integer(duration_of(inv, AOPT_DURATION, SERVICE_TOKEN_DEFAULT_DURATION))) == 0;

	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/service-tokens");
	return finish_body(j, ok, req);
}

static int token_create_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			       size_t errlen)
{
	char name[80], id[128], secret[160];
	int r;

	if ((r = need_string(resp, "client_id", err, errlen)) != 0 ||
	    (r = need_string(resp, "client_secret", err, errlen)) != 0)
		return r;
	r = buf_printf(&out->out,
		       "Service token \"%s\" created. Store the secret now: it is not shown again.\n"
		       "Client ID:     %s\n"
		       "Client Secret: %s\n",
		       jshow(resp, "name", name, sizeof(name)), jshow(resp, "client_id", id, sizeof(id)),
		       jshow(resp, "client_secret", secret, sizeof(secret)));
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

static int token_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/api/v1/service-tokens");
	return 0;
}

static int token_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	static const char *const head[] = {"NAME", "CLIENT ID", "CREATED", "EXPIRES", "STATUS"};
	admin_table_t t;
	json_t *arr, *tok;
	size_t i;
	int r;

	if ((r = array_of(resp, "service_tokens", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 5, head)) != 0)
		return r;
	json_array_foreach(arr, i, tok)
	{
		char created[40], expires[40];
		int64_t exp = jint(tok, "expires_at");
		const char *status = json_is_true(json_object_get(tok, "revoked")) ? "revoked"
				     : exp != 0 && exp <= out->now		   ? "expired"
										   : "active";
		admin_format_time(jint(tok, "created_at"), created, sizeof(created));
		if (exp == 0)
			snprintf(expires, sizeof(expires), "never");
		else
			admin_format_time(exp, expires, sizeof(expires));
		const char *row[] = {jstr(tok, "name"), jstr(tok, "client_id"), created, expires, status};
		if ((r = admin_table_add(&t, row)) != 0)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int token_revoke_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "DELETE";
	snprintf(req->path, sizeof(req->path), "/api/v1/service-tokens/%s", inv->pos);
	return 0;
}

static int token_revoke_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			       size_t errlen)
{
	char id[128];

	return buf_printf(&out->out, "Service token \"%s\" revoked (client id %s).\n", inv->pos,
			  jshow(resp, "revoked", id, sizeof(id)));
}

/* ---- tunnels and routes ---- */

static const admin_opt_t tunnel_create_opts[] = {
    {"hostname", AOPT_HOSTNAME, AVAL_TEXT, "HOST", AOPT_REPEAT,
     "route HOST to the tunnel (as 'route add'); all or none are routed"},
    {"output", AOPT_OUTPUT, AVAL_TEXT, "FILE", 0, "write the credentials to FILE (mode 0600), not stdout"},
    {NULL, 0, 0, NULL, 0, NULL},
};

static int tunnel_create_build(const admin_inv_t *inv, admin_request_t *req)
{
	json_t *j = json_object();
	bool ok = j && json_object_set_new(j, "name", json_string(inv->pos)) == 0;

	if (ok && admin_inv_count(inv, AOPT_HOSTNAME) > 0)
		ok = set_list(j, "hostnames", inv, AOPT_HOSTNAME);

	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/tunnels");
	return finish_body(j, ok, req);
}

/* Writes the credentials file contents {"tunnel_id","tunnel_name",
 * "tunnel_secret"} to out->out; with --output, admin.c sends it to the file
 * and out->info to stderr. */
static int tunnel_create_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
				size_t errlen)
{
	const char *file = admin_inv_get(inv, AOPT_OUTPUT);
	json_t *creds;
	char *text = NULL;
	int r;

	if ((r = need_string(resp, "id", err, errlen)) != 0 ||
	    (r = need_string(resp, "name", err, errlen)) != 0 ||
	    (r = need_string(resp, "tunnel_secret", err, errlen)) != 0)
		return r;
	creds = json_object();
	if (creds && json_object_set(creds, "tunnel_id", json_object_get(resp, "id")) == 0 &&
	    json_object_set(creds, "tunnel_name", json_object_get(resp, "name")) == 0 &&
	    json_object_set(creds, "tunnel_secret", json_object_get(resp, "tunnel_secret")) == 0)
		text = json_dumps(creds, JSON_COMPACT);
	json_decref(creds);
	if (!text)
		return ERR_NOMEM;
	r = buf_printf(&out->out, "%s\n", text);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (r == 0 && file) {
		char name[80], id[80], path[256];
		buf_t hosts;
		admin_sanitize(file, path, sizeof(path));
		r = buf_printf(&out->info,
			       "Tunnel \"%s\" created (id %s), serving %s; credentials written to %s (mode "
			       "0600).\n",
			       jshow(resp, "name", name, sizeof(name)), jshow(resp, "id", id, sizeof(id)),
			       join_list(json_object_get(resp, "hostnames"), ", ", &hosts), path);
		buf_free(&hosts);
	}
	return r;
}

static int tunnel_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/api/v1/tunnels");
	return 0;
}

static int tunnel_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			      size_t errlen)
{
	static const char *const head[] = {"NAME", "ID", "CREATED"};
	admin_table_t t;
	json_t *arr, *tun;
	size_t i;
	int r;

	if ((r = array_of(resp, "tunnels", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 3, head)) != 0)
		return r;
	json_array_foreach(arr, i, tun)
	{
		char created[40];
		admin_format_time(jint(tun, "created_at"), created, sizeof(created));
		const char *row[] = {jstr(tun, "name"), jstr(tun, "id"), created};
		if ((r = admin_table_add(&t, row)) != 0)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int tunnel_delete_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "DELETE";
	snprintf(req->path, sizeof(req->path), "/api/v1/tunnels/%s", inv->pos);
	return 0;
}

static int tunnel_delete_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
				size_t errlen)
{
	char id[80];

	return buf_printf(&out->out, "Tunnel \"%s\" deleted (id %s), with its routes.\n", inv->pos,
			  jshow(resp, "deleted", id, sizeof(id)));
}

static int route_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/api/v1/routes");
	return 0;
}

static int route_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	static const char *const head[] = {"HOSTNAME", "TUNNEL", "TUNNEL ID"};
	admin_table_t t;
	json_t *arr, *rt;
	size_t i;
	int r;

	if ((r = array_of(resp, "routes", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 3, head)) != 0)
		return r;
	json_array_foreach(arr, i, rt)
	{
		const char *row[] = {jstr(rt, "hostname"), jstr(rt, "tunnel_name"), jstr(rt, "tunnel_id")};
		if ((r = admin_table_add(&t, row)) != 0)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int route_add_build(const admin_inv_t *inv, admin_request_t *req)
{
	json_t *j = json_object();
	bool ok = j && json_object_set_new(j, "tunnel", json_string(inv->pos)) == 0 &&
		  json_object_set_new(j, "hostname", json_string(inv->pos2)) == 0;

	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/routes");
	return finish_body(j, ok, req);
}

static int route_add_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	char host[280], name[80], id[80];
	int r;

	if ((r = need_string(resp, "hostname", err, errlen)) != 0)
		return r;
	return buf_printf(&out->out, "Route added: %s -> tunnel \"%s\" (id %s).\n",
			  jshow(resp, "hostname", host, sizeof(host)),
			  jshow(resp, "tunnel_name", name, sizeof(name)),
			  jshow(resp, "tunnel_id", id, sizeof(id)));
}

static int route_delete_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "DELETE";
	snprintf(req->path, sizeof(req->path), "/api/v1/routes/%s", inv->pos);
	return 0;
}

static int route_delete_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			       size_t errlen)
{
	char host[280], name[80];
	int r;

	if ((r = need_string(resp, "deleted", err, errlen)) != 0)
		return r;
	return buf_printf(
	    &out->out, "Route of %s to tunnel \"%s\" deleted; sessions on it end within a second.\n",
	    jshow(resp, "deleted", host, sizeof(host)), jshow(resp, "tunnel_name", name, sizeof(name)));
}

/* ---- users, signing keys, sessions (single sign-on) ---- */

/* Appends s as a JSON string (quoted, escaped) at *p; returns the end. */
static char *put_json_string(char *p, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			p[0] = '\\';
			p[1] = 'u';
			p[2] = p[3] = '0';
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	return p;
}

/* {"email":EMAIL,"password":PASSWORD}, built by hand: jansson would keep
 * copies of the password it frees without wiping. admin.c wipes the body. */
static int user_add_build(const admin_inv_t *inv, admin_request_t *req)
{
	static const char k1[] = "{\"email\":", k2[] = ",\"password\":";
	size_t elen = strlen(inv->pos), plen = inv->password ? inv->password_len : 0;
	char *p;

	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/users");
	/* each byte takes at most 6 (\u00XX), plus quotes, keys, braces and the NUL */
	if (!(req->body = malloc(sizeof(k1) + sizeof(k2) + 6 * (elen + plen) + 8)))
		return ERR_NOMEM;
	p = req->body;
	memcpy(p, k1, sizeof(k1) - 1);
	p = put_json_string(p + sizeof(k1) - 1, inv->pos, elen);
	memcpy(p, k2, sizeof(k2) - 1);
	p = put_json_string(p + sizeof(k2) - 1, inv->password ? inv->password : "", plen);
	*p++ = '}';
	*p = '\0';
	return 0;
}

static int user_add_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	char email[280];
	int r;

	if ((r = need_string(resp, "email", err, errlen)) != 0)
		return r;
	return buf_printf(&out->out, "User %s created; they can sign in with the password given.\n",
			  jshow(resp, "email", email, sizeof(email)));
}

static int user_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/api/v1/users");
	return 0;
}

static int user_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	static const char *const head[] = {"EMAIL", "CREATED"};
	admin_table_t t;
	json_t *arr, *u;
	size_t i;
	int r;

	if ((r = array_of(resp, "users", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 2, head)) != 0)
		return r;
	json_array_foreach(arr, i, u)
	{
		char created[40];
		admin_format_time(jint(u, "created_at"), created, sizeof(created));
		const char *row[] = {jstr(u, "email"), created};
		if ((r = admin_table_add(&t, row)) != 0)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int user_delete_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "DELETE";
	snprintf(req->path, sizeof(req->path), "/api/v1/users/%s", inv->pos);
	return 0;
}

static int user_delete_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			      size_t errlen)
{
	char email[280];

	return buf_printf(&out->out,
			  "User %s deleted; sessions they have keep running until they end or are revoked.\n",
			  jshow(resp, "deleted", email, sizeof(email)));
}

static int keys_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/api/v1/keys");
	return 0;
}

static int keys_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	static const char *const head[] = {"KID", "CREATED", "RETIRED", "STATUS"};
	admin_table_t t;
	json_t *arr, *k;
	size_t i;
	int r;

	if ((r = array_of(resp, "keys", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 4, head)) != 0)
		return r;
	json_array_foreach(arr, i, k)
	{
		char created[40], retired[40];
		int64_t ret = jint(k, "retired_at");
		admin_format_time(jint(k, "created_at"), created, sizeof(created));
		admin_format_time(ret, retired, sizeof(retired));
		const char *row[] = {jstr(k, "kid"), created, retired, ret ? "retired" : "current"};
		if ((r = admin_table_add(&t, row)) != 0)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int keys_rotate_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/keys/rotate");
	return (req->body = strdup("{}")) ? 0 : ERR_NOMEM;
}

static int keys_rotate_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			      size_t errlen)
{
	char kid[80];
	int r;

	if ((r = need_string(resp, "kid", err, errlen)) != 0)
		return r;
	return buf_printf(&out->out,
			  "Signing key %s is current; the previous one is retired and still verifies the "
			  "tokens it signed.\n",
			  jshow(resp, "kid", kid, sizeof(kid)));
}

static const admin_opt_t session_revoke_opts[] = {
    {"email", AOPT_EMAIL, AVAL_EMAIL, "EMAIL", AOPT_REQUIRED,
     "whose sessions end: every one issued until now"},
    {NULL, 0, 0, NULL, 0, NULL},
};

static int session_revoke_build(const admin_inv_t *inv, admin_request_t *req)
{
	json_t *j = json_object();
	bool ok = j && json_object_set_new(j, "email", json_string(admin_inv_get(inv, AOPT_EMAIL))) == 0;

	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/sessions/revoke");
	return finish_body(j, ok, req);
}

static int session_revoke_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
				 size_t errlen)
{
	char email[280], at[40];
	int r;

	if ((r = need_string(resp, "email", err, errlen)) != 0)
		return r;
	admin_format_time(jint(resp, "revoked_at"), at, sizeof(at));
	return buf_printf(&out->out,
			  "Sessions of %s issued until %s are revoked; live ones end within seconds, and "
			  "they must sign in again.\n",
			  jshow(resp, "email", email, sizeof(email)), at);
}

static const admin_opt_t session_list_opts[] = {
    {"email", AOPT_EMAIL, AVAL_EMAIL, "EMAIL", 0, "only this person's sessions"},
    {NULL, 0, 0, NULL, 0, NULL},
};

static int session_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	const char *email = admin_inv_get(inv, AOPT_EMAIL);
	req->method = "GET";
	/* (an email passed AVAL_EMAIL: no character in it needs escaping in a query) */
	snprintf(req->path, sizeof(req->path), "/api/v1/sessions%s%.254s", email ? "?email=" : "",
		 email ? email : "");
	return 0;
}

static int session_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err,
			       size_t errlen)
{
	static const char *const head[] = {"SESSION", "APP", "HOSTNAME", "WHO", "CLIENT", "STARTED"};
	admin_table_t t;
	json_t *arr, *v;
	size_t i;
	int r;

	if ((r = array_of(resp, "sessions", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 6, head)) != 0)
		return r;
	json_array_foreach(arr, i, v)
	{
		char started[40];
		admin_format_time(jint(v, "started_at"), started, sizeof(started));
		const char *row[] = {jstr(v, "id"),  jstr(v, "app"),	jstr(v, "hostname"),
				     jstr(v, "who"), jstr(v, "client"), started};
		if ((r = admin_table_add(&t, row)) != 0)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

/* ---- identity providers (OpenID Connect) ---- */

static const admin_opt_t idp_add_opts[] = {
    {"name", AOPT_NAME, AVAL_NAME, "NAME", AOPT_REQUIRED,
     "the provider's name (app create --idp NAME): 1-64 of A-Z a-z 0-9 . _ -"},
    {"issuer", AOPT_ISSUER, AVAL_TEXT, "URL", AOPT_REQUIRED,
     "its issuer, exactly as its /.well-known/openid-configuration says, e.g. https://idp.example"},
    {"client-id", AOPT_CLIENT_ID, AVAL_TEXT, "ID", AOPT_REQUIRED, "the client id the provider gave the edge"},
    {"client-secret-file", AOPT_CLIENT_SECRET_FILE, AVAL_TEXT, "FILE", AOPT_REQUIRED,
     "file holding the client secret, mode 0600 (never on the command line)"},
    {"ca-file", AOPT_CA_FILE, AVAL_TEXT, "FILE", 0,
     "PEM CA certificates the edge trusts for this provider, besides the system roots"},
    {"groups-claim", AOPT_GROUPS_CLAIM, AVAL_TEXT, "CLAIM", 0,
     "ID-token claim holding the person's groups (default groups)"},
    {"scopes", AOPT_SCOPES, AVAL_TEXT, "SCOPES", 0,
     "scopes asked for, space-separated, openid among them (default \"openid email profile\")"},
    {NULL, 0, 0, NULL, 0, NULL},
};

/* The body with the secret spliced in by hand: jansson would keep copies
 * of it that it frees without wiping. admin.c wipes the body. */
static int idp_add_build(const admin_inv_t *inv, admin_request_t *req)
{
	static const char key[] = ",\"client_secret\":";
	json_t *j = json_object();
	char *text = NULL;
	const char *claim = admin_inv_get(inv, AOPT_GROUPS_CLAIM), *scopes = admin_inv_get(inv, AOPT_SCOPES);
	bool ok = j && json_object_set_new(j, "name", json_string(admin_inv_get(inv, AOPT_NAME))) == 0 &&
		  json_object_set_new(j, "issuer", json_string(admin_inv_get(inv, AOPT_ISSUER))) == 0 &&
		  json_object_set_new(j, "client_id", json_string(admin_inv_get(inv, AOPT_CLIENT_ID))) == 0 &&
		  (!claim || json_object_set_new(j, "groups_claim", json_string(claim)) == 0) &&
		  (!scopes || json_object_set_new(j, "scopes", json_string(scopes)) == 0) &&
		  (!inv->ca_pem || json_object_set_new(j, "ca_pem", json_string(inv->ca_pem)) == 0);
	size_t slen = inv->client_secret ? inv->client_secret_len : 0;

	req->method = "POST";
	snprintf(req->path, sizeof(req->path), "/api/v1/idps");
	if (ok)
		text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return ERR_NOMEM;
	size_t tlen = strlen(text);
	if (!(req->body = malloc(tlen + sizeof(key) + 6 * slen + 4))) {
		free(text);
		return ERR_NOMEM;
	}
	memcpy(req->body, text, tlen - 1); /* without the closing brace */
	char *p = req->body + tlen - 1;
	memcpy(p, key, sizeof(key) - 1);
	p = put_json_string(p + sizeof(key) - 1, inv->client_secret ? inv->client_secret : "", slen);
	*p++ = '}';
	*p = '\0';
	free(text);
	return 0;
}

static int idp_add_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	char name[80], issuer[600];
	int r;

	if ((r = need_string(resp, "name", err, errlen)) != 0)
		return r;
	return buf_printf(&out->out,
			  "Identity provider \"%s\" added (%s). Register this redirect URI with it:\n"
			  "  https://<the edge's --auth-domain>/cdn-cgi/access/callback\n",
			  jshow(resp, "name", name, sizeof(name)),
			  jshow(resp, "issuer", issuer, sizeof(issuer)));
}

static int idp_list_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), "/api/v1/idps");
	return 0;
}

static int idp_list_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	static const char *const head[] = {"NAME",   "ISSUER", "CLIENT ID", "GROUPS CLAIM",
					   "SCOPES", "CA",     "CREATED"};
	admin_table_t t;
	json_t *arr, *p;
	size_t i;
	int r;

	if ((r = array_of(resp, "idps", &arr, err, errlen)) != 0)
		return r;
	if ((r = admin_table_init(&t, 7, head)) != 0)
		return r;
	json_array_foreach(arr, i, p)
	{
		char created[40];
		admin_format_time(jint(p, "created_at"), created, sizeof(created));
		const char *row[] = {jstr(p, "name"),
				     jstr(p, "issuer"),
				     jstr(p, "client_id"),
				     jstr(p, "groups_claim"),
				     jstr(p, "scopes"),
				     json_is_true(json_object_get(p, "custom_ca")) ? "custom" : "system",
				     created};
		if ((r = admin_table_add(&t, row)) != 0)
			break;
	}
	if (r == 0)
		r = admin_table_render(&t, &out->out);
	admin_table_free(&t);
	return r;
}

static int idp_delete_build(const admin_inv_t *inv, admin_request_t *req)
{
	req->method = "DELETE";
	snprintf(req->path, sizeof(req->path), "/api/v1/idps/%s", inv->pos);
	return 0;
}

static int idp_delete_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen)
{
	char name[80];
	int r;

	if ((r = need_string(resp, "deleted", err, errlen)) != 0)
		return r;
	return buf_printf(&out->out,
			  "Identity provider \"%s\" deleted; logins through it already made stay valid until "
			  "they expire or are revoked.\n",
			  jshow(resp, "deleted", name, sizeof(name)));
}

/* ---- the table ---- */

const admin_group_t admin_groups[] = {
    {"app", "Applications: hostnames whose visitors must pass the app's access policies"},
    {"policy", "Access policies: who may reach an application, checked in precedence order"},
    {"service-token",
     "Service tokens: an id and a secret that let scripts and CI pass service_auth policies"},
    {"tunnel", "Tunnels: the credentials a connector (burrow tunnel) uses to dial the edge"},
    {"route", "Routes: which tunnel serves each hostname"},
    {"audit", "The audit log: every session, refusal and admin change, with who and why"},
    {"user", "Users of the edge's built-in identity provider: an email and a password"},
    {"keys", "The edge's token-signing keys (EC P-256): list and rotate"},
    {"session", "Sessions: list the live ones, revoke every session of one email"},
    {"idp", "OpenID Connect identity providers people may log in with"},
    {NULL, NULL},
};

/* The positional arguments of a command: none, one, or two. */
#define NO_ARG NULL, 0, NULL, NULL, 0, NULL
#define ARG(name, kind, help) name, kind, help, NULL, 0, NULL
#define ARGS(name, kind, help, name2, kind2, help2) name, kind, help, name2, kind2, help2

const admin_cmd_t admin_cmds[] = {
    {"app", "create", NO_ARG, "Create an application that protects one or more hostnames",
     "Without a policy nobody gets in: add one with 'burrow admin policy add'.", app_create_opts, false, NULL,
     app_create_build, app_create_render, false, false},
    {"app", "list", NO_ARG, "List applications", NULL, NULL, false, NULL, app_list_build, app_list_render,
     false, false},
    {"app", "delete", ARG("NAME", AVAL_NAME, "the application's name or id"),
     "Delete an application and its policies", NULL, NULL, false, NULL, app_delete_build, app_delete_render,
     false, false},
    {"policy", "add", NO_ARG, "Add an access policy to an application",
     "The first policy that matches decides; no match denies. Selectors: everyone, email=ADDR,\n"
     "email-domain=DOMAIN, group=NAME, service-token=NAME|any, ip=CIDR, login-method=NAME.\n"
     "A service_auth policy needs at least one --include.",
     policy_add_opts, false, policy_add_check, policy_add_build, policy_add_render, false, false},
    {"policy", "list", NO_ARG, "List policies, by application then precedence", NULL, policy_list_opts, false,
     NULL, policy_list_build, policy_list_render, false, false},
    {"policy", "delete", ARG("ID", AVAL_NAME, "the policy's id (from 'burrow admin policy list')"),
     "Delete a policy", NULL, NULL, false, NULL, policy_delete_build, policy_delete_render, false, false},
    {"service-token", "create", NO_ARG, "Create a service token; prints its id and secret once",
     "The edge keeps only a hash of the secret: store it now. Use the pair with\n"
     "'burrow access ssh --id ID --secret SECRET' where a service_auth policy names the token.",
     token_create_opts, true, NULL, token_create_build, token_create_render, false, false},
    {"service-token", "list", NO_ARG, "List service tokens (never their secrets)", NULL, NULL, false, NULL,
     token_list_build, token_list_render, false, false},
    {"service-token", "revoke", ARG("NAME", AVAL_NAME, "the token's name or client id"),
     "Revoke a service token at once", NULL, NULL, false, NULL, token_revoke_build, token_revoke_render,
     false, false},
    {"tunnel", "create", ARG("NAME", AVAL_NAME, "tunnel name: 1-64 of A-Z a-z 0-9 . _ -"),
     "Create a tunnel; prints its credentials JSON once",
     "Redirect stdout to a file (it is made mode 0600) or pass --output; the secret is not shown again.\n"
     "Its connectors may serve only the hostnames routed to it: give them with --hostname, or\n"
     "later with 'burrow admin route add NAME HOSTNAME'.",
     tunnel_create_opts, true, NULL, tunnel_create_build, tunnel_create_render, false, false},
    {"tunnel", "list", NO_ARG, "List tunnels", NULL, NULL, false, NULL, tunnel_list_build, tunnel_list_render,
     false, false},
    {"tunnel", "delete", ARG("NAME", AVAL_NAME, "the tunnel's name or id"), "Delete a tunnel and its routes",
     NULL, NULL, false, NULL, tunnel_delete_build, tunnel_delete_render, false, false},
    {"route", "add",
     ARGS("TUNNEL", AVAL_NAME, "the tunnel's name or id", "HOSTNAME", AVAL_TEXT,
	  "the hostname its connectors may then serve"),
     "Route a hostname to a tunnel",
     "A connector serves only hostnames routed to its tunnel; 'burrow tunnel' with any other\n"
     "--hostname is refused. A hostname has one route: to move it, delete it first.",
     NULL, false, NULL, route_add_build, route_add_render, false, false},
    {"route", "list", NO_ARG, "List hostname routes and the tunnels serving them", NULL, NULL, false, NULL,
     route_list_build, route_list_render, false, false},
    {"route", "delete", ARG("HOSTNAME", AVAL_HOSTNAME, "the routed hostname"),
     "Delete a route; sessions on the hostname end at once",
     "The tunnel keeps its connections and its other routes.", NULL, false, NULL, route_delete_build,
     route_delete_render, false, false},
    {"audit", "", NO_ARG, "Show the audit log (oldest first)",
     "Sessions (start, end with bytes and duration), refusals (status and the client's line) and\n"
     "admin changes (who, what, status), as the edge recorded them; never a secret. --json prints\n"
     "one JSON object per line. The edge keeps records for --audit-retention (default 90d).",
     admin_audit_opts, false, admin_audit_check, admin_audit_build, admin_audit_render, true, false},
    {"user", "add", ARG("EMAIL", AVAL_EMAIL, "the user's email address (stored lowercased)"),
     "Add a user; the password is read from stdin",
     "On a terminal it is asked twice, not echoed; otherwise the first line of stdin is the\n"
     "password (8-1024 bytes). It is never taken from the command line. The edge keeps only\n"
     "its argon2id hash.",
     NULL, false, NULL, user_add_build, user_add_render, false, true},
    {"user", "list", NO_ARG, "List users (never their password hashes)", NULL, NULL, false, NULL,
     user_list_build, user_list_render, false, false},
    {"user", "delete", ARG("EMAIL", AVAL_EMAIL, "the user's email address"), "Delete a user",
     "Their live sessions are not ended: use 'burrow admin session revoke --email EMAIL'.", NULL, false, NULL,
     user_delete_build, user_delete_render, false, false},
    {"keys", "list", NO_ARG, "List token-signing keys, newest first (never the keys themselves)", NULL, NULL,
     false, NULL, keys_list_build, keys_list_render, false, false},
    {"keys", "rotate", NO_ARG, "Make a new signing key current and retire the current one",
     "Tokens signed by the retired key stay valid until they expire; retired keys are deleted\n"
     "once the longest app session (at least 24h) has passed since their retirement.",
     NULL, false, NULL, keys_rotate_build, keys_rotate_render, false, false},
    {"session", "list", NO_ARG, "List the sessions running on this edge now",
     "One line per live session: its id, app, hostname, who (a person's email or a service\n"
     "token's name), client address and start. Sessions on other edges are not listed.",
     session_list_opts, false, NULL, session_list_build, session_list_render, false, false},
    {"session", "revoke", NO_ARG, "Revoke every session of a user",
     "App tokens and edge sign-ins issued to EMAIL until now are refused; they must sign in again.",
     session_revoke_opts, false, NULL, session_revoke_build, session_revoke_render, false, false},
    {"idp", "add", NO_ARG, "Add an OpenID Connect identity provider",
     "The client secret is read from --client-secret-file (mode 0600: group and others may not\n"
     "read it) and kept by the edge, which never shows it again. Register the redirect URI\n"
     "https://<auth-domain>/cdn-cgi/access/callback with the provider.",
     idp_add_opts, false, NULL, idp_add_build, idp_add_render, false, false},
    {"idp", "list", NO_ARG, "List identity providers (never their client secrets)", NULL, NULL, false, NULL,
     idp_list_build, idp_list_render, false, false},
    {"idp", "delete", ARG("NAME", AVAL_NAME, "the provider's name"), "Delete an identity provider",
     "Refused while an app accepts it (app create --idp): delete that app first.", NULL, false, NULL,
     idp_delete_build, idp_delete_render, false, false},
    {NULL, NULL, NO_ARG, NULL, NULL, NULL, false, NULL, NULL, NULL, false, false},
};
