/* floe_outfile.h: output files that appear whole or not at all.
 *
 * Output goes to a temporary file beside the final one (same directory, so the rename cannot
 * cross file systems); commit flushes it to disk and renames it over the final name; abort (or
 * a crash, which leaves only the hidden temporary) never leaves a partial file under the final
 * name. "-" writes to standard output directly, and so does a path that names something other
 * than a regular file (a device such as /dev/null, a FIFO): replacing those with a file would
 * be wrong. A symbolic link is followed: the temporary goes beside its target, which is what
 * gets replaced, and the link stays. */
#ifndef FLOE_OUTFILE_H
#define FLOE_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "floe_status.h"

typedef struct floe_outfile {
    FILE *fp;         /* write here */
    char *final_path; /* owned; NULL for standard output */
    char *tmp_path;   /* owned; NULL for standard output */
    bool direct;      /* written in place (a device, a FIFO): closed by commit, not renamed */
} floe_outfile;

/* Opens a temporary beside path ("-": standard output). On failure returns FLOE_ERR_IO with
 * *err set to the errno, or FLOE_ERR_NOMEM. */
floe_status floe_outfile_open(const char *path, floe_outfile *out, int *err);

/* Flushes, syncs and renames into place (or flushes standard output). FLOE_ERR_IO with *err
 * on failure, after which the temporary is removed. Either way the outfile is closed. */
floe_status floe_outfile_commit(floe_outfile *file, int *err);

/* Closes and removes the temporary; nothing appears under the final name. */
void floe_outfile_abort(floe_outfile *file);

#endif
