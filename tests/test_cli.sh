#!/usr/bin/env bash
# floe's command line as a user meets it: exit codes, messages that name file and place, JSON
# that always parses, files read once however they are named, gzip as the gzip tool writes it.
# Usage: test_cli.sh FLOE
set -uo pipefail
floe=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
passed=0
failed=0

expect() { # DESCRIPTION WANTED_EXIT COMMAND...   (stdout+stderr in $dir/out)
    local what=$1 want=$2
    shift 2
    "$@" >"$dir/out" 2>&1
    local got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $what: exit $got, wanted $want"
        sed 's/^/    /' "$dir/out" | head -20
    fi
}
expect_output() { # DESCRIPTION PATTERN   (grep -E over the last command's output)
    if grep -qE -- "$2" "$dir/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1: output lacks /$2/"
        sed 's/^/    /' "$dir/out" | head -20
    fi
}

header="version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
good="2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK"
mkdir -p "$dir/d"
printf '%s\n%s\n%s\n' "$header" "$good" "$good" > "$dir/d/a.log"
gzip -c "$dir/d/a.log" > "$dir/d/b.log.gz" # gzip writes the FNAME header field

expect "clean files" 0 "$floe" totals --strict "$dir/d"
expect_output "gzip with a file name in its header" "^records +4$"

expect "the same file named three ways is read once" 0 "$floe" totals "$dir/d" "$dir/./d/a.log" "$dir/d//a.log"
expect_output "read once" "^records +4$"

printf '%s\n%s\n2 1 eni-1 10.0.0.1 10.0.0.2 99999 1 6 1 1 1 1 ACCEPT OK\n' "$header" "$good" > "$dir/bad.log"
expect "bad lines are reported, not fatal" 0 "$floe" totals "$dir/bad.log"
expect_output "bad line named with file and line" "bad.log:3: number out of range \(srcport\)"
expect "--strict makes them fatal" 1 "$floe" totals --strict "$dir/bad.log"

head -c 60 "$dir/d/b.log.gz" > "$dir/cut.log.gz"
expect "a truncated archive is reported, not fatal" 0 "$floe" totals "$dir/cut.log.gz"
expect_output "truncated archive named with its offset" "cut.log.gz: byte [0-9]+: truncated"
expect "--strict makes it fatal" 1 "$floe" totals --strict "$dir/cut.log.gz"

printf '%s\n\xff\xfe\x00 junk \xc3\x28 "quote" \\ back\n' "$header" > "$dir/binary.log"
expect "binary junk" 0 "$floe" totals --json "$dir/binary.log"
cp "$dir/out" "$dir/binary.json"
expect "--json output parses whatever bytes the input held" 0 jq -e '.bad_lines == 1' "$dir/binary.json"
expect "--json output is valid UTF-8 (jq alone lets bad bytes through)" 0 iconv -f UTF-8 -t UTF-8 "$dir/binary.json"
expect "the excerpt keeps what follows a NUL byte" 0 jq -e '.bad_line_samples[0].text | test("junk")' "$dir/binary.json"

expect "a missing path" 1 "$floe" totals "$dir/nope"
expect_output "missing path named" "nope: No such file or directory"
expect "a bad short option" 2 "$floe" totals -x "$dir/d"
expect_output "the bad option named" "bad option '-x'"
expect "a bad long option" 2 "$floe" totals --nope "$dir/d"
expect_output "the bad long option named" "bad option '--nope'"
expect "a bad --format" 2 "$floe" totals --format "srcaddr srcaddr" "$dir/d"
expect "an unknown command" 2 "$floe" frobnicate
expect "--version" 0 "$floe" --version
expect_output "version printed" "^floe [0-9]+\.[0-9]+\.[0-9]+"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
