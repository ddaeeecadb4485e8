/* conn_tls.c — a conn's OpenSSL side: a BIO that hands OpenSSL the
 * ciphertext received in the conn's tin buffer and collects its records in
 * tout (conn.c moves both to and from the socket), the SSL set-up, and the
 * hand-over of a finished TLS 1.3 handshake's records to tlsrec.
 *
 * Must never: let tout grow past its cap (the BIO asks OpenSSL to retry
 * instead), report end of stream before the peer's EOF was seen, hand
 * tlsrec a connection whose records OpenSSL has begun to read, or keep a
 * traffic secret longer than the handshake. */
#include "core/conn_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/slab.h"
#include "core/tlsrec.h"

/* Secrets from the key log, held from the moment OpenSSL derives them to
 * the end of the handshake. */
struct conn_tls_keys {
	uint8_t secret[2][TLSREC_SECRET_MAX]; /* client's, server's */
	uint8_t len[2];
};

static int tbio_type; /* our BIO method's type, to tell our SSLs apart */

static int tbio_write(BIO *b, const char *p, size_t n, size_t *written)
{
	conn_t *c = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	*written = 0;
	size_t room = buf_room(&c->tout);
	if (room == 0) {
		BIO_set_retry_write(b); /* conn_push sends and comes back */
		return 0;
	}
	if (n > room)
		n = room;
	if (buf_append(&c->tout, p, n) != 0)
		return 0; /* out of memory: a hard error */
	*written = n;
	return 1;
}

static int tbio_read(BIO *b, char *p, size_t n, size_t *nread)
{
	conn_t *c = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	*nread = 0;
	size_t have = buf_used(&c->tin);
	if (have == 0) {
		if (!c->eof_in)
			BIO_set_retry_read(b);
		return 0; /* without retry: end of stream */
	}
	if (n > have)
		n = have;
	memcpy(p, buf_head(&c->tin), n);
	buf_consume(&c->tin, n);
	*nread = n;
	return 1;
}

static long tbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	conn_t *c = BIO_get_data(b);
	switch (cmd) {
	case BIO_CTRL_PENDING: return (long)buf_used(&c->tin);
	case BIO_CTRL_WPENDING: return (long)buf_used(&c->tout);
	case BIO_CTRL_FLUSH: return 1;
	case BIO_CTRL_EOF: return c->eof_in && buf_used(&c->tin) == 0;
	default: return 0;
	}
}

static BIO_METHOD *tbio_method(void)
{
	static BIO_METHOD *m; /* one per process, never freed */
	if (!m && (m = BIO_meth_new(tbio_type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "burrow conn")) !=
		      NULL) {
		BIO_meth_set_write_ex(m, tbio_write);
		BIO_meth_set_read_ex(m, tbio_read);
		BIO_meth_set_ctrl(m, tbio_ctrl);
	}
	return m;
}

int conn_tls_setup(conn_t *c, SSL_CTX *ctx, bool server, const char *host)
{
	BIO_METHOD *m = tbio_method();
	c->ssl = m ? SSL_new(ctx) : NULL;
	if (!c->ssl)
		return ERR_NOMEM;
	BIO *b = BIO_new(m);
	if (!b)
		return ERR_NOMEM;
	BIO_set_data(b, c);
	BIO_set_init(b, 1);
	SSL_set_bio(c->ssl, b, b);
	/* wflight takes turns with tout, so it has tout's cap. */
	buf_init(&c->wflight, CONN_TLS_OUT);
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	c->tls = true;
	c->tls_server = server;
	c->handshaking = true;
	if (server) {
		SSL_set_accept_state(c->ssl);
		return 0;
	}
	SSL_set_connect_state(c->ssl);
	if (host && *host) {
		struct in6_addr a6;
		struct in_addr a4;
		bool is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
		if (is_ip) {
			X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
			if (!X509_VERIFY_PARAM_set1_ip_asc(vp, host))
				return ERR_INVAL;
		} else {
			if (!SSL_set_tlsext_host_name(c->ssl, host) || !SSL_set1_host(c->ssl, host))
				return ERR_INVAL;
		}
	}
	return 0;
}

static void keys_free(struct conn_tls_keys *k)
{
	if (k) {
		OPENSSL_cleanse(k, sizeof(*k));
		free(k);
	}
}

void conn_tls_keylog(const SSL *ssl, const char *line)
{
	/* "<LABEL> <client random hex> <secret hex>" (the NSS key log). */
	static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ", server[] = "SERVER_TRAFFIC_SECRET_0 ";
	BIO *b = SSL_get_rbio(ssl);
	if (!b || tbio_type == 0 || BIO_method_type(b) != tbio_type)
		return;
	conn_t *c = BIO_get_data(b);
	int which = strncmp(line, client, sizeof(client) - 1) == 0   ? 0
		    : strncmp(line, server, sizeof(server) - 1) == 0 ? 1
								     : -1;
	const char *hex = which < 0 ? NULL : strchr(line + sizeof(client) - 1, ' ');
	if (!hex)
		return;
	if (!c->keys && !(c->keys = calloc(1, sizeof(*c->keys))))
		return; /* the conn stays with OpenSSL's records */
	/* Into our buffer, no separators; fails on bad hex or a secret too
	 * long for it (len then stays 0: OpenSSL keeps the records). */
	size_t n = 0;
	c->keys->len[which] = 0;
	if (OPENSSL_hexstr2buf_ex(c->keys->secret[which], TLSREC_SECRET_MAX, &n, hex + 1, '\0') == 1)
		c->keys->len[which] = (uint8_t)n;
}

/* TLS 1.3, both secrets caught, and nothing of the records begun inside
 * OpenSSL: no record half read, none decrypted and not yet taken, none
 * waiting to be written. */
static tlsrec_t *take_records(conn_t *c, const struct conn_tls_keys *k)
{
	const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
	if (!k || k->len[0] == 0 || k->len[0] != k->len[1] || !ci || SSL_version(c->ssl) != TLS1_3_VERSION ||
	    SSL_has_pending(c->ssl) || SSL_want(c->ssl) != SSL_NOTHING)
		return NULL;
	return tlsrec_new(SSL_CIPHER_get_protocol_id(ci), c->tls_server, k->secret[0], k->secret[1],
			  k->len[0]);
}

/* Server names live as long as their sessions: kept on a slab, as conns
 * are (core/slab.h says why). */
static slab_t sni_slab = {.size = TLSEXT_MAXLEN_host_name + 1};

int conn_tls_established(conn_t *c)
{
	struct conn_tls_keys *k = c->keys;
	c->keys = NULL;
	const char *sni = c->tls_server ? SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name) : NULL;
	if (sni) {
		size_t sni_len = strlen(sni);
		int rc = 0;
		if (sni_len > TLSEXT_MAXLEN_host_name) /* OpenSSL takes none longer */
			rc = ERR_TOOBIG;
		else if (!(c->sni = slab_alloc(&sni_slab)))
			rc = ERR_NOMEM; /* the Host check needs it */
		if (rc != 0) {
			keys_free(k);
			return rc;
		}
		memcpy(c->sni, sni, sni_len + 1);
	}
	const unsigned char *alpn = NULL;
	unsigned alen = 0;
	SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
	if (alen > 0 && alen <= sizeof(c->alpn)) {
		memcpy(c->alpn, alpn, alen);
		c->alpn_len = (uint8_t)alen;
	}
	tlsrec_t *r = take_records(c, k);
	keys_free(k);
	if (r) {
		SSL_free(c->ssl); /* and our BIO */
		c->ssl = NULL;
		c->rec = r;
	}
	return 0;
}

void conn_tls_free(conn_t *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	tlsrec_free(c->rec);
	c->rec = NULL;
	keys_free(c->keys);
	c->keys = NULL;
	slab_free(&sni_slab, c->sni);
	c->sni = NULL;
}

const char *conn_tls_sni(const conn_t *c)
{
	return c->sni;
}

static enum conn_tls_fail verify_kind(int v)
{
	switch (v) {
	case X509_V_OK: return CONN_TLS_FAIL_HANDSHAKE;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED: return CONN_TLS_FAIL_TRUST;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH: return CONN_TLS_FAIL_NAME;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID: return CONN_TLS_FAIL_TIME;
	default: return CONN_TLS_FAIL_CERT;
	}
}

const char *conn_tls_failure(const conn_t *c, enum conn_tls_fail *kind)
{
	*kind = verify_kind(c->tls_verify);
	if (*kind != CONN_TLS_FAIL_HANDSHAKE)
		return X509_verify_cert_error_string(c->tls_verify);
	return c->tls_error ? ERR_reason_error_string(c->tls_error) : NULL;
}

bool conn_tls_alpn_is(const conn_t *c, const char *proto)
{
	size_t n = strlen(proto);
	return c->alpn_len == n && memcmp(c->alpn, proto, n) == 0;
}
