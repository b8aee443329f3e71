#!/bin/bash
# Writes random Parquet files (parquet_roundtrip_gen) and reads them back with hyparquet and DuckDB
# (readers_test.mjs). The npm packages are installed once into <cache dir> and reused; the test
# skips only when npm cannot install them.
# Usage: readers_test.sh <parquet_roundtrip_gen> <readers_test.mjs> <cache dir> <work dir>
set -u
gen=$1 script=$2 cache=$3 work=$4
packages=(hyparquet hyparquet-compressors @duckdb/node-api)

installed() {
  for p in "${packages[@]}"; do [[ -f "$cache/node_modules/$p/package.json" ]] || return 1; done
}

if ! installed; then
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "SKIP: node/npm not installed (needed for hyparquet and @duckdb/node-api)"
    exit 0
  fi
  mkdir -p "$cache"
  start=$(date +%s)
  # One install per build tree; a concurrent run waits for it.
  if ! (flock 9 && { installed || timeout 300 npm install --no-audit --no-fund --prefix "$cache" \
        "${packages[@]}" >"$cache/npm-install.log" 2>&1; }) 9>"$cache/.lock"; then
    echo "SKIP: npm could not install ${packages[*]} (see $cache/npm-install.log):"
    tail -5 "$cache/npm-install.log"
    exit 0
  fi
  echo "npm install took $(( $(date +%s) - start )) s"
fi

rm -rf "$work" && mkdir -p "$work" || exit 1
seeds=(1 2 3 4 5 6)
"$gen" "$work" "${seeds[@]}" || { echo "FAIL: parquet_roundtrip_gen"; exit 1; }
bases=()
for s in "${seeds[@]}"; do bases+=("records_$s" "types_$s"); done
exec timeout 120 node "$script" "$cache" "$work" "${bases[@]}"
