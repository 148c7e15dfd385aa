#!/usr/bin/env bash
# dev.sh: one entry point for a fresh Debian 12 machine.
#   ./dev.sh sample   install what is missing, build, generate a sample tree, analyze it
#   ./dev.sh test     install what is missing, build, run every test (release, ASan+UBSan, TSan,
#                     and a minute of fuzzing)
#   ./dev.sh bench    install, build, run the parser benchmark on generated data
#   ./dev.sh setup    only install what is missing
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake ninja-build pkg-config clang
          liburing-dev libzstd-dev libdeflate-dev libisal-dev libck-dev
          libcmocka-dev libbenchmark-dev zstd gzip jq)

log() { printf '== %s\n' "$*" >&2; }

setup() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # Node.js and npm run DuckDB's client in the Parquet tests; many machines bring their own.
    command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
    if [ ${#missing[@]} -eq 0 ]; then return; fi
    log "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build PRESET
    log "build ($1)"
    cmake --preset "$1" >/dev/null
    cmake --build --preset "$1"
}

sample() {
    setup
    build release
    local out=out/sample
    rm -rf "$out"
    log "generating a sample tree in $out"
    ./build/release/tools/floe-gen -o "$out" --seed 1 --size 64M --codec gzip
    log "floe analyze: 10-minute windows by the default key -> $out/flows_10m.parquet"
    ./build/release/tools/floe analyze "$out/AWSLogs" -o "$out/flows_10m.parquet" --stats "$out/run.json"
    log "floe analyze: the report with the detectors' findings -> $out/findings.jsonl"
    ./build/release/tools/floe analyze "$out/AWSLogs" -q --detect --intel "$out/intel.txt" \
        --findings "$out/findings.jsonl" --report
    jq -r '"floe read: \(.files) files, \(.records) records, \(.bad_lines) bad lines, \(.groups) groups"' "$out/run.json"
    jq -r '.totals | "the generator wrote: \(.files) files, \(.records) records, ACCEPT \(.action.ACCEPT.records), REJECT \(.action.REJECT.records), - \(.action["-"].records)"' "$out/truth.json"
}

run_tests() {
    setup
    build release
    log "tests (release)"
    ctest --preset release -j2
    build asan
    log "tests (ASan + UBSan)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j2
    build tsan
    log "tests of the threaded parts (TSan): the generator's workers, writers sharing a table, the analyze pipeline, Parquet row groups built on several threads, the report's tables"
    ctest --preset tsan -R '^(test_gen|test_agg|test_analyze|test_parquet|test_report|test_detect)$'
    log "fuzzing smoke (libFuzzer, ASan + UBSan): every harness of tests/fuzz for 7 s from its seeds"
    tests/fuzz/run.sh 7
}

bench() {
    setup
    build release
    bench/run_parse_bench.sh build/release
}

case "${1:-}" in
setup) setup ;;
sample) sample ;;
test) run_tests ;;
bench) bench ;;
*) echo "usage: $0 sample|test|bench|setup" >&2; exit 2 ;;
esac
