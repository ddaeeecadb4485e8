/* model.c — loads the edge's configuration snapshot from the store, and the
 * lookups the event loop runs against it.
 *
 * model_load runs on a worker thread inside one read transaction, so the
 * snapshot is consistent even while the admin API writes. Once built, a
 * model_t is never modified: the loop thread reads it without locks. */
#include "edge/model.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/store.h"

/* Copies a TEXT column; NULL columns become "" so lookups never meet NULL. */
static char *col_str(sqlite3_stmt *stmt, int i)
{
	const unsigned char *t = sqlite3_column_text(stmt, i);
	return strdup(t ? (const char *)t : "");
}

static int col_hash(sqlite3_stmt *stmt, int i, uint8_t out[32])
{
	const void *p = sqlite3_column_blob(stmt, i);
	if (!p || sqlite3_column_bytes(stmt, i) != 32)
		return ERR_STORE;
	memcpy(out, p, 32);
	return 0;
}

/* Steps stmt: 1 for a row, 0 when done, ERR_STORE on failure. */
static int step(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : ERR_STORE;
}

/* Grows *arr (of elem-sized items) so that index n is writable. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return ERR_NOMEM;
	memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
	*arr = p;
	*cap = ncap;
	return 0;
}

static void free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Parses a stored selector list (a JSON array of strings). */
static int parse_strv(const unsigned char *text, char ***out, size_t *nout)
{
	json_t *arr = json_loads(text ? (const char *)text : "[]", JSON_REJECT_DUPLICATES, NULL);
	char **v = NULL;
	size_t n = 0;
	int r = ERR_STORE;

	if (!json_is_array(arr))
		goto out;
	n = json_array_size(arr);
	if (n && !(v = calloc(n, sizeof(*v)))) {
		r = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s)
			goto out;
		if (!(v[i] = strdup(s))) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	*out = v;
	*nout = n;
	v = NULL;
	r = 0;
out:
	free_strv(v, n);
	json_decref(arr);
	return r;
}

static int action_from_text(const unsigned char *t)
{
	static const char *const names[] = {"allow", "deny", "bypass", "service_auth"};
	static const int actions[] = {POLICY_ALLOW, POLICY_DENY, POLICY_BYPASS, POLICY_SERVICE_AUTH};
	for (size_t i = 0; t && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp((const char *)t, names[i]) == 0)
			return actions[i];
	return -1;
}

static void policy_clear(model_policy_t *p)
{
	free(p->id);
	free(p->name);
	free_strv(p->include, p->ninclude);
	free_strv(p->require, p->nrequire);
	free_strv(p->exclude, p->nexclude);
}

static void app_clear(model_app_t *a)
{
	free(a->id);
	free(a->name);
	free(a->aud);
	free_strv(a->hostnames, a->nhostnames);
	for (size_t i = 0; i < a->npolicies; i++)
		policy_clear(&a->policies[i]);
	free(a->policies);
}

static int load_policy_row(sqlite3_stmt *q, model_policy_t *p)
{
	int r;
	int action = action_from_text(sqlite3_column_text(q, 2));
	if (action < 0)
		return ERR_STORE;
	p->action = (enum policy_action)action;
	p->precedence = sqlite3_column_int(q, 3);
	if (!(p->id = col_str(q, 0)) || !(p->name = col_str(q, 1)))
		return ERR_NOMEM;
	if ((r = parse_strv(sqlite3_column_text(q, 4), &p->include, &p->ninclude)) != 0 ||
	    (r = parse_strv(sqlite3_column_text(q, 5), &p->require, &p->nrequire)) != 0 ||
	    (r = parse_strv(sqlite3_column_text(q, 6), &p->exclude, &p->nexclude)) != 0)
		return r;
	return 0;
}

/* Loads one app's hostnames and its policies, the latter ordered by
 * precedence (ties by creation order, so evaluation order is stable). */
static int load_app_children(sqlite3_stmt *qh, sqlite3_stmt *qp, model_app_t *a)
{
	size_t cap = 0;
	int r;

	sqlite3_reset(qh);
	sqlite3_bind_text(qh, 1, a->id, -1, SQLITE_STATIC);
	while ((r = step(qh)) == 1) {
		if ((r = grow((void **)&a->hostnames, &cap, a->nhostnames, sizeof(char *))) != 0)
			return r;
		if (!(a->hostnames[a->nhostnames] = col_str(qh, 0)))
			return ERR_NOMEM;
		a->nhostnames++;
	}
	if (r < 0)
		return r;

	cap = 0;
	sqlite3_reset(qp);
	sqlite3_bind_text(qp, 1, a->id, -1, SQLITE_STATIC);
	while ((r = step(qp)) == 1) {
		if ((r = grow((void **)&a->policies, &cap, a->npolicies, sizeof(model_policy_t))) != 0)
			return r;
		/* counted before filling so a half-built policy is still freed */
		model_policy_t *p = &a->policies[a->npolicies++];
		if ((r = load_policy_row(qp, p)) != 0)
			return r;
	}
	return r;
}

static int load_apps(sqlite3 *db, model_t *m)
{
	sqlite3_stmt *qa = NULL, *qh = NULL, *qp = NULL;
	size_t cap = 0;
	int r = ERR_STORE;

	if (sqlite3_prepare_v2(db, "SELECT id, name, aud, session_duration FROM apps ORDER BY name", -1, &qa,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT hostname FROM app_hostnames WHERE app_id = ?1 ORDER BY hostname",
			       -1, &qh, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT id, name, action, precedence, include_json, require_json, exclude_json"
			       " FROM policies WHERE app_id = ?1 ORDER BY precedence, rowid",
			       -1, &qp, NULL) != SQLITE_OK)
		goto out;
	while ((r = step(qa)) == 1) {
		if ((r = grow((void **)&m->apps, &cap, m->napps, sizeof(model_app_t))) != 0)
			goto out;
		model_app_t *a = &m->apps[m->napps++];
		a->session_duration = sqlite3_column_int64(qa, 3);
		if (!(a->id = col_str(qa, 0)) || !(a->name = col_str(qa, 1)) || !(a->aud = col_str(qa, 2))) {
			r = ERR_NOMEM;
			goto out;
		}
		if ((r = load_app_children(qh, qp, a)) != 0)
			goto out;
	}
out:
	sqlite3_finalize(qa);
	sqlite3_finalize(qh);
	sqlite3_finalize(qp);
	return r;
}

static int load_tokens(sqlite3 *db, model_t *m)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int r = ERR_STORE;

	if (sqlite3_prepare_v2(
		db,
		"SELECT client_id, name, secret_hash, created_at, expires_at, revoked_at IS NOT NULL"
		" FROM service_tokens ORDER BY name",
		-1, &q, NULL) != SQLITE_OK)
		goto out;
	while ((r = step(q)) == 1) {
		if ((r = grow((void **)&m->tokens, &cap, m->ntokens, sizeof(model_token_t))) != 0)
			goto out;
		model_token_t *t = &m->tokens[m->ntokens++];
		t->created_at = sqlite3_column_int64(q, 3);
		t->expires_at = sqlite3_column_int64(q, 4);
		t->revoked = sqlite3_column_int(q, 5) != 0;
		if (!(t->id = col_str(q, 0)) || !(t->name = col_str(q, 1))) {
			r = ERR_NOMEM;
			goto out;
		}
		if ((r = col_hash(q, 2, t->secret_hash)) != 0)
			goto out;
	}
out:
	sqlite3_finalize(q);
	return r;
}

static int load_tunnels(sqlite3 *db, model_t *m)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int r = ERR_STORE;

	if (sqlite3_prepare_v2(db, "SELECT id, name, secret_hash, created_at FROM tunnels ORDER BY name", -1,
			       &q, NULL) != SQLITE_OK)
		goto out;
	while ((r = step(q)) == 1) {
		if ((r = grow((void **)&m->tunnels, &cap, m->ntunnels, sizeof(model_tunnel_t))) != 0)
			goto out;
		model_tunnel_t *t = &m->tunnels[m->ntunnels++];
		t->created_at = sqlite3_column_int64(q, 3);
		if (!(t->id = col_str(q, 0)) || !(t->name = col_str(q, 1))) {
			r = ERR_NOMEM;
			goto out;
		}
		if ((r = col_hash(q, 2, t->secret_hash)) != 0)
			goto out;
	}
out:
	sqlite3_finalize(q);
	return r;
}

static int load_routes(sqlite3 *db, model_t *m)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int r = ERR_STORE;

	if (sqlite3_prepare_v2(db, "SELECT hostname, tunnel_id FROM routes ORDER BY hostname", -1, &q,
			       NULL) != SQLITE_OK)
		goto out;
	while ((r = step(q)) == 1) {
		if ((r = grow((void **)&m->routes, &cap, m->nroutes, sizeof(model_route_t))) != 0)
			goto out;
		model_route_t *rt = &m->routes[m->nroutes++];
		if (!(rt->hostname = col_str(q, 0)) || !(rt->tunnel_id = col_str(q, 1))) {
			r = ERR_NOMEM;
			goto out;
		}
	}
out:
	sqlite3_finalize(q);
	return r;
}

int model_load(struct store *st, model_t **out)
{
	sqlite3 *db = store_db(st);
	model_t *m = NULL;
	int r;

	*out = NULL;
	if (!(m = calloc(1, sizeof(*m))))
		return ERR_NOMEM;
	/* one read transaction: WAL gives it a fixed snapshot across all the SELECTs */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		r = ERR_STORE;
		goto out;
	}
	if ((r = load_apps(db, m)) != 0 || (r = load_tokens(db, m)) != 0 || (r = load_tunnels(db, m)) != 0 ||
	    (r = load_routes(db, m)) != 0)
		goto out;
	*out = m;
	m = NULL;
out:
	if (r == ERR_STORE)
		log_error("model: loading from the store failed: %s", sqlite3_errmsg(db));
	if (sqlite3_get_autocommit(db) == 0)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	model_free(m);
	return r;
}

void model_free(model_t *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->napps; i++)
		app_clear(&m->apps[i]);
	free(m->apps);
	for (size_t i = 0; i < m->ntokens; i++) {
		free(m->tokens[i].id);
		free(m->tokens[i].name);
	}
	free(m->tokens);
	for (size_t i = 0; i < m->ntunnels; i++) {
		free(m->tunnels[i].id);
		free(m->tunnels[i].name);
	}
	free(m->tunnels);
	for (size_t i = 0; i < m->nroutes; i++) {
		free(m->routes[i].hostname);
		free(m->routes[i].tunnel_id);
	}
	free(m->routes);
	free(m);
}

/* Each lookup is one scan function, so a hash index can replace the body
 * without touching callers. */

const model_app_t *model_app_by_host(const model_t *m, const char *host)
{
	if (!m || !host)
		return NULL;
	for (size_t i = 0; i < m->napps; i++)
		for (size_t j = 0; j < m->apps[i].nhostnames; j++)
			if (strcmp(m->apps[i].hostnames[j], host) == 0)
				return &m->apps[i];
	return NULL;
}

const model_app_t *model_app_by_name(const model_t *m, const char *name_or_id)
{
	if (!m || !name_or_id)
		return NULL;
	/* ids first: an id names exactly one app even if some app is named like an id */
	for (size_t i = 0; i < m->napps; i++)
		if (strcmp(m->apps[i].id, name_or_id) == 0)
			return &m->apps[i];
	for (size_t i = 0; i < m->napps; i++)
		if (strcmp(m->apps[i].name, name_or_id) == 0)
			return &m->apps[i];
	return NULL;
}

const model_token_t *model_token_by_id(const model_t *m, const char *client_id)
{
	if (!m || !client_id)
		return NULL;
	for (size_t i = 0; i < m->ntokens; i++)
		if (strcmp(m->tokens[i].id, client_id) == 0)
			return &m->tokens[i];
	return NULL;
}

const model_token_t *model_token_by_name(const model_t *m, const char *name)
{
	if (!m || !name)
		return NULL;
	for (size_t i = 0; i < m->ntokens; i++)
		if (strcmp(m->tokens[i].name, name) == 0)
			return &m->tokens[i];
	return NULL;
}

const model_tunnel_t *model_tunnel_by_id(const model_t *m, const char *id)
{
	if (!m || !id)
		return NULL;
	for (size_t i = 0; i < m->ntunnels; i++)
		if (strcmp(m->tunnels[i].id, id) == 0)
			return &m->tunnels[i];
	return NULL;
}

const model_route_t *model_route_by_host(const model_t *m, const char *host)
{
	if (!m || !host)
		return NULL;
	for (size_t i = 0; i < m->nroutes; i++)
		if (strcmp(m->routes[i].hostname, host) == 0)
			return &m->routes[i];
	return NULL;
}

/* 0 on success; out is zeroed on failure. */
static int hash_secret(const char *secret, size_t len, uint8_t out[32])
{
	unsigned int n = 0;
	if (EVP_Digest(secret, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		memset(out, 0, 32);
		return ERR_INVAL;
	}
	return 0;
}

void model_hash_secret(const char *secret, size_t len, uint8_t out[32])
{
	(void)hash_secret(secret, len, out);
}

bool model_secret_ok(const uint8_t hash[32], const char *secret, size_t len)
{
	uint8_t h[32];
	bool ok = false;
	/* a failed digest must never compare equal to anything */
	if (!hash || !secret || hash_secret(secret, len, h) != 0)
		goto out;
	ok = CRYPTO_memcmp(h, hash, sizeof(h)) == 0;
out:
	OPENSSL_cleanse(h, sizeof(h));
	return ok;
}
