/* floe_filter.h: record filters applied before aggregation (--action, --log-status).
 *
 * A filter is a set of allowed values per enum field; a record passes when every restricted
 * field's value is allowed. A record whose value is "-" (or whose format lacks the field)
 * passes only where "-" is allowed, which "all" does and a named value does not: asking for
 * ACCEPT flows should not bring in NODATA rows. */
#ifndef FLOE_FILTER_H
#define FLOE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_batch.h"
#include "floe_status.h"

typedef struct floe_filter {
    /* Bit v set: enum value v passes (FLOE_ACTION_*, FLOE_LOG_STATUS_*; 0 is "-"). */
    uint8_t action;
    uint8_t log_status;
} floe_filter;

/* Passes everything. */
void floe_filter_all(floe_filter *filter);
bool floe_filter_is_all(const floe_filter *filter);

/* Parses a comma-separated list of words for one field, case-insensitive: "accept", "reject"
 * (action) or "ok", "nodata", "skipdata" (log-status), or "all". FLOE_ERR_FORMAT otherwise. */
floe_status floe_filter_parse_action(const char *text, floe_filter *filter);
floe_status floe_filter_parse_log_status(const char *text, floe_filter *filter);

/* Writes the indexes of the rows that pass to rows[] (room for batch->count) and returns how
 * many. */
uint32_t floe_filter_select(const floe_filter *filter, const floe_batch *batch, uint32_t *rows);

#endif
