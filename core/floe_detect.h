/* floe_detect.h: GuardDuty-style detections over flow records (shared/spec/detections.md), in
 * the same pass as the aggregation.
 *
 * Each detector's evidence is a group-by with a row filter: "distinct destination ports per
 * source, destination and 10-minute window over probe-like records", "flows per source,
 * target and port over small SSH flows", and so on. Those tables are floe_agg tables, so the
 * worker threads fill them through their own writers, they merge by key and give their groups
 * in one order, and distinct counts are exact up to FLOE_DISTINCT_EXACT_MAX then HyperLogLog.
 * Findings are computed from finished evidence: a window's once it is closed (see "Closing
 * windows" below: as the files' hours pass, or at the end of the run), the window-less
 * detectors' at the end (floe_detect_findings). Neither the thread count nor the timing of the
 * threads can change them.
 *
 * Which side started a flow. Most detectors count what an actor sent, not the replies it got:
 * a web server's replies fan out to thousands of client ports, and must not look like a scan.
 * A record is a REPLY when its tcp-flags (where the format has them) include SYN-ACK, or, lacking
 * that, when its source port is below its destination port and the destination port is 1024 or
 * above (the server answers from its service port to the client's ephemeral one); otherwise it
 * is a REQUEST. A record with only SYN set (tcp-flags 2) is a REQUEST. */
#ifndef FLOE_DETECT_H
#define FLOE_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_addr.h"
#include "floe_batch.h"
#include "floe_cidr.h"
#include "floe_status.h"

/* Finding types, in the order of detections.md. Values are pinned (they order findings). */
typedef enum floe_finding_type {
    FLOE_FIND_PORTSCAN = 0,
    FLOE_FIND_PORTSWEEP,
    FLOE_FIND_PORT_PROBE,
    FLOE_FIND_SSH_BRUTE,
    FLOE_FIND_RDP_BRUTE,
    FLOE_FIND_WINRM_BRUTE,
    FLOE_FIND_DOS_TCP,
    FLOE_FIND_DOS_UDP,
    FLOE_FIND_DOS_DNS,
    FLOE_FIND_DOS_UNUSUAL,
    FLOE_FIND_VOLUME_UNUSUAL,
    FLOE_FIND_PORT_UNUSUAL,
    FLOE_FIND_SPAMBOT,
    FLOE_FIND_BITCOIN,
    FLOE_FIND_MALICIOUS_IP,
    FLOE_FIND_BEACONING,
    FLOE_FIND_TYPE_COUNT
} floe_finding_type;

/* "Recon:EC2/Portscan", ... */
const char *floe_finding_type_name(floe_finding_type type);

typedef enum floe_severity {
    FLOE_SEV_LOW = 0,
    FLOE_SEV_MEDIUM = 1,
    FLOE_SEV_HIGH = 2
} floe_severity;
const char *floe_severity_name(floe_severity severity); /* "low", "medium", "high" */

typedef enum floe_direction {
    FLOE_DIR_OUTBOUND = 0, /* internal actor, external target */
    FLOE_DIR_INBOUND = 1,  /* external actor, internal target */
    FLOE_DIR_INTERNAL = 2, /* both internal */
    FLOE_DIR_EXTERNAL = 3  /* both external (seen through a NAT or transit ENI) */
} floe_direction;
const char *floe_direction_name(floe_direction direction);

#define FLOE_FINDING_MAX_LISTED                                                                    \
    20 /* targets / sources a finding names; the count says the rest                               \
        */

typedef struct floe_finding {
    floe_finding_type type;
    floe_severity severity;
    floe_direction direction;
    int64_t window_start, window_end; /* Unix seconds, end exclusive */
    floe_addr actor;
    uint32_t ntargets_listed;
    floe_addr targets[FLOE_FINDING_MAX_LISTED]; /* ascending */
    uint32_t nsources_listed;                   /* multi-source findings (PortProbe) */
    floe_addr sources[FLOE_FINDING_MAX_LISTED];
    uint8_t protocol; /* 0 when several */
    int32_t port;     /* the destination port involved, -1 when several or none */
    uint64_t flows, packets, bytes, rejected;
    uint64_t distinct_ports, distinct_hosts; /* what the threshold counted; 0 when not used */
    bool distinct_estimated;                 /* the count came from HyperLogLog, not exact */
    int64_t first_seen, last_seen;
    double score; /* z-score (TrafficVolumeUnusual), gap CV (Beaconing), else 0 */
    char intel_entry[FLOE_CIDR_STRLEN]; /* MaliciousIPCaller: the entry matched ("185.220.101.0/24")
                                         */
    char summary[256];
} floe_finding;

/* Every threshold and list, with detections.md's defaults from floe_detect_config_init. */
typedef struct floe_detect_config {
    int64_t scan_window; /* seconds; Portscan, PortSweep, brute force, DoS, Spambot, Bitcoin */
    uint32_t portscan_ports;
    uint32_t portsweep_hosts;
    double portsweep_max_answered; /* a sweep's targets that answered, at most this share */
    int64_t probe_window;
    uint32_t probe_sources;
    uint32_t brute_flows;
    uint64_t brute_max_bytes; /* a brute-force attempt is a flow under this many bytes */
    uint64_t dos_packets, dos_bytes;
    double volume_zscore;
    uint64_t volume_bytes;
    uint32_t volume_min_samples; /* baseline windows a host needs before its z-score counts */
    int64_t port_baseline;       /* seconds a host must be known before a new port is unusual */
    uint32_t spam_hosts;
    uint32_t beacon_connections;
    double beacon_max_cv;
    int64_t beacon_min_period;       /* seconds: the gaps' mean, at least */
    uint32_t beacon_max_connections; /* pairs busier than this are not checked (memory) */
    /* Seconds (default 1h), or -1: keep every window to the end. See "Closing windows". */
    int64_t lateness;
    /* Port lists: bit p set. */
    uint8_t sensitive_ports[65536 / 8];
    uint8_t mining_ports[65536 / 8];
    /* Address sets, owned by the config (floe_detect_config_free); built by
     * floe_detect_config_finish. internal NULL until then means the private ranges. */
    floe_cidr_set *internal;
    floe_cidr_set *intel;         /* MaliciousIPCaller.Custom; NULL: that detector is off */
    floe_cidr_set *mining_hosts;  /* BitcoinTool's user list of pool addresses; may be NULL */
    floe_cidr_set *allow_actors;  /* never the actor of a finding; may be NULL */
    floe_cidr_set *allow_targets; /* never the target of a finding; may be NULL */
    bool intel_has_internal;      /* set by finish: the threat list names internal addresses */
} floe_detect_config;

void floe_detect_config_init(floe_detect_config *config);
void floe_detect_config_free(floe_detect_config *config);
/* Builds the address sets (the private ranges when no internal CIDR was given). Call once, after
 * the last setting and before floe_detect_new. */
floe_status floe_detect_config_finish(floe_detect_config *config);

/* The address set named by a list setting ("intel", "internal", "allow.actors", ...), created
 * on first use; NULL when out of memory or the name is not a list. For loading list files. */
floe_cidr_set **floe_detect_config_list(floe_detect_config *config, const char *name);

/* Applies one setting, "portscan.ports = 200" or "sensitive_ports = 22,3389" (the config file's
 * line form; see floe_detect_config_keys). Durations take s, m, h or d ("10m"), sizes take
 * K, M, G (decimal); address lists ("internal = 10.0.0.0/8, 192.168.0.0/16") add to the list.
 * FLOE_ERR_FORMAT with a message in err (errlen bytes) when the key is unknown or the value does
 * not parse. */
floe_status floe_detect_config_set(floe_detect_config *config, const char *line, size_t len,
                                   char *err, size_t errlen);

/* Applies a config file's text: one setting a line, '#' comments, blank lines. On a bad line
 * FLOE_ERR_FORMAT, *bad_line set and the message in err. */
floe_status floe_detect_config_parse(floe_detect_config *config, const char *text, size_t len,
                                     uint64_t *bad_line, char *err, size_t errlen);

/* The settings' names, defaults and meaning, one a line, for --help and the README. */
const char *floe_detect_config_keys(void);

/* ---- the engine ---- */

typedef struct floe_detect floe_detect;
typedef struct floe_detect_writer floe_detect_writer;

/* State for one run; config (and the sets it points to) must outlive it. */
floe_detect *floe_detect_new(const floe_detect_config *config);
void floe_detect_free(floe_detect *detect);

/* One per thread; any number may add at once. Free writers before their floe_detect. */
floe_detect_writer *floe_detect_writer_new(floe_detect *detect);
void floe_detect_writer_free(floe_detect_writer *writer);
/* Adds every row of the batch (detectors see all records, whatever the table's filters). */
floe_status floe_detect_writer_add(floe_detect_writer *writer, const floe_batch *batch);
/* Hands what the writer keeps to itself (its probe log and its outbound pairs, floe_beacon.h,
 * cheaper per thread than in a shared table) to its floe_detect. Call for every writer once
 * its rows are in, one writer at a time, before floe_detect_findings. */
floe_status floe_detect_writer_finish(floe_detect_writer *writer);

/* ---- closing windows as the files' times pass ----
 *
 * Kept to the end, the evidence of every window would make a long run's memory grow with its
 * span. AWS names each file for its delivery time (the S3 key's YYYYMMDDTHHmmZ, at most minutes
 * after its records start: the aggregation interval plus the delivery slot). So a caller that
 * reads inputs in key-time order can close, before each new hour of key times, the windows
 * that ended `lateness` or more before that hour (floe_detect_horizon gives it):
 * their findings are drawn and their evidence freed.
 *
 * A record that starts more than `lateness` before its own file's hour is late: the detectors
 * leave it out and count it (floe_detect_writer_late), whether its windows happened to be
 * closed yet or not, so what is late depends on the files alone, never on thread timing.
 *
 * What stays to the end: records without a start time (window 0); the window-less evidence of
 * NetworkPortUnusual, Spambot and Beaconing (per outbound pair: its traffic and connection
 * statistics, with the starts not folded yet); TrafficVolumeUnusual's per-host count, sum and sum
 * of squares, and the samples large enough to be findings, whose z-scores need the whole run's
 * baseline. With lateness -1 ("none") nothing is late and every window stays open to the end. */

/* The horizon for a file named for key_time: its hour (key time rounded down) minus the
 * lateness; INT64_MIN when the lateness is none. */
int64_t floe_detect_horizon(const floe_detect *detect, int64_t key_time);

/* Starts a new file for this writer: records starting before floe_detect_horizon(key_time)
 * are late. has_time false (no key time, or a caller that does not close windows): none are. */
void floe_detect_writer_begin_file(floe_detect_writer *writer, bool has_time, int64_t key_time);
/* Records of the file begun last that were left out as late. */
uint64_t floe_detect_writer_late(const floe_detect_writer *writer);

/* Closes every window that ended by horizon: takes the writers' probe logs and folds their
 * Beaconing entries, draws those windows' findings (kept for floe_detect_findings) and frees
 * their evidence. In steps, so a caller can use its threads: begin (one thread), then
 * floe_detect_close_part for every part below floe_detect_part_count(), each once (calls for
 * different parts may run at once). No writer may add from begin until the last part is done;
 * the writers stay valid. begin fails with FLOE_ERR_INVALID for a horizon of INT64_MIN or
 * INT64_MAX. */
floe_status floe_detect_close_begin(floe_detect *detect, floe_detect_writer *const *writers,
                                    size_t nwriters, int64_t horizon);
floe_status floe_detect_close_part(floe_detect *detect, unsigned part);

/* The findings are drawn in floe_detect_part_count() independent parts, which may run at once
 * on different threads, each part once, after floe_detect_writer_finish for every writer and
 * with the evidence tables in order (see floe_detect_table). floe_detect_findings runs the
 * parts not run yet, so a caller without threads need not call floe_detect_find_part. */
unsigned floe_detect_part_count(void);
floe_status floe_detect_find_part(floe_detect *detect, unsigned part);

/* Frees the evidence (tables, probe log, Beaconing's sets, the volume state), keeping the
 * findings, once every part's are drawn: for a caller that needs the memory next. Nothing but
 * floe_detect_findings and floe_detect_free may follow. FLOE_ERR_INVALID (nothing freed) when
 * some part has not run. */
floe_status floe_detect_drop_evidence(floe_detect *detect);

/* The findings, in a fixed order: window start, type, actor, first target, port. *out is a new
 * array the caller frees. Call once, after floe_detect_writer_finish for every writer (it
 * folds the probe log in place). */
floe_status floe_detect_findings(floe_detect *detect, floe_finding **out, size_t *count);

/* The evidence tables, for a caller that puts them in order on several threads ahead of
 * floe_detect_findings (floe_agg_merge_prepare and friends); findings sort what is not. */
unsigned floe_detect_table_count(void);
struct floe_agg *floe_detect_table(floe_detect *detect, unsigned i);

#endif
