/* conn_sock.c — a conn's socket options, its sizes set by its owner, and
 * its peer's address: settings apart from the byte path of conn.c. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <string.h>

#include "core/conn.h"
#include "core/conn_int.h"

void conn_set_read_budget(conn_t *c, size_t n) { c->read_budget = n ? n : CONN_TURN_READ; }

void conn_set_water(conn_t *c, size_t high, size_t low)
{
	c->high_water = high;
	c->low_water = low;
	/* An owner that finds the conn full now waits for on_drain: no write
	 * may come to mark it. */
	if (conn_full(c))
		c->above_high = true;
}

/* The socket of a TCP conn; false before it has one (on_connect applies
 * the options set meanwhile) and for stdio. */
static bool tcp_fd(conn_t *c, uv_os_fd_t *fd)
{
	return !c->stdio && uv_fileno((uv_handle_t *)&c->h.tcp, fd) == 0;
}

void conn_set_notsent_lowat(conn_t *c, int n)
{
	uv_os_fd_t fd;
	c->notsent_lowat = n;
	if (!tcp_fd(c, &fd))
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &n, sizeof(n));
}

/* Linux 6.15 UAPI; older headers lack it, older kernels refuse it. */
#ifndef TCP_RTO_MIN_US
#define TCP_RTO_MIN_US 45
#endif

void conn_set_carrier(conn_t *c)
{
	uv_os_fd_t fd;
	int us = CONN_CARRIER_RTO_MIN_US;
	c->carrier = true;
	if (!tcp_fd(c, &fd))
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_RTO_MIN_US, &us, sizeof(us));
}

void conn_set_keepalive(conn_t *c, unsigned secs)
{
	uv_os_fd_t fd;
	if (secs == 0 || !tcp_fd(c, &fd))
		return;
	/* Quiet for half the bound, then three probes a sixth apart. */
	int on = 1, idle = (int)(secs / 2), intvl = (int)(secs / 6), cnt = 3;
	if (intvl < 1)
		intvl = 1;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	conn_set_user_timeout(c, secs * 1000);
}

void conn_set_user_timeout(conn_t *c, unsigned ms)
{
	uv_os_fd_t fd;
	if (!tcp_fd(c, &fd))
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

void conn_peer_ip(conn_t *c, char *out, size_t outlen, struct sockaddr_storage *ss)
{
	struct sockaddr_storage tmp;
	int len = sizeof(tmp);
	if (!ss)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	out[0] = '\0';
	if (c->stdio || uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)ss, &len) != 0)
		return;
	if (ss->ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)ss, out, outlen);
	else if (ss->ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)ss, out, outlen);
}
