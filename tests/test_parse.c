/* The record parser: every field type, formats in any order, nulls, headers anywhere,
 * CloudWatch export lines, every bad-line reason, partial lines, and the scalar and SIMD scans
 * giving the same results. All input sits right before a guard page, so an over-read crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_parse.h"
#include "floe_test_digest.h"
#include "floe_test_guard.h"

/* ---- a parse of one text, with everything the callbacks said -------------------------------- */

#define MAX_BAD 64

typedef struct recorded_bad {
    floe_bad_line line;
    char text[160];
} recorded_bad;

typedef struct run {
    floe_guarded input;
    size_t input_len;
    size_t offset; /* bytes consumed by earlier calls */
    floe_parser parser;
    floe_batch batch;
    recorded_bad bad[MAX_BAD];
    int nbad;
    char unknown[8][FLOE_MAX_UNKNOWN_NAME_LEN];
    uint64_t unknown_line[8];
    int nunknown;
} run;

static void record_bad(void *ctx, const floe_bad_line *bad) {
    run *r = ctx;
    if (r->nbad == MAX_BAD) return;
    recorded_bad *slot = &r->bad[r->nbad++];
    slot->line = *bad;
    size_t n = bad->text.len < sizeof(slot->text) - 1 ? bad->text.len : sizeof(slot->text) - 1;
    memcpy(slot->text, bad->text.ptr, n);
    slot->text[n] = '\0';
    slot->line.text.ptr = slot->text;
}

static void record_unknown(void *ctx, floe_slice name, uint64_t line_no) {
    run *r = ctx;
    if (r->nunknown == 8) return;
    snprintf(r->unknown[r->nunknown], sizeof(r->unknown[0]), "%.*s", (int)name.len, name.ptr);
    r->unknown_line[r->nunknown++] = line_no;
}

static run *run_new(const char *text, floe_line_mode mode, const char *format_text,
                    uint32_t batch_rows, floe_simd simd) {
    run *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->input_len = strlen(text);
    r->input = floe_guarded_copy(text, r->input_len);
    assert_non_null(r->input.data);
    floe_format format;
    if (format_text != NULL)
        assert_int_equal(floe_format_parse(format_text, strlen(format_text), &format), FLOE_OK);
    floe_parse_options options = {
        mode, format_text != NULL ? &format : NULL, simd, record_bad, record_unknown, r};
    floe_parser_init(&r->parser, &options);
    assert_int_equal(floe_batch_init(&r->batch, batch_rows), FLOE_OK);
    return r;
}

/* Parses the next batch; returns false when the input is used up. */
static bool run_next(run *r) {
    if (r->offset == r->input_len) return false;
    size_t consumed = 0;
    assert_int_equal(floe_parse(&r->parser, r->input.data + r->offset, r->input_len - r->offset,
                                true, &r->batch, &consumed),
                     FLOE_OK);
    r->offset += consumed;
    return true;
}

static run *parse_text(const char *text) {
    run *r = run_new(text, FLOE_LINES_S3, NULL, 1024, floe_scan_default_level());
    run_next(r);
    return r;
}

static void run_free(run *r) {
    floe_batch_free(&r->batch);
    floe_guarded_free(&r->input);
    free(r);
}

static void assert_slice(floe_slice s, const char *want) {
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

static void assert_addr(const floe_addr *got, const char *want) {
    char text[FLOE_ADDR_STRLEN];
    floe_addr_format(got, text);
    assert_string_equal(text, want);
}

/* ---- the spec's examples ------------------------------------------------------------------- */

static const char spec_examples[] =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start "
    "end action log-status\n"
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 "
    "1418530070 ACCEPT OK\n"
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 "
    "1418530070 REJECT OK\n"
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n"
    "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA\n"
    "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 "
    "2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK\n";

static void test_spec_example_lines_parse_to_typed_columns(void **state) {
    (void)state;
    run *r = parse_text(spec_examples);
    const floe_batch *b = &r->batch;
    assert_int_equal(b->count, 5);
    assert_int_equal(r->parser.stats.headers, 1);
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(r->parser.format.version, 2);

    assert_int_equal(floe_batch_u8(b, FLOE_F_VERSION)[0], 2);
    assert_slice(floe_batch_str(b, FLOE_F_ACCOUNT_ID)[0], "123456789010");
    assert_slice(floe_batch_str(b, FLOE_F_INTERFACE_ID)[3], "eni-11111111aaaaaaaaa");
    assert_addr(&floe_batch_addr(b, FLOE_F_SRCADDR)[0], "172.31.16.139");
    assert_addr(&floe_batch_addr(b, FLOE_F_DSTADDR)[1], "172.31.9.12");
    assert_int_equal(floe_batch_u16(b, FLOE_F_SRCPORT)[0], 20641);
    assert_int_equal(floe_batch_u16(b, FLOE_F_DSTPORT)[1], 3389);
    assert_int_equal(floe_batch_u8(b, FLOE_F_PROTOCOL)[0], 6);
    assert_int_equal(floe_batch_u64(b, FLOE_F_PACKETS)[4], 54);
    assert_int_equal(floe_batch_u64(b, FLOE_F_BYTES)[4], 8855);
    assert_int_equal(floe_batch_time(b, FLOE_F_START)[0], 1418530010);
    assert_int_equal(floe_batch_time(b, FLOE_F_END)[4], 1477913820);
    assert_int_equal(floe_batch_u8(b, FLOE_F_ACTION)[0], FLOE_ACTION_ACCEPT);
    assert_int_equal(floe_batch_u8(b, FLOE_F_ACTION)[1], FLOE_ACTION_REJECT);
    assert_int_equal(floe_batch_u8(b, FLOE_F_LOG_STATUS)[0], FLOE_LOG_STATUS_OK);
    assert_int_equal(floe_batch_u8(b, FLOE_F_LOG_STATUS)[2], FLOE_LOG_STATUS_NODATA);
    assert_int_equal(floe_batch_u8(b, FLOE_F_LOG_STATUS)[3], FLOE_LOG_STATUS_SKIPDATA);
    assert_addr(&floe_batch_addr(b, FLOE_F_SRCADDR)[4], "2001:db8:1234:a100:8d6e:3477:df66:f105");

    /* NODATA: '-' is null for addresses, ports, counters and action alike. */
    const floe_field nulled[] = {FLOE_F_SRCADDR,  FLOE_F_DSTADDR, FLOE_F_SRCPORT, FLOE_F_DSTPORT,
                                 FLOE_F_PROTOCOL, FLOE_F_PACKETS, FLOE_F_BYTES,   FLOE_F_ACTION};
    for (size_t i = 0; i < sizeof(nulled) / sizeof(nulled[0]); i++) {
        assert_int_equal(floe_batch_is_null(b, nulled[i], 2), 1);
        assert_int_equal(floe_batch_is_null(b, nulled[i], 0), 0);
    }
    assert_int_equal(floe_batch_u64(b, FLOE_F_BYTES)[2], 0);
    assert_int_equal(floe_batch_is_null(b, FLOE_F_START, 2), 0);
    /* Line numbers count the header. */
    assert_int_equal(b->line_no[0], 2);
    assert_int_equal(b->line_no[4], 6);
    run_free(r);
}

/* The example block of ../shared/spec/flow-logs.md itself, when the spec is beside the repo. */
static void test_spec_file_example_block_parses_cleanly(void **state) {
    (void)state;
    const char *dir = getenv("FLOE_SHARED_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/spec/flow-logs.md", dir != NULL ? dir : "../shared");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        print_message("spec not found at %s\n", path);
        skip();
    }
    static char spec[1 << 16];
    size_t n = fread(spec, 1, sizeof(spec) - 1, f);
    fclose(f);
    spec[n] = '\0';
    char *block = strstr(spec, "## Example lines");
    assert_non_null(block);
    block = strstr(block, "```\n");
    assert_non_null(block);
    block += 4;
    char *end = strstr(block, "```");
    assert_non_null(end);
    *end = '\0';
    run *r = parse_text(block);
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(r->parser.stats.headers, 1);
    assert_true(r->batch.count >= 5);
    run_free(r);
}

/* ---- every field, every type ----------------------------------------------------------------- */

static const char *enum_word_for(floe_field f) {
    switch (f) {
    case FLOE_F_ACTION:
        return "REJECT";
    case FLOE_F_LOG_STATUS:
        return "SKIPDATA";
    case FLOE_F_TYPE:
        return "IPv6";
    case FLOE_F_FLOW_DIRECTION:
        return "egress";
    default:
        return NULL;
    }
}

/* A header of all known fields (in reverse table order, to be sure order comes from the header)
 * and one line with a value for each. */
static void build_all_fields(char *header, char *line, size_t cap, bool all_null) {
    header[0] = line[0] = '\0';
    for (int f = FLOE_FIELD_COUNT - 1; f >= 0; f--) {
        char value[64];
        switch (floe_field_type((floe_field)f)) {
        case FLOE_T_U8:
            snprintf(value, sizeof(value), "%d", 200 + f % 50);
            break;
        case FLOE_T_U16:
            snprintf(value, sizeof(value), "%d", 65535 - f);
            break;
        case FLOE_T_U64:
            snprintf(value, sizeof(value), "%llu", 9223372036854775807ull - (unsigned)f);
            break;
        case FLOE_T_TIME:
            snprintf(value, sizeof(value), "%d", 1700000000 + f);
            break;
        case FLOE_T_ADDR:
            if (f % 2)
                snprintf(value, sizeof(value), "10.0.%d.%d", f, f + 1);
            else
                snprintf(value, sizeof(value), "2001:db8::%x", f);
            break;
        case FLOE_T_ENUM:
            snprintf(value, sizeof(value), "%s", enum_word_for((floe_field)f));
            break;
        case FLOE_T_STR:
            snprintf(value, sizeof(value), "s-%s", floe_field_name((floe_field)f));
            break;
        }
        if (all_null) snprintf(value, sizeof(value), "-");
        strncat(header, floe_field_name((floe_field)f), cap - strlen(header) - 2);
        strncat(line, value, cap - strlen(line) - 2);
        strcat(header, f ? " " : "\n");
        strcat(line, f ? " " : "\n");
    }
}

static void test_every_field_of_every_version_parses_to_its_type(void **state) {
    (void)state;
    static char header[4096], line[4096], text[8192];
    build_all_fields(header, line, sizeof(header), false);
    snprintf(text, sizeof(text), "%s%s", header, line);
    run *r = parse_text(text);
    const floe_batch *b = &r->batch;
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(b->count, 1);
    assert_int_equal(r->parser.format.version, 10);
    assert_int_equal(r->parser.format.ncols, FLOE_FIELD_COUNT);
    for (int i = 0; i < FLOE_FIELD_COUNT; i++) {
        floe_field f = (floe_field)i;
        assert_true(floe_batch_has(b, f));
        assert_int_equal(floe_batch_is_null(b, f, 0), 0);
        char want[64];
        switch (floe_field_type(f)) {
        case FLOE_T_U8:
            assert_int_equal(floe_batch_u8(b, f)[0], 200 + i % 50);
            break;
        case FLOE_T_U16:
            assert_int_equal(floe_batch_u16(b, f)[0], 65535 - i);
            break;
        case FLOE_T_U64:
            assert_true(floe_batch_u64(b, f)[0] == 9223372036854775807ull - (unsigned)i);
            break;
        case FLOE_T_TIME:
            assert_int_equal(floe_batch_time(b, f)[0], 1700000000 + i);
            break;
        case FLOE_T_ADDR:
            if (i % 2)
                snprintf(want, sizeof(want), "10.0.%d.%d", i, i + 1);
            else
                snprintf(want, sizeof(want), "2001:db8::%x", i);
            assert_addr(&floe_batch_addr(b, f)[0], want);
            break;
        case FLOE_T_ENUM:
            assert_string_equal(floe_enum_word(f, floe_batch_u8(b, f)[0]), enum_word_for(f));
            break;
        case FLOE_T_STR:
            snprintf(want, sizeof(want), "s-%s", floe_field_name(f));
            assert_slice(floe_batch_str(b, f)[0], want);
            break;
        }
    }
    run_free(r);
}

static void test_dash_is_null_for_every_field(void **state) {
    (void)state;
    static char header[4096], line[4096], text[8192];
    build_all_fields(header, line, sizeof(header), true);
    snprintf(text, sizeof(text), "%s%s", header, line);
    run *r = parse_text(text);
    const floe_batch *b = &r->batch;
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(b->count, 1);
    for (int i = 0; i < FLOE_FIELD_COUNT; i++) {
        floe_field f = (floe_field)i;
        assert_int_equal(floe_batch_is_null(b, f, 0), 1);
        if (floe_field_type(f) == FLOE_T_STR) assert_null(floe_batch_str(b, f)[0].ptr);
    }
    run_free(r);
}

static void test_any_subset_in_any_order(void **state) {
    (void)state;
    run *r = parse_text("action bytes dstaddr dstport flow-direction pkt-srcaddr srcaddr start "
                        "tcp-flags traffic-path\n"
                        "ACCEPT 1500 10.0.0.2 443 ingress 198.51.100.7 10.0.1.9 1700000000 18 8\n");
    const floe_batch *b = &r->batch;
    assert_int_equal(b->count, 1);
    assert_int_equal(r->parser.format.version, 5);
    assert_false(floe_batch_has(b, FLOE_F_VERSION));
    assert_false(floe_batch_has(b, FLOE_F_PACKETS));
    assert_int_equal(floe_batch_u8(b, FLOE_F_ACTION)[0], FLOE_ACTION_ACCEPT);
    assert_int_equal(floe_batch_u64(b, FLOE_F_BYTES)[0], 1500);
    assert_addr(&floe_batch_addr(b, FLOE_F_DSTADDR)[0], "10.0.0.2");
    assert_int_equal(floe_batch_u16(b, FLOE_F_DSTPORT)[0], 443);
    assert_int_equal(floe_batch_u8(b, FLOE_F_FLOW_DIRECTION)[0], FLOE_DIRECTION_INGRESS);
    assert_addr(&floe_batch_addr(b, FLOE_F_PKT_SRCADDR)[0], "198.51.100.7");
    assert_addr(&floe_batch_addr(b, FLOE_F_SRCADDR)[0], "10.0.1.9");
    assert_int_equal(floe_batch_time(b, FLOE_F_START)[0], 1700000000);
    assert_int_equal(floe_batch_u8(b, FLOE_F_TCP_FLAGS)[0], 18);
    assert_int_equal(floe_batch_u8(b, FLOE_F_TRAFFIC_PATH)[0], 8);
    run_free(r);
}

/* Every length of number, on every path: 1-8 digits a word at a time, 9-16 in two words (or
 * one SSE register), 17-20 byte by byte; and a bad digit anywhere in them. */
static void test_numbers_of_every_length(void **state) {
    (void)state;
    char text[4096] = "bytes\n";
    uint64_t want[20];
    uint64_t value = 0;
    for (int digits = 1; digits <= 20; digits++) {
        value = value * 10 + (uint64_t)(digits % 10);
        want[digits - 1] = value;
        sprintf(text + strlen(text), "%llu\n", (unsigned long long)value);
    }
    for (int digits = 1; digits <= 20; digits++) { /* the same lengths with one bad character */
        char line[32];
        snprintf(line, sizeof(line), "%llu", (unsigned long long)want[digits - 1]);
        line[digits / 2] = digits % 2 ? ':' : '/'; /* just above and below '0'..'9' */
        sprintf(text + strlen(text), "%s\n", line);
    }
    strcat(text, "0000000000000001\n"); /* leading zeros */
    run *r = parse_text(text);
    /* 19 digits and fewer are counters; the 20-digit one is past the largest BIGINT. */
    assert_int_equal(r->batch.count, 20);
    for (int i = 0; i < 19; i++)
        assert_true(floe_batch_u64(&r->batch, FLOE_F_BYTES)[i] == want[i]);
    assert_int_equal(floe_batch_u64(&r->batch, FLOE_F_BYTES)[19], 1);
    assert_int_equal(r->nbad, 21);
    assert_int_equal(r->bad[0].line.line_no, 21); /* line 1 is the header */
    assert_int_equal(r->bad[0].line.reason, FLOE_BAD_RANGE);
    for (int i = 1; i < 21; i++)
        assert_int_equal(r->bad[i].line.reason, FLOE_BAD_NUMBER);
    run_free(r);
}

static void test_milliseconds_become_seconds(void **state) {
    (void)state;
    run *r = parse_text("start end\n"
                        "1418530010000 1418530070999\n"
                        "2147483647 2147483648\n"
                        "99999999999999 0\n");
    const floe_batch *b = &r->batch;
    assert_int_equal(b->count, 2);
    assert_int_equal(floe_batch_time(b, FLOE_F_START)[0], 1418530010);
    assert_int_equal(floe_batch_time(b, FLOE_F_END)[0], 1418530070);
    assert_int_equal(floe_batch_time(b, FLOE_F_START)[1], 2147483647); /* the last second value */
    assert_int_equal(floe_batch_time(b, FLOE_F_END)[1], 2147483);      /* the first ms value */
    /* Too large even as milliseconds: not a time. */
    assert_int_equal(r->nbad, 1);
    assert_int_equal(r->bad[0].line.reason, FLOE_BAD_RANGE);
    assert_int_equal(r->bad[0].line.field, FLOE_F_START);
    run_free(r);
}

static void test_runs_of_spaces_and_crlf_do_not_shift_fields(void **state) {
    (void)state;
    run *r = parse_text("srcaddr dstport   action\r\n"
                        "10.0.0.1   443 ACCEPT\r\n"
                        "  10.0.0.2 80    REJECT   \r\n"
                        "10.0.0.3 22 ACCEPT\r\r\n"
                        "10.0.0.4 23 REJECT");
    const floe_batch *b = &r->batch;
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(b->count, 4);
    assert_addr(&floe_batch_addr(b, FLOE_F_SRCADDR)[1], "10.0.0.2");
    assert_int_equal(floe_batch_u16(b, FLOE_F_DSTPORT)[1], 80);
    assert_int_equal(floe_batch_u8(b, FLOE_F_ACTION)[1], FLOE_ACTION_REJECT);
    assert_int_equal(floe_batch_u8(b, FLOE_F_ACTION)[2], FLOE_ACTION_ACCEPT);
    assert_int_equal(floe_batch_u16(b, FLOE_F_DSTPORT)[3], 23); /* last line, no newline */
    run_free(r);
}

static void test_blank_lines_are_counted_not_reported(void **state) {
    (void)state;
    run *r = parse_text("dstport\n\n443\n   \n\r\n80\n");
    assert_int_equal(r->batch.count, 2);
    assert_int_equal(r->parser.stats.blank_lines, 3);
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(r->batch.line_no[1], 6);
    run_free(r);
}

/* ---- headers ----------------------------------------------------------------------------------
 */

static void test_same_header_repeated_mid_file_is_skipped(void **state) {
    (void)state;
    run *r = parse_text("srcport dstport\n1 2\nsrcport dstport\n3 4\n");
    assert_int_equal(r->batch.count, 2);
    assert_int_equal(r->parser.stats.headers, 2);
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_SRCPORT)[1], 3);
    assert_true(r->offset == r->input_len);
    run_free(r);
}

static void test_new_header_mid_file_switches_format_between_batches(void **state) {
    (void)state;
    run *r = parse_text("srcport dstport\n1 2\n5 6\ndstport action srcaddr\n443 REJECT 10.9.8.7\n");
    /* First batch: the old format's two rows, ending at the new header. */
    assert_int_equal(r->batch.count, 2);
    assert_true(floe_batch_has(&r->batch, FLOE_F_SRCPORT));
    assert_false(floe_batch_has(&r->batch, FLOE_F_ACTION));
    assert_true(run_next(r));
    assert_int_equal(r->batch.count, 1);
    assert_false(floe_batch_has(&r->batch, FLOE_F_SRCPORT));
    assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_DSTPORT)[0], 443);
    assert_int_equal(floe_batch_u8(&r->batch, FLOE_F_ACTION)[0], FLOE_ACTION_REJECT);
    assert_addr(&floe_batch_addr(&r->batch, FLOE_F_SRCADDR)[0], "10.9.8.7");
    assert_int_equal(r->batch.line_no[0], 5);
    assert_false(run_next(r));
    assert_int_equal(r->parser.stats.headers, 2);
    run_free(r);
}

static void test_no_header_uses_the_given_format(void **state) {
    (void)state;
    run *r = run_new("10.0.0.1 REJECT\n", FLOE_LINES_S3, "srcaddr action", 16,
                     floe_scan_default_level());
    run_next(r);
    assert_int_equal(r->batch.count, 1);
    assert_int_equal(floe_batch_u8(&r->batch, FLOE_F_ACTION)[0], FLOE_ACTION_REJECT);
    run_free(r);
    /* And the default format when none is given. */
    r = parse_text(strchr(spec_examples, '\n') + 1);
    assert_int_equal(r->batch.count, 5);
    assert_int_equal(r->parser.stats.headers, 0);
    run_free(r);
}

static void test_unknown_field_names_are_skipped_and_announced_once(void **state) {
    (void)state;
    run *r = parse_text("srcport future-field dstport\n1 whatever 2\n"
                        "srcport future-field dstport\n3 x 4\n");
    assert_int_equal(r->batch.count, 2);
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(r->nunknown, 1);
    assert_string_equal(r->unknown[0], "future-field");
    assert_int_equal(r->unknown_line[0], 1);
    assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_DSTPORT)[1], 4);
    run_free(r);
}

static void test_header_naming_a_field_twice_is_bad_and_ignored(void **state) {
    (void)state;
    run *r = parse_text("srcport dstport\n1 2\nsrcport srcport\n3 4\n");
    assert_int_equal(r->batch.count, 2);
    assert_int_equal(r->nbad, 1);
    assert_int_equal(r->bad[0].line.reason, FLOE_BAD_HEADER);
    assert_int_equal(r->bad[0].line.line_no, 3);
    assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_DSTPORT)[1], 4);
    run_free(r);
}

static void test_header_may_begin_with_a_field_floe_does_not_know(void **state) {
    (void)state;
    run *r = parse_text("future-field srcport dstport\nx 1 2\n");
    assert_int_equal(r->parser.stats.headers, 1);
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(r->batch.count, 1);
    assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_DSTPORT)[0], 2);
    assert_int_equal(r->nunknown, 1);
    assert_string_equal(r->unknown[0], "future-field");
    run_free(r);
}

static void test_header_glued_to_a_record_is_a_bad_header(void **state) {
    (void)state;
    run *r = parse_text("srcport dstport\n1 2\nsrcport dstport 3 4\n5 6\n");
    assert_int_equal(r->nbad, 1);
    assert_int_equal(r->bad[0].line.reason, FLOE_BAD_HEADER);
    assert_int_equal(r->bad[0].line.line_no, 3);
    assert_int_equal(r->nunknown, 0);    /* "3" and "4" were not taken for field names */
    assert_int_equal(r->batch.count, 2); /* the format before it still applies */
    assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_DSTPORT)[1], 6);
    run_free(r);
}

static void test_records_of_a_string_first_format_are_not_headers(void **state) {
    (void)state;
    run *r = parse_text(
        "interface-id vpc-id srcaddr\neni-0a1b2c vpc-99 10.0.0.1\nunknown vpc-1 10.0.0.2\n");
    assert_int_equal(r->parser.stats.headers, 1);
    assert_int_equal(r->parser.stats.bad_lines, 0);
    assert_int_equal(r->batch.count, 2);
    assert_slice(floe_batch_str(&r->batch, FLOE_F_INTERFACE_ID)[1], "unknown");
    run_free(r);
}

static void test_format_text_accepts_aws_logformat_syntax(void **state) {
    (void)state;
    floe_format a, b;
    const char aws[] = "${version} ${srcaddr} ${tcp-flags}";
    const char plain[] = "version srcaddr tcp-flags";
    assert_int_equal(floe_format_parse(aws, sizeof(aws) - 1, &a), FLOE_OK);
    assert_int_equal(floe_format_parse(plain, sizeof(plain) - 1, &b), FLOE_OK);
    assert_true(floe_format_equal(&a, &b));
    assert_int_equal(a.version, 3);
    assert_int_equal(floe_format_parse("srcaddr srcaddr", 15, &a), FLOE_ERR_FORMAT);
    assert_int_equal(floe_format_parse("  ", 2, &a), FLOE_ERR_FORMAT);
}

/* ---- CloudWatch exports ------------------------------------------------------------------------
 */

static void test_cloudwatch_export_lines(void **state) {
    (void)state;
    run *r = run_new("2026-11-01T00:05:00.000Z 2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 51000 6 "
                     "10 840 1793491200 1793491260 ACCEPT OK\n"
                     "2026-11-01T00:05:00.000Z 2 123456789010 eni-1 - - - - - - - 1793491200 "
                     "1793491260 - NODATA\n"
                     "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 51000 6 10 840 1793491200 "
                     "1793491260 ACCEPT OK\n"
                     "version account-id\n",
                     FLOE_LINES_CLOUDWATCH, NULL, 16, floe_scan_default_level());
    run_next(r);
    assert_int_equal(r->batch.count, 2);
    assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_SRCPORT)[0], 443);
    assert_int_equal(floe_batch_u8(&r->batch, FLOE_F_LOG_STATUS)[1], FLOE_LOG_STATUS_NODATA);
    assert_int_equal(r->nbad, 2);
    assert_int_equal(r->bad[0].line.reason, FLOE_BAD_TIMESTAMP);
    assert_int_equal(r->bad[0].line.line_no, 3);
    assert_int_equal(r->bad[1].line.reason, FLOE_BAD_TIMESTAMP); /* no headers in exports */
    run_free(r);

    r = run_new("2026-11-01T00:05:00Z REJECT 10.1.1.1\n", FLOE_LINES_CLOUDWATCH, "action srcaddr",
                16, floe_scan_default_level());
    run_next(r);
    assert_int_equal(r->batch.count, 1);
    assert_int_equal(floe_batch_u8(&r->batch, FLOE_F_ACTION)[0], FLOE_ACTION_REJECT);
    run_free(r);
}

/* ---- bad lines ----------------------------------------------------------------------------------
 */

static void test_each_bad_reason_names_line_and_column(void **state) {
    (void)state;
    run *r = parse_text("srcaddr dstport protocol bytes action log-status\n"
                        "10.0.0.1 443 6 100 ACCEPT OK\n"                  /* 2 good */
                        "10.0.0.1 443 6 100 ACCEPT\n"                     /* 3 too few */
                        "10.0.0.1 443 6 100 ACCEPT OK extra\n"            /* 4 too many */
                        "10.0.0.1 44x 6 100 ACCEPT OK\n"                  /* 5 number */
                        "10.0.0.1 65536 6 100 ACCEPT OK\n"                /* 6 port range */
                        "10.0.0.1 443 256 100 ACCEPT OK\n"                /* 7 u8 range */
                        "10.0.0.1 443 6 18446744073709551616 ACCEPT OK\n" /* 8 u64 overflow */
                        "10.0.0 443 6 100 ACCEPT OK\n"                    /* 9 addr */
                        "2001:db8:::1 443 6 100 ACCEPT OK\n"              /* 10 addr v6 */
                        "10.0.0.1 443 6 100 ACCEPTED OK\n"                /* 11 enum */
                        "10.0.0.1 443 6 -100 ACCEPT OK\n"                 /* 12 number */
                        "10.0.0.1 443 6 9223372036854775807 REJECT OK\n"  /* 13 good: BIGINT max */
                        "10.0.0.1 443 6 9223372036854775808 REJECT OK\n"  /* 14 past BIGINT */
    );
    const struct {
        uint64_t line;
        floe_bad_reason reason;
        int column;
        floe_field field;
    } want[] = {
        {3, FLOE_BAD_FIELD_COUNT, -1, FLOE_F_UNKNOWN},
        {4, FLOE_BAD_FIELD_COUNT, -1, FLOE_F_UNKNOWN},
        {5, FLOE_BAD_NUMBER, 1, FLOE_F_DSTPORT},
        {6, FLOE_BAD_RANGE, 1, FLOE_F_DSTPORT},
        {7, FLOE_BAD_RANGE, 2, FLOE_F_PROTOCOL},
        {8, FLOE_BAD_RANGE, 3, FLOE_F_BYTES},
        {9, FLOE_BAD_ADDR, 0, FLOE_F_SRCADDR},
        {10, FLOE_BAD_ADDR, 0, FLOE_F_SRCADDR},
        {11, FLOE_BAD_ENUM, 4, FLOE_F_ACTION},
        {12, FLOE_BAD_NUMBER, 3, FLOE_F_BYTES},
        {14, FLOE_BAD_RANGE, 3, FLOE_F_BYTES},
    };
    const size_t nwant = sizeof(want) / sizeof(want[0]);
    assert_int_equal(r->nbad, nwant);
    for (size_t i = 0; i < nwant; i++) {
        assert_int_equal(r->bad[i].line.line_no, want[i].line);
        assert_int_equal(r->bad[i].line.reason, want[i].reason);
        assert_int_equal(r->bad[i].line.column, want[i].column);
        assert_int_equal(r->bad[i].line.field, want[i].field);
        assert_int_equal(r->bad[i].line.fields_wanted, 6);
    }
    assert_int_equal(r->bad[0].line.fields_seen, 5);
    assert_int_equal(r->bad[1].line.fields_seen, 7);
    assert_string_equal(r->bad[0].text, "10.0.0.1 443 6 100 ACCEPT");
    assert_int_equal(r->parser.stats.bad_lines, nwant);
    assert_int_equal(r->parser.stats.bad_by_reason[FLOE_BAD_RANGE], 4);
    /* The good lines around them all count. */
    assert_int_equal(r->batch.count, 2);
    assert_int_equal(r->batch.line_no[1], 13);
    assert_true(floe_batch_u64(&r->batch, FLOE_F_BYTES)[1] == FLOE_COUNTER_MAX);
    assert_int_equal(floe_batch_u8(&r->batch, FLOE_F_ACTION)[1], FLOE_ACTION_REJECT);
    assert_int_equal(r->parser.stats.lines, 14);
    run_free(r);
}

/* Lines with far more fields than any format (binary junk, a runaway line) are counted exactly
 * and reported, without writing past the parser's token slots; the lines around them parse. */
static void test_line_with_thousands_of_fields_is_one_bad_line(void **state) {
    (void)state;
    for (int with_newline = 0; with_newline <= 1; with_newline++) {
        size_t cap = 64 + 10000 * 2 + 16;
        char *text = malloc(cap);
        assert_non_null(text);
        strcpy(text, "dstport\n443\n");
        size_t len = strlen(text);
        for (int i = 0; i < 10000; i++) {
            text[len++] = i % 3 ? '7' : 'x';
            text[len++] = ' ';
        }
        text[len - 1] = with_newline ? '\n' : '9'; /* the last field, or the end of the line */
        text[len] = '\0';
        if (with_newline) strcat(text, "80\n");
        run *r = parse_text(text);
        assert_int_equal(r->nbad, 1);
        assert_int_equal(r->bad[0].line.reason, FLOE_BAD_FIELD_COUNT);
        assert_int_equal(r->bad[0].line.line_no, 3);
        assert_int_equal(r->bad[0].line.fields_seen, 10000);
        assert_int_equal(r->batch.count, with_newline ? 2 : 1);
        run_free(r);
        free(text);
    }
}

static void test_caller_skipped_line_is_counted_with_its_number(void **state) {
    (void)state;
    run *r = run_new("", FLOE_LINES_S3, NULL, 4, floe_scan_default_level());
    floe_parser_skip_line(&r->parser, FLOE_BAD_TOO_LONG, (floe_slice){"xxxx", 4});
    assert_int_equal(r->nbad, 1);
    assert_int_equal(r->bad[0].line.reason, FLOE_BAD_TOO_LONG);
    assert_int_equal(r->bad[0].line.line_no, 1);
    assert_int_equal(r->parser.stats.bad_by_reason[FLOE_BAD_TOO_LONG], 1);
    assert_string_equal(floe_bad_reason_str(FLOE_BAD_TOO_LONG), "line too long");
    run_free(r);
}

/* ---- partial lines and full batches ------------------------------------------------------------
 */

static void test_partial_line_waits_for_more_input(void **state) {
    (void)state;
    const char text[] = "dstport\n443\n80";
    floe_guarded g = floe_guarded_copy(text, sizeof(text) - 1);
    floe_parse_options options = {FLOE_LINES_S3, NULL, floe_scan_default_level(), NULL, NULL, NULL};
    floe_parser parser;
    floe_batch batch;
    floe_parser_init(&parser, &options);
    assert_int_equal(floe_batch_init(&batch, 8), FLOE_OK);
    size_t consumed;
    assert_int_equal(floe_parse(&parser, g.data, sizeof(text) - 1, false, &batch, &consumed),
                     FLOE_OK);
    assert_int_equal(consumed, strlen("dstport\n443\n"));
    assert_int_equal(batch.count, 1);
    size_t rest = sizeof(text) - 1 - consumed;
    assert_int_equal(floe_parse(&parser, g.data + consumed, rest, false, &batch, &consumed),
                     FLOE_OK);
    assert_int_equal(consumed, 0);
    assert_int_equal(batch.count, 0);
    assert_int_equal(
        floe_parse(&parser, g.data + sizeof(text) - 1 - rest, rest, true, &batch, &consumed),
        FLOE_OK);
    assert_int_equal(consumed, rest);
    assert_int_equal(batch.count, 1);
    assert_int_equal(floe_batch_u16(&batch, FLOE_F_DSTPORT)[0], 80);
    assert_int_equal(batch.line_no[0], 3);
    floe_batch_free(&batch);
    floe_guarded_free(&g);
}

static void test_full_batch_stops_and_the_next_call_resumes(void **state) {
    (void)state;
    char text[512] = "dstport\n";
    for (int i = 0; i < 10; i++)
        sprintf(text + strlen(text), "%d\n", 1000 + i);
    run *r = run_new(text, FLOE_LINES_S3, NULL, 3, floe_scan_default_level());
    int seen = 0;
    while (run_next(r)) {
        assert_true(r->batch.count <= 3);
        for (uint32_t i = 0; i < r->batch.count; i++, seen++) {
            assert_int_equal(floe_batch_u16(&r->batch, FLOE_F_DSTPORT)[i], 1000 + seen);
            assert_int_equal(r->batch.line_no[i], 2 + seen);
        }
    }
    assert_int_equal(seen, 10);
    run_free(r);
}

/* ---- scalar and SIMD agree
 * ------------------------------------------------------------------------ */

static uint64_t rng = 42;
static uint64_t next_random(void) {
    rng += 0x9e3779b97f4a7c15u;
    uint64_t z = rng;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Random lines in three formats, headers switching among them, and a sprinkling of every kind
 * of damage: odd spacing, CRLF, blank lines, wrong counts, bad numbers, addresses, words. */
static char *random_text(size_t nlines, size_t *len_out) {
    static const char *const formats[] = {
        FLOE_DEFAULT_FORMAT,
        "action az-id bytes dstaddr dstport end flow-direction instance-id packets pkt-dstaddr "
        "pkt-src-aws-service pkt-srcaddr protocol region srcaddr srcport start subnet-id "
        "tcp-flags traffic-path type version vpc-id",
        "tgw-id srcaddr dstaddr packets-lost-no-route bytes start end log-status unknown-x",
    };
    size_t cap = nlines * 400 + 4096 + nlines / 100 * 13200, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    floe_format format;
    int current = 0;
    floe_format_parse(formats[0], strlen(formats[0]), &format);
    len += (size_t)sprintf(text + len, "%s\n", formats[0]);
    for (size_t line = 0; line < nlines; line++) {
        uint64_t roll = next_random() % 1000;
        if (roll < 5) {
            current = (int)(next_random() % 3);
            floe_format_parse(formats[current], strlen(formats[current]), &format);
            len += (size_t)sprintf(text + len, "%s\n", formats[current]);
            continue;
        }
        if (roll < 10) {
            len += (size_t)sprintf(text + len, "%s", roll % 2 ? "\n" : "  \r\n");
            continue;
        }
        if (roll < 12) {
            /* A long line (past the parser's 4 KiB regions), of few long tokens or of very
             * many short ones (past any format's column count), sometimes with a double space
             * far from its start. */
            size_t target = 4000 + next_random() % 9000;
            bool short_tokens = roll % 2 != 0;
            size_t line_start = len;
            while (len - line_start < target) {
                uint64_t r = next_random();
                if (short_tokens)
                    len += (size_t)sprintf(text + len, "%u ", (unsigned)(r % 10));
                else
                    len += (size_t)sprintf(text + len, "%llx%llx ", (unsigned long long)r,
                                           (unsigned long long)(r >> 7));
                if (r % 500 == 0) text[len++] = ' ';
            }
            text[len++] = '\n';
            continue;
        }
        int ncols = format.ncols + (roll < 20 ? (roll % 2 ? 1 : -1) : 0);
        for (int c = 0; c < ncols; c++) {
            floe_field f = c < format.ncols ? (floe_field)format.field[c] : FLOE_F_SRCPORT;
            uint64_t r = next_random();
            if (c > 0) len += (size_t)sprintf(text + len, r % 97 == 0 ? "   " : " ");
            if (r % 13 == 0) {
                text[len++] = '-';
                continue;
            }
            if (r % 211 == 0) { /* damage */
                len += (size_t)sprintf(text + len, "%s", r % 2 ? "x9" : "99999999999999999999999");
                continue;
            }
            switch (f == FLOE_F_UNKNOWN ? FLOE_T_STR : floe_field_type(f)) {
            case FLOE_T_U8:
                len += (size_t)sprintf(text + len, "%u", (unsigned)(r % 258));
                break;
            case FLOE_T_U16:
                len += (size_t)sprintf(text + len, "%u", (unsigned)(r % 65540));
                break;
            case FLOE_T_U64:
                len += (size_t)sprintf(text + len, "%llu", (unsigned long long)(r >> (r % 64)));
                break;
            case FLOE_T_TIME:
                len += (size_t)sprintf(text + len, "%llu", 1700000000ull + r % 100000);
                break;
            case FLOE_T_ADDR:
                if (r % 5 == 0)
                    len +=
                        (size_t)sprintf(text + len, "2001:db8::%x:%x", (unsigned)(r >> 8) & 0xffff,
                                        (unsigned)(r >> 24) & 0xffff);
                else if (r % 301 == 0)
                    len += (size_t)sprintf(text + len, "10.0.%u", (unsigned)(r >> 8) & 255);
                else
                    len += (size_t)sprintf(text + len, "10.%u.%u.%u", (unsigned)(r >> 8) & 255,
                                           (unsigned)(r >> 16) & 255, (unsigned)(r >> 24) & 255);
                break;
            case FLOE_T_ENUM: {
                const char *w = floe_enum_word(f, (uint8_t)(1 + r % 2));
                len += (size_t)sprintf(text + len, "%s", r % 401 == 0 ? "MAYBE" : w);
                break;
            }
            case FLOE_T_STR:
                len += (size_t)sprintf(text + len, "s%llx", (unsigned long long)(r & 0xfffff));
                break;
            }
        }
        len += (size_t)sprintf(text + len, roll % 7 == 0 ? "\r\n" : "\n");
    }
    *len_out = len;
    return text;
}

static void test_scalar_and_simd_scans_give_identical_results(void **state) {
    (void)state;
    size_t len;
    char *text = random_text(20000, &len);
    floe_parse_stats want_stats, stats;
    /* The reference: every line on its own, through the byte-by-byte tokenizer. */
    uint64_t want =
        floe_test_digest_parse(text, len, FLOE_SIMD_SCALAR, FLOE_FEED_LINES, &want_stats);
    /* The random text really does exercise both good and bad paths. */
    print_message("%llu records, %llu bad lines, %llu headers\n",
                  (unsigned long long)want_stats.records, (unsigned long long)want_stats.bad_lines,
                  (unsigned long long)want_stats.headers);
    assert_true(want_stats.records > 15000);
    assert_true(want_stats.bad_lines > 100);
    assert_true(want_stats.headers > 10);
    for (int level = FLOE_SIMD_SCALAR; level <= FLOE_SIMD_AVX2; level++) {
        print_message("level %s runs as %s\n", floe_simd_name((floe_simd)level),
                      floe_simd_name(floe_scan_effective_level((floe_simd)level)));
        assert_true(floe_test_digest_parse(text, len, (floe_simd)level, FLOE_FEED_WHOLE, &stats) ==
                    want);
        assert_memory_equal(&stats, &want_stats, sizeof(stats));
        /* Fed in random pieces: the same rows, the same bad lines, the same line numbers. */
        assert_true(floe_test_digest_parse(text, len, (floe_simd)level, FLOE_FEED_PIECES, &stats) ==
                    want);
        assert_memory_equal(&stats, &want_stats, sizeof(stats));
    }
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_example_lines_parse_to_typed_columns),
        cmocka_unit_test(test_spec_file_example_block_parses_cleanly),
        cmocka_unit_test(test_every_field_of_every_version_parses_to_its_type),
        cmocka_unit_test(test_dash_is_null_for_every_field),
        cmocka_unit_test(test_any_subset_in_any_order),
        cmocka_unit_test(test_numbers_of_every_length),
        cmocka_unit_test(test_milliseconds_become_seconds),
        cmocka_unit_test(test_runs_of_spaces_and_crlf_do_not_shift_fields),
        cmocka_unit_test(test_blank_lines_are_counted_not_reported),
        cmocka_unit_test(test_same_header_repeated_mid_file_is_skipped),
        cmocka_unit_test(test_new_header_mid_file_switches_format_between_batches),
        cmocka_unit_test(test_no_header_uses_the_given_format),
        cmocka_unit_test(test_unknown_field_names_are_skipped_and_announced_once),
        cmocka_unit_test(test_header_naming_a_field_twice_is_bad_and_ignored),
        cmocka_unit_test(test_header_may_begin_with_a_field_floe_does_not_know),
        cmocka_unit_test(test_header_glued_to_a_record_is_a_bad_header),
        cmocka_unit_test(test_records_of_a_string_first_format_are_not_headers),
        cmocka_unit_test(test_format_text_accepts_aws_logformat_syntax),
        cmocka_unit_test(test_cloudwatch_export_lines),
        cmocka_unit_test(test_each_bad_reason_names_line_and_column),
        cmocka_unit_test(test_line_with_thousands_of_fields_is_one_bad_line),
        cmocka_unit_test(test_caller_skipped_line_is_counted_with_its_number),
        cmocka_unit_test(test_partial_line_waits_for_more_input),
        cmocka_unit_test(test_full_batch_stops_and_the_next_call_resumes),
        cmocka_unit_test(test_scalar_and_simd_scans_give_identical_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
