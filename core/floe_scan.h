/* floe_scan.h: the SIMD delimiter scan under the record parser.
 *
 * One call classifies 64 input bytes into two bitmasks: separators (space, '\r') and newlines.
 * The parser walks the set bits with count-trailing-zeros, so it touches each delimiter once
 * instead of testing every byte. Three implementations give identical masks: scalar (always
 * built, always tested), SSE2 and AVX2. The best one the CPU has is chosen once; the
 * environment variable FLOE_SIMD=scalar|sse2|avx2 caps the choice so tests can run every path. */
#ifndef FLOE_SCAN_H
#define FLOE_SCAN_H

#include <stdint.h>

typedef enum floe_simd { FLOE_SIMD_SCALAR = 0, FLOE_SIMD_SSE2 = 1, FLOE_SIMD_AVX2 = 2 } floe_simd;

typedef struct floe_scan_masks {
    uint64_t separators; /* bit i: byte i is ' ' or '\r' */
    uint64_t newlines;   /* bit i: byte i is '\n' */
} floe_scan_masks;

/* Classifies exactly 64 bytes; the caller pads a short tail (with zeros) itself. */
typedef floe_scan_masks (*floe_scan_block_fn)(const uint8_t block[64]);

/* The highest level this CPU supports, lowered by FLOE_SIMD when set. Read once. */
floe_simd floe_scan_default_level(void);
/* The implementation for a level; a level the CPU lacks falls back to the best it has. */
floe_scan_block_fn floe_scan_block_impl(floe_simd level);
/* The level floe_scan_block_impl(level) really runs at on this CPU. */
floe_simd floe_scan_effective_level(floe_simd level);
const char *floe_simd_name(floe_simd level);

#endif
