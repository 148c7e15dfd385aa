/* floe_gen_world.c: the simulated estate floe-gen writes flow logs for.
 *
 * Each account has one VPC in one region and one flow log. A VPC holds a NAT gateway, a bastion,
 * an interface endpoint, two Windows hosts, then front ends (ELB nodes and web servers), app
 * servers (some ECS tasks, a few shared with other accounts through a transit gateway), workers
 * and databases. Who talks to whom is a fixed graph built here from the seed; the traffic module
 * only draws how often and how much. The graph's shape is what keeps background traffic under
 * the detection thresholds; the guarantees are listed in floe_gen_traffic.c. */
#include "floe_gen_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- arena ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

void *floe_gen_alloc(floe_gen_world *w, size_t n) {
    n = (n + 15) & ~(size_t)15;
    arena_block *b = w->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        arena_block *nb = calloc(1, sizeof *nb + cap);
        if (!nb) {
            w->oom = true;
            return NULL;
        }
        nb->cap = cap;
        nb->next = b;
        w->arena = nb;
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

floe_gen_str floe_gen_strf(floe_gen_world *w, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof tmp) n = sizeof tmp - 1;
    char *p = floe_gen_alloc(w, (size_t)n + 1);
    floe_gen_str s = {"-", 1};
    if (!p) return s; /* w->oom is set; the builder checks it at the end */
    memcpy(p, tmp, (size_t)n + 1);
    s.p = p;
    s.n = (uint32_t)n;
    return s;
}

/* ---- regions ---- */

static const struct {
    const char *name, *az[3];
} regions[] = {
    {"us-east-1", {"use1-az1", "use1-az2", "use1-az4"}},
    {"eu-west-1", {"euw1-az1", "euw1-az2", "euw1-az3"}},
    {"us-west-2", {"usw2-az1", "usw2-az2", "usw2-az3"}},
    {"ap-southeast-2", {"apse2-az1", "apse2-az3", "apse2-az2"}},
    {"eu-central-1", {"euc1-az2", "euc1-az3", "euc1-az1"}},
};
#define NREGIONS (sizeof regions / sizeof regions[0])

const char *floe_gen_region_name(uint32_t region) {
    return regions[region % NREGIONS].name;
}

/* Account 0 and 1 share us-east-1 (so the transit gateway has a same-region pair), the rest
 * spread over the other regions. */
static uint32_t region_of_account(uint32_t a) {
    return a < 2 ? 0 : (a - 1) % NREGIONS;
}

/* ---- public addresses ---- */

/* First octets of real, routed, non-reserved IPv4 space used for background externals. Not in
 * the list on purpose: 0, 10, 100 (100.64/10), 127, 169, 172, 192, 198, 203, 224+ (private,
 * shared, documentation or special), and 45, 185, 193, which only plants use. */
static const uint8_t public_octets[64] = {
    3,   4,   8,   13,  15,  18,  20,  23,  31,  34,  35,  37,  40,  44,  46,  50,
    51,  52,  54,  62,  64,  66,  69,  72,  74,  77,  78,  80,  81,  82,  84,  86,
    87,  88,  89,  90,  91,  93,  94,  95,  98,  99,  104, 107, 108, 109, 128, 130,
    134, 141, 142, 146, 151, 152, 157, 159, 162, 176, 178, 188, 195, 212, 213, 217};

void floe_gen_public_ip4(floe_gen_ip *ip, uint64_t h) {
    h = floe_gen_mix64(h);
    ip->fam = 4;
    ip->svc = FLOE_GEN_SVC_NONE;
    ip->b[0] = public_octets[h & 63];
    ip->b[1] = (uint8_t)(h >> 8);
    ip->b[2] = (uint8_t)(h >> 16);
    ip->b[3] = (uint8_t)(1 + (h >> 24) % 254); /* never .0 or .255 */
}

/* ---- helpers ---- */

static void hex_id(floe_gen_rng *r, char *out, int n) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < n; i++)
        out[i] = hex[floe_gen_below(r, 16)];
    out[n] = 0;
}

static floe_gen_str hex_str(floe_gen_world *w, floe_gen_rng *r, const char *prefix, int n) {
    char h[80];
    hex_id(r, h, n);
    return floe_gen_strf(w, "%s%s", prefix, h);
}

static void set_ip4(floe_gen_ip *ip, uint32_t host_order) {
    memset(ip, 0, sizeof *ip);
    ip->fam = 4;
    ip->b[0] = (uint8_t)(host_order >> 24);
    ip->b[1] = (uint8_t)(host_order >> 16);
    ip->b[2] = (uint8_t)(host_order >> 8);
    ip->b[3] = (uint8_t)host_order;
}

typedef struct u32vec {
    uint32_t *v;
    uint32_t n, cap;
} u32vec;

static int vec_push(u32vec *v, uint32_t x) {
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 8;
        uint32_t *nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) return -1;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return 0;
}

static bool vec_has(const u32vec *v, uint32_t x) {
    for (uint32_t i = 0; i < v->n; i++)
        if (v->v[i] == x) return true;
    return false;
}

/* Picks up to `want` distinct members of `from` at random into `out`. */
static int pick_distinct(floe_gen_rng *r, const u32vec *from, uint32_t want, u32vec *out) {
    if (want > from->n) want = from->n;
    while (out->n < want) {
        uint32_t x = from->v[floe_gen_below(r, from->n)];
        if (!vec_has(out, x) && vec_push(out, x)) return -1;
    }
    return 0;
}

static const uint32_t *arena_copy(floe_gen_world *w, const u32vec *v) {
    if (!v->n) return NULL;
    uint32_t *p = floe_gen_alloc(w, v->n * sizeof *p);
    if (p) memcpy(p, v->v, v->n * sizeof *p);
    return p;
}

static int add_cls(floe_gen_world *w, floe_gen_eni *e, uint8_t kind, const u32vec *peers,
                   double rate) {
    if (e->ncls >= FLOE_GEN_MAX_CLS) return -1;
    if (peers && !peers->n) return 0; /* nobody to talk to (e.g. a VPC without apps) */
    floe_gen_cls *c = &e->cls[e->ncls++];
    c->kind = kind;
    c->control = kind >= FLOE_GEN_K_FIRST_CONTROL;
    c->rate = rate;
    if (peers && peers->n) {
        c->peers = arena_copy(w, peers);
        if (!c->peers) return -1;
        c->npeers = peers->n;
    }
    return 0;
}

/* Records one connection of the kind produces on the ENI that sees it (used to aim the
 * REJECT share). */
static double recs_per_conn(uint8_t kind) {
    switch (kind) {
    case FLOE_GEN_K_NAT_FWD:
        return 3;
    case FLOE_GEN_K_SCAN_IN:
        return 1;
    default:
        return 2;
    }
}

static const uint16_t db_ports[] = {5432, 3306, 6379, 27017, 9200};
static const char *const ecs_clusters[] = {"prod-ecs", "payments", "platform"};
static const char *const ecs_services[] = {"checkout", "orders-api", "auth", "catalog", "search"};

/* The in-class that serves an out-class, or -1. */
static int in_kind_of(uint8_t out) {
    switch (out) {
    case FLOE_GEN_K_APP_OUT:
        return FLOE_GEN_K_APP_IN;
    case FLOE_GEN_K_DB_OUT:
        return FLOE_GEN_K_DB_IN;
    case FLOE_GEN_K_VPCE_OUT:
        return FLOE_GEN_K_VPCE_IN;
    case FLOE_GEN_K_XVPC_OUT:
        return FLOE_GEN_K_XVPC_IN;
    case FLOE_GEN_K_PING_OUT:
        return FLOE_GEN_K_PING_IN;
    case FLOE_GEN_K_SSH_OUT:
        return FLOE_GEN_K_SSH_IN;
    case FLOE_GEN_K_RDP_OUT:
        return FLOE_GEN_K_RDP_IN;
    case FLOE_GEN_K_WINRM_OUT:
        return FLOE_GEN_K_WINRM_IN;
    default:
        return -1;
    }
}

void floe_gen_world_set_hours(floe_gen_world *w, uint32_t hours) {
    w->t0 = w->o->start;
    w->t1 = w->t0 + (int64_t)hours * 3600;
    w->nslots = hours * 3600 / FLOE_GEN_SLOT_SECONDS;
}

void floe_gen_world_free(floe_gen_world *w) {
    if (!w) return;
    arena_block *b = w->arena;
    while (b) {
        arena_block *n = b->next;
        free(b);
        b = n;
    }
    free(w->accounts);
    free(w->vpcs);
    free(w->subnets);
    free(w->enis);
    free(w->header);
    free(w->plant_recs);
    free(w->plants);
    free(w->lookalikes);
    free(w);
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, err_len, __VA_ARGS__);                                                       \
        goto fail;                                                                                 \
    } while (0)

/* ENIs per account: account 0 (where plants live) gets 40%, the rest share evenly. */
static void split_enis(const floe_gen_opts *o, uint32_t *n) {
    uint32_t a = o->accounts;
    if (a == 1) {
        n[0] = o->enis;
        return;
    }
    n[0] = o->enis * 2 / 5;
    uint32_t rest = o->enis - n[0];
    for (uint32_t i = 1; i < a; i++)
        n[i] = rest / (a - 1) + (i - 1 < rest % (a - 1) ? 1 : 0);
}

floe_gen_world *floe_gen_world_build(const floe_gen_opts *o, char *err, size_t err_len) {
    floe_gen_world *w = calloc(1, sizeof *w);
    floe_gen_world *built = NULL; /* w, once complete */
    u32vec *in_lists = NULL;
    double *in_rates = NULL;
    uint32_t *per_acct = NULL;
    u32vec tmp = {0};
    if (!w) FAIL("out of memory");
    w->o = o;
    floe_gen_traffic_init();
    floe_gen_rng rng;
    floe_gen_rng_seed(&rng, floe_gen_seed_of(o->seed, 0x776f726c64ULL, 0, 0));

    const uint32_t A = o->accounts;
    per_acct = calloc(A, sizeof *per_acct);
    if (!per_acct) FAIL("out of memory");
    split_enis(o, per_acct);
    for (uint32_t a = 0; a < A; a++) {
        if (per_acct[a] < 12)
            FAIL("--enis %u is too small for --accounts %u: every VPC needs at least 12 ENIs",
                 o->enis, A);
        if (per_acct[a] > 10000)
            FAIL("--enis %u is too large for --accounts %u: at most 10000 ENIs per VPC", o->enis,
                 A);
    }
    if (o->plants && per_acct[0] < 40)
        FAIL("plants need at least 40 ENIs in the first account (it gets %u); raise --enis or "
             "use --no-plants",
             per_acct[0]);

    w->naccounts = A;
    w->nvpcs = A;
    w->nenis = o->enis;
    w->accounts = calloc(A, sizeof *w->accounts);
    w->vpcs = calloc(A, sizeof *w->vpcs);
    w->subnets = calloc((size_t)A * 7, sizeof *w->subnets);
    w->enis = calloc(o->enis, sizeof *w->enis);
    in_lists = calloc((size_t)o->enis * FLOE_GEN_K_COUNT, sizeof *in_lists);
    in_rates = calloc((size_t)o->enis * FLOE_GEN_K_COUNT, sizeof *in_rates);
    if (!w->accounts || !w->vpcs || !w->subnets || !w->enis || !in_lists || !in_rates)
        FAIL("out of memory");

    /* Accounts, VPCs, subnets. */
    for (uint32_t a = 0; a < A; a++) {
        floe_gen_account *ac = &w->accounts[a];
        char id[13];
        for (;;) {
            id[0] = (char)('1' + floe_gen_below(&rng, 9));
            for (int i = 1; i < 12; i++)
                id[i] = (char)('0' + floe_gen_below(&rng, 10));
            id[12] = 0;
            bool dup = false;
            for (uint32_t b = 0; b < a; b++)
                dup |= memcmp(w->accounts[b].id.p, id, 12) == 0;
            if (!dup) break;
        }
        ac->id = floe_gen_strf(w, "%s", id);
        ac->flow_log_id = hex_str(w, &rng, "fl-", 17);
        char u[40];
        hex_id(&rng, u, 32);
        ac->export_task =
            floe_gen_strf(w, "%.8s-%.4s-4%.3s-a%.3s-%.12s", u, u + 8, u + 12, u + 15, u + 18);
        ac->region = region_of_account(a);
        ac->vpc = a;

        floe_gen_vpc *v = &w->vpcs[a];
        v->account = a;
        v->region = ac->region;
        v->id = hex_str(w, &rng, "vpc-", 17);
        v->tgw_attach = hex_str(w, &rng, "tgw-attach-", 17);
        v->cidr4 = a == 1 ? (172u << 24 | 31u << 16) : (10u << 24 | a << 16);
        v->bpa = a == 1; /* one VPC runs Block Public Access, so some REJECTs carry BPA */
        static const uint8_t aws6[4] = {0x26, 0x00, 0x1f, 0x18};
        memcpy(v->prefix6, aws6, 4);
        v->prefix6[4] = (uint8_t)floe_gen_below(&rng, 256);
        v->prefix6[5] = (uint8_t)floe_gen_below(&rng, 256);
        v->prefix6[6] = (uint8_t)floe_gen_below(&rng, 256);
        v->subnet_first = w->nsubnets;
        v->nsubnets = a == 0 ? 7 : 6;
        for (uint32_t i = 0; i < v->nsubnets; i++) {
            floe_gen_subnet *s = &w->subnets[w->nsubnets++];
            s->vpc = a;
            s->id = hex_str(w, &rng, "subnet-", 17);
            s->az = floe_gen_strf(w, "%s", regions[v->region].az[i % 3]);
            s->base4 = v->cidr4 | (i * 16u) << 8;
            memcpy(s->base6, v->prefix6, 8);
            s->base6[7] = (uint8_t)i;
            s->is_public = i < 3;
            s->next_host = 4 + (uint32_t)floe_gen_below(&rng, 20); /* AWS reserves .0-.3 */
            if (i == 6) { /* an Outpost subnet: the only place sublocation fields are set */
                s->subloc_type = floe_gen_strf(w, "outpost");
                s->subloc_id = hex_str(w, &rng, "op-", 17);
            } else {
                s->subloc_type = s->subloc_id = floe_gen_strf(w, "-");
            }
        }
    }
    /* One transit gateway per region, shared by the VPCs there. */
    floe_gen_str tgw_of_region[NREGIONS];
    for (uint32_t r = 0; r < NREGIONS; r++)
        tgw_of_region[r] = hex_str(w, &rng, "tgw-", 17);
    for (uint32_t a = 0; a < A; a++)
        w->vpcs[a].tgw_id = tgw_of_region[w->vpcs[a].region];

    /* ENIs with their roles, addresses and names. */
    uint32_t next = 0;
    for (uint32_t a = 0; a < A; a++) {
        floe_gen_vpc *v = &w->vpcs[a];
        floe_gen_account *ac = &w->accounts[a];
        uint32_t n = per_acct[a];
        uint32_t nfront = n * 12 / 100 > 2 ? n * 12 / 100 : 2;
        uint32_t ndb = n * 12 / 100 > 2 ? n * 12 / 100 : 2;
        uint32_t nworker = n * 15 / 100 > 2 ? n * 15 / 100 : 2;
        v->eni_first = next;
        v->neni = n;
        uint32_t nshared = 0, nfront_seen = 0;
        for (uint32_t i = 0; i < n; i++) {
            floe_gen_eni *e = &w->enis[next];
            e->idx = next++;
            e->account = a;
            e->vpc = a;
            if (i == 0)
                e->role = FLOE_GEN_ROLE_NAT, v->nat = e->idx;
            else if (i == 1)
                e->role = FLOE_GEN_ROLE_BASTION, v->bastion = e->idx;
            else if (i == 2)
                e->role = FLOE_GEN_ROLE_VPCE, v->vpce = e->idx;
            else if (i < 5)
                e->role = FLOE_GEN_ROLE_WIN, v->win[i - 3] = e->idx;
            else if (i < 5 + nfront)
                e->role = FLOE_GEN_ROLE_FRONT;
            else if (i < 5 + nfront + ndb)
                e->role = FLOE_GEN_ROLE_DB;
            else if (i < 5 + nfront + ndb + nworker)
                e->role = FLOE_GEN_ROLE_WORKER;
            else
                e->role = FLOE_GEN_ROLE_APP;

            uint8_t r = e->role;
            e->is_public = r == FLOE_GEN_ROLE_NAT || r == FLOE_GEN_ROLE_BASTION ||
                           r == FLOE_GEN_ROLE_WIN || r == FLOE_GEN_ROLE_FRONT;
            e->uses_api =
                r == FLOE_GEN_ROLE_APP || r == FLOE_GEN_ROLE_WORKER || r == FLOE_GEN_ROLE_WIN;
            if (r == FLOE_GEN_ROLE_FRONT) e->front_group = a * 100000 + nfront_seen / 8;
            e->requester_managed = r == FLOE_GEN_ROLE_NAT || r == FLOE_GEN_ROLE_VPCE ||
                                   (r == FLOE_GEN_ROLE_FRONT && nfront_seen % 2 == 0);
            if (r == FLOE_GEN_ROLE_FRONT) nfront_seen++;
            e->dual_stack =
                (r == FLOE_GEN_ROLE_FRONT || r == FLOE_GEN_ROLE_APP || r == FLOE_GEN_ROLE_WORKER) &&
                floe_gen_below(&rng, 4) == 0;
            if (r == FLOE_GEN_ROLE_DB) e->db_port = db_ports[floe_gen_below(&rng, 5)];
            if (r == FLOE_GEN_ROLE_APP && a == 0 && A > 1 && nshared < 4) {
                e->shared_api = 1;
                nshared++;
            }
            e->phase = 1 + (uint32_t)floe_gen_below(&rng, o->interval);

            uint32_t sn;
            if (e->is_public)
                sn = (uint32_t)floe_gen_below(&rng, 3);
            else if (a == 0 && r == FLOE_GEN_ROLE_APP && !e->shared_api &&
                     floe_gen_below(&rng, 33) == 0)
                sn = 6;
            else
                sn = 3 + (uint32_t)floe_gen_below(&rng, 3);
            floe_gen_subnet *s = &w->subnets[v->subnet_first + sn];
            e->subnet = v->subnet_first + sn;
            if (s->next_host > 4090)
                FAIL("--enis %u: a /20 subnet ran out of addresses; use more --accounts", o->enis);
            set_ip4(&e->ip4, s->base4 + s->next_host);
            /* Gaps between addresses look real; big VPCs pack densely to fit their /20s. */
            s->next_host += n > 2000 ? 1 : 1 + (uint32_t)floe_gen_below(&rng, 3);
            memset(&e->ip6, 0, sizeof e->ip6);
            if (e->dual_stack) {
                e->ip6.fam = 6;
                memcpy(e->ip6.b, s->base6, 8);
                uint64_t iid = floe_gen_next(&rng);
                for (int k = 0; k < 8; k++)
                    e->ip6.b[8 + k] = (uint8_t)(iid >> (56 - 8 * k));
            }

            e->id = hex_str(w, &rng, "eni-", 17);
            if (e->requester_managed)
                e->instance = floe_gen_strf(w, "-");
            else
                e->instance = hex_str(w, &rng, "i-", 17);
            if (r == FLOE_GEN_ROLE_NAT)
                e->resource = hex_str(w, &rng, "nat-", 17);
            else if (r == FLOE_GEN_ROLE_VPCE)
                e->resource = hex_str(w, &rng, "vpce-", 17);
            else
                e->resource = e->instance;

            for (int k = 0; k < 10; k++)
                e->ecs[k] = floe_gen_strf(w, "-");
            if (r == FLOE_GEN_ROLE_APP && a < 2 && !e->shared_api && floe_gen_below(&rng, 10) < 3) {
                const char *reg = regions[v->region].name;
                const char *cl = ecs_clusters[floe_gen_below(&rng, 3)];
                const char *svc = ecs_services[floe_gen_below(&rng, 5)];
                char ci[40], task[40], c1[80], c2[80];
                hex_id(&rng, ci, 32);
                hex_id(&rng, task, 32);
                hex_id(&rng, c1, 64);
                hex_id(&rng, c2, 64);
                bool fargate = floe_gen_below(&rng, 2) == 0;
                e->ecs[0] = floe_gen_strf(w, "arn:aws:ecs:%s:%s:cluster/%s", reg, ac->id.p, cl);
                e->ecs[1] = floe_gen_strf(w, "%s", cl);
                if (!fargate) {
                    e->ecs[2] = floe_gen_strf(w, "arn:aws:ecs:%s:%s:container-instance/%s/%s", reg,
                                              ac->id.p, cl, ci);
                    e->ecs[3] = floe_gen_strf(w, "%s", ci);
                }
                e->ecs[4] = floe_gen_strf(w, "%s", c1);
                if (floe_gen_below(&rng, 10) < 4) e->ecs[5] = floe_gen_strf(w, "%s", c2);
                e->ecs[6] = floe_gen_strf(w, "%s", svc);
                e->ecs[7] = floe_gen_strf(w, "arn:aws:ecs:%s:%s:task-definition/%s:%u", reg,
                                          ac->id.p, svc, 1 + (unsigned)floe_gen_below(&rng, 60));
                e->ecs[8] =
                    floe_gen_strf(w, "arn:aws:ecs:%s:%s:task/%s/%s", reg, ac->id.p, cl, task);
                e->ecs[9] = floe_gen_strf(w, "%s", task);
            }
        }
        /* Zipf-like activity: a random rank order inside the VPC, weight (rank+1)^-0.8. */
        uint32_t *perm = malloc(n * sizeof *perm);
        if (!perm) FAIL("out of memory");
        for (uint32_t i = 0; i < n; i++)
            perm[i] = i;
        for (uint32_t i = n - 1; i > 0; i--) {
            uint32_t j = (uint32_t)floe_gen_below(&rng, i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (uint32_t i = 0; i < n; i++) {
            floe_gen_eni *e = &w->enis[v->eni_first + perm[i]];
            static const double mult[FLOE_GEN_ROLE_COUNT] = {0, 0, 0, 0.2, 3, 1, 1.5, 0};
            e->weight = mult[e->role] / pow(i + 1.0, 0.8);
        }
        free(perm);
    }

    /* Client-side classes. */
    for (uint32_t a = 0; a < A; a++) {
        floe_gen_vpc *v = &w->vpcs[a];
        u32vec apps = {0}, dbs = {0}, wins = {0}, ssh_targets = {0}, shared = {0};
        tmp.n = 0; /* reused scratch: it still holds the previous VPC's last peer list */
        for (uint32_t i = 0; i < v->neni; i++) {
            floe_gen_eni *e = &w->enis[v->eni_first + i];
            int rc = 0;
            if (e->role == FLOE_GEN_ROLE_APP) rc |= vec_push(&apps, e->idx);
            if (e->role == FLOE_GEN_ROLE_DB) rc |= vec_push(&dbs, e->idx);
            if (e->role == FLOE_GEN_ROLE_WIN) rc |= vec_push(&wins, e->idx);
            if (!e->requester_managed &&
                (e->role == FLOE_GEN_ROLE_APP || e->role == FLOE_GEN_ROLE_WORKER ||
                 e->role == FLOE_GEN_ROLE_DB))
                rc |= vec_push(&ssh_targets, e->idx);
            if (e->uses_api && !e->is_public) rc |= vec_push(&tmp, e->idx);
            if (rc) FAIL("out of memory");
        }
        v->api_users = (uint32_t *)arena_copy(w, &tmp);
        v->napi_users = tmp.n;
        tmp.n = 0;
        for (uint32_t i = 0; i < w->vpcs[0].neni && a != 0; i++) {
            floe_gen_eni *e = &w->enis[w->vpcs[0].eni_first + i];
            if (e->shared_api && vec_push(&shared, e->idx)) FAIL("out of memory");
        }
        for (uint32_t i = 0; i < v->neni; i++) {
            floe_gen_eni *e = &w->enis[v->eni_first + i];
            double wt = e->weight;
            int rc = 0;
            switch (e->role) {
            case FLOE_GEN_ROLE_FRONT:
                rc |= add_cls(w, e, FLOE_GEN_K_WEB_IN, NULL, 1.0 * wt);
                tmp.n = 0;
                rc |= pick_distinct(&rng, &apps, 12, &tmp);
                rc |= add_cls(w, e, FLOE_GEN_K_APP_OUT, &tmp, 0.5 * wt);
                break;
            case FLOE_GEN_ROLE_APP:
            case FLOE_GEN_ROLE_WORKER: {
                bool app = e->role == FLOE_GEN_ROLE_APP;
                tmp.n = 0;
                rc |= pick_distinct(&rng, &dbs, 1 + (uint32_t)floe_gen_below(&rng, app ? 3 : 2),
                                    &tmp);
                rc |= add_cls(w, e, FLOE_GEN_K_DB_OUT, &tmp, (app ? 0.8 : 0.4) * wt);
                rc |= add_cls(w, e, FLOE_GEN_K_PING_OUT, &tmp, (app ? 0.03 : 0.02) * wt);
                rc |= add_cls(w, e, FLOE_GEN_K_API_OUT, NULL, (app ? 0.5 : 1.0) * wt);
                tmp.n = 0;
                rc |= vec_push(&tmp, v->vpce);
                rc |= add_cls(w, e, FLOE_GEN_K_VPCE_OUT, &tmp, (app ? 0.15 : 0.2) * wt);
                if (app && shared.n && !e->shared_api) {
                    tmp.n = 0;
                    rc |= pick_distinct(&rng, &shared, 1 + (uint32_t)floe_gen_below(&rng, 2), &tmp);
                    rc |= add_cls(w, e, FLOE_GEN_K_XVPC_OUT, &tmp, 0.1 * wt);
                }
                rc |= add_cls(w, e, FLOE_GEN_K_NTP_OUT, NULL, app ? 0.2 : 0.3);
                if (!app) {
                    rc |= add_cls(w, e, FLOE_GEN_K_DNS_OUT, NULL, 0.5);
                    rc |= add_cls(w, e, FLOE_GEN_K_GIT_OUT, NULL, 0.3);
                }
                break;
            }
            case FLOE_GEN_ROLE_WIN:
                rc |= add_cls(w, e, FLOE_GEN_K_API_OUT, NULL, 0.3 * wt);
                break;
            case FLOE_GEN_ROLE_BASTION:
                rc |= add_cls(w, e, FLOE_GEN_K_ADMIN_IN, NULL, 0.6);
                tmp.n = 0;
                rc |= pick_distinct(&rng, &ssh_targets, 12, &tmp);
                rc |= add_cls(w, e, FLOE_GEN_K_SSH_OUT, &tmp, 0.5);
                rc |= add_cls(w, e, FLOE_GEN_K_RDP_OUT, &wins, 0.3);
                rc |= add_cls(w, e, FLOE_GEN_K_WINRM_OUT, &wins, 0.3);
                rc |= add_cls(w, e, FLOE_GEN_K_VPN, NULL, 0.5);
                break;
            default:
                break;
            }
            if (rc) FAIL("out of memory");
        }
        free(apps.v);
        free(dbs.v);
        free(wins.v);
        free(ssh_targets.v);
        free(shared.v);
    }

    /* Normalise data rates so the mean ENI makes 500 client connections per 10 min at density
     * 1 (about 1000 records with the server sides and replies). */
    double sum = 0;
    for (uint32_t i = 0; i < w->nenis; i++)
        for (uint32_t c = 0; c < w->enis[i].ncls; c++)
            if (!w->enis[i].cls[c].control) sum += w->enis[i].cls[c].rate;
    double norm = sum > 0 ? 500.0 * w->nenis / sum : 1;
    for (uint32_t i = 0; i < w->nenis; i++)
        for (uint32_t c = 0; c < w->enis[i].ncls; c++)
            if (!w->enis[i].cls[c].control) w->enis[i].cls[c].rate *= norm;

    /* Server sides: each client's rate (or probability) spread over its peers. */
    for (uint32_t i = 0; i < w->nenis; i++) {
        floe_gen_eni *e = &w->enis[i];
        for (uint32_t c = 0; c < e->ncls; c++) {
            int in = in_kind_of(e->cls[c].kind);
            if (in < 0) continue;
            for (uint32_t p = 0; p < e->cls[c].npeers; p++) {
                size_t slot = (size_t)e->cls[c].peers[p] * FLOE_GEN_K_COUNT + (size_t)in;
                if (vec_push(&in_lists[slot], i)) FAIL("out of memory");
                in_rates[slot] += e->cls[c].rate / e->cls[c].npeers;
            }
        }
    }
    for (uint32_t i = 0; i < w->nenis; i++) {
        floe_gen_eni *e = &w->enis[i];
        for (int k = 0; k < FLOE_GEN_K_COUNT; k++) {
            u32vec *l = &in_lists[(size_t)i * FLOE_GEN_K_COUNT + (size_t)k];
            if (l->n &&
                add_cls(w, e, (uint8_t)k, l, in_rates[(size_t)i * FLOE_GEN_K_COUNT + (size_t)k]))
                FAIL("out of memory");
        }
    }
    /* NAT: forwards 40% of what the private API callers send. */
    for (uint32_t a = 0; a < A; a++) {
        floe_gen_vpc *v = &w->vpcs[a];
        double r = 0;
        for (uint32_t u = 0; u < v->napi_users; u++) {
            floe_gen_eni *e = &w->enis[v->api_users[u]];
            for (uint32_t c = 0; c < e->ncls; c++)
                if (e->cls[c].kind == FLOE_GEN_K_API_OUT) r += e->cls[c].rate;
        }
        if (v->napi_users && add_cls(w, &w->enis[v->nat], FLOE_GEN_K_NAT_FWD, NULL, 0.4 * r))
            FAIL("out of memory");
    }
    /* Internet scanner noise on public ENIs, sized so REJECTs are about 7% of records. */
    double recs = 0;
    uint32_t npublic = 0;
    for (uint32_t i = 0; i < w->nenis; i++) {
        floe_gen_eni *e = &w->enis[i];
        npublic += e->is_public;
        for (uint32_t c = 0; c < e->ncls; c++)
            if (!e->cls[c].control) recs += e->cls[c].rate * recs_per_conn(e->cls[c].kind);
    }
    double scan_each = npublic ? recs * 0.075 / 0.925 / npublic : 0;
    for (uint32_t i = 0; i < w->nenis; i++)
        if (w->enis[i].is_public && add_cls(w, &w->enis[i], FLOE_GEN_K_SCAN_IN, NULL, scan_each))
            FAIL("out of memory");

    if (w->oom) FAIL("out of memory");
    built = w;
    w = NULL;

fail: /* and success: the scratch lists go either way; the world only on failure */
    if (in_lists)
        for (size_t i = 0; i < (size_t)o->enis * FLOE_GEN_K_COUNT; i++)
            free(in_lists[i].v);
    free(in_lists);
    free(in_rates);
    free(per_acct);
    free(tmp.v);
    floe_gen_world_free(w);
    return built;
}
