#!/usr/bin/env bash
# Benchmark ctq against what people use today. Builds release ctq, generates the corpus if it is
# missing, warms the page cache, then times every command interleaved, RUNS times each.
#
#   bench/run.sh [SIZE_MB] [RUNS] [DAYS]        defaults: 1000 MB of trail JSON, 5 runs, 30 days
#
# Environment: CORPUS (folder; default target/bench/corpus-<SIZE_MB>mb), CTQ_BENCH_PROFILE
# (cargo profile, default release; CI uses dev on a tiny corpus just to check the script works),
# PEERS=0 to skip DuckDB and zcat|jq. DuckDB runs when the `duckdb` Python package is installed
# (`pip install duckdb`), jq when `jq` is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1000}
runs=${2:-5}
days=${3:-30}
profile=${CTQ_BENCH_PROFILE:-release}
corpus=${CORPUS:-target/bench/corpus-${size}mb}

# gen_corpus is bench/gen_corpus.rs, built as a Cargo example (see Cargo.toml).
cargo build -q --profile "$profile" --bin ctq --example gen_corpus
dir=target/$([ "$profile" = dev ] && echo debug || echo "$profile")
if [ ! -f "$corpus/corpus.txt" ]; then
  echo "generating $size MB of trail JSON over $days days in $corpus" >&2
  rm -rf "$corpus"
  "$dir/examples/gen_corpus" "$corpus" "$size" "$days" >/dev/null
fi
exec python3 bench/bench.py --ctq "$dir/ctq" --corpus "$corpus" --runs "$runs" --peers "${PEERS:-1}"
