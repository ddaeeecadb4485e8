/* addr.c — host:port parsing. */
#include "core/addr.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/err.h"

int addr_split(const char *s, const char *default_port, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *p;
	size_t hl;
	if (!s || !*s)
		return ERR_INVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end)
			return ERR_INVAL;
		hl = (size_t)(end - s - 1);
		if (hl == 0 || hl >= hostlen)
			return ERR_INVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		p = end[1] == ':' ? end + 2 : NULL;
		if (!p && end[1] != '\0')
			return ERR_INVAL;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* bare IPv6 without brackets: no port */
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (hl == 0 || hl >= hostlen)
			return ERR_INVAL;
		memcpy(host, s, hl);
		host[hl] = '\0';
		p = colon ? colon + 1 : NULL;
	}
	if (!p) {
		if (!default_port)
			return ERR_INVAL;
		p = default_port;
	}
	char *end = NULL;
	long v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || v < 0 || v > 65535 || strlen(p) >= portlen)
		return ERR_INVAL;
	memcpy(port, p, strlen(p) + 1);
	return 0;
}

int addr_parse_ip(const char *s, struct sockaddr_storage *ss)
{
	char host[256], port[8];
	if (addr_split(s, NULL, host, sizeof(host), port, sizeof(port)) != 0)
		return ERR_INVAL;
	memset(ss, 0, sizeof(*ss));
	int p = (int)strtol(port, NULL, 10); /* addr_split checked it */
	if (uv_ip4_addr(host, p, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(host, p, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return ERR_INVAL;
}

int addr_port_parse(const char *p, size_t n, uint16_t *out)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return ERR_INVAL;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return ERR_INVAL;
	*out = (uint16_t)v;
	return 0;
}
