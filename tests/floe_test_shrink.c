/* floe_test_shrink.c: an LD_PRELOAD library that makes a file look as if it shrank while floe
 * read it: fstat reports 64 KiB more than the file holds, for files whose path ends with
 * FLOE_TEST_SHRINK, so the last read comes back short of what the size promised, as when
 * another process truncates the file under the reader. Unset: no effect. Only for builds
 * without a sanitizer (tests/CMakeLists.txt). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fstat(int fd, struct stat *st);

int fstat(int fd, struct stat *st) {
    static int (*real)(int, struct stat *);
    if (!real) real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
    const int rc = real(fd, st);
    const char *suffix = getenv("FLOE_TEST_SHRINK");
    if (rc != 0 || suffix == NULL || !S_ISREG(st->st_mode)) return rc;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, path, sizeof path - 1);
    const size_t len = strlen(suffix);
    if (n > 0 && (size_t)n >= len && memcmp(path + n - len, suffix, len) == 0) st->st_size += 65536;
    return rc;
}
