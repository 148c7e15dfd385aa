#!/usr/bin/env bash
# The terminal report of floe analyze (no -o, or --report), against the tables floe writes as
# CSV from the same tree and against the generator's truth:
#  - every section is there, each table's lines line up (same width);
#  - the top sources by bytes, the top rejected sources, the top destination ports and the top
#    groups of the key are the rows --top ... -o - gives, in the same order, with the same
#    numbers in human units;
#  - the per-window flows add up to the truth's records;
#  - --report -o FILE writes the file and prints the report.
# usage: test_report.sh FLOE_GEN FLOE
set -euo pipefail
gen=$1
floe=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C

# shellcheck source=floe_test_lib.sh
. "$(dirname "$0")/floe_test_lib.sh"

"$gen" -o "$work/gen" --seed 31 --size 8M --codec gzip --threads 2 -q
tree=$work/gen/AWSLogs
"$floe" analyze -q --window 10m "$tree" >"$work/report.txt"

# section TITLE: the table under the line TITLE (header and rows), up to the blank line.
section() {
    awk -v t="$1" '$0 == t { on = 1; next } on && /^$/ { exit } on' "$work/report.txt"
}
for title in "Top 10 sources by bytes" "Top 10 rejected sources (by rejected flows)" \
    "Top 10 destination ports by flows" \
    "Top 10 groups of --by srcaddr,dstaddr,dstport,protocol,action by bytes" \
    "Totals per 10-minute window"; do
    section "$title" >"$work/section"
    [ "$(wc -l <"$work/section")" -ge 2 ] || fail "no table under '$title'"
    widths=$(awk '{ print length($0) }' "$work/section" | sort -u | wc -l)
    [ "$widths" = 1 ] || fail "'$title': lines of $widths different widths"
done
pass "every section present, each table's lines of one width"

# human NUMBER [B]: floe's units (decimal; counts plain below 10000, bytes below 1000).
human() {
    awk -v v="$1" -v b="${2:-}" 'BEGIN {
        split(b == "B" ? "KB MB GB TB PB EB" : "K M G T P E", u, " ")
        if (v < (b == "B" ? 1000 : 10000)) { print v (b == "B" ? " B" : ""); exit }
        x = v / 1000; i = 1; while (x >= 1000 && i < 6) { x /= 1000; i++ }
        printf "%.1f %s\n", x, u[i] }'
}

# measures KEYCOLS < ROW: the row's measure cells after KEYCOLS key words, one a line, units
# joined to their numbers ("1.5 K", "3.0 GB"): flows, packets, bytes, accepted, rejected, share.
measures() {
    awk -v k="$1" '{ n = 0
        for (i = k + 1; i <= NF; i++)
            if ($i ~ /^(K|M|G|T|P|E|B|KB|MB|GB|TB|PB|EB)$/) v[n] = v[n] " " $i; else v[++n] = $i
        for (i = 1; i <= n; i++) print v[i] }'
}

# compare TITLE KEYCOLS FLOE_ARGS...: the section's rows against floe's CSV of the same top N
# (a window start counts as two key columns): the key, then every measure in the report's units.
compare() {
    local title=$1 keycols=$2
    shift 2
    "$floe" analyze -q "$@" -o - "$tree" | tail -n +2 |
        sed -E 's/^([0-9-]+)T([0-9]{2}:[0-9]{2}):00Z,/\1,\2,/' >"$work/top.csv"
    section "$title" | tail -n +2 >"$work/rows"
    [ "$(wc -l <"$work/rows")" = "$(wc -l <"$work/top.csv")" ] ||
        fail "'$title': $(wc -l <"$work/rows") rows, the CSV has $(wc -l <"$work/top.csv")"
    local n=0 row key want got
    while IFS=, read -r -a f; do
        n=$((n + 1))
        row=$(sed -n "${n}p" "$work/rows")
        key=$(echo "$row" | awk -v k="$keycols" '{ s = $1; for (i = 2; i <= k; i++) s = s "," $i; print s }')
        [ "$key" = "$(IFS=,; echo "${f[*]:0:keycols}")" ] || fail "'$title' row $n: key '$key', CSV '${f[*]:0:keycols}'"
        want=$(printf '%s|' "$(human "${f[keycols]}")" "$(human "${f[keycols + 1]}")" \
            "$(human "${f[keycols + 2]}" B)" "$(human "${f[keycols + 3]}")" "$(human "${f[keycols + 4]}")")
        got=$(echo "$row" | measures "$keycols" | head -n 5 | tr '\n' '|')
        [ "$got" = "$want" ] || fail "'$title' row $n: measures '$got', want '$want'"
    done <"$work/top.csv"
    pass "'$title': $n rows, same order, keys and measures as --top ... -o -"
}
compare "Top 10 sources by bytes" 1 --window all --by srcaddr --top 10 --order-by bytes
compare "Top 10 destination ports by flows" 1 --window all --by dstport --top 10 --order-by flows
# With a window: the CSV's ISO window start split into the report's two words.
compare "Top 10 groups of --by srcaddr,dstaddr,dstport,protocol,action by bytes" 7 \
    --window 10m --top 10 --order-by bytes

# Rejected sources: the CSV of all sources, ranked by rejected flows (ties in the canonical
# order, which the CSV already has: a stable sort keeps it).
"$floe" analyze -q --window all --by srcaddr -o - "$tree" | tail -n +2 |
    sort -t, -k6,6nr -s | awk -F, '$6 > 0 && ++n <= 10' >"$work/rejected.csv"
section "Top 10 rejected sources (by rejected flows)" | tail -n +2 | sed 's/^ *//' >"$work/rows"
[ "$(wc -l <"$work/rows")" = "$(wc -l <"$work/rejected.csv")" ] || fail "rejected sources: row count"
n=0
while IFS=, read -r src flows packets bytes accepted rejected rest; do
    n=$((n + 1))
    row=$(sed -n "${n}p" "$work/rows")
    [ "$(echo "$row" | awk '{print $1}')" = "$src" ] || fail "rejected sources row $n: '$row', want $src"
    got=$(echo "$row" | measures 1 | sed -n 5p)
    [ "$got" = "$(human "$rejected")" ] || fail "rejected sources row $n: '$row': $got rejected, want $rejected"
done <"$work/rejected.csv"
pass "top rejected sources: $n rows equal the CSV ranked by rejected flows"

# Per-window totals add up to the truth (every record has a start here).
records=$(jq '.totals.records' "$work/gen/truth.json")
"$floe" analyze -q --window 10m --by protocol -o - "$tree" | tail -n +2 |
    awk -F, '{ f[$1] += $3 } END { for (w in f) print w, f[w] }' | sort >"$work/windows.csv"
sum=$(awk '{ s += $2 } END { print s }' "$work/windows.csv")
[ "$sum" = "$records" ] || fail "window flows add up to $sum, truth has $records"
section "Totals per 10-minute window" | tail -n +2 >"$work/rows"
[ "$(wc -l <"$work/rows")" = "$(wc -l <"$work/windows.csv")" ] || fail "window count"
paste -d' ' <(awk '{print $2}' "$work/windows.csv") <(awk '{print $3}' "$work/rows") |
    while read -r want got; do
        [ "$(human "$want")" = "$got" ] || [ "$(human "$want" | cut -d' ' -f1)" = "$got" ] ||
            fail "window flows: report $got, want $(human "$want")"
    done
pass "per-window totals: $(wc -l <"$work/rows") windows, flows add up to the truth's $records"

# --report with -o: both.
"$floe" analyze -q --report --window all --by protocol -o "$work/both.csv" "$tree" >"$work/both.txt"
head -n 1 "$work/both.csv" | grep -q '^protocol,flows' || fail "--report -o: no CSV"
grep -q "^Top 10 sources by bytes" "$work/both.txt" || fail "--report -o: no report"
pass "--report -o FILE writes the table and prints the report"

echo "all $checks checks passed"
