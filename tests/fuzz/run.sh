#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [HARNESS...]: builds the fuzz preset (clang, libFuzzer, ASan+UBSan)
# and runs each harness (default: all of tests/fuzz/CMakeLists.txt's) for SECONDS (default 60),
# starting from its committed seeds (tests/fuzz/corpus/NAME) and regressions (regress/NAME).
# Prints a line a harness: seconds run, executions, coverage (libFuzzer's "cov", edges of our
# code reached, and "ft", features), the corpus it grew to, and the verdict. A crash, leak,
# timeout or broken property leaves its input under the work directory (FUZZ_WORK, default a
# new temporary one, removed after a clean run) and makes the script exit 1: copy it into
# tests/fuzz/regress/NAME, where ctest replays it in every build from then on, and fix the bug.
#   tests/fuzz/run.sh 600 fuzz_parse fuzz_gzip      # ten minutes each, two harnesses
#   tests/fuzz/run.sh 7                              # CI's smoke: about a minute in all
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
[ $# -gt 0 ] && shift
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
    mapfile -t harnesses < <(sed -n 's/^floe_fuzz(\([a-z_0-9]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz >/dev/null
work=${FUZZ_WORK:-$(mktemp -d /tmp/floe-fuzz.XXXXXX)}
mkdir -p "$work"
echo "fuzzing ${#harnesses[@]} harnesses for $secs s each; work directory $work"
printf '%-20s %7s %10s %7s %7s %7s  %s\n' harness seconds execs cov ft corpus result
failed=0
for h in "${harnesses[@]}"; do
    name=$(sed -n "s/^floe_fuzz($h [^ ]* \([a-z_0-9]*\).*/\1/p" tests/fuzz/CMakeLists.txt)
    [ -n "$name" ] || { echo "run.sh: no harness $h" >&2; exit 2; }
    mkdir -p "$work/$h/corpus" "$work/$h/artifacts"
    start=$(date +%s)
    set +e
    "build/fuzz/tests/fuzz/$h" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$h/artifacts/" \
        "$work/$h/corpus" "tests/fuzz/corpus/$name" "tests/fuzz/regress/$name" >"$work/$h/log" 2>&1
    rc=$?
    set -e
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h/log" | tail -1)
    status=$(grep -E '^#[0-9]+' "$work/$h/log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
    if [ $rc -eq 0 ]; then
        result=clean
    else
        result="FAILED (exit $rc): $(ls "$work/$h/artifacts" | head -3 | tr '\n' ' ')see $work/$h/log"
        failed=1
    fi
    printf '%-20s %7s %10s %7s %7s %7s  %s\n' "$h" "$took" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
# A clean run keeps nothing, unless the caller named the work directory (to grow a corpus).
if [ $failed = 0 ] && [ -z "${FUZZ_WORK:-}" ]; then rm -rf "$work"; fi
exit $failed
