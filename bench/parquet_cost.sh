#!/usr/bin/env bash
# bench/parquet_cost.sh: what writing the aggregate table costs, as Parquet and as CSV, on
# bench/compare.sh's gzip data set (run compare.sh once first; it generates and caches it), and
# DuckDB writing the very same table to Parquet and CSV as a peer, measured in the same run.
#
#   bench/parquet_cost.sh                  # REPS=3, BENCH_DIR=/tmp/floe-compare
#   REPS=5 BENCH_DIR=/data/fc bench/parquet_cost.sh
#
# floe: `floe analyze TREE -o OUT.{parquet,csv} --stats S.json` with the default key and
# 10-minute windows (the main job); `output_seconds` in S.json is the time from the sorted
# table to the renamed file, `seconds` the run before it. The Parquet share is
# output_seconds / (seconds + output_seconds). DuckDB: the table floe wrote as CSV is loaded
# into memory (not timed), then `COPY t TO ... (FORMAT parquet, COMPRESSION zstd)` and
# `(FORMAT csv)` are timed, threads = cores. Outputs go to /dev/shm when it exists. Medians.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/floe-compare}
REPS=${REPS:-3}
FLOE=${BUILD:-build/release}/tools/floe
TREE=$BENCH_DIR/gzip/AWSLogs
OUT=$BENCH_DIR/out
[ -d /dev/shm ] && OUT=/dev/shm/floe-parquet-cost
[ -d "$TREE" ] || { echo "parquet_cost.sh: no $TREE; run bench/compare.sh first" >&2; exit 1; }
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
THREADS=$(nproc)

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for ext in parquet csv; do : >"$OUT/$ext.out"; : >"$OUT/$ext.total"; done
# The order alternates: on this kind of VM a run after one that freed hundreds of MB (the CSV)
# pays to fault fresh memory back in, which would otherwise land on one format only.
for ((i = 0; i < REPS; i++)); do
    order="parquet csv"
    [ $((i % 2)) = 1 ] && order="csv parquet"
    for ext in $order; do
        rm -f "$OUT"/table.* # no run pays for the previous one's file
        "$FLOE" analyze -q -o "$OUT/table.$ext" --stats "$OUT/s.json" "$TREE"
        jq -r '.output_seconds' "$OUT/s.json" >>"$OUT/$ext.out"
        jq -r '.seconds + .output_seconds' "$OUT/s.json" >>"$OUT/$ext.total"
        stat -c %s "$OUT/table.$ext" >"$OUT/$ext.size"
    done
done
"$FLOE" analyze -q -o "$OUT/table.parquet" --stats "$OUT/s.json" "$TREE" # kept for DuckDB
groups=$(jq -r '.groups' "$OUT/s.json")
printf 'floe analyze (default key, 10-minute windows): %s groups, median of %s runs\n' "$groups" "$REPS"
for ext in parquet csv; do
    o=$(median <"$OUT/$ext.out") t=$(median <"$OUT/$ext.total")
    printf '  %-8s writing %.3f s of %.3f s end to end (%.1f%%), file %s MB\n' "$ext" "$o" "$t" \
        "$(awk -v o="$o" -v t="$t" 'BEGIN { print 100 * o / t }')" \
        "$(awk -v b="$(cat "$OUT/$ext.size")" 'BEGIN { printf "%.1f", b / 1e6 }')"
done

NODE_DIR=$BENCH_DIR/node
tests/parquet_readers.sh "$NODE_DIR"
node - "$NODE_DIR" "$OUT" "$THREADS" "$REPS" <<'JS'
const [nodeDir, out, threads, reps] = process.argv.slice(2);
const { createRequire } = await import('node:module');
const require = createRequire(nodeDir + '/');
const { DuckDBInstance } = require('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:', { threads });
const c = await db.connect();
await c.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${out}/table.parquet')`);
const times = { parquet: [], csv: [] };
for (let i = 0; i < Number(reps); i++) {
  for (const fmt of ['parquet', 'csv']) {
    const t0 = performance.now();
    await c.run(`COPY t TO '${out}/duck.${fmt}' (FORMAT ${fmt}${fmt === 'parquet' ? ', COMPRESSION zstd' : ''})`);
    times[fmt].push((performance.now() - t0) / 1000);
  }
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const { statSync } = await import('node:fs');
for (const fmt of ['parquet', 'csv'])
  console.log(`  DuckDB COPY of the same table to ${fmt}: ${median(times[fmt]).toFixed(3)} s, file ${(statSync(`${out}/duck.${fmt}`).size / 1e6).toFixed(1)} MB`);
JS
