/* login.c — the CLI login's protocol with the edge (login.h).
 *
 * Must never: print, log or pass in argv the token or the secret key, keep
 * either unwiped, accept a token the secret key did not open, or poll past
 * the deadline. Only the public key and the transfer id leave this process
 * (in the URL), and the code the person compares is derived from the key. */
#include "access/login.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/browser.h"
#include "access/token_cache.h"
#include "admin/http_client.h"
#include "core/addr.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/http1.h"
#include "core/jwt.h"

/* A sealed token in base64url: a JWT of at most JWT_MAX bytes plus the
 * box's 48, with room to spare. */
#define SEALED_B64_MAX 16384
/* The edge holds a poll ~20 s; a read that waits longer is a dead link. */
#define POLL_IO_MAX_MS 30000

int login_transfer_id(char out[LOGIN_ID_LEN + 1])
{
	uint8_t raw[32];
	if (sodium_init() < 0)
		return ERR_INVAL;
	randombytes_buf(raw, sizeof(raw));
	size_t n = b64url_encode(raw, sizeof(raw), out, LOGIN_ID_LEN + 1);
	sodium_memzero(raw, sizeof(raw));
	return n == LOGIN_ID_LEN ? 0 : ERR_INVAL;
}

void login_code(const uint8_t pk[32], char out[LOGIN_CODE_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(pk, 32, md, &mdlen, EVP_sha256(), NULL);
	snprintf(out, LOGIN_CODE_LEN + 1, "%02x%02x-%02x%02x", md[0], md[1], md[2], md[3]);
}

int login_url(const char *host, const char *edge, const char *id, const char *key, char *out, size_t outlen)
{
	char ehost[256], eport[8] = "443";
	if (edge && addr_split(edge, "443", ehost, sizeof(ehost), eport, sizeof(eport)) != 0)
		return ERR_INVAL;
	/* The browser reaches the edge by the app's name, on the edge's port. */
	bool port = strcmp(eport, "443") != 0;
	int n = snprintf(out, outlen, "https://%s%s%s/cdn-cgi/access/cli?transfer=%s&key=%s", host,
			 port ? ":" : "", port ? eport : "", id, key);
	return n > 0 && (size_t)n < outlen ? 0 : ERR_TOOBIG;
}

static bool is_ip(const char *h, bool *v6)
{
	unsigned char a[16];
	*v6 = inet_pton(AF_INET6, h, a) == 1;
	return *v6 || inet_pton(AF_INET, h, a) == 1;
}

/* url: the app (SNI, certificate name, Host); to: where the edge listens. */
static int fill_urls(const login_req_t *r, admin_url_t *url, admin_url_t *to)
{
	char def[HOSTNAME_MAX + 8];
	const char *edge = r->edge;
	uint16_t port;
	memset(url, 0, sizeof(*url));
	memset(to, 0, sizeof(*to));
	snprintf(url->host, sizeof(url->host), "%s", r->host);
	snprintf(url->port, sizeof(url->port), "443");
	url->port_num = 443;
	url->is_ip = is_ip(url->host, &url->is_ipv6);
	if (!edge) {
		snprintf(def, sizeof(def), "%s:443", r->host);
		edge = def;
	}
	if (addr_split(edge, "443", to->host, sizeof(to->host), to->port, sizeof(to->port)) != 0 ||
	    addr_port_parse(to->port, strlen(to->port), &port) != 0)
		return ERR_INVAL;
	to->port_num = port;
	to->is_ip = is_ip(to->host, &to->is_ipv6);
	return 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The first line of a refusal's body, with control bytes made harmless. */
static void first_line(const http_client_resp_t *resp, char *out, size_t outlen)
{
	size_t n = buf_used(&resp->body), i;
	const char *p = (const char *)buf_head(&resp->body);
	for (i = 0; i < n && i + 1 < outlen && p[i] != '\n' && p[i] != '\r'; i++)
		out[i] = (char)((unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i]);
	out[i] = '\0';
	if (!out[0])
		snprintf(out, outlen, "the edge answered %d %s", resp->status, http1_reason(resp->status));
}

/* Opens the 200 answer: base64url of crypto_box_seal(token). 0 with the
 * token, or a reason in why. */
static int open_sealed(const http_client_resp_t *resp, const uint8_t *pk, const uint8_t *sk, char **tok,
		       size_t *len, int64_t *exp, const char **why)
{
	const char *b = (const char *)buf_head(&resp->body);
	size_t n = buf_used(&resp->body);
	uint8_t *sealed = NULL;
	char *plain = NULL;
	size_t plen = 0;
	int r = ERR_INVAL;
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
		n--;
	*why = "the edge's answer is not a sealed token";
	if (n == 0 || n > SEALED_B64_MAX || !(sealed = malloc(n)))
		goto out;
	long m = b64url_decode(b, n, sealed, n);
	if (m <= (long)crypto_box_SEALBYTES)
		goto out;
	plen = (size_t)m - crypto_box_SEALBYTES;
	if (!(plain = malloc(plen + 1)))
		goto out;
	if (crypto_box_seal_open((unsigned char *)plain, sealed, (unsigned long long)m, pk, sk) != 0) {
		*why = "the edge's answer does not open with this login's key";
		goto out;
	}
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)plain[i] < 0x21 || (unsigned char)plain[i] > 0x7e)
			goto bad_token;
	if (token_exp(plain, plen, exp) != 0)
		goto bad_token;
	if (*exp <= (int64_t)time(NULL)) {
		*why = "the edge sent a token that has already expired (check this machine's clock)";
		goto out;
	}
	plain[plen] = '\0';
	*tok = plain;
	*len = plen;
	plain = NULL;
	r = 0;
	goto out;
bad_token:
	*why = "the edge sent something that is not an app token";
out:
	if (plain) {
		sodium_memzero(plain, plen + 1);
		free(plain);
	}
	free(sealed);
	return r;
}

int login_run(const login_req_t *r, char **tok, size_t *len, int64_t *exp)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	char id[LOGIN_ID_LEN + 1], key[64], code[LOGIN_CODE_LEN + 1], url_s[LOGIN_URL_MAX], path[96], d[32];
	admin_url_t url, to;
	const char *host = r->host;
	bool noted = false;
	int rc = 1;
	*tok = NULL;
	if (sodium_init() < 0) {
		fprintf(stderr, "burrow: login to %s failed: libsodium cannot start\n", host);
		return 1;
	}
	if (fill_urls(r, &url, &to) != 0) {
		fprintf(stderr, "burrow: login to %s failed: invalid edge address %s: expected HOST:PORT\n",
			host, r->edge);
		return 1;
	}
	crypto_box_keypair(pk, sk);
	if (login_transfer_id(id) != 0 || b64url_encode(pk, sizeof(pk), key, sizeof(key)) != LOGIN_ID_LEN ||
	    login_url(host, r->edge, id, key, url_s, sizeof(url_s)) != 0) {
		fprintf(stderr, "burrow: login to %s failed: cannot build the login URL\n", host);
		goto out;
	}
	login_code(pk, code);
	fprintf(stderr, "Log in to %s in your browser: %s\n", host, url_s);
	fprintf(stderr, "The page will show the code %s; allow the login only if it does.\n", code);
	fflush(stderr);
	if (!r->no_browser)
		browser_open(url_s); /* the URL is printed: a failure needs no word */

	snprintf(path, sizeof(path), "/cdn-cgi/access/transfer/%s", id);
	int64_t deadline = token_cache_now_ms() + r->timeout * 1000;
	for (;;) {
		int64_t left = deadline - token_cache_now_ms();
		if (left <= 0) {
			duration_format(r->timeout, d, sizeof(d));
			fprintf(stderr,
				"burrow: login to %s not completed within %s: run \"burrow access login "
				"https://%s\" to "
				"try again\n",
				host, d, host);
			break;
		}
		http_client_req_t hr = {
		    .url = &url,
		    .connect = &to,
		    .ca_file = r->ca_file,
		    .method = "GET",
		    .path = path,
		    .timeout_ms = (int)(left < POLL_IO_MAX_MS ? left : POLL_IO_MAX_MS),
		};
		http_client_resp_t resp;
		char err[600];
		int e = http_client_request(&hr, &resp, err, sizeof(err));
		if (e != 0) {
			if (resp.trust_failed) {
				fprintf(stderr, "burrow: login to %s failed: %s\n", host, err);
				buf_free_secret(&resp.body);
				break;
			}
			if (!noted && e != ERR_TIMEOUT) {
				/* its advice is about the admin CLI's --url: ours is BURROW_EDGE */
				char *hint = strstr(err, "--url");
				char *cut = hint ? memrchr(err, '(', (size_t)(hint - err)) : NULL;
				if (cut && cut > err)
					cut[-1] = '\0';
				fprintf(
				    stderr,
				    "burrow: login to %s: %s (check BURROW_EDGE); retrying every second\n",
				    host, err);
			}
			noted = true;
			buf_free_secret(&resp.body);
			if (e != ERR_TIMEOUT) /* a held poll that timed out: at once */
				sleep_ms(left < 1000 ? left : 1000);
			continue;
		}
		if (resp.status == 204) {
			buf_free_secret(&resp.body);
			continue;
		}
		if (resp.status == 200) {
			const char *why;
			if (open_sealed(&resp, pk, sk, tok, len, exp, &why) == 0)
				rc = 0;
			else
				fprintf(stderr, "burrow: login to %s failed: %s\n", host, why);
			buf_free_secret(&resp.body);
			break;
		}
		char line[512];
		first_line(&resp, line, sizeof(line));
		fprintf(stderr, "burrow: login to %s failed: %s\n", host, line);
		buf_free_secret(&resp.body);
		break;
	}
out:
	sodium_memzero(sk, sizeof(sk));
	return rc;
}
