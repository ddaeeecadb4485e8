/* form.c — urlencoded forms and query strings, the Cookie header, and HTML
 * and URL escaping.
 *
 * Input is borrowed and bounded by its length (no NUL is trusted); output
 * goes into caller buffers of a given size. It must never write past outlen,
 * never return a value with a NUL or a control byte in it, and never pick
 * one of two values for a field given twice. */
#include "core/form.h"

#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

static bool is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7F;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The next decoded byte of an urlencoded component, consumed from v: 0 or
 * ERR_INVAL (a bad %-escape, a control byte raw or decoded). */
static int next_byte(view_t *v, unsigned char *out)
{
	uint8_t c;
	if (view_get_u8(v, &c) != 0)
		return ERR_INVAL;
	if (c == '+') {
		c = ' ';
	} else if (c == '%') {
		uint8_t h, l;
		if (view_get_u8(v, &h) != 0 || view_get_u8(v, &l) != 0)
			return ERR_INVAL;
		int hv = hex_value(h), lv = hex_value(l);
		if (hv < 0 || lv < 0)
			return ERR_INVAL;
		c = (uint8_t)(hv << 4 | lv);
	}
	if (is_ctl(c))
		return ERR_INVAL;
	*out = c;
	return 0;
}

/* Whether the urlencoded component raw decodes to name: 1 or 0, or
 * ERR_INVAL when raw is malformed (the whole of raw is checked either way). */
static int decoded_equals(view_t raw, const char *name)
{
	size_t nlen = strlen(name), i = 0;
	int same = 1;
	while (raw.len > 0) {
		unsigned char c;
		if (next_byte(&raw, &c) != 0)
			return ERR_INVAL;
		if (i >= nlen || (unsigned char)name[i] != c)
			same = 0;
		i++;
	}
	return same && i == nlen;
}

/* Decodes raw into out (NUL-terminated): 0, ERR_INVAL or ERR_TOOBIG. */
static int decode_into(view_t raw, char *out, size_t outlen)
{
	size_t o = 0;
	int r = 0;
	while (raw.len > 0) {
		unsigned char c;
		if (next_byte(&raw, &c) != 0)
			return ERR_INVAL;
		if (o + 1 < outlen)
			out[o] = (char)c;
		else
			r = ERR_TOOBIG; /* read on: a malformed rest is still ERR_INVAL */
		o++;
	}
	if (r == 0)
		out[o] = '\0';
	return r;
}

/* The next field of an urlencoded string: everything up to '&'. */
static view_t next_field(view_t *s)
{
	const uint8_t *amp = s->len ? memchr(s->p, '&', s->len) : NULL;
	size_t n = amp ? (size_t)(amp - s->p) : s->len;
	view_t f = view_make(s->p, n);
	s->p += amp ? n + 1 : n;
	s->len -= amp ? n + 1 : n;
	return f;
}

static void split_at(view_t f, uint8_t sep, view_t *name, view_t *value, bool *has_sep)
{
	const uint8_t *eq = f.len ? memchr(f.p, sep, f.len) : NULL;
	*has_sep = eq != NULL;
	if (!eq) {
		*name = f;
		*value = view_make(f.p + f.len, 0);
		return;
	}
	*name = view_make(f.p, (size_t)(eq - f.p));
	*value = view_make(eq + 1, f.len - (size_t)(eq - f.p) - 1);
}

/* Every field is checked, not just the one asked for, so that the answer to
 * "is this body well formed" does not depend on which field a caller reads. */
int form_get(const char *s, size_t len, const char *name, char *out, size_t outlen)
{
	view_t rest = view_make(s, len), found = {NULL, 0};
	int count = 0;

	if (out && outlen)
		out[0] = '\0';
	if ((!s && len) || !name || (!out && outlen))
		return ERR_INVAL;
	while (rest.len > 0) {
		view_t f = next_field(&rest), fname, fvalue;
		bool has_eq;
		if (f.len == 0)
			continue; /* "a=1&&b=2", a trailing '&' */
		split_at(f, '=', &fname, &fvalue, &has_eq);
		int same = decoded_equals(fname, name);
		if (same < 0)
			return ERR_INVAL;
		/* the value is checked whether or not it is the one asked for */
		view_t probe = fvalue;
		while (probe.len > 0) {
			unsigned char c;
			if (next_byte(&probe, &c) != 0)
				return ERR_INVAL;
		}
		if (same) {
			found = fvalue;
			count++;
		}
	}
	if (count > 1)
		return ERR_INVAL;
	if (count == 0)
		return ERR_NOTFOUND;
	if (outlen == 0)
		return ERR_TOOBIG;
	int r = decode_into(found, out, outlen);
	if (r != 0)
		out[0] = '\0';
	return r;
}

static view_t trim_ows(view_t v)
{
	while (v.len > 0 && (v.p[0] == ' ' || v.p[0] == '\t')) {
		v.p++;
		v.len--;
	}
	while (v.len > 0 && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
		v.len--;
	return v;
}

/* Other cookies are not judged: a browser sends every cookie of the domain,
 * and one that another application set must not lock the user out. Only
 * the cookie asked for has to be well formed. */
int cookie_get(const char *h, size_t len, const char *name, char *out, size_t outlen)
{
	view_t rest = view_make(h, len), found = {NULL, 0};
	size_t nlen;
	int count = 0;

	if (out && outlen)
		out[0] = '\0';
	if ((!h && len) || !name || (!out && outlen))
		return ERR_INVAL;
	nlen = strlen(name);
	while (rest.len > 0) {
		const uint8_t *semi = memchr(rest.p, ';', rest.len);
		size_t n = semi ? (size_t)(semi - rest.p) : rest.len;
		view_t pair = view_make(rest.p, n), cname, cvalue;
		bool has_eq;
		rest.p += semi ? n + 1 : n;
		rest.len -= semi ? n + 1 : n;

		split_at(pair, '=', &cname, &cvalue, &has_eq);
		cname = trim_ows(cname);
		if (!has_eq || cname.len != nlen || memcmp(cname.p, name, nlen) != 0)
			continue;
		found = trim_ows(cvalue);
		count++;
	}
	if (count > 1)
		return ERR_INVAL;
	if (count == 0)
		return ERR_NOTFOUND;
	if (found.len >= 2 && found.p[0] == '"' && found.p[found.len - 1] == '"') {
		found.p++;
		found.len -= 2;
	}
	for (size_t i = 0; i < found.len; i++) {
		if (is_ctl(found.p[i]))
			return ERR_INVAL;
	}
	if (found.len >= outlen)
		return ERR_TOOBIG;
	if (found.len)
		memcpy(out, found.p, found.len);
	out[found.len] = '\0';
	return 0;
}

size_t html_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	if (!s || !out || outlen == 0)
		return 0;
	for (; *s; s++) {
		const char *rep;
		char one[2] = {*s, '\0'};
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: rep = one; break;
		}
		size_t n = strlen(rep);
		if (n >= outlen - o) {
			out[0] = '\0';
			return 0;
		}
		memcpy(out + o, rep, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

size_t url_encode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	if (!s || !out || outlen == 0)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t n = unreserved(c) ? 1 : 3;
		if (n >= outlen - o) {
			out[0] = '\0';
			return 0;
		}
		if (n == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}
