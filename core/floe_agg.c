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

/* A group's key bytes: the window as 8 big-endian bytes, then per part a presence byte (0 null,
 * 1 present) and, when present, the value big-endian (addresses in network order, masked;
 * strings as their bytes and a 0 byte, a 0 inside a string stored as 1). memcmp over these
 * bytes orders groups by window, then by each part's value, nulls first; and no encoding is a
 * prefix of another, so keys of different lengths compare correctly too. */
#define WINDOW_BYTES    8
#define KEY_SCRATCH_MIN 256

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

/* key_reserve for the arena, which grows large: floe_mem blocks (floe_mem.h). */
static bool arena_reserve(key_buf *k, size_t more) {
    if (k->len + more <= k->cap) return true;
    size_t cap = k->cap ? k->cap : 64 * 1024;
    while (cap < k->len + more)
        cap *= 2;
    uint8_t *grown = floe_mem_grow(k->data, k->cap, cap);
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

typedef struct entry {
    uint64_t hash;
    uint64_t key_off; /* in the key arena */
    uint32_t key_len; /* 0: empty slot (a key always holds the window) */
    uint32_t id;      /* creation order: the group's sketches are sketches[id * ndistinct...] */
    floe_agg_measures m;
} entry;

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
    entry *slots; /* open addressing, linear probing; capacity a power of two */
    size_t capacity;
    size_t count;
    key_buf arena;           /* every group's key bytes */
    key_buf scratch;         /* the key being built */
    floe_agg_group *sorted;  /* floe_agg_sorted's result, dropped when the table changes */
    floe_distinct *sketches; /* spec.ndistinct per group, by group id */
    size_t sketches_cap;     /* groups the sketch array has room for */
};

#define INITIAL_CAPACITY 1024

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
    floe_mem_free(agg->arena.data, agg->arena.cap);
    free(agg->scratch.data);
    free(agg->sorted);
    free(agg);
}

size_t floe_agg_count(const floe_agg *agg) {
    return agg->count;
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

static floe_status grow_table(floe_agg *agg) {
    size_t capacity = agg->capacity * 2;
    entry *slots = floe_mem_alloc(capacity * sizeof(*slots));
    if (slots == NULL) return FLOE_ERR_NOMEM;
    for (size_t i = 0; i < agg->capacity; i++) {
        const entry *e = &agg->slots[i];
        if (e->key_len == 0) continue;
        size_t at = (size_t)e->hash & (capacity - 1);
        while (slots[at].key_len != 0)
            at = (at + 1) & (capacity - 1);
        slots[at] = *e;
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

/* The group with these key bytes, created empty when new. NULL when out of memory. */
static entry *find_or_add_hashed(floe_agg *agg, const uint8_t *key, uint32_t key_len,
                                 uint64_t hash) {
    size_t mask = agg->capacity - 1;
    for (size_t at = (size_t)hash & mask;; at = (at + 1) & mask) {
        entry *e = &agg->slots[at];
        if (e->key_len == 0) break;
        if (e->hash == hash && e->key_len == key_len &&
            memcmp(agg->arena.data + e->key_off, key, key_len) == 0)
            return e;
    }
    /* New group: keep the load under 70% so probes stay short. */
    if ((agg->count + 1) * 10 > agg->capacity * 7) {
        if (grow_table(agg) != FLOE_OK) return NULL;
        mask = agg->capacity - 1;
    }
    if (!arena_reserve(&agg->arena, key_len)) return NULL;
    const size_t nd = agg->spec.ndistinct;
    if (nd > 0 && agg->count == agg->sketches_cap) {
        size_t cap = agg->sketches_cap ? agg->sketches_cap * 2 : 1024;
        floe_distinct *grown = realloc(agg->sketches, cap * nd * sizeof(*grown));
        if (grown == NULL) return NULL;
        agg->sketches = grown;
        agg->sketches_cap = cap;
    }
    for (size_t d = 0; d < nd; d++)
        floe_distinct_init(&agg->sketches[agg->count * nd + d]);
    size_t at = (size_t)hash & mask;
    while (agg->slots[at].key_len != 0)
        at = (at + 1) & mask;
    entry *e = &agg->slots[at];
    e->hash = hash;
    e->key_off = agg->arena.len;
    e->key_len = key_len;
    e->id = (uint32_t)agg->count;
    measures_empty(&e->m);
    memcpy(agg->arena.data + agg->arena.len, key, key_len);
    agg->arena.len += key_len;
    agg->count++;
    free(agg->sorted);
    agg->sorted = NULL;
    return e;
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
            *k++ = 0;
            continue;
        }
        *k++ = 1;
        switch (plan->type) {
        case FLOE_T_U8:
        case FLOE_T_ENUM:
            *k++ = ((const uint8_t *)col)[row];
            break;
        case FLOE_T_U16:
            put_be16(k, ((const uint16_t *)col)[row]);
            k += 2;
            break;
        case FLOE_T_U64:
            put_be64(k, ((const uint64_t *)col)[row]);
            k += 8;
            break;
        case FLOE_T_TIME:
            put_be64(k, (uint64_t)((const int64_t *)col)[row]);
            k += 8;
            break;
        case FLOE_T_ADDR: {
            const floe_addr *addr = &((const floe_addr *)col)[row];
            if (!plan->masked) {
                memcpy(k, addr->bytes, 16);
            } else {
                const uint8_t *mask = floe_addr_is_v4(addr) ? plan->mask_v4 : plan->mask_v6;
                uint64_t lo, hi, mlo, mhi;
                memcpy(&lo, addr->bytes, 8);
                memcpy(&hi, addr->bytes + 8, 8);
                memcpy(&mlo, mask, 8);
                memcpy(&mhi, mask + 8, 8);
                lo &= mlo;
                hi &= mhi;
                memcpy(k, &lo, 8);
                memcpy(k + 8, &hi, 8);
            }
            k += 16;
            break;
        }
        case FLOE_T_STR: {
            /* The bytes, then 0; a 0 inside becomes 1, so no key is a prefix of another. */
            floe_slice s = ((const floe_slice *)col)[row];
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
            if (len > UINT32_MAX) return FLOE_ERR_INVALID;
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
            entry *e = find_or_add_hashed(agg, k->data + agg->key_off[i], agg->key_len[i],
                                          agg->key_hash[i]);
            if (e == NULL) return FLOE_ERR_NOMEM;
            floe_agg_measures *m = &e->m;
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
                    &agg->sketches[(size_t)e->id * spec->ndistinct + d], value_hash);
                if (status != FLOE_OK) return status;
            }
        }
    }
    return FLOE_OK;
}

floe_status floe_agg_merge(floe_agg *into, const floe_agg *from) {
    if (into == from || memcmp(&into->spec, &from->spec, sizeof(into->spec)) != 0)
        return FLOE_ERR_INVALID;
    for (size_t i = 0; i < from->capacity; i++) {
        const entry *src = &from->slots[i];
        if (src->key_len == 0) continue;
        /* Same key bytes, same hash: no need to hash them again. */
        entry *e = find_or_add_hashed(into, from->arena.data + src->key_off, src->key_len,
                                      src->hash);
        if (e == NULL) return FLOE_ERR_NOMEM;
        measures_add(&e->m, &src->m);
        const size_t nd = into->spec.ndistinct;
        for (size_t d = 0; d < nd; d++) {
            floe_status status = floe_distinct_merge(&into->sketches[(size_t)e->id * nd + d],
                                                     &from->sketches[(size_t)src->id * nd + d]);
            if (status != FLOE_OK) return status;
        }
    }
    return FLOE_OK;
}

static int compare_groups(const void *a, const void *b) {
    const floe_agg_group *x = a, *y = b;
    /* Compare the full encodings: the window bytes sit just before each key. */
    const uint8_t *xk = x->key - WINDOW_BYTES, *yk = y->key - WINDOW_BYTES;
    size_t xn = x->key_len + WINDOW_BYTES, yn = y->key_len + WINDOW_BYTES;
    int order = memcmp(xk, yk, xn < yn ? xn : yn);
    return order != 0 ? order : (xn > yn) - (xn < yn);
}

floe_status floe_agg_sorted(floe_agg *agg, const floe_agg_group **groups, size_t *count) {
    if (agg->sorted == NULL && agg->count > 0) {
        agg->sorted = malloc(agg->count * sizeof(*agg->sorted));
        if (agg->sorted == NULL) return FLOE_ERR_NOMEM;
        size_t n = 0;
        for (size_t i = 0; i < agg->capacity; i++) {
            const entry *e = &agg->slots[i];
            if (e->key_len == 0) continue;
            const uint8_t *key = agg->arena.data + e->key_off;
            int64_t window = 0;
            for (int b = 0; b < WINDOW_BYTES; b++)
                window = (int64_t)((uint64_t)window << 8 | key[b]);
            const floe_distinct *sketches =
                agg->spec.ndistinct > 0 ? &agg->sketches[(size_t)e->id * agg->spec.ndistinct]
                                        : NULL;
            agg->sorted[n++] = (floe_agg_group){window, key + WINDOW_BYTES,
                                                e->key_len - WINDOW_BYTES, e->m, sketches};
        }
        qsort(agg->sorted, n, sizeof(*agg->sorted), compare_groups);
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

/* Bytes the present value of a part takes in the key (strings: up to their 0 byte). */
static size_t value_len(floe_type type, const uint8_t *p) {
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
        return 16;
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
        floe_type type = floe_field_type(agg->spec.parts[i].field);
        bool present = *p++ != 0;
        if (i < part) {
            if (present) p += value_len(type, p);
            continue;
        }
        if (!present) return false;
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
            memcpy(((floe_addr *)value)->bytes, p, 16);
            break;
        case FLOE_T_STR:
            *(floe_slice *)value = (floe_slice){(const char *)p, (uint32_t)strlen((const char *)p)};
            break;
        }
        return true;
    }
}

/* ---- top N ---------------------------------------------------------------------------------- */

static uint64_t order_value(const floe_agg_group *g, floe_agg_order order) {
    switch (order) {
    case FLOE_AGG_ORDER_FLOWS:
        return g->m.flows;
    case FLOE_AGG_ORDER_PACKETS:
        return g->m.packets;
    case FLOE_AGG_ORDER_BYTES:
        return g->m.bytes;
    }
    return 0;
}

static int compare_top(const void *a, const void *b, void *ctx) {
    const floe_agg_group *x = a, *y = b;
    floe_agg_order order = *(const floe_agg_order *)ctx;
    uint64_t vx = order_value(x, order), vy = order_value(y, order);
    if (vx != vy) return vx > vy ? -1 : 1;
    return compare_groups(a, b);
}

floe_status floe_agg_top(floe_agg *agg, floe_agg_order order, size_t n, floe_agg_group **groups,
                         size_t *count) {
    *groups = NULL;
    *count = 0;
    const floe_agg_group *all;
    size_t total;
    floe_status status = floe_agg_sorted(agg, &all, &total);
    if (status != FLOE_OK) return status;
    if (total == 0) return FLOE_OK;
    floe_agg_group *copy = malloc(total * sizeof(*copy));
    if (copy == NULL) return FLOE_ERR_NOMEM;
    memcpy(copy, all, total * sizeof(*copy));
    qsort_r(copy, total, sizeof(*copy), compare_top, &order);
    *groups = copy;
    *count = n < total ? n : total;
    return FLOE_OK;
}

const floe_key_spec *floe_agg_spec(const floe_agg *agg) {
    return &agg->spec;
}
