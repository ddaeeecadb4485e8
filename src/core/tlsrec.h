/* tlsrec.h — TLS 1.3 records (RFC 8446 §5) after OpenSSL's handshake.
 *
 * OpenSSL negotiates; when a connection ends up on TLS 1.3 with one of the
 * three AEAD suites, conn_tls.c hands its application traffic secrets here
 * and frees the SSL. Records are then opened from the conn's ciphertext
 * buffer straight into its plaintext buffer and sealed from plaintext
 * straight into the ciphertext buffer: one pass each way, where OpenSSL's
 * record layer behind a BIO copies twice more each way (docs/design.md
 * "Hot path"). An idle connection keeps two cipher contexts (about 2 KiB)
 * instead of an SSL (about 13 KiB).
 *
 * Covers what may follow a handshake: application data, closure and error
 * alerts, KeyUpdate both ways (ours also every TLSREC_UPDATE_AFTER records,
 * within AES-GCM's limit of RFC 8446 §5.5) and, for a client, the
 * NewSessionTickets it does not use. Anything else is a protocol error
 * with the alert that says so. */
#ifndef BURROW_TLSREC_H
#define BURROW_TLSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define TLSREC_HEADER 5
#define TLSREC_PLAIN_MAX 16384
#define TLSREC_BODY_MAX (TLSREC_PLAIN_MAX + 256) /* §5.2 */
#define TLSREC_OVERHEAD (TLSREC_HEADER + 1 + 16) /* header, content type, tag */
#define TLSREC_UPDATE_AFTER (1u << 24)		 /* records per write key */
#define TLSREC_SECRET_MAX 48

/* Alert descriptions (§6) this module sends or names. */
enum {
	TLSREC_CLOSE_NOTIFY = 0,
	TLSREC_UNEXPECTED_MESSAGE = 10,
	TLSREC_BAD_RECORD_MAC = 20,
	TLSREC_RECORD_OVERFLOW = 22,
	TLSREC_ILLEGAL_PARAMETER = 47,
	TLSREC_DECODE_ERROR = 50,
	TLSREC_INTERNAL_ERROR = 80,
	TLSREC_USER_CANCELED = 90,
	TLSREC_NO_ALERT = 255, /* the peer's own alert ended it: send none */
};

/* tlsrec_open: the peer sent close_notify. */
#define TLSREC_CLOSED 1

typedef struct tlsrec tlsrec_t;

/* suite: the TLS 1.3 cipher suite (0x1301 AES-128-GCM, 0x1302 AES-256-GCM,
 * 0x1303 ChaCha20-Poly1305); the two application traffic secrets, each len
 * bytes (the suite hash's length). NULL for another suite, a wrong length
 * or no memory. The caller wipes its copies of the secrets. */
tlsrec_t *tlsrec_new(uint16_t suite, bool server, const uint8_t *client_secret, const uint8_t *server_secret,
		     size_t len);
/* Wipes the keys and frees r (NULL is fine). */
void tlsrec_free(tlsrec_t *r);
/* r is idle: frees its cipher contexts, which the next record keys again. */
void tlsrec_idle(tlsrec_t *r);

/* Opens the whole records at the head of in onto out's tail, as many as
 * out has room for, consuming them from in. Returns 0 when it stopped for
 * want of input or room; TLSREC_CLOSED once the peer's close_notify came
 * (whatever follows it is dropped); ERR_TLS on a bad record, with the alert
 * to send in *alert. */
int tlsrec_open(tlsrec_t *r, buf_t *in, buf_t *out, uint8_t *alert);

/* in holds a whole record at its head and out has room for it: what
 * tlsrec_open needs to make progress. */
bool tlsrec_ready(const buf_t *in, buf_t *out);

/* Seals bytes of p (up to n) as application data onto out's tail, in
 * whole records of up to TLSREC_PLAIN_MAX, as many as out has room for,
 * after a KeyUpdate when one is due. *sealed gets the bytes of p taken
 * (0 when out is full). 0 or ERR_TLS. */
int tlsrec_seal(tlsrec_t *r, const uint8_t *p, size_t n, buf_t *out, size_t *sealed);
/* The same for the bytes of a then b, sealed as if they were one piece (a
 * frame header and its payload, without copying them together). */
int tlsrec_seal2(tlsrec_t *r, const uint8_t *a, size_t an, const uint8_t *b, size_t bn, buf_t *out,
		 size_t *sealed);

/* Seals an alert (TLSREC_CLOSE_NOTIFY to close). 0, ERR_TOOBIG when out
 * has no room, or ERR_TLS. */
int tlsrec_alert(tlsrec_t *r, uint8_t desc, buf_t *out);

/* For tests and the fuzzer: seals inner (content, type byte, padding, as
 * in §5.2's TLSInnerPlaintext) as one record. 0, ERR_TOOBIG or ERR_TLS. */
int tlsrec_seal_inner(tlsrec_t *r, const uint8_t *inner, size_t n, buf_t *out);
/* For tests: the write key is replaced after every n records. */
void tlsrec_set_update_after(tlsrec_t *r, uint32_t n);
/* For tests: how many times each direction's key was replaced. */
unsigned tlsrec_updates(const tlsrec_t *r, bool write);

#endif
