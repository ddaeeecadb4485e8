/* conn_sweep.h — the idle sweep of conns (internal to conn.c). */
#ifndef BURROW_CONN_SWEEP_H
#define BURROW_CONN_SWEEP_H

#include "core/conn.h"

/* Starts the sweep timer on the process's loop (once). */
void conn_sweep_start(uv_loop_t *loop);
/* A new conn joins the sweep; a freed one leaves it (its buffers count
 * toward the next malloc_trim). */
void conn_sweep_add(conn_t *c);
void conn_sweep_remove(conn_t *c);
/* Conns alive in the process. */
size_t conn_sweep_count(void);

#endif
