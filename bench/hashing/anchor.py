#!/usr/bin/env python3
"""Anchor for takedown's hashing benchmark: PyPI `pdqhash` (Cython bindings over Meta's C++
PDQ core) with Pillow decoding, timed on the same files as takedown.

This script uses a Python virtual environment under `target/bench-venv` (relative to the
repository root). If the environment or its packages are missing it creates it and runs
`pip install pdqhash pillow numpy` there, then re-runs itself inside it. Nothing is installed
outside `target/`, and none of this is part of `cargo test`.

Usage: anchor.py [--dir target/bench-corpus] [--out target/bench-results/anchor.json]
                 [--runs 5]

Stages (images per second, median of --runs after a warm-up pass):
  e2e       open + decode with Pillow (RGB), then pdqhash.compute on the full-size array:
            what a Python user of pdqhash writes.
  e2e-512   the same with the C++ reference's own first step added: the nearest-neighbour
            resize to 512x512 of images with a side over 512 (pdqhash's binding skips it, so
            on large images it filters every pixel). This is the reference CLI's pipeline.
  decode    Pillow decode only, from bytes in memory.
  hash      pdqhash.compute only, on pre-decoded full-size arrays.
  hash-512  the 512 step plus pdqhash.compute, on pre-decoded arrays.
Each stage runs in one process, then in a fork-based multiprocessing pool with one worker
per core (workers inherit the decoded arrays, so nothing is pickled but indices and hashes).
"""

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "target" / "bench-venv"
PACKAGES = ["pdqhash", "pillow", "numpy"]


def ensure_venv():
    """Re-executes this script inside target/bench-venv, creating it if needed."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        print(f"creating a virtual environment in {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    probe = subprocess.run(
        [str(python), "-c", "import pdqhash, PIL, numpy"], capture_output=True
    )
    if probe.returncode != 0:
        print(f"installing {' '.join(PACKAGES)} into {VENV}", file=sys.stderr)
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", *PACKAGES])
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


ensure_venv()

import io  # noqa: E402
import multiprocessing  # noqa: E402

import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402

# Globals inherited by forked pool workers.
FILES = []
BYTES = []
ARRAYS = []


def to_hex(vector):
    """pdqhash's bit vector is the hash's big-endian bit string, the reference's hex order."""
    return "%064x" % int("".join("1" if b else "0" for b in vector), 2)


def decode_path(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def reference_512(array):
    """The C++ reference's first step: nearest-neighbour to 512x512 when a side exceeds 512,
    sampling floor(x * from / 512) as CImg does."""
    h, w = array.shape[:2]
    if h <= 512 and w <= 512:
        return array
    rows = (np.arange(512) * h) // 512
    cols = (np.arange(512) * w) // 512
    return array[rows[:, None], cols[None, :]]


def e2e(i):
    return pdqhash.compute(decode_path(FILES[i]))[1]


def e2e_512(i):
    return pdqhash.compute(reference_512(decode_path(FILES[i])))[1]


def decode(i):
    with Image.open(io.BytesIO(BYTES[i])) as image:
        return np.asarray(image.convert("RGB")).shape[0]


def hash_full(i):
    return pdqhash.compute(ARRAYS[i])[1]


def hash_512(i):
    return pdqhash.compute(reference_512(ARRAYS[i]))[1]


def median_rate(runs, n, work):
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        rates.append(n / (time.perf_counter() - start))
    return sorted(rates)[len(rates) // 2], rates


def main():
    args = sys.argv[1:]

    def option(name, default):
        return args[args.index(name) + 1] if name in args else default

    corpus = Path(option("--dir", str(ROOT / "target" / "bench-corpus")))
    out = Path(option("--out", str(ROOT / "target" / "bench-results" / "anchor.json")))
    runs = max(1, int(option("--runs", "5")))
    manifest = (corpus / "manifest.txt").read_text().split()
    cores = os.cpu_count() or 1
    results, hashes, sets = [], {}, {}
    stages = [("e2e", e2e), ("e2e-512", e2e_512), ("decode", decode),
              ("hash", hash_full), ("hash-512", hash_512)]
    for set_name in ("small", "large"):
        names = [m for m in manifest if m.startswith(set_name + "/")]
        if not names:
            continue
        FILES[:] = [str(corpus / m) for m in names]
        BYTES[:] = [Path(f).read_bytes() for f in FILES]
        ARRAYS[:] = [decode_path(f) for f in FILES]
        n = len(FILES)
        h, w = ARRAYS[0].shape[:2]
        sets[set_name] = {"files": n, "width": w, "height": h}
        print(f"{set_name}: {n} files {w}x{h}", file=sys.stderr)
        for name, array in zip(names, ARRAYS):
            full, q_full = pdqhash.compute(array)
            small, q_small = pdqhash.compute(reference_512(array))
            hashes[name] = {"full": to_hex(full), "quality_full": int(q_full),
                            "r512": to_hex(small), "quality_r512": int(q_small)}
        # Fork after the globals are filled so that workers share them copy-on-write.
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(cores) as pool:
            chunk = max(1, n // (cores * 4))
            pool.map(e2e, range(n), chunksize=chunk)  # warm-up (imports, page cache)
            for stage, function in stages:
                single = median_rate(runs, n, lambda: [function(i) for i in range(n)])
                multi = median_rate(
                    runs, n, lambda: pool.map(function, range(n), chunksize=chunk))
                for threads, (median, all_runs) in ((1, single), (cores, multi)):
                    print(f"  {stage:8} {threads} process(es): {median:8.1f} images/s",
                          file=sys.stderr)
                    results.append({"set": set_name, "stage": stage, "threads": threads,
                                    "images_per_second": median, "runs": all_runs})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "tool": "pdqhash+Pillow",
        "versions": {"pdqhash": pdqhash.__version__, "pillow": PIL.__version__,
                     "numpy": np.__version__, "python": sys.version.split()[0]},
        "cores": cores, "runs": runs, "sets": sets, "results": results, "hashes": hashes,
    }, indent=1))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
