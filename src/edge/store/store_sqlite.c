/* store_sqlite.c — the SQLite engine: open, migrate, the change counter,
 * the snapshot the model is built from, and the engine's table of
 * operations (the operations themselves are in store_sqlite_apps.c and
 * store_sqlite_creds.c).
 *
 * Blocking; never call from the event loop thread. The file is created 0600
 * before SQLite touches it (SQLite gives -wal/-shm the same mode). It holds
 * SHA-256 hashes of credentials and argon2id hashes of passwords, never the
 * secrets themselves; the exceptions are the edge's own token-signing keys
 * (signing_keys), which every edge sharing the store must be able to use,
 * and OIDC client secrets (idps), which the edge must send to providers. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/store/store_sqlite_int.h"

#define BUSY_TIMEOUT_MS 5000

/* Migration n (1-based) is migrations[n - 1]. Append only: a released entry
 * never changes, because databases in the field already ran it. */
static const char *const migrations[] = {
    /* 1: applications, policies, service tokens, tunnels, routes */
    "CREATE TABLE apps ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " aud TEXT NOT NULL UNIQUE,"
    " session_duration INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE app_hostnames ("
    " hostname TEXT PRIMARY KEY,"
    " app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE"
    ") STRICT;"
    "CREATE INDEX app_hostnames_app ON app_hostnames(app_id);"
    "CREATE TABLE policies ("
    " id TEXT PRIMARY KEY,"
    " app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " action TEXT NOT NULL CHECK (action IN ('allow', 'deny', 'bypass', 'service_auth')),"
    " precedence INTEGER NOT NULL,"
    " include_json TEXT NOT NULL DEFAULT '[]',"
    " require_json TEXT NOT NULL DEFAULT '[]',"
    " exclude_json TEXT NOT NULL DEFAULT '[]',"
    " created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX policies_app ON policies(app_id, precedence);"
    "CREATE TABLE service_tokens ("
    " client_id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0,"
    " revoked_at INTEGER"
    ") STRICT;"
    "CREATE TABLE tunnels ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),"
    " created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE routes ("
    " hostname TEXT PRIMARY KEY,"
    " tunnel_id TEXT NOT NULL REFERENCES tunnels(id) ON DELETE CASCADE"
    ") STRICT;"
    "CREATE INDEX routes_tunnel ON routes(tunnel_id);",
    /* 2: the change counter every write transaction moves (store_change_version),
     * and a creation sequence for policies, so ties in precedence keep their
     * creation order without relying on rowid (existing rows keep theirs) */
    "CREATE TABLE meta ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " change_version INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO meta (id, change_version) VALUES (1, 0);"
    "ALTER TABLE policies ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE policies SET seq = rowid;"
    "CREATE INDEX policies_order ON policies(app_id, precedence, seq);",
    /* 3: the audit log (edge/audit/audit.c); id orders records as written */
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL,"
    " edge TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('session', 'refusal', 'admin')),"
    " event TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " app TEXT NOT NULL,"
    " hostname TEXT NOT NULL,"
    " client TEXT NOT NULL,"
    " what TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " session TEXT NOT NULL,"
    " bytes_up INTEGER NOT NULL,"
    " bytes_down INTEGER NOT NULL,"
    " duration_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX audit_time ON audit(time_ms);",
    /* 4: single sign-on: users of the built-in identity provider, the edge's
     * token-signing keys (seq orders them newest first even within a second)
     * and per-email session revocations; the audit log takes login records
     * (SQLite cannot change a CHECK: the table is copied) */
    "CREATE TABLE audit4 ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL,"
    " edge TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('session', 'refusal', 'admin', 'login')),"
    " event TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " app TEXT NOT NULL,"
    " hostname TEXT NOT NULL,"
    " client TEXT NOT NULL,"
    " what TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " session TEXT NOT NULL,"
    " bytes_up INTEGER NOT NULL,"
    " bytes_down INTEGER NOT NULL,"
    " duration_ms INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO audit4 SELECT * FROM audit;"
    "DROP TABLE audit;"
    "ALTER TABLE audit4 RENAME TO audit;"
    "CREATE INDEX audit_time ON audit(time_ms);"
    "CREATE TABLE users ("
    " email TEXT PRIMARY KEY,"
    " pw_hash TEXT NOT NULL,"
    " created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE signing_keys ("
    " seq INTEGER PRIMARY KEY,"
    " kid TEXT NOT NULL UNIQUE CHECK (length(kid) = 32),"
    " private_pem TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " retired_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE TABLE revocations ("
    " email TEXT PRIMARY KEY,"
    " revoked_at INTEGER NOT NULL"
    ") STRICT;",
    /* 5: OpenID Connect providers (the client secret in the clear: the edge
     * sends it to the provider) and which of them each app accepts (none
     * listed: any). A provider an app names cannot be deleted (no cascade). */
    "CREATE TABLE idps ("
    " name TEXT PRIMARY KEY,"
    " issuer TEXT NOT NULL,"
    " client_id TEXT NOT NULL,"
    " client_secret TEXT NOT NULL,"
    " ca_pem TEXT,"
    " groups_claim TEXT NOT NULL,"
    " scopes TEXT NOT NULL,"
    " created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE app_idps ("
    " app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
    " idp_name TEXT NOT NULL REFERENCES idps(name),"
    " PRIMARY KEY (app_id, idp_name)"
    ") STRICT;"
    "CREATE INDEX app_idps_idp ON app_idps(idp_name);",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Creates the file 0600 before SQLite does, so it is never briefly readable
 * by others, and tightens an existing file that is. */
static int create_private(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return ERR_STORE;
	}
	int r = 0;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		set_err(err, errlen, "%s is not a regular file", path);
		r = ERR_STORE;
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		log_warn("store: %s was readable by others; setting mode 0600", path);
		if (fchmod(fd, 0600) != 0) {
			set_err(err, errlen, "cannot chmod 0600 %s: %s", path, strerror(errno));
			r = ERR_STORE;
		}
	}
out:
	close(fd);
	return r;
}

static int read_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *stmt = NULL;
	int r = ERR_STORE;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(stmt) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int(stmt, 0);
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
}

/* Applies every pending migration in one transaction: a crash leaves the
 * database at the old version, never half-migrated. */
static int migrate(sq_t *s, char *err, size_t errlen)
{
	sqlite3 *db = s->db;
	char sql[64];
	int r = ERR_STORE;
	int v = 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errlen, "cannot start migration: %s", sqlite3_errmsg(db));
		return ERR_STORE;
	}
	if (read_version(db, &v) != 0) {
		set_err(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (v > NMIGRATIONS) {
		set_err(err, errlen,
			"database schema version %d is newer than this burrow (%d); upgrade burrow", v,
			NMIGRATIONS);
		goto out;
	}
	for (int i = v; i < NMIGRATIONS; i++) {
		if (sqlite3_exec(db, migrations[i], NULL, NULL, NULL) != SQLITE_OK) {
			set_err(err, errlen, "migration %d failed: %s", i + 1, sqlite3_errmsg(db));
			goto out;
		}
	}
	if (v < NMIGRATIONS) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", NMIGRATIONS);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			set_err(err, errlen, "cannot record schema version: %s", sqlite3_errmsg(db));
			goto out;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errlen, "cannot commit migration: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (v < NMIGRATIONS)
		log_info("store: schema migrated from version %d to %d", v, NMIGRATIONS);
	s->base.schema_version = NMIGRATIONS;
	r = 0;
out:
	if (r != 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int configure(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	int r = ERR_STORE;

	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errlen, "cannot enable foreign keys: %s", sqlite3_errmsg(db));
		goto out;
	}
	/* journal_mode answers with the mode in effect; anything but wal means it was refused */
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		set_err(err, errlen, "cannot set WAL mode: %s", sqlite3_errmsg(db));
		goto out;
	}
	const unsigned char *mode = sqlite3_column_text(stmt, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		set_err(err, errlen, "database refused WAL mode (got %s)",
			mode ? (const char *)mode : "nothing");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(stmt);
	return r;
}

static const store_ops_t sqlite_ops;
static void sqlite_close(store_t *st);

int store__sqlite_open(const char *path, store_t **out, char *err, size_t errlen)
{
	sq_t *s = NULL;
	int r;

	*out = NULL;
	set_err(err, errlen, "unknown error");
	if ((r = create_private(path, err, errlen)) != 0)
		return r;
	if (!(s = calloc(1, sizeof(*s)))) {
		set_err(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	s->base.ops = &sqlite_ops;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		set_err(err, errlen, "cannot open database %s: %s", path,
			s->db ? sqlite3_errmsg(s->db) : "out of memory");
		r = ERR_STORE;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if ((r = configure(s->db, err, errlen)) != 0)
		goto out;
	if ((r = migrate(s, err, errlen)) != 0)
		goto out;
	set_err(err, errlen, "ok");
	*out = &s->base;
	s = NULL;
out:
	if (s)
		sqlite_close(&s->base);
	return r;
}

static void sqlite_close(store_t *st)
{
	sq_t *s = store__sq(st);
	/* close_v2 defers the close until any forgotten statement is finalised instead of failing */
	sqlite3_close_v2(s->db);
	free(s);
}

static struct sqlite3 *sqlite_db(store_t *st)
{
	return store__sq(st)->db;
}

static int read_change_version(sq_t *s, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(s, "SELECT change_version FROM meta WHERE id = 1", &q);
	if (r == 0 && sqlite3_step(q) == SQLITE_ROW)
		*out = sqlite3_column_int64(q, 0);
	else if (r == 0)
		r = store__sq_fail(s);
	sqlite3_finalize(q);
	return r;
}

static int sqlite_change_version(store_t *st, int64_t *out)
{
	return read_change_version(store__sq(st), out);
}

static int sqlite_snapshot(store_t *st, store_snapshot_t *o)
{
	sq_t *s = store__sq(st);
	int r;

	/* one read transaction: WAL gives it a fixed snapshot across all the SELECTs */
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return store__sq_fail(s);
	if ((r = read_change_version(s, &o->version)) != 0 ||
	    (r = store__sq_apps(s, NULL, &o->apps, &o->napps)) != 0 ||
	    (r = store__sq_policies(s, NULL, NULL, &o->policies, &o->npolicies)) != 0 ||
	    (r = store__sq_tokens(s, NULL, &o->tokens, &o->ntokens)) != 0 ||
	    (r = store__sq_tunnels(s, NULL, &o->tunnels, &o->ntunnels)) != 0 ||
	    (r = store__sq_routes(s, NULL, &o->routes, &o->nroutes)) != 0 ||
	    (r = store__sq_users(s, true, NULL, &o->users, &o->nusers)) != 0 ||
	    (r = store__sq_keys(s, true, &o->keys, &o->nkeys)) != 0 ||
	    (r = store__sq_revocations(s, &o->revocations, &o->nrevocations)) != 0 ||
	    (r = store__sq_idps(s, true, NULL, &o->idps, &o->nidps)) != 0)
		log_error("store: loading the configuration failed: %s", store_errmsg(st));
	if (sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return r;
}

static const store_ops_t sqlite_ops = {
    .close = sqlite_close,
    .db = sqlite_db,
    .change_version = sqlite_change_version,
    .audit_append = store__sq_audit_append,
    .audit_prune = store__sq_audit_prune,
    .audit_query = store__sq_audit_query,
    .snapshot = sqlite_snapshot,
    .app_list = store__sq_app_list,
    .app_create = store__sq_app_create,
    .app_delete = store__sq_app_delete,
    .policy_list = store__sq_policy_list,
    .policy_add = store__sq_policy_add,
    .policy_delete = store__sq_policy_delete,
    .token_list = store__sq_token_list,
    .token_create = store__sq_token_create,
    .token_revoke = store__sq_token_revoke,
    .tunnel_list = store__sq_tunnel_list,
    .tunnel_create = store__sq_tunnel_create,
    .tunnel_delete = store__sq_tunnel_delete,
    .route_list = store__sq_route_list,
    .route_add = store__sq_route_add,
    .route_delete = store__sq_route_delete,
    .user_list = store__sq_user_list,
    .user_create = store__sq_user_create,
    .user_delete = store__sq_user_delete,
    .key_list = store__sq_key_list,
    .key_rotate = store__sq_key_rotate,
    .revoke_email = store__sq_revoke_email,
    .idp_list = store__sq_idp_list,
    .idp_create = store__sq_idp_create,
    .idp_delete = store__sq_idp_delete,
};
