/* tls.h — OpenSSL contexts shared by every role. */
#ifndef BURROW_TLS_H
#define BURROW_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A client context: TLS 1.2+, peer verification against the system's hashed
 * CA directory (loaded lazily, per certificate: DESIGN.md "Client start-up")
 * plus ca_file (PEM; may be NULL), ALPN alpn (wire format, may be NULL).
 * Returns NULL with a one-line reason in err. */
SSL_CTX *tls_client_ctx(const char *ca_file, const unsigned char *alpn, size_t alpn_len, char *err,
			size_t errlen);

/* A server context: TLS 1.2+, no client certificates, modern ciphers.
 * Certificates are set by the caller. */
SSL_CTX *tls_server_ctx(char *err, size_t errlen);

/* The most recent OpenSSL error as text ("" when none). */
const char *tls_last_error(char *out, size_t outlen);

#endif
