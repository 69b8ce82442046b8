"""Numba kernels of the seq2seq task: the attention core and the GRU step's elementwise work.

Why: with the small matrices of seq2seq (batch 64, 128 units, sources of ~10 tokens) numpy spends its time
on temporaries and on batched ``matmul`` calls of tiny (T x H) @ (H x S) products, not on arithmetic. The
big products (input projections, h @ Wh, the gradients of the weights) stay in BLAS; the rest is fused here.
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


@njit(cache=True, nogil=True)
def gru_step(a, hh, s, bhn, m, new, r, z, n, hn):
    """GRU gates (r, z, n; reset after the product, as PyTorch) for one step, masked.
    a: (B, 3H) input projection with bias; hh: (B, 3H) = h @ Wh; s: (B, H) previous state; bhn: (H,);
    m: (B,) 1 real, 0 padding (state carried). Out: new (B, H) and the gates r, z, n, hn (B, H)."""
    B, H = s.shape
    for b in range(B):
        for j in range(H):
            rj = 1.0 / (1.0 + math.exp(-(a[b, j] + hh[b, j])))
            zj = 1.0 / (1.0 + math.exp(-(a[b, H + j] + hh[b, H + j])))
            hnj = hh[b, 2 * H + j] + bhn[j]
            nj = math.tanh(a[b, 2 * H + j] + rj * hnj)
            r[b, j], z[b, j], n[b, j], hn[b, j] = rj, zj, nj, hnj
            if m[b] > 0:
                new[b, j] = (1.0 - zj) * nj + zj * s[b, j]
            else:
                new[b, j] = s[b, j]


@njit(cache=True, nogil=True)
def gru_step_backward(ds, s, r, z, n, hn, m, da, dhh, ds_prev, dbhn):
    """Backward of ``gru_step``. ds: (B, H) gradient of the new state. Out: da, dhh (B, 3H); ds_prev (B, H)
    = the gradient into the previous state except through Wh (added by the caller); ACCUMULATES dbhn (H,)."""
    B, H = s.shape
    for b in range(B):
        if m[b] > 0:
            for j in range(H):
                dh = ds[b, j]
                zj, nj, rj = z[b, j], n[b, j], r[b, j]
                dan = dh * (1.0 - zj) * (1.0 - nj * nj)
                daz = dh * (s[b, j] - nj) * zj * (1.0 - zj)
                dar = dan * hn[b, j] * rj * (1.0 - rj)
                dhn = dan * rj
                da[b, j], da[b, H + j], da[b, 2 * H + j] = dar, daz, dan
                dhh[b, j], dhh[b, H + j], dhh[b, 2 * H + j] = dar, daz, dhn
                dbhn[j] += dhn
                ds_prev[b, j] = dh * zj
        else:
            for j in range(H):
                da[b, j] = da[b, H + j] = da[b, 2 * H + j] = 0.0
                dhh[b, j] = dhh[b, H + j] = dhh[b, 2 * H + j] = 0.0
                ds_prev[b, j] = ds[b, j]
