"""Text anchors on takedown's generated corpus, same queries and pairs as the Rust driver.

* TLSH (PyPI ``py-tlsh``) of the raw UTF-8 text, as HMA's ``TextTLSHSignal`` does, matching
  at distance <= 30 (HMA's "confident match" threshold) and at a threshold calibrated to at
  most 1e-6 false positives per pair on the same negative pairs.
* MinHash (PyPI ``datasketch``, 128 permutations) of lower-cased word 3-grams, the textbook
  near-duplicate signature, matching on the estimated Jaccard index at 0.5 and calibrated.

Reads ``corpus.tsv`` written by ``text_bench`` (``bench/text/run.sh`` runs both).
"""
import sys
import time

import numpy as np
import tlsh
from datasketch import MinHash


def unescape(field):
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            kind, ident, transform, source, outlet, lang, text = line.rstrip("\n").split("\t", 6)
            rows.append((kind, int(ident), transform, source, int(outlet), lang, unescape(text)))
    return rows


def tlsh_hash(text):
    h = tlsh.hash(text.encode("utf-8"))
    return None if h in ("TNULL", "") else h


def minhash(text):
    words = text.lower().split()
    grams = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))]
    m = MinHash(num_perm=128, seed=1)
    for g in grams:
        m.update(g.encode("utf-8"))
    return m.hashvalues


def main():
    corpus = load(sys.argv[1])
    bank = [r for r in corpus if r[0] == "bank"]
    negatives = [r for r in corpus if r[0] == "negative"]
    positives = [r for r in corpus if r[0] == "positive"]
    pairs = len(bank) * len(negatives)
    allowed = int(pairs * 1e-6)

    t0 = time.perf_counter()
    bank_tlsh = [tlsh_hash(r[6]) for r in bank]
    t_tlsh = time.perf_counter() - t0
    t0 = time.perf_counter()
    bank_mh = np.array([minhash(r[6]) for r in bank])
    t_mh = time.perf_counter() - t0
    kb = sum(len(r[6].encode("utf-8")) for r in bank) / 1024

    # Negative pairs: every negative query against every banked statement.
    neg_tlsh = []
    neg_jac = []
    for r in negatives:
        h = tlsh_hash(r[6])
        if h is not None:
            neg_tlsh.extend(tlsh.diff(h, b) for b in bank_tlsh if b is not None)
        q = minhash(r[6])
        neg_jac.append((bank_mh == q).mean(axis=1))
    neg_tlsh = np.sort(np.array(neg_tlsh))
    neg_jac = np.sort(np.concatenate(neg_jac))[::-1]
    # TLSH: match when distance <= t; calibrated t is one below the (allowed+1)-th smallest.
    tlsh_cal = int(neg_tlsh[allowed]) - 1 if len(neg_tlsh) > allowed else 1000
    jac_cal = float(np.nextafter(neg_jac[allowed], 2.0)) if len(neg_jac) > allowed else 0.0

    transforms = []
    for r in positives:
        if r[2] not in transforms:
            transforms.append(r[2])
    print("## anchors: TLSH (py-tlsh, HMA's text signal) and MinHash 128 (datasketch)\n")
    print(
        f"{pairs:.2e} negative pairs; TLSH calibrated distance <= {tlsh_cal} "
        f"(HMA uses 30; lowest negative distance {int(neg_tlsh[0]) if len(neg_tlsh) else 'n/a'}); "
        f"MinHash calibrated Jaccard >= {jac_cal:.3f} (highest negative {neg_jac[0]:.3f})\n"
    )
    print("| transform | TLSH <= 30 | TLSH calibrated | MinHash J >= 0.5 | MinHash calibrated |")
    print("|---|---|---|---|---|")
    for name in transforms:
        rows = [r for r in positives if r[2] == name]
        t30 = tcal = j50 = jcal = 0
        for r in rows:
            src = int(r[3])
            h = tlsh_hash(r[6])
            if h is not None and bank_tlsh[src] is not None:
                d = tlsh.diff(h, bank_tlsh[src])
                t30 += d <= 30
                tcal += d <= tlsh_cal
            j = float((bank_mh[src] == minhash(r[6])).mean())
            j50 += j >= 0.5
            jcal += j >= jac_cal
        n = len(rows)
        print(
            f"| {name} | {100*t30/n:.1f}% | {100*tcal/n:.1f}% | {100*j50/n:.1f}% | {100*jcal/n:.1f}% |"
        )
    print(
        f"\nspeed (one core, Python calling C/NumPy): TLSH {t_tlsh/kb*1e6:.1f} us per KB, "
        f"MinHash 128 {t_mh/kb*1e6:.1f} us per KB"
    )


if __name__ == "__main__":
    main()
