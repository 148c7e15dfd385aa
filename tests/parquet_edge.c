/* parquet_edge: writes a Parquet file of the writer's edge cases through the floe_pq API, and
 * the values it wrote as JSON Lines (one object a row; numbers as strings, so 64-bit values
 * survive), for tests/parquet_edge_check.mjs to compare with what DuckDB reads back:
 *   u32, u64        unsigned INTEGER annotations, values past 2^31 and 2^63 (min/max must use
 *                   unsigned order)
 *   i32             signed extremes
 *   all_null        an optional column with no value at all
 *   text            empty strings beside short ones, nulls in runs
 *   constant        one value throughout (a one-entry dictionary)
 *   wide            700 distinct 1.5 KB strings, repeated (few enough for a dictionary, but one
 *                   past 1 MiB: PLAIN)
 *   runs            runs of one value of every length from 1 to 40, nulls between
 * in row groups of 1,500 rows (3,000 rows), ZSTD or uncompressed (argv[3]).
 *   parquet_edge OUT.parquet OUT.jsonl zstd|none */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_parquet.h"

#define ROWS       3000
#define GROUP_ROWS 1500
#define WIDE_LEN   1500

enum { U32, U64, I32, ALL_NULL, TEXT, CONSTANT, WIDE, RUNS, NCOLS };

static const floe_pq_column columns[NCOLS] = {
    {"u32", FLOE_PQ_INT32, FLOE_PQ_INTEGER, 32, false, false, false},
    {"u64", FLOE_PQ_INT64, FLOE_PQ_INTEGER, 64, false, false, false},
    {"i32", FLOE_PQ_INT32, FLOE_PQ_INTEGER, 32, true, false, false},
    {"all_null", FLOE_PQ_BYTE_ARRAY, FLOE_PQ_STRING, 0, false, true, false},
    {"text", FLOE_PQ_BYTE_ARRAY, FLOE_PQ_STRING, 0, false, true, false},
    {"constant", FLOE_PQ_INT64, FLOE_PQ_INTEGER, 64, true, false, false},
    {"wide", FLOE_PQ_BYTE_ARRAY, FLOE_PQ_STRING, 0, false, false, false},
    {"runs", FLOE_PQ_INT64, FLOE_PQ_INTEGER, 64, true, true, false},
};

static int32_t u32[ROWS], i32[ROWS];
static int64_t u64[ROWS], constant[ROWS], runs[ROWS];
static uint8_t none[ROWS], text_present[ROWS], runs_present[ROWS];
static uint32_t all_null_offsets[ROWS + 1], text_offsets[ROWS + 1], wide_offsets[ROWS + 1];
static char text_bytes[ROWS * 8], wide_bytes[(size_t)ROWS * WIDE_LEN];

static void make_values(void) {
    static const uint32_t u32_cases[] = {0, 1, 0x80000000u, 0xFFFFFFFFu, 7, 0x7FFFFFFFu};
    static const uint64_t u64_cases[] = {0, UINT64_C(0x8000000000000000), UINT64_MAX, 5,
                                         UINT64_C(0x7FFFFFFFFFFFFFFF)};
    static const int32_t i32_cases[] = {-5, 7, INT32_MIN, INT32_MAX, 0};
    static const char *const words[] = {"", "a", "", "ACCEPT", "ü", ""};
    size_t text_len = 0, wide_len = 0;
    int64_t run_value = 0, run_left = 1, run_length = 1;
    for (uint32_t r = 0; r < ROWS; r++) {
        u32[r] = (int32_t)u32_cases[(r * 7) % 6];
        u64[r] = (int64_t)u64_cases[(r * 3) % 5];
        i32[r] = i32_cases[(r * 11) % 5];
        constant[r] = 42;
        all_null_offsets[r] = 0;
        text_present[r] = !(r % 50 >= 20 && r % 50 < 30); /* nulls in runs of 10 */
        text_offsets[r] = (uint32_t)text_len;
        if (text_present[r]) {
            const char *w = words[r % 6];
            memcpy(text_bytes + text_len, w, strlen(w));
            text_len += strlen(w);
        }
        wide_offsets[r] = (uint32_t)wide_len;
        memset(wide_bytes + wide_len, 'a' + (int)(r % 700) % 26, WIDE_LEN);
        snprintf(wide_bytes + wide_len, 12, "%06u", (unsigned)(r % 700)); /* distinct prefix */
        wide_bytes[wide_len + 6] = '-';
        wide_len += WIDE_LEN;
        if (run_left == 0) { /* next run: one longer, up to 40, then from 1 again */
            run_length = run_length % 40 + 1;
            run_left = run_length;
            run_value++;
        }
        runs_present[r] = run_value % 5 != 4; /* every fifth run is nulls */
        runs[r] = runs_present[r] ? run_value : 0;
        run_left--;
    }
    all_null_offsets[ROWS] = 0;
    text_offsets[ROWS] = (uint32_t)text_len;
    wide_offsets[ROWS] = (uint32_t)wide_len;
}

static void put_json_string(FILE *out, const char *s, size_t n) {
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') fputc('\\', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

static void write_jsonl(FILE *out) {
    for (uint32_t r = 0; r < ROWS; r++) {
        fprintf(out, "{\"u32\":\"%" PRIu32 "\",\"u64\":\"%" PRIu64 "\",\"i32\":\"%" PRId32 "\"",
                (uint32_t)u32[r], (uint64_t)u64[r], i32[r]);
        fputs(",\"all_null\":null,\"text\":", out);
        if (text_present[r])
            put_json_string(out, text_bytes + text_offsets[r],
                            text_offsets[r + 1] - text_offsets[r]);
        else
            fputs("null", out);
        fprintf(out, ",\"constant\":\"%" PRId64 "\",\"wide\":", constant[r]);
        put_json_string(out, wide_bytes + wide_offsets[r], WIDE_LEN);
        if (runs_present[r])
            fprintf(out, ",\"runs\":\"%" PRId64 "\"}\n", runs[r]);
        else
            fputs(",\"runs\":null}\n", out);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fputs("usage: parquet_edge OUT.parquet OUT.jsonl zstd|none\n", stderr);
        return 2;
    }
    make_values();
    floe_pq_schema schema = {columns, NCOLS,
                             strcmp(argv[3], "none") == 0 ? FLOE_PQ_UNCOMPRESSED : FLOE_PQ_ZSTD, 3};
    FILE *out = fopen(argv[1], "wb");
    FILE *json = fopen(argv[2], "w");
    if (out == NULL || json == NULL) {
        perror("parquet_edge");
        return 1;
    }
    floe_pq_writer *writer = NULL;
    floe_pq_encoder *encoder = floe_pq_encoder_new(&schema);
    floe_status status =
        encoder != NULL ? floe_pq_writer_open(out, &schema, &writer) : FLOE_ERR_NOMEM;
    for (uint32_t first = 0; first < ROWS && status == FLOE_OK; first += GROUP_ROWS) {
        /* Each group's values start at its first row; offsets stay absolute, which the
         * writer allows (value i is bytes[offsets[i]..offsets[i + 1])). */
        const floe_pq_values values[NCOLS] = {
            {.i32 = u32 + first},
            {.i64 = u64 + first},
            {.i32 = i32 + first},
            {.bytes = (const uint8_t *)"",
             .offsets = all_null_offsets + first,
             .present = none + first},
            {.bytes = (const uint8_t *)text_bytes,
             .offsets = text_offsets + first,
             .present = text_present + first},
            {.i64 = constant + first},
            {.bytes = (const uint8_t *)wide_bytes, .offsets = wide_offsets + first},
            {.i64 = runs + first, .present = runs_present + first},
        };
        floe_pq_row_group *group = NULL;
        status = floe_pq_encode_row_group(encoder, values, GROUP_ROWS, &group);
        if (status == FLOE_OK) status = floe_pq_writer_add(writer, group);
    }
    if (status == FLOE_OK) status = floe_pq_writer_finish(writer, "floe version edge", NULL, 0);
    floe_pq_writer_free(writer);
    floe_pq_encoder_free(encoder);
    write_jsonl(json);
    if (fclose(out) != 0 || fclose(json) != 0) status = FLOE_ERR_IO;
    if (status != FLOE_OK) {
        fprintf(stderr, "parquet_edge: %s\n", floe_status_str(status));
        return 1;
    }
    return 0;
}
