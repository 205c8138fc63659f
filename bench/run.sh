#!/usr/bin/env bash
# Benchmark ctq against what people use today. Builds ctq, generates the corpus if it is missing,
# then times every command interleaved, RUNS times each. Two scenarios:
#
#   bench/run.sh [disk] [SIZE_MB] [RUNS] [DAYS]   local files: defaults 1000 MB of trail JSON,
#                                                 5 runs, 30 days (the page cache warmed first)
#   bench/run.sh latency [RUNS]                   S3 at real latency: one day of an organization
#                                                 trail on bench/s3_server.rs (3 runs by default)
#
# Environment: CORPUS (folder; default target/bench/corpus-<SIZE_MB>mb), CTQ_BENCH_PROFILE
# (cargo profile, default release; CI uses dev on a tiny input just to check the script works),
# PEERS=0 to skip DuckDB and zcat|jq. DuckDB runs when the `duckdb` Python package is installed
# (`pip install duckdb`), jq when `jq` is on PATH. For `latency`: ORG="ACCOUNTS REGIONS FILES
# EVENTS" (default "50 4 96 10": 19,200 objects of about 10 events), LATENCY_MS (default 30);
# DuckDB's httpfs runs from a virtualenv in target/bench/duckdb-httpfs, made on first use (DuckDB
# 1.5.5 with the httpfs extension from PyPI: 2.0's cannot be installed without its own server).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=disk
case "${1:-}" in
  disk | latency) scenario=$1; shift ;;
esac
profile=${CTQ_BENCH_PROFILE:-release}
dir=target/$([ "$profile" = dev ] && echo debug || echo "$profile")

if [ "$scenario" = latency ]; then
  runs=${1:-3}
  read -r accounts regions files events <<<"${ORG:-50 4 96 10}"
  root=target/bench/org-${accounts}x${regions}x${files}x${events}
  cargo build -q --profile "$profile" --bin ctq --example gen_corpus --example s3_server
  if [ ! -f "$root/trail/corpus.txt" ]; then
    echo "generating an organization trail of $accounts accounts x $regions regions x $files files in $root" >&2
    rm -rf "$root"
    "$dir/examples/gen_corpus" "$root/trail" --org "$accounts" "$regions" "$files" "$events" >/dev/null
  fi
  duck=()
  if [ "${PEERS:-1}" = 1 ]; then
    venv=target/bench/duckdb-httpfs
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import duckdb_extension_httpfs" 2>/dev/null; then
      python3 -m venv "$venv" && "$venv/bin/pip" install -q duckdb==1.5.5 duckdb-extension-httpfs==1.5.5 \
        || echo "note: DuckDB httpfs could not be installed: skipped" >&2
    fi
    "$venv/bin/python" -c "import duckdb_extension_httpfs" 2>/dev/null && duck=(--duckdb-python "$venv/bin/python")
  fi
  exec python3 bench/latency.py --ctq "$dir/ctq" --server "$dir/examples/s3_server" --root "$root" \
    --runs "$runs" --latency-ms "${LATENCY_MS:-30}" "${duck[@]}"
fi

size=${1:-1000}
runs=${2:-5}
days=${3:-30}
corpus=${CORPUS:-target/bench/corpus-${size}mb}
# gen_corpus is bench/gen_corpus.rs, built as a Cargo example (see Cargo.toml).
cargo build -q --profile "$profile" --bin ctq --example gen_corpus
if [ ! -f "$corpus/corpus.txt" ]; then
  echo "generating $size MB of trail JSON over $days days in $corpus" >&2
  rm -rf "$corpus"
  "$dir/examples/gen_corpus" "$corpus" "$size" "$days" >/dev/null
fi
exec python3 bench/bench.py --ctq "$dir/ctq" --corpus "$corpus" --runs "$runs" --peers "${PEERS:-1}"
