#!/usr/bin/env python3
"""Side-by-side table for the hashing benchmark (standard library only).

Usage: report.py RESULTS_DIR
Reads takedown-*.json (from the hash_bench example) and anchor-*.json (from anchor.py), pools
the timed runs of every round per (tool, set, stage, processes), and prints medians, ratios,
the C++ reference's published figures, the goals, and how far pdqhash's hashes are from
takedown's on the same files.
"""

import json
import statistics
import sys
from pathlib import Path

# pdq/cpp/hashing/README.md in facebook/ThreatExchange (their machine, one core).
PUBLISHED_HASH = (527, 566)
PUBLISHED_E2E = (27, 37)


def load(directory, prefix, required=True):
    docs = [json.loads(p.read_text()) for p in sorted(directory.glob(prefix + "-*.json"))]
    if not docs:
        if not required:
            return None
        sys.exit(f"no {prefix}-*.json in {directory}")
    pooled = {}
    for doc in docs:
        for r in doc["results"]:
            key = (r["set"], r["stage"], r["threads"])
            pooled.setdefault(key, []).extend(r["runs"])
    medians = {k: statistics.median(v) for k, v in pooled.items()}
    counts = {k: len(v) for k, v in pooled.items()}
    return docs, medians, counts


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def main():
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-results")
    ours_docs, ours, ours_n = load(directory, "takedown")
    theirs_docs, theirs, _ = load(directory, "anchor")
    cores = ours_docs[0]["cores"]
    sets = ours_docs[0]["sets"]
    versions = theirs_docs[0]["versions"]
    print(f"rounds: {len(ours_docs)} takedown, {len(theirs_docs)} anchor; "
          f"runs pooled per cell: {max(ours_n.values())}; cores: {cores}")
    print("anchor: pdqhash %(pdqhash)s, Pillow %(pillow)s, numpy %(numpy)s, "
          "Python %(python)s" % versions)
    for name, facts in sets.items():
        print(f"set {name}: {facts['files']} JPEG q85 files, {facts['width']}x{facts['height']}, "
              f"mean {facts['mean_bytes'] // 1024} KB")
    print()

    def ratio(a, b):
        return f"{a / b:5.1f}x" if a and b else "     -"

    refs = load(directory, "reference", required=False)
    ref = refs[1] if refs else {}

    def ratio(a, b):
        return f"{a / b:.1f}x" if a and b else "-"

    def pair(ours_v, v):
        return f"{v:.1f} | {ratio(ours_v, v)}" if v else "- | -"

    print("| set | stage | procs | takedown | C++ reference built here | ratio "
          "| pdqhash+Pillow | ratio | pdqhash+Pillow, 512 step added | ratio |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    # (our stage, reference stage, pdqhash stage, pdqhash-with-512-step stage)
    rows = [("e2e", "e2e", "e2e", "e2e-512"),
            ("decode", "read", "decode", None),
            ("hash", None, "hash", "hash-512"),
            ("hash-512", "hash-512", None, None)]
    for set_name in sets:
        for stage, ref_stage, pdq_stage, pdq512_stage in rows:
            for threads in (1, cores):
                ours_v = ours.get((set_name, stage, threads))
                if ours_v is None:
                    continue
                get = lambda table, st: table.get((set_name, st, threads)) if st else None
                print(f"| {set_name} | {stage} | {threads} | {ours_v:.1f} | "
                      f"{pair(ours_v, get(ref, ref_stage))} | "
                      f"{pair(ours_v, get(theirs, pdq_stage))} | "
                      f"{pair(ours_v, get(theirs, pdq512_stage))} |")
    lo, hi = PUBLISHED_HASH
    elo, ehi = PUBLISHED_E2E
    print(f"| published | e2e | 1 | | {elo}-{ehi} (C++ reference README) | | | | | |")
    print(f"| published | hash-512 | 1 | | {lo}-{hi} (C++ reference README) | | | | | |")
    print()

    print("Goals (one core, 1024x768 set):")
    e2e = ours.get(("small", "e2e", 1))
    hash_512 = ours.get(("small", "hash-512", 1))
    ref_e2e = ref.get(("small", "e2e", 1))
    ref_hash = ref.get(("small", "hash-512", 1))
    pdq_e2e = theirs.get(("small", "e2e-512", 1))
    pdq_hash = theirs.get(("small", "hash-512", 1))
    hash_full = ours.get(("small", "hash", 1))
    if e2e:
        # "The reference pipeline" is the C++ reference's own: ImageMagick decoding plus the C++
        # core. pdqhash+Pillow with the 512 step added is a faster pipeline than that (decoding
        # in-process), shown for information.
        goal_base, goal_name = ((ref_e2e, "C++ reference pipeline") if ref_e2e
                                else (pdq_e2e, "pdqhash+Pillow pipeline (reference not run)"))
        verdict = "met" if goal_base and e2e >= 4 * goal_base else "NOT met"
        print(f"  end to end >= 4x the reference pipeline: {ratio(e2e, goal_base)} the "
              f"{goal_name} measured here -> {verdict}")
        print(f"    (pdqhash+Pillow: {ratio(e2e, theirs.get(('small', 'e2e', 1)))} as called "
              f"from Python, {ratio(e2e, pdq_e2e)} with the 512 step added; against the "
              f"published {elo}-{ehi}/s: {e2e / ehi:.1f}x-{e2e / elo:.1f}x)")
    if hash_512:
        verdict = "met" if ref_hash and hash_512 >= ref_hash else "NOT met"
        extra = (f", pdqhash binding with its numpy luma and the 512 step "
                 f"{hash_full / pdq_hash:.1f}x" if hash_full and pdq_hash else "")
        print(f"  hash step >= C++ core: {ratio(hash_512, ref_hash)} the reference's own "
              f"hash timing (measured here){extra} -> {verdict}; against the published "
              f"{lo}-{hi}/s: {hash_512 / hi:.2f}x-{hash_512 / lo:.2f}x")
        if ref_hash:
            print(f"  (this machine runs the C++ reference's hash step at {ref_hash:.0f}/s, "
                  f"{(lo + hi) / 2 / ref_hash:.1f}x slower than the published figure)")
    print()

    print("Hash agreement, Hamming distance from takedown's hash on the same files "
          "(quality >= 50 / all):")
    ours_hashes = ours_docs[0]["hashes"]
    their_hashes = theirs_docs[0]["hashes"]
    ref_hashes = refs[0][0]["hashes"] if refs else {}
    variants = [(ref_hashes, "hash", "C++ reference (ImageMagick decoding)"),
                (their_hashes, "full", "pdqhash on Pillow's full-size pixels"),
                (their_hashes, "r512", "pdqhash after the reference's 512 step")]
    for set_name in sets:
        for table, field, label in variants:
            names = [n for n in ours_hashes if n.startswith(set_name + "/") and n in table]
            if not names:
                continue
            parts = []
            for subset in ([n for n in names if ours_hashes[n]["quality"] >= 50], names):
                d = [hamming(ours_hashes[n]["hash"], table[n][field]) for n in subset]
                if not d:
                    continue
                exact = sum(1 for x in d if x == 0)
                within = sum(1 for x in d if x <= 31)
                parts.append(f"n={len(d)}: identical {exact}, <=31 {within}, "
                             f"median {statistics.median(d)}, max {max(d)}")
            print(f"  {set_name:5} {label:40} " + " / ".join(parts))


if __name__ == "__main__":
    main()
