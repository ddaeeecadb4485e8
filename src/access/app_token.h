/* app_token.h — the app token a person's client presents for a hostname:
 * the cached one while it is valid, else a new one from a CLI login, with
 * one login at a time per hostname across processes (token_cache.h). */
#ifndef BURROW_ACCESS_APP_TOKEN_H
#define BURROW_ACCESS_APP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "access/login.h"

enum app_token_mode {
	APP_TOKEN_CACHED, /* the cached token if valid, else log in */
	APP_TOKEN_FRESH,  /* always log in (burrow access login) */
};

/* Gets a token for r->host. rejected: a token the edge just refused (401),
 * or NULL; a cached token equal to it is deleted rather than used (another
 * process may have cached a newer one meanwhile: that one is used). 0 with
 * a malloc'd token (token_free it) and its exp; 1 after one line on stderr.
 * The login writes the token to the cache. */
int app_token_get(const login_req_t *r, enum app_token_mode mode, const char *rejected, char **tok,
		  size_t *len, int64_t *exp);

#endif
