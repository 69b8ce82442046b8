"""Word vectors after training: loading, cosine neighbours, analogies, evaluation, word2vec file formats.

numpy only (no numba): ``neighbors``, ``evaluate`` and ``export`` start in a fraction of a second.
Vectors are stored as trained (their norms carry word frequency, some users want them); they are
unit-normalised on load for queries, which costs a few milliseconds per million floats.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from rnntools.errors import InputError, ModelFileError

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
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._unit = self.vectors / np.where(norms > 0, norms, 1).astype(np.float32)
        return self._unit

    def id(self, word: str) -> int | None:
        """The id of ``word`` as a user typed it: lowercased first when the vocabulary is lowercase."""
        index = self.vocab.index
        if self.vocab.lowercase:
            return index.get(word.lower())
        return index.get(word)

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


def load(path: str | os.PathLike) -> Vectors:
    """A vectors model file (kind "vectors"), checked."""
    from rnntools.io import load_model
    from rnntools.text import Vocab

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


class UnknownWords(Exception):
    def __init__(self, words: list[str]):
        self.words = words
        super().__init__(", ".join(words))


def nearest(model: Vectors, queries: list[Query], k: int = 10, restrict: int | None = None,
            method: str = "add") -> list[list[tuple[str, float]] | UnknownWords]:
    """Top-k tokens per query by cosine (3CosAdd) or 3CosMul, query words left out.

    restrict: search only the ``restrict`` most frequent tokens (the first rows). A word outside the
    vocabulary is unknown, unless the model has subwords: then its vector comes from its n-grams.
    Returns, per query, a list of (token, score), or UnknownWords for a query with unknown words.
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
        if missing or not terms:
            out[i] = UnknownWords(missing or ["(no words)"])
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


# --- evaluation ---------------------------------------------------------------------------------------


def _ok_vocab(model: Vectors, restrict: int | None, case_insensitive: bool) -> dict[str, int]:
    """The searchable words, as gensim's evaluators build them: the most frequent ``restrict``
    tokens, upper-cased when case-insensitive (the most frequent spelling wins)."""
    tokens = model.tokens if restrict is None else model.tokens[:restrict]
    if case_insensitive:
        return {t.upper(): i for i, t in reversed(list(enumerate(tokens)))}
    return {t: i for i, t in enumerate(tokens)}


def evaluate_analogies(model: Vectors, path: str, restrict: int | None = 30000,
                       case_insensitive: bool = True) -> list[dict]:
    """Accuracy on a questions-words file (``: section`` lines, then ``a b c d`` with a:b = c:d),
    3CosAdd over the ``restrict`` most frequent words, the three question words excluded; questions with
    a word outside them are skipped. One dict per section, then the total (as gensim's
    ``evaluate_word_analogies``, which this matches question for question)."""
    from rnntools.io import iter_lines

    ok = _ok_vocab(model, restrict, case_insensitive)
    rows = model.unit if restrict is None else model.unit[:restrict]
    sections: list[dict] = []
    questions: list[tuple[int, int, int, int, int]] = []  # section, a, b, c, expected
    invalid = 0
    for line_no, line in iter_lines(path):
        if line.startswith(":"):
            sections.append({"section": line[1:].strip(), "correct": 0, "questions": 0, "skipped": 0})
            continue
        words = line.upper().split() if case_insensitive else line.split()
        if not words:
            continue
        if len(words) != 4:
            invalid += 1
            if invalid > 10 and not questions:
                raise InputError("expected 4 words per line (a b c d, a:b = c:d) in a questions-words file",
                                 path, line_no)
            continue
        if not sections:
            sections.append({"section": "(no section)", "correct": 0, "questions": 0, "skipped": 0})
        ids = [ok.get(w) for w in words]
        if None in ids:
            sections[-1]["skipped"] += 1
            continue
        questions.append((len(sections) - 1, *ids))
    if not questions and not any(s["skipped"] for s in sections):
        raise InputError("no analogy questions (expected lines 'a b c d' after ': section' lines)", path)
    variants: dict[int, list[int]] = {}
    if case_insensitive:
        # gensim also ignores other spellings of the question words (Paris/paris) as answers
        by_upper: dict[str, list[int]] = {}
        for i, t in enumerate(model.tokens[: rows.shape[0]]):
            by_upper.setdefault(t.upper(), []).append(i)
        for i, t in enumerate(model.tokens[: rows.shape[0]]):
            variants[i] = by_upper[t.upper()]
    for start in range(0, len(questions), 256):
        chunk = np.array(questions[start:start + 256], np.int64)
        q = rows[chunk[:, 2]] - rows[chunk[:, 1]] + rows[chunk[:, 3]]  # b - a + c
        scores = q @ rows.T
        for r, (sec, a, b, c, expected) in enumerate(chunk):
            row = scores[r]
            for j in (a, b, c):
                row[variants.get(j, [j])] = -np.inf
            sections[sec]["questions"] += 1
            if ok_equal(model, int(np.argmax(row)), int(expected), case_insensitive):
                sections[sec]["correct"] += 1
    results = []
    for s in sections:
        results.append({"task": "analogies", "section": s["section"], "accuracy": _ratio(s["correct"],
                        s["questions"]), "correct": s["correct"], "questions": s["questions"],
                        "skipped": s["skipped"]})
    correct = sum(s["correct"] for s in sections)
    total = sum(s["questions"] for s in sections)
    results.append({"task": "analogies", "section": "total", "accuracy": _ratio(correct, total),
                    "correct": correct, "questions": total, "skipped": sum(s["skipped"] for s in sections),
                    "restrict": restrict, "invalid_lines": invalid})
    return results


def ok_equal(model: Vectors, predicted: int, expected: int, case_insensitive: bool) -> bool:
    if predicted == expected:
        return True
    return case_insensitive and model.tokens[predicted].upper() == model.tokens[expected].upper()


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 6) if b else None


def evaluate_similarity(model: Vectors, path: str, case_insensitive: bool = True) -> dict:
    """Pearson and Spearman correlation of cosine similarity with human scores on a word-pair file
    (wordsim353/simlex999: ``#`` comments, then ``word1<TAB>word2<TAB>score``); pairs with an unknown
    word are skipped and counted, as gensim's ``evaluate_word_pairs`` does. A subword model gives words
    outside its vocabulary vectors from their n-grams (as gensim's FastText does); they are counted in
    ``from_subwords``."""
    from rnntools.io import iter_lines

    ok = _ok_vocab(model, None, case_insensitive)
    unit = model.unit
    pairs, human, skipped, from_subwords = [], [], 0, 0

    def vector(word: str, key: str):
        j = ok.get(key)
        if j is not None:
            return unit[j], False
        v = model.oov_vector(word)
        norm = float(np.linalg.norm(v)) if v is not None else 0.0
        return (v / norm, True) if norm > 0 else (None, False)

    for line_no, line in iter_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < 3:
            raise InputError(f"expected 'word1<TAB>word2<TAB>score', got {len(parts)} fields", path, line_no)
        a, b = (parts[0].upper(), parts[1].upper()) if case_insensitive else (parts[0], parts[1])
        try:
            score = float(parts[2])
        except ValueError:
            raise InputError(f"the score {parts[2]!r} is not a number", path, line_no) from None
        if not math.isfinite(score):
            raise InputError(f"the score {parts[2]!r} is not a finite number", path, line_no)
        (va, sa), (vb, sb) = vector(parts[0], a), vector(parts[1], b)
        if va is None or vb is None:
            skipped += 1
            continue
        from_subwords += sa or sb
        pairs.append(float(va @ vb))
        human.append(score)
    total = len(pairs) + skipped
    if total == 0:
        raise InputError("no word pairs (expected lines 'word1<TAB>word2<TAB>score')", path)
    record = {"task": "similarity", "file": os.path.basename(path), "pairs": len(pairs), "skipped": skipped,
              "oov_ratio": round(skipped / total, 6), "spearman": None, "pearson": None}
    if model.ngram_vectors is not None:
        record["from_subwords"] = from_subwords
    if len(pairs) >= 2:
        cos = np.array(pairs, np.float64)
        record["spearman"] = _round(_pearson(_ranks(cos), _ranks(np.array(human))))
        record["pearson"] = _round(_pearson(cos, np.array(human)))
    return record


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 6)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    x, y = x - x.mean(), y - y.mean()
    den = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / den) if den > 0 else None


# --- word2vec formats ---------------------------------------------------------------------------------


def write_word2vec(tokens: list[str], vectors: np.ndarray, stream: IO[bytes], binary: bool) -> None:
    """word2vec's formats: a ``V D`` header line, then per word its token, a space and the vector,
    as text (space separated, shortest float32 repr round-trips exactly) or as D little-endian float32
    followed by a newline (binary, as word2vec.c writes it)."""
    V, D = vectors.shape
    stream.write(f"{V} {D}\n".encode())
    if binary:
        data = np.ascontiguousarray(vectors, "<f4")
        for token, row in zip(tokens, data):
            stream.write(token.encode("utf-8") + b" " + row.tobytes() + b"\n")
        return
    lines = []
    for token, row in zip(tokens, vectors.astype(np.float32)):
        # %.9g is the shortest format that always reads back the same float32
        lines.append(token + " " + " ".join(map("%.9g".__mod__, row.tolist())) + "\n")
        if len(lines) >= 1000:
            stream.write("".join(lines).encode("utf-8"))
            lines = []
    stream.write("".join(lines).encode("utf-8"))


def read_word2vec(path: str, binary: bool | None = None) -> tuple[list[str], np.ndarray, str]:
    """Read word2vec text or binary vectors (or GloVe's headerless text); returns (tokens, vectors, format).
    ``binary=None`` detects the format."""
    from rnntools.io import open_binary

    with open_binary(path) as stream:
        data = stream.read()
    if not data.strip():
        raise InputError("empty vectors file", path)
    end = data.find(b"\n")
    header = data[:end if end >= 0 else len(data)].split()
    has_header = len(header) == 2 and all(h.isdigit() for h in header)
    if binary is None:
        binary = has_header and _looks_binary(data[end + 1:end + 4097])
    if has_header and int(header[1]) == 0:
        raise InputError("the header says the vectors have 0 dimensions", path, 1)
    if binary:
        if not has_header:
            raise InputError("a binary word2vec file starts with a 'V D' line", path, 1)
        V, D = int(header[0]), int(header[1])
        if V * (4 * D + 2) > len(data) - end:  # checked before allocating what a header claims
            raise InputError(f"truncated binary vectors file: the header says {V} words of {D} floats "
                             f"({V * 4 * D:,} bytes), the file has {len(data):,} bytes", path, 1)
        tokens, vectors = _read_binary(data, end + 1, V, D, path)
        found = "word2vec-binary"
    else:
        tokens, vectors = _read_text(data, path, has_header, header)
        found = "word2vec-text" if has_header else "glove-text"
    if vectors.shape[1] == 0:
        raise InputError("the vectors have 0 dimensions (each line needs a word and at least one number)", path)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"the vector of {tokens[i]!r} has NaN or infinite values ({len(bad)} such word"
                         f"{'s' if len(bad) > 1 else ''})", path, None if binary else i + 1 + has_header)
    return tokens, vectors, found


def _looks_binary(sample: bytes) -> bool:
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)


def _read_binary(data: bytes, pos: int, V: int, D: int, path) -> tuple[list[str], np.ndarray]:
    tokens, vectors = [], np.empty((V, D), np.float32)
    width = 4 * D
    for i in range(V):
        while pos < len(data) and data[pos:pos + 1] in (b"\n", b" "):
            pos += 1
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + width > len(data):
            raise InputError(f"truncated binary vectors file: the header says {V} words, found {i}", path)
        try:
            tokens.append(data[pos:space].decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError(f"word {i + 1} is not valid UTF-8 (byte offset {pos})", path) from None
        vectors[i] = np.frombuffer(data, "<f4", D, space + 1)
        pos = space + 1 + width
    return tokens, vectors


def _read_text(data: bytes, path, has_header: bool, header: list[bytes]) -> tuple[list[str], np.ndarray]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"invalid UTF-8 at byte {exc.start}; is it a binary file? (--format word2vec-binary)",
                         path, line) from None
    lines = text.splitlines()
    first = 1 if has_header else 0
    V = int(header[0]) if has_header else None
    D = int(header[1]) if has_header else None
    tokens, rows = [], []
    for n, line in enumerate(lines[first:], first + 1):
        parts = line.rstrip().split(" ")
        if len(parts) == 1 and not parts[0]:
            continue
        if D is None:
            D = len(parts) - 1
        if len(parts) != D + 1:
            raise InputError(f"expected a word and {D} numbers, got {len(parts)} fields", path, n)
        try:
            rows.append(np.array(parts[1:], np.float32))
        except ValueError:
            raise InputError("a vector value is not a number", path, n) from None
        tokens.append(parts[0])
    if V is not None and len(tokens) != V:
        raise InputError(f"the header says {V} words, found {len(tokens)}", path)
    if not tokens:
        raise InputError("no vectors in the file", path)
    return tokens, np.vstack(rows)


def vocab_for_tokens(tokens: list[str], path: str):
    """A Vocab (no specials) for imported tokens, kept in file order (word2vec files are sorted by
    frequency); counts are unknown (zero). Case is kept unless every token is lowercase."""
    from rnntools.text import Vocab

    seen: dict[str, int] = {}
    for i, t in enumerate(tokens):
        if t in seen:
            raise InputError(f"the word {t!r} appears twice (entries {seen[t] + 1} and {i + 1})", path)
        seen[t] = i
    lowercase = all(t == t.lower() for t in tokens)
    return Vocab(tokens, None, None, level="word", lowercase=lowercase, n_special=0)


def iter_queries(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, Query]]:
    for line_no, text in lines:
        if text.strip():
            pos, neg = parse_expression(text)
            yield line_no, Query(text.strip(), pos, neg)
