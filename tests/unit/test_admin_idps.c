/* test_admin_idps.c — the admin API's OpenID Connect providers, driven
 * through admin_api_exec against a temporary store: create (defaults, the
 * client secret in no response, error or audit description, but in the
 * model), list, 400s for bad fields, 409 for a taken name, delete (404,
 * 409 while an app accepts it), and apps limited to providers (404 for an
 * unknown one, listed in the app). */
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

#define PASSWORD "idp-client-secret-XYZ" /* the secret no response may hold */

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
	snprintf(f->dir, sizeof(f->dir), "/tmp/burrow-test-idps-XXXXXX");
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

#define IDP_BODY(extra)                                                                                      \
	"{\"name\":\"corp\",\"issuer\":\"https://"                                                           \
	"idp.example\",\"client_id\":\"burrow\",\"client_secret\":\"" PASSWORD "\"" extra "}"

static void test_idps_create_list_delete(void **state)
{
	fixture_t *f = *state;
	json_t *p = call(f, "POST", "/api/v1/idps", IDP_BODY(""), 201);
	assert_true(f->changed);
	assert_string_equal(str(p, "name"), "corp");
	assert_string_equal(str(p, "issuer"), "https://idp.example");
	assert_string_equal(str(p, "groups_claim"), "groups");
	assert_string_equal(str(p, "scopes"), "openid email profile");
	assert_true(json_is_false(json_object_get(p, "custom_ca")));
	assert_null(json_object_get(p, "client_secret"));
	json_decref(p);
	call_drop(f, "POST", "/api/v1/idps", IDP_BODY(""), 409);

	json_t *l = call(f, "GET", "/api/v1/idps", NULL, 200);
	json_t *arr = json_object_get(l, "idps");
	assert_int_equal(json_array_size(arr), 1);
	assert_null(json_object_get(json_array_get(arr, 0), "client_secret"));
	json_decref(l);

	/* the model carries the secret: the relying party sends it */
	model_t *m = NULL;
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_string_equal(model_idp_by_name(m, "corp")->client_secret, PASSWORD);
	model_free(m);

	/* the audit record names the provider only */
	char what[200];
	const char *body = IDP_BODY("");
	audit_describe_admin("POST", "/api/v1/idps", (const uint8_t *)body, strlen(body), what, sizeof(what));
	assert_string_equal(what, "POST /api/v1/idps name=corp");

	json_t *d = call(f, "DELETE", "/api/v1/idps/corp", NULL, 200);
	assert_string_equal(str(d, "deleted"), "corp");
	json_decref(d);
	call_drop(f, "DELETE", "/api/v1/idps/corp", NULL, 404);
}

static void test_idps_bad_fields_400(void **state)
{
	fixture_t *f = *state;
	static const char *const bad[] = {
	    "{\"name\":\"corp\",\"issuer\":\"https://idp.example\",\"client_id\":\"burrow\"}", /* no secret */
	    "{\"name\":\"corp\",\"issuer\":\"http://"
	    "idp.example\",\"client_id\":\"burrow\",\"client_secret\":\"" PASSWORD "\"}",
	    "{\"name\":\"corp\",\"issuer\":\"https://"
	    "idp.example?x=1\",\"client_id\":\"b\",\"client_secret\":\"" PASSWORD "\"}",
	    "{\"name\":\"corp\",\"issuer\":\"https://idp.example\",\"client_secret\":\"" PASSWORD "\"}",
	    "{\"name\":\"local\",\"issuer\":\"https://"
	    "idp.example\",\"client_id\":\"b\",\"client_secret\":\"" PASSWORD "\"}",
	    IDP_BODY(",\"scopes\":\"email profile\""),
	    IDP_BODY(",\"scopes\":\"openid  email\""),
	    IDP_BODY(",\"groups_claim\":\"a b\""),
	    IDP_BODY(",\"ca_pem\":\"not a certificate\""),
	    IDP_BODY(",\"extra\":1"),
	    "{\"name\":\"corp\",\"issuer\":\"https://"
	    "idp.example\",\"client_id\":\"b\",\"client_secret\":\"with space\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		call_drop(f, "POST", "/api/v1/idps", bad[i], 400);
	json_t *l = call(f, "GET", "/api/v1/idps", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(l, "idps")), 0);
	json_decref(l);
}

static void test_idps_apps_limited(void **state)
{
	fixture_t *f = *state;
	call_drop(f, "POST", "/api/v1/idps",
		  IDP_BODY(",\"groups_claim\":\"roles\",\"scopes\":\"openid email\""), 201);
	json_t *e =
	    call(f, "POST", "/api/v1/apps",
		 "{\"name\":\"ssh\",\"hostnames\":[\"ssh.site.test\"],\"idps\":[\"corp\",\"nosuch\"]}", 404);
	assert_string_equal(str(e, "error"),
			    "no identity provider named \"nosuch\" (burrow admin idp list shows them)");
	json_decref(e);
	json_t *a =
	    call(f, "POST", "/api/v1/apps",
		 "{\"name\":\"ssh\",\"hostnames\":[\"ssh.site.test\"],\"idps\":[\"corp\",\"corp\"]}", 201);
	json_t *idps = json_object_get(a, "idps");
	assert_int_equal(json_array_size(idps), 1);
	assert_string_equal(json_string_value(json_array_get(idps, 0)), "corp");
	json_decref(a);
	/* without "idps": any provider */
	a = call(f, "POST", "/api/v1/apps", "{\"name\":\"web\",\"hostnames\":[\"web.site.test\"]}", 201);
	assert_int_equal(json_array_size(json_object_get(a, "idps")), 0);
	json_decref(a);
	call_drop(f, "POST", "/api/v1/apps",
		  "{\"name\":\"x\",\"hostnames\":[\"x.site.test\"],\"idps\":[\"a b\"]}", 400);

	e = call(f, "DELETE", "/api/v1/idps/corp", NULL, 409);
	assert_non_null(strstr(str(e, "error"), "accepted by app \"ssh\""));
	json_decref(e);
	call_drop(f, "DELETE", "/api/v1/apps/ssh", NULL, 200);
	call_drop(f, "DELETE", "/api/v1/idps/corp", NULL, 200);
}

int main(void)
{
	log_set_level(L_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_idps_create_list_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idps_bad_fields_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idps_apps_limited, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
