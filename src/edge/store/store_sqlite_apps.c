/* store_sqlite_apps.c — the SQLite engine's operations on applications and
 * their policies. Every write checks and writes inside one IMMEDIATE
 * transaction (store__sq_begin), so a conflict is decided against the state
 * the write would land in, and reads the new record back before committing. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "edge/store/store_sqlite_int.h"

#define SQL_APP_ID "SELECT id FROM apps WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1"

/* The id of the app named by id or name; ERR_NOTFOUND names it in why. */
static int app_id(sq_t *s, const char *app, char id[STORE_ID_MAX + 1], store_why_t *why)
{
	int r = store__sq_lookup(s, SQL_APP_ID, app, id, STORE_ID_MAX + 1);
	if (r == ERR_NOTFOUND)
		store__set_why(why, STORE_APP, app, NULL);
	return r;
}

/* ---- applications ---- */

int store__sq_app_list(store_t *st, store_app_t **out, size_t *n)
{
	return store__sq_apps(store__sq(st), NULL, out, n);
}

/* ERR_EXISTS when the name or one of the hostnames is taken; ERR_NOTFOUND
 * when a provider it names does not exist. */
static int app_free_to_create(sq_t *s, const store_app_t *in, store_why_t *why)
{
	char owner[STORE_NAME_MAX + 1];
	int r = store__sq_lookup(s, "SELECT id FROM apps WHERE name = ?1", in->name, owner, sizeof(owner));
	if (r == 0) {
		store__set_why(why, STORE_APP, in->name, NULL);
		return ERR_EXISTS;
	}
	for (size_t i = 0; r == ERR_NOTFOUND && i < in->hostnames.n; i++) {
		const char *h = in->hostnames.v[i];
		r = store__sq_lookup(s,
				     "SELECT a.name FROM app_hostnames h JOIN apps a ON a.id = h.app_id"
				     " WHERE h.hostname = ?1",
				     h, owner, sizeof(owner));
		if (r == 0) {
			store__set_why(why, STORE_HOSTNAME, h, owner);
			return ERR_EXISTS;
		}
	}
	if (r != ERR_NOTFOUND)
		return r;
	for (size_t i = 0; i < in->idps.n; i++) {
		r = store__sq_lookup(s, "SELECT name FROM idps WHERE name = ?1", in->idps.v[i], owner,
				     sizeof(owner));
		if (r == ERR_NOTFOUND)
			store__set_why(why, STORE_IDP, in->idps.v[i], NULL);
		if (r != 0)
			return r;
	}
	return 0;
}

static int app_insert(sq_t *s, const store_app_t *in)
{
	sqlite3_stmt *qa = NULL, *qh = NULL, *qi = NULL;
	int r;

	if ((r = store__sq_prepare(s,
				   "INSERT INTO apps (id, name, aud, session_duration, created_at)"
				   " VALUES (?1, ?2, ?3, ?4, ?5)",
				   &qa)) != 0 ||
	    (r = store__sq_prepare(s, "INSERT INTO app_hostnames (hostname, app_id) VALUES (?1, ?2)", &qh)) !=
		0 ||
	    (r = store__sq_prepare(s, "INSERT OR IGNORE INTO app_idps (app_id, idp_name) VALUES (?1, ?2)",
				   &qi)) != 0)
		goto out;
	sqlite3_bind_text(qa, 1, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(qa, 2, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(qa, 3, in->aud, -1, SQLITE_STATIC);
	sqlite3_bind_int64(qa, 4, in->session_duration);
	sqlite3_bind_int64(qa, 5, (sqlite3_int64)time(NULL));
	if (sqlite3_step(qa) != SQLITE_DONE) {
		r = store__sq_fail(s);
		goto out;
	}
	for (size_t i = 0; i < in->hostnames.n; i++) {
		sqlite3_reset(qh);
		sqlite3_bind_text(qh, 1, in->hostnames.v[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(qh, 2, in->id, -1, SQLITE_STATIC);
		if (sqlite3_step(qh) != SQLITE_DONE) {
			r = store__sq_fail(s);
			goto out;
		}
	}
	for (size_t i = 0; i < in->idps.n; i++) {
		sqlite3_reset(qi);
		sqlite3_bind_text(qi, 1, in->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(qi, 2, in->idps.v[i], -1, SQLITE_STATIC);
		if (sqlite3_step(qi) != SQLITE_DONE) {
			r = store__sq_fail(s);
			goto out;
		}
	}
out:
	sqlite3_finalize(qa);
	sqlite3_finalize(qh);
	sqlite3_finalize(qi);
	return r;
}

/* Reads back the one app with id into out (moving its hostnames). */
static int app_read(sq_t *s, const char *id, store_app_t *out)
{
	store_app_t *v = NULL;
	size_t n = 0;
	int r = store__sq_apps(s, id, &v, &n);
	if (r == 0 && n != 1) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg), "the new app cannot be read back");
		r = ERR_STORE;
	}
	if (r == 0) {
		*out = v[0];
		memset(&v[0], 0, sizeof(v[0]));
	}
	store_apps_free(v, n);
	return r;
}

int store__sq_app_create(store_t *st, const store_app_t *in, store_app_t *out, store_why_t *why)
{
	sq_t *s = store__sq(st);
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	if ((r = app_free_to_create(s, in, why)) == 0 && (r = app_insert(s, in)) == 0)
		r = app_read(s, in->id, out);
	if ((r = store__sq_end(s, r, true)) != 0)
		store_app_clear(out);
	return r;
}

int store__sq_app_delete(store_t *st, const char *app, char id[STORE_ID_MAX + 1], store_why_t *why)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	/* policies and hostnames go with it (ON DELETE CASCADE) */
	if ((r = app_id(s, app, id, why)) != 0 ||
	    (r = store__sq_prepare(s, "DELETE FROM apps WHERE id = ?1", &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	return store__sq_end(s, r, true);
}

/* ---- policies ---- */

int store__sq_policy_list(store_t *st, const char *app, store_policy_t **out, size_t *n, store_why_t *why)
{
	sq_t *s = store__sq(st);
	char id[STORE_ID_MAX + 1];
	int r;

	if (!app)
		return store__sq_policies(s, NULL, NULL, out, n);
	if ((r = app_id(s, app, id, why)) != 0)
		return r;
	return store__sq_policies(s, id, NULL, out, n);
}

/* ERR_NOTFOUND (naming it) when a token in tokens does not exist. */
static int tokens_exist(sq_t *s, const store_strv_t *tokens, store_why_t *why)
{
	char id[STORE_ID_MAX + 1];
	for (size_t i = 0; tokens && i < tokens->n; i++) {
		int r = store__sq_lookup(s, "SELECT client_id FROM service_tokens WHERE name = ?1",
					 tokens->v[i], id, sizeof(id));
		if (r == ERR_NOTFOUND)
			store__set_why(why, STORE_TOKEN, tokens->v[i], NULL);
		if (r != 0)
			return r;
	}
	return 0;
}

/* The precedence after the app's last policy; ERR_TOOBIG past the bound. */
static int next_precedence(sq_t *s, const char *app, int64_t *out)
{
	char text[32];
	int r = store__sq_lookup(s, "SELECT COALESCE(MAX(precedence), 0) + 1 FROM policies WHERE app_id = ?1",
				 app, text, sizeof(text));
	if (r != 0)
		return r;
	*out = strtoll(text, NULL, 10);
	return *out > STORE_PRECEDENCE_MAX ? ERR_TOOBIG : 0;
}

static int policy_insert(sq_t *s, const char *app, const store_policy_t *in, int64_t precedence)
{
	static const char *const actions[] = {[POLICY_ALLOW] = "allow",
					      [POLICY_DENY] = "deny",
					      [POLICY_BYPASS] = "bypass",
					      [POLICY_SERVICE_AUTH] = "service_auth"};
	const store_strv_t *lists[3] = {&in->include, &in->require, &in->exclude};
	sqlite3_stmt *q = NULL;
	char *text[3] = {NULL, NULL, NULL};
	int r = ERR_NOMEM;

	if (in->action < POLICY_ALLOW || in->action > POLICY_SERVICE_AUTH)
		return ERR_INVAL;
	for (int i = 0; i < 3; i++) {
		json_t *arr = json_array();
		for (size_t j = 0; arr && j < lists[i]->n; j++)
			if (json_array_append_new(arr, json_string(lists[i]->v[j])) != 0) {
				json_decref(arr);
				arr = NULL;
			}
		text[i] = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
		json_decref(arr);
		if (!text[i])
			goto out;
	}
	/* seq: the creation order, which breaks ties in precedence */
	if ((r = store__sq_prepare(
		 s,
		 "INSERT INTO policies (id, app_id, name, action, precedence, include_json,"
		 " require_json, exclude_json, created_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
		 " ?7, ?8, ?9, (SELECT COALESCE(MAX(seq), 0) + 1 FROM policies))",
		 &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, app, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, actions[in->action], -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, precedence);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_text(q, 6 + i, text[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
out:
	sqlite3_finalize(q);
	for (int i = 0; i < 3; i++)
		free(text[i]);
	return r;
}

static int policy_read(sq_t *s, const char *id, store_policy_t *out)
{
	store_policy_t *v = NULL;
	size_t n = 0;
	int r = store__sq_policies(s, NULL, id, &v, &n);
	if (r == 0 && n != 1) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg), "the new policy cannot be read back");
		r = ERR_STORE;
	}
	if (r == 0) {
		*out = v[0];
		memset(&v[0], 0, sizeof(v[0]));
	}
	store_policies_free(v, n);
	return r;
}

int store__sq_policy_add(store_t *st, const store_policy_t *in, const store_strv_t *tokens,
			 store_policy_t *out, store_why_t *why)
{
	sq_t *s = store__sq(st);
	char app[STORE_ID_MAX + 1];
	int64_t precedence = in->precedence;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	if ((r = app_id(s, in->app_id, app, why)) != 0 || (r = tokens_exist(s, tokens, why)) != 0 ||
	    (precedence < 0 && (r = next_precedence(s, app, &precedence)) != 0) ||
	    (r = policy_insert(s, app, in, precedence)) != 0)
		goto out;
	r = policy_read(s, in->id, out);
out:
	if ((r = store__sq_end(s, r, true)) != 0)
		store_policy_clear(out);
	return r;
}

int store__sq_policy_delete(store_t *st, const char *id, store_why_t *why)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = store__sq_begin(s)) != 0)
		return r;
	if ((r = store__sq_prepare(s, "DELETE FROM policies WHERE id = ?1", &q)) != 0)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		r = store__sq_fail(s);
	} else if (sqlite3_changes(s->db) == 0) {
		store__set_why(why, STORE_POLICY, id, NULL);
		r = ERR_NOTFOUND;
	}
out:
	sqlite3_finalize(q);
	return store__sq_end(s, r, true);
}
