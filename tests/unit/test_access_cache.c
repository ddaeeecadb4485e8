/* test_access_cache.c — the client's app-token cache (access/token_cache.c)
 * and the CLI login's pure pieces (access/login.c): what is kept, where,
 * with which modes, what is refused, and the URL and code a person sees. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "access/login.h"
#include "access/token_cache.h"
#include "core/err.h"
#include "core/jwt.h"

typedef struct fixture {
	char home[128];
	token_cache_t tc;
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	snprintf(f->home, sizeof(f->home), "/tmp/burrow-test-access-cache.XXXXXX");
	if (!mkdtemp(f->home))
		return -1;
	/* BURROW_HOME itself is made by the first write */
	strcat(f->home, "/home");
	if (token_cache_init(&f->tc, f->home, "ssh.site.test") != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	char cmd[300];
	*strrchr(f->home, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->home);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A JWT-shaped token (unsigned: the cache only reads its exp). */
static char *make_token(int64_t exp)
{
	char hdr[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", claims[128], b1[64], b2[256], b3[128], *out;
	uint8_t sig[64];
	memset(sig, 0x5a, sizeof(sig));
	snprintf(claims, sizeof(claims), "{\"sub\":\"alice\",\"type\":\"app\",\"exp\":%lld}", (long long)exp);
	assert_true(b64url_encode((const uint8_t *)hdr, strlen(hdr), b1, sizeof(b1)) > 0);
	assert_true(b64url_encode((const uint8_t *)claims, strlen(claims), b2, sizeof(b2)) > 0);
	assert_true(b64url_encode(sig, sizeof(sig), b3, sizeof(b3)) > 0);
	out = malloc(strlen(b1) + strlen(b2) + strlen(b3) + 3);
	sprintf(out, "%s.%s.%s", b1, b2, b3);
	return out;
}

static void write_raw(const char *path, const char *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_access_cache_round_trip(void **state)
{
	fixture_t *f = *state;
	int64_t now = (int64_t)time(NULL), exp = 0;
	char *tok = make_token(now + 3600), *got = NULL, err[3 * PATH_MAX];
	size_t len = 0;
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_NOTFOUND);
	assert_string_equal(err, "");
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), 0);
	assert_string_equal(got, tok);
	assert_int_equal(len, strlen(tok));
	assert_int_equal(exp, now + 3600);
	token_free(got, len);
	/* the file holds the token and a newline */
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s/access/ssh.site.test.token", f->home);
	assert_string_equal(f->tc.path, want);
	FILE *fp = fopen(want, "r");
	char line[1024] = "";
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	snprintf(want, sizeof(want), "%s\n", tok);
	assert_string_equal(line, want);
	free(tok);
}

static void test_access_cache_modes_0600_and_0700(void **state)
{
	fixture_t *f = *state;
	char *tok = make_token((int64_t)time(NULL) + 3600), err[3 * PATH_MAX];
	struct stat st;
	umask(022);
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(stat(f->tc.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->tc.dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->home, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* a directory others may enter is made private on the next write */
	assert_int_equal(chmod(f->tc.dir, 0755), 0);
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(stat(f->tc.dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	free(tok);
}

static void test_access_cache_refuses_mode_0644(void **state)
{
	fixture_t *f = *state;
	int64_t now = (int64_t)time(NULL), exp;
	char *tok = make_token(now + 3600), *got = NULL, err[3 * PATH_MAX], want[3 * PATH_MAX];
	size_t len;
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(chmod(f->tc.path, 0644), 0);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_DENIED);
	assert_null(got);
	snprintf(
	    want, sizeof(want),
	    "%s can be read or written by group or others (mode 0644): run chmod 600 %s, or log in again",
	    f->tc.path, f->tc.path);
	assert_string_equal(err, want);
	assert_null(strstr(err, tok)); /* never the token */
	/* a new login's write replaces it with a private file */
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), 0);
	token_free(got, len);
	if (geteuid() == 0) { /* another owner: refused too */
		assert_int_equal(chown(f->tc.path, 65534, 65534), 0);
		assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)),
				 ERR_DENIED);
		assert_non_null(strstr(err, "belongs to another user"));
	}
	free(tok);
}

static void test_access_cache_expired_is_absent(void **state)
{
	fixture_t *f = *state;
	int64_t now = (int64_t)time(NULL), exp;
	char *got = NULL, err[3 * PATH_MAX];
	size_t len;
	/* within the 30 s margin: absent, and nothing to say */
	char *tok = make_token(now + TOKEN_CACHE_MARGIN);
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_NOTFOUND);
	assert_null(got);
	assert_string_equal(err, "");
	free(tok);
	tok = make_token(now - 10);
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_NOTFOUND);
	free(tok);
	/* one second past the margin: used */
	tok = make_token(now + TOKEN_CACHE_MARGIN + 1);
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), 0);
	token_free(got, len);
	free(tok);
}

static void test_access_cache_refuses_oversize_and_garbage(void **state)
{
	fixture_t *f = *state;
	int64_t now = (int64_t)time(NULL), exp;
	char *got = NULL, err[3 * PATH_MAX];
	size_t len;
	char *tok = make_token(now + 3600);
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)),
			 0); /* makes the dirs */
	char *big = malloc(TOKEN_CACHE_FILE_MAX + 1);
	memset(big, 'a', TOKEN_CACHE_FILE_MAX + 1);
	write_raw(f->tc.path, big, TOKEN_CACHE_FILE_MAX + 1, 0600);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_NOTFOUND);
	assert_null(got);
	assert_non_null(strstr(err, "is larger than 16 KiB"));
	free(big);
	write_raw(f->tc.path, "not a token\n", 12, 0600);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_NOTFOUND);
	assert_non_null(strstr(err, "does not hold a token"));
	write_raw(f->tc.path, "", 0, 0600);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_NOTFOUND);
	/* a symlink is not followed */
	assert_int_equal(unlink(f->tc.path), 0);
	assert_int_equal(symlink("/etc/passwd", f->tc.path), 0);
	assert_int_equal(token_cache_read(&f->tc, now, &got, &len, &exp, err, sizeof(err)), ERR_NOTFOUND);
	assert_non_null(strstr(err, "symbolic link"));
	free(tok);
}

static void test_access_cache_atomic_write_leaves_no_temp_file(void **state)
{
	fixture_t *f = *state;
	char err[3 * PATH_MAX];
	for (int i = 0; i < 3; i++) {
		char *tok = make_token((int64_t)time(NULL) + 3600 + i);
		assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
		free(tok);
	}
	DIR *d = opendir(f->tc.dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			assert_string_equal(e->d_name, "ssh.site.test.token");
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_access_cache_delete(void **state)
{
	fixture_t *f = *state;
	char *tok = make_token((int64_t)time(NULL) + 3600), err[3 * PATH_MAX];
	assert_int_equal(token_cache_delete(&f->tc, err, sizeof(err)), ERR_NOTFOUND);
	assert_int_equal(token_cache_write(&f->tc, tok, strlen(tok), err, sizeof(err)), 0);
	assert_int_equal(token_cache_delete(&f->tc, err, sizeof(err)), 0);
	assert_int_equal(access(f->tc.path, F_OK), -1);
	assert_int_equal(token_cache_delete(&f->tc, err, sizeof(err)), ERR_NOTFOUND);
	free(tok);
}

static int waited;
static void on_wait(void *arg)
{
	waited++;
}

static void test_access_cache_lock_excludes_a_second_holder(void **state)
{
	fixture_t *f = *state;
	token_cache_t other;
	char err[3 * PATH_MAX];
	assert_int_equal(token_cache_init(&other, f->home, "ssh.site.test"), 0);
	assert_int_equal(
	    token_cache_lock(&f->tc, token_cache_now_ms() + 1000, on_wait, NULL, err, sizeof(err)), 0);
	waited = 0;
	int64_t t0 = token_cache_now_ms();
	assert_int_equal(token_cache_lock(&other, t0 + 200, on_wait, NULL, err, sizeof(err)), ERR_TIMEOUT);
	assert_true(token_cache_now_ms() - t0 >= 200);
	assert_int_equal(waited, 1); /* said once */
	token_cache_unlock(&f->tc);
	assert_int_equal(
	    token_cache_lock(&other, token_cache_now_ms() + 1000, on_wait, NULL, err, sizeof(err)), 0);
	assert_int_equal(waited, 1);
	token_cache_unlock(&other);
}

static void test_access_login_code_format(void **state)
{
	uint8_t pk[32] = {0};
	char code[LOGIN_CODE_LEN + 1];
	/* SHA-256 of 32 zero bytes starts 66687aad */
	login_code(pk, code);
	assert_string_equal(code, "6668-7aad");
	memset(pk, 0xff, sizeof(pk));
	login_code(pk, code);
	assert_int_equal(strlen(code), 9);
	assert_int_equal(code[4], '-');
	for (int i = 0; i < 9; i++)
		if (i != 4)
			assert_non_null(strchr("0123456789abcdef", code[i]));
}

static void test_access_login_url_with_and_without_port(void **state)
{
	char url[LOGIN_URL_MAX];
	const char *id = "ID", *key = "KEY";
	assert_int_equal(login_url("ssh.site.test", NULL, id, key, url, sizeof(url)), 0);
	assert_string_equal(url, "https://ssh.site.test/cdn-cgi/access/cli?transfer=ID&key=KEY");
	assert_int_equal(login_url("ssh.site.test", "edge.site.test:443", id, key, url, sizeof(url)), 0);
	assert_string_equal(url, "https://ssh.site.test/cdn-cgi/access/cli?transfer=ID&key=KEY");
	assert_int_equal(login_url("ssh.site.test", "edge.site.test", id, key, url, sizeof(url)), 0);
	assert_string_equal(url, "https://ssh.site.test/cdn-cgi/access/cli?transfer=ID&key=KEY");
	assert_int_equal(login_url("ssh.site.test", "127.0.0.1:8443", id, key, url, sizeof(url)), 0);
	assert_string_equal(url, "https://ssh.site.test:8443/cdn-cgi/access/cli?transfer=ID&key=KEY");
	assert_int_equal(login_url("ssh.site.test", "[::1]:9443", id, key, url, sizeof(url)), 0);
	assert_string_equal(url, "https://ssh.site.test:9443/cdn-cgi/access/cli?transfer=ID&key=KEY");
	assert_int_equal(login_url("ssh.site.test", "127.0.0.1:8443", id, key, url, 20), ERR_TOOBIG);
}

static void test_access_login_transfer_id_is_43_base64url_chars(void **state)
{
	char a[LOGIN_ID_LEN + 1], b[LOGIN_ID_LEN + 1];
	assert_int_equal(login_transfer_id(a), 0);
	assert_int_equal(login_transfer_id(b), 0);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_string_not_equal(a, b);
	uint8_t raw[33];
	assert_int_equal(b64url_decode(a, strlen(a), raw, sizeof(raw)), 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_access_cache_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_cache_modes_0600_and_0700, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_cache_refuses_mode_0644, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_cache_expired_is_absent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_cache_refuses_oversize_and_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_cache_atomic_write_leaves_no_temp_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_access_cache_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_cache_lock_excludes_a_second_holder, setup, teardown),
	    cmocka_unit_test(test_access_login_code_format),
	    cmocka_unit_test(test_access_login_url_with_and_without_port),
	    cmocka_unit_test(test_access_login_transfer_id_is_43_base64url_chars),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
