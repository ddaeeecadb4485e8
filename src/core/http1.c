/* http1.c — incremental HTTP/1.1 parsing on http-parser, with hard bounds
 * and the request-smuggling checks http-parser leaves to its user.
 *
 * One http_parser lives across feeds; bytes are never parsed twice. The url
 * and header strings are copied into p->store as they arrive (a value may
 * come in several pieces, split across feeds), and the pointers in
 * p->headers[] are set only once the head is complete, since the store may
 * move while it grows. This file must never let a message through that two
 * HTTP implementations could frame differently (duplicate lengths, CL with
 * TE, obs-fold), and never grow past a bound.
 *
 * Private state is packed into p->state: the phase, whether the last head
 * byte seen was a LF (obs-fold detection across feeds) and which string the
 * last http-parser callback was building. */
#include "core/http1.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"

enum {
	PH_HEAD = 0, /* start line and headers */
	PH_BODY = 1,
	PH_DONE = 2, /* a message is complete; http1_reset before the next */
	PH_FAILED = 3,
	PH_MASK = 0x3,

	ST_PREV_LF = 0x4,

	CB_NONE = 0x00, /* which string the last data callback was building */
	CB_URL = 0x08,
	CB_FIELD = 0x10,
	CB_VALUE = 0x18,
	CB_MASK = 0x18,
};

/* Room for every string of a maximal head plus their NUL terminators. */
#define STORE_MAX (HTTP1_MAX_HEAD + 2 * HTTP1_MAX_HEADERS + 2)

static int phase(const http1_parser_t *p)
{
	return p->state & PH_MASK;
}
static void set_phase(http1_parser_t *p, int ph)
{
	p->state = (p->state & ~PH_MASK) | ph;
}
static int last_cb(const http1_parser_t *p)
{
	return p->state & CB_MASK;
}
static void set_last_cb(http1_parser_t *p, int cb)
{
	p->state = (p->state & ~CB_MASK) | cb;
}

static http1_parser_t *from_hp(http_parser *hp)
{
	return hp->data;
}

/* Records the first error a callback hits and makes http-parser stop. */
static int cb_fail(http1_parser_t *p, int err)
{
	if (!p->error)
		p->error = err;
	return -1;
}

static int store_add(http1_parser_t *p, const char *at, size_t len)
{
	int r = buf_append(&p->store, at, len);
	return r ? cb_fail(p, r) : 0;
}

static int store_nul(http1_parser_t *p)
{
	return store_add(p, "", 1);
}

/* Trailers of a chunked body are read and dropped, but not without bound. */
static int count_trailer(http1_parser_t *p, size_t len)
{
	p->head_bytes += len;
	return p->head_bytes > HTTP1_MAX_HEAD ? cb_fail(p, ERR_TOOBIG) : 0;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
	http1_parser_t *p = from_hp(hp);
	if (last_cb(p) != CB_NONE && last_cb(p) != CB_URL)
		return cb_fail(p, ERR_PROTO);
	set_last_cb(p, CB_URL);
	p->url_len += len;
	return store_add(p, at, len);
}

/* RFC 9110 tchar. http-parser, built non-strict as Debian ships it, lets
 * "Content-Length : 5" through and still reads it as the body length, while
 * other servers ignore that header: names are checked here. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
	http1_parser_t *p = from_hp(hp);
	if (phase(p) != PH_HEAD)
		return count_trailer(p, len);
	if (last_cb(p) != CB_FIELD) {
		/* A new header: close the url or the previous value. */
		if (store_nul(p))
			return -1;
		if (p->nheaders == HTTP1_MAX_HEADERS)
			return cb_fail(p, ERR_TOOBIG);
		memset(&p->headers[p->nheaders], 0, sizeof(p->headers[0]));
		p->nheaders++;
		set_last_cb(p, CB_FIELD);
	}
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)at[i]))
			return cb_fail(p, ERR_PROTO);
	p->headers[p->nheaders - 1].name_len += len;
	return store_add(p, at, len);
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
	http1_parser_t *p = from_hp(hp);
	if (phase(p) != PH_HEAD)
		return count_trailer(p, len);
	if (last_cb(p) == CB_FIELD) {
		if (store_nul(p))
			return -1;
		set_last_cb(p, CB_VALUE);
	} else if (last_cb(p) != CB_VALUE) {
		return cb_fail(p, ERR_PROTO);
	}
	if (memchr(at, '\0', len))
		return cb_fail(p, ERR_PROTO);
	p->headers[p->nheaders - 1].value_len += len;
	return store_add(p, at, len);
}

/* Terminates the last string and points url and headers[] into the store,
 * which no longer moves. Layout: url NUL (name NUL value NUL)*. */
static int finish_strings(http1_parser_t *p)
{
	switch (last_cb(p)) {
	case CB_FIELD: /* a name with no value callback: empty value */
		if (store_nul(p))
			return -1;
		/* fall through */
	case CB_NONE:
	case CB_URL:
	case CB_VALUE:
		if (store_nul(p))
			return -1;
		break;
	}
	set_last_cb(p, CB_NONE);

	char *base = (char *)buf_head(&p->store);
	size_t off = p->url_len + 1;
	p->url = base;
	for (size_t i = 0; i < p->nheaders; i++) {
		http1_header_t *h = &p->headers[i];
		h->name = base + off;
		off += h->name_len + 1;
		char *v = base + off;
		off += h->value_len + 1;
		/* Trailing whitespace is not part of a field value (RFC 9110 5.5). */
		while (h->value_len && (v[h->value_len - 1] == ' ' || v[h->value_len - 1] == '\t'))
			v[--h->value_len] = '\0';
		h->value = v;
	}
	return 0;
}

static bool no_body_status(int status)
{
	return (status >= 100 && status < 200) || status == 204 || status == 304;
}

static int on_headers_complete(http_parser *hp)
{
	http1_parser_t *p = from_hp(hp);
	int ret = 0;

	if (finish_strings(p))
		return -1;
	if (hp->http_major != 1) /* HTTP/0.9 has no headers to frame a body with */
		return cb_fail(p, ERR_PROTO);
	if (http1_header_count(p, "Content-Length") > 1 || http1_header_count(p, "Host") > 1 ||
	    (http1_header(p, "Content-Length") && http1_header(p, "Transfer-Encoding")))
		return cb_fail(p, ERR_PROTO);

	/* An upgrade (or CONNECT) request ends at its head: the bytes after it
	 * belong to the new protocol. One that also announces a body could be
	 * framed either way, so it is refused. */
	if (p->is_request && hp->upgrade &&
	    ((hp->flags & F_CHUNKED) || hp->uses_transfer_encoding ||
	     ((hp->flags & F_CONTENTLENGTH) && hp->content_length > 0)))
		return cb_fail(p, ERR_PROTO);
	p->method = hp->method;
	p->status = p->is_request ? 0 : hp->status_code;
	p->upgrade = hp->upgrade;
	if (!p->is_request && no_body_status(p->status)) {
		/* http-parser would read a body announced by Content-Length on a
		 * 304; such responses never have one. */
		ret = 1;
		if (p->status == 101) {
			p->upgrade = true;
			ret = 2; /* stop after the head: the rest is the new protocol */
		} else {
			p->upgrade = false;
		}
	} else if (!p->head_first && (hp->flags & F_CONTENTLENGTH) && hp->content_length > p->max_body) {
		p->body_too_large = true;
		return cb_fail(p, ERR_TOOBIG);
	}
	p->keep_alive = http_should_keep_alive(hp);
	p->has_body = (hp->flags & F_CHUNKED) || hp->uses_transfer_encoding ||
		      ((hp->flags & F_CONTENTLENGTH) && hp->content_length > 0);
	set_phase(p, PH_BODY);
	/* Stop at the head's last byte so http1_feed knows where it ends. */
	http_parser_pause(hp, 1);
	return ret;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
	http1_parser_t *p = from_hp(hp);
	int r = buf_append(&p->body, at, len);
	if (r == ERR_TOOBIG)
		p->body_too_large = true;
	return r ? cb_fail(p, r) : 0;
}

static int on_message_complete(http_parser *hp)
{
	http1_parser_t *p = from_hp(hp);
	p->keep_alive = http_should_keep_alive(hp);
	set_phase(p, PH_DONE);
	/* A pipelined next message waits for http1_reset. */
	http_parser_pause(hp, 1);
	return 0;
}

void http1_init(http1_parser_t *p, bool is_request, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->is_request = is_request;
	p->max_body = max_body;
	http_parser_settings_init(&p->settings);
	p->settings.on_url = on_url;
	p->settings.on_header_field = on_header_field;
	p->settings.on_header_value = on_header_value;
	p->settings.on_headers_complete = on_headers_complete;
	p->settings.on_body = on_body;
	p->settings.on_message_complete = on_message_complete;
	buf_init(&p->body, max_body);
	buf_init(&p->store, STORE_MAX);
	http1_reset(p);
}

void http1_free(http1_parser_t *p)
{
	buf_free_secret(&p->body); /* a login form, a new user's password */
	buf_free(&p->store);
}

void http1_reset(http1_parser_t *p)
{
	http_parser_init(&p->hp, p->is_request ? HTTP_REQUEST : HTTP_RESPONSE);
	p->hp.data = p;
	p->method = 0;
	p->status = 0;
	p->url = NULL;
	p->url_len = 0;
	p->nheaders = 0;
	p->upgrade = false;
	p->keep_alive = false;
	p->body_too_large = false;
	p->has_body = false;
	if (p->head_first)
		p->max_body = p->body.max = 0;
	if (p->body.data)
		explicit_bzero(p->body.data, p->body.len);
	buf_reset(&p->body);
	buf_reset(&p->store);
	p->head_bytes = 0;
	p->state = PH_HEAD;
	p->error = 0;
}

/* obs-fold: a head line that starts with SP or HTAB continues the previous
 * one. http-parser joins it into the value; other parsers may not, so it is
 * refused. Scans raw bytes, carrying the "after LF" state across feeds. */
static int scan_obs_fold(http1_parser_t *p, const uint8_t *s, size_t n)
{
	bool prev_lf = (p->state & ST_PREV_LF) != 0;
	for (size_t i = 0; i < n; i++) {
		if (prev_lf && (s[i] == ' ' || s[i] == '\t'))
			return ERR_PROTO;
		prev_lf = s[i] == '\n';
	}
	if (prev_lf)
		p->state |= ST_PREV_LF;
	else
		p->state &= ~ST_PREV_LF;
	return 0;
}

static int fail(http1_parser_t *p, int err)
{
	set_phase(p, PH_FAILED);
	p->error = err;
	return err;
}

int http1_feed(http1_parser_t *p, const uint8_t *data, size_t n, size_t *consumed)
{
	size_t off = 0;
	int r = HTTP1_MORE;

	if (phase(p) == PH_FAILED) {
		r = p->error;
		goto out;
	}
	while (off < n && phase(p) != PH_DONE) {
		size_t len = n - off;
		bool in_head = phase(p) == PH_HEAD;
		/* Never hand http-parser more head than the bound allows. */
		if (in_head && p->head_bytes >= HTTP1_MAX_HEAD) {
			r = fail(p, ERR_TOOBIG);
			goto out;
		}
		if (in_head && len > HTTP1_MAX_HEAD - p->head_bytes)
			len = HTTP1_MAX_HEAD - p->head_bytes;

		size_t got = http_parser_execute(&p->hp, &p->settings, (const char *)data + off, len);
		enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
		if (in_head) {
			/* When the head completed, http-parser paused on its final
			 * LF without consuming it; that byte is head too. */
			size_t head = got + (phase(p) != PH_HEAD);
			int fr = scan_obs_fold(p, data + off, head);
			p->head_bytes += head;
			if (fr) {
				r = fail(p, fr);
				goto out;
			}
		}
		if (p->error) {
			r = fail(p, p->error);
			goto out;
		}
		off += got;
		if (e == HPE_PAUSED) {
			if (phase(p) == PH_DONE)
				break;
			http_parser_pause(&p->hp, 0); /* end of head: go on with the body */
			if (in_head && p->head_first && p->has_body && !p->upgrade) {
				r = HTTP1_HEAD; /* the caller sets the body bound first */
				goto out;
			}
		} else if (e != HPE_OK) {
			r = fail(p, ERR_PROTO);
			goto out;
		}
	}
	if (phase(p) == PH_DONE)
		r = HTTP1_DONE;
	else if (phase(p) == PH_HEAD && p->head_bytes >= HTTP1_MAX_HEAD)
		r = fail(p, ERR_TOOBIG); /* the head needs at least one byte more */
out:
	*consumed = off;
	return r;
}

int http1_feed_eof(http1_parser_t *p)
{
	switch (phase(p)) {
	case PH_FAILED: return p->error;
	case PH_DONE: return HTTP1_DONE;
	default: break;
	}
	/* Length 0 tells http-parser the connection ended: it completes a body
	 * that runs to EOF, accepts an end between messages, and flags any
	 * other state as truncated. */
	http_parser_execute(&p->hp, &p->settings, "", 0);
	enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
	if (p->error)
		return fail(p, p->error);
	if (phase(p) == PH_DONE)
		return HTTP1_DONE;
	if (e != HPE_OK)
		return fail(p, ERR_PROTO);
	/* A clean end before any byte of a message: nothing to complete. */
	return HTTP1_MORE;
}

void http1_init_head_first(http1_parser_t *p)
{
	http1_init(p, true, 0);
	p->head_first = true;
}

int http1_set_max_body(http1_parser_t *p, size_t max_body)
{
	p->max_body = max_body;
	p->body.max = max_body;
	if ((p->hp.flags & F_CONTENTLENGTH) && p->hp.content_length > max_body) {
		p->body_too_large = true;
		return fail(p, ERR_TOOBIG);
	}
	return 0;
}

/* Header pointers are set only when the head is complete (p->url then set):
 * before that, or after a failure in the head, there are no headers. */
static size_t nheaders_ready(const http1_parser_t *p)
{
	return p->url ? p->nheaders : 0;
}

const http1_header_t *http1_header(const http1_parser_t *p, const char *name)
{
	for (size_t i = 0; i < nheaders_ready(p); i++)
		if (strcasecmp(p->headers[i].name, name) == 0)
			return &p->headers[i];
	return NULL;
}

size_t http1_header_count(const http1_parser_t *p, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < nheaders_ready(p); i++)
		if (strcasecmp(p->headers[i].name, name) == 0)
			n++;
	return n;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool http1_header_has_token(const http1_parser_t *p, const char *name, const char *token)
{
	size_t tlen = strlen(token);
	for (size_t i = 0; i < nheaders_ready(p); i++) {
		const http1_header_t *h = &p->headers[i];
		if (strcasecmp(h->name, name) != 0)
			continue;
		const char *s = h->value, *end = h->value + h->value_len;
		while (s < end) {
			const char *comma = memchr(s, ',', (size_t)(end - s));
			const char *e = comma ? comma : end;
			const char *a = s, *b = e;
			while (a < b && is_ows(*a))
				a++;
			while (b > a && is_ows(b[-1]))
				b--;
			if ((size_t)(b - a) == tlen && strncasecmp(a, token, tlen) == 0)
				return true;
			s = comma ? comma + 1 : end;
		}
	}
	return false;
}

int http1_path(const http1_parser_t *p, char *out, size_t outlen)
{
	const char *url = p->url ? p->url : "";
	size_t ulen = p->url ? p->url_len : 0;
	const char *q = memchr(url, '?', ulen);
	size_t n = q ? (size_t)(q - url) : ulen;
	if (n >= outlen)
		return ERR_TOOBIG;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

const char *http1_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
