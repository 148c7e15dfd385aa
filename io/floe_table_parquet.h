/* floe_table_parquet.h: the aggregate table as an Apache Parquet file (floe_parquet.h).
 *
 * Columns, in the CSV's order and with its names (Athena's: '-' becomes '_'):
 *   window_start       TIMESTAMP(UTC, us)  when the key has a window
 *   <key part>         nullable; by the field's type:
 *                        small numbers (version, ports, protocol, ...)  INT32, INT(32, signed)
 *                        counters and times (packets, start, ...)       INT64, INT(64, signed)
 *                        addresses, enum words, strings                 STRING (UTF-8; bytes
 *                          that are not UTF-8 become U+FFFD, as in JSON)
 *                        addresses masked to a prefix keep it: "10.0.1.0/24"
 *   flows, packets, bytes, accepted, rejected      INT64, INT(64, signed)
 *   first_seen, last_seen                          TIMESTAMP(UTC, us), null when unknown
 *   distinct_<field>                               INT64: the estimate, as in the CSV
 *   distinct_<field>_sketch                        BINARY: the sketch itself (floe_distinct.h's
 *                                                  wire format), so partial tables merge
 *                                                  without loss
 * Row groups hold up to options->parquet.row_group_rows rows (default
 * FLOE_TABLE_ROW_GROUP_ROWS, fewer when sketches make rows large) and are built and compressed
 * on options->threads threads; the file's bytes do not depend on the thread count. An empty
 * table is a valid file with the schema and no row groups. */
#ifndef FLOE_TABLE_PARQUET_H
#define FLOE_TABLE_PARQUET_H

#include "floe_table_out.h"

#define FLOE_TABLE_ROW_GROUP_ROWS 131072

/* FLOE_ERR_INVALID: a row group would pass the format's limits (a page over 2 GiB, over 4 GiB
 * of one column's strings): a smaller row_group_rows writes it. FLOE_ERR_NOMEM, FLOE_ERR_IO. */
floe_status floe_table_write_parquet(FILE *out, const floe_table_options *options,
                                     const floe_agg *agg, const floe_agg_group *groups, size_t n);

#endif
