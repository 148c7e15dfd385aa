#!/usr/bin/env bash
# Ctrl-C and SIGTERM stop floe analyze promptly, with the documented exit code (128 + the
# signal: 130, 143), a message, and nothing under any output's name (no temporary left either);
# a second Ctrl-C ends it at once. The run is one thread over a generated tree, so it is still
# reading when the signal comes (checked: a run that ended first fails the test rather than
# passing it).
# Usage: test_signals.sh FLOE_GEN FLOE
set -euo pipefail
. "$(dirname "$0")/floe_test_lib.sh"
gen=$1
floe=$2
work_dir
gen_tree 5 150M

# SIGNAL DELAY: starts a run, sends SIGNAL after DELAY s; sets rc, took (s from signal to exit).
interrupt() {
    local sig=$1 delay=$2
    mkdir -p "$work/out"
    "$floe" analyze -q -t 1 -o "$work/out/t.parquet" --findings "$work/out/f.jsonl" \
        --stats "$work/out/s.json" "$work/tree/AWSLogs" 2>"$work/err" &
    local pid=$!
    sleep "$delay"
    kill -0 "$pid" 2>/dev/null || fail "the run ended within $delay s, before SIG$sig could stop it"
    local t0
    t0=$(date +%s%N)
    kill -"$sig" "$pid"
    set +e
    wait "$pid"
    rc=$?
    set -e
    took=$((($(date +%s%N) - t0) / 1000000))
}

for sig in INT TERM; do
    interrupt $sig 0.3
    want=$((128 + $(kill -l $sig)))
    [ "$rc" = "$want" ] || fail "SIG$sig: exit $rc, not $want ($(cat "$work/err"))"
    grep -q "floe analyze: interrupted: nothing written" "$work/err" || fail "SIG$sig: no message: $(cat "$work/err")"
    [ "$took" -lt 3000 ] || fail "SIG$sig: took $took ms to stop"
    [ -z "$(ls -A "$work/out")" ] || fail "SIG$sig left files: $(ls -A "$work/out")"
    pass "SIG$sig while reading: exit $rc in $took ms, a message, no file and no temporary"
done

# Two Ctrl-Cs: the second ends the process at once, killed by the signal itself.
"$floe" analyze -q -t 1 -o "$work/out/t.parquet" "$work/tree/AWSLogs" 2>"$work/err" &
pid=$!
sleep 0.3
kill -INT "$pid"
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" = 130 ] || fail "two SIGINTs: exit $rc, not 130"
[ ! -e "$work/out/t.parquet" ] || fail "two SIGINTs: the output exists"
pass "two SIGINTs: exit 130, no output under its name"

# Uninterrupted, the same command writes everything (the test's run is long enough to stop).
"$floe" analyze -q -t 1 -o "$work/out/t.parquet" --findings "$work/out/f.jsonl" "$work/tree/AWSLogs"
[ -s "$work/out/t.parquet" ] && [ -e "$work/out/f.jsonl" ] || fail "the whole run wrote no output"
pass "without a signal the same run writes its outputs"
echo "test_signals: $checks checks passed"
