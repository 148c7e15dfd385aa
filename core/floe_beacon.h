/* floe_beacon.h: an internal host's requests to one external (host, port, proto), a "pair":
 * their traffic (for NetworkPortUnusual and Spambot, which look at a host's pairs over the run)
 * and their connection starts, for the Beaconing detector, which needs the gaps between a
 * pair's connections to see how regular they are.
 *
 * A set per thread takes each request record: its traffic into the pair's sums, and an entry
 * (start, end, source port: 24 bytes) when it has a start. A history, one per run, folds the sets'
 * entries into each pair's connection statistics (floe_beacon_stats) as time passes: at a horizon,
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
 * saturated: its entries are dropped and no longer kept (a pair that busy is no beacon by
 * configuration); its traffic still adds up. Whether a pair saturates depends only on how many
 * records it has in all, never on which thread saw them. */
#ifndef FLOE_BEACON_H
#define FLOE_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_addr.h"
#include "floe_agg.h"
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
    floe_agg_measures traffic; /* every record's (first_seen: the smallest start) */
    bool saturated;
    uint64_t records; /* with a start (entries) */
    uint64_t connections;
    int64_t first_start, last_start; /* of the connections (when there are any) */
    double gap_sum, gap_sumsq;       /* over consecutive connections' start gaps, in order */
} floe_beacon_stats;

/* A set of entries by pair; a history is a set too, of folded pairs. */
typedef struct floe_beacon_set floe_beacon_set;

floe_beacon_set *floe_beacon_set_new(uint32_t max_per_pair); /* NULL when out of memory */
void floe_beacon_set_free(floe_beacon_set *set);

/* Adds one record to its pair: its traffic (flows 1, its packets, bytes, accepted or rejected,
 * first and last seen), and its entry when it has a start (entry not NULL). */
floe_status floe_beacon_add(floe_beacon_set *set, const floe_beacon_key *key,
                            const floe_agg_measures *traffic, const floe_beacon_entry *entry);

/* Entries a set holds, not folded yet (a saturated pair's not counted), and the earliest start
 * among them (INT64_MAX when none). */
size_t floe_beacon_waiting(const floe_beacon_set *set, int64_t *earliest);
/* Whether the set has marked the pair saturated. */
bool floe_beacon_saturated(const floe_beacon_set *set, const floe_beacon_key *key);

/* Moves every entry of the sets that starts before horizon into the history (a set of the same
 * max_per_pair, used for nothing else), as connection statistics; INT64_MAX moves them all.
 * A set is folded into one history only (it remembers where its pairs are there).
 * Horizons only grow: after a fold at H, no set may take an entry starting before H. The sets
 * stay usable; a pair that saturates is marked saturated in the sets that hold entries of it,
 * so they stop keeping them. */
floe_status floe_beacon_fold(floe_beacon_set *history, floe_beacon_set *const *sets, size_t nsets,
                             int64_t horizon);

/* A pair's statistics in a history; false when it never had a record. */
bool floe_beacon_stats_of(const floe_beacon_set *history, const floe_beacon_key *key,
                          floe_beacon_stats *out);

/* A history's pairs, in no particular order: how many, and pair i's key and statistics. */
size_t floe_beacon_count(const floe_beacon_set *history);
void floe_beacon_pair_at(const floe_beacon_set *history, size_t i, floe_beacon_key *key,
                         floe_beacon_stats *stats);

#endif
