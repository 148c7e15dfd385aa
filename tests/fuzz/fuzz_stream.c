/* fuzz_stream: one file's whole path, compressed bytes to parsed batches (floe_stream: the
 * decoder, the carried-over line, the line limit, the parser). Built twice: FLOE_FUZZ_MAGIC
 * "gzip" or "zstd" puts that codec's magic in front of the input, so every input takes that
 * decoder's path (the seeds are real files without their magic; mutations corrupt, cut and
 * extend them). Without it the input is a whole file, whatever its codec.
 *
 * The input's first byte picks the read size, the decode step and the line limit; the rest is
 * the file. Properties, beyond not crashing or reading out of bounds: the totals (bytes,
 * members, lines by kind, rows, bad lines by reason, failures) are the same when the file is
 * pushed in one piece and in reads of the chosen size, as floe_stream.h promises; and every
 * line is counted once. */
#include <string.h>

#include "floe_stream.h"
#include "fuzz.h"

#define GZIP_MAGIC "\x1f\x8b"
#define ZSTD_MAGIC "\x28\xb5\x2f\xfd"

typedef struct outcome {
    floe_totals totals;
    uint64_t rows;
    bool nomem;
} outcome;

static floe_status count_rows(void *ctx, const floe_batch *batch) {
    *(uint64_t *)ctx += batch->count;
    return FLOE_OK;
}

static void run(const uint8_t *file, size_t len, size_t read_size, size_t decode_size,
                size_t max_line, outcome *o) {
    memset(o, 0, sizeof *o);
    floe_totals_init(&o->totals, 4);
    floe_stream_options options;
    floe_stream_options_default(&options);
    options.decode_size = decode_size;
    options.max_line = max_line;
    options.batch_rows = 7;
    options.on_batch = count_rows;
    options.ctx = &o->rows;
    floe_stream *stream = NULL;
    if (floe_stream_new(&options, &stream) != FLOE_OK) {
        o->nomem = true;
        return;
    }
    floe_status st = floe_stream_begin(stream, "fuzz.log.gz", 0, &o->totals, file,
                                       len < FLOE_DECODE_MAGIC_LEN ? len : FLOE_DECODE_MAGIC_LEN);
    size_t at = 0;
    while (st == FLOE_OK) {
        const size_t n = len - at < read_size ? len - at : read_size;
        /* Each read in a block of its own size: no reading past what was handed over. */
        uint8_t *chunk = malloc(n ? n : 1);
        if (!chunk) {
            st = FLOE_ERR_NOMEM;
            break;
        }
        if (n) memcpy(chunk, file + at, n);
        at += n;
        st = floe_stream_feed(stream, chunk, n, at == len);
        free(chunk);
        if (at == len) break;
    }
    if (st != FLOE_OK)
        o->nomem = true;
    else
        FUZZ_CHECK(!floe_stream_active(stream));
    floe_stream_free(stream);
}

static void same_totals(const floe_totals *a, const floe_totals *b) {
    if (a->decoded_bytes != b->decoded_bytes || a->lines != b->lines || a->records != b->records)
        fprintf(stderr,
                "whole: %llu bytes in, %llu out, %llu lines, %llu records, %zu failures\n"
                "reads: %llu bytes in, %llu out, %llu lines, %llu records, %zu failures\n",
                (unsigned long long)a->compressed_bytes, (unsigned long long)a->decoded_bytes,
                (unsigned long long)a->lines, (unsigned long long)a->records, a->ndecode_failures,
                (unsigned long long)b->compressed_bytes, (unsigned long long)b->decoded_bytes,
                (unsigned long long)b->lines, (unsigned long long)b->records, b->ndecode_failures);
    FUZZ_CHECK(a->files == b->files && a->members == b->members);
    FUZZ_CHECK(a->compressed_bytes == b->compressed_bytes && a->decoded_bytes == b->decoded_bytes);
    FUZZ_CHECK(a->lines == b->lines && a->records == b->records && a->headers == b->headers);
    FUZZ_CHECK(a->blank_lines == b->blank_lines && a->bad_lines == b->bad_lines);
    FUZZ_CHECK(memcmp(a->bad_by_reason, b->bad_by_reason, sizeof a->bad_by_reason) == 0);
    FUZZ_CHECK(a->cut_lines == b->cut_lines);
    FUZZ_CHECK(memcmp(a->files_by_codec, b->files_by_codec, sizeof a->files_by_codec) == 0);
    FUZZ_CHECK(a->ndecode_failures == b->ndecode_failures);
    for (size_t i = 0; i < a->ndecode_failures; i++)
        FUZZ_CHECK(a->decode_failures[i].status == b->decode_failures[i].status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t knob = data[0];
#ifdef FLOE_FUZZ_MAGIC
    const char *magic = strcmp(FLOE_FUZZ_MAGIC, "gzip") == 0 ? GZIP_MAGIC : ZSTD_MAGIC;
    const size_t magic_len = strlen(magic);
#else
    const char *magic = "";
    const size_t magic_len = 0;
#endif
    const size_t len = magic_len + size - 1;
    uint8_t *file = malloc(len ? len : 1);
    if (!file) return 0;
    memcpy(file, magic, magic_len);
    if (size > 1) memcpy(file + magic_len, data + 1, size - 1);
    const size_t read_size = 1 + (knob & 15) * 37;     /* 1 .. 556 bytes a read */
    const size_t decode_size = 16 + (knob >> 4) * 29;  /* 16 .. 451 bytes a step */
    const size_t max_line = (knob & 0x40) ? 64 : 4096; /* some runs cut long lines */
    outcome whole, pieces;
    run(file, len, len ? len : 1, decode_size, max_line, &whole);
    run(file, len, read_size, decode_size, max_line, &pieces);
    free(file);
    if (!whole.nomem && !pieces.nomem) {
        const floe_totals *t = &whole.totals;
        FUZZ_CHECK(t->lines == t->records + t->headers + t->blank_lines + t->bad_lines);
        FUZZ_CHECK(whole.rows == t->records && pieces.rows == pieces.totals.records);
        same_totals(&whole.totals, &pieces.totals);
    }
    floe_totals_free(&whole.totals);
    floe_totals_free(&pieces.totals);
    return 0;
}
