"""The language-model task on the contract of docs/tasks.md: training (``LMTask`` is what the trainer
drives), loading a model file once, and scoring records.

Training layout (torch-rnn, Karpathy's char-rnn): the training stream is cut into B equal streams, one per
batch row, and an epoch walks through them in consecutive windows of ``seq_len``; the hidden state carries
from one window to the next and is reset at the start of each epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from rnntools import console
from rnntools.errors import (
    InputError,
    ModelFileError,
    UsageError,
    check_built_from,
    check_meta_ints,
    check_meta_level,
    model_loader,
)
from rnntools.io import stdin_idle
from rnntools.tasks.lm import DEFAULTS, KIND, STRUCTURAL
from rnntools.tasks.lm import data as D
from rnntools.tasks.lm.model import LanguageModel, LoadedLM, score_lines, stream_nll

EVAL_EVERY = 1000  # also evaluate every this many steps when an epoch is longer
PREDICT_CHUNK = 256  # records scored together (sorted by length within the chunk)
EVAL_STREAMS = 16  # evaluate: at most this many parallel streams, each at least EVAL_STREAM_MIN tokens
EVAL_STREAM_MIN = 20_000


class LMTask:
    """The language model as ``rnntools.tasks.trainer.fit`` drives it."""

    kind = KIND
    unit = "tokens"
    optimizer = None  # set by the trainer, which owns it

    def __init__(self, model: LanguageModel, vocab, train_ids: np.ndarray, val_ids: np.ndarray, config,
                 chars_per_token: float):
        self.model, self.vocab, self.config = model, vocab, config
        self.batches = D.StreamBatches(train_ids, config.batch, config.seq_len)
        self.val_ids = val_ids
        self.carry = model.rnn.zero_state(config.batch)
        self.chars_per_token = chars_per_token
        self.unit = "chars" if vocab.level == "char" else "words"

    def steps_per_epoch(self) -> int:
        return len(self.batches)

    def epoch_batches(self, epoch, rng):
        return self.batches

    def start_epoch(self, epoch) -> None:
        for a in self.carry:
            a[...] = 0

    def trainable(self) -> dict[str, np.ndarray]:
        return {n: self.model.params[n] for n in self.model.trainable()}

    def train_step(self, batch, rng, lr):
        from rnntools import nn

        x, y = batch
        loss, grads, state = self.model.loss_and_grads(x, y, self.carry, rng=rng, train=True)
        norm = nn.clip_grad_norm(grads, self.config.clip)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            return float("nan"), y.size  # the trainer stops; parameters stay as they were
        self.optimizer.step(grads)
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
        return dict(self.model.params)

    def chance_loss(self) -> float:
        return math.log(len(self.vocab))

    def train_state(self):
        return {f"carry.{i}": a for i, a in enumerate(self.carry)}

    def train_meta(self):
        return {}

    def load_train_meta(self, meta):
        pass

    def save(self, path, arrays, meta):
        from rnntools.io import save_model

        save_model(path, KIND, arrays, {"vocab": self.vocab.to_meta(), "chars_per_token": self.chars_per_token,
                                        **meta})


# --- training ---------------------------------------------------------------------------------------------

def train(inputs: Sequence[str], output: str, options: Mapping[str, Any]) -> dict:
    """``rnn-train --task lm``: build (or resume) a language model and train it; returns the summary.
    ``options``: the command line's (None = not given), see docs/tasks.md."""
    from rnntools.io import load_model
    from rnntools.tasks.trainer import EngineConfig, fit, resolve, resume_options

    given = dict(options)
    resume = None
    if given.get("resume"):
        resume = load(load_model(given["resume"], KIND))
        given = resume_options(resume.options, given, STRUCTURAL, given["resume"])
    opts = resolve(DEFAULTS, given)
    config = EngineConfig.from_options(opts)
    if config.dropout > 0 and config.layers == 1:
        console.warn("--dropout applies between recurrent layers; with --layers 1 it does nothing")
    hint = inputs[0] if len(inputs) == 1 else None
    level = opts["level"]

    started = time.perf_counter()
    lines = D.read_lines(inputs, config.encoding_errors)
    if not any(line.strip() for line in lines):
        raise InputError("no text to learn from (the input is empty)", hint)
    if resume is not None:
        vocab = resume.vocab
    elif config.vocab_path:
        from rnntools.text import Vocab

        vocab = Vocab.read(config.vocab_path)
        if vocab.level != level:
            raise UsageError(f"{config.vocab_path} is a {vocab.level}-level vocabulary, but --level is {level}")
    else:
        vocab = D.build_vocab(lines, level, min_count=config.min_count, max_size=config.max_vocab)
    if vocab.level == "char" and "\n" not in vocab.index:
        # a line break ends every line of training, priming and scoring; without one the error blamed the text
        if resume is None and config.vocab_path:
            raise InputError("a character vocabulary without the line break '\\n', which a language model needs "
                             "(it ends every line); count one with `rnntools vocab --level char`", config.vocab_path)
        if resume is None:
            cap = f" (at most --max-vocab {config.max_vocab})" if config.max_vocab else ""
            raise InputError(f"the vocabulary, which keeps characters seen at least --min-count {config.min_count} "
                             f"times{cap}, leaves out the line break '\\n' that ends every line; lower --min-count"
                             f"{' or raise --max-vocab' if cap else ''}", hint)
    ids = D.encode_lines(vocab, lines)
    # bits per character count the characters of the raw text (punctuation and line breaks included), the
    # same denominator `predict` uses, so char- and word-level models compare
    raw_chars = sum(len(line) + 1 for line in lines)
    del lines
    if vocab.n_special > 1:
        unknown = float(np.mean(ids == vocab.unk_id)) if len(ids) else 0.0
        if unknown > 0.5:
            if resume is not None:
                why = "the model being resumed; is it the right text for that model?"
            elif config.vocab_path:
                why = f"the vocabulary; is {config.vocab_path} the right --vocab for this text?"
            else:  # a vocabulary built from this very text: its words are rarer than --min-count
                cap = f" (at most --max-vocab {config.max_vocab})" if config.max_vocab else ""
                why = (f"the vocabulary, which keeps tokens seen at least --min-count {config.min_count} times"
                       f"{cap}; give more text, or lower --min-count")
            raise InputError(f"{unknown:.0%} of the tokens are unknown to {why}", hint)
    train_ids, val_ids = D.split_stream(ids, config.val_fraction)
    if config.val_fraction > 0 and len(val_ids) == 0:
        console.warn("the text is too short to hold out validation data; training without early stopping")
    config.batch = opts["batch"] = D.fit_batch(len(train_ids), config.batch, config.seq_len, hint)
    if config.eval_every is None:
        config.eval_every = EVAL_EVERY if len(train_ids) // (config.batch * config.seq_len) > EVAL_EVERY else None
    pretrained, params = None, None
    if resume is not None:
        params = {name: np.array(a) for name, a in resume.model.params.items()}
    elif config.embeddings:
        from rnntools.tasks.embeddings import pretrained_table

        pretrained = pretrained_table(config.embeddings, vocab, given.get("embed_dim"))
        config.embed_dim = opts["embed_dim"] = pretrained.shape[1]
    model = LanguageModel(len(vocab), cell=config.cell, hidden=config.hidden, layers=config.layers,
                          embed_dim=config.embed_dim, dropout=config.dropout, params=params,
                          pretrained=pretrained, freeze_embeddings=config.freeze_embeddings, seed=config.seed)
    console.info(f"{len(vocab)} {level} types, {len(train_ids)} training and {len(val_ids)} validation tokens "
                 f"(read in {time.perf_counter() - started:.1f}s); {sum(a.size for a in model.params.values())} "
                 f"parameters")
    task = LMTask(model, vocab, train_ids, val_ids, config, chars_per_token=raw_chars / max(len(ids), 1))
    summary = fit(task, config, output, resume=resume.file if resume is not None else None, options=opts)
    if summary.get("last_eval"):
        summary["val_bpc"] = summary["last_eval"].get("val_bpc")
    return summary


# --- loading ----------------------------------------------------------------------------------------------

def _saved_options(meta: dict) -> dict:
    """The options a model was trained with: ``meta["config"]``, or (files written before the task contract)
    the trainer's record of them, its ``model`` section and its vocabulary's level."""
    if isinstance(meta.get("config"), dict):
        return dict(meta["config"])
    old = meta.get("training", {}).get("config", {})
    out = {name: old[name] for name in DEFAULTS if name in old}
    out.update({k: v for k, v in meta["model"].items() if k in DEFAULTS})
    out["level"] = meta["vocab"]["level"]
    return out


def _migrate(model_file) -> None:
    """Older files kept Adam's moments as ``state.optim.{m,v}.<param>`` and its step count in the trainer's
    meta: rename them to ``nn.optim``'s ``optim.*`` names, which the trainer reads."""
    arrays = model_file.arrays
    old = [name for name in arrays if name.startswith("state.optim.")]
    for name in old:
        arrays[name[len("state."):]] = arrays.pop(name)
    if "optim.t" not in arrays and isinstance(model_file.meta.get("training"), dict):
        arrays["optim.t"] = np.array(int(model_file.meta["training"].get("task", {}).get("t", 0)), np.int64)


@model_loader("language model")
def load(source) -> LoadedLM:
    """A language model from a path, ``-`` (stdin) or a loaded ``rnntools.io.ModelFile``."""
    from rnntools.io import ModelFile, load_model
    from rnntools.text import Vocab

    mf = source if isinstance(source, ModelFile) else load_model(source, KIND)
    if mf.kind != KIND:
        raise ModelFileError(f"is a {mf.kind!r} model, expected {KIND!r}", mf.path)
    try:
        options = _saved_options(mf.meta)
        check_meta_ints(options, ("hidden", "layers", "embed_dim"))
        vocab = Vocab.from_meta(mf.meta["vocab"], specials=True)
        check_meta_level(options, "level", vocab.level)
        params = {name: a for name, a in mf.arrays.items() if not name.startswith(("resume.", "state.", "optim."))}
        saved = set(params)
        if options["layers"] > len(params):   # a layer is arrays of its own: no building 2**31 random ones
            raise ValueError(f"layers is {options['layers']}, more than the file's {len(params)} arrays hold")
        model = LanguageModel(len(vocab), cell=options["cell"], hidden=options["hidden"], layers=options["layers"],
                              embed_dim=options["embed_dim"], params=params)
        check_built_from(saved, model.params)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"corrupt language model ({exc.__class__.__name__}: {exc})", mf.path) from None
    _migrate(mf)
    lm = LoadedLM(model, vocab, mf.meta, options)
    lm.file = mf  # for --resume: the arrays and training state
    return lm


# --- using a model ----------------------------------------------------------------------------------------

def read(inputs: Sequence[str], model: LoadedLM | None = None, *, field: str | None = None,
         encoding_errors: str = "strict", text_field: str | None = None, **_) -> Iterator[dict]:
    """Records to score: ``{"text": line}`` per line, or with ``field`` (the CLI's --text-field) the JSONL
    records."""
    return D.read_records(inputs, field or text_field, encoding_errors)


def _text(record: dict, field: str | None) -> str:
    return record[field or "text"]


def predict(model: LoadedLM, records: Iterable[dict], *, field: str | None = None, text_field: str | None = None,
            **_) -> Iterator[dict]:
    """Each record with its log-likelihood (nats, the line and its line break), tokens, perplexity and bits
    per character added."""
    from rnntools import console

    field = field or text_field
    pending: list[dict] = []
    replaced = console.ReplacedFields()
    for record in records:
        pending.append(record)
        if len(pending) >= PREDICT_CHUNK or stdin_idle():
            yield from _scored(model, pending, field, replaced)
            pending = []
    if pending:
        yield from _scored(model, pending, field, replaced)
    replaced.warn()


def _scored(model: LoadedLM, records: list[dict], field: str | None, replaced) -> Iterator[dict]:
    for record, score in zip(records, score_lines(model, [_text(r, field) for r in records])):
        replaced.check(record, score)
        yield {**record, **score}


def evaluate(model: LoadedLM, records: Iterable[dict], *, field: str | None = None, text_field: str | None = None,
             **_) -> dict:
    """Log-likelihood, perplexity and bits per character of the whole text, read as a stream of lines with
    the state carried (as in training)."""
    field = field or text_field
    lines = [_text(r, field) for r in records]
    if not any(line.strip() for line in lines):
        raise InputError("no text to evaluate (the input is empty)")
    vocab = model.vocab
    ids = np.concatenate([[D.line_end_id(vocab)], D.encode_lines(vocab, lines)]).astype(np.int32)
    # a few parallel streams for speed, each long enough that starting it from a zero state costs nothing
    nll, n = stream_nll(model.model, ids, max(1, min(EVAL_STREAMS, len(ids) // EVAL_STREAM_MIN)), 200)
    chars = sum(len(line) + 1 for line in lines)
    result = {"tokens": n, "characters": chars, "log_likelihood": -nll, "loss": nll / n,
              "perplexity": math.exp(min(nll / n, 700.0)), "bpc": nll / math.log(2) / chars}
    if vocab.n_special > 1:
        result["unknown_fraction"] = float(np.mean(ids == vocab.unk_id))
    return result


def summary_table(summary: dict) -> tuple[str, list[str], list[list]]:
    """The table ``evaluate`` shows on stderr: (title, headers, rows)."""
    return "language model", ["tokens", "perplexity", "bits/char"], \
        [[summary["tokens"], summary["perplexity"], summary["bpc"]]]
