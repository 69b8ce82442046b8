"""Numba kernels of the recurrent engine: one kernel is one piece of math over whole arrays.

Conventions (shapes named torch-rnn style):
    T time steps, B batch rows, D input size, H hidden size, G gates (rnn 1, lstm 4, gru 3).
    P:  (T, B, G*H)  all time steps' input projections ``x_t W_x + b``, computed by the caller as ONE BLAS
                     product before the time loop.
    Wh: (H, G*H)     the recurrent rows of W (``[h_{t-1}, x_t] W``: rows 0..H-1 multiply h, rows H.. x).
    mask: (T, B)     1 where the position is real, 0 where it is padding: the state is carried over unchanged
                     and the output is 0.
    Gate order: LSTM f, i, o, g (g = C~); GRU r, z, n.

The time loop runs inside the kernel; the recurrent product per step is ``np.dot`` on contiguous scratch
arrays (BLAS sgemm/dgemm through scipy), the elementwise gate math is fused around it. Kernels take a batch
row range ``[b0, b1)`` so that the caller can run disjoint row ranges in parallel threads (the kernels release
the GIL). They work in float32 (training) and float64 (gradient checks): the dtype follows the arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

RNN, LSTM, GRU = 0, 1, 2
GATES = {RNN: 1, LSTM: 4, GRU: 3}


@njit(cache=True, nogil=True, inline="always")
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@njit(cache=True, nogil=True)
def seq_forward(kind, P, Wh, bn, h0, c0, mask, b0, b1, Y, Hs, Cs, G, Rn):
    """Forward over all T steps for batch rows b0..b1-1.

    P: (T, B, GH) input projections incl. bias; Wh: (H, GH); bn: (H,) GRU recurrent n-bias (else unused);
    h0, c0: (B, H) initial state (c0 LSTM only); mask: (T, B).
    Out: Y (T, B, H) outputs (0 where masked; may be the same array as Hs when nothing is masked);
    Hs (T, B, H) states after each step (carried where masked); Cs (T, B, H) LSTM cells;
    G (T, B, GH) gate activations; Rn (T, B, H) GRU ``h_{t-1} Wh_n + bn``.
    """
    T = P.shape[0]
    H = Wh.shape[0]
    nb = b1 - b0
    h = np.empty((nb, H), P.dtype)   # state h_{t-1}: (nb, H), contiguous for BLAS
    c = np.empty((nb, H), P.dtype)
    A = np.empty((nb, Wh.shape[1]), P.dtype)  # recurrent product: (nb, GH)
    for j in range(nb):
        h[j] = h0[b0 + j]
        if kind == LSTM:
            c[j] = c0[b0 + j]
    for t in range(T):
        np.dot(h, Wh, A)
        for j in range(nb):
            b = b0 + j
            if mask[t, b] == 0:
                for k in range(H):
                    Y[t, b, k] = 0.0
                    Hs[t, b, k] = h[j, k]
                    if kind == LSTM:
                        Cs[t, b, k] = c[j, k]
                continue
            if kind == LSTM:
                for k in range(H):
                    f = _sigmoid(A[j, k] + P[t, b, k])
                    i = _sigmoid(A[j, H + k] + P[t, b, H + k])
                    o = _sigmoid(A[j, 2 * H + k] + P[t, b, 2 * H + k])
                    g = np.tanh(A[j, 3 * H + k] + P[t, b, 3 * H + k])
                    cn = f * c[j, k] + i * g
                    hn = o * np.tanh(cn)
                    G[t, b, k] = f
                    G[t, b, H + k] = i
                    G[t, b, 2 * H + k] = o
                    G[t, b, 3 * H + k] = g
                    c[j, k] = cn
                    h[j, k] = hn
                    Cs[t, b, k] = cn
                    Hs[t, b, k] = hn
                    Y[t, b, k] = hn
            elif kind == GRU:
                for k in range(H):
                    r = _sigmoid(A[j, k] + P[t, b, k])
                    z = _sigmoid(A[j, H + k] + P[t, b, H + k])
                    rn = A[j, 2 * H + k] + bn[k]
                    n = np.tanh(P[t, b, 2 * H + k] + r * rn)
                    hn = (1.0 - z) * n + z * h[j, k]
                    G[t, b, k] = r
                    G[t, b, H + k] = z
                    G[t, b, 2 * H + k] = n
                    Rn[t, b, k] = rn
                    h[j, k] = hn
                    Hs[t, b, k] = hn
                    Y[t, b, k] = hn
            else:
                for k in range(H):
                    hn = np.tanh(A[j, k] + P[t, b, k])
                    G[t, b, k] = hn
                    h[j, k] = hn
                    Hs[t, b, k] = hn
                    Y[t, b, k] = hn


@njit(cache=True, nogil=True)
def seq_backward(kind, WhT, h0, c0, mask, Hs, Cs, G, Rn, dY, dhT, dcT, b0, b1, dAx, dAh, dh0, dc0):
    """Backward through all T steps for batch rows b0..b1-1.

    WhT: (GH, H) transposed recurrent weights; h0, c0, mask, Hs, Cs, G, Rn as saved by ``seq_forward``;
    dY: (T, B, H) gradient of the outputs; dhT, dcT: (B, H) gradient of the final state.
    Out: dAx (T, B, GH) gradient of the pre-activations on the input side (= of P, gives dWx, db and dx);
    dAh (T, B, GH) on the recurrent side (gives dWh; the same array as dAx except for GRU, whose n-part is
    multiplied by r); dh0, dc0 (B, H) gradient of the initial state.
    """
    T = G.shape[0]
    H = WhT.shape[1]
    GH = WhT.shape[0]
    nb = b1 - b0
    dh = np.empty((nb, H), G.dtype)
    dc = np.zeros((nb, H), G.dtype)
    direct = np.zeros((nb, H), G.dtype)  # GRU: the z * h_{t-1} path
    dA = np.empty((nb, GH), G.dtype)     # recurrent-side pre-activation gradient of step t: (nb, GH)
    tmp = np.empty((nb, H), G.dtype)
    for j in range(nb):
        dh[j] = dhT[b0 + j]
        if kind == LSTM:
            dc[j] = dcT[b0 + j]
    for t in range(T - 1, -1, -1):
        for j in range(nb):
            b = b0 + j
            if mask[t, b] == 0:
                for q in range(GH):
                    dA[j, q] = 0.0
                    dAx[t, b, q] = 0.0
                    dAh[t, b, q] = 0.0
                continue
            if kind == LSTM:
                for k in range(H):
                    g = dY[t, b, k] + dh[j, k]
                    f = G[t, b, k]
                    i = G[t, b, H + k]
                    o = G[t, b, 2 * H + k]
                    gg = G[t, b, 3 * H + k]
                    tc = np.tanh(Cs[t, b, k])
                    cp = Cs[t - 1, b, k] if t > 0 else c0[b, k]
                    dct = dc[j, k] + g * o * (1.0 - tc * tc)
                    dA[j, k] = dct * cp * f * (1.0 - f)
                    dA[j, H + k] = dct * gg * i * (1.0 - i)
                    dA[j, 2 * H + k] = g * tc * o * (1.0 - o)
                    dA[j, 3 * H + k] = dct * i * (1.0 - gg * gg)
                    dc[j, k] = dct * f
            elif kind == GRU:
                for k in range(H):
                    g = dY[t, b, k] + dh[j, k]
                    r = G[t, b, k]
                    z = G[t, b, H + k]
                    n = G[t, b, 2 * H + k]
                    hp = Hs[t - 1, b, k] if t > 0 else h0[b, k]
                    dan = g * (1.0 - z) * (1.0 - n * n)
                    dA[j, k] = dan * Rn[t, b, k] * r * (1.0 - r)
                    dA[j, H + k] = g * (hp - n) * z * (1.0 - z)
                    dA[j, 2 * H + k] = dan * r
                    dAx[t, b, 2 * H + k] = dan
                    direct[j, k] = g * z
            else:
                for k in range(H):
                    g = dY[t, b, k] + dh[j, k]
                    hn = Hs[t, b, k]
                    dA[j, k] = g * (1.0 - hn * hn)
            for q in range(GH):
                dAh[t, b, q] = dA[j, q]
            if kind != GRU:
                for q in range(GH):
                    dAx[t, b, q] = dA[j, q]
            else:
                for q in range(2 * H):
                    dAx[t, b, q] = dA[j, q]
        np.dot(dA, WhT, tmp)
        for j in range(nb):
            if mask[t, b0 + j] != 0:
                for k in range(H):
                    dh[j, k] = tmp[j, k] + direct[j, k]
            # masked: dh and dc pass through unchanged (the state was carried over)
    for j in range(nb):
        dh0[b0 + j] = dh[j]
        if kind == LSTM:
            dc0[b0 + j] = dc[j]


@njit(cache=True, nogil=True)
def step_forward(kind, x, Whs, Wxs, bs, bns, h, c, projW, projb, h_out, c_out, out):
    """One time step of a whole L-layer stack, plus an optional output projection, in one call.

    x: (B, D) input of layer 0; Whs[l]: (H, GH); Wxs[l]: (D_l, GH); bs[l]: (GH,); bns[l]: (H,) (GRU);
    h, c: (L, B, H) state; projW: (H, O), projb: (O,) (O = 0: no projection).
    Out: h_out, c_out (L, B, H) new state; out (B, O) logits, or (B, H) the top layer's output when O = 0.
    """
    L = h.shape[0]
    B = h.shape[1]
    H = h.shape[2]
    GH = Whs[0].shape[1]
    A = np.empty((B, GH), x.dtype)
    Ax = np.empty((B, GH), x.dtype)
    inp = x
    for layer in range(L):
        hp = h[layer]
        np.dot(hp, Whs[layer], A)
        np.dot(inp, Wxs[layer], Ax)
        bias = bs[layer]
        for b in range(B):
            if kind == LSTM:
                for k in range(H):
                    f = _sigmoid(A[b, k] + Ax[b, k] + bias[k])
                    i = _sigmoid(A[b, H + k] + Ax[b, H + k] + bias[H + k])
                    o = _sigmoid(A[b, 2 * H + k] + Ax[b, 2 * H + k] + bias[2 * H + k])
                    g = np.tanh(A[b, 3 * H + k] + Ax[b, 3 * H + k] + bias[3 * H + k])
                    cn = f * c[layer, b, k] + i * g
                    c_out[layer, b, k] = cn
                    h_out[layer, b, k] = o * np.tanh(cn)
            elif kind == GRU:
                bn = bns[layer]
                for k in range(H):
                    r = _sigmoid(A[b, k] + Ax[b, k] + bias[k])
                    z = _sigmoid(A[b, H + k] + Ax[b, H + k] + bias[H + k])
                    n = np.tanh(Ax[b, 2 * H + k] + bias[2 * H + k] + r * (A[b, 2 * H + k] + bn[k]))
                    h_out[layer, b, k] = (1.0 - z) * n + z * hp[b, k]
            else:
                for k in range(H):
                    h_out[layer, b, k] = np.tanh(A[b, k] + Ax[b, k] + bias[k])
        inp = h_out[layer]
    if projW.shape[1] > 0:
        np.dot(inp, projW, out)
        for b in range(B):
            for k in range(projW.shape[1]):
                out[b, k] += projb[k]
    else:
        out[:, :] = inp


@njit(cache=True, nogil=True)
def softmax_xent(logits, targets, weights, scale, dlogits):
    """Weighted softmax cross-entropy. logits, dlogits: (N, V) (may be the same array); targets: (N,) int;
    weights: (N,). Returns sum_n weights[n] * nll[n]; dlogits = scale * weights[n] * (softmax - onehot)."""
    N, V = logits.shape
    total = 0.0
    for n in range(N):
        w = weights[n]
        m = logits[n, 0]
        for v in range(1, V):
            if logits[n, v] > m:
                m = logits[n, v]
        s = 0.0
        for v in range(V):
            s += np.exp(logits[n, v] - m)
        lse = m + np.log(s)
        y = targets[n]
        if w != 0.0:
            total += w * (lse - logits[n, y])
        sw = scale * w
        for v in range(V):
            dlogits[n, v] = sw * np.exp(logits[n, v] - lse)
        dlogits[n, y] -= sw
    return total


@njit(cache=True, nogil=True)
def log_softmax_rows(logits, out):
    """out[n] = log softmax(logits[n]); logits, out: (N, V)."""
    N, V = logits.shape
    for n in range(N):
        m = logits[n, 0]
        for v in range(1, V):
            if logits[n, v] > m:
                m = logits[n, v]
        s = 0.0
        for v in range(V):
            s += np.exp(logits[n, v] - m)
        lse = m + np.log(s)
        for v in range(V):
            out[n, v] = logits[n, v] - lse


@njit(cache=True, nogil=True)
def scatter_add_rows(dW, ids, dout):
    """dW[ids[n]] += dout[n]; dW: (V, E); ids: (N,) int; dout: (N, E)."""
    E = dW.shape[1]
    for n in range(ids.shape[0]):
        r = ids[n]
        for k in range(E):
            dW[r, k] += dout[n, k]


@njit(cache=True, nogil=True)
def adam_update(p, g, m, v, lr, beta1, beta2, eps, bc1, bc2, weight_decay):
    """In-place Adam (PyTorch's formula) on flat arrays p, g, m, v: (N,); bc1, bc2 = 1 - beta^t."""
    step = lr / bc1
    sq = np.sqrt(bc2)
    for n in range(p.shape[0]):
        gn = g[n] + weight_decay * p[n]
        mn = beta1 * m[n] + (1.0 - beta1) * gn
        vn = beta2 * v[n] + (1.0 - beta2) * gn * gn
        m[n] = mn
        v[n] = vn
        p[n] -= step * mn / (np.sqrt(vn) / sq + eps)


@njit(cache=True, nogil=True)
def sgd_update(p, g, buf, lr, momentum, weight_decay):
    """In-place SGD with optional (heavy-ball, PyTorch-style) momentum on flat arrays: (N,)."""
    for n in range(p.shape[0]):
        gn = g[n] + weight_decay * p[n]
        if momentum != 0.0:
            gn = momentum * buf[n] + gn
            buf[n] = gn
        p[n] -= lr * gn
