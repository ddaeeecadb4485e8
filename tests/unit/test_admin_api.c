/* test_admin_api.c — drives admin_api_exec end to end against a temporary
 * store, then loads the model and checks what the edge would see. */
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

#include "core/err.h"
#include "core/log.h"
#include "edge/admin/admin_api.h"
#include "edge/model.h"
#include "edge/auth/policy.h"
#include "edge/store/store.h"

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
	snprintf(f->dir, sizeof(f->dir), "/tmp/burrow-test-admin-XXXXXX");
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

/* Runs one request, checks the status, and returns the parsed body. */
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
	/* one line of JSON (each store call is its own transaction: none can be left open) */
	assert_null(strchr(resp.body, '\n'));
	json_error_t jerr;
	json_t *j = json_loads(resp.body, 0, &jerr);
	if (!j)
		fail_msg("response is not JSON: %s", resp.body);
	if (want >= 400) {
		assert_true(json_is_string(json_object_get(j, "error")));
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

static bool hex_prefix(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static bool all_hex(const char *s, size_t n)
{
	return strlen(s) == n && hex_prefix(s, n);
}

static void assert_uuid4(const char *s)
{
	assert_int_equal(strlen(s), 36);
	assert_true(s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-');
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89ab", s[19]));
}

static model_t *load(fixture_t *f)
{
	model_t *m = NULL;
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_non_null(m);
	return m;
}

static void test_admin_app_create_list_delete(void **state)
{
	fixture_t *f = *state;
	json_t *app =
	    call(f, "POST", "/api/v1/apps", "{\"name\":\"ssh\",\"hostnames\":[\"SSH.Site.Test.\"]}", 201);
	assert_true(f->changed);
	assert_uuid4(str(app, "id"));
	assert_string_equal(str(app, "name"), "ssh");
	assert_true(all_hex(str(app, "aud"), 64));
	assert_int_equal(json_integer_value(json_object_get(app, "session_duration")), 86400);
	assert_true(json_integer_value(json_object_get(app, "created_at")) > 1600000000);
	json_t *hosts = json_object_get(app, "hostnames");
	assert_int_equal(json_array_size(hosts), 1);
	assert_string_equal(json_string_value(json_array_get(hosts, 0)), "ssh.site.test");

	call_drop(f, "POST", "/api/v1/apps",
		  "{\"name\":\"web\",\"hostnames\":[\"web.site.test\",\"WEB.site.test\",\"w2.site.test\"],"
		  "\"session_duration\":3600}",
		  201);

	json_t *list = call(f, "GET", "/api/v1/apps", NULL, 200);
	assert_false(f->changed);
	json_t *apps = json_object_get(list, "apps");
	assert_int_equal(json_array_size(apps), 2);
	assert_string_equal(str(json_array_get(apps, 0), "name"), "ssh");
	json_t *web = json_array_get(apps, 1);
	assert_int_equal(json_array_size(json_object_get(web, "hostnames")), 2); /* duplicates folded */
	assert_int_equal(json_integer_value(json_object_get(web, "session_duration")), 3600);

	model_t *m = load(f);
	const model_app_t *a = model_app_by_host(m, "ssh.site.test");
	assert_non_null(a);
	assert_string_equal(a->name, "ssh");
	assert_string_equal(a->aud, str(app, "aud"));
	assert_ptr_equal(model_app_by_name(m, str(app, "id")), a);
	assert_ptr_equal(model_app_by_name(m, "ssh"), a);
	assert_int_equal(model_app_by_host(m, "w2.site.test")->session_duration, 3600);
	model_free(m);

	/* by name, then by id */
	json_t *del = call(f, "DELETE", "/api/v1/apps/ssh", NULL, 200);
	assert_true(f->changed);
	assert_string_equal(str(del, "deleted"), str(app, "id"));
	json_decref(del);
	call_drop(f, "DELETE", "/api/v1/apps/ssh", NULL, 404);
	m = load(f);
	assert_null(model_app_by_host(m, "ssh.site.test"));
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/apps/%s", model_app_by_name(m, "web")->id);
	model_free(m);
	call_drop(f, "DELETE", path, NULL, 200);

	json_decref(list);
	list = call(f, "GET", "/api/v1/apps", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(list, "apps")), 0);
	json_decref(list);
	json_decref(app);
}

static void test_admin_app_conflicts(void **state)
{
	fixture_t *f = *state;
	call_drop(f, "POST", "/api/v1/apps", "{\"name\":\"ssh\",\"hostnames\":[\"ssh.site.test\"]}", 201);
	json_t *e =
	    call(f, "POST", "/api/v1/apps", "{\"name\":\"ssh\",\"hostnames\":[\"other.site.test\"]}", 409);
	assert_non_null(strstr(str(e, "error"), "\"ssh\""));
	json_decref(e);
	e = call(f, "POST", "/api/v1/apps",
		 "{\"name\":\"ssh2\",\"hostnames\":[\"new.site.test\",\"SSH.site.test\"]}", 409);
	assert_non_null(strstr(str(e, "error"), "ssh.site.test"));
	json_decref(e);

	/* nothing of the refused app was written */
	model_t *m = load(f);
	assert_int_equal(m->napps, 1);
	assert_null(model_app_by_host(m, "new.site.test"));
	model_free(m);
}

static void test_admin_bad_input(void **state)
{
	fixture_t *f = *state;
	static const char *const apps[] = {
	    "{\"hostnames\":[\"a.test\"]}",
	    "{\"name\":\"has space\",\"hostnames\":[\"a.test\"]}",
	    "{\"name\":\"\",\"hostnames\":[\"a.test\"]}",
	    "{\"name\":\"ok\"}",
	    "{\"name\":\"ok\",\"hostnames\":[]}",
	    "{\"name\":\"ok\",\"hostnames\":[\"-bad.test\"]}",
	    "{\"name\":\"ok\",\"hostnames\":[\"a.test:22\"]}",
	    "{\"name\":\"ok\",\"hostnames\":[7]}",
	    "{\"name\":\"ok\",\"hostnames\":\"a.test\"}",
	    "{\"name\":\"ok\",\"hostnames\":[\"a.test\"],\"session_duration\":\"1h\"}",
	    "{\"name\":\"ok\",\"hostnames\":[\"a.test\"],\"session_duration\":0}",
	    "{\"name\":\"ok\",\"hostnames\":[\"a.test\"],\"hostname\":\"typo\"}",
	    "{\"name\":7,\"hostnames\":[\"a.test\"]}",
	};
	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
		call_drop(f, "POST", "/api/v1/apps", apps[i], 400);

	call_drop(f, "POST", "/api/v1/apps", "{\"name\":\"ssh\",\"hostnames\":[\"ssh.site.test\"]}", 201);
	static const char *const policies[] = {
	    "{\"action\":\"allow\",\"include\":[\"colour=blue\"]}",
	    "{\"action\":\"allow\",\"include\":[\"ip=10.0.0.0/33\"]}",
	    "{\"action\":\"allow\",\"include\":[\"everyone\"],\"exclude\":[\"email=nobody\"]}",
	    "{\"action\":\"permit\",\"include\":[\"everyone\"]}",
	    "{\"include\":[\"everyone\"]}",
	    "{\"action\":\"service_auth\",\"include\":[]}",
	    "{\"action\":\"service_auth\",\"include\":[\"service-token=ghost\"]}",
	    "{\"action\":\"allow\",\"include\":[\"everyone\"],\"precedence\":-1}",
	    "{\"action\":\"allow\",\"include\":[\"everyone\"],\"precedence\":1.5}",
	    "{\"action\":\"allow\",\"include\":\"everyone\"}",
	    "{\"action\":\"allow\",\"name\":\"bad name\",\"include\":[\"everyone\"]}",
	};
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		call_drop(f, "POST", "/api/v1/apps/ssh/policies", policies[i], 400);
	json_t *e = call(f, "POST", "/api/v1/apps/ssh/policies",
			 "{\"action\":\"service_auth\",\"include\":[\"service-token=ghost\"]}", 400);
	assert_non_null(strstr(str(e, "error"), "ghost"));
	json_decref(e);

	call_drop(f, "POST", "/api/v1/service-tokens", "{\"name\":\"any\"}", 400);
	call_drop(f, "POST", "/api/v1/service-tokens", "{\"name\":\"ci\",\"duration\":-5}", 400);
	call_drop(f, "POST", "/api/v1/tunnels", "{\"name\":\"a/b\"}", 400);
	call_drop(f, "POST", "/api/v1/tunnels", "{}", 400);

	model_t *m = load(f);
	assert_int_equal(model_app_by_name(m, "ssh")->npolicies, 0);
	assert_int_equal(m->ntokens, 0);
	assert_int_equal(m->ntunnels, 0);
	model_free(m);
}

static void test_admin_service_token_secret_once_and_revoke(void **state)
{
	fixture_t *f = *state;
	json_t *tok = call(f, "POST", "/api/v1/service-tokens", "{\"name\":\"ci\"}", 201);
	assert_true(f->changed);
	const char *id = str(tok, "client_id");
	const char *secret = str(tok, "client_secret");
	assert_int_equal(strlen(id), 32 + strlen(".access"));
	assert_true(hex_prefix(id, 32));
	assert_string_equal(id + 32, ".access");
	assert_true(all_hex(secret, 64));
	assert_int_equal(json_integer_value(json_object_get(tok, "expires_at")), 0);
	assert_true(json_is_false(json_object_get(tok, "revoked")));

	call_drop(f, "POST", "/api/v1/service-tokens", "{\"name\":\"ci\"}", 409);
	json_t *tok2 =
	    call(f, "POST", "/api/v1/service-tokens", "{\"name\":\"deploy\",\"duration\":3600}", 201);
	assert_int_equal(json_integer_value(json_object_get(tok2, "expires_at")),
			 json_integer_value(json_object_get(tok2, "created_at")) + 3600);
	assert_string_not_equal(str(tok2, "client_secret"), secret);

	/* the list never shows a secret */
	json_t *list = call(f, "GET", "/api/v1/service-tokens", NULL, 200);
	json_t *arr = json_object_get(list, "service_tokens");
	assert_int_equal(json_array_size(arr), 2);
	for (size_t i = 0; i < 2; i++)
		assert_null(json_object_get(json_array_get(arr, i), "client_secret"));
	json_decref(list);

	model_t *m = load(f);
	const model_token_t *t = model_token_by_id(m, id);
	assert_non_null(t);
	assert_ptr_equal(model_token_by_name(m, "ci"), t);
	assert_true(model_secret_ok(t->secret_hash, secret, strlen(secret)));
	assert_false(model_secret_ok(t->secret_hash, secret, strlen(secret) - 1));
	assert_false(model_secret_ok(t->secret_hash, str(tok2, "client_secret"), 64));
	assert_false(t->revoked);
	model_free(m);

	/* revoke by name; the row stays, marked revoked */
	json_t *rv = call(f, "DELETE", "/api/v1/service-tokens/ci", NULL, 200);
	assert_true(f->changed);
	assert_string_equal(str(rv, "revoked"), id);
	json_decref(rv);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/service-tokens/%s", id);
	call_drop(f, "DELETE", path, NULL, 200);
	assert_false(f->changed); /* already revoked */
	call_drop(f, "DELETE", "/api/v1/service-tokens/ghost", NULL, 404);

	m = load(f);
	assert_true(model_token_by_id(m, id)->revoked);
	assert_false(model_token_by_name(m, "deploy")->revoked);
	model_free(m);
	list = call(f, "GET", "/api/v1/service-tokens", NULL, 200);
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(list, "service_tokens"), 0), "revoked")));
	json_decref(list);
	json_decref(tok2);
	json_decref(tok);
}

static void test_admin_tunnel_create_delete(void **state)
{
	fixture_t *f = *state;
	json_t *tun = call(f, "POST", "/api/v1/tunnels", "{\"name\":\"host1\"}", 201);
	assert_true(f->changed);
	const char *id = str(tun, "id");
	const char *secret = str(tun, "tunnel_secret");
	assert_uuid4(id);
	assert_true(all_hex(secret, 64));
	call_drop(f, "POST", "/api/v1/tunnels", "{\"name\":\"host1\"}", 409);

	call_drop(f, "POST", "/api/v1/routes", "{\"tunnel\":\"host1\",\"hostname\":\"ssh.site.test\"}", 201);
	json_t *routes = call(f, "GET", "/api/v1/routes", NULL, 200);
	json_t *r0 = json_array_get(json_object_get(routes, "routes"), 0);
	assert_string_equal(str(r0, "hostname"), "ssh.site.test");
	assert_string_equal(str(r0, "tunnel_id"), id);
	assert_string_equal(str(r0, "tunnel_name"), "host1");
	json_decref(routes);

	json_t *list = call(f, "GET", "/api/v1/tunnels", NULL, 200);
	json_t *t0 = json_array_get(json_object_get(list, "tunnels"), 0);
	assert_string_equal(str(t0, "name"), "host1");
	assert_null(json_object_get(t0, "tunnel_secret"));
	json_decref(list);

	model_t *m = load(f);
	const model_tunnel_t *t = model_tunnel_by_id(m, id);
	assert_non_null(t);
	assert_true(model_secret_ok(t->secret_hash, secret, 64));
	assert_string_equal(model_route_by_host(m, "ssh.site.test")->tunnel_id, id);
	model_free(m);

	json_t *del = call(f, "DELETE", "/api/v1/tunnels/host1", NULL, 200);
	assert_true(f->changed);
	assert_string_equal(str(del, "deleted"), id);
	json_decref(del);
	call_drop(f, "DELETE", "/api/v1/tunnels/host1", NULL, 404);

	m = load(f);
	assert_null(model_tunnel_by_id(m, id));
	assert_null(model_route_by_host(m, "ssh.site.test")); /* routes go with their tunnel */
	model_free(m);
	json_decref(tun);
}

/* Routes are bound by the admin only: route add by tunnel name or id, one
 * owner per hostname (409 naming it), 404 for an unknown tunnel, 400 for a
 * hostname that is not one; delete by any spelling of the hostname. */
static void test_admin_route_add_delete(void **state)
{
	fixture_t *f = *state;
	json_t *t1 = call(f, "POST", "/api/v1/tunnels", "{\"name\":\"host1\"}", 201);
	json_t *t2 = call(f, "POST", "/api/v1/tunnels", "{\"name\":\"host2\"}", 201);
	char body[256];

	json_t *r =
	    call(f, "POST", "/api/v1/routes", "{\"tunnel\":\"host1\",\"hostname\":\"SSH.Site.Test.\"}", 201);
	assert_true(f->changed);
	assert_string_equal(str(r, "hostname"), "ssh.site.test");
	assert_string_equal(str(r, "tunnel_id"), str(t1, "id"));
	assert_string_equal(str(r, "tunnel_name"), "host1");
	json_decref(r);
	snprintf(body, sizeof(body), "{\"tunnel\":\"%s\",\"hostname\":\"git.site.test\"}", str(t2, "id"));
	call_drop(f, "POST", "/api/v1/routes", body, 201);

	/* taken, by another tunnel or the same one: 409 naming the owner */
	json_t *e =
	    call(f, "POST", "/api/v1/routes", "{\"tunnel\":\"host2\",\"hostname\":\"ssh.site.test\"}", 409);
	assert_non_null(strstr(str(e, "error"), "ssh.site.test\" is already routed to tunnel \"host1\""));
	json_decref(e);
	call_drop(f, "POST", "/api/v1/routes", "{\"tunnel\":\"host1\",\"hostname\":\"ssh.site.test\"}", 409);
	e = call(f, "POST", "/api/v1/routes", "{\"tunnel\":\"ghost\",\"hostname\":\"new.site.test\"}", 404);
	assert_non_null(strstr(str(e, "error"), "ghost"));
	json_decref(e);
	static const char *const bad[] = {
	    "{\"tunnel\":\"host1\",\"hostname\":\"bad_host.site.test\"}",
	    "{\"tunnel\":\"host1\",\"hostname\":\"a.test:22\"}",
	    "{\"tunnel\":\"host1\",\"hostname\":\"\"}",
	    "{\"tunnel\":\"host1\"}",
	    "{\"hostname\":\"a.test\"}",
	    "{\"tunnel\":\"a/b\",\"hostname\":\"a.test\"}",
	    "{\"tunnel\":\"host1\",\"hostname\":[\"a.test\"]}",
	    "{\"tunnel\":\"host1\",\"hostnames\":[\"a.test\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		call_drop(f, "POST", "/api/v1/routes", bad[i], 400);

	model_t *m = load(f);
	assert_int_equal(m->nroutes, 2);
	assert_string_equal(model_route_by_host(m, "ssh.site.test")->tunnel_id, str(t1, "id"));
	assert_string_equal(model_route_by_host(m, "git.site.test")->tunnel_id, str(t2, "id"));
	model_free(m);

	json_t *d = call(f, "DELETE", "/api/v1/routes/GIT.site.test.", NULL, 200);
	assert_true(f->changed);
	assert_string_equal(str(d, "deleted"), "git.site.test");
	assert_string_equal(str(d, "tunnel_name"), "host2");
	json_decref(d);
	call_drop(f, "DELETE", "/api/v1/routes/git.site.test", NULL, 404);
	call_drop(f, "DELETE", "/api/v1/routes/bad_host", NULL, 400);
	call_drop(f, "GET", "/api/v1/routes/ssh.site.test", NULL, 405);

	m = load(f);
	assert_null(model_route_by_host(m, "git.site.test"));
	assert_non_null(model_route_by_host(m, "ssh.site.test"));
	assert_non_null(model_tunnel_by_id(m, str(t2, "id"))); /* the tunnel stays */
	model_free(m);
	json_decref(t1);
	json_decref(t2);
}

/* tunnel create binds its hostnames with the tunnel in one transaction: a
 * hostname routed elsewhere, or not a hostname, leaves neither behind. */
static void test_admin_tunnel_create_with_hostnames(void **state)
{
	fixture_t *f = *state;
	json_t *t =
	    call(f, "POST", "/api/v1/tunnels",
		 "{\"name\":\"host1\",\"hostnames\":[\"ssh.site.test\",\"Git.Site.Test\",\"ssh.site.test\"]}",
		 201);
	json_t *hosts = json_object_get(t, "hostnames");
	assert_int_equal(json_array_size(hosts), 2);
	assert_string_equal(json_string_value(json_array_get(hosts, 1)), "git.site.test");
	assert_true(all_hex(str(t, "tunnel_secret"), 64));

	json_t *e = call(f, "POST", "/api/v1/tunnels",
			 "{\"name\":\"x\",\"hostnames\":[\"new.site.test\",\"ssh.site.test\"]}", 409);
	assert_non_null(strstr(str(e, "error"), "ssh.site.test\" is already routed to tunnel \"host1\""));
	json_decref(e);
	call_drop(f, "POST", "/api/v1/tunnels", "{\"name\":\"y\",\"hostnames\":[\"new.site.test\",\"-bad\"]}",
		  400);
	call_drop(f, "POST", "/api/v1/tunnels", "{\"name\":\"z\",\"hostnames\":\"new.site.test\"}", 400);
	call_drop(f, "POST", "/api/v1/tunnels", "{\"name\":\"host1\",\"hostnames\":[\"new.site.test\"]}",
		  409);
	call_drop(f, "POST", "/api/v1/tunnels", "{\"name\":\"empty\",\"hostnames\":[]}", 201);

	model_t *m = load(f);
	assert_int_equal(m->ntunnels, 2); /* host1 and empty */
	assert_int_equal(m->nroutes, 2);
	assert_null(model_route_by_host(m, "new.site.test"));
	assert_string_equal(model_route_by_host(m, "git.site.test")->tunnel_id, str(t, "id"));
	model_free(m);
	json_decref(t);
}

static void test_admin_policy_add_list_delete(void **state)
{
	fixture_t *f = *state;
	call_drop(f, "POST", "/api/v1/apps", "{\"name\":\"ssh\",\"hostnames\":[\"ssh.site.test\"]}", 201);
	call_drop(f, "POST", "/api/v1/apps", "{\"name\":\"web\",\"hostnames\":[\"web.site.test\"]}", 201);
	call_drop(f, "POST", "/api/v1/service-tokens", "{\"name\":\"ci\"}", 201);

	json_t *p1 = call(f, "POST", "/api/v1/apps/ssh/policies",
			  "{\"action\":\"service_auth\",\"name\":\"ci\",\"include\":[\"service-token=ci\"],"
			  "\"require\":[],\"exclude\":[]}",
			  201);
	assert_true(f->changed);
	assert_uuid4(str(p1, "id"));
	assert_string_equal(str(p1, "app"), "ssh");
	assert_string_equal(str(p1, "action"), "service_auth");
	assert_int_equal(json_integer_value(json_object_get(p1, "precedence")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(p1, "include"), 0)),
			    "service-token=ci");
	assert_int_equal(json_array_size(json_object_get(p1, "exclude")), 0);

	/* name defaults to the action; precedence to after the last */
	json_t *p2 = call(f, "POST", "/api/v1/apps/ssh/policies",
			  "{\"action\":\"allow\",\"include\":[\"email-domain=example.com\"]}", 201);
	assert_string_equal(str(p2, "name"), "allow");
	assert_int_equal(json_integer_value(json_object_get(p2, "precedence")), 2);
	json_t *p0 = call(f, "POST", "/api/v1/apps/ssh/policies",
			  "{\"action\":\"deny\",\"name\":\"blocked\",\"include\":[\"ip=192.0.2.0/24\"],"
			  "\"precedence\":0}",
			  201);
	call_drop(f, "POST", "/api/v1/apps/web/policies",
		  "{\"action\":\"bypass\",\"include\":[\"everyone\"]}", 201);
	call_drop(f, "POST", "/api/v1/apps/nope/policies",
		  "{\"action\":\"bypass\",\"include\":[\"everyone\"]}", 404);

	json_t *list = call(f, "GET", "/api/v1/apps/ssh/policies", NULL, 200);
	json_t *arr = json_object_get(list, "policies");
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(str(json_array_get(arr, 0), "name"), "blocked");
	assert_string_equal(str(json_array_get(arr, 1), "name"), "ci");
	assert_string_equal(str(json_array_get(arr, 2), "name"), "allow");
	json_decref(list);
	call_drop(f, "GET", "/api/v1/apps/nope/policies", NULL, 404);

	list = call(f, "GET", "/api/v1/policies", NULL, 200);
	arr = json_object_get(list, "policies");
	assert_int_equal(json_array_size(arr), 4);
	assert_string_equal(str(json_array_get(arr, 3), "app"), "web");
	json_decref(list);

	model_t *m = load(f);
	const model_app_t *a = model_app_by_host(m, "ssh.site.test");
	assert_int_equal(a->npolicies, 3);
	assert_int_equal(a->policies[0].action, POLICY_DENY);
	assert_int_equal(a->policies[1].action, POLICY_SERVICE_AUTH);
	assert_string_equal(a->policies[1].include[0], "service-token=ci");
	policy_subject_t s = {.token_id = "x.access", .token_name = "ci"};
	policy_decision_t d;
	policy_eval(a, &s, &d);
	assert_true(d.allowed);
	assert_string_equal(d.policy->id, str(p1, "id"));
	model_free(m);

	char path[128];
	snprintf(path, sizeof(path), "/api/v1/policies/%s", str(p1, "id"));
	json_t *del = call(f, "DELETE", path, NULL, 200);
	assert_true(f->changed);
	assert_string_equal(str(del, "deleted"), str(p1, "id"));
	json_decref(del);
	call_drop(f, "DELETE", path, NULL, 404);

	/* deleting the app takes its policies with it */
	call_drop(f, "DELETE", "/api/v1/apps/ssh", NULL, 200);
	list = call(f, "GET", "/api/v1/policies", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(list, "policies")), 1);
	json_decref(list);

	json_decref(p0);
	json_decref(p1);
	json_decref(p2);
}

static void test_admin_unknown_path_404(void **state)
{
	fixture_t *f = *state;
	call_drop(f, "GET", "/api/v1/nope", NULL, 404);
	call_drop(f, "GET", "/api/v2/apps", NULL, 404);
	call_drop(f, "GET", "/api/v1/apps/x/y/z", NULL, 404);
	call_drop(f, "GET", "/api/v1//apps", NULL, 404);
	call_drop(f, "GET", "/", NULL, 404);
	call_drop(f, "GET", "/api/v1/apps/", NULL, 200); /* one trailing slash is tolerated */
	call_drop(f, "PUT", "/api/v1/apps", "{}", 405);
	call_drop(f, "DELETE", "/api/v1/apps", NULL, 405);
}

static void test_admin_malformed_json_400(void **state)
{
	fixture_t *f = *state;
	static const char *const bodies[] = {
	    "{",
	    "[]",
	    "\"ssh\"",
	    "{\"name\":\"a\",\"name\":\"b\",\"hostnames\":[\"a.test\"]}",
	    "{\"name\":\"a\"} x",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		call_drop(f, "POST", "/api/v1/apps", bodies[i], 400);
	call_drop(f, "POST", "/api/v1/apps", NULL, 400);

	/* an embedded NUL must not shorten a name into something valid */
	admin_req_t req = {.method = "POST", .path = "/api/v1/tunnels"};
	static const char nul[] = "{\"name\":\"ok\\u0000evil\"}";
	req.body = (const uint8_t *)nul;
	req.body_len = sizeof(nul) - 1;
	admin_resp_t resp;
	admin_api_exec(f->st, &req, &resp);
	assert_int_equal(resp.status, 400);
	free(resp.body);
}

/* Every response has a JSON body (fuzz_admin checks it). An unknown
 * selector is echoed cut to 40 bytes, which can split a UTF-8 sequence; the
 * error must still be a 400 with a JSON body, not a 500 without one. */
static void test_admin_error_echo_cut_mid_utf8_400(void **state)
{
	fixture_t *f = *state;
	/* "a" and 25 U+00E9: the selector's 40th byte starts a two-byte sequence */
	static const char body[] =
	    "{\"action\":\"allow\",\"include\":[\"a"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\"]}";
	json_t *e = call(f, "POST", "/api/v1/apps/nope/policies", body, 400);
	assert_non_null(strstr(str(e, "error"), "unknown selector"));
	json_decref(e);
}

int main(void)
{
	log_set_level(L_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_admin_app_create_list_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_app_conflicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_service_token_secret_once_and_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_tunnel_create_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_route_add_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_tunnel_create_with_hostnames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_policy_add_list_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_unknown_path_404, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_malformed_json_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_error_echo_cut_mid_utf8_400, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
