"""Luong attention (Luong, Pham & Manning 2015, "global attention" without input feeding).

For every decoder output h_t and encoder outputs e_1..e_S (padding masked out):

    score(t, i) = h_t . e_i            (dot)      or   h_t . (e_i Wa)   (general)
    a_t = softmax_i(score(t, i))       c_t = sum_i a_t,i e_i
    h~_t = tanh([c_t; h_t] Wc + bc)    -> the output layer reads h~_t instead of h_t

Without input feeding the decoder's recurrence does not depend on the attention, so attention runs over all
decoder steps at once, after the recurrent layers (and one step at a time when decoding). Arrays are
time-major, as the recurrent engine's: decoder outputs Hd (T, B, H), encoder outputs He (S, B, H), source
mask (S, B); every product is one 2-D BLAS call over all (time, row) pairs.
"""

from __future__ import annotations

import numpy as np

from rnntools.tasks import seq2seq_kernels as kern

MODES = ("none", "dot", "general")


def init_attention(mode: str, hidden: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    k = 1.0 / np.sqrt(hidden)
    p = {"Wc": rng.uniform(-k / np.sqrt(2), k / np.sqrt(2), (2 * hidden, hidden)), "bc": np.zeros(hidden)}
    if mode == "general":
        p["Wa"] = np.eye(hidden) + rng.uniform(-k, k, (hidden, hidden)) * 0.1
    return {name: v.astype(dtype) for name, v in p.items()}


def keys(p: dict, He: np.ndarray) -> np.ndarray:
    """The encoder side of the score, computed once per source: He (S, B, H) or He @ Wa."""
    if "Wa" not in p:
        return He
    S, B, H = He.shape
    return (He.reshape(S * B, H) @ p["Wa"]).reshape(S, B, H)


def attention_forward(p: dict, Hd: np.ndarray, He: np.ndarray, K: np.ndarray, src_mask: np.ndarray):
    """Hd (T, B, H), He and K (S, B, H), src_mask (S, B). Returns h~ (T, B, H), the weights (T, B, S)
    and a cache for ``attention_backward``."""
    T, B, H = Hd.shape
    Hd, K, He = (np.ascontiguousarray(a) for a in (Hd, K, He))
    W = np.empty((T, B, K.shape[0]), dtype=Hd.dtype)
    cat = np.empty((T, B, 2 * H), dtype=Hd.dtype)
    kern.attn_forward(Hd, K, He, np.ascontiguousarray(src_mask), W, cat)  # scores, softmax, [context; Hd]
    out = cat.reshape(T * B, 2 * H) @ p["Wc"]
    out += p["bc"]
    np.tanh(out, out=out)
    return out.reshape(T, B, H), W, (Hd, He, K, W, cat, out)


def attention_backward(p: dict, cache, dout: np.ndarray):
    """dout (T, B, H). Returns dHd (T, B, H), dHe (S, B, H) and the parameter gradients."""
    Hd, He, K, W, cat, out = cache
    T, B, H = Hd.shape
    dpre, dbc = np.empty_like(out), np.empty(H, out.dtype)
    kern.tanh_backward(out, np.ascontiguousarray(dout).reshape(T * B, H), dpre, dbc)
    grads = {"Wc": cat.reshape(T * B, 2 * H).T @ dpre, "bc": dbc}
    dcat = (dpre @ p["Wc"].T).reshape(T, B, 2 * H)
    dHd, dK, dHe = np.empty_like(Hd), np.empty_like(He), np.empty_like(He)
    kern.attn_backward(Hd, K, He, W, dcat, dHd, dK, dHe)
    if "Wa" in p:
        S = He.shape[0]
        grads["Wa"] = He.reshape(S * B, H).T @ dK.reshape(S * B, H)
        dHe += (dK.reshape(S * B, H) @ p["Wa"].T).reshape(dHe.shape)
    else:
        dHe += dK
    return dHd, dHe, grads
