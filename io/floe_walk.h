/* floe_walk.h: turns the paths a user gave into the list of input files.
 *
 * Each path is a file or a directory; directories are walked recursively. The result holds
 * regular files only, sorted by path bytewise (strcmp), so a run over the same tree always sees
 * the same files in the same order whatever order readdir() or the command line gave. A file
 * reached by several paths ("d" and "d/a.log", "./d//a.log", two links) is listed once, under
 * the first of its paths in that order: reading it twice would count its records twice.
 *
 * Choices:
 * - Symbolic links are followed (users link day folders into a work tree). A link back to a
 *   directory already on the current path is a loop: it is reported and not entered.
 * - Inside directories, names starting with '.' (".DS_Store", ".git", editor swap files) are
 *   skipped unless include_hidden is set; a path given explicitly is always taken.
 * - Inside directories, anything that is not a regular file or a directory (FIFO, socket,
 *   device) is skipped and counted; given explicitly, it is an error.
 * - Nothing is fatal except running out of memory: a path that cannot be read becomes an entry
 *   in errors (path + errno) and the walk goes on. Nothing is printed. */
#ifndef FLOE_WALK_H
#define FLOE_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_status.h"

typedef struct floe_walk_options {
    bool include_hidden; /* also take dot-files and dot-directories inside directories */
} floe_walk_options;

typedef struct floe_walk_file {
    char *path;    /* as given, joined with '/' below directories; owned by the result */
    uint64_t size; /* bytes, from stat() during the walk */
    uint64_t dev;  /* st_dev and st_ino: the file's identity, whatever path reached it */
    uint64_t ino;
} floe_walk_file;

/* Why a path was left out. Values are pinned. */
typedef enum floe_walk_error_kind {
    FLOE_WALK_ERR_STAT = 0,        /* stat() failed: missing path, broken link, no access */
    FLOE_WALK_ERR_OPENDIR = 1,     /* a directory could not be opened or read */
    FLOE_WALK_ERR_LOOP = 2,        /* a link leads back to a directory on the current path */
    FLOE_WALK_ERR_NOT_REGULAR = 3, /* a path given explicitly is a FIFO, socket or device */
    FLOE_WALK_ERR_KIND_COUNT
} floe_walk_error_kind;

typedef struct floe_walk_error {
    char *path; /* owned by the result */
    floe_walk_error_kind kind;
    int err; /* errno for STAT and OPENDIR (ELOOP for LOOP), else 0 */
} floe_walk_error;

typedef struct floe_walk_result {
    floe_walk_file *files; /* sorted by path */
    size_t nfiles;
    uint64_t total_size;     /* sum of the files' sizes */
    floe_walk_error *errors; /* sorted by path */
    size_t nerrors;
    uint64_t skipped_hidden;  /* dot-entries left out inside directories */
    uint64_t skipped_special; /* FIFOs, sockets, devices left out inside directories */
} floe_walk_result;

/* "cannot stat", "cannot read directory", "symlink loop", "not a regular file". */
const char *floe_walk_error_str(floe_walk_error_kind kind);

/* Walks paths[0..npaths) into *out (which the caller frees with floe_walk_result_free, on
 * failure too). options may be NULL. Returns FLOE_OK, or FLOE_ERR_NOMEM, or FLOE_ERR_INVALID. */
floe_status floe_walk(const char *const *paths, size_t npaths, const floe_walk_options *options,
                      floe_walk_result *out);

void floe_walk_result_free(floe_walk_result *result);

#endif
