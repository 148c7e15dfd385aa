/* floe: batch analyzer for AWS VPC Flow Logs. This file only dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "floe_cli.h"

static void print_usage(FILE *out) {
    fputs("usage: floe COMMAND [OPTIONS] PATH...\n"
          "       floe --help | --version\n"
          "\n"
          "commands:\n"
          "  analyze  read flow-log trees and aggregate them by time window and key (flows,\n"
          "           packets, bytes, accepted/rejected, first/last seen) to CSV or JSON Lines\n"
          "  files    list the files analyze would read, with the account, region, flow log\n"
          "           and time their S3 keys carry\n"
          "  totals   read flow-log files (gzip, zstd or plain; directories recursively) and\n"
          "           print record, packet and byte totals, bad lines and decode errors\n"
          "\n"
          "Run 'floe COMMAND --help' for a command's options.\n"
          "Exit codes: 0 ok, 1 --strict and something was skipped (or the run failed),\n"
          "2 usage error.\n",
          out);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return FLOE_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        print_usage(stdout);
        return FLOE_EXIT_OK;
    }
    if (strcmp(command, "--version") == 0 || strcmp(command, "-V") == 0) {
        printf("floe %s\n", FLOE_VERSION);
        return FLOE_EXIT_OK;
    }
    if (strcmp(command, "totals") == 0) return floe_cli_totals(argc - 1, argv + 1);
    if (strcmp(command, "analyze") == 0) return floe_cli_analyze(argc - 1, argv + 1);
    if (strcmp(command, "files") == 0) return floe_cli_files(argc - 1, argv + 1);
    fprintf(stderr, "floe: unknown command '%s'\n", command);
    print_usage(stderr);
    return FLOE_EXIT_USAGE;
}
