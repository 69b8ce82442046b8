"""Character n-grams of words, hashed into buckets (fastText's subword units); numpy only.

A word is wrapped in boundary marks, ``<where>``, and every run of MIN..MAX characters of it is an n-gram
(``<wh``, ``whe``, ..., ``re>``, and ``<where>`` itself when short enough), as fastText does; the marks
tell a prefix or suffix from the same letters inside a word. Each n-gram is hashed (CRC-32 of its UTF-8
bytes: stable across processes and Python versions, computed in C) into one of B buckets.

In training, a word's input rows are its own row (words 0..V-1) and its n-grams' buckets (V..V+B-1); its
vector is their mean. A word never seen in training has no row of its own, so its vector is the mean of
its n-gram buckets (fastText's and gensim's answer for out-of-vocabulary words).
"""

from __future__ import annotations

import zlib

import numpy as np

MAX_BUCKETS = 2_000_000  # fastText's and gensim's default bucket count: the most we choose on our own


def ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """Character n-grams of ``<word>``, MIN..MAX characters long (the bare marks ``<`` ``>`` never)."""
    w = f"<{word}>"
    out = []
    for n in range(minn, maxn + 1):
        for i in range(len(w) - n + 1):
            out.append(w[i:i + n])
    return out


def buckets_of(word: str, minn: int, maxn: int, buckets: int) -> list[int]:
    """The bucket (0..buckets-1) of each n-gram of ``word``."""
    crc = zlib.crc32
    return [crc(g.encode("utf-8")) % buckets for g in ngrams(word, minn, maxn)]


def default_buckets(tokens: list[str], minn: int, maxn: int) -> int:
    """Twice the distinct n-grams of the vocabulary, at most MAX_BUCKETS: few collisions between the
    n-grams training sees (about one in five share a bucket) without fastText's fixed 2M rows, which on a
    small corpus would be mostly untrained memory in every model file."""
    distinct = set()
    for t in tokens:
        distinct.update(ngrams(t, minn, maxn))
    return int(min(MAX_BUCKETS, max(1024, 2 * len(distinct))))


def subword_table(tokens: list[str], minn: int, maxn: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets (V+1,) int64, rows (S,) int32): word i's input rows are rows[offsets[i]:offsets[i+1]], its own
    row i first, then V + the bucket of each of its n-grams."""
    V = len(tokens)
    rows: list[int] = []
    offsets = np.zeros(V + 1, np.int64)
    crc = zlib.crc32
    for i, t in enumerate(tokens):
        rows.append(i)
        rows.extend(V + crc(g.encode("utf-8")) % buckets for g in ngrams(t, minn, maxn))
        offsets[i + 1] = len(rows)
    return offsets, np.array(rows, np.int32)


def compose(w_in: np.ndarray, offsets: np.ndarray, rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(V, D) word vectors: the mean of each word's input rows, what training used for it (in chunks of
    words, so the gathered rows stay small)."""
    V = len(offsets) - 1
    out = np.empty((V, w_in.shape[1]), np.float32)
    for a in range(0, V, chunk):
        b = min(V, a + chunk)
        lo, hi = offsets[a], offsets[b]
        sums = np.add.reduceat(w_in[rows[lo:hi]].astype(np.float64), offsets[a:b] - lo, axis=0)
        out[a:b] = sums / np.diff(offsets[a:b + 1])[:, None]
    return out


def oov_vector(word: str, ngram_vectors: np.ndarray, minn: int, maxn: int) -> np.ndarray | None:
    """The vector of a word never seen: the mean of its n-gram buckets (None if it has no n-grams)."""
    ids = buckets_of(word, minn, maxn, ngram_vectors.shape[0])
    if not ids:
        return None
    return ngram_vectors[ids].mean(axis=0, dtype=np.float64).astype(np.float32)
