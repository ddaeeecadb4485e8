/* metrics.c — the edge's Prometheus counters (--metrics ADDR). */
#include <stdio.h>
#include <sys/resource.h>

#include "core/log.h"

#include "edge/edge.h"

static size_t render(void *data, char *out, size_t cap)
{
	const edge_t *e = data;
	const edge_metrics_t *m = &e->m;
	int n = snprintf(out, cap,
			 "# TYPE burrow_edge_sessions_total counter\nburrow_edge_sessions_total %llu\n"
			 "# TYPE burrow_edge_sessions_active gauge\nburrow_edge_sessions_active %llu\n"
			 "# TYPE burrow_edge_refused_total counter\n"
			 "burrow_edge_refused_total{status=\"401\"} %llu\nburrow_edge_refused_total{status=\"403\"} %llu\n"
			 "burrow_edge_refused_total{status=\"404\"} %llu\nburrow_edge_refused_total{status=\"502\"} %llu\n"
			 "burrow_edge_refused_total{status=\"503\"} %llu\nburrow_edge_refused_total{status=\"other\"} %llu\n"
			 "# TYPE burrow_edge_bytes_total counter\nburrow_edge_bytes_total{dir=\"up\"} %llu\n"
			 "burrow_edge_bytes_total{dir=\"down\"} %llu\n"
			 "# TYPE burrow_edge_tunnel_connections gauge\nburrow_edge_tunnel_connections %llu\n"
			 "# TYPE burrow_edge_registrations_refused_total counter\n"
			 "burrow_edge_registrations_refused_total %llu\n"
			 "# TYPE burrow_edge_tunnel_connections_dead_total counter\n"
			 "burrow_edge_tunnel_connections_dead_total %llu\n"
			 "# TYPE burrow_edge_tunnel_dead_silence_seconds_total counter\n"
			 "burrow_edge_tunnel_dead_silence_seconds_total %.3f\n"
			 "# TYPE burrow_edge_connect_retries_total counter\nburrow_edge_connect_retries_total %llu\n"
			 "# TYPE burrow_edge_accept_errors_total counter\nburrow_edge_accept_errors_total %llu\n"
			 "# TYPE burrow_edge_unauth_connections gauge\n"
			 "burrow_edge_unauth_connections{listener=\"client\"} %zu\n"
			 "burrow_edge_unauth_connections{listener=\"tunnel\"} %zu\n"
			 "# TYPE burrow_edge_unauth_refused_total counter\n"
			 "burrow_edge_unauth_refused_total{listener=\"client\"} %llu\n"
			 "burrow_edge_unauth_refused_total{listener=\"tunnel\"} %llu\n"
			 "# TYPE burrow_edge_metrics_refused_total counter\nburrow_edge_metrics_refused_total %llu\n",
			 (unsigned long long)m->sessions_total, (unsigned long long)m->sessions_active,
			 (unsigned long long)m->refused[0], (unsigned long long)m->refused[1],
			 (unsigned long long)m->refused[2], (unsigned long long)m->refused[3],
			 (unsigned long long)m->refused[4], (unsigned long long)m->refused[5],
			 (unsigned long long)m->bytes_up, (unsigned long long)m->bytes_down,
			 (unsigned long long)m->tunnel_conns, (unsigned long long)m->registrations_refused,
			 (unsigned long long)m->tunnel_conns_dead, (double)m->tunnel_dead_silent_ms / 1000,
			 (unsigned long long)m->connect_retries,
			 (unsigned long long)m->accept_errors, addrcap_total(e->unauth[EDGE_CLIENT]),
			 addrcap_total(e->unauth[EDGE_TUNNEL]), (unsigned long long)m->unauth_refused[EDGE_CLIENT],
			 (unsigned long long)m->unauth_refused[EDGE_TUNNEL],
			 (unsigned long long)metrics_http_refused(&e->metrics));
	return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

/* At most one warning every 10 s: clients knock again and again. */
static void warn_accept(edge_t *e, const char *listener, int status)
{
	uint64_t now = uv_now(e->loop);
	if (e->accept_warned_ms && now - e->accept_warned_ms < 10000)
		return;
	e->accept_warned_ms = now;
	struct rlimit rl;
	char lim[32] = "unlimited";
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), "%llu", (unsigned long long)rl.rlim_cur);
	if (status == UV_EMFILE || status == UV_ENFILE)
		log_warn("out of file descriptors (ulimit -n is %s): new %s connections are refused; raise "
			 "the limit (e.g. LimitNOFILE= in the service unit)",
			 lim, listener);
	else
		log_warn("cannot accept %s connections: %s", listener, uv_strerror(status));
}

void edge_accepted(edge_t *e, const char *listener, uv_stream_t *client)
{
	/* Descriptors are numbered lowest-first, so a high one means few are
	 * left. Once none are, libuv sheds new connections silently (its
	 * reserve-descriptor trick), so this is the last chance to say why. */
	uv_os_fd_t fd;
	struct rlimit rl;
	if (uv_fileno((uv_handle_t *)client, &fd) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY || (rlim_t)fd + 16 < rl.rlim_cur)
		return;
	warn_accept(e, listener, UV_EMFILE);
}

void edge_accept_failed(edge_t *e, const char *listener, int status)
{
	e->m.accept_errors++;
	warn_accept(e, listener, status);
}

int metrics_listen(edge_t *e, const char *addr) { return metrics_http_listen(e->loop, &e->metrics, addr, render, e); }
