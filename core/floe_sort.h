/* floe_sort.h: a typed in-place sort, generated per element type and order.
 *
 *   FLOE_SORT_DEFINE(sort_probe_keys, probe_key, probe_key_less)
 *
 * defines `static void sort_probe_keys(probe_key *a, size_t n)`, ordering by
 * `bool probe_key_less(const probe_key *x, const probe_key *y)`.
 *
 * Why not qsort: it calls the comparator through a pointer for each of the ~n log n comparisons
 * and (glibc) allocates a scratch copy of the array; inlined, the common case is a few integer
 * compares. The algorithm is introsort: quicksort with a median-of-three pivot, insertion sort
 * for short ranges, heap sort when the recursion gets too deep. It is not stable, so callers
 * whose elements can compare equal must make the order total (an index as the last key) when
 * the result has to be the same on every run. */
#ifndef FLOE_SORT_H
#define FLOE_SORT_H

#include <stdbool.h>
#include <stddef.h>

#define FLOE_SORT_DEFINE(name, type, less)                                                         \
    static inline void name##_swap(type *a, type *b) {                                             \
        type t = *a;                                                                               \
        *a = *b;                                                                                   \
        *b = t;                                                                                    \
    }                                                                                              \
    static void name##_insertion(type *a, size_t n) {                                              \
        for (size_t i = 1; i < n; i++) {                                                           \
            type x = a[i];                                                                         \
            size_t j = i;                                                                          \
            for (; j > 0 && less(&x, &a[j - 1]); j--)                                              \
                a[j] = a[j - 1];                                                                   \
            a[j] = x;                                                                              \
        }                                                                                          \
    }                                                                                              \
    static void name##_sift(type *a, size_t root, size_t n) {                                      \
        for (;;) {                                                                                 \
            size_t child = 2 * root + 1;                                                           \
            if (child >= n) return;                                                                \
            if (child + 1 < n && less(&a[child], &a[child + 1])) child++;                          \
            if (!less(&a[root], &a[child])) return;                                                \
            name##_swap(&a[root], &a[child]);                                                      \
            root = child;                                                                          \
        }                                                                                          \
    }                                                                                              \
    static void name##_heap(type *a, size_t n) {                                                   \
        for (size_t i = n / 2; i-- > 0;)                                                           \
            name##_sift(a, i, n);                                                                  \
        for (size_t end = n; end-- > 1;) {                                                         \
            name##_swap(&a[0], &a[end]);                                                           \
            name##_sift(a, 0, end);                                                                \
        }                                                                                          \
    }                                                                                              \
    static void name##_intro(type *a, size_t n, unsigned depth) {                                  \
        while (n > 16) {                                                                           \
            if (depth-- == 0) {                                                                    \
                name##_heap(a, n);                                                                 \
                return;                                                                            \
            }                                                                                      \
            size_t mid = n / 2;                                                                    \
            if (less(&a[mid], &a[0])) name##_swap(&a[mid], &a[0]);                                 \
            if (less(&a[n - 1], &a[0])) name##_swap(&a[n - 1], &a[0]);                             \
            if (less(&a[n - 1], &a[mid])) name##_swap(&a[n - 1], &a[mid]);                         \
            type pivot = a[mid];                                                                   \
            size_t i = 0, j = n - 1;                                                               \
            for (;;) {                                                                             \
                while (less(&a[i], &pivot))                                                        \
                    i++;                                                                           \
                while (less(&pivot, &a[j]))                                                        \
                    j--;                                                                           \
                if (i >= j) break;                                                                 \
                name##_swap(&a[i], &a[j]);                                                         \
                i++;                                                                               \
                j--;                                                                               \
            }                                                                                      \
            /* a[0..j] <= pivot <= a[j+1..n): recurse into the smaller side, loop on the other. */ \
            size_t left = j + 1;                                                                   \
            if (left < n - left) {                                                                 \
                name##_intro(a, left, depth);                                                      \
                a += left;                                                                         \
                n -= left;                                                                         \
            } else {                                                                               \
                name##_intro(a + left, n - left, depth);                                           \
                n = left;                                                                          \
            }                                                                                      \
        }                                                                                          \
        name##_insertion(a, n);                                                                    \
    }                                                                                              \
    static inline void name(type *a, size_t n) {                                                   \
        unsigned depth = 2;                                                                        \
        for (size_t m = n; m > 1; m >>= 1)                                                         \
            depth += 2;                                                                            \
        name##_intro(a, n, depth);                                                                 \
    }

#endif
