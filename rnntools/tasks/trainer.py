"""The generic training loop every recurrent task reuses (language model, classifier, forecaster, seq2seq).

A task owns its data, its network and its optimiser; the trainer owns everything around the updates:
epochs, ``--max-steps``/``--max-time``, evaluation on the validation split, early stopping on the validation
loss (``--patience``) keeping the best parameters, saving the best model atomically, ``--checkpoint-every``,
``--resume``, Ctrl-C, NaN/exploding-loss detection, the progress bar and the ``--log`` JSONL lines.

How a task plugs in
-------------------
Build an object with these attributes (duck-typed; see ``TrainableTask``) and call
``fit(task, config, output)``::

    kind: str                                   # meta["kind"] of the model file, e.g. "lm"
    unit: str                                   # what count counts, for tokens/s: "tokens", "chars", ...
    steps_per_epoch() -> int                    # len(epoch_batches(...)), known before the epoch starts
    epoch_batches(epoch, rng) -> Sequence       # batches of one epoch, indexable (resume skips into it);
                                                #   rng: np.random.Generator fixed by (seed, epoch), for shuffling
    start_epoch(epoch) -> None                  # e.g. reset carried state; NOT called when resuming mid-epoch
    trainable() -> dict[str, ndarray]           # the LIVE arrays the optimiser updates (see "Optimiser")
    optimizer_options() -> dict                 # optional: extra keyword arguments of the optimiser
                                                #   (e.g. doubled=...)
    train_step(batch, rng, lr) -> (loss_sum, count)
                                                # forward, backward, clip, and self.optimizer.step(grads);
                                                #   loss_sum is the summed loss of `count` predictions;
                                                #   rng: fixed by (seed, step); lr: the current rate (already
                                                #   set on self.optimizer)
    evaluate() -> dict | None                   # validation metrics, must hold "val_loss" (mean per
                                                #   prediction); None when there is no validation data
    params() -> dict[str, ndarray]              # the LIVE trainable arrays (the trainer copies into them)
    train_state() -> dict[str, ndarray]         # the LIVE carried state, ... (may be {})
    train_meta() -> dict                        # JSON scalars the task needs to continue (may be {})
    load_train_meta(meta: dict) -> None
    chance_loss() -> float | None               # optional: a uniform guess's loss (log C), the floor of the
                                                #   "exploding" yardstick (see below); None for regression
    save(path, arrays, meta) -> None            # add kind/vocabulary/hyperparameters and call io.save_model

Optimiser
    The trainer owns it: for a task with ``trainable()`` it builds ``nn.make_optimizer(config.optimizer,
    task.trainable(), lr=config.lr, **task.optimizer_options())``, creates its state up front, hands it to
    the task as ``task.optimizer`` and saves/restores its state as ``nn.optim``'s named arrays
    (``optim.t``, ``optim.m.<param>``, ``optim.v.<param>``, ``optim.buf.<param>``). A file written before
    that keeps the optimiser's arrays elsewhere: the task's ``load`` renames them (``migrate_state``).
    (Tasks without ``trainable()`` still keep their optimiser in ``train_state()``/``train_meta()``; that
    path goes when every task follows the contract.)
Options
    ``fit(..., options=...)``: the options the run trains with (``rnntools.tasks.options.resolve``), stored
    ONCE in the model file as ``meta["config"]``; ``resume_options`` is the resume rule.

Randomness is a pure function of the seed and the counters: the generator for step ``s`` is
``np.random.default_rng([seed, 1, s])`` and the one for epoch ``e`` is ``default_rng([seed, 2, e])``, so
the seed plus the step/epoch counters in the model file ARE the RNG state, and ``--resume`` continues
exactly as an uninterrupted run would (with ``--threads 1``; BLAS with several threads may sum in another
order). Numba kernels that need random numbers get them as explicit arrays or xorshift states drawn from
these generators.

The model file written by ``fit`` holds the best parameters (by validation loss) under the task's names,
so ``sample``/``predict`` read them directly. For ``--resume`` it also holds: ``state.<name>`` (the task's
``train_state()``), ``resume.<name>`` (the latest parameters, only when they differ from the best ones)
and ``meta["training"]`` (counters, best validation loss, patience count, the task's ``train_meta()``).
A task whose ``evaluate()`` also returns ``val_error`` (its own metric, lower is better: seq2seq's share of
wrong decoded outputs) is judged on it: an evaluation is better when its error is lower, or equal with a
validation loss at least ``LOSS_MARGIN`` (10%) lower (while nothing is right, error 1, any lower loss). The
loss alone keeps falling by small amounts long after the answers stop getting better (a model right on every
validation pair still lowers it), so judged on any lower loss, training runs on for nothing; a clearly lower
loss at the same error still means progress a small validation set cannot show in its error; but with no
errors left and a validation loss below ``LOSS_FLOOR`` the model is done (a tiny loss falls geometrically).
The loss is "exploding" when its running mean passes ``explode_factor`` (4) times the larger of the first
ten steps' mean and the task's ``chance_loss()``: a run that starts far better than chance (a classifier on
top of a confident linear part, first losses ~0.05) would otherwise stop at its first ordinary wobble.
Inheriting ``TrainableTask`` gives no-op ``train_state``/``train_meta``/``load_train_meta``/``chance_loss``.
Each evaluation without a better validation result multiplies the learning rate by ``plateau_decay`` (1:
off; the LM uses 0.5) and counts towards ``patience``; the current rate is part of the saved state. A task
that sets ``budget_decay`` and is given a budget (``--max-time``, ``--max-steps``) gets a linear decay instead:
the rate is ``lr`` times the share of the budget still ahead (the smaller of the steps left, counted from the
start of training like ``--max-steps``, and the time left of this run's ``--max-time``), so the low rates
that make the last gains come before the budget ends, however fast the machine is; the budget, not
``patience``, then ends training. The rate is a function of the step counter, so ``--resume`` with the
same ``--max-steps`` continues exactly and a larger one continues as if it had been planned from the start;
a resumed ``--max-time`` run plans its new time from ``lr`` again.
With ``budget_warmup`` W (0 < W < 1) the rate first rises linearly from about 0 to ``lr`` over the first share
W of the budget and then falls linearly to 0 over the rest (a warm-up: Adam's first steps, taken with moment
estimates from a few batches, are the large and noisy ones, and a warm-up lets a higher peak ``lr`` start
without them).
With ``budget_average`` A (0 < A < 1) as well, the rate stops falling at ``A * lr``, which it reaches with the
share A of the budget still ahead, and stays there to the end (stochastic weight averaging, Izmailov et al.
2018): the parameters after each update of that stretch are averaged (float64, a running mean), each
evaluation judges the average instead of the latest parameters, and the model file's parameters are the
average when it is the best evaluation (it is saved as ``state.average.<name>`` too, with the count in the counters,
so ``--resume`` continues the mean exactly). Updates at a held rate wander around a minimum instead of
settling in one point of it; their mean lies nearer its centre. A rate above the floor again (a resumed
``--max-time`` run plans from ``lr`` again) starts a new average.
Under the budget decay the run's end is its model: when training ends by its budget, the parameters of the
last evaluation (the average, with ``budget_average``) are saved as the best, whatever the earlier evaluations
scored. The rate falls to 0 so that the last parameters are the annealed ones; keeping the best of 20-45
evaluations of one validation sample instead chooses partly for that sample's noise. An interrupted run
keeps the best evaluation so far.
``--epochs`` and ``--max-steps`` count from the start of training, not of this run: after Ctrl-C the same
command plus ``--resume`` finishes the job exactly; to train longer, raise ``--epochs``.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from rnntools import console
from rnntools.errors import ModelFileError, TrainingError, UsageError
from rnntools.tasks.config import DEFAULT_LR, EngineConfig, TrainableTask, epoch_rng, step_rng  # noqa: F401
from rnntools.tasks.options import Per, resolve, resume_options  # noqa: F401  (the contract's names)

LOSS_MARGIN = 0.1  # with a task's val_error: at equal error, the loss must fall this much to count (see above)
# ... except with no errors left and a validation loss below this (per token, nats: the right answer at ~99%
# probability): a falling loss then is no progress, or a model right on every validation pair trains on
# for dozens of epochs while a tiny loss falls geometrically (seq2seq dates: 48 epochs, 12 minutes)
LOSS_FLOOR = 0.01


@dataclass
class _Counters:
    step: int = 0  # updates done since the start of training
    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # next batch of the current epoch
    best_val_loss: float | None = None
    best_val_error: float | None = None  # when the task reports val_error (see the module docstring)
    best_step: int | None = None
    bad_evals: int = 0  # evaluations in a row without a better validation loss
    evals: int = 0
    eval_step: int | None = None  # step of the last evaluation
    elapsed: float = 0.0  # seconds of training over all runs
    stopped: str = ""  # why the last run ended
    lr: float | None = None  # the current learning rate (after plateau decays)
    averaged: int = 0  # updates in the running average of the parameters (budget_average), 0: none


def _check_training_state(training: dict, path: str) -> None:
    """The saved counters and loss yardsticks of a run to resume, checked against their types: an edited
    model file's ``"step": "x"`` or ``-5`` was an internal error (TypeError, numpy's "expected non-negative
    integer") once training started."""
    counters, problem = training.get("counters", {}), None
    if not isinstance(counters, dict):
        problem = f"the training counters are {type(counters).__name__}, expected an object"
    for f in fields(_Counters) if problem is None else ():
        value = counters.get(f.name, f.default)
        if f.type == "int" or f.type == "int | None":
            ok = (value is None and f.type != "int") or (type(value) is int and 0 <= value < 2**53)
        elif f.type == "float" or f.type == "float | None":
            ok = ((value is None and f.type != "float")
                  or (type(value) in (int, float) and math.isfinite(value) and (f.name != "lr" or value > 0)))
        else:
            ok = isinstance(value, str)
        if not ok:
            problem = f"the training counter {f.name!r} is {value!r}"
            break
    if problem is None:
        # every epoch and evaluation comes after an update: a file whose counters say otherwise was edited
        # ("epoch": 10**15 beside "step": 3 trained on as if 10**15 epochs were done, and was saved so)
        step = counters.get("step", 0)
        for name in ("epoch", "best_step", "eval_step", "averaged"):
            value = counters.get(name)
            if value is not None and value > step:
                problem = f"the training counter {name!r} is {value}, more than its {step} steps"
                break
    for name in ("baseline", "smooth"):
        value = training.get(name)
        if problem is None and value is not None and (type(value) not in (int, float) or not math.isfinite(value)):
            problem = f"the training state's {name!r} is {value!r}"
    if problem is None and not isinstance(training.get("last_eval") or {}, dict):
        problem = f"the training state's 'last_eval' is {training['last_eval']!r}"
    if problem is not None:
        raise ModelFileError(f"corrupt model file ({problem}); cannot --resume it", path)


class _CleanInterrupt(KeyboardInterrupt):
    """Ctrl-C noticed between two updates: the state is consistent and can be saved."""


class _Interrupt:
    """Turns the first Ctrl-C into a flag checked between updates (an update cut in half would leave the
    parameters inconsistent). People press Ctrl-C twice: a second press before the flag is acted on (during the
    update or evaluation under way) is the same request, and says so; a third interrupts at once, without
    saving (for an update that does not end). Stopping at the second press lost every step since the last save.
    ``shown``: the output's name for that message."""

    def __init__(self, shown: str = ""):
        self.requested = False
        self.presses = 0
        self.shown = shown
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: Ctrl-C is not ours to handle
            self._previous = None
        return self

    def _handler(self, signum, frame):
        self.presses += 1
        if self.presses == 2 and not console.is_quiet():
            # os.write, not print: the handler may have cut a print to stderr short ("reentrant call")
            message = (f"{console.command_name()}: warning: stopping once the step under way ends, then saving to "
                       f"{self.shown}; Ctrl-C again stops at once without saving\n")
            try:
                os.write(2, console.printable(message).encode("utf-8", "replace"))
            except OSError:
                pass
        elif self.presses > 2:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def fit(task: TrainableTask, config: EngineConfig, output: str, *, resume=None,
        options: Mapping[str, Any] | None = None, shown: str | None = None) -> dict:
    """Train ``task`` until a limit or early stopping; the best model is in ``output``. Returns a summary.

    ``resume``: a loaded ``rnntools.io.ModelFile`` written by ``fit`` for the same task (the task was built
    from its meta); parameters, optimiser state, counters and carried state continue from it.
    ``options``: the run's options, saved as ``meta["config"]`` (JSON values; ``resume`` and ``threads``
    are left out: they describe this process, not the model).
    ``shown``: the file named in messages, when ``output`` is an intermediate one (a network of an ensemble,
    which another process combines into the file the user asked for).
    """
    trainer = _Trainer(task, config, output, options)
    trainer.shown = shown or trainer.output
    if resume is not None:
        trainer.restore(resume)
    return trainer.run()


class _Trainer:
    def __init__(self, task: TrainableTask, config: EngineConfig, output: str,
                 options: Mapping[str, Any] | None = None):
        self.task, self.config, self.output = task, config, os.fspath(output)
        self.shown = self.output  # the file named in messages
        self.options = None if options is None else {k: v for k, v in options.items()
                                                     if k not in ("resume", "threads")}
        self.opt = None
        if hasattr(task, "trainable"):
            from rnntools import nn

            extra = task.optimizer_options() if hasattr(task, "optimizer_options") else {}
            self.opt = nn.make_optimizer(config.optimizer, task.trainable(), lr=config.lr, **extra)
            self.opt.init_state()  # arrays for --resume to load into; changes no update
            task.optimizer = self.opt
        self.c = _Counters()
        self.best: dict[str, np.ndarray] | None = None
        self.last_eval: dict | None = None
        self.log = console.JsonlLog(config.log_path)
        self.baseline: float | None = None  # mean loss of the first steps, the yardstick for "exploding"
        self.smooth: float | None = None
        # ... but never below a uniform guess's loss (log C for C classes): see TrainableTask.chance_loss
        chance = task.chance_loss() if hasattr(task, "chance_loss") else None
        self.chance = 0.0 if chance is None or not math.isfinite(chance) else float(chance)
        self.early: list[float] = []
        self.saved_step: int | None = None
        # the rate falls linearly over this run's budget (see _budget_left) instead of on plateaus
        self.budgeted = config.budget_decay and (config.max_time is not None or config.max_steps is not None)
        # ... down to this share of lr, the last stretch of the budget, over which the parameters are averaged
        self.floor = float(config.budget_average) if self.budgeted else 0.0
        # ... after rising linearly from 0 over this first share of the budget (a warm-up), to lr at its end
        self.warmup = float(config.budget_warmup) if self.budgeted else 0.0
        self.warming = False  # inside the warm-up (no averaging there)
        self.average: dict[str, np.ndarray] | None = None  # their running mean (float64), c.averaged updates

    # --- resume -----------------------------------------------------------------------------------
    def restore(self, model) -> None:
        training = model.meta.get("training")
        if not isinstance(training, dict):
            raise UsageError(f"{model.path}: cannot --resume: the model file has no training state")
        _check_training_state(training, model.path)
        arrays = model.arrays
        for name, live in self.task.params().items():
            source = arrays.get(f"resume.{name}", arrays.get(name))
            if source is None or source.shape != live.shape:
                raise UsageError(f"{model.path}: cannot --resume: parameter {name!r} is missing or has "
                                 f"another shape; the model options must match the saved model")
            live[...] = source
        for name, live in self.task.train_state().items():
            source = arrays.get(f"state.{name}")
            if source is None:
                # a model stripped of the trainer's arrays to ship it: the batch-size hint would mislead
                raise UsageError(f"{model.path}: cannot --resume: the model file holds no training state "
                                 f"{name!r} (saved without the trainer's arrays: it predicts, it does not resume)")
            if source.shape != live.shape:
                raise UsageError(f"{model.path}: cannot --resume: training state {name!r} has another shape "
                                 f"(batch size and model options must match the saved model)")
            live[...] = source
        if self.opt is not None:
            self._restore_optimizer(model)
        counters = training.get("counters", {})
        for f in fields(_Counters):
            if f.name in counters:
                setattr(self.c, f.name, counters[f.name])
        if self.c.averaged:
            self.average = {}
            for name, live in self.task.params().items():
                source = arrays.get(f"state.average.{name}")
                if source is None or source.shape != live.shape:
                    raise UsageError(f"{model.path}: cannot --resume: the average of parameter {name!r} is "
                                     f"missing or has another shape")
                self.average[name] = np.array(source, dtype=np.float64)
        if counters.get("best_val_loss") is not None:
            self.best = {name: np.array(arrays[name]) for name in self.task.params()}
        saved_lr = self._saved_options(model).get("lr")
        if saved_lr is not None and self.config.lr != saved_lr:
            self.c.lr = self.config.lr  # a new --lr: the schedule goes on from the new rate
        self.task.load_train_meta(training.get("task", {}))
        self.baseline = training.get("baseline")
        self.smooth = training.get("smooth")
        self.last_eval = training.get("last_eval")
        if self.c.stopped == "early stopping":
            # the user asks for more: give the patience a fresh start
            self.c.bad_evals = 0
        self.saved_step = self.c.step
        console.info(f"resuming {model.path} at step {self.c.step}, epoch {self.c.epoch + 1}"
                     + (f" (batch {self.c.batch_in_epoch + 1})" if self.c.batch_in_epoch else ""))

    @staticmethod
    def _saved_options(model) -> dict:
        """The options the saved run trained with: ``meta["config"]`` over the trainer's own copy in
        ``meta["training"]["config"]`` (files written before the contract kept the engine's options, the
        learning rate among them, only there, and some had a task ``config`` without them)."""
        training = model.meta.get("training")
        engine = training.get("config") if isinstance(training, dict) else None
        config = model.meta.get("config")
        return {**(engine if isinstance(engine, dict) else {}), **(config if isinstance(config, dict) else {})}

    def _restore_optimizer(self, model) -> None:
        state = {k: v for k, v in model.arrays.items() if k.startswith("optim.")}
        if "optim.t" not in state:
            raise UsageError(f"{model.path}: cannot --resume: the model file has no optimiser state")
        live = self.opt.state_arrays()
        for name, value in state.items():
            if name == "optim.t":
                continue
            if name not in live or live[name].shape != value.shape:
                raise UsageError(f"{model.path}: cannot --resume: optimiser state {name!r} does not fit the "
                                 f"model (written for other options?)")
        self.opt.load_state(state)

    # --- saving -----------------------------------------------------------------------------------
    def save(self, reason: str) -> None:
        live = self.task.params()
        arrays: dict[str, np.ndarray] = {}
        # an average judged at this step is not the live parameters
        best_is_live = self.best is None or (self.c.best_step == self.c.step and not self.c.averaged)
        for name, array in live.items():
            arrays[name] = array if best_is_live else self.best[name]
            if not best_is_live:
                arrays[f"resume.{name}"] = array
        for name, array in self.task.train_state().items():
            arrays[f"state.{name}"] = array
        if self.c.averaged:
            for name, array in self.average.items():
                arrays[f"state.average.{name}"] = array
        if self.opt is not None:
            arrays.update(self.opt.state_arrays())
        for name, array in arrays.items():
            # a finite loss does not prove finite parameters (an update can overflow): never save those
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                self._fail(f"parameter {name!r} became NaN or infinite at step {self.c.step}")
        training = {"counters": asdict(self.c), "task": self.task.train_meta(), "baseline": self.baseline,
                    "smooth": self.smooth, "last_eval": self.last_eval, "saved": reason}
        meta = {"training": training}
        if self.options is None:
            training["config"] = self.config.to_meta()
        else:
            meta["config"] = self.options
        self.task.save(self.output, arrays, _finite(meta))
        self.saved_step = self.c.step
        self.log.write("save", step=self.c.step, reason=reason, path=self.shown)

    # --- evaluation -------------------------------------------------------------------------------
    def _judged(self) -> dict[str, np.ndarray] | None:
        """The parameters an evaluation judges when they are not the live ones: the average, in their dtypes."""
        if not self.c.averaged:
            return None
        return {name: self.average[name].astype(live.dtype) for name, live in self.task.params().items()}

    def evaluate(self) -> None:
        judged = self._judged()
        if judged is None:
            metrics = self.task.evaluate()
        else:
            # the task evaluates its live arrays: lend them the average, and give the latest values back
            live = self.task.params()
            latest = {name: np.array(a) for name, a in live.items()}
            try:
                for name, a in live.items():
                    a[...] = judged[name]
                metrics = self.task.evaluate()
            finally:
                for name, a in live.items():
                    a[...] = latest[name]
        self.c.evals += 1
        self.c.eval_step = self.c.step
        fields_ = {"step": self.c.step, "epoch": self.c.epoch + (self.c.batch_in_epoch > 0)}
        if metrics is None or metrics.get("val_loss") is None:
            # no validation data: the latest parameters (or their average) are the best we know
            self.c.best_step, self.best = self.c.step, judged
            self.log.write("eval", **fields_)
            self.save("no validation data")
            return
        val = float(metrics["val_loss"])
        self.last_eval = {k: float(v) for k, v in metrics.items()}
        error = metrics.get("val_error")
        error = None if error is None else float(error)
        if error is None or self.c.best_val_error is None or error == self.c.best_val_error == 1.0:
            improved = math.isfinite(val) and (self.c.best_val_loss is None or val < self.c.best_val_loss)
        else:
            improved = math.isfinite(val) and (error < self.c.best_val_error or (
                error == self.c.best_val_error and val < (1 - LOSS_MARGIN) * self.c.best_val_loss
                and not (error == 0.0 and val < LOSS_FLOOR)))
        if improved:
            self.c.best_val_loss, self.c.best_step, self.c.bad_evals = val, self.c.step, 0
            self.c.best_val_error = error
            self.best = judged if judged is not None else {name: np.array(a) for name, a in self.task.params().items()}
        else:
            self.c.bad_evals += 1
            if self.config.plateau_decay < 1.0 and not self.budgeted:
                self.c.lr *= self.config.plateau_decay
        self.log.write("eval", **fields_, **self.last_eval, best=improved,
                       **({"averaged": self.c.averaged} if judged is not None else {}))
        shown = "  ".join(f"{k} {v:.4g}" for k, v in self.last_eval.items())
        console.info(f"step {self.c.step} epoch {fields_['epoch']}: {shown}" + ("  (best)" if improved else ""))
        self.save("best" if improved else "evaluation")

    # --- the loop ---------------------------------------------------------------------------------
    def run(self) -> dict:
        from rnntools import collector

        collector.started()     # the usual garbage collections for the long run (rnntools.collector)
        cfg, task, c = self.config, self.task, self.c
        if c.lr is None:
            c.lr = cfg.lr
        per_epoch = task.steps_per_epoch()
        if per_epoch <= 0:
            raise TrainingError("no training batches: the training data is shorter than one batch")
        limit = cfg.epochs * per_epoch
        if cfg.max_steps is not None:
            limit = min(limit, cfg.max_steps)
        start, run_steps, run_count = time.perf_counter(), 0, 0
        elapsed_before = c.elapsed
        window_loss, window_count, window_start = 0.0, 0, start
        stopped = ""
        self.log.write("start", step=c.step, epoch=c.epoch, steps_per_epoch=per_epoch, total_steps=limit,
                       lr=cfg.lr, **{k: v for k, v in cfg.to_meta().items() if k not in ("lr",)})
        try:
            with _Interrupt(self.shown) as interrupt, console.progress("training", total=limit) as bar:
                bar.update(c.step)
                while not stopped:
                    if c.epoch >= cfg.epochs:
                        stopped = "epochs"
                        break
                    batches = task.epoch_batches(c.epoch, epoch_rng(cfg.seed, c.epoch))
                    if c.batch_in_epoch == 0:
                        task.start_epoch(c.epoch)
                    for i in range(c.batch_in_epoch, len(batches)):
                        if interrupt.requested:
                            raise _CleanInterrupt
                        if cfg.max_steps is not None and c.step >= cfg.max_steps:
                            stopped = "max steps"
                            break
                        if cfg.max_time is not None and time.perf_counter() - start >= cfg.max_time:
                            stopped = "max time"
                            break
                        averaging = False
                        if self.budgeted:
                            left = _budget_left(c.step, limit, time.perf_counter() - start, cfg.max_time)
                            # (a --max-time budget can be at 0 here: time passes after the limit's check)
                            share = _budget_share(left, self.warmup, 1.0 / max(limit, 1))
                            self.warming = 1.0 - left < self.warmup
                            averaging = self.floor > 0 and share <= self.floor and not self.warming
                            c.lr = cfg.lr * (share if self.warming else max(share, self.floor))
                        if self.opt is not None:
                            self.opt.lr = c.lr
                        loss_sum, count = task.train_step(batches[i], step_rng(cfg.seed, c.step), c.lr)
                        c.step += 1
                        if averaging:
                            self._accumulate()
                        elif c.averaged:
                            self.average, c.averaged = None, 0  # the rate is above the floor again
                        c.batch_in_epoch = i + 1
                        run_steps += 1
                        run_count += count
                        self._check_loss(loss_sum, count)
                        window_loss += loss_sum
                        window_count += count
                        now = time.perf_counter()
                        c.elapsed = elapsed_before + now - start
                        if c.step % cfg.log_every == 0 or i == len(batches) - 1:
                            rate = window_count / max(now - window_start, 1e-9)
                            loss = window_loss / max(window_count, 1)
                            eta = _eta(limit - c.step, run_steps / max(now - start, 1e-9),
                                       None if cfg.max_time is None else cfg.max_time - (now - start))
                            self.log.write("step", step=c.step, epoch=c.epoch + 1, loss=loss, lr=c.lr,
                                           **{f"{task.unit}_per_s": rate}, eta_s=round(eta, 1))
                            shown = {"epoch": c.epoch + 1, "loss": loss, "lr": c.lr}
                            if self.last_eval:
                                # the validation loss and the task's own metric (accuracy, bpc, exact...)
                                shown.update({k.removeprefix("val_"): v for k, v in self.last_eval.items()
                                              if k.startswith("val_") and k != "val_perplexity"})
                            # an upper bound: early stopping may end training sooner
                            shown["eta"] = "<=" + _clock(eta)
                            bar.update(0, **shown, **{f"{task.unit}/s": rate})
                            window_loss, window_count, window_start = 0.0, 0, now
                        bar.update(1)
                        if cfg.eval_every and c.step % cfg.eval_every == 0 and i < len(batches) - 1:
                            self.evaluate()
                            if self._patience_ran_out():
                                stopped = "early stopping"
                                break
                        if cfg.checkpoint_every and c.step % cfg.checkpoint_every == 0 and self.saved_step != c.step:
                            self.save("checkpoint")
                    else:
                        c.epoch += 1
                        c.batch_in_epoch = 0
                        self.evaluate()
                        if self._patience_ran_out():
                            stopped = "early stopping"
            if c.eval_step != c.step:
                self.evaluate()  # a limit ended training between evaluations: consider the last parameters
        except KeyboardInterrupt as exc:
            if not isinstance(exc, _CleanInterrupt):
                # a third Ctrl-C (or one outside the loop): an update may be half done, keep the file as is
                console.warn(f"interrupted at step {c.step}; {self.shown} keeps the last saved model")
                self.log.write("end", step=c.step, stopped="interrupted")
                self.log.close()
                raise
            c.stopped = "interrupted"
            c.elapsed = elapsed_before + time.perf_counter() - start
            from rnntools.io import saving_through_interrupts

            with saving_through_interrupts():  # a second Ctrl-C now would lose the run's steps since the last save
                self.save("interrupted")
            # a warning, not info: it must reach stderr even when stderr is not a terminal
            console.warn(f"interrupted at step {c.step}; saved to {self.shown} "
                         f"(continue with the same command and --resume {self.shown})")
            self.log.write("end", step=c.step, stopped="interrupted")
            self.log.close()
            raise KeyboardInterrupt from None
        except BaseException:
            self.log.close()
            raise
        c.stopped = stopped
        c.elapsed = elapsed_before + time.perf_counter() - start
        if self.budgeted:
            self._keep_last()
        self.save(stopped)
        seconds = time.perf_counter() - start
        summary = {"steps": c.step, "epochs": c.epoch, "stopped": stopped, "best_val_loss": c.best_val_loss,
                   **({"best_val_error": c.best_val_error} if c.best_val_error is not None else {}),
                   "best_step": c.best_step, "seconds": round(seconds, 3),
                   f"{task.unit}_per_s": run_count / max(seconds, 1e-9), "run_steps": run_steps,
                   **({"last_eval": self.last_eval} if self.last_eval else {})}
        self.log.write("end", **{k: v for k, v in summary.items() if k != "last_eval"})
        self.log.close()
        console.info(f"stopped ({stopped}) after {c.step} steps, {c.epoch} epochs; best validation loss "
                     f"{_fmt(c.best_val_loss)} at step {c.best_step}; saved {self.shown}")
        return summary

    def _keep_last(self) -> None:
        """The last evaluation (at the end of training) becomes the best: the budget decay's annealed end."""
        val = self.last_eval.get("val_loss")
        if self.c.eval_step != self.c.step or self.c.best_step == self.c.step or val is None or not math.isfinite(val):
            return
        self.c.best_val_loss, self.c.best_val_error = val, self.last_eval.get("val_error")
        self.c.best_step, self.c.bad_evals = self.c.step, 0
        self.best = self._judged()  # None: the live parameters (best_is_live in save)
        self.log.write("best", step=self.c.step, reason="end of the budget")

    def _accumulate(self) -> None:
        """Add the parameters after this update to the running mean of the budget's last stretch."""
        self.c.averaged += 1
        live = self.task.params()
        if self.average is None:
            self.average = {name: a.astype(np.float64) for name, a in live.items()}
            return
        w = 1.0 / self.c.averaged
        for name, a in self.average.items():
            a += w * (live[name] - a)

    def _patience_ran_out(self) -> bool:
        """``patience`` evaluations in a row without progress end training on the plateau schedule. Under the
        budget decay the budget ends it: a stall at a higher rate is that rate's noise, which the rest of the
        budget lowers, and the last stretch, where the rate falls to 0, is the anneal the decay is for."""
        return not self.budgeted and self.c.bad_evals >= self.config.patience

    def _check_loss(self, loss_sum: float, count: int) -> None:
        c = self.c
        loss = loss_sum / max(count, 1)
        if not math.isfinite(loss):
            self._fail(f"the training loss became {loss} at step {c.step}")
        if self.baseline is None:
            self.early.append(loss)
            if len(self.early) >= 10:
                self.baseline = float(np.mean(self.early))
            return
        self.smooth = loss if self.smooth is None else 0.9 * self.smooth + 0.1 * loss
        if self.smooth > self.config.explode_factor * max(self.baseline, self.chance):
            if self.chance > self.baseline:
                than = f"{self.smooth / self.chance:.1f}x a uniform guess's {self.chance:.4g}"
            else:
                than = f"{self.smooth / self.baseline:.1f}x its early value {self.baseline:.4g}"
            self._fail(f"the training loss is exploding at step {c.step} (smoothed {self.smooth:.4g}, {than})")

    def _fail(self, what: str) -> None:
        if self.best is not None or (self.saved_step is not None and os.path.exists(self.output)):
            kept = f"{self.shown} keeps the model of step {self.c.best_step}" + (
                f" (validation loss {self.c.best_val_loss:.4g})" if self.c.best_val_loss is not None else "")
        else:
            kept = "no model was saved"
        self.log.write("error", step=self.c.step, message=what)
        raise TrainingError(f"{what}; {kept}; try a lower --lr or a smaller --clip")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _finite(value):
    """JSON has no NaN: non-finite floats become None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _budget_left(step: int, limit: int, seconds: float, max_time: float | None) -> float:
    """The share of the budget still ahead, 1 at the start and falling to 0 at its end: the smaller of the
    steps left before ``limit`` (``--max-steps`` or the epochs, both counted from the start of training) and
    the time left of ``--max-time`` (``seconds`` of this run so far)."""
    left = 1.0 - step / max(limit, 1)
    if max_time is not None and max_time > 0:
        left = min(left, 1.0 - seconds / max_time)
    return min(max(left, 0.0), 1.0)


def _budget_share(left: float, warmup: float, first: float) -> float:
    """The budget schedule's share of ``lr`` with ``left`` of the budget ahead (``_budget_left``): without a
    warm-up ``left`` itself, a linear fall to 0 at the budget's end; with a warm-up share W, a linear rise over
    the first W of the budget (from ``first``, one step's share, so the first update moves the weights) to 1,
    then the linear fall over the rest, ``left / (1 - W)``."""
    if warmup <= 0:
        return left
    done = 1.0 - left
    if done < warmup:
        return min(1.0, (done + first) / warmup)
    return min(1.0, left / (1.0 - warmup))


def _eta(steps_left: int, steps_per_s: float, time_left: float | None) -> float:
    """Seconds until the step limit (epochs or --max-steps) or --max-time ends training, whichever is first."""
    eta = steps_left / steps_per_s if steps_per_s > 0 else math.inf
    if time_left is not None:
        eta = min(eta, max(time_left, 0.0))
    return eta if math.isfinite(eta) else -1.0


def _clock(seconds: float) -> str:
    if seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
