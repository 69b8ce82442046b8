"""Two or more seq2seq models on the same test pairs, word by word: a paired comparison and their ensemble.

    python benchmarks/seq2seq_paired.py /tmp/g2p/test.jsonl A.npz B.npz [C.npz ...] [--threads 1]

One training run per setting is the rule for full-scale G2P (45 minutes each), and two runs of the same
settings have ended 1.3 points of word error apart. Comparing two models word by word says more than their two
error rates: of the words exactly one of them gets right, a split far from even is a difference, one near even
is not (McNemar's z = (b - c) / sqrt(b + c)). Prints for each model its greedy exact-match error (WER on G2P),
for the first two the words right in only one of them, z and the share neither gets right, and the greedy
error of the ensemble of all models: at each step the mean of their log-probabilities chooses the token.
The models must share their vocabularies (trained on the same data).
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np


def ensemble_greedy(models, ids, max_length: int) -> list[list[int]]:
    """Greedy decoding by the mean of the models' next-token log-probabilities."""
    from rnntools.tasks.seq2seq.decode import Decoder

    tv = models[0].tgt_vocab
    decoders = [Decoder(m.params, m.cfg, ids, banned=(0, tv.start_id), net=m.net) for m in models]
    tokens = np.full(len(ids), tv.start_id, np.int32)
    out: list[list[int]] = [[] for _ in ids]
    done = np.zeros(len(ids), bool)
    for _ in range(max_length):
        logp = np.mean([d.step(tokens) for d in decoders], axis=0)
        tokens = logp.argmax(axis=1).astype(np.int32)
        for i in np.flatnonzero(~done):
            if tokens[i] == tv.eos_id:
                done[i] = True
            else:
                out[i].append(int(tokens[i]))
        if done.all():
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("test", help="JSONL pairs (source, target)")
    ap.add_argument("models", nargs="+", help="model files trained on the same data")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from rnntools.parallel import configure_threads

    configure_threads(args.threads)
    from rnntools.tasks.seq2seq.task import load

    models = [load(path) for path in args.models]
    first = models[0]
    for path, m in zip(args.models[1:], models[1:]):
        if (m.src_vocab.to_meta(counts=False) != first.src_vocab.to_meta(counts=False)
                or m.tgt_vocab.to_meta(counts=False) != first.tgt_vocab.to_meta(counts=False)):
            raise SystemExit(f"{path}: its vocabularies differ from {args.models[0]}'s")
    records = [json.loads(line) for line in open(args.test, encoding="utf-8") if line.strip()]
    targets = [r["target"] for r in records]
    ids = [first.src_vocab.encode(r["source"]) for r in records]
    n = len(records)
    right = []
    for path, m in zip(args.models, models):
        guesses = [best[0][0] for best in m.translate_ids(ids, beam=1, nbest=1)]
        right.append(np.array([g == t for g, t in zip(guesses, targets)]))
        print(f"{path}: error {1 - right[-1].mean():.4f} ({n} pairs, greedy)")
    if len(models) >= 2:
        a, b = right[0], right[1]
        only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
        z = (only_a - only_b) / math.sqrt(only_a + only_b) if only_a + only_b else 0.0
        print(f"right in the first only {only_a}, in the second only {only_b} (McNemar z {z:+.2f}); "
              f"neither right {1 - (a | b).mean():.4f}")
        tv = first.tgt_vocab
        max_length = max(m.default_max_length() for m in models)
        ens = []
        for i in range(0, n, 256):
            ens += [tv.decode(seq) for seq in ensemble_greedy(models, ids[i:i + 256], max_length)]
        print(f"ensemble of {len(models)}: error {1 - np.mean([g == t for g, t in zip(ens, targets)]):.4f} (greedy)")


if __name__ == "__main__":
    main()
