/* regmsg.h — the tunnel registration messages, both directions.
 *
 * The connector answers the edge's POST /burrow/v1/register with a request
 * (its credentials, version, connection index and hostnames); the edge
 * reports the outcome on POST /burrow/v1/registered with a result. Both are
 * small JSON objects. The parsers take untrusted bytes: bounded, strict
 * types, hostnames normalised, and fuzzed (fuzz/fuzz_regmsg.c). */
#ifndef BURROW_REGMSG_H
#define BURROW_REGMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hostname.h"

#define REG_MAX_HOSTS 64
#define REG_MAX_BODY (64 * 1024)
#define REG_MAX_SECRET 159 /* bytes; the edge issues 64 */

typedef struct reg_request {
	char tunnel_id[64];
	char secret[REG_MAX_SECRET + 1]; /* wipe with reg_request_wipe */
	size_t secret_len;
	char version[48];
	int conn_index;
	char hosts[REG_MAX_HOSTS][HOSTNAME_MAX + 1];
	size_t nhosts;
} reg_request_t;

typedef struct reg_result {
	bool ok;
	char error[512];      /* when !ok: one line for the connector's operator */
	char tunnel_name[80]; /* when ok */
	int conn_index;
	char warning[512]; /* when ok: hostnames asked for but not served, and why ("" when none) */
} reg_result_t;

/* Returns 0, or ERR_PROTO with a one-line reason in err. */
int reg_request_parse(const uint8_t *p, size_t n, reg_request_t *out, char *err, size_t errlen);
/* malloc'd JSON text (caller wipes and frees: it holds the secret); NULL on failure, or when
 * secret_len exceeds REG_MAX_SECRET. */
char *reg_request_encode(const reg_request_t *r);
void reg_request_wipe(reg_request_t *r);

int reg_result_parse(const uint8_t *p, size_t n, reg_result_t *out);
char *reg_result_encode(const reg_result_t *r);

#endif
