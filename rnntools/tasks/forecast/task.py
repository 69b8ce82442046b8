"""The forecaster's glue: training with the shared trainer, interval calibration, the per-series choice,
backtests, and the task contract's ``train``/``read``/``predict``/``evaluate`` (records in, records out; the CLI opens
and writes every file).

Training uses the outputs of every step of a window (each step is a forecast origin; "forking sequences",
MQ-RNN) with targets masked at the end of the training part; validation is the last part of every series
(origins whose targets all lie after the training part), so early stopping and the intervals measure honest
out-of-sample errors. Intervals: split conformal on the validation errors in scaled units (pooled over
horizons after dividing by each horizon's mean error; finite-sample level counted in origins), applied in
scaled (possibly log) space, so they are asymmetric in the original units when the series is log-scaled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, replace

import numpy as np

from rnntools import console
from rnntools.errors import InputError, UsageError
from rnntools.tasks.forecast import DEFAULTS, KIND, STRUCTURAL
from rnntools.tasks.forecast.data import (
    _Data,
    _need,
    baseline,
    build_data,
    min_length,
)
from rnntools.tasks.forecast.forecasts import (  # noqa: F401 - imported from here by older code
    forecast,
    interval_widths,
    output_record,
    output_records,
    predict_records,
    round_rows,
)
from rnntools.tasks.forecast.forecasts import predict_text as predict_text_blocks
from rnntools.tasks.forecast.metrics import coverage, mase, seasonal_naive, smape
from rnntools.tasks.forecast.model import INPUT_KEYS, ForecastConfig, Member, Model, load, resolve, save
from rnntools.tasks.forecast.series import Series
from rnntools.tasks.options import resume_options

__all__ = ["KIND", "DEFAULTS", "STRUCTURAL", "train", "load", "read", "predict", "evaluate", "fit_model",
           "predict_text", "partitioning", "record_key", "repeated_key", "evaluate_pieces", "evaluate_piece",
           "combine_pieces", "backtest_fold", "backtest_summary",
           "forecast", "backtest", "ForecastConfig", "Model", "save", "reselect"]


class ForecastTask:
    """The forecaster as a trainer task (see rnntools.tasks.trainer): K ensemble members trained side by
    side on the same batches; the validation loss is the ensemble's mean absolute scaled error."""

    kind = KIND
    unit = "windows"

    def __init__(self, model: Model, data: _Data, batch: int, seed: int, clip: float, save_fn=None):
        self.model, self.data, self.batch, self.clip = model, data, batch, clip
        rng = np.random.default_rng([seed, 7])
        if not model.members:
            model.members = [Member(model.cfg, model.outputs, rng=rng) for _ in range(model.cfg.ensemble)]
        self._params, self._state = {}, {}
        for k, m in enumerate(model.members):
            m.make_optimizer()
            for n, a in m.params.items():
                self._params[f"m{k}.{n}"] = a
                # one name space for every member's Adam: nn.optim's optim.m.<param>/optim.v.<param>
                self._state[f"optim.m.m{k}.{n}"] = m.opt.m[n]
                self._state[f"optim.v.m{k}.{n}"] = m.opt.v[n]
        self.save_fn = save_fn

    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.data.starts) / self.batch))

    def epoch_batches(self, epoch: int, rng: np.random.Generator):
        order = rng.permutation(len(self.data.starts))
        return [order[i:i + self.batch] for i in range(0, len(order), self.batch)]

    def start_epoch(self, epoch: int) -> None:
        pass

    def train_step(self, batch, rng, lr: float) -> tuple[float, int]:
        d, cfg = self.data, self.model.cfg
        rows = d.starts[batch][None, :] + np.arange(cfg.lookback)[:, None]   # (L, B)
        X, R, M = d.X[rows], d.R[rows], d.M[rows]                             # (L, B, F), (L, B, O)
        total, count = 0.0, 0
        for member in self.model.members:
            loss, count = member.train_step(X, R, M, lr, self.clip, rng)
            total += loss / len(self.model.members)
        return total, count

    def evaluate(self) -> dict | None:
        d = self.data
        if not len(d.val_Z):
            return None
        F = self.model.forecast_scaled(d.val_Z, d.val_pe, self.model.cfg.horizon, C=d.val_C)
        return {"val_loss": float(np.mean(np.abs(F - d.val_Y)))}

    def params(self) -> dict:
        return self._params

    def train_state(self) -> dict:
        return self._state

    def train_meta(self) -> dict:
        # the members step together, so one step count serves them all
        return {"optim.t": self.model.members[0].opt.t}

    def load_train_meta(self, meta: dict) -> None:
        for m in self.model.members:
            m.opt.t = int(meta.get("optim.t", 0))

    def save(self, path, arrays: dict, meta: dict) -> None:
        if self.save_fn is not None:
            self.save_fn(path, arrays, meta)


def calibrate(model: Model, data: _Data, levels: Sequence[int]) -> None:
    """Interval table from the validation errors of the final parameters (split conformal).

    Per-horizon quantiles from a handful of validation origins are noisy, so the errors are pooled:
    each horizon's absolute errors are divided by that horizon's mean absolute error (made non-decreasing
    in h), one ceil((n+1) q)/n quantile is taken over all of them, and scaled back per horizon."""
    model.levels = [int(v) for v in levels]
    if not len(data.val_Z):
        # the network alone has no table; the per-series choice (--select auto) calibrates its statistical
        # methods on the series' history instead
        model.qtable = None
        if model.cfg.select != "auto":
            model.levels = []
        return
    F = model.forecast_scaled(data.val_Z, data.val_pe, model.cfg.horizon, C=data.val_C)
    E = np.abs(F - data.val_Y)                                  # (V, horizon)
    spread = np.maximum.accumulate(np.maximum(E.mean(0), 1e-9))  # (horizon,)
    if model.cfg.strategy == "direct" and model.cfg.difference != "none":
        # the error scale per horizon from the whole training history, through the baseline: the training
        # targets ARE the baseline's in-sample errors (no fitted parameters, so not optimistic), times how
        # much better than the baseline the model was on the validation origins. A calm validation
        # window then no longer makes the intervals narrow.
        naive_hist = (np.abs(data.R) * data.M).sum(0) / np.maximum(data.M.sum(0), 1)        # (horizon,)
        base = baseline(data.val_Z, model.cfg.horizon, model.cfg.season, model.cfg.difference)
        ratio = E.sum() / max(float(np.abs(base - data.val_Y).sum()), 1e-9)
        spread = np.maximum(spread, np.maximum.accumulate(np.maximum(ratio * naive_hist, 1e-9)))
    pooled = np.sort((E / spread).ravel())
    # the H errors of one origin move together (one bad stretch spoils them all), so the finite-sample
    # correction counts origins, not errors: the ceil((V+1) q)/V quantile of the pooled errors
    V = len(E)
    table = np.empty((len(model.levels), model.cfg.horizon))
    for j, lev in enumerate(model.levels):
        q = min(1.0, math.ceil((V + 1) * lev / 100) / V)
        table[j] = np.quantile(pooled, q, method="higher") * spread
    model.qtable = table
    if len(E) < 10:
        console.warn(f"only {len(E)} validation forecast origins to calibrate the intervals; they are rough")


def fit_model(series: list[Series], cfg: ForecastConfig, engine: dict, output: str | None = None,
              resume=None, quiet: bool = False, input_options: dict | None = None) -> Model:
    """Train a forecaster on ``series`` with the shared trainer (early stopping on the held-out ends,
    best parameters kept); ``output`` None keeps everything in memory (backtests, benchmarks)."""
    from rnntools.tasks.trainer import EngineConfig
    from rnntools.tasks.trainer import fit as trainer_fit

    axis = series[0].axis
    for s in series:
        if (s.axis.kind, s.axis.step) != (axis.kind, axis.step):
            raise InputError(f"series {s.id!r} has frequency {s.axis.freq} but {series[0].id!r} has "
                             f"{axis.freq}; one model forecasts one frequency")
    for name in ("level_input", "refit"):   # a 0 or "no" from a library caller trained a model whose file
        if not isinstance(getattr(cfg, name), bool):   # load() refuses (model._check_options)
            raise UsageError(f"{name} is {getattr(cfg, name)!r}, expected True or False")
    config = EngineConfig.from_options(engine, **ENGINE_DEFAULTS)
    given_lookback = cfg.lookback
    cfg = resolve(cfg, axis, [len(s) for s in series], config.val_fraction)
    series, short = split_short(series, cfg, given_lookback)
    if short and series:
        # the network's window from the series it trains on (the short ones no longer shrink it for all)
        cfg = resolve(replace(cfg, lookback=given_lookback), axis, [len(s) for s in series], config.val_fraction)
    cfg.cell, cfg.hidden, cfg.layers, cfg.dropout = config.cell, config.hidden, config.layers, config.dropout
    if config.optimizer != "adam":
        raise UsageError("the forecaster trains with --optimizer adam")
    if resume is not None:
        # the trainer takes the best-so-far parameters from the plain names, which hold the refitted
        # network after a finished run: give it the validated ones instead
        for k in [n for n in resume.arrays if n.startswith("valbest.")]:
            resume.arrays[k[len("valbest."):]] = resume.arrays[k]
    model = Model(cfg, axis, input_options={**(input_options or {}), "missing": cfg.missing},
                  engine={k: getattr(config, k) for k in ("epochs", "patience", "lr", "val_fraction", "clip",
                                                          "optimizer", "seed")})
    if not series:
        return _statistical_model(model, short, levels=cfg.intervals, output=output, resume=resume)
    data = build_data(series, model, config.val_fraction)
    if not (engine or {}).get("batch"):
        # small data: small batches (more updates per epoch); many series: wider batches keep an epoch to
        # about a hundred updates, where the engine's per-step cost is spread over more rows
        config.batch = int(min(256, max(32, len(data.starts) // 100)))
    saved = {}

    def save_(path, arrays, meta):
        # the trainer saves the best parameters under their plain names, plus optimiser state for --resume
        saved["arrays"], saved["training"] = arrays, meta.get("training")
        if output is not None:
            model.training = meta.get("training")
            save(model, output, trainer_arrays=arrays)   # best parameters under the plain names

    task = ForecastTask(model, data, config.batch, config.seed, config.clip, save_fn=save_)
    was_quiet = console.is_quiet()
    refit_epochs = 0
    if quiet:
        console.configure(quiet=True, command=console.command_name())
    try:
        summary = trainer_fit(task, config, output or "<memory>", resume=resume)
        # --resume continues the validated run from its latest parameters (not from the refit below)
        latest = {f"resume.{k}": np.array(v) for k, v in task.params().items()}
        best = saved["arrays"]
        # the validated best parameters, kept beside the refitted ones that predict uses
        latest.update({f"valbest.{k}": np.array(best[k]) for k in task.params()})
        for k, member in enumerate(model.members):
            for n, a in member.params.items():
                a[...] = best[f"m{k}.{n}"]
        calibrate(model, data, cfg.intervals)
        if cfg.select == "auto":
            choose_methods(model, data, series + short)
        if output is not None:
            model.train_arrays = {**{k: v for k, v in saved["arrays"].items() if k.startswith("state.")}, **latest}
            model.training = saved["training"]
            save(model, output)   # a complete model, in case the refit below is interrupted
        if cfg.refit and len(data.val_Z) and summary.get("best_step"):
            refit_epochs = _refit(model, series, config, summary, task.steps_per_epoch())
    finally:
        if quiet:
            console.configure(quiet=was_quiet, command=console.command_name())
    model.summary = {k: v for k, v in summary.items() if k != "last_eval"}
    model.summary["val_loss"] = summary.get("best_val_loss")
    model.summary["refit_epochs"] = refit_epochs
    if len(data.val_Z):
        naive = baseline(data.val_Z, cfg.horizon, cfg.season, "season" if cfg.season > 1 else "1")
        model.summary["val_naive"] = float(np.mean(np.abs(naive - data.val_Y)))
    model.train_arrays = {**{k: np.array(v) for k, v in best.items() if k.startswith("state.")}, **latest}
    model.training = saved["training"]
    if output is not None:
        save(model, output)
    return model


def split_short(series: list[Series], cfg: ForecastConfig, lookback: int | None = None):
    """(the series the network can train on, the series too short for it) under ``cfg`` (resolved; ``lookback``:
    the one given, else one step). A short series is forecast by its statistical method alone, as statsforecast's
    users get a forecast of 20 monthly values: the network needs horizon + season + lookback of them
    (docs/forecast.md, "Series too short for the network"). Too short even for that (no origin with a season before
    it and a value after it), shorter than the horizon, or a given --lookback no series holds is an error naming the
    series."""
    least = _need(cfg) + (lookback or 1) + cfg.horizon
    fits = [s for s in series if len(s.values) >= least]
    short = [s for s in series if len(s.values) < least]
    if not short:
        return fits, short
    if cfg.select != "auto":
        s = short[0]
        raise InputError(f"series {s.id!r} has {len(s.values)} values; the network needs at least {least} (lookback "
                         f"{lookback or 1} + horizon {cfg.horizon} + {_need(cfg)} for seasonal features, season "
                         f"{cfg.season}); pass a smaller --lookback, --horizon or --season, drop the series, or "
                         f"leave --select auto to forecast it by a statistical method", s.source or None)
    floor = max(cfg.season, 2) + 2
    for s in short:
        if len(s.values) < floor:
            raise InputError(f"series {s.id!r} has {len(s.values)} values; it needs at least {floor} to be forecast "
                             f"by a statistical method (a season of {cfg.season} and 2 more) and {least} for the "
                             f"network (lookback {lookback or 1} + horizon {cfg.horizon} + {_need(cfg)} for seasonal "
                             f"features, season {cfg.season}); pass a smaller --season, or drop the series",
                             s.source or None)
    for s in short:
        if (lookback is not None and not fits) or len(s.values) < cfg.horizon:
            # a window given for the network that no series holds, or a horizon longer than the series itself: the
            # request does not fit the data, and a statistical forecast would answer another question
            raise InputError(f"series {s.id!r} has {len(s.values)} values; it needs at least {least} (lookback "
                             f"{lookback or 1} + horizon {cfg.horizon} + {_need(cfg)} for seasonal features, season "
                             f"{cfg.season}); pass a smaller --lookback, --horizon or --season, or drop the series",
                             s.source or None)
    first = short[0]
    more = f" and {len(short) - 1} other series" if len(short) > 1 else ""
    console.warn(f"series {first.id!r}{more} shorter than the network's {least} values (lookback {lookback or 1} + "
                 f"horizon {cfg.horizon} + season {_need(cfg)}): forecast by a statistical method alone (predict "
                 f"names it in \"method\")")
    return fits, short


def _statistical_model(model: Model, short: list[Series], levels, output: str | None, resume) -> Model:
    """Every series too short for the network: a model whose series are each forecast by a statistical method
    chosen and calibrated on its own history (choose.py's short series); its network is never trained (nor
    used: no series has its window), and the file says so in its summary."""
    from rnntools.tasks.forecast.data import _Data

    if resume is not None:
        raise UsageError("--resume: every series is too short for the network, so there is no training to resume")
    rng = np.random.default_rng([model.engine.get("seed") or 0, 7])
    model.members = [Member(model.cfg, model.outputs, rng=rng) for _ in range(model.cfg.ensemble)]
    empty = np.zeros((0, 1))
    data = _Data(empty, empty, empty, np.zeros(0, np.int64), np.zeros((0, _need(model.cfg) + model.cfg.lookback)),
                 np.zeros(0, np.int64), np.zeros((0, model.cfg.horizon)), None, np.zeros(0, np.int64),
                 np.zeros(0, np.int64))
    calibrate(model, data, levels)
    choose_methods(model, data, short)
    model.summary = {"steps": 0, "epochs": 0, "val_loss": None, "refit_epochs": 0,
                     "network": "not trained: every series is shorter than its window"}
    if output is not None:
        save(model, output)
    return model


def reselect(model: Model, series: list[Series]) -> None:
    """Recompute the per-series choice and the interval tables of a trained model on the series it was
    trained on (its network unchanged): for benchmarks that vary only what comes after training."""
    val_fraction = model.engine.get("val_fraction", DEFAULTS["val_fraction"])
    data = build_data(series, model, val_fraction)
    calibrate(model, data, model.levels or model.cfg.intervals)
    if model.cfg.select == "auto":
        choose_methods(model, data, series)


def choose_methods(model: Model, data: _Data, series: list[Series]) -> None:
    """Per series, the network or a statistical method by their errors at the validation origins
    (choose.py); the choice, the pooled scores and one interval table per candidate go into the model."""
    from rnntools.tasks.forecast import choose as CH

    cfg = model.cfg
    rnn = np.zeros((0, cfg.horizon))   # no validation origins: the choice comes from the history alone
    if len(data.val_Z):
        F = model.forecast_scaled(data.val_Z, data.val_pe, cfg.horizon, C=data.val_C)
        sc = np.array([model.scalers[series[i].id].to_list() for i in data.val_sid]).reshape(-1, 4)
        shift, scale, log, floor = sc[:, :1], sc[:, 1:2], sc[:, 2:3] > 0, sc[:, 3:]
        with np.errstate(all="ignore"):
            y = F * scale + shift
            rnn = np.where(log, np.expm1(np.where(log, y, 0.0)) + floor, y)
    with np.errstate(all="ignore"):
        result = CH.choose(series, rnn, data.val_sid, data.val_o, cfg.horizon, cfg.season, model.levels,
                           covariates=bool(cfg.covariates))
    model.tables = {c: t for c, t in result["tables"].items() if np.all(np.isfinite(t))}
    counts: dict[str, int] = {}
    for c in result["choice"].values():
        counts[c] = counts.get(c, 0) + 1
    model.selection = {"choice": result["choice"], "default": result["default"],
                       "scores": {c: round(v, 6) for c, v in result["scores"].items()}, "counts": counts}
    if result["short"]:
        model.selection["short"] = result["short"]
    methods = [c for c in model.tables if not c.startswith(CH.SHORT)]
    if CH.table_of(model.tables, model.selection["default"]) is None and model.levels and methods:
        model.selection["default"] = min(methods, key=lambda c: result["scores"].get(c, math.inf))
    console.info("per-series choice on the validation origins: "
                 + ", ".join(f"{c} {n}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
                 + f"; unseen series: {model.selection['default']}")


def _refit(model: Model, series: list[Series], config, summary: dict, steps_per_epoch: int) -> int:
    """Retrain from the same initialisation on every value (the held-out ends are the most recent, most
    telling data of short series) for as many epochs as early stopping chose; scalers are refitted too.
    The interval table stays the one calibrated on the validation split."""
    from rnntools.tasks.trainer import fit as trainer_fit

    epochs = max(1, math.ceil(summary["best_step"] / steps_per_epoch))
    data = build_data(series, model, 0.0)
    members = model.members
    model.members = []
    saved = {}
    task = ForecastTask(model, data, config.batch, config.seed, config.clip,
                        save_fn=lambda path, arrays, meta: saved.update(arrays=arrays))
    cfg2 = replace(config, val_fraction=0.0, epochs=epochs, max_steps=None, max_time=None, log_path=None,
                   checkpoint_every=None, resume=None)
    was_quiet = console.is_quiet()
    console.configure(quiet=True, command=console.command_name())
    try:
        trainer_fit(task, cfg2, "<memory>")
    except BaseException:
        model.members = members
        raise
    finally:
        console.configure(quiet=was_quiet, command=console.command_name())
    return epochs


# the engine's share of DEFAULTS (batch None = chosen from the number of training windows)
ENGINE_DEFAULTS = {k: DEFAULTS[k] for k in ("cell", "hidden", "layers", "dropout", "epochs", "patience", "lr",
                                            "val_fraction", "clip", "seed")}
ENGINE_DEFAULTS.update(batch=32, log_every=50)


# --- evaluation ----------------------------------------------------------------------------------------

def backtest(series: list[Series], cfg: ForecastConfig, engine: dict, folds: int, horizon: int | None = None,
             model: Model | None = None, refit: bool = True) -> dict:
    """Rolling-origin backtest: fold k cuts every series ``horizon * k`` before its end; the model (refit on
    each fold's history with the same hyperparameters, or the given one) and seasonal naive forecast the
    next ``horizon`` values; MASE (scaled by the in-sample seasonal-naive error of the fold's history),
    sMAPE and interval coverage, averaged over series and folds. The folds are independent (each a training
    of its own): ``backtest_fold`` runs one, ``backtest_summary`` combines them, so ``evaluate --scheduler``
    runs the folds as tasks of a cluster and gives the same summary."""
    parts = [backtest_fold(series, cfg, engine, folds, k, horizon, model, refit) for k in range(folds, 0, -1)]
    return backtest_summary(parts)


def backtest_fold(series: list[Series], cfg: ForecastConfig, engine: dict, folds: int, k: int,
                  horizon: int | None = None, model: Model | None = None, refit: bool = True) -> dict:
    """Fold ``k`` of ``folds`` (k = folds is the earliest origin) of :func:`backtest`: its rows of metrics per
    series, and what the summary says about the run."""
    base_cfg = model.cfg if model is not None else resolve(cfg, series[0].axis, [len(s) for s in series])
    Hh = horizon or base_cfg.horizon
    m = base_cfg.season
    _check_folds(series, base_cfg, folds, Hh, refit)
    rows = []
    cuts = [len(s) - Hh * k for s in series]
    hist = [Series(s.id, s.values[:c], s.axis, s.start, None if s.covariates is None else s.covariates[:c],
                   s.source) for s, c in zip(series, cuts)]
    if refit:
        fold_cfg = ForecastConfig(**{**asdict(base_cfg)})
        fold_model = fit_model(hist, fold_cfg, engine, quiet=True)
    else:
        fold_model = model
    preds = forecast(fold_model, hist, Hh, fold_model.levels)
    for s, c, p in zip(series, cuts, preds):
        actual = s.values[c:c + Hh]
        h_ = s.values[:c]
        naive = seasonal_naive(h_, Hh, m)
        row = {"id": s.id, "fold": folds - k + 1, "mase": mase(actual, p["forecast"], h_, m),
               "smape": smape(actual, p["forecast"]), "naive_mase": mase(actual, naive, h_, m),
               "naive_smape": smape(actual, naive)}
        for lev in fold_model.levels:
            row[f"coverage_{lev}"] = coverage(actual, p[f"lower_{lev}"], p[f"upper_{lev}"])
        rows.append(row)
    return {"folds": folds, "horizon": Hh, "season": m, "series": len(series), "rows": rows}


def backtest_summary(parts: list[dict]) -> dict:
    """The backtest of the folds ``parts`` (:func:`backtest_fold`'s, in fold order): every metric averaged
    over series and folds, and the rows."""
    rows = [r for part in parts for r in part["rows"]]
    first = parts[0]
    keys = [k for k in rows[0] if k not in ("id", "fold")]
    summary = {"folds": first["folds"], "horizon": first["horizon"], "season": first["season"],
               "series": first["series"]}
    for key in keys:
        vals = np.array([r[key] for r in rows], np.float64)
        summary[key] = round(float(np.mean(vals[np.isfinite(vals)])), 4) if np.isfinite(vals).any() else None
    return {"summary": summary, "rows": rows}


def _check_folds(series: list[Series], cfg: ForecastConfig, folds: int, horizon: int, refit: bool) -> None:
    """Every fold's history must be long enough to refit on (or, without refitting, to fill the network's
    window): otherwise a usage error that names --backtest and the most folds this data allows, before any
    refit runs."""
    if not series:
        return
    need = min_length(cfg) if refit else _need(cfg) + cfg.lookback
    shortest = min(series, key=lambda x: len(x.values))
    n = len(shortest.values)
    most = (n - need) // horizon
    if folds > most:
        # a data error (exit 1) naming the option: the same --backtest suits a longer series
        limit = f"at most --backtest {most} for this data" if most >= 1 else "too short to backtest at all"
        raise InputError(f"--backtest {folds} needs {folds} x {horizon} held-out values after {need} to "
                         f"{'refit on' if refit else 'read'}, but series {shortest.id!r} has {n}: {limit}",
                         shortest.source or None)


# --- the task contract ---------------------------------------------------------------------------------

def read(inputs: list[str], model: Model | None = None, **options) -> Iterator[Series]:
    """Series from CSV/JSONL inputs, with the missing-value policy applied (a count goes to stderr). Columns,
    frequency and policy default to the ones the model was trained with, then to DEFAULTS."""
    from rnntools.tasks.forecast.series import apply_missing, iter_series

    pick = _picker(model, options)
    columns = {k: pick(k) for k in ("target", "timestamp_column", "id_column", "freq")}
    series = iter_series(list(inputs), encoding_errors=options.get("encoding_errors") or "strict",
                         covariates=tuple(pick("covariates") or ()), **columns)
    policy = pick("missing")
    total, hit = 0, 0
    for s in series:   # one at a time: predict forecasts while it reads
        n = apply_missing(s, policy)
        total += n
        hit += n > 0
        yield s
    if total:
        console.warn(f"{total} missing value(s) in {hit} series filled by --missing {policy}")


def _picker(model: Model | None, options: dict):
    """An input option's value: the command line's, else the model's, else DEFAULTS'."""
    saved = model.input_options if model is not None else {}

    def pick(k):
        for source in (options, saved, DEFAULTS):
            if source.get(k) is not None:
                return source[k]
        return None

    return pick


def partitioning(model: Model | None, path: str, **options) -> dict | None:
    """How ``--scheduler`` may cut the input ``path`` into byte ranges (series.partitioning): where a series
    ends, never inside one."""
    from rnntools.tasks.forecast.series import partitioning as cut

    pick = _picker(model, options)
    return cut(path, **{k: pick(k) for k in ("target", "timestamp_column", "id_column")})


def record_key(record: Series) -> tuple[str, str]:
    """A series' id and where it was read (``file:line``): ``--scheduler`` checks that no id comes twice
    across partitions, as one process does across its whole input."""
    return record.id, record.source


def repeated_key(key: str, first: str, again: str) -> InputError:
    """The error of one process for series id ``key`` read at ``again`` after ``first`` (file:line each)."""
    from rnntools.tasks.forecast.series import repeated_id

    return repeated_id(key, first, again)


def train(inputs: list[str], output: str, options: dict) -> dict:
    """Train a forecaster on every series of ``inputs`` (one global model) and save it to ``output``.
    ``options``: DEFAULTS' names (None = not given) plus the engine's (resume, threads, max_steps, ...)."""
    from rnntools.io import load_model

    given = {k: v for k, v in options.items()}
    resume = None
    if given.get("resume"):
        resume = load_model(given["resume"], KIND)
        saved = load(resume)
        given = resume_options(saved.config(), given, STRUCTURAL, given["resume"])
        resume.arrays = {**{k: v for k, v in resume.arrays.items() if not k.startswith("state.")},
                         **saved.train_arrays}
        resume.meta = {**resume.meta, "training": saved.training}
    series = list(read(inputs, None, **given))
    season = given.get("season")
    if season is None:
        season = _season_of(series)
    names = set(ForecastConfig.__dataclass_fields__)
    cfg_values = {k: given[k] for k in names if given.get(k) is not None}
    cfg_values["season"] = season
    cfg_values["missing"] = given.get("missing") or DEFAULTS["missing"]
    for k in ("intervals", "covariates"):
        if k in cfg_values:
            cfg_values[k] = tuple(cfg_values[k])
    cfg = ForecastConfig(**cfg_values)
    input_options = {k: (list(given[k]) if k == "covariates" else given.get(k)) for k in INPUT_KEYS
                     if k != "missing"}
    input_options["covariates"] = list(given.get("covariates") or ())
    shared = ("cell", "hidden", "layers", "dropout")   # engine options the config also records
    engine = {k: v for k, v in given.items() if (k not in names or k in shared) and k not in INPUT_KEYS}
    model = fit_model(series, cfg, engine, output=output, resume=resume, input_options=input_options)
    c = model.cfg
    console.info(f"{len(series)} series, frequency {model.axis.freq}, season {c.season}, horizon {c.horizon}, "
                 f"lookback {c.lookback}, {c.strategy}; validation MAE (scaled) "
                 f"{_fmt(model.summary.get('val_loss'))}, naive {_fmt(model.summary.get('val_naive'))}")
    return {**model.summary, "series": len(series), "season": c.season, "horizon": c.horizon,
            "lookback": c.lookback, "freq": model.axis.freq}


def _fmt(v):
    return "n/a" if v is None else f"{v:.4g}"


def _season_of(series: list[Series]):
    given = {s.season for s in series if s.season is not None}
    if len(given) > 1:
        raise InputError(f"the series give different seasons ({', '.join(map(str, sorted(given)))}); one model "
                         f"has one season: train one model per frequency (e.g. jq -c 'select(.freq == \"M\")')")
    return given.pop() if given else None


def predict(model: Model, records: Iterable[Series], horizon: int | None = None,
            intervals: Sequence[int] | None = None, **_) -> Iterator[dict]:
    """Output records for every series: id, timestamps, forecast, intervals. The series are forecast in
    batches of thousands (the network's cost is per batch, not per series) while the next are read."""
    levels = list(model.levels if intervals is None else intervals)
    yield from predict_records(model, records, horizon or model.cfg.horizon, levels)


def predict_text(model: Model, records: Iterable[Series], horizon: int | None = None,
                 intervals: Sequence[int] | None = None, **_) -> Iterator[str]:
    """:func:`predict`'s records as JSONL text, block by block (the contract's optional fast path for
    ``predict`` to JSONL): a large input is forecast in worker processes, one per core ``--threads``
    allows (forecasts.predict_text)."""
    from rnntools.parallel import configured_threads

    levels = list(model.levels if intervals is None else intervals)
    yield from predict_text_blocks(model, records, horizon or model.cfg.horizon, levels, configured_threads())


def evaluate(model: Model, records: Iterable[Series], folds: int | None = None, refit: bool | None = None,
             backtest: int | None = None, seed: int | None = None, max_time: float | None = None, **_) -> dict:
    """Rolling-origin backtest summary (see :func:`backtest`): MASE, sMAPE and coverage of the model and of
    seasonal naive over the last ``folds`` horizons of every series (``backtest``: the CLI's name; default
    3), the model refit on each fold's history unless ``refit`` is False. A refit trains as the model was
    trained, but with ``seed`` and a ``max_time`` budget (seconds per fold) when they are given."""
    pieces = evaluate_pieces(model, folds=folds, refit=refit, backtest=backtest, seed=seed, max_time=max_time)
    series = list(records)
    return combine_pieces(model, [evaluate_piece(model, series, k, folds=folds, refit=refit, backtest=backtest,
                                                 seed=seed, max_time=max_time) for k in pieces])


def evaluate_pieces(model: Model, folds: int | None = None, refit: bool | None = None,
                    backtest: int | None = None, seed: int | None = None, max_time: float | None = None,
                    **_) -> Sequence[int]:
    """The independent pieces of ``evaluate``'s work: the backtest's folds (k = folds first, the earliest
    origin), each a training of its own when refitting. ``evaluate --scheduler`` runs each as a task
    (``evaluate_piece``) on a cluster's workers and ``combine_pieces`` gives the summary of one process."""
    if refit is False and (seed is not None or max_time is not None):
        # both set the refits; --no-refit scores the saved model as it is (they were ignored, silently)
        given = " and ".join(name for name, v in (("--seed", seed), ("--max-time", max_time)) if v is not None)
        raise UsageError(f"{given} {'set' if ' and ' in given else 'sets'} the refits of the backtest; "
                         "--no-refit trains nothing (drop one)")
    folds = backtest or folds or 3
    # a range, not a list: `--backtest 1000000000` is refused by the first fold's length check, which a list of
    # a billion fold numbers made wait for 16 GB of memory (and `--backtest 10**15` was "out of memory")
    return range(folds, 0, -1)


def evaluate_piece(model: Model, records: Iterable[Series], piece: int, folds: int | None = None,
                   refit: bool | None = None, backtest: int | None = None, seed: int | None = None,
                   max_time: float | None = None, **_) -> dict:
    """Fold ``piece`` of the backtest on ``records`` (every series): its rows (see :func:`backtest_fold`)."""
    folds = backtest or folds or 3
    refit = True if refit is None else refit
    engine = model.engine_options()
    engine.update({k: v for k, v in (("seed", seed), ("max_time", max_time)) if v is not None})
    series = records if isinstance(records, list) else list(records)
    return backtest_fold(series, model.cfg, engine, folds, piece, model=model, refit=refit)


def combine_pieces(model: Model, pieces: list[dict], **_) -> dict:
    """``evaluate``'s summary from the folds ``evaluate_piece`` ran, in the order of ``evaluate_pieces``."""
    return backtest_summary(pieces)["summary"]


def summary_table(summary: dict) -> tuple[str, list[str], list[list]]:
    """The table ``evaluate`` prints on stderr."""
    s = summary
    rows = [["MASE", s["mase"], s["naive_mase"]], ["sMAPE %", s["smape"], s["naive_smape"]]]
    rows += [[f"coverage {k[len('coverage_'):]}%", v, ""] for k, v in s.items() if k.startswith("coverage_")]
    return (f"backtest: {s['folds']} folds x horizon {s['horizon']}, {s['series']} series",
            ["metric", "model", "seasonal naive"], rows)


