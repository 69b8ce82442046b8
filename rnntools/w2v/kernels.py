"""Numba kernels for word2vec: negative sampling or hierarchical softmax, plain or subword inputs.

Nothing here knows files, vocabularies or logging: int32 ids and float arrays in, arrays updated in
place, a loss out. The kernels are dtype-generic: float32 for training, float64 for the reference and
gradient tests.

Shapes: V vocabulary size, D vector size, K negatives, N words in a batch.
    w_in:  (V, D)  input vectors (the word vectors users get)        word2vec's syn0
    w_out: (V, D)  output weights of the negative-sampling classifier word2vec's syn1neg
           (V-1, D) with hierarchical softmax: one row per inner node of the Huffman tree (syn1)
    Subword models (fastText): w_in is (V + B, D), the words' own rows then B hashed n-gram buckets.

Optional parts come in as arrays that are empty when unused (numba compiles one kernel for all of them):
    hs_off (V+1,) int64, hs_codes (L,) uint8, hs_points (L,) int32: word w's Huffman path is
        hs_points[hs_off[w]:hs_off[w+1]] (inner nodes from the root) with the branches taken, hs_codes;
        empty hs_off means negative sampling.
    sub_off (V+1,) int64, sub_ids (S,) int32: word w's input rows are sub_ids[sub_off[w]:sub_off[w+1]]
        (its own row and its n-gram buckets); empty sub_off means one row per word, row w.

The helpers are ``inline="always"`` (inlined into the batch kernels at numba's IR level): calls between
jitted functions that pass arrays touch the arrays' shared reference counts; in a quick test, two threads
ran no faster than one with them, about 1.35x faster without.
Rows are always indexed in place (``w[row, d]``), never taken as views: a view costs an atomic
reference-count increment and decrement on the whole matrix, which threads sharing it fight over.

Randomness comes in as ``state``, a (1,) uint64 xorshift64 state per thread, updated in place; the
same state and the same inputs give the same updates. Sentences in a batch are separated by -1.

Why fused loops rather than BLAS (gensim calls sdot/saxpy per 100-float vector): at D≈100 the call
overhead dominates; a loop over D compiled with fastmath vectorises, and the pair update reads each row
once (dot product) and writes it once (fused axpy into the output row and the input gradient).
"""

from __future__ import annotations

import math

import numpy as np

from rnntools.jit import njit

MAX_F = 20.0  # |u.v| is clipped here before exp: sigmoid is 1 - 2e-9 at 20, and exp cannot overflow

_M32 = np.uint64(0xFFFFFFFF)
_S13 = np.uint64(13)
_S7 = np.uint64(7)
_S17 = np.uint64(17)
_S32 = np.uint64(32)


@njit(cache=True, nogil=True, inline="always")
def xorshift(s):
    """Next state of a xorshift64 generator (Marsaglia 2003, shifts 13/7/17); s: uint64, never 0."""
    s ^= s << _S13
    s ^= s >> _S7
    s ^= s << _S17
    return s


@njit(cache=True, nogil=True, inline="always")
def draw_negative(s, alias_prob, alias_idx):
    """A word from the noise distribution by Walker's alias method, from one 64-bit random number:
    the high 32 bits pick a column (multiply-shift, no modulo), the low 32 bits choose it or its alias.
    alias_prob: (V,) uint64 thresholds in [0, 2**32]; alias_idx: (V,) int32."""
    V = np.uint64(alias_prob.shape[0])
    col = ((s >> _S32) * V) >> _S32
    if (s & _M32) < alias_prob[col]:
        return np.int64(col)
    return np.int64(alias_idx[col])



TABLE_MAX = 6.0  # word2vec.c's MAX_EXP: beyond +-6 the sigmoid saturates to 1 or 0 (|error| < 2.5e-3)
TABLE_SIZE = 996  # bins of 1/83: word2vec.c's lookup, see sigmoid_tables


def sigmoid_tables() -> tuple[np.ndarray, np.ndarray]:
    """word2vec.c's sigmoid lookup: (q, loss) tables, float64. q has TABLE_SIZE entries; the kernels read
    q[int((f + TABLE_MAX) * TABLE_SIZE / (2 * TABLE_MAX))] = q[int((f + 6) * 83)] for |f| < 6.

    Why this exact table: word2vec.c fills expTable[i] = sigmoid(-6 + 12 i / 1000) (1000 entries) but reads
    expTable[(int)((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))], and 1000 / 6 / 2 is integer division
    in C: 83, not 83.3. Entry i is therefore read for f in [i/83 - 6, (i+1)/83 - 6), only entries 0..995
    are reachable, and on average the lookup returns sigmoid(0.996 f - 0.030): slightly below the true
    sigmoid, so positive pairs get a little more gradient and noise words a little less. gensim 4 compiles
    the same expression (its generated C reads ``((0x3E8 / 6) / 2)``). The bias is part of the algorithm
    both references run: with an unbiased table (2048 bin centres over +-8, used here before) our
    skip-gram's positive pairs ended with a higher loss and its noise words with a lower one than
    gensim's, by about what a 0.03 shift of the logit predicts, and its analogy accuracy was about a
    point lower; with this lookup both match within the noise (CBOW, though, scored about half a point
    lower with it: open; README, "Speed and quality against gensim").
    Tables rather than exp and log1p: an exact pair of them per prediction cost more than the 100-float
    dot product and updates around them. Pass empty tables for the exact math (the gradient checks do).

    loss: (2 * TABLE_SIZE,), -log q in the first half (a true word in that bin), -log(1 - q) in the second
    (a noise word); only for the reported loss.
    """
    q = 1.0 / (1.0 + np.exp(-(-TABLE_MAX + (2 * TABLE_MAX / 1000) * np.arange(TABLE_SIZE))))
    return q, np.concatenate([-np.log(q), -np.log1p(-q)])


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def _exact_sigmoid(x, positive):
    """Without the lookup tables: (q, loss) = (sigmoid(x), -log q for a true word or -log(1 - q) for a
    noise word), x clamped where exp would overflow."""
    x = min(max(x, -MAX_F), MAX_F)
    return 1.0 / (1.0 + math.exp(-x)), math.log1p(math.exp(-x if positive else x))


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def ns_update(src, row, w_out, targets, lr, work, sig, logsig):
    """Negative-sampling update of one input vector ``src[row]`` against ``targets``; returns the loss.

    src: (R, D) holding the input in row ``row`` (w_in for skip-gram, the (1, D) context mean for CBOW),
    read only here; targets: (K+1,) int32, targets[0] the true word (label 1), the rest noise words
    (label 0), -1 = skip; work: (D,) receives the input's step, += lr * -dL/dsrc[row] (the caller adds
    it to the input rows); the targets' rows of w_out are updated in place by lr * -dL/dw_out[t], one
    target after another (word2vec's order: the input's step uses each output row before its update).
    sig, logsig: the tables from sigmoid_tables() (word2vec.c's lookup, saturating beyond +-TABLE_MAX as
    word2vec.c does), or empty for exact math.
    Loss: -log sigmoid(src[row].w_out[t0]) - sum_k log sigmoid(-src[row].w_out[tk]).
    """
    D = src.shape[1]
    T = sig.shape[0]
    scale = T / (2.0 * TABLE_MAX)
    loss = 0.0
    for k in range(targets.shape[0]):
        t = targets[k]
        if t < 0:
            continue
        f = work.dtype.type(0)
        for d in range(D):
            f += src[row, d] * w_out[t, d]
        x = float(f)
        # q = sigmoid(x), looked up at x itself for both labels (as word2vec.c): the table's bias is
        # one-sided, and 1 - q(-x) would turn it around for the noise words
        if T == 0:
            q, pair_loss = _exact_sigmoid(x, k == 0)
            loss += pair_loss
        elif x >= TABLE_MAX:
            q = 1.0
            if k != 0:
                loss += x
        elif x <= -TABLE_MAX:
            q = 0.0
            if k == 0:
                loss -= x
        else:
            i = int((x + TABLE_MAX) * scale)
            q = sig[i]
            loss += logsig[i] if k == 0 else logsig[T + i]
        # label 1: g = lr (1 - q); label 0: g = -lr q
        g = work.dtype.type((1.0 - q) * lr if k == 0 else -q * lr)
        for d in range(D):
            work[d] += g * w_out[t, d]
            w_out[t, d] += g * src[row, d]
    return loss


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def hs_update(src, row, w_out, points, codes, lo, hi, lr, work, sig, logsig, gs):
    """Hierarchical-softmax update of ``src[row]`` along one word's Huffman path; returns the loss.

    points[lo:hi]: the inner nodes (rows of w_out) from the root down; codes[lo:hi]: the branch taken at
    each (word2vec's convention: the node's label is 1 - code). work += lr * -dL/dsrc[row]; the nodes'
    rows are updated in place, one after another, as ns_update does.
    Loss: sum over the path of -log sigmoid((1 - 2 code) src[row].w_out[node]).
    With the lookup tables, a node whose |dot| is beyond TABLE_MAX gets no update (word2vec.c and gensim
    ``continue`` there: the prediction is already saturated); with empty tables the math is exact.
    gs: (>= hi - lo,) scratch (path_scratch), the path's dots, then its gradient scales.

    Why in four passes rather than word2vec's one loop per node: src is not changed along the path and the
    nodes on it are distinct, so every dot depends only on src and its own node's row as it was, and the
    input's step uses each row before that row's update; doing all dots first, then all gradients, then
    the input's step, then the nodes' steps is the same arithmetic (up to the order of float additions).
    The dots are then independent (the CPU overlaps them instead of waiting for each sum), and four rows
    share each read of src and each read and write of work: fewer loads and stores per node, which is
    what the per-node loops were bound by.
    """
    D = src.shape[1]
    T = sig.shape[0]
    scale = T / (2.0 * TABLE_MAX)
    loss = 0.0
    # 1. the dots, four nodes at a time (each src[row, d] read once for four rows)
    k = lo
    while k + 4 <= hi:
        t0, t1, t2, t3 = points[k], points[k + 1], points[k + 2], points[k + 3]
        f0 = f1 = f2 = f3 = work.dtype.type(0)
        for d in range(D):
            x = src[row, d]
            f0 += x * w_out[t0, d]
            f1 += x * w_out[t1, d]
            f2 += x * w_out[t2, d]
            f3 += x * w_out[t3, d]
        gs[k - lo], gs[k + 1 - lo], gs[k + 2 - lo], gs[k + 3 - lo] = f0, f1, f2, f3
        k += 4
    while k < hi:
        t = points[k]
        f = work.dtype.type(0)
        for d in range(D):
            f += src[row, d] * w_out[t, d]
        gs[k - lo] = f
        k += 1
    # 2. each node's gradient scale, 0 where the lookup saturates (word2vec.c skips those nodes)
    for k in range(lo, hi):
        label = 1.0 - codes[k]
        x = float(gs[k - lo])
        if T == 0:
            q, pair_loss = _exact_sigmoid(x, label > 0.5)
            loss += pair_loss
        elif x >= TABLE_MAX:
            if label < 0.5:
                loss += x
            gs[k - lo] = 0
            continue
        elif x <= -TABLE_MAX:
            if label > 0.5:
                loss -= x
            gs[k - lo] = 0
            continue
        else:
            i = int((x + TABLE_MAX) * scale)
            q = sig[i]
            loss += logsig[i] if label > 0.5 else logsig[T + i]
        gs[k - lo] = (label - q) * lr
    # 3. the input's step from the rows as they were (word2vec's order), four rows per pass over work
    k = lo
    while k + 4 <= hi:
        t0, t1, t2, t3 = points[k], points[k + 1], points[k + 2], points[k + 3]
        g0, g1, g2, g3 = gs[k - lo], gs[k + 1 - lo], gs[k + 2 - lo], gs[k + 3 - lo]
        for d in range(D):
            work[d] += g0 * w_out[t0, d] + g1 * w_out[t1, d] + g2 * w_out[t2, d] + g3 * w_out[t3, d]
        k += 4
    while k < hi:
        t = points[k]
        g = gs[k - lo]
        for d in range(D):
            work[d] += g * w_out[t, d]
        k += 1
    # 4. the nodes' steps
    for k in range(lo, hi):
        g = gs[k - lo]
        if g == 0:
            continue
        t = points[k]
        for d in range(D):
            w_out[t, d] += g * src[row, d]
    return loss


@njit(cache=True, nogil=True, inline="always")
def path_scratch(hs_off, work):
    """hs_update's scratch for one path's dots and gradients: (longest path,) of work's dtype, allocated once
    per batch (an O(V) scan, small beside a batch's 10k words)."""
    longest = 1
    for w in range(hs_off.shape[0] - 1):
        longest = max(longest, hs_off[w + 1] - hs_off[w])
    return np.empty(longest, work.dtype)


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def centre_pairs(w_in, buf, pos, lo, hi, rows, ids, codes, n, lr, work, sig, logsig, gs, hs):
    """The pairs of one skip-gram centre on a copy of its output rows: each context word buf[j] (lo <= j <
    hi, j != pos) in turn predicts the centre from ``rows`` (hs: along the path rows[ids[0..n)] with
    ``codes``, hs_update; else against rows[ids], ns_update, ids of length n), word2vec's per-pair order:
    the rows change pair after pair, and each context's input row takes its step after its pair. Returns
    (loss, predictions)."""
    D = w_in.shape[1]
    loss = 0.0
    predictions = 0
    for j in range(lo, hi):
        if j == pos:
            continue
        c = buf[j]
        for d in range(D):
            work[d] = 0
        if hs:
            loss += hs_update(w_in, c, rows, ids, codes, 0, n, lr, work, sig, logsig, gs)
        else:
            loss += ns_update(w_in, c, rows, ids, lr, work, sig, logsig)
        predictions += n
        for d in range(D):
            w_in[c, d] += work[d]
    return loss, predictions


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def sg_hs_centre(w_in, w_out, buf, pos, lo, hi, lr, work, sig, logsig, hs_off, hs_codes, hs_points, gs, path_rows,
                 path_start, path_ids, path_codes):
    """Skip-gram with hierarchical softmax for one centre: each context word buf[j] (lo <= j < hi, j != pos)
    in turn predicts the centre buf[pos] along its Huffman path, exactly word2vec's per-pair order (each
    pair sees the node rows as the previous pair left them; each context's input row takes its step after
    its walk); returns (loss, predictions).

    All pairs of a centre walk the same path, so its L node rows are copied once into path_rows (L, D) (and
    path_start, as they were), the pairs update the copy, and each shared row of w_out takes the
    difference, ``w_out[node] += path_rows - path_start``, once at the end. Why: with the rows updated in
    w_out itself, every pair wrote the top nodes, which are on nearly every path, so two threads passed
    those cache lines back and forth on every prediction and two threads trained slower than one; now the
    shared rows are read and written once per centre instead of once per pair (about 6 times fewer). Why
    the difference rather than the copy: another thread may have stepped the same rows meanwhile
    (Hogwild), and adding ours keeps its step. Within a thread the arithmetic is word2vec's, up to float
    rounding of the difference; only what another thread's steps are seen by changes, as Hogwild allows.
    (Summing the pairs' node steps instead, the rows as they were before the centre for every pair, a
    mini-batch, was slower on two threads, since the pairs still read the shared rows, and trained to a
    higher loss: docs/word2vec.md.)
    path_ids: (>= L,) int32 holding 0, 1, 2, ...; path_codes: (>= L,) scratch of hs_codes' dtype.
    """
    D = w_in.shape[1]
    w = buf[pos]
    a, b = hs_off[w], hs_off[w + 1]
    L = b - a
    for k in range(L):
        t = hs_points[a + k]
        path_codes[k] = hs_codes[a + k]
        for d in range(D):
            x = w_out[t, d]
            path_rows[k, d] = x
            path_start[k, d] = x
    loss, predictions = centre_pairs(w_in, buf, pos, lo, hi, path_rows, path_ids, path_codes, L, lr, work, sig,
                                     logsig, gs, True)
    for k in range(L):
        t = hs_points[a + k]
        for d in range(D):
            w_out[t, d] += path_rows[k, d] - path_start[k, d]
    return loss, predictions


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def sg_ns_centre(w_in, w_out, buf, pos, lo, hi, lr, work, sig, logsig, targets, rows, start, ids, codes, gs):
    """Skip-gram with negative sampling for one centre, its noise words shared by the centre's pairs: each
    context word buf[j] (lo <= j < hi, j != pos) in turn predicts the centre buf[pos] against the same
    noise words ``targets[1:]`` (drawn once for the centre by the caller; targets[0] is the centre);
    returns (loss, predictions).

    The K + 1 target rows are copied once into ``rows`` (K + 1, D) (and ``start``, as they were); each pair
    is ns_update on the copy, in word2vec's order (the pair sees the rows as the previous pair left them;
    the context's input row takes its step after its pair), and each shared row of w_out takes the
    difference, ``w_out[t] += rows[k] - start[k]``, once at the end. ids: (K + 1,) int32 scratch: the
    copy each target uses (its first occurrence in targets), -1 where it is skipped (a noise draw equal to
    the centre). codes, gs: centre_pairs' hierarchical-softmax arguments, unused here (any arrays of
    hs_codes' and hs_update's scratch types).

    Why: with a fresh draw per pair (word2vec's and gensim's sampling) every pair reads and writes six
    rows of w_out, and the noise words are the most frequent words, which the other thread writes too;
    passing those cache lines between cores dominated two-thread training, and by how much depended on
    which cores the threads ran on (two threads ran at 1.15x to 2x one thread's speed from one process to
    the next). Shared per centre, the rows of w_out are read and written once per centre instead of once
    per pair (about six times fewer), and a centre draws K noise words instead of K per pair. Sharing noise
    words within a window is the mini-batching of Ji et al. 2016 ("Parallelizing word2vec in shared and
    distributed memory"; also BlazingText's batch skip-gram), here with word2vec's sequential pairs kept;
    what it does to accuracy is measured in docs/word2vec.md. Why the difference rather than the copy:
    as in sg_hs_centre, another thread's steps to the same rows meanwhile are kept.
    """
    D = w_in.shape[1]
    K1 = targets.shape[0]
    for k in range(K1):
        t = targets[k]
        ids[k] = -1 if t < 0 else k
        for e in range(k):  # a word drawn twice: one copy, stepped twice per pair as w_out's row would be
            if targets[e] == t and t >= 0:
                ids[k] = e
                break
        if ids[k] != k:
            continue
        for d in range(D):
            x = w_out[t, d]
            rows[k, d] = x
            start[k, d] = x
    loss, predictions = centre_pairs(w_in, buf, pos, lo, hi, rows, ids, codes, K1, lr, work, sig, logsig, gs,
                                     False)
    for k in range(K1):
        if ids[k] != k:
            continue
        t = targets[k]
        for d in range(D):
            w_out[t, d] += rows[k, d] - start[k, d]
    return loss, predictions


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def predict(src, row, w_out, word, lr, work, sig, logsig, s, targets, alias_prob, alias_idx, hs_off, hs_codes,
            hs_points, gs):
    """``src[row]`` predicts ``word`` by negative sampling (noise words drawn here) or, when hs_off is not
    empty, along its Huffman path (gs: hs_update's scratch); returns (loss, predictions made, new random state)."""
    if hs_off.shape[0] > 0:
        lo, hi = hs_off[word], hs_off[word + 1]
        loss = hs_update(src, row, w_out, hs_points, hs_codes, lo, hi, lr, work, sig, logsig, gs)
        return loss, np.int64(hi - lo), s
    s = fill_targets(s, word, targets, alias_prob, alias_idx)
    return ns_update(src, row, w_out, targets, lr, work, sig, logsig), np.int64(targets.shape[0]), s


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def mean_rows(w_in, rows, n, hidden, work):
    """hidden[0] = mean of w_in[rows[:n]]; work zeroed."""
    D = w_in.shape[1]
    for d in range(D):
        hidden[0, d] = 0
        work[d] = 0
    for j in range(n):
        w = rows[j]
        for d in range(D):
            hidden[0, d] += w_in[w, d]
    inv = hidden.dtype.type(1.0 / n)
    for d in range(D):
        hidden[0, d] *= inv


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def add_rows(w_in, rows, n, work):
    """w_in[rows[:n]] += work, each row the whole step (word2vec's CBOW and fastText do not divide it)."""
    D = w_in.shape[1]
    for j in range(n):
        w = rows[j]
        for d in range(D):
            w_in[w, d] += work[d]


@njit(cache=True, nogil=True, inline="always")
def gather_rows(word, sub_off, sub_ids, rows, n):
    """Append word's input rows (itself, or its subword rows) to rows[n:]; returns the new count."""
    if sub_off.shape[0] == 0:
        rows[n] = word
        return n + 1
    for k in range(sub_off[word], sub_off[word + 1]):
        rows[n] = sub_ids[k]
        n += 1
    return n


@njit(cache=True, nogil=True, inline="always", fastmath=True)
def sg_pair(w_in, w_out, context, targets, lr, work, sig, logsig):
    """One skip-gram update: the input vector of ``context`` predicts targets; returns the loss."""
    D = w_in.shape[1]
    for d in range(D):
        work[d] = 0
    loss = ns_update(w_in, context, w_out, targets, lr, work, sig, logsig)
    for d in range(D):
        w_in[context, d] += work[d]
    return loss


@njit(cache=True, nogil=True, inline="always")
def fill_targets(s, word, targets, alias_prob, alias_idx):
    """targets[0] = word, targets[1:] = noise words (-1 where a draw hit ``word``: word2vec skips it).
    Returns the new random state."""
    targets[0] = word
    for k in range(1, targets.shape[0]):
        s = xorshift(s)
        t = draw_negative(s, alias_prob, alias_idx)
        targets[k] = -1 if t == word else t
    return s


@njit(cache=True, nogil=True, inline="always")
def subsample_sentence(words, start, keep, s, buf):
    """Copy words[start:] up to the next -1 into buf, keeping word w with probability keep[w] / 2**32.
    Returns (number kept, index after the sentence end, new state, words read)."""
    N = words.shape[0]
    n = 0
    i = start
    while i < N and words[i] >= 0:
        w = words[i]
        s = xorshift(s)
        if (s & _M32) < keep[w]:
            buf[n] = w
            n += 1
        i += 1
    return n, i + 1, s, i - start


@njit(cache=True, nogil=True, inline="always")
def reduced_window(s, window, pos, n):
    """word2vec's dynamic window: b uniform in 0..window-1, context positions lo..hi-1 (pos excluded)."""
    b = np.int64(s % np.uint64(window))
    return max(0, pos - window + b), min(n, pos + window + 1 - b)


@njit(cache=True, nogil=True, fastmath=True)
def train_batch_sg(words, w_in, w_out, keep, alias_prob, alias_idx, window, lr, state, buf, targets, work,
                   sig, logsig, hs_off, hs_codes, hs_points, sub_off, sub_ids, rows, hidden, share_negatives):
    """Skip-gram over a batch of sentences; returns (loss sum, predictions, words).

    words: (N,) int32 ids, -1 between sentences; keep: (V,) uint64 subsampling thresholds (2**32: always);
    alias_prob/alias_idx: the noise distribution (see draw_negative); window: the maximum window (each
    position draws its own, see reduced_window); buf: (N,) int32 scratch; targets: (K+1,) int32 scratch
    (K negatives); work: (D,) scratch; state: (1,) uint64; sig, logsig: see ns_update; hs_*, sub_*: see
    the module docstring; rows: (max subword rows,) int32 scratch; hidden: (1, D) scratch.
    Subword: hidden is (2, D).
    Plain: each (centre, context) pair trains the context word's input vector to predict the centre word
    (word2vec's and gensim's order); with negative sampling and ``share_negatives`` the pairs of a centre
    share its noise words (sg_ns_centre), else each pair draws its own; with hierarchical softmax every
    node of the centre's path steps at once, as in word2vec, on a thread-local copy of the path written
    back once per centre (sg_hs_centre). ``share_negatives`` means nothing to subword models.
    Subword: the mean of the centre word's rows predicts each context word (fastText's order: the n-grams
    of the word in hand describe it); the mean is computed once per centre and moved by each pair's step,
    and the rows take the summed steps once per centre: the same sequence of inputs as fastText's per-pair
    mean and updates, without re-reading ~20 rows per pair.
    ``words`` counts the corpus words read, before subsampling.
    Random draws, in order: one per word (subsampling) for the sentence; then per position one for the
    window and, per context word (with share_negatives: per centre with a context), one per negative.
    """
    s = state[0]
    N = words.shape[0]
    gs = path_scratch(hs_off, work)
    loss = 0.0
    predictions = 0
    read = 0
    start = 0
    subword = sub_off.shape[0] > 0
    total = hidden[1] if subword else work  # the summed step of the centre's rows
    hs_path = hs_off.shape[0] > 0 and not subword
    # sg_hs_centre's copy of one path: (longest path, D) twice, node ids 0..L-1, codes
    path_rows = np.empty((gs.shape[0] if hs_path else 0, w_in.shape[1]), work.dtype)
    path_start = np.empty_like(path_rows)
    path_ids = np.arange(path_rows.shape[0]).astype(np.int32)
    path_codes = np.empty(path_rows.shape[0], hs_codes.dtype)
    # sg_ns_centre's copy of the centre's target rows
    ns_shared = share_negatives and hs_off.shape[0] == 0 and not subword
    noise_rows = np.empty((targets.shape[0] if ns_shared else 0, w_in.shape[1]), work.dtype)
    noise_start = np.empty_like(noise_rows)
    noise_ids = np.empty(targets.shape[0], np.int32)
    while start < N:
        n, start, s, r = subsample_sentence(words, start, keep, s, buf)
        read += r
        for pos in range(n):
            s = xorshift(s)
            lo, hi = reduced_window(s, window, pos, n)
            if subword:
                if hi - lo <= 1:
                    continue
                m = gather_rows(buf[pos], sub_off, sub_ids, rows, 0)
                mean_rows(w_in, rows, m, hidden, total)
                D = w_in.shape[1]
                for j in range(lo, hi):
                    if j == pos:
                        continue
                    for d in range(D):
                        work[d] = 0
                    l_, k_, s = predict(hidden, 0, w_out, buf[j], lr, work, sig, logsig, s, targets, alias_prob,
                                        alias_idx, hs_off, hs_codes, hs_points, gs)
                    # each row of the mean takes the step, so the mean takes it too: the next context word
                    # sees the updated input, as fastText's per-pair updates give it
                    for d in range(D):
                        hidden[0, d] += work[d]
                        total[d] += work[d]
                    loss += l_
                    predictions += k_
                add_rows(w_in, rows, m, total)
                continue
            if hs_path:
                if hi - lo > 1:
                    l_, k_ = sg_hs_centre(w_in, w_out, buf, pos, lo, hi, lr, work, sig, logsig, hs_off, hs_codes,
                                          hs_points, gs, path_rows, path_start, path_ids, path_codes)
                    loss += l_
                    predictions += k_
                continue
            if ns_shared:
                if hi - lo > 1:
                    s = fill_targets(s, buf[pos], targets, alias_prob, alias_idx)
                    l_, k_ = sg_ns_centre(w_in, w_out, buf, pos, lo, hi, lr, work, sig, logsig, targets, noise_rows,
                                          noise_start, noise_ids, path_codes, gs)
                    loss += l_
                    predictions += k_
                continue
            D = w_in.shape[1]
            for j in range(lo, hi):
                if j == pos:
                    continue
                c = buf[j]
                for d in range(D):
                    work[d] = 0
                l_, k_, s = predict(w_in, c, w_out, buf[pos], lr, work, sig, logsig, s, targets, alias_prob,
                                    alias_idx, hs_off, hs_codes, hs_points, gs)
                for d in range(D):
                    w_in[c, d] += work[d]
                loss += l_
                predictions += k_
    state[0] = s
    return loss, predictions, read


@njit(cache=True, nogil=True, fastmath=True)
def train_batch_cbow(words, w_in, w_out, keep, alias_prob, alias_idx, window, lr, state, buf, targets, work,
                     sig, logsig, hs_off, hs_codes, hs_points, sub_off, sub_ids, rows, hidden, share_negatives):
    """CBOW (context mean) over a batch of sentences; returns (loss sum, predictions, words).
    Arguments as train_batch_sg (share_negatives has no use: a centre is one prediction); rows: (2 * window * max
    rows per word,) int32 scratch. The mean is over
    the context words' rows (with subwords: all their n-gram rows, as fastText); each row gets the whole
    step, as word2vec and gensim (cbow_mean=1) do.
    Random draws: per sentence as skip-gram; per position one for the window, then one per negative."""
    s = state[0]
    N = words.shape[0]
    gs = path_scratch(hs_off, work)
    loss = 0.0
    predictions = 0
    read = 0
    start = 0
    while start < N:
        n, start, s, r = subsample_sentence(words, start, keep, s, buf)
        read += r
        for pos in range(n):
            s = xorshift(s)
            lo, hi = reduced_window(s, window, pos, n)
            if hi - lo <= 1:
                continue
            m = 0
            for j in range(lo, hi):
                if j != pos:
                    m = gather_rows(buf[j], sub_off, sub_ids, rows, m)
            mean_rows(w_in, rows, m, hidden, work)
            l_, k_, s = predict(hidden, 0, w_out, buf[pos], lr, work, sig, logsig, s, targets, alias_prob,
                                alias_idx, hs_off, hs_codes, hs_points, gs)
            add_rows(w_in, rows, m, work)
            loss += l_
            predictions += k_
    state[0] = s
    return loss, predictions, read
