/* form.h — small parsers for what browsers send: URL-encoded forms and
 * query strings (application/x-www-form-urlencoded), the Cookie header;
 * and the escaping of what the edge writes back (HTML, URL components).
 *
 * All of them work on borrowed bytes and write into caller buffers of a
 * given size; none allocates. Malformed input is refused rather than
 * repaired: a bad %-escape, a decoded NUL or control byte (other than the
 * tab), or a value that does not fit. */
#ifndef BURROW_CORE_FORM_H
#define BURROW_CORE_FORM_H

#include <stdbool.h>
#include <stddef.h>

/* The value of field name in an urlencoded body or query string s[0..len)
 * ("a=1&b=x%20y"), %-decoded and with '+' as space, NUL-terminated in out.
 * 0; ERR_NOTFOUND when absent; ERR_INVAL when malformed or present more
 * than once (no guessing which one counts); ERR_TOOBIG when it does not fit
 * in outlen bytes with its NUL. A field without '=' has the value "". */
int form_get(const char *s, size_t len, const char *name, char *out, size_t outlen);

/* The value of cookie name in a Cookie header value h[0..len)
 * ("a=1; b=2"), verbatim (cookies are not %-decoded), NUL-terminated.
 * Same returns as form_get; a cookie present twice is ERR_INVAL. Values
 * may be double-quoted (the quotes are removed). */
int cookie_get(const char *h, size_t len, const char *name, char *out, size_t outlen);

/* Escapes s for HTML text and attribute values (& < > " '). Returns the
 * length written (NUL-terminated), or 0 when out is too small. */
size_t html_escape(const char *s, char *out, size_t outlen);

/* %-encodes s for a query-string value (unreserved characters kept: A-Z
 * a-z 0-9 - . _ ~). Returns the length written, or 0 when out is too small. */
size_t url_encode(const char *s, char *out, size_t outlen);

#endif
