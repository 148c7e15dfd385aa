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
    "$build/bench/floe_bench" --benchmark_repetitions="${REPS:-10}" \
    --benchmark_out="$data/parse.json" --benchmark_out_format=json >/dev/null
# Per benchmark: the median and the best of the repetitions, in decimal MB/s.
printf '%-28s %-7s %10s %10s\n' benchmark scan "median" "best"
jq -r '[.benchmarks[] | select(.run_type == "iteration")] | group_by(.run_name)[]
       | (map(.bytes_per_second) | sort) as $r
       | [.[0].run_name, .[0].label, ($r[($r | length) / 2 | floor] / 1e6 | floor | tostring) + " MB/s",
          ($r[-1] / 1e6 | floor | tostring) + " MB/s"] | @tsv' "$data/parse.json" |
    while IFS=$'\t' read -r name label median best; do
        printf '%-28s %-7s %10s %10s\n' "$name" "$label" "$median" "$best"
    done
