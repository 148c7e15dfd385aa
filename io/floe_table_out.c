#include "floe_table_out.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "floe_addr.h"

/* Rows are formatted into one buffer and written in large pieces: fprintf per value would
 * cost more than the aggregation for tables of millions of groups. */
#define FLUSH_AT (64 * 1024)
#define ROOM     (FLUSH_AT + 4096)

typedef struct outbuf {
    FILE *fp;
    bool unix_time;
    char *data; /* ROOM bytes; a value longer than the slack is written in pieces */
    size_t len;
    bool failed;
} outbuf;

static void flush(outbuf *o) {
    if (o->len > 0 && !o->failed && fwrite(o->data, 1, o->len, o->fp) != o->len) o->failed = true;
    o->len = 0;
}

static void put(outbuf *o, const char *s, size_t n) {
    while (n > 0) {
        if (o->len == ROOM) flush(o);
        size_t take = ROOM - o->len < n ? ROOM - o->len : n;
        memcpy(o->data + o->len, s, take);
        o->len += take;
        s += take;
        n -= take;
    }
}

static void put_str(outbuf *o, const char *s) {
    put(o, s, strlen(s));
}

static void put_char(outbuf *o, char c) {
    if (o->len == ROOM) flush(o);
    o->data[o->len++] = c;
}

static void put_u64(outbuf *o, uint64_t v) {
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    char out[20];
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    put(o, out, (size_t)n);
}

static void put_signed(outbuf *o, int64_t v) {
    if (v < 0) put_char(o, '-');
    put_u64(o, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

static void put_digits(char *p, unsigned v, int width) {
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ", by the days-to-civil-date arithmetic of the
 * proleptic Gregorian calendar (gmtime_r is slower and depends on the C library's range). */
static void put_time(outbuf *o, int64_t t) {
    if (o->unix_time) {
        put_signed(o, t);
        return;
    }
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999) {
        /* Outside ISO-8601's four-digit years: plain seconds rather than a wrong date. */
        put_signed(o, t);
        return;
    }
    char text[20] = "0000-00-00T00:00:00Z";
    put_digits(text, (unsigned)year, 4);
    put_digits(text + 5, month, 2);
    put_digits(text + 8, day, 2);
    put_digits(text + 11, (unsigned)(secs / 3600), 2);
    put_digits(text + 14, (unsigned)(secs / 60 % 60), 2);
    put_digits(text + 17, (unsigned)(secs % 60), 2);
    put(o, text, sizeof(text));
}

/* ---- strings -------------------------------------------------------------------------------- */

static void put_csv_text(outbuf *o, const char *s, size_t n) {
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        put(o, s, n);
        return;
    }
    put_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') put_char(o, '"');
        put_char(o, s[i]);
    }
    put_char(o, '"');
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

/* A JSON string; bytes that are not UTF-8 become U+FFFD so the line stays valid JSON. */
static void put_json_text(outbuf *o, const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    put_char(o, '"');
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') {
            put_char(o, '\\');
            put_char(o, (char)c);
            i++;
        } else if (c < 0x20) {
            char esc[7];
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(o, esc, 6);
            i++;
        } else {
            size_t len = utf8_len(s + i, n - i);
            if (len == 0) {
                put(o, "\xef\xbf\xbd", 3);
                i++;
            } else {
                put(o, text + i, len);
                i += len;
            }
        }
    }
    put_char(o, '"');
}

/* ---- columns -------------------------------------------------------------------------------- */

void floe_table_column_name(floe_field field, char *out) {
    const char *name = floe_field_name(field);
    size_t i = 0;
    for (; name[i] != 0 && i < 63; i++)
        out[i] = name[i] == '-' ? '_' : name[i];
    out[i] = 0;
}

static const char *const measure_names[] = {"flows",    "packets",    "bytes",    "accepted",
                                            "rejected", "first_seen", "last_seen"};

/* A key part's value as text (no quoting). Returns false when null. */
static bool format_part(const floe_agg *agg, const floe_agg_group *g, unsigned part,
                        const floe_key_part *spec, outbuf *o, bool json) {
    floe_field field = spec->field;
    switch (floe_field_type(field)) {
    case FLOE_T_U8: {
        uint8_t v;
        if (!floe_agg_key_value(agg, g, part, &v)) return false;
        put_u64(o, v);
        return true;
    }
    case FLOE_T_ENUM: {
        uint8_t v;
        if (!floe_agg_key_value(agg, g, part, &v)) return false;
        const char *word = floe_enum_word(field, v);
        if (json) put_char(o, '"');
        put_str(o, word != NULL ? word : "?");
        if (json) put_char(o, '"');
        return true;
    }
    case FLOE_T_U16: {
        uint16_t v;
        if (!floe_agg_key_value(agg, g, part, &v)) return false;
        put_u64(o, v);
        return true;
    }
    case FLOE_T_U64: {
        uint64_t v;
        if (!floe_agg_key_value(agg, g, part, &v)) return false;
        put_u64(o, v);
        return true;
    }
    case FLOE_T_TIME: {
        int64_t v;
        if (!floe_agg_key_value(agg, g, part, &v)) return false;
        put_u64(o, (uint64_t)v); /* the parser's times are never negative */
        return true;
    }
    case FLOE_T_ADDR: {
        floe_addr v;
        if (!floe_agg_key_value(agg, g, part, &v)) return false;
        char text[FLOE_ADDR_STRLEN + 8];
        size_t len = floe_addr_format(&v, text);
        bool v4 = floe_addr_is_v4(&v);
        unsigned prefix = v4 ? spec->v4_prefix : spec->v6_prefix;
        if (prefix < (v4 ? 32u : 128u))
            len += (size_t)snprintf(text + len, sizeof(text) - len, "/%u", prefix);
        if (json) put_char(o, '"');
        put(o, text, len);
        if (json) put_char(o, '"');
        return true;
    }
    case FLOE_T_STR: {
        floe_slice v;
        if (!floe_agg_key_value(agg, g, part, &v)) return false;
        if (json)
            put_json_text(o, v.ptr, v.len);
        else
            put_csv_text(o, v.ptr, v.len);
        return true;
    }
    }
    return false;
}

static void write_header(outbuf *o, const floe_key_spec *spec) {
    bool first = true;
    if (spec->window_seconds > 0) {
        put_str(o, "window_start");
        first = false;
    }
    char name[64];
    for (unsigned p = 0; p < spec->nparts; p++) {
        if (!first) put_char(o, ',');
        first = false;
        floe_table_column_name(spec->parts[p].field, name);
        put_str(o, name);
    }
    for (size_t m = 0; m < sizeof(measure_names) / sizeof(measure_names[0]); m++) {
        put_char(o, ',');
        put_str(o, measure_names[m]);
    }
    for (unsigned d = 0; d < spec->ndistinct; d++) {
        floe_table_column_name(spec->distinct[d], name);
        put_str(o, ",distinct_");
        put_str(o, name);
    }
    put_char(o, '\n');
}

/* Writes the measures: as ",v,v,..." (CSV) or ",\"name\":v..." (JSON). */
static void write_measures(outbuf *o, const floe_agg_measures *m, bool json) {
    const uint64_t counts[] = {m->flows, m->packets, m->bytes, m->accepted, m->rejected};
    for (size_t i = 0; i < 5; i++) {
        put_char(o, ',');
        if (json) {
            put_char(o, '"');
            put_str(o, measure_names[i]);
            put(o, "\":", 2);
        }
        put_u64(o, counts[i]);
    }
    const int64_t times[] = {m->first_seen, m->last_seen};
    const bool present[] = {m->first_seen != INT64_MAX, m->last_seen != INT64_MIN};
    for (size_t i = 0; i < 2; i++) {
        put_char(o, ',');
        if (json) {
            put_char(o, '"');
            put_str(o, measure_names[5 + i]);
            put(o, "\":", 2);
        }
        if (!present[i]) {
            if (json) put_str(o, "null");
            continue;
        }
        if (json && !o->unix_time) put_char(o, '"');
        put_time(o, times[i]);
        if (json && !o->unix_time) put_char(o, '"');
    }
}

static void write_row(outbuf *o, const floe_agg *agg, const floe_agg_group *g, bool json) {
    const floe_key_spec *spec = floe_agg_spec(agg);
    bool first = true;
    if (json) put_char(o, '{');
    if (spec->window_seconds > 0) {
        if (json) {
            put_str(o, o->unix_time ? "\"window_start\":" : "\"window_start\":\"");
            put_time(o, g->window_start);
            if (!o->unix_time) put_char(o, '"');
        } else {
            put_time(o, g->window_start);
        }
        first = false;
    }
    char name[64];
    for (unsigned p = 0; p < spec->nparts; p++) {
        if (!first) put_char(o, ',');
        first = false;
        if (json) {
            floe_table_column_name(spec->parts[p].field, name);
            put_char(o, '"');
            put_str(o, name);
            put(o, "\":", 2);
        }
        if (!format_part(agg, g, p, &spec->parts[p], o, json) && json) put_str(o, "null");
    }
    write_measures(o, &g->m, json);
    for (unsigned d = 0; d < spec->ndistinct; d++) {
        put_char(o, ',');
        if (json) {
            floe_table_column_name(spec->distinct[d], name);
            put_str(o, "\"distinct_");
            put_str(o, name);
            put(o, "\":", 2);
        }
        put_u64(o, floe_distinct_estimate(&g->distinct[d]));
    }
    if (json) put_char(o, '}');
    put_char(o, '\n');
    if (o->len >= FLUSH_AT) flush(o);
}

floe_status floe_table_write(FILE *out, const floe_table_options *options, const floe_agg *agg,
                             const floe_agg_group *groups, size_t n) {
    outbuf o = {out, options->unix_time, malloc(ROOM), 0, false};
    if (o.data == NULL) return FLOE_ERR_NOMEM;
    bool json = options->format == FLOE_TABLE_JSONL;
    if (!json) write_header(&o, floe_agg_spec(agg));
    for (size_t i = 0; i < n && !o.failed; i++)
        write_row(&o, agg, &groups[i], json);
    flush(&o);
    free(o.data);
    if (o.failed) {
        if (errno == 0) errno = EIO;
        return FLOE_ERR_IO;
    }
    return FLOE_OK;
}
