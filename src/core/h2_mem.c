/* h2_mem.c — nghttp2's memory: small blocks on slabs by size class.
 *
 * nghttp2 keeps a stream (about 220 bytes) and its pending DATA item
 * (about 150) for as long as each stream lives. From malloc they land among
 * the TLS handshakes' short-lived allocations and each keeps a page of the
 * heap resident once those are freed; on slabs they pack (core/slab.h).
 * nghttp2's free() gives no size, so each block carries a 16-byte header
 * with its class and requested size. */
#include "core/h2_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/slab.h"

#define HDR 16 /* keeps the block 16-byte aligned, as malloc's */
#define CLASS_STEP 64
#define CLASSES 8 /* blocks up to 512 bytes with their header */
#define FROM_MALLOC UINT32_MAX

typedef struct hdr {
	uint32_t cls;
	uint32_t pad;
	size_t size; /* asked for */
} hdr_t;

_Static_assert(sizeof(hdr_t) == HDR, "the header keeps blocks aligned");

static slab_t classes[CLASSES];

static void *mem_malloc(size_t size, void *ud)
{
	(void)ud;
	if (size > SIZE_MAX - HDR)
		return NULL;
	size_t need = size + HDR;
	hdr_t *h;
	uint32_t cls = FROM_MALLOC;
	if (need <= (size_t)CLASS_STEP * CLASSES) {
		cls = (uint32_t)((need + CLASS_STEP - 1) / CLASS_STEP - 1);
		if (!classes[cls].size)
			classes[cls].size = (size_t)CLASS_STEP * (cls + 1);
		h = slab_alloc(&classes[cls]);
	} else {
		h = malloc(need);
	}
	if (!h)
		return NULL;
	h->cls = cls;
	h->size = size;
	return (uint8_t *)h + HDR;
}

static hdr_t *hdr_of(void *p)
{
	return (hdr_t *)((uint8_t *)p - HDR);
}

static void mem_free(void *p, void *ud)
{
	(void)ud;
	if (!p)
		return;
	hdr_t *h = hdr_of(p);
	if (h->cls == FROM_MALLOC)
		free(h);
	else
		slab_free(&classes[h->cls], h);
}

static void *mem_calloc(size_t n, size_t size, void *ud)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = mem_malloc(n * size, ud);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void *mem_realloc(void *p, size_t size, void *ud)
{
	if (!p)
		return mem_malloc(size, ud);
	hdr_t *h = hdr_of(p);
	if (h->cls != FROM_MALLOC && size <= classes[h->cls].size - HDR) {
		h->size = size; /* still fits its slot */
		return p;
	}
	if (h->cls == FROM_MALLOC && size <= SIZE_MAX - HDR && size + HDR > (size_t)CLASS_STEP * CLASSES) {
		hdr_t *n = realloc(h, size + HDR); /* malloc's to malloc's: maybe in place */
		if (!n)
			return NULL;
		n->size = size;
		return (uint8_t *)n + HDR;
	}
	void *q = mem_malloc(size, ud);
	if (!q)
		return NULL;
	memcpy(q, p, h->size < size ? h->size : size);
	mem_free(p, ud);
	return q;
}

static nghttp2_mem mem = {
    .malloc = mem_malloc,
    .free = mem_free,
    .calloc = mem_calloc,
    .realloc = mem_realloc,
};

nghttp2_mem *h2_mem(void)
{
	return &mem;
}
