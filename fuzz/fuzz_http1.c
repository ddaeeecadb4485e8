/* fuzz_http1.c — libFuzzer target for the HTTP/1.1 parser (core/http1.c).
 *
 * Input: a flags byte (bit 0: response parser; bits 1-2 pick max_body; bit 3:
 * a request parser in head-first mode, as the edge's front door runs it — the
 * head of a message with a body comes back first, then the bound is set), two
 * bytes that seed how the stream is split, then the stream. The stream is
 * parsed as a connection: each complete message is checked and recorded,
 * the parser reset and fed the rest, until an error, an upgrade or the end
 * (then EOF is signalled). It is parsed whole and in pieces of pseudo-random
 * sizes, each piece in an exactly sized heap buffer that is wiped after the
 * call; both runs must agree on every message. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/http1.h"

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			__builtin_trap();                                                                    \
	} while (0)

/* Messages are summarised by a running FNV-1a hash of everything a caller
 * can see, plus where each one ended in the stream. */
typedef struct outcome {
	uint64_t hash;
	size_t nmsgs;
	size_t end; /* stream offset after the last message */
	bool failed;
	bool upgraded;
} outcome_t;

static void mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 1099511628211ULL;
	}
}

static void mix_int(uint64_t *h, long long v)
{
	mix(h, &v, sizeof(v));
}

static bool inside(const http1_parser_t *p, const char *s, size_t len)
{
	const char *base = (const char *)p->store.data;
	return s >= base && s + len < base + p->store.len;
}

static void check_message(const http1_parser_t *p, size_t max_body, outcome_t *o)
{
	CHECK(p->url != NULL);
	CHECK(inside(p, p->url, p->url_len) && strlen(p->url) == p->url_len);
	CHECK(p->nheaders <= HTTP1_MAX_HEADERS);
	CHECK(buf_used(&p->body) <= max_body);
	CHECK(!(p->upgrade && buf_used(&p->body))); /* the head ends an upgrade */
	mix_int(&o->hash, p->is_request ? p->method : p->status);
	mix(&o->hash, p->url, p->url_len + 1);
	for (size_t i = 0; i < p->nheaders; i++) {
		const http1_header_t *h = &p->headers[i];
		CHECK(inside(p, h->name, h->name_len) && strlen(h->name) == h->name_len);
		CHECK(inside(p, h->value, h->value_len) && strlen(h->value) == h->value_len);
		CHECK(h->name_len > 0);
		CHECK(http1_header(p, h->name) != NULL);
		CHECK(http1_header_count(p, h->name) >= 1);
		mix(&o->hash, h->name, h->name_len + 1);
		mix(&o->hash, h->value, h->value_len + 1);
	}
	CHECK(http1_header_count(p, "Content-Length") <= 1);
	CHECK(http1_header_count(p, "Host") <= 1);
	CHECK(!(http1_header(p, "Content-Length") && http1_header(p, "Transfer-Encoding")));
	mix(&o->hash, buf_head(&p->body), buf_used(&p->body));
	mix_int(&o->hash, p->upgrade);
	mix_int(&o->hash, p->keep_alive);
	char path[64];
	int r = http1_path(p, path, sizeof(path));
	CHECK(r == 0 || r == ERR_TOOBIG);
	CHECK(r != 0 || strlen(path) <= p->url_len);
	(void)http1_header_has_token(p, "Connection", "upgrade");
	o->nmsgs++;
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Parses in[0..n) as one connection; seed 0 feeds it in one piece. */
static void parse(bool request, bool head_first, size_t max_body, const uint8_t *in, size_t n, uint32_t seed,
		  outcome_t *o)
{
	http1_parser_t p;
	if (head_first)
		http1_init_head_first(&p);
	else
		http1_init(&p, request, max_body);
	memset(o, 0, sizeof(*o));
	o->hash = 14695981039346656037ULL;

	size_t off = 0;
	while (off < n && !o->failed && !o->upgraded) {
		size_t len = n - off;
		if (seed) {
			uint32_t x = next_rand(&seed);
			size_t want = (x & 0x300) ? (x & 0x1F) + 1 : (x & 0xFFF) + 1;
			if (want < len)
				len = want;
		}
		uint8_t *piece = malloc(len);
		CHECK(piece);
		memcpy(piece, in + off, len);
		size_t pos = 0;
		while (pos < len) {
			size_t used = SIZE_MAX;
			int r = http1_feed(&p, piece + pos, len - pos, &used);
			CHECK(used <= len - pos);
			pos += used;
			if (r < 0) {
				CHECK(r == ERR_PROTO || r == ERR_TOOBIG);
				o->failed = true;
				break;
			}
			if (r == HTTP1_MORE) {
				CHECK(pos == len);
				break;
			}
			if (r == HTTP1_HEAD) {
				/* only in head-first mode, and before any body byte */
				CHECK(head_first && buf_used(&p.body) == 0);
				mix_int(&o->hash, -2);
				if (http1_set_max_body(&p, max_body) != 0) {
					o->failed = true; /* (the edge answers 413) */
					break;
				}
				continue;
			}
			CHECK(r == HTTP1_DONE);
			check_message(&p, max_body, o);
			o->end = off + pos;
			if (p.upgrade) {
				o->upgraded = true;
				break;
			}
			http1_reset(&p);
		}
		memset(piece, 0xA5, len);
		free(piece);
		off += len;
	}
	if (!o->failed && !o->upgraded) {
		int r = http1_feed_eof(&p);
		if (r == HTTP1_DONE) {
			check_message(&p, max_body, o);
			o->end = n;
		} else if (r < 0) {
			CHECK(r == ERR_PROTO || r == ERR_TOOBIG);
			o->failed = true;
		} else {
			CHECK(r == HTTP1_MORE);
		}
	}
	http1_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_bodies[] = {0, 16, 1024, 1 << 20};
	if (size < 3)
		return 0;
	bool request = !(data[0] & 1);
	bool head_first = request && (data[0] & 8);
	size_t max_body = max_bodies[(data[0] >> 1) & 3];
	uint32_t seed = ((uint32_t)data[1] << 8 | data[2]) + 1;

	outcome_t whole, split;
	parse(request, head_first, max_body, data + 3, size - 3, 0, &whole);
	parse(request, head_first, max_body, data + 3, size - 3, seed, &split);
	/* Error codes may differ (which bound or check trips first can depend
	 * on where a piece ends), but never whether the stream is acceptable
	 * or what it carried. */
	CHECK(whole.failed == split.failed);
	CHECK(whole.upgraded == split.upgraded);
	CHECK(whole.nmsgs == split.nmsgs);
	CHECK(whole.end == split.end);
	CHECK(whole.hash == split.hash);
	return 0;
}
