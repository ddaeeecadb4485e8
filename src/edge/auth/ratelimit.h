/* ratelimit.h — failed-credential counting per client address and per
 * presented id.
 *
 * Secrets are compared in constant time, but an attacker could still try
 * many. After RL_MAX_FAILURES failures within RL_WINDOW_MS from one address
 * (IPv4 /32, IPv6 /64), or presenting one id (a service token's client id,
 * "admin"), further failures are answered 429 until the window ends. The
 * caller (edge/auth/authn.c) lets correct credentials pass regardless, so a
 * neighbour failing behind the same NAT locks nobody out. The tables are
 * bounded: when full, the stalest entry is reused. */
#ifndef BURROW_EDGE_RATELIMIT_H
#define BURROW_EDGE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define RL_SLOTS 4096
#define RL_MAX_FAILURES 10
#define RL_WINDOW_MS 60000

typedef struct rl_entry {
	uint8_t key[8];
	uint8_t used;
	uint32_t failures;
	uint64_t window_start;
} rl_entry_t;

typedef struct ratelimit {
	rl_entry_t slots[RL_SLOTS]; /* per address */
	rl_entry_t ids[RL_SLOTS];   /* per presented id */
} ratelimit_t;

/* Milliseconds the address must still wait, or 0 when it may try. */
uint64_t rl_blocked_ms(ratelimit_t *rl, const struct sockaddr_storage *addr, uint64_t now_ms);
/* Records one failed attempt. */
void rl_fail(ratelimit_t *rl, const struct sockaddr_storage *addr, uint64_t now_ms);
/* The same, counted per presented id (any bytes; hashed). */
uint64_t rl_blocked_id_ms(ratelimit_t *rl, const char *id, size_t idlen, uint64_t now_ms);
void rl_fail_id(ratelimit_t *rl, const char *id, size_t idlen, uint64_t now_ms);

#endif
