/* drain.c — the edge going away without cutting anyone off (SIGTERM).
 *
 * Listeners close first (clients and connectors reach the other edges), then
 * every connector connection gets GOAWAY: the connector dials a replacement
 * elsewhere at once, while the sessions open on this one finish. The edge
 * exits when the last tunnel connection has closed or the grace period ends.
 * Must never: cut an open session before the grace period, or wait longer. */
#include <uv.h>

#include "core/h2.h"
#include "core/log.h"
#include "edge/edge.h"

static void stop_now(edge_t *e)
{
	e->stopping = true;
	uv_stop(e->loop);
}

static void on_grace(uv_timer_t *t)
{
	edge_t *e = t->data;
	size_t n = 0;
	for (edge_session_t *s = e->sessions; s; s = s->next)
		n++;
	log_warn("grace period over; closing %zu remaining session(s)", n);
	stop_now(e);
}

static void close_listener(uv_tcp_t *l)
{
	if (l->loop && !uv_is_closing((uv_handle_t *)l))
		uv_close((uv_handle_t *)l, NULL);
}

void edge_drain(edge_t *e)
{
	if (e->draining) {
		log_info("second signal: stopping now");
		stop_now(e);
		return;
	}
	e->draining = true;
	size_t n = 0;
	for (edge_session_t *s = e->sessions; s; s = s->next)
		n++;
	log_info("draining: no new connections; %zu open session(s) may finish for %llds", n,
		 e->grace_ms / 1000);
	close_listener(&e->app_listener);
	close_listener(&e->tunnel_listener);
	tunnels_drain_all(e);
	uv_timer_init(e->loop, &e->grace);
	e->grace.data = e;
	uv_timer_start(&e->grace, on_grace, (uint64_t)e->grace_ms, 0);
	uv_unref((uv_handle_t *)&e->grace);
	edge_drain_check(e);
}

void edge_drain_check(edge_t *e)
{
	if (e->draining && !e->stopping && !e->tconns) {
		log_info("drained: every tunnel connection has closed");
		stop_now(e);
	}
}
