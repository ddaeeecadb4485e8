/* pki.h — the edge's own certificate authority and per-hostname certificates.
 *
 * First start writes <data-dir>/ca.pem and ca-key.pem (EC P-256, 10 years).
 * Every hostname the edge serves gets a leaf certificate signed by that CA on
 * first use (one shared leaf key, certificate per name, cached in memory);
 * clients trust ca.pem through BURROW_CA. */
#ifndef BURROW_EDGE_PKI_H
#define BURROW_EDGE_PKI_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pki pki_t;

/* Loads the CA from dir, creating it when absent. */
int pki_open(const char *dir, pki_t **out, char *err, size_t errlen);
void pki_free(pki_t *p);

/* A server SSL_CTX for host (a DNS name or IP literal), cached; NULL on
 * failure. alpn_h2: select "h2" by ALPN (tunnel listener) instead of
 * "http/1.1". The pki keeps ownership. For a name known() denies, a new
 * certificate only within PKI_MINT_RATE a second (NULL beyond it), and
 * only the latest PKI_UNKNOWN_MAX of them stay cached. */
SSL_CTX *pki_ctx_for(pki_t *p, const char *host, int alpn_h2);

/* Which names the edge serves (its apps' hostnames); without it every
 * name counts as known. Called during handshakes, with arg. */
typedef bool (*pki_known_fn)(void *arg, const char *host);
void pki_set_known(pki_t *p, pki_known_fn known, void *arg);

/* Certificates cached, and of them for unknown names (tests). */
size_t pki_cached(const pki_t *p, size_t *unknown);

/* The context for handshakes without SNI (clients dialling an IP): a
 * certificate for localhost, 127.0.0.1, ::1 and names[0..n) (DNS names or
 * IP literals), with SNI handling installed. The caller owns it. */
SSL_CTX *pki_default_ctx(pki_t *p, const char *const *names, size_t n, int alpn_h2);

/* Serves a certificate of the user's (PEM chain + key) for the DNS names
 * in its subjectAltName, wildcards included ("*.site.test" covers one
 * label), instead of issuing one from the edge's CA. */
int pki_add_user_cert(pki_t *p, const char *cert_path, const char *key_path, char *err, size_t errlen);

/* Installs SNI handling on ctx: each handshake switches to the context of
 * the requested name; without SNI the default names' context is kept. */
void pki_attach_sni(pki_t *p, SSL_CTX *ctx, int alpn_h2);

#endif
