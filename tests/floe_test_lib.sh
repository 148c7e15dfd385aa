# floe_test_lib.sh: what the shell end-to-end tests share. Source it after `set -euo pipefail`.
#   fail MESSAGE   print "FAIL: MESSAGE" on stderr and exit 1
#   pass MESSAGE   count a check and print "ok N - MESSAGE"; $checks holds the count
checks=0
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}
