"""Seed-variance cures for the classifier's network, scored offline: from the logits that
``classify_vs_baselines.py --dump DIR`` saves per set and variant (the wide part's out-of-fold logits and
the network's on the validation texts; both parts' on the test texts; with the ``snapshots`` hook, the
network after every evaluation too), each cure gives one network logit matrix, the network's share s in
{0, 0.1, ..., 1} is chosen as the library chooses it (the lowest validation log loss at the temperature
fitted for each s, ties to the smaller share: ``training.lowest_share``), and the test accuracy of
``wide + s * network`` is printed:

  * ``one``: the default network (the best evaluation's), the library as it is;
  * ``other``: the second network alone (``net_seed``/``batch_seed``: other initial weights and batches);
  * ``mean2``: the two networks' logits averaged; ``pmean2``: their probabilities averaged (the log of the
    mean softmax as the logits);
  * ``snap2``: the best evaluation's logits averaged with the next evaluation's (a snapshot ensemble of
    one run: no extra training); ``snapall``: every evaluation's up to the last;
  * ``wavg2``: one network whose weights are the mean of the best evaluation's and the next one's (no
    extra training, no extra prediction);
  * ``mean2snap2``: ``snap2`` of both networks, averaged.

    cd /tmp && PYTHONPATH=<checkout> python3 <checkout>/benchmarks/classify_vs_baselines.py --baselines '' \\
        --threads 1 --seed 1 --no-default --reuse-wide --dump /tmp/ens/s1 --variant '{"snapshots": true}' \\
        --variant '{"snapshots": true, "net_seed": 1, "batch_seed": 1}'
    python3 <checkout>/benchmarks/classify_ensembles.py /tmp/ens/s1 [--first LABEL --second LABEL]
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SHARES = np.linspace(0.0, 1.0, 11)


def choose(d: dict, val_net: np.ndarray, test_net: np.ndarray) -> tuple[float, float]:
    """(test accuracy, share) of ``wide + s * network`` with s chosen by the library's rule."""
    from rnntools.tasks.classify.linear import val_loss
    from rnntools.tasks.classify.model import fit_temperature
    from rnntools.tasks.classify.training import lowest_share

    y = d["y_val"]
    w = np.asarray(d["weights"], np.float64)[y] if "weights" in d and len(d["weights"]) else np.ones(len(y))
    losses = []
    for s in SHARES:
        z = d["val_wide"] + s * val_net
        losses.append(val_loss(z / fit_temperature(z, y), y, w))
    s = float(SHARES[lowest_share(losses)[0]])
    return float(np.mean((d["test_wide"] + s * test_net).argmax(1) == d["y_test"])), s


def log_mean_probs(*logits: np.ndarray) -> np.ndarray:
    from rnntools.tasks.classify.model import softmax

    return np.log(np.maximum(sum(softmax(z) for z in logits) / len(logits), 1e-300))


def snapshots(d: dict) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(validation loss, validation logits, test logits) of every evaluation, in order."""
    out, k = [], 0
    while f"val_net_e{k}" in d:
        out.append((float(d[f"val_loss_e{k}"]), d[f"val_net_e{k}"], d[f"test_net_e{k}"]))
        k += 1
    return out


def snap(d: dict, span: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The mean logits of the best evaluation and the next (``two``) or of every evaluation (``all``)."""
    evals = snapshots(d)
    if not evals:
        return None
    best = min(range(len(evals)), key=lambda k: evals[k][0])
    chosen = evals[best:best + 2] if span == "two" else evals
    return (sum(v for _, v, _ in chosen) / len(chosen), sum(t for _, _, t in chosen) / len(chosen))


def cures(first: dict, second: dict | None) -> dict[str, tuple[float, float]]:
    out = {"one": choose(first, first["val_net"], first["test_net"])}
    if second is not None:
        out["other"] = choose(second, second["val_net"], second["test_net"])
        out["mean2"] = choose(first, (first["val_net"] + second["val_net"]) / 2,
                              (first["test_net"] + second["test_net"]) / 2)
        out["pmean2"] = choose(first, log_mean_probs(first["val_net"], second["val_net"]),
                               log_mean_probs(first["test_net"], second["test_net"]))
    for span in ("two", "all"):
        s = snap(first, span)
        if s is not None:
            out[f"snap{2 if span == 'two' else 'all'}"] = choose(first, *s)
    evals = snapshots(first)
    if evals:
        best = min(range(len(evals)), key=lambda k: evals[k][0])
        if f"val_net_w{best}" in first:
            out["wavg2"] = choose(first, first[f"val_net_w{best}"], first[f"test_net_w{best}"])
    s1, s2 = snap(first, "two"), None if second is None else snap(second, "two")
    if s1 is not None and s2 is not None:
        out["mean2snap2"] = choose(first, (s1[0] + s2[0]) / 2, (s1[1] + s2[1]) / 2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", nargs="+", help="--dump folders (one per seed)")
    ap.add_argument("--first", default='{"snapshots":true}', help="the default network's variant label")
    ap.add_argument("--second", default='{"snapshots":true,"net_seed":1,"batch_seed":1}',
                    help="the second network's variant label")
    args = ap.parse_args()
    for folder in args.dump:
        print(f"== {folder}")
        names = sorted({os.path.basename(p).split(".", 1)[0] for p in glob.glob(os.path.join(folder, "*.npz"))})
        table = {}
        for name in names:
            path1 = os.path.join(folder, f"{name}.{args.first}.npz")
            path2 = os.path.join(folder, f"{name}.{args.second}.npz")
            if not os.path.exists(path1):
                continue
            first = dict(np.load(path1))
            second = dict(np.load(path2)) if os.path.exists(path2) else None
            if second is not None:
                assert np.array_equal(first["val_wide"], second["val_wide"]), f"{name}: other wide parts"
            table[name] = cures(first, second)
            cells = "  ".join(f"{k} {a:.4f}/{s:.1f}" for k, (a, s) in table[name].items())
            print(f"{name:16s} {cells}", flush=True)
        choosing = [n for n in table if not n.endswith("_aside")]
        if choosing:
            keys = [k for k in table[choosing[0]] if all(k in table[n] for n in choosing)]
            print("mean of " + ",".join(choosing) + ": "
                  + "  ".join(f"{k} {np.mean([table[n][k][0] for n in choosing]):.4f}" for k in keys))


if __name__ == "__main__":
    main()
