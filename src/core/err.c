/* err.c — names for error codes. */
#include "core/err.h"

#include <uv.h>

const char *err_str(int code)
{
	switch (code) {
	case 0: return "success";
	case ERR_NOMEM: return "out of memory";
	case ERR_INVAL: return "invalid argument or input";
	case ERR_PROTO: return "protocol error";
	case ERR_TOOBIG: return "size limit exceeded";
	case ERR_TLS: return "TLS failure";
	case ERR_NOTFOUND: return "not found";
	case ERR_EXISTS: return "already exists";
	case ERR_AUTH: return "authentication failed";
	case ERR_DENIED: return "access denied";
	case ERR_CLOSED: return "connection closed";
	case ERR_STORE: return "store failure";
	case ERR_TIMEOUT: return "timed out";
	case ERR_UNAVAIL: return "service unavailable";
	default: break;
	}
	if (code < 0 && code > ERR_BASE)
		return uv_strerror(code);
	return "unknown error";
}
