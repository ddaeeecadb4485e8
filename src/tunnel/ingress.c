/* ingress.c — hostname -> origin rules. */
#include "tunnel/ingress.h"

#include <stdio.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"

static const struct {
	const char *scheme;
	const char *port;
} schemes[] = {{"ssh", "22"}, {"tcp", NULL}, {"rdp", "3389"}};

int ingress_add(ingress_t *in, const char *hostname, const char *url, char *err, size_t errlen)
{
	if (in->n >= INGRESS_MAX) {
		snprintf(err, errlen, "too many ingress rules (at most %d)", INGRESS_MAX);
		return ERR_TOOBIG;
	}
	ingress_rule_t *r = &in->rules[in->n];
	memset(r, 0, sizeof(*r));
	if (hostname && hostname_normalize(hostname, strlen(hostname), r->hostname) != 0) {
		snprintf(err, errlen, "invalid hostname %s", hostname);
		return ERR_INVAL;
	}
	const char *sep = strstr(url, "://");
	if (!sep || (size_t)(sep - url) >= sizeof(r->scheme)) {
		snprintf(err, errlen,
			 "invalid origin URL %s: expected ssh://HOST:PORT, tcp://HOST:PORT or rdp://HOST",
			 url);
		return ERR_INVAL;
	}
	memcpy(r->scheme, url, (size_t)(sep - url));
	const char *defport = NULL;
	size_t i;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcmp(r->scheme, schemes[i].scheme) == 0)
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0])) {
		snprintf(err, errlen, "unsupported origin scheme %s: use ssh://, tcp:// or rdp://",
			 r->scheme);
		return ERR_INVAL;
	}
	defport = schemes[i].port;
	char hostport[300];
	if (strlen(sep + 3) >= sizeof(hostport)) {
		snprintf(err, errlen, "origin URL too long (%zu bytes)", strlen(url));
		return ERR_INVAL;
	}
	snprintf(hostport, sizeof(hostport), "%s", sep + 3);
	char *slash = strchr(hostport, '/');
	if (slash)
		*slash = '\0';
	if (addr_split(hostport, defport, r->host, sizeof(r->host), r->port, sizeof(r->port)) != 0) {
		snprintf(err, errlen, "invalid origin address in %s%s", url,
			 defport ? "" : ": tcp:// needs a port, e.g. tcp://localhost:5432");
		return ERR_INVAL;
	}
	uint16_t port;
	/* addr_split lets strtol take " 22" or "+22", and 0 would be dialled
	 * as "any port". */
	if (addr_port_parse(r->port, strlen(r->port), &port) != 0) {
		snprintf(err, errlen, "invalid origin port in %s: use a number from 1 to 65535", url);
		return ERR_INVAL;
	}
	in->n++;
	return 0;
}

const ingress_rule_t *ingress_match(const ingress_t *in, const char *hostname)
{
	for (size_t i = 0; i < in->n; i++)
		if (in->rules[i].hostname[0] == '\0' || strcmp(in->rules[i].hostname, hostname) == 0)
			return &in->rules[i];
	return NULL;
}
