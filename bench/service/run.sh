#!/usr/bin/env bash
# The matching service under load: lookups by hash and hash-and-match uploads over HTTP against
# a real `takedown serve` process, with the server's resident memory, at each bank size given.
# Results and the reading of them: docs/benchmarks.md, "Service".
#
#   bench/service/run.sh                      # HASHES="1000000 10000000" PHASE_SECONDS=20
#
# Each bank is generated once into $TMPDIR/takedown-service-bench-N.sqlite (10M: about 3 GB of
# disk and several minutes of bulk import) and reused by later runs; delete it to regenerate.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p takedown-cli
cargo build --release -p takedown-server --example service_bench
for hashes in ${HASHES:-1000000 10000000}; do
    echo "== $hashes hashes"
    target/release/examples/service_bench "$hashes" "${PHASE_SECONDS:-20}"
done
