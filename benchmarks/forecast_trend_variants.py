"""The screen behind docs/forecast.md's "Trend and level variants for the failing kinds": forms of the damped
trend and of Holt-Winters that forecast the kinds the defaults lose on (trending quarterly series whose
last h turned; monthly seasonal series whose level moved), each added to the pool S is chosen from (or put
in the place of a member), the rule unchanged.

    # b.pkl: forecast_rules.py's cache of every base forecast of a set (the networks of --model-cache fixed)
    python benchmarks/forecast_trend_variants.py b.pkl trend.pkl            # the variants' forecasts
    python benchmarks/forecast_trend_variants.py b.pkl trend.pkl --score    # the table (and b2.pkl: seed 2)

Every variant forecasts each record's end, its validation origins and its history origins from the values
up to each origin; the damped forms on the series seasonally adjusted by Theta's indices (from the values
before the first validation origin, or all of them at the end) as ``damped`` is:

* ``dampedh`` / ``ldampedh``: the damped trend (methods' 84-point grid) with its grid point chosen by the
  in-sample errors of every step 1..h (the trace of the multi-step squared errors: each grid point's
  forecasts of x_t from t - 1, ..., t - h) instead of the one-step errors; the one-step error barely sees
  phi, the multi-step errors are what phi changes. ``l``: on the logarithms of a positive series. The one
  form here the library has no parameter for (:func:`damped_trace_scan`).
* ``dampedlow`` / ``ldampedlow``: the library's damped trend (methods._damped_scan) on the grid with phi in
  {0.8, 0.85, 0.9} (a stronger damping prior).
* ``hwn`` / ``lhwn``: Holt-Winters without a trend, ETS(A,N,A) (on the logarithms, close to ETS(M,N,M)): the
  library's ETS scan (methods._ets_scan) with that member only; seasonal series of at least two seasons and
  one value.
* ``ses``: simple exponential smoothing (ETS(A,N,N), alpha on Theta's grid) on the adjusted series
  (forecast_arima_variants.ses_scan).

The library's ``ets`` and ``lets`` (the ETS member of least AICc, taken) are left out of the pool before the
screen; the pools ``ets+lets``, ``ets`` and ``lets`` put them back (the bases must come from a
forecast_rules.py with them).

The variants do not depend on the network, so one ``trend.pkl`` serves the bases of every seed of a set.
Rows of ``--score`` name a pool, parts joined by ``+``: ``name`` adds a variant, ``-name`` leaves a member
out, ``name>new`` puts ``new`` in the place of ``name``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import forecast_arima_variants as AV  # noqa: E402
import forecast_rules as R  # noqa: E402

from rnntools.tasks.forecast import choose as CH  # noqa: E402
from rnntools.tasks.forecast import methods as M  # noqa: E402


def damped_trace_scan(x: np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
    """(len(origins), h) damped-trend forecasts of x from each origin (methods._damped_scan's recursion,
    start and grid), the grid point chosen by the squared errors of every step 1..h made up to the origin."""
    A, Bt, P = M.DAMPED_ALPHA, M.DAMPED_BETA, M.DAMPED_PHI
    n = len(x)
    l0, b0 = M._damped_init(x)
    level, slope = np.full(len(A), l0), np.full(len(A), b0)
    sse = np.zeros(len(A))
    damp = np.cumsum(P[:, None] ** np.arange(1, h + 1)[None, :], axis=1)     # (grid, h)
    hist_l = np.zeros((h, len(A)))     # the states at t - 1, ..., t - h (ring buffer by t % h)
    hist_b = np.zeros((h, len(A)))
    rows = {}
    for i, o in enumerate(origins):
        rows.setdefault(int(o), []).append(i)
    out = np.empty((len(origins), h))
    for t in range(n):
        if t:
            k = np.arange(1, min(h, t) + 1)                   # forecasts of x_t made at t - k
            slot = (t - k) % h
            sse += ((x[t] - (hist_l[slot] + damp[:, k - 1].T * hist_b[slot])) ** 2).sum(0)
            pred1 = level + P * slope
            err = x[t] - pred1
            level = pred1 + A * err
            slope = P * slope + Bt * err
        hist_l[t % h], hist_b[t % h] = level, slope
        if t in rows:
            j = int(np.argmin(sse)) if t else 0
            out[rows[t]] = level[j] + damp[j] * slope[j]
    return out


def _on(scan, log: bool, adjusted: bool = True, seasonal: bool = False):
    """f(y, origins, h, m, first, end) of a forecasts(x, origins, h, m) ``scan``: on Theta's seasonally
    adjusted series as methods.forecasts runs ``damped`` (``adjusted``), on the logarithms of a positive
    series (``log``; None for any other), for series that Holt-Winters fits only (``seasonal``)."""
    def fn(y, o, h, m, first, end):
        if seasonal and not M._hw_fits(m, len(y)):
            return None
        pos = log and bool(np.all(y > 0))
        if log and not pos:
            return None
        x = np.log(y) if pos else y
        f = (AV.adjusted(lambda z, oo, hh: scan(z, oo, hh, m), x, o, h, m, first, end) if adjusted
             else scan(x, o, h, m))
        return np.exp(f) if pos else f
    return fn


LOW_PHI = M._damped_grid((0.8, 0.85, 0.9))
VARIANTS = {
    "dampedh": _on(lambda x, o, h, m: damped_trace_scan(x, o, h), False),
    "ldampedh": _on(lambda x, o, h, m: damped_trace_scan(x, o, h), True),
    "dampedlow": _on(lambda x, o, h, m: M._damped_scan(x, o, h, LOW_PHI), False),
    "ldampedlow": _on(lambda x, o, h, m: M._damped_scan(x, o, h, LOW_PHI), True),
    "hwn": _on(lambda x, o, h, m: M._ets_scan(x, o, h, m, ("ANA",)), False, adjusted=False, seasonal=True),
    "lhwn": _on(lambda x, o, h, m: M._ets_scan(x, o, h, m, ("ANA",)), True, adjusted=False, seasonal=True),
    "ses": _on(lambda x, o, h, m: AV.ses_scan(x, o, h), False),
}
POOLS = ["", "ets+lets", "ets", "lets", "dampedh", "ldampedh", "dampedh+ldampedh", "damped>dampedh",
         "damped>dampedh+ldamped>ldampedh", "dampedlow+ldampedlow", "damped>dampedlow+ldamped>ldampedlow", "hwn",
         "lhwn", "hwn+lhwn", "ses"]


def pool_of(spec: str, stats: tuple) -> tuple:
    """choose.STATS for a pool spec (module docstring)."""
    pool = list(stats)
    for part in (p for p in spec.split("+") if p):
        if part.startswith("-"):
            pool.remove(part[1:])
        elif ">" in part:
            old, new = part.split(">")
            pool[pool.index(old)] = new
        else:
            pool.append(part)
    return tuple(dict.fromkeys(pool))


def rows_of(data: list[dict], rule=None) -> np.ndarray:
    """Per record: last h?, aside?, MASE, worse than 1.1x the better naive, beats seasonal naive, log MASE
    relative to seasonal naive."""
    rule = rule or R.current
    rows = []
    for d in data:
        meth = rule(d)
        s = R.score(d, meth)
        nv, sn = R.score(d, "naive"), R.score(d, "snaive")
        rows.append((d["fold"] == 1, d["aside"], s, s > 1.1 * min(nv, sn) + 1e-12, s < sn,
                     np.log(max(s / sn, 1e-9)) if sn > 0 else 0.0))
    return np.array(rows, float)


def summary(r: np.ndarray) -> str:
    def part(sel):
        x = r[sel]
        if not len(x):
            return "-"
        return f"{x[:, 2].mean():.4f} g{np.exp(x[:, 5].mean()):.3f} w{int(x[:, 3].sum())} b{int(x[:, 4].sum())}"
    out = f"all {part(r[:, 0] >= 0)} | last {part(r[:, 0] > 0)}"
    if r[:, 1].any():
        out += f" | aside last {part((r[:, 0] > 0) & (r[:, 1] > 0))}"
    return out


def score(data: list[dict], have: dict, pools: list[str]) -> None:
    AV.attach(data, have)
    CH.BASES = (*CH.BASES, *VARIANTS)
    stats = CH.STATS
    base = tuple(k for k in stats if k not in M.ETS)    # the pool before the screen
    for spec in pools:
        CH.STATS = pool_of(spec, base)
        try:
            r = rows_of(data)
        finally:
            CH.STATS = stats
        print(f"{spec or 'before':40s} {summary(r)}", flush=True)


def main():
    args, data, have = AV.cli(__doc__, POOLS)
    if args.score:
        score(data, have, args.pools)
        return
    AV.save(args.variants, AV.variants(data, have, VARIANTS))


if __name__ == "__main__":
    main()
