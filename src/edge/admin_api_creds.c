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
#include "edge/admin_api_int.h"
#include "edge/model.h"

#define MAX_TOKEN_DURATION (10LL * 365 * 86400)

#define SQL_TOKEN_COLS                                                                                       \
	"SELECT client_id, name, created_at, expires_at, revoked_at IS NOT NULL FROM service_tokens"
#define SQL_TUNNEL_COLS "SELECT id, name, created_at FROM tunnels"
#define SQL_TUNNEL_ID "SELECT id FROM tunnels WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1"
#define SQL_ROUTE_COLS                                                                                       \
	"SELECT r.hostname, r.tunnel_id, t.name FROM routes r JOIN tunnels t ON t.id = r.tunnel_id"

static void reply_list(admin_ctx_t *c, const char *key, json_t *arr)
{
	if (!arr) {
		admin__store_error(c, "list objects");
		return;
	}
	admin__reply(c, 200, json_pack("{s:o}", key, arr));
}

/* Reads back the one row named by id and replies 201 with it, the fields of
 * extra (when not NULL) and the secret. */
static void reply_created(admin_ctx_t *c, const char *sql, const char *id, admin_row_fn fn, json_t *extra,
			  const char *key, const char *secret)
{
	json_t *arr = admin__rows(c, sql, id, fn);
	json_t *obj = arr && json_array_size(arr) == 1 ? json_array_get(arr, 0) : NULL;
	if (!obj || (extra && json_object_update(obj, extra) != 0)) {
		admin__store_error(c, "read back the new object");
		goto out;
	}
	admin__reply_secret(c, 201, json_incref(obj), key, secret);
out:
	json_decref(arr);
}

/* Inserts a credential row: ?1 id, ?2 name, ?3 hash, ?4 created, ?5 extra
 * (when has_extra). Returns 0, ERR_EXISTS (name taken) or ERR_STORE. */
static int cred_insert(admin_ctx_t *c, const char *sql, const char *id, const char *name,
		       const uint8_t hash[32], bool has_extra, int64_t extra)
{
	sqlite3_stmt *q = NULL;
	int r = ERR_STORE;
	if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)time(NULL));
	if (has_extra)
		sqlite3_bind_int64(q, 5, extra);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		r = 0;
	else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		r = ERR_EXISTS;
out:
	sqlite3_finalize(q);
	return r;
}

/* ---- service tokens ---- */

static json_t *token_json(sqlite3_stmt *q)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:b}", "client_id", (const char *)sqlite3_column_text(q, 0),
			 "name", (const char *)sqlite3_column_text(q, 1), "created_at",
			 (json_int_t)sqlite3_column_int64(q, 2), "expires_at",
			 (json_int_t)sqlite3_column_int64(q, 3), "revoked", sqlite3_column_int(q, 4));
}

void admin__tokens_list(admin_ctx_t *c, const char *arg)
{
	reply_list(c, "service_tokens", admin__rows(c, SQL_TOKEN_COLS " ORDER BY name", NULL, token_json));
}

void admin__tokens_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"name", "duration", NULL};
	const char *name;
	int64_t duration = 0;
	bool has_duration;
	char client_id[ADMIN_ID_MAX + 1], secret[ADMIN_SECRET_HEX + 1];
	uint8_t hash[32];

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
	if (admin__random_hex(client_id, 16) != 0 || admin__random_hex(secret, ADMIN_SECRET_HEX / 2) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	memcpy(client_id + 32, ".access", sizeof(".access"));
	model_hash_secret(secret, strlen(secret), hash);
	int64_t now = (int64_t)time(NULL);
	int r =
	    cred_insert(c,
			"INSERT INTO service_tokens (client_id, name, secret_hash, created_at, expires_at)"
			" VALUES (?1, ?2, ?3, ?4, ?5)",
			client_id, name, hash, true, duration ? now + duration : 0);
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
	log_info("admin api: created service token \"%s\" (%s)", name, client_id);
	reply_created(c, SQL_TOKEN_COLS " WHERE client_id = ?1", client_id, token_json, NULL, "client_secret",
		      secret);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(hash, sizeof(hash));
}

void admin__tokens_revoke(admin_ctx_t *c, const char *arg)
{
	char id[ADMIN_ID_MAX + 1];
	sqlite3_stmt *q = NULL;

	if (admin__begin(c) != 0)
		return;
	int r = admin__lookup(c,
			      "SELECT client_id FROM service_tokens WHERE client_id = ?1 OR name = ?1"
			      " ORDER BY client_id = ?1 DESC LIMIT 1",
			      arg, id, sizeof(id));
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no service token named \"%s\"", admin__echo(arg));
		goto out;
	}
	/* revoking twice keeps the first revocation time */
	if (r != 0 || sqlite3_prepare_v2(c->db,
					 "UPDATE service_tokens SET revoked_at = ?2"
					 " WHERE client_id = ?1 AND revoked_at IS NULL",
					 -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE)
		goto fail;
	bool changed = sqlite3_changes(c->db) > 0;
	if (admin__commit(c) != 0)
		goto out;
	c->resp->changed = changed;
	if (changed)
		log_info("admin api: revoked service token %s", id);
	admin__reply(c, 200, json_pack("{s:s}", "revoked", id));
	goto out;
fail:
	admin__store_error(c, "revoke the service token");
out:
	sqlite3_finalize(q);
	admin__rollback(c);
}

/* ---- tunnels ---- */

static json_t *tunnel_json(sqlite3_stmt *q)
{
	return json_pack("{s:s, s:s, s:I}", "id", (const char *)sqlite3_column_text(q, 0), "name",
			 (const char *)sqlite3_column_text(q, 1), "created_at",
			 (json_int_t)sqlite3_column_int64(q, 2));
}

void admin__tunnels_list(admin_ctx_t *c, const char *arg)
{
	reply_list(c, "tunnels", admin__rows(c, SQL_TUNNEL_COLS " ORDER BY name", NULL, tunnel_json));
}

/* 0 when no hostname in hosts is routed; 409 naming the tunnel that has it
 * otherwise. Inside the caller's transaction. */
static int routes_free(admin_ctx_t *c, json_t *hosts)
{
	char owner[ADMIN_NAME_MAX + 1];
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		const char *h = json_string_value(json_array_get(hosts, i));
		int r = admin__lookup(c,
				      "SELECT t.name FROM routes r JOIN tunnels t ON t.id = r.tunnel_id"
				      " WHERE r.hostname = ?1",
				      h, owner, sizeof(owner));
		if (r == 0) {
			admin__error(
			    c, 409,
			    "hostname \"%s\" is already routed to tunnel \"%s\"; to move it, delete that "
			    "route first (burrow admin route delete %s)",
			    h, owner, h);
			return ERR_EXISTS;
		}
		if (r != ERR_NOTFOUND) {
			admin__store_error(c, "check routes");
			return r;
		}
	}
	return 0;
}

/* Routes every hostname in hosts (checked free) to tunnel_id. */
static int routes_insert(admin_ctx_t *c, const char *tunnel_id, json_t *hosts)
{
	sqlite3_stmt *q = NULL;
	int r = ERR_STORE;
	if (sqlite3_prepare_v2(c->db, "INSERT INTO routes (hostname, tunnel_id) VALUES (?1, ?2)", -1, &q,
			       NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, json_string_value(json_array_get(hosts, i)), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, tunnel_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		admin__store_error(c, "record the routes");
	sqlite3_finalize(q);
	return r;
}

/* The tunnel and the routes of its "hostnames" are one transaction: all or
 * nothing. */
void admin__tunnels_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"name", "hostnames", NULL};
	const char *name;
	json_t *hosts = NULL, *extra = NULL;
	char id[37], secret[ADMIN_SECRET_HEX + 1];
	uint8_t hash[32];

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "name", &name) != 0 ||
	    admin__check_name(c, "name", name) != 0 ||
	    admin__get_hostnames(c, "hostnames", false, &hosts) != 0)
		goto out;
	if (admin__uuid4(id) != 0 || admin__random_hex(secret, ADMIN_SECRET_HEX / 2) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	model_hash_secret(secret, strlen(secret), hash);
	if (admin__begin(c) != 0)
		goto out;
	int r =
	    cred_insert(c, "INSERT INTO tunnels (id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
			id, name, hash, false, 0);
	if (r == ERR_EXISTS) {
		admin__error(c, 409, "a tunnel named \"%s\" already exists", name);
		goto out;
	}
	if (r != 0) {
		admin__store_error(c, "create the tunnel");
		goto out;
	}
	if (routes_free(c, hosts) != 0 || routes_insert(c, id, hosts) != 0 || admin__commit(c) != 0)
		goto out;
	c->resp->changed = true;
	log_info("admin api: created tunnel \"%s\" (%s) with %zu route%s", name, id, json_array_size(hosts),
		 json_array_size(hosts) == 1 ? "" : "s");
	extra = json_pack("{s:O}", "hostnames", hosts);
	reply_created(c, SQL_TUNNEL_COLS " WHERE id = ?1", id, tunnel_json, extra, "tunnel_secret", secret);
out:
	admin__rollback(c);
	json_decref(hosts);
	json_decref(extra);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(hash, sizeof(hash));
}

void admin__tunnels_delete(admin_ctx_t *c, const char *arg)
{
	char id[ADMIN_ID_MAX + 1];
	sqlite3_stmt *q = NULL;

	if (admin__begin(c) != 0)
		return;
	int r = admin__lookup(c, SQL_TUNNEL_ID, arg, id, sizeof(id));
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no tunnel named \"%s\"", admin__echo(arg));
		goto out;
	}
	/* its routes go with it (ON DELETE CASCADE) */
	if (r != 0 ||
	    sqlite3_prepare_v2(c->db, "DELETE FROM tunnels WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto fail;
	if (admin__commit(c) != 0)
		goto out;
	c->resp->changed = true;
	log_info("admin api: deleted tunnel %s", id);
	admin__reply(c, 200, json_pack("{s:s}", "deleted", id));
	goto out;
fail:
	admin__store_error(c, "delete the tunnel");
out:
	sqlite3_finalize(q);
	admin__rollback(c);
}

/* ---- routes ---- */

static json_t *route_json(sqlite3_stmt *q)
{
	return json_pack("{s:s, s:s, s:s}", "hostname", (const char *)sqlite3_column_text(q, 0), "tunnel_id",
			 (const char *)sqlite3_column_text(q, 1), "tunnel_name",
			 (const char *)sqlite3_column_text(q, 2));
}

void admin__routes_list(admin_ctx_t *c, const char *arg)
{
	reply_list(c, "routes", admin__rows(c, SQL_ROUTE_COLS " ORDER BY r.hostname", NULL, route_json));
}

/* Routes are bound here (and at tunnel create) only: a connector serves the
 * hostnames routed to its tunnel and claims none (edge/tunnels.c). */
void admin__routes_add(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"tunnel", "hostname", NULL};
	const char *tunnel, *host;
	char h[HOSTNAME_MAX + 1], id[ADMIN_ID_MAX + 1];
	json_t *hosts = NULL, *arr = NULL;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "tunnel", &tunnel) != 0 ||
	    admin__check_name(c, "tunnel", tunnel) != 0 || admin__get_string(c, "hostname", &host) != 0)
		goto out;
	if (!host) {
		admin__error(c, 400, "\"hostname\" is required");
		goto out;
	}
	if (admin__hostname(c, host, strlen(host), h) != 0 || admin__begin(c) != 0)
		goto out;
	int r = admin__lookup(c, SQL_TUNNEL_ID, tunnel, id, sizeof(id));
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no tunnel named \"%s\": create it with burrow admin tunnel create %s",
			     tunnel, tunnel);
		goto out;
	}
	if (r != 0) {
		admin__store_error(c, "find the tunnel");
		goto out;
	}
	if (!(hosts = json_pack("[s]", h))) {
		admin__error(c, 500, "out of memory");
		goto out;
	}
	if (routes_free(c, hosts) != 0 || routes_insert(c, id, hosts) != 0 || admin__commit(c) != 0)
		goto out;
	c->resp->changed = true;
	log_info("admin api: routed %s to tunnel %s", h, id);
	arr = admin__rows(c, SQL_ROUTE_COLS " WHERE r.hostname = ?1", h, route_json);
	if (!arr || json_array_size(arr) != 1) {
		admin__store_error(c, "read back the new route");
		goto out;
	}
	admin__reply(c, 201, json_incref(json_array_get(arr, 0)));
out:
	admin__rollback(c);
	json_decref(hosts);
	json_decref(arr);
}

/* Sessions on the hostname end within a second of the reload this triggers
 * (edge/sessions.c); the tunnel's connections stay for its other routes. */
void admin__routes_delete(admin_ctx_t *c, const char *arg)
{
	char h[HOSTNAME_MAX + 1];
	sqlite3_stmt *q = NULL;
	json_t *arr = NULL, *route;

	if (admin__hostname(c, arg, strlen(arg), h) != 0 || admin__begin(c) != 0)
		return;
	if (!(arr = admin__rows(c, SQL_ROUTE_COLS " WHERE r.hostname = ?1", h, route_json)))
		goto fail;
	if (!(route = json_array_get(arr, 0))) {
		admin__error(c, 404, "no route for %s (burrow admin route list shows the routes)", h);
		goto out;
	}
	if (sqlite3_prepare_v2(c->db, "DELETE FROM routes WHERE hostname = ?1", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(q, 1, h, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE || json_object_set_new(route, "deleted", json_string(h)) != 0)
		goto fail;
	if (admin__commit(c) != 0)
		goto out;
	c->resp->changed = true;
	log_info("admin api: deleted the route of %s to tunnel %s", h,
		 json_string_value(json_object_get(route, "tunnel_id")));
	admin__reply(c, 200, json_incref(route));
	goto out;
fail:
	admin__store_error(c, "delete the route");
out:
	sqlite3_finalize(q);
	json_decref(arr);
	admin__rollback(c);
}
