/* floe_beacon.h: connection starts per (host, remote host, port, proto), for the Beaconing
 * detector, which needs the gaps between a pair's connections to see how regular they are.
 *
 * A set per thread takes one entry per request record (start, end, source port): 24 bytes,
 * against a table group of a hundred or more. A history, one per run, folds the sets' entries
 * into each pair's connection statistics (floe_beacon_stats) as time passes: at a horizon,
 * every entry starting before it moves out of the sets, is merged into connections and leaves
 * only counts and sums behind, so the memory follows the pairs, not the records or the span.
 *
 * Connections. The records of one pair, by source port and start: the same record twice
 * counts once, and a record that continues the one before it on the same source port (starting
 * within a minute of that one's end, as a long connection's records do at each aggregation
 * interval) is not a new connection. The gaps are between consecutive connections' starts.
 * A fold carries each source port's last connection end across the horizon while a later
 * record could still continue it, so folding at any horizons gives the statistics of one fold
 * of everything, to the bit (the sums are taken in start order either way).
 *
 * Saturation. A pair with more than `max_per_pair` records in all (over every set and fold) is
 * saturated: no longer tracked, its entries dropped (a pair that busy is no beacon by
 * configuration). Whether a pair saturates depends only on how many records it has in all,
 * never on which thread saw them. */
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

/* A pair's records and connections so far. */
typedef struct floe_beacon_stats {
    bool saturated;
    uint64_t records;
    uint64_t connections;
    int64_t first_start, last_start; /* of the connections (when there are any) */
    double gap_sum, gap_sumsq;       /* over consecutive connections' start gaps, in order */
} floe_beacon_stats;

/* A set of entries by pair; a history is a set too, of folded pairs. */
typedef struct floe_beacon_set floe_beacon_set;

floe_beacon_set *floe_beacon_set_new(uint32_t max_per_pair); /* NULL when out of memory */
void floe_beacon_set_free(floe_beacon_set *set);

/* Adds one record's entry to its pair. */
floe_status floe_beacon_add(floe_beacon_set *set, const floe_beacon_key *key,
                            const floe_beacon_entry *entry);

/* A pair's entries not folded yet (in no particular order; NULL with *n 0 when the pair is
 * unknown or saturated), and whether it saturated. */
const floe_beacon_entry *floe_beacon_find(const floe_beacon_set *set, const floe_beacon_key *key,
                                          size_t *n, bool *saturated);

/* Moves every entry of the sets that starts before horizon into the history (a set of the same
 * max_per_pair, used for nothing else), as connection statistics; INT64_MAX moves them all.
 * A set is folded into one history only (it remembers where its pairs are there).
 * Horizons only grow: after a fold at H, no set may take an entry starting before H. The sets
 * stay usable; a pair that saturates is marked saturated in them too (in a set folded before
 * the one that tipped it, at its next fold), so they stop keeping its entries. */
floe_status floe_beacon_fold(floe_beacon_set *history, floe_beacon_set *const *sets, size_t nsets,
                             int64_t horizon);

/* A pair's statistics in a history; false when it never had an entry. */
bool floe_beacon_stats_of(const floe_beacon_set *history, const floe_beacon_key *key,
                          floe_beacon_stats *out);

/* Bytes the set holds (entries, pairs and their slots). */
size_t floe_beacon_memory(const floe_beacon_set *set);

#endif
