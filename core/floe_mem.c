#include "floe_mem.h"

#include <pthread.h>
#include <stdatomic.h>
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

/* ---- the ceiling ------------------------------------------------------------------------------
 *
 * `mapped` counts the bytes of every large mapping: blocks in use and kept pages alike (a block's
 * untouched pages too, so it is an upper bound of what they make resident). A mapping that would
 * take it past `limit` first gives the kept pages back, then fails. */

static atomic_size_t mapped, mapped_peak, limit;
static atomic_bool limit_hit;

/* Counts len more bytes mapped, if the limit lets them; false (and limit_hit) if not. */
static bool account(size_t len) {
    for (bool trimmed = false;;) {
        size_t now = atomic_load(&mapped);
        const size_t cap = atomic_load(&limit);
        if (cap != 0 && (now > cap || len > cap - now)) {
            if (trimmed) {
                atomic_store(&limit_hit, true);
                return false;
            }
            floe_mem_trim();
            trimmed = true;
            continue;
        }
        if (atomic_compare_exchange_weak(&mapped, &now, now + len)) {
            for (size_t peak = atomic_load(&mapped_peak);
                 peak < now + len && !atomic_compare_exchange_weak(&mapped_peak, &peak, now + len);)
                ;
            return true;
        }
    }
}

static void unaccount(size_t len) {
    atomic_fetch_sub(&mapped, len);
}

void floe_mem_set_limit(size_t bytes) {
    atomic_store(&limit, bytes);
}

size_t floe_mem_limit(void) {
    return atomic_load(&limit);
}

size_t floe_mem_mapped(void) {
    return atomic_load(&mapped);
}

size_t floe_mem_mapped_peak(void) {
    return atomic_load(&mapped_peak);
}

bool floe_mem_limit_reached(void) {
    return atomic_load(&limit_hit);
}

/* Maps round_up(size) bytes at a 2 MiB boundary: over-map by 2 MiB, unmap the ends. NULL when
 * out of memory or past the limit. */
static uint8_t *map_large(size_t size) {
    size_t len = round_up(size);
    if (len < size) return NULL; /* overflow */
    if (!account(len)) return NULL;
    uint8_t *raw =
        mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        unaccount(len);
        return NULL;
    }
    uintptr_t aligned = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    size_t head = aligned - (uintptr_t)raw;
    if (head > 0) munmap(raw, head);
    munmap((uint8_t *)aligned + len, HUGE_PAGE - head);
    /* Advice only: without THP the mapping simply stays in 4 KiB pages. */
    (void)madvise((void *)aligned, len, MADV_HUGEPAGE);
    return (uint8_t *)aligned;
}

/* Unmaps len bytes of large mappings (a multiple of 2 MiB) and stops counting them. */
static void unmap_large(uint8_t *block, size_t len) {
    munmap(block, len);
    unaccount(len);
}

/* Moves len bytes of pages (len a multiple of 2 MiB, both ends 2 MiB-aligned) from src to dst,
 * replacing what dst had; no copy, no new faults. In 2 MiB steps because one mremap moves only
 * within one mapping, and a block may span several (it may have been pieced together from kept
 * ones). Returns the bytes moved: fewer when the kernel refused a step (it may run out of
 * mappings), the rest then still at src. */
static size_t move_pages(uint8_t *src, uint8_t *dst, size_t len) {
    size_t moved = 0;
    for (; moved < len; moved += HUGE_PAGE)
        if (mremap(src + moved, HUGE_PAGE, HUGE_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + moved) ==
            MAP_FAILED)
            break;
    return moved;
}

/* ---- freed blocks, kept for scratch ----------------------------------------------------------
 *
 * Why: on our VMs the first touch of a page that the host has not backed yet is very slow (a
 * fresh 512 MiB mapping filled at 376 MB/s once, where memset of resident pages runs at 30-50
 * GB/s), and a fresh mapping may get such pages at any time: page zeroing was a quarter to a third
 * of whole-run profiles, and the main source of their noise. A freed large block's touched pages
 * are backed, so they are kept, up to KEEP_LIMIT, and moved into the next scratch blocks
 * (floe_mem_scratch: sort keys, merged arrays), which take them as they are. Zeroed blocks stay
 * fresh mappings: zeroing a kept block would write all of it, where a big table's block is
 * often touched only in part. Kept blocks are used newest first. */

#define KEEP_LIMIT ((size_t)256 << 20)
#define KEEP_SLOTS 512

typedef struct kept_block {
    uint8_t *addr;
    size_t len; /* a multiple of 2 MiB */
} kept_block;

static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;
static kept_block kept[KEEP_SLOTS];
static size_t nkept, kept_bytes;

/* The length of the block's prefix through its last 2 MiB that has a resident page: what is
 * worth keeping (arrays and arenas fill from the front, so the untouched rest is the tail). */
static size_t touched_prefix(uint8_t *block, size_t len) {
    unsigned char vec[HUGE_PAGE / 4096];
    for (size_t end = len; end > 0; end -= HUGE_PAGE) {
        if (mincore(block + end - HUGE_PAGE, HUGE_PAGE, vec) != 0) return len; /* keep it all */
        for (size_t i = 0; i < sizeof vec; i++)
            if (vec[i] & 1) return end;
    }
    return 0;
}

/* Keeps a freed block's touched pages (len a multiple of 2 MiB), or unmaps them when the keep is
 * full; the untouched tail is unmapped either way. */
static void keep_or_unmap(uint8_t *block, size_t len) {
    const size_t touched = touched_prefix(block, len);
    if (touched < len) unmap_large(block + touched, len - touched);
    if (touched == 0) return;
    pthread_mutex_lock(&keep_lock);
    const bool room = nkept < KEEP_SLOTS && kept_bytes + touched <= KEEP_LIMIT;
    if (room) {
        kept[nkept++] = (kept_block){block, touched};
        kept_bytes += touched;
    }
    pthread_mutex_unlock(&keep_lock);
    if (!room) unmap_large(block, touched);
}

/* Moves kept pages into the start of [dst, dst + len), an untouched mapping (2 MiB-aligned, len
 * a multiple of 2 MiB). Returns how many bytes from dst now hold old data; the rest is still
 * fresh. */
static size_t move_kept_into(uint8_t *dst, size_t len) {
    size_t done = 0;
    pthread_mutex_lock(&keep_lock);
    while (done < len && nkept > 0) {
        kept_block *k = &kept[nkept - 1];
        const size_t want = k->len < len - done ? k->len : len - done;
        const size_t moved = move_pages(k->addr, dst + done, want);
        unaccount(moved); /* they replace pages of dst, which is counted whole */
        done += moved;
        kept_bytes -= moved;
        k->addr += moved;
        k->len -= moved;
        if (k->len == 0) nkept--;
        if (moved < want) break; /* the kernel refused: leave the rest fresh */
    }
    pthread_mutex_unlock(&keep_lock);
    return done;
}

/* A large scratch block of len bytes (a multiple of 2 MiB): a kept block big enough used where
 * it is (the newest such), or else a new mapping with kept pages moved into it. */
static uint8_t *take_large(size_t len) {
    pthread_mutex_lock(&keep_lock);
    for (size_t i = nkept; i-- > 0;) {
        if (kept[i].len < len) continue;
        uint8_t *block = kept[i].addr;
        kept[i].addr += len;
        kept[i].len -= len;
        kept_bytes -= len;
        if (kept[i].len == 0) kept[i] = kept[--nkept];
        pthread_mutex_unlock(&keep_lock);
        return block;
    }
    const bool any = nkept > 0;
    pthread_mutex_unlock(&keep_lock);
    uint8_t *block = map_large(len);
    if (block != NULL && any) (void)move_kept_into(block, len);
    return block;
}

/* ---- the interface ---- */

void *floe_mem_alloc(size_t size) {
    return is_large(size) ? map_large(size) : calloc(1, size);
}

void *floe_mem_scratch(size_t size) {
    if (!is_large(size)) return malloc(size);
    const size_t len = round_up(size);
    return len < size ? NULL : take_large(len);
}

void *floe_mem_grow(void *block, size_t old_size, size_t new_size) {
    if (!is_large(new_size)) {
        void *grown = realloc(block, new_size);
        if (grown != NULL) memset((uint8_t *)grown + old_size, 0, new_size - old_size);
        return grown;
    }
    const size_t old_len = is_large(old_size) ? round_up(old_size) : 0,
                 new_len = round_up(new_size);
    if (new_len < new_size) return NULL;
    if (old_len == new_len) return block;
    uint8_t *grown = map_large(new_size);
    if (grown == NULL) return NULL;
    /* The old pages move into the start of the new mapping rather than being copied (they are
     * not faulted in again, which on our VMs costs more than the copy); what could not move, or
     * a small old block, is copied. */
    const size_t moved = old_len > 0 ? move_pages(block, grown, old_len) : 0;
    if (moved < old_size) memcpy(grown + moved, (uint8_t *)block + moved, old_size - moved);
    if (old_len == 0)
        free(block);
    else if (moved < old_len)
        munmap((uint8_t *)block + moved, old_len - moved);
    unaccount(old_len); /* moved or unmapped: the old mapping is gone */
    return grown;
}

void floe_mem_free(void *block, size_t size) {
    if (block == NULL) return;
    if (is_large(size))
        keep_or_unmap(block, round_up(size));
    else
        free(block);
}

void floe_mem_trim(void) {
    pthread_mutex_lock(&keep_lock);
    for (size_t i = 0; i < nkept; i++)
        unmap_large(kept[i].addr, kept[i].len);
    nkept = kept_bytes = 0;
    pthread_mutex_unlock(&keep_lock);
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
