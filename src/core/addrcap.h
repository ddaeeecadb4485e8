/* addrcap.h — live connections counted per source address.
 *
 * One peer address must not hold every descriptor a process has with
 * connections that never finish their handshake (the edge's listeners) or
 * never send a request (a metrics listener): each is closed after a
 * timeout, but a peer can open new ones as fast as old ones go. The owner
 * takes one count for a connection at accept and releases it once the
 * connection has authenticated or closed; a take beyond the limit is
 * refused. Addresses are IPv4 /32s and IPv6 /64s (whoever has one IPv6
 * address usually has the whole /64); IPv4-mapped IPv6 addresses count as
 * their IPv4 address.
 *
 * Memory: one entry per address with a live count, freed when the count
 * falls to 0; the hash table grows and shrinks with the number of entries.
 * Taking and releasing are O(1) (amortised over the table's resizes). */
#ifndef BURROW_CORE_ADDRCAP_H
#define BURROW_CORE_ADDRCAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct addrcap addrcap_t;
typedef struct addrcap_entry addrcap_entry_t;

/* limit: counts allowed per address, 0 for no limit (counted all the
 * same). seed: random bits that keep the hash unpredictable to peers. */
int addrcap_new(uint32_t limit, uint64_t seed, addrcap_t **out);
/* Frees the table and every entry, live counts or not (edge shutdown). */
void addrcap_free(addrcap_t *ac);

/* Counts one connection from addr. Returns 0 and sets *out (NULL when
 * addr is neither IPv4 nor IPv6: nothing to count), ERR_TOOBIG when the
 * address is at the limit (nothing counted), or ERR_NOMEM. */
int addrcap_take(addrcap_t *ac, const struct sockaddr *addr, addrcap_entry_t **out);
/* Releases the count *ent holds and sets *ent to NULL; NULL is a no-op, so
 * a caller that releases from several paths releases exactly once. */
void addrcap_release(addrcap_t *ac, addrcap_entry_t **ent);

uint32_t addrcap_limit(const addrcap_t *ac);
/* Live count of addr's /32 or /64. */
uint32_t addrcap_count(const addrcap_t *ac, const struct sockaddr *addr);
/* Live counts over all addresses. */
size_t addrcap_total(const addrcap_t *ac);
/* Addresses with a live count (entries in the table). */
size_t addrcap_entries(const addrcap_t *ac);
/* Hash buckets (for tests of the table's growth and shrinking). */
size_t addrcap_buckets(const addrcap_t *ac);

/* The counted unit as text: "203.0.113.7" or "2001:db8:1:2::/64". */
void addrcap_format(const struct sockaddr *addr, char *out, size_t outlen);

#endif
