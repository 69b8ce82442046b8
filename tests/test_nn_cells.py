"""Recurrent cells and stacks: numpy references, float64 gradient checks, masking, BPTT, single step."""

import numpy as np
import pytest
from gradcheck import assert_grad, rel_error

from rnntools import nn

T, B, D, H = 3, 2, 4, 5
CELLS = ["rnn", "lstm", "gru"]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def ref_cell(cell, W, b, bn, x, h0, c0=None, mask=None):
    """Plain numpy forward straight from the equations, one step at a time."""
    Hn = W.shape[0] - x.shape[2]
    h, c = h0.copy(), (c0.copy() if c0 is not None else np.zeros_like(h0))
    ys = []
    for t in range(x.shape[0]):
        z = np.concatenate([h, x[t]], axis=1)
        if cell == "rnn":
            hn, cn = np.tanh(z @ W + b), c
        elif cell == "lstm":
            a = z @ W + b
            f, i, o = sigmoid(a[:, :Hn]), sigmoid(a[:, Hn:2 * Hn]), sigmoid(a[:, 2 * Hn:3 * Hn])
            g = np.tanh(a[:, 3 * Hn:])
            cn = f * c + i * g
            hn = o * np.tanh(cn)
        else:
            a = z @ W + b
            r, u = sigmoid(a[:, :Hn]), sigmoid(a[:, Hn:2 * Hn])
            n = np.tanh(x[t] @ W[Hn:, 2 * Hn:] + b[2 * Hn:] + r * (h @ W[:Hn, 2 * Hn:] + bn))
            hn, cn = (1 - u) * n + u * h, c
        m = np.ones((h.shape[0], 1)) if mask is None else (mask[t][:, None] != 0)
        h = np.where(m, hn, h)
        c = np.where(m, cn, c)
        ys.append(np.where(m, hn, 0.0))
    return np.stack(ys), h, c


def make(cell, layers=1, dtype=np.float64, seed=0, dropout=0.0):
    rng = np.random.default_rng(seed)
    params = {}
    rnn = nn.Recurrent(params, "rnn", cell, D, H, layers=layers, dropout=dropout, rng=rng, dtype=dtype)
    for k in params:   # nonzero biases everywhere so every path is exercised
        params[k] += rng.normal(0, 0.1, params[k].shape).astype(dtype)
    return rnn, params, rng


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("masked", [False, True])
def test_forward_matches_numpy_reference(cell, masked):
    rnn, p, rng = make(cell)
    x = rng.normal(size=(T, B, D))
    state = tuple(rng.normal(size=s.shape) for s in rnn.zero_state(B))
    mask = np.array([[1, 1], [1, 0], [0, 0]], float) if masked else None
    y, st, _ = rnn.forward(x, state, mask)
    ry, rh, rc = ref_cell(cell, p["rnn.0.W"], p["rnn.0.b"], p.get("rnn.0.bn"), x, state[0][0],
                          state[1][0] if cell == "lstm" else None, mask)
    assert np.abs(y - ry).max() < 1e-12
    assert np.abs(st[0][0] - rh).max() < 1e-12
    if cell == "lstm":
        assert np.abs(st[1][0] - rc).max() < 1e-12


def test_lstm_forget_bias_is_one():
    rnn = nn.Recurrent({}, "r", "lstm", D, H)
    assert np.all(rnn.params["r.0.b"][:H] == 1) and np.all(np.abs(rnn.params["r.0.b"][H:]) < 1)


def _loss_fn(rnn, x, state, mask, wy, ws, dropout_masks=None):
    """A scalar of outputs and final state with fixed random weights (so every output matters)."""
    def f():
        y, st, _ = rnn.forward(x, state, mask, train=dropout_masks is not None, dropout_masks=dropout_masks)
        return float(np.sum(y * wy) + sum(np.sum(s * w) for s, w in zip(st, ws)))
    return f


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers,masked", [(1, False), (2, False), (2, True)])
def test_gradients(cell, layers, masked):
    rnn, p, rng = make(cell, layers)
    x = rng.normal(size=(T, B, D))
    state = tuple(rng.normal(size=s.shape) for s in rnn.zero_state(B))
    mask = np.array([[1, 1], [1, 1], [1, 0]], float) if masked else None
    wy = rng.normal(size=(T, B, H))
    ws = tuple(rng.normal(size=s.shape) for s in state)
    drops = [nn.dropout_mask(rng, (T, B, H), 0.3, np.float64) for _ in range(layers - 1)] if layers > 1 else None
    f = _loss_fn(rnn, x, state, mask, wy, ws, drops)
    y, st, cache = rnn.forward(x, state, mask, train=drops is not None, dropout_masks=drops)
    grads = {}
    dx, dstate0 = rnn.backward(wy, cache, grads, dstate=ws)
    for name in rnn.names():
        assert_grad(f, p[name], grads[name], name=name)
    assert_grad(f, x, dx, name="x")
    for s, ds in zip(state, dstate0):
        assert_grad(f, s, ds, name="initial state")


@pytest.mark.parametrize("cell", CELLS)
def test_masked_batch_equals_one_by_one(cell):
    """A padded batch gives each row's own outputs, final state and the summed gradients."""
    rnn, p, rng = make(cell, layers=2)
    lengths = [3, 1, 2]
    Bn = len(lengths)
    x = rng.normal(size=(T, Bn, D))
    mask = (np.arange(T)[:, None] < np.array(lengths)[None, :]).astype(float)
    wy = rng.normal(size=(T, Bn, H)) * mask[:, :, None]
    wh = rng.normal(size=(2, Bn, H))
    y, st, cache = rnn.forward(x, None, mask)
    grads = {}
    dstate = (wh, np.zeros_like(wh)) if cell == "lstm" else (wh,)
    rnn.backward(wy, cache, grads, dstate=dstate)
    total = {k: np.zeros_like(v) for k, v in grads.items()}
    for i, n in enumerate(lengths):
        yi, sti, ci = rnn.forward(x[:n, i:i + 1])
        assert np.abs(yi - y[:n, i:i + 1]).max() < 1e-12
        assert np.all(y[n:, i] == 0)
        assert np.abs(sti[0] - st[0][:, i:i + 1]).max() < 1e-12
        g = {}
        ds = (wh[:, i:i + 1], np.zeros((2, 1, H))) if cell == "lstm" else (wh[:, i:i + 1],)
        rnn.backward(wy[:n, i:i + 1], ci, g, dstate=ds)
        for k in total:
            total[k] += g[k]
    for k in total:
        assert rel_error(total[k], grads[k]) < 1e-12, k


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_with_carried_state(cell):
    """Two consecutive segments: the state carried from the first into the second, gradients flowing back
    through it (dstate of segment 2 into segment 1), equal the gradients of the whole sequence."""
    rnn, p, rng = make(cell, layers=2)
    x = rng.normal(size=(2 * T, B, D))
    wy = rng.normal(size=(2 * T, B, H))
    f = _loss_fn(rnn, x, None, None, wy, ())
    y, _, cache = rnn.forward(x)
    whole = {}
    rnn.backward(wy, cache, whole)
    y1, s1, c1 = rnn.forward(x[:T])
    y2, s2, c2 = rnn.forward(x[T:], s1)
    assert np.abs(np.concatenate([y1, y2]) - y).max() < 1e-12
    seg = {}
    _, ds1 = rnn.backward(wy[T:], c2, seg)
    rnn.backward(wy[:T], c1, seg, dstate=ds1)
    for name in rnn.names():
        assert rel_error(seg[name], whole[name]) < 1e-12
        assert_grad(f, p[name], seg[name], name=name)


def test_submit_runs_a_call_on_a_worker_and_raises_where_its_result_is_asked():
    """submit: with two workers the call runs on one (its engine work in that thread, as run_each's items),
    with one worker at once in the calling thread; a future either way, its exception raised by result()."""
    import threading

    from rnntools.nn import parallel as P

    rng = np.random.default_rng(7)
    a = rng.standard_normal((700, 128)).astype(np.float32)
    w = rng.standard_normal((128, 200)).astype(np.float32)

    def work(x):
        return P.matmul(x, w), threading.current_thread().name

    def broken():
        raise ValueError("from the call")

    before = nn.get_threads()
    try:
        for threads in (2, 1):
            nn.set_threads(threads)
            product, name = P.submit(work, a).result()
            np.testing.assert_array_equal(product, work(a)[0])
            assert name.startswith("rnntools-nn") == (threads == 2), (threads, name)
            failed = P.submit(broken)
            with pytest.raises(ValueError, match="from the call"):
                failed.result()
    finally:
        nn.set_threads(before)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_equals_sequence_forward(cell, dtype):
    rnn, p, rng = make(cell, layers=2, dtype=dtype)
    x = rng.normal(size=(T, B, D)).astype(dtype)
    Wo, bo = rng.normal(size=(H, 7)).astype(dtype), rng.normal(size=7).astype(dtype)
    y, st, _ = rnn.forward(x)
    state = None
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for t in range(T):
        out, state = rnn.step(x[t], state)
        assert out.dtype == dtype
        assert np.abs(out - y[t]).max() < tol
    for a, b in zip(state, st):
        assert np.abs(a - b).max() < tol
    logits, _ = rnn.step(x[0], None, Wo, bo)
    y0, _, _ = rnn.forward(x[:1])
    assert np.abs(logits - (y0[0] @ Wo + bo)).max() < 10 * tol


@pytest.mark.parametrize("cell", CELLS)
def test_float32_runs_and_agrees_with_float64(cell):
    rnn64, p64, rng = make(cell, layers=2)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    rnn32 = nn.Recurrent(p32, "rnn", cell, D, H, layers=2)
    x = rng.normal(size=(T, B, D))
    y64, _, c64 = rnn64.forward(x)
    y32, _, c32 = rnn32.forward(x.astype(np.float32))
    assert y32.dtype == np.float32 and np.abs(y32 - y64).max() < 1e-5
    g32, g64 = {}, {}
    rnn32.backward(np.ones_like(y32), c32, g32)
    rnn64.backward(np.ones_like(y64), c64, g64)
    for k in g64:
        assert g32[k].dtype == np.float32 and rel_error(g32[k], g64[k]) < 1e-5


def test_threaded_rows_equal_single_thread():
    rnn, p, rng = make("lstm", layers=1)
    Bn = 40
    x = rng.normal(size=(T, Bn, D))
    mask = (rng.random((T, Bn)) < 0.8).astype(float)
    wy = rng.normal(size=(T, Bn, H))
    old = nn.get_threads()
    try:
        results = []
        for n in (1, 3):
            nn.set_threads(n)
            y, st, c = rnn.forward(x, None, mask)
            g = {}
            dx, _ = rnn.backward(wy, c, g)
            results.append((y, dx, g))
    finally:
        nn.set_threads(old)
    (y1, dx1, g1), (y2, dx2, g2) = results
    assert np.array_equal(y1, y2) and np.abs(dx1 - dx2).max() < 1e-12
    for k in g1:
        assert rel_error(g1[k], g2[k]) < 1e-12


@pytest.mark.parametrize("batch", [1, 3, 9])
def test_step_small_and_large_batches_match_forward(batch):
    """step_forward uses hand-written products up to kernels.SMALL_BATCH rows and BLAS above."""
    rng = np.random.default_rng(3)
    params = {}
    rnn = nn.Recurrent(params, "r", "lstm", 7, 6, layers=2, rng=rng, dtype=np.float64)
    x = rng.normal(size=(2, batch, 7))
    Wo, bo = rng.normal(size=(6, 5)), rng.normal(size=5)
    y, st, _ = rnn.forward(x)
    out1, s1 = rnn.step(x[0], None)
    logits, s2 = rnn.step(x[1], s1, Wo, bo)
    assert np.abs(out1 - y[0]).max() < 1e-12
    assert np.abs(logits - (y[1] @ Wo + bo)).max() < 1e-12
    assert np.abs(s2[1] - st[1]).max() < 1e-12


def test_small_matmul_reference():
    from rnntools.nn.kernels import small_matmul
    rng = np.random.default_rng(4)
    for K_ in (1, 4, 7, 13):
        x, W = rng.normal(size=(3, K_)), rng.normal(size=(K_, 10))
        out = np.full((3, 10), np.nan)
        small_matmul(x, W, out)
        assert np.abs(out - x @ W).max() < 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dot_nt_reference(dtype):
    """The time loops' per-step product against numpy, over every remainder of the 4x4 blocking."""
    from rnntools.nn.kernels import dot_nt
    rng = np.random.default_rng(5)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    for M, K_, N in [(1, 1, 1), (2, 3, 4), (3, 5, 7), (16, 64, 256), (5, 33, 10), (7, 256, 13)]:
        a = rng.normal(size=(M, K_)).astype(dtype)
        bt = rng.normal(size=(N, K_)).astype(dtype)
        out = np.full((M, N), np.nan, dtype)
        dot_nt(a, bt, out)
        assert out.dtype == dtype
        assert np.abs(out - a @ bt.T).max() < tol * np.sqrt(K_)
    a = np.array([[1.0, np.nan], [1.0, 1.0]], dtype)
    out = np.zeros((2, 4), dtype)
    dot_nt(a, np.ones((4, 2), dtype), out)
    assert np.isnan(out[0]).all() and (out[1] == 2).all()   # NaN propagates: no fast-math nnan


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_panel_matmul_reference(dtype):
    """The time loops' register-blocked product against numpy, over remainders of rows (MR) and of panel
    columns (the zero-padded last panel), with row-strided operands as the kernels pass them."""
    from rnntools.nn.kernels import pack_panels, pack_weights, panel_matmul, panel_width
    rng = np.random.default_rng(6)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    NB = panel_width(np.zeros((1, 1), dtype))
    for M, K_, N in [(1, 1, 1), (2, 3, 4), (3, 5, 7), (16, 64, 256), (5, 33, 10), (7, 256, 13), (9, 17, NB + 3)]:
        a = rng.normal(size=(M + 2, K_ + 1)).astype(dtype)[1:M + 1, :K_]    # rows strided, not contiguous
        bt = rng.normal(size=(N, K_)).astype(dtype)
        wp = pack_panels(bt)
        assert wp.shape == (-(-N // NB), K_, NB)
        np.testing.assert_array_equal(pack_weights(np.ascontiguousarray(bt.T)), wp)  # the same panels, from W
        out = np.full((M, wp.shape[0] * NB), np.nan, dtype)
        panel_matmul(np.ascontiguousarray(a) if M == 1 else a, wp, out)
        assert np.abs(out[:, :N] - a @ bt.T).max() < tol * np.sqrt(K_)
        assert (out[:, N:] == 0).all()
    a = np.array([[1.0, np.nan], [1.0, 1.0]], dtype)
    out = np.zeros((2, NB), dtype)
    panel_matmul(a, pack_panels(np.ones((4, 2), dtype)), out)
    assert np.isnan(out[0, :4]).all() and (out[1, :4] == 2).all()   # NaN propagates


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_packed_reference_and_nothing_written_past_n(dtype):
    """The engine's product on weights packed from W itself, against numpy, over remainders of rows and of
    columns (the partial last panel goes through scratch: the column after N is never touched)."""
    from rnntools.nn.kernels import matmul_packed, pack_weights, panel_width
    rng = np.random.default_rng(9)
    NB = panel_width(np.zeros((1, 1), dtype))
    tol = 1e-12 if dtype == np.float64 else 1e-4
    for M, K_, N in [(1, 1, 1), (3, 5, 7), (16, 64, 2 * NB), (9, 33, NB + 3), (5, 0, 4), (0, 3, 4)]:
        a = rng.normal(size=(M, K_)).astype(dtype)
        W = rng.normal(size=(K_, N)).astype(dtype)
        buf = np.full((M, N + 1), 7.0, dtype)
        out = buf[:, :N]
        matmul_packed(a, pack_weights(W), out)
        assert np.abs(out - a @ W).max(initial=0) < tol * np.sqrt(max(K_, 1))
        assert (buf[:, N] == 7.0).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_packed_in_row_chunks_gives_each_row_its_bits_and_adds_the_bias_once(dtype):
    """Products of more rows than one chunk (``kernels._chunk_rows``: every panel over a chunk of rows, then
    the next chunk): each row gets the bits it gets alone, whatever chunk it falls in, with a partial last
    panel; ``matmul_packed_bias`` gives the product's bits plus the bias added once, as numpy adds it
    after the product; nothing is written past column N."""
    from rnntools.nn.kernels import matmul_packed, matmul_packed_bias, pack_weights, panel_width
    rng = np.random.default_rng(12)
    NB = panel_width(np.zeros((1, 1), dtype))
    for M, K_ in [(600, 40), (130, 3000)]:       # chunks of 256 rows; of 32 rows (K large)
        N = 2 * NB + 5
        a = rng.normal(size=(M, K_)).astype(dtype)
        W = rng.normal(size=(K_, N)).astype(dtype)
        bias = rng.normal(size=N).astype(dtype)
        wp = pack_weights(W)
        buf = np.full((M, N + 1), 7.0, dtype)
        matmul_packed(a, wp, buf[:, :N])
        assert (buf[:, N] == 7.0).all()
        whole = buf[:, :N].copy()
        assert np.abs(whole - a @ W).max() < (1e-12 if dtype == np.float64 else 1e-4) * np.sqrt(K_)
        for r in sorted({0, 31, 32, 33, 255, 256, M - 1} & set(range(M))):
            alone = np.empty((1, N), dtype)
            matmul_packed(a[r:r + 1], wp, alone)
            np.testing.assert_array_equal(alone[0], whole[r])
        buf[:] = 7.0
        matmul_packed_bias(a, wp, bias, buf[:, :N])
        np.testing.assert_array_equal(buf[:, :N], whole + bias)
        assert (buf[:, N] == 7.0).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_gives_a_row_the_same_bits_in_any_batch(dtype):
    """``nn.parallel.matmul`` (dense layers, input projections): a row's result does not depend on the rows
    beside it, their number, its position or the workers (what makes predictions independent of batching
    and of ``--scheduler`` partitions); with a bias, with a transposed right operand, on one and two threads."""
    from rnntools.nn.parallel import get_threads, matmul, set_threads
    rng = np.random.default_rng(10)
    a = rng.normal(size=(300, 70)).astype(dtype)
    W = rng.normal(size=(70, 45)).astype(dtype)
    bias = rng.normal(size=45).astype(dtype)
    before = get_threads()
    try:
        for threads in (1, 2):
            set_threads(threads)
            whole = matmul(a, W, bias=bias)
            assert np.abs(whole - (a @ W + bias)).max() < (1e-12 if dtype == np.float64 else 1e-4) * 10
            perm = rng.permutation(300)
            np.testing.assert_array_equal(matmul(a[perm], W, bias=bias), whole[perm])
            for m in (1, 5, 13, 37):
                np.testing.assert_array_equal(matmul(a[m:2 * m + 1], W, bias=bias), whole[m:2 * m + 1])
            Wt = np.ascontiguousarray(W.T)
            np.testing.assert_array_equal(matmul(a[perm], Wt.T), matmul(a, W)[perm])
            # only listed rows (padding left out): their bits, the others untouched; or added to out
            for rows in (np.array([3]), np.sort(perm[:37]), np.sort(perm[:250]), perm[:250]):
                out = np.full((300, 45), 7.0, dtype)
                matmul(a, W, out=out, bias=bias, rows=rows)
                np.testing.assert_array_equal(out[rows], whole[rows])
                rest = np.setdiff1d(np.arange(300), rows)
                assert (out[rest] == 7.0).all()
                np.testing.assert_array_equal(matmul(a, Wt.T, rows=rows)[rows], matmul(a, W)[rows])
                acc = rng.normal(size=(300, 45)).astype(dtype)
                want = acc.copy()
                want[rows] += matmul(a, W)[rows]
                matmul(a, W, out=acc, rows=rows, add=True)
                np.testing.assert_array_equal(acc, want)
    finally:
        set_threads(before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matvec_packed_is_matvec_bit_for_bit(dtype):
    """Generation's product on packed column panels gives ``matvec``'s bits (its summation order), over
    remainders of K (rows past the last four) and of N (the zero-padded last panel); both against numpy.
    A NaN in x spreads to every output as in IEEE arithmetic."""
    from rnntools.nn.kernels import matvec, matvec_packed, matvec_width, pack_columns
    rng = np.random.default_rng(8)
    NB = matvec_width(np.zeros((1, 1), dtype))
    for K_, N in [(1, 1), (3, 5), (4, NB), (7, NB + 1), (64, 3 * NB - 1), (130, 77), (256, 768)]:
        W = rng.normal(size=(K_, N)).astype(dtype)
        x = rng.normal(size=K_).astype(dtype)
        wp = pack_columns(W)
        assert wp.shape == (-(-N // NB), K_, NB)
        want = np.empty(N, dtype)
        matvec(x, W, want)
        out = np.full(wp.shape[0] * NB, np.nan, dtype)
        matvec_packed(x, wp, out)
        np.testing.assert_array_equal(out[:N].view(np.uint8), want.view(np.uint8))
        assert (out[N:] == 0).all()
        assert np.abs(want - x.astype(np.float64) @ W).max() < (1e-12 if dtype == np.float64 else 1e-4) * np.sqrt(K_)
    x[1] = np.nan
    matvec_packed(x, wp, out)
    assert np.isnan(out[:N]).all()
    with pytest.raises(ValueError):
        matvec_packed(x, wp, out[:-1])       # too short an output is refused, never written past its end


def test_vector_bytes_follows_numba_target():
    """The blocking follows the features numba compiles with; those override the CPU name."""
    from rnntools.nn.kernels import vector_blocking, vector_bytes
    assert vector_bytes("sapphirerapids", "") == 64
    assert vector_bytes("haswell", "+avx,+avx2,+fma,-avx512f") == 32
    assert vector_bytes("haswell", "+avx2,+avx512f") == 64           # NUMBA_CPU_NAME alone on an AVX-512 host
    assert vector_bytes("znver1", "-avx512f") == 32
    assert vector_bytes("x86-64", "") == 16
    assert vector_blocking(64, 4) == (8, 16, 3) and vector_blocking(32, 4) == (4, 8, 3)
    assert vector_blocking(32, 8) == (4, 4, 3)
    assert vector_blocking(64, 4, half_width_fma=True) == (4, 16, 4)    # AVX-512 on 256-bit FMA units


def test_blocking_follows_the_fma_width():
    """The target's CPU name picks the AVX-512 blocking: full-width FMA units 8 x 3, half-width (Zen 4) 4 x 4."""
    from rnntools.nn import kernels

    class Codegen:
        def __init__(self, name):
            self._name = name
            self._tm_features = "+avx2,+avx512f"

        def _get_host_cpu_name(self):
            return self._name

    class Context:
        def __init__(self, name):
            self._codegen = Codegen(name)

        def codegen(self):
            return self._codegen

    assert kernels._target_blocking(Context("sapphirerapids"), 4) == (8, 16, 3)
    assert kernels._target_blocking(Context("znver4"), 4) == (4, 16, 4)
    assert kernels._target_blocking(Context("znver5"), 4) == (8, 16, 3)


@pytest.mark.slow
def test_kernels_on_avx2_target(tmp_path):
    """The numpy-reference and gradient checks again with numba compiling for an AVX2 CPU (Haswell, no
    AVX-512), in a subprocess with its own numba cache, so both instruction sets' blockings are tested on
    whichever machine runs the suite."""
    import os
    import subprocess
    import sys
    import tempfile

    cache = os.path.join(tempfile.gettempdir(), f"rnntools-numba-avx2-{os.getuid()}")
    env = {**os.environ, "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "-avx512f",
           "NUMBA_CACHE_DIR": cache}
    env.pop("NUMBA_DISABLE_JIT", None)
    here = os.path.dirname(os.path.abspath(__file__))
    probe = ("import numpy as np; from rnntools.nn.kernels import matvec_width, panel_width; "
             "assert panel_width(np.zeros((1, 1), np.float32)) == 24, panel_width(np.zeros((1, 1), np.float32)); "
             "assert matvec_width(np.zeros((1, 1), np.float32)) == 32, matvec_width(np.zeros((1, 1), np.float32))")
    subprocess.run([sys.executable, "-c", probe], env=env, check=True, cwd=os.path.dirname(here))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", __file__, "-k",
         "panel_matmul or matmul_packed or same_bits_in_any_batch or matvec_packed or forward_matches or (gradients and not table) or step_small"],
        env=env, capture_output=True, text=True, cwd=os.path.dirname(here))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("V, Bn", [(3, 3), (40, 3), (3, 20)])   # V 3: read by id (V small against T*B);
def test_table_input_equals_gathered_input(cell, V, Bn):          # 40: gathered first; Bn 20: two workers
    """forward(table, ids=...) is the forward of table[ids]; its backward returns the table's gradient, the
    scatter-add of the input gradient, and the same parameter gradients. With Bn 20 on two workers, each
    worker sums its own rows' input gradients per id inside the time loop, and the partial sums add up."""
    nn.set_threads(2)
    rnn, p, rng = make(cell, layers=2)
    Tn = 5
    table = rng.normal(size=(V, D))
    ids = rng.integers(0, V, (Tn, Bn))
    ids[:, 0] = 1                       # repeated ids: their gradients must add up
    mask = np.ones((Tn, Bn))
    mask[3:, 2] = 0
    assert len(nn.parallel.row_ranges(Bn)) == (2 if Bn == 20 else 1)
    state = tuple(rng.normal(size=s.shape) for s in rnn.zero_state(Bn))
    dy = rng.normal(size=(Tn, Bn, H))
    y1, s1, c1 = rnn.forward(table, state, mask, ids=ids)
    y2, s2, c2 = rnn.forward(table[ids], state, mask)
    assert rel_error(y1, y2) < 1e-12 and rel_error(s1[0], s2[0]) < 1e-12
    g1, g2 = {}, {}
    dtable, d01 = rnn.backward(dy, c1, g1)
    dx, d02 = rnn.backward(dy, c2, g2)
    expected = np.zeros_like(table)
    np.add.at(expected, ids, dx)
    assert dtable.shape == table.shape and rel_error(dtable, expected) < 1e-12
    for k in g2:
        assert rel_error(g1[k], g2[k]) < 1e-12, k
    assert rel_error(d01[0], d02[0]) < 1e-12


@pytest.mark.parametrize("units", [False, True])
def test_gru_table_backward_without_dax_is_the_same_bits(units):
    """A GRU reading a table by id keeps no dAx (its input-side gradient is summed per id only, through a
    scratch row): dAh, the per-id sums and dh0 are the bits of the kernel writing the whole of dAx, whose
    per-id sums are what S holds; the row split and the unit split (two parts)."""
    from rnntools.nn.gates import GRU, K
    from rnntools.nn.recurrent import _barrier_flags

    rng = np.random.default_rng(4)
    Tn, Bn, V, Hn = 5, 4, 3, 6
    GH = 3 * Hn
    Wh = rng.normal(size=(Hn, GH)).astype(np.float32)
    G = rng.uniform(0.1, 0.9, (Tn, Bn, GH)).astype(np.float32)
    Rn, dY = (rng.normal(size=(Tn, Bn, Hn)).astype(np.float32) for _ in range(2))
    Hfull = rng.normal(size=(Tn + 1, Bn, Hn)).astype(np.float32)
    mask = np.ones((Tn, Bn), np.float32)
    mask[3:, 1] = 0
    dhT = rng.normal(size=(Bn, Hn)).astype(np.float32)
    ids = rng.integers(0, V, (Tn, Bn)).astype(np.int64)
    c0 = np.zeros((Bn, Hn), np.float32)
    Cs = np.empty((1, 1, 1), np.float32)     # LSTM only
    apos = np.arange(Tn * Bn, dtype=np.int64).reshape(Tn, Bn)
    out = {}
    for keep in (True, False):
        dAx = np.empty((Tn, Bn, GH) if keep else (0, 1, GH), np.float32)
        dAh = np.full((Tn, Bn, GH), np.nan, np.float32)
        dh0 = np.empty((Bn, Hn), np.float32)
        dc0 = np.zeros((Bn, Hn), np.float32)
        if units:
            S = np.zeros((1, V, GH), np.float32)
            flags = _barrier_flags(2)
            import threading
            parts = [threading.Thread(target=K.seq_backward_units, args=(
                GRU, Wh, c0, mask, Hfull, Cs, G, Rn, dY, dhT, dhT, u0, u1, dAx, dAh.reshape(-1, GH), apos, dh0, dc0, ids, S,
                np.zeros(Bn, np.int64), flags, part, 2)) for part, (u0, u1) in enumerate([(0, 3), (3, Hn)])]
            for t in parts:
                t.start()
            for t in parts:
                t.join()
        else:
            S = np.zeros((V, GH), np.float32)
            K.seq_backward(GRU, Wh, Hfull[0], c0, mask, Hfull[1:], Cs, G, Rn, dY, dhT, dhT, 0, Bn, dAx,
                           dAh.reshape(-1, GH), apos, dh0, dc0, ids, S)
        out[keep] = (dAx, dAh, S, dh0)
    (dAx, dAh, S, dh0), (_, dAh2, S2, dh02) = out[True], out[False]
    np.testing.assert_array_equal(dAh2, dAh)
    np.testing.assert_array_equal(S2, S)
    np.testing.assert_array_equal(dh02, dh0)
    sums = np.zeros((V, GH), np.float64)
    np.add.at(sums, ids, dAx.astype(np.float64))
    np.testing.assert_allclose(S.reshape(V, GH), sums, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_table_input_gradients_finite_differences(cell):
    rnn, p, rng = make(cell)
    Tn, Bn, V = 4, 3, 2
    table = rng.normal(size=(V, D))
    ids = rng.integers(0, V, (Tn, Bn))
    dy = rng.normal(size=(Tn, Bn, H))

    def loss():
        return float((rnn.forward(table, None, ids=ids)[0] * dy).sum())

    grads = {}
    dtable, _ = rnn.backward(dy, rnn.forward(table, None, ids=ids)[2], grads)
    assert_grad(loss, table, dtable, name="table")
    for k in ("rnn.0.W", "rnn.0.b"):
        assert_grad(loss, p[k], grads[k], name=k)


def test_exp32_against_numpy():
    """The float32 exp of the softmax kernels (vectorised Cephes expf) against numpy's float64 exp."""
    from numba import njit

    from rnntools.nn.kernels import _exp

    @njit
    def exp_all(x, out):
        for i in range(x.shape[0]):
            out[i] = _exp(x[i])

    x = np.concatenate([np.linspace(-87, 88, 20001), [-1e30, 1e30, 0.0, -0.0]]).astype(np.float32)
    out = np.empty_like(x)
    exp_all(x, out)
    ref = np.exp(np.clip(x.astype(np.float64), -87, 88))
    assert np.max(np.abs(out - ref) / ref) < 5e-7
    exp_all(np.array([np.nan], np.float32), out[:1])
    assert np.isnan(out[0])


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_table_projections_project_a_table_once_and_change_nothing_else(cell):
    """Inside table_projections() a table's rows are projected once per layer and read by id in every
    forward pass (inference over many batches); the outputs are those of gathering the rows first."""
    from rnntools.nn import recurrent as R

    rng = np.random.default_rng(3)
    V, D, H = 40, 5, 4
    table = rng.standard_normal((V, D))
    rnn = nn.Recurrent({}, "r", cell, D, H, layers=2, rng=rng, dtype=np.float64)
    batches = [rng.integers(0, V, (6, 3)), rng.integers(0, V, (2, 5))]    # T*B < 2V: rows gathered outside
    plain = [rnn.forward(table, ids=ids)[0] for ids in batches]
    with R.table_projections():
        memo = [rnn.infer(table, ids=ids)[0] for ids in batches]
        assert len(R._PROJECTIONS[-1]) == 1                               # the first layer's, made once
    assert R._PROJECTIONS == []
    for a, b in zip(plain, memo):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_table_projections_make_only_the_rows_read_and_keep_them_across_blocks():
    """Inside table_projections() only the rows a pass reads are projected, each once; a kept list carries
    them to a later block, a block inside another uses the outer one's; every row read is the bits of the
    whole table's projection (float32: a row's product does not depend on the other rows)."""
    from rnntools.nn import recurrent as R

    rng = np.random.default_rng(4)
    V, D, H = 50, 6, 5
    table = rng.standard_normal((V, D)).astype(np.float32)
    W = rng.standard_normal((H + D, 3 * H)).astype(np.float32)
    b = rng.standard_normal(3 * H).astype(np.float32)
    whole = R.matmul(table, W[H:], bias=b)
    made = []
    project = R.matmul

    def counting(a, w, out=None, bias=None):
        made.append(a.shape[0])
        return project(a, w, out=out, bias=bias)

    keep: list = []
    ids1, ids2 = np.array([[3, 7], [7, 0]]), np.array([[7, 9, 3]])
    try:
        R.matmul = counting
        with R.table_projections(keep):
            P, at1 = R._project_table(table, W, H, b, ids1)
            with R.table_projections():              # nested: the outer block's projections
                P1, again = R._project_table(table, W, H, b, ids1)
                assert P1 is P and (again == at1).all()
        assert made == [3] and R._PROJECTIONS == []
        with R.table_projections(keep):
            P2, at2 = R._project_table(table, W, H, b, ids2)
        assert made == [3, 1] and P2 is P                           # only row 9 was new
        assert np.flatnonzero(keep[0][4] >= 0).tolist() == [0, 3, 7, 9] and keep[0][5] == 4
    finally:
        R.matmul = project
    assert at1.tolist() == [[1, 2], [2, 0]] and at2.tolist() == [[2, 3, 1]]    # each pass's new rows after the last
    for ids, at in ((ids1, at1), (ids2, at2)):
        np.testing.assert_array_equal(P[at], whole[ids])


def test_run_each_gives_the_results_of_calls_made_alone():
    """run_each runs whole calls side by side on the workers, in the order given back; engine work inside
    them (matmul split by rows, column sums) runs in the worker's thread over the same ranges, so each
    result is the same bits as the call made alone."""
    from rnntools.nn import parallel as P

    rng = np.random.default_rng(6)
    items = [rng.standard_normal((int(n), 128)).astype(np.float32) for n in rng.integers(300, 900, 7)]
    w = rng.standard_normal((128, 200)).astype(np.float32)      # products and sums big enough to be split

    def work(a):
        return P.matmul(a, w), P.column_sums(a), threading.current_thread().name

    import threading

    before = nn.get_threads()
    try:
        nn.set_threads(2)
        alone = [work(a) for a in items]
        assert alone[0][2] == threading.current_thread().name
        side = P.run_each(work, items)
        assert all(name.startswith("rnntools-nn") for _, _, name in side)
        for (m1, s1, _), (m2, s2, _) in zip(alone, side):
            np.testing.assert_array_equal(m1, m2)
            np.testing.assert_array_equal(s1, s2)
        nn.set_threads(1)
        assert [r[2] for r in P.run_each(work, items[:2])] == [alone[0][2]] * 2     # one worker: this thread
    finally:
        nn.set_threads(before)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("table, Bn", [(False, 3), (True, 3), (False, 20)])   # Bn 20: two workers
def test_infer_is_the_training_forward_bit_for_bit(cell, dtype, table, Bn):
    """cell_infer keeps nothing for a backward pass and gives cell_forward's outputs and final state to the
    last bit, in float32 as in float64; its running maximum is max_over_time's over those outputs, in
    position order and (``ties_last``) over rows read in reverse."""
    from rnntools.nn.kernels import max_over_time
    from rnntools.nn.recurrent import cell_forward, cell_infer

    nn.set_threads(2)
    rng = np.random.default_rng(11)
    Tn, Hn, Dn, Vn = 6, 5, 4, 7
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    W = rng.normal(0, 0.6, (Hn + Dn, G * Hn)).astype(dtype)
    b = rng.normal(0, 0.3, G * Hn).astype(dtype)
    bn = rng.normal(0, 0.3, Hn).astype(dtype) if cell == "gru" else None
    ids = rng.integers(0, Vn, (Tn, Bn))
    x = rng.normal(size=(Vn, Dn)).astype(dtype) if table else rng.normal(size=(Tn, Bn, Dn)).astype(dtype)
    h0 = rng.normal(size=(Bn, Hn)).astype(dtype)
    c0 = rng.normal(size=(Bn, Hn)).astype(dtype) if cell == "lstm" else None
    lengths = rng.integers(1, Tn + 1, Bn)
    lengths[0] = Tn
    mask = (np.arange(Tn)[:, None] < lengths[None, :]).astype(dtype)
    at = ids if table else None
    y, (hT, cT), _ = cell_forward(cell, W, b, bn, x, h0, c0, mask, ids=at)
    yi, (hTi, cTi), none = cell_infer(cell, W, b, bn, x, h0, c0, mask, ids=at)
    assert none is None and yi.dtype == dtype
    np.testing.assert_array_equal(yi, y)
    np.testing.assert_array_equal(hTi, hT)
    if cell == "lstm":
        np.testing.assert_array_equal(cTi, cT)
    else:
        assert cTi is None
    want, arg = np.empty((Bn, Hn), dtype), np.empty((Bn, Hn), np.int64)
    max_over_time(y, lengths, want, arg)
    no_y, (hTm, _), m = cell_infer(cell, W, b, bn, x, h0, c0, mask, ids=at, outputs=False, max_pool=True)
    assert no_y is None
    np.testing.assert_array_equal(m, want)
    np.testing.assert_array_equal(hTm, hT)
    # the same rows reversed within their lengths, read with ties_last: the maximum is that of the outputs
    # put back in position order
    from rnntools.nn.sequence import reverse_index

    rev, cols = reverse_index(lengths, Tn), np.arange(Bn)[None, :]
    xr = x if table else x[rev, cols]
    yr, _, _ = cell_forward(cell, W, b, bn, xr, h0, c0, mask, ids=ids[rev, cols] if table else None)
    max_over_time(np.ascontiguousarray(yr[rev, cols]), lengths, want, arg)
    _, _, mr = cell_infer(cell, W, b, bn, xr, h0, c0, mask, ids=ids[rev, cols] if table else None,
                          outputs=False, max_pool=True, ties_last=True)
    np.testing.assert_array_equal(mr, want)


@pytest.mark.parametrize("cell", CELLS)
def test_infer_matches_numpy_reference(cell):
    """cell_infer in float64 against the plain-numpy equations (``ref_cell``), outputs, state and the
    maximum over the unmasked steps; a row with no unmasked step keeps its initial state and pools to 0."""
    from rnntools.nn.recurrent import cell_infer

    rnn, p, rng = make(cell)
    x = rng.normal(size=(T, 3, D))
    h0 = rng.normal(size=(3, H))
    c0 = rng.normal(size=(3, H)) if cell == "lstm" else None
    mask = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], float)
    ry, rh, rc = ref_cell(cell, p["rnn.0.W"], p["rnn.0.b"], p.get("rnn.0.bn"), x, h0, c0, mask)
    y, (hT, cT), m = cell_infer(cell, p["rnn.0.W"], p["rnn.0.b"], p.get("rnn.0.bn"), x, h0, c0, mask,
                                max_pool=True)
    assert np.abs(y - ry).max() < 1e-12 and np.abs(hT - rh).max() < 1e-12
    if cell == "lstm":
        assert np.abs(cT - rc).max() < 1e-12
    want = np.where(mask[:, :, None] != 0, ry, -np.inf).max(axis=0)
    want[2] = 0.0
    assert np.abs(m - want).max() < 1e-12
    np.testing.assert_array_equal(hT[2], h0[2])


@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_infer_equals_forward(cell):
    """Recurrent.infer (two layers, a table read by id and one gathered) is forward's outputs and state."""
    rnn, p, rng = make(cell, layers=2, dtype=np.float32)
    for V, Bn in ((3, 4), (40, 2)):
        table = rng.normal(size=(V, D)).astype(np.float32)
        ids = rng.integers(0, V, (T, Bn))
        mask = np.ones((T, Bn), np.float32)
        mask[2:, 1] = 0
        state = tuple(rng.normal(size=s.shape).astype(np.float32) for s in rnn.zero_state(Bn))
        y, st, _ = rnn.forward(table, state, mask, ids=ids)
        yi, sti = rnn.infer(table, state, mask, ids=ids)
        none, stn = rnn.infer(table, state, mask, ids=ids, outputs=False)
        np.testing.assert_array_equal(yi, y)
        assert none is None
        for a, b, c in zip(sti, st, stn):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(c, b)


def _forward_backward(rnn, x, state, mask, dy, ids=None, skip_padding=False):
    y, st, cache = rnn.forward(x, state, mask, ids=ids)
    grads = {}
    dx, d0 = rnn.backward(dy, cache, grads, dstate=st, skip_padding=skip_padding)
    return [y, *st, dx, *d0, *(grads[k] for k in sorted(grads))]


@pytest.fixture
def units_allowed(monkeypatch):
    """The unit split at this file's tiny sizes (it is not tried below UNITS_MIN_HIDDEN units a worker)."""
    monkeypatch.setattr(nn.recurrent, "UNITS_MIN_HIDDEN", 1)
    old = nn.get_threads()
    nn.set_threads(2)
    yield
    nn.set_threads(old)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("table, Bn", [(False, 3), (True, 3), (True, 20), (False, 20)])   # Bn 20: two row ranges
@pytest.mark.parametrize("skip_padding", [False, True])
def test_unit_split_is_the_row_split_bit_for_bit(units_allowed, cell, dtype, table, Bn, skip_padding):
    """Forward and backward split by hidden units (each worker all rows, its units; a barrier per step) give
    the batch split's bits: outputs, states, input (or table) gradients and every parameter gradient, with
    padding, a carried state and two layers (H 5: parts of 2 and 3 units); with ``skip_padding`` too (a GRU's
    dAh compact)."""
    rnn, p, rng = make(cell, layers=2, dtype=dtype)
    Tn, V = 6, 4
    mask = np.ones((Tn, Bn), dtype)
    mask[4:, 1] = 0
    mask[:2, 2] = 0
    state = tuple(rng.normal(size=s.shape).astype(dtype) for s in rnn.zero_state(Bn))
    dy = rng.normal(size=(Tn, Bn, H)).astype(dtype)
    if table:
        x, ids = rng.normal(size=(V, D)).astype(dtype), rng.integers(0, V, (Tn, Bn))
    else:
        x, ids = rng.normal(size=(Tn, Bn, D)).astype(dtype), None
    runs = {}
    for split in ("rows", "units"):
        with nn.recurrent.time_loop_split(split):
            runs[split] = _forward_backward(rnn, x, state, mask, dy, ids, skip_padding)
    for a, b in zip(runs["rows"], runs["units"], strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("cell", CELLS)
def test_unit_split_gradients_finite_differences(units_allowed, cell):
    rnn, p, rng = make(cell, layers=2)
    x = rng.normal(size=(T, B, D))
    mask = np.array([[1, 1], [1, 0], [1, 0]], float)
    dy = rng.normal(size=(T, B, H))

    def loss():
        return float((rnn.forward(x, None, mask)[0] * dy).sum())

    with nn.recurrent.time_loop_split("units"):
        grads = {}
        dx, _ = rnn.backward(dy, rnn.forward(x, None, mask)[2], grads)
        for k in ("rnn.0.W", "rnn.1.W", "rnn.0.b"):
            assert_grad(loss, p[k], grads[k], name=k)
        assert_grad(loss, x, dx, name="x")


def test_split_choice_takes_the_faster_split_and_tries_the_other_now_and_then(units_allowed, monkeypatch):
    R = nn.recurrent
    monkeypatch.setitem(R._SPLIT, "times", {})
    key = ("forward", 1, 512, 32, "<f4")
    cost = {"rows": 2.0, "units": 1.0}
    chosen = []
    for _ in range(2 * R.SPLIT_RECHECK):
        split = R._choose_split(key, 512)
        chosen.append(split)
        R._timed_split(key, split, cost[split])
    n = R.SPLIT_SAMPLES + 1
    assert sorted(chosen[:2 * n]) == ["rows"] * n + ["units"] * n    # both tried, alternately
    later = chosen[2 * n:]
    assert later.count("rows") == 2 and later.count("units") == len(later) - 2   # the recheck every 50 calls
    cost = {"rows": 1.0, "units": 3.0}   # the machine changed: the rechecks move it back
    for _ in range(6 * R.SPLIT_RECHECK):
        split = R._choose_split(key, 512)
        R._timed_split(key, split, cost[split])
    assert R._choose_split(key, 512) == "rows"
    monkeypatch.setattr(R, "UNITS_MIN_HIDDEN", 300)
    assert R._choose_split(key, 512) == "rows"     # 256 units a worker: too few to try


def test_unit_split_from_two_threads_at_once_finishes(units_allowed):
    """Two threads training at once: their parts never hold the two workers waiting for each other."""
    import threading

    results = [None, None]

    def train(i):
        rnn, p, rng = make("lstm", layers=2, seed=i)
        x = rng.normal(size=(T, 4, D))
        with nn.recurrent.time_loop_split("units"):
            for _ in range(30):
                y, _, c = rnn.forward(x, None)
                rnn.backward(y, c, {})
        results[i] = y

    threads = [threading.Thread(target=train, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("table,Bn", [(False, 3), (True, 3), (True, 40)])   # 40: two workers' row blocks
def test_skip_padding_gives_the_gradients_of_every_position(cell, table, Bn):
    """``backward(skip_padding=True)``: the weight gradients over the unmasked positions only are those of
    every position to round-off (float64; a padded position's gate gradients are 0), the other outputs the
    same bits; and they pass central differences (two layers, dropout between them, a gathered input and a
    table read by id)."""
    nn.set_threads(2)
    rnn, p, rng = make(cell, layers=2)
    Tn, V = 4, 3
    x = rng.normal(size=(V, D)) if table else rng.normal(size=(Tn, Bn, D))
    ids = rng.integers(0, V, (Tn, Bn)) if table else None
    mask = np.ones((Tn, Bn))
    mask[2:, 1] = 0
    mask[3:, 0] = 0
    state = tuple(rng.normal(size=s.shape) for s in rnn.zero_state(Bn))
    wy = rng.normal(size=(Tn, Bn, H))
    ws = tuple(rng.normal(size=s.shape) for s in state)
    drops = [nn.dropout_mask(rng, (Tn, Bn, H), 0.3, np.float64)]
    _, _, cache = rnn.forward(x, state, mask, train=True, dropout_masks=drops, ids=ids)
    out = {}
    for skip in (False, True):
        grads = {}
        dx, d0 = rnn.backward(wy, cache, grads, dstate=ws, skip_padding=skip)
        out[skip] = grads, dx, d0
    (g0, dx0, d00), (g1, dx1, d01) = out[False], out[True]
    assert np.array_equal(dx0, dx1) and all(np.array_equal(a, b) for a, b in zip(d00, d01))
    for k in g0:
        assert rel_error(g0[k], g1[k]) < 1e-14, k
    if Bn > 3:
        return

    def f():
        y, st, _ = rnn.forward(x, state, mask, train=True, dropout_masks=drops, ids=ids)
        return float(np.sum(y * wy) + sum(np.sum(s * w) for s, w in zip(st, ws)))

    for name in rnn.names():
        assert_grad(f, p[name], g1[name], name=name)


@pytest.mark.parametrize("units", [False, True])
@pytest.mark.parametrize("table", [False, True])
def test_gru_backward_writes_dah_compact_with_the_same_bits(units, table):
    """``apos`` with the real positions' ranks (-1 at padding): dAh holds the real positions' rows only, in
    (t, b) order, each the bits of the full layout's row; dh0, the per-id sums and dAx are the same bits (a
    step's real rows are then read in place by its product instead of gathered); row and unit split."""
    from rnntools.nn.gates import GRU, K
    from rnntools.nn.recurrent import _barrier_flags

    rng = np.random.default_rng(9)
    Tn, Bn, V, Hn = 5, 4, 3, 6
    GH = 3 * Hn
    Wh = rng.normal(size=(Hn, GH)).astype(np.float32)
    G = rng.uniform(0.1, 0.9, (Tn, Bn, GH)).astype(np.float32)
    Rn, dY = (rng.normal(size=(Tn, Bn, Hn)).astype(np.float32) for _ in range(2))
    Hfull = rng.normal(size=(Tn + 1, Bn, Hn)).astype(np.float32)
    mask = np.ones((Tn, Bn), np.float32)
    mask[3:, 1] = 0
    mask[2:, 3] = 0
    mask[4, 0] = 0
    real = np.flatnonzero(mask.reshape(-1))
    dhT = rng.normal(size=(Bn, Hn)).astype(np.float32)
    ids = rng.integers(0, V, (Tn, Bn)).astype(np.int64)
    c0 = np.zeros((Bn, Hn), np.float32)
    Cs = np.empty((1, 1, 1), np.float32)
    out = {}
    for compact in (False, True):
        if compact:
            apos = np.full(Tn * Bn, -1, np.int64)
            apos[real] = np.arange(len(real))
            dAh = np.full((len(real), GH), np.nan, np.float32)
        else:
            apos = np.arange(Tn * Bn, dtype=np.int64)
            dAh = np.full((Tn * Bn, GH), np.nan, np.float32)
        apos = apos.reshape(Tn, Bn)
        dAx = np.empty((0, 1, GH) if table else (Tn, Bn, GH), np.float32)
        dh0 = np.empty((Bn, Hn), np.float32)
        dc0 = np.zeros((Bn, Hn), np.float32)
        S = np.zeros((1, V if table else 0, GH), np.float32)
        sidx = ids if table else np.zeros((1, 1), np.int64)
        if units:
            flags = _barrier_flags(2)
            import threading
            parts = [threading.Thread(target=K.seq_backward_units, args=(
                GRU, Wh, c0, mask, Hfull, Cs, G, Rn, dY, dhT, dhT, u0, u1, dAx, dAh, apos, dh0, dc0, sidx, S,
                np.zeros(Bn, np.int64), flags, part, 2)) for part, (u0, u1) in enumerate([(0, 3), (3, Hn)])]
            for t in parts:
                t.start()
            for t in parts:
                t.join()
        else:
            K.seq_backward(GRU, Wh, Hfull[0], c0, mask, Hfull[1:], Cs, G, Rn, dY, dhT, dhT, 0, Bn, dAx, dAh,
                           apos, dh0, dc0, sidx, S[0])
        out[compact] = (dAh, dAx, S, dh0)
    (full, dAx, S, dh0), (compact, dAx2, S2, dh02) = out[False], out[True]
    assert not np.isnan(compact).any() and np.array_equal(full[real], compact)
    assert not full[np.flatnonzero(mask.reshape(-1) == 0)].any()
    for a, b in ((dAx, dAx2), (S, S2), (dh0, dh02)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("threads", [1, 2])
def test_stack_runs_all_layers_in_one_hand_off_with_the_bits_of_layer_by_layer(cell, threads, monkeypatch):
    """A stack whose time loops go by batch rows runs every layer's forward in one hand-off and its backward
    in two (the time loops with the input gradients, then every weight gradient), with the bits of the
    layers run one by one: masks, dropout (float32 and float64 masks), a table read by id, skip_padding."""
    R = nn.recurrent
    T, B, D, H, V = 9, 20, 12, 24, 15
    before = nn.get_threads()

    def run(stack):
        if not stack:
            monkeypatch.setattr(R.Recurrent, "_splits", lambda self, *a: [None] * self.layers)
        out = []
        calls = []
        rows = R.run_rows
        monkeypatch.setattr(R, "run_rows", lambda fn, *a, **k: calls.append(fn.__name__) or rows(fn, *a, **k))
        for layers, dropout, f64, ids, skip in [(3, 0.0, False, False, False), (2, 0.4, False, True, False),
                                                 (3, 0.3, True, False, True), (1, 0.0, False, False, False)]:
            params = {}
            rnn = nn.Recurrent(params, "r", cell, D, H, layers=layers, dropout=dropout,
                               rng=np.random.default_rng(1))
            r = np.random.default_rng(2)
            x = r.standard_normal((V, D) if ids else (T, B, D)).astype(np.float32)
            mask = (np.arange(T)[:, None] < r.integers(3, T + 1, B)[None, :]).astype(np.float32)
            dms = [r.random((T, B, H)) * 2 for _ in range(layers - 1)] if f64 else None
            calls.clear()
            y, st, cache = rnn.forward(x, None, mask, train=True, rng=np.random.default_rng(3), dropout_masks=dms,
                                       ids=r.integers(0, V, (T, B)) if ids else None)
            forward_calls = list(calls)
            grads = {}
            dx, d0 = rnn.backward(y * 0.5, cache, grads, dstate=st, skip_padding=skip)
            out.append((forward_calls, [y, *st, dx, *d0, *(grads[k] for k in grads)], list(grads)))
        return out

    try:
        nn.set_threads(threads)
        with R.time_loop_split("rows"):
            layered = run(False)
            monkeypatch.undo()
            stacked = run(True)
    finally:
        nn.set_threads(before)
    for (_, arrays1, names1), (_, arrays2, names2) in zip(layered, stacked):
        assert names1 == names2                       # the same order into grads (the norm sums in it)
        for a1, a2 in zip(arrays1, arrays2):
            np.testing.assert_array_equal(a1, a2)
    assert [c for c, _, _ in stacked] == [["_fwd_stack"]] * 4
    assert [c for c, _, _ in layered][0] == ["_fwd", "_fwd", "_fwd"]
