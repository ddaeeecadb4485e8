/* jobs.c — runs store work on libuv's thread pool, one job at a time.
 *
 * The loop thread never touches the store. Jobs run in submission order, so an
 * admin write and the model reload it triggers can never interleave with
 * another write. */
#include <openssl/crypto.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/edge.h"

struct edge_job {
	uv_work_t req;
	edge_t *e;
	edge_job_work work;
	edge_job_done done;
	void *arg;
	bool changed;
	model_t *fresh; /* reloaded model, when changed */
	edge_job_t *next;
};

static void job_start_next(edge_t *e);

static void job_work(uv_work_t *req)
{
	edge_job_t *j = req->data;
	j->work(j->e, j->arg, &j->changed);
	if (j->changed && store_load_model(j->e->store, &j->fresh) != 0) {
		log_error("store: reloading the configuration failed; keeping the previous one");
		j->fresh = NULL;
	}
	/* what sync.c compares the store's change counter with */
	if (j->fresh) {
		j->e->sync_version = j->fresh->version;
		j->e->sync_seen = true;
	}
	/* OpenSSL keeps per-thread state (its error queue: reading a key's PEM,
	 * making a key); libuv's pool threads outlive OpenSSL's exit handler, so
	 * that state is freed here rather than lost (valgrind: t_valgrind). */
	OPENSSL_thread_stop();
}

static void job_after(uv_work_t *req, int status)
{
	edge_job_t *j = req->data;
	edge_t *e = j->e;
	if (j->fresh) {
		model_free(e->model);
		e->model = j->fresh;
		sessions_check(e); /* first: a session ends with its own reason, not with its tunnel */
		tunnels_model_changed(e);
	}
	if (j->done)
		j->done(e, j->arg);
	e->job_running = false;
	free(j);
	job_start_next(e);
}

static void job_start_next(edge_t *e)
{
	if (e->job_running || !e->jobs)
		return;
	edge_job_t *j = e->jobs;
	e->jobs = j->next;
	if (!e->jobs)
		e->jobs_tail = NULL;
	e->job_running = true;
	j->req.data = j;
	if (uv_queue_work(e->loop, &j->req, job_work, job_after) != 0) {
		/* Cannot happen with a valid loop; run the completion so callers
		 * always hear back. */
		e->job_running = false;
		if (j->done)
			j->done(e, j->arg);
		free(j);
	}
}

int edge_job_submit(edge_t *e, edge_job_work work, edge_job_done done, void *arg)
{
	edge_job_t *j = calloc(1, sizeof(*j));
	if (!j)
		return ERR_NOMEM;
	j->e = e;
	j->work = work;
	j->done = done;
	j->arg = arg;
	if (e->jobs_tail)
		e->jobs_tail->next = j;
	else
		e->jobs = j;
	e->jobs_tail = j;
	job_start_next(e);
	return 0;
}
