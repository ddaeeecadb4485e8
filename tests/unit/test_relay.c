/* test_relay.c — a relay under a small memory share keeps every byte.
 *
 * Real loopback TCP on a real loop, the connector's way round: src <-> mid
 * (the relay's conn) <-> relay <-> HTTP/2 stream <-> tunnel connection <->
 * the edge's stream. Both ends write as fast as they may and read in
 * bursts. The budget is set so small that each stream gets H2_SHARE_MIN:
 * the stream's buffer fills and drains hundreds of times, and mid's output
 * draining wakes the relay at any moment — also when the tunnel connection
 * is idle, so that a write into the stream sends at once and drains it
 * before the relay would pause (which once left the relay paused for
 * good: every session of bench conc stalled at this share). Each side must
 * receive exactly what the other sent. */
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
#include "loopback.h"

#define TOTAL (8 * 1024 * 1024)

static uv_loop_t *loop;
static uv_tcp_t lst_tun, lst_src;
static conn_t *src, *mid;
static h2_session_t *edge, *connector;
static h2_stream_t *es;
static uint8_t *input, *down;
static size_t sent, down_sent;
static buf_t got, got_down;
static size_t held, since_pause, src_since_pause;
static uv_timer_t reader_timer, src_timer;
static bool done, done_down, relay_done;
/* How the two readers take their bytes: after this many, a 2 ms break
 * (0: never). */
static size_t reader_pause_every, src_pause_every;

static void noop_close(conn_t *c) {}

static void src_pump(conn_t *c)
{
	while (sent < TOTAL && !conn_full(c)) {
		size_t n = TOTAL - sent < 65536 ? TOTAL - sent : 65536;
		assert_int_equal(conn_write(c, input + sent, n), 0);
		sent += n;
	}
	if (sent == TOTAL) {
		if (done_down)
			conn_finish(c);
		else
			conn_shutdown(c); /* half-close: the reply still comes */
	}
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
static void src_wake(uv_timer_t *t)
{
	if (src)
		conn_resume(src);
}
static void src_on_data(conn_t *c, buf_t *in)
{
	size_t n = buf_used(in);
	assert_int_equal(buf_append(&got_down, buf_head(in), n), 0);
	buf_consume(in, n);
	src_since_pause += n;
	if (src_pause_every && src_since_pause >= src_pause_every) {
		src_since_pause = 0;
		conn_pause(c); /* mid's output fills, then drains */
		uv_timer_start(&src_timer, src_wake, 2, 0);
	}
}
static void src_on_eof(conn_t *c, int status)
{
	done_down = true;
	if (sent == TOTAL)
		conn_finish(c); /* once its own bytes are out */
}
static void src_on_close(conn_t *c)
{
	src = NULL;
}
static const conn_cbs_t src_cbs = {.on_open = src_on_open,
				   .on_data = src_on_data,
				   .on_drain = src_on_drain,
				   .on_eof = src_on_eof,
				   .on_close = src_on_close};

/* Until the relay takes mid over, its bytes wait in its buffer. */
static void mid_wait(conn_t *c, buf_t *in)
{
	conn_pause(c);
}
static const conn_cbs_t mid_cbs = {.on_data = mid_wait, .on_close = noop_close};

/* The edge's reader: takes what arrives; with reader_pause_every set,
 * holds on for 2 ms after that many bytes before it acknowledges them. */
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
	if (reader_pause_every && since_pause >= reader_pause_every) {
		since_pause = 0;
		uv_timer_start(&reader_timer, reader_wake, 2, 0);
	} else if (!uv_is_active((uv_handle_t *)&reader_timer)) {
		h2_stream_consume(s, held);
		held = 0;
	}
}
static void e_pump(h2_stream_t *s)
{
	size_t room;
	while (down_sent < TOTAL && (room = h2_stream_room(s)) > 0) {
		size_t n = TOTAL - down_sent < room ? TOTAL - down_sent : room;
		assert_int_equal(h2_stream_write(s, down + down_sent, n), 0);
		down_sent += n;
	}
	if (down_sent == TOTAL)
		h2_stream_end(s);
}
static void e_on_response(h2_stream_t *s)
{
	e_pump(s);
}
static void e_on_drain(h2_stream_t *s)
{
	e_pump(s);
}
static void e_on_end(h2_stream_t *s)
{
	done = true;
}
static void e_on_close(h2_stream_t *s, uint32_t code)
{
	es = NULL;
}
static const h2_stream_cbs_t edge_stream_cbs = {.on_response = e_on_response,
						.on_data = e_on_data,
						.on_end = e_on_end,
						.on_drain = e_on_drain,
						.on_close = e_on_close};

static void on_relay_done(void *data, const relay_stats_t *st)
{
	relay_done = true;
}
static void on_request(h2_session_t *h, h2_stream_t *s)
{
	assert_non_null(mid);
	assert_int_equal(h2_respond(s, 200, NULL, 0, false), 0);
	assert_int_equal(relay_start(mid, s, false, on_relay_done, NULL, NULL), 0);
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

static void run_until(bool *flag, uint64_t ms)
{
	uint64_t deadline = uv_now(loop) + ms;
	while (!*flag && uv_now(loop) < deadline)
		uv_run(loop, UV_RUN_ONCE);
}

static void relay_at_the_smallest_share(void)
{
	static const conn_cbs_t none = {0};
	loop = uv_default_loop();
	src = mid = NULL;
	edge = connector = NULL;
	es = NULL;
	sent = down_sent = held = since_pause = src_since_pause = 0;
	done = done_down = relay_done = false;
	h2_set_budget(1); /* every stream gets H2_SHARE_MIN */
	assert_int_equal(h2_share(), H2_SHARE_MIN);
	input = malloc(TOTAL);
	down = malloc(TOTAL);
	assert_non_null(input);
	assert_non_null(down);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < TOTAL; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		input[i] = (uint8_t)x;
		down[i] = (uint8_t)(x >> 8);
	}
	buf_init(&got, TOTAL);
	buf_init(&got_down, TOTAL);
	uv_timer_init(loop, &reader_timer);
	uv_timer_init(loop, &src_timer);

	struct sockaddr_in a_tun, a_src;
	loopback_listen(loop, &lst_tun, on_tun_conn, &a_tun);
	loopback_listen(loop, &lst_src, on_src_conn, &a_src);
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
	run_until(&done_down, 10000);
	if (!done || !done_down)
		print_message("stalled: up %zu of %zu sent, %zu arrived; down %zu of %zu sent, %zu arrived\n",
			      sent, (size_t)TOTAL, buf_used(&got), down_sent, (size_t)TOTAL,
			      buf_used(&got_down));
	assert_true(done);
	assert_true(done_down);
	assert_int_equal(buf_used(&got), TOTAL);
	assert_memory_equal(buf_head(&got), input, TOTAL);
	assert_int_equal(buf_used(&got_down), TOTAL);
	assert_memory_equal(buf_head(&got_down), down, TOTAL);

	h2_session_close(edge);
	h2_session_close(connector);
	run_until(&relay_done, 2000);
	assert_true(relay_done);
	uv_close((uv_handle_t *)&lst_tun, NULL);
	uv_close((uv_handle_t *)&lst_src, NULL);
	uv_close((uv_handle_t *)&reader_timer, NULL);
	uv_close((uv_handle_t *)&src_timer, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	h2_set_budget(0);
	buf_free(&got);
	buf_free(&got_down);
	free(input);
	free(down);
}

/* The edge takes every byte at once, src takes 1 MiB and then a break:
 * mid's output drains while the tunnel is idle (the case that stalled). */
static void test_relay_keeps_every_byte_when_its_conn_drains(void **state)
{
	reader_pause_every = 0;
	src_pause_every = 1024 * 1024;
	relay_at_the_smallest_share();
}

/* Both readers take bytes in bursts: the stream's window closes and opens
 * while mid's output fills and drains. */
static void test_relay_keeps_every_byte_when_both_readers_pause(void **state)
{
	reader_pause_every = 96 * 1024;
	src_pause_every = 256 * 1024;
	relay_at_the_smallest_share();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_keeps_every_byte_when_its_conn_drains),
	    cmocka_unit_test(test_relay_keeps_every_byte_when_both_readers_pause),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
