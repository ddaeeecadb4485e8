/* test_conn_chunk.c — how much a conn reads and seals at a time: a full
 * chunk, but less for a one-session conn while the process holds many
 * conns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <uv.h>

#include "core/conn.h"
#include "core/conn_int.h"
#include "core/tlsrec.h"

static const conn_cbs_t no_cbs = {0};
static uint8_t big[TLSREC_HEADER + TLSREC_BODY_MAX];

static void test_read_chunk_by_conn_count(void **state)
{
	uv_loop_t *loop = uv_default_loop();
	enum { N = CONN_MANY + 10 };
	conn_t *c[N];
	c[0] = conn_new(loop, &no_cbs, NULL);
	assert_non_null(c[0]);
	assert_int_equal(conn_read_chunk(c[0]), CONN_READ_CHUNK);
	for (int i = 1; i < N; i++)
		assert_non_null(c[i] = conn_new(loop, &no_cbs, NULL));
	assert_int_equal(conn_read_chunk(c[0]), CONN_READ_CHUNK_MANY);
	/* Sealing: one 16 KiB block of records instead of all tout holds. */
	assert_int_equal(conn_seal_chunk(c[0]), 16 * 1024 - TLSREC_OVERHEAD);
	/* TLS: ciphertext in tops up to one whole record, and always gets
	 * room to finish the largest partial record. */
	c[0]->tls = true;
	assert_int_equal(conn_read_chunk(c[0]), CONN_TLS_IN_MANY);
	assert_int_equal(buf_append(&c[0]->tin, big, 10000), 0);
	assert_int_equal(conn_read_chunk(c[0]), CONN_TLS_IN_MANY - 10000);
	assert_int_equal(buf_append(&c[0]->tin, big, TLSREC_HEADER + TLSREC_BODY_MAX - 1 - 10000), 0);
	assert_true(conn_read_chunk(c[0]) >= 1);
	assert_true(buf_used(&c[0]->tin) + conn_read_chunk(c[0]) <= CONN_TLS_IN_MANY);
	buf_reset(&c[0]->tin);
	/* Storage grown before (64 KiB) is not read into past the chunk. */
	assert_int_equal(buf_reserve(&c[0]->tin, CONN_READ_CHUNK), 0);
	assert_int_equal(conn_read_offer(c[0], &c[0]->tin, CONN_TLS_IN_MANY), CONN_TLS_IN_MANY);
	c[0]->tls = false;
	/* A carrier of many sessions (HTTP/2 sets its budget) keeps full reads. */
	conn_set_read_budget(c[1], 8 * CONN_TURN_READ);
	assert_int_equal(conn_read_chunk(c[1]), CONN_READ_CHUNK);
	assert_int_equal(conn_seal_chunk(c[1]), SIZE_MAX);
	/* ... and reads into all the space it has (fewer reads). */
	assert_int_equal(conn_read_offer(c[1], &c[0]->tin, CONN_READ_CHUNK), buf_space(&c[0]->tin));
	assert_true(buf_space(&c[0]->tin) >= CONN_READ_CHUNK);
	for (int i = 1; i < N; i++)
		conn_close(c[i]); /* never opened: freed at once */
	assert_int_equal(conn_read_chunk(c[0]), CONN_READ_CHUNK);
	assert_int_equal(conn_seal_chunk(c[0]), SIZE_MAX);
	conn_close(c[0]);
	uv_run(loop, UV_RUN_NOWAIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_chunk_by_conn_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
