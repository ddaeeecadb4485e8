/* admin_api.h — the admin JSON API under /api/v1/, executed on a worker thread.
 *
 * The edge's HTTP layer authenticates the bearer admin token, then hands the
 * request here through uv_queue_work; this module reads and writes the store
 * and produces a JSON response. When the request changed state, resp->changed
 * is set and the edge reloads its model. Endpoints and bodies are documented
 * in docs/admin-api.md. Errors are {"error": "<one line>"}. */
#ifndef BURROW_EDGE_ADMIN_API_H
#define BURROW_EDGE_ADMIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/store/store.h"

typedef struct admin_req {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path;   /* e.g. "/api/v1/apps/ssh" (no query string) */
	const uint8_t *body;
	size_t body_len;
} admin_req_t;

typedef struct admin_resp {
	int status;
	char *body; /* malloc'd JSON text; caller frees */
	bool changed;
} admin_resp_t;

/* Initialises what the handlers need (libsodium, for password hashing).
 * Idempotent and thread-safe; admin_api_exec calls it too, so calling it
 * where the edge sets up its admin API only moves the first cost earlier.
 * 0 or ERR_UNAVAIL. */
int admin_api_init(void);

/* Blocking; worker thread only. Always fills resp (status 500 on failure). */
void admin_api_exec(store_t *st, const admin_req_t *req, admin_resp_t *resp);

#endif
