#include "floe_agg_table.h"

#include <stdlib.h>
#include <string.h>

#include "floe_mem.h"

/* References as floe_agg_table.h defines them. */
#define FIRST_BLOCK   ((size_t)256 << 10)
#define BLOCK_SIZE    ((size_t)1 << FLOE_AGG_BLOCK_SHIFT)
#define UNIT_SHIFT    FLOE_AGG_UNIT_SHIFT
#define REF_MASK      FLOE_AGG_REF_MASK
#define OFF_UNITS     FLOE_AGG_BLOCK_UNITS
#define MAX_BLOCKS    ((size_t)1 << (FLOE_AGG_REF_BITS - (FLOE_AGG_BLOCK_SHIFT - UNIT_SHIFT)))
#define INITIAL_SLOTS 256

_Static_assert(FLOE_AGG_MAX_KEY_BYTES + sizeof(floe_agg_record) + 8 <= BLOCK_SIZE,
               "a record of the longest key fits a block");

static size_t block_size(size_t block) {
    return block == 0 ? FIRST_BLOCK : BLOCK_SIZE;
}

static size_t record_size(uint32_t key_len) {
    return (sizeof(floe_agg_record) + key_len + 7) & ~(size_t)7;
}

static uint64_t make_ref(size_t block, size_t off) {
    return ((uint64_t)block * OFF_UNITS | (off >> UNIT_SHIFT)) + 1;
}

static uint64_t slot_tag(uint64_t hash) {
    return hash & ~REF_MASK;
}

/* Atomic stores: floe_agg_table_slot_hint reads these two without the table's lock. */
static void set_slots(floe_agg_table *t, uint64_t *slots, size_t capacity) {
    __atomic_store_n(&t->slots, slots, __ATOMIC_RELAXED);
    __atomic_store_n(&t->capacity, capacity, __ATOMIC_RELAXED);
}

floe_status floe_agg_table_init(floe_agg_table *t, unsigned ndistinct) {
    memset(t, 0, sizeof(*t));
    t->ndistinct = ndistinct;
    uint64_t *slots = floe_mem_alloc(INITIAL_SLOTS * sizeof(*t->slots));
    if (slots == NULL) return FLOE_ERR_NOMEM; /* capacity 0: find_or_add tries again */
    set_slots(t, slots, INITIAL_SLOTS);
    return FLOE_OK;
}

void floe_agg_table_free(floe_agg_table *t) {
    for (size_t i = 0; i < t->count * t->ndistinct; i++)
        floe_distinct_free(&t->sketches[i]);
    free(t->sketches);
    floe_mem_free(t->slots, t->capacity * sizeof(*t->slots));
    for (size_t b = 0; b < t->nblocks + t->nspare; b++)
        floe_mem_free(t->blocks[b], block_size(b));
    free(t->blocks);
    memset(t, 0, sizeof(*t));
}

size_t floe_agg_table_memory(const floe_agg_table *t) {
    size_t bytes = t->capacity * sizeof(*t->slots);
    for (size_t b = 0; b < t->nblocks + t->nspare; b++)
        bytes += block_size(b);
    bytes += t->sketches_cap * t->ndistinct * sizeof(floe_distinct);
    for (size_t i = 0; i < t->count * t->ndistinct; i++)
        bytes += floe_distinct_heap_bytes(&t->sketches[i]);
    return bytes;
}

uint64_t floe_agg_hash_key(const uint8_t *p, size_t n) {
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ n;
    const uint8_t *end = p + n;
    const bool word_or_longer = n >= 8;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        h = (h ^ word) * UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 31;
    }
    /* The last n < 8 bytes as one word (on a little-endian machine, the word memcpy would
     * give; on a big-endian one another, equally good, hash). Keys (a window and at least one
     * tag) are longer than 8 bytes, so the usual way is one load of the key's last word,
     * shifted: no variable-length copy. */
    uint64_t tail = 0;
    if (n > 0 && word_or_longer) {
        memcpy(&tail, end - 8, 8);
        tail >>= 8 * (8 - n);
    } else if (n > 0) {
        memcpy(&tail, p, n);
    }
    h = (h ^ tail) * UINT64_C(0x94d049bb133111eb);
    h ^= h >> 29;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 32);
}

floe_agg_record *floe_agg_table_next(const floe_agg_table *t, uint64_t *cursor, uint64_t *ref) {
    for (;;) {
        size_t block = (size_t)(*cursor / OFF_UNITS);
        size_t off = (size_t)(*cursor % OFF_UNITS) << UNIT_SHIFT;
        if (block >= t->nblocks) return NULL;
        size_t used = block + 1 == t->nblocks ? t->block_used : block_size(block);
        floe_agg_record *rec = (floe_agg_record *)(t->blocks[block] + off);
        /* Blocks are zeroed: a key_len of 0 is the unused tail of a block. */
        if (off + sizeof(floe_agg_record) > used || rec->key_len == 0) {
            *cursor = (uint64_t)(block + 1) * OFF_UNITS;
            continue;
        }
        if (ref != NULL) *ref = make_ref(block, off);
        *cursor += record_size(rec->key_len) >> UNIT_SHIFT;
        return rec;
    }
}

/* Puts every record's reference (reading the arena in order) into slots, an empty array of
 * `capacity`. */
static void insert_all(const floe_agg_table *t, uint64_t *slots, size_t capacity) {
    uint64_t cursor = 0, ref;
    for (const floe_agg_record *rec; (rec = floe_agg_table_next(t, &cursor, &ref)) != NULL;) {
        uint64_t hash = floe_agg_hash_key(rec->key, rec->key_len);
        size_t at = (size_t)hash & (capacity - 1);
        while (slots[at] != 0)
            at = (at + 1) & (capacity - 1);
        slots[at] = slot_tag(hash) | ref;
    }
}

/* Grows the slot array to `capacity` and re-inserts every record. */
static floe_status rehash(floe_agg_table *t, size_t capacity) {
    uint64_t *slots = floe_mem_alloc(capacity * sizeof(*slots));
    if (slots == NULL) return FLOE_ERR_NOMEM;
    insert_all(t, slots, capacity);
    floe_mem_free(t->slots, t->capacity * sizeof(*t->slots));
    set_slots(t, slots, capacity);
    return FLOE_OK;
}

floe_status floe_agg_table_reserve(floe_agg_table *t, size_t groups) {
    size_t capacity = t->capacity > 0 ? t->capacity : INITIAL_SLOTS;
    while (groups * 10 > capacity * 7)
        capacity *= 2;
    if (capacity == t->capacity) return FLOE_OK;
    if (t->capacity == 0) {
        uint64_t *slots = floe_mem_alloc(capacity * sizeof(*t->slots));
        if (slots == NULL) return FLOE_ERR_NOMEM;
        set_slots(t, slots, capacity);
        return FLOE_OK;
    }
    return rehash(t, capacity);
}

/* Marks the end of block b's records at offset `used` for floe_agg_table_next, which reads a
 * key_len of 0 (or no room for a record) as the end of a block that is not the last. New blocks
 * are zeroed; a reused one may hold old records past that point. */
static void mark_block_end(floe_agg_table *t, size_t b, size_t used) {
    if (used + sizeof(floe_agg_record) <= block_size(b))
        ((floe_agg_record *)(t->blocks[b] + used))->key_len = 0;
}

/* Room for a record of key_len bytes at the end of the arena; NULL when out of memory. */
static floe_agg_record *new_record(floe_agg_table *t, uint32_t key_len, uint64_t *ref) {
    size_t size = record_size(key_len);
    if (t->nblocks > 0 && t->nspare > 0 && t->block_used + size > block_size(t->nblocks - 1)) {
        /* A block kept by floe_agg_table_compact (never block 0, so a big one). */
        mark_block_end(t, t->nblocks - 1, t->block_used);
        t->nblocks++;
        t->nspare--;
        t->block_used = 0;
    }
    if (t->nblocks == 0 || t->block_used + size > block_size(t->nblocks - 1)) {
        if (t->nblocks == MAX_BLOCKS) return NULL;
        if (t->nblocks == t->blocks_cap) {
            size_t cap = t->blocks_cap ? t->blocks_cap * 2 : 8;
            uint8_t **grown = realloc(t->blocks, cap * sizeof(*grown));
            if (grown == NULL) return NULL;
            t->blocks = grown;
            t->blocks_cap = cap;
        }
        /* A record too big for the small first block starts the big ones at once. */
        if (t->nblocks == 0 && size > FIRST_BLOCK) {
            t->blocks[t->nblocks++] = floe_mem_alloc(FIRST_BLOCK);
            if (t->blocks[0] == NULL) {
                t->nblocks = 0;
                return NULL;
            }
        }
        /* Zeroed, so a block's unused tail reads as key_len 0 (floe_agg_table_next's end). */
        uint8_t *block = floe_mem_alloc(block_size(t->nblocks));
        if (block == NULL) return NULL;
        t->blocks[t->nblocks++] = block;
        t->block_used = 0;
    }
    size_t block = t->nblocks - 1;
    *ref = make_ref(block, t->block_used);
    floe_agg_record *rec = (floe_agg_record *)(t->blocks[block] + t->block_used);
    t->block_used += size;
    return rec;
}

void floe_agg_measures_empty(floe_agg_measures *m) {
    memset(m, 0, sizeof(*m));
    m->first_seen = INT64_MAX;
    m->last_seen = INT64_MIN;
}

void floe_agg_measures_add(floe_agg_measures *into, const floe_agg_measures *from) {
    into->flows += from->flows;
    into->packets = floe_counter_add(into->packets, from->packets);
    into->bytes = floe_counter_add(into->bytes, from->bytes);
    into->accepted += from->accepted;
    into->rejected += from->rejected;
    if (from->first_seen < into->first_seen) into->first_seen = from->first_seen;
    if (from->last_seen > into->last_seen) into->last_seen = from->last_seen;
}

/* Key equality without a library call for the usual lengths (9..32 bytes: a window and a
 * few fixed-width values): word compares, the last one overlapping. */
static inline bool keys_equal(const uint8_t *a, const uint8_t *b, size_t n) {
    if (n < 8 || n > 32) return memcmp(a, b, n) == 0;
    uint64_t x, y;
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    uint64_t diff = x ^ y;
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    return diff == 0;
}

floe_agg_record *floe_agg_table_find_or_add(floe_agg_table *t, const uint8_t *key, uint32_t key_len,
                                            uint64_t hash) {
    size_t mask = t->capacity - 1;
    const uint64_t tag = slot_tag(hash);
    for (size_t at = (size_t)hash & mask;; at = (at + 1) & mask) {
        uint64_t slot = t->slots[at];
        if (slot == 0) break;
        if ((slot & ~REF_MASK) != tag) continue;
        floe_agg_record *rec = floe_agg_table_record(t, slot);
        if (rec->key_len == key_len && keys_equal(rec->key, key, key_len)) return rec;
    }
    /* New group: keep the load under 70% so probes stay short. */
    if (key_len == 0 || key_len > FLOE_AGG_MAX_KEY_BYTES) return NULL;
    if ((t->count + 1) * 10 > t->capacity * 7) {
        if (rehash(t, t->capacity * 2) != FLOE_OK) return NULL;
        mask = t->capacity - 1;
    }
    const size_t nd = t->ndistinct;
    if (nd > 0 && t->count == t->sketches_cap) {
        size_t cap = t->sketches_cap ? t->sketches_cap * 2 : 64;
        floe_distinct *grown = realloc(t->sketches, cap * nd * sizeof(*grown));
        if (grown == NULL) return NULL;
        t->sketches = grown;
        t->sketches_cap = cap;
    }
    uint64_t ref;
    floe_agg_record *rec = new_record(t, key_len, &ref);
    if (rec == NULL) return NULL;
    for (size_t d = 0; d < nd; d++)
        floe_distinct_init(&t->sketches[t->count * nd + d]);
    floe_agg_measures_empty(&rec->m);
    rec->id = (uint32_t)t->count;
    rec->key_len = key_len;
    memcpy(rec->key, key, key_len);
    size_t at = (size_t)hash & mask;
    while (t->slots[at] != 0)
        at = (at + 1) & mask;
    t->slots[at] = tag | ref;
    t->count++;
    return rec;
}

floe_status floe_agg_table_compact(floe_agg_table *t, bool (*keep)(const floe_agg_record *, void *),
                                   void *ctx) {
    const size_t nd = t->ndistinct;
    size_t wb = 0, wo = 0; /* where the next kept record goes */
    uint32_t kept = 0;
    uint64_t cursor = 0;
    /* The write position never passes the read position (records keep their order, and a
     * record that does not fit the rest of a block goes to the next, at or before its own), so
     * moving one never overwrites a record not read yet. */
    for (floe_agg_record *rec; (rec = floe_agg_table_next(t, &cursor, NULL)) != NULL;) {
        const uint32_t id = rec->id;
        if (!keep(rec, ctx)) {
            for (size_t d = 0; d < nd; d++)
                floe_distinct_free(&t->sketches[(size_t)id * nd + d]);
            continue;
        }
        const size_t size = record_size(rec->key_len);
        if (wo + size > block_size(wb)) {
            mark_block_end(t, wb, wo);
            wb++;
            wo = 0;
        }
        floe_agg_record *to = (floe_agg_record *)(t->blocks[wb] + wo);
        if (to != rec) memmove(to, rec, size);
        to->id = kept;
        for (size_t d = 0; d < nd; d++)
            t->sketches[(size_t)kept * nd + d] = t->sketches[(size_t)id * nd + d];
        wo += size;
        kept++;
    }
    if (t->nblocks > 0) {
        t->nspare += t->nblocks - (wb + 1);
        t->nblocks = wb + 1;
        t->block_used = wo;
    }
    t->count = kept;
    if (t->capacity == 0) return FLOE_OK; /* no slots yet (their first allocation failed) */
    memset(t->slots, 0, t->capacity * sizeof(*t->slots));
    insert_all(t, t->slots, t->capacity);
    return FLOE_OK;
}
