/* floe_agg.h: hash aggregation of flow records by time window and key.
 *
 * A key is a list of fields ("srcaddr/24,dstaddr,dstport,protocol,action"): each record's
 * values for them, addresses masked to a prefix like nfdump's -A, make its group; the window
 * is the record's start time rounded down to a multiple of the window length (UTC-aligned,
 * since Unix time is). A flow whose start..end crosses a window boundary is counted whole in
 * the window of its start, as nfdump bins by first-seen; first_seen and last_seen keep its
 * real span.
 *
 * Several threads may fill one table at once, each through its own floe_agg_writer: a
 * table's groups live in partitions by key hash, each with a lock that a writer takes once
 * for a chunk of rows. Tables also merge by key, so file and machine partials combine the same
 * way, and floe_agg_sorted gives the groups in one order whatever the order rows and merges
 * came in: window, then key values (numbers and addresses by value, nulls first). */
#ifndef FLOE_AGG_H
#define FLOE_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_batch.h"
#include "floe_distinct.h"
#include "floe_field.h"
#include "floe_status.h"

#define FLOE_KEY_MAX_PARTS       16
#define FLOE_DISTINCT_MAX_FIELDS 8

typedef struct floe_key_part {
    floe_field field;
    /* Addresses only: prefix lengths kept for IPv4 (0..32) and IPv6 (0..128) values. */
    uint8_t v4_prefix;
    uint8_t v6_prefix;
} floe_key_part;

typedef struct floe_key_spec {
    uint8_t nparts;
    floe_key_part parts[FLOE_KEY_MAX_PARTS];
    int64_t window_seconds; /* windows start at multiples of it; 0: one window, start 0 */
    /* Fields whose distinct values each group counts (exact up to FLOE_DISTINCT_EXACT_MAX,
     * then HyperLogLog: floe_distinct.h); nulls are not values. */
    uint8_t ndistinct;
    floe_field distinct[FLOE_DISTINCT_MAX_FIELDS];
} floe_key_spec;

/* Parses a field list: names separated by commas or spaces; an address field may carry a
 * prefix, "srcaddr/24" (IPv4; IPv6 values stay whole) or "srcaddr/24/64" (IPv4 and IPv6).
 * A field named twice, an unknown name, a prefix on a non-address field or out of range are
 * FLOE_ERR_FORMAT. window_seconds must not be negative (FLOE_ERR_INVALID). */
floe_status floe_key_spec_parse(const char *text, size_t text_len, int64_t window_seconds,
                                floe_key_spec *out);

/* Sets spec's distinct-count fields from a list of names (commas or spaces). An unknown or
 * repeated name, or more than FLOE_DISTINCT_MAX_FIELDS, is FLOE_ERR_FORMAT. */
floe_status floe_key_spec_parse_distinct(const char *text, size_t text_len, floe_key_spec *spec);

/* What a group adds up. */
typedef struct floe_agg_measures {
    uint64_t flows;     /* records */
    uint64_t packets;   /* null counts as 0 */
    uint64_t bytes;     /* null counts as 0 */
    uint64_t accepted;  /* records with action ACCEPT */
    uint64_t rejected;  /* records with action REJECT */
    int64_t first_seen; /* smallest start; INT64_MAX when no record had one */
    int64_t last_seen;  /* largest end; INT64_MIN when no record had one */
} floe_agg_measures;

/* Measures of no record (first_seen INT64_MAX, last_seen INT64_MIN), and adding one set of
 * measures to another (counts summed, saturating; first and last seen widened). */
void floe_agg_measures_empty(floe_agg_measures *m);
void floe_agg_measures_add(floe_agg_measures *into, const floe_agg_measures *from);

/* One group: its window, its key (encoded; read it with floe_agg_key_value) and measures,
 * pointing into the table: valid while the table lives (groups never move). */
typedef struct floe_agg_group {
    int64_t window_start; /* Unix seconds; 0 when the records have no start field */
    const uint8_t *key;
    uint32_t key_len;
    const floe_agg_measures *m;    /* in the table */
    const floe_distinct *distinct; /* spec.ndistinct sketches, in the spec's order */
} floe_agg_group;

typedef struct floe_agg floe_agg;

/* A table for one key spec (copied). NULL when out of memory. */
floe_agg *floe_agg_new(const floe_key_spec *spec);
void floe_agg_free(floe_agg *agg);

/* Adds every row of the batch. A key field absent from the batch's format counts as null. */
floe_status floe_agg_add_batch(floe_agg *agg, const floe_batch *batch);
/* Adds the rows listed in rows[0..nrows) (indexes into the batch, as floe_filter_select
 * gives them); rows NULL means rows 0..nrows-1. One thread at a time (it uses the table's own
 * writer); threads adding at once use floe_agg_writer_add_rows. */
floe_status floe_agg_add_rows(floe_agg *agg, const floe_batch *batch, const uint32_t *rows,
                              uint32_t nrows);

/* A thread's handle for adding rows to a shared table: its scratch for keys and hashes. Any
 * number of writers may add to one table at once; nothing else may use the table meanwhile
 * (merging, sorting, reading). Free writers before their table. */
typedef struct floe_agg_writer floe_agg_writer;
floe_agg_writer *floe_agg_writer_new(floe_agg *agg); /* NULL when out of memory */
void floe_agg_writer_free(floe_agg_writer *writer);
/* floe_agg_add_rows through this writer. */
floe_status floe_agg_writer_add_rows(floe_agg_writer *writer, const floe_batch *batch,
                                     const uint32_t *rows, uint32_t nrows);
/* Adds every group of `from` (same key spec) into `into`. */
floe_status floe_agg_merge(floe_agg *into, const floe_agg *from);

/* Groups live in FLOE_AGG_PARTITIONS partitions by key hash, so the slow steps of a big table
 * can run on several threads: merging and sorting one partition touch nothing of another, and
 * calls for different partitions of the same tables may run at once. */
#define FLOE_AGG_PARTITIONS 16
floe_status floe_agg_merge_partition(floe_agg *into, const floe_agg *from, unsigned partition);
/* Sorts one partition ahead of floe_agg_sorted, which then only merges the sorted runs. */
floe_status floe_agg_sort_partition(floe_agg *agg, unsigned partition);

/* floe_agg_sorted's merge of the sorted partitions, on several threads: prepare (one thread;
 * sorts any partition not sorted yet and cuts the work into `slices` key ranges), then
 * floe_agg_merge_slice for every slice (calls for different slices may run at once), then
 * finish (one thread); floe_agg_sorted then returns the result without more work. */
#define FLOE_AGG_MAX_SLICES 64
floe_status floe_agg_merge_prepare(floe_agg *agg, unsigned slices);
void floe_agg_merge_slice(floe_agg *agg, unsigned slice);
void floe_agg_merge_finish(floe_agg *agg);

/* Whether the window of length window_seconds starting at window_start has ended by horizon:
 * what floe_agg_drop_closed drops (never window 0, the records without a start time, nor a
 * table without windows). */
bool floe_agg_window_closed(int64_t window_start, int64_t window_seconds, int64_t horizon);

/* Drops the groups whose window has ended by `horizon` (window_start + window_seconds <= horizon),
 * for a caller that has read them and will see no more of their records (the detectors close
 * windows as the files' times pass). Groups of window 0 (records without a start time) stay,
 * as does everything of a table without windows. The kept groups are packed in place, and the
 * memory the dropped ones held is kept for the groups to come (a table that closes windows as
 * new ones fill stops growing); pointers to groups become invalid. One thread, with no writer
 * adding meanwhile (writers stay valid). */
floe_status floe_agg_drop_closed(floe_agg *agg, int64_t horizon);
/* floe_agg_sorted for the groups floe_agg_drop_closed(horizon) would drop only, sorting none of
 * the others: the canonical order's run of them. Valid until the table next changes. */
floe_status floe_agg_sorted_closed(floe_agg *agg, int64_t horizon, const floe_agg_group **groups,
                                   size_t *count);

size_t floe_agg_count(const floe_agg *agg);
/* Bytes the table holds (slots, records, sketches). */
size_t floe_agg_memory(const floe_agg *agg);
const floe_key_spec *floe_agg_spec(const floe_agg *agg);
/* The groups in the canonical order, as an array valid until the table next changes. */
floe_status floe_agg_sorted(floe_agg *agg, const floe_agg_group **groups, size_t *count);

/* Bytes of the group's encoded key that hold its first nparts parts. Two groups of one table
 * have equal first nparts parts exactly when these bytes are equal (memcmp), which is how a
 * caller walks runs of groups sharing a key prefix without decoding them. */
size_t floe_agg_key_prefix_len(const floe_agg *agg, const floe_agg_group *group, unsigned nparts);

/* One key part's value, decoded. */
typedef struct floe_key_value {
    bool null;
    union {
        uint8_t u8; /* FLOE_T_U8, FLOE_T_ENUM */
        uint16_t u16;
        uint64_t u64;
        int64_t time;
        floe_addr addr; /* masked to the part's prefix */
        floe_slice str; /* points into the table */
    } v;
} floe_key_value;

/* Every key part of a group in one pass: values[0..spec.nparts). */
void floe_agg_key_decode(const floe_agg *agg, const floe_agg_group *group, floe_key_value *values);

/* What floe_agg_top ranks by. Values are pinned. */
typedef enum floe_agg_order {
    FLOE_AGG_ORDER_FLOWS = 0,
    FLOE_AGG_ORDER_PACKETS = 1,
    FLOE_AGG_ORDER_BYTES = 2,
    FLOE_AGG_ORDER_REJECTED = 3 /* rejected flows */
} floe_agg_order;

/* The n groups with the largest measure, largest first, ties in the canonical order (so the
 * result is the same whatever the merge order). *groups is a new array the caller frees;
 * *count = min(n, groups in the table). */
floe_status floe_agg_top(floe_agg *agg, floe_agg_order order, size_t n, floe_agg_group **groups,
                         size_t *count);

/* One key part's value in a group's key, as the batch would hold it: `value` receives a
 * uint8_t / uint16_t / uint64_t / int64_t / floe_addr (masked) / floe_slice according to the
 * field's type (floe_batch.h); a slice points into the table. Returns false when null. */
bool floe_agg_key_value(const floe_agg *agg, const floe_agg_group *group, unsigned part,
                        void *value);

#endif
