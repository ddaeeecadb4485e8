/* test_ws.c — RFC 6455 framing: decoder validation, streaming across every
 * split, in-place unmasking, header encoding and handshake keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/ws.h"

static const uint8_t test_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Builds one frame into out; returns its length. */
static size_t build_frame(uint8_t *out, uint8_t first_byte, const void *payload, size_t len,
			  const uint8_t *mask)
{
	size_t n =
	    ws_frame_header(out, (enum ws_opcode)(first_byte & 0x0F), (first_byte & 0x80) != 0, len, mask);
	out[0] = first_byte; /* lets tests set RSV bits */
	if (len)
		memcpy(out + n, payload, len);
	if (mask)
		ws_mask(out + n, len, mask, 0);
	return n + len;
}

/* A transcript of what a decoder reported, independent of how the input was
 * split: DATA bytes in hex, run together across pieces, "|" at message end,
 * control frames and the final error in brackets. */
typedef struct transcript {
	char *s;
	size_t len, cap;
	int err;
} transcript_t;

static void tr_add(transcript_t *t, const char *s)
{
	size_t n = strlen(s);
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

static void tr_hex(transcript_t *t, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	if (t->len + 2 * n + 1 > t->cap) {
		t->cap = (t->len + 2 * n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	for (size_t i = 0; i < n; i++) {
		t->s[t->len++] = digits[p[i] >> 4];
		t->s[t->len++] = digits[p[i] & 15];
	}
	t->s[t->len] = '\0';
}

static void tr_free(transcript_t *t)
{
	free(t->s);
}

static void tr_event(transcript_t *t, const ws_event_t *ev)
{
	char tmp[64];
	switch (ev->type) {
	case WS_EV_DATA:
		if (ev->masked && ev->len) { /* defer_unmask: unmask a copy, as a caller would */
			uint8_t *plain = malloc(ev->len);
			assert_non_null(plain);
			ws_mask_copy(plain, ev->data, ev->len, ev->mask, ev->mask_pos);
			tr_hex(t, plain, ev->len);
			free(plain);
		} else {
			tr_hex(t, ev->data, ev->len);
		}
		if (ev->msg_end)
			tr_add(t, "|");
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
	case WS_EV_CLOSE:
		snprintf(tmp, sizeof(tmp), "[%s %u:",
			 ev->type == WS_EV_PING	  ? "ping"
			 : ev->type == WS_EV_PONG ? "pong"
						  : "close",
			 (unsigned)ev->close_code);
		tr_add(t, tmp);
		tr_hex(t, ev->data, ev->len);
		tr_add(t, "]");
		break;
	}
}

/* Feeds in[0..n) to d in pieces of `step` bytes (the whole input when step
 * is 0), each piece in a buffer of its own so ASan sees any stray access.
 * With defer_unmask, DATA must come masked and the pieces stay as given. */
static void decode_steps(ws_decoder_t *d, const uint8_t *in, size_t n, size_t step, transcript_t *t)
{
	size_t off = 0;
	tr_add(t, "");
	while (off < n && !t->err) {
		size_t len = step && step < n - off ? step : n - off;
		uint8_t *piece = malloc(len);
		assert_non_null(piece);
		memcpy(piece, in + off, len);
		size_t pos = 0;
		while (pos < len) {
			size_t used = 0;
			ws_event_t ev;
			int r = ws_decode(d, piece + pos, len - pos, &used, &ev);
			assert_true(used <= len - pos);
			if (r < 0) {
				t->err = r;
				break;
			}
			if (r == 0) {
				assert_int_equal(used, len - pos);
			} else {
				assert_int_equal(r, 1);
				assert_true(used > 0);
				if (ev.type == WS_EV_DATA) {
					assert_true(ev.data >= piece + pos);
					assert_true(ev.data + ev.len <= piece + pos + used);
					assert_true(ev.masked == (d->defer_unmask && d->server));
				} else {
					assert_true(ev.len <= 125);
				}
				tr_event(t, &ev);
			}
			pos += used;
		}
		if (d->defer_unmask)
			assert_memory_equal(piece, in + off, len); /* the input is left masked */
		free(piece);
		off += len;
	}
}

static int decode_one(bool server, const uint8_t *in, size_t n, transcript_t *t)
{
	ws_decoder_t d;
	ws_decoder_init(&d, server);
	decode_steps(&d, in, n, 0, t);
	return t->err;
}

/* The first event of a buffer, from a fresh decoder. */
static int first_event(bool server, uint8_t *in, size_t n, ws_event_t *ev)
{
	ws_decoder_t d;
	size_t used;
	ws_decoder_init(&d, server);
	return ws_decode(&d, in, n, &used, ev);
}

static void test_ws_decodes_masked_frame_as_server(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x81, "Hello", 5, test_mask);
	ws_decoder_t d;
	ws_event_t ev;
	size_t used;
	ws_decoder_init(&d, true);
	assert_int_equal(ws_decode(&d, f, n, &used, &ev), 1);
	assert_int_equal(used, n);
	assert_int_equal(ev.type, WS_EV_DATA);
	assert_int_equal(ev.len, 5);
	assert_memory_equal(ev.data, "Hello", 5);
	assert_ptr_equal(ev.data, f + 6); /* unmasked in place, not copied */
	assert_true(ev.msg_end);
}

static void test_ws_decodes_unmasked_frame_as_client(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x82, "\x01\x02\x03", 3, NULL);
	ws_event_t ev;
	assert_int_equal(first_event(false, f, n, &ev), 1);
	assert_int_equal(ev.type, WS_EV_DATA);
	assert_memory_equal(ev.data, "\x01\x02\x03", 3);
	assert_ptr_equal(ev.data, f + 2);
	assert_true(ev.msg_end);
}

static void test_ws_rejects_unmasked_client_frame(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x82, "abc", 3, NULL);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), ERR_PROTO);
}

static void test_ws_rejects_masked_server_frame(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x82, "abc", 3, test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(false, f, n, &ev), ERR_PROTO);
}

static void test_ws_rejects_reserved_bits(void **state)
{
	for (int bit = 0x10; bit <= 0x40; bit <<= 1) {
		uint8_t f[64];
		size_t n = build_frame(f, (uint8_t)(0x82 | bit), "abc", 3, test_mask);
		ws_event_t ev;
		assert_int_equal(first_event(true, f, n, &ev), ERR_PROTO);
	}
}

static void test_ws_rejects_unknown_opcodes(void **state)
{
	static const uint8_t bad[] = {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF};
	for (size_t i = 0; i < sizeof(bad); i++) {
		uint8_t f[64];
		size_t n = build_frame(f, (uint8_t)(0x80 | bad[i]), "", 0, test_mask);
		ws_event_t ev;
		assert_int_equal(first_event(true, f, n, &ev), ERR_PROTO);
	}
}

static void test_ws_rejects_64bit_length_with_msb_set(void **state)
{
	uint8_t f[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 'x'};
	ws_event_t ev;
	assert_int_equal(first_event(true, f, sizeof(f), &ev), ERR_PROTO);
}

static void test_ws_rejects_continuation_without_message(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x80, "abc", 3, test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), ERR_PROTO);
}

static void test_ws_rejects_new_message_inside_fragmented_one(void **state)
{
	uint8_t f[128];
	size_t n = build_frame(f, 0x02, "ab", 2, test_mask);
	n += build_frame(f + n, 0x82, "cd", 2, test_mask);
	transcript_t t = {0};
	assert_int_equal(decode_one(true, f, n, &t), ERR_PROTO);
	assert_string_equal(t.s, "6162");
	tr_free(&t);
}

static void test_ws_rejects_ping_over_125_bytes(void **state)
{
	uint8_t payload[126] = {0};
	uint8_t f[256];
	size_t n = build_frame(f, 0x89, payload, sizeof(payload), test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), ERR_PROTO);
}

static void test_ws_accepts_ping_of_125_bytes(void **state)
{
	uint8_t payload[125];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	uint8_t f[256];
	size_t n = build_frame(f, 0x89, payload, sizeof(payload), test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), 1);
	assert_int_equal(ev.type, WS_EV_PING);
	assert_int_equal(ev.len, 125);
	assert_memory_equal(ev.data, payload, 125);
}

static void test_ws_rejects_fragmented_control_frame(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x09, "x", 1, test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), ERR_PROTO);
}

static void test_ws_ping_and_pong_events(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x89, "hi", 2, NULL);
	n += build_frame(f + n, 0x8A, "", 0, NULL);
	transcript_t t = {0};
	assert_int_equal(decode_one(false, f, n, &t), 0);
	assert_string_equal(t.s, "[ping 0:6869][pong 0:]");
	tr_free(&t);
}

static void test_ws_rejects_close_payload_of_one_byte(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x88, "\x03", 1, test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), ERR_PROTO);
}

static void test_ws_close_without_payload_reports_1005(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x88, "", 0, test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), 1);
	assert_int_equal(ev.type, WS_EV_CLOSE);
	assert_int_equal(ev.close_code, 1005);
	assert_int_equal(ev.len, 0);
}

static int close_with_code(unsigned code, const char *reason, size_t reason_len, ws_event_t *ev, uint8_t *f)
{
	uint8_t payload[125];
	payload[0] = (uint8_t)(code >> 8);
	payload[1] = (uint8_t)code;
	memcpy(payload + 2, reason, reason_len);
	size_t n = build_frame(f, 0x88, payload, 2 + reason_len, test_mask);
	return first_event(true, f, n, ev);
}

static void test_ws_accepts_valid_close_codes(void **state)
{
	static const unsigned ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
				      1010, 1011, 3000, 3999, 4000, 4999};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint8_t f[160];
		ws_event_t ev;
		assert_int_equal(close_with_code(ok[i], "bye", 3, &ev, f), 1);
		assert_int_equal(ev.type, WS_EV_CLOSE);
		assert_int_equal(ev.close_code, ok[i]);
		assert_int_equal(ev.len, 3);
		assert_memory_equal(ev.data, "bye", 3);
	}
}

static void test_ws_rejects_invalid_close_codes(void **state)
{
	static const unsigned bad[] = {0,    999,  1004, 1005, 1006, 1012, 1013, 1014,
				       1015, 1016, 1100, 2000, 2999, 5000, 65535};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t f[160];
		ws_event_t ev;
		assert_int_equal(close_with_code(bad[i], "", 0, &ev, f), ERR_PROTO);
	}
}

static void test_ws_accepts_utf8_close_reason(void **state)
{
	static const char reason[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	uint8_t f[160];
	ws_event_t ev;
	assert_int_equal(close_with_code(1000, reason, sizeof(reason) - 1, &ev, f), 1);
	assert_int_equal(ev.len, sizeof(reason) - 1);
	assert_memory_equal(ev.data, reason, sizeof(reason) - 1);
}

static void test_ws_rejects_invalid_utf8_close_reason(void **state)
{
	static const char *const bad[] = {
	    "\x80",		/* lone continuation byte */
	    "\xc3",		/* truncated sequence */
	    "\xc0\xaf",		/* overlong '/' */
	    "\xe0\x80\xaf",	/* overlong, 3 bytes */
	    "\xed\xa0\x80",	/* UTF-16 surrogate */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xf8\x88\x80\x80", /* 5-byte form */
	    "ok\xff",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t f[160];
		ws_event_t ev;
		assert_int_equal(close_with_code(1000, bad[i], strlen(bad[i]), &ev, f), ERR_PROTO);
	}
}

static void test_ws_control_frame_interleaved_in_fragmented_message(void **state)
{
	uint8_t f[256];
	size_t n = build_frame(f, 0x01, "Hel", 3, test_mask);
	n += build_frame(f + n, 0x89, "p", 1, test_mask);
	n += build_frame(f + n, 0x00, "lo ", 3, test_mask);
	n += build_frame(f + n, 0x8A, "q", 1, test_mask);
	n += build_frame(f + n, 0x80, "you", 3, test_mask);
	n += build_frame(f + n, 0x82, "!", 1, test_mask);
	transcript_t t = {0};
	assert_int_equal(decode_one(true, f, n, &t), 0);
	assert_string_equal(t.s, "48656c[ping 0:70]6c6f20[pong 0:71]796f75|21|");
	tr_free(&t);
}

static void test_ws_zero_length_fin_frame_yields_empty_data_event(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x82, "", 0, test_mask);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), 1);
	assert_int_equal(ev.type, WS_EV_DATA);
	assert_int_equal(ev.len, 0);
	assert_true(ev.msg_end);
}

static void test_ws_empty_fragment_yields_no_event(void **state)
{
	uint8_t f[64];
	size_t n = build_frame(f, 0x02, "", 0, test_mask);
	n += build_frame(f + n, 0x80, "z", 1, test_mask);
	ws_decoder_t d;
	ws_event_t ev;
	size_t used;
	ws_decoder_init(&d, true);
	assert_int_equal(ws_decode(&d, f, n, &used, &ev), 1);
	assert_int_equal(used, n);
	assert_int_equal(ev.len, 1);
	assert_int_equal(ev.data[0], 'z');
	assert_true(ev.msg_end);
}

static void test_ws_several_frames_in_one_buffer(void **state)
{
	uint8_t f[64];
	size_t a = build_frame(f, 0x82, "one", 3, test_mask);
	size_t b = build_frame(f + a, 0x82, "two", 3, test_mask);
	ws_decoder_t d;
	ws_event_t ev;
	size_t used;
	ws_decoder_init(&d, true);
	assert_int_equal(ws_decode(&d, f, a + b, &used, &ev), 1);
	assert_int_equal(used, a);
	assert_memory_equal(ev.data, "one", 3);
	assert_int_equal(ws_decode(&d, f + a, b, &used, &ev), 1);
	assert_int_equal(used, b);
	assert_memory_equal(ev.data, "two", 3);
	assert_int_equal(ws_decode(&d, f + a + b, 0, &used, &ev), 0);
	assert_int_equal(used, 0);
}

static void test_ws_large_frame_streamed_in_pieces(void **state)
{
	enum { LEN = 100000, STEP = 4093 };
	uint8_t *payload = malloc(LEN), *f = malloc(LEN + 14);
	assert_non_null(payload);
	assert_non_null(f);
	for (size_t i = 0; i < LEN; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	size_t n = build_frame(f, 0x82, payload, LEN, test_mask);

	ws_decoder_t d;
	ws_decoder_init(&d, true);
	size_t off = 0, got = 0, events = 0;
	while (off < n) {
		size_t len = n - off < STEP ? n - off : STEP;
		size_t pos = 0;
		while (pos < len) {
			size_t used;
			ws_event_t ev;
			int r = ws_decode(&d, f + off + pos, len - pos, &used, &ev);
			assert_true(r >= 0);
			if (r == 1) {
				assert_memory_equal(ev.data, payload + got, ev.len);
				got += ev.len;
				events++;
				assert_int_equal(ev.msg_end, got == LEN);
			}
			pos += used;
		}
		off += len;
	}
	assert_int_equal(got, LEN);
	assert_true(events > 1);
	free(payload);
	free(f);
}

/* Frames with every header shape: 7-bit, 16-bit and 64-bit lengths, masked
 * or not, data and control, fragmented. */
static size_t build_mixed_stream(uint8_t *f, bool masked, uint8_t *payload, size_t plen)
{
	const uint8_t *m = masked ? test_mask : NULL;
	size_t n = 0;
	n += build_frame(f + n, 0x81, payload, 5, m);
	n += build_frame(f + n, 0x82, payload, 0, m);
	n += build_frame(f + n, 0x02, payload, 126, m);
	n += build_frame(f + n, 0x89, payload, 125, m);
	n += build_frame(f + n, 0x00, payload, 0, m);
	n += build_frame(f + n, 0x80, payload, 300, m);
	n += build_frame(f + n, 0x82, payload, plen, m); /* 64-bit length */
	n += build_frame(f + n, 0x8A, payload, 3, m);
	uint8_t close[] = {0x03, 0xe8, 'o', 'k'};
	n += build_frame(f + n, 0x88, close, sizeof(close), m);
	return n;
}

static void test_ws_frame_split_at_every_byte(void **state)
{
	enum { PLEN = 65536 + 10 };
	uint8_t *payload = malloc(PLEN), *f = malloc(PLEN + 2048);
	assert_non_null(payload);
	assert_non_null(f);
	for (size_t i = 0; i < PLEN; i++)
		payload[i] = (uint8_t)(i ^ (i >> 8));

	for (int server = 0; server <= 1; server++) {
		size_t n = build_mixed_stream(f, server, payload, PLEN);
		transcript_t whole = {0};
		assert_int_equal(decode_one(server, f, n, &whole), 0);

		/* Two pieces, split at every offset of the headers and around them. */
		for (size_t cut = 1; cut < n; cut += (cut < 700 || cut > n - 40) ? 1 : 997) {
			ws_decoder_t d;
			transcript_t t = {0};
			ws_decoder_init(&d, server);
			decode_steps(&d, f, cut, 0, &t);
			decode_steps(&d, f + cut, n - cut, 0, &t);
			assert_int_equal(t.err, 0);
			assert_string_equal(t.s, whole.s);
			tr_free(&t);
		}
		/* Byte by byte and a few odd step sizes. */
		static const size_t steps[] = {1, 2, 3, 7, 13, 4096};
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			ws_decoder_t d;
			transcript_t t = {0};
			ws_decoder_init(&d, server);
			decode_steps(&d, f, n, steps[k], &t);
			assert_int_equal(t.err, 0);
			assert_string_equal(t.s, whole.s);
			tr_free(&t);
		}
		tr_free(&whole);
	}
	free(payload);
	free(f);
}

static void naive_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos)
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[(pos + i) % 4];
}

static void test_ws_mask_matches_naive_at_unaligned_offsets_and_all_phases(void **state)
{
	enum { MAXLEN = 200 }; /* three 64-byte rounds and every tail */
	uint8_t base[MAXLEN + 16], a[MAXLEN + 16], b[MAXLEN + 16];
	for (size_t i = 0; i < sizeof(base); i++)
		base[i] = (uint8_t)(i * 31 + 5);
	for (size_t off = 0; off < 8; off++)
		for (uint64_t pos = 0; pos < 8; pos++)
			for (size_t len = 0; len <= MAXLEN; len++) {
				memcpy(a, base, sizeof(base));
				memcpy(b, base, sizeof(base));
				ws_mask(a + off, len, test_mask, pos + ((uint64_t)1 << 40));
				naive_mask(b + off, len, test_mask, pos);
				assert_memory_equal(a, b, sizeof(a)); /* nothing outside touched */
			}
}

static void test_ws_mask_copy_matches_naive_and_leaves_source_alone(void **state)
{
	enum { MAXLEN = 200 }; /* three 64-byte rounds and every tail */
	uint8_t src[MAXLEN + 16], dst[MAXLEN + 16], want[MAXLEN + 16];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
	for (size_t off = 0; off < 8; off++)
		for (uint64_t pos = 0; pos < 8; pos++)
			for (size_t len = 0; len <= MAXLEN; len++) {
				memset(dst, 0xAA, sizeof(dst));
				memset(want, 0xAA, sizeof(want));
				memcpy(want + off, src + 3, len);
				naive_mask(want + off, len, test_mask, pos);
				ws_mask_copy(dst + off, src + 3, len, test_mask, pos);
				assert_memory_equal(dst, want, sizeof(dst)); /* nothing outside touched */
				assert_int_equal(src[3], 3 * 7 + 3);
			}
}

static void test_ws_masked_roundtrip_with_every_mask_phase(void **state)
{
	/* A masked frame fed so that each piece starts at a different mask
	 * phase and at an odd address. */
	enum { LEN = 1000 };
	uint8_t payload[LEN];
	for (size_t i = 0; i < LEN; i++)
		payload[i] = (uint8_t)(i * 13);
	for (size_t step = 1; step <= 9; step++) {
		uint8_t *store = malloc(LEN + 14 + 1);
		assert_non_null(store);
		uint8_t *f = store + 1; /* unaligned */
		size_t n = build_frame(f, 0x82, payload, LEN, test_mask);
		ws_decoder_t d;
		ws_decoder_init(&d, true);
		size_t off = 0, got = 0;
		while (off < n) {
			size_t len = n - off < step ? n - off : step;
			size_t pos = 0;
			while (pos < len) {
				size_t used;
				ws_event_t ev;
				int r = ws_decode(&d, f + off + pos, len - pos, &used, &ev);
				assert_true(r >= 0);
				if (r == 1) {
					assert_memory_equal(ev.data, payload + got, ev.len);
					got += ev.len;
				}
				pos += used;
			}
			off += len;
		}
		assert_int_equal(got, LEN);
		free(store);
	}
}

/* defer_unmask: DATA events carry the masked bytes, left as they were in
 * the input, with the key and phase that unmask them; two frames with
 * different keys, fed in pieces of every size from 1 to 9 bytes. */
static void test_ws_deferred_unmask_gives_key_and_phase(void **state)
{
	enum { LEN = 1000 };
	static const uint8_t mask2[4] = {0x01, 0x80, 0xff, 0x5a};
	uint8_t payload[2 * LEN], f[2 * (LEN + 14)];
	for (size_t i = 0; i < 2 * LEN; i++)
		payload[i] = (uint8_t)(i * 13 + 7);
	size_t n = build_frame(f, 0x02, payload, LEN, test_mask);
	n += build_frame(f + n, 0x80, payload + LEN, LEN, mask2);
	transcript_t want = {0};
	tr_hex(&want, payload, 2 * LEN);
	tr_add(&want, "|");
	for (size_t step = 1; step <= 9; step++) {
		ws_decoder_t d;
		ws_decoder_init(&d, true);
		d.defer_unmask = true;
		transcript_t t = {0};
		decode_steps(&d, f, n, step, &t);
		assert_int_equal(t.err, 0);
		assert_string_equal(t.s, want.s);
		tr_free(&t);
	}
	tr_free(&want);
}

static void test_ws_roundtrip_64bit_length(void **state)
{
	enum { LEN = 70000 };
	uint8_t *payload = malloc(LEN), *f = malloc(LEN + 14);
	assert_non_null(payload);
	assert_non_null(f);
	for (size_t i = 0; i < LEN; i++)
		payload[i] = (uint8_t)(i >> 3);
	size_t n = build_frame(f, 0x82, payload, LEN, test_mask);
	assert_int_equal(n, LEN + 14);
	assert_int_equal(f[1], 0x80 | 127);
	ws_event_t ev;
	assert_int_equal(first_event(true, f, n, &ev), 1);
	assert_int_equal(ev.len, LEN);
	assert_true(ev.msg_end);
	assert_memory_equal(ev.data, payload, LEN);
	free(payload);
	free(f);
}

static void test_ws_frame_header_uses_minimal_length_encoding(void **state)
{
	static const struct {
		uint64_t len;
		size_t hlen;
	} cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {(uint64_t)1 << 40, 10}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h[14];
		assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, cases[i].len, NULL), cases[i].hlen);
		assert_int_equal(h[0], 0x82);
		assert_int_equal(h[1] & 0x80, 0);
		assert_int_equal(ws_frame_header(h, WS_OP_BINARY, false, cases[i].len, test_mask),
				 cases[i].hlen + 4);
		assert_int_equal(h[0], 0x02);
		assert_int_equal(h[1] & 0x80, 0x80);
		assert_memory_equal(h + cases[i].hlen, test_mask, 4);
	}
	uint8_t h[14];
	ws_frame_header(h, WS_OP_TEXT, true, 0x0102030405ULL, NULL);
	static const uint8_t want[] = {0x81, 127, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05};
	assert_memory_equal(h, want, sizeof(want));
	ws_frame_header(h, WS_OP_TEXT, true, 300, NULL);
	static const uint8_t want16[] = {0x81, 126, 0x01, 0x2c};
	assert_memory_equal(h, want16, sizeof(want16));
}

static void test_ws_accepts_non_minimal_length_encoding(void **state)
{
	/* RFC 6455 asks senders for the minimal form; receivers in the wild
	 * accept the others, and so do we. */
	uint8_t f[] = {0x82, 126, 0, 2, 'h', 'i'};
	ws_event_t ev;
	assert_int_equal(first_event(false, f, sizeof(f), &ev), 1);
	assert_int_equal(ev.len, 2);
	assert_memory_equal(ev.data, "hi", 2);
}

static void test_ws_error_is_sticky(void **state)
{
	uint8_t bad[64], good[64];
	size_t nb = build_frame(bad, 0xC2, "x", 1, test_mask); /* RSV1 */
	size_t ng = build_frame(good, 0x82, "x", 1, test_mask);
	ws_decoder_t d;
	ws_event_t ev;
	size_t used;
	ws_decoder_init(&d, true);
	assert_int_equal(ws_decode(&d, bad, nb, &used, &ev), ERR_PROTO);
	assert_int_equal(ws_decode(&d, good, ng, &used, &ev), ERR_PROTO);
}

static void test_ws_rejects_bad_frame_before_its_extended_length(void **state)
{
	/* Refused on the two fixed bytes, without waiting for the rest. */
	uint8_t f[] = {0x82, 0x7F};
	ws_event_t ev;
	assert_int_equal(first_event(true, f, sizeof(f), &ev), ERR_PROTO);
}

static void test_ws_accept_key_matches_rfc_example(void **state)
{
	static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
	char out[29];
	ws_accept_key(key, sizeof(key) - 1, out);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_ws_key_valid_checks_base64_of_16_bytes(void **state)
{
	assert_true(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==", 24));
	assert_true(ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA==", 24));
	assert_true(ws_key_valid("+/+/+/+/+/+/+/+/+/+/+w==", 24));
	assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=", 23));
	assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==x", 25));
	assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=A", 24));
	assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQAA", 24)); /* 18 bytes */
	assert_false(ws_key_valid("dGhlIHNhbXBsZSBub2-jZQ==", 24));
	assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZR==", 24)); /* non-canonical */
	assert_false(ws_key_valid("dGhlIHNhbXBsZSBu=25jZQ==", 24));
	assert_false(ws_key_valid("", 0));
}

static void test_ws_make_key_is_valid_and_fresh(void **state)
{
	char a[25], b[25];
	ws_make_key(a);
	ws_make_key(b);
	assert_int_equal(strlen(a), 24);
	assert_true(ws_key_valid(a, 24));
	assert_true(ws_key_valid(b, 24));
	assert_string_not_equal(a, b);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Masking keys come from a pool: across two refills they stay fresh (a pool
 * handed out twice would repeat 128 keys; 300 random 32-bit keys collide
 * with probability ~1e-5). */
static void test_ws_mask_keys_stay_fresh_across_refills(void **state)
{
	enum { N = 300 };
	uint32_t k[N];
	for (size_t i = 0; i < N; i++) {
		uint8_t m[4];
		ws_mask_key(m);
		memcpy(&k[i], m, 4);
	}
	qsort(k, N, sizeof(k[0]), cmp_u32);
	size_t same = 0;
	for (size_t i = 1; i < N; i++)
		same += k[i] == k[i - 1];
	assert_true(same <= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ws_decodes_masked_frame_as_server),
	    cmocka_unit_test(test_ws_decodes_unmasked_frame_as_client),
	    cmocka_unit_test(test_ws_rejects_unmasked_client_frame),
	    cmocka_unit_test(test_ws_rejects_masked_server_frame),
	    cmocka_unit_test(test_ws_rejects_reserved_bits),
	    cmocka_unit_test(test_ws_rejects_unknown_opcodes),
	    cmocka_unit_test(test_ws_rejects_64bit_length_with_msb_set),
	    cmocka_unit_test(test_ws_rejects_continuation_without_message),
	    cmocka_unit_test(test_ws_rejects_new_message_inside_fragmented_one),
	    cmocka_unit_test(test_ws_rejects_ping_over_125_bytes),
	    cmocka_unit_test(test_ws_accepts_ping_of_125_bytes),
	    cmocka_unit_test(test_ws_rejects_fragmented_control_frame),
	    cmocka_unit_test(test_ws_ping_and_pong_events),
	    cmocka_unit_test(test_ws_rejects_close_payload_of_one_byte),
	    cmocka_unit_test(test_ws_close_without_payload_reports_1005),
	    cmocka_unit_test(test_ws_accepts_valid_close_codes),
	    cmocka_unit_test(test_ws_rejects_invalid_close_codes),
	    cmocka_unit_test(test_ws_accepts_utf8_close_reason),
	    cmocka_unit_test(test_ws_rejects_invalid_utf8_close_reason),
	    cmocka_unit_test(test_ws_control_frame_interleaved_in_fragmented_message),
	    cmocka_unit_test(test_ws_zero_length_fin_frame_yields_empty_data_event),
	    cmocka_unit_test(test_ws_empty_fragment_yields_no_event),
	    cmocka_unit_test(test_ws_several_frames_in_one_buffer),
	    cmocka_unit_test(test_ws_large_frame_streamed_in_pieces),
	    cmocka_unit_test(test_ws_frame_split_at_every_byte),
	    cmocka_unit_test(test_ws_mask_matches_naive_at_unaligned_offsets_and_all_phases),
	    cmocka_unit_test(test_ws_mask_copy_matches_naive_and_leaves_source_alone),
	    cmocka_unit_test(test_ws_masked_roundtrip_with_every_mask_phase),
	    cmocka_unit_test(test_ws_deferred_unmask_gives_key_and_phase),
	    cmocka_unit_test(test_ws_roundtrip_64bit_length),
	    cmocka_unit_test(test_ws_frame_header_uses_minimal_length_encoding),
	    cmocka_unit_test(test_ws_accepts_non_minimal_length_encoding),
	    cmocka_unit_test(test_ws_error_is_sticky),
	    cmocka_unit_test(test_ws_rejects_bad_frame_before_its_extended_length),
	    cmocka_unit_test(test_ws_accept_key_matches_rfc_example),
	    cmocka_unit_test(test_ws_key_valid_checks_base64_of_16_bytes),
	    cmocka_unit_test(test_ws_make_key_is_valid_and_fresh),
	    cmocka_unit_test(test_ws_mask_keys_stay_fresh_across_refills),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
