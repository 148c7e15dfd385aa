#include "floe_table_parquet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "floe_distinct.h"
#include "floe_ordered.h"
#include "floe_text.h"

#define MAX_COLUMNS (1 + FLOE_KEY_MAX_PARTS + FLOE_TABLE_MEASURES + 2 * FLOE_DISTINCT_MAX_FIELDS)
/* A row group's sketches alone stay under this, so a table of HyperLogLogs (3 KB each) gets
 * smaller row groups instead of a huge one in memory per thread. */
#define ROW_GROUP_MAX_BYTES ((size_t)64 << 20)
#define MICROS              INT64_C(1000000)
#define PREFETCH_AHEAD      16

/* Where a column's values come from. */
typedef enum source {
    FROM_WINDOW,
    FROM_PART,     /* index: key part */
    FROM_MEASURE,  /* index: 0..FLOE_TABLE_MEASURES-1 */
    FROM_DISTINCT, /* index: distinct field: the estimate */
    FROM_SKETCH    /* index: distinct field: the serialized sketch */
} source;

typedef struct column_plan {
    source from;
    unsigned index;
    floe_type part_type; /* FROM_PART */
    char name[96];
} column_plan;

typedef struct table_plan {
    const floe_agg *agg;
    const floe_key_spec *spec;
    const floe_agg_group *groups;
    size_t n;
    uint32_t rows_per_group;
    unsigned ncolumns;
    column_plan plan[MAX_COLUMNS];
    floe_pq_column columns[MAX_COLUMNS];
    floe_pq_schema schema;
    floe_pq_writer *writer;
    struct scratch *scratch; /* one per producing thread */
} table_plan;

/* One column's values for one row group, reused from row group to row group. */
typedef struct column_values {
    int32_t *i32;
    int64_t *i64;
    uint8_t *present;
    uint32_t *offsets;
    uint8_t *bytes;
    size_t bytes_len, bytes_cap;
    bool too_big; /* the row group's values here passed 4 GiB (32-bit offsets) */
} column_values;

typedef struct scratch {
    column_values cols[MAX_COLUMNS];
    floe_pq_values values[MAX_COLUMNS];
    floe_pq_encoder *encoder;
} scratch;

static void add_column(table_plan *t, source from, unsigned index, const char *name,
                       floe_pq_type type, floe_pq_logical logical, bool optional) {
    column_plan *c = &t->plan[t->ncolumns];
    c->from = from;
    c->index = index;
    snprintf(c->name, sizeof(c->name), "%s", name);
    floe_pq_column *col = &t->columns[t->ncolumns++];
    *col =
        (floe_pq_column){.name = c->name, .type = type, .logical = logical, .optional = optional};
    if (logical == FLOE_PQ_INTEGER) {
        col->int_bits = type == FLOE_PQ_INT32 ? 32 : 64;
        col->is_signed = true;
    }
}

static void plan_columns(table_plan *t) {
    const floe_key_spec *spec = t->spec;
    char name[64], full[96];
    if (spec->window_seconds > 0)
        add_column(t, FROM_WINDOW, 0, "window_start", FLOE_PQ_INT64, FLOE_PQ_TIMESTAMP_US, false);
    for (unsigned p = 0; p < spec->nparts; p++) {
        floe_table_column_name(spec->parts[p].field, name);
        floe_type type = floe_field_type(spec->parts[p].field);
        switch (type) {
        case FLOE_T_U8:
        case FLOE_T_U16:
            add_column(t, FROM_PART, p, name, FLOE_PQ_INT32, FLOE_PQ_INTEGER, true);
            break;
        case FLOE_T_U64:
        case FLOE_T_TIME:
            add_column(t, FROM_PART, p, name, FLOE_PQ_INT64, FLOE_PQ_INTEGER, true);
            break;
        case FLOE_T_ADDR:
        case FLOE_T_ENUM:
        case FLOE_T_STR:
            add_column(t, FROM_PART, p, name, FLOE_PQ_BYTE_ARRAY, FLOE_PQ_STRING, true);
            break;
        }
        t->plan[t->ncolumns - 1].part_type = type;
    }
    for (unsigned m = 0; m < FLOE_TABLE_MEASURES; m++) {
        bool time = m >= 5; /* first_seen, last_seen */
        add_column(t, FROM_MEASURE, m, floe_table_measure_name(spec, m), FLOE_PQ_INT64,
                   time ? FLOE_PQ_TIMESTAMP_US : FLOE_PQ_INTEGER, time);
    }
    for (unsigned d = 0; d < spec->ndistinct; d++) {
        floe_table_column_name(spec->distinct[d], name);
        snprintf(full, sizeof(full), "distinct_%s", name);
        add_column(t, FROM_DISTINCT, d, full, FLOE_PQ_INT64, FLOE_PQ_INTEGER, false);
        snprintf(full, sizeof(full), "distinct_%s_sketch", name);
        add_column(t, FROM_SKETCH, d, full, FLOE_PQ_BYTE_ARRAY, FLOE_PQ_NO_LOGICAL, false);
        t->columns[t->ncolumns - 1].no_min_max = true; /* kilobytes of registers */
    }
}

/* ---- filling a row group's columns -------------------------------------------------------- */

static void scratch_free(scratch *s, unsigned ncolumns) {
    floe_pq_encoder_free(s->encoder);
    for (unsigned c = 0; c < ncolumns; c++) {
        free(s->cols[c].i32);
        free(s->cols[c].i64);
        free(s->cols[c].present);
        free(s->cols[c].offsets);
        free(s->cols[c].bytes);
    }
}

static bool scratch_init(scratch *s, const table_plan *t) {
    memset(s, 0, sizeof(*s));
    const size_t rows = t->rows_per_group < t->n ? t->rows_per_group : t->n;
    bool ok = (s->encoder = floe_pq_encoder_new(&t->schema)) != NULL;
    for (unsigned c = 0; c < t->ncolumns && ok; c++) {
        column_values *v = &s->cols[c];
        const floe_pq_column *col = &t->columns[c];
        if (col->type == FLOE_PQ_INT32) ok &= (v->i32 = malloc(rows * sizeof(int32_t))) != NULL;
        if (col->type == FLOE_PQ_INT64) ok &= (v->i64 = malloc(rows * sizeof(int64_t))) != NULL;
        if (col->type == FLOE_PQ_BYTE_ARRAY)
            ok &= (v->offsets = malloc((rows + 1) * sizeof(uint32_t))) != NULL;
        if (col->optional) ok &= (v->present = malloc(rows)) != NULL;
    }
    return ok;
}

/* Room for n more bytes in a byte column. */
static bool bytes_reserve(column_values *v, size_t n) {
    if (v->bytes_len + n <= v->bytes_cap) return true;
    size_t cap = v->bytes_cap < 65536 ? 65536 : v->bytes_cap;
    while (cap < v->bytes_len + n)
        cap *= 2;
    if (cap > UINT32_MAX) {
        v->too_big = true; /* offsets are 32-bit: a smaller row group is the way out */
        return false;
    }
    uint8_t *grown = realloc(v->bytes, cap);
    if (grown == NULL) return false;
    v->bytes = grown;
    v->bytes_cap = cap;
    return true;
}

static bool fill_part(const table_plan *t, const column_plan *c, column_values *v, uint32_t r,
                      const floe_key_value *value) {
    const floe_key_part *part = &t->spec->parts[c->index];
    bool present = !value->null;
    v->present[r] = present;
    switch (c->part_type) {
    case FLOE_T_U8:
        v->i32[r] = present ? value->v.u8 : 0;
        return true;
    case FLOE_T_U16:
        v->i32[r] = present ? value->v.u16 : 0;
        return true;
    case FLOE_T_U64:
        v->i64[r] = present ? (int64_t)value->v.u64 : 0;
        return true;
    case FLOE_T_TIME:
        v->i64[r] = present ? value->v.time : 0;
        return true;
    case FLOE_T_ADDR:
    case FLOE_T_ENUM:
    case FLOE_T_STR:
        break; /* text, below */
    }
    v->offsets[r] = (uint32_t)v->bytes_len;
    if (!present) return true;
    if (c->part_type == FLOE_T_ADDR) {
        if (!bytes_reserve(v, FLOE_TABLE_ADDR_STRLEN)) return false;
        v->bytes_len += floe_table_addr_text(part, &value->v.addr, (char *)v->bytes + v->bytes_len);
    } else if (c->part_type == FLOE_T_ENUM) {
        const char *word = floe_enum_word(part->field, value->v.u8);
        if (word == NULL) word = "?";
        size_t len = strlen(word);
        if (!bytes_reserve(v, len)) return false;
        memcpy(v->bytes + v->bytes_len, word, len);
        v->bytes_len += len;
    } else {
        if (!bytes_reserve(v, (size_t)value->v.str.len * 3)) return false;
        /* Text that must be UTF-8 in the file: other bytes become U+FFFD, as in JSON. */
        v->bytes_len += floe_utf8_clean(value->v.str.ptr, value->v.str.len, "\xef\xbf\xbd", 3,
                                        (char *)v->bytes + v->bytes_len);
    }
    return true;
}

/* Fills scratch with rows [first, first + nrows) of the table. */
static bool fill_columns(const table_plan *t, scratch *s, size_t first, uint32_t nrows) {
    for (unsigned c = 0; c < t->ncolumns; c++)
        s->cols[c].bytes_len = 0;
    floe_key_value values[FLOE_KEY_MAX_PARTS];
    for (uint32_t r = 0; r < nrows; r++) {
        const floe_agg_group *g = &t->groups[first + r];
        /* Groups in key order are scattered over the table's memory: fetch ahead. */
        if (first + r + PREFETCH_AHEAD < t->n) {
            __builtin_prefetch(t->groups[first + r + PREFETCH_AHEAD].key);
            __builtin_prefetch(t->groups[first + r + PREFETCH_AHEAD].m);
        }
        floe_agg_key_decode(t->agg, g, values);
        const floe_agg_measures *m = g->m;
        const int64_t counts[5] = {(int64_t)m->flows, (int64_t)m->packets, (int64_t)m->bytes,
                                   (int64_t)m->accepted, (int64_t)m->rejected};
        for (unsigned c = 0; c < t->ncolumns; c++) {
            const column_plan *plan = &t->plan[c];
            column_values *v = &s->cols[c];
            switch (plan->from) {
            case FROM_WINDOW:
                v->i64[r] = g->window_start * MICROS;
                break;
            case FROM_PART:
                if (!fill_part(t, plan, v, r, &values[plan->index])) return false;
                break;
            case FROM_MEASURE:
                if (plan->index < 5) {
                    v->i64[r] = counts[plan->index];
                } else {
                    int64_t when = plan->index == 5 ? m->first_seen : m->last_seen;
                    bool known = plan->index == 5 ? when != INT64_MAX : when != INT64_MIN;
                    v->present[r] = known;
                    v->i64[r] = known ? when * MICROS : 0;
                }
                break;
            case FROM_DISTINCT:
                v->i64[r] = (int64_t)floe_distinct_estimate(&g->distinct[plan->index]);
                break;
            case FROM_SKETCH: {
                const floe_distinct *d = &g->distinct[plan->index];
                v->offsets[r] = (uint32_t)v->bytes_len;
                if (!bytes_reserve(v, floe_distinct_serialized_size(d))) return false;
                v->bytes_len += floe_distinct_serialize(d, v->bytes + v->bytes_len);
                break;
            }
            }
        }
    }
    for (unsigned c = 0; c < t->ncolumns; c++) {
        column_values *v = &s->cols[c];
        if (v->offsets != NULL) v->offsets[nrows] = (uint32_t)v->bytes_len;
        /* A byte column with no value yet has no buffer; the encoder wants one. */
        if (v->offsets != NULL && v->bytes == NULL && !bytes_reserve(v, 1)) return false;
        s->values[c] = (floe_pq_values){.i32 = v->i32,
                                        .i64 = v->i64,
                                        .bytes = v->bytes,
                                        .offsets = v->offsets,
                                        .present = v->present};
    }
    return true;
}

/* ---- row groups on several threads -------------------------------------------------------- */

static floe_status produce_group(void *ctx, unsigned thread, size_t item, void **result) {
    table_plan *t = ctx;
    scratch *s = &t->scratch[thread];
    size_t first = item * t->rows_per_group;
    uint32_t nrows =
        (uint32_t)(t->n - first < t->rows_per_group ? t->n - first : t->rows_per_group);
    if (!fill_columns(t, s, first, nrows)) {
        for (unsigned c = 0; c < t->ncolumns; c++)
            if (s->cols[c].too_big) return FLOE_ERR_INVALID;
        return FLOE_ERR_NOMEM;
    }
    return floe_pq_encode_row_group(s->encoder, s->values, nrows, (floe_pq_row_group **)result);
}

static floe_status consume_group(void *ctx, size_t item, void *result) {
    (void)item;
    table_plan *t = ctx;
    return floe_pq_writer_add(t->writer, result);
}

static void discard_group(void *ctx, void *result) {
    (void)ctx;
    floe_pq_row_group_free(result);
}

static uint32_t rows_per_group(const floe_table_options *options, const floe_key_spec *spec) {
    uint32_t rows = options->parquet.row_group_rows > 0 ? options->parquet.row_group_rows
                                                        : FLOE_TABLE_ROW_GROUP_ROWS;
    size_t row_bytes = (size_t)spec->ndistinct * FLOE_DISTINCT_SERIALIZED_MAX;
    if (row_bytes > 0 && rows > ROW_GROUP_MAX_BYTES / row_bytes)
        rows = (uint32_t)(ROW_GROUP_MAX_BYTES / row_bytes);
    return rows > 0 ? rows : 1;
}

floe_status floe_table_write_parquet(FILE *out, const floe_table_options *options,
                                     const floe_agg *agg, const floe_agg_group *groups, size_t n) {
    table_plan *t = calloc(1, sizeof(*t));
    if (t == NULL) return FLOE_ERR_NOMEM;
    t->agg = agg;
    t->spec = floe_agg_spec(agg);
    t->groups = groups;
    t->n = n;
    t->rows_per_group = rows_per_group(options, t->spec);
    plan_columns(t);
    t->schema = (floe_pq_schema){.columns = t->columns,
                                 .ncolumns = t->ncolumns,
                                 .codec = options->parquet.uncompressed ? FLOE_PQ_UNCOMPRESSED
                                                                        : FLOE_PQ_ZSTD,
                                 .zstd_level = 1};
    size_t ngroups = (n + t->rows_per_group - 1) / t->rows_per_group;
    unsigned threads = options->threads > 1 ? options->threads : 1;
    if (threads > ngroups) threads = ngroups > 0 ? (unsigned)ngroups : 1;
    t->scratch = calloc(threads, sizeof(*t->scratch));
    unsigned ready = 0;
    floe_status status = t->scratch != NULL ? FLOE_OK : FLOE_ERR_NOMEM;
    for (; status == FLOE_OK && ready < threads && ngroups > 0; ready++)
        if (!scratch_init(&t->scratch[ready], t)) status = FLOE_ERR_NOMEM;
    if (status == FLOE_OK) status = floe_pq_writer_open(out, &t->schema, &t->writer);
    if (status == FLOE_OK) {
        floe_ordered_jobs jobs = {.items = ngroups,
                                  .threads = threads,
                                  .produce = produce_group,
                                  .consume = consume_group,
                                  .discard = discard_group,
                                  .ctx = t,
                                  .thread_name = "floe-format"};
        status = floe_ordered_run(&jobs);
    }
    if (status == FLOE_OK)
        status = floe_pq_writer_finish(t->writer, options->parquet.created_by,
                                       options->parquet.metadata, options->parquet.nmetadata);
    for (unsigned k = 0; k < ready; k++)
        scratch_free(&t->scratch[k], t->ncolumns);
    free(t->scratch);
    floe_pq_writer_free(t->writer);
    free(t);
    if (status == FLOE_OK && fflush(out) != 0) status = FLOE_ERR_IO;
    if (status == FLOE_ERR_IO && errno == 0) errno = EIO;
    return status;
}
