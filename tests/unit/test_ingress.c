/* test_ingress.c — the connector's hostname -> origin rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "tunnel/ingress.h"

static void test_ingress_ssh_default_port(void **st)
{
	ingress_t in = {0};
	char err[256];
	assert_int_equal(ingress_add(&in, "SSH.Site.Test.", "ssh://localhost", err, sizeof(err)), 0);
	const ingress_rule_t *r = ingress_match(&in, "ssh.site.test");
	assert_non_null(r);
	assert_string_equal(r->host, "localhost");
	assert_string_equal(r->port, "22");
	assert_string_equal(r->scheme, "ssh");
}

static void test_ingress_tcp_needs_port(void **st)
{
	ingress_t in = {0};
	char err[256];
	assert_int_equal(ingress_add(&in, "db.site.test", "tcp://10.0.0.5", err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "needs a port"));
	assert_int_equal(ingress_add(&in, "db.site.test", "tcp://10.0.0.5:5432", err, sizeof(err)), 0);
}

/* Found by fuzz_ingress: port 0 (and strtol's " 22" / "+22") were taken as
 * origin ports, and a URL longer than the parse buffer was cut silently. */
static void test_ingress_rejects_port_zero_signs_and_overlong_urls(void **st)
{
	ingress_t in = {0};
	char err[256];
	assert_int_equal(ingress_add(&in, "a.test", "tcp://10.0.0.5:0", err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "1 to 65535"));
	assert_int_equal(ingress_add(&in, "a.test", "tcp://10.0.0.5:+22", err, sizeof(err)), ERR_INVAL);
	assert_int_equal(ingress_add(&in, "a.test", "tcp://10.0.0.5: 22", err, sizeof(err)), ERR_INVAL);
	assert_int_equal(ingress_add(&in, "a.test", "tcp://10.0.0.5:65536", err, sizeof(err)), ERR_INVAL);
	char url[400] = "ssh://";
	memset(url + 6, 'a', 320);
	url[326] = '\0';
	assert_int_equal(ingress_add(&in, "a.test", url, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(in.n, 0);
	assert_int_equal(ingress_add(&in, "a.test", "tcp://10.0.0.5:65535", err, sizeof(err)), 0);
}

static void test_ingress_rejects_unknown_scheme(void **st)
{
	ingress_t in = {0};
	char err[256];
	assert_int_equal(ingress_add(&in, "a.test", "ftp://x:21", err, sizeof(err)), ERR_INVAL);
	assert_int_equal(ingress_add(&in, "a.test", "localhost:22", err, sizeof(err)), ERR_INVAL);
	assert_int_equal(ingress_add(&in, "bad host", "ssh://x", err, sizeof(err)), ERR_INVAL);
}

static void test_ingress_no_match_for_other_hosts(void **st)
{
	ingress_t in = {0};
	char err[256];
	assert_int_equal(ingress_add(&in, "ssh.site.test", "ssh://localhost:22", err, sizeof(err)), 0);
	assert_null(ingress_match(&in, "other.site.test"));
}

static void test_ingress_ipv6_origin(void **st)
{
	ingress_t in = {0};
	char err[256];
	assert_int_equal(ingress_add(&in, "v6.test", "rdp://[::1]", err, sizeof(err)), 0);
	const ingress_rule_t *r = ingress_match(&in, "v6.test");
	assert_string_equal(r->host, "::1");
	assert_string_equal(r->port, "3389");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ingress_ssh_default_port),
	    cmocka_unit_test(test_ingress_tcp_needs_port),
	    cmocka_unit_test(test_ingress_rejects_unknown_scheme),
	    cmocka_unit_test(test_ingress_rejects_port_zero_signs_and_overlong_urls),
	    cmocka_unit_test(test_ingress_no_match_for_other_hosts),
	    cmocka_unit_test(test_ingress_ipv6_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
