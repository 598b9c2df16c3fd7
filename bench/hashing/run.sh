#!/usr/bin/env bash
# Hashing benchmark: takedown against its anchors, same files, same run, one table.
#
#   bench/hashing/run.sh            (from anywhere; works in the repository root)
#   ROUNDS=2 RUNS=3 SMALL=100 LARGE=12 bench/hashing/run.sh
#
# 1. builds the Rust benchmark (crates/corpus/examples/hash_bench.rs, release) and generates
#    the corpus once into target/bench-corpus (fixed seed: 1024x768 images of every style and
#    3000x2000 photo-like images, JPEG quality 85);
# 2. runs, ROUNDS times and interleaved (the machine is shared and noisy, so every tool sees
#    the same mix of quiet and busy moments), takedown, the PyPI pdqhash + Pillow anchor
#    (anchor.py: creates a Python virtual environment in target/bench-venv and pip-installs
#    pdqhash, pillow and numpy there) and Meta's C++ reference built from pdqhash's source
#    distribution (reference.py: needs g++ and Debian's imagemagick; skipped if absent);
# 3. prints the side-by-side table with medians over all runs of all rounds, ratios, the C++
#    reference's published figures, the goals and the hash agreement (report.py).
# Nothing here is part of `cargo test`; everything it writes stays under target/.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-2}
RUNS=${RUNS:-3}
SMALL=${SMALL:-100}
LARGE=${LARGE:-12}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/h-corpus}
RESULTS=target/bench-results/hashing
BIN=$CARGO_TARGET_DIR/release/examples/hash_bench

cargo build --release -p takedown-corpus --example hash_bench
"$BIN" --generate-only --small "$SMALL" --large "$LARGE"

have_reference=1
if ! command -v g++ >/dev/null || ! [ -x /usr/bin/convert ]; then
    echo "g++ or ImageMagick (/usr/bin/convert) missing: skipping the C++ reference" >&2
    have_reference=0
fi

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RESULTS/machine.txt"

for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round of $ROUNDS" >&2
    "$BIN" --small "$SMALL" --large "$LARGE" --runs "$RUNS" --out "$RESULTS/takedown-$round.json"
    python3 bench/hashing/anchor.py --runs "$RUNS" --out "$RESULTS/anchor-$round.json"
    if [ "$have_reference" = 1 ]; then
        python3 bench/hashing/reference.py --runs "$RUNS" --out "$RESULTS/reference-$round.json"
    fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/machine.txt"

cat "$RESULTS/machine.txt"
python3 bench/hashing/report.py "$RESULTS" | tee "$RESULTS/table.md"
