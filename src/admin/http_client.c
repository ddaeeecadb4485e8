/* http_client.c — blocking HTTPS/1.1 request for the admin CLI (see
 * http_client.h).
 *
 * Must never send a request to an unverified peer (the request carries the
 * admin token) and never write the token or a response body to any log. */
#include "admin/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/http1.h"
#include "core/tls.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Makes a connected socket back blocking, with Nagle off and read/write
 * timeouts so a stalled edge cannot hang the CLI. */
static void tune_socket(int fd, int io_ms)
{
	struct timeval tv = {io_ms / 1000, (io_ms % 1000) * 1000};
	int one = 1, fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Tries each address until one connects; the whole attempt is bounded by
 * HTTP_CLIENT_CONNECT_TIMEOUT_MS. Returns the fd or a negative error. */
static int dial(const admin_url_t *u, const char *authority, int connect_ms, int io_ms, char *err,
		size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	int64_t deadline = now_ms() + connect_ms;
	int gr, last = ECONNREFUSED, fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (u->is_ip ? AI_NUMERICHOST : 0);
	gr = getaddrinfo(u->host, u->port, &hints, &res);
	if (gr != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s (check --url)", u->host,
			 gr == EAI_SYSTEM ? strerror(errno) : gai_strerror(gr));
		return ERR_UNAVAIL;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int left, pr, soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			last = errno;
			goto next;
		}
		pfd = (struct pollfd){fd, POLLOUT, 0};
		do {
			left = (int)(deadline - now_ms());
			pr = left > 0 ? poll(&pfd, 1, left) : 0;
		} while (pr < 0 && errno == EINTR);
		if (pr <= 0) {
			last = pr == 0 ? ETIMEDOUT : errno;
			close(fd);
			fd = -1;
			break; /* the deadline covers all addresses */
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == 0)
			break;
		last = soerr;
	next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		char within[48];
		snprintf(within, sizeof(within), "no answer within %d s", (connect_ms + 999) / 1000);
		snprintf(err, errlen, "cannot connect to %s: %s (is the edge running, and is --url right?)",
			 authority, last == ETIMEDOUT ? within : strerror(last));
		return last == ETIMEDOUT ? ERR_TIMEOUT : ERR_UNAVAIL;
	}
	tune_socket(fd, io_ms);
	return fd;
}

/* The socket is blocking with SO_RCVTIMEO/SO_SNDTIMEO: a timeout surfaces as
 * EAGAIN, which the socket BIO reports as "retry". */
static bool is_timeout(int ssl_err)
{
	return ssl_err == SSL_ERROR_WANT_READ || ssl_err == SSL_ERROR_WANT_WRITE ||
	       (ssl_err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static int handshake(SSL *ssl, const admin_url_t *u, const char *authority, char *err, size_t errlen)
{
	char e[256];
	long vr;
	int r;

	ERR_clear_error();
	r = SSL_connect(ssl);
	if (r == 1)
		return 0;
	vr = SSL_get_verify_result(ssl);
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		snprintf(err, errlen,
			 "the edge's certificate is not valid for %s (%s): use a --url host the certificate "
			 "names",
			 u->host, X509_verify_cert_error_string(vr));
		return ERR_TLS;
	}
	if (vr != X509_V_OK) {
		snprintf(err, errlen,
			 "the edge's certificate at %s is not trusted (%s): pass the edge's CA certificate "
			 "with --ca FILE or BURROW_CA",
			 authority, X509_verify_cert_error_string(vr));
		return ERR_TLS;
	}
	if (is_timeout(SSL_get_error(ssl, r))) {
		snprintf(err, errlen, "TLS handshake with %s timed out (is --url the edge's HTTPS listener?)",
			 authority);
		return ERR_TIMEOUT;
	}
	tls_last_error(e, sizeof(e));
	snprintf(err, errlen, "TLS handshake with %s failed%s%s (is --url the edge's HTTPS listener?)",
		 authority, *e ? ": " : "", e);
	return ERR_TLS;
}

static int send_request(SSL *ssl, const http_client_req_t *req, const char *authority, char *err,
			size_t errlen)
{
	buf_t rq;
	int r;

	buf_init(&rq, req->body_len + 16384);
	r = buf_printf(&rq, "%s %s HTTP/1.1\r\nHost: %s\r\n", req->method, req->path, authority);
	if (r == 0 && req->token)
		r = buf_printf(&rq, "Authorization: Bearer %.*s\r\n", (int)req->token_len, req->token);
	if (r == 0)
		r = buf_append_str(&rq, "User-Agent: burrow-admin\r\nAccept: application/json\r\n");
	if (r == 0 && req->body)
		r = buf_printf(&rq, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			       req->body_len);
	if (r == 0)
		r = buf_append_str(&rq, "Connection: close\r\n\r\n");
	if (r == 0 && req->body)
		r = buf_append(&rq, req->body, req->body_len);
	if (r != 0) {
		snprintf(err, errlen, "cannot build the request: %s", err_str(r));
		goto out;
	}
	ERR_clear_error();
	/* Blocking SSL_write without partial writes sends everything or fails. */
	if (SSL_write(ssl, buf_head(&rq), (int)buf_used(&rq)) != (int)buf_used(&rq)) {
		char e[256];
		snprintf(err, errlen, "cannot send the request to %s: %s", authority,
			 *tls_last_error(e, sizeof(e)) ? e : strerror(errno));
		r = ERR_CLOSED;
	}
out:
	buf_free_secret(&rq); /* holds the admin token */
	return r;
}

/* A FIN without close_notify is a plain end of stream (docs/design.md
 * "Hot path"). */
static bool is_eof(SSL *ssl, int ssl_err)
{
	if (ssl_err == SSL_ERROR_ZERO_RETURN)
		return true;
	if (ssl_err == SSL_ERROR_SSL &&
	    ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return true;
	return ssl_err == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0;
}

static int read_response(SSL *ssl, http_client_resp_t *resp, const char *authority, int io_ms, char *err,
			 size_t errlen)
{
	http1_parser_t p;
	uint8_t chunk[16384];
	int r = HTTP1_MORE;

	http1_init(&p, false, HTTP_CLIENT_MAX_BODY);
	while (r == HTTP1_MORE) {
		size_t used;
		int n, se;

		ERR_clear_error();
		errno = 0;
		n = SSL_read(ssl, chunk, sizeof(chunk));
		if (n > 0) {
			r = http1_feed(&p, chunk, (size_t)n, &used);
			continue;
		}
		se = SSL_get_error(ssl, n);
		if (is_eof(ssl, se)) {
			r = http1_feed_eof(&p);
			if (r == HTTP1_MORE)
				r = ERR_CLOSED;
		} else if (is_timeout(se)) {
			r = ERR_TIMEOUT;
		} else {
			r = ERR_TLS;
		}
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	switch (r) {
	case HTTP1_DONE:
		resp->status = p.status;
		r = buf_append(&resp->body, buf_head(&p.body), buf_used(&p.body));
		if (r != 0)
			snprintf(err, errlen, "cannot keep the response: %s", err_str(r));
		break;
	case ERR_TOOBIG:
		snprintf(err, errlen,
			 "the response from %s is larger than %zu MiB: is --url the edge's admin API?",
			 authority, HTTP_CLIENT_MAX_BODY >> 20);
		break;
	case ERR_PROTO:
		snprintf(err, errlen, "%s sent a malformed HTTP response: is --url the edge's admin API?",
			 authority);
		break;
	case ERR_CLOSED:
		snprintf(err, errlen, "%s closed the connection before a complete response", authority);
		break;
	case ERR_TIMEOUT:
		snprintf(err, errlen, "no response from %s within %d s", authority, (io_ms + 999) / 1000);
		break;
	default: {
		char e[256];
		snprintf(err, errlen, "reading the response from %s failed: %s", authority,
			 *tls_last_error(e, sizeof(e)) ? e : strerror(errno));
		r = ERR_TLS;
		break;
	}
	}
	buf_free_secret(&p.body); /* may hold a one-time secret */
	http1_free(&p);
	return r == HTTP1_DONE ? 0 : r;
}

int http_client_request(const http_client_req_t *req, http_client_resp_t *resp, char *err, size_t errlen)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	const admin_url_t *u = req->url;
	const admin_url_t *to = req->connect ? req->connect : req->url;
	int connect_ms = req->timeout_ms > 0 ? req->timeout_ms : HTTP_CLIENT_CONNECT_TIMEOUT_MS;
	int io_ms = req->timeout_ms > 0 ? req->timeout_ms : HTTP_CLIENT_IO_TIMEOUT_MS;
	struct sigaction ign, old;
	char authority[300], to_authority[300], e[320];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	FILE *f;
	int fd = -1, r;

	resp->status = 0;
	resp->trust_failed = false;
	buf_init(&resp->body, HTTP_CLIENT_MAX_BODY);
	admin_url_authority(u, authority, sizeof(authority));
	admin_url_authority(to, to_authority, sizeof(to_authority));

	/* A closed connection must be an error, not a SIGPIPE death. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);

	if (req->ca_file && *req->ca_file) {
		if (!(f = fopen(req->ca_file, "r"))) {
			snprintf(err, errlen, "cannot read the CA file %s (from --ca or BURROW_CA): %s",
				 req->ca_file, strerror(errno));
			resp->trust_failed = true;
			r = ERR_INVAL;
			goto out;
		}
		fclose(f);
	}
	ctx = tls_client_ctx(req->ca_file, false, alpn, sizeof(alpn) - 1, e, sizeof(e));
	if (!ctx) {
		snprintf(err, errlen, "%s (check --ca or BURROW_CA)", e);
		resp->trust_failed = true;
		r = ERR_TLS;
		goto out;
	}
	if ((r = fd = dial(to, to_authority, connect_ms, io_ms, err, errlen)) < 0)
		goto out;
	if (!(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd)) {
		snprintf(err, errlen, "cannot set up TLS: %s", tls_last_error(e, sizeof(e)));
		r = ERR_TLS;
		goto out;
	}
	if (u->is_ip) {
		/* IP literals: no SNI (RFC 6066), match the certificate's IP SAN. */
		r = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->host) == 1 ? 0 : ERR_TLS;
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		r = SSL_set_tlsext_host_name(ssl, u->host) == 1 && SSL_set1_host(ssl, u->host) == 1 ? 0
												    : ERR_TLS;
	}
	if (r != 0) {
		snprintf(err, errlen, "cannot set the name to verify (%s): %s", u->host,
			 tls_last_error(e, sizeof(e)));
		goto out;
	}
	if ((r = handshake(ssl, u, to_authority, err, errlen)) != 0) {
		resp->trust_failed = SSL_get_verify_result(ssl) != X509_V_OK;
		goto out;
	}
	if ((r = send_request(ssl, req, authority, err, errlen)) != 0)
		goto out;
	r = read_response(ssl, resp, to_authority, io_ms, err, errlen);
	if (r == 0)
		SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	sigaction(SIGPIPE, &old, NULL);
	ERR_clear_error();
	return r;
}
