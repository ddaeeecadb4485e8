/* conn_size.c — how much a conn reads and seals at a time, and which of
 * its empty buffers it gives back.
 *
 * A conn reads and seals full chunks (64 KiB), except a conn that carries
 * one session while the process holds more than CONN_MANY conns: each
 * session's share of the link is then small, and full chunks each would
 * hold memory that moves no faster. A carrier of many sessions keeps full
 * ones. */
#include <stdint.h>

#include "core/conn_int.h"
#include "core/conn_sweep.h"
#include "core/tlsrec.h"

static bool one_of_many(const conn_t *c)
{
	return conn_sweep_count() > CONN_MANY && c->read_budget <= CONN_TURN_READ;
}

size_t conn_read_chunk(const conn_t *c)
{
	/* A handshake needs a few KiB; a peer that never finishes one should
	 * not cost a full read chunk. */
	if (c->handshaking)
		return CONN_HANDSHAKE_CHUNK;
	if (!one_of_many(c))
		return CONN_READ_CHUNK;
	if (!c->tls)
		return CONN_READ_CHUNK_MANY;
	/* Ciphertext: up to one whole record, so no more than one record's
	 * plaintext (16 KiB) waits in rbuf either. A partial record is at
	 * most 16,644 bytes: there is always room to read its rest. More
	 * than a record in tin (read before the process had many conns) is
	 * decrypted before reading on; the 1 KiB keeps the answer nonzero. */
	size_t used = buf_used(&c->tin);
	return used < CONN_TLS_IN_MANY ? CONN_TLS_IN_MANY - used : 1024;
}

size_t conn_read_offer(const conn_t *c, const buf_t *in, size_t want)
{
	/* A conn of few reads all the space it has: a 64 KiB cut made the
	 * edge read more often (bench iperf3 up: edge 0.93 -> 1.04
	 * core-s/GiB). */
	size_t space = buf_space(in);
	return space > want && one_of_many(c) ? want : space;
}

size_t conn_seal_chunk(const conn_t *c)
{
	/* 16,362 bytes seal into one record of 16,384: tout stays one 16 KiB
	 * block. A conn of few is not cut: tlsrec seals whole records until
	 * tout is full (a cut at tout's room in bytes ends in a short record). */
	return one_of_many(c) ? 16 * 1024 - TLSREC_OVERHEAD : SIZE_MAX;
}

size_t conn_free_empty(conn_t *c, size_t most, size_t most_out)
{
	struct {
		buf_t *b;
		size_t most;
	} bufs[] = {{&c->tin, most},
		    {&c->rbuf, most},
		    {&c->tout, most},
		    {&c->wbuf, most_out},
		    {&c->wflight, c->writing ? SIZE_MAX : most_out}}; /* a uv_write's bytes */
	size_t freed = 0;
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		if (buf_used(bufs[i].b) == 0 && bufs[i].b->cap > bufs[i].most) {
			freed += bufs[i].b->cap;
			buf_free(bufs[i].b);
		}
	}
	return freed;
}

void conn_fit_buffers(conn_t *c)
{
	/* Buffers grown before the process had many conns come back at the
	 * sizes reads and seals then need: tin 32 KiB, tout and rbuf 16, wbuf
	 * the session's share of H2_BUDGET (h2.h). */
	if (one_of_many(c))
		conn_free_empty(c, 32 * 1024, 128 * 1024);
}
