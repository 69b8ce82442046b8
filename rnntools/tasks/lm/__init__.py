"""Language models: synchronous many-to-many training with truncated BPTT, one-to-many sampling, scoring.

    data.py     text -> id stream -> (T, B) windows of parallel streams; records to score
    model.py    LanguageModel (Embedding -> Recurrent -> Dense softmax), log-likelihoods of streams and lines
    task.py     the trainer's view (LMTask), train, load, read, predict, evaluate
    sample.py   one-to-many generation (Sampler), text or records
    kernels.py  numba kernels of batch-1 generation (one fused call per token)

This module holds the task's contract (docs/tasks.md) and imports nothing heavy: ``rnntools rnn-train
--help`` reads ``DEFAULTS`` from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rnntools.tasks.options import Per

KIND = "lm"

# Every default of the task, in one place (docs/lm.md has the measurements behind them): shown by
# `rnntools rnn-train --task lm --help`, stored in the model file as meta["config"].
DEFAULTS: dict[str, Any] = {
    # data
    "level": "char",
    "vocab_path": None,
    "min_count": Per("level", char=1, word=2),
    "max_vocab": Per("level", char=None, word=30000),
    "val_fraction": 0.05,
    "encoding_errors": "strict",
    # model
    "cell": "lstm",
    "hidden": 256,
    "layers": 1,
    "embed_dim": Per("level", char=64, word=128),
    "embeddings": None,
    "freeze_embeddings": False,
    "dropout": 0.0,
    # optimisation
    "epochs": 50,
    "max_steps": None,
    "max_time": None,
    "patience": 3,
    "batch": 32,
    "seq_len": Per("level", char=100, word=35),
    "optimizer": "adam",
    "lr": Per("optimizer", adam=Per("level", char=5e-3, word=2e-3), sgd=1.0),
    "clip": 5.0,
    "plateau_decay": 0.5,  # halve the learning rate after an evaluation without progress (not an option)
    "eval_every": None,  # None: each epoch, and every 1000 updates when an epoch is longer
    # output
    "checkpoint_every": None,
    "log_path": None,
    "seed": 1,
}

# Options fixed by the saved model on --resume: the network's shape, how text becomes ids and batch rows
# (the carried state is (batch, hidden)), and the optimiser whose state continues.
STRUCTURAL = frozenset({"level", "vocab_path", "min_count", "max_vocab", "val_fraction", "cell", "hidden", "layers",
                        "embed_dim", "embeddings", "freeze_embeddings", "batch", "optimizer"})


def train(inputs: Sequence[str], output: str, options: dict) -> dict:
    from rnntools.tasks.lm.task import train as _train

    return _train(inputs, output, options)


def load(source):
    from rnntools.tasks.lm.task import load as _load

    return _load(source)


def read(inputs: Sequence[str], model=None, **options) -> Iterator[dict]:
    from rnntools.tasks.lm.task import read as _read

    return _read(inputs, model, **options)


def predict(model, records: Iterable[dict], **options) -> Iterator[dict]:
    from rnntools.tasks.lm.task import predict as _predict

    return _predict(model, records, **options)


def evaluate(model, records: Iterable[dict], **options) -> dict:
    from rnntools.tasks.lm.task import evaluate as _evaluate

    return _evaluate(model, records, **options)


def summary_table(summary: dict):
    from rnntools.tasks.lm.task import summary_table as _table

    return _table(summary)
