/* What every subcommand shares: its messages about wrong arguments, and the clock. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "floe_cli.h"

int floe_cli_bad_option(const char *command, int bad_short, const char *word,
                        void (*usage)(FILE *out)) {
    /* getopt's optopt names a bad short option; for a bad long one it is 0 and the word that
     * getopt just passed is the culprit. */
    if (bad_short != 0)
        fprintf(stderr, "floe %s: bad option '-%c'\n", command, bad_short);
    else
        fprintf(stderr, "floe %s: bad option '%s'\n", command, word);
    usage(stderr);
    return FLOE_EXIT_USAGE;
}

int floe_cli_no_path(const char *command, void (*usage)(FILE *out)) {
    fprintf(stderr, "floe %s: no PATH given\n", command);
    usage(stderr);
    return FLOE_EXIT_USAGE;
}

bool floe_cli_parse_format(const char *command, const char *text, floe_format *format) {
    if (floe_format_parse(text, strlen(text), format) == FLOE_OK) return true;
    fprintf(stderr,
            "floe %s: --format: not a field list (empty, a field named twice, or more than %d "
            "names): '%s'\n",
            command, FLOE_MAX_COLUMNS, text);
    return false;
}

double floe_cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
