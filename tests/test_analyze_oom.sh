#!/usr/bin/env bash
# Out of memory on floe's threads (workers, reducer, formatters): the run stops promptly,
# exits 1 with a message, and writes nothing under the output's name. Allocations are made to
# fail by tests/floe_test_oom.c (LD_PRELOAD), after 0, a few, and many successful ones.
# usage: test_analyze_oom.sh FLOE_GEN FLOE OOM_LIBRARY
set -euo pipefail
gen=$1
floe=$2
oom=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
"$gen" -o "$work/g" --seed 21 --size 16M --codec gzip -q
"$floe" analyze "$work/g/AWSLogs" --window 1m --distinct dstport -o "$work/ok.csv" -q
[ -s "$work/ok.csv" ] || fail "the run without failures wrote nothing"
[ -r "$oom" ] || fail "no $oom"
stopped=0
# Workers (any thread), then the reducer's and the formatters' threads alone.
for case in any:0 any:3 any:40 any:400 any:4000 any:40000 floe-reduce:0 floe-reduce:20 \
    floe-format:0 floe-format:1; do
    thread=${case%%:*}
    after=${case#*:}
    rm -f "$work/out.csv"
    set +e
    if [ "$thread" = any ]; then unset FLOE_TEST_OOM_THREAD; else export FLOE_TEST_OOM_THREAD=$thread; fi
    FLOE_TEST_OOM_AFTER=$after LD_PRELOAD=$oom timeout 60 "$floe" analyze "$work/g/AWSLogs" \
        --window 1m --distinct dstport -o "$work/out.csv" -q -t 2 2>"$work/err"
    code=$?
    set -e
    [ "$code" != 124 ] || fail "after $after allocations: the run hung"
    if [ "$code" = 0 ]; then
        # Enough allocations to finish: then the result must be the real one.
        cmp -s "$work/ok.csv" "$work/out.csv" || fail "after $after: exit 0 but a different table"
        echo "ok - $thread threads, after $after allocations: finished, same table"
        continue
    fi
    [ "$code" = 1 ] || fail "after $after allocations: exit $code, want 1"
    grep -q "out of memory" "$work/err" || { cat "$work/err" >&2; fail "no out-of-memory message"; }
    [ ! -e "$work/out.csv" ] || fail "after $after allocations: a partial output was left"
    ls -a "$work" | grep -q '^\.out\.csv\.tmp' && fail "after $after: a temporary was left"
    echo "ok - $thread threads, after $after allocations: exit 1, 'out of memory', no output"
    stopped=$((stopped + 1))
done
# The shim must have bitten: with no allocation allowed, no run can finish.
[ "$stopped" -gt 0 ] || fail "no run failed: the allocation shim did not take effect"
echo "all passed"
