/* What the input paths say about the files: the S3 key layout (core/floe_s3key.h) of each,
 * with its account, region, flow-log id and time. `floe files` lists them (a dry run of the
 * discovery `floe analyze` does); the run summary gives one line about them. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_cli.h"
#include "floe_s3key.h"
#include "floe_walk.h"

/* A sorted, deduplicated list of short strings (accounts, regions, flow-log ids). */
typedef struct name_set {
    char **names;
    size_t count;
    size_t cap;
} name_set;

static void name_set_add(name_set *set, const char *text, size_t len) {
    if (len == 0) return;
    for (size_t i = 0; i < set->count; i++)
        if (strlen(set->names[i]) == len && memcmp(set->names[i], text, len) == 0) return;
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        char **grown = realloc(set->names, cap * sizeof(*grown));
        if (grown == NULL) return; /* a count a little low in a summary line is harmless */
        set->names = grown;
        set->cap = cap;
    }
    char *copy = strndup(text, len);
    if (copy != NULL) set->names[set->count++] = copy;
}

static void name_set_free(name_set *set) {
    for (size_t i = 0; i < set->count; i++)
        free(set->names[i]);
    free(set->names);
}

static void format_time(int64_t t, char out[32]) {
    char compact[FLOE_S3KEY_TIME_LEN];
    if (floe_s3key_format_time(t, compact, sizeof(compact)) == 0) {
        snprintf(out, 32, "%" PRId64, t);
        return;
    }
    /* "YYYYMMDDTHHmmZ" -> "YYYY-MM-DDTHH:mmZ" */
    snprintf(out, 32, "%.4s-%.2s-%.2sT%.2s:%.2sZ", compact, compact + 4, compact + 6, compact + 9,
             compact + 11);
}

void floe_cli_describe_inputs(FILE *out, const floe_walk_result *walk) {
    size_t by_layout[4] = {0};
    name_set accounts = {0}, regions = {0}, flow_logs = {0};
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t i = 0; i < walk->nfiles; i++) {
        const char *path = walk->files[i].path;
        floe_s3key key;
        floe_s3key_layout layout = floe_s3key_parse(path, strlen(path), &key);
        by_layout[layout]++;
        name_set_add(&accounts, floe_s3key_at(path, key.account), key.account.len);
        name_set_add(&regions, floe_s3key_at(path, key.region), key.region.len);
        name_set_add(&flow_logs, floe_s3key_at(path, key.flow_log_id), key.flow_log_id.len);
        if (key.has_time) {
            if (key.time < first) first = key.time;
            if (key.time > last) last = key.time;
        }
    }
    fprintf(out, "layout        %zu default, %zu hive, %zu cloudwatch export, %zu other",
            by_layout[FLOE_S3KEY_DEFAULT], by_layout[FLOE_S3KEY_HIVE],
            by_layout[FLOE_S3KEY_CLOUDWATCH], by_layout[FLOE_S3KEY_UNRECOGNISED]);
    if (accounts.count > 0)
        fprintf(out, "; %zu account(s), %zu region(s), %zu flow log(s)", accounts.count,
                regions.count, flow_logs.count);
    if (first <= last) {
        char a[32], b[32];
        format_time(first, a);
        format_time(last, b);
        fprintf(out, "; files from %s to %s", a, b);
    }
    fputc('\n', out);
    name_set_free(&accounts);
    name_set_free(&regions);
    name_set_free(&flow_logs);
}

/* ---- floe files ------------------------------------------------------------------------------ */

static void print_usage(FILE *out) {
    fputs("usage: floe files [--json] [--include-hidden] PATH...\n"
          "\n"
          "Lists the files floe analyze would read, in the order it reads them, with what each\n"
          "path's S3 key says: layout (default, hive, cloudwatch, or unrecognised and why),\n"
          "account, region, flow-log id, the file's time, organisation id, and size.\n"
          "\n"
          "  --json              one JSON object a line instead of a table\n"
          "  --include-hidden    also list dot-files inside directories\n",
          out);
}

static void span_text(const char *path, floe_s3key_span span, char *out, size_t cap) {
    size_t n = span.len < cap - 1 ? span.len : cap - 1;
    memcpy(out, path + span.off, n);
    out[n] = 0;
}

int floe_cli_files(int argc, char **argv) {
    static const struct option long_options[] = {
        {"json", no_argument, NULL, 'j'},
        {"include-hidden", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false, hidden = false;
    optind = 1;
    opterr = 0;
    for (int option; (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1;) {
        if (option == 'j')
            json = true;
        else if (option == 'H')
            hidden = true;
        else if (option == 'h') {
            print_usage(stdout);
            return FLOE_EXIT_OK;
        } else {
            return floe_cli_bad_option("files", optopt, argv[optind - 1], print_usage);
        }
    }
    if (optind >= argc) return floe_cli_no_path("files", print_usage);
    floe_walk_options options = {hidden};
    floe_walk_result walk;
    floe_status status =
        floe_walk((const char *const *)argv + optind, (size_t)(argc - optind), &options, &walk);
    if (status != FLOE_OK) {
        fprintf(stderr, "floe files: %s\n", floe_status_str(status));
        floe_walk_result_free(&walk);
        return FLOE_EXIT_SKIPPED;
    }
    if (!json)
        printf("%-12s %-12s %-14s %-21s %-17s %12s  %s\n", "layout", "account", "region",
               "flow-log", "time", "bytes", "path");
    for (size_t i = 0; i < walk.nfiles; i++) {
        const char *path = walk.files[i].path;
        floe_s3key key;
        floe_s3key_layout layout = floe_s3key_parse(path, strlen(path), &key);
        char account[64], region[64], flow_log[64], org[64], when[32] = "-";
        span_text(path, key.account, account, sizeof(account));
        span_text(path, key.region, region, sizeof(region));
        span_text(path, key.flow_log_id, flow_log, sizeof(flow_log));
        span_text(path, key.org_id, org, sizeof(org));
        if (key.has_time) format_time(key.time, when);
        if (json) {
            /* Every value here is ASCII by the key grammar except the path. */
            printf("{\"path\": ");
            floe_cli_json_string(stdout, path);
            printf(", \"bytes\": %" PRIu64 ", \"layout\": \"%s\"", walk.files[i].size,
                   floe_s3key_layout_name(layout));
            if (layout == FLOE_S3KEY_UNRECOGNISED)
                printf(", \"reason\": \"%s\"", floe_s3key_reason_str(key.reason));
            if (account[0]) printf(", \"account\": \"%s\"", account);
            if (region[0]) printf(", \"region\": \"%s\"", region);
            if (flow_log[0]) printf(", \"flow_log_id\": \"%s\"", flow_log);
            if (key.has_time) printf(", \"time\": \"%s\"", when);
            if (org[0]) printf(", \"org_id\": \"%s\"", org);
            printf(", \"hourly\": %s}\n", key.hourly ? "true" : "false");
        } else {
            const char *name = layout == FLOE_S3KEY_UNRECOGNISED ? floe_s3key_reason_str(key.reason)
                                                                 : floe_s3key_layout_name(layout);
            printf("%-12.12s %-12s %-14s %-21s %-17s %12" PRIu64 "  %s\n", name,
                   account[0] ? account : "-", region[0] ? region : "-",
                   flow_log[0] ? flow_log : "-", when, walk.files[i].size, path);
        }
    }
    for (size_t i = 0; i < walk.nerrors; i++)
        fprintf(stderr, "floe files: %s: %s\n", walk.errors[i].path,
                floe_walk_error_str(walk.errors[i].kind));
    int code = walk.nfiles == 0 || walk.nerrors > 0 ? FLOE_EXIT_SKIPPED : FLOE_EXIT_OK;
    floe_walk_result_free(&walk);
    return code;
}
