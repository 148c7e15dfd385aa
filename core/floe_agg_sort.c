#include "floe_agg_sort.h"

#include <string.h>

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

static inline void swap(floe_agg_sort_item *a, floe_agg_sort_item *b) {
    floe_agg_sort_item t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(floe_agg_sort_item *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        floe_agg_sort_item x = a[i];
        size_t j = i;
        for (; j > 0 && floe_agg_item_less(&x, &a[j - 1]); j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void sift_down(floe_agg_sort_item *a, size_t root, size_t n) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && floe_agg_item_less(&a[child], &a[child + 1])) child++;
        if (!floe_agg_item_less(&a[root], &a[child])) return;
        swap(&a[root], &a[child]);
        root = child;
    }
}

static void heap_sort(floe_agg_sort_item *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        swap(&a[0], &a[end]);
        sift_down(a, 0, end);
    }
}

/* Introsort: quicksort with a median-of-three pivot, insertion sort for short ranges, heap sort
 * when the recursion gets too deep. qsort would call a comparator through a pointer for each of
 * the ~n log n comparisons; inlined, the common case is a few integer compares. Keys are
 * unique, so the order is total and the result the same whatever the algorithm. */
static void introsort(floe_agg_sort_item *a, size_t n, unsigned depth) {
    while (n > 16) {
        if (depth-- == 0) {
            heap_sort(a, n);
            return;
        }
        size_t mid = n / 2;
        if (floe_agg_item_less(&a[mid], &a[0])) swap(&a[mid], &a[0]);
        if (floe_agg_item_less(&a[n - 1], &a[0])) swap(&a[n - 1], &a[0]);
        if (floe_agg_item_less(&a[n - 1], &a[mid])) swap(&a[n - 1], &a[mid]);
        floe_agg_sort_item pivot = a[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (floe_agg_item_less(&a[i], &pivot))
                i++;
            while (floe_agg_item_less(&pivot, &a[j]))
                j--;
            if (i >= j) break;
            swap(&a[i], &a[j]);
            i++;
            j--;
        }
        /* a[0..j] <= pivot <= a[j+1..n): recurse into the smaller side, loop on the larger. */
        size_t left = j + 1;
        if (left < n - left) {
            introsort(a, left, depth);
            a += left;
            n -= left;
        } else {
            introsort(a + left, n - left, depth);
            n = left;
        }
    }
    insertion_sort(a, n);
}

bool floe_agg_item_less_by_whole_key(const floe_agg_sort_item *x, const floe_agg_sort_item *y) {
    return floe_agg_compare_keys(x->rec->key, x->rec->key_len, y->rec->key, y->rec->key_len) < 0;
}

void floe_agg_sort_items(floe_agg_sort_item *items, size_t n) {
    unsigned depth = 2;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    introsort(items, n, depth);
}
