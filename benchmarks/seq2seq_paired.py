"""Two or more seq2seq models on the same test pairs, word by word: a paired comparison and their ensemble.

    python benchmarks/seq2seq_paired.py /tmp/g2p/test.jsonl A.npz B.npz [C.npz ...] [--threads 1]
    python benchmarks/seq2seq_paired.py /tmp/g2p/test.jsonl A.npz B.npz --reference R.npz
    python benchmarks/seq2seq_paired.py /tmp/g2p/test.jsonl latest:A.npz A.npz

One training run per setting is the rule for full-scale G2P (45 minutes each), and two runs of the same
settings have ended 1.3 points of word error apart. Comparing two models word by word says more than their two
error rates: of the words exactly one of them gets right, a split far from even is a difference, one near even
is not (McNemar's z = (b - c) / sqrt(b + c)). Prints for each model its greedy exact-match error (WER on G2P),
for the first two the words right in only one of them, z and the share neither gets right, and the greedy
error of the ensemble of all models: at each step the mean of their log-probabilities chooses the token.
With ``--reference R.npz`` the ensemble is also compared with R word by word (R is not part of it): the
question whether K models trained in the time of one beat the one. ``latest:A.npz`` stands for the
parameters A's training ended with (the ``resume.*`` copies the trainer keeps beside the best ones) instead of
the best evaluation's: the question which of the two to keep. With ``--references DIR/references.jsonl`` (G2P,
``seq2seq_data.py g2p``) each error is also given against the closest of the word's pronunciations, the
published convention (docs/seq2seq.md); the word-by-word comparison stays on the first pronunciation.
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


def mcnemar(a: np.ndarray, b: np.ndarray) -> str:
    """The words right in only one of two boolean vectors, McNemar's z, and the share neither gets right."""
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    z = (only_a - only_b) / math.sqrt(only_a + only_b) if only_a + only_b else 0.0
    return (f"right in the first only {only_a}, in the second only {only_b} (McNemar z {z:+.2f}); "
            f"neither right {1 - (a | b).mean():.4f}")


def load_model_arg(arg: str):
    """A model from ``PATH`` (its best parameters) or ``latest:PATH`` (its training's last parameters)."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq.task import load

    if not arg.startswith("latest:"):
        return load(arg)
    f = load_model(arg.removeprefix("latest:"), "seq2seq")
    f.arrays = {name: f.arrays.get("resume." + name, a) for name, a in f.arrays.items()}
    return load(f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("test", help="JSONL pairs (source, target)")
    ap.add_argument("models", nargs="+", help="model files trained on the same data")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reference", default=None, help="a model compared with the ensemble (not part of it)")
    ap.add_argument("--references", default=None, help="references.jsonl: every valid target of each source")
    args = ap.parse_args()
    from rnntools.parallel import configure_threads

    configure_threads(args.threads)
    paths = args.models + ([args.reference] if args.reference else [])
    models = [load_model_arg(path) for path in paths]
    first = models[0]
    for path, m in zip(paths[1:], models[1:]):
        if (m.src_vocab.to_meta(counts=False) != first.src_vocab.to_meta(counts=False)
                or m.tgt_vocab.to_meta(counts=False) != first.tgt_vocab.to_meta(counts=False)):
            raise SystemExit(f"{path}: its vocabularies differ from {args.models[0]}'s")
    records = [json.loads(line) for line in open(args.test, encoding="utf-8") if line.strip()]
    targets = [r["target"] for r in records]
    ids = [first.src_vocab.encode(r["source"]) for r in records]
    n = len(records)
    valid = None
    if args.references:
        with open(args.references, encoding="utf-8") as f:
            table = {r["source"]: set(r["references"]) for r in map(json.loads, f) if r}
        valid = [table[r["source"]] for r in records]

    def any_error(guesses) -> str:
        if valid is None:
            return ""
        return f"; against any pronunciation {1 - np.mean([g in v for g, v in zip(guesses, valid)]):.4f}"

    right = []
    for path, m in zip(paths, models):
        guesses = [best[0][0] for best in m.translate_ids(ids, beam=1, nbest=1)]
        right.append(np.array([g == t for g, t in zip(guesses, targets)]))
        print(f"{path}: error {1 - right[-1].mean():.4f} ({n} pairs, greedy){any_error(guesses)}")
    if len(models) >= 2:
        print(mcnemar(right[0], right[1]))
    members = models[:len(args.models)]
    if len(members) >= 2:
        tv = first.tgt_vocab
        max_length = max(m.default_max_length() for m in members)
        ens = []
        for i in range(0, n, 256):
            ens += [tv.decode(seq) for seq in ensemble_greedy(members, ids[i:i + 256], max_length)]
        ens_right = np.array([g == t for g, t in zip(ens, targets)])
        print(f"ensemble of {len(members)}: error {1 - ens_right.mean():.4f} (greedy){any_error(ens)}")
        if args.reference:
            print(f"ensemble against {args.reference}: {mcnemar(ens_right, right[-1])}")


if __name__ == "__main__":
    main()
