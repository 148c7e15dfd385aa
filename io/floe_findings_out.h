/* floe_findings_out.h: the findings table, as Apache Parquet, CSV or JSON Lines (one object a
 * finding, for a SIEM), in the order floe_detect_findings gives.
 *
 * Columns (Athena-style names):
 *   finding_type, severity, direction           "Recon:EC2/Portscan", "medium", "outbound"
 *   window_start, window_end                    TIMESTAMP (UTC); end exclusive
 *   actor                                       the address doing it
 *   targets, target_count                       up to 20 addresses, space-separated, ascending;
 *                                               how many distinct targets in all
 *   sources                                     PortProbe's external sources (else null)
 *   protocol, port                              IANA number and destination port (null when
 *                                               several or none)
 *   flows, packets, bytes, rejected             what the actor's flows carried
 *   distinct_ports, distinct_hosts              what the threshold counted
 *   distinct_method                             "exact" or "hll" (HyperLogLog estimate)
 *   first_seen, last_seen                       TIMESTAMP (UTC)
 *   score                                       z-score (TrafficVolumeUnusual) or gap CV
 *                                               (Beaconing), JSON and CSV only
 *   intel_entry                                 the threat-list entry matched (else null)
 *   summary                                     one line for a person
 * CSV and JSON times are ISO-8601 UTC. */
#ifndef FLOE_FINDINGS_OUT_H
#define FLOE_FINDINGS_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "floe_detect.h"
#include "floe_status.h"
#include "floe_table_out.h"

/* Writes findings[0..n) in options->format (Parquet settings and metadata as for the
 * aggregates). FLOE_ERR_IO (errno says why) or FLOE_ERR_NOMEM on failure. */
floe_status floe_findings_write(FILE *out, const floe_table_options *options,
                                const floe_finding *findings, size_t n);

#endif
