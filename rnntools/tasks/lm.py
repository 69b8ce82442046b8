"""Language models: synchronous many-to-many training with truncated BPTT, one-to-many sampling, scoring.

Data
    The text is one id stream. Char level: every character including the line breaks. Word level: the words
    of each line (``rnntools.text`` tokenizer) followed by ``</s>`` standing for the line break (decoded back
    to ``\\n``). The vocabulary (with the four specials: unknown tokens map to ``<unk>``) is built from the
    training text unless ``--vocab`` gives one.
    Validation is the END of the stream (``--val-fraction``, at most ``MAX_VAL_TOKENS``): a contiguous split,
    so no training window overlaps it.
    Training layout (torch-rnn, Karpathy's char-rnn): the training stream is cut into B equal streams, one
    per batch row, and an epoch walks through them in consecutive windows of ``seq_len``; the hidden state at
    the end of one window is the initial state of the next (truncated BPTT with carried state), reset at the
    start of each epoch.
Model
    ``embed.W`` (V, E) -> ``rnn`` stack (``rnntools.nn.Recurrent``) -> ``out.W`` (H, V), ``out.b`` (V,) ->
    softmax. Loss: mean cross-entropy per predicted token (nats); bits per character = total bits / number
    of characters predicted (at word level, characters of the words plus spaces and line breaks).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, UsageError

if TYPE_CHECKING:
    from rnntools.tasks.trainer import EngineConfig

KIND = "lm"
MAX_VAL_TOKENS = 200_000  # validation cost stays bounded on big corpora
EVAL_EVERY = 1000  # also evaluate every this many steps when an epoch is longer
TOKEN_BUDGET = 1 << 22  # scoring: at most this many logits (B * T * V) at once

# Defaults chosen by measuring on samples/book.txt (see docs/readme/lm.md).
DEFAULTS = {
    "char": dict(level="char", cell="lstm", hidden=256, layers=1, embed_dim=64, batch=32, seq_len=100,
                 dropout=0.0, epochs=50, patience=3, val_fraction=0.05, min_count=1, plateau_decay=0.5,
                 lr_by_optimizer={"adam": 5e-3, "sgd": 1.0}),
    "word": dict(level="word", cell="lstm", hidden=256, layers=1, embed_dim=128, batch=32, seq_len=35,
                 dropout=0.0, epochs=50, patience=3, val_fraction=0.05, min_count=2, max_vocab=30000,
                 plateau_decay=0.5,
                 lr_by_optimizer={"adam": 2e-3, "sgd": 1.0}),
}


# --- data -------------------------------------------------------------------------------------------------

def read_lines(inputs: Sequence[str], errors: str = "strict") -> list[str]:
    from rnntools.io import iter_line_batches

    lines: list[str] = []
    for path in inputs:
        for _, batch in iter_line_batches(path, errors):
            lines.extend(batch)
    return lines


def line_end_id(vocab) -> int:
    """The id that stands for a line break: ``\\n`` at char level, ``</s>`` at word level."""
    if vocab.level == "char":
        if "\n" not in vocab.index:
            raise InputError("the character vocabulary has no line break '\\n'")
        return vocab.index["\n"]
    if vocab.n_special < 4:
        raise InputError("a word-level language model needs a vocabulary with the specials (<pad> <unk> <s> </s>)")
    return vocab.eos_id


def build_vocab(lines: Sequence[str], level: str, *, min_count: int = 1, max_size: int | None = None):
    from rnntools.text.vocab import TokenCounter

    counter = TokenCounter(level, lowercase=level == "word")
    counter.add_lines(list(lines))  # char level counts one '\n' per line
    return counter.vocab(min_count=min_count, max_size=max_size, specials=True)


def encode_lines(vocab, lines: Sequence[str]) -> np.ndarray:
    """The id stream of ``lines`` (int32), a line-break id after every line."""
    end = line_end_id(vocab)
    if vocab.level == "char":
        return encode_chars(vocab, "\n".join(lines) + "\n" if lines else "")
    parts = []
    for line in lines:
        ids = vocab.encode(line)
        parts.append(ids)
        parts.append(np.array([end], np.int32))
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)


def encode_chars(vocab, text: str) -> np.ndarray:
    """Character ids of ``text`` through a code-point lookup table (no Python loop per character)."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    unk = vocab.unk_id if vocab.n_special > 1 else -1
    singles = [(ord(t), i) for i, t in enumerate(vocab.tokens) if len(t) == 1 and i >= vocab.n_special]
    top = max((cp for cp, _ in singles), default=0)
    table = np.full(top + 2, unk, np.int32)
    for cp, i in singles:
        table[cp] = i
    ids = table[np.minimum(points, top + 1)]
    if unk < 0:
        ids = ids[ids >= 0]
    return ids.astype(np.int32)


def split_stream(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    n_val = min(int(len(ids) * val_fraction), MAX_VAL_TOKENS) if val_fraction > 0 else 0
    if n_val < 2:
        return ids, ids[:0]
    return ids[: len(ids) - n_val], ids[len(ids) - n_val:]


class StreamBatches:
    """(inputs, targets), each (T, B) int32, for consecutive windows of B parallel streams.

    ids (N,) -> B streams of S = (N - 1) // B tokens: row b holds ids[b*S : (b+1)*S], targets shifted by
    one. Window k covers columns [k*T, (k+1)*T); the last window may be shorter.
    """

    def __init__(self, ids: np.ndarray, batch: int, seq_len: int):
        S = (len(ids) - 1) // batch
        self.batch, self.seq_len, self.stream_len = batch, seq_len, S
        ids = np.asarray(ids, np.int32)
        self.x = np.ascontiguousarray(ids[: batch * S].reshape(batch, S).T)  # (S, B) time-major
        self.y = np.ascontiguousarray(ids[1: batch * S + 1].reshape(batch, S).T)

    def __len__(self) -> int:
        return -(-self.stream_len // self.seq_len) if self.stream_len > 0 else 0

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= k < len(self):
            raise IndexError(k)
        a, b = k * self.seq_len, min((k + 1) * self.seq_len, self.stream_len)
        return self.x[a:b], self.y[a:b]


def fit_batch(n_tokens: int, batch: int, seq_len: int, path_hint: str) -> int:
    """The batch size to use: smaller than asked when the text is too short for ``batch`` full windows."""
    if n_tokens - 1 < seq_len:
        raise InputError(f"the training text has {n_tokens} tokens, too few for --seq-len {seq_len} "
                         f"(needs at least {seq_len + 1}); lower --seq-len or give more text", path_hint)
    fitted = min(batch, (n_tokens - 1) // seq_len)
    if fitted < batch:
        console.warn(f"the training text has {n_tokens} tokens: using --batch {fitted} instead of {batch} "
                     f"so that every row gets at least one window of {seq_len}")
    return fitted


# --- the model --------------------------------------------------------------------------------------------

class LanguageModel:
    """Embedding -> recurrent stack -> dense softmax over the vocabulary, parameters in one flat dict."""

    def __init__(self, vocab_size: int, *, cell: str, hidden: int, layers: int, embed_dim: int,
                 dropout: float = 0.0, params: dict | None = None, pretrained: np.ndarray | None = None,
                 freeze_embeddings: bool = False, seed: int = 1, dtype=np.float32):
        from rnntools import nn

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

    def hyper(self) -> dict:
        return {"cell": self.cell, "hidden": self.hidden, "layers": self.layers, "embed_dim": self.embed_dim,
                "dropout": self.dropout, "vocab_size": self.vocab_size}

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
        from rnntools import nn

        h, new_state, _ = self.rnn.forward(self.embed.table, state, mask=mask, ids=x)
        logits, _ = self.out.forward(h)
        logp = nn.log_softmax(logits.reshape(-1, self.vocab_size))
        picked = logp[np.arange(logp.shape[0]), y.reshape(-1)].reshape(y.shape)
        return picked, new_state


# --- the task, as the trainer sees it ---------------------------------------------------------------------

class LMTask:
    kind = KIND
    unit = "tokens"

    def __init__(self, model: LanguageModel, vocab, train_ids: np.ndarray, val_ids: np.ndarray,
                 config: EngineConfig, meta_extra: dict, chars_per_token: float | None = None):
        from rnntools import nn

        self.model, self.vocab, self.config, self.meta_extra = model, vocab, config, meta_extra
        self.batches = StreamBatches(train_ids, config.batch, config.seq_len)
        self.val_ids = val_ids
        names = model.trainable()
        self.names = names
        trainable = {n: model.params[n] for n in names}
        self.opt = nn.make_optimizer(config.optimizer, trainable, lr=config.lr)
        if config.optimizer == "adam":  # create the moments now so that --resume can load into them
            for n in names:
                self.opt.m[n] = np.zeros_like(trainable[n])
                self.opt.v[n] = np.zeros_like(trainable[n])
        self.carry = model.rnn.zero_state(config.batch)
        self.chars_per_token = chars_per_token or _chars_per_token(vocab, train_ids)
        self.unit = "chars" if vocab.level == "char" else "words"

    # the protocol of rnntools.tasks.trainer
    def steps_per_epoch(self) -> int:
        return len(self.batches)

    def epoch_batches(self, epoch, rng):
        return self.batches

    def start_epoch(self, epoch) -> None:
        for a in self.carry:
            a[...] = 0

    def train_step(self, batch, rng, lr):
        from rnntools import nn

        x, y = batch
        self.opt.lr = lr
        loss, grads, state = self.model.loss_and_grads(x, y, self.carry, rng=rng, train=True)
        norm = nn.clip_grad_norm(grads, self.config.clip)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            return float("nan"), y.size  # the trainer stops; parameters stay as they were
        self.opt.step(grads)
        for live, new in zip(self.carry, state):
            live[...] = new
        return loss * y.size, y.size

    def evaluate(self):
        if len(self.val_ids) < 2:
            return None
        nll, n = stream_nll(self.model, self.val_ids, self.config.batch, self.config.seq_len)
        loss = nll / n
        return {"val_loss": loss, "val_perplexity": math.exp(min(loss, 700.0)),
                "val_bpc": loss / math.log(2) / self.chars_per_token}

    def params(self):
        return {n: self.model.params[n] for n in self.model.params}

    def train_state(self):
        out = {f"carry.{i}": a for i, a in enumerate(self.carry)}
        if self.config.optimizer == "adam":
            for n in self.names:
                out[f"optim.m.{n}"] = self.opt.m[n]
                out[f"optim.v.{n}"] = self.opt.v[n]
        return out

    def train_meta(self):
        return {"optimizer": self.config.optimizer, "t": self.opt.t}

    def load_train_meta(self, meta):
        if meta.get("optimizer", self.config.optimizer) != self.config.optimizer:
            raise UsageError(f"cannot --resume with --optimizer {self.config.optimizer}: the model was trained "
                             f"with {meta['optimizer']}")
        self.opt.t = int(meta.get("t", 0))

    def save(self, path, arrays, meta):
        from rnntools.io import save_model

        save_model(path, KIND, arrays, {**model_meta(self.model, self.vocab, self.chars_per_token),
                                        **self.meta_extra, **meta})


def _chars_per_token(vocab, ids: np.ndarray) -> float:
    """Average characters per token, for bits per character (1 at char level)."""
    if vocab.level == "char":
        return 1.0
    lengths = np.array([len(t) + 1 for t in vocab.tokens], np.float64)  # a word and its space (or line break)
    lengths[: vocab.n_special] = 1.0
    sample = ids[: 1_000_000]
    return float(lengths[sample].mean()) if len(sample) else 1.0


def model_meta(model: LanguageModel, vocab, chars_per_token: float) -> dict:
    return {"model": model.hyper(), "vocab": vocab.to_meta(), "chars_per_token": chars_per_token}


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


# --- training entry point ---------------------------------------------------------------------------------

def train(inputs: Sequence[str], output: str, engine: dict | None = None) -> dict:
    """``rnntools rnn-train --task lm``: build (or resume) a language model and train it."""
    from rnntools.io import load_model

    engine = dict(engine or {})
    resume = None
    if engine.get("resume"):
        resume = load_model(engine["resume"], KIND)
        saved = resume.meta["model"]
        engine_level = engine.get("level")
        if engine_level and engine_level != resume.meta["vocab"]["level"]:
            raise UsageError(f"--level {engine_level} differs from the resumed model's "
                             f"{resume.meta['vocab']['level']}")
        for key in ("cell", "hidden", "layers", "embed_dim"):
            if engine.get(key) is not None and engine[key] != saved[key]:
                raise UsageError(f"--{key.replace('_', '-')} {engine[key]} differs from the resumed model's "
                                 f"{saved[key]}; leave it out to continue training")
            engine[key] = saved[key]
        engine["level"] = resume.meta["vocab"]["level"]
        previous = resume.meta.get("training", {}).get("config", {})
        for key in ("batch", "seq_len", "dropout", "val_fraction", "optimizer", "lr", "clip", "seed"):
            if engine.get(key) is None and previous.get(key) is not None:
                engine[key] = previous[key]
    level = engine.get("level") or "char"
    from rnntools.tasks.trainer import EngineConfig, fit, set_threads  # not on the `sample` path

    config = EngineConfig.from_options(engine, **DEFAULTS[level])
    if config.dropout > 0 and config.layers == 1:
        console.warn("--dropout applies between recurrent layers; with --layers 1 it does nothing")
    set_threads(config.threads)
    if config.threads:
        from rnntools import nn

        nn.set_threads(config.threads)
    else:
        from rnntools import nn

        nn.set_threads(os.cpu_count() or 1)
    hint = inputs[0] if len(inputs) == 1 else None

    started = time.perf_counter()
    lines = read_lines(inputs, config.encoding_errors)
    if not any(line.strip() for line in lines):
        raise InputError("no text to learn from (the input is empty)", hint)
    if resume is not None:
        from rnntools.text import Vocab

        vocab = Vocab.from_meta(resume.meta["vocab"])
    elif config.vocab_path:
        from rnntools.text import Vocab

        vocab = Vocab.read(config.vocab_path)
        if vocab.level != level:
            raise UsageError(f"{config.vocab_path} is a {vocab.level}-level vocabulary, but --level is {level}")
    else:
        vocab = build_vocab(lines, level, min_count=config.min_count, max_size=config.max_vocab)
    ids = encode_lines(vocab, lines)
    # bits per character count the characters of the raw text (punctuation and line breaks included), the
    # same denominator `predict` uses, so char- and word-level models compare
    raw_chars = sum(len(line) + 1 for line in lines)
    del lines
    if vocab.n_special > 1:
        unknown = float(np.mean(ids == vocab.unk_id)) if len(ids) else 0.0
        if unknown > 0.5:
            raise InputError(f"{unknown:.0%} of the tokens are unknown to the vocabulary; is it the right "
                             f"--vocab for this text?", hint)
    train_ids, val_ids = split_stream(ids, config.val_fraction)
    if config.val_fraction > 0 and len(val_ids) == 0:
        console.warn("the text is too short to hold out validation data; training without early stopping")
    config.batch = fit_batch(len(train_ids), config.batch, config.seq_len, hint)
    if config.eval_every is None:
        config.eval_every = EVAL_EVERY if len(train_ids) // (config.batch * config.seq_len) > EVAL_EVERY else None
    pretrained = None
    if config.embeddings and resume is None:
        pretrained = load_pretrained(config.embeddings, vocab, config.embed_dim if engine.get("embed_dim")
                                     is not None else None)
        config.embed_dim = pretrained.shape[1]
    params = None
    if resume is not None:
        params = {name: np.array(a) for name, a in resume.arrays.items()
                  if not name.startswith(("resume.", "state."))}
    model = LanguageModel(len(vocab), cell=config.cell, hidden=config.hidden, layers=config.layers,
                          embed_dim=config.embed_dim, dropout=config.dropout, params=params,
                          pretrained=pretrained, freeze_embeddings=config.freeze_embeddings, seed=config.seed)
    console.info(f"{len(vocab)} {level} types, {len(train_ids)} training and {len(val_ids)} validation tokens "
                 f"(read in {time.perf_counter() - started:.1f}s); {sum(a.size for a in model.params.values())} "
                 f"parameters")
    task = LMTask(model, vocab, train_ids, val_ids, config, {"task": "lm"},
                  chars_per_token=raw_chars / max(len(ids), 1))
    summary = fit(task, config, output, resume=resume)
    if summary.get("last_eval"):
        summary["val_bpc"] = summary["last_eval"].get("val_bpc")
    return summary


def load_pretrained(path: str, vocab, embed_dim: int | None) -> np.ndarray:
    """(V, E) initial embedding rows from a `w2v-train` vectors file: rows of known words copied, the others
    (and the specials) drawn at random with a tenth of the vectors' spread."""
    from rnntools.w2v.vectors import load_vectors

    source, vectors = load_vectors(path)
    E = vectors.shape[1]
    if embed_dim is not None and embed_dim != E:
        raise UsageError(f"--embed-dim {embed_dim} differs from the {E} dimensions of {path}; leave it out")
    rng = np.random.default_rng(0)
    out = rng.normal(0.0, 0.1 * float(np.std(vectors)) or 0.1, (len(vocab), E)).astype(np.float32)
    hits = 0
    for i in range(vocab.n_special, len(vocab)):
        token = vocab.tokens[i]
        j = source.index.get(token.lower() if source.lowercase else token)
        if j is not None:
            out[i] = vectors[j]
            hits += 1
    if hits == 0:
        raise InputError("no token of the vocabulary has a vector in this file (another language or level?)",
                         path)
    console.info(f"{hits} of {len(vocab) - vocab.n_special} tokens initialised from {path}")
    return out


# --- loading, sampling and scoring ------------------------------------------------------------------------

@dataclass
class LoadedLM:
    model: LanguageModel
    vocab: object
    meta: dict

    @property
    def level(self) -> str:
        return self.vocab.level


def load(path: str) -> LoadedLM:
    from rnntools.io import load_model
    from rnntools.text import Vocab

    mf = load_model(path, KIND)
    try:
        hyper = mf.meta["model"]
        vocab = Vocab.from_meta(mf.meta["vocab"])
        params = {name: a for name, a in mf.arrays.items() if not name.startswith(("resume.", "state."))}
        model = LanguageModel(len(vocab), cell=hyper["cell"], hidden=hyper["hidden"], layers=hyper["layers"],
                              embed_dim=hyper["embed_dim"], params=params)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"corrupt language model ({exc.__class__.__name__}: {exc})", path) from None
    if len(params) != len(model.params):
        raise ModelFileError("corrupt language model (unexpected arrays)", path)
    return LoadedLM(model, vocab, mf.meta)


def unescape(text: str) -> str:
    r"""Backslash escapes of the shell-friendly kind: ``\n``, ``\t``, ``\\``, ``\u00e9``."""
    if "\\" not in text:
        return text
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


class Sampler:
    """Generates tokens one at a time at batch 1: one fused numba call per token
    (``rnntools.tasks.lm_kernels.sample_step``), one call for the whole prime (``feed_tokens``).

    State: ``h``, ``c`` (L, H) (``c`` is ``h`` for rnn/gru); ``logits`` (V,) holds the last step's logits.
    """

    def __init__(self, lm: LoadedLM):
        from rnntools.nn.kernels import GATES

        m = lm.model
        self.lm, self.vocab = lm, lm.vocab
        p = m.params
        H, L = m.hidden, m.layers
        self.kind = m.rnn.kind
        Ws = [p[f"rnn.{layer}.W"] for layer in range(L)]
        self.Whs = tuple(np.ascontiguousarray(W[:H]) for W in Ws)
        self.Wxs = tuple(np.ascontiguousarray(W[H:]) for W in Ws)
        self.bs = tuple(np.ascontiguousarray(p[f"rnn.{layer}.b"]) for layer in range(L))
        self.bns = tuple(np.ascontiguousarray(p[f"rnn.{layer}.bn"]) for layer in range(L)) \
            if m.cell == "gru" else self.bs
        self.embed = np.ascontiguousarray(p["embed.W"])
        self.projW, self.projb = np.ascontiguousarray(p["out.W"]), np.ascontiguousarray(p["out.b"])
        dt = self.embed.dtype
        self.h = np.zeros((L, H), dt)
        self.c = np.zeros((L, H), dt) if m.cell == "lstm" else self.h
        self.a = np.zeros(GATES[self.kind] * H, dt)
        self.ax = np.zeros(GATES[self.kind] * H, dt)
        self.logits = np.zeros(m.vocab_size, dt)
        self.probs = np.zeros(m.vocab_size, np.float64)
        self.end = line_end_id(self.vocab)

    def _step(self, token: int, temperature: float, top_k: int, u: float) -> int:
        from rnntools.tasks.lm_kernels import sample_step

        return int(sample_step(self.kind, token, self.embed, self.Whs, self.Wxs, self.bs, self.bns, self.h,
                               self.c, self.projW, self.projb, self.a, self.ax, self.logits, self.probs,
                               temperature, top_k, u))

    def _feed(self, ids: np.ndarray) -> None:
        from rnntools.tasks.lm_kernels import feed_tokens

        feed_tokens(self.kind, np.ascontiguousarray(ids, np.int32), self.embed, self.Whs, self.Wxs, self.bs,
                    self.bns, self.h, self.c, self.a, self.ax)

    def prime_ids(self, prime: str) -> np.ndarray:
        if self.vocab.level == "char":
            return encode_chars(self.vocab, prime)
        parts = prime.split("\n")
        ids: list[int] = []
        for i, part in enumerate(parts):
            ids.extend(self.vocab.encode(part).tolist())
            if i < len(parts) - 1:
                ids.append(self.end)
        return np.array(ids, np.int32)

    def until_id(self, until: str | None) -> int | None:
        if until is None:
            return None
        found = self.end if until == "\n" else self.vocab.index.get(until)
        if found is None:
            raise UsageError(f"--until {until!r} is not a token of the model's vocabulary")
        return found

    def token_text(self, token: int) -> str:
        if token == self.end:
            return "\n"
        if token < self.vocab.n_special:
            return ""
        return self.vocab.tokens[token]

    def generate(self, prime: str, length: int, *, temperature: float = 1.0, top_k: int = 0,
                 until: str | None = None, rng: np.random.Generator) -> Iterator[tuple[int, str]]:
        """Yields ``(token id, text)`` for each generated token (text includes a joining space at word
        level). The model first reads a line break (the start of a line), then ``prime``."""
        self.h[...] = 0
        self.c[...] = 0
        ids = np.concatenate([[self.end], self.prime_ids(prime)]).astype(np.int32)
        self._feed(ids[:-1])
        until_id = self.until_id(until)
        token = int(ids[-1])
        previous_text = prime
        for _ in range(length):
            token = self._step(token, temperature, top_k, float(rng.random()))
            text = self.token_text(token)
            if self.vocab.level == "word" and text and text != "\n" and previous_text and \
                    not previous_text.endswith(("\n", " ")):
                text = " " + text
            if text:
                previous_text = text
            yield token, text
            if token == until_id:
                return


def score_lines(lm: LoadedLM, lines: Sequence[str]) -> list[dict]:
    """Per line: log-likelihood (nats, the line and its line break), tokens, perplexity, bits per char."""
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
        T = len(encoded[order[i]]) - 1
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
        logp, _ = m.log_probs(x, y, mask=mask)
        logp = (logp * mask).astype(np.float64)
        for b, r in enumerate(rows):
            n = len(encoded[r]) - 1
            ll = float(logp[:n, b].sum())
            chars = len(lines[r]) + 1
            out[r] = {"log_likelihood": ll, "tokens": n, "perplexity": math.exp(min(-ll / n, 700.0)),
                      "bpc": -ll / math.log(2) / chars}
        i += B
    return out  # type: ignore[return-value]


def _records(inputs: Sequence[str], field: str | None, errors: str = "strict") -> Iterator[tuple[dict | None, str]]:
    from rnntools.io import iter_jsonl, iter_lines, read_text_field

    for path in inputs:
        if field is None:
            for _, line in iter_lines(path, errors):
                yield None, line
        else:
            for line_no, record in iter_jsonl(path, errors):
                yield record, read_text_field(record, field, path, line_no)


def predict_records(model_path: str, inputs: Sequence[str], output: str | None, *, field: str | None = None,
                    chunk: int = 256) -> None:
    """``rnntools predict LM``: one JSONL record per input line (or record) with its scores."""
    from rnntools.io import JsonlWriter, open_output

    if model_path == "-" and "-" in inputs:
        raise UsageError("the model and the input cannot both come from stdin")
    lm = load(model_path)
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        pending: list[tuple[dict | None, str]] = []

        def flush():
            scores = score_lines(lm, [text for _, text in pending])
            for (record, text), score in zip(pending, scores):
                base = dict(record) if record is not None else {"text": text}
                writer.write({**base, **score})
            writer.flush()
            pending.clear()

        for item in _records(inputs, field):
            pending.append(item)
            if len(pending) >= chunk:
                flush()
        if pending:
            flush()


def evaluate_text(model_path: str, inputs: Sequence[str], output: str | None, *, field: str | None = None) -> dict:
    """``rnntools evaluate LM``: log-likelihood, perplexity and bits per character of a whole text, read as
    a stream of lines with the state carried (as in training), in one JSONL summary."""
    from rnntools.io import JsonlWriter, open_output

    lm = load(model_path)
    lines = [text for _, text in _records(inputs, field)]
    if not any(line.strip() for line in lines):
        raise InputError("no text to evaluate (the input is empty)", inputs[0] if len(inputs) == 1 else None)
    ids = np.concatenate([[line_end_id(lm.vocab)], encode_lines(lm.vocab, lines)]).astype(np.int32)
    # a few parallel streams for speed, each long enough that starting it from a zero state costs nothing
    nll, n = stream_nll(lm.model, ids, max(1, min(16, len(ids) // 20000)), 200)
    chars = sum(len(line) + 1 for line in lines)
    result = {"tokens": n, "characters": chars, "log_likelihood": -nll, "loss": nll / n,
              "perplexity": math.exp(min(nll / n, 700.0)), "bpc": nll / math.log(2) / chars}
    if lm.vocab.n_special > 1:
        result["unknown_fraction"] = float(np.mean(ids == lm.vocab.unk_id))
    with open_output(output) as stream:
        JsonlWriter(stream).write(result)
    from rnntools import console as _console

    _console.print_table("language model", ["tokens", "perplexity", "bits/char"],
                         [[n, result["perplexity"], result["bpc"]]])
    return result


def sample_to_stream(model_path: str, output: str | None, *, prime: str = "", length: int = 500,
                     temperature: float = 1.0, top_k: int = 0, until: str | None = None, count: int = 1,
                     fmt: str = "text", seed: int = 1) -> None:
    """``rnntools sample``: text streamed token by token, or one JSONL record per sample.

    Sample ``i`` draws its random numbers from ``default_rng([seed, i])``: the same seed gives the same
    samples, and sample 3 of ``--count 5`` is sample 3 of ``--count 10``.
    """
    from rnntools.io import JsonlWriter, open_output
    from rnntools.tasks.lm_kernels import load_numba_target_without_scipy

    load_numba_target_without_scipy()  # a short process: start-up is most of its time (see lm_kernels)
    lm = load(model_path)
    prime = unescape(prime)
    until = unescape(until) if until is not None else None
    sampler = Sampler(lm)
    until_id = sampler.until_id(until)
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        for i in range(count):
            rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, i])
            if fmt == "text":
                stream.write(prime)
                last = prime
                for _, text in sampler.generate(prime, length, temperature=temperature, top_k=top_k,
                                                until=until, rng=rng):
                    if text:
                        stream.write(text)
                        stream.flush()
                        last = text
                if not last.endswith("\n"):
                    stream.write("\n")
                stream.flush()
            else:
                pieces, stopped = [], "length"
                for token, text in sampler.generate(prime, length, temperature=temperature, top_k=top_k,
                                                    until=until, rng=rng):
                    if token == until_id:
                        stopped = "until"
                        break
                    pieces.append(text)
                writer.write({"sample": i, "prime": prime, "text": "".join(pieces).lstrip(" ")
                              if not prime else "".join(pieces), "stopped": stopped, "seed": seed})
                writer.flush()
