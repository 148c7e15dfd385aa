/* floe totals: walk the paths, run every file through floe_totals, print the summary as text
 * or as one JSON object. All the work is in io/floe_totals.c; this file decides what the user
 * sees. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_cli.h"
#include "floe_decode.h"
#include "floe_parse.h"
#include "floe_totals.h"
#include "floe_walk.h"

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
          "  --strict            exit 1 when any line, file, compressed data or unknown\n"
          "                      field's values were skipped\n"
          "  --json              print one JSON object instead of the text summary\n"
          "  --include-hidden    also read dot-files inside directories\n"
          "  -h, --help          this help\n"
          "\n"
          "exit status: 0 done (skipped lines and files are reported, not fatal); 1 with\n"
          "--strict when anything was skipped, when no input file was found, or when the run\n"
          "could not go on (out of memory); 2 usage error.\n",
          out);
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
            return floe_cli_bad_option("totals", optopt, argv[optind - 1], print_totals_usage);
        }
    }
    if (optind >= argc) return floe_cli_no_path("totals", print_totals_usage);
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
        if (!floe_cli_parse_format("totals", args.format_text, &format)) return FLOE_EXIT_USAGE;
        options.format = &format;
    }

    double start = floe_cli_now();
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
    double seconds = floe_cli_now() - start;

    if (status != FLOE_OK) {
        fprintf(stderr, "floe totals: %s\n", floe_status_str(status));
        exit_code = FLOE_EXIT_SKIPPED;
    } else {
        if (args.json)
            floe_cli_summary_json(stdout, &totals, &walk, seconds, NULL);
        else
            floe_cli_summary_text(stdout, &totals, &walk, seconds);
        exit_code = args.strict && floe_cli_skipped_count(&totals, &walk) > 0 ? FLOE_EXIT_SKIPPED
                                                                              : FLOE_EXIT_OK;
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
