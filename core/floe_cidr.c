#include "floe_cidr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_mem.h"
#include "floe_text.h"

typedef unsigned __int128 u128;

/* Packed to 24 bytes (a million-entry list's array is its largest): unaligned 128-bit loads
 * cost nothing measurable on x86-64. */
typedef struct __attribute__((packed, aligned(8))) prefix {
    u128 first;     /* its first address (the rest is prefix_last) */
    uint32_t len;   /* 0..128 */
    uint32_t index; /* insertion order */
} prefix;

static u128 host_bits_of(unsigned len) {
    return len == 0 ? ~(u128)0 : len == 128 ? 0 : ((u128)1 << (128 - len)) - 1;
}

static u128 prefix_last(const prefix *p) {
    return p->first | host_bits_of(p->len);
}

/* A run of addresses whose innermost covering prefix is `label`. */
typedef struct interval {
    u128 first, last;
    uint32_t label;
} interval;

/* A run within IPv4, in host order: what lookups of IPv4 addresses in a large set search, 12
 * bytes against the 48 of an interval, so a /16's runs share a cache line or a few. */
typedef struct v4_run {
    uint32_t first, last, label;
} v4_run;

#define V4_BUCKETS       65536u /* one per IPv4 /16 */
#define BITMAP_FROM_RUNS 4096   /* sets with more IPv4 runs get the /24 bitmap */
#define SMALL_SET_RUNS   32     /* sets with at most this many IPv4 runs skip the /16 index */

/* Building paints the prefixes into runs, kept in two sorted, disjoint lists: those within IPv4
 * (::ffff:0:0/96) as 12-byte host-order v4_runs, and the others as 128-bit intervals (a run
 * crossing IPv4's edges, from ::/0 say, is in `runs` and its IPv4 part in v4_runs too). A
 * million-entry list is nearly all IPv4, so its runs take a quarter of the memory, and an
 * IPv4 lookup never reads a 128-bit one. The large arrays come from floe_mem (huge pages
 * where the kernel has them): first-touch page faults were a good part of a big list's load. */
struct floe_cidr_set {
    prefix *prefixes;   /* in insertion order until built, then sorted (prefix_cmp); cap of them */
    uint32_t *position; /* built: where the entry added i-th went; count of them */
    size_t count, cap;
    v4_run *v4_runs;
    size_t nv4_runs, v4_cap;
    interval *runs;
    size_t nruns, runs_cap;
    /* Sets of more than SMALL_SET_RUNS IPv4 runs: v4_from[b], the first IPv4 run that ends at
     * or after the start of /16 number b; those touching /16 b are v4_from[b] .. v4_from[b + 1]
     * (that one included when it starts inside b). V4_BUCKETS + 1 entries. A smaller set (the
     * internal ranges, an allow-list) is scanned whole: its runs share a cache line or two,
     * where the index would cost a miss of its own. */
    uint32_t *v4_from;
    /* Sets of more than BITMAP_FROM_RUNS IPv4 runs: bit n set when /24 number n meets a run, so
     * most lookups in a big threat list end at one bit (2 MiB, against a binary search in tens
     * of MB). */
    uint64_t *v4_bits24;
    bool built;
};

static const u128 V4_BASE = (u128)0xffff << 32; /* ::ffff:0.0.0.0 */

static u128 addr_value(const floe_addr *a) {
    uint64_t hi, lo;
    memcpy(&hi, a->bytes, 8);
    memcpy(&lo, a->bytes + 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
#endif
    return (u128)hi << 64 | lo;
}

static void value_addr(u128 v, floe_addr *a) {
    for (int i = 15; i >= 0; i--) {
        a->bytes[i] = (uint8_t)v;
        v >>= 8;
    }
}

floe_cidr_set *floe_cidr_set_new(void) {
    return calloc(1, sizeof(floe_cidr_set));
}

#define BITS24_BYTES ((size_t)(1u << 24) / 8)

void floe_cidr_set_free(floe_cidr_set *set) {
    if (!set) return;
    floe_mem_free(set->prefixes, set->cap * sizeof *set->prefixes);
    floe_mem_free(set->position, set->count * sizeof *set->position);
    floe_mem_free(set->runs, set->runs_cap * sizeof *set->runs);
    floe_mem_free(set->v4_runs, set->v4_cap * sizeof *set->v4_runs);
    free(set->v4_from);
    floe_mem_free(set->v4_bits24, BITS24_BYTES);
    free(set);
}

/* Room for `more` entries. */
static floe_status reserve(floe_cidr_set *set, size_t more) {
    prefix *p = floe_mem_reserve(set->prefixes, &set->cap, set->count + more, sizeof *p, 64);
    if (!p) return FLOE_ERR_NOMEM;
    set->prefixes = p;
    return FLOE_OK;
}

size_t floe_cidr_set_count(const floe_cidr_set *set) {
    return set->count;
}

floe_status floe_cidr_set_add(floe_cidr_set *set, const floe_addr *addr, unsigned len) {
    if (set->built || len > 128) return FLOE_ERR_INVALID;
    if (set->count == UINT32_MAX) return FLOE_ERR_NOMEM;
    if (reserve(set, 1) != FLOE_OK) return FLOE_ERR_NOMEM;
    u128 first = addr_value(addr) & ~host_bits_of(len);
    set->prefixes[set->count] = (prefix){first, len, (uint32_t)set->count};
    set->count++;
    return FLOE_OK;
}

/* floe_cidr_set_add_text, where `readable` bytes from text may be read (a list's line, with the
 * rest of the list after it): IPv4 addresses are then parsed 16 bytes at a time. */
static floe_status add_text(floe_cidr_set *set, const char *text, size_t len, size_t readable) {
    size_t addr_len = 0;
    while (addr_len < len && text[addr_len] != '/')
        addr_len++;
    const char *slash = addr_len < len ? text + addr_len : NULL;
    floe_addr addr;
    if (!floe_addr_parse_v4_wide(text, addr_len, readable, &addr) &&
        !floe_addr_parse(text, addr_len, &addr))
        return FLOE_ERR_FORMAT;
    unsigned max = floe_addr_is_v4(&addr) ? 32 : 128, bits = max;
    if (slash) {
        const char *d = slash + 1, *end = text + len;
        if (d == end || end - d > 3) return FLOE_ERR_FORMAT;
        bits = 0;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9') return FLOE_ERR_FORMAT;
            bits = bits * 10 + (unsigned)(*d - '0');
        }
        if (bits > max) return FLOE_ERR_FORMAT;
    }
    return floe_cidr_set_add(set, &addr, max == 32 ? 96 + bits : bits);
}

floe_status floe_cidr_set_add_text(floe_cidr_set *set, const char *text, size_t len) {
    return add_text(set, text, len, len);
}

typedef struct list_reader {
    floe_cidr_set *set;
    const char *end; /* of the list */
} list_reader;

static floe_status add_text_line(void *ctx, const char *line, size_t len) {
    const list_reader *r = ctx;
    return add_text(r->set, line, len, (size_t)(r->end - line));
}

floe_status floe_cidr_set_add_list(floe_cidr_set *set, const char *text, size_t len,
                                   uint64_t *bad_line) {
    /* Room for a line a byte in 16 (an IPv4 address and its newline take 8 to 16), so a long
     * list does not grow the array a doubling at a time. */
    if (!set->built && reserve(set, len / 16 + 1) != FLOE_OK) return FLOE_ERR_NOMEM;
    list_reader r = {set, text + len};
    return floe_text_each_line(text, len, add_text_line, &r, bad_line);
}

/* Outer prefixes first: by first address, then longest span (shortest length) first, then
 * insertion order, so of two equal entries the earlier one names the range. */
static int prefix_cmp(const void *a, const void *b) {
    const prefix *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* LSD radix sort of n 64-bit keys by their bits from `low_bit` up (stable, so keys equal there
 * keep their order), 10 bits a pass: a pass scatters into 1,024 places, few enough to stay in
 * cache. tmp is scratch; the result is in keys. */
static void radix_sort_u64(uint64_t *keys, uint64_t *tmp, size_t n, unsigned low_bit) {
    size_t count[1024];
    uint64_t *from = keys, *to = tmp;
    for (unsigned shift = low_bit; shift < 64; shift += 10) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[from[i] >> shift & 1023]++;
        if (count[from[0] >> shift & 1023] == n) continue; /* one digit for all: nothing moves */
        size_t sum = 0;
        for (size_t d = 0; d < 1024; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[from[i] >> shift & 1023]++] = from[i];
        uint64_t *t = from;
        from = to;
        to = t;
    }
    if (from != keys) memcpy(keys, from, n * sizeof *keys);
}

/* Sorts the prefixes into prefix_cmp's order, in place. Threat lists are mostly IPv4, up to
 * millions of entries: those are sorted as 64-bit keys (address, length, insertion order) by radix
 * sort, the rest by qsort, and the two runs merged; comparison sorts of 48-byte records took most
 * of a million-entry list's load time. */
static floe_status sort_prefixes(prefix *in, size_t n) {
    prefix *out = in; /* the keys and `rest` hold copies of everything */
    const uint64_t max_index = (UINT64_C(1) << 26) - 1; /* what the key has room for */
    size_t n4 = 0;
    for (size_t i = 0; i < n; i++)
        n4 += in[i].len >= 96 && (in[i].first >> 32) == 0xffff && in[i].index <= max_index;
    const size_t keys_size = (n4 ? n4 : 1) * sizeof(uint64_t);
    uint64_t *keys = floe_mem_scratch(keys_size);
    uint64_t *tmp = floe_mem_scratch(keys_size);
    prefix *rest = malloc((n - n4 ? n - n4 : 1) * sizeof *rest);
    floe_status st = FLOE_OK;
    if (!keys || !tmp || !rest) {
        st = FLOE_ERR_NOMEM;
        goto done;
    }
    size_t k = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i].len >= 96 && (in[i].first >> 32) == 0xffff && in[i].index <= max_index)
            keys[k++] = (uint64_t)(uint32_t)in[i].first << 32 | (uint64_t)(in[i].len - 96) << 26 |
                        in[i].index;
        else
            rest[m++] = in[i];
    }
    /* The keys are in insertion order already: sorting by address and length is enough. */
    if (n4 > 0) radix_sort_u64(keys, tmp, n4, 26);
    qsort(rest, m, sizeof *rest, prefix_cmp);
    /* Merge: an IPv4 key back into a prefix, then the usual order decides. */
    size_t a = 0, b = 0, o = 0;
    while (a < n4 || b < m) {
        prefix p4 = {0};
        if (a < n4) {
            uint32_t v4 = (uint32_t)(keys[a] >> 32), len = (uint32_t)(keys[a] >> 26 & 63);
            p4.first = V4_BASE | v4;
            p4.len = 96 + len;
            p4.index = (uint32_t)(keys[a] & max_index);
        }
        if (b >= m || (a < n4 && prefix_cmp(&p4, &rest[b]) < 0)) {
            out[o++] = p4;
            a++;
        } else {
            out[o++] = rest[b++];
        }
    }
done:
    floe_mem_free(keys, keys_size);
    floe_mem_free(tmp, keys_size);
    free(rest);
    return st;
}

static const u128 V4_LAST = ((u128)0xffff << 32) + 0xffffffffu; /* ::ffff:255.255.255.255 */

static void paint_v4(floe_cidr_set *set, uint32_t first, uint32_t last, uint32_t label) {
    v4_run *prev = set->nv4_runs ? &set->v4_runs[set->nv4_runs - 1] : NULL;
    if (prev && prev->label == label && prev->last != UINT32_MAX && prev->last + 1 == first)
        prev->last = last;
    else
        set->v4_runs[set->nv4_runs++] = (v4_run){first, last, label};
}

/* Appends a run (after every run painted so far), merging it into the one before when they
 * touch and name the same prefix. */
static void paint(floe_cidr_set *set, u128 first, u128 last, uint32_t label) {
    if (last >= V4_BASE && first <= V4_LAST) {
        paint_v4(set, first < V4_BASE ? 0 : (uint32_t)(first - V4_BASE),
                 last > V4_LAST ? UINT32_MAX : (uint32_t)(last - V4_BASE), label);
        if (first >= V4_BASE && last <= V4_LAST) return;
    }
    interval *prev = set->nruns ? &set->runs[set->nruns - 1] : NULL;
    if (prev && prev->label == label && prev->last + 1 == first)
        prev->last = last;
    else
        set->runs[set->nruns++] = (interval){first, last, label};
}

/* A prefix leaves the stack: it paints what is left of it after its nested children, from
 * *next on. *done once the last address of the space is painted (next would wrap). */
static void close_prefix(floe_cidr_set *set, const prefix *top, u128 *next, bool *done) {
    const u128 last = prefix_last(top);
    if (*done || *next > last) return;
    paint(set, *next, last, top->index);
    *done = last == ~(u128)0;
    *next = last + 1;
}

/* The /16 index over the IPv4 runs. */
static floe_status index_v4(floe_cidr_set *set) {
    uint32_t *v4_from = malloc((V4_BUCKETS + 1) * sizeof *v4_from);
    if (!v4_from) return FLOE_ERR_NOMEM;
    size_t r = 0;
    for (uint32_t b = 0; b <= V4_BUCKETS; b++) {
        const uint64_t start = (uint64_t)b << 16;
        while (r < set->nv4_runs && set->v4_runs[r].last < start)
            r++;
        v4_from[b] = (uint32_t)r;
    }
    set->v4_from = v4_from;
    return FLOE_OK;
}

/* The /24 bitmap over the IPv4 runs. */
static floe_status index_v4_bits24(floe_cidr_set *set) {
    uint64_t *bits = floe_mem_alloc(BITS24_BYTES);
    if (!bits) return FLOE_ERR_NOMEM;
    for (size_t i = 0; i < set->nv4_runs; i++) {
        const uint32_t to = set->v4_runs[i].last >> 8;
        for (uint32_t n = set->v4_runs[i].first >> 8;; n++) {
            bits[n >> 6] |= UINT64_C(1) << (n & 63);
            if (n == to) break;
        }
    }
    set->v4_bits24 = bits;
    return FLOE_OK;
}

floe_status floe_cidr_set_build(floe_cidr_set *set) {
    if (set->built) return FLOE_OK;
    /* Prefixes nest or are disjoint, so painting gives at most 2 * count - 1 runs, in either
     * list. Only the pages painted are faulted in. */
    const size_t cap = set->count ? 2 * set->count : 1;
    floe_mem_free(set->runs, set->runs_cap * sizeof *set->runs); /* a build that failed */
    floe_mem_free(set->v4_runs, set->v4_cap * sizeof *set->v4_runs);
    floe_mem_free(set->position, (set->count ? set->count : 1) * sizeof *set->position);
    set->position = NULL;
    free(set->v4_from);
    set->v4_from = NULL;
    floe_mem_free(set->v4_bits24, BITS24_BYTES);
    set->v4_bits24 = NULL;
    /* Sorting first: the pages of its scratch arrays, freed, go to the IPv4 runs (a big list's
     * most painted array; floe_mem keeps freed pages for the next scratch block). The runs are
     * only appended to and read below their count, and every position is set: scratch. */
    floe_status st = sort_prefixes(set->prefixes, set->count);
    if (st != FLOE_OK) return st;
    set->v4_runs = floe_mem_scratch(cap * sizeof *set->v4_runs);
    set->runs = floe_mem_scratch(cap * sizeof *set->runs);
    set->runs_cap = set->v4_cap = cap;
    set->nruns = set->nv4_runs = 0;
    const prefix **stack = malloc((set->count ? set->count : 1) * sizeof *stack);
    uint32_t *position = floe_mem_scratch((set->count ? set->count : 1) * sizeof *position);
    st = set->runs && set->v4_runs && stack && position ? FLOE_OK : FLOE_ERR_NOMEM;
    if (st != FLOE_OK) {
        free(stack);
        floe_mem_free(position, (set->count ? set->count : 1) * sizeof *position);
        return st; /* not built; floe_cidr_set_free frees the rest */
    }

    /* A sweep over the sorted prefixes with the stack of those still open: `next` is the first
     * address not painted yet; each prefix paints what lies between its nested children. */
    size_t depth = 0;
    u128 next = 0;
    bool done = false; /* painted through the last address of the space */
    for (size_t i = 0; i < set->count; i++) {
        const prefix *pr = &set->prefixes[i];
        if (depth > 0 && stack[depth - 1]->first == pr->first && stack[depth - 1]->len == pr->len)
            continue; /* a duplicate: the earlier entry names it */
        while (depth > 0 && prefix_last(stack[depth - 1]) < pr->first)
            close_prefix(set, stack[--depth], &next, &done);
        if (depth > 0 && next < pr->first) paint(set, next, pr->first - 1, stack[depth - 1]->index);
        next = pr->first;
        stack[depth++] = pr;
    }
    while (depth > 0)
        close_prefix(set, stack[--depth], &next, &done);
    free(stack);
    for (size_t i = 0; i < set->count; i++)
        position[set->prefixes[i].index] = (uint32_t)i;
    set->position = position;

    if (set->nv4_runs > SMALL_SET_RUNS) {
        st = index_v4(set);
        if (st == FLOE_OK && set->nv4_runs > BITMAP_FROM_RUNS) st = index_v4_bits24(set);
        if (st != FLOE_OK) return st;
    }
    set->built = true;
    return FLOE_OK;
}

/* name(runs, lo, hi, v): the label of the run among runs[lo, hi) (sorted, disjoint) that holds
 * v, or -1: a binary search for the last run starting at or before v. */
#define DEFINE_LABEL_OF(name, type, value_type)                                                    \
    static long name(const type *runs, size_t lo, size_t hi, value_type v) {                       \
        if (lo >= hi) return -1;                                                                   \
        while (hi - lo > 1) {                                                                      \
            size_t mid = lo + (hi - lo) / 2;                                                       \
            if (runs[mid].first <= v)                                                              \
                lo = mid;                                                                          \
            else                                                                                   \
                hi = mid;                                                                          \
        }                                                                                          \
        return runs[lo].first <= v && v <= runs[lo].last ? (long)runs[lo].label : -1;              \
    }
DEFINE_LABEL_OF(v4_label_of, v4_run, uint32_t)
DEFINE_LABEL_OF(label_of, interval, u128)

long floe_cidr_set_lookup(const floe_cidr_set *set, const floe_addr *addr) {
    if (floe_addr_is_v4(addr)) {
        const uint32_t v4 = floe_addr_to_v4(addr);
        if (set->nv4_runs <= SMALL_SET_RUNS) {
            for (size_t k = 0; k < set->nv4_runs; k++)
                if (set->v4_runs[k].first <= v4 && v4 <= set->v4_runs[k].last)
                    return (long)set->v4_runs[k].label;
            return -1;
        }
        if (set->v4_bits24 && !(set->v4_bits24[v4 >> 14] >> (v4 >> 8 & 63) & 1)) return -1;
        const size_t hi = set->v4_from[(v4 >> 16) + 1] + 1;
        return v4_label_of(set->v4_runs, set->v4_from[v4 >> 16],
                           hi < set->nv4_runs ? hi : set->nv4_runs, v4);
    }
    return label_of(set->runs, 0, set->nruns, addr_value(addr));
}

void floe_cidr_set_entry_text(const floe_cidr_set *set, size_t i, char *out) {
    const prefix *pr = &set->prefixes[set->built ? set->position[i] : i];
    floe_addr a;
    value_addr(pr->first, &a);
    size_t n = floe_addr_format(&a, out);
    unsigned len = pr->len;
    if (floe_addr_is_v4(&a) && len >= 96) len -= 96;
    snprintf(out + n, FLOE_CIDR_STRLEN - n, "/%u", len);
}

/* name(a, na, b, nb): whether two sorted, disjoint lists of runs (`first`, `last` inclusive)
 * share an address, by one walk along both. */
#define DEFINE_RUNS_MEET(name, type)                                                               \
    static bool name(const type *a, size_t na, const type *b, size_t nb) {                         \
        for (size_t i = 0, j = 0; i < na && j < nb;) {                                             \
            if (a[i].last < b[j].first)                                                            \
                i++;                                                                               \
            else if (b[j].last < a[i].first)                                                       \
                j++;                                                                               \
            else                                                                                   \
                return true;                                                                       \
        }                                                                                          \
        return false;                                                                              \
    }
DEFINE_RUNS_MEET(v4_runs_meet, v4_run)
DEFINE_RUNS_MEET(runs_meet, interval)

/* IPv4 parts meet only IPv4 parts, and the rest only the rest: a run crossing IPv4's edges has
 * its IPv4 part in the IPv4 list too. */
bool floe_cidr_set_overlaps(const floe_cidr_set *a, const floe_cidr_set *b) {
    return v4_runs_meet(a->v4_runs, a->nv4_runs, b->v4_runs, b->nv4_runs) ||
           runs_meet(a->runs, a->nruns, b->runs, b->nruns);
}
