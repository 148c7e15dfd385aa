/* floe_status.h: the one status enum every floe module returns.
 *
 * Values are pinned: they may appear in logs and exit paths, so never renumber them; add new
 * codes at the end. Library code returns a status and never prints or exits. */
#ifndef FLOE_STATUS_H
#define FLOE_STATUS_H

typedef enum floe_status {
    FLOE_OK = 0,
    FLOE_ERR_NOMEM = 1,       /* an allocation failed */
    FLOE_ERR_INVALID = 2,     /* a caller passed an argument outside the contract */
    FLOE_ERR_FORMAT = 3,      /* a format / header description could not be understood */
    FLOE_ERR_IO = 4,          /* a read or write failed (errno-level detail is the caller's) */
    FLOE_ERR_CORRUPT = 5,     /* compressed input is corrupt */
    FLOE_ERR_TRUNCATED = 6,   /* compressed input ends in the middle of a stream */
    FLOE_ERR_UNSUPPORTED = 7, /* a feature this build or machine does not have */
    FLOE_ERR_INTERRUPTED = 8  /* the caller asked the work to stop (a signal, say) */
} floe_status;

/* A short, static, human-readable name for a status ("out of memory", ...). */
const char *floe_status_str(floe_status status);

#endif
