#include "floe_beacon.h"

#include <stdlib.h>
#include <string.h>

#include "floe_distinct.h"

typedef struct pair {
    floe_beacon_key key;
    bool saturated;
    uint32_t n, cap;
    floe_beacon_entry *entries;
} pair;

struct floe_beacon_set {
    uint32_t max_per_pair;
    pair *pairs;
    size_t npairs, pairs_cap;
    uint32_t *slots; /* pair index + 1; 0 is empty; a power of two */
    size_t nslots;
};

static uint64_t key_hash(const floe_beacon_key *k) {
    uint64_t h = floe_distinct_hash_bytes(k->src.bytes, 16);
    h = floe_distinct_mul_fold(h ^ floe_distinct_hash_bytes(k->dst.bytes, 16),
                               UINT64_C(0x9e3779b97f4a7c15));
    return floe_distinct_hash_u64(h ^ ((uint64_t)k->port << 8 | k->proto));
}

static bool key_equal(const floe_beacon_key *a, const floe_beacon_key *b) {
    return a->port == b->port && a->proto == b->proto &&
           memcmp(a->src.bytes, b->src.bytes, 16) == 0 &&
           memcmp(a->dst.bytes, b->dst.bytes, 16) == 0;
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
        free(s->pairs[i].entries);
    free(s->pairs);
    free(s->slots);
    free(s);
}

static size_t slot_of(const floe_beacon_set *s, const floe_beacon_key *k) {
    size_t mask = s->nslots - 1, i = (size_t)key_hash(k) & mask;
    while (s->slots[i] && !key_equal(&s->pairs[s->slots[i] - 1].key, k))
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
        s->slots[slot_of(s, &s->pairs[p].key)] = (uint32_t)(p + 1);
    return FLOE_OK;
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
    if (s->npairs == s->pairs_cap) {
        size_t cap = s->pairs_cap ? s->pairs_cap * 2 : 256;
        pair *grown = realloc(s->pairs, cap * sizeof *grown);
        if (!grown) return NULL;
        s->pairs = grown;
        s->pairs_cap = cap;
    }
    pair *p = &s->pairs[s->npairs++];
    memset(p, 0, sizeof *p);
    p->key = *key;
    s->slots[i] = (uint32_t)s->npairs;
    return p;
}

static void saturate(pair *p) {
    free(p->entries);
    p->entries = NULL;
    p->n = p->cap = 0;
    p->saturated = true;
}

static floe_status append(floe_beacon_set *s, pair *p, const floe_beacon_entry *e, size_t n) {
    if (p->saturated) return FLOE_OK;
    if ((uint64_t)p->n + n > s->max_per_pair) {
        saturate(p);
        return FLOE_OK;
    }
    if (p->n + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4;
        while (cap < p->n + n)
            cap *= 2;
        floe_beacon_entry *grown = realloc(p->entries, cap * sizeof *grown);
        if (!grown) return FLOE_ERR_NOMEM;
        p->entries = grown;
        p->cap = (uint32_t)cap;
    }
    memcpy(p->entries + p->n, e, n * sizeof *e);
    p->n += (uint32_t)n;
    return FLOE_OK;
}

floe_status floe_beacon_add(floe_beacon_set *s, const floe_beacon_key *key,
                            const floe_beacon_entry *entry) {
    pair *p = pair_of(s, key);
    return p ? append(s, p, entry, 1) : FLOE_ERR_NOMEM;
}

const floe_beacon_entry *floe_beacon_find(const floe_beacon_set *s, const floe_beacon_key *key,
                                          size_t *n, bool *saturated) {
    size_t i = slot_of(s, key);
    *n = 0;
    *saturated = false;
    if (!s->slots[i]) return NULL;
    const pair *p = &s->pairs[s->slots[i] - 1];
    *saturated = p->saturated;
    *n = p->n;
    return p->entries;
}

floe_status floe_beacon_gather(floe_beacon_set *const *sets, size_t nsets,
                               const floe_beacon_key *key, floe_beacon_entry **out, size_t *out_cap,
                               size_t *n, bool *saturated) {
    *n = 0;
    *saturated = false;
    size_t total = 0;
    for (size_t i = 0; i < nsets; i++) {
        size_t count;
        bool sat;
        floe_beacon_find(sets[i], key, &count, &sat);
        total += count;
        if (sat || total > sets[i]->max_per_pair) {
            *saturated = true;
            return FLOE_OK;
        }
    }
    if (total > *out_cap) {
        floe_beacon_entry *grown = realloc(*out, total * sizeof *grown);
        if (!grown) return FLOE_ERR_NOMEM;
        *out = grown;
        *out_cap = total;
    }
    for (size_t i = 0; i < nsets; i++) {
        size_t count;
        bool sat;
        const floe_beacon_entry *e = floe_beacon_find(sets[i], key, &count, &sat);
        if (count) memcpy(*out + *n, e, count * sizeof *e);
        *n += count;
    }
    return FLOE_OK;
}
