/* pages.c — HTML for login, consent and messages (pages.h). */
#include "edge/http/pages.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/form.h"

#define PAGE_MAX (64 * 1024)

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"referrer\" content=\"no-referrer\">\n"
    "<title>%s</title>\n<style>\n"
    "body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\n"
    "main{max-width:26rem;margin:8vh auto;background:#fff;padding:2rem;border-radius:.5rem;"
    "box-shadow:0 1px 4px #0002}\n"
    "h1{font-size:1.35rem;margin:0 0 1rem}p{margin:.5rem 0 1rem}\n"
    "label{display:block;font-weight:600;margin-top:1rem}\n"
    "input{width:100%%;box-sizing:border-box;font:inherit;padding:.55rem;margin-top:.3rem;"
    "border:1px solid #b8bfcc;border-radius:.3rem}\n"
    "button{margin-top:1.5rem;width:100%%;font:inherit;font-weight:600;padding:.65rem;border:0;"
    "border-radius:.3rem;background:#2550c8;color:#fff}\n"
    ".err{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:.3rem}\n"
    ".code{font:600 1.6rem/1.2 ui-monospace,monospace;letter-spacing:.1em;text-align:center;"
    "background:#eef2fb;padding:.8rem;border-radius:.3rem}\n"
    ".who{color:#59627a;font-size:.9rem}\n"
    "a.idp{display:block;text-align:center;font-weight:600;padding:.65rem;border-radius:.3rem;"
    "background:#1d2330;color:#fff;text-decoration:none}\n"
    "</style></head><body><main>\n";
static const char page_tail[] = "<p class=\"who\">burrow</p></main></body></html>\n";

/* Appends s escaped; returns nonzero when it did not fit. */
static int put_esc(buf_t *b, const char *s)
{
	char tmp[2048];
	if (!s)
		return 0;
	if (!html_escape(s, tmp, sizeof(tmp)))
		return buf_append_str(b, "(too long)");
	return buf_append_str(b, tmp);
}

/* fmt with %s only; every argument escaped. */
static int put(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = 0;
	for (const char *p = fmt; *p && r == 0; p++) {
		if (p[0] == '%' && p[1] == 's') {
			r = put_esc(b, va_arg(ap, const char *));
			p++;
		} else {
			r = buf_append(b, p, 1);
		}
	}
	va_end(ap);
	return r;
}

static char *finish(buf_t *b, int r)
{
	if (r == 0)
		r = buf_append_str(b, page_tail);
	if (r == 0)
		r = buf_append(b, "", 1);
	if (r != 0) {
		buf_free(b);
		return NULL;
	}
	return (char *)buf_head(b); /* off is 0: the storage itself */
}

static int start(buf_t *b, const char *title)
{
	buf_init(b, PAGE_MAX);
	char t[512];
	if (!html_escape(title, t, sizeof(t)))
		t[0] = '\0';
	return buf_printf(b, page_head, t);
}

char *page_login(const char *app, const char *ret, const char *csrf, const char *error, const char *email,
		 const char *const *idps, size_t nidps, bool form)
{
	buf_t b;
	int r = start(&b, "Log in");
	if (r == 0)
		r = app ? put(&b, "<h1>Log in to %s</h1>\n", app) : put(&b, "<h1>Log in</h1>\n");
	if (r == 0 && error)
		r = put(&b, "<p class=\"err\" role=\"alert\">%s</p>\n", error);
	char enc[3 * 1024 + 1];
	if (!url_encode(ret, enc, sizeof(enc)))
		enc[0] = '\0';
	for (size_t i = 0; r == 0 && i < nidps; i++) {
		char name[3 * 64 + 1];
		if (!url_encode(idps[i], name, sizeof(name)))
			continue;
		/* (idp names and enc are URL-safe; put escapes them for HTML too) */
		r = put(&b,
			"<p><a class=\"idp\" href=\"/cdn-cgi/access/login/%s?return=%s\">Log in with "
			"%s</a></p>\n",
			name, enc, idps[i]);
	}
	if (r == 0 && form && nidps)
		r = put(&b, "<p class=\"who\">or with your email and password:</p>\n");
	if (r == 0 && form)
		r = put(
		    &b,
		    "<form method=\"post\" action=\"/cdn-cgi/access/login\">\n"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
		    "<input type=\"hidden\" name=\"return\" value=\"%s\">\n"
		    "<label for=\"email\">Email</label>\n"
		    "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required "
		    "autofocus value=\"%s\">\n"
		    "<label for=\"password\">Password</label>\n"
		    "<input id=\"password\" name=\"password\" type=\"password\" "
		    "autocomplete=\"current-password\" required>\n"
		    "<button type=\"submit\">Log in</button>\n</form>\n",
		    csrf, ret, email ? email : "");
	return finish(&b, r);
}

char *page_authorize(const char *app, const char *email, const char *code, const char *host,
		     const char *transfer, const char *key, const char *csrf)
{
	buf_t b;
	int r = start(&b, "Allow the command line");
	if (r == 0)
		r = put(
		    &b,
		    "<h1>Connect to %s</h1>\n"
		    "<p>The burrow command line on your computer asks to connect to <b>%s</b> as "
		    "<b>%s</b>. Allow it only if your terminal shows this code:</p>\n"
		    "<p class=\"code\">%s</p>\n"
		    "<form method=\"post\" action=\"/cdn-cgi/access/cli\">\n"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
		    "<input type=\"hidden\" name=\"host\" value=\"%s\">\n"
		    "<input type=\"hidden\" name=\"transfer\" value=\"%s\">\n"
		    "<input type=\"hidden\" name=\"key\" value=\"%s\">\n"
		    "<button type=\"submit\">Allow</button>\n</form>\n"
		    "<p class=\"who\">Logged in as %s. <a href=\"/cdn-cgi/access/logout\">Log out</a></p>\n",
		    app, host, email, code, csrf, host, transfer, key, email);
	return finish(&b, r);
}

char *page_message(const char *title, const char *text, const char *app, const char *who)
{
	buf_t b;
	int r = start(&b, title);
	if (r == 0)
		r = put(&b, "<h1>%s</h1>\n<p>%s</p>\n", title, text);
	if (r == 0 && app)
		r = put(&b, "<p class=\"who\">Application: %s</p>\n", app);
	if (r == 0 && who)
		r = put(
		    &b,
		    "<p class=\"who\">Logged in as %s. <a href=\"/cdn-cgi/access/logout\">Log out</a></p>\n",
		    who);
	return finish(&b, r);
}
