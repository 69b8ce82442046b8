"""The seq2seq numba kernels against plain numpy (float64, ~1e-12)."""

import numpy as np

from rnntools.tasks import seq2seq_kernels as kern


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
