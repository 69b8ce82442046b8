"""Per series, the network or a statistical method, whichever forecast the validation origins best; and the
prediction intervals of each, calibrated on the same origins.

Candidates: ``rnn`` (the network), ``naive``, ``snaive`` (seasonal naive), ``drift``, ``theta`` (methods.py)
and ``rnn+theta`` (their average; combining a global model with a local one is the usual winner of the M
competitions). Each candidate forecasts every validation origin of a series from the values up to it; the
errors are divided by the series' MASE scale (the in-sample seasonal-naive error before its first origin),
so one rule serves every series and the errors of many series pool. The series takes the candidate with
the lowest mean scaled error; series the model has not seen take the candidate with the lowest pooled
error. Network-based candidates are scored with a small handicap (``RNN_HANDICAP``): early stopping chose
the network's parameters on these same origins, so its validation error is slightly optimistic.

Intervals: split conformal per candidate on the pooled scaled errors of all series (each horizon's errors
divided by that horizon's mean, one quantile over all of them with the finite-sample level counted in
origins, scaled back), times the series' scale; past the validated horizon they grow like sqrt(h). The
validation origins alone make intervals too narrow: the candidate a series picks is the one whose errors
there happened to be small, and a calm final stretch says little about the next one. So the statistical
candidates are calibrated on their errors from origins spread over the whole history (up to
``HISTORY_ORIGINS`` per series), and the network's validation errors are scaled by how much larger Theta's
history errors are than its validation errors on the same series (never below 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rnntools.tasks.forecast import methods as M
from rnntools.tasks.forecast.metrics import mase_scale

CANDIDATES = ("rnn", "rnn+theta", *M.METHODS)
NEEDS_RNN = ("rnn", "rnn+theta")
RNN_HANDICAP = 1.05
HISTORY_ORIGINS = 200


def series_scale(y: np.ndarray, m: int) -> float:
    """The MASE scale of y (in-sample seasonal-naive MAE), falling back to the lag-1 error, then to 1."""
    s = mase_scale(y, m)
    if not (np.isfinite(s) and s > 0):
        s = mase_scale(y, 1)
    if not (np.isfinite(s) and s > 0):
        s = max(abs(float(np.mean(y))) * 1e-3, 1e-12) if len(y) else 1.0
    return float(s)


def choose(series: list, rnn_val: np.ndarray, val_sid: np.ndarray, val_o: np.ndarray, horizon: int,
           season: int, levels: Sequence[int]) -> dict:
    """The choice per series id, the default for unseen series, the pooled scores and the interval
    tables. ``rnn_val`` (V, horizon): the network's forecasts at the validation origins in original units;
    ``val_sid``/``val_o``: each origin's series index and last known position."""
    errors: dict[str, list] = {c: [] for c in CANDIDATES}      # validation errors: the choice
    calib: dict[str, list] = {c: [] for c in CANDIDATES}       # the errors the intervals are calibrated on
    choice, scores = {}, {}
    for i, s in enumerate(series):
        rows = np.nonzero(val_sid == i)[0]
        if not len(rows):
            continue
        y = s.values
        origins = val_o[rows]
        first = int(origins.min())
        truth = np.stack([y[o + 1:o + 1 + horizon] for o in origins])
        scale = series_scale(y[:first + 1], season)
        f = {"rnn": rnn_val[rows]}
        indices = M.seasonal_indices(y[:first + 1], season) if season > 1 else None
        for meth in M.METHODS:
            f[meth] = M.forecasts(meth, y, origins, horizon, season, indices)
        f["rnn+theta"] = (f["rnn"] + f["theta"]) / 2
        hist = _history_errors(y, horizon, season, indices, scale)
        best, best_score = None, math.inf
        for c in CANDIDATES:
            e = np.abs(f[c] - truth) / scale
            if not np.all(np.isfinite(e)):
                continue
            errors[c].append(e)
            if c in hist:
                calib[c].append(hist[c])
            else:
                # the network: its validation errors, widened by Theta's history/validation error ratio
                ratio = 1.0
                if "theta" in hist:
                    val_theta = float(np.mean(np.abs(f["theta"] - truth))) / scale
                    if val_theta > 0:
                        ratio = max(1.0, float(hist["theta"].mean()) / val_theta)
                calib[c].append(e * ratio)
            score = float(e.mean()) * (RNN_HANDICAP if c in NEEDS_RNN else 1.0)
            if score < best_score:
                best, best_score = c, score
        choice[s.id] = best or "snaive"
    for c, e in errors.items():
        if e:
            scores[c] = float(np.concatenate(e).mean()) * (RNN_HANDICAP if c in NEEDS_RNN else 1.0)
    default = min(scores, key=scores.get) if scores else "rnn"
    tables = {c: interval_table(np.concatenate(e), levels) for c, e in calib.items() if e}
    return {"choice": choice, "default": default, "scores": scores, "tables": tables}


def _history_errors(y: np.ndarray, horizon: int, season: int, indices, scale: float) -> dict:
    """Scaled absolute errors (origins, horizon) of each statistical method from up to HISTORY_ORIGINS
    origins spread over the history of y (every origin with a full horizon after it)."""
    start = max(2 * season, 8)
    last = len(y) - horizon - 1
    if last < start:
        return {}
    origins = np.unique(np.linspace(start, last, min(HISTORY_ORIGINS, last - start + 1)).astype(np.int64))
    truth = np.stack([y[o + 1:o + 1 + horizon] for o in origins])
    out = {}
    for meth in M.METHODS:
        e = np.abs(M.forecasts(meth, y, origins, horizon, season, indices) - truth) / scale
        if np.all(np.isfinite(e)):
            out[meth] = e
    return out


def interval_table(E: np.ndarray, levels: Sequence[int]) -> np.ndarray:
    """(levels, horizon) half-widths in scale units from the scaled absolute errors E (origins, horizon)."""
    spread = np.maximum.accumulate(np.maximum(E.mean(0), 1e-9))
    pooled = np.sort((E / spread).ravel())
    V = len(E)
    table = np.empty((len(levels), E.shape[1]))
    for j, lev in enumerate(levels):
        q = min(1.0, math.ceil((V + 1) * lev / 100) / V)
        table[j] = np.quantile(pooled, q, method="higher") * spread
    return table


def widths(table: np.ndarray, horizon: int) -> np.ndarray:
    """(levels, horizon) half-widths from a table, growing like sqrt(h) past its last horizon."""
    H = table.shape[1]
    h = np.arange(horizon)
    grow = np.where(h < H, 1.0, np.sqrt((h + 1) / H))
    return table[:, np.minimum(h, H - 1)] * grow[None, :]


def stat_forecasts(method: str, values: list[np.ndarray], horizon: int, season: int) -> np.ndarray:
    """(B, horizon) forecasts of a statistical method from the end of each series, batched over series of
    equal length (a file of many series usually has few distinct lengths)."""
    out = np.empty((len(values), horizon))
    by_len: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        by_len.setdefault(len(v), []).append(i)
    for _, rows in by_len.items():
        Y = np.stack([values[i] for i in rows])
        out[rows] = M.forecast_batch(method, Y, horizon, season)
    return out
