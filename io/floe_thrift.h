/* floe_thrift.h: an encoder for Apache Thrift's compact protocol, enough for Parquet's
 * metadata (page headers and the file footer).
 *
 * Writes into a growing byte buffer. Structs nest: struct_begin / list_begin push, end pops;
 * field ids are written as deltas from the previous field of the same struct, so fields must
 * come in increasing id order (Parquet's readers accept any order, but deltas stay short and
 * the bytes canonical). An allocation failure sets out.failed and makes every later call a
 * no-op, so a caller checks once at the end. Integers are written as the protocol says: i16, i32
 * and i64 as zigzag varints, i8 as one byte, binary as a varint length and the bytes. */
#ifndef FLOE_THRIFT_H
#define FLOE_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_bytes.h"

#define FLOE_THRIFT_MAX_DEPTH 16

/* Compact-protocol type codes, as written in field and list headers. */
typedef enum floe_thrift_type {
    FLOE_THRIFT_TRUE = 1, /* a bool field's value is its header's type */
    FLOE_THRIFT_FALSE = 2,
    FLOE_THRIFT_I8 = 3,
    FLOE_THRIFT_I16 = 4,
    FLOE_THRIFT_I32 = 5,
    FLOE_THRIFT_I64 = 6,
    FLOE_THRIFT_DOUBLE = 7,
    FLOE_THRIFT_BINARY = 8,
    FLOE_THRIFT_LIST = 9,
    FLOE_THRIFT_SET = 10,
    FLOE_THRIFT_MAP = 11,
    FLOE_THRIFT_STRUCT = 12
} floe_thrift_type;

typedef struct floe_thrift {
    floe_bytes out; /* the encoded bytes; out.failed: an allocation failed, they are incomplete */
    unsigned depth;
    int16_t last_id[FLOE_THRIFT_MAX_DEPTH]; /* previous field id of each open struct */
} floe_thrift;

/* An empty buffer, at depth 0 (inside the outermost struct). */
void floe_thrift_init(floe_thrift *t);
void floe_thrift_free(floe_thrift *t);
/* Empties the buffer, keeping its memory. */
void floe_thrift_reset(floe_thrift *t);

/* Fields of the current struct. */
void floe_thrift_bool(floe_thrift *t, int16_t id, bool value);
void floe_thrift_i8(floe_thrift *t, int16_t id, int8_t value);
void floe_thrift_i16(floe_thrift *t, int16_t id, int16_t value);
void floe_thrift_i32(floe_thrift *t, int16_t id, int32_t value);
void floe_thrift_i64(floe_thrift *t, int16_t id, int64_t value);
void floe_thrift_binary(floe_thrift *t, int16_t id, const void *bytes, size_t n);
void floe_thrift_string(floe_thrift *t, int16_t id, const char *text); /* NUL-terminated */
/* A struct field (or a union, which is a struct with one field set); close it with
 * floe_thrift_struct_end. */
void floe_thrift_struct_begin(floe_thrift *t, int16_t id);
/* Writes the stop byte of the current struct and returns to the enclosing one. At depth 0 it
 * ends the outermost struct. */
void floe_thrift_struct_end(floe_thrift *t);
/* A list field of `count` elements of `element` type; the elements follow as floe_thrift_elem_*
 * calls (or floe_thrift_elem_struct_begin ... floe_thrift_struct_end for structs). */
void floe_thrift_list_begin(floe_thrift *t, int16_t id, floe_thrift_type element, uint32_t count);

/* List elements: values without field headers. */
void floe_thrift_elem_i32(floe_thrift *t, int32_t value);
void floe_thrift_elem_binary(floe_thrift *t, const void *bytes, size_t n);
void floe_thrift_elem_string(floe_thrift *t, const char *text);
void floe_thrift_elem_struct_begin(floe_thrift *t);

#endif
