"""Asynchronous many-to-many: an encoder-decoder (seq2seq) over characters or words.

The encoder reads the whole source; its final state (per layer, taken at each sequence's last real token)
initialises the decoder. Training is teacher-forced: the decoder reads ``<s> + target`` and learns to emit
``target + </s>``; padding on both sides is masked. At inference the decoder's own output is fed back until
``</s>`` (greedy, or beam search with length normalisation and n-best lists). Luong attention (dot or
general) is an option (``rnntools.tasks.attention``).

Data flow: JSONL records -> token id arrays (``read_pairs``, ``encode_pairs``) -> padded time-major batches
(``make_batch``) -> ``loss_and_grads`` (float32 training, float64 gradient checks) -> ``Seq2SeqTask`` plugged
into ``rnntools.tasks.trainer.fit``. Nothing here knows click.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, UsageError
from rnntools.nn.kernels import scatter_add_rows, softmax_xent
from rnntools.nn.optim import clip_grad_norm, make_optimizer
from rnntools.tasks import attention as att
from rnntools.text import Vocab, tokenize_chars, tokenize_words

KIND = "seq2seq"

# Defaults chosen by measurement (see docs/readme/seq2seq.md for the numbers).
DEFAULTS = dict(level="char", cell="gru", hidden=128, layers=1, embed_dim=64, batch=64, epochs=100,
                patience=3, val_fraction=0.1, lr_by_optimizer={"adam": 3e-3})
DEFAULT_ATTENTION = "general"
MAX_VAL = 2000  # validation pairs at most: enough for a stable loss, cheap to evaluate every epoch


# --- data ------------------------------------------------------------------------------------------------

@dataclass
class Pair:
    source: list[str]
    target: list[str] | None
    record: dict
    path: str
    line: int


def tokenizer(level: str, lowercase: bool):
    if level == "char":
        return lambda text: tokenize_chars(text, lowercase)
    return lambda text: tokenize_words(text, lowercase)


def read_pairs(paths: Sequence[str], *, level: str = "char", target_level: str | None = None,
               lowercase: bool = False, source_field: str = "source", target_field: str | None = "target",
               max_length: int | None = None, errors: str = "strict") -> Iterator[Pair]:
    """Tokenised pairs from JSONL inputs; ``target_field=None`` reads sources only (prediction).
    ``level`` is the source's (char or word), ``target_level`` the target's (default: the same).

    Errors name the file and line: a missing field, a source with no tokens, a target longer than
    ``max_length`` tokens.
    """
    from rnntools.io import iter_jsonl, read_text_field

    split = tokenizer(level, lowercase)
    target_level = target_level or level
    split_target = tokenizer(target_level, lowercase)
    for path in paths:
        for line_no, record in iter_jsonl(path, errors):
            source = split(read_text_field(record, source_field, path, line_no))
            if not source:
                raise InputError(f"empty source in field {source_field!r} (no {level}s to read)", path, line_no)
            target = None
            if target_field is not None:
                target = split_target(read_text_field(record, target_field, path, line_no))
                if max_length is not None and len(target) > max_length:
                    raise InputError(f"the target has {len(target)} {target_level}s, more than the limit of "
                                     f"{max_length} (--max-target-length); raise the limit or drop the pair",
                                     path, line_no)
            yield Pair(source, target, record, path, line_no)


def build_vocabs(pairs: Sequence[Pair], *, level: str, lowercase: bool, shared: bool, min_count: int = 1,
                 max_size: int | None = None, target_level: str | None = None) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies with specials (<pad> <unk> <s> </s>); one object when ``shared``."""
    src, tgt = Counter(), Counter()
    for p in pairs:
        src.update(p.source)
        tgt.update(p.target)
    kw = dict(lowercase=lowercase, min_count=min_count, max_size=max_size, specials=True)
    if shared:
        vocab = Vocab.build(src + tgt, level=level, **kw)
        return vocab, vocab
    return Vocab.build(src, level=level, **kw), Vocab.build(tgt, level=target_level or level, **kw)


def encode_pairs(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab | None):
    sources = [src_vocab.encode(p.source) for p in pairs]
    targets = None if tgt_vocab is None else [tgt_vocab.encode(p.target) for p in pairs]
    return sources, targets


@dataclass
class Batch:
    """Time-major padded arrays for one teacher-forced update.

    src (S, B) int32 and src_mask (S, B); dec_in (T, B) = <s> + target; dec_out (T, B) = target + </s>;
    tgt_mask (T, B); T = longest target + 1. Padding ids are <pad> (0) with mask 0."""

    src: np.ndarray
    src_mask: np.ndarray
    dec_in: np.ndarray
    dec_out: np.ndarray
    tgt_mask: np.ndarray

    @property
    def tokens(self) -> int:
        return int(self.tgt_mask.sum())


def make_batch(sources: Sequence[np.ndarray], targets: Sequence[np.ndarray], start_id: int, eos_id: int,
               pad_id: int = 0, dtype=np.float32) -> Batch:
    B = len(sources)
    S = max(len(s) for s in sources)
    T = max(len(t) for t in targets) + 1
    src = np.full((S, B), pad_id, np.int32)
    src_mask = np.zeros((S, B), dtype)
    dec_in = np.full((T, B), pad_id, np.int32)
    dec_out = np.full((T, B), pad_id, np.int32)
    tgt_mask = np.zeros((T, B), dtype)
    for b, (s, t) in enumerate(zip(sources, targets)):
        src[:len(s), b] = s
        src_mask[:len(s), b] = 1
        dec_in[0, b] = start_id
        dec_in[1:len(t) + 1, b] = t
        dec_out[:len(t), b] = t
        dec_out[len(t), b] = eos_id
        tgt_mask[:len(t) + 1, b] = 1
    return Batch(src, src_mask, dec_in, dec_out, tgt_mask)


class PaddedPairs:
    """All pairs padded once: ``batch(idx)`` gathers the same ``Batch`` as ``make_batch`` with array indexing
    instead of a Python loop over rows (that loop was ~3% of an update at batch 128)."""

    def __init__(self, sources: Sequence[np.ndarray], targets: Sequence[np.ndarray], start_id: int,
                 eos_id: int, pad_id: int = 0, dtype=np.float32):
        self.start_id, self.eos_id, self.pad_id, self.dtype = start_id, eos_id, pad_id, dtype
        self.src_len = np.array([len(s) for s in sources], np.int64)
        self.tgt_len = np.array([len(t) for t in targets], np.int64)
        self.src = np.full((len(sources), max(self.src_len, default=0)), pad_id, np.int32)
        self.tgt = np.full((len(targets), max(self.tgt_len, default=0) + 1), pad_id, np.int32)
        for i, (s, t) in enumerate(zip(sources, targets)):
            self.src[i, :len(s)] = s
            self.tgt[i, :len(t)] = t

    def batch(self, idx: np.ndarray) -> Batch:
        idx = np.asarray(idx)
        B = len(idx)
        sl, tl = self.src_len[idx], self.tgt_len[idx]
        S, T = int(sl.max()), int(tl.max()) + 1
        src = np.ascontiguousarray(self.src[idx, :S].T)
        src_mask = (np.arange(S)[:, None] < sl[None, :]).astype(self.dtype)
        dec_out = np.ascontiguousarray(self.tgt[idx, :T].T)
        dec_out[tl, np.arange(B)] = self.eos_id
        dec_in = np.empty((T, B), np.int32)
        dec_in[0] = self.start_id
        dec_in[1:] = self.tgt[idx, :T - 1].T
        tgt_mask = (np.arange(T)[:, None] <= tl[None, :]).astype(self.dtype)
        return Batch(src, src_mask, dec_in, dec_out, tgt_mask)


def make_source_batch(sources: Sequence[np.ndarray], pad_id: int = 0, dtype=np.float32):
    S = max(len(s) for s in sources)
    src = np.full((S, len(sources)), pad_id, np.int32)
    mask = np.zeros((S, len(sources)), dtype)
    for b, s in enumerate(sources):
        src[:len(s), b] = s
        mask[:len(s), b] = 1
    return src, mask


def length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Index batches of similar lengths (less padding): shuffle, sort within pools of 50 batches, split,
    shuffle the batches. Without ``rng`` the order is by length (evaluation)."""
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch] for i in range(0, n, batch)]
    order = rng.permutation(n)
    pool = batch * 50
    out = []
    for i in range(0, n, pool):
        chunk = order[i:i + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out.extend(chunk[j:j + batch] for j in range(0, len(chunk), batch))
    return [out[i] for i in rng.permutation(len(out))]


# --- the network ---------------------------------------------------------------------------------------

@dataclass
class Config:
    cell: str = "gru"
    hidden: int = 128
    layers: int = 1
    embed_dim: int = 64
    attention: str = "general"  # none | dot | general
    shared_vocab: bool = False
    src_vocab_size: int = 0
    tgt_vocab_size: int = 0

    def to_meta(self) -> dict:
        return asdict(self)


def init_params(cfg: Config, seed: int = 1, dtype=np.float32) -> dict[str, np.ndarray]:
    """Parameter arrays by name: ``embed`` (shared vocabulary, tied) or ``enc.embed``/``dec.embed`` (V, E);
    ``enc.L.*``/``dec.L.*`` per layer; ``att.*``; ``out.W`` (H, V) and ``out.b`` (V,)."""
    rng = np.random.default_rng([seed, 7])
    p: dict[str, np.ndarray] = {}
    # Embeddings N(0, 1), as PyTorch's nn.Embedding: measured on integer addition, 63% held-out exact match
    # after 2,000 updates against 1-2% with N(0, 0.1) (small inputs barely move the GRU gates at first).
    if cfg.shared_vocab:
        p["embed"] = rng.standard_normal((cfg.src_vocab_size, cfg.embed_dim)).astype(dtype)
    else:
        p["enc.embed"] = rng.standard_normal((cfg.src_vocab_size, cfg.embed_dim)).astype(dtype)
        p["dec.embed"] = rng.standard_normal((cfg.tgt_vocab_size, cfg.embed_dim)).astype(dtype)
    # Encoder and decoder stacks are the shared engine's (rnntools.nn): parameters enc.L.W (H+D, G*H) with
    # rows [h; x], enc.L.b (G*H,), enc.L.bn (H,) for GRU; initialised by nn.Recurrent (W and b uniform
    # +-1/sqrt(H), as PyTorch's weights).
    from rnntools.nn import Recurrent

    k = 1.0 / math.sqrt(cfg.hidden)
    for side in ("enc", "dec"):
        Recurrent(p, side, cfg.cell, cfg.embed_dim, cfg.hidden, cfg.layers, rng=rng, dtype=dtype)
        # PyTorch's recurrent layers carry two bias vectors, b_ih and b_hh, each U(+-1/sqrt(H)); wherever
        # the two are simply added (rnn; GRU r and z gates; LSTM gates) the engine's single b stands for
        # their sum, so it gets a second draw: a triangular distribution on +-2/sqrt(H), PyTorch's exactly.
        # The GRU candidate's b_hh sits inside r * (h W_hn + b_hn) and is the engine's separate ``bn``,
        # already U(+-1/sqrt(H)). The LSTM forget-gate bias stays the engine's deliberate 1.
        H = cfg.hidden
        for layer in range(cfg.layers):
            b = p[f"{side}.{layer}.b"]
            summed = slice(0, 2 * H) if cfg.cell == "gru" else slice(H if cfg.cell == "lstm" else 0, None)
            b[summed] += rng.uniform(-k, k, b[summed].shape).astype(dtype)
    if cfg.attention != "none":
        # As PyTorch's nn.Linear (U(+-1/sqrt(fan_in)) for weights and biases), not attention.init_attention's
        # identity-plus-noise Wa and zero bc: the PyTorch twin of benchmarks/seq2seq_vs_torch.py computes
        # the same gradients from the same weights, and with this start reaches its higher accuracy.
        H = cfg.hidden
        kc = 1.0 / math.sqrt(2 * H)
        p["att.Wc"] = rng.uniform(-kc, kc, (2 * H, H)).astype(dtype)  # fan_in 2H: [context; h]
        p["att.bc"] = rng.uniform(-kc, kc, H).astype(dtype)
        if cfg.attention == "general":
            p["att.Wa"] = rng.uniform(-k, k, (H, H)).astype(dtype)  # no bias, as Linear(H, H, bias=False)
        expected = set(att.init_attention(cfg.attention, H, np.random.default_rng(0), dtype))
        assert expected == {n[4:] for n in p if n.startswith("att.")}, "attention parameters changed"
    # Output layer as nn.Linear(H, V): weights and bias U(+-1/sqrt(H)).
    p["out.W"] = rng.uniform(-k, k, (cfg.hidden, cfg.tgt_vocab_size)).astype(dtype)
    p["out.b"] = rng.uniform(-k, k, cfg.tgt_vocab_size).astype(dtype)
    return p


def summed_bias_slices(cfg: Config) -> dict[str, slice]:
    """Where the engine's single bias stands for PyTorch's b_ih + b_hh (see ``init_params``): GRU r and z
    gates, all of RNN's and LSTM's. Trained as two parameters (PyTorch), each gets the same gradient and the
    same Adam step, so their sum moves twice as far as one parameter would; the shared optimiser's
    ``doubled`` option (``rnntools.nn.optim``) does the same for these slices, and ``clip_grad_norm`` counts
    them twice, so the two sides of the benchmark train the same way, not only start the same."""
    H = cfg.hidden
    summed = slice(0, 2 * H) if cfg.cell == "gru" else slice(0, None)
    return {f"{side}.{layer}.b": summed for side in ("enc", "dec") for layer in range(cfg.layers)}


def _embed_name(cfg: Config, side: str) -> str:
    return "embed" if cfg.shared_vocab else f"{side}.embed"


def _layer(p: dict, side: str, layer: int) -> dict:
    prefix = f"{side}.{layer}."
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}


def _att(p: dict) -> dict:
    return {k[4:]: v for k, v in p.items() if k.startswith("att.")}


def dropout_masks(cfg: Config, batch: Batch, rate: float, rng: np.random.Generator, dtype=np.float32) -> dict:
    """Inverted-dropout masks (kept units scaled by 1/(1-rate)) for every layer's input on both sides and
    for the decoder's top output (before attention and the softmax layer)."""
    keep = 1.0 - rate
    S, B = batch.src.shape
    T = batch.dec_in.shape[0]
    out = {}
    for side, length in (("enc", S), ("dec", T)):
        for layer in range(cfg.layers):
            width = cfg.embed_dim if layer == 0 else cfg.hidden
            out[(side, layer)] = ((rng.random((length, B, width)) < keep) / keep).astype(dtype)
    out["top"] = ((rng.random((T, B, cfg.hidden)) < keep) / keep).astype(dtype)
    return out


def encode(p: dict, cfg: Config, src: np.ndarray, src_mask: np.ndarray, drops: dict | None = None):
    """Run the encoder stack. Returns top outputs (S, B, H) (0 at padding), final states per layer
    [(h (B, H), c (B, H) or None)], caches."""
    x, ids = _embedded(p[_embed_name(cfg, "enc")], src, drops)
    B = src.shape[1]
    h0 = np.zeros((B, cfg.hidden), x.dtype)
    finals, caches = [], []
    for layer in range(cfg.layers):
        if drops:
            x = x * drops[("enc", layer)]
        x, sT, cache = _forward(cfg.cell, _layer(p, "enc", layer), x, src_mask, (h0, None),
                                ids if layer == 0 else None)
        finals.append(sT)
        caches.append(cache)
    return x, finals, caches


def _embedded(table: np.ndarray, ids: np.ndarray, drops: dict | None):
    """The first layer's input: ``(table, ids)`` for the engine to read by id when the engine's rule says so
    (``reads_table_by_id``; characters: the input projection is then V rows, not T*B, and the embedding
    gradient comes back per row, no scatter), else ``(table[ids] (T, B, E), None)``; always the latter with
    dropout, whose masks are per position."""
    from rnntools.nn.recurrent import reads_table_by_id

    if not drops and reads_table_by_id(table.shape[0], ids.size):
        return table, ids
    return table[ids], None


def _forward(cell: str, lp: dict, x: np.ndarray, mask: np.ndarray | None, state: tuple,
             ids: np.ndarray | None = None):
    """One layer of the shared engine over (T, B, D) (or a (V, D) table read by ``ids`` (T, B)); state
    (h, c or None). Returns y, (hT, cT), cache."""
    from rnntools.nn.recurrent import cell_forward

    return cell_forward(cell, lp["W"], lp["b"], lp.get("bn"), x, state[0], state[1], mask, ids=ids)


def _backward(cell: str, lp: dict, cache, dy: np.ndarray | None, dstate: tuple | None):
    """Backward of ``_forward``: dx (T, B, D), (dh0, dc0), parameter gradients {W, b[, bn]}."""
    from rnntools.nn.recurrent import cell_backward

    dh, dc = dstate if dstate is not None else (None, None)
    return cell_backward(cell, lp["W"], cache, dy, dh, dc)


def loss_and_grads(p: dict, cfg: Config, batch: Batch, grad: bool = True, drops: dict | None = None):
    """Teacher-forced loss: the sum over target positions of -log p(token) times ``tgt_mask``, and the
    gradients of that sum by parameter name (None when ``grad`` is false). Returns (loss_sum, grads).
    ``drops``: dropout masks from ``dropout_masks`` (training only)."""
    He, finals, enc_caches = encode(p, cfg, batch.src, batch.src_mask, drops)
    x, ids = _embedded(p[_embed_name(cfg, "dec")], batch.dec_in, drops)  # (T, B, E) or the table
    dec_caches = []
    for layer in range(cfg.layers):
        if drops:
            x = x * drops[("dec", layer)]
        x, _, cache = _forward(cfg.cell, _layer(p, "dec", layer), x, batch.tgt_mask, finals[layer],
                               ids if layer == 0 else None)
        dec_caches.append(cache)
    Hd = x * drops["top"] if drops else x  # (T, B, H)
    T, B, H = Hd.shape
    if cfg.attention != "none":
        ap = _att(p)
        Out, _, att_cache = att.attention_forward(ap, Hd, He, att.keys(ap, He), batch.src_mask)
    else:
        Out = Hd
    Out2 = Out.reshape(T * B, H)
    logits = Out2 @ p["out.W"]  # (T*B, V)
    logits += p["out.b"]
    target = batch.dec_out.reshape(-1)
    w = batch.tgt_mask.reshape(-1)
    # one pass: the masked loss sum and, in place, its gradient (softmax - onehot) * mask
    loss = float(softmax_xent(logits, target, w, 1.0, logits))
    if not grad:
        return loss, None
    g: dict[str, np.ndarray] = {}
    dlogits = logits
    g["out.W"] = Out2.T @ dlogits
    g["out.b"] = dlogits.sum(axis=0)
    dO = (dlogits @ p["out.W"].T).reshape(T, B, H)
    dHe = None
    if cfg.attention != "none":
        dHd, dHe, ga = att.attention_backward(ap, att_cache, dO)
        g.update({f"att.{k}": v for k, v in ga.items()})
    else:
        dHd = dO
    if drops:
        dHd = dHd * drops["top"]
    dfinals = [None] * cfg.layers
    dx = dHd
    for layer in reversed(range(cfg.layers)):
        dx, ds0, gl = _backward(cfg.cell, _layer(p, "dec", layer), dec_caches[layer], dx, None)
        if drops:
            dx = dx * drops[("dec", layer)]
        dfinals[layer] = ds0
        g.update({f"dec.{layer}.{k}": v for k, v in gl.items()})
    dembed_dec = dx
    dx = dHe
    for layer in reversed(range(cfg.layers)):
        dx, _, gl = _backward(cfg.cell, _layer(p, "enc", layer), enc_caches[layer], dx, dfinals[layer])
        if drops:
            dx = dx * drops[("enc", layer)]
        g.update({f"enc.{layer}.{k}": v for k, v in gl.items()})
    for side, ids, d, cache in (("enc", batch.src, dx, enc_caches[0]), ("dec", batch.dec_in, dembed_dec,
                                                                        dec_caches[0])):
        name = _embed_name(cfg, side)
        if name not in g:
            g[name] = np.zeros_like(p[name])
        if getattr(cache, "ids", None) is not None:
            g[name] += d  # read by id: d is already the table's gradient (V, E)
        else:
            scatter_add_rows(g[name], ids.reshape(-1), np.ascontiguousarray(d).reshape(-1, d.shape[-1]))
    return loss, g


# --- decoding -------------------------------------------------------------------------------------------

class Decoder:
    """Step-by-step decoding: the encoder's outputs for attention and the decoder states of N rows."""

    def __init__(self, p: dict, cfg: Config, sources: Sequence[np.ndarray], banned: Sequence[int] = ()):
        self.p, self.cfg, self.banned = p, cfg, list(banned)
        src, mask = make_source_batch(sources, dtype=p["out.W"].dtype)
        He, finals, _ = encode(p, cfg, src, mask)
        self.states = finals  # per layer (N, St)
        self.mask = mask  # (S, N)
        if cfg.attention != "none":
            self.ap = _att(p)
            self.He = He  # (S, N, H)
            self.K = att.keys(self.ap, He)
        self.layers = [_layer(p, "dec", layer) for layer in range(cfg.layers)]

    def select(self, rows: np.ndarray) -> None:
        """Keep (and repeat) rows: beam search reorders its hypotheses with this."""
        self.states = [(h[rows], None if c is None else c[rows]) for h, c in self.states]
        self.mask = self.mask[:, rows]
        if self.cfg.attention != "none":
            self.He, self.K = self.He[:, rows], self.K[:, rows]

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Feed tokens (N,); returns log-probabilities of the next token (N, V)."""
        cfg = self.cfg
        x = self.p[_embed_name(cfg, "dec")][tokens][None]  # (1, N, E)
        for layer, lp in enumerate(self.layers):
            x, self.states[layer], _ = _forward(cfg.cell, lp, x, None, self.states[layer])
        h = x[0]  # (N, H)
        if cfg.attention != "none":
            o, _, _ = att.attention_forward(self.ap, h[None], self.He, self.K, self.mask)
            h = o[0]
        logits = h @ self.p["out.W"] + self.p["out.b"]
        logits = logits - logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        if self.banned:
            # <pad> and <s> are never outputs; the others keep their true (unrenormalised) log-probability
            logp[:, self.banned] = -np.inf
        return logp


def normalised(logp: float, length: int, alpha: float) -> float:
    """Length-normalised score: log-probability / length**alpha (length counts </s>)."""
    return logp / (max(length, 1) ** alpha)


def greedy(p: dict, cfg: Config, sources: Sequence[np.ndarray], start_id: int, eos_id: int, max_length: int,
           alpha: float = 1.0) -> list[tuple[list[int], float]]:
    """Greedy decoding of many sources at once: [(ids without </s>, normalised score)].

    An output that reaches ``max_length`` tokens is ended there, scored as if </s> came next."""
    dec = Decoder(p, cfg, sources, banned=(0, start_id))
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
                beam: int, nbest: int = 1, alpha: float = 1.0) -> list[tuple[list[int], float]]:
    """Beam search for one source: the ``nbest`` best [(ids without </s>, normalised score)], best first.

    Hypotheses are ranked by raw log-probability while growing (the usual beam) and by length-normalised
    score when finished; search stops when ``beam`` hypotheses have finished or at ``max_length`` tokens
    (unfinished ones are then ended with </s>, as in ``greedy``). With beam 1 this is exactly greedy."""
    dec = Decoder(p, cfg, [source], banned=(0, start_id))
    seqs: list[list[int]] = [[]]
    scores = np.zeros(1)
    finished: list[tuple[float, list[int]]] = []
    tokens = np.array([start_id], np.int32)
    for length in range(max_length + 1):
        lp = dec.step(tokens)  # (n, V)
        if length == max_length:
            ended = np.full_like(lp, -np.inf)
            ended[:, eos_id] = lp[:, eos_id]
            lp = ended
        total = scores[:, None] + lp
        V = total.shape[1]
        flat = total.ravel()
        k = min(beam, int(np.isfinite(flat).sum()))
        best = np.argpartition(-flat, k - 1)[:k]
        best = best[np.lexsort((best, -flat[best]))]  # by score, ties by index: deterministic
        keep_rows, keep_tokens, keep_scores, new_seqs = [], [], [], []
        for idx in best:
            row, tok = divmod(int(idx), V)
            if tok == eos_id:
                finished.append((normalised(float(flat[idx]), length + 1, alpha), seqs[row]))
            else:
                keep_rows.append(row)
                keep_tokens.append(tok)
                keep_scores.append(flat[idx])
                new_seqs.append(seqs[row] + [tok])
        if len(finished) >= beam or not keep_rows:
            break
        dec.select(np.array(keep_rows))
        tokens = np.array(keep_tokens, np.int32)
        scores = np.array(keep_scores)
        seqs = new_seqs
    finished.sort(key=lambda item: -item[0])
    return [(seq, score) for score, seq in finished[:max(nbest, 1)]]


# --- metrics -------------------------------------------------------------------------------------------

def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]], n: int = 4) -> float:
    """Corpus BLEU-4 (Papineni et al. 2002): clipped n-gram precisions summed over the corpus, geometric
    mean, brevity penalty; one reference per hypothesis; 0..100. No smoothing, as in multi-bleu.perl."""
    matches, totals = [0] * n, [0] * n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        hyp_len += len(hyp)
        ref_len += len(ref)
        for k in range(1, n + 1):
            h = Counter(tuple(hyp[i:i + k]) for i in range(len(hyp) - k + 1))
            r = Counter(tuple(ref[i:i + k]) for i in range(len(ref) - k + 1))
            matches[k - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[k - 1] += max(len(hyp) - k + 1, 0)
    if min(matches) == 0 or hyp_len == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals)) / n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100.0 * bp * math.exp(log_p)


def score_predictions(predictions: Sequence[str], references: Sequence[str], level: str,
                      lowercase: bool) -> dict:
    """Exact match (token sequences equal), character error rate (edit distance over characters / reference
    characters), and for word level word error rate and corpus BLEU."""
    split = tokenizer(level, lowercase)
    hyp_tokens = [split(h) for h in predictions]
    ref_tokens = [split(r) for r in references]
    n = len(references)
    exact = sum(h == r for h, r in zip(hyp_tokens, ref_tokens))
    join = "".join if level == "char" else " ".join
    ref_chars = [join(r) for r in ref_tokens]
    hyp_chars = [join(h) for h in hyp_tokens]
    char_errors = sum(edit_distance(h, r) for h, r in zip(hyp_chars, ref_chars))
    out = {"pairs": n, "exact_match": exact / n if n else 0.0,
           "cer": char_errors / max(sum(len(r) for r in ref_chars), 1)}
    if level == "word":
        word_errors = sum(edit_distance(h, r) for h, r in zip(hyp_tokens, ref_tokens))
        out["wer"] = word_errors / max(sum(len(r) for r in ref_tokens), 1)
        out["bleu"] = corpus_bleu(hyp_tokens, ref_tokens)
    return out


# --- the task for the trainer --------------------------------------------------------------------------

@dataclass
class Seq2SeqModel:
    """Everything ``predict`` and ``evaluate`` need: configuration, vocabularies and parameters."""

    cfg: Config
    src_vocab: Vocab
    tgt_vocab: Vocab
    params: dict
    max_target: int = 0  # the longest training target (tokens): the default --max-length comes from it
    extra: dict = field(default_factory=dict)

    def default_max_length(self) -> int:
        return max(2 * self.max_target + 2, 10)

    def meta(self) -> dict:
        vocab = {"vocab": self.src_vocab.to_meta(counts=False)} if self.cfg.shared_vocab else {
            "source_vocab": self.src_vocab.to_meta(counts=False),
            "target_vocab": self.tgt_vocab.to_meta(counts=False)}
        return {"model": self.cfg.to_meta(), **vocab, "max_target": self.max_target, **self.extra}

    @classmethod
    def from_file(cls, model) -> Seq2SeqModel:
        meta = model.meta
        try:
            cfg = Config(**meta["model"])
            if cfg.shared_vocab:
                src = tgt = Vocab.from_meta(meta["vocab"])
            else:
                src, tgt = Vocab.from_meta(meta["source_vocab"]), Vocab.from_meta(meta["target_vocab"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt seq2seq model metadata ({exc.__class__.__name__}: {exc})",
                                 model.path) from None
        expected = init_params(cfg, dtype=np.float32)
        params = {}
        for name, value in expected.items():
            if name not in model.arrays or model.arrays[name].shape != value.shape:
                raise ModelFileError(f"corrupt seq2seq model (parameter {name!r} missing or misshapen)",
                                     model.path)
            params[name] = np.array(model.arrays[name], dtype=np.float32)
        return cls(cfg, src, tgt, params, int(meta.get("max_target", 0)),
                   {k: meta[k] for k in ("data",) if k in meta})

    def translate(self, sources: Sequence[str], *, beam: int = 1, nbest: int = 1, max_length: int | None = None,
                  alpha: float = 1.0, chunk: int = 256) -> list[list[tuple[str, float]]]:
        """Decode texts: per source, the n-best (text, normalised log-probability), best first."""
        if max_length is None:
            max_length = self.default_max_length()
        ids = [self.src_vocab.encode(s) if isinstance(s, str) else self.src_vocab.encode(list(s))
               for s in sources]
        return self.translate_ids(ids, beam=beam, nbest=nbest, max_length=max_length, alpha=alpha, chunk=chunk)

    def translate_ids(self, ids, *, beam, nbest, max_length, alpha=1.0, chunk=256):
        tv = self.tgt_vocab
        results: list[list[tuple[str, float]]] = []
        if beam <= 1 and nbest <= 1:
            for i in range(0, len(ids), chunk):
                for seq, score in greedy(self.params, self.cfg, ids[i:i + chunk], tv.start_id, tv.eos_id,
                                         max_length, alpha):
                    results.append([(tv.decode(seq), score)])
            return results
        for source in ids:
            found = beam_search(self.params, self.cfg, source, tv.start_id, tv.eos_id, max_length,
                                max(beam, nbest), nbest, alpha)
            results.append([(tv.decode(seq), score) for seq, score in found])
        return results


class Seq2SeqTask:
    """The seq2seq model as a ``rnntools.tasks.trainer`` task."""

    kind = KIND

    def __init__(self, model: Seq2SeqModel, train: tuple[list, list], val: tuple[list, list] | None,
                 batch: int, clip: float, optimizer: str = "adam", teacher_forcing: float = 1.0,
                 val_references: list[str] | None = None, dropout: float = 0.0):
        self.model, self.cfg, self.p = model, model.cfg, model.params
        self.train_src, self.train_tgt = train
        self.val = val
        self.val_references = val_references
        self.batch = batch
        self.teacher_forcing = teacher_forcing
        self.dropout = dropout
        # PyTorch's recipe, so that the benchmark's twin and this side follow one reading of the paper:
        # torch.optim.Adam's update and clip_grad_norm_'s coefficient (both the shared optimiser's), with
        # the summed biases stepped as the two parameters they stand for
        self.clip, self.optimizer = clip, optimizer
        self.doubled = summed_bias_slices(self.cfg)
        self.opt = make_optimizer(optimizer, self.p, doubled=self.doubled)
        self.opt.init_state()  # the moments exist from the start, so --resume can load into them
        self.unit = "tokens"
        self._lengths = np.array([len(t) + len(s) for s, t in zip(self.train_src, self.train_tgt)])
        tv = model.tgt_vocab
        self.start_id, self.eos_id = tv.start_id, tv.eos_id
        self.padded = PaddedPairs(self.train_src, self.train_tgt, self.start_id, self.eos_id,
                                  dtype=self.p["out.W"].dtype)

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_src) / self.batch)

    def epoch_batches(self, epoch: int, rng: np.random.Generator):
        return length_batches(self._lengths, self.batch, rng)

    def start_epoch(self, epoch: int) -> None:
        pass

    def _batch(self, idx, sources, targets) -> Batch:
        return make_batch([sources[i] for i in idx], [targets[i] for i in idx], self.start_id, self.eos_id)

    def train_step(self, idx, rng: np.random.Generator, lr: float) -> tuple[float, int]:
        batch = self.padded.batch(idx)
        if self.teacher_forcing < 1.0:
            scheduled_sampling(self.p, self.cfg, batch, self.teacher_forcing, rng)
        drops = None
        if self.dropout > 0:
            drops = dropout_masks(self.cfg, batch, self.dropout, rng, self.p["out.W"].dtype)
        loss, grads = loss_and_grads(self.p, self.cfg, batch, drops=drops)
        n = batch.tokens
        # the loss is summed over tokens: its mean's gradients are these times 1/n (folded into the clip)
        norm = clip_grad_norm(grads, self.clip, scale=1.0 / n, doubled=self.doubled)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            return float("nan"), n  # the trainer stops; the parameters stay as they were
        self.opt.lr = lr
        self.opt.step(grads)
        return loss, n

    def evaluate(self) -> dict | None:
        if not self.val:
            return None
        sources, targets = self.val
        total, count = 0.0, 0
        for idx in length_batches(np.array([len(t) for t in targets]), 256, None):
            batch = self._batch(idx, sources, targets)
            loss, _ = loss_and_grads(self.p, self.cfg, batch, grad=False)
            total += loss
            count += batch.tokens
        out = {"val_loss": total / max(count, 1)}
        if self.val_references is not None:
            max_len = max(len(t) for t in targets) + 2
            found = self.model.translate_ids(sources, beam=1, nbest=1, max_length=max_len)
            tv = self.model.tgt_vocab
            out["val_exact"] = float(np.mean([f[0][0] == tv.decode(t) for f, t in zip(found, targets)]))
        return out

    def params(self) -> dict:
        return self.p

    def train_state(self) -> dict:
        if self.optimizer != "adam":
            return {}
        out = {}
        for k in self.p:
            out[f"optim.m.{k}"] = self.opt.m[k]
            out[f"optim.v.{k}"] = self.opt.v[k]
        return out

    def train_meta(self) -> dict:
        return {"optimizer": self.optimizer, "t": self.opt.t}

    def load_train_meta(self, meta: dict) -> None:
        if meta.get("optimizer", self.optimizer) != self.optimizer:
            raise UsageError(f"cannot --resume with --optimizer {self.optimizer}: the model was trained with "
                             f"{meta['optimizer']}")
        self.opt.t = int(meta.get("t", 0))

    def save(self, path: str, arrays: dict, meta: dict) -> None:
        from rnntools.io import save_model

        save_model(path, KIND, arrays, {**self.model.meta(), **meta})


def scheduled_sampling(p: dict, cfg: Config, batch: Batch, ratio: float, rng: np.random.Generator) -> None:
    """Scheduled sampling (Bengio et al. 2015): each decoder input after <s> is, with probability
    1 - ratio, the model's own greedy choice at the previous step instead of the true token. The choices
    are made in a forward pass without gradients and then treated as given inputs (as in the paper)."""
    dec = Decoder(p, cfg, [batch.src[: int(batch.src_mask[:, b].sum()), b] for b in range(batch.src.shape[1])])
    T = batch.dec_in.shape[0]
    tokens = batch.dec_in[0].copy()
    for t in range(1, T):
        lp = dec.step(tokens)
        own = lp.argmax(axis=1).astype(np.int32)
        use_own = (rng.random(len(own)) >= ratio) & (batch.tgt_mask[t] > 0)
        batch.dec_in[t] = np.where(use_own, own, batch.dec_in[t])
        tokens = batch.dec_in[t]


# --- training entry point ------------------------------------------------------------------------------

def train(inputs: Sequence[str], output: str, engine: dict, *, source_field: str = "source",
          target_field: str = "target", attention: str | None = None, teacher_forcing: float = 1.0,
          max_length: int | None = None, shared_vocab: bool = False, target_level: str | None = None,
          callback=None) -> dict:
    """Read pairs, build vocabularies and the network, train with early stopping, save ``output``."""
    from rnntools.io import load_model
    from rnntools.tasks.trainer import EngineConfig, fit, set_threads

    config = EngineConfig.from_options(engine, **DEFAULTS)
    if config.embeddings is not None:
        raise UsageError("--embeddings is not supported by --task seq2seq yet")
    set_threads(config.threads)
    blas_threads(config.threads or 1)
    if config.threads:
        from rnntools.nn import set_threads as engine_workers

        engine_workers(config.threads)  # the recurrent engine's time loops split the batch over this many
    resume = load_model(config.resume, KIND) if config.resume else None
    if resume is not None:
        migrate_training_state(resume)
    level, target_level = config.level, target_level or config.level
    if resume is not None:
        prior = Seq2SeqModel.from_file(resume)
        level, target_level = prior.src_vocab.level, prior.tgt_vocab.level
    if shared_vocab and level != target_level:
        raise UsageError(f"--shared-vocab needs one level for both sides (source {level}, target {target_level})")
    # Case is kept on both sides: what a seq2seq model writes is returned to the user as is (a spelling,
    # a pronunciation, a reply), so lowercasing would change the answer, not just the statistics.
    lowercase = False
    pairs = list(read_pairs(inputs, level=level, target_level=target_level, lowercase=lowercase,
                            source_field=source_field, target_field=target_field, max_length=max_length,
                            errors=config.encoding_errors))
    if not pairs:
        raise InputError("no pairs to learn from (the input is empty)", inputs[0] if len(inputs) == 1 else None)
    if resume is not None:
        model = prior
    else:
        if config.vocab_path:
            src_vocab = tgt_vocab = Vocab.read(config.vocab_path)
            if src_vocab.n_special < 4:
                raise InputError("the vocabulary needs the specials <pad> <unk> <s> </s> (build it with "
                                 "`rnntools vocab` without --no-specials)", config.vocab_path)
            shared_vocab = True
        else:
            src_vocab, tgt_vocab = build_vocabs(pairs, level=level, lowercase=lowercase, shared=shared_vocab,
                                                min_count=config.min_count, max_size=config.max_vocab,
                                                target_level=target_level)
        cfg = Config(cell=config.cell, hidden=config.hidden, layers=config.layers, embed_dim=config.embed_dim,
                     attention=attention or DEFAULT_ATTENTION, shared_vocab=shared_vocab,
                     src_vocab_size=len(src_vocab), tgt_vocab_size=len(tgt_vocab))
        model = Seq2SeqModel(cfg, src_vocab, tgt_vocab, init_params(cfg, config.seed),
                             max(len(p.target) for p in pairs))
    sources, targets = encode_pairs(pairs, model.src_vocab, model.tgt_vocab)
    # validation split: a seeded shuffle, at most MAX_VAL pairs
    n = len(pairs)
    n_val = min(int(round(n * config.val_fraction)), MAX_VAL) if n >= 20 else 0
    order = np.random.default_rng([config.seed, 3]).permutation(n)
    val_idx, train_idx = order[:n_val], order[n_val:]
    if n_val == 0:
        console.warn(f"only {n} pairs: no validation split, training for --epochs {config.epochs} "
                     "without early stopping")
    train_data = ([sources[i] for i in train_idx], [targets[i] for i in train_idx])
    val_data = ([sources[i] for i in val_idx], [targets[i] for i in val_idx]) if n_val else None
    model.extra["data"] = {"pairs": n, "train_pairs": len(train_idx), "val_pairs": n_val,
                           "source_field": source_field, "target_field": target_field}
    task = Seq2SeqTask(model, train_data, val_data, config.batch, config.clip, config.optimizer,
                       teacher_forcing, val_references=[] if n_val else None, dropout=config.dropout)
    if callback is not None:
        callback(task, config)
    console.info(f"{n} pairs ({len(train_idx)} training, {n_val} validation); vocabularies "
                 f"{len(model.src_vocab)} source {level}s, {len(model.tgt_vocab)} target {target_level}s; "
                 f"{model.cfg.cell} "
                 f"{model.cfg.layers}x{model.cfg.hidden}, attention {model.cfg.attention}")
    return fit(task, config, output, resume=resume)


def migrate_training_state(model) -> None:
    """Renames, in place, the optimiser state of a model file written before seq2seq used the shared
    optimiser (``rnntools.nn.optim``): arrays ``state.adam.<param>.m``/``.v`` become
    ``state.optim.m.<param>``/``state.optim.v.<param>`` and the step count ``adam_t`` becomes ``t``.
    The values are the same (the same Adam), so such a file resumes exactly where it stopped."""
    arrays = model.arrays
    moved = 0
    for key in [k for k in arrays if k.startswith("state.adam.")]:
        name, slot = key[len("state.adam."):].rsplit(".", 1)
        if slot in ("m", "v"):
            arrays[f"state.optim.{slot}.{name}"] = arrays.pop(key)
            moved += 1
    task = model.meta.get("training", {}).get("task")
    if isinstance(task, dict) and "adam_t" in task:
        if moved:  # an old SGD run saved its step count under the same name, but no moments
            task.setdefault("optimizer", "adam")
        task["t"] = task.pop("adam_t")


def blas_threads(n: int) -> None:
    """Limit OpenBLAS to ``n`` threads (``rnntools.nn.blas``, ctypes; no extra dependency).

    Why: seq2seq multiplies small matrices (a batch of 64 by 128 units) once per time step; a threaded BLAS
    spends more on waking its threads than on the product, and on the busy 2-core machine one update took
    400 ms with OpenBLAS's default threads against 22 ms with one. One thread unless --threads says more."""
    from rnntools.nn.blas import set_blas_threads

    set_blas_threads(n)


def load(path: str) -> Seq2SeqModel:
    from rnntools.io import load_model

    blas_threads(1)  # decoding multiplies small matrices too

    return Seq2SeqModel.from_file(load_model(path, KIND))


def predict_records(model: Seq2SeqModel, inputs: Sequence[str], *, source_field: str = "source", beam: int = 1,
                    nbest: int = 1, max_length: int | None = None, alpha: float = 1.0,
                    errors: str = "strict", chunk: int = 256) -> Iterator[dict]:
    """Input records with ``prediction`` (and ``score``; ``nbest`` when more than one is asked) added."""
    level, lowercase = model.src_vocab.level, model.src_vocab.lowercase
    buffer: list[Pair] = []

    def flush():
        found = model.translate([p.source for p in buffer], beam=beam, nbest=nbest, max_length=max_length,
                                alpha=alpha, chunk=chunk)
        for pair, best in zip(buffer, found):
            record = dict(pair.record)
            record["prediction"], record["score"] = best[0][0], round(best[0][1], 6)
            if nbest > 1:
                record["nbest"] = [{"prediction": t, "score": round(s, 6)} for t, s in best]
            yield record
        buffer.clear()

    for pair in read_pairs(inputs, level=level, lowercase=lowercase, source_field=source_field,
                           target_field=None, errors=errors):
        buffer.append(pair)
        if len(buffer) >= chunk:
            yield from flush()
    if buffer:
        yield from flush()


def evaluate_pairs(model: Seq2SeqModel, inputs: Sequence[str], *, source_field: str = "source",
                   target_field: str = "target", beam: int = 1, max_length: int | None = None,
                   alpha: float = 1.0, errors: str = "strict") -> dict:
    """Decode held-out pairs and score them (see ``score_predictions``); also the teacher-forced loss."""
    level, lowercase = model.src_vocab.level, model.src_vocab.lowercase
    target_level = model.tgt_vocab.level
    pairs = list(read_pairs(inputs, level=level, target_level=target_level, lowercase=lowercase,
                            source_field=source_field, target_field=target_field, errors=errors))
    if not pairs:
        raise InputError("no pairs to evaluate (the input is empty)", inputs[0] if len(inputs) == 1 else None)
    found = model.translate([p.source for p in pairs], beam=beam, nbest=1, max_length=max_length, alpha=alpha)
    predictions = [f[0][0] for f in found]
    join = "".join if target_level == "char" else " ".join
    references = [join(p.target) for p in pairs]
    summary = score_predictions(predictions, references, target_level, lowercase)
    sources, targets = encode_pairs(pairs, model.src_vocab, model.tgt_vocab)
    tv = model.tgt_vocab
    total = count = 0.0
    for idx in length_batches(np.array([len(t) for t in targets]), 256, None):
        batch = make_batch([sources[i] for i in idx], [targets[i] for i in idx], tv.start_id, tv.eos_id)
        total += loss_and_grads(model.params, model.cfg, batch, grad=False)[0]
        count += batch.tokens
    summary["loss"] = total / count
    summary["beam"] = beam
    return summary
