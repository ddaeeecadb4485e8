/* test_addr.c — host:port splitting and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"

static void test_addr_split_host_port(void **st)
{
	char h[64], p[8];
	assert_int_equal(addr_split("edge.example.com:7844", NULL, h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "edge.example.com");
	assert_string_equal(p, "7844");
}

static void test_addr_split_ipv6_brackets(void **st)
{
	char h[64], p[8];
	assert_int_equal(addr_split("[::1]:8443", NULL, h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "::1");
	assert_string_equal(p, "8443");
}

static void test_addr_split_default_port(void **st)
{
	char h[64], p[8];
	assert_int_equal(addr_split("ssh.site.test", "443", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "ssh.site.test");
	assert_string_equal(p, "443");
	assert_int_equal(addr_split("ssh.site.test", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
}

static void test_addr_split_rejects_bad_ports(void **st)
{
	char h[64], p[8];
	assert_int_equal(addr_split("a:70000", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
	assert_int_equal(addr_split("a:", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
	assert_int_equal(addr_split("a:12x", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
	assert_int_equal(addr_split(":80", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
	assert_int_equal(addr_split("[::1", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
	assert_int_equal(addr_split("", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
}

static void test_addr_split_host_too_long(void **st)
{
	char h[8], p[8];
	assert_int_equal(addr_split("averylonghostname:80", NULL, h, sizeof(h), p, sizeof(p)), ERR_INVAL);
}

static void test_addr_parse_ip_v4_v6(void **st)
{
	struct sockaddr_storage ss;
	assert_int_equal(addr_parse_ip("127.0.0.1:8443", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8443);
	assert_int_equal(addr_parse_ip("[::1]:7844", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addr_parse_ip("localhost:80", &ss), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_split_host_port),
		cmocka_unit_test(test_addr_split_ipv6_brackets),
		cmocka_unit_test(test_addr_split_default_port),
		cmocka_unit_test(test_addr_split_rejects_bad_ports),
		cmocka_unit_test(test_addr_split_host_too_long),
		cmocka_unit_test(test_addr_parse_ip_v4_v6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
