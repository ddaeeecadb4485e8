/* sync.c — picks up what other edges commit to a shared store.
 *
 * Edges that share one data directory (one machine, or a filesystem with
 * working POSIX locks) share one database. Every write transaction moves the
 * store's change counter (store_change_version), and each model remembers
 * the version it was read at (jobs.c): this polls the counter and reloads
 * when it has moved past the model, which after this edge's own writes (it
 * reloads after each) means another edge committed. A poll is one cheap
 * read on the store thread, never on the loop. */
#include "core/log.h"
#include "edge/edge.h"

#define SYNC_INTERVAL_MS 1000

static void sync_work(edge_t *e, void *arg, bool *changed)
{
	int64_t v;
	if (store_change_version(e->store, &v) != 0)
		return;
	if (!e->sync_seen || v != e->sync_version) {
		log_debug("store: another edge committed; reloading the configuration");
		*changed = true;
	}
}

static void sync_done(edge_t *e, void *arg) { e->sync_pending = false; }

static void on_sync_timer(uv_timer_t *t)
{
	edge_t *e = t->data;
	if (e->sync_pending || e->stopping)
		return;
	e->sync_pending = true;
	if (edge_job_submit(e, sync_work, sync_done, NULL) != 0)
		e->sync_pending = false;
}

void sync_start(edge_t *e)
{
	uv_timer_init(e->loop, &e->sync_timer);
	e->sync_timer.data = e;
	uv_timer_start(&e->sync_timer, on_sync_timer, 0, SYNC_INTERVAL_MS);
	uv_unref((uv_handle_t *)&e->sync_timer);
}
