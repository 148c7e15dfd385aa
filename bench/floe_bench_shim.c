#include "floe_bench_shim.h"

#include <stdlib.h>
#include <string.h>

#include "floe_agg.h"
#include "floe_detect.h"
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

/* The whole buffer parsed into batches of 4096 rows, kept for repeated runs. */
static void parse_batches(const char *buf, size_t len, floe_batch **batches, size_t *nbatches,
                          uint64_t *records) {
    floe_parse_options options = {FLOE_LINES_S3, NULL, floe_scan_default_level(), NULL, NULL, NULL};
    floe_parser parser;
    floe_parser_init(&parser, &options);
    size_t offset = 0, cap = 0;
    while (offset < len) {
        if (*nbatches == cap) {
            cap = cap ? cap * 2 : 64;
            floe_batch *grown = realloc(*batches, cap * sizeof(*grown));
            if (grown == NULL) break;
            *batches = grown;
        }
        floe_batch *batch = &(*batches)[*nbatches];
        if (floe_batch_init(batch, 4096) != FLOE_OK) break;
        size_t consumed;
        if (floe_parse(&parser, buf + offset, len - offset, true, batch, &consumed) != FLOE_OK ||
            consumed == 0) {
            floe_batch_free(batch);
            break;
        }
        *records += batch->count;
        (*nbatches)++;
        offset += consumed;
    }
}

static void free_batches(floe_batch *batches, size_t nbatches) {
    for (size_t i = 0; i < nbatches; i++)
        floe_batch_free(&batches[i]);
    free(batches);
}

floe_bench_agg *floe_bench_agg_new(const char *buf, size_t len, int key_id) {
    floe_bench_agg *bench = calloc(1, sizeof(*bench));
    if (bench == NULL) return NULL;
    const char *key = agg_keys[key_id].key;
    if (floe_key_spec_parse(key, strlen(key), agg_keys[key_id].window, &bench->spec) != FLOE_OK) {
        free(bench);
        return NULL;
    }
    parse_batches(buf, len, &bench->batches, &bench->nbatches, &bench->records);
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
    free_batches(bench->batches, bench->nbatches);
    free(bench);
}

struct floe_bench_detect {
    floe_detect_config config;
    floe_batch *batches;
    size_t nbatches;
    uint64_t records;
};

floe_bench_detect *floe_bench_detect_new(const char *buf, size_t len) {
    floe_bench_detect *bench = calloc(1, sizeof(*bench));
    if (bench == NULL) return NULL;
    floe_detect_config_init(&bench->config);
    if (floe_detect_config_finish(&bench->config) != FLOE_OK) {
        floe_detect_config_free(&bench->config);
        free(bench);
        return NULL;
    }
    parse_batches(buf, len, &bench->batches, &bench->nbatches, &bench->records);
    return bench;
}

uint64_t floe_bench_detect_run(floe_bench_detect *bench, uint64_t *records) {
    floe_detect *detect = floe_detect_new(&bench->config);
    floe_detect_writer *writer = detect ? floe_detect_writer_new(detect) : NULL;
    floe_finding *findings = NULL;
    size_t nfindings = 0;
    bool ok = writer != NULL;
    for (size_t i = 0; ok && i < bench->nbatches; i++)
        ok = floe_detect_writer_add(writer, &bench->batches[i]) == FLOE_OK;
    ok = ok && floe_detect_writer_finish(writer) == FLOE_OK;
    floe_detect_writer_free(writer);
    ok = ok && floe_detect_findings(detect, &findings, &nfindings) == FLOE_OK;
    free(findings);
    floe_detect_free(detect);
    *records = bench->records;
    return ok ? nfindings : UINT64_MAX;
}

void floe_bench_detect_free(floe_bench_detect *bench) {
    if (bench == NULL) return;
    free_batches(bench->batches, bench->nbatches);
    floe_detect_config_free(&bench->config);
    free(bench);
}
