"""The classifier network, built from ``rnntools.nn``'s public layers only:

    ids (T, B) -> Embedding (V, E) -> RecurrentStack (L layers, one or both directions) -> y (T, B, F)
    -> pool over the real tokens (last / mean / max) -> sentence vector (B, F) -> dropout -> Dense (F, C)
    -> softmax cross-entropy, weighted per class.

Parameter names: ``embed.W``; ``enc.{f,b}{layer}.0.{W,b,bn}`` (``Recurrent``'s, W rows ``[h; x]``);
``out.W``, ``out.b``. Files written before this layout (``embed``, ``enc.f0.Wx``/``Wh``, optimiser state
``adam.m.*``) are renamed on load by ``migrate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rnntools.nn import Dense, Embedding, dropout_mask
from rnntools.nn.layers import check_param
from rnntools.nn.recurrent import CELLS
from rnntools.nn.sequence import RecurrentStack, SparseLinear, pool, pool_backward

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@dataclass
class NetConfig:
    cell: str
    vocab_size: int
    n_classes: int
    embed_dim: int
    hidden: int
    layers: int = 1
    pooling: str = "last"
    bidirectional: bool = False
    dropout: float = 0.0
    wide_buckets: int = 0          # hashed n-gram features beside the network (0: none)
    wide_lr: float = 1.0           # how much faster the wide part learns (SparseLinear's scale)
    share: float = 1.0             # the network's weight in the logits beside a fitted wide part

    @property
    def directions(self) -> tuple[str, ...]:
        return ("f", "b") if self.bidirectional else ("f",)

    @property
    def features(self) -> int:
        return self.hidden * len(self.directions)

    def to_meta(self) -> dict:
        return asdict(self)


def init_params(cfg: NetConfig, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """PyTorch's initialisation: uniform +-1/sqrt(H) for recurrent and dense weights, zero biases (LSTM
    forget-gate bias 1, so that it remembers by default), N(0, 0.1^2) for the embedding. The draws come in
    a fixed order (embedding; per layer and direction the input weights, then the recurrent ones; output),
    so a seed gives the same network as the classifier always has."""
    if cfg.cell not in CELLS:
        raise ValueError(f"unknown cell {cfg.cell!r}")
    H, G = cfg.hidden, GATES[cfg.cell]
    k = 1.0 / np.sqrt(H)
    p = {"embed.W": rng.normal(0.0, 0.1, (cfg.vocab_size, cfg.embed_dim))}
    d_in = cfg.embed_dim
    for layer in range(cfg.layers):
        for d in cfg.directions:
            name = f"enc.{d}{layer}.0"
            Wx = rng.uniform(-k, k, (d_in, G * H))
            Wh = rng.uniform(-k, k, (H, G * H))
            p[f"{name}.W"] = np.concatenate([Wh, Wx])       # rows [h; x], as Recurrent reads them
            b = np.zeros(G * H)
            if cfg.cell == "lstm":
                b[:H] = 1.0  # gate order f, i, o, g
            p[f"{name}.b"] = b
            if cfg.cell == "gru":
                p[f"{name}.bn"] = np.zeros(H)
        d_in = cfg.features
    kf = 1.0 / np.sqrt(cfg.features)
    p["out.W"] = rng.uniform(-kf, kf, (cfg.features, cfg.n_classes))
    p["out.b"] = np.zeros(cfg.n_classes)
    return {name: np.ascontiguousarray(a, dtype=dtype) for name, a in p.items()}


def param_names(cfg: NetConfig) -> list[str]:
    """The names ``init_params`` gives, in its order, without drawing the weights (loading a model)."""
    names = ["embed.W"]
    for layer in range(cfg.layers):
        for d in cfg.directions:
            name = f"enc.{d}{layer}.0"
            names += [f"{name}.W", f"{name}.b"] + ([f"{name}.bn"] if cfg.cell == "gru" else [])
    return names + ["out.W", "out.b"]


class Network:
    """Forward and backward of the classifier for one padded batch (float32, or float64 for gradient checks).

    ``params`` is the flat dict the layers share (present arrays are used, so a loaded model passes its
    arrays); ``freeze_embeddings`` keeps the embedding out of the gradients."""

    def __init__(self, cfg: NetConfig, params: dict[str, np.ndarray], freeze_embeddings: bool = False,
                 train_wide: bool = True):
        dtype = params["embed.W"].dtype if "embed.W" in params else np.float32
        self.cfg, self.params = cfg, params
        self.embed = Embedding(params, "embed", cfg.vocab_size, cfg.embed_dim, trainable=not freeze_embeddings,
                               dtype=dtype)
        self.rnn = RecurrentStack(params, "enc", cfg.cell, cfg.embed_dim, cfg.hidden, cfg.layers,
                                  cfg.bidirectional, cfg.dropout, dtype=dtype)
        self.out = Dense(params, "out", cfg.features, cfg.n_classes, dtype=dtype)
        self.wide = (SparseLinear(params, "wide", cfg.wide_buckets, cfg.n_classes, dtype, scale=cfg.wide_lr)
                     if cfg.wide_buckets else None)
        self.train_wide = train_wide   # False: the wide part is fitted elsewhere (linear.py) and left alone
        if self.wide is not None and "wide.b" not in params:
            params["wide.b"] = np.zeros(cfg.n_classes, dtype)   # the fitted linear model's intercept
        elif self.wide is not None:
            check_param(params, "wide.b", (cfg.n_classes,))     # a scalar was broadcast to every class

    def names(self) -> list[str]:
        """The trainable parameters."""
        return (self.embed.names() + self.rnn.names() + self.out.names()
                + (self.wide.names() if self.wide is not None and self.train_wide else []))

    def features(self, ids: np.ndarray, lengths: np.ndarray, rng: np.random.Generator | None = None):
        """Sentence vectors (B, F) and a cache. ids: (T, B) right-padded; lengths: (B,) >= 1; ``rng``:
        dropout (training); None: no dropout."""
        train = rng is not None and self.cfg.dropout > 0
        y, rc = self.rnn.forward(self.embed.table, lengths, ids=ids, train=train, rng=rng)
        feats, pc = pool(y, lengths, self.cfg.pooling, self.cfg.hidden if self.cfg.bidirectional else None)
        drop = dropout_mask(rng, feats.shape, self.cfg.dropout, feats.dtype) if train else None
        if drop is not None:
            feats = feats * drop
        return feats, (rc, pc, drop)

    def forward(self, ids: np.ndarray, lengths: np.ndarray, rng: np.random.Generator | None = None, wide=None,
                wide_product: np.ndarray | None = None):
        """Logits (B, C) and a cache for ``backward``. ``wide``: the batch's (B, buckets) sparse n-gram
        features (``features.wide_matrix``), added to the logits through ``wide.W``; None: the network alone.
        ``wide_product``: instead of ``wide``, its product with ``wide.W`` (B, C), made beforehand
        (``features.WideRows.times``: prediction)."""
        feats, cache = self.features(ids, lengths, rng)
        return self._logits(feats, wide, wide_product), (feats, cache, wide)

    def infer(self, ids: np.ndarray, lengths: np.ndarray, wide=None, wide_product: np.ndarray | None = None):
        """``forward``'s logits (B, C) for prediction, the same bits: no dropout, and the recurrent layers
        keep nothing for a backward pass (``RecurrentStack.infer``; max pooling made in their time loops)."""
        if self.cfg.pooling == "max":
            feats = self.rnn.infer(self.embed.table, lengths, ids=ids, max_pool=True)
        else:
            feats, _ = pool(self.rnn.infer(self.embed.table, lengths, ids=ids), lengths, self.cfg.pooling,
                            self.cfg.hidden if self.cfg.bidirectional else None)
        return self._logits(feats, wide, wide_product)

    def _logits(self, feats: np.ndarray, wide, wide_product) -> np.ndarray:
        logits, _ = self.out.forward(feats)
        if self.cfg.share != 1.0:
            logits *= self.cfg.share
        if self.wide is not None and wide is not None:
            logits += self.wide.forward(wide) + self.params["wide.b"]
        elif self.wide is not None and wide_product is not None:
            logits += self.wide.scaled(wide_product) + self.params["wide.b"]
        return logits

    def backward_features(self, dfeats: np.ndarray, cache, grads: dict) -> None:
        """Gradients below the sentence vectors, accumulated into ``grads``."""
        rc, pc, drop = cache
        if drop is not None:
            dfeats = dfeats * drop
        dy = pool_backward(dfeats, pc)
        dtable = self.rnn.backward(dy, rc, grads, need_dx=self.embed.trainable)
        if dtable is not None:
            self.embed.backward(dtable, None, grads)

    def backward(self, dlogits: np.ndarray, cache) -> dict[str, np.ndarray]:
        """Gradients of every trainable parameter given dloss/dlogits (B, C)."""
        feats, fcache, wide = cache
        grads: dict[str, np.ndarray] = {}
        if self.wide is not None and wide is not None and self.train_wide:
            self.wide.backward(dlogits, wide, grads)
        dfeats = self.out.backward(dlogits * self.cfg.share if self.cfg.share != 1.0 else dlogits, feats, grads)
        self.backward_features(dfeats, fcache, grads)
        return grads

    def loss_and_grads(self, ids, lengths, y, weights, rng=None, wide=None) -> tuple[float, dict[str, np.ndarray]]:
        """Weighted mean cross-entropy of a batch (``sum w_i nll_i / sum w_i``) and its gradients.
        The (B, C) readout is a few numpy lines: for one row per text, ``Dense.softmax_cross_entropy``'s
        hand-off to the engine's workers costs more than the arithmetic (0.4 against 0.14 ms a batch of 32)."""
        logits, cache = self.forward(ids, lengths, rng, wide)
        loss, dlogits = weighted_xent(logits, y, weights)
        return loss, self.backward(dlogits, cache)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def weighted_xent(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy weighted per example (``sum w_i nll_i / sum w_i``, PyTorch's ``weight=``
    convention) and its gradient with respect to the logits (B, C), in the logits' dtype."""
    probs = softmax(logits)
    B = len(y)
    nll = -np.log(np.maximum(probs[np.arange(B), y], np.finfo(probs.dtype).tiny))
    total = float(w.sum())
    loss = float((w * nll).sum() / total)
    d = probs
    d[np.arange(B), y] -= 1.0
    d *= (w / total)[:, None].astype(d.dtype)
    return loss, d


def predict_logits(net: Network, seqs: Sequence[np.ndarray], wide=None, batch: int = 256,
                   keep: list | None = None, wide_product=None) -> np.ndarray:
    """Logits (N, C) in float64 for encoded texts (and their sparse n-gram rows: a scipy matrix, or
    ``features.WideRows``, whose product with the wide part is made once for all texts), in their order;
    batches grouped by length. The first layer projects each embedding row the texts use once, when a
    batch first reads it, and no other row (``table_projections``): 4,000 glosses use 6,595 of a
    15,160-word vocabulary. ``keep``: a list that holds those projections for the next call with the same
    network (a reader scoring its input in chunks projects each row once in all).

    ``wide_product``: instead of ``wide``, the rows' product with the wide part made elsewhere, (N, C)
    float32, or a future of it (``Model.probs`` makes it on a worker while the network runs), added
    once the network's logits are made: the same bits as rows given here (each entry's additions are
    the same, in the same order)."""
    from rnntools.nn.parallel import get_threads, run_each
    from rnntools.nn.recurrent import table_projections
    from rnntools.tasks.classify.data import bucket_batches, pad_batch

    lengths = np.fromiter(map(len, seqs), np.int64, len(seqs))
    out = np.empty((len(seqs), net.cfg.n_classes), np.float64)
    if wide_product is None and hasattr(wide, "times") and net.wide is not None:
        wide_product, wide = wide.times(net.params["wide.W"]), None
    # longest batch first: each batch's arrays are then no larger than the last ones freed, which the
    # allocator reuses; shortest first, every batch's larger arrays were fresh pages from the kernel
    # (4,000 glosses: 22k page faults, about a sixth of the network's time)
    batches = list(reversed(bucket_batches(lengths, batch, None)))

    def logits(idx):
        ids, lens = pad_batch([seqs[i] for i in idx])
        return net.infer(ids, lens, wide=None if wide is None else wide[idx])

    if net.wide is None:
        wide_product = None     # no wide part to add it with
    z = None            # the network's logits in its own dtype, while a product is still to be added
    with table_projections(keep):
        if get_threads() > 1 and len(batches) > 1:
            # every row the batches read (and the padding's, 0) projected before they run side by side
            net.rnn.project(net.embed.table, np.concatenate([*seqs, np.zeros(1, np.int64)]))
        # whole batches side by side on the workers (run_each), the same bits as one after the other
        for idx, part in zip(batches, run_each(logits, batches)):
            if wide_product is None:
                out[idx] = part
                continue
            if z is None:
                z = np.empty(out.shape, part.dtype)
            z[idx] = part
    if z is not None:
        product = wide_product.result() if hasattr(wide_product, "result") else wide_product
        if product is not None:
            z += net.wide.scaled(product) + net.params["wide.b"]
        out[:] = z
    return out


def predict_probs(net: Network, seqs: Sequence[np.ndarray], wide=None, batch: int = 256,
                  temperature: float = 1.0, keep: list | None = None, wide_product=None) -> np.ndarray:
    """Class probabilities (N, C) in float64, the logits divided by ``temperature`` (calibration);
    ``keep`` and ``wide_product`` as ``predict_logits``'s."""
    logits = predict_logits(net, seqs, wide, batch, keep, wide_product)
    return softmax(logits / temperature if temperature != 1.0 else logits)


# the stored temperature's prior: log T ~ N(0, 1), worth about one validation text (see fit_temperature)
TEMPERATURE_PRIOR_SD = 1.0


def fit_temperature(logits: np.ndarray, y: np.ndarray, prior_sd: float | None = None) -> float:
    """The temperature T minimising the validation log loss of ``softmax(logits / T)`` (Guo et al. 2017's
    temperature scaling: one number, so it cannot overfit and never changes which label wins).
    Golden-section search on log T over [1/20, 20].

    ``prior_sd``: the most probable T under a prior ``log T ~ N(0, prior_sd^2)`` instead (the mean loss plus
    ``(log T)^2 / (2 prior_sd^2 n)`` for n texts). With a few hundred texts it is the same T to a
    percent; where the validation texts are all classified right the loss falls without end as T -> 0 and
    the plain fit stops at the bound, 1/20: logits 20 times sharper, measured on spam's 17 validation
    texts (seed 2) as a test log loss of 0.30 against 0.054 with the prior (docs/classify.md)."""
    n = max(len(y), 1)
    penalty = 0.0 if prior_sd is None else 1.0 / (2.0 * prior_sd * prior_sd * n)

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y])) + penalty * log_t * log_t

    lo, hi = -np.log(20.0), np.log(20.0)
    phi = (np.sqrt(5.0) - 1) / 2
    a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - phi * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + phi * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE: the gap between confidence (the top probability) and accuracy, averaged over ``bins``
    equal-width confidence bins weighted by how many predictions fall in each (Guo et al. 2017)."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    which = np.minimum((conf * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.sum() * abs(float(correct[sel].mean()) - float(conf[sel].mean()))
    return total / max(len(y), 1)


# --- files written before the task contract ----------------------------------------------------------------

def migrate_arrays(arrays: dict[str, np.ndarray], cell: str) -> dict[str, np.ndarray]:
    """Arrays of a pre-contract classifier file under today's names: ``embed`` -> ``embed.W``;
    ``enc.f0.Wx`` and ``enc.f0.Wh`` -> ``enc.f0.0.W`` (rows ``[Wh; Wx]``); ``enc.f0.b``/``bn`` ->
    ``enc.f0.0.b``/``bn`` (``bn`` kept only for GRU, the one cell that uses it); the same under the
    ``resume.`` prefix; Adam's moments ``state.adam.m.<old>``/``v`` -> ``optim.m.<new>``/``v`` (the
    trainer's names; the step count, kept in the old meta, is added by ``task.load``).
    A file already in today's layout comes back unchanged."""
    if "embed" not in arrays:
        return arrays
    renamed = {"": "", "resume.": "resume.", "state.adam.m.": "optim.m.", "state.adam.v.": "optim.v."}
    out: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        prefix = next((p for p in renamed if p and name.startswith(p)), "")
        rest, new = name[len(prefix):], renamed[prefix]
        if rest == "embed":
            out[f"{new}embed.W"] = value
        elif rest.startswith("enc."):
            base, key = rest.rsplit(".", 1)
            if key == "Wx":
                out[f"{new}{base}.0.W"] = np.concatenate([arrays[f"{prefix}{base}.Wh"], value])
            elif key in ("b", "bn") and (key == "b" or cell == "gru"):
                out[f"{new}{base}.0.{key}"] = value
        else:
            out[f"{new}{rest}"] = value
    return out
