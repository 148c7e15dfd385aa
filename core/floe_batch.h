/* floe_batch.h: a columnar batch of parsed records, the unit the parser hands to filters,
 * aggregation and detectors.
 *
 * One array per field of the format (struct of arrays), typed by floe_field_type():
 *   FLOE_T_U8, FLOE_T_ENUM -> uint8_t     FLOE_T_U16 -> uint16_t     FLOE_T_U64 -> uint64_t
 *   FLOE_T_TIME -> int64_t (Unix seconds) FLOE_T_ADDR -> floe_addr   FLOE_T_STR -> floe_slice
 * plus one null mask per row: bit f set where field f's text was "-" (the value is then 0 /
 * empty). One 8-byte word a row, rather than a byte array a column, because the parser then
 * makes one store a row for all its nulls.
 * Every record of a batch has the same format. FLOE_T_STR slices point into the parser's input
 * buffer: they are valid only while that buffer is unchanged. */
#ifndef FLOE_BATCH_H
#define FLOE_BATCH_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "floe_addr.h"
#include "floe_field.h"
#include "floe_status.h"

/* Counters (FLOE_T_U64: packets, bytes, ...) are at most FLOE_COUNTER_MAX, the largest
 * BIGINT, as Athena's table for flow logs declares them: a larger value is out of range, and
 * the Parquet and CSV outputs hold the same numbers. Sums of counters saturate there instead
 * of wrapping. */
#define FLOE_COUNTER_MAX ((uint64_t)INT64_MAX)

/* a + b for a, b <= FLOE_COUNTER_MAX (their sum cannot wrap), stopping at FLOE_COUNTER_MAX. */
static inline uint64_t floe_counter_add(uint64_t a, uint64_t b) {
    uint64_t sum = a + b;
    return sum > FLOE_COUNTER_MAX ? FLOE_COUNTER_MAX : sum;
}

typedef struct floe_slice {
    const char *ptr; /* not NUL-terminated; NULL when null */
    uint32_t len;
} floe_slice;

typedef struct floe_batch {
    uint32_t capacity; /* rows the arrays hold */
    uint32_t count;    /* rows filled */
    uint64_t present;  /* bit f set: field f has a column in this batch */
    uint64_t *line_no; /* per row: 1-based line number in its input stream */
    uint64_t *nulls;   /* per row: bit f set when field f is null */
    void *values[FLOE_FIELD_COUNT];
} floe_batch;

/* Sets up an empty batch; columns are allocated on first use (floe_batch_reserve). */
floe_status floe_batch_init(floe_batch *batch, uint32_t capacity);
/* Makes sure every field in the mask has its arrays; sets present to exactly that mask. */
floe_status floe_batch_reserve(floe_batch *batch, uint64_t fields);
void floe_batch_free(floe_batch *batch);

/* Bytes one value of a type takes in its column array. */
size_t floe_type_size(floe_type type);

static inline bool floe_batch_has(const floe_batch *batch, floe_field field) {
    return (unsigned)field < FLOE_FIELD_COUNT && (batch->present >> field & 1) != 0;
}

/* Typed views of a column. The field must be present and of the matching type; the _or_null
 * forms return NULL for a field the batch's format lacks. */
#define FLOE_BATCH_VIEW_(suffix, ctype, check)                                                     \
    static inline ctype *floe_batch_##suffix(const floe_batch *batch, floe_field field) {          \
        assert(floe_batch_has(batch, field) && (check));                                           \
        return (ctype *)batch->values[field];                                                      \
    }                                                                                              \
    static inline ctype *floe_batch_##suffix##_or_null(const floe_batch *batch,                    \
                                                       floe_field field) {                         \
        return floe_batch_has(batch, field) ? floe_batch_##suffix(batch, field) : NULL;            \
    }
FLOE_BATCH_VIEW_(u8, uint8_t,
                 floe_field_type(field) == FLOE_T_U8 || floe_field_type(field) == FLOE_T_ENUM)
FLOE_BATCH_VIEW_(u16, uint16_t, floe_field_type(field) == FLOE_T_U16)
FLOE_BATCH_VIEW_(u64, uint64_t, floe_field_type(field) == FLOE_T_U64)
FLOE_BATCH_VIEW_(time, int64_t, floe_field_type(field) == FLOE_T_TIME)
FLOE_BATCH_VIEW_(addr, floe_addr, floe_field_type(field) == FLOE_T_ADDR)
FLOE_BATCH_VIEW_(str, floe_slice, floe_field_type(field) == FLOE_T_STR)
#undef FLOE_BATCH_VIEW_

static inline bool floe_batch_is_null(const floe_batch *batch, floe_field field, uint32_t row) {
    assert(floe_batch_has(batch, field) && row < batch->count);
    return (batch->nulls[row] >> field & 1) != 0;
}

#endif
