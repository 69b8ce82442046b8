"""Reading a whole padded sequence: recurrent stacks that read it one way or both ways, and pooling the
outputs into one vector per sequence (many-to-one).

Batches are right-padded and time-major: ``(T, B, ...)`` with ``lengths (B,)`` real positions per row.

``RecurrentStack(params, name, cell, input_size, hidden, layers=1, bidirectional=False, dropout=0.0)``
    Layer ``l`` reads its input left to right (``{name}.f{l}``, a one-layer ``Recurrent``) and, when
    bidirectional, also right to left (``{name}.b{l}``); the layer's output is ``[forward, backward]``
    (T, B, 2H), which the next layer reads. Right to left means each row is reversed WITHIN its length
    (padding stays at the end), so the backward direction starts at the row's last real token and its
    output at position t belongs to token t. Dropout (train only) applies between layers.
    Why one ``Recurrent`` per layer and direction rather than a multi-layer ``Recurrent``: a bidirectional
    layer's input is both directions of the layer below, so the stack has to join them between layers.

``pool(y, lengths, how, reversed_from=None) -> (vectors (B, F), cache)``; ``pool_backward(dvec, cache)``
    last: the output after each row's last real token; for a bidirectional stack the backward half
    (features ``reversed_from``..F-1) has read the whole row when it reaches t = 0, so that half comes from
    t = 0. mean: the average over the real tokens. max: the elementwise maximum over the real tokens
    (the gradient goes to the position that won).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntools.nn.gates import K
from rnntools.nn.layers import check_param
from rnntools.nn.recurrent import Recurrent, dropout_mask, reads_table_by_id

POOLINGS = ("last", "mean", "max")


def length_mask(lengths: np.ndarray, T: int, dtype=np.float32) -> np.ndarray:
    """``(T, B)`` with 1 where ``t < lengths[b]``, else 0."""
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :]).astype(dtype)


def reverse_index(lengths: np.ndarray, T: int) -> np.ndarray:
    """(T, B) time index that reverses each row within its length and leaves padding in place; its own
    inverse. ``Y[rev, np.arange(B)]`` reverses right-padded (T, B, ...) arrays."""
    t = np.arange(T)[:, None]
    lengths = np.asarray(lengths)[None, :]
    return np.where(t < lengths, lengths - 1 - t, t)


@dataclass
class _StackCache:
    T: int
    rev: np.ndarray | None
    layers: list          # per layer: list of Recurrent caches, one per direction
    drops: list           # per layer above the first: the dropout mask on its input, or None
    by_id: bool           # the first layer read a table by id (its input gradient is the table's)
    gathered: tuple | None = None   # (ids, V): a table input gathered once for both directions


class RecurrentStack:
    """Recurrent layers over a padded batch, one direction or both (see the module docstring)."""

    def __init__(self, params: dict, name: str, cell: str, input_size: int, hidden: int, layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, rng: np.random.Generator | None = None,
                 dtype=np.float32):
        self.name, self.cell, self.hidden, self.layers = name, cell, hidden, layers
        self.bidirectional, self.dropout = bidirectional, dropout
        self.directions = ("f", "b") if bidirectional else ("f",)
        self.rnns: list[list[Recurrent]] = []
        for li in range(layers):
            size = input_size if li == 0 else self.features
            self.rnns.append([Recurrent(params, f"{name}.{d}{li}", cell, size, hidden, 1, rng=rng, dtype=dtype)
                              for d in self.directions])

    @property
    def features(self) -> int:
        """Size of each position's output: H, or 2H when bidirectional ([forward, backward])."""
        return self.hidden * len(self.directions)

    def names(self) -> list[str]:
        return [n for layer in self.rnns for rnn in layer for n in rnn.names()]

    def forward(self, x: np.ndarray, lengths: np.ndarray, *, ids: np.ndarray | None = None, train: bool = False,
                rng: np.random.Generator | None = None):
        """x: (T, B, D), or a (V, D) table read at ``ids`` (T, B) (an embedding's weights: the first layer
        then reads it by id, see ``Recurrent.forward``); lengths: (B,) >= 1. Returns ``y (T, B, F), cache``
        with y zero at padding."""
        T, B = ids.shape if ids is not None else x.shape[:2]
        lengths = np.asarray(lengths)
        mask = length_mask(lengths, T, x.dtype)
        cols = np.arange(B)[None, :]
        rev = reverse_index(lengths, T) if self.bidirectional else None
        cache = _StackCache(T, rev, [], [], ids is not None)
        if ids is not None and not reads_table_by_id(x.shape[0], T * B):
            # a large table: gather its rows once for both directions and scatter the gradient once,
            # rather than have each direction build a (V, D) gradient of its own
            cache.gathered, cache.by_id = (ids, x.shape[0]), False
            x, ids = x[ids], None
        inp = x
        for li, layer in enumerate(self.rnns):
            if li > 0:
                drop = None
                if train and self.dropout > 0:
                    drop = dropout_mask(rng if rng is not None else np.random.default_rng(), inp.shape,
                                        self.dropout, inp.dtype)
                    inp = inp * drop
                cache.drops.append(drop)
            outs, caches = [], []
            for d, rnn in zip(self.directions, layer):
                if li == 0 and ids is not None:
                    # reversing the ids reverses the rows; the table itself is shared
                    y, _, c = rnn.forward(inp, None, mask, ids=ids if d == "f" else ids[rev, cols])
                else:
                    y, _, c = rnn.forward(inp if d == "f" else inp[rev, cols], None, mask)
                outs.append(y if d == "f" else y[rev, cols])
                caches.append(c)
            cache.layers.append(caches)
            inp = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
        return inp, cache

    def infer(self, x: np.ndarray, lengths: np.ndarray, *, ids: np.ndarray | None = None,
              max_pool: bool = False) -> np.ndarray:
        """``forward`` without training (no dropout, nothing kept for ``backward``: ``cell_infer``), the
        same bits. Returns y (T, B, F), or with ``max_pool`` ``pool(y, lengths, "max")``'s vectors (B, F),
        made inside the last layer's time loops, which then write no outputs."""
        from rnntools.nn.recurrent import cell_infer

        T, B = ids.shape if ids is not None else x.shape[:2]
        lengths = np.asarray(lengths)
        mask = length_mask(lengths, T, x.dtype)
        cols = np.arange(B)[None, :]
        rev = reverse_index(lengths, T) if self.bidirectional else None
        if ids is not None and not reads_table_by_id(x.shape[0], T * B):
            x, ids = x[ids], None
        inp = x
        for li, layer in enumerate(self.rnns):
            pooled = max_pool and li == len(self.rnns) - 1
            outs = []
            for d, rnn in zip(self.directions, layer):
                if li == 0 and ids is not None:
                    xin, at = inp, ids if d == "f" else ids[rev, cols]
                else:
                    xin, at = (inp if d == "f" else inp[rev, cols]), None
                W, b, bn = (rnn._p(0, k) for k in ("W", "b", "bn"))
                y, _, m = cell_infer(rnn.cell, W, b, bn, xin, np.zeros((B, self.hidden), W.dtype), None, mask,
                                     at, outputs=not pooled, max_pool=pooled, ties_last=d == "b")
                outs.append(m if pooled else (y if d == "f" else y[rev, cols]))
            inp = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)
        return inp

    def project(self, table: np.ndarray, ids: np.ndarray) -> None:
        """Inside ``table_projections()``: the first layer's input projections of the ``table`` rows ``ids``
        holds, made now, once, for forward passes that read ``table`` by id later, each row being there
        already (``infer`` calls running side by side then only read them)."""
        from rnntools.nn.recurrent import _project_table

        for rnn in self.rnns[0]:
            W = rnn._p(0, "W")
            _project_table(np.ascontiguousarray(table, dtype=W.dtype), W, self.hidden, rnn._p(0, "b"), ids)

    def backward(self, dy: np.ndarray, cache: _StackCache, grads: dict, need_dx: bool = True):
        """Accumulates parameter gradients into ``grads``; dy: (T, B, F). Returns dx (T, B, D), or the
        gradient of the (V, D) table when ``forward`` read one by id; None when not ``need_dx``."""
        H = self.hidden
        T, B = dy.shape[:2]
        cols = np.arange(B)[None, :]
        rev = cache.rev
        d_out = dy
        for li in range(self.layers - 1, -1, -1):
            want_dx = need_dx or li > 0
            d_in = None
            for k, (d, rnn) in enumerate(zip(self.directions, self.rnns[li])):
                dY = d_out[:, :, k * H:(k + 1) * H]
                dY = np.ascontiguousarray(dY if d == "f" else dY[rev, cols])
                dx, _ = rnn.backward(dY, cache.layers[li][k], grads, need_dx=want_dx)
                if not want_dx:
                    continue
                if d == "b" and not (li == 0 and cache.by_id):
                    dx = dx[rev, cols]      # back to left-to-right order (a table's gradient has no order)
                d_in = dx if d_in is None else d_in + dx
            if li > 0 and cache.drops[li - 1] is not None:
                d_in = d_in * cache.drops[li - 1]
            d_out = d_in
        if not need_dx:
            return None
        if cache.gathered is not None:
            ids, V = cache.gathered
            table_grad = np.zeros((V, d_out.shape[-1]), d_out.dtype)
            K.scatter_add_rows(table_grad, np.ascontiguousarray(ids).reshape(-1),
                               np.ascontiguousarray(d_out).reshape(-1, d_out.shape[-1]))
            return table_grad
        return d_out


def pool(y: np.ndarray, lengths: np.ndarray, how: str, reversed_from: int | None = None):
    """One vector per row from ``y`` (T, B, F), zero at padding, over each row's ``lengths`` real positions.

    ``reversed_from``: with ``last``, features from this index on were read right to left (a bidirectional
    stack's backward half, F // 2) and are taken at t = 0. Returns ``(vectors (B, F), cache)``."""
    T, B, F = y.shape
    lengths = np.asarray(lengths)
    rows = np.arange(B)
    if how == "last":
        vec = y[lengths - 1, rows].copy()
        if reversed_from is not None:
            vec[:, reversed_from:] = y[0, :, reversed_from:]
        return vec, (how, T, lengths, reversed_from)
    if how == "mean":
        mask = length_mask(lengths, T, y.dtype)
        return (y * mask[:, :, None]).sum(axis=0) / lengths[:, None].astype(y.dtype), (how, T, lengths, mask)
    if how == "max":
        vec, arg = np.empty((B, F), y.dtype), np.empty((B, F), np.int64)
        K.max_over_time(np.ascontiguousarray(y), np.ascontiguousarray(lengths, dtype=np.int64), vec, arg)
        return vec, (how, T, lengths, arg)
    raise ValueError(f"unknown pooling {how!r} ({', '.join(POOLINGS)})")


def pool_backward(dvec: np.ndarray, cache) -> np.ndarray:
    """dloss/dy (T, B, F) from dloss/dvectors (B, F)."""
    how, T, lengths, extra = cache
    B, F = dvec.shape
    rows = np.arange(B)
    dy = np.zeros((T, B, F), dvec.dtype)
    if how == "last":
        split = F if extra is None else extra
        dy[lengths - 1, rows, :split] = dvec[:, :split]
        if extra is not None:
            dy[0, :, split:] += dvec[:, split:]
    elif how == "mean":
        dy[...] = extra[:, :, None] * (dvec / lengths[:, None].astype(dvec.dtype))[None]
    else:
        np.put_along_axis(dy, extra[None], dvec[None], axis=0)
    return dy


class SparseLinear:
    """``y = X W`` for a sparse (B, N) input ``X`` (scipy CSR: a bag of hashed n-gram features per text):
    ``{name}.W`` (N, O), no bias. The wide part of a wide-and-deep model (fastText's and NBSVM's linear
    layer over n-grams): one sparse product forward, one backward. The gradient is dense (N, O), as the
    optimisers take it. ``scale``: ``y = scale * X W``; with Adam, whose steps do not depend on the
    gradient's size, the product learns ``scale`` times faster than the rest of the model (a linear part
    over sparse features, each seen in few batches, needs that to keep up with a network beside it)."""

    def __init__(self, params: dict, name: str, in_size: int, out_size: int, dtype=np.float32, scale: float = 1.0):
        self.params, self.name, self.scale = params, name, float(scale)
        key = f"{name}.W"
        if key in params:
            check_param(params, key, (in_size, out_size))
        else:
            params[key] = np.zeros((in_size, out_size), dtype)   # a linear model's start: every logit 0

    def names(self) -> list[str]:
        return [f"{self.name}.W"]

    def forward(self, X) -> np.ndarray:
        return self.scaled(np.asarray(X @ self.params[f"{self.name}.W"]))

    def scaled(self, XW: np.ndarray) -> np.ndarray:
        """``forward``'s output from the product ``X W`` made elsewhere (without scipy)."""
        return XW * self.scale if self.scale != 1.0 else XW

    def backward(self, dy: np.ndarray, X, grads: dict) -> None:
        key = f"{self.name}.W"
        g = np.ascontiguousarray(X.T @ (dy * self.scale if self.scale != 1.0 else dy), dtype=self.params[key].dtype)
        grads[key] = grads[key] + g if key in grads else g
