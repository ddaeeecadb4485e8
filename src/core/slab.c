/* slab.c — fixed-size slots on 64 KiB chunks mapped for them alone.
 *
 * A chunk is aligned to its size, so a slot's chunk is its address with
 * the low bits cleared. Slots never handed out are taken in order (their
 * pages stay untouched until then); freed ones go on the chunk's free list.
 * An emptied chunk is unmapped, but for one spare per slab.
 *
 * Under AddressSanitizer every slot is poisoned but for the object it
 * holds, so overflows past an object and use after free (until the slot is
 * handed out again) are reported as they are for malloc's blocks. */
#include "core/slab.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
/* Its poisoning macros are no-ops when the build has no ASan. */
#include <sanitizer/asan_interface.h>
#ifdef SLAB_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/* The sanitizers' view of a chunk: LeakSanitizer scans it for pointers
 * (objects here own malloc's blocks), and a freed slot is wiped first so a
 * stale pointer in it cannot hide a leak. */
static void asan_chunk_mapped(void *k, size_t n)
{
#ifdef SLAB_ASAN
	__lsan_register_root_region(k, n);
#endif
	(void)k, (void)n;
}

static void asan_chunk_unmapping(void *k, size_t n)
{
#ifdef SLAB_ASAN
	ASAN_UNPOISON_MEMORY_REGION(k, n); /* whatever is mapped here next starts clean */
	__lsan_unregister_root_region(k, n);
#endif
	(void)k, (void)n;
}

static void asan_wipe(void *p, size_t n)
{
#ifdef SLAB_ASAN
	memset(p, 0, n);
#endif
	(void)p, (void)n;
}

#define SLAB_CHUNK ((size_t)64 * 1024)
#define SLAB_ALIGN 16

struct slab_chunk {
	slab_t *owner;		   /* checked by slab_free */
	slab_chunk_t *next, *prev; /* on owner->partial while not full */
	void *free;		   /* freed slots, linked through their first word */
	uint32_t used;		   /* slots handed out */
	uint32_t fresh;		   /* slots [fresh, cap) never handed out */
	uint32_t cap;
	uint32_t slot;
	bool listed;
};

static size_t round_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

static size_t header_size(void)
{
	return round_up(sizeof(slab_chunk_t), SLAB_ALIGN);
}

static size_t slot_size(const slab_t *s)
{
	size_t n = round_up(s->size, SLAB_ALIGN);
	return n < sizeof(void *) ? sizeof(void *) : n;
}

/* Objects too big for at least 8 a chunk are left to malloc. */
static bool slab_fits(const slab_t *s)
{
	return slot_size(s) <= (SLAB_CHUNK - header_size()) / 8;
}

static uint8_t *slot_at(slab_chunk_t *k, uint32_t i)
{
	return (uint8_t *)k + header_size() + (size_t)i * k->slot;
}

static slab_chunk_t *chunk_of(void *p)
{
	return (slab_chunk_t *)((uintptr_t)p & ~(uintptr_t)(SLAB_CHUNK - 1));
}

static void list_add(slab_t *s, slab_chunk_t *k)
{
	k->prev = NULL;
	k->next = s->partial;
	if (s->partial)
		s->partial->prev = k;
	s->partial = k;
	k->listed = true;
}

static void list_remove(slab_t *s, slab_chunk_t *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		s->partial = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->next = k->prev = NULL;
	k->listed = false;
}

/* A chunk aligned to SLAB_CHUNK: map twice the size, unmap the ends. */
static slab_chunk_t *chunk_map(slab_t *s)
{
	uint8_t *m = mmap(NULL, 2 * SLAB_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uintptr_t start = round_up((uintptr_t)m, SLAB_CHUNK);
	size_t head = start - (uintptr_t)m;
	if (head)
		munmap(m, head);
	munmap((uint8_t *)start + SLAB_CHUNK, SLAB_CHUNK - head);
	slab_chunk_t *k = (slab_chunk_t *)start;
	k->owner = s;
	k->slot = (uint32_t)slot_size(s);
	k->cap = (uint32_t)((SLAB_CHUNK - header_size()) / k->slot);
	asan_chunk_mapped(k, SLAB_CHUNK);
	ASAN_POISON_MEMORY_REGION(slot_at(k, 0), (size_t)k->cap * k->slot);
	return k; /* the rest is zero, as mapped */
}

void *slab_alloc(slab_t *s)
{
	if (!slab_fits(s))
		return calloc(1, s->size);
	slab_chunk_t *k = s->partial;
	if (!k) {
		k = s->spare ? s->spare : chunk_map(s);
		if (!k)
			return NULL;
		s->spare = NULL;
		list_add(s, k);
	}
	void *p;
	if (k->free) {
		p = k->free;
		ASAN_UNPOISON_MEMORY_REGION(p, sizeof(void *));
		memcpy(&k->free, p, sizeof(void *));
	} else {
		p = slot_at(k, k->fresh++);
	}
	ASAN_UNPOISON_MEMORY_REGION(p, s->size);
	k->used++;
	if (!k->free && k->fresh == k->cap)
		list_remove(s, k);
	s->live++;
	return memset(p, 0, s->size);
}

void slab_free(slab_t *s, void *p)
{
	if (!p)
		return;
	if (!slab_fits(s)) {
		free(p);
		return;
	}
	slab_chunk_t *k = chunk_of(p);
	if (k->owner != s)
		abort(); /* not from this slab: the heap is corrupt, as free() would say */
	asan_wipe(p, s->size);
	memcpy(p, &k->free, sizeof(void *));
	ASAN_POISON_MEMORY_REGION(p, k->slot);
	k->free = p;
	k->used--;
	s->live--;
	if (!k->listed)
		list_add(s, k);
	if (k->used > 0)
		return;
	list_remove(s, k);
	if (s->spare) {
		asan_chunk_unmapping(k, SLAB_CHUNK);
		munmap(k, SLAB_CHUNK);
		return;
	}
	/* Kept for the next burst; its slots start fresh (and poisoned). */
	k->free = NULL;
	k->fresh = 0;
	s->spare = k;
}
