"""Numba kernels of language-model generation: choosing a token from logits, and one fused generation step.

A generation step is ONE numba call per token: embedding row -> the whole recurrent stack -> the output
projection -> temperature / top-k sampling. Randomness comes in as a uniform number ``u`` drawn by the caller
from a seeded ``np.random.Generator``, so the kernel is pure.

Start-up matters here as much as speed: ``rnntools sample`` is a short process (200 characters take ~10 ms
of arithmetic), so these kernels use explicit loops, never ``np.dot``: loading a BLAS-using function from the
cache costs scipy.linalg (~0.2-0.45 s of imports), and at batch 1 a matrix-vector loop is as fast as a BLAS
call anyway. ``rnntools.jit`` loads them without numba's compiler set-up (which would import scipy too).
The weights come packed once per model (``rnntools.nn.kernels.pack_columns``), and the products
(``matvec_packed``) keep the summation order of ``rnntools.nn.kernels.small_matmul`` (four rows of W at a
time), so in float32 the sampler computes the same logits as the engine's batch-1 ``step_forward``.
"""

from __future__ import annotations

import numpy as np

from rnntools.jit import njit
from rnntools.nn.barrier import barrier
from rnntools.nn.kernels import _one, cell_units, matvec_packed


@njit(cache=True, nogil=True)
def pick_token(logits, temperature, top_k, u, probs):
    """Sample an index from ``softmax(logits / temperature)`` restricted to the ``top_k`` largest logits.

    logits: (V,); probs: (V,) float64 scratch (left holding the unnormalised probabilities); u in [0, 1).
    temperature <= 0 picks the argmax (greedy). top_k <= 0 or >= V keeps every token; logits tied with the
    k-th largest are all kept. Inverse-CDF sampling: the first v whose cumulative mass exceeds u * total.
    """
    V = logits.shape[0]
    best = 0
    for v in range(1, V):
        if logits[v] > logits[best]:
            best = v
    if temperature <= 0.0:
        return best
    threshold = -np.inf
    if 0 < top_k < V:
        threshold = np.sort(logits)[V - top_k]
    m = logits[best]
    total = 0.0
    for v in range(V):
        if logits[v] >= threshold:
            p = np.exp((logits[v] - m) / temperature)
        else:
            p = 0.0
        probs[v] = p
        total += p
    target = u * total
    acc = 0.0
    last = best
    for v in range(V):
        if probs[v] > 0.0:
            acc += probs[v]
            last = v
            if acc > target:
                return v
    return last  # u * total rounded above the sum


@njit(inline="always", error_model="numpy")
def _input_products(layer, token, inp, Wxs, table, ax):
    """Layer ``layer``'s input products ``inp @ Wx`` (into ``ax``), or the first layer's row of the input
    table when there is one (``input_table``: the same bits)."""
    if layer == 0 and table.shape[0] > 0:
        return table[token]
    matvec_packed(inp, Wxs[layer], ax)
    return ax


@njit(cache=True, nogil=True, error_model="numpy")
def stack_step(kind, token, embed, Whs, Wxs, table, bs, bns, h, c, a, ax):
    """Feed ``token`` through the L-layer stack at batch 1, updating the state in place.

    embed: (V, E); Whs[l]: the (H, GH) recurrent rows of layer l's W, Wxs[l]: its (D_l, GH) input rows, both
    packed by ``pack_columns``; bs[l]: (GH,); bns[l]: (H,) (GRU; anything otherwise); h, c: (L, H) state
    (c may be h itself for rnn/gru); a, ax: (>= P * NB,) scratch, P * NB being GH rounded up to a panel.
    table: (V, >= GH) the first layer's input products of every token (``input_table``), or (0, 0) to
    compute them. Gate order as in rnntools.nn: LSTM f, i, o, g; GRU r, z, n (reset after).
    """
    L = h.shape[0]
    one = _one(embed[0, 0])  # 1 in the arrays' dtype: float32 math stays float32
    inp = embed[token]
    for layer in range(L):
        hl = h[layer]
        matvec_packed(hl, Whs[layer], a)  # reads the old state before it is overwritten below
        x_part = _input_products(layer, token, inp, Wxs, table, ax)
        cell_units(kind, a, x_part, bs[layer], bns, layer, hl, c[layer], hl, c[layer], one)
        inp = hl


@njit(cache=True, nogil=True, error_model="numpy")
def input_table(embed, wx):
    """(V, P * NB): row v is ``embed[v] @ Wx`` of the first layer (wx: its (E, GH) input rows packed), the
    same bits ``stack_step`` computes per token. Why: a character model's vocabulary is about as large as its
    embedding, so a table of every token's product costs about the memory of Wx, and each token then reads
    one row instead of streaming all of Wx (at batch 1, generation's time is the weights it streams: 11-30%
    of them for the benchmark's models)."""
    V = embed.shape[0]
    table = np.empty((V, wx.shape[0] * wx.shape[2]), embed.dtype)
    for v in range(V):
        matvec_packed(embed[v], wx, table[v])
    return table


@njit(cache=True, nogil=True, error_model="numpy")
def feed_tokens(kind, ids, embed, Whs, Wxs, table, bs, bns, h, c, a, ax):
    """Read a prime: ``stack_step`` for each of ids (n,) int32, without the output projection."""
    for t in range(ids.shape[0]):
        stack_step(kind, ids[t], embed, Whs, Wxs, table, bs, bns, h, c, a, ax)


@njit(cache=True, nogil=True, error_model="numpy")
def sample_step(kind, token, embed, Whs, Wxs, table, bs, bns, h, c, projW, projb, a, ax, logits, probs,
                temperature, top_k, u):
    """Feed ``token`` and return the next one: the stack, logits = h_top @ projW + projb, ``pick_token``.

    h, c: (L, H) state updated in place; projW: (H, V) packed by ``pack_columns``; projb: (V,); a, ax:
    ``stack_step``'s scratch; logits: (>= projW's P * NB,) scratch, its first V the logits; probs: (V,)
    float64 scratch.
    """
    stack_step(kind, token, embed, Whs, Wxs, table, bs, bns, h, c, a, ax)
    top = h[h.shape[0] - 1]
    matvec_packed(top, projW, logits)
    V = probs.shape[0]
    for v in range(V):
        logits[v] += projb[v]
    return pick_token(logits[:V], temperature, top_k, u, probs)


@njit(cache=True, nogil=True, error_model="numpy")
def sample_tokens(kind, token, embed, Whs, Wxs, table, bs, bns, h, c, projW, projb, a, ax, logits, probs,
                  temperature, top_k, us, until, out):
    """``sample_step`` once per uniform in ``us`` (n,) float64: feeds ``token``, then each token drawn,
    writing them to ``out`` (n,) int; stops after writing ``until`` (-1: never). Returns how many were
    written. Why a run of tokens per call: at batch 1, one call with tuples of arrays costs several
    microseconds, more than the whole step of a small model (8 of the 10 us of an RNN-256 token)."""
    n = 0
    for i in range(us.shape[0]):
        token = sample_step(kind, token, embed, Whs, Wxs, table, bs, bns, h, c, projW, projb, a, ax, logits, probs,
                            temperature, top_k, us[i])
        out[i] = token
        n = i + 1
        if token == until:
            break
    return n


@njit(cache=True, nogil=True, error_model="numpy")
def sample_tokens_part(part, parts, flags, seq, kind, token, embed, Whs, Wxs, table, bs, bns, u0, U, hbuf, c,
                       projW, projb, v0, v1, a, ax, lg, logits, probs, temperature, top_k, us, until, out):
    """Thread ``part``'s share of ``sample_tokens`` when ``parts`` threads generate each token together;
    every thread runs this at once with its own ``part`` and arrays, and the tokens are those of
    ``sample_tokens`` bit for bit. Why: a model whose weights exceed a core's L2 cache is streamed from
    further away once per token; split by units, each core streams half and may hold it in its own L2.

    A part owns the hidden units u0..u0+U-1 of every layer: Whs[l], Wxs[l] are the columns of its units
    for every gate, gate after gate, packed by ``pack_columns``; bs[l] its biases in that order, bns[l]
    (GRU) those of its units; table its input table; projW its logit columns v0..v1-1 packed; projb every
    logit's bias; a, ax, lg, probs its scratch. Shared by all parts: hbuf (2, L, H), the state before the
    run in hbuf[0] and after token i in hbuf[(i + 1) % 2] (two buffers, so that no part overwrites a state
    another is still reading); c (L, H) (LSTM; each part touches its units only); logits (>= V,), each
    part writes its columns, then all read them; flags, the barrier's counters (``rnntools.nn.barrier``),
    ``seq`` the last meeting so far. Every part picks the token itself from the same logits and uniform,
    so no meeting follows the pick; part 0 writes ``out``. Returns (tokens written, last meeting).
    """
    L = hbuf.shape[1]
    one = _one(embed[0, 0])
    V = probs.shape[0]
    n = 0
    for i in range(us.shape[0]):
        cur = hbuf[i % 2]
        nxt = hbuf[(i + 1) % 2]
        inp = embed[token]
        for layer in range(L):
            matvec_packed(cur[layer], Whs[layer], a)
            x_part = _input_products(layer, token, inp, Wxs, table, ax)
            cell_units(kind, a, x_part, bs[layer], bns, layer, cur[layer, u0:u0 + U], c[layer, u0:u0 + U],
                       nxt[layer, u0:u0 + U], c[layer, u0:u0 + U], one)
            seq += 1
            barrier(flags, part, parts, seq)
            inp = nxt[layer]
        matvec_packed(nxt[L - 1], projW, lg)
        for v in range(v0, v1):
            logits[v] = lg[v - v0] + projb[v]
        seq += 1
        barrier(flags, part, parts, seq)
        token = pick_token(logits[:V], temperature, top_k, us[i], probs)
        if part == 0:
            out[i] = token
        n = i + 1
        if token == until:
            break
    return n, seq
