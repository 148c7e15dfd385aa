/* Input discovery: recursive, regular files only, sorted bytewise whatever readdir and the
 * command line say, dot-files skipped inside directories, symlink loops reported and survived,
 * missing paths reported with their errno. Each test builds its own tree under $TMPDIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "floe_walk.h"

typedef struct tree {
    char root[256];
} tree;

static void make_file(const tree *t, const char *rel, size_t size) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    for (size_t i = 0; i < size; i++)
        assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
}

static void make_dir(const tree *t, const char *rel) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void make_link(const tree *t, const char *target, const char *rel) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static const char *rel_path(const tree *t, const char *path) {
    size_t n = strlen(t->root);
    assert_memory_equal(path, t->root, n);
    assert_int_equal(path[n], '/');
    return path + n + 1;
}

static int setup_tree(void **state) {
    tree *t = calloc(1, sizeof(*t));
    if (t == NULL) return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(t->root, sizeof(t->root), "%s/floe_walk_XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(t->root) == NULL) return -1;
    *state = t;
    return 0;
}

static int teardown_tree(void **state) {
    tree *t = *state;
    char command[512];
    snprintf(command, sizeof(command), "rm -rf '%s'", t->root);
    int rc = system(command);
    free(t);
    return rc == 0 ? 0 : -1;
}

static floe_walk_result walk_one(const char *path, bool include_hidden) {
    const char *paths[] = {path};
    floe_walk_options options = {include_hidden};
    floe_walk_result result;
    assert_int_equal(floe_walk(paths, 1, &options, &result), FLOE_OK);
    return result;
}

/* '.' (0x2e) sorts before '/' (0x2f): "a.log" comes before "a/..." as bytes say, and
 * upper case before lower case. */
static void test_recursive_and_sorted_bytewise(void **state) {
    tree *t = *state;
    make_dir(t, "b");
    make_dir(t, "a");
    make_dir(t, "a/z");
    make_dir(t, "a/Y");
    make_dir(t, "empty");
    make_file(t, "b/2.log.gz", 3);
    make_file(t, "a/z/1.log", 5);
    make_file(t, "a/Y/9.log", 1);
    make_file(t, "a/10.log", 0);
    make_file(t, "a/9.log", 2);
    make_file(t, "a.log", 7);
    floe_walk_result r = walk_one(t->root, false);
    static const char *const expected[] = {"a.log",     "a/10.log",  "a/9.log",
                                           "a/Y/9.log", "a/z/1.log", "b/2.log.gz"};
    static const uint64_t sizes[] = {7, 0, 2, 1, 5, 3};
    assert_int_equal(r.nfiles, 6);
    for (size_t i = 0; i < r.nfiles; i++) {
        assert_string_equal(rel_path(t, r.files[i].path), expected[i]);
        assert_int_equal(r.files[i].size, sizes[i]);
    }
    assert_int_equal(r.total_size, 18);
    assert_int_equal(r.nerrors, 0);
    floe_walk_result_free(&r);
}

/* The same files whatever order the paths come in, each file once. */
static void test_order_independent_of_arguments_and_deduplicated(void **state) {
    tree *t = *state;
    make_dir(t, "x");
    make_file(t, "x/b", 1);
    make_file(t, "x/a", 1);
    make_file(t, "c", 1);
    char dir[300], file_a[300], file_c[300];
    snprintf(dir, sizeof(dir), "%s/x", t->root);
    snprintf(file_a, sizeof(file_a), "%s/x/a", t->root);
    snprintf(file_c, sizeof(file_c), "%s/c", t->root);
    const char *paths[] = {file_c, dir, file_a, dir};
    floe_walk_result r;
    assert_int_equal(floe_walk(paths, 4, NULL, &r), FLOE_OK);
    assert_int_equal(r.nfiles, 3);
    assert_string_equal(rel_path(t, r.files[0].path), "c");
    assert_string_equal(rel_path(t, r.files[1].path), "x/a");
    assert_string_equal(rel_path(t, r.files[2].path), "x/b");
    assert_int_equal(r.total_size, 3);
    floe_walk_result_free(&r);
}

static void test_hidden_entries_skipped_inside_directories(void **state) {
    tree *t = *state;
    make_file(t, ".DS_Store", 4);
    make_dir(t, ".git");
    make_file(t, ".git/config", 4);
    make_file(t, "real.log", 4);
    floe_walk_result r = walk_one(t->root, false);
    assert_int_equal(r.nfiles, 1);
    assert_string_equal(rel_path(t, r.files[0].path), "real.log");
    assert_int_equal(r.skipped_hidden, 2);
    floe_walk_result_free(&r);

    r = walk_one(t->root, true);
    assert_int_equal(r.nfiles, 3);
    assert_string_equal(rel_path(t, r.files[0].path), ".DS_Store");
    assert_string_equal(rel_path(t, r.files[1].path), ".git/config");
    assert_int_equal(r.skipped_hidden, 0);
    floe_walk_result_free(&r);

    /* Named explicitly, a dot-file is what the user asked for. */
    char path[300];
    snprintf(path, sizeof(path), "%s/.DS_Store", t->root);
    r = walk_one(path, false);
    assert_int_equal(r.nfiles, 1);
    floe_walk_result_free(&r);
}

static void test_only_regular_files(void **state) {
    tree *t = *state;
    make_file(t, "f.log", 1);
    char fifo[300];
    snprintf(fifo, sizeof(fifo), "%s/pipe", t->root);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    floe_walk_result r = walk_one(t->root, false);
    assert_int_equal(r.nfiles, 1);
    assert_string_equal(rel_path(t, r.files[0].path), "f.log");
    assert_int_equal(r.skipped_special, 1);
    assert_int_equal(r.nerrors, 0);
    floe_walk_result_free(&r);

    /* Named explicitly, it is an error the user should hear about. */
    r = walk_one(fifo, false);
    assert_int_equal(r.nfiles, 0);
    assert_int_equal(r.nerrors, 1);
    assert_int_equal(r.errors[0].kind, FLOE_WALK_ERR_NOT_REGULAR);
    assert_string_equal(r.errors[0].path, fifo);
    floe_walk_result_free(&r);
}

/* a/sub/up -> .. leads back to a: reported once, not entered, the rest of the walk goes on.
 * A link to a file and a link to a sibling directory are followed; the file they all reach
 * (b/2.log, b/same.log and the same two through a/to_b) is listed once, under its first path. */
static void test_symlink_loop_reported_not_fatal(void **state) {
    tree *t = *state;
    make_dir(t, "a");
    make_dir(t, "a/sub");
    make_dir(t, "b");
    make_file(t, "a/sub/1.log", 1);
    make_file(t, "b/2.log", 2);
    make_link(t, "..", "a/sub/up");
    make_link(t, "../b", "a/to_b");
    make_link(t, "2.log", "b/same.log");
    make_link(t, "missing", "b/broken");
    floe_walk_result r = walk_one(t->root, false);
    static const char *const expected[] = {"a/sub/1.log", "a/to_b/2.log"};
    assert_int_equal(r.nfiles, 2);
    for (size_t i = 0; i < r.nfiles; i++)
        assert_string_equal(rel_path(t, r.files[i].path), expected[i]);
    assert_int_equal(r.nerrors, 3); /* the loop, and the broken link reached twice */
    assert_string_equal(rel_path(t, r.errors[0].path), "a/sub/up");
    assert_int_equal(r.errors[0].kind, FLOE_WALK_ERR_LOOP);
    assert_string_equal(rel_path(t, r.errors[1].path), "a/to_b/broken");
    assert_int_equal(r.errors[1].kind, FLOE_WALK_ERR_STAT);
    assert_int_equal(r.errors[1].err, ENOENT);
    assert_string_equal(rel_path(t, r.errors[2].path), "b/broken");
    floe_walk_result_free(&r);
}

/* One file named three ways on the command line, and through its directory: read once. */
static void test_same_file_by_several_paths_is_listed_once(void **state) {
    const tree *t = *state;
    make_dir(t, "d");
    make_file(t, "d/a.log", 3);
    make_file(t, "d/b.log", 4);
    char dir[4096], dot[4096], slashes[4096];
    snprintf(dir, sizeof(dir), "%s/d", t->root);
    snprintf(dot, sizeof(dot), "%s/./d/a.log", t->root);
    snprintf(slashes, sizeof(slashes), "%s/d//a.log", t->root);
    const char *paths[] = {slashes, dir, dot};
    floe_walk_result r;
    assert_int_equal(floe_walk(paths, 3, NULL, &r), FLOE_OK);
    assert_int_equal(r.nfiles, 2);
    assert_int_equal(r.total_size, 3 + 4);
    assert_string_equal(rel_path(t, r.files[0].path), "./d/a.log"); /* the first path bytewise */
    assert_string_equal(rel_path(t, r.files[1].path), "d/b.log");
    floe_walk_result_free(&r);
}

/* A link to the root itself: the loop is at the first level. */
static void test_self_link_loop(void **state) {
    tree *t = *state;
    make_file(t, "f", 1);
    make_link(t, ".", "again");
    floe_walk_result r = walk_one(t->root, false);
    assert_int_equal(r.nfiles, 1);
    assert_int_equal(r.nerrors, 1);
    assert_int_equal(r.errors[0].kind, FLOE_WALK_ERR_LOOP);
    assert_string_equal(rel_path(t, r.errors[0].path), "again");
    floe_walk_result_free(&r);
}

static void test_missing_path_is_an_error_not_a_failure(void **state) {
    tree *t = *state;
    make_file(t, "ok.log", 1);
    char missing[300], present[300];
    snprintf(missing, sizeof(missing), "%s/nope", t->root);
    snprintf(present, sizeof(present), "%s/ok.log", t->root);
    const char *paths[] = {missing, present};
    floe_walk_result r;
    assert_int_equal(floe_walk(paths, 2, NULL, &r), FLOE_OK);
    assert_int_equal(r.nfiles, 1);
    assert_int_equal(r.nerrors, 1);
    assert_int_equal(r.errors[0].kind, FLOE_WALK_ERR_STAT);
    assert_int_equal(r.errors[0].err, ENOENT);
    assert_string_equal(r.errors[0].path, missing);
    assert_string_equal(floe_walk_error_str(FLOE_WALK_ERR_LOOP), "symlink loop");
    floe_walk_result_free(&r);
}

/* Root ignores permissions, so this runs only as another user. */
static void test_unreadable_directory_reported(void **state) {
    tree *t = *state;
    if (geteuid() == 0) skip();
    make_dir(t, "closed");
    make_file(t, "closed/x", 1);
    make_file(t, "open.log", 1);
    char closed[300];
    snprintf(closed, sizeof(closed), "%s/closed", t->root);
    assert_int_equal(chmod(closed, 0), 0);
    floe_walk_result r = walk_one(t->root, false);
    assert_int_equal(chmod(closed, 0755), 0);
    assert_int_equal(r.nfiles, 1);
    assert_int_equal(r.nerrors, 1);
    assert_int_equal(r.errors[0].kind, FLOE_WALK_ERR_OPENDIR);
    assert_int_equal(r.errors[0].err, EACCES);
    floe_walk_result_free(&r);
}

static void test_no_paths_is_empty(void **state) {
    (void)state;
    floe_walk_result r;
    assert_int_equal(floe_walk(NULL, 0, NULL, &r), FLOE_OK);
    assert_int_equal(r.nfiles, 0);
    assert_int_equal(r.nerrors, 0);
    floe_walk_result_free(&r);
}

int main(void) {
#define TREE_TEST(f) cmocka_unit_test_setup_teardown(f, setup_tree, teardown_tree)
    const struct CMUnitTest tests[] = {
        TREE_TEST(test_recursive_and_sorted_bytewise),
        TREE_TEST(test_order_independent_of_arguments_and_deduplicated),
        TREE_TEST(test_hidden_entries_skipped_inside_directories),
        TREE_TEST(test_only_regular_files),
        TREE_TEST(test_symlink_loop_reported_not_fatal),
        TREE_TEST(test_same_file_by_several_paths_is_listed_once),
        TREE_TEST(test_self_link_loop),
        TREE_TEST(test_missing_path_is_an_error_not_a_failure),
        TREE_TEST(test_unreadable_directory_reported),
        cmocka_unit_test(test_no_paths_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
