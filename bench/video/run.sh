#!/usr/bin/env bash
# Video benchmark: takedown's vPDQ (ffmpeg child process + takedown's PDQ) and VideoIndex
# against Meta's C++ through the PyPI vpdq package, same files, same run, one report.
#
#   bench/video/run.sh                         (from anywhere)
#   bench/video/run.sh --references 24 --speed-runs 5
#
# 1. installs, if missing, the Debian packages the anchor builds against (ffmpeg, cmake,
#    pkg-config and the libav*-dev headers: PyPI's vpdq is a source distribution linking
#    Debian's FFmpeg libraries, the same ones the ffmpeg command uses);
# 2. creates a Python virtual environment in target/bench-video-venv and pip-installs vpdq;
# 3. builds and runs the Rust driver (bench/video/video_bench.rs, an example of
#    takedown-index): it generates the corpus with ffmpeg lavfi sources under
#    target/bench-video (fixed seed; kept between runs, delete the folder to regenerate),
#    applies the transforms, hashes everything with takedown and with the anchor, calibrates
#    thresholds on >= 3 million negative pairs, and prints recall per transform and speed.
# Nothing here is part of `cargo test`; everything it writes stays under target/.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/h-video}
need=()
for package in ffmpeg cmake pkg-config libavcodec-dev libavformat-dev libavdevice-dev \
    libavutil-dev libswscale-dev libswresample-dev libavfilter-dev fonts-dejavu-core; do
    dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if [ ! -x target/bench-video-venv/bin/python ] ||
    ! target/bench-video-venv/bin/python -c 'import vpdq' 2>/dev/null; then
    python3 -m venv target/bench-video-venv
    target/bench-video-venv/bin/pip install --quiet vpdq
fi
cargo build --release -p takedown-index --example video_bench
"$CARGO_TARGET_DIR/release/examples/video_bench" --python target/bench-video-venv/bin/python \
    --anchor bench/video/anchor.py "$@"
