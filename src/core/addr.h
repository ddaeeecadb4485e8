/* addr.h — "host:port" strings. */
#ifndef BURROW_ADDR_H
#define BURROW_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Splits "host:port", "[v6]:port" or (with default_port) a bare host into
 * host and port. Returns 0 or ERR_INVAL. */
int addr_split(const char *s, const char *default_port, char *host, size_t hostlen, char *port, size_t portlen);
/* A port to dial: p[0..n) is 1 to 5 digits, 1..65535 (no sign, space or 0).
 * 0 and the number in *out, or ERR_INVAL. */
int addr_port_parse(const char *p, size_t n, uint16_t *out);
/* Parses an IP literal with port ("127.0.0.1:8443", "[::1]:8443"). */
int addr_parse_ip(const char *s, struct sockaddr_storage *ss);

#endif
