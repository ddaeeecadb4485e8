/* jwt.c — JWS compact tokens (RS256, PS256, ES256), JWK import and export,
 * base64url.
 *
 * Everything here reads untrusted bytes: a token from a cookie or a header,
 * a JWK from a provider's JWKS. Sizes are checked before anything is
 * decoded, and every decode writes into a buffer whose size it knows. It
 * must never accept an algorithm outside the allow-list, never let the
 * token choose how its own key is used (HS256 with a public key as secret),
 * and never put token text or key material into an error message. */
#include "core/jwt.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "core/buf.h"
#include "core/err.h"

#define ES256_SIG_LEN 64
#define P256_COORD_LEN 32
#define RSA_MIN_BITS 2048
/* 16384-bit moduli would make each verification cost ~60x a 2048-bit one */
#define RSA_MAX_BITS 8192
#define RSA_E_MAX_LEN 8

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* -------------------------------------------------------------------------
 * base64url */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	if (!out || len > (SIZE_MAX - 3) / 4)
		return 0;
	size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
	if (need >= outlen || (!in && len))
		return 0;
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

/* The decoded length of n base64url characters, or -1 when no input has n
 * characters (n % 4 == 1). */
static long b64url_decoded_len(size_t n)
{
	if (n % 4 == 1 || n > (size_t)LONG_MAX / 3 * 4)
		return -1;
	return (long)(n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0));
}

/* Unused low bits of the last character must be zero, so each byte string
 * has exactly one spelling (a signature cannot be re-encoded into a second,
 * distinct token). */
long b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	long n = b64url_decoded_len(len);
	if (n < 0 || (size_t)n > outlen || (!in && len) || (!out && n))
		return -1;
	size_t o = 0, i = 0;
	for (; i + 4 <= len; i += 4) {
		int a = b64_value((unsigned char)in[i]), b = b64_value((unsigned char)in[i + 1]);
		int c = b64_value((unsigned char)in[i + 2]), d = b64_value((unsigned char)in[i + 3]);
		if ((a | b | c | d) < 0)
			return -1;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	size_t rest = len - i;
	if (rest >= 2) {
		int a = b64_value((unsigned char)in[i]), b = b64_value((unsigned char)in[i + 1]);
		int c = rest == 3 ? b64_value((unsigned char)in[i + 2]) : 0;
		if ((a | b | c) < 0)
			return -1;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		if (rest == 2 && (v & 0xFFFF) != 0)
			return -1;
		if (rest == 3 && (v & 0xFF) != 0)
			return -1;
		out[o++] = (uint8_t)(v >> 16);
		if (rest == 3)
			out[o++] = (uint8_t)(v >> 8);
	}
	return (long)o;
}

/* Decodes part into a new heap buffer (one byte more, so a JSON part can be
 * handed on without worrying about a zero length). */
static int decode_part(view_t part, uint8_t **out, size_t *outlen)
{
	long n = b64url_decoded_len(part.len);
	if (n < 0)
		return ERR_INVAL;
	uint8_t *b = malloc((size_t)n + 1);
	if (!b)
		return ERR_NOMEM;
	long got = b64url_decode((const char *)part.p, part.len, b, (size_t)n);
	if (got != n) {
		free(b);
		return ERR_INVAL;
	}
	*out = b;
	*outlen = (size_t)n;
	return 0;
}

/* A JSON object from a base64url part; duplicate members are refused so
 * that no two readers of one token can see different claims. */
static int decode_object(view_t part, json_t **out)
{
	uint8_t *text = NULL;
	size_t n = 0;
	int r = decode_part(part, &text, &n);
	if (r != 0)
		return r;
	json_error_t jerr;
	json_t *j = json_loadb((const char *)text, n, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!j)
		return ERR_INVAL;
	if (!json_is_object(j)) {
		json_decref(j);
		return ERR_INVAL;
	}
	*out = j;
	return 0;
}

/* -------------------------------------------------------------------------
 * Parsing */

static bool str_is(const json_t *s, const char *lit)
{
	size_t n = strlen(lit);
	return json_is_string(s) && json_string_length(s) == n && memcmp(json_string_value(s), lit, n) == 0;
}

static int alg_from_header(const json_t *header, enum jwt_alg *alg)
{
	const json_t *a = json_object_get(header, "alg");
	if (str_is(a, "RS256"))
		*alg = JWT_RS256;
	else if (str_is(a, "PS256"))
		*alg = JWT_PS256;
	else if (str_is(a, "ES256"))
		*alg = JWT_ES256;
	else
		return ERR_INVAL;
	return 0;
}

/* Splits tok into exactly three non-empty parts. */
static int split_token(view_t tok, view_t parts[3])
{
	size_t start = 0, n = 0;
	for (size_t i = 0; i <= tok.len; i++) {
		if (i < tok.len && tok.p[i] != '.')
			continue;
		if (n == 3 || i == start)
			return ERR_INVAL;
		parts[n++] = view_make(tok.p + start, i - start);
		start = i + 1;
	}
	return n == 3 ? 0 : ERR_INVAL;
}

int jwt_parse(const char *tok, size_t len, jwt_t *out, char *err, size_t errlen)
{
	int r = 0;
	view_t parts[3];
	const char *why = "malformed token";

	if (!out)
		return ERR_INVAL;
	memset(out, 0, sizeof(*out));
	set_err(err, errlen, "");
	if (!tok || len > JWT_MAX) {
		set_err(err, errlen, tok ? "token too long" : "no token");
		return ERR_INVAL;
	}
	if ((r = split_token(view_make(tok, len), parts)) != 0)
		goto fail;

	if ((r = decode_object(parts[0], &out->header)) != 0) {
		why = "malformed token header";
		goto fail;
	}
	if ((r = alg_from_header(out->header, &out->alg)) != 0) {
		why = "token algorithm not allowed";
		goto fail;
	}
	/* We implement no extension, so a token that needs one is refused (RFC 7515 §4.1.11). */
	if (json_object_get(out->header, "crit")) {
		why = "token header has crit";
		r = ERR_INVAL;
		goto fail;
	}
	const json_t *kid = json_object_get(out->header, "kid");
	if (kid) {
		if (!json_is_string(kid) || json_string_length(kid) > JWT_KID_MAX) {
			why = "bad token kid";
			r = ERR_INVAL;
			goto fail;
		}
		memcpy(out->kid, json_string_value(kid), json_string_length(kid));
		out->kid[json_string_length(kid)] = '\0';
	}
	if ((r = decode_object(parts[1], &out->claims)) != 0) {
		why = "malformed token payload";
		goto fail;
	}
	if ((r = decode_part(parts[2], &out->sig, &out->siglen)) != 0) {
		why = "malformed token signature";
		goto fail;
	}
	out->signing_len = parts[0].len + 1 + parts[1].len;
	out->signing_input = malloc(out->signing_len + 1);
	if (!out->signing_input) {
		r = ERR_NOMEM;
		goto fail;
	}
	memcpy(out->signing_input, tok, out->signing_len);
	out->signing_input[out->signing_len] = '\0';
	return 0;
fail:
	set_err(err, errlen, r == ERR_NOMEM ? "out of memory" : why);
	jwt_clear(out);
	return r;
}

void jwt_clear(jwt_t *j)
{
	if (!j)
		return;
	json_decref(j->header);
	json_decref(j->claims);
	free(j->signing_input);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

/* -------------------------------------------------------------------------
 * Keys */

static bool key_is_p256(EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;
	if (!EVP_PKEY_is_a(key, "EC"))
		return false;
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen)) {
		ERR_clear_error();
		return false;
	}
	return strcmp(group, SN_X9_62_prime256v1) == 0;
}

static bool key_is_rsa(EVP_PKEY *key)
{
	return EVP_PKEY_is_a(key, "RSA");
}

/* -------------------------------------------------------------------------
 * Signatures */

/* JOSE r||s (64 bytes) to a DER ECDSA-Sig-Value; *der is OpenSSL memory. */
static int es256_to_der(const uint8_t *sig, size_t siglen, uint8_t **der, size_t *derlen)
{
	int r = ERR_AUTH;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	if (siglen != ES256_SIG_LEN)
		return ERR_AUTH;
	if (!(es = ECDSA_SIG_new()) || !(br = BN_bin2bn(sig, P256_COORD_LEN, NULL)) ||
	    !(bs = BN_bin2bn(sig + P256_COORD_LEN, P256_COORD_LEN, NULL))) {
		r = ERR_NOMEM;
		goto out;
	}
	if (!ECDSA_SIG_set0(es, br, bs)) {
		r = ERR_NOMEM;
		goto out;
	}
	br = bs = NULL; /* es owns them */
	*der = NULL;
	int n = i2d_ECDSA_SIG(es, der);
	if (n <= 0) {
		r = ERR_NOMEM;
		goto out;
	}
	*derlen = (size_t)n;
	r = 0;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

/* A DER ECDSA-Sig-Value to JOSE r||s. */
static int der_to_es256(const uint8_t *der, size_t derlen, uint8_t out[ES256_SIG_LEN])
{
	const unsigned char *p = der;
	const BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	int r = ERR_INVAL;
	if (!es)
		return ERR_INVAL;
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_bn2binpad(br, out, P256_COORD_LEN) == P256_COORD_LEN &&
	    BN_bn2binpad(bs, out + P256_COORD_LEN, P256_COORD_LEN) == P256_COORD_LEN)
		r = 0;
	ECDSA_SIG_free(es);
	return r;
}

/* Sets the context up for alg: the digest, and for PS256 the PSS padding
 * RFC 7518 §3.5 fixes (MGF1 with SHA-256, a 32-byte salt). */
static int digest_init(EVP_MD_CTX *ctx, enum jwt_alg alg, EVP_PKEY *key, bool sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	int ok = sign ? EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key)
		      : EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, key);
	if (ok != 1)
		return ERR_INVAL;
	if (alg == JWT_PS256) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)
			return ERR_INVAL;
	} else if (alg == JWT_RS256) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
			return ERR_INVAL;
	}
	return 0;
}

int jwt_verify(const jwt_t *j, EVP_PKEY *key, char *err, size_t errlen)
{
	int r = 0;
	EVP_MD_CTX *ctx = NULL;
	uint8_t *der = NULL;
	const uint8_t *sig;
	size_t siglen;

	set_err(err, errlen, "");
	if (!j || !key || !j->signing_input || !j->sig) {
		set_err(err, errlen, "no token or no key");
		return ERR_INVAL;
	}
	switch (j->alg) {
	case JWT_ES256:
		if (!key_is_p256(key)) {
			set_err(err, errlen, "ES256 token needs an EC P-256 key");
			return ERR_INVAL;
		}
		break;
	case JWT_RS256:
	case JWT_PS256:
		if (!key_is_rsa(key)) {
			set_err(err, errlen, "RS256/PS256 token needs an RSA key");
			return ERR_INVAL;
		}
		if (EVP_PKEY_get_bits(key) < RSA_MIN_BITS) {
			set_err(err, errlen, "RSA key shorter than 2048 bits");
			return ERR_INVAL;
		}
		break;
	default: set_err(err, errlen, "token algorithm not allowed"); return ERR_INVAL;
	}

	sig = j->sig;
	siglen = j->siglen;
	if (j->alg == JWT_ES256) {
		if ((r = es256_to_der(j->sig, j->siglen, &der, &siglen)) != 0)
			goto out;
		sig = der;
	}
	if (!(ctx = EVP_MD_CTX_new())) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = digest_init(ctx, j->alg, key, false)) != 0)
		goto out;
	if (EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)j->signing_input, j->signing_len) != 1)
		r = ERR_AUTH;
out:
	if (r != 0) {
		/* a failed check leaves errors on the thread's queue, where a later TLS call would find them
		 */
		ERR_clear_error();
		set_err(err, errlen,
			r == ERR_AUTH	 ? "bad token signature"
			: r == ERR_NOMEM ? "out of memory"
					 : "cannot verify token");
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return r;
}

/* "<b64 of text>" appended to b. */
static int append_b64(buf_t *b, const uint8_t *p, size_t n)
{
	size_t enc = n / 3 * 4 + 4 + 1;
	int r = buf_reserve(b, enc);
	if (r != 0)
		return r;
	size_t w = b64url_encode(p, n, (char *)buf_tail(b), buf_space(b));
	if (w == 0 && n != 0)
		return ERR_TOOBIG;
	buf_commit(b, w);
	return 0;
}

static int append_json_b64(buf_t *b, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return ERR_NOMEM;
	int r = append_b64(b, (const uint8_t *)text, strlen(text));
	free(text);
	return r;
}

char *jwt_sign_es256(EVP_PKEY *key, const char *kid, const json_t *claims)
{
	buf_t b;
	json_t *header = NULL;
	EVP_MD_CTX *ctx = NULL;
	uint8_t *der = NULL;
	size_t derlen = 0;
	uint8_t sig[ES256_SIG_LEN];
	char *tok = NULL;

	buf_init(&b, JWT_MAX + 1);
	if (!key || !key_is_p256(key) || !json_is_object(claims))
		goto out;
	if (kid && strlen(kid) > JWT_KID_MAX)
		goto out;
	header = json_object();
	if (!header || json_object_set_new(header, "alg", json_string("ES256")) != 0)
		goto out;
	if (kid && json_object_set_new(header, "kid", json_string(kid)) != 0)
		goto out;
	if (json_object_set_new(header, "typ", json_string("JWT")) != 0)
		goto out;
	if (append_json_b64(&b, header) != 0 || buf_append(&b, ".", 1) != 0 ||
	    append_json_b64(&b, claims) != 0)
		goto out;

	if (!(ctx = EVP_MD_CTX_new()) || digest_init(ctx, JWT_ES256, key, true) != 0)
		goto out;
	if (EVP_DigestSign(ctx, NULL, &derlen, buf_head(&b), buf_used(&b)) != 1)
		goto out;
	if (!(der = OPENSSL_malloc(derlen)))
		goto out;
	if (EVP_DigestSign(ctx, der, &derlen, buf_head(&b), buf_used(&b)) != 1)
		goto out;
	if (der_to_es256(der, derlen, sig) != 0)
		goto out;
	/* a token we could not parse back is no token: the cap holds it to JWT_MAX */
	if (buf_append(&b, ".", 1) != 0 || append_b64(&b, sig, sizeof(sig)) != 0 || buf_used(&b) > JWT_MAX)
		goto out;
	if (!(tok = malloc(buf_used(&b) + 1)))
		goto out;
	memcpy(tok, buf_head(&b), buf_used(&b));
	tok[buf_used(&b)] = '\0';
out:
	if (!tok)
		ERR_clear_error();
	json_decref(header);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	buf_free(&b);
	return tok;
}

/* -------------------------------------------------------------------------
 * JWK */

/* A BIGNUM parameter of key as a base64url JSON string: fixed width when
 * width > 0 (EC coordinates), else minimal (RSA, RFC 7518 §6.3.1.1). */
static json_t *bn_param_b64(EVP_PKEY *key, const char *param, int width)
{
	BIGNUM *bn = NULL;
	uint8_t bin[RSA_MAX_BITS / 8];
	char text[sizeof(bin) / 3 * 4 + 8];
	json_t *s = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(key, param, &bn))
		goto out;
	if (width > 0)
		n = BN_bn2binpad(bn, bin, width);
	else
		n = BN_num_bytes(bn) <= (int)sizeof(bin) ? BN_bn2bin(bn, bin) : -1;
	if (n <= 0)
		goto out;
	if (b64url_encode(bin, (size_t)n, text, sizeof(text)) == 0)
		goto out;
	s = json_string(text);
out:
	BN_free(bn);
	return s;
}

json_t *jwt_jwk_public(EVP_PKEY *key, const char *kid)
{
	json_t *jwk = NULL;
	bool ok = false;

	if (!key)
		return NULL;
	if (!(jwk = json_object()))
		return NULL;
	if (key_is_p256(key)) {
		ok = json_object_set_new(jwk, "kty", json_string("EC")) == 0 &&
		     json_object_set_new(jwk, "crv", json_string("P-256")) == 0 &&
		     json_object_set_new(jwk, "x",
					 bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, P256_COORD_LEN)) == 0 &&
		     json_object_set_new(jwk, "y",
					 bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, P256_COORD_LEN)) == 0 &&
		     (!kid || json_object_set_new(jwk, "kid", json_string(kid)) == 0) &&
		     json_object_set_new(jwk, "alg", json_string("ES256")) == 0;
	} else if (key_is_rsa(key)) {
		ok = json_object_set_new(jwk, "kty", json_string("RSA")) == 0 &&
		     json_object_set_new(jwk, "n", bn_param_b64(key, OSSL_PKEY_PARAM_RSA_N, 0)) == 0 &&
		     json_object_set_new(jwk, "e", bn_param_b64(key, OSSL_PKEY_PARAM_RSA_E, 0)) == 0 &&
		     (!kid || json_object_set_new(jwk, "kid", json_string(kid)) == 0) &&
		     json_object_set_new(jwk, "alg", json_string("RS256")) == 0;
	}
	ok = ok && json_object_set_new(jwk, "use", json_string("sig")) == 0;
	if (!ok) {
		ERR_clear_error();
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

/* A base64url string member of jwk decoded into out; its length or -1. */
static long jwk_bytes(const json_t *jwk, const char *name, uint8_t *out, size_t outlen)
{
	const json_t *v = json_object_get(jwk, name);
	if (!json_is_string(v))
		return -1;
	return b64url_decode(json_string_value(v), json_string_length(v), out, outlen);
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	if (!params)
		return NULL;
	if (!(ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* OpenSSL's own check of a public key (for EC: on the curve, not the point
 * at infinity, in the right subgroup). */
static bool pkey_public_ok(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	bool ok = ctx && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static EVP_PKEY *jwk_ec(const json_t *jwk, const char **why)
{
	uint8_t point[1 + 2 * P256_COORD_LEN];
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = NULL;

	if (!str_is(json_object_get(jwk, "crv"), "P-256")) {
		*why = "JWK curve is not P-256";
		return NULL;
	}
	point[0] = 0x04; /* uncompressed */
	if (jwk_bytes(jwk, "x", point + 1, P256_COORD_LEN) != P256_COORD_LEN ||
	    jwk_bytes(jwk, "y", point + 1 + P256_COORD_LEN, P256_COORD_LEN) != P256_COORD_LEN) {
		*why = "JWK x or y is not 32 bytes of base64url";
		return NULL;
	}
	*why = "JWK EC point is not on P-256";
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		goto out;
	if (!(pkey = pkey_fromdata("EC", bld)))
		goto out;
	if (!key_is_p256(pkey) || !pkey_public_ok(pkey)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *jwk_rsa(const json_t *jwk, const char **why)
{
	uint8_t n[RSA_MAX_BITS / 8], e[RSA_E_MAX_LEN];
	long nlen, elen;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = NULL;

	nlen = jwk_bytes(jwk, "n", n, sizeof(n));
	elen = jwk_bytes(jwk, "e", e, sizeof(e));
	if (nlen <= 0 || elen <= 0) {
		*why = "JWK n or e missing or malformed";
		return NULL;
	}
	if (!(e[elen - 1] & 1)) {
		*why = "JWK e is even";
		return NULL;
	}
	*why = "JWK RSA key refused";
	if (!(bn = BN_bin2bn(n, (int)nlen, NULL)) || !(be = BN_bin2bn(e, (int)elen, NULL)))
		goto out;
	if (BN_num_bits(bn) < RSA_MIN_BITS) {
		*why = "JWK RSA key shorter than 2048 bits";
		goto out;
	}
	if (BN_is_one(be) || BN_cmp(be, bn) >= 0)
		goto out;
	if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	if ((pkey = pkey_fromdata("RSA", bld)) && EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pkey;
}

/* Members that only a private or a symmetric key has (RFC 7518 §6.2.2,
 * §6.3.2, §6.4). */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

EVP_PKEY *jwt_jwk_import(const json_t *jwk, char *err, size_t errlen)
{
	const char *why = "JWK is not an object";
	EVP_PKEY *pkey = NULL;

	set_err(err, errlen, "");
	if (!json_is_object(jwk))
		goto out;
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
		if (json_object_get(jwk, private_members[i])) {
			why = "JWK has a private member";
			goto out;
		}
	}
	/* a key published for encryption is not a signing key, whatever a token says */
	const json_t *use = json_object_get(jwk, "use");
	if (use && !str_is(use, "sig")) {
		why = "JWK use is not sig";
		goto out;
	}
	const json_t *kty = json_object_get(jwk, "kty");
	const json_t *alg = json_object_get(jwk, "alg");
	if (str_is(kty, "EC")) {
		if (alg && !str_is(alg, "ES256")) {
			why = "JWK alg does not fit its key";
			goto out;
		}
		pkey = jwk_ec(jwk, &why);
	} else if (str_is(kty, "RSA")) {
		if (alg && !str_is(alg, "RS256") && !str_is(alg, "PS256")) {
			why = "JWK alg does not fit its key";
			goto out;
		}
		pkey = jwk_rsa(jwk, &why);
	} else {
		why = "JWK kty is not EC or RSA";
	}
out:
	if (!pkey) {
		ERR_clear_error();
		set_err(err, errlen, why);
	}
	return pkey;
}

/* -------------------------------------------------------------------------
 * Claims */

#define TIME_MAX_SECONDS 9007199254740992LL /* 2^53 */

int jwt_claim_time(const jwt_t *j, const char *name, int64_t *out)
{
	if (!j || !j->claims || !name || !out)
		return ERR_INVAL;
	const json_t *v = json_object_get(j->claims, name);
	if (!v)
		return ERR_NOTFOUND;
	if (json_is_integer(v)) {
		json_int_t t = json_integer_value(v);
		if (t < 0 || t > TIME_MAX_SECONDS)
			return ERR_INVAL;
		*out = (int64_t)t;
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* range first: converting an out-of-range double is undefined */
		if (!(d >= 0.0 && d <= (double)TIME_MAX_SECONDS))
			return ERR_INVAL;
		int64_t t = (int64_t)d;
		if ((double)t != d)
			return ERR_INVAL;
		*out = t;
		return 0;
	}
	return ERR_INVAL;
}
