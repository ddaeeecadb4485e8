/* ratelimit.c — small open-addressing tables of failure counters. */
#include "edge/auth/ratelimit.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#define RL_PROBE 8

static void key_of(const struct sockaddr_storage *a, uint8_t key[8])
{
	memset(key, 0, 8);
	if (a->ss_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)a)->sin_addr, 4);
	} else if (a->ss_family == AF_INET6) {
		const uint8_t *b = ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr;
		static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(b, v4mapped, 12) == 0) {
			memcpy(key, b + 12, 4);
		} else {
			memcpy(key, b, 8); /* one /64: one attacker, many addresses */
			key[7] ^= 0x80;    /* keep v6 prefixes apart from v4 keys */
		}
	}
}

static uint32_t hash_key(const uint8_t key[8])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 8; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* The key's entry; with create, a new one in the first free slot of its
 * probe range, else in the one whose window started longest ago. */
static rl_entry_t *find(rl_entry_t *slots, const uint8_t key[8], bool create, uint64_t now)
{
	uint32_t h = hash_key(key);
	rl_entry_t *victim = NULL;
	for (int i = 0; i < RL_PROBE; i++) {
		rl_entry_t *e = &slots[(h + (uint32_t)i) % RL_SLOTS];
		if (e->used && memcmp(e->key, key, 8) == 0)
			return e;
		if (!victim || (victim->used && (!e->used || e->window_start < victim->window_start)))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, 8);
	victim->used = 1;
	victim->window_start = now;
	return victim;
}

static uint64_t blocked(rl_entry_t *slots, const uint8_t key[8], uint64_t now_ms)
{
	rl_entry_t *e = find(slots, key, false, now_ms);
	if (!e || now_ms - e->window_start >= RL_WINDOW_MS || e->failures < RL_MAX_FAILURES)
		return 0;
	return RL_WINDOW_MS - (now_ms - e->window_start);
}

static void count_failure(rl_entry_t *slots, const uint8_t key[8], uint64_t now_ms)
{
	rl_entry_t *e = find(slots, key, true, now_ms);
	if (!e)
		return;
	if (now_ms - e->window_start >= RL_WINDOW_MS) {
		e->window_start = now_ms;
		e->failures = 0;
	}
	e->failures++;
}

/* FNV-1a, 64 bits: ids are chosen by whoever presents them, but a
 * collision only makes some wrong attempts 429 instead of 401. */
static void id_key(const char *id, size_t idlen, uint8_t key[8])
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < idlen; i++)
		h = (h ^ (uint8_t)id[i]) * 1099511628211ull;
	memcpy(key, &h, 8);
}

uint64_t rl_blocked_ms(ratelimit_t *rl, const struct sockaddr_storage *addr, uint64_t now_ms)
{
	uint8_t key[8];
	key_of(addr, key);
	return blocked(rl->slots, key, now_ms);
}

void rl_fail(ratelimit_t *rl, const struct sockaddr_storage *addr, uint64_t now_ms)
{
	uint8_t key[8];
	key_of(addr, key);
	count_failure(rl->slots, key, now_ms);
}

uint64_t rl_blocked_id_ms(ratelimit_t *rl, const char *id, size_t idlen, uint64_t now_ms)
{
	uint8_t key[8];
	id_key(id, idlen, key);
	return blocked(rl->ids, key, now_ms);
}

void rl_fail_id(ratelimit_t *rl, const char *id, size_t idlen, uint64_t now_ms)
{
	uint8_t key[8];
	id_key(id, idlen, key);
	count_failure(rl->ids, key, now_ms);
}
