/* admin_api_apps.c — admin API handlers for applications and their policies.
 *
 * Every write validates first, then checks and writes inside one IMMEDIATE
 * transaction, so a 409 is decided against the state the write would land
 * in. Selectors are validated with policy_selector_check, the same rules the
 * evaluator parses with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/hostname.h"
#include "edge/admin_api_int.h"
#include "edge/policy.h"

#define DEFAULT_SESSION 86400
#define MAX_SESSION (365 * 86400)
#define MAX_PRECEDENCE 1000000

#define SQL_APP_ID "SELECT id FROM apps WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1"
#define SQL_APP_COLS "SELECT id, name, aud, session_duration, created_at FROM apps"
#define SQL_POLICY_COLS                                                                                      \
	"SELECT p.id, p.app_id, a.name, p.name, p.action, p.precedence, p.include_json, p.require_json,"     \
	" p.exclude_json FROM policies p JOIN apps a ON a.id = p.app_id"

/* ---- applications ---- */

/* APP for the current row of qa (SQL_APP_COLS); qh lists its hostnames. */
static json_t *app_json(sqlite3_stmt *qa, sqlite3_stmt *qh)
{
	json_t *hosts = json_array();
	json_t *obj = NULL;
	int rc;

	if (!hosts)
		return NULL;
	sqlite3_reset(qh);
	sqlite3_bind_text(qh, 1, (const char *)sqlite3_column_text(qa, 0), -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(qh)) == SQLITE_ROW)
		if (json_array_append_new(hosts, json_string((const char *)sqlite3_column_text(qh, 0))) != 0)
			goto fail;
	if (rc != SQLITE_DONE)
		goto fail;
	obj = json_pack("{s:s, s:s, s:o, s:s, s:I, s:I}", "id", (const char *)sqlite3_column_text(qa, 0),
			"name", (const char *)sqlite3_column_text(qa, 1), "hostnames", hosts, "aud",
			(const char *)sqlite3_column_text(qa, 2), "session_duration",
			(json_int_t)sqlite3_column_int64(qa, 3), "created_at",
			(json_int_t)sqlite3_column_int64(qa, 4));
	return obj; /* "o" took hosts, also on failure */
fail:
	json_decref(hosts);
	return NULL;
}

/* Lists apps (all, or the one with id app_id) as a JSON array. */
static json_t *apps_query(admin_ctx_t *c, const char *app_id)
{
	sqlite3_stmt *qa = NULL, *qh = NULL;
	json_t *arr = json_array();
	const char *sql = app_id ? SQL_APP_COLS " WHERE id = ?1" : SQL_APP_COLS " ORDER BY name";
	int rc = SQLITE_ERROR;

	if (!arr || sqlite3_prepare_v2(c->db, sql, -1, &qa, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
			       "SELECT hostname FROM app_hostnames WHERE app_id = ?1 ORDER BY hostname", -1,
			       &qh, NULL) != SQLITE_OK)
		goto out;
	if (app_id)
		sqlite3_bind_text(qa, 1, app_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(qa)) == SQLITE_ROW) {
		json_t *app = app_json(qa, qh);
		if (!app || json_array_append_new(arr, app) != 0) {
			rc = SQLITE_ERROR;
			break;
		}
	}
out:
	sqlite3_finalize(qa);
	sqlite3_finalize(qh);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

void admin__apps_list(admin_ctx_t *c, const char *arg)
{
	json_t *arr = apps_query(c, NULL);
	if (!arr) {
		admin__store_error(c, "list apps");
		return;
	}
	admin__reply(c, 200, json_pack("{s:o}", "apps", arr));
}

/* 0 when every hostname is free; 409 naming the owner otherwise. */
static int hostnames_free(admin_ctx_t *c, json_t *hosts)
{
	char owner[ADMIN_NAME_MAX + 1];
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		const char *h = json_string_value(json_array_get(hosts, i));
		int r = admin__lookup(c,
				      "SELECT a.name FROM app_hostnames h JOIN apps a ON a.id = h.app_id"
				      " WHERE h.hostname = ?1",
				      h, owner, sizeof(owner));
		if (r == 0) {
			admin__error(c, 409, "hostname \"%s\" already belongs to app \"%s\"", h, owner);
			return ERR_EXISTS;
		}
		if (r != ERR_NOTFOUND) {
			admin__store_error(c, "check hostnames");
			return r;
		}
	}
	return 0;
}

static int app_insert(admin_ctx_t *c, const char *id, const char *name, const char *aud, int64_t duration,
		      json_t *hosts)
{
	sqlite3_stmt *qa = NULL, *qh = NULL;
	int r = ERR_STORE;

	if (sqlite3_prepare_v2(c->db,
			       "INSERT INTO apps (id, name, aud, session_duration, created_at)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &qa, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT INTO app_hostnames (hostname, app_id) VALUES (?1, ?2)", -1, &qh,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(qa, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(qa, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(qa, 3, aud, -1, SQLITE_STATIC);
	sqlite3_bind_int64(qa, 4, duration);
	sqlite3_bind_int64(qa, 5, (sqlite3_int64)time(NULL));
	if (sqlite3_step(qa) != SQLITE_DONE)
		goto out;
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		sqlite3_reset(qh);
		sqlite3_bind_text(qh, 1, json_string_value(json_array_get(hosts, i)), -1, SQLITE_STATIC);
		sqlite3_bind_text(qh, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(qh) != SQLITE_DONE)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		admin__store_error(c, "create the app");
	sqlite3_finalize(qa);
	sqlite3_finalize(qh);
	return r;
}

void admin__apps_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"name", "hostnames", "session_duration", NULL};
	const char *name;
	json_t *hosts = NULL, *arr;
	int64_t duration = DEFAULT_SESSION;
	bool has_duration;
	char id[37], aud[65], existing[ADMIN_ID_MAX + 1];
	int r;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "name", &name) != 0 ||
	    admin__check_name(c, "name", name) != 0 ||
	    admin__get_int(c, "session_duration", 1, MAX_SESSION, &has_duration, &duration) != 0)
		goto out;
	if (admin__get_hostnames(c, "hostnames", true, &hosts) != 0)
		goto out;
	if (admin__uuid4(id) != 0 || admin__random_hex(aud, 32) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	if (admin__begin(c) != 0)
		goto out;
	r = admin__lookup(c, "SELECT id FROM apps WHERE name = ?1", name, existing, sizeof(existing));
	if (r == 0)
		admin__error(c, 409, "an app named \"%s\" already exists", name);
	else if (r != ERR_NOTFOUND)
		admin__store_error(c, "check app names");
	if (r != ERR_NOTFOUND || hostnames_free(c, hosts) != 0 ||
	    app_insert(c, id, name, aud, duration, hosts) != 0 || admin__commit(c) != 0)
		goto out;
	c->resp->changed = true;
	if (!(arr = apps_query(c, id)) || json_array_size(arr) != 1) {
		json_decref(arr);
		admin__store_error(c, "read back the new app");
		goto out;
	}
	admin__reply(c, 201, json_incref(json_array_get(arr, 0)));
	json_decref(arr);
out:
	admin__rollback(c);
	json_decref(hosts);
}

void admin__apps_delete(admin_ctx_t *c, const char *arg)
{
	char id[ADMIN_ID_MAX + 1];
	sqlite3_stmt *q = NULL;

	if (admin__begin(c) != 0)
		return;
	int r = admin__lookup(c, SQL_APP_ID, arg, id, sizeof(id));
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no app named \"%s\"", admin__echo(arg));
		goto out;
	}
	/* policies and hostnames go with it (ON DELETE CASCADE) */
	if (r != 0 || sqlite3_prepare_v2(c->db, "DELETE FROM apps WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto fail;
	if (admin__commit(c) != 0)
		goto out;
	c->resp->changed = true;
	admin__reply(c, 200, json_pack("{s:s}", "deleted", id));
	goto out;
fail:
	admin__store_error(c, "delete the app");
out:
	sqlite3_finalize(q);
	admin__rollback(c);
}

/* ---- policies ---- */

/* POLICY for the current row of q (SQL_POLICY_COLS). */
static json_t *policy_json(sqlite3_stmt *q)
{
	json_t *inc = admin__stored_array(sqlite3_column_text(q, 6));
	json_t *req = admin__stored_array(sqlite3_column_text(q, 7));
	json_t *exc = admin__stored_array(sqlite3_column_text(q, 8));
	if (!inc || !req || !exc) {
		json_decref(inc);
		json_decref(req);
		json_decref(exc);
		return NULL;
	}
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o}", "id", (const char *)sqlite3_column_text(q, 0),
	    "app_id", (const char *)sqlite3_column_text(q, 1), "app", (const char *)sqlite3_column_text(q, 2),
	    "name", (const char *)sqlite3_column_text(q, 3), "action",
	    (const char *)sqlite3_column_text(q, 4), "precedence", (json_int_t)sqlite3_column_int64(q, 5),
	    "include", inc, "require", req, "exclude", exc);
}

static void reply_policies(admin_ctx_t *c, json_t *arr)
{
	if (!arr) {
		admin__store_error(c, "list policies");
		return;
	}
	admin__reply(c, 200, json_pack("{s:o}", "policies", arr));
}

void admin__policies_list(admin_ctx_t *c, const char *arg)
{
	reply_policies(
	    c, admin__rows(c, SQL_POLICY_COLS " ORDER BY a.name, p.precedence, p.rowid", NULL, policy_json));
}

void admin__policies_list_app(admin_ctx_t *c, const char *arg)
{
	char id[ADMIN_ID_MAX + 1];
	int r = admin__lookup(c, SQL_APP_ID, arg, id, sizeof(id));
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no app named \"%s\"", admin__echo(arg));
		return;
	}
	if (r != 0) {
		admin__store_error(c, "find the app");
		return;
	}
	reply_policies(c,
		       admin__rows(c, SQL_POLICY_COLS " WHERE p.app_id = ?1 ORDER BY p.precedence, p.rowid",
				   id, policy_json));
}

/* Validates one selector list; an absent list becomes []. Named service
 * tokens are checked later, inside the transaction. */
static int selectors_get(admin_ctx_t *c, const char *key, json_t **out)
{
	char why[200];
	json_t *arr;
	if (admin__get_strings(c, key, ADMIN_LIST_MAX, &arr) != 0)
		return ERR_INVAL;
	for (size_t i = 0; arr && i < json_array_size(arr); i++) {
		const char *sel = json_string_value(json_array_get(arr, i));
		if (policy_selector_check(sel, why, sizeof(why)) != 0) {
			admin__error(c, 400, "bad selector in \"%s\": %s", key, why);
			return ERR_INVAL;
		}
	}
	*out = arr ? json_incref(arr) : json_array();
	return *out ? 0 : ERR_NOMEM;
}

/* 400 when a service-token=NAME selector names no existing token. */
static int tokens_exist(admin_ctx_t *c, json_t *const lists[3])
{
	char id[ADMIN_ID_MAX + 1];
	const char *prefix = "service-token=";
	size_t plen = strlen(prefix);
	for (int l = 0; l < 3; l++) {
		for (size_t i = 0; i < json_array_size(lists[l]); i++) {
			const char *sel = json_string_value(json_array_get(lists[l], i));
			if (strncmp(sel, prefix, plen) != 0 || strcmp(sel + plen, "any") == 0)
				continue;
			int r = admin__lookup(c, "SELECT client_id FROM service_tokens WHERE name = ?1",
					      sel + plen, id, sizeof(id));
			if (r == ERR_NOTFOUND) {
				admin__error(c, 400,
					     "no service token named \"%s\"; create it first (POST "
					     "/api/v1/service-tokens)",
					     sel + plen);
				return ERR_INVAL;
			}
			if (r != 0) {
				admin__store_error(c, "check service tokens");
				return r;
			}
		}
	}
	return 0;
}

/* The precedence after the app's last policy. */
static int next_precedence(admin_ctx_t *c, const char *app_id, int64_t *out)
{
	char text[32];
	int r = admin__lookup(c, "SELECT COALESCE(MAX(precedence), 0) + 1 FROM policies WHERE app_id = ?1",
			      app_id, text, sizeof(text));
	if (r != 0) {
		admin__store_error(c, "find the app's last policy");
		return r;
	}
	*out = strtoll(text, NULL, 10);
	if (*out > MAX_PRECEDENCE) {
		admin__error(
		    c, 400,
		    "the app's last policy has the highest precedence; give \"precedence\" explicitly");
		return ERR_INVAL;
	}
	return 0;
}

struct policy_in {
	const char *action;
	const char *name;
	json_t *lists[3]; /* include, require, exclude */
	int64_t precedence;
	bool has_precedence;
};

static int policy_insert(admin_ctx_t *c, const char *id, const char *app_id, const struct policy_in *in)
{
	sqlite3_stmt *q = NULL;
	char *text[3] = {NULL, NULL, NULL};
	int r = ERR_STORE;

	for (int i = 0; i < 3; i++)
		if (!(text[i] = json_dumps(in->lists[i], JSON_COMPACT)))
			goto out;
	if (sqlite3_prepare_v2(
		c->db,
		"INSERT INTO policies (id, app_id, name, action, precedence, include_json,"
		" require_json, exclude_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		-1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, in->action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, in->precedence);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_text(q, 6 + i, text[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)time(NULL));
	if (sqlite3_step(q) == SQLITE_DONE)
		r = 0;
out:
	if (r != 0)
		admin__store_error(c, "create the policy");
	sqlite3_finalize(q);
	for (int i = 0; i < 3; i++)
		free(text[i]);
	return r;
}

static int policy_input(admin_ctx_t *c, struct policy_in *in)
{
	static const char *const fields[] = {"action",	"name",	      "include", "require",
					     "exclude", "precedence", NULL};
	static const char *const keys[3] = {"include", "require", "exclude"};

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "action", &in->action) != 0 ||
	    admin__get_string(c, "name", &in->name) != 0)
		return ERR_INVAL;
	if (!in->action || policy_action_parse(in->action) < 0) {
		admin__error(c, 400, "\"action\" must be one of allow, deny, bypass, service_auth");
		return ERR_INVAL;
	}
	if (!in->name)
		in->name = in->action;
	if (admin__check_name(c, "name", in->name) != 0 ||
	    admin__get_int(c, "precedence", 0, MAX_PRECEDENCE, &in->has_precedence, &in->precedence) != 0)
		return ERR_INVAL;
	for (int i = 0; i < 3; i++) {
		int r = selectors_get(c, keys[i], &in->lists[i]);
		if (r == ERR_NOMEM)
			admin__error(c, 500, "out of memory");
		if (r != 0)
			return r;
	}
	if (policy_action_parse(in->action) == POLICY_SERVICE_AUTH && json_array_size(in->lists[0]) == 0) {
		admin__error(c, 400,
			     "a service_auth policy needs at least one include selector, e.g. "
			     "\"service-token=NAME\"");
		return ERR_INVAL;
	}
	return 0;
}

void admin__policies_create(admin_ctx_t *c, const char *arg)
{
	struct policy_in in = {0};
	char app_id[ADMIN_ID_MAX + 1], id[37];
	json_t *arr = NULL;
	int r;

	if (policy_input(c, &in) != 0)
		goto out;
	if (admin__uuid4(id) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	if (admin__begin(c) != 0)
		goto out;
	if ((r = admin__lookup(c, SQL_APP_ID, arg, app_id, sizeof(app_id))) != 0) {
		if (r == ERR_NOTFOUND)
			admin__error(c, 404, "no app named \"%s\"", admin__echo(arg));
		else
			admin__store_error(c, "find the app");
		goto out;
	}
	if (tokens_exist(c, in.lists) != 0 ||
	    (!in.has_precedence && next_precedence(c, app_id, &in.precedence)) ||
	    policy_insert(c, id, app_id, &in) != 0 || admin__commit(c) != 0)
		goto out;
	c->resp->changed = true;
	arr = admin__rows(c, SQL_POLICY_COLS " WHERE p.id = ?1", id, policy_json);
	if (!arr || json_array_size(arr) != 1) {
		admin__store_error(c, "read back the new policy");
		goto out;
	}
	admin__reply(c, 201, json_incref(json_array_get(arr, 0)));
out:
	admin__rollback(c);
	json_decref(arr);
	for (int i = 0; i < 3; i++)
		json_decref(in.lists[i]);
}

void admin__policies_delete(admin_ctx_t *c, const char *arg)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(c->db, "DELETE FROM policies WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto fail;
	if (sqlite3_changes(c->db) == 0) {
		admin__error(c, 404, "no policy with id \"%s\"", admin__echo(arg));
		goto out;
	}
	c->resp->changed = true;
	admin__reply(c, 200, json_pack("{s:s}", "deleted", arg));
	goto out;
fail:
	admin__store_error(c, "delete the policy");
out:
	sqlite3_finalize(q);
}
