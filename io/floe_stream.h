/* floe_stream.h: one file's "compressed bytes in -> parsed batches out" path, driven by
 * whoever has the bytes (a read() loop, the io_uring reader's chunks).
 *
 * A stream owns everything one file needs while it is decoded: the decoder, a text buffer that
 * keeps the unfinished last line in front of the next decoded step, the parser and a batch.
 * The caller pushes the file's bytes in order, in chunks of any size; each parsed batch goes
 * to the caller's on_batch callback. A line longer than max_line is reported as
 * FLOE_BAD_TOO_LONG and skipped up to its newline, whatever the chunking, so results do not
 * depend on buffer or read sizes.
 *
 * Problems with the file never stop the run: a decode error or bad lines are recorded in the
 * file's floe_totals and the stream just ignores the rest of the file. A file of no bytes at
 * all is recorded as a file failure (FLOE_FILE_EMPTY). Records decoded before a
 * decode or read error count; the unfinished line the error cut off is dropped (not parsed, not
 * counted as bad), because a cut line can still look like a valid but wrong record.
 *
 * The decoder gets the compressed bytes in 256 KiB pieces at fixed offsets of the file, whatever
 * the chunks pushed, so what it salvages from a damaged file does not depend on them either.
 *
 * Memory: decode_size + at most max_line + the batch + 256 KiB, whatever the file size. A stream is used
 * by one thread at a time and handles one file at a time; reuse it for the next file. */
#ifndef FLOE_STREAM_H
#define FLOE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_decode.h"
#include "floe_parse.h"
#include "floe_status.h"
#include "floe_totals.h"

/* Receives each parsed batch; the batch and its string slices are valid only during the call.
 * A status other than FLOE_OK stops the stream and is returned by the feeding call. */
typedef floe_status (*floe_stream_batch_fn)(void *ctx, const floe_batch *batch);

typedef struct floe_stream_options {
    floe_line_mode mode;
    const floe_format *format; /* before any header / for CloudWatch; NULL: default. Copied. */
    floe_simd simd;
    size_t decode_size;            /* decoded bytes per parse step (capped at max_line; <= 2 GiB) */
    size_t max_line;               /* longest line kept, bytes without its '\n'; <= 2 GiB */
    uint32_t batch_rows;           /* rows per parser batch */
    floe_stream_batch_fn on_batch; /* optional */
    void *ctx;
} floe_stream_options;

/* S3 mode, default format, best SIMD level, 1 MiB decode steps and line limit, 4096-row
 * batches, no callback. */
void floe_stream_options_default(floe_stream_options *options);

typedef struct floe_stream floe_stream;

/* Returns FLOE_ERR_NOMEM, FLOE_ERR_INVALID (a size of 0 or above 2 GiB), or FLOE_OK. */
floe_status floe_stream_new(const floe_stream_options *options, floe_stream **out);
void floe_stream_free(floe_stream *stream);

/* Starts a file. `first` holds its first bytes (at least FLOE_DECODE_MAGIC_LEN unless the file
 * is shorter), which pick the codec; they are not consumed: pass them to floe_stream_feed too.
 * path and file_index label what goes into totals (bad lines, failures); path must stay valid
 * until the file ends. Counts the file in totals (files, files_by_codec). */
floe_status floe_stream_begin(floe_stream *stream, const char *path, uint32_t file_index,
                              floe_totals *totals, const uint8_t *first, size_t first_len);

/* Pushes the file's next bytes; `last` says they end the file. After the last chunk (or after
 * floe_stream_cut) the file is finished: its parser counts are added to totals. Bytes pushed
 * after a decode error are counted as read but not decoded. Returns FLOE_OK, FLOE_ERR_NOMEM,
 * or the on_batch callback's status: all mean the run cannot go on. */
floe_status floe_stream_feed(floe_stream *stream, const uint8_t *in, size_t in_len, bool last);

/* Ends the file early because reading it failed with errno `err` (a file failure in totals);
 * a line the failure cut off is dropped. */
floe_status floe_stream_cut(floe_stream *stream, int err);

/* True between floe_stream_begin and the file's end. */
bool floe_stream_active(const floe_stream *stream);

#endif
