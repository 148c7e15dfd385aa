#include "floe_bench_shim.h"

#include <stdlib.h>

#include "floe_parse.h"

struct floe_bench_parse {
    floe_simd simd;
    floe_batch batch;
};

floe_bench_parse *floe_bench_parse_new(int simd_level) {
    floe_bench_parse *bench = calloc(1, sizeof(*bench));
    if (bench == NULL) return NULL;
    bench->simd = (floe_simd)simd_level;
    if (floe_batch_init(&bench->batch, 4096) != FLOE_OK) {
        free(bench);
        return NULL;
    }
    return bench;
}

uint64_t floe_bench_parse_run(floe_bench_parse *bench, const char *buf, size_t len,
                              uint64_t *checksum, uint64_t *bad_lines) {
    floe_parse_options options = {FLOE_LINES_S3, NULL, bench->simd, NULL, NULL, NULL};
    floe_parser parser;
    floe_parser_init(&parser, &options);
    size_t offset = 0;
    uint64_t sum = 0;
    while (offset < len) {
        size_t consumed;
        if (floe_parse(&parser, buf + offset, len - offset, true, &bench->batch, &consumed) !=
            FLOE_OK)
            break;
        if (floe_batch_has(&bench->batch, FLOE_F_BYTES)) {
            const uint64_t *bytes = floe_batch_u64(&bench->batch, FLOE_F_BYTES);
            for (uint32_t i = 0; i < bench->batch.count; i++)
                sum += bytes[i];
        }
        offset += consumed;
    }
    *checksum = sum;
    *bad_lines = parser.stats.bad_lines;
    return parser.stats.records;
}

void floe_bench_parse_free(floe_bench_parse *bench) {
    if (bench == NULL) return;
    floe_batch_free(&bench->batch);
    free(bench);
}

int floe_bench_effective_level(int simd_level) {
    return (int)floe_scan_effective_level((floe_simd)simd_level);
}

const char *floe_bench_level_name(int simd_level) {
    return floe_simd_name((floe_simd)simd_level);
}
