/* floe_decode.h: a streaming decoder for flow-log files: gzip (one or more members), zstd (one
 * or more frames) or plain text, chosen by the first bytes of the file, not by its name.
 *
 * Bytes in, bytes out: the decoder does no file I/O and has no global state, so one decoder per
 * worker thread can be driven by any reader. Memory is bounded and independent of the file
 * size: ISA-L's inflate state (~ 85 KiB) for gzip; for zstd the frame's window, capped at
 * 2^27 bytes (128 MiB, zstd's own default limit; a frame asking for more is
 * FLOE_ERR_UNSUPPORTED). Plain text is copied through.
 *
 * Typical use, per file:
 *     floe_decoder_start(dec, first_bytes, n);   // n >= FLOE_DECODE_MAGIC_LEN unless the file
 *                                                 // is shorter
 *     do {
 *         floe_decoder_run(dec, in, in_len, in_last, &in_used, out, out_cap, &out_written,
 *                          &finished);
 *         ... use out[0..out_written), even when the call failed ...
 *         ... advance in by in_used; refill in when in_used == in_len ...
 *     } while (!finished && status == FLOE_OK);
 *
 * Errors: FLOE_ERR_CORRUPT (bad data, a bad checksum, or something other than a new member /
 * frame or zero padding after one), FLOE_ERR_TRUNCATED (the input ended inside a member or
 * frame), FLOE_ERR_UNSUPPORTED (a zstd window above the limit), FLOE_ERR_NOMEM. Everything
 * decoded before the error has been written to out by the failing call or earlier ones, and
 * floe_decoder_error_offset() says where in the compressed input the decoder stopped. */
#ifndef FLOE_DECODE_H
#define FLOE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_status.h"

/* Values are pinned (they reach reports and tests). */
typedef enum floe_codec {
    FLOE_CODEC_PLAIN = 0,
    FLOE_CODEC_GZIP = 1,
    FLOE_CODEC_ZSTD = 2,
    FLOE_CODEC_COUNT
} floe_codec;

/* Bytes floe_codec_detect needs to tell every codec apart (zstd's magic is 4 bytes). */
#define FLOE_DECODE_MAGIC_LEN 4

/* "plain", "gzip", "zstd". */
const char *floe_codec_name(floe_codec codec);

/* The codec of a stream that starts with first_bytes[0..n). Anything that is neither the gzip
 * magic (1f 8b) nor the zstd magic (28 b5 2f fd) is plain text, including a stream shorter
 * than its magic. */
floe_codec floe_codec_detect(const uint8_t *first_bytes, size_t n);

typedef struct floe_decoder floe_decoder;

/* NULL when out of memory. The decoder is idle until floe_decoder_start. */
floe_decoder *floe_decoder_new(void);
void floe_decoder_free(floe_decoder *dec);

/* Starts a new stream (resetting any previous one): detects the codec from first_bytes, which
 * the caller still passes to floe_decoder_run afterwards (nothing is consumed here). */
floe_status floe_decoder_start(floe_decoder *dec, const uint8_t *first_bytes, size_t n);

/* Decodes from in[0..in_len) into out[0..out_cap). in_last says no input follows in[in_len).
 * Returns after all input is used (when in_last is false), when out is full, at the end of the
 * stream (*finished set) or at an error. *in_used and *out_written are set on every return,
 * errors included. Once finished or failed, further calls change nothing and return the same
 * status. */
floe_status floe_decoder_run(floe_decoder *dec, const uint8_t *in, size_t in_len, bool in_last,
                             size_t *in_used, uint8_t *out, size_t out_cap, size_t *out_written,
                             bool *finished);

floe_codec floe_decoder_codec(const floe_decoder *dec);
/* Compressed bytes consumed since floe_decoder_start. */
uint64_t floe_decoder_in_total(const floe_decoder *dec);
/* Decoded bytes produced since floe_decoder_start. */
uint64_t floe_decoder_out_total(const floe_decoder *dec);
/* gzip members or zstd frames decoded completely so far (0 for plain text). */
uint64_t floe_decoder_members(const floe_decoder *dec);
/* After an error: the offset in the compressed stream where decoding stopped. For a bad gzip
 * header, garbage after a member and truncation it is exact (the first bad byte, the stream's
 * length). Inside compressed data it is where the damage was noticed, which can be far past
 * it: deflate data damaged without breaking its structure decodes to wrong text until the
 * member's CRC-32 at its end fails, and that wrong text has already been delivered (its lines
 * mostly fail to parse and are counted as bad). */
uint64_t floe_decoder_error_offset(const floe_decoder *dec);

#endif
