/* test_store_sqlite.c — what only the SQLite engine has: store_open creates
 * a private WAL database, migrates it once (also a database made by schema
 * version 1, keeping its data and policy order), refuses a newer one, and
 * the routes table gives each hostname to one tunnel. Looks inside through
 * store_db; the operations are tested in test_store.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/store/store.h"

typedef struct fixture {
	char dir[64];
	char path[128];
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/burrow-test-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/edge.db", f->dir);
	*state = f;
	return 0;
}

static void rm_f(const char *dir, const char *name)
{
	char p[192];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	rm_f(f->dir, "edge.db");
	rm_f(f->dir, "edge.db-wal");
	rm_f(f->dir, "edge.db-shm");
	rmdir(f->dir);
	free(f);
	return 0;
}

static store_t *open_ok(const fixture_t *f)
{
	store_t *st = NULL;
	char err[256];
	int r = store_open(f->path, &st, err, sizeof(err));
	if (r != 0)
		fail_msg("store_open: %s", err);
	assert_non_null(st);
	return st;
}

static void exec_ok(store_t *st, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(store_db(st), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int count(store_t *st, const char *sql)
{
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}

static void add_tunnel(store_t *st, const char *id, const char *name)
{
	sqlite3_stmt *q = NULL;
	static const uint8_t hash[32];
	assert_int_equal(sqlite3_prepare_v2(store_db(st),
					    "INSERT INTO tunnels (id, name, secret_hash, created_at)"
					    " VALUES (?1, ?2, ?3, 0)",
					    -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, hash, 32, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
}

static void test_store_creates_private_wal_file(void **state)
{
	fixture_t *f = *state;
	mode_t old = umask(0); /* a permissive umask must not leak into the file's mode */
	store_t *st = open_ok(f);
	umask(old);
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	add_tunnel(st, "t1", "host1");
	char wal[192];
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(count(st, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	assert_int_equal(count(st, "PRAGMA foreign_keys"), 1);
	store_close(st);
}

static void test_store_tightens_loose_mode(void **state)
{
	fixture_t *f = *state;
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(chmod(f->path, 0644), 0);
	store_t *st = open_ok(f);
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(st);
}

static void test_store_migrations_idempotent_on_reopen(void **state)
{
	fixture_t *f = *state;
	store_t *st = open_ok(f);
	int v = store_schema_version(st);
	assert_true(v >= 1);
	assert_int_equal(count(st, "PRAGMA user_version"), v);
	add_tunnel(st, "t1", "host1");
	store_close(st);

	st = open_ok(f);
	assert_int_equal(store_schema_version(st), v);
	assert_int_equal(count(st, "PRAGMA user_version"), v);
	assert_int_equal(count(st, "SELECT count(*) FROM tunnels"), 1);
	store_close(st);
}

/* Schema version 1 as released (migrations are append-only, so this is what
 * databases in the field hold), with rows in it. */
static const char *const schema_v1 =
    "CREATE TABLE apps (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, aud TEXT NOT NULL UNIQUE,"
    " session_duration INTEGER NOT NULL, created_at INTEGER NOT NULL) STRICT;"
    "CREATE TABLE app_hostnames (hostname TEXT PRIMARY KEY,"
    " app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE) STRICT;"
    "CREATE INDEX app_hostnames_app ON app_hostnames(app_id);"
    "CREATE TABLE policies (id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " action TEXT NOT NULL CHECK (action IN ('allow', 'deny', 'bypass', 'service_auth')),"
    " precedence INTEGER NOT NULL, include_json TEXT NOT NULL DEFAULT '[]',"
    " require_json TEXT NOT NULL DEFAULT '[]', exclude_json TEXT NOT NULL DEFAULT '[]',"
    " created_at INTEGER NOT NULL) STRICT;"
    "CREATE INDEX policies_app ON policies(app_id, precedence);"
    "CREATE TABLE service_tokens (client_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32), created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER) STRICT;"
    "CREATE TABLE tunnels (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32), created_at INTEGER NOT NULL) STRICT;"
    "CREATE TABLE routes (hostname TEXT PRIMARY KEY,"
    " tunnel_id TEXT NOT NULL REFERENCES tunnels(id) ON DELETE CASCADE) STRICT;"
    "CREATE INDEX routes_tunnel ON routes(tunnel_id);"
    "PRAGMA user_version = 1;"
    "INSERT INTO apps VALUES ('a1', 'ssh', 'aud1', 60, 1);"
    "INSERT INTO app_hostnames VALUES ('ssh.test', 'a1');"
    /* equal precedence: creation (rowid) order is z, m, a, which the migration keeps */
    "INSERT INTO policies VALUES ('z', 'a1', 'pz', 'allow', 1, '[\"everyone\"]', '[]', '[]', 1);"
    "INSERT INTO policies VALUES ('m', 'a1', 'pm', 'deny', 1, '[\"everyone\"]', '[]', '[]', 1);"
    "INSERT INTO policies VALUES ('a', 'a1', 'pa', 'bypass', 1, '[\"everyone\"]', '[]', '[]', 1);"
    "INSERT INTO service_tokens VALUES ('c1', 'ci', zeroblob(32), 1, 0, NULL);"
    "INSERT INTO tunnels VALUES ('t1', 'host1', zeroblob(32), 1);"
    "INSERT INTO routes VALUES ('ssh.test', 't1');";

static void test_store_migrates_version_1(void **state)
{
	fixture_t *f = *state;
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(chmod(f->path, 0600), 0);

	store_t *st = open_ok(f);
	assert_true(store_schema_version(st) >= 2);
	int64_t v = -1;
	assert_int_equal(store_change_version(st, &v), 0);
	assert_int_equal(v, 0);
	model_t *m = NULL;
	assert_int_equal(store_load_model(st, &m), 0);
	assert_int_equal(m->napps, 1);
	assert_int_equal(m->apps[0].npolicies, 3);
	assert_string_equal(m->apps[0].policies[0].id, "z");
	assert_string_equal(m->apps[0].policies[1].id, "m");
	assert_string_equal(m->apps[0].policies[2].id, "a");
	assert_non_null(model_token_by_name(m, "ci"));
	assert_string_equal(model_route_by_host(m, "ssh.test")->tunnel_id, "t1");
	model_free(m);

	/* a policy added now comes after the migrated ones of equal precedence */
	store_policy_t in = {.action = POLICY_ALLOW, .precedence = 1}, out;
	store_why_t why;
	snprintf(in.id, sizeof(in.id), "b");
	snprintf(in.app_id, sizeof(in.app_id), "ssh");
	snprintf(in.name, sizeof(in.name), "pb");
	assert_int_equal(store_policy_add(st, &in, NULL, &out, &why), 0);
	store_policy_clear(&out);
	store_policy_t *v4 = NULL;
	size_t n = 0;
	assert_int_equal(store_policy_list(st, "ssh", &v4, &n, &why), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v4[0].id, "z");
	assert_string_equal(v4[3].id, "b");
	store_policies_free(v4, n);
	assert_int_equal(store_change_version(st, &v), 0);
	assert_int_equal(v, 1);
	store_close(st);
}

/* A database made by migrations 1-3 (what edges before single sign-on hold):
 * a fresh store with migration 4's tables dropped is exactly that, because
 * migrations are append-only. Migration 4 applies on open, keeps the data
 * and its tables work. */
static void test_store_migrates_version_3(void **state)
{
	fixture_t *f = *state;
	store_t *st = open_ok(f);
	exec_ok(st, "DROP TABLE app_idps; DROP TABLE idps; DROP TABLE users; DROP TABLE signing_keys;"
		    " DROP TABLE revocations; PRAGMA user_version = 3;");
	add_tunnel(st, "t1", "host1");
	store_close(st);

	st = open_ok(f);
	assert_int_equal(store_schema_version(st), 5);
	assert_int_equal(count(st, "PRAGMA user_version"), 5);
	assert_int_equal(count(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
				   " ('users', 'signing_keys', 'revocations')"),
			 3);
	assert_int_equal(count(st, "SELECT count(*) FROM tunnels"), 1);
	store_user_t in = {0}, out;
	store_why_t why;
	snprintf(in.email, sizeof(in.email), "ann@site.test");
	snprintf(in.pw_hash, sizeof(in.pw_hash), "$argon2id$x");
	assert_int_equal(store_user_create(st, &in, &out, &why), 0);
	assert_int_equal(store_revoke_email(st, "ann@site.test", 5), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM users"), 1);
	assert_int_equal(count(st, "SELECT revoked_at FROM revocations"), 5);
	store_close(st);
}

/* A version 4 database (before OpenID Connect providers): migration 5 adds
 * idps and app_idps, keeps the apps, and an existing app accepts any
 * provider (no rows in app_idps). */
static void test_store_migrates_version_4(void **state)
{
	fixture_t *f = *state;
	store_t *st = open_ok(f);
	exec_ok(st, "DROP TABLE app_idps; DROP TABLE idps; PRAGMA user_version = 4;");
	exec_ok(st, "INSERT INTO apps (id, name, aud, session_duration, created_at) VALUES ('a1', 'ssh', "
		    "'x', 60, 1)");
	store_close(st);

	st = open_ok(f);
	assert_int_equal(store_schema_version(st), 5);
	assert_int_equal(count(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
				   " ('idps', 'app_idps')"),
			 2);
	store_app_t *v;
	size_t n;
	assert_int_equal(store_app_list(st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].idps.n, 0);
	store_apps_free(v, n);
	store_close(st);
}

static void test_store_refuses_newer_schema(void **state)
{
	fixture_t *f = *state;
	store_t *st = open_ok(f);
	exec_ok(st, "PRAGMA user_version = 9999");
	store_close(st);

	char err[256] = "";
	st = (store_t *)1;
	assert_int_equal(store_open(f->path, &st, err, sizeof(err)), ERR_STORE);
	assert_null(st);
	assert_non_null(strstr(err, "newer"));
}

static void test_store_open_bad_path(void **state)
{
	store_t *st = NULL;
	char err[256] = "";
	assert_int_equal(store_open("/nonexistent-dir/x/edge.db", &st, err, sizeof(err)), ERR_STORE);
	assert_null(st);
	assert_non_null(strstr(err, "/nonexistent-dir/x/edge.db"));
}

/* What the admin API's route writes rely on: one tunnel per hostname, no
 * route to a tunnel that does not exist, and a tunnel's routes go with it. */
static void test_store_routes_one_owner_cascade(void **state)
{
	fixture_t *f = *state;
	store_t *st = open_ok(f);
	sqlite3 *db = store_db(st);
	add_tunnel(st, "t1", "host1");
	add_tunnel(st, "t2", "host2");

	exec_ok(st, "INSERT INTO routes (hostname, tunnel_id) VALUES ('ssh.site.test', 't1')");
	assert_int_not_equal(
	    sqlite3_exec(db, "INSERT INTO routes (hostname, tunnel_id) VALUES ('ssh.site.test', 't2')", NULL,
			 NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(db, "INSERT INTO routes (hostname, tunnel_id) VALUES ('x.site.test', 'nope')", NULL,
			 NULL, NULL),
	    SQLITE_OK);
	exec_ok(st, "INSERT INTO routes (hostname, tunnel_id) VALUES ('web.site.test', 't2')");
	assert_int_equal(count(st, "SELECT count(*) FROM routes"), 2);

	exec_ok(st, "DELETE FROM tunnels WHERE id = 't1'");
	assert_int_equal(count(st, "SELECT count(*) FROM routes"), 1);
	assert_int_equal(count(st, "SELECT count(*) FROM routes WHERE tunnel_id = 't2'"), 1);
	store_close(st);
}

int main(void)
{
	log_set_level(L_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_creates_private_wal_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_tightens_loose_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_migrations_idempotent_on_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_migrates_version_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_migrates_version_3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_migrates_version_4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_refuses_newer_schema, setup, teardown),
	    cmocka_unit_test(test_store_open_bad_path),
	    cmocka_unit_test_setup_teardown(test_store_routes_one_owner_cascade, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
