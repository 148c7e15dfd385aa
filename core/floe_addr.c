#include "floe_addr.h"
#include "floe_digits.h"

#include <string.h>

static int hex_digit(char c) {
    if ((unsigned)(c - '0') <= 9) return c - '0';
    if ((unsigned)(c - 'a') <= 5) return c - 'a' + 10;
    if ((unsigned)(c - 'A') <= 5) return c - 'A' + 10;
    return -1;
}

/* IPv6 per RFC 4291 section 2.2: up to eight 16-bit groups, one "::" standing for a run of
 * zero groups, and an optional dotted IPv4 tail in place of the last two groups. */
static bool parse_v6(const char *text, size_t text_len, floe_addr *out) {
    uint16_t groups[8];
    int ngroups = 0;
    int gap_at = -1; /* group index where "::" stands, or -1 */
    size_t i = 0;

    if (text_len < 2) return false;
    if (text[0] == ':') {
        if (text[1] != ':') return false;
        gap_at = 0;
        i = 2;
        if (i == text_len) goto done; /* "::" */
    }
    for (;;) {
        size_t group_start = i;
        uint32_t value = 0;
        int d;
        while (i < text_len && i - group_start < 5 && (d = hex_digit(text[i])) >= 0) {
            value = value << 4 | (uint32_t)d;
            i++;
        }
        size_t digits = i - group_start;
        if (i < text_len && text[i] == '.') {
            /* A dotted IPv4 tail: must be last and leave room for two groups. */
            floe_addr v4;
            if (ngroups > 6 || !floe_addr_parse_v4(text + group_start, text_len - group_start, &v4))
                return false;
            groups[ngroups++] = (uint16_t)(v4.bytes[12] << 8 | v4.bytes[13]);
            groups[ngroups++] = (uint16_t)(v4.bytes[14] << 8 | v4.bytes[15]);
            break;
        }
        if (digits == 0 || digits > 4 || ngroups == 8) return false;
        groups[ngroups++] = (uint16_t)value;
        if (i == text_len) break;
        if (text[i] != ':') return false;
        i++;
        if (i < text_len && text[i] == ':') {
            if (gap_at >= 0) return false; /* a second "::" */
            gap_at = ngroups;
            i++;
            if (i == text_len) break; /* trailing "::" */
        } else if (i == text_len) {
            return false; /* a single trailing ':' */
        }
    }
done:
    if (gap_at < 0 ? ngroups != 8 : ngroups > 7) return false;
    int zeros = 8 - ngroups;
    int out_group = 0;
    for (int g = 0; g < ngroups; g++) {
        if (g == gap_at)
            for (int z = 0; z < zeros; z++) {
                out->bytes[2 * out_group] = 0;
                out->bytes[2 * out_group + 1] = 0;
                out_group++;
            }
        out->bytes[2 * out_group] = (uint8_t)(groups[g] >> 8);
        out->bytes[2 * out_group + 1] = (uint8_t)groups[g];
        out_group++;
    }
    if (gap_at == ngroups)
        for (int z = 0; z < zeros; z++) {
            out->bytes[2 * out_group] = 0;
            out->bytes[2 * out_group + 1] = 0;
            out_group++;
        }
    return true;
}

bool floe_addr_parse(const char *text, size_t text_len, floe_addr *out) {
    if (memchr(text, ':', text_len) != NULL) return parse_v6(text, text_len, out);
    return floe_addr_parse_v4(text, text_len, out);
}

static char *format_v4_tail(char *p, const uint8_t *four) {
    for (int i = 0; i < 4; i++) {
        if (i) *p++ = '.';
        p = floe_digits_u64(p, four[i]);
    }
    return p;
}

size_t floe_addr_format(const floe_addr *addr, char *out) {
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    if (floe_addr_is_v4(addr)) {
        p = format_v4_tail(p, addr->bytes + 12);
        *p = '\0';
        return (size_t)(p - out);
    }
    uint16_t groups[8];
    for (int g = 0; g < 8; g++)
        groups[g] = (uint16_t)(addr->bytes[2 * g] << 8 | addr->bytes[2 * g + 1]);
    /* RFC 5952: compress the longest run of two or more zero groups, the first if tied. */
    int best_at = -1, best_len = 1;
    for (int g = 0; g < 8;) {
        if (groups[g] != 0) {
            g++;
            continue;
        }
        int run = g;
        while (run < 8 && groups[run] == 0)
            run++;
        if (run - g > best_len) {
            best_at = g;
            best_len = run - g;
        }
        g = run;
    }
    for (int g = 0; g < 8; g++) {
        if (g == best_at) {
            *p++ = ':';
            if (g == 0) *p++ = ':';
            g += best_len - 1;
            continue;
        }
        bool leading = true;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned nibble = groups[g] >> shift & 0xf;
            if (leading && nibble == 0 && shift > 0) continue;
            leading = false;
            *p++ = hex[nibble];
        }
        if (g < 7) *p++ = ':';
    }
    *p = '\0';
    return (size_t)(p - out);
}
