/* conn_sweep.c — gives idle conns' buffers back.
 *
 * Every live conn is on one list, swept every CONN_IDLE_MS: a conn that did
 * no I/O for a whole period (conn.c clears busy on I/O) releases its empty
 * buffers, OpenSSL's record buffers and tlsrec's cipher contexts, so an
 * idle session costs its few small structs and little else. Sweeping
 * instead of freeing on every empty buffer keeps busy conns free of
 * malloc churn. */
#include "core/conn_sweep.h"

#include "core/conn_int.h"

#include "core/tlsrec.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#define CONN_TRIM_RETURN (256 * 1024) /* bytes freed by a sweep before malloc_trim() */

static conn_t *all_head;
static uv_timer_t sweeper;
static size_t freed_since_sweep; /* by closed conns, roughly */
static size_t live;

/* Releases the storage of every empty buffer; OpenSSL's record buffers
 * too. Everything is reallocated on demand by the next read or write. */
static size_t conn_trim(conn_t *c)
{
	size_t freed = 0;
	if (c->trimmed || c->closing || c->writing || c->handshaking || c->in_pump)
		return 0;
	freed += conn_free_empty(c, 0, 0);
	/* OpenSSL refuses while a record is half read; its two buffers hold
	 * about 17 KiB each. */
	if (c->ssl && SSL_free_buffers(c->ssl))
		freed += 2 * 17 * 1024;
	/* Our record layer's two cipher contexts, about 1 KiB each. */
	if (c->rec) {
		tlsrec_idle(c->rec);
		freed += 2 * 1024;
	}
	c->trimmed = true;
	return freed;
}

static void on_sweep(uv_timer_t *t)
{
	size_t freed = freed_since_sweep;
	freed_since_sweep = 0;
	for (conn_t *c = all_head; c; c = c->all_next) {
		if (c->cbs && c->cbs->on_sweep && !c->closing)
			c->cbs->on_sweep(c);
		if (c->busy)
			c->busy = false;
		else
			freed += conn_trim(c);
	}
#ifdef __GLIBC__
	/* free() keeps pages inside the heap resident; hand them back when a
	 * sweep released something worth a system call. */
	if (freed >= CONN_TRIM_RETURN)
		malloc_trim(0);
#endif
}

void conn_sweep_start(uv_loop_t *loop)
{
	uv_timer_init(loop, &sweeper);
	uv_timer_start(&sweeper, on_sweep, CONN_IDLE_MS, CONN_IDLE_MS);
	uv_unref((uv_handle_t *)&sweeper);
}

void conn_sweep_add(conn_t *c)
{
	live++;
	c->all_prev = NULL;
	c->all_next = all_head;
	if (all_head)
		all_head->all_prev = c;
	all_head = c;
}

size_t conn_sweep_count(void)
{
	return live;
}

void conn_sweep_remove(conn_t *c)
{
	live--;
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		all_head = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	freed_since_sweep +=
	    sizeof(*c) + c->rbuf.cap + c->wbuf.cap + c->wflight.cap + c->tin.cap + c->tout.cap;
	if (c->ssl)
		freed_since_sweep += 16 * 1024; /* OpenSSL's state, roughly */
	else if (c->rec)
		freed_since_sweep += 2 * 1024; /* two cipher contexts */
}
