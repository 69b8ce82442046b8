"""Data for many-to-one classification: labelled records, label sets, stratified splits, padded batches
and the metrics (accuracy, macro-F1, per-class precision/recall, confusion matrix).

Nothing here knows the network (``model.py``); ``task.py`` puts the two together.

Inputs are JSONL records (``{"text": ..., "label": ...}``, field names configurable) or plain
``label<TAB>text`` lines; the format is decided per file by its first non-blank line (``{`` means JSONL).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnntools.errors import InputError, where
from rnntools.io import iter_lines, parse_json_object, read_text_field
from rnntools.tasks.batching import bucket_batches, length_mask, pad_batch  # noqa: F401 (re-exported)

Label = Any  # a JSON string or integer, kept as it came so predictions echo the user's own labels


def _json_type(value: Any) -> str:
    return {list: "a list", dict: "an object", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(value), type(value).__name__)


def iter_records(path: str | os.PathLike, errors: str = "strict", tsv_fields: tuple[str, str] | None = None,
                 plain_text: bool = False) -> Iterator[tuple[int, dict]]:
    """``(line number, record)`` for every non-blank line of a JSONL or ``label<TAB>text`` file.

    The first non-blank line decides: ``{`` starts JSONL, anything else is plain lines. Plain lines
    become ``{label_field: ..., text_field: ...}`` split at the first tab when ``tsv_fields`` is
    ``(label_field, text_field)``; otherwise (``predict`` on plain text) ``{"text": line}``.
    ``plain_text``: a plain line without a tab is ``{text_field: line}`` (predict) rather than an error
    (training needs the label), so ``label<TAB>text`` lines read the same at training and at prediction.
    """
    fmt = None
    for line_no, text in iter_lines(path, errors):
        if not text.strip():
            continue
        if fmt is None:
            fmt = "jsonl" if text.lstrip().startswith("{") else "plain"
        if fmt == "jsonl":
            # line by line rather than iter_jsonl: the format is sniffed, and stdin cannot be read twice
            yield line_no, parse_json_object(text, path, line_no)
        elif tsv_fields is None:
            yield line_no, {"text": text}
        else:
            label, tab, rest = text.partition("\t")
            if not tab and plain_text:
                yield line_no, {tsv_fields[1]: text}
                continue
            if not tab:
                raise InputError("expected 'label<TAB>text' (no tab on this line; the file's first line "
                                 "was not JSON, so every line is read as label<TAB>text)", path, line_no)
            yield line_no, {tsv_fields[0]: label.strip(), tsv_fields[1]: rest}


def read_label(record: dict, label_field: str, path, line_no: int) -> Label:
    if label_field not in record:
        raise InputError(f"record has no field {label_field!r} (fields: {', '.join(map(str, record)) or 'none'}); "
                         "name the label field with --label-field", path, line_no)
    value = record[label_field]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"label field {label_field!r} should be a string or an integer, got {_json_type(value)}",
                         path, line_no)
    if isinstance(value, str) and not value.strip():
        raise InputError(f"label field {label_field!r} is empty", path, line_no)
    return value


@dataclass
class Labelled:
    """Texts with their labels and where each came from (``file:line`` for messages)."""

    texts: list[str] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    places: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


def read_labelled(inputs: Sequence[str], text_field: str = "text", label_field: str = "label",
                  errors: str = "strict") -> Labelled:
    """Every labelled text of ``inputs`` (JSONL or ``label<TAB>text``); a missing field is an error naming
    the line."""
    data = Labelled()
    for path in inputs:
        for line_no, record in iter_records(path, errors, tsv_fields=(label_field, text_field)):
            data.texts.append(read_text_field(record, text_field, path, line_no))
            data.labels.append(read_label(record, label_field, path, line_no))
            data.places.append((path, line_no))
    return data


def label_set(labels: Iterable[Label], inputs: Sequence[str] = ()) -> list[Label]:
    """The sorted distinct labels (strings before integers); fewer than two is an error naming ``inputs``
    (the files the labels were read from)."""
    source = ", ".join(where(p) for p in inputs) or None
    distinct = set(labels)
    if not distinct:
        raise InputError("no labelled records to train on; a classifier needs JSONL records with a text and a "
                         "label field, or label<TAB>text lines", source)
    ordered = sorted(distinct, key=lambda v: (isinstance(v, int), v))
    if len(ordered) < 2:
        raise InputError(f"only one label ({json.dumps(ordered[0], ensure_ascii=False)}) in the training data: "
                         "a classifier needs records of at least two classes", source)
    return ordered


def stratified_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)`` with about ``fraction`` of every class held out.

    Each class gives ``round(fraction * n)`` of its ``n`` examples, but always keeps at least one for
    training; a class too small to give any is not represented in validation."""
    train, val = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        k = min(int(round(fraction * len(idx))), len(idx) - 1)
        val.append(idx[:k])
        train.append(idx[k:])
    train_idx, val_idx = np.concatenate(train), np.concatenate(val)
    return np.sort(train_idx), np.sort(val_idx)


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> np.ndarray:
    """``none``: all 1; ``balanced``: n / (C * n_c) as scikit-learn, so the weights average 1 over the
    examples and the learning rate means the same with or without them."""
    w = np.ones(n_classes, np.float32)
    if mode == "balanced":
        counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        present = counts > 0
        w[present] = (len(y) / (present.sum() * counts[present])).astype(np.float32)
    return w


# --- batches ------------------------------------------------------------------------------------------

# --- metrics ------------------------------------------------------------------------------------------

def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """``(n, n)`` int64 counts, rows true class, columns predicted class."""
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


EXACT_SHIFT = 1127  # 2**-1127 divides every float64 (subnormals included) times 2**53: sums are exact ints


def exact_sum(values) -> int:
    """The exact sum of float64 ``values`` as an integer count of ``2**-EXACT_SHIFT``: sums of partitions add
    up to the sum of the whole, bit for bit, in any order (a cluster's partitions give one run's metrics)."""
    mantissa, exponent = np.frexp(np.asarray(values, np.float64).ravel())
    ints = (mantissa * 2.0**53).astype(np.int64)  # exact: |mantissa| < 1 has 53 bits
    shifts = exponent.astype(np.int64) - 53 + EXACT_SHIFT
    total = 0
    for shift in np.unique(shifts):
        total += sum(ints[shifts == shift].tolist()) << int(shift)
    return total


def exact_mean(total: int, count: int) -> float:
    """``exact_sum`` / ``count`` rounded once (Python's int division is correctly rounded)."""
    return total / (count << EXACT_SHIFT)


def metrics_from_confusion(cm: np.ndarray) -> dict:
    """Accuracy, macro-F1 and per-class precision, recall, F1 and support from a confusion matrix.

    Macro averages run over the classes that occur as truth or prediction (scikit-learn's convention);
    a precision or recall with nothing to divide by is 0, as scikit-learn's ``zero_division=0``."""
    cm = np.asarray(cm, np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = (support + predicted) > 0
    total = cm.sum()
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64),
    }


def encode_texts(vocab, texts: Sequence[str], max_len: int) -> tuple[list[np.ndarray], int, int]:
    """int32 ids per text, at most ``max_len`` (the first tokens). An empty text (or one whose every token
    is dropped) becomes a single ``<unk>``: the network still reads one step and predicts. Returns the
    sequences, how many texts had no known token (empty or all ``<unk>``) and how many were cut."""
    seqs, empty, truncated = [], 0, 0
    unk = np.array([vocab.unk_id], np.int32)
    for text in texts:
        ids = vocab.encode(text)
        if len(ids) == 0:
            ids, empty = unk, empty + 1
        elif not np.any(ids != vocab.unk_id):
            empty += 1
        if len(ids) > max_len:
            ids, truncated = ids[:max_len], truncated + 1
        seqs.append(np.asarray(ids, np.int32))
    return seqs, empty, truncated



# --- the wide part's features: hashed word and character n-grams ---------------------------------------------
#
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
