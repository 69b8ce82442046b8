"""The classifier network on rnntools.nn: gradients (float64 central differences), masking, pooling
references, bidirectional stacks, threads, and the migration of pre-contract files."""

import numpy as np
import pytest
from gradcheck import assert_grad

from rnntools.nn.sequence import RecurrentStack, length_mask, pool, pool_backward, reverse_index
from rnntools.tasks.classify.data import pad_batch
from rnntools.tasks.classify.model import NetConfig, Network, init_params, migrate_arrays, softmax

T, B, V, E, H, K = 5, 3, 9, 4, 3, 3


def weighted_xent(logits, y, w):
    """Reference: sum_i w_i nll_i / sum_i w_i and its gradient (plain numpy)."""
    p = softmax(logits)
    n = len(y)
    loss = float((w * -np.log(p[np.arange(n), y])).sum() / w.sum())
    d = p.copy()
    d[np.arange(n), y] -= 1
    return loss, d * (w / w.sum())[:, None]


def make(cell, pooling, bidirectional, layers=1, seed=0, vocab=V):
    cfg = NetConfig(cell=cell, vocab_size=vocab, n_classes=K, embed_dim=E, hidden=H, layers=layers,
                    pooling=pooling, bidirectional=bidirectional)
    rng = np.random.default_rng(seed)
    params = init_params(cfg, rng, dtype=np.float64)
    for name in params:  # non-zero biases so their gradients are exercised
        params[name] += rng.normal(0, 0.3, params[name].shape)
    return Network(cfg, params)


def batch(seed=1):
    rng = np.random.default_rng(seed)
    lengths = np.array([5, 2, 1], np.int32)
    seqs = [rng.integers(1, V, n).astype(np.int32) for n in lengths]
    ids, lengths = pad_batch(seqs, pad_id=0)
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
        return net.loss_and_grads(ids, lengths, y, w)[0]

    value, grads = net.loss_and_grads(ids, lengths, y, w)
    assert value == pytest.approx(weighted_xent(net.forward(ids, lengths)[0], y, w)[0], rel=1e-12)
    assert set(grads) == set(net.params)
    for name, param in net.params.items():
        assert_grad(loss, param, grads[name], name=name)


def test_large_vocabulary_read_by_gathering_has_the_same_gradients():
    """Recurrent reads a small table by id and gathers a large one; both must give the same numbers."""
    small = make("gru", "max", True, vocab=V)
    big = make("gru", "max", True, vocab=200)
    for name in small.params:
        if name != "embed.W":
            big.params[name][...] = small.params[name]
    big.params["embed.W"][:V] = small.params["embed.W"]
    _, ids, lengths, y, w = batch()
    ls, gs = small.loss_and_grads(ids, lengths, y, w)
    lb, gb = big.loss_and_grads(ids, lengths, y, w)
    assert ls == pytest.approx(lb, rel=1e-12)
    for name in gs:
        np.testing.assert_allclose(gs[name], gb[name][:V] if name == "embed.W" else gb[name], rtol=1e-10,
                                   atol=1e-14, err_msg=name)


@pytest.mark.parametrize("cell, pooling, bidirectional, layers", CASES)
def test_padded_batch_equals_one_by_one(cell, pooling, bidirectional, layers):
    """Padding must change nothing: outputs and (summed) gradients of a padded batch equal those of the
    sequences run alone."""
    net = make(cell, pooling, bidirectional, layers)
    seqs, ids, lengths, y, _ = batch()
    ids = ids.copy()
    ids[ids.shape[0] - 1, 1:] = 7          # garbage in the padding must not leak in
    logits, cache = net.forward(ids, lengths)
    _, d = weighted_xent(logits, y, np.ones(B))
    grads = net.backward(d * B, cache)     # sum of the per-example losses
    total = {name: np.zeros_like(p) for name, p in net.params.items()}
    for b, s in enumerate(seqs):
        one_ids, one_len = pad_batch([s])
        one_logits, one_cache = net.forward(one_ids, one_len)
        np.testing.assert_allclose(one_logits[0], logits[b], rtol=1e-10, atol=1e-12)
        _, d1 = weighted_xent(one_logits, y[b:b + 1], np.ones(1))
        for name, g in net.backward(d1, one_cache).items():
            total[name] += g
    for name in grads:
        np.testing.assert_allclose(grads[name], total[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_pooling_against_plain_numpy_and_its_gradient():
    rng = np.random.default_rng(4)
    lengths = np.array([3, 1, 2])
    X = rng.normal(size=(3, 3, 4))
    for b, n in enumerate(lengths):
        X[n:, b] = 5.0                     # padding is ignored whatever it holds
    refs = {"last": lambda b, n: X[n - 1, b], "mean": lambda b, n: X[:n, b].mean(axis=0),
            "max": lambda b, n: X[:n, b].max(axis=0)}
    for how, ref in refs.items():
        vec, _ = pool(X, lengths, how)
        for b, n in enumerate(lengths):
            np.testing.assert_allclose(vec[b], ref(b, n))
    bi, _ = pool(X, lengths, "last", reversed_from=2)
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(bi[b], np.concatenate([X[n - 1, b, :2], X[0, b, 2:]]))
    R = rng.normal(size=(3, 4))
    for how, rf in (("last", None), ("last", 2), ("mean", None), ("max", None)):
        vec, cache = pool(X, lengths, how, reversed_from=rf)
        assert_grad(lambda how=how, rf=rf: float((pool(X, lengths, how, reversed_from=rf)[0] * R).sum()), X,
                    pool_backward(R, cache), name=f"pool {how} {rf}")


def test_max_pooling_kernel_is_numpys_argmax():
    """The one-pass kernel gives numpy's masked argmax and values: the first of tied maxima, the first NaN,
    padding never chosen, float32 and float64."""
    from rnntools.nn.kernels import max_over_time
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        T, B, F = 7, 5, 9
        y = rng.integers(-2, 3, size=(T, B, F)).astype(dtype)        # small integers: many ties
        y[2, 1, 3] = np.nan
        y[4, 1, 3] = np.nan
        y[0, 2, 0] = np.nan
        lengths = np.array([7, 5, 1, 3, 2])
        y[5:, 4] = 9.0                                               # padding (length 2) larger than all
        mask = np.arange(T)[:, None] < lengths[None, :]
        want_arg = np.where(mask[:, :, None], y, -np.inf).argmax(axis=0)
        want = np.take_along_axis(y, want_arg[None], axis=0)[0]
        vec, arg = np.empty((B, F), dtype), np.empty((B, F), np.int64)
        max_over_time(y, lengths, vec, arg)
        np.testing.assert_array_equal(arg, want_arg)
        np.testing.assert_array_equal(vec, want)
        assert arg[1, 3] == 2 and arg[2, 0] == 0 and (arg[4] < 2).all()


def test_reverse_index_reverses_within_length():
    rev = reverse_index(np.array([3, 1]), 4)
    assert rev[:, 0].tolist() == [2, 1, 0, 3] and rev[:, 1].tolist() == [0, 1, 2, 3]


def test_bidirectional_stack_backward_half_reads_right_to_left():
    """The backward direction at position t has read tokens t..length-1: running it on the reversed row
    alone gives the same states, in reverse order."""
    rng = np.random.default_rng(8)
    params = {}
    stack = RecurrentStack(params, "s", "gru", 3, 4, bidirectional=True, rng=rng, dtype=np.float64)
    x = rng.normal(size=(5, 2, 3))
    lengths = np.array([5, 3])
    y, _ = stack.forward(x, lengths)
    for b, n in enumerate(lengths):
        rev_row = x[:n, b][::-1][:, None, :].copy()
        yb, _, _ = stack.rnns[0][1].forward(rev_row)
        np.testing.assert_allclose(y[:n, b, 4:], yb[::-1, 0], rtol=1e-12)
        assert np.all(y[n:, b] == 0)
    # input gradient of a two-layer bidirectional stack with dropout off: finite differences
    params2 = {}
    stack2 = RecurrentStack(params2, "t", "lstm", 3, 2, layers=2, bidirectional=True, rng=rng, dtype=np.float64)
    R = rng.normal(size=(5, 2, 4))
    y2, cache = stack2.forward(x, lengths)
    grads = {}
    dx = stack2.backward(R * length_mask(lengths, 5, np.float64)[:, :, None], cache, grads)
    assert_grad(lambda: float((stack2.forward(x, lengths)[0] * R).sum()), x, dx, name="x")
    for name in stack2.names():
        assert_grad(lambda: float((stack2.forward(x, lengths)[0] * R).sum()), params2[name], grads[name], name=name)


def test_threads_split_rows_without_changing_results():
    from rnntools import nn

    rng = np.random.default_rng(7)
    net = make("gru", "max", True)
    seqs = [rng.integers(1, V, n).astype(np.int32) for n in rng.integers(1, 7, 80)]
    ids, lengths = pad_batch(seqs)
    y, w = rng.integers(0, K, 80), np.ones(80)
    before = nn.get_threads()
    results = []
    try:
        for threads in (1, 3):
            nn.set_threads(threads)
            results.append(net.loss_and_grads(ids, lengths, y, w))
    finally:
        nn.set_threads(before)
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-12)
    for name in results[0][1]:
        np.testing.assert_allclose(results[0][1][name], results[1][1][name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_migrate_pre_contract_names():
    """A pre-contract file's arrays (separate Wx/Wh, 'embed', Adam's moments) map onto today's names."""
    rng = np.random.default_rng(9)
    old = {"embed": rng.normal(size=(V, E)), "enc.f0.Wx": rng.normal(size=(E, 3 * H)),
           "enc.f0.Wh": rng.normal(size=(H, 3 * H)), "enc.f0.b": rng.normal(size=3 * H),
           "enc.f0.bn": rng.normal(size=H), "out.W": rng.normal(size=(H, K)), "out.b": rng.normal(size=K)}
    arrays = {**old, **{f"state.adam.m.{k}": v + 1 for k, v in old.items()},
              **{f"resume.{k}": v + 2 for k, v in old.items()}}
    new = migrate_arrays(arrays, "gru")
    assert set(new) == {f"{p}{n}" for p in ("", "optim.m.", "resume.")
                        for n in ("embed.W", "enc.f0.0.W", "enc.f0.0.b", "enc.f0.0.bn", "out.W", "out.b")}
    np.testing.assert_array_equal(new["enc.f0.0.W"], np.concatenate([old["enc.f0.Wh"], old["enc.f0.Wx"]]))
    np.testing.assert_array_equal(new["optim.m.embed.W"], old["embed"] + 1)
    assert "enc.f0.0.bn" not in migrate_arrays(old, "lstm")
    assert migrate_arrays(new, "gru") is new


@pytest.mark.parametrize("cell, pooling, bidirectional, layers", CASES + [("gru", "max", True, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stack_infer_is_forward_and_pool_bit_for_bit(cell, pooling, bidirectional, layers, dtype):
    """RecurrentStack.infer gives forward's outputs to the last bit, and with ``max_pool`` the max pooling of
    them, made inside the last layer's time loops (the backward direction's ties as in position order)."""
    rng = np.random.default_rng(5)
    params = {}
    stack = RecurrentStack(params, "s", cell, E, H, layers=layers, bidirectional=bidirectional, rng=rng,
                           dtype=dtype)
    for vocab, n in ((V, 40), (200, 6)):       # a table read by id, and one gathered (V large against T*B)
        table = rng.normal(size=(vocab, E)).astype(dtype)
        seqs = [rng.integers(1, vocab, k).astype(np.int32) for k in rng.integers(1, 8, n)]
        ids, lengths = pad_batch(seqs)
        y, _ = stack.forward(table, lengths, ids=ids)
        np.testing.assert_array_equal(stack.infer(table, lengths, ids=ids), y)
        if pooling == "max":
            np.testing.assert_array_equal(stack.infer(table, lengths, ids=ids, max_pool=True),
                                          pool(y, lengths, "max")[0])


@pytest.mark.parametrize("cell, pooling, bidirectional, layers", CASES)
def test_network_infer_is_forward_bit_for_bit(cell, pooling, bidirectional, layers):
    """Prediction's logits (``Network.infer``) are the training forward's, to the last bit, in float32."""
    cfg = NetConfig(cell=cell, vocab_size=V, n_classes=K, embed_dim=E, hidden=H, layers=layers,
                    pooling=pooling, bidirectional=bidirectional)
    net = Network(cfg, init_params(cfg, np.random.default_rng(2), dtype=np.float32))
    net.cfg.share = 0.7
    _, ids, lengths, _, _ = batch()
    product = np.random.default_rng(3).normal(size=(B, K)).astype(np.float32)
    np.testing.assert_array_equal(net.infer(ids, lengths), net.forward(ids, lengths)[0])
    np.testing.assert_array_equal(net.infer(ids, lengths, wide_product=product),
                                  net.forward(ids, lengths, wide_product=product)[0])
