/* floe_mem.h: memory for large tables (hash slots, key arenas) that grow to hundreds of MB.
 *
 * Why not plain calloc: a large calloc is a fresh mapping whose every 4 KiB page faults on
 * first touch, and on virtual machines those faults dominate building a big hash table (on
 * our 2-core VM they were ~60% of a high-cardinality aggregation). Blocks of 2 MiB and more
 * are therefore mapped 2 MiB-aligned and marked for transparent huge pages, so the kernel
 * faults them 2 MiB at a time; where THP is off this is just an ordinary mapping. Smaller
 * blocks use the C library's allocator.
 *
 * Freed large blocks are not unmapped at once: their touched pages are kept (up to 256 MiB in
 * all) and moved into the next floe_mem_scratch blocks, as first touches of fresh pages are what
 * costs on those VMs (floe_mem.c). So arrays that are written before they are read (sort keys,
 * merged arrays) should come from floe_mem_scratch.
 *
 * Every floe_mem_alloc block is zeroed. The caller passes the block's size back when growing or
 * freeing. */
#ifndef FLOE_MEM_H
#define FLOE_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* A zeroed block of `size` bytes (> 0), or NULL. */
void *floe_mem_alloc(size_t size);
/* A block of `size` bytes (> 0) whose contents are undefined, or NULL: for arrays written
 * before they are read. Freed with floe_mem_free; not to be grown. */
void *floe_mem_scratch(size_t size);
/* Grows a block from old_size to new_size (>= old_size), keeping its bytes and zeroing the
 * rest; may move it. Returns NULL (the old block untouched) when out of memory. */
void *floe_mem_grow(void *block, size_t old_size, size_t new_size);
/* Frees a block of either kind (a large one's pages are kept for the next large blocks). */
void floe_mem_free(void *block, size_t size);
/* Unmaps every kept page: for a caller done with large blocks for a while (what comes next
 * would not reuse them, and they count in its resident memory). */
void floe_mem_trim(void);

/* A ceiling on the bytes of large blocks mapped at once (those of 2 MiB and more, kept pages
 * included: the tables, their sort arrays, the detectors' logs), process-wide; 0, the start:
 * none. A large allocation that would pass it gives the kept pages back first, then fails
 * as out of memory (NULL), so a run stops with FLOE_ERR_NOMEM and a message rather than being
 * killed by the kernel. floe_mem_limit_reached says whether that happened. */
void floe_mem_set_limit(size_t bytes);
size_t floe_mem_limit(void);
bool floe_mem_limit_reached(void);
/* Bytes of large blocks mapped now, and the most at once so far. */
size_t floe_mem_mapped(void);
size_t floe_mem_mapped_peak(void);

/* Room for `need` items of item_size bytes in an array that is a floe_mem block of *cap items
 * (NULL with *cap 0 at first): grown by doubling, from first_cap, when it is short. Returns the
 * array (maybe moved) and updates *cap; NULL when out of memory, the array untouched. */
void *floe_mem_reserve(void *block, size_t *cap, size_t need, size_t item_size, size_t first_cap);

#endif
