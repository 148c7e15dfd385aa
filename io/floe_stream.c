#include "floe_stream.h"

#include <stdlib.h>
#include <string.h>

#define MIB ((size_t)1 << 20)

/* The decoder is handed a file's compressed bytes in pieces that start at multiples of
 * IN_PIECE, however the caller read them: what it salvages before an error in corrupt data
 * depends on where its input ended (ISA-L and zstd emit what they decoded up to the end of the
 * input they were given), so with the reads' own boundaries the records counted from a damaged
 * file changed with --read-size. Reads of a multiple of IN_PIECE are handed on in place; a
 * piece that spans reads is put together in `stage` first. */
#define IN_PIECE ((size_t)256 << 10)

void floe_stream_options_default(floe_stream_options *options) {
    memset(options, 0, sizeof(*options));
    options->mode = FLOE_LINES_S3;
    options->simd = floe_scan_default_level();
    options->decode_size = MIB;
    options->max_line = MIB;
    options->batch_rows = 4096;
}

struct floe_stream {
    floe_stream_options options;
    floe_format format; /* options.format points here when the caller gave one */
    floe_decoder *decoder;
    floe_batch batch;
    floe_parser parser;

    char *text;      /* decoded text: a carried unfinished line, then fresh bytes */
    size_t text_cap; /* grows up to max_line + decode_size */
    size_t text_len;
    bool skipping; /* inside a too-long line: drop text up to the next '\n' */

    uint8_t *stage;  /* IN_PIECE bytes: the start of a piece that spans reads */
    size_t staged;   /* bytes in it */
    uint64_t in_pos; /* the file's bytes taken so far (handed on, or staged); 0: none pushed */

    /* The file being read. */
    bool active;
    bool failed; /* a decode error ended decoding; later bytes are only counted */
    const char *path;
    uint32_t file_index;
    floe_totals *totals;
    floe_status callback_status; /* FLOE_ERR_NOMEM from a parser callback */
};

static void on_bad_line(void *ctx, const floe_bad_line *bad) {
    floe_stream *s = ctx;
    if (floe_totals_note_bad_line(s->totals, s->path, s->file_index, bad) != FLOE_OK)
        s->callback_status = FLOE_ERR_NOMEM;
}

static void on_unknown_field(void *ctx, floe_slice name, uint64_t line_no) {
    floe_stream *s = ctx;
    if (floe_totals_note_unknown(s->totals, name, s->path, s->file_index, line_no) != FLOE_OK)
        s->callback_status = FLOE_ERR_NOMEM;
}

floe_status floe_stream_new(const floe_stream_options *options, floe_stream **out) {
    *out = NULL;
    if (options->decode_size == 0 || options->max_line == 0 || options->batch_rows == 0)
        return FLOE_ERR_INVALID;
    /* The parser takes at most 4 GiB a call; the text buffer holds a line plus a decode step. */
    if (options->max_line > UINT32_MAX / 2 || options->decode_size > UINT32_MAX / 2)
        return FLOE_ERR_INVALID;
    floe_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) return FLOE_ERR_NOMEM;
    s->options = *options;
    if (options->format != NULL) {
        s->format = *options->format;
        s->options.format = &s->format;
    }
    /* A decode step never exceeds the line limit, so a line that fits in one step fits the
     * limit: only lines carried across steps need a length check. */
    if (s->options.decode_size > s->options.max_line) s->options.decode_size = s->options.max_line;
    s->decoder = floe_decoder_new();
    size_t carry_start = s->options.max_line < 64 * 1024 ? s->options.max_line : 64 * 1024;
    s->text_cap = s->options.decode_size + carry_start;
    s->text = malloc(s->text_cap);
    s->stage = malloc(IN_PIECE);
    floe_status status = floe_batch_init(&s->batch, s->options.batch_rows);
    if (s->decoder == NULL || s->text == NULL || s->stage == NULL || status != FLOE_OK) {
        floe_stream_free(s);
        return FLOE_ERR_NOMEM;
    }
    *out = s;
    return FLOE_OK;
}

void floe_stream_free(floe_stream *stream) {
    if (stream == NULL) return;
    floe_decoder_free(stream->decoder);
    floe_batch_free(&stream->batch);
    free(stream->text);
    free(stream->stage);
    free(stream);
}

bool floe_stream_active(const floe_stream *stream) {
    return stream->active;
}

floe_status floe_stream_begin(floe_stream *s, const char *path, uint32_t file_index,
                              floe_totals *totals, const uint8_t *first, size_t first_len) {
    floe_status status = floe_decoder_start(s->decoder, first, first_len);
    if (status != FLOE_OK) return status;
    s->path = path;
    s->file_index = file_index;
    s->totals = totals;
    s->active = true;
    s->failed = false;
    s->text_len = 0;
    s->skipping = false;
    s->staged = 0;
    s->in_pos = 0;
    s->callback_status = FLOE_OK;
    totals->files++;
    totals->files_by_codec[floe_decoder_codec(s->decoder)]++;
    floe_parse_options parse_options = {s->options.mode, s->options.format, s->options.simd,
                                        on_bad_line,     on_unknown_field,  s};
    floe_parser_init(&s->parser, &parse_options);
    return FLOE_OK;
}

/* Parses text[off..text_len) (whole lines; with at_eof the last unfinished one too) and hands
 * the batches on. Sets *end to the offset after the last line parsed. */
static floe_status parse_lines(floe_stream *s, size_t off, bool at_eof, size_t *end) {
    while (off < s->text_len) {
        size_t consumed = 0;
        floe_status status =
            floe_parse(&s->parser, s->text + off, s->text_len - off, at_eof, &s->batch, &consumed);
        if (status != FLOE_OK) return status;
        if (s->callback_status != FLOE_OK) return s->callback_status;
        if (s->batch.count > 0) {
            floe_totals_add_batch(s->totals, &s->batch);
            if (s->options.on_batch != NULL) {
                status = s->options.on_batch(s->options.ctx, &s->batch);
                if (status != FLOE_OK) return status;
            }
        }
        /* floe_parse stops early only after a row (full batch, format change), so 0 means
         * no complete line is left. */
        if (consumed == 0) break;
        off += consumed;
    }
    *end = off;
    return FLOE_OK;
}

static void skip_too_long(floe_stream *s, size_t len) {
    size_t shown = len < FLOE_BAD_EXCERPT_LEN ? len : FLOE_BAD_EXCERPT_LEN;
    floe_parser_skip_line(&s->parser, FLOE_BAD_TOO_LONG, (floe_slice){s->text, (uint32_t)shown});
}

/* Handles text[0..text_len), of which text[fresh..text_len) was just decoded and the part
 * before it is an unfinished line carried from the previous step. end: no text follows.
 * cut: the text ends because of an error, so an unfinished last line is dropped. */
static floe_status consume_text(floe_stream *s, size_t fresh, bool end, bool cut) {
    const size_t max_line = s->options.max_line;
    size_t off = 0;
    if (s->skipping) {
        /* The too-long line was reported when it crossed the limit; drop the rest of it. */
        const char *newline = memchr(s->text, '\n', s->text_len);
        if (newline == NULL) {
            s->text_len = 0;
            return FLOE_OK;
        }
        off = (size_t)(newline - s->text) + 1;
        s->skipping = false;
    } else if (fresh > 0) {
        const char *newline = memchr(s->text + fresh, '\n', s->text_len - fresh);
        size_t line_len = newline != NULL ? (size_t)(newline - s->text) : s->text_len;
        if (line_len > max_line) {
            skip_too_long(s, line_len);
            if (newline == NULL) {
                s->skipping = true;
                s->text_len = 0;
                return FLOE_OK;
            }
            off = line_len + 1;
        }
    }

    size_t parsed = off;
    floe_status status = parse_lines(s, off, end && !cut, &parsed);
    if (status != FLOE_OK) return status;
    size_t rest = s->text_len - parsed;
    if (rest == 0 || end) {
        if (rest > 0) s->totals->cut_lines++;
        s->text_len = 0;
        return FLOE_OK;
    }
    memmove(s->text, s->text + parsed, rest);
    if (rest > max_line) {
        skip_too_long(s, rest);
        s->skipping = true;
        s->text_len = 0;
        return FLOE_OK;
    }
    s->text_len = rest;
    return FLOE_OK;
}

/* Makes room for at least one decode step after the carried line. */
static floe_status reserve_text(floe_stream *s) {
    size_t need = s->text_len + s->options.decode_size;
    if (need <= s->text_cap) return FLOE_OK;
    size_t cap = s->text_cap * 2;
    if (cap < need) cap = need;
    char *grown = realloc(s->text, cap);
    if (grown == NULL) return FLOE_ERR_NOMEM;
    s->text = grown;
    s->text_cap = cap;
    return FLOE_OK;
}

static void finish(floe_stream *s) {
    s->totals->members += floe_decoder_members(s->decoder);
    floe_totals_add_parse_stats(s->totals, &s->parser.stats);
    s->active = false;
    s->path = NULL;
    s->totals = NULL;
}

/* Decodes one piece of the file, in[0..in_len) (the file's last when `last`), and parses what
 * it gives. Stops early after a decode error (s->failed). */
static floe_status decode_piece(floe_stream *s, const uint8_t *in, size_t in_len, bool last) {
    floe_totals *totals = s->totals;
    size_t in_off = 0;
    while (!s->failed) {
        floe_status status = reserve_text(s);
        if (status != FLOE_OK) return status;
        size_t fresh = s->text_len;
        size_t out_cap = s->text_cap - fresh;
        if (out_cap > s->options.decode_size) out_cap = s->options.decode_size;
        size_t in_used = 0, out_written = 0;
        bool finished = false;
        floe_status decode_status =
            floe_decoder_run(s->decoder, in + in_off, in_len - in_off, last, &in_used,
                             (uint8_t *)s->text + fresh, out_cap, &out_written, &finished);
        in_off += in_used;
        s->text_len += out_written;
        totals->decoded_bytes += out_written;

        bool failed = decode_status != FLOE_OK;
        bool end = failed || finished;
        if (out_written > 0 || end) {
            status = consume_text(s, fresh, end, failed);
            if (status != FLOE_OK) return status;
        }
        if (failed) {
            if (decode_status == FLOE_ERR_NOMEM) return FLOE_ERR_NOMEM;
            status = floe_totals_note_decode_failure(totals, s->path, s->file_index,
                                                     floe_decoder_codec(s->decoder), decode_status,
                                                     floe_decoder_error_offset(s->decoder));
            if (status != FLOE_OK) return status;
            s->failed = true;
            break;
        }
        /* The decoder stops on a finished stream, a full output step, or used-up input. */
        if (finished || (in_off == in_len && out_written < out_cap)) break;
    }
    return FLOE_OK;
}

floe_status floe_stream_feed(floe_stream *s, const uint8_t *in, size_t in_len, bool last) {
    if (!s->active) return FLOE_ERR_INVALID;
    s->totals->compressed_bytes += in_len;
    size_t at = 0;
    while (at < in_len && !s->failed) {
        /* Bytes up to the end of the current piece. */
        const size_t room = IN_PIECE - (size_t)(s->in_pos % IN_PIECE);
        const size_t take = in_len - at < room ? in_len - at : room;
        const bool completes = take == room, ends = last && at + take == in_len;
        floe_status status = FLOE_OK;
        if (s->staged == 0 && (completes || ends)) {
            status = decode_piece(s, in + at, take, ends); /* a whole piece, in place */
        } else {
            memcpy(s->stage + s->staged, in + at, take);
            s->staged += take;
            if (completes || ends) {
                status = decode_piece(s, s->stage, s->staged, ends);
                s->staged = 0;
            }
        }
        if (status != FLOE_OK) return status;
        s->in_pos += take;
        at += take;
    }
    /* The end of the file announced without bytes: what is staged (maybe nothing) is the last
     * piece, and the decoder still hears that nothing follows. */
    if (last && in_len == 0 && !s->failed) {
        floe_status status = decode_piece(s, s->stage, s->staged, true);
        s->staged = 0;
        if (status != FLOE_OK) return status;
    }
    if (last && s->in_pos == 0) { /* no byte at all (a failure comes after some) */
        floe_status status =
            floe_totals_note_file_failure(s->totals, s->path, s->file_index, FLOE_FILE_EMPTY, true);
        if (status != FLOE_OK) return status;
    }
    if (last) finish(s);
    return FLOE_OK;
}

floe_status floe_stream_cut(floe_stream *s, int err) {
    if (!s->active) return FLOE_ERR_INVALID;
    /* What was read is decoded (not the end of the file: a cut member is not an error of its
     * own); the line the failure cut off is dropped. */
    floe_status status = FLOE_OK;
    if (!s->failed && s->staged > 0) status = decode_piece(s, s->stage, s->staged, false);
    s->staged = 0;
    if (status == FLOE_OK && !s->failed) status = consume_text(s, s->text_len, true, true);
    if (status == FLOE_OK)
        status = floe_totals_note_file_failure(s->totals, s->path, s->file_index, err, true);
    finish(s);
    return status;
}
