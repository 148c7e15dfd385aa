// floe_bench: Google Benchmark harness over floe's C code (through floe_bench_shim.h).
//
// Parse throughput is reported as bytes_per_second of uncompressed flow-log text. The input
// files come from the seeded generator (see bench/run_parse_bench.sh), named by environment:
//   FLOE_BENCH_DEFAULT  plain text in the default (v2) format
//   FLOE_BENCH_V5       plain text in a version-5 custom format
// Each is read into memory once; the timed loop is the parser alone.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "floe_bench_shim.h"

namespace {

const std::string &load(const char *env_name) {
    static std::string empty;
    static std::string texts[2];
    int slot = std::string(env_name) == "FLOE_BENCH_V5" ? 1 : 0;
    if (!texts[slot].empty()) return texts[slot];
    const char *path = std::getenv(env_name);
    if (path == nullptr) return empty;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    texts[slot] = all.str();
    return texts[slot];
}

void parse_bench(benchmark::State &state, const char *env_name) {
    const std::string &text = load(env_name);
    int level = static_cast<int>(state.range(0));
    if (text.empty()) {
        state.SkipWithError(
            (std::string(env_name) + " not set or empty: run bench/run_parse_bench.sh").c_str());
        return;
    }
    if (floe_bench_effective_level(level) != level) {
        state.SkipWithError("this CPU lacks the instruction set");
        return;
    }
    floe_bench_parse *bench = floe_bench_parse_new(level);
    uint64_t records = 0, checksum = 0, bad = 0;
    for (auto _ : state) {
        records = floe_bench_parse_run(bench, text.data(), text.size(), &checksum, &bad);
        benchmark::DoNotOptimize(checksum);
    }
    floe_bench_parse_free(bench);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(text.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(records));
    state.SetLabel(floe_bench_level_name(level));
    state.counters["bad_lines"] = static_cast<double>(bad);
    state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_parse_default(benchmark::State &state) {
    parse_bench(state, "FLOE_BENCH_DEFAULT");
}
void BM_parse_v5(benchmark::State &state) {
    parse_bench(state, "FLOE_BENCH_V5");
}

// Aggregation alone, over batches parsed once from FLOE_BENCH_DEFAULT; MB/s are of the text
// those batches came from, so the figure adds to the parser's directly.
void BM_aggregate(benchmark::State &state) {
    const std::string &text = load("FLOE_BENCH_DEFAULT");
    if (text.empty()) {
        state.SkipWithError("FLOE_BENCH_DEFAULT not set or empty: run bench/run_parse_bench.sh");
        return;
    }
    int key_id = static_cast<int>(state.range(0));
    floe_bench_agg *bench = floe_bench_agg_new(text.data(), text.size(), key_id);
    uint64_t groups = 0, records = 0;
    for (auto _ : state) {
        groups = floe_bench_agg_run(bench, &records);
        benchmark::DoNotOptimize(groups);
    }
    floe_bench_agg_free(bench);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(text.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(records));
    state.SetLabel(floe_bench_agg_key_name(key_id));
    state.counters["groups"] = static_cast<double>(groups);
}

// The detectors alone over the same batches (default settings, one thread), so their cost per
// record can be compared with aggregation's (BM_aggregate) without the whole run's noise.
void BM_detect(benchmark::State &state) {
    const std::string &text = load("FLOE_BENCH_DEFAULT");
    if (text.empty()) {
        state.SkipWithError("FLOE_BENCH_DEFAULT not set or empty: run bench/run_parse_bench.sh");
        return;
    }
    floe_bench_detect *bench = floe_bench_detect_new(text.data(), text.size());
    uint64_t findings = 0, records = 0;
    for (auto _ : state) {
        findings = floe_bench_detect_run(bench, &records);
        benchmark::DoNotOptimize(findings);
    }
    floe_bench_detect_free(bench);
    if (findings == UINT64_MAX) state.SkipWithError("the detectors failed");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(text.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(records));
    state.counters["findings"] = static_cast<double>(findings);
}

} // namespace

BENCHMARK(BM_parse_default)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_parse_v5)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(BM_aggregate)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_detect)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
