/* The read -> decode -> parse -> add-up loop: totals do not depend on read or decode step
 * sizes (lines carried across steps, too-long lines skipped the same way wherever the steps
 * fall); a decode error keeps the records before it; unreadable files, unknown fields and bad
 * lines are recorded, not fatal. Each test writes its files under $TMPDIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "floe_totals.h"

typedef struct dir {
    char root[256];
    char path[512]; /* scratch for the last file written */
} dir;

static int setup_dir(void **state) {
    dir *d = calloc(1, sizeof(*d));
    if (d == NULL) return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(d->root, sizeof(d->root), "%s/floe_totals_XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(d->root) == NULL) return -1;
    *state = d;
    return 0;
}

static int teardown_dir(void **state) {
    dir *d = *state;
    char command[512];
    snprintf(command, sizeof(command), "rm -rf '%s'", d->root);
    int rc = system(command);
    free(d);
    return rc == 0 ? 0 : -1;
}

static const char *write_file(dir *d, const char *name, const void *data, size_t len) {
    snprintf(d->path, sizeof(d->path), "%s/%s", d->root, name);
    int fd = open(d->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return d->path;
}

typedef struct text {
    char *data;
    size_t len;
} text;

static void add(text *t, const char *s, size_t n) {
    char *grown = realloc(t->data, t->len + n + 1);
    assert_non_null(grown);
    t->data = grown;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = 0;
}

static void adds(text *t, const char *s) {
    add(t, s, strlen(s));
}

static const char header[] = "version account-id interface-id srcaddr dstaddr srcport dstport "
                             "protocol packets bytes start end action log-status\n";

/* i-th record of a deterministic mix: ACCEPT / REJECT / NODATA / SKIPDATA, and every 97th
 * line bad. */
static void add_record(text *t, unsigned i) {
    char line[256];
    int n;
    if (i % 97 == 96) {
        n = snprintf(line, sizeof(line),
                     "2 123456789010 eni-%u 10.0.0.1 10.0.0.2 1 2 6 x 1 1 2 "
                     "ACCEPT OK\n",
                     i);
    } else if (i % 13 == 5) {
        n = snprintf(line, sizeof(line),
                     "2 123456789010 eni-%u - - - - - - - 1700000000 "
                     "1700000060 - %s\n",
                     i, i % 2 ? "NODATA" : "SKIPDATA");
    } else {
        n = snprintf(line, sizeof(line),
                     "2 123456789010 eni-%u 10.%u.%u.1 172.31.0.%u %u 443 6 %u %u 1700000000 "
                     "1700000060 %s OK\n",
                     i, i % 256, i / 256 % 256, i % 200, 1024 + i % 60000, i % 50 + 1,
                     (i % 50 + 1) * 100, i % 3 ? "ACCEPT" : "REJECT");
    }
    add(t, line, (size_t)n);
}

static text make_log(unsigned records) {
    text t = {NULL, 0};
    adds(&t, header);
    for (unsigned i = 0; i < records; i++)
        add_record(&t, i);
    return t;
}

static text gzip_of(const text *in) {
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    assert_non_null(c);
    size_t bound = libdeflate_gzip_compress_bound(c, in->len);
    text out = {malloc(bound), 0};
    assert_non_null(out.data);
    out.len = libdeflate_gzip_compress(c, in->data, in->len, out.data, bound);
    assert_true(out.len > 0);
    libdeflate_free_compressor(c);
    return out;
}

static floe_totals run_files(const char *const *paths, size_t n, size_t read_size,
                             size_t decode_size, size_t max_line, const floe_totals_options *base) {
    floe_totals_options options;
    if (base != NULL)
        options = *base;
    else
        floe_totals_options_default(&options);
    options.read_size = read_size;
    options.decode_size = decode_size;
    options.max_line = max_line;
    options.batch_rows = 7; /* small: many batches, batch-full stops inside every step */
    floe_totals_worker *w = NULL;
    assert_int_equal(floe_totals_worker_new(&options, &w), FLOE_OK);
    floe_totals totals;
    floe_totals_init(&totals, options.keep_bad_lines);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(floe_totals_add_file(w, paths[i], &totals), FLOE_OK);
    floe_totals_worker_free(w);
    return totals;
}

static void expect_same_counts(const floe_totals *a, const floe_totals *b) {
    assert_int_equal(a->files, b->files);
    assert_int_equal(a->compressed_bytes, b->compressed_bytes);
    assert_int_equal(a->decoded_bytes, b->decoded_bytes);
    assert_int_equal(a->lines, b->lines);
    assert_int_equal(a->records, b->records);
    assert_int_equal(a->headers, b->headers);
    assert_int_equal(a->blank_lines, b->blank_lines);
    assert_int_equal(a->bad_lines, b->bad_lines);
    assert_int_equal(a->cut_lines, b->cut_lines);
    assert_memory_equal(a->bad_by_reason, b->bad_by_reason, sizeof(a->bad_by_reason));
    assert_memory_equal(a->by_action, b->by_action, sizeof(a->by_action));
    assert_memory_equal(a->by_log_status, b->by_log_status, sizeof(a->by_log_status));
    assert_int_equal(a->nbad_places, b->nbad_places);
    for (size_t i = 0; i < a->nbad_places; i++) {
        assert_string_equal(a->bad_places[i].file, b->bad_places[i].file);
        assert_int_equal(a->bad_places[i].line_no, b->bad_places[i].line_no);
        assert_int_equal(a->bad_places[i].reason, b->bad_places[i].reason);
    }
}

static const size_t step_sizes[][3] = {
    /* read, decode, max_line */
    {1 << 20, 1 << 20, 1 << 20}, {1, 1, 1 << 20},  {3, 17, 1 << 20},
    {4096, 100, 1 << 20},        {100, 4096, 500}, {7, 1 << 20, 300},
};
#define NSIZES (sizeof(step_sizes) / sizeof(step_sizes[0]))

/* Counted by hand from add_record's rules. */
static void test_counts_match_the_input(void **state) {
    dir *d = *state;
    const unsigned n = 2000;
    text log = make_log(n);
    const char *path = write_file(d, "a.log", log.data, log.len);
    floe_totals t = run_files(&path, 1, 1 << 20, 1 << 20, 1 << 20, NULL);
    uint64_t bad = 0, nodata = 0, skipdata = 0, accept = 0, reject = 0, packets[3] = {0};
    for (unsigned i = 0; i < n; i++) {
        if (i % 97 == 96)
            bad++;
        else if (i % 13 == 5)
            *(i % 2 ? &nodata : &skipdata) += 1;
        else if (i % 3) {
            accept++;
            packets[1] += i % 50 + 1;
        } else {
            reject++;
            packets[2] += i % 50 + 1;
        }
    }
    assert_int_equal(t.files, 1);
    assert_int_equal(t.files_by_codec[FLOE_CODEC_PLAIN], 1);
    assert_int_equal(t.decoded_bytes, log.len);
    assert_int_equal(t.compressed_bytes, log.len);
    assert_int_equal(t.lines, n + 1);
    assert_int_equal(t.headers, 1);
    assert_int_equal(t.bad_lines, bad);
    assert_int_equal(t.bad_by_reason[FLOE_BAD_NUMBER], bad);
    assert_int_equal(t.records, n - bad);
    assert_int_equal(t.by_action[FLOE_ACTION_ACCEPT].records, accept);
    assert_int_equal(t.by_action[FLOE_ACTION_REJECT].records, reject);
    assert_int_equal(t.by_action[FLOE_ACTION_NULL].records, nodata + skipdata);
    assert_int_equal(t.by_action[FLOE_ACTION_ACCEPT].packets, packets[1]);
    assert_int_equal(t.by_action[FLOE_ACTION_REJECT].packets, packets[2]);
    assert_int_equal(t.by_action[FLOE_ACTION_ACCEPT].bytes, packets[1] * 100);
    assert_int_equal(t.by_action[FLOE_ACTION_NULL].packets, 0);
    assert_int_equal(t.by_log_status[FLOE_LOG_STATUS_OK], accept + reject);
    assert_int_equal(t.by_log_status[FLOE_LOG_STATUS_NODATA], nodata);
    assert_int_equal(t.by_log_status[FLOE_LOG_STATUS_SKIPDATA], skipdata);
    assert_int_equal(t.nbad_places, 10); /* the default keep */
    assert_int_equal(t.bad_places[0].line_no, 97 + 1);
    assert_int_equal(t.bad_places[0].field, FLOE_F_PACKETS);
    assert_string_equal(t.bad_places[0].file, path);
    floe_totals_free(&t);
    free(log.data);
}

/* Plain, gzip and a two-member gzip of the same text, read and decoded in steps from one byte
 * up: the same totals every time. */
static void test_step_sizes_do_not_change_totals(void **state) {
    dir *d = *state;
    text log = make_log(700);
    text gz = gzip_of(&log);
    text two = {NULL, 0};
    add(&two, gz.data, gz.len);
    add(&two, gz.data, gz.len);
    char plain_path[512], gz_path[512], two_path[512];
    snprintf(plain_path, sizeof(plain_path), "%s", write_file(d, "a.log", log.data, log.len));
    snprintf(gz_path, sizeof(gz_path), "%s", write_file(d, "a.log.gz", gz.data, gz.len));
    snprintf(two_path, sizeof(two_path), "%s", write_file(d, "two.log.gz", two.data, two.len));
    const char *paths[] = {plain_path, gz_path, two_path};
    floe_totals reference = run_files(paths, 3, 1 << 20, 1 << 20, 1 << 20, NULL);
    assert_int_equal(reference.records, 4 * (700 - 7));
    assert_int_equal(reference.headers, 4);
    assert_int_equal(reference.members, 3);
    assert_int_equal(reference.files_by_codec[FLOE_CODEC_GZIP], 2);
    for (size_t s = 1; s < NSIZES; s++) {
        floe_totals t =
            run_files(paths, 3, step_sizes[s][0], step_sizes[s][1], step_sizes[s][2], NULL);
        expect_same_counts(&reference, &t);
        floe_totals_free(&t);
    }
    floe_totals_free(&reference);
    free(log.data);
    free(gz.data);
    free(two.data);
}

/* Lines over the limit are skipped (and numbered) the same whatever the steps; lines at the
 * limit are parsed. The last line has no '\n'. */
static void test_too_long_lines_skipped_wherever_steps_fall(void **state) {
    dir *d = *state;
    const size_t max_line = 300;
    text log = {NULL, 0};
    adds(&log, header);
    add_record(&log, 1);
    /* Line 3: a record padded with spaces to exactly the limit: parsed. */
    text exact = {NULL, 0};
    add_record(&exact, 2);
    exact.len--; /* drop '\n' */
    while (exact.len < max_line)
        add(&exact, " ", 1);
    add(&log, exact.data, exact.len);
    add(&log, "\n", 1);
    /* Line 4: one byte over. Line 5: far over. */
    text over = {NULL, 0};
    add_record(&over, 3);
    over.len--;
    while (over.len < max_line + 1)
        add(&over, " ", 1);
    add(&log, over.data, over.len);
    add(&log, "\n", 1);
    for (int i = 0; i < 5000; i++)
        add(&log, "x", 1);
    add(&log, "\n", 1);
    add_record(&log, 4); /* line 6 */
    /* Line 7: too long and last, without '\n'. */
    for (int i = 0; i < 1000; i++)
        add(&log, "y", 1);
    const char *path = write_file(d, "long.log", log.data, log.len);
    static const size_t decode_sizes[] = {1, 2, 7, 64, 299, 300, 301, 4096};
    for (size_t s = 0; s < sizeof(decode_sizes) / sizeof(decode_sizes[0]); s++) {
        floe_totals t = run_files(&path, 1, 5, decode_sizes[s], max_line, NULL);
        assert_int_equal(t.lines, 7);
        assert_int_equal(t.records, 3);
        assert_int_equal(t.bad_lines, 3);
        assert_int_equal(t.bad_by_reason[FLOE_BAD_TOO_LONG], 3);
        assert_int_equal(t.nbad_places, 3);
        assert_int_equal(t.bad_places[0].line_no, 4);
        assert_int_equal(t.bad_places[1].line_no, 5);
        assert_int_equal(t.bad_places[2].line_no, 7);
        assert_memory_equal(t.bad_places[1].excerpt, "xxxxxxxxxx", 10);
        assert_int_equal(strlen(t.bad_places[1].excerpt), FLOE_BAD_EXCERPT_LEN);
        assert_int_equal(t.cut_lines, 0);
        floe_totals_free(&t);
    }
    free(exact.data);
    free(over.data);
    free(log.data);
}

/* A gzip cut short: the records before the cut count, the cut line is dropped, the error is
 * placed at the file's end; the next file is read as usual. */
static void test_decode_error_keeps_records_before_it(void **state) {
    dir *d = *state;
    text log = make_log(300);
    text gz = gzip_of(&log);
    char cut_path[512], ok_path[512];
    snprintf(cut_path, sizeof(cut_path), "%s", write_file(d, "cut.log.gz", gz.data, gz.len - 5));
    snprintf(ok_path, sizeof(ok_path), "%s", write_file(d, "ok.log.gz", gz.data, gz.len));
    const char *paths[] = {cut_path, ok_path};
    for (size_t s = 0; s < NSIZES; s++) {
        floe_totals t =
            run_files(paths, 2, step_sizes[s][0], step_sizes[s][1], step_sizes[s][2], NULL);
        assert_int_equal(t.ndecode_failures, 1);
        assert_string_equal(t.decode_failures[0].file, cut_path);
        assert_int_equal(t.decode_failures[0].status, FLOE_ERR_TRUNCATED);
        assert_int_equal(t.decode_failures[0].codec, FLOE_CODEC_GZIP);
        assert_int_equal(t.decode_failures[0].offset, gz.len - 5);
        /* Cutting 5 of the 8 trailer bytes leaves all the text decodable: every record of the
         * cut file counts too, and its last line was complete, so nothing is cut. */
        assert_int_equal(t.records, 2 * (300 - 3));
        assert_int_equal(t.cut_lines, 0);
        floe_totals_free(&t);
    }
    /* Cut in the middle: fewer records, the unfinished line dropped, not reported as bad. */
    write_file(d, "cut.log.gz", gz.data, gz.len / 2);
    floe_totals t = run_files(paths, 1, 1 << 20, 1 << 20, 1 << 20, NULL);
    assert_int_equal(t.ndecode_failures, 1);
    assert_true(t.records > 0 && t.records < 300 - 3);
    /* Only the planted bad lines (every 97th) are bad; the cut one is not counted as a line. */
    assert_int_equal(t.bad_lines, t.bad_by_reason[FLOE_BAD_NUMBER]);
    assert_int_equal(t.lines, 1 + t.records + t.bad_lines);
    assert_int_equal(t.cut_lines, 1);
    floe_totals_free(&t);
    free(log.data);
    free(gz.data);
}

static void test_unreadable_file_recorded(void **state) {
    dir *d = *state;
    char missing[512];
    snprintf(missing, sizeof(missing), "%s/missing.log.gz", d->root);
    const char *paths[] = {missing, d->root}; /* a directory: open works, read fails */
    floe_totals t = run_files(paths, 2, 1 << 20, 1 << 20, 1 << 20, NULL);
    assert_int_equal(t.files, 2);
    assert_int_equal(t.nfile_failures, 2);
    assert_int_equal(t.file_failures[0].err, ENOENT);
    assert_false(t.file_failures[0].opened);
    assert_int_equal(t.file_failures[1].err, EISDIR);
    assert_true(t.file_failures[1].opened);
    assert_int_equal(t.records, 0);
    floe_totals_free(&t);
}

/* Files with their own headers: a custom order with an unknown name and without an action
 * column. The unknown name is noticed once for the run, records without action count as "-". */
static void test_custom_headers_and_unknown_fields(void **state) {
    dir *d = *state;
    static const char one[] = "srcaddr dstaddr bytes packets log-status mystery\n"
                              "10.0.0.1 10.0.0.2 100 1 OK a\n"
                              "10.0.0.1 10.0.0.3 200 2 OK b\n";
    static const char two[] = "account-id mystery action bytes\n"
                              "123456789010 z ACCEPT 50\n";
    char path_one[512], path_two[512];
    snprintf(path_one, sizeof(path_one), "%s", write_file(d, "1.log", one, sizeof(one) - 1));
    snprintf(path_two, sizeof(path_two), "%s", write_file(d, "2.log", two, sizeof(two) - 1));
    const char *paths[] = {path_one, path_two};
    floe_totals t = run_files(paths, 2, 1 << 20, 1 << 20, 1 << 20, NULL);
    assert_int_equal(t.records, 3);
    assert_int_equal(t.bad_lines, 0);
    assert_int_equal(t.by_action[FLOE_ACTION_NULL].records, 2);
    assert_int_equal(t.by_action[FLOE_ACTION_NULL].bytes, 300);
    assert_int_equal(t.by_action[FLOE_ACTION_NULL].packets, 3);
    assert_int_equal(t.by_action[FLOE_ACTION_ACCEPT].records, 1);
    assert_int_equal(t.by_action[FLOE_ACTION_ACCEPT].bytes, 50);
    assert_int_equal(t.by_log_status[FLOE_LOG_STATUS_OK], 2);
    assert_int_equal(t.by_log_status[FLOE_LOG_STATUS_NULL], 1);
    assert_int_equal(t.nunknown, 1);
    assert_string_equal(t.unknown[0].name, "mystery");
    assert_string_equal(t.unknown[0].file, path_one);
    assert_int_equal(t.unknown[0].line_no, 1);
    floe_totals_free(&t);
}

/* CloudWatch exports: no header, a timestamp before each record, the user's format. zstd. */
static void test_cloudwatch_with_user_format(void **state) {
    dir *d = *state;
    static const char lines[] = "2024-11-01T00:05:00.000Z 10.0.0.1 10.0.0.2 REJECT 3 120\n"
                                "2024-11-01T00:05:01.000Z 10.0.0.1 10.0.0.2 ACCEPT 1 40\n"
                                "10.0.0.1 10.0.0.2 ACCEPT 1 40\n"
                                "2024-11-01T00:05:02.000Z 10.0.0.9 10.0.0.2 ACCEPT 2 80";
    uint8_t zst[512];
    size_t zst_len = ZSTD_compress(zst, sizeof(zst), lines, sizeof(lines) - 1, 3);
    assert_false(ZSTD_isError(zst_len));
    const char *path = write_file(d, "000000.zst", zst, zst_len);
    floe_format format;
    static const char fields[] = "srcaddr dstaddr action packets bytes";
    assert_int_equal(floe_format_parse(fields, sizeof(fields) - 1, &format), FLOE_OK);
    floe_totals_options options;
    floe_totals_options_default(&options);
    options.mode = FLOE_LINES_CLOUDWATCH;
    options.format = &format;
    floe_totals t = run_files(&path, 1, 1 << 20, 1 << 20, 1 << 20, &options);
    assert_int_equal(t.files_by_codec[FLOE_CODEC_ZSTD], 1);
    assert_int_equal(t.records, 3);
    assert_int_equal(t.headers, 0);
    assert_int_equal(t.bad_by_reason[FLOE_BAD_TIMESTAMP], 1);
    assert_int_equal(t.by_action[FLOE_ACTION_ACCEPT].packets, 3);
    assert_int_equal(t.by_action[FLOE_ACTION_REJECT].bytes, 120);
    floe_totals_free(&t);
}

static void test_empty_file_and_bad_options(void **state) {
    dir *d = *state;
    const char *path = write_file(d, "empty.log", "", 0);
    floe_totals t = run_files(&path, 1, 1 << 20, 1 << 20, 1 << 20, NULL);
    assert_int_equal(t.files, 1);
    assert_int_equal(t.files_by_codec[FLOE_CODEC_PLAIN], 1);
    assert_int_equal(t.lines, 0);
    assert_int_equal(t.records, 0);
    /* Named as a file failure: no flow log file is empty. */
    assert_int_equal(t.nfile_failures, 1);
    assert_int_equal(t.file_failures[0].err, FLOE_FILE_EMPTY);
    assert_string_equal(t.file_failures[0].file, path);
    floe_totals_free(&t);

    floe_totals_options options;
    floe_totals_options_default(&options);
    options.read_size = 0;
    floe_totals_worker *w = (floe_totals_worker *)&options; /* must be reset to NULL */
    assert_int_equal(floe_totals_worker_new(&options, &w), FLOE_ERR_INVALID);
    assert_null(w);
}

int main(void) {
#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_counts_match_the_input),
        DIR_TEST(test_step_sizes_do_not_change_totals),
        DIR_TEST(test_too_long_lines_skipped_wherever_steps_fall),
        DIR_TEST(test_decode_error_keeps_records_before_it),
        DIR_TEST(test_unreadable_file_recorded),
        DIR_TEST(test_custom_headers_and_unknown_fields),
        DIR_TEST(test_cloudwatch_with_user_format),
        DIR_TEST(test_empty_file_and_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
