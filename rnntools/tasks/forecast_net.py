"""The forecaster's network: one recurrent layer over (T, B, D) inputs and a dense head at every step.

Written against plain numpy (vectorised over the batch, a Python loop over time) so that the forecaster
does not wait on the shared engine; lookbacks are short (tens of steps) and batches of series are wide, so
the per-step Python cost is small next to the (B, H) x (H, 3H) products. Cells: ``gru`` (gate order r, z,
n as in the engine: ``n = tanh(x Wx_n + b_n + r * (h Wh_n + bn))``, ``h' = (1 - z) n + z h``) and ``rnn``
(``h' = tanh(x Wx + h Wh + b)``). The dtype follows the parameters: float32 to train, float64 for the
gradient checks.

Shapes: X (T, B, D) inputs; Wx (D, G*H); Wh (H, G*H); b (G*H,); bn (H,) (GRU); Wo (H, O); bo (O,);
Y (T, B, O) outputs at every step (synchronous many-to-many).
"""

from __future__ import annotations

import numpy as np

GATES = {"gru": 3, "rnn": 1}


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def init_params(cell: str, D: int, H: int, O: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    """Uniform(-1/sqrt(H), 1/sqrt(H)) like torch, a zero head bias; the head starts small so that the
    untrained forecast is the baseline (the residual is learned on top of it)."""
    G = GATES[cell]
    k = 1.0 / np.sqrt(H)
    p = {
        "Wx": rng.uniform(-k, k, (D, G * H)),
        "Wh": rng.uniform(-k, k, (H, G * H)),
        "b": rng.uniform(-k, k, (G * H,)),
        "bn": rng.uniform(-k, k, (H,)) if cell == "gru" else np.zeros(0),
        "Wo": rng.uniform(-k, k, (H, O)) * 0.1,
        "bo": np.zeros(O),
    }
    return {n: a.astype(dtype) for n, a in p.items()}


def forward(cell: str, p: dict, X: np.ndarray, h0: np.ndarray | None = None, last_only: bool = False):
    """Outputs (T, B, O) (or (B, O) of the last step with ``last_only``) and a cache for ``backward``."""
    T, B, _ = X.shape
    H = p["Wh"].shape[0]
    P = X @ p["Wx"] + p["b"]  # (T, B, GH): all input projections in one BLAS call
    h = np.zeros((B, H), X.dtype) if h0 is None else h0
    Hs = np.empty((T, B, H), X.dtype)
    if cell == "gru":
        Gs = np.empty((T, B, 3 * H), X.dtype)  # r, z, n activations
        Rn = np.empty((T, B, H), X.dtype)      # h_{t-1} Wh_n + bn
        for t in range(T):
            A = h @ p["Wh"]
            rz = _sigmoid(P[t, :, :2 * H] + A[:, :2 * H])
            r, z = rz[:, :H], rz[:, H:]
            rn = A[:, 2 * H:] + p["bn"]
            n = np.tanh(P[t, :, 2 * H:] + r * rn)
            h = (1.0 - z) * n + z * h
            Gs[t, :, :2 * H], Gs[t, :, 2 * H:] = rz, n
            Rn[t] = rn
            Hs[t] = h
        cache = (X, h0, Hs, Gs, Rn)
    else:
        for t in range(T):
            h = np.tanh(P[t] + h @ p["Wh"])
            Hs[t] = h
        cache = (X, h0, Hs, None, None)
    if last_only:
        return Hs[-1] @ p["Wo"] + p["bo"], cache
    return Hs @ p["Wo"] + p["bo"], cache


def step(cell: str, p: dict, x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One time step for recursive forecasting: x (B, D), h (B, H) -> (output (B, O), new h)."""
    H = p["Wh"].shape[0]
    P = x @ p["Wx"] + p["b"]
    A = h @ p["Wh"]
    if cell == "gru":
        rz = _sigmoid(P[:, :2 * H] + A[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        n = np.tanh(P[:, 2 * H:] + r * (A[:, 2 * H:] + p["bn"]))
        h = (1.0 - z) * n + z * h
    else:
        h = np.tanh(P + A)
    return h @ p["Wo"] + p["bo"], h


def backward(cell: str, p: dict, cache, dY: np.ndarray) -> dict:
    """Gradients of every parameter given dY (T, B, O), the gradient of the loss w.r.t. the outputs;
    also ``X`` (the inputs' gradient, for checks)."""
    X, h0, Hs, Gs, Rn = cache
    T, B, _ = X.shape
    H = p["Wh"].shape[0]
    g = {"Wo": np.einsum("tbh,tbo->ho", Hs, dY), "bo": dY.sum((0, 1))}
    dHs = dY @ p["Wo"].T  # (T, B, H)
    dP = np.empty((T, B, p["Wh"].shape[1]), X.dtype)   # input-side pre-activation gradients
    dA = np.empty_like(dP)                              # recurrent-side
    dh = np.zeros((B, H), X.dtype)
    zeros = np.zeros((B, H), X.dtype)
    for t in range(T - 1, -1, -1):
        gh = dHs[t] + dh
        hp = Hs[t - 1] if t > 0 else (h0 if h0 is not None else zeros)
        if cell == "gru":
            r, z, n = Gs[t, :, :H], Gs[t, :, H:2 * H], Gs[t, :, 2 * H:]
            dan = gh * (1.0 - z) * (1.0 - n * n)
            dar = dan * Rn[t] * r * (1.0 - r)
            daz = gh * (hp - n) * z * (1.0 - z)
            dP[t, :, :H], dP[t, :, H:2 * H], dP[t, :, 2 * H:] = dar, daz, dan
            dA[t, :, :H], dA[t, :, H:2 * H], dA[t, :, 2 * H:] = dar, daz, dan * r
            dh = dA[t] @ p["Wh"].T + gh * z
        else:
            da = gh * (1.0 - Hs[t] * Hs[t])
            dP[t] = da
            dA[t] = da
            dh = da @ p["Wh"].T
    Hprev = np.concatenate([(h0 if h0 is not None else zeros)[None], Hs[:-1]], 0)
    g["Wh"] = np.einsum("tbh,tbg->hg", Hprev, dA)
    g["Wx"] = np.einsum("tbd,tbg->dg", X, dP)
    g["b"] = dP.sum((0, 1))
    g["bn"] = dA[:, :, 2 * H:].sum((0, 1)) if cell == "gru" else np.zeros(0, X.dtype)
    g["X"] = dP @ p["Wx"].T
    return g


def masked_l1(Y: np.ndarray, R: np.ndarray, M: np.ndarray) -> tuple[float, int, np.ndarray]:
    """Sum of ``|Y - R|`` where the mask M is 1, the number of terms, and the gradient w.r.t. Y of the sum.

    L1 because the forecasts are scored by MASE (a mean absolute error): the forecast that minimises it
    is the median, which also keeps outliers in short real series from dragging the fit."""
    diff = (Y - R) * M
    return float(np.abs(diff).sum()), int(M.sum()), np.sign(diff).astype(Y.dtype)


class Adam:
    """Adam with global-norm clipping; moments live in ``state`` so that --resume continues them."""

    def __init__(self, params: dict, beta1=0.9, beta2=0.999, eps=1e-8, clip=5.0):
        self.beta1, self.beta2, self.eps, self.clip = beta1, beta2, eps, clip
        self.state = {}
        for name, a in params.items():
            self.state[f"m.{name}"] = np.zeros_like(a)
            self.state[f"v.{name}"] = np.zeros_like(a)
        self.t = 0

    def update(self, params: dict, grads: dict, lr: float) -> float:
        norm = float(np.sqrt(sum(float(np.sum(grads[n].astype(np.float64) ** 2)) for n in params)))
        scale = self.clip / norm if self.clip and norm > self.clip else 1.0
        self.t += 1
        bc1, bc2 = 1 - self.beta1 ** self.t, 1 - self.beta2 ** self.t
        for name, a in params.items():
            gr = grads[name] * scale
            m, v = self.state[f"m.{name}"], self.state[f"v.{name}"]
            m *= self.beta1
            m += (1 - self.beta1) * gr
            v *= self.beta2
            v += (1 - self.beta2) * gr * gr
            a -= (lr * (m / bc1) / (np.sqrt(v / bc2) + self.eps)).astype(a.dtype)
        return norm
