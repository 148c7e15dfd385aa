#include "floe_parquet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "floe_bytes.h"
#include "floe_thrift.h"

/* Parquet's numbers for what this writer uses (parquet.thrift). */
enum {
    PAGE_DATA = 0,
    PAGE_DICTIONARY = 2,
    ENC_PLAIN = 0,
    ENC_RLE = 3,
    ENC_RLE_DICTIONARY = 8,
    REP_REQUIRED = 0,
    REP_OPTIONAL = 1,
    CONV_UTF8 = 0,
    CONV_TIMESTAMP_MICROS = 10,
    CONV_UINT_8 = 11,
    CONV_INT_8 = 15
};

/* A chunk keeps a dictionary only while it pays: at most half as many entries as values, and
 * entries that fit one page of this size. Columns of mostly distinct values (addresses,
 * counters of a big table) would fill the hash table for nothing, so the attempt also stops
 * when the first DICTIONARY_PROBE values are already more than half distinct. */
#define DICTIONARY_MAX_BYTES ((size_t)1 << 20)
#define DICTIONARY_PROBE     4096

/* ---- the RLE / bit-packed hybrid ----------------------------------------------------------- */

/* Writes values[0..n) of `width` bits (1..32) as the hybrid encoding (no length prefix): a run
 * of 8 or more equal values as an RLE run (varint count << 1, then the value in
 * ceil(width / 8) little-endian bytes), everything else as bit-packed groups of 8 (varint
 * groups << 1 | 1, then the values packed from each byte's least significant bit), the last
 * group padded with zeros, which the reader ignores (it knows the value count). */
static void hybrid_encode(floe_bytes *b, const uint32_t *values, size_t n, unsigned width) {
    const size_t value_bytes = (width + 7) / 8;
    size_t i = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && values[i + run] == values[i])
            run++;
        if (run >= 8) {
            floe_bytes_varint(b, (uint64_t)run << 1);
            for (size_t k = 0; k < value_bytes; k++)
                floe_bytes_put(b, (uint8_t[]){(uint8_t)(values[i] >> (8 * k))}, 1);
            i += run;
            continue;
        }
        /* Bit-packed groups until a run of 8 starts at a group boundary (at most 64 groups a
         * header, so the count is known before the groups are written). */
        size_t groups = 0, at = i;
        while (at < n && groups < 64) {
            size_t same = 1;
            while (at + same < n && same < 8 && values[at + same] == values[at])
                same++;
            if (groups > 0 && same >= 8) break;
            groups++;
            at += 8;
        }
        floe_bytes_varint(b, (uint64_t)groups << 1 | 1);
        if (!floe_bytes_reserve(b, groups * width)) return;
        uint64_t acc = 0;
        unsigned bits = 0;
        for (size_t k = 0; k < groups * 8; k++) {
            uint64_t v = i + k < n ? values[i + k] : 0;
            acc |= v << bits;
            bits += width;
            while (bits >= 8) {
                b->data[b->len++] = (uint8_t)acc;
                acc >>= 8;
                bits -= 8;
            }
        }
        i = at < n ? at : n;
    }
}

static unsigned bit_width(uint32_t max_value) {
    unsigned width = 1; /* 0 is legal for a one-entry dictionary, but not every reader takes it */
    while (width < 32 && (max_value >> width) != 0)
        width++;
    return width;
}

/* ---- values -------------------------------------------------------------------------------- */

static size_t value_len(const floe_pq_column *col, const floe_pq_values *v, uint32_t row) {
    switch (col->type) {
    case FLOE_PQ_INT32:
        return 4;
    case FLOE_PQ_INT64:
        return 8;
    case FLOE_PQ_BYTE_ARRAY:
        return v->offsets[row + 1] - v->offsets[row];
    }
    return 0;
}

/* Row's value in PLAIN form without the BYTE_ARRAY length prefix (what statistics hold). */
static const uint8_t *value_bytes(const floe_pq_column *col, const floe_pq_values *v, uint32_t row,
                                  uint8_t scratch[8]) {
    switch (col->type) {
    case FLOE_PQ_INT32: {
        uint32_t x = (uint32_t)v->i32[row];
        for (int k = 0; k < 4; k++)
            scratch[k] = (uint8_t)(x >> (8 * k));
        return scratch;
    }
    case FLOE_PQ_INT64: {
        uint64_t x = (uint64_t)v->i64[row];
        for (int k = 0; k < 8; k++)
            scratch[k] = (uint8_t)(x >> (8 * k));
        return scratch;
    }
    case FLOE_PQ_BYTE_ARRAY:
        return v->bytes + v->offsets[row];
    }
    return scratch;
}

static void put_plain(floe_bytes *b, const floe_pq_column *col, const floe_pq_values *v,
                      uint32_t row) {
    switch (col->type) {
    case FLOE_PQ_INT32:
        floe_bytes_u32le(b, (uint32_t)v->i32[row]);
        return;
    case FLOE_PQ_INT64:
        floe_bytes_u64le(b, (uint64_t)v->i64[row]);
        return;
    case FLOE_PQ_BYTE_ARRAY: {
        uint32_t len = v->offsets[row + 1] - v->offsets[row];
        floe_bytes_u32le(b, len);
        floe_bytes_put(b, v->bytes + v->offsets[row], len);
        return;
    }
    }
}

/* a < b (negative), equal (0) or a > b under the type's order: signed integers, bytes
 * unsigned and shorter first on a common prefix. */
/* Unsigned bytewise order, shorter first on a common prefix; eight bytes a step as big-endian
 * words (the values here are short: addresses, words, ids), bytes at the end. */
static int compare_bytes(const uint8_t *a, size_t la, const uint8_t *b, size_t lb) {
    size_t n = la < lb ? la : lb, k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t wa, wb;
        memcpy(&wa, a + k, 8);
        memcpy(&wb, b + k, 8);
        if (wa != wb) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            wa = __builtin_bswap64(wa); /* make the first byte the most significant */
            wb = __builtin_bswap64(wb);
#endif
            return wa < wb ? -1 : 1;
        }
    }
    for (; k < n; k++)
        if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
    return (la > lb) - (la < lb);
}

/* Two rows of a BYTE_ARRAY column in its order (integers are compared in find_min_max). */
static int compare_byte_rows(const floe_pq_column *col, const floe_pq_values *v, uint32_t a,
                             uint32_t b) {
    return compare_bytes(v->bytes + v->offsets[a], value_len(col, v, a), v->bytes + v->offsets[b],
                         value_len(col, v, b));
}

static bool rows_equal(const floe_pq_column *col, const floe_pq_values *v, uint32_t a, uint32_t b) {
    switch (col->type) {
    case FLOE_PQ_INT32:
        return v->i32[a] == v->i32[b];
    case FLOE_PQ_INT64:
        return v->i64[a] == v->i64[b];
    case FLOE_PQ_BYTE_ARRAY: {
        size_t la = value_len(col, v, a);
        return la == value_len(col, v, b) &&
               compare_bytes(v->bytes + v->offsets[a], la, v->bytes + v->offsets[b], la) == 0;
    }
    }
    return false;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    return x ^ (x >> 33);
}

static uint64_t hash_row(const floe_pq_column *col, const floe_pq_values *v, uint32_t row) {
    switch (col->type) {
    case FLOE_PQ_INT32:
        return mix64((uint32_t)v->i32[row]);
    case FLOE_PQ_INT64:
        return mix64((uint64_t)v->i64[row]);
    case FLOE_PQ_BYTE_ARRAY: {
        /* Eight bytes at a time. The hash only places values in the dictionary's table; the
         * file depends on the values' order, not on it. */
        const uint8_t *p = v->bytes + v->offsets[row];
        size_t n = value_len(col, v, row);
        uint64_t h = UINT64_C(0x9e3779b97f4a7c15) * (n + 1), word;
        for (; n >= 8; p += 8, n -= 8) {
            memcpy(&word, p, 8);
            h = (h ^ word) * UINT64_C(0xff51afd7ed558ccd);
            h ^= h >> 32;
        }
        word = 0;
        memcpy(&word, p, n);
        return mix64(h ^ word);
    }
    }
    return 0;
}

/* ---- one column chunk ----------------------------------------------------------------------- */

typedef struct chunk_meta {
    bool dictionary;
    int64_t num_values;
    int64_t uncompressed_size, compressed_size; /* pages with their headers */
    int64_t dictionary_offset;                  /* from the chunk's start; -1: none */
    int64_t data_offset;                        /* from the chunk's start */
    int64_t null_count;
    bool has_min_max;
    uint8_t *min, *max; /* owned, PLAIN without length prefix */
    size_t min_len, max_len;
} chunk_meta;

struct floe_pq_row_group {
    uint32_t nrows;
    unsigned ncolumns;
    floe_bytes bytes;      /* the chunks, one after another */
    int64_t *chunk_offset; /* where each chunk starts in bytes */
    chunk_meta *chunks;
};

/* What one encode call reuses from column to column. */
struct floe_pq_encoder {
    const floe_pq_schema *schema;
    ZSTD_CCtx *zstd;
    floe_bytes page;       /* a page body before compression */
    floe_bytes compressed; /* ... and after */
    floe_thrift header;
    uint32_t *scratch; /* levels or dictionary indices, nrows entries */
    uint32_t *slots;   /* dictionary hash table: row + 1 of each entry's first row, 0 empty */
    size_t nslots;
    uint32_t *entries;       /* rows holding the dictionary's entries, in first-seen order */
    uint32_t rows_capacity;  /* of scratch and entries */
    size_t last_group_bytes; /* the previous row group's size: the next one's first guess */
};
typedef struct floe_pq_encoder encoder;

/* Appends one page (header, then the body compressed as the schema says) to out. */
static floe_status put_page(encoder *e, floe_bytes *out, int page_type, const floe_bytes *body,
                            uint32_t count, int encoding, chunk_meta *meta) {
    if (body->failed) return FLOE_ERR_NOMEM;
    if (body->len > INT32_MAX) return FLOE_ERR_INVALID;
    const uint8_t *stored = body->data;
    size_t stored_len = body->len;
    if (e->schema->codec == FLOE_PQ_ZSTD) {
        size_t bound = ZSTD_compressBound(body->len);
        e->compressed.len = 0;
        if (!floe_bytes_reserve(&e->compressed, bound)) return FLOE_ERR_NOMEM;
        size_t n = ZSTD_compressCCtx(e->zstd, e->compressed.data, bound, body->data, body->len,
                                     e->schema->zstd_level);
        if (ZSTD_isError(n)) return FLOE_ERR_NOMEM; /* only allocation can fail with the bound */
        stored = e->compressed.data;
        stored_len = n;
    }
    if (stored_len > INT32_MAX) return FLOE_ERR_INVALID;
    floe_thrift *h = &e->header;
    floe_thrift_reset(h);
    floe_thrift_i32(h, 1, page_type);
    floe_thrift_i32(h, 2, (int32_t)body->len);
    floe_thrift_i32(h, 3, (int32_t)stored_len);
    if (page_type == PAGE_DATA) {
        floe_thrift_struct_begin(h, 5); /* DataPageHeader */
        floe_thrift_i32(h, 1, (int32_t)count);
        floe_thrift_i32(h, 2, encoding);
        floe_thrift_i32(h, 3, ENC_RLE); /* definition levels */
        floe_thrift_i32(h, 4, ENC_RLE); /* repetition levels (none: the schema is flat) */
        floe_thrift_struct_end(h);
    } else {
        floe_thrift_struct_begin(h, 7); /* DictionaryPageHeader */
        floe_thrift_i32(h, 1, (int32_t)count);
        floe_thrift_i32(h, 2, ENC_PLAIN);
        floe_thrift_struct_end(h);
    }
    floe_thrift_struct_end(h);
    if (h->out.failed) return FLOE_ERR_NOMEM;
    floe_bytes_put(out, h->out.data, h->out.len);
    floe_bytes_put(out, stored, stored_len);
    meta->uncompressed_size += (int64_t)(h->out.len + body->len);
    meta->compressed_size += (int64_t)(h->out.len + stored_len);
    return out->failed ? FLOE_ERR_NOMEM : FLOE_OK;
}

/* Builds the chunk's dictionary in e->entries and each present value's index in e->scratch;
 * returns the entry count, or 0 when a dictionary does not pay (or memory ran out). */
/* Sizes the dictionary's hash table to nslots (a power of two) and puts entries[0..nentries)
 * back in. Returns false when out of memory. */
static bool resize_slots(encoder *e, const floe_pq_column *col, const floe_pq_values *v,
                         size_t nslots, uint32_t nentries) {
    if (nslots > e->nslots) {
        free(e->slots);
        e->slots = malloc(nslots * sizeof(*e->slots));
        e->nslots = e->slots != NULL ? nslots : 0;
        if (e->slots == NULL) return false;
    }
    memset(e->slots, 0, nslots * sizeof(*e->slots));
    for (uint32_t k = 0; k < nentries; k++) {
        size_t slot = (size_t)hash_row(col, v, e->entries[k]) & (nslots - 1);
        while (e->slots[slot] != 0)
            slot = (slot + 1) & (nslots - 1);
        e->slots[slot] = k + 1;
    }
    return true;
}

/* Builds the chunk's dictionary in e->entries and each present value's index in e->scratch;
 * returns the entry count, or 0 when a dictionary does not pay (or memory ran out). The hash
 * table starts small and doubles as entries come, so the common few-entry column costs a
 * small table, and a value equal to the previous one (sorted and clustered columns) skips
 * the lookup. */
static uint32_t build_dictionary(encoder *e, const floe_pq_column *col, const floe_pq_values *v,
                                 uint32_t nrows, uint32_t npresent) {
    const uint32_t max_entries = npresent / 2;
    if (max_entries == 0) return 0;
    size_t nslots = 1024;
    if (!resize_slots(e, col, v, nslots, 0)) return 0;
    uint32_t nentries = 0, nindexes = 0, previous = UINT32_MAX;
    size_t plain_bytes = 0;
    for (uint32_t row = 0; row < nrows; row++) {
        if (v->present != NULL && !v->present[row]) continue;
        uint32_t index;
        if (previous != UINT32_MAX && rows_equal(col, v, previous, row)) {
            index = e->scratch[nindexes - 1];
        } else {
            size_t slot = (size_t)hash_row(col, v, row) & (nslots - 1);
            for (;;) {
                uint32_t held = e->slots[slot];
                if (held == 0) {
                    if (nentries == max_entries) return 0;
                    plain_bytes +=
                        value_len(col, v, row) + (col->type == FLOE_PQ_BYTE_ARRAY ? 4 : 0);
                    if (plain_bytes > DICTIONARY_MAX_BYTES) return 0;
                    e->entries[nentries] = row;
                    e->slots[slot] = nentries + 1;
                    index = nentries++;
                    if ((size_t)nentries * 2 > nslots) {
                        nslots *= 2;
                        if (!resize_slots(e, col, v, nslots, nentries)) return 0;
                    }
                    break;
                }
                if (rows_equal(col, v, e->entries[held - 1], row)) {
                    index = held - 1;
                    break;
                }
                slot = (slot + 1) & (nslots - 1);
            }
        }
        previous = row;
        e->scratch[nindexes++] = index;
        if (nindexes == DICTIONARY_PROBE && nentries > DICTIONARY_PROBE / 2) return 0;
    }
    return nentries;
}

/* The rows holding the smallest and largest value (first of equals), by the column's order
 * (TYPE_ORDER): signed integers, unsigned ones for an unsigned INTEGER annotation (compared
 * with the sign bit flipped), bytes unsigned. The loops are per type because a table's
 * columns run to millions of values. */
static void find_min_max(const floe_pq_column *col, const floe_pq_values *v, uint32_t nrows,
                         uint32_t *lo, uint32_t *hi) {
    uint32_t first = 0;
    while (v->present != NULL && !v->present[first])
        first++; /* the caller made sure some row is present */
    uint32_t low = first, high = first;
    const bool is_unsigned = col->logical == FLOE_PQ_INTEGER && !col->is_signed;
    switch (col->type) {
    case FLOE_PQ_INT32: {
        const uint32_t flip = is_unsigned ? UINT32_C(0x80000000) : 0;
        int32_t min = (int32_t)((uint32_t)v->i32[first] ^ flip), max = min;
        for (uint32_t row = first + 1; row < nrows; row++) {
            if (v->present != NULL && !v->present[row]) continue;
            int32_t x = (int32_t)((uint32_t)v->i32[row] ^ flip);
            if (x < min) min = x, low = row;
            if (x > max) max = x, high = row;
        }
        break;
    }
    case FLOE_PQ_INT64: {
        const uint64_t flip = is_unsigned ? UINT64_C(0x8000000000000000) : 0;
        int64_t min = (int64_t)((uint64_t)v->i64[first] ^ flip), max = min;
        for (uint32_t row = first + 1; row < nrows; row++) {
            if (v->present != NULL && !v->present[row]) continue;
            int64_t x = (int64_t)((uint64_t)v->i64[row] ^ flip);
            if (x < min) min = x, low = row;
            if (x > max) max = x, high = row;
        }
        break;
    }
    case FLOE_PQ_BYTE_ARRAY:
        for (uint32_t row = first + 1; row < nrows; row++) {
            if (v->present != NULL && !v->present[row]) continue;
            if (compare_byte_rows(col, v, row, low) < 0) low = row;
            if (compare_byte_rows(col, v, row, high) > 0) high = row;
        }
        break;
    }
    *lo = low;
    *hi = high;
}

static floe_status set_min_max(chunk_meta *meta, const floe_pq_column *col, const floe_pq_values *v,
                               uint32_t nrows) {
    if (col->no_min_max || meta->null_count == (int64_t)nrows) return FLOE_OK;
    uint32_t lo, hi;
    find_min_max(col, v, nrows, &lo, &hi);
    uint8_t scratch[8];
    meta->min_len = value_len(col, v, lo);
    meta->max_len = value_len(col, v, hi);
    meta->min = malloc(meta->min_len + 1);
    meta->max = malloc(meta->max_len + 1);
    if (meta->min == NULL || meta->max == NULL) return FLOE_ERR_NOMEM;
    memcpy(meta->min, value_bytes(col, v, lo, scratch), meta->min_len);
    memcpy(meta->max, value_bytes(col, v, hi, scratch), meta->max_len);
    meta->has_min_max = true;
    return FLOE_OK;
}

/* The present values in PLAIN encoding: little-endian integers (copied whole on a
 * little-endian machine without nulls), byte arrays behind a 4-byte length. */
static void put_plain_values(floe_bytes *b, const floe_pq_column *col, const floe_pq_values *v,
                             uint32_t nrows, uint32_t npresent) {
    const bool little_endian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
    if (col->type != FLOE_PQ_BYTE_ARRAY && little_endian && npresent == nrows) {
        size_t width = col->type == FLOE_PQ_INT32 ? 4 : 8;
        floe_bytes_put(b, col->type == FLOE_PQ_INT32 ? (const void *)v->i32 : (const void *)v->i64,
                       (size_t)nrows * width);
        return;
    }
    size_t need = col->type == FLOE_PQ_INT32 ? (size_t)npresent * 4
                  : col->type == FLOE_PQ_INT64
                      ? (size_t)npresent * 8
                      : (size_t)npresent * 4 + (v->offsets[nrows] - v->offsets[0]);
    if (!floe_bytes_reserve(b, need)) return;
    for (uint32_t row = 0; row < nrows; row++)
        if (v->present == NULL || v->present[row]) put_plain(b, col, v, row);
}

static floe_status encode_chunk(encoder *e, const floe_pq_column *col, const floe_pq_values *v,
                                uint32_t nrows, floe_bytes *out, chunk_meta *meta) {
    if ((col->type == FLOE_PQ_INT32 && v->i32 == NULL) ||
        (col->type == FLOE_PQ_INT64 && v->i64 == NULL) ||
        (col->type == FLOE_PQ_BYTE_ARRAY && (v->offsets == NULL || v->bytes == NULL)) ||
        (!col->optional && v->present != NULL))
        return FLOE_ERR_INVALID;
    const size_t chunk_start = out->len;
    uint32_t npresent = nrows;
    if (v->present != NULL) {
        npresent = 0;
        for (uint32_t row = 0; row < nrows; row++)
            npresent += v->present[row] != 0;
    }
    meta->num_values = nrows;
    meta->null_count = nrows - npresent;
    meta->dictionary_offset = -1;
    floe_status status = set_min_max(meta, col, v, nrows);
    if (status != FLOE_OK) return status;

    uint32_t nentries = build_dictionary(e, col, v, nrows, npresent);
    if (nentries > 0) {
        e->page.len = 0;
        for (uint32_t k = 0; k < nentries; k++)
            put_plain(&e->page, col, v, e->entries[k]);
        meta->dictionary = true;
        meta->dictionary_offset = (int64_t)(out->len - chunk_start);
        status = put_page(e, out, PAGE_DICTIONARY, &e->page, nentries, ENC_PLAIN, meta);
        if (status != FLOE_OK) return status;
    }

    /* The data page: definition levels (OPTIONAL columns), then the values. */
    e->page.len = 0;
    if (col->optional) {
        size_t length_at = e->page.len;
        floe_bytes_u32le(&e->page, 0); /* the levels' byte length, filled in below */
        if (npresent == nrows) {
            floe_bytes_varint(&e->page, (uint64_t)nrows << 1);
            floe_bytes_put(&e->page, (uint8_t[]){1}, 1);
        } else if (nentries > 0) {
            /* scratch holds the dictionary indexes: levels go through a second array. */
            uint32_t *levels = malloc((size_t)nrows * sizeof(*levels));
            if (levels == NULL) return FLOE_ERR_NOMEM;
            for (uint32_t row = 0; row < nrows; row++)
                levels[row] = v->present[row] != 0;
            hybrid_encode(&e->page, levels, nrows, 1);
            free(levels);
        } else {
            for (uint32_t row = 0; row < nrows; row++)
                e->scratch[row] = v->present[row] != 0;
            hybrid_encode(&e->page, e->scratch, nrows, 1);
        }
        if (e->page.failed) return FLOE_ERR_NOMEM;
        uint32_t levels_len = (uint32_t)(e->page.len - length_at - 4);
        for (int k = 0; k < 4; k++)
            e->page.data[length_at + (size_t)k] = (uint8_t)(levels_len >> (8 * k));
    }
    if (nentries > 0) {
        unsigned width = bit_width(nentries - 1);
        floe_bytes_put(&e->page, (uint8_t[]){(uint8_t)width}, 1);
        hybrid_encode(&e->page, e->scratch, npresent, width);
    } else {
        put_plain_values(&e->page, col, v, nrows, npresent);
    }
    meta->data_offset = (int64_t)(out->len - chunk_start);
    return put_page(e, out, PAGE_DATA, &e->page, nrows,
                    nentries > 0 ? ENC_RLE_DICTIONARY : ENC_PLAIN, meta);
}

static void chunk_meta_free(chunk_meta *meta) {
    free(meta->min);
    free(meta->max);
}

void floe_pq_row_group_free(floe_pq_row_group *group) {
    if (group == NULL) return;
    for (unsigned c = 0; c < group->ncolumns; c++)
        chunk_meta_free(&group->chunks[c]);
    free(group->chunks);
    free(group->chunk_offset);
    free(group->bytes.data);
    free(group);
}

floe_pq_encoder *floe_pq_encoder_new(const floe_pq_schema *schema) {
    encoder *e = calloc(1, sizeof(*e));
    if (e == NULL) return NULL;
    e->schema = schema;
    floe_thrift_init(&e->header);
    if (schema->codec == FLOE_PQ_ZSTD && (e->zstd = ZSTD_createCCtx()) == NULL) {
        free(e);
        return NULL;
    }
    return e;
}

void floe_pq_encoder_free(floe_pq_encoder *e) {
    if (e == NULL) return;
    ZSTD_freeCCtx(e->zstd);
    floe_thrift_free(&e->header);
    free(e->page.data);
    free(e->compressed.data);
    free(e->scratch);
    free(e->slots);
    free(e->entries);
    free(e);
}

floe_status floe_pq_encode_row_group(floe_pq_encoder *e, const floe_pq_values *values,
                                     uint32_t nrows, floe_pq_row_group **out) {
    *out = NULL;
    const floe_pq_schema *schema = e->schema;
    if (nrows == 0 || nrows > INT32_MAX) return FLOE_ERR_INVALID;
    if (nrows > e->rows_capacity) {
        free(e->scratch);
        free(e->entries);
        e->scratch = malloc((size_t)nrows * sizeof(*e->scratch));
        e->entries = malloc((size_t)nrows * sizeof(*e->entries));
        e->rows_capacity = e->scratch != NULL && e->entries != NULL ? nrows : 0;
        if (e->rows_capacity == 0) return FLOE_ERR_NOMEM;
    }
    floe_pq_row_group *group = calloc(1, sizeof(*group));
    if (group == NULL) return FLOE_ERR_NOMEM;
    group->nrows = nrows;
    group->ncolumns = schema->ncolumns;
    group->chunks = calloc(schema->ncolumns, sizeof(*group->chunks));
    group->chunk_offset = calloc(schema->ncolumns, sizeof(*group->chunk_offset));
    floe_status status = FLOE_OK;
    if (group->chunks == NULL || group->chunk_offset == NULL) status = FLOE_ERR_NOMEM;
    e->page.failed = e->compressed.failed = false; /* a failure earlier is not this group's */
    if (status == FLOE_OK && e->last_group_bytes > 0)
        floe_bytes_reserve(&group->bytes, e->last_group_bytes);
    for (unsigned c = 0; c < schema->ncolumns && status == FLOE_OK; c++) {
        group->chunk_offset[c] = (int64_t)group->bytes.len;
        status = encode_chunk(e, &schema->columns[c], &values[c], nrows, &group->bytes,
                              &group->chunks[c]);
    }
    if (status == FLOE_OK && group->bytes.failed) status = FLOE_ERR_NOMEM;
    if (status != FLOE_OK) {
        floe_pq_row_group_free(group);
        return status;
    }
    e->last_group_bytes = group->bytes.len;
    *out = group;
    return FLOE_OK;
}

/* ---- the file ------------------------------------------------------------------------------ */

typedef struct placed_group {
    uint32_t nrows;
    int64_t file_offset;   /* of its first chunk */
    int64_t *chunk_offset; /* absolute */
    chunk_meta *chunks;
} placed_group;

struct floe_pq_writer {
    FILE *out;
    floe_pq_schema schema;
    floe_pq_column *columns; /* copied, names included */
    int64_t offset;          /* bytes written so far */
    int64_t rows;
    placed_group *groups;
    size_t ngroups, cap;
};

static floe_status write_bytes(floe_pq_writer *w, const void *bytes, size_t n) {
    if (n > 0 && fwrite(bytes, 1, n, w->out) != n) {
        if (errno == 0) errno = EIO;
        return FLOE_ERR_IO;
    }
    w->offset += (int64_t)n;
    return FLOE_OK;
}

void floe_pq_writer_free(floe_pq_writer *w) {
    if (w == NULL) return;
    for (size_t g = 0; g < w->ngroups; g++) {
        for (unsigned c = 0; c < w->schema.ncolumns; c++)
            chunk_meta_free(&w->groups[g].chunks[c]);
        free(w->groups[g].chunks);
        free(w->groups[g].chunk_offset);
    }
    free(w->groups);
    for (unsigned c = 0; w->columns != NULL && c < w->schema.ncolumns; c++)
        free((char *)w->columns[c].name);
    free(w->columns);
    free(w);
}

floe_status floe_pq_writer_open(FILE *out, const floe_pq_schema *schema, floe_pq_writer **writer) {
    *writer = NULL;
    floe_pq_writer *w = calloc(1, sizeof(*w));
    if (w == NULL) return FLOE_ERR_NOMEM;
    w->out = out;
    w->schema = *schema;
    w->columns = calloc(schema->ncolumns > 0 ? schema->ncolumns : 1, sizeof(*w->columns));
    if (w->columns == NULL) {
        free(w);
        return FLOE_ERR_NOMEM;
    }
    for (unsigned c = 0; c < schema->ncolumns; c++) {
        w->columns[c] = schema->columns[c];
        w->columns[c].name = strdup(schema->columns[c].name);
        if (w->columns[c].name == NULL) {
            w->schema.ncolumns = c;
            floe_pq_writer_free(w);
            return FLOE_ERR_NOMEM;
        }
    }
    w->schema.columns = w->columns;
    floe_status status = write_bytes(w, "PAR1", 4);
    if (status != FLOE_OK) {
        floe_pq_writer_free(w);
        return status;
    }
    *writer = w;
    return FLOE_OK;
}

floe_status floe_pq_writer_add(floe_pq_writer *w, floe_pq_row_group *group) {
    if (group->ncolumns != w->schema.ncolumns) {
        floe_pq_row_group_free(group);
        return FLOE_ERR_INVALID;
    }
    if (w->ngroups == w->cap) {
        size_t cap = w->cap == 0 ? 16 : w->cap * 2;
        placed_group *grown = realloc(w->groups, cap * sizeof(*grown));
        if (grown == NULL) {
            floe_pq_row_group_free(group);
            return FLOE_ERR_NOMEM;
        }
        w->groups = grown;
        w->cap = cap;
    }
    int64_t start = w->offset;
    floe_status status = write_bytes(w, group->bytes.data, group->bytes.len);
    if (status != FLOE_OK) {
        floe_pq_row_group_free(group);
        return status;
    }
    /* Keep the metadata, with offsets made absolute; drop the bytes. */
    placed_group *placed = &w->groups[w->ngroups++];
    placed->nrows = group->nrows;
    placed->file_offset = start;
    placed->chunks = group->chunks;
    placed->chunk_offset = group->chunk_offset;
    for (unsigned c = 0; c < group->ncolumns; c++)
        placed->chunk_offset[c] += start;
    w->rows += group->nrows;
    group->chunks = NULL;
    group->chunk_offset = NULL;
    group->ncolumns = 0;
    floe_pq_row_group_free(group);
    return FLOE_OK;
}

static void put_schema_element(floe_thrift *t, const floe_pq_column *col) {
    floe_thrift_elem_struct_begin(t);
    floe_thrift_i32(t, 1, col->type);
    floe_thrift_i32(t, 3, col->optional ? REP_OPTIONAL : REP_REQUIRED);
    floe_thrift_string(t, 4, col->name);
    /* The legacy converted type beside the logical type, as the format asks of writers, so
     * older readers see the same meaning. */
    unsigned log_bits = col->int_bits == 8    ? 0
                        : col->int_bits == 16 ? 1
                        : col->int_bits == 32 ? 2
                                              : 3;
    switch (col->logical) {
    case FLOE_PQ_NO_LOGICAL:
        break;
    case FLOE_PQ_STRING:
        floe_thrift_i32(t, 6, CONV_UTF8);
        floe_thrift_struct_begin(t, 10);
        floe_thrift_struct_begin(t, 1); /* STRING */
        floe_thrift_struct_end(t);
        floe_thrift_struct_end(t);
        break;
    case FLOE_PQ_TIMESTAMP_US:
        floe_thrift_i32(t, 6, CONV_TIMESTAMP_MICROS);
        floe_thrift_struct_begin(t, 10);
        floe_thrift_struct_begin(t, 8); /* TIMESTAMP */
        floe_thrift_bool(t, 1, true);   /* isAdjustedToUTC */
        floe_thrift_struct_begin(t, 2); /* unit */
        floe_thrift_struct_begin(t, 2); /* MICROS */
        floe_thrift_struct_end(t);
        floe_thrift_struct_end(t);
        floe_thrift_struct_end(t);
        floe_thrift_struct_end(t);
        break;
    case FLOE_PQ_INTEGER:
        floe_thrift_i32(t, 6, (int32_t)((col->is_signed ? CONV_INT_8 : CONV_UINT_8) + log_bits));
        floe_thrift_struct_begin(t, 10);
        floe_thrift_struct_begin(t, 10); /* INTEGER */
        floe_thrift_i8(t, 1, (int8_t)col->int_bits);
        floe_thrift_bool(t, 2, col->is_signed);
        floe_thrift_struct_end(t);
        floe_thrift_struct_end(t);
        break;
    }
    floe_thrift_struct_end(t);
}

static void put_column_chunk(floe_thrift *t, const floe_pq_writer *w, const floe_pq_column *col,
                             const chunk_meta *meta, int64_t chunk_offset) {
    floe_thrift_elem_struct_begin(t);
    floe_thrift_i64(t, 2, chunk_offset); /* file_offset: deprecated; the chunk's start */
    floe_thrift_struct_begin(t, 3);      /* ColumnMetaData */
    floe_thrift_i32(t, 1, col->type);
    floe_thrift_list_begin(t, 2, FLOE_THRIFT_I32, meta->dictionary ? 3 : 2);
    floe_thrift_elem_i32(t, ENC_PLAIN);
    floe_thrift_elem_i32(t, ENC_RLE);
    if (meta->dictionary) floe_thrift_elem_i32(t, ENC_RLE_DICTIONARY);
    floe_thrift_list_begin(t, 3, FLOE_THRIFT_BINARY, 1);
    floe_thrift_elem_string(t, col->name);
    floe_thrift_i32(t, 4, w->schema.codec);
    floe_thrift_i64(t, 5, meta->num_values);
    floe_thrift_i64(t, 6, meta->uncompressed_size);
    floe_thrift_i64(t, 7, meta->compressed_size);
    floe_thrift_i64(t, 9, chunk_offset + meta->data_offset);
    if (meta->dictionary) floe_thrift_i64(t, 11, chunk_offset + meta->dictionary_offset);
    floe_thrift_struct_begin(t, 12); /* Statistics */
    floe_thrift_i64(t, 3, meta->null_count);
    if (meta->has_min_max) {
        floe_thrift_binary(t, 5, meta->max, meta->max_len);
        floe_thrift_binary(t, 6, meta->min, meta->min_len);
    }
    floe_thrift_struct_end(t);
    floe_thrift_struct_end(t); /* ColumnMetaData */
    floe_thrift_struct_end(t); /* ColumnChunk */
}

floe_status floe_pq_writer_finish(floe_pq_writer *w, const char *created_by,
                                  const floe_pq_key_value *metadata, size_t nmetadata) {
    floe_thrift t;
    floe_thrift_init(&t);
    const unsigned ncols = w->schema.ncolumns;
    floe_thrift_i32(&t, 1, 1); /* version */
    floe_thrift_list_begin(&t, 2, FLOE_THRIFT_STRUCT, ncols + 1);
    floe_thrift_elem_struct_begin(&t); /* the root: a group of every column */
    floe_thrift_string(&t, 4, "schema");
    floe_thrift_i32(&t, 5, (int32_t)ncols);
    floe_thrift_struct_end(&t);
    for (unsigned c = 0; c < ncols; c++)
        put_schema_element(&t, &w->columns[c]);
    floe_thrift_i64(&t, 3, w->rows);
    floe_thrift_list_begin(&t, 4, FLOE_THRIFT_STRUCT, (uint32_t)w->ngroups);
    for (size_t g = 0; g < w->ngroups; g++) {
        const placed_group *group = &w->groups[g];
        int64_t total_uncompressed = 0, total_compressed = 0;
        floe_thrift_elem_struct_begin(&t);
        floe_thrift_list_begin(&t, 1, FLOE_THRIFT_STRUCT, ncols);
        for (unsigned c = 0; c < ncols; c++) {
            put_column_chunk(&t, w, &w->columns[c], &group->chunks[c], group->chunk_offset[c]);
            total_uncompressed += group->chunks[c].uncompressed_size;
            total_compressed += group->chunks[c].compressed_size;
        }
        floe_thrift_i64(&t, 2, total_uncompressed);
        floe_thrift_i64(&t, 3, group->nrows);
        floe_thrift_i64(&t, 5, group->file_offset);
        floe_thrift_i64(&t, 6, total_compressed);
        if (g <= INT16_MAX)
            floe_thrift_i16(&t, 7, (int16_t)g); /* ordinal: an i16, so only so far */
        floe_thrift_struct_end(&t);
    }
    if (nmetadata > 0) {
        floe_thrift_list_begin(&t, 5, FLOE_THRIFT_STRUCT, (uint32_t)nmetadata);
        for (size_t k = 0; k < nmetadata; k++) {
            floe_thrift_elem_struct_begin(&t);
            floe_thrift_string(&t, 1, metadata[k].key);
            if (metadata[k].value != NULL) floe_thrift_string(&t, 2, metadata[k].value);
            floe_thrift_struct_end(&t);
        }
    }
    if (created_by != NULL) floe_thrift_string(&t, 6, created_by);
    floe_thrift_list_begin(&t, 7, FLOE_THRIFT_STRUCT, ncols);
    for (unsigned c = 0; c < ncols; c++) {
        floe_thrift_elem_struct_begin(&t);
        floe_thrift_struct_begin(&t, 1); /* TYPE_ORDER */
        floe_thrift_struct_end(&t);
        floe_thrift_struct_end(&t);
    }
    floe_thrift_struct_end(&t); /* FileMetaData */
    floe_status status = FLOE_OK;
    if (t.out.failed || t.out.len > UINT32_MAX) status = FLOE_ERR_NOMEM;
    uint8_t tail[8];
    for (int k = 0; k < 4; k++)
        tail[k] = (uint8_t)(t.out.len >> (8 * k));
    memcpy(tail + 4, "PAR1", 4);
    if (status == FLOE_OK) status = write_bytes(w, t.out.data, t.out.len);
    if (status == FLOE_OK) status = write_bytes(w, tail, 8);
    floe_thrift_free(&t);
    return status;
}
