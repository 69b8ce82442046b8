"""Luong attention (Luong, Pham & Manning 2015, "global attention" without input feeding).

For every decoder output h_t and encoder outputs e_1..e_S (padding masked out):

    score(t, i) = h_t . e_i            (dot)      or   h_t . (e_i Wa)   (general)
    a_t = softmax_i(score(t, i))       c_t = sum_i a_t,i e_i
    h~_t = tanh([c_t; h_t] Wc + bc)    -> the output layer reads h~_t instead of h_t

Without input feeding the decoder's recurrence does not depend on the attention, so attention runs over all
decoder steps at once as batched BLAS products, after the recurrent layers (and one step at a time when
decoding). Arrays are batch-first here: decoder outputs Hd (B, T, H), encoder outputs He (B, S, H),
source mask (B, S).
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
    """The encoder side of the score, computed once per source: He (B, S, H) or He @ Wa."""
    if "Wa" not in p:
        return He
    B, S, H = He.shape
    return (He.reshape(B * S, H) @ p["Wa"]).reshape(B, S, H)  # 2-D: one BLAS call, not one per row


def attention_forward(p: dict, Hd: np.ndarray, He: np.ndarray, K: np.ndarray, src_mask: np.ndarray):
    """Hd (B, T, H), He and K (B, S, H), src_mask (B, S). Returns h~ (B, T, H), the weights (B, T, S)
    and a cache for ``attention_backward``."""
    B, T, H = Hd.shape
    Hd, K, He = (np.ascontiguousarray(a) for a in (Hd, K, He))
    W = np.empty((B, T, K.shape[1]), dtype=Hd.dtype)
    C = np.empty_like(Hd)
    kern.attn_forward(Hd, K, He, np.ascontiguousarray(src_mask), W, C)  # scores, softmax, context
    cat = np.concatenate([C, Hd], axis=2)  # (B, T, 2H)
    out = np.tanh((cat.reshape(B * T, 2 * H) @ p["Wc"]).reshape(B, T, H) + p["bc"])
    return out, W, (Hd, He, K, W, cat, out)


def attention_backward(p: dict, cache, dout: np.ndarray):
    """dout (B, T, H). Returns dHd (B, T, H), dHe (B, S, H) and the parameter gradients."""
    Hd, He, K, W, cat, out = cache
    B, T, H = Hd.shape
    dpre = dout * (1.0 - out * out)  # (B, T, H)
    grads = {"Wc": cat.reshape(B * T, 2 * H).T @ dpre.reshape(B * T, H), "bc": dpre.sum(axis=(0, 1))}
    dcat = (dpre.reshape(B * T, H) @ p["Wc"].T).reshape(B, T, 2 * H)
    dC, dHd = np.ascontiguousarray(dcat[:, :, :H]), np.ascontiguousarray(dcat[:, :, H:])
    dK, dHe = np.empty_like(He), np.empty_like(He)
    kern.attn_backward(Hd, K, He, W, dC, dHd, dK, dHe)  # dHd accumulates
    if "Wa" in p:
        grads["Wa"] = He.reshape(-1, H).T @ dK.reshape(-1, H)
        dHe += (dK.reshape(-1, H) @ p["Wa"].T).reshape(dHe.shape)
    else:
        dHe += dK
    return dHd, dHe, grads
