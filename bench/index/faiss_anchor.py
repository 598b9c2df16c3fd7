#!/usr/bin/env python3
"""FAISS anchors for the takedown-index benchmark (run by crates/index/examples/index_bench.rs).

Runs from a virtual environment under target/bench-venv (created by bench/index/run.sh:
`python3 -m venv target/bench-venv && target/bench-venv/bin/pip install faiss-cpu numpy`).
It is never part of `cargo test`.

Reads the hash and query files the Rust driver wrote (raw 32-byte hashes, the four u64 limbs
little-endian; bit order is irrelevant to Hamming distance as long as both sides agree) and
measures HMA's PDQ index settings, IndexBinaryMultiHash(256, 16, 16) with nflip = 1, and
IndexBinaryFlat(256). FAISS range_search returns distance < radius, so radius + 1 is passed.
Prints `name=value` lines on stdout.
"""
import argparse
import os
import time

import faiss
import numpy as np


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(name, index, queries, radius, nq, threads_all, passes=1):
    """Single-query latency on one thread, then batch throughput on all threads.

    With passes > 1 each query's time is its fastest over that many passes over all queries
    (which filters out preemption on a busy machine), as the Rust driver's --quick mode does.
    """
    faiss.omp_set_num_threads(1)
    q = queries[:nq]
    times = [float("inf")] * len(q)
    total = 0
    for p in range(passes):
        for i in range(len(q)):
            t0 = time.perf_counter()
            lims, _d, _l = index.range_search(q[i : i + 1], radius + 1)
            times[i] = min(times[i], time.perf_counter() - t0)
            if p == 0:
                total += int(lims[-1])
    times.sort()
    p50 = times[len(times) // 2] * 1e3
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3
    mean = sum(times) / len(times)
    faiss.omp_set_num_threads(threads_all)
    t0 = time.perf_counter()
    index.range_search(q, radius + 1)
    qps_all = len(q) / (time.perf_counter() - t0)
    print(f"{name}.queries={len(q)}")
    print(f"{name}.p50_ms={p50:.4f}")
    print(f"{name}.p99_ms={p99:.4f}")
    print(f"{name}.qps1={1.0 / mean:.1f}")
    print(f"{name}.qps_all={qps_all:.1f}")
    print(f"{name}.total_results={total}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hashes")
    ap.add_argument("queries")
    ap.add_argument("--radius", type=int, default=31, help="inclusive radius (<=)")
    ap.add_argument("--flat-radius", type=int, default=47)
    ap.add_argument("--nq-multihash", type=int, default=1000)
    ap.add_argument("--nq-flat", type=int, default=200)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument(
        "--only",
        choices=["multihash", "flat"],
        help="measure one index (run each in its own process so RSS growth is not blurred "
        "by memory the other one freed)",
    )
    args = ap.parse_args()

    xb = np.fromfile(args.hashes, dtype=np.uint8).reshape(-1, 32)
    xq = np.fromfile(args.queries, dtype=np.uint8).reshape(-1, 32)
    print(f"faiss.version={faiss.__version__}")
    print(f"n={len(xb)}")

    if args.only in (None, "multihash"):
        faiss.omp_set_num_threads(args.threads)
        rss0 = rss_bytes()
        t0 = time.perf_counter()
        mh = faiss.IndexBinaryMultiHash(256, 16, 16)
        mh.nflip = 1
        mh.add(xb)
        build = time.perf_counter() - t0
        print(f"multihash.build_s={build:.3f}")
        print(f"multihash.rss_bytes={rss_bytes() - rss0}")
        measure(
            "multihash", mh, xq, args.radius, args.nq_multihash, args.threads, args.passes
        )
        del mh

    if args.only == "multihash":
        return
    faiss.omp_set_num_threads(args.threads)
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(xb)
    print(f"flat.build_s={time.perf_counter() - t0:.3f}")
    print(f"flat.rss_bytes={rss_bytes() - rss0}")
    measure("flat", flat, xq, args.radius, args.nq_flat, args.threads)
    measure("flat47", flat, xq, args.flat_radius, args.nq_flat, args.threads)


if __name__ == "__main__":
    main()
