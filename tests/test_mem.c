/* Large-table memory (core/floe_mem): every block comes zeroed, and growing keeps the bytes
 * already there and zeroes the rest, whether the block stays small, turns large, or moves its
 * pages to a bigger mapping; arrays reserved by doubling keep their items. */
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

static void test_reserve_doubles_and_keeps_items(void **state) {
    (void)state;
    size_t cap = 0;
    uint32_t *items = floe_mem_reserve(NULL, &cap, 3, sizeof *items, 4);
    assert_non_null(items);
    assert_int_equal(cap, 4);
    for (uint32_t i = 0; i < 4; i++)
        items[i] = i * 3;
    /* 300,000 items of 4 bytes pass 2 MiB: the block turns large on the way. */
    items = floe_mem_reserve(items, &cap, 600000, sizeof *items, 4);
    assert_non_null(items);
    assert_int_equal(cap, 1u << 20);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(items[i], i * 3);
    assert_int_equal(items[600000], 0);
    assert_ptr_equal(floe_mem_reserve(items, &cap, 1000, sizeof *items, 4), items); /* room */
    size_t huge = cap;
    assert_null(floe_mem_reserve(items, &huge, SIZE_MAX / 2, sizeof *items, 4));
    assert_int_equal(huge, cap); /* untouched */
    floe_mem_free(items, cap * sizeof *items);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_keeps_bytes_and_zeroes_the_rest),
        cmocka_unit_test(test_reserve_doubles_and_keeps_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
