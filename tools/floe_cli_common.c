/* What every subcommand shares: its messages about wrong arguments, and the clock. */
#include <stdio.h>
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

double floe_cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
