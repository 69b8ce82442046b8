"""Numba kernels of language-model generation: choosing a token from logits, and one fused generation step.

A generation step is ONE numba call per token: embedding row -> the whole recurrent stack and the output
projection (``rnntools.nn.kernels.step_forward``) -> temperature / top-k sampling. Randomness comes in as a
uniform number ``u`` drawn by the caller from a seeded ``np.random.Generator``, so the kernel is pure.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rnntools.nn.kernels import LSTM, step_forward


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


@njit(cache=True, nogil=True)
def generate_step(kind, token, embed, Whs, Wxs, bs, bns, h, c, projW, projb, h2, c2, x, logits, probs,
                  temperature, top_k, u):
    """Feed ``token`` and return the next one, updating the state in place.

    embed: (V, E); Whs/Wxs/bs/bns: per-layer tuples as in ``step_forward``; h, c: (L, 1, H) state (c is
    h for rnn/gru); h2, c2: (L, 1, H) scratch; x: (1, E) scratch; logits: (1, V); probs: (V,) float64.
    """
    x[0, :] = embed[token]
    step_forward(kind, x, Whs, Wxs, bs, bns, h, c, projW, projb, h2, c2, logits)
    h[:, :, :] = h2
    if kind == LSTM:
        c[:, :, :] = c2
    return pick_token(logits[0], temperature, top_k, u, probs)
