"""The classifier's wide part alone, as training fits it: the library's rows (``features.wide_features``,
the default blocks) and ``linear.fit_linear`` with its defaults, on each set's training part; prints per
set the chosen C, the held-out losses by C, the number of objective evaluations, the fit's wall and CPU
seconds and the test accuracy. Run it with two checkouts on PYTHONPATH to compare fits (docs/classify.md).

    PYTHONPATH=. python3 benchmarks/classify_linear_fit.py --sets amazon,mr_aside,rt_aside,nyt,tweets
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    from datasets import label_ids, text_classification_set
    from isa import cpu_model

    from rnntools.tasks.classify import linear as L
    from rnntools.tasks.classify.data import class_weights
    from rnntools.tasks.classify.features import idf_weights, ngram_ids, wide_features

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="amazon,mr_aside,rt_aside,nyt,tweets")
    ap.add_argument("--buckets", type=int, default=1 << 18)
    ap.add_argument("--max-params", type=int, default=None, help="fit_linear's max_params (default: its own)")
    ap.add_argument("--cs", default=None, help="fit_linear's grid of C, comma-separated (default: its own)")
    args = ap.parse_args()
    fun = "_loss_grad_fast" if hasattr(L, "_loss_grad_fast") else "_loss_grad"
    evals = [0]
    plain = getattr(L, fun)

    def counted(*a, **k):
        evals[0] += 1
        return plain(*a, **k)

    setattr(L, fun, counted)
    print(cpu_model(), flush=True)
    for name in args.sets.split(","):
        tr_x, tr_y, te_x, te_y = text_classification_set(name)
        labels, y, gold = label_ids(tr_y, te_y)
        config = {"wide": "words+chars"}
        docs = [ngram_ids(t, args.buckets, True, blocks=True) for t in tr_x]
        idf = idf_weights(docs, args.buckets)
        X = wide_features(None, config, idf, docs, blocks=True)
        Xte = wide_features(te_x, config, idf, blocks=True)
        evals[0] = 0
        wall, cpu = time.perf_counter(), time.process_time()
        extra = {"max_params": args.max_params} if args.max_params else {}
        if args.cs:
            extra["Cs"] = tuple(float(c) for c in args.cs.split(","))
        W, b, info, _ = L.fit_linear(X, y, class_weights(y, len(labels), "none"), len(labels), seed=1, **extra)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        acc = float(np.mean((np.asarray(Xte @ W) + b).argmax(1) == gold))
        print(json.dumps({"set": name, "classes": len(labels), "weights": info["features"] * len(labels),
                          "C": info["C"], "loss_by_C": info["cv_loss_by_C"], "evaluations": evals[0],
                          "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "test_accuracy": round(acc, 4)}),
              flush=True)
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
