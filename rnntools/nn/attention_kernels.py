"""Numba kernels of ``rnntools.nn.attention``: the attention core and the backward of its tanh output layer.

Why: with the small matrices of encoder-decoders (batch 64-128, 128 units, sources of ~10 tokens) numpy spends its
time on temporaries, transposes and batched ``matmul`` calls of tiny (T x H) @ (H x S) products, not on
arithmetic. The big products (keys He @ Wa, [context; h] @ Wc, the output layer) stay in BLAS; the rest is
fused here. (Not the forward tanh: numba's scalar math.tanh measured 2.0 ms for 640 x 128 values against
0.1 ms for numpy's vectorised np.tanh.) Arrays are time-major, as the engine's: no transposed copies
between the layers and attention.
Each kernel has a plain-numpy reference test in tests/test_seq2seq_kernels.py. Any float dtype.
"""

from __future__ import annotations

import math

import numpy as np

from rnntools.jit import njit

# Let LLVM reorder the sums over H so that they vectorise: measured 0.77 -> 0.34 ms (forward) and 0.98 ->
# 0.42 ms (backward) at T=5, B=128, S=7, H=128, float32. No "no-inf" flag: the masked max starts at -inf.
REASSOC = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=REASSOC)
def attn_forward(Hd, K, He, mask, tmask, W, cat):
    """Luong scores, masked softmax and context, written beside the decoder output for the Wc product.
    Hd: (T, B, H) decoder outputs; K: (S, B, H) keys (He or He @ Wa); He: (S, B, H); mask: (S, B) 1 real,
    0 pad (every column has a real position); tmask: (T, B) the decoder positions to compute (0: padding,
    whose W and cat rows are written as 0). Out: W (T, B, S) attention weights (0 on padding);
    cat (T, B, 2H) = [context; Hd]."""
    T, B, H = Hd.shape
    S = K.shape[0]
    for t in range(T):
        for b in range(B):
            if tmask[t, b] == 0:
                for s in range(S):
                    W[t, b, s] = 0.0
                for h in range(2 * H):
                    cat[t, b, h] = 0.0
                continue
            best = -np.inf
            for s in range(S):
                if mask[s, b] > 0:
                    acc = 0.0
                    for h in range(H):
                        acc += Hd[t, b, h] * K[s, b, h]
                    W[t, b, s] = acc
                    if acc > best:
                        best = acc
            total = 0.0
            for s in range(S):
                if mask[s, b] > 0:
                    e = math.exp(W[t, b, s] - best)
                    W[t, b, s] = e
                    total += e
                else:
                    W[t, b, s] = 0.0
            for h in range(H):
                cat[t, b, h] = 0.0
                cat[t, b, H + h] = Hd[t, b, h]
            for s in range(S):
                w = W[t, b, s] / total
                W[t, b, s] = w
                if w != 0.0:
                    for h in range(H):
                        cat[t, b, h] += w * He[s, b, h]


@njit(cache=True, nogil=True, fastmath=REASSOC)
def attn_backward(Hd, K, He, W, tmask, dcat, dHd, dK, dHe):
    """Gradients of ``attn_forward`` given dcat (T, B, 2H), the gradient of [context; Hd], at the positions
    of tmask (T, B) (its rows elsewhere are not read: those positions get dHd 0 and give nothing).
    Writes dHd (T, B, H) (both paths: Hd's copy in cat and the scores); dK and dHe (S, B, H)."""
    T, B, H = Hd.shape
    S = K.shape[0]
    dW = np.empty(S, dtype=W.dtype)
    for s in range(S):
        for b in range(B):
            for h in range(H):
                dK[s, b, h] = 0.0
                dHe[s, b, h] = 0.0
    for t in range(T):
        for b in range(B):
            if tmask[t, b] == 0:
                for h in range(H):
                    dHd[t, b, h] = 0.0
                continue
            for h in range(H):
                dHd[t, b, h] = dcat[t, b, H + h]
            dot = 0.0
            for s in range(S):
                w = W[t, b, s]
                acc = 0.0
                if w != 0.0:
                    for h in range(H):
                        acc += dcat[t, b, h] * He[s, b, h]
                        dHe[s, b, h] += w * dcat[t, b, h]
                dW[s] = acc
                dot += acc * w
            for s in range(S):
                ds = W[t, b, s] * (dW[s] - dot)
                if ds != 0.0:
                    for h in range(H):
                        dHd[t, b, h] += ds * K[s, b, h]
                        dK[s, b, h] += ds * Hd[t, b, h]


@njit(cache=True, nogil=True, fastmath=REASSOC)
def tanh_backward(out, dout, rmask, dpre, dbias):
    """dpre = dout * (1 - out^2) and dbias = its column sums over the rows of rmask (N,) (other rows: dpre
    0, nothing summed); out, dout, dpre: (N, H); dbias: (H,)."""
    N, H = out.shape
    for h in range(H):
        dbias[h] = 0.0
    for n in range(N):
        if rmask[n] == 0:
            for h in range(H):
                dpre[n, h] = 0.0
            continue
        for h in range(H):
            o = out[n, h]
            d = dout[n, h] * (1.0 - o * o)
            dpre[n, h] = d
            dbias[h] += d
