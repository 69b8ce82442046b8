"""Batches of variable-length sequences, shared by the tasks that read one sequence per record (classify,
seq2seq): length-bucketed index batches, right-padded id arrays and their masks.

(The language model reads one long stream instead: ``rnntools.tasks.lm.data.StreamBatches``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

POOL = 50  # batches sorted together: larger pools pad less but shuffle less


def bucket_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator | None,
                   pool: int = POOL) -> list[np.ndarray]:
    """Index batches of similar lengths, so padding costs little.

    Training (``rng`` given): shuffle, sort by length within pools of ``pool`` batches, cut, shuffle the
    batches (torchtext's BucketIterator) -- every epoch sees new batches, each nearly free of padding.
    Evaluation (``rng`` None): one global sort by length.
    """
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch] for i in range(0, n, batch)]
    perm = rng.permutation(n)
    batches = []
    step = batch * pool
    for i in range(0, n, step):
        chunk = perm[i:i + step]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[j:j + batch] for j in range(0, len(chunk), batch))
    order = rng.permutation(len(batches))
    return [batches[k] for k in order]


def pad_batch(seqs: Sequence[np.ndarray], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded time-major ids ``(T, B)`` int32 and lengths ``(B,)`` int32 (T = longest)."""
    lengths = np.fromiter((len(s) for s in seqs), np.int32, len(seqs))
    T = int(lengths.max()) if len(seqs) else 0
    ids = np.full((T, len(seqs)), pad_id, np.int32)
    for b, s in enumerate(seqs):
        ids[: len(s), b] = s
    return ids, lengths


def length_mask(lengths: np.ndarray, T: int, dtype=np.float32) -> np.ndarray:
    """``(T, B)`` with 1 where ``t < length[b]``."""
    return (np.arange(T)[:, None] < lengths[None, :]).astype(dtype)
