/* The Thrift compact-protocol encoder under Parquet's metadata, byte for byte against the
 * protocol's specification (thrift-compact-protocol.md): field headers in the short
 * (delta) and long forms, zigzag varints, bools in the header, binary, lists in both header
 * forms, nested structs, and the failure flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "floe_thrift.h"

#define ASSERT_BYTES(t, ...)                                                                       \
    do {                                                                                           \
        const uint8_t want_[] = {__VA_ARGS__};                                                     \
        assert_false((t)->out.failed);                                                                 \
        assert_int_equal((t)->out.len, sizeof(want_));                                                 \
        assert_memory_equal((t)->out.data, want_, sizeof(want_));                                      \
    } while (0)

static void integers_are_zigzag_varints_behind_delta_headers(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    floe_thrift_i32(&t, 1, 1);   /* delta 1 from 0, type 5; zigzag(1) = 2 */
    floe_thrift_i32(&t, 2, -1);  /* delta 1; zigzag(-1) = 1 */
    floe_thrift_i64(&t, 3, 300); /* type 6; zigzag 600 = 0xD8 0x04 */
    floe_thrift_i16(&t, 7, 3);   /* delta 4, type 4 */
    floe_thrift_i8(&t, 8, -2);   /* type 3, one raw byte */
    floe_thrift_i64(&t, 9, INT64_MIN);
    ASSERT_BYTES(&t, 0x15, 0x02, 0x15, 0x01, 0x16, 0xD8, 0x04, 0x44, 0x06, 0x13, 0xFE, 0x16, 0xFF,
                 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
    floe_thrift_free(&t);
}

static void far_or_backward_ids_use_the_long_header(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    floe_thrift_i32(&t, 1, 0);
    floe_thrift_i32(&t, 20, 0); /* delta 19 > 15: type byte, then zigzag(20) = 40 */
    floe_thrift_i32(&t, 5, 0);  /* backwards */
    ASSERT_BYTES(&t, 0x15, 0x00, 0x05, 0x28, 0x00, 0x05, 0x0A, 0x00);
    floe_thrift_free(&t);
}

static void bools_live_in_the_header(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    floe_thrift_bool(&t, 1, true);
    floe_thrift_bool(&t, 2, false);
    ASSERT_BYTES(&t, 0x11, 0x12); /* true (1) at delta 1, false (2) at delta 1 */
    floe_thrift_free(&t);
}

static void binary_is_a_length_and_the_bytes(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    floe_thrift_string(&t, 4, "abc");
    uint8_t long_value[200];
    memset(long_value, 'z', sizeof(long_value));
    floe_thrift_binary(&t, 5, long_value, sizeof(long_value)); /* length 200 = 0xC8 0x01 */
    assert_int_equal(t.out.len, 5 + 3 + sizeof(long_value));
    const uint8_t head[] = {0x48, 0x03, 'a', 'b', 'c', 0x18, 0xC8, 0x01};
    assert_memory_equal(t.out.data, head, sizeof(head));
    floe_thrift_free(&t);
}

static void structs_nest_with_their_own_field_ids(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    floe_thrift_i32(&t, 2, 7);
    floe_thrift_struct_begin(&t, 3); /* delta 1, type 12 */
    floe_thrift_i32(&t, 1, 5);       /* ids restart inside: delta 1 */
    floe_thrift_struct_begin(&t, 2);
    floe_thrift_struct_end(&t); /* an empty struct (a union member like TYPE_ORDER) */
    floe_thrift_struct_end(&t);
    floe_thrift_i32(&t, 4, 1); /* back outside: delta from 3 */
    floe_thrift_struct_end(&t);
    ASSERT_BYTES(&t, 0x25, 0x0E, 0x1C, 0x15, 0x0A, 0x1C, 0x00, 0x00, 0x15, 0x02, 0x00);
    assert_int_equal(t.depth, 0);
    floe_thrift_free(&t);
}

static void lists_have_short_and_long_headers(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    floe_thrift_list_begin(&t, 1, FLOE_THRIFT_I32, 3); /* size 3, element type 5 */
    floe_thrift_elem_i32(&t, 0);
    floe_thrift_elem_i32(&t, 3);
    floe_thrift_elem_i32(&t, 8);
    floe_thrift_list_begin(&t, 2, FLOE_THRIFT_STRUCT, 20); /* 0xF0 | 12, then varint 20 */
    for (int i = 0; i < 20; i++) {
        floe_thrift_elem_struct_begin(&t);
        floe_thrift_struct_end(&t);
    }
    floe_thrift_list_begin(&t, 3, FLOE_THRIFT_BINARY, 1);
    floe_thrift_elem_string(&t, "x");
    uint8_t want[64];
    size_t n = 0;
    const uint8_t head[] = {0x19, 0x35, 0x00, 0x06, 0x10, 0x19, 0xFC, 0x14};
    memcpy(want, head, sizeof(head));
    n = sizeof(head);
    for (int i = 0; i < 20; i++)
        want[n++] = 0x00; /* each empty struct: its stop byte */
    const uint8_t tail[] = {0x19, 0x18, 0x01, 'x'};
    memcpy(want + n, tail, sizeof(tail));
    n += sizeof(tail);
    assert_false(t.out.failed);
    assert_int_equal(t.out.len, n);
    assert_memory_equal(t.out.data, want, n);
    floe_thrift_free(&t);
}

static void reset_keeps_memory_and_starts_over(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    floe_thrift_struct_begin(&t, 9);
    floe_thrift_i32(&t, 1, 1);
    floe_thrift_reset(&t);
    floe_thrift_i32(&t, 1, 1); /* a delta from 0 again, at depth 0 */
    ASSERT_BYTES(&t, 0x15, 0x02);
    floe_thrift_free(&t);
}

static void nesting_too_deep_fails_instead_of_overrunning(void **state) {
    (void)state;
    floe_thrift t;
    floe_thrift_init(&t);
    for (int i = 0; i < FLOE_THRIFT_MAX_DEPTH + 4; i++)
        floe_thrift_struct_begin(&t, 1);
    assert_true(t.out.failed);
    assert_true(t.depth < FLOE_THRIFT_MAX_DEPTH);
    floe_thrift_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_are_zigzag_varints_behind_delta_headers),
        cmocka_unit_test(far_or_backward_ids_use_the_long_header),
        cmocka_unit_test(bools_live_in_the_header),
        cmocka_unit_test(binary_is_a_length_and_the_bytes),
        cmocka_unit_test(structs_nest_with_their_own_field_ids),
        cmocka_unit_test(lists_have_short_and_long_headers),
        cmocka_unit_test(reset_keeps_memory_and_starts_over),
        cmocka_unit_test(nesting_too_deep_fails_instead_of_overrunning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
