/* test_conn_borrow.c — conn_write_borrow keeps every byte and its order.
 *
 * Real loopback TCP on a real loop: src -> mid_in | mid_out -> dst. src
 * sends records (a length byte, then that many payload bytes); mid strips
 * the length bytes and forwards the payloads, most by conn_write_borrow
 * (slices of its input that are not contiguous), every seventh by
 * conn_write (which must not overtake the borrowed ones). dst stops
 * reading now and then, and mid's send buffer is small, so that writev is
 * short and the rest is copied.
 * dst must receive exactly the payloads, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/conn.h"
#include "loopback.h"

#define PAYLOAD_TOTAL (4 * 1024 * 1024)
#define DST_PAUSE_EVERY (256 * 1024)

static uv_loop_t *loop;
static uv_tcp_t lst_mid, lst_dst;
static conn_t *src, *mid_in, *mid_out, *dst;
static uint8_t *input, *expect;
static size_t input_len, expect_len, input_sent;
static buf_t got;
static size_t records, borrowed, copied, since_pause;
static uv_timer_t dst_timer;
static bool done;

static void src_pump(conn_t *c)
{
	while (input_sent < input_len && !conn_full(c)) {
		size_t n = input_len - input_sent < 65536 ? input_len - input_sent : 65536;
		assert_int_equal(conn_write(c, input + input_sent, n), 0);
		input_sent += n;
	}
	if (input_sent == input_len)
		conn_finish(c);
}
static void src_on_open(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	src_pump(c);
}
static void src_on_drain(conn_t *c) { src_pump(c); }
static void noop_close(conn_t *c) {}
static const conn_cbs_t src_cbs = {.on_open = src_on_open, .on_drain = src_on_drain, .on_close = noop_close};

static void mid_on_data(conn_t *c, buf_t *in)
{
	const uint8_t *p = buf_head(in);
	size_t n = buf_used(in), off = 0;
	while (off < n && !conn_full(mid_out)) {
		size_t len = p[off];
		if (off + 1 + len > n)
			break;
		int r;
		if (records++ % 7 == 3) {
			r = conn_write(mid_out, p + off + 1, len);
			copied += len;
		} else {
			r = conn_write_borrow(mid_out, p + off + 1, len);
			borrowed += len;
		}
		assert_int_equal(r, 0);
		off += 1 + len;
	}
	buf_consume(in, off);
	if (conn_full(mid_out))
		conn_pause(c);
}
static void mid_on_eof(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	conn_finish(mid_out);
	conn_close(c);
}
static const conn_cbs_t mid_in_cbs = {.on_data = mid_on_data, .on_eof = mid_on_eof, .on_close = noop_close};

/* A small send buffer on mid -> dst: most writevs come up short. */
static void small_sndbuf(conn_t *c)
{
	uv_os_fd_t fd;
	int n = 4096;
	assert_int_equal(uv_fileno((uv_handle_t *)&c->h.tcp, &fd), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n)), 0);
}
static void mid_out_on_open(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	small_sndbuf(c);
}
static void mid_out_on_drain(conn_t *c) { conn_resume(mid_in); }
static const conn_cbs_t mid_out_cbs = {.on_open = mid_out_on_open, .on_drain = mid_out_on_drain, .on_close = noop_close};

static void dst_wake(uv_timer_t *t) { conn_resume(dst); }
static void dst_on_data(conn_t *c, buf_t *in)
{
	size_t n = buf_used(in);
	assert_int_equal(buf_append(&got, buf_head(in), n), 0);
	buf_consume(in, n);
	since_pause += n;
	if (since_pause >= DST_PAUSE_EVERY) {
		since_pause = 0;
		conn_pause(c); /* a slow reader: mid's writev comes up short */
		uv_timer_start(&dst_timer, dst_wake, 5, 0);
	}
}
static void dst_on_eof(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	done = true;
	conn_close(c);
}
static const conn_cbs_t dst_cbs = {.on_data = dst_on_data, .on_eof = dst_on_eof, .on_close = noop_close};

static void on_mid_conn(uv_stream_t *s, int status)
{
	assert_int_equal(status, 0);
	mid_in = conn_new(loop, &mid_in_cbs, NULL);
	assert_int_equal(conn_accept(mid_in, s, NULL), 0);
}
static void on_dst_conn(uv_stream_t *s, int status)
{
	assert_int_equal(status, 0);
	dst = conn_new(loop, &dst_cbs, NULL);
	assert_int_equal(conn_accept(dst, s, NULL), 0);
}

static void make_records(void)
{
	input = malloc(PAYLOAD_TOTAL * 2);
	expect = malloc(PAYLOAD_TOTAL);
	assert_non_null(input);
	assert_non_null(expect);
	uint32_t x = 12345;
	while (expect_len < PAYLOAD_TOTAL - 256) {
		x = x * 1103515245u + 12345u;
		size_t len = (x >> 16) % 256; /* 0-byte records too */
		input[input_len++] = (uint8_t)len;
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			input[input_len++] = expect[expect_len++] = (uint8_t)(x >> 24);
		}
	}
}

static void test_borrowed_output_arrives_whole_and_in_order(void **state)
{
	loop = uv_default_loop();
	make_records();
	buf_init(&got, PAYLOAD_TOTAL);
	uv_timer_init(loop, &dst_timer);
	struct sockaddr_in a_mid, a_dst;
	loopback_listen(loop, &lst_mid, on_mid_conn, &a_mid);
	loopback_listen(loop, &lst_dst, on_dst_conn, &a_dst);
	mid_out = conn_new(loop, &mid_out_cbs, NULL);
	assert_int_equal(conn_connect(mid_out, (struct sockaddr *)&a_dst, NULL, NULL), 0);
	src = conn_new(loop, &src_cbs, NULL);
	assert_int_equal(conn_connect(src, (struct sockaddr *)&a_mid, NULL, NULL), 0);

	uint64_t deadline = uv_now(loop) + 5000;
	while (!done && uv_now(loop) < deadline)
		uv_run(loop, UV_RUN_ONCE);

	if (!done)
		print_message("stalled: src sent %zu of %zu, dst got %zu, mid_out pending %zu\n", input_sent, input_len,
			      buf_used(&got), conn_pending(mid_out));
	assert_true(done);
	assert_true(borrowed > copied); /* both paths ran */
	assert_true(copied > 0);
	assert_int_equal(buf_used(&got), expect_len);
	assert_memory_equal(buf_head(&got), expect, expect_len);

	uv_close((uv_handle_t *)&lst_mid, NULL);
	uv_close((uv_handle_t *)&lst_dst, NULL);
	uv_close((uv_handle_t *)&dst_timer, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	buf_free(&got);
	free(input);
	free(expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_borrowed_output_arrives_whole_and_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
