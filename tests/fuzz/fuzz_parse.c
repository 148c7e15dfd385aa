/* fuzz_parse: the record parser and its header handling (floe_parse), on text as S3 delivers
 * it, or with FLOE_FUZZ_CLOUDWATCH as CloudWatch Logs exports it ("<ISO-8601> <record>").
 *
 * The input's first byte picks where the text is cut in two and how many rows a batch holds;
 * the rest is the text. Properties, beyond not crashing or reading out of bounds:
 *   - every line is counted once: lines = records + headers + blank + bad;
 *   - the rows handed out equal the records counted;
 *   - the text parsed in two pieces (the unfinished line carried over, as floe_stream does)
 *     gives the same counts and the same rows as the text parsed whole. */
#include <string.h>

#include "floe_parse.h"
#include "fuzz.h"

#ifdef FLOE_FUZZ_CLOUDWATCH
#define MODE FLOE_LINES_CLOUDWATCH
#else
#define MODE FLOE_LINES_S3
#endif

/* FNV-1a over a row's values and nulls: what two parses must agree on. */
static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t rows_digest(uint64_t h, const floe_batch *batch) {
    for (uint32_t r = 0; r < batch->count; r++) {
        h = mix(h, &batch->nulls[r], sizeof batch->nulls[r]);
        for (unsigned f = 0; f < FLOE_FIELD_COUNT; f++) {
            if (!floe_batch_has(batch, (floe_field)f)) continue;
            const floe_type t = floe_field_type((floe_field)f);
            if (t == FLOE_T_STR) {
                const floe_slice s = ((const floe_slice *)batch->values[f])[r];
                h = mix(h, &s.len, sizeof s.len);
                if (s.ptr) h = mix(h, s.ptr, s.len);
            } else {
                const size_t w = floe_type_size(t);
                h = mix(h, (const uint8_t *)batch->values[f] + (size_t)r * w, w);
            }
        }
    }
    return h;
}

typedef struct outcome {
    floe_parse_stats stats;
    uint64_t rows, digest;
    bool nomem;
} outcome;

/* Parses text[0..len) fed as pieces [0, cut) and [cut, len), carrying the unfinished line. */
static outcome parse_pieces(const char *text, size_t len, size_t cut, uint32_t batch_rows) {
    outcome o = {.digest = 0xcbf29ce484222325ull};
    floe_parse_options options = {MODE, NULL, floe_scan_default_level(), NULL, NULL, NULL};
    floe_parser parser;
    floe_parser_init(&parser, &options);
    floe_batch batch;
    if (floe_batch_init(&batch, batch_rows) != FLOE_OK) {
        o.nomem = true;
        return o;
    }
    /* buf holds the carried-over line and the next piece, in a block of exactly their size. */
    char *carry = NULL;
    size_t ncarry = 0;
    for (int piece = 0; piece < 2 && !o.nomem; piece++) {
        const size_t from = piece == 0 ? 0 : cut, to = piece == 0 ? cut : len;
        const bool last = piece == 1;
        const size_t n = ncarry + (to - from);
        char *buf = malloc(n ? n : 1);
        if (!buf) {
            o.nomem = true;
            break;
        }
        if (ncarry) memcpy(buf, carry, ncarry);
        if (to > from) memcpy(buf + ncarry, text + from, to - from);
        free(carry);
        carry = NULL;
        size_t pos = 0;
        for (;;) {
            size_t consumed = 0;
            floe_status st = floe_parse(&parser, buf + pos, n - pos, last, &batch, &consumed);
            if (st != FLOE_OK) {
                o.nomem = true;
                break;
            }
            FUZZ_CHECK(consumed <= n - pos);
            o.rows += batch.count;
            o.digest = rows_digest(o.digest, &batch);
            pos += consumed;
            if (consumed == 0 && batch.count == 0) break; /* nothing more to take from this piece */
        }
        if (last) FUZZ_CHECK(o.nomem || pos == n); /* at the end every byte is parsed */
        ncarry = n - pos;
        if (ncarry) {
            carry = malloc(ncarry);
            if (!carry)
                o.nomem = true;
            else
                memcpy(carry, buf + pos, ncarry);
        }
        free(buf);
    }
    free(carry);
    o.stats = parser.stats;
    floe_batch_free(&batch);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t knob = data[0];
    char *text = fuzz_copy(data + 1, size - 1);
    if (!text) return 0;
    const size_t len = size - 1;
    const uint32_t batch_rows = 1u + (knob & 7) * 3; /* small batches: many returns */
    const size_t cut = len * (size_t)(knob >> 3) / 31;
    const outcome whole = parse_pieces(text, len, len, batch_rows);
    const outcome split = parse_pieces(text, len, cut, batch_rows);
    free(text);
    if (whole.nomem || split.nomem) return 0;
    const floe_parse_stats *s = &whole.stats;
    FUZZ_CHECK(s->lines == s->records + s->headers + s->blank_lines + s->bad_lines);
    uint64_t by_reason = 0;
    for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++)
        by_reason += s->bad_by_reason[r];
    FUZZ_CHECK(by_reason == s->bad_lines);
    FUZZ_CHECK(whole.rows == s->records);
    FUZZ_CHECK(memcmp(&whole.stats, &split.stats, sizeof whole.stats) == 0);
    FUZZ_CHECK(whole.rows == split.rows && whole.digest == split.digest);
    return 0;
}
