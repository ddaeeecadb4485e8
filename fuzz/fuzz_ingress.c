/* fuzz_ingress.c — the connector's ingress rules: --hostname/--url pairs.
 *
 * Input: lines "HOSTNAME URL" (a line without a space is a URL for the
 * catch-all rule); the last line's first word is also looked up. Checks
 * that every accepted rule names a supported scheme, a host and a port
 * that all come from its URL (nothing truncated or invented), and that a
 * lookup returns a rule that serves the name. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hostname.h"
#include "tunnel/ingress.h"

static bool port_ok(const char *url, const ingress_rule_t *r)
{
	if (strstr(url, r->port))
		return true;
	return (strcmp(r->scheme, "ssh") == 0 && strcmp(r->port, "22") == 0) ||
	       (strcmp(r->scheme, "rdp") == 0 && strcmp(r->port, "3389") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ingress_t in;
	char text[4096];
	char err[512];
	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&in, 0, sizeof(in));
	char *save = NULL, *last = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		last = line;
		char *sp = strchr(line, ' ');
		const char *host = NULL, *url = line;
		if (sp) {
			*sp = '\0';
			host = line;
			url = sp + 1;
		}
		size_t before = in.n;
		if (ingress_add(&in, host, url, err, sizeof(err)) != 0) {
			if (in.n != before || err[0] == '\0' || strchr(err, '\n'))
				abort(); /* a refusal adds nothing and says why in one line */
			continue;
		}
		const ingress_rule_t *r = &in.rules[in.n - 1];
		if (strncmp(url, r->scheme, strlen(r->scheme)) != 0 || !r->host[0] || !strstr(url, r->host) ||
		    !port_ok(url, r))
			abort();
		char *end = NULL;
		long port = strtol(r->port, &end, 10);
		if (*end || port < 1 || port > 65535)
			abort();
		if (r->hostname[0] && ingress_match(&in, r->hostname) == NULL)
			abort();
		if (sp)
			*sp = ' ';
	}
	if (last) {
		char name[HOSTNAME_MAX + 1];
		char *sp = strchr(last, ' ');
		if (sp)
			*sp = '\0';
		if (hostname_normalize(last, strlen(last), name) == 0) {
			const ingress_rule_t *r = ingress_match(&in, name);
			if (r && r->hostname[0] && strcmp(r->hostname, name) != 0)
				abort();
		}
	}
	return 0;
}
