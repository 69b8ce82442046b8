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

MODES = ("none", "dot", "general")


def init_attention(mode: str, hidden: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    k = 1.0 / np.sqrt(hidden)
    p = {"Wc": rng.uniform(-k / np.sqrt(2), k / np.sqrt(2), (2 * hidden, hidden)), "bc": np.zeros(hidden)}
    if mode == "general":
        p["Wa"] = np.eye(hidden) + rng.uniform(-k, k, (hidden, hidden)) * 0.1
    return {name: v.astype(dtype) for name, v in p.items()}


def keys(p: dict, He: np.ndarray) -> np.ndarray:
    """The encoder side of the score, computed once per source: He (B, S, H) or He @ Wa."""
    return He @ p["Wa"] if "Wa" in p else He


def attention_forward(p: dict, Hd: np.ndarray, He: np.ndarray, K: np.ndarray, src_mask: np.ndarray):
    """Hd (B, T, H), He and K (B, S, H), src_mask (B, S). Returns h~ (B, T, H), the weights (B, T, S)
    and a cache for ``attention_backward``."""
    scores = Hd @ K.transpose(0, 2, 1)  # (B, T, S)
    scores = np.where(src_mask[:, None, :] > 0, scores, -np.inf)
    scores = scores - scores.max(axis=2, keepdims=True)
    W = np.exp(scores)
    W /= W.sum(axis=2, keepdims=True)
    C = W @ He  # (B, T, H)
    cat = np.concatenate([C, Hd], axis=2)  # (B, T, 2H)
    out = np.tanh(cat @ p["Wc"] + p["bc"])
    return out, W, (Hd, He, K, W, cat, out)


def attention_backward(p: dict, cache, dout: np.ndarray):
    """dout (B, T, H). Returns dHd (B, T, H), dHe (B, S, H) and the parameter gradients."""
    Hd, He, K, W, cat, out = cache
    B, T, H = Hd.shape
    dpre = dout * (1.0 - out * out)  # (B, T, H)
    grads = {"Wc": cat.reshape(B * T, 2 * H).T @ dpre.reshape(B * T, H), "bc": dpre.sum(axis=(0, 1))}
    dcat = dpre @ p["Wc"].T
    dC, dHd = dcat[:, :, :H], dcat[:, :, H:].copy()
    dW = dC @ He.transpose(0, 2, 1)  # (B, T, S)
    dHe = W.transpose(0, 2, 1) @ dC  # (B, S, H)
    dscores = W * (dW - (dW * W).sum(axis=2, keepdims=True))
    dHd += dscores @ K
    dK = dscores.transpose(0, 2, 1) @ Hd  # (B, S, H)
    if "Wa" in p:
        grads["Wa"] = He.reshape(-1, H).T @ dK.reshape(-1, H)
        dHe += dK @ p["Wa"].T
    else:
        dHe += dK
    return dHd, dHe, grads
