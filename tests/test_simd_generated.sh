#!/usr/bin/env bash
# Generates small plain-text trees (default, v5 and all-fields formats, and CloudWatch-free S3
# layout) and checks that every scan level parses them identically.
# Usage: test_simd_generated.sh FLOE_GEN TEST_SIMD_GENERATED
set -euo pipefail
gen=$1
check=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for format in v2 v5 all; do
    "$gen" -o "$dir/$format" --seed 11 --size 3M --codec plain --format "$format" 2>/dev/null
done
mapfile -t files < <(find "$dir" -name '*.log' | sort)
echo "checking ${#files[@]} generated files"
"$check" "${files[@]}"
