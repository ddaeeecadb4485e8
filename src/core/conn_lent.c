/* conn_lent.c — output a conn borrows instead of copying.
 *
 * conn_write_borrow() queues a slice of the caller's on_data input (a
 * relay's bytes bound for a plain socket) without copying it. Every slice
 * is sent with one writev per conn, or copied into the conn's wbuf for
 * what the socket did not take, before that on_data returns: the input may
 * move once it has. Plain sockets only: for a TLS conn it copies
 * (conn_write_direct is that conn's way to skip the copy).
 *
 * Must never: let a slice outlive the on_data call it points into, or
 * send a conn's bytes out of the order they were written. */
#include <stdint.h>

#include "core/conn_int.h"
#include "core/err.h"

/* Output lent by conn_write_borrow: slices of an on_data input, in the
 * order written, sent or copied before that on_data returns (deliver).
 * Kept per process, not per conn, so that an idle conn carries none of it. */
#define CONN_LENT_MAX 64
static struct lent_slice {
	conn_t *c;
	uv_buf_t b;
} lent_slices[CONN_LENT_MAX];
static unsigned lent_n;
static int delivering; /* on_data callbacks running */

/* Takes c's lent slices out of the list, into iov (in order); their total. */
static size_t lent_take(conn_t *c, uv_buf_t *iov, unsigned *k)
{
	unsigned j = 0;
	*k = 0;
	for (unsigned i = 0; i < lent_n; i++) {
		if (lent_slices[i].c == c)
			iov[(*k)++] = lent_slices[i].b;
		else
			lent_slices[j++] = lent_slices[i];
	}
	lent_n = j;
	size_t total = c->lent;
	c->lent = 0;
	return total;
}

/* Sends c's lent slices with one writev, as far as the socket takes them,
 * and copies the rest into wbuf (conn_write_borrow left room for it). */
void conn_lent_flush(conn_t *c)
{
	uv_buf_t iov[CONN_LENT_MAX];
	unsigned k;
	size_t total = lent_take(c, iov, &k);
	if (total == 0 || c->closing)
		return;
	int n = uv_try_write(c->out, iov, k);
	if (n < 0 && n != UV_EAGAIN) {
		conn_fail(c, n);
		return;
	}
	conn_mark_busy(c);
	size_t skip = n > 0 ? (size_t)n : 0;
	for (unsigned i = 0; i < k && skip < total; i++) {
		if (skip >= iov[i].len) {
			skip -= iov[i].len;
			continue;
		}
		buf_append(&c->wbuf, iov[i].base + skip, iov[i].len - skip);
		skip = 0;
	}
	conn_written(c); /* also when all left: on_flush tells an owner that waits for on_drain */
}

static void lent_flush_all(void)
{
	while (lent_n > 0)
		conn_lent_flush(lent_slices[0].c);
}

void conn_lent_drop(conn_t *c)
{
	uv_buf_t iov[CONN_LENT_MAX];
	unsigned k;
	lent_take(c, iov, &k);
}

int conn_write_borrow(conn_t *c, const void *p, size_t n)
{
	if (c->closing || c->shut_req)
		return ERR_CLOSED;
	if (c->lent + n > buf_room(&c->wbuf))
		return ERR_TOOBIG; /* what the copy after a short writev needs */
	if (n == 0)
		return 0;
	if (lent_n == CONN_LENT_MAX)
		lent_flush_all(); /* may have queued or failed c: hence the checks below */
	if (!delivering || c->tls || !c->opened || !c->out || c->writing || buf_used(&c->wbuf) > 0 ||
	    c->closing)
		return conn_write(c, p, n);
	struct lent_slice *last = lent_n ? &lent_slices[lent_n - 1] : NULL;
	if (last && last->c == c && (const char *)p == last->b.base + last->b.len)
		last->b.len += n;
	else
		lent_slices[lent_n++] =
		    (struct lent_slice){c, uv_buf_init((char *)(uintptr_t)p, (unsigned)n)};
	c->lent += n;
	if (conn_full(c))
		c->above_high = true;
	return 0;
}

void conn_lent_open(void)
{
	delivering++;
}

void conn_lent_close(void)
{
	delivering--;
	lent_flush_all();
}
