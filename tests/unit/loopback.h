/* loopback.h — a listening TCP socket on 127.0.0.1 for unit tests that run
 * real conns on a real loop (include after cmocka.h and core/conn.h). */
#ifndef BURROW_TEST_LOOPBACK_H
#define BURROW_TEST_LOOPBACK_H

/* Listens on a free port of 127.0.0.1; bound gets the address. */
static void loopback_listen(uv_loop_t *loop, uv_tcp_t *t, uv_connection_cb cb, struct sockaddr_in *bound)
{
	struct sockaddr_in sa;
	int len = sizeof(*bound);
	uv_ip4_addr("127.0.0.1", 0, &sa);
	assert_int_equal(uv_tcp_init(loop, t), 0);
	assert_int_equal(uv_tcp_bind(t, (struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)t, 16, cb), 0);
	assert_int_equal(uv_tcp_getsockname(t, (struct sockaddr *)bound, &len), 0);
}

#endif
