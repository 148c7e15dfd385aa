/* The probe log (core/floe_detect_probes.c): a log that folds itself as it fills holds the same
 * probes, after the last fold, as one that never folded, and its array stays bounded by the
 * distinct probes rather than growing with the records; logs joined from several threads fold
 * to the same result whichever thread saw which probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "floe_detect_tables.h"

static uint64_t next(uint64_t *x) {
    *x = *x * 6364136223846793005u + 1442695040888963407u;
    uint64_t z = *x ^ *x >> 31;
    z *= 0x9e3779b97f4a7c15u;
    return z ^ z >> 29;
}

/* Probe i of a run drawn from a small key space (so keys repeat), some IPv6, some without a
 * start (window 0). */
static floe_probe probe_of(uint64_t *x) {
    floe_probe p;
    memset(&p, 0, sizeof p);
    const uint64_t r = next(x);
    if (r % 10 == 0) {
        memset(p.src.bytes, 0, 16);
        p.src.bytes[0] = 0x20;
        p.src.bytes[1] = 0x01;
        p.src.bytes[15] = (uint8_t)(r >> 8 & 3);
        p.dst = p.src;
        p.dst.bytes[14] = 9;
    } else {
        floe_addr_from_v4(0x2d000000u + (uint32_t)(r >> 8 & 7), &p.src);
        floe_addr_from_v4(0x0a000000u + (uint32_t)(r >> 12 & 15), &p.dst);
    }
    const bool has_start = r % 13 != 0;
    p.first = has_start ? 1000000 + (int64_t)(next(x) % 3000) : INT64_MAX;
    p.last = has_start ? p.first + (int64_t)(r >> 20 & 7) : INT64_MIN;
    p.window = has_start ? floe_detect_window_of(p.first, 600) : 0;
    p.packets = 1 + (r >> 24 & 1);
    p.bytes = 40 + (r >> 26 & 31);
    p.flows = 1;
    p.rejected = (uint32_t)(r >> 31 & 1);
    p.port = (uint16_t)(20 + (r >> 32 & 3));
    p.proto = r >> 36 & 1 ? 6 : 17;
    return p;
}

static void assert_logs_equal(const floe_probe_log *a, const floe_probe_log *b) {
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(floe_probe_cmp(&a->items[i], &b->items[i]), 0);
        assert_int_equal(a->items[i].flows, b->items[i].flows);
        assert_int_equal(a->items[i].rejected, b->items[i].rejected);
        assert_int_equal(a->items[i].packets, b->items[i].packets);
        assert_int_equal(a->items[i].bytes, b->items[i].bytes);
        assert_int_equal(a->items[i].first, b->items[i].first);
        assert_int_equal(a->items[i].last, b->items[i].last);
    }
}

static void test_folding_as_it_fills_equals_folding_once(void **state) {
    (void)state;
    enum { RECORDS = 200000 };
    floe_probe_log folding = {.fold_from = 64}, once = {0};
    uint64_t x = 7;
    size_t max_cap = 0;
    for (size_t i = 0; i < RECORDS; i++) {
        const floe_probe p = probe_of(&x);
        floe_probe *a = floe_probe_log_append(&folding), *b = floe_probe_log_append(&once);
        assert_non_null(a);
        assert_non_null(b);
        *a = p;
        *b = p;
        if (folding.cap > max_cap) max_cap = folding.cap;
    }
    assert_int_equal(once.n, RECORDS);
    assert_int_equal(floe_probe_log_fold(&folding), FLOE_OK);
    assert_int_equal(floe_probe_log_fold(&once), FLOE_OK);
    assert_logs_equal(&folding, &once);
    /* Thousands of distinct probes, not the records: the array never grew past four times
     * that (it doubles only when a fold frees less than half). */
    print_message("%zu records, %zu distinct probes, largest array %zu\n", (size_t)RECORDS, once.n,
                  max_cap);
    assert_true(once.n > 1000 && once.n < RECORDS / 10);
    assert_true(max_cap <= 4 * once.n);
    /* Sorted: IPv4 first, each family in floe_probe_cmp's order, no two equal. */
    for (size_t i = 1; i < once.n; i++) {
        const bool v4a = floe_addr_is_v4(&once.items[i - 1].src),
                   v4b = floe_addr_is_v4(&once.items[i].src);
        if (v4a == v4b)
            assert_true(floe_probe_cmp(&once.items[i - 1], &once.items[i]) < 0);
        else
            assert_true(v4a && !v4b);
    }
    floe_probe_log_free(&folding);
    floe_probe_log_free(&once);
}

static void test_joined_thread_logs_fold_like_one(void **state) {
    (void)state;
    enum { RECORDS = 50000, THREADS = 3 };
    floe_probe_log one = {0}, part[THREADS] = {{.fold_from = 128}, {.fold_from = 128}, {0}},
                   joined = {0};
    uint64_t x = 99;
    for (size_t i = 0; i < RECORDS; i++) {
        const floe_probe p = probe_of(&x);
        *floe_probe_log_append(&one) = p;
        *floe_probe_log_append(&part[next(&x) % THREADS]) = p;
    }
    /* Joined in reverse order, as threads might finish. */
    for (int t = THREADS - 1; t >= 0; t--) {
        assert_int_equal(floe_probe_log_take(&joined, &part[t]), FLOE_OK);
        assert_int_equal(part[t].n, 0);
    }
    assert_int_equal(floe_probe_log_fold(&joined), FLOE_OK);
    assert_int_equal(floe_probe_log_fold(&one), FLOE_OK);
    assert_logs_equal(&joined, &one);
    floe_probe_log_free(&joined);
    floe_probe_log_free(&one);
    for (int t = 0; t < THREADS; t++)
        floe_probe_log_free(&part[t]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folding_as_it_fills_equals_folding_once),
        cmocka_unit_test(test_joined_thread_logs_fold_like_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
