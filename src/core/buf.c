/* buf.c — bounded byte buffers. */
#include "core/buf.h"

#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void buf_init(buf_t *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void buf_free(buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

void buf_free_secret(buf_t *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

void buf_reset(buf_t *b) { b->off = b->len = 0; }

/* By buf_compact, in this process; worker threads compact too. */
static _Atomic size_t moved;

size_t buf_moved(void)
{
	return atomic_load_explicit(&moved, memory_order_relaxed);
}

void buf_compact(buf_t *b)
{
	if (b->off == 0)
		return;
	size_t used = buf_used(b);
	if (used)
		memmove(b->data, b->data + b->off, used);
	atomic_fetch_add_explicit(&moved, used, memory_order_relaxed);
	b->off = 0;
	b->len = used;
}

int buf_reserve(buf_t *b, size_t n)
{
	if (buf_space(b) >= n)
		return 0;
	size_t used = buf_used(b);
	if (n > b->max || used > b->max - n)
		return ERR_TOOBIG;
	/* Compact instead of growing while the live bytes and n fill at most
	 * three quarters of the block: the next move is then at least a
	 * quarter block of appends away, so a byte is moved at most three
	 * times on average. A backlog that only slides through the buffer (a
	 * reader slower than its writer) then stays in pages already touched,
	 * rather than doubling the block and touching new ones as it moves. */
	if (b->off && b->cap - used >= n && (b->off >= used || used + n <= b->cap - b->cap / 4 || b->cap >= b->max)) {
		buf_compact(b);
		return 0;
	}
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < b->off + used + n && ncap < b->max)
		ncap *= 2;
	if (ncap > b->max)
		ncap = b->max;
	if (b->off + used + n > ncap) {
		/* Even the largest allowed block needs the consumed prefix back. */
		buf_compact(b);
		if (used + n > ncap)
			return ERR_TOOBIG;
	}
	if (ncap != b->cap) {
		uint8_t *p = realloc(b->data, ncap);
		if (!p)
			return ERR_NOMEM;
		b->data = p;
		b->cap = ncap;
	}
	return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);
	if (r)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_append_str(buf_t *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_INVAL;
	int r = buf_reserve(b, (size_t)n + 1);
	if (r)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)buf_tail(b), (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void buf_consume(buf_t *b, size_t n)
{
	if (n >= buf_used(b)) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
}

int buf_headroom(buf_t *b, size_t n)
{
	if (buf_used(b) != 0)
		return ERR_INVAL;
	b->off = b->len = 0;
	int r = buf_reserve(b, n + 1);
	if (r)
		return r;
	b->off = b->len = n;
	return 0;
}

int view_get_bytes(view_t *v, size_t n, view_t *out)
{
	if (v->len < n)
		return ERR_PROTO;
	out->p = v->p;
	out->len = n;
	v->p += n;
	v->len -= n;
	return 0;
}

int view_get_u8(view_t *v, uint8_t *out)
{
	if (v->len < 1)
		return ERR_PROTO;
	*out = v->p[0];
	v->p++;
	v->len--;
	return 0;
}

int view_get_u16be(view_t *v, uint16_t *out)
{
	if (v->len < 2)
		return ERR_PROTO;
	*out = (uint16_t)((v->p[0] << 8) | v->p[1]);
	v->p += 2;
	v->len -= 2;
	return 0;
}

int view_get_u32be(view_t *v, uint32_t *out)
{
	if (v->len < 4)
		return ERR_PROTO;
	*out = ((uint32_t)v->p[0] << 24) | ((uint32_t)v->p[1] << 16) | ((uint32_t)v->p[2] << 8) | v->p[3];
	v->p += 4;
	v->len -= 4;
	return 0;
}

int view_get_u64be(view_t *v, uint64_t *out)
{
	uint32_t hi, lo;
	if (v->len < 8)
		return ERR_PROTO;
	view_get_u32be(v, &hi);
	view_get_u32be(v, &lo);
	*out = ((uint64_t)hi << 32) | lo;
	return 0;
}

