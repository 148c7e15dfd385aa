#!/usr/bin/env bash
# floe analyze end to end, on generated trees:
#  - the run's totals equal the generator's truth exactly;
#  - the aggregate table equals an independent awk aggregation of the decompressed text
#    (several keys, windows, prefixes, filters, top N);
#  - the output bytes are identical for 1, 2 and 8 threads, io_uring and pread, tiny and large
#    reads, and gzip, zstd and plain copies of the same data, as CSV and as JSON Lines;
#  - standard input, a truncated archive in the tree, and usage errors behave as documented.
# usage: test_analyze.sh FLOE_GEN FLOE [quick]   ("quick": the TSan run, fewer variations)
set -euo pipefail
gen=$1
floe=$2
quick=${3:-}
export QUICK=$quick # read by awk below
work=$(mktemp -d)
uring_switch=/proc/sys/kernel/io_uring_disabled
uring_was=
cleanup() {
    if [ -n "$uring_was" ]; then echo "$uring_was" >"$uring_switch"; fi
    rm -rf "$work"
}
trap cleanup EXIT
export LC_ALL=C

# shellcheck source=floe_test_lib.sh
. "$(dirname "$0")/floe_test_lib.sh"

size=24M
[ "$quick" = quick ] && size=4M
for codec in gzip zstd plain; do
    "$gen" -o "$work/$codec" --seed 11 --size "$size" --codec "$codec" --threads 2 -q
done
"$gen" -o "$work/v5" --seed 12 --size 6M --format v5 --codec zstd --hourly -q
tree=$work/gzip/AWSLogs

# ---- totals against the truth --------------------------------------------------------------
"$floe" analyze "$tree" -o "$work/default.csv" -q --stats "$work/stats.json"
truth=$work/gzip/truth.json
for pair in "files:.totals.files" "headers:.totals.header_lines" "records:.totals.records"; do
    name=${pair%%:*}
    want=$(jq "${pair#*:}" "$truth")
    got=$(jq ".$name" "$work/stats.json")
    [ "$got" = "$want" ] || fail "$name: floe $got, truth $want"
done
for action in ACCEPT REJECT -; do
    for m in records packets bytes; do
        want=$(jq ".totals.action[\"$action\"].$m" "$truth")
        got=$(jq ".actions[\"$action\"].$m" "$work/stats.json")
        [ "$got" = "$want" ] || fail "$action $m: floe $got, truth $want"
    done
done
for s in OK NODATA SKIPDATA; do
    want=$(jq ".totals.log_status[\"$s\"] // 0" "$truth")
    got=$(jq ".log_status[\"$s\"]" "$work/stats.json")
    [ "$got" = "$want" ] || fail "log-status $s: floe $got, truth $want"
done
[ "$(jq .bad_lines "$work/stats.json")" = 0 ] || fail "bad lines in a clean tree"
[ "$(jq .records_kept "$work/stats.json")" = "$(jq .totals.records "$truth")" ] ||
    fail "records_kept without filters"
pass "totals equal truth.json (files, headers, records, per action and log status)"

# ---- a person at a terminal: progress line and closing summary -------------------------------
"$floe" analyze "$tree" --by dstport -o "$work/p.csv" --progress 2>&1 >/dev/null |
    sed 's/\x1b\[K//g' | tr '\r' '\n' >"$work/progress.err" # as the terminal would show it
grep -q "files [0-9]*/[0-9]*  [0-9.]* MB read  [0-9.]* MB/s  ETA" "$work/progress.err" ||
    fail "--progress printed no progress line"
for line in "^files " "^records " "^time .* MB/s" "^layout " "^groups "; do
    grep -q "$line" "$work/progress.err" || fail "summary lacks '$line'"
done
"$floe" analyze "$tree" --by dstport -o "$work/p.csv" -q 2>"$work/quiet.err"
[ ! -s "$work/quiet.err" ] || fail "-q still printed to standard error"
pass "progress line (forced with --progress off a TTY) and closing summary; -q silences both"

# ---- the table against awk -------------------------------------------------------------------
# ref_agg WINDOW_SECONDS KEYS ACTION_FILTER < text: the reference aggregation. KEYS are field
# names, an address optionally with /N (IPv4 prefix). Prints rows as floe's CSV with
# --time-format unix, without the header.
ref_agg() {
    awk -v W="$1" -v keys="$2" -v want_action="$3" '
    function mask4(a, n,   o, i, v, bits, out) {
        split(a, o, ".")
        out = ""
        for (i = 1; i <= 4; i++) {
            bits = n - (i - 1) * 8
            if (bits >= 8) v = o[i]
            else if (bits <= 0) v = 0
            else v = int(o[i] / 2 ^ (8 - bits)) * 2 ^ (8 - bits)
            out = out (i > 1 ? "." : "") v
        }
        return out "/" n
    }
    BEGIN { nk = split(keys, key, ","); for (k = 1; k <= nk; k++) {
                pfx[k] = -1
                if (index(key[k], "/")) { split(key[k], kp, "/"); key[k] = kp[1]; pfx[k] = kp[2] } } }
    $1 == "version" {
        delete col; for (i = 1; i <= NF; i++) col[$i] = i; next }
    NF == 0 { next }
    {
        act = $col["action"]
        if (want_action != "all" && act != want_action) next
        st = $col["start"]; en = $col["end"]
        win = (st == "-" || W == 0) ? 0 : st - st % W
        k = win
        for (j = 1; j <= nk; j++) {
            v = (key[j] in col) ? $col[key[j]] : "-"
            if (v == "-") v = ""
            else if (pfx[j] >= 0 && index(v, ".") && pfx[j] < 32) v = mask4(v, pfx[j])
            k = k "," v
        }
        flows[k]++
        p = $col["packets"]; b = $col["bytes"]
        packets[k] += (p == "-" ? 0 : p); bytes[k] += (b == "-" ? 0 : b)
        acc[k] += (act == "ACCEPT"); rej[k] += (act == "REJECT")
        if (st != "-" && (!(k in first) || st + 0 < first[k])) first[k] = st + 0
        if (en != "-" && (!(k in last) || en + 0 > last[k])) last[k] = en + 0
    }
    END { for (k in flows)
            printf "%s,%.0f,%.0f,%.0f,%.0f,%.0f,%s,%s\n", k, flows[k], packets[k], bytes[k],
                   acc[k], rej[k], (k in first) ? sprintf("%.0f", first[k]) : "",
                   (k in last) ? sprintf("%.0f", last[k]) : "" }'
}

text_of() { # the decompressed text of a tree, files in path order
    find "$1" -type f | sort | while read -r f; do
        case $(head -c 4 "$f" | od -An -tx1 | tr -d ' ') in
        1f8b*) gzip -dc "$f" ;;
        28b52ffd) zstd -qdc "$f" ;;
        *) cat "$f" ;;
        esac
    done
}
text_of "$tree" >"$work/all.txt"
text_of "$work/v5/AWSLogs" >"$work/v5.txt"

compare_with_awk() { # NAME TEXT WINDOW FLOE_WINDOW KEYS ACTION [extra floe args...]
    local name=$1 text=$2 w=$3 fw=$4 keys=$5 action=$6 src
    shift 6
    src=$tree
    [ "$text" = "$work/v5.txt" ] && src=$work/v5/AWSLogs
    ref_agg "$w" "$keys" "$action" <"$text" | sort >"$work/ref.csv"
    "$floe" analyze "$src" --window "$fw" --by "$keys" --action "$(echo "$action" | tr A-Z a-z)" \
        --time-format unix -o "$work/floe.csv" -q "$@"
    if [ "$fw" = all ]; then # no window column: the reference has window 0
        tail -n +2 "$work/floe.csv" | sed 's/^/0,/' | sort >"$work/got.csv"
    else
        tail -n +2 "$work/floe.csv" | sort >"$work/got.csv"
    fi
    [ -s "$work/ref.csv" ] || fail "$name: empty reference"
    if ! cmp -s "$work/ref.csv" "$work/got.csv"; then
        diff "$work/ref.csv" "$work/got.csv" | head -5 >&2
        fail "$name: floe and awk differ"
    fi
    pass "$name: $(wc -l <"$work/ref.csv") groups equal awk's"
}
compare_with_awk "10m by 5-tuple-ish" "$work/all.txt" 600 10m srcaddr,dstaddr,dstport,protocol,action all
compare_with_awk "1m by srcaddr/24,dstport" "$work/all.txt" 60 1m srcaddr/24,dstport all
compare_with_awk "1h by dstaddr/16, rejects only" "$work/all.txt" 3600 1h dstaddr/16,protocol REJECT
compare_with_awk "1d by interface-id (string), accepts" "$work/all.txt" 86400 1d interface-id,log-status ACCEPT
compare_with_awk "v5 fields, 5m" "$work/v5.txt" 300 5m vpc-id,flow-direction,tcp-flags,pkt-srcaddr all
compare_with_awk "no window by account-id" "$work/all.txt" 0 all account-id,action all

# ISO-8601 times (the default) against the same run's Unix seconds turned into text by date(1):
# every time column of every row.
"$floe" analyze "$tree" --window 1m --by srcaddr,dstport -o "$work/iso.csv" -q
"$floe" analyze "$tree" --window 1m --by srcaddr,dstport --time-format unix -o "$work/unix.csv" -q
for col in 1 9 10; do # window_start, first_seen, last_seen
    tail -n +2 "$work/unix.csv" | cut -d, -f$col | sed 's/^/@/' |
        date -u -f - +%Y-%m-%dT%H:%M:%SZ >"$work/want-times.txt"
    tail -n +2 "$work/iso.csv" | cut -d, -f$col >"$work/got-times.txt"
    [ -s "$work/got-times.txt" ] || fail "ISO times: column $col is empty"
    cmp -s "$work/want-times.txt" "$work/got-times.txt" ||
        fail "ISO times: column $col differs from date -u ($(diff "$work/want-times.txt" "$work/got-times.txt" | head -2 | tr '\n' ' '))"
done
pass "ISO-8601 times equal date -u's for $(($(wc -l <"$work/iso.csv") - 1)) rows, three columns"

# --top: the ten largest sources by bytes, ties by address order.
ref_agg 0 srcaddr all <"$work/all.txt" | awk -F, '{print $2","$5}' | sort -t, -k2,2nr -k1,1 >"$work/ref_bytes.csv"
"$floe" analyze "$tree" --window all --by srcaddr --top 10 --order-by bytes -o "$work/top.csv" -q
[ "$(wc -l <"$work/top.csv")" = 11 ] || fail "--top 10 gave $(wc -l <"$work/top.csv") lines"
tail -n +2 "$work/top.csv" | awk -F, '{print $1","$4}' >"$work/top_got.csv"
# awk sorts addresses as text; compare bytes column and the set of addresses.
cut -d, -f2 "$work/top_got.csv" >"$work/a"
head -10 "$work/ref_bytes.csv" | cut -d, -f2 >"$work/b"
cmp -s "$work/a" "$work/b" || fail "--top 10 bytes differ from awk"
pass "--top 10 --order-by bytes equals awk's ten largest"

# --distinct: exact up to 32 values, then HyperLogLog within 5% (3 standard errors).
awk '$1 == "version" {next} NF > 0 && $4 != "-" {
        split($4, o, "."); w = $11 - $11 % 3600
        g = w "," (index($4, ":") ? $4 : o[1] "." o[2] ".0.0/16")
        if (!((g, $7) in seen) && $7 != "-") { seen[g, $7] = 1; n[g]++ } if (!(g in n)) n[g] = 0 }
     END { for (g in n) print g "," n[g] }' "$work/all.txt" | sort >"$work/ref_distinct.csv"
"$floe" analyze "$tree" --window 1h --by srcaddr/16/128 --distinct dstport --time-format unix \
    -o "$work/distinct.csv" -q
tail -n +2 "$work/distinct.csv" | awk -F, '$2 != "" {print $1","$2","$NF}' | sort >"$work/got_distinct.csv"
join -t, -j1 <(awk -F, '{print $1"|"$2","$3}' "$work/ref_distinct.csv" | sort) \
    <(awk -F, '{print $1"|"$2","$3}' "$work/got_distinct.csv" | sort) >"$work/joined.csv"
[ "$(wc -l <"$work/joined.csv")" = "$(wc -l <"$work/ref_distinct.csv")" ] ||
    fail "--distinct: groups differ from awk's"
awk -F, '{ want = $2; got = $3
           if (want <= 32 && got != want) { print "exact count " got " != " want ": " $1; bad = 1 }
           # Above 32 a sketch estimates: 5% is 3 standard errors, and just above 32 two
           # values sharing a register (a few in a hundred groups) can cost 2-3 counts.
           if (want > 32) { big++; d = got - want; if (d < 0) d = -d
                            if (d > 3 && d / want > 0.05) { print "estimate " got " vs " want ": " $1; bad = 1 } } }
         END { if (big == 0 && ENVIRON["QUICK"] == "") { print "no group above 32 values"; bad = 1 }
               exit bad }' \
    "$work/joined.csv" >&2 || fail "--distinct counts off" # (the quick tree may have none past 32)
pass "--distinct dstport: $(wc -l <"$work/joined.csv") groups exact up to 32, within 5% above ($(awk -F, '$2 > 32' "$work/joined.csv" | wc -l) groups)"

# --log-status: NODATA rows only.
"$floe" analyze "$tree" --window all --by log-status --log-status nodata -o "$work/nd.csv" -q
want=$(jq '.totals.log_status.NODATA // 0' "$truth")
got=$(tail -n +2 "$work/nd.csv" | awk -F, '{s += $2} END {printf "%d", s}')
[ "$got" = "$want" ] || fail "--log-status nodata: $got flows, truth $want"
pass "--log-status nodata keeps exactly the NODATA records ($want)"

# ---- the same bytes whatever the threads, I/O, read size and codec ---------------------------
key=srcaddr/24,dstaddr,dstport,protocol,action
same="--window 1m --by $key --distinct srcport,srcaddr" # HLL sketches merge the same way too
# shellcheck disable=SC2086
"$floe" analyze "$tree" $same -o "$work/base.csv" -q
# shellcheck disable=SC2086
"$floe" analyze "$tree" $same -o "$work/base.jsonl" -q
jq -c . "$work/base.jsonl" >/dev/null || fail "JSON Lines output does not parse"
[ "$(wc -l <"$work/base.jsonl")" = "$(($(wc -l <"$work/base.csv") - 1))" ] ||
    fail "JSON Lines and CSV have different row counts"
variants=("-t 1" "-t 2" "-t 8" "--io pread" "--io uring -t 3" "--read-size 4096 -t 2")
[ "$quick" = quick ] && variants=("-t 1" "-t 4" "--io pread -t 2" "--read-size 4096 -t 3")
for v in "${variants[@]}"; do
    # shellcheck disable=SC2086
    "$floe" analyze "$tree" $same -o "$work/v.csv" -q $v 2>"$work/err" ||
        { cat "$work/err" >&2; fail "analyze $v failed"; }
    cmp -s "$work/base.csv" "$work/v.csv" || fail "output differs with $v"
    # shellcheck disable=SC2086
    "$floe" analyze "$tree" $same -o "$work/v.jsonl" -q $v
    cmp -s "$work/base.jsonl" "$work/v.jsonl" || fail "JSON Lines differ with $v"
done
pass "identical CSV and JSON Lines for: ${variants[*]}"
for codec in zstd plain; do
    # shellcheck disable=SC2086
    "$floe" analyze "$work/$codec/AWSLogs" $same -o "$work/c.csv" -q -t 2
    cmp -s "$work/base.csv" "$work/c.csv" || fail "$codec copy gives other output than gzip"
done
pass "gzip, zstd and plain copies give identical output"

# ---- io_uring refused (as under a container's seccomp profile) ----------------------------------
# kernel.io_uring_disabled=2 makes io_uring_setup fail with EPERM, exactly what a seccomp profile
# does. Needs root; restored on exit. Other tests running meanwhile just fall back as well.
if [ -w "$uring_switch" ]; then
    uring_was=$(cat "$uring_switch")
    echo 2 >"$uring_switch"
    # shellcheck disable=SC2086
    "$floe" analyze "$tree" $same -o "$work/refused.csv" 2>"$work/refused.err"
    set +e
    "$floe" analyze "$tree" --io uring -o "$work/forced.csv" -q 2>"$work/forced.err"
    forced=$?
    set -e
    echo "$uring_was" >"$uring_switch"
    uring_was=
    [ "$(grep -c "io_uring unavailable (Operation not permitted); reading with pread" "$work/refused.err")" = 1 ] ||
        { cat "$work/refused.err" >&2; fail "no single fallback message when io_uring is refused"; }
    cmp -s "$work/base.csv" "$work/refused.csv" || fail "pread fallback output differs"
    [ "$forced" = 1 ] && grep -q "refuses io_uring" "$work/forced.err" ||
        fail "--io uring when refused: exit $forced, want 1 with a message"
    [ ! -e "$work/forced.csv" ] || fail "--io uring when refused left an output file"
    pass "io_uring refused (EPERM): one message, pread fallback, same output; --io uring fails cleanly"
else
    echo "skip - io_uring refusal (needs root to set $uring_switch)"
fi

# ---- standard input ----------------------------------------------------------------------------
one=$(find "$tree" -type f | sort | sed -n 1p) # sed, not head: head may exit before sort has written all, and pipefail would see SIGPIPE
"$floe" analyze "$one" --by dstport -o "$work/file.csv" -q
"$floe" analyze - --by dstport -o "$work/stdin.csv" -q <"$one"
cmp -s "$work/file.csv" "$work/stdin.csv" || fail "'-' (stdin) differs from the file"
gzip -dc "$one" | "$floe" analyze - --by dstport -o "$work/pipe.csv" -q
cmp -s "$work/file.csv" "$work/pipe.csv" || fail "plain text through a pipe differs"
set +e
timeout 60 "$floe" analyze - --by dstport -o "$work/dir_stdin.csv" -q --stats "$work/dir_stdin.json" <"$work"
code=$?
set -e
[ "$code" = 0 ] || fail "standard input that cannot be read (a directory): exit $code, want 0 (124: hung)"
[ "$(jq '.unreadable | length' "$work/dir_stdin.json")" = 1 ] || fail "unreadable stdin not reported"
pass "'-' reads standard input (gzip from a file, plain from a pipe; a read error is reported, not a hang)"

# Outputs: a symlink keeps being a link (its target is replaced); a device is written in place.
: >"$work/target.csv"
ln -s "$work/target.csv" "$work/link.csv"
"$floe" analyze "$one" --by dstport -o "$work/link.csv" -q
[ -L "$work/link.csv" ] && cmp -s "$work/target.csv" "$work/file.csv" ||
    fail "-o through a symlink: the link was replaced or the target not written"
"$floe" analyze "$one" --by dstport -o /dev/null --output-format csv -q --stats /dev/null
[ -c /dev/null ] || fail "-o /dev/null replaced the device with a file"
pass "-o through a symlink writes its target; -o /dev/null writes to the device"

# ---- a truncated archive: named with its offset, the records before it counted, run goes on --
mkdir -p "$work/bad"
cp -r "$tree" "$work/bad/"
victim=$(find "$work/bad" -type f | sort | sed -n 3p)
full=$(gzip -dc "$victim" | grep -vc '^version' || true)
head -c $(($(stat -c %s "$victim") / 2)) "$victim" >"$work/half" && mv "$work/half" "$victim"
set +e
"$floe" analyze "$work/bad" --by dstport -o "$work/bad.csv" -q --stats "$work/bad.json"
code=$?
"$floe" analyze "$work/bad" --by dstport -o "$work/bad2.csv" -q --strict
strict_code=$?
set -e
[ "$code" = 0 ] || fail "a truncated archive stopped the run (exit $code)"
[ "$strict_code" = 1 ] || fail "--strict with a truncated archive: exit $strict_code, want 1"
[ "$(jq '.decode_errors | length' "$work/bad.json")" = 1 ] || fail "decode error not reported"
[ "$(jq -r '.decode_errors[0].file' "$work/bad.json")" = "$victim" ] || fail "wrong file named"
[ "$(jq -r '.decode_errors[0].error' "$work/bad.json")" = truncated ] || fail "not 'truncated'"
lost=$(($(jq .totals.records "$truth") - $(jq .records "$work/bad.json")))
[ "$lost" -gt 0 ] && [ "$lost" -lt "$full" ] ||
    fail "records lost to the cut: $lost (file had $full): the part before the cut must count"
"$floe" totals --json "$work/bad" >"$work/bad_totals.json" || true
[ "$(jq .records "$work/bad_totals.json")" = "$(jq .records "$work/bad.json")" ] ||
    fail "analyze and totals disagree on the truncated tree"
pass "truncated archive: named with offset $(jq '.decode_errors[0].offset' "$work/bad.json"), $((full - lost)) of its $full records kept, exit 0 (1 with --strict)"

# ---- discovery: what the S3 keys say ---------------------------------------------------------
"$gen" -o "$work/hive" --seed 13 --size 2M --layout hive --hourly --org-id o-abcdefghij1 -q
"$gen" -o "$work/cw" --seed 14 --size 1M --layout cloudwatch -q
for t in gzip:default v5:default hive:hive cw:cloudwatch; do
    dir=$work/${t%%:*}
    "$floe" files --json "$dir" >"$work/files.jsonl"
    want_files=$(jq .totals.files "$dir/truth.json")
    got=$(jq -s "map(select(.layout == \"${t#*:}\")) | length" "$work/files.jsonl")
    [ "$got" = "$want_files" ] || fail "floe files: $got ${t#*:} files in $dir, truth $want_files"
    if [ "${t#*:}" != cloudwatch ]; then
        want=$(jq -c '[.accounts[] | [.account_id, .region, .flow_log_id]] | sort' "$dir/truth.json")
        got=$(jq -sc '[.[] | select(.account) | [.account, .region, .flow_log_id]] | unique' "$work/files.jsonl")
        [ "$got" = "$want" ] || fail "floe files: accounts/regions/flow logs $got, truth $want"
        [ "$(jq -s 'map(select(.time)) | length' "$work/files.jsonl")" = "$want_files" ] ||
            fail "floe files: file times missing in $dir"
    fi
done
[ "$(jq -s 'map(select(.org_id == "o-abcdefghij1" and .hourly)) | length' <("$floe" files --json "$work/hive"))" = \
    "$(jq .totals.files "$work/hive/truth.json")" ] || fail "hive tree: org id or hour folder not seen"
"$floe" analyze "$work/hive/AWSLogs" -o "$work/h.csv" 2>"$work/summary.txt"
grep -q "^layout .* hive, .* 3 account(s)" "$work/summary.txt" || {
    cat "$work/summary.txt" >&2
    fail "summary has no layout line"
}
pass "S3 key layouts (default, hourly, Hive with org id, CloudWatch export): accounts, regions, flow logs and times match the truth"

# The v2 format has no region: --by region takes it from each file's S3 key.
"$floe" files --json "$tree" | jq -r '[.path, .region] | @tsv' | while IFS=$'\t' read -r f region; do
    printf '%s %s\n' "$region" "$(gzip -dc "$f" | grep -vc '^version')"
done | awk '{n[$1] += $2} END {for (r in n) print r "," n[r]}' | sort >"$work/ref_region.csv"
"$floe" analyze "$tree" --window all --by region -o "$work/region.csv" -q
tail -n +2 "$work/region.csv" | cut -d, -f1,2 | sort >"$work/got_region.csv"
cmp -s "$work/ref_region.csv" "$work/got_region.csv" ||
    { diff "$work/ref_region.csv" "$work/got_region.csv" >&2; fail "--by region from the S3 keys"; }
pass "--by region over the v2 format (no region field): taken from the S3 keys, $(wc -l <"$work/ref_region.csv") regions"

# ---- usage errors --------------------------------------------------------------------------------
for args in "--window 7q" "--by nope" "--by dstport/24" "--action maybe" "--log-status x" \
    "--top 0" "--order-by size" "--output-format xml" "--io fast" "--threads 0" "--read-size 1000"; do
    set +e
    # shellcheck disable=SC2086
    "$floe" analyze $args "$tree" >/dev/null 2>"$work/err"
    code=$?
    set -e
    [ "$code" = 2 ] || fail "'$args' exit $code, want 2"
    grep -q "floe analyze" "$work/err" || fail "'$args': no message"
done
set +e
"$floe" analyze "$work/nothing-here" -q -o "$work/none.csv"
code=$?
set -e
[ "$code" = 1 ] || fail "a missing path: exit $code, want 1"
[ ! -e "$work/none.csv" ] || [ "$(wc -l <"$work/none.csv")" = 1 ] || fail "missing path output"
pass "usage errors exit 2 with a message; nothing to read exits 1"

echo "all $checks checks passed"
