"""How the network's share in the classifier's logits is chosen, scored offline: from the logits of both
parts that ``classify_vs_baselines.py --dump DIR`` saves per set (validation: the wide part's out-of-fold
logits and the network's; test: both parts'), each rule picks a share s in {0, 0.1, ..., 1} on the
validation texts and is scored by the test accuracy of ``wide + s * network``.

  * ``loss``: the lowest validation log loss at the temperature fitted for each s (the library's rule);
  * ``acc``: the highest validation accuracy, ties broken by that loss;
  * ``1se``: the smallest share whose validation log loss is within one standard error of the lowest
    (Breiman's one-standard-error rule: the standard error of the per-text loss differences against the
    lowest; the network counts only as far as its gain on the validation texts is more than noise);
  * ``bag``: the mean of the ``loss`` rule's picks over 200 bootstrap resamples of the validation texts
    (each share's per-text losses at its own temperature, resampled; bagging the choice, so that one
    unlucky validation split weighs less), not rounded to the grid;
  * ``1nat``: the library's rule for documents (``training.lowest_share``), here on every set: ``loss``
    with the texts' class weights, unless the best share lowers the validation texts' summed log loss by no
    more than ``training.SHARE_EVIDENCE`` (one nat) below share 0's: then 0;
  * ``best``: the share with the best test accuracy (a ceiling, not a rule).
Runs of one set with other initial network weights (``--net-seed K``: ``<set>.default.netK.npz``, the same
splits and wide part) are also scored as one ensemble, the mean of their networks' logits (``.meanN``).

    python3 benchmarks/classify_vs_baselines.py --baselines "" --dump /tmp/dump
    python3 benchmarks/classify_vs_baselines.py --baselines "" --dump /tmp/dump --net-seed 1
    python3 benchmarks/classify_mix.py /tmp/dump
"""

from __future__ import annotations

import glob
import os
import re
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SHARES = np.linspace(0.0, 1.0, 11)


def scores(d, val_net, test_net):
    """{rule: (test accuracy, share)} for one set's dumped logits (``val_net``/``test_net``: the
    network's, or a mean of several networks')."""
    from rnntools.tasks.classify.linear import val_loss
    from rnntools.tasks.classify.model import fit_temperature
    from rnntools.tasks.classify.training import SHARE_EVIDENCE, lowest_share

    y, w = d["y_val"], np.ones(len(d["y_val"]))
    cw = d["weights"][y].astype(np.float64) if "weights" in d else w      # the class weights training used
    weighted = []
    key, test, per_text = {}, {}, {}
    for s in SHARES:
        z = d["val_wide"] + s * val_net
        zt = z / fit_temperature(z, y)
        key[s] = (val_loss(zt, y, w), float(np.mean(z.argmax(1) == y)))
        weighted.append(val_loss(zt, y, cw))
        zt = zt - zt.max(axis=1, keepdims=True)
        per_text[s] = np.log(np.exp(zt).sum(axis=1)) - zt[np.arange(len(y)), y]
        test[s] = float(np.mean((d["test_wide"] + s * test_net).argmax(1) == d["y_test"]))
    lowest = min(SHARES, key=lambda s: key[s][0])
    losses = np.stack([per_text[s] for s in SHARES], axis=1)            # (n, shares)
    counts = np.random.default_rng(0).multinomial(len(y), np.full(len(y), 1.0 / len(y)), size=200)
    bagged = float(SHARES[np.argmin(counts @ losses, axis=1)].mean())
    test["bag"] = float(np.mean((d["test_wide"] + bagged * test_net).argmax(1) == d["y_test"]))

    def within_one_se(s) -> bool:
        diff = per_text[s] - per_text[lowest]
        return diff.mean() <= diff.std(ddof=1) / np.sqrt(len(diff))

    picks = {"loss": lowest,
             "acc": min(SHARES, key=lambda s: (-round(key[s][1], 9), key[s][0])),
             "1se": min(s for s in SHARES if within_one_se(s)),
             "bag": bagged,
             "1nat": SHARES[lowest_share(weighted, float(cw.sum()), SHARE_EVIDENCE)[0]],
             "best": max(SHARES, key=lambda s: test[s])}
    return {r: (test["bag"] if r == "bag" else test[s], s) for r, s in picks.items()}


def main():
    rules = ("loss", "acc", "1se", "bag", "1nat", "best")
    rows = {}
    groups: dict[str, list] = {}
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.npz"))):
        name = os.path.basename(path)[:-4]
        d = dict(np.load(path))
        rows[name] = scores(d, d["val_net"], d["test_net"])
        # one set and variant with other initial weights (``<set>.<variant>.netK``): one ensemble
        groups.setdefault(re.sub(r"\.net\d+$", "", name), []).append(d)
    for name, ds in groups.items():      # their mean network
        if len(ds) > 1 and all(np.array_equal(ds[0]["val_wide"], d["val_wide"]) for d in ds):
            rows[f"{name}.mean{len(ds)}"] = scores(ds[0], sum(d["val_net"] for d in ds) / len(ds),
                                                  sum(d["test_net"] for d in ds) / len(ds))
    print(f"{'set':24s} " + "  ".join(f"{r:>12s}" for r in rules))
    for name, row in rows.items():
        print(f"{name:24s} " + "  ".join(f"{row[r][0]:.4f}/{row[r][1]:.2f}".rjust(12) for r in rules))
    for kind in sorted({n.split(".", 1)[1] for n in rows}):
        chosen = [row for n, row in rows.items() if n.split(".", 1)[1] == kind and "aside" not in n]
        if chosen:
            print(f"{'mean ' + kind + ' (not aside)':24s} " + "  ".join(
                f"{statistics.mean(r[k][0] for r in chosen):12.4f}" for k in rules) + f"  ({len(chosen)} sets)")


if __name__ == "__main__":
    main()
