"""Batch-1 generation in plain numpy, with the same float32 arithmetic as the numba sampler.

Why: a short ``rnntools sample`` (a few hundred tokens of a small model) is a short process whose time is
mostly start-up, and importing numba and setting up its compiler target costs ~0.5 s of CPU while these
tokens cost milliseconds of arithmetic. ``Sampler`` (``rnntools.tasks.lm.sample``) runs its first tokens
here and moves to the compiled kernels (``rnntools.tasks.lm.kernels``) when a run is long enough to repay
their start-up.

The two must give the same text for the same seed, so this is not merely "the same equations": every
float32 operation is done in the kernels' order, so the states and logits are bit for bit the kernels'
(``tests/test_lm.py`` checks it for every cell):
- ``matvec``: ``rnntools.nn.kernels.matvec`` sums four rows of W per sweep, ``((x0 w0 + x1 w1) + x2 w2) + x3
  w3``, into ``out`` one sweep after another (no FMA contraction: those kernels are compiled without
  fastmath). Here the products of all sweeps are one array and the sweeps are added in the same order.
- the gates use the kernels' float32 tanh (Eigen's rational approximation, ``rnntools.nn.kernels._tanh``),
  the same polynomial in the same order, and sigmoid(x) = 0.5 + 0.5 tanh(x / 2).
- token choice: float64 softmax and inverse-CDF sampling as ``kernels.pick_token``; numpy's exp and libm's
  may differ in the last bit of a float64, which moves a draw only if the uniform number falls within
  ~1e-16 of a boundary.
Only float32 models take this path (float64 math uses libm's tanh in the kernels).
"""

from __future__ import annotations

import numpy as np

from rnntools.nn.gates import GRU, LSTM

_F = np.float32
_TANH_P = [_F(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                           4.89352455891786e-03)]
_TANH_Q = [_F(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                           4.89352518554385e-03)]


def tanh32(x: np.ndarray) -> np.ndarray:
    """``rnntools.nn.kernels._tanh`` for float32, elementwise (clamped to [-9, 9]; NaN becomes 9 as there)."""
    x = np.where(x < _F(9.0), x, _F(9.0))
    x = np.where(x > _F(-9.0), x, _F(-9.0))
    x2 = x * x
    p = x2 * _TANH_P[0] + _TANH_P[1]
    for c in _TANH_P[2:]:
        p = p * x2 + c
    p = p * x
    q = x2 * _TANH_Q[0] + _TANH_Q[1]
    for c in _TANH_Q[2:]:
        q = q * x2 + c
    return p / q


def sigmoid32(x: np.ndarray) -> np.ndarray:
    return _F(0.5) + _F(0.5) * tanh32(_F(0.5) * x)


def matvec(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """x @ W summed in ``rnntools.nn.kernels.matvec``'s order. x: (K,); W: (K, N)."""
    K, N = W.shape
    K4 = K - K % 4
    out = np.zeros(N, W.dtype)
    if K4:
        P = x[:K4].reshape(K4 // 4, 4, 1) * W[:K4].reshape(K4 // 4, 4, N)
        S = P[:, 0] + P[:, 1]
        S += P[:, 2]
        S += P[:, 3]
        for g in range(K4 // 4):  # one sweep after another, as the kernel accumulates into out
            out += S[g]
    for k in range(K4, K):
        out += x[k] * W[k]
    return out


def stack_step(kind, token, embed, Whs, Wxs, bs, bns, h, c) -> None:
    """``rnntools.tasks.lm.kernels.stack_step``: feed ``token`` through the stack; h, c (L, H) in place."""
    inp = embed[token]
    H = h.shape[1]
    for layer in range(h.shape[0]):
        a = matvec(h[layer], Whs[layer])
        ax = matvec(inp, Wxs[layer])
        b = bs[layer]
        if kind == LSTM:
            s = sigmoid32(a[:3 * H] + ax[:3 * H] + b[:3 * H])
            g = tanh32(a[3 * H:] + ax[3 * H:] + b[3 * H:])
            cn = s[:H] * c[layer] + s[H:2 * H] * g
            c[layer] = cn
            h[layer] = s[2 * H:] * tanh32(cn)
        elif kind == GRU:
            rz = sigmoid32(a[:2 * H] + ax[:2 * H] + b[:2 * H])
            r, z = rz[:H], rz[H:]
            n = tanh32(ax[2 * H:] + b[2 * H:] + r * (a[2 * H:] + bns[layer]))
            h[layer] = (_F(1.0) - z) * n + z * h[layer]
        else:
            h[layer] = tanh32(a + ax + b)
        inp = h[layer]


def pick_token(logits: np.ndarray, temperature: float, top_k: int, u: float) -> int:
    """``rnntools.tasks.lm.kernels.pick_token``: softmax(logits / temperature) over the top_k largest,
    inverse-CDF at u; temperature <= 0: the first largest logit."""
    V = logits.shape[0]
    if np.isnan(logits).any():  # the kernel's scan: NaN is never larger, and a leading NaN stays best
        best = 0
        for v in range(1, V):
            if logits[v] > logits[best]:
                best = v
    else:
        best = int(np.argmax(logits))
    if temperature <= 0.0:
        return best
    threshold = logits.dtype.type(-np.inf)
    if 0 < top_k < V:
        threshold = np.sort(logits)[V - top_k]
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (logits - logits[best]).astype(np.float64) / temperature
        probs = np.where(logits >= threshold, np.exp(scaled), 0.0)
    cumulative = np.cumsum(probs)
    above = cumulative > u * cumulative[-1]
    if above.any():
        return int(np.argmax(above))
    kept = np.flatnonzero(probs > 0.0)
    return int(kept[-1]) if kept.size else best


def sample_step(kind, token, embed, Whs, Wxs, bs, bns, h, c, projW, projb, logits, temperature, top_k, u) -> int:
    """``rnntools.tasks.lm.kernels.sample_step``: feed ``token``, write the logits, return the next token."""
    stack_step(kind, token, embed, Whs, Wxs, bs, bns, h, c)
    logits[:] = matvec(h[h.shape[0] - 1], projW)
    logits += projb
    return pick_token(logits, temperature, top_k, u)
