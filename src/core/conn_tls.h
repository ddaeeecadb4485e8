/* conn_tls.h — the TLS side of a conn (internal to conn.c). */
#ifndef BURROW_CONN_TLS_H
#define BURROW_CONN_TLS_H

#include <stdbool.h>

#include "core/conn.h"

/* Gives c an SSL of ctx wired to its tin/tout buffers, in the server or
 * client role; a client verifies host (a DNS name, sent as SNI, or an IP
 * literal). 0 or ERR_NOMEM / ERR_INVAL. */
int conn_tls_setup(conn_t *c, SSL_CTX *ctx, bool server, const char *host);

#endif
