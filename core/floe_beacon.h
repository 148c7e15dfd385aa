/* floe_beacon.h: connection starts per (host, remote host, port, proto), for the Beaconing
 * detector, which needs every connection's start to measure how regular the gaps are.
 *
 * A set per thread takes one entry per request record (start, end, source port): 24 bytes,
 * against a table group of a hundred or more. The sets are read together as their union
 * (floe_beacon_gather), so the result does not depend on which thread saw which record, and a
 * pair with more than `max_per_pair` entries is marked saturated and its entries dropped (a pair
 * that busy is no beacon by configuration): whether a pair saturates depends only on how many
 * records it has in all. */
#ifndef FLOE_BEACON_H
#define FLOE_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_addr.h"
#include "floe_status.h"

typedef struct floe_beacon_key {
    floe_addr src, dst;
    uint16_t port;
    uint8_t proto;
} floe_beacon_key;

typedef struct floe_beacon_entry {
    int64_t start, end;
    int32_t sport; /* -1: none */
} floe_beacon_entry;

typedef struct floe_beacon_set floe_beacon_set;

floe_beacon_set *floe_beacon_set_new(uint32_t max_per_pair); /* NULL when out of memory */
void floe_beacon_set_free(floe_beacon_set *set);

/* Adds one record's entry to its pair. */
floe_status floe_beacon_add(floe_beacon_set *set, const floe_beacon_key *key,
                            const floe_beacon_entry *entry);

/* A pair's entries (in no particular order; NULL with *n 0 when the pair is unknown or
 * saturated), and whether it saturated. */
const floe_beacon_entry *floe_beacon_find(const floe_beacon_set *set, const floe_beacon_key *key,
                                          size_t *n, bool *saturated);

/* A pair's entries in the union of several sets (the threads' sets of one run, same
 * max_per_pair), as floe_beacon_find would give them had one set taken every entry: copied to
 * *out (grown to *out_cap entries as needed), in no particular order. The pair is saturated
 * when it is in any set, or has more than max_per_pair entries in all. Reading the sets where
 * they are, rather than merging them into one, saves copying every entry. */
floe_status floe_beacon_gather(floe_beacon_set *const *sets, size_t nsets,
                               const floe_beacon_key *key, floe_beacon_entry **out, size_t *out_cap,
                               size_t *n, bool *saturated);

#endif
