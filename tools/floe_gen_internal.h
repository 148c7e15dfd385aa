/* floe_gen_internal.h: the types shared by the pieces of floe-gen, the seeded flow-log generator.
 *
 * Pieces and their order (each includes only what is above it):
 *   floe_gen_internal.h  PRNG, the world model, records, per-file counters
 *   floe_gen_world.c     accounts, VPCs, subnets, ENIs, the background conversation graph
 *   floe_gen_traffic.c   one ENI's records for one aggregation window, and the text formatter
 *   floe_gen_plant.c     the planted attacks (records, truth entries, the threat list)
 *   floe_gen_out.c       S3 / CloudWatch file units, compression, temp-then-rename writes, threads
 *   floe_gen_truth.c     the JSON truth file
 *   floe_gen.c           the command line
 *
 * Determinism: every random choice comes from xoshiro256** streams seeded from --seed and from
 * the identity of what is being generated (an ENI and a window index, a plant, the world), never
 * from time or thread scheduling, so the same arguments give a byte-identical tree. */
#ifndef FLOE_GEN_INTERNAL_H
#define FLOE_GEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "floe_field.h"

/* ---- PRNG: splitmix64 to seed, xoshiro256** to draw (public-domain algorithms). ---- */

static inline uint64_t floe_gen_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A seed for one independent stream, from the run seed and up to three identifiers. */
static inline uint64_t floe_gen_seed_of(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    uint64_t h = floe_gen_mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = floe_gen_mix64(h ^ (a + 0x632be59bd9b4e019ULL));
    h = floe_gen_mix64(h ^ (b + 0x8cb92ba72f3d8dd7ULL));
    return floe_gen_mix64(h ^ (c + 0x4f1bbcdcbfa53e0bULL));
}

typedef struct floe_gen_rng {
    uint64_t s[4];
} floe_gen_rng;

static inline void floe_gen_rng_seed(floe_gen_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        r->s[i] = floe_gen_mix64(seed);
    }
}

static inline uint64_t floe_gen_rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t floe_gen_next(floe_gen_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = floe_gen_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = floe_gen_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-40 for our n). */
static inline uint64_t floe_gen_below(floe_gen_rng *r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)floe_gen_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline uint64_t floe_gen_range(floe_gen_rng *r, uint64_t lo, uint64_t hi) {
    return lo + floe_gen_below(r, hi - lo + 1);
}

/* Uniform in [0, 1). */
static inline double floe_gen_unit(floe_gen_rng *r) {
    return (double)(floe_gen_next(r) >> 11) * 0x1.0p-53;
}

/* ---- constants ---- */

#define FLOE_GEN_SLOT_SECONDS 300         /* AWS delivers a file every 5 minutes */
#define FLOE_GEN_CHUNK_BYTES  (64u << 20) /* text per gzip member / zstd frame, at most */
#define FLOE_GEN_MAX_CLS      12          /* traffic classes one ENI can have */
#define FLOE_GEN_MAX_RECORD   8192        /* upper bound of one formatted line */
#define FLOE_GEN_EPH_LO       32768       /* Linux ephemeral range, */
#define FLOE_GEN_EPH_HI       60999       /* minus 45700 (a mining-pool port) */

enum floe_gen_layout { FLOE_GEN_LAYOUT_DEFAULT, FLOE_GEN_LAYOUT_HIVE, FLOE_GEN_LAYOUT_CLOUDWATCH };
enum floe_gen_codec { FLOE_GEN_CODEC_GZIP, FLOE_GEN_CODEC_ZSTD, FLOE_GEN_CODEC_PLAIN };

enum floe_gen_role {
    FLOE_GEN_ROLE_NAT,     /* NAT gateway ENI (requester-managed) */
    FLOE_GEN_ROLE_BASTION, /* SSH jump host, VPN tunnel end */
    FLOE_GEN_ROLE_VPCE,    /* interface VPC endpoint (requester-managed) */
    FLOE_GEN_ROLE_WIN,     /* Windows hosts administered over RDP / WinRM */
    FLOE_GEN_ROLE_FRONT,   /* load balancer nodes and public web servers */
    FLOE_GEN_ROLE_APP,     /* application servers, some ECS tasks */
    FLOE_GEN_ROLE_WORKER,  /* batch workers: heavy API callers */
    FLOE_GEN_ROLE_DB,      /* databases and caches */
    FLOE_GEN_ROLE_COUNT
};

/* Traffic classes. "_OUT" classes are seen from the client ENI, "_IN" from the server ENI. Data
 * classes scale with --size; control classes (from DNS_OUT on) emit at most one connection per
 * aggregation window whatever the size, which is what keeps them below brute-force thresholds. */
enum floe_gen_kind {
    FLOE_GEN_K_WEB_IN,
    FLOE_GEN_K_APP_OUT,
    FLOE_GEN_K_APP_IN,
    FLOE_GEN_K_DB_OUT,
    FLOE_GEN_K_DB_IN,
    FLOE_GEN_K_API_OUT,
    FLOE_GEN_K_NAT_FWD,
    FLOE_GEN_K_VPCE_OUT,
    FLOE_GEN_K_VPCE_IN,
    FLOE_GEN_K_XVPC_OUT,
    FLOE_GEN_K_XVPC_IN,
    FLOE_GEN_K_PING_OUT,
    FLOE_GEN_K_PING_IN,
    FLOE_GEN_K_SCAN_IN,
    FLOE_GEN_K_DNS_OUT, /* first control class */
    FLOE_GEN_K_NTP_OUT,
    FLOE_GEN_K_GIT_OUT,
    FLOE_GEN_K_ADMIN_IN,
    FLOE_GEN_K_SSH_OUT,
    FLOE_GEN_K_SSH_IN,
    FLOE_GEN_K_RDP_OUT,
    FLOE_GEN_K_RDP_IN,
    FLOE_GEN_K_WINRM_OUT,
    FLOE_GEN_K_WINRM_IN,
    FLOE_GEN_K_VPN,
    FLOE_GEN_K_COUNT
};
#define FLOE_GEN_K_FIRST_CONTROL FLOE_GEN_K_DNS_OUT

/* pkt-*-aws-service names; index 0 is "-". */
enum {
    FLOE_GEN_SVC_NONE,
    FLOE_GEN_SVC_AMAZON,
    FLOE_GEN_SVC_S3,
    FLOE_GEN_SVC_EC2,
    FLOE_GEN_SVC_DYNAMODB,
    FLOE_GEN_SVC_CLOUDFRONT,
    FLOE_GEN_SVC_API_GATEWAY,
    FLOE_GEN_SVC_COUNT
};

/* ---- the world ---- */

typedef struct floe_gen_str {
    const char *p;
    uint32_t n;
} floe_gen_str;

typedef struct floe_gen_ip {
    uint8_t fam; /* 0: none ("-"), 4 or 6 */
    uint8_t svc; /* FLOE_GEN_SVC_*: the AWS service this address belongs to */
    uint8_t b[16];
} floe_gen_ip;

typedef struct floe_gen_cls {
    uint8_t kind;
    uint8_t control; /* 1: `rate` is a probability per 10 min, at most 1 per window */
    uint32_t npeers;
    const uint32_t *peers; /* ENI indices of the other ends (internal classes) */
    double rate;           /* data classes: connections per 10 min at density 1 */
} floe_gen_cls;

typedef struct floe_gen_eni {
    uint32_t idx, account, vpc, subnet;
    uint8_t role;
    uint8_t requester_managed; /* no instance-id */
    uint8_t dual_stack;
    uint8_t is_public;  /* reachable from the internet (gets scanner noise) */
    uint8_t shared_api; /* serves other VPCs through the transit gateway */
    uint8_t uses_api;   /* calls the external API pool (NAT forwards for it) */
    uint16_t db_port;
    uint32_t phase;       /* 1..interval s: windows end at t0 + phase + k*interval */
    uint32_t front_group; /* FRONTs sharing one client population */
    uint32_t ncls;
    floe_gen_cls cls[FLOE_GEN_MAX_CLS];
    floe_gen_ip ip4, ip6;
    double weight; /* Zipf-like activity */
    floe_gen_str id, instance, resource;
    floe_gen_str ecs[10]; /* the ten ecs-* fields in table order, "-" when not a task */
    uint32_t plant_first, plant_count; /* this ENI's planted records (sorted by window) */
} floe_gen_eni;

typedef struct floe_gen_subnet {
    floe_gen_str id, az, subloc_type, subloc_id;
    uint32_t vpc;
    uint32_t base4;    /* host-order network address of the /20 */
    uint8_t base6[16]; /* the /64 */
    uint8_t is_public;
    uint32_t next_host;
} floe_gen_subnet;

typedef struct floe_gen_vpc {
    uint32_t account, region;
    floe_gen_str id, tgw_id, tgw_attach;
    uint32_t cidr4; /* host-order /16 */
    uint8_t prefix6[16];
    uint8_t bpa; /* VPC Block Public Access in ingress-only mode, FRONTs excluded */
    uint32_t subnet_first, nsubnets;
    uint32_t eni_first, neni;
    uint32_t nat, bastion, vpce, win[2];
    uint32_t *api_users; /* private ENIs that reach the internet through the NAT */
    uint32_t napi_users;
} floe_gen_vpc;

typedef struct floe_gen_account {
    floe_gen_str id, flow_log_id, export_task;
    uint32_t region, vpc;
} floe_gen_account;

typedef struct floe_gen_opts {
    const char *out_dir;
    const char *truth_path, *intel_path; /* resolved, never NULL after option parsing */
    char *owned_paths[2];                /* the defaults built from -o, freed at exit */
    const char *org_id;                  /* NULL when none */
    uint64_t seed;
    uint64_t size_bytes; /* target text bytes, 0 when records_target is set */
    uint64_t records_target;
    int64_t start;  /* Unix seconds, a multiple of 300 */
    uint32_t hours; /* 0: chosen from the size */
    uint32_t accounts, enis;
    uint32_t interval; /* seconds: 60 or 600 */
    int codec, level, layout;
    bool hourly, plants, lookalikes, quiet;
    uint32_t threads;
    uint8_t fields[FLOE_FIELD_COUNT]; /* the format, in order */
    uint32_t nfields;
    const char *format_name; /* "v2", "custom", ... for the truth file */
} floe_gen_opts;

typedef struct floe_gen_rec floe_gen_rec;
typedef struct floe_gen_plant floe_gen_plant;

typedef struct floe_gen_world {
    const floe_gen_opts *o;
    floe_gen_account *accounts;
    floe_gen_vpc *vpcs;
    floe_gen_subnet *subnets;
    floe_gen_eni *enis;
    uint32_t naccounts, nvpcs, nsubnets, nenis;
    int64_t t0, t1;       /* run range, seconds */
    uint32_t nslots;      /* 5-minute delivery slots */
    double density;       /* multiplies every data-class rate */
    double scan_mult;     /* multiplies scanner noise on top, to keep REJECTs near 7% */
    char version_str[12]; /* the version column: highest version of the chosen fields */
    char *header;         /* header line including '\n' */
    uint32_t header_len;
    floe_gen_rec *plant_recs;
    uint32_t nplant_recs;
    floe_gen_plant *plants;
    uint32_t nplants;
    floe_gen_plant *lookalikes; /* --lookalikes: benign traffic shaped like attacks */
    uint32_t nlookalikes;
    void *arena; /* owns every string and peer list */
    bool oom;    /* an arena allocation failed */
} floe_gen_world;

/* ---- records ---- */

struct floe_gen_rec {
    const floe_gen_eni *eni;               /* the ENI whose flow log holds the record */
    const floe_gen_eni *tgw_src, *tgw_dst; /* both ends, for cross-VPC (transit gateway) records */
    int64_t start, end;
    uint64_t packets, bytes;
    floe_gen_ip src, dst, pkt_src, pkt_dst; /* pkt_*.fam == 0: same as src / dst */
    uint16_t sport, dport;
    uint8_t proto, action, status, flags, dir, path, enc, bpa, lost_mtu;
    uint32_t window; /* plants: the ENI window index holding the record */
    uint32_t seq;    /* plants: creation order, to keep sorting stable */
};

/* Counters for what one unit (or the whole tree) wrote. */
typedef struct floe_gen_stats {
    uint64_t files, headers, records, text_bytes, stored_bytes, plant_records;
    uint64_t status[4];                                    /* indexed by FLOE_LOG_STATUS_* */
    uint64_t act_records[3], act_packets[3], act_bytes[3]; /* FLOE_ACTION_* (0 = "-") */
} floe_gen_stats;

void floe_gen_stats_add(floe_gen_stats *into, const floe_gen_stats *from);

/* ---- floe_gen_world.c ---- */

/* Builds accounts, VPCs, ENIs and the conversation graph. Returns NULL and fills err. */
floe_gen_world *floe_gen_world_build(const floe_gen_opts *o, char *err, size_t err_len);
void floe_gen_world_free(floe_gen_world *w);
/* Sets t0 / t1 / nslots for a number of hours. */
void floe_gen_world_set_hours(floe_gen_world *w, uint32_t hours);
/* Arena allocation: zeroed, lives as long as the world. NULL when out of memory. */
void *floe_gen_alloc(floe_gen_world *w, size_t n);
floe_gen_str floe_gen_strf(floe_gen_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *floe_gen_region_name(uint32_t region);
/* A public IPv4 address for background use, outside every range reserved for plants. */
void floe_gen_public_ip4(floe_gen_ip *ip, uint64_t h);

/* Window k of ENI e: [*ws, *we), clipped to the run. False when empty. */
static inline bool floe_gen_window(const floe_gen_world *w, const floe_gen_eni *e, int64_t k,
                                   int64_t *ws, int64_t *we) {
    int64_t iv = w->o->interval;
    int64_t a = w->t0 + e->phase + (k - 1) * iv, b = a + iv;
    if (a < w->t0) a = w->t0;
    if (b > w->t1) b = w->t1;
    *ws = a;
    *we = b;
    return a < b;
}

/* The window of ENI e that holds second t (t0 <= t < t1). */
static inline int64_t floe_gen_window_of(const floe_gen_world *w, const floe_gen_eni *e,
                                         int64_t t) {
    int64_t x = t - w->t0 - e->phase, iv = w->o->interval;
    return (x >= 0 ? x / iv : -((-x + iv - 1) / iv)) + 1;
}

/* ---- floe_gen_traffic.c ---- */

/* Parses the fixed external address pools; call once before any other traffic function. */
void floe_gen_traffic_init(void);

typedef struct floe_gen_ctx floe_gen_ctx;
/* Called when the text buffer passes FLOE_GEN_CHUNK_BYTES and at the end of a unit; it consumes
 * buf[0..len) and resets len. Returns 0 or a negative errno. */
typedef int (*floe_gen_flush_fn)(floe_gen_ctx *c);

struct floe_gen_ctx {
    const floe_gen_world *w;
    char *buf;
    size_t len, cap;
    floe_gen_stats st;
    bool cloudwatch;
    floe_gen_flush_fn flush;
    void *sink; /* owned by the flush function's module */
    int err;    /* first negative errno from a flush */
    /* per-window peer caps (see floe_gen_traffic.c) */
    struct floe_gen_cap *caps;
    uint32_t cap_stamp, cap_used;
    /* calibration: text split by category (enum floe_gen_cat) */
    bool calibrating;
    uint8_t cat;
    uint64_t cal_bytes[3], cal_records[3], cal_ok[3];
};

/* What scales a record's count: nothing (control classes, NODATA), the density (data classes),
 * or the density times the scanner multiplier (internet noise, the REJECTs). */
enum floe_gen_cat { FLOE_GEN_CAT_FIXED, FLOE_GEN_CAT_DATA, FLOE_GEN_CAT_SCAN };

/* Per ENI window averages at density 1, scanner multiplier 1, by category. */
typedef struct floe_gen_cal {
    double bytes[3], recs[3], ok[3];
} floe_gen_cal;

int floe_gen_ctx_init(floe_gen_ctx *c, const floe_gen_world *w);
void floe_gen_ctx_free(floe_gen_ctx *c);
/* Appends every record of ENI e's window k (background, plants, or NODATA). */
void floe_gen_eni_window(floe_gen_ctx *c, const floe_gen_eni *e, int64_t k);
/* Appends one record as a text line (and counts it). */
void floe_gen_emit(floe_gen_ctx *c, const floe_gen_rec *r);
/* Writes the ISO-8601 UTC form of t: "2026-11-01T00:05:00Z" (ms adds ".000"). */
char *floe_gen_put_iso(char *p, int64_t t, bool ms);
char *floe_gen_put_ip(char *p, const floe_gen_ip *ip);
/* Civil date of Unix seconds. */
void floe_gen_civil(int64_t t, int *y, int *mo, int *d, int *h, int *mi, int *s);
/* Measures text and records per ENI window by category over a sample of windows (at the
 * world's density and scanner multiplier, which the caller sets to 1). */
void floe_gen_calibrate(const floe_gen_world *w, floe_gen_cal *cal);
/* A random ephemeral port (never a port a detector treats as special). */
uint16_t floe_gen_eph_port(floe_gen_rng *r);

/* ---- floe_gen_plant.c ---- */

struct floe_gen_plant {
    const char *type, *threshold, *overlaps, *summary, *direction, *action;
    floe_gen_ip actor;
    int64_t actor_eni; /* -1: external */
    floe_gen_ip *targets;
    uint32_t ntargets;
    floe_gen_ip *sources; /* several external sources (PortProbe), else NULL */
    uint32_t nsources;
    uint32_t distinct_hosts, distinct_ports;
    int64_t target_eni; /* -1: external */
    uint16_t *ports;
    uint32_t nports;
    uint8_t proto;
    int64_t win_start, win_end, first_seen, last_seen;
    uint64_t connections, flows, records, packets, bytes, reply_packets, reply_bytes;
    const char *host_role; /* look-alikes: what the host is ("public web server", ...) */
    uint32_t period_s;     /* beaconing */
    double gap_cv;     /* beaconing: coefficient of variation of the gaps */
};

/* Builds every plant into w->plants / w->plant_recs. Returns 0 or fills err. */
int floe_gen_plants_build(floe_gen_world *w, char *err, size_t err_len);
/* The threat list text (always written, plants or not). */
const char *floe_gen_intel_text(void);
/* The finding types of detections.md, in table order. */
extern const char *const floe_gen_plant_types[];
extern const uint32_t floe_gen_nplant_types;

/* ---- floe_gen_out.c ---- */

typedef struct floe_gen_result {
    floe_gen_stats total;
    uint32_t nunits;
    char err[512];
} floe_gen_result;

/* Generates and writes the whole tree. Returns 0 or -1 with res->err set. */
int floe_gen_write_tree(const floe_gen_world *w, floe_gen_result *res);
/* Writes data to path through a temp name and a rename; 0 or negative errno. */
int floe_gen_write_file(const char *path, const void *data, size_t len);
/* mkdir -p of the directory part of path (or of path itself when dir_itself). */
int floe_gen_mkdirs(const char *path, bool dir_itself);
/* The tree root under out_dir: "AWSLogs" or "exportedlogs". */
const char *floe_gen_tree_root(const floe_gen_opts *o);

/* ---- floe_gen_truth.c ---- */

/* The truth JSON; malloc'ed, NULL when out of memory. */
char *floe_gen_truth_json(const floe_gen_world *w, const floe_gen_result *res, size_t *len);

#endif
