/* duration.h — "90s", "30m", "24h", "7d", "1h30m" or plain seconds. */
#ifndef BURROW_DURATION_H
#define BURROW_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest duration accepted anywhere (100 years), so no clock arithmetic
 * overflows. */
#define DURATION_MAX ((int64_t)100 * 365 * 86400)

/* Parses "90s", "30m", "24h", "7d", compounds such as "1h30m" (units in
 * falling order, each once), or plain seconds ("3600") into *secs. Returns 0
 * or ERR_INVAL (empty, sign, space, fraction, unknown unit, above
 * DURATION_MAX). */
int duration_parse(const char *s, int64_t *secs);
/* Writes secs in the largest unit that divides it exactly: 86400 -> "24h",
 * 1800 -> "30m", 90 -> "90s". */
void duration_format(int64_t secs, char *out, size_t outlen);

#endif
