"""The trainer's view of the options (``EngineConfig``), the interface a task gives the trainer
(``TrainableTask``, documented in ``rnntools.tasks.trainer``) and the run's random generators, which are a
pure function of the seed and the counters (so ``--resume`` continues exactly)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

import numpy as np

DEFAULT_LR = {"adam": 2e-3, "sgd": 0.5}


@dataclass
class EngineConfig:
    """The shared engine options of ``rnn-train`` as plain values (no click). ``None`` in the CLI dict
    means "the task's default"; ``from_options`` fills those from the task's defaults, then from here."""

    # data
    level: str | None = None
    vocab_path: str | None = None
    min_count: int = 1
    max_vocab: int | None = None
    val_fraction: float = 0.1
    encoding_errors: str = "strict"
    # model
    cell: str = "lstm"
    hidden: int = 128
    layers: int = 1
    embed_dim: int = 64
    embeddings: str | None = None
    freeze_embeddings: bool = False
    dropout: float = 0.0
    # optimisation
    epochs: int = 10
    max_steps: int | None = None
    max_time: float | None = None
    patience: int = 3
    batch: int = 32
    seq_len: int = 64
    optimizer: str = "adam"
    lr: float | None = None  # None: DEFAULT_LR[optimizer] unless the task says otherwise
    clip: float = 5.0
    resume: str | None = None
    # output
    checkpoint_every: int | None = None
    log_path: str | None = None
    # run
    seed: int = 1
    threads: int | None = None
    # not on the command line: tasks set these
    eval_every: int | None = None  # also evaluate every N steps (besides each epoch's end)
    log_every: int = 20  # a "step" line in --log every N steps
    explode_factor: float = 4.0  # smoothed loss above this times the early loss is "exploding"
    plateau_decay: float = 1.0  # multiply the learning rate by this after an evaluation without progress
    # with --max-time or --max-steps: the rate falls linearly to 0 over that budget instead (no plateau decay)
    budget_decay: bool = False
    # with budget_decay and a budget, a share A in (0, 1): the rate stops falling at A * lr, for the last share A
    # of the budget, and the parameters are averaged over those updates (stochastic weight averaging)
    budget_average: float = 0.0
    # with budget_decay and a budget, a share W in (0, 1): the rate first rises linearly to lr over the first
    # share W of the budget, then falls linearly to 0 over the rest
    budget_warmup: float = 0.0

    @classmethod
    def from_options(cls, engine: Mapping[str, Any] | None = None, **defaults: Any) -> EngineConfig:
        """Merge the CLI's ``engine`` dict (None = unset) over the task's ``defaults`` over the dataclass's."""
        names = {f.name for f in fields(cls)}
        unknown = set(defaults) - names - {"lr_by_optimizer"}
        if unknown:
            raise TypeError(f"unknown engine defaults: {sorted(unknown)}")
        lr_by_optimizer = {**DEFAULT_LR, **defaults.pop("lr_by_optimizer", {})}
        values = dict(defaults)
        for name, value in (engine or {}).items():
            if name in names and value is not None:
                values[name] = value
        config = cls(**values)
        if config.lr is None:
            config.lr = lr_by_optimizer[config.optimizer]
        return config

    def to_meta(self) -> dict:
        return asdict(self)


class TrainableTask(Protocol):
    """The plug-in interface ``rnntools.tasks.trainer.fit`` drives (documented there). Tasks may duck-type it;
    those that inherit it get the no-op defaults below (no carried state, nothing extra to resume)."""

    kind: str
    unit: str

    def steps_per_epoch(self) -> int: ...
    def epoch_batches(self, epoch: int, rng: np.random.Generator) -> Sequence[Any]: ...
    def start_epoch(self, epoch: int) -> None: ...
    def train_step(self, batch: Any, rng: np.random.Generator, lr: float) -> tuple[float, int]: ...
    def evaluate(self) -> dict | None: ...
    def params(self) -> dict[str, np.ndarray]: ...
    def save(self, path: str, arrays: dict[str, np.ndarray], meta: dict) -> None: ...

    def train_state(self) -> dict[str, np.ndarray]:
        return {}

    def train_meta(self) -> dict:
        return {}

    def load_train_meta(self, meta: dict) -> None:
        return None

    def chance_loss(self) -> float | None:
        """The loss of a uniform guess over the outputs (log C for C classes), or None for a loss without one
        (regression). The trainer's "exploding" yardstick is never below it: on top of a confident start
        (a classifier over a strong linear part starts near 0.05) ordinary early wobbles are not explosions."""
        return None


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The generator of update number ``step`` (dropout masks, sampling inside a step)."""
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, 1, step])


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of epoch ``epoch`` (shuffling)."""
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, 2, epoch])
