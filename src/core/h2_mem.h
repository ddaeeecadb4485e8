/* h2_mem.h — the allocator nghttp2 sessions use (nghttp2_mem). */
#ifndef BURROW_H2_MEM_H
#define BURROW_H2_MEM_H

#include <nghttp2/nghttp2.h>

/* Small blocks on slabs by size class, larger ones from malloc. For the
 * sessions of one thread. */
nghttp2_mem *h2_mem(void);

#endif
