#include "floe_bench_shim.h"

#include <stdlib.h>
#include <string.h>

#include "floe_agg.h"
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

/* ---- aggregation ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *key;
    int64_t window;
} agg_keys[] = {
    {"protocol,action/1h", "protocol,action", 3600},
    {"5-tuple/1m", "srcaddr,dstaddr,dstport,protocol,action", 60},
    {"srcaddr/all", "srcaddr", 0},
};

struct floe_bench_agg {
    floe_key_spec spec;
    floe_batch *batches;
    size_t nbatches;
    uint64_t records;
};

const char *floe_bench_agg_key_name(int key_id) {
    return agg_keys[key_id].name;
}

floe_bench_agg *floe_bench_agg_new(const char *buf, size_t len, int key_id) {
    floe_bench_agg *bench = calloc(1, sizeof(*bench));
    if (bench == NULL) return NULL;
    const char *key = agg_keys[key_id].key;
    if (floe_key_spec_parse(key, strlen(key), agg_keys[key_id].window, &bench->spec) != FLOE_OK) {
        free(bench);
        return NULL;
    }
    floe_parse_options options = {FLOE_LINES_S3, NULL, floe_scan_default_level(), NULL, NULL, NULL};
    floe_parser parser;
    floe_parser_init(&parser, &options);
    size_t offset = 0, cap = 0;
    while (offset < len) {
        if (bench->nbatches == cap) {
            cap = cap ? cap * 2 : 64;
            floe_batch *grown = realloc(bench->batches, cap * sizeof(*grown));
            if (grown == NULL) break;
            bench->batches = grown;
        }
        floe_batch *batch = &bench->batches[bench->nbatches];
        if (floe_batch_init(batch, 4096) != FLOE_OK) break;
        size_t consumed;
        if (floe_parse(&parser, buf + offset, len - offset, true, batch, &consumed) != FLOE_OK ||
            consumed == 0) {
            floe_batch_free(batch);
            break;
        }
        bench->records += batch->count;
        bench->nbatches++;
        offset += consumed;
    }
    return bench;
}

uint64_t floe_bench_agg_run(floe_bench_agg *bench, uint64_t *records) {
    floe_agg *agg = floe_agg_new(&bench->spec);
    if (agg == NULL) return 0;
    for (size_t i = 0; i < bench->nbatches; i++)
        if (floe_agg_add_batch(agg, &bench->batches[i]) != FLOE_OK) break;
    uint64_t groups = floe_agg_count(agg);
    floe_agg_free(agg);
    *records = bench->records;
    return groups;
}

void floe_bench_agg_free(floe_bench_agg *bench) {
    if (bench == NULL) return;
    for (size_t i = 0; i < bench->nbatches; i++)
        floe_batch_free(&bench->batches[i]);
    free(bench->batches);
    free(bench);
}
