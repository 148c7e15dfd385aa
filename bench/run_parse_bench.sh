#!/usr/bin/env bash
# Parser throughput on generated data: default-format and v5 custom-format lines, scalar,
# SSE2 and AVX2 scans. Usage: bench/run_parse_bench.sh [BUILD_DIR] [SIZE]
# The figures are MB/s of uncompressed text (Google Benchmark prints bytes_per_second in
# MiB/s; the script also prints decimal MB/s).
set -euo pipefail
build=${1:-build/release}
size=${2:-256M}
data=${FLOE_BENCH_DIR:-/tmp/floe-bench}
mkdir -p "$data"

make_text() { # NAME FORMAT
    local name=$1 format=$2
    if [ ! -s "$data/$name.log" ]; then
        rm -rf "$data/$name.tree"
        "$build/tools/floe-gen" -o "$data/$name.tree" --seed 7 --size "$size" --codec plain \
            --format "$format" --no-plants 2>/dev/null
        find "$data/$name.tree" -name '*.log' | sort | xargs cat > "$data/$name.log"
        rm -rf "$data/$name.tree"
    fi
    echo "$data/$name.log"
}

default_text=$(make_text default v2)
v5_text=$(make_text v5 v5)
echo "default: $(du -m "$default_text" | cut -f1) MiB, v5: $(du -m "$v5_text" | cut -f1) MiB" >&2

FLOE_BENCH_DEFAULT=$default_text FLOE_BENCH_V5=$v5_text \
    "$build/bench/floe_bench" --benchmark_repetitions=${REPS:-3} --benchmark_report_aggregates_only=true \
    --benchmark_format=json --benchmark_out="$data/parse.json" --benchmark_out_format=json >/dev/null
jq -r '.benchmarks[] | select(.aggregate_name == "median" or .aggregate_name == "max" or .aggregate_name == "min" or .aggregate_name == null)
       | select(.aggregate_name == "median") |
       [.run_name, .label, (.bytes_per_second / 1e6 | floor | tostring) + " MB/s"] | @tsv' "$data/parse.json"
