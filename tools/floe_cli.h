/* floe_cli.h: the subcommands of the floe CLI. Each takes the arguments after "floe" (argv[0]
 * is the subcommand's name) and returns the process exit code. */
#ifndef FLOE_CLI_H
#define FLOE_CLI_H

#include <stdatomic.h>

/* Exit codes shared by every subcommand. */
enum {
    FLOE_EXIT_OK = 0,
    FLOE_EXIT_SKIPPED = 1, /* --strict and something was skipped, or the run could not go on */
    FLOE_EXIT_USAGE = 2,
    FLOE_EXIT_SIGNAL = 128 /* + the signal that stopped the run: 130 for Ctrl-C, 143 for SIGTERM */
};

#ifndef FLOE_VERSION
#define FLOE_VERSION "unknown"
#endif

int floe_cli_totals(int argc, char **argv);
int floe_cli_analyze(int argc, char **argv);
int floe_cli_files(int argc, char **argv);

/* ---- shared by the subcommands (floe_cli_common.c) ---- */

/* Seconds on the monotonic clock, for timing a run. */
double floe_cli_now(void);

/* Ctrl-C (SIGINT) and SIGTERM: the first sets floe_cli_stop, which a run checks to end early
 * and write nothing more; a second one ends the process at once (the signal's default
 * action). Files are written under a temporary name and renamed whole, so neither way leaves
 * a partial file under an output's name. */
extern atomic_bool floe_cli_stop;
void floe_cli_catch_stop_signals(void);
/* FLOE_EXIT_SIGNAL + the signal caught, once floe_cli_stop is set. */
int floe_cli_stop_exit_code(void);

/* Argument errors; both return FLOE_EXIT_USAGE. */

#include <stdio.h>

/* "floe COMMAND: bad option '-x'" (bad_short, getopt's optopt) or "... 'word'", then usage. */
int floe_cli_bad_option(const char *command, int bad_short, const char *word,
                        void (*usage)(FILE *out));
/* "floe COMMAND: no PATH given", then usage. */
int floe_cli_no_path(const char *command, void (*usage)(FILE *out));

#include "floe_parse.h"

/* --format's field list into *format. Returns true, or says why not on stderr ("floe COMMAND:
 * --format: ...") and returns false: the caller exits with FLOE_EXIT_USAGE. */
bool floe_cli_parse_format(const char *command, const char *text, floe_format *format);

/* ---- the end-of-run summary (floe_cli_summary.c) ---- */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "floe_totals.h"
#include "floe_walk.h"

/* What a run adds to the totals in its JSON summary; NULL leaves these keys out. */
typedef struct floe_cli_run_info {
    unsigned threads;
    const char *io;        /* "uring" or "pread" */
    uint64_t records_kept; /* after filters */
    uint64_t groups;       /* rows of the aggregate table */
    double merge_seconds;  /* merging the workers' partial results */
    double sort_seconds;   /* ordering the table (or picking the top N) */
    double output_seconds; /* ordering and writing the table */
} floe_cli_run_info;

/* Lines, files and archives skipped: what --strict turns into a failure. */
uint64_t floe_cli_skipped_count(const floe_totals *t, const floe_walk_result *walk);
void floe_cli_summary_text(FILE *out, const floe_totals *t, const floe_walk_result *walk,
                           double seconds);
void floe_cli_summary_json(FILE *out, const floe_totals *t, const floe_walk_result *walk,
                           double seconds, const floe_cli_run_info *run);
/* One line on the inputs' S3 key layouts, accounts, regions, flow logs and time span. */
void floe_cli_describe_inputs(FILE *out, const floe_walk_result *walk);
/* s as a JSON string (quoted, escaped, non-UTF-8 bytes as U+FFFD). */
void floe_cli_json_string(FILE *out, const char *s);
/* Machine names of the bad-line reasons, index = floe_bad_reason ("field_count", ...). */
extern const char *const floe_cli_reason_keys[];

/* ---- the terminal report (floe_cli_report.c) ---- */

#include "floe_agg.h"
#include <stdbool.h>

#include "floe_detect.h"

/* The tables the report reads besides the user's own: sources and destination ports over the
 * whole run, and totals per window. Their keys, in this order, for the pipeline. */
enum {
    FLOE_REPORT_SOURCES = 0,
    FLOE_REPORT_PORTS = 1,
    FLOE_REPORT_WINDOWS = 2,
    FLOE_REPORT_KEYS = 3
};
void floe_cli_report_keys(int64_t window_seconds, floe_key_spec keys[FLOE_REPORT_KEYS]);

typedef struct floe_cli_report_input {
    floe_agg *main; /* the user's --by table */
    const char *main_key;
    floe_agg *sources, *ports, *windows;
    const floe_totals *totals;
    size_t top;  /* rows of each top-N table */
    bool detect; /* detectors ran: print the findings (or say there were none) */
    const floe_finding *findings;
    size_t nfindings;
} floe_cli_report_input;

/* ---- the detectors' settings (floe_cli_detect.c) ---- */

#define FLOE_CLI_MAX_REPEAT 64 /* --set and --intel given at most this often */

typedef struct floe_cli_detect_args {
    bool on;                 /* --detect, or implied by any option below */
    const char *config_path; /* --detect-config */
    const char *findings;    /* --findings FILE */
    const char *sets[FLOE_CLI_MAX_REPEAT];
    unsigned nsets;
    const char *intel[FLOE_CLI_MAX_REPEAT];
    unsigned nintel;
} floe_cli_detect_args;

/* Fills config from the defaults, the config file, the --set values and the threat lists, and
 * builds it. Returns -1 to go on, or an exit code after saying why on stderr. */
int floe_cli_detect_setup(const floe_cli_detect_args *args, floe_detect_config *config,
                          bool strict);

/* Prints the report: a line of totals, the findings when detectors ran, then the top sources by
 * bytes, the top rejected sources, the top destination ports, the top groups of the user's key, and
 * the totals per window, with human units (decimal: KB, MB, GB; K, M flows). Shares are of the
 * records the filters kept. */
floe_status floe_cli_report_print(FILE *out, const floe_cli_report_input *in);

#endif
