/* The terminal report of floe analyze: aligned tables a person reads, like nfdump's -s
 * statistics. Its tables come from small aggregations the pipeline fills in the same pass as
 * the user's key (floe_cli_report_keys); this file only picks the top groups and lays them
 * out. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe_cli.h"
#include "floe_table_out.h"

#define CELL            48 /* bytes a cell holds, NUL included; longer text is cut with "..." */
#define MAX_COLS        (FLOE_KEY_MAX_PARTS + 8)
#define MAX_WINDOW_ROWS 200

void floe_cli_report_keys(int64_t window_seconds, floe_key_spec keys[FLOE_REPORT_KEYS]) {
    memset(keys, 0, FLOE_REPORT_KEYS * sizeof(*keys));
    floe_key_spec_parse("srcaddr", 7, 0, &keys[FLOE_REPORT_SOURCES]);
    floe_key_spec_parse("dstport", 7, 0, &keys[FLOE_REPORT_PORTS]);
    keys[FLOE_REPORT_WINDOWS].window_seconds = window_seconds; /* no key part: one row a window */
}

/* ---- cells ------------------------------------------------------------------------------------
 */

/* v in decimal units (as nfdump's): plain below `plain_below`, then one decimal and the unit
 * of each power of 1000 ("12.3 K", "1.5 GB"). */
static void human(uint64_t v, uint64_t plain_below, const char *const units[6], const char *plain,
                  char out[CELL]) {
    if (v < plain_below) {
        snprintf(out, CELL, "%" PRIu64 "%s", v, plain);
        return;
    }
    double x = (double)v / 1000;
    unsigned u = 0;
    while (x >= 999.95 && u + 1 < 6) { /* 999.95 would print as "1000.0" */
        x /= 1000;
        u++;
    }
    snprintf(out, CELL, "%.1f %s", x, units[u]);
}

/* Counts: "1234", "12.3 K", "4.5 M". */
static void human_count(uint64_t v, char out[CELL]) {
    static const char *const units[6] = {"K", "M", "G", "T", "P", "E"};
    human(v, 10000, units, "", out);
}

/* Bytes: "512 B", "1.5 KB", "23.4 MB", "1.2 GB". */
static void human_bytes(uint64_t v, char out[CELL]) {
    static const char *const units[6] = {"KB", "MB", "GB", "TB", "PB", "EB"};
    human(v, 1000, units, " B", out);
}

static void percent(uint64_t part, uint64_t whole, char out[CELL]) {
    if (whole == 0)
        snprintf(out, CELL, "-");
    else
        snprintf(out, CELL, "%.1f%%", 100.0 * (double)part / (double)whole);
}

/* Unix seconds as "2026-11-29 19:00" UTC (seconds shown only when not zero). */
static void utc_time(int64_t t, char out[CELL]) {
    time_t when = (time_t)t;
    struct tm tm;
    if (gmtime_r(&when, &tm) == NULL) {
        snprintf(out, CELL, "%" PRId64, t);
        return;
    }
    strftime(out, CELL, tm.tm_sec != 0 ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
}

/* Text from the input: printable ASCII kept, anything else '?', cut to fit the cell. */
static void text_cell(const char *s, size_t n, char out[CELL]) {
    size_t k = 0;
    for (; k < n && k < CELL - 1; k++)
        out[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
    if (n > CELL - 1) memcpy(out + CELL - 4, "...", 3);
    out[k] = 0;
}

static void key_cell(const floe_key_part *part, const floe_key_value *value, char out[CELL]) {
    if (value->null) {
        snprintf(out, CELL, "-");
        return;
    }
    switch (floe_field_type(part->field)) {
    case FLOE_T_U8:
        snprintf(out, CELL, "%u", value->v.u8);
        return;
    case FLOE_T_U16:
        snprintf(out, CELL, "%u", value->v.u16);
        return;
    case FLOE_T_U64:
        snprintf(out, CELL, "%" PRIu64, value->v.u64);
        return;
    case FLOE_T_TIME:
        snprintf(out, CELL, "%" PRId64, value->v.time);
        return;
    case FLOE_T_ADDR: {
        char text[FLOE_TABLE_ADDR_STRLEN];
        size_t n = floe_table_addr_text(part, &value->v.addr, text);
        text_cell(text, n, out);
        return;
    }
    case FLOE_T_ENUM: {
        const char *word = floe_enum_word(part->field, value->v.u8);
        snprintf(out, CELL, "%s", word != NULL ? word : "?");
        return;
    }
    case FLOE_T_STR:
        text_cell(value->v.str.ptr, value->v.str.len, out);
        return;
    }
}

/* ---- tables -----------------------------------------------------------------------------------
 */

typedef struct text_table {
    unsigned ncols;
    char head[MAX_COLS][CELL];
    bool right[MAX_COLS]; /* numbers align right */
    char (*cells)[MAX_COLS][CELL];
    size_t nrows, cap;
} text_table;

static void table_init(text_table *t) {
    memset(t, 0, sizeof(*t));
}

static void table_column(text_table *t, const char *head, bool right) {
    if (t->ncols == MAX_COLS) return;
    size_t n = strnlen(head, CELL - 1);
    memcpy(t->head[t->ncols], head, n);
    t->head[t->ncols][n] = 0;
    t->right[t->ncols++] = right;
}

/* A new row, or NULL when out of memory. */
static char (*table_row(text_table *t))[CELL] {
    if (t->nrows == t->cap) {
        size_t cap = t->cap == 0 ? 16 : t->cap * 2;
        void *grown = realloc(t->cells, cap * sizeof(*t->cells));
        if (grown == NULL) return NULL;
        t->cells = grown;
        t->cap = cap;
    }
    char(*row)[CELL] = t->cells[t->nrows++];
    memset(row, 0, MAX_COLS * CELL);
    return row;
}

static void table_print(FILE *out, const char *title, const text_table *t) {
    size_t width[MAX_COLS];
    for (unsigned c = 0; c < t->ncols; c++) {
        width[c] = strlen(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = strlen(t->cells[r][c]);
            if (n > width[c]) width[c] = n;
        }
    }
    fprintf(out, "\n%s\n", title);
    for (size_t r = 0; r <= t->nrows; r++) {
        const char(*row)[CELL] = r == 0 ? t->head : t->cells[r - 1];
        for (unsigned c = 0; c < t->ncols; c++) {
            int w = (int)width[c];
            if (t->right[c])
                fprintf(out, "  %*s", w, row[c]);
            else if (c + 1 == t->ncols)
                fprintf(out, "  %s", row[c]); /* no trailing blanks */
            else
                fprintf(out, "  %-*s", w, row[c]);
        }
        fputc('\n', out);
    }
}

/* The measure columns shared by the tables. */
static void measure_columns(text_table *t) {
    table_column(t, "flows", true);
    table_column(t, "packets", true);
    table_column(t, "bytes", true);
    table_column(t, "accepted", true);
    table_column(t, "rejected", true);
}

static void measure_cells(char (*row)[CELL], unsigned at, const floe_agg_measures *m) {
    human_count(m->flows, row[at]);
    human_count(m->packets, row[at + 1]);
    human_bytes(m->bytes, row[at + 2]);
    human_count(m->accepted, row[at + 3]);
    human_count(m->rejected, row[at + 4]);
}

/* A table of the top groups of agg by order, one column per key part, then the measures and the
 * share of the whole. */
static floe_status print_top(FILE *out, const char *title, floe_agg *agg, floe_agg_order order,
                             size_t n, const floe_agg_measures *all) {
    floe_agg_group *groups = NULL;
    size_t count = 0;
    floe_status status = floe_agg_top(agg, order, n, &groups, &count);
    if (status != FLOE_OK) return status;
    const floe_key_spec *spec = floe_agg_spec(agg);
    text_table t;
    table_init(&t);
    if (spec->window_seconds > 0) table_column(&t, "window (UTC)", false);
    char name[64];
    for (unsigned p = 0; p < spec->nparts; p++) {
        floe_table_column_name(spec->parts[p].field, name);
        floe_type type = floe_field_type(spec->parts[p].field);
        bool number =
            type == FLOE_T_U8 || type == FLOE_T_U16 || type == FLOE_T_U64 || type == FLOE_T_TIME;
        table_column(&t, name, number);
    }
    measure_columns(&t);
    uint64_t whole = all->bytes;
    const char *share = "% bytes";
    switch (order) {
    case FLOE_AGG_ORDER_FLOWS:
        share = "% flows";
        whole = all->flows;
        break;
    case FLOE_AGG_ORDER_PACKETS:
        share = "% packets";
        whole = all->packets;
        break;
    case FLOE_AGG_ORDER_BYTES:
        break;
    case FLOE_AGG_ORDER_REJECTED:
        share = "% rejected";
        whole = all->rejected;
        break;
    }
    table_column(&t, share, true);
    floe_key_value values[FLOE_KEY_MAX_PARTS];
    for (size_t i = 0; i < count && status == FLOE_OK; i++) {
        const floe_agg_group *g = &groups[i];
        uint64_t part = order == FLOE_AGG_ORDER_FLOWS     ? g->m->flows
                        : order == FLOE_AGG_ORDER_PACKETS ? g->m->packets
                        : order == FLOE_AGG_ORDER_BYTES   ? g->m->bytes
                                                          : g->m->rejected;
        if (order == FLOE_AGG_ORDER_REJECTED && part == 0) break; /* no rejects left to show */
        char(*row)[CELL] = table_row(&t);
        if (row == NULL) {
            status = FLOE_ERR_NOMEM;
            break;
        }
        unsigned c = 0;
        if (spec->window_seconds > 0) utc_time(g->window_start, row[c++]);
        floe_agg_key_decode(agg, g, values);
        for (unsigned p = 0; p < spec->nparts; p++)
            key_cell(&spec->parts[p], &values[p], row[c++]);
        measure_cells(row, c, g->m);
        percent(part, whole, row[c + 5]);
    }
    if (status == FLOE_OK && t.nrows > 0) table_print(out, title, &t);
    if (status == FLOE_OK && t.nrows == 0) fprintf(out, "\n%s\n  (none)\n", title);
    free(t.cells);
    free(groups);
    return status;
}

/* Totals per window, in time order; long runs show the first MAX_WINDOW_ROWS. */
static floe_status print_windows(FILE *out, floe_agg *agg) {
    const floe_agg_group *groups = NULL;
    size_t count = 0;
    floe_status status = floe_agg_sorted(agg, &groups, &count);
    if (status != FLOE_OK) return status;
    const int64_t window = floe_agg_spec(agg)->window_seconds;
    text_table t;
    table_init(&t);
    table_column(&t, window > 0 ? "window (UTC)" : "whole run", false);
    measure_columns(&t);
    size_t shown = count < MAX_WINDOW_ROWS ? count : MAX_WINDOW_ROWS;
    for (size_t i = 0; i < shown; i++) {
        char(*row)[CELL] = table_row(&t);
        if (row == NULL) {
            free(t.cells);
            return FLOE_ERR_NOMEM;
        }
        if (window > 0)
            utc_time(groups[i].window_start, row[0]);
        else
            snprintf(row[0], CELL, "all");
        measure_cells(row, 1, groups[i].m);
    }
    char title[96];
    const char *more = count > shown ? " (the first 200)" : "";
    if (window <= 0)
        snprintf(title, sizeof(title), "Totals (the whole run)");
    else if (window % 86400 == 0)
        snprintf(title, sizeof(title), "Totals per %" PRId64 "-day window%s", window / 86400, more);
    else if (window % 3600 == 0)
        snprintf(title, sizeof(title), "Totals per %" PRId64 "-hour window%s", window / 3600, more);
    else if (window % 60 == 0)
        snprintf(title, sizeof(title), "Totals per %" PRId64 "-minute window%s", window / 60, more);
    else
        snprintf(title, sizeof(title), "Totals per %" PRId64 "-second window%s", window, more);
    table_print(out, title, &t);
    if (count > shown) fprintf(out, "  ... %zu more windows\n", count - shown);
    free(t.cells);
    return FLOE_OK;
}

/* The findings, most urgent first within the canonical order's windows: one aligned row each,
 * then each one's summary line. */
static floe_status print_findings(FILE *out, const floe_finding *f, size_t n) {
    if (n == 0) {
        fputs("\nFindings: none\n", out);
        return FLOE_OK;
    }
    text_table t;
    table_init(&t);
    table_column(&t, "#", true);
    table_column(&t, "window", false);
    table_column(&t, "severity", false);
    table_column(&t, "finding", false);
    table_column(&t, "direction", false);
    table_column(&t, "actor", false);
    table_column(&t, "target", false);
    table_column(&t, "flows", true);
    table_column(&t, "bytes", true);
    for (size_t i = 0; i < n; i++) {
        char(*row)[CELL] = table_row(&t);
        if (row == NULL) {
            free(t.cells);
            return FLOE_ERR_NOMEM;
        }
        snprintf(row[0], CELL, "%zu", i + 1);
        utc_time(f[i].window_start, row[1]);
        snprintf(row[2], CELL, "%s", floe_severity_name(f[i].severity));
        const char *type = floe_finding_type_name(f[i].type);
        const char *colon = strchr(type, ':');
        text_cell(colon ? colon + 1 : type, strlen(colon ? colon + 1 : type), row[3]);
        snprintf(row[4], CELL, "%s", floe_direction_name(f[i].direction));
        floe_addr_format(&f[i].actor, row[5]);
        if (f[i].ntargets_listed == 1) {
            floe_addr_format(&f[i].targets[0], row[6]);
        } else if (f[i].ntargets_listed > 1) {
            char first[FLOE_ADDR_STRLEN];
            floe_addr_format(&f[i].targets[0], first);
            uint64_t all = f[i].distinct_hosts > f[i].ntargets_listed ? f[i].distinct_hosts
                                                                       : f[i].ntargets_listed;
            char more[24];
            snprintf(more, sizeof more, " +%" PRIu64, all - 1);
            size_t fl = strlen(first), ml = strlen(more);
            if (fl + ml >= CELL) fl = CELL - 1 - ml;
            memcpy(row[6], first, fl);
            memcpy(row[6] + fl, more, ml + 1);
        }
        human_count(f[i].flows, row[7]);
        human_bytes(f[i].bytes, row[8]);
    }
    char title[64];
    snprintf(title, sizeof(title), "Findings: %zu", n);
    table_print(out, title, &t);
    free(t.cells);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %3zu  %s\n", i + 1, f[i].summary);
    return FLOE_OK;
}

floe_status floe_cli_report_print(FILE *out, const floe_cli_report_input *in) {
    /* The whole the shares are of: the records the filters kept, from the windows' table. */
    const floe_agg_group *windows = NULL;
    size_t nwindows = 0;
    floe_status status = floe_agg_sorted(in->windows, &windows, &nwindows);
    if (status != FLOE_OK) return status;
    floe_agg_measures all = {0};
    for (size_t i = 0; i < nwindows; i++) {
        all.flows += windows[i].m->flows;
        all.packets = floe_counter_add(all.packets, windows[i].m->packets);
        all.bytes = floe_counter_add(all.bytes, windows[i].m->bytes);
        all.rejected += windows[i].m->rejected;
    }
    const floe_totals *t = in->totals;
    char records[CELL], text[CELL], traffic[CELL], kept[CELL];
    human_count(t->records, records);
    human_bytes(t->decoded_bytes, text);
    human_bytes(all.bytes, traffic);
    human_count(all.flows, kept);
    fprintf(out, "floe report: %" PRIu64 " files, %s records, %s of flow-log text", t->files,
            records, text);
    if (all.flows != t->records) fprintf(out, ", %s kept by the filters", kept);
    fprintf(out, ", %s of traffic", traffic);
    if (t->bad_lines > 0) fprintf(out, " (%" PRIu64 " bad lines skipped)", t->bad_lines);
    fputc('\n', out);
    if (in->detect) {
        status = print_findings(out, in->findings, in->nfindings);
        if (status != FLOE_OK) return status;
    }
    size_t n = in->top;
    char title[160];
    snprintf(title, sizeof(title), "Top %zu sources by bytes", n);
    status = print_top(out, title, in->sources, FLOE_AGG_ORDER_BYTES, n, &all);
    snprintf(title, sizeof(title), "Top %zu rejected sources (by rejected flows)", n);
    if (status == FLOE_OK)
        status = print_top(out, title, in->sources, FLOE_AGG_ORDER_REJECTED, n, &all);
    snprintf(title, sizeof(title), "Top %zu destination ports by flows", n);
    if (status == FLOE_OK) status = print_top(out, title, in->ports, FLOE_AGG_ORDER_FLOWS, n, &all);
    snprintf(title, sizeof(title), "Top %zu groups of --by %s by bytes", n, in->main_key);
    if (status == FLOE_OK) status = print_top(out, title, in->main, FLOE_AGG_ORDER_BYTES, n, &all);
    if (status == FLOE_OK) status = print_windows(out, in->windows);
    return status;
}
