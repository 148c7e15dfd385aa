/* floe_parse.h: the flow-log record parser.
 *
 * Zero-copy: it scans a caller's buffer holding many lines, finds delimiters with the SIMD
 * scan (floe_scan.h) and writes typed values into a columnar batch (floe_batch.h); string
 * fields become slices into the buffer. A header line (field names) sets the column order for
 * the lines after it, wherever it appears, so concatenated files with different formats parse.
 * A line that does not fit is reported (line number, reason, column) and skipped; parsing goes
 * on. The parser keeps no pointer into the buffer between calls.
 *
 * Typical use, per input stream (one file):
 *     floe_parser_init(&parser, &options);
 *     while (more input) {
 *         floe_parse(&parser, buf, len, at_eof, &batch, &consumed);
 *         ... use batch (batch.count rows) ...
 *         keep buf[consumed..len) (a partial line) in front of the next input
 *     }
 */
#ifndef FLOE_PARSE_H
#define FLOE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_batch.h"
#include "floe_field.h"
#include "floe_scan.h"
#include "floe_status.h"

/* Most columns a format may have (known and unknown names together). */
#define FLOE_MAX_COLUMNS 96

/* The field order of a format. Unknown names are kept as FLOE_F_UNKNOWN and skipped. */
typedef struct floe_format {
    uint16_t ncols;
    uint8_t version;                 /* highest version among the known fields */
    uint64_t present;                /* bit f set: known field f is a column */
    uint8_t field[FLOE_MAX_COLUMNS]; /* floe_field per column */
} floe_format;

/* Parses a space-separated list of field names ("version srcaddr ..."). A repeated known
 * field is an error (FLOE_ERR_FORMAT); unknown names are allowed and reported as unknown. */
floe_status floe_format_parse(const char *text, size_t text_len, floe_format *out);
/* The default format (version 2, 14 fields). */
void floe_format_default(floe_format *out);
bool floe_format_equal(const floe_format *a, const floe_format *b);

/* Why a line was skipped. Values are pinned (they reach reports and tests). */
typedef enum floe_bad_reason {
    FLOE_BAD_FIELD_COUNT = 0, /* more or fewer fields than the format has */
    FLOE_BAD_NUMBER = 1,      /* not a decimal number */
    FLOE_BAD_RANGE = 2,       /* a number too large for its field (port > 65535, ...) */
    FLOE_BAD_ADDR = 3,        /* not an IPv4 or IPv6 address */
    FLOE_BAD_ENUM = 4,        /* not one of the field's words (ACCEPT/REJECT, ...) */
    FLOE_BAD_TIMESTAMP = 5,   /* CloudWatch export line without its ISO-8601 prefix */
    FLOE_BAD_HEADER = 6,      /* a header line that repeats a field or has too many columns */
    FLOE_BAD_TOO_LONG = 7,    /* a line longer than the reader's limit (reported by callers) */
    FLOE_BAD_REASON_COUNT
} floe_bad_reason;

const char *floe_bad_reason_str(floe_bad_reason reason);

typedef struct floe_bad_line {
    uint64_t line_no; /* 1-based, in the stream */
    floe_bad_reason reason;
    int column;             /* 0-based column of the offending value, or -1 */
    floe_field field;       /* its field, or FLOE_F_UNKNOWN */
    uint16_t fields_seen;   /* values on the line (for FLOE_BAD_FIELD_COUNT) */
    uint16_t fields_wanted; /* columns in the format */
    floe_slice text;        /* the line itself; valid only during the callback */
} floe_bad_line;

typedef enum floe_line_mode {
    FLOE_LINES_S3 = 0,        /* files as S3 delivers them: header line, then records */
    FLOE_LINES_CLOUDWATCH = 1 /* CloudWatch Logs export: "<ISO-8601> <record>", no header */
} floe_line_mode;

typedef struct floe_parse_options {
    floe_line_mode mode;
    const floe_format *format; /* format before any header (NULL: the default format) */
    floe_simd simd;            /* scan implementation; use floe_scan_default_level() */
    /* Called for every skipped line. Optional. */
    void (*on_bad_line)(void *ctx, const floe_bad_line *bad);
    /* Called once per parser for each distinct unknown field name in a header. Optional. */
    void (*on_unknown_field)(void *ctx, floe_slice name, uint64_t line_no);
    void *ctx;
} floe_parse_options;

typedef struct floe_parse_stats {
    uint64_t lines;   /* lines seen, blank and bad included */
    uint64_t records; /* lines that became a batch row */
    uint64_t headers; /* header lines (the first one too) */
    uint64_t blank_lines;
    uint64_t bad_lines;
    uint64_t bad_by_reason[FLOE_BAD_REASON_COUNT];
} floe_parse_stats;

#define FLOE_MAX_UNKNOWN_NAMES    16
#define FLOE_MAX_UNKNOWN_NAME_LEN 64

typedef struct floe_parser {
    floe_parse_options options;
    floe_format format;
    floe_simd simd; /* the scan the parser really runs (options.simd capped by the CPU) */
    floe_parse_stats stats;
    /* Unknown names already announced, so each is reported once. */
    uint8_t unknown_count;
    uint8_t unknown_len[FLOE_MAX_UNKNOWN_NAMES];
    char unknown_names[FLOE_MAX_UNKNOWN_NAMES][FLOE_MAX_UNKNOWN_NAME_LEN];
} floe_parser;

void floe_parser_init(floe_parser *parser, const floe_parse_options *options);

/* Parses whole lines of buf[0..len) into batch, which it first empties and sets up for the
 * current format. Returns after the last complete line, or earlier when the batch is full or
 * a header changed the format after rows were added (the batch then holds the old format's
 * rows). *consumed is the number of bytes parsed; the caller keeps buf[*consumed..len) and
 * calls again. With at_eof, a final line without '\n' is parsed too.
 * Fails only with FLOE_ERR_NOMEM (batch columns), or FLOE_ERR_INVALID for a buffer within 128
 * bytes of 4 GiB or larger (offsets are 32-bit; hand over smaller pieces). */
floe_status floe_parse(floe_parser *parser, const char *buf, size_t len, bool at_eof,
                       floe_batch *batch, size_t *consumed);

/* Counts and reports a line the caller had to drop unseen (e.g. FLOE_BAD_TOO_LONG). */
void floe_parser_skip_line(floe_parser *parser, floe_bad_reason reason, floe_slice text);

#endif
