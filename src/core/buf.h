/* buf.h — the one byte buffer type, and bounds-checked views.
 *
 * A buf_t owns a heap region data[0..cap); the unread bytes are
 * data[off..len). Every buffer has a hard cap (max): growing past it fails
 * with ERR_TOOBIG instead of allocating, so no peer can make us grow without
 * bound. Views are borrowed {ptr,len} slices; they never own memory. */
#ifndef BURROW_BUF_H
#define BURROW_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
	uint8_t *data;
	size_t off; /* first unread byte */
	size_t len; /* one past the last byte written */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on cap */
} buf_t;

typedef struct view {
	const uint8_t *p;
	size_t len;
} view_t;

void buf_init(buf_t *b, size_t max);
/* Frees the storage; wipes it first when it may hold secrets. */
void buf_free(buf_t *b);
void buf_free_secret(buf_t *b);

static inline size_t buf_used(const buf_t *b) { return b->len - b->off; }
/* An empty, never-grown buffer has no storage: NULL (not NULL + 0, which
 * is undefined behaviour). */
static inline uint8_t *buf_head(const buf_t *b) { return b->data ? b->data + b->off : NULL; }
static inline uint8_t *buf_tail(const buf_t *b) { return b->data ? b->data + b->len : NULL; }
static inline size_t buf_space(const buf_t *b) { return b->cap - b->len; }
/* Bytes that could still be appended before hitting the cap. */
static inline size_t buf_room(const buf_t *b) { return b->max - buf_used(b); }

/* Ensures n writable bytes at the tail (compacting or growing up to max). */
int buf_reserve(buf_t *b, size_t n);
/* Marks n bytes at the tail as written (after buf_reserve). */
static inline void buf_commit(buf_t *b, size_t n) { b->len += n; }
int buf_append(buf_t *b, const void *p, size_t n);
int buf_append_str(buf_t *b, const char *s);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops n unread bytes from the head (n <= buf_used). */
void buf_consume(buf_t *b, size_t n);
/* For an empty b: allocate and start it n bytes in, so a header of up to n
 * bytes can later be written in front of its head (buf_head(b) - n) without
 * a copy. Nonzero (and b unchanged) when b is not empty or cannot grow. */
int buf_headroom(buf_t *b, size_t n);
void buf_reset(buf_t *b);
/* Moves unread bytes to the start of the storage. */
void buf_compact(buf_t *b);
/* Bytes buf_compact has moved in this process (tests hold hot paths to
 * their copy budget with it). */
size_t buf_moved(void);

static inline view_t view_make(const void *p, size_t len)
{
	view_t v = {(const uint8_t *)p, len};
	return v;
}
/* Bounds-checked consumers: 0 or ERR_PROTO when v has too few bytes. */
int view_get_u8(view_t *v, uint8_t *out);
int view_get_u16be(view_t *v, uint16_t *out);
int view_get_u32be(view_t *v, uint32_t *out);
int view_get_u64be(view_t *v, uint64_t *out);
int view_get_bytes(view_t *v, size_t n, view_t *out);

#endif
