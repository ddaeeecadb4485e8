/* store_sqlite_audit.c — the audit log's rows in SQLite (table audit,
 * migration 3): append a batch, prune by age, read with filters. */
#include <string.h>

#include "core/log.h"
#include "edge/store/store_sqlite_int.h"

int store__sq_audit_append(store_t *st, const store_audit_rec_t *recs, size_t n)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r = store__sq_begin(s);
	if (r)
		return r;
	r = store__sq_prepare(s,
			      "INSERT INTO audit (time_ms, edge, kind, event, actor, app, hostname, client, what,"
			      " status, reason, session, bytes_up, bytes_down, duration_ms)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
			      &q);
	for (size_t i = 0; i < n && r == 0; i++) {
		const store_audit_rec_t *a = &recs[i];
		const char *text[] = {a->edge,	 a->kind,   a->event,  a->actor, a->app,
				      a->hostname, a->client, a->what,   NULL,	  a->reason,
				      a->session};
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, a->time_ms);
		for (int c = 0; c < 11; c++)
			if (c != 8)
				sqlite3_bind_text(q, 2 + c, text[c] ? text[c] : "", -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 10, a->status);
		sqlite3_bind_int64(q, 13, (sqlite3_int64)a->bytes_up);
		sqlite3_bind_int64(q, 14, (sqlite3_int64)a->bytes_down);
		sqlite3_bind_int64(q, 15, a->duration_ms);
		if (sqlite3_step(q) != SQLITE_DONE)
			r = store__sq_fail(s);
	}
	sqlite3_finalize(q);
	/* (records are no configuration: the change counter stays) */
	return store__sq_end(s, r, false);
}

int store__sq_audit_prune(store_t *st, int64_t before_ms, int64_t *deleted)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(s, "DELETE FROM audit WHERE time_ms < ?1", &q);
	if (r)
		return r;
	sqlite3_bind_int64(q, 1, before_ms);
	if (sqlite3_step(q) != SQLITE_DONE)
		r = store__sq_fail(s);
	else
		*deleted = sqlite3_changes(s->db);
	sqlite3_finalize(q);
	return r;
}

static const char *col(sqlite3_stmt *q, int c)
{
	const char *v = (const char *)sqlite3_column_text(q, c);
	return v ? v : "";
}

int store__sq_audit_query(store_t *st, const store_audit_filter_t *f, store_audit_fn fn, void *arg)
{
	sq_t *s = store__sq(st);
	sqlite3_stmt *q = NULL;
	int r = store__sq_prepare(
	    s,
	    "SELECT id, time_ms, edge, kind, event, actor, app, hostname, client, what, status, reason,"
	    " session, bytes_up, bytes_down, duration_ms FROM audit"
	    " WHERE id > ?1 AND time_ms >= ?2 AND (?3 = '' OR app = ?3) AND (?4 = '' OR kind = ?4)"
	    " ORDER BY id LIMIT ?5",
	    &q);
	if (r)
		return r;
	sqlite3_bind_int64(q, 1, f->after);
	sqlite3_bind_int64(q, 2, f->since_ms);
	sqlite3_bind_text(q, 3, f->app ? f->app : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, f->kind ? f->kind : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, f->limit);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		store_audit_rec_t a = {
		    .id = sqlite3_column_int64(q, 0),
		    .time_ms = sqlite3_column_int64(q, 1),
		    .edge = col(q, 2),
		    .kind = col(q, 3),
		    .event = col(q, 4),
		    .actor = col(q, 5),
		    .app = col(q, 6),
		    .hostname = col(q, 7),
		    .client = col(q, 8),
		    .what = col(q, 9),
		    .status = sqlite3_column_int(q, 10),
		    .reason = col(q, 11),
		    .session = col(q, 12),
		    .bytes_up = (uint64_t)sqlite3_column_int64(q, 13),
		    .bytes_down = (uint64_t)sqlite3_column_int64(q, 14),
		    .duration_ms = sqlite3_column_int64(q, 15),
		};
		if ((r = fn(arg, &a)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store__sq_fail(s);
	sqlite3_finalize(q);
	return r;
}
