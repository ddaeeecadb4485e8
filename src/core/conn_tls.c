/* conn_tls.c — a conn's OpenSSL side: a BIO that hands OpenSSL the
 * ciphertext received in the conn's tin buffer and collects its records in
 * tout (conn.c moves both to and from the socket), and the SSL set-up.
 *
 * Must never: let tout grow past its cap (the BIO asks OpenSSL to retry
 * instead), or report end of stream before the peer's EOF was seen. */
#include "core/conn_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/err.h"

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
	if (!m && (m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "burrow conn")) != NULL) {
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
