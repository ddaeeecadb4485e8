/* token_cache.c — app tokens cached per hostname (token_cache.h).
 *
 * Must never: put a byte of a token in a message, leave a token file that
 * others can read (or half written), use a file others could have planted
 * (another owner, a symlink, group/other access), or keep an unwiped copy. */
#include "access/token_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jwt.h"
#include "core/secret_file.h"

int64_t token_cache_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void token_free(char *tok, size_t len)
{
	if (!tok)
		return;
	OPENSSL_cleanse(tok, len);
	free(tok);
}

int token_cache_init(token_cache_t *tc, const char *home, const char *host)
{
	char def[PATH_MAX];
	memset(tc, 0, sizeof(*tc));
	tc->lock_fd = -1;
	if (!home) {
		home = getenv("BURROW_HOME");
		if (!home || !*home) {
			const char *h = getenv("HOME");
			if ((size_t)snprintf(def, sizeof(def), "%s/.burrow", h && *h ? h : ".") >=
			    sizeof(def))
				return ERR_TOOBIG;
			home = def;
		}
	}
	if (strlen(host) > HOSTNAME_MAX)
		return ERR_INVAL;
	memcpy(tc->host, host, strlen(host) + 1);
	if ((size_t)snprintf(tc->dir, sizeof(tc->dir), "%s/access", home) >= sizeof(tc->dir) ||
	    (size_t)snprintf(tc->path, sizeof(tc->path), "%s/%s.token", tc->dir, host) >= sizeof(tc->path))
		return ERR_TOOBIG;
	return 0;
}

int token_exp(const char *tok, size_t len, int64_t *exp)
{
	jwt_t j;
	char e[128];
	if (jwt_parse(tok, len, &j, e, sizeof(e)) != 0)
		return ERR_INVAL;
	int r = jwt_claim_time(&j, "exp", exp);
	jwt_clear(&j);
	return r == 0 ? 0 : ERR_INVAL;
}

int token_cache_read(const token_cache_t *tc, int64_t now, char **tok, size_t *len, int64_t *exp, char *err,
		     size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;
	int r = ERR_NOTFOUND;
	*tok = NULL;
	*err = '\0';
	int fd = open(tc->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen,
				 "%s is a symbolic link, not a cached token: remove it and log in again",
				 tc->path);
		else if (errno != ENOENT && errno != ENOTDIR)
			snprintf(err, errlen, "cannot read the cached token %s: %s", tc->path,
				 strerror(errno));
		return ERR_NOTFOUND;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file: remove it and log in again", tc->path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s belongs to another user (uid %u): remove it and log in again",
			 tc->path, (unsigned)st.st_uid);
		r = ERR_DENIED;
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(
		    err, errlen,
		    "%s can be read or written by group or others (mode %04o): run chmod 600 %s, or log in "
		    "again",
		    tc->path, (unsigned)(st.st_mode & 07777), tc->path);
		r = ERR_DENIED;
		goto out;
	}
	if (st.st_size > TOKEN_CACHE_FILE_MAX || !(buf = malloc(TOKEN_CACHE_FILE_MAX + 2)) ||
	    (n = secret_file_read_upto(fd, buf, TOKEN_CACHE_FILE_MAX + 1)) > TOKEN_CACHE_FILE_MAX) {
		snprintf(err, errlen, "%s is larger than %d KiB, not a cached token: log in again", tc->path,
			 TOKEN_CACHE_FILE_MAX / 1024);
		goto out;
	}
	if (n < 0) {
		snprintf(err, errlen, "cannot read the cached token %s: %s", tc->path, strerror((int)-n));
		goto out;
	}
	size_t sn = (size_t)n;
	if (sn > 0 && buf[sn - 1] == '\n')
		sn--;
	bool ok = sn > 0;
	for (size_t i = 0; i < sn; i++)
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e)
			ok = false;
	if (!ok || token_exp(buf, sn, exp) != 0) {
		snprintf(err, errlen, "%s does not hold a token: log in again", tc->path);
		goto out;
	}
	if (*exp <= now + TOKEN_CACHE_MARGIN)
		goto out; /* expired: as if absent */
	buf[sn] = '\0';
	*tok = buf;
	*len = sn;
	buf = NULL;
	r = 0;
out:
	if (buf) {
		OPENSSL_cleanse(buf, TOKEN_CACHE_FILE_MAX + 2);
		free(buf);
	}
	close(fd);
	return r;
}

/* mkdir path 0700, or, when it is already there, makes sure it is a
 * directory and takes group/other access away if it is ours. */
static int make_private_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot create the directory %s: %s", path,
			 errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
		return ERR_INVAL;
	}
	if ((st.st_mode & 077) && st.st_uid == geteuid() && chmod(path, st.st_mode & 0700) != 0) {
		snprintf(err, errlen, "cannot make %s private (chmod 700): %s", path, strerror(errno));
		return ERR_INVAL;
	}
	return 0;
}

static int make_dirs(const token_cache_t *tc, char *err, size_t errlen)
{
	char home[PATH_MAX];
	size_t n = strlen(tc->dir) - strlen("/access");
	memcpy(home, tc->dir, n);
	home[n] = '\0';
	int r = make_private_dir(home, err, errlen);
	return r ? r : make_private_dir(tc->dir, err, errlen);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int token_cache_write(const token_cache_t *tc, const char *tok, size_t len, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 300];
	unsigned char rnd[6];
	int r, fd = -1;
	if ((r = make_dirs(tc, err, errlen)) != 0)
		return r;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd)); /* O_EXCL still refuses a clash */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.token.%ld.%02x%02x%02x%02x%02x%02x", tc->dir, tc->host,
			     (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >= sizeof(tmp)) {
		snprintf(err, errlen, "the token cache path %s is too long", tc->dir);
		return ERR_TOOBIG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return ERR_INVAL;
	}
	if ((r = write_all(fd, tok, len)) == 0 && (r = write_all(fd, "\n", 1)) == 0 && fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, tc->path) != 0)
		r = -errno;
	if (r != 0) {
		snprintf(err, errlen, "cannot write the token to %s: %s", tc->path, strerror(-r));
		unlink(tmp);
		return ERR_INVAL;
	}
	/* The rename itself survives a crash once the directory is synced. */
	int dfd = open(tc->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int token_cache_delete(const token_cache_t *tc, char *err, size_t errlen)
{
	if (unlink(tc->path) == 0)
		return 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return ERR_NOTFOUND;
	snprintf(err, errlen, "cannot delete %s: %s", tc->path, strerror(errno));
	return ERR_INVAL;
}

int token_cache_lock(token_cache_t *tc, int64_t deadline_ms, void (*waiting)(void *arg), void *arg, char *err,
		     size_t errlen)
{
	char path[PATH_MAX + 300];
	int r;
	if ((r = make_dirs(tc, err, errlen)) != 0)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.lock", tc->dir, tc->host) >= sizeof(path)) {
		snprintf(err, errlen, "the token cache path %s is too long", tc->dir);
		return ERR_TOOBIG;
	}
	/* CLOEXEC: a browser started during the login must not inherit the lock. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the login lock %s: %s", path, strerror(errno));
		return ERR_INVAL;
	}
	bool said = false;
	/* Polled rather than a blocking flock, so the wait ends at the login's
	 * deadline; 50 ms is short next to a browser login. */
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return ERR_INVAL;
		}
		if (!said && waiting)
			waiting(arg);
		said = true;
		if (token_cache_now_ms() >= deadline_ms) {
			close(fd);
			return ERR_TIMEOUT;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	tc->lock_fd = fd;
	return 0;
}

void token_cache_unlock(token_cache_t *tc)
{
	if (tc->lock_fd >= 0) {
		flock(tc->lock_fd, LOCK_UN);
		close(tc->lock_fd);
		tc->lock_fd = -1;
	}
}
