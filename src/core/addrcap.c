/* addrcap.c — per-address counts of live connections: a chained
 * hash table keyed by IPv4 /32 or IPv6 /64.
 *
 * Must never: keep an entry whose count is 0 (memory would grow with every
 * address ever seen), or let a peer choose the bucket its address lands in
 * (the hash is seeded). */
#include "core/addrcap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define ADDRCAP_MIN_BUCKETS 64

struct addrcap_entry {
	addrcap_entry_t *next;
	addrcap_entry_t **pprev; /* the pointer that points here: unlinking is O(1) */
	uint64_t key;		 /* the /32 or /64, as raw bytes */
	uint8_t family;		 /* 4 or 6 */
	uint32_t count;
};

struct addrcap {
	addrcap_entry_t **buckets;
	size_t nbuckets; /* a power of two */
	size_t entries;
	size_t total;
	uint32_t limit;
	uint64_t seed;
};

static bool key_of(const struct sockaddr *sa, uint8_t *family, uint64_t *key)
{
	uint8_t b[8] = {0};
	if (sa->sa_family == AF_INET) {
		memcpy(b, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		*family = 4;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(b, a->s6_addr + 12, 4);
			*family = 4;
		} else {
			memcpy(b, a->s6_addr, 8);
			*family = 6;
		}
	} else {
		return false;
	}
	memcpy(key, b, 8);
	return true;
}

static size_t bucket_of(uint64_t seed, size_t nbuckets, uint8_t family, uint64_t key)
{
	/* splitmix64's finaliser over the seeded key: every key bit reaches
	 * the low bits the mask keeps. */
	uint64_t x = (key ^ seed) + family * 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (size_t)x & (nbuckets - 1);
}

static void link_entry(addrcap_entry_t **head, addrcap_entry_t *e)
{
	e->next = *head;
	if (e->next)
		e->next->pprev = &e->next;
	e->pprev = head;
	*head = e;
}

static addrcap_entry_t *find(const addrcap_t *ac, uint8_t family, uint64_t key)
{
	addrcap_entry_t *e = ac->buckets[bucket_of(ac->seed, ac->nbuckets, family, key)];
	while (e && (e->key != key || e->family != family))
		e = e->next;
	return e;
}

/* Moves every entry into n buckets; on allocation failure the table stays
 * as it was (longer chains, still correct). */
static void resize(addrcap_t *ac, size_t n)
{
	addrcap_entry_t **nb = calloc(n, sizeof(addrcap_entry_t *));
	if (!nb)
		return;
	for (size_t i = 0; i < ac->nbuckets; i++) {
		addrcap_entry_t *e = ac->buckets[i];
		while (e) {
			addrcap_entry_t *next = e->next;
			link_entry(&nb[bucket_of(ac->seed, n, e->family, e->key)], e);
			e = next;
		}
	}
	free(ac->buckets);
	ac->buckets = nb;
	ac->nbuckets = n;
}

int addrcap_new(uint32_t limit, uint64_t seed, addrcap_t **out)
{
	addrcap_t *ac = calloc(1, sizeof(*ac));
	if (!ac)
		return ERR_NOMEM;
	ac->buckets = calloc(ADDRCAP_MIN_BUCKETS, sizeof(addrcap_entry_t *));
	if (!ac->buckets) {
		free(ac);
		return ERR_NOMEM;
	}
	ac->nbuckets = ADDRCAP_MIN_BUCKETS;
	ac->limit = limit;
	ac->seed = seed;
	*out = ac;
	return 0;
}

void addrcap_free(addrcap_t *ac)
{
	if (!ac)
		return;
	for (size_t i = 0; i < ac->nbuckets; i++) {
		addrcap_entry_t *e = ac->buckets[i];
		while (e) {
			addrcap_entry_t *next = e->next;
			free(e);
			e = next;
		}
	}
	free(ac->buckets);
	free(ac);
}

int addrcap_take(addrcap_t *ac, const struct sockaddr *addr, addrcap_entry_t **out)
{
	uint8_t family;
	uint64_t key;
	*out = NULL;
	if (!key_of(addr, &family, &key))
		return 0;
	addrcap_entry_t *e = find(ac, family, key);
	if (e) {
		if (ac->limit && e->count >= ac->limit)
			return ERR_TOOBIG;
		e->count++;
		ac->total++;
		*out = e;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return ERR_NOMEM;
	e->family = family;
	e->key = key;
	e->count = 1;
	link_entry(&ac->buckets[bucket_of(ac->seed, ac->nbuckets, family, key)], e);
	ac->entries++;
	ac->total++;
	if (ac->entries > ac->nbuckets)
		resize(ac, ac->nbuckets * 2);
	*out = e;
	return 0;
}

void addrcap_release(addrcap_t *ac, addrcap_entry_t **ent)
{
	addrcap_entry_t *e = *ent;
	if (!e)
		return;
	*ent = NULL;
	ac->total--;
	if (--e->count > 0)
		return;
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	free(e);
	ac->entries--;
	/* Shrink well below the growth point, so a count that hovers
	 * around a boundary does not resize on every accept. */
	if (ac->nbuckets > ADDRCAP_MIN_BUCKETS && ac->entries < ac->nbuckets / 8)
		resize(ac, ac->nbuckets / 2);
}

uint32_t addrcap_limit(const addrcap_t *ac)
{
	return ac->limit;
}

uint32_t addrcap_count(const addrcap_t *ac, const struct sockaddr *addr)
{
	uint8_t family;
	uint64_t key;
	if (!key_of(addr, &family, &key))
		return 0;
	const addrcap_entry_t *e = find(ac, family, key);
	return e ? e->count : 0;
}

size_t addrcap_total(const addrcap_t *ac)
{
	return ac->total;
}

size_t addrcap_entries(const addrcap_t *ac)
{
	return ac->entries;
}

size_t addrcap_buckets(const addrcap_t *ac)
{
	return ac->nbuckets;
}

void addrcap_format(const struct sockaddr *addr, char *out, size_t outlen)
{
	uint8_t family;
	uint64_t key;
	uint8_t b[16] = {0};
	char txt[INET6_ADDRSTRLEN];
	if (!key_of(addr, &family, &key)) {
		snprintf(out, outlen, "an unknown address");
		return;
	}
	memcpy(b, &key, 8);
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, b, txt, sizeof(txt)))
		snprintf(txt, sizeof(txt), "?");
	snprintf(out, outlen, "%s%s", txt, family == 6 ? "/64" : "");
}
