"""Short series: the forecaster's rule for series too short to hold out validation origins, scored on
windows cut from real series (no network needed: such a series is forecast by its statistical method S
alone, chosen on history origins with one season before them).

    python benchmarks/forecast_short_series.py --stress /tmp/stress            # every rule, every set
    python benchmarks/forecast_short_series.py --stress /tmp/stress --rules 'current;library: choose.pick_short' \
        --intervals full 'partial sqrt' library

From every series of the benchmark (datasets.forecast_series(): the 40, the HELD_ASIDE 10 apart), of the
stress sets (forecast_stress_series.py: look and aside) and of the 11 R series (r.jsonl), windows of every
length n the defaults treat as short (from the shortest accepted, horizon + max(season, 2) + 1, up to the
longest without validation origins, in up to 5 steps), ending h, 2h, 3h and 4h values before the series'
end; each window's next h values hidden. The choosing sets are the 40 without the aside 10 and the stress
look set; the aside 10, the stress aside set and the R series only confirm. Per rule and set: mean MASE,
the geometric mean of MASE relative to seasonal naive, windows worse than 1.1x the better of naive and
seasonal naive, and the coverage of the 80/95% intervals (per hidden point) with their interval scores.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

from forecast_vs_baselines import H_BY_FREQ, HELD_ASIDE, series_of  # noqa: E402

from rnntools.tasks.forecast import DEFAULTS, ForecastConfig  # noqa: E402
from rnntools.tasks.forecast import choose as CH  # noqa: E402
from rnntools.tasks.forecast import methods as M  # noqa: E402
from rnntools.tasks.forecast.data import min_length  # noqa: E402
from rnntools.tasks.forecast.metrics import mase  # noqa: E402
from rnntools.tasks.forecast.model import resolve  # noqa: E402
from rnntools.tasks.forecast.series import TimeAxis  # noqa: E402


def is_short(n: int, h: int, m: int) -> bool | None:
    """True when the defaults give a series of n values no validation origins; None when it is refused."""
    cfg = resolve(ForecastConfig(season=m, horizon=h), TimeAxis("int", 1), [n])
    if n < min_length(cfg):
        return None
    V = max(h, int(math.ceil(DEFAULTS["val_fraction"] * n)))
    return n - V < min_length(cfg)


def windows(sets: dict) -> list[dict]:
    out = []
    for group, series in sets.items():
        for name, freq, m, values, _ in series:
            h = H_BY_FREQ[freq]
            v = np.asarray(values, np.float64)
            lengths = [n for n in range(h + max(m, 2) + 1, 4 * h + 4 * max(m, 2) + 40)
                       if is_short(n, h, m)]
            if not lengths:
                continue
            pick = sorted(set(lengths[int(i)] for i in np.linspace(0, len(lengths) - 1, min(5, len(lengths)))))
            for n in pick:
                for k in range(1, 5):
                    cut = len(v) - k * h
                    if cut - n < 0:
                        break
                    y, te = v[cut - n:cut], v[cut:cut + h]
                    out.append(record(group, name, freq, m, h, y, te))
    return out


def record(group, name, freq, m, h, y, te) -> dict:
    n = len(y)
    ho = CH.history_origins(n, h, m, short=True)
    scale = CH.series_scale(y, m)
    positive = M.logged(y)[1]
    fin = {meth: M.forecast_last(meth, y, h, m) for meth in M.methods_for(m, n, positive)}
    fin[CH.COMB] = CH.combine(CH.COMB, fin)
    fin[CH.SEASONAL_COMB] = CH.combine(CH.SEASONAL_COMB, fin)
    hist = CH.history_errors(y, ho, h, m, n - 1, scale)
    # every origin from one season (or 2 values) on with however many of the h steps follow it (NaN past
    # the end): the errors a partial-horizon rule can use
    starts = np.arange(max(m, 2), n - 1)
    part = {}
    if len(starts):
        f = CH._stat_forecasts(y, starts, h, m, n - 1)
        truth = np.full((len(starts), h), np.nan)
        for i, o in enumerate(starts):
            t = y[o + 1:o + 1 + h]
            truth[i, :len(t)] = t
        for meth, fh in f.items():
            with np.errstate(all="ignore"):
                e = np.abs(fh - truth) / scale
            if np.all(np.isfinite(e[~np.isnan(truth)])):
                part[meth] = e
    return dict(group=group, name=name, freq=freq, m=m, h=h, tr=y, te=te, ho=ho, hist=hist, fin=fin,
                part=part, part_o=starts, scale=scale)


# --- rules: a record -> the method string forecast from its end ------------------------------------------

def current(d):
    return CH.pick({}, d["hist"])[0] if d["hist"] else "snaive"


def fixed(meth):
    return lambda d: meth if all(b in d["fin"] for b in CH.bases_of(meth)) else current(d)


def comb_below(k):
    """S where it was chosen on at least k history origins, theta+damped otherwise."""
    def rule(d):
        return current(d) if len(d["ho"]) >= k else CH.COMB
    return rule


def partial(min_steps=1, margin=None):
    """S ranked on every origin with whatever part of the horizon follows it (a step's mean error over the
    origins that reach it, then the mean over the steps: every step counts once); ``margin``: S only where
    that is below margin x theta+damped's, theta+damped otherwise."""
    def rule(d):
        if not d["hist"]:
            return current(d)   # no full-horizon origin to calibrate intervals on: as today
        cost = {}
        for meth, e in d["part"].items():
            if meth not in CH.STATS or meth not in d["hist"]:
                continue
            ok = np.sum(~np.isnan(e), axis=0) >= min_steps
            if not ok.any():
                continue
            cost[meth] = float(np.nanmean(e[:, ok], axis=0).mean())
        if not cost:
            return current(d)
        best = min((k for k in CH.STATS if k in cost), key=cost.get)
        if margin and CH.COMB in cost and cost[best] >= margin * cost[CH.COMB]:
            return CH.COMB
        return best
    return rule


def shrink(margin):
    """S only where its history error is below ``margin`` x theta+damped's; theta+damped otherwise."""
    def rule(d):
        s = current(d)
        h = d["hist"]
        if s in h and CH.COMB in h and h[s].mean() < margin * h[CH.COMB].mean():
            return s
        return CH.COMB if CH.COMB in d["fin"] else s
    return rule


RULES = {"current": current, "theta+damped": fixed(CH.COMB), "naive": fixed("naive"), "drift": fixed("drift"),
         "damped": fixed("damped"), "theta": fixed("theta"), "arima": fixed("arima")}
for _k in (3, 5, 10):
    RULES[f"theta+damped below {_k} history origins"] = comb_below(_k)
RULES["S on every origin, partial horizons"] = partial()
RULES["S on every origin, partial horizons, steps reached by >= 2"] = partial(2)
for _k in (0.8, 0.9):
    RULES[f"the same (partial), theta+damped unless below {_k}x it"] = partial(1, _k)
RULES["library: choose.pick_short"] = lambda d: CH.pick_short(d["hist"], d["part"]) if d["hist"] else current(d)
for _k in (0.8, 0.9, 1.0):
    RULES[f"S if below {_k}x theta+damped, else theta+damped"] = shrink(_k)
RULES["library, without the drift candidate"] = lambda d: (
    CH.pick_short({k: e for k, e in d["hist"].items() if k != "drift"}, d["part"]) if d["hist"] else current(d))


def nan_table(E: np.ndarray, levels, grow: bool = False) -> np.ndarray:
    """choose.interval_table over errors with NaN where an origin's horizon ran past the data; ``grow``:
    each step's spread at least the first step's times sqrt(step)."""
    spread = np.maximum.accumulate(np.maximum(np.nanmean(E, axis=0), 1e-9))
    if grow:
        spread = np.maximum(spread, spread[0] * np.sqrt(np.arange(1, len(spread) + 1)))
    pooled = np.sort((E / spread)[~np.isnan(E)])
    V = len(E)
    return np.stack([np.quantile(pooled, min(1.0, lev / 100 * (V + 1) / V), method="higher") * spread
                     for lev in levels])


def intervals(d: dict, meth: str, how: str) -> tuple:
    """Coverage of the 80/95% intervals of ``meth`` per hidden point and the interval scores (scaled like
    MASE): ``full`` calibrated on the full-horizon history origins (today), ``partial`` on every origin
    with whatever part of the horizon follows it; both relative to the level (choose.on_level)."""
    y, m = d["tr"], d["m"]
    if how == "library" and meth in d["part"]:
        E = CH.on_level({meth: d["part"][meth]}, y, d["part_o"], m, d["scale"])[meth]
        table = CH.interval_table(E, [80, 95], grow=True)
    elif how.startswith("partial") and meth in d["part"]:
        E = CH.on_level({meth: d["part"][meth]}, y, d["part_o"], m, d["scale"])[meth]
        table = nan_table(E, (80, 95), how.endswith("sqrt"))
    elif meth in d["hist"]:
        E = CH.on_level({meth: d["hist"][meth]}, y, d["ho"], m, d["scale"])[meth]
        table = CH.interval_table(E, [80, 95])
    else:
        return None
    end = CH.series_scale(y, m)
    W = CH.widths(table, d["h"]) * end
    err = np.abs(d["te"] - CH.combine(meth, d["fin"]))
    cov = [float((err <= W[j]).mean()) for j in range(2)]
    isc = [float(np.mean(2 * W[j] + 2 / a * np.maximum(err - W[j], 0))) / end for j, a in enumerate((0.2, 0.05))]
    return (*cov, *isc)


def score(data: list[dict], rules: dict, calib=()) -> None:
    groups = sorted({d["group"] for d in data})
    print(f"{len(data)} windows: " + ", ".join(f"{g} {sum(d['group'] == g for d in data)} "
                                               f"({len({d['name'] for d in data if d['group'] == g})} series)"
                                               for g in groups))
    print(f"{'rule':52s} " + " | ".join(f"{g[:14]:>14s}: MASE  geo worse" for g in groups))
    for name, rule in rules.items():
        cells = []
        for g in groups:
            rows = []
            for d in data:
                if d["group"] != g:
                    continue
                meth = rule(d)
                f = CH.combine(meth, d["fin"])
                s = mase(d["te"], f, d["tr"], d["m"])
                nv = mase(d["te"], d["fin"]["naive"], d["tr"], d["m"])
                sn = mase(d["te"], d["fin"]["snaive"], d["tr"], d["m"]) if "snaive" in d["fin"] else nv
                rows.append((s, np.log(max(s, 1e-9) / max(sn, 1e-9)), s > 1.1 * min(nv, sn) + 1e-12))
            r = np.array(rows)
            cells.append(f"{r[:, 0].mean():8.3f} {np.exp(r[:, 1].mean()):5.3f} {int(r[:, 2].sum()):4d}")
        print(f"{name[:52]:52s} " + " | ".join(f"{c:>27s}" for c in cells), flush=True)
        for how in calib:
            cells = []
            for g in groups:
                r = [x for d in data if d["group"] == g and (x := intervals(d, rule(d), how)) is not None]
                r = np.array(r)
                cells.append(f"{100 * r[:, 0].mean():.1f}/{100 * r[:, 1].mean():.1f} {r[:, 2].mean():.2f}/"
                             f"{r[:, 3].mean():.2f}")
            print(f"{'  intervals calibrated ' + how:52s} " + " | ".join(f"{c:>27s}" for c in cells), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stress", required=True, help="the folder of forecast_stress_series.py (look, aside, r)")
    ap.add_argument("--rules", type=lambda s: s.split(";"), default=None, help="rule names, separated by ;")
    ap.add_argument("--intervals", nargs="*", default=(),
                    help="calibrations to score: full, partial, 'partial sqrt', library")
    args = ap.parse_args()
    forty = series_of(None)
    sets = {"a 40 chosen on": [s for s in forty if s[0] not in HELD_ASIDE],
            "b stress look": series_of(os.path.join(args.stress, "look.jsonl")),
            "c 40 aside": [s for s in forty if s[0] in HELD_ASIDE],
            "d stress aside": series_of(os.path.join(args.stress, "aside.jsonl")),
            "e R series": series_of(os.path.join(args.stress, "r.jsonl"))}
    data = windows(sets)
    score(data, {k: v for k, v in RULES.items() if not args.rules or k in args.rules}, args.intervals)


if __name__ == "__main__":
    main()
