"""Numba kernels of the seq2seq task: the attention core (the recurrent layers are the shared engine's,
``rnntools.nn``).

Why: with the small matrices of seq2seq (batch 64, 128 units, sources of ~10 tokens) numpy spends its time
on temporaries and on batched ``matmul`` calls of tiny (T x H) @ (H x S) products, not on arithmetic. The
big products (keys He @ Wa, the output layer) stay in BLAS; the rest is fused here.
Each kernel has a plain-numpy reference test in tests/test_seq2seq_kernels.py. Any float dtype.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def attn_forward(Hd, K, He, mask, W, C):
    """Luong scores, masked softmax and context.
    Hd: (B, T, H) decoder outputs; K: (B, S, H) keys (He or He @ Wa); He: (B, S, H); mask: (B, S) 1 real, 0 pad.
    Out: W (B, T, S) attention weights (0 on padding); C (B, T, H) contexts."""
    B, T, H = Hd.shape
    S = K.shape[1]
    for b in range(B):
        for t in range(T):
            best = -np.inf
            for s in range(S):
                if mask[b, s] > 0:
                    acc = 0.0
                    for h in range(H):
                        acc += Hd[b, t, h] * K[b, s, h]
                    W[b, t, s] = acc
                    if acc > best:
                        best = acc
            total = 0.0
            for s in range(S):
                if mask[b, s] > 0:
                    e = math.exp(W[b, t, s] - best)
                    W[b, t, s] = e
                    total += e
                else:
                    W[b, t, s] = 0.0
            for h in range(H):
                C[b, t, h] = 0.0
            for s in range(S):
                w = W[b, t, s] / total
                W[b, t, s] = w
                if w != 0.0:
                    for h in range(H):
                        C[b, t, h] += w * He[b, s, h]


@njit(cache=True, nogil=True)
def attn_backward(Hd, K, He, W, dC, dHd, dK, dHe):
    """Gradients of ``attn_forward`` given dC (B, T, H). ACCUMULATES into dHd (B, T, H); dK and dHe
    (B, S, H) are overwritten."""
    B, T, H = Hd.shape
    S = K.shape[1]
    dW = np.empty(S, dtype=W.dtype)
    for b in range(B):
        for s in range(S):
            for h in range(H):
                dK[b, s, h] = 0.0
                dHe[b, s, h] = 0.0
        for t in range(T):
            dot = 0.0
            for s in range(S):
                w = W[b, t, s]
                acc = 0.0
                if w != 0.0:
                    for h in range(H):
                        acc += dC[b, t, h] * He[b, s, h]
                        dHe[b, s, h] += w * dC[b, t, h]
                dW[s] = acc
                dot += acc * w
            for s in range(S):
                ds = W[b, t, s] * (dW[s] - dot)
                if ds != 0.0:
                    for h in range(H):
                        dHd[b, t, h] += ds * K[b, s, h]
                        dK[b, s, h] += ds * Hd[b, t, h]
