/* test_hostname.c — hostname_normalize accepts LDH names in one canonical
 * spelling and refuses everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/hostname.h"

static int norm(const char *in, char out[HOSTNAME_MAX + 1])
{
	return hostname_normalize(in, strlen(in), out);
}

static void assert_refused(const char *in)
{
	char out[HOSTNAME_MAX + 1];
	if (norm(in, out) != ERR_INVAL)
		fail_msg("accepted \"%s\"", in);
	assert_string_equal(out, "");
}

static void test_hostname_lowercases_and_drops_trailing_dot(void **state)
{
	char out[HOSTNAME_MAX + 1];
	assert_int_equal(norm("SSH.Site.TEST.", out), 0);
	assert_string_equal(out, "ssh.site.test");
	assert_int_equal(norm("a", out), 0);
	assert_string_equal(out, "a");
	assert_int_equal(norm("xn--bcher-kva.example", out), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(norm("a-b.c0", out), 0);
	assert_string_equal(out, "a-b.c0");
}

static void test_hostname_refuses_bad_bytes(void **state)
{
	assert_refused("");
	assert_refused(".");
	assert_refused("..");
	assert_refused("a..b");
	assert_refused("a..");
	assert_refused(".a");
	assert_refused("-a.b");
	assert_refused("a-.b");
	assert_refused("a.b-");
	assert_refused("a_b.c");
	assert_refused("a b");
	assert_refused("a;rm -rf");
	assert_refused("a.b:22");
	assert_refused("a/b");
	assert_refused("b\xc3\xbc"
		       "cher.example");
	assert_refused("a\nb");
}

static void test_hostname_embedded_nul_refused(void **state)
{
	char out[HOSTNAME_MAX + 1];
	assert_int_equal(hostname_normalize("a\0b", 3, out), ERR_INVAL);
	/* len bounds the input: a prefix of a longer buffer is fine */
	assert_int_equal(hostname_normalize("abc.def", 3, out), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(hostname_normalize(NULL, 0, out), ERR_INVAL);
}

static void test_hostname_label_and_total_limits(void **state)
{
	char in[400], out[HOSTNAME_MAX + 1];

	memset(in, 'a', 63);
	strcpy(in + 63, ".b");
	assert_int_equal(norm(in, out), 0);
	memset(in, 'a', 64);
	strcpy(in + 64, ".b");
	assert_int_equal(norm(in, out), ERR_INVAL);

	/* 4 labels of 62, each with its dot, and "a": 253 */
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		memset(in + n, 'a' + i, 62);
		n += 62;
		in[n++] = '.';
	}
	memcpy(in + n, "a", 2);
	assert_int_equal(strlen(in), 253);
	assert_int_equal(norm(in, out), 0);
	assert_int_equal(strlen(out), 253);
	/* with the optional trailing dot it is still 253 */
	strcat(in, ".");
	assert_int_equal(norm(in, out), 0);
	/* one more byte is too long */
	in[253] = 'd';
	in[254] = '\0';
	assert_int_equal(norm(in, out), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostname_lowercases_and_drops_trailing_dot),
	    cmocka_unit_test(test_hostname_refuses_bad_bytes),
	    cmocka_unit_test(test_hostname_embedded_nul_refused),
	    cmocka_unit_test(test_hostname_label_and_total_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
