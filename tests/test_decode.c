/* The streaming decoder: gzip (one and several members), zstd (one and several frames) and
 * plain text decode to the same bytes whatever the input and output step sizes; a stream cut
 * short is FLOE_ERR_TRUNCATED, damaged data or garbage after a member FLOE_ERR_CORRUPT, with
 * everything before the damage delivered and the compressed offset reported. Compressed input
 * sits right before a guard page, so a read past the caller's buffer crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "floe_decode.h"
#include "floe_test_guard.h"

/* ---- fixtures ------------------------------------------------------------------------------- */

typedef struct bytes {
    uint8_t *data;
    size_t len;
    size_t cap;
} bytes;

/* Doubling, so byte-at-a-time output stays linear (realloc under ASan always moves). */
static void append(bytes *b, const void *data, size_t len) {
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap < 256 ? 256 : b->cap;
        while (cap < b->len + len + 1)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        assert_non_null(grown);
        b->data = grown;
        b->cap = cap;
    }
    if (len > 0) memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* Flow-log text of about `approx_len` bytes, varied enough that deflate emits several
 * blocks and zstd several blocks, and deterministic. */
static bytes make_text(size_t approx_len, uint32_t seed) {
    bytes text = {NULL, 0, 0};
    static const char header[] = "version account-id interface-id srcaddr dstaddr srcport dstport "
                                 "protocol packets bytes start end action log-status\n";
    append(&text, header, sizeof(header) - 1);
    uint32_t x = seed * 2654435761u + 1;
    while (text.len < approx_len) {
        char line[200];
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int n = snprintf(line, sizeof(line),
                         "2 123456789010 eni-%08x 10.%u.%u.%u 172.31.%u.%u %u %u 6 %u %u "
                         "1700000000 1700000060 %s OK\n",
                         x, x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255, (x >> 4) & 255,
                         x % 65536, (x >> 3) % 1024, x % 100 + 1, x % 100000,
                         x & 1 ? "ACCEPT" : "REJECT");
        append(&text, line, (size_t)n);
    }
    return text;
}

static bytes gzip_of(const bytes *text) {
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    assert_non_null(c);
    size_t bound = libdeflate_gzip_compress_bound(c, text->len);
    bytes out = {malloc(bound), 0, bound};
    assert_non_null(out.data);
    out.len = libdeflate_gzip_compress(c, text->data, text->len, out.data, bound);
    assert_true(out.len > 0);
    libdeflate_free_compressor(c);
    return out;
}

static bytes zstd_of(const bytes *text, bool checksum) {
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum ? 1 : 0);
    size_t bound = ZSTD_compressBound(text->len);
    bytes out = {malloc(bound), 0, bound};
    assert_non_null(out.data);
    out.len = ZSTD_compress2(c, out.data, bound, text->data, text->len);
    assert_false(ZSTD_isError(out.len));
    ZSTD_freeCCtx(c);
    return out;
}

static void append_le32(bytes *b, uint32_t v) {
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    append(b, le, 4);
}

/* A gzip member with the optional header fields other writers use (RFC 1952: FEXTRA, FNAME,
 * FCOMMENT, FHCRC), which libdeflate never writes. name_len sets the file name's length, to
 * put the header across read boundaries. A wrong header CRC on request. */
static bytes gzip_with_header_fields(const bytes *text, size_t name_len, bool bad_header_crc) {
    bytes out = {NULL, 0, 0};
    const uint8_t fixed[10] = {0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0x78, 0x56, 0x34, 0x12, 0, 3};
    append(&out, fixed, sizeof(fixed));
    const uint8_t extra[2 + 6] = {6, 0, 'A', 'P', 2, 0, 'h', 'i'};
    append(&out, extra, sizeof(extra));
    for (size_t i = 0; i < name_len; i++)
        append(&out, "n", 1);
    append(&out, "", 1);
    append(&out, "a comment", 10);
    uint32_t header_crc = libdeflate_crc32(0, out.data, out.len) ^ (bad_header_crc ? 1 : 0);
    const uint8_t hcrc[2] = {(uint8_t)header_crc, (uint8_t)(header_crc >> 8)};
    append(&out, hcrc, 2);
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    assert_non_null(c);
    size_t bound = libdeflate_deflate_compress_bound(c, text->len);
    uint8_t *deflated = malloc(bound);
    assert_non_null(deflated);
    size_t n = libdeflate_deflate_compress(c, text->data, text->len, deflated, bound);
    assert_true(n > 0);
    append(&out, deflated, n);
    append_le32(&out, libdeflate_crc32(0, text->data, text->len));
    append_le32(&out, (uint32_t)text->len);
    free(deflated);
    libdeflate_free_compressor(c);
    return out;
}

/* A zstd skippable frame (as pzstd writes before every frame). */
static void append_skippable_frame(bytes *b, uint8_t magic_low, uint32_t payload_len) {
    append_le32(b, 0x184D2A50u | magic_low);
    append_le32(b, payload_len);
    for (uint32_t i = 0; i < payload_len; i++)
        append(b, "\x07", 1);
}

static void bytes_free(bytes *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* ---- driving the decoder -------------------------------------------------------------------- */

typedef struct decoded {
    floe_status status;
    floe_codec codec;
    bytes out;
    uint64_t in_total;
    uint64_t members;
    uint64_t error_offset;
} decoded;

/* Decodes `in` handing the decoder at most in_step input bytes and out_step output bytes per
 * call, the way a reader with small buffers would. The input sits before a guard page. */
static decoded decode_steps(const bytes *in, size_t in_step, size_t out_step) {
    floe_guarded guarded = floe_guarded_copy(in->data, in->len);
    assert_true(guarded.data != NULL || in->len == 0);
    const uint8_t *data = (const uint8_t *)guarded.data;
    floe_decoder *dec = floe_decoder_new();
    assert_non_null(dec);
    size_t magic = in->len < FLOE_DECODE_MAGIC_LEN ? in->len : FLOE_DECODE_MAGIC_LEN;
    assert_int_equal(floe_decoder_start(dec, data, magic), FLOE_OK);

    decoded result = {FLOE_OK, floe_decoder_codec(dec), {NULL, 0, 0}, 0, 0, 0};
    size_t step_slot_len = in_step < in->len ? in_step : in->len;
    floe_guarded step_slot = floe_guarded_copy(data, step_slot_len); /* contents replaced below */
    assert_true(step_slot.data != NULL || step_slot_len == 0);
    uint8_t *out = malloc(out_step);
    assert_non_null(out);
    size_t pos = 0;
    bool finished = false;
    for (int guard = 0; !finished; guard++) {
        assert_true(guard < 50000000); /* no endless loop */
        size_t chunk = in->len - pos < in_step ? in->len - pos : in_step;
        bool last = pos + chunk == in->len;
        size_t in_used = 0, out_written = 0;
        /* Each call's bytes are copied to end right at a guard page of their own, so a read
         * past what that call was given crashes even where more input follows in memory. */
        uint8_t *step_data = (uint8_t *)step_slot.data + step_slot_len - chunk;
        if (chunk > 0) memcpy(step_data, data + pos, chunk);
        floe_status status = floe_decoder_run(dec, step_data, chunk, last, &in_used, out, out_step,
                                              &out_written, &finished);
        assert_true(in_used <= chunk);
        assert_true(out_written <= out_step);
        append(&result.out, out, out_written);
        pos += in_used;
        if (status != FLOE_OK) {
            result.status = status;
            /* A failed decoder stays failed and says the same thing. */
            size_t again_used = 1, again_written = 1;
            bool again_finished = true;
            assert_int_equal(floe_decoder_run(dec, data + pos, in->len - pos, true, &again_used,
                                              out, out_step, &again_written, &again_finished),
                             status);
            assert_int_equal(again_used, 0);
            assert_int_equal(again_written, 0);
            assert_false(again_finished);
            break;
        }
        /* Progress: the decoder returns only when it used all it was given or out is full. */
        if (!finished) assert_true(in_used == chunk || out_written == out_step);
    }
    if (finished) {
        assert_int_equal(pos, in->len);
        size_t used = 1, written = 1;
        bool again = false;
        assert_int_equal(
            floe_decoder_run(dec, NULL, 0, true, &used, out, out_step, &written, &again), FLOE_OK);
        assert_true(again);
        assert_int_equal(written, 0);
    }
    result.in_total = floe_decoder_in_total(dec);
    result.members = floe_decoder_members(dec);
    result.error_offset = floe_decoder_error_offset(dec);
    assert_int_equal(floe_decoder_out_total(dec), result.out.len);
    free(out);
    floe_decoder_free(dec);
    floe_guarded_free(&step_slot);
    floe_guarded_free(&guarded);
    return result;
}

/* Steps from one byte (every state boundary inside headers and trailers) to larger than the
 * whole input. */
static const size_t steps[][2] = {{1, 1},       {1, 4096},         {3, 7}, {4096, 1}, {13, 65536},
                                  {65536, 100}, {1 << 20, 1 << 20}};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

static void expect_decodes_to(const bytes *in, const bytes *text, floe_codec codec,
                              uint64_t members) {
    for (size_t s = 0; s < NSTEPS; s++) {
        /* Byte-at-a-time over large inputs takes long and adds nothing; keep it to small ones. */
        if ((steps[s][0] == 1 || steps[s][1] == 1) && in->len + text->len > 600000) continue;
        decoded d = decode_steps(in, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_OK);
        assert_int_equal(d.codec, codec);
        assert_int_equal(d.members, members);
        assert_int_equal(d.in_total, in->len);
        assert_int_equal(d.out.len, text->len);
        assert_memory_equal(d.out.data, text->data, text->len);
        bytes_free(&d.out);
    }
}

static void expect_prefix(const decoded *d, const bytes *text) {
    assert_true(d->out.len <= text->len);
    if (d->out.len > 0) assert_memory_equal(d->out.data, text->data, d->out.len);
}

/* ---- codec detection ------------------------------------------------------------------------ */

static void test_detect_by_magic_not_name(void **state) {
    (void)state;
    static const uint8_t gz[] = {0x1f, 0x8b, 8, 0};
    static const uint8_t zst[] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t text[] = "vers";
    assert_int_equal(floe_codec_detect(gz, 4), FLOE_CODEC_GZIP);
    assert_int_equal(floe_codec_detect(gz, 2), FLOE_CODEC_GZIP);
    assert_int_equal(floe_codec_detect(gz, 1), FLOE_CODEC_PLAIN);
    assert_int_equal(floe_codec_detect(zst, 4), FLOE_CODEC_ZSTD);
    assert_int_equal(floe_codec_detect(zst, 3), FLOE_CODEC_PLAIN);
    assert_int_equal(floe_codec_detect(text, 4), FLOE_CODEC_PLAIN);
    assert_int_equal(floe_codec_detect(NULL, 0), FLOE_CODEC_PLAIN);
    assert_string_equal(floe_codec_name(FLOE_CODEC_PLAIN), "plain");
    assert_string_equal(floe_codec_name(FLOE_CODEC_GZIP), "gzip");
    assert_string_equal(floe_codec_name(FLOE_CODEC_ZSTD), "zstd");
}

/* ---- whole streams -------------------------------------------------------------------------- */

static void test_plain_passes_through(void **state) {
    (void)state;
    bytes text = make_text(100000, 1);
    expect_decodes_to(&text, &text, FLOE_CODEC_PLAIN, 0);
    bytes_free(&text);
}

static void test_empty_input_is_empty_plain_text(void **state) {
    (void)state;
    bytes empty = {NULL, 0, 0};
    decoded d = decode_steps(&empty, 1, 1);
    assert_int_equal(d.status, FLOE_OK);
    assert_int_equal(d.codec, FLOE_CODEC_PLAIN);
    assert_int_equal(d.out.len, 0);
    bytes_free(&d.out);
}

static void test_gzip_single_member(void **state) {
    (void)state;
    bytes text = make_text(150000, 2);
    bytes gz = gzip_of(&text);
    expect_decodes_to(&gz, &text, FLOE_CODEC_GZIP, 1);
    bytes_free(&gz);
    bytes_free(&text);
}

static void test_gzip_large_member_in_big_steps(void **state) {
    (void)state;
    bytes text = make_text(3000000, 3);
    bytes gz = gzip_of(&text);
    expect_decodes_to(&gz, &text, FLOE_CODEC_GZIP, 1);
    bytes_free(&gz);
    bytes_free(&text);
}

/* `cat a.gz b.gz c.gz`: what AWS and gzip users produce; an empty member included. */
static void test_gzip_multi_member(void **state) {
    (void)state;
    bytes parts[3] = {make_text(40000, 4), {NULL, 0, 0}, make_text(70000, 5)};
    bytes all_text = {NULL, 0, 0}, all_gz = {NULL, 0, 0};
    for (int i = 0; i < 3; i++) {
        bytes gz = gzip_of(&parts[i]);
        append(&all_text, parts[i].data, parts[i].len);
        append(&all_gz, gz.data, gz.len);
        bytes_free(&gz);
        bytes_free(&parts[i]);
    }
    expect_decodes_to(&all_gz, &all_text, FLOE_CODEC_GZIP, 3);
    bytes_free(&all_gz);
    bytes_free(&all_text);
}

static void test_zstd_single_frame(void **state) {
    (void)state;
    bytes text = make_text(150000, 6);
    bytes zst = zstd_of(&text, false);
    expect_decodes_to(&zst, &text, FLOE_CODEC_ZSTD, 1);
    bytes_free(&zst);
    bytes_free(&text);
}

static void test_zstd_large_frame_in_big_steps(void **state) {
    (void)state;
    bytes text = make_text(3000000, 7);
    bytes zst = zstd_of(&text, true);
    expect_decodes_to(&zst, &text, FLOE_CODEC_ZSTD, 1);
    bytes_free(&zst);
    bytes_free(&text);
}

static void test_zstd_multi_frame(void **state) {
    (void)state;
    bytes parts[3] = {make_text(40000, 8), {NULL, 0, 0}, make_text(70000, 9)};
    bytes all_text = {NULL, 0, 0}, all_zst = {NULL, 0, 0};
    for (int i = 0; i < 3; i++) {
        bytes zst = zstd_of(&parts[i], i == 2);
        append(&all_text, parts[i].data, parts[i].len);
        append(&all_zst, zst.data, zst.len);
        bytes_free(&zst);
        bytes_free(&parts[i]);
    }
    expect_decodes_to(&all_zst, &all_text, FLOE_CODEC_ZSTD, 3);
    bytes_free(&all_zst);
    bytes_free(&all_text);
}

/* Zero bytes after the last member (left by some writers and block-aligned copies). */
static void test_zero_padding_after_last_member_is_accepted(void **state) {
    (void)state;
    bytes text = make_text(20000, 10);
    static const uint8_t zeros[700] = {0};
    bytes gz = gzip_of(&text);
    append(&gz, zeros, sizeof(zeros));
    bytes zst = zstd_of(&text, false);
    append(&zst, zeros, sizeof(zeros));
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&gz, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_OK);
        assert_int_equal(d.members, 1);
        assert_int_equal(d.out.len, text.len);
        bytes_free(&d.out);
        d = decode_steps(&zst, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_OK);
        assert_int_equal(d.members, 1);
        assert_int_equal(d.out.len, text.len);
        bytes_free(&d.out);
    }
    bytes_free(&gz);
    bytes_free(&zst);
    bytes_free(&text);
}

/* ---- truncation ----------------------------------------------------------------------------- */

/* Cuts the stream at many places (inside the header, the data, the trailer / checksum); every
 * cut is FLOE_ERR_TRUNCATED at the cut, with a prefix of the text delivered. */
static void expect_truncation_detected(const bytes *full, const bytes *text, size_t tail_len) {
    size_t cuts[] = {1,
                     2,
                     3,
                     5,
                     10,
                     18,
                     full->len / 3,
                     full->len / 2,
                     full->len - tail_len - 1,
                     full->len - tail_len,
                     full->len - tail_len + 1,
                     full->len - 1};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        bytes cut = {full->data, cuts[c], 0};
        for (size_t s = 0; s < NSTEPS; s++) {
            decoded d = decode_steps(&cut, steps[s][0], steps[s][1]);
            if (cuts[c] < FLOE_DECODE_MAGIC_LEN && d.codec == FLOE_CODEC_PLAIN) {
                /* Too short to carry its magic: it is text, and that is fine. */
                assert_int_equal(d.status, FLOE_OK);
                bytes_free(&d.out);
                continue;
            }
            assert_int_equal(d.status, FLOE_ERR_TRUNCATED);
            assert_int_equal(d.error_offset, cuts[c]);
            assert_int_equal(d.in_total, cuts[c]);
            assert_int_equal(d.members, 0);
            expect_prefix(&d, text);
            bytes_free(&d.out);
        }
    }
}

static void test_truncated_gzip(void **state) {
    (void)state;
    bytes text = make_text(60000, 11);
    bytes gz = gzip_of(&text);
    expect_truncation_detected(&gz, &text, 8); /* CRC32 + ISIZE */
    /* Cut inside the trailer: all the text was decoded, the check could not run. */
    bytes cut = {gz.data, gz.len - 4, 0};
    decoded d = decode_steps(&cut, 4096, 4096);
    assert_int_equal(d.status, FLOE_ERR_TRUNCATED);
    assert_int_equal(d.out.len, text.len);
    bytes_free(&d.out);
    bytes_free(&gz);
    bytes_free(&text);
}

static void test_truncated_zstd(void **state) {
    (void)state;
    bytes text = make_text(60000, 12);
    bytes zst = zstd_of(&text, true);
    expect_truncation_detected(&zst, &text, 4); /* content checksum */
    bytes_free(&zst);
    bytes_free(&text);
}

/* The second member cut short: the first member's text is all there. */
static void test_truncated_second_member_keeps_first(void **state) {
    (void)state;
    bytes first = make_text(30000, 13), second = make_text(30000, 14);
    bytes gz1 = gzip_of(&first), gz2 = gzip_of(&second);
    bytes both = {NULL, 0, 0};
    append(&both, gz1.data, gz1.len);
    append(&both, gz2.data, gz2.len / 2);
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&both, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_ERR_TRUNCATED);
        assert_int_equal(d.members, 1);
        assert_int_equal(d.error_offset, both.len);
        assert_true(d.out.len >= first.len);
        assert_memory_equal(d.out.data, first.data, first.len);
        bytes_free(&d.out);
    }
    /* Only the first magic byte of a next member: a member was begun and not finished. */
    bytes one_more = {NULL, 0, 0};
    append(&one_more, gz1.data, gz1.len);
    append(&one_more, "\x1f", 1);
    decoded d = decode_steps(&one_more, 4096, 4096);
    assert_int_equal(d.status, FLOE_ERR_TRUNCATED);
    assert_int_equal(d.out.len, first.len);
    bytes_free(&d.out);
    bytes_free(&one_more);
    bytes_free(&both);
    bytes_free(&gz1);
    bytes_free(&gz2);
    bytes_free(&first);
    bytes_free(&second);
}

/* ---- corruption ----------------------------------------------------------------------------- */

static void test_gzip_bad_crc_is_corrupt_after_all_text(void **state) {
    (void)state;
    bytes text = make_text(50000, 15);
    bytes gz = gzip_of(&text);
    gz.data[gz.len - 8] ^= 0x55; /* first CRC32 byte */
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&gz, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_ERR_CORRUPT);
        assert_int_equal(d.out.len, text.len); /* delivered before the check failed */
        assert_true(d.error_offset <= gz.len);
        bytes_free(&d.out);
    }
    bytes_free(&gz);
    bytes_free(&text);
}

static void test_gzip_damaged_data_is_corrupt(void **state) {
    (void)state;
    bytes text = make_text(50000, 16);
    bytes gz = gzip_of(&text);
    size_t at = gz.len / 2;
    for (size_t i = 0; i < 64; i++)
        gz.data[at + i] = (uint8_t)(0xa5 ^ i * 37);
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&gz, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_ERR_CORRUPT);
        assert_true(d.error_offset >= at);
        assert_true(d.error_offset <= gz.len);
        assert_true(d.out.len < text.len + 1);
        bytes_free(&d.out);
    }
    bytes_free(&gz);
    bytes_free(&text);
}

static void test_gzip_bad_header_is_corrupt(void **state) {
    (void)state;
    bytes text = make_text(1000, 17);
    bytes gz = gzip_of(&text);
    gz.data[2] = 7; /* compression method: only 8 (deflate) exists */
    decoded d = decode_steps(&gz, 4096, 4096);
    assert_int_equal(d.status, FLOE_ERR_CORRUPT);
    assert_int_equal(d.out.len, 0);
    bytes_free(&d.out);
    bytes_free(&gz);
    bytes_free(&text);
}

static void test_zstd_damaged_data_is_corrupt(void **state) {
    (void)state;
    bytes text = make_text(50000, 18);
    bytes zst = zstd_of(&text, true);
    size_t at = zst.len / 2;
    for (size_t i = 0; i < 64; i++)
        zst.data[at + i] ^= (uint8_t)(0x5a + i);
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&zst, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_ERR_CORRUPT);
        assert_true(d.error_offset <= zst.len);
        expect_prefix(&d, &text);
        bytes_free(&d.out);
    }
    bytes_free(&zst);
    bytes_free(&text);
}

static void test_zstd_bad_checksum_is_corrupt(void **state) {
    (void)state;
    bytes text = make_text(50000, 19);
    bytes zst = zstd_of(&text, true);
    zst.data[zst.len - 1] ^= 0xff;
    decoded d = decode_steps(&zst, 4096, 4096);
    assert_int_equal(d.status, FLOE_ERR_CORRUPT);
    expect_prefix(&d, &text);
    bytes_free(&d.out);
    bytes_free(&zst);
    bytes_free(&text);
}

/* A frame that asks for a 256 MiB window is refused, not allocated: the memory bound holds. */
static void test_zstd_window_over_limit_is_unsupported(void **state) {
    (void)state;
    bytes text = make_text(10000, 23);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 28);
    size_t cap = ZSTD_compressBound(text.len) + 64;
    bytes zst = {malloc(cap), 0, cap};
    assert_non_null(zst.data);
    /* Streamed with no size known up front, so zstd keeps the window it was given. */
    ZSTD_outBuffer out = {zst.data, cap, 0};
    ZSTD_inBuffer in = {text.data, text.len, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(c, &out, &in, ZSTD_e_continue)));
    ZSTD_inBuffer none = {NULL, 0, 0};
    assert_int_equal(ZSTD_compressStream2(c, &out, &none, ZSTD_e_end), 0);
    zst.len = out.pos;
    ZSTD_freeCCtx(c);
    decoded d = decode_steps(&zst, 4096, 4096);
    assert_int_equal(d.status, FLOE_ERR_UNSUPPORTED);
    assert_int_equal(d.out.len, 0);
    bytes_free(&d.out);
    bytes_free(&zst);
    bytes_free(&text);
}

/* After a member only another member or zero padding may follow. */
static void expect_garbage_rejected(const bytes *member, const bytes *text, const char *garbage,
                                    size_t garbage_len, size_t zeros_before) {
    bytes in = {NULL, 0, 0};
    append(&in, member->data, member->len);
    for (size_t i = 0; i < zeros_before; i++)
        append(&in, "", 1);
    append(&in, garbage, garbage_len);
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&in, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_ERR_CORRUPT);
        assert_int_equal(d.members, 1);
        assert_int_equal(d.error_offset, member->len + zeros_before); /* the first bad byte */
        assert_int_equal(d.out.len, text->len);
        assert_memory_equal(d.out.data, text->data, text->len);
        bytes_free(&d.out);
    }
    bytes_free(&in);
}

static void test_gzip_header_with_every_optional_field(void **state) {
    (void)state;
    bytes text = make_text(30000, 40);
    /* A short name, and one long enough that the header crosses many read steps. */
    for (size_t name_len = 1; name_len <= 5000; name_len += 4999) {
        bytes gz = gzip_with_header_fields(&text, name_len, false);
        expect_decodes_to(&gz, &text, FLOE_CODEC_GZIP, 1);
        /* And after an ordinary member: the second header is read at a boundary. */
        bytes plain_member = gzip_of(&text);
        bytes both = {NULL, 0, 0};
        append(&both, plain_member.data, plain_member.len);
        append(&both, gz.data, gz.len);
        bytes twice = {NULL, 0, 0};
        append(&twice, text.data, text.len);
        append(&twice, text.data, text.len);
        expect_decodes_to(&both, &twice, FLOE_CODEC_GZIP, 2);
        bytes_free(&both);
        bytes_free(&twice);
        bytes_free(&plain_member);
        bytes_free(&gz);
    }
    bytes_free(&text);
}

static void test_gzip_header_crc_mismatch_is_corrupt_at_the_crc(void **state) {
    (void)state;
    bytes text = make_text(5000, 41);
    bytes gz = gzip_with_header_fields(&text, 7, true);
    size_t crc_offset = 10 + 8 + 7 + 1 + 10; /* fixed, extra, name + NUL, comment + NUL */
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&gz, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_ERR_CORRUPT);
        assert_int_equal(d.error_offset, crc_offset);
        assert_int_equal(d.out.len, 0);
        bytes_free(&d.out);
    }
    bytes_free(&gz);
    bytes_free(&text);
}

static void test_zstd_skippable_frames_are_skipped(void **state) {
    (void)state;
    bytes text = make_text(20000, 42);
    bytes zst = zstd_of(&text, true);
    bytes in = {NULL, 0, 0};
    append_skippable_frame(&in, 0x0, 12); /* first: the codec must still be found */
    append(&in, zst.data, zst.len);
    append_skippable_frame(&in, 0xf, 0);
    append(&in, zst.data, zst.len);
    bytes twice = {NULL, 0, 0};
    append(&twice, text.data, text.len);
    append(&twice, text.data, text.len);
    for (size_t s = 0; s < NSTEPS; s++) {
        decoded d = decode_steps(&in, steps[s][0], steps[s][1]);
        assert_int_equal(d.status, FLOE_OK);
        assert_int_equal(d.codec, FLOE_CODEC_ZSTD);
        assert_int_equal(d.out.len, twice.len);
        assert_memory_equal(d.out.data, twice.data, twice.len);
        bytes_free(&d.out);
    }
    bytes_free(&twice);
    bytes_free(&in);
    bytes_free(&zst);
    bytes_free(&text);
}

static void test_garbage_after_gzip_member_is_corrupt(void **state) {
    (void)state;
    bytes text = make_text(20000, 20);
    bytes gz = gzip_of(&text);
    expect_garbage_rejected(&gz, &text, "hello\n", 6, 0);
    expect_garbage_rejected(&gz, &text, "2 1234 eni-1 ...\n", 17, 100);
    expect_garbage_rejected(&gz, &text, "\x01", 1, 3);
    bytes_free(&gz);
    bytes_free(&text);
}

static void test_garbage_after_zstd_frame_is_corrupt(void **state) {
    (void)state;
    bytes text = make_text(20000, 21);
    bytes zst = zstd_of(&text, false);
    expect_garbage_rejected(&zst, &text, "\x01", 1, 5);
    /* Not a frame magic: zstd itself says corrupt; it may read the 4-byte magic first. */
    bytes in = {NULL, 0, 0};
    append(&in, zst.data, zst.len);
    append(&in, "hello world", 11);
    decoded d = decode_steps(&in, 4096, 4096);
    assert_int_equal(d.status, FLOE_ERR_CORRUPT);
    assert_int_equal(d.members, 1);
    assert_int_equal(d.out.len, text.len);
    assert_true(d.error_offset >= zst.len && d.error_offset <= in.len);
    bytes_free(&d.out);
    bytes_free(&in);
    bytes_free(&zst);
    bytes_free(&text);
}

/* ---- reuse ---------------------------------------------------------------------------------- */

/* One decoder per worker serves file after file, whatever their codecs and fates. */
static void test_decoder_is_reusable_across_streams(void **state) {
    (void)state;
    bytes text = make_text(30000, 22);
    bytes gz = gzip_of(&text), zst = zstd_of(&text, false);
    const bytes inputs[] = {gz,   {gz.data, gz.len / 2, 0},   zst,
                            text, {zst.data, zst.len - 3, 0}, gz};
    const floe_status expected[] = {FLOE_OK, FLOE_ERR_TRUNCATED, FLOE_OK,
                                    FLOE_OK, FLOE_ERR_TRUNCATED, FLOE_OK};
    floe_decoder *dec = floe_decoder_new();
    assert_non_null(dec);
    size_t out_cap = 1 << 20;
    uint8_t *out = malloc(out_cap);
    assert_non_null(out);
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        assert_int_equal(floe_decoder_start(dec, inputs[i].data, 4), FLOE_OK);
        size_t used = 0, written = 0;
        bool finished = false;
        floe_status status = floe_decoder_run(dec, inputs[i].data, inputs[i].len, true, &used, out,
                                              out_cap, &written, &finished);
        assert_int_equal(status, expected[i]);
        assert_int_equal(finished, status == FLOE_OK);
        if (status == FLOE_OK) {
            assert_int_equal(written, text.len);
            assert_memory_equal(out, text.data, text.len);
        }
    }
    free(out);
    floe_decoder_free(dec);
    bytes_free(&gz);
    bytes_free(&zst);
    bytes_free(&text);
}

static void test_run_before_start_is_invalid(void **state) {
    (void)state;
    floe_decoder *dec = floe_decoder_new();
    assert_non_null(dec);
    uint8_t out[16];
    size_t used = 0, written = 0;
    bool finished = true;
    assert_int_equal(floe_decoder_run(dec, (const uint8_t *)"x", 1, true, &used, out, sizeof(out),
                                      &written, &finished),
                     FLOE_ERR_INVALID);
    assert_false(finished);
    floe_decoder_free(dec);
    floe_decoder_free(NULL);
}

/* Reads tests/data/NAME (FLOE_TEST_DATA is set by ctest). */
static bytes read_data_file(const char *name) {
    const char *dir = getenv("FLOE_TEST_DATA");
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    bytes b = {NULL, 0, 0};
    uint8_t buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;)
        append(&b, buf, n);
    fclose(f);
    return b;
}

/* Decodes `in` whole with dec (started here); returns the text and the status. */
static bytes decode_with(floe_decoder *dec, const bytes *in, floe_status *status) {
    assert_int_equal(floe_decoder_start(dec, in->data, in->len), FLOE_OK);
    bytes out = {NULL, 0, 0};
    uint8_t buf[1 << 16];
    size_t pos = 0;
    bool finished = false;
    *status = FLOE_OK;
    while (!finished && *status == FLOE_OK) {
        size_t used = 0, written = 0;
        *status = floe_decoder_run(dec, in->data + pos, in->len - pos, true, &used, buf,
                                   sizeof(buf), &written, &finished);
        append(&out, buf, written);
        pos += used;
    }
    return out;
}

static void test_damaged_member_decodes_the_same_whatever_came_before(void **state) {
    (void)state;
    /* A member whose deflate data (damaged) refers back past the member's start: ISA-L takes
     * those bytes from its history. A fresh decoder and one that just read another file must
     * deliver the same bytes, or results would depend on which worker read which file. */
    bytes before = read_data_file("gzip_plain_member.log.gz");
    bytes damaged = read_data_file("gzip_distance_too_far.log.gz");
    floe_decoder *fresh = floe_decoder_new(), *used = floe_decoder_new();
    assert_non_null(fresh);
    assert_non_null(used);
    floe_status s_fresh, s_before, s_used;
    bytes a = decode_with(fresh, &damaged, &s_fresh);
    bytes ignored = decode_with(used, &before, &s_before);
    assert_int_equal(s_before, FLOE_OK);
    bytes b = decode_with(used, &damaged, &s_used);
    assert_int_equal(s_fresh, s_used);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    floe_decoder_free(fresh);
    floe_decoder_free(used);
    bytes_free(&before);
    bytes_free(&damaged);
    bytes_free(&a);
    bytes_free(&b);
    bytes_free(&ignored);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_member_decodes_the_same_whatever_came_before),
        cmocka_unit_test(test_detect_by_magic_not_name),
        cmocka_unit_test(test_plain_passes_through),
        cmocka_unit_test(test_empty_input_is_empty_plain_text),
        cmocka_unit_test(test_gzip_single_member),
        cmocka_unit_test(test_gzip_large_member_in_big_steps),
        cmocka_unit_test(test_gzip_multi_member),
        cmocka_unit_test(test_zstd_single_frame),
        cmocka_unit_test(test_zstd_large_frame_in_big_steps),
        cmocka_unit_test(test_zstd_multi_frame),
        cmocka_unit_test(test_zero_padding_after_last_member_is_accepted),
        cmocka_unit_test(test_truncated_gzip),
        cmocka_unit_test(test_truncated_zstd),
        cmocka_unit_test(test_truncated_second_member_keeps_first),
        cmocka_unit_test(test_gzip_bad_crc_is_corrupt_after_all_text),
        cmocka_unit_test(test_gzip_damaged_data_is_corrupt),
        cmocka_unit_test(test_gzip_bad_header_is_corrupt),
        cmocka_unit_test(test_zstd_damaged_data_is_corrupt),
        cmocka_unit_test(test_zstd_bad_checksum_is_corrupt),
        cmocka_unit_test(test_zstd_window_over_limit_is_unsupported),
        cmocka_unit_test(test_gzip_header_with_every_optional_field),
        cmocka_unit_test(test_gzip_header_crc_mismatch_is_corrupt_at_the_crc),
        cmocka_unit_test(test_zstd_skippable_frames_are_skipped),
        cmocka_unit_test(test_garbage_after_gzip_member_is_corrupt),
        cmocka_unit_test(test_garbage_after_zstd_frame_is_corrupt),
        cmocka_unit_test(test_decoder_is_reusable_across_streams),
        cmocka_unit_test(test_run_before_start_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
