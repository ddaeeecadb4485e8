/* test_liveness.c — the liveness options: --heartbeat-interval,
 * --heartbeat-count, --tcp-keepalive (core/liveness.c). A bad value is
 * refused with a line naming the option and what it takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/liveness.h"

static void test_liveness_defaults(void **st)
{
	liveness_t lv;
	char err[160] = "";
	assert_int_equal(liveness_parse(LIVENESS_HB_INTERVAL, LIVENESS_HB_COUNT, LIVENESS_KEEPALIVE, &lv, err,
					sizeof(err)),
			 0);
	assert_int_equal(lv.hb_interval_ms, 5000);
	assert_int_equal(lv.hb_count, 3);
	assert_int_equal(lv.keepalive_s, 60);
	/* a dead path is noticed within ~15 s */
	assert_true(lv.hb_interval_ms * lv.hb_count <= 15000);
}

static void test_liveness_values(void **st)
{
	liveness_t lv;
	char err[160];
	assert_int_equal(liveness_parse("2s", "4", "0", &lv, err, sizeof(err)), 0);
	assert_int_equal(lv.hb_interval_ms, 2000);
	assert_int_equal(lv.hb_count, 4);
	assert_int_equal(lv.keepalive_s, 0); /* off */
	assert_int_equal(liveness_parse("1m", "2", "2m", &lv, err, sizeof(err)), 0);
	assert_int_equal(lv.hb_interval_ms, 60000);
	assert_int_equal(lv.keepalive_s, 120);
}

static void refused(const char *iv, const char *n, const char *ka, const char *says)
{
	liveness_t lv;
	char err[160] = "";
	assert_int_not_equal(liveness_parse(iv, n, ka, &lv, err, sizeof(err)), 0);
	assert_non_null(strstr(err, says));
}

static void test_liveness_refusals(void **st)
{
	refused("0s", "3", "60s", "invalid --heartbeat-interval 0s");
	refused("2h", "3", "60s", "invalid --heartbeat-interval 2h");
	refused("5x", "3", "60s", "invalid --heartbeat-interval 5x");
	/* one missed heartbeat would be dead before its answer could arrive */
	refused("5s", "1", "60s", "invalid --heartbeat-count 1: 2 to 100");
	refused("5s", "", "60s", "invalid --heartbeat-count");
	refused("5s", "3x", "60s", "invalid --heartbeat-count");
	refused("5s", "3", "1s", "invalid --tcp-keepalive 1s");
	refused("5s", "3", "-1", "invalid --tcp-keepalive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_liveness_defaults),
	    cmocka_unit_test(test_liveness_values),
	    cmocka_unit_test(test_liveness_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
