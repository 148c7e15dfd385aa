# floe_test_lib.sh: what the shell end-to-end tests share. Source it after `set -euo pipefail`.
#   fail MESSAGE   print "FAIL: MESSAGE" on stderr and exit 1
#   pass MESSAGE   count a check and print "ok N - MESSAGE"; $checks holds the count
#   work_dir       set $work to a new temporary directory, removed on exit
#   gen_tree SEED SIZE   floe-gen ($gen) a gzip tree of SIZE of text under $work/tree
checks=0
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}
work_dir() {
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
}
gen_tree() {
    "$gen" -o "$work/tree" --seed "$1" --size "$2" --codec gzip >/dev/null 2>&1
}
