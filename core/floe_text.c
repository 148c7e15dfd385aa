#include "floe_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t floe_utf8_sequence_len(const unsigned char *p, size_t n) {
    unsigned char lead = p[0];
    size_t len = lead < 0x80           ? 1
                 : (lead >> 5) == 0x6  ? 2
                 : (lead >> 4) == 0xe  ? 3
                 : (lead >> 3) == 0x1e ? 4
                                       : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (len == 2 && lead < 0xc2) return 0;                  /* overlong */
    if (len == 3 && lead == 0xe0 && p[1] < 0xa0) return 0;  /* overlong */
    if (len == 3 && lead == 0xed && p[1] >= 0xa0) return 0; /* surrogate */
    if (len == 4 &&
        (lead > 0xf4 || (lead == 0xf0 && p[1] < 0x90) || (lead == 0xf4 && p[1] >= 0x90)))
        return 0; /* overlong, > U+10FFFF */
    return len;
}

size_t floe_utf8_clean(const char *s, size_t n, const char *replacement, size_t rlen, char *out) {
    const unsigned char *in = (const unsigned char *)s;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t len = floe_utf8_sequence_len(in + i, n - i);
        if (len == 0) {
            memcpy(out + k, replacement, rlen);
            k += rlen;
            i++;
        } else {
            memcpy(out + k, s + i, len);
            k += len;
            i += len;
        }
    }
    return k;
}

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool floe_text_next_line(const char *text, size_t len, size_t *pos, const char **line,
                         size_t *line_len) {
    if (*pos >= len) return false;
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl != NULL);
    /* Lines are short (an address, a setting): a plain loop beats a second memchr call. */
    for (size_t i = 0; i < n; i++)
        if (start[i] == '#') {
            n = i;
            break;
        }
    size_t b = 0;
    while (b < n && is_blank(start[b]))
        b++;
    while (n > b && is_blank(start[n - 1]))
        n--;
    *line = start + b;
    *line_len = n - b;
    return true;
}

floe_status floe_text_each_line(const char *text, size_t len,
                                floe_status (*fn)(void *ctx, const char *line, size_t line_len),
                                void *ctx, uint64_t *bad_line) {
    uint64_t line_no = 0;
    size_t pos = 0, n;
    const char *line;
    while (floe_text_next_line(text, len, &pos, &line, &n)) {
        line_no++;
        if (n == 0) continue;
        floe_status st = fn(ctx, line, n);
        if (st != FLOE_OK) {
            if (bad_line) *bad_line = line_no;
            return st;
        }
    }
    return FLOE_OK;
}

bool floe_text_parse_size(const char *text, double unit, double *bytes) {
    char *end;
    errno = 0;
    const double n = strtod(text, &end);
    if (errno != 0 || end == text || !(n > 0)) return false;
    static const char units[] = "kmgt";
    double scale = 1;
    const char *u = *end ? strchr(units, *end | 0x20) : NULL;
    if (u) {
        for (const char *k = units; k <= u; k++)
            scale *= unit;
        end++;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end != 0) return false;
    *bytes = n * scale;
    return true;
}
