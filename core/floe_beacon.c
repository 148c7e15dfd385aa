#include "floe_beacon.h"

#include <stdlib.h>
#include <string.h>

#include "floe_mem.h"
#include "floe_sort.h"

/* A source port's last connection, while a later record may still continue it. */
typedef struct open_chain {
    int64_t end;
    int32_t sport;
} open_chain;

/* A set's entry in its log: the record's entry and its pair (the entry's padding holds it). */
typedef struct logged {
    int64_t start, end;
    int32_t sport;
    uint32_t pair;
} logged;

/* A pair's state; its key is in the set's keys[] at the same index. */
typedef struct pair {
    bool saturated;
    uint32_t n; /* a set's: its entries in the log; a history's: entries in this fold */
    /* A set's. */
    uint32_t history;          /* index + 1 of its pair in the history, once folded */
    floe_agg_measures traffic; /* since the last fold */
    /* A history's. */
    size_t at; /* where this fold's entries go in the scratch */
    floe_beacon_stats stats;
    uint32_t nchains, chains_cap;
    open_chain *chains; /* by source port */
} pair;

struct floe_beacon_set {
    uint32_t max_per_pair;
    /* The pairs' keys apart from the rest, densely: a lookup's probes read only these (about
     * half a megabyte for twelve thousand pairs, which stays in cache), then its pair. */
    floe_beacon_key *keys; /* floe_mem, keys_cap of them */
    pair *pairs;           /* floe_mem, pairs_cap of them */
    size_t npairs, pairs_cap, keys_cap;
    uint32_t *slots; /* pair index + 1; 0 is empty; a power of two */
    size_t nslots;
    /* A set's entries, in arrival order, all pairs in one log: appending is a store, not a
     * per-pair array to grow, and the log stays in the memory it has once a fold empties it. */
    logged *log; /* floe_mem, log_cap of them */
    size_t nlog, log_cap;
    /* A history's scratch for floe_beacon_fold, kept from one fold to the next: the entries
     * being folded, pair by pair, and new open chains. */
    floe_beacon_entry *folding; /* floe_mem */
    size_t folding_cap;
    open_chain *chains;
    uint32_t chains_cap;
};

/* Records continuing a connection start within this many seconds of its end. */
#define CONTINUE_WITHIN 60

/* A key's words: the two addresses as four, the port and protocol as a fifth. */
static inline void key_words(const floe_beacon_key *k, uint64_t w[5]) {
    memcpy(&w[0], k->src.bytes, 16);
    memcpy(&w[2], k->dst.bytes, 16);
    w[4] = (uint64_t)k->port << 8 | k->proto;
}

/* Multiply-xor over the words, then a final mix: every request looks its pair up, so this is
 * kept to a few multiplications. */
static uint64_t key_hash(const floe_beacon_key *k) {
    uint64_t w[5];
    key_words(k, w);
    uint64_t h = (w[0] ^ UINT64_C(0x9e3779b97f4a7c15)) * UINT64_C(0xbf58476d1ce4e5b9);
    h ^= (w[1] + h) * UINT64_C(0x94d049bb133111eb);
    h ^= (w[2] + (h >> 29)) * UINT64_C(0xbf58476d1ce4e5b9);
    h ^= (w[3] + (h >> 31)) * UINT64_C(0x94d049bb133111eb);
    h ^= (w[4] + (h >> 27)) * UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 32);
}

static inline bool key_equal(const floe_beacon_key *a, const floe_beacon_key *b) {
    uint64_t x[5], y[5];
    key_words(a, x);
    key_words(b, y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

floe_beacon_set *floe_beacon_set_new(uint32_t max_per_pair) {
    floe_beacon_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->max_per_pair = max_per_pair;
    s->nslots = 1024;
    if (!(s->slots = calloc(s->nslots, sizeof *s->slots))) {
        free(s);
        return NULL;
    }
    return s;
}

void floe_beacon_set_free(floe_beacon_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->npairs; i++)
        free(s->pairs[i].chains);
    floe_mem_free(s->pairs, s->pairs_cap * sizeof *s->pairs);
    floe_mem_free(s->keys, s->keys_cap * sizeof *s->keys);
    floe_mem_free(s->log, s->log_cap * sizeof *s->log);
    floe_mem_free(s->folding, s->folding_cap * sizeof *s->folding);
    free(s->slots);
    free(s->chains);
    free(s);
}

static size_t slot_of(const floe_beacon_set *s, const floe_beacon_key *k) {
    size_t mask = s->nslots - 1, i = (size_t)key_hash(k) & mask;
    while (s->slots[i] && !key_equal(&s->keys[s->slots[i] - 1], k))
        i = (i + 1) & mask;
    return i;
}

static floe_status grow_slots(floe_beacon_set *s) {
    size_t nslots = s->nslots * 2;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return FLOE_ERR_NOMEM;
    free(s->slots);
    s->slots = slots;
    s->nslots = nslots;
    for (size_t p = 0; p < s->npairs; p++)
        s->slots[slot_of(s, &s->keys[p])] = (uint32_t)(p + 1);
    return FLOE_OK;
}

static const pair *find_pair(const floe_beacon_set *s, const floe_beacon_key *key) {
    size_t i = slot_of(s, key);
    return s->slots[i] ? &s->pairs[s->slots[i] - 1] : NULL;
}

/* The pair for key, created when new; NULL when out of memory. */
static pair *pair_of(floe_beacon_set *s, const floe_beacon_key *key) {
    size_t i = slot_of(s, key);
    if (s->slots[i]) return &s->pairs[s->slots[i] - 1];
    if (s->npairs >= UINT32_MAX - 1) return NULL;
    if ((s->npairs + 1) * 2 > s->nslots) {
        if (grow_slots(s) != FLOE_OK) return NULL;
        i = slot_of(s, key);
    }
    pair *pairs = floe_mem_reserve(s->pairs, &s->pairs_cap, s->npairs + 1, sizeof *pairs, 256);
    if (!pairs) return NULL;
    s->pairs = pairs;
    floe_beacon_key *keys =
        floe_mem_reserve(s->keys, &s->keys_cap, s->npairs + 1, sizeof *keys, 256);
    if (!keys) return NULL;
    s->keys = keys;
    s->keys[s->npairs] = *key;
    pair *p = &s->pairs[s->npairs++];
    memset(p, 0, sizeof *p);
    floe_agg_measures_empty(&p->traffic);
    floe_agg_measures_empty(&p->stats.traffic);
    s->slots[i] = (uint32_t)s->npairs;
    return p;
}

/* Too busy to be a beacon: its entries are no longer kept (those in a set's log are skipped). */
static void saturate(pair *p) {
    free(p->chains);
    p->chains = NULL;
    p->nchains = p->chains_cap = 0;
    p->n = 0;
    p->saturated = true;
    p->stats.saturated = true;
}

floe_status floe_beacon_add(floe_beacon_set *s, const floe_beacon_key *key,
                            const floe_agg_measures *traffic, const floe_beacon_entry *entry) {
    pair *p = pair_of(s, key);
    if (!p) return FLOE_ERR_NOMEM;
    floe_agg_measures_add(&p->traffic, traffic);
    if (!entry || p->saturated) return FLOE_OK;
    if (p->n + 1 > s->max_per_pair) {
        saturate(p);
        return FLOE_OK;
    }
    logged *log = floe_mem_reserve(s->log, &s->log_cap, s->nlog + 1, sizeof *log, 4096);
    if (!log) return FLOE_ERR_NOMEM;
    s->log = log;
    s->log[s->nlog++] = (logged){entry->start, entry->end, entry->sport, (uint32_t)(p - s->pairs)};
    p->n++;
    return FLOE_OK;
}

size_t floe_beacon_waiting(const floe_beacon_set *s, int64_t *earliest) {
    size_t n = 0;
    *earliest = INT64_MAX;
    for (size_t i = 0; i < s->nlog; i++) {
        if (s->pairs[s->log[i].pair].saturated) continue;
        n++;
        if (s->log[i].start < *earliest) *earliest = s->log[i].start;
    }
    return n;
}

bool floe_beacon_saturated(const floe_beacon_set *s, const floe_beacon_key *key) {
    const pair *p = find_pair(s, key);
    return p && p->saturated;
}

size_t floe_beacon_count(const floe_beacon_set *history) {
    return history->npairs;
}

void floe_beacon_pair_at(const floe_beacon_set *history, size_t i, floe_beacon_key *key,
                         floe_beacon_stats *stats) {
    *key = history->keys[i];
    *stats = history->pairs[i].stats;
}

bool floe_beacon_stats_of(const floe_beacon_set *history, const floe_beacon_key *key,
                          floe_beacon_stats *out) {
    const pair *p = find_pair(history, key);
    if (!p) return false;
    *out = p->stats;
    return true;
}

/* ---- folding ---- */

/* Ties are harmless: equal by (sport, start, end) means equal, and of entries equal by
 * (start, sport) only the starts are read after. */
static inline bool less_by_sport_start(const floe_beacon_entry *x, const floe_beacon_entry *y) {
    if (x->sport != y->sport) return x->sport < y->sport;
    if (x->start != y->start) return x->start < y->start;
    return x->end < y->end;
}

static inline bool less_by_start(const floe_beacon_entry *x, const floe_beacon_entry *y) {
    if (x->start != y->start) return x->start < y->start;
    return x->sport < y->sport;
}

FLOE_SORT_DEFINE(sort_by_sport_start, floe_beacon_entry, less_by_sport_start)
FLOE_SORT_DEFINE(sort_by_start, floe_beacon_entry, less_by_start)

/* Appends c to the history's scratch of new open chains (n of them so far). */
static bool push_chain(floe_beacon_set *h, uint32_t *n, open_chain c) {
    if (*n == h->chains_cap) {
        uint32_t cap = h->chains_cap ? h->chains_cap * 2 : 64;
        open_chain *grown = realloc(h->chains, cap * sizeof *grown);
        if (!grown) return false;
        h->chains = grown;
        h->chains_cap = cap;
    }
    h->chains[(*n)++] = c;
    return true;
}

/* Folds history pair p's entries e[0, n) (all starting before horizon, after every entry
 * folded before) into its statistics: the connections among them, continuing the open chains,
 * in start order. The open chains left are those a record at or after the horizon could
 * continue. */
static floe_status fold_pair(floe_beacon_set *h, pair *p, floe_beacon_entry *e, size_t n,
                             int64_t horizon) {
    sort_by_sport_start(e, n);
    uint32_t nchains = 0; /* the new open chains, by source port, in h->chains */
    size_t heads = 0, c = 0;
    int64_t chain_end = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        const int32_t sport = e[i].sport;
        bool continues;
        if (i == 0 || sport != e[i - 1].sport) {
            /* A new source port: the last one's chain stays open; so do the carried chains of
             * ports this fold has no entry of. */
            if (i > 0 && e[i - 1].sport >= 0)
                ok &= push_chain(h, &nchains, (open_chain){chain_end, e[i - 1].sport});
            while (ok && c < p->nchains && p->chains[c].sport < sport)
                ok &= push_chain(h, &nchains, p->chains[c++]);
            const bool carried = c < p->nchains && p->chains[c].sport == sport;
            continues = carried && sport >= 0 && e[i].start <= p->chains[c].end + CONTINUE_WITHIN;
            if (carried) chain_end = p->chains[c++].end;
        } else {
            continues = sport >= 0 && e[i].start <= chain_end + CONTINUE_WITHIN;
        }
        chain_end = continues && chain_end > e[i].end ? chain_end : e[i].end;
        if (!continues) e[heads++] = e[i];
    }
    if (ok && n > 0 && e[n - 1].sport >= 0)
        ok &= push_chain(h, &nchains, (open_chain){chain_end, e[n - 1].sport});
    while (ok && c < p->nchains)
        ok &= push_chain(h, &nchains, p->chains[c++]);
    if (!ok) return FLOE_ERR_NOMEM;
    /* The pair keeps the chains a record from the horizon on can still continue. */
    uint32_t kept = 0;
    for (uint32_t k = 0; k < nchains; k++)
        if (horizon == INT64_MAX || h->chains[k].end + CONTINUE_WITHIN >= horizon)
            h->chains[kept++] = h->chains[k];
    if (kept > p->chains_cap) {
        open_chain *grown = realloc(p->chains, kept * sizeof *grown);
        if (!grown) return FLOE_ERR_NOMEM;
        p->chains = grown;
        p->chains_cap = kept;
    }
    if (kept) memcpy(p->chains, h->chains, kept * sizeof *p->chains);
    p->nchains = kept;
    sort_by_start(e, heads);
    floe_beacon_stats *s = &p->stats;
    for (size_t i = 0; i < heads; i++) {
        if (s->connections == 0) {
            s->first_start = e[i].start;
        } else {
            const double gap = (double)(e[i].start - s->last_start);
            s->gap_sum += gap;
            s->gap_sumsq += gap * gap;
        }
        s->last_start = e[i].start;
        s->connections++;
    }
    return FLOE_OK;
}

/* The history pair of set pair q, whose key is `key` (found once, then remembered); NULL when
 * out of memory. */
static pair *history_pair(floe_beacon_set *history, pair *q, const floe_beacon_key *key) {
    /* A set is folded into one history, so its pair's place there can be kept. */
    pair *h = q->history ? &history->pairs[q->history - 1] : pair_of(history, key);
    if (h) q->history = (uint32_t)(h - history->pairs) + 1;
    return h;
}

/* In passes with no allocation once the scratch has grown: each set's pairs hand their traffic
 * and saturation to the history's; the logs' entries before the horizon are counted by history
 * pair (a pair past the cap saturates), then copied pair by pair into the scratch (the logs
 * keep the rest, in place); then each pair's run is folded. */
floe_status floe_beacon_fold(floe_beacon_set *history, floe_beacon_set *const *sets, size_t nsets,
                             int64_t horizon) {
    for (size_t i = 0; i < history->npairs; i++)
        history->pairs[i].n = 0;
    for (size_t s = 0; s < nsets; s++) {
        for (size_t i = 0; i < sets[s]->npairs; i++) {
            pair *q = &sets[s]->pairs[i];
            if (q->n == 0 && !q->saturated && q->traffic.flows == 0) continue;
            pair *h = history_pair(history, q, &sets[s]->keys[i]);
            if (!h) return FLOE_ERR_NOMEM;
            floe_agg_measures_add(&h->stats.traffic, &q->traffic);
            floe_agg_measures_empty(&q->traffic);
            if (q->saturated && !h->saturated) saturate(h);
        }
    }
    for (size_t s = 0; s < nsets; s++) {
        const floe_beacon_set *set = sets[s];
        for (size_t i = 0; i < set->nlog; i++) {
            const pair *q = &set->pairs[set->log[i].pair];
            pair *h = &history->pairs[q->history - 1];
            if (!q->saturated && !h->saturated && set->log[i].start < horizon) h->n++;
        }
    }
    size_t total = 0;
    for (size_t i = 0; i < history->npairs; i++) {
        pair *h = &history->pairs[i];
        h->stats.records += h->n;
        if (!h->saturated && h->stats.records > history->max_per_pair) saturate(h);
        h->at = total;
        total += h->n;
        h->n = 0; /* counts again as the entries are placed */
    }
    floe_beacon_entry *folding =
        floe_mem_reserve(history->folding, &history->folding_cap, total, sizeof *folding, 4096);
    if (total > 0 && !folding) return FLOE_ERR_NOMEM;
    if (folding) history->folding = folding;
    for (size_t s = 0; s < nsets; s++) {
        floe_beacon_set *set = sets[s];
        size_t kept = 0;
        for (size_t i = 0; i < set->nlog; i++) {
            const logged l = set->log[i];
            pair *q = &set->pairs[l.pair];
            pair *h = &history->pairs[q->history - 1];
            if (h->saturated && !q->saturated) saturate(q); /* it stops keeping entries */
            if (q->saturated) continue;
            if (l.start < horizon) {
                history->folding[h->at + h->n++] = (floe_beacon_entry){l.start, l.end, l.sport};
                q->n--;
            } else {
                set->log[kept++] = l;
            }
        }
        set->nlog = kept;
    }
    for (size_t i = 0; i < history->npairs; i++) {
        pair *h = &history->pairs[i];
        if (h->n == 0 || h->saturated) continue;
        floe_status st = fold_pair(history, h, &history->folding[h->at], h->n, horizon);
        h->n = 0;
        if (st != FLOE_OK) return st;
    }
    return FLOE_OK;
}
