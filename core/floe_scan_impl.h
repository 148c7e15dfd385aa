/* floe_scan_impl.h: the three block classifiers as inline functions, for the parser's loops
 * (which inline the one they were built for) and for floe_scan.c's function-pointer API.
 * Private to core/. */
#ifndef FLOE_SCAN_IMPL_H
#define FLOE_SCAN_IMPL_H

#include "floe_scan.h"

#if defined(__x86_64__) || defined(__i386__)
#define FLOE_SCAN_X86 1
#include <immintrin.h>
#else
#define FLOE_SCAN_X86 0
#endif

static inline floe_scan_masks floe_scan_block_scalar(const uint8_t block[64]) {
    floe_scan_masks masks = {0, 0};
    for (int i = 0; i < 64; i++) {
        uint8_t c = block[i];
        masks.separators |= (uint64_t)(c == ' ' || c == '\r') << i;
        masks.newlines |= (uint64_t)(c == '\n') << i;
    }
    return masks;
}

#if FLOE_SCAN_X86
static inline floe_scan_masks floe_scan_block_sse2(const uint8_t block[64]) {
    const __m128i space = _mm_set1_epi8(' ');
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    floe_scan_masks masks = {0, 0};
    for (int i = 0; i < 4; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(block + 16 * i));
        __m128i sep = _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, cr));
        masks.separators |= (uint64_t)(uint16_t)_mm_movemask_epi8(sep) << (16 * i);
        masks.newlines |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)) << (16 * i);
    }
    return masks;
}

__attribute__((target("avx2"))) static inline floe_scan_masks
floe_scan_block_avx2(const uint8_t block[64]) {
    const __m256i space = _mm256_set1_epi8(' ');
    const __m256i cr = _mm256_set1_epi8('\r');
    const __m256i lf = _mm256_set1_epi8('\n');
    __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)block);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(block + 32));
    __m256i sep_lo = _mm256_or_si256(_mm256_cmpeq_epi8(lo, space), _mm256_cmpeq_epi8(lo, cr));
    __m256i sep_hi = _mm256_or_si256(_mm256_cmpeq_epi8(hi, space), _mm256_cmpeq_epi8(hi, cr));
    floe_scan_masks masks;
    masks.separators = (uint64_t)(uint32_t)_mm256_movemask_epi8(sep_lo) |
                       (uint64_t)(uint32_t)_mm256_movemask_epi8(sep_hi) << 32;
    masks.newlines = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, lf)) |
                     (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, lf)) << 32;
    return masks;
}
#endif

#endif
