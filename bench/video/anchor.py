"""vPDQ anchor: Meta's C++ through the PyPI ``vpdq`` package, on the files takedown hashed.

Reads a job list (one ``video<TAB>output<TAB>seconds_per_hash`` per line), hashes each video
with ``vpdq.computeHash`` and writes Meta's line format to the output path, then prints one
``video<TAB>seconds`` line per job (wall time of the call) so the driver can compare speed.
"""
import sys
import time

import vpdq


def main():
    with open(sys.argv[1], encoding="utf-8") as jobs:
        for line in jobs:
            video, output, seconds_per_hash = line.rstrip("\n").split("\t")
            started = time.perf_counter()
            features = vpdq.computeHash(video, seconds_per_hash=float(seconds_per_hash))
            elapsed = time.perf_counter() - started
            with open(output, "w", encoding="utf-8") as out:
                for f in features:
                    out.write(f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}\n")
            print(f"{video}\t{elapsed:.6f}", flush=True)


if __name__ == "__main__":
    main()
