"""Forecast accuracy: seasonal naive (the yardstick), MASE, sMAPE, interval coverage, rolling origins."""

from __future__ import annotations

import math

import numpy as np

# --- baselines and metrics ------------------------------------------------------------------------------

def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat the last season (``season`` 1: the last value)."""
    m = max(1, min(season, len(history)))
    last = history[-m:]
    return np.array([last[h % m] for h in range(horizon)], dtype=np.float64)


def mase_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute in-sample seasonal-naive error (falls back to lag 1 if the history is too short)."""
    m = season if len(history) > season else 1
    d = np.abs(history[m:] - history[:-m])
    scale = float(np.mean(d)) if len(d) else 0.0
    return scale


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    scale = mase_scale(history, season)
    err = float(np.mean(np.abs(actual - forecast)))
    if scale <= 0:
        return 0.0 if err == 0 else math.inf
    return err / scale


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0..200); a term with both zero counts as 0."""
    num = np.abs(actual - forecast)
    den = (np.abs(actual) + np.abs(forecast)) / 2
    terms = np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)
    return float(100 * np.mean(terms))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((actual >= lower) & (actual <= upper)))


def backtest_origins(n: int, horizon: int, folds: int, min_train: int) -> list[int]:
    """Rolling-origin cut points: fold k trains on ``y[:cut]`` and scores ``y[cut:cut+horizon]``; the last
    fold ends at the series' end, earlier ones step back by ``horizon`` (non-overlapping test windows)."""
    cuts = [n - horizon * (k + 1) for k in range(folds)]
    return sorted(c for c in cuts if c >= min_train)
