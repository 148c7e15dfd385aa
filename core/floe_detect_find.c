/* floe_detect_find.c: the findings, drawn from the detectors' finished evidence tables
 * (floe_detect_tables.h) after the run: thresholds, the evidence each finding carries, its
 * one-line summary, and one order for all of them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_agg.h"
#include "floe_distinct.h"
#include "floe_detect.h"
#include "floe_detect_tables.h"
#include "floe_mem.h"
#include "floe_sort.h"

static floe_finding *new_finding(floe_finding_list *l, floe_finding_type type, int64_t window_start,
                                 int64_t window_len) {
    if (l->oom) return NULL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        floe_finding *p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            l->oom = true;
            return NULL;
        }
        l->items = p;
        l->cap = cap;
    }
    floe_finding *f = &l->items[l->n++];
    memset(f, 0, sizeof *f);
    f->type = type;
    f->window_start = window_start;
    f->window_end = window_start + window_len;
    f->port = -1;
    f->first_seen = INT64_MAX;
    f->last_seen = INT64_MIN;
    return f;
}

/* Adds t to the finding's sorted target list (kept to FLOE_FINDING_MAX_LISTED). */
static void list_add(floe_addr *list, uint32_t *n, const floe_addr *t) {
    uint32_t i = 0;
    while (i < *n && floe_addr_cmp(&list[i], t) < 0)
        i++;
    if (i < *n && floe_addr_cmp(&list[i], t) == 0) return;
    if (i >= FLOE_FINDING_MAX_LISTED) return;
    uint32_t keep = *n < FLOE_FINDING_MAX_LISTED ? *n : FLOE_FINDING_MAX_LISTED - 1;
    memmove(&list[i + 1], &list[i], (keep - i) * sizeof *list);
    list[i] = *t;
    if (*n < FLOE_FINDING_MAX_LISTED) (*n)++;
}

static void add_measures(floe_finding *f, const floe_agg_measures *m) {
    f->flows = floe_counter_add(f->flows, m->flows);
    f->packets = floe_counter_add(f->packets, m->packets);
    f->bytes = floe_counter_add(f->bytes, m->bytes);
    f->rejected = floe_counter_add(f->rejected, m->rejected);
    if (m->first_seen < f->first_seen) f->first_seen = m->first_seen;
    if (m->last_seen > f->last_seen) f->last_seen = m->last_seen;
}

typedef struct ctx {
    const floe_detect_config *c;
    floe_finding_list *out;
    int64_t horizon; /* windows that ended by it are drawn (floe_detect_close_begin) */
    bool final;      /* the end of the run: every window is */
} ctx;

/* Whether a window of length len starting at `start` is drawn now: at the end of the run all
 * are; before, those floe_agg_drop_closed will drop (windows of records without a start time,
 * window 0, stay to the end). */
static bool drawn_now(const ctx *x, int64_t start, int64_t len) {
    return x->final || floe_agg_window_closed(start, len, x->horizon);
}

static bool internal(const ctx *x, const floe_addr *a) {
    return floe_cidr_set_contains(x->c->internal, a);
}

/* The direction from an actor to its target(s), by which of them are internal. */
static floe_direction direction_by(bool internal_actor, bool internal_target) {
    return internal_actor && internal_target ? FLOE_DIR_INTERNAL
           : internal_actor                  ? FLOE_DIR_OUTBOUND
           : internal_target                 ? FLOE_DIR_INBOUND
                                             : FLOE_DIR_EXTERNAL;
}

static floe_direction direction_of(const ctx *x, const floe_addr *actor, const floe_addr *target) {
    return direction_by(internal(x, actor), internal(x, target));
}

static const char *proto_name(uint8_t p) {
    switch (p) {
    case 1:
        return "ICMP";
    case 6:
        return "TCP";
    case 17:
        return "UDP";
    case 47:
        return "GRE";
    case 50:
        return "ESP";
    case 58:
        return "ICMPv6";
    }
    return NULL;
}

static void proto_text(uint8_t p, char out[16]) {
    const char *name = proto_name(p);
    if (name)
        snprintf(out, 16, "%s", name);
    else
        snprintf(out, 16, "protocol %u", p);
}

/* Groups of a sorted table that share their first `nparts` key parts and window. */
typedef struct run_reader {
    floe_agg *agg;
    const floe_agg_group *groups;
    size_t n;
} run_reader;

/* The groups of a table, in order, whose windows are drawn now. */
static floe_status open_table(const ctx *x, floe_agg *agg, run_reader *r) {
    r->agg = agg;
    return x->final ? floe_agg_sorted(agg, &r->groups, &r->n)
                    : floe_agg_sorted_closed(agg, x->horizon, &r->groups, &r->n);
}

static bool same_prefix(const run_reader *r, const floe_agg_group *a, const floe_agg_group *b,
                        unsigned nparts) {
    if (a->window_start != b->window_start) return false;
    size_t la = floe_agg_key_prefix_len(r->agg, a, nparts);
    return la == floe_agg_key_prefix_len(r->agg, b, nparts) && memcmp(a->key, b->key, la) == 0;
}

/* The end of the run of groups from i on that share group i's window and first nparts parts. */
static size_t run_end(const run_reader *r, size_t i, unsigned nparts) {
    size_t j = i + 1;
    while (j < r->n && same_prefix(r, &r->groups[i], &r->groups[j], nparts))
        j++;
    return j;
}

static uint64_t distinct_of(const floe_agg_group *g, bool *estimated) {
    *estimated = !floe_distinct_is_exact(&g->distinct[0]);
    return floe_distinct_estimate(&g->distinct[0]);
}

/* The accepted replies a sweep's actor got from its port: distinct answering hosts per (window,
 * actor, port, proto), looked up by binary search in the sorted T_ANSWER table. */
static uint64_t answered(floe_agg *answers, const floe_agg_group *ans, size_t nans, int64_t window,
                         const floe_key_value *sweep_key) {
    size_t lo = 0, hi = nans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const floe_agg_group *g = &ans[mid];
        floe_key_value v[FLOE_KEY_MAX_PARTS];
        floe_agg_key_decode(answers, g, v);
        int c = g->window_start < window ? -1 : g->window_start > window ? 1 : 0;
        if (!c) c = v[0].null ? -1 : floe_addr_cmp(&v[0].v.addr, &sweep_key[0].v.addr);
        if (!c)
            c = v[1].null ? -1
                          : (v[1].v.u16 > sweep_key[1].v.u16) - (v[1].v.u16 < sweep_key[1].v.u16);
        if (!c)
            c = v[2].null ? -1 : (v[2].v.u8 > sweep_key[2].v.u8) - (v[2].v.u8 < sweep_key[2].v.u8);
        if (c == 0) {
            bool est;
            return distinct_of(g, &est);
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static void add_probe(floe_finding *f, const floe_probe *p) {
    const floe_agg_measures m = {p->flows,    p->packets, p->bytes, p->flows - p->rejected,
                                 p->rejected, p->first,   p->last};
    add_measures(f, &m);
}

/* One source's folded probes by (port, proto, dst): a total order, dst being unique there. */
static inline bool probe_less_by_port(const floe_probe *const *a, const floe_probe *const *b) {
    const floe_probe *x = *a, *y = *b;
    if (x->port != y->port) return x->port < y->port;
    if (x->proto != y->proto) return x->proto < y->proto;
    return floe_addr_cmp(&x->dst, &y->dst) < 0;
}

typedef const floe_probe *probe_ref;
FLOE_SORT_DEFINE(sort_probes_by_port, probe_ref, probe_less_by_port)

/* PortSweeps among one source's probes p[0..n) of one window: regrouped by (port, proto), each
 * with many distinct hosts, most of which never answered, is a sweep. */
static floe_status sweeps_of_source(ctx *x, const floe_probe *p, size_t n, const run_reader *a,
                                    const floe_probe **refs) {
    for (size_t k = 0; k < n; k++)
        refs[k] = &p[k];
    sort_probes_by_port(refs, n);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && refs[j]->port == refs[i]->port && refs[j]->proto == refs[i]->proto)
            j++;
        const uint64_t hosts = j - i;
        if (hosts >= x->c->portsweep_hosts) {
            floe_key_value key[3];
            memset(key, 0, sizeof key);
            key[0].v.addr = p[0].src;
            key[1].v.u16 = refs[i]->port;
            key[2].v.u8 = refs[i]->proto;
            uint64_t answering = answered(a->agg, a->groups, a->n, p[0].window, key);
            if ((double)answering <= x->c->portsweep_max_answered * (double)hosts) {
                floe_finding *f =
                    new_finding(x->out, FLOE_FIND_PORTSWEEP, p[0].window, x->c->scan_window);
                if (!f) return FLOE_ERR_NOMEM;
                f->actor = p[0].src;
                f->port = refs[i]->port;
                f->protocol = refs[i]->proto;
                f->severity = FLOE_SEV_HIGH;
                f->distinct_hosts = hosts;
                f->distinct_ports = 1;
                bool internal_target = false;
                for (size_t k = i; k < j; k++) {
                    list_add(f->targets, &f->ntargets_listed, &refs[k]->dst);
                    internal_target |= internal(x, &refs[k]->dst);
                    add_probe(f, refs[k]);
                }
                f->direction = direction_by(internal(x, &f->actor), internal_target);
            }
        }
        i = j;
    }
    return FLOE_OK;
}

/* Portscan and PortSweep from the folded probe log, an item per (window, src, dst, proto,
 * port), so every count is exact and every target can be listed:
 *  - Portscan: a (window, src, dst, proto) run of at least portscan_ports items (ports);
 *  - PortSweep: a source whose window holds at least portsweep_hosts items is regrouped by
 *    (port, proto) (sweeps_of_source). Few sources probe that many, so little is regrouped. */
static floe_status find_scans_and_sweeps(ctx *x, floe_probe_log *log, floe_agg *answers) {
    run_reader a;
    floe_status st = open_table(x, answers, &a);
    if (st != FLOE_OK) return st;
    st = floe_probe_log_fold(log);
    if (st != FLOE_OK) return st;
    floe_probe *p = log->items;
    const floe_probe **refs = NULL;
    size_t refs_cap = 0, kept = 0; /* probes of windows still open move down to p[0, kept) */
    for (size_t i = 0; i < log->n && st == FLOE_OK;) {
        size_t j = i + 1; /* [i, j): one source in one window */
        while (j < log->n && p[j].window == p[i].window && floe_addr_cmp(&p[j].src, &p[i].src) == 0)
            j++;
        if (!drawn_now(x, p[i].window, x->c->scan_window)) {
            memmove(&p[kept], &p[i], (j - i) * sizeof *p);
            kept += j - i;
            i = j;
            continue;
        }
        for (size_t s = i; s < j;) {
            size_t e = s + 1; /* [s, e): one (dst, proto) */
            while (e < j && p[e].proto == p[s].proto && floe_addr_cmp(&p[e].dst, &p[s].dst) == 0)
                e++;
            if (e - s >= x->c->portscan_ports) {
                floe_finding *f =
                    new_finding(x->out, FLOE_FIND_PORTSCAN, p[s].window, x->c->scan_window);
                if (!f) {
                    st = FLOE_ERR_NOMEM;
                    break;
                }
                f->actor = p[s].src;
                list_add(f->targets, &f->ntargets_listed, &p[s].dst);
                f->protocol = p[s].proto;
                f->direction = direction_of(x, &f->actor, &p[s].dst);
                f->severity = FLOE_SEV_MEDIUM;
                f->distinct_ports = e - s;
                f->distinct_hosts = 1;
                for (size_t k = s; k < e; k++)
                    add_probe(f, &p[k]);
            }
            s = e;
        }
        if (st == FLOE_OK && j - i >= x->c->portsweep_hosts) {
            if (j - i > refs_cap) {
                const floe_probe **grown = realloc(refs, (j - i) * sizeof *refs);
                if (!grown) {
                    st = FLOE_ERR_NOMEM;
                    break;
                }
                refs = grown;
                refs_cap = j - i;
            }
            st = sweeps_of_source(x, &p[i], j - i, &a, refs);
        }
        i = j;
    }
    free(refs);
    if (st == FLOE_OK) log->n = kept;
    return st;
}

/* PortProbeUnprotectedPort: (window, dst, port) ACCEPTed from many external sources; T_PROBE
 * keeps one group per source, so they are counted exactly and listed. */
static floe_status find_probes(ctx *x, floe_agg *agg) {
    run_reader r;
    floe_status st = open_table(x, agg, &r);
    if (st != FLOE_OK) return st;
    for (size_t i = 0; i < r.n;) {
        size_t j = run_end(&r, i, 2);
        if (j - i >= x->c->probe_sources) {
            floe_key_value v[FLOE_KEY_MAX_PARTS];
            floe_agg_key_decode(agg, &r.groups[i], v);
            floe_finding *f = new_finding(x->out, FLOE_FIND_PORT_PROBE, r.groups[i].window_start,
                                          x->c->probe_window);
            if (!f) return FLOE_ERR_NOMEM;
            list_add(f->targets, &f->ntargets_listed, &v[0].v.addr);
            f->port = v[1].v.u16;
            f->protocol = 6;
            f->direction = FLOE_DIR_INBOUND;
            f->severity = FLOE_SEV_LOW;
            f->distinct_hosts = j - i;
            f->distinct_ports = 1;
            for (size_t k = i; k < j; k++) {
                floe_key_value s[FLOE_KEY_MAX_PARTS];
                floe_agg_key_decode(agg, &r.groups[k], s);
                list_add(f->sources, &f->nsources_listed, &s[2].v.addr);
                add_measures(f, r.groups[k].m);
            }
            f->actor = f->sources[0];
        }
        i = j;
    }
    return FLOE_OK;
}

static floe_status find_brute_force(ctx *x, floe_agg *agg) {
    run_reader r;
    floe_status st = open_table(x, agg, &r);
    if (st != FLOE_OK) return st;
    for (size_t i = 0; i < r.n; i++) {
        const floe_agg_group *g = &r.groups[i];
        if (g->m->flows < x->c->brute_flows) continue;
        floe_key_value v[FLOE_KEY_MAX_PARTS];
        floe_agg_key_decode(agg, g, v);
        if (v[0].null || v[1].null || v[2].null) continue;
        uint16_t port = v[2].v.u16;
        floe_finding_type type = port == 22     ? FLOE_FIND_SSH_BRUTE
                                 : port == 3389 ? FLOE_FIND_RDP_BRUTE
                                                : FLOE_FIND_WINRM_BRUTE;
        floe_finding *f = new_finding(x->out, type, g->window_start, x->c->scan_window);
        if (!f) return FLOE_ERR_NOMEM;
        f->actor = v[0].v.addr;
        list_add(f->targets, &f->ntargets_listed, &v[1].v.addr);
        f->port = port;
        f->protocol = 6;
        f->direction = direction_of(x, &f->actor, &v[1].v.addr);
        /* As GuardDuty rates them: an instance of ours attacking others is the worse news. */
        f->severity = f->direction == FLOE_DIR_INBOUND ? FLOE_SEV_LOW : FLOE_SEV_HIGH;
        f->distinct_hosts = 1;
        f->distinct_ports = 1;
        add_measures(f, g->m);
    }
    return FLOE_OK;
}

/* The baseline of TrafficVolumeUnusual: an internal host's volume samples (bytes to one
 * external host in one window, summed over protocols), their count, sum and sum of squares. */
typedef struct host_volume {
    floe_addr src;
    uint64_t n;
    double sum, sumsq;
} host_volume;

/* The hosts of T_OUT, found by address (open addressing, slots hold index + 1). */
typedef struct host_map {
    host_volume *hosts;
    size_t n, cap;
    uint32_t *slots;
    size_t nslots; /* a power of two, at least twice n */
} host_map;

static size_t host_slot(const host_map *m, const floe_addr *a) {
    size_t mask = m->nslots - 1, i = (size_t)floe_distinct_hash_bytes(a->bytes, 16) & mask;
    while (m->slots[i] && floe_addr_cmp(&m->hosts[m->slots[i] - 1].src, a) != 0)
        i = (i + 1) & mask;
    return i;
}

/* The index of host a, added when new; -1 when out of memory. */
static long host_index(host_map *m, const floe_addr *a) {
    if ((m->n + 1) * 2 > m->nslots) {
        size_t nslots = m->nslots ? m->nslots * 2 : 1024;
        uint32_t *slots = calloc(nslots, sizeof *slots);
        if (!slots) return -1;
        free(m->slots);
        m->slots = slots;
        m->nslots = nslots;
        for (size_t h = 0; h < m->n; h++)
            m->slots[host_slot(m, &m->hosts[h].src)] = (uint32_t)(h + 1);
    }
    size_t i = host_slot(m, a);
    if (m->slots[i]) return (long)m->slots[i] - 1;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        host_volume *grown = realloc(m->hosts, cap * sizeof *grown);
        if (!grown) return -1;
        m->hosts = grown;
        m->cap = cap;
    }
    m->hosts[m->n] = (host_volume){.src = *a};
    m->slots[i] = (uint32_t)++m->n;
    return (long)m->n - 1;
}

/* One protocol's group of a (window, internal host, external host) sample of T_OUT, copied out
 * of the table so it can outlive its window. */
typedef struct volume_group {
    int64_t window;
    floe_addr src, dst;
    uint8_t proto;            /* 0 when null */
    bool dns_flood;           /* UDP only: its DNS part (T_DNS) alone passes the DoS bars */
    floe_agg_measures m, dns; /* dns: the DNS part's, when dns_flood */
} volume_group;

/* A sample large enough to be a TrafficVolumeUnusual finding, kept to the end of the run: its
 * z-score needs the host's baseline over the whole run. Its groups are
 * floe_volume_state.groups[first, first + n). */
typedef struct volume_sample {
    uint64_t bytes;
    uint32_t host;
    size_t first, n;
} volume_sample;

/* TrafficVolumeUnusual's state across windows (floe_detect.volume). */
struct floe_volume_state {
    host_map hosts;
    volume_group *groups;
    size_t ngroups, groups_cap;
    volume_sample *samples;
    size_t nsamples, samples_cap;
};

void floe_volume_state_free(floe_volume_state *v) {
    if (!v) return;
    free(v->hosts.hosts);
    free(v->hosts.slots);
    floe_mem_free(v->groups, v->groups_cap * sizeof *v->groups);
    floe_mem_free(v->samples, v->samples_cap * sizeof *v->samples);
    free(v);
}

/* TrafficVolumeUnusual for a sample of `bytes` of host h: a z-score against the host's other
 * samples (leave one out, so one huge window cannot hide in the baseline it inflates). */
static bool volume_unusual(const ctx *x, const host_volume *h, uint64_t bytes, double *z) {
    if (bytes < x->c->volume_bytes || h->n - 1 < x->c->volume_min_samples) return false;
    const double others = (double)(h->n - 1), b = (double)bytes, mean = (h->sum - b) / others;
    const double var = (h->sumsq - b * b) / others - mean * mean;
    const double sd = var > 0 ? sqrt(var) : 0;
    *z = sd > 0 ? (b - mean) / sd : (b > mean ? INFINITY : 0);
    return *z >= x->c->volume_zscore;
}

static floe_status volume_finding(ctx *x, const volume_group *g, size_t n, double z) {
    floe_finding *f = new_finding(x->out, FLOE_FIND_VOLUME_UNUSUAL, g[0].window, x->c->scan_window);
    if (!f) return FLOE_ERR_NOMEM;
    f->actor = g[0].src;
    list_add(f->targets, &f->ntargets_listed, &g[0].dst);
    f->direction = FLOE_DIR_OUTBOUND;
    f->severity = FLOE_SEV_MEDIUM;
    f->score = isinf(z) ? 1e9 : z;
    f->distinct_hosts = 1;
    uint8_t proto = g[0].proto;
    for (size_t i = 0; i < n; i++) {
        if (g[i].proto != proto) proto = 0;
        add_measures(f, &g[i].m);
    }
    f->protocol = proto;
    return FLOE_OK;
}

static bool dos_size(const ctx *x, const floe_agg_measures *m) {
    return m->packets >= x->c->dos_packets || m->bytes >= x->c->dos_bytes;
}

/* DenialOfService.* for one protocol's group of a sample. */
static floe_status dos_finding(ctx *x, const volume_group *g) {
    if (!dos_size(x, &g->m)) return FLOE_OK;
    floe_finding_type type;
    const floe_agg_measures *shown = &g->m;
    if (g->proto == 6) {
        type = FLOE_FIND_DOS_TCP;
    } else if (g->proto == 17) {
        /* A flood that is DNS on its own is reported as the DNS kind. */
        type = g->dns_flood ? FLOE_FIND_DOS_DNS : FLOE_FIND_DOS_UDP;
        if (g->dns_flood) shown = &g->dns;
    } else if (g->proto == 1 || g->proto == 58) {
        return FLOE_OK; /* ICMP floods are not in detections.md's list */
    } else {
        type = FLOE_FIND_DOS_UNUSUAL;
    }
    floe_finding *f = new_finding(x->out, type, g->window, x->c->scan_window);
    if (!f) return FLOE_ERR_NOMEM;
    f->actor = g->src;
    list_add(f->targets, &f->ntargets_listed, &g->dst);
    f->protocol = g->proto;
    if (type == FLOE_FIND_DOS_DNS) f->port = 53;
    f->direction = FLOE_DIR_OUTBOUND;
    f->severity = FLOE_SEV_HIGH;
    f->distinct_hosts = 1;
    add_measures(f, shown);
    return FLOE_OK;
}

/* T_OUT group `grp` as a volume_group; for a UDP flood, T_DNS (d) says whether its DNS part
 * alone is one. */
static void volume_group_of(const ctx *x, const run_reader *r, const floe_agg_group *grp,
                            const run_reader *d, volume_group *g) {
    floe_key_value k[FLOE_KEY_MAX_PARTS];
    floe_agg_key_decode(r->agg, grp, k);
    *g = (volume_group){.window = grp->window_start,
                        .src = k[0].v.addr,
                        .dst = k[1].v.addr,
                        .proto = k[2].null ? 0 : k[2].v.u8,
                        .m = *grp->m};
    if (g->proto != 17 || !dos_size(x, &g->m)) return;
    for (size_t q = 0; q < d->n; q++) {
        const floe_agg_group *dg = &d->groups[q];
        if (dg->window_start != grp->window_start) continue;
        floe_key_value dk[FLOE_KEY_MAX_PARTS];
        floe_agg_key_decode(d->agg, dg, dk);
        if (floe_addr_cmp(&dk[0].v.addr, &g->src) || floe_addr_cmp(&dk[1].v.addr, &g->dst))
            continue;
        if (dos_size(x, dg->m)) {
            g->dns_flood = true;
            g->dns = *dg->m;
        }
    }
}

/* DenialOfService.* and TrafficVolumeUnusual, both from T_OUT's closed windows. A (window,
 * host, target) that is unusual against the host's own baseline is reported as
 * TrafficVolumeUnusual only: an upload that large explains the packets too, and one event
 * should raise one finding.
 * Each sample adds to its host's baseline as its window closes; a host's samples come in
 * (window, target) order however the windows are closed, so the sums do not depend on it.
 * Samples too small to be unusual get their DoS findings at once; the others wait, with their
 * groups, for the end of the run and the whole baseline. */
static floe_status find_volume(ctx *x, floe_detect *det) {
    if (!det->volume && !(det->volume = calloc(1, sizeof *det->volume))) return FLOE_ERR_NOMEM;
    floe_volume_state *v = det->volume;
    run_reader r, d;
    floe_status st = open_table(x, det->tables[T_OUT], &r);
    if (st == FLOE_OK) st = open_table(x, det->tables[T_DNS], &d);
    for (size_t i = 0; i < r.n && st == FLOE_OK;) {
        const size_t j = run_end(&r, i, 2);
        volume_group *groups =
            floe_mem_reserve(v->groups, &v->groups_cap, v->ngroups + (j - i), sizeof *groups, 64);
        if (!groups) return FLOE_ERR_NOMEM;
        v->groups = groups;
        volume_group *g = &v->groups[v->ngroups];
        uint64_t bytes = 0;
        for (size_t k = i; k < j; k++) {
            volume_group_of(x, &r, &r.groups[k], &d, &g[k - i]);
            bytes = floe_counter_add(bytes, g[k - i].m.bytes);
        }
        const long h = host_index(&v->hosts, &g[0].src);
        if (h < 0) return FLOE_ERR_NOMEM;
        const double b = (double)bytes;
        v->hosts.hosts[h].n++;
        v->hosts.hosts[h].sum += b;
        v->hosts.hosts[h].sumsq += b * b;
        if (bytes >= x->c->volume_bytes) {
            volume_sample *samples =
                floe_mem_reserve(v->samples, &v->samples_cap, v->nsamples + 1, sizeof *samples, 64);
            if (!samples) return FLOE_ERR_NOMEM;
            v->samples = samples;
            v->samples[v->nsamples++] = (volume_sample){bytes, (uint32_t)h, v->ngroups, j - i};
            v->ngroups += j - i;
        } else {
            for (size_t k = 0; k < j - i && st == FLOE_OK; k++)
                st = dos_finding(x, &g[k]);
        }
        i = j;
    }
    for (size_t s = 0; x->final && s < v->nsamples && st == FLOE_OK; s++) {
        const volume_sample *sample = &v->samples[s];
        const volume_group *g = &v->groups[sample->first];
        double z = 0;
        if (volume_unusual(x, &v->hosts.hosts[sample->host], sample->bytes, &z)) {
            st = volume_finding(x, g, sample->n, z);
            continue;
        }
        for (size_t k = 0; k < sample->n && st == FLOE_OK; k++)
            st = dos_finding(x, &g[k]);
    }
    if (st == FLOE_OK && x->out->oom) st = FLOE_ERR_NOMEM;
    return st;
}
/* Beaconing for one (host, remote host, port, proto) pair: its connections (floe_beacon.h) at
 * near-constant gaps. */
static floe_status beacon_of(ctx *x, const floe_beacon_key *key, const floe_beacon_stats *s) {
    if (s->saturated || s->records < x->c->beacon_connections ||
        s->connections < x->c->beacon_connections)
        return FLOE_OK;
    const double ngaps = (double)(s->connections - 1), mean = s->gap_sum / ngaps;
    const double var = s->gap_sumsq / ngaps - mean * mean;
    const double cv = mean > 0 ? sqrt(var > 0 ? var : 0) / mean : INFINITY;
    if (cv > x->c->beacon_max_cv || mean < (double)x->c->beacon_min_period) return FLOE_OK;
    floe_finding *f = new_finding(x->out, FLOE_FIND_BEACONING, s->first_start, 0);
    if (!f) return FLOE_ERR_NOMEM;
    f->window_end = s->last_start + 1;
    f->actor = key->src;
    list_add(f->targets, &f->ntargets_listed, &key->dst);
    f->port = key->port;
    f->protocol = key->proto;
    f->direction = FLOE_DIR_OUTBOUND;
    f->severity = FLOE_SEV_HIGH;
    f->score = cv;
    f->distinct_hosts = 1;
    f->distinct_ports = 1;
    add_measures(f, &s->traffic);
    f->flows = s->connections; /* connections, as the threshold counts them */
    return FLOE_OK;
}

/* Appends a finding gathered in *f (targets and measures) as one of an internal host's
 * outbound findings in the scan window starting at ws. */
static floe_status emit_outbound(ctx *x, floe_finding *f, floe_finding_type type, int64_t ws,
                                 const floe_addr *actor, uint16_t port, uint8_t proto,
                                 uint64_t hosts) {
    floe_finding *out = new_finding(x->out, type, ws, x->c->scan_window);
    if (!out) return FLOE_ERR_NOMEM;
    f->type = type;
    f->window_start = ws;
    f->window_end = ws + x->c->scan_window;
    f->actor = *actor;
    f->port = port;
    f->protocol = proto;
    f->direction = FLOE_DIR_OUTBOUND;
    f->severity = FLOE_SEV_MEDIUM;
    f->distinct_ports = 1;
    f->distinct_hosts = hosts;
    *out = *f;
    return FLOE_OK;
}

typedef struct pair_ref {
    floe_beacon_key key;
    floe_beacon_stats stats;
} pair_ref;

/* By host, port, protocol, remote host. */
static inline bool pair_less(const pair_ref *a, const pair_ref *b) {
    int c = floe_addr_cmp(&a->key.src, &b->key.src);
    if (c) return c < 0;
    if (a->key.port != b->key.port) return a->key.port < b->key.port;
    if (a->key.proto != b->key.proto) return a->key.proto < b->key.proto;
    return floe_addr_cmp(&a->key.dst, &b->key.dst) < 0;
}

FLOE_SORT_DEFINE(sort_pairs, pair_ref, pair_less)

/* From the run's (host, remote host, port, proto) pairs (floe_beacon.h), taken host by host
 * and port by port:
 *  - NetworkPortUnusual: a (host, port, proto) first used at least port_baseline after the
 *    host's first outbound request;
 *  - Spambot: TCP/25 to spam_hosts distinct hosts first contacted within scan_window of the
 *    host's first use of port 25 (a host with earlier port-25 history is a mail server);
 *  - Beaconing, per pair (beacon_of). */
static floe_status find_connections(ctx *x, const floe_detect *d) {
    const size_t n = floe_beacon_count(d->beacon_history);
    pair_ref *pairs = malloc((n ? n : 1) * sizeof *pairs);
    if (!pairs) return FLOE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        floe_beacon_pair_at(d->beacon_history, i, &pairs[i].key, &pairs[i].stats);
    sort_pairs(pairs, n);
    floe_status st = FLOE_OK;
    const int64_t w = x->c->scan_window;
    for (size_t h = 0; h < n && st == FLOE_OK;) {
        size_t hend = h + 1; /* [h, hend): one host */
        while (hend < n && floe_addr_cmp(&pairs[hend].key.src, &pairs[h].key.src) == 0)
            hend++;
        int64_t host_first = INT64_MAX;
        for (size_t g = h; g < hend; g++)
            if (pairs[g].stats.traffic.first_seen < host_first)
                host_first = pairs[g].stats.traffic.first_seen;
        for (size_t p = h; p < hend && st == FLOE_OK;) {
            const uint16_t port = pairs[p].key.port;
            const uint8_t proto = pairs[p].key.proto;
            size_t pend = p + 1; /* [p, pend): one (port, proto) */
            while (pend < hend && pairs[pend].key.port == port && pairs[pend].key.proto == proto)
                pend++;
            int64_t port_first = INT64_MAX;
            for (size_t g = p; g < pend; g++)
                if (pairs[g].stats.traffic.first_seen < port_first)
                    port_first = pairs[g].stats.traffic.first_seen;
            const int64_t ws = floe_detect_window_of(port_first, w);
            floe_finding npu, spam; /* filled as the remote hosts go by */
            memset(&npu, 0, sizeof npu);
            memset(&spam, 0, sizeof spam);
            npu.first_seen = spam.first_seen = INT64_MAX;
            npu.last_seen = spam.last_seen = INT64_MIN;
            const bool unusual = port_first - host_first >= x->c->port_baseline;
            const bool smtp = port == 25 && proto == 6;
            uint64_t new_hosts = 0;
            for (size_t g = p; g < pend && st == FLOE_OK; g++) {
                const floe_addr *remote = &pairs[g].key.dst;
                const floe_agg_measures *m = &pairs[g].stats.traffic;
                if (unusual) {
                    list_add(npu.targets, &npu.ntargets_listed, remote);
                    npu.distinct_hosts++;
                    add_measures(&npu, m);
                }
                if (smtp && m->first_seen < port_first + w) {
                    list_add(spam.targets, &spam.ntargets_listed, remote);
                    new_hosts++;
                    add_measures(&spam, m);
                }
                st = beacon_of(x, &pairs[g].key, &pairs[g].stats);
            }
            const floe_addr *host = &pairs[h].key.src;
            if (st == FLOE_OK && unusual)
                st = emit_outbound(x, &npu, FLOE_FIND_PORT_UNUSUAL, ws, host, port, proto,
                                   npu.distinct_hosts);
            if (st == FLOE_OK && smtp && new_hosts >= x->c->spam_hosts)
                st = emit_outbound(x, &spam, FLOE_FIND_SPAMBOT, ws, host, 25, 6, new_hosts);
            p = pend;
        }
        h = hend;
    }
    free(pairs);
    return st;
}

/* BitcoinTool and MaliciousIPCaller: any flow, one finding per (window, actor, target). */
static floe_status find_any_flow(ctx *x, floe_agg *agg, floe_finding_type type) {
    run_reader r;
    floe_status st = open_table(x, agg, &r);
    if (st != FLOE_OK) return st;
    for (size_t i = 0; i < r.n;) {
        size_t j = run_end(&r, i, 2);
        floe_key_value v[FLOE_KEY_MAX_PARTS];
        floe_agg_key_decode(agg, &r.groups[i], v);
        floe_finding *f = new_finding(x->out, type, r.groups[i].window_start, x->c->scan_window);
        if (!f) return FLOE_ERR_NOMEM;
        f->actor = v[0].v.addr;
        list_add(f->targets, &f->ntargets_listed, &v[1].v.addr);
        f->direction = direction_of(x, &f->actor, &v[1].v.addr);
        f->severity = type == FLOE_FIND_BITCOIN ? FLOE_SEV_HIGH : FLOE_SEV_MEDIUM;
        f->distinct_hosts = 1;
        int32_t port = v[2].null ? -1 : v[2].v.u16;
        uint8_t proto = v[3].null ? 0 : v[3].v.u8;
        uint64_t ports = 0;
        for (size_t k = i; k < j; k++) {
            floe_key_value kv[FLOE_KEY_MAX_PARTS];
            floe_agg_key_decode(agg, &r.groups[k], kv);
            int32_t kp = kv[2].null ? -1 : kv[2].v.u16;
            if (kp != port) port = -1;
            if ((kv[3].null ? 0 : kv[3].v.u8) != proto) proto = 0;
            ports++;
            add_measures(f, r.groups[k].m);
        }
        f->port = port;
        f->protocol = proto;
        f->distinct_ports = ports;
        if (type == FLOE_FIND_MALICIOUS_IP) {
            /* Which side is listed, and by which entry; the summary names it. */
            const floe_cidr_set *intel = x->c->intel;
            long e = floe_cidr_set_lookup(intel, &v[1].v.addr);
            if (e < 0) e = floe_cidr_set_lookup(intel, &v[0].v.addr);
            if (e >= 0) floe_cidr_set_entry_text(intel, (size_t)e, f->intel_entry);
        }
        i = j;
    }
    return FLOE_OK;
}

static void summarize(floe_finding *f) {
    char actor[FLOE_ADDR_STRLEN], target[FLOE_ADDR_STRLEN] = "", proto[16];
    floe_addr_format(&f->actor, actor);
    if (f->ntargets_listed) floe_addr_format(&f->targets[0], target);
    proto_text(f->protocol, proto);
    const char *est = f->distinct_estimated ? "~" : "";
    char *s = f->summary;
    size_t n = sizeof f->summary;
    switch (f->type) {
    case FLOE_FIND_PORTSCAN:
        snprintf(s, n, "%s probed %s%llu %s ports of %s (%llu flows, %llu rejected)", actor, est,
                 (unsigned long long)f->distinct_ports, proto, target, (unsigned long long)f->flows,
                 (unsigned long long)f->rejected);
        break;
    case FLOE_FIND_PORTSWEEP:
        snprintf(s, n, "%s probed %s/%d on %s%llu hosts, few of which answered", actor, proto,
                 f->port, est, (unsigned long long)f->distinct_hosts);
        break;
    case FLOE_FIND_PORT_PROBE:
        snprintf(s, n, "%llu external sources were ACCEPTed on %s/%d of %s",
                 (unsigned long long)f->distinct_hosts, proto, f->port, target);
        break;
    case FLOE_FIND_SSH_BRUTE:
    case FLOE_FIND_RDP_BRUTE:
    case FLOE_FIND_WINRM_BRUTE:
        snprintf(s, n, "%s made %llu short connections to %s/%d of %s", actor,
                 (unsigned long long)f->flows, proto, f->port, target);
        break;
    case FLOE_FIND_DOS_TCP:
    case FLOE_FIND_DOS_UDP:
    case FLOE_FIND_DOS_DNS:
    case FLOE_FIND_DOS_UNUSUAL:
        snprintf(s, n, "%s sent %llu %s packets (%llu bytes) to %s in one window", actor,
                 (unsigned long long)f->packets, proto, (unsigned long long)f->bytes, target);
        break;
    case FLOE_FIND_VOLUME_UNUSUAL:
        snprintf(s, n, "%s sent %llu bytes to %s, z-score %.1f against its own windows", actor,
                 (unsigned long long)f->bytes, target, f->score);
        break;
    case FLOE_FIND_PORT_UNUSUAL:
        snprintf(s, n, "%s used remote port %s/%d for the first time, to %s", actor, proto, f->port,
                 target);
        break;
    case FLOE_FIND_SPAMBOT:
        snprintf(s, n, "%s, new to port 25, sent SMTP to %llu hosts", actor,
                 (unsigned long long)f->distinct_hosts);
        break;
    case FLOE_FIND_BITCOIN:
        snprintf(s, n, "%s talked to %s on %s/%d, a mining-pool port or host", actor, target, proto,
                 f->port);
        break;
    case FLOE_FIND_MALICIOUS_IP:
        snprintf(s, n, "%s -> %s: threat-list entry %s (%llu flows)", actor, target, f->intel_entry,
                 (unsigned long long)f->flows);
        break;
    case FLOE_FIND_BEACONING:
        snprintf(s, n, "%s connected to %s on %s/%d %llu times at near-constant gaps (CV %.3f)",
                 actor, target, proto, f->port, (unsigned long long)f->flows, f->score);
        break;
    default:
        snprintf(s, n, "?");
    }
}

static int finding_cmp(const floe_finding *x, const floe_finding *y) {
    if (x->window_start != y->window_start) return x->window_start < y->window_start ? -1 : 1;
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    int c = floe_addr_cmp(&x->actor, &y->actor);
    if (c) return c;
    if (x->ntargets_listed && y->ntargets_listed &&
        (c = floe_addr_cmp(&x->targets[0], &y->targets[0])))
        return c;
    if (x->port != y->port) return x->port < y->port ? -1 : 1;
    return (x->protocol > y->protocol) - (x->protocol < y->protocol);
}

/* Findings that compare equal keep their order in the list (a stable sort, by position as the
 * last key). */
typedef struct finding_ref {
    const floe_finding *f;
    size_t index;
} finding_ref;

static inline bool finding_ref_less(const finding_ref *a, const finding_ref *b) {
    int c = finding_cmp(a->f, b->f);
    return c ? c < 0 : a->index < b->index;
}

FLOE_SORT_DEFINE(sort_finding_refs, finding_ref, finding_ref_less)

/* The parts' findings in order into `out` (n in all), the parts taken in a fixed order: with
 * the sort stable, findings that compare equal do not depend on the threads either. */
static floe_status sort_findings(const floe_detect *d, floe_finding *out, size_t n) {
    finding_ref *refs = malloc((n ? n : 1) * sizeof *refs);
    if (!refs) return FLOE_ERR_NOMEM;
    size_t k = 0;
    for (unsigned part = 0; part < FLOE_DETECT_PARTS; part++)
        for (size_t i = 0; i < d->found[part].n; i++, k++)
            refs[k] = (finding_ref){&d->found[part].items[i], k};
    sort_finding_refs(refs, n);
    for (size_t i = 0; i < n; i++)
        out[i] = *refs[i].f;
    free(refs);
    return FLOE_OK;
}

unsigned floe_detect_part_count(void) {
    return FLOE_DETECT_PARTS;
}

/* Draws part `part`'s findings of the windows ended by horizon (INT64_MAX: the end of the run,
 * every window and the window-less detectors); before the end, also frees the evidence of the
 * windows drawn, and folds Beaconing's entries before the horizon (floe_detect_close_begin).
 * Parts share only read-only state: each has its own list, tables, and (the probe log, the
 * beacon sets, the volume state) the rest. They are numbered by cost on the benchmark set,
 * largest first, for callers that hand them out in order: scans and sweeps (sorting the probe
 * log), the connection detectors, volume; the rest is small. Parts find different types, so
 * their order never decides the findings' order. */
static floe_status draw_part(floe_detect *d, unsigned part, int64_t horizon) {
    floe_finding_list *list = &d->found[part];
    if (list->done) return FLOE_OK;
    ctx x = {d->config, list, horizon, horizon == INT64_MAX};
    floe_status st = FLOE_OK;
    enum { NO_TABLE = T_COUNT };
    int drop[4] = {NO_TABLE, NO_TABLE, NO_TABLE, NO_TABLE}; /* the part's windowed tables */
    switch (part) {
    case 0:
        for (size_t i = 0; !x.final && i < d->nclosing_sets && st == FLOE_OK; i++)
            st = floe_probe_log_take(&d->probes, d->closing_logs[i]);
        if (st == FLOE_OK) st = find_scans_and_sweeps(&x, &d->probes, d->tables[T_ANSWER]);
        drop[0] = T_ANSWER;
        break;
    case 1:
        /* Over the whole run: these have no windows to close, only Beaconing's entries to
         * fold as time passes. */
        st = x.final
                 ? floe_beacon_fold(d->beacon_history, d->beacon_sets, d->nbeacon_sets, INT64_MAX)
                 : floe_beacon_fold(d->beacon_history, d->closing_sets, d->nclosing_sets, horizon);
        if (x.final && st == FLOE_OK) st = find_connections(&x, d);
        break;
    case 2:
        st = find_volume(&x, d);
        drop[0] = T_OUT;
        drop[1] = T_DNS;
        break;
    default:
        st = find_probes(&x, d->tables[T_PROBE]);
        if (st == FLOE_OK) st = find_brute_force(&x, d->tables[T_BRUTE]);
        if (st == FLOE_OK) st = find_any_flow(&x, d->tables[T_MINE], FLOE_FIND_BITCOIN);
        if (st == FLOE_OK && d->config->intel)
            st = find_any_flow(&x, d->tables[T_INTEL], FLOE_FIND_MALICIOUS_IP);
        drop[0] = T_PROBE;
        drop[1] = T_BRUTE;
        drop[2] = T_MINE;
        drop[3] = T_INTEL;
    }
    if (st == FLOE_OK && list->oom) st = FLOE_ERR_NOMEM;
    for (int i = 0; i < 4 && st == FLOE_OK && !x.final && drop[i] != NO_TABLE; i++)
        st = floe_agg_drop_closed(d->tables[drop[i]], horizon);
    list->done = st == FLOE_OK && x.final;
    return st;
}

floe_status floe_detect_find_part(floe_detect *d, unsigned part) {
    if (part >= FLOE_DETECT_PARTS) return FLOE_ERR_INVALID;
    return draw_part(d, part, INT64_MAX);
}

floe_status floe_detect_close_part(floe_detect *d, unsigned part) {
    if (part >= FLOE_DETECT_PARTS) return FLOE_ERR_INVALID;
    return draw_part(d, part, d->closing_horizon);
}

floe_status floe_detect_findings(floe_detect *d, floe_finding **out, size_t *count) {
    *out = NULL;
    *count = 0;
    size_t n = 0;
    for (unsigned part = 0; part < FLOE_DETECT_PARTS; part++) {
        floe_status st = floe_detect_find_part(d, part);
        if (st != FLOE_OK) return st;
        n += d->found[part].n;
    }
    floe_finding *all = malloc((n ? n : 1) * sizeof *all);
    if (!all) return FLOE_ERR_NOMEM;
    floe_status st = sort_findings(d, all, n);
    if (st != FLOE_OK) {
        free(all);
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        summarize(&all[i]);
        if (all[i].first_seen == INT64_MAX) all[i].first_seen = 0;
        if (all[i].last_seen == INT64_MIN) all[i].last_seen = 0;
    }
    *out = all;
    *count = n;
    return FLOE_OK;
}
