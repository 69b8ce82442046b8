"""How the classifier's wide part turns text into features: variants of the hashed n-gram rows, each fitted
by the library's own logistic regression (``rnntools.tasks.classify.linear.fit_linear``: C by 3-fold
cross-validated loss, refit on the whole training part) and scored on the benchmark sets' fixed test parts.
The wide part alone, no network: it is what decides the baseline comparison.

Variants (``--variants``, comma-separated; each a '+'-joined list of switches):
  * ``base``: binary presence x idf, word 1-2-grams and character 3-5-grams in one row of unit length;
  * ``sep``: the word and character blocks each scaled to unit length (then the row by 1/sqrt 2);
  * ``sub``: sublinear term frequency, 1 + log(tf), instead of presence;
  * ``nb``: each feature's weight for class k scaled by |log-count ratio| of class k against the rest
    (NBSVM's r, Wang & Manning 2012, one per class), smoothed with alpha = 1;
  * ``wide``: C grid extended to 1000; ``lo``: down to 0.1.

    nice -n 19 python3 benchmarks/classify_features.py --sets amazon,nyt --variants base,sep,sep+sub
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def grams(texts, buckets):
    """Per text: (word ids, word counts, char ids, char counts)."""
    from rnntools.tasks.classify import features as D

    D.ngram_ids("x", buckets)
    kernel = D._HASH_KERNEL[0]
    out = []
    for t in texts:
        words = D._wide_tokens(t)[:5000]
        if not words:
            e = np.zeros(0, np.int64)
            out.append((e, e, e, e))
            continue
        cps = np.frombuffer("".join(words).encode("utf-32-le"), np.uint32).astype(np.int64)
        lengths = np.fromiter(map(len, words), np.int64, len(words))
        ends = np.cumsum(lengths)
        starts = ends - lengths
        buf = np.empty(2 * len(words) + int((lengths + 2).sum()) * 3, np.int64)
        k = kernel(cps, starts, ends, 1, 0, buckets, buf, 0)
        wi, wc = np.unique(buf[:k], return_counts=True)
        k = kernel(cps, starts, ends, 3, 5, buckets, buf, 0)
        ai, ac = np.unique(buf[:k], return_counts=True)
        full = np.zeros(0, np.int64)
        # the character grams: every gram minus the word grams (as multisets)
        pos = np.searchsorted(ai, wi)
        ac = ac.copy()
        ac[pos] -= wc
        keep = ac > 0
        out.append((wi, wc, ai[keep], ac[keep]))
        del full
    return out


def rows(docs, idf, switches, buckets):
    from scipy.sparse import csr_matrix

    indptr, ind, val = [0], [], []
    for wi, wc, ci, cc in docs:
        blocks = []
        for ids, cnt in ((wi, wc), (ci, cc)):
            tf = 1.0 + np.log(cnt) if "sub" in switches else np.ones(len(ids))
            v = tf * idf[ids]
            blocks.append((ids, v))
        if "sep" in switches:
            blocks = [(i, v / max(np.linalg.norm(v), 1e-12) / np.sqrt(2)) for i, v in blocks]
        else:
            n = max(np.sqrt(sum(float(v @ v) for _, v in blocks)), 1e-12)
            blocks = [(i, v / n) for i, v in blocks]
        ids = np.concatenate([b[0] for b in blocks])
        v = np.concatenate([b[1] for b in blocks])
        u, inv = np.unique(ids, return_inverse=True)
        vv = np.zeros(len(u))
        np.add.at(vv, inv, v)
        ind.append(u)
        val.append(vv)
        indptr.append(indptr[-1] + len(u))
    return csr_matrix((np.concatenate(val), np.concatenate(ind), np.array(indptr)), shape=(len(docs), buckets))


def main():
    from datasets import label_ids, text_classification_set

    from rnntools.tasks.classify import linear as L

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="tweets,amazon,nyt,spam,reviews,reuters8,mr_aside,rt_aside")
    ap.add_argument("--variants", default="base,sep,sub,sep+sub")
    ap.add_argument("--buckets", type=int, default=1 << 18)
    args = ap.parse_args()
    variants = args.variants.split(",")
    table = {}
    for name in args.sets.split(","):
        tr_x, tr_y, te_x, te_y = text_classification_set(name)
        labels, y, gold = label_ids(tr_y, te_y)
        dtr, dte = grams(tr_x, args.buckets), grams(te_x, args.buckets)
        df = np.zeros(args.buckets)
        for wi, _, ci, _ in dtr:
            df[wi] += 1
            df[ci] += 1
        idf = np.log((1.0 + len(dtr)) / (1.0 + df)) + 1.0
        row = table.setdefault(name, {})
        for v in variants:
            sw = set(v.split("+"))
            Xtr, Xte = rows(dtr, idf, sw, args.buckets), rows(dte, idf, sw, args.buckets)
            Cs = ((0.1, 0.3) if "lo" in sw else ()) + L.CS + ((300.0, 1000.0) if "wide" in sw else ())
            start = time.process_time()
            W, b, info, _ = L.fit_linear(Xtr, y, np.ones(len(labels)), len(labels), Cs=Cs, seed=1,
                                         nb="nb" in sw)
            secs = time.process_time() - start
            acc = float(np.mean((np.asarray(Xte @ W) + b).argmax(1) == gold))
            row[v] = acc
            print(f"{name:12s} {v:14s} acc {acc:.4f}  C {info['C']:g}  cpu {secs:.1f}s", flush=True)
    print("\nset          " + "  ".join(f"{v:>12s}" for v in variants))
    for name, row in table.items():
        print(f"{name:12s} " + "  ".join(f"{row[v]:12.4f}" for v in variants))
    print("mean         " + "  ".join(f"{statistics.mean(r[v] for r in table.values()):12.4f}" for v in variants))
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
