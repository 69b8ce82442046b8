"""The seq2seq numba kernels against plain numpy (float64, ~1e-12)."""

import numpy as np

from rnntools.nn import attention_kernels as kern


def _attention_reference(Hd, K, He, mask):
    """Batch-first numpy: Hd (B, T, H), K and He (B, S, H), mask (B, S)."""
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
    tm = lambda a: np.ascontiguousarray(a.transpose(1, 0, 2))  # noqa: E731  batch-first <-> time-major
    W, cat = np.empty((T, B, S)), np.empty((T, B, 2 * H))
    kern.attn_forward(tm(Hd), tm(K), tm(He), np.ascontiguousarray(mask.T), W, cat)
    W_ref, C_ref = _attention_reference(Hd, K, He, mask)
    np.testing.assert_allclose(tm(W), W_ref, atol=1e-12)
    np.testing.assert_allclose(tm(cat[:, :, :H]), C_ref, atol=1e-12)
    np.testing.assert_array_equal(tm(cat[:, :, H:]), Hd)
    dC, dHd_direct = rng.normal(size=(B, T, H)), rng.normal(size=(B, T, H))
    dcat = np.concatenate([tm(dC), tm(dHd_direct)], axis=2)
    dHd, dK, dHe = np.empty((T, B, H)), np.empty((S, B, H)), np.empty((S, B, H))
    kern.attn_backward(tm(Hd), tm(K), tm(He), W, dcat, dHd, dK, dHe)
    dW = dC @ He.transpose(0, 2, 1)
    dscores = W_ref * (dW - (dW * W_ref).sum(axis=2, keepdims=True))
    np.testing.assert_allclose(tm(dHe), W_ref.transpose(0, 2, 1) @ dC, atol=1e-12)
    np.testing.assert_allclose(tm(dHd), dHd_direct + dscores @ K, atol=1e-12)
    np.testing.assert_allclose(tm(dK), dscores.transpose(0, 2, 1) @ Hd, atol=1e-12)


def test_tanh_backward_matches_numpy():
    rng = np.random.default_rng(1)
    pre, bias, dout = rng.normal(size=(7, 5)), rng.normal(size=5), rng.normal(size=(7, 5))
    out = np.tanh(pre + bias)
    dpre, dbias = np.empty_like(out), np.empty(5)
    kern.tanh_backward(out, dout, dpre, dbias)
    np.testing.assert_allclose(dpre, dout * (1 - np.tanh(pre + bias) ** 2), atol=1e-12)
    np.testing.assert_allclose(dbias, dpre.sum(axis=0), atol=1e-12)
