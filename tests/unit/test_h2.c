/* test_h2.c — HTTP/2 receive windows: they follow each stream's pace.
 *
 * Two sessions (the edge's client role, the connector's server role) on
 * handle-less conns, wired back to back by hand: each hop moves one side's
 * output into the other's input and advances a fake clock by half a round
 * trip. The connector streams bytes down; the edge consumes them at a pace
 * the test sets. nghttp2 itself enforces that the sender never exceeds the
 * window we advertise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "core/conn.h"
#include "core/h2.h"

#define RTT_NS 1000000ULL /* the fake round trip: 1 ms */

static uint64_t fake_now = 1000000000ULL;
static uint64_t clock_fn(void)
{
	return fake_now;
}

typedef struct pair {
	conn_t *ec, *cc; /* edge's conn, connector's conn */
	h2_session_t *edge, *conn;
	h2_stream_t *es, *cs; /* the stream at each end */
	h2_stream_t *es2, *cs2; /* a second one, where a test opens it */
	size_t held;	      /* received by the edge, not yet consumed */
	size_t received;
	size_t max_held;
} pair_t;

static pair_t P;

static void e_on_data(h2_stream_t *s, const uint8_t *p, size_t n)
{
	P.held += n;
	P.received += n;
	if (P.held > P.max_held)
		P.max_held = P.held;
}
static void e_on_close(h2_stream_t *s, uint32_t code)
{
	P.es = NULL;
}
static const h2_stream_cbs_t edge_stream_cbs = {.on_data = e_on_data, .on_close = e_on_close};

static void c_on_close(h2_stream_t *s, uint32_t code)
{
	P.cs = NULL;
}
static const h2_stream_cbs_t conn_stream_cbs = {.on_close = c_on_close};

static void on_request(h2_session_t *h, h2_stream_t *s)
{
	h2_stream_set_cbs(s, &conn_stream_cbs, NULL);
	if (P.cs)
		P.cs2 = s;
	else
		P.cs = s;
	h2_respond(s, 200, NULL, 0, false);
}
static const h2_session_cbs_t conn_session_cbs = {.on_request = on_request};
static const h2_session_cbs_t edge_session_cbs = {0};

/* Moves what from has written into to's input; half a round trip passes. */
static void hop(conn_t *from, conn_t *to)
{
	fake_now += RTT_NS / 2;
	while (buf_used(&from->wbuf) > 0) {
		buf_t in;
		buf_init(&in, 1 << 30);
		assert_int_equal(buf_append(&in, buf_head(&from->wbuf), buf_used(&from->wbuf)), 0);
		buf_consume(&from->wbuf, buf_used(&from->wbuf));
		to->cbs->on_data(to, &in);
		assert_int_equal(buf_used(&in), 0);
		buf_free(&in);
		from->cbs->on_drain(from); /* the session sends what it held back */
	}
}

/* One round trip: the connector fills what the window allows, the edge
 * takes up to take bytes, and its window updates travel back. */
static void round_trip(size_t take)
{
	static const uint8_t chunk[64 * 1024];
	size_t room;
	while (P.cs && (room = h2_stream_room(P.cs)) > 0)
		assert_int_equal(h2_stream_write(P.cs, chunk, room < sizeof(chunk) ? room : sizeof(chunk)),
				 0);
	hop(P.cc, P.ec);
	size_t n = take < P.held ? take : P.held;
	if (n) {
		P.held -= n;
		h2_stream_consume(P.es, n);
	}
	hop(P.ec, P.cc);
}

static void pair_open(void)
{
	static const conn_cbs_t none = {0};
	memset(&P, 0, sizeof(P));
	h2_set_clock(clock_fn);
	P.ec = conn_new(uv_default_loop(), &none, NULL);
	P.cc = conn_new(uv_default_loop(), &none, NULL);
	P.ec->opened = P.cc->opened = true; /* open: the first PING goes out at once */
	P.edge = h2_session_new(P.ec, false, &edge_session_cbs, NULL);
	P.conn = h2_session_new(P.cc, true, &conn_session_cbs, NULL);
	assert_non_null(P.edge);
	assert_non_null(P.conn);
	nghttp2_nv nva[] = {h2_nv(":method", "CONNECT"), h2_nv(":authority", "ssh.site.test")};
	P.es = h2_submit(P.edge, nva, 2, &edge_stream_cbs, NULL);
	assert_non_null(P.es);
	for (int i = 0; i < 3; i++) {
		hop(P.ec, P.cc);
		hop(P.cc, P.ec);
	}
	assert_non_null(P.cs);
	assert_int_equal(h2_stream_status(P.es), 200);
	assert_int_equal(h2_session_rtt(P.edge), RTT_NS);
	if (h2_share() >= H2_STREAM_WINDOW_INIT)
		assert_int_equal(h2_stream_window(P.es), H2_STREAM_WINDOW_INIT);
	else
		assert_true(h2_stream_window(P.es) <= h2_share());
}

static void pair_close(void)
{
	conn_close(P.ec);
	conn_close(P.cc);
	h2_set_clock(NULL);
}

/* A reader that takes everything at once: each round trip carries a whole
 * window, so the window is what limits; it doubles each period up to MAX,
 * and the sender may then have MAX in flight (not more). */
static void test_h2_window_grows_for_a_fast_reader(void **st)
{
	pair_open();
	size_t seen = H2_STREAM_WINDOW_INIT;
	for (int i = 0; i < 1000; i++) {
		round_trip(SIZE_MAX);
		size_t w = h2_stream_window(P.es);
		assert_true(w >= seen && w <= H2_STREAM_WINDOW_MAX);
		seen = w;
		assert_true(P.max_held <= w);
	}
	assert_int_equal(seen, H2_STREAM_WINDOW_MAX);
	/* Stop consuming: the sender fills the window and stops there. */
	P.max_held = P.held = 0;
	for (int i = 0; i < 20; i++)
		round_trip(0);
	assert_true(P.held <= H2_STREAM_WINDOW_MAX);
	assert_true(P.held >= H2_STREAM_WINDOW_MAX / 2);
	pair_close();
}

/* 2 KiB per 1 ms round trip (2 MB/s): four round trips of it are far below
 * the initial window, which stays; the reader never holds more than it. */
static void test_h2_window_stays_small_for_a_slow_reader(void **st)
{
	pair_open();
	for (int i = 0; i < 2000; i++) {
		round_trip(2048);
		assert_int_equal(h2_stream_window(P.es), H2_STREAM_WINDOW_INIT);
	}
	assert_true(P.received >= 2000 * 2048);
	assert_true(P.max_held <= H2_STREAM_WINDOW_INIT);
	pair_close();
}

/* A fast stream that slows down gives its window back, period by period,
 * down to the initial size. */
static void test_h2_window_shrinks_when_the_reader_slows(void **st)
{
	pair_open();
	for (int i = 0; i < 1000 && h2_stream_window(P.es) < H2_STREAM_WINDOW_MAX; i++)
		round_trip(SIZE_MAX);
	assert_int_equal(h2_stream_window(P.es), H2_STREAM_WINDOW_MAX);
	size_t seen = H2_STREAM_WINDOW_MAX;
	for (int i = 0; i < 3000; i++) {
		round_trip(2048);
		size_t w = h2_stream_window(P.es);
		assert_true(w <= seen);
		seen = w;
	}
	assert_int_equal(seen, H2_STREAM_WINDOW_INIT);
	pair_close();
}

/* Under many streams a new one's window is its share from the first byte:
 * a sender with more to send, into a reader that takes nothing, gets no
 * more than H2_SHARE_MIN across (not H2_STREAM_WINDOW_INIT). */
static void test_h2_new_stream_window_is_its_share(void **st)
{
	h2_set_budget(1);
	pair_open();
	for (int i = 0; i < 20; i++)
		round_trip(0);
	assert_true(P.received > 0);
	assert_true(P.max_held <= H2_SHARE_MIN);
	pair_close();
}

static int budget_reset(void **st)
{
	h2_set_budget(0);
	return 0;
}

/* With few streams a new one opens at INIT at once (one WINDOW_UPDATE
 * beside its HEADERS): a sender gets INIT across in the first round trip. */
static void test_h2_new_stream_window_is_init(void **st)
{
	pair_open();
	round_trip(0);
	assert_int_equal(P.max_held, H2_STREAM_WINDOW_INIT);
	pair_close();
}

/* A sender that keeps its stream's buffer full, into a reader that takes
 * half the window per round trip: the buffer slides, and an append past
 * its end moves the unsent bytes to the front. Those moves stay within a
 * third of what is written (when the room offered ran past the end, they
 * were three times what was written). */
static void test_h2_full_buffer_moves_little(void **st)
{
	static const uint8_t chunk[64 * 1024];
	pair_open();
	size_t written = 0, moved0 = buf_moved();
	for (int i = 0; i < 500; i++) {
		size_t room;
		while (P.cs && (room = h2_stream_room(P.cs)) > 0) {
			size_t n = room < sizeof(chunk) ? room : sizeof(chunk);
			assert_int_equal(h2_stream_write(P.cs, chunk, n), 0);
			written += n;
		}
		hop(P.cc, P.ec);
		size_t n = P.held < H2_STREAM_WINDOW_INIT / 2 ? P.held : H2_STREAM_WINDOW_INIT / 2;
		P.held -= n;
		h2_stream_consume(P.es, n);
		hop(P.ec, P.cc);
	}
	size_t moved = buf_moved() - moved0;
	assert_true(written >= 500 * (size_t)H2_STREAM_WINDOW_INIT / 4);
	assert_true(moved * 3 <= written);
	pair_close();
}

/* A writer that loops over its input counts each write after the call:
 * a write that sends and drains the buffer at once must not call the
 * stream's on_drain from inside it (that writer would write the same
 * bytes twice; test_relay's edge did at a 16 KiB share). The drain it owes
 * comes with the session's next send. */
static bool in_write;
static int drains, drains_inside;
static void w_on_drain(h2_stream_t *s)
{
	drains++;
	if (in_write)
		drains_inside++;
}
static const h2_stream_cbs_t writer_cbs = {.on_drain = w_on_drain, .on_close = c_on_close};

static void test_h2_drain_never_inside_the_writers_write(void **st)
{
	static const uint8_t chunk[64 * 1024];
	h2_set_budget(1); /* share H2_SHARE_MIN: one write fills it */
	pair_open();
	h2_stream_set_cbs(P.cs, &writer_cbs, NULL);
	drains = drains_inside = 0;
	size_t room = h2_stream_room(P.cs);
	assert_true(room >= H2_SHARE_MIN / 2 && room <= sizeof(chunk));
	in_write = true;
	assert_int_equal(h2_stream_write(P.cs, chunk, room), 0);
	in_write = false;
	/* The write went out at once (but for what the conn's high water
	 * held back): the buffer fell below a quarter, its drain is owed. */
	assert_true(h2_stream_room(P.cs) >= H2_SHARE_MIN - H2_SHARE_MIN / 4);
	assert_int_equal(drains_inside, 0);
	hop(P.cc, P.ec);
	assert_true(P.received > 0);
	assert_int_equal(drains, 1);
	pair_close();
}

/* The same while another stream's on_drain writes: the send that write
 * makes must not run the first writer's on_drain either (a relay that then
 * paused waited for good: bench conc, 5 of 10,000 sessions). Both streams
 * are full behind a full conn; the first writer's next write sends both. */
static void t_on_drain(h2_stream_t *t)
{
	static const uint8_t one[1];
	assert_int_equal(h2_stream_write(t, one, 1), 0);
}
static const h2_stream_cbs_t other_writer_cbs = {.on_drain = t_on_drain};

static void test_h2_drain_never_inside_a_write_under_another(void **st)
{
	static const uint8_t chunk[64 * 1024], junk[100];
	h2_set_budget(1);
	pair_open();
	nghttp2_nv nva[] = {h2_nv(":method", "CONNECT"), h2_nv(":authority", "ssh.site.test")};
	P.es2 = h2_submit(P.edge, nva, 2, &edge_stream_cbs, NULL);
	assert_non_null(P.es2);
	hop(P.ec, P.cc);
	hop(P.cc, P.ec);
	assert_non_null(P.cs2);
	h2_stream_set_cbs(P.cs, &writer_cbs, NULL);
	h2_stream_set_cbs(P.cs2, &other_writer_cbs, NULL);
	drains = drains_inside = 0;
	/* A full conn: both writes stay queued, each owing a drain. */
	assert_int_equal(conn_write(P.cc, junk, sizeof(junk)), 0);
	conn_set_water(P.cc, 50, 10);
	size_t room = h2_stream_room(P.cs);
	assert_int_equal(h2_stream_write(P.cs, chunk, room), 0);
	assert_int_equal(h2_stream_write(P.cs2, chunk, h2_stream_room(P.cs2)), 0);
	assert_int_equal(h2_stream_room(P.cs), 0);
	/* The conn empties with no kick (the test takes its bytes). */
	buf_consume(&P.cc->wbuf, buf_used(&P.cc->wbuf));
	conn_set_water(P.cc, H2_CONN_HIGH_WATER, H2_CONN_LOW_WATER);
	in_write = true;
	assert_int_equal(h2_stream_write(P.cs, chunk, 1), 0);
	in_write = false;
	assert_true(h2_stream_room(P.cs) >= H2_SHARE_MIN - H2_SHARE_MIN / 4);
	assert_int_equal(drains_inside, 0);
	pair_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h2_window_grows_for_a_fast_reader),
	    cmocka_unit_test(test_h2_window_stays_small_for_a_slow_reader),
	    cmocka_unit_test(test_h2_window_shrinks_when_the_reader_slows),
	    cmocka_unit_test_teardown(test_h2_new_stream_window_is_its_share, budget_reset),
	    cmocka_unit_test(test_h2_new_stream_window_is_init),
	    cmocka_unit_test(test_h2_full_buffer_moves_little),
	    cmocka_unit_test_teardown(test_h2_drain_never_inside_the_writers_write, budget_reset),
	    cmocka_unit_test_teardown(test_h2_drain_never_inside_a_write_under_another, budget_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
