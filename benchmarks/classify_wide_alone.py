"""The classifier's wide part alone, fitted as training fits it (``features.rows_for`` and ``min_df_for``,
the idf over every training text, ``linear.fit_linear`` or ``fit_two_linear`` with ``--seed``), on
variants of its rows and its fit: test accuracy, the C chosen and the out-of-fold log loss. Variants
(``--variants``, a JSON list of objects; ``{}`` is the library's own):

  * ``buckets``: the hashed columns (the library's ``--wide-buckets``, 2^18);
  * ``apart``: one linear model with the word and the character blocks in columns of their own (no bucket
    shared by a word gram and a character gram), each block unit length; ``scale`` multiplies every value
    (0.7071: the library's scale, 1/sqrt 2 a block; a larger scale acts as a larger C);
  * ``Cs``: the C grid (e.g. ``[1, 3, 10, 30, 100, 300, 1000]``); ``min_df``: the library's ``min_df``.

    nice -n 19 python3 benchmarks/classify_wide_alone.py --sets reviews,reuters5_aside --seed 1 \\
        --variants '[{}, {"buckets": 1048576}, {"apart": true, "scale": 0.7071}, {"min_df": 2}]'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    import classify_vs_baselines as cvb

    from rnntools.tasks.classify import features as F
    from rnntools.tasks.classify import linear as L
    from rnntools.tasks.classify.data import class_weights, label_set

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", required=True)
    ap.add_argument("--variants", default="[{}]", help="JSON list of variant objects")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    variants = json.loads(args.variants)
    for name in args.sets.split(","):
        tr_x, tr_y, te_x, te_y = cvb.load_set(name)
        labels = label_set(tr_y)
        index = {v: i for i, v in enumerate(labels)}
        y = np.array([index[v] for v in tr_y])
        y_test = np.array([index.get(v, -1) for v in te_y])
        K = len(labels)
        w = class_weights(y, K, "none")
        for v in variants:
            start = time.process_time()
            B = int(v.get("buckets", 1 << 18))
            rows = F.rows_for(tr_x, K)
            how = F.rows_options(rows)
            separate = how["separate"] or bool(v.get("apart"))
            docs, test = (F.ngram_ids_of_texts(t, B, True, blocks=True, tf=how["tf"]) for t in (tr_x, te_x))
            idf = F.idf_weights(docs, B, int(v.get("min_df", F.min_df_for(len(tr_x)))))
            X, Xt = (F.wide_values(d, idf, d.tf if how["tf"] else None, separate).matrix() for d in (docs, test))
            if "scale" in v:
                X.data *= np.float32(v["scale"])
                Xt.data *= np.float32(v["scale"])
            options = {"Cs": tuple(float(c) for c in v["Cs"])} if "Cs" in v else {}
            fit = L.fit_two_linear if how["separate"] else L.fit_linear
            W, b, info, oof = fit(X, y, w, K, seed=args.seed, **options)
            acc = float(np.mean((np.asarray(Xt @ W) + b).argmax(1) == y_test))
            loss = None if oof is None else round(L.val_loss(oof, y, w[y].astype(np.float64)), 5)
            print(json.dumps({"set": name, "seed": args.seed, "variant": v, "rows": rows, "accuracy": round(acc, 4),
                              "C": info["C"], "oof_loss": loss, "cpu_s": round(time.process_time() - start, 1)}),
                  flush=True)


if __name__ == "__main__":
    main()
