/* floe_gen_traffic.c: background traffic for one ENI and one aggregation window, and the fast
 * text formatter.
 *
 * BACKGROUND GUARANTEES. Planted attacks must be the only thing that crosses the default
 * thresholds of detections.md, so the background is built to stay under each of them by
 * construction, not by luck. "Per 10 min" below means any 10-minute span; a span overlaps at most
 * 2 windows of 10 minutes or 11 windows of 1 minute.
 *  - Portscan (>= 100 dst ports, one src -> one dst, REJECT or SYN-only): a background pair uses
 *    one service port (plus ICMP); scanner noise sends one flow per source. Replies from busy
 *    servers fan out to many client ephemeral ports, but those records are ACCEPTed and carry
 *    SYN-ACK / FIN / ACK flags, never SYN-only.
 *  - PortSweep (>= 50 hosts on one port): an ENI's internal peers are a fixed list of at most 12;
 *    external destinations come from fixed pools of at most 40 hosts per port (32 IPv4 + 8 IPv6
 *    on 443); an external web client talks to at most 8 front ends (one client population per
 *    group of 8). Ephemeral ports repeat across clients only by chance, well under 50.
 *  - PortProbeUnprotectedPort (>= 10 external sources ACCEPTed on a sensitive port in 1 h):
 *    externals are ACCEPTed only on 80 and 443, plus 22 on the bastion from 2 admin addresses.
 *    Scanner noise on sensitive ports is always REJECTed.
 *  - SSH / RDP / WinRM brute force (>= 50 flows in 10 min, one src -> one target): 22, 3389,
 *    5985 are control classes: at most one connection per window per ENI and class (plus one
 *    per peer in the first window), i.e. at most 24 records per pair per 10 min even counting
 *    both ENIs of a connection.
 *  - DenialOfService / TrafficVolumeUnusual (>= 1M packets or >= 1 GB to one external in
 *    10 min): every record toward an external host has bounded size (API requests <= 64
 *    packets, web replies <= 700 packets of <= 1400 B, the rest control classes), and a data
 *    class may send at most 150 connections per 10 min to one external peer (a per-window cap
 *    scaled by window length): at most ~300 MB and ~250k packets per pair per 10 min.
 *    No background protocol other than TCP, UDP, ICMP, except ESP (50) of the bastion's VPN,
 *    a control class far below 1M packets.
 *  - NetworkPortUnusual (first use of a remote port after >= 1 h): every client class of every
 *    ENI uses each of its remote ports in the ENI's first window (at t0); later windows never
 *    add a port. Ephemeral ports never repeat a service port (they are >= 32768).
 *  - Spambot / BitcoinTool: no background flow uses port 25 or a mining-pool port (3333, 4444,
 *    5555, 7777, 8333, 9999, 14444, 45700), not even as an ephemeral port (45700 is skipped).
 *  - MaliciousIPCaller: background externals never fall in 45/8, 185/8, 193/8, which hold every
 *    plant address and every threat-list entry.
 *  - Beaconing (>= 12 connections, gap CV <= 0.1): every start time is uniform inside its
 *    window and data classes are Poisson, so gaps between a pair's flows are irregular (CV
 *    around 0.4 or more); there are no periodic timers in the background.
 */
#include "floe_gen_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* ---- fixed external pools ---- */

typedef struct ext_src {
    const char *addr;
    uint8_t svc;
    uint8_t http; /* also serves port 80 */
} ext_src;

/* 32 IPv4 then 8 IPv6 API / update / SaaS endpoints: the only externals any ENI (or the NAT)
 * initiates data connections to. 40 hosts per port at most, under PortSweep's 50. */
static const ext_src api_src[] = {
    {"52.216.8.11", FLOE_GEN_SVC_S3, 0},
    {"52.217.40.3", FLOE_GEN_SVC_S3, 0},
    {"3.5.0.20", FLOE_GEN_SVC_S3, 0},
    {"54.231.129.8", FLOE_GEN_SVC_S3, 0},
    {"52.219.96.54", FLOE_GEN_SVC_S3, 0},
    {"52.94.0.72", FLOE_GEN_SVC_DYNAMODB, 0},
    {"3.218.180.2", FLOE_GEN_SVC_DYNAMODB, 0},
    {"54.239.28.85", FLOE_GEN_SVC_EC2, 0},
    {"52.46.128.4", FLOE_GEN_SVC_EC2, 0},
    {"54.239.16.12", FLOE_GEN_SVC_AMAZON, 0},
    {"52.119.161.5", FLOE_GEN_SVC_AMAZON, 0},
    {"13.32.99.21", FLOE_GEN_SVC_CLOUDFRONT, 1},
    {"99.84.222.7", FLOE_GEN_SVC_CLOUDFRONT, 1},
    {"3.226.174.2", FLOE_GEN_SVC_API_GATEWAY, 0},
    {"140.82.112.3", FLOE_GEN_SVC_NONE, 0},
    {"140.82.114.4", FLOE_GEN_SVC_NONE, 0},
    {"151.101.0.223", FLOE_GEN_SVC_NONE, 1},
    {"151.101.64.223", FLOE_GEN_SVC_NONE, 1},
    {"104.16.132.229", FLOE_GEN_SVC_NONE, 1},
    {"104.18.32.7", FLOE_GEN_SVC_NONE, 1},
    {"142.250.72.14", FLOE_GEN_SVC_NONE, 1},
    {"34.117.59.81", FLOE_GEN_SVC_NONE, 0},
    {"35.186.224.25", FLOE_GEN_SVC_NONE, 0},
    {"13.107.42.14", FLOE_GEN_SVC_NONE, 1},
    {"20.190.160.3", FLOE_GEN_SVC_NONE, 0},
    {"54.187.174.169", FLOE_GEN_SVC_NONE, 0},
    {"34.120.195.249", FLOE_GEN_SVC_NONE, 0},
    {"104.16.3.35", FLOE_GEN_SVC_NONE, 1},
    {"3.216.34.172", FLOE_GEN_SVC_NONE, 0},
    {"44.205.64.79", FLOE_GEN_SVC_NONE, 0},
    {"91.189.91.82", FLOE_GEN_SVC_NONE, 1},
    {"91.189.91.83", FLOE_GEN_SVC_NONE, 1},
    {"2606:4700::6810:84e5", FLOE_GEN_SVC_NONE, 1},
    {"2a04:4e42::223", FLOE_GEN_SVC_NONE, 1},
    {"2607:f8b0:4004:c07::64", FLOE_GEN_SVC_NONE, 0},
    {"2620:1ec:21::14", FLOE_GEN_SVC_NONE, 0},
    {"2600:9000:2000::5", FLOE_GEN_SVC_CLOUDFRONT, 1},
    {"2600:9000:2001::7", FLOE_GEN_SVC_CLOUDFRONT, 1},
    {"2a05:d018:91c:3200::10", FLOE_GEN_SVC_S3, 0},
    {"2620:108:700f::3645:fd5b", FLOE_GEN_SVC_AMAZON, 0},
};
#define N_API  (sizeof api_src / sizeof api_src[0])
#define N_API4 32

static const char *const dns_src[] = {"8.8.8.8", "1.1.1.1"};
static const char *const ntp_src[] = {"162.159.200.1", "162.159.200.123", "216.239.35.0",
                                      "129.6.15.28"};
static const char *const git_src[] = {"140.82.112.3", "140.82.114.4"};
static const char *const admin_src[] = {"82.132.10.4", "88.99.1.17"};
static const char *const vpn_src = "81.2.69.142";
/* ISP prefixes (/32) for IPv6 web clients. */
static const char *const client6_src[] = {"2a02:c7f::", "2600:1700::", "2a01:e0a::", "2003:e6::"};

static floe_gen_ip api_pool[N_API], dns_pool[2], ntp_pool[4], git_pool[2], admin_pool[2], vpn_peer,
    client6[4];

/* Ports internet scanners knock on (never 25 or a mining port); 0 with ICMP. */
static const struct {
    uint16_t port;
    uint8_t proto;
} scan_ports[] = {{22, 6},    {23, 6},   {80, 6},   {443, 6},   {445, 6},  {1433, 6}, {3306, 6},
                  {3389, 6},  {5432, 6}, {5900, 6}, {6379, 6},  {8080, 6}, {8443, 6}, {9200, 6},
                  {27017, 6}, {2375, 6}, {1723, 6}, {11211, 6}, {8888, 6}, {81, 6},   {5060, 17},
                  {161, 17},  {123, 17}, {53, 17},  {1900, 17}, {0, 1}};
#define N_SCAN_PORTS (sizeof scan_ports / sizeof scan_ports[0])

/* API-pool indices by [IPv6][port 80]. */
static uint8_t api_idx[2][2][N_API];
static uint32_t api_n[2][2];

/* tcp-flags as AWS reports them (ACK only alongside SYN): client side, then server side. */
static uint8_t fwd_flags[100], rep_flags[100];

static void parse_ip(floe_gen_ip *ip, const char *s, uint8_t svc) {
    memset(ip, 0, sizeof *ip);
    ip->svc = svc;
    if (inet_pton(AF_INET, s, ip->b) == 1)
        ip->fam = 4;
    else if (inet_pton(AF_INET6, s, ip->b) == 1)
        ip->fam = 6;
}

static void fill_flags(uint8_t *t, const uint8_t *val, const uint8_t *pct, int n) {
    int at = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < pct[i] && at < 100; j++)
            t[at++] = val[i];
    while (at < 100)
        t[at++] = val[0];
}

static char oct_str[256][4];
static uint8_t oct_len[256];
static char digits2[200];

void floe_gen_traffic_init(void) {
    for (size_t i = 0; i < N_API; i++) {
        parse_ip(&api_pool[i], api_src[i].addr, api_src[i].svc);
        int v6 = i >= N_API4;
        api_idx[v6][0][api_n[v6][0]++] = (uint8_t)i;
        if (api_src[i].http) api_idx[v6][1][api_n[v6][1]++] = (uint8_t)i;
    }
    for (int i = 0; i < 2; i++)
        parse_ip(&dns_pool[i], dns_src[i], FLOE_GEN_SVC_NONE);
    for (int i = 0; i < 4; i++)
        parse_ip(&ntp_pool[i], ntp_src[i], FLOE_GEN_SVC_NONE);
    for (int i = 0; i < 2; i++)
        parse_ip(&git_pool[i], git_src[i], FLOE_GEN_SVC_NONE);
    for (int i = 0; i < 2; i++)
        parse_ip(&admin_pool[i], admin_src[i], FLOE_GEN_SVC_NONE);
    for (int i = 0; i < 4; i++)
        parse_ip(&client6[i], client6_src[i], FLOE_GEN_SVC_NONE);
    parse_ip(&vpn_peer, vpn_src, FLOE_GEN_SVC_NONE);
    static const uint8_t fv[] = {3, 2, 1, 0, 11, 4, 6, 9}, fp[] = {45, 12, 12, 10, 8, 5, 3, 5};
    static const uint8_t rv[] = {19, 18, 1, 0, 27, 4, 26}, rp[] = {45, 20, 12, 10, 5, 5, 3};
    fill_flags(fwd_flags, fv, fp, 8);
    fill_flags(rep_flags, rv, rp, 7);
    for (int i = 0; i < 256; i++) {
        int n = 0;
        if (i >= 100) oct_str[i][n++] = (char)('0' + i / 100);
        if (i >= 10) oct_str[i][n++] = (char)('0' + i / 10 % 10);
        oct_str[i][n++] = (char)('0' + i % 10);
        oct_len[i] = (uint8_t)n;
    }
    for (int i = 0; i < 100; i++) {
        digits2[2 * i] = (char)('0' + i / 10);
        digits2[2 * i + 1] = (char)('0' + i % 10);
    }
}

/* ---- sizes ---- */

typedef struct prof {
    float fmed, fsig;      /* client -> server packets: median and log-sd */
    uint16_t fbmin, fbmax; /* bytes per packet */
    uint32_t fpmax;        /* hard cap on packets in one record */
    float rmed, rsig;      /* server -> client */
    uint16_t rbmin, rbmax;
    uint32_t rpmax;
    uint16_t dur_max; /* seconds */
} prof;

static const prof profs[FLOE_GEN_K_COUNT] = {
    [FLOE_GEN_K_WEB_IN] = {9, .8f, 52, 300, 400, 12, 1.0f, 200, 1400, 700, 30},
    [FLOE_GEN_K_APP_OUT] = {6, .9f, 60, 600, 2000, 8, 1.1f, 100, 1400, 4000, 20},
    [FLOE_GEN_K_APP_IN] = {6, .9f, 60, 600, 2000, 8, 1.1f, 100, 1400, 4000, 20},
    [FLOE_GEN_K_DB_OUT] = {5, 1.0f, 60, 400, 2000, 7, 1.2f, 80, 1400, 6000, 10},
    [FLOE_GEN_K_DB_IN] = {5, 1.0f, 60, 400, 2000, 7, 1.2f, 80, 1400, 6000, 10},
    [FLOE_GEN_K_API_OUT] = {7, .8f, 60, 600, 64, 10, 1.2f, 100, 1400, 6000, 15},
    [FLOE_GEN_K_NAT_FWD] = {7, .8f, 60, 600, 64, 10, 1.2f, 100, 1400, 6000, 15},
    [FLOE_GEN_K_VPCE_OUT] = {6, .8f, 60, 600, 400, 8, 1.0f, 100, 1400, 3000, 10},
    [FLOE_GEN_K_VPCE_IN] = {6, .8f, 60, 600, 400, 8, 1.0f, 100, 1400, 3000, 10},
    [FLOE_GEN_K_XVPC_OUT] = {6, .8f, 60, 600, 400, 8, 1.0f, 100, 1400, 3000, 10},
    [FLOE_GEN_K_XVPC_IN] = {6, .8f, 60, 600, 400, 8, 1.0f, 100, 1400, 3000, 10},
    [FLOE_GEN_K_PING_OUT] = {1, .4f, 84, 84, 4, 1, .4f, 84, 84, 4, 3},
    [FLOE_GEN_K_PING_IN] = {1, .4f, 84, 84, 4, 1, .4f, 84, 84, 4, 3},
    [FLOE_GEN_K_SCAN_IN] = {1, .3f, 40, 60, 2, 1, 0, 40, 40, 1, 1},
    [FLOE_GEN_K_DNS_OUT] = {1, .3f, 60, 90, 2, 1, .3f, 80, 300, 2, 1},
    [FLOE_GEN_K_NTP_OUT] = {1, 0, 76, 76, 1, 1, 0, 76, 76, 1, 1},
    [FLOE_GEN_K_GIT_OUT] = {30, .8f, 60, 400, 500, 80, 1.0f, 200, 1400, 3000, 20},
    [FLOE_GEN_K_ADMIN_IN] = {60, 1.0f, 60, 300, 5000, 80, 1.0f, 80, 1200, 8000, 600},
    [FLOE_GEN_K_SSH_OUT] = {60, 1.0f, 60, 300, 5000, 80, 1.0f, 80, 1200, 8000, 600},
    [FLOE_GEN_K_SSH_IN] = {60, 1.0f, 60, 300, 5000, 80, 1.0f, 80, 1200, 8000, 600},
    [FLOE_GEN_K_RDP_OUT] = {300, .8f, 60, 600, 20000, 600, .8f, 100, 1400, 40000, 600},
    [FLOE_GEN_K_RDP_IN] = {300, .8f, 60, 600, 20000, 600, .8f, 100, 1400, 40000, 600},
    [FLOE_GEN_K_WINRM_OUT] = {40, .8f, 80, 800, 3000, 40, .8f, 100, 1400, 3000, 120},
    [FLOE_GEN_K_WINRM_IN] = {40, .8f, 80, 800, 3000, 40, .8f, 100, 1400, 3000, 120},
    [FLOE_GEN_K_VPN] = {300, .8f, 100, 1400, 5000, 300, .8f, 100, 1400, 5000, 600},
};

/* A standard-normal-ish deviate bounded to +-3.5 (Irwin-Hall of 4), so caps are never hit by a
 * freak tail. */
static double bounded_normal(floe_gen_rng *r) {
    uint64_t x = floe_gen_next(r);
    double s = (double)(x & 0xffff) + (double)(x >> 16 & 0xffff) + (double)(x >> 32 & 0xffff) +
               (double)(x >> 48);
    return (s / 65536.0 - 2.0) * 1.7320508075688772;
}

static uint64_t draw_packets(floe_gen_rng *r, float med, float sig, uint32_t pmax) {
    double p = sig > 0 ? med * exp(sig * bounded_normal(r)) : med;
    uint64_t n = (uint64_t)(p + 0.5);
    if (n < 1) n = 1;
    if (n > pmax) n = pmax;
    return n;
}

static uint64_t poisson(floe_gen_rng *r, double lambda) {
    if (lambda <= 0) return 0;
    if (lambda < 30) {
        double l = exp(-lambda), p = 1;
        uint64_t k = 0;
        for (;;) {
            p *= floe_gen_unit(r);
            if (p <= l) return k;
            k++;
        }
    }
    double u1 = floe_gen_unit(r), u2 = floe_gen_unit(r);
    double z = sqrt(-2.0 * log(u1 + 1e-300)) * cos(6.283185307179586 * u2);
    double n = lambda + sqrt(lambda) * z + 0.5;
    return n < 0 ? 0 : (uint64_t)n;
}

uint16_t floe_gen_eph_port(floe_gen_rng *r) {
    uint32_t p = FLOE_GEN_EPH_LO + (uint32_t)floe_gen_below(r, FLOE_GEN_EPH_HI - FLOE_GEN_EPH_LO);
    if (p >= 45700) p++; /* a mining-pool port: never in the background */
    return (uint16_t)p;
}

/* ---- per-window peer caps ---- */

/* Counts connections per (class, external peer) inside one ENI window; a peer at its cap is
 * skipped. This is what bounds per-pair volume whatever the density. Stamped, so a new window
 * costs nothing to clear. */
struct floe_gen_cap {
    uint64_t key;
    uint32_t stamp, count;
};
#define CAP_BITS      16
#define CAP_SIZE      (1u << CAP_BITS)
#define CAP_PER_10MIN 150

static bool cap_take(floe_gen_ctx *c, uint64_t key, uint32_t cap) {
    uint32_t h = (uint32_t)floe_gen_mix64(key) & (CAP_SIZE - 1);
    for (;;) {
        struct floe_gen_cap *s = &c->caps[h];
        if (s->stamp != c->cap_stamp) {
            if (c->cap_used >= CAP_SIZE / 2) return false; /* table full: stop this window */
            s->stamp = c->cap_stamp;
            s->key = key;
            s->count = 1;
            c->cap_used++;
            return true;
        }
        if (s->key == key) {
            if (s->count >= cap) return false;
            s->count++;
            return true;
        }
        h = (h + 1) & (CAP_SIZE - 1);
    }
}

/* ---- formatting ---- */

static inline char *put_u64(char *p, uint64_t v) {
    char tmp[24];
    char *t = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        t -= 2;
        memcpy(t, digits2 + i, 2);
    }
    if (v >= 10) {
        t -= 2;
        memcpy(t, digits2 + v * 2, 2);
    } else {
        *--t = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - t);
    memcpy(p, t, n);
    return p + n;
}

static inline char *put_s(char *p, floe_gen_str s) {
    memcpy(p, s.p, s.n);
    return p + s.n;
}

static inline char *put_c(char *p, const char *s, size_t n) {
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put_c(p, lit, sizeof(lit) - 1)

char *floe_gen_put_ip(char *p, const floe_gen_ip *ip) {
    if (ip->fam == 4) {
        for (int i = 0; i < 4; i++) {
            memcpy(p, oct_str[ip->b[i]], 4);
            p += oct_len[ip->b[i]];
            *p++ = '.';
        }
        return p - 1;
    }
    if (ip->fam != 6) {
        *p++ = '-';
        return p;
    }
    /* RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::". */
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(ip->b[2 * i] << 8 | ip->b[2 * i + 1]);
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (g[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && !g[j])
            j++;
        if (j - i > best_len) best = i, best_len = j - i;
        i = j;
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0) *p++ = ':';
            i += best_len - 1;
            continue;
        }
        uint16_t v = g[i];
        int started = 0;
        for (int s = 12; s >= 0; s -= 4) {
            int d = v >> s & 15;
            if (d || started || s == 0) {
                *p++ = hex[d];
                started = 1;
            }
        }
        if (i < 7) *p++ = ':';
    }
    return p;
}

void floe_gen_civil(int64_t t, int *y, int *mo, int *d, int *h, int *mi, int *s) {
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) rem += 86400, days--;
    *h = (int)(rem / 3600);
    *mi = (int)(rem / 60 % 60);
    *s = (int)(rem % 60);
    /* Howard Hinnant's civil_from_days. */
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    uint32_t doe = (uint32_t)(days - era * 146097);
    uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint32_t mp = (5 * doy + 2) / 153;
    uint32_t dd = doy - (153 * mp + 2) / 5 + 1;
    uint32_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (mm <= 2));
    *mo = (int)mm;
    *d = (int)dd;
}

static inline char *put_2(char *p, int v) {
    memcpy(p, digits2 + 2 * v, 2);
    return p + 2;
}

char *floe_gen_put_iso(char *p, int64_t t, bool ms) {
    int y, mo, d, h, mi, s;
    floe_gen_civil(t, &y, &mo, &d, &h, &mi, &s);
    p = put_2(p, y / 100);
    p = put_2(p, y % 100);
    *p++ = '-';
    p = put_2(p, mo);
    *p++ = '-';
    p = put_2(p, d);
    *p++ = 'T';
    p = put_2(p, h);
    *p++ = ':';
    p = put_2(p, mi);
    *p++ = ':';
    p = put_2(p, s);
    if (ms) p = PUT_LIT(p, ".000");
    *p++ = 'Z';
    return p;
}

static const char *const svc_names[FLOE_GEN_SVC_COUNT] = {
    "-", "AMAZON", "S3", "EC2", "DYNAMODB", "CLOUDFRONT", "API_GATEWAY"};

static char *put_svc(char *p, uint8_t svc) {
    const char *s = svc_names[svc < FLOE_GEN_SVC_COUNT ? svc : 0];
    return put_c(p, s, strlen(s));
}

/* One record in the configured field order, without the newline. */
static char *format_rec(char *p, const floe_gen_world *w, const floe_gen_rec *r) {
    const floe_gen_opts *o = w->o;
    const floe_gen_eni *e = r->eni;
    const floe_gen_vpc *v = &w->vpcs[e->vpc];
    const floe_gen_subnet *s = &w->subnets[e->subnet];
    const bool ok = r->status == FLOE_LOG_STATUS_OK;
    const bool tgw = ok && r->tgw_src;
    for (uint32_t i = 0; i < o->nfields; i++) {
        if (i) *p++ = ' ';
        const uint8_t f = o->fields[i];
        switch (f) {
        case FLOE_F_VERSION:
            p = put_c(p, w->version_str, strlen(w->version_str));
            continue;
        case FLOE_F_ACCOUNT_ID:
            p = put_s(p, w->accounts[e->account].id);
            continue;
        case FLOE_F_INTERFACE_ID:
            p = put_s(p, e->id);
            continue;
        case FLOE_F_START:
            p = put_u64(p, (uint64_t)r->start);
            continue;
        case FLOE_F_END:
            p = put_u64(p, (uint64_t)r->end);
            continue;
        case FLOE_F_LOG_STATUS:
            if (r->status == FLOE_LOG_STATUS_OK)
                p = PUT_LIT(p, "OK");
            else if (r->status == FLOE_LOG_STATUS_NODATA)
                p = PUT_LIT(p, "NODATA");
            else
                p = PUT_LIT(p, "SKIPDATA");
            continue;
        case FLOE_F_VPC_ID:
            p = put_s(p, v->id);
            continue;
        case FLOE_F_SUBNET_ID:
            p = put_s(p, s->id);
            continue;
        case FLOE_F_INSTANCE_ID:
            p = put_s(p, e->instance);
            continue;
        case FLOE_F_REGION:
            p = put_c(p, floe_gen_region_name(v->region), strlen(floe_gen_region_name(v->region)));
            continue;
        case FLOE_F_AZ_ID:
            p = put_s(p, s->az);
            continue;
        case FLOE_F_SUBLOCATION_TYPE:
            p = put_s(p, s->subloc_type);
            continue;
        case FLOE_F_SUBLOCATION_ID:
            p = put_s(p, s->subloc_id);
            continue;
        case FLOE_F_RESOURCE_ID:
            p = put_s(p, e->resource);
            continue;
        default:
            break;
        }
        if (f >= FLOE_F_ECS_CLUSTER_ARN && f <= FLOE_F_ECS_TASK_ID) {
            p = put_s(p, e->ecs[f - FLOE_F_ECS_CLUSTER_ARN]);
            continue;
        }
        if (!ok) { /* NODATA / SKIPDATA: traffic fields have no value */
            *p++ = '-';
            continue;
        }
        switch (f) {
        case FLOE_F_SRCADDR:
            p = floe_gen_put_ip(p, &r->src);
            break;
        case FLOE_F_DSTADDR:
            p = floe_gen_put_ip(p, &r->dst);
            break;
        case FLOE_F_SRCPORT:
            p = put_u64(p, r->sport);
            break;
        case FLOE_F_DSTPORT:
            p = put_u64(p, r->dport);
            break;
        case FLOE_F_PROTOCOL:
            p = put_u64(p, r->proto);
            break;
        case FLOE_F_PACKETS:
            p = put_u64(p, r->packets);
            break;
        case FLOE_F_BYTES:
            p = put_u64(p, r->bytes);
            break;
        case FLOE_F_ACTION:
            if (r->action == FLOE_ACTION_ACCEPT)
                p = PUT_LIT(p, "ACCEPT");
            else if (r->action == FLOE_ACTION_REJECT)
                p = PUT_LIT(p, "REJECT");
            else
                *p++ = '-';
            break;
        case FLOE_F_TCP_FLAGS:
            p = put_u64(p, r->flags);
            break;
        case FLOE_F_TYPE:
            if (r->src.fam == 6)
                p = PUT_LIT(p, "IPv6");
            else
                p = PUT_LIT(p, "IPv4");
            break;
        case FLOE_F_PKT_SRCADDR:
            p = floe_gen_put_ip(p, r->pkt_src.fam ? &r->pkt_src : &r->src);
            break;
        case FLOE_F_PKT_DSTADDR:
            p = floe_gen_put_ip(p, r->pkt_dst.fam ? &r->pkt_dst : &r->dst);
            break;
        case FLOE_F_PKT_SRC_AWS_SERVICE:
            p = put_svc(p, r->pkt_src.fam ? r->pkt_src.svc : r->src.svc);
            break;
        case FLOE_F_PKT_DST_AWS_SERVICE:
            p = put_svc(p, r->pkt_dst.fam ? r->pkt_dst.svc : r->dst.svc);
            break;
        case FLOE_F_FLOW_DIRECTION:
            if (r->dir == FLOE_DIRECTION_EGRESS)
                p = PUT_LIT(p, "egress");
            else
                p = PUT_LIT(p, "ingress");
            break;
        case FLOE_F_TRAFFIC_PATH:
            if (r->path)
                *p++ = (char)('0' + r->path);
            else
                *p++ = '-';
            break;
        case FLOE_F_REJECT_REASON:
            if (r->bpa)
                p = PUT_LIT(p, "BPA");
            else
                *p++ = '-';
            break;
        case FLOE_F_ENCRYPTION_STATUS:
            *p++ = (char)('0' + r->enc);
            break;
        default:
            if (!tgw) { /* transit gateway fields: only cross-VPC records have them */
                *p++ = '-';
                break;
            }
            {
                const floe_gen_eni *a = r->tgw_src, *b = r->tgw_dst;
                const floe_gen_eni *other = a->vpc == e->vpc ? b : a;
                switch (f) {
                case FLOE_F_RESOURCE_TYPE:
                    p = PUT_LIT(p, "TransitGateway");
                    break;
                case FLOE_F_TGW_ID:
                    p = put_s(p, v->tgw_id);
                    break;
                case FLOE_F_TGW_ATTACHMENT_ID:
                    p = put_s(p, v->tgw_attach);
                    break;
                case FLOE_F_TGW_SRC_VPC_ACCOUNT_ID:
                    p = put_s(p, w->accounts[a->account].id);
                    break;
                case FLOE_F_TGW_DST_VPC_ACCOUNT_ID:
                    p = put_s(p, w->accounts[b->account].id);
                    break;
                case FLOE_F_TGW_SRC_VPC_ID:
                    p = put_s(p, w->vpcs[a->vpc].id);
                    break;
                case FLOE_F_TGW_DST_VPC_ID:
                    p = put_s(p, w->vpcs[b->vpc].id);
                    break;
                case FLOE_F_TGW_SRC_SUBNET_ID:
                    p = put_s(p, w->subnets[a->subnet].id);
                    break;
                case FLOE_F_TGW_DST_SUBNET_ID:
                    p = put_s(p, w->subnets[b->subnet].id);
                    break;
                case FLOE_F_TGW_SRC_ENI:
                    p = put_s(p, a->id);
                    break;
                case FLOE_F_TGW_DST_ENI:
                    p = put_s(p, b->id);
                    break;
                case FLOE_F_TGW_SRC_AZ_ID:
                    p = put_s(p, w->subnets[a->subnet].az);
                    break;
                case FLOE_F_TGW_DST_AZ_ID:
                    p = put_s(p, w->subnets[b->subnet].az);
                    break;
                case FLOE_F_TGW_PAIR_ATTACHMENT_ID:
                    p = put_s(p, w->vpcs[other->vpc].tgw_attach);
                    break;
                case FLOE_F_PACKETS_LOST_MTU_EXCEEDED:
                    p = put_u64(p, r->lost_mtu);
                    break;
                case FLOE_F_PACKETS_LOST_NO_ROUTE:
                case FLOE_F_PACKETS_LOST_BLACKHOLE:
                case FLOE_F_PACKETS_LOST_TTL_EXPIRED:
                    *p++ = '0';
                    break;
                default:
                    *p++ = '-';
                    break;
                }
            }
            break;
        }
    }
    return p;
}

/* ---- context and emission ---- */

int floe_gen_ctx_init(floe_gen_ctx *c, const floe_gen_world *w) {
    memset(c, 0, sizeof *c);
    c->w = w;
    c->cloudwatch = w->o->layout == FLOE_GEN_LAYOUT_CLOUDWATCH;
    c->caps = calloc(CAP_SIZE, sizeof *c->caps);
    if (!c->caps) return -ENOMEM;
    c->cap_stamp = 1;
    return 0;
}

void floe_gen_ctx_free(floe_gen_ctx *c) {
    free(c->buf);
    free(c->caps);
    c->buf = NULL;
    c->caps = NULL;
}

static bool reserve(floe_gen_ctx *c) {
    if (c->cap - c->len >= FLOE_GEN_MAX_RECORD) return true;
    size_t cap = c->cap ? c->cap * 2 : (1u << 20);
    if (cap > FLOE_GEN_CHUNK_BYTES + 2 * FLOE_GEN_MAX_RECORD)
        cap = FLOE_GEN_CHUNK_BYTES + 2 * FLOE_GEN_MAX_RECORD;
    if (cap - c->len < FLOE_GEN_MAX_RECORD) return false;
    char *nb = realloc(c->buf, cap);
    if (!nb) return false;
    c->buf = nb;
    c->cap = cap;
    return true;
}

void floe_gen_emit(floe_gen_ctx *c, const floe_gen_rec *r) {
    if (c->err) return;
    if (!reserve(c)) {
        c->err = -ENOMEM;
        return;
    }
    char *start = c->buf + c->len, *p = start;
    if (c->cloudwatch) {
        p = floe_gen_put_iso(p, r->end, true);
        *p++ = ' ';
    }
    p = format_rec(p, c->w, r);
    *p++ = '\n';
    size_t n = (size_t)(p - start);
    floe_gen_stats *st = &c->st;
    st->records++;
    st->text_bytes += n;
    st->status[r->status & 3]++;
    st->act_records[r->action % 3]++;
    if (r->status == FLOE_LOG_STATUS_OK) {
        st->act_packets[r->action % 3] += r->packets;
        st->act_bytes[r->action % 3] += r->bytes;
    }
    if (c->calibrating) {
        c->cal_bytes[c->cat] += n;
        c->cal_records[c->cat]++;
        c->cal_ok[c->cat] += r->status == FLOE_LOG_STATUS_OK;
        return; /* the text itself is not needed */
    }
    c->len += n;
    if (c->len >= FLOE_GEN_CHUNK_BYTES && c->flush) {
        int rc = c->flush(c);
        if (rc) c->err = rc;
    }
}

/* ---- connections ---- */

typedef struct conn {
    const floe_gen_eni *e;          /* recording ENI */
    const floe_gen_eni *peer;       /* the other ENI when it is in another VPC (TGW) */
    const floe_gen_eni *nat_client; /* NAT_FWD: the instance behind the NAT */
    floe_gen_ip local, remote;
    const prof *pf;
    uint16_t port; /* the server's port */
    uint8_t proto, action, path, enc, bpa;
    bool local_client, reply;
} conn;

static uint8_t pick_flags(floe_gen_rng *r, const uint8_t *table) {
    return table[floe_gen_below(r, 100)];
}

static void emit_conn(floe_gen_ctx *c, floe_gen_rng *r, const conn *k, int64_t ws, int64_t we) {
    const prof *pf = k->pf;
    floe_gen_rec f = {0};
    int64_t start = ws + (int64_t)floe_gen_below(r, (uint64_t)(we - ws));
    int64_t dur = (int64_t)floe_gen_below(r, pf->dur_max + 1u);
    if (start + dur > we - 1) dur = we - 1 - start;
    const bool ported = k->proto == 6 || k->proto == 17;
    const uint16_t eph = ported ? floe_gen_eph_port(r) : 0;
    f.eni = k->e;
    f.start = start;
    f.end = start + dur;
    f.proto = k->proto;
    f.action = k->action;
    f.status = FLOE_LOG_STATUS_OK;
    f.enc = k->enc;
    f.packets = draw_packets(r, pf->fmed, pf->fsig, pf->fpmax);
    f.bytes = f.packets * floe_gen_range(r, pf->fbmin, pf->fbmax);
    if (k->proto == 6) f.flags = k->action == FLOE_ACTION_REJECT ? 2 : pick_flags(r, fwd_flags);
    f.lost_mtu = k->peer && floe_gen_below(r, 100) == 0 ? (uint8_t)floe_gen_range(r, 1, 3) : 0;
    if (k->local_client) {
        f.src = k->local;
        f.dst = k->remote;
        f.sport = eph;
        f.dport = ported ? k->port : 0;
        f.dir = FLOE_DIRECTION_EGRESS;
        f.path = k->path;
        if (k->peer) f.tgw_src = k->e, f.tgw_dst = k->peer;
    } else {
        f.src = k->remote;
        f.dst = k->local;
        f.sport = eph;
        f.dport = ported ? k->port : 0;
        f.dir = FLOE_DIRECTION_INGRESS;
        f.bpa = k->bpa;
        if (k->peer) f.tgw_src = k->peer, f.tgw_dst = k->e;
    }
    if (k->nat_client) {
        /* The instance's packet arriving at the NAT: dstaddr is the NAT, pkt-dstaddr the real
         * destination. Then the NAT's own egress (the record above) and the reply. */
        floe_gen_rec in = f;
        in.src = k->nat_client->ip4;
        in.sport = floe_gen_eph_port(r);
        in.dst = k->local;
        in.pkt_dst = k->remote;
        in.dir = FLOE_DIRECTION_INGRESS;
        in.path = 0;
        floe_gen_emit(c, &in);
    }
    floe_gen_emit(c, &f);
    if (!k->reply || k->action != FLOE_ACTION_ACCEPT) return;
    floe_gen_rec b = f;
    b.src = f.dst;
    b.dst = f.src;
    b.sport = f.dport;
    b.dport = f.sport;
    b.tgw_src = f.tgw_dst;
    b.tgw_dst = f.tgw_src;
    b.dir = f.dir == FLOE_DIRECTION_EGRESS ? FLOE_DIRECTION_INGRESS : FLOE_DIRECTION_EGRESS;
    b.path = b.dir == FLOE_DIRECTION_EGRESS ? k->path : 0;
    b.bpa = 0;
    b.packets = draw_packets(r, pf->rmed, pf->rsig, pf->rpmax);
    b.bytes = b.packets * floe_gen_range(r, pf->rbmin, pf->rbmax);
    if (k->proto == 6) b.flags = pick_flags(r, rep_flags);
    floe_gen_emit(c, &b);
}

/* Internal traffic is mostly encrypted by Nitro (1), some not (0), a little mixed (2, 3). */
static uint8_t internal_enc(floe_gen_rng *r) {
    uint64_t x = floe_gen_below(r, 100);
    return x < 70 ? 1 : x < 90 ? 0 : x < 97 ? 2 : 3;
}

static uint16_t service_port(const floe_gen_world *w, uint8_t kind, const floe_gen_eni *server) {
    (void)w;
    switch (kind) {
    case FLOE_GEN_K_APP_OUT:
    case FLOE_GEN_K_APP_IN:
        return 8080;
    case FLOE_GEN_K_DB_OUT:
    case FLOE_GEN_K_DB_IN:
        return server->db_port;
    case FLOE_GEN_K_VPCE_OUT:
    case FLOE_GEN_K_VPCE_IN:
        return 443;
    case FLOE_GEN_K_XVPC_OUT:
    case FLOE_GEN_K_XVPC_IN:
        return 8443;
    case FLOE_GEN_K_SSH_OUT:
    case FLOE_GEN_K_SSH_IN:
        return 22;
    case FLOE_GEN_K_RDP_OUT:
    case FLOE_GEN_K_RDP_IN:
        return 3389;
    case FLOE_GEN_K_WINRM_OUT:
    case FLOE_GEN_K_WINRM_IN:
        return 5985;
    default:
        return 0;
    }
}

static bool is_out_kind(uint8_t k) {
    switch (k) {
    case FLOE_GEN_K_APP_OUT:
    case FLOE_GEN_K_DB_OUT:
    case FLOE_GEN_K_VPCE_OUT:
    case FLOE_GEN_K_XVPC_OUT:
    case FLOE_GEN_K_PING_OUT:
    case FLOE_GEN_K_SSH_OUT:
    case FLOE_GEN_K_RDP_OUT:
    case FLOE_GEN_K_WINRM_OUT:
        return true;
    default:
        return false;
    }
}

/* Picks an API-pool host serving the port under the per-window cap; -1 when every try hit the
 * cap. cap == UINT32_MAX (warm-up) bypasses the table so a full table can never skip it. */
static int pick_api(floe_gen_ctx *c, floe_gen_rng *r, uint8_t kind, bool v6, uint16_t port,
                    uint32_t cap) {
    const uint8_t *list = api_idx[v6][port == 80];
    const uint32_t n = api_n[v6][port == 80];
    if (!n) return -1;
    for (int tries = 0; tries < 6; tries++) {
        uint32_t i = list[floe_gen_below(r, n)];
        if (cap == UINT32_MAX || cap_take(c, (uint64_t)kind << 56 | i, cap)) return (int)i;
    }
    return -1;
}

/* One connection of class cls. forced_peer / forced_port / forced_v6 >= 0 pin the choice
 * (warm-up). */
static void gen_one(floe_gen_ctx *c, floe_gen_rng *r, const floe_gen_eni *e,
                    const floe_gen_cls *cls, int64_t ws, int64_t we, int64_t forced_peer,
                    int forced_port, int forced_v6, uint32_t cap) {
    const floe_gen_world *w = c->w;
    const uint8_t kind = cls->kind;
    conn k = {0};
    k.e = e;
    k.pf = &profs[kind];
    k.proto = 6;
    k.action = FLOE_ACTION_ACCEPT;
    k.reply = true;
    k.local = e->ip4;
    const uint8_t out_path = e->is_public ? 8 : 1; /* IGW (Nitro) or through the NAT */

    if (cls->npeers) { /* internal edges */
        uint32_t pi =
            forced_peer >= 0 ? (uint32_t)forced_peer : cls->peers[floe_gen_below(r, cls->npeers)];
        const floe_gen_eni *pe = &w->enis[pi];
        bool out = is_out_kind(kind);
        k.remote = pe->ip4;
        k.local_client = out;
        k.port = service_port(w, kind, out ? pe : e);
        k.path = 1;
        k.enc = internal_enc(r);
        if (pe->vpc != e->vpc) {
            k.peer = pe;
            k.path = w->vpcs[pe->vpc].region == w->vpcs[e->vpc].region ? 4 : 5;
        }
        if (kind == FLOE_GEN_K_PING_OUT || kind == FLOE_GEN_K_PING_IN) k.proto = 1;
        emit_conn(c, r, &k, ws, we);
        return;
    }

    switch (kind) {
    case FLOE_GEN_K_WEB_IN: {
        bool v6 = e->dual_stack && floe_gen_below(r, 4) == 0;
        uint32_t rank = 0;
        int tries = 0;
        for (; tries < 4; tries++) {
            /* Zipf, exponent 0.8, over 2^20 clients: rank = (15u + 1)^5 - 1. */
            double x = 15.0 * floe_gen_unit(r) + 1.0, x2 = x * x;
            rank = (uint32_t)(x2 * x2 * x) - 1;
            if (rank >= (1u << 20)) rank = (1u << 20) - 1;
            if (cap_take(c, (uint64_t)kind << 56 | (uint64_t)v6 << 32 | rank, cap)) break;
        }
        if (tries == 4) return;
        uint64_t h = floe_gen_seed_of(w->o->seed, 0x636c69656e74ULL, e->front_group, rank);
        if (v6) {
            k.remote = client6[h & 3];
            for (int i = 4; i < 16; i++)
                k.remote.b[i] = (uint8_t)(floe_gen_mix64(h + (uint64_t)i) >> 7);
            k.local = e->ip6;
        } else {
            floe_gen_public_ip4(&k.remote, h);
        }
        k.port = floe_gen_below(r, 10) ? 443 : 80;
        k.path = 8;
        break;
    }
    case FLOE_GEN_K_API_OUT:
    case FLOE_GEN_K_NAT_FWD: {
        bool nat = kind == FLOE_GEN_K_NAT_FWD;
        const floe_gen_vpc *v = &w->vpcs[e->vpc];
        if (nat && !v->napi_users) return;
        bool v6 =
            forced_v6 >= 0 ? forced_v6 == 1 : !nat && e->dual_stack && floe_gen_below(r, 5) == 0;
        uint16_t port =
            forced_port >= 0 ? (uint16_t)forced_port : (floe_gen_below(r, 10) ? 443 : 80);
        int i = pick_api(c, r, kind, v6, port, cap);
        if (i < 0) return;
        k.remote = api_pool[i];
        if (v6) k.local = e->ip6;
        k.port = port;
        k.local_client = true;
        k.path = out_path;
        if (!e->is_public &&
            (api_src[i].svc == FLOE_GEN_SVC_S3 || api_src[i].svc == FLOE_GEN_SVC_DYNAMODB))
            k.path = 7; /* gateway endpoint */
        if (nat) {
            k.nat_client = &w->enis[v->api_users[floe_gen_below(r, v->napi_users)]];
            k.path = 8;
        }
        break;
    }
    case FLOE_GEN_K_SCAN_IN: {
        floe_gen_public_ip4(&k.remote, floe_gen_next(r));
        uint32_t si = (uint32_t)floe_gen_below(r, N_SCAN_PORTS);
        k.port = scan_ports[si].port;
        k.proto = scan_ports[si].proto;
        k.action = FLOE_ACTION_REJECT;
        k.reply = false;
        k.bpa = w->vpcs[e->vpc].bpa && e->role != FLOE_GEN_ROLE_FRONT;
        break;
    }
    case FLOE_GEN_K_DNS_OUT:
        k.remote = dns_pool[floe_gen_below(r, 2)];
        k.proto = 17;
        k.port = 53;
        k.local_client = true;
        k.path = out_path;
        break;
    case FLOE_GEN_K_NTP_OUT:
        k.remote = ntp_pool[floe_gen_below(r, 4)];
        k.proto = 17;
        k.port = 123;
        k.local_client = true;
        k.path = out_path;
        break;
    case FLOE_GEN_K_GIT_OUT:
        k.remote = git_pool[floe_gen_below(r, 2)];
        k.port = 22;
        k.local_client = true;
        k.path = out_path;
        break;
    case FLOE_GEN_K_ADMIN_IN:
        k.remote = admin_pool[floe_gen_below(r, 2)];
        k.port = 22;
        k.path = 8;
        break;
    case FLOE_GEN_K_VPN:
        k.remote = vpn_peer;
        k.proto = 50;
        k.local_client = true;
        k.path = 8;
        break;
    default:
        return;
    }
    emit_conn(c, r, &k, ws, we);
}

/* First window of an ENI: every remote port its client classes will ever use, once, so that
 * later traffic never shows a "new" remote port (NetworkPortUnusual baseline). */
static void warm_up(floe_gen_ctx *c, floe_gen_rng *r, const floe_gen_eni *e,
                    const floe_gen_cls *cls, int64_t ws, int64_t we) {
    if (cls->npeers) {
        if (!is_out_kind(cls->kind)) return;
        for (uint32_t p = 0; p < cls->npeers; p++)
            gen_one(c, r, e, cls, ws, we, cls->peers[p], -1, -1, UINT32_MAX);
        return;
    }
    switch (cls->kind) {
    case FLOE_GEN_K_API_OUT:
    case FLOE_GEN_K_NAT_FWD:
        /* Both ports from every address family the ENI has: each address is its own host. */
        for (int v6 = 0; v6 <= (cls->kind == FLOE_GEN_K_API_OUT && e->dual_stack); v6++) {
            gen_one(c, r, e, cls, ws, we, -1, 443, v6, UINT32_MAX);
            gen_one(c, r, e, cls, ws, we, -1, 80, v6, UINT32_MAX);
        }
        break;
    case FLOE_GEN_K_DNS_OUT:
    case FLOE_GEN_K_NTP_OUT:
    case FLOE_GEN_K_GIT_OUT:
    case FLOE_GEN_K_VPN:
        gen_one(c, r, e, cls, ws, we, -1, -1, -1, UINT32_MAX);
        break;
    default:
        break;
    }
}

static void emit_status(floe_gen_ctx *c, const floe_gen_eni *e, int64_t ws, int64_t we,
                        uint8_t status, floe_gen_rng *r) {
    floe_gen_rec n = {0};
    n.eni = e;
    n.status = status;
    n.start = ws;
    int64_t end = we - 1 - (int64_t)floe_gen_below(r, 4);
    n.end = end < ws ? ws : end;
    c->cat = FLOE_GEN_CAT_FIXED;
    floe_gen_emit(c, &n);
}

void floe_gen_eni_window(floe_gen_ctx *c, const floe_gen_eni *e, int64_t k) {
    const floe_gen_world *w = c->w;
    int64_t ws, we;
    if (!floe_gen_window(w, e, k, &ws, &we)) return;
    floe_gen_rng rng;
    floe_gen_rng_seed(&rng, floe_gen_seed_of(w->o->seed, 0x77696e646f77ULL, e->idx, (uint64_t)k));
    const double frac = (double)(we - ws) / 600.0;
    uint32_t cap = (uint32_t)(CAP_PER_10MIN * frac);
    if (cap < 1) cap = 1;
    if (++c->cap_stamp == 0) { /* wrapped: really clear once every 2^32 windows */
        memset(c->caps, 0, CAP_SIZE * sizeof *c->caps);
        c->cap_stamp = 1;
    }
    c->cap_used = 0;

    /* A rare window where AWS skipped records: SKIPDATA, then what was kept. */
    if (floe_gen_below(&rng, 1000) < 3) emit_status(c, e, ws, we, FLOE_LOG_STATUS_SKIPDATA, &rng);
    const uint64_t before = c->st.records;
    const bool first = ws == w->t0;

    for (uint32_t i = 0; i < e->ncls; i++) {
        const floe_gen_cls *cls = &e->cls[i];
        const bool scan = cls->kind == FLOE_GEN_K_SCAN_IN;
        c->cat = cls->control ? FLOE_GEN_CAT_FIXED : scan ? FLOE_GEN_CAT_SCAN : FLOE_GEN_CAT_DATA;
        uint64_t n;
        if (cls->control)
            n = floe_gen_unit(&rng) < cls->rate * frac ? 1 : 0;
        else
            n = poisson(&rng, cls->rate * w->density * (scan ? w->scan_mult : 1) * frac);
        if (first) warm_up(c, &rng, e, cls, ws, we);
        for (uint64_t j = 0; j < n && !c->err; j++)
            gen_one(c, &rng, e, cls, ws, we, -1, -1, -1, cap);
    }

    if (e->plant_count) {
        const floe_gen_rec *pr = w->plant_recs + e->plant_first;
        uint32_t lo = 0, hi = e->plant_count;
        while (lo < hi) { /* first record of window >= k */
            uint32_t mid = (lo + hi) / 2;
            if ((int64_t)pr[mid].window < k)
                lo = mid + 1;
            else
                hi = mid;
        }
        c->cat = FLOE_GEN_CAT_FIXED;
        for (; lo < e->plant_count && (int64_t)pr[lo].window == k; lo++) {
            floe_gen_emit(c, &pr[lo]);
            c->st.plant_records++;
        }
    }
    if (c->st.records == before) emit_status(c, e, ws, we, FLOE_LOG_STATUS_NODATA, &rng);
}

void floe_gen_calibrate(const floe_gen_world *w, floe_gen_cal *cal) {
    floe_gen_ctx c;
    memset(cal, 0, sizeof *cal);
    if (floe_gen_ctx_init(&c, w)) return;
    c.calibrating = true;
    uint64_t windows = 0;
    /* A stride sample of at most ~400 ENIs: roles come in blocks per VPC, so a stride keeps
     * the mix, and the cost stays small next to the run. */
    const uint32_t step = w->nenis > 400 ? w->nenis / 400 : 1;
    for (uint32_t i = 0; i < w->nenis; i += step) {
        for (int64_t k = 1; k <= 3; k++) {
            int64_t ws, we;
            if (!floe_gen_window(w, &w->enis[i], k, &ws, &we)) continue;
            floe_gen_eni_window(&c, &w->enis[i], k);
            windows++;
        }
    }
    for (int i = 0; i < 3 && windows; i++) {
        cal->bytes[i] = (double)c.cal_bytes[i] / (double)windows;
        cal->recs[i] = (double)c.cal_records[i] / (double)windows;
        cal->ok[i] = (double)c.cal_ok[i] / (double)windows;
    }
    floe_gen_ctx_free(&c);
}

void floe_gen_stats_add(floe_gen_stats *into, const floe_gen_stats *from) {
    into->files += from->files;
    into->headers += from->headers;
    into->records += from->records;
    into->text_bytes += from->text_bytes;
    into->stored_bytes += from->stored_bytes;
    into->plant_records += from->plant_records;
    for (int i = 0; i < 4; i++)
        into->status[i] += from->status[i];
    for (int i = 0; i < 3; i++) {
        into->act_records[i] += from->act_records[i];
        into->act_packets[i] += from->act_packets[i];
        into->act_bytes[i] += from->act_bytes[i];
    }
}
