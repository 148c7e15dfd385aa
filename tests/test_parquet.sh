#!/usr/bin/env bash
# floe's Parquet output, read back by DuckDB (npm @duckdb/node-api) and by arrow-rs (npm
# parquet-wasm with apache-arrow), installed on first use by tests/parquet_readers.sh into
# FLOE_NODE_DIR:
#  - every value equals the CSV of the same run (tests/parquet_check.mjs), for several keys:
#    windows, prefixes, strings, enums, times and counters as key parts, nulls, distinct
#    counts with exact and HyperLogLog sketches;
#  - types, row groups (one and many), statistics per row group, dictionary encoding, ZSTD and
#    uncompressed pages, key-value metadata, an empty table;
#  - the bytes do not depend on the thread count;
#  - -o picks the format by extension (Parquet for a file without one, CSV for '-');
#  - a write that fails part way (file size limit) leaves neither the final name nor a
#    temporary, and exits 1; a process killed while writing leaves no final name.
#  - the writer's edge cases through its API (tests/parquet_edge.c): unsigned annotations with
#    unsigned statistics, signed extremes, an all-null column, empty strings, a one-entry
#    dictionary, a dictionary past 1 MiB, runs and nulls of every length, two row groups.
# usage: test_parquet.sh FLOE_GEN FLOE NODE_DIR PARQUET_EDGE
set -euo pipefail
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
gen=$(absolute "$1")
floe=$(absolute "$2")
node_dir=$(cd "$3" 2>/dev/null && pwd || echo "$3")
edge=$(absolute "$4")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C

# shellcheck source=floe_test_lib.sh
. "$(dirname "$0")/floe_test_lib.sh"

"$here/parquet_readers.sh" "$node_dir"
"$gen" -o "$work/gen" --seed 21 --size 12M --codec gzip --threads 2 -q
tree=$work/gen/AWSLogs
records=$(jq '.totals.records' "$work/gen/truth.json")

# check NAME ROWS_PER_GROUP CODEC [floe analyze options...]: Parquet and CSV of the same run,
# compared by DuckDB.
check() {
    local name=$1 rows=$2 codec=$3
    shift 3
    local compression=zstd
    [ "$codec" = UNCOMPRESSED ] && compression=none
    "$floe" analyze -q "$@" --parquet-row-group "$rows" --parquet-compression "$compression" \
        -o "$work/$name.parquet" "$tree"
    "$floe" analyze -q "$@" --time-format unix -o "$work/$name.csv" "$tree"
    node "$here/parquet_check.mjs" --node-dir "$node_dir" --csv "$work/$name.csv" \
        --parquet "$work/$name.parquet" --rows-per-group "$rows" --codec "$codec" \
        --kv "floe.input.records=$records" >"$work/$name.check" ||
        {
            cat "$work/$name.check" >&2
            fail "$name: Parquet differs from the CSV or its metadata is wrong"
        }
    node "$here/parquet_arrow_check.mjs" "$node_dir" "$work/$name.parquet" --csv "$work/$name.csv" \
        >"$work/$name.arrow" || {
        cat "$work/$name.arrow" >&2
        fail "$name: arrow-rs reads other values than the CSV's"
    }
    pass "$name: DuckDB $(tail -n 1 "$work/$name.check"); $(tail -n 1 "$work/$name.arrow" | sed 's/^ok: //')"
}

check default_key 4000 ZSTD --window 10m
check strings_and_times 100000 UNCOMPRESSED --window 1h \
    --by account-id,interface-id,srcaddr/24,log-status,version,start,packets
check distinct 2000 ZSTD --window all --by srcaddr --distinct dstport,dstaddr
grep -q "distinct_dstport_sketch: sketch kinds present 00,01" "$work/distinct.check" ||
    fail "the distinct run should hold exact and HyperLogLog sketches: $(grep sketch "$work/distinct.check")"
pass "distinct: both sketch kinds present and consistent with their estimates"
check top 100000 ZSTD --window all --by dstport --top 25 --order-by flows

# Key-value metadata says what made the file.
node "$here/parquet_check.mjs" --node-dir "$node_dir" --csv "$work/default_key.csv" \
    --parquet "$work/default_key.parquet" --rows-per-group 4000 --codec ZSTD \
    --kv floe.key=srcaddr,dstaddr,dstport,protocol,action --kv floe.window_seconds=600 \
    --kv floe.table=aggregates --kv "floe.input.files=$(jq '.totals.files' "$work/gen/truth.json")" \
    --kv "floe.command=floe analyze --window 10m --by srcaddr,dstaddr,dstport,protocol,action -o $work/default_key.parquet --parquet-compression zstd --parquet-row-group 4000 $tree" \
    >"$work/kv.check" || {
    cat "$work/kv.check" >&2
    fail "key-value metadata"
}
pass "key-value metadata: command line, key, window, input totals"

# An empty table: the schema and no row group.
: >"$work/empty.log"
"$floe" analyze -q -o "$work/empty.parquet" "$work/empty.log"
"$floe" analyze -q --time-format unix -o "$work/empty.csv" "$work/empty.log"
node "$here/parquet_check.mjs" --node-dir "$node_dir" --csv "$work/empty.csv" \
    --parquet "$work/empty.parquet" --rows-per-group 131072 --codec ZSTD >"$work/empty.check" ||
    {
        cat "$work/empty.check" >&2
        fail "empty table"
    }
grep -q "^ok: 0 rows, 13 columns" "$work/empty.check" || fail "empty table: $(tail -n 1 "$work/empty.check")"
node "$here/parquet_arrow_check.mjs" "$node_dir" "$work/empty.parquet" --csv "$work/empty.csv" >"$work/empty.arrow" ||
    fail "empty table: arrow-rs: $(cat "$work/empty.arrow")"
pass "empty table: $(tail -n 1 "$work/empty.check")"

# Same bytes whatever the thread count and I/O, and however the options are spelled
# (floe.command is the canonical command; the output path is part of it, so every run writes
# the same name).
same="$work/same.parquet"
"$floe" analyze -q -t 1 --distinct dstport --parquet-row-group 3000 -o "$same" "$tree"
mv "$same" "$work/t1.parquet"
"$floe" analyze --threads 2 --io pread --distinct dstport --parquet-row-group 3000 --quiet \
    -o "$same" "$tree"
mv "$same" "$work/t2.parquet"
"$floe" analyze -t8 --read-size 65536 --dist dstport --no-progress --parquet-row 3000 \
    -qt4 -o "$same" "$tree"
mv "$same" "$work/t8.parquet"
cmp -s "$work/t1.parquet" "$work/t2.parquet" && cmp -s "$work/t1.parquet" "$work/t8.parquet" ||
    fail "Parquet bytes differ between 1, 2 and 8 threads"
pass "identical Parquet bytes for 1, 2 and 8 threads ($(stat -c %s "$work/t1.parquet") bytes)"

# -o by extension.
"$floe" analyze -q --window all --by protocol -o "$work/noext" "$tree"
[ "$(head -c 4 "$work/noext")" = PAR1 ] && [ "$(tail -c 4 "$work/noext")" = PAR1 ] ||
    fail "-o without an extension should write Parquet"
"$floe" analyze -q --window all --by protocol -o "$work/p.jsonl" "$tree"
head -c 1 "$work/p.jsonl" | grep -q '{' || fail "-o .jsonl should write JSON Lines"
"$floe" analyze -q --window all --by protocol -o - "$tree" | head -n 1 | grep -q '^protocol,flows,' ||
    fail "-o - should write CSV"
"$floe" analyze -q --window all --by protocol --output-format csv -o "$work/forced.parquet" "$tree"
head -n 1 "$work/forced.parquet" | grep -q '^protocol,flows,' || fail "--output-format csv"
"$floe" analyze -q --window all --by protocol -o "$work/upper.CSV" "$tree"
head -n 1 "$work/upper.CSV" | grep -q '^protocol,flows,' || fail "-o NAME.CSV should write CSV"
"$floe" analyze -q --window all --by protocol --output-format jsonl "$tree" | head -c 1 | grep -q '{' ||
    fail "--output-format alone should write the table on standard output"
for bad in "-o $work/x.json" "-o $work/x.csv.gz" "-o - --report" "--run-table -" \
    "-o $work/y.parquet --run-table $work/run.txt" "--stats - --report"; do
    set +e
    # shellcheck disable=SC2086
    "$floe" analyze -q --window all --by protocol $bad "$tree" >/dev/null 2>"$work/err"
    code=$?
    set -e
    [ "$code" = 2 ] || fail "'$bad': exit $code, want 2"
    grep -q "floe analyze: " "$work/err" || fail "'$bad': no message"
done
[ ! -e "$work/x.json" ] && [ ! -e "$work/x.csv.gz" ] || fail "a refused -o wrote a file"
if command -v script >/dev/null; then # Parquet to a terminal: refused (script gives a TTY)
    set +e
    script -qec "'$floe' analyze -q --window all --by protocol --output-format parquet '$tree'" \
        /dev/null >"$work/tty.out" 2>&1
    code=$?
    set -e
    [ "$code" = 2 ] && grep -q "Parquet is binary" "$work/tty.out" ||
        fail "Parquet to a terminal: exit $code, $(head -c 200 "$work/tty.out")"
fi
pass "-o: Parquet for a file by default (and .parquet), .csv/.CSV CSV, .jsonl JSON Lines, '-' CSV; --output-format wins, alone it writes to standard output; unknown extensions, two outputs on standard output and Parquet to a terminal are usage errors"

# The run table: one row, the same numbers as --stats, the first skipped line named.
printf 'not a flow log line\n' >"$work/bad.log"
"$floe" analyze -q --window all --by protocol -o "$work/rt.csv" --run-table "$work/run.parquet" \
    --stats "$work/run.json" "$tree" "$work/bad.log"
node "$here/duckdb_rows.mjs" "$node_dir" "SELECT * FROM '$work/run.parquet'" >"$work/run_rows.json"
[ "$(jq length "$work/run_rows.json")" = 1 ] || fail "run table: $(jq length "$work/run_rows.json") rows, want 1"
for pair in files:files records:records bad_lines:bad_lines blank_lines:blank_lines \
    headers:headers groups:groups compressed_bytes:compressed_bytes text_bytes:decoded_bytes \
    records_kept:records_kept lines:lines cut_lines:cut_lines; do
    col=${pair%%:*} stat=${pair#*:}
    got=$(jq -r ".[0].$col" "$work/run_rows.json")
    want=$(jq -r ".$stat" "$work/run.json")
    [ "$got" = "$want" ] || fail "run table $col: $got, --stats $stat: $want"
done
[ "$(jq -r '.[0].first_problem' "$work/run_rows.json")" = "$work/bad.log:1: wrong number of fields" ] ||
    fail "run table first_problem: $(jq -r '.[0].first_problem' "$work/run_rows.json")"
[ "$(jq -r '.[0].bad_lines' "$work/run_rows.json")" = 1 ] || fail "run table: the bad line not counted"
node "$here/duckdb_rows.mjs" "$node_dir" \
    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '$work/run.parquet')" >"$work/run_types.json"
[ "$(jq -r '[.[] | select(.column_type == "BIGINT")] | length' "$work/run_types.json")" = 16 ] ||
    fail "run table: the counts should be BIGINT: $(cat "$work/run_types.json")"
# The recorded command reruns as it ran: an empty value stays '', a path starting with '-'
# follows "--".
mkdir "$work/-d"
cp "$(find "$tree" -name '*.gz' | sort | sed -n 1p)" "$work/-d/"
(cd "$work" && "$floe" analyze -q --window all --by protocol --distinct '' -o dash.csv \
    --run-table dash_run.csv -- -d)
[ "$(tail -n 1 "$work/dash_run.csv" | cut -d, -f2)" = "floe analyze --window all --by protocol --distinct '' -o dash.csv --run-table dash_run.csv -- -d" ] ||
    fail "run table command: $(tail -n 1 "$work/dash_run.csv" | cut -d, -f2)"
pass "run table: one row, counts equal --stats, first problem '$(jq -r '.[0].first_problem' "$work/run_rows.json" | sed "s|$work/||")'"

# The writer's edge cases, compressed and not.
for codec in zstd none; do
    "$edge" "$work/edge.parquet" "$work/edge.jsonl" "$codec"
    name=ZSTD
    [ "$codec" = none ] && name=UNCOMPRESSED
    node "$here/parquet_edge_check.mjs" "$node_dir" "$work/edge.parquet" "$work/edge.jsonl" "$name" \
        >"$work/edge.check" || {
        cat "$work/edge.check" >&2
        fail "the writer's edge cases ($codec)"
    }
    node "$here/parquet_arrow_check.mjs" "$node_dir" "$work/edge.parquet" --jsonl "$work/edge.jsonl" \
        >"$work/edge.arrow" || {
        cat "$work/edge.arrow" >&2
        fail "the writer's edge cases ($codec): arrow-rs"
    }
    pass "writer edge cases ($codec): DuckDB $(tail -n 1 "$work/edge.check"); $(tail -n 1 "$work/edge.arrow" | sed 's/^ok: //')"
done

# A write that fails part way: the file size limit (SIGXFSZ ignored, so write() fails with
# EFBIG) stops the Parquet after 64 KiB of its ~1 MB.
mkdir "$work/full"
set +e
(
    trap '' XFSZ
    ulimit -f 64
    exec "$floe" analyze -q --parquet-row-group 2000 -o "$work/full/out.parquet" "$tree"
) 2>"$work/full.err"
code=$?
set -e
[ "$code" = 1 ] || fail "a failed write: exit $code, want 1"
grep -q "File too large" "$work/full.err" || fail "a failed write: no message ($(cat "$work/full.err"))"
[ -z "$(ls -A "$work/full")" ] || fail "a failed write left files: $(ls -A "$work/full")"
# The same limit with SIGXFSZ's default action: the process is killed mid-write.
set +e
(
    ulimit -f 64
    exec "$floe" analyze -q --parquet-row-group 2000 -o "$work/full/out.parquet" "$tree"
) 2>/dev/null
code=$?
set -e
[ "$code" -gt 128 ] || fail "the size limit should have killed floe (exit $code)"
[ ! -e "$work/full/out.parquet" ] || fail "a killed write left the final name"
pass "failed write: exit 1, '$(head -n 1 "$work/full.err")', nothing left; killed write (exit $code): no final file"

echo "all $checks checks passed"
