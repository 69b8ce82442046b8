"""The language model: embedding -> recurrent stack -> dense softmax over the vocabulary (``rnntools.nn``'s
public layers only), and what it computes: training loss and gradients, log-likelihoods of a stream or of
single lines.

``embed.W`` (V, E) -> ``rnn`` stack (``rnntools.nn.Recurrent``) -> ``out.W`` (H, V), ``out.b`` (V,) ->
softmax. Loss: mean cross-entropy per predicted token (nats); bits per character = total bits / number of
characters predicted (at word level, characters of the words plus spaces and line breaks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rnntools import nn
from rnntools.tasks.lm.data import StreamBatches, encode_chars, line_end_id

TOKEN_BUDGET = 1 << 22  # scoring: at most this many logits (B * T * V) at once


class LanguageModel:
    """Embedding -> recurrent stack -> dense softmax over the vocabulary, parameters in one flat dict."""

    def __init__(self, vocab_size: int, *, cell: str, hidden: int, layers: int, embed_dim: int,
                 dropout: float = 0.0, params: dict | None = None, pretrained: np.ndarray | None = None,
                 freeze_embeddings: bool = False, seed: int = 1, dtype=np.float32):
        rng = np.random.default_rng([seed, 3])
        self.params = params if params is not None else {}
        self.vocab_size, self.cell, self.hidden, self.layers = vocab_size, cell, hidden, layers
        self.embed_dim, self.dropout = embed_dim, dropout
        self.embed = nn.Embedding(self.params, "embed", vocab_size, embed_dim, pretrained=pretrained,
                                  trainable=not freeze_embeddings, rng=rng, dtype=dtype)
        # embedding rows stay N(0, 1) as nn.Embedding draws them (PyTorch's choice too): measured on
        # book.txt, scaling them by 0.1 cost 0.36 bpc after 135 updates (3.25 vs 2.89)
        self.rnn = nn.Recurrent(self.params, "rnn", cell, embed_dim, hidden, layers, dropout=dropout, rng=rng,
                                dtype=dtype)
        self.out = nn.Dense(self.params, "out", hidden, vocab_size, rng=rng, dtype=dtype)

    def trainable(self) -> list[str]:
        return self.embed.names() + self.rnn.names() + self.out.names()

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray, state, rng=None, train: bool = True):
        """x, y: (T, B) ids. Returns (mean loss, grads, new state)."""
        # the recurrent stack reads the embedding table by id (no (T, B, E) copy; see Recurrent.forward)
        h, new_state, rc = self.rnn.forward(self.embed.table, state, train=train, rng=rng, ids=x)
        grads: dict = {}
        loss, dh = self.out.softmax_cross_entropy(h, y, grads)   # output layer, loss and their backward
        dtable, _ = self.rnn.backward(dh, rc, grads, need_dx=self.embed.trainable)
        if self.embed.trainable:
            self.embed.backward(dtable, None, grads)
        return float(loss), grads, new_state

    def log_probs(self, x: np.ndarray, y: np.ndarray, state=None, mask=None):
        """Per-position log-probabilities (T, B) of the targets y given inputs x, and the final state."""
        h, new_state, _ = self.rnn.forward(self.embed.table, state, mask=mask, ids=x)
        logits, _ = self.out.forward(h)
        logp = nn.log_softmax(logits.reshape(-1, self.vocab_size))
        picked = logp[np.arange(logp.shape[0]), y.reshape(-1)].reshape(y.shape)
        return picked, new_state


@dataclass
class LoadedLM:
    """A language model read from its file: the network, its vocabulary, the options it was trained with
    (``meta["config"]``, or what an older file recorded) and the whole metadata."""

    model: LanguageModel
    vocab: object
    meta: dict
    options: dict = field(default_factory=dict)

    @property
    def level(self) -> str:
        return self.vocab.level


def stream_nll(model: LanguageModel, ids: np.ndarray, batch: int, seq_len: int) -> tuple[float, int]:
    """Summed negative log-likelihood (nats) of a stream in the training layout, state carried."""
    batch = max(1, min(batch, (len(ids) - 1) // max(seq_len, 1)))
    windows = StreamBatches(ids, batch, seq_len)
    state, total, count = None, 0.0, 0
    for k in range(len(windows)):
        x, y = windows[k]
        logp, state = model.log_probs(x, y, state)
        total -= float(logp.sum(dtype=np.float64))
        count += y.size
    return total, count


def score_lines(lm: LoadedLM, lines: Sequence[str]) -> list[dict]:
    """Per line: log-likelihood (nats, the line and its line break), tokens, perplexity, bits per char.
    Lines are batched by length (as few padded positions as possible), within ``TOKEN_BUDGET`` logits."""
    m, vocab = lm.model, lm.vocab
    end = line_end_id(vocab)
    encoded = []
    for line in lines:
        ids = encode_chars(vocab, line) if vocab.level == "char" else vocab.encode(line)
        encoded.append(np.concatenate([[end], ids, [end]]).astype(np.int32))
    out: list[dict | None] = [None] * len(lines)
    order = sorted(range(len(lines)), key=lambda i: len(encoded[i]))
    i = 0
    while i < len(order):
        B = 1
        # grow the batch while the logits stay within the budget (lengths increase along `order`)
        while i + B < len(order) and (B + 1) * (len(encoded[order[i + B]]) - 1) * m.vocab_size <= TOKEN_BUDGET:
            B += 1
        rows = order[i:i + B]
        T = max(len(encoded[r]) - 1 for r in rows)
        x = np.zeros((T, B), np.int32)
        y = np.zeros((T, B), np.int32)
        mask = np.zeros((T, B), np.float32)
        for b, r in enumerate(rows):
            seq = encoded[r]
            n = len(seq) - 1
            x[:n, b], y[:n, b], mask[:n, b] = seq[:-1], seq[1:], 1
        # a long line goes through in pieces of time steps with the state carried (the same recurrence), so
        # that memory stays within the budget however long the line is
        steps = max(16, TOKEN_BUDGET // (B * m.vocab_size))
        pieces, state = [], None
        for a in range(0, T, steps):
            piece, state = m.log_probs(x[a:a + steps], y[a:a + steps], state, mask=mask[a:a + steps])
            pieces.append((piece * mask[a:a + steps]).astype(np.float64))
        logp = np.concatenate(pieces)
        for b, r in enumerate(rows):
            n = len(encoded[r]) - 1
            ll = float(logp[:n, b].sum())
            chars = len(lines[r]) + 1
            out[r] = {"log_likelihood": ll, "tokens": n, "perplexity": math.exp(min(-ll / n, 700.0)),
                      "bpc": -ll / math.log(2) / chars}
        i += B
    return out  # type: ignore[return-value]
