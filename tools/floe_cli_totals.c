/* floe totals: walk the paths, run every file through floe_totals, print the summary as text
 * or as one JSON object. All the work is in io/floe_totals.c; this file decides what the user
 * sees. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe_cli.h"
#include "floe_decode.h"
#include "floe_parse.h"
#include "floe_totals.h"
#include "floe_walk.h"

/* Machine names of the bad-line reasons for JSON; index = floe_bad_reason. */
static const char *const reason_keys[] = {"field_count", "number",    "range",  "addr",
                                          "enum",        "timestamp", "header", "too_long"};
_Static_assert(sizeof(reason_keys) / sizeof(reason_keys[0]) == FLOE_BAD_REASON_COUNT,
               "one JSON key per bad-line reason");

static const char *const action_keys[] = {"-", "ACCEPT", "REJECT"};
static const char *const log_status_keys[] = {"-", "OK", "NODATA", "SKIPDATA"};

typedef struct totals_args {
    bool cloudwatch;
    bool strict;
    bool json;
    bool include_hidden;
    const char *format_text; /* --format, or NULL */
} totals_args;

static void print_totals_usage(FILE *out) {
    fputs("usage: floe totals [OPTIONS] PATH...\n"
          "\n"
          "Reads every regular file under the PATHs (directories recursively, sorted by path,\n"
          "dot-files skipped), detects gzip / zstd / plain text by magic bytes, parses the flow\n"
          "log records and prints totals.\n"
          "\n"
          "options:\n"
          "  --cloudwatch        lines are CloudWatch Logs exports: '<ISO-8601 time> <record>'\n"
          "  --format \"FIELDS\"   field list for files without a header line (and for\n"
          "                      --cloudwatch), e.g. \"version srcaddr dstaddr ...\";\n"
          "                      default: the version 2 format\n"
          "  --strict            exit 1 when any line, file or compressed data was skipped\n"
          "  --json              print one JSON object instead of the text summary\n"
          "  --include-hidden    also read dot-files inside directories\n"
          "  -h, --help          this help\n"
          "\n"
          "exit status: 0 done (skipped lines and files are reported, not fatal); 1 with\n"
          "--strict when anything was skipped, when no input file was found, or when the run\n"
          "could not go on (out of memory); 2 usage error.\n",
          out);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static uint64_t skipped_count(const floe_totals *t, const floe_walk_result *walk) {
    return t->bad_lines + t->ndecode_failures + t->nfile_failures + walk->nerrors;
}

/* ---- text ----------------------------------------------------------------------------------- */

static void print_bad_place(const floe_bad_place *place) {
    printf("  %s:%" PRIu64 ": %s", place->file, place->line_no, floe_bad_reason_str(place->reason));
    if (place->reason == FLOE_BAD_FIELD_COUNT)
        printf(" (%u of %u fields)", place->fields_seen, place->fields_wanted);
    else if (place->field != FLOE_F_UNKNOWN)
        printf(" (%s)", floe_field_name(place->field));
    else if (place->column >= 0)
        printf(" (column %d)", place->column + 1);
    putchar('\n');
}

static void print_text(const floe_totals *t, const floe_walk_result *walk, double seconds) {
    printf("files         %" PRIu64 " (", t->files);
    for (int c = 0; c < FLOE_CODEC_COUNT; c++)
        printf("%s%s %" PRIu64, c > 0 ? ", " : "", floe_codec_name((floe_codec)c),
               t->files_by_codec[c]);
    printf("), %" PRIu64 " gzip members / zstd frames\n", t->members);
    printf("compressed    %.2f MB read\n", (double)t->compressed_bytes / 1e6);
    printf("decoded       %.2f MB of text\n", (double)t->decoded_bytes / 1e6);
    printf("records       %" PRIu64 "\n", t->records);
    printf("lines         %" PRIu64 " (headers %" PRIu64 ", blank %" PRIu64 ", bad %" PRIu64 ")\n",
           t->lines, t->headers, t->blank_lines, t->bad_lines);
    printf("%-8s %12s %16s %20s\n", "action", "records", "packets", "bytes");
    static const int action_order[] = {FLOE_ACTION_ACCEPT, FLOE_ACTION_REJECT, FLOE_ACTION_NULL};
    for (int i = 0; i < 3; i++) {
        const floe_action_totals *a = &t->by_action[action_order[i]];
        printf("  %-6s %12" PRIu64 " %16" PRIu64 " %20" PRIu64 "\n", action_keys[action_order[i]],
               a->records, a->packets, a->bytes);
    }
    printf("log-status    OK %" PRIu64 ", NODATA %" PRIu64 ", SKIPDATA %" PRIu64 ", - %" PRIu64
           "\n",
           t->by_log_status[FLOE_LOG_STATUS_OK], t->by_log_status[FLOE_LOG_STATUS_NODATA],
           t->by_log_status[FLOE_LOG_STATUS_SKIPDATA], t->by_log_status[FLOE_LOG_STATUS_NULL]);

    if (t->bad_lines > 0) {
        printf("bad lines     %" PRIu64 ":", t->bad_lines);
        const char *sep = " ";
        for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++) {
            if (t->bad_by_reason[r] == 0) continue;
            printf("%s%s %" PRIu64, sep, floe_bad_reason_str((floe_bad_reason)r),
                   t->bad_by_reason[r]);
            sep = ", ";
        }
        putchar('\n');
        for (size_t i = 0; i < t->nbad_places; i++)
            print_bad_place(&t->bad_places[i]);
        if (t->bad_lines > t->nbad_places)
            printf("  ... %" PRIu64 " more\n", t->bad_lines - t->nbad_places);
    }
    if (t->cut_lines > 0)
        printf("cut lines     %" PRIu64 " unfinished line(s) dropped at decode/read errors\n",
               t->cut_lines);
    for (size_t i = 0; i < t->nunknown; i++)
        printf("notice        unknown field '%s' skipped (first seen %s:%" PRIu64 ")\n",
               t->unknown[i].name, t->unknown[i].file, t->unknown[i].line_no);
    if (t->ndecode_failures > 0) {
        printf("decode errors %zu\n", t->ndecode_failures);
        for (size_t i = 0; i < t->ndecode_failures; i++) {
            const floe_decode_failure *f = &t->decode_failures[i];
            printf("  %s: byte %" PRIu64 ": %s\n", f->file, f->offset,
                   decode_error_word(f->status));
        }
    }
    size_t unreadable = t->nfile_failures + walk->nerrors;
    if (unreadable > 0) {
        printf("unreadable    %zu\n", unreadable);
        for (size_t i = 0; i < walk->nerrors; i++)
            printf("  %s: %s\n", walk->errors[i].path, walk_error_text(&walk->errors[i]));
        for (size_t i = 0; i < t->nfile_failures; i++)
            printf("  %s: %s: %s\n", t->file_failures[i].file,
                   t->file_failures[i].opened ? "read" : "open", strerror(t->file_failures[i].err));
    }
    if (walk->skipped_hidden > 0 || walk->skipped_special > 0)
        printf("not read      %" PRIu64 " hidden, %" PRIu64 " special files\n",
               walk->skipped_hidden, walk->skipped_special);
    double rate = seconds > 0 ? (double)t->decoded_bytes / 1e6 / seconds : 0;
    printf("time          %.3f s, %.1f MB/s of decoded text\n", seconds, rate);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (1..4 bytes, at most n), or 0 when the bytes
 * there are not one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF,
 * a sequence cut short). */
static size_t utf8_sequence_len(const unsigned char *p, size_t n) {
    unsigned char lead = p[0];
    size_t len = lead < 0x80           ? 1
                 : (lead >> 5) == 0x6  ? 2
                 : (lead >> 4) == 0xe  ? 3
                 : (lead >> 3) == 0x1e ? 4
                                       : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (len == 2 && lead < 0xc2) return 0;                  /* overlong */
    if (len == 3 && lead == 0xe0 && p[1] < 0xa0) return 0;  /* overlong */
    if (len == 3 && lead == 0xed && p[1] >= 0xa0) return 0; /* surrogate */
    if (len == 4 &&
        (lead > 0xf4 || (lead == 0xf0 && p[1] < 0x90) || (lead == 0xf4 && p[1] >= 0x90)))
        return 0; /* overlong, > U+10FFFF */
    return len;
}

/* Paths and excerpts are bytes, JSON strings are Unicode: quote, backslash and control bytes
 * are escaped, well-formed UTF-8 passes through, and every other byte becomes U+FFFD, so the
 * output always parses. */
static void json_bytes(const char *s, size_t n) {
    putchar('"');
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = utf8_sequence_len(p + i, n - i);
        if (len == 0) {
            fputs("\\ufffd", stdout);
            i++;
            continue;
        }
        if (len > 1) {
            fwrite(p + i, 1, len, stdout);
            i += len;
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", stdout);
            break;
        case '\\':
            fputs("\\\\", stdout);
            break;
        case '\n':
            fputs("\\n", stdout);
            break;
        case '\r':
            fputs("\\r", stdout);
            break;
        case '\t':
            fputs("\\t", stdout);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                printf("\\u%04x", c);
            else
                putchar(c);
        }
        i++;
    }
    putchar('"');
}

static void json_string(const char *s) {
    json_bytes(s, strlen(s));
}

static void json_key(int indent, const char *key) {
    printf("%*s", indent, "");
    json_string(key);
    fputs(": ", stdout);
}

static void json_u64(int indent, const char *key, uint64_t value, bool last) {
    json_key(indent, key);
    printf("%" PRIu64 "%s\n", value, last ? "" : ",");
}

static void print_json(const floe_totals *t, const floe_walk_result *walk, double seconds) {
    puts("{");
    json_key(2, "floe_version");
    json_string(FLOE_VERSION);
    puts(",");
    json_u64(2, "files", t->files, false);
    json_key(2, "files_by_codec");
    putchar('{');
    for (int c = 0; c < FLOE_CODEC_COUNT; c++) {
        json_string(floe_codec_name((floe_codec)c));
        printf(": %" PRIu64 "%s", t->files_by_codec[c], c + 1 < FLOE_CODEC_COUNT ? ", " : "");
    }
    puts("},");
    json_u64(2, "members", t->members, false);
    json_u64(2, "compressed_bytes", t->compressed_bytes, false);
    json_u64(2, "decoded_bytes", t->decoded_bytes, false);
    json_u64(2, "lines", t->lines, false);
    json_u64(2, "records", t->records, false);
    json_u64(2, "headers", t->headers, false);
    json_u64(2, "blank_lines", t->blank_lines, false);
    json_u64(2, "bad_lines", t->bad_lines, false);
    json_key(2, "bad_by_reason");
    puts("{");
    for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++)
        json_u64(4, reason_keys[r], t->bad_by_reason[r], r + 1 == FLOE_BAD_REASON_COUNT);
    puts("  },");
    json_u64(2, "cut_lines", t->cut_lines, false);
    json_key(2, "actions");
    puts("{");
    static const int action_order[] = {FLOE_ACTION_ACCEPT, FLOE_ACTION_REJECT, FLOE_ACTION_NULL};
    for (int i = 0; i < 3; i++) {
        const floe_action_totals *a = &t->by_action[action_order[i]];
        json_key(4, action_keys[action_order[i]]);
        printf("{\"records\": %" PRIu64 ", \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}%s\n",
               a->records, a->packets, a->bytes, i < 2 ? "," : "");
    }
    puts("  },");
    json_key(2, "log_status");
    puts("{");
    static const int status_order[] = {FLOE_LOG_STATUS_OK, FLOE_LOG_STATUS_NODATA,
                                       FLOE_LOG_STATUS_SKIPDATA, FLOE_LOG_STATUS_NULL};
    for (int i = 0; i < 4; i++)
        json_u64(4, log_status_keys[status_order[i]], t->by_log_status[status_order[i]], i == 3);
    puts("  },");

    json_key(2, "bad_line_samples");
    puts("[");
    for (size_t i = 0; i < t->nbad_places; i++) {
        const floe_bad_place *p = &t->bad_places[i];
        fputs("    {\"file\": ", stdout);
        json_string(p->file);
        printf(", \"line\": %" PRIu64 ", \"reason\": ", p->line_no);
        json_string(reason_keys[p->reason]);
        fputs(", \"field\": ", stdout);
        if (p->field != FLOE_F_UNKNOWN)
            json_string(floe_field_name(p->field));
        else
            fputs("null", stdout);
        printf(", \"column\": %d, \"fields_seen\": %u, \"fields_wanted\": %u, \"text\": ",
               p->column, p->fields_seen, p->fields_wanted);
        json_bytes(p->excerpt, p->excerpt_len);
        printf("}%s\n", i + 1 < t->nbad_places ? "," : "");
    }
    puts("  ],");

    json_key(2, "unknown_fields");
    puts("[");
    for (size_t i = 0; i < t->nunknown; i++) {
        fputs("    {\"name\": ", stdout);
        json_string(t->unknown[i].name);
        fputs(", \"file\": ", stdout);
        json_string(t->unknown[i].file);
        printf(", \"line\": %" PRIu64 "}%s\n", t->unknown[i].line_no,
               i + 1 < t->nunknown ? "," : "");
    }
    puts("  ],");

    json_key(2, "decode_errors");
    puts("[");
    for (size_t i = 0; i < t->ndecode_failures; i++) {
        const floe_decode_failure *f = &t->decode_failures[i];
        fputs("    {\"file\": ", stdout);
        json_string(f->file);
        fputs(", \"codec\": ", stdout);
        json_string(floe_codec_name(f->codec));
        fputs(", \"error\": ", stdout);
        json_string(f->status == FLOE_ERR_UNSUPPORTED ? "unsupported"
                                                      : decode_error_word(f->status));
        printf(", \"offset\": %" PRIu64 "}%s\n", f->offset, i + 1 < t->ndecode_failures ? "," : "");
    }
    puts("  ],");

    json_key(2, "unreadable");
    puts("[");
    size_t unreadable = walk->nerrors + t->nfile_failures;
    size_t n = 0;
    for (size_t i = 0; i < walk->nerrors; i++, n++) {
        fputs("    {\"file\": ", stdout);
        json_string(walk->errors[i].path);
        fputs(", \"error\": ", stdout);
        json_string(walk_error_text(&walk->errors[i]));
        printf("}%s\n", n + 1 < unreadable ? "," : "");
    }
    for (size_t i = 0; i < t->nfile_failures; i++, n++) {
        fputs("    {\"file\": ", stdout);
        json_string(t->file_failures[i].file);
        fputs(", \"error\": ", stdout);
        json_string(strerror(t->file_failures[i].err));
        printf("}%s\n", n + 1 < unreadable ? "," : "");
    }
    puts("  ],");
    json_u64(2, "skipped_hidden", walk->skipped_hidden, false);
    json_u64(2, "skipped_special", walk->skipped_special, false);
    json_u64(2, "skipped", skipped_count(t, walk), false);
    json_key(2, "seconds");
    printf("%.6f,\n", seconds);
    json_key(2, "decoded_mb_per_s");
    printf("%.3f\n", seconds > 0 ? (double)t->decoded_bytes / 1e6 / seconds : 0.0);
    puts("}");
}

/* ---- the command ---------------------------------------------------------------------------- */

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, totals_args *args) {
    enum { OPT_CLOUDWATCH = 256, OPT_FORMAT, OPT_STRICT, OPT_JSON, OPT_HIDDEN };
    static const struct option long_options[] = {
        {"cloudwatch", no_argument, NULL, OPT_CLOUDWATCH},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"json", no_argument, NULL, OPT_JSON},
        {"include-hidden", no_argument, NULL, OPT_HIDDEN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(args, 0, sizeof(*args));
    optind = 1;
    opterr = 0;
    for (;;) {
        /* Leading ':' makes a missing value ':' rather than '?', for a clearer message. */
        int option = getopt_long(argc, argv, ":h", long_options, NULL);
        if (option == -1) break;
        switch (option) {
        case OPT_CLOUDWATCH:
            args->cloudwatch = true;
            break;
        case OPT_FORMAT:
            args->format_text = optarg;
            break;
        case OPT_STRICT:
            args->strict = true;
            break;
        case OPT_JSON:
            args->json = true;
            break;
        case OPT_HIDDEN:
            args->include_hidden = true;
            break;
        case 'h':
            print_totals_usage(stdout);
            return FLOE_EXIT_OK;
        case ':':
            fprintf(stderr, "floe totals: option '%s' needs a value\n", argv[optind - 1]);
            return FLOE_EXIT_USAGE;
        default:
            /* optopt names a bad short option; for a bad long one it is 0 and the word that
             * getopt just passed is the culprit. */
            if (optopt != 0) fprintf(stderr, "floe totals: bad option '-%c'\n", optopt);
            else fprintf(stderr, "floe totals: bad option '%s'\n", argv[optind - 1]);
            print_totals_usage(stderr);
            return FLOE_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("floe totals: no PATH given\n", stderr);
        print_totals_usage(stderr);
        return FLOE_EXIT_USAGE;
    }
    return -1;
}

int floe_cli_totals(int argc, char **argv) {
    totals_args args;
    int exit_code = parse_args(argc, argv, &args);
    if (exit_code >= 0) return exit_code;

    floe_totals_options options;
    floe_totals_options_default(&options);
    options.mode = args.cloudwatch ? FLOE_LINES_CLOUDWATCH : FLOE_LINES_S3;
    floe_format format;
    if (args.format_text != NULL) {
        if (floe_format_parse(args.format_text, strlen(args.format_text), &format) != FLOE_OK) {
            fprintf(stderr,
                    "floe totals: --format: not a field list (empty, a field named twice, or "
                    "more than %d names): '%s'\n",
                    FLOE_MAX_COLUMNS, args.format_text);
            return FLOE_EXIT_USAGE;
        }
        options.format = &format;
    }

    double start = now_seconds();
    floe_walk_options walk_options = {args.include_hidden};
    floe_walk_result walk;
    floe_status status = floe_walk((const char *const *)argv + optind, (size_t)(argc - optind),
                                   &walk_options, &walk);
    floe_totals totals;
    floe_totals_init(&totals, options.keep_bad_lines);
    floe_totals_worker *worker = NULL;
    if (status == FLOE_OK) status = floe_totals_worker_new(&options, &worker);
    for (size_t i = 0; status == FLOE_OK && i < walk.nfiles; i++)
        status = floe_totals_add_file(worker, walk.files[i].path, &totals);
    double seconds = now_seconds() - start;

    if (status != FLOE_OK) {
        fprintf(stderr, "floe totals: %s\n", floe_status_str(status));
        exit_code = FLOE_EXIT_SKIPPED;
    } else {
        if (args.json)
            print_json(&totals, &walk, seconds);
        else
            print_text(&totals, &walk, seconds);
        exit_code =
            args.strict && skipped_count(&totals, &walk) > 0 ? FLOE_EXIT_SKIPPED : FLOE_EXIT_OK;
        if (walk.nfiles == 0) {
            /* A mistyped path must not pass for a clean run over nothing. */
            fprintf(stderr, "floe totals: no input files found\n");
            exit_code = FLOE_EXIT_SKIPPED;
        }
        if (fflush(stdout) != 0) {
            fprintf(stderr, "floe totals: writing the summary: %s\n", strerror(errno));
            exit_code = FLOE_EXIT_SKIPPED;
        }
    }
    floe_totals_worker_free(worker);
    floe_totals_free(&totals);
    floe_walk_result_free(&walk);
    return exit_code;
}
