/* tls.h — OpenSSL contexts shared by every role. */
#ifndef BURROW_TLS_H
#define BURROW_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* Sets OpenSSL up for a short-lived process (`burrow access`, `tunnel`,
 * `admin`): no clean-up at exit (1.3 M instructions per ssh connection), and
 * no openssl.cnf unless OPENSSL_CONF names one (1.7 M; burrow sets its own
 * TLS versions and ciphers). Call before any other OpenSSL function. */
void tls_init_short_lived(void);

/* A client context: TLS 1.2+ (1.2 only with ECDHE and AES-GCM or
 * ChaCha20-Poly1305), peer verification against the system's hashed
 * CA directory (loaded lazily, per certificate: docs/design.md "Client
 * start-up") plus ca_file (PEM; may be NULL), ALPN alpn (wire format, may
 * be NULL).
 * ca_file must be readable now; with defer_ca it is parsed later
 * (tls_client_prepare), else now. Returns NULL with a one-line reason in
 * err. */
SSL_CTX *tls_client_ctx(const char *ca_file, bool defer_ca, const unsigned char *alpn, size_t alpn_len,
			char *err, size_t errlen);

/* Loads a deferred CA file if not done yet (conn.c calls it once a
 * ClientHello is out, so that the parse can overlap the server's work
 * where the server runs on another core).
 * false when it could not be loaded: tls_client_trust_error() says why,
 * and every verification with this context fails. */
bool tls_client_prepare(SSL_CTX *ctx);
const char *tls_client_trust_error(SSL_CTX *ctx);

/* A server context: TLS 1.2+ (1.2 only with ECDHE and AES-GCM or
 * ChaCha20-Poly1305), no client certificates.
 * Certificates are set by the caller. */
SSL_CTX *tls_server_ctx(char *err, size_t errlen);

/* The most recent OpenSSL error as text ("" when none). */
const char *tls_last_error(char *out, size_t outlen);

#endif
