/* Large-table memory (core/floe_mem): every block comes zeroed, and growing keeps the bytes
 * already there and zeroes the rest, whether the block stays small, turns large, or moves its
 * pages to a bigger mapping; arrays reserved by doubling keep their items. Freed large blocks'
 * pages are kept and reused: a scratch block may get them as they were, a zeroed block or a
 * grown tail never shows their old bytes, blocks pieced together from several kept ones work
 * like any other, and trimming gives them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define MIB ((size_t)1 << 20)

/* Fills a block's old_size bytes and grows it: they must stay, and the rest be zero. */
static uint8_t *grow_checked(uint8_t *block, size_t old_size, size_t new_size, uint8_t seed) {
    fill(block, old_size, seed);
    uint8_t *grown = floe_mem_grow(block, old_size, new_size);
    assert_non_null(grown);
    assert_filled(grown, old_size, seed);
    assert_zero(grown + old_size, new_size - old_size);
    return grown;
}

/* Fills a block, frees it, and checks that the next scratch block of its size is that block,
 * bytes and all (the newest kept block big enough is reused in place); frees that too. */
static void assert_reused_as_scratch(uint8_t *block, size_t size, uint8_t seed) {
    fill(block, size, seed);
    floe_mem_free(block, size);
    uint8_t *again = floe_mem_scratch(size);
    assert_ptr_equal(again, block);
    assert_filled(again, size, seed);
    floe_mem_free(again, size);
}

static void test_scratch_reuses_a_freed_block_as_it_was(void **state) {
    (void)state;
    floe_mem_trim();
    uint8_t *p = floe_mem_alloc(6 * MIB);
    assert_non_null(p);
    assert_reused_as_scratch(p, 6 * MIB, 11);
    floe_mem_trim();
}

/* Kept pages go to scratch blocks only, moved as they are; zeroed blocks and grown tails are
 * zero whatever is kept. */
static void test_kept_pages_come_back_zeroed_where_zeros_are_due(void **state) {
    (void)state;
    floe_mem_trim();
    uint8_t *a = floe_mem_alloc(4 * MIB), *b = floe_mem_alloc(4 * MIB);
    assert_non_null(a);
    assert_non_null(b);
    fill(a, 4 * MIB, 1);
    fill(b, 4 * MIB, 2);
    floe_mem_free(a, 4 * MIB);
    floe_mem_free(b, 4 * MIB);
    /* A zeroed block never takes kept pages. */
    uint8_t *c = floe_mem_alloc(8 * MIB);
    assert_non_null(c);
    assert_zero(c, 8 * MIB);
    fill(c, 8 * MIB, 3);
    floe_mem_free(c, 8 * MIB);
    /* Neither kept 4 MiB block holds 8 MiB of scratch: both move into a new one, as they were
     * (c, freed last, is used first, in place). */
    uint8_t *again = floe_mem_scratch(8 * MIB);
    assert_ptr_equal(again, c);
    uint8_t *pieced = floe_mem_scratch(8 * MIB);
    assert_non_null(pieced);
    const bool b_first = pieced[0] == (uint8_t)2;
    assert_filled(pieced, 4 * MIB, b_first ? 2 : 1);
    assert_filled(pieced + 4 * MIB, 4 * MIB, b_first ? 1 : 2);
    floe_mem_free(pieced, 8 * MIB);
    floe_mem_free(again, 8 * MIB);
    /* Grown while pages are kept: the old bytes stay, the tail is zero. */
    uint8_t *d = floe_mem_alloc(2 * MIB);
    assert_non_null(d);
    floe_mem_free(grow_checked(d, 2 * MIB, 10 * MIB, 4), 10 * MIB);
    /* Small to large, with kept pages about. */
    uint8_t *f = floe_mem_alloc(1000);
    assert_non_null(f);
    floe_mem_free(grow_checked(f, 1000, 7 * MIB, 5), 7 * MIB);
    floe_mem_trim();
}

/* A block pieced together from kept blocks (several mappings) is freed, kept, reused and
 * grown like any other: its pages move 2 MiB at a time. */
static void test_pieced_blocks_grow_and_free_like_others(void **state) {
    (void)state;
    floe_mem_trim();
    uint8_t *parts[3];
    for (int i = 0; i < 3; i++) {
        parts[i] = floe_mem_alloc(2 * MIB);
        assert_non_null(parts[i]);
        fill(parts[i], 2 * MIB, (uint8_t)(20 + i));
    }
    for (int i = 0; i < 3; i++)
        floe_mem_free(parts[i], 2 * MIB);
    uint8_t *pieced = floe_mem_scratch(6 * MIB);
    assert_non_null(pieced);
    uint8_t *grown = grow_checked(pieced, 6 * MIB, 12 * MIB, 30);
    assert_reused_as_scratch(grown, 12 * MIB, 31);
    floe_mem_trim();
    /* Nothing kept after a trim: a new block is a fresh mapping, zero. */
    uint8_t *fresh = floe_mem_scratch(12 * MIB);
    assert_non_null(fresh);
    assert_zero(fresh, 12 * MIB);
    floe_mem_free(fresh, 12 * MIB);
    floe_mem_trim();
}

/* Large blocks are counted while mapped (kept pages too); past the limit an allocation gives
 * the kept pages back, then fails, and says so. */
static void test_the_limit_refuses_large_blocks_past_it(void **state) {
    (void)state;
    floe_mem_trim();
    const size_t base = floe_mem_mapped();
    uint8_t *a = floe_mem_alloc(3 * MIB); /* 4 MiB mapped */
    assert_non_null(a);
    assert_int_equal(floe_mem_mapped(), base + 4 * MIB);
    assert_true(floe_mem_mapped_peak() >= base + 4 * MIB);
    fill(a, 4 * MIB, 7);
    floe_mem_free(a, 3 * MIB); /* kept: still mapped */
    assert_int_equal(floe_mem_mapped(), base + 4 * MIB);
    floe_mem_set_limit(base + 6 * MIB);
    assert_int_equal(floe_mem_limit(), base + 6 * MIB);
    assert_false(floe_mem_limit_reached());
    /* 6 MiB fits only once the kept 4 MiB are given back. */
    uint8_t *b = floe_mem_alloc(6 * MIB);
    assert_non_null(b);
    assert_int_equal(floe_mem_mapped(), base + 6 * MIB);
    assert_false(floe_mem_limit_reached());
    assert_null(floe_mem_alloc(2 * MIB)); /* nothing kept to give back: refused */
    assert_true(floe_mem_limit_reached());
    assert_null(floe_mem_grow(b, 6 * MIB, 8 * MIB)); /* b stays as it was */
    assert_int_equal(floe_mem_mapped(), base + 6 * MIB);
    uint8_t *small = floe_mem_alloc(4096); /* small blocks are not counted */
    assert_non_null(small);
    floe_mem_free(small, 4096);
    floe_mem_set_limit(0);
    uint8_t *c = floe_mem_grow(b, 6 * MIB, 8 * MIB);
    assert_non_null(c);
    assert_int_equal(floe_mem_mapped(), base + 8 * MIB);
    floe_mem_free(c, 8 * MIB);
    floe_mem_trim();
    assert_int_equal(floe_mem_mapped(), base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_keeps_bytes_and_zeroes_the_rest),
        cmocka_unit_test(test_reserve_doubles_and_keeps_items),
        cmocka_unit_test(test_scratch_reuses_a_freed_block_as_it_was),
        cmocka_unit_test(test_kept_pages_come_back_zeroed_where_zeros_are_due),
        cmocka_unit_test(test_pieced_blocks_grow_and_free_like_others),
        cmocka_unit_test(test_the_limit_refuses_large_blocks_past_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
