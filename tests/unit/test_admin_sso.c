/* test_admin_sso.c — the admin API's single sign-on endpoints, driven through
 * admin_api_exec against a temporary store: users (argon2id hash that
 * verifies, 400/404/409, the password in no response, audit description,
 * log or database file), token-signing keys (rotate, list, never a private
 * key) and session revocation (model_revoked_at). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/admin/admin_api.h"
#include "edge/audit/audit.h"
#include "edge/model.h"
#include "edge/store/store.h"

#define PASSWORD "correct horse battery staple"

typedef struct fixture {
	char dir[64];
	char path[128];
	store_t *st;
	bool changed; /* resp.changed of the last call */
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	char err[256];
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/burrow-test-sso-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/edge.db", f->dir);
	if (store_open(f->path, &f->st, err, sizeof(err)) != 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	char p[192];
	store_close(f->st);
	static const char *const files[] = {"edge.db", "edge.db-wal", "edge.db-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs one request, checks the status and that no response ever carries
 * the test password, and returns the parsed body. */
static json_t *call(fixture_t *f, const char *method, const char *path, const char *body, int want)
{
	admin_req_t req = {.method = method,
			   .path = path,
			   .body = (const uint8_t *)body,
			   .body_len = body ? strlen(body) : 0};
	admin_resp_t resp;
	admin_api_exec(f->st, &req, &resp);
	assert_non_null(resp.body);
	if (resp.status != want)
		fail_msg("%s %s: status %d, want %d: %s", method, path, resp.status, want, resp.body);
	assert_null(strstr(resp.body, PASSWORD));
	assert_null(strstr(resp.body, "PRIVATE KEY"));
	assert_null(strchr(resp.body, '\n'));
	json_t *j = json_loads(resp.body, 0, NULL);
	if (!j)
		fail_msg("response is not JSON: %s", resp.body);
	if (want >= 400) {
		const char *e = json_string_value(json_object_get(j, "error"));
		assert_non_null(e);
		assert_null(strchr(e, '\n'));
		assert_false(resp.changed);
	}
	f->changed = resp.changed;
	free(resp.body);
	return j;
}

static void call_drop(fixture_t *f, const char *method, const char *path, const char *body, int want)
{
	json_decref(call(f, method, path, body, want));
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s)
		fail_msg("no string \"%s\"", key);
	return s;
}

static const char *error_of(json_t *o)
{
	return str(o, "error");
}

static model_t *load(fixture_t *f)
{
	model_t *m = NULL;
	assert_int_equal(store_load_model(f->st, &m), 0);
	return m;
}

/* Whether the bytes of the database files hold s anywhere. */
static bool db_holds(fixture_t *f, const char *s)
{
	static const char *const files[] = {"edge.db", "edge.db-wal"};
	bool found = false;
	for (size_t i = 0; i < 2 && !found; i++) {
		char p[192];
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		FILE *fp = fopen(p, "rb");
		if (!fp)
			continue;
		fseek(fp, 0, SEEK_END);
		long len = ftell(fp);
		rewind(fp);
		char *buf = malloc((size_t)len + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
		fclose(fp);
		found = memmem(buf, (size_t)len, s, strlen(s)) != NULL;
		free(buf);
	}
	return found;
}

static void test_sso_user_create_list_delete(void **state)
{
	fixture_t *f = *state;
	static const char body[] = "{\"email\":\"Ann@Site.Test\",\"password\":\"" PASSWORD "\"}";

	json_t *u = call(f, "POST", "/api/v1/users", body, 201);
	assert_true(f->changed);
	assert_string_equal(str(u, "email"), "ann@site.test"); /* lowercased */
	assert_true(json_integer_value(json_object_get(u, "created_at")) > 0);
	assert_int_equal(json_object_size(u), 2);
	json_decref(u);

	/* the model has an argon2id hash that verifies the password, and only that */
	model_t *m = load(f);
	const model_user_t *mu = model_user_by_email(m, "ann@site.test");
	assert_non_null(mu);
	assert_int_equal(strncmp(mu->pw_hash, "$argon2id$", 10), 0);
	assert_int_equal(crypto_pwhash_str_verify(mu->pw_hash, PASSWORD, strlen(PASSWORD)), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(mu->pw_hash, "wrong password", 14), 0);
	model_free(m);
	assert_false(db_holds(f, PASSWORD));

	/* the audit record names the email, never the password */
	char what[160];
	audit_describe_admin("POST", "/api/v1/users", (const uint8_t *)body, strlen(body), what,
			     sizeof(what));
	assert_string_equal(what, "POST /api/v1/users email=Ann@Site.Test");

	json_t *e = call(f, "POST", "/api/v1/users",
			 "{\"email\":\"ann@site.test\",\"password\":\"another one\"}", 409);
	assert_non_null(strstr(error_of(e), "ann@site.test"));
	json_decref(e);

	call_drop(f, "POST", "/api/v1/users", "{\"email\":\"bob@site.test\",\"password\":\"12345678\"}", 201);
	json_t *l = call(f, "GET", "/api/v1/users", NULL, 200);
	json_t *arr = json_object_get(l, "users");
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(str(json_array_get(arr, 0), "email"), "ann@site.test");
	assert_string_equal(str(json_array_get(arr, 1), "email"), "bob@site.test");
	assert_int_equal(json_object_size(json_array_get(arr, 0)), 2); /* email, created_at: no hash */
	json_decref(l);

	json_t *d = call(f, "DELETE", "/api/v1/users/Bob@site.test", NULL, 200);
	assert_true(f->changed);
	assert_string_equal(str(d, "deleted"), "bob@site.test");
	json_decref(d);
	e = call(f, "DELETE", "/api/v1/users/bob@site.test", NULL, 404);
	assert_non_null(strstr(error_of(e), "no user bob@site.test"));
	json_decref(e);
	m = load(f);
	assert_int_equal(m->nusers, 1);
	assert_null(model_user_by_email(m, "bob@site.test"));
	model_free(m);
}

static void test_sso_user_bad_input_400(void **state)
{
	fixture_t *f = *state;
	static const char *const bad[] = {
	    "{\"email\":\"ann@site.test\",\"password\":\"short\"}",		 /* 5 bytes */
	    "{\"email\":\"ann@site.test\"}",					 /* no password */
	    "{\"password\":\"" PASSWORD "\"}",					 /* no email */
	    "{\"email\":\"annsite.test\",\"password\":\"" PASSWORD "\"}",	 /* no @ */
	    "{\"email\":\"a@b@c\",\"password\":\"" PASSWORD "\"}",		 /* two */
	    "{\"email\":\"@site.test\",\"password\":\"" PASSWORD "\"}",		 /* no local part */
	    "{\"email\":\"ann@\",\"password\":\"" PASSWORD "\"}",		 /* no domain */
	    "{\"email\":\"ann smith@site.test\",\"password\":\"" PASSWORD "\"}", /* a space */
	    "{\"email\":\"ann\\u0001@site.test\",\"password\":\"" PASSWORD "\"}",
	    "{\"email\":\"ann/x@site.test\",\"password\":\"" PASSWORD "\"}",
	    "{\"email\":\"ann@site.test\",\"password\":\"" PASSWORD "\",\"admin\":true}",
	    "{\"email\":\"ann@site.test\",\"password\":12345678}",
	    "{\"email\":\"ann@site.test\",\"password\":\"1234567\\u00008\"}", /* embedded NUL */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		call_drop(f, "POST", "/api/v1/users", bad[i], 400);
	json_t *e = call(f, "POST", "/api/v1/users", bad[0], 400);
	assert_string_equal(error_of(e), "\"password\" must be 8 to 1024 bytes long (it has 5)");
	json_decref(e);

	/* 1024 bytes pass, 1025 do not; 254-character emails pass, 255 do not */
	char body[2048], pw[1026], email[256];
	memset(pw, 'p', sizeof(pw));
	pw[1025] = '\0';
	snprintf(body, sizeof(body), "{\"email\":\"long@site.test\",\"password\":\"%s\"}", pw);
	call_drop(f, "POST", "/api/v1/users", body, 400);
	pw[1024] = '\0';
	snprintf(body, sizeof(body), "{\"email\":\"long@site.test\",\"password\":\"%s\"}", pw);
	call_drop(f, "POST", "/api/v1/users", body, 201);
	/* 244 + "@site.test" = 254 characters */
	memset(email, 'e', 244);
	snprintf(email + 244, sizeof(email) - 244, "@site.test");
	assert_int_equal(strlen(email), 254);
	snprintf(body, sizeof(body), "{\"email\":\"x%s\",\"password\":\"" PASSWORD "\"}", email); /* 255 */
	call_drop(f, "POST", "/api/v1/users", body, 400);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"" PASSWORD "\"}", email);
	call_drop(f, "POST", "/api/v1/users", body, 201);

	call_drop(f, "DELETE", "/api/v1/users/not-an-email", NULL, 400);
	model_t *m = load(f);
	assert_int_equal(m->nusers, 2);
	model_free(m);
}

static void test_sso_keys_rotate_and_list(void **state)
{
	fixture_t *f = *state;
	json_t *l = call(f, "GET", "/api/v1/keys", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(l, "keys")), 0);
	json_decref(l);

	json_t *k1 = call(f, "POST", "/api/v1/keys/rotate", NULL, 201); /* no body needed */
	assert_true(f->changed);
	assert_int_equal(strlen(str(k1, "kid")), 32);
	json_t *k2 = call(f, "POST", "/api/v1/keys/rotate", "{}", 201);
	int64_t at2 = json_integer_value(json_object_get(k2, "created_at"));
	assert_true(at2 > 0);
	assert_string_not_equal(str(k1, "kid"), str(k2, "kid"));
	call_drop(f, "POST", "/api/v1/keys/rotate", "{\"kid\":\"mine\"}", 400);
	call_drop(f, "GET", "/api/v1/keys/rotate", NULL, 405);

	l = call(f, "GET", "/api/v1/keys", NULL, 200);
	json_t *arr = json_object_get(l, "keys");
	assert_int_equal(json_array_size(arr), 2);
	json_t *a = json_array_get(arr, 0), *b = json_array_get(arr, 1);
	assert_string_equal(str(a, "kid"), str(k2, "kid")); /* newest first */
	assert_int_equal(json_integer_value(json_object_get(a, "retired_at")), 0);
	assert_string_equal(str(b, "kid"), str(k1, "kid"));
	assert_int_equal(json_integer_value(json_object_get(b, "retired_at")), at2);
	assert_int_equal(json_object_size(a), 3); /* kid, created_at, retired_at */

	model_t *m = load(f);
	assert_string_equal(model_signing_key(m)->kid, str(k2, "kid"));
	assert_non_null(model_key_by_kid(m, str(k1, "kid")));
	model_free(m);
	json_decref(l);
	json_decref(k1);
	json_decref(k2);
}

/* Sets a key's retired_at to age_s seconds ago, behind the store's back. */
static void age_key(fixture_t *f, const char *kid, int64_t age_s)
{
	sqlite3_stmt *q = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(store_db(f->st),
			       "UPDATE signing_keys SET retired_at = unixepoch() - ?2 WHERE kid = ?1", -1, &q,
			       NULL),
	    SQLITE_OK);
	sqlite3_bind_text(q, 1, kid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, age_s);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(store_db(f->st)), 1);
	sqlite3_finalize(q);
}

static char *rotate(fixture_t *f)
{
	json_t *k = call(f, "POST", "/api/v1/keys/rotate", NULL, 201);
	char *kid = strdup(str(k, "kid"));
	json_decref(k);
	return kid;
}

/* Retired keys stay as long as the longest app session (a token they signed
 * may live that long), at least 24 h, and are pruned at the next rotation
 * after that. */
static void test_sso_keys_keep_the_longest_session(void **state)
{
	fixture_t *f = *state;
	call_drop(f, "POST", "/api/v1/apps",
		  "{\"name\":\"ssh\",\"hostnames\":[\"ssh.test\"],\"session_duration\":604800}", 201);
	char *k1 = rotate(f), *k2 = rotate(f), *k3;
	age_key(f, k1, 6 * 86400); /* within the app's 7 days */
	k3 = rotate(f);
	model_t *m = load(f);
	assert_int_equal(m->nkeys, 3);
	assert_non_null(model_key_by_kid(m, k1));
	model_free(m);
	age_key(f, k1, 7 * 86400 + 60); /* past them */
	free(rotate(f));
	m = load(f);
	assert_int_equal(m->nkeys, 3);
	assert_null(model_key_by_kid(m, k1));
	assert_non_null(model_key_by_kid(m, k2));
	model_free(m);

	/* no app: 24 h */
	call_drop(f, "DELETE", "/api/v1/apps/ssh", NULL, 200);
	age_key(f, k2, 86400 + 60);
	age_key(f, k3, 86400 - 3600);
	free(rotate(f));
	m = load(f);
	assert_null(model_key_by_kid(m, k2));
	assert_non_null(model_key_by_kid(m, k3));
	model_free(m);
	free(k1);
	free(k2);
	free(k3);
}

static void test_sso_session_revoke(void **state)
{
	fixture_t *f = *state;
	static const char body[] = "{\"email\":\"Ann@Site.Test\"}";
	json_t *r = call(f, "POST", "/api/v1/sessions/revoke", body, 200);
	assert_true(f->changed);
	assert_string_equal(str(r, "email"), "ann@site.test");
	int64_t at = json_integer_value(json_object_get(r, "revoked_at"));
	assert_true(at > 0);
	json_decref(r);

	model_t *m = load(f);
	assert_int_equal(model_revoked_at(m, "ann@site.test"), at);
	assert_int_equal(model_revoked_at(m, "bob@site.test"), 0);
	model_free(m);

	char what[160];
	audit_describe_admin("POST", "/api/v1/sessions/revoke", (const uint8_t *)body, strlen(body), what,
			     sizeof(what));
	assert_string_equal(what, "POST /api/v1/sessions/revoke email=Ann@Site.Test");

	call_drop(f, "POST", "/api/v1/sessions/revoke", "{}", 400);
	call_drop(f, "POST", "/api/v1/sessions/revoke", "{\"email\":\"nobody\"}", 400);
	call_drop(f, "POST", "/api/v1/sessions/revoke", "{\"email\":\"a@b\",\"all\":true}", 400);
	call_drop(f, "POST", "/api/v1/sessions/revoke", NULL, 400);
}

int main(void)
{
	log_set_level(L_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sso_user_create_list_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sso_user_bad_input_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sso_keys_rotate_and_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sso_keys_keep_the_longest_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sso_session_revoke, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
