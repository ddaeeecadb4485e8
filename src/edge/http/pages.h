/* pages.h — the few HTML pages a person sees on the edge.
 *
 * Plain HTML and CSS, no JavaScript, readable on a phone; every page names
 * the application (when there is one) and the person (when known). Every
 * string from outside is HTML-escaped here, so callers pass raw values.
 * Each function returns a malloc'd NUL-terminated page, or NULL when out of
 * memory. */
#ifndef BURROW_EDGE_HTTP_PAGES_H
#define BURROW_EDGE_HTTP_PAGES_H

#include <stdbool.h>
#include <stddef.h>

/* The login page: a button per identity provider in idps (each links to
 * /cdn-cgi/access/login/NAME?return=RET) and, with form, the built-in
 * users' form. app may be NULL; error (one line) shows above; email
 * prefills the field. ret is where the login goes back to; csrf the form's
 * token. */
char *page_login(const char *app, const char *ret, const char *csrf, const char *error, const char *email,
		 const char *const *idps, size_t nidps, bool form);

/* "Allow the burrow command line on your computer to connect to APP as
 * EMAIL? Code ...": a form posting host, transfer and key back with csrf. */
char *page_authorize(const char *app, const char *email, const char *code, const char *host,
		     const char *transfer, const char *key, const char *csrf);

/* A page with a title and one paragraph: denied, done, logged out,
 * errors. who (may be NULL) names the person, app (may be NULL) the app. */
char *page_message(const char *title, const char *text, const char *app, const char *who);

#endif
