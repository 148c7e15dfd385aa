/* Scalar, SSE2 and AVX2 scans give identical parses of generated flow-log files: every row,
 * every null, every line number and every bad line, whole and fed in random pieces.
 * Usage: test_simd_generated FILE... (plain text, e.g. from floe-gen --codec plain). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "floe_test_digest.h"

static int file_count;
static char **file_paths;

static char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *len_out = (size_t)len;
    return text;
}

static void test_every_scan_level_parses_generated_files_identically(void **state) {
    (void)state;
    assert_true(file_count > 0);
    uint64_t total_records = 0;
    for (int i = 0; i < file_count; i++) {
        size_t len;
        char *text = read_file(file_paths[i], &len);
        floe_parse_stats want_stats, stats;
        /* The reference: every line through the byte-by-byte tokenizer. */
        uint64_t want =
            floe_test_digest_parse(text, len, FLOE_SIMD_SCALAR, FLOE_FEED_LINES, &want_stats);
        for (int level = FLOE_SIMD_SCALAR; level <= FLOE_SIMD_AVX2; level++) {
            for (int feed = FLOE_FEED_WHOLE; feed <= FLOE_FEED_PIECES; feed++) {
                uint64_t got = floe_test_digest_parse(text, len, (floe_simd)level,
                                                      (floe_test_feed)feed, &stats);
                if (got != want)
                    fail_msg("%s: %s scan (feed %d) differs from line-at-a-time", file_paths[i],
                             floe_simd_name((floe_simd)level), feed);
                assert_memory_equal(&stats, &want_stats, sizeof(stats));
            }
        }
        assert_true(want_stats.records > 0);
        assert_int_equal(want_stats.bad_lines, 0); /* the generator writes only good lines */
        total_records += want_stats.records;
        free(text);
    }
    print_message("%d files, %llu records: scalar, sse2 and avx2 (as run: %s) agree with the "
                  "line-at-a-time parse\n",
                  file_count, (unsigned long long)total_records,
                  floe_simd_name(floe_scan_effective_level(FLOE_SIMD_AVX2)));
}

int main(int argc, char **argv) {
    file_count = argc - 1;
    file_paths = argv + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_scan_level_parses_generated_files_identically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
