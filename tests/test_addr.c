/* Address parsing and formatting: IPv4, IPv6 in all its spellings, and what must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "floe_addr.h"
#include "floe_test_guard.h"

/* Parses text placed before a guard page, so an over-read crashes the test. */
static bool parse_guarded(const char *text, floe_addr *out) {
    floe_guarded g = floe_guarded_copy(text, strlen(text));
    bool ok = floe_addr_parse(g.data, strlen(text), out);
    floe_guarded_free(&g);
    return ok;
}

static void assert_same_as_inet_pton(const char *text) {
    floe_addr ours;
    uint8_t theirs[16];
    assert_true(parse_guarded(text, &ours));
    if (strchr(text, ':') != NULL) {
        assert_int_equal(inet_pton(AF_INET6, text, theirs), 1);
    } else {
        uint8_t v4[4];
        assert_int_equal(inet_pton(AF_INET, text, v4), 1);
        memset(theirs, 0, 10);
        theirs[10] = theirs[11] = 0xff;
        memcpy(theirs + 12, v4, 4);
    }
    assert_memory_equal(ours.bytes, theirs, 16);
}

static void test_ipv4_is_stored_ipv4_mapped(void **state) {
    (void)state;
    floe_addr a;
    assert_true(parse_guarded("172.31.16.139", &a));
    assert_true(floe_addr_is_v4(&a));
    const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 172, 31, 16, 139};
    assert_memory_equal(a.bytes, want, 16);
    assert_same_as_inet_pton("0.0.0.0");
    assert_same_as_inet_pton("255.255.255.255");
    assert_same_as_inet_pton("10.0.0.1");
}

static void test_ipv6_spellings_match_inet_pton(void **state) {
    (void)state;
    const char *spellings[] = {
        "2001:db8:1234:a100:8d6e:3477:df66:f105",
        "2001:db8:1234:a102:3304:8879:34cf:4071",
        "::",
        "::1",
        "1::",
        "fe80::1",
        "2001:DB8::ABCD",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1::8",
        "::ffff:10.1.2.3",
        "64:ff9b::192.0.2.33",
        "1:2:3:4:5:6:1.2.3.4",
    };
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
        assert_same_as_inet_pton(spellings[i]);
    floe_addr a;
    assert_true(parse_guarded("2001:db8::1", &a));
    assert_false(floe_addr_is_v4(&a));
}

static void test_malformed_addresses_are_refused(void **state) {
    (void)state;
    const char *bad[] = {
        "",           "1",          "1.2.3",
        "1.2.3.4.5",  "256.1.1.1",  "1.2.3.4 ",
        "1..2.3",     "1.2.3.",     ".1.2.3",
        "1.2.3.1000", "a.b.c.d",    "-",
        ":",          ":::",        "1:2:3:4:5:6:7:8:9",
        "1::2::3",    "12345::",    "1:2:3:4:5:6:7",
        "g::1",       "::1%eth0",   "[::1]",
        "1:",         ":1",         "1:2:3:4:5:6:7:1.2.3.4",
        "::1.2.3",    "10.0.0.0/8",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        floe_addr a;
        if (parse_guarded(bad[i], &a)) fail_msg("accepted malformed address '%s'", bad[i]);
    }
}

static void test_format_round_trips_canonically(void **state) {
    (void)state;
    const char *canonical[] = {
        "10.0.0.1", "255.255.255.255",      "0.0.0.0",    "2001:db8::1", "::", "::1",
        "1::",      "2001:db8:0:1:1:1:1:1", "1:0:0:2::3", "fe80::"};
    for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
        floe_addr a;
        char text[FLOE_ADDR_STRLEN];
        assert_true(parse_guarded(canonical[i], &a));
        size_t n = floe_addr_format(&a, text);
        assert_string_equal(text, canonical[i]);
        assert_int_equal(n, strlen(canonical[i]));
    }
    floe_addr a;
    char text[FLOE_ADDR_STRLEN];
    assert_true(parse_guarded("2001:DB8:0:0:0:0:0:1", &a));
    floe_addr_format(&a, text);
    assert_string_equal(text, "2001:db8::1");
}

/* The 16-byte-window IPv4 parsers (SSE2, and AVX2 where the CPU has it) must agree with the
 * byte loop on everything, valid or not. */
static void test_wide_ipv4_parsers_agree_with_byte_loop(void **state) {
    (void)state;
#if defined(__x86_64__)
    __builtin_cpu_init();
    bool has_avx2 = __builtin_cpu_supports("avx2");
    if (!has_avx2) print_message("no AVX2 on this CPU: its IPv4 parser is not exercised\n");
#endif
    const char alphabet[] = "0123456789...:a -";
    uint64_t rng = 7;
    char text[32];
    int valid = 0;
    for (int round = 0; round < 300000; round++) {
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        size_t len = 1 + (rng >> 59) % 16;
        for (size_t i = 0; i < sizeof(text); i++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            text[i] = alphabet[(rng >> 33) % (sizeof(alphabet) - 1)];
        }
        if (round % 3 == 0) /* plenty of well-formed ones too */
            len = (size_t)snprintf(text, sizeof(text), "%u.%u.%u.%u", (unsigned)(rng >> 8) % 300,
                                   (unsigned)(rng >> 20) % 256, (unsigned)(rng >> 30) % 1000,
                                   (unsigned)(rng >> 40) % 256);
        floe_addr slow, wide;
        memset(&slow, 0, sizeof(slow));
        memset(&wide, 0, sizeof(wide));
        bool slow_ok = floe_addr_parse_v4(text, len, &slow);
        bool wide_ok = floe_addr_parse_v4_wide(text, len, sizeof(text), &wide);
        if (slow_ok != wide_ok) fail_msg("disagree on '%.*s'", (int)len, text);
        if (slow_ok) assert_memory_equal(slow.bytes, wide.bytes, 16);
#if defined(__x86_64__)
        if (has_avx2) {
            floe_addr shuffled;
            memset(&shuffled, 0, sizeof(shuffled));
            bool avx2_ok = floe_addr_parse_v4_avx2(text, len, sizeof(text), &shuffled);
            if (slow_ok != avx2_ok) fail_msg("avx2 parser disagrees on '%.*s'", (int)len, text);
            if (slow_ok) assert_memory_equal(slow.bytes, shuffled.bytes, 16);
        }
#endif
        valid += slow_ok;
    }
    assert_true(valid > 10000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_is_stored_ipv4_mapped),
        cmocka_unit_test(test_ipv6_spellings_match_inet_pton),
        cmocka_unit_test(test_malformed_addresses_are_refused),
        cmocka_unit_test(test_format_round_trips_canonically),
        cmocka_unit_test(test_wide_ipv4_parsers_agree_with_byte_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
