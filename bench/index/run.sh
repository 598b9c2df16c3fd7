#!/usr/bin/env bash
# takedown-index benchmark: our index and scan against FAISS (faiss-cpu from PyPI) in one run.
#
# Creates a Python virtual environment under target/bench-venv (faiss-cpu, numpy) on first
# use; nothing here is part of `cargo test`. Extra arguments go to the Rust driver, e.g.
#   bench/index/run.sh                         # 1M uniform + clustered
#   bench/index/run.sh --sizes 1000000,10000000 --runs 3
#   bench/index/run.sh --crossover             # scan vs multi-index sweep (no FAISS)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/h-index}"
if [ ! -x target/bench-venv/bin/python ]; then
    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install --quiet faiss-cpu numpy
fi
cargo run --release -p takedown-index --example index_bench -- \
    --python target/bench-venv/bin/python --faiss-script bench/index/faiss_anchor.py "$@"
