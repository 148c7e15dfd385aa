/* floe_detect.c: the detectors' names, their evidence tables (floe_detect_tables.h) and how
 * each record is sorted into them; the findings are in floe_detect_find.c. See floe_detect.h
 * for the design. */
#include "floe_detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_agg.h"
#include "floe_detect_tables.h"

/* ---- names ---- */

static const char *const type_names[FLOE_FIND_TYPE_COUNT] = {
    "Recon:EC2/Portscan",
    "Impact:EC2/PortSweep",
    "Recon:EC2/PortProbeUnprotectedPort",
    "UnauthorizedAccess:EC2/SSHBruteForce",
    "UnauthorizedAccess:EC2/RDPBruteForce",
    "Impact:EC2/WinRMBruteForce",
    "Backdoor:EC2/DenialOfService.Tcp",
    "Backdoor:EC2/DenialOfService.Udp",
    "Backdoor:EC2/DenialOfService.Dns",
    "Backdoor:EC2/DenialOfService.UnusualProtocol",
    "Behavior:EC2/TrafficVolumeUnusual",
    "Behavior:EC2/NetworkPortUnusual",
    "Backdoor:EC2/Spambot",
    "CryptoCurrency:EC2/BitcoinTool",
    "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom",
    "Beaconing",
};

const char *floe_finding_type_name(floe_finding_type type) {
    return (unsigned)type < FLOE_FIND_TYPE_COUNT ? type_names[type] : "?";
}

const char *floe_severity_name(floe_severity s) {
    return s == FLOE_SEV_HIGH ? "high" : s == FLOE_SEV_MEDIUM ? "medium" : "low";
}

const char *floe_direction_name(floe_direction d) {
    static const char *const names[] = {"outbound", "inbound", "internal", "external"};
    return (unsigned)d < 4 ? names[d] : "?";
}

/* ---- the evidence tables ---- */

/* The last two addresses looked up in one address set, and the answers. A file holds one
 * interface's records in a stretch, and that interface's address is the source or the
 * destination of nearly every one of them, its peer often of two in a row (a request and its
 * reply): two remembered lookups answer most of a stretch's. */
typedef struct set_memo {
    floe_addr addr[2];
    bool in[2];
    uint8_t filled; /* entries used */
    uint8_t next;   /* the one a miss replaces: the older */
} set_memo;

static inline bool same_addr(const floe_addr *a, const floe_addr *b) {
    uint64_t x[2], y[2];
    memcpy(x, a->bytes, 16);
    memcpy(y, b->bytes, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

static inline bool in_set(const floe_cidr_set *set, set_memo *m, const floe_addr *a) {
    for (unsigned i = 0; i < m->filled; i++)
        if (same_addr(&m->addr[i], a)) return m->in[i];
    const unsigned i = m->next;
    m->addr[i] = *a;
    m->in[i] = floe_cidr_set_contains(set, a);
    m->next = (uint8_t)(i ^ 1);
    if (m->filled < 2) m->filled++;
    return m->in[i];
}

enum { MEMO_INTERNAL, MEMO_INTEL, MEMO_ALLOW_ACTORS, MEMO_ALLOW_TARGETS, MEMO_MINING, MEMO_COUNT };

struct floe_detect_writer {
    floe_detect *detect;
    floe_probe_log probes;    /* this thread's, until floe_detect_writer_finish */
    floe_beacon_set *beacons; /* this thread's, until floe_detect_writer_finish */
    floe_agg_writer *writers[T_COUNT];
    uint32_t *rows[T_COUNT];
    uint32_t capacity;
    set_memo memo[MEMO_COUNT]; /* by address set */
    int64_t late_before;       /* records of the current file starting before this are late */
    uint64_t late;             /* ... and this many were */
};

static bool port_in(const uint8_t *bits, unsigned port) {
    return bits[port >> 3] >> (port & 7) & 1;
}

static void key_of(floe_key_spec *k, int64_t window, const floe_field *fields, unsigned n,
                   floe_field distinct) {
    memset(k, 0, sizeof *k);
    k->window_seconds = window;
    k->nparts = (uint8_t)n;
    for (unsigned i = 0; i < n; i++)
        k->parts[i] = (floe_key_part){fields[i], 32, 128};
    if (distinct != FLOE_FIELD_COUNT) {
        k->ndistinct = 1;
        k->distinct[0] = distinct;
    }
}

floe_detect *floe_detect_new(const floe_detect_config *config) {
    floe_detect *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->config = config;
    const floe_field S = FLOE_F_SRCADDR, D = FLOE_F_DSTADDR, SP = FLOE_F_SRCPORT,
                     DP = FLOE_F_DSTPORT, P = FLOE_F_PROTOCOL, NONE = FLOE_FIELD_COUNT;
    const int64_t w = config->scan_window;
    floe_key_spec k[T_COUNT];
    key_of(&k[T_ANSWER], w, (floe_field[]){D, SP, P}, 3, S);
    key_of(&k[T_PROBE], config->probe_window, (floe_field[]){D, DP, S}, 3, NONE);
    key_of(&k[T_BRUTE], w, (floe_field[]){S, D, DP}, 3, NONE);
    key_of(&k[T_OUT], w, (floe_field[]){S, D, P}, 3, NONE);
    key_of(&k[T_DNS], w, (floe_field[]){S, D}, 2, NONE);
    key_of(&k[T_MINE], w, (floe_field[]){S, D, DP, P}, 4, NONE);
    key_of(&k[T_INTEL], w, (floe_field[]){S, D, DP, P}, 4, NONE);
    if (!(d->beacon_history = floe_beacon_set_new(config->beacon_max_connections))) {
        floe_detect_free(d);
        return NULL;
    }
    for (int t = 0; t < T_COUNT; t++) {
        if (!(d->tables[t] = floe_agg_new(&k[t]))) {
            floe_detect_free(d);
            return NULL;
        }
    }
    return d;
}

static void free_evidence(floe_detect *d) {
    for (int t = 0; t < T_COUNT; t++) {
        floe_agg_free(d->tables[t]);
        d->tables[t] = NULL;
    }
    for (size_t i = 0; i < d->nbeacon_sets; i++)
        floe_beacon_set_free(d->beacon_sets[i]);
    free(d->beacon_sets);
    d->beacon_sets = NULL;
    d->nbeacon_sets = 0;
    free(d->closing_sets);
    d->closing_sets = NULL;
    free(d->closing_logs);
    d->closing_logs = NULL;
    d->nclosing_sets = 0;
    floe_beacon_set_free(d->beacon_history);
    d->beacon_history = NULL;
    floe_probe_log_free(&d->probes);
    floe_volume_state_free(d->volume);
    d->volume = NULL;
}

floe_status floe_detect_drop_evidence(floe_detect *d) {
    for (int part = 0; part < FLOE_DETECT_PARTS; part++)
        if (!d->found[part].done) return FLOE_ERR_INVALID;
    free_evidence(d);
    return FLOE_OK;
}

void floe_detect_free(floe_detect *d) {
    if (!d) return;
    free_evidence(d);
    for (int part = 0; part < FLOE_DETECT_PARTS; part++)
        free(d->found[part].items);
    free(d);
}

unsigned floe_detect_table_count(void) {
    return T_COUNT;
}

floe_agg *floe_detect_table(floe_detect *d, unsigned i) {
    return i < T_COUNT ? d->tables[i] : NULL;
}

floe_detect_writer *floe_detect_writer_new(floe_detect *d) {
    floe_detect_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->detect = d;
    w->probes.fold_from = FLOE_PROBE_FOLD_FROM;
    w->late_before = INT64_MIN;
    if (!(w->beacons = floe_beacon_set_new(d->config->beacon_max_connections))) {
        free(w);
        return NULL;
    }
    for (int t = 0; t < T_COUNT; t++) {
        if (!(w->writers[t] = floe_agg_writer_new(d->tables[t]))) {
            floe_detect_writer_free(w);
            return NULL;
        }
    }
    return w;
}

void floe_detect_writer_free(floe_detect_writer *w) {
    if (!w) return;
    for (int t = 0; t < T_COUNT; t++) {
        floe_agg_writer_free(w->writers[t]);
        free(w->rows[t]);
    }
    floe_beacon_set_free(w->beacons);
    floe_probe_log_free(&w->probes);
    free(w);
}

floe_status floe_detect_writer_finish(floe_detect_writer *w) {
    floe_status st = floe_probe_log_take(&w->detect->probes, &w->probes);
    if (st != FLOE_OK) return st;
    /* The set itself changes hands: the sets are folded together (floe_beacon_fold needs every
     * entry before a horizon at once). */
    floe_detect *d = w->detect;
    floe_beacon_set **sets = realloc(d->beacon_sets, (d->nbeacon_sets + 1) * sizeof *sets);
    if (!sets) return FLOE_ERR_NOMEM;
    d->beacon_sets = sets;
    floe_beacon_set *empty = floe_beacon_set_new(d->config->beacon_max_connections);
    if (!empty) return FLOE_ERR_NOMEM;
    d->beacon_sets[d->nbeacon_sets++] = w->beacons;
    w->beacons = empty;
    return FLOE_OK;
}

/* ---- closing windows ---- */

int64_t floe_detect_horizon(const floe_detect *d, int64_t key_time) {
    const floe_detect_config *c = d->config;
    if (c->lateness < 0) return INT64_MIN;
    const int64_t hour = floe_detect_window_of(key_time, 3600);
    return hour - c->lateness;
}

void floe_detect_writer_begin_file(floe_detect_writer *w, bool has_time, int64_t key_time) {
    w->late_before = has_time ? floe_detect_horizon(w->detect, key_time) : INT64_MIN;
    w->late = 0;
}

uint64_t floe_detect_writer_late(const floe_detect_writer *w) {
    return w->late;
}

floe_status floe_detect_close_begin(floe_detect *d, floe_detect_writer *const *writers,
                                    size_t nwriters, int64_t horizon) {
    d->closing_horizon = horizon;
    d->nclosing_sets = 0;
    if (horizon == INT64_MIN || horizon == INT64_MAX) return FLOE_ERR_INVALID;
    const size_t n = nwriters ? nwriters : 1;
    floe_beacon_set **sets = realloc(d->closing_sets, n * sizeof *sets);
    if (sets) d->closing_sets = sets;
    floe_probe_log **logs = realloc(d->closing_logs, n * sizeof *logs);
    if (logs) d->closing_logs = logs;
    if (!sets || !logs) return FLOE_ERR_NOMEM;
    /* Only pointers here: the part that needs the logs takes them (a copy of tens of MB, on
     * a reducer's thread rather than the caller's alone). */
    for (size_t i = 0; i < nwriters; i++) {
        sets[i] = writers[i]->beacons;
        logs[i] = &writers[i]->probes;
    }
    d->nclosing_sets = nwriters;
    return FLOE_OK;
}

static bool is_reply(uint16_t sport, uint16_t dport, const uint8_t *flags, uint32_t r,
                     const floe_batch *b) {
    if (flags && !floe_batch_is_null(b, FLOE_F_TCP_FLAGS, r)) {
        if (flags[r] & 0x10) return true;  /* SYN-ACK sent: the server side */
        if (flags[r] & 0x02) return false; /* SYN without ACK: the client side */
    }
    return sport < dport && dport >= 1024;
}

/* A flow that could be a probe or a probe's answer, judged without tcp-flags: at most three
 * packets, and for TCP no payload (at most 60 bytes a packet over IPv4, 80 over IPv6: headers
 * with the largest TCP options), as SYNs, SYN-ACKs and RSTs are. One to three UDP datagrams of
 * any size qualify (a DNS or SNMP query carries its question). */
static inline bool short_exchange(uint8_t proto, uint64_t packets, uint64_t bytes,
                                  const floe_addr *src) {
    if (packets == 0 || packets > 3) return false;
    if (proto != 6) return true;
    return bytes <= packets * (floe_addr_is_v4(src) ? 60 : 80);
}

/* An outbound request to its (host, remote host, port, proto) pair: NetworkPortUnusual's,
 * Spambot's and Beaconing's evidence (floe_beacon.h). */
/* The columns add_pair reads, fetched once a batch. */
typedef struct pair_columns {
    const uint64_t *bytes, *packets;
    const int64_t *starts, *ends;
    const uint16_t *sport;
} pair_columns;

static floe_status add_pair(floe_detect_writer *w, const floe_batch *b, const pair_columns *col,
                            uint32_t r, const floe_addr *src, const floe_addr *dst, uint16_t port,
                            uint8_t proto, uint8_t action) {
    const uint64_t *bytes = col->bytes, *packets = col->packets;
    const int64_t *starts = col->starts, *ends = col->ends;
    const uint16_t *sport = col->sport;
    const bool has_start = starts && !floe_batch_is_null(b, FLOE_F_START, r);
    const bool has_end = ends && !floe_batch_is_null(b, FLOE_F_END, r);
    const floe_agg_measures traffic = {
        1,
        packets && !floe_batch_is_null(b, FLOE_F_PACKETS, r) ? packets[r] : 0,
        bytes && !floe_batch_is_null(b, FLOE_F_BYTES, r) ? bytes[r] : 0,
        action == FLOE_ACTION_ACCEPT,
        action == FLOE_ACTION_REJECT,
        has_start ? starts[r] : INT64_MAX,
        has_end ? ends[r] : INT64_MIN};
    const floe_beacon_key key = {*src, *dst, port, proto};
    if (!has_start) return floe_beacon_add(w->beacons, &key, &traffic, NULL);
    /* Beaconing's entry; a format without an end column: the record ends where it starts. */
    const floe_beacon_entry entry = {starts[r], ends ? ends[r] : starts[r],
                                     sport ? (int32_t)sport[r] : -1};
    return floe_beacon_add(w->beacons, &key, &traffic, &entry);
}

floe_status floe_detect_writer_add(floe_detect_writer *w, const floe_batch *b) {
    const floe_detect_config *c = w->detect->config;
    const uint32_t n = b->count;
    if (n == 0) return FLOE_OK;
    if (w->capacity < n) {
        for (int t = 0; t < T_COUNT; t++) {
            uint32_t *rows = realloc(w->rows[t], n * sizeof *rows);
            if (!rows) return FLOE_ERR_NOMEM;
            w->rows[t] = rows;
        }
        w->capacity = n;
    }
    const floe_addr *src = floe_batch_addr_or_null(b, FLOE_F_SRCADDR);
    const floe_addr *dst = floe_batch_addr_or_null(b, FLOE_F_DSTADDR);
    if (!src || !dst) return FLOE_OK; /* nothing to say about flows without both ends */
    const uint16_t *sport = floe_batch_u16_or_null(b, FLOE_F_SRCPORT);
    const uint16_t *dport = floe_batch_u16_or_null(b, FLOE_F_DSTPORT);
    const uint8_t *proto = floe_batch_u8_or_null(b, FLOE_F_PROTOCOL);
    const uint8_t *action = floe_batch_u8_or_null(b, FLOE_F_ACTION);
    const uint8_t *flags = floe_batch_u8_or_null(b, FLOE_F_TCP_FLAGS);
    const uint64_t *bytes = floe_batch_u64_or_null(b, FLOE_F_BYTES);
    const uint64_t *packets = floe_batch_u64_or_null(b, FLOE_F_PACKETS);
    const int64_t *starts = floe_batch_time_or_null(b, FLOE_F_START);
    const int64_t *ends = floe_batch_time_or_null(b, FLOE_F_END);
    const pair_columns pair_cols = {bytes, packets, starts, ends, sport};
    const uint64_t addr_nulls = UINT64_C(1) << FLOE_F_SRCADDR | UINT64_C(1) << FLOE_F_DSTADDR;
    const bool may_be_late = starts && w->late_before != INT64_MIN;
    uint32_t cnt[T_COUNT] = {0};
    for (uint32_t r = 0; r < n; r++) {
        if (b->nulls[r] & addr_nulls) continue; /* NODATA / SKIPDATA rows */
        if (may_be_late && starts[r] < w->late_before && !floe_batch_is_null(b, FLOE_F_START, r)) {
            w->late++;
            continue;
        }
        const uint16_t sp = sport ? sport[r] : 0, dp = dport ? dport[r] : 0;
        const uint8_t pr = proto ? proto[r] : 0, act = action ? action[r] : 0;
        const bool src_in = in_set(c->internal, &w->memo[MEMO_INTERNAL], &src[r]);
        const bool dst_in = in_set(c->internal, &w->memo[MEMO_INTERNAL], &dst[r]);
        const bool ported = pr == 6 || pr == 17;
        const bool reply = ported && is_reply(sp, dp, flags, r, b);
        /* The actor of a request is its source; of a reply, its destination. */
        const floe_addr *actor = reply ? &dst[r] : &src[r], *target = reply ? &src[r] : &dst[r];
        if ((c->allow_actors && in_set(c->allow_actors, &w->memo[MEMO_ALLOW_ACTORS], actor)) ||
            (c->allow_targets && in_set(c->allow_targets, &w->memo[MEMO_ALLOW_TARGETS], target)))
            continue;
        const bool outbound = src_in && !dst_in;
        if (outbound) w->rows[T_OUT][cnt[T_OUT]++] = r;
        const bool small = !packets || !bytes || short_exchange(pr, packets[r], bytes[r], &src[r]);
        if (ported && reply) {
            /* An answer to a probe is as short as the probe (a SYN-ACK or RST, one datagram);
             * a reply with data answers a client's real request, which is never a probe. */
            if (act == FLOE_ACTION_ACCEPT && small) w->rows[T_ANSWER][cnt[T_ANSWER]++] = r;
        } else {
            /* A request (or a portless protocol). */
            if (ported) {
                /* A probe: REJECTed, or a SYN alone where tcp-flags say so, or else a short
                 * exchange (short_exchange): a client that got an answer sends data. */
                const bool flagged =
                    flags && pr == 6 && !floe_batch_is_null(b, FLOE_F_TCP_FLAGS, r);
                const bool probe = act == FLOE_ACTION_REJECT || (flagged ? flags[r] == 2 : small);
                if (probe) {
                    floe_probe *e = floe_probe_log_append(&w->probes);
                    if (!e) return FLOE_ERR_NOMEM;
                    const bool has_start = starts && !floe_batch_is_null(b, FLOE_F_START, r);
                    const bool has_end = ends && !floe_batch_is_null(b, FLOE_F_END, r);
                    *e = (floe_probe){src[r],
                                      dst[r],
                                      has_start ? floe_detect_window_of(starts[r], c->scan_window)
                                                : 0,
                                      has_start ? starts[r] : INT64_MAX,
                                      has_end ? ends[r] : INT64_MIN,
                                      packets ? packets[r] : 0,
                                      bytes ? bytes[r] : 0,
                                      1,
                                      act == FLOE_ACTION_REJECT,
                                      dp,
                                      pr};
                }
                if (act == FLOE_ACTION_ACCEPT && !src_in && dst_in &&
                    port_in(c->sensitive_ports, dp))
                    w->rows[T_PROBE][cnt[T_PROBE]++] = r;
                if (pr == 6 && (dp == 22 || dp == 3389 || dp == 5985 || dp == 5986) &&
                    (!bytes || bytes[r] < c->brute_max_bytes))
                    w->rows[T_BRUTE][cnt[T_BRUTE]++] = r;
                if (outbound) {
                    if (dport && !floe_batch_is_null(b, FLOE_F_DSTPORT, r)) {
                        floe_status st =
                            add_pair(w, b, &pair_cols, r, &src[r], &dst[r], dp, pr, act);
                        if (st != FLOE_OK) return st;
                    }
                    if (pr == 17 && dp == 53) w->rows[T_DNS][cnt[T_DNS]++] = r;
                    if (act == FLOE_ACTION_ACCEPT &&
                        (port_in(c->mining_ports, dp) ||
                         (c->mining_hosts &&
                          in_set(c->mining_hosts, &w->memo[MEMO_MINING], &dst[r]))))
                        w->rows[T_MINE][cnt[T_MINE]++] = r;
                }
            }
            const bool any_side = c->intel_has_internal;
            set_memo *memo = &w->memo[MEMO_INTEL];
            if (c->intel && (((any_side || !src_in) && in_set(c->intel, memo, &src[r])) ||
                             ((any_side || !dst_in) && in_set(c->intel, memo, &dst[r]))))
                w->rows[T_INTEL][cnt[T_INTEL]++] = r;
        }
    }
    for (int t = 0; t < T_COUNT; t++) {
        if (cnt[t] == 0) continue;
        floe_status st = floe_agg_writer_add_rows(w->writers[t], b, w->rows[t], cnt[t]);
        if (st != FLOE_OK) return st;
    }
    return FLOE_OK;
}
