#include "floe_table_out.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "floe_addr.h"
#include "floe_digits.h"
#include "floe_ordered.h"
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

/* Rows are cut into chunks of CHUNK_ROWS, formatted on `threads` threads and written to the
 * file in order by the calling thread (floe_ordered.h), so the bytes are exactly those one
 * thread would write. A formatted chunk is a buffer from a small pool, and goes back to it
 * once written: memory stays at the few chunks floe_ordered lets exist at once, and their
 * pages are faulted in once, not once a chunk. */
#define CHUNK_ROWS 16384
#define POOL_MAX   64

typedef struct parallel {
    const layout *l;
    const floe_agg_group *groups;
    size_t n;
    bool unix_time;
    FILE *out;
    pthread_mutex_t lock; /* guards the pool */
    outbuf *pool[POOL_MAX];
    unsigned npool;
} parallel;

static outbuf *take_buffer(parallel *p) {
    pthread_mutex_lock(&p->lock);
    outbuf *b = p->npool > 0 ? p->pool[--p->npool] : NULL;
    pthread_mutex_unlock(&p->lock);
    if (b != NULL) return b;
    b = calloc(1, sizeof(*b));
    if (b == NULL) return NULL;
    b->cap = FLUSH_AT + 64 * 1024;
    if ((b->data = malloc(b->cap)) == NULL) {
        free(b);
        return NULL;
    }
    return b;
}

static void free_buffer(outbuf *b) {
    free(b->data);
    free(b);
}

static void give_buffer(parallel *p, outbuf *b) {
    pthread_mutex_lock(&p->lock);
    bool kept = p->npool < POOL_MAX;
    if (kept) p->pool[p->npool++] = b;
    pthread_mutex_unlock(&p->lock);
    if (!kept) free_buffer(b);
}

static floe_status format_chunk(void *ctx, unsigned thread, size_t chunk, void **result) {
    (void)thread;
    parallel *p = ctx;
    outbuf *b = take_buffer(p);
    if (b == NULL) return FLOE_ERR_NOMEM;
    b->fp = NULL; /* collect the chunk: the buffer grows instead of flushing */
    b->unix_time = p->unix_time;
    b->len = 0;
    b->minute = INT64_MIN;
    size_t end = (chunk + 1) * CHUNK_ROWS < p->n ? (chunk + 1) * CHUNK_ROWS : p->n;
    for (size_t i = chunk * CHUNK_ROWS; i < end; i++) {
        if (!write_row(b, p->l, &p->groups[i])) {
            give_buffer(p, b);
            return FLOE_ERR_NOMEM;
        }
    }
    *result = b;
    return FLOE_OK;
}

static floe_status write_chunk(void *ctx, size_t chunk, void *result) {
    (void)chunk;
    parallel *p = ctx;
    outbuf *b = result;
    bool ok = fwrite(b->data, 1, b->len, p->out) == b->len;
    give_buffer(p, b);
    return ok ? FLOE_OK : FLOE_ERR_IO;
}

static void discard_chunk(void *ctx, void *result) {
    give_buffer(ctx, result);
}

static floe_status write_parallel(FILE *out, const layout *l, const floe_agg_group *groups,
                                  size_t n, unsigned threads, bool unix_time) {
    parallel p = {.l = l, .groups = groups, .n = n, .unix_time = unix_time, .out = out};
    pthread_mutex_init(&p.lock, NULL);
    floe_ordered_jobs jobs = {.items = (n + CHUNK_ROWS - 1) / CHUNK_ROWS,
                              .threads = threads,
                              .produce = format_chunk,
                              .consume = write_chunk,
                              .discard = discard_chunk,
                              .ctx = &p,
                              .thread_name = "floe-format"};
    floe_status status = floe_ordered_run(&jobs);
    for (unsigned i = 0; i < p.npool; i++)
        free_buffer(p.pool[i]);
    pthread_mutex_destroy(&p.lock);
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
