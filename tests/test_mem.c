/* Large-table memory (core/floe_mem): every block comes zeroed, and growing keeps the bytes
 * already there and zeroes the rest, whether the block stays small, turns large, or moves its
 * pages to a bigger mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "floe_mem.h"

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static void assert_filled(const uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed + i * 7)) fail_msg("byte %zu changed", i);
}

static void assert_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) fail_msg("byte %zu not zero", i);
}

static void test_grow_keeps_bytes_and_zeroes_the_rest(void **state) {
    (void)state;
    const size_t sizes[] = {1000, 300000, 3u << 20, 3u << 20, 5u << 20, 9u << 20, 40u << 20};
    size_t old = sizes[0];
    uint8_t *p = floe_mem_alloc(old);
    assert_non_null(p);
    assert_zero(p, old);
    fill(p, old, 3);
    for (size_t i = 1; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *q = floe_mem_grow(p, old, sizes[i]);
        assert_non_null(q);
        assert_filled(q, old, 3);
        assert_zero(q + old, sizes[i] - old);
        fill(q, sizes[i], 3);
        p = q;
        old = sizes[i];
    }
    floe_mem_free(p, old);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_keeps_bytes_and_zeroes_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
