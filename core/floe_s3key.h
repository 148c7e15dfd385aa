/* floe_s3key.h: what a flow-log file's path says about it, from the key layouts AWS writes.
 *
 *   default     AWSLogs/[<org>/]<acct>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>/[<hh>/]<file>
 *   hive        AWSLogs/[<org>/]aws-account-id=<acct>/aws-service=vpcflowlogs/
 *               aws-region=<region>/year=<yyyy>/month=<mm>/day=<dd>/[hour=<hh>/]<file>
 *               where <file> is <acct>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHmmZ>_<hash><ext>
 *   cloudwatch  exportedlogs/<task>/<log-stream>/<nnnnnn><ext>   (CreateExportTask output)
 *
 * Anything may come before the AWSLogs/ or exportedlogs/ component (a local directory, an
 * s3://bucket/prefix/); it is not looked at. The extension is not looked at either: the codec
 * is told by magic bytes, and users recompress.
 *
 * All or nothing: a path is recognised only when every component has its exact syntax and the
 * copies agree (the account and region of the folders equal those of the file name, the date
 * and hour folders equal the file name's time). Otherwise the layout is
 * FLOE_S3KEY_UNRECOGNISED, every field is zero and `reason` says what failed first. We refuse
 * rather than keep half-trusted fields because callers use them to prune and group files by
 * account, region and time: a copied or hand-renamed file whose folders and name disagree is
 * exactly where a guess would put it in the wrong place. An unrecognised file is still read
 * (its records carry their own account and times); it just gets no metadata from its path.
 *
 * Results are (offset, length) spans into the caller's path: no copies, no allocation, and the
 * result stays valid wherever the path bytes are moved. The path needs no NUL, is never read
 * past path_len, and the work is linear in at most FLOE_S3KEY_PATH_MAX bytes, so any bytes at
 * all may be passed (fuzzing). Pure computation, no global state: safe from any thread. */
#ifndef FLOE_S3KEY_H
#define FLOE_S3KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longer paths are refused (FLOE_S3KEY_TOO_LONG): far above Linux's PATH_MAX and S3's
 * 1024-byte keys, and it bounds the work and lets spans be 32-bit. */
#define FLOE_S3KEY_PATH_MAX 65536

/* Bytes floe_s3key_format_time writes: "YYYYMMDDTHHmmZ" and its NUL. */
#define FLOE_S3KEY_TIME_LEN 15

/* Values are pinned (they may reach reports); add new ones at the end. */
typedef enum floe_s3key_layout {
    FLOE_S3KEY_UNRECOGNISED = 0,
    FLOE_S3KEY_DEFAULT = 1,
    FLOE_S3KEY_HIVE = 2,
    FLOE_S3KEY_CLOUDWATCH = 3
} floe_s3key_layout;

/* Why a path was not recognised. Values are pinned; add new ones at the end. */
typedef enum floe_s3key_reason {
    FLOE_S3KEY_OK = 0,
    FLOE_S3KEY_NO_ANCHOR = 1,         /* no AWSLogs/ or exportedlogs/ close enough above the file */
    FLOE_S3KEY_TOO_LONG = 2,          /* path_len > FLOE_S3KEY_PATH_MAX */
    FLOE_S3KEY_BAD_DEPTH = 3,         /* too few or too many folders below the anchor */
    FLOE_S3KEY_BAD_ORG_ID = 4,        /* a folder starting "o-" that is not o-[a-z0-9]{10,32} */
    FLOE_S3KEY_BAD_ACCOUNT = 5,       /* account folder not 12 digits (or aws-account-id=...) */
    FLOE_S3KEY_BAD_SERVICE = 6,       /* not vpcflowlogs (or aws-service=vpcflowlogs) */
    FLOE_S3KEY_BAD_REGION = 7,        /* region folder not like us-east-1 */
    FLOE_S3KEY_BAD_DATE_FOLDER = 8,   /* year/month/day/hour folders malformed or no such date */
    FLOE_S3KEY_BAD_FILE_NAME = 9,     /* file name not <acct>_vpcflowlogs_<region>_..._<hash> */
    FLOE_S3KEY_BAD_FLOW_LOG_ID = 10,  /* file name's flow-log id not fl-[a-z0-9]{8,32} */
    FLOE_S3KEY_BAD_TIME = 11,         /* file name's YYYYMMDDTHHmmZ malformed or no such time */
    FLOE_S3KEY_ACCOUNT_MISMATCH = 12, /* folder and file name name different accounts */
    FLOE_S3KEY_REGION_MISMATCH = 13,  /* folder and file name name different regions */
    FLOE_S3KEY_DATE_MISMATCH = 14,    /* date (or hour) folders differ from the file's time */
    FLOE_S3KEY_BAD_EXPORT = 15        /* CloudWatch task, log stream or chunk name malformed */
} floe_s3key_reason;

/* A piece of the path: path[off, off + len). len == 0: absent. */
typedef struct floe_s3key_span {
    uint32_t off;
    uint32_t len;
} floe_s3key_span;

typedef struct floe_s3key {
    floe_s3key_layout layout;
    floe_s3key_reason reason;     /* FLOE_S3KEY_OK exactly when layout is recognised */
    bool hourly;                  /* S3 layouts: an hour folder (<hh>/ or hour=<hh>/) is present */
    bool has_time;                /* S3 layouts: `time` is set (CloudWatch file names carry none) */
    int64_t time;                 /* the file name's YYYYMMDDTHHmmZ, Unix seconds UTC */
    floe_s3key_span anchor;       /* the AWSLogs or exportedlogs component; before it: prefix */
    floe_s3key_span org_id;       /* "o-..." when the organisation folder is present */
    floe_s3key_span account;      /* 12 digits (the folder's; the file name's is equal) */
    floe_s3key_span region;       /* "us-east-1" (the folder's; the file name's is equal) */
    floe_s3key_span flow_log_id;  /* "fl-..." */
    floe_s3key_span hash;         /* the file name's hash, before the extension */
    floe_s3key_span task;         /* CloudWatch: export task id */
    floe_s3key_span log_stream;   /* CloudWatch: log stream name ("eni-...-all") */
    floe_s3key_span interface_id; /* CloudWatch: "eni-..." when the stream name starts with it */
    floe_s3key_span file_name;    /* the last component, extension included */
} floe_s3key;

/* Reads the layout of path[0, path_len) into *out and returns out->layout. path may be NULL
 * when path_len is 0. Never fails in any other way: unrecognised paths are a result. */
floe_s3key_layout floe_s3key_parse(const char *path, size_t path_len, floe_s3key *out);

/* The span's first byte in the path the result came from. */
static inline const char *floe_s3key_at(const char *path, floe_s3key_span span) {
    return path + span.off;
}

/* Writes unix_seconds (rounded down to the minute) as "YYYYMMDDTHHmmZ" with a NUL into buf,
 * the spelling of the file names. Returns 14, or 0 (buf untouched) when buf_len <
 * FLOE_S3KEY_TIME_LEN or the time is outside years 1970..9999. */
size_t floe_s3key_format_time(int64_t unix_seconds, char *buf, size_t buf_len);

/* "default", "hive", "cloudwatch" (as floe-gen --layout spells them) or "unrecognised". */
const char *floe_s3key_layout_name(floe_s3key_layout layout);

/* A short, static description of a reason ("account folder differs from file name", ...). */
const char *floe_s3key_reason_str(floe_s3key_reason reason);

#endif
