"""Decoding: the decoder's own output is fed back until ``</s>``, greedily or by beam search with length
normalisation and n-best lists (both over many sources at once); by one network or by an ensemble
(``net`` a list of networks: each step's log-probabilities are their mean)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnntools.tasks.seq2seq.data import make_source_batch
from rnntools.tasks.seq2seq.model import Config, Net


class Decoder:
    """Step-by-step decoding: the encoder's outputs for attention and the decoder states of N rows."""

    def __init__(self, p: dict, cfg: Config, sources: Sequence[np.ndarray], banned: Sequence[int] = (),
                 net: Net | None = None):
        self.net = net if net is not None else Net(cfg, p)
        self.cfg, self.banned = cfg, list(banned)
        src, mask = make_source_batch(sources, dtype=p["out.W"].dtype)
        He, self.state, _ = self.net.encode(src, mask)
        self.mask = mask  # (S, N)
        if self.net.attention is not None:
            self.He = He  # (S, N, H)
            self.K = self.net.attention.keys(He)

    def select(self, rows: np.ndarray) -> None:
        """Keep (and repeat) rows: beam search reorders its hypotheses with this."""
        self.state = tuple(s[:, rows] for s in self.state)
        self.mask = self.mask[:, rows]
        if self.net.attention is not None:
            self.He, self.K = self.He[:, rows], self.K[:, rows]

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Feed tokens (N,); returns log-probabilities of the next token (N, V)."""
        h, self.state = self.net.step(tokens, self.state)  # (N, H)
        if self.net.attention is not None:
            o, _, _ = self.net.attention.forward(h[None], self.He, self.mask, self.K)
            h = o[0]
        logits = self.net.logits(h)
        logits = logits - logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        if self.banned:
            # <pad> and <s> are never outputs; the others keep their true (unrenormalised) log-probability
            logp[:, self.banned] = -np.inf
        return logp


class MeanDecoder:
    """Several networks' decoders stepped together: the next token's log-probability is the mean of theirs
    (float64, so that K identical networks give exactly one's values: the sum of K float32 numbers is exact
    there, and so is its division by K)."""

    def __init__(self, decoders: Sequence[Decoder]):
        self.decoders = list(decoders)

    def select(self, rows: np.ndarray) -> None:
        for d in self.decoders:
            d.select(rows)

    def step(self, tokens: np.ndarray) -> np.ndarray:
        total = self.decoders[0].step(tokens).astype(np.float64)
        for d in self.decoders[1:]:
            total += d.step(tokens)
        return total / len(self.decoders)


def make_decoder(p: dict, cfg: Config, sources: Sequence[np.ndarray], banned: Sequence[int] = (),
                 net: Net | Sequence[Net] | None = None) -> Decoder | MeanDecoder:
    """A ``Decoder`` for one network (``net``, else one over ``p``), a ``MeanDecoder`` for a list of several."""
    if isinstance(net, (list, tuple)):
        if len(net) > 1:
            return MeanDecoder([Decoder(n.params, cfg, sources, banned, net=n) for n in net])
        net = net[0]
    return Decoder(p, cfg, sources, banned, net=net)


def normalised(logp: float, length: int, alpha: float) -> float:
    """Length-normalised score: log-probability / length**alpha (length counts </s>)."""
    return logp / (max(length, 1) ** alpha)


def greedy(p: dict, cfg: Config, sources: Sequence[np.ndarray], start_id: int, eos_id: int, max_length: int,
           alpha: float = 1.0, net: Net | Sequence[Net] | None = None) -> list[tuple[list[int], float]]:
    """Greedy decoding of many sources at once: [(ids without </s>, normalised score)].

    An output that reaches ``max_length`` tokens is ended there, scored as if </s> came next."""
    dec = make_decoder(p, cfg, sources, banned=(0, start_id), net=net)
    N = len(sources)
    tokens = np.full(N, start_id, np.int32)
    out = [[] for _ in range(N)]
    logp = np.zeros(N)
    done = np.zeros(N, bool)
    lengths = np.zeros(N, np.int64)
    for step in range(max_length + 1):
        lp = dec.step(tokens)
        if step == max_length:
            tokens = np.full(N, eos_id, np.int32)
        else:
            tokens = lp.argmax(axis=1).astype(np.int32)
        live = ~done
        logp[live] += lp[np.arange(N), tokens][live]
        lengths[live] += 1
        for i in np.flatnonzero(live):
            if tokens[i] == eos_id:
                done[i] = True
            else:
                out[i].append(int(tokens[i]))
        if done.all():
            break
    return [(out[i], normalised(float(logp[i]), int(lengths[i]), alpha)) for i in range(N)]


def beam_search(p: dict, cfg: Config, source: np.ndarray, start_id: int, eos_id: int, max_length: int,
                beam: int, nbest: int = 1, alpha: float = 1.0,
                net: Net | Sequence[Net] | None = None) -> list[tuple[list[int], float]]:
    """Beam search for one source: the ``nbest`` best [(ids without </s>, normalised score)], best first
    (``beam_search_many`` of one source)."""
    return beam_search_many(p, cfg, [source], start_id, eos_id, max_length, beam, nbest, alpha, net)[0]


def beam_search_many(p: dict, cfg: Config, sources: Sequence[np.ndarray], start_id: int, eos_id: int,
                     max_length: int, beam: int, nbest: int = 1, alpha: float = 1.0,
                     net: Net | Sequence[Net] | None = None) -> list[list[tuple[list[int], float]]]:
    """Beam search for many sources at once: per source, the ``nbest`` best [(ids without </s>, normalised
    score)], best first.

    Hypotheses are ranked by raw log-probability while growing (the usual beam) and by length-normalised
    score when finished; a source's search stops when ``beam`` of its hypotheses have finished or at
    ``max_length`` tokens (unfinished ones are then ended with </s>, as in ``greedy``). With beam 1 this is
    exactly greedy.

    The live hypotheses of every source are the rows of one decoder, each source's together, so each step is
    one pass of the network over all of them instead of one per source (which cost a G2P test set 10x the
    time of greedy decoding). A row's log-probabilities are the same bits whatever rows are decoded beside it
    (the engine's products and time loops are row by row; the softmax is per row), and each source's
    hypotheses are chosen from its own rows alone, so every source gets what it gets decoded alone (a test)."""
    N = len(sources)
    if N == 0:
        return []
    dec = make_decoder(p, cfg, sources, banned=(0, start_id), net=net)
    owners = list(range(N))  # the source of each live row; a source's rows are next to each other
    seqs: list[list[int]] = [[] for _ in range(N)]
    scores = np.zeros(N)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(N)]
    tokens = np.full(N, start_id, np.int32)
    for length in range(max_length + 1):
        lp = dec.step(tokens)  # (rows, V)
        if length == max_length:
            ended = np.full_like(lp, -np.inf)
            ended[:, eos_id] = lp[:, eos_id]
            lp = ended
        total = scores[:, None] + lp
        V = total.shape[1]
        keep_rows, keep_tokens, keep_scores, new_seqs, new_owners = [], [], [], [], []
        r0, rows = 0, len(owners)
        while r0 < rows:
            source = owners[r0]
            r1 = r0 + 1
            while r1 < rows and owners[r1] == source:
                r1 += 1
            flat = total[r0:r1].ravel()
            k = min(beam, int(np.isfinite(flat).sum()))
            best = np.argpartition(-flat, k - 1)[:k]
            best = best[np.lexsort((best, -flat[best]))]  # by score, ties by index: deterministic
            grown = []
            for idx in best:
                row, tok = divmod(int(idx), V)
                if tok == eos_id:
                    finished[source].append((normalised(float(flat[idx]), length + 1, alpha), seqs[r0 + row]))
                else:
                    grown.append((r0 + row, tok, flat[idx]))
            if len(finished[source]) < beam:
                for row, tok, score in grown:
                    keep_rows.append(row)
                    keep_tokens.append(tok)
                    keep_scores.append(score)
                    new_seqs.append(seqs[row] + [tok])
                    new_owners.append(source)
            r0 = r1
        if not keep_rows:
            break
        dec.select(np.array(keep_rows))
        tokens = np.array(keep_tokens, np.int32)
        scores = np.array(keep_scores)
        seqs, owners = new_seqs, new_owners
    out = []
    for found in finished:
        found.sort(key=lambda item: -item[0])
        out.append([(seq, score) for score, seq in found[:max(nbest, 1)]])
    return out
