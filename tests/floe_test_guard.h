/* floe_test_guard.h: put test input right before an unreadable page, so that any read past
 * the end of the buffer faults at once instead of passing silently (picohttpparser's trick). */
#ifndef FLOE_TEST_GUARD_H
#define FLOE_TEST_GUARD_H

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct floe_guarded {
    char *data; /* len bytes, the last one right before the guard page */
    void *map;
    size_t map_len;
} floe_guarded;

static inline floe_guarded floe_guarded_copy(const void *src, size_t len) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (len + page - 1) / page;
    floe_guarded g;
    g.map_len = (data_pages + 1) * page;
    g.map = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.map == MAP_FAILED) {
        g.data = NULL;
        return g;
    }
    char *guard = (char *)g.map + data_pages * page;
    mprotect(guard, page, PROT_NONE);
    g.data = guard - len;
    if (len) memcpy(g.data, src, len);
    return g;
}

static inline void floe_guarded_free(floe_guarded *g) {
    if (g->data != NULL) munmap(g->map, g->map_len);
    g->data = NULL;
}

#endif
