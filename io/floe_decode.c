#include "floe_decode.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

/* zstd's own default window limit, set explicitly so the memory bound is ours to state. */
#define ZSTD_WINDOW_LOG_MAX 27

/* Where the decoder is between calls. Gzip and zstd share the boundary states: a stream is a
 * sequence of members (frames), optionally followed by zero bytes (padding some writers and
 * block devices leave), and nothing else. */
typedef enum decode_state {
    STATE_IDLE,     /* no stream started */
    STATE_MEMBER,   /* inside a gzip member, a zstd frame, or plain text */
    STATE_BOUNDARY, /* a member / frame just ended; the next byte decides what follows */
    STATE_PADDING,  /* zeros after the last member; only zeros may follow */
    STATE_FINISHED,
    STATE_FAILED
} decode_state;

/* A gzip member header (RFC 1952 section 2.3), read by floe rather than by ISA-L so that a
 * header split across calls (a long file name at a read boundary) is read correctly and a bad
 * magic number is reported at its exact byte. */
typedef enum gzip_header_phase {
    GZ_FIXED,     /* the 10 fixed bytes: magic, method, flags, mtime, xfl, os */
    GZ_EXTRA_LEN, /* FEXTRA: 2-byte length */
    GZ_EXTRA,     /* FEXTRA: that many bytes */
    GZ_NAME,      /* FNAME: up to a zero byte */
    GZ_COMMENT,   /* FCOMMENT: up to a zero byte */
    GZ_HCRC,      /* FHCRC: low 16 bits of the CRC-32 of the header so far */
    GZ_DONE
} gzip_header_phase;

/* Header flag bits (FTEXT, bit 0, is only a hint and is ignored). */
enum { GZ_FHCRC = 2, GZ_FEXTRA = 4, GZ_FNAME = 8, GZ_FCOMMENT = 16 };

typedef struct gzip_header {
    gzip_header_phase phase;
    uint8_t flags;
    uint8_t got;       /* bytes of the current fixed-size field read so far */
    uint8_t field[10]; /* the fixed bytes, the extra length or the header CRC */
    uint32_t extra_left;
    uint32_t crc; /* CRC-32 of the header bytes so far (for FHCRC) */
} gzip_header;

struct floe_decoder {
    floe_codec codec;
    gzip_header header; /* of the gzip member being read */
    decode_state state;
    floe_status error; /* when STATE_FAILED */
    uint64_t in_total;
    uint64_t out_total;
    uint64_t members;
    uint64_t error_offset;
    ZSTD_DStream *zstd;           /* created on first zstd stream, reused after */
    struct inflate_state inflate; /* ~ 85 KiB: why the decoder lives on the heap */
};

const char *floe_codec_name(floe_codec codec) {
    switch (codec) {
    case FLOE_CODEC_PLAIN:
        return "plain";
    case FLOE_CODEC_GZIP:
        return "gzip";
    case FLOE_CODEC_ZSTD:
        return "zstd";
    case FLOE_CODEC_COUNT:
        break;
    }
    return "unknown";
}

floe_codec floe_codec_detect(const uint8_t *first_bytes, size_t n) {
    if (n >= 2 && first_bytes[0] == 0x1f && first_bytes[1] == 0x8b) return FLOE_CODEC_GZIP;
    if (n >= 4 && first_bytes[0] == 0x28 && first_bytes[1] == 0xb5 && first_bytes[2] == 0x2f &&
        first_bytes[3] == 0xfd)
        return FLOE_CODEC_ZSTD;
    /* A zstd skippable frame (magic 0x184D2A50..5F, little-endian), which pzstd puts before
     * every frame. */
    if (n >= 4 && (first_bytes[0] & 0xf0) == 0x50 && first_bytes[1] == 0x2a &&
        first_bytes[2] == 0x4d && first_bytes[3] == 0x18)
        return FLOE_CODEC_ZSTD;
    return FLOE_CODEC_PLAIN;
}

floe_decoder *floe_decoder_new(void) {
    floe_decoder *dec = calloc(1, sizeof(*dec));
    if (dec == NULL) return NULL;
    dec->state = STATE_IDLE;
    return dec;
}

void floe_decoder_free(floe_decoder *dec) {
    if (dec == NULL) return;
    ZSTD_freeDStream(dec->zstd);
    free(dec);
}

static void gzip_new_member(floe_decoder *dec) {
    memset(&dec->header, 0, sizeof(dec->header));
    dec->header.phase = GZ_FIXED;
    /* Wiped, not just reset: ISA-L accepts a corrupt back-reference reaching before the start
     * of the member and copies from its history buffer, which a reset keeps. Zeroed history
     * makes such damage decode the same whatever this decoder read before (another file, on
     * another worker), so results cannot depend on which worker got which file. */
    memset(&dec->inflate, 0, sizeof(dec->inflate));
    isal_inflate_init(&dec->inflate);
    /* Set after every reset: floe reads the header itself (gzip_read_header); ISA-L inflates
     * the deflate data and checks the trailer's CRC-32 and length. hist_bits 0 = the full
     * 32 KiB window. */
    dec->inflate.crc_flag = ISAL_GZIP_NO_HDR_VER;
    dec->inflate.hist_bits = 0;
}

floe_status floe_decoder_start(floe_decoder *dec, const uint8_t *first_bytes, size_t n) {
    if (dec == NULL || (first_bytes == NULL && n > 0)) return FLOE_ERR_INVALID;
    dec->codec = floe_codec_detect(first_bytes, n);
    dec->state = STATE_MEMBER;
    dec->error = FLOE_OK;
    dec->in_total = 0;
    dec->out_total = 0;
    dec->members = 0;
    dec->error_offset = 0;
    switch (dec->codec) {
    case FLOE_CODEC_GZIP:
        gzip_new_member(dec);
        break;
    case FLOE_CODEC_ZSTD:
        if (dec->zstd == NULL) {
            dec->zstd = ZSTD_createDStream();
            if (dec->zstd == NULL) {
                dec->state = STATE_IDLE;
                return FLOE_ERR_NOMEM;
            }
        }
        ZSTD_DCtx_reset(dec->zstd, ZSTD_reset_session_and_parameters);
        ZSTD_DCtx_setParameter(dec->zstd, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX);
        break;
    case FLOE_CODEC_PLAIN:
    case FLOE_CODEC_COUNT:
        break;
    }
    return FLOE_OK;
}

floe_codec floe_decoder_codec(const floe_decoder *dec) {
    return dec->codec;
}
uint64_t floe_decoder_in_total(const floe_decoder *dec) {
    return dec->in_total;
}
uint64_t floe_decoder_out_total(const floe_decoder *dec) {
    return dec->out_total;
}
uint64_t floe_decoder_members(const floe_decoder *dec) {
    return dec->members;
}
uint64_t floe_decoder_error_offset(const floe_decoder *dec) {
    return dec->error_offset;
}

/* ---- one run ------------------------------------------------------------------------------ */

/* The buffers of one floe_decoder_run call and how far it got in each. */
typedef struct decode_run {
    const uint8_t *in;
    size_t in_len;
    size_t in_used;
    uint8_t *out;
    size_t out_cap;
    size_t out_written;
    bool in_last;
} decode_run;

static floe_status fail(floe_decoder *dec, floe_status error, uint64_t offset) {
    dec->state = STATE_FAILED;
    dec->error = error;
    dec->error_offset = offset;
    return error;
}

static void advance(floe_decoder *dec, decode_run *run, size_t in_bytes, size_t out_bytes) {
    run->in_used += in_bytes;
    run->out_written += out_bytes;
    dec->in_total += in_bytes;
    dec->out_total += out_bytes;
}

/* ISA-L counts in uint32_t; larger buffers are simply fed in pieces. */
static uint32_t clamp_u32(size_t n) {
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* At a boundary, or in padding: decides what the next input bytes are. Returns FLOE_OK with
 * dec->state updated (STATE_MEMBER when a new member starts), or an error. */
static floe_status after_member(floe_decoder *dec, decode_run *run) {
    if (dec->state == STATE_BOUNDARY) {
        uint8_t first = run->in[run->in_used];
        if (first == 0) {
            dec->state = STATE_PADDING;
        } else if (dec->codec == FLOE_CODEC_GZIP) {
            gzip_new_member(dec); /* gzip_read_header checks the magic, byte by byte */
            dec->state = STATE_MEMBER;
            return FLOE_OK;
        } else if (dec->codec == FLOE_CODEC_ZSTD && first != 0) {
            /* zstd starts the next frame by itself (skippable frames included) and rejects a
             * bad magic number as corrupt. */
            dec->state = STATE_MEMBER;
            return FLOE_OK;
        } else {
            return fail(dec, FLOE_ERR_CORRUPT, dec->in_total);
        }
    }
    const uint8_t *rest = run->in + run->in_used;
    size_t rest_len = run->in_len - run->in_used;
    for (size_t i = 0; i < rest_len; i++)
        if (rest[i] != 0) {
            advance(dec, run, i, 0);
            return fail(dec, FLOE_ERR_CORRUPT, dec->in_total);
        }
    advance(dec, run, rest_len, 0);
    return FLOE_OK;
}

static uint32_t le16(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/* Reads as much of a gzip member header as the input holds. Returns FLOE_OK (the header may
 * still be incomplete: dec->header.phase says) or FLOE_ERR_CORRUPT at the exact offending byte
 * (not gzip magic, not deflate, reserved flags, header CRC mismatch). */
static floe_status gzip_read_header(floe_decoder *dec, decode_run *run) {
    gzip_header *h = &dec->header;
    while (h->phase != GZ_DONE && run->in_used < run->in_len) {
        uint8_t byte = run->in[run->in_used];
        uint64_t offset = dec->in_total;
        if (h->phase != GZ_HCRC) h->crc = libdeflate_crc32(h->crc, &byte, 1);
        advance(dec, run, 1, 0);
        switch (h->phase) {
        case GZ_FIXED:
            h->field[h->got++] = byte;
            if ((h->got == 1 && byte != 0x1f) || (h->got == 2 && byte != 0x8b) ||
                (h->got == 3 && byte != 8 /* deflate */) || (h->got == 4 && (byte & 0xe0) != 0))
                return fail(dec, FLOE_ERR_CORRUPT, offset);
            if (h->got < 10) break;
            h->flags = h->field[3];
            h->got = 0;
            h->phase = GZ_EXTRA_LEN;
            break;
        case GZ_EXTRA_LEN:
            h->field[h->got++] = byte;
            if (h->got < 2) break;
            h->extra_left = le16(h->field);
            h->got = 0;
            h->phase = GZ_EXTRA;
            break;
        case GZ_EXTRA:
            h->extra_left--;
            break;
        case GZ_NAME:
        case GZ_COMMENT:
            if (byte == 0) h->phase++;
            break;
        case GZ_HCRC:
            h->field[h->got++] = byte;
            if (h->got < 2) break;
            if (le16(h->field) != (h->crc & 0xffff)) return fail(dec, FLOE_ERR_CORRUPT, offset - 1);
            h->phase = GZ_DONE;
            break;
        case GZ_DONE:
            break;
        }
        /* Skip the optional parts the flags do not announce. */
        if (h->phase == GZ_EXTRA_LEN && !(h->flags & GZ_FEXTRA)) h->phase = GZ_NAME;
        if (h->phase == GZ_EXTRA && h->extra_left == 0) h->phase = GZ_NAME;
        if (h->phase == GZ_NAME && !(h->flags & GZ_FNAME)) h->phase = GZ_COMMENT;
        if (h->phase == GZ_COMMENT && !(h->flags & GZ_FCOMMENT)) h->phase = GZ_HCRC;
        if (h->phase == GZ_HCRC && !(h->flags & GZ_FHCRC)) h->phase = GZ_DONE;
    }
    return FLOE_OK;
}

/* Decodes inside one gzip member until it ends, input runs out or output is full. */
static floe_status gzip_member(floe_decoder *dec, decode_run *run) {
    if (dec->header.phase != GZ_DONE) {
        floe_status status = gzip_read_header(dec, run);
        if (status != FLOE_OK || dec->header.phase != GZ_DONE) return status;
    }
    struct inflate_state *state = &dec->inflate;
    for (;;) {
        uint8_t *in_start = (uint8_t *)(uintptr_t)(run->in + run->in_used);
        uint8_t *out_start = run->out + run->out_written;
        state->next_in = in_start;
        state->avail_in = clamp_u32(run->in_len - run->in_used);
        state->next_out = out_start;
        state->avail_out = clamp_u32(run->out_cap - run->out_written);
        int ret = isal_inflate(state);
        /* ISA-L reads input 8 bytes at a time but hands back what it did not use when a
         * member ends, so next_in is exact at member boundaries. */
        size_t in_bytes = (size_t)(state->next_in - in_start);
        size_t out_bytes = (size_t)(state->next_out - out_start);
        advance(dec, run, in_bytes, out_bytes);
        if (ret != ISAL_DECOMP_OK) return fail(dec, FLOE_ERR_CORRUPT, dec->in_total);
        if (state->block_state == ISAL_BLOCK_FINISH) {
            dec->members++;
            dec->state = STATE_BOUNDARY;
            return FLOE_OK;
        }
        if (run->out_written == run->out_cap || run->in_used == run->in_len) return FLOE_OK;
        /* Room on both sides yet no progress would spin forever; ISA-L never does this. */
        if (in_bytes == 0 && out_bytes == 0) return fail(dec, FLOE_ERR_CORRUPT, dec->in_total);
    }
}

static floe_status zstd_error(floe_decoder *dec, size_t ret) {
    switch (ZSTD_getErrorCode(ret)) {
    case ZSTD_error_memory_allocation:
        return fail(dec, FLOE_ERR_NOMEM, dec->in_total);
    case ZSTD_error_frameParameter_windowTooLarge:
        return fail(dec, FLOE_ERR_UNSUPPORTED, dec->in_total);
    default:
        return fail(dec, FLOE_ERR_CORRUPT, dec->in_total);
    }
}

/* Decodes inside one zstd frame until it ends, input runs out or output is full. */
static floe_status zstd_frame(floe_decoder *dec, decode_run *run) {
    for (;;) {
        ZSTD_inBuffer in = {run->in + run->in_used, run->in_len - run->in_used, 0};
        ZSTD_outBuffer out = {run->out + run->out_written, run->out_cap - run->out_written, 0};
        size_t ret = ZSTD_decompressStream(dec->zstd, &out, &in);
        advance(dec, run, in.pos, out.pos);
        if (ZSTD_isError(ret)) return zstd_error(dec, ret);
        if (ret == 0) { /* frame decoded and flushed; zstd stops exactly at its end */
            dec->members++;
            dec->state = STATE_BOUNDARY;
            return FLOE_OK;
        }
        if (run->out_written == run->out_cap || run->in_used == run->in_len) return FLOE_OK;
        if (in.pos == 0 && out.pos == 0) return fail(dec, FLOE_ERR_CORRUPT, dec->in_total);
    }
}

static void plain_copy(floe_decoder *dec, decode_run *run) {
    size_t n = run->in_len - run->in_used;
    if (n > run->out_cap - run->out_written) n = run->out_cap - run->out_written;
    memcpy(run->out + run->out_written, run->in + run->in_used, n);
    advance(dec, run, n, n);
}

static floe_status decode(floe_decoder *dec, decode_run *run) {
    for (;;) {
        bool in_empty = run->in_used == run->in_len;
        switch (dec->state) {
        case STATE_MEMBER: {
            if (dec->codec == FLOE_CODEC_PLAIN) {
                plain_copy(dec, run);
                if (run->in_used < run->in_len) return FLOE_OK; /* out is full */
                if (run->in_last) dec->state = STATE_FINISHED;
                return FLOE_OK;
            }
            floe_status status =
                dec->codec == FLOE_CODEC_GZIP ? gzip_member(dec, run) : zstd_frame(dec, run);
            if (status != FLOE_OK) return status;
            if (dec->state == STATE_BOUNDARY) continue;
            /* Still inside the member. With output room left the libraries have flushed
             * all they can, so input that has ended ends the member too early. */
            if (run->out_written < run->out_cap && run->in_used == run->in_len && run->in_last)
                return fail(dec, FLOE_ERR_TRUNCATED, dec->in_total);
            return FLOE_OK;
        }
        case STATE_BOUNDARY:
        case STATE_PADDING:
            if (in_empty) {
                if (run->in_last) dec->state = STATE_FINISHED;
                return FLOE_OK;
            }
            if (after_member(dec, run) != FLOE_OK) return dec->error;
            continue;
        case STATE_FINISHED:
            return FLOE_OK;
        case STATE_FAILED:
            return dec->error;
        case STATE_IDLE:
            return FLOE_ERR_INVALID;
        }
    }
}

floe_status floe_decoder_run(floe_decoder *dec, const uint8_t *in, size_t in_len, bool in_last,
                             size_t *in_used, uint8_t *out, size_t out_cap, size_t *out_written,
                             bool *finished) {
    *in_used = 0;
    *out_written = 0;
    *finished = false;
    if (dec == NULL || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0))
        return FLOE_ERR_INVALID;
    decode_run run = {in, in_len, 0, out, out_cap, 0, in_last};
    floe_status status = decode(dec, &run);
    *in_used = run.in_used;
    *out_written = run.out_written;
    *finished = dec->state == STATE_FINISHED;
    return status;
}
