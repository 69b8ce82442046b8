"""Embedding, dense, softmax cross-entropy, dropout, optimisers and a whole tiny LM."""

import numpy as np
import pytest
from gradcheck import assert_grad

from rnntools import nn


def test_embedding_forward_backward_and_frozen():
    rng = np.random.default_rng(0)
    params = {}
    pre = rng.normal(size=(6, 3))
    emb = nn.Embedding(params, "e", 6, 3, pretrained=pre, dtype=np.float64)
    assert np.array_equal(params["e.W"], pre) and params["e.W"] is not pre
    ids = np.array([[1, 4], [1, 0], [5, 1]], np.int32)
    w = rng.normal(size=(3, 2, 3))
    def f():
        return float(np.sum(emb.forward(ids)[0] * w))
    out, cache = emb.forward(ids)
    assert np.array_equal(out, pre[ids])
    grads = {}
    emb.backward(w, cache, grads)
    assert_grad(f, params["e.W"], grads["e.W"], name="embedding")
    frozen = nn.Embedding({}, "e", 6, 3, pretrained=pre, trainable=False)
    g = {}
    frozen.backward(w, cache, g)
    assert g == {} and frozen.names() == []


def test_dense_gradients():
    rng = np.random.default_rng(1)
    params = {}
    dense = nn.Dense(params, "d", 4, 3, rng=rng, dtype=np.float64)
    x = rng.normal(size=(2, 5, 4))
    w = rng.normal(size=(2, 5, 3))
    def f():
        return float(np.sum(dense.forward(x)[0] * w))
    y, cache = dense.forward(x)
    assert np.abs(y - (x @ params["d.W"] + params["d.b"])).max() < 1e-12
    grads = {}
    dx = dense.backward(w, cache, grads)
    assert_grad(f, params["d.W"], grads["d.W"], name="W")
    assert_grad(f, params["d.b"], grads["d.b"], name="b")
    assert_grad(f, x, dx, name="x")


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("V", [5, 19])     # 19: the 8-lane max and sum of the kernel, and their tails
def test_softmax_cross_entropy_reference_and_gradient(normalize, V, smoothing):
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(6, V)) * 3
    logits[2, 17 % V] = 9.0                      # the maximum in a tail lane / in a vector lane
    targets = rng.integers(0, V, 6)
    weights = np.array([1, 0, 2, 1, 0.5, 1.0])
    loss, d = nn.softmax_cross_entropy(logits, targets, weights, normalize=normalize, smoothing=smoothing)
    lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    # the target distribution: (1 - eps) on the target plus eps spread evenly over all V ids
    q = np.full((6, V), smoothing / V)
    q[np.arange(6), targets] += 1 - smoothing
    ref = -(weights * (q * lp).sum(1)).sum() / (weights.sum() if normalize else 1)
    assert abs(loss - ref) < 1e-12
    ref_d = weights[:, None] * (np.exp(lp) - q) / (weights.sum() if normalize else 1)
    assert np.abs(d - ref_d).max() < 1e-12
    def f():
        return nn.softmax_cross_entropy(logits, targets, weights, normalize=normalize, smoothing=smoothing)[0]
    assert_grad(f, logits, d, name="logits")
    assert np.abs(nn.log_softmax(logits) - lp).max() < 1e-12
    # in place (out=logits, as the fused output layer does): the mean is read before it is overwritten
    inplace = logits.copy()
    loss2, _ = nn.softmax_cross_entropy(inplace, targets, weights, normalize=normalize, out=inplace,
                                        smoothing=smoothing)
    assert abs(loss2 - loss) < 1e-12 and np.abs(inplace - d).max() < 1e-12
    with pytest.raises(ValueError):
        nn.softmax_cross_entropy(logits, np.array([0, 1, 2, 3, 4, V]))
    with pytest.raises(ValueError):
        nn.softmax_cross_entropy(logits, targets, smoothing=1.0)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("N", [6, 600])    # 600 rows: two workers, whose dW and db parts add up
def test_dense_softmax_cross_entropy_equals_the_separate_steps(N, smoothing):
    nn.set_threads(2)
    rng = np.random.default_rng(5)
    params = {}
    dense = nn.Dense(params, "d", 4, 11, rng=rng, dtype=np.float64)
    x = rng.normal(size=(2, N // 2, 4)) * 2
    targets = rng.integers(0, 11, (2, N // 2))
    weights = rng.uniform(0, 2, (2, N // 2))
    weights[0, 1] = 0
    grads = {"d.b": np.ones(11)}             # gradients add to what is there, as in backward
    loss, dx = dense.softmax_cross_entropy(x, targets, grads, weights, smoothing=smoothing)
    logits, cache = dense.forward(x)
    ref_loss, dlogits = nn.softmax_cross_entropy(logits.reshape(-1, 11), targets, weights, smoothing=smoothing)
    ref = {"d.b": np.ones(11)}
    ref_dx = dense.backward(dlogits.reshape(logits.shape), cache, ref)
    assert abs(loss - ref_loss) < 1e-12 * abs(ref_loss) and dx.shape == x.shape
    assert np.abs(dx - ref_dx).max() < 1e-12
    for key in ref:
        assert np.abs(grads[key] - ref[key]).max() < 1e-12, key
    if N == 6:
        def f():
            return dense.softmax_cross_entropy(x, targets, {}, weights, smoothing=smoothing)[0]
        fresh = {}
        dense.softmax_cross_entropy(x, targets, fresh, weights, smoothing=smoothing)
        assert_grad(f, params["d.W"], fresh["d.W"], name="W")
        assert_grad(f, params["d.b"], fresh["d.b"], name="b")
        assert_grad(f, x, dx, name="x")
    with pytest.raises(ValueError):
        dense.softmax_cross_entropy(x, targets[:, :1], {})


def test_softmax_cross_entropy_is_stable_for_large_logits():
    loss, d = nn.softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, -1000.0]], np.float32), np.array([1, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(d)) and abs(loss - 500) < 1e-3


def test_dropout_mask_statistics_and_seed():
    a = nn.dropout_mask(np.random.default_rng(3), (200, 100), 0.25)
    b = nn.dropout_mask(np.random.default_rng(3), (200, 100), 0.25)
    assert np.array_equal(a, b)
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    assert np.all(nn.dropout_mask(np.random.default_rng(3), (3,), 0.0) == 1)


def test_optimisers_lr_zero_change_nothing():
    rng = np.random.default_rng(4)
    for opt_cls in (nn.Adam, nn.SGD):
        params = {"w": rng.normal(size=(3, 4)).astype(np.float32)}
        before = params["w"].copy()
        opt = opt_cls(params, lr=0.0)
        for _ in range(3):
            opt.step({"w": rng.normal(size=(3, 4)).astype(np.float32)})
        assert np.array_equal(params["w"], before)


def test_adam_matches_reference_and_state_round_trips():
    rng = np.random.default_rng(5)
    p0 = rng.normal(size=(4, 3))
    params = {"w": p0.copy()}
    opt = nn.Adam(params, lr=0.01)
    gs = [rng.normal(size=(4, 3)) for _ in range(5)]
    m = v = 0
    ref = p0.copy()
    for t, g in enumerate(gs, 1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref -= 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    for g in gs[:3]:
        opt.step({"w": g})
    saved = {k: v.copy() for k, v in opt.state_arrays().items()}
    resumed = nn.Adam(params, lr=0.01)
    resumed.load_state(saved)
    for g in gs[3:]:
        resumed.step({"w": g})
    assert np.abs(params["w"] - ref).max() < 1e-12


def test_sgd_momentum_state_round_trips():
    rng = np.random.default_rng(6)
    gs = [rng.normal(size=5) for _ in range(4)]
    a = {"w": np.zeros(5)}
    oa = nn.SGD(a, lr=0.1, momentum=0.9)
    for g in gs:
        oa.step({"w": g})
    b = {"w": np.zeros(5)}
    ob = nn.SGD(b, lr=0.1, momentum=0.9)
    for g in gs[:2]:
        ob.step({"w": g})
    ob2 = nn.SGD(b, lr=0.1, momentum=0.9)
    ob2.load_state({k: v.copy() for k, v in ob.state_arrays().items()})
    for g in gs[2:]:
        ob2.step({"w": g})
    assert np.abs(a["w"] - b["w"]).max() < 1e-15 and np.abs(a["w"]).max() > 0


def test_clip_grad_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert nn.clip_grad_norm(grads, 1.0) == pytest.approx(5.0)
    assert nn.global_norm(grads) == pytest.approx(1.0, rel=1e-5)
    grads = {"a": np.array([0.3, 0.4])}
    nn.clip_grad_norm(grads, 1.0)
    assert np.allclose(grads["a"], [0.3, 0.4])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_full_lm_gradient_float64(cell):
    """embedding -> 2-layer stack with a fixed dropout mask -> dense -> weighted softmax CE, end to end."""
    rng = np.random.default_rng(7)
    T, B, V, E, H = 3, 2, 6, 3, 4
    params = {}
    emb = nn.Embedding(params, "e", V, E, rng=rng, dtype=np.float64)
    rnn = nn.Recurrent(params, "r", cell, E, H, layers=2, dropout=0.5, rng=rng, dtype=np.float64)
    out = nn.Dense(params, "o", H, V, rng=rng, dtype=np.float64)
    ids = rng.integers(0, V, (T, B))
    targets = rng.integers(0, V, (T, B))
    weights = rng.random((T, B))
    drops = [nn.dropout_mask(rng, (T, B, H), 0.5, np.float64)]

    def run():
        x, ec = emb.forward(ids)
        y, _, rc = rnn.forward(x, train=True, dropout_masks=drops)
        logits, oc = out.forward(y)
        loss, d = nn.softmax_cross_entropy(logits.reshape(-1, V), targets.reshape(-1), weights.reshape(-1))
        return loss, d.reshape(logits.shape), ec, rc, oc

    loss, d, ec, rc, oc = run()
    grads = {}
    dy = out.backward(d, oc, grads)
    dx, _ = rnn.backward(dy, rc, grads)
    emb.backward(dx, ec, grads)
    assert set(grads) == set(params)
    for name in params:
        assert_grad(lambda: run()[0], params[name], grads[name], name=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_tiny_lm_memorises_text_float32(cell):
    """Adam + clipping + truncated BPTT on a short text: the loss must fall close to zero."""
    text = "hello world, hello rnn. "
    chars = sorted(set(text))
    data = np.array([chars.index(ch) for ch in text * 4], np.int32)
    V, T, B = len(chars), 8, 4
    rng = np.random.default_rng(8)
    params = {}
    emb = nn.Embedding(params, "e", V, 8, rng=rng)
    rnn = nn.Recurrent(params, "r", cell, 8, 32, rng=rng)
    out = nn.Dense(params, "o", 32, V, rng=rng)
    opt = nn.Adam(params, lr=0.02)
    n = (len(data) - 1) // B
    streams = np.stack([data[i * n:(i + 1) * n + 1] for i in range(B)], axis=1)  # (n+1, B)
    first = last = None
    for _epoch in range(60):
        state = rnn.zero_state(B)
        losses = []
        for s in range(0, n - T + 1, T):
            x, ec = emb.forward(streams[s:s + T])
            y, state, rc = rnn.forward(x, state)
            logits, oc = out.forward(y)
            loss, d = nn.softmax_cross_entropy(logits.reshape(-1, V), streams[s + 1:s + T + 1].reshape(-1))
            grads = {}
            dx, _ = rnn.backward(out.backward(d.reshape(logits.shape), oc, grads), rc, grads)
            emb.backward(dx, ec, grads)
            nn.clip_grad_norm(grads, 5.0)
            opt.step(grads)
            losses.append(loss)
        first = first if first is not None else np.mean(losses)
        last = np.mean(losses)
    assert first > 2.0 and last < 0.35, (first, last)


def test_parallel_matmul_equals_numpy_for_every_thread_count():
    rng = np.random.default_rng(9)
    a = rng.normal(size=(300, 70)).astype(np.float32)
    b = rng.normal(size=(70, 130)).astype(np.float32)
    c = rng.normal(size=(300, 130)).astype(np.float32)
    old = nn.get_threads()
    try:
        for n in (1, 2, 3):
            nn.set_threads(n)
            got = nn.matmul(a, b)
            assert got.shape == (300, 130) and np.abs(got - a @ b).max() < 1e-4
            out = np.empty((70, 130), np.float32)
            nn.matmul(a.T, c, out=out)          # a transposed view, written into out
            assert np.abs(out - a.T @ c).max() < 1e-3
    finally:
        nn.set_threads(old)


def _threaded_product_in_child(a, b, results):
    results.put(float(np.abs(nn.matmul(a, b) - a @ b).max()))


def test_a_forked_child_runs_the_engine_with_its_own_pool():
    """The engine's pool, started here with two threads, is not the child's: a forked child (a worker of
    ``parallel.ordered_map``) that handed work to the inherited pool waited forever, its threads being
    the parent's."""
    import multiprocessing

    rng = np.random.default_rng(11)
    a = rng.normal(size=(4096, 256)).astype(np.float32)    # large enough to be split across the workers
    b = rng.normal(size=(256, 512)).astype(np.float32)
    old = nn.get_threads()
    ctx = multiprocessing.get_context("fork")
    try:
        nn.set_threads(2)
        nn.matmul(a, b)                   # the pool's threads started in this process
        results = ctx.Queue()
        child = ctx.Process(target=_threaded_product_in_child, args=(a, b, results))
        child.start()
        child.join(120)                   # a hang guard, not a timing: the work takes milliseconds
        hung = child.exitcode is None
        if hung:
            child.kill()
            child.join()
        assert not hung and child.exitcode == 0
        assert results.get(timeout=10) < 1e-3
    finally:
        nn.set_threads(old)


def test_blas_thread_helpers_do_not_fail():
    import threading

    from rnntools.nn import blas
    before = blas.blas_threads()
    worker = threading.Thread(target=blas.set_thread_local_blas_threads, args=(1,))
    worker.start()
    worker.join()
    # some OpenBLAS builds report the "local" count process-wide afterwards (seen with the OpenBLAS
    # 0.3.30 and 0.3.31 wheels); the helper must not fail either way, and products must still be right
    after = blas.blas_threads()
    assert len(after) == len(before) and all(n >= 1 for n in after)
    a = np.ones((64, 64), np.float32)
    assert float((a @ a)[0, 0]) == 64.0
    blas.set_blas_threads(max(before))


def test_sgd_matches_reference():
    rng = np.random.default_rng(10)
    p0 = rng.normal(size=7)
    gs = [rng.normal(size=7) for _ in range(4)]
    params = {"w": p0.copy()}
    opt = nn.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.01)
    ref, buf = p0.copy(), np.zeros(7)
    for g in gs:
        opt.step({"w": g})
        d = g + 0.01 * ref
        buf = 0.9 * buf + d
        ref -= 0.05 * buf
    assert np.abs(params["w"] - ref).max() < 1e-14


def test_embedding_scatter_add_matches_numpy_add_at():
    rng = np.random.default_rng(11)
    params = {}
    emb = nn.Embedding(params, "e", 9, 4, rng=rng, dtype=np.float64)
    ids = rng.integers(0, 9, (6, 5))
    dout = rng.normal(size=(6, 5, 4))
    grads = {}
    emb.backward(dout, ids, grads)
    ref = np.zeros((9, 4))
    np.add.at(ref, ids.reshape(-1), dout.reshape(-1, 4))
    assert np.abs(grads["e.W"] - ref).max() < 1e-12


@pytest.mark.parametrize("K_, M, N", [(5, 3, 4), (3200, 64, 256), (1000, 7, 9)])
def test_matmul_tn_reference(K_, M, N):
    """a.T @ b with the shared dimension split across the workers and the partial products added."""
    from rnntools.nn.parallel import matmul_tn
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(K_, M)), rng.normal(size=(K_, N))
    out = np.full((M, N), np.nan)
    assert matmul_tn(a, b, out=out) is out
    assert np.abs(out - a.T @ b).max() < 1e-10
    assert np.abs(matmul_tn(a.astype(np.float32), b.astype(np.float32)) - a.T @ b).max() < 1e-3


@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_tn_of_listed_rows_is_the_product_of_those_rows(threads):
    """``rows=``: a.T @ b over the listed rows only (gathered, split across the workers), float64 to
    round-off; the other rows may hold anything; no rows gives zeros."""
    from rnntools.nn.parallel import get_threads, matmul_tn, set_threads

    before = get_threads()
    set_threads(threads)
    try:
        rng = np.random.default_rng(8)
        for K_, M, N in [(9, 3, 4), (3000, 64, 256), (2000, 257, 33)]:
            a, b = rng.normal(size=(K_, M)), rng.normal(size=(K_, N))
            rows = np.flatnonzero(rng.random(K_) < 0.8)
            want = a[rows].T @ b[rows]
            out = np.full((M, N), np.nan)
            assert matmul_tn(a, b, out=out, rows=rows) is out
            assert np.abs(out - want).max() < 1e-10 * max(1.0, np.abs(want).max())
            got32 = matmul_tn(a.astype(np.float32), b.astype(np.float32), rows=rows)
            assert got32.dtype == np.float32 and np.abs(got32 - want).max() < 1e-3 * max(1.0, np.abs(want).max())
            assert not np.any(matmul_tn(a, b, rows=np.array([], np.int64)))
    finally:
        set_threads(before)


def _dropout_fill_twin(seed: int, keep_bits: int, scale, n: int, dtype) -> np.ndarray:
    """``kernels.dropout_fill`` in plain numpy (uint64 arithmetic wraps as the kernel's)."""
    with np.errstate(over="ignore"):
        k = np.arange(n // 2 + n % 2, dtype=np.uint64)
        z = np.uint64(seed) + (k + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    h = n // 2
    u = np.concatenate([z[:h] & np.uint64(0xFFFFFFFF), z[:h] >> np.uint64(32), z[h:] & np.uint64(0xFFFFFFFF)])
    return np.where(u < np.uint64(keep_bits), dtype(scale), dtype(0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 7, 1000, 300001])
def test_dropout_fill_matches_its_numpy_twin(dtype, n):
    from rnntools.nn.gates import K

    for seed, keep_bits in ((0, 2 ** 31), (2 ** 64 - 1, 3435973837), (123456789, 0), (5, 2 ** 32)):
        out = np.full(n, np.nan, dtype)
        K.dropout_fill(np.uint64(seed), keep_bits, dtype(1.25), out)
        np.testing.assert_array_equal(out, _dropout_fill_twin(seed, keep_bits, 1.25, n, dtype))


def test_hashed_dropout_mask_keeps_units_at_the_rate_independently():
    """0 or 1/(1-p) in the dtype; the kept share near 1 - p; units, halves and successive masks uncorrelated;
    the same generator state gives the same mask; p = 0 keeps all."""
    rng = np.random.default_rng(4)
    masks = [nn.hashed_dropout_mask(rng, (12, 128, 256), 0.2, np.float32) for _ in range(3)]
    for m in masks:
        assert m.dtype == np.float32 and set(np.unique(m)) == {0, np.float32(1 / 0.8)}
        kept = (m > 0).reshape(-1)
        assert abs(kept.mean() - 0.8) < 0.004                        # 393,216 units: sd 0.0006
        h = kept.size // 2
        assert abs(np.corrcoef(kept[:h], kept[h:])[0, 1]) < 0.01    # the two halves of one hash
        assert abs(np.corrcoef(kept[:-1], kept[1:])[0, 1]) < 0.01   # neighbours
    assert abs(np.corrcoef((masks[0] > 0).ravel(), (masks[1] > 0).ravel())[0, 1]) < 0.01
    again = nn.hashed_dropout_mask(np.random.default_rng(4), (12, 128, 256), 0.2, np.float32)
    assert np.array_equal(again, masks[0])
    assert (nn.hashed_dropout_mask(rng, (3, 4), 0.0, np.float64) == 1).all()


def test_run_together_makes_the_calls_of_separate_run_rows_in_one_hand_off(monkeypatch):
    """Several row-split jobs in one hand-off: worker i runs range i of every job; each job's results are
    those of its own run_rows call (the same calls on the same ranges), and the pool gets one submission
    per range, not one per job and range."""
    from rnntools.nn import parallel as P

    def rows_sum(a, scale, r0, r1):
        return a[r0:r1].sum(axis=0) * scale

    def into(a, out, r0, r1):
        out[r0:r1] = 2 * a[r0:r1]
        return r1 - r0

    rng = np.random.default_rng(3)
    a = rng.standard_normal((1000, 16)).astype(np.float32)
    before = nn.get_threads()
    try:
        nn.set_threads(2)
        r2 = P.row_ranges(1000)
        r3 = [(0, 300), (300, 1000)]
        want = [P.run_rows(rows_sum, 1000, a, 3.0, ranges=r2), P.run_rows(into, 1000, a, ranges=r3,
                                                                       each=[(np.empty_like(a),)] * 2)]
        submitted = []
        pool = P._pool()
        monkeypatch.setattr(pool, "submit", lambda fn, *x: submitted.append(fn) or type(pool).submit(pool, fn, *x))
        out = np.empty_like(a)
        got = P.run_together([P.Job(rows_sum, (a, 3.0), r2), P.Job(into, (a,), r3, [(out,), (out,)])])
        assert len(submitted) == 2
        for g, w in zip(got[0], want[0]):
            np.testing.assert_array_equal(g, w)
        assert got[1] == [300, 700] and np.array_equal(out, 2 * a)
        with pytest.raises(ValueError, match="one tuple per range"):
            P.run_together([P.Job(into, (a,), r3, [(out,)])])
        nn.set_threads(1)
        assert P.run_together([P.Job(rows_sum, (a, 1.0), [(0, 1000)])])[0][0].shape == (16,)
    finally:
        nn.set_threads(before)


def test_recurrent_backward_hands_its_products_to_the_workers_at_once(monkeypatch):
    """After a layer's backward time loop, its two weight gradients, the bias's sums and the input gradient
    go to the workers in one hand-off, and give the bits of the four calls made one by one."""
    from rnntools.nn import parallel as P
    from rnntools.nn import recurrent as R

    rng = np.random.default_rng(4)
    params = {}
    rnn = nn.Recurrent(params, "r", "lstm", 256, 256, rng=rng)
    x = rng.standard_normal((40, 32, 256)).astype(np.float32)
    dy = rng.standard_normal((40, 32, 256)).astype(np.float32)
    before = nn.get_threads()
    try:
        nn.set_threads(2)
        with R.time_loop_split("rows"):
            _, _, cache = rnn.forward(x)
            calls = []
            together = P.run_together
            monkeypatch.setattr(R, "run_together", lambda jobs: calls.append(len(jobs)) or together(jobs))
            g1 = {}
            dx1, _ = rnn.backward(dy, cache, g1)
            assert calls == [4]

            def alone(jobs):     # each job in a hand-off of its own
                return [together([j])[0] for j in jobs]
            monkeypatch.setattr(R, "run_together", alone)
            g2 = {}
            dx2, _ = rnn.backward(dy, cache, g2)
        np.testing.assert_array_equal(dx1, dx2)
        for k in g1:
            np.testing.assert_array_equal(g1[k], g2[k])
    finally:
        nn.set_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_packed_steps_is_the_whole_product_row_for_row(dtype):
    """One worker's batch rows, step by step: each row the bits of the whole product (with and without a
    bias), numpy's product to round-off, and nothing outside the rows written."""
    from rnntools.nn.gates import K

    rng = np.random.default_rng(5)
    T, B, D, N = 7, 19, 33, 70
    x = rng.standard_normal((T, B, D)).astype(dtype)
    W = rng.standard_normal((D, N)).astype(dtype)
    bias = rng.standard_normal(N).astype(dtype)
    wp = K.pack_weights(W)
    whole = np.empty((T * B, N), dtype)
    K.matmul_packed_bias(x.reshape(T * B, D), wp, bias, whole)
    out = np.full((T, B, N), np.nan, dtype)
    K.matmul_packed_steps(x, wp, bias, out, 4, 15)
    np.testing.assert_array_equal(out[:, 4:15], whole.reshape(T, B, N)[:, 4:15])
    assert np.isnan(out[:, :4]).all() and np.isnan(out[:, 15:]).all()
    assert np.abs(out[:, 4:15] - (x[:, 4:15] @ W + bias)).max() < (1e-4 if dtype == np.float32 else 1e-12)
    K.matmul_packed_steps(x, wp, bias[:0], out, 0, B)
    nobias = np.empty((T * B, N), dtype)
    K.matmul_packed(x.reshape(T * B, D), wp, nobias)
    np.testing.assert_array_equal(out, nobias.reshape(T, B, N))
