/* test_audit.c — the audit log's store side: a batch is appended in order,
 * queries filter by kind, app, time and cursor, bad query strings are 400,
 * pruning drops only old records; admin requests are described by method,
 * path and name, never by other body fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "edge/audit/audit.h"
#include "edge/audit/audit_int.h"
#include "edge/store/store.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	store_t *st;
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	char err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/burrow-test-audit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/edge.db", f->dir);
	if (store_open(f->path, &f->st, err, sizeof(err)) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	char p[192];
	store_close(f->st);
	const char *names[] = {"edge.db", "edge.db-wal", "edge.db-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static audit_event_t ev(enum audit_kind k, const char *app, int status, int64_t t_ms)
{
	audit_event_t e = {.kind = k, .status = status, .time_ms = t_ms};
	snprintf(e.app, sizeof(e.app), "%s", app);
	snprintf(e.actor, sizeof(e.actor), "service token ci");
	snprintf(e.client, sizeof(e.client), "192.0.2.1");
	return e;
}

/* Runs a query; returns the parsed response (caller decrefs) and its status. */
static json_t *query(store_t *st, const char *q, int *status)
{
	admin_resp_t r = {0};
	audit_query(st, q, &r);
	*status = r.status;
	json_t *j = json_loads(r.body, 0, NULL);
	free(r.body);
	return j;
}

static void test_audit_append_and_filter(void **state)
{
	fixture_t *f = *state;
	int64_t now = (int64_t)time(NULL) * 1000;
	audit_event_t evs[] = {
	    ev(AUDIT_REFUSAL, "ssh", 401, now - 3000),	   ev(AUDIT_SESSION_START, "ssh", 101, now - 2000),
	    ev(AUDIT_SESSION_END, "ssh", 101, now - 1000), ev(AUDIT_ADMIN, "", 201, now),
	    ev(AUDIT_SESSION_START, "git", 101, now),
	};
	evs[2].bytes_up = 7;
	evs[2].bytes_down = 1234567;
	assert_int_equal(audit_store_append(f->st, "e1", evs, 5), 0);

	int status;
	json_t *j = query(f->st, NULL, &status);
	assert_int_equal(status, 200);
	json_t *arr = json_object_get(j, "events");
	assert_int_equal(json_array_size(arr), 5);
	/* in the order written, ids ascending, "next" the last id */
	json_int_t prev = 0;
	for (size_t i = 0; i < 5; i++) {
		json_int_t id = json_integer_value(json_object_get(json_array_get(arr, i), "id"));
		assert_true(id > prev);
		prev = id;
	}
	assert_int_equal(json_integer_value(json_object_get(j, "next")), prev);
	json_t *end = json_array_get(arr, 2);
	assert_string_equal(json_string_value(json_object_get(end, "event")), "end");
	assert_int_equal(json_integer_value(json_object_get(end, "bytes_down")), 1234567);
	assert_string_equal(json_string_value(json_object_get(end, "edge")), "e1");
	json_decref(j);

	j = query(f->st, "kind=session&app=ssh", &status);
	assert_int_equal(json_array_size(json_object_get(j, "events")), 2);
	json_decref(j);
	j = query(f->st, "kind=refusal", &status);
	assert_int_equal(json_array_size(json_object_get(j, "events")), 1);
	json_decref(j);
	/* the cursor: only what came after */
	char q[64];
	snprintf(q, sizeof(q), "after=%lld", (long long)(prev - 1));
	j = query(f->st, q, &status);
	assert_int_equal(json_array_size(json_object_get(j, "events")), 1);
	json_decref(j);
	j = query(f->st, "limit=2", &status);
	assert_int_equal(json_array_size(json_object_get(j, "events")), 2);
	json_decref(j);
}

static void test_audit_bad_queries_are_400(void **state)
{
	fixture_t *f = *state;
	const char *bad[] = {"kind=bogus", "limit=0", "limit=5001", "since=-5", "after=x",
			     "color=red",  "app",     "app=%zz",    "app=%00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status;
		json_t *j = query(f->st, bad[i], &status);
		assert_int_equal(status, 400);
		assert_non_null(json_string_value(json_object_get(j, "error")));
		json_decref(j);
	}
}

static void test_audit_prune_drops_only_old(void **state)
{
	fixture_t *f = *state;
	int64_t now = (int64_t)time(NULL) * 1000;
	audit_event_t evs[] = {ev(AUDIT_REFUSAL, "ssh", 401, now - 100000),
			       ev(AUDIT_REFUSAL, "ssh", 403, now)};
	assert_int_equal(audit_store_append(f->st, "e1", evs, 2), 0);
	int64_t deleted = 0;
	assert_int_equal(audit_store_prune(f->st, now - 50000, &deleted), 0);
	assert_int_equal(deleted, 1);
	int status;
	json_t *j = query(f->st, NULL, &status);
	json_t *arr = json_object_get(j, "events");
	assert_int_equal(json_array_size(arr), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "status")), 403);
	json_decref(j);
}

static void test_audit_describe_admin_names_only(void **state)
{
	char out[160];
	const char body[] = "{\"name\":\"ci\",\"duration\":\"1h\",\"secret\":\"s3cr3t\"}";
	audit_describe_admin("POST", "/api/v1/service-tokens", (const uint8_t *)body, strlen(body), out,
			     sizeof(out));
	assert_string_equal(out, "POST /api/v1/service-tokens name=ci");
	audit_describe_admin("DELETE", "/api/v1/apps/ssh", NULL, 0, out, sizeof(out));
	assert_string_equal(out, "DELETE /api/v1/apps/ssh");
	const char odd[] = "{\"name\":\"a b\\n\"}"; /* not echoed: not a printable name */
	audit_describe_admin("POST", "/api/v1/apps", (const uint8_t *)odd, strlen(odd), out, sizeof(out));
	assert_string_equal(out, "POST /api/v1/apps");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_audit_append_and_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_bad_queries_are_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_prune_drops_only_old, setup, teardown),
	    cmocka_unit_test(test_audit_describe_admin_names_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
