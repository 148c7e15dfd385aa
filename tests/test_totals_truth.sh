#!/usr/bin/env bash
# End to end: floe totals over generated trees equals the generator's truth exactly (files,
# headers, records, text bytes, per-action records/packets/bytes, per log-status), for gzip,
# zstd and plain, default, custom and all-fields formats, Hive and hourly layouts and
# CloudWatch exports; and the scalar scan gives byte-identical totals.
# Usage: test_totals_truth.sh FLOE_GEN FLOE
set -euo pipefail
gen=$1
floe=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
checks=0

# The part of floe's JSON that must equal truth.json's totals, in truth's shape.
floe_as_truth='{files, header_lines: .headers, records, text_bytes: .decoded_bytes,
  stored_bytes: .compressed_bytes,
  log_status: {OK: .log_status.OK, NODATA: .log_status.NODATA, SKIPDATA: .log_status.SKIPDATA},
  action: .actions}'
truth_totals='.totals | {files, header_lines, records, text_bytes, stored_bytes, log_status, action}'

check() { # NAME ROOT [floe options...]
    local name=$1 root=$2
    shift 2
    checks=$((checks + 1))
    local got want
    got=$("$floe" totals --json "$@" "$dir/$name/$root" | jq -S "$floe_as_truth")
    want=$(jq -S "$truth_totals" "$dir/$name/truth.json")
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: floe totals differ from truth.json"
        diff <(echo "$want") <(echo "$got") || true
        failures=$((failures + 1))
        return
    fi
    # The scalar scan must give the same totals to the byte (timing keys aside).
    local simd scalar
    simd=$("$floe" totals --json "$@" "$dir/$name/$root" | jq -S 'del(.seconds, .decoded_mb_per_s)')
    scalar=$(FLOE_SIMD=scalar "$floe" totals --json "$@" "$dir/$name/$root" | jq -S 'del(.seconds, .decoded_mb_per_s)')
    if [ "$simd" != "$scalar" ]; then
        echo "FAIL $name: FLOE_SIMD=scalar totals differ"
        failures=$((failures + 1))
        return
    fi
    echo "ok   $name: $(echo "$got" | jq -c '{files, records}')"
}

gen_tree() { # NAME [floe-gen options...]
    local name=$1
    shift
    "$gen" -q -o "$dir/$name" --seed 5 --size 6M "$@"
}

gen_tree gzip-v2 --codec gzip
check gzip-v2 AWSLogs

gen_tree zstd-all --codec zstd --format all
check zstd-all AWSLogs

gen_tree plain-v5-hive --codec plain --format v5 --layout hive --hourly
check plain-v5-hive AWSLogs

custom="srcaddr dstaddr action bytes packets log-status start end dstport srcport protocol tcp-flags"
gen_tree custom-1min --codec gzip --format "$custom" --interval 1 --org-id o-abc123def45
check custom-1min AWSLogs

gen_tree cloudwatch-v5 --codec gzip --format v5 --layout cloudwatch
format=$(jq -r .params.format "$dir/cloudwatch-v5/truth.json")
check cloudwatch-v5 exportedlogs --cloudwatch --format "$format"

# Clean trees have no bad lines; --strict passes on them.
"$floe" totals --strict "$dir/gzip-v2/AWSLogs" >/dev/null

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
