/* test_relay.c — a relay under a small memory share keeps every byte.
 *
 * Real loopback TCP on a real loop, the connector's way round: src (a fast
 * writer) -> mid (the relay's conn) -> relay -> HTTP/2 stream -> tunnel
 * connection -> the edge's stream, whose reader takes bytes in bursts. The
 * budget is set so small that each stream gets H2_SHARE_MIN: the stream's
 * buffer fills and drains hundreds of times, and a write that sends (and
 * drains) before the relay pauses must not leave it paused for good.
 * The edge's stream must receive exactly what src sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/h2.h"
#include "core/relay.h"

#define TOTAL (8 * 1024 * 1024)
#define READER_PAUSE_EVERY (96 * 1024)

static uv_loop_t *loop;
static uv_tcp_t lst_tun, lst_src;
static conn_t *src, *mid;
static h2_session_t *edge, *connector;
static h2_stream_t *es;
static uint8_t *input;
static size_t sent;
static buf_t got;
static size_t held, since_pause;
static uv_timer_t reader_timer;
static bool done, relay_done;

static void noop_close(conn_t *c) {}

static void src_pump(conn_t *c)
{
	while (sent < TOTAL && !conn_full(c)) {
		size_t n = TOTAL - sent < 65536 ? TOTAL - sent : 65536;
		assert_int_equal(conn_write(c, input + sent, n), 0);
		sent += n;
	}
	if (sent == TOTAL)
		conn_finish(c);
}
static void src_on_open(conn_t *c, int status)
{
	assert_int_equal(status, 0);
	src_pump(c);
}
static void src_on_drain(conn_t *c)
{
	src_pump(c);
}
static void src_on_eof(conn_t *c, int status)
{
	conn_close(c);
}
static const conn_cbs_t src_cbs = {
    .on_open = src_on_open, .on_drain = src_on_drain, .on_eof = src_on_eof, .on_close = noop_close};

/* Until the relay takes mid over, its bytes wait in its buffer. */
static void mid_wait(conn_t *c, buf_t *in)
{
	conn_pause(c);
}
static const conn_cbs_t mid_cbs = {.on_data = mid_wait, .on_close = noop_close};

/* The edge's reader: takes what arrives, but every READER_PAUSE_EVERY
 * bytes holds on for 2 ms before it acknowledges them. */
static void reader_wake(uv_timer_t *t)
{
	if (es && held) {
		h2_stream_consume(es, held);
		held = 0;
	}
}
static void e_on_data(h2_stream_t *s, const uint8_t *p, size_t n)
{
	assert_int_equal(buf_append(&got, p, n), 0);
	held += n;
	since_pause += n;
	if (since_pause >= READER_PAUSE_EVERY) {
		since_pause = 0;
		uv_timer_start(&reader_timer, reader_wake, 2, 0);
	} else if (!uv_is_active((uv_handle_t *)&reader_timer)) {
		h2_stream_consume(s, held);
		held = 0;
	}
}
static void e_on_end(h2_stream_t *s)
{
	done = true;
}
static void e_on_close(h2_stream_t *s, uint32_t code)
{
	es = NULL;
}
static const h2_stream_cbs_t edge_stream_cbs = {
    .on_data = e_on_data, .on_end = e_on_end, .on_close = e_on_close};

static void on_relay_done(void *data, const relay_stats_t *st)
{
	relay_done = true;
}
static void on_request(h2_session_t *h, h2_stream_t *s)
{
	assert_non_null(mid);
	assert_int_equal(h2_respond(s, 200, NULL, 0, false), 0);
	assert_int_equal(relay_start(mid, s, false, on_relay_done, NULL), 0);
}
static const h2_session_cbs_t connector_cbs = {.on_request = on_request};
static const h2_session_cbs_t edge_cbs = {0};

static void on_tun_conn(uv_stream_t *s, int status)
{
	static const conn_cbs_t none = {0};
	assert_int_equal(status, 0);
	conn_t *c = conn_new(loop, &none, NULL);
	assert_int_equal(conn_accept(c, s, NULL), 0);
	edge = h2_session_new(c, false, &edge_cbs, NULL);
	assert_non_null(edge);
}
static void on_src_conn(uv_stream_t *s, int status)
{
	assert_int_equal(status, 0);
	mid = conn_new(loop, &mid_cbs, NULL);
	assert_int_equal(conn_accept(mid, s, NULL), 0);
	nghttp2_nv nva[] = {h2_nv(":method", "CONNECT"), h2_nv(":authority", "ssh.site.test")};
	es = h2_submit(edge, nva, 2, &edge_stream_cbs, NULL);
	assert_non_null(es);
}

static void listen_on(uv_tcp_t *t, uv_connection_cb cb, struct sockaddr_in *bound)
{
	struct sockaddr_in sa;
	int len = sizeof(*bound);
	uv_ip4_addr("127.0.0.1", 0, &sa);
	assert_int_equal(uv_tcp_init(loop, t), 0);
	assert_int_equal(uv_tcp_bind(t, (struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)t, 16, cb), 0);
	assert_int_equal(uv_tcp_getsockname(t, (struct sockaddr *)bound, &len), 0);
}

static void run_until(bool *flag, uint64_t ms)
{
	uint64_t deadline = uv_now(loop) + ms;
	while (!*flag && uv_now(loop) < deadline)
		uv_run(loop, UV_RUN_ONCE);
}

static void test_relay_keeps_every_byte_at_the_smallest_share(void **state)
{
	static const conn_cbs_t none = {0};
	loop = uv_default_loop();
	h2_set_budget(1); /* every stream gets H2_SHARE_MIN */
	assert_int_equal(h2_share(), H2_SHARE_MIN);
	input = malloc(TOTAL);
	assert_non_null(input);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < TOTAL; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		input[i] = (uint8_t)x;
	}
	buf_init(&got, TOTAL);
	uv_timer_init(loop, &reader_timer);

	struct sockaddr_in a_tun, a_src;
	listen_on(&lst_tun, on_tun_conn, &a_tun);
	listen_on(&lst_src, on_src_conn, &a_src);
	conn_t *cc = conn_new(loop, &none, NULL);
	connector = h2_session_new(cc, true, &connector_cbs, NULL);
	assert_non_null(connector);
	assert_int_equal(conn_connect(cc, (struct sockaddr *)&a_tun, NULL, NULL), 0);
	bool up = false;
	for (int i = 0; i < 1000 && !up; i++) {
		uv_run(loop, UV_RUN_ONCE);
		up = edge != NULL;
	}
	assert_true(up);
	src = conn_new(loop, &src_cbs, NULL);
	assert_int_equal(conn_connect(src, (struct sockaddr *)&a_src, NULL, NULL), 0);

	run_until(&done, 10000);
	if (!done)
		print_message("stalled: src sent %zu of %d, the edge got %zu\n", sent, TOTAL, buf_used(&got));
	assert_true(done);
	assert_int_equal(buf_used(&got), TOTAL);
	assert_memory_equal(buf_head(&got), input, TOTAL);

	h2_session_close(edge);
	h2_session_close(connector);
	run_until(&relay_done, 2000);
	assert_true(relay_done);
	uv_close((uv_handle_t *)&lst_tun, NULL);
	uv_close((uv_handle_t *)&lst_src, NULL);
	uv_close((uv_handle_t *)&reader_timer, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	h2_set_budget(0);
	buf_free(&got);
	free(input);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_keeps_every_byte_at_the_smallest_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
