/* Beaconing's per-pair connection starts (core/floe_beacon): a set split over several threads'
 * sets and gathered, in any order of the sets, holds the same entries as one set; a pair
 * saturates exactly when its entries in all pass the cap, whichever set held them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "floe_beacon.h"

static floe_beacon_key key_of(uint32_t i) {
    floe_beacon_key k;
    memset(&k, 0, sizeof k);
    floe_addr_from_v4(0x0a000000u + i % 50, &k.src);
    floe_addr_from_v4(0x2d000000u + i % 7, &k.dst);
    k.port = (uint16_t)(443 + i % 3);
    k.proto = 6;
    return k;
}

static int entry_cmp(const void *a, const void *b) {
    const floe_beacon_entry *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->sport > y->sport) - (x->sport < y->sport);
}

/* Entries of key in the sets, sorted, into out (room for cap); returns the count, or -1
 * saturated. */
static long sorted_entries(floe_beacon_set *const *sets, size_t nsets, const floe_beacon_key *k,
                           floe_beacon_entry *out, size_t cap) {
    floe_beacon_entry *e = NULL;
    size_t n, e_cap = 0;
    bool sat;
    assert_int_equal(floe_beacon_gather(sets, nsets, k, &e, &e_cap, &n, &sat), FLOE_OK);
    if (sat) {
        free(e);
        return -1;
    }
    assert_true(n <= cap);
    if (n) memcpy(out, e, n * sizeof *e);
    free(e);
    qsort(out, n, sizeof *out, entry_cmp);
    return (long)n;
}

static void test_split_and_gathered_equals_one_set(void **state) {
    (void)state;
    enum { RECORDS = 20000, PARTS = 4, CAP = 400 };
    floe_beacon_set *one = floe_beacon_set_new(CAP);
    floe_beacon_set *part[PARTS], *reversed[PARTS];
    for (int p = 0; p < PARTS; p++)
        part[p] = floe_beacon_set_new(CAP);
    uint64_t x = 12345;
    for (uint32_t i = 0; i < RECORDS; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        /* Pair 0 gets far more records than the cap, so it saturates. */
        floe_beacon_key k = key_of(i % 5 == 0 ? 0 : i);
        floe_beacon_entry e = {(int64_t)(x >> 40), (int64_t)(x >> 40) + 2,
                               (int32_t)(x >> 20 & 0xffff)};
        assert_int_equal(floe_beacon_add(one, &k, &e), FLOE_OK);
        assert_int_equal(floe_beacon_add(part[x >> 62], &k, &e), FLOE_OK);
    }
    /* Gathered in reverse order too, as threads might finish. */
    for (int p = 0; p < PARTS; p++)
        reversed[p] = part[PARTS - 1 - p];
    floe_beacon_entry a[CAP], b[CAP], c[CAP];
    size_t saturated = 0, nonempty = 0;
    for (uint32_t i = 0; i < 1050; i++) {
        floe_beacon_key k = key_of(i);
        long na = sorted_entries(&one, 1, &k, a, CAP), nb = sorted_entries(part, PARTS, &k, b, CAP);
        long nc = sorted_entries(reversed, PARTS, &k, c, CAP);
        assert_int_equal(na, nb);
        assert_int_equal(na, nc);
        if (na < 0) {
            saturated++;
            continue;
        }
        nonempty += na > 0;
        assert_memory_equal(a, b, (size_t)na * sizeof *a);
        assert_memory_equal(a, c, (size_t)na * sizeof *a);
    }
    assert_true(saturated > 0);
    assert_true(nonempty > 100);
    floe_beacon_key unknown = key_of(0);
    unknown.port = 1;
    assert_int_equal(sorted_entries(part, PARTS, &unknown, a, CAP), 0);
    floe_beacon_set_free(one);
    for (int p = 0; p < PARTS; p++)
        floe_beacon_set_free(part[p]);
}

static void test_saturation_depends_on_the_total_only(void **state) {
    (void)state;
    /* 3 + 3 entries against a cap of 5: neither part saturates, the union does; 3 + 2 fit. */
    floe_beacon_set *p[3] = {floe_beacon_set_new(5), floe_beacon_set_new(5),
                             floe_beacon_set_new(5)};
    floe_beacon_key k = key_of(1);
    for (int i = 0; i < 3; i++) {
        floe_beacon_entry e = {i, i, i};
        assert_int_equal(floe_beacon_add(p[0], &k, &e), FLOE_OK);
        e.start += 100;
        assert_int_equal(floe_beacon_add(p[1], &k, &e), FLOE_OK);
        if (i < 2) assert_int_equal(floe_beacon_add(p[2], &k, &e), FLOE_OK);
    }
    size_t n;
    bool sat;
    floe_beacon_find(p[0], &k, &n, &sat);
    assert_false(sat);
    assert_int_equal(n, 3);
    floe_beacon_entry out[8];
    assert_int_equal(sorted_entries(p, 2, &k, out, 8), -1);
    assert_int_equal(sorted_entries((floe_beacon_set *[]){p[0], p[2]}, 2, &k, out, 8), 5);
    for (int i = 0; i < 3; i++)
        floe_beacon_set_free(p[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_gathered_equals_one_set),
        cmocka_unit_test(test_saturation_depends_on_the_total_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
