#!/usr/bin/env bash
# --memory-limit: a group-by whose tables would pass the limit stops early with a message and
# exit 1, writes nothing, and stays near the limit in resident memory (it is never left to the
# kernel's OOM killer); with room the same run finishes; a limit too small to start is a usage
# error; the default (3/4 of the memory) lets an ordinary run through.
# Usage: test_memory_limit.sh FLOE_GEN FLOE
set -euo pipefail
. "$(dirname "$0")/floe_test_lib.sh"
gen=$1
floe=$2
work_dir
gen_tree 9 100M
mkdir "$work/out"
# About 800 k groups of five-tuples a minute: some 200 MB of tables and sort arrays.
key=(--by srcaddr,dstaddr,srcport,dstport,protocol --window 1m)

set +e
/usr/bin/time -f "%M" -o "$work/rss" "$floe" analyze -q --memory-limit 64M "${key[@]}" \
    -o "$work/out/t.parquet" "$work/tree/AWSLogs" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "past the limit: exit $rc, not 1 ($(cat "$work/err"))"
grep -q "stopped at the memory limit (--memory-limit 64 MB" "$work/err" || fail "no message: $(cat "$work/err")"
[ -z "$(ls -A "$work/out")" ] || fail "past the limit, files were written: $(ls -A "$work/out")"
rss_mb=$(($(tail -1 "$work/rss") / 1024))
# What the limit does not count (read buffers, batches, the parser's) is tens of MB.
[ "$rss_mb" -lt $((64 + 160)) ] || fail "past the limit: peak RSS $rss_mb MB"
pass "--memory-limit 64M: stopped with a message, exit 1, nothing written, peak RSS $rss_mb MB"

"$floe" analyze -q --memory-limit 2G "${key[@]}" -o "$work/out/t.parquet" --stats "$work/s.json" "$work/tree/AWSLogs"
groups=$(jq .groups "$work/s.json")
[ -s "$work/out/t.parquet" ] && [ "$groups" -gt 100000 ] || fail "with room: $groups groups"
rm -f "$work/out/t.parquet"
"$floe" analyze -q "${key[@]}" -o "$work/out/t.parquet" "$work/tree/AWSLogs"
[ -s "$work/out/t.parquet" ] || fail "the default limit stopped an ordinary run"
pass "with room (2G, and the default) the same run writes its $groups groups"

set +e
"$floe" analyze -q --memory-limit 10M -o "$work/out/x.csv" "$work/tree/AWSLogs" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "memory-limit: a size like 512M" "$work/err" || fail "--memory-limit 10M: exit $rc, $(cat "$work/err")"
pass "a limit below 64M is a usage error"
echo "test_memory_limit: $checks checks passed"
