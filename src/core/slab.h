/* slab.h — long-lived objects of one size, packed on pages of their own.
 *
 * A session's few small structs (its conn, request, relay, stream, record
 * keys) live as long as the session. From malloc they land between the
 * short-lived allocations of concurrent TLS handshakes, and after those are
 * freed each session keeps a page or so of the heap resident for a few
 * hundred bytes in use. A slab hands out slots from 64 KiB chunks that hold
 * nothing else, so idle sessions cost what their structs weigh.
 *
 * One slab_t per type, zero-initialised but for the size:
 *	static slab_t conns = {.size = sizeof(conn_t)};
 * Not thread-safe: each slab belongs to one event loop's thread. */
#ifndef BURROW_SLAB_H
#define BURROW_SLAB_H

#include <stddef.h>

typedef struct slab_chunk slab_chunk_t;

typedef struct slab {
	size_t size;	       /* of the objects; set by the owner */
	slab_chunk_t *partial; /* chunks with a free slot */
	slab_chunk_t *spare;   /* one empty chunk, kept against map/unmap churn */
	size_t live;	       /* objects handed out */
} slab_t;

/* A zeroed object of s->size bytes, or NULL when out of memory. */
void *slab_alloc(slab_t *s);
/* Gives p (from slab_alloc(s), or NULL) back. */
void slab_free(slab_t *s, void *p);

#endif
