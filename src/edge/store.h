/* store.h — the edge's persistent state in SQLite (one file in the data dir,
 * WAL mode, numbered migrations applied at open).
 *
 * Every function here blocks: call them only from libuv worker threads
 * (uv_queue_work) or before the event loop starts. A store_t may be used by
 * one thread at a time; callers serialise (the edge runs at most one store
 * job at a time). Secrets are never stored, only their SHA-256. */
#ifndef BURROW_EDGE_STORE_H
#define BURROW_EDGE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

/* Opens (creating if needed, mode 0600) and migrates the database at path.
 * On failure writes a one-line reason into err. */
int store_open(const char *path, store_t **out, char *err, size_t errlen);
void store_close(store_t *st);
/* The underlying sqlite3 handle, for model_load and admin_api. */
struct sqlite3 *store_db(store_t *st);
/* Current schema version (number of migrations applied). */
int store_schema_version(store_t *st);

/* SQLite's data_version: changes whenever another connection (another edge
 * sharing the database) committed since the last call. */
int store_data_version(store_t *st, int64_t *out);

#endif
