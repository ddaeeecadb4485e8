/* conn_int.h — what conn.c shares with its sibling files (conn_lent.c),
 * not with the owners of conns. */
#ifndef BURROW_CONN_INT_H
#define BURROW_CONN_INT_H

#include "core/conn.h"

/* Records err (the first one), tells the owner (on_open or on_eof) and
 * starts the close. */
void conn_fail(conn_t *c, int err);
/* I/O happened: the next idle sweep leaves c's buffers alone. */
void conn_mark_busy(conn_t *c);
/* Output was queued: c goes on the flush list (and is full past its
 * high-water mark). */
void conn_written(conn_t *c);
/* conn_size.c: read and seal sizes, and giving buffers back. */
#define CONN_HANDSHAKE_CHUNK (16 * 1024) /* read size while handshaking */
/* How much c asks for at its next read: a handshake's few KiB, a full
 * chunk, or less when the process holds more than CONN_MANY conns. */
size_t conn_read_chunk(const conn_t *c);
/* What one read into in may take, given conn_read_chunk's want. */
size_t conn_read_offer(const conn_t *c, const buf_t *in, size_t want);
/* Plaintext of c's wbuf sealed into tout at a time: SIZE_MAX (as many
 * whole records as tout holds), or one record's worth for a one-session
 * conn among many (conn_read_chunk). */
size_t conn_seal_chunk(const conn_t *c);
/* Frees c's empty buffers whose storage exceeds most (wbuf and wflight:
 * most_out; wflight never while a write is in flight); the bytes freed.
 * The next read or write allocates again. */
size_t conn_free_empty(conn_t *c, size_t most, size_t most_out);
/* A one-session conn among many gives back empty buffers grown before the
 * process had many conns. Called after each push and pump. */
void conn_fit_buffers(conn_t *c);

/* conn_lent.c: output that conn_write_borrow lent from an on_data input. */
/* Around each on_data call: borrowing is allowed only inside, and close
 * sends or copies every lent slice before the input can move. */
void conn_lent_open(void);
void conn_lent_close(void);
/* Sends c's lent slices as far as its socket takes them, copies the rest
 * into its wbuf (before any later output of c, to keep the order). */
void conn_lent_flush(conn_t *c);
/* Forgets c's lent slices (c is closing). */
void conn_lent_drop(conn_t *c);

#endif
