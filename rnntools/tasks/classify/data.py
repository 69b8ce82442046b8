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
        fields = ", ".join(str(k) for k in record if k != "_place") or "none"   # not the reader's own bookkeeping
        raise InputError(f"record has no field {label_field!r} (fields: {fields}); "
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


def check_fields_apart(text_field: str, label_field: str) -> None:
    """One field for both the text and the label: the classifier would read its own answer (accuracy 1.0
    from a model that has learnt nothing), so it is a usage error."""
    if text_field == label_field:
        from rnntools.errors import UsageError

        raise UsageError(f"--text-field and --label-field both name the field {text_field!r}: the classifier "
                         "would read the label it is to predict; name the text's field")


def read_labelled(inputs: Sequence[str], text_field: str = "text", label_field: str = "label",
                  errors: str = "strict") -> Labelled:
    """Every labelled text of ``inputs`` (JSONL or ``label<TAB>text``); a missing field is an error naming
    the line."""
    check_fields_apart(text_field, label_field)
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
    sequences, how many texts had no known token (empty or all ``<unk>``) and how many were cut.

    All texts at once (``Vocab.tokenize_lines``, one id array cut into views): per text, the numpy calls
    cost more than the lookups (4,000 glosses: 36 -> 17 ms)."""
    from itertools import chain

    get = vocab.index.get
    unk = vocab.unk_id
    if vocab.n_special > 1:
        lists = [[get(token, unk) for token in tokens] for tokens in vocab.tokenize_lines(texts)]
    else:
        lists = [[i for i in map(get, tokens) if i is not None] for tokens in vocab.tokenize_lines(texts)]
    lengths = np.fromiter(map(len, lists), np.int64, len(lists))
    ids = np.fromiter(chain.from_iterable(lists), np.int32, int(lengths.sum()))
    known = np.bincount(np.repeat(np.arange(len(lists)), lengths)[ids != unk], minlength=len(lists))
    empty = int(np.count_nonzero(known == 0))
    truncated = int(np.count_nonzero(lengths > max_len))
    starts = (np.cumsum(lengths) - lengths).tolist()
    one_unk = np.array([unk], np.int32)
    seqs = [ids[a:a + min(n, max_len)] if n else one_unk for a, n in zip(starts, lengths.tolist())]
    return seqs, empty, truncated


def label_key(label: Label) -> str:
    """The JSON object key of a label (``probs``, per-class tables): strings as they are, integers as JSON."""
    return label if isinstance(label, str) else json.dumps(label)


def record_text(record: dict, field: str) -> str:
    """A record's text field, or an error naming where the record came from (its ``_place``)."""
    path, line_no = record.get("_place", (None, 0))
    return read_text_field(record, field, path, line_no)
