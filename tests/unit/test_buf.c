/* test_buf.c — bounded buffers and views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

static void test_buf_append_respects_cap(void **st)
{
	buf_t b;
	buf_init(&b, 1000);
	uint8_t x[600] = {0};
	assert_int_equal(buf_append(&b, x, 600), 0);
	assert_int_equal(buf_append(&b, x, 600), ERR_TOOBIG);
	assert_int_equal(buf_used(&b), 600);
	buf_consume(&b, 500);
	assert_int_equal(buf_append(&b, x, 600), 0); /* compaction makes room */
	assert_int_equal(buf_used(&b), 700);
	assert_true(b.cap <= 1000);
	buf_free(&b);
}

/* A backlog that slides through the buffer (a slow reader: appends and
 * consumes at the same pace) stays in the block it has: no doubling, so no
 * new pages touched as the bytes move. Byte order is kept across moves. */
static void test_buf_sliding_backlog_keeps_its_block(void **st)
{
	buf_t b;
	buf_init(&b, 1 << 20);
	uint8_t chunk[1024];
	unsigned next_in = 0, next_out = 0;
	for (int i = 0; i < 40; i++) {
		for (size_t k = 0; k < sizeof(chunk); k++)
			chunk[k] = (uint8_t)(next_in++ * 7);
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	}
	size_t cap = b.cap; /* 64 KiB for a 40 KiB backlog */
	assert_int_equal(cap, 64 * 1024);
	for (int i = 0; i < 2000; i++) {
		for (size_t k = 0; k < sizeof(chunk); k++)
			chunk[k] = (uint8_t)(next_in++ * 7);
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
		for (size_t k = 0; k < sizeof(chunk); k++)
			assert_int_equal(buf_head(&b)[k], (uint8_t)(next_out++ * 7));
		buf_consume(&b, sizeof(chunk));
		assert_int_equal(buf_used(&b), 40 * 1024);
	}
	assert_int_equal(b.cap, cap);
	buf_free(&b);
}

static void test_buf_consume_all_resets(void **st)
{
	buf_t b;
	buf_init(&b, 64);
	buf_append_str(&b, "hello");
	buf_consume(&b, 99);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(b.off, 0);
	buf_free(&b);
}

static void test_buf_printf(void **st)
{
	buf_t b;
	buf_init(&b, 16);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_int_equal(buf_used(&b), 4);
	assert_memory_equal(buf_head(&b), "42-x", 4);
	assert_int_equal(buf_printf(&b, "%s", "0123456789abcdef"), ERR_TOOBIG);
	buf_free(&b);
}

/* Regression (fuzz_http1): NULL + 0 on a never-grown buffer is undefined behaviour. */
static void test_buf_empty_head_is_null(void **st)
{
	buf_t b;
	buf_init(&b, 64);
	assert_null(buf_head(&b));
	assert_null(buf_tail(&b));
	assert_int_equal(buf_used(&b), 0);
	buf_free(&b);
}

static void test_view_getters_never_overread(void **st)
{
	const uint8_t d[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	view_t v = view_make(d, sizeof(d));
	uint8_t a;
	uint16_t b;
	uint32_t c;
	uint64_t e;
	assert_int_equal(view_get_u8(&v, &a), 0);
	assert_int_equal(a, 1);
	assert_int_equal(view_get_u16be(&v, &b), 0);
	assert_int_equal(b, 0x0203);
	assert_int_equal(view_get_u64be(&v, &e), ERR_PROTO);
	assert_int_equal(view_get_u32be(&v, &c), 0);
	assert_int_equal(c, 0x04050607);
	assert_int_equal(view_get_u32be(&v, &c), ERR_PROTO);
	assert_int_equal(v.len, 2);
}

/* h2 writes a 9-byte frame header in front of a stream's data in place. */
static void test_buf_headroom(void **st)
{
	buf_t b;
	buf_init(&b, 64);
	assert_int_equal(buf_headroom(&b, 9), 0);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_append(&b, "payload", 7), 0);
	assert_true(b.off >= 9);
	memcpy(buf_head(&b) - 9, "HEADER-9:", 9);
	assert_memory_equal(buf_head(&b) - 9, "HEADER-9:payload", 16);
	assert_int_equal(buf_headroom(&b, 9), ERR_INVAL); /* not empty */
	buf_consume(&b, 7);
	assert_int_equal(buf_headroom(&b, 64), ERR_TOOBIG); /* past the cap */
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_append_respects_cap),
		cmocka_unit_test(test_buf_consume_all_resets),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_buf_sliding_backlog_keeps_its_block),
		cmocka_unit_test(test_buf_empty_head_is_null),
		cmocka_unit_test(test_view_getters_never_overread),
		cmocka_unit_test(test_buf_headroom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
