/* floe_addr.h: IPv4 and IPv6 addresses in one 16-byte form.
 *
 * IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so one comparison, hash and CIDR mask serve
 * both families and an IPv4 address can never collide with an IPv6 one. */
#ifndef FLOE_ADDR_H
#define FLOE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct floe_addr {
    uint8_t bytes[16]; /* network byte order */
} floe_addr;

/* Longest text floe_addr_format writes, with its NUL ("ffff:...:255.255.255.255"). */
#define FLOE_ADDR_STRLEN 46

/* Parses dotted IPv4 ("10.0.0.1") or IPv6 ("2001:db8::1", "::ffff:10.0.0.1") of exactly
 * text_len bytes (no NUL needed, never reads past text_len). Returns false on anything else:
 * no zone ids, no brackets, no prefixes. */
bool floe_addr_parse(const char *text, size_t text_len, floe_addr *out);

static inline bool floe_addr_is_v4(const floe_addr *addr) {
    /* A fixed-size memcmp: compilers make it two word compares, not a byte loop. */
    static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(addr->bytes, mapped_prefix, 12) == 0;
}

static inline __attribute__((always_inline)) void floe_addr_from_v4(uint32_t host_order,
                                                                    floe_addr *out) {
    /* Two 8-byte stores: zeros, then ff ff and the address in network order. */
    uint8_t tail[8] = {0,
                       0,
                       0xff,
                       0xff,
                       (uint8_t)(host_order >> 24),
                       (uint8_t)(host_order >> 16),
                       (uint8_t)(host_order >> 8),
                       (uint8_t)host_order};
    memset(out->bytes, 0, 8);
    memcpy(out->bytes + 8, tail, 8);
}

/* Orders addresses as memcmp orders their bytes: by value, IPv4 (mapped) before other IPv6. */
static inline int floe_addr_cmp(const floe_addr *a, const floe_addr *b) {
    return memcmp(a->bytes, b->bytes, sizeof a->bytes);
}

/* The IPv4 address of a mapped form (floe_addr_is_v4), host order: floe_addr_from_v4's inverse. */
static inline uint32_t floe_addr_to_v4(const floe_addr *addr) {
    return (uint32_t)addr->bytes[12] << 24 | (uint32_t)addr->bytes[13] << 16 |
           (uint32_t)addr->bytes[14] << 8 | addr->bytes[15];
}

/* Parses only dotted IPv4, the common case; inline because the parser calls it for every
 * address of every record. */
static inline __attribute__((always_inline)) bool
floe_addr_parse_v4(const char *text, size_t text_len, floe_addr *out) {
    uint32_t value = 0;
    int octets = 0;
    size_t i = 0;
    while (octets < 4) {
        size_t digits_start = i;
        uint32_t octet = 0;
        while (i < text_len && i - digits_start < 4 && (unsigned)(text[i] - '0') <= 9)
            octet = octet * 10 + (uint32_t)(text[i++] - '0');
        size_t digits = i - digits_start;
        if (digits == 0 || digits > 3 || octet > 255) return false;
        value = value << 8 | octet;
        octets++;
        if (octets < 4) {
            if (i >= text_len || text[i] != '.') return false;
            i++;
        }
    }
    if (i != text_len) return false;
    floe_addr_from_v4(value, out);
    return true;
}

#if defined(__x86_64__)
#include <emmintrin.h>

/* An octet of 1..3 digits at p, by table rather than by branching on its length (which varies
 * from address to address and would mispredict). p[0..2] must be readable. */
static inline __attribute__((always_inline)) uint32_t floe_addr_octet_(const char *p,
                                                                       unsigned len) {
    static const uint8_t weights[4][3] = {{0, 0, 0}, {1, 0, 0}, {10, 1, 0}, {100, 10, 1}};
    const uint8_t *w = weights[len & 3];
    return (uint32_t)(uint8_t)(p[0] - '0') * w[0] + (uint32_t)(uint8_t)(p[1] - '0') * w[1] +
           (uint32_t)(uint8_t)(p[2] - '0') * w[2];
}
#endif

#if defined(__x86_64__)
/* The shape check both 16-byte parsers share. v holds the 16 bytes at text; the address is the
 * first text_len (7..15) of them. True when they are digits and exactly three dots with 1..3
 * digits between, and then dot[] holds the dots' positions. */
static inline __attribute__((always_inline)) bool floe_addr_v4_shape_(__m128i v, size_t text_len,
                                                                      unsigned dot[3]) {
    uint32_t in_text = (1u << text_len) - 1;
    uint32_t dots = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & in_text;
    __m128i at_least_0 = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8('0')), v);
    __m128i at_most_9 = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8('9')), v);
    uint32_t digits = (uint32_t)_mm_movemask_epi8(_mm_and_si128(at_least_0, at_most_9)) & in_text;
    /* Exactly three dots: clearing the lowest bit three times leaves nothing, twice does not. */
    uint32_t after_one = dots & (dots - 1), after_two = after_one & (after_one - 1);
    if ((digits | dots) != in_text || after_two == 0 || (after_two & (after_two - 1)) != 0)
        return false;
    dot[0] = (unsigned)__builtin_ctz(dots);
    dot[1] = (unsigned)__builtin_ctz(after_one);
    dot[2] = (unsigned)__builtin_ctz(after_two);
    /* Each octet 1..3 digits (unsigned wrap turns a length of 0 into a huge number). */
    return dot[0] - 1 <= 2 && dot[1] - dot[0] - 2 <= 2 && dot[2] - dot[1] - 2 <= 2 &&
           (unsigned)text_len - dot[2] - 2 <= 2;
}
#endif

/* The same result as floe_addr_parse_v4, for a caller that can let it read 16 bytes from text
 * (readable_len >= 16). It finds the dots and checks the digits of all 16 bytes at once with
 * SSE2, so octets of varying length cost no mispredicted branches. Falls back to the byte loop
 * where it cannot read that far, and on other machines. */
static inline __attribute__((always_inline)) bool
floe_addr_parse_v4_wide(const char *text, size_t text_len, size_t readable_len, floe_addr *out) {
#if defined(__x86_64__)
    if (readable_len < 16 || text_len < 7 || text_len > 15)
        return floe_addr_parse_v4(text, text_len, out);
    unsigned dot[3];
    if (!floe_addr_v4_shape_(_mm_loadu_si128((const __m128i *)(const void *)text), text_len, dot))
        return false;
    uint32_t o0 = floe_addr_octet_(text, dot[0]);
    uint32_t o1 = floe_addr_octet_(text + dot[0] + 1, dot[1] - dot[0] - 1);
    uint32_t o2 = floe_addr_octet_(text + dot[1] + 1, dot[2] - dot[1] - 1);
    uint32_t o3 = floe_addr_octet_(text + dot[2] + 1, (unsigned)text_len - dot[2] - 1);
    if ((o0 | o1 | o2 | o3) > 255) return false;
    floe_addr_from_v4(o0 << 24 | o1 << 16 | o2 << 8 | o3, out);
    return true;
#else
    (void)readable_len;
    return floe_addr_parse_v4(text, text_len, out);
#endif
}

#if defined(__x86_64__)
#include <immintrin.h>

/* floe_addr_parse_v4_wide for AVX2 machines: built for AVX2 so that the parser's AVX2 loop
 * calls it without leaving VEX code (it needs only SSSE3). After the same shape check, the four
 * octets are converted together: a shuffle lines each octet's digits up right-aligned in its own
 * 4-byte lane, one multiply-add weighs them 100/10/1 and a second sums each lane. */
__attribute__((target("avx2"))) static inline bool
floe_addr_parse_v4_avx2(const char *text, size_t text_len, size_t readable_len, floe_addr *out) {
    if (readable_len < 16 || text_len < 7 || text_len > 15)
        return floe_addr_parse_v4(text, text_len, out);
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)text);
    unsigned dot[3];
    if (!floe_addr_v4_shape_(v, text_len, dot)) return false;
    /* Lane k, bytes 1..3: the indexes of octet k's last three characters (hundreds, tens,
     * ones); an index before the octet's start (a shorter octet) becomes 0x80, which the
     * shuffle turns into 0. Byte 0 always lies before the start (octets have <= 3 digits). */
    int end0 = (int)dot[0], end1 = (int)dot[1], end2 = (int)dot[2], end3 = (int)text_len;
    __m128i ends =
        _mm_setr_epi32(end0 * 0x01010101, end1 * 0x01010101, end2 * 0x01010101, end3 * 0x01010101);
    __m128i starts = _mm_setr_epi32(0, (end0 + 1) * 0x01010101, (end1 + 1) * 0x01010101,
                                    (end2 + 1) * 0x01010101);
    __m128i index = _mm_sub_epi8(ends, _mm_set1_epi32(0x01020304));
    __m128i inside = _mm_cmpgt_epi8(index, _mm_sub_epi8(starts, _mm_set1_epi8(1)));
    __m128i shuffle = _mm_or_si128(_mm_and_si128(inside, index),
                                   _mm_andnot_si128(inside, _mm_set1_epi8((char)0x80)));
    __m128i lined_up = _mm_shuffle_epi8(_mm_sub_epi8(v, _mm_set1_epi8('0')), shuffle);
    __m128i pairs = _mm_maddubs_epi16(lined_up, _mm_set1_epi32(0x010A6400)); /* 0,100 | 10,1 */
    __m128i octets = _mm_madd_epi16(pairs, _mm_set1_epi16(1));
    if (_mm_movemask_epi8(_mm_cmpgt_epi32(octets, _mm_set1_epi32(255))) != 0) return false;
    __m128i packed = _mm_shuffle_epi8(
        octets, _mm_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
    uint32_t network_order = (uint32_t)_mm_cvtsi128_si32(packed);
    static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(out->bytes, mapped_prefix, 12);
    memcpy(out->bytes + 12, &network_order, 4);
    return true;
}
#endif

/* Writes the canonical text (dotted IPv4 for mapped addresses, RFC 5952 IPv6 otherwise) and a
 * NUL into out, which must hold FLOE_ADDR_STRLEN bytes. Returns the text length. */
size_t floe_addr_format(const floe_addr *addr, char *out);

#endif
