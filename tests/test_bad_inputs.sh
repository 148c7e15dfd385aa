#!/usr/bin/env bash
# The bad-input corpus: each case a small tree built here, run through `floe analyze`, with its
# expected outcome: the records around the damage counted exactly, the skips counted, a message
# naming the file and the place (line, byte or reason), exit 0, and exit 1 under --strict when
# something was skipped (a well-formed oddity, like a header alone or a new header mid-file,
# is not a skip). Prints the outcomes as a table.
# Usage: test_bad_inputs.sh FLOE [SHRINK_SHIM]   (floe_test_shrink.so: the shrinking-file case)
set -euo pipefail
. "$(dirname "$0")/floe_test_lib.sh"
floe=$(realpath "$1")
work=$(mktemp -d)
cd "$work" # messages name the cases' files relative to it
trap 'chmod -R u+rwX "$work" 2>/dev/null; rm -rf "$work"' EXIT
H='version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
G='2 123456789012 eni-1 10.0.0.1 10.0.0.2 1000 22 6 3 180 1793491267 1793491277 ACCEPT OK'
good() { # a header and three good records
    echo "$H"
    for _ in 1 2 3; do echo "$G"; done
}
line() { # a record with field NUMBER (1-based) replaced by VALUE
    echo "$G" | awk -v n="$1" -v v="$2" '{ $n = v; print }'
}

printf '%-22s %8s %8s %5s %7s  %s\n' case records skipped exit strict message
# CASE RECORDS SKIPPED STRICT_EXIT MESSAGE_REGEX: runs floe over $work/CASE (or standard input
# from $work/CASE.stdin when that exists) and checks the outcome.
check() {
    local name=$1 records=$2 skipped=$3 strict=$4 pattern=$5 input=$1 in=/dev/null
    if [ -e "$work/$name.stdin" ]; then
        input=-
        in=$work/$name.stdin
    fi
    set +e
    # shellcheck disable=SC2086 # $PREFIX: a command prefix (VAR=VALUE words, setpriv ...), or nothing
    env ${PREFIX:-} "$floe" analyze -o "$work/$name.csv" --stats "$work/$name.json" "$input" <"$in" >/dev/null 2>"$work/$name.err"
    local rc=$?
    # shellcheck disable=SC2086
    env ${PREFIX:-} "$floe" analyze -q --strict -o "$work/$name.strict.csv" "$input" <"$in" >/dev/null 2>&1
    local src=$?
    set -e
    [ "$rc" = 0 ] || fail "$name: exit $rc, not 0: $(head -c 600 "$work/$name.err")"
    [ "$src" = "$strict" ] || fail "$name: --strict exit $src, not $strict"
    local got_records got_skipped
    got_records=$(jq .records "$work/$name.json")
    got_skipped=$(jq .skipped "$work/$name.json")
    [ "$got_records" = "$records" ] || fail "$name: $got_records records, not $records"
    [ "$got_skipped" = "$skipped" ] || fail "$name: $got_skipped skipped, not $skipped"
    local said
    said=$(grep -E -m1 -- "$pattern" "$work/$name.err" | sed 's/^ *//') ||
        fail "$name: no message like /$pattern/: $(head -c 600 "$work/$name.err")"
    printf '%-22s %8s %8s %5s %7s  %s\n' "$name" "$got_records" "$got_skipped" "$rc" "$src" "${said:0:90}"
    pass "$name" >/dev/null
}

mkdir "$work/truncated-gzip" # the second member cut after its header
{ good | gzip -c; good | gzip -c | head -c 10; } >"$work/truncated-gzip/x.log.gz"
check truncated-gzip 3 1 1 'x\.log\.gz: byte [0-9]+: truncated'

mkdir "$work/truncated-zstd" # the second frame cut inside its header
{ good | zstd -q -c; good | zstd -q -c | head -c 8; } >"$work/truncated-zstd/x.log.zst"
check truncated-zstd 3 1 1 'x\.log\.zst: byte [0-9]+: truncated'

mkdir "$work/garbage-after-gzip"
{ good | gzip -c; printf 'garbage after the member'; } >"$work/garbage-after-gzip/x.log.gz"
check garbage-after-gzip 3 1 1 'x\.log\.gz: byte [0-9]+: corrupt'

mkdir "$work/zero-byte"
: >"$work/zero-byte/empty.log.gz"
good >"$work/zero-byte/good.log"
check zero-byte 3 1 1 'empty\.log\.gz: read: empty file \(0 bytes\)'

mkdir "$work/header-only"
echo "$H" >"$work/header-only/header.log"
good >"$work/header-only/good.log"
check header-only 3 0 0 '^lines +5 \(headers 2, blank 0, bad 0\)'

mkdir "$work/junk-named-gz" # binary, not gzip, under a .log.gz name: lines of 2 fields
for _ in $(seq 200); do printf '\xde\xad\xbe\xef\x00\x01 \x02\n'; done >"$work/junk-named-gz/junk.log.gz"
good >"$work/junk-named-gz/good.log"
check junk-named-gz 3 200 1 'junk\.log\.gz:1: wrong number of fields \(2 of 14 fields\)'

mkdir "$work/64mb-line" # a 64 MiB line without a newline, after a good record
{
    echo "$H"
    echo "$G"
    head -c 67108864 /dev/zero | tr '\0' x
} >"$work/64mb-line/x.log"
check 64mb-line 1 1 1 'x\.log:3: line too long'

mkdir "$work/wrong-field-count"
{
    echo "$H"
    echo "$G"
    echo "$G" | cut -d' ' -f1-9
    echo "$G extra"
    echo "$G"
} >"$work/wrong-field-count/x.log"
check wrong-field-count 2 2 1 'x\.log:3: wrong number of fields \(9 of 14 fields\)'

mkdir "$work/bad-numbers" # not a number; too large for a bigint
{
    echo "$H"
    echo "$G"
    line 9 three
    line 10 99999999999999999999
    echo "$G"
} >"$work/bad-numbers/x.log"
check bad-numbers 2 2 1 'x\.log:4: number out of range \(bytes\)'

mkdir "$work/port-above-65535"
{
    echo "$H"
    line 6 65536
    echo "$G"
} >"$work/port-above-65535/x.log"
check port-above-65535 1 1 1 'x\.log:2: number out of range \(srcport\)'

mkdir "$work/bad-addresses" # IPv4 and IPv6
{
    echo "$H"
    line 4 10.0.0.256
    line 5 2001:db8:::1
    echo "$G"
} >"$work/bad-addresses/x.log"
check bad-addresses 1 2 1 'x\.log:3: not an IP address \(dstaddr\)'

mkdir "$work/unknown-field" # its values are dropped (a skip), the records kept
{
    echo "$H my-field"
    echo "$G zz"
} >"$work/unknown-field/x.log"
check unknown-field 1 1 1 "unknown field 'my-field' skipped \\(first seen .*x\\.log:1\\)"

mkdir "$work/header-mid-file" # a new format from there on, as in concatenated files
{
    good
    echo "version srcaddr dstaddr action"
    echo "2 10.0.0.9 10.0.0.8 REJECT"
} >"$work/header-mid-file/x.log"
check header-mid-file 4 0 0 '^lines +6 \(headers 2, blank 0, bad 0\)'

mkdir "$work/mixed-formats" # v2 gzip, a v5 custom format, zstd
good | gzip -c >"$work/mixed-formats/a.log.gz"
{
    echo "version interface-id srcaddr dstaddr srcport dstport protocol bytes packets start end action tcp-flags flow-direction"
    echo "5 eni-2 10.0.1.5 52.94.1.1 44321 443 6 5000 12 1793491267 1793491277 ACCEPT 19 egress"
} | zstd -q -c >"$work/mixed-formats/b.log.zst"
check mixed-formats 4 0 0 '^files +2 \(plain 0, gzip 1, zstd 1\)'

mkdir -p "$work/symlink-loop/a"
ln -s .. "$work/symlink-loop/a/loop"
good >"$work/symlink-loop/a/good.log"
check symlink-loop 3 1 1 'loop: symlink loop'

# Unreadable: a file without read permission. Root reads it anyway, so as root floe runs as
# nobody (setpriv) over a tree nobody may read but for that file.
mkdir "$work/unreadable"
good >"$work/unreadable/good.log"
good >"$work/unreadable/closed.log"
chmod 000 "$work/unreadable/closed.log"
if [ "$(id -u)" != 0 ]; then
    check unreadable 3 1 1 'closed\.log: open: Permission denied'
elif command -v setpriv >/dev/null; then
    chmod 777 "$work"
    chmod 755 "$work/unreadable"
    chmod 644 "$work/unreadable/good.log"
    PREFIX="setpriv --reuid=65534 --regid=65534 --clear-groups" check unreadable 3 1 1 \
        'closed\.log: open: Permission denied'
else
    echo "unreadable: not checked (root, and no setpriv to drop root)"
fi
mkdir "$work/stdin-is-a-directory.stdin"
check stdin-is-a-directory 0 1 1 '-: read: Is a directory'

# A file that shrinks while read (the shim's fstat promises 64 KiB more than it holds): the
# records before its new end count, the line the end cut off is dropped, the file is named.
if [ -n "${2:-}" ]; then
    mkdir "$work/shrinks-while-read"
    good >"$work/shrinks-while-read/good.log"
    {
        good
        printf '2 123456789012 eni-1 10.0.0.1'
    } >"$work/shrinks-while-read/shrinks.log"
    PREFIX="LD_PRELOAD=$2 FLOE_TEST_SHRINK=shrinks.log" check shrinks-while-read 6 1 1 \
        'shrinks\.log: read: the file shrank while being read'
fi

echo "test_bad_inputs: $checks cases passed"
