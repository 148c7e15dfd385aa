/* Distinct-count sketches: exact counts up to the threshold, promotion one past it, estimates
 * within three standard errors, a state that depends only on the set (any order of adds, any
 * partition, any merge order), the wire format round trip, and corrupt input rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_distinct.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* xorshift64*: a seeded generator, so every run draws the same values. */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(0x2545f4914f6cdd1d);
}
static uint32_t rng_below(uint64_t *s, uint32_t n) {
    return (uint32_t)(rng_next(s) % n);
}

static void shuffle(uint64_t *v, size_t n, uint64_t *s) {
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_next(s) % i;
        uint64_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* n distinct hashes: the mixer is a bijection, so distinct inputs give distinct hashes. */
static uint64_t *distinct_hashes(size_t n, uint64_t first) {
    uint64_t *v = malloc((n ? n : 1) * sizeof(uint64_t));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = floe_distinct_hash_u64(first + i);
    return v;
}

static void add_all(floe_distinct *d, const uint64_t *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        assert_int_equal(floe_distinct_add(d, v[i]), FLOE_OK);
}

static void sketch_of(floe_distinct *d, const uint64_t *v, size_t n) {
    floe_distinct_init(d);
    add_all(d, v, n);
}

typedef struct wire {
    size_t len;
    uint8_t bytes[FLOE_DISTINCT_SERIALIZED_MAX];
} wire;

static wire wire_of(const floe_distinct *d) {
    wire w;
    w.len = floe_distinct_serialized_size(d);
    assert_true(w.len <= sizeof(w.bytes));
    assert_int_equal(floe_distinct_serialize(d, w.bytes), w.len);
    return w;
}

static void assert_same_state(const floe_distinct *a, const floe_distinct *b) {
    wire wa = wire_of(a), wb = wire_of(b);
    assert_int_equal(wa.len, wb.len);
    assert_memory_equal(wa.bytes, wb.bytes, wa.len);
    assert_int_equal(floe_distinct_is_exact(a), floe_distinct_is_exact(b));
    assert_int_equal(floe_distinct_estimate(a), floe_distinct_estimate(b));
}

/* An independent copy, through the wire format. */
static void copy_of(const floe_distinct *from, floe_distinct *to) {
    wire w = wire_of(from);
    assert_int_equal(floe_distinct_deserialize(w.bytes, w.len, to), FLOE_OK);
}

/* Deserializes from a heap buffer of exactly n bytes, so ASan sees any read past the end. */
static floe_status deserialize_exact_buffer(const uint8_t *bytes, size_t n, floe_distinct *out) {
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n) memcpy(copy, bytes, n);
    floe_status status = floe_distinct_deserialize(copy, n, out);
    free(copy);
    return status;
}

/* ---- exact counting ----------------------------------------------------------------------- */

static void test_empty_sketch_is_exact_and_counts_zero(void **state) {
    (void)state;
    floe_distinct d;
    floe_distinct_init(&d);
    assert_true(floe_distinct_is_exact(&d));
    assert_int_equal(floe_distinct_estimate(&d), 0);
    assert_int_equal(floe_distinct_estimate_classic(&d), 0);
    assert_int_equal(floe_distinct_heap_bytes(&d), 0);
    wire w = wire_of(&d);
    const uint8_t want[] = {1, 0, 0};
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(w.bytes, want, sizeof(want));
    floe_distinct zeroed;
    memset(&zeroed, 0, sizeof(zeroed));
    assert_same_state(&d, &zeroed);
    floe_distinct_free(&d);
    floe_distinct_free(&d); /* free leaves it empty, so twice is harmless */
}

static void test_counts_exactly_up_to_the_threshold(void **state) {
    (void)state;
    uint64_t *v = distinct_hashes(FLOE_DISTINCT_EXACT_MAX, 1000);
    floe_distinct d;
    floe_distinct_init(&d);
    for (uint32_t k = 1; k <= FLOE_DISTINCT_EXACT_MAX; k++) {
        assert_int_equal(floe_distinct_add(&d, v[k - 1]), FLOE_OK);
        assert_true(floe_distinct_is_exact(&d));
        assert_int_equal(floe_distinct_estimate(&d), k);
        assert_int_equal(floe_distinct_estimate_classic(&d), k);
    }
    floe_distinct_free(&d);
    free(v);
}

static void test_exact_memory_is_inline_then_grows_by_doubling(void **state) {
    (void)state;
    uint64_t *v = distinct_hashes(FLOE_DISTINCT_EXACT_MAX + 1, 7);
    const size_t want[] = {0, 0, 32, 32, 32, 64, 64, 64, 64, 128};
    floe_distinct d;
    floe_distinct_init(&d);
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        if (k > 0) assert_int_equal(floe_distinct_add(&d, v[k - 1]), FLOE_OK);
        assert_int_equal(floe_distinct_heap_bytes(&d), want[k]);
    }
    add_all(&d, v, FLOE_DISTINCT_EXACT_MAX);
    assert_int_equal(floe_distinct_heap_bytes(&d), FLOE_DISTINCT_EXACT_MAX * 8);
    add_all(&d, v, FLOE_DISTINCT_EXACT_MAX + 1);
    assert_int_equal(floe_distinct_heap_bytes(&d), FLOE_DISTINCT_REGISTERS);
    floe_distinct_free(&d);
    assert_int_equal(floe_distinct_heap_bytes(&d), 0);
    free(v);
}

static void test_duplicates_are_ignored(void **state) {
    (void)state;
    uint64_t seed = 11;
    enum { N = FLOE_DISTINCT_EXACT_MAX, COPIES = 5 };
    uint64_t *v = distinct_hashes(N, 500);
    uint64_t many[N * COPIES];
    for (size_t i = 0; i < N * COPIES; i++)
        many[i] = v[i % N];
    shuffle(many, N * COPIES, &seed);
    floe_distinct once, repeated;
    sketch_of(&once, v, N);
    sketch_of(&repeated, many, N * COPIES);
    assert_true(floe_distinct_is_exact(&repeated));
    assert_int_equal(floe_distinct_estimate(&repeated), N);
    assert_same_state(&once, &repeated);

    /* and once it is a HyperLogLog */
    uint64_t *big = distinct_hashes(5000, 1);
    floe_distinct hll;
    sketch_of(&hll, big, 5000);
    wire before = wire_of(&hll);
    add_all(&hll, big, 5000);
    add_all(&hll, big + 1000, 100);
    wire after = wire_of(&hll);
    assert_memory_equal(before.bytes, after.bytes, before.len);
    floe_distinct_free(&hll);
    free(big);
    floe_distinct_free(&once);
    floe_distinct_free(&repeated);
    free(v);
}

static void test_promotes_to_hll_one_past_the_threshold(void **state) {
    (void)state;
    uint64_t *v = distinct_hashes(FLOE_DISTINCT_EXACT_MAX + 1, 42);
    floe_distinct d;
    sketch_of(&d, v, FLOE_DISTINCT_EXACT_MAX);
    add_all(&d, v, FLOE_DISTINCT_EXACT_MAX); /* duplicates do not promote */
    assert_true(floe_distinct_is_exact(&d));
    assert_int_equal(floe_distinct_add(&d, v[FLOE_DISTINCT_EXACT_MAX]), FLOE_OK);
    assert_false(floe_distinct_is_exact(&d));
    /* linear counting territory: 33 hashes in 4096 registers come out at 33 */
    assert_int_equal(floe_distinct_estimate(&d), FLOE_DISTINCT_EXACT_MAX + 1);
    assert_int_equal(floe_distinct_estimate_classic(&d), FLOE_DISTINCT_EXACT_MAX + 1);
    wire w = wire_of(&d);
    assert_int_equal(w.len, FLOE_DISTINCT_SERIALIZED_MAX);
    assert_int_equal(w.len, 3 + 3072);
    assert_int_equal(w.bytes[0], 1);
    assert_int_equal(w.bytes[1], 1);
    assert_int_equal(w.bytes[2], FLOE_DISTINCT_P);
    floe_distinct_free(&d);
    free(v);

    /* Never a step back at promotion, though 33 hashes often share a register. */
    for (uint64_t first = 0; first < 200 * 64; first += 64) {
        v = distinct_hashes(FLOE_DISTINCT_EXACT_MAX + 1, first);
        sketch_of(&d, v, FLOE_DISTINCT_EXACT_MAX + 1);
        assert_false(floe_distinct_is_exact(&d));
        assert_in_range(floe_distinct_estimate(&d), FLOE_DISTINCT_EXACT_MAX + 1,
                        FLOE_DISTINCT_EXACT_MAX + 2);
        assert_in_range(floe_distinct_estimate_classic(&d), FLOE_DISTINCT_EXACT_MAX + 1,
                        FLOE_DISTINCT_EXACT_MAX + 2);
        floe_distinct_free(&d);
        free(v);
    }
}

/* ---- estimates ---------------------------------------------------------------------------- */

static double relative_error(uint64_t estimate, size_t n) {
    return ((double)estimate - (double)n) / (double)n;
}

/* One sketch of n distinct hashes: floe_distinct_estimate within three standard errors. The
 * classic estimator gets five: its bias just above 2.5m (about +1.5% at n = 10000, rms 3%) is
 * why it is not the default, and is what the printed numbers show. */
static void assert_estimates_within_3_sigma(size_t n, uint64_t first) {
    uint64_t *v = distinct_hashes(n, first);
    floe_distinct d;
    sketch_of(&d, v, n);
    double ertl = relative_error(floe_distinct_estimate(&d), n);
    double classic = relative_error(floe_distinct_estimate_classic(&d), n);
    print_message("n=%-8zu ertl %+.4f  classic %+.4f  (3 sigma = %.4f)\n", n, ertl, classic,
                  3 * FLOE_DISTINCT_STD_ERROR);
    assert_true(fabs(ertl) < 3 * FLOE_DISTINCT_STD_ERROR);
    assert_true(fabs(classic) < 5 * FLOE_DISTINCT_STD_ERROR);
    floe_distinct_free(&d);
    free(v);
}

static void test_estimates_are_within_three_standard_errors(void **state) {
    (void)state;
    const size_t sizes[] = {1000, 10000, 100000, 1000000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        assert_estimates_within_3_sigma(sizes[i], UINT64_C(1) << 40);
}

/* Small cardinalities, and the range around 2.5m where the classic estimator switches over. */
static void test_estimates_hold_across_the_small_and_middle_range(void **state) {
    (void)state;
    const size_t sizes[] = {33, 50, 100, 300, 1000, 3000, 8000, 10000, 11000, 13000, 20000, 40000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        assert_estimates_within_3_sigma(sizes[i], UINT64_C(7) << 50);
}

/* ---- determinism and merging -------------------------------------------------------------- */

/* Spreads the set over k sketches (some values in two of them, some added twice, some sketches
 * possibly empty), merges them in a random order, and compares with one sketch of the set. */
static void assert_partitioned_merge_matches(const uint64_t *set, size_t n, uint64_t *seed) {
    floe_distinct whole;
    sketch_of(&whole, set, n);
    assert_int_equal(floe_distinct_is_exact(&whole), n <= FLOE_DISTINCT_EXACT_MAX);
    if (n <= FLOE_DISTINCT_EXACT_MAX) assert_int_equal(floe_distinct_estimate(&whole), n);

    uint64_t *order = malloc((n ? n : 1) * sizeof(uint64_t));
    assert_non_null(order);
    if (n) memcpy(order, set, n * sizeof(uint64_t));
    shuffle(order, n, seed);
    enum { K_MAX = 8 };
    uint32_t k = 1 + rng_below(seed, K_MAX);
    floe_distinct parts[K_MAX];
    for (uint32_t p = 0; p < k; p++)
        floe_distinct_init(&parts[p]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(floe_distinct_add(&parts[rng_below(seed, k)], order[i]), FLOE_OK);
        if (rng_below(seed, 5) == 0)
            assert_int_equal(floe_distinct_add(&parts[rng_below(seed, k)], order[i]), FLOE_OK);
    }
    /* Merge two random survivors, in a random direction, until one is left. */
    uint32_t alive = k;
    while (alive > 1) {
        uint32_t a = rng_below(seed, alive), b = rng_below(seed, alive - 1);
        if (b >= a) b++;
        assert_int_equal(floe_distinct_merge(&parts[a], &parts[b]), FLOE_OK);
        floe_distinct_free(&parts[b]);
        parts[b] = parts[alive - 1]; /* a sketch is a plain value: assignment moves it */
        floe_distinct_init(&parts[alive - 1]);
        alive--;
    }
    assert_same_state(&whole, &parts[0]);
    floe_distinct_free(&parts[0]);
    floe_distinct_free(&whole);
    free(order);
}

static void test_state_depends_only_on_the_set(void **state) {
    (void)state;
    uint64_t seed = 2024;
    const size_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 34, 40, 64, 1000, 50000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint64_t *set = distinct_hashes(sizes[s], 1 + 1000000 * s);
        int trials = sizes[s] > 1000 ? 4 : 40;
        for (int t = 0; t < trials; t++)
            assert_partitioned_merge_matches(set, sizes[s], &seed);
        free(set);
    }
}

static void test_merge_is_commutative_for_every_kind_pair(void **state) {
    (void)state;
    /* a, b with 5 values in common; sizes chosen so each pair's union crosses or not */
    const size_t sizes[][2] = {{0, 0},   {0, 1},   {1, 1},   {1, 20},  {20, 17},   {20, 18},
                               {10, 40}, {40, 10}, {40, 40}, {3, 500}, {500, 3000}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t na = sizes[i][0], nb = sizes[i][1];
        size_t common = na < 5 || nb < 5 ? 0 : 5;
        uint64_t *all = distinct_hashes(na + nb, 77 * i);
        const uint64_t *a_values = all, *b_values = all + na - common;
        size_t union_size = na + nb - common;

        floe_distinct a, b, whole, ab, ba;
        sketch_of(&a, a_values, na);
        sketch_of(&b, b_values, nb);
        sketch_of(&whole, all, union_size);
        copy_of(&a, &ab);
        copy_of(&b, &ba);
        assert_int_equal(floe_distinct_merge(&ab, &b), FLOE_OK);
        assert_int_equal(floe_distinct_merge(&ba, &a), FLOE_OK);
        assert_same_state(&ab, &ba);
        assert_same_state(&ab, &whole);
        assert_int_equal(floe_distinct_is_exact(&ab), union_size <= FLOE_DISTINCT_EXACT_MAX);
        /* merging never changes `from` */
        floe_distinct a_again;
        sketch_of(&a_again, a_values, na);
        assert_same_state(&a, &a_again);

        floe_distinct_free(&a);
        floe_distinct_free(&a_again);
        floe_distinct_free(&b);
        floe_distinct_free(&whole);
        floe_distinct_free(&ab);
        floe_distinct_free(&ba);
        free(all);
    }
}

static void test_merging_exact_sketches_promotes_exactly_past_the_threshold(void **state) {
    (void)state;
    uint64_t *v = distinct_hashes(40, 900);
    /* a = v[0..20), b = v[15..15+n): union is 15 + n */
    for (size_t nb = 5; nb <= 25; nb++) {
        floe_distinct a, b;
        sketch_of(&a, v, 20);
        sketch_of(&b, v + 15, nb);
        assert_int_equal(floe_distinct_merge(&a, &b), FLOE_OK);
        size_t union_size = 15 + nb;
        assert_int_equal(floe_distinct_is_exact(&a), union_size <= FLOE_DISTINCT_EXACT_MAX);
        if (union_size <= FLOE_DISTINCT_EXACT_MAX)
            assert_int_equal(floe_distinct_estimate(&a), union_size);
        floe_distinct_free(&a);
        floe_distinct_free(&b);
    }
    free(v);
}

static void test_merge_with_itself_or_empty_changes_nothing(void **state) {
    (void)state;
    const size_t sizes[] = {0, 1, 2, 32, 33, 2000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t *v = distinct_hashes(sizes[i], 31 * i);
        floe_distinct d, before, empty;
        sketch_of(&d, v, sizes[i]);
        copy_of(&d, &before);
        floe_distinct_init(&empty);
        assert_int_equal(floe_distinct_merge(&d, &d), FLOE_OK);
        assert_same_state(&d, &before);
        assert_int_equal(floe_distinct_merge(&d, &empty), FLOE_OK);
        assert_same_state(&d, &before);
        assert_int_equal(floe_distinct_merge(&empty, &d), FLOE_OK);
        assert_same_state(&empty, &before);
        floe_distinct_free(&d);
        floe_distinct_free(&before);
        floe_distinct_free(&empty);
        free(v);
    }
}

/* ---- wire format -------------------------------------------------------------------------- */

static void test_exact_wire_layout_is_sorted_little_endian_hashes(void **state) {
    (void)state;
    floe_distinct d;
    floe_distinct_init(&d);
    assert_int_equal(floe_distinct_add(&d, UINT64_C(0x1122334455667788)), FLOE_OK);
    assert_int_equal(floe_distinct_add(&d, UINT64_C(0x0102030405060708)), FLOE_OK);
    wire w = wire_of(&d);
    const uint8_t want[] = {1,    0,    2,    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02,
                            0x01, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(w.bytes, want, sizeof(want));
    floe_distinct_free(&d);
}

static void test_serialization_round_trips(void **state) {
    (void)state;
    const size_t sizes[] = {0, 1, 2, 5, 31, 32, 33, 1000, 100000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        uint64_t *v = distinct_hashes(n + 100, 3 + 1000 * i);
        floe_distinct d, back;
        sketch_of(&d, v, n);
        wire w = wire_of(&d);
        assert_int_equal(deserialize_exact_buffer(w.bytes, w.len, &back), FLOE_OK);
        assert_same_state(&d, &back);
        assert_int_equal(floe_distinct_estimate_classic(&d), floe_distinct_estimate_classic(&back));
        /* the copy is a working sketch: it goes on exactly as the original */
        add_all(&d, v + n, 100);
        add_all(&back, v + n, 100);
        assert_same_state(&d, &back);
        floe_distinct_free(&d);
        floe_distinct_free(&back);
        free(v);
    }
}

static void assert_rejected(const uint8_t *bytes, size_t n) {
    floe_distinct out;
    assert_int_equal(deserialize_exact_buffer(bytes, n, &out), FLOE_ERR_CORRUPT);
    /* left empty: usable and freeable */
    assert_true(floe_distinct_is_exact(&out));
    assert_int_equal(floe_distinct_estimate(&out), 0);
    floe_distinct_free(&out);
}

static void assert_rejected_with(const wire *w, size_t at, uint8_t value) {
    wire bad = *w;
    bad.bytes[at] = value;
    assert_rejected(bad.bytes, bad.len);
}

static void test_truncated_or_extended_input_is_corrupt(void **state) {
    (void)state;
    const size_t sizes[] = {0, 1, 2, 17, 32, 33, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t *v = distinct_hashes(sizes[i], 5 + i);
        floe_distinct d;
        sketch_of(&d, v, sizes[i]);
        wire w = wire_of(&d);
        for (size_t len = 0; len < w.len; len++)
            assert_rejected(w.bytes, len);
        uint8_t longer[FLOE_DISTINCT_SERIALIZED_MAX + 1];
        memcpy(longer, w.bytes, w.len);
        longer[w.len] = 0;
        assert_rejected(longer, w.len + 1);
        floe_distinct_free(&d);
        free(v);
    }
}

static void test_malformed_fields_are_corrupt(void **state) {
    (void)state;
    uint64_t *v = distinct_hashes(100, 9);
    floe_distinct exact, hll;
    sketch_of(&exact, v, 3);
    sketch_of(&hll, v, 100);
    wire e = wire_of(&exact), h = wire_of(&hll), bad;

    assert_rejected_with(&e, 0, 0); /* version */
    assert_rejected_with(&e, 0, 2);
    assert_rejected_with(&e, 1, 2); /* kind */
    assert_rejected_with(&e, 2, 2); /* count vs length */
    /* hashes out of order, and a repeated hash */
    bad = e;
    memcpy(bad.bytes + 3, e.bytes + 11, 8);
    memcpy(bad.bytes + 11, e.bytes + 3, 8);
    assert_rejected(bad.bytes, bad.len);
    bad = e;
    memcpy(bad.bytes + 11, e.bytes + 3, 8);
    assert_rejected(bad.bytes, bad.len);
    /* a count above the threshold with a matching length */
    uint8_t too_many[3 + 8 * (FLOE_DISTINCT_EXACT_MAX + 1)] = {1, 0, FLOE_DISTINCT_EXACT_MAX + 1};
    for (uint32_t i = 0; i < FLOE_DISTINCT_EXACT_MAX + 1; i++)
        too_many[3 + 8 * i] = (uint8_t)i; /* ascending */
    assert_rejected(too_many, sizeof(too_many));

    assert_rejected_with(&h, 2, 14);                              /* precision */
    assert_rejected_with(&h, 1, 0);                               /* kind vs length */
    assert_rejected_with(&h, 3, 54);                              /* register 0 is 54 > 53 */
    assert_rejected_with(&h, 3 + 3071, h.bytes[3 + 3071] | 0xfc); /* register 4095 is 63 */
    bad = h;
    memset(bad.bytes + 3, 0, 3072); /* an HLL holds more than EXACT_MAX hashes: not all zero */
    assert_rejected(bad.bytes, bad.len);
    bad = h;
    bad.bytes[3] = 53; /* register 0 at the largest rank is fine */
    floe_distinct ok;
    assert_int_equal(deserialize_exact_buffer(bad.bytes, bad.len, &ok), FLOE_OK);
    floe_distinct_free(&ok);

    floe_distinct_free(&exact);
    floe_distinct_free(&hll);
    free(v);
}

/* Random damage: each result is either rejected or the one canonical encoding of a sketch, which
 * then serializes back to the same bytes. */
static void assert_rejected_or_canonical(const uint8_t *bytes, size_t n) {
    floe_distinct out;
    floe_status status = deserialize_exact_buffer(bytes, n, &out);
    if (status == FLOE_OK) {
        wire w = wire_of(&out);
        assert_int_equal(w.len, n);
        assert_memory_equal(w.bytes, bytes, n);
        if (!floe_distinct_is_exact(&out)) assert_true(floe_distinct_estimate(&out) > 0);
    } else {
        assert_int_equal(status, FLOE_ERR_CORRUPT);
    }
    floe_distinct_free(&out);
}

static void test_garbled_input_is_rejected_or_canonical(void **state) {
    (void)state;
    uint64_t seed = 99;
    const size_t sizes[] = {0, 1, 4, 32, 33, 100000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t *v = distinct_hashes(sizes[i], 123 * i);
        floe_distinct d;
        sketch_of(&d, v, sizes[i]);
        wire w = wire_of(&d);
        for (int t = 0; t < 2000; t++) {
            wire bad = w;
            int flips = 1 + (int)rng_below(&seed, 4);
            for (int f = 0; f < flips; f++) {
                size_t at = rng_below(&seed, (uint32_t)bad.len);
                if (rng_below(&seed, 2))
                    bad.bytes[at] ^= (uint8_t)(1u << rng_below(&seed, 8));
                else
                    bad.bytes[at] = (uint8_t)rng_next(&seed);
            }
            assert_rejected_or_canonical(bad.bytes, bad.len);
        }
        floe_distinct_free(&d);
        free(v);
    }
    /* pure noise of every length, with a plausible header half of the time */
    uint8_t noise[FLOE_DISTINCT_SERIALIZED_MAX + 8];
    for (int t = 0; t < 3000; t++) {
        size_t len = rng_below(&seed, sizeof(noise) + 1);
        if (t % 2) len = rng_below(&seed, 3 + 8 * (FLOE_DISTINCT_EXACT_MAX + 2));
        for (size_t j = 0; j < len; j++)
            noise[j] = (uint8_t)rng_next(&seed);
        if (t % 2 && len >= 3) {
            noise[0] = 1;
            noise[1] = (uint8_t)rng_below(&seed, 2);
            if (noise[1] == 0) noise[2] = (uint8_t)((len - 3) / 8);
        }
        assert_rejected_or_canonical(noise, len);
    }
}

/* ---- hashing ------------------------------------------------------------------------------ */

/* The hashes are part of the wire format: sketches from older runs must keep merging. */
static void test_hashes_are_fixed_forever(void **state) {
    (void)state;
    assert_int_equal(floe_distinct_hash_u64(0), UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(floe_distinct_hash_u64(1), UINT64_C(0x910a2dec89025cc1));
    assert_int_equal(floe_distinct_hash_u64(443), UINT64_C(0x39901a2c182c93db));
    const uint8_t text[] = "2 123456789012 eni-0a1b2c3d4e5f67890 10.0.1.5 203.0.113.9";
    const size_t lengths[] = {0, 1, 3, 4, 7, 8, 9, 16, 17, 32, 33, sizeof(text) - 1};
    const uint64_t want[] = {
        UINT64_C(0x2cb0f69f4abea221), UINT64_C(0x2920fe6eb60d7eaf), UINT64_C(0xcf2a6dfc3e64e572),
        UINT64_C(0x34c914c981fbefe2), UINT64_C(0x4a0b7a186f276cf7), UINT64_C(0xb298af3503415512),
        UINT64_C(0x39ca5122cb264b5d), UINT64_C(0x02407316c5a43fed), UINT64_C(0xe63e0866476918f0),
        UINT64_C(0xdf15e4b94ea468e9), UINT64_C(0xd92c6a67db0c1f63), UINT64_C(0x2901f3d9551585b2)};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        assert_int_equal(floe_distinct_hash_bytes(text, lengths[i]), want[i]);
    }
}

static void test_hash_bytes_ignores_alignment_and_separates_lengths(void **state) {
    (void)state;
    uint8_t buf[80], shifted[81];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 37);
    memcpy(shifted + 1, buf, sizeof(buf));
    uint64_t seen[sizeof(buf) + 1];
    for (size_t n = 0; n <= sizeof(buf); n++) {
        seen[n] = floe_distinct_hash_bytes(buf, n);
        assert_int_equal(seen[n], floe_distinct_hash_bytes(shifted + 1, n));
        for (size_t m = 0; m < n; m++)
            assert_int_not_equal(seen[m], seen[n]);
    }
    /* zero bytes of different lengths too */
    uint8_t zeros[24] = {0};
    for (size_t n = 1; n < sizeof(zeros); n++)
        assert_int_not_equal(floe_distinct_hash_bytes(zeros, n),
                             floe_distinct_hash_bytes(zeros, n - 1));
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Up to 8 bytes the hash is one-to-one for each length: every 2-byte value, and a run of IPv4
 * addresses, give distinct hashes; and the hashes of a /16 spread evenly over the registers. */
static void test_short_inputs_never_collide(void **state) {
    (void)state;
    floe_distinct ports;
    floe_distinct_init(&ports);
    enum { N = 65536 };
    uint64_t *h = malloc(N * sizeof(uint64_t));
    assert_non_null(h);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t addr[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
        h[i] = floe_distinct_hash_bytes(addr, sizeof(addr));
        uint8_t port[2] = {(uint8_t)(i >> 8), (uint8_t)i};
        assert_int_equal(floe_distinct_add(&ports, floe_distinct_hash_bytes(port, 2)), FLOE_OK);
    }
    floe_distinct addrs;
    sketch_of(&addrs, h, N);
    double ports_error = relative_error(floe_distinct_estimate(&ports), N);
    double addrs_error = relative_error(floe_distinct_estimate(&addrs), N);
    assert_true(fabs(ports_error) < 3 * FLOE_DISTINCT_STD_ERROR);
    assert_true(fabs(addrs_error) < 3 * FLOE_DISTINCT_STD_ERROR);
    /* registers: every one of the 4096 reached by 65536 addresses */
    wire w = wire_of(&addrs);
    for (size_t i = 3; i < w.len; i += 3) {
        uint32_t four =
            (uint32_t)w.bytes[i] | (uint32_t)w.bytes[i + 1] << 8 | (uint32_t)w.bytes[i + 2] << 16;
        for (int k = 0; k < 4; k++)
            assert_int_not_equal(four >> (6 * k) & 63, 0);
    }
    qsort(h, N, sizeof(uint64_t), compare_u64);
    for (uint32_t i = 1; i < N; i++)
        assert_int_not_equal(h[i - 1], h[i]);
    floe_distinct_free(&ports);
    floe_distinct_free(&addrs);
    free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_sketch_is_exact_and_counts_zero),
        cmocka_unit_test(test_counts_exactly_up_to_the_threshold),
        cmocka_unit_test(test_exact_memory_is_inline_then_grows_by_doubling),
        cmocka_unit_test(test_duplicates_are_ignored),
        cmocka_unit_test(test_promotes_to_hll_one_past_the_threshold),
        cmocka_unit_test(test_estimates_are_within_three_standard_errors),
        cmocka_unit_test(test_estimates_hold_across_the_small_and_middle_range),
        cmocka_unit_test(test_state_depends_only_on_the_set),
        cmocka_unit_test(test_merge_is_commutative_for_every_kind_pair),
        cmocka_unit_test(test_merging_exact_sketches_promotes_exactly_past_the_threshold),
        cmocka_unit_test(test_merge_with_itself_or_empty_changes_nothing),
        cmocka_unit_test(test_exact_wire_layout_is_sorted_little_endian_hashes),
        cmocka_unit_test(test_serialization_round_trips),
        cmocka_unit_test(test_truncated_or_extended_input_is_corrupt),
        cmocka_unit_test(test_malformed_fields_are_corrupt),
        cmocka_unit_test(test_garbled_input_is_rejected_or_canonical),
        cmocka_unit_test(test_hashes_are_fixed_forever),
        cmocka_unit_test(test_hash_bytes_ignores_alignment_and_separates_lengths),
        cmocka_unit_test(test_short_inputs_never_collide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
