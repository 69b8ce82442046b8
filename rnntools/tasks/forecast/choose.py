"""Per series, how to forecast it: which statistical method to trust, chosen honestly, and the network
combined with it; and the prediction intervals of each such method.

Methods are strings: a base method (``rnn``, the network; ``naive``, ``snaive``, ``drift``, ``theta``,
``damped``, ``weekly``: methods.py), ``a+b`` (the mean of the parts; ``theta+damped`` is the M4 "comb"
idea in small, ``snaive+theta+damped`` adds last season's shape to it) or ``median(a,b,c)`` (the median of
the parts at each step).

The choice (:func:`choose`): the statistical candidates (``STATS``) forecast up to ``HISTORY_ORIGINS``
origins spread over each series' whole history, from the values up to each origin; the one with the lowest
mean error (scaled by the series' MASE scale) is the series' statistical method S. The network alone
is never chosen by its errors: its validation origins also chose its early-stopping point, so its error
there is optimistic, and picking the network on them was often wrong on the data that followed. The
series is forecast by ``median(rnn,S,theta+damped)``: when the network and the statistics disagree, the
median follows whichever side two of the three take, so one bad member cannot carry the forecast (a
combination of diverse forecasters is the steadiest result of the M competitions). The third voter is
``theta+damped+arima`` instead where ``arima`` erred less than Theta and the damped trend each over the
history (:func:`third_voter`). When S is the third voter itself, the median of it, itself and the network
is S; when S erred less than half as
much as ``theta+damped`` over the history (an exactly repeating season), S forecasts alone; and S forecasts
alone where it erred no more than the median at the network's validation origins: there the network's
error is if anything optimistic (those origins also chose its early-stopping point), so a vote that did not
help there is dropped: the forecaster falls back to the simpler forecast where it validates no worse. A
series whose last season is one repeated value has stopped and is forecast by naive (:func:`stopped`).
Measured on the benchmark of docs/forecast.md against choosing among the network and the methods by
validation error (an earlier rule) and against always voting. Series the model has not seen take the
method with the lowest pooled validation error.

Intervals: split conformal per method on pooled scaled errors (each horizon's errors divided by that
horizon's mean, one quantile over all of them at the level times (V + 1) / V for V origins, scaled
back), times the series' scale; past the calibrated horizon they grow like sqrt(h). Statistical methods
are calibrated on their errors at the history origins. A method with the network in it has errors only
at the validation origins, which are too few and too calm: they are widened by how much larger the
series' statistical method S erred over the whole history than at those validation origins (never
below 1). A positive series' errors count relative to its level at each origin (:func:`on_level`): the
errors of a series that grew tenfold were mostly made where it was small, and calibrated as they were
they made its intervals at the end too narrow (the errors of multiplicative-error ETS models).
A series too short for validation origins is calibrated on its methods' partial-horizon errors, pooled
only with the other such series of the same method, in a table of its own (``SHORT`` + method): those
errors are a different kind of evidence, with a sqrt(step) floor on their spread, and pooled with the
long series' errors they changed the long series' intervals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rnntools.tasks.forecast import methods as M
from rnntools.tasks.forecast.data import row_blocks
from rnntools.tasks.forecast.metrics import mase_scale

BASES = ("rnn", *M.METHODS, *M.EXTRA, *M.LOGS, *M.SEASONAL, *M.ARIMA, *M.ETS)
COMB = "theta+damped"
# seasonal naive pulled toward the smoothed trend: on strongly seasonal series (wine sales, beer, El Nino,
# prescriptions) last season's shape carries what the decomposition's average indices smooth away
SEASONAL_COMB = "snaive+theta+damped"
# the same with yesterday's shape too, for hourly and half-hourly data given their weekly season (``daily``
# is a candidate there): demand repeats both the day before and the same day a week before, and each misses
# what the other sees (a holiday week, a change of weather); their mean, pulled toward the smoothed trend
DAILY_COMB = "snaive+daily+theta+damped"
# and the reverse, for the same data given its daily season (``weekly`` is a candidate there)
WEEKLY_COMB = "snaive+weekly+theta+damped"
STATS = (*M.METHODS, *M.EXTRA, COMB, SEASONAL_COMB, DAILY_COMB, WEEKLY_COMB, *M.LOGS, *M.SEASONAL, *M.ARIMA,
         *M.ETS)
# the third voter with the autoregression on the differences joined, for series where it erred less than
# Theta and the damped trend each over the history: there its damped, cyclical growth (sunspots, money
# stock, production, unemployment) is information the comb's two smoothers lack
TREND_COMB = "theta+damped+arima"
THIRDS = (COMB, TREND_COMB)
HISTORY_ORIGINS = 200
# a statistical method that erred less than SOLO times theta+damped's error over the history forecasts alone
SOLO = 0.5
# a series of fewer values (with validation origins) has no drift candidate: the drift's slope, the mean growth
# from its first value to its last, rests on a few cycles of a business cycle there and carries a trend that
# broke straight on; the damped trends and Theta, which damp or halve it, forecast the growth instead
# (docs/forecast.md, "No drift candidate below 100 values")
DRIFT_MIN = 100
# a series too short for validation origins: its best method by every origin's partial horizon forecasts
# only where it erred less than SHORT_COMB times theta+damped's error there, theta+damped otherwise
SHORT_COMB = 0.9
# a series whose last season, and at least FLAT_MIN values, is one repeated value has stopped (a discontinued
# product's zeros, a rate held, a meter that no longer moves): it is forecast by naive (:func:`stopped`)
FLAT_MIN = 6
# the key of the interval table of the short series (no validation origins) forecast by a method
SHORT = "short:"
# older model files chose among these; they still load and forecast
LEGACY = ("rnn+theta",)


def _mean_parts(method: str) -> tuple[str, ...]:
    names = tuple(method.split("+"))
    if any(n not in BASES for n in names):
        raise ValueError(method)
    return names


def valid_method(method) -> bool:
    """Whether ``method`` is a method string (a base, ``a+b``, or ``median(...)`` of those)."""
    if not isinstance(method, str):
        return False
    try:
        bases_of(method)
    except ValueError:
        return False
    return True


def bases_of(method: str) -> tuple[str, ...]:
    """The base methods a method string needs; ValueError when it is not a method string."""
    m = re.fullmatch(r"median\(([a-z+,]+)\)", method)
    if m:
        members = m.group(1).split(",")
        if len(members) < 2:
            raise ValueError(method)
        return tuple(dict.fromkeys(b for p in members for b in _mean_parts(p)))
    return _mean_parts(method)


def combine(method: str, f: dict) -> np.ndarray:
    """The forecasts of ``method`` from those of its bases, ``f``: name -> (..., h) arrays."""
    if method.startswith("median("):
        members = [combine(p, f) for p in method[7:-1].split(",")]
        return np.median(np.stack(members), axis=0)
    names = method.split("+")
    out = f[names[0]]
    for n in names[1:]:
        out = out + f[n]
    return out / len(names) if len(names) > 1 else out


def with_network(stat: str, third: str = COMB) -> str:
    """The method of a series whose statistical method is ``stat`` and whose third voter is ``third``."""
    return third if stat == third else f"median(rnn,{stat},{third})"


def voted(stats) -> tuple[str, ...]:
    """Every method string with the network's vote, for the statistical methods ``stats``."""
    return tuple(dict.fromkeys(with_network(s, t) for s in stats for t in THIRDS))


def third_voter(hist: dict) -> str:
    """The third voter of a series from its history errors: TREND_COMB where ``arima`` erred less than
    ``theta`` and ``damped`` each, else COMB."""
    a = hist.get("arima")
    if a is not None and all(k in hist and a.mean() < hist[k].mean() for k in ("theta", "damped")):
        return TREND_COMB
    return COMB


def series_scale(y: np.ndarray, m: int) -> float:
    """The MASE scale of y (in-sample seasonal-naive MAE), falling back to the lag-1 error, then to 1."""
    s = mase_scale(y, m)
    if not (np.isfinite(s) and s > 0):
        s = mase_scale(y, 1)
    if not (np.isfinite(s) and s > 0):
        s = max(abs(float(np.mean(y))) * 1e-3, 1e-12) if len(y) else 1.0
    return float(s)


def series_scales(values: list[np.ndarray], m: int) -> np.ndarray:
    """(B,) :func:`series_scale` of every series, batched over series of equal length."""
    out = np.empty(len(values))
    for n, rows in by_length(values).items():
        if n == 0:
            out[rows] = 1.0
            continue
        Y = np.stack([values[i] for i in rows])
        lag = m if n > m else 1
        s = np.abs(Y[:, lag:] - Y[:, :-lag]).mean(1) if n > lag else np.zeros(len(rows))
        bad = ~(np.isfinite(s) & (s > 0))
        if bad.any() and lag != 1:
            s1 = np.abs(Y[:, 1:] - Y[:, :-1]).mean(1) if n > 1 else np.zeros(len(rows))
            s = np.where(bad, s1, s)
            bad = ~(np.isfinite(s) & (s > 0))
        if bad.any():
            s = np.where(bad, np.maximum(np.abs(Y.mean(1)) * 1e-3, 1e-12), s)
        out[rows] = s
    return out


def by_length(values: list[np.ndarray]) -> dict[int, list[int]]:
    """Row numbers by series length: the batched methods run over equal-length groups (a file of many
    series usually has few distinct lengths)."""
    by_len: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        by_len.setdefault(len(v), []).append(i)
    return by_len


def _stat_forecasts(y: np.ndarray, origins: np.ndarray, horizon: int, season: int, first: int) -> dict:
    """Every statistical candidate's forecasts of y from ``origins``; the seasonal indices of the decomposed
    methods from y[:first + 1] (of its logarithms for the LOGS methods)."""
    x, positive = M.logged(y)
    indices = M.seasonal_indices(y[:first + 1], season) if season > 1 else None
    log_indices = M.seasonal_indices(x[:first + 1], season) if season > 1 and positive else None
    f = {meth: M.forecasts(meth, y, origins, horizon, season, log_indices if meth in M.LOGS else indices)
         for meth in M.methods_for(season, len(y), positive)}
    f[COMB] = combine(COMB, f)
    f[SEASONAL_COMB] = combine(SEASONAL_COMB, f)
    if "daily" in f:
        f[DAILY_COMB] = combine(DAILY_COMB, f)
    if "weekly" in f:
        f[WEEKLY_COMB] = combine(WEEKLY_COMB, f)
    return f


def history_origins(n: int, horizon: int, season: int, short: bool = False) -> np.ndarray:
    """Up to HISTORY_ORIGINS origins spread evenly over a series of n values, each with a full horizon after
    it and at least two seasons (or 8 values, or a week for ``weekly``) before it; ``short``: at least one
    season (or 2 values) before it, for a series too short to hold out validation origins."""
    start = max(season, 2) if short else max(2 * season, 8, (M.long_season(season) or 0) + 1)
    last = n - horizon - 1
    if last < start:
        return np.zeros(0, np.int64)
    return np.unique(np.linspace(start, last, min(HISTORY_ORIGINS, last - start + 1)).astype(np.int64))


def series_errors(y: np.ndarray, rnn: np.ndarray, origins: np.ndarray, horizon: int, season: int):
    """Scaled absolute errors (origins, horizon) of one series: ``val``, every method (the network's
    forecasts ``rnn`` at the validation ``origins`` given) at the validation origins; ``hist``, the
    statistical methods at the history origins. Scaled by the series' MASE scale before its first
    validation origin."""
    first = int(origins.min())
    truth = np.stack([y[o + 1:o + 1 + horizon] for o in origins])
    scale = series_scale(y[:first + 1], season)
    f = {"rnn": rnn, **_stat_forecasts(y, origins, horizon, season, first)}
    hist = history_errors(y, history_origins(len(y), horizon, season), horizon, season, first, scale)
    val = {}
    for meth in (*f, *voted(st for st in STATS if st in f)):
        if any(b not in f for b in bases_of(meth)):
            continue
        e = np.abs(combine(meth, f) - truth) / scale
        if np.all(np.isfinite(e)):
            val[meth] = e
    return val, hist


def history_errors(y: np.ndarray, ho: np.ndarray, horizon: int, season: int, first: int,
                   scale: float) -> dict:
    """Scaled absolute errors (origins, horizon) of every statistical method at the history origins ``ho``
    (the seasonal indices from y[:first + 1]); a method with a non-finite error is left out."""
    hist = {}
    if len(ho):
        htruth = np.stack([y[o + 1:o + 1 + horizon] for o in ho])
        for meth, fh in _stat_forecasts(y, ho, horizon, season, first).items():
            with np.errstate(all="ignore"):
                e = np.abs(fh - htruth) / scale
            if np.all(np.isfinite(e)):
                hist[meth] = e
    return hist


def partial_errors(y: np.ndarray, horizon: int, season: int, scale: float) -> tuple[np.ndarray, dict]:
    """(origins, errors) of every statistical method from each origin with one season (or 2 values) before
    it and at least one value after it: scaled absolute errors (origins, horizon), NaN past the series'
    end. A short series holds few origins with a whole horizon after them (often 1-12), and none of them
    near its end; every origin with part of its horizon uses all of its values."""
    origins = np.arange(max(season, 2), len(y) - 1)
    if not len(origins):
        return origins, {}
    truth = np.full((len(origins), horizon), np.nan)
    for i, o in enumerate(origins):
        t = y[o + 1:o + 1 + horizon]
        truth[i, :len(t)] = t
    out = {}
    reached = ~np.isnan(truth)
    for meth, f in _stat_forecasts(y, origins, horizon, season, len(y) - 1).items():
        with np.errstate(all="ignore"):
            e = np.abs(f - truth) / scale
        if np.all(np.isfinite(e[reached])):
            out[meth] = e
    return origins, out


def stopped(y: np.ndarray, season: int) -> bool:
    """Whether the series' last season (and at least FLAT_MIN values) is one repeated value. Such a series
    is forecast by naive: nothing is left of its season or its trend there, and every other method carries
    on the older history's (a prescription count that stayed at zero for a year was forecast 0.01-0.03 a
    month by the comb of seasonal naive, Theta and the damped trend, which erred least over the history)."""
    n = max(season, FLAT_MIN)
    return len(y) >= n and bool(np.all(y[-n:] == y[-1]))


def pick_short(hist: dict, part: dict) -> str:
    """The method of a series too short for validation origins (``hist``: its errors at the history
    origins with a whole horizon, ``part``: :func:`partial_errors`): the candidate of ``hist`` with the
    lowest error over the partial horizons (each step's mean over the origins that reach it, then the mean
    over the steps), unless theta+damped erred less than 1 / SHORT_COMB times as much there; ranked on a
    handful of origins a single method is chosen by luck as often as by skill, and the combination is the
    steadier forecast."""
    cost = {}
    for meth in STATS:
        if meth in hist and meth in part:
            e = part[meth]
            reached = (~np.isnan(e)).sum(0)
            if reached.any():   # each step's mean over the origins that reach it, then over the steps reached
                cost[meth] = float((np.where(np.isnan(e), 0.0, e).sum(0)[reached > 0] / reached[reached > 0]).mean())
    if not cost:
        return min((k for k in STATS if k in hist), key=lambda k: float(hist[k].mean()), default="snaive")
    best = min(cost, key=cost.get)   # in STATS' order: ties pick the first
    if COMB in cost and cost[best] >= SHORT_COMB * cost[COMB]:
        return COMB
    return best


def pick(val: dict, hist: dict, covariates: bool = False, n: int | None = None) -> tuple[str, str]:
    """(the statistical method S, the series' method) from its errors (:func:`series_errors`); ``n``: the
    series' length (below DRIFT_MIN the drift is no candidate)."""
    if n is not None and n < DRIFT_MIN:
        val = {k: e for k, e in val.items() if "drift" not in bases_of(k)}
        hist = {k: e for k, e in hist.items() if k != "drift"}
    pool = hist if hist else {k: v for k, v in val.items() if k in STATS}
    # in STATS' order, so equal errors (a method and its log form on a constant series) pick the same one
    stat = min((k for k in STATS if k in pool), key=lambda k: float(pool[k].mean()), default="snaive")
    vote = with_network(stat, third_voter(hist))
    method = vote if vote in val else stat
    if stat in hist and COMB in hist and hist[stat].mean() < SOLO * hist[COMB].mean():
        method = stat   # far better than the others over the whole history: no vote needed
    if method != stat and method in val and stat in val and val[stat].mean() <= val[method].mean():
        # the network's vote did not help at the validation origins, where its error is if anything
        # optimistic (they also chose its early-stopping point): S alone
        method = stat
    if covariates and "rnn" in val and all(val["rnn"].mean() < val[c].mean() for c in (method, stat) if c in val):
        method = "rnn"
    return stat, method


def calibration_errors(method: str, val: dict, hist: dict, stat: str) -> np.ndarray:
    """The scaled errors a method's intervals are calibrated on, for one series (see the module's notes)."""
    if method in hist:
        return hist[method]
    # with the network: its validation errors, widened by the history/validation error ratio of the
    # series' statistical method
    e = val[method]
    ratio = 1.0
    if stat in hist and stat in val and float(val[stat].mean()) > 0:
        ratio = max(1.0, float(hist[stat].mean()) / float(val[stat].mean()))
    return e * ratio


def levels_at(y: np.ndarray, origins: np.ndarray, m: int) -> np.ndarray:
    """(len(origins),) the size of y at each origin: the mean |value| of its last season (at least 2 values)
    up to and including the origin."""
    w = max(m, 2)
    c = np.concatenate([[0.0], np.cumsum(np.abs(y))])
    o = np.asarray(origins, np.int64)
    lo = np.maximum(o + 1 - w, 0)
    return (c[o + 1] - c[lo]) / (o + 1 - lo)


def on_level(errors: dict, y: np.ndarray, origins: np.ndarray, m: int, scale: float) -> dict:
    """Scaled errors (``scale`` units, one row per origin) of a positive series re-expressed relative to its
    level at each origin, in units of its MASE scale at its end (what predict multiplies a table by): an
    error of 2% at an origin where the series stood at 100 says 2% of where it stands now. Other series'
    errors are returned as they are."""
    if not errors or not len(origins) or not np.all(y > 0):
        return errors
    end = levels_at(y, np.array([len(y) - 1]), m)[0] / series_scale(y, m)
    f = (scale * end / levels_at(y, origins, m))[:, None]
    return {k: e * f for k, e in errors.items()}


def choose(series: list, rnn_val: np.ndarray, val_sid: np.ndarray, val_o: np.ndarray, horizon: int,
           season: int, levels: Sequence[int], covariates: bool = False) -> dict:
    """The method per series id, the default for unseen series, the pooled scores and the interval
    tables. ``rnn_val`` (V, horizon): the network's forecasts at the validation origins in original units;
    ``val_sid``/``val_o``: each origin's series index and last known position. ``covariates``: the network
    reads inputs the statistical methods cannot; it then forecasts alone where its validation error is
    the lowest (optimistic as that is, no history error can speak for what the covariates add)."""
    val_err: dict[str, list] = {}      # method -> scaled validation errors of every series (unseen default)
    calib: dict[str, list] = {}        # method -> the errors its intervals are calibrated on
    short: dict[str, list] = {}        # method -> the partial-horizon errors of the short series it forecasts
    short_ids = []
    choice = {}
    for i, s in enumerate(series):
        rows = np.nonzero(val_sid == i)[0]
        if not len(rows):
            # too short to hold out validation origins (the network trained on all of it): S alone, chosen
            # and calibrated on history origins that need only a season before them
            # (pick_short); its intervals are calibrated on every origin's partial horizon too
            y = s.values
            ho = history_origins(len(y), horizon, season, short=True)
            scale = series_scale(y, season)
            hist = history_errors(y, ho, horizon, season, len(y) - 1, scale)
            po, part = partial_errors(y, horizon, season, scale)
            if hist or part:
                # (a series shorter than one horizon after a season, too short for the network too, has only
                # the partial horizons to choose and calibrate on)
                stat = choice[s.id] = "naive" if stopped(y, season) else pick_short(hist or part, part)
                e = on_level(part, y, po, season, scale)[stat] if stat in part else hist[stat]
                short.setdefault(stat, []).append(e)
                short_ids.append(s.id)
            continue
        y, vo = s.values, val_o[rows]
        val, hist = series_errors(y, rnn_val[rows], vo, horizon, season)
        stat, choice[s.id] = pick(val, hist, covariates, len(y))
        if stopped(y, season) and "naive" in val:
            stat = choice[s.id] = "naive"
        # intervals from the errors relative to the level at each origin (a positive series' errors grow
        # with it; the choice above stays on the plain scaled errors)
        scale = series_scale(y[:int(vo.min()) + 1], season)
        cval = on_level(val, y, vo, season, scale)
        chist = on_level(hist, y, history_origins(len(y), horizon, season), season, scale)
        for meth, e in val.items():
            val_err.setdefault(meth, []).append(e)
            calib.setdefault(meth, []).append(calibration_errors(meth, cval, chist, stat))
    scores = {m: float(np.concatenate(e).mean()) for m, e in val_err.items()}
    chosen = set(choice.values()) | set(STATS)
    # with no validation origins anywhere, the method chosen most often (the network alone is never the
    # default of a model whose network could not be validated)
    default = (min((m for m in scores if m in chosen), key=scores.get) if scores
               else max(short, key=lambda m: len(short[m])) if short else "rnn")
    used = set(choice.values()) | {default}
    tables = {m: interval_table(np.concatenate(e), levels) for m, e in calib.items() if m in used}
    tables.update({SHORT + m: interval_table(np.concatenate(e), levels, grow=True) for m, e in short.items()})
    return {"choice": choice, "default": default, "scores": {m: scores[m] for m in used if m in scores},
            "tables": tables, "short": short_ids}


def table_of(tables: dict, method: str, short: bool = False):
    """The interval table of a series forecast by ``method`` (``short``: a series too short for validation
    origins), or the other kind's where that one is missing (an unseen series whose method only short
    series chose); None without either."""
    first, second = (SHORT + method, method) if short else (method, SHORT + method)
    return tables[first] if first in tables else tables.get(second)


def interval_table(E: np.ndarray, levels: Sequence[int], grow: bool = False) -> np.ndarray:
    """(levels, horizon) half-widths in scale units from the scaled absolute errors E (origins, horizon;
    NaN where an origin's horizon ran past the data). ``grow``: each step's spread at least the first
    step's times sqrt(step), for errors of partial horizons, whose far steps rest on the few earliest
    origins (a random walk's errors grow like that)."""
    gaps = np.isnan(E)
    if gaps.any():
        # each step's mean over the origins that reach it; a step none reaches (a series shorter than one
        # horizon after a season) takes the spread of the last one reached, grown below
        reached = (~gaps).sum(0)
        mean = np.where(reached > 0, np.where(gaps, 0.0, E).sum(0) / np.maximum(reached, 1), np.nan)
        spread = np.fmax.accumulate(np.fmax(mean, 1e-9))
        last = int(np.nonzero(reached)[0].max()) if reached.any() else 0
        h = np.arange(len(spread))
        # past the last step any origin reached, growing like sqrt(h) from it (as ``widths`` past a table's end)
        spread = np.where(h > last, spread[last] * np.sqrt((h + 1) / (last + 1)), spread)
    else:
        spread = np.maximum.accumulate(np.maximum(E.mean(0), 1e-9))
    if grow:
        spread = np.maximum(spread, spread[0] * np.sqrt(np.arange(1, len(spread) + 1)))
    pooled = np.sort((E / spread)[~gaps])
    V = len(E)
    table = np.empty((len(levels), E.shape[1]))
    for j, lev in enumerate(levels):
        # split conformal's (V + 1) / V inflation of the level, V counted in origins (the H errors of one
        # origin move together), but not rounded up to a whole origin: the V * H pooled errors have quantiles
        # between the origins' order statistics, and rounding up made the 80% interval of a series with 7
        # validation origins its largest error (80% intervals covered 83% over the benchmark's backtests)
        q = min(1.0, lev / 100 * (V + 1) / V)
        table[j] = np.quantile(pooled, q, method="higher") * spread
    return table


def widths(table: np.ndarray, horizon: int) -> np.ndarray:
    """(levels, horizon) half-widths from a table, growing like sqrt(h) past its last horizon."""
    H = table.shape[1]
    h = np.arange(horizon)
    grow = np.where(h < H, 1.0, np.sqrt((h + 1) / H))
    return table[:, np.minimum(h, H - 1)] * grow[None, :]


def stat_forecasts(need: dict[str, list[int]], values: list[np.ndarray], horizon: int,
                   season: int) -> dict[str, np.ndarray]:
    """Forecasts of statistical base methods from the end of each series: ``need`` maps a method to the
    series (indices into ``values``) that need it; returns method -> (len(rows), horizon), in that order.

    Batched over series of equal length, in blocks (data.row_blocks: the methods' temporaries stay small
    and are reused from block to block). Every row is computed on its own, so the blocks change no bit.
    Theta and the damped trend share one seasonal decomposition."""
    wanted = {b: np.zeros(len(values), bool) for b in need}
    where = {}
    for b, rows in need.items():
        wanted[b][rows] = True
        where[b] = np.full(len(values), -1, np.int64)
        where[b][rows] = np.arange(len(rows))
    out = {b: np.empty((len(rows), horizon)) for b, rows in need.items()}
    decomposed = {"theta", "damped"} & set(need)
    logs = set(M.LOGS) & set(need)
    for block in row_blocks(values):
        block = np.asarray(block, np.int64)
        Y = np.stack([values[i] for i in block])
        indices = log_indices = None
        if season > 1 and any(wanted[b][block].any() for b in decomposed):
            indices = M._indices_batch(Y, season)
        if season > 1 and any(wanted[b][block].any() for b in logs):
            log_indices = M._indices_batch(M.logged_batch(Y)[0], season)
        for b in need:
            sel = wanted[b][block]
            if not sel.any():
                continue
            both = log_indices if b in M.LOGS else indices
            part = None if both is None else tuple(a[sel] for a in both)
            out[b][where[b][block[sel]]] = M.forecast_batch(b, Y[sel], horizon, season, part)
    return out
