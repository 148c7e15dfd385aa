#include "floe_agg_sort.h"

#include <string.h>

#include "floe_sort.h"

void floe_agg_sort_prefix(const uint8_t *key, size_t key_len, uint64_t k[FLOE_AGG_SORT_WORDS]) {
    uint8_t head[FLOE_AGG_SORT_WORDS * 8] = {0};
    memcpy(head, key, key_len < sizeof(head) ? key_len : sizeof(head));
    for (int i = 0; i < FLOE_AGG_SORT_WORDS; i++) {
        uint64_t v;
        memcpy(&v, head + 8 * i, 8);
        k[i] = __builtin_bswap64(v);
    }
}

int floe_agg_compare_keys(const uint8_t *x, size_t x_len, const uint8_t *y, size_t y_len) {
    int order = memcmp(x, y, x_len < y_len ? x_len : y_len);
    return order != 0 ? order : (x_len > y_len) - (x_len < y_len);
}

FLOE_SORT_DEFINE(sort_items, floe_agg_sort_item, floe_agg_item_less)

bool floe_agg_item_less_by_whole_key(const floe_agg_sort_item *x, const floe_agg_sort_item *y) {
    return floe_agg_compare_keys(x->rec->key, x->rec->key_len, y->rec->key, y->rec->key_len) < 0;
}

void floe_agg_sort_items(floe_agg_sort_item *items, size_t n) {
    sort_items(items, n); /* keys are unique: the order is total */
}
