/* floe_beacon.h: connection starts per (host, remote host, port, proto), for the Beaconing
 * detector, which needs every connection's start to measure how regular the gaps are.
 *
 * A set per thread takes one entry per request record (start, end, source port): 24 bytes,
 * against a table group of a hundred or more. Sets merge by union, so the result does not
 * depend on which thread saw which record, and a pair with more than `max_per_pair` entries is
 * marked saturated and its entries dropped (a pair that busy is no beacon by configuration):
 * whether a pair saturates depends only on how many records it has in all. */
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

/* into = into U from (same max_per_pair). */
floe_status floe_beacon_merge(floe_beacon_set *into, const floe_beacon_set *from);

/* A pair's entries (in no particular order; NULL with *n 0 when the pair is unknown or
 * saturated), and whether it saturated. */
const floe_beacon_entry *floe_beacon_find(const floe_beacon_set *set, const floe_beacon_key *key,
                                          size_t *n, bool *saturated);

#endif
