/* token_cache.h — a person's app tokens, one file per application hostname:
 * $BURROW_HOME/access/<hostname>.token (BURROW_HOME defaults to ~/.burrow),
 * directory 0700, file 0600, holding the token and a newline.
 *
 * A cached token is used only when its file is the user's own, readable by
 * nobody else, at most TOKEN_CACHE_FILE_MAX bytes, a JWT, and not expiring
 * within TOKEN_CACHE_MARGIN seconds. Writes are atomic (temp file, fsync,
 * rename), so a reader never sees half a token. <hostname>.lock beside it
 * serialises logins: ten ssh processes to one hostname start one login. */
#ifndef BURROW_ACCESS_TOKEN_CACHE_H
#define BURROW_ACCESS_TOKEN_CACHE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hostname.h"

#define TOKEN_CACHE_FILE_MAX 16384
/* A token this close to its exp counts as expired: it must outlive the
 * connection set-up. */
#define TOKEN_CACHE_MARGIN 30

typedef struct token_cache {
	char host[HOSTNAME_MAX + 1];
	char dir[PATH_MAX];  /* $BURROW_HOME/access */
	char path[PATH_MAX]; /* dir/host.token */
	int lock_fd;	     /* -1 when not locked */
} token_cache_t;

/* Fills tc for host (a normalised hostname) under home (NULL: $BURROW_HOME,
 * else $HOME/.burrow). ERR_TOOBIG when the paths do not fit. */
int token_cache_init(token_cache_t *tc, const char *home, const char *host);

/* The cached token for tc->host: 0 with a malloc'd NUL-terminated copy in
 * *tok (wipe with token_free), its length and its exp; ERR_NOTFOUND when
 * there is none, or it is expired, malformed or oversized (those last two
 * with a line in err, else err is ""); ERR_DENIED when the file is not the
 * user's own or others may read it (a line in err saying to chmod 600 or log
 * in again). now: Unix seconds. */
int token_cache_read(const token_cache_t *tc, int64_t now, char **tok, size_t *len, int64_t *exp, char *err,
		     size_t errlen);

/* Stores tok[0..len) atomically (creates the directories, 0700). 0, or a
 * negative code with a line in err. */
int token_cache_write(const token_cache_t *tc, const char *tok, size_t len, char *err, size_t errlen);

/* Removes the cached token: 0 when one was removed, ERR_NOTFOUND when there
 * was none, another negative code with a line in err. */
int token_cache_delete(const token_cache_t *tc, char *err, size_t errlen);

/* Takes tc's login lock (flock: a killed holder cannot leave it held),
 * waiting until deadline_ms (CLOCK_MONOTONIC ms); waiting(arg) runs once
 * when another process holds it. 0, ERR_TIMEOUT, or another negative code
 * with a line in err. */
int token_cache_lock(token_cache_t *tc, int64_t deadline_ms, void (*waiting)(void *arg), void *arg, char *err,
		     size_t errlen);
void token_cache_unlock(token_cache_t *tc);

/* The exp claim of a JWT: 0, or ERR_INVAL when tok is no JWT or has no
 * numeric exp. */
int token_exp(const char *tok, size_t len, int64_t *exp);

/* Wipes and frees a token. */
void token_free(char *tok, size_t len);

int64_t token_cache_now_ms(void);

#endif
