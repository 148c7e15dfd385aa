/* floe_gen_out.c: the file units of a tree, their paths, compression and writing.
 *
 * DESIGN. A unit is one output file: for S3 layouts, one flow log (account) and one 5-minute
 * delivery slot; for CloudWatch exports, one ENI's log stream and one hour. A unit holds every
 * window of its ENIs whose last second falls in its slots, so every (ENI, window) lands in
 * exactly one file, and a window's records depend only on (seed, ENI, window): the text is the
 * same whatever the layout, codec or thread count.
 *
 * Threads: --threads workers take unit numbers from one atomic counter. Each worker owns its
 * generation context (text buffer, peer-cap table) and its compressor; nothing is shared but
 * the read-only world, the counter, the failure flag, the first error message (under a mutex)
 * and the per-unit stats array, where worker i writes only the slots of the units it took. The
 * main thread sums the stats in unit order after joining, so the truth file does not depend on
 * scheduling. A failure sets the flag; workers stop taking units and the error is reported.
 *
 * Each file is written to ".<name>.tmp" beside its final name and renamed when complete. Text
 * is compressed in chunks of at most FLOE_GEN_CHUNK_BYTES, each a whole gzip member or zstd
 * frame, so memory stays bounded for any file size. */
#include "floe_gen_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

typedef struct unit {
    uint32_t account;
    int64_t eni; /* CloudWatch: the log stream's ENI; S3: -1 (all ENIs of the account) */
    uint32_t slot_first, slot_count;
    uint32_t part;
} unit;

typedef struct sink {
    const floe_gen_world *w;
    int fd;
    struct libdeflate_compressor *gz;
    ZSTD_CCtx *zs;
    void *cbuf;
    size_t ccap;
    uint64_t stored;
} sink;

typedef struct shared {
    const floe_gen_world *w;
    const unit *units;
    uint32_t nunits;
    floe_gen_stats *stats;
    atomic_uint next;
    atomic_int failed;
    pthread_mutex_t lock;
    char *err;
    size_t err_len;
} shared;

const char *floe_gen_tree_root(const floe_gen_opts *o) {
    return o->layout == FLOE_GEN_LAYOUT_CLOUDWATCH ? "exportedlogs" : "AWSLogs";
}

int floe_gen_mkdirs(const char *path, bool dir_itself) {
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf) return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    if (!dir_itself) {
        char *slash = strrchr(buf, '/');
        if (!slash) return 0;
        *slash = 0;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) return -errno;
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void tmp_name(const char *path, char *out, size_t n) {
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path + 1) : 0;
    snprintf(out, n, "%.*s.%s.tmp", (int)dir, path, path + dir);
}

int floe_gen_write_file(const char *path, const void *data, size_t len) {
    char tmp[PATH_MAX + 16];
    int rc = floe_gen_mkdirs(path, false);
    if (rc) return rc;
    tmp_name(path, tmp, sizeof tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    rc = write_all(fd, data, len);
    if (close(fd) && !rc) rc = -errno;
    if (!rc && rename(tmp, path)) rc = -errno;
    if (rc) unlink(tmp);
    return rc;
}

static const char *ext_of(const floe_gen_opts *o) {
    bool cw = o->layout == FLOE_GEN_LAYOUT_CLOUDWATCH;
    switch (o->codec) {
    case FLOE_GEN_CODEC_GZIP:
        return cw ? ".gz" : ".log.gz";
    case FLOE_GEN_CODEC_ZSTD:
        return cw ? ".zst" : ".log.zst";
    default:
        return cw ? "" : ".log";
    }
}

static int unit_path(const floe_gen_world *w, const unit *u, char *out, size_t n) {
    const floe_gen_opts *o = w->o;
    const floe_gen_account *ac = &w->accounts[u->account];
    int len;
    if (o->layout == FLOE_GEN_LAYOUT_CLOUDWATCH) {
        len = snprintf(out, n, "%s/exportedlogs/%s/%s-all/%06u%s", o->out_dir, ac->export_task.p,
                       w->enis[u->eni].id.p, u->part, ext_of(o));
    } else {
        /* Named for its delivery time: the end of its 5-minute slot. */
        int64_t t = w->t0 + (int64_t)(u->slot_first + 1) * FLOE_GEN_SLOT_SECONDS;
        int y, mo, d, h, mi, s;
        floe_gen_civil(t, &y, &mo, &d, &h, &mi, &s);
        const char *region = floe_gen_region_name(ac->region);
        /* AWS ends the name with 8 hex digits; these are a hash of seed, account and slot. */
        unsigned hash =
            (unsigned)(floe_gen_seed_of(o->seed, 0x68617368ULL, u->account, u->slot_first) &
                       0xffffffffu);
        char dir[PATH_MAX / 2], hour[16] = "";
        const char *org = o->org_id ? o->org_id : "", *org_sep = o->org_id ? "/" : "";
        if (o->layout == FLOE_GEN_LAYOUT_HIVE) {
            if (o->hourly) snprintf(hour, sizeof hour, "hour=%02d/", h);
            snprintf(dir, sizeof dir,
                     "AWSLogs/%s%saws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/"
                     "year=%04d/month=%02d/day=%02d/%s",
                     org, org_sep, ac->id.p, region, y, mo, d, hour);
        } else {
            if (o->hourly) snprintf(hour, sizeof hour, "%02d/", h);
            snprintf(dir, sizeof dir, "AWSLogs/%s%s%s/vpcflowlogs/%s/%04d/%02d/%02d/%s", org,
                     org_sep, ac->id.p, region, y, mo, d, hour);
        }
        len =
            snprintf(out, n, "%s/%s%s_vpcflowlogs_%s_%s_%04d%02d%02dT%02d%02dZ_%08x%s", o->out_dir,
                     dir, ac->id.p, region, ac->flow_log_id.p, y, mo, d, h, mi, hash, ext_of(o));
    }
    return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static int flush_sink(floe_gen_ctx *c) {
    sink *s = c->sink;
    const floe_gen_opts *o = s->w->o;
    if (!c->len) return 0;
    const void *out = c->buf;
    size_t n = c->len;
    if (o->codec != FLOE_GEN_CODEC_PLAIN) {
        size_t bound = o->codec == FLOE_GEN_CODEC_GZIP
                           ? libdeflate_gzip_compress_bound(s->gz, c->len)
                           : ZSTD_compressBound(c->len);
        if (bound > s->ccap) {
            void *nb = realloc(s->cbuf, bound);
            if (!nb) return -ENOMEM;
            s->cbuf = nb;
            s->ccap = bound;
        }
        if (o->codec == FLOE_GEN_CODEC_GZIP) {
            n = libdeflate_gzip_compress(s->gz, c->buf, c->len, s->cbuf, s->ccap);
            if (!n) return -EIO;
        } else {
            n = ZSTD_compressCCtx(s->zs, s->cbuf, s->ccap, c->buf, c->len, o->level);
            if (ZSTD_isError(n)) return -EIO;
        }
        out = s->cbuf;
    }
    int rc = write_all(s->fd, out, n);
    if (rc) return rc;
    s->stored += n;
    c->len = 0;
    return 0;
}

static inline int64_t div_floor(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static inline int64_t div_ceil(int64_t a, int64_t b) {
    return -div_floor(-a, b);
}

/* Every window of e whose last second falls in slot s. */
static void slot_windows(floe_gen_ctx *c, const floe_gen_eni *e, uint32_t s) {
    const floe_gen_world *w = c->w;
    const int64_t iv = w->o->interval, ph = e->phase;
    int64_t lo = div_ceil((int64_t)s * FLOE_GEN_SLOT_SECONDS - ph + 1, iv);
    int64_t hi = div_floor((int64_t)(s + 1) * FLOE_GEN_SLOT_SECONDS - ph, iv);
    if (s == w->nslots - 1) hi = div_ceil(w->t1 - w->t0 - ph, iv); /* and the clipped last */
    if (lo < 0) lo = 0;
    for (int64_t k = lo; k <= hi && !c->err; k++)
        floe_gen_eni_window(c, e, k);
}

static int run_unit(floe_gen_ctx *c, sink *s, const unit *u, floe_gen_stats *st, char *err,
                    size_t err_len) {
    const floe_gen_world *w = c->w;
    char path[PATH_MAX], tmp[PATH_MAX + 16];
    int rc = unit_path(w, u, path, sizeof path);
    if (rc) {
        snprintf(err, err_len, "output path too long under %.400s", w->o->out_dir);
        return rc;
    }
    rc = floe_gen_mkdirs(path, false);
    if (rc) {
        snprintf(err, err_len, "cannot create the directory of %.400s: %s", path, strerror(-rc));
        return rc;
    }
    tmp_name(path, tmp, sizeof tmp);
    s->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        rc = -errno;
        snprintf(err, err_len, "cannot create %.400s: %s", tmp, strerror(-rc));
        return rc;
    }
    s->stored = 0;
    memset(&c->st, 0, sizeof c->st);
    c->len = 0;
    c->err = 0;
    c->sink = s;
    c->flush = flush_sink;
    if (w->o->layout != FLOE_GEN_LAYOUT_CLOUDWATCH) {
        if (!c->buf || c->cap < w->header_len + 1) {
            /* A first emit grows the buffer; the header needs it now. */
            char *nb = realloc(c->buf, 1u << 20);
            if (!nb) {
                c->err = -ENOMEM;
            } else {
                c->buf = nb;
                c->cap = 1u << 20;
            }
        }
        if (!c->err) {
            memcpy(c->buf, w->header, w->header_len);
            c->len = w->header_len;
            c->st.headers = 1;
            c->st.text_bytes = w->header_len;
        }
    }
    for (uint32_t sl = u->slot_first; sl < u->slot_first + u->slot_count && !c->err; sl++) {
        if (u->eni >= 0) {
            slot_windows(c, &w->enis[u->eni], sl);
        } else {
            const floe_gen_vpc *v = &w->vpcs[w->accounts[u->account].vpc];
            for (uint32_t i = 0; i < v->neni && !c->err; i++)
                slot_windows(c, &w->enis[v->eni_first + i], sl);
        }
    }
    rc = c->err;
    if (!rc) rc = flush_sink(c);
    if (close(s->fd) && !rc) rc = -errno;
    if (!rc && rename(tmp, path)) rc = -errno;
    if (rc) {
        unlink(tmp);
        snprintf(err, err_len, "writing %.400s: %s", path, strerror(-rc));
        return rc;
    }
    c->st.files = 1;
    c->st.stored_bytes = s->stored;
    *st = c->st;
    return 0;
}

static void *worker(void *arg) {
    shared *sh = arg;
    const floe_gen_world *w = sh->w;
    floe_gen_ctx c;
    sink s = {0};
    char err[512] = "";
    int rc = floe_gen_ctx_init(&c, w);
    s.w = w;
    if (!rc && w->o->codec == FLOE_GEN_CODEC_GZIP &&
        !(s.gz = libdeflate_alloc_compressor(w->o->level)))
        rc = -ENOMEM;
    if (!rc && w->o->codec == FLOE_GEN_CODEC_ZSTD && !(s.zs = ZSTD_createCCtx())) rc = -ENOMEM;
    if (rc) snprintf(err, sizeof err, "out of memory");
    while (!rc && !atomic_load(&sh->failed)) {
        unsigned i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->nunits) break;
        rc = run_unit(&c, &s, &sh->units[i], &sh->stats[i], err, sizeof err);
    }
    if (rc) {
        pthread_mutex_lock(&sh->lock);
        if (!atomic_load(&sh->failed)) snprintf(sh->err, sh->err_len, "%s", err);
        atomic_store(&sh->failed, 1);
        pthread_mutex_unlock(&sh->lock);
    }
    floe_gen_ctx_free(&c);
    if (s.gz) libdeflate_free_compressor(s.gz);
    if (s.zs) ZSTD_freeCCtx(s.zs);
    free(s.cbuf);
    return NULL;
}

int floe_gen_write_tree(const floe_gen_world *w, floe_gen_result *res) {
    const floe_gen_opts *o = w->o;
    memset(res, 0, sizeof *res);
    uint32_t n = 0;
    if (o->layout == FLOE_GEN_LAYOUT_CLOUDWATCH)
        n = w->nenis * (w->nslots / 12);
    else
        n = w->naccounts * w->nslots;
    unit *units = calloc(n, sizeof *units);
    floe_gen_stats *stats = calloc(n, sizeof *stats);
    if (!units || !stats) {
        free(units);
        free(stats);
        snprintf(res->err, sizeof res->err, "out of memory");
        return -1;
    }
    uint32_t at = 0;
    for (uint32_t a = 0; a < w->naccounts; a++) {
        const floe_gen_vpc *v = &w->vpcs[w->accounts[a].vpc];
        if (o->layout == FLOE_GEN_LAYOUT_CLOUDWATCH) {
            for (uint32_t i = 0; i < v->neni; i++)
                for (uint32_t h = 0; h < w->nslots / 12; h++)
                    units[at++] = (unit){a, v->eni_first + i, h * 12, 12, h};
        } else {
            for (uint32_t s = 0; s < w->nslots; s++)
                units[at++] = (unit){a, -1, s, 1, 0};
        }
    }
    shared sh = {.w = w,
                 .units = units,
                 .nunits = n,
                 .stats = stats,
                 .err = res->err,
                 .err_len = sizeof res->err};
    atomic_init(&sh.next, 0);
    atomic_init(&sh.failed, 0);
    pthread_mutex_init(&sh.lock, NULL);
    uint32_t nt = o->threads ? o->threads : 1;
    if (nt > n) nt = n ? n : 1;
    pthread_t *th = calloc(nt, sizeof *th);
    uint32_t started = 0;
    if (th) {
        for (; started < nt; started++)
            if (pthread_create(&th[started], NULL, worker, &sh)) break;
    }
    if (!started) worker(&sh); /* no thread could start: do it here */
    for (uint32_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    pthread_mutex_destroy(&sh.lock);
    int rc = atomic_load(&sh.failed) ? -1 : 0;
    if (!rc) {
        for (uint32_t i = 0; i < n; i++)
            floe_gen_stats_add(&res->total, &stats[i]);
        res->nunits = n;
        if (res->total.plant_records != w->nplant_recs) {
            snprintf(res->err, sizeof res->err,
                     "internal error: %u plant records planned, %llu written", w->nplant_recs,
                     (unsigned long long)res->total.plant_records);
            rc = -1;
        }
    }
    free(units);
    free(stats);
    return rc;
}
