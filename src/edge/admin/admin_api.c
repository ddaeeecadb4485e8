/* admin_api.c — the admin API's router and the helpers its handlers share
 * (responses, body fields, transactions, randomness).
 *
 * Runs on a worker thread after the HTTP layer has checked the admin token.
 * Handlers validate the body, call one typed store operation (which is the
 * transaction) and render its records. Secrets never reach the log. */
#include "edge/admin/admin_api.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hostname.h"
#include "core/log.h"
#include "edge/admin/admin_api_int.h"

#define API_PREFIX "/api/v1/"
#define MAX_SEGS 3
#define SEG_MAX 256 /* a hostname (253) fits: DELETE /api/v1/routes/{hostname} */
#define BODY_MAX (64 * 1024)

typedef struct route {
	const char *method;
	const char *segs[MAX_SEGS]; /* "*" is the {name} or {id} parameter */
	admin_handler_fn fn;
	bool body_optional; /* POST that takes no fields: an empty body is {} */
} route_t;

static const route_t routes[] = {
    {"GET", {"apps"}, admin__apps_list, false},
    {"POST", {"apps"}, admin__apps_create, false},
    {"DELETE", {"apps", "*"}, admin__apps_delete, false},
    {"GET", {"apps", "*", "policies"}, admin__policies_list_app, false},
    {"POST", {"apps", "*", "policies"}, admin__policies_create, false},
    {"GET", {"policies"}, admin__policies_list, false},
    {"DELETE", {"policies", "*"}, admin__policies_delete, false},
    {"GET", {"service-tokens"}, admin__tokens_list, false},
    {"POST", {"service-tokens"}, admin__tokens_create, false},
    {"DELETE", {"service-tokens", "*"}, admin__tokens_revoke, false},
    {"GET", {"tunnels"}, admin__tunnels_list, false},
    {"POST", {"tunnels"}, admin__tunnels_create, false},
    {"DELETE", {"tunnels", "*"}, admin__tunnels_delete, false},
    {"GET", {"routes"}, admin__routes_list, false},
    {"POST", {"routes"}, admin__routes_add, false},
    {"DELETE", {"routes", "*"}, admin__routes_delete, false},
    {"GET", {"users"}, admin__users_list, false},
    {"POST", {"users"}, admin__users_create, false},
    {"DELETE", {"users", "*"}, admin__users_delete, false},
    {"GET", {"keys"}, admin__keys_list, false},
    {"POST", {"keys", "rotate"}, admin__keys_rotate, true},
    {"POST", {"sessions", "revoke"}, admin__sessions_revoke, false},
    {"GET", {"idps"}, admin__idps_list, false},
    {"POST", {"idps"}, admin__idps_create, false},
    {"DELETE", {"idps", "*"}, admin__idps_delete, false},
};

/* ---- responses ---- */

static void set_body(admin_ctx_t *c, int status, char *body)
{
	free(c->resp->body);
	c->resp->status = body ? status : 500;
	c->resp->body = body;
}

void admin__reply(admin_ctx_t *c, int status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!text)
		log_error("admin api: cannot encode a response");
	set_body(c, status, text);
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

void admin__reply_secret(admin_ctx_t *c, int status, json_t *obj, const char *key, const char *secret)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	char *out = NULL;
	json_decref(obj);
	/* splicing is only sound for a non-empty object and a secret needing no escaping */
	size_t tlen = text ? strlen(text) : 0;
	if (tlen < 3 || text[tlen - 1] != '}' || !is_hex(secret) || !admin__name_ok(key))
		goto out;
	size_t olen = tlen + strlen(key) + strlen(secret) + 8;
	if (!(out = malloc(olen)))
		goto out;
	snprintf(out, olen, "%.*s,\"%s\":\"%s\"}", (int)(tlen - 1), text, key, secret);
out:
	free(text);
	if (!out)
		log_error("admin api: cannot encode a response");
	set_body(c, status, out);
}

void admin__error(admin_ctx_t *c, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *obj = json_pack("{s:s}", "error", msg);
	/* Texts echo what the client sent, and a byte limit (msg's, or a callee's
	 * "%.40s") can cut a UTF-8 sequence in two. jansson refuses invalid UTF-8,
	 * which would turn the error into a 500 without a body: such a text loses
	 * its non-ASCII bytes instead. */
	if (!obj) {
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		obj = json_pack("{s:s}", "error", msg);
	}
	admin__reply(c, status, obj);
}

void admin__store_error(admin_ctx_t *c, const char *what)
{
	const char *why = store_errmsg(c->st);
	log_error("admin api: %s: %s", what, why);
	admin__error(c, 500,
		     "store failure while trying to %s (%s): nothing was changed; check the edge's disk space "
		     "and its log",
		     what, why);
}

const char *admin__echo(const char *s)
{
	size_t n = 0;
	if (!s)
		return "(none)";
	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e || s[n] == '"' || n >= SEG_MAX)
			return "(unprintable)";
	return s;
}

/* ---- request body ---- */

int admin__check_fields(admin_ctx_t *c, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(c->body, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			char list[256] = "";
			for (size_t i = 0; allowed[i]; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 i ? ", " : "", allowed[i]);
			admin__error(c, 400, "unknown field \"%s\"; this request takes: %s", admin__echo(key),
				     list);
			return ERR_INVAL;
		}
	}
	return 0;
}

static json_t *field(admin_ctx_t *c, const char *key)
{
	json_t *v = c->body ? json_object_get(c->body, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

int admin__get_string(admin_ctx_t *c, const char *key, const char **out)
{
	json_t *v = field(c, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		admin__error(c, 400, "\"%s\" must be a string", key);
		return ERR_INVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int admin__get_int(admin_ctx_t *c, const char *key, int64_t min, int64_t max, bool *present, int64_t *out)
{
	json_t *v = field(c, key);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		admin__error(c, 400, "\"%s\" must be an integer from %lld to %lld", key, (long long)min,
			     (long long)max);
		return ERR_INVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

int admin__get_strings(admin_ctx_t *c, const char *key, size_t max, json_t **out)
{
	json_t *v = field(c, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max)
		goto bad;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);
		/* an embedded NUL would make the C string differ from what was sent */
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
			goto bad;
	}
	*out = v;
	return 0;
bad:
	admin__error(c, 400, "\"%s\" must be an array of at most %zu strings", key, max);
	return ERR_INVAL;
}

int admin__hostname(admin_ctx_t *c, const char *in, size_t len, char out[HOSTNAME_MAX + 1])
{
	if (hostname_normalize(in, len, out) != 0) {
		admin__error(c, 400, "hostname \"%s\" is not a valid DNS name (letters, digits, '-', '.')",
			     admin__echo(in));
		return ERR_INVAL;
	}
	return 0;
}

int admin__get_hostnames(admin_ctx_t *c, const char *key, bool required, json_t **out)
{
	json_t *in, *norm;
	char h[HOSTNAME_MAX + 1];

	*out = NULL;
	if (admin__get_strings(c, key, ADMIN_LIST_MAX, &in) != 0)
		return ERR_INVAL;
	if (required && (!in || json_array_size(in) == 0)) {
		admin__error(c, 400, "\"%s\" needs at least one hostname, e.g. [\"ssh.example.com\"]", key);
		return ERR_INVAL;
	}
	if (!(norm = json_array()))
		goto nomem;
	for (size_t i = 0; in && i < json_array_size(in); i++) {
		json_t *e = json_array_get(in, i);
		if (admin__hostname(c, json_string_value(e), json_string_length(e), h) != 0) {
			json_decref(norm);
			return ERR_INVAL;
		}
		bool dup = false;
		for (size_t j = 0; j < json_array_size(norm) && !dup; j++)
			dup = strcmp(json_string_value(json_array_get(norm, j)), h) == 0;
		if (!dup && json_array_append_new(norm, json_string(h)) != 0)
			goto nomem;
	}
	*out = norm;
	return 0;
nomem:
	json_decref(norm);
	admin__error(c, 500, "out of memory");
	return ERR_NOMEM;
}

bool admin__name_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char ch = s[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return n >= 1 && n <= ADMIN_NAME_MAX;
}

int admin__check_name(admin_ctx_t *c, const char *fieldname, const char *name)
{
	if (!name) {
		admin__error(c, 400, "\"%s\" is required", fieldname);
		return ERR_INVAL;
	}
	if (!admin__name_ok(name)) {
		admin__error(c, 400, "\"%s\" must be 1-%d characters of A-Z a-z 0-9 . _ -", fieldname,
			     ADMIN_NAME_MAX);
		return ERR_INVAL;
	}
	return 0;
}

/* ---- records ---- */

int admin__strv_from(json_t *arr, store_strv_t *out)
{
	size_t n = json_array_size(arr);
	out->v = NULL;
	out->n = 0;
	if (n && !(out->v = calloc(n, sizeof(*out->v))))
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *str = json_string_value(json_array_get(arr, i));
		if (!str || !(out->v[i] = strdup(str))) {
			store_strv_clear(out);
			return ERR_NOMEM;
		}
		out->n++;
	}
	return 0;
}

json_t *admin__strv_json(const store_strv_t *sv)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < sv->n; i++)
		if (json_array_append_new(arr, json_string(sv->v[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

/* ---- randomness ---- */

int admin__random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[64];
	int r = ERR_UNAVAIL;
	if (nbytes > sizeof(b) || RAND_bytes(b, (int)nbytes) != 1)
		goto out;
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
	r = 0;
out:
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

int admin__uuid4(char out[37])
{
	uint8_t b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return ERR_UNAVAIL;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* ---- routing ---- */

/* Splits the part after /api/v1/ into segments; one trailing '/' is allowed.
 * Returns the segment count, or -1 when the path cannot name any endpoint. */
static int split_path(const char *path, char segs[MAX_SEGS][SEG_MAX])
{
	size_t plen = strlen(API_PREFIX);
	if (!path || strncmp(path, API_PREFIX, plen) != 0)
		return -1;
	const char *p = path + plen;
	int n = 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len >= SEG_MAX || n == MAX_SEGS)
			return -1;
		memcpy(segs[n], p, len);
		segs[n][len] = '\0';
		n++;
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

/* Whether route rt's path matches; *arg gets the parameter segment. */
static bool path_matches(const route_t *rt, char segs[MAX_SEGS][SEG_MAX], int nsegs, const char **arg)
{
	int i;
	*arg = NULL;
	for (i = 0; i < MAX_SEGS && rt->segs[i]; i++) {
		if (i >= nsegs)
			return false;
		if (strcmp(rt->segs[i], "*") == 0)
			*arg = segs[i];
		else if (strcmp(rt->segs[i], segs[i]) != 0)
			return false;
	}
	return i == nsegs;
}

static int parse_body(admin_ctx_t *c, const admin_req_t *req)
{
	json_error_t jerr;
	if (req->body_len > BODY_MAX) {
		admin__error(c, 400, "request body is larger than %d bytes", BODY_MAX);
		return ERR_INVAL;
	}
	if (!req->body || req->body_len == 0) {
		admin__error(c, 400, "request body must be a JSON object");
		return ERR_INVAL;
	}
	c->body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!c->body) {
		admin__error(c, 400, "request body is not valid JSON: %s (line %d, column %d)", jerr.text,
			     jerr.line, jerr.column);
		return ERR_INVAL;
	}
	if (!json_is_object(c->body)) {
		admin__error(c, 400, "request body must be a JSON object");
		return ERR_INVAL;
	}
	return 0;
}

static void dispatch(admin_ctx_t *c, const admin_req_t *req)
{
	char segs[MAX_SEGS][SEG_MAX];
	const char *arg = NULL;
	const route_t *hit = NULL;
	bool path_known = false;
	int nsegs = split_path(req->path, segs);

	for (size_t i = 0; nsegs >= 0 && i < sizeof(routes) / sizeof(routes[0]) && !hit; i++) {
		if (!path_matches(&routes[i], segs, nsegs, &arg))
			continue;
		path_known = true;
		if (req->method && strcmp(routes[i].method, req->method) == 0)
			hit = &routes[i];
	}
	if (!hit) {
		if (path_known)
			admin__error(c, 405, "method %s is not allowed on %s", admin__echo(req->method),
				     admin__echo(req->path));
		else
			admin__error(c, 404, "no such endpoint: %s", admin__echo(req->path));
		return;
	}
	bool empty = !req->body || req->body_len == 0;
	if (strcmp(hit->method, "POST") == 0 && !(hit->body_optional && empty) && parse_body(c, req) != 0)
		return;
	hit->fn(c, arg);
}

void admin_api_exec(store_t *st, const admin_req_t *req, admin_resp_t *resp)
{
	admin_ctx_t c = {.st = st, .body = NULL, .resp = resp};

	resp->status = 500;
	resp->body = NULL;
	resp->changed = false;
	(void)admin_api_init(); /* (its failure is the hashing handler's to report) */
	if (!st || !req) {
		admin__error(&c, 500, "admin API called without a store or request");
		return;
	}
	dispatch(&c, req);
	json_decref(c.body);
	if (!resp->body)
		resp->status = 500;
}
