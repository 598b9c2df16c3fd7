#!/usr/bin/env python3
"""Builds Meta's C++ PDQ reference (`benchmark-photo-hasher`) and times it on the benchmark
corpus, so that the reference's own pipeline is measured in the same run as takedown.

Where the source comes from: PyPI's `pdqhash` source distribution vendors the reference
(ThreatExchange/pdq/cpp, with CImg). It is fetched with the virtual environment's pip
(`pip download pdqhash==0.2.8 --no-binary :all:` into target/bench-reference/, which needs
`cython` and `wheel` in target/bench-venv for pip's metadata step; this script installs them
there) and compiled with the flags of the reference's Makefile (g++ -std=c++11 -O3). Nothing
is installed outside target/; nothing here is part of `cargo test`.

How the reference reads files: CImg runs ImageMagick's `convert FILE pnm:-` for every JPEG
and parses the PNM (Debian package `imagemagick`, ImageMagick 6 Q16, as the reference's
README assumes). /usr/bin is put first on PATH so that CImg finds Debian's binary.

Usage: reference.py [--dir target/bench-corpus] [--out target/bench-results/reference-1.json]
                    [--runs 3]
Stages reported (one process; the reference is single-threaded):
  e2e       wall-clock time of the whole run: read + decode (ImageMagick) + 512 step + hash.
  read      the reference's own "read seconds" (CImg load through ImageMagick).
  hash-512  the reference's own "hash seconds": luma, Jarosz filter, DCT, median, after the
            512x512 step (which it does not time).
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / "target" / "bench-venv" / "bin" / "python"
WORK = ROOT / "target" / "bench-reference"
BINARY = WORK / "benchmark-photo-hasher"
VERSION = "0.2.8"
# The reference Makefile's LIBSRCS.
SOURCES = ["common/pdqhashtypes.cpp", "io/hashio.cpp", "common/pdqhamming.cpp",
           "hashing/pdqhashing.cpp", "downscaling/downscaling.cpp", "io/pdqio.cpp",
           "hashing/torben.cpp", "common/pdqutils.cpp"]


def build():
    if BINARY.exists():
        return
    if not VENV_PYTHON.exists():
        sys.exit("run bench/hashing/anchor.py first: it creates target/bench-venv")
    WORK.mkdir(parents=True, exist_ok=True)
    archive = WORK / f"pdqhash-{VERSION}.tar.gz"
    if not archive.exists():
        pip = [str(VENV_PYTHON), "-m", "pip"]
        subprocess.check_call([*pip, "install", "--quiet", "cython", "wheel"])
        subprocess.check_call([*pip, "download", f"pdqhash=={VERSION}", "--no-binary", ":all:",
                               "--no-deps", "--no-build-isolation", "--quiet",
                               "-d", str(WORK)])
    with tarfile.open(archive) as tar:
        tar.extractall(WORK, filter="data")
    cpp = WORK / f"pdqhash-{VERSION}" / "ThreatExchange" / "pdq" / "cpp"
    print(f"compiling the C++ reference in {cpp}", file=sys.stderr)
    subprocess.check_call(
        ["g++", "-g", "-std=c++11", "-I../..", "-I.", "-O3",
         "bin/benchmark-photo-hasher.cpp", *SOURCES, "-o", str(BINARY), "-lm", "-lpthread"],
        cwd=cpp)


def run_once(folder):
    env = dict(os.environ, PATH="/usr/bin:/bin:" + os.environ.get("PATH", ""))
    start = time.perf_counter()
    out = subprocess.run([str(BINARY), "-v", str(folder)], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    files = re.findall(r"^File: (.*)$", out, re.M)
    hashes = re.findall(r"^Hash: ([0-9a-f]{64})$", out, re.M)
    qualities = re.findall(r"^Quality: (\d+)$", out, re.M)
    read = sum(float(x) for x in re.findall(r"^Read seconds: ([0-9.]+)$", out, re.M))
    hashing = sum(float(x) for x in re.findall(r"^Hash seconds: ([0-9.]+)$", out, re.M))
    return files, hashes, qualities, wall, read, hashing


def main():
    args = sys.argv[1:]

    def option(name, default):
        return args[args.index(name) + 1] if name in args else default

    corpus = Path(option("--dir", str(ROOT / "target" / "bench-corpus")))
    out = Path(option("--out", str(ROOT / "target" / "bench-results" / "reference-1.json")))
    runs = max(1, int(option("--runs", "3")))
    if shutil.which("g++") is None:
        sys.exit("g++ is needed to build the C++ reference")
    build()
    results, hashes, sets = [], {}, {}
    for set_name in ("small", "large"):
        folder = corpus / set_name
        if not folder.is_dir():
            continue
        rates = {"e2e": [], "read": [], "hash-512": []}
        for _ in range(runs):
            files, found, qualities, wall, read, hashing = run_once(folder)
            n = len(files)
            rates["e2e"].append(n / wall)
            rates["read"].append(n / read)
            rates["hash-512"].append(n / hashing)
        for path, value, quality in zip(files, found, qualities):
            hashes[f"{set_name}/{Path(path).name}"] = {"hash": value, "quality": int(quality)}
        sets[set_name] = {"files": n}
        for stage, values in rates.items():
            median = statistics.median(values)
            print(f"  {set_name} {stage:8} 1 process: {median:8.1f} images/s", file=sys.stderr)
            results.append({"set": set_name, "stage": stage, "threads": 1,
                            "images_per_second": median, "runs": values})
    convert = subprocess.run(["/usr/bin/convert", "-version"], capture_output=True,
                             text=True).stdout.splitlines()[:1]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "tool": "C++ reference", "source": f"pdqhash-{VERSION} sdist, g++ -O3",
        "imagemagick": convert[0] if convert else "?", "runs": runs, "sets": sets,
        "results": results, "hashes": hashes,
    }, indent=1))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
