/* err.h — burrow's one error convention.
 *
 * Functions return 0 on success or a negative code. Codes from libuv
 * (negative errno, e.g. UV_ECONNREFUSED) pass through unchanged; burrow's own
 * codes live below ERR_BASE so the two ranges never collide. err_str() names
 * either kind. */
#ifndef BURROW_ERR_H
#define BURROW_ERR_H

enum err_code {
	ERR_BASE = -20000,
	ERR_NOMEM,    /* allocation failed */
	ERR_INVAL,    /* bad argument or malformed input */
	ERR_PROTO,    /* peer violated the protocol */
	ERR_TOOBIG,   /* a bound was reached (buffer cap, header size, ...) */
	ERR_TLS,      /* TLS handshake or record failure */
	ERR_NOTFOUND, /* no such object */
	ERR_EXISTS,   /* object already exists */
	ERR_AUTH,     /* credentials missing, unknown or revoked */
	ERR_DENIED,   /* credentials valid but policy denies */
	ERR_CLOSED,   /* operation on a closed or closing object */
	ERR_STORE,    /* persistent store failure */
	ERR_TIMEOUT,  /* deadline passed */
	ERR_UNAVAIL,  /* no route, no connector, overloaded */
	ERR_LAST
};

/* Human-readable text for any error code (burrow or libuv). Never NULL. */
const char *err_str(int code);

#endif
