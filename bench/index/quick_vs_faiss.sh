#!/usr/bin/env bash
# Preemption-filtered comparison on a busy machine: takedown-index (radius 31, --quick) and
# FAISS IndexBinaryMultiHash(256,16,16) nflip=1 (range_search 32), back to back on the same
# files, each query timed as its fastest of 3 passes over all queries. Uses the venv under
# target/bench-venv (see run.sh). Usage: bench/index/quick_vs_faiss.sh [n] [dataset...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/h-index}"
n="${1:-10000000}"
shift || true
datasets=("${@:-uniform}")
cargo build --release -p takedown-index --example index_bench
for dataset in "${datasets[@]}"; do
    # --quick writes the hash and query files, builds, and prints the filtered p50.
    "$CARGO_TARGET_DIR/release/examples/index_bench" --quick --sizes "$n" --runs 3 --datasets "$dataset" \
        --queries 300 2>/dev/null | grep "^$dataset"
    target/bench-venv/bin/python bench/index/faiss_anchor.py --only multihash --passes 3 \
        --nq-multihash 300 "target/index-bench/$dataset-$n.hashes.bin" \
        "target/index-bench/$dataset-$n.queries.bin" | grep -E "build_s|p50|p99"
done
