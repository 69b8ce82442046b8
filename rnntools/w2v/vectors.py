"""Word vectors after training: loading, cosine neighbours and analogies (evaluation is in
``rnntools.w2v.evaluate``, the word2vec file formats in ``rnntools.w2v.formats``).

numpy only (no numba): ``neighbors``, ``evaluate`` and ``export`` start in a fraction of a second.
Vectors are stored as trained (their norms carry word frequency, some users want them); they are
unit-normalised on load for queries, which costs a few milliseconds per million floats.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rnntools.errors import ModelFileError
from rnntools.w2v.evaluate import evaluate_analogies, evaluate_similarity, ok_equal  # noqa: F401  (their home before the split)
from rnntools.w2v.formats import read_word2vec, vocab_for_tokens, write_word2vec  # noqa: F401

if TYPE_CHECKING:
    from rnntools.io import ModelFile

KIND = "vectors"


# --- the model ----------------------------------------------------------------------------------------


@dataclass
class Vectors:
    """Tokens (most frequent first when trained here) and their vectors (V, D) float32."""

    vocab: object  # rnntools.text.Vocab without specials
    vectors: np.ndarray
    meta: dict = field(default_factory=dict)
    ngram_vectors: np.ndarray | None = None  # (B, D) n-gram buckets of a subword model
    _unit: np.ndarray | None = None

    @property
    def tokens(self) -> list[str]:
        return self.vocab.tokens

    @property
    def unit(self) -> np.ndarray:
        """Unit-length rows (zero rows stay zero), float32 (V, D)."""
        if self._unit is None:
            v = self.vectors
            with np.errstate(over="ignore", under="ignore"):
                norms = np.linalg.norm(v, axis=1, keepdims=True)
            self._unit = v / np.where(norms > 0, norms, 1).astype(np.float32)
            # rows whose float32 sum of squares overflows (values from about 1.8e19: numpy's overflow warning,
            # and the row became zeros) or underflows (values below about 1e-19: left at their length) are
            # normalised in float64 (a tampered or foreign file; ordinary rows keep their float32 bits)
            odd = np.flatnonzero(~(norms[:, 0] < np.inf) | (norms[:, 0] < 1e-18))
            if len(odd):
                rows = v[odd].astype(np.float64)
                lengths = np.linalg.norm(rows, axis=1, keepdims=True)
                self._unit[odd] = (rows / np.where(lengths > 0, lengths, 1)).astype(np.float32)
        return self._unit

    def id(self, word: str) -> int | None:
        """The id of ``word`` as a user typed it: lowercased first when the vocabulary is lowercase, and
        composed (NFC) as training reads text when it is not found as typed."""
        index = self.vocab.index
        if self.vocab.lowercase:
            word = word.lower()
        found = index.get(word)
        if found is None and not word.isascii():
            from rnntools.text.tokenize import nfc

            found = index.get(nfc(word))
        return found

    @property
    def subword(self) -> tuple[int, int] | None:
        """(MIN, MAX) n-gram lengths of a subword model (w2v-train --subword), else None."""
        if self.ngram_vectors is None:
            return None
        lo, hi = config_of(self.meta)["subword"]
        return int(lo), int(hi)

    def oov_vector(self, word: str) -> np.ndarray | None:
        """A vector for a word not in the vocabulary, from its character n-grams (subword models only;
        None otherwise, or when the word has no n-grams)."""
        if self.ngram_vectors is None:
            return None
        from rnntools.w2v.subword import oov_vector

        return oov_vector(word.lower() if self.vocab.lowercase else word, self.ngram_vectors, *self.subword)

    def vectors_for(self, words: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) float32 vectors for ``words`` and an (N,) int8 source per word: 1 in the vocabulary, 2 built
        from n-grams (a word never seen, subword models only), 0 unknown (its row is zero)."""
        words = list(words)
        out = np.zeros((len(words), self.vectors.shape[1]), np.float32)
        source = np.zeros(len(words), np.int8)
        for i, w in enumerate(words):
            j = self.id(w)
            if j is not None:
                out[i], source[i] = self.vectors[j], 1
                continue
            v = self.oov_vector(w)
            if v is not None:
                out[i], source[i] = v, 2
        return out, source


def config_of(meta: dict) -> dict:
    """The options a vectors file was trained with: ``meta["config"]`` (docs/tasks.md), or
    ``meta["hyperparameters"]`` in files written before the task contract."""
    config = meta.get("config", meta.get("hyperparameters"))
    return config if isinstance(config, dict) else {}


def vectors_for(path_or_model, words: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) float32 vectors for ``words`` from a vectors file (or a loaded Vectors), and an (N,) int8
    source per word: 1 found in the vocabulary, 2 built from character n-grams (a subword model and a
    word it never saw), 0 unknown (zero row). For initialising embeddings: with a subword model, tokens
    outside its vocabulary still get vectors."""
    model = path_or_model if isinstance(path_or_model, Vectors) else load(path_or_model)
    return model.vectors_for(words)


def load_vectors(path: str | os.PathLike) -> tuple[object, np.ndarray]:
    """``(Vocab, vectors)`` of a vectors file, for initialising embeddings (``rnn-train --embeddings``).

    The Vocab has no specials: ids are rows of the (V, D) float32 array. Map your own vocabulary's tokens
    through ``vocab.index`` (lowercasing first when ``vocab.lowercase``).
    """
    model = load(path)
    return model.vocab, model.vectors


def load(path: str | os.PathLike | ModelFile) -> Vectors:
    """A vectors model file (kind "vectors"), checked: from a path, or a loaded ``rnntools.io.ModelFile``."""
    from rnntools.io import ModelFile, load_model
    from rnntools.text import Vocab

    if isinstance(path, ModelFile):
        model = path
        if model.kind != KIND:
            raise ModelFileError(f"is a {model.kind!r} model, expected {KIND!r}", model.path)
        path = model.path
    else:
        model = load_model(path, KIND)
    vectors = model.arrays.get("vectors")
    try:
        vocab = Vocab.from_meta(model.meta["vocab"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"corrupt vectors file (vocabulary unreadable: {exc})", path) from None
    if vectors is None or vectors.ndim != 2 or vectors.dtype != np.float32:
        raise ModelFileError("corrupt vectors file (expected a float32 (V, D) array 'vectors')", path)
    if vectors.shape[0] != len(vocab):
        raise ModelFileError(f"corrupt vectors file ({vectors.shape[0]} vectors for {len(vocab)} tokens)", path)
    if not np.all(np.isfinite(vectors)):
        raise ModelFileError("corrupt vectors file (NaN or infinite values)", path)
    ngram = model.arrays.get("ngram_vectors")
    if ngram is not None:
        hyper = config_of(model.meta)
        sub = hyper.get("subword") if isinstance(hyper, dict) else None
        ok = (isinstance(sub, list) and len(sub) == 2 and all(type(x) is int for x in sub) and 1 <= sub[0] <= sub[1]
              and ngram.ndim == 2 and ngram.shape[0] >= 1 and ngram.shape[1] == vectors.shape[1]
              and ngram.dtype == np.float32)
        if not ok:
            raise ModelFileError("corrupt vectors file (n-gram vectors without a valid subword setting, or of "
                                 "another size than the vectors)", path)
        if not np.all(np.isfinite(ngram)):
            raise ModelFileError("corrupt vectors file (NaN or infinite n-gram values)", path)
    return Vectors(vocab, vectors, model.meta, ngram)


def save(path: str | os.PathLike, vocab, vectors: np.ndarray, **meta) -> None:
    from rnntools.io import save_model

    save_model(path, KIND, {"vectors": np.ascontiguousarray(vectors, np.float32)}, {"vocab": vocab.to_meta(), **meta})


# --- queries ------------------------------------------------------------------------------------------

_TERM = re.compile(r"[+-]|[^\s+-]+")


def parse_expression(text: str) -> tuple[list[str], list[str]]:
    """``"king - man + woman"`` -> (["king", "woman"], ["man"]); words without operators are added.
    Tokens never contain + or - (the tokenizer splits on them), so they are always operators."""
    positive, negative, sign = [], [], 1
    for term in _TERM.findall(text):
        if term == "+":
            sign = 1
        elif term == "-":
            sign = -1
        else:
            (positive if sign > 0 else negative).append(term)
            sign = 1
    return positive, negative


@dataclass
class Query:
    text: str
    positive: list[str]
    negative: list[str]


class QueryError(Exception):
    """Why a query has no answer; the message is its output record's ``error``."""


class UnknownWords(QueryError):
    def __init__(self, words: list[str]):
        self.words = words
        super().__init__(f"unknown word{'s' if len(words) > 1 else ''}: {', '.join(words)}")


def nearest(model: Vectors, queries: list[Query], k: int = 10, restrict: int | None = None,
            method: str = "add") -> list[list[tuple[str, float]] | UnknownWords]:
    """Top-k tokens per query by cosine (3CosAdd) or 3CosMul, query words left out.

    restrict: search only the ``restrict`` most frequent tokens (the first rows). A word outside the
    vocabulary is unknown, unless the model has subwords: then its vector comes from its n-grams.
    Returns, per query, a list of (token, score), or a QueryError: UnknownWords for a query with unknown
    words, or a query with no words, or one whose words cancel out (``the - the``: every score would be 0
    and the order of the answer arbitrary).
    """
    unit = model.unit
    rows = unit if restrict is None else unit[:restrict]
    out: list = [None] * len(queries)
    ready = []
    for i, q in enumerate(queries):
        terms, missing, exclude = [], [], []
        for words, sign in ((q.positive, 1), (q.negative, -1)):
            for w in words:
                j = model.id(w)
                if j is not None:
                    terms.append((unit[j], sign))
                    exclude.append(j)
                    continue
                v = model.oov_vector(w)
                norm = float(np.linalg.norm(v)) if v is not None else 0.0
                if norm > 0:
                    terms.append((v / norm, sign))
                else:
                    missing.append(w)
        if missing:
            out[i] = UnknownWords(missing)
        elif not terms:
            out[i] = QueryError("no words in the query")
        elif float(np.abs(sum(sign * v for v, sign in terms)).max()) < 1e-6:
            out[i] = QueryError("the query's words cancel out (their vectors sum to zero)")
        else:
            ready.append((i, terms, exclude))
    for start in range(0, len(ready), 64):
        chunk = ready[start:start + 64]
        scores = _scores(rows, [c[1] for c in chunk], method)
        for (i, _, exclude), row in zip(chunk, scores):
            exclude = [j for j in exclude if j < len(row)]
            row[exclude] = -np.inf
            n = min(k, len(row) - len(set(exclude)))
            if n <= 0:
                out[i] = []
                continue
            top = np.argpartition(-row, n - 1)[:n] if n < len(row) else np.arange(len(row))
            top = top[np.argsort(-row[top], kind="stable")][:n]
            out[i] = [(model.tokens[j], float(row[j])) for j in top]
    return out


def _scores(rows: np.ndarray, queries: list[list[tuple[np.ndarray, int]]], method: str) -> np.ndarray:
    """(B, R) scores of every searched row for each query (its unit vectors with their signs)."""
    if method == "add":
        q = np.zeros((len(queries), rows.shape[1]), np.float32)
        for b, terms in enumerate(queries):
            for v, sign in terms:
                q[b] += sign * v
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        q /= np.where(norms > 0, norms, 1)
        return q @ rows.T
    if method == "cosmul":
        # Levy & Goldberg (2014): prod over positives of (cos+1)/2 divided by prod over negatives + 1e-6
        out = np.empty((len(queries), rows.shape[0]), np.float32)
        for b, terms in enumerate(queries):
            pos = np.array([v for v, sign in terms if sign > 0]).reshape(-1, rows.shape[1])
            neg = np.array([v for v, sign in terms if sign < 0]).reshape(-1, rows.shape[1])
            num = np.prod((rows @ pos.T + 1) / 2, axis=1)
            den = np.prod((rows @ neg.T + 1) / 2, axis=1) + 1e-6
            out[b] = num / den
        return out
    raise ValueError(f"unknown method {method!r}")


def iter_queries(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, Query]]:
    for line_no, text in lines:
        if text.strip():
            pos, neg = parse_expression(text)
            yield line_no, Query(text.strip(), pos, neg)
