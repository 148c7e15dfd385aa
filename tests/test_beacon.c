/* Beaconing's per-pair connections (core/floe_beacon): records split over several threads' sets
 * and folded into a history at any horizons, in any order of the sets, give the statistics of
 * one set folded once, bit for bit, and those of a direct count (records of one connection
 * merged, gaps between connections' starts); a connection whose records straddle a horizon
 * counts once; a pair saturates exactly when its records in all pass the cap. A pair's traffic
 * adds up over all its records, with a start or without, saturated or not. */
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

/* A record's traffic, made up from its entry (and without a start, as a record can be). */
static floe_agg_measures traffic_of(const floe_beacon_entry *e, bool has_start) {
    return (floe_agg_measures){1,
                               (uint64_t)(e->end - e->start) % 7 + 1,
                               (uint64_t)e->end % 1000,
                               e->sport % 2 == 0,
                               e->sport % 2 != 0,
                               has_start ? e->start : INT64_MAX,
                               has_start ? e->end : INT64_MIN};
}

static floe_status add(floe_beacon_set *set, const floe_beacon_key *k, const floe_beacon_entry *e) {
    const floe_agg_measures t = traffic_of(e, true);
    return floe_beacon_add(set, k, &t, e);
}

/* A record without a start: traffic only (the entry gives its made-up numbers). */
static floe_status add_startless(floe_beacon_set *set, const floe_beacon_key *k,
                                 const floe_beacon_entry *e) {
    const floe_agg_measures t = traffic_of(e, false);
    return floe_beacon_add(set, k, &t, NULL);
}

static void traffic_add(floe_agg_measures *into, const floe_agg_measures *m) {
    into->flows += m->flows;
    into->packets += m->packets;
    into->bytes += m->bytes;
    into->accepted += m->accepted;
    into->rejected += m->rejected;
    if (m->first_seen < into->first_seen) into->first_seen = m->first_seen;
    if (m->last_seen > into->last_seen) into->last_seen = m->last_seen;
}

static int by_sport_start(const void *a, const void *b) {
    const floe_beacon_entry *x = a, *y = b;
    if (x->sport != y->sport) return x->sport < y->sport ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int by_start(const void *a, const void *b) {
    const floe_beacon_entry *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* The statistics of n records counted directly, as floe_beacon.h defines connections. */
static floe_beacon_stats direct(floe_beacon_entry *e, size_t n) {
    floe_beacon_stats s;
    memset(&s, 0, sizeof s);
    s.records = n;
    qsort(e, n, sizeof *e, by_sport_start);
    size_t heads = 0;
    int64_t chain_end = 0;
    for (size_t i = 0; i < n; i++) {
        bool continues = i > 0 && e[i].sport == e[i - 1].sport && e[i].sport >= 0 &&
                         e[i].start <= chain_end + 60;
        chain_end = continues && chain_end > e[i].end ? chain_end : e[i].end;
        if (!continues) e[heads++] = e[i];
    }
    qsort(e, heads, sizeof *e, by_start);
    for (size_t i = 0; i < heads; i++) {
        if (i == 0) s.first_start = e[i].start;
        if (i > 0) {
            double gap = (double)(e[i].start - e[i - 1].start);
            s.gap_sum += gap;
            s.gap_sumsq += gap * gap;
        }
        s.last_start = e[i].start;
    }
    s.connections = heads;
    return s;
}

static void assert_same_stats(const floe_beacon_stats *a, const floe_beacon_stats *b) {
    assert_memory_equal(&a->traffic, &b->traffic, sizeof a->traffic);
    assert_int_equal(a->saturated, b->saturated);
    if (a->saturated) return;
    assert_int_equal(a->records, b->records);
    assert_int_equal(a->connections, b->connections);
    assert_int_equal(a->first_start, b->first_start);
    assert_int_equal(a->last_start, b->last_start);
    assert_memory_equal(&a->gap_sum, &b->gap_sum, sizeof a->gap_sum);
    assert_memory_equal(&a->gap_sumsq, &b->gap_sumsq, sizeof a->gap_sumsq);
}

enum { RECORDS = 40000, PARTS = 4, CAP = 600, PAIRS = 1050, SPAN = 40000 };

/* Records of ~1000 pairs over SPAN seconds, in start order as files bring them: long
 * connections whose records repeat every 600 s on one source port (they straddle horizons),
 * short ones, duplicates, and records without a source port. Pair 0 passes the cap. */
static void make_records(floe_beacon_key *keys, floe_beacon_entry *entries, bool *startless) {
    uint64_t x = 12345;
    for (uint32_t i = 0; i < RECORDS; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        uint32_t pair = i % 5 == 0 ? 0 : (uint32_t)(x >> 33) % PAIRS;
        int64_t start = (int64_t)i * SPAN / RECORDS;
        int64_t end = start + (int64_t)(x >> 20) % 700;
        int32_t sport = (x >> 60) == 0 ? -1 : (int32_t)(40000 + (x >> 8) % 6);
        keys[i] = key_of(pair);
        entries[i] = (floe_beacon_entry){start, end, sport};
        startless[i] = (x >> 24) % 13 == 0;
        if ((x >> 12) % 9 == 0 && i + 1 < RECORDS) { /* the same record again */
            keys[i + 1] = keys[i];
            entries[i + 1] = entries[i];
            startless[i + 1] = startless[i];
            i++;
        }
    }
}

static void test_folds_at_any_horizons_equal_one_fold_and_a_direct_count(void **state) {
    (void)state;
    floe_beacon_key *keys = malloc(RECORDS * sizeof *keys);
    floe_beacon_entry *entries = malloc(RECORDS * sizeof *entries);
    bool *startless = malloc(RECORDS * sizeof *startless);
    assert_non_null(keys);
    assert_non_null(entries);
    assert_non_null(startless);
    make_records(keys, entries, startless);

    /* One set folded once at the end. */
    floe_beacon_set *one = floe_beacon_set_new(CAP), *one_history = floe_beacon_set_new(CAP);
    for (uint32_t i = 0; i < RECORDS; i++)
        assert_int_equal((startless[i] ? add_startless : add)(one, &keys[i], &entries[i]), FLOE_OK);
    assert_int_equal(floe_beacon_fold(one_history, &one, 1, INT64_MAX), FLOE_OK);

    /* Four sets (records dealt by a hash), folded at horizons every 1000 s, the sets in
     * reversed order every other time; each fold once every record before it is in. */
    floe_beacon_set *part[PARTS], *reversed[PARTS], *history = floe_beacon_set_new(CAP);
    for (int p = 0; p < PARTS; p++)
        part[p] = floe_beacon_set_new(CAP);
    for (int p = 0; p < PARTS; p++)
        reversed[p] = part[PARTS - 1 - p];
    int64_t next_fold = 1000;
    size_t folds = 0, waiting = 0;
    for (uint32_t i = 0; i < RECORDS; i++) {
        if (entries[i].start >= next_fold) {
            /* The next horizon lags the records by up to 700 s, so some wait in the sets. */
            int64_t horizon = next_fold - 700;
            assert_int_equal(floe_beacon_fold(history, folds % 2 ? reversed : part, PARTS, horizon),
                             FLOE_OK);
            for (int p = 0; p < PARTS; p++) {
                int64_t earliest;
                waiting += floe_beacon_waiting(part[p], &earliest);
                assert_true(earliest >= horizon);
            }
            folds++;
            next_fold += 1000;
        }
        uint64_t h = (uint64_t)entries[i].start * 2654435761u + i;
        assert_int_equal(
            (startless[i] ? add_startless : add)(part[h % PARTS], &keys[i], &entries[i]), FLOE_OK);
    }
    assert_int_equal(floe_beacon_fold(history, part, PARTS, INT64_MAX), FLOE_OK);
    assert_true(folds > 30);
    assert_true(waiting > 0); /* records did wait in the sets past a fold */

    floe_beacon_entry *mine = malloc(RECORDS * sizeof *mine);
    assert_non_null(mine);
    size_t saturated = 0, checked = 0, merged = 0;
    for (uint32_t k = 0; k < PAIRS; k++) {
        floe_beacon_key key = key_of(k);
        floe_beacon_stats a, b;
        bool known = floe_beacon_stats_of(one_history, &key, &a);
        assert_int_equal(floe_beacon_stats_of(history, &key, &b), known);
        if (!known) continue;
        assert_same_stats(&a, &b);
        size_t n = 0;
        floe_agg_measures traffic = {0, 0, 0, 0, 0, INT64_MAX, INT64_MIN};
        for (uint32_t i = 0; i < RECORDS; i++) {
            if (memcmp(&keys[i], &key, sizeof key) != 0) continue;
            const floe_agg_measures t = traffic_of(&entries[i], !startless[i]);
            traffic_add(&traffic, &t);
            if (!startless[i]) mine[n++] = entries[i];
        }
        floe_beacon_stats want = direct(mine, n);
        want.saturated = n > CAP;
        want.traffic = traffic;
        assert_same_stats(&a, &want);
        saturated += a.saturated;
        checked++;
        merged += !a.saturated && a.connections < a.records;
    }
    assert_int_equal(saturated, 1); /* pair 0 */
    assert_true(checked > 1000);
    assert_true(merged > 100); /* the cases that matter were there */
    floe_beacon_key unknown = key_of(0);
    unknown.port = 1;
    floe_beacon_stats none;
    assert_false(floe_beacon_stats_of(history, &unknown, &none));
    free(mine);
    free(keys);
    free(entries);
    free(startless);
    floe_beacon_set_free(one);
    floe_beacon_set_free(one_history);
    floe_beacon_set_free(history);
    for (int p = 0; p < PARTS; p++)
        floe_beacon_set_free(part[p]);
}

/* A long connection's records on one source port, 600 s apart, folded at every horizon
 * between them: one connection, whatever the horizons. */
static void test_a_connection_straddling_horizons_counts_once(void **state) {
    (void)state;
    floe_beacon_set *set = floe_beacon_set_new(100), *history = floe_beacon_set_new(100);
    floe_beacon_key k = key_of(3);
    for (int i = 0; i < 10; i++) {
        floe_beacon_entry e = {1000 + 600 * i, 1000 + 600 * i + 590, 50000};
        assert_int_equal(add(set, &k, &e), FLOE_OK);
        assert_int_equal(floe_beacon_fold(history, &set, 1, 1000 + 600 * i + 1), FLOE_OK);
    }
    /* And a new connection on the same port after a gap of more than a minute. */
    floe_beacon_entry late = {1000 + 600 * 10 + 100, 1000 + 600 * 10 + 110, 50000};
    assert_int_equal(add(set, &k, &late), FLOE_OK);
    assert_int_equal(floe_beacon_fold(history, &set, 1, INT64_MAX), FLOE_OK);
    floe_beacon_stats s;
    assert_true(floe_beacon_stats_of(history, &k, &s));
    assert_int_equal(s.records, 11);
    assert_int_equal(s.connections, 2);
    assert_int_equal(s.first_start, 1000);
    assert_int_equal(s.last_start, late.start);
    floe_beacon_set_free(set);
    floe_beacon_set_free(history);
}

static void test_saturation_depends_on_the_total_only(void **state) {
    (void)state;
    /* 3 + 3 records against a cap of 5: neither set saturates, the history does; 3 + 2 fit,
     * also when folded in two steps. */
    floe_beacon_set *p[3] = {floe_beacon_set_new(5), floe_beacon_set_new(5),
                             floe_beacon_set_new(5)};
    floe_beacon_key k = key_of(1);
    for (int i = 0; i < 3; i++) {
        floe_beacon_entry e = {i, i, i};
        assert_int_equal(add(p[0], &k, &e), FLOE_OK);
        e.start += 100;
        assert_int_equal(add(p[1], &k, &e), FLOE_OK);
        if (i < 2) assert_int_equal(add(p[2], &k, &e), FLOE_OK);
    }
    int64_t earliest;
    assert_false(floe_beacon_saturated(p[0], &k));
    assert_int_equal(floe_beacon_waiting(p[0], &earliest), 3);
    assert_int_equal(earliest, 0);
    floe_beacon_set *h1 = floe_beacon_set_new(5), *h2 = floe_beacon_set_new(5);
    floe_beacon_stats s;
    assert_int_equal(floe_beacon_fold(h1, p, 2, INT64_MAX), FLOE_OK);
    assert_true(floe_beacon_stats_of(h1, &k, &s));
    assert_true(s.saturated);
    /* Marked in the sets that held its entries: they stop keeping them. */
    assert_true(floe_beacon_saturated(p[0], &k));
    assert_true(floe_beacon_saturated(p[1], &k));
    assert_int_equal(floe_beacon_waiting(p[1], &earliest), 0);
    assert_int_equal(add(p[1], &k, &(floe_beacon_entry){7, 7, 7}), FLOE_OK);
    assert_int_equal(floe_beacon_waiting(p[1], &earliest), 0);
    floe_beacon_set *two[2] = {p[2], floe_beacon_set_new(5)};
    for (int i = 0; i < 3; i++)
        assert_int_equal(add(two[1], &k, &(floe_beacon_entry){i, i, i}), FLOE_OK);
    assert_int_equal(floe_beacon_fold(h2, two, 2, 50), FLOE_OK);
    assert_int_equal(floe_beacon_fold(h2, two, 2, INT64_MAX), FLOE_OK);
    assert_true(floe_beacon_stats_of(h2, &k, &s));
    assert_false(s.saturated);
    assert_int_equal(s.records, 5);
    for (int i = 0; i < 3; i++)
        floe_beacon_set_free(p[i]);
    floe_beacon_set_free(two[1]);
    floe_beacon_set_free(h1);
    floe_beacon_set_free(h2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folds_at_any_horizons_equal_one_fold_and_a_direct_count),
        cmocka_unit_test(test_a_connection_straddling_horizons_counts_once),
        cmocka_unit_test(test_saturation_depends_on_the_total_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
