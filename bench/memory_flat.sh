#!/usr/bin/env bash
# Peak RSS of `floe analyze` as the input grows with the key cardinality fixed.
#
# Generates (once, cached under MEM_DIR) gzip trees of about 100 MB, 1 GB and 4 GB of
# uncompressed text with the same seed and the SAME time span (--hours), so more input means
# more records per hour, not more hours (and so not more windows). Then, for each size, runs
#   floe analyze TREE/AWSLogs --window 1h --by protocol,action      (protocols x actions x hours)
#   floe analyze TREE/AWSLogs --window 1h --by dstport,protocol     (<= 65536 ports x protos x hours)
# under /usr/bin/time, and prints input MB, records, groups, seconds, MB/s and peak RSS, a
# verdict on whether the largest run's peak RSS is within 10% (or SLACK_MB) of the smallest's
# (for a key whose group count still differs, dstport, also from the next-to-largest size, where
# it has saturated), and a cross-check that the output's flows column sums to truth.json's
# record count (exit 1 if not; the verdicts themselves do not change the exit status).
# Once the trees exist a run takes about 1.5-2 minutes on 2 cores.
#
# Usage: bench/memory_flat.sh
# Environment:
#   BUILD=build/release   build dir holding tools/floe and tools/floe-gen (copied to a private
#                         temporary dir first, so a concurrent rebuild cannot change them)
#   MEM_DIR=/tmp/floe-mem where the generated trees are cached
#   SIZES="100M 1G 4G"    generator --size values, smallest first
#   SEED=42 HOURS=24      generator seed and time span (the same for every size)
#   GEN_THREADS=2         generator threads
#   REPS=3                runs per size and key (the table shows the median time and the
#                         largest peak RSS over the runs)
#   THREADS=              floe --threads (empty: floe's default, one per core)
#   THREADS1=0            1: also run the fixed key with --threads 1 (diagnosis)
#   TRACE=0               1: sample /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile) every
#                         0.1 s into SIZE.KEY.rN.rss in the scratch dir (use with KEEP=1)
#   SLACK_MB=4            absolute slack of the verdict, besides the 10%
#   KEEP=0                1: keep the scratch dir (/tmp/floe-memflat.*: stats, times, traces)
#   DETECT=0              1: every run with --detect too (the detectors' state: evidence tables,
#                         probe log, Beaconing's connection starts), same verdicts
#   SPANS=                "4 16 64": instead of SIZES, trees of growing time spans (hours) at
#                         one rate (RATE of text an hour): more input means more hours, the
#                         same records per hour. With DETECT=1 this is the detectors' case:
#                         they close windows as the files' hours pass, so their memory should
#                         follow the rate, not the span. Only the protocol,action key is run
#                         (its groups grow with the hours, a handful an hour).
#   RATE=25M              text per hour for SPANS
set -euo pipefail

BUILD=${BUILD:-build/release}
MEM_DIR=${MEM_DIR:-/tmp/floe-mem}
SIZES=${SIZES:-"100M 1G 4G"}
SEED=${SEED:-42}
HOURS=${HOURS:-24}
GEN_THREADS=${GEN_THREADS:-2}
REPS=${REPS:-3}
THREADS=${THREADS:-}
THREADS1=${THREADS1:-0}
TRACE=${TRACE:-0}
SLACK_MB=${SLACK_MB:-4}
KEEP=${KEEP:-0}
DETECT=${DETECT:-0}
SPANS=${SPANS:-}
RATE=${RATE:-25M}

die() { echo "memory_flat: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for b in floe floe-gen; do
    [ -x "$BUILD/tools/$b" ] || die "$BUILD/tools/$b not found (build first, or set BUILD)"
done
command -v jq >/dev/null || die "jq is needed"
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing GNU time (apt-get install time)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null ||
            { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null; }
    fi
    [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed: apt-get install time"
fi

# Private copies of the binaries: a rebuild by someone else must not change them mid-run.
work=$(mktemp -d /tmp/floe-memflat.XXXXXX)
# shellcheck disable=SC2317 # called by the trap
cleanup() { if [ "$KEEP" = 1 ]; then echo "scratch kept in $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT
cp "$BUILD/tools/floe" "$BUILD/tools/floe-gen" "$work/"
FLOE=$work/floe
GEN=$work/floe-gen

# --- 1. Data --------------------------------------------------------------------------
mkdir -p "$MEM_DIR"
to_bytes() { # 100M -> 100000000 (K/M/G/T powers of 1000, as floe-gen reads them)
    awk -v s="$1" 'BEGIN { n = s + 0; u = toupper(substr(s, length(s)));
        m = u == "K" ? 1e3 : u == "M" ? 1e6 : u == "G" ? 1e9 : u == "T" ? 1e12 : 1;
        printf "%.0f", n * m }'
}
# Trees by label: a size (SIZES), or hN for N hours at RATE (SPANS).
if [ -n "$SPANS" ]; then
    SIZES=""
    for h in $SPANS; do SIZES="${SIZES:+$SIZES }h$h"; done
fi
size_of() { if [ -n "$SPANS" ]; then echo $(($(to_bytes "$RATE") * ${1#h})); else to_bytes "$1"; fi; }
hours_of() { if [ -n "$SPANS" ]; then echo "${1#h}"; else echo "$HOURS"; fi; }
tree_of() {
    if [ -n "$SPANS" ]; then echo "$MEM_DIR/gz-seed$SEED-rate$RATE-$1"; else echo "$MEM_DIR/gz-seed$SEED-h$HOURS-$1"; fi
}

need_mb=0
for s in $SIZES; do
    [ -s "$(tree_of "$s")/truth.json" ] && continue
    # gzip level 6 of this text is ~5-8x smaller; budget text/4 plus 10% headroom.
    need_mb=$((need_mb + $(size_of "$s") * 11 / 40000000 + 10))
done
if [ "$need_mb" -gt 0 ]; then
    avail_mb=$(df -Pm "$MEM_DIR" | awk 'NR == 2 { print $4 }')
    echo "disk: need about $need_mb MB under $MEM_DIR for the trees, $avail_mb MB free" >&2
    [ "$avail_mb" -ge "$need_mb" ] ||
        die "not enough free space under $MEM_DIR ($avail_mb MB free, ~$need_mb MB needed); set MEM_DIR"
fi

gen_total=$(now)
for s in $SIZES; do
    tree=$(tree_of "$s")
    if [ -s "$tree/truth.json" ] && [ -d "$tree/AWSLogs" ]; then
        echo "tree $s: cached in $tree" >&2
        continue
    fi
    rm -rf "$tree" "$tree.partial" # an interrupted generation leaves no truth.json
    echo "tree $s: generating (gzip, seed $SEED, $(hours_of "$s") h, $GEN_THREADS threads)..." >&2
    t0=$(now)
    "$GEN" -o "$tree.partial" --seed "$SEED" --size "$(size_of "$s")" --hours "$(hours_of "$s")" --codec gzip \
        --threads "$GEN_THREADS" >&2
    mv "$tree.partial" "$tree"
    echo "tree $s: generated in $(elapsed "$t0") s, $(du -sm "$tree" | cut -f1) MB on disk" >&2
done
echo "generation step: $(elapsed "$gen_total") s" >&2

# --- 2. Runs --------------------------------------------------------------------------
trace_rss() { # TIME_PID OUT: sample the floe child's VmRSS (kB) every 0.1 s
    local tpid=$1 out=$2 cpid="" t0
    t0=$(now)
    while kill -0 "$tpid" 2>/dev/null; do
        [ -n "$cpid" ] || cpid=$(pgrep -P "$tpid" 2>/dev/null | sed -n 1p || true)
        if [ -n "$cpid" ] && [ -r "/proc/$cpid/status" ]; then
            awk -v t="$(elapsed "$t0")" '/^(VmRSS|VmHWM|RssAnon|RssFile):/ { v[$1] = $2 }
                END { if (length(v)) printf "%s %s %s %s %s\n", t, v["VmRSS:"], v["VmHWM:"],
                      v["RssAnon:"], v["RssFile:"] }' "/proc/$cpid/status" 2>/dev/null >>"$out" || true
        fi
        sleep 0.1
    done
}

# One run: LABEL TREE WINDOW BY [extra floe args...]; appends "label sec rss_kb" to runs.txt
run_one() {
    local label=$1 tree=$2 window=$3 by=$4
    shift 4
    local out=$work/$label.csv stats=$work/$label.stats.json tf=$work/$label.time
    local -a thr=()
    [ -n "$THREADS" ] && thr=(--threads "$THREADS")
    [ "$DETECT" = 1 ] && thr+=(--detect)
    local rc=0
    if [ "$TRACE" = 1 ]; then
        echo "# t_s VmRSS_kB VmHWM_kB RssAnon_kB RssFile_kB" >"$work/$label.rss"
        /usr/bin/time -f '%e %M' -o "$tf" "$FLOE" analyze "$tree/AWSLogs" --window "$window" \
            --by "$by" -o "$out" -q --stats "$stats" "${thr[@]}" "$@" &
        local tpid=$!
        trace_rss "$tpid" "$work/$label.rss" &
        local spid=$!
        wait "$tpid" || rc=$?
        wait "$spid" || true
    else
        /usr/bin/time -f '%e %M' -o "$tf" "$FLOE" analyze "$tree/AWSLogs" --window "$window" \
            --by "$by" -o "$out" -q --stats "$stats" "${thr[@]}" "$@" || rc=$?
    fi
    [ "$rc" = 0 ] || die "floe analyze failed (exit $rc) for $label; see $tf and $stats"
    # The time file may carry a "Command exited..." line first; the figures are the last line.
    read -r sec rss_kb < <(sed -n '$p' "$tf")
    # Cross-check: the flows column sums to the generator's record count.
    local want got
    want=$(jq -r .totals.records "$tree/truth.json")
    got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "flows") c = i; next }
                   { s += $c } END { printf "%.0f", s }' "$out")
    local groups
    groups=$(jq -r .groups "$stats")
    echo "$label $sec $rss_kb $got $want $groups" >>"$work/runs.txt"
    [ "$got" = "$want" ] || echo "memory_flat: $label: flows sum $got != truth records $want" >&2
    rm -f "$out" # the outputs of the dstport runs are large; only the sum matters here
}

echo "floe: $("$FLOE" --version 2>&1 | sed -n 1p); commit $(git -C "$(dirname "$BUILD")/.." rev-parse --short HEAD 2>/dev/null || echo '?') (working tree may differ); binary sha256 $(sha256sum "$FLOE" | cut -c1-12)" >&2
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

keys=("protocol,action" "dstport,protocol")
[ -n "$SPANS" ] && keys=("protocol,action")
variants=()
for k in "${keys[@]}"; do variants+=("$k|"); done
[ "$THREADS1" = 1 ] && variants+=("protocol,action|1")

: >"$work/runs.txt"
run_total=$(now)
for s in $SIZES; do
    tree=$(tree_of "$s")
    # Warm the page cache so the first run does not pay for the disk.
    find "$tree/AWSLogs" -type f -print0 | xargs -0 cat >/dev/null
    for v in "${variants[@]}"; do
        by=${v%|*} t1=${v#*|}
        extra=()
        [ -n "$t1" ] && extra=(--threads "$t1")
        for r in $(seq 1 "$REPS"); do
            label="$s.${by/,/_}${t1:+.t$t1}.r$r"
            run_one "$label" "$tree" 1h "$by" "${extra[@]}"
            echo "  $label: $(sed -n '$p' "$work/runs.txt" | awk '{ printf "%s s, peak RSS %.1f MB, %s groups", $2, $3 / 1000, $6 }')" >&2
        done
    done
done
echo "runs step: $(elapsed "$run_total") s" >&2

# --- 3. Table and verdict -------------------------------------------------------------
echo
if [ -n "$SPANS" ]; then
    echo "floe analyze --window 1h$([ "$DETECT" = 1 ] && echo ' --detect'), gzip trees (seed $SEED, $RATE of text an hour, $SPANS hours), REPS=$REPS, threads ${THREADS:-default}"
else
    echo "floe analyze --window 1h$([ "$DETECT" = 1 ] && echo ' --detect'), gzip trees (seed $SEED, $HOURS h, same span for every size), REPS=$REPS, threads ${THREADS:-default}"
fi
printf '%-6s %-24s %9s %11s %9s %8s %8s %10s %17s %s\n' size key "input MB" records groups \
    "sec(med)" "MB/s" "RSS MB" "RSS MB min..max" "flows=truth"
declare -A rss_of groups_of
for v in "${variants[@]}"; do
    by=${v%|*} t1=${v#*|}
    for s in $SIZES; do
        tree=$(tree_of "$s")
        text=$(jq -r .totals.text_bytes "$tree/truth.json")
        pat="^$s\\.${by/,/_}${t1:+\\.t$t1}\\.r[0-9]+ "
        row=$(grep -E "$pat" "$work/runs.txt" | awk -v text="$text" '
            { n++; sec[n] = $2; rss[n] = $3; ok = ok && ($4 == $5); if (n == 1) ok = ($4 == $5)
              recs = $5; groups = $6 }
            END { # median of the times (insertion sort), min and max of the peak RSS
                for (i = 2; i <= n; i++) { x = sec[i]; for (j = i - 1; j >= 1 && sec[j] > x; j--) sec[j + 1] = sec[j]; sec[j + 1] = x }
                med = n % 2 ? sec[(n + 1) / 2] : (sec[n / 2] + sec[n / 2 + 1]) / 2
                lo = hi = rss[1]; for (i = 2; i <= n; i++) { if (rss[i] < lo) lo = rss[i]; if (rss[i] > hi) hi = rss[i] }
                printf "%.1f %d %d %.2f %.0f %.1f %.1f %.1f %s\n", text / 1e6, recs, groups, med,
                    (med > 0 ? text / 1e6 / med : 0), hi / 1000, lo / 1000, hi / 1000, (ok ? "yes" : "NO") }')
        read -r mb recs groups med mbs hi lo hi2 ok <<<"$row"
        rss_of["$by|$t1|$s"]=$hi
        groups_of["$by|$t1|$s"]=$groups
        printf '%-6s %-24s %9s %11s %9s %8s %8s %10s %17s %s\n' "$s" "$by${t1:+ (-t $t1)}" "$mb" \
            "$recs" "$groups" "$med" "$mbs" "$hi" "$lo..$hi2" "$ok"
    done
done

echo
read -r -a sz <<<"$SIZES"
small=${sz[0]} big=${sz[${#sz[@]}-1]}
verdict_rc_cross=0
verdict() { # KEY_LABEL VARIANT FROM_SIZE TO_SIZE
    local a=${rss_of["$2|$3"]} b=${rss_of["$2|$4"]} ga=${groups_of["$2|$3"]} gb=${groups_of["$2|$4"]}
    awk -v a="$a" -v b="$b" -v ga="$ga" -v gb="$gb" -v slack="$SLACK_MB" -v key="$1" -v s="$3" -v l="$4" 'BEGIN {
        d = b - a; pct = a > 0 ? 100 * d / a : 0
        flat = (b <= a * 1.10) || (d <= slack)
        why = b <= a * 1.10 ? "FLAT (within 10%)" : "FLAT (within " slack " MB)"
        printf "verdict %-28s peak RSS %s: %.1f MB -> %s: %.1f MB (%+.1f MB, %+.1f%%; groups %d -> %d): %s\n", key ":", s, a, l, b, d, pct, ga, gb,
            (flat ? why : ga != gb ? "GROWS (with the number of groups)" : "GROWS")
    }'
}
for v in "${variants[@]}"; do
    by=${v%|*} t1=${v#*|}
    verdict "$by${t1:+ (-t $t1)}" "$by|$t1" "$small" "$big"
    # A key whose cardinality is still filling up at the small size (dstport): compare again
    # from the next-to-largest size, where the number of groups has (nearly) saturated.
    if [ "${#sz[@]}" -gt 2 ] && [ "${groups_of["$by|$t1|$small"]}" != "${groups_of["$by|$t1|$big"]}" ]; then
        verdict "$by${t1:+ (-t $t1)}" "$by|$t1" "${sz[${#sz[@]}-2]}" "$big"
    fi
done
if grep -qvE '^[^ ]+ [^ ]+ [^ ]+ ([0-9]+) \1 ' "$work/runs.txt"; then
    echo "cross-check: some run's flows sum differs from truth.json .totals.records (see above)"
    verdict_rc_cross=1
else
    echo "cross-check: every run's flows column sums to truth.json .totals.records"
fi
# The verdicts are informative (exit 0 either way); a lost or extra record is an error.
exit "$verdict_rc_cross"
