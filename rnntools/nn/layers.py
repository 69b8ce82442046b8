"""Embedding, dense layer and softmax cross-entropy, parameters in a shared flat dict."""

from __future__ import annotations

import numpy as np

from rnntools.nn.gates import K
from rnntools.nn.parallel import column_sums, matmul, matmul_tn, run_rows


def add_grads(grads: dict, new: dict) -> None:
    """Accumulates ``new`` into ``grads`` by name, as every layer's backward does (a name first seen takes
    the array itself, no copy)."""
    for key, value in new.items():
        if key in grads:
            grads[key] += value
        else:
            grads[key] = value


def check_param(params: dict, key: str, shape: tuple) -> None:
    """A given parameter (from a model file) must have the layer's shape and hold floating-point numbers:
    the kernels are compiled for floats, and an integer table would reach them only to fail inside numba
    (a ValueError here is a corrupt model file to the tasks' loaders)."""
    value = params[key]
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{key} has shape {value.shape}, expected {tuple(shape)}")
    if value.dtype.kind != "f":
        raise ValueError(f"{key} has dtype {value.dtype}, expected floating-point numbers")


class Embedding:
    """``{name}.W`` (V, E). ``pretrained`` (V, E) initialises it; ``trainable=False`` freezes it (backward
    then leaves ``grads`` alone, so optimisers never touch it)."""

    def __init__(self, params: dict, name: str, vocab_size: int, dim: int, *, pretrained: np.ndarray | None = None,
                 trainable: bool = True, rng: np.random.Generator | None = None, dtype=np.float32):
        self.params, self.name, self.trainable = params, name, trainable
        key = f"{name}.W"
        if key in params:
            check_param(params, key, (vocab_size, dim))
        elif pretrained is not None:
            if pretrained.shape != (vocab_size, dim):
                raise ValueError(f"pretrained vectors have shape {pretrained.shape}, expected {(vocab_size, dim)}")
            params[key] = np.array(pretrained, dtype=dtype)
        else:
            rng = rng if rng is not None else np.random.default_rng(0)
            params[key] = rng.normal(0.0, 1.0, (vocab_size, dim)).astype(dtype)

    def names(self) -> list[str]:
        return [f"{self.name}.W"] if self.trainable else []

    @property
    def table(self) -> np.ndarray:
        """The (V, E) weights, for layers that read them by id (``Recurrent.forward(table, ids=...)``)."""
        return self.params[f"{self.name}.W"]

    def forward(self, ids: np.ndarray):
        """ids: int array of any shape (...) -> vectors (..., E); the cache is the ids."""
        return self.params[f"{self.name}.W"][ids], ids

    def backward(self, dout: np.ndarray, ids: np.ndarray | None, grads: dict) -> None:
        """Scatter-adds dout (..., E) into ``grads[name.W]`` (created as zeros when missing). ``ids=None``:
        dout is already the gradient of the whole table (V, E), as ``Recurrent.backward`` returns it when
        its forward pass read the table by id."""
        if not self.trainable:
            return
        key = f"{self.name}.W"
        W = self.params[key]
        if ids is None:
            grads[key] = grads[key] + dout if key in grads else np.ascontiguousarray(dout, dtype=W.dtype)
            return
        if key not in grads:
            grads[key] = np.zeros_like(W)
        flat = np.ascontiguousarray(dout, dtype=W.dtype).reshape(-1, W.shape[1])
        K.scatter_add_rows(grads[key], np.ascontiguousarray(ids).reshape(-1), flat)


class Dense:
    """``y = x W + b``: ``{name}.W`` (I, O), ``{name}.b`` (O,). Works on (..., I) inputs."""

    def __init__(self, params: dict, name: str, in_size: int, out_size: int, *,
                 rng: np.random.Generator | None = None, dtype=np.float32):
        self.params, self.name = params, name
        rng = rng if rng is not None else np.random.default_rng(0)
        scale = 1.0 / np.sqrt(in_size)
        for key, shape in ((f"{name}.W", (in_size, out_size)), (f"{name}.b", (out_size,))):
            if key in params:
                check_param(params, key, shape)
            else:
                params[key] = rng.uniform(-scale, scale, shape).astype(dtype)

    def names(self) -> list[str]:
        return [f"{self.name}.W", f"{self.name}.b"]

    def forward(self, x: np.ndarray):
        W, b = self.params[f"{self.name}.W"], self.params[f"{self.name}.b"]
        x2 = x.reshape(-1, W.shape[0])
        y = matmul(x2, W, bias=b)
        return y.reshape(*x.shape[:-1], W.shape[1]), x

    def backward(self, dy: np.ndarray, x: np.ndarray, grads: dict, need_dx: bool = True):
        W = self.params[f"{self.name}.W"]
        x2 = x.reshape(-1, W.shape[0])
        dy2 = dy.reshape(-1, W.shape[1])
        add_grads(grads, {f"{self.name}.W": matmul_tn(x2, dy2), f"{self.name}.b": column_sums(dy2)})
        return matmul(dy2, W.T).reshape(x.shape) if need_dx else None

    def softmax_cross_entropy(self, x: np.ndarray, targets: np.ndarray, grads: dict,
                              weights: np.ndarray | None = None, normalize: bool = True, need_dx: bool = True,
                              smoothing: float = 0.0):
        """This layer's forward, ``softmax_cross_entropy`` of its output and the backward of both, in one
        pass: each worker takes a block of rows through logits, loss, dx and its share of dW and db, so the
        logits never leave its cache, and one hand-off to the workers replaces five. Gradients go into
        ``grads`` as ``backward`` puts them. Returns ``(loss, dx (..., I) or None)``; the logits are not kept.
        ``smoothing``: label smoothing, as in ``softmax_cross_entropy``.
        Why: for a char LM's 74-symbol output (3,200 x 128 by 128 x 74) the separate steps cost 3.0 ms of a
        17 ms LSTM-128 step, fused 2.3 ms (stage timings inside the benchmark's training step)."""
        W, b = self.params[f"{self.name}.W"], self.params[f"{self.name}.b"]
        x2 = np.ascontiguousarray(x, dtype=W.dtype).reshape(-1, W.shape[0])
        t, w, scale = _xent_targets(x2.shape[0], W.shape[1], targets, weights, normalize, W.dtype)
        dx = np.empty_like(x2) if need_dx else None
        parts = run_rows(_dense_xent_rows, x2.shape[0], x2, W, b, t, w, scale, dx, _smoothing(smoothing),
                         min_rows=256)
        total = sum(p[0] for p in parts)
        dW, db = parts[0][1], parts[0][2]
        for _, pW, pb in parts[1:]:
            dW += pW
            db += pb
        add_grads(grads, {f"{self.name}.W": dW, f"{self.name}.b": db})
        return (total * scale if normalize else total), (dx.reshape(x.shape) if need_dx else None)


def _dense_xent_rows(x, W, b, t, w, scale, dx, smooth, r0, r1):
    """Rows r0..r1-1 of ``Dense.softmax_cross_entropy``: (loss sum, dW part, db part)."""
    logits = np.dot(x[r0:r1], W)
    logits += b
    total = K.softmax_xent(logits, t[r0:r1], w[r0:r1], scale, logits, smooth)   # logits become their gradient
    if dx is not None:
        np.dot(logits, W.T, out=dx[r0:r1])
    return total, np.dot(x[r0:r1].T, logits), logits.sum(axis=0)


def _xent_targets(N: int, V: int, targets, weights, normalize: bool, dtype):
    """Checked flat targets (N,), weights (N,) and the loss scale of a softmax cross-entropy."""
    t = np.ascontiguousarray(targets).reshape(-1)
    if t.shape[0] != N:
        raise ValueError(f"{t.shape[0]} targets for {N} rows")
    if t.size and (t.min() < 0 or t.max() >= V):
        raise ValueError(f"target ids must lie in [0, {V})")
    w = np.ones(N, dtype) if weights is None else np.ascontiguousarray(weights, dtype=dtype).reshape(-1)
    denom = float(w.sum()) if normalize else 1.0
    return t, w, (1.0 / denom if denom > 0 else 0.0)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None,
                          normalize: bool = True, out: np.ndarray | None = None, smoothing: float = 0.0):
    """Weighted softmax cross-entropy over rows.

    logits: (N, V) (or (..., V), flattened); targets: (N,) int ids; weights: (N,) per-position weights
    (padding mask times class weights; None: all 1). Returns ``(loss, dlogits)`` where loss is
    ``sum(w * nll) / sum(w)`` (``normalize``) or ``sum(w * nll)``, and dlogits its gradient (N, V).
    ``out=logits`` computes the gradient in place. ``smoothing`` eps (label smoothing, Szegedy et al. 2016,
    PyTorch's ``label_smoothing``): each row's target distribution is (1 - eps) * onehot + eps / V, so the
    nll is lse - (1 - eps) * logit[target] - eps * mean(logits).
    """
    V = logits.shape[-1]
    L = np.ascontiguousarray(logits).reshape(-1, V)
    t, w, scale = _xent_targets(L.shape[0], V, targets, weights, normalize, L.dtype)
    d = np.empty_like(L) if out is None else out.reshape(-1, V)
    total = sum(run_rows(_xent_rows, L.shape[0], L, t, w, scale, d, _smoothing(smoothing), min_rows=256))
    return total * scale if normalize else total, d


def _xent_rows(L, t, w, scale, d, smooth, r0, r1):
    return K.softmax_xent(L[r0:r1], t[r0:r1], w[r0:r1], scale, d[r0:r1], smooth)


def _smoothing(eps: float) -> float:
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"label smoothing must lie in [0, 1), got {eps}")
    return float(eps)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of (N, V) logits."""
    L = np.ascontiguousarray(logits)
    out = np.empty_like(L)
    K.log_softmax_rows(L.reshape(-1, L.shape[-1]), out.reshape(-1, L.shape[-1]))
    return out
