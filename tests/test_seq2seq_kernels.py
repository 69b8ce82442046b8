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
    kern.attn_forward(tm(Hd), tm(K), tm(He), np.ascontiguousarray(mask.T), np.ones((T, B)), W, cat)
    W_ref, C_ref = _attention_reference(Hd, K, He, mask)
    np.testing.assert_allclose(tm(W), W_ref, atol=1e-12)
    np.testing.assert_allclose(tm(cat[:, :, :H]), C_ref, atol=1e-12)
    np.testing.assert_array_equal(tm(cat[:, :, H:]), Hd)
    dC, dHd_direct = rng.normal(size=(B, T, H)), rng.normal(size=(B, T, H))
    dcat = np.concatenate([tm(dC), tm(dHd_direct)], axis=2)
    dHd, dK, dHe = np.empty((T, B, H)), np.empty((S, B, H)), np.empty((S, B, H))
    kern.attn_backward(tm(Hd), tm(K), tm(He), W, np.ones((T, B)), dcat, dHd, dK, dHe)
    dW = dC @ He.transpose(0, 2, 1)
    dscores = W_ref * (dW - (dW * W_ref).sum(axis=2, keepdims=True))
    np.testing.assert_allclose(tm(dHe), W_ref.transpose(0, 2, 1) @ dC, atol=1e-12)
    np.testing.assert_allclose(tm(dHd), dHd_direct + dscores @ K, atol=1e-12)
    np.testing.assert_allclose(tm(dK), dscores.transpose(0, 2, 1) @ Hd, atol=1e-12)


def test_attention_kernels_leave_out_padded_decoder_positions():
    """tmask 0 (a padded target position): W and [context; Hd] are written 0 without arithmetic; backward
    reads nothing of the position (NaN there changes nothing), gives it dHd 0 and takes nothing from it;
    every real position gets the bits of the full computation whose padded positions have zero gradient."""
    rng = np.random.default_rng(3)
    T, B, S, H = 4, 3, 5, 6
    Hd, K, He = rng.normal(size=(T, B, H)), rng.normal(size=(S, B, H)), rng.normal(size=(S, B, H))
    mask = np.ones((S, B))
    mask[3:, 1] = 0
    tmask = np.ones((T, B))
    tmask[2:, 0] = 0
    tmask[3, 2] = 0
    W, cat = np.full((T, B, S), np.nan), np.full((T, B, 2 * H), np.nan)
    kern.attn_forward(Hd, K, He, mask, tmask, W, cat)
    W_all, cat_all = np.empty((T, B, S)), np.empty((T, B, 2 * H))
    kern.attn_forward(Hd, K, He, mask, np.ones((T, B)), W_all, cat_all)
    real = tmask > 0
    assert (W[~real] == 0).all() and (cat[~real] == 0).all()
    np.testing.assert_array_equal(W[real], W_all[real])
    np.testing.assert_array_equal(cat[real], cat_all[real])
    dcat = rng.normal(size=(T, B, 2 * H))
    dcat[~real] = np.nan
    dHd, dK, dHe = np.empty((T, B, H)), np.empty((S, B, H)), np.empty((S, B, H))
    kern.attn_backward(Hd, K, He, W, tmask, dcat, dHd, dK, dHe)
    dcat0 = np.where(real[:, :, None], dcat, 0.0)
    rHd, rK, rHe = np.empty((T, B, H)), np.empty((S, B, H)), np.empty((S, B, H))
    kern.attn_backward(Hd, K, He, W_all, np.ones((T, B)), dcat0, rHd, rK, rHe)
    assert (dHd[~real] == 0).all()
    np.testing.assert_array_equal(dHd[real], rHd[real])
    np.testing.assert_array_equal(dK, rK)
    np.testing.assert_array_equal(dHe, rHe)
    # and against numpy, batch-first: the real positions' sums only
    Wb = W.transpose(1, 0, 2)
    dC = np.where(real[:, :, None], dcat[:, :, :H], 0.0).transpose(1, 0, 2)
    np.testing.assert_allclose(dHe, (Wb.transpose(0, 2, 1) @ dC).transpose(1, 0, 2), atol=1e-12)


def test_tanh_backward_matches_numpy():
    rng = np.random.default_rng(1)
    pre, bias, dout = rng.normal(size=(7, 5)), rng.normal(size=5), rng.normal(size=(7, 5))
    out = np.tanh(pre + bias)
    dpre, dbias = np.empty_like(out), np.empty(5)
    kern.tanh_backward(out, dout, np.ones(7), dpre, dbias)
    np.testing.assert_allclose(dpre, dout * (1 - np.tanh(pre + bias) ** 2), atol=1e-12)
    np.testing.assert_allclose(dbias, dpre.sum(axis=0), atol=1e-12)
    rows = np.array([1, 0, 1, 1, 0, 0, 1.0])     # rows 0: not read, dpre 0, not summed
    dout[rows == 0] = np.nan
    kern.tanh_backward(out, dout, rows, dpre, dbias)
    assert (dpre[rows == 0] == 0).all()
    np.testing.assert_allclose(dpre[rows > 0], (dout * (1 - out ** 2))[rows > 0], atol=1e-12)
    np.testing.assert_allclose(dbias, dpre[rows > 0].sum(axis=0), atol=1e-12)
