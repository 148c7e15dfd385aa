#include "floe_agg.h"

#include "floe_agg_sort.h"
#include "floe_agg_table.h"
#include "floe_mem.h"

#include <pthread.h>
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
#define WINDOW_BYTES    FLOE_AGG_WINDOW_BYTES
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

/* ---- the aggregate ------------------------------------------------------------------------ */

/* How a key part is encoded, worked out once per aggregate. */
typedef struct part_plan {
    floe_field field;
    floe_type type;
    bool masked;         /* an address part with a prefix shorter than the whole address */
    uint8_t mask_v4[16]; /* applied to IPv4-mapped values: ::ffff:0:0/96 + the v4 prefix */
    uint8_t mask_v6[16];
} part_plan;

/* Rows are aggregated in chunks of KEY_CHUNK: first every key and hash is built, then the rows
 * are ordered by partition, and each partition's rows are looked up under its lock, with the
 * slot of a row PREFETCH_AHEAD rows on already on its way from memory, which hides most of the
 * cache misses of a table much larger than the cache. A chunk takes each lock at most once, and
 * holds it for its few dozen rows of that partition. */
#define KEY_CHUNK      512
#define PREFETCH_AHEAD 8

/* A group's partition: the top bits of its key's hash (the slots use the low bits). */
#define PARTITION_SHIFT (64 - 4)
_Static_assert(FLOE_AGG_PARTITIONS == 1 << (64 - PARTITION_SHIFT), "partition bits");

struct floe_agg {
    floe_key_spec spec;
    part_plan plan[FLOE_KEY_MAX_PARTS];
    bool has_strings;            /* a string part: keys vary in length beyond the fixed bound */
    size_t fixed_key_max;        /* longest key without string parts */
    floe_agg_writer *own_writer; /* floe_agg_add_rows', made on first use */

    /* A partition's table changes only under its lock (floe_agg_writer_add_rows); the other
     * calls that change a partition are the caller's to keep apart (floe_agg.h). */
    pthread_mutex_t locks[FLOE_AGG_PARTITIONS];
    floe_agg_table tables[FLOE_AGG_PARTITIONS];
    /* Sorting: a partition's sorted items (floe_agg_sort_partition), and the merged result.
     * gen[p] counts changes to partition p; items and the result remember the gens they
     * were built from, so a change makes them stale without any shared flag. */
    uint64_t gen[FLOE_AGG_PARTITIONS];
    floe_agg_sort_item *items[FLOE_AGG_PARTITIONS];
    size_t nitems[FLOE_AGG_PARTITIONS];
    size_t items_cap[FLOE_AGG_PARTITIONS]; /* allocated: a sort of closed windows fills less */
    uint64_t items_gen[FLOE_AGG_PARTITIONS];
    floe_agg_group *sorted;
    size_t sorted_size;  /* bytes (a floe_mem block) */
    bool sorted_partial; /* sorted holds only closed windows' groups (floe_agg_sorted_closed) */
    uint64_t sorted_gen[FLOE_AGG_PARTITIONS];
    /* floe_agg_merge_prepare's plan: slice t takes items cut[p][t] .. cut[p][t + 1] of every
     * partition p's sorted run. */
    unsigned slices;
    size_t cut[FLOE_AGG_PARTITIONS][FLOE_AGG_MAX_SLICES + 1];
};

/* One thread's way of adding rows to a table: its scratch for a chunk of rows. */
struct floe_agg_writer {
    floe_agg *agg;
    size_t key_off[KEY_CHUNK];
    uint32_t key_len[KEY_CHUNK];
    uint64_t key_hash[KEY_CHUNK];
    uint16_t by_partition[KEY_CHUNK]; /* the chunk's rows (indexes), partition by partition */
    key_buf scratch;
};

static unsigned partition_of(uint64_t hash) {
    return (unsigned)(hash >> PARTITION_SHIFT);
}

static void drop_items(floe_agg *agg, unsigned p) {
    floe_mem_free(agg->items[p], agg->items_cap[p] * sizeof(floe_agg_sort_item));
    agg->items[p] = NULL;
    agg->nitems[p] = agg->items_cap[p] = 0;
}

static void drop_sorted(floe_agg *agg) {
    floe_mem_free(agg->sorted, agg->sorted_size);
    agg->sorted = NULL;
    agg->sorted_size = 0;
    agg->sorted_partial = false;
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
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
        pthread_mutex_init(&agg->locks[p], NULL);
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        if (floe_agg_table_init(&agg->tables[p], spec->ndistinct) != FLOE_OK) {
            floe_agg_free(agg);
            return NULL;
        }
    }
    return agg;
}

floe_agg_writer *floe_agg_writer_new(floe_agg *agg) {
    floe_agg_writer *w = calloc(1, sizeof(*w));
    if (w != NULL) w->agg = agg;
    return w;
}

void floe_agg_writer_free(floe_agg_writer *w) {
    if (w == NULL) return;
    free(w->scratch.data);
    free(w);
}

void floe_agg_free(floe_agg *agg) {
    if (agg == NULL) return;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        floe_agg_table_free(&agg->tables[p]);
        drop_items(agg, p);
        pthread_mutex_destroy(&agg->locks[p]);
    }
    floe_agg_writer_free(agg->own_writer);
    drop_sorted(agg);
    free(agg);
}

size_t floe_agg_count(const floe_agg *agg) {
    size_t count = 0;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
        count += agg->tables[p].count;
    return count;
}

size_t floe_agg_memory(const floe_agg *agg) {
    size_t bytes = 0;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
        bytes += floe_agg_table_memory(&agg->tables[p]);
    return bytes;
}

const floe_key_spec *floe_agg_spec(const floe_agg *agg) {
    return &agg->spec;
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

/* ---- adding rows ------------------------------------------------------------------------------
 */

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

floe_status floe_agg_add_batch(floe_agg *agg, const floe_batch *batch) {
    return floe_agg_add_rows(agg, batch, NULL, batch->count);
}

floe_status floe_agg_add_rows(floe_agg *agg, const floe_batch *batch, const uint32_t *rows,
                              uint32_t nrows) {
    if (agg->own_writer == NULL && (agg->own_writer = floe_agg_writer_new(agg)) == NULL)
        return FLOE_ERR_NOMEM;
    return floe_agg_writer_add_rows(agg->own_writer, batch, rows, nrows);
}

/* The columns floe_agg_writer_add_rows reads, found once a batch. */
typedef struct batch_columns {
    const floe_batch *batch;
    const uint32_t *rows; /* NULL: rows base + i */
    uint32_t base;        /* the chunk's first row */
    const int64_t *start, *end;
    const uint64_t *packets, *bytes;
    const uint8_t *action;
} batch_columns;

/* Adds the chunk's rows w->by_partition[lo..hi), all of partition `part`, to its table; the
 * chunk has n rows. The caller holds the partition's lock. Two stages of prefetching hide the
 * two dependent misses of a big table: the slot of the row 2 * PREFETCH_AHEAD ahead (looking on
 * into the next partitions' rows, unlocked: floe_agg_table_slot_hint), and the record behind
 * the (by now loaded) slot of the row PREFETCH_AHEAD ahead, in this partition only. */
static floe_status add_partition_rows(floe_agg_writer *w, const batch_columns *c, unsigned part,
                                      uint32_t lo, uint32_t hi, uint32_t n) {
    floe_agg *agg = w->agg;
    const floe_key_spec *spec = &agg->spec;
    const floe_batch *batch = c->batch;
    const uint64_t start_bit = UINT64_C(1) << FLOE_F_START, end_bit = UINT64_C(1) << FLOE_F_END;
    floe_agg_table *t = &agg->tables[part];
    agg->gen[part]++;
    for (uint32_t j = lo; j < hi; j++) {
        if (j + 2 * PREFETCH_AHEAD < n) {
            uint64_t ahead = w->key_hash[w->by_partition[j + 2 * PREFETCH_AHEAD]];
            __builtin_prefetch(floe_agg_table_slot_hint(&agg->tables[partition_of(ahead)], ahead));
        }
        if (j + PREFETCH_AHEAD < hi)
            floe_agg_table_prefetch_record(t, w->key_hash[w->by_partition[j + PREFETCH_AHEAD]]);
        uint32_t i = w->by_partition[j];
        uint32_t row = c->rows != NULL ? c->rows[c->base + i] : c->base + i;
        floe_agg_record *rec = floe_agg_table_find_or_add(t, w->scratch.data + w->key_off[i],
                                                          w->key_len[i], w->key_hash[i]);
        if (rec == NULL) return FLOE_ERR_NOMEM;
        floe_agg_measures *m = &rec->m;
        m->flows++;
        if (c->packets != NULL) m->packets = floe_counter_add(m->packets, c->packets[row]);
        if (c->bytes != NULL) m->bytes = floe_counter_add(m->bytes, c->bytes[row]);
        if (c->action != NULL) {
            m->accepted += c->action[row] == FLOE_ACTION_ACCEPT;
            m->rejected += c->action[row] == FLOE_ACTION_REJECT;
        }
        const uint64_t nulls = batch->nulls[row];
        if (c->start != NULL && (nulls & start_bit) == 0 && c->start[row] < m->first_seen)
            m->first_seen = c->start[row];
        if (c->end != NULL && (nulls & end_bit) == 0 && c->end[row] > m->last_seen)
            m->last_seen = c->end[row];
        floe_distinct *sketches = floe_agg_table_sketches(t, rec);
        for (unsigned d = 0; d < spec->ndistinct; d++) {
            uint64_t value_hash;
            if (!distinct_hash(batch, spec->distinct[d], row, &value_hash)) continue;
            floe_status status = floe_distinct_add(&sketches[d], value_hash);
            if (status != FLOE_OK) return status;
        }
    }
    return FLOE_OK;
}

floe_status floe_agg_writer_add_rows(floe_agg_writer *w, const floe_batch *batch,
                                     const uint32_t *rows, uint32_t nrows) {
    floe_agg *agg = w->agg;
    const floe_key_spec *spec = &agg->spec;
    batch_columns c = {batch,
                       rows,
                       0,
                       floe_batch_time_or_null(batch, FLOE_F_START),
                       floe_batch_time_or_null(batch, FLOE_F_END),
                       floe_batch_u64_or_null(batch, FLOE_F_PACKETS),
                       floe_batch_u64_or_null(batch, FLOE_F_BYTES),
                       floe_batch_u8_or_null(batch, FLOE_F_ACTION)};
    const uint64_t start_bit = UINT64_C(1) << FLOE_F_START;
    part_column cols[FLOE_KEY_MAX_PARTS];
    for (unsigned p = 0; p < spec->nparts; p++) {
        floe_field f = agg->plan[p].field;
        cols[p].values = floe_batch_has(batch, f) ? batch->values[f] : NULL;
        cols[p].null_bit = UINT64_C(1) << f;
    }
    key_buf *k = &w->scratch;

    for (uint32_t base = 0; base < nrows; base += KEY_CHUNK) {
        uint32_t n = nrows - base < KEY_CHUNK ? nrows - base : KEY_CHUNK;
        c.base = base;
        /* Pass 1: keys and hashes, and how many rows each partition gets. */
        k->len = 0;
        if (!agg->has_strings && !key_reserve(k, (size_t)n * agg->fixed_key_max))
            return FLOE_ERR_NOMEM;
        uint32_t first[FLOE_AGG_PARTITIONS + 1] = {0};
        for (uint32_t i = 0; i < n; i++) {
            uint32_t row = rows != NULL ? rows[base + i] : base + i;
            if (agg->has_strings && !key_reserve(k, key_bound(agg, cols, row)))
                return FLOE_ERR_NOMEM;
            bool has_start = c.start != NULL && (batch->nulls[row] & start_bit) == 0;
            int64_t window = has_start && spec->window_seconds > 0
                                 ? c.start[row] - c.start[row] % spec->window_seconds
                                 : 0;
            size_t len = encode_key(agg, cols, batch, row, window, k->data + k->len);
            if (len > FLOE_AGG_MAX_KEY_BYTES) return FLOE_ERR_INVALID;
            w->key_off[i] = k->len;
            w->key_len[i] = (uint32_t)len;
            w->key_hash[i] = floe_agg_hash_key(k->data + k->len, len);
            first[partition_of(w->key_hash[i]) + 1]++;
            k->len += len;
        }
        /* The rows by partition, in row order within each (a counting sort). */
        for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
            first[p + 1] += first[p];
        uint32_t next[FLOE_AGG_PARTITIONS];
        memcpy(next, first, sizeof(next));
        for (uint32_t i = 0; i < n; i++)
            w->by_partition[next[partition_of(w->key_hash[i])]++] = (uint16_t)i;
        /* Pass 2: each partition's rows under its lock; the first rows' slots on their way. */
        for (uint32_t j = 0; j < n && j < 2 * PREFETCH_AHEAD; j++) {
            uint64_t hash = w->key_hash[w->by_partition[j]];
            __builtin_prefetch(floe_agg_table_slot_hint(&agg->tables[partition_of(hash)], hash));
        }
        for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
            if (first[p] == first[p + 1]) continue;
            pthread_mutex_lock(&agg->locks[p]);
            floe_status status = add_partition_rows(w, &c, p, first[p], first[p + 1], n);
            pthread_mutex_unlock(&agg->locks[p]);
            if (status != FLOE_OK) return status;
        }
    }
    return FLOE_OK;
}

/* ---- merging ----------------------------------------------------------------------------------
 */

floe_status floe_agg_merge_partition(floe_agg *into, const floe_agg *from, unsigned partition) {
    if (into == from || partition >= FLOE_AGG_PARTITIONS ||
        memcmp(&into->spec, &from->spec, sizeof(into->spec)) != 0)
        return FLOE_ERR_INVALID;
    floe_agg_table *dst_table = &into->tables[partition];
    const floe_agg_table *src_table = &from->tables[partition];
    const size_t nd = into->spec.ndistinct;
    into->gen[partition]++;
    /* Room for the worst case (no key in common) at once: one rehash, not one per doubling. */
    floe_status reserved = floe_agg_table_reserve(dst_table, dst_table->count + src_table->count);
    if (reserved != FLOE_OK) return reserved;
    /* In chunks, as floe_agg_add_rows does: hashes first, then lookups with prefetching. The
     * scratch is local: merges of different partitions may run at once. */
    const floe_agg_record *chunk[KEY_CHUNK];
    uint64_t hashes[KEY_CHUNK];
    uint64_t cursor = 0;
    for (bool more = true; more;) {
        uint32_t n = 0;
        while (n < KEY_CHUNK) {
            const floe_agg_record *rec = floe_agg_table_next(src_table, &cursor, NULL);
            if (rec == NULL) break;
            chunk[n] = rec;
            hashes[n++] = floe_agg_hash_key(rec->key, rec->key_len);
        }
        more = n == KEY_CHUNK;
        for (uint32_t i = 0; i < n; i++) {
            if (i + PREFETCH_AHEAD < n)
                __builtin_prefetch(floe_agg_table_slot(dst_table, hashes[i + PREFETCH_AHEAD]));
            const floe_agg_record *src = chunk[i];
            floe_agg_record *dst =
                floe_agg_table_find_or_add(dst_table, src->key, src->key_len, hashes[i]);
            if (dst == NULL) return FLOE_ERR_NOMEM;
            floe_agg_measures_add(&dst->m, &src->m);
            floe_distinct *into_sketches = floe_agg_table_sketches(dst_table, dst);
            const floe_distinct *from_sketches = floe_agg_table_sketches(src_table, src);
            for (size_t d = 0; d < nd; d++) {
                floe_status status = floe_distinct_merge(&into_sketches[d], &from_sketches[d]);
                if (status != FLOE_OK) return status;
            }
        }
    }
    return FLOE_OK;
}

floe_status floe_agg_merge(floe_agg *into, const floe_agg *from) {
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        floe_status status = floe_agg_merge_partition(into, from, p);
        if (status != FLOE_OK) return status;
    }
    return FLOE_OK;
}

/* ---- closing windows -------------------------------------------------------------------------
 */

bool floe_agg_window_closed(int64_t window_start, int64_t window_seconds, int64_t horizon) {
    return window_start > 0 && window_seconds > 0 && window_start <= horizon - window_seconds;
}

typedef struct open_window {
    int64_t horizon, len;
} open_window;

static bool window_open(const floe_agg_record *rec, void *ctx) {
    const open_window *w = ctx;
    return !floe_agg_window_closed((int64_t)get_be64(rec->key), w->len, w->horizon);
}

floe_status floe_agg_drop_closed(floe_agg *agg, int64_t horizon) {
    drop_sorted(agg);
    open_window w = {horizon, agg->spec.window_seconds};
    if (w.len <= 0) return FLOE_OK;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        floe_status status = floe_agg_table_compact(&agg->tables[p], window_open, &w);
        if (status != FLOE_OK) return status;
        drop_items(agg, p);
        agg->gen[p]++;
    }
    return FLOE_OK;
}

/* ---- order ------------------------------------------------------------------------------------
 */

static floe_agg_group group_of(const floe_agg_table *t, const floe_agg_record *rec) {
    return (floe_agg_group){(int64_t)get_be64(rec->key), rec->key + WINDOW_BYTES,
                            rec->key_len - WINDOW_BYTES, &rec->m, floe_agg_table_sketches(t, rec)};
}

/* Sorts a partition's records into items[partition]: all of them, or with closed_by other than
 * INT64_MIN only those of windows ended by it (floe_agg_sorted_closed). */
static floe_status sort_records(floe_agg *agg, unsigned partition, int64_t closed_by) {
    drop_items(agg, partition);
    const floe_agg_table *t = &agg->tables[partition];
    if (t->count == 0) return FLOE_OK;
    /* Large arrays: floe_mem (huge pages) rather than malloc's 4 KiB faults. */
    floe_agg_sort_item *items = floe_mem_scratch(t->count * sizeof(*items));
    if (items == NULL) return FLOE_ERR_NOMEM;
    size_t n = 0;
    uint64_t cursor = 0;
    for (const floe_agg_record *rec; (rec = floe_agg_table_next(t, &cursor, NULL)) != NULL;) {
        if (closed_by != INT64_MIN && !floe_agg_window_closed((int64_t)get_be64(rec->key),
                                                              agg->spec.window_seconds, closed_by))
            continue;
        floe_agg_sort_prefix(rec->key, rec->key_len, items[n].k);
        items[n++].rec = rec;
    }
    floe_agg_sort_items(items, n);
    agg->items[partition] = items;
    agg->nitems[partition] = n;
    agg->items_cap[partition] = t->count;
    return FLOE_OK;
}

floe_status floe_agg_sort_partition(floe_agg *agg, unsigned partition) {
    if (partition >= FLOE_AGG_PARTITIONS) return FLOE_ERR_INVALID;
    if (agg->items[partition] != NULL && agg->items_gen[partition] == agg->gen[partition])
        return FLOE_OK;
    floe_status status = sort_records(agg, partition, INT64_MIN);
    if (status == FLOE_OK) agg->items_gen[partition] = agg->gen[partition];
    return status;
}

static bool sorted_is_current(const floe_agg *agg) {
    if (agg->sorted == NULL || agg->sorted_partial) return false;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
        if (agg->sorted_gen[p] != agg->gen[p]) return false;
    return true;
}

/* A heap of sorted runs (partition numbers), least head on top; each run is read from pos up
 * to end. */
typedef struct run_heap {
    const floe_agg *agg;
    unsigned run[FLOE_AGG_PARTITIONS];
    size_t pos[FLOE_AGG_PARTITIONS]; /* by partition */
    size_t end[FLOE_AGG_PARTITIONS];
    unsigned n;
} run_heap;

static const floe_agg_sort_item *run_head(const run_heap *h, unsigned i) {
    return &h->agg->items[h->run[i]][h->pos[h->run[i]]];
}

static void run_sift(run_heap *h, unsigned root) {
    for (;;) {
        unsigned least = root, l = 2 * root + 1, r = l + 1;
        if (l < h->n && floe_agg_item_less(run_head(h, l), run_head(h, least))) least = l;
        if (r < h->n && floe_agg_item_less(run_head(h, r), run_head(h, least))) least = r;
        if (least == root) return;
        unsigned tmp = h->run[root];
        h->run[root] = h->run[least];
        h->run[least] = tmp;
        root = least;
    }
}

/* The first position in run p whose item is not less than `bound`. */
static size_t lower_bound(const floe_agg *agg, unsigned p, const floe_agg_sort_item *bound) {
    size_t lo = 0, hi = agg->nitems[p];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (floe_agg_item_less(&agg->items[p][mid], bound))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Allocates the merged array for the partitions' sorted items and cuts them into slices. */
static floe_status plan_slices(floe_agg *agg, unsigned slices) {
    size_t total = 0;
    unsigned largest = 0;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        total += agg->nitems[p];
        if (agg->nitems[p] > agg->nitems[largest]) largest = p;
    }
    agg->slices = slices;
    if (total == 0) return FLOE_OK;
    agg->sorted_size = total * sizeof(floe_agg_group);
    agg->sorted = floe_mem_scratch(agg->sorted_size);
    if (agg->sorted == NULL) {
        agg->sorted_size = 0;
        return FLOE_ERR_NOMEM;
    }
    /* Slice boundaries: keys spaced evenly through the largest run. Every run is cut where
     * those keys would go, so the slices hold disjoint key ranges, in order. */
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        agg->cut[p][0] = 0;
        agg->cut[p][slices] = agg->nitems[p];
    }
    for (unsigned t = 1; t < slices; t++) {
        const floe_agg_sort_item *bound = &agg->items[largest][agg->nitems[largest] * t / slices];
        for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
            agg->cut[p][t] = lower_bound(agg, p, bound);
    }
    return FLOE_OK;
}

floe_status floe_agg_merge_prepare(floe_agg *agg, unsigned slices) {
    if (slices == 0 || slices > FLOE_AGG_MAX_SLICES) return FLOE_ERR_INVALID;
    drop_sorted(agg);
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        floe_status status = floe_agg_sort_partition(agg, p);
        if (status != FLOE_OK) return status;
    }
    return plan_slices(agg, slices);
}

void floe_agg_merge_slice(floe_agg *agg, unsigned slice) {
    if (agg->sorted == NULL || slice >= agg->slices) return;
    run_heap h = {.agg = agg};
    size_t out = 0; /* where the slice starts: everything before it in every run */
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        out += agg->cut[p][slice];
        h.pos[p] = agg->cut[p][slice];
        h.end[p] = agg->cut[p][slice + 1];
        if (h.pos[p] < h.end[p]) h.run[h.n++] = p;
    }
    for (unsigned i = h.n / 2; i-- > 0;)
        run_sift(&h, i);
    /* A group is made from its record (its length and sketches), which lies anywhere in the
     * table: each run's next record is fetched while the other runs take their turns. */
    for (unsigned i = 0; i < h.n; i++)
        __builtin_prefetch(agg->items[h.run[i]][h.pos[h.run[i]]].rec);
    while (h.n > 0) {
        unsigned top = h.run[0];
        agg->sorted[out++] = group_of(&agg->tables[top], agg->items[top][h.pos[top]].rec);
        if (++h.pos[top] == h.end[top])
            h.run[0] = h.run[--h.n];
        else
            __builtin_prefetch(agg->items[top][h.pos[top]].rec);
        run_sift(&h, 0);
    }
}

void floe_agg_merge_finish(floe_agg *agg) {
    /* The runs are merged: their items are not needed any more. */
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        drop_items(agg, p);
        agg->sorted_gen[p] = agg->gen[p];
    }
    agg->slices = 0;
}

floe_status floe_agg_sorted_closed(floe_agg *agg, int64_t horizon, const floe_agg_group **groups,
                                   size_t *count) {
    drop_sorted(agg);
    *groups = NULL;
    *count = 0;
    if (horizon == INT64_MIN) return FLOE_OK; /* sort_records' "all" */
    floe_status status = FLOE_OK;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS && status == FLOE_OK; p++)
        status = sort_records(agg, p, horizon);
    if (status == FLOE_OK) status = plan_slices(agg, 1);
    size_t n = 0;
    if (status == FLOE_OK) {
        floe_agg_merge_slice(agg, 0);
        for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
            n += agg->nitems[p];
    }
    /* These items are not the partitions' whole runs: never keep them as such. */
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++)
        drop_items(agg, p);
    agg->slices = 0;
    agg->sorted_partial = true;
    *groups = agg->sorted;
    *count = status == FLOE_OK ? n : 0;
    return status;
}

floe_status floe_agg_sorted(floe_agg *agg, const floe_agg_group **groups, size_t *count) {
    if (!sorted_is_current(agg)) {
        floe_status status = floe_agg_merge_prepare(agg, 1);
        if (status != FLOE_OK) return status;
        floe_agg_merge_slice(agg, 0);
        floe_agg_merge_finish(agg);
    }
    *groups = agg->sorted;
    *count = agg->sorted != NULL ? floe_agg_count(agg) : 0;
    return FLOE_OK;
}

/* ---- reading keys ------------------------------------------------------------------------ */

static uint64_t get_be(const uint8_t *p, unsigned nbytes) {
    uint64_t value = 0;
    for (unsigned i = 0; i < nbytes; i++)
        value = value << 8 | p[i];
    return value;
}

size_t floe_agg_key_prefix_len(const floe_agg *agg, const floe_agg_group *group, unsigned nparts) {
    const uint8_t *p = group->key;
    for (unsigned i = 0; i < nparts && i < agg->spec.nparts; i++) {
        uint8_t tag = *p++;
        if (tag == TAG_NULL) continue;
        switch (agg->plan[i].type) {
        case FLOE_T_U8:
        case FLOE_T_ENUM:
            p += 1;
            break;
        case FLOE_T_U16:
            p += 2;
            break;
        case FLOE_T_U64:
        case FLOE_T_TIME:
            p += 8;
            break;
        case FLOE_T_ADDR:
            p += tag == TAG_V4 ? 4 : 16;
            break;
        case FLOE_T_STR:
            p += strlen((const char *)p) + 1;
            break;
        }
    }
    return (size_t)(p - group->key);
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

bool floe_agg_key_value(const floe_agg *agg, const floe_agg_group *group, unsigned part,
                        void *value) {
    if (part >= agg->spec.nparts) return false;
    floe_key_value values[FLOE_KEY_MAX_PARTS];
    floe_agg_key_decode(agg, group, values);
    if (values[part].null) return false;
    switch (agg->plan[part].type) {
    case FLOE_T_U8:
    case FLOE_T_ENUM:
        *(uint8_t *)value = values[part].v.u8;
        break;
    case FLOE_T_U16:
        *(uint16_t *)value = values[part].v.u16;
        break;
    case FLOE_T_U64:
        *(uint64_t *)value = values[part].v.u64;
        break;
    case FLOE_T_TIME:
        *(int64_t *)value = values[part].v.time;
        break;
    case FLOE_T_ADDR:
        *(floe_addr *)value = values[part].v.addr;
        break;
    case FLOE_T_STR:
        *(floe_slice *)value = values[part].v.str;
        break;
    }
    return true;
}

/* ---- top N ------------------------------------------------------------------------------------
 */

static uint64_t order_value(const floe_agg_group *g, floe_agg_order order) {
    switch (order) {
    case FLOE_AGG_ORDER_FLOWS:
        return g->m->flows;
    case FLOE_AGG_ORDER_PACKETS:
        return g->m->packets;
    case FLOE_AGG_ORDER_BYTES:
        return g->m->bytes;
    case FLOE_AGG_ORDER_REJECTED:
        return g->m->rejected;
    }
    return 0;
}

/* Canonical order of two groups: their full keys (window, then values). */
static int compare_groups(const floe_agg_group *x, const floe_agg_group *y) {
    return floe_agg_compare_keys(x->key - WINDOW_BYTES, x->key_len + WINDOW_BYTES,
                                 y->key - WINDOW_BYTES, y->key_len + WINDOW_BYTES);
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
    return compare_top(x, y, &order) > 0;
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
    size_t total = floe_agg_count(agg);
    if (total == 0 || n == 0) return FLOE_OK;
    if (n > total) n = total;
    /* The n best so far in a heap whose top is the worst of them: one pass over the table,
     * O(groups log n), rather than sorting every group. */
    floe_agg_group *heap = malloc(n * sizeof(*heap));
    if (heap == NULL) return FLOE_ERR_NOMEM;
    size_t size = 0;
    for (unsigned p = 0; p < FLOE_AGG_PARTITIONS; p++) {
        const floe_agg_table *t = &agg->tables[p];
        uint64_t cursor = 0;
        for (const floe_agg_record *rec; (rec = floe_agg_table_next(t, &cursor, NULL)) != NULL;) {
            floe_agg_group g = group_of(t, rec);
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
    }
    qsort_r(heap, size, sizeof(*heap), compare_top, &order);
    *groups = heap;
    *count = size;
    return FLOE_OK;
}
