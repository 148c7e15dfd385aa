#include "floe_table_out.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "floe_addr.h"
#include "floe_digits.h"
#include "floe_table_parquet.h"
#include "floe_text.h"

/* Rows are formatted straight into one large buffer and written in big pieces. Tables run to
 * millions of rows, so the per-value cost matters as much as the aggregation's: before each
 * row the buffer is made big enough for the whole row (a bound from the values), and the
 * values are then written with no further checks. */
#define FLUSH_AT    ((size_t)1 << 20)
#define FIXED_BOUND 64 /* most bytes a number, time or address takes, with quotes and comma */

typedef struct outbuf {
    FILE *fp;
    bool unix_time;
    char *data;
    size_t len;
    size_t cap;
    bool failed;
    /* The last minute formatted, "YYYY-MM-DDTHH:MM:": a window's rows, and most first and
     * last seen times in them, share it, so a time is mostly a copy and two digits. */
    int64_t minute;
    char minute_text[17];
} outbuf;

static void flush(outbuf *o) {
    if (o->len > 0 && !o->failed && fwrite(o->data, 1, o->len, o->fp) != o->len) o->failed = true;
    o->len = 0;
}

/* Makes room for n more bytes: flushing to the file, or, for a buffer that collects a chunk
 * (no file), growing. */
static bool ensure(outbuf *o, size_t n) {
    if (o->len + n <= o->cap) return true;
    if (o->fp != NULL) flush(o);
    if (o->len + n <= o->cap) return true;
    size_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n;
    char *grown = realloc(o->data, cap);
    if (grown == NULL) return false;
    o->data = grown;
    o->cap = cap;
    return true;
}

/* The writers below append at p (room ensured) and return the new end. */

static inline char *w_bytes(char *p, const char *s, size_t n) {
    memcpy(p, s, n);
    return p + n;
}

static inline char *w_str(char *p, const char *s) {
    return w_bytes(p, s, strlen(s));
}

static char *w_i64(char *p, int64_t v) {
    if (v < 0) *p++ = '-';
    return floe_digits_u64(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

/* Days since 1970-01-01 as "YYYY-MM-DD", by the days-to-civil-date arithmetic of the proleptic
 * Gregorian calendar (gmtime_r is slower and depends on the C library's range). Returns false
 * outside years 0..9999. */
static bool civil_date(int64_t days, char out[10]) {
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999) return false;
    memcpy(out, "0000-00-00", 10);
    floe_digits_2(out, (unsigned)(year / 100));
    floe_digits_2(out + 2, (unsigned)(year % 100));
    floe_digits_2(out + 5, month);
    floe_digits_2(out + 8, day);
    return true;
}

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (or plain seconds when asked, or outside ISO-8601's
 * four-digit years). quote: wrap an ISO time in double quotes (JSON). */
static char *w_time(outbuf *o, char *p, int64_t t, bool quote) {
    if (o->unix_time) return w_i64(p, t);
    int64_t minute = t / 60, second = t % 60;
    if (second < 0) {
        second += 60;
        minute--;
    }
    if (minute != o->minute) {
        int64_t days = minute / 1440, minute_of_day = minute % 1440;
        if (minute_of_day < 0) {
            minute_of_day += 1440;
            days--;
        }
        if (!civil_date(days, o->minute_text)) return w_i64(p, t);
        memcpy(o->minute_text + 10, "T00:00:", 7);
        floe_digits_2(o->minute_text + 11, (unsigned)(minute_of_day / 60));
        floe_digits_2(o->minute_text + 14, (unsigned)(minute_of_day % 60));
        o->minute = minute;
    }
    if (quote) *p++ = '"';
    p = w_bytes(p, o->minute_text, 17);
    floe_digits_2(p, (unsigned)second);
    p[2] = 'Z';
    p += 3;
    if (quote) *p++ = '"';
    return p;
}

/* ---- strings -------------------------------------------------------------------------------- */

static char *w_csv_text(char *p, const char *s, size_t n) {
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) return w_bytes(p, s, n);
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    return p;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD so the line stays valid JSON. At most
 * 6 bytes out per byte in (a \u00XX escape), plus the quotes. */
static char *w_json_text(char *p, const char *text, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    *p++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
            i++;
        } else if (c < 0x20) {
            p = w_bytes(p, "\\u00", 4);
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
            i++;
        } else {
            size_t len = floe_utf8_sequence_len(s + i, n - i);
            if (len == 0) {
                p = w_bytes(p, "\xef\xbf\xbd", 3);
                i++;
            } else {
                p = w_bytes(p, text + i, len);
                i += len;
            }
        }
    }
    *p++ = '"';
    return p;
}

/* ---- columns -------------------------------------------------------------------------------- */

void floe_table_column_name(floe_field field, char *out) {
    const char *name = floe_field_name(field);
    size_t i = 0;
    for (; name[i] != 0 && i < 63; i++)
        out[i] = name[i] == '-' ? '_' : name[i];
    out[i] = 0;
}

#define NMEASURES FLOE_TABLE_MEASURES

const char *floe_table_measure_name(const floe_key_spec *spec, unsigned measure) {
    static const char *const plain[NMEASURES] = {"flows",    "packets",    "bytes",    "accepted",
                                                 "rejected", "first_seen", "last_seen"};
    static const char *const summed[NMEASURES] = {NULL, "sum_packets", "sum_bytes"};
    for (unsigned p = 0; summed[measure] != NULL && p < spec->nparts; p++) {
        char name[64];
        floe_table_column_name(spec->parts[p].field, name);
        if (strcmp(name, plain[measure]) == 0) return summed[measure];
    }
    return plain[measure];
}

size_t floe_table_addr_text(const floe_key_part *part, const floe_addr *addr, char *out) {
    char *p = out + floe_addr_format(addr, out);
    bool v4 = floe_addr_is_v4(addr);
    unsigned prefix = v4 ? part->v4_prefix : part->v6_prefix;
    if (prefix < (v4 ? 32u : 128u)) {
        *p++ = '/';
        p = floe_digits_u64(p, prefix);
    }
    return (size_t)(p - out);
}

/* Everything about the columns that does not change from row to row. */
typedef struct layout {
    const floe_agg *agg;
    const floe_key_spec *spec;
    floe_type part_type[FLOE_KEY_MAX_PARTS]; /* each key part's field type */
    bool has_strings;                        /* a key part is a string: rows vary in length */
    bool json;
    /* JSON member prefixes ("\"srcaddr\":"); CSV uses none. */
    char part_key[FLOE_KEY_MAX_PARTS][72];
    char measure_key[NMEASURES][24];
    char distinct_key[FLOE_DISTINCT_MAX_FIELDS][84];
} layout;

static void layout_init(layout *l, const floe_agg *agg, bool json) {
    memset(l, 0, sizeof(*l));
    l->agg = agg;
    l->spec = floe_agg_spec(agg);
    l->json = json;
    for (unsigned p = 0; p < l->spec->nparts; p++) {
        l->part_type[p] = floe_field_type(l->spec->parts[p].field);
        l->has_strings |= l->part_type[p] == FLOE_T_STR;
    }
    if (!json) return;
    char name[64];
    for (unsigned p = 0; p < l->spec->nparts; p++) {
        floe_table_column_name(l->spec->parts[p].field, name);
        snprintf(l->part_key[p], sizeof(l->part_key[p]), "\"%s\":", name);
    }
    for (unsigned m = 0; m < NMEASURES; m++)
        snprintf(l->measure_key[m], sizeof(l->measure_key[m]),
                 "\"%s\":", floe_table_measure_name(l->spec, m));
    for (unsigned d = 0; d < l->spec->ndistinct; d++) {
        floe_table_column_name(l->spec->distinct[d], name);
        snprintf(l->distinct_key[d], sizeof(l->distinct_key[d]), "\"distinct_%s\":", name);
    }
}

/* A key part's value (no comma). */
static char *w_part(const layout *l, unsigned part, const floe_key_value *value, char *p) {
    const floe_key_part *spec = &l->spec->parts[part];
    if (value->null) return l->json ? w_bytes(p, "null", 4) : p;
    switch (l->part_type[part]) {
    case FLOE_T_U8:
        return floe_digits_u64(p, value->v.u8);
    case FLOE_T_ENUM: {
        const char *word = floe_enum_word(spec->field, value->v.u8);
        if (l->json) *p++ = '"';
        p = w_str(p, word != NULL ? word : "?");
        if (l->json) *p++ = '"';
        return p;
    }
    case FLOE_T_U16:
        return floe_digits_u64(p, value->v.u16);
    case FLOE_T_U64:
        return floe_digits_u64(p, value->v.u64);
    case FLOE_T_TIME:
        return w_i64(p, value->v.time); /* a key part keeps the field's own form: seconds */
    case FLOE_T_ADDR:
        if (l->json) *p++ = '"';
        p += floe_table_addr_text(spec, &value->v.addr, p);
        if (l->json) *p++ = '"';
        return p;
    case FLOE_T_STR:
        return l->json ? w_json_text(p, value->v.str.ptr, value->v.str.len)
                       : w_csv_text(p, value->v.str.ptr, value->v.str.len);
    }
    return p;
}

static void write_header(outbuf *o, const floe_key_spec *spec) {
    if (!ensure(o, 4096 + (size_t)(spec->nparts + spec->ndistinct) * 80)) {
        o->failed = true;
        return;
    }
    char *p = o->data + o->len;
    bool first = true;
    if (spec->window_seconds > 0) {
        p = w_str(p, "window_start");
        first = false;
    }
    char name[64];
    for (unsigned i = 0; i < spec->nparts; i++) {
        if (!first) *p++ = ',';
        first = false;
        floe_table_column_name(spec->parts[i].field, name);
        p = w_str(p, name);
    }
    for (unsigned m = 0; m < NMEASURES; m++) {
        *p++ = ',';
        p = w_str(p, floe_table_measure_name(spec, m));
    }
    for (unsigned d = 0; d < spec->ndistinct; d++) {
        floe_table_column_name(spec->distinct[d], name);
        p = w_str(p, ",distinct_");
        p = w_str(p, name);
    }
    *p++ = '\n';
    o->len = (size_t)(p - o->data);
}

static bool write_row(outbuf *o, const layout *l, const floe_agg_group *g) {
    const floe_key_spec *spec = l->spec;
    floe_key_value values[FLOE_KEY_MAX_PARTS];
    floe_agg_key_decode(l->agg, g, values);
    size_t bound = (size_t)(2 + spec->nparts + NMEASURES + spec->ndistinct) * (FIXED_BOUND + 84);
    for (unsigned i = 0; l->has_strings && i < spec->nparts; i++)
        if (!values[i].null && l->part_type[i] == FLOE_T_STR)
            bound += (size_t)values[i].v.str.len * 6;
    if (!ensure(o, bound)) return false;

    char *p = o->data + o->len;
    const bool json = l->json;
    bool first = true;
    if (json) *p++ = '{';
    if (spec->window_seconds > 0) {
        if (json) p = w_str(p, "\"window_start\":");
        p = w_time(o, p, g->window_start, json);
        first = false;
    }
    for (unsigned i = 0; i < spec->nparts; i++) {
        if (!first) *p++ = ',';
        first = false;
        if (json) p = w_str(p, l->part_key[i]);
        p = w_part(l, i, &values[i], p);
    }
    const floe_agg_measures *m = g->m;
    const uint64_t counts[5] = {m->flows, m->packets, m->bytes, m->accepted, m->rejected};
    for (unsigned i = 0; i < 5; i++) {
        *p++ = ',';
        if (json) p = w_str(p, l->measure_key[i]);
        p = floe_digits_u64(p, counts[i]);
    }
    const int64_t times[2] = {m->first_seen, m->last_seen};
    const bool present[2] = {m->first_seen != INT64_MAX, m->last_seen != INT64_MIN};
    for (unsigned i = 0; i < 2; i++) {
        *p++ = ',';
        if (json) p = w_str(p, l->measure_key[5 + i]);
        if (present[i])
            p = w_time(o, p, times[i], json);
        else if (json)
            p = w_bytes(p, "null", 4);
    }
    for (unsigned d = 0; d < spec->ndistinct; d++) {
        *p++ = ',';
        if (json) p = w_str(p, l->distinct_key[d]);
        p = floe_digits_u64(p, floe_distinct_estimate(&g->distinct[d]));
    }
    if (json) *p++ = '}';
    *p++ = '\n';
    o->len = (size_t)(p - o->data);
    if (o->fp != NULL && o->len >= FLUSH_AT) flush(o);
    return true;
}

/* ---- writing on several threads ----------------------------------------------------------- */

/* Rows are cut into chunks of CHUNK_ROWS; thread t formats chunks t, t + threads, ... into a
 * ring of buffers, and the calling thread writes the chunks to the file in order. A slot is
 * reused only after its chunk was written, so memory stays at RING_PER_THREAD buffers a
 * thread, and the bytes are exactly those one thread would write. */
#define CHUNK_ROWS      16384
#define RING_PER_THREAD 2

typedef struct chunk_slot {
    outbuf buf;
    size_t chunk; /* which chunk the buffer holds or is being filled with */
    bool ready;   /* formatted, waiting to be written */
} chunk_slot;

typedef struct writer {
    const layout *l;
    const floe_agg_group *groups;
    size_t n, nchunks;
    unsigned threads;
    bool unix_time;
    chunk_slot *slots;
    size_t nslots;
    size_t written; /* chunks written to the file so far */
    bool stop;      /* an error: everyone stops */
    pthread_mutex_t lock;
    pthread_cond_t changed;
} writer;

typedef struct format_job {
    writer *w;
    unsigned index;
    pthread_t thread;
    bool started;
} format_job;

static void *format_main(void *arg) {
    format_job *job = arg;
    pthread_setname_np(pthread_self(), "floe-format");
    writer *w = job->w;
    outbuf local = {.fp = NULL, .unix_time = w->unix_time, .minute = INT64_MIN};
    for (size_t k = job->index; k < w->nchunks; k += w->threads) {
        chunk_slot *slot = &w->slots[k % w->nslots];
        /* Wait until the slot's previous chunk is written. */
        pthread_mutex_lock(&w->lock);
        while (!w->stop && w->written + w->nslots <= k)
            pthread_cond_wait(&w->changed, &w->lock);
        bool stop = w->stop;
        pthread_mutex_unlock(&w->lock);
        if (stop) break;
        /* The slot is ours until we mark it ready: format into it without the lock. */
        local.data = slot->buf.data;
        local.cap = slot->buf.cap;
        local.len = 0;
        bool ok = true;
        size_t end = (k + 1) * CHUNK_ROWS < w->n ? (k + 1) * CHUNK_ROWS : w->n;
        for (size_t i = k * CHUNK_ROWS; i < end && ok; i++)
            ok = write_row(&local, w->l, &w->groups[i]);
        pthread_mutex_lock(&w->lock);
        slot->buf.data = local.data;
        slot->buf.cap = local.cap;
        slot->buf.len = local.len;
        slot->chunk = k;
        slot->ready = ok;
        if (!ok) w->stop = true;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
        if (!ok) break;
    }
    return NULL;
}

/* Writes the chunks in order as they become ready. Returns false on a write error or when a
 * formatting thread failed. */
static bool write_chunks(writer *w, FILE *out) {
    bool ok = true;
    for (size_t k = 0; k < w->nchunks && ok; k++) {
        chunk_slot *slot = &w->slots[k % w->nslots];
        pthread_mutex_lock(&w->lock);
        while (!w->stop && !(slot->ready && slot->chunk == k))
            pthread_cond_wait(&w->changed, &w->lock);
        ok = !w->stop;
        pthread_mutex_unlock(&w->lock);
        if (!ok) break;
        if (fwrite(slot->buf.data, 1, slot->buf.len, out) != slot->buf.len) ok = false;
        pthread_mutex_lock(&w->lock);
        slot->ready = false;
        w->written = k + 1;
        if (!ok) w->stop = true;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
    }
    return ok;
}

static floe_status write_parallel(FILE *out, const layout *l, const floe_agg_group *groups,
                                  size_t n, unsigned threads, bool unix_time) {
    writer w = {.l = l, .groups = groups, .n = n, .threads = threads, .unix_time = unix_time};
    w.nchunks = (n + CHUNK_ROWS - 1) / CHUNK_ROWS;
    w.nslots = (size_t)threads * RING_PER_THREAD;
    w.slots = calloc(w.nslots, sizeof(*w.slots));
    format_job *jobs = calloc(threads, sizeof(*jobs));
    bool ok = w.slots != NULL && jobs != NULL;
    for (size_t i = 0; ok && i < w.nslots; i++) {
        w.slots[i].buf.cap = FLUSH_AT + 64 * 1024;
        w.slots[i].buf.data = malloc(w.slots[i].buf.cap);
        ok = w.slots[i].buf.data != NULL;
    }
    floe_status status = ok ? FLOE_OK : FLOE_ERR_NOMEM;
    if (ok) {
        pthread_mutex_init(&w.lock, NULL);
        pthread_cond_init(&w.changed, NULL);
        unsigned started = 0;
        for (unsigned t = 0; t < threads; t++) {
            jobs[t] = (format_job){&w, t, 0, false};
            jobs[t].started = pthread_create(&jobs[t].thread, NULL, format_main, &jobs[t]) == 0;
            started += jobs[t].started;
        }
        if (started < threads) {
            /* A chunk nobody formats would stall the writer: stop, and say so. */
            pthread_mutex_lock(&w.lock);
            w.stop = true;
            pthread_cond_broadcast(&w.changed);
            pthread_mutex_unlock(&w.lock);
            status = FLOE_ERR_NOMEM;
        } else if (!write_chunks(&w, out)) {
            status = ferror(out) ? FLOE_ERR_IO : FLOE_ERR_NOMEM;
        }
        for (unsigned t = 0; t < threads; t++)
            if (jobs[t].started) pthread_join(jobs[t].thread, NULL);
        pthread_cond_destroy(&w.changed);
        pthread_mutex_destroy(&w.lock);
    }
    for (size_t i = 0; w.slots != NULL && i < w.nslots; i++)
        free(w.slots[i].buf.data);
    free(w.slots);
    free(jobs);
    return status;
}

floe_status floe_table_write(FILE *out, const floe_table_options *options, const floe_agg *agg,
                             const floe_agg_group *groups, size_t n) {
    if (options->format == FLOE_TABLE_PARQUET)
        return floe_table_write_parquet(out, options, agg, groups, n);
    outbuf o = {.fp = out, .unix_time = options->unix_time, .minute = INT64_MIN};
    o.cap = FLUSH_AT + 64 * 1024;
    o.data = malloc(o.cap);
    if (o.data == NULL) return FLOE_ERR_NOMEM;
    layout l;
    layout_init(&l, agg, options->format == FLOE_TABLE_JSONL);
    bool ok = true;
    if (!l.json) write_header(&o, l.spec);
    floe_status status = FLOE_OK;
    if (options->threads > 1 && n > CHUNK_ROWS) {
        flush(&o);
        if (!o.failed)
            status = write_parallel(out, &l, groups, n, options->threads, options->unix_time);
    } else {
        for (size_t i = 0; i < n && ok && !o.failed; i++)
            ok = write_row(&o, &l, &groups[i]);
        flush(&o);
    }
    free(o.data);
    if (!ok || status == FLOE_ERR_NOMEM) return FLOE_ERR_NOMEM;
    if (o.failed || status == FLOE_ERR_IO) {
        if (errno == 0) errno = EIO;
        return FLOE_ERR_IO;
    }
    return FLOE_OK;
}
