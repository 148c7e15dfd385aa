/* floe_detect_tables.h: what core/floe_detect.c (filling) and core/floe_detect_find.c
 * (findings) share: the evidence tables, one floe_agg each, and their keys. Not for other
 * modules. */
#ifndef FLOE_DETECT_TABLES_H
#define FLOE_DETECT_TABLES_H

#include "floe_agg.h"
#include "floe_beacon.h"
#include "floe_detect.h"

/* One probe-like request (a scan's or sweep's raw material). Most are one-offs (internet
 * scanners send one packet a host), so they are logged and sorted once after the run rather
 * than hashed into a table group each. */
typedef struct floe_probe {
    floe_addr src, dst;
    int64_t window;      /* its start's window; 0 without a start */
    int64_t first, last; /* start and end; INT64_MAX / INT64_MIN when null */
    uint64_t packets, bytes;
    uint32_t flows; /* 1 when logged; more once equal probes are folded together */
    uint32_t rejected;
    uint16_t port;
    uint8_t proto;
} floe_probe;

/* See floe_detect_probes.c. */
typedef struct floe_probe_log {
    floe_probe *items; /* floe_mem, cap items */
    size_t n, cap;
    size_t fold_from; /* fold a full log of at least this many items before growing; 0: never */
} floe_probe_log;

/* Per thread, a log folds past this many probes (80 MiB). */
#define FLOE_PROBE_FOLD_FROM ((size_t)1 << 20)

/* Room for one more probe at the end (after folding the log, when full and large); NULL when
 * out of memory. */
floe_probe *floe_probe_log_append(floe_probe_log *log);
/* Moves everything of `from` to the end of `into`, leaving `from` empty (with memory for the
 * probes to come: a writer's log is taken at every close of windows). */
floe_status floe_probe_log_take(floe_probe_log *into, floe_probe_log *from);
/* Sorts the log (floe_probe_cmp's order, IPv4 probes first) and folds equal probes into one. */
floe_status floe_probe_log_fold(floe_probe_log *log);
void floe_probe_log_free(floe_probe_log *log);
/* By (window, src, dst, proto, port). */
int floe_probe_cmp(const floe_probe *x, const floe_probe *y);

/* The start of the window of length w holding second t (floe_agg's windows, for w > 0). */
static inline int64_t floe_detect_window_of(int64_t t, int64_t w) {
    if (w <= 0) return 0;
    const int64_t into = t % w; /* one division; negative for t < 0 */
    return t - (into < 0 ? into + w : into);
}

enum floe_detect_table {
    T_ANSWER, /* (dst, srcport, proto) distinct src; accepted replies */
    T_PROBE,  /* (dst, dstport, src), probe window; accepted external requests, sensitive port */
    T_BRUTE,  /* (src, dst, dstport); small TCP requests to 22, 3389, 5985, 5986 */
    T_OUT,    /* (src, dst, proto); everything internal -> external */
    T_DNS,    /* (src, dst); UDP/53 requests internal -> external */
    T_MINE,   /* (src, dst, dstport, proto); accepted requests to mining ports or hosts */
    T_INTEL,  /* (src, dst, dstport, proto); requests to or from a threat-list address */
    T_COUNT
};

/* Findings as one part of floe_detect_find_part draws them. */
typedef struct floe_finding_list {
    floe_finding *items;
    size_t n, cap;
    bool oom;
    bool done; /* the part ran to the end */
} floe_finding_list;

#define FLOE_DETECT_PARTS 4

/* TrafficVolumeUnusual's state across windows (floe_detect_find.c). */
typedef struct floe_volume_state floe_volume_state;
void floe_volume_state_free(floe_volume_state *state);

struct floe_detect {
    const floe_detect_config *config;
    floe_agg *tables[T_COUNT];
    /* Outbound requests by (host, remote host, port, proto), the evidence of NetworkPortUnusual,
     * Spambot and Beaconing: the writers' sets, handed over by floe_detect_writer_finish, and
     * what has been folded out of them. */
    floe_beacon_set **beacon_sets;
    size_t nbeacon_sets;
    floe_beacon_set *beacon_history; /* the connections of the entries folded so far */
    /* The close under way (floe_detect_close_begin): its horizon and the writers' sets. */
    int64_t closing_horizon;
    floe_beacon_set **closing_sets;
    floe_probe_log **closing_logs; /* the writers' probe logs, taken by the part that folds */
    size_t nclosing_sets;          /* writers, so sets and logs */
    floe_probe_log probes;         /* the writers' logs, appended by floe_detect_writer_finish */
    floe_finding_list found[FLOE_DETECT_PARTS];
    floe_volume_state *volume; /* NULL until the volume part first runs */
};

#endif
