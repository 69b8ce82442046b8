"""Evaluating word vectors: analogies (questions-words files, 3CosAdd, as gensim) and word-similarity
files (Spearman and Pearson correlation)."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np

from rnntools.errors import InputError

if TYPE_CHECKING:
    from rnntools.w2v.vectors import Vectors


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
    first_invalid = None   # (line, words) of the first line that is not 4 words
    for line_no, line in iter_lines(path):
        if line.startswith(":"):
            sections.append({"section": line[1:].strip(), "correct": 0, "questions": 0, "skipped": 0})
            continue
        words = line.upper().split() if case_insensitive else line.split()
        if not words:
            continue
        if len(words) != 4:
            invalid += 1
            first_invalid = first_invalid or (line_no, len(words))
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
        if first_invalid:
            # "no analogy questions", naming no line, of a file whose every line had 5 words
            raise InputError(f"no analogy questions: the line has {first_invalid[1]} words, expected 4 (a b c d, "
                             f"a:b = c:d) after ': section' lines", path, first_invalid[0])
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
            best = int(np.argmax(row))
            # no candidate left (--restrict 3 and the question's three words): no answer, as gensim's; argmax
            # of a row of -inf is 0, which counted "the the the the" correct
            if row[best] > -np.inf and ok_equal(model, best, int(expected), case_insensitive):
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

    first, header = True, None
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
            if first:  # a header line, as wordsim353's combined.tab has ('Word 1<TAB>Word 2<TAB>Human (mean)')
                first, header = False, (line_no, parts[2])
                continue
            raise InputError(f"the score {parts[2]!r} is not a number", path, line_no) from None
        first = False
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
    if total == 0 and header is not None:  # nothing but that line: it was a pair with a bad score after all
        raise InputError(f"the score {header[1]!r} is not a number", path, header[0])
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
