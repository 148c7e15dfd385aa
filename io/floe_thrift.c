#include "floe_thrift.h"

#include <stdlib.h>
#include <string.h>

void floe_thrift_init(floe_thrift *t) {
    memset(t, 0, sizeof(*t));
}

void floe_thrift_free(floe_thrift *t) {
    free(t->out.data);
    floe_thrift_init(t);
}

void floe_thrift_reset(floe_thrift *t) {
    t->out.len = 0;
    t->out.failed = false;
    t->depth = 0;
    t->last_id[0] = 0;
}

static void put_byte(floe_thrift *t, uint8_t b) {
    floe_bytes_byte(&t->out, b);
}

static void put_varint(floe_thrift *t, uint64_t v) {
    floe_bytes_varint(&t->out, v);
}

/* Zigzag: small magnitudes of either sign become small unsigned numbers. */
static uint64_t zigzag(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* A field header: the id as a delta (1..15) from the previous field in the high nibble when it
 * fits, else a full zigzag i16 id after the type byte. */
static void field_header(floe_thrift *t, int16_t id, floe_thrift_type type) {
    int delta = (int)id - (int)t->last_id[t->depth];
    if (delta > 0 && delta <= 15) {
        put_byte(t, (uint8_t)(delta << 4 | type));
    } else {
        put_byte(t, (uint8_t)type);
        put_varint(t, zigzag(id));
    }
    t->last_id[t->depth] = id;
}

static void push(floe_thrift *t) {
    if (t->depth + 1 >= FLOE_THRIFT_MAX_DEPTH) {
        t->out.failed = true; /* deeper than any Parquet structure: a caller bug */
        return;
    }
    t->last_id[++t->depth] = 0;
}

void floe_thrift_bool(floe_thrift *t, int16_t id, bool value) {
    field_header(t, id, value ? FLOE_THRIFT_TRUE : FLOE_THRIFT_FALSE);
}

void floe_thrift_i8(floe_thrift *t, int16_t id, int8_t value) {
    field_header(t, id, FLOE_THRIFT_I8);
    put_byte(t, (uint8_t)value);
}

void floe_thrift_i16(floe_thrift *t, int16_t id, int16_t value) {
    field_header(t, id, FLOE_THRIFT_I16);
    put_varint(t, zigzag(value));
}

void floe_thrift_i32(floe_thrift *t, int16_t id, int32_t value) {
    field_header(t, id, FLOE_THRIFT_I32);
    put_varint(t, zigzag(value));
}

void floe_thrift_i64(floe_thrift *t, int16_t id, int64_t value) {
    field_header(t, id, FLOE_THRIFT_I64);
    put_varint(t, zigzag(value));
}

void floe_thrift_binary(floe_thrift *t, int16_t id, const void *bytes, size_t n) {
    field_header(t, id, FLOE_THRIFT_BINARY);
    floe_thrift_elem_binary(t, bytes, n);
}

void floe_thrift_string(floe_thrift *t, int16_t id, const char *text) {
    floe_thrift_binary(t, id, text, strlen(text));
}

void floe_thrift_struct_begin(floe_thrift *t, int16_t id) {
    field_header(t, id, FLOE_THRIFT_STRUCT);
    push(t);
}

void floe_thrift_struct_end(floe_thrift *t) {
    put_byte(t, 0);
    if (t->depth > 0) t->depth--;
}

void floe_thrift_list_begin(floe_thrift *t, int16_t id, floe_thrift_type element, uint32_t count) {
    field_header(t, id, FLOE_THRIFT_LIST);
    if (count < 15) {
        put_byte(t, (uint8_t)(count << 4 | element));
    } else {
        put_byte(t, (uint8_t)(0xF0 | element));
        put_varint(t, count);
    }
}

void floe_thrift_elem_i32(floe_thrift *t, int32_t value) {
    put_varint(t, zigzag(value));
}

void floe_thrift_elem_binary(floe_thrift *t, const void *bytes, size_t n) {
    put_varint(t, n);
    floe_bytes_put(&t->out, bytes, n);
}

void floe_thrift_elem_string(floe_thrift *t, const char *text) {
    floe_thrift_elem_binary(t, text, strlen(text));
}

void floe_thrift_elem_struct_begin(floe_thrift *t) {
    push(t);
}
