/* floe_test_digest.h: a digest of everything a parse produced (every row's values, nulls and
 * line numbers, every bad line), to compare two parses of the same text. */
#ifndef FLOE_TEST_DIGEST_H
#define FLOE_TEST_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "floe_parse.h"
#include "floe_test_guard.h"

static inline uint64_t floe_test_fnv(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* Row by row, so the digest does not depend on where batches were cut. */
static inline uint64_t floe_test_digest_batch(uint64_t h, const floe_batch *b) {
    for (uint32_t row = 0; row < b->count; row++) {
        h = floe_test_fnv(h, &b->present, sizeof(b->present));
        h = floe_test_fnv(h, &b->line_no[row], sizeof(uint64_t));
        for (int f = 0; f < FLOE_FIELD_COUNT; f++) {
            if (!floe_batch_has(b, (floe_field)f)) continue;
            uint8_t is_null = floe_batch_is_null(b, (floe_field)f, row);
            h = floe_test_fnv(h, &is_null, 1);
            floe_type type = floe_field_type((floe_field)f);
            if (type == FLOE_T_STR) {
                const floe_slice *s = &floe_batch_str(b, (floe_field)f)[row];
                h = floe_test_fnv(h, &s->len, sizeof(s->len));
                if (s->ptr) h = floe_test_fnv(h, s->ptr, s->len);
            } else {
                size_t size = floe_type_size(type);
                h = floe_test_fnv(h, (const uint8_t *)b->values[f] + row * size, size);
            }
        }
    }
    return h;
}

/* Rows and bad lines hashed apart: bad lines are reported during a call, rows after it, so
 * their interleaving depends on where batches were cut. */
typedef struct floe_test_digest {
    uint64_t hash;     /* bad lines */
    uint64_t row_hash; /* rows */
} floe_test_digest;

static inline void floe_test_digest_bad(void *ctx, const floe_bad_line *bad) {
    floe_test_digest *d = ctx;
    uint64_t fields[5] = {bad->line_no, (uint64_t)bad->reason, (uint64_t)(int64_t)bad->column,
                          bad->fields_seen, bad->fields_wanted};
    d->hash = floe_test_fnv(d->hash, fields, sizeof(fields));
    d->hash = floe_test_fnv(d->hash, bad->text.ptr, bad->text.len);
}

/* How floe_test_digest_parse hands the text to the parser. */
typedef enum floe_test_feed {
    FLOE_FEED_WHOLE = 0,  /* all at once */
    FLOE_FEED_PIECES = 1, /* in pieces of random size (1 byte to 64 KiB), as a reader would,
                           * carrying each partial line into the next call */
    FLOE_FEED_LINES = 2   /* one line a call, without its newline, as the end of the input: so
                           * every line takes the parser's byte-by-byte tokenizer, a reference
                           * for its block scan (an empty line goes as "\n") */
} floe_test_feed;

/* Parses text fed as `feed` says. Returns a digest of every row and bad line. */
static inline uint64_t floe_test_digest_parse(const char *text, size_t len, floe_simd simd,
                                              floe_test_feed feed, floe_parse_stats *stats_out) {
    uint64_t rng = 0x2545F4914F6CDD1Du;
    floe_guarded g = floe_guarded_copy(text, len);
    floe_test_digest ctx = {0xcbf29ce484222325u, 0xcbf29ce484222325u};
    floe_parse_options options = {FLOE_LINES_S3, NULL, simd, floe_test_digest_bad, NULL, &ctx};
    floe_parser parser;
    floe_batch batch;
    floe_parser_init(&parser, &options);
    if (floe_batch_init(&batch, 777) != FLOE_OK) abort();
    size_t start = 0, end = 0;
    while (start < len) {
        bool at_eof;
        size_t step_end; /* where start moves once this step is parsed */
        if (feed == FLOE_FEED_LINES) {
            const char *newline = memchr(g.data + start, '\n', len - start);
            size_t line_end = newline != NULL ? (size_t)(newline - g.data) : len;
            end = line_end > start ? line_end : line_end + (line_end < len); /* "" as "\n" */
            step_end = line_end < len ? line_end + 1 : len;
            at_eof = true;
        } else {
            if (end == start || feed == FLOE_FEED_PIECES) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                size_t piece =
                    feed == FLOE_FEED_PIECES ? 1 + (rng >> 1) % (rng & 1 ? 64 : 65536) : len;
                end = end + piece < len ? end + piece : len;
            }
            at_eof = end == len;
            step_end = 0;
        }
        size_t consumed;
        if (floe_parse(&parser, g.data + start, end - start, at_eof, &batch, &consumed) != FLOE_OK)
            abort();
        ctx.row_hash = floe_test_digest_batch(ctx.row_hash, &batch);
        if (feed == FLOE_FEED_LINES) {
            if (consumed != end - start) abort(); /* one line never stops short */
            start = step_end;
        } else {
            start += consumed;
        }
    }
    *stats_out = parser.stats;
    floe_batch_free(&batch);
    floe_guarded_free(&g);
    return ctx.hash ^ (ctx.row_hash * 31);
}

#endif
