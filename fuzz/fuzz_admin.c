/* fuzz_admin.c — libFuzzer target for the edge's admin API (edge/admin/admin_api*.c)
 * running on a real store (edge/store/, SQLite) in a temporary directory.
 *
 * Input: one byte whose low 4 bits pick the method (see methods[]: 'P' POST,
 * 'G' GET, 'D' DELETE, 'U' PUT, and lower-case, empty, unknown or no method),
 * then the path up to the first '\n', then the body: every byte after the
 * newline, none when there is no newline. The path is a C string (the HTTP
 * layer hands over one); the body gets a heap buffer of exactly its length,
 * so ASan sees any read past it. When the first byte's top bit is set, its
 * bits 4-6 pick which SQL statement of the request (counted from 0) the
 * store refuses to prepare, so the paths for a store failing half-way run
 * too.
 *
 * Every input starts from the same database: a fixed baseline (two apps with
 * policies, a live and a revoked service token, a tunnel with a route) under
 * fixed ids, which the dictionary knows. It is restored after every request
 * that changed it, so a crash reproduces from its one input and the database
 * never grows however long the run.
 *
 * Checked after every request: the status is 200..599; the body is one line
 * of JSON holding an object; an error (4xx/5xx) carries an "error" string
 * and a 4xx changed nothing; no transaction is left open; and a request that
 * does not report a change (resp.changed, which makes the edge reload) left
 * the database exactly as it was. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "edge/admin/admin_api.h"
#include "edge/store/store.h"

#define FAIL(why)                                                                                            \
	do {                                                                                                 \
		fprintf(stderr, "fuzz_admin: %s\n", why);                                                    \
		abort();                                                                                     \
	} while (0)

/* Indexed by the low 4 bits of the first byte, laid out so that seeds read
 * well: 'P' POST, 'G' GET, 'D' DELETE, 'U' PUT. POST is the most frequent,
 * since the bodies are what this target is for; NULL is no method at all. */
static const char *const methods[16] = {
    "POST",   /* 0: P p */
    "POST",   /* 1 */
    "POST",   /* 2 */
    "POST",   /* 3 */
    "DELETE", /* 4: D d */
    "PUT",    /* 5: U u */
    "get",    /* 6 */
    "GET",    /* 7: G g */
    "GET",    /* 8 */
    "GET",    /* 9 */
    "DELETE", /* 10 */
    "POST",   /* 11 */
    "post",   /* 12 */
    "",	      /* 13 */
    NULL,     /* 14 */
    "PATCH",  /* 15 */
};

static const char *const tables[] = {"apps",   "app_hostnames", "policies",	"service_tokens", "tunnels",
				     "routes", "users",		"signing_keys", "revocations"};

/* Parents last: the children would go with them (ON DELETE CASCADE), but
 * saying so keeps the reset right if a cascade is ever dropped. */
static const char baseline_sql[] =
    "BEGIN IMMEDIATE;"
    "DELETE FROM routes; DELETE FROM policies; DELETE FROM app_hostnames;"
    "DELETE FROM apps; DELETE FROM service_tokens; DELETE FROM tunnels;"
    "DELETE FROM users; DELETE FROM signing_keys; DELETE FROM revocations;"
    "INSERT INTO apps VALUES"
    " ('00000000-0000-4000-8000-00000000a001', 'ssh', 'aud-ssh', 86400, 1700000000),"
    " ('00000000-0000-4000-8000-00000000a002', 'web', 'aud-web', 3600, 1700000000);"
    "INSERT INTO app_hostnames VALUES"
    " ('ssh.site.test', '00000000-0000-4000-8000-00000000a001'),"
    " ('web.site.test', '00000000-0000-4000-8000-00000000a002'),"
    " ('www.site.test', '00000000-0000-4000-8000-00000000a002');"
    "INSERT INTO service_tokens (client_id, name, secret_hash, created_at, expires_at, revoked_at) VALUES"
    " ('0123456789abcdef0123456789abcdef.access', 'ci', zeroblob(32), 1700000000, 0, NULL),"
    " ('fedcba9876543210fedcba9876543210.access', 'old', zeroblob(32), 1700000000, 1800000000,"
    " 1700000001);"
    /* web's last policy has the highest precedence: the next one must name its own */
    "INSERT INTO policies (id, app_id, name, action, precedence, include_json, require_json,"
    " exclude_json, created_at) VALUES"
    " ('00000000-0000-4000-8000-00000000b001', '00000000-0000-4000-8000-00000000a001', 'ci',"
    " 'service_auth', 1, '[\"service-token=ci\"]', '[]', '[]', 1700000000),"
    " ('00000000-0000-4000-8000-00000000b002', '00000000-0000-4000-8000-00000000a001', 'allow',"
    " 'allow', 2, '[\"email-domain=example.com\"]', '[\"group=ops\"]', '[\"ip=192.0.2.0/24\"]',"
    " 1700000000),"
    " ('00000000-0000-4000-8000-00000000b003', '00000000-0000-4000-8000-00000000a002', 'last',"
    " 'bypass', 1000000, '[\"everyone\"]', '[]', '[]', 1700000000);"
    "INSERT INTO tunnels VALUES ('00000000-0000-4000-8000-00000000c001', 'host1', zeroblob(32), 1700000000);"
    "INSERT INTO routes VALUES ('ssh.site.test', '00000000-0000-4000-8000-00000000c001');"
    /* (a user's hash need not verify: the API never checks one) */
    "INSERT INTO users VALUES ('ann@site.test', '$argon2id$v=19$m=65536,t=2,p=1$x$y', 1700000000);"
    "INSERT INTO signing_keys (seq, kid, private_pem, created_at, retired_at) VALUES"
    " (1, '0123456789abcdef0123456789abcdef', 'not a key', 1700000000, 0);"
    "INSERT INTO revocations VALUES ('bob@site.test', 1700000000);"
    "COMMIT;";

static char dir[256];
static bool verbose; /* FUZZ_ADMIN_VERBOSE=1: print every request and response, keep the log */
static store_t *st;
static sqlite3 *db;
static uint64_t baseline_digest;
static sqlite3_int64 baseline_changes; /* sqlite3_total_changes64 right after the reset */

static void mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 1099511628211ULL;
	}
}

/* FNV-1a over every row of every table, in primary key order. */
static uint64_t digest(void)
{
	uint64_t h = 14695981039346656037ULL;
	char sql[96];
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		sqlite3_stmt *q = NULL;
		int rc;
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", tables[t]);
		if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
			FAIL("cannot read the database back");
		mix(&h, tables[t], strlen(tables[t]) + 1);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			for (int i = 0; i < sqlite3_column_count(q); i++) {
				int type = sqlite3_column_type(q, i);
				const void *v = sqlite3_column_blob(q, i);
				int n = sqlite3_column_bytes(q, i);
				mix(&h, &type, sizeof(type));
				mix(&h, &n, sizeof(n));
				if (v)
					mix(&h, v, (size_t)n);
			}
		}
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			FAIL("cannot read the database back");
	}
	return h;
}

static void reset(void)
{
	if (sqlite3_exec(db, baseline_sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "fuzz_admin: baseline: %s\n", sqlite3_errmsg(db));
		abort();
	}
	baseline_digest = digest();
	baseline_changes = sqlite3_total_changes64(db);
}

static void cleanup(void)
{
	static const char *const files[] = {"edge.db", "edge.db-wal", "edge.db-shm"};
	char p[300];
	store_close(st);
	st = NULL;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256], path[300];
	const char *tmp = getenv("TMPDIR");

	/* store failures are injected by the million: their log lines would only slow the run */
	verbose = getenv("FUZZ_ADMIN_VERBOSE") != NULL;
	log_set_level(L_ERROR);
	if (!verbose && log_set_file("/dev/null") != 0)
		FAIL("cannot send the log to /dev/null");
	if (!tmp || !tmp[0] || strlen(tmp) > 200)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/burrow-fuzz-admin-XXXXXX", tmp);
	if (!mkdtemp(dir))
		FAIL("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/edge.db", dir);
	if (store_open(path, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_admin: store_open: %s\n", err);
		abort();
	}
	db = store_db(st);
	/* the file is scratch: durability would only cost an fsync per request */
	if (sqlite3_exec(db, "PRAGMA synchronous = OFF", NULL, NULL, NULL) != SQLITE_OK)
		FAIL("cannot turn synchronous off");
	atexit(cleanup);
	reset();
	return 0;
}

/* A heap copy of data[0..n) followed by nul extra bytes of zero. */
static void *copy(const uint8_t *data, size_t n, size_t nul)
{
	uint8_t *p = malloc(n + nul);
	if (!p)
		FAIL("out of memory");
	memcpy(p, data, n);
	memset(p + n, 0, nul);
	return p;
}

/* Refuses the deny_at-th of these questions (counted from 0) while it is
 * installed: SQLite asks one per statement it prepares (and an UPDATE one
 * per column it sets). ROLLBACK is never refused: cleaning up after a
 * failure is what is tested. */
static int deny_at;
static int statements_seen;

static int authorizer(void *arg, int action, const char *a1, const char *a2, const char *a3, const char *a4)
{
	bool statement = action == SQLITE_SELECT || action == SQLITE_INSERT || action == SQLITE_UPDATE ||
			 action == SQLITE_DELETE ||
			 (action == SQLITE_TRANSACTION && a1 && strcmp(a1, "ROLLBACK") != 0);
	if (!statement)
		return SQLITE_OK;
	return statements_seen++ == deny_at ? SQLITE_DENY : SQLITE_OK;
}

static void check_response(const admin_resp_t *resp)
{
	if (resp->status < 200 || resp->status > 599)
		FAIL("status outside 200..599");
	if (!resp->body)
		FAIL("no response body");
	if (strchr(resp->body, '\n'))
		FAIL("response body is more than one line");
	json_error_t jerr;
	json_t *j = json_loads(resp->body, 0, &jerr);
	if (!json_is_object(j))
		FAIL("response body is not a JSON object");
	if (resp->status >= 400 && !json_is_string(json_object_get(j, "error")))
		FAIL("error response without an \"error\" string");
	if (resp->status >= 400 && resp->status < 500 && resp->changed)
		FAIL("a 4xx response says it changed the database");
	json_decref(j);
	if (sqlite3_get_autocommit(db) != 1)
		FAIL("a transaction was left open");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *rest = data + 1;
	size_t nrest = size - 1;
	const uint8_t *nl = memchr(rest, '\n', nrest);
	size_t plen = nl ? (size_t)(nl - rest) : nrest;
	size_t blen = nl ? nrest - plen - 1 : 0;

	char *path = copy(rest, plen, 1);
	uint8_t *body = blen ? copy(nl + 1, blen, 0) : NULL;
	admin_req_t req = {.method = methods[data[0] & 15], .path = path, .body = body, .body_len = blen};
	admin_resp_t resp;

	bool faulty = data[0] & 0x80;
	if (faulty) {
		deny_at = (data[0] >> 4) & 7;
		statements_seen = 0;
		sqlite3_set_authorizer(db, authorizer, NULL);
	}
	admin_api_exec(st, &req, &resp);
	if (faulty)
		sqlite3_set_authorizer(db, NULL, NULL);
	if (verbose)
		fprintf(stderr, "%s %s -> %d%s %s\n", req.method ? req.method : "(null)", path, resp.status,
			resp.changed ? " (changed)" : "", resp.body ? resp.body : "(null)");
	check_response(&resp);
	/* an unchanged total_changes means no row was written; otherwise compare contents */
	sqlite3_int64 changes = sqlite3_total_changes64(db);
	if (changes != baseline_changes) {
		if (digest() != baseline_digest) {
			if (!resp.changed)
				FAIL("the database changed but the response does not say so (no reload)");
			reset();
		} else {
			baseline_changes = changes;
		}
	}

	free(resp.body);
	free(body);
	free(path);
	return 0;
}
