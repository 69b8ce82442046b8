"""Luong attention (Luong, Pham & Manning 2015, "global attention" without input feeding), as a layer.

For every decoder output h_t and encoder outputs e_1..e_S (padding masked out):

    score(t, i) = h_t . e_i            (dot)      or   h_t . (e_i Wa)   (general)
    a_t = softmax_i(score(t, i))       c_t = sum_i a_t,i e_i
    h~_t = tanh([c_t; h_t] Wc + bc)    -> the output layer reads h~_t instead of h_t

Without input feeding the decoder's recurrence does not depend on the attention, so attention runs over all
decoder steps at once, after the recurrent layers (and one step at a time when decoding). Arrays are
time-major, as the recurrent engine's: decoder outputs Hd (T, B, H), encoder outputs He (S, B, H), source
mask (S, B); every product is one 2-D BLAS call over all (time, row) pairs; the scores, the masked softmax
and the context (and their gradients) are fused numba kernels (``attention_kernels``).

Parameters (in the model's flat dict): ``{name}.Wc`` (2H, H), ``{name}.bc`` (H,), and for ``general``
``{name}.Wa`` (H, H). Initialised as PyTorch's ``nn.Linear`` (weights and biases U(+-1/sqrt(fan_in))), so
that a PyTorch twin computes the same gradients from the same start.
"""

from __future__ import annotations

import math

import numpy as np

from rnntools.nn import attention_kernels as kern
from rnntools.nn.layers import add_grads, check_param
from rnntools.nn.parallel import matmul, matmul_tn

MODES = ("none", "dot", "general")


class Attention:
    """Luong attention over encoder outputs; see the module docstring. ``mode``: ``dot`` or ``general``."""

    def __init__(self, params: dict, name: str, mode: str, hidden: int, *, rng: np.random.Generator | None = None,
                 dtype=np.float32):
        if mode not in ("dot", "general"):
            raise ValueError(f"unknown attention {mode!r} (dot, general)")
        self.params, self.name, self.mode, self.hidden = params, name, mode, hidden
        rng = rng if rng is not None else np.random.default_rng(0)
        H = hidden
        kc, ka = 1.0 / math.sqrt(2 * H), 1.0 / math.sqrt(H)
        shapes = [("Wc", (2 * H, H), kc), ("bc", (H,), kc)]  # fan_in 2H: [context; h]
        if mode == "general":
            shapes.append(("Wa", (H, H), ka))  # no bias, as Linear(H, H, bias=False)
        for key, shape, k in shapes:
            full = f"{name}.{key}"
            if full in params:
                check_param(params, full, shape)
                continue
            params[full] = rng.uniform(-k, k, shape).astype(dtype)

    def names(self) -> list[str]:
        return [f"{self.name}.{k}" for k in (("Wc", "bc", "Wa") if self.mode == "general" else ("Wc", "bc"))]

    def _p(self) -> dict:
        return {k: self.params[f"{self.name}.{k}"] for k in ("Wc", "bc", "Wa") if f"{self.name}.{k}" in self.params}

    def keys(self, He: np.ndarray) -> np.ndarray:
        """The encoder side of the scores, computed once per source (decoding reuses it every step)."""
        return keys(self._p(), He)

    def forward(self, Hd: np.ndarray, He: np.ndarray, mask: np.ndarray, K: np.ndarray | None = None,
                tgt_mask: np.ndarray | None = None):
        """Hd (T, B, H), He (S, B, H), mask (S, B); K: ``keys(He)`` when already computed. Returns h~ (T, B, H),
        the attention weights (T, B, S) and a cache for ``backward``. ``tgt_mask`` (T, B): the decoder
        positions whose output is used; the others (padding) are not computed, their h~ and weights are 0
        and ``backward`` ignores their gradient."""
        p = self._p()
        return attention_forward(p, Hd, He, keys(p, He, mask) if K is None else K, mask, tgt_mask)

    def backward(self, dout: np.ndarray, cache, grads: dict, skip_padding: bool = False):
        """dout (T, B, H); accumulates the parameter gradients into ``grads``. Returns dHd (T, B, H), dHe (S, B, H).
        ``skip_padding``: the weight gradients take the real positions only (``attention_backward``)."""
        dHd, dHe, g = attention_backward(self._p(), cache, dout, skip_padding)
        add_grads(grads, {f"{self.name}.{k}": v for k, v in g.items()})
        return dHd, dHe


def listed_rows(mask: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The flat indices of a mask's real (nonzero) and padded positions; (None, None) when all are real."""
    flat = mask.reshape(-1)
    pad = np.flatnonzero(flat == 0)
    if not len(pad):
        return None, None
    return np.flatnonzero(flat), pad


def keys(p: dict, He: np.ndarray, src_mask: np.ndarray | None = None) -> np.ndarray:
    """The encoder side of the score, computed once per source: He (S, B, H) or He @ Wa; with ``src_mask``
    only at its real positions (the scores never read a padded one: 0 there)."""
    if "Wa" not in p:
        return He
    S, B, H = He.shape
    He2 = np.ascontiguousarray(He).reshape(S * B, H)
    real, pad = (None, None) if src_mask is None else listed_rows(src_mask)
    if real is None:
        return matmul(He2, p["Wa"]).reshape(S, B, H)
    K = matmul(He2, p["Wa"], rows=real)
    K[pad] = 0
    return K.reshape(S, B, H)


def attention_forward(p: dict, Hd: np.ndarray, He: np.ndarray, K: np.ndarray, src_mask: np.ndarray,
                      tgt_mask: np.ndarray | None = None):
    """Hd (T, B, H), He and K (S, B, H), src_mask (S, B); p: {Wc, bc[, Wa]}; tgt_mask (T, B) or None: the
    positions to compute (``Attention.forward``). Returns h~ (T, B, H), the weights (T, B, S) and a cache
    for ``attention_backward``.

    Padded decoder positions (tgt_mask 0) get h~ = 0 and [context; Hd] = 0 without any arithmetic: a loss
    that weighs them 0 takes nothing from them, and their zero rows add nothing to the gradient of Wc, so
    every other number is the same bits as when they are computed (length-sorted G2P batches are ~14%
    decoder padding)."""
    T, B, H = Hd.shape
    Hd, K, He = (np.ascontiguousarray(a) for a in (Hd, K, He))
    tm = np.ones((T, B), Hd.dtype) if tgt_mask is None else np.ascontiguousarray(tgt_mask, dtype=Hd.dtype)
    W = np.empty((T, B, K.shape[0]), dtype=Hd.dtype)
    cat = np.empty((T, B, 2 * H), dtype=Hd.dtype)
    src_mask = np.ascontiguousarray(src_mask)
    kern.attn_forward(Hd, K, He, src_mask, tm, W, cat)  # scores, softmax, [context; Hd]
    # through the engine's product: a row's result does not depend on the other rows of its batch
    real, pad = listed_rows(tm)
    out = matmul(cat.reshape(T * B, 2 * H), p["Wc"], bias=p["bc"], rows=real)
    if pad is not None:
        out[pad] = 0
    np.tanh(out, out=out)
    return out.reshape(T, B, H), W, (Hd, He, K, W, cat, out, tm, real, src_mask)


def attention_backward(p: dict, cache, dout: np.ndarray, skip_padding: bool = False):
    """dout (T, B, H). Returns dHd (T, B, H), dHe (S, B, H) and the parameter gradients by short name.

    ``skip_padding``: the weight gradients of ``Wc`` and ``Wa`` multiply only the real decoder (those
    ``forward`` computed) and source positions, whose gradient rows are the only nonzero ones: the same
    gradients summed in another order (``matmul_tn(rows=)``), so not the same bits as every row."""
    Hd, He, K, W, cat, out, tm, real, src_mask = cache
    T, B, H = Hd.shape
    dpre, dbc = np.empty_like(out), np.empty(H, out.dtype)
    kern.tanh_backward(out, np.ascontiguousarray(dout).reshape(T * B, H), tm.reshape(-1), dpre, dbc)
    # the weight gradients on the workers, as the recurrent layers' are (a numpy product here ran on the
    # calling thread alone: a tenth of a two-thread G2P training step); without skip_padding every row,
    # padded ones (zero) too, for the bits of the whole product
    grads = {"Wc": matmul_tn(cat.reshape(T * B, 2 * H), dpre, rows=real if skip_padding else None), "bc": dbc}
    dcat = matmul(dpre, p["Wc"].T, rows=real).reshape(T, B, 2 * H)
    dHd, dK, dHe = np.empty_like(Hd), np.empty_like(He), np.empty_like(He)
    kern.attn_backward(Hd, K, He, W, tm, dcat, dHd, dK, dHe)
    if "Wa" in p:
        S = He.shape[0]
        src_real, _ = listed_rows(src_mask)
        grads["Wa"] = matmul_tn(He.reshape(S * B, H), dK.reshape(S * B, H), rows=src_real if skip_padding else None)
        if src_real is None:
            dHe += matmul(dK.reshape(S * B, H), p["Wa"].T).reshape(dHe.shape)
        else:
            # a padded source position's dK is 0 (its weight is 0 in every score)
            matmul(dK.reshape(S * B, H), p["Wa"].T, out=dHe.reshape(S * B, H), rows=src_real, add=True)
    else:
        dHe += dK
    return dHd, dHe, grads
