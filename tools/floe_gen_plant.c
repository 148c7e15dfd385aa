/* floe_gen_plant.c: one planted instance of every finding type of detections.md.
 *
 * Each plant is a set of connections between a chosen ENI of the first account and external
 * addresses from ranges the background never uses (45/8, 193/8, and 185.220.101/24 for the
 * threat list). Connections are cut into records at the recording ENI's aggregation windows,
 * like AWS does, and merged into that ENI's windows by the traffic module, so every plant sits
 * among ordinary background records.
 *
 * Timing, in 10-minute windows W(i) from the first 10-minute boundary of the run:
 *   W1..W4  plants whose actor uses a remote port it never used before (scans, DoS, spam,
 *           mining), so they end within the first hour and cannot also be NetworkPortUnusual
 *   W5..W11 the rest; NetworkPortUnusual itself at W9, after a baseline of more than an hour
 *   whole run: beaconing, every 300 s +- 2 s
 * Every plant's numbers are at least 1.5x its default threshold. */
#include "floe_gen_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char *const floe_gen_plant_types[] = {
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
const uint32_t floe_gen_nplant_types = sizeof floe_gen_plant_types / sizeof floe_gen_plant_types[0];

/* The threat list. Only 185.220.101.47 (inside the /24) is ever contacted; the other entries
 * exist so a matcher has to handle single addresses, CIDRs, IPv6 and comments. */
static const char intel_text[] =
    "# floe-gen threat list: one IP or CIDR a line, '#' starts a comment.\n"
    "# Only the plant UnauthorizedAccess:EC2/MaliciousIPCaller.Custom touches an entry\n"
    "# (185.220.101.47, inside 185.220.101.0/24); no background flow does.\n"
    "185.220.101.0/24\n"
    "185.220.100.240\n"
    "185.220.100.241   # single addresses\n"
    "185.100.87.0/24\n"
    "\n"
    "2001:db8:bad::/48\n";

const char *floe_gen_intel_text(void) {
    return intel_text;
}

typedef struct pbuild {
    floe_gen_world *w;
    floe_gen_rng rng;
    floe_gen_rec *recs;
    uint32_t n, cap;
    int err;
} pbuild;

typedef struct pconn {
    const floe_gen_eni *e; /* the internal ENI that records the connection */
    floe_gen_ip local, remote;
    bool local_client; /* the internal side opened it */
    uint8_t proto, action, path, enc;
    uint16_t client_port, server_port;
    int64_t t_start, t_end; /* inclusive seconds */
    uint64_t fpk, fby;      /* client -> server totals */
    uint64_t rpk, rby;      /* server -> client totals, 0 = no reply */
    uint8_t fflags, rflags;
} pconn;

static floe_gen_ip ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    floe_gen_ip ip = {0};
    ip.fam = 4;
    ip.b[0] = a;
    ip.b[1] = b;
    ip.b[2] = c;
    ip.b[3] = d;
    return ip;
}

/* A plant-only external address: first octet `a`, second octet unique per plant. */
static floe_gen_ip plant_ip(pbuild *b, uint8_t a, uint8_t second) {
    return ip4(a, second, (uint8_t)floe_gen_range(&b->rng, 1, 254),
               (uint8_t)floe_gen_range(&b->rng, 1, 254));
}

static void push_rec(pbuild *b, const floe_gen_rec *r) {
    if (b->err) return;
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 1024;
        floe_gen_rec *nr = realloc(b->recs, cap * sizeof *nr);
        if (!nr) {
            b->err = -ENOMEM;
            return;
        }
        b->recs = nr;
        b->cap = cap;
    }
    b->recs[b->n] = *r;
    b->recs[b->n].seq = b->n;
    b->n++;
}

static void split(uint64_t total, const int64_t *weight, int n, uint64_t *out) {
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += weight[i];
    uint64_t prev = 0;
    int64_t cum = 0;
    for (int i = 0; i < n; i++) {
        cum += weight[i];
        uint64_t upto = (uint64_t)((unsigned __int128)total * (uint64_t)cum / (uint64_t)sum);
        out[i] = upto - prev;
        prev = upto;
    }
}

/* Cuts one connection into records at the ENI's window boundaries (shares of packets and bytes
 * proportional to time) and counts it into the plant. */
static void plant_conn(pbuild *b, floe_gen_plant *pl, const pconn *k) {
    const floe_gen_world *w = b->w;
    enum { MAXP = 16 };
    int64_t ks = floe_gen_window_of(w, k->e, k->t_start),
            ke = floe_gen_window_of(w, k->e, k->t_end);
    int np = (int)(ke - ks + 1);
    int64_t ps[MAXP], pe[MAXP], wt[MAXP], win[MAXP];
    uint64_t fp[MAXP], fb[MAXP], rp[MAXP], rb[MAXP];
    /* Short connections (a login attempt, a check-in) stay one record, as AWS would show them
     * unless they happened to straddle a window; splitting them would blur the very counts
     * and gaps the plants are about. Over MAXP windows never happens (plants last <= 10 min). */
    if (np > MAXP || k->t_end - k->t_start < 30) np = 0;
    for (int i = 0; i < np; i++) {
        int64_t ws, we;
        floe_gen_window(w, k->e, ks + i, &ws, &we);
        ps[i] = k->t_start > ws ? k->t_start : ws;
        pe[i] = k->t_end < we - 1 ? k->t_end : we - 1;
        wt[i] = pe[i] - ps[i] + 1;
        win[i] = ks + i;
    }
    bool ok = np > 0;
    if (ok) {
        split(k->fpk, wt, np, fp);
        split(k->fby, wt, np, fb);
        split(k->rpk, wt, np, rp);
        split(k->rby, wt, np, rb);
        for (int i = 0; i < np; i++)
            ok &= fp[i] > 0 && (k->rpk == 0 || rp[i] > 0);
    }
    if (!ok) { /* one record inside one window */
        int64_t ws, we, ws2, we2;
        int64_t kk = floe_gen_window_of(w, k->e, k->t_start);
        floe_gen_window(w, k->e, kk, &ws, &we);
        int64_t st = k->t_start, len = k->t_end - k->t_start;
        if (st + len > we - 1) {
            if (floe_gen_window(w, k->e, kk + 1, &ws2, &we2) && ws2 + len <= we2 - 1) {
                kk++; /* shift into the next window, keeping the duration */
                st = ws2;
            } else {
                len = we - 1 - st; /* or end it with the window */
            }
        }
        np = 1;
        ps[0] = st;
        pe[0] = st + len;
        win[0] = kk;
        fp[0] = k->fpk;
        fb[0] = k->fby;
        rp[0] = k->rpk;
        rb[0] = k->rby;
    }
    const bool syn_only = k->fflags == 2;
    /* Every plant peer is external: out through the internet gateway or the NAT. */
    const uint8_t path = k->e->is_public ? 8 : 1;
    pl->connections++;
    for (int i = 0; i < np; i++) {
        floe_gen_rec f = {0};
        f.eni = k->e;
        f.start = ps[i];
        f.end = pe[i];
        f.proto = k->proto;
        f.action = k->action;
        f.status = FLOE_LOG_STATUS_OK;
        f.enc = k->enc;
        f.packets = fp[i];
        f.bytes = fb[i];
        f.window = (uint32_t)win[i];
        bool ported = k->proto == 6 || k->proto == 17;
        f.sport = ported ? k->client_port : 0;
        f.dport = ported ? k->server_port : 0;
        if (k->proto == 6)
            f.flags = np == 1 || syn_only ? k->fflags : i == 0 ? 2 : i == np - 1 ? 1 : 0;
        if (k->local_client) {
            f.src = k->local;
            f.dst = k->remote;
            f.dir = FLOE_DIRECTION_EGRESS;
            f.path = path;
        } else {
            f.src = k->remote;
            f.dst = k->local;
            f.dir = FLOE_DIRECTION_INGRESS;
        }
        push_rec(b, &f);
        pl->flows++;
        pl->records++;
        pl->packets += f.packets;
        pl->bytes += f.bytes;
        if (!pl->first_seen || f.start < pl->first_seen) pl->first_seen = f.start;
        if (f.end > pl->last_seen) pl->last_seen = f.end;
        if (!k->rpk) continue;
        floe_gen_rec r = f;
        r.src = f.dst;
        r.dst = f.src;
        r.sport = f.dport;
        r.dport = f.sport;
        r.dir = f.dir == FLOE_DIRECTION_EGRESS ? FLOE_DIRECTION_INGRESS : FLOE_DIRECTION_EGRESS;
        r.path = r.dir == FLOE_DIRECTION_EGRESS ? path : 0;
        r.packets = rp[i];
        r.bytes = rb[i];
        if (k->proto == 6) r.flags = np == 1 ? k->rflags : i == 0 ? 18 : i == np - 1 ? 1 : 0;
        push_rec(b, &r);
        pl->records++;
        pl->reply_packets += r.packets;
        pl->reply_bytes += r.bytes;
    }
}

static floe_gen_ip *alloc_ips(floe_gen_world *w, uint32_t n) {
    return floe_gen_alloc(w, n * sizeof(floe_gen_ip));
}

static uint16_t *alloc_ports(floe_gen_world *w, uint32_t n) {
    return floe_gen_alloc(w, n * sizeof(uint16_t));
}

/* Room for a plant's target addresses and ports (filled in by the caller). */
static bool alloc_targets_and_ports(floe_gen_world *w, floe_gen_plant *pl, uint32_t ntargets,
                                    uint32_t nports) {
    pl->targets = alloc_ips(w, ntargets);
    pl->ports = alloc_ports(w, nports);
    return pl->targets != NULL && pl->ports != NULL;
}

static int cmp_rec(const void *pa, const void *pb) {
    const floe_gen_rec *a = pa, *b = pb;
    if (a->eni->idx != b->eni->idx) return a->eni->idx < b->eni->idx ? -1 : 1;
    if (a->window != b->window) return a->window < b->window ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Fills the common fields of a plant whose actor is an internal ENI talking to externals. */
static void outbound(floe_gen_plant *pl, const char *type, const char *threshold,
                     const floe_gen_eni *actor, uint8_t proto, int64_t ws) {
    pl->type = type;
    pl->threshold = threshold;
    pl->direction = "outbound";
    pl->action = "ACCEPT";
    pl->actor = actor->ip4;
    pl->actor_eni = actor->idx;
    pl->target_eni = -1;
    pl->proto = proto;
    pl->win_start = ws;
    pl->win_end = ws + 600;
}

static void inbound(floe_gen_plant *pl, const char *type, const char *threshold, floe_gen_ip actor,
                    const floe_gen_eni *target, uint8_t proto, int64_t ws) {
    pl->type = type;
    pl->threshold = threshold;
    pl->direction = "inbound";
    pl->action = "ACCEPT";
    pl->actor = actor;
    pl->actor_eni = -1;
    pl->target_eni = target->idx;
    pl->proto = proto;
    pl->win_start = ws;
    pl->win_end = ws + 600;
}

/* ---- look-alikes: benign traffic shaped like the attacks, for precision ----
 * Addresses in 198.18.0.0/15 (RFC 2544's benchmarking range), which neither the background nor
 * the plants use. Each look-alike's `targets` are its peers: clients, servers or polled hosts. */

static floe_gen_ip bench_ip(uint32_t n) {
    /* 198.18.0.0 + n, skipping .0 and .255 of every /24 */
    uint32_t host = 0xc6120000u + (n / 254) * 256 + 1 + n % 254;
    return ip4((uint8_t)(host >> 24), (uint8_t)(host >> 16), (uint8_t)(host >> 8), (uint8_t)host);
}

static void lookalike(floe_gen_plant *pl, const char *kind, const char *role, const char *summary,
                      const floe_gen_eni *host, uint8_t proto, uint16_t port, int64_t ws,
                      int64_t we) {
    pl->type = kind;
    pl->host_role = role;
    pl->summary = summary;
    pl->threshold = "no finding";
    pl->direction = "-";
    pl->action = "ACCEPT";
    pl->actor = host->ip4;
    pl->actor_eni = host->idx;
    pl->target_eni = -1;
    pl->proto = proto;
    pl->ports[0] = port;
    pl->nports = 1;
    pl->win_start = ws;
    pl->win_end = we;
}

static int build_lookalikes(pbuild *b, const floe_gen_eni *front, const floe_gen_eni *nat,
                            const floe_gen_eni *resolver, const floe_gen_eni *poller, int64_t t0a) {
    floe_gen_world *w = b->w;
    floe_gen_rng *r = &b->rng;
    enum { WEB_CLIENTS = 3000, WEB_HEAVY = 5, WEB_HEAVY_CONNS = 150, NAT_PEERS = 2000,
           DNS_SERVERS = 1500, DNS_FLOWS = 20, POLLED = 200 };
    w->lookalikes = calloc(4, sizeof *w->lookalikes);
    if (!w->lookalikes) return -1;
    w->nlookalikes = 4;
    floe_gen_plant *pl = w->lookalikes;
    uint32_t next_ip = 0;
#define W(i) (t0a + 600 * (int64_t)(i))

    /* A public web server: 3000 internet clients on 443 in ten minutes, five of them (office
     * NATs) with 150 connections each, so its replies fan out to hundreds of client ports. */
    pl->targets = alloc_ips(w, WEB_CLIENTS + WEB_HEAVY);
    pl->ports = alloc_ports(w, 1);
    if (!pl->targets || !pl->ports) return -1;
    lookalike(pl, "busy-web-server", "public web server",
              "3000 internet clients on TCP/443 in 10 minutes, 5 of them with 150 connections",
              front, 6, 443, W(3), W(4));
    for (uint32_t i = 0; i < WEB_CLIENTS + WEB_HEAVY; i++) {
        floe_gen_ip client = bench_ip(next_ip++);
        pl->targets[pl->ntargets++] = client;
        uint32_t conns = i < WEB_CLIENTS ? 1 : WEB_HEAVY_CONNS;
        for (uint32_t c = 0; c < conns; c++) {
            int64_t s = W(3) + 5 + (int64_t)floe_gen_below(r, 580);
            uint64_t pk = floe_gen_range(r, 8, 30);
            pconn k = {.e = front, .local = front->ip4, .remote = client, .local_client = false,
                       .proto = 6, .action = FLOE_ACTION_ACCEPT, .path = 0, .enc = 0,
                       .client_port = floe_gen_eph_port(r), .server_port = 443, .t_start = s,
                       .t_end = s + 3, .fpk = pk, .fby = pk * 120, .rpk = pk + 4,
                       .rby = (pk + 4) * 1200, .fflags = 3, .rflags = 19};
            plant_conn(b, pl, &k);
        }
    }
    pl++;

    /* A NAT gateway: 2000 distinct internet hosts on 443 in ten minutes, every one answering. */
    pl->targets = alloc_ips(w, NAT_PEERS);
    pl->ports = alloc_ports(w, 1);
    if (!pl->targets || !pl->ports) return -1;
    lookalike(pl, "nat-gateway", "NAT gateway",
              "2000 distinct internet hosts on TCP/443 in 10 minutes, all answering", nat, 6, 443,
              W(4), W(5));
    for (uint32_t i = 0; i < NAT_PEERS; i++) {
        floe_gen_ip t = bench_ip(next_ip++);
        pl->targets[pl->ntargets++] = t;
        int64_t s = W(4) + 5 + (int64_t)floe_gen_below(r, 580);
        pconn k = {.e = nat, .local = nat->ip4, .remote = t, .local_client = true, .proto = 6,
                   .action = FLOE_ACTION_ACCEPT, .path = 8, .enc = 0,
                   .client_port = floe_gen_eph_port(r), .server_port = 443, .t_start = s,
                   .t_end = s + 4, .fpk = 12, .fby = 1500, .rpk = 10, .rby = 9000, .fflags = 3,
                   .rflags = 19};
        plant_conn(b, pl, &k);
    }
    pl++;

    /* A host doing heavy DNS: 1500 authoritative servers asked once each (one packet, one
     * answer), and 20 busy flows to one upstream resolver, 500k queries in all (half of the
     * DoS threshold), starting at random in the first minute. */
    pl->targets = alloc_ips(w, DNS_SERVERS + 1);
    pl->ports = alloc_ports(w, 1);
    if (!pl->targets || !pl->ports) return -1;
    lookalike(pl, "heavy-dns", "DNS-heavy application host",
              "UDP/53 to 1500 authoritative servers and 500k queries to one resolver in 10 minutes",
              resolver, 17, 53, W(2), W(3));
    floe_gen_ip upstream = bench_ip(next_ip++);
    pl->targets[pl->ntargets++] = upstream;
    for (uint32_t i = 0; i < DNS_FLOWS; i++) {
        int64_t s = W(2) + 5 + (int64_t)floe_gen_below(r, 60);
        pconn k = {.e = resolver, .local = resolver->ip4, .remote = upstream, .local_client = true,
                   .proto = 17, .action = FLOE_ACTION_ACCEPT, .path = 1, .enc = 0,
                   .client_port = floe_gen_eph_port(r), .server_port = 53, .t_start = s,
                   .t_end = W(3) - 20, .fpk = 25000, .fby = 25000 * 72, .rpk = 25000,
                   .rby = 25000 * 160, .fflags = 0, .rflags = 0};
        plant_conn(b, pl, &k);
    }
    for (uint32_t i = 0; i < DNS_SERVERS; i++) {
        floe_gen_ip t = bench_ip(next_ip++);
        pl->targets[pl->ntargets++] = t;
        int64_t s = W(2) + 5 + (int64_t)floe_gen_below(r, 580);
        pconn k = {.e = resolver, .local = resolver->ip4, .remote = t, .local_client = true,
                   .proto = 17, .action = FLOE_ACTION_ACCEPT, .path = 1, .enc = 0,
                   .client_port = floe_gen_eph_port(r), .server_port = 53, .t_start = s,
                   .t_end = s, .fpk = 1, .fby = 72, .rpk = 1, .rby = 180, .fflags = 0,
                   .rflags = 0};
        plant_conn(b, pl, &k);
    }
    pl++;

    /* A monitoring system: SNMP (UDP/161) polls of 200 internal addresses every minute for the
     * whole run, one socket per target (so one record per target and aggregation window). */
    pl->targets = alloc_ips(w, POLLED);
    pl->ports = alloc_ports(w, 1);
    if (!pl->targets || !pl->ports) return -1;
    lookalike(pl, "monitoring-poller", "monitoring system",
              "SNMP polls of 200 internal hosts on UDP/161 every minute", poller, 17, 161,
              w->t0, w->t1);
    const floe_gen_vpc *v = &w->vpcs[poller->vpc];
    for (uint32_t i = 0; i < POLLED; i++) {
        uint32_t host = v->cidr4 + 0xf000u + 1 + i; /* x.y.240.1 and up: no ENI there */
        floe_gen_ip t = ip4((uint8_t)(host >> 24), (uint8_t)(host >> 16), (uint8_t)(host >> 8),
                            (uint8_t)host);
        pl->targets[pl->ntargets++] = t;
        uint16_t sport = floe_gen_eph_port(r);
        for (int64_t k = floe_gen_window_of(w, poller, w->t0);; k++) {
            int64_t ws, we;
            if (!floe_gen_window(w, poller, k, &ws, &we)) {
                if (ws >= w->t1) break;
                continue;
            }
            int64_t polls = (we - ws + 59) / 60;
            pconn c = {.e = poller, .local = poller->ip4, .remote = t, .local_client = true,
                       .proto = 17, .action = FLOE_ACTION_ACCEPT, .path = 0, .enc = 0,
                       .client_port = sport, .server_port = 161, .t_start = ws,
                       .t_end = ws + (polls - 1) * 60 < we - 1 ? ws + (polls - 1) * 60 : we - 1,
                       .fpk = (uint64_t)polls, .fby = (uint64_t)polls * 90,
                       .rpk = (uint64_t)polls, .rby = (uint64_t)polls * 400, .fflags = 0,
                       .rflags = 0};
            plant_conn(b, pl, &c);
        }
    }
#undef W
    return b->err ? -1 : 0;
}

int floe_gen_plants_build(floe_gen_world *w, char *err, size_t err_len) {
    pbuild b = {0};
    b.w = w;
    floe_gen_rng_seed(&b.rng, floe_gen_seed_of(w->o->seed, 0x706c616e74ULL, 0, 0));
    floe_gen_rng *r = &b.rng;
    const floe_gen_vpc *v = &w->vpcs[0];
    const int64_t t0a = (w->t0 + 599) / 600 * 600;
#define W(i) (t0a + 600 * (int64_t)(i))
    if (W(12) > w->t1) {
        snprintf(err, err_len,
                 "plants need 2 hours after the first 10-minute boundary of the run; raise "
                 "--hours or use --no-plants");
        return -1;
    }

    /* Actors: distinct instance ENIs of the first VPC that have their own outbound baseline. */
    uint32_t cand[10000], ncand = 0, worker = UINT32_MAX;
    for (uint32_t i = 0; i < v->neni && ncand < 10000; i++) {
        const floe_gen_eni *e = &w->enis[v->eni_first + i];
        if ((e->role == FLOE_GEN_ROLE_APP || e->role == FLOE_GEN_ROLE_WORKER) && !e->shared_api &&
            !e->requester_managed && e->uses_api)
            cand[ncand++] = e->idx;
    }
    for (uint32_t i = ncand; i > 1; i--) {
        uint32_t j = (uint32_t)floe_gen_below(r, i), t = cand[i - 1];
        cand[i - 1] = cand[j];
        cand[j] = t;
    }
    for (uint32_t i = 0; i < ncand; i++)
        if (w->enis[cand[i]].role == FLOE_GEN_ROLE_WORKER) {
            worker = cand[i];
            cand[i] = cand[--ncand];
            break;
        }
    if (ncand < 11 || worker == UINT32_MAX) {
        snprintf(err, err_len,
                 "not enough app/worker ENIs in the first account for the plants; "
                 "raise --enis");
        return -1;
    }
    uint32_t next_actor = 0;
#define ACTOR() (&w->enis[cand[next_actor++]])
    const floe_gen_eni *bastion = &w->enis[v->bastion];
    const floe_gen_eni *win0 = &w->enis[v->win[0]], *win1 = &w->enis[v->win[1]];
    const floe_gen_eni *db = NULL;
    for (uint32_t i = 0; i < v->neni && !db; i++)
        if (w->enis[v->eni_first + i].role == FLOE_GEN_ROLE_DB) db = &w->enis[v->eni_first + i];

    w->plants = calloc(floe_gen_nplant_types, sizeof *w->plants);
    if (!w->plants) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    w->nplants = floe_gen_nplant_types;
    floe_gen_plant *pl = w->plants;
    uint8_t second = 60; /* second octet of plant addresses, one per plant */

    /* 1. Portscan: SYN-only to 1000 distinct ports of one host, one source port (nmap -sS). */
    {
        const floe_gen_eni *a = ACTOR();
        outbound(pl, floe_gen_plant_types[0], ">= 100 distinct dstport in 10 min", a, 6, W(1));
        pl->summary = "SYN scan of 1000 TCP ports (1-1001 except 25) on one external host";
        floe_gen_ip t = plant_ip(&b, 45, second++);
        if (!alloc_targets_and_ports(w, pl, 1, 1000)) goto oom;
        pl->targets[0] = t;
        pl->ntargets = 1;
        uint16_t sport = floe_gen_eph_port(r);
        uint32_t j = 0;
        for (uint16_t port = 1; j < 1000; port++) {
            if (port == 25) continue;
            pl->ports[j] = port;
            pconn k = {a,
                       a->ip4,
                       t,
                       true,
                       6,
                       FLOE_ACTION_ACCEPT,
                       8,
                       0,
                       sport,
                       port,
                       W(1) + 30 + j / 2,
                       W(1) + 30 + j / 2,
                       1,
                       44,
                       0,
                       0,
                       2,
                       0};
            plant_conn(&b, pl, &k);
            j++;
        }
        pl->nports = 1000;
        pl++;
    }
    /* 2. PortSweep: one port (445) on 120 hosts of one /24, in address order. */
    {
        const floe_gen_eni *a = ACTOR();
        outbound(pl, floe_gen_plant_types[1], ">= 50 distinct dstaddr on one port in 10 min", a, 6,
                 W(2));
        pl->summary = "SYN sweep of TCP/445 across 120 hosts of one external /24";
        floe_gen_ip base = plant_ip(&b, 193, second++);
        if (!alloc_targets_and_ports(w, pl, 120, 1)) goto oom;
        pl->ports[0] = 445;
        pl->nports = 1;
        for (uint32_t i = 0; i < 120; i++) {
            floe_gen_ip t = base;
            t.b[3] = (uint8_t)(1 + i);
            pl->targets[pl->ntargets++] = t;
            uint64_t pk = 1 + floe_gen_below(r, 2);
            pconn k = {a,
                       a->ip4,
                       t,
                       true,
                       6,
                       FLOE_ACTION_ACCEPT,
                       8,
                       0,
                       floe_gen_eph_port(r),
                       445,
                       W(2) + 40 + i * 4,
                       W(2) + 40 + i * 4 + (int64_t)pk - 1,
                       pk,
                       pk * 44,
                       0,
                       0,
                       2,
                       0};
            plant_conn(&b, pl, &k);
        }
        pl++;
    }
    /* 3. PortProbeUnprotectedPort: 25 external sources reach Elasticsearch (9200) on a DB. */
    {
        floe_gen_ip first = plant_ip(&b, 45, second++);
        first.b[3] = 1;
        inbound(pl, floe_gen_plant_types[2],
                ">= 10 distinct external sources ACCEPTed on a sensitive port in 1 h", first, db, 6,
                W(8));
        pl->summary = "25 internet sources get ACCEPTed on TCP/9200 (Elasticsearch) of one DB";
        if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
        pl->targets[0] = db->ip4;
        pl->ntargets = 1;
        pl->ports[0] = 9200;
        pl->nports = 1;
        /* The actor field holds the first source; the truth file lists them all as sources. */
        floe_gen_ip *src = alloc_ips(w, 25);
        if (!src) goto oom;
        for (uint32_t i = 0; i < 25; i++) {
            src[i] = i ? plant_ip(&b, 45, (uint8_t)(second - 1)) : first;
            src[i].b[3] = (uint8_t)(i + 1); /* distinct by construction */
            uint32_t n = 1 + (uint32_t)floe_gen_below(r, 2);
            for (uint32_t j = 0; j < n; j++) {
                int64_t t = W(8) + 20 + i * 20 + j * 7;
                uint64_t fpk = floe_gen_range(r, 3, 8), rpk = floe_gen_range(r, 3, 6);
                pconn k = {db,        db->ip4,   src[i],
                           false,     6,         FLOE_ACTION_ACCEPT,
                           1,         0,         floe_gen_eph_port(r),
                           9200,      t,         t + 1,
                           fpk,       fpk * 120, rpk,
                           rpk * 400, 3,         19};
                plant_conn(&b, pl, &k);
            }
        }
        pl->sources = src;
        pl->nsources = 25;
        pl++;
    }
    /* 4-6. Brute force: 90 short, small connections from one source to one port of one host. */
    {
        static const struct {
            uint16_t port;
            int win, type;
            const char *summary;
        } bf[3] = {
            {22, 10, 3, "90 short SSH logins (< 5 KB each) from one internet host to the bastion"},
            {3389, 11, 4, "90 short RDP connections from one internet host to a Windows host"},
            {5985, 11, 5, "90 short WinRM connections from one internet host to a Windows host"},
        };
        const floe_gen_eni *tg[3] = {bastion, win0, win1};
        for (int x = 0; x < 3; x++) {
            floe_gen_ip a = plant_ip(&b, 45, second++);
            inbound(pl, floe_gen_plant_types[bf[x].type], ">= 50 flows in 10 min", a, tg[x], 6,
                    W(bf[x].win));
            pl->summary = bf[x].summary;
            if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
            pl->targets[0] = tg[x]->ip4;
            pl->ntargets = 1;
            pl->ports[0] = bf[x].port;
            pl->nports = 1;
            for (uint32_t i = 0; i < 90; i++) {
                int64_t t = W(bf[x].win) + 20 + i * 6;
                uint64_t fpk = floe_gen_range(r, 10, 25), rpk = floe_gen_range(r, 10, 20);
                pconn k = {tg[x],
                           tg[x]->ip4,
                           a,
                           false,
                           6,
                           FLOE_ACTION_ACCEPT,
                           8,
                           0,
                           floe_gen_eph_port(r),
                           bf[x].port,
                           t,
                           t + (int64_t)floe_gen_range(r, 2, 5),
                           fpk,
                           floe_gen_range(r, 1800, 4800),
                           rpk,
                           floe_gen_range(r, 2000, 4000),
                           3,
                           19};
                plant_conn(&b, pl, &k);
            }
            pl++;
        }
    }
    /* 7-10. Denial of service from an internal host to one external target. */
    {
        static const struct {
            int type, win, nconn;
            uint8_t proto;
            uint16_t port;
            uint64_t pk_each, bytes_per_pk;
            const char *summary;
        } dos[4] = {
            {6, 1, 60, 6, 80, 40000, 40, "TCP SYN flood to port 80: 2.4M packets in 8 minutes"},
            {7, 2, 60, 17, 27015, 30000, 512, "UDP flood to port 27015: 1.8M packets, 0.92 GB"},
            {8, 3, 40, 17, 53, 37500, 80, "DNS (UDP/53) flood: 1.5M packets in 8 minutes"},
            {9, 4, 1, 47, 0, 1500000, 576, "GRE (protocol 47) flood: 1.5M packets, 0.86 GB"},
        };
        for (int x = 0; x < 4; x++) {
            const floe_gen_eni *a = ACTOR();
            outbound(pl, floe_gen_plant_types[dos[x].type],
                     ">= 1 M packets or >= 1 GB to one external target in 10 min", a, dos[x].proto,
                     W(dos[x].win));
            pl->summary = dos[x].summary;
            if (dos[x].type == 8)
                pl->overlaps = "Backdoor:EC2/DenialOfService.Udp (a DNS flood is a UDP flood)";
            floe_gen_ip t = plant_ip(&b, 45, second++);
            if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
            pl->targets[0] = t;
            pl->ntargets = 1;
            pl->ports[0] = dos[x].port;
            pl->nports = dos[x].proto == 47 ? 0 : 1;
            for (int i = 0; i < dos[x].nconn; i++) {
                pconn k = {a,
                           a->ip4,
                           t,
                           true,
                           dos[x].proto,
                           FLOE_ACTION_ACCEPT,
                           8,
                           0,
                           floe_gen_eph_port(r),
                           dos[x].port,
                           W(dos[x].win) + 60,
                           W(dos[x].win) + 540,
                           dos[x].pk_each,
                           dos[x].pk_each * dos[x].bytes_per_pk,
                           0,
                           0,
                           2,
                           0};
                plant_conn(&b, pl, &k);
            }
            pl++;
        }
    }
    /* 11. TrafficVolumeUnusual: a worker with a modest API baseline uploads 3 GB in 8 min. */
    {
        const floe_gen_eni *a = &w->enis[worker];
        outbound(pl, floe_gen_plant_types[10], "z-score >= 6 and >= 1 GB", a, 6, W(7));
        pl->summary = "a worker uploads 3 GB over TLS to one external host in 8 minutes";
        pl->overlaps = "Backdoor:EC2/DenialOfService.Tcp (>= 1 GB and >= 1M packets in 10 min "
                       "also meet its literal threshold)";
        floe_gen_ip t = plant_ip(&b, 45, second++);
        if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
        pl->targets[0] = t;
        pl->ntargets = 1;
        pl->ports[0] = 443;
        pl->nports = 1;
        for (int i = 0; i < 4; i++) {
            uint64_t by = 750000000, pk = by / 1400, rpk = pk / 2;
            pconn k = {a,
                       a->ip4,
                       t,
                       true,
                       6,
                       FLOE_ACTION_ACCEPT,
                       1,
                       0,
                       floe_gen_eph_port(r),
                       443,
                       W(7) + 50 + i * 5,
                       W(7) + 530 + i * 5,
                       pk,
                       by,
                       rpk,
                       rpk * 52,
                       3,
                       19};
            plant_conn(&b, pl, &k);
        }
        pl++;
    }
    /* 12. NetworkPortUnusual: TCP/6667 (IRC) for the first time, 90 minutes into the run. */
    {
        const floe_gen_eni *a = ACTOR();
        outbound(pl, floe_gen_plant_types[11], "first use of a remote port after >= 1 h baseline",
                 a, 6, W(9));
        pl->summary = "an app server connects to TCP/6667 (IRC), a port it never used";
        floe_gen_ip t = plant_ip(&b, 193, second++);
        if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
        pl->targets[0] = t;
        pl->ntargets = 1;
        pl->ports[0] = 6667;
        pl->nports = 1;
        for (int i = 0; i < 4; i++) {
            int64_t s = W(9) + 100 + i * 97;
            pconn k = {a,    a->ip4, t,
                       true, 6,      FLOE_ACTION_ACCEPT,
                       1,    0,      floe_gen_eph_port(r),
                       6667, s,      s + 20,
                       14,   1900,   12,
                       2600, 3,      19};
            plant_conn(&b, pl, &k);
        }
        pl++;
    }
    /* 13. Spambot: SMTP to 40 distinct mail servers (under PortSweep's 50). */
    {
        const floe_gen_eni *a = ACTOR();
        outbound(pl, floe_gen_plant_types[12], ">= 20 distinct destinations on TCP/25", a, 6, W(3));
        pl->summary = "80 SMTP (TCP/25) sessions to 40 distinct external mail servers";
        if (!alloc_targets_and_ports(w, pl, 40, 1)) goto oom;
        pl->ports[0] = 25;
        pl->nports = 1;
        for (uint32_t i = 0; i < 40; i++) {
            floe_gen_ip t = plant_ip(&b, 193, second);
            t.b[3] = (uint8_t)(i + 1); /* distinct by construction */
            pl->targets[pl->ntargets++] = t;
            for (int j = 0; j < 2; j++) {
                int64_t s = W(3) + 30 + i * 12 + j * 5;
                uint64_t fpk = floe_gen_range(r, 12, 30);
                pconn k = {a,
                           a->ip4,
                           t,
                           true,
                           6,
                           FLOE_ACTION_ACCEPT,
                           1,
                           0,
                           floe_gen_eph_port(r),
                           25,
                           s,
                           s + 3,
                           fpk,
                           fpk * floe_gen_range(r, 200, 700),
                           floe_gen_range(r, 10, 20),
                           900,
                           3,
                           19};
                plant_conn(&b, pl, &k);
            }
        }
        second++;
        pl++;
    }
    /* 14. BitcoinTool: one long stratum session to a pool on 3333. */
    {
        const floe_gen_eni *a = ACTOR();
        outbound(pl, floe_gen_plant_types[13], "any ACCEPTed flow to a mining-pool port", a, 6,
                 W(4));
        pl->summary = "a 9-minute stratum session to a mining pool on TCP/3333";
        floe_gen_ip t = plant_ip(&b, 193, second++);
        if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
        pl->targets[0] = t;
        pl->ntargets = 1;
        pl->ports[0] = 3333;
        pl->nports = 1;
        pconn k = {a,     a->ip4,    t,
                   true,  6,         FLOE_ACTION_ACCEPT,
                   1,     0,         floe_gen_eph_port(r),
                   3333,  W(4) + 30, W(4) + 569,
                   400,   41000,     380,
                   61000, 3,         19};
        plant_conn(&b, pl, &k);
        pl++;
    }
    /* 15. MaliciousIPCaller.Custom: HTTPS to an address on the threat list. */
    {
        const floe_gen_eni *a = ACTOR();
        outbound(pl, floe_gen_plant_types[14], "any flow to or from a threat-list address", a, 6,
                 W(5));
        pl->summary = "3 HTTPS connections to 185.220.101.47 (threat list 185.220.101.0/24)";
        if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
        pl->targets[0] = ip4(185, 220, 101, 47);
        pl->ntargets = 1;
        pl->ports[0] = 443;
        pl->nports = 1;
        for (int i = 0; i < 3; i++) {
            int64_t s = W(5) + 70 + i * 131;
            pconn k = {a,    a->ip4, pl->targets[0],
                       true, 6,      FLOE_ACTION_ACCEPT,
                       1,    0,      floe_gen_eph_port(r),
                       443,  s,      s + 4,
                       11,   1500,   9,
                       5200, 3,      19};
            plant_conn(&b, pl, &k);
        }
        pl++;
    }
    /* 16. Beaconing: a 300 s (+- 2 s) HTTPS heartbeat for the whole run. */
    {
        const floe_gen_eni *a = ACTOR();
        outbound(pl, floe_gen_plant_types[15],
                 ">= 12 connections with coefficient of variation of gaps <= 0.1", a, 6, t0a);
        pl->summary = "HTTPS check-ins every 300 s (jitter +- 2 s) to one external host";
        pl->period_s = 300;
        floe_gen_ip t = plant_ip(&b, 193, second++);
        if (!alloc_targets_and_ports(w, pl, 1, 1)) goto oom;
        pl->targets[0] = t;
        pl->ntargets = 1;
        pl->ports[0] = 443;
        pl->nports = 1;
        uint32_t first_rec = b.n;
        for (int64_t s = t0a + 137; s + 2 < w->t1 - 60; s += 300) {
            int64_t ts = s + (int64_t)floe_gen_below(r, 5) - 2;
            pconn k = {a,    a->ip4, t,
                       true, 6,      FLOE_ACTION_ACCEPT,
                       1,    0,      floe_gen_eph_port(r),
                       443,  ts,     ts + 2,
                       6,    900,    5,
                       1500, 3,      19};
            plant_conn(&b, pl, &k);
        }
        /* CV of the gaps between the check-ins as written (forward records, in time order). */
        double sum = 0, sq = 0;
        int64_t prev = -1;
        uint32_t ngaps = 0;
        for (uint32_t i = first_rec; i < b.n && !b.err; i++) {
            if (b.recs[i].dir != FLOE_DIRECTION_EGRESS) continue;
            if (prev >= 0) {
                double g = (double)(b.recs[i].start - prev);
                sum += g;
                sq += g * g;
                ngaps++;
            }
            prev = b.recs[i].start;
        }
        if (ngaps) {
            double mean = sum / ngaps, var = sq / ngaps - mean * mean;
            pl->gap_cv = mean > 0 ? sqrt(var > 0 ? var : 0) / mean : 0;
        }
        pl->win_start = pl->first_seen;
        pl->win_end = pl->last_seen + 1;
        pl++;
    }
    if (w->o->lookalikes) {
        const floe_gen_eni *front = NULL;
        for (uint32_t i = 0; i < v->neni && !front; i++) {
            const floe_gen_eni *e = &w->enis[v->eni_first + i];
            if (e->role == FLOE_GEN_ROLE_FRONT && e->is_public) front = e;
        }
        if (!front) {
            snprintf(err, err_len, "no public web server in the first VPC for --lookalikes; "
                                   "raise --enis");
            free(b.recs);
            return -1;
        }
        const floe_gen_eni *resolver = ACTOR();
        const floe_gen_eni *poller = ACTOR();
        if (build_lookalikes(&b, front, &w->enis[v->nat], resolver, poller, t0a) != 0) goto oom;
    }
    if (b.err) goto oom;
    if (w->oom) goto oom;

    /* Distinct counts as written. */
    for (uint32_t i = 0; i < w->nplants; i++) {
        w->plants[i].distinct_hosts =
            w->plants[i].nsources ? w->plants[i].nsources : w->plants[i].ntargets;
        w->plants[i].distinct_ports = w->plants[i].nports;
    }
    for (uint32_t i = 0; i < w->nlookalikes; i++) {
        w->lookalikes[i].distinct_hosts = w->lookalikes[i].ntargets;
        w->lookalikes[i].distinct_ports = w->lookalikes[i].nports;
    }

    qsort(b.recs, b.n, sizeof *b.recs, cmp_rec);
    for (uint32_t i = 0; i < b.n; i++) {
        floe_gen_eni *e = &w->enis[b.recs[i].eni->idx];
        if (!e->plant_count) e->plant_first = i;
        e->plant_count++;
    }
    w->plant_recs = b.recs;
    w->nplant_recs = b.n;
    return 0;
oom:
    free(b.recs);
    snprintf(err, err_len, "out of memory");
    return -1;
#undef W
#undef ACTOR
}
