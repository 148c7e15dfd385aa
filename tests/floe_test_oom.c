/* floe_test_oom.c: an LD_PRELOAD library that makes allocations fail, to test how floe's
 * threads stop when memory runs out.
 *
 * FLOE_TEST_OOM_AFTER=N: after N successful allocations made on threads other than the main
 * thread (workers, reducer, formatters), every further one on such a thread fails with
 * ENOMEM. The main thread is spared, so the run can report the failure. Unset: no effect.
 * FLOE_TEST_OOM_THREAD=NAME: count and fail only on threads of that name ("floe-worker",
 * "floe-reduce", "floe-format": floe names its threads).
 * Only for builds without a sanitizer (they replace malloc themselves). */

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);

static atomic_long allowed = -2; /* -2: not read yet; -1: never fail */

static bool should_fail(void) {
    long left = atomic_load(&allowed);
    if (left == -2) {
        const char *text = getenv("FLOE_TEST_OOM_AFTER");
        long wanted = text != NULL ? atol(text) : -1;
        atomic_compare_exchange_strong(&allowed, &left, wanted);
        left = atomic_load(&allowed);
    }
    if (left == -1 || syscall(SYS_gettid) == getpid()) return false;
    const char *only = getenv("FLOE_TEST_OOM_THREAD");
    if (only != NULL) {
        char name[16] = "";
        pthread_getname_np(pthread_self(), name, sizeof(name));
        if (strcmp(name, only) != 0) return false;
    }
    /* Count down to 0, then stay there: every later allocation fails. */
    while (left > 0 && !atomic_compare_exchange_weak(&allowed, &left, left - 1)) {
    }
    return left == 0;
}

void *malloc(size_t size) {
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, size);
}
