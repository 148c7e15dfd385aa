/* What every subcommand shares: its messages about wrong arguments, the clock, and stopping on
 * a signal. */
#include <signal.h>
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

atomic_bool floe_cli_stop;
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
    if (atomic_load(&floe_cli_stop)) {
        /* The second one: no more waiting. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
    atomic_store(&floe_cli_stop, true);
}

void floe_cli_catch_stop_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    /* No SA_RESTART: a wait the signal interrupts returns, and the run sees the flag. */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int floe_cli_stop_exit_code(void) {
    return FLOE_EXIT_SIGNAL + (stop_signal ? stop_signal : SIGINT);
}
