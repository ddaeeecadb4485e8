/* ingress.h — which origin serves which hostname on this connector.
 *
 * The origin for a stream is looked up here from the stream's hostname and
 * nothing else: stream metadata from the edge can never name an arbitrary
 * address to dial (no SSRF through the tunnel). */
#ifndef BURROW_TUNNEL_INGRESS_H
#define BURROW_TUNNEL_INGRESS_H

#include <stddef.h>

#include "core/hostname.h"

#define INGRESS_MAX 64

typedef struct ingress_rule {
	char hostname[HOSTNAME_MAX + 1]; /* normalised; "" matches any (catch-all) */
	char scheme[16];                 /* ssh, tcp, rdp */
	char host[256];
	char port[8];
} ingress_rule_t;

typedef struct ingress {
	ingress_rule_t rules[INGRESS_MAX];
	size_t n;
} ingress_t;

/* Adds hostname -> url ("ssh://localhost:22", "tcp://10.0.0.5:5432",
 * "rdp://host"). Writes a one-line reason into err on failure. */
int ingress_add(ingress_t *in, const char *hostname, const char *url, char *err, size_t errlen);
/* The rule for a normalised hostname, or NULL. */
const ingress_rule_t *ingress_match(const ingress_t *in, const char *hostname);

#endif
