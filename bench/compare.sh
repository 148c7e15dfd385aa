#!/usr/bin/env bash
# bench/compare.sh: end-to-end side-by-side benchmark of floe's engine against decompression
# alone and against DuckDB, on the same generated flow-log trees.
#
# Run (from anywhere; needs build/release/tools/floe-gen, i.e. a release build):
#   bench/compare.sh                       # REPS=3, data cached in /tmp/floe-compare
#   REPS=5 BENCH_DIR=/data/fc bench/compare.sh
# Environment:
#   BENCH_DIR        cache for the data, the DuckDB node client and the built helpers
#                    (default /tmp/floe-compare)
#   REPS             timed repetitions of every command; the median is reported (default 3)
#   BENCH_SIZE       floe-gen --size, uncompressed text (default 640M: ~602 MB of text)
#   BENCH_SEED       floe-gen --seed (default 7)
#   BUILD            build directory with tools/floe and tools/floe-gen (default build/release)
#   OUT_DIR          where query results are written (default /dev/shm/floe-compare-out when
#                    /dev/shm exists, else BENCH_DIR/out); removed at the end unless KEEP_OUT=1
#   DUCKDB_Q1        q1 (default: floe's output columns) or q1-brief (flows, packets, bytes)
#   FULL_CHECK       1 (default) also compares floe's whole Q1 result with DuckDB's (sorted,
#                    ~5 s); 0 compares only row counts
#   INFLATE_COMPARE  1 (default) also runs bench/floe_inflate_compare.c (one-thread ISA-L
#                    streaming vs libdeflate vs zlib), INFLATE_REPS passes (default 5); 0 skips
#
# What it measures. One gzip tree and one zstd tree of the same records (floe-gen, same seed
# and size; their truth.json totals must agree), page-cached (read once before timing). Every
# command below runs REPS times, interleaved (rep 1 of each, then rep 2 of each, ...), and is
# timed as a whole process: wall seconds, and peak RSS from /usr/bin/time -f %M. Every MB/s
# figure is truth.json's totals.text_bytes (uncompressed text, decimal MB) / median seconds.
#   inflate-alone gzip   bench/floe_inflate_all.c: ISA-L inflate of every file on all cores,
#                        output discarded (the floor for any gzip reader on this machine)
#   zstd -dc alone       zstd -dcq, one process per file, as many in parallel as cores
#   gzip -dc alone       the same with gzip -dc (zlib-speed reference; igzip -dc too when the
#                        Debian package isal is installed)
#   DuckDB Q1 / Q2       bench/duckdb_query.mjs (node, @duckdb/node-api, threads = cores),
#                        read_csv over the tree's glob with explicit column types; on gzip
#                        (and, for reference, on zstd)
#   floe Q1 / Q2         build/release/tools/floe analyze, on gzip and on zstd; skipped with a
#                        message while `floe analyze --help` fails:
#     Q1: floe analyze --window 1m --by srcaddr,dstaddr,dstport,protocol,action -o OUT.csv --quiet DIR
#     Q2: floe analyze --window all --by srcaddr --top 10 --order-by bytes -o OUT.csv --quiet DIR
#   Q1: 1-minute windows by srcaddr, dstaddr, dstport, protocol, action (high cardinality,
#       ~3.5 M groups here) -> flows, packets, bytes, accepted, rejected, first_seen,
#       last_seen (DuckDB computes floe's columns too), the full result written to a CSV file.
#   Q2: top 10 srcaddr by bytes over the whole run, written to a CSV file.
# Then a table (median s, MB/s, peak RSS MB), ratios (floe / DuckDB, floe Q1 / inflate
# alone) and cross-checks: DuckDB's and floe's Q2 top 10 (srcaddr, bytes) must be equal, Q1
# row counts must match (and, with FULL_CHECK, every Q1 row), each Q1's flows, packets and
# bytes must add up to truth.json's totals, floe's gzip and zstd results must be
# byte-identical (floe's order is canonical). Any failed check prints MISMATCH and the script
# exits 1. Last, bench/floe_inflate_compare.c (see INFLATE_COMPARE).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-/tmp/floe-compare}
REPS=${REPS:-3}
SIZE=${BENCH_SIZE:-640M}
SEED=${BENCH_SEED:-7}
BUILD=${BUILD:-build/release}
DUCKDB_Q1=${DUCKDB_Q1:-q1}
INFLATE_COMPARE=${INFLATE_COMPARE:-1}
INFLATE_REPS=${INFLATE_REPS:-5}
FULL_CHECK=${FULL_CHECK:-1}
THREADS=$(nproc)
if [ -z "${OUT_DIR:-}" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT_DIR=/dev/shm/floe-compare-out; else OUT_DIR=$BENCH_DIR/out; fi
fi
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
FLOE_GEN=$BUILD/tools/floe-gen
FLOE=$BUILD/tools/floe
NODE_DIR=$BENCH_DIR/node
BIN_DIR=$BENCH_DIR/bin
RES_DIR=$BENCH_DIR/results
MISMATCHES=0

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }
mismatch() {
    printf '\n!!!!!!!! MISMATCH: %s !!!!!!!!\n\n' "$*"
    MISMATCHES=$((MISMATCHES + 1))
}

# --- tools ---------------------------------------------------------------------------------
[ -x "$FLOE_GEN" ] || die "$FLOE_GEN not found: build first (cmake --preset release && cmake --build --preset release)"
for tool in jq cc zstd node; do
    command -v "$tool" >/dev/null || die "$tool not found (./dev.sh setup installs jq, zstd and the compiler; node from Debian's nodejs)"
done
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" -eq 0 ]; then
        log "installing GNU time (apt-get install time)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
    fi
    [ -x /usr/bin/time ] || die "/usr/bin/time (Debian package 'time') is needed for peak RSS"
fi
mkdir -p "$BENCH_DIR" "$BIN_DIR" "$RES_DIR" "$OUT_DIR"
rm -f "$RES_DIR"/*

# --- data ----------------------------------------------------------------------------------
# floe-gen's --size in bytes (K/M/G/T are powers of 1000), to compare with truth.json.
size_bytes=$(awk -v s="$SIZE" 'BEGIN {
    m = 1; u = toupper(substr(s, length(s)))
    if (u == "K") m = 1e3; else if (u == "M") m = 1e6; else if (u == "G") m = 1e9; else if (u == "T") m = 1e12
    if (m > 1) s = substr(s, 1, length(s) - 1)
    printf "%.0f", s * m }')

generate() { # CODEC -> DIR with AWSLogs/ and truth.json, reused when it matches
    local codec=$1 dir=$BENCH_DIR/$1
    if [ -s "$dir/truth.json" ] &&
        [ "$(jq -r '"\(.params.seed) \(.params.size_target) \(.params.codec) \(.totals.files)"' "$dir/truth.json")" = \
          "$SEED $size_bytes $codec $(find "$dir/AWSLogs" -type f 2>/dev/null | wc -l)" ]; then
        log "reusing $dir ($codec, seed $SEED, size $SIZE)"
        return
    fi
    rm -rf "$dir"
    log "generating $dir: floe-gen --seed $SEED --size $SIZE --codec $codec --threads $THREADS"
    local t0=$EPOCHREALTIME
    "$FLOE_GEN" -o "$dir" --seed "$SEED" --size "$SIZE" --codec "$codec" --threads "$THREADS" -q
    log "generated $codec in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
}
generate gzip
generate zstd
GZ=$BENCH_DIR/gzip
ZS=$BENCH_DIR/zstd
if [ "$(jq -c '.totals | del(.stored_bytes)' "$GZ/truth.json")" != "$(jq -c '.totals | del(.stored_bytes)' "$ZS/truth.json")" ]; then
    die "the gzip and zstd trees' truth.json totals differ; remove $BENCH_DIR and rerun"
fi
TEXT_BYTES=$(jq -r '.totals.text_bytes' "$GZ/truth.json")
RECORDS=$(jq -r '.totals.records' "$GZ/truth.json")
TEXT_MB=$(awk -v b="$TEXT_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
if [ "$TEXT_BYTES" -lt 600000000 ]; then
    log "warning: only $TEXT_MB MB of text (the benchmark wants >= 600 MB; raise BENCH_SIZE)"
fi
find "$GZ/AWSLogs" -type f -name '*.gz' | sort > "$BENCH_DIR/gzip.files"
find "$ZS/AWSLogs" -type f -name '*.zst' | sort > "$BENCH_DIR/zstd.files"
log "data: $TEXT_MB MB of text, $RECORDS records, $(wc -l < "$BENCH_DIR/gzip.files") files;" \
    "gzip $(jq -r '.totals.stored_bytes / 1e6 | floor' "$GZ/truth.json") MB, zstd $(jq -r '.totals.stored_bytes / 1e6 | floor' "$ZS/truth.json") MB stored"

# --- DuckDB's node client ------------------------------------------------------------------
duckdb_ok() {
    (cd "$NODE_DIR" 2>/dev/null && node -e "require('@duckdb/node-api')" >/dev/null 2>&1)
}
HAVE_DUCKDB=1
if ! duckdb_ok; then
    log "installing @duckdb/node-api into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    if ! npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error @duckdb/node-api >&2 || ! duckdb_ok; then
        printf '\ncompare.sh: could not install or load @duckdb/node-api with npm (offline? registry\n' >&2
        printf 'unreachable?). The DuckDB rows are skipped. Retry by hand with:\n' >&2
        printf '  npm install --prefix %q @duckdb/node-api\n\n' "$NODE_DIR" >&2
        HAVE_DUCKDB=0
    fi
fi
[ "$HAVE_DUCKDB" = 1 ] && log "DuckDB node client $(cd "$NODE_DIR" && node -p "require('@duckdb/node-api/package.json').version")"

# --- helpers built from bench/*.c -----------------------------------------------------------
build_c() { # NAME LIBS...
    local name=$1
    shift
    if [ ! -x "$BIN_DIR/$name" ] || [ "bench/$name.c" -nt "$BIN_DIR/$name" ]; then
        cc -O2 -std=c11 -pthread -o "$BIN_DIR/$name" "bench/$name.c" "$@" ||
            die "cannot build bench/$name.c (needs libisal-dev, libdeflate-dev; ./dev.sh setup)"
    fi
}
build_c floe_inflate_all -lisal
if [ -e /usr/include/zlib.h ]; then
    build_c floe_inflate_compare -lisal -ldeflate -lz
else
    build_c floe_inflate_compare -DFLOE_NO_ZLIB -lisal -ldeflate
fi

# --- floe ----------------------------------------------------------------------------------
HAVE_FLOE=1
if ! "$FLOE" analyze --help >/dev/null 2>&1; then
    HAVE_FLOE=0
    printf '\ncompare.sh: "%s analyze --help" failed: floe analyze is not built yet,\n' "$FLOE" >&2
    printf 'so the floe rows are skipped. Rebuild (cmake --build --preset release) once it exists.\n\n' >&2
fi

# --- timing ----------------------------------------------------------------------------------
# measure NAME CMD...: one timed run; appends "seconds rss_kb" to RES_DIR/NAME.times, keeps
# the command's stdout in RES_DIR/NAME.out and stderr in RES_DIR/NAME.err.
measure() {
    local name=$1
    shift
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$RES_DIR/$name.rss" "$@" >"$RES_DIR/$name.out" 2>"$RES_DIR/$name.err" || rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" -ne 0 ]; then
        printf 'compare.sh: %s failed (exit %s):\n' "$name" "$rc" >&2
        tail -5 "$RES_DIR/$name.err" >&2
        echo "$name" >> "$RES_DIR/failed"
        return 0
    fi
    printf '%s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" \
        "$(tail -1 "$RES_DIR/$name.rss")" >> "$RES_DIR/$name.times"
    # DuckDB rows: also keep the query's own time (without node start-up and module load)
    if [[ $name == DuckDB* ]]; then
        jq -r '.seconds' "$RES_DIR/$name.out" >> "$RES_DIR/$name.query" 2>/dev/null || true
    fi
}

inflate_all() { "$BIN_DIR/floe_inflate_all" -t "$THREADS" < "$BENCH_DIR/gzip.files"; }
zstd_all() { xargs -d '\n' -n 1 -P "$THREADS" zstd -dcq < "$BENCH_DIR/zstd.files" > /dev/null; }
gzip_all() { xargs -d '\n' -n 1 -P "$THREADS" gzip -dc < "$BENCH_DIR/gzip.files" > /dev/null; }
igzip_all() { xargs -d '\n' -n 1 -P "$THREADS" igzip -dc < "$BENCH_DIR/gzip.files" > /dev/null; }
export -f inflate_all zstd_all gzip_all igzip_all
export BIN_DIR BENCH_DIR THREADS

DUCK=(node "$ROOT/bench/duckdb_query.mjs" --node-dir "$NODE_DIR" --threads "$THREADS")
duck() { # QUERY TREE EXT OUT (untimed)
    "${DUCK[@]}" --query "$1" --input "$2" --ext "$3" --out "$4"
}

ROWS=("inflate-alone gzip" "zstd -dc alone" "gzip -dc alone")
command -v igzip >/dev/null && ROWS+=("igzip -dc alone")
[ "$HAVE_DUCKDB" = 1 ] && ROWS+=("DuckDB Q1 gzip" "DuckDB Q2 gzip" "DuckDB Q1 zstd" "DuckDB Q2 zstd")
[ "$HAVE_FLOE" = 1 ] && ROWS+=("floe Q1 gzip" "floe Q2 gzip" "floe Q1 zstd" "floe Q2 zstd")
key() { tr ' ' '_' <<< "$1"; } # row label -> file name

run_row() { # LABEL
    local label=$1 k
    k=$(key "$label")
    case $label in
    "inflate-alone gzip") measure "$k" bash -c inflate_all ;;
    "zstd -dc alone") measure "$k" bash -c zstd_all ;;
    "gzip -dc alone") measure "$k" bash -c gzip_all ;;
    "igzip -dc alone") measure "$k" bash -c igzip_all ;;
    "DuckDB Q1 gzip") measure "$k" "${DUCK[@]}" --query "$DUCKDB_Q1" --input "$GZ" --ext log.gz --out "$OUT_DIR/duckdb_q1_gzip.csv" ;;
    "DuckDB Q2 gzip") measure "$k" "${DUCK[@]}" --query q2 --input "$GZ" --ext log.gz --out "$OUT_DIR/duckdb_q2_gzip.csv" ;;
    "DuckDB Q1 zstd") measure "$k" "${DUCK[@]}" --query "$DUCKDB_Q1" --input "$ZS" --ext log.zst --out "$OUT_DIR/duckdb_q1_zstd.csv" ;;
    "DuckDB Q2 zstd") measure "$k" "${DUCK[@]}" --query q2 --input "$ZS" --ext log.zst --out "$OUT_DIR/duckdb_q2_zstd.csv" ;;
    "floe Q1 gzip") measure "$k" "$FLOE" analyze --window 1m --by srcaddr,dstaddr,dstport,protocol,action \
        -o "$OUT_DIR/floe_q1_gzip.csv" --quiet "$GZ" ;;
    "floe Q2 gzip") measure "$k" "$FLOE" analyze --window all --by srcaddr --top 10 --order-by bytes \
        -o "$OUT_DIR/floe_q2_gzip.csv" --quiet "$GZ" ;;
    "floe Q1 zstd") measure "$k" "$FLOE" analyze --window 1m --by srcaddr,dstaddr,dstport,protocol,action \
        -o "$OUT_DIR/floe_q1_zstd.csv" --quiet "$ZS" ;;
    "floe Q2 zstd") measure "$k" "$FLOE" analyze --window all --by srcaddr --top 10 --order-by bytes \
        -o "$OUT_DIR/floe_q2_zstd.csv" --quiet "$ZS" ;;
    esac
}

log "page-caching the inputs"
cat "$BENCH_DIR/gzip.files" "$BENCH_DIR/zstd.files" | xargs -d '\n' cat > /dev/null
# Node.js and the DuckDB library too, so the first timed DuckDB run does not pay for disk.
[ "$HAVE_DUCKDB" = 1 ] && duck q2 "$GZ" log.gz "$OUT_DIR/warmup.csv" > /dev/null

log "timing ${#ROWS[@]} commands x $REPS reps on $THREADS cores (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
for rep in $(seq 1 "$REPS"); do
    for label in "${ROWS[@]}"; do run_row "$label"; done
    log "rep $rep/$REPS done"
done

# --- table -----------------------------------------------------------------------------------
# median of column 1 (seconds) and of column 2 (RSS KB) of a .times file
median_col() { # FILE COL
    sort -g -k"$2,$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END {
        if (NR == 0) exit 1
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A SECS MBS
printf '\n%s MB of uncompressed text (%s records), %s cores, median of %s runs, load average %s\n' \
    "$TEXT_MB" "$RECORDS" "$THREADS" "$REPS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %9s %9s %9s %9s   %s\n' "command" "median s" "MB/s" "min s" "RSS MB" "all runs (s)"
for label in "${ROWS[@]}"; do
    k=$(key "$label")
    f=$RES_DIR/$k.times
    if [ ! -s "$f" ]; then
        printf '%-20s %9s\n' "$label" "FAILED"
        continue
    fi
    s=$(median_col "$f" 1)
    rss=$(median_col "$f" 2)
    SECS[$label]=$s
    MBS[$label]=$(awk -v b="$TEXT_BYTES" -v s="$s" 'BEGIN { printf "%.0f", b / 1e6 / s }')
    printf '%-20s %9.2f %9s %9.2f %9.0f   %s\n' "$label" "$s" "${MBS[$label]}" \
        "$(sort -g "$f" | head -1 | cut -d' ' -f1)" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
        "$(cut -d' ' -f1 "$f" | tr '\n' ' ')"
done
[ "$HAVE_DUCKDB" = 1 ] || printf '%-20s %s\n' "DuckDB Q1/Q2" "skipped: @duckdb/node-api not available"
[ "$HAVE_FLOE" = 1 ] || printf '%-20s %s\n' "floe Q1/Q2" "skipped: floe analyze not built yet"
for label in "${ROWS[@]}"; do
    f=$RES_DIR/$(key "$label").query
    if [ -s "$f" ]; then
        printf '(%s: the query alone, without node start-up and module load: median %.2f s)\n' \
            "$label" "$(median_col "$f" 1)"
    fi
done

ratio() { # LABEL_A LABEL_B: time(A) / time(B) and throughput(A) / throughput(B)
    local a=$1 b=$2
    if [ -n "${SECS[$a]:-}" ] && [ -n "${SECS[$b]:-}" ]; then
        awk -v a="${SECS[$a]}" -v b="${SECS[$b]}" -v na="$a" -v nb="$b" 'BEGIN {
            printf "  %-18s / %-18s  time %6.2fx   throughput %6.3fx\n", na, nb, a / b, b / a }'
    fi
}
printf '\nratios (time < 1 and throughput > 1 mean the first is faster):\n'
ratio "floe Q1 gzip" "DuckDB Q1 gzip"
ratio "floe Q2 gzip" "DuckDB Q2 gzip"
ratio "floe Q1 zstd" "DuckDB Q1 zstd"
ratio "floe Q2 zstd" "DuckDB Q2 zstd"
ratio "floe Q1 gzip" "inflate-alone gzip"
ratio "floe Q1 zstd" "zstd -dc alone"
ratio "DuckDB Q1 gzip" "inflate-alone gzip"
[ "$HAVE_FLOE" = 1 ] || printf '  (the floe ratios appear once floe analyze exists)\n'

# --- cross-checks ----------------------------------------------------------------------------
# column NAME of a CSV with a header, with its data rows (no quoting in these files)
csv_col() { # FILE NAME...: prints the named columns, comma-separated, header dropped
    awk -F, -v names="${*:2}" 'NR == 1 { n = split(names, want, " ")
            for (i = 1; i <= n; i++) { col[i] = 0; for (j = 1; j <= NF; j++) if ($j == want[i]) col[i] = j
                if (!col[i]) { print "no column " want[i] > "/dev/stderr"; exit 1 } }
            next }
        { line = ""; for (i = 1; i <= n; i++) line = line (i > 1 ? "," : "") $(col[i]); print line }' "$1"
}
TRUTH_SUMS=$(jq -r '.totals | "\(.records) \([.action[].packets] | add) \([.action[].bytes] | add)"' "$GZ/truth.json")
check_flows() { # FILE LABEL: Q1's flows, packets and bytes add up to the truth's totals
    local sums
    sums=$(csv_col "$1" flows packets bytes |
        awk -F, '{ f += $1; p += $2; b += $3 } END { printf "%.0f %.0f %.0f", f, p, b }')
    if [ "$sums" = "$TRUTH_SUMS" ]; then
        printf '  %-24s flows, packets, bytes add up to truth.json (%s): ok\n' "$2" "$TRUTH_SUMS"
    else
        mismatch "$2: flows, packets, bytes add up to $sums, truth.json says $TRUTH_SUMS"
    fi
}
printf '\ncross-checks:\n'
if [ -f "$RES_DIR/failed" ]; then
    mismatch "failed runs: $(sort -u "$RES_DIR/failed" | tr '\n' ' ')"
fi
inflated=$(sed -n 's/.*text_bytes=\([0-9]*\).*/\1/p' "$RES_DIR/inflate-alone_gzip.out" 2>/dev/null || true)
if [ "$inflated" = "$TEXT_BYTES" ]; then
    printf '  %-24s inflated %s bytes = truth.json text_bytes: ok\n' "inflate-alone gzip" "$inflated"
else
    mismatch "floe_inflate_all inflated ${inflated:-?} bytes, truth.json text_bytes is $TEXT_BYTES"
fi
rows() { echo $(($(wc -l < "$1") - 1)); }
if [ "$HAVE_DUCKDB" = 1 ] && [ -s "$OUT_DIR/duckdb_q1_gzip.csv" ]; then
    check_flows "$OUT_DIR/duckdb_q1_gzip.csv" "DuckDB Q1 gzip"
    if cmp -s "$OUT_DIR/duckdb_q2_gzip.csv" "$OUT_DIR/duckdb_q2_zstd.csv"; then
        printf '  %-24s gzip and zstd results identical: ok\n' "DuckDB Q2"
    else
        mismatch "DuckDB Q2 differs between the gzip and the zstd tree"
    fi
    if [ "$(rows "$OUT_DIR/duckdb_q1_gzip.csv")" = "$(rows "$OUT_DIR/duckdb_q1_zstd.csv")" ]; then
        printf '  %-24s gzip and zstd row counts equal (%s): ok\n' "DuckDB Q1" "$(rows "$OUT_DIR/duckdb_q1_gzip.csv")"
    else
        mismatch "DuckDB Q1 row counts differ between the gzip and the zstd tree"
    fi
fi
if [ "$HAVE_FLOE" = 1 ]; then
    for c in gzip zstd; do
        if [ -s "$OUT_DIR/floe_q1_$c.csv" ]; then check_flows "$OUT_DIR/floe_q1_$c.csv" "floe Q1 $c"; fi
    done
    for q in q1 q2; do
        if cmp -s "$OUT_DIR/floe_${q}_gzip.csv" "$OUT_DIR/floe_${q}_zstd.csv"; then
            printf '  %-24s gzip and zstd results identical: ok\n' "floe ${q^^}"
        elif cmp -s <(sort "$OUT_DIR/floe_${q}_gzip.csv") <(sort "$OUT_DIR/floe_${q}_zstd.csv"); then
            mismatch "floe ${q^^}: the gzip and zstd trees give the same rows in a different order"
        else
            mismatch "floe ${q^^}: the gzip and zstd trees give different results"
        fi
    done
    if [ "$HAVE_DUCKDB" = 1 ]; then
        d_top=$(csv_col "$OUT_DIR/duckdb_q2_gzip.csv" srcaddr bytes)
        f_top=$(csv_col "$OUT_DIR/floe_q2_gzip.csv" srcaddr bytes || true)
        if [ "$d_top" = "$f_top" ]; then
            printf '  %-24s top 10 (srcaddr, bytes) equal to DuckDB: ok\n' "floe Q2"
        else
            mismatch "Q2 top 10 differs (srcaddr,bytes): DuckDB vs floe"
            diff <(printf '%s\n' "$d_top") <(printf '%s\n' "$f_top") | sed 's/^/    /' || true
        fi
        d_rows=$(rows "$OUT_DIR/duckdb_q1_gzip.csv")
        f_rows=$(rows "$OUT_DIR/floe_q1_gzip.csv")
        if [ "$d_rows" = "$f_rows" ]; then
            printf '  %-24s row count equal to DuckDB (%s): ok\n' "floe Q1" "$f_rows"
        else
            mismatch "Q1 row counts differ: DuckDB $d_rows, floe $f_rows"
        fi
        # Whole Q1 results: the same columns and text formats, DuckDB's in no particular order.
        if [ "$FULL_CHECK" = 1 ] && [ "$DUCKDB_Q1" = q1 ]; then
            LC_ALL=C sort -S 1G "$OUT_DIR/duckdb_q1_gzip.csv" > "$OUT_DIR/duckdb_q1.sorted"
            LC_ALL=C sort -S 1G "$OUT_DIR/floe_q1_gzip.csv" > "$OUT_DIR/floe_q1.sorted"
            if cmp -s "$OUT_DIR/duckdb_q1.sorted" "$OUT_DIR/floe_q1.sorted"; then
                printf '  %-24s every row equal to DuckDB'"'"'s (both sorted): ok\n' "floe Q1"
            else
                mismatch "Q1 results differ between DuckDB and floe (first differing rows below)"
                diff "$OUT_DIR/duckdb_q1.sorted" "$OUT_DIR/floe_q1.sorted" | head -10 | sed 's/^/    /' || true
            fi
            rm -f "$OUT_DIR/duckdb_q1.sorted" "$OUT_DIR/floe_q1.sorted"
        fi
    fi
fi

# --- Task B: which inflater for a streaming reader ---------------------------------------------
if [ "$INFLATE_COMPARE" = 1 ]; then
    printf '\none-thread gzip inflate, files in memory, output discarded (bench/floe_inflate_compare.c):\n'
    "$BIN_DIR/floe_inflate_compare" -r "$INFLATE_REPS" < "$BENCH_DIR/gzip.files" ||
        mismatch "floe_inflate_compare failed"
fi

[ "${KEEP_OUT:-0}" = 1 ] || rm -rf "$OUT_DIR"
if [ "$MISMATCHES" -gt 0 ]; then
    printf '\n%s MISMATCH(ES): see above\n' "$MISMATCHES"
    exit 1
fi
printf '\nall checks passed\n'
