#!/usr/bin/env bash
# test_gen.sh: end-to-end checks of floe-gen, the seeded flow-log generator.
#   usage: test_gen.sh path/to/floe-gen
# Checks: determinism (same seed, any thread count => identical tree and truth; other seed =>
# different), gzip / zstd / plain hold the same text, truth totals equal an independent awk
# count (default format and a shuffled custom format), S3 path shapes (default, hive, hourly,
# org id), the CloudWatch export shape, every finding type of detections.md planted, and a
# background-only tree that never touches plant-only addresses, port 25 or mining ports.
set -euo pipefail

GEN=${1:?usage: test_gen.sh path/to/floe-gen}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

say() { printf 'test_gen: %s\n' "$*"; }
fail() {
    printf 'test_gen: FAIL: %s\n' "$*" >&2
    exit 1
}

gen() { "$GEN" -q "$@"; }

# sha256 over every file of a directory (names and contents), in name order.
tree_sum() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1; }

# The decompressed text of every log file under a tree root, in path order.
text_of() {
    (cd "$1" && find . -type f | LC_ALL=C sort | while read -r f; do
        case $f in
        *.gz) gzip -dc "$f" ;;
        *.zst) zstd -qdc "$f" ;;
        *) cat "$f" ;;
        esac
    done)
}

# text_of into a file (checks that stop reading early must not read a pipe: with pipefail the
# writer's SIGPIPE would fail the check).
text_file() {
    text_of "$1" >"$2"
}

# Readers of truth.json. They stop at the first match inside sed, never with `| head`: with
# pipefail, a writer killed by SIGPIPE would fail the whole check at random.
# json_num FILE KEY: N of the first line holding "KEY": N.
json_num() { sed -n "/\"$2\": [0-9]/{s/.*\"$2\": \([0-9][0-9]*\).*/\1/p;q}" "$1"; }
# The "records packets bytes" of one action line.
json_action() { sed -n "/\"$2\": {\"records\"/{s/[^0-9 ]//g;p;q}" "$1" | awk '{print $1, $2, $3}'; }
json_format() { sed -n '/"format": /{s/.*"format": "\(.*\)",$/\1/p;q}' "$1"; }

# Independent totals of a text stream: "headers records ok nodata skipdata" then per action
# (ACCEPT, REJECT, -) "records packets bytes". FMT is the header line (field order).
count_text() {
    awk -v fmt="$1" -v cw="$2" '
        BEGIN { n = split(fmt, f, " "); for (i = 1; i <= n; i++) col[f[i]] = i + (cw ? 1 : 0) }
        !cw && $0 == fmt { headers++; next }
        {
            recs++; st[$col["log-status"]]++
            a = $col["action"]; ar[a]++
            p = $col["packets"]; b = $col["bytes"]
            if (p != "-") ap[a] += p
            if (b != "-") ab[a] += b
        }
        END {
            printf "%.0f %.0f %.0f %.0f %.0f\n", headers, recs, st["OK"], st["NODATA"], st["SKIPDATA"]
            printf "%.0f %.0f %.0f\n", ar["ACCEPT"], ap["ACCEPT"], ab["ACCEPT"]
            printf "%.0f %.0f %.0f\n", ar["REJECT"], ap["REJECT"], ab["REJECT"]
            printf "%.0f %.0f %.0f\n", ar["-"], ap["-"], ab["-"]
        }'
}

# Compares truth.json's totals with an awk count of the tree's text.
check_totals() {
    local dir=$1 root=$2 cw=${3:-0} fmt got want
    fmt=$(json_format "$dir/truth.json")
    got=$(text_of "$dir/$root" | count_text "$fmt" "$cw")
    want=$(printf '%s %s %s %s %s\n%s\n%s\n%s\n' \
        "$(json_num "$dir/truth.json" header_lines)" "$(json_num "$dir/truth.json" records)" \
        "$(json_num "$dir/truth.json" OK)" "$(json_num "$dir/truth.json" NODATA)" \
        "$(json_num "$dir/truth.json" SKIPDATA)" \
        "$(json_action "$dir/truth.json" ACCEPT)" "$(json_action "$dir/truth.json" REJECT)" \
        "$(json_action "$dir/truth.json" -)")
    [ "$got" = "$want" ] || fail "totals of $dir: awk counted
$got
truth.json says
$want"
    local ok rej
    ok=$(json_num "$dir/truth.json" OK)
    rej=$(json_action "$dir/truth.json" REJECT | cut -d' ' -f1)
    [ "$ok" -gt 1000 ] || fail "$dir: only $ok OK records"
    # REJECTs are about 5-10% of the flows (OK records).
    awk -v r="$rej" -v n="$ok" 'BEGIN { exit !(r / n >= 0.05 && r / n <= 0.10) }' ||
        fail "$dir: REJECT share $rej / $ok OK records outside 5-10%"
    say "   totals match an awk count: $(awk 'NR == 1 { print $2 }' <<<"$got") records, $rej REJECT of $ok OK ($dir)"
}

SZ=3M

# (1) Determinism.
say "1. same seed twice (1 and 2 threads) => identical tree and truth; other seed differs"
gen -o "$T/a" --seed 7 --size $SZ --threads 1
gen -o "$T/b" --seed 7 --size $SZ --threads 2
gen -o "$T/c" --seed 8 --size $SZ
[ "$(tree_sum "$T/a/AWSLogs")" = "$(tree_sum "$T/b/AWSLogs")" ] || fail "same seed, different trees"
cmp -s "$T/a/truth.json" "$T/b/truth.json" || fail "same seed, different truth.json"
cmp -s "$T/a/intel.txt" "$T/b/intel.txt" || fail "same seed, different intel.txt"
[ "$(tree_sum "$T/a/AWSLogs")" != "$(tree_sum "$T/c/AWSLogs")" ] || fail "seeds 7 and 8 gave the same tree"
cmp -s "$T/a/truth.json" "$T/c/truth.json" && fail "seeds 7 and 8 gave the same truth.json"
say "   ok: $(find "$T/a/AWSLogs" -type f | wc -l) files identical"

# (2) Codecs hold the same text.
say "2. gzip, zstd and plain trees of one seed decompress to the same text"
gen -o "$T/z" --seed 7 --size $SZ --codec zstd
gen -o "$T/p" --seed 7 --size $SZ --codec plain
sa=$(text_of "$T/a/AWSLogs" | sha256sum)
sz=$(text_of "$T/z/AWSLogs" | sha256sum)
sp=$(text_of "$T/p/AWSLogs" | sha256sum)
[ "$sa" = "$sz" ] || fail "gzip and zstd text differ"
[ "$sa" = "$sp" ] || fail "gzip and plain text differ"
[ "$(find "$T/z/AWSLogs" -type f | grep -cv '\.log\.zst$')" = 0 ] || fail "zstd tree has a file not named .log.zst"
[ "$(find "$T/p/AWSLogs" -type f | grep -cv '\.log$')" = 0 ] || fail "plain tree has a file not named .log"
gzip -t $(find "$T/a/AWSLogs" -type f) || fail "gzip -t"
say "   ok: $(text_of "$T/p/AWSLogs" | wc -c) bytes of text each"

# (3) Totals, default format and a shuffled (alphabetical) custom format.
say "3. truth.json totals equal an independent awk count"
check_totals "$T/a" AWSLogs
V5="version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
ALPHA=$(echo "$V5" | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ')
gen -o "$T/f" --seed 11 --size $SZ --format "$ALPHA" --interval 1 --codec zstd
text_file "$T/f/AWSLogs" "$T/f.txt"
[ "$(head -c 11 "$T/f.txt")" = "account-id " ] || fail "custom header not in the given order"
check_totals "$T/f" AWSLogs
# Version column: 5 for v5 fields.
awk -v fmt="$(json_format "$T/f/truth.json")" '
    BEGIN { n = split(fmt, f, " "); for (i = 1; i <= n; i++) c[f[i]] = i }
    $0 != fmt && $c["version"] != 5 { bad++ } END { exit bad > 0 }' "$T/f.txt" || fail "version column is not 5"
# NAT records (pkt-dstaddr is the real destination, dstaddr the NAT): the instance behind the NAT
# is in the NAT's VPC (same /16), and there are some.
awk -v fmt="$(json_format "$T/f/truth.json")" '
    BEGIN { n = split(fmt, f, " "); for (i = 1; i <= n; i++) c[f[i]] = i }
    $0 == fmt || $c["pkt-dstaddr"] == "-" || $c["pkt-dstaddr"] == $c["dstaddr"] { next }
    { nat++; split($c["srcaddr"], a, "."); split($c["dstaddr"], b, "."); if (a[1] != b[1] || a[2] != b[2]) bad++ }
    END { exit !(nat > 0 && bad == 0) }' "$T/f.txt" || fail "NAT records with a source outside the NAT's VPC (or none)"
gen -o "$T/all" --seed 12 --size 2M --format all --codec plain
text_file "$T/all/AWSLogs" "$T/all.txt"
awk '$1 != "version" && $1 != 10 { bad++ } END { exit bad > 0 }' "$T/all.txt" || fail "version column is not 10 for all fields"
grep -q ' TransitGateway tgw-' "$T/all.txt" || fail "no record has transit gateway fields"
check_totals "$T/all" AWSLogs

# (4) Path shapes.
say "4. S3 path shapes: default, hive + hourly, default + hourly + org id"
ACCT='[0-9]{12}'
FILE="${ACCT}_vpcflowlogs_[a-z0-9-]+_fl-[0-9a-f]{17}_[0-9]{8}T[0-9]{4}Z_[0-9a-f]{8}\.log\.gz"
check_paths() { # dir regex what
    local bad
    bad=$(cd "$1" && find AWSLogs -type f | grep -Ev "^$2\$" | head -3 || true)
    [ -z "$bad" ] || fail "$3 path not as expected: $bad"
    [ "$(cd "$1" && find AWSLogs -type f | wc -l)" -gt 0 ] || fail "$3: no files"
    # The folder date (and hour) is the file name's timestamp.
    (cd "$1" && find AWSLogs -type f) | awk -v hourly="$4" '
        {
            n = split($0, p, "/"); f = p[n]
            gsub(/[a-z-]+=/, "")
            n = split($0, p, "/")
            if (hourly) { day = p[n - 4] p[n - 3] p[n - 2]; h = p[n - 1] } else day = p[n - 3] p[n - 2] p[n - 1]
            if (!match(f, /_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9]/)) { bad++; next }
            if (day != substr(f, RSTART + 1, 8) || (hourly && h != substr(f, RSTART + 10, 2))) bad++
        }
        END { exit bad > 0 }' || fail "$3: folder date or hour differs from the file name"
}
check_paths "$T/a" "AWSLogs/$ACCT/vpcflowlogs/[a-z0-9-]+/[0-9]{4}/[0-9]{2}/[0-9]{2}/$FILE" default 0
gen -o "$T/h" --seed 7 --size 1M --layout hive --hourly
check_paths "$T/h" "AWSLogs/aws-account-id=$ACCT/aws-service=vpcflowlogs/aws-region=[a-z0-9-]+/year=[0-9]{4}/month=[0-9]{2}/day=[0-9]{2}/hour=[0-9]{2}/$FILE" hive+hourly 1
gen -o "$T/o" --seed 7 --size 1M --hourly --org-id o-a1b2c3d4e5 --start 2026-12-31T23:00Z --hours 2
check_paths "$T/o" "AWSLogs/o-a1b2c3d4e5/$ACCT/vpcflowlogs/[a-z0-9-]+/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}/$FILE" default+hourly+org 1
[ "$(cd "$T/o" && find AWSLogs -type f | grep -c '/2027/01/01/')" -gt 0 ] || fail "a run over midnight has no next-day folder"
say "   ok"

# (5) CloudWatch export: timestamps, no header, same records as the S3 tree of the same run.
say "5. cloudwatch layout: ISO-8601 timestamp first, no header, same records as S3"
gen -o "$T/cw" --seed 9 --records 20000 --layout cloudwatch
gen -o "$T/s3" --seed 9 --records 20000
bad=$(cd "$T/cw" && find exportedlogs -type f | grep -Ev '^exportedlogs/[0-9a-f-]{36}/eni-[0-9a-f]{17}-all/[0-9]{6}\.gz$' | head -3 || true)
[ -z "$bad" ] || fail "cloudwatch path not as expected: $bad"
text_file "$T/cw/exportedlogs" "$T/cw.txt"
grep -Eqv '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.000Z [0-9]+ ' "$T/cw.txt" &&
    fail "a cloudwatch line does not start with an ISO-8601 timestamp"
grep -q 'log-status' "$T/cw.txt" && fail "cloudwatch export has a header line"
[ "$(json_num "$T/cw/truth.json" header_lines)" = 0 ] || fail "cloudwatch truth counts headers"
check_totals "$T/cw" exportedlogs 1
cwsum=$(cut -d' ' -f2- "$T/cw.txt" | LC_ALL=C sort | sha256sum)
s3sum=$(text_of "$T/s3/AWSLogs" | grep -v '^version ' | LC_ALL=C sort | sha256sum)
[ "$cwsum" = "$s3sum" ] || fail "cloudwatch and S3 trees of one seed hold different records"
say "   ok"

# (6) Every finding type of detections.md is planted, with a threat list beside the tree.
say "6. every finding type of detections.md appears in truth.json"
SPEC=""
for c in "${FLOE_SHARED_DIR:-}/spec/detections.md" "$HERE/../../shared/spec/detections.md"; do
    [ -f "$c" ] && SPEC=$c && break
done
if [ -n "$SPEC" ]; then
    # First cell of each table row, "(…)" dropped, {a,b} expanded.
    mapfile -t TYPES < <(grep '^| ' "$SPEC" | cut -d'|' -f2 | sed 's/^ *//; s/ *$//; s/ *(.*)$//' |
        grep -v -e '^finding$' -e '^---' | while read -r t; do
            if [[ $t =~ ^(.*)\{(.*)\}$ ]]; then
                IFS=, read -ra parts <<<"${BASH_REMATCH[2]}"
                for p in "${parts[@]}"; do echo "${BASH_REMATCH[1]}$p"; done
            else echo "$t"; fi
        done)
    say "   read ${#TYPES[@]} finding types from $SPEC"
else
    TYPES=(Recon:EC2/Portscan Impact:EC2/PortSweep Recon:EC2/PortProbeUnprotectedPort
        UnauthorizedAccess:EC2/SSHBruteForce UnauthorizedAccess:EC2/RDPBruteForce
        Impact:EC2/WinRMBruteForce Backdoor:EC2/DenialOfService.Tcp
        Backdoor:EC2/DenialOfService.Udp Backdoor:EC2/DenialOfService.Dns
        Backdoor:EC2/DenialOfService.UnusualProtocol Behavior:EC2/TrafficVolumeUnusual
        Behavior:EC2/NetworkPortUnusual Backdoor:EC2/Spambot CryptoCurrency:EC2/BitcoinTool
        UnauthorizedAccess:EC2/MaliciousIPCaller.Custom Beaconing)
    say "   detections.md not found: using the built-in list of ${#TYPES[@]} types"
fi
[ "${#TYPES[@]}" -ge 16 ] || fail "expected at least 16 finding types, got ${#TYPES[@]}"
for t in "${TYPES[@]}"; do
    grep -qF "\"type\": \"$t\"" "$T/a/truth.json" || fail "no plant of type $t"
done
[ "$(grep -c '"type": ' "$T/a/truth.json")" -eq "${#TYPES[@]}" ] || fail "plant count differs from the spec"
grep -q '"flows": 0' "$T/a/truth.json" && fail "a plant has no flows"
grep -qx '185.220.101.0/24' "$T/a/intel.txt" || fail "intel.txt lacks the threat CIDR"
text_file "$T/a/AWSLogs" "$T/a.txt"
grep -q ' 185\.220\.101\.47 ' "$T/a.txt" || fail "the threat-list address is in no record"
say "   ok: ${#TYPES[@]} types"

# (7) Background alone: no plant-only address, no port 25, no mining-pool port.
say "7. a --no-plants tree never uses plant-only ranges, port 25 or mining ports"
gen -o "$T/n" --seed 7 --size $SZ --no-plants --codec plain
grep -q '"plants": \[$' "$T/n/truth.json" && ! grep -q '"type": ' "$T/n/truth.json" || fail "--no-plants truth lists plants"
text_file "$T/n/AWSLogs" "$T/n.txt"
awk '
    $1 == "version" { next }
    $4 ~ /^(45|185|193)\./ || $5 ~ /^(45|185|193)\./ { print "plant-only address: " $0; bad = 1; exit }
    $7 ~ /^(25|3333|4444|5555|7777|8333|9999|14444|45700)$/ || $6 ~ /^(25|3333|4444|5555|7777|8333|9999|14444|45700)$/ { print "forbidden port: " $0; bad = 1; exit }
    END { exit bad }' "$T/n.txt" || fail "background touches a plant-only range or port"
say "   ok"

# (8) The thresholds of detections.md, applied literally, fire on the plants and nothing else.
say "8. literal detection rules fire on the plants only (10-minute and 1-minute trees)"
# Prints one line per finding: "rule key", from text with header FMT (records sorted by start).
literal_rules() {
    awk -v fmt="$1" '
        BEGIN {
            n = split(fmt, f, " "); for (i = 1; i <= n; i++) c[f[i]] = i
            split("22 23 3389 445 1433 3306 5432 6379 9200 9300 27017 8088", sp, " "); for (i in sp) sens[sp[i]] = 1
        }
        function internal(a) { return a ~ /^10\./ || a ~ /^172\.(1[6-9]|2[0-9]|3[01])\./ || a ~ /^192\.168\./ }
        $0 == fmt || $c["log-status"] != "OK" { next }
        {
            s = $c["srcaddr"]; d = $c["dstaddr"]; sp_ = $c["srcport"] + 0; dp = $c["dstport"] + 0
            pr = $c["protocol"] + 0; t = $c["start"] + 0; w = int(t / 600); h = int(t / 3600)
            si = internal(s); di = internal(d)
            client = sp_ >= 32768 || (pr != 6 && pr != 17)
            if (dp == 22 || dp == 3389 || dp == 5985 || dp == 5986) if (++bf[w " " s " " d " " dp] == 50) print "brute", s, d, dp
            if (client && !((w, s, dp, d) in sw)) { sw[w, s, dp, d] = 1; if (++swn[w " " s " " dp] == 50) print "sweep", s, dp }
            if ($c["action"] == "ACCEPT" && !si && di && (dp in sens) && !((h, d, dp, s) in pb)) {
                pb[h, d, dp, s] = 1; if (++pbn[h " " d " " dp] == 10) print "probe", d, dp
            }
            if (si && !di) {
                k = w " " s " " d; pk[k] += $c["packets"]; by[k] += $c["bytes"]
                if (!(k in dos) && (pk[k] >= 1e6 || by[k] >= 1e9)) { dos[k] = 1; print "dos", s, d }
                if (dp == 25 && !((s, d) in sm)) { sm[s, d] = 1; if (++smn[s] == 20) print "spam", s }
            }
            if (si && client) {
                if (!(s in first)) first[s] = t
                if (!((s, dp) in seen)) { seen[s, dp] = 1; if (t >= first[s] + 3600) print "newport", s, dp }
            }
        }'
}
rules_of() { # TEXTFILE TRUTH: the rule lines, records in start-time order
    local fmt
    fmt=$(json_format "$2")
    awk -v fmt="$fmt" 'BEGIN { n = split(fmt, f, " "); for (i = 1; i <= n; i++) if (f[i] == "start") c = i }
        $0 != fmt { print $c, $0 }' "$1" | LC_ALL=C sort -s -n -k1,1 | cut -d' ' -f2- | literal_rules "$fmt"
}
for x in a f; do
    out=$(rules_of "$T/$x.txt" "$T/$x/truth.json")
    got=$(cut -d' ' -f1 <<<"$out" | LC_ALL=C sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
    # 3 brute forces, 4 DoS + the 3 GB upload, PortSweep, PortProbe, Spambot, NetworkPortUnusual.
    [ "$got" = "brute=3 dos=5 newport=1 probe=1 spam=1 sweep=1 " ] || fail "literal rules on $x: $got
$out"
    grep -q '^newport .* 6667$' <<<"$out" || fail "NetworkPortUnusual on $x is not the plant's: $out"
done
say "   ok: brute=3 dos=5 newport=1 probe=1 spam=1 sweep=1 in both"

say "all checks passed"
