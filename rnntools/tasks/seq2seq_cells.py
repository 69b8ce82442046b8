"""Masked recurrent layers (RNN, GRU, LSTM) over (T, B, D) with gradients into inputs, initial and final
states — the seq2seq task's local stand-in until it moves onto the shared engine ``rnntools.nn``.

Why a local copy: the seq2seq task had to be built, tested and benchmarked while the engine was still being
written. The interface is the one the engine promises (cells over (T, B, D), a per-(t, b) mask that carries
the state over padding so that the final state is each sequence's last real token's, gradients into the
initial state), so moving over is a matter of swapping ``layer_forward``/``layer_backward``.

Design: the input projection of all time steps is one BLAS product ``X @ Wx`` before the loop and one
``X^T @ dA`` after it; only ``h @ Wh`` and the gate arithmetic run per step. Any float dtype works: float32
for training, float64 for the gradient checks.

State layout: a layer's state is one (B, S) array, S = H for rnn/gru and 2H for lstm (h then c), so
stacks, masks and the encoder-to-decoder hand-over do not care which cell it is. Gate order follows
PyTorch (gru: r, z, n; lstm: i, f, g, o) so the benchmark's twin has the same equations.
"""

from __future__ import annotations

import numpy as np

from rnntools.tasks import seq2seq_kernels as kern

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def state_size(cell: str, hidden: int) -> int:
    return 2 * hidden if cell == "lstm" else hidden


def init_layer(cell: str, d_in: int, hidden: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    """Parameters of one layer: Wx (D, G*H), Wh (H, G*H), b (G*H,) and, for gru, bhn (H,), the bias of
    the hidden side of the candidate gate (inside r * (h Whn + bhn), as in PyTorch)."""
    g, k = GATES[cell], 1.0 / np.sqrt(hidden)
    p = {"Wx": rng.uniform(-k, k, (d_in, g * hidden)), "Wh": rng.uniform(-k, k, (hidden, g * hidden)),
         "b": np.zeros(g * hidden)}
    if cell == "lstm":
        p["b"][hidden:2 * hidden] = 1.0  # forget-gate bias 1: remember by default (Jozefowicz et al. 2015)
    if cell == "gru":
        p["bhn"] = np.zeros(hidden)
    return {k_: v.astype(dtype) for k_, v in p.items()}


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings for large |x|


def cell_step(cell: str, p: dict, a: np.ndarray, s: np.ndarray):
    """One step. a: (B, G*H) input projection incl. bias; s: (B, S). Returns the new state and the
    values the backward step needs."""
    H = p["Wh"].shape[0]
    h = s[:, :H]
    hh = h @ p["Wh"]  # (B, G*H)
    if cell == "gru":
        r = _sigmoid(a[:, :H] + hh[:, :H])
        z = _sigmoid(a[:, H:2 * H] + hh[:, H:2 * H])
        hn = hh[:, 2 * H:] + p["bhn"]
        n = np.tanh(a[:, 2 * H:] + r * hn)
        return (1.0 - z) * n + z * h, (r, z, n, hn)
    if cell == "lstm":
        g = a + hh
        i, f = _sigmoid(g[:, :H]), _sigmoid(g[:, H:2 * H])
        gg, o = np.tanh(g[:, 2 * H:3 * H]), _sigmoid(g[:, 3 * H:])
        c = f * s[:, H:] + i * gg
        tc = np.tanh(c)
        return np.concatenate([o * tc, c], axis=1), (i, f, gg, o, tc)
    new = np.tanh(a + hh)
    return new, (new,)


def _cell_step_backward(cell: str, p: dict, s: np.ndarray, vals, ds_new: np.ndarray):
    """Gradients of one step. Returns (da (B,G*H) for the input projection, dhh (B,G*H) for h @ Wh,
    ds (B,S) into the previous state other than through Wh, dbhn or None)."""
    H = p["Wh"].shape[0]
    if cell == "gru":
        r, z, n, hn = vals
        h = s[:, :H]
        dh = ds_new
        dn = dh * (1.0 - z)
        dan = dn * (1.0 - n * n)
        daz = dh * (h - n) * z * (1.0 - z)
        dar = dan * hn * r * (1.0 - r)
        dhn = dan * r
        da = np.concatenate([dar, daz, dan], axis=1)
        dhh = np.concatenate([dar, daz, dhn], axis=1)
        return da, dhh, dh * z, dhn
    if cell == "lstm":
        i, f, gg, o, tc = vals
        dh, dc = ds_new[:, :H], ds_new[:, H:]
        dc = dc + dh * o * (1.0 - tc * tc)
        da = np.concatenate([dc * gg * i * (1.0 - i), dc * s[:, H:] * f * (1.0 - f),
                             dc * i * (1.0 - gg * gg), dh * tc * o * (1.0 - o)], axis=1)
        ds = np.zeros_like(s)
        ds[:, H:] = dc * f
        return da, da, ds, None
    (new,) = vals
    da = ds_new * (1.0 - new * new)
    return da, da, np.zeros_like(s), None


def layer_forward(cell: str, p: dict, X: np.ndarray, mask: np.ndarray, s0: np.ndarray):
    """X: (T, B, D); mask: (T, B) 1 for real tokens, 0 for padding (the state is carried over padding);
    s0: (B, S). Returns outputs (T, B, H), final state (B, S) and a cache for ``layer_backward``."""
    T, B, D = X.shape
    H = p["Wh"].shape[0]
    A = (X.reshape(T * B, D) @ p["Wx"]).reshape(T, B, -1) + p["b"]  # (T, B, G*H)
    states = np.empty((T + 1,) + s0.shape, dtype=A.dtype)  # (T+1, B, S)
    states[0] = s0
    if cell == "gru":  # fused numba gates (seq2seq_kernels.gru_step); the products stay in BLAS
        gates = np.empty((4, T, B, H), dtype=A.dtype)  # r, z, n, hn
        Wh, bhn = p["Wh"], p["bhn"].astype(A.dtype)
        mask_t = np.ascontiguousarray(mask, dtype=A.dtype)
        for t in range(T):
            kern.gru_step(A[t], states[t] @ Wh, states[t], bhn, mask_t[t], states[t + 1], gates[0, t], gates[1, t],
                          gates[2, t], gates[3, t])
        return states[1:], states[T], (X, mask_t, states, gates)
    vals = []
    for t in range(T):
        new, v = cell_step(cell, p, A[t], states[t])
        m = mask[t][:, None]
        states[t + 1] = m * new + (1.0 - m) * states[t]
        vals.append(v)
    return states[1:, :, :H], states[T], (X, mask, states, vals)


def layer_backward(cell: str, p: dict, cache, dY: np.ndarray | None, dsT: np.ndarray | None):
    """dY: (T, B, H) gradient of the outputs (None: zero); dsT: (B, S) of the final state (None: zero).
    Returns dX (T, B, D), ds0 (B, S) and the parameter gradients (dict like ``p``)."""
    X, mask, states, vals = cache
    T, B, D = X.shape
    H = p["Wh"].shape[0]
    ds = np.zeros_like(states[0]) if dsT is None else dsT.astype(states.dtype, copy=True)
    dA = np.empty((T, B, p["Wx"].shape[1]), dtype=states.dtype)
    dHH = np.empty_like(dA)
    dbhn = np.zeros(H, dtype=states.dtype) if cell == "gru" else None
    WhT = p["Wh"].T
    if cell == "gru":
        gates = vals
        ds_prev = np.empty_like(ds)
        for t in range(T - 1, -1, -1):
            if dY is not None:
                ds += dY[t]
            kern.gru_step_backward(ds, states[t], gates[0, t], gates[1, t], gates[2, t], gates[3, t], mask[t],
                                   dA[t], dHH[t], ds_prev, dbhn)
            ds_prev += dHH[t] @ WhT
            ds, ds_prev = ds_prev, ds
    for t in range(T - 1 if cell != "gru" else -1, -1, -1):
        if dY is not None:
            ds[:, :H] += dY[t]
        m = mask[t][:, None]
        da, dhh, ds_prev, dbn = _cell_step_backward(cell, p, states[t], vals[t], ds * m)
        dA[t], dHH[t] = da, dhh
        if dbn is not None:
            dbhn += dbn.sum(axis=0)
        ds_prev = ds_prev + (1.0 - m) * ds
        ds_prev[:, :H] += dhh @ WhT
        ds = ds_prev
    dA2, dHH2 = dA.reshape(T * B, -1), dHH.reshape(T * B, -1)
    grads = {"Wx": X.reshape(T * B, D).T @ dA2, "Wh": states[:T, :, :H].reshape(T * B, H).T @ dHH2,
             "b": dA2.sum(axis=0)}
    if cell == "gru":
        grads["bhn"] = dbhn
    dX = (dA2 @ p["Wx"].T).reshape(T, B, D)
    return dX, ds, grads
