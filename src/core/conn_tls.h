/* conn_tls.h — the TLS side of a conn (internal to conn.c, and tls.c's
 * key log hook). */
#ifndef BURROW_CONN_TLS_H
#define BURROW_CONN_TLS_H

#include <stdbool.h>

#include "core/conn.h"

/* Gives c an SSL of ctx wired to its tin/tout buffers, in the server or
 * client role; a client verifies host (a DNS name, sent as SNI, or an IP
 * literal). 0 or ERR_NOMEM / ERR_INVAL. */
int conn_tls_setup(conn_t *c, SSL_CTX *ctx, bool server, const char *host);

/* The handshake finished: keeps what owners ask of it (server name, ALPN)
 * and, for TLS 1.3 with a suite tlsrec knows, moves the records to tlsrec
 * and frees the SSL. 0 or ERR_NOMEM. */
int conn_tls_established(conn_t *c);

/* Frees what conn_tls gave c (SSL, records, secrets, names). */
void conn_tls_free(conn_t *c);

/* OpenSSL's key log callback, set on every context (tls.c): catches the
 * application traffic secrets of conns' handshakes for tlsrec. Ignores
 * SSLs that are not a conn's. */
void conn_tls_keylog(const SSL *ssl, const char *line);

#endif
