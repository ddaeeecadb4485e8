/* hostname.c — hostname validation and normalisation.
 *
 * The one place that decides what a hostname is. It must never accept a byte
 * outside [A-Za-z0-9.-], so names from SNI, Host headers or the admin API can
 * go into logs, SQL parameters and DNS answers without further escaping. */
#include "core/hostname.h"

#include "core/err.h"

#define LABEL_MAX 63

static int ldh_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static char lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

int hostname_normalize(const char *in, size_t len, char out[HOSTNAME_MAX + 1])
{
	out[0] = '\0';
	if (!in)
		return ERR_INVAL;
	/* "host." and "host" are one name; only one trailing dot is dropped, so ".." stays invalid */
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > HOSTNAME_MAX)
		return ERR_INVAL;

	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '.') {
			if (label == 0 || in[i - 1] == '-')
				goto bad;
			label = 0;
			out[i] = '.';
			continue;
		}
		if (!ldh_byte(c))
			goto bad;
		if (c == '-' && label == 0)
			goto bad;
		if (++label > LABEL_MAX)
			goto bad;
		out[i] = lower(c);
	}
	/* an empty last label ("a..") or one ending in '-' */
	if (label == 0 || in[len - 1] == '-')
		goto bad;
	out[len] = '\0';
	return 0;
bad:
	out[0] = '\0';
	return ERR_INVAL;
}
