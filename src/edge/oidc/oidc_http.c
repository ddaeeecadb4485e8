/* oidc_http.c — libcurl's multi socket interface on the edge's libuv loop:
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION → one
 * uv_poll_t each) and when to call it back (CURLMOPT_TIMERFUNCTION → one
 * uv_timer_t); we hand readiness back with curl_multi_socket_action. No
 * call here blocks the loop (curl resolves names on its own thread).
 *
 * Trust: the system roots, plus a provider's own CA certificates when it
 * has some. CURLOPT_CAINFO_BLOB would replace the system roots, so the
 * provider's certificates are added to the connection's store in
 * CURLOPT_SSL_CTX_FUNCTION instead; such connections are never reused or
 * resumed by another request (curl's reuse key does not include them).
 *
 * Must never: follow a redirect, speak anything but https, keep more than
 * OIDC_HTTP_BODY_MAX bytes, or put a request body or credentials in err. */
#include "edge/oidc/oidc_http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

struct oidc_http_req {
	oidc_http_t *h;
	oidc_http_req_t *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	char *form; /* owned copy (may hold a code): wiped */
	char *user, *pass;
	char *ca_pem;
	char *body;
	size_t len;
	bool over; /* the body passed the cap */
	oidc_http_cb cb;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
};

struct oidc_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	oidc_http_req_t *reqs;
	size_t n;
	bool closing;
};

typedef struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	oidc_http_t *h;
} sock_ctx_t;

static void check_done(oidc_http_t *h);

/* ---- curl on libuv ---- */

static void poll_close_cb(uv_handle_t *hd)
{
	free(hd->data);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
	sock_ctx_t *c = p->data;
	oidc_http_t *h = c->h;
	int flags = 0, running = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, c->fd, flags, &running);
	check_done(h);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	oidc_http_t *h = userp;
	sock_ctx_t *c = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (c) {
			curl_multi_assign(h->multi, s, NULL);
			uv_poll_stop(&c->poll);
			uv_close((uv_handle_t *)&c->poll, poll_close_cb);
		}
		return 0;
	}
	if (!c) {
		if (!(c = calloc(1, sizeof(*c))))
			return -1;
		c->fd = s;
		c->h = h;
		if (uv_poll_init_socket(h->loop, &c->poll, s) != 0) {
			free(c);
			return -1;
		}
		c->poll.data = c;
		curl_multi_assign(h->multi, s, c);
	}
	int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
	uv_poll_start(&c->poll, ev, poll_cb);
	return 0;
}

static void timer_cb(uv_timer_t *t)
{
	oidc_http_t *h = t->data;
	int running = 0;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	oidc_http_t *h = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else /* 0 too goes through the loop: curl must not be re-entered from here */
		uv_timer_start(&h->timer, timer_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- requests ---- */

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void req_free(oidc_http_req_t *r)
{
	oidc_http_t *h = r->h;
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	h->n--;
	if (r->easy) {
		curl_multi_remove_handle(h->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	wipe_free(r->form);
	wipe_free(r->user);
	wipe_free(r->pass);
	free(r->ca_pem);
	if (r->body)
		OPENSSL_cleanse(r->body, r->len);
	free(r->body);
	free(r);
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	oidc_http_req_t *r = userp;
	size_t n = size * nmemb;
	if (r->len + n > OIDC_HTTP_BODY_MAX) {
		r->over = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	char *b = realloc(r->body, r->len + n + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, p, n);
	r->body = b;
	r->len += n;
	b[r->len] = '\0';
	return n;
}

/* Adds the provider's certificates to this connection's trust store (the
 * system roots are already in it). */
static CURLcode ssl_ctx_cb(CURL *easy, void *sslctx, void *userp)
{
	oidc_http_req_t *r = userp;
	X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);
	BIO *b = BIO_new_mem_buf(r->ca_pem, -1);
	X509 *x;
	int n = 0;
	while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) == 1)
			n++;
		X509_free(x);
	}
	BIO_free(b);
	return n > 0 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

static void check_done(oidc_http_t *h)
{
	CURLMsg *m;
	int left;
	while (!h->closing && (m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		oidc_http_req_t *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		CURLcode rc = m->data.result;
		long code = 0;
		int status = 0;
		char err[CURL_ERROR_SIZE + 64];
		err[0] = '\0';
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
		if (r->over) {
			status = ERR_TOOBIG;
			snprintf(err, sizeof(err), "the response is larger than %d bytes",
				 OIDC_HTTP_BODY_MAX);
		} else if (rc == CURLE_OPERATION_TIMEDOUT) {
			status = ERR_TIMEOUT;
			snprintf(err, sizeof(err), "no response within %d s", OIDC_HTTP_TIMEOUT_MS / 1000);
		} else if (rc != CURLE_OK) {
			status = ERR_UNAVAIL;
			snprintf(err, sizeof(err), "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		}
		oidc_http_cb cb = r->cb;
		void *arg = r->arg;
		char *body = r->body;
		size_t len = r->len;
		r->body = NULL;
		req_free(r);
		cb(arg, status, code, status == 0 ? (body ? body : "") : NULL, status == 0 ? len : 0, err);
		if (body)
			OPENSSL_cleanse(body, len);
		free(body);
	}
}

int oidc__http_init(uv_loop_t *loop, oidc_http_t **out)
{
	static bool global_done;
	oidc_http_t *h;

	*out = NULL;
	/* once per process, before any thread of ours uses curl (the loop thread) */
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return ERR_UNAVAIL;
		global_done = true;
	}
	if (!(h = calloc(1, sizeof(*h))))
		return ERR_NOMEM;
	h->loop = loop;
	if (!(h->multi = curl_multi_init())) {
		free(h);
		return ERR_NOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	*out = h;
	return 0;
}

static void timer_close_cb(uv_handle_t *hd)
{
	free(hd->data);
}

void oidc__http_close(oidc_http_t *h)
{
	if (!h)
		return;
	h->closing = true;
	while (h->reqs)
		req_free(h->reqs); // NOLINT(clang-analyzer-unix.Malloc): req_free moves the head (no prev) on
	/* removing the handles closed their sockets' polls (CURL_POLL_REMOVE) */
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, timer_close_cb);
}

static char *dup_opt(const char *s, bool *ok)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*ok = false;
	return d;
}

int oidc__http_start(oidc_http_t *h, const oidc_http_opts_t *o, oidc_http_cb cb, void *arg,
		     oidc_http_req_t **out)
{
	oidc_http_req_t *r;
	bool ok = true;

	*out = NULL;
	if (h->closing)
		return ERR_CLOSED;
	if (h->n >= OIDC_HTTP_INFLIGHT)
		return ERR_UNAVAIL;
	if (!(r = calloc(1, sizeof(*r))))
		return ERR_NOMEM;
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	h->n++;
	r->form = dup_opt(o->form, &ok);
	r->user = dup_opt(o->user, &ok);
	r->pass = dup_opt(o->pass, &ok);
	r->ca_pem = dup_opt(o->ca_pem, &ok);
	if (!ok || !(r->easy = curl_easy_init()) ||
	    !(r->headers = curl_slist_append(NULL, "Accept: application/json")))
		goto nomem;
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)OIDC_HTTP_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)OIDC_HTTP_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "burrow-edge");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	if (r->ca_pem) {
		curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
		curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, r);
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	}
	if (r->form) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->form);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->form));
	}
	if (r->user && r->pass) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, r->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, r->pass);
	}
#ifdef BURROW_FAULTS
	/* test builds only: "host:port:addr" pins a name (t_oidc_rp.sh) */
	const char *pin = getenv("BURROW_TEST_RESOLVE");
	struct curl_slist *resolve = NULL;
	if (pin && *pin) {
		static struct curl_slist *pinned;
		if (!pinned)
			pinned = curl_slist_append(NULL, pin);
		resolve = pinned;
	}
	if (resolve)
		curl_easy_setopt(e, CURLOPT_RESOLVE, resolve);
#endif
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
		goto nomem;
	*out = r;
	return 0;
nomem:
	if (r->easy) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	req_free(r);
	return ERR_NOMEM;
}

void oidc__http_cancel(oidc_http_req_t *r)
{
	if (r)
		req_free(r);
}
