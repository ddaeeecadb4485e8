/* test_store.c — the store's typed operations, through store.h only, so
 * that every engine runs them: each operation, its conflicts and not-founds,
 * list order, the model snapshot, and the change counter (moves on every
 * write, also as seen by a second handle like another edge's, never on a
 * read or a refused write). SQLite specifics: test_store_sqlite.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/auth/keys.h"
#include "edge/store/store.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	store_t *st;
} fixture_t;

/* The one engine-specific line: where the store lives. */
static store_t *open_store(const fixture_t *f)
{
	store_t *st = NULL;
	char err[256];
	if (store_open(f->path, &st, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	return st;
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/burrow-test-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/edge.db", f->dir);
	f->st = open_store(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	static const char *const files[] = {"edge.db", "edge.db-wal", "edge.db-shm"};
	char p[192];
	store_close(f->st);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t version(store_t *st)
{
	int64_t v = -1;
	assert_int_equal(store_change_version(st, &v), 0);
	return v;
}

/* A heap list of the given strings (NULL-terminated). */
static store_strv_t strv(const char *first, ...)
{
	store_strv_t sv = {calloc(16, sizeof(char *)), 0};
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		sv.v[sv.n++] = strdup(s);
	va_end(ap);
	return sv;
}

static void app_create(store_t *st, const char *id, const char *name, const char *host)
{
	store_app_t in = {.session_duration = 3600}, out;
	store_why_t why;
	snprintf(in.id, sizeof(in.id), "%s", id);
	snprintf(in.name, sizeof(in.name), "%s", name);
	memset(in.aud, id[strlen(id) - 1], STORE_AUD_LEN); /* unique like the ids */
	in.hostnames = strv(host, NULL);
	assert_int_equal(store_app_create(st, &in, &out, &why), 0);
	store_app_clear(&in);
	store_app_clear(&out);
}

static int policy_add(store_t *st, const char *id, const char *app, int64_t precedence, const char *token,
		      store_why_t *why)
{
	store_policy_t in = {.action = POLICY_ALLOW, .precedence = precedence}, out;
	store_strv_t tokens = token ? strv(token, NULL) : (store_strv_t){0};
	snprintf(in.id, sizeof(in.id), "%s", id);
	snprintf(in.app_id, sizeof(in.app_id), "%s", app);
	snprintf(in.name, sizeof(in.name), "p-%s", id);
	in.include = strv("everyone", NULL);
	int r = store_policy_add(st, &in, &tokens, &out, why);
	if (r == 0) {
		assert_string_equal(out.id, id);
		assert_string_equal(out.include.v[0], "everyone");
	}
	store_policy_clear(&in);
	store_policy_clear(&out);
	store_strv_clear(&tokens);
	return r;
}

static int token_create(store_t *st, const char *id, const char *name, store_why_t *why)
{
	store_token_t in = {.expires_at = 99}, out;
	snprintf(in.id, sizeof(in.id), "%s", id);
	snprintf(in.name, sizeof(in.name), "%s", name);
	memset(in.secret_hash, 7, sizeof(in.secret_hash));
	int r = store_token_create(st, &in, &out, why);
	if (r == 0) {
		assert_string_equal(out.id, id);
		assert_int_equal(out.expires_at, 99);
		assert_false(out.revoked);
		assert_memory_equal(out.secret_hash, in.secret_hash, 32);
	}
	return r;
}

static int tunnel_create(store_t *st, const char *id, const char *name, store_strv_t hosts, store_why_t *why)
{
	store_tunnel_t in = {0}, out;
	snprintf(in.id, sizeof(in.id), "%s", id);
	snprintf(in.name, sizeof(in.name), "%s", name);
	memset(in.secret_hash, 9, sizeof(in.secret_hash));
	int r = store_tunnel_create(st, &in, &hosts, &out, why);
	if (r == 0)
		assert_string_equal(out.name, name);
	store_strv_clear(&hosts);
	return r;
}

static void test_store_apps(void **state)
{
	fixture_t *f = *state;
	store_app_t in = {.session_duration = 60}, out, *v;
	store_why_t why;
	size_t n;
	char id[STORE_ID_MAX + 1];

	snprintf(in.id, sizeof(in.id), "id-b");
	snprintf(in.name, sizeof(in.name), "bravo");
	memset(in.aud, 'f', STORE_AUD_LEN);
	in.hostnames = strv("z.test", "b.test", NULL);
	assert_int_equal(store_app_create(f->st, &in, &out, &why), 0);
	assert_string_equal(out.id, "id-b");
	assert_int_equal(out.session_duration, 60);
	assert_true(out.created_at > 0);
	assert_int_equal(out.hostnames.n, 2);
	assert_string_equal(out.hostnames.v[0], "b.test"); /* by name, not as given */
	store_app_clear(&out);

	/* conflicts name what is in the way, and change nothing */
	snprintf(in.id, sizeof(in.id), "id-x");
	assert_int_equal(store_app_create(f->st, &in, &out, &why), ERR_EXISTS);
	assert_int_equal(why.what, STORE_APP);
	assert_string_equal(why.key, "bravo");
	snprintf(in.name, sizeof(in.name), "other");
	assert_int_equal(store_app_create(f->st, &in, &out, &why), ERR_EXISTS);
	assert_int_equal(why.what, STORE_HOSTNAME);
	assert_string_equal(why.key, "z.test");
	assert_string_equal(why.owner, "bravo");
	store_app_clear(&in);

	app_create(f->st, "id-a", "alpha", "a.test");
	assert_int_equal(store_app_list(f->st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "alpha");
	assert_string_equal(v[1].name, "bravo");
	assert_int_equal(v[1].hostnames.n, 2);
	store_apps_free(v, n);

	/* delete by name or id; the hostnames go with it */
	assert_int_equal(store_app_delete(f->st, "bravo", id, &why), 0);
	assert_string_equal(id, "id-b");
	assert_int_equal(store_app_delete(f->st, "id-a", id, &why), 0);
	assert_string_equal(id, "id-a");
	assert_int_equal(store_app_delete(f->st, "alpha", id, &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_APP);
	assert_string_equal(why.key, "alpha");
	app_create(f->st, "id-c", "charlie", "z.test");
	assert_int_equal(store_app_list(f->st, &v, &n), 0);
	assert_int_equal(n, 1);
	store_apps_free(v, n);
}

static void test_store_policies(void **state)
{
	fixture_t *f = *state;
	store_policy_t *v;
	store_why_t why;
	size_t n;
	char id[STORE_ID_MAX + 1];

	app_create(f->st, "id-z", "zulu", "z.test");
	app_create(f->st, "id-y", "yankee", "y.test");
	assert_int_equal(policy_add(f->st, "p1", "zulu", -1, NULL, &why), 0);
	assert_int_equal(policy_add(f->st, "p2", "id-z", -1, NULL, &why), 0);
	/* ties in precedence keep creation order, whatever the ids */
	assert_int_equal(policy_add(f->st, "p9", "zulu", 5, NULL, &why), 0);
	assert_int_equal(policy_add(f->st, "p0", "zulu", 5, NULL, &why), 0);
	assert_int_equal(policy_add(f->st, "p5", "yankee", 1, NULL, &why), 0);

	assert_int_equal(store_policy_list(f->st, "zulu", &v, &n, &why), 0);
	assert_int_equal(n, 4);
	const char *want[] = {"p1", "p2", "p9", "p0"};
	const int64_t prec[] = {1, 2, 5, 5};
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].id, want[i]);
		assert_int_equal(v[i].precedence, prec[i]);
		assert_string_equal(v[i].app_id, "id-z");
		assert_string_equal(v[i].app_name, "zulu");
		assert_int_equal(v[i].action, POLICY_ALLOW);
	}
	store_policies_free(v, n);
	/* all apps: by app name first */
	assert_int_equal(store_policy_list(f->st, NULL, &v, &n, &why), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].id, "p5");
	assert_string_equal(v[1].id, "p1");
	store_policies_free(v, n);

	assert_int_equal(store_policy_list(f->st, "nope", &v, &n, &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_APP);
	assert_int_equal(policy_add(f->st, "px", "nope", -1, NULL, &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_APP);
	assert_int_equal(policy_add(f->st, "px", "zulu", -1, "ci", &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_TOKEN);
	assert_string_equal(why.key, "ci");
	assert_int_equal(token_create(f->st, "c1", "ci", &why), 0);
	assert_int_equal(policy_add(f->st, "px", "zulu", -1, "ci", &why), 0);
	/* after the highest precedence there is no next one */
	assert_int_equal(policy_add(f->st, "pmax", "yankee", STORE_PRECEDENCE_MAX, NULL, &why), 0);
	assert_int_equal(policy_add(f->st, "py", "yankee", -1, NULL, &why), ERR_TOOBIG);

	assert_int_equal(store_policy_delete(f->st, "p2", &why), 0);
	assert_int_equal(store_policy_delete(f->st, "p2", &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_POLICY);
	/* an app's policies go with it */
	assert_int_equal(store_app_delete(f->st, "zulu", id, &why), 0);
	assert_int_equal(store_policy_list(f->st, NULL, &v, &n, &why), 0);
	assert_int_equal(n, 2);
	store_policies_free(v, n);
}

static void test_store_tokens(void **state)
{
	fixture_t *f = *state;
	store_token_t *v;
	store_why_t why;
	size_t n;
	bool changed;
	char id[STORE_ID_MAX + 1];

	assert_int_equal(token_create(f->st, "id-2", "zz", &why), 0);
	assert_int_equal(token_create(f->st, "id-1", "aa", &why), 0);
	assert_int_equal(token_create(f->st, "id-3", "aa", &why), ERR_EXISTS);
	assert_int_equal(why.what, STORE_TOKEN);
	assert_string_equal(why.key, "aa");

	assert_int_equal(store_token_revoke(f->st, "zz", id, &changed, &why), 0);
	assert_string_equal(id, "id-2");
	assert_true(changed);
	assert_int_equal(store_token_revoke(f->st, "id-2", id, &changed, &why), 0);
	assert_false(changed);
	assert_int_equal(store_token_revoke(f->st, "nope", id, &changed, &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_TOKEN);
	/* a revoked token keeps its name */
	assert_int_equal(token_create(f->st, "id-4", "zz", &why), ERR_EXISTS);

	assert_int_equal(store_token_list(f->st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "aa");
	assert_false(v[0].revoked);
	assert_string_equal(v[1].name, "zz");
	assert_true(v[1].revoked);
	free(v);
}

static void test_store_tunnels_routes(void **state)
{
	fixture_t *f = *state;
	store_tunnel_t *tv;
	store_route_t *rv, rt;
	store_why_t why;
	size_t n;
	char id[STORE_ID_MAX + 1];

	assert_int_equal(tunnel_create(f->st, "t2", "host2", strv("b.test", "a.test", NULL), &why), 0);
	assert_int_equal(tunnel_create(f->st, "t1", "host1", (store_strv_t){0}, &why), 0);
	assert_int_equal(tunnel_create(f->st, "t3", "host2", (store_strv_t){0}, &why), ERR_EXISTS);
	assert_int_equal(why.what, STORE_TUNNEL);
	/* all or nothing: a taken hostname leaves no tunnel and no route behind */
	assert_int_equal(tunnel_create(f->st, "t3", "host3", strv("c.test", "a.test", NULL), &why),
			 ERR_EXISTS);
	assert_int_equal(why.what, STORE_HOSTNAME);
	assert_string_equal(why.key, "a.test");
	assert_string_equal(why.owner, "host2");
	assert_int_equal(store_tunnel_list(f->st, &tv, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(tv[0].name, "host1");
	assert_string_equal(tv[1].name, "host2");
	free(tv);

	assert_int_equal(store_route_add(f->st, "host1", "0.test", &rt, &why), 0);
	assert_string_equal(rt.tunnel_id, "t1");
	assert_string_equal(rt.tunnel_name, "host1");
	assert_int_equal(store_route_add(f->st, "t1", "b.test", &rt, &why), ERR_EXISTS);
	assert_string_equal(why.owner, "host2");
	assert_int_equal(store_route_add(f->st, "nope", "d.test", &rt, &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_TUNNEL);
	assert_int_equal(store_route_list(f->st, &rv, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rv[0].hostname, "0.test");
	assert_string_equal(rv[1].hostname, "a.test");
	assert_string_equal(rv[2].hostname, "b.test");
	free(rv);

	assert_int_equal(store_route_delete(f->st, "a.test", &rt, &why), 0);
	assert_string_equal(rt.hostname, "a.test");
	assert_string_equal(rt.tunnel_name, "host2");
	assert_int_equal(store_route_delete(f->st, "a.test", &rt, &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_ROUTE);
	/* a tunnel's routes go with it */
	assert_int_equal(store_tunnel_delete(f->st, "host2", id, &why), 0);
	assert_string_equal(id, "t2");
	assert_int_equal(store_tunnel_delete(f->st, "host2", id, &why), ERR_NOTFOUND);
	assert_int_equal(store_route_list(f->st, &rv, &n), 0);
	assert_int_equal(n, 1);
	free(rv);
}

static void test_store_load_model(void **state)
{
	fixture_t *f = *state;
	store_why_t why;
	model_t *m;

	app_create(f->st, "id-s", "ssh", "ssh.test");
	assert_int_equal(policy_add(f->st, "p2", "ssh", 7, NULL, &why), 0);
	assert_int_equal(policy_add(f->st, "p1", "ssh", 3, NULL, &why), 0);
	assert_int_equal(token_create(f->st, "c1", "ci", &why), 0);
	assert_int_equal(tunnel_create(f->st, "t1", "host1", strv("ssh.test", NULL), &why), 0);

	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(m->version, version(f->st));
	assert_int_equal(m->napps, 1);
	assert_string_equal(m->apps[0].aud,
			    "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss");
	assert_int_equal(m->apps[0].npolicies, 2);
	assert_string_equal(m->apps[0].policies[0].id, "p1");
	assert_int_equal(m->apps[0].policies[0].ninclude, 1);
	assert_non_null(model_app_by_host(m, "ssh.test"));
	assert_non_null(model_token_by_name(m, "ci"));
	assert_int_equal(model_token_by_name(m, "ci")->expires_at, 99);
	assert_non_null(model_tunnel_by_id(m, "t1"));
	assert_string_equal(model_route_by_host(m, "ssh.test")->tunnel_id, "t1");
	model_free(m);
}

/* Every write moves the counter, also for a second handle on the same store
 * (another edge); reads, refused writes and no-op revocations do not. */
static void test_store_change_version(void **state)
{
	fixture_t *f = *state;
	store_t *other = open_store(f);
	store_why_t why;
	store_app_t *apps;
	store_route_t rt;
	model_t *m;
	size_t n;
	bool changed;
	char id[STORE_ID_MAX + 1];
	int64_t v = version(f->st);

#define MOVES(expr)                                                                                          \
	do {                                                                                                 \
		assert_int_equal((expr), 0);                                                                 \
		assert_true(version(f->st) > v);                                                             \
		assert_int_equal(version(other), version(f->st));                                            \
		v = version(f->st);                                                                          \
	} while (0)
#define STAYS(expr, want)                                                                                    \
	do {                                                                                                 \
		assert_int_equal((expr), (want));                                                            \
		assert_int_equal(version(f->st), v);                                                         \
		assert_int_equal(version(other), v);                                                         \
	} while (0)

	store_app_t in = {.session_duration = 1}, out;
	snprintf(in.id, sizeof(in.id), "a1");
	snprintf(in.name, sizeof(in.name), "app");
	in.hostnames = strv("h.test", NULL);
	MOVES(store_app_create(f->st, &in, &out, &why));
	store_app_clear(&out);
	STAYS(store_app_create(f->st, &in, &out, &why), ERR_EXISTS);
	store_app_clear(&in);
	MOVES(policy_add(f->st, "p1", "app", -1, NULL, &why));
	STAYS(policy_add(f->st, "p2", "app", -1, "nope", &why), ERR_NOTFOUND);
	MOVES(store_policy_delete(f->st, "p1", &why));
	STAYS(store_policy_delete(f->st, "p1", &why), ERR_NOTFOUND);
	MOVES(token_create(other, "c1", "ci", &why)); /* written by the other handle */
	MOVES(store_token_revoke(f->st, "ci", id, &changed, &why));
	STAYS(store_token_revoke(f->st, "ci", id, &changed, &why), 0);
	MOVES(tunnel_create(f->st, "t1", "host1", strv("r.test", NULL), &why));
	MOVES(store_route_add(f->st, "host1", "s.test", &rt, &why));
	MOVES(store_route_delete(f->st, "s.test", &rt, &why));
	STAYS(store_route_delete(f->st, "s.test", &rt, &why), ERR_NOTFOUND);
	MOVES(store_tunnel_delete(f->st, "host1", id, &why));
	STAYS(store_app_list(f->st, &apps, &n), 0);
	store_apps_free(apps, n);
	STAYS(store_load_model(f->st, &m), 0);
	model_free(m);
	MOVES(store_app_delete(f->st, "app", id, &why));
#undef MOVES
#undef STAYS
	store_close(other);
}

/* ---- single sign-on: users, signing keys, revocations ---- */

static int user_create(store_t *st, const char *email, const char *hash, store_why_t *why)
{
	store_user_t in = {0}, out;
	snprintf(in.email, sizeof(in.email), "%s", email);
	snprintf(in.pw_hash, sizeof(in.pw_hash), "%s", hash);
	int r = store_user_create(st, &in, &out, why);
	if (r == 0) {
		assert_string_equal(out.email, email);
		assert_string_equal(out.pw_hash, ""); /* hashes go to the model only */
		assert_true(out.created_at > 0);
	}
	return r;
}

static void test_store_users(void **state)
{
	fixture_t *f = *state;
	store_why_t why;
	store_user_t *v;
	size_t n;
	model_t *m;
	int64_t v0 = version(f->st);

	assert_int_equal(user_create(f->st, "zoe@site.test", "$argon2id$zoe", &why), 0);
	assert_true(version(f->st) > v0);
	assert_int_equal(user_create(f->st, "ann@site.test", "$argon2id$ann", &why), 0);
	v0 = version(f->st);
	assert_int_equal(user_create(f->st, "ann@site.test", "$argon2id$other", &why), ERR_EXISTS);
	assert_int_equal(why.what, STORE_USER);
	assert_string_equal(why.key, "ann@site.test");
	assert_int_equal(version(f->st), v0);

	assert_int_equal(store_user_list(f->st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].email, "ann@site.test"); /* by email */
	assert_string_equal(v[1].email, "zoe@site.test");
	assert_string_equal(v[0].pw_hash, "");
	assert_string_equal(v[1].pw_hash, "");
	assert_true(v[0].created_at > 0);
	free(v);

	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(m->nusers, 2);
	assert_string_equal(m->users[0].email, "ann@site.test");
	assert_string_equal(model_user_by_email(m, "ann@site.test")->pw_hash,
			    "$argon2id$ann"); /* not replaced */
	assert_string_equal(model_user_by_email(m, "zoe@site.test")->pw_hash, "$argon2id$zoe");
	assert_null(model_user_by_email(m, "bob@site.test"));
	model_free(m);

	assert_int_equal(store_user_delete(f->st, "bob@site.test", &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_USER);
	assert_string_equal(why.key, "bob@site.test");
	assert_int_equal(version(f->st), v0);
	assert_int_equal(store_user_delete(f->st, "ann@site.test", &why), 0);
	assert_true(version(f->st) > v0);
	assert_int_equal(store_user_list(f->st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].email, "zoe@site.test");
	free(v);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_null(model_user_by_email(m, "ann@site.test"));
	model_free(m);
}

/* Signs a message with the key and checks the signature with the same key. */
static void assert_signs(EVP_PKEY *pkey)
{
	static const unsigned char msg[] = "header.payload";
	unsigned char sig[128];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg) - 1), 1);
	EVP_MD_CTX_reset(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg) - 1), 1);
	EVP_MD_CTX_reset(ctx);
	/* and a changed message does not verify */
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg) - 2), 1);
	EVP_MD_CTX_free(ctx);
}

static void rotate(store_t *st, char kid[33], int64_t now, int64_t keep_s)
{
	char *pem = NULL;
	assert_int_equal(keys_new(kid, &pem), 0);
	assert_int_equal(strlen(kid), 32);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(store_key_rotate(st, kid, pem, now, keep_s), 0);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
}

static void test_store_key_rotation(void **state)
{
	fixture_t *f = *state;
	char k1[33], k2[33], k3[33];
	store_key_t *v;
	size_t n;
	model_t *m;
	int64_t v0 = version(f->st);

	assert_int_equal(store_key_list(f->st, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_null(model_signing_key(m));
	model_free(m);

	/* the first key is current */
	rotate(f->st, k1, 1000, 100);
	assert_true(version(f->st) > v0);
	v0 = version(f->st);
	assert_int_equal(store_key_list(f->st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].kid, k1);
	assert_null(v[0].private_pem);
	assert_int_equal(v[0].created_at, 1000);
	assert_int_equal(v[0].retired_at, 0);
	free(v);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(m->nkeys, 1);
	assert_string_equal(model_signing_key(m)->kid, k1);
	assert_signs(model_signing_key(m)->pkey);
	model_free(m);

	/* the second retires the first at its own time */
	rotate(f->st, k2, 1050, 100);
	assert_true(version(f->st) > v0);
	v0 = version(f->st);
	assert_int_equal(store_key_list(f->st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].kid, k2); /* newest first */
	assert_int_equal(v[0].retired_at, 0);
	assert_string_equal(v[1].kid, k1);
	assert_int_equal(v[1].retired_at, 1050);
	free(v);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(m->nkeys, 2);
	assert_string_equal(m->keys[0].kid, k2);
	assert_string_equal(m->keys[1].kid, k1);
	assert_string_equal(model_signing_key(m)->kid, k2);
	assert_ptr_equal(model_key_by_kid(m, k1), &m->keys[1]);
	assert_int_equal(model_key_by_kid(m, k1)->retired_at, 1050);
	assert_signs(model_key_by_kid(m, k1)->pkey); /* a retired key still verifies */
	assert_signs(model_key_by_kid(m, k2)->pkey);
	assert_null(model_key_by_kid(m, "00000000000000000000000000000000"));
	model_free(m);

	/* k1 was retired at 1050 < 1200 - 100: deleted; k2 retires now and stays */
	rotate(f->st, k3, 1200, 100);
	assert_int_equal(store_key_list(f->st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].kid, k3);
	assert_string_equal(v[1].kid, k2);
	assert_int_equal(v[1].retired_at, 1200);
	free(v);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_null(model_key_by_kid(m, k1));
	assert_string_equal(model_signing_key(m)->kid, k3);
	model_free(m);

	/* refused: a kid that is not 32 lowercase hex, no PEM, no time; nothing moves */
	v0 = version(f->st);
	assert_int_equal(store_key_rotate(f->st, "ABCDEF00000000000000000000000000", "x", 1300, 0),
			 ERR_INVAL);
	assert_int_equal(store_key_rotate(f->st, "abc", "x", 1300, 0), ERR_INVAL);
	assert_int_equal(store_key_rotate(f->st, k1, "", 1300, 0), ERR_INVAL);
	assert_int_equal(store_key_rotate(f->st, k1, "x", 0, 0), ERR_INVAL);
	assert_int_equal(version(f->st), v0);
}

/* keys_ensure adds a key only when none is current. */
static void test_store_keys_ensure(void **state)
{
	fixture_t *f = *state;
	char err[256] = "";
	store_key_t *v;
	size_t n;

	assert_int_equal(keys_ensure(f->st, err, sizeof(err)), 0);
	assert_int_equal(store_key_list(f->st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].retired_at, 0);
	char kid[33];
	memcpy(kid, v[0].kid, sizeof(kid));
	free(v);
	int64_t v0 = version(f->st);
	assert_int_equal(keys_ensure(f->st, err, sizeof(err)), 0);
	assert_int_equal(version(f->st), v0);
	assert_int_equal(store_key_list(f->st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].kid, kid);
	free(v);
}

/* keys_from_pem takes EC P-256 private keys only. */
static void test_store_keys_from_pem(void **state)
{
	char kid[33], *pem = NULL;
	assert_int_equal(keys_new(kid, &pem), 0);
	EVP_PKEY *k = keys_from_pem(pem);
	assert_non_null(k);
	EVP_PKEY_free(k);
	free(pem);
	assert_null(keys_from_pem("not a key"));
	assert_null(keys_from_pem(NULL));
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(ed);
	BIO *b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(b, ed, NULL, NULL, 0, NULL, NULL), 1);
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	char *edpem = strndup(data, (size_t)len);
	assert_null(keys_from_pem(edpem)); /* a private key, but not EC P-256 */
	free(edpem);
	BIO_free(b);
	EVP_PKEY_free(ed);
}

static void test_store_revocations(void **state)
{
	fixture_t *f = *state;
	model_t *m;
	int64_t v0 = version(f->st);

	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(model_revoked_at(m, "ann@site.test"), 0);
	model_free(m);

	assert_int_equal(store_revoke_email(f->st, "ann@site.test", 100), 0);
	assert_true(version(f->st) > v0);
	v0 = version(f->st);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(model_revoked_at(m, "ann@site.test"), 100);
	assert_int_equal(model_revoked_at(m, "bob@site.test"), 0);
	model_free(m);

	/* upsert: a later revocation moves the time, one row per email */
	assert_int_equal(store_revoke_email(f->st, "ann@site.test", 200), 0);
	assert_true(version(f->st) > v0);
	v0 = version(f->st);
	assert_int_equal(store_revoke_email(f->st, "bob@site.test", 150), 0);
	assert_true(version(f->st) > v0);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(m->nrevocations, 2);
	assert_int_equal(model_revoked_at(m, "ann@site.test"), 200);
	assert_int_equal(model_revoked_at(m, "bob@site.test"), 150);
	model_free(m);

	/* a clock that went back never un-revokes */
	assert_int_equal(store_revoke_email(f->st, "ann@site.test", 120), 0);
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(model_revoked_at(m, "ann@site.test"), 200);
	model_free(m);
}

static int idp_create(store_t *st, const char *name, const char *ca, store_why_t *why)
{
	store_idp_t in = {0}, out;
	char secret[] = "the-client-secret";
	snprintf(in.name, sizeof(in.name), "%s", name);
	snprintf(in.issuer, sizeof(in.issuer), "https://%s.example", name);
	snprintf(in.client_id, sizeof(in.client_id), "burrow");
	snprintf(in.groups_claim, sizeof(in.groups_claim), "groups");
	snprintf(in.scopes, sizeof(in.scopes), "openid email");
	in.client_secret = secret;
	in.ca_pem = (char *)ca;
	int r = store_idp_create(st, &in, &out, why);
	if (r == 0) {
		assert_string_equal(out.name, name);
		assert_null(out.client_secret); /* never read back */
		assert_int_equal(out.ca_pem != NULL, ca != NULL);
		assert_true(out.created_at > 0);
	}
	store_idp_clear(&out);
	return r;
}

/* Providers: create (a taken name is ERR_EXISTS), list by name without the
 * secret, the model with it; an app limited to providers names existing
 * ones only (ERR_NOTFOUND naming it) and lists them; deleting a provider an
 * app names is refused naming the app, and works once the app is gone. */
static void test_store_idps(void **state)
{
	fixture_t *f = *state;
	store_why_t why;
	store_idp_t *v;
	size_t n;

	assert_int_equal(idp_create(f->st, "zeta", NULL, &why), 0);
	assert_int_equal(idp_create(f->st, "corp", "-----BEGIN CERTIFICATE-----\n", &why), 0);
	assert_int_equal(idp_create(f->st, "corp", NULL, &why), ERR_EXISTS);
	assert_int_equal(why.what, STORE_IDP);
	assert_string_equal(why.key, "corp");
	assert_int_equal(store_idp_list(f->st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "corp");
	assert_string_equal(v[0].issuer, "https://corp.example");
	assert_null(v[0].client_secret);
	assert_non_null(v[0].ca_pem);
	assert_null(v[1].ca_pem);
	store_idps_free(v, n);

	store_app_t in = {.session_duration = 60}, out;
	snprintf(in.id, sizeof(in.id), "a-1");
	snprintf(in.name, sizeof(in.name), "ssh");
	memset(in.aud, 'a', STORE_AUD_LEN);
	in.hostnames = strv("ssh.test", NULL);
	in.idps = strv("corp", "nosuch", NULL);
	assert_int_equal(store_app_create(f->st, &in, &out, &why), ERR_NOTFOUND);
	assert_int_equal(why.what, STORE_IDP);
	assert_string_equal(why.key, "nosuch");
	store_strv_clear(&in.idps);
	in.idps = strv("zeta", "corp", NULL);
	assert_int_equal(store_app_create(f->st, &in, &out, &why), 0);
	assert_int_equal(out.idps.n, 2);
	assert_string_equal(out.idps.v[0], "corp"); /* by name */
	store_app_clear(&in);
	store_app_clear(&out);

	model_t *m;
	assert_int_equal(store_load_model(f->st, &m), 0);
	assert_int_equal(m->nidps, 2);
	const model_idp_t *mi = model_idp_by_name(m, "corp");
	assert_non_null(mi);
	assert_string_equal(mi->client_secret, "the-client-secret");
	assert_string_equal(mi->scopes, "openid email");
	assert_null(model_idp_by_name(m, "nosuch"));
	const model_app_t *ma = model_app_by_name(m, "ssh");
	assert_int_equal(ma->nidps, 2);
	assert_true(model_app_accepts_idp(ma, "corp"));
	assert_false(model_app_accepts_idp(ma, "local"));
	model_free(m);

	int64_t v0 = version(f->st);
	assert_int_equal(store_idp_delete(f->st, "corp", &why), ERR_EXISTS);
	assert_int_equal(why.what, STORE_IDP);
	assert_string_equal(why.owner, "ssh");
	assert_int_equal(version(f->st), v0); /* a refused write moves nothing */
	char id[STORE_ID_MAX + 1];
	assert_int_equal(store_app_delete(f->st, "ssh", id, &why), 0);
	assert_int_equal(store_idp_delete(f->st, "corp", &why), 0);
	assert_int_equal(store_idp_delete(f->st, "corp", &why), ERR_NOTFOUND);
	assert_int_equal(store_idp_list(f->st, &v, &n), 0);
	assert_int_equal(n, 1);
	store_idps_free(v, n);
}

int main(void)
{
	log_set_level(L_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_apps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_policies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_tunnels_routes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_load_model, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_change_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_key_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_keys_ensure, setup, teardown),
	    cmocka_unit_test(test_store_keys_from_pem),
	    cmocka_unit_test_setup_teardown(test_store_revocations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_idps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
