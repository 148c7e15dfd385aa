/* floe_totals.h: a run's input totals (files, bytes, records per action and log status, bad
 * lines with their places, decode and file failures), how partial totals merge, and the
 * single-threaded "read() a file -> floe_stream" loop behind `floe totals`.
 *
 * Every place recorded (a bad line, a failure, an unknown field) carries the index of its file
 * in the run's processing order. Workers each fill their own floe_totals; floe_totals_merge
 * combines them and sorts the places by (file index, line), so the merged totals, and the
 * "first N bad lines" kept, are the same whichever worker read which file.
 *
 * Problems with one file never stop the run: an unreadable file, a decode error or bad lines
 * are recorded in the totals and the next file goes on (see floe_stream.h for what a decode
 * error keeps). Not thread-safe: one floe_totals per thread until they are merged. */
#ifndef FLOE_TOTALS_H
#define FLOE_TOTALS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_decode.h"
#include "floe_parse.h"
#include "floe_status.h"

typedef struct floe_totals_options {
    floe_line_mode mode;
    const floe_format *format; /* before any header / for CloudWatch; NULL: default. Copied. */
    floe_simd simd;
    size_t read_size;        /* bytes per read() */
    size_t decode_size;      /* decoded bytes per parse step (capped at max_line; <= 2 GiB) */
    size_t max_line;         /* longest line kept, bytes without its '\n'; <= 2 GiB */
    uint32_t batch_rows;     /* rows per parser batch */
    uint32_t keep_bad_lines; /* how many bad lines to keep with their place */
} floe_totals_options;

/* S3 mode, default format, best SIMD level, 1 MiB reads / decode steps / line limit, 4096-row
 * batches, 10 bad lines kept. */
void floe_totals_options_default(floe_totals_options *options);

typedef struct floe_action_totals {
    uint64_t records;
    uint64_t packets; /* "-" counts as 0 */
    uint64_t bytes;   /* "-" counts as 0 */
} floe_action_totals;

/* One skipped line, kept for the report. */
typedef struct floe_bad_place {
    char *file; /* owned */
    uint32_t file_index;
    uint64_t line_no;
    floe_bad_reason reason;
    int column;       /* 0-based, or -1 */
    floe_field field; /* or FLOE_F_UNKNOWN */
    uint16_t fields_seen;
    uint16_t fields_wanted;
    char *excerpt;      /* owned: the line's first FLOE_BAD_EXCERPT_LEN bytes (any bytes, NUL
                           included), with a NUL after them */
    size_t excerpt_len; /* bytes in excerpt */
} floe_bad_place;

#define FLOE_BAD_EXCERPT_LEN 120

/* A header field name floe does not know, reported once per run. */
typedef struct floe_unknown_notice {
    char *name; /* owned */
    char *file; /* owned: where it was seen first */
    uint32_t file_index;
    uint64_t line_no;
} floe_unknown_notice;

/* A file whose compressed data failed; the records before the failure were counted. */
typedef struct floe_decode_failure {
    char *file; /* owned */
    uint32_t file_index;
    floe_codec codec;
    floe_status status; /* FLOE_ERR_CORRUPT, FLOE_ERR_TRUNCATED, FLOE_ERR_UNSUPPORTED */
    uint64_t offset;    /* in the compressed file; see floe_decoder_error_offset */
} floe_decode_failure;

/* The errno recorded for a file that got shorter while it was read: the bytes before the new
 * end counted, the line the end cut off did not. */
#define FLOE_FILE_SHRANK ENODATA

/* The err recorded for a file of no bytes at all (no errno has that meaning). AWS never
 * delivers one, gzip or not: an empty object is an interrupted copy or a placeholder, and it
 * holds no header to say even that the flow log was empty. Counted as unreadable, so --strict
 * fails on it. (A file with only its header is a well-formed file without records.) */
#define FLOE_FILE_EMPTY (-1)

/* A file that could not be opened or read to its end. */
typedef struct floe_file_failure {
    char *file; /* owned */
    uint32_t file_index;
    int err;     /* errno, FLOE_FILE_SHRANK or FLOE_FILE_EMPTY */
    bool opened; /* false: open() failed; true: a read() failed part way */
} floe_file_failure;

/* A file some of whose records the detectors left out as late (floe_detect.h, "lateness"):
 * they started more than the lateness before the hour of the file's S3 key time, so their
 * windows may already have been closed. They are still counted everywhere else. */
typedef struct floe_late_file {
    char *file; /* owned */
    uint32_t file_index;
    uint64_t records;
} floe_late_file;

typedef struct floe_totals {
    uint64_t files;                            /* files tried (failures included) */
    uint64_t files_by_codec[FLOE_CODEC_COUNT]; /* files opened, by detected codec */
    uint64_t members;                          /* gzip members + zstd frames decoded whole */
    uint64_t compressed_bytes;                 /* bytes read from files */
    uint64_t decoded_bytes;                    /* bytes of text after decoding */

    uint64_t lines; /* as the parser counts them: records, headers, blank and bad lines */
    uint64_t records;
    uint64_t headers;
    uint64_t blank_lines;
    uint64_t bad_lines;
    uint64_t bad_by_reason[FLOE_BAD_REASON_COUNT];
    uint64_t cut_lines; /* unfinished lines dropped after a decode or read error */

    /* Indexed by FLOE_ACTION_* (0 = "-" or no action column). */
    floe_action_totals by_action[3];
    /* Indexed by FLOE_LOG_STATUS_* (0 = "-" or no log-status column). */
    uint64_t by_log_status[4];

    uint32_t keep_bad_lines;
    floe_bad_place *bad_places; /* the first keep_bad_lines bad lines, in input order */
    size_t nbad_places;
    floe_unknown_notice *unknown;
    size_t nunknown;
    floe_decode_failure *decode_failures;
    size_t ndecode_failures;
    floe_file_failure *file_failures;
    size_t nfile_failures;
    uint64_t late_records;      /* left out of the detectors, late (floe_late_file) */
    floe_late_file *late_files; /* the first keep_bad_lines such files, in input order */
    size_t nlate_files;
} floe_totals;

void floe_totals_init(floe_totals *totals, uint32_t keep_bad_lines);
void floe_totals_free(floe_totals *totals);

/* Adds one parsed batch (counts per action and log-status). */
void floe_totals_add_batch(floe_totals *totals, const floe_batch *batch);
/* Adds a finished file's parser counts (lines, records, headers, blank and bad lines). */
void floe_totals_add_parse_stats(floe_totals *totals, const floe_parse_stats *stats);

/* Record a place. Each returns FLOE_OK or FLOE_ERR_NOMEM; paths and names are copied. A bad
 * line is kept only while fewer than keep_bad_lines are; an unknown name only once. */
floe_status floe_totals_note_bad_line(floe_totals *totals, const char *path, uint32_t file_index,
                                      const floe_bad_line *bad);
floe_status floe_totals_note_unknown(floe_totals *totals, floe_slice name, const char *path,
                                     uint32_t file_index, uint64_t line_no);
floe_status floe_totals_note_decode_failure(floe_totals *totals, const char *path,
                                            uint32_t file_index, floe_codec codec,
                                            floe_status error, uint64_t offset);
floe_status floe_totals_note_file_failure(floe_totals *totals, const char *path,
                                          uint32_t file_index, int err, bool opened);

/* `records` of one file were late for the detectors. */
floe_status floe_totals_note_late(floe_totals *totals, const char *path, uint32_t file_index,
                                  uint64_t records);
/* Adds `from` into `into` and empties `from` (its places move). Places end sorted by file
 * index and line; bad lines are cut to into->keep_bad_lines, unknown names kept once each
 * (their first place). Returns FLOE_OK or FLOE_ERR_NOMEM. */
floe_status floe_totals_merge(floe_totals *into, floe_totals *from);

typedef struct floe_totals_worker floe_totals_worker;

/* Returns FLOE_ERR_NOMEM, FLOE_ERR_INVALID (a size of 0), or FLOE_OK with *out set. */
floe_status floe_totals_worker_new(const floe_totals_options *options, floe_totals_worker **out);
void floe_totals_worker_free(floe_totals_worker *worker);

/* Reads, decodes and parses one file into totals. Problems with the file are recorded in
 * totals and still return FLOE_OK; only FLOE_ERR_NOMEM means the run cannot go on. */
floe_status floe_totals_add_file(floe_totals_worker *worker, const char *path, floe_totals *totals);

#endif
