/* fuzz_form.c — libFuzzer target for forms, cookies and escaping
 * (core/form.c).
 *
 * Input: the first byte is a name length n, the next n bytes the name (up
 * to its first NUL), the rest the urlencoded string or Cookie header. Each
 * lookup is done with a large and with small output buffers, which must
 * agree; what form_get returns has no control byte. The whole input,
 * NUL-terminated, is also escaped for HTML and for URLs, and what
 * url_encode writes must read back through form_get. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/form.h"

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			__builtin_trap();                                                                    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*getter_t)(const char *, size_t, const char *, char *, size_t);

static bool clean(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7F)
			return false;
	}
	return true;
}

static void lookup(getter_t get, const char *s, size_t len, const char *name)
{
	static const size_t small[] = {0, 1, 2, 8};
	char *big = malloc(len + 1);
	CHECK(big);
	int r = get(s, len, name, big, len + 1);
	CHECK(r == 0 || r == ERR_NOTFOUND || r == ERR_INVAL);
	if (r == 0)
		CHECK(strlen(big) <= len && clean(big));
	else
		CHECK(big[0] == '\0');
	size_t vlen = r == 0 ? strlen(big) : 0;
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		char *out = small[i] ? malloc(small[i]) : NULL;
		int r2 = get(s, len, name, out, small[i]);
		if (r == 0 && vlen + 1 > small[i])
			CHECK(r2 == ERR_TOOBIG);
		else
			CHECK(r2 == r);
		if (r2 == 0)
			CHECK(strcmp(out, big) == 0);
		free(out);
	}
	free(big);
}

static void escape(const char *z, size_t len)
{
	size_t cap = 6 * len + 3; /* (+2: url_encode writes after a "v=") */
	char *out = malloc(cap);
	CHECK(out);
	size_t n = html_escape(z, out, cap);
	CHECK(n == strlen(out) && n >= len);
	CHECK(strpbrk(out, "<>\"'") == NULL);
	if (len)
		CHECK(html_escape(z, out, n) == 0); /* one byte short */

	n = url_encode(z, out + 2, cap - 2);
	CHECK(n == strlen(out + 2) && n >= len);
	for (size_t i = 2; i < n + 2; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%", out[i]));
	if (clean(z)) {
		char *back = malloc(len + 1);
		CHECK(back);
		memcpy(out, "v=", 2);
		CHECK(form_get(out, n + 2, "v", back, len + 1) == 0);
		CHECK(strcmp(back, z) == 0);
		free(back);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"a", "q", "CF_Authorization", ""};
	if (size < 1)
		return 0;
	size_t nlen = data[0];
	if (nlen > size - 1)
		nlen = size - 1;
	char *name = malloc(nlen + 1);
	CHECK(name);
	memcpy(name, data + 1, nlen);
	name[nlen] = '\0';
	/* the rest, in a buffer of its exact size: no NUL to lean on */
	size_t len = size - 1 - nlen;
	char *s = malloc(len ? len : 1);
	CHECK(s);
	memcpy(s, data + 1 + nlen, len);

	lookup(form_get, s, len, name);
	lookup(cookie_get, s, len, name);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		lookup(form_get, s, len, names[i]);
		lookup(cookie_get, s, len, names[i]);
	}
	free(s);
	free(name);

	char *z = malloc(size + 1);
	CHECK(z);
	memcpy(z, data, size);
	z[size] = '\0';
	escape(z, strlen(z));
	free(z);
	return 0;
}
