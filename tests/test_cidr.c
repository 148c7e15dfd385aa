/* Prefix sets (core/floe_cidr) and the detectors' settings (core/floe_detect_config):
 *  - longest-prefix lookup equals a brute-force scan over random nested IPv4 and IPv6 prefixes,
 *    probed at every prefix's edges and at random addresses;
 *  - the list form: comments, blanks, CRLF, IPv6, the line number of a bad line;
 *  - settings: units, lists, defaults, and the messages for bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_cidr.h"
#include "floe_detect.h"

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(0x2545f4914f6cdd1d);
}

typedef struct ref_prefix {
    floe_addr addr;
    unsigned len;
} ref_prefix;

static bool ref_contains(const ref_prefix *p, const floe_addr *a) {
    for (unsigned bit = 0; bit < p->len; bit++) {
        unsigned byte = bit / 8, shift = 7 - bit % 8;
        if ((p->addr.bytes[byte] >> shift & 1) != (a->bytes[byte] >> shift & 1)) return false;
    }
    return true;
}

/* The longest containing prefix; of equal ones the first added. */
static long ref_lookup(const ref_prefix *p, size_t n, const floe_addr *a) {
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if (ref_contains(&p[i], a) && (best < 0 || p[i].len > p[best].len)) best = (long)i;
    return best;
}

static void random_addr(uint64_t *s, bool v4, floe_addr *a) {
    if (v4) {
        /* A few /8s, so prefixes nest and collide often. */
        uint32_t x = (uint32_t)rng_next(s);
        x = (x & 0x00ffffff) | (uint32_t)(10 + rng_next(s) % 3) << 24;
        floe_addr_from_v4(x, a);
    } else {
        for (int i = 0; i < 16; i++)
            a->bytes[i] = (uint8_t)rng_next(s);
        a->bytes[0] = 0x20;
        a->bytes[1] = (uint8_t)(rng_next(s) % 2);
    }
}

/* addr with every bit past len set (last) or cleared (first). */
static floe_addr edge(const floe_addr *a, unsigned len, bool last) {
    floe_addr e = *a;
    for (unsigned bit = len; bit < 128; bit++) {
        unsigned byte = bit / 8, mask = 1u << (7 - bit % 8);
        e.bytes[byte] = last ? (uint8_t)(e.bytes[byte] | mask) : (uint8_t)(e.bytes[byte] & ~mask);
    }
    return e;
}

static void test_lookup_matches_brute_force(void **state) {
    (void)state;
    uint64_t s = 0x1234567;
    /* The last round passes 4096 runs, so the /24 bitmap of large sets is used too. */
    for (int round = 0; round < 21; round++) {
        const bool large = round == 20;
        size_t n = large ? 6000 : 1 + rng_next(&s) % 300;
        ref_prefix *p = calloc(n, sizeof *p);
        floe_cidr_set *set = floe_cidr_set_new();
        assert_non_null(set);
        for (size_t i = 0; i < n; i++) {
            bool v4 = rng_next(&s) % 4 != 0;
            if (i > 0 && rng_next(&s) % 5 == 0) {
                p[i] = p[rng_next(&s) % i]; /* duplicates and re-adds */
            } else {
                random_addr(&s, v4, &p[i].addr);
                p[i].len = v4 ? 96 + (unsigned)(rng_next(&s) % 33) : (unsigned)(rng_next(&s) % 129);
                if (v4 && rng_next(&s) % 3 == 0) p[i].len = 96 + 8 + (unsigned)(rng_next(&s) % 9);
                /* Long prefixes only (no IPv6 one covering ::ffff:0:0/96), so a large set
                 * leaves holes between its /24s. */
                if (large)
                    p[i].len = v4 ? 96 + 20 + (unsigned)(rng_next(&s) % 13) : 16 + p[i].len % 113;
            }
            assert_int_equal(floe_cidr_set_add(set, &p[i].addr, p[i].len), FLOE_OK);
        }
        assert_int_equal(floe_cidr_set_build(set), FLOE_OK);
        for (size_t i = 0; i < n; i += large ? 7 : 1) {
            for (int side = 0; side < 2; side++) {
                floe_addr a = edge(&p[i].addr, p[i].len, side);
                assert_int_equal(floe_cidr_set_lookup(set, &a), ref_lookup(p, n, &a));
                /* one past each edge */
                for (int k = 15; k >= 0; k--) {
                    if (side ? ++a.bytes[k] != 0 : a.bytes[k]-- != 0) break;
                }
                assert_int_equal(floe_cidr_set_lookup(set, &a), ref_lookup(p, n, &a));
            }
        }
        for (int k = 0; k < (large ? 1000 : 3000); k++) {
            floe_addr a;
            random_addr(&s, rng_next(&s) % 4 != 0, &a);
            assert_int_equal(floe_cidr_set_lookup(set, &a), ref_lookup(p, n, &a));
        }
        floe_cidr_set_free(set);
        free(p);
    }
}

static void test_whole_space_and_empty_set(void **state) {
    (void)state;
    floe_cidr_set *set = floe_cidr_set_new();
    assert_int_equal(floe_cidr_set_build(set), FLOE_OK);
    floe_addr a;
    floe_addr_from_v4(0x0a000001, &a);
    assert_int_equal(floe_cidr_set_lookup(set, &a), -1);
    floe_cidr_set_free(set);
    set = floe_cidr_set_new();
    assert_int_equal(floe_cidr_set_add_text(set, "::/0", 4), FLOE_OK);
    assert_int_equal(floe_cidr_set_add_text(set, "255.255.255.255", 15), FLOE_OK);
    assert_int_equal(floe_cidr_set_build(set), FLOE_OK);
    assert_int_equal(floe_cidr_set_lookup(set, &a), 0);
    floe_addr_from_v4(0xffffffff, &a);
    assert_int_equal(floe_cidr_set_lookup(set, &a), 1);
    memset(a.bytes, 0xff, 16);
    assert_int_equal(floe_cidr_set_lookup(set, &a), 0);
    floe_cidr_set_free(set);
}

static long lookup_text(const floe_cidr_set *set, const char *text) {
    floe_addr a;
    assert_true(floe_addr_parse(text, strlen(text), &a));
    return floe_cidr_set_lookup(set, &a);
}

static floe_cidr_set *set_of(const char *list) {
    floe_cidr_set *set = floe_cidr_set_new();
    uint64_t bad = 0;
    assert_int_equal(floe_cidr_set_add_list(set, list, strlen(list), &bad), FLOE_OK);
    assert_int_equal(floe_cidr_set_build(set), FLOE_OK);
    return set;
}

/* A run that crosses the edges of the IPv4 part of the space (::ffff:0:0/96) is kept whole for
 * IPv6 lookups and its IPv4 part for IPv4 ones; overlaps see both, and only what is there. */
static void test_runs_crossing_ipv4_edges(void **state) {
    (void)state;
    floe_cidr_set *set = set_of("::/1\n10.0.0.0/8\n2001:db8::/32\n");
    assert_int_equal(lookup_text(set, "0.0.0.0"), 0);
    assert_int_equal(lookup_text(set, "10.1.2.3"), 1);
    assert_int_equal(lookup_text(set, "11.0.0.0"), 0);
    assert_int_equal(lookup_text(set, "255.255.255.255"), 0);
    assert_int_equal(lookup_text(set, "::fffe:ffff:ffff"), 0); /* just below IPv4 */
    assert_int_equal(lookup_text(set, "::1:0:0:0"), 0);        /* just above */
    assert_int_equal(lookup_text(set, "2001:db8::1"), 2);
    assert_int_equal(lookup_text(set, "8000::"), -1);
    floe_cidr_set *v4 = set_of("192.0.2.0/24\n"), *v6 = set_of("2001:db8:1::/48\n");
    floe_cidr_set *far6 = set_of("8000::/1\n"), *lone = set_of("::fffe:0:0/112\n");
    assert_true(floe_cidr_set_overlaps(set, v4));
    assert_true(floe_cidr_set_overlaps(v4, set));
    assert_true(floe_cidr_set_overlaps(set, v6));
    assert_true(floe_cidr_set_overlaps(v6, set));
    assert_true(floe_cidr_set_overlaps(lone, set)); /* outside IPv4, inside ::/1 */
    assert_false(floe_cidr_set_overlaps(set, far6));
    assert_false(floe_cidr_set_overlaps(far6, set));
    assert_false(floe_cidr_set_overlaps(v4, v6));
    assert_false(floe_cidr_set_overlaps(v4, lone));
    floe_cidr_set *sets[] = {set, v4, v6, far6, lone};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        floe_cidr_set_free(sets[i]);
}

static void test_list_form(void **state) {
    (void)state;
    const char text[] = "# threat list\r\n"
                        "185.220.101.0/24\r\n"
                        "  185.220.100.240   # one host\n"
                        "\n"
                        "2001:db8:bad::/48\n"
                        "10.1.2.3";
    floe_cidr_set *set = floe_cidr_set_new();
    uint64_t bad = 0;
    assert_int_equal(floe_cidr_set_add_list(set, text, strlen(text), &bad), FLOE_OK);
    assert_int_equal(floe_cidr_set_count(set), 4);
    assert_int_equal(floe_cidr_set_build(set), FLOE_OK);
    floe_addr a;
    assert_true(floe_addr_parse("185.220.101.47", 14, &a));
    assert_int_equal(floe_cidr_set_lookup(set, &a), 0);
    assert_true(floe_addr_parse("2001:db8:bad:1::9", 17, &a));
    assert_int_equal(floe_cidr_set_lookup(set, &a), 2);
    assert_true(floe_addr_parse("185.220.102.1", 13, &a));
    assert_int_equal(floe_cidr_set_lookup(set, &a), -1);
    char entry[FLOE_CIDR_STRLEN];
    floe_cidr_set_entry_text(set, 0, entry);
    assert_string_equal(entry, "185.220.101.0/24");
    floe_cidr_set_entry_text(set, 2, entry);
    assert_string_equal(entry, "2001:db8:bad::/48");
    /* Overlaps: 10.1.2.3 lies in 10.0.0.0/8; nothing lies in 192.168.0.0/16. */
    floe_cidr_set *ten = floe_cidr_set_new(), *home = floe_cidr_set_new();
    assert_int_equal(floe_cidr_set_add_text(ten, "10.0.0.0/8", 10), FLOE_OK);
    assert_int_equal(floe_cidr_set_add_text(home, "192.168.0.0/16", 14), FLOE_OK);
    assert_int_equal(floe_cidr_set_build(ten), FLOE_OK);
    assert_int_equal(floe_cidr_set_build(home), FLOE_OK);
    assert_true(floe_cidr_set_overlaps(set, ten));
    assert_true(floe_cidr_set_overlaps(ten, set));
    assert_false(floe_cidr_set_overlaps(set, home));
    assert_false(floe_cidr_set_overlaps(home, set));
    floe_cidr_set_free(ten);
    floe_cidr_set_free(home);
    floe_cidr_set_free(set);

    const char *bad_lines[] = {
        "1.2.3.4\n1.2.3.0/33\n", "1.2.3.4\n\nfe80::/129\n", "1.2.3.4\n1.2.3\n", "x\n", "1.2.3.4/\n",
        "1.2.3.4 5.6.7.8\n"};
    const uint64_t at[] = {2, 3, 2, 1, 1, 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        set = floe_cidr_set_new();
        bad = 0;
        assert_int_equal(floe_cidr_set_add_list(set, bad_lines[i], strlen(bad_lines[i]), &bad),
                         FLOE_ERR_FORMAT);
        assert_int_equal(bad, at[i]);
        floe_cidr_set_free(set);
    }
}

static void test_settings(void **state) {
    (void)state;
    floe_detect_config c;
    floe_detect_config_init(&c);
    assert_int_equal(c.portscan_ports, 100);
    assert_int_equal(c.probe_window, 3600);
    char err[200];
    const char text[] = "# tuned\n"
                        "scan.window = 5m\n"
                        "portscan.ports=250  # more\n"
                        "dos.bytes = 2G\n"
                        "beacon.max_cv = 0.05\n"
                        "sensitive_ports = 22, 2375\n"
                        "internal = 10.0.0.0/8 203.0.113.0/24\n";
    uint64_t line = 0;
    assert_int_equal(floe_detect_config_parse(&c, text, strlen(text), &line, err, sizeof err),
                     FLOE_OK);
    assert_int_equal(c.scan_window, 300);
    assert_int_equal(c.portscan_ports, 250);
    assert_true(c.dos_bytes == 2000000000u);
    assert_true(c.beacon_max_cv == 0.05);
    assert_true(c.sensitive_ports[2375 / 8] >> (2375 % 8) & 1);
    assert_false(c.sensitive_ports[3389 / 8] >> (3389 % 8) & 1); /* a list replaces the default */
    assert_int_equal(floe_detect_config_finish(&c), FLOE_OK);
    floe_addr a;
    floe_addr_from_v4(0xcb007105, &a); /* 203.0.113.5: internal by the setting */
    assert_true(floe_cidr_set_contains(c.internal, &a));
    floe_addr_from_v4(0xc0a80001, &a); /* 192.168.0.1: not any more */
    assert_false(floe_cidr_set_contains(c.internal, &a));
    floe_detect_config_free(&c);

    floe_detect_config_init(&c);
    const struct {
        const char *line, *message;
    } bad[] = {
        {"portscan.ports = many", "portscan.ports: 'many' is not a whole number of at least 1"},
        {"portscan.portz = 5", "unknown setting 'portscan.portz'"},
        {"scan.window = 0s", "scan.window: '0s' is not a whole duration from 1s to 366d"},
        {"portsweep.max_answered = -2", "portsweep.max_answered: '-2' is not a number"},
        {"mining_ports = 3333,70000", "mining_ports: '3333,70000' is not a list of ports 0-65535"},
        {"allow.actors = 10.0.0.300",
         "allow.actors: '10.0.0.300' is not a list of addresses or CIDRs"},
        {"portscan.ports", "expected 'name = value'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(
            floe_detect_config_set(&c, bad[i].line, strlen(bad[i].line), err, sizeof err),
            FLOE_ERR_FORMAT);
        assert_string_equal(err, bad[i].message);
    }
    const char two[] = "portscan.ports = 5\n\nbogus = 1\n";
    assert_int_equal(floe_detect_config_parse(&c, two, strlen(two), &line, err, sizeof err),
                     FLOE_ERR_FORMAT);
    assert_int_equal(line, 3);
    floe_detect_config_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_matches_brute_force),
        cmocka_unit_test(test_whole_space_and_empty_set),
        cmocka_unit_test(test_runs_crossing_ipv4_edges),
        cmocka_unit_test(test_list_form),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
