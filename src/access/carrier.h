/* carrier.h — one session from a local byte stream to an application
 * through the edge: TLS to the edge (SNI = hostname), an HTTP/1.1 WebSocket
 * upgrade carrying the credentials, then bytes both ways in binary
 * messages. The same headers as the cloudflared client, so one edge serves
 * both. */
#ifndef BURROW_ACCESS_CARRIER_H
#define BURROW_ACCESS_CARRIER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <uv.h>

#include "core/conn.h"
#include "core/hostname.h"

typedef struct access_cfg {
	uv_loop_t *loop;
	SSL_CTX *ctx;
	char hostname[HOSTNAME_MAX + 1];
	const char *edge; /* "host:port" to dial; NULL: hostname:443 */
	const char *token_id;
	const char *token_secret;
	const char *app_token; /* cf-access-token JWT, optional */
	unsigned app_token_gen; /* changes whenever app_token does */
	/* With an app token: run (blocking) when the edge answers 401 to the
	 * current one, to get another into app_token (a new login); 0 then, 1
	 * after one line on stderr. The session retries once. NULL: a 401 is
	 * final. */
	int (*relogin)(void *arg);
	void *relogin_arg;
	const char *destination;
} access_cfg_t;

/* done(status, data): 0 after a clean end; 1 when the edge refused or could
 * not be reached (the one-line reason is already on stderr). */
typedef void (*carrier_done_cb)(int status, void *data);

/* Starts a session for local (already open; the carrier takes it over and
 * closes it at the end). */
int carrier_start(const access_cfg_t *cfg, conn_t *local, carrier_done_cb done, void *data);

#endif
