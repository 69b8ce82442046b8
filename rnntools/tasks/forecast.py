"""Synchronous many-to-many forecasting: one global recurrent model over many series.

The shape (torch-rnn's "an input at every step, an output at every step"):

* every series is scaled by its own :class:`~rnntools.tasks.series.Scaler` (mean and mean absolute
  deviation of its training part, after ``log1p`` when its seasonality is multiplicative) and stored in the
  model by id, so forecasts come back in the original units;
* at every time step t the network reads a few level-free features of the scaled series (value, first
  difference, seasonal difference, deviation from the local mean, calendar phase as sin/cos) and outputs
  the next ``horizon`` values as residuals over a baseline known at t (``difference``: the seasonal-naive
  forecast, or the last value) -- the forecast is baseline + output, so an untrained network forecasts the
  baseline and training learns what it misses;
* ``direct`` (default) reads all horizons from the last step's output at once; ``recursive`` has one
  output (the next value), fed back ``horizon`` times. Training uses the outputs of every step of a window
  (each step is a forecast origin; "forking sequences", MQ-RNN), with targets masked at the end of the
  training part, so no window ever sees a value it is asked to forecast;
* validation is the last part of every series (forecast origins whose targets all lie after the training
  part), so early stopping and the prediction intervals measure honest out-of-sample errors;
* intervals: split conformal on the validation errors in scaled units (pooled over horizons after
  dividing by each horizon's mean error; finite-sample level counted in origins), applied around the
  forecast in scaled (possibly log) space, so they are asymmetric in the original units when the series is
  log-scaled;
* optional past covariates (other CSV columns) are extra per-step inputs; ``refit`` retrains on all data
  after early stopping (opt-in: measured in docs/readme/forecast.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, UsageError
from rnntools.tasks.series import Scaler, Series, TimeAxis, coverage, mase, multiplicative, seasonal_naive, smape

KIND = "forecaster"
FORMAT = 1

# M4 competition horizons by frequency (the forecasting community's usual "how far ahead")
HORIZON_BY_FREQ = {"Y": 6, "Q": 8, "M": 18, "W": 13, "D": 14, "h": 48}


@dataclass
class ForecastConfig:
    """Hyperparameters of the forecaster; ``None`` means "pick from the data" (see :func:`resolve`)."""

    season: int | None = None
    horizon: int | None = None
    lookback: int | None = None
    strategy: str = "direct"          # direct | recursive
    difference: str = "auto"          # auto | season | 1 | none: the baseline the network corrects
    transform: str = "auto"           # auto | log | none
    ensemble: int = 1
    intervals: tuple = (80, 95)
    cell: str = "lstm"
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.0
    missing: str = "error"
    refit: bool = False               # after early stopping, retrain on all data for the best epoch count
    level_input: bool = True          # feed the scaled value itself (besides level-free features)
    covariates: tuple = ()            # CSV columns fed as extra inputs (past values only)

    def to_meta(self) -> dict:
        d = asdict(self)
        d["intervals"] = list(self.intervals)
        d["covariates"] = list(self.covariates)
        return d


def resolve(cfg: ForecastConfig, axis: TimeAxis, lengths: Sequence[int]) -> ForecastConfig:
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
        # two seasons (the network then sees every phase twice), at least 16 steps
        c.lookback = max(2 * c.season, 16)
        # but leave room for windows in the shortest series: at least half of it for training origins
        room = (min(lengths) - c.horizon) // 2 - _need(c)
        if room >= 8:
            c.lookback = min(c.lookback, room)
    return c


def _need(cfg: ForecastConfig) -> int:
    """Steps of history before the first usable feature row (seasonal difference, local mean) and
    baseline (two drift windows for ``drift``)."""
    need = max(cfg.season, 2)
    if cfg.difference == "drift":
        need = max(need, 2 * _drift_window(cfg.season))
    return need


def _drift_window(season: int) -> int:
    return season if season > 1 else 4


def min_length(cfg: ForecastConfig) -> int:
    """The shortest series that yields one training window: history for the features, the lookback, the
    horizon."""
    return _need(cfg) + cfg.lookback + cfg.horizon


# --- features and targets ------------------------------------------------------------------------------

N_FEATURES = 6


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
        """(B, O) outputs of the last step for inputs X (T, B, F)."""
        y, _, _ = self.rnn.forward(np.ascontiguousarray(X, dtype=self.params["out.W"].dtype))
        return self.out.forward(y[-1])[0]

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


def features(Z: np.ndarray, phase_end: np.ndarray, season: int, need: int, level: bool = True,
             C: np.ndarray | None = None) -> np.ndarray:
    """Per-step inputs for the last ``W - need`` columns of the scaled tails ``Z`` (B, W).

    Returns (W - need, B, F): z, z - z[-1], z - z[-season] (0 without season), z - mean of the last
    max(season, 2) values, sin and cos of the calendar phase (0 without season). ``phase_end`` (B,): the
    calendar ordinal of each row's last column. Only values at or before a step enter its features.
    ``C`` (B, W, K): scaled past covariates, appended as K more inputs per step.
    """
    B, W = Z.shape
    T = W - need
    K = 0 if C is None else C.shape[2]
    out = np.zeros((T, B, N_FEATURES + K), np.float64)
    if K:
        out[:, :, N_FEATURES:] = C[:, need:, :].transpose(1, 0, 2)
    cols = np.arange(need, W)
    zt = Z[:, cols]                                   # (B, T)
    if level:
        out[:, :, 0] = zt.T
    out[:, :, 1] = (zt - Z[:, cols - 1]).T
    if season > 1:
        out[:, :, 2] = (zt - Z[:, cols - season]).T
    k = max(season, 2)
    csum = np.concatenate([np.zeros((B, 1)), np.cumsum(Z, axis=1)], axis=1)
    local = (csum[:, cols + 1] - csum[:, cols + 1 - k]) / k
    out[:, :, 3] = (zt - local).T
    if season > 1:
        phase = (phase_end[:, None] - (W - 1 - cols)[None, :]) % season   # (B, T)
        ang = 2 * np.pi * phase / season
        out[:, :, 4] = np.sin(ang).T
        out[:, :, 5] = np.cos(ang).T
    return out


def baseline(Z: np.ndarray, horizon: int, season: int, difference: str) -> np.ndarray:
    """(B, horizon) baseline forecasts from the last column of each row of Z (B, W):
    seasonal naive (``season``), the last value (``1``), zero (``none``), or seasonal naive plus the
    growth between the last two windows of max(season, 4) steps per elapsed window (``drift``)."""
    B, W = Z.shape
    if difference == "none":
        return np.zeros((B, horizon))
    m = season if difference in ("season", "drift") else 1
    idx = W - m + (np.arange(horizon) % m)
    base = Z[:, idx]
    if difference == "drift":
        k = _drift_window(season)
        growth = (Z[:, W - k:].mean(1) - Z[:, W - 2 * k:W - k].mean(1)) / k   # per step, (B,)
        steps = (np.arange(horizon) // m + 1) * m if m > 1 else np.arange(1, horizon + 1)
        base = base + growth[:, None] * steps[None, :]
    return base


def targets(z: np.ndarray, horizon: int, season: int, difference: str, need: int) -> np.ndarray:
    """(n, horizon) residual targets for every origin t of one scaled series z (n,): z[t+h] - baseline_t(h)
    with the baseline computed by :func:`baseline` from ``z[t-need+1..t]`` (the same code as at forecast
    time); NaN where t + h is past the end or t has less than ``need`` values of history."""
    n = len(z)
    R = np.full((n, horizon), np.nan)
    if n < need:
        return R
    windows = np.lib.stride_tricks.sliding_window_view(z, need)      # origins t = need-1 .. n-1
    base = baseline(windows, horizon, season, difference)           # (n-need+1, horizon)
    pad = np.concatenate([z, np.full(horizon, np.nan)])
    future = np.lib.stride_tricks.sliding_window_view(pad[1:], horizon)[:n]   # z[t+1..t+h]
    R[need - 1:] = future[need - 1:] - base
    return R


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

    def engine_options(self) -> dict:
        """The engine options the model was trained with (for backtest refits)."""
        conf = dict((self.training or {}).get("config") or {})
        keep = ("val_fraction", "epochs", "patience", "batch", "lr", "clip", "seed", "max_time", "max_steps",
                "optimizer")
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


def scale_covariates(c: np.ndarray, upto: int) -> np.ndarray:
    """(n, K) covariates standardised per column by the mean and mean absolute deviation of ``c[:upto]``."""
    ref = c[:upto]
    mu = ref.mean(0)
    mad = np.abs(ref - mu).mean(0)
    return (c - mu) / np.where(mad > 1e-12, mad, 1.0)


def _covariates(s: Series, cfg: ForecastConfig) -> np.ndarray:
    K = len(cfg.covariates)
    if s.covariates is None or s.covariates.shape[1] != K:
        raise InputError(f"series {s.id!r} lacks the covariates {', '.join(cfg.covariates)} the model was "
                         f"trained with", s.source or None)
    return s.covariates


def fit_scaler(y: np.ndarray, cfg: ForecastConfig) -> Scaler:
    log = cfg.transform == "log" or (cfg.transform == "auto" and multiplicative(y, cfg.season))
    if log and np.any(y < 0):
        log = False
    return Scaler.fit(y, log=log)


def tails(series: list[Series], model: Model, cut: list[int] | None = None):
    """Scaled tails (B, need + lookback), each row's calendar ordinal at its end, and the scalers.

    ``cut``: use only ``values[:cut]`` of each series (backtests)."""
    cfg = model.cfg
    W = _need(cfg) + cfg.lookback
    Z = np.empty((len(series), W))
    K = len(cfg.covariates)
    C = np.empty((len(series), W, K)) if K else None
    pe = np.empty(len(series), np.int64)
    scalers = []
    for i, s in enumerate(series):
        v = s.values if cut is None else s.values[:cut[i]]
        if (s.axis.kind, s.axis.step) != (model.axis.kind, model.axis.step):
            raise InputError(f"series {s.id!r} has frequency {s.axis.freq} but the model forecasts "
                             f"{model.axis.freq} series (pass --freq if the timestamps mislead)", s.source or None)
        if len(v) < W:
            raise InputError(f"series {s.id!r} has {len(v)} values; the model needs at least {W} "
                             f"(lookback {cfg.lookback} + {_need(cfg)} for seasonal features)",
                             s.source or None)
        sc = model.scaler_for(s) if cut is None else fit_scaler(v, cfg)
        scalers.append(sc)
        Z[i] = sc.transform(v[-W:])
        if K:
            C[i] = scale_covariates(_covariates(s, cfg)[:len(v)], len(v))[-W:]
        pe[i] = s.phase0 + len(v) - 1
    return Z, pe, scalers, C


def predict(model: Model, series: list[Series], horizon: int, levels: Sequence[int] | None = None,
            cut: list[int] | None = None) -> list[dict]:
    """Forecasts for every series in one batched pass: ``forecast`` and per-level ``lower``/``upper`` in
    original units, plus the future timestamps."""
    levels = list(model.levels if levels is None else levels)
    Z, pe, scalers, C = tails(series, model, cut)
    F = model.forecast_scaled(Z, pe, horizon, C=C)
    Q = interval_widths(model, levels, horizon)
    # undo the scaling for all rows at once: (B, 1) columns of every series' scaler
    sc = np.array([x.to_list() for x in scalers]).reshape(-1, 4)
    shift, scale, log, floor = sc[:, :1], sc[:, 1:2], sc[:, 2:3] > 0, sc[:, 3:]

    def inverse(z):
        y = z * scale + shift
        return np.where(log, np.expm1(np.where(log, y, 0.0)) + floor, y)

    with np.errstate(over="ignore", invalid="ignore"):
        fc = inverse(F)
        bounds = [(inverse(F - Q[j]), inverse(F + Q[j])) for j in range(len(levels))]
    bad = ~np.isfinite(fc).all(1)
    for lo, hi in bounds:
        bad |= ~(np.isfinite(lo).all(1) & np.isfinite(hi).all(1))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"the forecast of series {series[i].id!r} is not finite (values far outside what the "
                         f"model was trained on?)", series[i].source or None)
    out, stamps = [], {}
    for i, s in enumerate(series):
        rec = {"id": s.id, "forecast": fc[i]}
        n = len(s.values) if cut is None else cut[i]
        key = (s.axis, s.start, n)
        if key not in stamps:  # series that end together share their future timestamps
            stamps[key] = [s.timestamp(n + k) for k in range(horizon)]
        rec["timestamps"] = stamps[key]
        for j, lev in enumerate(levels):
            rec[f"lower_{lev}"], rec[f"upper_{lev}"] = bounds[j][0][i], bounds[j][1][i]
        out.append(rec)
    return out


def round_rows(a: np.ndarray, ref: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round each row of ``a`` to ``digits`` significant digits of the row's largest |ref| (vectorised;
    dividing an integer by a power of ten gives the double nearest the decimal, so JSON stays short)."""
    top = np.max(np.abs(ref), axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        d = np.where(top > 0, digits - 1 - np.floor(np.log10(np.where(top > 0, top, 1.0))), digits)
    d = np.clip(d, 0, 15)
    p = 10.0 ** d
    return np.round(a * p) / p


def interval_widths(model: Model, levels: Sequence[int], horizon: int) -> np.ndarray:
    """(len(levels), horizon) half-widths in scaled units; past the validated horizon they grow like
    sqrt(h) (a random-walk error), the usual honest extrapolation."""
    if model.qtable is None or not len(model.levels):
        if levels:
            raise UsageError("this model has no interval table (trained without validation data)")
        return np.zeros((0, horizon))
    Hq = model.qtable.shape[1]
    out = np.empty((len(levels), horizon))
    for j, lev in enumerate(levels):
        if lev in model.levels:
            q = model.qtable[model.levels.index(lev)]
        else:
            raise UsageError(f"--intervals {lev} was not computed at training time "
                             f"(the model has {', '.join(map(str, model.levels))}); retrain with --intervals")
        for h in range(horizon):
            out[j, h] = q[h] if h < Hq else q[-1] * math.sqrt((h + 1) / Hq)
    return out


# --- training ------------------------------------------------------------------------------------------

@dataclass
class _Data:
    X: np.ndarray                  # (N, F) feature rows of all series, concatenated
    R: np.ndarray                  # (N, O) targets (residuals), NaN -> 0 with M = 0
    M: np.ndarray                  # (N, O) mask of usable training targets
    starts: np.ndarray             # (windows,) first row of each training window
    val_Z: np.ndarray              # (V, need + lookback) scaled tails at validation origins
    val_pe: np.ndarray             # (V,)
    val_Y: np.ndarray              # (V, horizon) scaled truths
    val_C: np.ndarray | None = None  # (V, need + lookback, K) scaled covariates at validation origins


def build_data(series: list[Series], model: Model, val_fraction: float) -> _Data:
    """Training windows and validation origins. Each series' last ``max(horizon, val_fraction * n)``
    values are held out: training targets stop before them, validation forecasts them."""
    cfg = model.cfg
    need, L, Hh, O = _need(cfg), cfg.lookback, cfg.horizon, model.outputs  # noqa: E741
    W = need + L
    Xs, Rs, Ms, starts = [], [], [], []
    vZ, vpe, vY, vC = [], [], [], []
    K = len(cfg.covariates)
    offset = 0
    for s in series:
        y = s.values
        n = len(y)
        if n < min_length(cfg):
            raise InputError(f"series {s.id!r} has {n} values; it needs at least {min_length(cfg)} "
                             f"(lookback {L} + horizon {Hh} + {need} for seasonal features); pass a "
                             f"smaller --lookback or --horizon, or drop the series", s.source or None)
        V = max(Hh, int(math.ceil(val_fraction * n))) if val_fraction > 0 else 0
        if n - V < min_length(cfg):
            V = 0  # too short to hold anything out: all of it trains (no validation from this series)
        train_end = n - V
        sc = fit_scaler(y[:train_end], cfg)
        model.scalers[s.id] = sc
        z = sc.transform(y)
        cz = scale_covariates(_covariates(s, cfg), train_end)[None] if K else None   # (1, n, K)
        F = features(z[None, :], np.array([s.phase0 + n - 1]), cfg.season, need, cfg.level_input, cz)[:, 0, :]
        R = targets(z, O, cfg.season, cfg.difference, need)[need:]                                # (n-need, O)
        t = np.arange(need, n)
        M = ~np.isnan(R) & ((t[:, None] + np.arange(1, O + 1)[None, :]) < train_end)
        # windows of L rows ending at origins e (row index e - need) with at least one usable target
        last_e = train_end - 2
        for e in range(need + L - 1, last_e + 1):
            starts.append(offset + e - need - L + 1)
        Xs.append(F)
        Rs.append(np.nan_to_num(R))
        Ms.append(M)
        offset += len(F)
        for o in range(train_end - 1, n - Hh):
            vZ.append(z[o + 1 - W:o + 1])
            vpe.append(s.phase0 + o)
            vY.append(z[o + 1:o + 1 + Hh])
            if K:
                vC.append(cz[0, o + 1 - W:o + 1])
    d = _Data(np.concatenate(Xs).astype(np.float32), np.concatenate(Rs).astype(np.float32),
              np.concatenate(Ms).astype(np.float32), np.asarray(starts, np.int64),
              np.asarray(vZ).reshape(-1, W), np.asarray(vpe, np.int64), np.asarray(vY).reshape(-1, Hh),
              np.asarray(vC).reshape(-1, W, K) if K else None)
    if not len(d.starts):
        raise InputError("no training windows: the series are too short for the lookback and horizon")
    if len(d.val_Z) > MAX_VAL_ORIGINS:
        # thousands of series: an even subset of the validation origins measures the same error for
        # a fraction of the evaluation time at every epoch
        keep = np.unique(np.linspace(0, len(d.val_Z) - 1, MAX_VAL_ORIGINS).astype(np.int64))
        d.val_Z, d.val_pe, d.val_Y = d.val_Z[keep], d.val_pe[keep], d.val_Y[keep]
        d.val_C = None if d.val_C is None else d.val_C[keep]
    return d


MAX_VAL_ORIGINS = 20_000


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
                self._state[f"m{k}.adam_m.{n}"] = m.opt.m[n]
                self._state[f"m{k}.adam_v.{n}"] = m.opt.v[n]
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
        return {"adam_t": [m.opt.t for m in self.model.members]}

    def load_train_meta(self, meta: dict) -> None:
        for m, t in zip(self.model.members, meta.get("adam_t", [])):
            m.opt.t = int(t)

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
        model.qtable, model.levels = None, []
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
    from rnntools import nn
    from rnntools.tasks.trainer import EngineConfig, set_threads
    from rnntools.tasks.trainer import fit as trainer_fit

    axis = series[0].axis
    for s in series:
        if (s.axis.kind, s.axis.step) != (axis.kind, axis.step):
            raise InputError(f"series {s.id!r} has frequency {s.axis.freq} but {series[0].id!r} has "
                             f"{axis.freq}; one model forecasts one frequency")
    cfg = resolve(cfg, axis, [len(s) for s in series])
    config = EngineConfig.from_options(engine, **ENGINE_DEFAULTS)
    cfg.cell, cfg.hidden, cfg.layers, cfg.dropout = config.cell, config.hidden, config.layers, config.dropout
    if config.threads:
        set_threads(config.threads)       # numba and BLAS
        nn.set_threads(config.threads)    # the engine's batch slices
    if config.optimizer != "adam":
        raise UsageError("the forecaster trains with --optimizer adam")
    if resume is not None:
        # the trainer takes the best-so-far parameters from the plain names, which hold the refitted
        # network after a finished run: give it the validated ones instead
        for k in [n for n in resume.arrays if n.startswith("valbest.")]:
            resume.arrays[k[len("valbest."):]] = resume.arrays[k]
    model = Model(cfg, axis, input_options={**(input_options or {}), "missing": cfg.missing})
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


def _refit(model: Model, series: list[Series], config, summary: dict, steps_per_epoch: int) -> int:
    """Retrain from the same initialisation on every value (the held-out ends are the most recent, most
    telling data of short series) for as many epochs as early stopping chose; scalers are refitted too.
    The interval table stays the one calibrated on the validation split."""
    from dataclasses import replace

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


ENGINE_DEFAULTS = dict(cell="lstm", hidden=32, layers=1, dropout=0.0, epochs=200, patience=10, batch=32, lr=3e-3,
                       val_fraction=0.2, clip=5.0, log_every=50)


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
    ids = list(model.scalers)
    meta = {
        "forecast_format": FORMAT,
        "config": model.cfg.to_meta(),
        "axis": model.axis.to_meta(),
        "levels": model.levels,
        "series": {"ids": ids, "scalers": [model.scalers[i].to_list() for i in ids]},
        "input": model.input_options,
        "summary": model.summary,
    }
    if model.training:
        meta["training"] = model.training
    save_model(path, KIND, arrays, meta)


def load(path: str) -> Model:
    from rnntools.io import load_model

    mf = load_model(path, KIND)
    meta = mf.meta
    try:
        c = dict(meta["config"])
        c["intervals"] = tuple(c.get("intervals", ()))
        c["covariates"] = tuple(c.get("covariates", ()))
        cfg = ForecastConfig(**c)
        axis = TimeAxis.from_meta(meta["axis"])
        members = []
        for k in range(cfg.ensemble):
            prefix = f"m{k}."
            params = {n[len(prefix):]: np.array(a) for n, a in mf.arrays.items() if n.startswith(prefix)}
            members.append(Member(cfg, cfg.horizon if cfg.strategy == "direct" else 1, params))
        ids, sc = meta["series"]["ids"], meta["series"]["scalers"]
        scalers = {i: Scaler.from_list(v) for i, v in zip(ids, sc)}
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"corrupt forecaster metadata ({exc.__class__.__name__}: {exc})", path) from None
    m = Model(cfg, axis, members, scalers, list(meta.get("levels", [])), mf.arrays.get("interval_q"),
              dict(meta.get("summary", {})), training=meta.get("training"),
              input_options=dict(meta.get("input", {})))
    return m


def _round(values, ref=None) -> list:
    a = np.asarray(values, np.float64)
    return round_rows(a, a if ref is None else np.asarray(ref, np.float64)).tolist()


def output_record(rec: dict, levels: Sequence[int]) -> dict:
    """The JSONL record of ``predict``: id, timestamps, forecast, then ``lower``/``upper`` of the first
    level (with ``level``), then ``lower_L``/``upper_L`` for every further level."""
    ref = rec["forecast"]
    out = {"id": rec["id"], "timestamps": rec["timestamps"], "forecast": _round(rec["forecast"])}
    for j, lev in enumerate(levels):
        if j == 0:
            out["level"] = lev
            out["lower"], out["upper"] = _round(rec[f"lower_{lev}"], ref), _round(rec[f"upper_{lev}"], ref)
        else:
            out[f"lower_{lev}"] = _round(rec[f"lower_{lev}"], ref)
            out[f"upper_{lev}"] = _round(rec[f"upper_{lev}"], ref)
    return out


# --- evaluation ----------------------------------------------------------------------------------------

def backtest(series: list[Series], cfg: ForecastConfig, engine: dict, folds: int, horizon: int | None = None,
             model: Model | None = None, refit: bool = True) -> dict:
    """Rolling-origin backtest: fold k cuts every series ``horizon * k`` before its end; the model (refit on
    each fold's history with the same hyperparameters, or the given one) and seasonal naive forecast the
    next ``horizon`` values; MASE (scaled by the in-sample seasonal-naive error of the fold's history),
    sMAPE and interval coverage, averaged over series and folds."""
    base_cfg = model.cfg if model is not None else resolve(cfg, series[0].axis, [len(s) for s in series])
    Hh = horizon or base_cfg.horizon
    m = base_cfg.season
    rows = []
    for k in range(folds, 0, -1):
        cuts = [len(s) - Hh * k for s in series]
        hist = [Series(s.id, s.values[:c], s.axis, s.start, None if s.covariates is None else s.covariates[:c],
                       s.source) for s, c in zip(series, cuts)]
        if refit:
            fold_cfg = ForecastConfig(**{**asdict(base_cfg)})
            fold_model = fit_model(hist, fold_cfg, engine, quiet=True)
        else:
            fold_model = model
        preds = predict(fold_model, hist, Hh, fold_model.levels)
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
    keys = [k for k in rows[0] if k not in ("id", "fold")]
    summary = {"folds": folds, "horizon": Hh, "season": m, "series": len(series)}
    for key in keys:
        vals = np.array([r[key] for r in rows], np.float64)
        summary[key] = round(float(np.mean(vals[np.isfinite(vals)])), 4) if np.isfinite(vals).any() else None
    return {"summary": summary, "rows": rows}
