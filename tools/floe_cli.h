/* floe_cli.h: the subcommands of the floe CLI. Each takes the arguments after "floe" (argv[0]
 * is the subcommand's name) and returns the process exit code. */
#ifndef FLOE_CLI_H
#define FLOE_CLI_H

/* Exit codes shared by every subcommand. */
enum {
    FLOE_EXIT_OK = 0,
    FLOE_EXIT_SKIPPED = 1, /* --strict and something was skipped, or the run could not go on */
    FLOE_EXIT_USAGE = 2
};

#ifndef FLOE_VERSION
#define FLOE_VERSION "unknown"
#endif

int floe_cli_totals(int argc, char **argv);

#endif
