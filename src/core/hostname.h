/* hostname.h — hostname validation and normalisation.
 *
 * Used wherever a hostname arrives from outside (SNI, Host header, CLI
 * argument, admin API, connector registration) so that case, a trailing dot
 * or odd bytes can never make two spellings of one name route differently. */
#ifndef BURROW_HOSTNAME_H
#define BURROW_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_MAX 253

/* Normalises in[0..len) into out (lowercase, one trailing dot removed,
 * NUL-terminated). Accepts LDH labels (letters, digits, hyphen; no leading or
 * trailing hyphen; 1..63 bytes each), at least one label, total <= 253;
 * refuses everything else (spaces, shell metacharacters, leading '-', '_',
 * empty labels, non-ASCII — IDNs must arrive as A-labels "xn--..."). An
 * optional ":port" suffix is NOT accepted here. Returns 0 or ERR_INVAL.
 * out must hold HOSTNAME_MAX + 1 bytes. */
int hostname_normalize(const char *in, size_t len, char out[HOSTNAME_MAX + 1]);

#endif
