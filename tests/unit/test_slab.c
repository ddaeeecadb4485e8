/* test_slab.c — slabs of fixed-size objects, and nghttp2's allocator on
 * them (core/h2_mem.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/h2_mem.h"
#include "core/slab.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define OBJ 1304 /* a conn's size, give or take */
#define CHUNK ((uintptr_t)64 * 1024)

typedef struct obj {
	uint32_t id;
	uint8_t fill[OBJ - 4];
} obj_t;

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void stamp(obj_t *o, uint32_t id)
{
	o->id = id;
	memset(o->fill, (int)(id & 0xff), sizeof(o->fill));
}

static void check(const obj_t *o, uint32_t id)
{
	assert_int_equal(o->id, id);
	for (size_t i = 0; i < sizeof(o->fill); i++)
		if (o->fill[i] != (uint8_t)id)
			fail_msg("object %u overwritten at byte %zu", id, i);
}

/* Whether the 64 KiB chunk holding p is mapped (mincore fails with ENOMEM
 * on an unmapped range). */
static bool chunk_mapped(const void *p)
{
	unsigned char vec[CHUNK / 4096 + 1];
	void *base = (void *)((uintptr_t)p & ~(CHUNK - 1));
	return mincore(base, CHUNK, vec) == 0 || errno != ENOMEM;
}

/* Objects are zeroed, aligned, distinct (no two overlap) across many
 * chunks, and all come back. */
static void test_slab_objects_distinct_zeroed(void **state)
{
	slab_t s = {.size = sizeof(obj_t)};
	enum { N = 500 }; /* about ten chunks */
	obj_t *o[N];
	for (uint32_t i = 0; i < N; i++) {
		o[i] = slab_alloc(&s);
		assert_non_null(o[i]);
		assert_int_equal((uintptr_t)o[i] % 16, 0);
		assert_true(all_zero(o[i], sizeof(obj_t)));
		stamp(o[i], i);
	}
	assert_int_equal(s.live, N);
	for (uint32_t i = 0; i < N; i++)
		check(o[i], i);
	for (uint32_t i = 0; i < N; i += 2)
		slab_free(&s, o[i]);
	for (uint32_t i = 0; i < N; i += 2) {
		o[i] = slab_alloc(&s); /* reuses the freed slots, zeroed again */
		assert_true(all_zero(o[i], sizeof(obj_t)));
		stamp(o[i], i);
	}
	for (uint32_t i = 0; i < N; i++)
		check(o[i], i);
	for (uint32_t i = 0; i < N; i++)
		slab_free(&s, o[i]);
	assert_int_equal(s.live, 0);
	slab_free(&s, NULL);
}

/* Emptied chunks are unmapped, all but one spare, which the next
 * allocation takes. */
static void test_slab_gives_chunks_back(void **state)
{
	slab_t s = {.size = sizeof(obj_t)};
	enum { N = 300 };
	obj_t *o[N];
	for (int i = 0; i < N; i++)
		assert_non_null(o[i] = slab_alloc(&s));
	void *first = o[0], *last = o[N - 1];
	assert_true(((uintptr_t)first & ~(CHUNK - 1)) != ((uintptr_t)last & ~(CHUNK - 1)));
	for (int i = 0; i < N; i++)
		slab_free(&s, o[i]);
	int mapped = 0;
	for (int i = 0; i < N; i++)
		if (i == 0 || ((uintptr_t)o[i] & ~(CHUNK - 1)) != ((uintptr_t)o[i - 1] & ~(CHUNK - 1)))
			mapped += chunk_mapped(o[i]);
	assert_int_equal(mapped, 1); /* the spare */
	assert_non_null(s.spare);
	void *again = slab_alloc(&s);
	assert_ptr_equal((uintptr_t)again & ~(CHUNK - 1), (uintptr_t)s.partial);
	assert_null(s.spare);
	slab_free(&s, again);
}

/* Random churn with contents checked: what a busy edge does. */
static void test_slab_churn(void **state)
{
	slab_t s = {.size = 200};
	enum { N = 2000 };
	uint8_t *o[N] = {0};
	srand(7);
	for (int step = 0; step < 100000; step++) {
		int i = rand() % N;
		if (o[i]) {
			for (int k = 0; k < 200; k++)
				assert_int_equal(o[i][k], (uint8_t)i);
			slab_free(&s, o[i]);
			o[i] = NULL;
		} else {
			assert_non_null(o[i] = slab_alloc(&s));
			assert_true(all_zero(o[i], 200));
			memset(o[i], (uint8_t)i, 200);
		}
	}
	for (int i = 0; i < N; i++)
		slab_free(&s, o[i]);
	assert_int_equal(s.live, 0);
}

/* Too big for 8 a chunk: malloc's, transparently. */
static void test_slab_big_objects_from_malloc(void **state)
{
	slab_t s = {.size = 20000};
	uint8_t *p = slab_alloc(&s);
	assert_non_null(p);
	assert_true(all_zero(p, 20000));
	memset(p, 1, 20000);
	slab_free(&s, p);
}

/* Under ASan a slot is poisoned but for its object, and all of it once
 * freed: overflows and use after free are reported as for malloc's. */
static void test_slab_poisons_what_is_not_an_object(void **state)
{
#ifdef TEST_ASAN
	slab_t s = {.size = 100};
	uint8_t *p = slab_alloc(&s), *q = slab_alloc(&s);
	assert_false(__asan_address_is_poisoned(p));
	assert_false(__asan_address_is_poisoned(p + 99));
	assert_true(__asan_address_is_poisoned(p + 100)); /* the slot's padding */
	assert_true(__asan_address_is_poisoned(q + 200)); /* never handed out */
	slab_free(&s, p);
	assert_true(__asan_address_is_poisoned(p));
	assert_true(__asan_address_is_poisoned(p + 50));
	assert_false(__asan_address_is_poisoned(q + 50));
	p = slab_alloc(&s);
	assert_false(__asan_address_is_poisoned(p + 50));
	slab_free(&s, p);
	slab_free(&s, q);
#else
	skip();
#endif
}

/* nghttp2's allocator: every size keeps its bytes through realloc, from a
 * slab class to a bigger one and out to malloc and back. */
static void test_h2_mem(void **state)
{
	nghttp2_mem *m = h2_mem();
	uint8_t *p = m->malloc(10, NULL);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	memcpy(p, "0123456789", 10);
	size_t sizes[] = {40, 48, 100, 496, 497, 5000, 300, 7};
	size_t have = 10;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = m->realloc(p, sizes[i], NULL);
		assert_non_null(p);
		size_t keep = have < sizes[i] ? have : sizes[i];
		for (size_t k = 0; k < keep; k++)
			assert_int_equal(p[k], k < 10 ? (uint8_t)('0' + k) : (uint8_t)k);
		for (size_t k = 10; k < sizes[i]; k++)
			p[k] = (uint8_t)k;
		have = sizes[i];
	}
	m->free(p, NULL);
	m->free(NULL, NULL);

	uint8_t *z = m->calloc(30, 20, NULL); /* 600: from malloc */
	assert_non_null(z);
	assert_true(all_zero(z, 600));
	m->free(z, NULL);
	z = m->calloc(3, 20, NULL);
	assert_true(all_zero(z, 60));
	m->free(z, NULL);
	assert_null(m->calloc(SIZE_MAX / 2, 3, NULL));
	assert_null(m->malloc(SIZE_MAX - 4, NULL));
	assert_null(m->realloc(NULL, SIZE_MAX - 4, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slab_objects_distinct_zeroed),
	    cmocka_unit_test(test_slab_gives_chunks_back),
	    cmocka_unit_test(test_slab_churn),
	    cmocka_unit_test(test_slab_big_objects_from_malloc),
	    cmocka_unit_test(test_slab_poisons_what_is_not_an_object),
	    cmocka_unit_test(test_h2_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
