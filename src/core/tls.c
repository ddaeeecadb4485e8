/* tls.c — OpenSSL context set-up. */
#include "core/tls.h"

#include "core/conn_tls.h"
#include "core/err.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tls_last_error(char *out, size_t outlen)
{
	unsigned long e = ERR_peek_last_error();
	if (!e) {
		out[0] = '\0';
		return out;
	}
	ERR_error_string_n(e, out, outlen);
	return out;
}

/* TLS 1.2 suites: ECDHE (forward secrecy) with an AEAD, as TLS 1.3's all
 * are. No CBC: its MAC-then-encrypt is what LUCKY13 times. */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

/* TLS 1.2 and later with TLS12_CIPHERS, on every context we make. */
static int tls_ctx_limit(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1)
		return ERR_TLS;
	return 0;
}

void tls_init_short_lived(void)
{
	uint64_t opts = OPENSSL_INIT_NO_ATEXIT;
	const char *conf = getenv("OPENSSL_CONF");
	if (!conf || !*conf)
		opts |= OPENSSL_INIT_NO_LOAD_CONFIG;
	OPENSSL_init_ssl(opts, NULL);
}

/* Trust a client context loads late: its CA file. Parsing a certificate
 * costs OpenSSL 3.0 a decoder set-up of ~0.4 ms, so the file is read once
 * the ClientHello is out (tls_client_prepare), or at the latest when a
 * certificate chain is verified. On loopback the kernel often runs the
 * woken edge on our CPU, and then the two take turns anyway (README,
 * "Time to banner"). */
typedef struct tls_trust {
	bool loaded;
	bool failed;
	char err[300];
	char ca_file[];
} tls_trust_t;

/* Set by the first tls_client_ctx(); client processes make their
 * contexts on one thread. */
static int trust_idx = -1;

static void trust_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	free(ptr);
}

static tls_trust_t *trust_of(SSL_CTX *ctx)
{
	return trust_idx < 0 ? NULL : SSL_CTX_get_ex_data(ctx, trust_idx);
}

bool tls_client_prepare(SSL_CTX *ctx)
{
	tls_trust_t *t = trust_of(ctx);
	if (!t || t->loaded)
		return !t || !t->failed;
	t->loaded = true;
	ERR_clear_error();
	if (!SSL_CTX_load_verify_file(ctx, t->ca_file)) {
		const char *why = ERR_reason_error_string(ERR_peek_last_error());
		snprintf(t->err, sizeof(t->err), "cannot load CA file %s: %s", t->ca_file,
			 why ? why : "not a PEM certificate");
		t->failed = true;
		ERR_clear_error();
	}
	return !t->failed;
}

const char *tls_client_trust_error(SSL_CTX *ctx)
{
	tls_trust_t *t = trust_of(ctx);
	return t && t->failed ? t->err : NULL;
}

static int verify_chain(X509_STORE_CTX *x, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	/* The store ctx looks certificates up in the context's store as it
	 * builds the chain, so loading into that store now is in time. */
	if (ssl && !tls_client_prepare(SSL_get_SSL_CTX(ssl))) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	return X509_verify_cert(x);
}

SSL_CTX *tls_client_ctx(const char *ca_file, bool defer_ca, const unsigned char *alpn, size_t alpn_len,
			char *err, size_t errlen)
{
	char e[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || tls_ctx_limit(ctx) != 0) {
		snprintf(err, errlen, "cannot create TLS context: %s", tls_last_error(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_keylog_callback(ctx, conn_tls_keylog); /* records go to tlsrec */
	/* The hashed directory is read per certificate on demand; parsing the
	 * whole bundle costs ~17 ms per process start. */
	SSL_CTX_load_verify_dir(ctx, X509_get_default_cert_dir());
	if (ca_file && *ca_file) {
		/* Unreadable is told now; unparsable when first needed. */
		FILE *f = fopen(ca_file, "r");
		if (!f) {
			snprintf(err, errlen, "cannot read CA file %s: %s", ca_file, strerror(errno));
			SSL_CTX_free(ctx);
			return NULL;
		}
		fclose(f);
		if (trust_idx < 0)
			trust_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, trust_free);
		size_t n = strlen(ca_file) + 1;
		tls_trust_t *t = calloc(1, sizeof(*t) + n);
		if (trust_idx < 0 || !t || !SSL_CTX_set_ex_data(ctx, trust_idx, t)) {
			free(t);
			snprintf(err, errlen, "cannot create TLS context: out of memory");
			SSL_CTX_free(ctx);
			return NULL;
		}
		memcpy(t->ca_file, ca_file, n);
		SSL_CTX_set_cert_verify_callback(ctx, verify_chain, NULL);
	}
	if (alpn && SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned)alpn_len) != 0) {
		snprintf(err, errlen, "cannot set ALPN");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (!defer_ca && !tls_client_prepare(ctx)) {
		snprintf(err, errlen, "%s", tls_client_trust_error(ctx));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *tls_server_ctx(char *err, size_t errlen)
{
	char e[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || tls_ctx_limit(ctx) != 0) {
		snprintf(err, errlen, "cannot create TLS context: %s", tls_last_error(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* No resumption: neither our client nor the connector resumes, and
	 * TLS 1.3 tickets cost every handshake two session copies on the
	 * server and two messages for the client to parse (banner -0.4 ms). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_keylog_callback(ctx, conn_tls_keylog); /* records go to tlsrec */
	return ctx;
}
