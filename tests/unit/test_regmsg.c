/* test_regmsg.c — tunnel registration messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/regmsg.h"

static int parse(const char *json, reg_request_t *q, char *err)
{
	return reg_request_parse((const uint8_t *)json, strlen(json), q, err, 256);
}

static void test_regmsg_request_roundtrip(void **st)
{
	reg_request_t q = {0}, back;
	char err[256];
	strcpy(q.tunnel_id, "8c148974-08fa-4a38-a4a4-188f6685da78");
	strcpy(q.secret, "s3cret");
	q.secret_len = 6;
	strcpy(q.version, "0.1.0");
	q.conn_index = 3;
	strcpy(q.hosts[0], "ssh.site.test");
	q.nhosts = 1;
	char *txt = reg_request_encode(&q);
	assert_non_null(txt);
	assert_int_equal(reg_request_parse((uint8_t *)txt, strlen(txt), &back, err, sizeof(err)), 0);
	free(txt);
	assert_string_equal(back.tunnel_id, q.tunnel_id);
	assert_int_equal(back.secret_len, 6);
	assert_memory_equal(back.secret, "s3cret", 6);
	assert_int_equal(back.conn_index, 3);
	assert_int_equal(back.nhosts, 1);
	assert_string_equal(back.hosts[0], "ssh.site.test");
}

/* A secret longer than the request holds is refused, never read past the buffer (a connector
 * once sent the bytes after it: ASan, heap-buffer-overflow, with a long secret). */
static void test_regmsg_encode_refuses_secret_longer_than_buffer(void **st)
{
	reg_request_t *q = calloc(1, sizeof(*q)), back;
	char err[256];
	assert_non_null(q);
	strcpy(q->tunnel_id, "t");
	strcpy(q->version, "0.1.0");
	memset(q->secret, 'a', REG_MAX_SECRET);
	q->secret_len = REG_MAX_SECRET;
	char *txt = reg_request_encode(q);
	assert_non_null(txt);
	assert_int_equal(reg_request_parse((uint8_t *)txt, strlen(txt), &back, err, sizeof(err)), 0);
	free(txt);
	assert_int_equal(back.secret_len, REG_MAX_SECRET);
	q->secret_len = REG_MAX_SECRET + 1;
	assert_null(reg_request_encode(q));
	q->secret_len = sizeof(*q) + 64;
	assert_null(reg_request_encode(q));
	free(q);
}

static void test_regmsg_hostnames_are_normalised(void **st)
{
	reg_request_t q;
	char err[256];
	assert_int_equal(parse("{\"tunnel_id\":\"a\",\"tunnel_secret\":\"b\",\"hostnames\":[\"SSH.Site.Test.\"]}", &q, err),
			 0);
	assert_string_equal(q.hosts[0], "ssh.site.test");
}

static void test_regmsg_rejects_bad_shapes(void **st)
{
	reg_request_t q;
	char err[256];
	assert_int_equal(parse("[]", &q, err), ERR_PROTO);
	assert_int_equal(parse("{\"tunnel_id\":1,\"tunnel_secret\":\"b\",\"hostnames\":[]}", &q, err), ERR_PROTO);
	assert_int_equal(parse("{\"tunnel_id\":\"a\",\"tunnel_secret\":\"b\"}", &q, err), ERR_PROTO);
	assert_int_equal(parse("{\"tunnel_id\":\"a\",\"tunnel_secret\":\"b\",\"hostnames\":[\"a b\"]}", &q, err),
			 ERR_PROTO);
	assert_int_equal(
		parse("{\"tunnel_id\":\"a\",\"tunnel_secret\":\"b\",\"hostnames\":[],\"conn_index\":-1}", &q, err),
		ERR_PROTO);
	/* duplicated keys could smuggle a second identity past a reviewer */
	assert_int_equal(
		parse("{\"tunnel_id\":\"a\",\"tunnel_id\":\"c\",\"tunnel_secret\":\"b\",\"hostnames\":[]}", &q, err),
		ERR_PROTO);
	/* an embedded NUL must not shorten the secret that is compared */
	assert_int_equal(parse("{\"tunnel_id\":\"a\",\"tunnel_secret\":\"b\\u0000x\",\"hostnames\":[]}", &q, err),
			 ERR_PROTO);
}

static void test_regmsg_too_many_hostnames(void **st)
{
	char json[16384];
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"tunnel_id\":\"a\",\"tunnel_secret\":\"b\",\"hostnames\":[");
	for (int i = 0; i < REG_MAX_HOSTS + 1; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, "%s\"h%d.test\"", i ? "," : "", i);
	snprintf(json + n, sizeof(json) - n, "]}");
	reg_request_t q;
	char err[256];
	assert_int_equal(parse(json, &q, err), ERR_PROTO);
	assert_non_null(strstr(err, "too many"));
}

static void test_regmsg_result_roundtrip_and_sanitised(void **st)
{
	reg_result_t r = {0}, back;
	r.ok = false;
	strcpy(r.error, "hostname x is routed\x1b[31m elsewhere");
	char *txt = reg_result_encode(&r);
	assert_int_equal(reg_result_parse((uint8_t *)txt, strlen(txt), &back), 0);
	free(txt);
	assert_false(back.ok);
	assert_null(strchr(back.error, '\x1b'));
	r.ok = true;
	strcpy(r.tunnel_name, "host1");
	r.conn_index = 2;
	txt = reg_result_encode(&r);
	assert_int_equal(reg_result_parse((uint8_t *)txt, strlen(txt), &back), 0);
	free(txt);
	assert_true(back.ok);
	assert_string_equal(back.tunnel_name, "host1");
	assert_string_equal(back.warning, ""); /* none sent: none read */
	strcpy(r.warning, "hostname y is not routed\x07 to tunnel host1");
	txt = reg_result_encode(&r);
	assert_int_equal(reg_result_parse((uint8_t *)txt, strlen(txt), &back), 0);
	free(txt);
	assert_true(back.ok);
	assert_string_equal(back.warning, "hostname y is not routed  to tunnel host1");
	assert_int_equal(reg_result_parse((const uint8_t *)"{}", 2, &back), ERR_PROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regmsg_request_roundtrip),
		cmocka_unit_test(test_regmsg_encode_refuses_secret_longer_than_buffer),
		cmocka_unit_test(test_regmsg_hostnames_are_normalised),
		cmocka_unit_test(test_regmsg_rejects_bad_shapes),
		cmocka_unit_test(test_regmsg_too_many_hostnames),
		cmocka_unit_test(test_regmsg_result_roundtrip_and_sanitised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
