/* admin_util.h — pure helpers of the admin client: durations, the admin URL,
 * names, timestamps and aligned text tables.
 *
 * Nothing here touches the network, the environment or global state, so the
 * unit tests call every function directly. */
#ifndef BURROW_ADMIN_UTIL_H
#define BURROW_ADMIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/duration.h"

/* Writes a Unix time as RFC 3339 UTC ("2024-05-01T12:00:00Z"); "-" for 0. */
void admin_format_time(int64_t t, char *out, size_t outlen);

typedef struct admin_url {
	char host[256]; /* DNS name or IP literal, without brackets */
	char port[6];	/* decimal, for getaddrinfo */
	uint16_t port_num;
	bool is_ip;   /* IPv4 or IPv6 literal: no SNI, certificate checked by IP */
	bool is_ipv6; /* needs brackets in the Host header */
} admin_url_t;

/* Parses "https://host[:port][/]" (port defaults to 443). Refuses other
 * schemes (with a hint when it is http://), user info, paths, queries and
 * malformed hosts or ports. Returns 0, or ERR_INVAL with a one-line reason in
 * err. */
int admin_parse_url(const char *s, admin_url_t *u, char *err, size_t errlen);
/* "host", "host:port", "[v6]:port": the Host header value (port omitted
 * when 443). */
void admin_url_authority(const admin_url_t *u, char *out, size_t outlen);

/* Object names: 1..64 bytes of [A-Za-z0-9._-] (the edge's rule). Ids (UUIDs)
 * pass too, so anything this accepts is a safe path segment. */
bool admin_valid_name(const char *s);

/* Emails (the edge's rule, which lowercases them): 1..ADMIN_EMAIL_MAX
 * printable ASCII bytes, one '@' with a non-empty part on each side, none of
 * space / ? # % \ ", so it is also a safe path segment. */
#define ADMIN_EMAIL_MAX 254
bool admin_valid_email(const char *s);

/* Checks an admin token from a flag or the environment: trailing
 * whitespace (a newline from `cat`) is ignored, the rest must be 1 to
 * ADMIN_TOKEN_MAX visible ASCII bytes so it cannot split the HTTP header.
 * Returns 0 with the usable length in *len, or ERR_INVAL. Never copies the
 * token. */
int admin_token_check(const char *tok, size_t *len);

/* Copies in to out (NUL-terminated, truncated to fit) with control bytes
 * replaced by '?', so text from the edge cannot drive the terminal or break
 * the one-line error format. */
void admin_sanitize(const char *in, char *out, size_t outlen);

/* A table of strings printed as aligned columns under a header row. Cells
 * are copied; columns are separated by two spaces and the last one is not
 * padded. Width counts UTF-8 characters, not bytes. */
typedef struct admin_table {
	size_t ncols;
	size_t nrows; /* header row included */
	size_t cap;   /* cells allocated */
	char **cells; /* row-major, nrows * ncols */
} admin_table_t;

/* headers: ncols strings. Returns 0 or ERR_NOMEM. */
int admin_table_init(admin_table_t *t, size_t ncols, const char *const *headers);
/* cells: ncols strings; NULL prints as "-". Returns 0 or ERR_NOMEM. */
int admin_table_add(admin_table_t *t, const char *const *cells);
/* Appends the rendered table to out. Returns 0 or a buf error. */
int admin_table_render(const admin_table_t *t, buf_t *out);
void admin_table_free(admin_table_t *t);

#endif
