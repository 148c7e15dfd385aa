#include "floe_scan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "floe_scan_impl.h"

static floe_simd cpu_level(void) {
#if FLOE_SCAN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return FLOE_SIMD_AVX2;
    if (__builtin_cpu_supports("sse2")) return FLOE_SIMD_SSE2;
#endif
    return FLOE_SIMD_SCALAR;
}

static floe_simd default_level;
static pthread_once_t default_level_once = PTHREAD_ONCE_INIT;

static void choose_default_level(void) {
    floe_simd level = cpu_level();
    const char *cap = getenv("FLOE_SIMD");
    if (cap != NULL) {
        if (strcmp(cap, "scalar") == 0)
            level = FLOE_SIMD_SCALAR;
        else if (strcmp(cap, "sse2") == 0 && level > FLOE_SIMD_SSE2)
            level = FLOE_SIMD_SSE2;
    }
    default_level = level;
}

floe_simd floe_scan_default_level(void) {
    pthread_once(&default_level_once, choose_default_level);
    return default_level;
}

floe_simd floe_scan_effective_level(floe_simd level) {
    floe_simd cpu = cpu_level();
    return level < cpu ? level : cpu;
}

floe_scan_block_fn floe_scan_block_impl(floe_simd level) {
    switch (floe_scan_effective_level(level)) {
#if FLOE_SCAN_X86
    case FLOE_SIMD_AVX2:
        return floe_scan_block_avx2;
    case FLOE_SIMD_SSE2:
        return floe_scan_block_sse2;
#endif
    default:
        return floe_scan_block_scalar;
    }
}

const char *floe_simd_name(floe_simd level) {
    switch (level) {
    case FLOE_SIMD_SCALAR:
        return "scalar";
    case FLOE_SIMD_SSE2:
        return "sse2";
    case FLOE_SIMD_AVX2:
        return "avx2";
    }
    return "?";
}
