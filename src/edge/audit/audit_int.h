/* audit_int.h — shared by edge/audit*.c only. */
#ifndef BURROW_EDGE_AUDIT_INT_H
#define BURROW_EDGE_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "edge/audit/audit.h"

const char *audit_kind_name(enum audit_kind k);	 /* "session", "refusal", "admin" */
const char *audit_event_name(enum audit_kind k); /* "start", "end", "refused", "change" */

/* One transaction for the batch; ERR_STORE when it failed (nothing kept). */
int audit_store_append(store_t *st, const char *edge_name, const audit_event_t *evs, size_t n);
/* Deletes records older than before_ms. */
int audit_store_prune(store_t *st, int64_t before_ms, int64_t *deleted);

#endif
