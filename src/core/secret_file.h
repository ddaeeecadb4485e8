/* secret_file.h — a secret read from a file only its owner can use: the
 * edge's admin token, `burrow admin --token-file`, `burrow access
 * --secret-file`. Kept in a file, a secret stays out of argv (`ps`) and
 * shell history.
 *
 * The file holds the secret and at most one trailing newline ("\n" or
 * "\r\n"). Refused, each with one line saying what to do: a file group or
 * others may read or write (chmod 600), one that is empty or longer than
 * the secret's maximum, and one holding any byte but visible ASCII (the
 * secret travels in an HTTP header: a space or line break would split it). */
#ifndef BURROW_CORE_SECRET_FILE_H
#define BURROW_CORE_SECRET_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* The longest admin token, at the edge and in the CLI alike. */
#define ADMIN_TOKEN_MAX 4096
/* The longest service-token secret a client sends (the edge makes 64). */
#define SERVICE_SECRET_MAX 1024

/* Reads the secret in path (what names it in messages: "admin token").
 * Returns 0 with a malloc'd NUL-terminated copy in *out (wipe it with
 * OPENSSL_cleanse before free) and its length in *len; else -ENOENT when
 * there is no such file, another negative code otherwise, with one line in
 * err that names path (never the secret). */
int secret_file_read(const char *path, const char *what, size_t max, char **out, size_t *len, char *err,
		     size_t errlen);

/* Reads up to cap bytes of fd (a small file: a secret, a cached token),
 * retrying interrupted reads; returns the count or -errno. */
ssize_t secret_file_read_upto(int fd, char *p, size_t cap);

#endif
