/* floe_detect_probes.c: the probe log (floe_detect_tables.h), the raw material of Portscan and
 * PortSweep: appended to per thread, folded to one item per distinct (window, src, dst, proto,
 * port), joined after the run.
 *
 * Why a log and not a hash table: most probes are one-offs (an internet scanner sends one
 * packet a host), so a table would pay a group each; appending 80 bytes and sorting once is
 * cheaper. Why it stays bounded: a log that fills its array past FLOE_PROBE_FOLD_FROM items is
 * folded in place before it grows, so it holds at most twice the distinct probes (or the fold
 * threshold), however many records repeat them. Folding sums counters and keeps minima and
 * maxima, so the result does not depend on when, or on which thread, a probe was folded.
 *
 * The arrays come from floe_mem: on our VMs first-touch page faults of malloc'd arrays this
 * size cost more than filling them. */
#include <stdlib.h>
#include <string.h>

#include "floe_batch.h"
#include "floe_detect_tables.h"
#include "floe_mem.h"
#include "floe_sort.h"

int floe_probe_cmp(const floe_probe *x, const floe_probe *y) {
    if (x->window != y->window) return x->window < y->window ? -1 : 1;
    int c = floe_addr_cmp(&x->src, &y->src);
    if (c) return c;
    if ((c = floe_addr_cmp(&x->dst, &y->dst))) return c;
    if (x->proto != y->proto) return x->proto < y->proto ? -1 : 1;
    return (x->port > y->port) - (x->port < y->port);
}

static inline bool probe_less(const floe_probe *x, const floe_probe *y) {
    return floe_probe_cmp(x, y) < 0;
}

/* Equal probes are folded after, so the order among them does not matter. */
FLOE_SORT_DEFINE(sort_probes, floe_probe, probe_less)

void floe_probe_log_free(floe_probe_log *log) {
    floe_mem_free(log->items, log->cap * sizeof *log->items);
    *log = (floe_probe_log){.fold_from = log->fold_from};
}

static floe_status reserve(floe_probe_log *log, size_t more) {
    floe_probe *grown = floe_mem_reserve(log->items, &log->cap, log->n + more, sizeof *grown, 1024);
    if (!grown) return FLOE_ERR_NOMEM;
    log->items = grown;
    return FLOE_OK;
}

floe_probe *floe_probe_log_append(floe_probe_log *log) {
    if (log->n == log->cap && log->fold_from > 0 && log->n >= log->fold_from) {
        /* Fold before growing; grow only if that did not free half the array. */
        if (floe_probe_log_fold(log) != FLOE_OK) return NULL;
        if (log->n < log->cap / 2) return &log->items[log->n++];
    }
    return reserve(log, 1) == FLOE_OK ? &log->items[log->n++] : NULL;
}

floe_status floe_probe_log_take(floe_probe_log *into, floe_probe_log *from) {
    if (from->n == 0) return FLOE_OK;
    if (into->n == 0) {
        /* The arrays change hands: no copy, and `from` keeps memory for what comes next. */
        floe_probe *items = into->items;
        const size_t cap = into->cap;
        into->items = from->items;
        into->cap = from->cap;
        into->n = from->n;
        from->items = items;
        from->cap = cap;
    } else {
        floe_status st = reserve(into, from->n);
        if (st != FLOE_OK) return st;
        memcpy(into->items + into->n, from->items, from->n * sizeof *from->items);
        into->n += from->n;
    }
    from->n = 0;
    return FLOE_OK;
}

/* A probe's place in floe_probe_cmp's order as two words, for the IPv4 probes that are nearly
 * all of them: sorting 24-byte keys is much cheaper than sorting the 80-byte probes. */
typedef struct probe_key {
    uint64_t a; /* window (seconds, 32 bits) and src */
    uint64_t b; /* dst, proto, port */
    uint32_t index;
} probe_key;

static inline bool probe_key_less(const probe_key *p, const probe_key *q) {
    if (p->a != q->a) return p->a < q->a;
    if (p->b != q->b) return p->b < q->b;
    return p->index < q->index;
}

FLOE_SORT_DEFINE(sort_probe_keys, probe_key, probe_key_less)

static bool keyed(const floe_probe *p) {
    return floe_addr_is_v4(&p->src) && floe_addr_is_v4(&p->dst) && p->window >= 0 &&
           p->window <= (int64_t)UINT32_MAX;
}

/* The log in floe_probe_cmp's order, except that IPv4 probes come before the others (which
 * keeps every run the findings walk together: a run never mixes address families). The keys
 * are sorted, then the probes moved into place along the permutation's cycles: in place, as a
 * second array of probes would be tens of MB more to fault in. */
static floe_status sort_log(floe_probe_log *log) {
    if (log->n >= UINT32_MAX) return FLOE_ERR_NOMEM; /* the keys' index */
    probe_key *keys = floe_mem_scratch((log->n ? log->n : 1) * sizeof *keys);
    if (!keys) return FLOE_ERR_NOMEM;
    floe_probe *p = log->items;
    /* IPv4 probes first (keyed), in their order; the rest after, sorted whole. */
    size_t nkeys = 0;
    for (size_t i = 0; i < log->n; i++)
        if (keyed(&p[i])) {
            if (nkeys != i) {
                floe_probe t = p[nkeys];
                p[nkeys] = p[i];
                p[i] = t;
            }
            keys[nkeys] =
                (probe_key){(uint64_t)p[nkeys].window << 32 | floe_addr_to_v4(&p[nkeys].src),
                            (uint64_t)floe_addr_to_v4(&p[nkeys].dst) << 32 |
                                (uint64_t)p[nkeys].proto << 16 | p[nkeys].port,
                            (uint32_t)nkeys};
            nkeys++;
        }
    sort_probes(p + nkeys, log->n - nkeys);
    sort_probe_keys(keys, nkeys);
    /* Position k takes the probe now at keys[k].index. Follow each cycle once, marking the
     * positions done with index UINT32_MAX. */
    for (size_t k = 0; k < nkeys; k++) {
        if (keys[k].index == UINT32_MAX || keys[k].index == k) continue;
        const floe_probe first = p[k];
        size_t at = k;
        while (keys[at].index != k) {
            const size_t from = keys[at].index;
            p[at] = p[from];
            keys[at].index = UINT32_MAX;
            at = from;
        }
        p[at] = first;
        keys[at].index = UINT32_MAX;
    }
    floe_mem_free(keys, (log->n ? log->n : 1) * sizeof *keys);
    return FLOE_OK;
}

floe_status floe_probe_log_fold(floe_probe_log *log) {
    if (log->n == 0) return FLOE_OK;
    floe_status st = sort_log(log);
    if (st != FLOE_OK) return st;
    size_t out = 0;
    for (size_t i = 1; i < log->n; i++) {
        floe_probe *k = &log->items[out];
        const floe_probe *p = &log->items[i];
        if (floe_probe_cmp(k, p) != 0) {
            log->items[++out] = *p;
            continue;
        }
        k->flows = k->flows + p->flows < k->flows ? UINT32_MAX : k->flows + p->flows;
        k->rejected =
            k->rejected + p->rejected < k->rejected ? UINT32_MAX : k->rejected + p->rejected;
        k->packets = floe_counter_add(k->packets, p->packets);
        k->bytes = floe_counter_add(k->bytes, p->bytes);
        if (p->first < k->first) k->first = p->first;
        if (p->last > k->last) k->last = p->last;
    }
    log->n = out + 1;
    return FLOE_OK;
}
