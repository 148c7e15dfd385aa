#include "floe_run_table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "floe_parquet.h"
#include "floe_text.h"
#include "floe_text_out.h"

#define NCOLUMNS 20

typedef struct cell {
    const char *name;
    const char *text; /* a string column (NULL: null), or */
    int64_t number;   /* a BIGINT column */
    bool is_text;
} cell;

static unsigned cells_of(const floe_run_row *r, cell out[NCOLUMNS]) {
    unsigned n = 0;
#define TEXT(col, value) out[n++] = (cell){col, value, 0, true}
#define NUMBER(col, value)                                                                         \
    out[n++] = (cell) {                                                                            \
        col, NULL, (int64_t)(value), false                                                         \
    }
    TEXT("floe_version", r->floe_version);
    TEXT("command", r->command);
    NUMBER("window_seconds", r->window_seconds);
    TEXT("key", r->key);
    NUMBER("files", r->files);
    NUMBER("files_failed", r->files_failed);
    NUMBER("compressed_bytes", r->compressed_bytes);
    NUMBER("text_bytes", r->text_bytes);
    NUMBER("lines", r->lines);
    NUMBER("records", r->records);
    NUMBER("records_kept", r->records_kept);
    NUMBER("headers", r->headers);
    NUMBER("blank_lines", r->blank_lines);
    NUMBER("bad_lines", r->bad_lines);
    NUMBER("cut_lines", r->cut_lines);
    NUMBER("decode_errors", r->decode_errors);
    NUMBER("file_errors", r->file_errors);
    NUMBER("skipped_paths", r->skipped_paths);
    NUMBER("groups", r->groups);
    TEXT("first_problem", r->first_problem);
#undef TEXT
#undef NUMBER
    return n;
}

/* A copy of text from paths and input lines with well-formed UTF-8 kept and any other byte as
 * '?', so the strings are valid in every format (never longer than the original). NULL when
 * out of memory. */
static char *clean_copy(const char *s) {
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (out == NULL) return NULL;
    out[floe_utf8_clean(s, n, "?", 1, out)] = 0;
    return out;
}

/* Every text cell cleaned (clean_copy), in place; false when out of memory. */
static bool clean_cells(cell *cells, unsigned n, char *owned[NCOLUMNS]) {
    for (unsigned c = 0; c < n; c++) {
        owned[c] = NULL;
        if (!cells[c].is_text || cells[c].text == NULL) continue;
        if ((owned[c] = clean_copy(cells[c].text)) == NULL) return false;
        cells[c].text = owned[c];
    }
    return true;
}

static floe_status write_parquet(FILE *out, const floe_table_options *options, const cell *cells,
                                 unsigned n) {
    floe_pq_column columns[NCOLUMNS];
    floe_pq_values values[NCOLUMNS];
    uint32_t offsets[NCOLUMNS][2];
    uint8_t present[NCOLUMNS];
    memset(values, 0, sizeof(values));
    for (unsigned c = 0; c < n; c++) {
        if (cells[c].is_text) {
            columns[c] = (floe_pq_column){.name = cells[c].name,
                                          .type = FLOE_PQ_BYTE_ARRAY,
                                          .logical = FLOE_PQ_STRING,
                                          .optional = true};
            present[c] = cells[c].text != NULL;
            offsets[c][0] = 0;
            offsets[c][1] = present[c] ? (uint32_t)strlen(cells[c].text) : 0;
            values[c] = (floe_pq_values){.bytes = present[c] ? (const uint8_t *)cells[c].text
                                                             : (const uint8_t *)"",
                                         .offsets = offsets[c],
                                         .present = &present[c]};
        } else {
            columns[c] = (floe_pq_column){.name = cells[c].name,
                                          .type = FLOE_PQ_INT64,
                                          .logical = FLOE_PQ_INTEGER,
                                          .int_bits = 64,
                                          .is_signed = true};
            values[c] = (floe_pq_values){.i64 = &cells[c].number};
        }
    }
    floe_pq_schema schema = {.columns = columns,
                             .ncolumns = n,
                             .codec = options->parquet.uncompressed ? FLOE_PQ_UNCOMPRESSED
                                                                    : FLOE_PQ_ZSTD};
    floe_pq_writer *writer = NULL;
    floe_pq_encoder *encoder = floe_pq_encoder_new(&schema);
    floe_pq_row_group *group = NULL;
    floe_status status = encoder != NULL ? FLOE_OK : FLOE_ERR_NOMEM;
    if (status == FLOE_OK) status = floe_pq_writer_open(out, &schema, &writer);
    if (status == FLOE_OK) status = floe_pq_encode_row_group(encoder, values, 1, &group);
    if (status == FLOE_OK) status = floe_pq_writer_add(writer, group);
    const floe_pq_key_value metadata[] = {{"floe.table", "run"}};
    if (status == FLOE_OK)
        status = floe_pq_writer_finish(writer, options->parquet.created_by, metadata, 1);
    floe_pq_writer_free(writer);
    floe_pq_encoder_free(encoder);
    return status;
}

floe_status floe_run_table_write(FILE *out, const floe_table_options *options,
                                 const floe_run_row *row) {
    cell cells[NCOLUMNS];
    char *owned[NCOLUMNS] = {NULL};
    unsigned n = cells_of(row, cells);
    floe_status status = clean_cells(cells, n, owned) ? FLOE_OK : FLOE_ERR_NOMEM;
    if (status != FLOE_OK) {
        /* nothing written */
    } else if (options->format == FLOE_TABLE_PARQUET) {
        status = write_parquet(out, options, cells, n);
    } else {
        const bool json = options->format == FLOE_TABLE_JSONL;
        if (json) fputc('{', out);
        for (unsigned c = 0; c < n && !json; c++)
            fprintf(out, "%s%s", c > 0 ? "," : "", cells[c].name);
        if (!json) fputc('\n', out);
        for (unsigned c = 0; c < n; c++) {
            if (c > 0) fputc(',', out);
            if (json) fprintf(out, "\"%s\":", cells[c].name);
            if (!cells[c].is_text) {
                fprintf(out, "%" PRId64, cells[c].number);
            } else if (cells[c].text == NULL) {
                if (json) fputs("null", out);
            } else {
                json ? floe_put_json_text(out, cells[c].text) : floe_put_csv_text(out, cells[c].text);
            }
        }
        fputs(json ? "}\n" : "\n", out);
    }
    for (unsigned c = 0; c < n; c++)
        free(owned[c]);
    if (status == FLOE_OK && (fflush(out) != 0 || ferror(out))) status = FLOE_ERR_IO;
    if (status == FLOE_ERR_IO && errno == 0) errno = EIO;
    return status;
}
