#include "floe_agg.h"

#include "floe_mem.h"

#include <stdlib.h>
#include <string.h>

/* ---- key specs ---------------------------------------------------------------------------- */

/* Reads a decimal prefix length at word[*i..), up to `max`. */
static bool read_prefix(const char *word, size_t len, size_t *i, unsigned max, uint8_t *out) {
    unsigned value = 0;
    size_t start = *i;
    while (*i < len && (unsigned)(word[*i] - '0') <= 9 && *i - start < 3)
        value = value * 10 + (unsigned)(word[(*i)++] - '0');
    if (*i == start || value > max) return false;
    *out = (uint8_t)value;
    return true;
}

floe_status floe_key_spec_parse(const char *text, size_t text_len, int64_t window_seconds,
                                floe_key_spec *out) {
    memset(out, 0, sizeof(*out));
    if (window_seconds < 0) return FLOE_ERR_INVALID;
    out->window_seconds = window_seconds;
    uint64_t seen = 0;
    size_t pos = 0;
    const char *word;
    size_t word_len;
    while (floe_field_list_next(text, text_len, &pos, &word, &word_len)) {
        /* "name", "name/v4" or "name/v4/v6" */
        size_t i = 0;
        while (i < word_len && word[i] != '/')
            i++;
        floe_field field = floe_field_lookup(word, i);
        if (field == FLOE_F_UNKNOWN || (seen >> field & 1) || out->nparts == FLOE_KEY_MAX_PARTS)
            return FLOE_ERR_FORMAT;
        seen |= UINT64_C(1) << field;
        floe_key_part part = {field, 32, 128};
        if (i < word_len) {
            i++;
            if (floe_field_type(field) != FLOE_T_ADDR ||
                !read_prefix(word, word_len, &i, 32, &part.v4_prefix))
                return FLOE_ERR_FORMAT;
            if (i < word_len && word[i] == '/') {
                i++;
                if (!read_prefix(word, word_len, &i, 128, &part.v6_prefix)) return FLOE_ERR_FORMAT;
            }
            if (i < word_len) return FLOE_ERR_FORMAT;
        }
        out->parts[out->nparts++] = part;
    }
    return out->nparts > 0 ? FLOE_OK : FLOE_ERR_FORMAT;
}

floe_status floe_key_spec_parse_distinct(const char *text, size_t text_len, floe_key_spec *spec) {
    spec->ndistinct = 0;
    uint64_t seen = 0;
    size_t pos = 0;
    const char *word;
    size_t word_len;
    while (floe_field_list_next(text, text_len, &pos, &word, &word_len)) {
        floe_field field = floe_field_lookup(word, word_len);
        if (field == FLOE_F_UNKNOWN || (seen >> field & 1) ||
            spec->ndistinct == FLOE_DISTINCT_MAX_FIELDS)
            return FLOE_ERR_FORMAT;
        seen |= UINT64_C(1) << field;
        spec->distinct[spec->ndistinct++] = field;
    }
    return FLOE_OK;
}

/* ---- key encoding -------------------------------------------------------------------------- */

/* A group's key bytes: the window as 8 big-endian bytes, then per part a tag byte and the value:
 *   tag 0: null (no value follows);
 *   tag 1: present, the value big-endian (1, 2 or 8 bytes by type); for addresses, tag 1 is
 *          IPv4 (4 bytes) and tag 2 IPv6 (16 bytes), both masked to the part's prefix;
 *   strings: tag 1, their bytes, then a 0 (a 0 inside a string is stored as 1).
 * memcmp over these bytes orders groups by window, then by each part's value (nulls first,
 * IPv4 before IPv6, numbers by value); no encoding is a prefix of another, so keys of
 * different lengths compare correctly too. IPv4 takes 5 bytes rather than 17, which keeps the
 * common keys short: the 5-tuple with a window is 25 bytes. */
#define WINDOW_BYTES    8
#define KEY_SCRATCH_MIN 256
#define TAG_NULL        0
#define TAG_VALUE       1
#define TAG_V4          1
#define TAG_V6          2

typedef struct key_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} key_buf;

static bool key_reserve(key_buf *k, size_t more) {
    if (k->len + more <= k->cap) return true;
    size_t cap = k->cap ? k->cap : KEY_SCRATCH_MIN;
    while (cap < k->len + more)
        cap *= 2;
    uint8_t *grown = realloc(k->data, cap);
    if (grown == NULL) return false;
    k->data = grown;
    k->cap = cap;
    return true;
}

/* A 16-byte mask keeping the first `bits` bits. */
static void prefix_mask(unsigned bits, uint8_t mask[16]) {
    for (unsigned byte = 0; byte < 16; byte++) {
        unsigned before = byte * 8;
        mask[byte] = bits >= before + 8 ? 0xff
                     : bits <= before   ? 0
                                        : (uint8_t)(0xff << (8 - (bits - before)));
    }
}

/* ---- the table ----------------------------------------------------------------------------- */

/* Groups are records in an arena of fixed-size blocks, in creation order, each
 *     [measures][id][key_len][key bytes][padding to 8]
 * so a lookup that finds its slot reads the key and updates the measures in one place, and
 * records never move (their addresses stay valid while the table lives). The slot array holds
 * one 8-byte word a slot: the record's reference (block and 8-byte unit) in the low 40 bits
 * and 24 bits of the key's hash above, so most mismatches are rejected without touching the
 * record. 0 is an empty slot (references start at 1). */
typedef struct record {
    floe_agg_measures m;
    uint32_t id; /* creation order: the group's sketches are sketches[id * ndistinct ...] */
    uint32_t key_len;
    uint8_t key[];
} record;

#define BLOCK_SHIFT   24 /* 16 MiB blocks */
#define BLOCK_SIZE    ((size_t)1 << BLOCK_SHIFT)
#define UNIT_SHIFT    3 /* records are 8-byte aligned */
#define REF_BITS      40
#define REF_MASK      ((UINT64_C(1) << REF_BITS) - 1)
#define TAG_SHIFT     REF_BITS
#define MAX_BLOCKS    ((size_t)1 << (REF_BITS - (BLOCK_SHIFT - UNIT_SHIFT)))
#define MAX_KEY_BYTES (BLOCK_SIZE - sizeof(record) - 8)

static size_t record_size(uint32_t key_len) {
    return (sizeof(record) + key_len + 7) & ~(size_t)7;
}

/* How a key part is encoded, worked out once per table. */
typedef struct part_plan {
    floe_field field;
    floe_type type;
    bool masked;         /* an address part with a prefix shorter than the whole address */
    uint8_t mask_v4[16]; /* applied to IPv4-mapped values: ::ffff:0:0/96 + the v4 prefix */
    uint8_t mask_v6[16];
} part_plan;

/* Rows are aggregated in groups of KEY_CHUNK: first every key and hash is built, then the
 * groups are looked up with the slot of a row PREFETCH_AHEAD rows on already on its way from
 * memory, which hides most of the cache misses of a table much larger than the cache. */
#define KEY_CHUNK      256
#define PREFETCH_AHEAD 8

struct floe_agg {
    floe_key_spec spec;
    part_plan plan[FLOE_KEY_MAX_PARTS];
    bool has_strings;     /* a string part: keys vary in length beyond the fixed bound */
    size_t fixed_key_max; /* longest key without string parts */
    /* Per chunk of rows: key offsets in scratch, lengths, hashes. */
    size_t key_off[KEY_CHUNK];
    uint32_t key_len[KEY_CHUNK];
    uint64_t key_hash[KEY_CHUNK];
    key_buf scratch; /* the keys being built */

    uint64_t *slots; /* open addressing, linear probing; capacity a power of two */
    size_t capacity;
    size_t count;
    uint8_t **blocks; /* the record arena */
    size_t nblocks;
    size_t blocks_cap;
    size_t block_used; /* bytes used in the last block */

    floe_agg_group *sorted;  /* floe_agg_sorted's result, dropped when the table changes */
    size_t sorted_size;      /* its bytes (a floe_mem block) */
    floe_distinct *sketches; /* spec.ndistinct per group, by group id */
    size_t sketches_cap;     /* groups the sketch array has room for */
};

#define INITIAL_CAPACITY 1024

static void drop_sorted(floe_agg *agg) {
    floe_mem_free(agg->sorted, agg->sorted_size);
    agg->sorted = NULL;
    agg->sorted_size = 0;
}

static record *record_at(const floe_agg *agg, uint64_t ref) {
    ref = (ref & REF_MASK) - 1;
    size_t block = (size_t)(ref >> (BLOCK_SHIFT - UNIT_SHIFT));
    size_t off = (size_t)(ref & ((BLOCK_SIZE >> UNIT_SHIFT) - 1)) << UNIT_SHIFT;
    return (record *)(agg->blocks[block] + off);
}

floe_agg *floe_agg_new(const floe_key_spec *spec) {
    floe_agg *agg = calloc(1, sizeof(*agg));
    if (agg == NULL) return NULL;
    agg->spec = *spec;
    agg->fixed_key_max = WINDOW_BYTES;
    for (unsigned p = 0; p < spec->nparts; p++) {
        part_plan *plan = &agg->plan[p];
        plan->field = spec->parts[p].field;
        plan->type = floe_field_type(plan->field);
        if (plan->type == FLOE_T_STR) agg->has_strings = true;
        agg->fixed_key_max += 1 + sizeof(floe_addr);
        if (plan->type != FLOE_T_ADDR) continue;
        plan->masked = spec->parts[p].v4_prefix < 32 || spec->parts[p].v6_prefix < 128;
        prefix_mask(96u + spec->parts[p].v4_prefix, plan->mask_v4);
        prefix_mask(spec->parts[p].v6_prefix, plan->mask_v6);
    }
    agg->capacity = INITIAL_CAPACITY;
    agg->slots = floe_mem_alloc(agg->capacity * sizeof(*agg->slots));
    if (agg->slots == NULL) {
        free(agg);
        return NULL;
    }
    return agg;
}

void floe_agg_free(floe_agg *agg) {
    if (agg == NULL) return;
    for (size_t i = 0; i < agg->count * agg->spec.ndistinct; i++)
        floe_distinct_free(&agg->sketches[i]);
    free(agg->sketches);
    floe_mem_free(agg->slots, agg->capacity * sizeof(*agg->slots));
    for (size_t b = 0; b < agg->nblocks; b++)
        floe_mem_free(agg->blocks[b], BLOCK_SIZE);
    free(agg->blocks);
    free(agg->scratch.data);
    drop_sorted(agg);
    free(agg);
}

size_t floe_agg_count(const floe_agg *agg) {
    return agg->count;
}

size_t floe_agg_memory(const floe_agg *agg) {
    size_t bytes = agg->capacity * sizeof(*agg->slots) + agg->nblocks * BLOCK_SIZE;
    bytes += agg->sketches_cap * agg->spec.ndistinct * sizeof(floe_distinct);
    for (size_t i = 0; i < agg->count * agg->spec.ndistinct; i++)
        bytes += floe_distinct_heap_bytes(&agg->sketches[i]);
    return bytes;
}

/* 8 bytes at a time, multiply and xor-shift: keys are short and built by us, so speed matters
 * more than resistance to chosen inputs. */
static uint64_t hash_key(const uint8_t *p, size_t n) {
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ n;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        h = (h ^ word) * UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 31;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, n);
    h = (h ^ tail) * UINT64_C(0x94d049bb133111eb);
    h ^= h >> 29;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 32);
}

static uint64_t slot_tag(uint64_t hash) {
    return (hash >> TAG_SHIFT) << TAG_SHIFT;
}

/* Walks the records in creation order (the arena front to back): start with *blk = *off = 0;
 * returns NULL after the last. *ref gets the record's reference when ref is not NULL. */
static record *next_record(const floe_agg *agg, size_t *blk, size_t *off, uint64_t *ref) {
    while (*blk < agg->nblocks) {
        size_t used = *blk + 1 == agg->nblocks ? agg->block_used : BLOCK_SIZE;
        record *rec = (record *)(agg->blocks[*blk] + *off);
        /* Blocks are zeroed: a key_len of 0 is the unused tail of a block. */
        if (*off + sizeof(record) > used || rec->key_len == 0) {
            ++*blk;
            *off = 0;
            continue;
        }
        if (ref != NULL)
            *ref = ((uint64_t)*blk << (BLOCK_SHIFT - UNIT_SHIFT) | (*off >> UNIT_SHIFT)) + 1;
        *off += record_size(rec->key_len);
        return rec;
    }
    return NULL;
}

static uint64_t record_ref(size_t block, size_t off) {
    return ((uint64_t)block << (BLOCK_SHIFT - UNIT_SHIFT) | (off >> UNIT_SHIFT)) + 1;
}

/* Doubles the slot array and re-inserts every record, reading the arena in order. */
static floe_status grow_table(floe_agg *agg) {
    size_t capacity = agg->capacity * 2;
    uint64_t *slots = floe_mem_alloc(capacity * sizeof(*slots));
    if (slots == NULL) return FLOE_ERR_NOMEM;
    size_t blk = 0, off = 0;
    uint64_t ref;
    for (const record *rec; (rec = next_record(agg, &blk, &off, &ref)) != NULL;) {
        uint64_t hash = hash_key(rec->key, rec->key_len);
        size_t at = (size_t)hash & (capacity - 1);
        while (slots[at] != 0)
            at = (at + 1) & (capacity - 1);
        slots[at] = slot_tag(hash) | ref;
    }
    floe_mem_free(agg->slots, agg->capacity * sizeof(*agg->slots));
    agg->slots = slots;
    agg->capacity = capacity;
    return FLOE_OK;
}

static void measures_empty(floe_agg_measures *m) {
    memset(m, 0, sizeof(*m));
    m->first_seen = INT64_MAX;
    m->last_seen = INT64_MIN;
}

static void measures_add(floe_agg_measures *into, const floe_agg_measures *from) {
    into->flows += from->flows;
    into->packets += from->packets;
    into->bytes += from->bytes;
    into->accepted += from->accepted;
    into->rejected += from->rejected;
    if (from->first_seen < into->first_seen) into->first_seen = from->first_seen;
    if (from->last_seen > into->last_seen) into->last_seen = from->last_seen;
}

/* Room for a record of key_len bytes at the end of the arena; NULL when out of memory. */
static record *new_record(floe_agg *agg, uint32_t key_len, uint64_t *ref) {
    size_t size = record_size(key_len);
    if (agg->nblocks == 0 || agg->block_used + size > BLOCK_SIZE) {
        if (agg->nblocks == MAX_BLOCKS) return NULL;
        if (agg->nblocks == agg->blocks_cap) {
            size_t cap = agg->blocks_cap ? agg->blocks_cap * 2 : 16;
            uint8_t **grown = realloc(agg->blocks, cap * sizeof(*grown));
            if (grown == NULL) return NULL;
            agg->blocks = grown;
            agg->blocks_cap = cap;
        }
        /* Zeroed, so a block's unused tail reads as key_len 0 (FOR_EACH_RECORD's end). */
        uint8_t *block = floe_mem_alloc(BLOCK_SIZE);
        if (block == NULL) return NULL;
        agg->blocks[agg->nblocks++] = block;
        agg->block_used = 0;
    }
    size_t block = agg->nblocks - 1;
    *ref = record_ref(block, agg->block_used);
    record *rec = (record *)(agg->blocks[block] + agg->block_used);
    agg->block_used += size;
    return rec;
}

/* The group with these key bytes and hash, created empty when new. NULL when out of memory. */
static record *find_or_add_hashed(floe_agg *agg, const uint8_t *key, uint32_t key_len,
                                  uint64_t hash) {
    size_t mask = agg->capacity - 1;
    const uint64_t tag = slot_tag(hash);
    for (size_t at = (size_t)hash & mask;; at = (at + 1) & mask) {
        uint64_t slot = agg->slots[at];
        if (slot == 0) break;
        if ((slot & ~REF_MASK) != tag) continue;
        record *rec = record_at(agg, slot);
        if (rec->key_len == key_len && memcmp(rec->key, key, key_len) == 0) return rec;
    }
    /* New group: keep the load under 70% so probes stay short. */
    if (key_len > MAX_KEY_BYTES) return NULL;
    if ((agg->count + 1) * 10 > agg->capacity * 7) {
        if (grow_table(agg) != FLOE_OK) return NULL;
        mask = agg->capacity - 1;
    }
    const size_t nd = agg->spec.ndistinct;
    if (nd > 0 && agg->count == agg->sketches_cap) {
        size_t cap = agg->sketches_cap ? agg->sketches_cap * 2 : 1024;
        floe_distinct *grown = realloc(agg->sketches, cap * nd * sizeof(*grown));
        if (grown == NULL) return NULL;
        agg->sketches = grown;
        agg->sketches_cap = cap;
    }
    uint64_t ref;
    record *rec = new_record(agg, key_len, &ref);
    if (rec == NULL) return NULL;
    for (size_t d = 0; d < nd; d++)
        floe_distinct_init(&agg->sketches[agg->count * nd + d]);
    measures_empty(&rec->m);
    rec->id = (uint32_t)agg->count;
    rec->key_len = key_len;
    memcpy(rec->key, key, key_len);
    size_t at = (size_t)hash & mask;
    while (agg->slots[at] != 0)
        at = (at + 1) & mask;
    agg->slots[at] = tag | ref;
    agg->count++;
    if (agg->sorted != NULL) drop_sorted(agg);
    return rec;
}

/* The hash a distinct count keeps for a row's value of field f; false when null. Addresses
 * count whole (a key's prefix does not apply). */
static bool distinct_hash(const floe_batch *batch, floe_field f, uint32_t row, uint64_t *out) {
    if (!floe_batch_has(batch, f) || floe_batch_is_null(batch, f, row)) return false;
    switch (floe_field_type(f)) {
    case FLOE_T_U8:
    case FLOE_T_ENUM:
        *out = floe_distinct_hash_u64(floe_batch_u8(batch, f)[row]);
        return true;
    case FLOE_T_U16:
        *out = floe_distinct_hash_u64(floe_batch_u16(batch, f)[row]);
        return true;
    case FLOE_T_U64:
        *out = floe_distinct_hash_u64(floe_batch_u64(batch, f)[row]);
        return true;
    case FLOE_T_TIME:
        *out = floe_distinct_hash_u64((uint64_t)floe_batch_time(batch, f)[row]);
        return true;
    case FLOE_T_ADDR:
        *out = floe_distinct_hash_bytes(floe_batch_addr(batch, f)[row].bytes, 16);
        return true;
    case FLOE_T_STR: {
        floe_slice s = floe_batch_str(batch, f)[row];
        *out = floe_distinct_hash_bytes(s.ptr, s.len);
        return true;
    }
    }
    return false;
}

floe_status floe_agg_add_batch(floe_agg *agg, const floe_batch *batch) {
    return floe_agg_add_rows(agg, batch, NULL, batch->count);
}

/* A key part's column in the current batch. */
typedef struct part_column {
    const void *values; /* NULL: the batch has no such column, every value is null */
    uint64_t null_bit;
} part_column;

static inline void put_be16(uint8_t *p, uint16_t v) {
    v = __builtin_bswap16(v);
    memcpy(p, &v, 2);
}

static inline void put_be64(uint8_t *p, uint64_t v) {
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

static inline uint64_t get_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

/* Writes an address value (after its prefix mask) with its tag; returns the bytes written. */
static inline size_t put_addr(uint8_t *k, const floe_addr *addr, const part_plan *plan) {
    uint8_t bytes[16];
    if (plan->masked) {
        const uint8_t *mask = floe_addr_is_v4(addr) ? plan->mask_v4 : plan->mask_v6;
        uint64_t lo, hi, mlo, mhi;
        memcpy(&lo, addr->bytes, 8);
        memcpy(&hi, addr->bytes + 8, 8);
        memcpy(&mlo, mask, 8);
        memcpy(&mhi, mask + 8, 8);
        lo &= mlo;
        hi &= mhi;
        memcpy(bytes, &lo, 8);
        memcpy(bytes + 8, &hi, 8);
    } else {
        memcpy(bytes, addr->bytes, 16);
    }
    const floe_addr *value = (const floe_addr *)bytes;
    if (floe_addr_is_v4(value)) {
        k[0] = TAG_V4;
        memcpy(k + 1, bytes + 12, 4);
        return 5;
    }
    k[0] = TAG_V6;
    memcpy(k + 1, bytes, 16);
    return 17;
}

/* Encodes row `row`'s key at out (room for its bound) and returns its length. */
static size_t encode_key(const floe_agg *agg, const part_column *cols, const floe_batch *batch,
                         uint32_t row, int64_t window, uint8_t *out) {
    uint8_t *k = out;
    put_be64(k, (uint64_t)window);
    k += WINDOW_BYTES;
    const uint64_t nulls = batch->nulls[row];
    for (unsigned p = 0; p < agg->spec.nparts; p++) {
        const part_plan *plan = &agg->plan[p];
        const void *col = cols[p].values;
        if (col == NULL || (nulls & cols[p].null_bit) != 0) {
            *k++ = TAG_NULL;
            continue;
        }
        switch (plan->type) {
        case FLOE_T_U8:
        case FLOE_T_ENUM:
            k[0] = TAG_VALUE;
            k[1] = ((const uint8_t *)col)[row];
            k += 2;
            break;
        case FLOE_T_U16:
            k[0] = TAG_VALUE;
            put_be16(k + 1, ((const uint16_t *)col)[row]);
            k += 3;
            break;
        case FLOE_T_U64:
            k[0] = TAG_VALUE;
            put_be64(k + 1, ((const uint64_t *)col)[row]);
            k += 9;
            break;
        case FLOE_T_TIME:
            k[0] = TAG_VALUE;
            put_be64(k + 1, (uint64_t)((const int64_t *)col)[row]);
            k += 9;
            break;
        case FLOE_T_ADDR:
            k += put_addr(k, &((const floe_addr *)col)[row], plan);
            break;
        case FLOE_T_STR: {
            floe_slice s = ((const floe_slice *)col)[row];
            *k++ = TAG_VALUE;
            for (uint32_t i = 0; i < s.len; i++)
                *k++ = s.ptr[i] != 0 ? (uint8_t)s.ptr[i] : 1;
            *k++ = 0;
            break;
        }
        }
    }
    return (size_t)(k - out);
}

/* Bytes row `row`'s key may take. */
static size_t key_bound(const floe_agg *agg, const part_column *cols, uint32_t row) {
    size_t bound = agg->fixed_key_max;
    if (!agg->has_strings) return bound;
    for (unsigned p = 0; p < agg->spec.nparts; p++)
        if (agg->plan[p].type == FLOE_T_STR && cols[p].values != NULL)
            bound += ((const floe_slice *)cols[p].values)[row].len + 2u;
    return bound;
}

floe_status floe_agg_add_rows(floe_agg *agg, const floe_batch *batch, const uint32_t *rows,
                              uint32_t nrows) {
    const floe_key_spec *spec = &agg->spec;
    const int64_t *start =
        floe_batch_has(batch, FLOE_F_START) ? floe_batch_time(batch, FLOE_F_START) : NULL;
    const int64_t *end =
        floe_batch_has(batch, FLOE_F_END) ? floe_batch_time(batch, FLOE_F_END) : NULL;
    const uint64_t *packets =
        floe_batch_has(batch, FLOE_F_PACKETS) ? floe_batch_u64(batch, FLOE_F_PACKETS) : NULL;
    const uint64_t *bytes =
        floe_batch_has(batch, FLOE_F_BYTES) ? floe_batch_u64(batch, FLOE_F_BYTES) : NULL;
    const uint8_t *action =
        floe_batch_has(batch, FLOE_F_ACTION) ? floe_batch_u8(batch, FLOE_F_ACTION) : NULL;
    const uint64_t start_bit = UINT64_C(1) << FLOE_F_START, end_bit = UINT64_C(1) << FLOE_F_END;
    part_column cols[FLOE_KEY_MAX_PARTS];
    for (unsigned p = 0; p < spec->nparts; p++) {
        floe_field f = agg->plan[p].field;
        cols[p].values = floe_batch_has(batch, f) ? batch->values[f] : NULL;
        cols[p].null_bit = UINT64_C(1) << f;
    }
    key_buf *k = &agg->scratch;

    for (uint32_t base = 0; base < nrows; base += KEY_CHUNK) {
        uint32_t n = nrows - base < KEY_CHUNK ? nrows - base : KEY_CHUNK;
        /* Pass 1: keys and hashes. */
        k->len = 0;
        if (!agg->has_strings && !key_reserve(k, (size_t)n * agg->fixed_key_max))
            return FLOE_ERR_NOMEM;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t row = rows != NULL ? rows[base + i] : base + i;
            if (agg->has_strings && !key_reserve(k, key_bound(agg, cols, row)))
                return FLOE_ERR_NOMEM;
            bool has_start = start != NULL && (batch->nulls[row] & start_bit) == 0;
            int64_t window = has_start && spec->window_seconds > 0
                                 ? start[row] - start[row] % spec->window_seconds
                                 : 0;
            size_t len = encode_key(agg, cols, batch, row, window, k->data + k->len);
            if (len > MAX_KEY_BYTES) return FLOE_ERR_INVALID;
            agg->key_off[i] = k->len;
            agg->key_len[i] = (uint32_t)len;
            agg->key_hash[i] = hash_key(k->data + k->len, len);
            k->len += len;
        }
        /* Pass 2: look up and add, with the slots of the rows ahead being fetched. */
        for (uint32_t i = 0; i < n; i++) {
            if (i + PREFETCH_AHEAD < n)
                __builtin_prefetch(
                    &agg->slots[agg->key_hash[i + PREFETCH_AHEAD] & (agg->capacity - 1)]);
            uint32_t row = rows != NULL ? rows[base + i] : base + i;
            record *rec = find_or_add_hashed(agg, k->data + agg->key_off[i], agg->key_len[i],
                                             agg->key_hash[i]);
            if (rec == NULL) return FLOE_ERR_NOMEM;
            floe_agg_measures *m = &rec->m;
            m->flows++;
            if (packets != NULL) m->packets += packets[row];
            if (bytes != NULL) m->bytes += bytes[row];
            if (action != NULL) {
                m->accepted += action[row] == FLOE_ACTION_ACCEPT;
                m->rejected += action[row] == FLOE_ACTION_REJECT;
            }
            const uint64_t nulls = batch->nulls[row];
            if (start != NULL && (nulls & start_bit) == 0 && start[row] < m->first_seen)
                m->first_seen = start[row];
            if (end != NULL && (nulls & end_bit) == 0 && end[row] > m->last_seen)
                m->last_seen = end[row];
            for (unsigned d = 0; d < spec->ndistinct; d++) {
                uint64_t value_hash;
                if (!distinct_hash(batch, spec->distinct[d], row, &value_hash)) continue;
                floe_status status = floe_distinct_add(
                    &agg->sketches[(size_t)rec->id * spec->ndistinct + d], value_hash);
                if (status != FLOE_OK) return status;
            }
        }
    }
    return FLOE_OK;
}

floe_status floe_agg_merge(floe_agg *into, const floe_agg *from) {
    if (into == from || memcmp(&into->spec, &from->spec, sizeof(into->spec)) != 0)
        return FLOE_ERR_INVALID;
    const size_t nd = into->spec.ndistinct;
    /* In chunks, as floe_agg_add_rows does: hashes first, then lookups with prefetching. */
    const record *chunk[KEY_CHUNK];
    size_t blk = 0, off = 0;
    for (bool more = true; more;) {
        uint32_t n = 0;
        while (n < KEY_CHUNK) {
            const record *rec = next_record(from, &blk, &off, NULL);
            if (rec == NULL) break;
            chunk[n] = rec;
            into->key_hash[n] = hash_key(rec->key, rec->key_len);
            n++;
        }
        more = n == KEY_CHUNK;
        for (uint32_t i = 0; i < n; i++) {
            if (i + PREFETCH_AHEAD < n)
                __builtin_prefetch(
                    &into->slots[into->key_hash[i + PREFETCH_AHEAD] & (into->capacity - 1)]);
            const record *src = chunk[i];
            record *dst = find_or_add_hashed(into, src->key, src->key_len, into->key_hash[i]);
            if (dst == NULL) return FLOE_ERR_NOMEM;
            measures_add(&dst->m, &src->m);
            for (size_t d = 0; d < nd; d++) {
                floe_status status = floe_distinct_merge(&into->sketches[(size_t)dst->id * nd + d],
                                                         &from->sketches[(size_t)src->id * nd + d]);
                if (status != FLOE_OK) return status;
            }
        }
    }
    return FLOE_OK;
}

/* ---- order ------------------------------------------------------------------------------- */

/* Sorting compares the first 24 key bytes as three integers (the window and the start of the
 * values: the whole of an IPv4 5-tuple but its last byte), which decides almost every
 * comparison without touching the records; only ties fall back to the whole keys. Zero padding
 * of a shorter key keeps the order memcmp gives, since no key is a prefix of another. Each
 * item carries its finished group, so the records are read once, in arena order, and the
 * sorted items are then packed in place into the result array (a group is smaller than an
 * item, so packing front to back never overwrites an item not yet moved). */
#define SORT_WORDS 3

typedef struct sort_item {
    uint64_t k[SORT_WORDS];
    floe_agg_group g;
} sort_item;

static int compare_groups(const floe_agg_group *x, const floe_agg_group *y);

static inline bool item_less(const sort_item *x, const sort_item *y) {
    for (int i = 0; i < SORT_WORDS; i++)
        if (x->k[i] != y->k[i]) return x->k[i] < y->k[i];
    return compare_groups(&x->g, &y->g) < 0;
}

static inline void swap_items(sort_item *a, sort_item *b) {
    sort_item t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(sort_item *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        sort_item x = a[i];
        size_t j = i;
        for (; j > 0 && item_less(&x, &a[j - 1]); j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void sift_down(sort_item *a, size_t root, size_t n) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && item_less(&a[child], &a[child + 1])) child++;
        if (!item_less(&a[root], &a[child])) return;
        swap_items(&a[root], &a[child]);
        root = child;
    }
}

static void heap_sort(sort_item *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        swap_items(&a[0], &a[end]);
        sift_down(a, 0, end);
    }
}

/* Introsort: quicksort with a median-of-three pivot, insertion sort for short ranges, heap sort
 * when the recursion gets too deep. qsort would call a comparator through a pointer for each of
 * the ~n log n comparisons; inlined, the common case is two integer compares. Keys are unique,
 * so the order is total and the result is the same whatever the algorithm. */
static void sort_items(sort_item *a, size_t n, unsigned depth) {
    while (n > 16) {
        if (depth-- == 0) {
            heap_sort(a, n);
            return;
        }
        size_t mid = n / 2;
        if (item_less(&a[mid], &a[0])) swap_items(&a[mid], &a[0]);
        if (item_less(&a[n - 1], &a[0])) swap_items(&a[n - 1], &a[0]);
        if (item_less(&a[n - 1], &a[mid])) swap_items(&a[n - 1], &a[mid]);
        sort_item pivot = a[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (item_less(&a[i], &pivot))
                i++;
            while (item_less(&pivot, &a[j]))
                j--;
            if (i >= j) break;
            swap_items(&a[i], &a[j]);
            i++;
            j--;
        }
        /* a[0..j] <= pivot <= a[j+1..n): recurse into the smaller side, loop on the larger. */
        size_t left = j + 1;
        if (left < n - left) {
            sort_items(a, left, depth);
            a += left;
            n -= left;
        } else {
            sort_items(a + left, n - left, depth);
            n = left;
        }
    }
    insertion_sort(a, n);
}

static floe_agg_group group_of(const floe_agg *agg, const record *rec) {
    const floe_distinct *sketches =
        agg->spec.ndistinct > 0 ? &agg->sketches[(size_t)rec->id * agg->spec.ndistinct] : NULL;
    return (floe_agg_group){(int64_t)get_be64(rec->key), rec->key + WINDOW_BYTES,
                            rec->key_len - WINDOW_BYTES, &rec->m, sketches};
}

floe_status floe_agg_sorted(floe_agg *agg, const floe_agg_group **groups, size_t *count) {
    if (agg->sorted == NULL && agg->count > 0) {
        _Static_assert(sizeof(floe_agg_group) <= sizeof(sort_item), "groups pack into items");
        /* Large arrays: floe_mem (huge pages) rather than malloc's 4 KiB faults. */
        size_t size = agg->count * sizeof(sort_item);
        sort_item *items = floe_mem_alloc(size);
        if (items == NULL) return FLOE_ERR_NOMEM;
        size_t n = 0, blk = 0, off = 0;
        for (const record *rec; (rec = next_record(agg, &blk, &off, NULL)) != NULL; n++) {
            uint8_t head[SORT_WORDS * 8] = {0};
            memcpy(head, rec->key, rec->key_len < sizeof(head) ? rec->key_len : sizeof(head));
            for (int i = 0; i < SORT_WORDS; i++)
                items[n].k[i] = get_be64(head + 8 * i);
            items[n].g = group_of(agg, rec);
        }
        unsigned depth = 2;
        for (size_t m = n; m > 1; m >>= 1)
            depth += 2;
        sort_items(items, n, depth);
        floe_agg_group *packed = (floe_agg_group *)items;
        for (size_t i = 0; i < n; i++) /* item 0's group overlaps its new place */
            memmove(&packed[i], &items[i].g, sizeof(*packed));
        agg->sorted = packed;
        agg->sorted_size = size;
    }
    *groups = agg->sorted;
    *count = agg->count;
    return FLOE_OK;
}

static uint64_t get_be(const uint8_t *p, unsigned nbytes) {
    uint64_t value = 0;
    for (unsigned i = 0; i < nbytes; i++)
        value = value << 8 | p[i];
    return value;
}

/* Bytes a present value takes after its tag (strings: up to and with their 0 byte). */
static size_t value_len(floe_type type, uint8_t tag, const uint8_t *p) {
    switch (type) {
    case FLOE_T_U8:
    case FLOE_T_ENUM:
        return 1;
    case FLOE_T_U16:
        return 2;
    case FLOE_T_U64:
    case FLOE_T_TIME:
        return 8;
    case FLOE_T_ADDR:
        return tag == TAG_V4 ? 4 : 16;
    case FLOE_T_STR:
        return strlen((const char *)p) + 1;
    }
    return 0;
}

bool floe_agg_key_value(const floe_agg *agg, const floe_agg_group *group, unsigned part,
                        void *value) {
    if (part >= agg->spec.nparts) return false;
    const uint8_t *p = group->key;
    for (unsigned i = 0;; i++) {
        floe_type type = agg->plan[i].type;
        uint8_t tag = *p++;
        if (i < part) {
            if (tag != TAG_NULL) p += value_len(type, tag, p);
            continue;
        }
        if (tag == TAG_NULL) return false;
        switch (type) {
        case FLOE_T_U8:
        case FLOE_T_ENUM:
            *(uint8_t *)value = p[0];
            break;
        case FLOE_T_U16:
            *(uint16_t *)value = (uint16_t)get_be(p, 2);
            break;
        case FLOE_T_U64:
            *(uint64_t *)value = get_be(p, 8);
            break;
        case FLOE_T_TIME:
            *(int64_t *)value = (int64_t)get_be(p, 8);
            break;
        case FLOE_T_ADDR:
            if (tag == TAG_V4)
                floe_addr_from_v4((uint32_t)get_be(p, 4), (floe_addr *)value);
            else
                memcpy(((floe_addr *)value)->bytes, p, 16);
            break;
        case FLOE_T_STR:
            *(floe_slice *)value = (floe_slice){(const char *)p, (uint32_t)strlen((const char *)p)};
            break;
        }
        return true;
    }
}

void floe_agg_key_decode(const floe_agg *agg, const floe_agg_group *group, floe_key_value *values) {
    const uint8_t *p = group->key;
    for (unsigned i = 0; i < agg->spec.nparts; i++) {
        floe_key_value *out = &values[i];
        uint8_t tag = *p++;
        out->null = tag == TAG_NULL;
        if (out->null) continue;
        switch (agg->plan[i].type) {
        case FLOE_T_U8:
        case FLOE_T_ENUM:
            out->v.u8 = p[0];
            p += 1;
            break;
        case FLOE_T_U16:
            out->v.u16 = (uint16_t)(p[0] << 8 | p[1]);
            p += 2;
            break;
        case FLOE_T_U64:
            out->v.u64 = get_be64(p);
            p += 8;
            break;
        case FLOE_T_TIME:
            out->v.time = (int64_t)get_be64(p);
            p += 8;
            break;
        case FLOE_T_ADDR:
            if (tag == TAG_V4) {
                floe_addr_from_v4((uint32_t)get_be(p, 4), &out->v.addr);
                p += 4;
            } else {
                memcpy(out->v.addr.bytes, p, 16);
                p += 16;
            }
            break;
        case FLOE_T_STR: {
            size_t len = strlen((const char *)p);
            out->v.str = (floe_slice){(const char *)p, (uint32_t)len};
            p += len + 1;
            break;
        }
        }
    }
}

/* ---- top N ---------------------------------------------------------------------------------- */

static uint64_t order_value(const floe_agg_group *g, floe_agg_order order) {
    switch (order) {
    case FLOE_AGG_ORDER_FLOWS:
        return g->m->flows;
    case FLOE_AGG_ORDER_PACKETS:
        return g->m->packets;
    case FLOE_AGG_ORDER_BYTES:
        return g->m->bytes;
    }
    return 0;
}

static int compare_groups(const floe_agg_group *x, const floe_agg_group *y) {
    /* The full encodings: the window bytes sit just before each key. */
    const uint8_t *xk = x->key - WINDOW_BYTES, *yk = y->key - WINDOW_BYTES;
    size_t xn = x->key_len + WINDOW_BYTES, yn = y->key_len + WINDOW_BYTES;
    int order = memcmp(xk, yk, xn < yn ? xn : yn);
    return order != 0 ? order : (xn > yn) - (xn < yn);
}

static int compare_top(const void *a, const void *b, void *ctx) {
    const floe_agg_group *x = a, *y = b;
    floe_agg_order order = *(const floe_agg_order *)ctx;
    uint64_t vx = order_value(x, order), vy = order_value(y, order);
    if (vx != vy) return vx > vy ? -1 : 1;
    return compare_groups(x, y);
}

/* True when x ranks after y: a smaller measure, or an equal one and a later key. */
static bool ranks_after(const floe_agg_group *x, const floe_agg_group *y, floe_agg_order order) {
    uint64_t vx = order_value(x, order), vy = order_value(y, order);
    if (vx != vy) return vx < vy;
    return compare_groups(x, y) > 0;
}

/* Restores the heap below `root`: a heap whose top ranks after every other element. */
static void top_sift(floe_agg_group *heap, size_t n, size_t root, floe_agg_order order) {
    for (;;) {
        size_t worst = root, left = 2 * root + 1, right = left + 1;
        if (left < n && ranks_after(&heap[left], &heap[worst], order)) worst = left;
        if (right < n && ranks_after(&heap[right], &heap[worst], order)) worst = right;
        if (worst == root) return;
        floe_agg_group t = heap[root];
        heap[root] = heap[worst];
        heap[worst] = t;
        root = worst;
    }
}

floe_status floe_agg_top(floe_agg *agg, floe_agg_order order, size_t n, floe_agg_group **groups,
                         size_t *count) {
    *groups = NULL;
    *count = 0;
    if (agg->count == 0 || n == 0) return FLOE_OK;
    if (n > agg->count) n = agg->count;
    /* The n best so far in a heap whose top is the worst of them: one pass over the table,
     * O(groups log n), rather than sorting every group. */
    floe_agg_group *heap = malloc(n * sizeof(*heap));
    if (heap == NULL) return FLOE_ERR_NOMEM;
    size_t size = 0, blk = 0, off = 0;
    for (const record *rec; (rec = next_record(agg, &blk, &off, NULL)) != NULL;) {
        floe_agg_group g = group_of(agg, rec);
        if (size < n) {
            heap[size++] = g;
            if (size == n)
                for (size_t i = n / 2; i-- > 0;)
                    top_sift(heap, n, i, order);
        } else if (ranks_after(&heap[0], &g, order)) {
            heap[0] = g;
            top_sift(heap, n, 0, order);
        }
    }
    qsort_r(heap, size, sizeof(*heap), compare_top, &order);
    *groups = heap;
    *count = size;
    return FLOE_OK;
}

const floe_key_spec *floe_agg_spec(const floe_agg *agg) {
    return &agg->spec;
}
