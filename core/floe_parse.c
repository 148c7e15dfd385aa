#include "floe_parse.h"
#include "floe_scan_impl.h"

#include <string.h>

/* The per-value path must inline into the scan loop; GCC will not always do it unasked. */
#define HOT_INLINE inline __attribute__((always_inline))

/* ---- formats ------------------------------------------------------------------------------ */

void floe_format_default(floe_format *out) {
    static const char text[] = FLOE_DEFAULT_FORMAT;
    floe_status status = floe_format_parse(text, sizeof(text) - 1, out);
    assert(status == FLOE_OK);
    (void)status;
}

floe_status floe_format_parse(const char *text, size_t text_len, floe_format *out) {
    memset(out, 0, sizeof(*out));
    size_t pos = 0;
    const char *name;
    size_t name_len;
    while (floe_field_list_next(text, text_len, &pos, &name, &name_len)) {
        /* Accept AWS's own LogFormat syntax too: "${srcaddr} ${dstaddr}". */
        if (name_len > 3 && name[0] == '$' && name[1] == '{' && name[name_len - 1] == '}') {
            name += 2;
            name_len -= 3;
        }
        if (out->ncols == FLOE_MAX_COLUMNS) return FLOE_ERR_FORMAT;
        floe_field field = floe_field_lookup(name, name_len);
        if (field != FLOE_F_UNKNOWN) {
            if (out->present >> field & 1) return FLOE_ERR_FORMAT;
            out->present |= UINT64_C(1) << field;
            int version = floe_field_version(field);
            if (version > out->version) out->version = (uint8_t)version;
        }
        out->field[out->ncols++] = (uint8_t)field;
    }
    return out->ncols > 0 ? FLOE_OK : FLOE_ERR_FORMAT;
}

bool floe_format_equal(const floe_format *a, const floe_format *b) {
    return a->ncols == b->ncols && memcmp(a->field, b->field, a->ncols) == 0;
}

const char *floe_bad_reason_str(floe_bad_reason reason) {
    switch (reason) {
    case FLOE_BAD_FIELD_COUNT:
        return "wrong number of fields";
    case FLOE_BAD_NUMBER:
        return "not a number";
    case FLOE_BAD_RANGE:
        return "number out of range";
    case FLOE_BAD_ADDR:
        return "not an IP address";
    case FLOE_BAD_ENUM:
        return "unexpected value";
    case FLOE_BAD_TIMESTAMP:
        return "missing CloudWatch timestamp";
    case FLOE_BAD_HEADER:
        return "bad header line";
    case FLOE_BAD_TOO_LONG:
        return "line too long";
    case FLOE_BAD_REASON_COUNT:
        break;
    }
    return "unknown reason";
}

/* ---- values ------------------------------------------------------------------------------- */

#define VALUE_OK  (-1)
#define SINK_SKIP 255 /* column of an unknown field: counted, not stored */

/* Where one column's values go in the batch being filled. */
typedef struct column_sink {
    uint8_t type;  /* floe_type, or SINK_SKIP */
    uint8_t field; /* floe_field */
    void *values;
} column_sink;

/* Decimal digits only; up to 20 digits, overflow checked. The byte-at-a-time loop: used for
 * tokens near the end of the buffer and for the rare numbers of 17 digits and more. */
static int parse_decimal_slow(const char *s, size_t n, uint64_t *out) {
    uint64_t value = 0;
    bool overflow = n > 20;
    for (size_t i = 0; i < n; i++) {
        unsigned digit = (unsigned)(unsigned char)s[i] - '0';
        if (digit > 9) return FLOE_BAD_NUMBER;
        overflow |= __builtin_mul_overflow(value, 10, &value);
        overflow |= __builtin_add_overflow(value, digit, &value);
    }
    if (overflow) return FLOE_BAD_RANGE;
    *out = value;
    return VALUE_OK;
}

/* n (1..8) digits at s, read as one 8-byte word (the caller guarantees 8 readable bytes).
 * Branch-free, so numbers of varying length cost no mispredicted loop exits: the digits are
 * shifted to the high bytes, the low bytes filled with '0' (leading zeros), all eight checked
 * for being digits at once, then combined in three multiply steps. */
static HOT_INLINE bool swar_digits(const char *s, size_t n, uint64_t *out) {
    uint64_t word;
    memcpy(&word, s, 8);
    unsigned pad_bits = (unsigned)(8 - n) * 8;
    word = (word << pad_bits) | (UINT64_C(0x3030303030303030) & ~(~UINT64_C(0) << pad_bits));
    uint64_t high_nibbles = word & UINT64_C(0xF0F0F0F0F0F0F0F0);
    uint64_t carried = ((word + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4;
    if ((high_nibbles | carried) != UINT64_C(0x3333333333333333)) return false;
    word -= UINT64_C(0x3030303030303030);
    word = word * 10 + (word >> 8);
    word = (((word & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x000F424000000064)) +
            (((word >> 16) & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x0000271000000001))) >>
           32;
    *out = word;
    return true;
}

#if FLOE_SCAN_X86
/* 9..16 digits at s in one go, for the AVX2 build (the instructions are SSSE3 and SSE4.1): the
 * digits are shuffled to the right end of a 16-byte register behind zeros, then three
 * multiply-add steps fold pairs, quads and octets, leaving two 8-digit halves. Reads 16 bytes
 * from s; the caller guarantees they are there. */
__attribute__((target("avx2"))) static inline bool sse_digits16(const char *s, size_t n,
                                                                uint64_t *out) {
    __m128i text = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i at_least_0 = _mm_cmpeq_epi8(_mm_max_epu8(text, _mm_set1_epi8('0')), text);
    __m128i at_most_9 = _mm_cmpeq_epi8(_mm_min_epu8(text, _mm_set1_epi8('9')), text);
    uint32_t in_token = (1u << n) - 1;
    uint32_t digits = (uint32_t)_mm_movemask_epi8(_mm_and_si128(at_least_0, at_most_9));
    if ((digits & in_token) != in_token) return false;
    /* Byte j takes digit j + n - 16; negative indexes (the leading zeros) shuffle to 0. */
    __m128i index =
        _mm_add_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                     _mm_set1_epi8((char)((int)n - 16)));
    __m128i aligned = _mm_shuffle_epi8(_mm_sub_epi8(text, _mm_set1_epi8('0')), index);
    __m128i pairs = _mm_maddubs_epi16(aligned, _mm_set1_epi16(0x010A));  /* 10a + b */
    __m128i quads = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00010064));   /* 100a + b */
    __m128i packed = _mm_packus_epi32(quads, quads);                     /* to 16 bits */
    __m128i octets = _mm_madd_epi16(packed, _mm_set1_epi32(0x00012710)); /* 10000a + b */
    uint64_t high = (uint32_t)_mm_cvtsi128_si32(octets);
    uint64_t low = (uint32_t)_mm_extract_epi32(octets, 1);
    *out = high * 100000000u + low;
    return true;
}
#endif

/* Decimal digits only; up to 20 digits, overflow checked. `end` is the end of the readable
 * buffer: the word-at-a-time paths read up to 16 bytes from s, never past end. */
static HOT_INLINE int parse_decimal(const char *s, size_t n, const char *end, uint64_t *out,
                                    floe_simd isa) {
    if (n <= 8 && (size_t)(end - s) >= 8)
        return swar_digits(s, n, out) ? VALUE_OK : FLOE_BAD_NUMBER;
    if (n > 8 && n <= 16 && (size_t)(end - s) >= 16) {
#if FLOE_SCAN_X86
        if (isa == FLOE_SIMD_AVX2) return sse_digits16(s, n, out) ? VALUE_OK : FLOE_BAD_NUMBER;
#else
        (void)isa;
#endif
        uint64_t high, low;
        if (!swar_digits(s, n - 8, &high) || !swar_digits(s + n - 8, 8, &low))
            return FLOE_BAD_NUMBER;
        *out = high * 100000000u + low;
        return VALUE_OK;
    }
    return parse_decimal_slow(s, n, out);
}

/* An enum word of up to 8 bytes as one little-endian integer, zero-padded: what the fast path
 * compares a token against. */
#define WORD_KEY_(w, i)                                                                            \
    (sizeof(w) - 1 > (i) ? (uint64_t)(uint8_t)(w)[(i) < sizeof(w) ? (i) : 0] << (8 * (i)) : 0)
#define WORD_KEY(w)                                                                                \
    (WORD_KEY_(w, 0) | WORD_KEY_(w, 1) | WORD_KEY_(w, 2) | WORD_KEY_(w, 3) | WORD_KEY_(w, 4) |     \
     WORD_KEY_(w, 5) | WORD_KEY_(w, 6) | WORD_KEY_(w, 7))

/* The words of every enum field (floe_enum_word's values), at most three a field, none longer
 * than 8 bytes. A zero value ends a field's list. */
typedef struct enum_word {
    uint64_t key;
    const char *text;
    uint8_t len;
    uint8_t value;
} enum_word;
#define ENUM_WORD(w, v)                                                                            \
    { WORD_KEY(w), w, sizeof(w) - 1, v }

static HOT_INLINE const enum_word *enum_words(uint8_t field) {
    static const enum_word action[3] = {ENUM_WORD("ACCEPT", FLOE_ACTION_ACCEPT),
                                        ENUM_WORD("REJECT", FLOE_ACTION_REJECT)};
    static const enum_word log_status[3] = {ENUM_WORD("OK", FLOE_LOG_STATUS_OK),
                                            ENUM_WORD("NODATA", FLOE_LOG_STATUS_NODATA),
                                            ENUM_WORD("SKIPDATA", FLOE_LOG_STATUS_SKIPDATA)};
    static const enum_word type[3] = {ENUM_WORD("IPv4", FLOE_TYPE_IPV4),
                                      ENUM_WORD("IPv6", FLOE_TYPE_IPV6),
                                      ENUM_WORD("EFA", FLOE_TYPE_EFA)};
    static const enum_word direction[3] = {ENUM_WORD("ingress", FLOE_DIRECTION_INGRESS),
                                           ENUM_WORD("egress", FLOE_DIRECTION_EGRESS)};
    static const enum_word none[3] = {{0, NULL, 0, 0}};
    switch (field) {
    case FLOE_F_ACTION:
        return action;
    case FLOE_F_LOG_STATUS:
        return log_status;
    case FLOE_F_TYPE:
        return type;
    case FLOE_F_FLOW_DIRECTION:
        return direction;
    default:
        return none;
    }
}

/* Where 8 bytes are readable the token is loaded as one integer, masked to its length, and
 * compared with each word's key: conditional moves instead of a memcmp and a branch a
 * candidate (ACCEPT against REJECT is a coin the branch predictor loses). Near the end of the
 * buffer the words are compared byte by byte. */
static HOT_INLINE int parse_enum(uint8_t field, const char *s, size_t n, const char *end,
                                 uint8_t *out) {
    const enum_word *words = enum_words(field);
    uint8_t value = 0;
    if (n <= 8 && (size_t)(end - s) >= 8) {
        uint64_t key;
        memcpy(&key, s, 8);
        key &= ~UINT64_C(0) >> (64 - 8 * n); /* n >= 1: tokens are never empty */
        for (int i = 0; i < 3; i++)
            value = key == words[i].key ? words[i].value : value;
    } else {
        for (int i = 0; i < 3 && words[i].value != 0; i++)
            if (n == words[i].len && memcmp(s, words[i].text, n) == 0) value = words[i].value;
    }
    if (value == 0) return FLOE_BAD_ENUM;
    *out = value;
    return VALUE_OK;
}

/* Start/end above 2^31-1 are milliseconds (seen in the wild); anything larger than
 * milliseconds of that range is not a time. */
#define SECONDS_MAX UINT64_C(2147483647)

/* "-", the null of every field. */
static HOT_INLINE bool is_null_token(const char *s, size_t n) {
    return n == 1 && s[0] == '-'; /* s[0] is always there: tokens are never empty */
}

/* Parses one value of field `field` (of type `type`) into row `row` of its column array
 * `values`, and sets the field's bit in *row_nulls when the value is "-". Returns VALUE_OK or
 * a floe_bad_reason. Type and field come as plain arguments so that a caller that knows them
 * at compile time (the default-format path) gets the dispatch folded away. A "-" fails every
 * number, address and enum parse, so those types look for it only after their parse failed:
 * the common row pays no null test. */
static HOT_INLINE int parse_typed_value(uint8_t type, uint8_t field, void *values, uint32_t row,
                                        const char *s, size_t n, const char *end,
                                        uint64_t *row_nulls, floe_simd isa) {
    if (type == SINK_SKIP) return VALUE_OK;
    const uint64_t null_bit = UINT64_C(1) << field;
    uint64_t number = 0;
    int result;
    switch ((floe_type)type) {
    case FLOE_T_U8:
        if ((result = parse_decimal(s, n, end, &number, isa)) != VALUE_OK) {
            if (!is_null_token(s, n)) return result;
            *row_nulls |= null_bit;
        }
        if (number > UINT8_MAX) return FLOE_BAD_RANGE;
        ((uint8_t *)values)[row] = (uint8_t)number;
        return VALUE_OK;
    case FLOE_T_U16:
        if ((result = parse_decimal(s, n, end, &number, isa)) != VALUE_OK) {
            if (!is_null_token(s, n)) return result;
            *row_nulls |= null_bit;
        }
        if (number > UINT16_MAX) return FLOE_BAD_RANGE;
        ((uint16_t *)values)[row] = (uint16_t)number;
        return VALUE_OK;
    case FLOE_T_U64:
        if ((result = parse_decimal(s, n, end, &number, isa)) != VALUE_OK) {
            if (!is_null_token(s, n)) return result;
            *row_nulls |= null_bit;
        }
        if (number > FLOE_COUNTER_MAX) return FLOE_BAD_RANGE;
        ((uint64_t *)values)[row] = number;
        return VALUE_OK;
    case FLOE_T_TIME:
        if ((result = parse_decimal(s, n, end, &number, isa)) != VALUE_OK) {
            if (!is_null_token(s, n)) return result;
            *row_nulls |= null_bit;
        }
        if (number > SECONDS_MAX) number /= 1000;
        if (number > SECONDS_MAX) return FLOE_BAD_RANGE;
        ((int64_t *)values)[row] = (int64_t)number;
        return VALUE_OK;
    case FLOE_T_ADDR: {
        floe_addr *addr = (floe_addr *)values + row;
#if FLOE_SCAN_X86
        if (isa == FLOE_SIMD_AVX2 ? floe_addr_parse_v4_avx2(s, n, (size_t)(end - s), addr)
                                  : floe_addr_parse_v4_wide(s, n, (size_t)(end - s), addr))
            return VALUE_OK;
#else
        (void)isa;
        if (floe_addr_parse_v4_wide(s, n, (size_t)(end - s), addr)) return VALUE_OK;
#endif
        if (is_null_token(s, n)) {
            *row_nulls |= null_bit;
            memset(addr, 0, sizeof(*addr));
            return VALUE_OK;
        }
        return floe_addr_parse(s, n, addr) ? VALUE_OK : FLOE_BAD_ADDR;
    }
    case FLOE_T_ENUM: {
        uint8_t *value = (uint8_t *)values + row;
        if ((result = parse_enum(field, s, n, end, value)) == VALUE_OK) return VALUE_OK;
        if (!is_null_token(s, n)) return result;
        *row_nulls |= null_bit;
        *value = 0;
        return VALUE_OK;
    }
    case FLOE_T_STR: {
        floe_slice *slice = (floe_slice *)values + row;
        bool is_null = is_null_token(s, n);
        *row_nulls |= (uint64_t)is_null << field;
        slice->ptr = is_null ? NULL : s;
        slice->len = is_null ? 0 : (uint32_t)n;
        return VALUE_OK;
    }
    }
    return VALUE_OK;
}

/* Parses one value into row `row` of its column. Returns VALUE_OK or a floe_bad_reason. */
static HOT_INLINE int parse_value(const column_sink *sink, uint32_t row, const char *s, size_t n,
                                  const char *end, uint64_t *row_nulls, floe_simd isa) {
    return parse_typed_value(sink->type, sink->field, sink->values, row, s, n, end, row_nulls, isa);
}

/* "2026-11-01T00:05:00.000Z": CloudWatch's export prefix. Checked by shape, not calendar. */
static bool is_iso8601(const char *s, size_t n) {
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (n < sizeof(shape) - 1) return false;
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        bool ok = shape[i] == 'd' ? (unsigned)(s[i] - '0') <= 9 : s[i] == shape[i];
        if (!ok) return false;
    }
    return true;
}

/* ---- lines ------------------------------------------------------------------------------ */

/* How a buffer becomes lines and tokens, in two stages a region (REGION_BYTES) at a time:
 *   1. delimiters: each 64-byte block is classified (floe_scan.h) and the offsets just past
 *      its delimiters (spaces, '\r', newlines) are appended to one array; the newlines'
 *      indexes in that array are noted apart, and so is every block in which a delimiter
 *      follows another (or starts the buffer): an empty token, which flow logs do not have.
 *   2. lines: a line that touches no such block has as many tokens as delimiters,
 *      token i running from just past delimiter i - 1 to delimiter i; its values are parsed
 *      straight from the array (a line with more tokens than any format is bad, so only the
 *      first TOKEN_CAP are ever read). Lines with empty tokens (double spaces, CRLF, blank
 *      lines) or cut by the end of the input are tokenized again byte by byte (slow_line),
 *      which skips empty tokens.
 * A line whose delimiters run past a region keeps them at the front of the array for the next;
 * one with more than TOKEN_CAP of them there takes the slow way when it ends. */

/* Tokens of one line kept for parsing. A line with more is a bad line anyway: the count goes
 * on, only the extra positions are not kept. */
#define TOKEN_CAP (FLOE_MAX_COLUMNS + 2)
/* Bytes of the buffer stage 1 covers before stage 2 runs: delimiters of a few dozen lines,
 * small enough to stay in L1 between the stages. */
#define REGION_BYTES 4096
/* Delimiter slots: the pending line's start, its delimiters carried from the last region (at
 * most TOKEN_CAP), a region in which every byte is a delimiter, and a block of slack. */
#define DELIM_SLOTS (1 + TOKEN_CAP + REGION_BYTES + 64)

/* The tokens of one line: token i starts at offset start[i], and its delimiter ends it just
 * before offset after[i] (after[i] - 1 is the delimiter). From stage 1 these are two views of
 * the same array (after = start + 1); from slow_line, two arrays. */
typedef struct token_view {
    const uint32_t *start;
    const uint32_t *after;
} token_view;

static HOT_INLINE const char *token_text(const char *buf, token_view t, uint32_t i) {
    return buf + t.start[i];
}

static HOT_INLINE uint32_t token_len(token_view t, uint32_t i) {
    return t.after[i] - t.start[i] - 1;
}

/* A line's tokens in arrays of their own: slow_line's and a header's copy. */
typedef struct line_tokens {
    uint32_t count; /* may exceed TOKEN_CAP: only the first TOKEN_CAP are kept */
    uint32_t start[TOKEN_CAP];
    uint32_t after[TOKEN_CAP];
} line_tokens;

static token_view view_of(const line_tokens *tokens) {
    return (token_view){tokens->start, tokens->after};
}

/* State of one floe_parse call. Nothing here outlives the call. */
typedef struct parse_run {
    floe_parser *parser;
    floe_batch *batch;
    const char *buf;
    const char *end; /* end of the caller's buffer: no read goes past it */
    bool stop;       /* the batch is full, or the format changed under rows already in it */
    floe_status status;

    uint16_t ncols;
    bool default_format; /* the 14 v2 fields in their order: the straight-line row parser */
    column_sink sinks[FLOE_MAX_COLUMNS];
    line_tokens header; /* a copy of a header line's tokens, for apply_header */
    line_tokens slow;   /* slow_line's tokens */
} parse_run;

static floe_status prepare_batch(parse_run *run) {
    const floe_format *format = &run->parser->format;
    floe_status status = floe_batch_reserve(run->batch, format->present);
    if (status != FLOE_OK) return status;
    run->ncols = format->ncols;
    /* The default format is the table's first 14 fields in table order. */
    run->default_format = format->ncols == 14;
    for (uint16_t c = 0; c < format->ncols && run->default_format; c++)
        run->default_format = format->field[c] == c;
    for (uint16_t c = 0; c < format->ncols; c++) {
        column_sink *sink = &run->sinks[c];
        sink->field = format->field[c];
        if (sink->field == FLOE_F_UNKNOWN) {
            sink->type = SINK_SKIP;
            sink->values = NULL;
        } else {
            sink->type = (uint8_t)floe_field_type((floe_field)sink->field);
            sink->values = run->batch->values[sink->field];
        }
    }
    return FLOE_OK;
}

static void report_bad(floe_parser *parser, const floe_bad_line *bad) {
    parser->stats.bad_lines++;
    parser->stats.bad_by_reason[bad->reason]++;
    if (parser->options.on_bad_line != NULL) parser->options.on_bad_line(parser->options.ctx, bad);
}

static floe_slice line_text(const char *buf, size_t start, size_t end) {
    while (end > start && buf[end - 1] == '\r')
        end--;
    return (floe_slice){buf + start, (uint32_t)(end - start)};
}

static void announce_unknown(floe_parser *parser, floe_slice name, uint64_t line_no) {
    for (int i = 0; i < parser->unknown_count; i++)
        if (parser->unknown_len[i] == name.len &&
            memcmp(parser->unknown_names[i], name.ptr, name.len) == 0)
            return;
    if (parser->unknown_count == FLOE_MAX_UNKNOWN_NAMES) return; /* enough said */
    size_t len = name.len < FLOE_MAX_UNKNOWN_NAME_LEN ? name.len : FLOE_MAX_UNKNOWN_NAME_LEN;
    memcpy(parser->unknown_names[parser->unknown_count], name.ptr, len);
    parser->unknown_len[parser->unknown_count++] = (uint8_t)len;
    if (parser->options.on_unknown_field != NULL)
        parser->options.on_unknown_field(parser->options.ctx, name, line_no);
}

static floe_slice token_at(const char *buf, token_view tokens, uint32_t i) {
    return (floe_slice){token_text(buf, tokens, i), token_len(tokens, i)};
}

static HOT_INLINE bool starts_lowercase(const char *s) {
    return (unsigned)(s[0] - 'a') <= 'z' - 'a';
}

/* Field names are lower-case words with digits, '-' or '_': anything else on a header line
 * (a record glued to it, say) makes it a bad header rather than a format of odd columns. */
static bool is_name_shaped(floe_slice name) {
    if (name.len == 0 || !starts_lowercase(name.ptr)) return false;
    for (uint32_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        bool ok =
            (unsigned)(c - 'a') <= 'z' - 'a' || (unsigned)(c - '0') <= 9 || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

/* A header line (its tokens in run->header): the names become the format of the lines after it. */
static void apply_header(parse_run *run, floe_slice text, uint64_t line_no) {
    floe_parser *parser = run->parser;
    const line_tokens *names = &run->header;
    floe_format format;
    memset(&format, 0, sizeof(format));
    bool ok = names->count <= FLOE_MAX_COLUMNS;
    for (uint32_t i = 0; ok && i < names->count; i++) {
        floe_slice name = token_at(run->buf, view_of(names), i);
        if (!is_name_shaped(name)) {
            ok = false;
            break;
        }
        floe_field field = floe_field_lookup(name.ptr, name.len);
        if (field != FLOE_F_UNKNOWN) {
            ok = !(format.present >> field & 1); /* a field named twice */
            format.present |= UINT64_C(1) << field;
            int version = floe_field_version(field);
            if (version > format.version) format.version = (uint8_t)version;
        }
        format.field[format.ncols++] = (uint8_t)field;
    }
    if (!ok) {
        uint16_t seen = names->count > UINT16_MAX ? UINT16_MAX : (uint16_t)names->count;
        floe_bad_line bad = {line_no, FLOE_BAD_HEADER,      -1,  FLOE_F_UNKNOWN,
                             seen,    parser->format.ncols, text};
        report_bad(parser, &bad);
        return;
    }
    parser->stats.headers++;
    for (uint16_t i = 0; i < format.ncols; i++)
        if (format.field[i] == FLOE_F_UNKNOWN)
            announce_unknown(parser, token_at(run->buf, view_of(names), i), line_no);
    if (floe_format_equal(&format, &parser->format)) return;
    parser->format = format;
    if (run->batch->count > 0) {
        run->stop = true; /* the batch keeps the old format; the next call starts the new */
        return;
    }
    run->status = prepare_batch(run);
    if (run->status != FLOE_OK) run->stop = true;
}

/* A header line names fields: a line is taken for one when its first or its second word is a
 * field name, so a header may begin with a field this version of floe does not know. No record
 * value is a lower-case field name, and only lines starting with [a-z] are looked up at all. */
static HOT_INLINE bool is_header(const char *buf, token_view tokens, uint32_t ntokens) {
    const char *first = token_text(buf, tokens, 0);
    if (!starts_lowercase(first)) return false;
    if (floe_field_lookup(first, token_len(tokens, 0)) != FLOE_F_UNKNOWN) return true;
    if (ntokens < 2) return false;
    const char *second = token_text(buf, tokens, 1);
    return starts_lowercase(second) &&
           floe_field_lookup(second, token_len(tokens, 1)) != FLOE_F_UNKNOWN;
}

/* Any format: one value a column, typed at run time. Returns the bad column or -1. */
static HOT_INLINE int parse_row(const parse_run *run, token_view tokens, uint32_t first,
                                uint32_t row, uint64_t *row_nulls, int *reason, floe_simd isa) {
    for (uint32_t c = 0; c < run->ncols; c++) {
        uint32_t t = first + c;
        int result = parse_value(&run->sinks[c], row, token_text(run->buf, tokens, t),
                                 token_len(tokens, t), run->end, row_nulls, isa);
        if (result != VALUE_OK) {
            *reason = result;
            return (int)c;
        }
    }
    return -1;
}

/* The default format, which most flow logs use: the same work as parse_row with every column's
 * type known at compile time, so each value's parse is straight-line code without the type
 * dispatch. Returns the bad column or -1. */
static HOT_INLINE int parse_default_row(const parse_run *run, token_view tokens, uint32_t first,
                                        uint32_t row, uint64_t *row_nulls, int *reason,
                                        floe_simd isa) {
#define DEFAULT_COLUMN(c, type)                                                                    \
    do {                                                                                           \
        int result = parse_typed_value(type, c, run->sinks[c].values, row,                         \
                                       token_text(run->buf, tokens, first + c),                    \
                                       token_len(tokens, first + c), run->end, row_nulls, isa);    \
        if (result != VALUE_OK) {                                                                  \
            *reason = result;                                                                      \
            return c;                                                                              \
        }                                                                                          \
    } while (0)
    DEFAULT_COLUMN(0, FLOE_T_U8);    /* version */
    DEFAULT_COLUMN(1, FLOE_T_STR);   /* account-id */
    DEFAULT_COLUMN(2, FLOE_T_STR);   /* interface-id */
    DEFAULT_COLUMN(3, FLOE_T_ADDR);  /* srcaddr */
    DEFAULT_COLUMN(4, FLOE_T_ADDR);  /* dstaddr */
    DEFAULT_COLUMN(5, FLOE_T_U16);   /* srcport */
    DEFAULT_COLUMN(6, FLOE_T_U16);   /* dstport */
    DEFAULT_COLUMN(7, FLOE_T_U8);    /* protocol */
    DEFAULT_COLUMN(8, FLOE_T_U64);   /* packets */
    DEFAULT_COLUMN(9, FLOE_T_U64);   /* bytes */
    DEFAULT_COLUMN(10, FLOE_T_TIME); /* start */
    DEFAULT_COLUMN(11, FLOE_T_TIME); /* end */
    DEFAULT_COLUMN(12, FLOE_T_ENUM); /* action */
    DEFAULT_COLUMN(13, FLOE_T_ENUM); /* log-status */
#undef DEFAULT_COLUMN
    return -1;
}

/* Reports a skipped line. Out of line: bad lines are rare and the report is bulky. */
static __attribute__((noinline)) void report_line(parse_run *run, floe_bad_reason reason,
                                                  int column, uint32_t values_seen,
                                                  uint64_t line_no, size_t start, size_t end) {
    floe_bad_line bad;
    bad.line_no = line_no;
    bad.reason = reason;
    bad.column = column;
    bad.field = column >= 0 ? (floe_field)run->sinks[column].field : FLOE_F_UNKNOWN;
    bad.fields_seen = values_seen > UINT16_MAX ? UINT16_MAX : (uint16_t)values_seen;
    bad.fields_wanted = run->ncols;
    bad.text = line_text(run->buf, start, end);
    report_bad(run->parser, &bad);
}

/* A header line: keep a copy of its tokens (the delimiter array they point into is the scan
 * loop's) and apply it. */
static __attribute__((noinline)) void take_header(parse_run *run, token_view tokens,
                                                  uint32_t ntokens, uint64_t line_no, size_t start,
                                                  size_t end) {
    uint32_t kept = ntokens < TOKEN_CAP ? ntokens : TOKEN_CAP;
    run->header.count = ntokens;
    for (uint32_t i = 0; i < kept; i++) {
        run->header.start[i] = tokens.start[i];
        run->header.after[i] = tokens.after[i];
    }
    apply_header(run, line_text(run->buf, start, end), line_no);
}

/* One complete line, buf[start..end), with its ntokens tokens found (only the first TOKEN_CAP
 * are readable; a line with more is bad). */
static HOT_INLINE void end_line(parse_run *run, token_view tokens, uint32_t ntokens, size_t start,
                                size_t end, floe_simd isa) {
    floe_parser *parser = run->parser;
    floe_batch *batch = run->batch;
    uint64_t line_no = ++parser->stats.lines;
    if (ntokens == 0) {
        parser->stats.blank_lines++;
        return;
    }
    uint32_t first = 0;
    if (parser->options.mode == FLOE_LINES_CLOUDWATCH) {
        first = 1;
        if (!is_iso8601(token_text(run->buf, tokens, 0), token_len(tokens, 0))) {
            report_line(run, FLOE_BAD_TIMESTAMP, -1, ntokens - 1, line_no, start, end);
            return;
        }
    } else if (is_header(run->buf, tokens, ntokens)) {
        take_header(run, tokens, ntokens, line_no, start, end);
        return;
    }
    if (ntokens - first != run->ncols) {
        report_line(run, FLOE_BAD_FIELD_COUNT, -1, ntokens - first, line_no, start, end);
        return;
    }
    uint32_t row = batch->count;
    uint64_t row_nulls = 0;
    int reason = VALUE_OK;
    int bad_column = run->default_format
                         ? parse_default_row(run, tokens, first, row, &row_nulls, &reason, isa)
                         : parse_row(run, tokens, first, row, &row_nulls, &reason, isa);
    if (bad_column >= 0) {
        report_line(run, (floe_bad_reason)reason, bad_column, ntokens - first, line_no, start, end);
        return;
    }
    batch->nulls[row] = row_nulls;
    batch->line_no[row] = line_no;
    batch->count = row + 1;
    parser->stats.records++;
    if (row + 1 == batch->capacity) run->stop = true;
}

void floe_parser_init(floe_parser *parser, const floe_parse_options *options) {
    memset(parser, 0, sizeof(*parser));
    parser->options = *options;
    if (options->format != NULL)
        parser->format = *options->format;
    else
        floe_format_default(&parser->format);
    parser->options.format = NULL; /* copied: the caller's may go away */
    parser->simd = floe_scan_effective_level(options->simd);
}

void floe_parser_skip_line(floe_parser *parser, floe_bad_reason reason, floe_slice text) {
    floe_bad_line bad = {++parser->stats.lines, reason, -1, FLOE_F_UNKNOWN, 0,
                         parser->format.ncols,  text};
    report_bad(parser, &bad);
}

/* Tokenizes buf[start..end) (one line, no newline) byte by byte, skipping empty tokens: the
 * lines stage 1 sets aside. Separators are those of floe_scan.h: ' ' and '\r'. */
static void tokenize_slowly(const char *buf, size_t start, size_t end, line_tokens *out) {
    out->count = 0;
    size_t token_start = start;
    for (size_t i = start; i <= end; i++) {
        if (i < end && buf[i] != ' ' && buf[i] != '\r') continue;
        if (i > token_start) {
            if (out->count < TOKEN_CAP) {
                out->start[out->count] = (uint32_t)token_start;
                out->after[out->count] = (uint32_t)i + 1;
            }
            out->count++;
        }
        token_start = i + 1;
    }
}

/* The scan loop (see "lines" above for the two stages). Written once and stamped out per
 * instruction set below, so each copy inlines its own classifier and the compiler may use that
 * set's instructions (tzcnt, popcnt, ...) everywhere in the loop. Returns the offset after the
 * last line parsed. */
#define FLOE_DEFINE_SCAN_LOOP(name, attributes, classify, isa)                                     \
    /* The line's work stays out of the scan loop's body, so the loop keeps its few variables      \
     * in registers instead of spilling them around the inlined value parsers. `flatten`           \
     * inlines this set's own helpers (floe_addr_parse_v4_avx2 for AVX2) into it. */               \
    attributes __attribute__((noinline, flatten)) static void name##_line(                         \
        parse_run *run, token_view tokens, uint32_t ntokens, size_t start, size_t end) {           \
        end_line(run, tokens, ntokens, start, end, isa);                                           \
    }                                                                                              \
    /* The same for a line of stage 1, its tokens between consecutive delimiters: stamped out      \
     * apart so that the compiler sees that each delimiter ends one token and starts the next. */  \
    attributes __attribute__((noinline, flatten)) static void name##_line_between(                 \
        parse_run *run, const uint32_t *after, uint32_t ntokens, size_t start, size_t end) {       \
        end_line(run, (token_view){after, after + 1}, ntokens, start, end, isa);                   \
    }                                                                                              \
    attributes __attribute__((noinline)) static void name##_slow_line(parse_run *run,              \
                                                                      size_t start, size_t end) {  \
        tokenize_slowly(run->buf, start, end, &run->slow);                                         \
        name##_line(run, view_of(&run->slow), run->slow.count, start, end);                        \
    }                                                                                              \
    attributes static size_t name(parse_run *run, const char *buf, size_t len, bool at_eof) {      \
        /* Offsets just past each delimiter (so, where each token starts): delims[0] is the        \
         * pending line's start, then come its delimiters carried over, then the region's. */      \
        uint32_t delims[DELIM_SLOTS];                                                              \
        uint32_t newline_at[REGION_BYTES]; /* indexes in delims of the region's newlines */        \
        uint32_t dirty[REGION_BYTES / 64]; /* blocks with a delimiter after a delimiter */         \
        uint32_t ndelims = 1;                                                                      \
        delims[0] = 0;                                                                             \
        bool pending_slow = false; /* the pending line must take the slow way */                   \
        size_t line_start = 0;                                                                     \
        uint64_t carry = 1; /* the previous block's last byte was a delimiter (or: start) */       \
        for (size_t base = 0; base < len;) {                                                       \
            /* Stage 1: delimiters of the region. */                                               \
            size_t region_end = len - base > REGION_BYTES ? base + REGION_BYTES : len;             \
            uint32_t nnewlines = 0, ndirty = 0;                                                    \
            for (; base < region_end; base += 64) {                                                \
                floe_scan_masks masks;                                                             \
                if (len - base >= 64) {                                                            \
                    masks = classify((const uint8_t *)buf + base);                                 \
                } else {                                                                           \
                    /* Never read past the caller's buffer: classify a zero-padded copy of the     \
                     * tail (zero is not a delimiter). */                                          \
                    uint8_t tail[64] = {0};                                                        \
                    memcpy(tail, buf + base, len - base);                                          \
                    masks = classify(tail);                                                        \
                }                                                                                  \
                uint64_t bits = masks.separators | masks.newlines;                                 \
                if ((bits & (bits << 1 | carry)) != 0) dirty[ndirty++] = (uint32_t)base;           \
                carry = bits >> 63;                                                                \
                for (uint64_t nl = masks.newlines; nl != 0; nl &= nl - 1)                          \
                    newline_at[nnewlines++] =                                                      \
                        ndelims + (uint32_t)__builtin_popcountll(bits & ((nl & (0 - nl)) - 1));    \
                for (; bits != 0; bits &= bits - 1)                                                \
                    delims[ndelims++] = (uint32_t)base + 1 + (uint32_t)__builtin_ctzll(bits);      \
            }                                                                                      \
            /* Stage 2: its complete lines. */                                                     \
            uint32_t before = 0; /* index in delims of the pending line's start */                 \
            uint32_t next_dirty = 0;                                                               \
            for (uint32_t m = 0; m < nnewlines; m++) {                                             \
                uint32_t newline = newline_at[m];                                                  \
                size_t line_end = delims[newline] - 1;                                             \
                while (next_dirty < ndirty && (size_t)dirty[next_dirty] + 64 <= line_start)        \
                    next_dirty++;                                                                  \
                bool slow =                                                                        \
                    pending_slow || (next_dirty < ndirty && dirty[next_dirty] <= line_end);        \
                if (slow)                                                                          \
                    name##_slow_line(run, line_start, line_end);                                   \
                else                                                                               \
                    name##_line_between(run, delims + before, newline - before, line_start,        \
                                        line_end);                                                 \
                pending_slow = false;                                                              \
                before = newline;                                                                  \
                line_start = line_end + 1;                                                         \
                if (run->stop) return line_start;                                                  \
            }                                                                                      \
            /* Carry the unfinished line's delimiters to the front; too many, or a dirty block     \
             * in it, and it takes the slow way when it ends. */                                   \
            while (next_dirty < ndirty && (size_t)dirty[next_dirty] + 64 <= line_start)            \
                next_dirty++;                                                                      \
            uint32_t pending = ndelims - before - 1;                                               \
            if (pending_slow || next_dirty < ndirty || pending > TOKEN_CAP) {                      \
                pending_slow = true;                                                               \
                pending = 0;                                                                       \
            }                                                                                      \
            memmove(delims + 1, delims + before + 1, pending * sizeof(uint32_t));                  \
            delims[0] = (uint32_t)line_start;                                                      \
            ndelims = 1 + pending;                                                                 \
        }                                                                                          \
        if (at_eof && line_start < len) {                                                          \
            name##_slow_line(run, line_start, len);                                                \
            line_start = len;                                                                      \
        }                                                                                          \
        return line_start;                                                                         \
    }

FLOE_DEFINE_SCAN_LOOP(scan_lines_scalar, , floe_scan_block_scalar, FLOE_SIMD_SCALAR)
#if FLOE_SCAN_X86
FLOE_DEFINE_SCAN_LOOP(scan_lines_sse2, , floe_scan_block_sse2, FLOE_SIMD_SSE2)
FLOE_DEFINE_SCAN_LOOP(scan_lines_avx2, __attribute__((target("avx2,bmi,bmi2,popcnt"))),
                      floe_scan_block_avx2, FLOE_SIMD_AVX2)
#endif

floe_status floe_parse(floe_parser *parser, const char *buf, size_t len, bool at_eof,
                       floe_batch *batch, size_t *consumed) {
    *consumed = 0;
    /* Offsets are 32-bit, and so are a block's offset + 64 and a token's end + 1; callers hand
     * over chunks far smaller than 4 GiB. */
    if (len > UINT32_MAX - 128) return FLOE_ERR_INVALID;
    parse_run run;
    run.parser = parser;
    run.batch = batch;
    run.buf = buf;
    run.end = buf + len;
    run.stop = false;
    run.status = FLOE_OK;
    floe_status status = prepare_batch(&run);
    if (status != FLOE_OK) return status;
    switch (parser->simd) {
#if FLOE_SCAN_X86
    case FLOE_SIMD_AVX2:
        *consumed = scan_lines_avx2(&run, buf, len, at_eof);
        break;
    case FLOE_SIMD_SSE2:
        *consumed = scan_lines_sse2(&run, buf, len, at_eof);
        break;
#endif
    default:
        *consumed = scan_lines_scalar(&run, buf, len, at_eof);
        break;
    }
    return run.status;
}
