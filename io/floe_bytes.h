/* floe_bytes.h: a growing byte buffer, for encoders that write a few bytes at a time (Thrift's
 * compact protocol, Parquet pages). An allocation failure sets `failed` and turns every later
 * write into a no-op, so an encoder checks once at the end instead of after every byte. */
#ifndef FLOE_BYTES_H
#define FLOE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct floe_bytes {
    uint8_t *data; /* owned; free() it */
    size_t len, cap;
    bool failed; /* an allocation failed: the bytes are incomplete */
} floe_bytes;

/* Room for n more bytes (capacity doubles from 256). False once an allocation failed. */
static inline bool floe_bytes_reserve(floe_bytes *b, size_t n) {
    if (b->failed) return false;
    if (b->len + n <= b->cap) return true;
    size_t cap = b->cap < 256 ? 256 : b->cap;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *grown = (uint8_t *)realloc(b->data, cap);
    if (grown == NULL) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

static inline void floe_bytes_put(floe_bytes *b, const void *bytes, size_t n) {
    if (n > 0 && floe_bytes_reserve(b, n)) {
        memcpy(b->data + b->len, bytes, n);
        b->len += n;
    }
}

static inline void floe_bytes_byte(floe_bytes *b, uint8_t v) {
    if (floe_bytes_reserve(b, 1)) b->data[b->len++] = v;
}

/* Unsigned LEB128: seven bits a byte, low bits first. */
static inline void floe_bytes_varint(floe_bytes *b, uint64_t v) {
    if (!floe_bytes_reserve(b, 10)) return;
    while (v >= 0x80) {
        b->data[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (uint8_t)v;
}

static inline void floe_bytes_u32le(floe_bytes *b, uint32_t v) {
    const uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    floe_bytes_put(b, le, 4);
}

static inline void floe_bytes_u64le(floe_bytes *b, uint64_t v) {
    floe_bytes_u32le(b, (uint32_t)v);
    floe_bytes_u32le(b, (uint32_t)(v >> 32));
}

#endif
