"""word2vec kernels against plain numpy/Python references (float64), and gradient checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradcheck import assert_grad

from rnntools.w2v import kernels
from rnntools.w2v.train import huffman, keep_thresholds, noise_table

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
EMPTY = np.zeros(0)  # no sigmoid tables: exact math


def xs(s: int) -> int:
    s ^= (s << 13) & M64
    s ^= s >> 7
    s ^= (s << 17) & M64
    return s


def draw(s: int, alias_prob, alias_idx) -> int:
    col = ((s >> 32) * len(alias_prob)) >> 32
    return col if (s & M32) < int(alias_prob[col]) else int(alias_idx[col])


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def ref_ns(l1, w_out, targets, lr):
    """One negative-sampling update in numpy: returns (input step, loss); w_out changed in place."""
    work = np.zeros_like(l1)
    loss = 0.0
    for k, t in enumerate(targets):
        if t < 0:
            continue
        label = 1.0 if k == 0 else 0.0
        f = float(l1 @ w_out[t])
        p = sigmoid(f)
        loss += -math.log(p) if k == 0 else -math.log(1 - p)
        g = (label - p) * lr
        work += g * w_out[t]
        w_out[t] += g * l1
    return work, loss


def loss_of(l1, w_out, targets):
    f = w_out[targets] @ l1
    return float(-np.log(1 / (1 + np.exp(-f[0]))) - np.sum(np.log(1 / (1 + np.exp(f[1:])))))


E32 = np.zeros(0, np.int32)
NO_HS = (np.zeros(0, np.int64), np.zeros(0, np.uint8), E32)  # negative sampling
NO_SUB = (np.zeros(0, np.int64), E32)  # one row per word


def sg_pair(w_in, w_out, context, targets, lr, work, sig, logsig):
    """One skip-gram negative-sampling update as the batch kernel makes it (ns_update, then the input row)."""
    work[:] = 0
    loss = kernels.ns_update(w_in, context, w_out, targets, lr, work, sig, logsig)
    w_in[context] += work
    return loss


def cbow_update(w_in, w_out, ids, lo, pos, hi, targets, lr, sig=EMPTY, logsig=EMPTY):
    """One CBOW update as the batch kernel makes it: the mean of ids[lo:hi] except pos predicts targets."""
    D = w_in.shape[1]
    rows = np.array([ids[j] for j in range(lo, hi) if j != pos], np.int32)
    hidden, work = np.zeros((1, D)), np.zeros(D)
    kernels.mean_rows(w_in, rows, len(rows), hidden, work)
    loss = kernels.ns_update(hidden, 0, w_out, targets, lr, work, sig, logsig)
    kernels.add_rows(w_in, rows, len(rows), work)
    return loss


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_sg_pair_matches_numpy(rng):
    V, D = 7, 4
    w_in, w_out = rng.normal(size=(V, D)), rng.normal(size=(V, D)) * 0.5
    targets = np.array([3, 1, 5, -1, 3], np.int32)  # a skipped draw and a repeated noise word
    ref_in, ref_out = w_in.copy(), w_out.copy()
    step, ref_loss = ref_ns(ref_in[2].copy(), ref_out, targets, 0.1)
    ref_in[2] += step
    loss = sg_pair(w_in, w_out, 2, targets, 0.1, np.zeros(D), EMPTY, EMPTY)
    np.testing.assert_allclose(w_in, ref_in, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_out, ref_out, rtol=1e-12, atol=1e-14)
    assert loss == pytest.approx(ref_loss, rel=1e-12)


def test_cbow_update_matches_numpy(rng):
    V, D = 9, 5
    w_in, w_out = rng.normal(size=(V, D)), rng.normal(size=(V, D)) * 0.5
    ids = np.array([4, 2, 7, 2, 0], np.int32)  # position 2 is the centre; word 2 twice in the context
    targets = np.array([7, 1, 8], np.int32)
    ref_in, ref_out = w_in.copy(), w_out.copy()
    context = [4, 2, 2, 0]
    step, ref_loss = ref_ns(ref_in[context].mean(axis=0), ref_out, targets, 0.05)
    for c in context:
        ref_in[c] += step
    loss = cbow_update(w_in, w_out, ids, 0, 2, 5, targets, 0.05)
    np.testing.assert_allclose(w_in, ref_in, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_out, ref_out, rtol=1e-12, atol=1e-14)
    assert loss == pytest.approx(ref_loss, rel=1e-12)


def test_ns_update_is_a_gradient_step(rng):
    """With distinct targets, the update is exactly -lr times the gradient of the loss."""
    V, D, lr = 6, 5, 1e-3
    w_in, w_out = rng.normal(size=(V, D)), rng.normal(size=(V, D))
    targets = np.array([2, 0, 4, 5], np.int32)
    before_in, before_out = w_in.copy(), w_out.copy()
    sg_pair(w_in, w_out, 1, targets, lr, np.zeros(D), EMPTY, EMPTY)
    l1, wo = before_in[1].copy(), before_out.copy()
    assert_grad(lambda: loss_of(l1, wo, targets), l1, (before_in[1] - w_in[1]) / lr, name="input vector")
    assert_grad(lambda: loss_of(l1, wo, targets), wo, (before_out - w_out) / lr, name="output weights")


def test_cbow_step_is_context_size_times_the_gradient(rng):
    V, D, lr = 6, 4, 1e-3
    w_in, w_out = rng.normal(size=(V, D)), rng.normal(size=(V, D))
    ids = np.array([0, 3, 5], np.int32)
    targets = np.array([1, 2, 4], np.int32)
    before_in, before_out = w_in.copy(), w_out.copy()
    cbow_update(w_in, w_out, ids, 0, -1, 3, targets, lr)
    rows, wo = before_in[[0, 3, 5]].copy(), before_out.copy()
    f = lambda: loss_of(rows.mean(axis=0), wo, targets)  # noqa: E731
    assert_grad(f, rows, (before_in[[0, 3, 5]] - w_in[[0, 3, 5]]) / lr / 3, name="context vectors")
    assert_grad(f, wo, (before_out - w_out) / lr, name="output weights")


def w2v_sigmoid(f: float) -> float:
    """word2vec.c's lookup, written out: expTable[(int)((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))]
    with expTable[i] = sigmoid((i / 1000 * 2 - 1) * 6), C's integer 1000 / 6 / 2 = 83, and the
    saturation of its negative-sampling branch beyond +-6."""
    if f >= 6:
        return 1.0
    if f <= -6:
        return 0.0
    return sigmoid((int((f + 6) * (1000 // 6 // 2)) / 1000 * 2 - 1) * 6)


def test_sigmoid_tables_are_word2vec_lookup(rng):
    V, D, lr = 50, 8, 0.1
    w_in, w_out = rng.normal(size=(V, D)), rng.normal(size=(V, D))
    w_in[5] *= 1.5  # dot products from 0.25 to 8.6 in size, on both sides of 6
    targets = np.array([3, 7, 11, 19, 23, 29, 31, 37], np.int32)
    sig, logsig = kernels.sigmoid_tables()
    f = w_out[targets] @ w_in[5]
    assert np.any(np.abs(f) >= 6) and np.any(np.abs(f) < 6)  # both branches are exercised
    # reference: ref_ns's update with word2vec's lookup in place of the sigmoid
    ref_out, work, loss = w_out.copy(), np.zeros(D), 0.0
    for k, t in enumerate(targets):
        x = float(w_in[5] @ ref_out[t])
        q = w2v_sigmoid(x)
        if k == 0:
            loss += -math.log(q) if q > 0 else -x
        else:
            loss += -math.log1p(-q) if q < 1 else x
        g = ((1.0 if k == 0 else 0.0) - q) * lr
        work += g * ref_out[t]
        ref_out[t] += g * w_in[5]
    b_in, b_out = w_in.copy(), w_out.copy()
    got = sg_pair(b_in, b_out, 5, targets, lr, np.zeros(D), sig, logsig)
    np.testing.assert_allclose(b_in[5], w_in[5] + work, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b_out, ref_out, rtol=1e-12, atol=1e-14)
    assert got == pytest.approx(loss, rel=1e-12)


def test_word2vec_lookup_is_close_to_the_sigmoid_and_biased_low():
    x = np.linspace(-5.99, 5.99, 20001)
    q = np.array([w2v_sigmoid(v) for v in x])
    exact = 1 / (1 + np.exp(-x))
    assert np.max(np.abs(q - exact)) < 0.012
    # the integer 83 and the left bin edges: on average sigmoid(0.996 x - 0.030)
    np.testing.assert_allclose(np.mean(q - exact), np.mean(1 / (1 + np.exp(-(0.996 * x - 0.030))) - exact),
                               atol=2e-4)
    assert np.mean(q - exact) < -0.002


def test_zero_learning_rate_changes_nothing(rng):
    V, D = 20, 6
    w_in, w_out = rng.normal(size=(V, D)), rng.normal(size=(V, D))
    before = w_in.copy(), w_out.copy()
    words = rng.integers(0, V, 200).astype(np.int32)
    keep, (ap, ai) = keep_thresholds(np.arange(V, 0, -1), 1e-3), noise_table(np.arange(V, 0, -1))
    state = np.array([99], np.uint64)
    for share_negatives in (False, True):
        kernels.train_batch_sg(words, w_in, w_out, keep, ap, ai, 3, 0.0, state, np.empty(200, np.int32),
                               np.empty(4, np.int32), np.zeros(D), EMPTY, EMPTY, *NO_HS, *NO_SUB,
                               np.empty(1, np.int32), np.zeros((1, D)), share_negatives)
        np.testing.assert_array_equal(w_in, before[0])
        np.testing.assert_array_equal(w_out, before[1])


def _batch_inputs(rng, V=12, D=4, N=60):
    counts = rng.integers(1, 50, V)
    words = rng.integers(0, V, N).astype(np.int32)
    words[[0, 17, 18, 40]] = -1  # sentence breaks, an empty sentence among them
    keep = keep_thresholds(counts, 0.02)  # some words are dropped
    assert (keep < 2**32).any()
    ap, ai = noise_table(counts)
    return words, rng.normal(size=(V, D)) * 0.3, rng.normal(size=(V, D)) * 0.3, keep, ap, ai


def _sentence(words, i, keep, s):
    """The subsampled sentence starting at words[i]: (words kept, index after it, state)."""
    sent = []
    while i < len(words) and words[i] >= 0:
        s = xs(s)
        if (s & M32) < int(keep[words[i]]):
            sent.append(int(words[i]))
        i += 1
    return sent, i + 1, s


def _window(s, window, pos, n):
    b = s % window
    return max(0, pos - window + b), min(n, pos + window + 1 - b)


def _targets(s, word, K, ap, ai):
    targets = [word]
    for _ in range(K):
        s = xs(s)
        t = draw(s, ap, ai)
        targets.append(-1 if t == word else t)
    return s, np.array(targets)


def ref_hs(l1, w_out, points, codes, lr):
    """One hierarchical-softmax update in numpy, word2vec's loop: returns (input step, loss); w_out changed
    in place."""
    work = np.zeros_like(l1)
    loss = 0.0
    for node, code in zip(points, codes):
        label = 1.0 - code
        p = sigmoid(float(l1 @ w_out[node]))
        loss += -math.log(p) if label else -math.log(1 - p)
        g = (label - p) * lr
        work += g * w_out[node]
        w_out[node] += g * l1
    return work, loss


@pytest.mark.parametrize("arch, loss_kind, sub, shared", [
    ("sg", "ns", False, False), ("cbow", "ns", False, False), ("sg", "hs", False, False),
    ("cbow", "hs", False, False), ("sg", "ns", True, False), ("cbow", "hs", True, False),
    ("sg", "ns", False, True), ("sg", "hs", False, True), ("sg", "ns", True, True), ("cbow", "ns", False, True),
])
def test_batch_kernel_matches_python_reference(rng, arch, loss_kind, sub, shared):
    """shared (share_negatives): a skip-gram centre's pairs share its noise words, with negative sampling on
    plain words only; hierarchical softmax, subwords and CBOW ignore it."""
    words, w_in, w_out, keep, ap, ai = _batch_inputs(rng)
    V, D = w_in.shape
    K, window, lr, seed = 3, 3, 0.05, 0x1234567
    counts = np.arange(V, 0, -1) * 7
    hs = huffman(counts) if loss_kind == "hs" else NO_HS
    assert loss_kind == "ns" or np.diff(hs[0]).max() > 4  # paths long enough for the kernel's 4-node blocks
    if loss_kind == "hs":
        w_out = rng.normal(size=(V - 1, D)) * 0.3
    if sub:
        # each word: its own row and two of 5 buckets (rows V..V+4), one bucket shared by several words
        buckets = np.array([[V + i % 5, V + (i * 3 + 1) % 5] for i in range(V)])
        sub_off = np.arange(0, 3 * V + 1, 3).astype(np.int64)
        sub_ids = np.concatenate([[i, *buckets[i]] for i in range(V)]).astype(np.int32)
        w_in = np.concatenate([w_in, rng.normal(size=(5, D)) * 0.3])
        rows_of = {i: [i, *buckets[i]] for i in range(V)}
    else:
        sub_off, sub_ids = NO_SUB
        rows_of = {i: [i] for i in range(V)}
    ref_in, ref_out = w_in.copy(), w_out.copy()

    def ref_predict(l1, word, s):
        if loss_kind == "hs":
            lo, hi = hs[0][word], hs[0][word + 1]
            step, loss = ref_hs(l1, ref_out, hs[2][lo:hi], hs[1][lo:hi], lr)
            return step, loss, hi - lo, s
        s, targets = _targets(s, word, K, ap, ai)
        step, loss = ref_ns(l1, ref_out, targets, lr)
        return step, loss, K + 1, s

    s, ref_loss, ref_pred, i, repeats = seed, 0.0, 0, 0, 0
    while i < len(words):
        sent, i, s = _sentence(words, i, keep, s)
        n = len(sent)
        for pos in range(n):
            s = xs(s)
            lo, hi = _window(s, window, pos, n)
            if arch == "sg" and not sub and shared and loss_kind == "ns":
                if hi - lo > 1:  # one draw of noise words for the centre, word2vec's pairs in order
                    s, targets = _targets(s, sent[pos], K, ap, ai)
                    drawn = [t for t in targets[1:] if t >= 0]
                    repeats += len(drawn) - len(set(drawn))
                    for j in range(lo, hi):
                        if j != pos:
                            step, loss = ref_ns(ref_in[sent[j]].copy(), ref_out, targets, lr)
                            ref_in[sent[j]] += step
                            ref_loss, ref_pred = ref_loss + loss, ref_pred + K + 1
            elif arch == "sg" and not sub:
                for j in range(lo, hi):
                    if j == pos:
                        continue
                    step, loss, k, s = ref_predict(ref_in[sent[j]].copy(), sent[pos], s)
                    ref_in[sent[j]] += step
                    ref_loss, ref_pred = ref_loss + loss, ref_pred + k
            elif arch == "sg" and hi - lo > 1:
                rows = rows_of[sent[pos]]
                hidden, total = ref_in[rows].mean(axis=0), np.zeros(D)
                for j in range(lo, hi):
                    if j == pos:
                        continue
                    step, loss, k, s = ref_predict(hidden.copy(), sent[j], s)
                    hidden += step  # the mean of rows that each took the step
                    total += step
                    ref_loss, ref_pred = ref_loss + loss, ref_pred + k
                for r in rows:
                    ref_in[r] += total
            elif arch == "cbow" and hi - lo > 1:
                rows = [r for j in range(lo, hi) if j != pos for r in rows_of[sent[j]]]
                step, loss, k, s = ref_predict(ref_in[rows].mean(axis=0), sent[pos], s)
                for r in rows:
                    ref_in[r] += step
                ref_loss, ref_pred = ref_loss + loss, ref_pred + k
    state = np.array([seed], np.uint64)
    scratch = (np.empty(len(words), np.int32), np.empty(K + 1, np.int32), np.zeros(D))
    kernel = kernels.train_batch_sg if arch == "sg" else kernels.train_batch_cbow
    loss, pred, read = kernel(words, w_in, w_out, keep, ap, ai, window, lr, state, *scratch, EMPTY, EMPTY,
                              *hs, sub_off, sub_ids, np.empty(2 * window * 3, np.int32), np.zeros((2, D)), shared)
    assert read == int(np.count_nonzero(words >= 0))
    assert pred == ref_pred > 0
    assert repeats > 0 or not (shared and arch == "sg" and loss_kind == "ns" and not sub)  # one copy per word
    assert loss == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(w_in, ref_in, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w_out, ref_out, rtol=1e-10, atol=1e-12)
    assert int(state[0]) == s


@pytest.mark.parametrize("word", range(12))
def test_hs_update_matches_numpy_and_is_a_gradient_step(rng, word):
    # every word of a skewed vocabulary: paths of 1 to 11 nodes, so the kernel's four-node blocks and the
    # nodes left over are both checked
    V, D, lr = 12, 5, 1e-3
    off, codes, points = huffman(2 ** np.arange(V, 0, -1))  # paths of 1, 2, ..., 11, 11 nodes
    assert list(np.diff(off)) == [*range(1, V), V - 1]
    w_in, w_out = rng.normal(size=(V, D)), rng.normal(size=(V - 1, D))
    lo, hi = off[word], off[word + 1]
    ref_out = w_out.copy()
    step, ref_loss = ref_hs(w_in[2].copy(), ref_out, points[lo:hi], codes[lo:hi], lr)
    before_in, before_out = w_in.copy(), w_out.copy()
    work = np.zeros(D)
    loss = kernels.hs_update(w_in, 2, w_out, points, codes, lo, hi, lr, work, EMPTY, EMPTY, np.empty(hi - lo))
    np.testing.assert_allclose(work, step, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_out, ref_out, rtol=1e-12, atol=1e-14)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    # with distinct nodes on a path the update is exactly -lr times the gradient of the path's loss
    l1, wo = before_in[2].copy(), before_out.copy()
    sign = 1 - 2 * codes[lo:hi].astype(float)

    def path_loss():
        f = wo[points[lo:hi]] @ l1
        return float(np.sum(np.log1p(np.exp(-sign * f))))

    assert_grad(path_loss, l1, -work / lr, name="input vector")
    assert_grad(path_loss, wo, (before_out - w_out) / lr, name="node weights")


def ref_sg_hs_centre(w_in, w_out, buf, pos, lo, hi, points, codes, lr):
    """sg_hs_centre in numpy: the centre's path rows copied, every context word in turn walks the copy
    (word2vec's per-pair order; its input row steps after its walk), then w_out += copy - start."""
    start = w_out[points].copy()
    rows = start.copy()
    loss = 0.0
    for j in range(lo, hi):
        if j != pos:
            step, pair_loss = ref_hs(w_in[buf[j]].copy(), rows, np.arange(len(points)), codes, lr)
            w_in[buf[j]] += step
            loss += pair_loss
    w_out[points] += rows - start
    return loss


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_sg_hs_centre_matches_numpy_and_word2vec_order(rng, dtype, tol):
    V, D, lr = 12, 7, 0.2
    off, codes, points = huffman(2 ** np.arange(V, 0, -1))
    buf = np.array([3, 5, 3, 11, 0, 7, 5, 2], np.int32)  # centre 11 (an 11-node path); 3 and 5 twice
    pos, lo, hi = 3, 0, 8
    a, b = off[11], off[12]
    L = b - a
    assert L == 11 and len(set(points[a:b])) == L
    w_in = (rng.normal(size=(V, D)) * 0.5).astype(dtype)
    w_out = (rng.normal(size=(V - 1, D)) * 0.5).astype(dtype)
    first_in, first_out = w_in.copy(), w_out.copy()
    ref_in, ref_out = w_in.copy(), w_out.copy()
    ref_loss = ref_sg_hs_centre(ref_in, ref_out, buf, pos, lo, hi, points[a:b], codes[a:b], lr)
    loss, pred = kernels.sg_hs_centre(w_in, w_out, buf, pos, lo, hi, lr, np.zeros(D, dtype), EMPTY, EMPTY, off,
                                      codes, points, np.empty(L, dtype), np.empty((L, D), dtype),
                                      np.empty((L, D), dtype), np.arange(L, dtype=np.int32), np.empty(L, np.uint8))
    assert pred == 7 * L
    assert loss == pytest.approx(ref_loss, rel=tol)
    np.testing.assert_allclose(w_in, ref_in, rtol=tol, atol=tol)
    np.testing.assert_allclose(w_out, ref_out, rtol=tol, atol=tol)
    assert np.abs(w_out - first_out)[points[a:b]].max(axis=1).min() > 1e-3  # every node on the path moved
    if dtype == np.float64:
        # within a thread the copy changes nothing: word2vec's pairs, each stepping w_out's rows itself
        seq_in, seq_out = first_in.copy(), first_out.copy()
        for j in [0, 1, 2, 4, 5, 6, 7]:
            step, _ = ref_hs(seq_in[buf[j]].copy(), seq_out, points[a:b], codes[a:b], lr)
            seq_in[buf[j]] += step
        np.testing.assert_allclose(ref_in, seq_in, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ref_out, seq_out, rtol=1e-12, atol=1e-14)


def test_hs_lookup_skips_saturated_nodes_as_word2vec(rng):
    V, D, lr = 12, 6, 0.1
    off, codes, points = huffman(np.arange(V, 0, -1) ** 2)
    word = V - 1  # the rarest word: the longest path
    lo, hi = off[word], off[word + 1]
    w_in, w_out = rng.normal(size=(V, D)) * 1.5, rng.normal(size=(V - 1, D)) * 2.5
    f = w_out[points[lo:hi]] @ w_in[0]
    assert np.any(np.abs(f) >= 6) and np.any(np.abs(f) < 6)
    sig, logsig = kernels.sigmoid_tables()
    ref_out, work = w_out.copy(), np.zeros(D)
    for node, code in zip(points[lo:hi], codes[lo:hi]):
        x = float(w_in[0] @ ref_out[node])
        if abs(x) >= 6:
            continue  # word2vec.c: if (f <= -MAX_EXP) continue; else if (f >= MAX_EXP) continue;
        g = (1 - code - w2v_sigmoid(x)) * lr
        work += g * ref_out[node]
        ref_out[node] += g * w_in[0]
    got = np.zeros(D)
    kernels.hs_update(w_in, 0, w_out, points, codes, lo, hi, lr, got, sig, logsig, np.empty(hi - lo))
    np.testing.assert_allclose(got, work, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_out, ref_out, rtol=1e-12, atol=1e-14)


def word2vec_huffman(counts):
    """word2vec.c's CreateBinaryTree, line for line (counts sorted most frequent first)."""
    V = len(counts)
    count = list(counts) + [10**15] * (V - 1)
    binary, parent = [0] * (2 * V), [0] * (2 * V)
    pos1, pos2 = V - 1, V
    for a in range(V - 1):
        mins = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                mins.append(pos1)
                pos1 -= 1
            else:
                mins.append(pos2)
                pos2 += 1
        count[V + a] = count[mins[0]] + count[mins[1]]
        parent[mins[0]] = parent[mins[1]] = V + a
        binary[mins[1]] = 1
    out = []
    for a in range(V):
        code, point, b = [], [], a
        while True:
            code.append(binary[b])
            point.append(b)
            b = parent[b]
            if b == V * 2 - 2:
                break
        n = len(code)
        vcode, vpoint = [0] * n, [0] * (n + 1)
        vpoint[0] = V - 2
        for k in range(n):
            vcode[n - k - 1] = code[k]
            vpoint[n - k] = point[k] - V
        out.append((vcode, vpoint[:n]))
    return out


@pytest.mark.parametrize("counts", [[5, 3], [9, 9, 9, 9], [100, 40, 40, 12, 7, 7, 3, 1, 1, 1, 1],
                                    list(np.random.default_rng(3).zipf(1.3, 300).clip(1, 10**6))])
def test_huffman_tree_is_word2vec_tree(counts):
    counts = sorted(counts, reverse=True)
    off, codes, points = huffman(np.array(counts))
    want = word2vec_huffman(counts)
    for w, (code, point) in enumerate(want):
        assert codes[off[w]:off[w + 1]].tolist() == code
        assert points[off[w]:off[w + 1]].tolist() == point
    V = len(counts)
    assert points.min() >= 0 and points.max() == V - 2  # inner nodes, the root first on every path
    assert all(points[off[w]] == V - 2 for w in range(V))
    paths = {tuple(codes[off[w]:off[w + 1]]) for w in range(V)}
    assert len(paths) == V
    assert sum(2.0 ** -(off[w + 1] - off[w]) for w in range(V)) == pytest.approx(1.0)  # a full binary tree
    lengths = np.diff(off)
    assert all(lengths[i] <= lengths[j] for i in range(V) for j in range(V) if counts[i] > counts[j])


def test_huffman_of_one_word_and_unsorted_counts():
    off, codes, points = huffman(np.array([7]))
    assert off.tolist() == [0, 1] and points.tolist() == [0]
    counts = np.array([3, 50, 1, 20])
    off, codes, points = huffman(counts)
    s_off, s_codes, s_points = huffman(np.sort(counts)[::-1])
    order = np.argsort(-counts, kind="stable")
    for rank, w in enumerate(order):
        assert codes[off[w]:off[w + 1]].tolist() == s_codes[s_off[rank]:s_off[rank + 1]].tolist()


def test_alias_sampling_follows_counts_to_the_three_quarters():
    counts = np.array([1000, 300, 50, 7, 1, 0, 120])
    ap, ai = noise_table(counts)
    s, hits = 0xDEADBEEF, np.zeros(len(counts))
    for _ in range(200_000):
        s = xs(s)
        hits[draw(s, ap, ai)] += 1
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(hits / hits.sum(), expected, atol=0.004)
    assert hits[5] == 0
    # the numba draw agrees with the Python one
    assert all(kernels.draw_negative(np.uint64(x), ap, ai) == draw(x, ap, ai)
               for x in (1, 2**40 + 17, M64, 0xABCDEF0123456789))


def test_subsampling_thresholds_follow_word2vec():
    counts = np.array([10_000, 1000, 10, 0])
    keep = keep_thresholds(counts, 1e-3)
    t = 1e-3 * counts.sum()
    for c, k in zip(counts[:3], keep[:3]):
        assert k / 2**32 == pytest.approx(min(1.0, (math.sqrt(c / t) + 1) * t / c), abs=1e-9)
    assert keep[3] == 2**32
    assert (keep_thresholds(counts, 0) == 2**32).all()
