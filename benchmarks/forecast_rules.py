"""Offline harness for the forecaster's per-series choice: every base forecast of the benchmark kept, the
choice recomputed per rule in seconds instead of a retraining per rule.

    # 1. train (or reuse) the networks and fill the caches: the benchmark itself
    nice -n 19 python benchmarks/forecast_vs_baselines.py --folds 4 --peer-cache peers.jsonl --model-cache nets/
    # 2. every base forecast of the 154 forecasts (the networks from nets/): about a minute
    nice -n 19 python benchmarks/forecast_rules.py --model-cache nets/ --bases bases.pkl
    # 3. score the rules (reads bases.pkl; --rules NAME,... for some of them)
    python benchmarks/forecast_rules.py --bases bases.pkl --score

Per series and fold (the same data, histories and cache files as forecast_vs_baselines.py): the network's
and every statistical method's forecasts from the end (scored on the hidden h points), at the network's
validation origins (the last 20% of the history) and, for the statistical methods, at the up to 200
history origins of choose.py; with the truth after each origin. A rule maps these to the forecast of the
series from its end, from what was known at the end only. The table per rule: mean MASE over the 4 origins
and over the last h points, forecasts worse than 1.1x the better of naive and seasonal naive, forecasts
that beat seasonal naive; all 40 series and the HELD_ASIDE 10 apart (never choose on the latter alone).
``bases.pkl`` is this script's own cache (written and read here only, never a model file).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

from forecast_vs_baselines import H_BY_FREQ, HELD_ASIDE, cache_tag, series_of  # noqa: E402

from rnntools.tasks.forecast import choose as CH  # noqa: E402
from rnntools.tasks.forecast import methods as M  # noqa: E402
from rnntools.tasks.forecast.metrics import mase  # noqa: E402


def bases(cache: str, max_history: int = 2016, series: str | None = None, suffix: str = "") -> list[dict]:
    """Every base forecast of every (series, fold) whose network is in ``cache`` (``series``: a JSONL file of
    other series, as forecast_vs_baselines.py --series; ``suffix``: the cache names' engine options, as
    ``-seed=2`` for networks trained with ``--engine seed=2``)."""

    from rnntools.tasks import forecast as F
    from rnntools.tasks.forecast.data import build_data
    from rnntools.tasks.forecast.forecasts import _rnn_point
    from rnntools.tasks.forecast.series import Series, TimeAxis

    out = []
    for name, freq, m, values, _ in series_of(series):
        h = H_BY_FREQ[freq]
        y = np.asarray(values, np.float64)
        for fold in range(1, 5):
            cut = len(y) - fold * h
            if fold > 1 and cut - h < max(2 * m, 16):
                break
            tr, te = y[:cut][-max_history:], y[cut:cut + h]
            path = os.path.join(cache, f"{name}-{cache_tag(tr, cut)}-{h}-{m}{suffix}.npz")
            if not os.path.exists(path):
                print("no network:", path, flush=True)
                continue
            model = F.load(path)
            s = Series(name, tr, TimeAxis("int", 1), 0)
            z, inverse = _rnn_point(model, [s], h, None)
            fin = {"rnn": inverse(z)[0]}
            for meth in M.methods_for(m, len(tr), M.logged(tr)[1]):
                fin[meth] = M.forecast_last(meth, tr, h, m)
            data = build_data([s], model, model.engine.get("val_fraction", 0.2))
            origins = data.val_o
            if not len(origins):
                # too short for validation origins: S alone, chosen and calibrated on the history origins
                # that need one season before them (choose.choose's short path)
                ho = CH.history_origins(len(tr), h, m, short=True)
                out.append(dict(
                    name=name, fold=fold, freq=freq, m=m, h=h, aside=name in HELD_ASIDE, tr=tr, te=te, fin=fin,
                    vo=origins, fval={}, vtruth=None, vscale=CH.series_scale(tr, m), ho=ho,
                    fhist=CH._stat_forecasts(tr, ho, h, m, len(tr) - 1) if len(ho) else {},
                    htruth=np.stack([tr[o + 1:o + 1 + h] for o in ho]) if len(ho) else None))
                continue
            fz = model.forecast_scaled(data.val_Z, data.val_pe, h, C=data.val_C)
            sc = model.scalers[name]
            first = int(origins.min())
            fval = {"rnn": np.stack([sc.inverse(r) for r in fz]), **CH._stat_forecasts(tr, origins, h, m, first)}
            ho = CH.history_origins(len(tr), h, m)
            fhist = CH._stat_forecasts(tr, ho, h, m, first) if len(ho) else {}
            out.append(dict(
                name=name, fold=fold, freq=freq, m=m, h=h, aside=name in HELD_ASIDE, tr=tr, te=te, fin=fin,
                vo=origins, fval=fval, vtruth=np.stack([tr[o + 1:o + 1 + h] for o in origins]),
                vscale=CH.series_scale(tr[:first + 1], m), ho=ho, fhist=fhist,
                htruth=np.stack([tr[o + 1:o + 1 + h] for o in ho]) if len(ho) else None))
        print(name, flush=True)
    return out


# --- the rules: each takes one (series, fold) record and returns the method string it forecasts by ------

def errors(d: dict, where: str, method: str) -> np.ndarray | None:
    """Scaled absolute errors (origins, h) of ``method`` at the validation or history origins; None when a
    base is missing there (the network at the history origins) or an error is not finite."""
    f = d["fval"] if where == "val" else d["fhist"]
    truth = d["vtruth"] if where == "val" else d["htruth"]
    if truth is None or any(b not in f for b in CH.bases_of(method)):
        return None
    e = np.abs(CH.combine(method, f) - truth) / d["vscale"]
    return e if np.all(np.isfinite(e)) else None


def forecast_of(d: dict, method: str) -> np.ndarray:
    """The forecast from the end; ``mean:a|b`` is the mean of two method strings (the harness's own)."""
    if method.startswith("mean:"):
        return np.mean([CH.combine(p, d["fin"]) for p in method[5:].split("|")], axis=0)
    return CH.combine(method, d["fin"])


def score(d: dict, method: str) -> float:
    f = forecast_of(d, method)
    return mase(d["te"], f, d["tr"], d["m"])


def _partial(d: dict) -> tuple:
    """choose.partial_errors of a record's history (a short series': no validation origins)."""
    if "part" not in d:
        d["part_o"], d["part"] = CH.partial_errors(d["tr"], d["h"], d["m"], d["vscale"])
    return d["part_o"], d["part"]


def current(d: dict) -> str:
    """The rule in choose.choose today: choose.pick (choose.pick_short for a series without validation
    origins), naive for a series that stopped (choose.stopped)."""
    if CH.stopped(d["tr"], d["m"]):
        return "naive"
    return usual(d)


def usual(d: dict) -> str:
    """choose.pick (choose.pick_short for a series without validation origins)."""
    if not len(d["vo"]) and d["fhist"]:
        return CH.pick_short(hist_errors(d), _partial(d)[1])
    val = {k: e for k in (*CH.STATS, "rnn", *CH.voted(CH.STATS))
           if (e := errors(d, "val", k)) is not None}
    hist = {k: e for k in CH.STATS if (e := errors(d, "hist", k)) is not None}
    return CH.pick(val, hist, n=len(d["tr"]))[1]


SIMPLE = ("naive", "snaive", "drift")


def val_errors(d: dict) -> dict:
    return {k: e for k in (*CH.STATS, "rnn", *CH.voted(CH.STATS))
            if (e := errors(d, "val", k)) is not None}


def hist_errors(d: dict) -> dict:
    return {k: e for k in CH.STATS if (e := errors(d, "hist", k)) is not None}


def val_fallback(k: float, pool=SIMPLE):
    """The current method unless a simple method erred less than k times as much at the validation
    origins (where the network's errors are known, if optimistic)."""
    def rule(d):
        meth = current(d)
        val = val_errors(d)
        if meth not in val:
            val[meth] = errors(d, "val", meth)
        cands = [s for s in pool if s in val]
        if not cands or val[meth] is None:
            return meth
        best = min(cands, key=lambda s: val[s].mean())
        return best if val[best].mean() < k * val[meth].mean() else meth
    return rule


def hist_prefer_simple(k: float, then_network: bool = True):
    """S by history error with every method but the simple ones charged k times its error."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        cost = {m: e.mean() * (1 if m in SIMPLE else k) for m, e in hist.items()}
        s = min(cost, key=cost.get)
        if s in SIMPLE and not then_network:
            return s
        return CH.with_network(s) if s != "weekly" or "rnn" in d["fin"] else s
    return rule


def staged(k: float, mid_where: str = "val", top_k: float | None = None, mid=("theta", "damped")):
    """Simple first: the best of naive, seasonal naive and drift; a middle method (Theta, damped) only when
    it erred less than k times the incumbent's error (at ``mid_where``'s origins); the network combination
    (the current rule's method) only when it erred less than ``top_k`` (default k) times the incumbent's
    error at the validation origins."""
    top_k = k if top_k is None else top_k

    def rule(d):
        meth = current(d)
        where = mid_where if d["htruth"] is not None else "val"
        err = {c: e.mean() for c in (*SIMPLE, *mid) if (e := errors(d, where, c)) is not None}
        inc = min((c for c in SIMPLE if c in err), key=err.get)
        c = min((c for c in mid if c in err), key=err.get, default=None)
        if c is not None and err[c] < k * err[inc]:
            inc = c
        ve = {c: e.mean() for c in (inc, meth) if (e := errors(d, "val", c)) is not None}
        if meth in ve and inc in ve and ve[meth] < top_k * ve[inc]:
            inc = meth
        return inc
    return rule


def net_alone(k: float, min_origins: int = 1):
    """The current method, or the network alone when it erred less than k times as much at the validation
    origins (at least ``min_origins`` of them)."""
    def rule(d):
        meth = current(d)
        if len(d["vo"]) < min_origins or meth == "rnn":
            return meth
        er, em = errors(d, "val", "rnn"), errors(d, "val", meth)
        if er is not None and em is not None and er.mean() < k * em.mean():
            return "rnn"
        return meth
    return rule


def blend(d: dict) -> str:
    """The mean of the current method and the network."""
    meth = current(d)
    return meth if meth == "rnn" else f"mean:rnn|{meth}"


def unified(k: float, top: float = 1.0, solo: bool = True):
    """S by history error, a simple method (naive, seasonal naive, drift) kept unless another erred less
    than k times as much; the series' method median(rnn,S,theta+damped) (or S alone as choose.pick does),
    unless S erred at most ``top`` times as much at the validation origins: then S alone."""
    def rule(d):
        hist = hist_errors(d)
        val = val_errors(d)
        if not hist:
            return current(d)
        cost = {m: e.mean() * (1 if m in SIMPLE else 1 / k) for m, e in hist.items()}
        stat = min(cost, key=cost.get)
        meth = CH.with_network(stat) if CH.with_network(stat) in val else stat
        if solo and stat in hist and CH.COMB in hist and hist[stat].mean() < CH.SOLO * hist[CH.COMB].mean():
            meth = stat
        if meth != stat and meth in val and stat in val and val[stat].mean() <= top * val[meth].mean():
            meth = stat
        return meth
    return rule


def without(*names):
    """The current rule with the statistical candidates ``names`` left out (what a wider pool adds)."""
    def rule(d):
        val = {k: e for k, e in val_errors(d).items() if not set(CH.bases_of(k)) & set(names)}
        hist = {k: e for k, e in hist_errors(d).items() if k not in names}
        return CH.pick(val, hist)[1]
    return rule


# the rules of docs/forecast.md's tables (names as printed there)
RULES = {"current": current}
RULES["without the log forms and hw"] = without(*M.LOGS, *M.SEASONAL)
RULES["without the log forms"] = without(*M.LOGS)
RULES["without hw"] = without(*M.SEASONAL)
RULES["without arima"] = without(*M.ARIMA)
for _b in ("rnn", "naive", "snaive", "drift", "theta", "damped", CH.COMB):
    RULES[_b] = (lambda b: lambda d: b if b in d["fin"] else CH.COMB)(_b)
RULES["mean of the network and current"] = blend
for _k in (0.8, 0.85, 1.0):
    RULES[f"network alone below {_k}x current at val (V >= 10)"] = net_alone(_k, 10)
for _k in (0.9, 1.0):
    RULES[f"best simple when below {_k}x current at val"] = val_fallback(_k)
for _k in (1.1, 1.2):
    RULES[f"S with complex charged {_k}x, + network"] = hist_prefer_simple(_k)
    RULES[f"S with complex charged {_k}x, simple alone"] = hist_prefer_simple(_k, False)
for _k, _t in ((0.9, 0.9), (0.9, 1.0), (1.0, 1.0)):
    RULES[f"staged: simple, mid {_k}x, current {_t}x at val"] = staged(_k, "hist", _t, mid=(
        "theta", "damped", CH.COMB, CH.SEASONAL_COMB))
RULES["S (simple unless 0.9x), alone if it validated <= 1.0x"] = unified(0.9, 1.0)
RULES["before: the network always votes"] = unified(1.0, 0.0)


# --- forecast combination: the k statistical methods with the lowest history error, combined -----------

TOP = "top"
CH.BASES = (*CH.BASES, TOP)   # the harness's own base name for the combination of a (series, fold)


def _put(d: dict, members: list, how: str = "mean", w: np.ndarray | None = None) -> None:
    """The combination of ``members`` under the name TOP in the record's forecasts (end, validation and
    history origins)."""
    for key in ("fin", "fval", "fhist"):
        if not d[key]:
            continue
        try:
            S = np.stack([CH.combine(m, d[key]) for m in members])
        except KeyError:
            continue
        if how == "median":
            d[key][TOP] = np.median(S, 0)
        else:
            d[key][TOP] = S.mean(0) if w is None else np.tensordot(w / w.sum(), S, 1)


def top_k(k: int, how: str = "mean", vote: bool = True, inverse: bool = False, candidate: bool = False,
          recent: float | None = None, origins: int | None = None):
    """The combination of the k best statistical methods by history error (``how``: mean or median;
    ``inverse``: weighted by 1 / error; ``recent``: ranked on the last fraction of the history origins only)
    as S, in the current rule (the network's vote, S alone where it validated no worse) or alone
    (``vote`` False). ``candidate``: the combination is S only where its own history error is below the
    best single method's. ``origins``: ranked on that many of the history origins, spread evenly."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        cost = {}
        for m in CH.STATS:
            if m in hist:
                e = hist[m].mean(1)
                if origins and len(e) > origins:
                    e = e[np.unique(np.linspace(0, len(e) - 1, origins).astype(np.int64))]
                cost[m] = float(e[int(len(e) * (1 - recent)):].mean() if recent else e.mean())
        order = sorted(cost, key=lambda m: (cost[m], CH.STATS.index(m)))
        members = order[:k]
        _put(d, members, how, np.array([1 / max(cost[m], 1e-12) for m in members]) if inverse else None)
        stat = TOP if k > 1 else members[0]
        if candidate and k > 1:
            e = errors(d, "hist", TOP)
            if e is None or e.mean() >= cost[order[0]]:
                stat = order[0]
        if not vote:
            return stat
        meth = CH.with_network(stat)
        if stat in hist and CH.COMB in hist and hist[stat].mean() < CH.SOLO * hist[CH.COMB].mean():
            return stat
        ev, em = errors(d, "val", stat), errors(d, "val", meth)
        return stat if em is None or (ev is not None and ev.mean() <= em.mean()) else meth
    return rule


RULES["top 1 (the current rule, rebuilt)"] = top_k(1)
for _k in (2, 3, 4, 5):
    RULES[f"top {_k} mean in the current rule"] = top_k(_k)
    RULES[f"top {_k} mean alone"] = top_k(_k, vote=False)
for _k in (3, 5):
    RULES[f"top {_k} median in the current rule"] = top_k(_k, "median")
for _k in (2, 3):
    RULES[f"top {_k} weighted 1/error in the current rule"] = top_k(_k, inverse=True)
    RULES[f"top {_k} mean where it erred less in the current rule"] = top_k(_k, candidate=True)
for _f in (0.5, 0.25):
    RULES[f"top 1 by the last {_f} of the history origins"] = top_k(1, recent=_f)
    RULES[f"top 3 mean by the last {_f} of the history origins"] = top_k(3, recent=_f)
for _n in (10, 25, 50, 100):
    RULES[f"top 1 by {_n} history origins"] = top_k(1, origins=_n)


SPLIT = "split"
CH.BASES = (*CH.BASES, SPLIT)


def by_horizon(parts: int):
    """S chosen per part of the horizon (``parts`` equal stretches of the h steps, each by its own history
    error), pieced together, in the current rule."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        edges = np.linspace(0, d["h"], parts + 1).astype(int)
        spans = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        members = []
        for a, b in spans:
            c = {k: float(hist[k][:, a:b].mean()) for k in CH.STATS if k in hist}
            members.append(min(c, key=lambda k: (c[k], CH.STATS.index(k))))
        if len(set(members)) == 1:
            stat = members[0]
        else:
            stat = SPLIT
            for key in ("fin", "fval", "fhist"):
                if d[key]:
                    try:
                        pieces = [CH.combine(m, d[key])[..., a:b] for m, (a, b) in zip(members, spans)]
                    except KeyError:
                        continue
                    d[key][SPLIT] = np.concatenate(pieces, axis=-1)
        if stat in hist and CH.COMB in hist and hist[stat].mean() < CH.SOLO * hist[CH.COMB].mean():
            return stat
        meth = CH.with_network(stat)
        ev, em = errors(d, "val", stat), errors(d, "val", meth)
        return stat if em is None or (ev is not None and ev.mean() <= em.mean()) else meth
    return rule


for _p, _name in ((2, "half"), (3, "third"), (1000, "step")):
    RULES[f"S per {_name} of the horizon"] = by_horizon(_p)


# --- a second look (issue 15, later session): the recent past, a fourth voter, short series -------------

def _finish(d: dict, stat: str, hist: dict, third: str = CH.COMB) -> str:
    """The rule's method for a given S (alone when far better than theta+damped over the history or no
    worse than the median at the validation origins, else median(rnn,S,third))."""
    if stat in hist and CH.COMB in hist and hist[stat].mean() < CH.SOLO * hist[CH.COMB].mean():
        return stat
    meth = CH.with_network(stat, third)
    if any(b not in d["fin"] for b in CH.bases_of(meth)):
        return stat
    ev, em = errors(d, "val", stat), errors(d, "val", meth)
    return stat if em is None or (ev is not None and ev.mean() <= em.mean()) else meth


def partial_tail(weight_recent: bool = False):
    """S ranked on the history origins plus the origins after them with part of the horizon inside the
    series (its most recent behaviour: a trend that broke near the end), each step's mean over the origins
    that reach it, then the mean over the steps (choose.pick_short's measure); the rest as today."""
    def rule(d):
        if not len(d["vo"]) or not d["fhist"]:
            return current(d)
        hist = hist_errors(d)
        y, h, m = d["tr"], d["h"], d["m"]
        extra = np.arange(int(d["ho"].max()) + 1, len(y) - 1)
        if not len(extra):
            return current(d)
        f = CH._stat_forecasts(y, extra, h, m, int(d["vo"].min()))
        truth = np.full((len(extra), h), np.nan)
        for i, o in enumerate(extra):
            t = y[o + 1:o + 1 + h]
            truth[i, :len(t)] = t
        cost = {}
        for k in CH.STATS:
            if k in hist and k in f:
                with np.errstate(all="ignore"):
                    e = np.abs(f[k] - truth) / d["vscale"]
                if not np.all(np.isfinite(e[~np.isnan(truth)])):
                    continue
                cost[k] = float(np.nanmean(np.vstack([hist[k], e]), axis=0).mean())
        if not cost:
            return current(d)
        stat = min(cost, key=cost.get)
        return _finish(d, stat, hist, CH.third_voter(hist))
    return rule


def recent_mix(frac: float | None = None, last: int | None = None):
    """S shrunk toward the method that won the most recent history origins (the last ``last`` of them, or
    the last ``frac`` of them): where the two differ, S is their mean, in the current rule."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        cost = {m: float(hist[m].mean()) for m in CH.STATS if m in hist}
        s1 = min(cost, key=lambda m: (cost[m], CH.STATS.index(m)))
        k = last or max(1, int(round(len(d["ho"]) * frac)))
        rc = {m: float(hist[m][-k:].mean()) for m in cost}
        s2 = min(rc, key=lambda m: (rc[m], CH.STATS.index(m)))
        if s1 == s2:
            return _finish(d, s1, hist)
        _put(d, [s1, s2])
        return _finish(d, TOP, {**hist, TOP: errors(d, "hist", TOP)})
    return rule


def recency_weighted(half_life: float):
    """S by history error with each origin weighted 2^(-age / (half_life * n)), age in values before the
    last history origin (a soft form of "the recent half")."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        ho = d["ho"]
        w = 0.5 ** ((ho.max() - ho) / (half_life * len(d["tr"])))
        cost = {m: float((hist[m].mean(1) * w).sum() / w.sum()) for m in CH.STATS if m in hist}
        return _finish(d, min(cost, key=lambda m: (cost[m], CH.STATS.index(m))), hist)
    return rule


def fourth_voter(voter):
    """The current method, with a fourth member in its median (the mean of the middle two: a shrink toward
    ``voter``, a base name or a function of the record)."""
    def rule(d):
        meth = current(d)
        v = voter(d) if callable(voter) else voter
        if not meth.startswith("median(") or v is None or v not in d["fin"]:
            return meth
        return f"{meth[:-1]},{v})"
    return rule


def best_simple(d: dict) -> str | None:
    hist = hist_errors(d)
    c = {k: hist[k].mean() for k in SIMPLE if k in hist}
    return min(c, key=c.get) if c else None


def guard(names: tuple, below: int | None = None, nonseasonal: bool = False):
    """The current rule with the candidates ``names`` left out for series shorter than ``below`` values
    (every series when None; only m = 1 when ``nonseasonal``): a trend guard for short series."""
    def rule(d):
        if (below and len(d["tr"]) >= below) or (nonseasonal and d["m"] > 1):
            return current(d)
        return without(*names)(d)
    return rule


RULES["S on the history and the partial-horizon origins after it"] = partial_tail()


def replaced(old: str, new: str | None, keep: bool = False):
    """The current rule with the candidate ``old`` replaced by the method string ``new`` (both when
    ``keep``; left out when ``new`` is None): a hedge of one candidate's extrapolation."""
    def rule(d):
        saved = CH.STATS
        pool = [k for k in saved if keep or k != old] + ([new] if new else [])
        CH.STATS = tuple(dict.fromkeys(pool))
        try:
            return current(d)
        finally:
            CH.STATS = saved
    return rule


def drift_min(k: int):
    """The current rule with choose.DRIFT_MIN = k (no drift candidate for a validated series below k values;
    0: a candidate at every length, as before)."""
    def rule(d):
        saved = CH.DRIFT_MIN
        CH.DRIFT_MIN = k
        try:
            return current(d)
        finally:
            CH.DRIFT_MIN = saved
    return rule


RULES["before: drift a candidate at every length"] = drift_min(0)
for _n in (50, 150, 200, 10 ** 9):
    RULES[f"no drift candidate below {_n} values"] = drift_min(_n)
for _new in ("drift+damped", "drift+naive", "drift+theta", "drift+arima"):
    RULES[f"drift replaced by {_new}"] = replaced("drift", _new)
    RULES[f"{_new} added"] = replaced("drift", _new, keep=True)


def comb_margin(k: float, max_origins: int | None = None):
    """theta+damped as S unless the best method erred below k x its error over the history origins (the
    short series' rule, choose.pick_short, on longer ones; only up to ``max_origins`` history origins)."""
    def rule(d):
        if not len(d["vo"]) or not d["fhist"] or (max_origins and len(d["ho"]) > max_origins):
            return current(d)
        hist = hist_errors(d)
        stat = CH.pick({}, hist)[0]
        if CH.COMB in hist and stat in hist and hist[stat].mean() >= k * hist[CH.COMB].mean():
            stat = CH.COMB
        return _finish(d, stat, hist, CH.third_voter(hist))
    return rule


for _k in (0.9, 0.95):
    RULES[f"S unless not below {_k}x theta+damped over the history"] = comb_margin(_k)
    RULES[f"the same below 50 history origins {_k}"] = comb_margin(_k, 50)
RULES["S alone (the network never votes)"] = lambda d: CH.pick(val_errors(d), hist_errors(d), n=len(d["tr"]))[0]
for _f in (0.05, 0.1, 0.2, 0.5):
    RULES[f"S mixed with the winner of the last {_f} of the origins"] = recent_mix(frac=_f)
RULES["S mixed with the winner of the last origin"] = recent_mix(last=1)
RULES["S mixed with the winner of the last 3 origins"] = recent_mix(last=3)
for _h in (1.0, 0.5, 0.25):
    RULES[f"history error weighted, half-life {_h} n"] = recency_weighted(_h)
for _v in ("naive", "snaive", "damped"):
    RULES[f"{_v} as a fourth voter"] = fourth_voter(_v)
RULES["the best simple method as a fourth voter"] = fourth_voter(best_simple)
RULES["m = 1 and n < 100: no drift or theta or ltheta"] = guard(("drift", "theta", "ltheta"), 100, True)
for _n in (50, 100, 150, 200, None):
    RULES[f"no drift below {_n} values" if _n else "no drift"] = guard(("drift",), _n)


# --- the third voter (issue 15, a later session): theta+damped, or with arima joined --------------------

C3 = CH.TREND_COMB
CH.BASES = (*CH.BASES, "xmed")   # the harness's own name for median(theta,damped,arima)


def third_voter(test=None, name: str | None = None):
    """S as today; the third voter ``name`` where ``test(d, hist)`` holds (always when test is None), else
    theta+damped."""
    def rule(d):
        val, hist = val_errors(d), hist_errors(d)
        stat = CH.pick(val, hist)[0]
        third = name or C3
        if third == "xmed":
            for key in ("fin", "fval", "fhist"):
                if d[key] and all(b in d[key] for b in ("theta", "damped", "arima")):
                    d[key]["xmed"] = np.median(np.stack([d[key][b] for b in ("theta", "damped", "arima")]), 0)
        if test is not None and not (CH.COMB in hist and "arima" in hist and test(d, hist)):
            third = CH.COMB
        return _finish(d, stat, hist, third)
    return rule


def _c3(d: dict) -> np.ndarray | None:
    return errors(d, "hist", C3)


def _criterion(fn):
    """S by ``fn`` of each candidate's per-origin mean errors instead of their mean, in the current rule."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        cost = {m: float(fn(hist[m].mean(1))) for m in CH.STATS if m in hist}
        stat = min(cost, key=lambda m: (cost[m], CH.STATS.index(m)))
        return _finish(d, stat, hist, CH.third_voter(hist))
    return rule


def _trimmed(frac: float):
    def fn(e):
        e = np.sort(e)
        return e[:max(1, len(e) - int(len(e) * frac))].mean()
    return fn


RULES["before: the third voter always theta+damped"] = third_voter(lambda d, h: False)
RULES["third voter theta+damped+arima always"] = third_voter()
RULES["third voter arima"] = third_voter(name="arima")
RULES["third voter damped+arima"] = third_voter(name="damped+arima")
RULES["third voter theta+arima"] = third_voter(name="theta+arima")
RULES["third voter the median of theta damped and arima"] = third_voter(name="xmed")
RULES["theta+damped+arima where its history error < theta+damped's"] = third_voter(
    lambda d, h: (e := _c3(d)) is not None and e.mean() < h[CH.COMB].mean())
for _k in (0.9, 0.95, 1.05):
    RULES[f"theta+damped+arima where its history error < {_k}x theta+damped's"] = third_voter(
        lambda d, h, k=_k: (e := _c3(d)) is not None and e.mean() < k * h[CH.COMB].mean())
RULES["theta+damped+arima where it erred less over the recent half"] = third_voter(
    lambda d, h: (e := _c3(d)) is not None and e[len(e) // 2:].mean() < h[CH.COMB][len(e) // 2:].mean())
RULES["theta+damped+arima where arima's history error < theta+damped's"] = third_voter(
    lambda d, h: h["arima"].mean() < h[CH.COMB].mean())
RULES["S by the median of its origins' errors"] = _criterion(np.median)
RULES["S by the mean log error of its origins"] = _criterion(lambda e: np.log(np.maximum(e, 1e-9)).mean())
for _f in (0.1, 0.25):
    RULES[f"S by its origins' errors with the worst {_f:.0%} trimmed"] = _criterion(_trimmed(_f))
RULES["S by its origins' root mean square error"] = _criterion(lambda e: np.sqrt((e ** 2).mean()))

# the families of the pool: a combination of two near twins (a method and its log form) adds no diversity
FAMILY = {"naive": "n", "drift": "n", "snaive": "s", "weekly": "s", "theta": "t", "ltheta": "t", "damped": "d",
          "ldamped": "d", CH.COMB: "c", CH.SEASONAL_COMB: "c", "hw": "h", "arima": "a", "ets": "e", "lets": "e",
          "daily": "s", CH.DAILY_COMB: "c", CH.WEEKLY_COMB: "c"}


def diverse_pair(candidate: bool = False):
    """S: the mean of the best method and the best of another family by history error (``candidate``: only
    where the pair's own history error is below the best method's), in the current rule."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        cost = {m: hist[m].mean() for m in CH.STATS if m in hist}
        order = sorted(cost, key=lambda m: (cost[m], CH.STATS.index(m)))
        s2 = next((m for m in order[1:] if FAMILY[m] != FAMILY[order[0]]), None)
        if s2 is None:
            return _finish(d, order[0], hist, CH.third_voter(hist))
        _put(d, [order[0], s2])
        e = errors(d, "hist", TOP)
        stat = TOP if not candidate or (e is not None and e.mean() < cost[order[0]]) else order[0]
        return _finish(d, stat, {**hist, TOP: e} if e is not None else hist, CH.third_voter(hist))
    return rule


def softmax_weights(tau: float):
    """S: every candidate weighted by exp(-(e - e_min) / (tau e_min)) of its history error e."""
    def rule(d):
        hist = hist_errors(d)
        if not hist:
            return current(d)
        names = [m for m in CH.STATS if m in hist]
        c = np.array([hist[m].mean() for m in names])
        w = np.exp(-(c - c.min()) / (tau * max(c.min(), 1e-12)))
        for key in ("fin", "fval", "fhist"):
            if d[key]:
                d[key][TOP] = sum(wi * CH.combine(m, d[key]) for wi, m in zip(w / w.sum(), names))
        e = errors(d, "hist", TOP)
        return _finish(d, TOP, {**hist, TOP: e} if e is not None else hist, CH.third_voter(hist))
    return rule


RULES["S the mean of the best and the best of another family"] = diverse_pair()
RULES["S that pair where its history error is the lowest"] = diverse_pair(True)
for _t in (0.05, 0.1, 0.2):
    RULES[f"S every candidate weighted exp(-relative excess error / {_t})"] = softmax_weights(_t)



# --- the 1.1x target (issue 15, a later session): fall back to a simple forecast where the edge is noise ----

NAIVES = ("naive", "snaive")


def edge_t(d: dict, where: str, method: str, simple: str) -> float | None:
    """How clearly ``method`` erred less than ``simple`` at the history (or validation) origins: the mean of
    the per-origin loss differential (scaled absolute error over the horizon, simple minus method) over its
    standard error, Newey-West (Bartlett weights) up to the lag where two origins' horizons stop
    overlapping (a Diebold-Mariano statistic); None where either has no errors there."""
    a, b = errors(d, where, simple), errors(d, where, method)
    if a is None or b is None or len(a) < 3:
        return None
    x = a.mean(1) - b.mean(1)
    o = d["ho"] if where == "hist" else d["vo"]
    step = max(float(np.median(np.diff(o))), 1.0) if len(o) > 1 else 1.0
    lags = min(int(np.ceil(d["h"] / step)), len(x) - 1)
    x0 = x - x.mean()
    lrv = float(x0 @ x0) / len(x)
    for k in range(1, lags + 1):
        lrv += 2 * (1 - k / (lags + 1)) * float(x0[k:] @ x0[:-k]) / len(x)
    if lrv <= 0:
        return np.inf if x.mean() > 0 else -np.inf if x.mean() < 0 else 0.0
    return float(x.mean() / np.sqrt(lrv / len(x)))


def best_naive(d: dict, where: str = "hist") -> str | None:
    """naive or seasonal naive, whichever erred less at the history (validation) origins."""
    e = {k: v.mean() for k in NAIVES if (v := errors(d, where, k)) is not None}
    return min(e, key=e.get) if e else None


def noise_fallback(z: float, test: str = "hist", to: str = "alone", pool=NAIVES):
    """The current method, unless its edge over the better of naive and seasonal naive is within noise: a
    Diebold-Mariano t below ``z``. ``test``: "hist" compares S with the simple method over the history
    origins (up to 200; the network has no errors there), "val" the series' method at the network's
    validation origins, "both" needs both below z, "either" one of them. ``to``: "alone" forecasts by the
    simple method, "half" by the mean of it and the current method, "vote" puts it in S's place in the
    median with the network."""
    def rule(d):
        meth = current(d)
        if meth in pool or not len(d["vo"]) and not d["fhist"]:
            return meth
        hist = hist_errors(d)
        where = "hist" if hist else "val"
        e = {k: v.mean() for k in pool if (v := errors(d, where, k)) is not None}
        if not e:
            return meth
        simple = min(e, key=e.get)
        stat = CH.pick(val_errors(d), hist, n=len(d["tr"]))[0] if hist and len(d["vo"]) else meth
        th = edge_t(d, "hist", stat, simple) if hist and stat != simple else None
        tv = edge_t(d, "val", meth, simple) if len(d["vo"]) else None
        if test == "hist":
            noisy = th is not None and th < z
        elif test == "val":
            noisy = tv is not None and tv < z
        elif test == "both":
            noisy = th is not None and tv is not None and th < z and tv < z
        else:
            noisy = (th is not None and th < z) or (tv is not None and tv < z)
        if not noisy:
            return meth
        if to == "alone":
            return simple
        if to == "half":
            return f"mean:{meth}|{simple}"
        vote = CH.with_network(simple, CH.third_voter(hist))
        return vote if all(b in d["fin"] for b in CH.bases_of(vote)) else simple
    return rule


def shrink_fit(grid=(0.0, 0.25, 0.5, 0.75, 1.0), where: str = "val"):
    """The current method shrunk toward the better of naive and seasonal naive by the weight (on ``grid``)
    whose blend erred least at the validation origins (``where`` "hist": S's blend over the history
    origins, the weight then applied to the series' method)."""
    def rule(d):
        meth = current(d)
        simple = best_naive(d, "hist" if d["fhist"] else "val")
        if simple is None or meth == simple:
            return meth
        src = meth
        if where == "hist":
            hist = hist_errors(d)
            if not hist:
                return meth
            src = CH.pick(val_errors(d), hist, n=len(d["tr"]))[0]
        f, truth = (d["fval"], d["vtruth"]) if where == "val" else (d["fhist"], d["htruth"])
        if truth is None or any(b not in f for b in CH.bases_of(src)) or simple not in f:
            return meth
        a, b = CH.combine(src, f), f[simple]
        err = [float(np.abs((1 - w) * a + w * b - truth).mean()) for w in grid]
        w = grid[int(np.argmin(err))]
        if w == 0:
            return meth
        if w == 1:
            return simple
        key = f"shrink{w}"
        for k in ("fin", "fval", "fhist"):
            if d[k] and all(x in d[k] for x in CH.bases_of(meth)) and simple in d[k]:
                d[k][key] = (1 - w) * CH.combine(meth, d[k]) + w * d[k][simple]
        return key
    return rule


CH.BASES = (*CH.BASES, *(f"shrink{w}" for w in (0.25, 0.5, 0.75)))
for _z in (0.5, 1.0, 1.5, 2.0):
    for _t in ("hist", "val", "both", "either"):
        RULES[f"naive fallback t<{_z} {_t} alone"] = noise_fallback(_z, _t)
    for _t in ("hist", "both"):
        RULES[f"naive fallback t<{_z} {_t} half"] = noise_fallback(_z, _t, "half")
        RULES[f"naive fallback t<{_z} {_t} vote"] = noise_fallback(_z, _t, "vote")
RULES["naive fallback t<1.0 hist alone naive only"] = noise_fallback(1.0, "hist", pool=("naive",))
RULES["shrink toward the better naive weight fitted at val"] = shrink_fit()
RULES["shrink toward the better naive weight fitted over the history"] = shrink_fit(where="hist")
RULES["before: a stopped series by its usual choice"] = usual


# --- the aside kind (docs/forecast.md "The aside geometric mean"): more of ``ets``, less of the vote ------

def _s_and_errors(d: dict):
    """(S, validation errors, history errors) of the current rule's usual path, None where it takes
    another (a stopped series, a short one)."""
    if CH.stopped(d["tr"], d["m"]) or (not len(d["vo"]) and d["fhist"]):
        return None
    hist = hist_errors(d)
    if not hist:
        return None
    val = val_errors(d)
    return CH.pick(val, hist, n=len(d["tr"]))[0], val, hist


def ets_preferred(k: float, mix: bool = False):
    """S is the better of ``ets`` / ``lets`` over the history where it erred at most k times S's error
    (``mix``: the mean of S and it in S's place); the rest as today."""
    def rule(d):
        got = _s_and_errors(d)
        if got is None:
            return current(d)
        stat, _, hist = got
        forms = [x for x in M.ETS if x in hist]
        best = min(forms, key=lambda x: hist[x].mean()) if forms else None
        if best is None or best == stat or hist[best].mean() > k * hist[stat].mean():
            return _finish(d, stat, hist, CH.third_voter(hist))
        if not mix:
            return _finish(d, best, hist, CH.third_voter(hist))
        _put(d, [stat, best])
        return _finish(d, TOP, {**hist, TOP: errors(d, "hist", TOP)}, CH.third_voter(hist))
    return rule


def vote_margin(k: float):
    """The network votes only where the median erred less than k times S alone at the validation origins."""
    def rule(d):
        meth = current(d)
        if not meth.startswith("median(rnn,"):
            return meth
        stat = meth[len("median(rnn,"):].split(",")[0]
        ev, em = errors(d, "val", stat), errors(d, "val", meth)
        return meth if ev is None or em is None or em.mean() < k * ev.mean() else stat
    return rule


for _k in (1.05, 1.1, 1.2):
    RULES[f"ets x{_k}"] = ets_preferred(_k)
for _k in (1.1, 1.3):
    RULES[f"S+ets x{_k}"] = ets_preferred(_k, mix=True)
for _k in (0.99, 0.95, 0.9, 0.8):
    RULES[f"vote x{_k}"] = vote_margin(_k)


def parts(data: list[dict]) -> None:
    """Each last-h forecast worse than 1.1x the better of naive and seasonal naive, part by part: the
    current rule's method, S alone, the network alone and the third voter on the hidden points, then every
    candidate with its error over the history origins relative to S's, its error at the validation origins,
    and the Diebold-Mariano t of S's history edge over it (docs/forecast.md "The nine forecasts worse than
    1.1x")."""
    for d in data:
        if d["fold"] != 1:
            continue
        meth = current(d)
        got, nv, sn = score(d, meth), score(d, "naive"), score(d, "snaive")
        line = 1.1 * min(nv, sn)
        if got <= line + 1e-12:
            continue
        voting = meth.startswith("median(rnn,")
        stat = meth[len("median(rnn,"):].split(",")[0] if voting else meth
        third = meth[:-1].rsplit(",", 1)[1] if voting else None
        print(f"\n{d['name']}{' (aside)' if d['aside'] else ''}: {meth} {got:.3f}; S alone {score(d, stat):.3f}, "
              f"the network alone {score(d, 'rnn'):.3f}"
              + (f", the third voter {score(d, third):.3f}" if third else "")
              + f"; naive {nv:.3f}, seasonal naive {sn:.3f}: the line {line:.3f}")
        hist_s = errors(d, "hist", stat)
        val_m = errors(d, "val", meth)
        print(f"  the method at the validation origins {val_m.mean() if val_m is not None else float('nan'):.3f}")
        rows = []
        for c in sorted(set(d["fin"]) | {CH.COMB, "snaive+theta+damped", "theta+damped+arima"}):
            if any(b not in d["fin"] for b in CH.bases_of(c)):
                continue
            he, ve = errors(d, "hist", c), errors(d, "val", c)
            t = edge_t(d, "hist", stat, c) if c != stat else None
            rows.append((score(d, c), c, he.mean() / hist_s.mean() if he is not None and hist_s is not None
                         else float("nan"), ve.mean() if ve is not None else float("nan"), t))
        for sc, c, hr, ve, t in sorted(rows):
            print(f"  {'*' if sc <= line + 1e-12 else ' '} {c:24s} last h {sc:7.3f}  history / S's {hr:6.3f}  "
                  f"validation {ve:6.3f}" + (f"  t {t:6.2f}" if t is not None else ""))


def losses(data: list[dict]) -> None:
    """Each last-h forecast that does not beat seasonal naive (the held-out evaluation's count), part by
    part, and the part that fails: "a tie" (the same MASE as seasonal naive), "the combine" (S alone or the
    network alone beats seasonal naive, the median does not), "a near-tie" (S loses, but a candidate whose
    error over the history origins is within 10% of S's, seasonal naive included, does at least as well as
    seasonal naive), "a break" (every candidate that does erred more than 1.1x S's error over the history).
    Then the count by frequency, all and held aside (docs/forecast.md "The held-out proxy")."""
    by_freq: dict[str, list] = {}
    for d in data:
        if d["fold"] != 1:
            continue
        meth = current(d)
        got, sn, nv = score(d, meth), score(d, "snaive"), score(d, "naive")
        why = None
        if got >= sn:
            voting = meth.startswith("median(rnn,")
            stat = meth[len("median(rnn,"):].split(",")[0] if voting else meth
            third = meth[:-1].rsplit(",", 1)[1] if voting else None
            hist_s = errors(d, "hist", stat)
            rnn = score(d, "rnn") if "rnn" in d["fin"] else np.inf
            rows = []
            for c in sorted(set(d["fin"]) | {CH.COMB, "snaive+theta+damped", "theta+damped+arima"}):
                if c == "rnn" or any(b not in d["fin"] for b in CH.bases_of(c)):
                    continue
                he = errors(d, "hist", c)
                rows.append((score(d, c), c, he.mean() / hist_s.mean() if he is not None and hist_s is not None
                             else float("nan")))
            if abs(got - sn) <= 1e-9:
                why = "a tie"
            elif voting and (score(d, stat) < sn or rnn < sn):
                why = "the combine"
            elif any(sc <= sn and hr <= 1.1 for sc, c, hr in rows):
                why = "a near-tie"
            else:
                why = "a break"
            print(f"\n{d['name']} ({d['freq']}, n {len(d['tr'])}){' (aside)' if d['aside'] else ''}: {meth} "
                  f"{got:.3f}; S alone {score(d, stat):.3f}, the network alone {rnn:.3f}"
                  + (f", the third voter {score(d, third):.3f}" if third else "")
                  + f"; seasonal naive {sn:.3f}, naive {nv:.3f}: {why}")
            for sc, c, hr in sorted(rows):
                if sc < sn or c in (stat, "snaive"):
                    print(f"  {'*' if sc < sn else ' '} {c:24s} last h {sc:7.3f}  history / S's {hr:6.3f}")
        by_freq.setdefault(d["freq"], []).append((why, d["aside"]))
    print(f"\n{'freq':6s} {'series':>6s} {'lose':>5s}  why {'(held aside: series, lose, why)':>40s}")
    for f, whys in sorted(by_freq.items()):
        for label, rows in (("", whys), ("held aside: ", [w for w in whys if w[1]])):
            lost = [w for w, _ in rows if w]
            kinds_ = ", ".join(f"{k} {lost.count(k)}" for k in sorted(set(lost)))
            print(f"{'' if label else f:6s} {label}{len(rows):6d} {len(lost):5d}  {kinds_}")


def paired(sets: list[list[dict]], rules: dict, base: str = "before: the third voter always theta+damped",
           reps: int = 4000) -> None:
    """Each rule against ``base`` forecast by forecast over the given sets together (e.g. the 40 and the R
    series of one seed): the mean MASE difference over all origins and over the last h, and the share of
    ``reps`` bootstrap resamples of the series (a series' origins stay together) in which the rule is
    ahead, with the 90% interval of the difference."""
    rng = np.random.default_rng(0)
    for name, rule in rules.items():
        per, cnt, last = [], [], []
        for data in sets:
            by: dict[str, list] = {}
            for d in data:
                by.setdefault(d["name"], []).append((score(d, rule(d)) - score(d, RULES[base](d)), d["fold"] == 1))
            for rows in by.values():
                per.append(sum(x for x, _ in rows))
                cnt.append(len(rows))
                last.append(sum(x for x, f in rows if f))
        per, cnt, last = np.array(per), np.array(cnt), np.array(last)
        idx = rng.integers(0, len(per), (reps, len(per)))
        m, ml = per[idx].sum(1) / cnt[idx].sum(1), last[idx].mean(1)
        print(f"{name[:60]:60s} all {per.sum() / cnt.sum():+.4f} ahead {np.mean(m < 0):.2f} 90% "
              f"[{np.quantile(m, .05):+.4f}, {np.quantile(m, .95):+.4f}] | last h {last.mean():+.4f} ahead "
              f"{np.mean(ml < 0):.2f} | series better / worse {(per < -1e-9).sum()} / {(per > 1e-9).sum()}",
              flush=True)


def choice_match(data: list[dict]) -> None:
    """How well ranking the candidates on some origins picks the method that does best on the forecast
    that follows: mean MASE of the statistical method (alone) picked by each ranking, the oracle, the
    candidates' mean, and the rank correlation between the history error and the error that followed."""
    from scipy.stats import spearmanr

    rankings = {
        "all history origins (today)": lambda d, e: e.mean(),
        "the last 10% of them": lambda d, e: e[-max(1, len(e) // 10):].mean(),
        "the last one": lambda d, e: e[-1].mean(),
        "the first half": lambda d, e: e[:len(e) // 2].mean(),
        "the first step only": lambda d, e: e[:, 0].mean(),
        "steps weighted by their number": lambda d, e: (e * np.arange(1, d["h"] + 1)).mean(),
    }
    groups: dict[str, list] = {}
    for d in data:
        hist = hist_errors(d)
        if not hist:
            continue
        cands = [m for m in CH.STATS if m in hist]
        real = {m: score(d, m) for m in cands}
        picks = []
        for how in rankings.values():
            cost = {m: how(d, hist[m]) for m in cands}
            picks.append(real[min(cands, key=lambda m: (cost[m], CH.STATS.index(m)))])
        val = {m: e.mean() for m in cands if (e := errors(d, "val", m)) is not None}
        picks.append(real[min(val, key=val.get)] if val else np.nan)
        rho = spearmanr([hist[m].mean() for m in cands], [real[m] for m in cands]).statistic
        row = [*picks, min(real.values()), float(np.mean(list(real.values()))), rho]
        for g in ("all", "last h" if d["fold"] == 1 else "earlier origins"):
            groups.setdefault(g, []).append(row)
    names = [*rankings, "the network's validation origins", "oracle", "mean of the candidates",
             "rank correlation"]
    print("S alone, ranked on: " + " | ".join(names))
    for g, rows in groups.items():
        print(f"{g:16s} n={len(rows):3d} " + " ".join(f"{x:.3f}" for x in np.nanmean(np.array(rows, float), 0)))


def kinds(data: list[dict]) -> None:
    """Where the current rule loses, by frequency, length and origin: its mean MASE, the better of naive and
    seasonal naive, forecasts worse than 1.1x that, the best single candidate in hindsight (the oracle),
    theta+damped and the network alone."""
    groups: dict[str, list] = {}
    for d in data:
        s, simple = score(d, current(d)), min(score(d, "naive"), score(d, "snaive"))
        cands = [score(d, k) for k in (*CH.STATS, "rnn") if all(b in d["fin"] for b in CH.bases_of(k))]
        n = len(d["tr"])
        row = (s, simple, s > 1.1 * simple + 1e-12, min(cands), score(d, CH.COMB), score(d, "rnn"))
        for g in (f"freq {d['freq']}", "n < 100" if n < 100 else "n 100-249" if n < 250 else "n >= 250",
                  "last h" if d["fold"] == 1 else "earlier origins"):
            groups.setdefault(g, []).append(row)
    print(f"{'group':16s} {'n':>3s} {'current':>7s} {'simple':>7s} {'worse':>5s} {'oracle':>7s} {'comb':>7s} "
          f"{'rnn':>7s}")
    for g in sorted(groups):
        a = np.array(groups[g], float)
        print(f"{g:16s} {len(a):3d} {a[:, 0].mean():7.3f} {a[:, 1].mean():7.3f} {int(a[:, 2].sum()):5d} "
              f"{a[:, 3].mean():7.3f} {a[:, 4].mean():7.3f} {a[:, 5].mean():7.3f}")


# --- intervals: calibration variants, scored on the hidden points ----------------------------------------

def _local_scale(y: np.ndarray, o: int, m: int, seasons: int) -> float:
    return CH.series_scale(y[max(0, o + 1 - max(seasons * max(m, 1), 16)):o + 1], m)


def interval_cover(d: dict, variant: str) -> tuple:
    """Coverage of the 80/95% intervals of the series' method on its hidden points, and their interval
    scores (Winkler's; MSIS for 95%, M4's), scaled like MASE, under a calibration ``variant``."""
    val, hist = val_errors(d), hist_errors(d)
    stat, meth = CH.pick(val, hist, n=len(d["tr"]))
    y, m = d["tr"], d["m"]
    end = CH.series_scale(y, m)
    if not len(d["vo"]) and hist and (variant == "current" or variant.startswith("cv growth")):
        # a short series (choose.choose's short path): calibrated on every origin's partial horizon
        po, part = _partial(d)
        meth = CH.pick_short(hist, part)
        E = {meth: part[meth]} if meth in part else {meth: hist[meth]}
        o = po if meth in part else d["ho"]
        if variant == "current":
            E = CH.on_level(E, y, o, m, d["vscale"])
        elif np.all(y > 0):
            grid = [float(v) for v in variant.split()[2].split("/")]
            b = _cv_growth(hist.get(meth), y, d["ho"], m, grid, variant)
            lend = CH.levels_at(y, np.array([len(y) - 1]), m)[0]
            E = {meth: E[meth] * ((d["vscale"] / end) * (lend / CH.levels_at(y, o, m)) ** b)[:, None]}
        return _cover(d, meth, CH.interval_table(E[meth], [80, 95], grow=meth in part), end)
    if variant.startswith("local"):
        # every origin's errors over the MASE scale of the 4 seasons before it (a level that grows or a
        # spread that changes), scaled back by that of the last 4 seasons
        seasons = int(variant.split()[1])

        def local(where, origins, names):
            out = {}
            for k in names:
                e = errors(d, where, k)
                if e is not None:
                    s = np.array([_local_scale(y, int(o), m, seasons) for o in origins])[:, None]
                    out[k] = e * d["vscale"] / s
            return out
        val, hist = local("val", d["vo"], val), local("hist", d["ho"], hist) if len(d["ho"]) else {}
        end = _local_scale(y, len(y) - 1, m, seasons)
    if variant.startswith("sqrt level") and np.all(y > 0):
        def size(y, o, m, k):
            return _level(y, o, m, k) ** 0.5
        out = {}
        for where, origins, names in (("val", d["vo"], val), ("hist", d["ho"], hist)):
            out[where] = {}
            for name in names:
                e = errors(d, where, name) if len(origins) else None
                if e is not None:
                    s = np.array([size(y, int(o), m, 2) for o in origins])[:, None]
                    out[where][name] = e * d["vscale"] / s
        Er = CH.calibration_errors(meth, out["val"], out["hist"], stat)
        return _cover(d, meth, CH.interval_table(Er, [80, 95]) * size(y, len(y) - 1, m, 2) / end, end)
    if variant.startswith(("level", "max level", "trail", "max trail")):
        # every origin's errors relative to the series' size (or recent spread) at that origin, scaled back
        # by the same at the end: errors that grow with the level of a growing series
        corr_min = float(variant.split(" if corr ")[1]) if " if corr " in variant else 0.5
        kind, _, arg = variant.split(" if corr")[0].replace("max ", "").partition(" ")
        size = _level if kind == "level" else _trail
        k = float(arg) if arg else 2.0

        def rel(where, origins, names):
            out = {}
            for name in names:
                e = errors(d, where, name)
                if e is not None:
                    s = np.array([size(y, int(o), m, k) for o in origins])[:, None]
                    out[name] = e * d["vscale"] / s
            return out
        use = np.all(y > 0) or kind != "level"
        if use and " if corr" in variant:
            # only where S's errors over the history grow with the level at their origins (data.multiplicative's
            # threshold: correlation above 0.5)
            e = hist.get(stat)
            use = e is not None and len(e) >= 3
            if use:
                lv = np.array([size(y, int(o), m, k) for o in d["ho"]])
                a, b = lv - lv.mean(), e.mean(1) - e.mean()
                den = float(np.sqrt(a @ a * (b @ b)))
                use = den > 0 and float(a @ b) / den > corr_min
        if use:
            rval = rel("val", d["vo"], val) if len(d["vo"]) else {}
            rhist = rel("hist", d["ho"], hist) if len(d["ho"]) else {}
            Er = CH.calibration_errors(meth, rval, rhist, stat)
            tr = CH.interval_table(Er, [80, 95]) * size(y, len(y) - 1, m, k) / end
            if variant.startswith("max"):
                tr = np.maximum(tr, CH.interval_table(CH.calibration_errors(meth, val, hist, stat), [80, 95]))
            return _cover(d, meth, tr, end)
    if variant.startswith("elastic") and np.all(y > 0):
        # errors that grow like level ** b, b the slope of log(S's mean error at each history origin) on
        # log(level there), clipped to [0, 1]: 0 keeps one scale per series, 1 is relative to the level
        e = hist.get(stat)
        b = 0.0
        if e is not None and len(e) >= 3:
            lv = np.log(CH.levels_at(y, d["ho"], m))
            a = np.log(e.mean(1) + 1e-9 * max(float(e.mean()), 1e-300))
            if np.ptp(lv) > 0:
                b = float(np.clip(np.polyfit(lv, a, 1)[0], 0.0, 1.0))
        lend = CH.levels_at(y, np.array([len(y) - 1]), m)[0]

        def el(errs, origins):
            if not errs or not len(origins):
                return errs
            f = ((d["vscale"] / end) * lend / CH.levels_at(y, origins, m)) ** b
            return {k: v * f[:, None] for k, v in errs.items()}
        val, hist = el(val, d["vo"]), el(hist, d["ho"])
    if variant.startswith("cv growth") and np.all(y > 0):
        # errors that grow like level ** b, b chosen per series from a grid by a split of its own history
        # origins: the table from the earlier half, scored (interval score) on the later half
        grid = [float(v) for v in variant.split()[2].split("/")]
        b = _cv_growth(hist.get(stat), y, d["ho"], m, grid, variant)
        lend = CH.levels_at(y, np.array([len(y) - 1]), m)[0]

        def el(errs, origins):
            if not errs or not len(origins):
                return errs
            f = (d["vscale"] / end) * (lend / CH.levels_at(y, origins, m)) ** b
            return {k: v * f[:, None] for k, v in errs.items()}
        val, hist = el(val, d["vo"]), el(hist, d["ho"])
    if variant == "current":
        # choose.py: each origin's errors relative to the level there (positive series)
        val = CH.on_level(val, y, d["vo"], m, d["vscale"])
        hist = CH.on_level(hist, y, d["ho"], m, d["vscale"])
    E = CH.calibration_errors(meth, val, hist, stat)
    if variant.startswith("few origins"):
        # a Student-t-like allowance for the quantile of few origins: widths times t(q, V-1)/z(q)
        from scipy import stats as _st
        tab = CH.interval_table(E, [80, 95])
        V = len(E)
        for j, lev in enumerate((80, 95)):
            p = 0.5 + lev / 200
            tab[j] *= float(_st.t.ppf(p, max(V - 1, 1)) / _st.norm.ppf(p)) if V < 30 else 1.0
        return _cover(d, meth, tab, end)
    weights = None
    if meth in hist and variant in ("the history's recent half", "recent halves"):
        E = hist[meth][len(hist[meth]) // 2:]
    if meth not in hist and stat in hist and stat in val and variant in (
            "widened by the recent half's ratio", "recent halves"):
        recent = hist[stat][len(hist[stat]) // 2:]
        E = val[meth] * max(1.0, float(recent.mean()) / float(val[stat].mean()))
    if meth not in hist and stat in hist and stat in val and variant == "widened by the ratio of 90% quantiles":
        E = val[meth] * max(1.0, float(np.quantile(hist[stat], 0.9)) / max(float(np.quantile(val[stat], 0.9)), 1e-12))
    if meth not in hist and stat in hist and stat in val and variant == "S's history errors times the vote's ratio":
        E = hist[stat] * float(val[meth].mean()) / max(float(val[stat].mean()), 1e-12)
    if meth in hist and variant.startswith("history origins weighted, half-life"):
        ho = d["ho"]
        weights = 0.5 ** ((ho.max() - ho) / (float(variant.split()[-2]) * len(y)))
    if meth not in hist and stat in hist:
        if variant == "with the network: S's history errors":
            E = hist[stat]
        elif variant == "with the network: S's history errors and its own":
            E = np.concatenate([hist[stat], E])
        elif variant == "the same, below 10 validation origins" and len(E) < 10:
            E = np.concatenate([hist[stat], E])
    if variant == "per step (no pooling over the steps)":
        V = len(E)
        table = np.maximum.accumulate(np.stack([np.quantile(E, min(1.0, lev / 100 * (V + 1) / V), axis=0,
                                                            method="higher") for lev in (80, 95)]), axis=1)
    elif weights is not None:
        table = _weighted_table(E, (80, 95), weights)
    else:
        table = CH.interval_table(E, [80, 95])
    if variant.startswith("rescaled at the validation origins"):
        # each level's half-widths times the factor that makes them cover that level of the method's
        # scaled errors at the validation origins (the last 20% of the history), pooled over the horizon
        ev = errors(d, "val", meth)
        if ev is not None and len(ev):
            wv = CH.widths(table, ev.shape[1])
            for j, lev in enumerate((80, 95)):
                f = float(np.quantile(ev / np.maximum(wv[j], 1e-12), lev / 100))
                table[j] *= f if variant.endswith("both ways") else max(f, 1.0) if variant.endswith(
                    "wider only") else min(f, 1.0)
    return _cover(d, meth, table, end)


def _cv_growth(e, y, ho, m, grid, variant="") -> float:
    """The exponent b of errors ~ level ** b (from ``grid``) whose table, calibrated on the earlier half of
    a series' history origins, has the lowest interval score (80 and 95%) on the later half; the last of
    the grid (ties and too few origins)."""
    fallback = grid[-1]
    margin = float(variant.split(" margin ")[1]) if " margin " in variant else 1 - 1e-9
    if e is None or len(e) < 8:
        return fallback
    lv = CH.levels_at(y, ho, m)
    k = len(e) // 2
    best, pick = np.inf, fallback
    for b in grid[::-1]:
        u = e / lv[:, None] ** b
        tab = CH.interval_table(u[:k], [80, 95])
        W = tab[:, None, :] * (lv[k:, None] ** b)[None]
        err = e[k:][None]
        isc = 2 * W + np.array([2 / 0.2, 2 / 0.05])[:, None, None] * np.maximum(err - W, 0)
        sc = float(isc.mean())
        if sc < best * (margin if np.isfinite(best) else 1.0):
            best, pick = sc, b
    return pick


def _cover(d: dict, meth: str, table: np.ndarray, end: float) -> tuple:
    y, m = d["tr"], d["m"]
    W = CH.widths(table, d["h"]) * end
    err = np.abs(d["te"] - forecast_of(d, meth))
    cov = [float((err <= W[j]).mean()) for j in range(2)]
    isc = [float(np.mean(2 * W[j] + 2 / a * np.maximum(err - W[j], 0))) / CH.series_scale(y, m)
           for j, a in enumerate((0.2, 0.05))]
    return cov, isc


def _level(y: np.ndarray, o: int, m: int, k: float) -> float:
    """The series' size at origin o: the mean |value| of its last season (at least k values)."""
    w = max(m, int(k))
    return float(np.mean(np.abs(y[max(0, o + 1 - w):o + 1]))) or 1e-12


def _trail(y: np.ndarray, o: int, m: int, k: float) -> float:
    """The series' recent spread at origin o: the MASE scale of its last k seasons (at least 8 values,
    lag 1 when they hold fewer than two seasons), falling back to the whole history's."""
    w = max(int(k * max(m, 1)), 8)
    return CH.series_scale(y[max(0, o + 1 - w):o + 1], m)


def _weighted_table(E: np.ndarray, levels, w: np.ndarray) -> np.ndarray:
    """choose.interval_table with a weight per origin (the level inflated by the effective count)."""
    spread = np.maximum.accumulate(np.maximum(np.average(E, axis=0, weights=w), 1e-9))
    vals = (E / spread).ravel()
    ww = np.repeat(w, E.shape[1])
    o = np.argsort(vals, kind="stable")
    vals, c = vals[o], np.cumsum(ww[o]) / ww.sum()
    neff = w.sum() ** 2 / (w ** 2).sum()
    return np.stack([vals[min(np.searchsorted(c, min(1.0, lev / 100 * (neff + 1) / neff)), len(vals) - 1)]
                     * spread for lev in levels])


INTERVALS = ("current", "before: plain scaled errors", "local 4", "local 8", "with the network: S's history errors",
             "with the network: S's history errors and its own", "the same, below 10 validation origins",
             "rescaled at the validation origins, both ways", "rescaled at the validation origins, wider only",
             "rescaled at the validation origins, narrower only", "the history's recent half",
             "widened by the recent half's ratio", "recent halves", "history origins weighted, half-life 0.5 n",
             "history origins weighted, half-life 0.25 n", "widened by the ratio of 90% quantiles",
             "S's history errors times the vote's ratio", "per step (no pooling over the steps)",
             "level", "elastic", "sqrt level", "level 4", "level 8", "level if corr 0.5", "level if corr 0.3",
             "level if corr 0.7", "level if corr 0", "level 4 if corr 0.5", "max level", "trail 4", "trail 8",
             "max trail 4", "max trail 8", "few origins", "cv growth 0/1", "cv growth 0/0.5/1",
             "cv growth 0/0.25/0.5/0.75/1", "cv growth 0.5/1", "cv growth 0/0.5/1 margin 0.9",
             "cv growth 0/0.5/1 margin 0.8", "cv growth 0.5/1 margin 0.9")


def interval_table(data: list[dict], only=None, skip=()) -> None:
    """Coverage (per hidden point; per forecast in brackets) over all forecasts, the last h, earlier
    origins and per frequency, and the mean interval scores, per calibration variant."""
    for v in INTERVALS:
        if only and v not in only:
            continue
        groups: dict[str, list] = {}
        for d in data:
            cov, isc = interval_cover(d, v)
            if d["name"] in skip:
                continue
            for g in ("all", "last h" if d["fold"] == 1 else "earlier", d["freq"]):
                groups.setdefault(g, []).append((*cov, d["h"], *isc))
        parts, within, cells = [], [0, 0], 0
        for g, rows in groups.items():
            a = np.array(rows)
            c80, c95 = 100 * np.average(a[:, 0], weights=a[:, 2]), 100 * np.average(a[:, 1], weights=a[:, 2])
            parts.append(f"{g} {c80:.1f}/{c95:.1f}")
            if g not in ("all", "last h", "earlier"):
                cells += 1
                within[0] += abs(c80 - 80) <= 3
                within[1] += abs(c95 - 95) <= 3
        a, b = np.array(groups["all"]), np.array(groups["last h"])
        print(f"{v:48s} [{100 * a[:, 0].mean():.1f}/{100 * a[:, 1].mean():.1f}] last h [{100 * b[:, 0].mean():.1f}/"
              f"{100 * b[:, 1].mean():.1f}] IS80 {a[:, 3].mean():.3f} "
              f"MSIS95 {a[:, 4].mean():.3f} frequencies within 3 points {within[0]}/{within[1]} of {cells} | "
              + "  ".join(parts), flush=True)


def table(data: list[dict], rules: dict) -> None:
    simple = {}
    for d in data:
        simple[(d["name"], d["fold"])] = (score(d, "naive"), score(d, "snaive"))
    print(f"{'rule':64s} {'4 origins':>9s} {'aside':>6s} {'worse':>5s} {'aside':>5s} {'beats':>5s} {'aside':>5s}"
          f" | {'last h':>6s} {'aside':>6s} {'worse':>5s} {'aside':>5s} {'beats':>5s} {'aside':>5s} | geo last h"
          " all / aside")
    for name, rule in rules.items():
        rows = []
        for d in data:
            meth = rule(d)
            s = score(d, meth)
            nv, sn = simple[(d["name"], d["fold"])]
            rows.append((d["fold"], d["aside"], s, s > 1.1 * min(nv, sn) + 1e-12, s < sn,
                         np.log(max(s / sn, 1e-9)) if sn > 0 else 0.0))
        r = np.array(rows, dtype=float)

        def part(sel, r=r):
            x = r[sel]
            if not len(x):
                return "-", 0, 0, "-"
            return (f"{x[:, 2].mean():6.4f}", int(x[:, 3].sum()), int(x[:, 4].sum()), f"{np.exp(x[:, 5].mean()):.3f}")
        al, asd = part(np.ones(len(r), bool)), part(r[:, 1] > 0)
        la, lasd = part(r[:, 0] == 1), part((r[:, 0] == 1) & (r[:, 1] > 0))
        print(f"{name[:64]:64s} {al[0]:>9s} {asd[0]:>6s} {al[1]:5d} {asd[1]:5d} {al[2]:5d} {asd[2]:5d}"
              f" | {la[0]:>6s} {lasd[0]:>6s} {la[1]:5d} {lasd[1]:5d} {la[2]:5d} {lasd[2]:5d} | geo {la[3]} / "
              f"{lasd[3]}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-cache", help="the networks of forecast_vs_baselines.py --model-cache")
    ap.add_argument("--net-suffix", default="", help="the --model-cache names' engine options, e.g. -seed=2")
    ap.add_argument("--max-history", type=int, default=2016, help="as forecast_vs_baselines.py --max-history")
    ap.add_argument("--bases", required=True, help="this script's cache of base forecasts (pickle, its own)")
    ap.add_argument("--score", action="store_true", help="score the rules from --bases")
    ap.add_argument("--series", default=None, help="JSONL of other series (as forecast_vs_baselines.py --series)")
    ap.add_argument("--rules", type=lambda s: s.split(","), default=None)
    ap.add_argument("--intervals", action="store_true", help="the interval calibration variants (with --bases)")
    ap.add_argument("--skip", type=lambda s: s.split(","), default=[], help="series left out of the scores")
    ap.add_argument("--freq", type=lambda s: s.split(","), default=None,
                    help="the rules apply to series of these frequencies only (e.g. Q); the others keep the "
                         "current rule")
    ap.add_argument("--kinds", action="store_true", help="where the current rule loses (with --bases)")
    ap.add_argument("--parts", action="store_true",
                    help="each last-h forecast worse than 1.1x the better naive, part by part (with --bases)")
    ap.add_argument("--losses", action="store_true",
                    help="each last-h forecast that does not beat seasonal naive, part by part, by frequency")
    ap.add_argument("--paired", nargs="*", default=None,
                    help="more --bases caches scored together with --bases: each rule against the third voter "
                         "always theta+damped, forecast by forecast, with a bootstrap over the series")
    ap.add_argument("--choice-match", action="store_true",
                    help="how the origins S is ranked on match the forecast that follows (with --bases)")
    ap.add_argument("--cycles", type=int, default=None,
                    help="seasonal indices over the last N cycles (0: all) instead of methods.SEASON_CYCLES")
    ap.add_argument("--test-values", action="store_true",
                    help="test for seasonality on the values (thetaf's form) instead of their differences")
    args = ap.parse_args()
    if args.cycles is not None or args.test_values:
        import functools

        if args.cycles is not None:
            M.SEASON_CYCLES = args.cycles or 10 ** 9
        if args.test_values:
            M.seasonal_indices = functools.partial(M.seasonal_indices, differences=not args.test_values)
    if args.model_cache:
        from rnntools import console
        from rnntools.parallel import configure_threads

        configure_threads(1)
        console.configure(quiet=True)
        with open(args.bases, "wb") as f:
            pickle.dump(bases(args.model_cache, args.max_history, args.series, args.net_suffix), f)
    if args.score:
        with open(args.bases, "rb") as f:
            data = pickle.load(f)
        if args.paired is not None:
            sets = [data]
            for path in args.paired:
                with open(path, "rb") as f:
                    sets.append(pickle.load(f))
            paired(sets, {k: v for k, v in RULES.items() if not args.rules or k in args.rules})
            return
        if args.intervals:
            interval_table(data, args.rules, set(args.skip))
        if args.choice_match:
            choice_match(data)
        if args.kinds:
            kinds(data)
        if args.parts:
            parts(data)
        if args.losses:
            losses(data)
        if args.intervals or args.choice_match or args.kinds or args.parts or args.losses:
            return
        rules = {k: v for k, v in RULES.items() if not args.rules or k in args.rules}
        if args.freq:
            rules = {k: (lambda rule: lambda d: rule(d) if d["freq"] in args.freq else current(d))(v)
                     for k, v in rules.items()}
        data = [d for d in data if d["name"] not in args.skip]
        print(f"{len(data)} forecasts; {sum(d['fold'] == 1 for d in data)} series; "
              f"{sum(d['aside'] for d in data)} forecasts aside")
        table(data, rules)


if __name__ == "__main__":
    main()
