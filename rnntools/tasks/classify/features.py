"""The wide part's features: a text's hashed word and character n-grams, their idf, and the sparse rows
the linear part (``linear.py``) is fitted on and predicts from. No vocabulary: hashing gives every text,
seen or new, its rows without one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A text becomes the set of its word unigrams and bigrams and the character 3..5-grams of each word (with
# boundary marks, fastText's subwords), each hashed (FNV-1a over code points) into ``buckets`` slots; a
# feature's value is its idf (from the training texts) -- TF-IDF with binary tf, the representation of the
# strong linear baselines. The word block and the character block are each scaled to unit length (then the
# row to unit length): in one normalisation the ~5x more numerous character grams would drown the words.
# Hashing needs no vocabulary, so unseen words still share their subwords with seen ones.

_WIDE_TOKEN_RE = None
_BOUNDARY = 0x110000          # beyond Unicode: the word-boundary mark of character n-grams


def _wide_tokens(text: str) -> list[str]:
    global _WIDE_TOKEN_RE
    if _WIDE_TOKEN_RE is None:
        import re

        _WIDE_TOKEN_RE = re.compile(r"[^\W_]+|[^\w\s]")
    return _WIDE_TOKEN_RE.findall(text.lower())


def _ngram_hashes_py(cps, starts, ends, min_n, max_n, buckets, out, char_offset=0):
    """The plain-Python reference of the numba kernel below (the tests compare them).
    ``out[:k]`` = bucket ids of a text's n-grams, ``char_offset`` added to the character grams'; returns k.
    cps: (L,) int64 code points of the words joined; word i is cps[starts[i]:ends[i]]."""
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
                out[k] = g % buckets + char_offset
                k += 1
    return k


def _compile_hashes():
    from numba import njit, uint64

    @njit(cache=True, nogil=True)
    def kernel(cps, starts, ends, min_n, max_n, buckets, out, char_offset):
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
                    out[k] = g % nb + uint64(char_offset)
                    k += 1
        return k

    return kernel


_HASH_KERNEL = []


def ngram_ids(text: str, buckets: int, chars: bool = True, max_tokens: int = 5000, blocks: bool = False) -> np.ndarray:
    """The distinct bucket ids (int64, sorted) of a text's word 1-2-grams and, with ``chars``, the
    character 3..5-grams of its words. At most ``max_tokens`` words are read (long documents). With
    ``blocks`` the character grams' ids are offset by ``buckets`` (the two blocks stay apart: ``wide_matrix``
    normalises each on its own)."""
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
    k = _HASH_KERNEL[0](cps, starts, ends, min_n, max_n, buckets, out, buckets if blocks else 0)
    return np.unique(out[:k])


def idf_weights(docs: Sequence[np.ndarray], buckets: int) -> np.ndarray:
    """scikit-learn's smooth idf per bucket, ``log((1 + n) / (1 + df)) + 1``, float32 (buckets,). Ids of
    ``ngram_ids(..., blocks=True)`` count as their bucket (once per text)."""
    df = np.zeros(buckets, np.int64)
    for ids in docs:
        df[np.unique(ids % buckets) if len(ids) and ids[-1] >= buckets else ids] += 1
    return (np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0).astype(np.float32)


def wide_matrix(docs: Sequence[np.ndarray], idf: np.ndarray):
    """scipy CSR (N, buckets) float32: each row the idf of its features, scaled to unit length. Ids from
    ``ngram_ids(..., blocks=True)``: the word block and the character block each scaled to length
    1/sqrt(2) (the row to unit length when both are present), then added."""
    from scipy.sparse import csr_matrix

    B = len(idf)
    lengths = np.fromiter(map(len, docs), np.int64, len(docs))
    indptr = np.zeros(len(docs) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    ids = np.concatenate(docs) if len(docs) else np.zeros(0, np.int64)
    block = (ids >= B).astype(np.int64)
    cols = ids - B * block
    vals = idf[cols].astype(np.float32)
    group = np.repeat(np.arange(len(docs)), lengths) * 2 + block      # (row, block)
    sq = np.bincount(group, vals.astype(np.float64) ** 2, minlength=2 * len(docs))
    scale = 1.0 / np.sqrt(np.maximum(sq, 1e-30))
    if block.any():
        scale /= np.sqrt(2.0)
    vals *= scale[group].astype(np.float32)
    X = csr_matrix((vals, cols, indptr), shape=(len(docs), B))
    X.sum_duplicates()          # a word and a character gram may share a bucket
    return X


def wide_features(texts: Sequence[str], config: dict, idf: np.ndarray | None, docs=None, blocks: bool = False):
    """Sparse n-gram rows (``wide_matrix``) of ``texts``, or None when the model has no wide part.
    ``blocks``: the word and character blocks normalised apart (models written since; older ones in one)."""
    if config.get("wide", "none") == "none" or idf is None:
        return None
    if docs is None:
        chars = config["wide"] == "words+chars"
        docs = [ngram_ids(t, len(idf), chars, blocks=blocks and chars) for t in texts]
    return wide_matrix(docs, idf)
