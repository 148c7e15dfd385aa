#include "floe_table_out.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "floe_addr.h"

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
    /* The last day formatted, "YYYY-MM-DD": rows of one window share it. */
    int64_t day;
    char date[10];
} outbuf;

static void flush(outbuf *o) {
    if (o->len > 0 && !o->failed && fwrite(o->data, 1, o->len, o->fp) != o->len) o->failed = true;
    o->len = 0;
}

/* Makes room for n more bytes (flushing, or growing for a huge row). */
static bool ensure(outbuf *o, size_t n) {
    if (o->len + n <= o->cap) return true;
    flush(o);
    if (n <= o->cap) return true;
    char *grown = realloc(o->data, n);
    if (grown == NULL) return false;
    o->data = grown;
    o->cap = n;
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

static char *w_u64(char *p, uint64_t v) {
    char tmp[20];
    char *t = tmp + sizeof(tmp);
    do {
        *--t = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return w_bytes(p, t, (size_t)(tmp + sizeof(tmp) - t));
}

static char *w_i64(char *p, int64_t v) {
    if (v < 0) *p++ = '-';
    return w_u64(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

static void put_digits(char *p, unsigned v, int width) {
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
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
    put_digits(out, (unsigned)year, 4);
    put_digits(out + 5, month, 2);
    put_digits(out + 8, day, 2);
    return true;
}

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (or plain seconds when asked, or outside ISO-8601's
 * four-digit years). quote: wrap an ISO time in double quotes (JSON). */
static char *w_time(outbuf *o, char *p, int64_t t, bool quote) {
    if (o->unix_time) return w_i64(p, t);
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    if (days != o->day) {
        if (!civil_date(days, o->date)) return w_i64(p, t);
        o->day = days;
    }
    if (quote) *p++ = '"';
    p = w_bytes(p, o->date, 10);
    char clock[10] = "T00:00:00Z";
    put_digits(clock + 1, (unsigned)(secs / 3600), 2);
    put_digits(clock + 4, (unsigned)(secs / 60 % 60), 2);
    put_digits(clock + 7, (unsigned)(secs % 60), 2);
    p = w_bytes(p, clock, 10);
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

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
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
            size_t len = utf8_len(s + i, n - i);
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

#define NMEASURES 7
static const char *const measure_names[NMEASURES] = {
    "flows", "packets", "bytes", "accepted", "rejected", "first_seen", "last_seen"};

/* Everything about the columns that does not change from row to row. */
typedef struct layout {
    const floe_agg *agg;
    const floe_key_spec *spec;
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
    if (!json) return;
    char name[64];
    for (unsigned p = 0; p < l->spec->nparts; p++) {
        floe_table_column_name(l->spec->parts[p].field, name);
        snprintf(l->part_key[p], sizeof(l->part_key[p]), "\"%s\":", name);
    }
    for (unsigned m = 0; m < NMEASURES; m++)
        snprintf(l->measure_key[m], sizeof(l->measure_key[m]), "\"%s\":", measure_names[m]);
    for (unsigned d = 0; d < l->spec->ndistinct; d++) {
        floe_table_column_name(l->spec->distinct[d], name);
        snprintf(l->distinct_key[d], sizeof(l->distinct_key[d]), "\"distinct_%s\":", name);
    }
}

/* A key part's value (no comma). */
static char *w_part(const layout *l, unsigned part, const floe_key_value *value, char *p) {
    const floe_key_part *spec = &l->spec->parts[part];
    if (value->null) return l->json ? w_bytes(p, "null", 4) : p;
    switch (floe_field_type(spec->field)) {
    case FLOE_T_U8:
        return w_u64(p, value->v.u8);
    case FLOE_T_ENUM: {
        const char *word = floe_enum_word(spec->field, value->v.u8);
        if (l->json) *p++ = '"';
        p = w_str(p, word != NULL ? word : "?");
        if (l->json) *p++ = '"';
        return p;
    }
    case FLOE_T_U16:
        return w_u64(p, value->v.u16);
    case FLOE_T_U64:
        return w_u64(p, value->v.u64);
    case FLOE_T_TIME:
        return w_i64(p, value->v.time); /* a key part keeps the field's own form: seconds */
    case FLOE_T_ADDR: {
        if (l->json) *p++ = '"';
        p += floe_addr_format(&value->v.addr, p);
        bool v4 = floe_addr_is_v4(&value->v.addr);
        unsigned prefix = v4 ? spec->v4_prefix : spec->v6_prefix;
        if (prefix < (v4 ? 32u : 128u)) {
            *p++ = '/';
            p = w_u64(p, prefix);
        }
        if (l->json) *p++ = '"';
        return p;
    }
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
        p = w_str(p, measure_names[m]);
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
    for (unsigned i = 0; i < spec->nparts; i++)
        if (!values[i].null && floe_field_type(spec->parts[i].field) == FLOE_T_STR)
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
        p = w_u64(p, counts[i]);
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
        p = w_u64(p, floe_distinct_estimate(&g->distinct[d]));
    }
    if (json) *p++ = '}';
    *p++ = '\n';
    o->len = (size_t)(p - o->data);
    if (o->len >= FLUSH_AT) flush(o);
    return true;
}

floe_status floe_table_write(FILE *out, const floe_table_options *options, const floe_agg *agg,
                             const floe_agg_group *groups, size_t n) {
    outbuf o = {.fp = out, .unix_time = options->unix_time, .day = INT64_MIN};
    o.cap = FLUSH_AT + 64 * 1024;
    o.data = malloc(o.cap);
    if (o.data == NULL) return FLOE_ERR_NOMEM;
    layout l;
    layout_init(&l, agg, options->format == FLOE_TABLE_JSONL);
    bool ok = true;
    if (!l.json) write_header(&o, l.spec);
    for (size_t i = 0; i < n && ok && !o.failed; i++)
        ok = write_row(&o, &l, &groups[i]);
    flush(&o);
    free(o.data);
    if (!ok) return FLOE_ERR_NOMEM;
    if (o.failed) {
        if (errno == 0) errno = EIO;
        return FLOE_ERR_IO;
    }
    return FLOE_OK;
}
