#include "floe_mem.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

static bool is_large(size_t size) {
    return size >= HUGE_PAGE;
}

static size_t round_up(size_t size) {
    return (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* Maps round_up(size) bytes at a 2 MiB boundary: over-map by 2 MiB, unmap the ends. */
static void *map_large(size_t size) {
    size_t len = round_up(size);
    if (len < size) return NULL; /* overflow */
    uint8_t *raw =
        mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t aligned = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    size_t head = aligned - (uintptr_t)raw;
    if (head > 0) munmap(raw, head);
    munmap((uint8_t *)aligned + len, HUGE_PAGE - head);
    /* Advice only: without THP the mapping simply stays in 4 KiB pages. */
    (void)madvise((void *)aligned, len, MADV_HUGEPAGE);
    return (void *)aligned;
}

void *floe_mem_alloc(size_t size) {
    return is_large(size) ? map_large(size) : calloc(1, size);
}

void *floe_mem_grow(void *block, size_t old_size, size_t new_size) {
    if (!is_large(new_size)) {
        void *grown = realloc(block, new_size);
        if (grown != NULL) memset((uint8_t *)grown + old_size, 0, new_size - old_size);
        return grown;
    }
    if (is_large(old_size) && round_up(new_size) == round_up(old_size)) return block;
    void *grown = map_large(new_size);
    if (grown == NULL) return NULL;
    if (is_large(old_size)) {
        /* Move the old pages into the start of the new mapping rather than copy them: they are
         * not faulted in again, which on our VMs costs more than the copy. Both mappings are
         * 2 MiB-aligned, so huge pages stay whole. */
        if (mremap(block, round_up(old_size), round_up(old_size), MREMAP_MAYMOVE | MREMAP_FIXED,
                   grown) != MAP_FAILED)
            return grown;
    }
    if (block != NULL) memcpy(grown, block, old_size);
    floe_mem_free(block, old_size);
    return grown;
}

void floe_mem_free(void *block, size_t size) {
    if (block == NULL) return;
    if (is_large(size))
        munmap(block, round_up(size));
    else
        free(block);
}

void *floe_mem_reserve(void *block, size_t *cap, size_t need, size_t item_size, size_t first_cap) {
    if (need <= *cap) return block;
    size_t grown_cap = *cap ? *cap : first_cap;
    while (grown_cap < need) {
        if (grown_cap > SIZE_MAX / 2) return NULL;
        grown_cap *= 2;
    }
    if (grown_cap > SIZE_MAX / item_size) return NULL;
    void *grown = floe_mem_grow(block, *cap * item_size, grown_cap * item_size);
    if (grown) *cap = grown_cap;
    return grown;
}
