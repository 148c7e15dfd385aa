/* floe_run_table.h: the run table, one row that says what a run read and skipped: the
 * numbers behind the closing summary, in a file engines can read beside the aggregates
 * (floe analyze --run-table FILE). Shards of one job each write a row; their files
 * concatenate into the job's run table.
 *
 * Columns (Athena's naming, every count a BIGINT):
 *   floe_version, command, window_seconds, key          what ran (strings; window a number)
 *   files, files_failed, compressed_bytes, text_bytes    the input
 *   lines, records, records_kept, headers, blank_lines   what the lines were
 *   bad_lines, cut_lines, decode_errors, file_errors,    what was skipped
 *   skipped_paths
 *   groups                                               rows of the aggregate table
 *   first_problem                                        "file:line: reason" of the first skip,
 *                                                        null when nothing was skipped
 * Written as Parquet, CSV or JSON Lines, by the same rules as the aggregate table. */
#ifndef FLOE_RUN_TABLE_H
#define FLOE_RUN_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "floe_status.h"
#include "floe_table_out.h"

typedef struct floe_run_row {
    const char *floe_version;
    const char *command;
    int64_t window_seconds;
    const char *key;
    uint64_t files, files_failed, compressed_bytes, text_bytes;
    uint64_t lines, records, records_kept, headers, blank_lines;
    uint64_t bad_lines, cut_lines, decode_errors, file_errors, skipped_paths;
    uint64_t groups;
    const char *first_problem; /* NULL: none */
} floe_run_row;

/* Writes the one-row table in options->format (Parquet options as for the aggregates).
 * FLOE_ERR_IO (errno says why) or FLOE_ERR_NOMEM on failure. */
floe_status floe_run_table_write(FILE *out, const floe_table_options *options,
                                 const floe_run_row *row);

#endif
