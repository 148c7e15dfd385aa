/* floe_bench_shim.h: the C functions the C++ Google Benchmark harness calls. Keeping the
 * harness on this small surface means floe's own headers never have to compile as C++. */
#ifndef FLOE_BENCH_SHIM_H
#define FLOE_BENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_bench_parse floe_bench_parse;

/* A parser + batch for repeated runs over one buffer; simd_level: 0 scalar, 1 sse2, 2 avx2. */
floe_bench_parse *floe_bench_parse_new(int simd_level);
/* Parses the whole buffer (header lines included) and returns the records parsed; the sum of
 * bytes goes to *checksum so the compiler cannot drop the work. */
uint64_t floe_bench_parse_run(floe_bench_parse *bench, const char *buf, size_t len,
                              uint64_t *checksum, uint64_t *bad_lines);
void floe_bench_parse_free(floe_bench_parse *bench);
/* The level a request really runs at on this CPU, and its name. */
int floe_bench_effective_level(int simd_level);
const char *floe_bench_level_name(int simd_level);

/* Aggregation alone: the text is parsed once into batches (kept), then each run builds a
 * fresh table from them. key_id: 0 "protocol,action" by 1h (a few groups), 1 the 1-minute
 * srcaddr,dstaddr,dstport,protocol,action key (about a group per record), 2 srcaddr with no
 * window (top talkers). */
typedef struct floe_bench_agg floe_bench_agg;
floe_bench_agg *floe_bench_agg_new(const char *buf, size_t len, int key_id);
/* Returns the number of groups; *records gets the rows aggregated. */
uint64_t floe_bench_agg_run(floe_bench_agg *bench, uint64_t *records);
void floe_bench_agg_free(floe_bench_agg *bench);
const char *floe_bench_agg_key_name(int key_id);

/* The detectors alone (floe_detect, default settings, one thread): batches parsed once, then
 * each run fills a fresh floe_detect and draws its findings. Returns the findings, or
 * UINT64_MAX when a step failed; *records gets the rows fed. */
typedef struct floe_bench_detect floe_bench_detect;
floe_bench_detect *floe_bench_detect_new(const char *buf, size_t len);
uint64_t floe_bench_detect_run(floe_bench_detect *bench, uint64_t *records);
void floe_bench_detect_free(floe_bench_detect *bench);

#ifdef __cplusplus
}
#endif

#endif
