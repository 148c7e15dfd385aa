/* floe_cli_summary.c: the end-of-run summary every command prints: files, records, bad lines
 * with their places, decode errors, unreadable files, time and throughput; as aligned text
 * for a person or as one JSON object for scripts. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "floe_cli.h"
#include "floe_decode.h"
#include "floe_parse.h"
#include "floe_text.h"

/* Machine names of the bad-line reasons for JSON; index = floe_bad_reason. */
const char *const floe_cli_reason_keys[] = {"field_count", "number",    "range",  "addr",
                                            "enum",        "timestamp", "header", "too_long"};
_Static_assert(sizeof(floe_cli_reason_keys) / sizeof(floe_cli_reason_keys[0]) ==
                   FLOE_BAD_REASON_COUNT,
               "one JSON key per bad-line reason");

static const char *const action_keys[] = {"-", "ACCEPT", "REJECT"};
static const char *const log_status_keys[] = {"-", "OK", "NODATA", "SKIPDATA"};

static const char *decode_error_word(floe_status status) {
    switch (status) {
    case FLOE_ERR_CORRUPT:
        return "corrupt";
    case FLOE_ERR_TRUNCATED:
        return "truncated";
    case FLOE_ERR_UNSUPPORTED:
        return "unsupported (zstd window too large)";
    default:
        return floe_status_str(status);
    }
}

static const char *walk_error_text(const floe_walk_error *error) {
    if (error->kind == FLOE_WALK_ERR_STAT || error->kind == FLOE_WALK_ERR_OPENDIR)
        return strerror(error->err);
    return floe_walk_error_str(error->kind);
}

static const char *file_failure_text(const floe_file_failure *f) {
    if (f->err == FLOE_FILE_EMPTY) return "empty file (0 bytes)";
    return f->err == FLOE_FILE_SHRANK ? "the file shrank while being read" : strerror(f->err);
}

uint64_t floe_cli_skipped_count(const floe_totals *t, const floe_walk_result *walk) {
    /* An unknown field's values are dropped from every record of its files: a skip too. */
    return t->bad_lines + t->ndecode_failures + t->nfile_failures + walk->nerrors +
           t->late_records + t->nunknown;
}

/* ---- text ----------------------------------------------------------------------------------- */

static void print_bad_place(FILE *out, const floe_bad_place *place) {
    fprintf(out, "  %s:%" PRIu64 ": %s", place->file, place->line_no,
            floe_bad_reason_str(place->reason));
    if (place->reason == FLOE_BAD_FIELD_COUNT)
        fprintf(out, " (%u of %u fields)", place->fields_seen, place->fields_wanted);
    else if (place->field != FLOE_F_UNKNOWN)
        fprintf(out, " (%s)", floe_field_name(place->field));
    else if (place->column >= 0)
        fprintf(out, " (column %d)", place->column + 1);
    fputc('\n', out);
}

void floe_cli_summary_text(FILE *out, const floe_totals *t, const floe_walk_result *walk,
                           double seconds) {
    fprintf(out, "files         %" PRIu64 " (", t->files);
    for (int c = 0; c < FLOE_CODEC_COUNT; c++)
        fprintf(out, "%s%s %" PRIu64, c > 0 ? ", " : "", floe_codec_name((floe_codec)c),
                t->files_by_codec[c]);
    fprintf(out, "), %" PRIu64 " gzip members / zstd frames\n", t->members);
    fprintf(out, "compressed    %.2f MB read\n", (double)t->compressed_bytes / 1e6);
    fprintf(out, "decoded       %.2f MB of text\n", (double)t->decoded_bytes / 1e6);
    fprintf(out, "records       %" PRIu64 "\n", t->records);
    fprintf(out,
            "lines         %" PRIu64 " (headers %" PRIu64 ", blank %" PRIu64 ", bad %" PRIu64 ")\n",
            t->lines, t->headers, t->blank_lines, t->bad_lines);
    fprintf(out, "%-8s %12s %16s %20s\n", "action", "records", "packets", "bytes");
    static const int action_order[] = {FLOE_ACTION_ACCEPT, FLOE_ACTION_REJECT, FLOE_ACTION_NULL};
    for (int i = 0; i < 3; i++) {
        const floe_action_totals *a = &t->by_action[action_order[i]];
        fprintf(out, "  %-6s %12" PRIu64 " %16" PRIu64 " %20" PRIu64 "\n",
                action_keys[action_order[i]], a->records, a->packets, a->bytes);
    }
    fprintf(out,
            "log-status    OK %" PRIu64 ", NODATA %" PRIu64 ", SKIPDATA %" PRIu64 ", - %" PRIu64
            "\n",
            t->by_log_status[FLOE_LOG_STATUS_OK], t->by_log_status[FLOE_LOG_STATUS_NODATA],
            t->by_log_status[FLOE_LOG_STATUS_SKIPDATA], t->by_log_status[FLOE_LOG_STATUS_NULL]);

    if (t->bad_lines > 0) {
        fprintf(out, "bad lines     %" PRIu64 ":", t->bad_lines);
        const char *sep = " ";
        for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++) {
            if (t->bad_by_reason[r] == 0) continue;
            fprintf(out, "%s%s %" PRIu64, sep, floe_bad_reason_str((floe_bad_reason)r),
                    t->bad_by_reason[r]);
            sep = ", ";
        }
        fputc('\n', out);
        for (size_t i = 0; i < t->nbad_places; i++)
            print_bad_place(out, &t->bad_places[i]);
        if (t->bad_lines > t->nbad_places)
            fprintf(out, "  ... %" PRIu64 " more\n", t->bad_lines - t->nbad_places);
    }
    if (t->cut_lines > 0)
        fprintf(out, "cut lines     %" PRIu64 " unfinished line(s) dropped at decode/read errors\n",
                t->cut_lines);
    if (t->late_records > 0) {
        fprintf(out,
                "late          %" PRIu64 " record(s) left out of the detectors: they started more "
                "than the lateness before their file's hour\n",
                t->late_records);
        for (size_t i = 0; i < t->nlate_files; i++)
            fprintf(out, "  %s: %" PRIu64 " late\n", t->late_files[i].file,
                    t->late_files[i].records);
        if (t->nlate_files == t->keep_bad_lines)
            fprintf(out, "  (the first %zu files with late records are named)\n", t->nlate_files);
    }
    for (size_t i = 0; i < t->nunknown; i++)
        fprintf(out, "notice        unknown field '%s' skipped (first seen %s:%" PRIu64 ")\n",
                t->unknown[i].name, t->unknown[i].file, t->unknown[i].line_no);
    if (t->ndecode_failures > 0) {
        fprintf(out, "decode errors %zu\n", t->ndecode_failures);
        for (size_t i = 0; i < t->ndecode_failures; i++) {
            const floe_decode_failure *f = &t->decode_failures[i];
            fprintf(out, "  %s: byte %" PRIu64 ": %s\n", f->file, f->offset,
                    decode_error_word(f->status));
        }
    }
    size_t unreadable = t->nfile_failures + walk->nerrors;
    if (unreadable > 0) {
        fprintf(out, "unreadable    %zu\n", unreadable);
        for (size_t i = 0; i < walk->nerrors; i++)
            fprintf(out, "  %s: %s\n", walk->errors[i].path, walk_error_text(&walk->errors[i]));
        for (size_t i = 0; i < t->nfile_failures; i++)
            fprintf(out, "  %s: %s: %s\n", t->file_failures[i].file,
                    t->file_failures[i].opened ? "read" : "open",
                    file_failure_text(&t->file_failures[i]));
    }
    if (walk->skipped_hidden > 0 || walk->skipped_special > 0)
        fprintf(out, "not read      %" PRIu64 " hidden, %" PRIu64 " special files\n",
                walk->skipped_hidden, walk->skipped_special);
    double rate = seconds > 0 ? (double)t->decoded_bytes / 1e6 / seconds : 0;
    fprintf(out, "time          %.3f s, %.1f MB/s of decoded text\n", seconds, rate);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

/* Paths and excerpts are bytes, JSON strings are Unicode: quote, backslash and control bytes
 * are escaped, well-formed UTF-8 passes through, and every other byte becomes U+FFFD, so the
 * output always parses. */
static void json_bytes(FILE *out, const char *s, size_t n) {
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = floe_utf8_sequence_len(p + i, n - i);
        if (len == 0) {
            fputs("\\ufffd", out);
            i++;
            continue;
        }
        if (len > 1) {
            fwrite(p + i, 1, len, out);
            i += len;
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
        i++;
    }
    fputc('"', out);
}

static void json_string(FILE *out, const char *s) {
    json_bytes(out, s, strlen(s));
}

static void json_key(FILE *out, int indent, const char *key) {
    fprintf(out, "%*s", indent, "");
    json_string(out, key);
    fputs(": ", out);
}

static void json_u64(FILE *out, int indent, const char *key, uint64_t value, bool last) {
    json_key(out, indent, key);
    fprintf(out, "%" PRIu64 "%s\n", value, last ? "" : ",");
}

void floe_cli_summary_json(FILE *out, const floe_totals *t, const floe_walk_result *walk,
                           double seconds, const floe_cli_run_info *run) {
    fputs("{\n", out);
    json_key(out, 2, "floe_version");
    json_string(out, FLOE_VERSION);
    fputs(",\n", out);
    if (run != NULL) {
        json_u64(out, 2, "threads", run->threads, false);
        json_key(out, 2, "io");
        json_string(out, run->io);
        fputs(",\n", out);
        json_u64(out, 2, "records_kept", run->records_kept, false);
        json_u64(out, 2, "groups", run->groups, false);
        json_key(out, 2, "merge_seconds");
        fprintf(out, "%.6f,\n", run->merge_seconds);
        json_key(out, 2, "sort_seconds");
        fprintf(out, "%.6f,\n", run->sort_seconds);
        json_key(out, 2, "output_seconds");
        fprintf(out, "%.6f,\n", run->output_seconds);
    }
    json_u64(out, 2, "files", t->files, false);
    json_key(out, 2, "files_by_codec");
    fputc('{', out);
    for (int c = 0; c < FLOE_CODEC_COUNT; c++) {
        json_string(out, floe_codec_name((floe_codec)c));
        fprintf(out, ": %" PRIu64 "%s", t->files_by_codec[c], c + 1 < FLOE_CODEC_COUNT ? ", " : "");
    }
    fputs("},\n", out);
    json_u64(out, 2, "members", t->members, false);
    json_u64(out, 2, "compressed_bytes", t->compressed_bytes, false);
    json_u64(out, 2, "decoded_bytes", t->decoded_bytes, false);
    json_u64(out, 2, "lines", t->lines, false);
    json_u64(out, 2, "records", t->records, false);
    json_u64(out, 2, "headers", t->headers, false);
    json_u64(out, 2, "blank_lines", t->blank_lines, false);
    json_u64(out, 2, "bad_lines", t->bad_lines, false);
    json_key(out, 2, "bad_by_reason");
    fputs("{\n", out);
    for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++)
        json_u64(out, 4, floe_cli_reason_keys[r], t->bad_by_reason[r],
                 r + 1 == FLOE_BAD_REASON_COUNT);
    fputs("  },\n", out);
    json_u64(out, 2, "cut_lines", t->cut_lines, false);
    json_key(out, 2, "actions");
    fputs("{\n", out);
    static const int action_order[] = {FLOE_ACTION_ACCEPT, FLOE_ACTION_REJECT, FLOE_ACTION_NULL};
    for (int i = 0; i < 3; i++) {
        const floe_action_totals *a = &t->by_action[action_order[i]];
        json_key(out, 4, action_keys[action_order[i]]);
        fprintf(out,
                "{\"records\": %" PRIu64 ", \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}%s\n",
                a->records, a->packets, a->bytes, i < 2 ? "," : "");
    }
    fputs("  },\n", out);
    json_key(out, 2, "log_status");
    fputs("{\n", out);
    static const int status_order[] = {FLOE_LOG_STATUS_OK, FLOE_LOG_STATUS_NODATA,
                                       FLOE_LOG_STATUS_SKIPDATA, FLOE_LOG_STATUS_NULL};
    for (int i = 0; i < 4; i++)
        json_u64(out, 4, log_status_keys[status_order[i]], t->by_log_status[status_order[i]],
                 i == 3);
    fputs("  },\n", out);

    json_key(out, 2, "bad_line_samples");
    fputs("[\n", out);
    for (size_t i = 0; i < t->nbad_places; i++) {
        const floe_bad_place *p = &t->bad_places[i];
        fputs("    {\"file\": ", out);
        json_string(out, p->file);
        fprintf(out, ", \"line\": %" PRIu64 ", \"reason\": ", p->line_no);
        json_string(out, floe_cli_reason_keys[p->reason]);
        fputs(", \"field\": ", out);
        if (p->field != FLOE_F_UNKNOWN)
            json_string(out, floe_field_name(p->field));
        else
            fputs("null", out);
        fprintf(out, ", \"column\": %d, \"fields_seen\": %u, \"fields_wanted\": %u, \"text\": ",
                p->column, p->fields_seen, p->fields_wanted);
        json_bytes(out, p->excerpt, p->excerpt_len);
        fprintf(out, "}%s\n", i + 1 < t->nbad_places ? "," : "");
    }
    fputs("  ],\n", out);

    json_key(out, 2, "unknown_fields");
    fputs("[\n", out);
    for (size_t i = 0; i < t->nunknown; i++) {
        fputs("    {\"name\": ", out);
        json_string(out, t->unknown[i].name);
        fputs(", \"file\": ", out);
        json_string(out, t->unknown[i].file);
        fprintf(out, ", \"line\": %" PRIu64 "}%s\n", t->unknown[i].line_no,
                i + 1 < t->nunknown ? "," : "");
    }
    fputs("  ],\n", out);

    json_key(out, 2, "decode_errors");
    fputs("[\n", out);
    for (size_t i = 0; i < t->ndecode_failures; i++) {
        const floe_decode_failure *f = &t->decode_failures[i];
        fputs("    {\"file\": ", out);
        json_string(out, f->file);
        fputs(", \"codec\": ", out);
        json_string(out, floe_codec_name(f->codec));
        fputs(", \"error\": ", out);
        json_string(out, f->status == FLOE_ERR_UNSUPPORTED ? "unsupported"
                                                           : decode_error_word(f->status));
        fprintf(out, ", \"offset\": %" PRIu64 "}%s\n", f->offset,
                i + 1 < t->ndecode_failures ? "," : "");
    }
    fputs("  ],\n", out);

    json_key(out, 2, "unreadable");
    fputs("[\n", out);
    size_t unreadable = walk->nerrors + t->nfile_failures;
    size_t n = 0;
    for (size_t i = 0; i < walk->nerrors; i++, n++) {
        fputs("    {\"file\": ", out);
        json_string(out, walk->errors[i].path);
        fputs(", \"error\": ", out);
        json_string(out, walk_error_text(&walk->errors[i]));
        fprintf(out, "}%s\n", n + 1 < unreadable ? "," : "");
    }
    for (size_t i = 0; i < t->nfile_failures; i++, n++) {
        fputs("    {\"file\": ", out);
        json_string(out, t->file_failures[i].file);
        fputs(", \"error\": ", out);
        json_string(out, file_failure_text(&t->file_failures[i]));
        fprintf(out, "}%s\n", n + 1 < unreadable ? "," : "");
    }
    fputs("  ],\n", out);
    json_u64(out, 2, "late_records", t->late_records, false);
    json_key(out, 2, "late_files");
    fputs("[\n", out);
    for (size_t i = 0; i < t->nlate_files; i++) {
        fputs("    {\"file\": ", out);
        json_string(out, t->late_files[i].file);
        fprintf(out, ", \"records\": %" PRIu64 "}%s\n", t->late_files[i].records,
                i + 1 < t->nlate_files ? "," : "");
    }
    fputs("  ],\n", out);
    json_u64(out, 2, "skipped_hidden", walk->skipped_hidden, false);
    json_u64(out, 2, "skipped_special", walk->skipped_special, false);
    json_u64(out, 2, "skipped", floe_cli_skipped_count(t, walk), false);
    json_key(out, 2, "seconds");
    fprintf(out, "%.6f,\n", seconds);
    json_key(out, 2, "decoded_mb_per_s");
    fprintf(out, "%.3f\n", seconds > 0 ? (double)t->decoded_bytes / 1e6 / seconds : 0.0);
    fputs("}\n", out);
}

void floe_cli_json_string(FILE *out, const char *s) {
    json_string(out, s);
}
