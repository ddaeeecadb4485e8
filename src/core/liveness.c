/* liveness.c — the liveness options and where they apply (liveness.h). */
#include "core/liveness.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/duration.h"
#include "core/err.h"

int liveness_parse(const char *interval, const char *count, const char *keepalive, liveness_t *lv, char *err,
		   size_t errlen)
{
	int64_t iv = 0, ka = 0;
	char *end = NULL;
	long n = strtol(count, &end, 10);
	if (duration_parse(interval, &iv) != 0 || iv < 1 || iv > 3600) {
		snprintf(err, errlen, "invalid --heartbeat-interval %s: 1s to 1h, e.g. 5s", interval);
		return ERR_INVAL;
	}
	if (*end || end == count || n < 2 || n > 100) {
		snprintf(err, errlen, "invalid --heartbeat-count %s: 2 to 100", count);
		return ERR_INVAL;
	}
	if (duration_parse(keepalive, &ka) != 0 || (ka != 0 && ka < 2) || ka > 86400) {
		snprintf(err, errlen, "invalid --tcp-keepalive %s: 2s to 24h, e.g. 60s (0: off)", keepalive);
		return ERR_INVAL;
	}
	lv->hb_interval_ms = (uint32_t)iv * 1000;
	lv->hb_count = (uint32_t)n;
	lv->keepalive_s = (uint32_t)ka;
	return 0;
}

void liveness_session(const liveness_t *lv, h2_session_t *h)
{
	h2_session_heartbeat(h, lv->hb_interval_ms, lv->hb_count);
}

void liveness_tunnel_socket(const liveness_t *lv, conn_t *c)
{
	/* Heartbeats judge first and say why: keepalive here is only the
	 * backstop, never sooner than twice their verdict. */
	uint32_t hb_s = lv->hb_interval_ms / 1000 * lv->hb_count;
	uint32_t ka = lv->keepalive_s && lv->keepalive_s < 2 * hb_s ? 2 * hb_s : lv->keepalive_s;
	conn_set_keepalive(c, ka);
	conn_set_user_timeout(c, lv->hb_interval_ms * (lv->hb_count + 1));
}

void liveness_socket(const liveness_t *lv, conn_t *c)
{
	conn_set_keepalive(c, lv->keepalive_s);
}
