#include "floe_distinct.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define M            FLOE_DISTINCT_REGISTERS
#define Q            (64 - FLOE_DISTINCT_P) /* hash bits left for the rank */
#define RANK_MAX     (Q + 1)                /* 53: a register holds 0..53 */
#define HLL          UINT32_MAX             /* capacity of a HyperLogLog sketch */
#define EXACT_MAX    FLOE_DISTINCT_EXACT_MAX
#define WIRE_HEADER  3
#define WIRE_EXACT   0
#define WIRE_HLL     1
#define PACKED_BYTES (M * 6 / 8)

_Static_assert(M % 4 == 0, "registers pack four to three bytes");
_Static_assert(RANK_MAX < 64, "a rank fits six bits");
_Static_assert(EXACT_MAX < 256, "the exact count is one byte on the wire");
_Static_assert(FLOE_DISTINCT_SERIALIZED_MAX == WIRE_HEADER + PACKED_BYTES, "the HLL wire size");
_Static_assert(sizeof(floe_distinct) == 16, "one sketch per group and field: keep it small");

/* ---- HyperLogLog --------------------------------------------------------------------------
 *
 * The top p bits of the hash pick the register; the rank is one more than the number of leading
 * zeros in the other q = 64 - p bits, q + 1 when they are all zero (Ertl's definition, which his
 * estimator assumes). The sentinel bit just below the q bits stops the count there. */

static inline void hll_add(uint8_t *registers, uint64_t hash) {
    uint8_t rank =
        (uint8_t)(__builtin_clzll(hash << FLOE_DISTINCT_P | 1u << (FLOE_DISTINCT_P - 1)) + 1);
    uint8_t *r = &registers[hash >> Q];
    if (rank > *r) *r = rank;
}

/* r = max(r, s) per register. restrict on the parameters (GCC ignores it on locals) lets the
 * compiler use 16-byte max instructions instead of checking for overlap. */
static void hll_max(uint8_t *restrict r, const uint8_t *restrict s) {
    for (uint32_t i = 0; i < M; i++)
        r[i] = s[i] > r[i] ? s[i] : r[i];
}

/* Registers holding each rank 0..RANK_MAX. Four partial histograms: neighbouring registers
 * often hold the same rank, and one array would make each increment wait for the last. */
static void hll_histogram(const uint8_t *registers, uint32_t counts[RANK_MAX + 1]) {
    uint32_t part[4][RANK_MAX + 1];
    memset(part, 0, sizeof(part));
    for (uint32_t i = 0; i < M; i += 4) {
        part[0][registers[i]]++;
        part[1][registers[i + 1]]++;
        part[2][registers[i + 2]]++;
        part[3][registers[i + 3]]++;
    }
    for (uint32_t k = 0; k <= RANK_MAX; k++)
        counts[k] = part[0][k] + part[1][k] + part[2][k] + part[3][k];
}

/* Ertl's sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1): the share of the estimate that empty
 * registers stand for. Sums until the terms no longer change the double. */
static double ertl_sigma(double x) {
    if (x == 1.0) return INFINITY;
    double y = 1.0, z = x, previous;
    do {
        x *= x;
        previous = z;
        z += x * y;
        y += y;
    } while (z != previous);
    return z;
}

/* Ertl's tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3: the correction for registers
 * at the largest rank, whose true rank may have been cut off. */
static double ertl_tau(double x) {
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0, z = 1.0 - x, previous;
    do {
        x = sqrt(x);
        previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != previous);
    return z / 3.0;
}

static double hll_estimate_ertl(const uint8_t *registers) {
    uint32_t c[RANK_MAX + 1];
    hll_histogram(registers, c);
    const double m = M;
    double z = m * ertl_tau(1.0 - c[RANK_MAX] / m);
    for (int k = Q; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += m * ertl_sigma(c[0] / m);
    /* alpha_inf = 1 / (2 ln 2), written out so that no libm's log() can change the result */
    return 0.72134752044448170 * m * m / z;
}

static double hll_estimate_classic(const uint8_t *registers) {
    uint32_t c[RANK_MAX + 1];
    hll_histogram(registers, c);
    const double m = M;
    /* sum over registers of 2^-rank, summed by rank so the order is fixed */
    double sum = 0.0;
    for (int k = RANK_MAX; k >= 0; k--)
        sum += c[k] * ldexp(1.0, -k);
    double alpha = 0.7213 / (1.0 + 1.079 / m);
    double raw = alpha * m * m / sum;
    if (raw <= 2.5 * m && c[0] > 0) return m * log(m / c[0]);
    return raw;
}

/* A sketch is a HyperLogLog only once its set has more than EXACT_MAX members, so an estimate
 * below that is known to be low (33 hashes with two in one register read 32): clamping keeps
 * the count from stepping back when the sketch is promoted. */
static uint64_t round_estimate(double e) {
    if (!(e < 0x1p64)) return UINT64_MAX; /* only a forged sketch, all registers at rank 53 */
    uint64_t rounded = (uint64_t)(e + 0.5);
    return rounded > EXACT_MAX ? rounded : EXACT_MAX + 1;
}

/* A HyperLogLog holding `base` (or nothing when NULL) and the n hashes of `values`. */
static uint8_t *hll_new(const uint8_t *base, const uint64_t *values, uint32_t n) {
    uint8_t *registers = base ? malloc(M) : calloc(M, 1);
    if (registers == NULL) return NULL;
    if (base) memcpy(registers, base, M);
    for (uint32_t i = 0; i < n; i++)
        hll_add(registers, values[i]);
    return registers;
}

/* ---- the exact set --------------------------------------------------------------------------- */

static inline bool is_hll(const floe_distinct *d) {
    return d->capacity == HLL;
}

/* The exact hashes, wherever they live (count of them valid). */
static inline const uint64_t *exact_values(const floe_distinct *d) {
    return d->capacity == 0 ? &d->u.one : d->u.values;
}

/* Slots to allocate for n hashes: powers of two from 4, so adds reallocate three times at most. */
static uint32_t capacity_for(uint32_t n) {
    uint32_t capacity = 4;
    while (capacity < n)
        capacity *= 2;
    return capacity;
}

/* The first index whose hash is >= hash, n >= 1. Branch-free halving: the comparisons depend on
 * the data and would mispredict half the time; there are at most five of them. */
static inline uint32_t lower_bound(const uint64_t *values, uint32_t n, uint64_t hash) {
    const uint64_t *base = values;
    while (n > 1) {
        uint32_t half = n / 2;
        base = base[half] < hash ? base + half : base;
        n -= half;
    }
    return (uint32_t)(base - values) + (*base < hash);
}

/* Replaces d's exact set by the n sorted hashes of `values` (n <= EXACT_MAX), which may not
 * point into d. */
static floe_status set_exact(floe_distinct *d, const uint64_t *values, uint32_t n) {
    assert(!is_hll(d) && n <= EXACT_MAX);
    if (d->capacity == 0 && n <= 1) {
        if (n == 1) d->u.one = values[0];
    } else {
        if (n > d->capacity) {
            uint32_t capacity = capacity_for(n);
            uint64_t *grown = d->capacity == 0 ? malloc(capacity * sizeof(uint64_t))
                                               : realloc(d->u.values, capacity * sizeof(uint64_t));
            if (grown == NULL) return FLOE_ERR_NOMEM;
            d->u.values = grown;
            d->capacity = capacity;
        }
        memcpy(d->u.values, values, n * sizeof(uint64_t));
    }
    d->count = n;
    return FLOE_OK;
}

/* Turns d into a HyperLogLog of `registers` (owned from now on). */
static void become_hll(floe_distinct *d, uint8_t *registers) {
    if (d->capacity != 0 && !is_hll(d)) free(d->u.values);
    d->u.registers = registers;
    d->count = 0;
    d->capacity = HLL;
}

/* ---- the API --------------------------------------------------------------------------------- */

void floe_distinct_init(floe_distinct *d) {
    memset(d, 0, sizeof(*d));
}

void floe_distinct_free(floe_distinct *d) {
    if (d->capacity != 0) free(is_hll(d) ? (void *)d->u.registers : (void *)d->u.values);
    floe_distinct_init(d);
}

floe_status floe_distinct_add(floe_distinct *d, uint64_t hash) {
    if (is_hll(d)) {
        hll_add(d->u.registers, hash);
        return FLOE_OK;
    }
    uint32_t n = d->count;
    if (d->capacity == 0) {
        if (n == 0) {
            d->u.one = hash;
            d->count = 1;
            return FLOE_OK;
        }
        if (d->u.one == hash) return FLOE_OK;
        uint64_t two[2] = {d->u.one, hash};
        if (hash < d->u.one) {
            two[0] = hash;
            two[1] = d->u.one;
        }
        return set_exact(d, two, 2);
    }
    uint64_t *values = d->u.values;
    uint32_t at = lower_bound(values, n, hash);
    if (at < n && values[at] == hash) return FLOE_OK;
    if (n == EXACT_MAX) {
        /* The set now has EXACT_MAX + 1 members: the same moment every other path promotes. */
        uint8_t *registers = hll_new(NULL, values, n);
        if (registers == NULL) return FLOE_ERR_NOMEM;
        hll_add(registers, hash);
        become_hll(d, registers);
        return FLOE_OK;
    }
    if (n == d->capacity) {
        uint32_t capacity = d->capacity * 2;
        values = realloc(values, capacity * sizeof(uint64_t));
        if (values == NULL) return FLOE_ERR_NOMEM;
        d->u.values = values;
        d->capacity = capacity;
    }
    memmove(values + at + 1, values + at, (n - at) * sizeof(uint64_t));
    values[at] = hash;
    d->count = n + 1;
    return FLOE_OK;
}

floe_status floe_distinct_merge(floe_distinct *into, const floe_distinct *from) {
    if (into == from) return FLOE_OK; /* a set united with itself */
    if (is_hll(into)) {
        if (is_hll(from)) {
            hll_max(into->u.registers, from->u.registers);
        } else {
            const uint64_t *values = exact_values(from);
            for (uint32_t i = 0; i < from->count; i++)
                hll_add(into->u.registers, values[i]);
        }
        return FLOE_OK;
    }
    if (is_hll(from)) {
        uint8_t *registers = hll_new(from->u.registers, exact_values(into), into->count);
        if (registers == NULL) return FLOE_ERR_NOMEM;
        become_hll(into, registers);
        return FLOE_OK;
    }
    /* Both exact: the sorted union, promoted iff it has more than EXACT_MAX members. */
    const uint64_t *a = exact_values(into), *b = exact_values(from);
    uint32_t na = into->count, nb = from->count, i = 0, j = 0, n = 0;
    uint64_t all[2 * EXACT_MAX];
    while (i < na && j < nb) {
        uint64_t x = a[i], y = b[j];
        all[n++] = x < y ? x : y;
        i += x <= y;
        j += y <= x;
    }
    while (i < na)
        all[n++] = a[i++];
    while (j < nb)
        all[n++] = b[j++];
    if (n <= EXACT_MAX) return set_exact(into, all, n);
    uint8_t *registers = hll_new(NULL, all, n);
    if (registers == NULL) return FLOE_ERR_NOMEM;
    become_hll(into, registers);
    return FLOE_OK;
}

uint64_t floe_distinct_estimate(const floe_distinct *d) {
    return is_hll(d) ? round_estimate(hll_estimate_ertl(d->u.registers)) : d->count;
}

uint64_t floe_distinct_estimate_classic(const floe_distinct *d) {
    return is_hll(d) ? round_estimate(hll_estimate_classic(d->u.registers)) : d->count;
}

bool floe_distinct_is_exact(const floe_distinct *d) {
    return !is_hll(d);
}

size_t floe_distinct_heap_bytes(const floe_distinct *d) {
    return is_hll(d) ? M : (size_t)d->capacity * sizeof(uint64_t);
}

/* ---- wire format ----------------------------------------------------------------------------- */

size_t floe_distinct_serialized_size(const floe_distinct *d) {
    return is_hll(d) ? FLOE_DISTINCT_SERIALIZED_MAX : WIRE_HEADER + (size_t)d->count * 8;
}

size_t floe_distinct_serialize(const floe_distinct *d, uint8_t *out) {
    out[0] = FLOE_DISTINCT_WIRE_VERSION;
    if (is_hll(d)) {
        out[1] = WIRE_HLL;
        out[2] = FLOE_DISTINCT_P;
        const uint8_t *r = d->u.registers;
        uint8_t *o = out + WIRE_HEADER;
        for (uint32_t i = 0; i < M; i += 4, o += 3) {
            uint32_t four = (uint32_t)r[i] | (uint32_t)r[i + 1] << 6 | (uint32_t)r[i + 2] << 12 |
                            (uint32_t)r[i + 3] << 18;
            o[0] = (uint8_t)four;
            o[1] = (uint8_t)(four >> 8);
            o[2] = (uint8_t)(four >> 16);
        }
        return FLOE_DISTINCT_SERIALIZED_MAX;
    }
    out[1] = WIRE_EXACT;
    out[2] = (uint8_t)d->count;
    const uint64_t *values = exact_values(d);
    for (uint32_t i = 0; i < d->count; i++)
        for (int byte = 0; byte < 8; byte++)
            out[WIRE_HEADER + 8 * i + byte] = (uint8_t)(values[i] >> (8 * byte));
    return WIRE_HEADER + (size_t)d->count * 8;
}

static floe_status deserialize_hll(const uint8_t *in, size_t n, floe_distinct *out) {
    if (in[2] != FLOE_DISTINCT_P || n != FLOE_DISTINCT_SERIALIZED_MAX) return FLOE_ERR_CORRUPT;
    uint8_t *registers = malloc(M);
    if (registers == NULL) return FLOE_ERR_NOMEM;
    const uint8_t *p = in + WIRE_HEADER;
    uint8_t largest = 0;
    bool bad = false;
    for (uint32_t i = 0; i < M; i += 4, p += 3) {
        uint32_t four = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
        for (uint32_t k = 0; k < 4; k++) {
            uint8_t rank = (uint8_t)(four >> (6 * k) & 63);
            bad |= rank > RANK_MAX;
            largest = rank > largest ? rank : largest;
            registers[i + k] = rank;
        }
    }
    /* A HyperLogLog holds more than EXACT_MAX hashes, and every hash leaves a rank >= 1. */
    if (bad || largest == 0) {
        free(registers);
        return FLOE_ERR_CORRUPT;
    }
    out->u.registers = registers;
    out->capacity = HLL;
    return FLOE_OK;
}

floe_status floe_distinct_deserialize(const uint8_t *in, size_t n, floe_distinct *out) {
    floe_distinct_init(out);
    if (n < WIRE_HEADER || in[0] != FLOE_DISTINCT_WIRE_VERSION) return FLOE_ERR_CORRUPT;
    if (in[1] == WIRE_HLL) return deserialize_hll(in, n, out);
    uint32_t count = in[2];
    if (in[1] != WIRE_EXACT || count > EXACT_MAX || n != WIRE_HEADER + (size_t)count * 8)
        return FLOE_ERR_CORRUPT;
    uint64_t values[EXACT_MAX];
    for (uint32_t i = 0; i < count; i++) {
        values[i] = floe_distinct_load_le64(in + WIRE_HEADER + 8 * i);
        /* Strictly ascending: the one encoding of the set, and what lower_bound relies on. */
        if (i > 0 && values[i] <= values[i - 1]) return FLOE_ERR_CORRUPT;
    }
    return set_exact(out, values, count);
}
