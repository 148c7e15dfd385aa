#!/usr/bin/env bash
# duckdb_node.sh DIR: makes sure DIR (an npm prefix) holds DuckDB's node client,
# @duckdb/node-api, installing it from the npm registry when it is missing (pinned: 1.5.6-r.1,
# the DuckDB the benchmarks use; its versions carry a pre-release tag, which a range such as
# "@1" would not match). The tests that read
# floe's Parquet with DuckDB call this first. Exit 1 with a message when it cannot be had.
set -euo pipefail
dir=$1
loads() { (cd "$dir" 2>/dev/null && node -e "require('@duckdb/node-api')" >/dev/null 2>&1); }
command -v node >/dev/null || { echo "duckdb_node.sh: node not found (./dev.sh setup installs it)" >&2; exit 1; }
if ! loads; then
    mkdir -p "$dir"
    echo "duckdb_node.sh: installing @duckdb/node-api into $dir" >&2
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error @duckdb/node-api@1.5.6-r.1 >&2 || true
    loads || { echo "duckdb_node.sh: could not install or load @duckdb/node-api in $dir (offline?)" >&2; exit 1; }
fi
