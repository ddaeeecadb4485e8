/* admin_util.c — pure helpers of the admin client (see admin_util.h).
 *
 * Everything here is deterministic and side-effect free; it must never read
 * the environment, print, or touch the network. */
#include "admin/admin_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/secret_file.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}



void admin_format_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%s", t == 0 ? "-" : "?");
}

/* LDH labels separated by dots; one trailing dot allowed. */
static bool valid_dns_host(const char *h, size_t len)
{
	size_t label = 0, last_start = 0;
	bool last_all_digits = true;

	if (len == 0 || len > 253)
		return false;
	if (h[len - 1] == '.')
		len--;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || h[i] == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-' || h[last_start] == '-')
				return false;
			if (i == len)
				break;
			label = 0;
			last_start = i + 1;
			last_all_digits = true;
			continue;
		}
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-'))
			return false;
		if (!is_digit(c))
			last_all_digits = false;
		label++;
	}
	/* An all-digit last label is a mistyped IPv4 address ("10.0.1"). */
	return !last_all_digits;
}

int admin_parse_url(const char *s, admin_url_t *u, char *err, size_t errlen)
{
	const char *sep, *rest, *after, *host, *port = NULL;
	size_t alen, hlen, plen = 0;

	memset(u, 0, sizeof(*u));
	if (!s || !*s) {
		snprintf(err, errlen, "the admin URL is empty: give it as https://HOST[:PORT]");
		return ERR_INVAL;
	}
	sep = strstr(s, "://");
	if (!sep) {
		snprintf(err, errlen, "admin URL \"%s\" has no scheme: give it as https://HOST[:PORT]", s);
		return ERR_INVAL;
	}
	if ((size_t)(sep - s) == 4 && strncasecmp(s, "http", 4) == 0) {
		snprintf(err, errlen,
			 "admin URL \"%s\" uses http://, but the admin API is served only over HTTPS: use "
			 "https://%s",
			 s, sep + 3);
		return ERR_INVAL;
	}
	if ((size_t)(sep - s) != 5 || strncasecmp(s, "https", 5) != 0) {
		snprintf(err, errlen,
			 "admin URL \"%s\" has an unsupported scheme: give it as https://HOST[:PORT]", s);
		return ERR_INVAL;
	}
	rest = sep + 3;
	alen = strcspn(rest, "/?#");
	after = rest + alen;
	if (*after && strcmp(after, "/") != 0) {
		snprintf(err, errlen,
			 "admin URL \"%s\" has a path, query or fragment: give only https://HOST[:PORT]", s);
		return ERR_INVAL;
	}
	if (memchr(rest, '@', alen)) {
		snprintf(
		    err, errlen,
		    "admin URL \"%s\" contains user info: give only https://HOST[:PORT] and the token with "
		    "--token",
		    s);
		return ERR_INVAL;
	}

	if (alen > 0 && rest[0] == '[') {
		const char *close = memchr(rest, ']', alen);
		if (!close)
			goto bad_host;
		host = rest + 1;
		hlen = (size_t)(close - host);
		if (close + 1 < after) {
			if (close[1] != ':')
				goto bad_host;
			port = close + 2;
			plen = (size_t)(after - port);
		}
		u->is_ip = u->is_ipv6 = true;
	} else {
		const char *colon = memchr(rest, ':', alen);
		host = rest;
		hlen = colon ? (size_t)(colon - rest) : alen;
		if (colon) {
			port = colon + 1;
			plen = (size_t)(after - port);
			if (memchr(port, ':', plen)) {
				snprintf(err, errlen,
					 "admin URL \"%s\": write an IPv6 address in brackets, e.g. "
					 "https://[::1]:8443",
					 s);
				return ERR_INVAL;
			}
		}
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		goto bad_host;
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';

	if (u->is_ipv6) {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, u->host, &a6) != 1)
			goto bad_host;
	} else {
		struct in_addr a4;
		if (inet_pton(AF_INET, u->host, &a4) == 1) {
			u->is_ip = true;
		} else if (valid_dns_host(u->host, hlen)) {
			for (char *c = u->host; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			if (hlen > 1 && u->host[hlen - 1] == '.')
				u->host[hlen - 1] = '\0';
		} else {
			goto bad_host;
		}
	}

	if (port) {
		if (addr_port_parse(port, plen, &u->port_num) != 0)
			goto bad_port;
	} else {
		u->port_num = 443;
	}
	snprintf(u->port, sizeof(u->port), "%u", (unsigned)u->port_num);
	return 0;

bad_host:
	snprintf(err, errlen,
		 "admin URL \"%s\" has no valid host name or IP address: give it as https://HOST[:PORT]", s);
	memset(u, 0, sizeof(*u));
	return ERR_INVAL;
bad_port:
	snprintf(err, errlen, "admin URL \"%s\" has an invalid port: use a number from 1 to 65535", s);
	memset(u, 0, sizeof(*u));
	return ERR_INVAL;
}

void admin_url_authority(const admin_url_t *u, char *out, size_t outlen)
{
	const char *lb = u->is_ipv6 ? "[" : "", *rb = u->is_ipv6 ? "]" : "";

	if (u->port_num == 443)
		snprintf(out, outlen, "%s%s%s", lb, u->host, rb);
	else
		snprintf(out, outlen, "%s%s%s:%u", lb, u->host, rb, (unsigned)u->port_num);
}

bool admin_valid_name(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	/* "." and ".." would change the meaning of the request path. */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return n >= 1 && n <= 64;
}

bool admin_valid_email(const char *s)
{
	size_t n = 0, ats = 0, at = 0;

	for (; s && s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%' || c == '\\' ||
		    c == '"')
			return false;
		if (c == '@') {
			ats++;
			at = n;
		}
	}
	return n >= 1 && n <= ADMIN_EMAIL_MAX && ats == 1 && at > 0 && at < n - 1;
}

int admin_token_check(const char *tok, size_t *len)
{
	size_t n;

	if (!tok)
		return ERR_INVAL;
	n = strlen(tok);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		n--;
	if (n == 0 || n > ADMIN_TOKEN_MAX)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e)
			return ERR_INVAL;
	*len = n;
	return 0;
}

/* Replaces C0 controls, DEL and UTF-8-encoded C1 controls (U+0080..U+009F,
 * which some terminals obey) with '?'. Works in place; may shorten. */
static void sanitize_inplace(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = (unsigned char *)s;

	while (*r) {
		if (r[0] == 0xc2 && r[1] >= 0x80 && r[1] <= 0x9f) {
			*w++ = '?';
			r += 2;
		} else if (*r < 0x20 || *r == 0x7f) {
			*w++ = '?';
			r++;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

void admin_sanitize(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (outlen == 0)
		return;
	n = strlen(in);
	if (n >= outlen) {
		n = outlen - 1;
		/* Do not leave half a UTF-8 character at the cut. */
		while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, in, n);
	out[n] = '\0';
	sanitize_inplace(out);
}

static size_t display_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static int table_push_row(admin_table_t *t, const char *const *cells)
{
	size_t need = (t->nrows + 1) * t->ncols;

	if (need > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : t->ncols * 8;
		while (ncap < need)
			ncap *= 2;
		char **c = realloc(t->cells, ncap * sizeof(*c));
		if (!c)
			return ERR_NOMEM;
		t->cells = c;
		t->cap = ncap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *copy = strdup(cells[i] ? cells[i] : "-");
		if (!copy) {
			for (size_t j = 0; j < i; j++)
				free(t->cells[t->nrows * t->ncols + j]);
			return ERR_NOMEM;
		}
		sanitize_inplace(copy);
		t->cells[t->nrows * t->ncols + i] = copy;
	}
	t->nrows++;
	return 0;
}

int admin_table_init(admin_table_t *t, size_t ncols, const char *const *headers)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	return table_push_row(t, headers);
}

int admin_table_add(admin_table_t *t, const char *const *cells)
{
	return table_push_row(t, cells);
}

int admin_table_render(const admin_table_t *t, buf_t *out)
{
	size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));
	int r = 0;

	if (!width)
		return ERR_NOMEM;
	for (size_t row = 0; row < t->nrows; row++)
		for (size_t col = 0; col < t->ncols; col++) {
			size_t w = display_width(t->cells[row * t->ncols + col]);
			if (w > width[col])
				width[col] = w;
		}
	for (size_t row = 0; row < t->nrows && r == 0; row++) {
		for (size_t col = 0; col < t->ncols && r == 0; col++) {
			const char *cell = t->cells[row * t->ncols + col];
			r = buf_append_str(out, cell);
			if (r == 0 && col + 1 < t->ncols)
				r = buf_printf(out, "%*s", (int)(width[col] - display_width(cell) + 2), "");
		}
		if (r == 0)
			r = buf_append_str(out, "\n");
	}
	free(width);
	return r;
}

void admin_table_free(admin_table_t *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
