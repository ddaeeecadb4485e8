/* test_addrcap.c — unauthenticated connections counted per source address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/err.h"
#include "core/addrcap.h"

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void test_addrcap_refuses_past_the_limit(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(3, 1, &ac), 0);
	struct sockaddr_storage a = v4("203.0.113.7"), b = v4("203.0.113.8");
	addrcap_entry_t *e[4] = {0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(addrcap_take(ac, SA(a), &e[i]), 0);
	assert_int_equal(addrcap_take(ac, SA(a), &e[3]), ERR_TOOBIG);
	assert_null(e[3]);
	assert_int_equal(addrcap_count(ac, SA(a)), 3); /* a refusal counts nothing */
	/* another address is not affected */
	addrcap_entry_t *eb = NULL;
	assert_int_equal(addrcap_take(ac, SA(b), &eb), 0);
	assert_int_equal(addrcap_total(ac), 4);
	/* one release makes room for exactly one */
	addrcap_release(ac, &e[0]);
	assert_int_equal(addrcap_take(ac, SA(a), &e[0]), 0);
	assert_int_equal(addrcap_take(ac, SA(a), &e[3]), ERR_TOOBIG);
	for (int i = 0; i < 3; i++)
		addrcap_release(ac, &e[i]);
	addrcap_release(ac, &eb);
	assert_int_equal(addrcap_total(ac), 0);
	addrcap_free(ac);
}

static void test_addrcap_release_twice_is_a_noop(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(2, 1, &ac), 0);
	struct sockaddr_storage a = v4("192.0.2.1");
	addrcap_entry_t *x = NULL, *y = NULL;
	assert_int_equal(addrcap_take(ac, SA(a), &x), 0);
	assert_int_equal(addrcap_take(ac, SA(a), &y), 0);
	addrcap_release(ac, &x);
	assert_null(x);
	addrcap_release(ac, &x); /* e.g. released when authenticated, again at close */
	assert_int_equal(addrcap_count(ac, SA(a)), 1);
	assert_int_equal(addrcap_total(ac), 1);
	addrcap_release(ac, &y);
	addrcap_release(ac, &y);
	assert_int_equal(addrcap_total(ac), 0);
	addrcap_free(ac);
}

static void test_addrcap_entry_freed_at_zero(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(8, 1, &ac), 0);
	struct sockaddr_storage a = v4("198.51.100.1");
	addrcap_entry_t *e[5] = {0};
	for (int i = 0; i < 5; i++)
		assert_int_equal(addrcap_take(ac, SA(a), &e[i]), 0);
	assert_int_equal(addrcap_entries(ac), 1);
	for (int i = 0; i < 4; i++)
		addrcap_release(ac, &e[i]);
	assert_int_equal(addrcap_entries(ac), 1);
	addrcap_release(ac, &e[4]);
	assert_int_equal(addrcap_entries(ac), 0);
	assert_int_equal(addrcap_count(ac, SA(a)), 0);
	addrcap_free(ac);
}

static void test_addrcap_v6_counts_per_64(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(4, 1, &ac), 0);
	char ip[64];
	addrcap_entry_t *e[4] = {0}, *x = NULL;
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:1:2:%x::%x", i * 77, i + 1);
		struct sockaddr_storage a = v6(ip);
		assert_int_equal(addrcap_take(ac, SA(a), &e[i]), 0);
	}
	struct sockaddr_storage same64 = v6("2001:db8:1:2:ffff:ffff:ffff:ffff");
	assert_int_equal(addrcap_take(ac, SA(same64), &x), ERR_TOOBIG);
	assert_int_equal(addrcap_count(ac, SA(same64)), 4);
	struct sockaddr_storage next64 = v6("2001:db8:1:3::1");
	assert_int_equal(addrcap_take(ac, SA(next64), &x), 0);
	assert_int_equal(addrcap_entries(ac), 2);
	addrcap_release(ac, &x);
	for (int i = 0; i < 4; i++)
		addrcap_release(ac, &e[i]);
	assert_int_equal(addrcap_entries(ac), 0);
	addrcap_free(ac);
}

static void test_addrcap_v4_mapped_counts_as_v4(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(2, 1, &ac), 0);
	struct sockaddr_storage a = v4("203.0.113.9"), m = v6("::ffff:203.0.113.9");
	addrcap_entry_t *x = NULL, *y = NULL, *z = NULL;
	assert_int_equal(addrcap_take(ac, SA(a), &x), 0);
	assert_int_equal(addrcap_take(ac, SA(m), &y), 0);
	assert_int_equal(addrcap_take(ac, SA(m), &z), ERR_TOOBIG);
	assert_int_equal(addrcap_entries(ac), 1);
	/* an IPv6 /64 whose first bytes spell the IPv4 address is another key */
	struct sockaddr_storage look_alike = v6("cb00:7109::1");
	assert_int_equal(addrcap_take(ac, SA(look_alike), &z), 0);
	assert_int_equal(addrcap_entries(ac), 2);
	addrcap_release(ac, &x);
	addrcap_release(ac, &y);
	addrcap_release(ac, &z);
	addrcap_free(ac);
}

static void test_addrcap_zero_limit_counts_without_a_cap(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(0, 1, &ac), 0);
	struct sockaddr_storage a = v4("192.0.2.50");
	enum { N = 10000 };
	addrcap_entry_t **e = calloc(N, sizeof(*e));
	assert_non_null(e);
	for (int i = 0; i < N; i++)
		assert_int_equal(addrcap_take(ac, SA(a), &e[i]), 0);
	assert_int_equal(addrcap_count(ac, SA(a)), N);
	for (int i = 0; i < N; i++)
		addrcap_release(ac, &e[i]);
	assert_int_equal(addrcap_total(ac), 0);
	assert_int_equal(addrcap_entries(ac), 0);
	free(e);
	addrcap_free(ac);
}

static void test_addrcap_other_families_are_not_counted(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(1, 1, &ac), 0);
	struct sockaddr_storage u;
	memset(&u, 0, sizeof(u)); /* e.g. getpeername failed: family 0 */
	addrcap_entry_t *x = (addrcap_entry_t *)&u, *y = NULL;
	assert_int_equal(addrcap_take(ac, SA(u), &x), 0);
	assert_null(x);
	u.ss_family = AF_UNIX;
	assert_int_equal(addrcap_take(ac, SA(u), &y), 0);
	assert_null(y);
	assert_int_equal(addrcap_total(ac), 0);
	addrcap_release(ac, &x);
	addrcap_free(ac);
}

/* 100,000 addresses at once: the table grows to keep chains short, and
 * shrinks back once they are gone; every entry is freed (ASan checks). */
static void test_addrcap_grows_and_shrinks(void **st)
{
	addrcap_t *ac;
	assert_int_equal(addrcap_new(1, 0x5eed, &ac), 0);
	size_t b0 = addrcap_buckets(ac);
	enum { N = 100000 };
	addrcap_entry_t **e = calloc(N, sizeof(*e));
	assert_non_null(e);
	for (int i = 0; i < N; i++) {
		struct sockaddr_storage a;
		memset(&a, 0, sizeof(a));
		a.ss_family = AF_INET;
		((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		assert_int_equal(addrcap_take(ac, SA(a), &e[i]), 0);
	}
	assert_int_equal(addrcap_entries(ac), N);
	assert_true(addrcap_buckets(ac) >= N);
	assert_true(addrcap_buckets(ac) <= 2 * (size_t)N);
	/* still found after the resizes */
	struct sockaddr_storage some = v4("10.0.48.57");
	assert_int_equal(addrcap_count(ac, SA(some)), 1);
	for (int i = 0; i < N; i++)
		addrcap_release(ac, &e[i]);
	assert_int_equal(addrcap_entries(ac), 0);
	assert_int_equal(addrcap_buckets(ac), b0);
	free(e);
	addrcap_free(ac);
}

static void test_addrcap_free_with_live_counts(void **st)
{
	/* edge shutdown: connections still open, the table goes with the process */
	addrcap_t *ac;
	assert_int_equal(addrcap_new(5, 1, &ac), 0);
	addrcap_entry_t *x = NULL;
	for (int i = 0; i < 300; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "192.0.2.%d", i % 250);
		struct sockaddr_storage a = v4(ip);
		assert_int_equal(addrcap_take(ac, SA(a), &x), 0);
	}
	assert_int_equal(addrcap_total(ac), 300);
	addrcap_free(ac);
	addrcap_free(NULL);
}

static void test_addrcap_format_names_the_counted_unit(void **st)
{
	char out[64];
	struct sockaddr_storage a = v4("203.0.113.7");
	addrcap_format(SA(a), out, sizeof(out));
	assert_string_equal(out, "203.0.113.7");
	a = v6("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	addrcap_format(SA(a), out, sizeof(out));
	assert_string_equal(out, "2001:db8:1:2::/64");
	a = v6("::ffff:198.51.100.4");
	addrcap_format(SA(a), out, sizeof(out));
	assert_string_equal(out, "198.51.100.4");
	memset(&a, 0, sizeof(a));
	addrcap_format(SA(a), out, sizeof(out));
	assert_string_equal(out, "an unknown address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addrcap_refuses_past_the_limit),
	    cmocka_unit_test(test_addrcap_release_twice_is_a_noop),
	    cmocka_unit_test(test_addrcap_entry_freed_at_zero),
	    cmocka_unit_test(test_addrcap_v6_counts_per_64),
	    cmocka_unit_test(test_addrcap_v4_mapped_counts_as_v4),
	    cmocka_unit_test(test_addrcap_zero_limit_counts_without_a_cap),
	    cmocka_unit_test(test_addrcap_other_families_are_not_counted),
	    cmocka_unit_test(test_addrcap_grows_and_shrinks),
	    cmocka_unit_test(test_addrcap_free_with_live_counts),
	    cmocka_unit_test(test_addrcap_format_names_the_counted_unit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
