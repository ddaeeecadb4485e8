/* test_ratelimit.c — failed-credential limits per client address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/auth/ratelimit.h"

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET6;
	inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	return ss;
}

static void test_ratelimit_blocks_after_max_failures(void **st)
{
	ratelimit_t *rl = calloc(1, sizeof(*rl));
	struct sockaddr_storage a = v4("192.0.2.7");
	for (int i = 0; i < RL_MAX_FAILURES - 1; i++)
		rl_fail(rl, &a, 1000 + (uint64_t)i);
	assert_int_equal(rl_blocked_ms(rl, &a, 2000), 0);
	rl_fail(rl, &a, 2000);
	assert_true(rl_blocked_ms(rl, &a, 2000) > 0);
	/* other addresses are not affected */
	struct sockaddr_storage b = v4("192.0.2.8");
	assert_int_equal(rl_blocked_ms(rl, &b, 2000), 0);
	/* the window ends */
	assert_int_equal(rl_blocked_ms(rl, &a, 1000 + RL_WINDOW_MS), 0);
	free(rl);
}

static void test_ratelimit_v6_counts_per_64(void **st)
{
	ratelimit_t *rl = calloc(1, sizeof(*rl));
	char ip[64];
	for (int i = 0; i < RL_MAX_FAILURES; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i + 1);
		struct sockaddr_storage a = v6(ip);
		rl_fail(rl, &a, 5000);
	}
	struct sockaddr_storage other = v6("2001:db8:1:2::ffff");
	assert_true(rl_blocked_ms(rl, &other, 5000) > 0);
	struct sockaddr_storage elsewhere = v6("2001:db8:1:3::1");
	assert_int_equal(rl_blocked_ms(rl, &elsewhere, 5000), 0);
	free(rl);
}

static void test_ratelimit_v4_mapped_is_v4(void **st)
{
	ratelimit_t *rl = calloc(1, sizeof(*rl));
	struct sockaddr_storage m = v6("::ffff:198.51.100.1"), a = v4("198.51.100.1");
	for (int i = 0; i < RL_MAX_FAILURES; i++)
		rl_fail(rl, &m, 10);
	assert_true(rl_blocked_ms(rl, &a, 10) > 0);
	free(rl);
}

static void test_ratelimit_table_is_bounded(void **st)
{
	ratelimit_t *rl = calloc(1, sizeof(*rl));
	char ip[32];
	/* far more addresses than slots: no crash, no growth, recent ones tracked */
	for (int i = 0; i < RL_SLOTS * 4; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		struct sockaddr_storage a = v4(ip);
		rl_fail(rl, &a, (uint64_t)i);
	}
	struct sockaddr_storage last = v4("10.0.63.255");
	for (int i = 0; i < RL_MAX_FAILURES; i++)
		rl_fail(rl, &last, RL_SLOTS * 4);
	assert_true(rl_blocked_ms(rl, &last, RL_SLOTS * 4) > 0);
	free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratelimit_blocks_after_max_failures),
		cmocka_unit_test(test_ratelimit_v6_counts_per_64),
		cmocka_unit_test(test_ratelimit_v4_mapped_is_v4),
		cmocka_unit_test(test_ratelimit_table_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
