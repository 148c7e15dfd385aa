/* The decimal writer under the table output: every length boundary and a sweep of values,
 * against snprintf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "floe_digits.h"

static void assert_like_printf(uint64_t v) {
    char want[32], got[32];
    int want_len = snprintf(want, sizeof(want), "%" PRIu64, v);
    memset(got, 'x', sizeof(got));
    char *end = floe_digits_u64(got, v);
    assert_int_equal(end - got, want_len);
    assert_int_equal(floe_digits_count(v), (unsigned)want_len);
    assert_memory_equal(got, want, (size_t)want_len);
    assert_int_equal(got[want_len], 'x'); /* nothing written past the digits */
}

static void every_length_boundary(void **state) {
    (void)state;
    uint64_t power = 1;
    for (int digits = 1; digits <= 20; digits++) {
        assert_like_printf(power);     /* 1, 10, 100, ... */
        assert_like_printf(power - 1); /* 0, 9, 99, ... */
        assert_like_printf(power + 1);
        if (digits < 20) power *= 10;
    }
    assert_like_printf(UINT64_MAX);
    assert_like_printf(UINT64_MAX - 1);
}

static void a_sweep_of_values(void **state) {
    (void)state;
    for (uint64_t v = 0; v < 100000; v++)
        assert_like_printf(v);
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        assert_like_printf(x >> (x & 63)); /* every magnitude */
    }
}

static void two_digits(void **state) {
    (void)state;
    for (unsigned v = 0; v < 100; v++) {
        char got[2], want[3];
        snprintf(want, sizeof(want), "%02u", v);
        floe_digits_2(got, v);
        assert_memory_equal(got, want, 2);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_length_boundary),
        cmocka_unit_test(a_sweep_of_values),
        cmocka_unit_test(two_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
