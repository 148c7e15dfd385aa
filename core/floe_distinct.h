/* floe_distinct.h: a mergeable distinct-count sketch, exact while small, then HyperLogLog.
 *
 * One sketch per (group, field): "distinct destination ports of this source in this window".
 * The caller hashes each value to 64 bits (floe_distinct_hash_u64 / floe_distinct_hash_bytes
 * below; every sketch that may ever be merged with another must use the same hash for the same
 * field) and adds the hash. Up to FLOE_DISTINCT_EXACT_MAX distinct hashes the sketch holds them
 * exactly, sorted, and counts them exactly; with one more it becomes a HyperLogLog of precision
 * FLOE_DISTINCT_P.
 *
 * Determinism: the state is a function of the SET of hashes added, whatever the order of adds
 * and merges and however the values were spread over sketches. It is exact iff that set has at
 * most FLOE_DISTINCT_EXACT_MAX members, and then holds the set itself; otherwise it holds, per
 * register, the largest rank of the set's hashes that fall in it. So merge is commutative,
 * associative and idempotent, and floe_distinct_serialize gives the same bytes and
 * floe_distinct_estimate the same number for the same set on every path and machine (the hash
 * reads bytes little-endian, the wire format is fixed, the estimator's arithmetic has one order).
 *
 * Memory (millions of groups may each hold one): the sketch itself is 16 bytes and holds zero or
 * one hash inline; from two hashes a sorted array on the heap of 4, 8, 16 or 32 slots (8 bytes
 * each); once HyperLogLog, 4096 one-byte registers on the heap.
 *
 * A sketch is a plain value: assigning it moves its heap memory, so the copy left behind must not
 * be used or freed. Not thread-safe; one writer per sketch, merge the partials afterwards. */
#ifndef FLOE_DISTINCT_H
#define FLOE_DISTINCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_status.h"

/* Distinct hashes held exactly. 32 keeps the exact array at 256 bytes, a sixteenth of the
 * registers, and a duplicate check at five comparisons; it covers the common small groups (a few
 * ports or peers) exactly. At 33 values linear counting over 4096 registers is still within a
 * value or so, so the step to HyperLogLog does not show in the counts. */
#define FLOE_DISTINCT_EXACT_MAX 32

/* HyperLogLog precision: 2^12 = 4096 registers, standard error 1.04 / sqrt(4096) = 1.63% (the
 * estimator below is at about 1.04 / sqrt(m) over the whole range). p = 14 would give 0.81% for
 * 16 KiB per sketch; with millions of groups, the four-times smaller sketch wins, and 1.6% is
 * ample for thresholds like "more than 100 ports". Registers are one byte each in memory (a
 * load, a max and a store per add; merge is a bytewise max the compiler vectorises) and six bits
 * on the wire. Changing p changes the wire format: every merged sketch must share it. */
#define FLOE_DISTINCT_P         12
#define FLOE_DISTINCT_REGISTERS (1u << FLOE_DISTINCT_P)
#define FLOE_DISTINCT_STD_ERROR 0.01625 /* 1.04 / sqrt(FLOE_DISTINCT_REGISTERS) */

/* Wire format, version 1; every integer little-endian:
 *   byte 0   version (1)
 *   byte 1   kind: 0 exact, 1 HyperLogLog
 *   exact:   byte 2 the count k (0..FLOE_DISTINCT_EXACT_MAX), then k 8-byte hashes, strictly
 *            ascending: 3 + 8k bytes.
 *   HLL:     byte 2 the precision (12), then the 4096 registers (0..53) as 6-bit fields, register
 *            i at bits 6i..6i+5 of the byte string read as one little-endian number: 3 + 3072
 *            bytes.
 * Every sketch has exactly one encoding, so equal sets give equal bytes. */
#define FLOE_DISTINCT_WIRE_VERSION   1
#define FLOE_DISTINCT_SERIALIZED_MAX (3 + FLOE_DISTINCT_REGISTERS * 6 / 8)

/* The fields are private: use the functions. A zeroed struct is an empty sketch. */
typedef struct floe_distinct {
    union {
        uint64_t one;       /* exact, capacity 0, count 1: the hash itself */
        uint64_t *values;   /* exact, capacity > 0: count hashes, strictly ascending */
        uint8_t *registers; /* HyperLogLog: FLOE_DISTINCT_REGISTERS ranks, 0..64 - p + 1 */
    } u;
    uint32_t count;    /* hashes held while exact; 0 once HyperLogLog */
    uint32_t capacity; /* slots in u.values; 0 while inline; UINT32_MAX once HyperLogLog */
} floe_distinct;

/* An empty, exact sketch; owns nothing. */
void floe_distinct_init(floe_distinct *d);
/* Releases what the sketch owns and leaves it empty, ready for reuse. */
void floe_distinct_free(floe_distinct *d);

/* Adds one hash. FLOE_ERR_NOMEM leaves the sketch as it was. */
floe_status floe_distinct_add(floe_distinct *d, uint64_t hash);
/* into = into U from. `from` is unchanged and may be `into`. FLOE_ERR_NOMEM leaves `into` as it
 * was. */
floe_status floe_distinct_merge(floe_distinct *into, const floe_distinct *from);

/* The number of distinct hashes: exact while floe_distinct_is_exact, else Ertl's improved
 * HyperLogLog estimator (O. Ertl, "New cardinality estimation algorithms for HyperLogLog
 * sketches", 2017, algorithm 6), unbiased from small to large cardinalities without the
 * switch-over of linear counting, rounded to the nearest integer and never below
 * FLOE_DISTINCT_EXACT_MAX + 1 (a HyperLogLog holds more than that many). */
uint64_t floe_distinct_estimate(const floe_distinct *d);
/* The same sketch estimated as in the original paper (Flajolet et al. 2007): the harmonic-mean
 * estimate, replaced by linear counting m ln(m / V) at or below 2.5m when V registers are zero;
 * no large-range correction, the hash having 64 bits. Exact while exact, clamped like the above.
 * Kept to compare
 * against: it is biased by a few percent just above 2.5m = 10240. */
uint64_t floe_distinct_estimate_classic(const floe_distinct *d);

bool floe_distinct_is_exact(const floe_distinct *d);
/* Heap bytes the sketch owns, for the caller's memory accounting (not malloc's overhead). */
size_t floe_distinct_heap_bytes(const floe_distinct *d);

/* Bytes floe_distinct_serialize writes: 3 + 8k exact, FLOE_DISTINCT_SERIALIZED_MAX HLL. */
size_t floe_distinct_serialized_size(const floe_distinct *d);
/* Writes the wire format to out (room for floe_distinct_serialized_size bytes); returns the
 * bytes written. */
size_t floe_distinct_serialize(const floe_distinct *d, uint8_t *out);
/* Reads exactly n bytes of wire format into out, which need not be initialised and on success
 * owns memory (floe_distinct_free it). Anything but the one canonical encoding of a sketch (bad
 * version, kind or precision, a wrong length, hashes out of order or repeated, a register above
 * 53, an HLL with every register zero) is FLOE_ERR_CORRUPT; FLOE_ERR_NOMEM when out of memory.
 * On error out is left empty. */
floe_status floe_distinct_deserialize(const uint8_t *in, size_t n, floe_distinct *out);

/* ---- hashing --------------------------------------------------------------------------------
 * Both hashes are fixed forever: sketches serialized today merge with sketches built tomorrow
 * and on other machines, so changing either means a new wire version. They are unkeyed: someone
 * who chooses many of the values (IPv6 source addresses, say) and knows the hash could make some
 * collide and be counted once; inputs of up to 8 bytes (IPv4 addresses, ports) cannot collide. */

/* A bijection on 64-bit words, so distinct integers never collide: an added constant (so that 0
 * does not map to 0), then David Stafford's "Mix13" xor-shift-multiply finalizer (2011), whose
 * output bits each depend on every input bit. Use it for integers: ports, protocols, ids. */
static inline uint64_t floe_distinct_hash_u64(uint64_t x) {
    x += UINT64_C(0x9e3779b97f4a7c15); /* 2^64 / golden ratio */
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* Little-endian whatever the machine: the same bytes hash the same everywhere. Compilers turn
 * this into one load on little-endian machines. */
static inline uint64_t floe_distinct_load_le64(const unsigned char *b) {
    return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
           (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 | (uint64_t)b[6] << 48 |
           (uint64_t)b[7] << 56;
}
static inline uint64_t floe_distinct_load_le32(const unsigned char *b) {
    return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24;
}

/* The 128-bit product folded to 64 bits: every bit of each factor reaches the middle of the
 * product, and the fold brings the high half down onto the low. */
static inline uint64_t floe_distinct_mul_fold(uint64_t a, uint64_t b) {
    __extension__ unsigned __int128 product = (unsigned __int128)a * b; /* GCC and Clang */
    return (uint64_t)product ^ (uint64_t)(product >> 64);
}

/* Hash of n bytes (addresses, strings). Up to 8 bytes the bytes are packed into one word in a
 * way that is one-to-one for each length and then go through floe_distinct_hash_u64, so e.g.
 * two distinct IPv4 addresses never collide. Longer inputs are taken 16 bytes at a time, each
 * pair of words folded into the running state by one 128-bit multiply; the last 16 bytes (which
 * may overlap the ones before) and the length finish it. Constants are hexadecimal digits of pi,
 * chosen for having nothing special about them. */
static inline uint64_t floe_distinct_hash_bytes(const void *p, size_t n) {
    const uint64_t k0 = UINT64_C(0x243f6a8885a308d3), k1 = UINT64_C(0x13198a2e03707344),
                   k2 = UINT64_C(0xa4093822299f31d0);
    const unsigned char *b = (const unsigned char *)p;
    /* The length goes in first, so inputs of different lengths start from different states. */
    uint64_t state = k0 ^ (uint64_t)n * k1;
    if (n <= 8) {
        uint64_t word = 0;
        if (n >= 4) /* first and last four bytes; they overlap below 8 */
            word = floe_distinct_load_le32(b) | floe_distinct_load_le32(b + n - 4) << 32;
        else if (n > 0) /* the three cover every byte of 1..3 */
            word = (uint64_t)b[0] << 16 | (uint64_t)b[n >> 1] << 8 | b[n - 1];
        return floe_distinct_hash_u64(word ^ state);
    }
    const unsigned char *end = b + n;
    for (; end - b > 16; b += 16)
        state = floe_distinct_mul_fold(floe_distinct_load_le64(b) ^ k1,
                                       floe_distinct_load_le64(b + 8) ^ state);
    /* 9..16 bytes left, or (n > 16) the last 16 bytes of the input, which are all in bounds. */
    const unsigned char *tail = n > 16 ? end - 16 : b;
    uint64_t lo = floe_distinct_load_le64(tail), hi = floe_distinct_load_le64(end - 8);
    return floe_distinct_hash_u64(floe_distinct_mul_fold(lo ^ k2, hi ^ state));
}

#endif
