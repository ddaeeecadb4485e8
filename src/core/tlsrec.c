/* tlsrec.c — TLS 1.3 application records (RFC 8446 §5, §4.6.3, §6, §7).
 *
 * Must never: hand out plaintext before its tag verified, reuse a nonce
 * (every record takes the next sequence number, and a key change resets it
 * only with a new key), read past a record's end, or accept a record body
 * longer than §5.2 allows. */
#include "core/tlsrec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/slab.h"

#define TAG_LEN 16
#define IV_LEN 12

enum { CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPDATA = 23 };
enum { HS_NEW_SESSION_TICKET = 4, HS_KEY_UPDATE = 24 };

typedef struct suite {
	uint16_t id;
	const char *cipher;
	const char *md;
	size_t key_len;
	size_t hash_len;
} suite_t;

static const suite_t suites[] = {
    {0x1301, "AES-128-GCM", "SHA256", 16, 32},
    {0x1302, "AES-256-GCM", "SHA384", 32, 48},
    {0x1303, "ChaCha20-Poly1305", "SHA256", 32, 32},
};

/* Fetched once per process (the implicit fetch behind EVP_aes_*() costs a
 * lookup at every use); never freed. */
static EVP_CIPHER *ciphers[3];
static EVP_MD *mds[3];

typedef struct dir {
	EVP_CIPHER_CTX *ctx; /* keyed on first use; NULL while idle (tlsrec_idle) */
	bool enc;
	uint8_t secret[TLSREC_SECRET_MAX]; /* this key's traffic secret, for the next one */
	uint8_t key[32];
	uint8_t iv[IV_LEN];
	uint64_t seq;
	unsigned updates;
} dir_t;

struct tlsrec {
	const suite_t *s;
	bool server;
	bool closed;	 /* close_notify received */
	bool update_due; /* the peer asked for our KeyUpdate */
	uint32_t update_after;
	dir_t rd, wr;
	/* A post-handshake message being read, possibly across records. */
	uint8_t hs_hdr[4];
	uint8_t hs_got;	  /* bytes of hs_hdr so far */
	uint32_t hs_left; /* body bytes still to come */
};

static slab_t tlsrec_slab = {.size = sizeof(tlsrec_t)};

/* HKDF-Expand-Label (§7.1) for outputs no longer than the hash, which is
 * every one TLS 1.3 records need: HKDF-Expand then is the first out_len
 * bytes of HMAC(secret, HkdfLabel || 0x01). */
static int expand_label(const tlsrec_t *r, const uint8_t *secret, const char *label, uint8_t *out,
			size_t out_len)
{
	uint8_t info[2 + 1 + 6 + 16 + 1 + 1];
	size_t ll = strlen(label), n = 0;
	if (out_len > r->s->hash_len || ll > 16)
		return ERR_INVAL;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0; /* empty context */
	info[n++] = 1; /* T(1) */
	uint8_t t[EVP_MAX_MD_SIZE];
	unsigned tl = 0;
	if (!HMAC(mds[r->s - suites], secret, (int)r->s->hash_len, info, n, t, &tl) || tl < out_len)
		return ERR_TLS;
	memcpy(out, t, out_len);
	OPENSSL_cleanse(t, sizeof(t));
	return 0;
}

/* Keys one direction from its traffic secret (§7.3). The cipher context
 * is keyed when a record needs it (dir_ctx). */
static int dir_key(tlsrec_t *r, dir_t *d, const uint8_t *secret, bool enc)
{
	if (secret != d->secret)
		memcpy(d->secret, secret, r->s->hash_len);
	d->enc = enc;
	d->seq = 0;
	/* A context keyed with the old key must not seal or open another record. */
	EVP_CIPHER_CTX_free(d->ctx);
	d->ctx = NULL;
	if (expand_label(r, d->secret, "key", d->key, r->s->key_len) != 0 ||
	    expand_label(r, d->secret, "iv", d->iv, IV_LEN) != 0)
		return ERR_TLS;
	return 0;
}

/* d's cipher context, keyed; NULL when out of memory. An idle session
 * drops its two contexts (about 2 KiB with their key schedules) and keys
 * them again here at its next record: a microsecond or two. */
static EVP_CIPHER_CTX *dir_ctx(tlsrec_t *r, dir_t *d)
{
	if (d->ctx)
		return d->ctx;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_CipherInit_ex(ctx, ciphers[r->s - suites], NULL, d->key, NULL, d->enc ? 1 : 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	d->ctx = ctx;
	return ctx;
}

/* The next traffic secret and its key (§7.2). */
static int dir_update(tlsrec_t *r, dir_t *d, bool enc)
{
	uint8_t next[TLSREC_SECRET_MAX];
	int rc = expand_label(r, d->secret, "traffic upd", next, r->s->hash_len);
	if (rc == 0)
		rc = dir_key(r, d, next, enc);
	OPENSSL_cleanse(next, sizeof(next));
	if (rc == 0)
		d->updates++;
	return rc;
}

static void nonce(const dir_t *d, uint8_t out[IV_LEN])
{
	memcpy(out, d->iv, IV_LEN);
	for (int i = 0; i < 8; i++)
		out[IV_LEN - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

static bool load_algorithms(int i)
{
	if (!ciphers[i])
		ciphers[i] = EVP_CIPHER_fetch(NULL, suites[i].cipher, NULL);
	if (!mds[i])
		mds[i] = EVP_MD_fetch(NULL, suites[i].md, NULL);
	return ciphers[i] && mds[i];
}

tlsrec_t *tlsrec_new(uint16_t suite, bool server, const uint8_t *client_secret, const uint8_t *server_secret,
		     size_t len)
{
	int si = -1;
	for (int i = 0; i < (int)(sizeof(suites) / sizeof(suites[0])); i++)
		if (suites[i].id == suite)
			si = i;
	if (si < 0 || len != suites[si].hash_len || !load_algorithms(si))
		return NULL;
	tlsrec_t *r = slab_alloc(&tlsrec_slab);
	if (!r)
		return NULL;
	r->s = &suites[si];
	r->server = server;
	r->update_after = TLSREC_UPDATE_AFTER;
	const uint8_t *mine = server ? server_secret : client_secret;
	const uint8_t *theirs = server ? client_secret : server_secret;
	if (dir_key(r, &r->wr, mine, true) != 0 || dir_key(r, &r->rd, theirs, false) != 0) {
		tlsrec_free(r);
		return NULL;
	}
	return r;
}

void tlsrec_free(tlsrec_t *r)
{
	if (!r)
		return;
	tlsrec_idle(r);
	OPENSSL_cleanse(r, sizeof(*r));
	slab_free(&tlsrec_slab, r);
}

void tlsrec_idle(tlsrec_t *r)
{
	EVP_CIPHER_CTX_free(r->rd.ctx); /* wipes its key schedule */
	EVP_CIPHER_CTX_free(r->wr.ctx);
	r->rd.ctx = r->wr.ctx = NULL;
}

void tlsrec_set_update_after(tlsrec_t *r, uint32_t n)
{
	r->update_after = n ? n : 1;
}

unsigned tlsrec_updates(const tlsrec_t *r, bool write)
{
	return write ? r->wr.updates : r->rd.updates;
}

/* ---- sealing ---- */

/* One record at dst (room for an + bn + TLSREC_OVERHEAD bytes): the content
 * a then b, and its type, encrypted. Two pieces so that a frame header and
 * its payload seal as one stream without being copied together first. */
static int seal_at(tlsrec_t *r, uint8_t *dst, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		   uint8_t type)
{
	dir_t *d = &r->wr;
	EVP_CIPHER_CTX *ctx = dir_ctx(r, d);
	size_t n = an + bn, body = n + 1 + TAG_LEN;
	uint8_t iv[IV_LEN];
	int l = 0, l2 = 0;
	if (!ctx)
		return ERR_TLS;
	dst[0] = CT_APPDATA; /* every protected record says so (§5.2) */
	dst[1] = 3;
	dst[2] = 3;
	dst[3] = (uint8_t)(body >> 8);
	dst[4] = (uint8_t)body;
	nonce(d, iv);
	uint8_t *c = dst + TLSREC_HEADER;
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &l, dst, TLSREC_HEADER) != 1)
		return ERR_TLS;
	if (an && (EVP_EncryptUpdate(ctx, c, &l, a, (int)an) != 1 || (size_t)l != an))
		return ERR_TLS;
	if (bn && (EVP_EncryptUpdate(ctx, c + an, &l, b, (int)bn) != 1 || (size_t)l != bn))
		return ERR_TLS;
	if (EVP_EncryptUpdate(ctx, c + n, &l2, &type, 1) != 1 || l2 != 1 ||
	    EVP_EncryptFinal_ex(ctx, c + n + 1, &l) != 1 || l != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, c + n + 1) != 1)
		return ERR_TLS;
	d->seq++;
	return 0;
}

/* Appends one record of content a then b (an + bn bytes) and type;
 * ERR_TOOBIG when out has no room for it. */
static int seal_two(tlsrec_t *r, uint8_t type, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		    buf_t *out)
{
	size_t need = an + bn + TLSREC_OVERHEAD;
	if (buf_room(out) < need || buf_reserve(out, need) != 0)
		return ERR_TOOBIG;
	int rc = seal_at(r, buf_tail(out), a, an, b, bn, type);
	if (rc == 0)
		buf_commit(out, need);
	return rc;
}

static int seal_one(tlsrec_t *r, uint8_t type, const uint8_t *p, size_t n, buf_t *out)
{
	return seal_two(r, type, p, n, NULL, 0, out);
}

/* Our KeyUpdate (§4.6.3), then the new write key, when the peer asked for
 * one or the current key has sealed its share. */
static int maybe_update(tlsrec_t *r, buf_t *out)
{
	if (!r->update_due && r->wr.seq < r->update_after)
		return 0;
	static const uint8_t ku[5] = {HS_KEY_UPDATE, 0, 0, 1, 0}; /* update_not_requested */
	int rc = seal_one(r, CT_HANDSHAKE, ku, sizeof(ku), out);
	if (rc != 0)
		return rc;
	r->update_due = false;
	return dir_update(r, &r->wr, true);
}

int tlsrec_seal2(tlsrec_t *r, const uint8_t *a, size_t an, const uint8_t *b, size_t bn, buf_t *out,
		 size_t *sealed)
{
	*sealed = 0;
	while (an + bn > 0) {
		int rc = maybe_update(r, out);
		if (rc == ERR_TOOBIG)
			return 0;
		if (rc != 0)
			return ERR_TLS;
		size_t ka = an < TLSREC_PLAIN_MAX ? an : TLSREC_PLAIN_MAX;
		size_t kb = bn < TLSREC_PLAIN_MAX - ka ? bn : TLSREC_PLAIN_MAX - ka;
		rc = seal_two(r, CT_APPDATA, a, ka, b, kb, out);
		if (rc == ERR_TOOBIG)
			return 0;
		if (rc != 0)
			return ERR_TLS;
		if (ka) /* a or b may be NULL when empty: no arithmetic on it */
			a += ka;
		if (kb)
			b += kb;
		an -= ka;
		bn -= kb;
		*sealed += ka + kb;
	}
	return 0;
}

int tlsrec_seal(tlsrec_t *r, const uint8_t *p, size_t n, buf_t *out, size_t *sealed)
{
	return tlsrec_seal2(r, p, n, NULL, 0, out, sealed);
}

int tlsrec_alert(tlsrec_t *r, uint8_t desc, buf_t *out)
{
	/* close_notify and user_canceled are warnings; the rest fatal (§6). */
	uint8_t a[2] = {desc == TLSREC_CLOSE_NOTIFY || desc == TLSREC_USER_CANCELED ? 1 : 2, desc};
	return seal_one(r, CT_ALERT, a, sizeof(a), out);
}

int tlsrec_seal_inner(tlsrec_t *r, const uint8_t *inner, size_t n, buf_t *out)
{
	if (n == 0 || n > TLSREC_BODY_MAX - TAG_LEN)
		return ERR_INVAL;
	/* Its last byte sealed as the "type" after the rest: the same bytes. */
	return seal_one(r, inner[n - 1], inner, n - 1, out);
}

/* ---- opening ---- */

static int fail(uint8_t *alert, uint8_t desc)
{
	*alert = desc;
	return ERR_TLS;
}

/* Post-handshake messages in one record's content (§4.6): KeyUpdate, and
 * for a client the tickets it skips. A message may span records, but one
 * that changes keys must end its record (§5.1). */
static int on_handshake(tlsrec_t *r, const uint8_t *p, size_t n, uint8_t *alert)
{
	while (n > 0) {
		if (r->hs_got < 4) {
			size_t want = 4u - r->hs_got, take = want < n ? want : n;
			/* p: content in out's reserved tail, never NULL */
			// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
			memcpy(r->hs_hdr + r->hs_got, p, take);
			r->hs_got = (uint8_t)(r->hs_got + take);
			p += take;
			n -= take;
			if (r->hs_got < 4)
				break;
			uint8_t type = r->hs_hdr[0];
			r->hs_left =
			    (uint32_t)r->hs_hdr[1] << 16 | (uint32_t)r->hs_hdr[2] << 8 | r->hs_hdr[3];
			if (type == HS_KEY_UPDATE && r->hs_left != 1)
				return fail(alert, TLSREC_DECODE_ERROR);
			if (type != HS_KEY_UPDATE && !(type == HS_NEW_SESSION_TICKET && !r->server))
				return fail(alert, TLSREC_UNEXPECTED_MESSAGE);
			if (r->hs_left == 0)
				return fail(alert, TLSREC_DECODE_ERROR); /* a ticket has fields */
			continue;
		}
		if (r->hs_hdr[0] == HS_KEY_UPDATE) {
			uint8_t req = p[0];
			r->hs_got = 0;
			r->hs_left = 0;
			if (req > 1)
				return fail(alert, TLSREC_ILLEGAL_PARAMETER);
			if (n != 1)
				return fail(alert, TLSREC_UNEXPECTED_MESSAGE);
			if (dir_update(r, &r->rd, false) != 0)
				return fail(alert, TLSREC_NO_ALERT);
			if (req == 1)
				r->update_due = true;
			return 0;
		}
		size_t take = r->hs_left < n ? r->hs_left : n;
		p += take;
		n -= take;
		r->hs_left -= (uint32_t)take;
		if (r->hs_left == 0)
			r->hs_got = 0;
	}
	return 0;
}

/* Decrypts one record (header h, body of blen bytes) onto out's tail, which
 * has room for blen bytes; *plen gets the content length and *type its
 * type. The content stays uncommitted. */
static int open_one(tlsrec_t *r, const uint8_t *h, size_t blen, buf_t *out, size_t *plen, uint8_t *type,
		    uint8_t *alert)
{
	dir_t *d = &r->rd;
	EVP_CIPHER_CTX *ctx = dir_ctx(r, d);
	uint8_t iv[IV_LEN];
	uint8_t *dst = buf_tail(out);
	const uint8_t *body = h + TLSREC_HEADER;
	size_t clen = blen - TAG_LEN;
	int l = 0;
	/* §5.4: content, type and padding together are at most 2^14 + 1 bytes */
	if (clen > TLSREC_PLAIN_MAX + 1)
		return fail(alert, TLSREC_RECORD_OVERFLOW);
	if (!ctx)
		return fail(alert, TLSREC_INTERNAL_ERROR); /* no memory to key it */
	nonce(d, iv);
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &l, h, TLSREC_HEADER) != 1 ||
	    EVP_DecryptUpdate(ctx, dst, &l, body, (int)clen) != 1 || (size_t)l != clen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(body + clen)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, dst + clen, &l) != 1)
		return fail(alert, TLSREC_BAD_RECORD_MAC);
	d->seq++;
	/* The content type is the last nonzero byte; zeros after it pad. */
	size_t i = clen;
	while (i > 0 && dst[i - 1] == 0)
		i--;
	if (i == 0)
		return fail(alert, TLSREC_UNEXPECTED_MESSAGE);
	*type = dst[i - 1];
	*plen = i - 1;
	return 0;
}

static int on_alert(tlsrec_t *r, const uint8_t *a, size_t n, uint8_t *alert)
{
	if (n != 2)
		return fail(alert, TLSREC_DECODE_ERROR);
	if (a[1] == TLSREC_CLOSE_NOTIFY) {
		r->closed = true;
		return TLSREC_CLOSED;
	}
	if (a[1] == TLSREC_USER_CANCELED)
		return 0; /* a close_notify follows */
	log_debug("TLS: peer sent alert %u", a[1]);
	return fail(alert, TLSREC_NO_ALERT);
}

/* The body length a record header at the head of in gives. */
static size_t body_len(const buf_t *in)
{
	const uint8_t *h = buf_head(in);
	return (size_t)h[3] << 8 | h[4];
}

/* The whole record at in's head fits out (its header read already). */
static bool fits(const buf_t *in, buf_t *out, size_t blen)
{
	return buf_used(in) >= TLSREC_HEADER + blen && buf_room(out) >= blen;
}

bool tlsrec_ready(const buf_t *in, buf_t *out)
{
	return buf_used(in) >= TLSREC_HEADER && fits(in, out, body_len(in));
}

int tlsrec_open(tlsrec_t *r, buf_t *in, buf_t *out, uint8_t *alert)
{
	*alert = TLSREC_NO_ALERT;
	while (!r->closed && buf_used(in) >= TLSREC_HEADER) {
		const uint8_t *h = buf_head(in);
		size_t blen = body_len(in);
		/* After the handshake only protected records may come (§5). */
		if (h[0] != CT_APPDATA)
			return fail(alert, TLSREC_UNEXPECTED_MESSAGE);
		if (blen > TLSREC_BODY_MAX)
			return fail(alert, TLSREC_RECORD_OVERFLOW);
		if (blen < 1 + TAG_LEN)
			return fail(alert, TLSREC_DECODE_ERROR);
		if (!fits(in, out, blen) || buf_reserve(out, blen) != 0)
			break;
		size_t plen = 0;
		uint8_t type = 0;
		int rc = open_one(r, h, blen, out, &plen, &type, alert);
		if (rc != 0)
			return rc;
		const uint8_t *content = buf_tail(out);
		bool mid_message = r->hs_got > 0;
		if (type != CT_HANDSHAKE && mid_message)
			return fail(alert, TLSREC_UNEXPECTED_MESSAGE); /* §5.1: no interleaving */
		switch (type) {
		case CT_APPDATA: buf_commit(out, plen); break;
		case CT_ALERT: rc = on_alert(r, content, plen, alert); break;
		case CT_HANDSHAKE:
			rc = plen == 0 ? fail(alert, TLSREC_UNEXPECTED_MESSAGE)
				       : on_handshake(r, content, plen, alert);
			break;
		default: rc = fail(alert, TLSREC_UNEXPECTED_MESSAGE); break;
		}
		buf_consume(in, TLSREC_HEADER + blen);
		if (rc < 0)
			return rc;
	}
	if (r->closed) {
		buf_consume(in, buf_used(in)); /* data after close_notify is ignored (§6.1) */
		return TLSREC_CLOSED;
	}
	return 0;
}
