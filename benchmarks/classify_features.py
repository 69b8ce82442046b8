"""The classifier's wide part alone, no network: its rows and how C is chosen, scored on the benchmark sets'
fixed test parts (benchmarks/datasets.py). It is what decides the comparison with the linear baselines.

For each set and row variant, the library's own logistic regression (``linear``) is fitted along the
whole C grid on each of 3 folds of the training part (held-out loss and accuracy per C) and on the whole
training part (test accuracy per C, and of the mean of the three fold models); every rule for choosing C
is then scored from that one table:
  * ``loss0``: the lowest held-out loss on the first fold, the grid 1..100, stopped after two rises (the
    library's rule, ``linear.fit_linear``);
  * ``loss3``: the lowest mean held-out loss over the 3 folds;
  * ``acc0``/``acc3``: the highest held-out accuracy on the first fold / over the 3 folds (ties: loss);
    ``acc0s``: ``acc0`` with the library's stop after two Cs that are not better;
  * each rule also over the whole grid of ``--cs`` (``loss0@wide`` ...; default 0.3..1000), and
    ``...+avg`` scores the mean of the three fold models at that C instead of the refit.
Row variants (``--variants``, comma-separated): ``c35`` (the default: character 3..5-grams within
words), ``c25`` (2..5, the character baseline's lengths), ``c24``, ``c36``; ``words`` (no character
grams); then ``+minN``: only the features of N or more training texts; ``+nb`` last: NBSVM's per-class
log-count ratios scale the weights (``linear.nb_scales``).

    nice -n 19 python3 benchmarks/classify_features.py --sets amazon,nyt --variants c35,c25 --out f.jsonl
    python3 benchmarks/classify_features.py --report f.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
WIDE = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
RANGES = {"c35": (3, 5), "c25": (2, 5), "c24": (2, 4), "c36": (3, 6), "words": None}


def rows(tr_x, te_x, variant, buckets):
    from rnntools.tasks.classify import features as F

    rng = RANGES[variant]
    chars = rng is not None
    kw = {"char_range": rng} if chars else {}
    dtr = F.ngram_ids_of_texts(tr_x, buckets, chars, blocks=chars, **kw)
    dte = F.ngram_ids_of_texts(te_x, buckets, chars, blocks=chars, **kw)
    idf = F.idf_weights(dtr, buckets)
    return F.wide_matrix(dtr, idf), F.wide_matrix(dte, idf)


def path(L, X, y, K, Cs, score, nb=False):
    """Every C of ``Cs`` fitted warm-started in order (no early stop); {C: (Wb, score(Wb))}. ``nb``: the
    weights scaled by NBSVM's log-count ratios (``linear.nb_scales``)."""
    F = X.shape[1]
    Y = np.zeros((X.shape[0], K))
    Y[np.arange(len(y)), y] = 1.0
    w = np.full(len(y), 1.0 / len(y))
    XT = X.T.tocsr()
    R = L.nb_scales(X, Y) if nb else None
    theta = np.zeros((F + 1) * K)
    out = {}
    for i, C in enumerate(Cs):
        theta = L.lbfgs(L._loss_grad_fast, theta, (X, XT, Y, w, C, R), max_iter=L.PATH_ITER, rtol=L.RTOL,
                        gtol=L.GTOL if i == 0 else 0.0, scale=L.jacobi_scale(X, w, C, K, R))
        Wb = theta.reshape(F + 1, K).copy()
        if R is not None:
            Wb[:F] *= R
        out[C] = (Wb, score(Wb))
    return out


def run_set(name, variant, Cs, buckets, seed=1):
    from datasets import label_ids, text_classification_set

    from rnntools.tasks.classify import linear as L

    tr_x, tr_y, te_x, te_y = text_classification_set(name)
    labels, y, gold = label_ids(tr_y, te_y)
    K = len(labels)
    nb = variant.endswith("+nb")
    rows_variant, _, min_df = variant.removesuffix("+nb").partition("+min")
    Xtr, Xte = rows(tr_x, te_x, rows_variant, buckets)
    cols = L._columns(Xtr, K, L.MAX_PARAMS)
    if min_df:          # only the features of at least that many training texts
        df = np.bincount(Xtr.indices, minlength=Xtr.shape[1])
        cols = cols[df[cols] >= int(min_df)]
    Xtr, Xte = Xtr[:, cols].tocsr(), Xte[:, cols].tocsr()
    start = time.process_time()
    fold = np.empty(len(y), np.int64)
    fold[np.random.default_rng(seed).permutation(len(y))] = np.arange(len(y)) % 3
    res = {"set": name, "variant": variant, "Cs": list(Cs), "folds": [], "test": {}, "test_avg": {}}
    models = {}
    with L._threads_for(len(cols) * K):
        for f in range(3):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)

            def score(Wb, te=te):
                Z = np.asarray(Xtr[te] @ Wb[:-1]) + Wb[-1]
                return L.val_loss(Z, y[te], np.ones(len(te))), float(np.mean(Z.argmax(1) == y[te]))

            p = path(L, Xtr[tr], y[tr], K, Cs, score, nb)
            res["folds"].append({str(C): p[C][1] for C in Cs})
            for C in Cs:
                models.setdefault(C, []).append(p[C][0])

        def test(Wb):
            return float(np.mean((np.asarray(Xte @ Wb[:-1]) + Wb[-1]).argmax(1) == gold))

        full = path(L, Xtr, y, K, Cs, test, nb)
    res["test"] = {str(C): full[C][1] for C in Cs}
    res["test_avg"] = {str(C): test(sum(models[C]) / 3) for C in Cs}
    res["cpu_s"] = time.process_time() - start
    return res


def choose(res, rule, grid):
    Cs = [C for C in res["Cs"] if C in grid]
    folds = res["folds"]
    if rule in ("loss0", "acc0s"):  # fold 0's path, stopped after two rises (the library's, on the loss)
        best, rises, pick = None, 0, None
        for C in Cs:
            s = folds[0][str(C)][0] if rule == "loss0" else (-round(folds[0][str(C)][1], 9), folds[0][str(C)][0])
            if best is None or s < best:
                best, rises, pick = s, 0, C
            else:
                rises += 1
                if rises >= 2:
                    break
        return pick
    use = folds[:1] if rule.endswith("0") else folds
    loss = {C: statistics.mean(f[str(C)][0] for f in use) for C in Cs}
    if rule.startswith("loss"):
        return min(Cs, key=lambda C: loss[C])
    acc = {C: statistics.mean(f[str(C)][1] for f in use) for C in Cs}
    return min(Cs, key=lambda C: (-round(acc[C], 9), loss[C]))


def report(path_, base="c35"):
    results = [json.loads(line) for line in open(path_)]
    rules = []
    for grid_name, grid in (("", GRID), ("@wide", WIDE)):
        for r in ("loss0", "loss3", "acc0", "acc0s", "acc3"):
            rules += [(r + grid_name, r, grid, "test"), (r + grid_name + "+avg", r, grid, "test_avg")]
    variants = sorted({r["variant"] for r in results}, key=lambda v: (v != base, v))
    for v in variants:
        sets = [r for r in results if r["variant"] == v]
        print(f"\n== rows {v}")
        print(f"{'rule':18s} " + " ".join(f"{r['set'][:11]:>11s}" for r in sets) + "   mean(not *)")
        for label, rule, grid, key in rules:
            cells, chosen = [], []
            for r in sets:
                C = choose(r, rule, grid)
                acc = r[key][str(C)]
                cells.append(f"{acc:.4f}/{C:g}".rjust(11))
                if "aside" not in r["set"]:
                    chosen.append(acc)
            print(f"{label:18s} " + " ".join(cells) + f"   {statistics.mean(chosen):.4f}")
        print(f"{'best C (test)':18s} " + " ".join(f"{max(r['test'].values()):11.4f}" for r in sets))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="tweets,amazon,nyt,spam,reviews,mr_aside,rt_aside")
    ap.add_argument("--variants", default="c35,c25")
    ap.add_argument("--cs", default=",".join(f"{c:g}" for c in WIDE))
    ap.add_argument("--buckets", type=int, default=1 << 18)
    ap.add_argument("--out", help="append one JSON line per set and variant")
    ap.add_argument("--report", help="print the rules' table from this file and stop")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and instruction set
    print("cpu:", isa.report(torch_side=False), flush=True)
    if args.report:
        return report(args.report)
    Cs = tuple(float(c) for c in args.cs.split(","))
    for name in args.sets.split(","):
        for v in args.variants.split(","):
            res = run_set(name, v, Cs, args.buckets)
            print(f"{name:12s} {v:6s} cpu {res['cpu_s']:.0f}s test " +
                  " ".join(f"{C}:{a:.4f}" for C, a in res["test"].items()), flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(res) + "\n")
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
