/* secret_file.c — reads a secret from a file only its owner can use
 * (secret_file.h).
 *
 * Must never: put a byte of the secret in a message, leave a copy of it
 * unwiped, or accept a file others can read. */
#include "core/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

ssize_t secret_file_read_upto(int fd, char *p, size_t cap)
{
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* Drops one trailing newline from the *n bytes at p; ERR_INVAL when what
 * is left holds anything but visible ASCII. */
static int check_bytes(const char *p, size_t *n)
{
	if (*n > 0 && p[*n - 1] == '\n')
		(*n)--;
	if (*n > 0 && p[*n - 1] == '\r')
		(*n)--;
	for (size_t i = 0; i < *n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return ERR_INVAL;
	return 0;
}

int secret_file_read(const char *path, const char *what, size_t max, char **out, size_t *len, char *err,
		     size_t errlen)
{
	struct stat st;
	/* Room for the secret, "\r\n" and one more byte that shows it is too long. */
	size_t cap = max + 3;
	char *buf = NULL;
	int r = 0;
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot read the %s from %s: %s", what, path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) != 0) {
		r = -errno;
		snprintf(err, errlen, "cannot read the %s from %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = ERR_INVAL;
		snprintf(err, errlen, "cannot read the %s from %s: it is a directory", what, path);
		goto out;
	}
	if (st.st_mode & 077) {
		r = ERR_DENIED;
		snprintf(err, errlen,
			 "%s can be read or written by group or others (mode %04o): run chmod 600 %s", path,
			 (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (!(buf = malloc(cap + 1))) {
		r = ERR_NOMEM;
		snprintf(err, errlen, "cannot read the %s from %s: out of memory", what, path);
		goto out;
	}
	ssize_t n = secret_file_read_upto(fd, buf, cap);
	if (n < 0) {
		r = (int)n;
		snprintf(err, errlen, "cannot read the %s from %s: %s", what, path, strerror((int)-n));
		goto out;
	}
	size_t sn = (size_t)n;
	if (sn == cap || (r = check_bytes(buf, &sn)) != 0 || sn == 0 || sn > max) {
		if (sn == cap || sn > max)
			snprintf(
			    err, errlen,
			    "%s is longer than %zu bytes: it must hold only the %s and at most one newline",
			    path, max, what);
		else if (r)
			snprintf(
			    err, errlen,
			    "%s holds a space, control character or non-ASCII byte: it must hold only the %s "
			    "and at most one newline",
			    path, what);
		else
			snprintf(err, errlen, "%s is empty: it must hold the %s", path, what);
		r = ERR_INVAL;
		goto out;
	}
	buf[sn] = '\0';
	*out = buf;
	*len = sn;
	buf = NULL;
out:
	if (buf) {
		OPENSSL_cleanse(buf, cap + 1);
		free(buf);
	}
	close(fd);
	return r;
}
