/* fuzz_ws.c — libFuzzer target for the WebSocket decoder (core/ws.c).
 *
 * Input: two bytes that seed how the stream is split, then the stream. Each
 * of a server and a client decoder gets the stream twice: whole, and in
 * pieces of pseudo-random sizes, each piece in an exactly sized heap buffer
 * so ASan sees any access outside it. Checked: the return contract
 * (consumed <= n, all input used when there is no event, progress on every
 * event), DATA views inside the input, control payloads <= 125 bytes, close
 * codes, and that splitting changes nothing about what is reported, nor
 * does leaving DATA masked for the caller (defer_unmask). Then a
 * frame made by ws_frame_header/ws_mask from the input must decode back. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/ws.h"

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			__builtin_trap();                                                                    \
	} while (0)

/* What a decoder reported, in a form that does not depend on the split:
 * DATA bytes run together; every other event is a record that also notes
 * how many DATA bytes came before it. */
typedef struct record {
	uint8_t type; /* ws_event_type, or 0 for "message end" */
	uint16_t code;
	uint8_t len;
	uint8_t payload[125];
	size_t data_before;
} record_t;

typedef struct report {
	uint8_t *data;
	size_t data_len;
	record_t *recs;
	size_t nrecs;
	bool failed;
} report_t;

static void report_free(report_t *r)
{
	free(r->data);
	free(r->recs);
}

static void add_record(report_t *r, uint8_t type, const ws_event_t *ev)
{
	r->recs = realloc(r->recs, (r->nrecs + 1) * sizeof(*r->recs));
	CHECK(r->recs);
	record_t *rec = &r->recs[r->nrecs++];
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->data_before = r->data_len;
	if (type != 0) {
		rec->code = ev->close_code;
		rec->len = (uint8_t)ev->len;
		memcpy(rec->payload, ev->data, ev->len);
	}
}

static void note_event(report_t *r, const ws_event_t *ev)
{
	switch (ev->type) {
	case WS_EV_DATA:
		if (ev->len) {
			r->data = realloc(r->data, r->data_len + ev->len);
			CHECK(r->data);
			memcpy(r->data + r->data_len, ev->data, ev->len);
			r->data_len += ev->len;
		}
		if (ev->msg_end)
			add_record(r, 0, ev);
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		CHECK(ev->len <= 125);
		CHECK(ev->close_code == 0);
		add_record(r, (uint8_t)ev->type, ev);
		break;
	case WS_EV_CLOSE:
		CHECK(ev->len <= 123);
		CHECK(ev->close_code == 1005 || (ev->close_code >= 1000 && ev->close_code <= 4999));
		CHECK(ev->close_code != 1005 || ev->len == 0);
		add_record(r, (uint8_t)ev->type, ev);
		break;
	default: CHECK(0);
	}
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Decodes in[0..n) in pieces; seed 0 means one piece. defer: DATA comes
 * masked (defer_unmask) and is unmasked here with the key and phase given. */
static void decode(bool server, bool defer, const uint8_t *in, size_t n, uint32_t seed, report_t *r)
{
	ws_decoder_t d;
	ws_decoder_init(&d, server);
	d.defer_unmask = defer;
	memset(r, 0, sizeof(*r));
	size_t off = 0;
	while (off < n && !r->failed) {
		size_t len = n - off;
		if (seed) {
			uint32_t x = next_rand(&seed);
			size_t want = (x & 0x300) ? (x & 0x0F) + 1 : (x & 0x3FF) + 1;
			if (want < len)
				len = want;
		}
		uint8_t *piece = malloc(len);
		CHECK(piece);
		memcpy(piece, in + off, len);
		size_t pos = 0;
		while (pos < len) {
			size_t used = SIZE_MAX;
			ws_event_t ev;
			int rc = ws_decode(&d, piece + pos, len - pos, &used, &ev);
			CHECK(used <= len - pos);
			if (rc < 0) {
				CHECK(rc == ERR_PROTO);
				r->failed = true;
				/* and it stays failed */
				CHECK(ws_decode(&d, piece + pos, len - pos, &used, &ev) == ERR_PROTO);
				break;
			}
			if (rc == 0) {
				CHECK(used == len - pos);
			} else {
				CHECK(rc == 1);
				CHECK(used > 0);
				if (ev.type == WS_EV_DATA) {
					CHECK(ev.data >= piece + pos);
					CHECK(ev.data + ev.len <= piece + pos + used);
					CHECK(ev.masked ==
					      (defer && server)); /* servers get masked frames only */
				}
				if (ev.type == WS_EV_DATA && ev.masked && ev.len) {
					uint8_t *plain = malloc(ev.len);
					CHECK(plain);
					ws_mask_copy(plain, ev.data, ev.len, ev.mask, ev.mask_pos);
					ev.data = plain;
					note_event(r, &ev);
					free(plain);
				} else {
					note_event(r, &ev);
				}
			}
			pos += used;
		}
		free(piece);
		off += len;
	}
}

static void check_same(const report_t *a, const report_t *b)
{
	CHECK(a->failed == b->failed);
	CHECK(a->data_len == b->data_len);
	CHECK(a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
	CHECK(a->nrecs == b->nrecs);
	for (size_t i = 0; i < a->nrecs; i++) {
		const record_t *x = &a->recs[i], *y = &b->recs[i];
		CHECK(x->type == y->type && x->code == y->code && x->len == y->len &&
		      x->data_before == y->data_before);
		CHECK(memcmp(x->payload, y->payload, x->len) == 0);
	}
}

/* A frame built from the input must come back as it went in. */
static void check_roundtrip(const uint8_t *in, size_t n)
{
	uint8_t mask[4] = {0};
	memcpy(mask, in, n < 4 ? n : 4);
	uint8_t *frame = malloc(n + 14);
	CHECK(frame);
	size_t h = ws_frame_header(frame, WS_OP_BINARY, true, n, mask);
	CHECK(h == (n < 126 ? 6u : n <= 0xFFFF ? 8u : 14u));
	memcpy(frame + h, in, n);
	ws_mask(frame + h, n, mask, 0);

	ws_decoder_t d;
	ws_event_t ev;
	size_t used;
	ws_decoder_init(&d, true);
	CHECK(ws_decode(&d, frame, h + n, &used, &ev) == 1);
	CHECK(used == h + n);
	CHECK(ev.type == WS_EV_DATA && ev.msg_end && ev.len == n);
	CHECK(n == 0 || memcmp(ev.data, in, n) == 0);
	free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint32_t seed = ((uint32_t)data[0] << 8 | data[1]) + 1;
	const uint8_t *in = data + 2;
	size_t n = size - 2;

	for (int server = 0; server <= 1; server++) {
		report_t whole, split;
		decode(server, false, in, n, 0, &whole);
		decode(server, false, in, n, seed, &split);
		check_same(&whole, &split);
		report_free(&split);
		decode(server, true, in, n, seed, &split);
		check_same(&whole, &split);
		report_free(&whole);
		report_free(&split);
	}
	check_roundtrip(in, n);
	return 0;
}
