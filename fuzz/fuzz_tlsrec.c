/* fuzz_tlsrec.c — libFuzzer target for the TLS 1.3 record opener
 * (core/tlsrec.c).
 *
 * Input: a flags byte, a split seed byte, then the body. Flags bit 0: the
 * receiver is a client (else a server); bit 1: the body is the wire itself
 * (headers, lengths and forged records); else the body is a list of inner
 * plaintexts (two length bytes, then content, type and padding), each
 * sealed by a peer with the matching keys, so that the opener's checks past
 * the tag (content types, padding, alerts, KeyUpdate, tickets, split
 * handshake messages) are reached. The wire goes to one receiver whole and
 * to another in pseudo-random pieces, each into a bounded output buffer
 * drained as an owner would. Checked: both deliver the same bytes and end
 * with the same result; a result is 0, TLSREC_CLOSED or ERR_TLS with an alert;
 * the output never holds more than the plaintext sealed; and after each
 * step the receiver can still seal (a KeyUpdate it owes included). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/tlsrec.h"

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			__builtin_trap();                                                                    \
	} while (0)

static const uint8_t sec_c[32] = {0x11, 0x22}, sec_s[32] = {0x33, 0x44};

/* Opens wire in pieces (piece 0: all at once) into got; returns the last
 * result. */
static int run(bool client, const uint8_t *wire, size_t n, unsigned seed, buf_t *got)
{
	tlsrec_t *rx = tlsrec_new(0x1301, !client, sec_c, sec_s, 32);
	CHECK(rx);
	buf_t in, out, sealed;
	buf_init(&in, 64 * 1024);
	buf_init(&out, 40 * 1024);
	buf_init(&sealed, 64 * 1024);
	int rc = 0;
	size_t off = 0;
	while (rc == 0 && (off < n || buf_used(&in) > 0)) {
		size_t piece = seed ? 1 + (seed = seed * 1103515245u + 12345u) % 3000 : n;
		if (piece > n - off)
			piece = n - off;
		if (piece > buf_room(&in))
			piece = buf_room(&in);
		if (piece)
			CHECK(buf_append(&in, wire + off, piece) == 0);
		off += piece;
		size_t before_in = buf_used(&in);
		uint8_t alert = 0;
		rc = tlsrec_open(rx, &in, &out, &alert);
		CHECK(rc == 0 || rc == TLSREC_CLOSED || rc == ERR_TLS);
		CHECK(buf_used(&in) <= before_in);
		if (rc == ERR_TLS)
			CHECK(alert != TLSREC_CLOSE_NOTIFY);
		CHECK(buf_append(got, buf_head(&out), buf_used(&out)) == 0);
		buf_reset(&out);
		size_t done = 0;
		CHECK(tlsrec_seal(rx, (const uint8_t *)"pong", 4, &sealed, &done) == 0 && done == 4);
		buf_reset(&sealed);
		if (rc == 0 && piece == 0 && buf_used(&in) == before_in)
			break; /* a partial record at the end */
	}
	buf_free(&in);
	buf_free(&out);
	buf_free(&sealed);
	tlsrec_free(rx);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	bool client = data[0] & 1, raw = data[0] & 2;
	unsigned seed = data[1] | 1u;
	data += 2;
	size -= 2;
	buf_t wire;
	size_t plain = size;
	buf_init(&wire, 1 << 22);
	if (raw) {
		CHECK(buf_append(&wire, data, size) == 0);
	} else {
		tlsrec_t *tx = tlsrec_new(0x1301, client, sec_c, sec_s, 32);
		CHECK(tx);
		size_t i = 0;
		while (i + 2 <= size) {
			size_t len = ((size_t)data[i] << 8 | data[i + 1]) % (TLSREC_BODY_MAX - 16 + 1);
			i += 2;
			if (len > size - i)
				len = size - i;
			if (len > 0)
				CHECK(tlsrec_seal_inner(tx, data + i, len, &wire) == 0);
			i += len;
		}
		tlsrec_free(tx);
	}
	buf_t whole, split;
	buf_init(&whole, 1 << 22);
	buf_init(&split, 1 << 22);
	int rw = run(client, buf_head(&wire), buf_used(&wire), 0, &whole);
	int rs = run(client, buf_head(&wire), buf_used(&wire), seed, &split);
	CHECK(rw == rs);
	CHECK(buf_used(&whole) == buf_used(&split));
	CHECK(buf_used(&whole) == 0 || memcmp(buf_head(&whole), buf_head(&split), buf_used(&whole)) == 0);
	CHECK(buf_used(&whole) <= plain);
	buf_free(&wire);
	buf_free(&whole);
	buf_free(&split);
	return 0;
}
