/* pki.c — CA, leaf certificates, SNI.
 *
 * Must never: write a private key with permissions wider than 0600, or issue
 * for a string that is not a valid hostname or IP literal. */
#include "edge/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/hostname.h"
#include "core/log.h"
#include "core/tls.h"

#define PKI_CACHE_MAX 4096
/* Names no app has (typos, scanners, floods of random names) still get a
 * certificate, so a client hears "unknown hostname" rather than a TLS
 * error, but at most this many per second, and only the latest few are
 * kept: each costs the edge 0.4 ms and 16 KiB (measured). */
#define PKI_MINT_RATE 10
#define PKI_MINT_BURST 20
#define PKI_UNKNOWN_MAX 64

typedef struct sni_arg {
	struct pki *p;
	int alpn_h2;
} sni_arg_t;

typedef struct pki_entry {
	char *host;
	int alpn_h2;
	bool known; /* a name the edge serves (pki_set_known) */
	SSL_CTX *ctx;
} pki_entry_t;

typedef struct pki_user {
	char **names; /* SAN DNS names, lowercase; may start with "*." */
	size_t nnames;
	SSL_CTX *ctx[2]; /* http/1.1, h2 */
} pki_user_t;

struct pki {
	pki_user_t *users;
	size_t nusers;
	X509 *ca;
	EVP_PKEY *ca_key;
	EVP_PKEY *leaf_key;
	pki_entry_t *cache;
	size_t ncache;
	size_t nunknown; /* entries of the cache that are not known */
	sni_arg_t sni[2];
	pki_known_fn known;
	void *known_arg;
	uint64_t mint_ms;   /* the bucket of mints for unknown names, as of */
	uint32_t mint_left; /* ... this many left */
};

static EVP_PKEY *gen_key(void) { return EVP_EC_gen("P-256"); }

static int set_serial(X509 *x)
{
	unsigned char rnd[16];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	rnd[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long days,
		       const char *san)
{
	X509 *x = X509_new();
	if (!x)
		return NULL;
	X509_set_version(x, 2);
	if (set_serial(x))
		goto fail;
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"burrow", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509 *iss = issuer ? issuer : x;
	if (!issuer) {
		if (add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
		    add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    add_ext(x, iss, NID_subject_key_identifier, "hash"))
			goto fail;
	} else {
		if (add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") ||
		    add_ext(x, iss, NID_key_usage, "critical,digitalSignature") ||
		    add_ext(x, iss, NID_ext_key_usage, "serverAuth") ||
		    add_ext(x, iss, NID_authority_key_identifier, "keyid") ||
		    add_ext(x, iss, NID_subject_alt_name, san))
			goto fail;
	}
	if (!X509_sign(x, issuer_key, EVP_sha256()))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	fchmod(fd, mode);
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return ERR_NOMEM;
	}
	int ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : ERR_TLS;
}

int pki_open(const char *dir, pki_t **out, char *err, size_t errlen)
{
	char cert_path[4096], key_path[4096];
	snprintf(cert_path, sizeof(cert_path), "%s/ca.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/ca-key.pem", dir);
	pki_t *p = calloc(1, sizeof(*p));
	if (!p)
		return ERR_NOMEM;
	FILE *fc = fopen(cert_path, "r");
	if (fc) {
		p->ca = PEM_read_X509(fc, NULL, NULL, NULL);
		fclose(fc);
		FILE *fk = fopen(key_path, "r");
		if (fk) {
			p->ca_key = PEM_read_PrivateKey(fk, NULL, NULL, NULL);
			fclose(fk);
		}
		if (!p->ca || !p->ca_key || X509_check_private_key(p->ca, p->ca_key) != 1) {
			snprintf(err, errlen, "cannot load the CA from %s and %s: unreadable or not a pair", cert_path,
				 key_path);
			goto fail;
		}
	} else {
		p->ca_key = gen_key();
		if (!p->ca_key || !(p->ca = make_cert(p->ca_key, "burrow edge CA", NULL, p->ca_key, 3650, NULL))) {
			snprintf(err, errlen, "cannot create the edge CA");
			goto fail;
		}
		int r;
		if ((r = write_pem(key_path, 0600, NULL, p->ca_key)) != 0 ||
		    (r = write_pem(cert_path, 0644, p->ca, NULL)) != 0) {
			snprintf(err, errlen, "cannot write %s: %s", cert_path, err_str(r));
			goto fail;
		}
		log_info("created edge CA %s (clients trust it through BURROW_CA)", cert_path);
	}
	if (!(p->leaf_key = gen_key())) {
		snprintf(err, errlen, "cannot create the leaf key");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	pki_free(p);
	return ERR_TLS;
}

static void user_free(pki_user_t *u)
{
	for (size_t j = 0; j < u->nnames; j++)
		free(u->names[j]);
	free(u->names);
	SSL_CTX_free(u->ctx[0]);
	SSL_CTX_free(u->ctx[1]);
}

static void entry_free(pki_t *p, pki_entry_t *e)
{
	if (!e->known)
		p->nunknown--;
	free(e->host);
	SSL_CTX_free(e->ctx);
}

void pki_free(pki_t *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ncache; i++)
		entry_free(p, &p->cache[i]);
	free(p->cache);
	for (size_t i = 0; i < p->nusers; i++)
		user_free(&p->users[i]);
	free(p->users);
	X509_free(p->ca);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->leaf_key);
	free(p);
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	const unsigned char *want = arg;
	unsigned char *sel = NULL;
	if (SSL_select_next_proto(&sel, outlen, want, (unsigned)(want[0] + 1), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static const unsigned char alpn_h2_wire[] = "\x02h2";
static const unsigned char alpn_h1_wire[] = "\x08http/1.1";

static SSL_CTX *issue_ctx_san(pki_t *p, const char *cn, const char *san, int alpn_h2)
{
	char err[256];
	X509 *leaf = make_cert(p->leaf_key, cn, p->ca, p->ca_key, 90, san);
	if (!leaf)
		return NULL;
	SSL_CTX *ctx = tls_server_ctx(err, sizeof(err));
	/* The leaf alone: clients must trust the CA already, and each
	 * certificate sent is one more for them to decode (OpenSSL 3.0 takes
	 * ~0.3 ms per certificate; RFC 8446 4.4.2 lets the anchor be left out). */
	if (!ctx || SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, p->leaf_key) != 1) {
		SSL_CTX_free(ctx);
		X509_free(leaf);
		return NULL;
	}
	X509_free(leaf);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)(alpn_h2 ? alpn_h2_wire : alpn_h1_wire));
	return ctx;
}

static SSL_CTX *issue_ctx(pki_t *p, const char *host, int alpn_h2)
{
	char san[HOSTNAME_MAX + 16];
	struct in6_addr a6;
	bool is_ip = inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	snprintf(san, sizeof(san), "%s:%s", is_ip ? "IP" : "DNS", host);
	return issue_ctx_san(p, host, san, alpn_h2);
}

SSL_CTX *pki_default_ctx(pki_t *p, const char *const *names, size_t n, int alpn_h2)
{
	char san[2048] = "DNS:localhost,IP:127.0.0.1,IP:::1";
	for (size_t i = 0; i < n; i++) {
		struct in6_addr a6;
		bool is_ip = inet_pton(AF_INET, names[i], &a6) == 1 || inet_pton(AF_INET6, names[i], &a6) == 1;
		size_t len = strlen(san);
		snprintf(san + len, sizeof(san) - len, ",%s:%s", is_ip ? "IP" : "DNS", names[i]);
	}
	SSL_CTX *ctx = issue_ctx_san(p, "burrow edge", san, alpn_h2);
	if (ctx)
		pki_attach_sni(p, ctx, alpn_h2);
	return ctx;
}

static bool user_name_matches(const char *pattern, const char *host)
{
	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(pattern, host) == 0;
	const char *dot = strchr(host, '.');
	/* A wildcard covers exactly one label. */
	return dot && dot != host && strcmp(dot + 1, pattern + 2) == 0;
}

void pki_set_known(pki_t *p, pki_known_fn known, void *arg)
{
	p->known = known;
	p->known_arg = arg;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One mint for a name nobody serves, when the bucket has one. */
static bool mint_allowed(pki_t *p)
{
	uint64_t now = now_ms();
	uint64_t refill = (now - p->mint_ms) * PKI_MINT_RATE / 1000;
	if (refill > 0) {
		uint64_t left = p->mint_left + refill;
		p->mint_left = left > PKI_MINT_BURST ? PKI_MINT_BURST : (uint32_t)left;
		p->mint_ms = now;
	}
	if (p->mint_left == 0)
		return false;
	p->mint_left--;
	return true;
}

static void cache_drop(pki_t *p, size_t i)
{
	entry_free(p, &p->cache[i]);
	memmove(p->cache + i, p->cache + i + 1, (p->ncache - i - 1) * sizeof(*p->cache));
	p->ncache--;
}

static SSL_CTX *lookup(pki_t *p, const char *host, int alpn_h2, bool *limited)
{
	*limited = false;
	for (size_t i = 0; i < p->nusers; i++)
		for (size_t j = 0; j < p->users[i].nnames; j++)
			if (user_name_matches(p->users[i].names[j], host))
				return p->users[i].ctx[alpn_h2 ? 1 : 0];
	for (size_t i = 0; i < p->ncache; i++)
		if (p->cache[i].alpn_h2 == alpn_h2 && strcmp(p->cache[i].host, host) == 0)
			return p->cache[i].ctx;
	bool known = !p->known || p->known(p->known_arg, host);
	if (!known && !mint_allowed(p)) {
		*limited = true;
		return NULL;
	}
	if (!known && p->nunknown >= PKI_UNKNOWN_MAX) {
		for (size_t i = 0; i < p->ncache; i++)
			if (!p->cache[i].known) {
				cache_drop(p, i); /* the oldest such name */
				break;
			}
	}
	if (p->ncache >= PKI_CACHE_MAX) {
		/* Bounded: drop the oldest half rather than grow without end. */
		size_t half = p->ncache / 2;
		for (size_t i = 0; i < half; i++)
			entry_free(p, &p->cache[i]);
		memmove(p->cache, p->cache + half, (p->ncache - half) * sizeof(*p->cache));
		p->ncache -= half;
	}
	SSL_CTX *ctx = issue_ctx(p, host, alpn_h2);
	if (!ctx)
		return NULL;
	pki_entry_t *n = realloc(p->cache, (p->ncache + 1) * sizeof(*n));
	char *h = strdup(host);
	if (n)
		p->cache = n;
	if (!n || !h) {
		free(h);
		SSL_CTX_free(ctx);
		return NULL;
	}
	n[p->ncache] = (pki_entry_t){.host = h, .alpn_h2 = alpn_h2, .known = known, .ctx = ctx};
	p->ncache++;
	if (!known)
		p->nunknown++;
	return ctx;
}

SSL_CTX *pki_ctx_for(pki_t *p, const char *host, int alpn_h2)
{
	bool limited;
	return lookup(p, host, alpn_h2, &limited);
}

size_t pki_cached(const pki_t *p, size_t *unknown)
{
	if (unknown)
		*unknown = p->nunknown;
	return p->ncache;
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	sni_arg_t *a = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char host[HOSTNAME_MAX + 1];
	if (!name)
		return SSL_TLSEXT_ERR_NOACK;
	if (hostname_normalize(name, strlen(name), host) != 0) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	bool limited;
	SSL_CTX *ctx = lookup(a->p, host, a->alpn_h2, &limited);
	if (!ctx && limited) {
		log_debug("tls: no certificate minted for unknown name %s (more than %d a second)", host,
			  PKI_MINT_RATE);
		return SSL_TLSEXT_ERR_OK; /* the default certificate: the client sees a name mismatch */
	}
	if (!ctx) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	SSL_set_SSL_CTX(ssl, ctx);
	return SSL_TLSEXT_ERR_OK;
}

void pki_attach_sni(pki_t *p, SSL_CTX *ctx, int alpn_h2)
{
	sni_arg_t *a = &p->sni[alpn_h2 ? 1 : 0];
	a->p = p;
	a->alpn_h2 = alpn_h2;
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, a);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)(alpn_h2 ? alpn_h2_wire : alpn_h1_wire));
}

static SSL_CTX *user_ctx(const char *cert_path, const char *key_path, int alpn_h2, char *err, size_t errlen)
{
	char e[256];
	SSL_CTX *ctx = tls_server_ctx(err, errlen);
	if (!ctx)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		snprintf(err, errlen, "cannot load certificate %s: %s", cert_path, tls_last_error(e, sizeof(e)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "cannot load key %s, or it does not match %s", key_path, cert_path);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)(alpn_h2 ? alpn_h2_wire : alpn_h1_wire));
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int pki_add_user_cert(pki_t *p, const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	pki_user_t u = {0};
	u.ctx[0] = user_ctx(cert_path, key_path, 0, err, errlen);
	if (!u.ctx[0])
		return ERR_TLS;
	u.ctx[1] = user_ctx(cert_path, key_path, 1, err, errlen);
	X509 *x = SSL_CTX_get0_certificate(u.ctx[0]);
	GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const char *d = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		int dl = ASN1_STRING_length(g->d.dNSName);
		char norm[HOSTNAME_MAX + 1];
		bool wild = dl > 2 && d[0] == '*' && d[1] == '.';
		if (hostname_normalize(wild ? d + 2 : d, (size_t)(wild ? dl - 2 : dl), norm) != 0)
			continue;
		char **nn = realloc(u.names, (u.nnames + 1) * sizeof(*nn));
		if (!nn)
			break;
		u.names = nn;
		size_t len = strlen(norm) + 3;
		u.names[u.nnames] = malloc(len);
		if (u.names[u.nnames])
			snprintf(u.names[u.nnames++], len, "%s%s", wild ? "*." : "", norm);
	}
	GENERAL_NAMES_free(gens);
	if (!u.ctx[1] || u.nnames == 0) {
		if (u.ctx[1])
			snprintf(err, errlen, "certificate %s names no DNS hostname (subjectAltName)", cert_path);
		user_free(&u);
		return ERR_INVAL;
	}
	pki_user_t *nu = realloc(p->users, (p->nusers + 1) * sizeof(*nu));
	if (!nu) {
		user_free(&u);
		return ERR_NOMEM;
	}
	p->users = nu;
	p->users[p->nusers++] = u;
	log_info("serving %s for %zu name%s (first: %s)", cert_path, u.nnames, u.nnames == 1 ? "" : "s", u.names[0]);
	return 0;
}
