"""A class-prior correction on the classifier's mix, scored offline: from the logits of both parts that
``classify_vs_baselines.py --dump DIR`` saves per set, the library's share and temperature (its share rule:
``training.lowest_share``, one nat of evidence on documents), then a bias per class fitted on the validation
texts (their class-weighted log loss plus a Gaussian prior of standard deviation ``sd`` on each bias, the
first class's held at 0), scored by the test accuracy of ``(wide + s * network) / T + bias``. Prints each
set's mean over the dumps found and the means of the choosing sets, the held-aside sentences and the
held-aside documents (the sets named ``*_aside``; documents as ``DOCUMENTS`` lists them).

    python3 benchmarks/classify_vs_baselines.py --baselines "" --dump /tmp/dump/s1 --seed 1   # and more seeds
    python3 benchmarks/classify_prior.py /tmp/dump/s1 /tmp/dump/s2
"""

from __future__ import annotations

import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SDS = (0.1, 0.3, 1.0, 10.0)
DOCUMENTS = {"spam", "reviews", "reuters5_aside", "news5_aside", "fr_aside", "bol_aside", "de_aside"}


def fit_bias(z, y, w, sd):
    """Per-class biases (the first 0) minimising the weighted log loss of ``z + bias`` plus ``|bias|^2 / 2 sd^2``."""
    from scipy.optimize import minimize

    def objective(b):
        zz = z + np.r_[0.0, b]
        zz = zz - zz.max(1, keepdims=True)
        lse = np.log(np.exp(zz).sum(1))
        p = np.exp(zz - lse[:, None])
        g = (w[:, None] * p).sum(0)
        np.add.at(g, y, -w)
        return (w * (lse - zz[np.arange(len(y)), y])).sum() + (b ** 2).sum() / (2 * sd * sd), g[1:] + b / (sd * sd)

    return np.r_[0.0, minimize(objective, np.zeros(z.shape[1] - 1), jac=True, method="L-BFGS-B").x]


def scored(d, document: bool) -> list[float]:
    """Test accuracy with the library's mix, then with the bias of each sd in SDS."""
    from rnntools.tasks.classify.linear import val_loss
    from rnntools.tasks.classify.model import fit_temperature
    from rnntools.tasks.classify.training import SHARE_EVIDENCE, lowest_share

    y, w = d["y_val"], d["weights"][d["y_val"]].astype(np.float64)
    shares = np.linspace(0.0, 1.0, 11)
    losses = []
    for s in shares:
        z = d["val_wide"] + s * d["val_net"]
        losses.append(val_loss(z / fit_temperature(z, y), y, w))
    s = shares[lowest_share(losses, float(w.sum()), SHARE_EVIDENCE if document else 0.0)[0]]
    zv, zt = d["val_wide"] + s * d["val_net"], d["test_wide"] + s * d["test_net"]
    t = fit_temperature(zv, y)
    out = [float(np.mean(zt.argmax(1) == d["y_test"]))]
    for sd in SDS:
        out.append(float(np.mean((zt / t + fit_bias(zv / t, y, w, sd)).argmax(1) == d["y_test"])))
    return out


def main() -> None:
    runs: dict[str, list[list[float]]] = {}
    for folder in sys.argv[1:]:
        for path in sorted(glob.glob(os.path.join(folder, "*.npz"))):
            name = os.path.basename(path).split(".")[0]
            runs.setdefault(name, []).append(scored(dict(np.load(path)), name in DOCUMENTS))
    head = ["library"] + [f"sd {sd:g}" for sd in SDS]
    print(f"{'set':22s}" + "".join(f"{h:>10s}" for h in head) + "  runs")
    for name, rows in runs.items():
        print(f"{name:22s}" + "".join(f"{x:10.4f}" for x in np.mean(rows, 0)) + f"  {len(rows)}")
    kinds = {"choosing sets": lambda n: not n.endswith("_aside"),
             "held-aside sentences": lambda n: n.endswith("_aside") and n not in DOCUMENTS,
             "held-aside documents": lambda n: n.endswith("_aside") and n in DOCUMENTS}
    for kind, member in kinds.items():
        means = [np.mean(rows, 0) for name, rows in runs.items() if member(name)]
        if means:
            print(f"{kind:22s}" + "".join(f"{x:10.4f}" for x in np.mean(means, 0)))


if __name__ == "__main__":
    main()
