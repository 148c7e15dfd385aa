/* floe_table_out.h: writes an aggregate table as CSV (RFC 4180, with a header line), JSON
 * Lines (one object a group) or Apache Parquet (floe_table_parquet.h), in the order given.
 *
 * Columns: window_start when the key has a window, then one column per key part named like
 * the field with '-' as '_' (Athena's convention: log-status -> log_status), then flows,
 * packets, bytes (sum_packets, sum_bytes when the key has that field), accepted, rejected,
 * first_seen, last_seen, and distinct_<field> for each
 * distinct count (exact up to 32 values, then a HyperLogLog estimate, ~1.6% error). Times are
 * ISO-8601 UTC
 * ("2026-11-29T19:00:00Z"), or Unix seconds when asked (as the flow log's start and end are); enum
 * fields are their words (ACCEPT); an address masked to a prefix shorter than the whole address is
 * written with it ("10.0.1.0/24"). A null value is an empty CSV field / JSON null. Output is a pure
 * function of the groups: same groups, same bytes. */
#ifndef FLOE_TABLE_OUT_H
#define FLOE_TABLE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "floe_agg.h"
#include "floe_parquet.h"
#include "floe_status.h"

/* Values are pinned. */
typedef enum floe_table_format {
    FLOE_TABLE_CSV = 0,
    FLOE_TABLE_JSONL = 1,
    FLOE_TABLE_PARQUET = 2
} floe_table_format;

/* Parquet's own settings, and the key-value metadata its footer carries. */
typedef struct floe_table_parquet_options {
    uint32_t row_group_rows; /* rows a row group holds at most; 0: the default */
    bool uncompressed;       /* pages stored as they are instead of ZSTD-compressed */
    const char *created_by;  /* "floe version ..." */
    const floe_pq_key_value *metadata;
    size_t nmetadata;
} floe_table_parquet_options;

typedef struct floe_table_options {
    floe_table_format format;
    bool unix_time;   /* CSV and JSON: times as Unix seconds instead of ISO-8601 */
    unsigned threads; /* threads formatting rows (0 or 1: the calling thread alone) */
    floe_table_parquet_options parquet;
} floe_table_options;

/* Writes groups[0..n) of agg. Returns FLOE_OK, or FLOE_ERR_IO when a write failed (errno
 * tells why) or FLOE_ERR_NOMEM. */
floe_status floe_table_write(FILE *out, const floe_table_options *options, const floe_agg *agg,
                             const floe_agg_group *groups, size_t n);

/* The column name of a key part or measure as written (buffer of at least 64 bytes). */
void floe_table_column_name(floe_field field, char *out);

/* The measures every table has, after the window and the key parts, in column order: flows,
 * packets, bytes, accepted, rejected, first_seen, last_seen. A key that groups by packets or
 * bytes keeps the field's name for its key column; the measure is then sum_packets or
 * sum_bytes, so no two columns share a name. */
#define FLOE_TABLE_MEASURES 7
const char *floe_table_measure_name(const floe_key_spec *spec, unsigned measure);

/* An address key value as written: the address, then "/prefix" when the part keeps less than
 * the whole address ("10.0.1.0/24"). out needs FLOE_TABLE_ADDR_STRLEN bytes; returns the
 * length (no NUL). */
#define FLOE_TABLE_ADDR_STRLEN (FLOE_ADDR_STRLEN + 4)
size_t floe_table_addr_text(const floe_key_part *part, const floe_addr *addr, char *out);

#endif
