"""The seq2seq task's defaults (the CLI's --help shows these values), the options of a training run and the
resume rule applied to them; importable without numpy or numba."""

from __future__ import annotations

import math
from typing import Any

from rnntools.errors import UsageError
from rnntools.tasks.options import resume_options

KIND = "seq2seq"


class FromData:
    """A default that is chosen from the training data when a run starts (``default_hidden``,
    ``default_batch``); ``str()`` is what ``--help`` shows. The model file stores the chosen value."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"FromData({self.text!r})"


# THE defaults of ``rnn-train --task seq2seq`` (engine options included); the CLI shows these values.
# Chosen by measurement: docs/seq2seq.md.
DEFAULTS: dict[str, Any] = dict(
    # data
    level="char", target_level=None, source_field="source", target_field="target", vocab_path=None,
    min_count=1, max_vocab=None, shared_vocab=False, max_target_length=None, val_fraction=0.1,
    encoding_errors="strict",
    # model
    cell="gru", hidden=FromData("128, or 256 from 80,000 training pairs"), layers=1,
    encoder_layers=FromData("as --layers"), embed_dim=64,
    attention="general", bidirectional=True, encoder_merge="sum",
    ensemble=FromData("2 from 256 units with a budget (--max-time, --max-steps) and 2 threads, else 1"),
    dropout=FromData("0, or 0.2 from 256 units with a budget (--max-time, --max-steps)"),
    embedding_dropout=FromData("table from 256 units with a budget (--max-time, --max-steps), else position"),
    embeddings=None,
    freeze_embeddings=False,
    # optimisation
    epochs=100, max_steps=None, max_time=None, patience=4,
    batch=FromData("training pairs / 350 as a power of two, within 16..128"), optimizer="adam",
    lr=FromData("adam 3e-3, or 1e-3 from 256 units; sgd 0.5"), clip=5.0,
    teacher_forcing=1.0, label_smoothing=FromData("0, or 0.1 from 256 units"),
    # not on the command line: the learning rate halves after each evaluation without a better validation
    # error (the plateau schedule); evaluations every epoch, or every eval_every updates when epochs are long
    # ... or, from 256 units and with a budget (--max-time, --max-steps), falls linearly to 0 over that budget
    # (None: chosen by ``default_budget_decay``)
    plateau_decay=0.5, budget_decay=None, eval_every=None,
    # the budget schedule's last stretch: the rate held at this share of lr for this share of the budget, and
    # the weights averaged over it (the trainer's ``budget_average``; 0: off)
    budget_average=0.0,
    # the budget schedule's first stretch: the rate rises linearly from 0 to lr over this share of the budget
    # before it falls (the trainer's ``budget_warmup``; 0: no warm-up)
    budget_warmup=0.0,
    # run and output
    seed=1, threads=None, resume=None, checkpoint_every=None, log_path=None,
)
# predict/evaluate: beam width, --nbest outputs, --length-norm ALPHA (None on the command line = these)
PREDICT_DEFAULTS: dict[str, Any] = {"beam": 1, "nbest": 1, "length_norm": 1.0}
LR = {"adam": 3e-3, "sgd": 0.5}  # --lr when not given, by optimiser (adam: below LARGE units, see default_lr)
LARGE = 256  # hidden units from which Adam starts at LARGE_LR
LARGE_LR = 1e-3
LARGE_SMOOTHING = 0.1  # label smoothing from LARGE units
BUDGET_DROPOUT = 0.2  # dropout from LARGE units when a budget sets the schedule
BUDGET_ENSEMBLE = 2  # networks side by side (one per thread, at most) from LARGE units with a budget
LONG_EPOCH = 1500  # updates: an epoch longer than this is also evaluated every LONG_EPOCH // 2 updates


def default_batch(pairs: int) -> int:
    """--batch when not given: the power of two nearest pairs / 350, within 16..128. Small sets get more
    updates per epoch; large ones the engine's better throughput per pair at larger batches."""
    return int(min(128, max(16, 2 ** round(math.log2(max(pairs, 1) / 350)))))


def default_hidden(pairs: int) -> int:
    """--hidden when not given: 128 * sqrt(pairs / 40,000) rounded to a power of two, within 128..256, i.e.
    128 up to 80,000 training pairs and 256 from there. The weights (~hidden^2) grow with the data. 128 units
    were chosen on 43,000-pair training sets (addition, dates: 99-100% in minutes), which this rule leaves
    alone; on CMUdict's 111,000 words 256 units make fewer errors than 128. Capped at 256, the largest size
    measured at that scale; an update of 256 units costs about 3x one of 128 (docs/seq2seq.md)."""
    return int(min(256, max(128, 2 ** round(math.log2(128 * math.sqrt(max(pairs, 1) / 40_000))))))


def default_lr(optimizer: str, hidden: int) -> float:
    """--lr when not given: Adam 3e-3, or 1e-3 from 256 units; SGD 0.5. At 3e-3 a 256-unit network on
    CMUdict did not learn for its first two epochs (training loss stuck at 0.33-0.37, validation 48% wrong)
    until the plateau schedule had halved the rate; started at 1e-3 it reached after 4,355 updates the
    validation error 3e-3 reached after 12,000 (docs/seq2seq.md). 128 units keep the 3e-3 their targets
    (addition, dates) were measured with."""
    if optimizer == "adam" and hidden >= LARGE:
        return LARGE_LR
    return LR[optimizer]


def default_label_smoothing(hidden: int) -> float:
    """--label-smoothing when not given: 0.1 from 256 units, else 0. The larger network overfits CMUdict
    (training loss 0.07 against 0.22 on validation); with smoothing 0.1 the same 256-unit network on 38,000
    CMUdict words made fewer test word errors than without (docs/seq2seq.md). 128 units keep the
    unsmoothed loss their targets (addition, dates) were measured with."""
    return LARGE_SMOOTHING if hidden >= LARGE else 0.0


def default_budget_decay(hidden: int) -> bool:
    """The learning-rate schedule when not set: from 256 units, a run given a budget (--max-time, --max-steps)
    lowers the rate linearly to 0 over it (the trainer's ``budget_decay``); otherwise, and always below 256
    units, the plateau schedule halves it after each evaluation without progress. On full CMUdict the plateau
    schedule had halved the 256-unit network's rate to 1.6e-5 after 12,000 updates and stopped after 22 of
    the 45 minutes it was given (docs/seq2seq.md). 128 units keep the schedule their targets (addition,
    dates) were measured with."""
    return hidden >= LARGE


def default_dropout(hidden: int, budgeted: bool) -> float:
    """--dropout when not given: 0.2 from 256 units when a budget (--max-time, --max-steps) sets the schedule
    (``default_budget_decay``), else 0. The budget schedule trains for the whole budget however fast the
    machine is: on a quiet machine 45 minutes are 47,000 updates on full CMUdict, over which the 256-unit
    network without dropout overfits (its validation loss rises from 11,000 updates on); with dropout 0.2 it
    made 0.96 points fewer test word errors on the same machine (docs/seq2seq.md). Under the plateau schedule
    dropout was behind, so runs without a budget get none; 128 units (addition, dates) keep the settings their
    targets were measured with."""
    return BUDGET_DROPOUT if hidden >= LARGE and budgeted else 0.0


def default_embedding_dropout(hidden: int, budgeted: bool) -> str:
    """--embedding-dropout when not given: how --dropout masks the first layers' inputs, the embeddings.
    ``position``: a mask per position (T, B, E), so every position's input is gathered and projected on its
    own; ``table``: one mask per row of the embedding table (V, E) for the whole batch, so the first layers
    keep reading the (masked) table by id, as without dropout. From 256 units with a budget (where
    ``default_dropout`` turns dropout on) ``table``: a G2P update costs 1/1.17 of one with ``position``
    masks, and at equal training time on 38,000 CMUdict words it made fewer test word errors
    (docs/seq2seq.md); elsewhere ``position``, the masks every earlier measurement used."""
    return "table" if hidden >= LARGE and budgeted else "position"


def weight_gradients_skip_padding(hidden: int, budgeted: bool) -> bool:
    """Whether the weight gradients multiply only the real positions (``Net.skip_padding``): from 256 units
    with a budget, the configuration it was checked in (full CMUdict: an update ~5% cheaper; on the 38,000-word
    subset level with every position, docs/seq2seq.md). The same gradients summed in another order, so other
    last bits of training: 128 units (addition, dates) keep the bits their targets were measured with."""
    return hidden >= LARGE and budgeted


def default_ensemble(hidden: int, budgeted: bool, threads: int) -> int:
    """--ensemble when not given: from 256 units with a budget (--max-time, --max-steps), one network per
    thread up to 2, else 1. In a fixed time each network gets its own core: two threads made one 256-unit
    network only 1.3x faster than one, while two one-thread networks trained side by side in the same 45
    minutes and decoded together made 27.65% word errors on full CMUdict against 28.42% for the one (McNemar
    z +2.94; docs/seq2seq.md). Without a budget a second network would double the training time instead; 128
    units (addition, dates) keep the settings their targets were measured with."""
    return max(1, min(BUDGET_ENSEMBLE, threads)) if hidden >= LARGE and budgeted else 1


def from_data(value: Any) -> bool:
    """Is this option still to be chosen from the data (left at its default)?"""
    return value is None or isinstance(value, FromData)


# Options that change the network or how records become arrays: on --resume the saved value wins, and a
# different value on the command line is a usage error.
STRUCTURAL = frozenset({"level", "target_level", "source_field", "target_field", "vocab_path", "min_count",
                        "max_vocab", "shared_vocab", "cell", "hidden", "layers", "encoder_layers", "embed_dim",
                        "attention",
                        "bidirectional", "encoder_merge", "optimizer", "ensemble"})

MAX_VAL = 2000  # validation pairs at most: enough for a stable loss, cheap to evaluate every epoch
# The longest output decoding may produce, in tokens: a bound on the work a request (--max-length) or a
# model file (its max_target) can ask for; far above any real target (CMUdict's longest has 20 phones).
MAX_DECODE_LENGTH = 4096


# --- the options of a training run, and the resume rule ---------------------------------------------------

def saved_options(meta: dict) -> dict:
    """The options a model file was trained with: ``meta["config"]``, or for files written before it existed,
    what their ``model``, vocabularies, ``data`` and ``training.config`` entries say."""
    if isinstance(meta.get("config"), dict):
        # files from before --ensemble hold one network; those from before --embedding-dropout masked per position
        return {"ensemble": meta.get("ensemble", 1), "embedding_dropout": "position", "encoder_merge": "sum",
                **meta["config"]}
    model = meta.get("model", {})
    engine = meta.get("training", {}).get("config", {}) if isinstance(meta.get("training"), dict) else {}
    data = meta.get("data", {})
    vocab = meta.get("vocab") or meta.get("source_vocab") or {}
    tvocab = meta.get("vocab") or meta.get("target_vocab") or {}
    out = {k: engine.get(k) for k in ("vocab_path", "min_count", "max_vocab", "optimizer") if k in engine}
    out.update({k: model.get(k) for k in ("cell", "hidden", "layers", "embed_dim", "attention", "shared_vocab")})
    out["encoder_layers"] = model.get("encoder_layers") or model.get("layers")
    out["bidirectional"] = bool(model.get("bidirectional", False))
    out["encoder_merge"] = "sum"
    out["ensemble"] = meta.get("ensemble", 1)
    out["embedding_dropout"] = "position"
    out.update(level=vocab.get("level"), target_level=tvocab.get("level"),
               source_field=data.get("source_field", "source"), target_field=data.get("target_field", "target"))
    return out


def run_options(given: dict, resume_meta: dict | None = None, path: str = "") -> dict:
    """The options of one training run: DEFAULTS overridden by ``given`` (None = not given), with the resume
    rule applied against ``resume_meta``."""
    if given.get("seq_len") is not None:
        raise UsageError("--seq-len does not apply to --task seq2seq (whole pairs are one sequence each)")
    given = {k: v for k, v in given.items() if k != "seq_len"}
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown seq2seq options: {sorted(unknown)}")
    if resume_meta is not None:
        # the contract's rule: the saved structure wins, other options not given keep their saved values
        given = resume_options(saved_options(resume_meta), given, STRUCTURAL, path)
    options = {**DEFAULTS, **{k: v for k, v in given.items() if v is not None and k in DEFAULTS}}
    if options["target_level"] is None:
        options["target_level"] = options["level"]
    if from_data(options["lr"]):
        options["lr"] = None  # chosen by ``default_lr`` once the hidden size is known
    if from_data(options["label_smoothing"]):
        options["label_smoothing"] = None  # chosen by ``default_label_smoothing`` likewise
    if from_data(options["dropout"]):
        options["dropout"] = None  # chosen by ``default_dropout`` likewise
    if from_data(options["ensemble"]):
        options["ensemble"] = None  # chosen by ``default_ensemble`` likewise
    if from_data(options["embedding_dropout"]):
        options["embedding_dropout"] = None  # chosen by ``default_embedding_dropout`` likewise
    return options


def check_options(options: dict) -> None:
    if options["embeddings"] is not None or options["freeze_embeddings"]:
        raise UsageError("--embeddings/--freeze-embeddings are not supported by --task seq2seq")
    if options["vocab_path"] and options["target_level"] != options["level"]:
        raise UsageError(f"--vocab gives one vocabulary for both sides, so it needs one level (--level "
                         f"{options['level']}, --target-level {options['target_level']})")
    if not from_data(options["encoder_layers"]) and options["encoder_layers"] < options["layers"]:
        raise UsageError(f"--encoder-layers {options['encoder_layers']} is fewer than --layers {options['layers']}: "
                         "each decoder layer starts from an encoder layer's final state")
    if options["encoder_merge"] == "concat" and not options["bidirectional"]:
        raise UsageError("--encoder-merge concat joins the two directions of a bidirectional encoder: it needs "
                         "--bidirectional")
    if options["shared_vocab"] and options["target_level"] != options["level"]:
        raise UsageError(f"--shared-vocab needs one level for both sides (--level {options['level']}, "
                         f"--target-level {options['target_level']})")


def check_max_length(max_length: int | None) -> None:
    if max_length is not None and not 1 <= max_length <= MAX_DECODE_LENGTH:
        raise UsageError(f"--max-length {max_length} is outside 1..{MAX_DECODE_LENGTH} tokens")
