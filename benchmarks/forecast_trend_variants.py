"""The screen behind docs/forecast.md's "Trend and level variants for the failing kinds": forms of the damped
trend and of Holt-Winters that forecast the kinds the defaults lose on (trending quarterly series whose
last h turned; monthly seasonal series whose level moved), each added to the pool S is chosen from (or put
in the place of a member), the rule unchanged.

    # b.pkl: forecast_rules.py's cache of every base forecast of a set (the networks of --model-cache fixed)
    python benchmarks/forecast_trend_variants.py b.pkl trend.pkl            # the variants' forecasts
    python benchmarks/forecast_trend_variants.py b.pkl trend.pkl --score    # the table (and b2.pkl: seed 2)

Every variant forecasts each record's end, its validation origins and its history origins from the values
up to each origin (plain numpy scans, for this screen only), on the series seasonally adjusted by Theta's
indices (from the values before the first validation origin, or all of them at the end) as ``damped`` is:

* ``dampedh`` / ``ldampedh``: the damped trend (methods' 84-point grid) with its grid point chosen by the
  in-sample errors of every step 1..h (the trace of the multi-step squared errors: each grid point's
  forecasts of x_t from t - 1, ..., t - h) instead of the one-step errors; the one-step error barely sees
  phi, the multi-step errors are what phi changes. ``l``: on the logarithms of a positive series.
* ``dampedlow`` / ``ldampedlow``: the damped trend with phi in {0.8, 0.85, 0.9} (a stronger damping prior).
* ``hwn`` / ``lhwn``: Holt-Winters without a trend (ETS(A,N,A); on the logarithms, close to ETS(M,N,M)):
  a level and seasonal states that keep learning, (alpha, gamma) on a 7 x 5 grid by one-step squared error
  from the third season on; seasonal series of at least two seasons and one value.
* ``ses``: simple exponential smoothing (ETS(A,N,N), alpha on Theta's grid) on the adjusted series.
* ``aets`` / ``laets``: the ETS member of least AICc at each origin (auto-ETS's choice on these grids):
  ETS(A,N,N), ETS(A,Ad,N), and for seasonal series ETS(A,N,A) and ETS(A,Ad,A), on the series as it is (on
  its logarithms for ``laets``). Taken: the library's ``ets`` and ``lets`` (methods._ets_scan) are these.

The variants do not depend on the network, so one ``trend.pkl`` serves the bases of every seed of a set.
Rows of ``--score`` name a pool, parts joined by ``+``: ``name`` adds a variant, ``-name`` leaves a member
out, ``name>new`` puts ``new`` in the place of ``name``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import forecast_arima_variants as AV  # noqa: E402
import forecast_rules as R  # noqa: E402

from rnntools.tasks.forecast import choose as CH  # noqa: E402
from rnntools.tasks.forecast import methods as M  # noqa: E402


def damped_scan(x: np.ndarray, origins: np.ndarray, h: int, phis=None, trace: bool = False) -> np.ndarray:
    """(len(origins), h) damped-trend forecasts of x from each origin (methods._damped_scan's recursion and
    start), the grid point chosen by one-step squared error, or (``trace``) by the squared errors of every
    step 1..h made up to the origin; ``phis``: the phi values of the grid kept."""
    A, Bt, P = M.DAMPED_ALPHA, M.DAMPED_BETA, M.DAMPED_PHI
    if phis is not None:
        a, f, p = np.meshgrid([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9], [0.02, 0.1, 0.3], phis, indexing="ij")
        A, Bt, P = a.ravel(), (a * f).ravel(), p.ravel()
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
            if trace:
                k = np.arange(1, min(h, t) + 1)                   # forecasts of x_t made at t - k
                slot = (t - k) % h
                pred = hist_l[slot] + damp[:, k - 1].T * hist_b[slot]
                sse += ((x[t] - pred) ** 2).sum(0)
            pred1 = level + P * slope
            err = x[t] - pred1
            if not trace:
                sse += err * err
            level = pred1 + A * err
            slope = P * slope + Bt * err
        hist_l[t % h], hist_b[t % h] = level, slope
        if t in rows:
            j = int(np.argmin(sse)) if t else 0
            out[rows[t]] = level[j] + damp[j] * slope[j]
    return out


def _hwn_grid():
    a, g = np.meshgrid([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9], [0.01, 0.05, 0.1, 0.2, 0.3], indexing="ij")
    a, g = a.ravel(), g.ravel()
    keep = g <= 1 - a + 1e-9
    return a[keep], g[keep]


def hwn_scan(x: np.ndarray, origins: np.ndarray, h: int, m: int) -> np.ndarray:
    """(len(origins), h) Holt-Winters forecasts without a trend (ETS(A,N,A)) of x (n >= 2m + 1) from each
    origin: methods._hw_scan's start and error count without its slope."""
    A, G = _hwn_grid()
    n = len(x)
    c1 = x[:m].mean()
    level = np.full(len(A), c1)
    season = np.tile(x[:m] - c1, (len(A), 1))
    sse = np.zeros(len(A))
    rows = {}
    for i, o in enumerate(origins):
        rows.setdefault(int(o), []).append(i)
    out = np.empty((len(origins), h))
    steps = np.arange(1, h + 1)
    for o in rows:
        if o < m:
            out[rows[o]] = x[o]
    for t in range(m, n):
        ph = t % m
        e = x[t] - (level + season[:, ph])
        if t >= 2 * m:
            sse += e * e
        level = level + A * e
        season[:, ph] += G * e
        if t in rows:
            j = int(np.argmin(sse))
            out[rows[t]] = level[j] + season[j, (t + steps) % m]
    return out


def _adjusted(scan, log: bool):
    """f(y, origins, h, m, first, end): ``scan`` on Theta's seasonally adjusted series (of log y for a
    positive series when ``log``), as methods.forecasts runs ``damped``."""
    def fn(y, o, h, m, first, end):
        pos = log and bool(np.all(y > 0))
        if log and not pos:
            return None
        x = np.log(y) if pos else y
        f = AV.adjusted(scan, x, o, h, m, first, end)
        return np.exp(f) if pos else f
    return fn


def _hwn(log: bool):
    def fn(y, o, h, m, first, end):
        if not M._hw_fits(m, len(y)):
            return None
        pos = log and bool(np.all(y > 0))
        if log and not pos:
            return None
        x = np.log(y) if pos else y
        f = hwn_scan(x, o, h, m)
        return np.exp(f) if pos else f
    return fn


def aets_scan(x: np.ndarray, origins: np.ndarray, h: int, m: int) -> np.ndarray:
    """(len(origins), h) forecasts of the ETS family member with the lowest AICc at each origin (auto-ETS's
    choice, on this module's grids instead of maximum likelihood): ETS(A,N,N) (SES, Theta's alpha grid),
    ETS(A,Ad,N) (the damped trend's grid), and for m > 1 with two seasons and one value ETS(A,N,A) and
    ETS(A,Ad,A) (Holt-Winters' grids); each member's grid point by one-step squared error, the errors of
    every member counted from the same step (the third season, or the third value), AICc = N log(SSE / N)
    + 2k + 2k(k + 1) / (N - k - 1) with k the smoothing parameters and the initial states."""
    n = len(x)
    seasonal = m > 1 and n >= 2 * m + 1
    t0 = 2 * m if seasonal else 2
    # ANN
    A1 = M.ALPHAS
    l1, s1 = np.full(len(A1), x[0]), np.zeros(len(A1))
    # AAdN
    A2, B2, P2 = M.DAMPED_ALPHA, M.DAMPED_BETA, M.DAMPED_PHI
    i0, j0 = M._damped_init(x)
    l2, b2, s2 = np.full(len(A2), i0), np.full(len(A2), j0), np.zeros(len(A2))
    d2 = np.cumsum(P2[:, None] ** np.arange(1, h + 1)[None, :], axis=1)
    if seasonal:
        A3, G3 = _hwn_grid()
        c1, c2 = x[:m].mean(), x[m:2 * m].mean()
        l3, st3, s3 = np.full(len(A3), c1), np.tile(x[:m] - c1, (len(A3), 1)), np.zeros(len(A3))
        A4, B4, P4, G4 = M.HW_ALPHA, M.HW_BETA, M.HW_PHI, M.HW_GAMMA
        b4 = np.full(len(A4), (c2 - c1) / m)
        l4, st4, s4 = c1 + b4 * (m - 1) / 2, np.tile(x[:m] - c1, (len(A4), 1)), np.zeros(len(A4))
        d4 = M._hw_damp(h)
    rows = {}
    for i, o in enumerate(origins):
        rows.setdefault(int(o), []).append(i)
    out = np.empty((len(origins), h))
    steps = np.arange(1, h + 1)
    for t in range(n):
        if t:
            e1 = x[t] - l1
            l1 = l1 + A1 * e1
            p2 = l2 + P2 * b2
            e2 = x[t] - p2
            l2 = p2 + A2 * e2
            b2 = P2 * b2 + B2 * e2
            if t >= t0:
                s1 += e1 * e1
                s2 += e2 * e2
        if seasonal and t >= m:
            ph = t % m
            e3 = x[t] - (l3 + st3[:, ph])
            l3 = l3 + A3 * e3
            st3[:, ph] += G3 * e3
            e4 = x[t] - (l4 + P4 * b4 + st4[:, ph])
            l4 = l4 + P4 * b4 + A4 * e4
            b4 = P4 * b4 + B4 * e4
            st4[:, ph] += G4 * e4
            if t >= t0:
                s3 += e3 * e3
                s4 += e4 * e4
        if t not in rows:
            continue
        N = t - t0 + 1
        cands = []
        if N >= 4:
            def ic(sse, k, N=N):
                return M._aicc(sse, N, k)
            j = int(np.argmin(s1))
            cands.append((ic(s1[j], 2), l1[j] + 0 * steps))
            j = int(np.argmin(s2))
            cands.append((ic(s2[j], 5), l2[j] + d2[j] * b2[j]))
            if seasonal and t >= 2 * m:
                j = int(np.argmin(s3))
                cands.append((ic(s3[j], m + 2), l3[j] + st3[j, (t + steps) % m]))
                j = int(np.argmin(s4))
                cands.append((ic(s4[j], m + 5), l4[j] + d4[j] * b4[j] + st4[j, (t + steps) % m]))
        out[rows[t]] = min(cands, key=lambda c: c[0])[1] if cands else x[t]
    return out


def _aets(log: bool):
    def fn(y, o, h, m, first, end):
        pos = log and bool(np.all(y > 0))
        if log and not pos:
            return None
        x = np.log(y) if pos else y
        f = aets_scan(x, o, h, m)
        return np.exp(f) if pos else f
    return fn


VARIANTS = {
    "dampedh": _adjusted(lambda x, o, h: damped_scan(x, o, h, trace=True), False),
    "ldampedh": _adjusted(lambda x, o, h: damped_scan(x, o, h, trace=True), True),
    "dampedlow": _adjusted(lambda x, o, h: damped_scan(x, o, h, phis=[0.8, 0.85, 0.9]), False),
    "ldampedlow": _adjusted(lambda x, o, h: damped_scan(x, o, h, phis=[0.8, 0.85, 0.9]), True),
    "hwn": _hwn(False),
    "lhwn": _hwn(True),
    "ses": _adjusted(lambda x, o, h: AV.ses_scan(x, o, h), False),
    "aets": _aets(False),
    "laets": _aets(True),
}
POOLS = ["", "aets+laets", "aets", "laets", "dampedh", "ldampedh", "dampedh+ldampedh", "damped>dampedh",
         "damped>dampedh+ldamped>ldampedh", "dampedlow+ldampedlow", "damped>dampedlow+ldamped>ldampedlow", "hwn",
         "lhwn", "hwn+lhwn", "ses"]


def variants(data: list[dict], have: dict) -> dict:
    for d in data:
        rec = have.setdefault((d["name"], d["fold"]), {})
        y, h, m = d["tr"], d["h"], d["m"]
        first = int(d["vo"].min()) if len(d["vo"]) else len(y) - 1
        for name, fn in VARIANTS.items():
            if name in rec:
                continue
            fin = fn(y, np.array([len(y) - 1]), h, m, first, True)
            rec[name] = None if fin is None else dict(
                fin=fin[0], fval=fn(y, d["vo"], h, m, first, False) if len(d["vo"]) else None,
                fhist=fn(y, d["ho"], h, m, first, False) if len(d["ho"]) else None)
        print(d["name"], d["fold"], flush=True)
    return have


def attach(data: list[dict], have: dict) -> None:
    for d in data:
        for name, v in have.get((d["name"], d["fold"]), {}).items():
            if v is None:
                continue
            d["fin"][name] = v["fin"]
            if v["fval"] is not None and d["fval"]:
                d["fval"][name] = v["fval"]
            if v["fhist"] is not None and d["fhist"]:
                d["fhist"][name] = v["fhist"]


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


def score(data: list[dict], have: dict, pools: list[str], skip=()) -> None:
    attach(data, have)
    data = [d for d in data if d["name"] not in skip]
    CH.BASES = (*CH.BASES, *VARIANTS)
    stats = CH.STATS
    # the pool before the screen: without the library's ``ets`` and ``lets`` (their forms here are ``aets``
    # and ``laets``, the same numbers: tests/test_forecast_methods.py holds the library's to its definition)
    base = tuple(k for k in stats if k not in M.ETS)
    for spec in pools:
        CH.STATS = pool_of(spec, base)
        try:
            r = rows_of(data)
        finally:
            CH.STATS = stats
        print(f"{spec or 'before':40s} {summary(r)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bases", help="forecast_rules.py's --bases cache")
    ap.add_argument("variants", help="this script's cache of the variants' forecasts (pickle, its own)")
    ap.add_argument("--score", action="store_true", help="score the pools (else compute the variants)")
    ap.add_argument("--pools", type=lambda s: s.split(","), default=POOLS)
    ap.add_argument("--skip", type=lambda s: s.split(","), default=[], help="series left out of the scores")
    args = ap.parse_args()
    data, have = AV.load(args.bases, args.variants)
    if args.score:
        score(data, have, args.pools, args.skip)
        return
    have = variants(data, have)
    with open(args.variants, "wb") as f:
        pickle.dump(have, f)


if __name__ == "__main__":
    main()
