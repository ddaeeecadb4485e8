/* audit.c — events in: a log line, metrics counters and the audit log out
 * (see audit.h).
 *
 * Events wait in a bounded in-memory queue; once a second a store job writes
 * them in one transaction (off the loop), appends them to --audit-log, and
 * once an hour prunes records past the retention. A batch the store could not
 * take (a full disk) goes back to the queue's front and is tried again; past
 * the queue's bound new events are dropped and counted, never blocking a
 * session. Must never: log or store a secret, or block the loop on I/O. */
#include "edge/audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/audit/audit_int.h"
#include "edge/edge.h"

#define AUDIT_QUEUE_MAX 4096	 /* events waiting for a flush; more are dropped (counted) */
#define AUDIT_FLUSH_MS 1000	 /* how often the queue goes to the store */
#define AUDIT_PRUNE_MS 3600000ll /* how often old records are pruned */

struct audit {
	edge_t *e;
	char edge_name[160];
	int64_t retention_ms;
	int fd; /* --audit-log, or -1 */
	audit_event_t *q;
	size_t n, cap;
	bool flushing; /* a batch is in a store job */
	uv_timer_t timer;
	uint64_t dropped;
	uint64_t dropped_warned_ms;
	int64_t last_prune_ms;
};

typedef struct audit_batch {
	audit_t *a;
	audit_event_t *evs;
	size_t n;
	bool prune;
	int rc;
	int file_err; /* errno of a failed --audit-log write, or 0 */
} audit_batch_t;

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int status_slot(int status)
{
	switch (status) {
	case 401: return 0;
	case 403: return 1;
	case 404: return 2;
	case 502: return 3;
	case 503: return 4;
	default: return 5;
	}
}

/* The log line and the counters: the same record the audit log keeps. */
static void log_and_count(edge_t *e, const audit_event_t *ev)
{
	const char *actor = ev->actor[0] ? ev->actor : "anonymous";
	switch (ev->kind) {
	case AUDIT_SESSION_START:
		e->m.sessions_total++;
		e->m.sessions_active++;
		log_info("session %s -> %s from %s started", actor, ev->host, ev->client);
		break;
	case AUDIT_SESSION_END:
		e->m.sessions_active--;
		e->m.bytes_up += ev->bytes_up;
		e->m.bytes_down += ev->bytes_down;
		log_info("session %s -> %s from %s ended after %llds: %llu bytes up, %llu down%s", actor,
			 ev->host, ev->client, (long long)(ev->duration_ms / 1000),
			 (unsigned long long)ev->bytes_up, (unsigned long long)ev->bytes_down,
			 ev->reset ? " (reset)" : "");
		break;
	case AUDIT_REFUSAL:
		e->m.refused[status_slot(ev->status)]++;
		log_info("refused %s %s from %s: %d %s", actor, ev->host[0] ? ev->host : "-", ev->client,
			 ev->status, ev->reason);
		break;
	case AUDIT_ADMIN_REFUSAL:
		e->m.refused[status_slot(ev->status)]++;
		log_info("admin API: refused %s from %s: %s", ev->what, ev->client, ev->reason);
		break;
	case AUDIT_ADMIN: log_info("admin API: %s from %s: %d", ev->what, ev->client, ev->status); break;
	case AUDIT_LOGIN: log_info("login: %s from %s via %s", actor, ev->client, ev->reason); break;
	case AUDIT_LOGIN_FAILED:
		log_info("login failed: %s from %s: %d %s", actor, ev->client, ev->status, ev->reason);
		break;
	case AUDIT_DECISION:
		log_info("app token for %s %s to %s: %d %s", actor, ev->status == 200 ? "issued" : "refused",
			 ev->app[0] ? ev->app : ev->host, ev->status, ev->reason);
		break;
	}
}

void audit_emit(edge_t *e, audit_event_t *ev)
{
	ev->time_ms = wall_ms();
	log_and_count(e, ev);
	audit_t *a = e->audit;
	if (!a)
		return;
	if (a->n == a->cap && a->cap < AUDIT_QUEUE_MAX) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		audit_event_t *q = realloc(a->q, cap * sizeof(*q));
		if (q) {
			a->q = q;
			a->cap = cap;
		}
	}
	if (a->n == a->cap) {
		a->dropped++;
		uint64_t now = uv_now(e->loop);
		if (now - a->dropped_warned_ms >= 10000 || !a->dropped_warned_ms) {
			a->dropped_warned_ms = now;
			log_warn("audit: %llu record(s) dropped so far: the store does not keep up (is the "
				 "disk full?)",
				 (unsigned long long)a->dropped);
		}
		return;
	}
	a->q[a->n++] = *ev;
}

void audit_session_id(char out[17])
{
	uint8_t b[8];
	RAND_bytes(b, sizeof(b));
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void audit_describe_admin(const char *method, const char *path, const uint8_t *body, size_t len, char *out,
			  size_t outlen)
{
	const char *name = NULL, *key = "name";
	json_t *j = len ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	json_t *n = json_is_object(j) ? json_object_get(j, "name") : NULL;
	/* users and revocations are named by their email (a password is never echoed) */
	if (!n && json_is_object(j) && (n = json_object_get(j, "email")) != NULL)
		key = "email";
	if (json_is_string(n) && json_string_length(n) <= (strcmp(key, "email") == 0 ? 254u : 64u)) {
		name = json_string_value(n);
		for (const char *p = name; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				name = NULL; /* (only a printable name is echoed) */
	}
	if (name)
		snprintf(out, outlen, "%s %.100s %s=%s", method, path, key, name);
	else
		snprintf(out, outlen, "%s %.140s", method, path);
	json_decref(j);
}

/* ---- flushing (store thread) ---- */

static void write_lines(audit_t *a, audit_batch_t *b)
{
	for (size_t i = 0; i < b->n && !b->file_err; i++) {
		const audit_event_t *ev = &b->evs[i];
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:I,s:I}",
				      "time_ms", (json_int_t)ev->time_ms, "edge", a->edge_name, "kind",
				      audit_kind_name(ev->kind), "event", audit_event_name(ev->kind), "actor",
				      ev->actor, "app", ev->app, "hostname", ev->host, "client", ev->client,
				      "what", ev->what, "status", ev->status, "reason", ev->reason, "session",
				      ev->session, "bytes_up", (json_int_t)ev->bytes_up, "bytes_down",
				      (json_int_t)ev->bytes_down, "duration_ms", (json_int_t)ev->duration_ms);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!line) {
			b->file_err = ENOMEM;
			break;
		}
		size_t len = strlen(line);
		line[len] = '\n'; /* (json_dumps' NUL becomes the newline) */
		ssize_t w = write(a->fd, line, len + 1);
		if (w != (ssize_t)(len + 1))
			b->file_err = w < 0 ? errno : ENOSPC;
		free(line);
	}
}

static void flush_work(edge_t *e, void *arg, bool *changed)
{
	audit_batch_t *b = arg;
	audit_t *a = b->a;
	*changed = false;
	b->rc = b->n ? audit_store_append(e->store, a->edge_name, b->evs, b->n) : 0;
	if (b->rc == 0 && a->fd >= 0)
		write_lines(a, b);
	if (b->prune) {
		int64_t deleted = 0;
		if (audit_store_prune(e->store, wall_ms() - a->retention_ms, &deleted) == 0 && deleted > 0)
			log_info("audit: pruned %lld record(s) older than the retention", (long long)deleted);
	}
}

static void flush_done(edge_t *e, void *arg)
{
	audit_batch_t *b = arg;
	audit_t *a = b->a;
	a->flushing = false;
	if (b->file_err)
		log_warn("audit: cannot append to the --audit-log file: %s", strerror(b->file_err));
	if (b->rc != 0) {
		/* Kept for the next try, in order, as far as the bound allows. */
		size_t room = AUDIT_QUEUE_MAX - a->n;
		size_t keep = b->n < room ? b->n : room;
		if (a->n + keep > a->cap) {
			audit_event_t *q = realloc(a->q, (a->n + keep) * sizeof(*q));
			keep = q ? keep : 0;
			if (q) {
				a->q = q;
				a->cap = a->n + keep;
			}
		}
		memmove(a->q + keep, a->q, a->n * sizeof(*a->q));
		memcpy(a->q, b->evs, keep * sizeof(*a->q));
		a->n += keep;
		a->dropped += b->n - keep;
	}
	free(b->evs);
	free(b);
}

static void on_flush_timer(uv_timer_t *t)
{
	audit_t *a = t->data;
	edge_t *e = a->e;
	int64_t now = wall_ms();
	bool prune = now - a->last_prune_ms >= AUDIT_PRUNE_MS;
	if (a->flushing || (a->n == 0 && !prune))
		return;
	audit_batch_t *b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->a = a;
	b->evs = a->q;
	b->n = a->n;
	b->prune = prune;
	a->q = NULL;
	a->n = a->cap = 0;
	if (prune)
		a->last_prune_ms = now;
	a->flushing = true;
	if (edge_job_submit(e, flush_work, flush_done, b) != 0) {
		a->flushing = false;
		a->q = b->evs; /* try again next second */
		a->n = a->cap = b->n;
		free(b);
	}
}

int audit_start(edge_t *e, const audit_opts_t *o, char *err, size_t errlen)
{
	audit_t *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	a->e = e;
	a->fd = -1;
	a->retention_ms = o->retention_s * 1000;
	snprintf(a->edge_name, sizeof(a->edge_name), "%s", o->edge_name);
	if (o->file) {
		a->fd = open(o->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (a->fd < 0) {
			snprintf(err, errlen, "cannot open --audit-log %s: %s", o->file, strerror(errno));
			free(a);
			return ERR_INVAL;
		}
	}
	a->last_prune_ms = 0; /* the first flush prunes */
	uv_timer_init(e->loop, &a->timer);
	a->timer.data = a;
	uv_timer_start(&a->timer, on_flush_timer, AUDIT_FLUSH_MS, AUDIT_FLUSH_MS);
	uv_unref((uv_handle_t *)&a->timer);
	e->audit = a;
	return 0;
}

static void audit_closed(uv_handle_t *h)
{
	free(h->data);
}

void audit_hold(edge_t *e)
{
	if (e->audit)
		uv_timer_stop(&e->audit->timer);
}

void audit_stop(edge_t *e)
{
	audit_t *a = e->audit;
	if (!a)
		return;
	/* The loop has stopped; a store job still out would race us. */
	if (a->n && !a->flushing && audit_store_append(e->store, a->edge_name, a->q, a->n) == 0 &&
	    a->fd >= 0) {
		audit_batch_t b = {.a = a, .evs = a->q, .n = a->n};
		write_lines(a, &b);
	}
	if (a->fd >= 0)
		close(a->fd);
	free(a->q);
	a->q = NULL;
	a->n = 0;
	e->audit = NULL;
	uv_close((uv_handle_t *)&a->timer, audit_closed);
	uv_run(e->loop, UV_RUN_NOWAIT); /* (runs the close callback) */
}
