"""Series to arrays: per-series scaling, the level-free input features, the baseline the network corrects,
residual targets, training windows and validation origins (no network here).

Every series is scaled by its own :class:`Scaler` (mean and mean absolute deviation of its training part,
after ``log1p`` when its seasonality is multiplicative). At every step t the network reads a few level-free
features of the scaled series (value, first difference, seasonal difference, deviation from the local mean,
calendar phase as sin/cos) and learns the next ``horizon`` values as residuals over a baseline known at t
(seasonal naive, the last value, or seasonal naive plus drift).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnntools.errors import InputError
from rnntools.tasks.forecast.series import Series

if TYPE_CHECKING:
    from rnntools.tasks.forecast.model import ForecastConfig, Model

# --- transforms -----------------------------------------------------------------------------------------

def difference(y: np.ndarray, lag: int = 1) -> np.ndarray:
    """``y[t] - y[t-lag]`` for t >= lag (length n - lag)."""
    return y[lag:] - y[:-lag]


def undifference(d: np.ndarray, history: np.ndarray, lag: int = 1) -> np.ndarray:
    """Invert :func:`difference` for values that follow ``history`` (at least ``lag`` points)."""
    out = np.concatenate([history[-lag:], np.zeros(len(d))])
    for i in range(len(d)):
        out[lag + i] = out[i] + d[i]
    return out[lag:]


# the largest scaled value (in scales from the shift) the network sees, in training and prediction: a value
# far beyond the stretch the scaler was fitted on (a series constant until a jump to 1e100) overflowed the
# network's float32 arithmetic, which saved a model whose interval table held NaN (unloadable) after
# numpy's overflow warnings. Far beyond any real series' spread (thousands), and its squares fit float32.
Z_LIMIT = 1e15


@dataclass
class Scaler:
    """Per-series affine scaling ``z = (transform(y) - shift) / scale``; ``log``: log1p of y - floor."""

    shift: float = 0.0
    scale: float = 1.0
    log: bool = False
    floor: float = 0.0

    @staticmethod
    def fit(y: np.ndarray, log: bool = False) -> Scaler:
        floor = 0.0
        if log:
            floor = min(0.0, float(np.min(y)))
            y = np.log1p(y - floor)
        shift = float(np.mean(y))
        scale = float(np.mean(np.abs(y - shift)))
        if not np.isfinite(scale) or scale < 1e-8 * max(1.0, abs(shift)):
            scale = max(abs(shift), 1.0) * 1e-3 if shift else 1.0
        return Scaler(shift, scale, log, floor)

    def transform(self, y: np.ndarray) -> np.ndarray:
        if self.log:
            y = np.log1p(np.maximum(y - self.floor, 0.0))
        return (y - self.shift) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        y = np.asarray(z) * self.scale + self.shift
        if self.log:
            y = np.expm1(y) + self.floor
        return y

    def to_list(self) -> list[float]:
        return [self.shift, self.scale, float(self.log), self.floor]

    @staticmethod
    def from_list(v) -> Scaler:
        return Scaler(float(v[0]), float(v[1]), bool(v[2]), float(v[3]))


def multiplicative(y: np.ndarray, season: int) -> bool:
    """Whether a log transform suits ``y``: positive, and the seasonal swing grows with the level
    (correlation of per-cycle range and per-cycle mean above 0.5 over at least 3 cycles)."""
    if season < 2 or np.any(y <= 0) or len(y) < 3 * season:
        return False
    n = len(y) // season * season
    cycles = y[len(y) - n:].reshape(-1, season)
    level, swing = cycles.mean(1), cycles.max(1) - cycles.min(1)
    if level.max() / level.min() <= 1.3:
        return False
    a, b = level - level.mean(), swing - swing.mean()
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return bool(den > 0 and np.dot(a, b) / den > 0.5)


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

def calendar_phase(s: Series, k: int, season: int) -> int:
    """The calendar ordinal of value ``k`` of ``s``, modulo ``season`` (all the features use of it): integer
    timestamps may be any size (a series numbered from 10**30 overflowed the int64 arrays of phases)."""
    return (s.phase0 + k) % season if season > 1 else 0


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


# Work over many series runs in blocks of about this many bytes of values: a pass over 10,000 series at once
# makes a dozen temporaries of 16 MB, fresh memory whose page faults (and, for numpy's large arrays, huge
# page compaction in the kernel) cost more system time than the arithmetic; blocks of 1 MB are reused.
BLOCK_BYTES = 1 << 20


def row_blocks(values: list[np.ndarray]) -> Iterator[list[int]]:
    """Indices of ``values`` in groups of equal length (the batched forms need equal lengths; a file of
    many series usually has few), each group cut into blocks of about BLOCK_BYTES."""
    groups: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        groups.setdefault(len(v), []).append(i)
    for n, rows in groups.items():
        step = max(64, BLOCK_BYTES // (8 * max(n, 1)))
        for r0 in range(0, len(rows), step):
            yield rows[r0:r0 + step]


def fit_scalers(values: list[np.ndarray], cfg: ForecastConfig) -> list[Scaler]:
    """:func:`fit_scaler` of every series, batched over series of equal length: predict fits one for every
    series the model has not seen, and numpy calls per series cost 40 us each (0.4 s for 10,000 series).
    The same numbers, bit for bit: each row is reduced on its own, in the order the 1-D forms use."""
    out: list = [None] * len(values)
    for rows in row_blocks(values):
        if not len(values[rows[0]]):
            for i in rows:
                out[i] = fit_scaler(values[i], cfg)
            continue
        Y = np.stack([values[i] for i in rows])
        if cfg.transform == "log":
            log = np.ones(len(rows), bool)
        elif cfg.transform == "auto":
            log = _multiplicative_rows(Y, cfg.season)
        else:
            log = np.zeros(len(rows), bool)
        log &= ~np.any(Y < 0, 1)
        low = Y.min(1)
        floor = np.where(log & (low < 0.0), low, 0.0)     # Scaler.fit's min(0.0, min(y))
        T = Y.copy()
        if log.any():
            T[log] = np.log1p(Y[log] - floor[log, None])
        shift = T.mean(1)
        scale = np.abs(T - shift[:, None]).mean(1)
        for k, i in enumerate(rows):
            sh, sc = float(shift[k]), float(scale[k])
            if not np.isfinite(sc) or sc < 1e-8 * max(1.0, abs(sh)):
                sc = max(abs(sh), 1.0) * 1e-3 if sh else 1.0
            out[i] = Scaler(sh, sc, bool(log[k]), float(floor[k]))
    return out


def _multiplicative_rows(Y: np.ndarray, season: int) -> np.ndarray:
    """:func:`multiplicative` of every row of Y (B, n)."""
    B, n = Y.shape
    out = np.zeros(B, bool)
    if season < 2 or n < 3 * season:
        return out
    k = n // season * season
    cycles = Y[:, n - k:].reshape(B, -1, season)
    level, swing = cycles.mean(2), cycles.max(2) - cycles.min(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        candidates = np.all(Y > 0, 1) & ~(level.max(1) / level.min(1) <= 1.3)
    A = level - level.mean(1, keepdims=True)
    S = swing - swing.mean(1, keepdims=True)
    for r in np.nonzero(candidates)[0]:   # their correlation by np.dot, as the 1-D form computes it
        a, b = A[r], S[r]
        den = np.sqrt(np.dot(a, a) * np.dot(b, b))
        out[r] = bool(den > 0 and np.dot(a, b) / den > 0.5)
    return out


def check_inputs(series: list[Series], model: Model, cut: list[int] | None = None,
                 windows: list[int] | None = None) -> None:
    """Every series to forecast is on the model's frequency and long enough for the network's window (``windows``:
    only these rows need it; the others are forecast by statistical methods)."""
    cfg = model.cfg
    W = _need(cfg) + cfg.lookback
    need = set(range(len(series)) if windows is None else windows)
    for i, s in enumerate(series):
        n = len(s.values) if cut is None else cut[i]
        if (s.axis.kind, s.axis.step) != (model.axis.kind, model.axis.step):
            raise InputError(f"series {s.id!r} has frequency {s.axis.freq} but the model forecasts "
                             f"{model.axis.freq} series (pass --freq if the timestamps mislead)", s.source or None)
        if n < W and i in need:
            raise InputError(f"series {s.id!r} has {n} values; the model needs at least {W} "
                             f"(lookback {cfg.lookback} + {_need(cfg)} for seasonal features)",
                             s.source or None)


def tails(series: list[Series], model: Model, cut: list[int] | None = None):
    """Scaled tails (B, need + lookback), each row's calendar ordinal at its end, and the scalers.

    ``cut``: use only ``values[:cut]`` of each series (backtests)."""
    cfg = model.cfg
    W = _need(cfg) + cfg.lookback
    Z = np.empty((len(series), W))
    K = len(cfg.covariates)
    C = np.empty((len(series), W, K)) if K else None
    pe = np.empty(len(series), np.int64)
    check_inputs(series, model, cut)
    values = [s.values if cut is None else s.values[:cut[i]] for i, s in enumerate(series)]
    scalers = [model.scalers.get(s.id) if cut is None else None for s in series]
    unseen = [i for i, sc in enumerate(scalers) if sc is None]
    for i, sc in zip(unseen, fit_scalers([values[i] for i in unseen], cfg)):
        scalers[i] = sc
    for i, s in enumerate(series):
        v = values[i]
        Z[i] = scalers[i].transform(v[-W:])
        if K:
            C[i] = scale_covariates(_covariates(s, cfg)[:len(v)], len(v))[-W:]
        pe[i] = calendar_phase(s, len(v) - 1, cfg.season)
    np.clip(Z, -Z_LIMIT, Z_LIMIT, out=Z)   # once for the block, not in the per-series loop
    return Z, pe, scalers, C


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
    val_sid: np.ndarray | None = None  # (V,) index of each validation origin's series in the input list
    val_o: np.ndarray | None = None    # (V,) the origin: index of its last known value in that series


def build_data(series: list[Series], model: Model, val_fraction: float) -> _Data:
    """Training windows and validation origins. Each series' last ``max(horizon, val_fraction * n)``
    values are held out: training targets stop before them, validation forecasts them."""
    cfg = model.cfg
    need, L, Hh, O = _need(cfg), cfg.lookback, cfg.horizon, model.outputs  # noqa: E741
    W = need + L
    Xs, Rs, Ms, starts = [], [], [], []
    vZ, vpe, vY, vC, vsid, vo = [], [], [], [], [], []
    K = len(cfg.covariates)
    offset = 0
    for si, s in enumerate(series):
        y = s.values
        n = len(y)
        if n < min_length(cfg):
            raise InputError(f"series {s.id!r} has {n} values; it needs at least {min_length(cfg)} "
                             f"(lookback {L} + horizon {Hh} + {need} for seasonal features, season {cfg.season}); "
                             f"pass a smaller --lookback, --horizon or --season, or drop the series",
                             s.source or None)
        V = max(Hh, int(math.ceil(val_fraction * n))) if val_fraction > 0 else 0
        if n - V < min_length(cfg):
            V = 0  # too short to hold anything out: all of it trains (no validation from this series)
        train_end = n - V
        sc = fit_scaler(y[:train_end], cfg)
        model.scalers[s.id] = sc
        z = np.clip(sc.transform(y), -Z_LIMIT, Z_LIMIT)
        cz = scale_covariates(_covariates(s, cfg), train_end)[None] if K else None   # (1, n, K)
        F = features(z[None, :], np.array([calendar_phase(s, n - 1, cfg.season)]), cfg.season, need, cfg.level_input,
                     cz)[:, 0, :]
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
            vpe.append(calendar_phase(s, o, cfg.season))
            vY.append(z[o + 1:o + 1 + Hh])
            vsid.append(si)
            vo.append(o)
            if K:
                vC.append(cz[0, o + 1 - W:o + 1])
    d = _Data(np.concatenate(Xs).astype(np.float32), np.concatenate(Rs).astype(np.float32),
              np.concatenate(Ms).astype(np.float32), np.asarray(starts, np.int64),
              np.asarray(vZ).reshape(-1, W), np.asarray(vpe, np.int64), np.asarray(vY).reshape(-1, Hh),
              np.asarray(vC).reshape(-1, W, K) if K else None, np.asarray(vsid, np.int64),
              np.asarray(vo, np.int64))
    if not len(d.starts):
        raise InputError("no training windows: the series are too short for the lookback and horizon")
    if len(d.val_Z) > MAX_VAL_ORIGINS:
        # thousands of series: an even subset of the validation origins measures the same error for
        # a fraction of the evaluation time at every epoch
        keep = np.unique(np.linspace(0, len(d.val_Z) - 1, MAX_VAL_ORIGINS).astype(np.int64))
        d.val_Z, d.val_pe, d.val_Y = d.val_Z[keep], d.val_pe[keep], d.val_Y[keep]
        d.val_C = None if d.val_C is None else d.val_C[keep]
        d.val_sid, d.val_o = d.val_sid[keep], d.val_o[keep]
    return d


MAX_VAL_ORIGINS = 20_000

