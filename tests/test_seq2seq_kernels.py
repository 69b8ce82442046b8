"""The seq2seq numba kernels against plain numpy (float64, ~1e-12)."""

import numpy as np

from rnntools.tasks import seq2seq_kernels as kern
from rnntools.tasks.seq2seq_cells import _cell_step_backward, cell_step, init_layer


def _attention_reference(Hd, K, He, mask):
    scores = Hd @ K.transpose(0, 2, 1)
    scores = np.where(mask[:, None, :] > 0, scores, -np.inf)
    W = np.exp(scores - scores.max(axis=2, keepdims=True))
    W /= W.sum(axis=2, keepdims=True)
    return W, W @ He


def test_attention_kernels_match_numpy():
    rng = np.random.default_rng(0)
    B, T, S, H = 3, 4, 5, 6
    Hd, K, He = rng.normal(size=(B, T, H)), rng.normal(size=(B, S, H)), rng.normal(size=(B, S, H))
    mask = np.ones((B, S))
    mask[1, 3:] = 0
    mask[2, 1:] = 0
    W, C = np.empty((B, T, S)), np.empty((B, T, H))
    kern.attn_forward(Hd, K, He, mask, W, C)
    W_ref, C_ref = _attention_reference(Hd, K, He, mask)
    np.testing.assert_allclose(W, W_ref, atol=1e-12)
    np.testing.assert_allclose(C, C_ref, atol=1e-12)
    dC = rng.normal(size=(B, T, H))
    dHd0 = rng.normal(size=(B, T, H))
    dHd, dK, dHe = dHd0.copy(), np.empty_like(K), np.empty_like(He)
    kern.attn_backward(Hd, K, He, W, dC, dHd, dK, dHe)
    dW = dC @ He.transpose(0, 2, 1)
    dscores = W_ref * (dW - (dW * W_ref).sum(axis=2, keepdims=True))
    np.testing.assert_allclose(dHe, W_ref.transpose(0, 2, 1) @ dC, atol=1e-12)
    np.testing.assert_allclose(dHd, dHd0 + dscores @ K, atol=1e-12)
    np.testing.assert_allclose(dK, dscores.transpose(0, 2, 1) @ Hd, atol=1e-12)


def test_gru_step_kernels_match_numpy():
    rng = np.random.default_rng(1)
    B, D, H = 4, 3, 5
    p = {k: v + rng.normal(0, 0.3, v.shape) for k, v in init_layer("gru", D, H, rng, np.float64).items()}
    a = rng.normal(size=(B, 3 * H))
    s = rng.normal(size=(B, H))
    m = np.array([1.0, 0.0, 1.0, 1.0])
    new_ref, (r_ref, z_ref, n_ref, hn_ref) = cell_step("gru", p, a, s)
    new_ref = m[:, None] * new_ref + (1 - m[:, None]) * s
    new, r, z, n, hn = (np.empty((B, H)) for _ in range(5))
    kern.gru_step(a, s @ p["Wh"], s, p["bhn"], m, new, r, z, n, hn)
    for got, ref in ((new, new_ref), (r, r_ref), (z, z_ref), (n, n_ref), (hn, hn_ref)):
        np.testing.assert_allclose(got, ref, atol=1e-12)
    ds = rng.normal(size=(B, H))
    da, dhh, ds_prev, dbn = _cell_step_backward("gru", p, s, (r, z, n, hn), ds * m[:, None])
    ds_prev = ds_prev + (1 - m[:, None]) * ds
    kda, kdhh, kds = np.empty((B, 3 * H)), np.empty((B, 3 * H)), np.empty((B, H))
    kdbhn = np.zeros(H)
    kern.gru_step_backward(ds, s, r, z, n, hn, m, kda, kdhh, kds, kdbhn)
    np.testing.assert_allclose(kda, da, atol=1e-12)
    np.testing.assert_allclose(kdhh, dhh, atol=1e-12)
    np.testing.assert_allclose(kds, ds_prev, atol=1e-12)
    np.testing.assert_allclose(kdbhn, dbn.sum(axis=0), atol=1e-12)
