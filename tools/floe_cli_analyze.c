/* floe analyze: reads flow-log trees with the pipeline (io/floe_pipeline.h), aggregates the
 * records by time window and key, and writes the table as CSV or JSON Lines. This file turns
 * arguments into options and results into what the user sees; the work is in io/ and core/. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "floe_cli.h"
#include "floe_findings_out.h"
#include "floe_mem.h"
#include "floe_outfile.h"
#include "floe_pipeline.h"
#include "floe_run_table.h"
#include "floe_table_out.h"
#include "floe_text.h"
#include "floe_walk.h"

#define DEFAULT_KEY    "srcaddr,dstaddr,dstport,protocol,action"
#define DEFAULT_WINDOW "10m"
/* Rows a Parquet row group may hold: 16 M keeps a column chunk's one page of 8-byte values at
 * 128 MB, far inside the format's 2 GiB. */
#define MAX_ROW_GROUP_ROWS (16L << 20)

typedef struct analyze_args {
    const char *window;
    const char *by;
    const char *distinct;
    const char *action;
    const char *log_status;
    const char *output;
    const char *output_format;
    const char *order_by;
    const char *stats;
    const char *run_table;
    const char *format_text;
    const char *io;
    const char *time_format;
    const char *parquet_compression;
    long parquet_row_group; /* 0: the default */
    long top;               /* 0: all groups */
    long threads;
    long read_size;         /* 0: the default */
    long long memory_limit; /* bytes; 0: none; -1: the default (default_memory_limit) */
    bool report;            /* the terminal report, also when -o is given */
    bool cloudwatch;
    bool strict;
    bool include_hidden;
    bool quiet;
    int progress; /* -1 auto (stderr is a TTY), 0 off, 1 on */
    floe_cli_detect_args detect;
} analyze_args;

static void print_usage(FILE *out) {
    fprintf(
        out,
        "usage: floe analyze [OPTIONS] PATH...\n"
        "\n"
        "Reads every flow-log file under the PATHs (directories recursively, sorted by path;\n"
        "gzip, zstd or plain text by magic bytes; '-' is standard input), groups the records\n"
        "by time window and key, and writes one row per group: flows, packets, bytes,\n"
        "accepted, rejected, first_seen, last_seen.\n"
        "\n"
        "grouping:\n"
        "  -w, --window W      1m, 5m, 10m, 1h, 1d (or any Ns/Nm/Nh/Nd), or 'all' for no\n"
        "                      window; UTC-aligned, a flow counts whole in the window of its\n"
        "                      start (default " DEFAULT_WINDOW ")\n"
        "  -b, --by FIELDS     key fields, comma-separated; addresses take a prefix like\n"
        "                      nfdump's -A: srcaddr/24 (IPv4) or srcaddr/24/64 (IPv4/IPv6)\n"
        "                      (default " DEFAULT_KEY ")\n"
        "  --distinct FIELDS   also count each group's distinct values of these fields\n"
        "                      (columns distinct_<field>; exact up to 32 values, then a\n"
        "                      HyperLogLog estimate with ~1.6%% standard error)\n"
        "  --action A          accept, reject or all (default all)\n"
        "  --log-status S      ok, nodata, skipdata (comma-separated) or all (default all)\n"
        "  --top N             only the N groups with the largest --order-by measure (in\n"
        "                      the report: N rows a table)\n"
        "  --order-by M        flows, packets or bytes (default bytes; with --top)\n"
        "\n"
        "output (without -o or --output-format: the report alone):\n"
        "  --report            print a report on standard output: top sources by bytes, top\n"
        "                      rejected sources, top destination ports, the top groups of\n"
        "                      the key, totals per window (--top N rows, default 10)\n"
        "  -o, --output FILE   write the table, by the extension (any case): .csv, .jsonl or\n"
        "                      .ndjson, .parquet or none (Apache Parquet); another is refused;\n"
        "                      '-' is CSV on standard output. Written to a temporary name,\n"
        "                      then renamed. Standard output takes one output only.\n"
        "  --output-format F   csv, jsonl or parquet, whatever the extension; without -o,\n"
        "                      the table on standard output (Parquet: not to a terminal)\n"
        "  --time-format F     CSV and JSON times: iso (2026-11-29T19:00:00Z, the default)\n"
        "                      or unix (seconds); Parquet has UTC timestamps\n"
        "  --parquet-compression C   zstd (the default) or none\n"
        "  --parquet-row-group ROWS  rows a Parquet row group holds at most (default\n"
        "                      131072, at most 16777216)\n"
        "  --stats FILE        also write the run summary as JSON\n"
        "  --run-table FILE    also write the run table (files, records, bad lines, errors;\n"
        "                      one row) as Parquet, or .csv / .jsonl by extension\n"
        "  -q, --quiet         no progress line and no summary on standard error\n"
        "  --progress, --no-progress   progress line on standard error (default: on a TTY)\n"
        "\n"
        "detections (GuardDuty-style, shared/spec/detections.md; in the same pass):\n"
        "  --detect            run the detectors; findings go to the report\n"
        "  --findings FILE     also write them, by the extension: .jsonl (one object a line,\n"
        "                      for a SIEM), .parquet or .csv; '-' is JSON Lines on stdout\n"
        "  --intel FILE        a threat list: one IP or CIDR a line, '#' or ';' comments,\n"
        "                      IPv4 and IPv6 (repeatable): MaliciousIPCaller.Custom\n"
        "  --detect-config FILE  settings, one 'name = value' a line, '#' comments\n"
        "  --set NAME=VALUE    one setting (repeatable; after the file). Settings:\n"
        "%s"
        "  Any of these options implies --detect.\n"
        "\n"
        "input:\n"
        "  --cloudwatch        lines are CloudWatch Logs exports: '<ISO-8601 time> <record>'\n"
        "  --format \"FIELDS\"   field list for files without a header line (and for\n"
        "                      --cloudwatch); default: the version 2 format\n"
        "  --include-hidden    also read dot-files inside directories\n"
        "  --strict            exit 1 when any line, file, compressed data or unknown\n"
        "                      field's values were skipped\n"
        "  -t, --threads N     worker threads (default: one per core)\n"
        "  --io uring|pread    how files are read (default: io_uring, or pread where the\n"
        "                      kernel refuses io_uring)\n"
        "  --read-size BYTES   bytes per read, a power of two (default 1048576)\n"
        "  --memory-limit SIZE stop, with nothing written, rather than map more than SIZE\n"
        "                      of tables (512M, 8G; 'none'); default: 3/4 of the memory\n"
        "  -h, --help          this help\n"
        "\n"
        "exit status: 0 done (skipped lines and files are reported, not fatal); 1 with\n"
        "--strict when anything was skipped, when no input file was found, or when the run\n"
        "could not go on (out of memory, --memory-limit reached); 2 usage error; 130 / 143\n"
        "stopped by Ctrl-C / SIGTERM (nothing written).\n",
        floe_detect_config_keys());
}

/* "10m" -> 600. Returns false when not a duration. */
static bool parse_window(const char *text, int64_t *seconds) {
    if (strcmp(text, "all") == 0 || strcmp(text, "none") == 0) {
        *seconds = 0;
        return true;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || n <= 0 || n > 366LL * 86400) return false;
    int64_t unit;
    if (strcmp(end, "s") == 0)
        unit = 1;
    else if (strcmp(end, "m") == 0)
        unit = 60;
    else if (strcmp(end, "h") == 0)
        unit = 3600;
    else if (strcmp(end, "d") == 0)
        unit = 86400;
    else
        return false;
    *seconds = n * unit;
    return *seconds <= 366LL * 86400;
}

static bool parse_count(const char *text, long max, long *out) {
    char *end = NULL;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != 0 || n < 1 || n > max) return false;
    *out = n;
    return true;
}

/* "512M", "8G", "1.5G" (binary units; a bare number is bytes), or "none": no limit (0). At
 * least 64 MiB: below that no table gets going. */
static bool parse_memory_size(const char *text, long long *bytes) {
    if (strcmp(text, "none") == 0) {
        *bytes = 0;
        return true;
    }
    double n;
    if (!floe_text_parse_size(text, 1024, &n) || n < 64.0 * 1024 * 1024 || n > 9.0e18) return false;
    *bytes = (long long)n;
    return true;
}

/* Three quarters of the machine's memory: room for what the limit does not count (buffers,
 * small allocations, the page cache's share) and for the rest of the machine. */
static long long default_memory_limit(void) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 0;
    return (long long)pages / 4 * 3 * page;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("floe analyze: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return FLOE_EXIT_USAGE;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, analyze_args *args) {
    enum {
        OPT_ACTION = 256,
        OPT_LOG_STATUS,
        OPT_TOP,
        OPT_ORDER_BY,
        OPT_OUTPUT_FORMAT,
        OPT_STATS,
        OPT_PROGRESS,
        OPT_NO_PROGRESS,
        OPT_CLOUDWATCH,
        OPT_FORMAT,
        OPT_HIDDEN,
        OPT_STRICT,
        OPT_IO,
        OPT_TIME_FORMAT,
        OPT_READ_SIZE,
        OPT_MEMORY_LIMIT,
        OPT_DISTINCT,
        OPT_PARQUET_COMPRESSION,
        OPT_PARQUET_ROW_GROUP,
        OPT_REPORT,
        OPT_RUN_TABLE,
        OPT_DETECT,
        OPT_FINDINGS,
        OPT_INTEL,
        OPT_DETECT_CONFIG,
        OPT_SET,
    };
    static const struct option long_options[] = {
        {"window", required_argument, NULL, 'w'},
        {"by", required_argument, NULL, 'b'},
        {"distinct", required_argument, NULL, OPT_DISTINCT},
        {"action", required_argument, NULL, OPT_ACTION},
        {"log-status", required_argument, NULL, OPT_LOG_STATUS},
        {"top", required_argument, NULL, OPT_TOP},
        {"order-by", required_argument, NULL, OPT_ORDER_BY},
        {"output", required_argument, NULL, 'o'},
        {"output-format", required_argument, NULL, OPT_OUTPUT_FORMAT},
        {"stats", required_argument, NULL, OPT_STATS},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"cloudwatch", no_argument, NULL, OPT_CLOUDWATCH},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"include-hidden", no_argument, NULL, OPT_HIDDEN},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"threads", required_argument, NULL, 't'},
        {"io", required_argument, NULL, OPT_IO},
        {"time-format", required_argument, NULL, OPT_TIME_FORMAT},
        {"read-size", required_argument, NULL, OPT_READ_SIZE},
        {"memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT},
        {"parquet-compression", required_argument, NULL, OPT_PARQUET_COMPRESSION},
        {"parquet-row-group", required_argument, NULL, OPT_PARQUET_ROW_GROUP},
        {"report", no_argument, NULL, OPT_REPORT},
        {"run-table", required_argument, NULL, OPT_RUN_TABLE},
        {"detect", no_argument, NULL, OPT_DETECT},
        {"findings", required_argument, NULL, OPT_FINDINGS},
        {"intel", required_argument, NULL, OPT_INTEL},
        {"detect-config", required_argument, NULL, OPT_DETECT_CONFIG},
        {"set", required_argument, NULL, OPT_SET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(args, 0, sizeof(*args));
    args->window = DEFAULT_WINDOW;
    args->memory_limit = -1;
    args->by = DEFAULT_KEY;
    args->progress = -1;
    optind = 1;
    opterr = 0;
    for (;;) {
        int option = getopt_long(argc, argv, ":w:b:o:qt:h", long_options, NULL);
        if (option == -1) break;
        switch (option) {
        case 'w':
            args->window = optarg;
            break;
        case 'b':
            args->by = optarg;
            break;
        case OPT_DISTINCT:
            args->distinct = optarg;
            break;
        case OPT_ACTION:
            args->action = optarg;
            break;
        case OPT_LOG_STATUS:
            args->log_status = optarg;
            break;
        case OPT_TOP:
            if (!parse_count(optarg, 1L << 40, &args->top))
                return usage_error("--top: not a positive count: '%s'", optarg);
            break;
        case OPT_ORDER_BY:
            args->order_by = optarg;
            break;
        case 'o':
            args->output = optarg;
            break;
        case OPT_OUTPUT_FORMAT:
            args->output_format = optarg;
            break;
        case OPT_STATS:
            args->stats = optarg;
            break;
        case 'q':
            args->quiet = true;
            break;
        case OPT_PROGRESS:
            args->progress = 1;
            break;
        case OPT_NO_PROGRESS:
            args->progress = 0;
            break;
        case OPT_CLOUDWATCH:
            args->cloudwatch = true;
            break;
        case OPT_FORMAT:
            args->format_text = optarg;
            break;
        case OPT_HIDDEN:
            args->include_hidden = true;
            break;
        case OPT_STRICT:
            args->strict = true;
            break;
        case 't':
            if (!parse_count(optarg, 1024, &args->threads))
                return usage_error("--threads: not a count from 1 to 1024: '%s'", optarg);
            break;
        case OPT_IO:
            args->io = optarg;
            break;
        case OPT_TIME_FORMAT:
            if (strcmp(optarg, "iso") != 0 && strcmp(optarg, "unix") != 0)
                return usage_error("--time-format: iso or unix, not '%s'", optarg);
            args->time_format = optarg;
            break;
        case OPT_READ_SIZE:
            if (!parse_count(optarg, 256L << 20, &args->read_size) || args->read_size < 4096 ||
                (args->read_size & (args->read_size - 1)) != 0)
                return usage_error("--read-size: a power of two from 4096 to 268435456, not '%s'",
                                   optarg);
            break;
        case OPT_MEMORY_LIMIT:
            if (!parse_memory_size(optarg, &args->memory_limit))
                return usage_error("--memory-limit: a size like 512M or 8G (at least 64M), or "
                                   "'none', not '%s'",
                                   optarg);
            break;
        case OPT_REPORT:
            args->report = true;
            break;
        case OPT_RUN_TABLE:
            args->run_table = optarg;
            break;
        case OPT_DETECT:
            args->detect.on = true;
            break;
        case OPT_FINDINGS:
            args->detect.on = true;
            args->detect.findings = optarg;
            break;
        case OPT_DETECT_CONFIG:
            args->detect.on = true;
            args->detect.config_path = optarg;
            break;
        case OPT_INTEL:
        case OPT_SET:
            args->detect.on = true;
            if ((option == OPT_INTEL ? args->detect.nintel : args->detect.nsets) ==
                FLOE_CLI_MAX_REPEAT)
                return usage_error("--intel and --set: at most %d of each", FLOE_CLI_MAX_REPEAT);
            if (option == OPT_INTEL)
                args->detect.intel[args->detect.nintel++] = optarg;
            else
                args->detect.sets[args->detect.nsets++] = optarg;
            break;
        case OPT_PARQUET_COMPRESSION:
            if (strcmp(optarg, "zstd") != 0 && strcmp(optarg, "none") != 0)
                return usage_error("--parquet-compression: zstd or none, not '%s'", optarg);
            args->parquet_compression = optarg;
            break;
        case OPT_PARQUET_ROW_GROUP:
            if (!parse_count(optarg, MAX_ROW_GROUP_ROWS, &args->parquet_row_group))
                return usage_error("--parquet-row-group: not a count from 1 to %ld: '%s'",
                                   MAX_ROW_GROUP_ROWS, optarg);
            break;
        case 'h':
            print_usage(stdout);
            return FLOE_EXIT_OK;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return floe_cli_bad_option("analyze", optopt, argv[optind - 1], print_usage);
        }
    }
    if (optind >= argc) return floe_cli_no_path("analyze", print_usage);
    return -1;
}

/* A file's format by its name's extension, in any case: .csv, .jsonl or .ndjson, .parquet or
 * .pq, or none at all (Parquet, the default for a file); "-" is CSV. Returns false for another
 * extension (".json", ".csv.gz", ".txt"): guessing there would write what the name does not
 * say. */
static bool format_of_path(const char *path, floe_table_format *format) {
    if (strcmp(path, "-") == 0) {
        *format = FLOE_TABLE_CSV;
        return true;
    }
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (dot == NULL || dot == base) { /* no extension (a leading dot names a hidden file) */
        *format = FLOE_TABLE_PARQUET;
        return true;
    }
    static const struct {
        const char *ext;
        floe_table_format format;
    } known[] = {{".csv", FLOE_TABLE_CSV},
                 {".jsonl", FLOE_TABLE_JSONL},
                 {".ndjson", FLOE_TABLE_JSONL},
                 {".parquet", FLOE_TABLE_PARQUET},
                 {".pq", FLOE_TABLE_PARQUET}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcasecmp(dot, known[i].ext) == 0) {
            *format = known[i].format;
            return true;
        }
    }
    return false;
}

/* Where the outputs go, settled once from the options. */
typedef struct output_plan {
    bool table;       /* the aggregate table is written: -o, or --output-format alone (stdout) */
    const char *path; /* the table's path; "-" is standard output */
    bool report;      /* the report on standard output: no table asked for, or --report */
} output_plan;

/* The table format and the output plan. Returns false (after a message) for an unknown
 * format or extension, or two outputs on standard output. */
static bool plan_outputs(const analyze_args *args, floe_table_options *table, output_plan *plan) {
    memset(table, 0, sizeof(*table));
    table->unix_time = args->time_format != NULL && strcmp(args->time_format, "unix") == 0;
    table->parquet.uncompressed =
        args->parquet_compression != NULL && strcmp(args->parquet_compression, "none") == 0;
    table->parquet.row_group_rows = (uint32_t)args->parquet_row_group;
    table->parquet.created_by = "floe version " FLOE_VERSION;
    plan->table = args->output != NULL || args->output_format != NULL;
    plan->path = args->output != NULL ? args->output : "-";
    const bool findings_out =
        args->detect.findings != NULL && strcmp(args->detect.findings, "-") == 0;
    /* Findings on standard output replace the report there, unless it is asked for. */
    plan->report = args->report || (!plan->table && !findings_out);
    const char *name = args->output_format;
    if (name == NULL) {
        if (!format_of_path(plan->path, &table->format)) {
            fprintf(stderr,
                    "floe analyze: -o %s: the extension names no format: use .parquet, .csv or "
                    ".jsonl (or no extension: Parquet), or give --output-format\n",
                    plan->path);
            return false;
        }
    } else if (strcmp(name, "csv") == 0) {
        table->format = FLOE_TABLE_CSV;
    } else if (strcmp(name, "jsonl") == 0) {
        table->format = FLOE_TABLE_JSONL;
    } else if (strcmp(name, "parquet") == 0) {
        table->format = FLOE_TABLE_PARQUET;
    } else {
        fprintf(stderr, "floe analyze: --output-format: csv, jsonl or parquet, not '%s'\n", name);
        return false;
    }
    floe_table_format run_format;
    if (args->run_table != NULL && !format_of_path(args->run_table, &run_format)) {
        fprintf(stderr,
                "floe analyze: --run-table %s: the extension names no format: use .parquet, .csv "
                "or .jsonl\n",
                args->run_table);
        return false;
    }
    /* Standard output carries one thing. */
    const bool table_out = plan->table && strcmp(plan->path, "-") == 0;
    floe_table_format findings_format;
    if (args->detect.findings != NULL && !findings_out &&
        !format_of_path(args->detect.findings, &findings_format)) {
        fprintf(stderr,
                "floe analyze: --findings %s: the extension names no format: use .jsonl, "
                ".parquet or .csv\n",
                args->detect.findings);
        return false;
    }
    unsigned on_stdout = table_out + plan->report + findings_out +
                         (args->run_table != NULL && strcmp(args->run_table, "-") == 0) +
                         (args->stats != NULL && strcmp(args->stats, "-") == 0);
    if (on_stdout > 1) {
        fputs("floe analyze: more than one output on standard output (the table with -o - or "
              "--output-format alone, the report, --run-table -, --stats -, --findings -): send "
              "all but one to files\n",
              stderr);
        return false;
    }
    if (!args->quiet && !plan->table &&
        (args->time_format != NULL || args->parquet_compression != NULL ||
         args->parquet_row_group > 0))
        fputs("floe analyze: note: --time-format and --parquet-* shape the table, which only -o "
              "(or --output-format) writes; the report ignores them\n",
              stderr);
    if (table_out && table->format == FLOE_TABLE_PARQUET && isatty(STDOUT_FILENO)) {
        fputs("floe analyze: Parquet is binary: redirect standard output or give -o FILE\n",
              stderr);
        return false;
    }
    return true;
}

/* ---- progress -------------------------------------------------------------------------------- */

static void show_progress(void *ctx, const floe_progress *p) {
    (void)ctx;
    double mb = (double)p->bytes_read / 1e6;
    double rate = p->seconds > 0 ? mb / p->seconds : 0;
    char eta[32] = "?";
    if (rate > 0 && p->bytes_total >= p->bytes_read) {
        double left = ((double)(p->bytes_total - p->bytes_read) / 1e6) / rate;
        if (left > 99 * 3600) left = 99 * 3600; /* keeps the int conversion defined */
        snprintf(eta, sizeof(eta), "%d:%02d", (int)left / 60, (int)left % 60);
    }
    /* Compressed MB: what the disk delivers; the summary gives the decoded rate. */
    fprintf(stderr, "\r\033[Kfiles %" PRIu64 "/%" PRIu64 "  %.1f MB read  %.1f MB/s  ETA %s",
            p->files_done, p->files_total, mb, rate, eta);
    fflush(stderr);
}

/* ---- Parquet's key-value metadata ------------------------------------------------------------ */

/* What a Parquet file says about the run that made it, so the file explains itself: floe's
 * version, the command line, the window and key, the filters and the input totals. */
typedef struct run_metadata {
    floe_pq_key_value kv[32];
    size_t n;
    char numbers[16][24];
    size_t nnumbers;
    char *command; /* owned */
} run_metadata;

static void add_text(run_metadata *m, const char *key, const char *value) {
    if (m->n < sizeof(m->kv) / sizeof(m->kv[0])) m->kv[m->n++] = (floe_pq_key_value){key, value};
}

static void add_number(run_metadata *m, const char *key, uint64_t value) {
    if (m->nnumbers == sizeof(m->numbers) / sizeof(m->numbers[0])) return;
    char *text = m->numbers[m->nnumbers++];
    snprintf(text, sizeof(m->numbers[0]), "%" PRIu64, value);
    add_text(m, key, text);
}

/* Appends ' ' and a shell word for `text` at *p: as it is when plain, else single-quoted
 * ('it'\''s'). Room: 4 bytes a byte of text, plus 3. */
static void append_word(char **p, const char *text) {
    bool plain = *text != 0 && strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789-_./,:=+@%") == strlen(text);
    *(*p)++ = ' ';
    if (plain) {
        *p += sprintf(*p, "%s", text);
        return;
    }
    *(*p)++ = '\'';
    for (; *text != 0; text++) {
        if (*text == '\'') {
            memcpy(*p, "'\\''", 4);
            *p += 4;
        } else {
            *(*p)++ = *text;
        }
    }
    *(*p)++ = '\'';
}

/* The command as floe understood it, spelled one way whatever way it was typed (abbreviated
 * or bundled options, any order): "floe analyze --window W --by K ... PATH...", every option
 * that changes what is computed or written, none of those that only change how the run goes
 * (--threads, --io, --read-size, progress), so the output's bytes do not depend on them. */
static char *command_line(const analyze_args *args, char **paths, int npaths) {
    char top[24] = "", rows[24] = "";
    if (args->top > 0) snprintf(top, sizeof(top), "%ld", args->top);
    if (args->parquet_row_group > 0) snprintf(rows, sizeof(rows), "%ld", args->parquet_row_group);
    const struct {
        const char *option, *value; /* value NULL: a flag */
        bool wanted;
    } parts[] = {
        {"--window", args->window, true},
        {"--by", args->by, true},
        {"--distinct", args->distinct, args->distinct != NULL},
        {"--action", args->action, args->action != NULL},
        {"--log-status", args->log_status, args->log_status != NULL},
        {"--top", top, args->top > 0},
        {"--order-by", args->order_by, args->order_by != NULL},
        {"--cloudwatch", NULL, args->cloudwatch},
        {"--format", args->format_text, args->format_text != NULL},
        {"--include-hidden", NULL, args->include_hidden},
        {"--strict", NULL, args->strict},
        {"--report", NULL, args->report},
        {"-o", args->output, args->output != NULL},
        {"--output-format", args->output_format, args->output_format != NULL},
        {"--time-format", args->time_format, args->time_format != NULL},
        {"--parquet-compression", args->parquet_compression, args->parquet_compression != NULL},
        {"--parquet-row-group", rows, args->parquet_row_group > 0},
        {"--run-table", args->run_table, args->run_table != NULL},
        {"--stats", args->stats, args->stats != NULL},
    };
    const size_t nparts = sizeof(parts) / sizeof(parts[0]);
    size_t cap = 32;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].wanted)
            cap += strlen(parts[i].option) + 4 +
                   (parts[i].value != NULL ? strlen(parts[i].value) * 4 + 3 : 0);
    bool dash_path = false; /* a path like "-x" must follow "--" to stay a path */
    for (int i = 0; i < npaths; i++) {
        cap += strlen(paths[i]) * 4 + 3;
        dash_path |= paths[i][0] == '-' && paths[i][1] != 0;
    }
    cap += 3;
    char *out = malloc(cap), *p = out;
    if (out == NULL) return NULL;
    p += sprintf(p, "floe analyze");
    for (size_t i = 0; i < nparts; i++) {
        if (!parts[i].wanted) continue;
        append_word(&p, parts[i].option);
        if (parts[i].value != NULL) append_word(&p, parts[i].value); /* '' when empty */
    }
    if (dash_path) append_word(&p, "--");
    for (int i = 0; i < npaths; i++)
        append_word(&p, paths[i]);
    *p = 0;
    return out;
}

static void run_metadata_init(run_metadata *m, const analyze_args *args, const floe_key_spec *key,
                              const floe_pipeline_result *result, const floe_walk_result *walk,
                              char **paths, int npaths) {
    memset(m, 0, sizeof(*m));
    m->command = command_line(args, paths, npaths);
    add_text(m, "floe.version", FLOE_VERSION);
    add_text(m, "floe.table", "aggregates");
    if (m->command != NULL) add_text(m, "floe.command", m->command);
    add_number(m, "floe.window_seconds", (uint64_t)key->window_seconds);
    add_text(m, "floe.key", args->by);
    add_text(m, "floe.distinct", args->distinct != NULL ? args->distinct : "");
    add_text(m, "floe.filter.action", args->action != NULL ? args->action : "all");
    add_text(m, "floe.filter.log_status", args->log_status != NULL ? args->log_status : "all");
    if (args->top > 0) add_number(m, "floe.top", (uint64_t)args->top);
    const floe_totals *t = &result->totals;
    add_number(m, "floe.input.files", t->files);
    add_number(m, "floe.input.compressed_bytes", t->compressed_bytes);
    add_number(m, "floe.input.text_bytes", t->decoded_bytes);
    add_number(m, "floe.input.records", t->records);
    add_number(m, "floe.input.records_kept", result->records_kept);
    add_number(m, "floe.input.bad_lines", t->bad_lines);
    add_number(m, "floe.input.skipped", floe_cli_skipped_count(t, walk));
    add_text(m, "floe.sketch_format",
             "floe_distinct v1: exact up to 32 64-bit hashes, then HyperLogLog p=12");
}

/* ---- the command ------------------------------------------------------------------------------
 */

/* Writes one output file through floe_outfile (a temporary name, then rename; "-" is standard
 * output) with write(out, ctx). On failure says why on stderr, "floe analyze: writing PATH:
 * REASON" (invalid_why for FLOE_ERR_INVALID when given), and returns FLOE_EXIT_SKIPPED. */
static int write_output(const char *path, floe_status (*write)(FILE *out, void *ctx), void *ctx,
                        const char *invalid_why) {
    floe_outfile out;
    int err = 0;
    floe_status status = floe_outfile_open(path, &out, &err);
    if (status == FLOE_OK) {
        status = write(out.fp, ctx);
        if (status == FLOE_ERR_IO) err = errno;
        /* Stopped meanwhile (Ctrl-C): the file does not appear. */
        if (status == FLOE_OK && atomic_load(&floe_cli_stop)) status = FLOE_ERR_INTERRUPTED;
        if (status == FLOE_OK)
            status = floe_outfile_commit(&out, &err);
        else
            floe_outfile_abort(&out);
    }
    if (status == FLOE_OK) return FLOE_EXIT_OK;
    if (status == FLOE_ERR_INTERRUPTED) {
        fprintf(stderr, "floe analyze: interrupted: %s not written\n",
                strcmp(path, "-") == 0 ? "output" : path);
        return floe_cli_stop_exit_code();
    }
    const char *why = err != 0 ? strerror(err) : floe_status_str(status);
    if (status == FLOE_ERR_INVALID && invalid_why != NULL) why = invalid_why;
    fprintf(stderr, "floe analyze: writing %s: %s\n", strcmp(path, "-") == 0 ? "output" : path,
            why);
    return FLOE_EXIT_SKIPPED;
}

typedef struct table_job {
    const floe_table_options *table;
    const floe_agg *agg;
    const floe_agg_group *groups;
    size_t count;
} table_job;

static floe_status write_table_to(FILE *out, void *ctx) {
    const table_job *job = ctx;
    return floe_table_write(out, job->table, job->agg, job->groups, job->count);
}

/* Writes the table to args->output (temporary name, then rename). Returns an exit code. */
static int write_table(const analyze_args *args, const floe_table_options *table, floe_agg *agg,
                       double *sort_seconds) {
    double sort_start = floe_cli_now();
    floe_agg_group *top = NULL;
    const floe_agg_group *groups = NULL;
    size_t count = 0;
    floe_status status;
    if (args->top > 0) {
        floe_agg_order order = FLOE_AGG_ORDER_BYTES;
        if (args->order_by != NULL && strcmp(args->order_by, "flows") == 0)
            order = FLOE_AGG_ORDER_FLOWS;
        else if (args->order_by != NULL && strcmp(args->order_by, "packets") == 0)
            order = FLOE_AGG_ORDER_PACKETS;
        status = floe_agg_top(agg, order, (size_t)args->top, &top, &count);
        groups = top;
    } else {
        status = floe_agg_sorted(agg, &groups, &count);
    }
    *sort_seconds = floe_cli_now() - sort_start;
    if (status != FLOE_OK) {
        fprintf(stderr, "floe analyze: %s\n", floe_status_str(status));
        return FLOE_EXIT_SKIPPED;
    }
    table_job job = {table, agg, groups, count};
    int code = write_output(args->output != NULL ? args->output : "-", write_table_to, &job,
                            table->format == FLOE_TABLE_PARQUET
                                ? "a row group would pass Parquet's limits (2 GiB a page, 2 GiB "
                                  "of a column's strings); give a smaller --parquet-row-group"
                                : NULL);
    free(top);
    return code;
}

static int print_report(const analyze_args *args, const floe_pipeline_result *result,
                        const floe_finding *findings, size_t nfindings) {
    floe_cli_report_input in = {.main = result->aggs[0],
                                .main_key = args->by,
                                .sources = result->aggs[1 + FLOE_REPORT_SOURCES],
                                .ports = result->aggs[1 + FLOE_REPORT_PORTS],
                                .windows = result->aggs[1 + FLOE_REPORT_WINDOWS],
                                .totals = &result->totals,
                                .top = args->top > 0 ? (size_t)args->top : 10,
                                .detect = args->detect.on,
                                .findings = findings,
                                .nfindings = nfindings};
    floe_status status = floe_cli_report_print(stdout, &in);
    if (status == FLOE_OK && fflush(stdout) != 0) status = FLOE_ERR_IO;
    if (status != FLOE_OK) {
        fprintf(stderr, "floe analyze: the report: %s\n", floe_status_str(status));
        return FLOE_EXIT_SKIPPED;
    }
    return FLOE_EXIT_OK;
}

typedef struct findings_job {
    floe_table_options options;
    const floe_finding *findings;
    size_t n;
} findings_job;

static floe_status write_findings_to(FILE *out, void *ctx) {
    const findings_job *job = ctx;
    return floe_findings_write(out, &job->options, job->findings, job->n);
}

/* --findings FILE: by the extension, JSON Lines on standard output. */
static int write_findings(const analyze_args *args, const floe_table_options *table,
                          const floe_finding *findings, size_t n) {
    findings_job job = {*table, findings, n};
    job.options.unix_time = false;
    if (strcmp(args->detect.findings, "-") == 0)
        job.options.format = FLOE_TABLE_JSONL;
    else
        format_of_path(args->detect.findings, &job.options.format); /* checked by plan_outputs */
    return write_output(args->detect.findings, write_findings_to, &job, NULL);
}

/* What the run skipped first, or NULL: of the bad lines, compressed streams that failed and
 * files that could not be read, the one in the earliest file in processing order (a failure
 * before that file's bad lines: it is where the file's reading stopped); else the first path
 * discovery skipped. "file:line: reason", "file: byte N: reason", "file: reason". */
static char *first_problem(const floe_totals *t, const floe_walk_result *walk) {
    char *text = NULL;
    int n = -1;
    uint64_t bad_at = t->nbad_places > 0 ? t->bad_places[0].file_index : UINT64_MAX;
    uint64_t decode_at = t->ndecode_failures > 0 ? t->decode_failures[0].file_index : UINT64_MAX;
    uint64_t file_at = t->nfile_failures > 0 ? t->file_failures[0].file_index : UINT64_MAX;
    if (file_at != UINT64_MAX && file_at <= decode_at && file_at <= bad_at)
        n = asprintf(&text, "%s: %s", t->file_failures[0].file, strerror(t->file_failures[0].err));
    else if (decode_at != UINT64_MAX && decode_at <= bad_at)
        n = asprintf(&text, "%s: byte %" PRIu64 ": %s", t->decode_failures[0].file,
                     t->decode_failures[0].offset, floe_status_str(t->decode_failures[0].status));
    else if (bad_at != UINT64_MAX)
        n = asprintf(&text, "%s:%" PRIu64 ": %s", t->bad_places[0].file, t->bad_places[0].line_no,
                     floe_bad_reason_str(t->bad_places[0].reason));
    else if (walk->nerrors > 0)
        n = asprintf(&text, "%s: %s", walk->errors[0].path,
                     floe_walk_error_str(walk->errors[0].kind));
    return n >= 0 ? text : NULL;
}

typedef struct run_table_job {
    floe_table_options options;
    const floe_run_row *row;
} run_table_job;

static floe_status write_run_table_to(FILE *out, void *ctx) {
    const run_table_job *job = ctx;
    return floe_run_table_write(out, &job->options, job->row);
}

static int write_run_table(const analyze_args *args, const floe_table_options *table,
                           const run_metadata *metadata, const floe_key_spec *key,
                           const floe_pipeline_result *result, const floe_walk_result *walk) {
    const floe_totals *t = &result->totals;
    floe_run_row row = {
        .floe_version = FLOE_VERSION,
        .command = metadata->command != NULL ? metadata->command : "",
        .window_seconds = key->window_seconds,
        .key = args->by,
        .files = t->files,
        .files_failed = t->ndecode_failures + t->nfile_failures,
        .compressed_bytes = t->compressed_bytes,
        .text_bytes = t->decoded_bytes,
        .lines = t->lines,
        .records = t->records,
        .records_kept = result->records_kept,
        .headers = t->headers,
        .blank_lines = t->blank_lines,
        .bad_lines = t->bad_lines,
        .cut_lines = t->cut_lines,
        .decode_errors = t->ndecode_failures,
        .file_errors = t->nfile_failures,
        .skipped_paths = walk->nerrors,
        .groups = result->aggs[0] != NULL ? floe_agg_count(result->aggs[0]) : 0,
        .first_problem = first_problem(t, walk),
    };
    run_table_job job = {*table, &row};
    format_of_path(args->run_table, &job.options.format); /* checked by plan_outputs */
    int code = write_output(args->run_table, write_run_table_to, &job, NULL);
    free((char *)row.first_problem);
    return code;
}

typedef struct stats_job {
    const floe_pipeline_result *result;
    const floe_walk_result *walk;
    floe_cli_run_info run;
} stats_job;

static floe_status write_stats_to(FILE *out, void *ctx) {
    const stats_job *job = ctx;
    floe_cli_summary_json(out, &job->result->totals, job->walk, job->result->seconds, &job->run);
    return FLOE_OK; /* a failed write shows at the commit's flush */
}

static int write_stats(const char *path, const floe_pipeline_result *result,
                       const floe_walk_result *walk, double sort_seconds, double output_seconds) {
    stats_job job = {
        result, walk,
        (floe_cli_run_info){result->threads, floe_io_kind_name(result->io), result->records_kept,
                            result->aggs[0] != NULL ? floe_agg_count(result->aggs[0]) : 0,
                            result->merge_seconds, sort_seconds, output_seconds}};
    return write_output(path, write_stats_to, &job, NULL);
}

/* Inputs in processing order: "-" (standard input) first, then the walked files by path. */
static floe_input *make_inputs(int npaths, char **paths, const floe_walk_result *walk,
                               size_t *ninputs) {
    size_t n = walk->nfiles;
    for (int i = 0; i < npaths; i++)
        n += strcmp(paths[i], "-") == 0;
    floe_input *inputs = calloc(n > 0 ? n : 1, sizeof(*inputs));
    if (inputs == NULL) return NULL;
    size_t k = 0;
    for (int i = 0; i < npaths; i++)
        if (strcmp(paths[i], "-") == 0) inputs[k++] = (floe_input){"-", 0};
    for (size_t i = 0; i < walk->nfiles; i++)
        inputs[k++] = (floe_input){walk->files[i].path, walk->files[i].size};
    *ninputs = k;
    return inputs;
}

int floe_cli_analyze(int argc, char **argv) {
    analyze_args args;
    int exit_code = parse_args(argc, argv, &args);
    if (exit_code >= 0) return exit_code;

    floe_pipeline_options options;
    floe_pipeline_options_default(&options);
    options.threads = (unsigned)args.threads;
    options.stream.mode = args.cloudwatch ? FLOE_LINES_CLOUDWATCH : FLOE_LINES_S3;
    floe_format format;
    if (args.format_text != NULL) {
        if (!floe_cli_parse_format("analyze", args.format_text, &format)) return FLOE_EXIT_USAGE;
        options.stream.format = &format;
    }
    if (args.io != NULL) {
        if (strcmp(args.io, "uring") == 0)
            options.io = FLOE_IO_URING;
        else if (strcmp(args.io, "pread") == 0)
            options.io = FLOE_IO_PREAD;
        else if (strcmp(args.io, "auto") == 0)
            options.io = FLOE_IO_AUTO;
        else
            return usage_error("--io: uring, pread or auto, not '%s'", args.io);
    }
    int64_t window = 0;
    if (!parse_window(args.window, &window))
        return usage_error("--window: not a duration like 1m, 5m, 10m, 1h, 1d or 'all': '%s'",
                           args.window);
    floe_key_spec key;
    if (floe_key_spec_parse(args.by, strlen(args.by), window, &key) != FLOE_OK)
        return usage_error("--by: not a list of known fields (each once, prefixes only on "
                           "addresses, e.g. srcaddr/24,dstport): '%s'",
                           args.by);
    if (args.distinct != NULL &&
        floe_key_spec_parse_distinct(args.distinct, strlen(args.distinct), &key) != FLOE_OK)
        return usage_error("--distinct: not a list of up to %d known fields, each once: '%s'",
                           FLOE_DISTINCT_MAX_FIELDS, args.distinct);
    floe_table_options table;
    output_plan plan;
    if (!plan_outputs(&args, &table, &plan)) return FLOE_EXIT_USAGE;
    /* The user's key first, then the report's tables when there is a report. */
    const bool report = plan.report;
    floe_key_spec keys[1 + FLOE_REPORT_KEYS];
    keys[0] = key;
    if (report) floe_cli_report_keys(window, keys + 1);
    options.keys = keys;
    options.nkeys = report ? 1 + FLOE_REPORT_KEYS : 1;
    /* Only a whole table written out needs the sort; --top and the report pick their groups. */
    options.sort_result = args.top == 0 && plan.table;
    if (args.action != NULL && floe_filter_parse_action(args.action, &options.filter) != FLOE_OK)
        return usage_error("--action: accept, reject or all, not '%s'", args.action);
    if (args.log_status != NULL &&
        floe_filter_parse_log_status(args.log_status, &options.filter) != FLOE_OK)
        return usage_error("--log-status: ok, nodata, skipdata or all, not '%s'", args.log_status);
    if (args.order_by != NULL && strcmp(args.order_by, "flows") != 0 &&
        strcmp(args.order_by, "packets") != 0 && strcmp(args.order_by, "bytes") != 0)
        return usage_error("--order-by: flows, packets or bytes, not '%s'", args.order_by);
    if (args.read_size > 0) options.read_size = (size_t)args.read_size;
    table.threads =
        args.threads > 0 ? (unsigned)args.threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    bool show = !args.quiet && (args.progress == 1 || (args.progress == -1 && isatty(2)));
    if (show) {
        options.on_progress = show_progress;
        options.progress_ms = 250;
    }

    floe_detect_config detect_config;
    floe_detect *detect = NULL;
    if (args.detect.on) {
        int code = floe_cli_detect_setup(&args.detect, &detect_config, args.strict);
        if (code >= 0) {
            floe_detect_config_free(&detect_config);
            return code;
        }
        if ((detect = floe_detect_new(&detect_config)) == NULL) {
            floe_detect_config_free(&detect_config);
            fputs("floe analyze: out of memory\n", stderr);
            return FLOE_EXIT_SKIPPED;
        }
    }
    options.detect = detect;

    floe_walk_options walk_options = {args.include_hidden};
    floe_walk_result walk;
    floe_input *inputs = NULL;
    size_t ninputs = 0;
    /* "-" is not a path to walk. */
    char **paths = argv + optind;
    int npaths = argc - optind;
    char **walk_paths = calloc((size_t)npaths, sizeof(char *));
    size_t nwalk = 0;
    for (int i = 0; walk_paths != NULL && i < npaths; i++)
        if (strcmp(paths[i], "-") != 0) walk_paths[nwalk++] = paths[i];
    floe_status status = walk_paths == NULL ? FLOE_ERR_NOMEM
                                            : floe_walk((const char *const *)walk_paths, nwalk,
                                                        &walk_options, &walk);
    if (status == FLOE_OK) {
        inputs = make_inputs(npaths, paths, &walk, &ninputs);
        if (inputs == NULL) status = FLOE_ERR_NOMEM;
    }
    floe_pipeline_result result;
    memset(&result, 0, sizeof(result));
    const long long memory_limit =
        args.memory_limit >= 0 ? args.memory_limit : default_memory_limit();
    floe_mem_set_limit((size_t)memory_limit);
    /* Ctrl-C from here on ends the run early, with nothing written. */
    floe_cli_catch_stop_signals();
    options.stop = &floe_cli_stop;
    if (status == FLOE_OK) status = floe_pipeline_run(inputs, ninputs, &options, &result);
    if (show) fputs("\r\033[K", stderr);

    double output_seconds = 0, sort_seconds = 0;
    floe_finding *findings = NULL;
    size_t nfindings = 0;
    exit_code = -1;
    if (status == FLOE_ERR_INTERRUPTED) {
        fputs("floe analyze: interrupted: nothing written\n", stderr);
        exit_code = floe_cli_stop_exit_code();
    } else if (status == FLOE_ERR_NOMEM && floe_mem_limit_reached()) {
        fprintf(stderr,
                "floe analyze: stopped at the memory limit (--memory-limit %.0f MB: the tables "
                "would pass it): nothing written; raise the limit, or group by fewer or coarser "
                "fields, or a longer --window\n",
                (double)memory_limit / (1024 * 1024));
        exit_code = FLOE_EXIT_SKIPPED;
    } else if (status != FLOE_OK) {
        if (status == FLOE_ERR_UNSUPPORTED)
            fputs("floe analyze: --io uring: the kernel refuses io_uring here\n", stderr);
        else
            fprintf(stderr, "floe analyze: %s\n", floe_status_str(status));
        exit_code = FLOE_EXIT_SKIPPED;
    } else {
        if (result.io_fallback_errno != 0 && !args.quiet)
            fprintf(stderr, "floe analyze: io_uring unavailable (%s); reading with pread\n",
                    strerror(result.io_fallback_errno));
        run_metadata metadata;
        run_metadata_init(&metadata, &args, &key, &result, &walk, paths, npaths);
        if (detect != NULL) {
            floe_status st = floe_detect_findings(detect, &findings, &nfindings);
            if (st != FLOE_OK) {
                fprintf(stderr, "floe analyze: detectors: %s\n", floe_status_str(st));
                exit_code = FLOE_EXIT_SKIPPED;
            }
        }
        if (exit_code >= 0) {
            /* the detectors failed: nothing more to write */
        } else if (ninputs == 0) {
            /* A mistyped path must not pass for a clean run over nothing. */
            fputs("floe analyze: no input files found\n", stderr);
            exit_code = FLOE_EXIT_SKIPPED;
        } else if (!plan.table) {
            exit_code = report ? print_report(&args, &result, findings, nfindings) : FLOE_EXIT_OK;
        } else {
            double output_start = floe_cli_now();
            table.parquet.metadata = metadata.kv;
            table.parquet.nmetadata = metadata.n;
            exit_code = write_table(&args, &table, result.aggs[0], &sort_seconds);
            output_seconds = floe_cli_now() - output_start;
            if (exit_code == FLOE_EXIT_OK && report)
                exit_code = print_report(&args, &result, findings, nfindings);
        }
        if (exit_code == FLOE_EXIT_OK && args.detect.findings != NULL)
            exit_code = write_findings(&args, &table, findings, nfindings);
        if (args.run_table != NULL && ninputs > 0) {
            int run_code = write_run_table(&args, &table, &metadata, &key, &result, &walk);
            if (exit_code == FLOE_EXIT_OK) exit_code = run_code;
        }
        free(metadata.command);
        if (args.stats != NULL) {
            int stats_code = write_stats(args.stats, &result, &walk, sort_seconds, output_seconds);
            if (exit_code == FLOE_EXIT_OK) exit_code = stats_code;
        }
        if (!args.quiet) {
            floe_cli_summary_text(stderr, &result.totals, &walk, result.seconds);
            floe_cli_describe_inputs(stderr, &walk);
            fprintf(stderr,
                    "groups        %zu (%" PRIu64 " records after filters, %u threads, %s)\n",
                    floe_agg_count(result.aggs[0]), result.records_kept, result.threads,
                    floe_io_kind_name(result.io));
            if (args.detect.on && result.detect_closing)
                fprintf(stderr,
                        "detectors     windows closed %" PRIu32
                        " times as the files' hours passed (lateness %" PRId64 " s), in %.3f s\n",
                        result.detect_closes, detect_config.lateness, result.detect_close_seconds);
            else if (args.detect.on)
                fprintf(stderr, "detectors     every window kept to the end (%s)\n",
                        detect_config.lateness < 0 ? "lateness none"
                                                   : "not every input has an S3 key time");
        }
        if (exit_code == FLOE_EXIT_OK && args.strict &&
            floe_cli_skipped_count(&result.totals, &walk) > 0)
            exit_code = FLOE_EXIT_SKIPPED;
        /* A stop while the outputs were written: whatever was committed before it is whole. */
        if (atomic_load(&floe_cli_stop)) exit_code = floe_cli_stop_exit_code();
    }
    floe_pipeline_result_free(&result);
    free(findings);
    floe_detect_free(detect);
    if (args.detect.on) floe_detect_config_free(&detect_config);
    free(inputs);
    free(walk_paths);
    if (walk_paths != NULL) floe_walk_result_free(&walk);
    return exit_code;
}
