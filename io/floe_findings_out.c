#include "floe_findings_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe_parquet.h"
#include "floe_text_out.h"

typedef enum col_kind { C_TEXT, C_INT, C_TIME, C_REAL } col_kind;

typedef struct column {
    const char *name;
    col_kind kind;
    bool nullable;
} column;

enum {
    F_TYPE,
    F_SEVERITY,
    F_DIRECTION,
    F_WINDOW_START,
    F_WINDOW_END,
    F_ACTOR,
    F_TARGETS,
    F_TARGET_COUNT,
    F_SOURCES,
    F_PROTOCOL,
    F_PORT,
    F_FLOWS,
    F_PACKETS,
    F_BYTES,
    F_REJECTED,
    F_DISTINCT_PORTS,
    F_DISTINCT_HOSTS,
    F_DISTINCT_METHOD,
    F_FIRST_SEEN,
    F_LAST_SEEN,
    F_SCORE,
    F_INTEL_ENTRY,
    F_SUMMARY,
    F_COUNT
};

static const column columns[F_COUNT] = {
    {"finding_type", C_TEXT, false},   {"severity", C_TEXT, false},
    {"direction", C_TEXT, false},      {"window_start", C_TIME, false},
    {"window_end", C_TIME, false},     {"actor", C_TEXT, false},
    {"targets", C_TEXT, false},        {"target_count", C_INT, false},
    {"sources", C_TEXT, true},         {"protocol", C_INT, true},
    {"port", C_INT, true},             {"flows", C_INT, false},
    {"packets", C_INT, false},         {"bytes", C_INT, false},
    {"rejected", C_INT, false},        {"distinct_ports", C_INT, false},
    {"distinct_hosts", C_INT, false},  {"distinct_method", C_TEXT, false},
    {"first_seen", C_TIME, false},     {"last_seen", C_TIME, false},
    {"score", C_REAL, true},           {"intel_entry", C_TEXT, true},
    {"summary", C_TEXT, false},
};

/* One finding's cells. Text cells point into `text` (or static strings). */
typedef struct cell {
    bool null;
    const char *text;
    int64_t number;
    double real;
} cell;

typedef struct row_text {
    char actor[FLOE_ADDR_STRLEN];
    char targets[FLOE_FINDING_MAX_LISTED * FLOE_ADDR_STRLEN];
    char sources[FLOE_FINDING_MAX_LISTED * FLOE_ADDR_STRLEN];
} row_text;

static void join_addrs(const floe_addr *a, uint32_t n, char *out) {
    size_t len = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i) out[len++] = ' ';
        len += floe_addr_format(&a[i], out + len);
    }
}

static void cells_of(const floe_finding *f, row_text *t, cell c[F_COUNT]) {
    memset(c, 0, F_COUNT * sizeof *c);
    floe_addr_format(&f->actor, t->actor);
    join_addrs(f->targets, f->ntargets_listed, t->targets);
    join_addrs(f->sources, f->nsources_listed, t->sources);
    c[F_TYPE].text = floe_finding_type_name(f->type);
    c[F_SEVERITY].text = floe_severity_name(f->severity);
    c[F_DIRECTION].text = floe_direction_name(f->direction);
    c[F_WINDOW_START].number = f->window_start;
    c[F_WINDOW_END].number = f->window_end;
    c[F_ACTOR].text = t->actor;
    c[F_TARGETS].text = t->targets;
    c[F_TARGET_COUNT].number =
        (int64_t)(f->distinct_hosts > f->ntargets_listed ? f->distinct_hosts : f->ntargets_listed);
    if (f->type == FLOE_FIND_PORT_PROBE) c[F_TARGET_COUNT].number = f->ntargets_listed;
    c[F_SOURCES].text = t->sources;
    c[F_SOURCES].null = f->nsources_listed == 0;
    c[F_PROTOCOL].number = f->protocol;
    c[F_PROTOCOL].null = f->protocol == 0;
    c[F_PORT].number = f->port;
    c[F_PORT].null = f->port < 0;
    c[F_FLOWS].number = (int64_t)f->flows;
    c[F_PACKETS].number = (int64_t)f->packets;
    c[F_BYTES].number = (int64_t)f->bytes;
    c[F_REJECTED].number = (int64_t)f->rejected;
    c[F_DISTINCT_PORTS].number = (int64_t)f->distinct_ports;
    c[F_DISTINCT_HOSTS].number = (int64_t)f->distinct_hosts;
    c[F_DISTINCT_METHOD].text = f->distinct_estimated ? "hll" : "exact";
    c[F_FIRST_SEEN].number = f->first_seen;
    c[F_LAST_SEEN].number = f->last_seen;
    c[F_SCORE].real = f->score;
    c[F_SCORE].null = !(f->type == FLOE_FIND_VOLUME_UNUSUAL || f->type == FLOE_FIND_BEACONING);
    c[F_INTEL_ENTRY].text = f->intel_entry;
    c[F_INTEL_ENTRY].null = f->intel_entry[0] == 0;
    c[F_SUMMARY].text = f->summary;
}

static void put_iso(FILE *out, int64_t t, bool quote) {
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[40];
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, sizeof buf, "%" PRId64, t);
    fprintf(out, quote ? "\"%s\"" : "%s", buf);
}

static void write_text_rows(FILE *out, bool json, const floe_finding *findings, size_t n) {
    if (!json) {
        for (int c = 0; c < F_COUNT; c++)
            fprintf(out, "%s%s", c ? "," : "", columns[c].name);
        fputc('\n', out);
    }
    row_text t;
    cell cells[F_COUNT];
    for (size_t i = 0; i < n; i++) {
        cells_of(&findings[i], &t, cells);
        if (json) fputc('{', out);
        for (int c = 0; c < F_COUNT; c++) {
            if (c) fputc(',', out);
            if (json) fprintf(out, "\"%s\":", columns[c].name);
            const cell *x = &cells[c];
            if (x->null) {
                if (json) fputs("null", out);
                continue;
            }
            switch (columns[c].kind) {
            case C_TEXT:
                json ? floe_put_json_text(out, x->text) : floe_put_csv_text(out, x->text);
                break;
            case C_INT:
                fprintf(out, "%" PRId64, x->number);
                break;
            case C_TIME:
                put_iso(out, x->number, json);
                break;
            case C_REAL:
                fprintf(out, "%.4g", x->real);
                break;
            }
        }
        fputs(json ? "}\n" : "\n", out);
    }
}

/* One row group holds every finding (there are few). The score is left out: floe's Parquet
 * writer has no floating-point column type, and the summary carries the number. */
static floe_status write_parquet(FILE *out, const floe_table_options *options,
                                 const floe_finding *findings, size_t n) {
    if (n > UINT32_MAX / 2) return FLOE_ERR_INVALID;
    floe_pq_column pq[F_COUNT];
    floe_pq_values values[F_COUNT];
    int64_t *ints[F_COUNT] = {0};
    uint8_t *present[F_COUNT] = {0};
    uint32_t *offsets[F_COUNT] = {0};
    char *bytes[F_COUNT] = {0};
    size_t bytes_len[F_COUNT] = {0}, bytes_cap[F_COUNT] = {0};
    unsigned ncols = 0;
    int map[F_COUNT];
    floe_status status = FLOE_OK;
    const size_t rows = n ? n : 1;
    for (int c = 0; c < F_COUNT && status == FLOE_OK; c++) {
        if (columns[c].kind == C_REAL) continue;
        map[ncols] = c;
        floe_pq_column *col = &pq[ncols++];
        *col = (floe_pq_column){.name = columns[c].name, .optional = columns[c].nullable};
        if (columns[c].kind == C_TEXT) {
            col->type = FLOE_PQ_BYTE_ARRAY;
            col->logical = FLOE_PQ_STRING;
            col->no_min_max = c == F_SUMMARY || c == F_TARGETS || c == F_SOURCES;
            offsets[c] = malloc((rows + 1) * sizeof(uint32_t));
            if (!offsets[c]) status = FLOE_ERR_NOMEM;
        } else {
            col->type = FLOE_PQ_INT64;
            col->logical = columns[c].kind == C_TIME ? FLOE_PQ_TIMESTAMP_US : FLOE_PQ_INTEGER;
            col->int_bits = 64;
            col->is_signed = true;
            if (c == F_PROTOCOL || c == F_PORT) {
                col->type = FLOE_PQ_INT32;
                col->int_bits = 32;
            }
            ints[c] = malloc(rows * sizeof(int64_t));
            if (!ints[c]) status = FLOE_ERR_NOMEM;
        }
        if (columns[c].nullable && !(present[c] = malloc(rows))) status = FLOE_ERR_NOMEM;
    }
    row_text t;
    cell cells[F_COUNT];
    for (size_t i = 0; i < n && status == FLOE_OK; i++) {
        cells_of(&findings[i], &t, cells);
        for (int c = 0; c < F_COUNT && status == FLOE_OK; c++) {
            if (columns[c].kind == C_REAL) continue;
            if (present[c]) present[c][i] = !cells[c].null;
            if (columns[c].kind != C_TEXT) {
                int64_t v = cells[c].null ? 0 : cells[c].number;
                if (columns[c].kind == C_TIME) v *= 1000000;
                if (c == F_PROTOCOL || c == F_PORT)
                    ((int32_t *)ints[c])[i] = (int32_t)v;
                else
                    ints[c][i] = v;
                continue;
            }
            const char *s = cells[c].null ? "" : cells[c].text;
            size_t len = strlen(s);
            if (bytes_len[c] + len > bytes_cap[c]) {
                size_t cap = (bytes_cap[c] + len) * 2 + 64;
                char *p = realloc(bytes[c], cap);
                if (!p) {
                    status = FLOE_ERR_NOMEM;
                    break;
                }
                bytes[c] = p;
                bytes_cap[c] = cap;
            }
            offsets[c][i] = (uint32_t)bytes_len[c];
            if (len) memcpy(bytes[c] + bytes_len[c], s, len);
            bytes_len[c] += len;
        }
    }
    for (unsigned k = 0; k < ncols; k++) {
        int c = map[k];
        values[k] = (floe_pq_values){.present = present[c]};
        if (columns[c].kind == C_TEXT) {
            if (offsets[c]) offsets[c][n] = (uint32_t)bytes_len[c];
            values[k].offsets = offsets[c];
            values[k].bytes = bytes[c] ? (const uint8_t *)bytes[c] : (const uint8_t *)"";
        } else if (c == F_PROTOCOL || c == F_PORT) {
            values[k].i32 = (const int32_t *)ints[c];
        } else {
            values[k].i64 = ints[c];
        }
    }
    floe_pq_schema schema = {.columns = pq,
                             .ncolumns = ncols,
                             .codec = options->parquet.uncompressed ? FLOE_PQ_UNCOMPRESSED
                                                                    : FLOE_PQ_ZSTD};
    floe_pq_writer *writer = NULL;
    floe_pq_encoder *encoder = NULL;
    floe_pq_row_group *group = NULL;
    if (status == FLOE_OK && !(encoder = floe_pq_encoder_new(&schema))) status = FLOE_ERR_NOMEM;
    if (status == FLOE_OK) status = floe_pq_writer_open(out, &schema, &writer);
    if (status == FLOE_OK && n > 0) status = floe_pq_encode_row_group(encoder, values, (uint32_t)n, &group);
    if (status == FLOE_OK && n > 0) status = floe_pq_writer_add(writer, group);
    if (status == FLOE_OK) {
        floe_pq_key_value meta[16] = {{"floe.table", "findings"}};
        size_t nmeta = 1;
        for (size_t i = 0; i < options->parquet.nmetadata && nmeta < 16; i++)
            meta[nmeta++] = options->parquet.metadata[i];
        status = floe_pq_writer_finish(writer, options->parquet.created_by, meta, nmeta);
    }
    floe_pq_writer_free(writer);
    floe_pq_encoder_free(encoder);
    for (int c = 0; c < F_COUNT; c++) {
        free(ints[c]);
        free(present[c]);
        free(offsets[c]);
        free(bytes[c]);
    }
    return status;
}

floe_status floe_findings_write(FILE *out, const floe_table_options *options,
                                const floe_finding *findings, size_t n) {
    floe_status status = FLOE_OK;
    if (options->format == FLOE_TABLE_PARQUET)
        status = write_parquet(out, options, findings, n);
    else
        write_text_rows(out, options->format == FLOE_TABLE_JSONL, findings, n);
    if (status == FLOE_OK && (fflush(out) != 0 || ferror(out))) status = FLOE_ERR_IO;
    if (status == FLOE_ERR_IO && errno == 0) errno = EIO;
    return status;
}
