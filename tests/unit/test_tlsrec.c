/* test_tlsrec.c — our TLS 1.3 records against OpenSSL's, and their rules.
 *
 * An OpenSSL client and server handshake over memory BIOs; tlsrec then
 * takes one side with the secrets the key log gave and must read what
 * OpenSSL's record layer writes, and write what it reads: every suite,
 * both roles, records fed a byte at a time, KeyUpdate both ways,
 * close_notify both ways, tickets, tampering. Records sealed by tlsrec
 * itself (tlsrec_seal_inner) hold each rule of RFC 8446 §5 and §4.6.3 to
 * its alert. Last, real conns on a loop: TLS 1.3 goes to tlsrec, TLS 1.2
 * stays with OpenSSL, and 1 MiB echoes intact through both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/err.h"
#include "core/tls.h"
#include "core/tlsrec.h"
#include "loopback.h"

/* ---- an OpenSSL pair over memory BIOs ---- */

static EVP_PKEY *key;
static X509 *cert;

static void make_cert(void)
{
	if (cert)
		return;
	key = EVP_EC_gen("P-256");
	cert = X509_new();
	assert_non_null(key);
	assert_non_null(cert);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_NAME *n = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(cert, n);
	X509_set_pubkey(cert, key);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
	assert_non_null(san);
	X509_add_ext(cert, san, -1);
	X509_EXTENSION_free(san);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
}

typedef struct side {
	SSL *ssl;
	BIO *in, *out; /* what it reads, what it wrote */
	uint8_t secret[2][48];
	size_t len;
} side_t;

static side_t cli, srv;

static void keylog(const SSL *ssl, const char *line)
{
	side_t *s = SSL_is_server(ssl) ? &srv : &cli;
	int which = strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0	 ? 0
		    : strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0 ? 1
									 : -1;
	if (which < 0)
		return;
	const char *hex = strrchr(line, ' ') + 1;
	s->len = strlen(hex) / 2;
	for (size_t i = 0; i < s->len; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		s->secret[which][i] = (uint8_t)v;
	}
}

/* Moves what from wrote into to's input. */
static void shuttle(side_t *from, side_t *to)
{
	char b[4096];
	int n;
	while ((n = BIO_read(from->out, b, sizeof(b))) > 0)
		assert_int_equal(BIO_write(to->in, b, n), n);
}

static void side_init(side_t *s, SSL_CTX *ctx)
{
	memset(s, 0, sizeof(*s));
	s->ssl = SSL_new(ctx);
	s->in = BIO_new(BIO_s_mem());
	s->out = BIO_new(BIO_s_mem());
	BIO_up_ref(s->in);
	BIO_up_ref(s->out);
	SSL_set_bio(s->ssl, s->in, s->out);
}

static void side_free(side_t *s)
{
	SSL_free(s->ssl);
	BIO_free(s->in);
	BIO_free(s->out);
}

/* Handshakes an OpenSSL client and server on suite (a TLS 1.3 name);
 * tickets: how many the server sends. */
static void pair_up(const char *suite, int tickets)
{
	make_cert();
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method()), *cc = SSL_CTX_new(TLS_client_method());
	assert_int_equal(SSL_CTX_use_certificate(sc, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sc, key), 1);
	SSL_CTX_set_num_tickets(sc, (size_t)tickets);
	SSL_CTX_set_ciphersuites(sc, suite);
	SSL_CTX_set_ciphersuites(cc, suite);
	SSL_CTX_set_keylog_callback(sc, keylog);
	SSL_CTX_set_keylog_callback(cc, keylog);
	side_init(&srv, sc);
	side_init(&cli, cc);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	SSL_set_accept_state(srv.ssl);
	SSL_set_connect_state(cli.ssl);
	for (int i = 0; i < 10 && !(SSL_is_init_finished(cli.ssl) && SSL_is_init_finished(srv.ssl)); i++) {
		SSL_do_handshake(cli.ssl);
		shuttle(&cli, &srv);
		SSL_do_handshake(srv.ssl);
		shuttle(&srv, &cli);
	}
	assert_true(SSL_is_init_finished(cli.ssl) && SSL_is_init_finished(srv.ssl));
	assert_int_equal(cli.len, srv.len);
	assert_memory_equal(cli.secret, srv.secret, sizeof(cli.secret));
}

static tlsrec_t *ours(bool server)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(cli.ssl);
	tlsrec_t *r =
	    tlsrec_new(SSL_CIPHER_get_protocol_id(c), server, cli.secret[0], cli.secret[1], cli.len);
	assert_non_null(r);
	return r;
}

static void pair_down(void)
{
	side_free(&cli);
	side_free(&srv);
}

static uint8_t *random_bytes(size_t n)
{
	uint8_t *p = malloc(n);
	assert_non_null(p);
	assert_int_equal(RAND_bytes(p, (int)n), 1);
	return p;
}

/* Everything the OpenSSL side wrote, into a buffer. */
static void drain_out(side_t *s, buf_t *b)
{
	char t[4096];
	int n;
	while ((n = BIO_read(s->out, t, sizeof(t))) > 0)
		assert_int_equal(buf_append(b, t, (size_t)n), 0);
}

/* Opens in a byte at a time: partial records must wait, whole ones open. */
static int open_slowly(tlsrec_t *r, buf_t *in, buf_t *out)
{
	buf_t trickle;
	uint8_t alert;
	int rc = 0;
	buf_init(&trickle, 1 << 20);
	while (buf_used(in) > 0 && rc == 0) {
		assert_int_equal(buf_append(&trickle, buf_head(in), 1), 0);
		buf_consume(in, 1);
		rc = tlsrec_open(r, &trickle, out, &alert);
	}
	buf_free(&trickle);
	return rc;
}

static void openssl_peer_both_ways(const char *suite, bool our_role_server)
{
	pair_up(suite, our_role_server ? 0 : 2); /* a client skips tickets */
	side_t *peer = our_role_server ? &cli : &srv;
	tlsrec_t *r = ours(our_role_server);
	size_t n = 100000;
	uint8_t *data = random_bytes(n);
	buf_t in, out;
	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	if (!our_role_server) {
		/* We stand in for the OpenSSL client: the server's tickets,
		 * already in its input, come to us first (and are skipped). */
		drain_out(&(side_t){.out = cli.in}, &in);
		assert_true(buf_used(&in) > 0);
	}

	/* peer -> us, in writes of odd sizes, opened a byte at a time */
	for (size_t off = 0; off < n;) {
		size_t k = n - off < 7777 ? n - off : 7777;
		assert_int_equal(SSL_write(peer->ssl, data + off, (int)k), (int)k);
		off += k;
	}
	drain_out(peer, &in);
	assert_int_equal(open_slowly(r, &in, &out), 0);
	assert_int_equal(buf_used(&out), n);
	assert_memory_equal(buf_head(&out), data, n);

	/* us -> peer, sealed at once */
	buf_reset(&out);
	size_t sealed = 0;
	assert_int_equal(tlsrec_seal(r, data, n, &out, &sealed), 0);
	assert_int_equal(sealed, n);
	assert_int_equal(BIO_write(peer->in, buf_head(&out), (int)buf_used(&out)), (int)buf_used(&out));
	uint8_t *got = malloc(n);
	size_t have = 0;
	int k;
	while (have < n && (k = SSL_read(peer->ssl, got + have, (int)(n - have))) > 0)
		have += (size_t)k;
	assert_int_equal(have, n);
	assert_memory_equal(got, data, n);

	/* us -> peer, a 14-byte head and the rest as two pieces: one stream,
	 * in as few records as one piece makes (the head is no record alone) */
	buf_reset(&out);
	assert_int_equal(tlsrec_seal2(r, data, 14, data + 14, n - 14, &out, &sealed), 0);
	assert_int_equal(sealed, n);
	size_t records = 0;
	for (size_t at = 0; at < buf_used(&out); records++)
		at += TLSREC_HEADER + ((size_t)buf_head(&out)[at + 3] << 8 | buf_head(&out)[at + 4]);
	assert_int_equal(records, (n + TLSREC_PLAIN_MAX - 1) / TLSREC_PLAIN_MAX);
	assert_int_equal(BIO_write(peer->in, buf_head(&out), (int)buf_used(&out)), (int)buf_used(&out));
	memset(got, 0, n);
	have = 0;
	while (have < n && (k = SSL_read(peer->ssl, got + have, (int)(n - have))) > 0)
		have += (size_t)k;
	assert_int_equal(have, n);
	assert_memory_equal(got, data, n);

	free(got);
	free(data);
	buf_free(&in);
	buf_free(&out);
	tlsrec_free(r);
	pair_down();
}

static void test_openssl_peer_every_suite_both_roles(void **state)
{
	const char *suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
				"TLS_CHACHA20_POLY1305_SHA256"};
	for (size_t i = 0; i < 3; i++) {
		openssl_peer_both_ways(suites[i], true);
		openssl_peer_both_ways(suites[i], false);
	}
}

/* Reads what we sealed into peer and returns it as a string. */
static void peer_reads(side_t *peer, buf_t *sealed, const char *want)
{
	char got[256] = {0};
	assert_int_equal(BIO_write(peer->in, buf_head(sealed), (int)buf_used(sealed)), (int)buf_used(sealed));
	buf_reset(sealed);
	assert_int_equal(SSL_read(peer->ssl, got, sizeof(got) - 1), (int)strlen(want));
	assert_string_equal(got, want);
}

static void we_read(tlsrec_t *r, side_t *peer, const char *want)
{
	buf_t in, out;
	uint8_t alert;
	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	drain_out(peer, &in);
	assert_int_equal(tlsrec_open(r, &in, &out, &alert), 0);
	assert_int_equal(buf_used(&in), 0);
	assert_int_equal(buf_used(&out), strlen(want));
	assert_memory_equal(buf_head(&out), want, strlen(want));
	buf_free(&in);
	buf_free(&out);
}

static void seal_str(tlsrec_t *r, const char *s, buf_t *out)
{
	size_t sealed;
	assert_int_equal(tlsrec_seal(r, (const uint8_t *)s, strlen(s), out, &sealed), 0);
	assert_int_equal(sealed, strlen(s));
}

/* The peer updates its key and asks for ours; records go on both ways.
 * With idle, r drops its cipher contexts before each step. */
static void peer_requests_update(tlsrec_t *r, buf_t *out, bool idle)
{
	if (idle)
		tlsrec_idle(r);
	assert_int_equal(SSL_key_update(cli.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	assert_int_equal(SSL_write(cli.ssl, "after its update", 16), 16);
	we_read(r, &cli, "after its update");
	assert_int_equal(tlsrec_updates(r, false), 1);
	if (idle)
		tlsrec_idle(r); /* our update is due: it keys the new write key */
	seal_str(r, "after ours", out);
	assert_int_equal(tlsrec_updates(r, true), 1);
	peer_reads(&cli, out, "after ours");
	if (idle)
		tlsrec_idle(r);
	assert_int_equal(SSL_write(cli.ssl, "still fine", 10), 10);
	we_read(r, &cli, "still fine");
}

static void test_key_updates_both_ways(void **state)
{
	pair_up("TLS_AES_256_GCM_SHA384", 0);
	tlsrec_t *r = ours(true);
	buf_t out;
	buf_init(&out, 1 << 20);
	peer_requests_update(r, &out, false);

	/* Ours, by count: every 3 records a new key. */
	tlsrec_set_update_after(r, 3);
	for (int i = 0; i < 10; i++) {
		seal_str(r, "tick", &out);
		peer_reads(&cli, &out, "tick");
	}
	assert_int_equal(tlsrec_updates(r, true), 1 + 3); /* before the 3rd, 6th and 9th tick */

	buf_free(&out);
	tlsrec_free(r);
	pair_down();
}

/* An idle session's cipher contexts are freed (tlsrec_idle) and keyed
 * again at its next record, in every suite, across key updates. */
static void test_idle_then_records_again(void **state)
{
	static const char *suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
				       "TLS_CHACHA20_POLY1305_SHA256"};
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		pair_up(suites[i], 0);
		tlsrec_t *r = ours(true);
		buf_t out;
		buf_init(&out, 1 << 20);
		tlsrec_idle(r); /* before any record */
		assert_int_equal(SSL_write(cli.ssl, "first", 5), 5);
		we_read(r, &cli, "first");
		seal_str(r, "answer", &out);
		peer_reads(&cli, &out, "answer");

		tlsrec_idle(r); /* twice is fine */
		peer_requests_update(r, &out, true);

		buf_free(&out);
		tlsrec_free(r);
		pair_down();
	}
}

static void test_close_notify_both_ways(void **state)
{
	pair_up("TLS_AES_128_GCM_SHA256", 0);
	tlsrec_t *r = ours(true);
	buf_t in, out;
	uint8_t alert;
	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	assert_int_equal(SSL_write(cli.ssl, "last", 4), 4);
	assert_true(SSL_shutdown(cli.ssl) >= 0);
	drain_out(&cli, &in);
	static const char junk[] = "\x17\x03\x03\x00\x20 junk after the close";
	assert_int_equal(buf_append(&in, junk, sizeof(junk) - 1), 0);
	assert_int_equal(tlsrec_open(r, &in, &out, &alert), TLSREC_CLOSED);
	assert_int_equal(buf_used(&out), 4); /* the data before it, nothing after */
	assert_int_equal(buf_used(&in), 0);

	buf_reset(&out);
	assert_int_equal(tlsrec_alert(r, TLSREC_CLOSE_NOTIFY, &out), 0);
	assert_int_equal(BIO_write(cli.in, buf_head(&out), (int)buf_used(&out)), (int)buf_used(&out));
	char b[8];
	assert_int_equal(SSL_read(cli.ssl, b, sizeof(b)), 0);
	assert_int_equal(SSL_get_error(cli.ssl, 0), SSL_ERROR_ZERO_RETURN);
	buf_free(&in);
	buf_free(&out);
	tlsrec_free(r);
	pair_down();
}

static void test_tampered_record_refused(void **state)
{
	pair_up("TLS_CHACHA20_POLY1305_SHA256", 0);
	tlsrec_t *r = ours(true);
	buf_t in, out;
	uint8_t alert;
	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	assert_int_equal(SSL_write(cli.ssl, "secret stuff", 12), 12);
	drain_out(&cli, &in);
	buf_head(&in)[8] ^= 1;
	assert_int_equal(tlsrec_open(r, &in, &out, &alert), ERR_TLS);
	assert_int_equal(alert, TLSREC_BAD_RECORD_MAC);
	assert_int_equal(buf_used(&out), 0); /* nothing unauthenticated comes out */
	buf_free(&in);
	buf_free(&out);
	tlsrec_free(r);
	pair_down();
}

/* ---- the rules, on records tlsrec sealed itself ---- */

static const uint8_t sec_c[48] = {1, 2, 3}, sec_s[48] = {4, 5, 6};

/* Seals inner (content, type, padding) with a client's keys, and has a
 * server (or client, when !to_server) open it: the open's result. */
static int deliver(tlsrec_t *tx, tlsrec_t *rx, const void *inner, size_t n, buf_t *out, uint8_t *alert)
{
	buf_t in;
	buf_init(&in, 1 << 20);
	assert_int_equal(tlsrec_seal_inner(tx, inner, n, &in), 0);
	int rc = tlsrec_open(rx, &in, out, alert);
	buf_free(&in);
	return rc;
}

typedef struct rule {
	const char *name;
	const char *inner; /* content, then the type byte, then padding */
	size_t len;
	bool to_client; /* the client receives (else the server) */
	int rc;
	uint8_t alert;
	size_t out; /* application bytes delivered */
} rule_t;

static void test_record_rules(void **state)
{
	static const rule_t rules[] = {
	    {"padded data", "hi\x17\0\0\0\0\0\0\0\0\0", 12, false, 0, TLSREC_NO_ALERT, 2},
	    {"empty data", "\x17", 1, false, 0, TLSREC_NO_ALERT, 0},
	    {"only padding", "\0\0\0\0", 4, false, ERR_TLS, TLSREC_UNEXPECTED_MESSAGE, 0},
	    {"unknown type", "x\x42", 2, false, ERR_TLS, TLSREC_UNEXPECTED_MESSAGE, 0},
	    {"empty handshake", "\x16", 1, false, ERR_TLS, TLSREC_UNEXPECTED_MESSAGE, 0},
	    {"certificate request", "\x0d\0\0\x01\0\x16", 6, false, ERR_TLS, TLSREC_UNEXPECTED_MESSAGE, 0},
	    {"ticket to a server", "\x04\0\0\x01\0\x16", 6, false, ERR_TLS, TLSREC_UNEXPECTED_MESSAGE, 0},
	    {"ticket to a client", "\x04\0\0\x03\0\0\0\x16", 8, true, 0, TLSREC_NO_ALERT, 0},
	    {"key update 2", "\x18\0\0\x01\x02\x16", 6, false, ERR_TLS, TLSREC_ILLEGAL_PARAMETER, 0},
	    {"key update long", "\x18\0\0\x02\0\0\x16", 7, false, ERR_TLS, TLSREC_DECODE_ERROR, 0},
	    {"key update mid-record", "\x18\0\0\x01\0\x18\x16", 7, false, ERR_TLS, TLSREC_UNEXPECTED_MESSAGE,
	     0},
	    {"alert of 3 bytes", "\x02\x28\0\x15", 4, false, ERR_TLS, TLSREC_DECODE_ERROR, 0},
	    {"peer's fatal alert", "\x02\x28\x15", 3, false, ERR_TLS, TLSREC_NO_ALERT, 0},
	    {"user_canceled", "\x01\x5a\x15", 3, false, 0, TLSREC_NO_ALERT, 0},
	    {"close_notify", "\x01\x00\x15", 3, false, TLSREC_CLOSED, TLSREC_NO_ALERT, 0},
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const rule_t *u = &rules[i];
		tlsrec_t *tx = tlsrec_new(0x1301, u->to_client, sec_c, sec_s, 32);
		tlsrec_t *rx = tlsrec_new(0x1301, !u->to_client, sec_c, sec_s, 32);
		buf_t out;
		uint8_t alert;
		buf_init(&out, 1 << 20);
		int rc = deliver(tx, rx, u->inner, u->len, &out, &alert);
		if (rc != u->rc || alert != u->alert || buf_used(&out) != u->out)
			fail_msg("%s: rc %d alert %u out %zu", u->name, rc, alert, buf_used(&out));
		buf_free(&out);
		tlsrec_free(tx);
		tlsrec_free(rx);
	}
}

static void test_split_message_and_interleaving(void **state)
{
	tlsrec_t *tx = tlsrec_new(0x1303, false, sec_c, sec_s, 32);
	tlsrec_t *rx = tlsrec_new(0x1303, true, sec_c, sec_s, 32);
	buf_t out;
	uint8_t alert;
	buf_init(&out, 1 << 20);
	/* A KeyUpdate's header in one record, its body in the next. */
	assert_int_equal(deliver(tx, rx, "\x18\0\x16", 3, &out, &alert), 0);
	assert_int_equal(tlsrec_updates(rx, false), 0);
	assert_int_equal(deliver(tx, rx, "\0\x01\x01\x16", 4, &out, &alert), 0);
	assert_int_equal(tlsrec_updates(rx, false), 1);
	/* The sender must move to its next key as well, or nothing opens. */
	size_t sealed;
	buf_t in;
	buf_init(&in, 1 << 20);
	assert_int_equal(tlsrec_seal(tx, (const uint8_t *)"x", 1, &in, &sealed), 0);
	assert_int_equal(tlsrec_open(rx, &in, &out, &alert), ERR_TLS);
	assert_int_equal(alert, TLSREC_BAD_RECORD_MAC);
	buf_free(&in);
	tlsrec_free(tx);
	tlsrec_free(rx);

	/* Application data while a handshake message is half read. */
	tx = tlsrec_new(0x1303, false, sec_c, sec_s, 32);
	rx = tlsrec_new(0x1303, true, sec_c, sec_s, 32);
	buf_reset(&out);
	assert_int_equal(deliver(tx, rx, "\x18\0\x16", 3, &out, &alert), 0);
	assert_int_equal(deliver(tx, rx, "data\x17", 5, &out, &alert), ERR_TLS);
	assert_int_equal(alert, TLSREC_UNEXPECTED_MESSAGE);
	assert_int_equal(buf_used(&out), 0);
	tlsrec_free(tx);
	tlsrec_free(rx);
	buf_free(&out);
}

static void test_bad_headers_and_sizes(void **state)
{
	tlsrec_t *tx = tlsrec_new(0x1302, false, sec_c, sec_c, 48);
	tlsrec_t *rx = tlsrec_new(0x1302, true, sec_c, sec_c, 48);
	assert_null(tlsrec_new(0x1302, true, sec_c, sec_c, 32)); /* wrong secret length */
	assert_null(tlsrec_new(0x1304, true, sec_c, sec_c, 32)); /* CCM: not ours */
	buf_t in, out;
	uint8_t alert;
	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	static const struct {
		const char *hdr;
		uint8_t alert;
	} bad[] = {
	    {"\x16\x03\x03\x00\x20", TLSREC_UNEXPECTED_MESSAGE}, /* plaintext handshake */
	    {"\x14\x03\x03\x00\x01", TLSREC_UNEXPECTED_MESSAGE}, /* change_cipher_spec after Finished */
	    {"\x17\x03\x03\x41\x01", TLSREC_RECORD_OVERFLOW},	 /* 2^14 + 257 */
	    {"\x17\x03\x03\x00\x10", TLSREC_DECODE_ERROR},	 /* shorter than a tag and type */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&in);
		assert_int_equal(buf_append(&in, bad[i].hdr, 5), 0);
		assert_int_equal(tlsrec_open(rx, &in, &out, &alert), ERR_TLS);
		assert_int_equal(alert, bad[i].alert);
	}
	/* Content one byte over 2^14 (a legal body size, an illegal content). */
	uint8_t *big = calloc(1, TLSREC_PLAIN_MAX + 2);
	big[TLSREC_PLAIN_MAX + 1] = 0x17;
	buf_reset(&in);
	assert_int_equal(tlsrec_seal_inner(tx, big, TLSREC_PLAIN_MAX + 2, &in), 0);
	assert_int_equal(tlsrec_open(rx, &in, &out, &alert), ERR_TLS);
	assert_int_equal(alert, TLSREC_RECORD_OVERFLOW);
	assert_int_equal(buf_used(&out), 0);
	/* A full record waits for room in out; sealing waits for room too. */
	tlsrec_t *tx2 = tlsrec_new(0x1302, false, sec_c, sec_c, 48);
	tlsrec_t *rx2 = tlsrec_new(0x1302, true, sec_c, sec_c, 48);
	buf_t small;
	size_t sealed;
	buf_init(&small, TLSREC_PLAIN_MAX);
	buf_reset(&in);
	assert_int_equal(tlsrec_seal(tx2, big, TLSREC_PLAIN_MAX, &in, &sealed), 0);
	assert_int_equal(tlsrec_open(rx2, &in, &small, &alert), 0);
	assert_int_equal(buf_used(&small), 0);
	assert_int_equal(buf_used(&in), TLSREC_PLAIN_MAX + TLSREC_OVERHEAD);
	buf_t tiny;
	buf_init(&tiny, 100);
	assert_int_equal(tlsrec_seal(tx2, big, 200, &tiny, &sealed), 0);
	assert_int_equal(sealed, 0);
	assert_int_equal(tlsrec_seal(tx2, big, 78, &tiny, &sealed), 0);
	assert_int_equal(sealed, 78);
	buf_free(&tiny);
	buf_free(&small);
	free(big);
	buf_free(&in);
	buf_free(&out);
	tlsrec_free(tx);
	tlsrec_free(rx);
	tlsrec_free(tx2);
	tlsrec_free(rx2);
}

/* §5.4: the whole TLSInnerPlaintext (content, type and padding) is at most 2^14 + 1 bytes, however
 * little of it is content; past that the receiver ends the connection with record_overflow. */
static void test_padding_counts_toward_the_record_limit(void **state)
{
	static const struct {
		const char *name;
		size_t content, padding;
		int rc;
		uint8_t alert;
	} cases[] = {
	    {"2^14 bytes of content, no padding", TLSREC_PLAIN_MAX, 0, 0, TLSREC_NO_ALERT},
	    {"2^14 - 1 bytes of content, 1 of padding", TLSREC_PLAIN_MAX - 1, 1, 0, TLSREC_NO_ALERT},
	    {"2^14 bytes of content, 1 of padding", TLSREC_PLAIN_MAX, 1, ERR_TLS, TLSREC_RECORD_OVERFLOW},
	    {"2 bytes of content, 2^14 of padding", 2, TLSREC_PLAIN_MAX, ERR_TLS, TLSREC_RECORD_OVERFLOW},
	};
	uint8_t *inner = malloc(TLSREC_PLAIN_MAX + 3);
	assert_non_null(inner);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tlsrec_t *tx = tlsrec_new(0x1301, false, sec_c, sec_s, 32);
		tlsrec_t *rx = tlsrec_new(0x1301, true, sec_c, sec_s, 32);
		size_t n = cases[i].content + 1 + cases[i].padding;
		buf_t out;
		uint8_t alert;
		buf_init(&out, 1 << 20);
		memset(inner, 'x', cases[i].content);
		inner[cases[i].content] = 0x17;
		memset(inner + cases[i].content + 1, 0, cases[i].padding);
		int rc = deliver(tx, rx, inner, n, &out, &alert);
		size_t want_out = cases[i].rc == 0 ? cases[i].content : 0;
		if (rc != cases[i].rc || alert != cases[i].alert || buf_used(&out) != want_out)
			fail_msg("%s: rc %d alert %u out %zu", cases[i].name, rc, alert, buf_used(&out));
		buf_free(&out);
		tlsrec_free(tx);
		tlsrec_free(rx);
	}
	free(inner);
}

/* ---- conns: TLS 1.3 through tlsrec, TLS 1.2 through OpenSSL ---- */

#define ECHO_TOTAL (1024 * 1024)

static uv_loop_t *loop;
static uv_tcp_t lst;
static SSL_CTX *server_ctx;
static conn_t *server_conn;
static uint8_t *pattern;
static size_t echoed_back, client_sent;
static bool server_rec, client_rec, client_done;

static void noop_close(conn_t *c) {}

static void server_on_open(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	server_rec = c->rec != NULL;
	assert_true(c->rec ? c->ssl == NULL : c->ssl != NULL);
}
static void server_on_data(conn_t *c, buf_t *in)
{
	assert_int_equal(conn_write(c, buf_head(in), buf_used(in)), 0);
	buf_consume(in, buf_used(in));
}
static void server_on_eof(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	conn_finish(c);
}
static const conn_cbs_t server_cbs = {
    .on_open = server_on_open, .on_data = server_on_data, .on_eof = server_on_eof, .on_close = noop_close};

static void on_connection(uv_stream_t *s, int status)
{
	assert_int_equal(status, 0);
	server_conn = conn_new(loop, &server_cbs, NULL);
	assert_int_equal(conn_accept(server_conn, s, server_ctx), 0);
}

static void client_pump(conn_t *c)
{
	while (client_sent < ECHO_TOTAL && !conn_full(c)) {
		size_t n = ECHO_TOTAL - client_sent < 50000 ? ECHO_TOTAL - client_sent : 50000;
		assert_int_equal(conn_write_direct(c, pattern + client_sent, n), 0);
		client_sent += n;
	}
	if (client_sent == ECHO_TOTAL)
		conn_shutdown(c);
}
static void client_on_open(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	client_rec = c->rec != NULL;
	client_pump(c);
}
static void client_on_drain(conn_t *c)
{
	client_pump(c);
}
static void client_on_data(conn_t *c, buf_t *in)
{
	size_t n = buf_used(in);
	assert_true(echoed_back + n <= ECHO_TOTAL);
	assert_memory_equal(buf_head(in), pattern + echoed_back, n);
	echoed_back += n;
	buf_consume(in, n);
}
static void client_on_eof(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	client_done = true;
	conn_close(c);
}
static const conn_cbs_t client_cbs = {.on_open = client_on_open,
				      .on_data = client_on_data,
				      .on_eof = client_on_eof,
				      .on_drain = client_on_drain,
				      .on_close = noop_close};

static void echo_through_conns(int max_version, bool want_rec)
{
	make_cert();
	char err[256], ca[] = "/tmp/test_tlsrec_ca_XXXXXX";
	int fd = mkstemp(ca);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	PEM_write_X509(f, cert);
	fclose(f);
	server_ctx = tls_server_ctx(err, sizeof(err));
	assert_non_null(server_ctx);
	assert_int_equal(SSL_CTX_use_certificate(server_ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(server_ctx, key), 1);
	SSL_CTX *cc = tls_client_ctx(ca, false, NULL, 0, err, sizeof(err));
	assert_non_null(cc);
	SSL_CTX_set_max_proto_version(cc, max_version);

	loop = uv_default_loop();
	struct sockaddr_in bound;
	loopback_listen(loop, &lst, on_connection, &bound);
	pattern = random_bytes(ECHO_TOTAL);
	echoed_back = client_sent = 0;
	client_done = server_rec = client_rec = false;
	conn_t *c = conn_new(loop, &client_cbs, NULL);
	assert_int_equal(conn_connect(c, (struct sockaddr *)&bound, cc, "127.0.0.1"), 0);
	while (!client_done && uv_run(loop, UV_RUN_ONCE)) {
	}
	assert_true(client_done);
	assert_int_equal(echoed_back, ECHO_TOTAL);
	assert_int_equal(server_rec, want_rec);
	assert_int_equal(client_rec, want_rec);
	uv_close((uv_handle_t *)&lst, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	for (int i = 0; i < 100 && uv_run(loop, UV_RUN_NOWAIT); i++) {
	}
	free(pattern);
	SSL_CTX_free(cc);
	SSL_CTX_free(server_ctx);
	unlink(ca);
}

static void test_conns_tls13_records_are_ours(void **state)
{
	echo_through_conns(TLS1_3_VERSION, true);
}
static void test_conns_tls12_stays_with_openssl(void **state)
{
	echo_through_conns(TLS1_2_VERSION, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_openssl_peer_every_suite_both_roles),
	    cmocka_unit_test(test_key_updates_both_ways),
	    cmocka_unit_test(test_idle_then_records_again),
	    cmocka_unit_test(test_close_notify_both_ways),
	    cmocka_unit_test(test_tampered_record_refused),
	    cmocka_unit_test(test_record_rules),
	    cmocka_unit_test(test_split_message_and_interleaving),
	    cmocka_unit_test(test_bad_headers_and_sizes),
	    cmocka_unit_test(test_padding_counts_toward_the_record_limit),
	    cmocka_unit_test(test_conns_tls13_records_are_ours),
	    cmocka_unit_test(test_conns_tls12_stays_with_openssl),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}
