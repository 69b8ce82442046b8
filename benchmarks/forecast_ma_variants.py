"""The screen of the ARIMA family's moving-average members and an optimised Theta as candidates for the
per-series statistical method S (docs/forecast.md), each added to the pool of choose.STATS (or put in the
place of ``arima``), the rule unchanged.

    # bases.pkl: forecast_rules.py's cache of every base forecast (the networks of --model-cache fixed)
    python benchmarks/forecast_ma_variants.py bases.pkl ma.pkl           # the variants' forecasts
    python benchmarks/forecast_ma_variants.py bases.pkl ma.pkl --score   # the table

Every variant forecasts each record's end, its validation origins and its history origins from the values
up to each origin, in a plain slow form for this screen only:

* ``arma``: ARIMA(p,1,1) without a constant, (p, theta) by AICc, theta on -0.8, -0.6, ..., 0.8 (the grid
  of the vectorised form on the branch forecast-arma-exp; ``armafine`` on -0.9, -0.8, ..., 0.9,
  ``armafour`` the same with p <= 4). For a fixed MA coefficient theta the conditional sum of squares is
  an autoregression's on the filtered differences u_t = w_t - theta u_(t-1) (e = (1 - phi(B))
  (1 + theta B)^-1 w), so every (p, theta) is least squares on running cross-products, as ``arima`` is;
  theta 0 is ``arima`` itself (one parameter fewer).
* ``airline``: ARIMA(0,1,1)(0,1,1)m (Box & Jenkins' airline model), (theta, Theta) on a 19 x 19 grid by
  conditional sum of squares; ``lairline`` the same on the logarithms of a positive series. Seasonal series
  (m >= 2) only; seasonal naive before the origin holds two seasons and two values.
* ``otheta``: Theta with the weight of its line chosen with alpha by one-step squared error (the
  optimised Theta method's idea in the SES-with-drift form: level + (1 - 1/theta) x slope term, theta in
  1..5), on the seasonally adjusted series as ``theta``.

The variants do not depend on the network, so one ``ma.pkl`` serves the bases of every seed of the same
series. ``--speed`` times the batched forms of the methods module (``arma`` where it has one: the branch
forecast-arma-exp).
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

MA_GRID = np.array([0.0, -0.8, -0.6, -0.4, -0.2, 0.2, 0.4, 0.6, 0.8])     # theta 0 first
MA_FINE = np.round(np.arange(-0.9, 0.91, 0.1), 10)


def _ar_ic(G: np.ndarray, N: np.ndarray, extra: int) -> tuple[np.ndarray, np.ndarray]:
    """methods._arima_fit's choice of p (AICc, stationary fits only) with ``extra`` more parameters:
    (coef (U, P), the AICc of the chosen p (U,))."""
    U, P = len(G), G.shape[1] - 1
    best = np.full(U, np.inf)
    coef = np.zeros((U, P))
    Nf = np.maximum(N, 1).astype(np.float64)
    for p in range(P + 1):
        k = p + 1 + extra
        ok = (N - k > 0) & (N >= 4)
        if not ok.any():
            continue
        if p:
            A = G[:, :p, :p]
            c = G[:, :p, P]
            d = np.einsum("uii->u", A) / p
            A = A + (1e-10 * d + (d <= 0))[:, None, None] * np.eye(p)
            b = (np.linalg.pinv(A) @ c[..., None])[..., 0]
            sse = G[:, P, P] - np.einsum("up,up->u", b, c)
        else:
            b, sse = np.zeros((U, 0)), G[:, P, P].copy()
        sse = np.maximum(sse, 1e-300 + 1e-12 * G[:, P, P])
        with np.errstate(divide="ignore", invalid="ignore"):
            ic = Nf * np.log(sse / Nf) + 2 * k + 2 * k * (k + 1) / np.maximum(Nf - k - 1, 1)
        take = ok & np.isfinite(ic) & (ic < best)
        if p and take.any():
            take[take] = M._stationary(b[take])
        best = np.where(take, ic, best)
        coef[take] = 0.0
        coef[take, :p] = b[take]
    return coef, best


def arma_scan(y: np.ndarray, origins: np.ndarray, h: int, pmax: int = M.ARIMA_P, grid=MA_GRID) -> np.ndarray:
    """(len(origins), h) ARIMA(p,1,1) forecasts without a constant, (p, theta) by AICc."""
    y = np.asarray(y, np.float64)
    origins = np.asarray(origins, np.int64)
    n = len(y)
    P = M._arima_order(n)
    P = min(P, pmax)
    w = np.diff(y)
    nw = len(w)
    rows = np.arange(P, nw)
    best_ic = np.full(len(origins), np.inf)
    best = [None] * len(origins)
    for theta in grid:
        u = w.copy()
        for t in range(1, nw):
            u[t] = w[t] - theta * u[t - 1]
        Z = np.empty((len(rows), P + 1))
        for j in range(P):
            Z[:, j] = u[rows - 1 - j]
        Z[:, P] = u[rows]
        C = np.cumsum(Z[:, :, None] * Z[:, None, :], axis=0)
        N = np.clip(origins - P, 0, len(rows))
        G = np.zeros((len(origins), P + 1, P + 1))
        has = N > 0
        G[has] = C[N[has] - 1]
        coef, ic = _ar_ic(G, N, 0 if theta == 0 else 1)
        for i in np.nonzero(ic < best_ic)[0]:
            best_ic[i] = ic[i]
            best[i] = (theta, coef[i], u)
    out = np.empty((len(origins), h))
    for i, o in enumerate(origins):
        if best[i] is None or o < 1:
            out[i] = y[o]
            continue
        theta, coef, u = best[i]
        hist = list(u[max(0, o - P):o][::-1]) + [0.0] * P       # most recent first (u index o - 1 first)
        hist = hist[:P] if P else []
        prev_u = u[o - 1]
        level = y[o]
        for k in range(h):
            uk = float(np.dot(coef, hist)) if P else 0.0
            level += uk + theta * prev_u
            out[i, k] = level
            prev_u = uk
            if P:
                hist = [uk] + hist[:-1]
    return out


AIRLINE_GRID = np.array([(a, b) for a in MA_FINE for b in MA_FINE])


def airline_scan(y: np.ndarray, origins: np.ndarray, h: int, m: int) -> np.ndarray:
    """(len(origins), h) ARIMA(0,1,1)(0,1,1)m forecasts, (theta, Theta) of least conditional sum of squares up
    to each origin; seasonal naive where fewer than 2m + 2 values are known."""
    y = np.asarray(y, np.float64)
    origins = np.asarray(origins, np.int64)
    n = len(y)
    th, TH = AIRLINE_GRID[:, 0], AIRLINE_GRID[:, 1]
    W = y[m + 1:] - y[m:-1] - y[1:n - m] + y[:n - m - 1]        # W[j] belongs to y[j + m + 1]
    nW = len(W)
    E = np.zeros((nW, len(th)))
    for j in range(nW):
        e = W[j] - (th * E[j - 1] if j >= 1 else 0) - (TH * E[j - m] if j >= m else 0) \
            - (th * TH * E[j - m - 1] if j >= m + 1 else 0)
        E[j] = e
    sse = np.cumsum(E * E, axis=0)
    out = np.empty((len(origins), h))
    for i, o in enumerate(origins):
        last = o - m - 1                  # the last W index known at origin o
        if o < 2 * m + 1 or last < 1:
            back = (np.arange(h) % m) - m + 1
            out[i] = y[np.clip(o + back, 0, None)]
            continue
        g = int(np.argmin(sse[last]))
        a, b = th[g], TH[g]
        e = list(E[:last + 1, g]) + [0.0] * h
        buf = list(y[:o + 1])
        for k in range(1, h + 1):
            j = last + k
            wk = a * e[j - 1] + (b * e[j - m] if j >= m else 0) + (a * b * e[j - m - 1] if j >= m + 1 else 0)
            buf.append(buf[-1] + buf[-m] - buf[-m - 1] + wk)
        out[i] = buf[o + 1:]
    return out


OTHETA = np.array([1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0])


def otheta_scan(x: np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
    """Theta in the SES-with-drift form, level + (1 - 1/theta) b (k + (1 - (1 - a)^n) / a), with (alpha, theta)
    of least one-step squared error up to each origin (b the least-squares slope up to each step)."""
    x = np.asarray(x, np.float64)
    n = len(x)
    A = M.ALPHAS[:, None]
    c = (1 - 1 / OTHETA)[None, :]
    level = np.full((len(M.ALPHAS), 1), x[0])
    sse = np.zeros((len(M.ALPHAS), len(OTHETA)))
    t = np.arange(n, dtype=float)
    st, stt, sx, stx = np.cumsum(t), np.cumsum(t * t), np.cumsum(x), np.cumsum(t * x)
    rows: dict[int, list] = {}
    for i, o in enumerate(origins):
        rows.setdefault(int(o), []).append(i)
    k = np.arange(h, dtype=float)
    out = np.empty((len(origins), h))
    for i in range(n):
        cnt = i + 1
        den = cnt * stt[i] - st[i] ** 2
        b = (cnt * stx[i] - st[i] * sx[i]) / den if den > 0 else 0.0
        if i in rows:
            if i:
                ja, jt = np.unravel_index(int(np.argmin(sse)), sse.shape)
            else:
                ja, jt = len(M.ALPHAS) - 1, 2
            a = M.ALPHAS[ja]
            out[rows[i]] = level[ja, 0] + c[0, jt] * b * (k + (1 - (1 - a) ** cnt) / a)
        if i + 1 < n:
            pred = level + c * b * ((1 - (1 - A) ** cnt) / A)   # one step ahead from i
            err = x[i + 1] - pred
            if i >= 2:
                sse += err * err
            level = level + A * (x[i + 1] - level)
    return out


def _seasonal_only(fn):
    return lambda y, o, h, m, first, end: fn(y, o, h, m) if m >= 2 else None


VARIANTS = {
    "arma": lambda y, o, h, m, first, end: arma_scan(y, o, h),
    "armafine": lambda y, o, h, m, first, end: arma_scan(y, o, h, grid=MA_FINE),
    "armafour": lambda y, o, h, m, first, end: arma_scan(y, o, h, pmax=4, grid=MA_FINE),
    "airline": _seasonal_only(airline_scan),
    "lairline": _seasonal_only(lambda y, o, h, m: AV._logs(airline_scan, y, o, h, m)),
    "otheta": lambda y, o, h, m, first, end: AV.adjusted(otheta_scan, y, o, h, m, first, end),
}
POOLS = ["", "arma", "-arima+arma", "armafine", "-arima+armafine", "armafour", "airline", "lairline",
         "airline+lairline", "otheta"]


def score(data: list[dict], have: dict, pools: list[str]) -> None:
    AV.attach(data, have)
    # the pool without a methods-module ``arma`` (the branch forecast-arma-exp has one): what each variant
    # is added to
    stats = CH.STATS
    CH.STATS = tuple(s for s in stats if s != "arma")
    CH.BASES = (*CH.BASES, *VARIANTS)
    simple = [(R.score(d, "naive"), R.score(d, "snaive")) for d in data]
    print(f"{'pool':20s} {'4 orig':>6s} {'aside':>6s} {'worse':>5s} {'beat':>5s} | {'last h':>6s} "
          f"{'aside':>6s} {'worse':>5s} {'beat':>5s} {'geo':>6s} {'geo as':>6s} | S")
    for pool in pools:
        parts = [p for p in pool.replace("-", "+-").split("+") if p]
        drop = [p[1:] for p in parts if p.startswith("-")]
        extra = [p for p in parts if not p.startswith("-")]
        CH.STATS = (*(s for s in stats if s not in drop and s != "arma"), *extra)
        rows, n_s = [], 0
        for d, (nv, sn) in zip(data, simple):
            meth = R.current(d)
            n_s += any(e in CH.bases_of(meth) for e in extra)
            s = R.score(d, meth)
            rel = s / sn if sn > 0 else 1.0
            rows.append((d["fold"] == 1, d["aside"], s, s > 1.1 * min(nv, sn) + 1e-12, s < sn,
                         np.log(max(rel, 1e-9))))
        r = np.array(rows, float)

        def part(sel, r=r):
            x = r[sel]
            return (f"{x[:, 2].mean():6.3f}" if len(x) else f"{'-':>6s}", int(x[:, 3].sum()), int(x[:, 4].sum()),
                    f"{np.exp(x[:, 5].mean()):6.3f}" if len(x) else f"{'-':>6s}")
        al, asd, la, lasd = (part(r[:, 0] >= 0), part(r[:, 1] > 0), part(r[:, 0] > 0),
                             part((r[:, 0] > 0) & (r[:, 1] > 0)))
        print(f"{pool or 'before':20s} {al[0]} {asd[0]} {al[1]:5d} {al[2]:5d} | {la[0]} {lasd[0]} {la[1]:5d} "
              f"{la[2]:5d} {la[3]} {lasd[3]} | {n_s}", flush=True)
    CH.STATS = stats


def speed(reps: int = 5) -> None:
    """CPU seconds of methods.forecast_batch from the end of 10,000 random walks of 200 values (horizon 18),
    per method, medians of ``reps`` in this one warm process (after one untimed call each), and of every
    history origin of one 144-value series (CH.history_origins; methods.forecasts)."""
    import time

    import isa

    print(isa.report(torch_side=False))
    Y = np.cumsum(np.random.default_rng(0).normal(size=(10_000, 200)), 1) + 100
    y = Y[0, :144]
    ho = CH.history_origins(len(y), 18, 12)
    names = [k for k in ("arima", "arma", "theta", "damped") if k in (*M.METHODS, *M.ARIMA)]
    for name in names:
        M.forecast_batch(name, Y[:64], 18, 12)
    for name in names:
        t = []
        for _ in range(reps):
            c = time.process_time()
            M.forecast_batch(name, Y, 18, 12)
            t.append(time.process_time() - c)
        o = []
        for _ in range(reps):
            c = time.process_time()
            M.forecasts(name, y, ho, 18, 12)
            o.append(time.process_time() - c)
        print(f"{name:8s} 10,000 series from the end: {np.median(t):.3f} s CPU ({min(t):.3f}-{max(t):.3f}); "
              f"{len(ho)} history origins of one 144-value series: {1000 * np.median(o):.1f} ms", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bases", nargs="?", help="forecast_rules.py's --bases cache")
    ap.add_argument("variants", nargs="?", help="this script's cache of the variants' forecasts (pickle, its own)")
    ap.add_argument("--speed", action="store_true", help="time the methods' batched forecasts instead")
    ap.add_argument("--score", action="store_true", help="score the pools (else compute the variants)")
    ap.add_argument("--pools", type=lambda s: s.split(","), default=POOLS,
                    help="comma-separated pools: variant names joined by +, -name leaves a method of today's "
                         "pool out ('' : today's pool)")
    args = ap.parse_args()
    if args.speed:
        speed()
        return
    data, have = AV.load(args.bases, args.variants)
    if args.score:
        score(data, have, args.pools)
        return
    AV.VARIANTS = VARIANTS
    have = AV.variants(data, have)
    with open(args.variants, "wb") as f:
        pickle.dump(have, f)


if __name__ == "__main__":
    main()
