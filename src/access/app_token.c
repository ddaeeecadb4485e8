/* app_token.c — cached token or CLI login, one login per hostname at a
 * time (app_token.h).
 *
 * Must never: start a login while another process is logging in to the
 * same hostname (it waits, then uses that login's token), or print a token. */
#include "access/app_token.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access/token_cache.h"
#include "core/duration.h"
#include "core/err.h"

static void say_waiting(void *arg)
{
	fprintf(stderr, "burrow: waiting for another login to %s to finish\n", (const char *)arg);
}

/* The cached token, unless it is the rejected one; one line on stderr for
 * a file that is refused or unreadable (said once per process run). */
static int cached(const token_cache_t *tc, const char *rejected, bool *said, char **tok, size_t *len,
		  int64_t *exp)
{
	char err[PATH_MAX * 2 + 200];
	int r = token_cache_read(tc, (int64_t)time(NULL), tok, len, exp, err, sizeof(err));
	if (r != 0 && err[0] && !*said) {
		fprintf(stderr, "burrow: %s: %s\n", tc->host, err);
		*said = true;
	}
	if (r == 0 && rejected && strcmp(*tok, rejected) == 0) {
		token_free(*tok, *len);
		*tok = NULL;
		return ERR_AUTH;
	}
	return r;
}

int app_token_get(const login_req_t *r, enum app_token_mode mode, const char *rejected, char **tok,
		  size_t *len, int64_t *exp)
{
	token_cache_t tc;
	char err[PATH_MAX * 2 + 200];
	bool said = false;
	int rc = 1, c;
	*tok = NULL;
	if (token_cache_init(&tc, NULL, r->host) != 0) {
		fprintf(stderr, "burrow: %s: the token cache path is too long (check BURROW_HOME)\n",
			r->host);
		return 1;
	}
	if (mode == APP_TOKEN_CACHED && !rejected && cached(&tc, NULL, &said, tok, len, exp) == 0)
		return 0;
	/* Wait for another process's login no longer than ours would take. */
	int64_t deadline = token_cache_now_ms() + r->timeout * 1000;
	c = token_cache_lock(&tc, deadline, say_waiting, (void *)r->host, err, sizeof(err));
	if (c == ERR_TIMEOUT) {
		char d[32];
		duration_format(r->timeout, d, sizeof(d));
		/* the other process's login did not finish in our time either */
		fprintf(stderr,
			"burrow: login to %s not completed within %s: run \"burrow access login https://%s\" "
			"to try "
			"again\n",
			r->host, d, r->host);
		return 1;
	}
	if (c != 0) {
		fprintf(stderr, "burrow: %s: %s\n", r->host, err);
		return 1;
	}
	/* Another process may have logged in while we waited. */
	if (mode == APP_TOKEN_CACHED) {
		c = cached(&tc, rejected, &said, tok, len, exp);
		if (c == 0) {
			rc = 0;
			goto out;
		}
		if (c == ERR_AUTH && token_cache_delete(&tc, err, sizeof(err)) == ERR_INVAL)
			fprintf(stderr, "burrow: %s: %s\n", r->host, err);
	}
	if (login_run(r, tok, len, exp) != 0)
		goto out;
	rc = 0;
	if (token_cache_write(&tc, *tok, *len, err, sizeof(err)) != 0)
		fprintf(stderr, "burrow: %s: logged in, but the token is not cached: %s\n", r->host, err);
out:
	token_cache_unlock(&tc);
	return rc;
}
