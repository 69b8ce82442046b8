"""The JSON that ``predict`` adds to each record, ``"label"`` and ``"probs"``, written by a kernel.

Why: a record of 26 classes is 26 probabilities, each a Python float turned into text by ``repr`` (the
shortest string that reads back as the same float) inside the JSON encoder; for 4,000 glosses that took
~45 ms of a ~0.7 s process, with ~15 ms more to make the floats and the dicts. The probabilities are
rounded to millionths (``task.rounded``), so each is an integer count of millionths ``m`` and its ``repr`` is
that decimal's digits (``io.decimals.write_decimal``: ``0.`` and six digits without the trailing zeros,
``1.0`` and ``0.0``, or, below 10^-4, ``repr``'s exponent form, ``9.9e-05``). The kernel writes those digits
and the labels' JSON (encoded once per model) for a whole chunk; the tests compare it with ``repr`` for every
``m`` from 0 to 10^6 and with ``io.JsonlWriter`` on the records ``predict`` makes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnntools.io.decimals import write_decimal
from rnntools.jit import njit

# the most bytes one probability takes: "0.123456" is 8, "1.2e-05" 7, "null" 4 (1.0 at most: "1.0")
NUMBER_WIDTH = 8
MICROS = 1_000_000


def micros(probs: np.ndarray) -> np.ndarray:
    """``round(p, 6) * 10**6`` as int64 for float64 probabilities (N, C) in [0, 1], -1 for NaN: the integers
    whose ``/ 10**6`` are ``task.rounded``'s floats (the same rule for entries rounded across a half)."""
    y = probs * float(MICROS)
    m = np.rint(y)
    for i, j in zip(*np.nonzero(np.abs(y - np.floor(y) - 0.5) < 1e-6)):
        m[i, j] = round(round(float(probs[i, j]), 6) * MICROS)
    out = np.where(np.isnan(m), -1.0, m).astype(np.int64)
    return out


def _packed(parts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as one uint8 array and their (n + 1,) start offsets."""
    starts = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=starts[1:])
    return np.frombuffer(b"".join(parts), np.uint8).copy(), starts


class Chunk(list):
    """A scored chunk's text to add to each record (``, "label": ..., "probs": {...}}`` and the line's end),
    with ``micros`` and ``order`` for the records that are encoded whole."""

    def __init__(self, texts: list[str], micros_: np.ndarray, order: np.ndarray):
        super().__init__(texts)
        self.micros, self.order = micros_, order


class LabelProbsText:
    """A model's labels as the JSON ``predict`` adds to a record, written for a chunk at a time."""

    def __init__(self, labels: Sequence, keys: Sequence[str]):
        from rnntools.io.outputs import _encode

        self.labels, self.keys = list(labels), list(keys)
        label_parts = [f', "label": {_encode(v)}, "probs": {{'.encode() for v in self.labels]
        key_parts = [f"{_encode(k)}: ".encode() for k in self.keys]
        self.label_bytes, self.label_starts = _packed(label_parts)
        self.key_bytes, self.key_starts = _packed(key_parts)
        self.label_width = max(map(len, label_parts)) + 3        # and "}}\n"
        self.key_width = max(map(len, key_parts)) + 2 + NUMBER_WIDTH   # and ", " before it

    def suffixes(self, probs: np.ndarray, order: np.ndarray) -> Chunk:
        """The text each record of a chunk gets after its own fields (from its closing brace on); probs
        (N, C) float64, order (N, k) the classes from the most probable."""
        m = micros(probs)
        order = np.ascontiguousarray(order, np.int64)
        N, k = order.shape
        out = np.empty(N * (self.label_width + k * self.key_width), np.uint8)
        ends = np.zeros(N + 1, np.int64)
        label_probs_text(order, m, self.label_bytes, self.label_starts, self.key_bytes, self.key_starts,
                          out, ends)
        data = out[:ends[-1]].tobytes()
        text = data.decode("utf-8")
        if len(text) == len(data):      # ASCII: the byte offsets are the character offsets
            texts = [text[a:b] for a, b in zip(ends[:-1].tolist(), ends[1:].tolist())]
        else:
            texts = [data[a:b].decode("utf-8") for a, b in zip(ends[:-1].tolist(), ends[1:].tolist())]
        return Chunk(texts, m, order)

    def record(self, record: dict, chunk: Chunk, i: int) -> dict:
        """``record`` with ``label`` and ``probs`` set as ``predict`` sets them (the chunk's row i)."""
        o = chunk.order[i].tolist()
        row = chunk.micros[i]
        record["label"] = self.labels[o[0]]
        record["probs"] = {self.keys[j]: (float("nan") if row[j] < 0 else int(row[j]) / MICROS) for j in o}
        return record


@njit(cache=True, nogil=True)
def label_probs_text(order, micros, label_bytes, label_starts, key_bytes, key_starts, out, ends):
    """Row i's text into out[ends[i]:ends[i + 1]] (ends[0] = 0): its label's part (label_bytes, class
    order[i, 0]), then for each class j of order[i] its key's part and the number micros[i, j] / 10^6
    as ``repr`` writes it (-1: null), ", " between them, and "}}\\n". The parts: (n + 1,) start offsets
    into the bytes arrays; out large enough (LabelProbsText.suffixes)."""
    w = 0
    for i in range(order.shape[0]):
        c = order[i, 0]
        for b in range(label_starts[c], label_starts[c + 1]):
            out[w] = label_bytes[b]
            w += 1
        for q in range(order.shape[1]):
            j = order[i, q]
            if q > 0:
                out[w] = 44      # ", "
                out[w + 1] = 32
                w += 2
            for b in range(key_starts[j], key_starts[j + 1]):
                out[w] = key_bytes[b]
                w += 1
            m = micros[i, j]
            if m < 0:
                out[w] = 110     # null
                out[w + 1] = 117
                out[w + 2] = 108
                out[w + 3] = 108
                w += 4
                continue
            w = write_decimal(out, w, m, 6)
        out[w] = 125             # }}\n
        out[w + 1] = 125
        out[w + 2] = 10
        w += 3
        ends[i + 1] = w
