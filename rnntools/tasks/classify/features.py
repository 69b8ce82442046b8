"""The wide part's features: a text's hashed word and character n-grams, their idf, and the sparse rows
the linear part (``linear.py``) is fitted on and predicts from. No vocabulary: hashing gives every text,
seen or new, its rows without one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A text becomes the set of its word unigrams and bigrams and the character 3..5-grams of each word (with
# boundary marks, fastText's subwords), each hashed (FNV-1a over code points) into ``buckets`` slots; a
# feature's value is its idf (from the training texts), the vector scaled to unit length -- TF-IDF with
# binary tf, the representation of the strong linear baselines. Hashing needs no vocabulary, so unseen
# words still share their subwords with seen ones.

_WIDE_TOKEN_RE = None
_BOUNDARY = 0x110000          # beyond Unicode: the word-boundary mark of character n-grams


def _wide_tokens(text: str) -> list[str]:
    global _WIDE_TOKEN_RE
    if _WIDE_TOKEN_RE is None:
        import re

        _WIDE_TOKEN_RE = re.compile(r"[^\W_]+|[^\w\s]")
    return _WIDE_TOKEN_RE.findall(text.lower())


def _ngram_hashes_py(cps, starts, ends, min_n, max_n, buckets, out):
    """The plain-Python reference of the numba kernel below (the tests compare them).
    ``out[:k]`` = bucket ids of a text's n-grams; returns k. cps: (L,) int64 code points of the words
    joined; word i is cps[starts[i]:ends[i]]."""
    prime, basis = 1099511628211, 14695981039346656037
    mask = (1 << 64) - 1
    k = 0
    prev = 0
    for i in range(starts.shape[0]):
        h = basis ^ 1
        for j in range(starts[i], ends[i]):
            h = ((h ^ int(cps[j])) * prime) & mask
        out[k] = h % buckets
        k += 1
        if i > 0:                                     # bigram: the two words' hashes combined
            out[k] = (((prev * 31) ^ h) * prime & mask) % buckets
            k += 1
        prev = h
        n_chars = ends[i] - starts[i] + 2
        for n in range(min_n, max_n + 1):
            for s in range(0, max(n_chars - n + 1, 0)):
                g = basis ^ (n + 7)
                for j in range(s, s + n):
                    c = _BOUNDARY if (j == 0 or j == n_chars - 1) else int(cps[starts[i] + j - 1])
                    g = ((g ^ c) * prime) & mask
                out[k] = g % buckets
                k += 1
    return k


def _compile_hashes():
    from numba import njit, uint64

    @njit(cache=True, nogil=True)
    def kernel(cps, starts, ends, min_n, max_n, buckets, out):
        prime, basis = uint64(1099511628211), uint64(14695981039346656037)
        nb = uint64(buckets)
        k = 0
        prev = uint64(0)
        for i in range(starts.shape[0]):
            h = basis ^ uint64(1)
            for j in range(starts[i], ends[i]):
                h = (h ^ uint64(cps[j])) * prime
            out[k] = h % nb
            k += 1
            if i > 0:
                out[k] = (((prev * uint64(31)) ^ h) * prime) % nb
                k += 1
            prev = h
            n_chars = ends[i] - starts[i] + 2
            for n in range(min_n, max_n + 1):
                for s in range(0, max(n_chars - n + 1, 0)):
                    g = basis ^ uint64(n + 7)
                    for j in range(s, s + n):
                        c = _BOUNDARY if (j == 0 or j == n_chars - 1) else cps[starts[i] + j - 1]
                        g = (g ^ uint64(c)) * prime
                    out[k] = g % nb
                    k += 1
        return k

    return kernel


_HASH_KERNEL = []


def ngram_ids(text: str, buckets: int, chars: bool = True, max_tokens: int = 5000) -> np.ndarray:
    """The distinct bucket ids (int64, sorted) of a text's word 1-2-grams and, with ``chars``, the
    character 3..5-grams of its words. At most ``max_tokens`` words are read (long documents)."""
    if not _HASH_KERNEL:
        _HASH_KERNEL.append(_compile_hashes())
    words = _wide_tokens(text)[:max_tokens]
    if not words:
        return np.zeros(0, np.int64)
    joined = "".join(words)
    cps = np.frombuffer(joined.encode("utf-32-le"), np.uint32).astype(np.int64)
    lengths = np.fromiter(map(len, words), np.int64, len(words))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    min_n, max_n = (3, 5) if chars else (1, 0)
    bound = 2 * len(words) + int((lengths + 2).sum()) * max(max_n - min_n + 1, 0)
    out = np.empty(bound, np.int64)
    k = _HASH_KERNEL[0](cps, starts, ends, min_n, max_n, buckets, out)
    return np.unique(out[:k])


def idf_weights(docs: Sequence[np.ndarray], buckets: int) -> np.ndarray:
    """scikit-learn's smooth idf per bucket, ``log((1 + n) / (1 + df)) + 1``, float32 (buckets,)."""
    df = np.zeros(buckets, np.int64)
    for ids in docs:
        df[ids] += 1
    return (np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0).astype(np.float32)


def wide_matrix(docs: Sequence[np.ndarray], idf: np.ndarray):
    """scipy CSR (N, buckets) float32: each row the idf of its features, scaled to unit length."""
    from scipy.sparse import csr_matrix

    lengths = np.fromiter(map(len, docs), np.int64, len(docs))
    indptr = np.zeros(len(docs) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    ids = np.concatenate(docs) if len(docs) else np.zeros(0, np.int64)
    vals = idf[ids].astype(np.float32)
    sq = np.bincount(np.repeat(np.arange(len(docs)), lengths), vals.astype(np.float64) ** 2, minlength=len(docs))
    vals /= np.repeat(np.sqrt(np.maximum(sq, 1e-30)), lengths).astype(np.float32)
    return csr_matrix((vals, ids, indptr), shape=(len(docs), len(idf)))


def wide_features(texts: Sequence[str], config: dict, idf: np.ndarray | None, docs=None):
    """Sparse n-gram rows (``wide_matrix``) of ``texts``, or None when the model has no wide part."""
    if config.get("wide", "none") == "none" or idf is None:
        return None
    if docs is None:
        docs = [ngram_ids(t, len(idf), config["wide"] == "words+chars") for t in texts]
    return wide_matrix(docs, idf)
