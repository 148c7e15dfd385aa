#!/usr/bin/env bash
# The detectors end to end (floe analyze --detect), against the generator's planted attacks:
#  - accuracy: for three seeds (v2 and v5 formats, 10- and 1-minute intervals), at least 1 M
#    background records each, with the generator's benign look-alikes (a busy web server, a NAT
#    gateway, heavy DNS, a monitoring poller), every plant is found (recall 100%) and every
#    finding is a plant (precision 100%); the table per finding type is printed
#    (tests/detect_score.mjs);
#  - the look-alikes are close calls: without the "answered" rule (portsweep.max_answered = 1000)
#    the heavy-DNS host (1-minute interval: the poller too) is reported as a PortSweep;
#  - the findings do not depend on the thread count or the I/O path (identical JSON Lines), nor
#    on whether windows close as the files' hours pass or at the end (an input without an S3
#    key time keeps them all; the summary and --stats say which); records that started long
#    before their file's hour are late: counted, named, left out (--strict: exit 1);
#  - the findings Parquet table, read by DuckDB, holds the rows and values of the JSON Lines;
#  - the report's findings section lists them;
#  - an allow-listed actor raises nothing, and everything else stays;
#  - a threat list's bad line is named and skipped (--strict: exit 1); a bad setting is exit 2.
# usage: test_detect.sh FLOE_GEN FLOE NODE_DIR [quick]
set -euo pipefail
gen=$1
floe=$2
node_dir=$(realpath -m "$3")
quick=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C

# shellcheck source=floe_test_lib.sh
. "$here/floe_test_lib.sh"

records=1100000
[ -n "$quick" ] && records=150000

run=0
for spec in "11 v2 10" "12 v5 10" "13 v2 1"; do
    read -r seed format interval <<<"$spec"
    dir=$work/s$seed
    "$gen" -q -o "$dir" --seed "$seed" --records "$records" --format "$format" --interval "$interval" \
        --lookalikes
    background=$(jq '.totals.records - .totals.plant_records' "$dir/truth.json")
    [ -n "$quick" ] || [ "$background" -ge 1000000 ] || fail "seed $seed: only $background background records"
    "$floe" analyze -q --detect --intel "$dir/intel.txt" --findings "$work/s$seed.jsonl" "$dir/AWSLogs" >/dev/null
    node "$here/detect_score.mjs" "$dir/truth.json" "$work/s$seed.jsonl" \
        "seed $seed ($format, $interval-minute interval, $background background records)" ||
        fail "seed $seed: findings differ from the plants (table above)"
    pass "seed $seed: every plant found, no other finding"
    run=$((run + 1))
done

for seed in 11 13; do
    dir=$work/s$seed
    "$floe" analyze -q --set portsweep.max_answered=1000 --findings "$work/m.jsonl" "$dir/AWSLogs" >/dev/null
    want=$(jq -r '.lookalikes[] | select(.kind == "heavy-dns" or (.kind == "monitoring-poller" and '"$seed"' == 13)) | .host' \
        "$dir/truth.json" | sort)
    got=$(jq -r 'select(.finding_type == "Impact:EC2/PortSweep") | .actor' "$work/m.jsonl" | sort -u |
        grep -xF -f <(echo "$want") || true)
    [ "$got" = "$want" ] || fail "seed $seed: without the answered rule, PortSweep names '$got', not '$want'"
done
pass "the look-alikes are close calls: without the answered rule they are PortSweeps"

dir=$work/s11
tree=$dir/AWSLogs
for t in "-t 1" "--threads 2 --io pread" "-t 4 --read-size 65536"; do
    # shellcheck disable=SC2086
    "$floe" analyze -q $t --detect --intel "$dir/intel.txt" --findings "$work/t.jsonl" "$tree" >/dev/null
    cmp -s "$work/t.jsonl" "$work/s11.jsonl" || fail "findings with '$t' differ"
done
pass "findings identical with 1, 2 and 4 threads, io_uring and pread"

# Windows closed as the files' hours pass (the default, lateness 1h; 20m closes sooner) give the
# findings of keeping every window to the end.
for lateness in none 20m; do
    "$floe" analyze -q --detect --intel "$dir/intel.txt" --set "lateness = $lateness" \
        --findings "$work/l.jsonl" "$tree" >/dev/null
    cmp -s "$work/l.jsonl" "$work/s11.jsonl" || fail "findings with lateness $lateness differ"
done
pass "findings identical whether windows close as the files' hours pass or at the end"

# A copy of an early file under a name three hours later: every record of it started hours
# before that file's hour, so all are late: counted, the file named, the findings unchanged,
# --strict exit 1. With lateness none nothing is late.
mkdir "$work/late"
cp -al "$tree" "$work/late/AWSLogs"
early=$(find "$work/late/AWSLogs" -name '*T0005Z*' | sort | sed -n 1p)
[ -n "$early" ] || fail "no file of 00:05 to copy"
moved=${early/T0005Z/T0305Z}
cp "$early" "$moved"
want=$(zcat "$moved" | tail -n +2 | grep -vc ' NODATA\| SKIPDATA' || true)
"$floe" analyze --detect --intel "$dir/intel.txt" --findings "$work/late.jsonl" -o "$work/late.csv" \
    "$work/late/AWSLogs" >/dev/null 2>"$work/late.err"
grep -qxF "late          $want record(s) left out of the detectors: they started more than the lateness before their file's hour" \
    "$work/late.err" || fail "the late records are not counted as $want: $(grep -A2 '^late' "$work/late.err")"
grep -qxF "  $moved: $want late" "$work/late.err" || fail "the late file is not named"
cmp -s "$work/late.jsonl" "$work/s11.jsonl" || fail "late records changed the findings"
set +e
"$floe" analyze -q --strict --detect "$work/late/AWSLogs" -o "$work/late.csv" >/dev/null 2>&1
strict=$?
set -e
[ $strict = 1 ] || fail "--strict with late records: exit $strict, not 1"
"$floe" analyze --detect --set lateness=none -o "$work/late.csv" "$work/late/AWSLogs" >/dev/null 2>"$work/late.err"
grep -q '^late' "$work/late.err" && fail "records late with lateness none"
pass "$want late records of a misnamed file counted and named, findings unchanged, --strict exit 1"

# The summary says whether windows closed; --stats counts the late records. An input without
# an S3 key time (here the same tree plus a header-only file outside any AWSLogs layout) keeps
# every window to the end, with the same findings.
"$floe" analyze --detect --intel "$dir/intel.txt" -o "$work/late.csv" --stats "$work/late.json" \
    "$work/late/AWSLogs" >/dev/null 2>"$work/late.err"
grep -q "^detectors     windows closed [1-9][0-9]* times as the files' hours passed" "$work/late.err" ||
    fail "the summary does not say windows closed: $(grep '^detectors' "$work/late.err")"
[ "$(jq .late_records "$work/late.json")" = "$want" ] || fail "--stats late_records is not $want"
[ "$(jq -r '.late_files[0].file' "$work/late.json")" = "$moved" ] || fail "--stats does not name the late file"
mkdir "$work/keyless"
cp -al "$tree" "$work/keyless/AWSLogs"
gzip -dc "$early" >"$work/early.txt"
sed -n 1p "$work/early.txt" | gzip >"$work/keyless/extra.log.gz"
"$floe" analyze --detect --intel "$dir/intel.txt" --findings "$work/keyless.jsonl" -o "$work/late.csv" \
    "$work/keyless" >/dev/null 2>"$work/late.err"
grep -q "^detectors     every window kept to the end (not every input has an S3 key time)" "$work/late.err" ||
    fail "an input without a key time: $(grep '^detectors' "$work/late.err")"
cmp -s "$work/keyless.jsonl" "$work/s11.jsonl" || fail "findings differ when every window is kept to the end"
pass "the summary says whether windows closed; an input without a key time keeps them all, same findings"

"$floe" analyze -q --detect --intel "$dir/intel.txt" --findings "$work/f.parquet" --report "$tree" >"$work/report.txt"
"$here/parquet_readers.sh" "$node_dir" >/dev/null
node - "$node_dir" "$work/f.parquet" "$work/s11.jsonl" <<'JS' || fail "the findings Parquet differs from the JSON Lines"
const [nodeDir, pq, jsonl] = process.argv.slice(2);
const { createRequire } = await import('node:module');
const { readFileSync } = await import('node:fs');
const require = createRequire(nodeDir + '/');
const { DuckDBInstance } = require('@duckdb/node-api');
const c = await (await DuckDBInstance.create(':memory:')).connect();
const rows = (await c.runAndReadAll(`SELECT finding_type, severity, direction, strftime(window_start, '%Y-%m-%dT%H:%M:%SZ') AS window_start,
  actor, targets, target_count, sources, protocol, port, flows, packets, bytes, rejected, distinct_ports, distinct_hosts,
  distinct_method, strftime(first_seen, '%Y-%m-%dT%H:%M:%SZ') AS first_seen, intel_entry, summary FROM read_parquet('${pq}')`)).getRowObjectsJson();
const want = readFileSync(jsonl, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
if (rows.length !== want.length) { console.error(`rows ${rows.length} != ${want.length}`); process.exit(1); }
for (let i = 0; i < rows.length; i++)
  for (const [k, v] of Object.entries(rows[i])) {
    const w = want[i][k];
    if (String(v) !== String(w)) { console.error(`row ${i} ${k}: parquet ${v} json ${w}`); process.exit(1); }
  }
console.log(`${rows.length} findings, ${Object.keys(rows[0]).length} columns equal`);
JS
pass "findings Parquet read by DuckDB equals the JSON Lines"

n=$(wc -l <"$work/s11.jsonl")
grep -q "^Findings: $n\$" "$work/report.txt" || fail "the report does not say 'Findings: $n'"
while IFS= read -r summary; do
    grep -qF -- "$summary" "$work/report.txt" || fail "the report lacks: $summary"
done < <(jq -r .summary "$work/s11.jsonl")
pass "the report lists the $n findings with their summaries"

actor=$(jq -r 'select(.finding_type == "Recon:EC2/Portscan") | .actor' "$work/s11.jsonl")
[ -n "$actor" ] || fail "no Portscan finding to allow-list"
"$floe" analyze -q --intel "$dir/intel.txt" --set "allow.actors = $actor" --findings "$work/a.jsonl" "$tree" >/dev/null
jq -r .actor "$work/a.jsonl" | grep -qxF "$actor" && fail "allow-listed $actor still raised a finding"
[ "$(jq -c --arg a "$actor" 'select(.actor != $a)' "$work/s11.jsonl")" = "$(jq -c . "$work/a.jsonl")" ] ||
    fail "allow-listing $actor changed other findings"
pass "an allow-listed actor raises nothing, the other findings stay"

printf '# a feed\n185.220.101.0/24 ; SBL1\nnot-an-address\n2001:db8:bad::/48\n' >"$work/bad.txt"
"$floe" analyze -q --detect --intel "$work/bad.txt" --findings "$work/b.jsonl" "$tree" >/dev/null 2>"$work/err.txt" ||
    fail "a bad threat-list line stopped the run"
grep -q "bad.txt:3: not an IP or CIDR, skipped" "$work/err.txt" || fail "the bad line is not named: $(cat "$work/err.txt")"
jq -r .finding_type "$work/b.jsonl" | grep -q MaliciousIPCaller || fail "the good lines were lost"
set +e
"$floe" analyze -q --strict --detect --intel "$work/bad.txt" "$tree" >/dev/null 2>&1
strict=$?
"$floe" analyze -q --set "portscan.ports = many" "$tree" >/dev/null 2>"$work/err.txt"
usage=$?
set -e
[ $strict = 1 ] || fail "--strict with a bad threat-list line: exit $strict, not 1"
[ $usage = 2 ] && grep -q "portscan.ports: 'many' is not a whole number" "$work/err.txt" ||
    fail "a bad setting: exit $usage, $(cat "$work/err.txt")"
pass "a bad threat-list line is named and skipped (--strict: exit 1); a bad setting is exit 2"

# A list bigger than the 1 MiB the reader takes at a time: bad lines past the first chunk and a
# line longer than a chunk are named by their line numbers, and the real entries at the end (the
# last line without its newline) still match.
awk 'BEGIN {
    for (i = 1; i <= 150000; i++) {
        if (i == 90001 || i == 149999) print "bad-line-" i
        else if (i == 120000) { s = "x"; while (length(s) < 1500000) s = s s; print s }
        else printf "10.%d.%d.%d\n", int(i / 65536) + 100, int(i / 256) % 256, i % 256
    } }' >"$work/big.txt"
grep -v '^#' "$dir/intel.txt" | sed '/^$/d' >>"$work/big.txt"
truncate -s -1 "$work/big.txt" # no newline after the last entry
"$floe" analyze -q --detect --intel "$work/big.txt" --findings "$work/big.jsonl" "$tree" >/dev/null 2>"$work/err.txt" ||
    fail "a big threat list stopped the run"
for n in 90001 120000 149999; do
    grep -q "big.txt:$n: not an IP or CIDR, skipped" "$work/err.txt" || fail "line $n is not named: $(cut -c1-200 "$work/err.txt")"
done
[ "$(grep -c "not an IP or CIDR" "$work/err.txt")" = 3 ] || fail "other lines were called bad: $(cut -c1-200 "$work/err.txt")"
[ "$(jq -c 'select(.finding_type | test("MaliciousIPCaller"))' "$work/s11.jsonl" | wc -l)" -gt 0 ] ||
    fail "intel.txt raises no MaliciousIPCaller finding to compare with"
cmp -s <(jq -c 'select(.finding_type | test("MaliciousIPCaller"))' "$work/big.jsonl") \
    <(jq -c 'select(.finding_type | test("MaliciousIPCaller"))' "$work/s11.jsonl") ||
    fail "the big list's entries found other MaliciousIPCaller findings than intel.txt alone"
pass "a list of many chunks: bad lines named by number across chunks, its entries all matched"
echo "test_detect: $checks checks passed ($run seeds)"
