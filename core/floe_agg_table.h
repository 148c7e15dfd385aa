/* floe_agg_table.h: the hash table under floe_agg (private to core/floe_agg*.c).
 *
 * One table holds the groups of one partition of a floe_agg. Groups are records in an arena of
 * blocks, in creation order, each
 *     [measures][id][key_len][key bytes][padding to 8]
 * so a lookup that finds its slot reads the key and updates the measures in one place, and
 * records never move (their addresses stay valid while the table lives). The slot array holds
 * one 8-byte word a slot: the record's reference (block and 8-byte unit) in the low 40 bits and
 * 24 bits of the key's hash above, so most mismatches are rejected without touching the record;
 * 0 is an empty slot (references start at 1). The first block is small (256 KiB, from malloc)
 * so that many small tables stay small; later blocks are 16 MiB floe_mem blocks (huge pages).
 *
 * Not thread-safe; different tables may be used by different threads at once. */
#ifndef FLOE_AGG_TABLE_H
#define FLOE_AGG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_agg.h"
#include "floe_distinct.h"
#include "floe_status.h"

typedef struct floe_agg_record {
    floe_agg_measures m;
    uint32_t id; /* creation order in its table: its sketches are sketches[id * ndistinct ...] */
    uint32_t key_len;
    uint8_t key[];
} floe_agg_record;

/* Longest key a record can hold. */
#define FLOE_AGG_MAX_KEY_BYTES (((size_t)1 << 24) - 128)

typedef struct floe_agg_table {
    uint64_t *slots; /* open addressing, linear probing; capacity a power of two */
    size_t capacity;
    size_t count;
    uint8_t **blocks; /* the record arena */
    size_t nblocks;
    size_t nspare; /* emptied blocks kept for reuse, at blocks[nblocks, nblocks + nspare) */
    size_t blocks_cap;
    size_t block_used; /* bytes used in the last block */
    unsigned ndistinct;
    floe_distinct *sketches; /* ndistinct per group, by record id */
    size_t sketches_cap;     /* groups the sketch array has room for */
} floe_agg_table;

floe_status floe_agg_table_init(floe_agg_table *t, unsigned ndistinct);
void floe_agg_table_free(floe_agg_table *t);
size_t floe_agg_table_memory(const floe_agg_table *t);

/* The hash every key is stored under: 8 bytes at a time, multiply and xor-shift. */
uint64_t floe_agg_hash_key(const uint8_t *p, size_t n);

/* The slot a hash starts probing at, to prefetch it. */
static inline const uint64_t *floe_agg_table_slot(const floe_agg_table *t, uint64_t hash) {
    return t->capacity > 0 ? &t->slots[hash & (t->capacity - 1)] : t->slots;
}

/* A slot: 0 (empty), or 24 bits of the key's hash above a 40-bit reference: (block * units
 * per block + 8-byte unit in the block) + 1. */
#define FLOE_AGG_REF_BITS    40
#define FLOE_AGG_REF_MASK    ((UINT64_C(1) << FLOE_AGG_REF_BITS) - 1)
#define FLOE_AGG_BLOCK_SHIFT 24 /* blocks after the first: 16 MiB */
#define FLOE_AGG_UNIT_SHIFT  3  /* records are 8-byte aligned */
#define FLOE_AGG_BLOCK_UNITS ((uint64_t)1 << (FLOE_AGG_BLOCK_SHIFT - FLOE_AGG_UNIT_SHIFT))

/* The record a (non-empty) slot refers to. */
static inline floe_agg_record *floe_agg_table_record(const floe_agg_table *t, uint64_t slot) {
    uint64_t ref = (slot & FLOE_AGG_REF_MASK) - 1;
    return (floe_agg_record *)(t->blocks[ref / FLOE_AGG_BLOCK_UNITS] +
                               ((ref % FLOE_AGG_BLOCK_UNITS) << FLOE_AGG_UNIT_SHIFT));
}

/* floe_agg_table_slot for a table another thread may be growing: the slot array and its size
 * are read atomically, but not together, so the address may be stale or even past a freed
 * array; a prefetch never faults, so that costs at most a wasted line. Only for prefetching
 * (floe_agg_writer looks ahead into partitions it has not locked yet). */
static inline const uint64_t *floe_agg_table_slot_hint(const floe_agg_table *t, uint64_t hash) {
    const uint64_t *slots = __atomic_load_n(&t->slots, __ATOMIC_RELAXED);
    size_t capacity = __atomic_load_n(&t->capacity, __ATOMIC_RELAXED);
    return capacity > 0 ? &slots[hash & (capacity - 1)] : slots;
}

/* Second stage of prefetching (after floe_agg_table_slot's line has arrived): starts loading
 * the record the hash's first slot points to, when its tag matches. */
static inline void floe_agg_table_prefetch_record(const floe_agg_table *t, uint64_t hash) {
    if (t->capacity == 0) return;
    uint64_t slot = t->slots[hash & (t->capacity - 1)];
    if (slot == 0 || ((slot ^ hash) & ~FLOE_AGG_REF_MASK) != 0) return;
    __builtin_prefetch(floe_agg_table_record(t, slot));
}

/* The group with these key bytes (and their hash), created empty (measures empty, sketches
 * empty) when new. NULL when out of memory or the key is longer than FLOE_AGG_MAX_KEY_BYTES. */
floe_agg_record *floe_agg_table_find_or_add(floe_agg_table *t, const uint8_t *key, uint32_t key_len,
                                            uint64_t hash);

/* Makes room for `groups` groups in all without another growth (one rehash now rather than
 * several while they arrive). FLOE_OK or FLOE_ERR_NOMEM. */
floe_status floe_agg_table_reserve(floe_agg_table *t, size_t groups);

/* Keeps the records for which keep(record, ctx) is true, in creation order, packed at the
 * start of the arena (their ids renumbered, their sketches moved with them; the others'
 * sketches freed), and rebuilds the slots. The blocks it empties are kept for the records to
 * come: a table that closes old windows as new ones fill stays in the memory it already has.
 * Records move: references into the table become invalid. */
floe_status floe_agg_table_compact(floe_agg_table *t, bool (*keep)(const floe_agg_record *, void *),
                                   void *ctx);

/* Walks the records in creation order: start with *cursor = 0; NULL after the last. *ref (when
 * not NULL) gets the record's reference, as slots hold it. */
floe_agg_record *floe_agg_table_next(const floe_agg_table *t, uint64_t *cursor, uint64_t *ref);

static inline floe_distinct *floe_agg_table_sketches(const floe_agg_table *t,
                                                     const floe_agg_record *rec) {
    return t->ndistinct > 0 ? &t->sketches[(size_t)rec->id * t->ndistinct] : NULL;
}

#endif
