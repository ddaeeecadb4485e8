/* admin_api_creds.c — admin API handlers for service tokens, tunnels and
 * routes: the objects that carry credentials.
 *
 * A secret exists in a stack buffer (wiped before return) and in the one
 * response that shows it; the store gets only its SHA-256 and the log only
 * the object's name and id. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/hostname.h"
#include "core/log.h"
#include "edge/admin/admin_api_int.h"
#include "edge/model.h"

#define MAX_TOKEN_DURATION (10LL * 365 * 86400)

typedef json_t *(*admin_item_fn)(const void *item);

/* Replies {key: [fn(item)...]} for n items of size elem; r is the store
 * call's result. */
static void reply_list(admin_ctx_t *c, int r, const char *key, const void *v, size_t n, size_t elem,
		       admin_item_fn fn)
{
	json_t *arr = NULL;
	if (r != 0 || !(arr = json_array())) {
		admin__store_error(c, "list objects");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, fn((const char *)v + i * elem)) != 0) {
			json_decref(arr);
			admin__error(c, 500, "out of memory");
			return;
		}
	admin__reply(c, 200, json_pack("{s:o}", key, arr));
}

static const char *routed_already =
    "hostname \"%s\" is already routed to tunnel \"%s\"; to move it, delete that route first (burrow admin "
    "route delete %s)";

/* ---- service tokens ---- */

static json_t *token_json(const void *item)
{
	const store_token_t *t = item;
	return json_pack("{s:s, s:s, s:I, s:I, s:b}", "client_id", t->id, "name", t->name, "created_at",
			 (json_int_t)t->created_at, "expires_at", (json_int_t)t->expires_at, "revoked",
			 (int)t->revoked);
}

void admin__tokens_list(admin_ctx_t *c, const char *arg)
{
	store_token_t *v = NULL;
	size_t n = 0;
	int r = store_token_list(c->st, &v, &n);
	reply_list(c, r, "service_tokens", v, n, sizeof(*v), token_json);
	if (v)
		OPENSSL_cleanse(v, n * sizeof(*v));
	free(v);
}

void admin__tokens_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"name", "duration", NULL};
	const char *name;
	int64_t duration = 0;
	bool has_duration;
	char secret[ADMIN_SECRET_HEX + 1];
	store_token_t in = {0}, rec = {0};
	store_why_t why;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "name", &name) != 0 ||
	    admin__check_name(c, "name", name) != 0 ||
	    admin__get_int(c, "duration", 0, MAX_TOKEN_DURATION, &has_duration, &duration) != 0)
		goto out;
	/* "service-token=any" is the wildcard selector, so no token may be called that */
	if (strcmp(name, "any") == 0) {
		admin__error(
		    c, 400, "\"any\" is reserved (service-token=any matches every token); pick another name");
		goto out;
	}
	if (admin__random_hex(in.id, 16) != 0 || admin__random_hex(secret, ADMIN_SECRET_HEX / 2) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	memcpy(in.id + 32, ".access", sizeof(".access"));
	snprintf(in.name, sizeof(in.name), "%s", name);
	model_hash_secret(secret, strlen(secret), in.secret_hash);
	in.expires_at = duration ? (int64_t)time(NULL) + duration : 0;
	int r = store_token_create(c->st, &in, &rec, &why);
	if (r == ERR_EXISTS) {
		admin__error(c, 409,
			     "a service token named \"%s\" already exists (revoked tokens keep their names)",
			     name);
		goto out;
	}
	if (r != 0) {
		admin__store_error(c, "create the service token");
		goto out;
	}
	c->resp->changed = true;
	log_info("admin api: created service token \"%s\" (%s)", name, rec.id);
	admin__reply_secret(c, 201, token_json(&rec), "client_secret", secret);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(&in, sizeof(in));
	OPENSSL_cleanse(&rec, sizeof(rec));
}

void admin__tokens_revoke(admin_ctx_t *c, const char *arg)
{
	char id[STORE_ID_MAX + 1];
	bool changed;
	store_why_t why;

	int r = store_token_revoke(c->st, arg, id, &changed, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no service token named \"%s\"", admin__echo(arg));
		return;
	}
	if (r != 0) {
		admin__store_error(c, "revoke the service token");
		return;
	}
	c->resp->changed = changed;
	if (changed)
		log_info("admin api: revoked service token %s", id);
	admin__reply(c, 200, json_pack("{s:s}", "revoked", id));
}

/* ---- tunnels ---- */

static json_t *tunnel_json(const void *item)
{
	const store_tunnel_t *t = item;
	return json_pack("{s:s, s:s, s:I}", "id", t->id, "name", t->name, "created_at",
			 (json_int_t)t->created_at);
}

void admin__tunnels_list(admin_ctx_t *c, const char *arg)
{
	store_tunnel_t *v = NULL;
	size_t n = 0;
	int r = store_tunnel_list(c->st, &v, &n);
	reply_list(c, r, "tunnels", v, n, sizeof(*v), tunnel_json);
	free(v);
}

/* The tunnel and the routes of its "hostnames" are one store call: all or
 * nothing. */
void admin__tunnels_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"name", "hostnames", NULL};
	const char *name;
	json_t *hosts = NULL, *obj = NULL;
	char secret[ADMIN_SECRET_HEX + 1];
	store_tunnel_t in = {0}, rec = {0};
	store_strv_t hv = {0};
	store_why_t why;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "name", &name) != 0 ||
	    admin__check_name(c, "name", name) != 0 ||
	    admin__get_hostnames(c, "hostnames", false, &hosts) != 0)
		goto out;
	if (admin__uuid4(in.id) != 0 || admin__random_hex(secret, ADMIN_SECRET_HEX / 2) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	snprintf(in.name, sizeof(in.name), "%s", name);
	model_hash_secret(secret, strlen(secret), in.secret_hash);
	if (admin__strv_from(hosts, &hv) != 0) {
		admin__error(c, 500, "out of memory");
		goto out;
	}
	int r = store_tunnel_create(c->st, &in, &hv, &rec, &why);
	if (r == ERR_EXISTS && why.what == STORE_HOSTNAME)
		admin__error(c, 409, routed_already, why.key, why.owner, why.key);
	else if (r == ERR_EXISTS)
		admin__error(c, 409, "a tunnel named \"%s\" already exists", name);
	else if (r != 0)
		admin__store_error(c, "create the tunnel");
	if (r != 0)
		goto out;
	c->resp->changed = true;
	log_info("admin api: created tunnel \"%s\" (%s) with %zu route%s", name, rec.id, hv.n,
		 hv.n == 1 ? "" : "s");
	obj = tunnel_json(&rec);
	if (!obj || json_object_set(obj, "hostnames", hosts) != 0) {
		admin__error(c, 500, "out of memory");
		goto out;
	}
	admin__reply_secret(c, 201, json_incref(obj), "tunnel_secret", secret);
out:
	json_decref(hosts);
	json_decref(obj);
	store_strv_clear(&hv);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(&in, sizeof(in));
	OPENSSL_cleanse(&rec, sizeof(rec));
}

void admin__tunnels_delete(admin_ctx_t *c, const char *arg)
{
	char id[STORE_ID_MAX + 1];
	store_why_t why;

	/* its routes go with it */
	int r = store_tunnel_delete(c->st, arg, id, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no tunnel named \"%s\"", admin__echo(arg));
		return;
	}
	if (r != 0) {
		admin__store_error(c, "delete the tunnel");
		return;
	}
	c->resp->changed = true;
	log_info("admin api: deleted tunnel %s", id);
	admin__reply(c, 200, json_pack("{s:s}", "deleted", id));
}

/* ---- routes ---- */

static json_t *route_json(const void *item)
{
	const store_route_t *rt = item;
	return json_pack("{s:s, s:s, s:s}", "hostname", rt->hostname, "tunnel_id", rt->tunnel_id,
			 "tunnel_name", rt->tunnel_name);
}

void admin__routes_list(admin_ctx_t *c, const char *arg)
{
	store_route_t *v = NULL;
	size_t n = 0;
	int r = store_route_list(c->st, &v, &n);
	reply_list(c, r, "routes", v, n, sizeof(*v), route_json);
	free(v);
}

/* Routes are bound here (and at tunnel create) only: a connector serves the
 * hostnames routed to its tunnel and claims none (edge/tunnels/tunnels.c). */
void admin__routes_add(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"tunnel", "hostname", NULL};
	const char *tunnel, *host;
	char h[HOSTNAME_MAX + 1];
	store_route_t rec;
	store_why_t why;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "tunnel", &tunnel) != 0 ||
	    admin__check_name(c, "tunnel", tunnel) != 0 || admin__get_string(c, "hostname", &host) != 0)
		return;
	if (!host) {
		admin__error(c, 400, "\"hostname\" is required");
		return;
	}
	if (admin__hostname(c, host, strlen(host), h) != 0)
		return;
	int r = store_route_add(c->st, tunnel, h, &rec, &why);
	if (r == ERR_NOTFOUND)
		admin__error(c, 404, "no tunnel named \"%s\": create it with burrow admin tunnel create %s",
			     tunnel, tunnel);
	else if (r == ERR_EXISTS)
		admin__error(c, 409, routed_already, why.key, why.owner, why.key);
	else if (r != 0)
		admin__store_error(c, "record the route");
	if (r != 0)
		return;
	c->resp->changed = true;
	log_info("admin api: routed %s to tunnel %s", h, rec.tunnel_id);
	admin__reply(c, 201, route_json(&rec));
}

/* Sessions on the hostname end within a second of the reload this triggers
 * (edge/sessions/sessions.c); the tunnel's connections stay for its other routes. */
void admin__routes_delete(admin_ctx_t *c, const char *arg)
{
	char h[HOSTNAME_MAX + 1];
	store_route_t rec;
	store_why_t why;
	json_t *obj;

	if (admin__hostname(c, arg, strlen(arg), h) != 0)
		return;
	int r = store_route_delete(c->st, h, &rec, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no route for %s (burrow admin route list shows the routes)", h);
		return;
	}
	if (r != 0) {
		admin__store_error(c, "delete the route");
		return;
	}
	c->resp->changed = true;
	log_info("admin api: deleted the route of %s to tunnel %s", h, rec.tunnel_id);
	obj = route_json(&rec);
	if (obj && json_object_set_new(obj, "deleted", json_string(h)) != 0) {
		json_decref(obj);
		obj = NULL;
	}
	admin__reply(c, 200, obj);
}
