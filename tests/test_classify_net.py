"""The classifier network: gradients (float64 central differences), masking, pooling references."""

import numpy as np
import pytest
from gradcheck import assert_grad

from rnntools.tasks import classify as C

T, B, V, E, H, K = 5, 3, 9, 4, 3, 3


def make(cell, pooling, bidirectional, layers=1, seed=0):
    cfg = C.NetConfig(cell=cell, vocab_size=V, n_classes=K, embed_dim=E, hidden=H, layers=layers,
                      pooling=pooling, bidirectional=bidirectional)
    rng = np.random.default_rng(seed)
    params = C.init_params(cfg, rng, dtype=np.float64)
    for name in params:  # non-zero biases so their gradients are exercised
        params[name] += rng.normal(0, 0.3, params[name].shape)
    return C.Network(cfg, params)


def batch(seed=1):
    rng = np.random.default_rng(seed)
    lengths = np.array([5, 2, 1], np.int32)
    seqs = [rng.integers(1, V, n).astype(np.int32) for n in lengths]
    ids, lengths = C.pad_batch(seqs, pad_id=0)
    y = rng.integers(0, K, B)
    w = np.array([1.0, 2.0, 0.5])
    return seqs, ids, lengths, y, w


CASES = [("gru", "last", False, 1), ("lstm", "last", False, 2), ("rnn", "mean", False, 1),
         ("gru", "max", True, 1), ("lstm", "last", True, 2), ("gru", "mean", True, 1)]


@pytest.mark.parametrize("cell, pooling, bidirectional, layers", CASES)
def test_gradients_of_every_parameter(cell, pooling, bidirectional, layers):
    net = make(cell, pooling, bidirectional, layers)
    _, ids, lengths, y, w = batch()

    def loss():
        logits, _ = net.forward(ids, lengths)
        return C.weighted_xent(logits, y, w)[0]

    logits, cache = net.forward(ids, lengths)
    _, dlogits = C.weighted_xent(logits, y, w)
    grads = net.backward(dlogits, cache)
    assert set(grads) == set(net.params)
    for name, param in net.params.items():
        assert_grad(loss, param, grads[name], name=name)


def test_readout_gradient_of_the_logits():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 3))
    y, w = np.array([0, 2, 1, 2]), np.array([1.0, 0.2, 3.0, 1.0])
    _, d = C.weighted_xent(logits, y, w)
    assert_grad(lambda: C.weighted_xent(logits, y, w)[0], logits, d, name="logits")


@pytest.mark.parametrize("cell, pooling, bidirectional, layers", CASES)
def test_padded_batch_equals_one_by_one(cell, pooling, bidirectional, layers):
    """Padding must change nothing: outputs and (summed) gradients of a padded batch equal those of the
    sequences run alone."""
    net = make(cell, pooling, bidirectional, layers)
    seqs, ids, lengths, y, _ = batch()
    # garbage in the padding must not leak in
    ids = ids.copy()
    ids[ids.shape[0] - 1, 1:] = 7
    logits, cache = net.forward(ids, lengths)
    ones = np.ones(B)
    _, d = C.weighted_xent(logits, y, ones)
    grads = net.backward(d * B, cache)  # sum of the per-example losses
    total = {name: np.zeros_like(p) for name, p in net.params.items()}
    for b, s in enumerate(seqs):
        one_ids, one_len = C.pad_batch([s])
        one_logits, one_cache = net.forward(one_ids, one_len)
        np.testing.assert_allclose(one_logits[0], logits[b], rtol=1e-10, atol=1e-12)
        _, d1 = C.weighted_xent(one_logits, y[b:b + 1], np.ones(1))
        for name, g in net.backward(d1, one_cache).items():
            total[name] += g
    for name in grads:
        np.testing.assert_allclose(grads[name], total[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_pooling_against_plain_numpy():
    rng = np.random.default_rng(4)
    lengths = np.array([3, 1, 2])
    X = rng.normal(size=(3, 3, 4))
    mask = C.length_mask(lengths, 3, np.float64)
    X *= mask[:, :, None]
    last, _ = C.pool_forward(X, lengths, mask, "last", 2, False)
    mean, _ = C.pool_forward(X, lengths, mask, "mean", 2, False)
    mx, _ = C.pool_forward(X, lengths, mask, "max", 2, False)
    bi, _ = C.pool_forward(X, lengths, mask, "last", 2, True)
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(last[b], X[n - 1, b])
        np.testing.assert_allclose(mean[b], X[:n, b].mean(axis=0))
        np.testing.assert_allclose(mx[b], X[:n, b].max(axis=0))
        np.testing.assert_allclose(bi[b], np.concatenate([X[n - 1, b, :2], X[0, b, 2:]]))


def test_reverse_index_reverses_within_length():
    rev = C.reverse_index(np.array([3, 1]), 4)
    assert rev[:, 0].tolist() == [2, 1, 0, 3] and rev[:, 1].tolist() == [0, 1, 2, 3]


def test_sparse_embedding_gradient_matches_dense():
    net = make("gru", "last", False)
    _, ids, lengths, y, w = batch()
    logits, cache = net.forward(ids, lengths)
    _, d = C.weighted_xent(logits, y, w)
    dense = net.backward(d, cache)["embed"]
    sparse = net.backward(d, cache, sparse_embed=True)
    rebuilt = np.zeros_like(dense)
    rebuilt[sparse["embed.rows"]] = sparse["embed"]
    np.testing.assert_allclose(rebuilt, dense, rtol=1e-12, atol=1e-15)


def test_lazy_adam_updates_only_used_rows_like_dense_adam_on_them():
    rng = np.random.default_rng(5)
    p = {"embed": rng.normal(size=(6, 3)), "w": rng.normal(size=(2,))}
    q = {k: v.copy() for k, v in p.items()}
    lazy, dense = C.Adam(p), C.Adam(q)
    g_rows = rng.normal(size=(2, 3))
    full = np.zeros((6, 3))
    full[[1, 4]] = g_rows
    gw = rng.normal(size=(2,))
    lazy.step({"embed": g_rows.copy(), "embed.rows": np.array([1, 4]), "w": gw.copy()}, 0.1)
    dense.step({"embed": full, "w": gw.copy()}, 0.1)
    np.testing.assert_allclose(p["embed"], q["embed"], rtol=1e-12)  # first step: untouched rows stay
    np.testing.assert_allclose(p["w"], q["w"], rtol=1e-12)
    assert np.all(p["embed"][[0, 2, 3, 5]] == q["embed"][[0, 2, 3, 5]])


def test_sgd_step_is_minus_lr_times_gradient():
    rng = np.random.default_rng(6)
    p = {"embed": rng.normal(size=(5, 2)).astype(np.float32), "w": rng.normal(size=(3,)).astype(np.float32)}
    before = {k: v.copy() for k, v in p.items()}
    g = {"embed": np.ones((2, 2), np.float32), "embed.rows": np.array([0, 3]), "w": np.full(3, 2.0, np.float32)}
    C.SGD(p).step(g, 0.5)
    np.testing.assert_allclose(p["w"], before["w"] - 1.0)
    np.testing.assert_allclose(p["embed"][[0, 3]], before["embed"][[0, 3]] - 0.5)
    np.testing.assert_array_equal(p["embed"][[1, 2, 4]], before["embed"][[1, 2, 4]])


def test_threads_split_rows_without_changing_results():
    rng = np.random.default_rng(7)
    cfg = C.NetConfig(cell="gru", vocab_size=V, n_classes=K, embed_dim=E, hidden=H, pooling="max",
                      bidirectional=True)
    params = C.init_params(cfg, rng, dtype=np.float64)
    seqs = [rng.integers(1, V, n).astype(np.int32) for n in rng.integers(1, 7, 40)]
    ids, lengths = C.pad_batch(seqs)
    y, w = rng.integers(0, K, 40), np.ones(40)
    results = []
    for threads in (1, 3):
        net = C.Network(cfg, params, threads=threads)
        logits, cache = net.forward(ids, lengths)
        results.append((logits, net.backward(C.weighted_xent(logits, y, w)[1], cache)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-14)
    for name in results[0][1]:
        np.testing.assert_allclose(results[0][1][name], results[1][1][name], rtol=1e-10, atol=1e-14, err_msg=name)
