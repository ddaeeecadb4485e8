/* test_conn_chunk.c — how much a conn reads at a time: a full chunk, but
 * less for a one-session conn while the process holds many conns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <uv.h>

#include "core/conn.h"
#include "core/conn_int.h"

static const conn_cbs_t no_cbs = {0};

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
	/* A carrier of many sessions (HTTP/2 sets its budget) keeps full reads. */
	conn_set_read_budget(c[1], 8 * CONN_TURN_READ);
	assert_int_equal(conn_read_chunk(c[1]), CONN_READ_CHUNK);
	for (int i = 1; i < N; i++)
		conn_close(c[i]); /* never opened: freed at once */
	assert_int_equal(conn_read_chunk(c[0]), CONN_READ_CHUNK);
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
