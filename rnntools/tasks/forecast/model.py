"""The forecaster's network and model object, and its model file.

* Each ensemble member is ``rnntools.nn.Recurrent`` over the (T, B, F) features of data.py with a ``Dense``
  head at every step; the forecast is the baseline plus the head's output, so an untrained network
  forecasts the baseline and training learns what it misses.
* ``direct`` (default) reads all horizons from the last step's output at once; ``recursive`` has one
  output (the next value), fed back ``horizon`` times; past the trained horizon direct blocks are chained.
* The model file: members' parameters (``m0.rnn.0.W``...), per-series scalers by id, the interval table,
  ``meta["config"]`` (every option the model was trained with, once) and the trainer's state for --resume
  (optimiser moments in rnntools.nn.optim's names, ``optim.m.<param>``/``optim.v.<param>``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from rnntools.errors import ModelFileError, check_built_from, check_meta_ints, check_meta_numbers, model_loader
from rnntools.tasks.forecast import DEFAULTS, KIND
from rnntools.tasks.forecast.data import N_FEATURES, Scaler, _need, baseline, features, fit_scaler
from rnntools.tasks.forecast.series import Series, TimeAxis

FORMAT = 1

# the network's input window by default: LOOKBACK_SEASONS seasons, at least MIN_LOOKBACK steps, at most
# MAX_LOOKBACK (resolve; docs/forecast.md "The network's input window")
LOOKBACK_SEASONS = 2
MIN_LOOKBACK = 16
MAX_LOOKBACK = 192
# bytes of gate activations ((T, rows, 4H)) one block of rows of the network's forward pass holds (forward_last)
FORWARD_BLOCK_BYTES = 8 << 20
HEAD_ROWS = 64  # the output layer's rows per product: every series' forecast the same bits in any batch
# M4 competition horizons by frequency (the forecasting community's usual "how far ahead")
HORIZON_BY_FREQ = {"Y": 6, "Q": 8, "M": 18, "W": 13, "D": 14, "h": 48}


@dataclass
class ForecastConfig:
    """Hyperparameters of the forecaster; ``None`` means "pick from the data" (see :func:`resolve`)."""

    season: int | None = DEFAULTS["season"]
    horizon: int | None = DEFAULTS["horizon"]
    lookback: int | None = DEFAULTS["lookback"]
    strategy: str = DEFAULTS["strategy"]          # direct | recursive
    difference: str = DEFAULTS["difference"]      # auto | season | drift | 1 | none: the baseline corrected
    transform: str = DEFAULTS["transform"]        # auto | log | none
    ensemble: int = DEFAULTS["ensemble"]
    intervals: tuple = DEFAULTS["intervals"]
    cell: str = DEFAULTS["cell"]
    hidden: int = DEFAULTS["hidden"]
    layers: int = DEFAULTS["layers"]
    dropout: float = DEFAULTS["dropout"]
    missing: str = DEFAULTS["missing"]
    refit: bool = DEFAULTS["refit"]               # after early stopping, retrain on all data for the best epochs
    level_input: bool = DEFAULTS["level_input"]   # feed the scaled value itself (besides level-free features)
    covariates: tuple = DEFAULTS["covariates"]    # CSV columns fed as extra inputs (past values only)
    select: str = DEFAULTS["select"]              # auto: per series, the network or a baseline (choose.py)

    def to_meta(self) -> dict:
        d = asdict(self)
        d["intervals"] = list(self.intervals)
        d["covariates"] = list(self.covariates)
        return d


def resolve(cfg: ForecastConfig, axis: TimeAxis, lengths: Sequence[int],
            val_fraction: float = DEFAULTS["val_fraction"]) -> ForecastConfig:
    """Fill the data-dependent defaults: season from the frequency, horizon M4-style, lookback."""
    c = ForecastConfig(**{**asdict(cfg)})
    if c.season is None:
        c.season = axis.default_season()
    freq = axis.freq
    if c.horizon is None:
        c.horizon = HORIZON_BY_FREQ.get(freq, max(2 * c.season, 8) if c.season > 1 else 8)
        if c.season > 1 and freq not in HORIZON_BY_FREQ:
            c.horizon = c.season
    if c.difference == "auto":
        c.difference = "season" if c.season > 1 else "1"
    if c.lookback is None:
        # two seasons (the network then sees every phase twice), at least 16 steps, at most MAX_LOOKBACK:
        # a long season (336 half-hours in a week) reaches the network through the seasonal difference and
        # the calendar phase, and windows of 672 steps cost 7x those of 96 for no measured gain
        c.lookback = min(max(LOOKBACK_SEASONS * c.season, MIN_LOOKBACK), MAX_LOOKBACK)
        # but leave room for windows in the shortest series: at least half of it for training origins
        n = min(lengths)
        room = (n - c.horizon) // 2 - _need(c)
        if room >= 4:
            c.lookback = min(c.lookback, room)
        # and room for one training window before the validation part (the per-series choice and the
        # intervals need validation origins), or failing that one window at all: a short yearly series
        # with few points is forecast, not refused, as long as it holds need + 1 + horizon values
        held = max(c.horizon, math.ceil(val_fraction * n)) if val_fraction > 0 else 0
        fits = [f for f in (n - held - c.horizon - _need(c), n - c.horizon - _need(c)) if f >= 1]
        # (too short for any window: lookback 1, so the error names the length that would do)
        c.lookback = min(c.lookback, fits[0] if fits else 1)
    return c


class Member:
    """One network of the ensemble on the shared engine: ``rnntools.nn.Recurrent`` over the (T, B, F)
    features and a ``Dense`` head at every step. Parameters live in one flat dict (``rnn.0.W``,
    ``out.W``...), optimiser moments in an engine ``Adam``."""

    def __init__(self, cfg: ForecastConfig, outputs: int, params: dict | None = None,
                 rng: np.random.Generator | None = None):
        from rnntools import nn

        fresh = params is None
        self.params = {} if fresh else params
        self.rnn = nn.Recurrent(self.params, "rnn", cfg.cell, N_FEATURES + len(cfg.covariates), cfg.hidden,
                                layers=cfg.layers,
                                dropout=cfg.dropout, rng=rng)
        self.out = nn.Dense(self.params, "out", cfg.hidden, outputs, rng=rng)
        if fresh:
            # a small head: the untrained forecast is the baseline, training learns the residual
            self.params["out.W"] *= 0.1
            self.params["out.b"][:] = 0.0
        self.opt = None

    def forward_last(self, X: np.ndarray) -> np.ndarray:
        """(B, O) outputs of the last step for inputs X (T, B, F).

        The recurrent layers run for inference (``Recurrent.infer``: nothing kept for a backward pass, the
        top layer writes only its final state; the training forward's bits) over blocks of rows: each
        block's input projections are (T, rows, 4H) floats, which over 10,000 series would be a quarter
        of a gigabyte of fresh memory whose first touch (page faults, the kernel zeroing pages) costs more
        than the arithmetic; blocks of a few MB are freed and reused by the next block. A row's recurrence does
        not depend on the other rows. The head runs over blocks of exactly HEAD_ROWS rows (the last one
        padded): a BLAS product may sum in another order for another number of rows (OpenBLAS's sgemm gave
        other last bits for 600 or 8 rows than for 640), so one product over all rows would make a
        series' forecast depend on how many series came with it, and ``--scheduler`` (which forecasts a
        file's series in partitions) would not give the bytes of one process."""
        T, B = X.shape[:2]
        dt = self.params["out.W"].dtype
        rows = max(64, FORWARD_BLOCK_BYTES // max(1, T * 4 * self.rnn.hidden * dt.itemsize))
        last = np.zeros((-(-B // HEAD_ROWS) * HEAD_ROWS, self.rnn.hidden), dt)
        for r0 in range(0, B, rows):
            _, state = self.rnn.infer(np.ascontiguousarray(X[:, r0:r0 + rows], dtype=dt), outputs=False)
            last[r0:min(r0 + rows, B)] = state[0][-1]       # the top layer's state after the last step
        out = np.empty((len(last), self.params["out.W"].shape[1]), dt)
        for r0 in range(0, len(last), HEAD_ROWS):
            out[r0:r0 + HEAD_ROWS] = self.out.forward(last[r0:r0 + HEAD_ROWS])[0]
        return out[:B]

    def train_step(self, X, R, M, lr: float, clip: float, rng) -> tuple[float, int]:
        from rnntools import nn

        if self.opt is None:
            self.make_optimizer()
        y, _, rc = self.rnn.forward(X, train=True, rng=rng)
        Y, oc = self.out.forward(y)                      # (T, B, O)
        loss, count, dY = masked_l1(Y, R, M)
        grads: dict = {}
        dy = self.out.backward(dY / max(count, 1), oc, grads)
        self.rnn.backward(dy, rc, grads, need_dx=False)
        if clip:
            nn.clip_grad_norm(grads, clip)
        self.opt.lr = lr
        self.opt.step(grads)
        return loss, count

    def make_optimizer(self):
        from rnntools import nn

        self.opt = nn.Adam(self.params)
        for name, a in self.params.items():   # moments exist from the start, so --resume can fill them
            self.opt.m[name] = np.zeros_like(a)
            self.opt.v[name] = np.zeros_like(a)


def masked_l1(Y: np.ndarray, R: np.ndarray, M: np.ndarray) -> tuple[float, int, np.ndarray]:
    """Sum of ``|Y - R|`` where the mask M is 1, the number of terms, and the gradient of the sum w.r.t. Y.

    L1 because forecasts are scored by MASE (a mean absolute error): the forecast that minimises it is
    the median, which also keeps outliers of short real series from dragging the fit."""
    diff = (Y - R) * M
    return float(np.abs(diff).sum()), int(M.sum()), np.sign(diff).astype(Y.dtype)


# --- the model -----------------------------------------------------------------------------------------

@dataclass
class Model:
    """A trained forecaster: config, ensemble members' parameters, per-series scalers, interval table."""

    cfg: ForecastConfig
    axis: TimeAxis
    members: list = field(default_factory=list)          # list of Member
    scalers: dict = field(default_factory=dict)           # id -> Scaler
    levels: list = field(default_factory=list)            # interval levels (percent)
    qtable: np.ndarray | None = None                      # (levels, horizon) scaled abs-error quantiles
    summary: dict = field(default_factory=dict)
    train_arrays: dict = field(default_factory=dict)      # the trainer's state.* / resume.* arrays
    training: dict | None = None                          # the trainer's meta["training"]
    input_options: dict = field(default_factory=dict)     # CSV columns/freq/missing used in training
    engine: dict = field(default_factory=dict)            # the engine options trained with (epochs, lr...)
    path: str = ""
    selection: dict | None = None                         # choose.py: {"choice": {id: method}, "default", ...}
    tables: dict = field(default_factory=dict)            # method -> (levels, horizon) interval half-widths

    def config(self) -> dict:
        """Every option the model was trained with, once: ``meta["config"]`` of its file."""
        return {**self.engine, **self.input_options, **self.cfg.to_meta()}

    def engine_options(self) -> dict:
        """The engine options the model was trained with (for backtest refits)."""
        keep = ("val_fraction", "epochs", "patience", "batch", "lr", "clip", "seed", "max_time", "max_steps",
                "optimizer")
        conf = {**dict((self.training or {}).get("config") or {}), **self.engine}
        out = {k: conf[k] for k in keep if conf.get(k) is not None}
        out.update(cell=self.cfg.cell, hidden=self.cfg.hidden, layers=self.cfg.layers, dropout=self.cfg.dropout)
        return out

    @property
    def outputs(self) -> int:
        return self.cfg.horizon if self.cfg.strategy == "direct" else 1

    def scaler_for(self, s: Series) -> Scaler:
        sc = self.scalers.get(s.id)
        if sc is None:
            sc = fit_scaler(s.values, self.cfg)
        return sc

    def forecast_scaled(self, Z: np.ndarray, phase_end: np.ndarray, horizon: int,
                        members: list | None = None, C: np.ndarray | None = None) -> np.ndarray:
        """(B, horizon) forecasts in scaled units from tails Z (B, need + lookback), averaged over members.

        Direct: the last step's outputs, chained block by block past the trained horizon. Recursive: one
        step ahead, fed back. ``C`` (B, >= W, K): scaled past covariates; past the end they are held
        at their last value (their future is unknown)."""
        cfg = self.cfg
        need, L = _need(cfg), cfg.lookback
        W = need + L
        if Z.shape[1] < W:
            raise ValueError("tails shorter than need + lookback")
        Z = np.array(Z[:, -W:], dtype=np.float64)
        if C is not None:
            C = np.array(C[:, -W:, :], dtype=np.float64)
        members = self.members if members is None else members
        out = np.empty((Z.shape[0], horizon))
        done = 0
        pe = np.asarray(phase_end, np.int64).copy()
        while done < horizon:
            X = features(Z, pe, cfg.season, need, cfg.level_input, C).astype(np.float32)
            k = self.outputs
            base = baseline(Z, k, cfg.season, cfg.difference)
            y = np.zeros((Z.shape[0], k))
            for member in members:
                y += member.forward_last(X)
            block = base + y / len(members)
            take = min(k, horizon - done)
            out[:, done:done + take] = block[:, :take]
            Z = np.concatenate([Z[:, take:], block[:, :take]], axis=1)
            if C is not None:
                C = np.concatenate([C[:, take:], np.repeat(C[:, -1:], take, axis=1)], axis=1)
            pe += take
            done += take
        return out


# --- model files ---------------------------------------------------------------------------------------

def save(model: Model, path: str, trainer_arrays: dict | None = None) -> None:
    """Write the model file; ``trainer_arrays``: the trainer's own save (best parameters under the plain
    names, optimiser state and latest parameters for --resume) while training runs."""
    from rnntools.io import save_model

    if trainer_arrays is not None:
        arrays = dict(trainer_arrays)
    else:
        arrays = {f"m{k}.{n}": a for k, m in enumerate(model.members) for n, a in m.params.items()}
        # the trainer's extra arrays (optimiser moments, latest parameters) make --resume continue exactly
        arrays.update({k: v for k, v in model.train_arrays.items()
                       if k.startswith(("state.", "resume.", "valbest."))})
    if model.qtable is not None:
        arrays["interval_q"] = model.qtable
    for name, table in model.tables.items():
        arrays[f"interval_q.{name}"] = table
    ids = list(model.scalers)
    meta = {
        "forecast_format": FORMAT,
        "config": model.config(),
        "axis": model.axis.to_meta(),
        "levels": model.levels,
        "series": {"ids": ids, "scalers": [model.scalers[i].to_list() for i in ids]},
        "summary": model.summary,
    }
    if model.selection is not None:
        meta["selection"] = model.selection
    if model.training:
        meta["training"] = model.training
    save_model(path, KIND, arrays, meta)


INPUT_KEYS = ("target", "timestamp_column", "id_column", "freq", "covariates", "missing")


@model_loader("forecaster")
def load(source) -> Model:
    """A forecaster from a path, ``-`` (stdin), the bytes of a file, or a loaded ``rnntools.io.ModelFile``.

    Files written before the task contract are migrated: their options were split between ``config``,
    ``input`` and the trainer's ``training.config``, and their optimiser state had per-member names
    (``state.m0.adam_m.<param>``, ``adam_t``); both now read as the contract's names."""
    from rnntools.io import ModelFile, load_model

    if isinstance(source, ModelFile):
        mf = source
        if mf.kind != KIND:
            raise ModelFileError(f"is a {mf.kind!r} model, expected {KIND!r}", mf.path)
    elif isinstance(source, (bytes, bytearray)):
        mf = _load_bytes(bytes(source))
    else:
        mf = load_model(source, KIND)
    path = mf.path
    meta = mf.meta
    try:
        options = _migrate_options(meta)
        _check_options(options)
        names = set(ForecastConfig.__dataclass_fields__)
        c = {k: v for k, v in options.items() if k in names}
        c["intervals"] = tuple(c.get("intervals", ()))
        c["covariates"] = tuple(c.get("covariates", ()))
        cfg = ForecastConfig(**c)
        for key in ("hidden", "layers", "horizon", "season", "lookback", "ensemble"):
            # the network's shapes come from these: a negative count would build an empty network that
            # fails only when a series' method runs it
            v = getattr(cfg, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{key} is {v!r}")
        _check_format(meta.get("forecast_format", FORMAT))
        axis = TimeAxis.from_meta(meta["axis"])
        if cfg.ensemble * cfg.layers > len(mf.arrays):
            # (each layer of each network is arrays of its own: a count beyond the file's would build random
            # layers, 2**31 of them without end, before the check below)
            raise ValueError(f"ensemble {cfg.ensemble} and layers {cfg.layers} ask for more layers than the file's "
                             f"{len(mf.arrays)} arrays hold")
        members = []
        for k in range(cfg.ensemble):
            prefix = f"m{k}."
            params = {n[len(prefix):]: np.array(a) for n, a in mf.arrays.items() if n.startswith(prefix)}
            saved = set(params)
            members.append(Member(cfg, cfg.horizon if cfg.strategy == "direct" else 1, params))
            check_built_from({prefix + n for n in saved}, {prefix + n for n in params})
        scalers = _scalers(meta["series"])
        levels = _levels(meta.get("levels", []), mf.arrays.get("interval_q"), cfg.horizon)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"corrupt forecaster metadata ({exc.__class__.__name__}: {exc})", path) from None
    training = _migrate_training(meta.get("training"))
    m = Model(cfg, axis, members, scalers, levels, mf.arrays.get("interval_q"),
              dict(meta.get("summary", {})), training=training,
              input_options={k: options.get(k) for k in INPUT_KEYS},
              engine={k: v for k, v in options.items() if k not in names and k not in INPUT_KEYS})
    m.train_arrays = _migrate_arrays(mf.arrays)
    m.path = path
    sel = meta.get("selection")
    if sel is not None:
        from rnntools.tasks.forecast.choose import valid_method

        if (not isinstance(sel, dict) or not isinstance(sel.get("choice"), dict)
                or not valid_method(sel.get("default"))
                or not all(valid_method(c) for c in sel["choice"].values())
                or not isinstance(sel.get("short", []), list)
                or not all(isinstance(i, str) for i in sel.get("short", []))):
            raise ModelFileError("corrupt forecaster metadata (selection)", path)
        m.selection = sel
        m.tables = {k[len("interval_q."):]: np.asarray(v, np.float64) for k, v in mf.arrays.items()
                    if k.startswith("interval_q.")}
        for name, table in m.tables.items():
            if table.shape != (len(m.levels), cfg.horizon):
                raise ModelFileError(f"corrupt model file (interval_q.{name} has shape {list(table.shape)})", path)
            if not (table >= 0).all():
                raise ModelFileError(f"corrupt model file (interval_q.{name} holds a negative half-width)", path)
            try:
                _check_widths(f"interval_q.{name}", table)
            except ValueError as exc:
                raise ModelFileError(f"corrupt model file ({exc})", path) from None
    return m


# the saved options that choose how series are read, transformed and forecast, as the command line takes them
# (``difference`` saved resolved, never "auto")
_CHOICES = {"strategy": ("direct", "recursive"), "difference": ("season", "drift", "1", "none"),
            "transform": ("auto", "log", "none"), "select": ("auto", "rnn"),
            "missing": ("error", "interpolate", "ffill")}


def _check_options(options: dict) -> None:
    """The saved options predict and evaluate use, as training writes them (a ValueError otherwise): a
    ``"difference": "x"``, ``"transform": "x"`` or ``"level_input": "no"`` forecast silently with another
    baseline or features, a ``"target": 5`` was a usage error blaming an option nobody gave."""
    for name, allowed in _CHOICES.items():
        if name in options and options[name] not in allowed:
            raise ValueError(f"{name} is {options[name]!r}, expected one of {', '.join(allowed)}")
    for name in ("level_input", "refit"):
        if name in options and not isinstance(options[name], bool):
            raise ValueError(f"{name} is {options[name]!r}, expected true or false")
    dropout = options.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout is {dropout!r}, expected a number from 0 to below 1")
    for name in ("target", "timestamp_column", "id_column", "freq"):
        value = options.get(name)
        if value is not None and not (isinstance(value, str) and value) and not (
                name == "freq" and isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise ValueError(f"{name} is {value!r}, expected a column name or null")
    if options.get("freq") is not None:
        from rnntools.tasks.forecast.timeaxis import parse_freq

        try:
            parse_freq(options["freq"])
        except ValueError:
            raise ValueError(f"freq is {options['freq']!r}, expected a frequency like D, M or 15min") from None
    _check_engine_options(options)
    for name in ("intervals", "covariates"):
        values = options.get(name, [])
        if not isinstance(values, list) or not all(
                (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 99) if name == "intervals"
                else (isinstance(v, str) and v) for v in values):
            raise ValueError(f"{name} is {str(values)[:80]}, expected a list of "
                             + ("whole percentages from 1 to 99" if name == "intervals" else "column names"))


# the training options `evaluate` refits with (Model.engine_options), in the ranges rnn-train takes them:
# integers (low, high) and real numbers (low, high, low excluded)
_ENGINE_INTS = {"epochs": (1, 100_000), "patience": (1, 1 << 53), "batch": (1, 1 << 31), "max_steps": (1, 1 << 53),
                "seed": (0, (1 << 64) - 1), "ensemble": (1, 1000)}
_ENGINE_REALS = {"lr": (0.0, 1000.0, True), "clip": (0.0, math.inf, False), "val_fraction": (0.0, 0.5, False),
                 "max_time": (0.0, math.inf, True)}


def _check_engine_options(options: dict) -> None:
    """The saved training options, which every `evaluate` refit trains with: an edited ``"epochs": "x"`` or
    ``"lr": "x"`` was an internal error in the first fold's training (TypeError, numba's typing error), an
    ``"lr": -1`` trained uphill and an ``"ensemble": 1000000`` trained a million networks per fold."""
    for name, (low, high) in _ENGINE_INTS.items():
        if options.get(name) is not None:
            check_meta_ints(options, [name], low, high)
    for name, (low, high, low_open) in _ENGINE_REALS.items():
        if options.get(name) is not None:
            check_meta_numbers(options, [name], low, high, low_open=low_open)
    if options.get("optimizer") not in (None, "adam"):
        raise ValueError(f"optimizer is {options['optimizer']!r}, expected adam (the forecaster trains with Adam)")


def _check_format(version) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"forecast_format is {version!r}, expected a whole number from 1")
    if version > FORMAT:
        raise ValueError(f"forecast_format is {version}: written by a newer rnntools, which this one ({FORMAT}) "
                         f"cannot read")


def _scalers(series: dict) -> dict:
    """id -> Scaler from ``meta["series"]``, each entry as training writes it (a ValueError otherwise).

    Training reads values within MAX_ABS and keeps a scale of at least 1e-8 of the shift (data.Scaler.fit); a
    scale of 0 or below, or one that overflows the inverse, made silent nonsense of the series' forecast or an
    error blaming the input's values; ids given twice or a list shorter than the other were zipped silently."""
    from rnntools.tasks.forecast.series import MAX_ABS

    ids, rows = series["ids"], series["scalers"]
    if not isinstance(ids, list) or not isinstance(rows, list) or len(ids) != len(rows):
        raise ValueError("series ids and scalers are not two lists of one length")
    out = {}
    for sid, row in zip(ids, rows):
        if not isinstance(sid, str):
            raise ValueError(f"a series id is {sid!r}, expected a string")
        if sid in out:
            raise ValueError(f"the series id {sid!r} appears twice")
        if not (isinstance(row, list) and len(row) == 4 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)):
            raise ValueError(f"the scaler of series {sid!r} is {str(row)[:80]}, expected 4 numbers")
        shift, scale, log, floor = (float(v) for v in row)
        bound = 2 * MAX_ABS
        for wrong, what in ((not abs(shift) <= bound, f"a shift within {bound:g}"),
                            (not 1e-8 * max(1.0, abs(shift)) * (1 - 1e-9) <= scale <= bound,
                             f"a scale from 1e-8 of the shift's size up to {bound:g}"),
                            (log not in (0.0, 1.0), "a log flag of 0 or 1"),
                            (not -bound <= floor <= 0.0, f"a floor from {-bound:g} to 0")):
            if wrong:
                raise ValueError(f"the scaler of series {sid!r} is {row}, expected {what}")
        out[sid] = Scaler(shift, scale, bool(log), floor)
    return out


def _levels(levels, qtable, horizon: int) -> list:
    """The interval levels (whole percentages from 1 to 99, each once, as --intervals takes them), one row of
    the network's interval table each; a ValueError otherwise ([80, 80] wrote level 80 twice, 200 or -5 a
    band no table was calibrated for)."""
    if not isinstance(levels, list) or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 99
                                               for v in levels):
        raise ValueError(f"levels is {str(levels)[:80]}, expected whole percentages from 1 to 99")
    if len(set(levels)) != len(levels):
        # the first repeated level, and the list only when short: a file with a million levels quoted them all
        twice = next(v for i, v in enumerate(levels) if v in levels[:i])
        shown = str(levels) if len(levels) <= 20 else f"(a list of {len(levels)})"
        raise ValueError(f"levels {shown} names a level twice ({twice})")
    if qtable is not None:
        if qtable.shape != (len(levels), horizon):
            raise ValueError(f"interval_q has shape {list(qtable.shape)}, expected {[len(levels), horizon]}")
        if not (qtable >= 0).all():
            raise ValueError("interval_q holds a negative half-width")
        _check_widths("interval_q", qtable)
    return levels


def _check_widths(name: str, table) -> None:
    """An interval table's half-widths (scale units) lie within the bound the scalers keep (2 * MAX_ABS): a
    table edited to 1e300 wrote bands of +-3e301 passengers, exit 0 (training never writes one: the errors it
    takes them from are of values within 1e15 scales)."""
    from rnntools.tasks.forecast.series import MAX_ABS

    if table.size and not table.max() <= 2 * MAX_ABS:
        raise ValueError(f"{name} holds a half-width of {table.max():g} scales, above {2 * MAX_ABS:g}")


def _load_bytes(raw: bytes):
    import os
    import tempfile

    from rnntools.io import load_model

    fd, tmp = tempfile.mkstemp(suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        mf = load_model(tmp, KIND)
    finally:
        os.remove(tmp)
    mf.path = "<bytes>"
    return mf


def _migrate_options(meta: dict) -> dict:
    """Every option the model was trained with, from ``meta["config"]`` (and, in files written before the
    contract, ``meta["input"]`` and the trainer's ``training.config``)."""
    options = dict(meta["config"])
    for k, v in (meta.get("input") or {}).items():
        options.setdefault(k, v)
    old_engine = ((meta.get("training") or {}).get("config") or {})
    for k in ("epochs", "patience", "batch", "lr", "val_fraction", "clip", "optimizer", "seed"):
        if k not in options and old_engine.get(k) is not None:
            options[k] = old_engine[k]
    return options


def _migrate_training(training):
    if not isinstance(training, dict):
        return training
    training = dict(training)
    task = dict(training.get("task") or {})
    if "adam_t" in task:          # one Adam per member, all at the same step count
        ts = task.pop("adam_t")
        task["optim.t"] = int(ts[0]) if ts else 0
    training["task"] = task
    return training


def _migrate_arrays(arrays: dict) -> dict:
    """The trainer's arrays of a model file (``state.*``, ``resume.*``, ``valbest.*``), with the old
    per-member optimiser names ``state.m<k>.adam_m.<p>`` renamed to nn.optim's ``state.optim.m.m<k>.<p>``."""
    import re

    out = {}
    for k, v in arrays.items():
        m = re.match(r"^state\.(m\d+)\.adam_([mv])\.(.+)$", k)
        if m:
            out[f"state.optim.{m.group(2)}.{m.group(1)}.{m.group(3)}"] = v
        elif k.startswith(("state.", "resume.", "valbest.")):
            out[k] = v
    return out
