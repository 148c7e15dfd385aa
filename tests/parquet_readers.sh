#!/usr/bin/env bash
# parquet_readers.sh DIR: makes sure DIR (an npm prefix) holds the outside Parquet readers the
# tests check floe's files with, installing them from the npm registry when one is missing:
#   @duckdb/node-api 1.5.6-r.1   DuckDB (the DuckDB the benchmarks use; its versions carry a
#                                pre-release tag, which a range such as "@1" would not match)
#   parquet-wasm 0.8.0           arrow-rs, the Rust implementation, with
#   apache-arrow 21.2.0          Arrow JS to read its tables
# Exit 1 with a message when they cannot be had.
set -euo pipefail
dir=$1
packages=(@duckdb/node-api@1.5.6-r.1 parquet-wasm@0.8.0 apache-arrow@21.2.0)
loads() {
    (cd "$dir" 2>/dev/null &&
        node -e "require('@duckdb/node-api'); require('parquet-wasm'); require('apache-arrow')" \
            >/dev/null 2>&1)
}
command -v node >/dev/null || { echo "parquet_readers.sh: node not found (./dev.sh setup installs it)" >&2; exit 1; }
if ! loads; then
    mkdir -p "$dir"
    echo "parquet_readers.sh: installing ${packages[*]} into $dir" >&2
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "${packages[@]}" >&2 || true
    loads || { echo "parquet_readers.sh: could not install or load ${packages[*]} in $dir (offline?)" >&2; exit 1; }
fi
