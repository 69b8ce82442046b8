"""Data for many-to-one classification: labelled records, label sets, stratified splits, padded batches
and the metrics (accuracy, macro-F1, per-class precision/recall, confusion matrix).

Nothing here knows the network; ``rnntools.tasks.classify`` puts the two together.

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

from rnntools.errors import InputError, TrainingError
from rnntools.io import iter_lines, parse_json_object, read_text_field

Label = Any  # a JSON string or integer, kept as it came so predictions echo the user's own labels


def _json_type(value: Any) -> str:
    return {list: "a list", dict: "an object", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(value), type(value).__name__)


def iter_records(path: str | os.PathLike, errors: str = "strict", tsv_fields: tuple[str, str] | None = None
                 ) -> Iterator[tuple[int, dict]]:
    """``(line number, record)`` for every non-blank line of a JSONL or ``label<TAB>text`` file.

    The first non-blank line decides: ``{`` starts JSONL, anything else is plain lines. Plain lines
    become ``{label_field: ..., text_field: ...}`` split at the first tab when ``tsv_fields`` is
    ``(label_field, text_field)``; otherwise (``predict`` on plain text) ``{"text": line}``.
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


def label_set(labels: Iterable[Label], source: str = "the training data") -> list[Label]:
    """The sorted distinct labels (strings before integers); fewer than two is an error."""
    distinct = set(labels)
    if not distinct:
        raise TrainingError(f"no labelled records in {source}")
    ordered = sorted(distinct, key=lambda v: (isinstance(v, int), v))
    if len(ordered) < 2:
        raise TrainingError(f"only one label ({json.dumps(ordered[0], ensure_ascii=False)}) in {source}: "
                            "a classifier needs records of at least two classes")
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


def bucket_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator | None,
                   pool: int = 50) -> list[np.ndarray]:
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


# --- metrics ------------------------------------------------------------------------------------------

def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """``(n, n)`` int64 counts, rows true class, columns predicted class."""
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


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


# --- the network --------------------------------------------------------------------------------------
#
# ids (T, B) -> embedding (T, B, E) -> recurrent stack (L layers; with --bidirectional each layer reads
# the text both ways and passes [forward, backward] (T, B, 2H) up) -> sentence vector (B, F) by pooling
# -> dense (F, C) -> softmax cross-entropy, weighted per class.
#
# The recurrent math is the engine's (rnntools.nn.kernels.seq_forward/seq_backward over (T, B) with a
# per-(t, b) mask that carries the state over padding); the input projections and weight gradients of
# all time steps are single BLAS products around them. The readout (pooling, dense, softmax) is a few
# numpy lines on (B, F) arrays: it is far too small to need a kernel.

CELLS = {"rnn": 0, "lstm": 1, "gru": 2}
GATE_COUNT = {"rnn": 1, "lstm": 4, "gru": 3}


@dataclass
class NetConfig:
    cell: str
    vocab_size: int
    n_classes: int
    embed_dim: int
    hidden: int
    layers: int = 1
    pooling: str = "last"
    bidirectional: bool = False
    dropout: float = 0.0

    @property
    def directions(self) -> tuple[str, ...]:
        return ("f", "b") if self.bidirectional else ("f",)

    @property
    def features(self) -> int:
        return self.hidden * len(self.directions)


def init_params(cfg: NetConfig, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """PyTorch's initialisation (uniform +-1/sqrt(H) for recurrent and dense weights, N(0, 1) scaled to 0.1
    for the embedding; LSTM forget-gate bias 1 so that it remembers by default)."""
    H, G = cfg.hidden, GATE_COUNT[cfg.cell]
    k = 1.0 / np.sqrt(H)
    p = {"embed": rng.normal(0.0, 0.1, (cfg.vocab_size, cfg.embed_dim))}
    d_in = cfg.embed_dim
    for layer in range(cfg.layers):
        for d in cfg.directions:
            name = f"enc.{d}{layer}"
            p[f"{name}.Wx"] = rng.uniform(-k, k, (d_in, G * H))
            p[f"{name}.Wh"] = rng.uniform(-k, k, (H, G * H))
            b = np.zeros(G * H)
            if cfg.cell == "lstm":
                b[:H] = 1.0  # engine gate order f, i, o, g
            p[f"{name}.b"] = b
            p[f"{name}.bn"] = np.zeros(H)  # GRU's recurrent candidate bias; unused (zero gradient) otherwise
        d_in = cfg.features
    kf = 1.0 / np.sqrt(cfg.features)
    p["out.W"] = rng.uniform(-kf, kf, (cfg.features, cfg.n_classes))
    p["out.b"] = np.zeros(cfg.n_classes)
    return {name: np.ascontiguousarray(a, dtype=dtype) for name, a in p.items()}


def reverse_index(lengths: np.ndarray, T: int) -> np.ndarray:
    """(T, B) time index that reverses each sequence within its length and leaves padding in place;
    its own inverse. ``Y[rev, cols]`` reverses right-padded (T, B, ...) arrays."""
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


class Network:
    """Forward and backward of the whole classifier for one padded batch (float32 or float64)."""

    def __init__(self, cfg: NetConfig, params: dict[str, np.ndarray], threads: int = 1):
        self.cfg, self.params, self.threads = cfg, params, threads

    def _rows(self, kernel, B: int, head: tuple, tail: tuple) -> None:
        """``kernel(*head, b0, b1, *tail)`` over the batch rows, split across ``threads`` workers (the
        engine's kernels release the GIL and write disjoint rows)."""
        from rnntools.nn.parallel import run_rows

        k = min(self.threads, B // 8)
        if k <= 1:
            kernel(*head, 0, B, *tail)
            return
        edges = [int(e) for e in np.linspace(0, B, k + 1)]
        run_rows(_head_rows_tail, B, kernel, head, tail, ranges=list(zip(edges[:-1], edges[1:])))

    def forward(self, ids: np.ndarray, lengths: np.ndarray, rng: np.random.Generator | None = None):
        """Logits (B, C) and a cache for ``backward``. ids: (T, B) right-padded; lengths: (B,) >= 1.
        ``rng``: dropout masks (training); None means no dropout."""
        from rnntools.nn.kernels import seq_forward
        from rnntools.nn.recurrent import step_rows

        cfg, p = self.cfg, self.params
        T, B = ids.shape
        H, G = cfg.hidden, GATE_COUNT[cfg.cell]
        dtype = p["embed"].dtype
        mask = length_mask(lengths, T, dtype)
        cols = np.arange(B)[None, :]
        rev = reverse_index(lengths, T) if cfg.bidirectional else None
        X = p["embed"][ids]  # (T, B, E)
        cache = {"ids": ids, "lengths": lengths, "mask": mask, "rev": rev, "layers": []}
        zeros = np.zeros((B, H), dtype)
        for layer in range(cfg.layers):
            outs, saved = [], []
            for d in cfg.directions:
                name = f"enc.{d}{layer}"
                Xin = X if d == "f" else X[rev, cols]
                D = Xin.shape[2]
                P = (Xin.reshape(T * B, D) @ p[f"{name}.Wx"] + p[f"{name}.b"]).reshape(T, B, G * H)
                Y = np.empty((T, B, H), dtype)
                Hs = np.empty((T, B, H), dtype)
                Cs = np.empty((T, B, H), dtype) if cfg.cell == "lstm" else np.empty((1, 1, 1), dtype)
                Gs = np.empty((T, B, G * H), dtype)
                Rn = np.empty((T, B, H), dtype) if cfg.cell == "gru" else np.empty((1, 1, 1), dtype)
                WhT = np.ascontiguousarray(p[f"{name}.Wh"].T)
                self._rows(seq_forward, B, (CELLS[cfg.cell], P.reshape(T * B, G * H), step_rows(T, B), WhT,
                                            p[f"{name}.bn"], zeros, zeros, mask), (Y, Hs, Cs, Gs, Rn))
                saved.append((Xin, Hs, Cs, Gs, Rn))
                outs.append(Y if d == "f" else Y[rev, cols])
            X = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)  # (T, B, F)
            drop = None
            if rng is not None and cfg.dropout > 0 and layer < cfg.layers - 1:
                drop = (rng.random(X.shape) >= cfg.dropout).astype(dtype) / (1 - cfg.dropout)
                X = X * drop
            cache["layers"].append((saved, drop))
        feats, pool_cache = pool_forward(X, lengths, mask, cfg.pooling, cfg.hidden, cfg.bidirectional)
        drop = None
        if rng is not None and cfg.dropout > 0:
            drop = (rng.random(feats.shape) >= cfg.dropout).astype(dtype) / (1 - cfg.dropout)
            feats = feats * drop
        cache.update(T=T, pool=pool_cache, feats=feats, feat_drop=drop)
        return feats @ p["out.W"] + p["out.b"], cache

    def backward(self, dlogits: np.ndarray, cache: dict, sparse_embed: bool = False) -> dict[str, np.ndarray]:
        """Gradients of every parameter given dloss/dlogits (B, C). ``sparse_embed``: the embedding's
        gradient only for the rows the batch uses, as ``embed`` (U, E) and ``embed.rows`` (U,)."""
        from rnntools.nn.kernels import scatter_add_rows, seq_backward

        cfg, p = self.cfg, self.params
        T, lengths, mask, rev = cache["T"], cache["lengths"], cache["mask"], cache["rev"]
        B = dlogits.shape[0]
        H = cfg.hidden
        dtype = p["embed"].dtype
        cols = np.arange(B)[None, :]
        g = {"out.W": cache["feats"].T @ dlogits, "out.b": dlogits.sum(axis=0)}
        dfeats = dlogits @ p["out.W"].T
        if cache["feat_drop"] is not None:
            dfeats = dfeats * cache["feat_drop"]
        dX = pool_backward(dfeats, cache["pool"], T, lengths, cfg.pooling, H, cfg.bidirectional)
        zeros = np.zeros((B, H), dtype)
        for layer in range(cfg.layers - 1, -1, -1):
            saved, drop = cache["layers"][layer]
            if drop is not None:
                dX = dX * drop
            dX_below = None
            for k, d in enumerate(cfg.directions):
                name = f"enc.{d}{layer}"
                Xin, Hs, Cs, Gs, Rn = saved[k]
                dY = np.ascontiguousarray(dX[:, :, k * H:(k + 1) * H])
                if d == "b":
                    dY = dY[rev, cols]
                GH = Gs.shape[2]
                dAx = np.empty((T, B, GH), dtype)
                dAh = np.empty((T, B, GH), dtype) if cfg.cell == "gru" else dAx
                dh0 = np.empty((B, H), dtype)
                dc0 = np.empty((B, H), dtype)
                no_ids, no_sums = np.zeros((1, 1), np.int64), np.empty((0, GH), dtype)   # no per-id sums
                self._rows(seq_backward, B, (CELLS[cfg.cell], p[f"{name}.Wh"], zeros, zeros, mask, Hs, Cs, Gs,
                                             Rn, dY, zeros, zeros), (dAx, dAh, dh0, dc0, no_ids, no_sums))
                D = Xin.shape[2]
                g[f"{name}.Wx"] = Xin.reshape(T * B, D).T @ dAx.reshape(T * B, GH)
                g[f"{name}.b"] = dAx.reshape(T * B, GH).sum(axis=0)
                # h_{t-1} is Hs[t-1], and the zero initial state at t = 0 adds nothing
                g[f"{name}.Wh"] = Hs[:-1].reshape((T - 1) * B, H).T @ dAh[1:].reshape((T - 1) * B, GH)
                g[f"{name}.bn"] = (dAh[:, :, 2 * H:3 * H].reshape(T * B, H).sum(axis=0) if cfg.cell == "gru"
                                   else np.zeros(H, dtype))
                dXin = (dAx.reshape(T * B, GH) @ p[f"{name}.Wx"].T).reshape(T, B, D)
                if d == "b":
                    dXin = dXin[rev, cols]
                dX_below = dXin if dX_below is None else dX_below + dXin
            dX = dX_below
        E = p["embed"].shape[1]
        ids = cache["ids"].reshape(-1)
        if sparse_embed:
            rows, inverse = np.unique(ids, return_inverse=True)
            dE = np.zeros((len(rows), E), dtype)
            scatter_add_rows(dE, inverse.astype(np.int64), np.ascontiguousarray(dX.reshape(-1, E)))
            g["embed.rows"] = rows
        else:
            dE = np.zeros_like(p["embed"])
            scatter_add_rows(dE, ids, np.ascontiguousarray(dX.reshape(-1, E)))
        g["embed"] = dE
        return {name: v if name == "embed.rows" else np.ascontiguousarray(v, dtype=dtype) for name, v in g.items()}


def _head_rows_tail(kernel, head: tuple, tail: tuple, b0: int, b1: int) -> None:
    kernel(*head, b0, b1, *tail)


def pool_forward(X: np.ndarray, lengths: np.ndarray, mask: np.ndarray, pooling: str, H: int,
                 bidirectional: bool):
    """Sentence vectors (B, F) from the top layer's outputs X (T, B, F), zero at padding.

    last: the forward direction's state after the last real token (and, bidirectional, the backward
    direction's state after reading back to the first token, which sits at t = 0); mean: average over
    the real tokens; max: elementwise maximum over the real tokens."""
    T, B, F = X.shape
    b = np.arange(B)
    if pooling == "last":
        feats = X[lengths - 1, b].copy()
        if bidirectional:
            feats[:, H:] = X[0, :, H:]
        return feats, None
    if pooling == "mean":
        return X.sum(axis=0) / lengths[:, None].astype(X.dtype), None
    if pooling == "max":
        masked = np.where(mask[:, :, None] > 0, X, -np.inf)
        arg = masked.argmax(axis=0)  # (B, F)
        return np.take_along_axis(X, arg[None], axis=0)[0], arg
    raise ValueError(pooling)


def pool_backward(dfeats: np.ndarray, arg, T: int, lengths: np.ndarray, pooling: str, H: int,
                  bidirectional: bool) -> np.ndarray:
    """dloss/dX (T, B, F) from dloss/dfeats (B, F)."""
    B, F = dfeats.shape
    b = np.arange(B)
    dX = np.zeros((T, B, F), dfeats.dtype)
    if pooling == "last":
        if bidirectional:
            dX[lengths - 1, b, :H] = dfeats[:, :H]
            dX[0, :, H:] += dfeats[:, H:]
        else:
            dX[lengths - 1, b] = dfeats
    elif pooling == "mean":
        mask = length_mask(lengths, T, dfeats.dtype)
        dX[...] = mask[:, :, None] * (dfeats / lengths[:, None].astype(dfeats.dtype))[None]
    else:
        np.put_along_axis(dX, arg[None], dfeats[None], axis=0)
    return dX


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def weighted_xent(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy weighted per example (``sum w_i nll_i / sum w_i``, PyTorch's ``weight=``
    convention) and its gradient with respect to the logits (B, C)."""
    probs = softmax(logits)
    B = len(y)
    nll = -np.log(np.maximum(probs[np.arange(B), y], np.finfo(probs.dtype).tiny))
    total = float(w.sum())
    loss = float((w * nll).sum() / total)
    d = probs.copy()
    d[np.arange(B), y] -= 1.0
    d *= (w / total)[:, None].astype(d.dtype)
    return loss, d


# --- training ------------------------------------------------------------------------------------------

KIND = "classifier"

# Defaults, measured on WordNet noun glosses (26 classes) -- see docs/readme/classify.md.
DEFAULTS = dict(level="word", cell="gru", hidden=128, layers=1, embed_dim=128, batch=32, epochs=30,
                patience=2, val_fraction=0.1, min_count=1, seq_len=200, dropout=0.0,
                lr_by_optimizer={"adam": 2e-3})
# Update only the embedding rows a batch uses (lazy Adam, see Adam.step)? Measured on 20k WordNet glosses:
# 0.7396 test accuracy lazy vs 0.7644 dense (the PyTorch twin, dense: 0.765), for 25% less training time.
# The moments of rare words keep moving them after their batch under dense Adam, and that helps here.
LAZY_EMBEDDING = False
DEFAULT_POOLING = "max"
DEFAULT_BIDIRECTIONAL = True


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


class Adam:
    """Adam on a dict of arrays with the engine's kernel; moments are arrays, so --resume keeps them."""

    def __init__(self, params: dict[str, np.ndarray], beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = params
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def step(self, grads: dict[str, np.ndarray], lr: float, skip=()) -> None:
        from rnntools.nn.kernels import adam_update

        self.t += 1
        bc1, bc2 = 1 - self.beta1 ** self.t, 1 - self.beta2 ** self.t
        for name, p in self.params.items():
            if name in skip:
                continue
            if name == "embed" and "embed.rows" in grads:
                # lazy Adam (TensorFlow's LazyAdam): only the rows this batch used are updated, moments
                # included. Cheaper than sweeping all V x E values every step, but less accurate here:
                # off by default (LAZY_EMBEDDING).
                rows = grads["embed.rows"]
                pr, mr, vr = p[rows], self.m[name][rows], self.v[name][rows]
                adam_update(pr.reshape(-1), grads[name].reshape(-1), mr.reshape(-1), vr.reshape(-1), lr,
                            self.beta1, self.beta2, self.eps, bc1, bc2, 0.0)
                p[rows], self.m[name][rows], self.v[name][rows] = pr, mr, vr
                continue
            adam_update(p.reshape(-1), grads[name].reshape(-1), self.m[name].reshape(-1),
                        self.v[name].reshape(-1), lr, self.beta1, self.beta2, self.eps, bc1, bc2, 0.0)


class SGD:
    """Plain SGD with the engine's kernel (no momentum, so no state); embedding rows updated lazily."""

    def __init__(self, params: dict[str, np.ndarray]):
        self.params, self.m, self.v, self.t = params, {}, {}, 0

    def step(self, grads: dict[str, np.ndarray], lr: float, skip=()) -> None:
        from rnntools.nn.kernels import sgd_update

        self.t += 1
        empty = np.zeros(0, np.float32)
        for name, p in self.params.items():
            if name in skip:
                continue
            if name == "embed" and "embed.rows" in grads:
                rows = grads["embed.rows"]
                p[rows] -= np.asarray(lr, p.dtype) * grads[name]
                continue
            sgd_update(p.reshape(-1), grads[name].reshape(-1), empty, lr, 0.0, 0.0)


class ClassifierTask:
    """The classifier as a ``rnntools.tasks.trainer`` task."""

    kind = KIND
    unit = "texts"

    def __init__(self, net: Network, meta: dict, train_seqs, y_train, val_seqs, y_val, weights,
                 batch: int, clip: float, freeze_embeddings: bool = False, optimizer: str = "adam",
                 lazy_embedding: bool | None = None):
        self.net, self.meta = net, meta
        self.train_seqs, self.y_train = train_seqs, y_train
        self.val_seqs, self.y_val = val_seqs, y_val
        self.train_len = np.fromiter(map(len, train_seqs), np.int64, len(train_seqs))
        self.weights = weights  # (C,) float32
        self.batch, self.clip = batch, clip
        self.skip = ("embed",) if freeze_embeddings else ()
        self.opt = Adam(net.params) if optimizer == "adam" else SGD(net.params)
        self.lazy_embedding = LAZY_EMBEDDING if lazy_embedding is None else lazy_embedding
        self._per_epoch = (len(train_seqs) + batch - 1) // batch

    def steps_per_epoch(self) -> int:
        return self._per_epoch

    def epoch_batches(self, epoch, rng):
        return bucket_batches(self.train_len, self.batch, rng)

    def start_epoch(self, epoch) -> None:
        pass

    def train_step(self, idx, rng, lr):
        ids, lengths = pad_batch([self.train_seqs[i] for i in idx])
        y = self.y_train[idx]
        logits, cache = self.net.forward(ids, lengths, rng)
        loss, dlogits = weighted_xent(logits, y, self.weights[y])
        grads = self.net.backward(dlogits.astype(np.float32), cache, sparse_embed=self.lazy_embedding)
        if self.clip > 0:
            norm = float(np.sqrt(sum(float(np.vdot(g, g)) for k, g in grads.items() if k != "embed.rows")))
            if norm > self.clip:
                scale = np.float32(self.clip / norm)
                for k, g in grads.items():
                    if k != "embed.rows":
                        g *= scale
        self.opt.step(grads, lr, self.skip)
        return loss * len(idx), len(idx)

    def evaluate(self):
        if len(self.val_seqs) == 0:
            return None
        probs = predict_probs(self.net, self.val_seqs)
        y = self.y_val
        w = self.weights[y]
        nll = -np.log(np.maximum(probs[np.arange(len(y)), y], 1e-30))
        cm = confusion_matrix(y, probs.argmax(axis=1), self.net.cfg.n_classes)
        m = metrics_from_confusion(cm)
        return {"val_loss": float((w * nll).sum() / w.sum()), "val_accuracy": m["accuracy"],
                "val_macro_f1": m["macro_f1"]}

    def params(self):
        return self.net.params

    def train_state(self):
        return {**{f"adam.m.{k}": v for k, v in self.opt.m.items()},
                **{f"adam.v.{k}": v for k, v in self.opt.v.items()}}

    def train_meta(self):
        return {"adam_t": self.opt.t}

    def load_train_meta(self, meta):
        self.opt.t = int(meta.get("adam_t", 0))

    def save(self, path, arrays, meta):
        from rnntools.io import save_model

        save_model(path, KIND, arrays, {**self.meta, **meta})


def predict_probs(net: Network, seqs: Sequence[np.ndarray], batch: int = 256) -> np.ndarray:
    """Class probabilities (N, C) for encoded texts, in their order; batches grouped by length."""
    lengths = np.fromiter(map(len, seqs), np.int64, len(seqs))
    out = np.empty((len(seqs), net.cfg.n_classes), np.float64)
    for idx in bucket_batches(lengths, batch, None):
        ids, lens = pad_batch([seqs[i] for i in idx])
        logits, _ = net.forward(ids, lens)
        out[idx] = softmax(logits.astype(np.float64))
    return out


def limit_blas_threads(threads: int) -> None:
    """Use ``threads`` BLAS threads (default 1). The per-time-step products here are small ((B, H) x
    (H, G*H)); a multi-threaded OpenBLAS spends more on waking and syncing its threads than on the math,
    and on a busy 2-core machine it was 13x slower per training step (0.29 s vs 0.021 s, GRU 128, batch 32).
    One mechanism for the whole project: ``rnntools.nn.blas`` (ctypes on every loaded OpenBLAS, numpy's
    and scipy's, which numba's np.dot uses; no extra dependency)."""
    from rnntools.nn import blas

    blas.set_blas_threads(threads)


def _resolve(value, default):
    return default if value is None else value


def train_classifier(inputs: Sequence[str], output: str, engine: dict, *, text_field: str = "text",
                     label_field: str = "label", class_weight: str = "none", pooling: str | None = None,
                     bidirectional: bool | None = None) -> dict:
    """Read labelled texts, build the vocabulary and label set, split off a stratified validation set and
    train until early stopping; the best model (by validation loss) is written to ``output``."""
    from rnntools import console
    from rnntools.errors import UsageError
    from rnntools.io import load_model
    from rnntools.tasks.trainer import EngineConfig, fit, set_threads
    from rnntools.text import Vocab

    config = EngineConfig.from_options(engine, **DEFAULTS)
    set_threads(config.threads)
    # --threads N: N workers over the batch rows of the recurrent kernels, each with one BLAS thread
    # (N BLAS threads inside each of N workers would oversubscribe the cores)
    limit_blas_threads(1)
    resume = load_model(config.resume, KIND) if config.resume else None
    data = read_labelled(inputs, text_field, label_field, config.encoding_errors)
    if resume is not None:
        saved = resume.meta
        labels = saved["labels"]
        vocab = Vocab.from_meta(saved["vocab"])
        pooling, bidirectional = saved["pooling"], saved["bidirectional"]
        for key in ("cell", "hidden", "layers", "embed_dim", "seq_len", "level"):
            setattr(config, key, saved["net" if key not in ("seq_len", "level") else "data"][key])
    else:
        labels = label_set(data.labels, "the training data")
        pooling = _resolve(pooling, DEFAULT_POOLING)
        bidirectional = _resolve(bidirectional, DEFAULT_BIDIRECTIONAL)
    index = {label: i for i, label in enumerate(labels)}
    unknown = [lab for lab in data.labels if lab not in index]
    if unknown:
        raise UsageError(f"cannot --resume: the data has labels the model does not know ({unknown[0]!r})")
    y = np.fromiter((index[lab] for lab in data.labels), np.int64, len(data))
    rng = np.random.default_rng([config.seed, 3])
    train_idx, val_idx = (stratified_split(y, config.val_fraction, rng) if config.val_fraction > 0
                          else (np.arange(len(y)), np.arange(0)))
    if len(val_idx) == 0:
        console.warn("no validation data (too few records or --val-fraction 0): training runs for "
                     f"--epochs {config.epochs} without early stopping")
    if resume is None:
        if config.vocab_path:
            vocab = Vocab.read(config.vocab_path)
        else:
            vocab = Vocab.from_texts((data.texts[i] for i in train_idx), level=config.level,
                                     min_count=config.min_count, max_size=config.max_vocab)
        if vocab.n_special == 0:
            raise UsageError(f"{config.vocab_path}: the classifier needs a vocabulary with the special "
                             "tokens (<pad>, <unk>); build it without --no-specials")
    seqs, empty, truncated = encode_texts(vocab, data.texts, config.seq_len)
    if empty:
        console.warn(f"{empty} of {len(seqs)} texts have no known tokens; each is read as one <unk>")
    if truncated:
        console.info(f"{truncated} texts longer than {config.seq_len} tokens were cut (--seq-len)")
    pretrained = None
    if config.embeddings and resume is None:
        pretrained = read_vectors(config.embeddings)
        if engine.get("embed_dim") is None:  # the vectors decide the size unless --embed-dim says otherwise
            config.embed_dim = int(pretrained[0].shape[1])
    cfg = NetConfig(cell=config.cell, vocab_size=len(vocab), n_classes=len(labels),
                    embed_dim=config.embed_dim, hidden=config.hidden, layers=config.layers, pooling=pooling,
                    bidirectional=bidirectional, dropout=config.dropout)
    params = init_params(cfg, np.random.default_rng([config.seed, 4]))
    if pretrained is not None:
        load_embeddings(params["embed"], vocab, *pretrained, config.embeddings)
    weights = class_weights(y[train_idx], len(labels), class_weight)
    meta = {"labels": labels, "vocab": vocab.to_meta(),
            "net": {"cell": cfg.cell, "hidden": cfg.hidden, "layers": cfg.layers, "embed_dim": cfg.embed_dim},
            "pooling": pooling, "bidirectional": bidirectional,
            "data": {"level": vocab.level, "seq_len": config.seq_len, "text_field": text_field,
                     "label_field": label_field, "class_weight": class_weight,
                     "train": int(len(train_idx)), "validation": int(len(val_idx))},
            "class_weights": weights.tolist()}
    console.info(f"{len(train_idx)} training and {len(val_idx)} validation texts, {len(labels)} classes, "
                 f"{len(vocab)} tokens; {cfg.cell} {cfg.layers}x{cfg.hidden}"
                 f"{' bidirectional' if bidirectional else ''}, {pooling} pooling")
    net = Network(cfg, params, threads=config.threads or 1)
    task = ClassifierTask(net, meta, [seqs[i] for i in train_idx], y[train_idx], [seqs[i] for i in val_idx],
                          y[val_idx], weights, config.batch, config.clip, config.freeze_embeddings,
                          config.optimizer)
    return fit(task, config, output, resume=resume)


def read_vectors(path: str):
    """(vectors (V, D), vocabulary) of a ``w2v-train`` vectors file (kind "vectors")."""
    from rnntools.errors import ModelFileError
    from rnntools.io import load_model
    from rnntools.text import Vocab

    model = load_model(path, "vectors")
    if "vectors" not in model.arrays or "vocab" not in model.meta:
        raise ModelFileError("no 'vectors' array and vocabulary in this vectors file", path)
    return model.arrays["vectors"], Vocab.from_meta(model.meta["vocab"])


def load_embeddings(embed: np.ndarray, vocab, vectors: np.ndarray, words, path: str) -> None:
    """Copy the vectors of the words ``vocab`` shares with ``words`` into ``embed``'s rows (specials keep
    their random start); a different size is an error."""
    from rnntools import console
    from rnntools.errors import UsageError

    if vectors.shape[1] != embed.shape[1]:
        raise UsageError(f"{path}: the vectors have {vectors.shape[1]} dimensions but --embed-dim is "
                         f"{embed.shape[1]}; leave --embed-dim out to take the vectors' size")
    found = 0
    for i, token in enumerate(vocab.tokens):
        j = words.index.get(token)
        if j is not None and i >= vocab.n_special:
            embed[i] = vectors[j]
            found += 1
    console.info(f"pretrained vectors for {found} of {len(vocab) - vocab.n_special} words from {path}")
    if found == 0:
        console.warn(f"{path}: none of the vocabulary's words has a vector (another language or level?)")


# --- using a trained model -----------------------------------------------------------------------------

def load_classifier(path: str):
    """(network, vocabulary, labels, meta) of a classifier file."""
    from rnntools.io import load_model
    from rnntools.text import Vocab

    model = load_model(path, KIND)
    meta = model.meta
    vocab = Vocab.from_meta(meta["vocab"])
    net_meta = meta["net"]
    cfg = NetConfig(cell=net_meta["cell"], vocab_size=len(vocab), n_classes=len(meta["labels"]),
                    embed_dim=net_meta["embed_dim"], hidden=net_meta["hidden"], layers=net_meta["layers"],
                    pooling=meta["pooling"], bidirectional=meta["bidirectional"])
    names = init_params(cfg, np.random.default_rng(0)).keys()
    params = {name: model.arrays[name] for name in names}
    return Network(cfg, params), vocab, meta["labels"], meta


def _label_key(label: Label) -> str:
    return label if isinstance(label, str) else json.dumps(label)


def predict_records(model_path: str, inputs: Sequence[str], output: str | None, *, text_field: str = "text",
                    top_k: int | None = None, chunk: int = 512, errors: str = "strict") -> int:
    """Stream records (JSONL, or plain text lines read as ``{"text": line}``), adding ``label`` (the most
    probable) and ``probs`` (label -> probability, most probable first, ``top_k`` of them). Every input
    field is kept. Returns the number of records."""
    from rnntools import console
    from rnntools.io import JsonlWriter, open_output, read_text_field

    limit_blas_threads(1)
    net, vocab, labels, meta = load_classifier(model_path)
    max_len = meta["data"]["seq_len"]
    keys = [_label_key(label) for label in labels]
    k = len(labels) if top_k is None else min(top_k, len(labels))
    count = empty_total = replaced = 0

    def flush(records, texts, writer):
        nonlocal empty_total
        seqs, empty, _ = encode_texts(vocab, texts, max_len)
        empty_total += empty
        probs = predict_probs(net, seqs)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        for record, p, o in zip(records, probs, order):
            record["label"] = labels[o[0]]
            record["probs"] = {keys[j]: round(float(p[j]), 6) for j in o}
            writer.write(record)

    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        records, texts = [], []
        for path in inputs:
            for line_no, record in iter_records(path, errors):
                texts.append(read_text_field(record, text_field, path, line_no))
                if "label" in record:
                    replaced += 1
                records.append(record)
                if len(records) >= chunk:
                    flush(records, texts, writer)
                    count += len(records)
                    records, texts = [], []
                    writer.flush()
        if records:
            flush(records, texts, writer)
            count += len(records)
    if replaced:
        console.warn(f"{replaced} input records had a \"label\" field; it was replaced by the prediction "
                     "(score a labelled file with `rnntools evaluate`)")
    if empty_total:
        console.warn(f"{empty_total} of {count} texts had no known tokens; they were predicted from <unk> alone")
    return count


def evaluate_classifier(model_path: str, inputs: Sequence[str], output: str | None, *, text_field: str = "text",
                        label_field: str = "label", errors: str = "strict") -> dict:
    """Accuracy, macro-F1, log loss, per-class precision/recall/F1 and the confusion matrix of a labelled
    file: one JSON object on ``output`` (stdout) and tables on stderr. Labels the model never saw count as
    errors (with a warning) and get their own row."""
    from rnntools import console
    from rnntools.io import JsonlWriter, open_output

    limit_blas_threads(1)
    net, vocab, labels, meta = load_classifier(model_path)
    data = read_labelled(inputs, text_field, label_field, errors)
    if not len(data):
        from rnntools.errors import InputError as _InputError

        raise _InputError("no labelled records to evaluate", inputs[0] if len(inputs) == 1 else None)
    index = {label: i for i, label in enumerate(labels)}
    unseen = sorted({lab for lab in data.labels if lab not in index}, key=lambda v: (isinstance(v, int), v))
    all_labels = list(labels) + unseen
    for lab in unseen:
        index[lab] = len(index)
    y = np.fromiter((index[lab] for lab in data.labels), np.int64, len(data))
    seqs, empty, _ = encode_texts(vocab, data.texts, meta["data"]["seq_len"])
    probs = predict_probs(net, seqs)
    pred = probs.argmax(axis=1)
    cm = confusion_matrix(y, pred, len(all_labels))
    m = metrics_from_confusion(cm)
    seen = y < len(labels)
    log_loss = (float(-np.mean(np.log(np.maximum(probs[np.flatnonzero(seen), y[seen]], 1e-15))))
                if seen.any() else None)
    if unseen:
        n = int((~seen).sum())
        console.warn(f"{n} records have labels the model was not trained on "
                     f"({', '.join(_label_key(v) for v in unseen[:5])}{', ...' if len(unseen) > 5 else ''}); "
                     "they count as errors")
    if empty:
        console.warn(f"{empty} of {len(data)} texts had no known tokens; they were predicted from <unk> alone")
    keys = [_label_key(v) for v in all_labels]
    result = {
        "examples": int(len(data)), "accuracy": round(m["accuracy"], 6), "macro_f1": round(m["macro_f1"], 6),
        "log_loss": None if log_loss is None else round(log_loss, 6), "unseen_labels": int((~seen).sum()),
        "per_class": {key: {"precision": round(float(m["precision"][i]), 6),
                            "recall": round(float(m["recall"][i]), 6), "f1": round(float(m["f1"][i]), 6),
                            "support": int(m["support"][i])} for i, key in enumerate(keys)},
        "labels": keys,
        "confusion": cm.tolist(),
    }
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        writer.write(result)
    console.print_table(f"{len(data)} examples: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}",
                        ["label", "precision", "recall", "f1", "support"],
                        [[key, *(float(m[s][i]) for s in ("precision", "recall", "f1")), int(m["support"][i])]
                         for i, key in enumerate(keys)])
    if len(keys) <= 12:
        # columns by number: full label names would not fit a terminal's width
        console.print_table("confusion (rows: true, columns: predicted, by number)",
                            ["true", *map(str, range(len(keys)))],
                            [[f"{i} {key}", *row] for i, (key, row) in enumerate(zip(keys, cm.tolist()))])
    return result
