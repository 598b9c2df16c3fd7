#!/usr/bin/env bash
# Analytics benchmark: every takedown-analytics analysis over 1M releases and 1M URL checks
# (generated with fixed seeds). Prints a markdown table: wall time per step and peak RSS so far.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/h-analytics}"
cargo build --release -p takedown-analytics --example analytics_bench
for run in 1 2 3; do
  echo "## run $run"
  "$CARGO_TARGET_DIR/release/examples/analytics_bench"
done
