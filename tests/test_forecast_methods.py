"""The statistical candidates, the per-series choice and its intervals, and hostile forecast inputs."""

import json
import os

import numpy as np
import pytest

from rnntools.errors import InputError, ModelFileError
from rnntools.tasks import forecast as F
from rnntools.tasks.forecast import choose as CH
from rnntools.tasks.forecast import kernels
from rnntools.tasks.forecast import methods as M
from rnntools.tasks.forecast.series import Series, TimeAxis

FAST = {"epochs": 8, "patience": 3, "threads": 1}


def _seasonal(n, m=12, seed=0, trend=0.5):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + trend * t + 10 * np.sin(2 * np.pi * t / m) + rng.normal(0, 1, n)


def _theta_reference(x, h):
    """Theta by its definition, one plain loop: SES with the grid alpha of least one-step squared error,
    plus half the least-squares slope times (k - 1 + (1 - (1 - a)^n) / a)."""
    best = None
    for a in M.ALPHAS:
        level, sse = x[0], 0.0
        for v in x[1:]:
            sse += (v - level) ** 2
            level = level + a * (v - level)
        if best is None or sse < best[0]:
            best = (sse, a, level)
    _, a, level = best
    b = np.polyfit(np.arange(len(x)), x, 1)[0]
    return np.array([level + b / 2 * (k + (1 - (1 - a) ** len(x)) / a) for k in range(h)])


@pytest.mark.parametrize("m", [1, 4, 12])
def test_methods_match_references_and_batch(m):
    Y = np.stack([_seasonal(60, m=max(m, 2), seed=s) for s in range(4)])
    for y in Y:
        np.testing.assert_allclose(M.forecast_last("naive", y, 5, m), np.repeat(y[-1], 5))
        np.testing.assert_allclose(M.forecast_last("drift", y, 3, m), y[-1] + (y[-1] - y[0]) / 59 * np.arange(1, 4))
        np.testing.assert_allclose(M.forecast_last("snaive", y, 2 * m, m), np.tile(y[-m:], 2))
        if M.seasonal_indices(y, m) is None:
            np.testing.assert_allclose(M.forecast_last("theta", y, 6, m), _theta_reference(y, 6), rtol=1e-10)
    for meth in M.METHODS:
        batch = M.forecast_batch(meth, Y, 7, m)
        one = np.stack([M.forecast_last(meth, y, 7, m) for y in Y])
        np.testing.assert_allclose(batch, one, rtol=1e-9, atol=1e-9)
    # the Theta kernel against its numpy form, on raw rows (no decomposition in between)
    out = np.empty((4, 7))
    kernels.theta_batch(Y, M.ALPHAS, out)
    np.testing.assert_allclose(out, M._theta_batch(Y, 7), rtol=1e-12)


def test_scan_kernels_match_their_numpy_forms():
    # every origin of a series from one pass: the kernels against methods' numpy scans, origins unsorted and
    # including the first value; a repeated origin gets the same forecast twice
    rng = np.random.default_rng(3)
    x = _seasonal(80, seed=3) + np.cumsum(rng.normal(0, 2, 80))
    origins = np.array([40, 0, 79, 5, 63, 1])
    for kernel, numpy_form in ((M._theta_scan_kernel, M._theta_scan), (M._damped_scan_kernel, M._damped_scan)):
        np.testing.assert_allclose(kernel(x, origins, 9), numpy_form(x, origins, 9), rtol=1e-12)
        twice = kernel(x, np.array([40, 7, 40]), 9)
        np.testing.assert_array_equal(twice[0], twice[2])


def _damped_reference(x, h):
    """The damped trend by its definition, one plain loop per grid point (Gardner & McKenzie, error form)."""
    best = None
    k = min(len(x) - 1, 4)
    for a, b, p in zip(M.DAMPED_ALPHA, M.DAMPED_BETA, M.DAMPED_PHI):
        level, slope, sse = x[0], (x[k] - x[0]) / k, 0.0
        for v in x[1:]:
            e = v - (level + p * slope)
            sse += e * e
            level, slope = level + p * slope + a * e, p * slope + b * e
        if best is None or sse < best[0]:
            best = (sse, level, slope, p)
    _, level, slope, p = best
    return np.array([level + sum(p ** j for j in range(1, i + 2)) * slope for i in range(h)])


def test_damped_trend_matches_its_definition_and_damps():
    rng = np.random.default_rng(3)
    x = 50 + 0.8 * np.arange(70) + rng.normal(0, 1, 70)
    f = M.forecast_last("damped", x, 30, 1)
    np.testing.assert_allclose(f, _damped_reference(x, 30), rtol=1e-10)
    np.testing.assert_allclose(M.forecast_batch("damped", x[None, :], 30, 1)[0], f, rtol=1e-10)  # the kernel
    steps = np.diff(f)
    assert np.all(steps > 0) and steps[-1] < steps[0]        # the trend goes on, ever more slowly


def test_decomposition_is_additive_when_the_swing_stays_put():
    t = np.arange(120)
    flat_swing = 10 + 0.1 * t + 2 * np.sin(2 * np.pi * t / 12)
    growing = (10 + 0.1 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    assert M.seasonal_indices(flat_swing, 12)[1] is False
    assert M.seasonal_indices(growing, 12)[1] is True


def test_seasonality_is_tested_on_differences_and_indices_follow_recent_cycles():
    rng = np.random.default_rng(5)
    # a trend with persistent noise: its values are autocorrelated at every lag (thetaf's test on the values
    # calls it seasonal), its differences are not
    trend = 100 + 0.5 * np.arange(160) + np.cumsum(rng.normal(0, 1, 160))
    x = trend - trend.mean()
    acf4 = np.dot(x[4:], x[:-4]) / np.dot(x, x)
    assert acf4 > 0.5 and M.seasonal_indices(trend, 4) is None
    # a season whose shape turned over: the first 15 years peak in phase 2, the last 5 in phase 9
    m, t = 12, np.arange(240)
    old, new = np.where(t % m == 2, 10.0, 0.0), np.where(t % m == 9, 10.0, 0.0)
    y = 50 + 0.1 * t + np.where(t < 180, old, new) + rng.normal(0, 0.3, 240)
    idx, mult = M.seasonal_indices(y, m)
    assert not mult and int(np.argmax(idx)) == 9 and idx[2] < 1
    # the batched decomposition (predict's) gives the same indices, cycles cut or not
    for n in (40, 61, 240):
        b_idx, b_mult, seasonal = M._indices_batch(np.stack([y[:n], trend[:n] if n <= 160 else y[:n] * 2]), m)
        one = M.seasonal_indices(y[:n], m)
        assert seasonal[0] == (one is not None)
        if one is not None:
            np.testing.assert_allclose(b_idx[0], one[0], rtol=1e-10, atol=1e-10)
    for meth in ("theta", "damped"):
        Y = np.stack([y, y[::-1] + 5, 2 * y])
        np.testing.assert_allclose(M.forecast_batch(meth, Y, 14, m),
                                   np.stack([M.forecast_last(meth, r, 14, m) for r in Y]), rtol=1e-9, atol=1e-9)


def test_method_strings():
    assert CH.bases_of("median(rnn,theta,theta+damped)") == ("rnn", "theta", "damped")
    assert CH.valid_method("rnn+theta") and CH.valid_method("weekly") and CH.valid_method("snaive")
    for bad in ("oracle", "median(rnn)", "median(rnn,oracle)", "theta+", 3, None):
        assert not CH.valid_method(bad)
    f = {"rnn": np.array([1.0, 10]), "theta": np.array([2.0, 2]), "damped": np.array([4.0, 0])}
    np.testing.assert_allclose(CH.combine("median(rnn,theta,theta+damped)", f), [2.0, 2.0])
    np.testing.assert_allclose(CH.combine("theta+damped", f), [3.0, 1.0])
    f["snaive"] = np.array([6.0, 4.0])
    assert CH.SEASONAL_COMB in CH.STATS and CH.with_network(CH.SEASONAL_COMB) == "median(rnn,snaive+theta+damped,theta+damped)"
    np.testing.assert_allclose(CH.combine(CH.with_network(CH.SEASONAL_COMB), f), [3.0, 2.0])
    # a half-hourly series whose days differ by weekday: seasonal naive one week back is exact
    week = np.random.default_rng(0).normal(10, 3, 336)
    y = np.tile(week, 4)
    assert "weekly" in M.methods_for(48, len(y)) and "weekly" not in M.methods_for(12, len(y))
    np.testing.assert_allclose(M.forecast_last("weekly", y, 48, 48), week[:48])
    np.testing.assert_allclose(M.forecast_batch("weekly", y[None], 48, 48)[0], week[:48])


def test_daily_naive_for_a_weekly_season():
    # hourly data given its weekly season (168): ``daily`` repeats the last day, at every origin and batched
    y = np.random.default_rng(1).normal(10, 3, 24 * 7 * 3)
    assert "daily" in M.methods_for(168, len(y)) and "daily" in M.methods_for(336, 2000)
    assert "daily" not in M.methods_for(48, 2000) and "daily" not in M.methods_for(12, 200)
    assert CH.valid_method("median(rnn,daily,theta+damped)") and "daily" in CH.STATS
    day = y[-24:]
    want = np.tile(day, 2)[:30]
    np.testing.assert_allclose(M.forecast_last("daily", y, 30, 168), want)
    np.testing.assert_allclose(M.forecast_batch("daily", np.stack([y, y + 1]), 30, 168), [want, want + 1])
    o = np.array([200, 300])
    f = M.forecasts("daily", y, o, 30, 168)
    for row, origin in zip(f, o):
        np.testing.assert_allclose(row, np.tile(y[origin - 23:origin + 1], 2)[:30])
    # its comb with last week's shape and the smoothed trend is a candidate only where ``daily`` is
    f = CH._stat_forecasts(y, o, 30, 168, 199)
    parts = [f[k] for k in ("snaive", "daily", "theta", "damped")]
    np.testing.assert_allclose(f[CH.DAILY_COMB], np.mean(parts, axis=0))
    assert CH.DAILY_COMB not in CH._stat_forecasts(y, o, 30, 24, 199)
    # and the reverse for a daily season: last week's shape joins yesterday's in the comb
    z = np.tile(y, 2)
    f = CH._stat_forecasts(z, np.array([800, 900]), 30, 24, 799)
    parts = [f[k] for k in ("snaive", "weekly", "theta", "damped")]
    np.testing.assert_allclose(f[CH.WEEKLY_COMB], np.mean(parts, axis=0))
    assert CH.WEEKLY_COMB in CH.STATS and CH.WEEKLY_COMB not in CH._stat_forecasts(y, o, 30, 168, 199)


def test_theta_deseasonalises_multiplicative_series():
    t = np.arange(96)
    y = (100 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    idx, mult = M.seasonal_indices(y, 12)
    assert mult and abs(idx.mean() - 1) < 1e-12
    f = M.forecast_last("theta", y, 12, 12)
    truth = (100 + 2 * np.arange(96, 108)) * (1 + 0.2 * np.sin(2 * np.pi * np.arange(96, 108) / 12))
    assert np.mean(np.abs(f - truth)) / np.mean(np.abs(y[12:] - y[:-12])) < 0.5


def test_origin_forecasts_use_no_future_values():
    y = _seasonal(80)
    origins = np.array([40, 50, 60])
    assert set(M.methods_for(12, 80, True)) == {*M.METHODS, *M.LOGS, "hw", "arima", *M.ETS}
    for meth in M.methods_for(12, 80, True):
        a = M.forecasts(meth, y, origins, 6, 12)
        z = y.copy()
        z[61:] += 1000.0
        b = M.forecasts(meth, z, origins, 6, 12)
        np.testing.assert_array_equal(a, b, err_msg=meth)


def test_choice_falls_back_to_the_baseline_that_wins_and_predict_reports_it(tmp_path):
    # an exactly repeating season: seasonal naive is perfect, nothing can beat it
    y = np.tile(np.array([5.0, 9, 14, 11, 7, 3, 2, 4, 8, 12, 10, 6]), 12)
    s = Series("rep", y, TimeAxis("int", 1), 0)
    model = F.fit_model([s], F.ForecastConfig(season=12, horizon=6), dict(FAST), quiet=True)
    assert model.selection["choice"]["rep"] == "snaive"
    p = F.forecast(model, [s], 6)[0]
    assert p["method"] == "snaive"
    np.testing.assert_allclose(p["forecast"], y[-12:-6])
    assert np.all(p["lower_80"] <= p["forecast"]) and np.all(p["forecast"] <= p["upper_80"])
    # round trip through the model file keeps the choice and the tables
    F.save(model, str(tmp_path / "m.npz"))
    again = F.load(str(tmp_path / "m.npz"))
    assert again.selection["choice"] == model.selection["choice"]
    np.testing.assert_array_equal(F.forecast(again, [s], 6)[0]["upper_95"], p["upper_95"])
    # --select rnn: the network alone, as before the choice existed
    net = F.fit_model([s], F.ForecastConfig(season=12, horizon=6, select="rnn"), dict(FAST), quiet=True)
    assert net.selection is None and "method" not in F.forecast(net, [s], 6)[0]


def test_pick_keeps_the_network_only_where_it_helped_at_the_validation_origins():
    # S is the method with the lowest history error; the network votes with it unless S alone erred no
    # more than the vote at the validation origins
    hist = {"theta": np.full((5, 3), 1.0), "damped": np.full((5, 3), 1.2), CH.COMB: np.full((5, 3), 1.1),
            "naive": np.full((5, 3), 2.0)}
    vote = CH.with_network("theta")
    val = {"theta": np.full((4, 3), 1.0), CH.COMB: np.full((4, 3), 1.1), "rnn": np.full((4, 3), 0.5),
           vote: np.full((4, 3), 0.8)}
    assert CH.pick(val, hist) == ("theta", vote)
    val[vote] = np.full((4, 3), 1.0)        # a tie: the simpler forecast
    assert CH.pick(val, hist) == ("theta", "theta")
    val[vote] = np.full((4, 3), 1.3)
    assert CH.pick(val, hist) == ("theta", "theta")
    # with covariates the network alone still wins where it erred least (only it reads them)
    assert CH.pick(val, hist, covariates=True) == ("theta", "rnn")


def test_no_drift_candidate_for_a_validated_series_below_drift_min_values():
    hist = {"drift": np.full((5, 3), 0.8), "theta": np.full((5, 3), 1.0), "damped": np.full((5, 3), 1.2),
            CH.COMB: np.full((5, 3), 1.1)}
    val = {"drift": np.full((4, 3), 0.5), "theta": np.full((4, 3), 0.9), "rnn": np.full((4, 3), 0.4),
           CH.with_network("drift"): np.full((4, 3), 0.45), CH.with_network("theta"): np.full((4, 3), 0.8)}
    assert CH.pick(val, hist, n=CH.DRIFT_MIN) == ("drift", CH.with_network("drift"))
    assert CH.pick(val, hist, n=CH.DRIFT_MIN - 1) == ("theta", CH.with_network("theta"))
    assert CH.pick(val, hist) == ("drift", CH.with_network("drift"))      # length unknown: every candidate
    # through choose: a random walk with a steady drift of 60 values never takes it, of 120 it may
    rng = np.random.default_rng(2)
    y = 10 + np.cumsum(1.0 + rng.normal(0, 0.3, 140))
    for n, allowed in ((60, False), (140, True)):
        s = Series("d", y[:n], TimeAxis("int", 1), 0)
        vo = np.arange(n - 6 - 8, n - 6)
        rnn = np.stack([y[o + 1:o + 7] + 5.0 for o in vo])
        meth = CH.choose([s], rnn, np.zeros(len(vo), np.int64), vo, 6, 1, [80])["choice"]["d"]
        assert ("drift" in CH.bases_of(meth)) == allowed, (n, meth)


def test_a_stopped_series_is_forecast_by_naive():
    # a seasonal count that fell to zero for its last season (a discontinued product): the comb that erred
    # least over the history forecast small positive numbers for ever; naive forecasts the zeros
    h, none = 6, np.zeros(0, np.int64)
    y = np.maximum(np.round(_seasonal(96, trend=-0.3) - 60), 0)
    y[-12:] = 0
    vo = np.arange(96 - h - 12, 96 - h)
    rnn = np.stack([y[o + 1:o + 1 + h] + 0.5 for o in vo])
    s = Series("p", y, TimeAxis("int", 1), 0)
    val, hist = CH.series_errors(y, rnn, vo, h, 12)
    assert CH.pick(val, hist, n=len(y))[1] != "naive"        # what the choice took before
    sel = CH.choose([s], rnn, np.zeros(len(vo), np.int64), vo, h, 12, [80, 95])
    assert sel["choice"]["p"] == "naive" and "naive" in sel["tables"]
    assert CH.stopped(y, 12)
    # less than a season flat: the choice as before
    z = y.copy()
    z[-12] = 1
    assert not CH.stopped(z, 12)
    val, hist = CH.series_errors(z, rnn, vo, h, 12)
    sel = CH.choose([Series("p", z, TimeAxis("int", 1), 0)], rnn, np.zeros(len(vo), np.int64), vo, h, 12, [80])
    assert sel["choice"]["p"] == CH.pick(val, hist, n=len(z))[1]
    # a non-seasonal series needs FLAT_MIN equal values; a short one (no validation origins) too
    w = np.concatenate([np.arange(1.0, 9.0) * 3, np.full(CH.FLAT_MIN, 7.0)])
    assert CH.stopped(w, 1) and not CH.stopped(w[:-1], 1) and not CH.stopped(np.r_[w, 8.0], 1)
    sel = CH.choose([Series("w", w, TimeAxis("int", 1), 0)], np.zeros((0, h)), none, none, h, 1, [80, 95])
    assert sel["choice"]["w"] == "naive" and CH.table_of(sel["tables"], "naive", short=True) is not None
    v = w.copy()
    v[-CH.FLAT_MIN] = 6.0
    assert not CH.stopped(v, 1)

def test_third_voter_takes_arima_in_where_it_beat_theta_and_the_damped_trend():
    hist = {"theta": np.full((5, 3), 1.0), "damped": np.full((5, 3), 1.2), CH.COMB: np.full((5, 3), 1.1),
            "arima": np.full((5, 3), 1.05)}
    assert CH.third_voter(hist) == CH.COMB          # better than the damped trend, not than Theta
    hist["arima"] = np.full((5, 3), 0.9)
    assert CH.third_voter(hist) == CH.TREND_COMB
    assert CH.third_voter({k: v for k, v in hist.items() if k != "theta"}) == CH.COMB
    assert CH.pick({}, hist) == ("arima", "arima")  # no validation errors of the vote: S alone
    vote = "median(rnn,arima,theta+damped+arima)"
    assert vote in CH.voted(CH.STATS) and CH.with_network("theta+damped", CH.COMB) == CH.COMB
    val = {"arima": np.full((4, 3), 1.0), vote: np.full((4, 3), 0.8)}
    assert CH.pick(val, hist) == ("arima", vote)
    f = {"rnn": np.array([0.0, 9]), "arima": np.array([1.0, 1]), "theta": np.array([2.0, 2]),
         "damped": np.array([6.0, 0])}
    np.testing.assert_allclose(CH.combine(vote, f), [1.0, 1.0])   # the median of 0, 1, 3 and of 9, 1, 1
    # series_errors scores every vote a series can take at its validation origins
    y = np.cumsum(np.random.default_rng(3).normal(size=90)) + 50
    origins = np.arange(70, 80)
    val, hist = CH.series_errors(y, np.zeros((len(origins), 6)), origins, 6, 1)
    assert {"median(rnn,theta,theta+damped+arima)", "median(rnn,theta,theta+damped)"} <= set(val)
    stat, method = CH.pick(val, hist)
    assert method in (stat, CH.with_network(stat, CH.third_voter(hist)))


def test_corrupt_selection_is_a_model_file_error(tmp_path):
    from rnntools.io import load_model, save_model

    y = _seasonal(96)
    s = Series("a", y, TimeAxis("int", 1), 0)
    model = F.fit_model([s], F.ForecastConfig(season=12, horizon=6), dict(FAST), quiet=True)
    F.save(model, str(tmp_path / "m.npz"))
    mf = load_model(tmp_path / "m.npz")
    meta = {k: v for k, v in mf.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    meta["selection"]["choice"]["a"] = "oracle"
    save_model(tmp_path / "bad.npz", "forecaster", mf.arrays, meta)
    with pytest.raises(ModelFileError, match="selection"):
        F.load(str(tmp_path / "bad.npz"))
    meta["selection"]["choice"]["a"] = "snaive"
    for short in ("a", [1], {"a": 1}):
        meta["selection"]["short"] = short
        save_model(tmp_path / "bad.npz", "forecaster", mf.arrays, meta)
        with pytest.raises(ModelFileError, match="selection"):
            F.load(str(tmp_path / "bad.npz"))


def test_levels_at_and_errors_on_the_level():
    rng = np.random.default_rng(3)
    y = np.exp(rng.standard_normal(40))
    origins = np.array([0, 1, 5, 11, 39])
    for m in (1, 4, 12):
        w = max(m, 2)
        ref = [np.mean(np.abs(y[max(0, o + 1 - w):o + 1])) for o in origins]
        np.testing.assert_allclose(CH.levels_at(y, origins, m), ref, rtol=1e-12)
    E = {"naive": rng.random((5, 3))}
    out = CH.on_level(E, y, origins, 4, 2.0)["naive"]
    end = CH.levels_at(y, np.array([39]), 4)[0] / CH.series_scale(y, 4)
    np.testing.assert_allclose(out, E["naive"] * (2.0 * end / CH.levels_at(y, origins, 4))[:, None], rtol=1e-12)
    # a series that is not positive keeps its errors as they are
    assert CH.on_level(E, y - 1.0, origins, 4, 2.0) is E


def test_interval_table_is_a_conformal_quantile():
    rng = np.random.default_rng(0)
    E = np.abs(rng.normal(0, 1, (400, 3))) * np.array([1.0, 2.0, 3.0])
    table = CH.interval_table(E, [80, 95])
    for j, q in enumerate((0.80, 0.95)):
        covered = np.mean(E <= table[j][None, :])
        assert abs(covered - q) < 0.03
    w = CH.widths(table, 12)
    assert w.shape == (2, 12) and np.all(np.diff(w[:, 2:], axis=1) > 0)
    # 7 origins: the 80% level becomes 80% x 8/7, between the origins' order statistics, not the largest
    # error (rounding (V + 1) q up to a whole origin gave that)
    E7 = E[:7]
    covered = np.mean(E7 <= CH.interval_table(E7, [80])[0][None, :])
    assert 0.8 <= covered < 1.0


def test_partial_errors_use_every_origin_and_stop_at_the_end():
    y = np.cumsum(np.random.default_rng(4).normal(size=14)) + 30
    origins, part = CH.partial_errors(y, 6, 1, 2.0)
    np.testing.assert_array_equal(origins, np.arange(2, 13))
    e = part["naive"]
    assert e.shape == (11, 6)
    for i, o in enumerate(origins):
        k = min(6, 13 - o)                        # the steps that lie inside the series
        np.testing.assert_allclose(e[i, :k], np.abs(y[o + 1:o + 1 + k] - y[o]) / 2.0, rtol=1e-12)
        assert np.all(np.isnan(e[i, k:]))
    # where a whole horizon follows, the same errors as at the history origins
    ho = CH.history_origins(14, 6, 1, short=True)
    hist = CH.history_errors(y, ho, 6, 1, 13, 2.0)
    for meth in hist:
        np.testing.assert_allclose(part[meth][np.searchsorted(origins, ho)], hist[meth], rtol=1e-9)


def test_short_series_take_the_comb_unless_one_method_is_clearly_better():
    ones = np.ones((3, 4))
    hist = {"naive": ones, "drift": 0.5 * ones, CH.COMB: ones}
    part = {"naive": np.ones((6, 4)), "drift": np.full((6, 4), 0.95), CH.COMB: np.ones((6, 4))}
    part["drift"][4:, 2:] = np.nan
    # drift was far better at the whole-horizon origins, but only 5% better over every origin: the comb
    assert CH.pick_short(hist, part) == CH.COMB
    part["drift"][:] = 0.85
    assert CH.pick_short(hist, part) == "drift"
    # the steps count once each: a step reached by few origins weighs as much as the first
    part["drift"] = np.array([[0.5, 3.0], [0.5, np.nan]])
    part["naive"], part[CH.COMB] = np.full((2, 2), 0.8), np.ones((2, 2))
    assert CH.pick_short(hist, part) == "naive"    # drift: (0.5 + 3.0) / 2 over the steps, not 1.17


def test_interval_table_of_partial_horizons():
    rng = np.random.default_rng(5)
    E = np.abs(rng.normal(size=(9, 4)))
    E[6:, 2:] = np.nan
    table = CH.interval_table(E, [80])
    spread = np.maximum.accumulate(np.nanmean(E, axis=0))
    pooled = (E / spread)[~np.isnan(E)]
    np.testing.assert_allclose(table[0], np.quantile(pooled, 0.8 * 10 / 9, method="higher") * spread)
    # grow: each step's spread at least the first step's times sqrt(step)
    flat = np.ones((5, 4))
    np.testing.assert_allclose(CH.interval_table(flat, [80], grow=True)[0], np.sqrt([1, 2, 3, 4]))
    np.testing.assert_array_equal(CH.interval_table(E[:6], [80, 95]), CH.interval_table(E[:6].copy(), [80, 95]))


def test_short_series_intervals_cover_their_future():
    # 200 random walks with drift of 14 values (too short for validation origins), horizon 6: calibrated on
    # the 2-7 origins with a whole horizon after them, the 95% intervals covered 83% of the future; on every
    # origin's partial horizon, with the spread growing at least like sqrt(step), 90%
    rng = np.random.default_rng(7)
    h, n, cover, none = 6, 14, [], np.zeros(0, np.int64)
    for _ in range(200):
        y = 50 + np.cumsum(rng.normal(0.5, 1.0) + rng.normal(0, 1.0, n + h))
        sel = CH.choose([Series("s", y[:n], TimeAxis("int", 1), 0)], np.zeros((0, h)), none, none, h, 1, [80, 95])
        meth = sel["choice"]["s"]
        f = CH.combine(meth, CH.stat_forecasts({b: [0] for b in CH.bases_of(meth)}, [y[:n]], h, 1))[0]
        W = CH.widths(CH.table_of(sel["tables"], meth, short=True), h) * CH.series_scale(y[:n], 1)
        cover.append((np.abs(y[n:] - f)[None, :] <= W).mean(1))
    c80, c95 = np.mean(cover, 0)
    assert 0.72 < c80 < 0.88 and c95 > 0.87, (c80, c95)


def _long_and_short(seed=11, h=6):
    """Three random walks with drift long enough for validation origins (a network that erred by N(0, 3)
    at 4 origins each) and one of 14 values, too short for them."""
    rng = np.random.default_rng(seed)
    longs = [Series(f"L{k}", 50 + np.cumsum(rng.normal(0.3, 1.0) + rng.normal(0, 1, 120)), TimeAxis("int", 1), 0)
             for k in range(3)]
    short = Series("S", 50 + np.cumsum(rng.normal(0.3, 1.0) + rng.normal(0, 1, 14)), TimeAxis("int", 1), 0)
    sid, vo, rnn = [], [], []
    for i, s in enumerate(longs):
        for o in range(120 - h - 10, 120 - h, 3):
            sid.append(i), vo.append(o), rnn.append(s.values[o + 1:o + 1 + h] + rng.normal(0, 3, h))
    return longs, short, np.array(rnn), np.array(sid), np.array(vo)


def test_a_short_series_leaves_the_long_series_intervals_alone():
    # the short series' partial-horizon errors (and their sqrt(step) floor) make a table of their own: a
    # long series sharing its method keeps the table of the long series' errors, as if it were not there
    h = 6
    longs, short, rnn, sid, vo = _long_and_short(h=h)
    alone = CH.choose(longs, rnn, sid, vo, h, 1, [80, 95])
    mixed = CH.choose(longs + [short], rnn, sid, vo, h, 1, [80, 95])
    meth = mixed["choice"]["S"]
    assert meth in alone["choice"].values()          # the case in question: a method both kinds chose
    for m in alone["tables"]:
        np.testing.assert_array_equal(mixed["tables"][m], alone["tables"][m], err_msg=m)
    assert mixed["short"] == ["S"] and alone["short"] == []
    # the short series' table: its own errors, as when it is forecast alone
    none = np.zeros(0, np.int64)
    own = CH.choose([short], np.zeros((0, h)), none, none, h, 1, [80, 95])
    np.testing.assert_array_equal(CH.table_of(mixed["tables"], meth, short=True),
                                  CH.table_of(own["tables"], meth, short=True))
    assert not np.array_equal(CH.table_of(mixed["tables"], meth, short=True), mixed["tables"][meth])


def test_predict_takes_a_short_series_intervals_from_its_own_table(tmp_path):
    longs, short, *_ = _long_and_short()
    model = F.fit_model(longs + [short], F.ForecastConfig(season=1, horizon=6), dict(FAST), quiet=True)
    assert model.selection["short"] == ["S"]
    F.save(model, str(tmp_path / "m.npz"))
    again = F.load(str(tmp_path / "m.npz"))
    assert again.selection["short"] == ["S"]
    for s, p in zip(longs + [short], F.forecast(again, longs + [short], 6)):
        table = CH.table_of(again.tables, p["method"], short=s.id == "S")
        half = CH.widths(table, 6)[0] * CH.series_scale(s.values, 1)
        np.testing.assert_allclose(np.array(p["upper_80"]) - p["forecast"], half, rtol=1e-5, err_msg=s.id)
    assert CH.SHORT + model.selection["choice"]["S"] in again.tables


# --- hostile inputs ------------------------------------------------------------------------------------

def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("text, message", [
    ("date,y\n2020-01,1\n2020-02,1e308\n2020-03,2\n", "too large to forecast"),
])
def test_huge_values_are_a_clear_error(tmp_path, text, message):
    from rnntools.tasks.forecast.series import read_series

    with pytest.raises(InputError, match=message):
        read_series([_write(tmp_path, "a.csv", text)])


@pytest.mark.parametrize("sid", ["null", "[1, 2]", "{\"a\": 1}", "true"])
def test_jsonl_ids_must_be_strings_or_numbers(tmp_path, sid):
    from rnntools.tasks.forecast.series import read_series

    path = _write(tmp_path, "a.jsonl", f'{{"id": {sid}, "values": [1, 2, 3]}}\n')
    with pytest.raises(InputError, match="'id' should be a string or a number"):
        read_series([path])


def test_freq_and_horizon_misuse_are_one_line_errors(run_cli, samples_dir, tmp_path):
    csv = os.path.join(samples_dir, "airline.csv")
    model = tmp_path / "f.npz"
    assert run_cli(["rnn-train", "--task", "forecast", csv, "-o", model, "--epochs", 2, "--threads", 1]).exit_code == 0
    r = run_cli(["predict", model, csv, "--freq", "D"])
    assert r.exit_code == 2 and "most values would be made up" in r.stderr and r.stdout == ""
    r = run_cli(["predict", model, csv, "--freq", "fortnight"])
    assert r.exit_code == 2 and "'fortnight' is not a frequency" in r.stderr
    r = run_cli(["predict", model, csv, "--horizon", 100000])
    assert r.exit_code == 1 and "9999" in r.stderr and "Traceback" not in r.stderr
    r = run_cli(["predict", model, csv, "--horizon", 2])
    assert r.exit_code == 0
    rec = json.loads(r.stdout)
    assert CH.valid_method(rec["method"])


def _hw_reference(x, h, m):
    """Additive damped Holt-Winters by its definition, one plain loop per grid point (methods._hw_scan's
    start and error counting)."""
    best = None
    c1, c2 = x[:m].mean(), x[m:2 * m].mean()
    for a, b, p, g in zip(M.HW_ALPHA, M.HW_BETA, M.HW_PHI, M.HW_GAMMA):
        slope = (c2 - c1) / m
        level = c1 + slope * (m - 1) / 2
        s = list(x[:m] - c1)
        sse = 0.0
        for t in range(m, len(x)):
            e = x[t] - (level + p * slope + s[t % m])
            if t >= 2 * m:
                sse += e * e
            level, slope = level + p * slope + a * e, p * slope + b * e
            s[t % m] += g * e
        if best is None or sse < best[0]:
            best = (sse, level, slope, p, list(s))
    _, level, slope, p, s = best
    n = len(x)
    return np.array([level + sum(p ** j for j in range(1, k + 1)) * slope + s[(n - 1 + k) % m]
                     for k in range(1, h + 1)])


def test_holt_winters_matches_its_definition_kernels_and_logs():
    rng = np.random.default_rng(4)
    m, t = 4, np.arange(30)
    x = 0.3 * t + 3 * np.sin(2 * np.pi * t / m) + rng.normal(0, 0.5, 30) - 5      # crosses zero: no logs
    assert M.logged(x)[1] is False
    np.testing.assert_allclose(M.forecast_last("hw", x, 7, m), _hw_reference(x, 7, m), rtol=1e-10)
    y = np.exp(x / 10)                                                              # positive: on the logs
    np.testing.assert_allclose(M.forecast_last("hw", y, 7, m), np.exp(_hw_reference(np.log(y), 7, m)), rtol=1e-10)
    # the kernels against their numpy forms: origins unsorted, before the first season, repeated
    origins = np.array([20, 0, 29, 3, 9, 20])
    np.testing.assert_allclose(M._hw_scan_kernel(x, origins, 5, m), M._hw_scan(x, origins, 5, m), rtol=1e-12)
    f = M._hw_scan_kernel(x, origins, 5, m)
    np.testing.assert_array_equal(f[0], f[5])
    np.testing.assert_array_equal(f[1], np.full(5, x[0]))
    X = np.stack([x, x[::-1], 2 * x + 1])
    out = np.empty((3, 5))
    kernels.hw_batch(X, m, M.HW_ALPHA, M.HW_BETA, M.HW_PHI, M.HW_GAMMA, M._hw_damp(5), out)
    np.testing.assert_allclose(out, M._hw_batch(X, 5, m), rtol=1e-12)
    # a seasonal shape that drifts (its phase moves a little every month): the seasonal states follow it,
    # the decomposition's indices over the last 5 cycles lag behind it
    t = np.arange(132)
    z = -50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12 + 0.02 * t)
    err = {k: np.abs(M.forecast_last(k, z[:120], 12, 12) - z[120:]).mean() for k in ("hw", "damped")}
    assert err["hw"] < 0.7 * err["damped"], err


def test_log_methods_and_their_fallbacks():
    t = np.arange(60)
    y = 10 * 1.03 ** t * (1 + 0.1 * np.sin(2 * np.pi * t / 12))                   # growth in percent
    for meth, base in M.LOGS.items():
        np.testing.assert_allclose(M.forecast_last(meth, y, 6, 12), np.exp(M.forecast_last(base, np.log(y), 6, 12)),
                                   rtol=1e-12)
        z = y - y.min()                                                               # one zero: on the values
        np.testing.assert_allclose(M.forecast_last(meth, z, 6, 12), M.forecast_last(base, z, 6, 12), rtol=1e-12)
    # steady growth in percent: the log forms extrapolate it, the forms on the values fall behind
    g = 10 * 1.04 ** np.arange(66) * np.exp(np.random.default_rng(1).normal(0, 0.01, 66))
    for meth, base in M.LOGS.items():
        err = {k: np.abs(M.forecast_last(k, g[:60], 6, 1) - g[60:]).mean() for k in (meth, base)}
        assert err[meth] < 0.7 * err[base], err
    # candidates: the log forms for positive series, Holt-Winters for seasonal series of 2m + 1 values
    assert "ltheta" in M.methods_for(12, 60, True) and "ltheta" not in M.methods_for(12, 60, False)
    assert "hw" in M.methods_for(12, 25) and "hw" not in M.methods_for(12, 24) and "hw" not in M.methods_for(1, 99)
    # batched over rows some of which are positive, and Holt-Winters on rows too short for it (the damped
    # trend stands in), as predict runs them
    Y = np.stack([y, y - y.min(), 2 * y])
    for meth in (*M.LOGS, "hw"):
        np.testing.assert_allclose(M.forecast_batch(meth, Y, 6, 12),
                                   np.stack([M.forecast_last(meth, r, 6, 12) for r in Y]), rtol=1e-9, err_msg=meth)
    short = Y[:, :20]
    np.testing.assert_allclose(M.forecast_batch("hw", short, 6, 12), np.stack(
        [M.forecast_last("hw", r, 6, 12) for r in short]), rtol=1e-9)
    np.testing.assert_allclose(M.forecast_batch("hw", short[1:2], 6, 12), M.forecast_batch("damped", short[1:2], 6, 12))
    idx = M._indices_batch(M.logged_batch(Y)[0], 12)
    cs = CH.stat_forecasts({"ltheta": [0, 1, 2], "theta": [1]}, list(Y), 6, 12)
    np.testing.assert_allclose(cs["ltheta"], M.forecast_batch("ltheta", Y, 6, 12, idx), rtol=1e-12)
    np.testing.assert_allclose(cs["theta"][0], cs["ltheta"][1], rtol=1e-12)


def _arima_reference(y, o, h):
    """ARIMA(p,1,0) without a constant by its definition, one origin, plain loops: the differences of
    y[:o + 1]; for each p in 0..P an autoregression fitted by least squares on the rows t = P .. o - 1 (one
    sample for every p), the p of least AICc (smallest on a tie), the differences continued and summed."""
    w = np.diff(y[:o + 1])
    P = M._arima_order(len(y))
    rows = list(range(P, len(w)))
    N = len(rows)
    target = np.array([w[t] for t in rows])
    best = None
    for p in range(P + 1):
        if p and (N < 4 or N - p - 1 <= 0):
            break
        X = np.array([[w[t - 1 - j] for j in range(p)] for t in rows]).reshape(N, p)
        b = np.linalg.lstsq(X, target, rcond=None)[0] if p else np.zeros(0)
        sse = float(np.sum((target - X @ b) ** 2)) if N else 0.0
        sse = max(sse, 1e-300 + 1e-12 * float(target @ target))
        k = p + 1
        ic = N * np.log(sse / max(N, 1)) + 2 * k + 2 * k * (k + 1) / max(N - k - 1, 1)
        if best is None or ic < best[0]:
            best = (ic, b)
    b = best[1]
    hist, level, out = list(w), y[o], []
    for _ in range(h):
        v = sum(b[j] * hist[-1 - j] for j in range(len(b)))
        hist.append(v)
        level += v
        out.append(level)
    return np.array(out)


def _arima_series(n, phi=(0.6, -0.3), seed=0, sd=1.0):
    """An ARIMA(2,1,0) path: differences that follow an AR(2), summed."""
    rng = np.random.default_rng(seed)
    w = np.zeros(n)
    for t in range(2, n):
        w[t] = phi[0] * w[t - 1] + phi[1] * w[t - 2] + rng.normal(0, sd)
    return 50 + np.cumsum(w)


def test_arima_matches_its_definition_at_every_origin_and_from_the_end():
    y = _arima_series(120, seed=3)
    origins = np.array([6, 9, 12, 13, 40, 77, 119])
    f = M.forecasts("arima", y, origins, 7, 4)
    for i, o in enumerate(origins):
        np.testing.assert_allclose(f[i], _arima_reference(y, o, 7), rtol=1e-9, atol=1e-9, err_msg=str(o))
    # from the end: the batched form (predict) and forecast_last agree with the scan's last origin
    Y = np.stack([y, y[::-1].copy(), 3 * y - 7])
    fb = M.forecast_batch("arima", Y, 7, 4)
    for r in range(3):
        np.testing.assert_allclose(fb[r], _arima_reference(Y[r], 119, 7), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(fb[r], M.forecast_last("arima", Y[r], 7, 4), rtol=1e-9, atol=1e-9)
        # a row's forecast does not depend on the rows around it (predict runs blocks of rows)
        np.testing.assert_array_equal(M.forecast_batch("arima", Y[r:r + 1], 7, 4)[0], fb[r])


def test_arima_learns_the_dynamics_of_the_differences():
    # an ARIMA(2,1,0) path: the fit finds p = 2 and its coefficients, and forecasts the next steps better
    # than naive and the damped trend (which see a trend, not the cycle of the growth)
    y = _arima_series(400, phi=(1.2, -0.6), seed=0, sd=0.3)
    w = np.diff(y)
    P = M._arima_order(len(y))
    rows = np.arange(P, len(w))
    Z = np.stack([w[rows - 1 - j] for j in range(P)] + [w[rows]], 1)
    coef = M._arima_fit((Z.T @ Z)[None], np.array([len(rows)]))[0]
    np.testing.assert_allclose(coef[:2], [1.2, -0.6], atol=0.1)
    assert np.all(np.abs(coef[2:]) < 0.15), coef
    origins = np.arange(100, 395)
    truth = np.stack([y[o + 1:o + 5] for o in origins])
    err = {k: np.abs(M.forecasts(k, y, origins, 4, 1) - truth).mean() for k in ("arima", "naive", "damped")}
    assert err["arima"] < 0.85 * min(err["naive"], err["damped"]), err
    # a straight line continues; a constant stays; short series are naive
    line = 3.0 + 0.5 * np.arange(40)
    np.testing.assert_allclose(M.forecast_last("arima", line, 5, 1), 3.0 + 0.5 * np.arange(40, 45), rtol=1e-6)
    np.testing.assert_array_equal(M.forecast_last("arima", np.full(30, 7.0), 4, 1), np.full(4, 7.0))
    for n in (1, 2, 5):
        np.testing.assert_array_equal(M.forecast_batch("arima", np.arange(n, dtype=float)[None] + 1, 3, 1),
                                      np.full((1, 3), float(n)))
    # values near the input's limit (1e150) stay finite
    assert np.all(np.isfinite(M.forecast_last("arima", 1e150 * _arima_series(60, seed=2) / 100, 6, 1)))
    assert "arima" in M.methods_for(1, 10) and "arima" in CH.STATS and CH.valid_method("median(rnn,arima,theta+damped)")


def test_arima_keeps_only_stationary_fits():
    # the step-down test against the companion matrix's eigenvalues (its numpy reference)
    rng = np.random.default_rng(0)
    for p in range(1, 9):
        c = rng.normal(0, 0.8 / np.sqrt(p), (500, p))
        comp = np.zeros((500, p, p))
        comp[:, 0, :] = c
        comp[:, 1:, :-1] = np.eye(p - 1)
        np.testing.assert_array_equal(M._stationary(c), np.abs(np.linalg.eigvals(comp)).max(1) < 1)
    assert not M._stationary(np.array([[np.nan, 0.0]]))[0]
    # differences that grow geometrically: least squares fits an explosive AR(1), which is not taken, so
    # the forecast 48 steps out stays on the scale of the series instead of growing like 1.05^48
    y = np.cumsum(1.05 ** np.arange(60)) + np.random.default_rng(1).normal(0, 0.01, 60)
    f = M.forecast_last("arima", y, 48, 1)
    assert np.all(np.abs(f - y[-1]) <= 48 * np.abs(np.diff(y)).max()), f[-1]
    np.testing.assert_allclose(f, M.forecast_batch("arima", y[None], 48, 1)[0], rtol=1e-9)


def _ses_reference(x, t0):
    """ETS(A,N,N) by its definition, one plain loop per alpha: (least SSE counted from t0, its level)."""
    best = None
    for a in M.ALPHAS:
        level, sse = x[0], 0.0
        for t in range(1, len(x)):
            e = x[t] - level
            if t >= t0:
                sse += e * e
            level += a * e
        if best is None or sse < best[0]:
            best = (sse, level)
    return best


def test_ets_takes_the_member_of_least_aicc_and_matches_its_kernels():
    rng = np.random.default_rng(7)
    # a growth rate: a level that wanders, no trend. ETS(A,N,N) has the least AICc and forecasts its level
    # flat, where Theta adds half the least-squares slope of an accidental drift
    x = 0.7 + rng.normal(0, 1, 120) + np.r_[np.zeros(60), np.linspace(0, -0.8, 60)]
    _, level = _ses_reference(x, 2)
    np.testing.assert_allclose(M.forecast_last("ets", x, 8, 1), np.full(8, level), rtol=1e-12)
    assert np.ptp(M.forecast_last("theta", x, 8, 1)) > 0.01
    # a steady trend: the damped trend's members pay for their parameters and forecast the growth
    z = 0.5 * np.arange(80) + rng.normal(0, 0.3, 80)
    g = M.forecast_last("ets", z, 6, 1)
    assert np.all(np.diff(g) > 0.3) and abs(g[0] - 0.5 * 80) < 1.5
    # a seasonal level without trend: ETS(A,N,A) follows the season
    m, t = 12, np.arange(96)
    s = 50 + 8 * np.sin(2 * np.pi * t / m) + rng.normal(0, 0.5, 96)
    err = {k: np.abs(M.forecast_last(k, s[:84], 12, m) - s[84:]).mean() for k in ("ets", "naive")}
    assert err["ets"] < 0.2 * err["naive"], err
    # the kernels against the numpy form at every origin (before the counted errors too), and from the end
    # of every row; ``lets`` on the logarithms of positive rows, on the values of the others
    for m, y in ((1, x), (4, 0.3 * np.arange(30) + 3 * np.sin(np.arange(30) * np.pi / 2) + rng.normal(0, .5, 30)),
                 (12, s)):
        o = np.arange(len(y))[::-1]
        np.testing.assert_allclose(M._ets_scan_kernel(y, o, 5, m), M._ets_scan(y, o, 5, m), rtol=1e-12)
        np.testing.assert_array_equal(M._ets_scan_kernel(y, np.array([0, 1, 2, 3]), 5, m)[:, 0], y[:4])
    Y = np.stack([s, s - s.min(), 2 * s])
    for meth in M.ETS:
        np.testing.assert_allclose(M.forecast_batch(meth, Y, 6, 12),
                                   np.stack([M.forecast_last(meth, r, 6, 12) for r in Y]), rtol=1e-9)
    np.testing.assert_allclose(M.forecast_last("lets", s, 6, 12), np.exp(M._ets_scan(np.log(s), [95], 6, 12)[0]),
                               rtol=1e-12)
    np.testing.assert_allclose(M.forecast_last("lets", Y[1], 6, 12), M.forecast_last("ets", Y[1], 6, 12))
    # candidates: ``ets`` for every series, ``lets`` for positive ones; both among the choice's pool
    assert "ets" in M.methods_for(1, 30) and "lets" not in M.methods_for(1, 30)
    assert {"ets", "lets"} <= set(M.methods_for(12, 60, True)) and {"ets", "lets"} <= set(CH.STATS)


def test_ets_members_and_damped_grids_as_parameters():
    # the benchmarks' screens run their variants through these parameters instead of copies of the scans
    rng = np.random.default_rng(11)
    x = 0.7 + rng.normal(0, 1, 120)
    o = np.arange(20, 120)
    # one member: ETS(A,N,N) alone is simple exponential smoothing (once its AICc is finite)
    ses = M._ets_scan(x, o, 4, 1, ("ANN",))
    for i, t in enumerate(o):
        _, level = _ses_reference(x[:t + 1], 2)
        np.testing.assert_allclose(ses[i], np.full(4, level), rtol=1e-12)
    # every member named is the default; a member that does not apply (seasonal, m = 1) is no candidate
    np.testing.assert_array_equal(M._ets_scan(x, o, 4, 1, M.ETS_MEMBERS), M._ets_scan(x, o, 4, 1))
    np.testing.assert_array_equal(M._ets_scan(x, o, 4, 1, ("ANN", "AAdN", "ANA")), M._ets_scan(x, o, 4, 1))
    # the damped trend on its own grid is the default; on a grid of strong damping it forecasts less growth
    z = 0.5 * np.arange(80) + rng.normal(0, 0.3, 80)
    np.testing.assert_array_equal(M._damped_scan(z, [79], 12, M._damped_grid()), M._damped_scan(z, [79], 12))
    low = M._damped_scan(z, [79], 12, M._damped_grid((0.8,)))
    assert np.ptp(low) < np.ptp(M._damped_scan(z, [79], 12))
    assert set(M._damped_grid((0.8, 0.85))[2]) == {0.8, 0.85}
