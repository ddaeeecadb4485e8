/* test_pki.c — certificates per name: names the edge serves get one each,
 * other names only at a bounded rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge/pki.h"

#define RATE 10  /* pki.c PKI_MINT_RATE */
#define BURST 20 /* pki.c PKI_MINT_BURST */

static char dir[] = "/tmp/burrow-test-pki.XXXXXX";

static bool app_names(void *arg, const char *host)
{
	size_t n = strlen(host);
	return n > 9 && strcmp(host + n - 9, ".app.test") == 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pki_t *open_pki(void)
{
	char err[256];
	pki_t *p = NULL;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(pki_open(dir, &p, err, sizeof(err)), 0);
	pki_set_known(p, app_names, NULL);
	return p;
}

static void close_pki(pki_t *p)
{
	char cmd[128];
	pki_free(p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
}

/* A flood of random names gets its first BURST certificates, then no more
 * than RATE a second; names of apps get theirs all the while, and a name
 * asked for again comes from the cache without using the budget. */
static void test_pki_unknown_names_are_minted_at_a_bounded_rate(void **st)
{
	pki_t *p = open_pki();
	char name[64];
	double t0 = now_s();
	size_t minted = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d.x.test", i);
		if (pki_ctx_for(p, name, 0))
			minted++;
	}
	/* The bucket refills from its last mint, at the latest now: the later
	 * bound counts from here, not from after the app names below (which
	 * take a while on a loaded machine). */
	double t1 = now_s();
	double burst_s = t1 - t0;
	assert_true(minted >= BURST);
	assert_true(minted <= BURST + (size_t)(burst_s * RATE) + 1);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "s%d.app.test", i);
		assert_non_null(pki_ctx_for(p, name, i % 2));
	}
	assert_non_null(pki_ctx_for(p, "r0.x.test", 0)); /* cached */

	/* The bucket is empty; half a second refills five. */
	usleep(550 * 1000);
	size_t later = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "t%d.x.test", i);
		if (pki_ctx_for(p, name, 0))
			later++;
	}
	double t2 = now_s();
	assert_true(later >= 5);
	assert_true(later <= (size_t)((t2 - t1) * RATE) + 1);
	size_t unknown = 0;
	assert_int_equal(pki_cached(p, &unknown), minted + later + 50);
	assert_int_equal(unknown, minted + later);
	close_pki(p);
}

/* Without a judge of names every name is served (a pki outside an edge). */
static void test_pki_every_name_is_known_without_a_judge(void **st)
{
	pki_t *p = open_pki();
	pki_set_known(p, NULL, NULL);
	char name[64];
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "r%d.x.test", i);
		assert_non_null(pki_ctx_for(p, name, 0));
	}
	size_t unknown = 1;
	assert_int_equal(pki_cached(p, &unknown), 60);
	assert_int_equal(unknown, 0);
	close_pki(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pki_unknown_names_are_minted_at_a_bounded_rate),
	    cmocka_unit_test(test_pki_every_name_is_known_without_a_judge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
