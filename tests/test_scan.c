/* The delimiter scan: every implementation gives the scalar one's masks, and FLOE_SIMD caps
 * the level chosen at start-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "floe_scan.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_every_level_matches_scalar(void **state) {
    (void)state;
    floe_scan_block_fn scalar = floe_scan_block_impl(FLOE_SIMD_SCALAR);
    /* Bytes drawn mostly from the delimiters and their neighbours, plus high bytes (signed
     * char traps) and zero. */
    const uint8_t alphabet[] = {' ', '\r', '\n', '\t', 'a',  '0',
                                '-', 0,    0x80, 0xff, 0x0b, 0x20 + 1};
    for (int level = FLOE_SIMD_SSE2; level <= FLOE_SIMD_AVX2; level++) {
        floe_scan_block_fn impl = floe_scan_block_impl((floe_simd)level);
        for (int round = 0; round < 20000; round++) {
            uint8_t block[64];
            for (int i = 0; i < 64; i++)
                block[i] = alphabet[next_random() % sizeof(alphabet)];
            floe_scan_masks want = scalar(block), got = impl(block);
            assert_int_equal(got.separators, want.separators);
            assert_int_equal(got.newlines, want.newlines);
        }
    }
}

static void test_scalar_masks_mark_exact_positions(void **state) {
    (void)state;
    uint8_t block[64];
    for (int i = 0; i < 64; i++)
        block[i] = 'x';
    block[0] = ' ';
    block[5] = '\r';
    block[6] = '\n';
    block[63] = ' ';
    for (int level = FLOE_SIMD_SCALAR; level <= FLOE_SIMD_AVX2; level++) {
        floe_scan_masks m = floe_scan_block_impl((floe_simd)level)(block);
        assert_int_equal(m.separators,
                         (UINT64_C(1) << 0) | (UINT64_C(1) << 5) | (UINT64_C(1) << 63));
        assert_int_equal(m.newlines, UINT64_C(1) << 6);
    }
}

static void test_floe_simd_scalar_forces_scalar(void **state) {
    (void)state;
    /* Must run before anything asks for the default level (it is read once). */
    setenv("FLOE_SIMD", "scalar", 1);
    assert_int_equal(floe_scan_default_level(), FLOE_SIMD_SCALAR);
    assert_string_equal(floe_simd_name(floe_scan_default_level()), "scalar");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floe_simd_scalar_forces_scalar),
        cmocka_unit_test(test_every_level_matches_scalar),
        cmocka_unit_test(test_scalar_masks_mark_exact_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
