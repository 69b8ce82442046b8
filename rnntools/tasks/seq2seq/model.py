"""The encoder-decoder network, built from ``rnntools.nn``'s public layers only.

The encoder (``Embedding`` + ``Recurrent``) reads the whole source; its final state (per layer, taken at each
sequence's last real token) initialises the decoder (``Embedding`` + ``Recurrent``). Training is
teacher-forced: the decoder reads ``<s> + target`` and learns to emit ``target + </s>``; padding on both sides
is masked. Luong ``Attention`` (dot or general) is an option; the output layer is a ``Dense`` softmax.

Parameter names (one flat dict, as every nn layer): ``embed.W`` (shared vocabulary) or ``enc.embed.W`` and
``dec.embed.W`` (V, E); ``enc.L.W``/``enc.L.b``(/``enc.L.bn``), the same for ``dec``; ``att.Wc``, ``att.bc``
(, ``att.Wa``); ``out.W`` (H, V), ``out.b`` (V,).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from rnntools.nn import Attention, Dense, Embedding, Recurrent, hashed_dropout_mask
from rnntools.nn.parallel import matmul
from rnntools.tasks.seq2seq.data import Batch


@dataclass
class Config:
    cell: str = "gru"
    hidden: int = 128
    layers: int = 1
    embed_dim: int = 64
    attention: str = "general"  # none | dot | general
    shared_vocab: bool = False
    bidirectional: bool = False  # a second encoder reads each source backwards
    # how the two directions meet: "sum" (each direction has ``hidden`` units; outputs and final states added)
    # or "concat" (the forward direction has hidden - hidden // 2 units, the backward hidden // 2; outputs and
    # final states side by side, ``hidden`` wide)
    merge: str = "sum"
    encoder_layers: int = 0  # the encoder's layers (each direction's), at least ``layers``; 0: ``layers``
    src_vocab_size: int = 0
    tgt_vocab_size: int = 0

    def to_meta(self) -> dict:
        return asdict(self)

    @property
    def enc_layers(self) -> int:
        return self.encoder_layers or self.layers

    def layers_of(self, side: str) -> int:
        """Layers of a stack: the decoder's ``dec``, an encoder direction's (``enc``, ``encb``)."""
        return self.layers if side == "dec" else self.enc_layers

    def width_of(self, side: str) -> int:
        """Units of a stack: ``hidden``, except each direction's share under ``merge="concat"``."""
        if side == "dec" or not (self.bidirectional and self.merge == "concat"):
            return self.hidden
        return self.hidden // 2 if side == "encb" else self.hidden - self.hidden // 2

    def __post_init__(self):
        if self.merge not in ("sum", "concat"):
            raise ValueError(f"unknown merge {self.merge!r} (sum, concat)")
        if self.bidirectional and self.merge == "concat" and self.hidden < 2:
            raise ValueError(f"a hidden size of {self.hidden} cannot be split between two directions")
        if self.enc_layers < self.layers:
            raise ValueError(f"an encoder of {self.enc_layers} layers cannot start a decoder of {self.layers}")


class Net:
    """The layers of one encoder-decoder over the parameter dict ``params``. Parameters already in ``params``
    are shape-checked and used; missing ones are drawn from ``rng`` (``init_params`` draws them all)."""

    # True: the weight gradients of the recurrent stacks and attention multiply only the real (unpadded)
    # positions (``Recurrent.backward(skip_padding=)``): the same gradients summed in another order. Training
    # sets it by ``options.weight_gradients_skip_padding``; off, every position's product, the older bits
    skip_padding = False

    def __init__(self, cfg: Config, params: dict, *, rng: np.random.Generator | None = None, dtype=np.float32,
                 fresh: bool = False):
        self.cfg, self.params = cfg, params
        rng = rng if rng is not None else np.random.default_rng(0)
        E, H = cfg.embed_dim, cfg.hidden
        # Embeddings N(0, 1), as PyTorch's nn.Embedding: measured on integer addition, 63% held-out exact match
        # after 2,000 updates against 1-2% with N(0, 0.1) (small inputs barely move the GRU gates at first).
        if cfg.shared_vocab:
            self.enc_embed = self.dec_embed = Embedding(params, "embed", cfg.src_vocab_size, E, rng=rng, dtype=dtype)
        else:
            self.enc_embed = Embedding(params, "enc.embed", cfg.src_vocab_size, E, rng=rng, dtype=dtype)
            self.dec_embed = Embedding(params, "dec.embed", cfg.tgt_vocab_size, E, rng=rng, dtype=dtype)
        # Recurrent layers initialise W and b uniform +-1/sqrt(H), as PyTorch's weights.
        self.encoder = Recurrent(params, "enc", cfg.cell, E, cfg.width_of("enc"), cfg.enc_layers, rng=rng, dtype=dtype)
        if fresh:
            self._second_bias_draw("enc", rng, dtype)
        self.encoder_b = None
        if cfg.bidirectional:
            self.encoder_b = Recurrent(params, "encb", cfg.cell, E, cfg.width_of("encb"), cfg.enc_layers, rng=rng,
                                       dtype=dtype)
            if fresh:
                self._second_bias_draw("encb", rng, dtype)
        self.decoder = Recurrent(params, "dec", cfg.cell, E, H, cfg.layers, rng=rng, dtype=dtype)
        if fresh:
            self._second_bias_draw("dec", rng, dtype)
        self.attention = None
        if cfg.attention != "none":
            self.attention = Attention(params, "att", cfg.attention, H, rng=rng, dtype=dtype)
        # Output layer as nn.Linear(H, V): weights and bias U(+-1/sqrt(H)).
        self.out = Dense(params, "out", H, cfg.tgt_vocab_size, rng=rng, dtype=dtype)

    def _second_bias_draw(self, side: str, rng: np.random.Generator, dtype) -> None:
        # PyTorch's recurrent layers carry two bias vectors, b_ih and b_hh, each U(+-1/sqrt(H)); wherever
        # the two are simply added (rnn; GRU r and z gates; LSTM gates) the engine's single b stands for
        # their sum, so it gets a second draw: a triangular distribution on +-2/sqrt(H), PyTorch's exactly.
        # The GRU candidate's b_hh sits inside r * (h W_hn + b_hn) and is the engine's separate ``bn``,
        # already U(+-1/sqrt(H)). The LSTM forget-gate bias stays the engine's deliberate 1.
        cfg = self.cfg
        H = cfg.width_of(side)
        k = 1.0 / math.sqrt(H)
        for layer in range(cfg.layers_of(side)):
            b = self.params[f"{side}.{layer}.b"]
            summed = slice(0, 2 * H) if cfg.cell == "gru" else slice(H if cfg.cell == "lstm" else 0, None)
            b[summed] += rng.uniform(-k, k, b[summed].shape).astype(dtype)

    # --- training ----------------------------------------------------------------------------------
    def encode(self, src: np.ndarray, src_mask: np.ndarray, drops: dict | None = None):
        """The encoder over src (S, B): top outputs He (S, B, H) (0 at padding), the decoder's initial state
        (the final states of the encoder's top ``layers`` layers), cache.

        Bidirectional: a second stack reads each row's real tokens backwards (padding stays at the end);
        its outputs, put back in source order, are added to the forward stack's, and so are the final
        states, or with ``merge="concat"`` (two narrower stacks) put beside them: either way every shape
        downstream, attention's included, is as without it."""
        He, final, cache = self._run(self.enc_embed, self.encoder, "enc", src, src_mask, None, drops)
        if self.encoder_b is not None:
            perm = reversal(src_mask)
            cols = np.arange(src.shape[1])[None, :]
            Hb, final_b, cache_b = self._run(self.enc_embed, self.encoder_b, "encb", src[perm, cols], src_mask,
                                             None, drops)
            if self.cfg.merge == "concat":
                He = np.concatenate([He, Hb[perm, cols]], axis=2)
                final = tuple(np.concatenate([a, b], axis=-1) for a, b in zip(final, final_b))
            else:
                He = He + Hb[perm, cols]
                final = tuple(a + b for a, b in zip(final, final_b))
            cache = (cache, cache_b, perm)
        skip = self.cfg.enc_layers - self.cfg.layers
        return He, (tuple(f[skip:] for f in final) if skip else final), cache

    def _encode_back(self, src, dHe, cache, grads, dstate, drops):
        skip = self.cfg.enc_layers - self.cfg.layers
        if skip and dstate is not None:
            # the encoder's lower layers start no decoder layer: no gradient reaches their final states
            dstate = tuple(np.concatenate([np.zeros((skip,) + d.shape[1:], d.dtype), d]) for d in dstate)
        if self.encoder_b is None:
            self._back(self.enc_embed, self.encoder, "enc", src, dHe, cache, grads, dstate, drops)
            return
        cache_f, cache_b, perm = cache
        cols = np.arange(src.shape[1])[None, :]
        dstate_b = dstate
        if self.cfg.merge == "concat":
            # each direction gets its own columns of the gradients
            Hf = self.cfg.width_of("enc")
            if dHe is not None:
                dHe, dHe_b = np.ascontiguousarray(dHe[..., :Hf]), dHe[..., Hf:]
            else:
                dHe_b = None
            if dstate is not None:
                dstate, dstate_b = (tuple(np.ascontiguousarray(d[..., :Hf]) for d in dstate),
                                    tuple(np.ascontiguousarray(d[..., Hf:]) for d in dstate))
        else:
            dHe_b = dHe
        self._back(self.enc_embed, self.encoder, "enc", src, dHe, cache_f, grads, dstate, drops)
        dHb = None if dHe_b is None else dHe_b[perm, cols]
        self._back(self.enc_embed, self.encoder_b, "encb", src[perm, cols], dHb, cache_b, grads, dstate_b, drops)

    def _run(self, embed: Embedding, rnn: Recurrent, side: str, ids, mask, state, drops):
        if drops and drops[(side, 0)].ndim == 2:
            # the first layer's mask is one (V, E) mask of the table for the whole batch: every position of a
            # token reads the same masked row, so the layer still reads the (masked) table by id
            masks = [drops[(side, layer)] for layer in range(1, rnn.layers)]
            y, final, cache = rnn.forward(embed.table * drops[(side, 0)], state, mask, train=True,
                                          dropout_masks=masks, ids=ids)
        elif drops:
            # dropout masks are per position: the first layer's input is gathered, then masked
            x, _ = embed.forward(ids)
            x = x * drops[(side, 0)]
            masks = [drops[(side, layer)] for layer in range(1, rnn.layers)]
            y, final, cache = rnn.forward(x, state, mask, train=True, dropout_masks=masks)
        else:
            # read by id: for a small vocabulary the engine projects V rows instead of S*B positions
            y, final, cache = rnn.forward(embed.table, state, mask, ids=ids)
        return y, final, cache

    def _back(self, embed: Embedding, rnn: Recurrent, side: str, ids, dy, cache, grads, dstate, drops):
        dx, dstate0 = rnn.backward(dy, cache, grads, dstate, skip_padding=self.skip_padding)
        if drops and drops[(side, 0)].ndim == 2:
            embed.backward(dx * drops[(side, 0)], None, grads)  # the masked table's gradient (V, E)
        elif drops:
            embed.backward(dx * drops[(side, 0)], ids, grads)
        else:
            embed.backward(dx, None, grads)  # dx is already the table's gradient (V, E)
        return dstate0

    def loss_and_grads(self, batch: Batch, grad: bool = True, drops: dict | None = None, smoothing: float = 0.0):
        """Teacher-forced loss: the sum over target positions of -log p(token) times ``tgt_mask``, and the
        gradients of that sum by parameter name (None when ``grad`` is false). Returns (loss_sum, grads).
        ``drops``: dropout masks from ``dropout_masks`` (training only); ``smoothing``: label smoothing eps
        (the target distribution (1 - eps) * onehot + eps / V, training only)."""
        He, final, enc_cache = self.encode(batch.src, batch.src_mask, drops)
        Hd, _, dec_cache = self._run(self.dec_embed, self.decoder, "dec", batch.dec_in, batch.tgt_mask, final,
                                     drops)
        if drops:
            Hd = Hd * drops["top"]
        if self.attention is not None:
            # padded target positions weigh 0 in the loss: attention leaves them out
            Out, _, att_cache = self.attention.forward(Hd, He, batch.src_mask, tgt_mask=batch.tgt_mask)
        else:
            Out = Hd
        g: dict[str, np.ndarray] = {}
        loss, dO = self.out.softmax_cross_entropy(Out, batch.dec_out, g, weights=batch.tgt_mask, normalize=False,
                                                  need_dx=grad, smoothing=smoothing)
        loss = float(loss)
        if not grad:
            return loss, None
        dHe = None
        if self.attention is not None:
            dHd, dHe = self.attention.backward(dO, att_cache, g, skip_padding=self.skip_padding)
        else:
            dHd = dO
        if drops:
            dHd = dHd * drops["top"]
        dfinal = self._back(self.dec_embed, self.decoder, "dec", batch.dec_in, dHd, dec_cache, g, None, drops)
        self._encode_back(batch.src, dHe, enc_cache, g, dfinal, drops)
        return loss, g

    # --- decoding ----------------------------------------------------------------------------------
    def step(self, tokens: np.ndarray, state: tuple) -> tuple[np.ndarray, tuple]:
        """One decoder step for N rows: tokens (N,), state -> top output (N, H), new state."""
        x, _ = self.dec_embed.forward(tokens)
        y, state, _ = self.decoder.forward(x[None], state)
        return y[0], state

    def logits(self, h: np.ndarray) -> np.ndarray:
        """The output layer's logits for decoder outputs h (N, H)."""
        return matmul(np.ascontiguousarray(h), self.params["out.W"], bias=self.params["out.b"])


def reversal(mask: np.ndarray) -> np.ndarray:
    """(S, B) time indices that reverse each row's real positions (mask 1) and leave its padding in place:
    ``x[perm, cols]`` reads the row backwards; applied twice it is the identity."""
    S, B = mask.shape
    lengths = (mask > 0).sum(axis=0)
    t = np.arange(S)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def init_params(cfg: Config, seed: int = 1, dtype=np.float32) -> dict[str, np.ndarray]:
    """Fresh parameters by name (see the module docstring), drawn from ``default_rng([seed, 7])`` in the
    PyTorch twin's distributions (benchmarks/seq2seq_vs_torch.py)."""
    p: dict[str, np.ndarray] = {}
    Net(cfg, p, rng=np.random.default_rng([seed, 7]), dtype=dtype, fresh=True)
    return p


def summed_bias_slices(cfg: Config) -> dict[str, slice]:
    """Where the engine's single bias stands for PyTorch's b_ih + b_hh (see ``Net._second_bias_draw``): GRU r
    and z gates, all of RNN's and LSTM's. Trained as two parameters (PyTorch), each gets the same gradient and
    the same Adam step, so their sum moves twice as far as one parameter would; the shared optimiser's
    ``doubled`` option (``rnntools.nn.optim``) does the same for these slices, and ``clip_grad_norm`` counts
    them twice, so the two sides of the benchmark train the same way, not only start the same."""
    sides = ("enc", "encb", "dec") if cfg.bidirectional else ("enc", "dec")
    return {f"{side}.{layer}.b": slice(0, 2 * cfg.width_of(side)) if cfg.cell == "gru" else slice(0, None)
            for side in sides for layer in range(cfg.layers_of(side))}


def loss_and_grads(p: dict, cfg: Config, batch: Batch, grad: bool = True, drops: dict | None = None,
                   smoothing: float = 0.0):
    """``Net(cfg, p).loss_and_grads``: for callers holding only the parameters (tests, benchmarks)."""
    return Net(cfg, p).loss_and_grads(batch, grad, drops, smoothing)


def dropout_masks(cfg: Config, batch: Batch, rate: float, rng: np.random.Generator, dtype=np.float32,
                  table: bool = False) -> dict:
    """Inverted-dropout masks (kept units scaled by 1/(1-rate)) for every layer's input on both sides and
    for the decoder's top output (before attention and the softmax layer). ``table``: the first layers'
    masks are (V, E), one per embedding row for the whole batch (every position of a token reads the same
    masked row, so those layers keep reading the table by id), instead of (T, B, E) per position."""

    def mask(shape):
        # each mask from one draw of rng (a counter-based hash decides its units): a Generator's uniform
        # draw per unit was ~1.4 ms of a full-scale G2P update, the hash ~0.1 ms
        return hashed_dropout_mask(rng, shape, rate, dtype)

    S, B = batch.src.shape
    T = batch.dec_in.shape[0]
    out = {}
    sides = (("enc", S), ("encb", S), ("dec", T)) if cfg.bidirectional else (("enc", S), ("dec", T))
    for side, length in sides:
        for layer in range(cfg.layers_of(side)):
            width = cfg.embed_dim if layer == 0 else cfg.width_of(side)
            rows = cfg.tgt_vocab_size if side == "dec" else cfg.src_vocab_size
            shape = (rows, width) if table and layer == 0 else (length, B, width)
            out[(side, layer)] = mask(shape)
    out["top"] = mask((T, B, cfg.hidden))
    return out
