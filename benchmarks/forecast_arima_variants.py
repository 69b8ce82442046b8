"""The screen behind the ``arima`` candidate (docs/forecast.md): members of the ARIMA family and two ETS
members, each added alone (or in pairs) to the pool S is chosen from, the rule unchanged.

    # bases.pkl: forecast_rules.py's cache of every base forecast (the networks of --model-cache fixed)
    python benchmarks/forecast_arima_variants.py bases.pkl variants.pkl           # the variants' forecasts
    python benchmarks/forecast_arima_variants.py bases.pkl variants.pkl --score   # the table

Every variant forecasts each record's end, its validation origins and its history origins from the values
up to each origin (autoregressions by least squares on running cross-products: a plain, slow form, for
this screen only; the kept form is methods._arima_scan). The variants do not depend on the network, so
one ``variants.pkl`` serves the bases of every seed of the same series. ``arima`` itself is left out of
every pool here, so "nothing" is the rule before it.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import forecast_rules as R  # noqa: E402

from rnntools.tasks.forecast import choose as CH  # noqa: E402
from rnntools.tasks.forecast import methods as M  # noqa: E402


def _integrate(hist: np.ndarray, f: np.ndarray, lag: int) -> np.ndarray:
    buf = list(hist[-lag:])
    for v in f:
        buf.append(buf[-lag] + v)
    return np.array(buf[lag:])


def ar_scan(x, origins, h, d=0, D=0, m=1, const=True, pmax=8, crit="aicc"):
    """ARIMA(p,d,0)(0,D,0)_m (+ a constant) by conditional least squares, p in 0..pmax by AICc (or BIC) on one
    sample for every p, fitted on x[:o + 1] for each origin o: (len(origins), h)."""
    x = np.asarray(x, float)
    zs, z = [x], x
    for _ in range(D):
        z = z[m:] - z[:-m]
        zs.append(z)
    for _ in range(d):
        z = z[1:] - z[:-1]
        zs.append(z)
    off = len(x) - len(z)
    mu = z.mean() if const and len(z) else 0.0
    w = z - mu                     # a constant shift changes no fit that has a constant
    P = pmax if len(w) > pmax + 3 else max(0, len(w) - 4)
    T = np.arange(P, len(w))
    Z = np.stack([np.ones(len(T)), *(w[T - j] for j in range(1, P + 1)), w[T]], 1)
    C = np.cumsum(Z[:, :, None] * Z[:, None, :], axis=0)
    lags = [m] * D + [1] * d
    out = np.empty((len(origins), h))
    for i, o in enumerate(origins):
        last = int(o) - off
        N = last - P + 1
        best = (np.inf, 0, np.zeros(int(const)))
        for p in range(P + 1) if N >= 4 else ():
            cols = ([0] if const else []) + list(range(1, p + 1))
            k = len(cols)
            if k and N - k - 1 <= 0:
                continue
            Cr = C[N - 1]
            b = np.zeros(0)
            sse = Cr[-1, -1]
            if k:
                A = Cr[np.ix_(cols, cols)]
                c = Cr[cols, -1]
                b = np.linalg.solve(A + 1e-10 * np.trace(A) / k * np.eye(k), c)
                sse = Cr[-1, -1] - b @ c
            sse = max(sse, 1e-300)
            pen = np.log(N) * (k + 1) if crit == "bic" else 2 * (k + 1) + 2 * (k + 1) * (k + 2) / max(N - k - 2, 1)
            ic = N * np.log(sse / N) + pen
            if ic < best[0]:
                best = (ic, p, b)
        _, p, b = best
        c0, coef = (b[0], b[1:]) if const else (0.0, b)
        hist = list(w[:last + 1])
        for _ in range(h):
            hist.append(c0 + sum(coef[j] * hist[-1 - j] for j in range(p)))
        f = np.array(hist[last + 1:]) + mu
        for level in range(len(lags) - 1, -1, -1):
            f = _integrate(zs[level][:int(o) + 1 - (len(x) - len(zs[level]))], f, lags[level])
        out[i] = f
    return out


def ses_scan(x, origins, h, theta=1.0):
    """SES (theta 1) or Theta with its line weighted theta (Theta's form: level + (1 - 1/theta) x slope term),
    alpha on Theta's grid by one-step squared error."""
    A = M.ALPHAS
    level, sse = np.full(len(A), x[0]), np.zeros(len(A))
    rows: dict[int, list] = {}
    for i, o in enumerate(origins):
        rows.setdefault(int(o), []).append(i)
    t = np.arange(len(x), dtype=float)
    st, stt, sx, stx = np.cumsum(t), np.cumsum(t * t), np.cumsum(x), np.cumsum(t * x)
    k = np.arange(h, dtype=float)
    out = np.empty((len(origins), h))
    for i in range(len(x)):
        if i:
            err = x[i] - level
            sse += err * err
            level = level + A * err
        if i in rows:
            j = int(np.argmin(sse)) if i else len(A) - 1
            a, cnt = A[j], i + 1
            den = cnt * stt[i] - st[i] ** 2
            b = (cnt * stx[i] - st[i] * sx[i]) / den if den > 0 else 0.0
            out[rows[i]] = level[j] + (1 - 1 / theta) * b * (k + (1 - (1 - a) ** cnt) / a)
    return out


def adjusted(scan, y, origins, h, season, first, end, **kw):
    """``scan`` on the seasonally adjusted series (Theta's indices, from y[:first + 1], or all of y at the end)."""
    ix = M.seasonal_indices(y if end else y[:first + 1], season) if season > 1 else None
    if ix is None:
        return scan(y, origins, h, **kw)
    idx, mult = ix
    s = idx[np.arange(len(y)) % season]
    f = scan(y / s if mult else y - s, origins, h, **kw)
    future = idx[(np.asarray(origins)[:, None] + np.arange(1, h + 1)[None, :]) % season]
    return f * future if mult else f + future


def _logs(scan, y, *a, **kw):
    pos = bool(np.all(y > 0))
    f = scan(np.log(y) if pos else y, *a, **kw)
    return np.exp(f) if pos else f


def _seasonal_only(fn):
    return lambda y, o, h, m, first, end: fn(y, o, h, m, first, end) if 2 <= m <= 13 else None


# name -> f(y, origins, h, m, first, end) (names in lower-case letters: method strings' alphabet)
VARIANTS = {
    "arvalues": lambda y, o, h, m, first, end: ar_scan(y, o, h, 0, 0, m, True, max(8, m) if m <= 13 else 8),
    "ardrift": lambda y, o, h, m, first, end: ar_scan(y, o, h, 1, 0, m, True, 8),
    "ardriftlog": lambda y, o, h, m, first, end: _logs(ar_scan, y, o, h, 1, 0, m, True, 8),
    "ardriftadj": lambda y, o, h, m, first, end: adjusted(ar_scan, y, o, h, m, first, end, d=1, m=m, pmax=8),
    "ardiff": lambda y, o, h, m, first, end: ar_scan(y, o, h, 1, 0, m, False, 8),
    "ardifffour": lambda y, o, h, m, first, end: ar_scan(y, o, h, 1, 0, m, False, 4),
    "ardifftwelve": lambda y, o, h, m, first, end: ar_scan(y, o, h, 1, 0, m, False, 12),
    "ardiffbic": lambda y, o, h, m, first, end: ar_scan(y, o, h, 1, 0, m, False, 8, "bic"),
    "ardifflog": lambda y, o, h, m, first, end: _logs(ar_scan, y, o, h, 1, 0, m, False, 8),
    "ardiffadj": lambda y, o, h, m, first, end: adjusted(ar_scan, y, o, h, m, first, end, d=1, m=m, const=False),
    "arseasonal": _seasonal_only(lambda y, o, h, m, first, end: ar_scan(y, o, h, 0, 1, m, True, 8)),
    "arboth": _seasonal_only(lambda y, o, h, m, first, end: ar_scan(y, o, h, 1, 1, m, False, 8)),
    "arbothlog": _seasonal_only(lambda y, o, h, m, first, end: _logs(ar_scan, y, o, h, 1, 1, m, False, 8)),
    "ses": lambda y, o, h, m, first, end: adjusted(ses_scan, y, o, h, m, first, end),
    "thetathree": lambda y, o, h, m, first, end: adjusted(ses_scan, y, o, h, m, first, end, theta=3.0),
}
POOLS = ["", *VARIANTS, "ardiff+ses", "ardiff+arseasonal", "ardiff+ardifflog", "ardiff+ardriftadj"]


def variants(data: list[dict], have: dict, table: dict | None = None) -> dict:
    """The forecasts of every variant of ``table`` (this script's VARIANTS) not in ``have`` yet, per record:
    from its end, its validation origins and its history origins."""
    for d in data:
        rec = have.setdefault((d["name"], d["fold"]), {})
        y, h, m = d["tr"], d["h"], d["m"]
        first = int(d["vo"].min()) if len(d["vo"]) else len(y) - 1
        for name, fn in (table or VARIANTS).items():
            if name in rec:
                continue
            fin = fn(y, np.array([len(y) - 1]), h, m, first, True)
            rec[name] = None if fin is None else dict(
                fin=fin[0], fval=fn(y, d["vo"], h, m, first, False) if len(d["vo"]) else None,
                fhist=fn(y, d["ho"], h, m, first, False) if len(d["ho"]) else None)
        print(d["name"], d["fold"], flush=True)
    return have


def attach(data: list[dict], have: dict) -> None:
    """Put the variants' forecasts (this script's cache) beside the base forecasts of every record."""
    for d in data:
        for name, v in have.get((d["name"], d["fold"]), {}).items():
            if v is None:
                continue
            d["fin"][name] = v["fin"]
            if v["fval"] is not None and d["fval"]:
                d["fval"][name] = v["fval"]
            if v["fhist"] is not None and d["fhist"]:
                d["fhist"][name] = v["fhist"]


def cli(doc: str, pools: list[str]) -> tuple:
    """The screens' command line (this one and forecast_trend_variants.py): (args, forecast_rules.py's
    records, the variants' cache or {})."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bases", help="forecast_rules.py's --bases cache")
    ap.add_argument("variants", help="this script's cache of the variants' forecasts (pickle, its own)")
    ap.add_argument("--score", action="store_true", help="score the pools (else compute the variants)")
    ap.add_argument("--pools", type=lambda s: s.split(","), default=pools,
                    help="comma-separated pools, each variant names joined by + ('' : nothing added)")
    ap.add_argument("--skip", type=lambda s: s.split(","), default=[], help="series left out of the scores")
    args = ap.parse_args()
    with open(args.bases, "rb") as f:
        data = pickle.load(f)
    have = {}
    if os.path.exists(args.variants):
        with open(args.variants, "rb") as f:
            have = pickle.load(f)
    return args, [d for d in data if d["name"] not in args.skip], have


def save(path: str, have: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(have, f)


def score(data: list[dict], have: dict, pools: list[str]) -> None:
    attach(data, have)
    base = tuple(k for k in CH.STATS if k not in M.ARIMA)
    CH.BASES = (*CH.BASES, *VARIANTS)
    simple = [(R.score(d, "naive"), R.score(d, "snaive")) for d in data]
    print(f"{'added to the pool':24s} {'4 orig':>6s} {'aside':>6s} {'worse':>5s} {'beat':>5s} | {'last h':>6s} "
          f"{'aside':>6s} {'worse':>5s} {'beat':>5s} | S")
    for pool in pools:
        extra = pool.split("+") if pool else []
        CH.STATS = (*base, *extra)
        rows, n_s = [], 0
        for d, (nv, sn) in zip(data, simple):
            meth = R.current(d)
            n_s += any(e in CH.bases_of(meth) for e in extra)
            s = R.score(d, meth)
            rows.append((d["fold"] == 1, d["aside"], s, s > 1.1 * min(nv, sn) + 1e-12, s < sn))
        r = np.array(rows, float)

        def part(sel, r=r):
            x = r[sel]
            return f"{x[:, 2].mean():6.3f}" if len(x) else f"{'-':>6s}", int(x[:, 3].sum()), int(x[:, 4].sum())
        al, asd, la, lasd = (part(r[:, 0] >= 0), part(r[:, 1] > 0), part(r[:, 0] > 0),
                             part((r[:, 0] > 0) & (r[:, 1] > 0)))
        print(f"{pool or 'nothing':24s} {al[0]} {asd[0]} {al[1]:5d} {al[2]:5d} | {la[0]} {lasd[0]} {la[1]:5d} "
              f"{la[2]:5d} | {n_s}", flush=True)


def main():
    args, data, have = cli(__doc__, POOLS)
    if args.score:
        score(data, have, args.pools)
        return
    save(args.variants, variants(data, have))


if __name__ == "__main__":
    main()
