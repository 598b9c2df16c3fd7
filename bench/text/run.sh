#!/usr/bin/env bash
# Text benchmark: takedown's text signature against TLSH (HMA's text signal) and MinHash on
# the same generated corpus, in one run.
#
#   bench/text/run.sh                 (from anywhere)
#   bench/text/run.sh --bank 4000 --negatives 1500 --speed-bank 100000
#
# 1. builds and runs the Rust driver (bench/text/text_bench.rs, an example of takedown-index):
#    it generates the corpus with a fixed seed (English and Arabic statements of 24 made-up
#    outlets with shared openings and closings; neutral placeholder wording only), calibrates
#    the threshold on >= 3 million negative pairs, measures recall per transform, speed, and
#    writes target/bench-text/corpus.tsv;
# 2. creates a Python virtual environment in target/bench-text-venv on first use (pip:
#    py-tlsh, datasketch, numpy) and runs the anchors (anchor.py) on the same corpus.
# Nothing here is part of `cargo test`; everything it writes stays under target/.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/h-video}
OUT=target/bench-text
cargo build --release -p takedown-index --example text_bench
"$CARGO_TARGET_DIR/release/examples/text_bench" --out "$OUT" "$@"
if [ ! -x target/bench-text-venv/bin/python ]; then
    python3 -m venv target/bench-text-venv
    target/bench-text-venv/bin/pip install --quiet py-tlsh datasketch numpy
fi
echo
target/bench-text-venv/bin/python bench/text/anchor.py "$OUT/corpus.tsv" | tee "$OUT/anchors.md"
