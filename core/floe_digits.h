/* floe_digits.h: unsigned integers as decimal text, fast, for writers of big tables.
 *
 * Output tables run to millions of rows of numbers, addresses and times; a digit a division
 * made formatting cost as much as parsing. These write two digits a step from a 200-byte
 * table of pairs, into a buffer the caller has sized (20 bytes hold any uint64_t). No NUL. */
#ifndef FLOE_DIGITS_H
#define FLOE_DIGITS_H

#include <stdint.h>
#include <string.h>

/* "00", "01", ..., "99" back to back: the pair for n is at 2 * n. */
extern const char floe_digit_pairs[200];

/* Decimal digits v has (1..20). */
static inline unsigned floe_digits_count(uint64_t v) {
    unsigned n = 1;
    for (;;) {
        if (v < 10) return n;
        if (v < 100) return n + 1;
        if (v < 1000) return n + 2;
        if (v < 10000) return n + 3;
        v /= 10000;
        n += 4;
    }
}

/* Writes v at p; returns the end. */
static inline char *floe_digits_u64(char *p, uint64_t v) {
    unsigned n = floe_digits_count(v);
    char *end = p + n;
    char *q = end;
    while (v >= 100) {
        q -= 2;
        memcpy(q, &floe_digit_pairs[2 * (v % 100)], 2);
        v /= 100;
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, &floe_digit_pairs[2 * v], 2);
    } else {
        q[-1] = (char)('0' + v);
    }
    return end;
}

/* Exactly two digits of v (0..99) at p. */
static inline void floe_digits_2(char *p, unsigned v) {
    memcpy(p, &floe_digit_pairs[2 * v], 2);
}

#endif
