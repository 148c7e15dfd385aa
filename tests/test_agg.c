/* Hash aggregation: groups by window and key (prefix-masked addresses, nulls, strings), the
 * measures of each group, merging of partial tables in any order, and the canonical order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_agg.h"
#include "floe_parse.h"

/* Parses text (one format, fits one batch) into batch; the text must outlive the batch. */
static void parse_into(const char *text, floe_batch *batch) {
    floe_parse_options options = {FLOE_LINES_S3, NULL, floe_scan_default_level(), NULL, NULL, NULL};
    floe_parser parser;
    floe_parser_init(&parser, &options);
    assert_int_equal(floe_batch_init(batch, 1 << 17), FLOE_OK);
    size_t consumed;
    assert_int_equal(floe_parse(&parser, text, strlen(text), true, batch, &consumed), FLOE_OK);
    assert_int_equal(consumed, strlen(text));
    assert_int_equal(parser.stats.bad_lines, 0);
}

static floe_agg *agg_of(const char *key, int64_t window, const floe_batch *batch) {
    floe_key_spec spec;
    assert_int_equal(floe_key_spec_parse(key, strlen(key), window, &spec), FLOE_OK);
    floe_agg *agg = floe_agg_new(&spec);
    assert_non_null(agg);
    if (batch != NULL) assert_int_equal(floe_agg_add_batch(agg, batch), FLOE_OK);
    return agg;
}

static const floe_agg_group *sorted(floe_agg *agg, size_t *count) {
    const floe_agg_group *groups;
    assert_int_equal(floe_agg_sorted(agg, &groups, count), FLOE_OK);
    return groups;
}

static void assert_addr_part(const floe_agg *agg, const floe_agg_group *g, unsigned part,
                             const char *want) {
    floe_addr addr;
    char text[FLOE_ADDR_STRLEN];
    assert_true(floe_agg_key_value(agg, g, part, &addr));
    floe_addr_format(&addr, text);
    assert_string_equal(text, want);
}

static const char header[] =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status\n";

static void test_groups_by_window_and_key_with_every_measure(void **state) {
    (void)state;
    static char text[4096];
    snprintf(text, sizeof(text), "%s%s", header,
             /* window 1700000400 (10 min): two flows of one key, one other key */
             "2 1 eni-a 10.0.0.1 10.0.0.9 40000 443 6 10 1000 1700000410 1700000470 ACCEPT OK\n"
             "2 1 eni-a 10.0.0.1 10.0.0.9 40001 443 6 5 300 1700000500 1700001200 REJECT OK\n"
             "2 1 eni-a 10.0.0.1 10.0.0.9 40002 80 6 1 40 1700000999 1700001000 ACCEPT OK\n"
             /* next window: the same key again */
             "2 1 eni-a 10.0.0.1 10.0.0.9 40003 443 6 2 100 1700001000 1700001010 ACCEPT OK\n"
             /* no addresses, ports or counters: all nulls, one group of its own */
             "2 1 eni-a - - - - - - - 1700000400 1700000460 - NODATA\n");
    floe_batch batch;
    parse_into(text, &batch);
    floe_agg *agg = agg_of("srcaddr,dstaddr,dstport,protocol,action", 600, &batch);
    size_t n;
    const floe_agg_group *g = sorted(agg, &n);
    assert_int_equal(n, 5);
    /* Window 1700000400: nulls first, then dstport 80 before 443 (by value, not by text). */
    assert_int_equal(g[0].window_start, 1700000400);
    floe_addr unused;
    assert_false(floe_agg_key_value(agg, &g[0], 0, &unused));
    assert_int_equal(g[0].m->flows, 1);
    assert_int_equal(g[0].m->packets, 0);
    uint16_t port;
    assert_true(floe_agg_key_value(agg, &g[1], 2, &port));
    assert_int_equal(port, 80);
    assert_int_equal(g[1].m->accepted, 1);
    /* 443 ACCEPT and 443 REJECT are different keys (action is in the key). */
    uint8_t action;
    assert_true(floe_agg_key_value(agg, &g[2], 4, &action));
    assert_int_equal(action, FLOE_ACTION_ACCEPT);
    assert_int_equal(g[2].m->flows, 1);
    assert_int_equal(g[2].m->bytes, 1000);
    assert_int_equal(g[2].m->first_seen, 1700000410);
    assert_int_equal(g[2].m->last_seen, 1700000470);
    assert_true(floe_agg_key_value(agg, &g[3], 4, &action));
    assert_int_equal(action, FLOE_ACTION_REJECT);
    assert_int_equal(g[3].m->rejected, 1);
    /* A flow crossing the window's end stays whole in its start's window. */
    assert_int_equal(g[3].m->last_seen, 1700001200);
    assert_addr_part(agg, &g[3], 0, "10.0.0.1");
    assert_int_equal(g[4].window_start, 1700001000);
    assert_int_equal(g[4].m->packets, 2);
    floe_agg_free(agg);

    /* Without action in the key the two 443 flows of the first window are one group. */
    agg = agg_of("dstport", 600, &batch);
    g = sorted(agg, &n);
    assert_int_equal(n, 4); /* null, 80, 443 | 443 */
    assert_int_equal(g[2].m->flows, 2);
    assert_int_equal(g[2].m->packets, 15);
    assert_int_equal(g[2].m->bytes, 1300);
    assert_int_equal(g[2].m->accepted, 1);
    assert_int_equal(g[2].m->rejected, 1);
    assert_int_equal(g[2].m->first_seen, 1700000410);
    assert_int_equal(g[2].m->last_seen, 1700001200);
    floe_agg_free(agg);
    floe_batch_free(&batch);
}

static void test_address_prefixes_group_networks(void **state) {
    (void)state;
    floe_batch batch;
    parse_into("srcaddr start\n"
               "10.1.2.3 1700000000\n10.1.2.200 1700000000\n10.1.3.1 1700000000\n"
               "2001:db8:1:2::1 1700000000\n2001:db8:1:2:ffff::9 1700000000\n"
               "2001:db8:1:3::1 1700000000\n",
               &batch);
    floe_agg *agg = agg_of("srcaddr/24/64", 86400, &batch);
    size_t n;
    const floe_agg_group *g = sorted(agg, &n);
    assert_int_equal(n, 4);
    /* IPv4 (stored as ::ffff:a.b.c.d) sorts before 2001:... by byte value. */
    assert_addr_part(agg, &g[0], 0, "10.1.2.0");
    assert_int_equal(g[0].m->flows, 2);
    assert_addr_part(agg, &g[1], 0, "10.1.3.0");
    assert_addr_part(agg, &g[2], 0, "2001:db8:1:2::");
    assert_int_equal(g[2].m->flows, 2);
    assert_addr_part(agg, &g[3], 0, "2001:db8:1:3::");
    floe_agg_free(agg);

    /* "/16" alone masks IPv4 only: the IPv6 addresses stay whole. */
    agg = agg_of("srcaddr/16", 86400, &batch);
    assert_int_equal(floe_agg_count(agg), 3 + 1);
    floe_agg_free(agg);
    floe_batch_free(&batch);
}

static void test_string_keys_and_missing_fields(void **state) {
    (void)state;
    floe_batch batch;
    parse_into("interface-id bytes\neni-b 1\neni-a 2\neni-b 3\n- 4\n", &batch);
    /* vpc-id is not in this format: null for every row, so it does not split groups. */
    floe_agg *agg = agg_of("interface-id vpc-id", 60, &batch);
    size_t n;
    const floe_agg_group *g = sorted(agg, &n);
    assert_int_equal(n, 3);
    assert_int_equal(g[0].window_start, 0); /* no start field */
    floe_slice s;
    assert_false(floe_agg_key_value(agg, &g[0], 0, &s));
    assert_int_equal(g[0].m->bytes, 4);
    assert_true(floe_agg_key_value(agg, &g[1], 0, &s));
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.ptr, "eni-a", 5);
    assert_true(floe_agg_key_value(agg, &g[2], 0, &s));
    assert_memory_equal(s.ptr, "eni-b", 5);
    assert_int_equal(g[2].m->bytes, 4);
    assert_false(floe_agg_key_value(agg, &g[2], 1, &s));
    assert_int_equal(g[2].m->first_seen, INT64_MAX); /* no start: no first seen */
    floe_agg_free(agg);
    floe_batch_free(&batch);
}

/* The same window, key and measures. */
static void assert_same_group(const floe_agg_group *got, const floe_agg_group *want) {
    assert_int_equal(got->window_start, want->window_start);
    assert_int_equal(got->key_len, want->key_len);
    assert_memory_equal(got->key, want->key, want->key_len);
    assert_memory_equal(got->m, want->m, sizeof(*want->m));
}

/* `rows` random flows (at most 120,000: parse_into's one batch) from `sources` sources to
 * `ports` destination ports, as text with a header line. The caller frees it. */
static char *random_flows(int rows, uint64_t seed, unsigned sources, unsigned ports) {
    char *text = malloc((size_t)rows * 96 + 64); /* a line is under 80 bytes */
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "srcaddr dstport packets bytes start end action\n");
    uint64_t x = seed;
    for (int i = 0; i < rows; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        unsigned a = (unsigned)(x >> 40) % sources, port = (unsigned)(x >> 20) % ports;
        len += (size_t)sprintf(text + len, "10.%u.%u.%u %u %u %u %u %u %s\n", a >> 16,
                               (a >> 8) & 255, a & 255, port, (unsigned)(x >> 8) % 50,
                               (unsigned)(x >> 16) % 9000, 1700000000u + (unsigned)(x % 3600),
                               1700003600u + (unsigned)(x % 60), x & 1 ? "ACCEPT" : "REJECT");
    }
    return text;
}

/* Many distinct keys (the table grows many times), split over partial tables merged in two
 * orders: every order gives the same groups as one table over all rows. */
static void test_partials_merge_in_any_order_to_the_whole(void **state) {
    (void)state;
    const int rows = 120000;
    char *text = random_flows(rows, 12345, 50000, 3);
    floe_batch whole_batch;
    parse_into(text, &whole_batch);
    floe_agg *whole = agg_of("srcaddr,dstport", 600, &whole_batch);

    /* Three partials: rows split by line number modulo 3. */
    floe_agg *part[3];
    for (int p = 0; p < 3; p++)
        part[p] = agg_of("srcaddr,dstport", 600, NULL);
    floe_batch one_row = whole_batch;
    for (uint32_t r = 0; r < whole_batch.count; r++) {
        /* A one-row view of the batch: same columns, shifted pointers. */
        for (int f = 0; f < FLOE_FIELD_COUNT; f++)
            if (floe_batch_has(&whole_batch, (floe_field)f))
                one_row.values[f] = (uint8_t *)whole_batch.values[f] +
                                    r * floe_type_size(floe_field_type((floe_field)f));
        one_row.nulls = whole_batch.nulls + r;
        one_row.line_no = whole_batch.line_no + r;
        one_row.count = 1;
        assert_int_equal(floe_agg_add_batch(part[r % 3], &one_row), FLOE_OK);
    }
    floe_agg *forward = agg_of("srcaddr,dstport", 600, NULL);
    floe_agg *backward = agg_of("srcaddr,dstport", 600, NULL);
    for (int p = 0; p < 3; p++)
        assert_int_equal(floe_agg_merge(forward, part[p]), FLOE_OK);
    /* Backward, one partition at a time, last partition first, each sorted ahead as the
     * reducer's threads do: the same table and the same order. */
    for (unsigned q = FLOE_AGG_PARTITIONS; q-- > 0;) {
        for (int p = 0; p < 3; p++)
            assert_int_equal(floe_agg_merge_partition(backward, part[2 - p], q), FLOE_OK);
        if (q % 2) assert_int_equal(floe_agg_sort_partition(backward, q), FLOE_OK);
    }
    assert_int_equal(floe_agg_merge_partition(backward, part[0], FLOE_AGG_PARTITIONS),
                     FLOE_ERR_INVALID);
    assert_int_equal(floe_agg_merge(forward, forward), FLOE_ERR_INVALID);
    size_t n_whole, n_forward, n_backward;
    const floe_agg_group *gw = sorted(whole, &n_whole);
    const floe_agg_group *gf = sorted(forward, &n_forward);
    /* backward's runs merged in 5 key-range slices, last slice first, as threads would. */
    assert_int_equal(floe_agg_merge_prepare(backward, 5), FLOE_OK);
    for (unsigned slice = 5; slice-- > 0;)
        floe_agg_merge_slice(backward, slice);
    floe_agg_merge_finish(backward);
    assert_int_equal(floe_agg_merge_prepare(backward, FLOE_AGG_MAX_SLICES + 1), FLOE_ERR_INVALID);
    floe_agg_merge_finish(backward);
    const floe_agg_group *gb = sorted(backward, &n_backward);
    assert_true(n_whole > 50000);
    assert_int_equal(n_forward, n_whole);
    assert_int_equal(n_backward, n_whole);
    uint64_t flows = 0;
    for (size_t i = 0; i < n_whole; i++) {
        assert_same_group(&gf[i], &gw[i]);
        assert_same_group(&gb[i], &gw[i]);
        if (i > 0) assert_true(gw[i - 1].window_start <= gw[i].window_start);
        flows += gw[i].m->flows;
    }
    assert_int_equal(flows, (uint64_t)rows);
    for (int p = 0; p < 3; p++)
        floe_agg_free(part[p]);
    floe_agg_free(forward);
    floe_agg_free(backward);
    floe_agg_free(whole);
    floe_batch_free(&whole_batch);
    free(text);
}

static void test_key_spec_errors(void **state) {
    (void)state;
    floe_key_spec spec;
    const char *bad[] = {"",           "nope",           "srcaddr,srcaddr", "dstport/24",
                         "srcaddr/33", "srcaddr/24/129", "srcaddr/",        "srcaddr/24x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (floe_key_spec_parse(bad[i], strlen(bad[i]), 60, &spec) == FLOE_OK)
            fail_msg("accepted key '%s'", bad[i]);
    assert_int_equal(floe_key_spec_parse("srcaddr", 7, -1, &spec), FLOE_ERR_INVALID);
    assert_int_equal(floe_key_spec_parse("srcaddr/24 , dstaddr/16/48 dstport", 34, 60, &spec),
                     FLOE_OK);
    assert_int_equal(spec.nparts, 3);
    assert_int_equal(spec.parts[0].v4_prefix, 24);
    assert_int_equal(spec.parts[0].v6_prefix, 128);
    assert_int_equal(spec.parts[1].v6_prefix, 48);
}

static void test_window_zero_puts_every_record_in_one_window(void **state) {
    (void)state;
    static char text[4096];
    snprintf(text, sizeof(text), "%s%s", header,
             "2 1 eni-a 10.0.0.1 10.0.0.9 40000 443 6 10 1000 1700000410 1700000470 ACCEPT OK\n"
             "2 1 eni-a 10.0.0.1 10.0.0.9 40001 443 6 5 300 1800000500 1800001200 REJECT OK\n");
    floe_batch batch;
    parse_into(text, &batch);
    floe_agg *agg = agg_of("srcaddr", 0, &batch);
    size_t n;
    const floe_agg_group *g = sorted(agg, &n);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].window_start, 0);
    assert_int_equal(g[0].m->flows, 2);
    assert_int_equal(g[0].m->first_seen, 1700000410);
    assert_int_equal(g[0].m->last_seen, 1800001200);
    floe_agg_free(agg);
    floe_batch_free(&batch);
}

/* Packets and bytes of the largest BIGINT add up to it, not past it: sums saturate, in a table
 * and in a merge of tables, rather than wrap. */
static void test_counter_sums_saturate_at_the_largest_bigint(void **state) {
    (void)state;
    static char text[4096];
    snprintf(text, sizeof(text), "%s%s", header,
             "2 1 eni-a 10.0.0.1 10.0.0.9 40000 443 6 9223372036854775807 9223372036854775000 "
             "1700000410 1700000470 ACCEPT OK\n"
             "2 1 eni-a 10.0.0.1 10.0.0.9 40001 443 6 1 1000 1700000500 1700001200 ACCEPT OK\n");
    floe_batch batch;
    parse_into(text, &batch);
    floe_agg *agg = agg_of("srcaddr", 0, &batch);
    floe_agg *twice = agg_of("srcaddr", 0, &batch);
    size_t n;
    const floe_agg_group *g = sorted(agg, &n);
    assert_int_equal(n, 1);
    assert_true(g[0].m->packets == FLOE_COUNTER_MAX);
    assert_true(g[0].m->bytes == FLOE_COUNTER_MAX);
    assert_int_equal(floe_agg_merge(twice, agg), FLOE_OK);
    g = sorted(twice, &n);
    assert_true(g[0].m->packets == FLOE_COUNTER_MAX);
    assert_int_equal(g[0].m->flows, 4);
    floe_agg_free(agg);
    floe_agg_free(twice);
    floe_batch_free(&batch);
}

static void test_top_ranks_by_measure_then_key_and_selected_rows_only(void **state) {
    (void)state;
    static char text[4096];
    snprintf(text, sizeof(text), "%s%s", header,
             "2 1 eni-a 10.0.0.3 10.0.0.9 1 443 6 1 500 1700000410 1700000470 ACCEPT OK\n"
             "2 1 eni-a 10.0.0.1 10.0.0.9 1 443 6 1 500 1700000410 1700000470 ACCEPT OK\n"
             "2 1 eni-a 10.0.0.2 10.0.0.9 1 443 6 9 900 1700000410 1700000470 ACCEPT OK\n"
             "2 1 eni-a 10.0.0.4 10.0.0.9 1 443 6 9 9999 1700000410 1700000470 REJECT OK\n");
    floe_batch batch;
    parse_into(text, &batch);
    floe_agg *agg = agg_of("srcaddr", 0, NULL);
    const uint32_t rows[] = {0, 1, 2}; /* leave the REJECT row out */
    assert_int_equal(floe_agg_add_rows(agg, &batch, rows, 3), FLOE_OK);
    floe_agg_group *top;
    size_t n;
    assert_int_equal(floe_agg_top(agg, FLOE_AGG_ORDER_BYTES, 2, &top, &n), FLOE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(top[0].m->bytes, 900);
    assert_addr_part(agg, &top[0], 0, "10.0.0.2");
    /* 10.0.0.1 and 10.0.0.3 tie on bytes: the key order decides. */
    assert_addr_part(agg, &top[1], 0, "10.0.0.1");
    free(top);
    assert_int_equal(floe_agg_top(agg, FLOE_AGG_ORDER_FLOWS, 10, &top, &n), FLOE_OK);
    assert_int_equal(n, 3);
    free(top);
    floe_agg_free(agg);
    floe_batch_free(&batch);
}

static void test_distinct_counts_per_group_survive_merges(void **state) {
    (void)state;
    /* Group 10.0.0.1 talks to 40 ports (past the exact limit, so a sketch), 10.0.0.2 to 3. */
    static char text[1 << 16];
    int len = snprintf(text, sizeof(text), "%s", header);
    for (int i = 0; i < 80; i++)
        len += snprintf(text + len, sizeof(text) - (size_t)len,
                        "2 1 eni-a 10.0.0.1 10.0.0.9 1 %d 6 1 10 1700000410 1700000470 ACCEPT OK\n",
                        1000 + i % 40);
    for (int i = 0; i < 6; i++)
        len += snprintf(text + len, sizeof(text) - (size_t)len,
                        "2 1 eni-a 10.0.0.2 10.0.0.9 1 %d 6 1 10 1700000410 1700000470 ACCEPT OK\n",
                        22 + i % 3);
    len += snprintf(text + len, sizeof(text) - (size_t)len,
                    "2 1 eni-a 10.0.0.2 10.0.0.9 1 - 6 1 10 1700000410 1700000470 ACCEPT OK\n");
    floe_batch batch;
    parse_into(text, &batch);
    floe_key_spec spec;
    assert_int_equal(floe_key_spec_parse("srcaddr", 7, 0, &spec), FLOE_OK);
    assert_int_equal(floe_key_spec_parse_distinct("dstport", 7, &spec), FLOE_OK);
    /* One table of everything, and two halves merged: the same sketches, byte for byte. */
    floe_agg *whole = floe_agg_new(&spec), *a = floe_agg_new(&spec), *b = floe_agg_new(&spec);
    assert_int_equal(floe_agg_add_batch(whole, &batch), FLOE_OK);
    uint32_t even[64], odd[64];
    uint32_t ne = 0, no = 0;
    for (uint32_t r = 0; r < batch.count; r++) {
        if (r % 2)
            odd[no++] = r;
        else
            even[ne++] = r;
    }
    assert_int_equal(floe_agg_add_rows(a, &batch, even, ne), FLOE_OK);
    assert_int_equal(floe_agg_add_rows(b, &batch, odd, no), FLOE_OK);
    assert_int_equal(floe_agg_merge(b, a), FLOE_OK);
    size_t n1, n2;
    const floe_agg_group *g1 = sorted(whole, &n1), *g2 = sorted(b, &n2);
    assert_int_equal(n1, 2);
    assert_int_equal(n2, 2);
    uint64_t want[2] = {40, 3}; /* the null port is not a value */
    for (size_t i = 0; i < 2; i++) {
        uint64_t est = floe_distinct_estimate(&g1[i].distinct[0]);
        if (want[i] <= FLOE_DISTINCT_EXACT_MAX)
            assert_int_equal(est, want[i]);
        else
            assert_in_range(est, want[i] - 3, want[i] + 3);
        uint8_t x[FLOE_DISTINCT_SERIALIZED_MAX], y[FLOE_DISTINCT_SERIALIZED_MAX];
        size_t nx = floe_distinct_serialize(&g1[i].distinct[0], x);
        size_t ny = floe_distinct_serialize(&g2[i].distinct[0], y);
        assert_memory_equal(x, y, nx);
        assert_int_equal(nx, ny);
    }
    assert_false(floe_distinct_is_exact(&g1[0].distinct[0]));
    assert_true(floe_distinct_is_exact(&g1[1].distinct[0]));
    assert_int_equal(floe_key_spec_parse_distinct("nope", 4, &spec), FLOE_ERR_FORMAT);
    assert_int_equal(floe_key_spec_parse_distinct("dstport dstport", 15, &spec), FLOE_ERR_FORMAT);
    floe_agg_free(whole);
    floe_agg_free(a);
    floe_agg_free(b);
    floe_batch_free(&batch);
}

/* Writers on threads of their own: each adds every fourth row, in chunks, into one table. */
typedef struct writer_job {
    floe_agg_writer *writer;
    const floe_batch *batch;
    uint32_t first;
    floe_status status;
} writer_job;

static void *add_every_fourth_row(void *arg) {
    writer_job *job = arg;
    static const uint32_t chunk = 700; /* not a multiple of the writer's own chunk */
    uint32_t rows[700];
    uint32_t n = 0;
    for (uint32_t r = job->first; r < job->batch->count && job->status == FLOE_OK; r += 4) {
        rows[n++] = r;
        if (n == chunk || r + 4 >= job->batch->count) {
            job->status = floe_agg_writer_add_rows(job->writer, job->batch, rows, n);
            n = 0;
        }
    }
    if (n > 0 && job->status == FLOE_OK)
        job->status = floe_agg_writer_add_rows(job->writer, job->batch, rows, n);
    return NULL;
}

static void test_writers_on_several_threads_build_the_same_table(void **state) {
    (void)state;
    const int nrows = 120000;
    /* Few sources, so the four threads keep meeting in the same groups and partitions. */
    char *text = random_flows(nrows, 777, 3000, 100);
    floe_batch batch;
    parse_into(text, &batch);
    floe_key_spec spec;
    assert_int_equal(floe_key_spec_parse("srcaddr", 7, 600, &spec), FLOE_OK);
    assert_int_equal(floe_key_spec_parse_distinct("dstport", 7, &spec), FLOE_OK);
    floe_agg *whole = floe_agg_new(&spec), *shared = floe_agg_new(&spec);
    assert_non_null(whole);
    assert_non_null(shared);
    assert_int_equal(floe_agg_add_batch(whole, &batch), FLOE_OK);
    writer_job jobs[4];
    pthread_t threads[4];
    for (uint32_t t = 0; t < 4; t++) {
        jobs[t] = (writer_job){floe_agg_writer_new(shared), &batch, t, FLOE_OK};
        assert_non_null(jobs[t].writer);
        assert_int_equal(pthread_create(&threads[t], NULL, add_every_fourth_row, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(jobs[t].status, FLOE_OK);
        floe_agg_writer_free(jobs[t].writer);
    }
    size_t n_whole, n_shared;
    const floe_agg_group *gw = sorted(whole, &n_whole), *gs = sorted(shared, &n_shared);
    assert_true(n_whole > 5000);
    assert_int_equal(n_shared, n_whole);
    uint64_t flows = 0;
    for (size_t i = 0; i < n_whole; i++) {
        assert_same_group(&gs[i], &gw[i]);
        uint8_t a[FLOE_DISTINCT_SERIALIZED_MAX], b[FLOE_DISTINCT_SERIALIZED_MAX];
        size_t na = floe_distinct_serialize(&gw[i].distinct[0], a);
        size_t nb = floe_distinct_serialize(&gs[i].distinct[0], b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        flows += gs[i].m->flows;
    }
    assert_int_equal(flows, (uint64_t)nrows);
    floe_agg_free(whole);
    floe_agg_free(shared);
    floe_batch_free(&batch);
    free(text);
}

static void test_sorted_order_follows_later_changes(void **state) {
    (void)state;
    static char text[4096];
    snprintf(text, sizeof(text), "%s%s", header,
             "2 1 eni-a 10.0.0.5 10.0.0.9 1 443 6 1 500 1700000410 1700000470 ACCEPT OK\n"
             "2 1 eni-a 10.0.0.1 10.0.0.9 1 443 6 1 500 1700000410 1700000470 ACCEPT OK\n");
    floe_batch batch;
    parse_into(text, &batch);
    floe_agg *agg = agg_of("srcaddr", 0, NULL);
    const uint32_t first[] = {0}, second[] = {1};
    assert_int_equal(floe_agg_add_rows(agg, &batch, first, 1), FLOE_OK);
    size_t n;
    const floe_agg_group *g = sorted(agg, &n);
    assert_int_equal(n, 1);
    /* A new group after sorting: the next sorted call sees it, in its place. */
    assert_int_equal(floe_agg_add_rows(agg, &batch, second, 1), FLOE_OK);
    g = sorted(agg, &n);
    assert_int_equal(n, 2);
    assert_addr_part(agg, &g[0], 0, "10.0.0.1");
    assert_addr_part(agg, &g[1], 0, "10.0.0.5");
    /* An empty table sorts to nothing. */
    floe_agg *empty = agg_of("srcaddr", 0, NULL);
    g = sorted(empty, &n);
    assert_int_equal(n, 0);
    floe_agg_free(empty);
    floe_agg_free(agg);
    floe_batch_free(&batch);
}

/* Closing windows: floe_agg_sorted_closed gives the groups whose window ended by the horizon
 * in order (and floe_agg_sorted the whole order after it); floe_agg_drop_closed drops exactly
 * those and keeps the rest (measures and distinct sketches, byte for byte) and window 0 (no
 * start time), packed in place; the table's writers go on adding, even to windows it dropped
 * (they start again from nothing), into the memory the dropped groups left. */
static void test_drop_closed_keeps_open_windows_and_writers(void **state) {
    (void)state;
    const int rows = 60000;
    char *flows = random_flows(rows, 777, 20000, 40);
    /* And rows without a start time: window 0, kept whatever the horizon. */
    size_t len = strlen(flows);
    flows = realloc(flows, len + 64 * 48 + 1);
    assert_non_null(flows);
    for (int i = 0; i < 64; i++)
        len += (size_t)sprintf(flows + len, "10.9.0.%d %d 1 60 - - ACCEPT\n", i % 7, 20 + i);
    floe_batch batch;
    parse_into(flows, &batch);
    floe_key_spec spec;
    /* Tens of thousands of groups: partitions spill from their first (small) block into big
     * ones, so packing moves records across blocks. */
    assert_int_equal(floe_key_spec_parse("srcaddr,dstport", 15, 600, &spec), FLOE_OK);
    assert_int_equal(floe_key_spec_parse_distinct("bytes", 5, &spec), FLOE_OK);
    /* The starts span 1700000000 + [0, 3600): windows from 1699999800, every 600 s. */
    const int64_t horizon = 1700001600; /* closes the windows starting up to 1700001000 */
    const int64_t *start = batch.values[FLOE_F_START];
    uint32_t *kept = malloc(batch.count * sizeof *kept);
    assert_non_null(kept);
    uint32_t nkept = 0, nclosed_rows = 0;
    for (uint32_t r = 0; r < batch.count; r++) {
        bool no_start = floe_batch_is_null(&batch, FLOE_F_START, r);
        int64_t w = no_start ? 0 : start[r] - start[r] % 600;
        if (no_start || w + 600 > horizon)
            kept[nkept++] = r;
        else
            nclosed_rows++;
    }
    assert_true(nclosed_rows > 10000 && nkept > 10000);

    floe_agg *agg = floe_agg_new(&spec);
    assert_non_null(agg);
    floe_agg_writer *w = floe_agg_writer_new(agg);
    assert_non_null(w);
    assert_int_equal(floe_agg_writer_add_rows(w, &batch, NULL, batch.count), FLOE_OK);
    size_t before = floe_agg_memory(agg), n_all = floe_agg_count(agg);
    /* The closed groups alone, sorted: the run of them in the whole order. */
    size_t n_closed, n_full;
    const floe_agg_group *closed, *full;
    assert_int_equal(floe_agg_sorted_closed(agg, horizon, &closed, &n_closed), FLOE_OK);
    floe_agg_group *closed_copy = malloc(n_closed * sizeof *closed_copy);
    assert_non_null(closed_copy);
    memcpy(closed_copy, closed, n_closed * sizeof *closed_copy);
    full = sorted(agg, &n_full); /* not the partial order just built */
    assert_int_equal(n_full, n_all);
    size_t first = 0;
    while (first < n_full &&
           !(full[first].window_start > 0 && full[first].window_start + 600 <= horizon))
        first++;
    assert_true(n_closed > 100);
    assert_true(first + n_closed < n_full);
    for (size_t i = 0; i < n_closed; i++) {
        assert_same_group(&closed_copy[i], &full[first + i]);
        assert_true(closed_copy[i].window_start + 600 <= horizon);
    }
    assert_true(full[first + n_closed].window_start + 600 > horizon);
    free(closed_copy);
    assert_int_equal(floe_agg_drop_closed(agg, horizon), FLOE_OK);
    /* What is left equals a table of the kept rows only. */
    floe_agg *want = floe_agg_new(&spec);
    assert_int_equal(floe_agg_add_rows(want, &batch, kept, nkept), FLOE_OK);
    size_t n_got, n_want;
    const floe_agg_group *got = sorted(agg, &n_got), *wg = sorted(want, &n_want);
    assert_int_equal(n_got, n_want);
    assert_true(n_got < n_all);
    assert_int_equal(got[0].window_start, 0);
    for (size_t i = 0; i < n_got; i++) {
        assert_same_group(&got[i], &wg[i]);
        uint8_t x[FLOE_DISTINCT_SERIALIZED_MAX], y[FLOE_DISTINCT_SERIALIZED_MAX];
        size_t nx = floe_distinct_serialize(&got[i].distinct[0], x);
        assert_int_equal(nx, floe_distinct_serialize(&wg[i].distinct[0], y));
        assert_memory_equal(x, y, nx);
    }
    assert_true(floe_agg_memory(agg) <= before);
    /* A horizon before every window drops nothing; the writer still adds, into dropped windows
     * too: the table then equals the kept rows plus all rows again. */
    assert_int_equal(floe_agg_drop_closed(agg, 1600000000), FLOE_OK);
    assert_int_equal(floe_agg_count(agg), n_want);
    assert_int_equal(floe_agg_writer_add_rows(w, &batch, NULL, batch.count), FLOE_OK);
    assert_int_equal(floe_agg_add_rows(want, &batch, NULL, batch.count), FLOE_OK);
    got = sorted(agg, &n_got);
    wg = sorted(want, &n_want);
    assert_int_equal(n_got, n_want);
    assert_int_equal(n_got, n_all);
    for (size_t i = 0; i < n_got; i++)
        assert_same_group(&got[i], &wg[i]);
    /* The closed groups came back into the memory they left. */
    assert_int_equal(floe_agg_memory(agg), before);
    /* A table without windows keeps everything. */
    floe_agg *flat = agg_of("srcaddr", 0, &batch);
    size_t n_flat = floe_agg_count(flat);
    assert_int_equal(floe_agg_drop_closed(flat, INT64_MAX - 1), FLOE_OK);
    assert_int_equal(floe_agg_count(flat), n_flat);
    floe_agg_free(flat);
    floe_agg_writer_free(w);
    floe_agg_free(agg);
    floe_agg_free(want);
    floe_batch_free(&batch);
    free(kept);
    free(flows);
}

/* A sort of closed windows fills only part of the items array it allocates (the open groups
 * are skipped): freeing it must give back what was allocated. With over 65,536 groups a
 * partition the array is a large block, and the closed ones fit a small one; freeing by the
 * count sorted once handed such a block to free(). */
static void test_sorting_a_few_closed_groups_of_many_frees_what_it_took(void **state) {
    (void)state;
    const uint32_t n = 1200000; /* ~75,000 groups a partition */
    floe_batch batch;
    assert_int_equal(floe_batch_init(&batch, n), FLOE_OK);
    assert_int_equal(
        floe_batch_reserve(&batch, UINT64_C(1) << FLOE_F_SRCADDR | UINT64_C(1) << FLOE_F_START),
        FLOE_OK);
    floe_addr *src = batch.values[FLOE_F_SRCADDR];
    int64_t *start = batch.values[FLOE_F_START];
    for (uint32_t r = 0; r < n; r++) {
        floe_addr_from_v4(0x0a000000u + r, &src[r]);
        start[r] = r < 100 ? 1700000000 : 1700003600; /* 100 in a window the horizon closes */
        batch.nulls[r] = 0;
        batch.line_no[r] = r + 1;
    }
    batch.count = n;
    floe_agg *agg = agg_of("srcaddr", 600, &batch);
    assert_int_equal(floe_agg_count(agg), n);
    const floe_agg_group *closed;
    size_t n_closed;
    assert_int_equal(floe_agg_sorted_closed(agg, 1700001200, &closed, &n_closed), FLOE_OK);
    assert_int_equal(n_closed, 100);
    for (size_t i = 0; i < n_closed; i++)
        assert_int_equal(closed[i].window_start, 1699999800);
    assert_int_equal(floe_agg_drop_closed(agg, 1700001200), FLOE_OK);
    assert_int_equal(floe_agg_count(agg), n - 100);
    floe_agg_free(agg);
    floe_batch_free(&batch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_by_window_and_key_with_every_measure),
        cmocka_unit_test(test_address_prefixes_group_networks),
        cmocka_unit_test(test_string_keys_and_missing_fields),
        cmocka_unit_test(test_partials_merge_in_any_order_to_the_whole),
        cmocka_unit_test(test_key_spec_errors),
        cmocka_unit_test(test_window_zero_puts_every_record_in_one_window),
        cmocka_unit_test(test_counter_sums_saturate_at_the_largest_bigint),
        cmocka_unit_test(test_top_ranks_by_measure_then_key_and_selected_rows_only),
        cmocka_unit_test(test_distinct_counts_per_group_survive_merges),
        cmocka_unit_test(test_writers_on_several_threads_build_the_same_table),
        cmocka_unit_test(test_sorted_order_follows_later_changes),
        cmocka_unit_test(test_drop_closed_keeps_open_windows_and_writers),
        cmocka_unit_test(test_sorting_a_few_closed_groups_of_many_frees_what_it_took),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
