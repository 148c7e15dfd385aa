/* floe_agg_sort.h: ordering groups by key (private to core/floe_agg*.c).
 *
 * Sorting compares the first 24 key bytes as three integers (the window and the start of the
 * values: the whole of an IPv4 5-tuple but its last byte), which decides almost every
 * comparison without touching the records; only ties fall back to the whole keys. Zero padding
 * of a shorter key keeps the order memcmp gives, since no key is a prefix of another. Items
 * are 32 bytes, the prefix and the record: millions of them are sorted, and moved. */
#ifndef FLOE_AGG_SORT_H
#define FLOE_AGG_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_agg.h"
#include "floe_agg_table.h"

#define FLOE_AGG_SORT_WORDS 3 /* floe_agg_item_less compares exactly these three */
/* The window's bytes in front of every key (floe_agg_group.key points after them). */
#define FLOE_AGG_WINDOW_BYTES 8

typedef struct floe_agg_sort_item {
    uint64_t k[FLOE_AGG_SORT_WORDS];
    const floe_agg_record *rec;
} floe_agg_sort_item;

/* The prefix words of a full key (window included). */
void floe_agg_sort_prefix(const uint8_t *key, size_t key_len, uint64_t k[FLOE_AGG_SORT_WORDS]);

/* memcmp order of two full keys (window, then values). */
int floe_agg_compare_keys(const uint8_t *x, size_t x_len, const uint8_t *y, size_t y_len);

/* floe_agg_item_less's rare case, a tie of the whole prefix (keys longer than 24 bytes that
 * share it): out of line, so that the common comparison inlines as three integer compares. */
__attribute__((noinline)) bool floe_agg_item_less_by_whole_key(const floe_agg_sort_item *x,
                                                               const floe_agg_sort_item *y);

static inline bool floe_agg_item_less(const floe_agg_sort_item *x, const floe_agg_sort_item *y) {
    if (x->k[0] != y->k[0]) return x->k[0] < y->k[0];
    if (x->k[1] != y->k[1]) return x->k[1] < y->k[1];
    if (x->k[2] != y->k[2]) return x->k[2] < y->k[2];
    return floe_agg_item_less_by_whole_key(x, y);
}

/* Sorts items[0..n) by key. */
void floe_agg_sort_items(floe_agg_sort_item *items, size_t n);

#endif
