/* test_form.c — urlencoded fields, cookies, and HTML and URL escaping:
 * what decodes, what is refused (bad escapes, control bytes, duplicates),
 * and that no output ever passes its buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/form.h"

static int fget(const char *s, const char *name, char *out, size_t outlen)
{
	return form_get(s, strlen(s), name, out, outlen);
}

static int cget(const char *h, const char *name, char *out, size_t outlen)
{
	return cookie_get(h, strlen(h), name, out, outlen);
}

static void assert_field(const char *s, const char *name, const char *want)
{
	char out[64];
	int r = fget(s, name, out, sizeof(out));
	if (r != 0)
		fail_msg("form_get(\"%s\", \"%s\") = %d", s, name, r);
	assert_string_equal(out, want);
}

static void assert_form_refused(const char *s, const char *name, int want)
{
	char out[64] = "junk";
	int r = fget(s, name, out, sizeof(out));
	if (r != want)
		fail_msg("form_get(\"%s\", \"%s\") = %d, not %d", s, name, r, want);
	assert_string_equal(out, "");
}

static void test_form_get_decodes(void **state)
{
	assert_field("a=1&b=x%20y", "b", "x y");
	assert_field("a=1&b=x%20y", "a", "1");
	assert_field("q=%41%62%7e", "q", "Ab~");
	assert_field("q=a+b+%2B", "q", "a b +");
	assert_field("q=", "q", "");
	assert_field("a=1&q&b=2", "q", ""); /* a field without '=' */
	assert_field("q", "q", "");
	assert_field("q=a=b", "q", "a=b");
	assert_field("q=%C3%A9", "q", "\xc3\xa9");
	assert_field("q=tab%09in", "q", "tab\tin");
	assert_field("a=1&&q=2&", "q", "2"); /* empty fields are skipped */
	assert_field("first%20name=Ann", "first name", "Ann");
	assert_field("x+y=1", "x y", "1");
	assert_field("=v&q=1", "", "v");
}

static void test_form_get_absent(void **state)
{
	assert_form_refused("a=1&b=2", "c", ERR_NOTFOUND);
	assert_form_refused("", "a", ERR_NOTFOUND);
	assert_form_refused("&&", "a", ERR_NOTFOUND);
	assert_form_refused("ab=1", "a", ERR_NOTFOUND);
	assert_form_refused("a=1", "ab", ERR_NOTFOUND);
	char out[4];
	assert_int_equal(form_get(NULL, 0, "a", out, sizeof(out)), ERR_NOTFOUND);
}

static void test_form_get_prefix_names(void **state)
{
	assert_field("ab=2&a=1", "a", "1");
	assert_field("a=1&ab=2", "ab", "2");
	assert_field("a=1&ab=2", "a", "1");
	assert_field("ab=2&abc=3&a=1", "ab", "2");
}

static void test_form_get_duplicate_refused(void **state)
{
	assert_form_refused("a=1&a=2", "a", ERR_INVAL);
	assert_form_refused("a=1&b=3&a=1", "a", ERR_INVAL);
	assert_form_refused("a&a", "a", ERR_INVAL);
	assert_form_refused("a=1&%61=2", "a", ERR_INVAL); /* the same name, spelled twice */
	/* a duplicate of another field is not our problem */
	assert_field("b=1&b=2&a=3", "a", "3");
}

static void test_form_get_bad_escapes_refused(void **state)
{
	assert_form_refused("a=%4", "a", ERR_INVAL);
	assert_form_refused("a=%", "a", ERR_INVAL);
	assert_form_refused("a=%zz", "a", ERR_INVAL);
	assert_form_refused("a=%4g", "a", ERR_INVAL);
	assert_form_refused("a=%00", "a", ERR_INVAL);
	assert_form_refused("a=%0A", "a", ERR_INVAL);
	assert_form_refused("a=%7F", "a", ERR_INVAL);
	assert_form_refused("a=%1f", "a", ERR_INVAL);
	/* anywhere in the string, not only in the field asked for */
	assert_form_refused("a=1&b=%zz", "a", ERR_INVAL);
	assert_form_refused("a=1&%zz=1", "a", ERR_INVAL);
	assert_form_refused("a=1&b=%00", "c", ERR_INVAL);
}

static void test_form_get_control_bytes_refused(void **state)
{
	char out[16] = "junk";
	assert_form_refused("a=x\ny", "a", ERR_INVAL);
	assert_form_refused("a=x\ry", "a", ERR_INVAL);
	assert_form_refused("a=x\x7fy", "a", ERR_INVAL);
	assert_form_refused("a\x01=1", "a", ERR_INVAL);
	assert_int_equal(form_get("a=x\0y", 5, "a", out, sizeof(out)), ERR_INVAL);
	assert_string_equal(out, "");
	/* the length bounds the input */
	assert_int_equal(form_get("a=xy&a=2", 4, "a", out, sizeof(out)), 0);
	assert_string_equal(out, "xy");
	assert_field("a=x\ty", "a", "x\ty");
}

static void test_form_get_value_too_long(void **state)
{
	char out[4] = "junk";
	assert_int_equal(fget("a=123", "a", out, sizeof(out)), 0);
	assert_string_equal(out, "123");
	assert_int_equal(fget("a=1234", "a", out, sizeof(out)), ERR_TOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(fget("a=%31%32%33", "a", out, sizeof(out)), 0); /* decoded length counts */
	assert_int_equal(fget("a=%31%32%33%34", "a", out, sizeof(out)), ERR_TOOBIG);
	assert_int_equal(fget("a=", "a", out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(fget("a=", "a", NULL, 0), ERR_TOOBIG);
	/* a bad escape past the point where the value stopped fitting is still malformed */
	assert_int_equal(fget("a=12345%zz", "a", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(fget("a=1", NULL, out, sizeof(out)), ERR_INVAL);
}

/* ---- cookies ---- */

static void assert_cookie(const char *h, const char *name, const char *want)
{
	char out[64];
	int r = cget(h, name, out, sizeof(out));
	if (r != 0)
		fail_msg("cookie_get(\"%s\", \"%s\") = %d", h, name, r);
	assert_string_equal(out, want);
}

static void assert_cookie_refused(const char *h, const char *name, int want)
{
	char out[64] = "junk";
	int r = cget(h, name, out, sizeof(out));
	if (r != want)
		fail_msg("cookie_get(\"%s\", \"%s\") = %d, not %d", h, name, r, want);
	assert_string_equal(out, "");
}

static void test_cookie_get_values(void **state)
{
	assert_cookie("a=1; b=2", "a", "1");
	assert_cookie("a=1; b=2", "b", "2");
	assert_cookie("a=1;b=2", "b", "2");
	assert_cookie("  a = 1 ;  b=2  ", "a", "1");
	assert_cookie("a=1;\tb=2\t", "b", "2");
	assert_cookie("a=\"quoted value\"; b=2", "a", "quoted value");
	assert_cookie("a=\"\"", "a", "");
	assert_cookie("a=\"", "a", "\"");
	assert_cookie("a=", "a", "");
	assert_cookie("a=x%20y", "a", "x%20y"); /* not %-decoded */
	assert_cookie("a=b=c", "a", "b=c");
	assert_cookie("junk; a=1; =x; ;", "a", "1");
}

static void test_cookie_get_absent_and_duplicate(void **state)
{
	assert_cookie_refused("a=1; b=2", "c", ERR_NOTFOUND);
	assert_cookie_refused("", "a", ERR_NOTFOUND);
	assert_cookie_refused("a", "a", ERR_NOTFOUND); /* no '=': not a cookie named a */
	assert_cookie_refused("A=1", "a", ERR_NOTFOUND);
	assert_cookie_refused("a=1; b=2; a=3", "a", ERR_INVAL);
	assert_cookie_refused("a=1; a=1", "a", ERR_INVAL);
	assert_cookie_refused("a=x\ny", "a", ERR_INVAL);
	assert_cookie_refused("a=\"x\x01\"", "a", ERR_INVAL);
	/* another cookie's odd bytes do not lock the user out */
	assert_cookie("b=x\x01y; a=1", "a", "1");
	char out[4];
	assert_int_equal(cookie_get(NULL, 0, "a", out, sizeof(out)), ERR_NOTFOUND);
	assert_int_equal(cookie_get("a=1", 3, NULL, out, sizeof(out)), ERR_INVAL);
}

static void test_cookie_get_prefix_names(void **state)
{
	const char *h = "CF_Authorization2=two; CF_Authorization=one; CF_Auth=three";
	assert_cookie(h, "CF_Authorization", "one");
	assert_cookie(h, "CF_Authorization2", "two");
	assert_cookie(h, "CF_Auth", "three");
	assert_cookie_refused(h, "CF_Authorization3", ERR_NOTFOUND);
	assert_cookie_refused(h, "CF_", ERR_NOTFOUND);
	assert_cookie_refused("CF_Authorization2=two", "CF_Authorization", ERR_NOTFOUND);
}

static void test_cookie_get_too_long(void **state)
{
	char out[4] = "junk";
	assert_int_equal(cget("a=123", "a", out, sizeof(out)), 0);
	assert_string_equal(out, "123");
	assert_int_equal(cget("a=1234", "a", out, sizeof(out)), ERR_TOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(cget("a=\"123\"", "a", out, sizeof(out)), 0);
	assert_int_equal(cget("a=", "a", NULL, 0), ERR_TOOBIG);
}

/* ---- escaping ---- */

static void test_html_escape(void **state)
{
	char out[64];
	assert_int_equal(html_escape("a&b<c>d\"e'f", out, sizeof(out)),
			 strlen("a&amp;b&lt;c&gt;d&quot;e&#39;f"));
	assert_string_equal(out, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	assert_int_equal(html_escape("plain", out, sizeof(out)), 5);
	assert_string_equal(out, "plain");
	assert_int_equal(html_escape("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* exactly enough room, then one byte less (also when the cut is inside an entity) */
	assert_int_equal(html_escape("a<", out, 6), 5);
	assert_string_equal(out, "a&lt;");
	assert_int_equal(html_escape("a<", out, 5), 0);
	assert_string_equal(out, "");
	assert_int_equal(html_escape("ab", out, 2), 0);
	assert_int_equal(html_escape("ab", out, 0), 0);
	assert_int_equal(html_escape(NULL, out, sizeof(out)), 0);
}

static void test_url_encode(void **state)
{
	char out[64];
	assert_int_equal(url_encode("AZaz09-._~", out, sizeof(out)), 10);
	assert_string_equal(out, "AZaz09-._~");
	assert_int_equal(url_encode("a b&c=d/e?f+%", out, sizeof(out)),
			 strlen("a%20b%26c%3Dd%2Fe%3Ff%2B%25"));
	assert_string_equal(out, "a%20b%26c%3Dd%2Fe%3Ff%2B%25");
	assert_int_equal(url_encode("\xc3\xa9\x01\x7f", out, sizeof(out)), 12);
	assert_string_equal(out, "%C3%A9%01%7F");
	assert_int_equal(url_encode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(url_encode("a b", out, 6), 5);
	assert_int_equal(url_encode("a b", out, 5), 0);
	assert_string_equal(out, "");
	assert_int_equal(url_encode("a", out, 1), 0);

	/* what url_encode writes, form_get reads back */
	char body[80], back[64];
	const char *value = "x y&z=%+\xc3\xa9~";
	strcpy(body, "v=");
	assert_true(url_encode(value, body + 2, sizeof(body) - 2) > 0);
	assert_int_equal(form_get(body, strlen(body), "v", back, sizeof(back)), 0);
	assert_string_equal(back, value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_get_decodes),
	    cmocka_unit_test(test_form_get_absent),
	    cmocka_unit_test(test_form_get_prefix_names),
	    cmocka_unit_test(test_form_get_duplicate_refused),
	    cmocka_unit_test(test_form_get_bad_escapes_refused),
	    cmocka_unit_test(test_form_get_control_bytes_refused),
	    cmocka_unit_test(test_form_get_value_too_long),
	    cmocka_unit_test(test_cookie_get_values),
	    cmocka_unit_test(test_cookie_get_absent_and_duplicate),
	    cmocka_unit_test(test_cookie_get_prefix_names),
	    cmocka_unit_test(test_cookie_get_too_long),
	    cmocka_unit_test(test_html_escape),
	    cmocka_unit_test(test_url_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
