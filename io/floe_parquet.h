/* floe_parquet.h: writes Apache Parquet files of flat tables (every column a leaf of the root,
 * REQUIRED or OPTIONAL), against the published format: "PAR1", row groups of column chunks,
 * each an optional dictionary page and one data page (format v1), then the footer's
 * FileMetaData in Thrift's compact protocol (floe_thrift.h), its length and "PAR1" again.
 *
 * Physical types INT32, INT64 and BYTE_ARRAY, with the logical (and matching legacy converted)
 * annotations floe needs: signed integers of 8..64 bits, UTF-8 strings, UTC timestamps in
 * microseconds. Each column chunk chooses its own value encoding: a dictionary (PLAIN entries,
 * RLE_DICTIONARY indices) when the chunk's distinct values are at most half its values, else
 * PLAIN. Definition levels use the RLE / bit-packed hybrid. Pages are compressed with ZSTD or
 * left uncompressed. Every chunk records its null count and, unless the column opts out, its
 * min and max under the type's own order (column_orders says TYPE_ORDER), so engines can skip
 * row groups.
 *
 * Two steps, so row groups can be encoded on several threads and still land in one order:
 * floe_pq_encode_row_group turns one row group's values into bytes and metadata with a
 * thread's own floe_pq_encoder; floe_pq_writer_add appends encoded row groups to the
 * file in the order it is called. The bytes are a pure function of the schema, the values and
 * the order of the row groups. */
#ifndef FLOE_PARQUET_H
#define FLOE_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "floe_status.h"

/* Values are Parquet's own Type numbers. */
typedef enum floe_pq_type {
    FLOE_PQ_INT32 = 1,
    FLOE_PQ_INT64 = 2,
    FLOE_PQ_BYTE_ARRAY = 6
} floe_pq_type;

typedef enum floe_pq_logical {
    FLOE_PQ_NO_LOGICAL = 0, /* plain binary or integer */
    FLOE_PQ_INTEGER,        /* INT32 / INT64: int_bits (8, 16, 32, 64) and is_signed */
    FLOE_PQ_STRING,         /* BYTE_ARRAY holding UTF-8 */
    FLOE_PQ_TIMESTAMP_US    /* INT64: microseconds since 1970-01-01 UTC */
} floe_pq_logical;

typedef struct floe_pq_column {
    const char *name;
    floe_pq_type type;
    floe_pq_logical logical;
    uint8_t int_bits; /* FLOE_PQ_INTEGER only */
    bool is_signed;   /* FLOE_PQ_INTEGER only */
    bool optional;    /* may hold nulls */
    bool no_min_max;  /* leave min and max out of the statistics (long binary values) */
} floe_pq_column;

typedef enum floe_pq_codec {
    FLOE_PQ_UNCOMPRESSED = 0, /* Parquet's CompressionCodec numbers */
    FLOE_PQ_ZSTD = 6
} floe_pq_codec;

typedef struct floe_pq_schema {
    const floe_pq_column *columns;
    unsigned ncolumns;
    floe_pq_codec codec;
    int zstd_level; /* for FLOE_PQ_ZSTD; 0: zstd's default */
} floe_pq_schema;

/* One column's values in one row group of nrows rows. Row i's value is i32[i], i64[i] or the
 * bytes bytes[offsets[i]..offsets[i+1]) (offsets has nrows + 1 entries). For an OPTIONAL
 * column, present[i] == 0 makes row i null (its value is not read); present NULL means no
 * nulls. */
typedef struct floe_pq_values {
    const int32_t *i32;
    const int64_t *i64;
    const uint8_t *bytes;
    const uint32_t *offsets;
    const uint8_t *present;
} floe_pq_values;

/* An encoded row group, ready to append. */
typedef struct floe_pq_row_group floe_pq_row_group;

/* What encoding keeps from one row group to the next (buffers, a compression context): one
 * per thread. The schema must outlive it. NULL when out of memory. */
typedef struct floe_pq_encoder floe_pq_encoder;
floe_pq_encoder *floe_pq_encoder_new(const floe_pq_schema *schema);
void floe_pq_encoder_free(floe_pq_encoder *encoder);

/* Encodes nrows (>= 1) rows: values[c] for each schema column c. Encoders on different
 * threads may work at once. FLOE_ERR_NOMEM, or FLOE_ERR_INVALID when a column's values do not
 * fit its type (a missing array, a page over 2 GiB). */
floe_status floe_pq_encode_row_group(floe_pq_encoder *encoder, const floe_pq_values *values,
                                     uint32_t nrows, floe_pq_row_group **out);
void floe_pq_row_group_free(floe_pq_row_group *group);

typedef struct floe_pq_writer floe_pq_writer;

/* Starts a file on `out` (which must be at offset 0 and stay open until finish). The schema's
 * column array is copied. FLOE_ERR_NOMEM or FLOE_ERR_IO. */
floe_status floe_pq_writer_open(FILE *out, const floe_pq_schema *schema, floe_pq_writer **writer);
/* Appends an encoded row group (same schema) and frees it, whatever the outcome. FLOE_ERR_IO
 * when a write failed (errno says why). */
floe_status floe_pq_writer_add(floe_pq_writer *writer, floe_pq_row_group *group);

typedef struct floe_pq_key_value {
    const char *key;
    const char *value;
} floe_pq_key_value;

/* Writes the footer: created_by, the key-value metadata (copied into the file in this order)
 * and every row group's metadata. Does not close the stream. */
floe_status floe_pq_writer_finish(floe_pq_writer *writer, const char *created_by,
                                  const floe_pq_key_value *metadata, size_t nmetadata);
void floe_pq_writer_free(floe_pq_writer *writer);

#endif
