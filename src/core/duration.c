/* duration.c — durations as people type them, for every role's flags. */
#include "core/duration.h"

#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int duration_parse(const char *s, int64_t *secs)
{
	int64_t total = 0, last_mult = 0;
	const char *p = s;

	if (!s || !*s)
		return ERR_INVAL;
	while (*p) {
		int64_t n = 0, mult;
		if (!is_digit(*p))
			return ERR_INVAL;
		for (; is_digit(*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > DURATION_MAX)
				return ERR_INVAL;
		}
		switch (*p) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case '\0':
			/* Bare seconds only on their own: "1h30" is ambiguous. */
			if (last_mult)
				return ERR_INVAL;
			mult = 1;
			break;
		default: return ERR_INVAL;
		}
		if (*p)
			p++;
		/* Units in falling order, each once ("1h30m", not "30m1h"). */
		if (last_mult && mult >= last_mult)
			return ERR_INVAL;
		last_mult = mult;
		if (n > DURATION_MAX / mult)
			return ERR_INVAL;
		total += n * mult;
		if (total > DURATION_MAX)
			return ERR_INVAL;
	}
	*secs = total;
	return 0;
}

void duration_format(int64_t secs, char *out, size_t outlen)
{
	long long v = (long long)secs;

	if (v != 0 && v % 3600 == 0)
		snprintf(out, outlen, "%lldh", v / 3600);
	else if (v != 0 && v % 60 == 0)
		snprintf(out, outlen, "%lldm", v / 60);
	else
		snprintf(out, outlen, "%llds", v);
}
