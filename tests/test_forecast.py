"""Forecasting: series input, transforms, leakage, accuracy on synthetic series, intervals, errors, CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnntools.errors import InputError, UsageError
from rnntools.tasks import forecast as F
from rnntools.tasks.forecast import choose as CH
from rnntools.tasks.forecast import data as D
from rnntools.tasks.forecast import metrics as MT
from rnntools.tasks.forecast import model as FM
from rnntools.tasks.forecast import series as S

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = {"epochs": 30, "patience": 5}


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _seasonal(n, season=12, noise=0.3, seed=0, level=10.0, trend=0.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return level + trend * t + 2.0 * np.sin(2 * np.pi * t / season) + noise * rng.normal(size=n)


# --- transforms ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("log", [False, True])
def test_scaler_round_trip(log):
    y = np.abs(_seasonal(100, trend=0.1)) + 1
    sc = D.Scaler.fit(y, log=log)
    z = sc.transform(y)
    assert abs(np.mean(z)) < 1e-9
    np.testing.assert_allclose(sc.inverse(z), y, rtol=1e-12)
    np.testing.assert_allclose(D.Scaler.from_list(sc.to_list()).inverse(z), y, rtol=1e-12)


@pytest.mark.parametrize("lag", [1, 4, 12])
def test_differencing_round_trip(lag):
    y = _seasonal(60, seed=lag)
    d = D.difference(y, lag)
    assert len(d) == 60 - lag
    np.testing.assert_allclose(D.undifference(d[20:], y[:20 + lag], lag), y[20 + lag:], atol=1e-12)


def test_baseline_is_seasonal_naive_and_targets_invert_it():
    z = _seasonal(40, season=5)
    H, m = 7, 5
    base = D.baseline(z[None, :30], H, m, "season")[0]
    np.testing.assert_allclose(base, MT.seasonal_naive(z[:30], H, m))
    R = D.targets(z, H, m, "season", m)
    np.testing.assert_allclose(R[29] + base, z[30:37], atol=1e-12)   # residual + baseline = future values
    assert np.isnan(R[35, 6]) and np.isnan(R[2, 0])                  # past the end; baseline before start


def test_drift_baseline_continues_a_trend():
    t = np.arange(40.0)
    z = 0.5 * t + np.tile([0.0, 1.0, -1.0, 0.0], 10)                  # linear trend + season 4
    base = D.baseline(z[None, :32], 8, 4, "drift")[0]
    np.testing.assert_allclose(base, z[32:40], atol=1e-12)           # exact on trend + fixed season
    R = D.targets(z, 8, 4, "drift", 8)
    assert np.nanmax(np.abs(R)) < 1e-12


def test_masked_l1_gradient():
    from gradcheck import assert_grad

    rng = np.random.default_rng(2)
    Y, R = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 4))
    M = (rng.random((3, 2, 4)) > 0.3).astype(float)
    total, count, dY = FM.masked_l1(Y, R, M)
    assert count == M.sum() and total == pytest.approx(np.sum(np.abs(Y - R) * M))
    assert_grad(lambda: FM.masked_l1(Y, R, M)[0], Y, dY, name="Y")


# --- no look-ahead ------------------------------------------------------------------------------------

def test_features_use_no_future_values():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(2, 30))
    a = D.features(Z, np.array([29, 29]), 4, 4)
    Z2 = Z.copy()
    Z2[:, 20:] = rng.normal(size=(2, 10)) * 100   # change the future of step 19
    b = D.features(Z2, np.array([29, 29]), 4, 4)
    np.testing.assert_array_equal(a[:20 - 4], b[:20 - 4])                 # rows of steps 4..19 unchanged
    assert not np.allclose(a[20 - 4], b[20 - 4])


def test_training_windows_never_see_held_out_values():
    y = _seasonal(120, season=12)
    s = S.Series("a", y.copy(), S.TimeAxis("int", 1), 0)
    cfg = F.resolve(F.ForecastConfig(season=12, horizon=6, lookback=24), s.axis, [120])
    m1 = F.Model(cfg, s.axis)
    d1 = D.build_data([s], m1, 0.2)
    y2 = y.copy()
    y2[-24:] += 1000.0   # the held-out end (V = ceil(0.2 * 120) = 24)
    m2 = F.Model(cfg, s.axis)
    d2 = D.build_data([S.Series("a", y2, s.axis, 0)], m2, 0.2)
    rows = d1.starts[:, None] + np.arange(cfg.lookback)[None, :]
    np.testing.assert_array_equal(d1.X[rows], d2.X[rows])                 # inputs of every training window
    np.testing.assert_array_equal(d1.R * d1.M, d2.R * d2.M)               # every usable training target
    assert m1.scalers["a"] == m2.scalers["a"]                              # scaling fitted before the hold-out
    assert not np.allclose(d1.val_Y, d2.val_Y)                             # while validation does see it


# --- accuracy and intervals ---------------------------------------------------------------------------

def test_noisy_sine_is_forecast_well():
    n, H, m = 240, 12, 12
    y = _seasonal(n, season=m, noise=0.3, seed=1, trend=0.02)
    train, test = y[:-H], y[-H:]
    s = S.Series("sine", train, S.TimeAxis("int", 1), 0)
    model = F.fit_model([s], F.ForecastConfig(season=m, horizon=H), dict(FAST), quiet=True)
    f = F.forecast(model, [s], H)[0]["forecast"]
    naive = MT.seasonal_naive(train, H, m)
    # the noise floor: MAE of a perfect forecast is 0.3 * sqrt(2/pi) = 0.24
    assert np.mean(np.abs(f - test)) < 0.45
    assert MT.mase(test, f, train, m) < MT.mase(test, naive, train, m)


def test_interval_coverage_on_known_noise():
    # 30 series: a seasonal pattern plus N(0, 1) noise; the 80% interval of a good model is about +-1.28
    axis = S.TimeAxis("int", 1)
    series = [S.Series(f"s{i}", _seasonal(150, season=6, noise=1.0, seed=100 + i, level=20.0), axis, 0)
              for i in range(30)]
    H = 6
    model = F.fit_model([S.Series(s.id, s.values[:-H], axis, 0) for s in series],
                        F.ForecastConfig(season=6, horizon=H, intervals=(80,)), dict(FAST), quiet=True)
    preds = F.forecast(model, [S.Series(s.id, s.values[:-H], axis, 0) for s in series], H)
    actual = np.array([s.values[-H:] for s in series])
    lo = np.array([p["lower_80"] for p in preds])
    hi = np.array([p["upper_80"] for p in preds])
    cov = MT.coverage(actual, lo, hi)
    assert 0.65 <= cov <= 0.95, cov
    # and the width is about right for unit noise (2 * 1.28 = 2.56)
    assert 1.5 < float(np.mean(hi - lo)) < 4.5


def test_intervals_of_growing_series_follow_the_level():
    # 60 series growing 3% a step with errors of 4% of the level (a geometric random walk with drift): an
    # error at an early origin, where a series stood at a thirtieth of its end, said little of its size at the
    # end, and the intervals calibrated on such errors covered 49% / 78% of the future; now each origin's
    # errors count relative to the level there (78% / 94%)
    axis = S.TimeAxis("int", 1)
    rng = np.random.default_rng(7)
    H, n = 6, 120
    ys = [10.0 * np.exp(np.cumsum(0.03 + 0.04 * rng.standard_normal(n + H))) for _ in range(60)]
    train = [S.Series(f"g{i}", y[:n], axis, 0) for i, y in enumerate(ys)]
    model = F.fit_model(train, F.ForecastConfig(season=1, horizon=H, intervals=(80, 95)), dict(FAST), quiet=True)
    preds = F.forecast(model, train, H)
    actual = np.array([y[n:] for y in ys])
    cov = [MT.coverage(actual, np.array([p[f"lower_{lev}"] for p in preds]), np.array([p[f"upper_{lev}"] for p in preds]))
           for lev in (80, 95)]
    assert 0.7 <= cov[0] <= 0.92 and 0.88 <= cov[1] <= 0.99, cov


# --- input --------------------------------------------------------------------------------------------

CSV_GAPS = "date,sales\n2024-01-01,1\n2024-01-02,\n2024-01-03,3\n2024-01-05,5\n2024-01-06,NA\n2024-01-07,7\n"


@pytest.mark.parametrize("policy,expected", [
    ("interpolate", [1, 2, 3, 4, 5, 6, 7]),
    ("ffill", [1, 1, 3, 3, 5, 5, 7]),
])
def test_gaps_under_each_policy(tmp_path, policy, expected):
    s = S.read_series([_write(tmp_path, "g.csv", CSV_GAPS)])[0]
    assert s.axis.freq == "D"
    assert S.apply_missing(s, policy) == 3    # two empty cells and one missing day
    np.testing.assert_array_equal(s.values, expected)
    assert s.future_timestamps(2) == ["2024-01-08", "2024-01-09"]


def test_gaps_with_error_policy_name_the_series_and_date(tmp_path):
    s = S.read_series([_write(tmp_path, "g.csv", CSV_GAPS)])[0]
    with pytest.raises(InputError, match=r"'sales' has 3 missing.*2024-01-02.*--missing interpolate"):
        S.apply_missing(s, "error")


@pytest.mark.parametrize("stamps,freq,future", [
    (["2020-01", "2020-02", "2020-03"], "M", "2020-04"),
    (["2020-01-31", "2020-02-29", "2020-03-31"], "M", "2020-04-30"),
    (["1990Q1", "1990Q2", "1990Q3"], "Q", "1990Q4"),
    (["1990", "1991", "1992"], "1", 1993),
    (["2020-01-01T00:00", "2020-01-01T00:30", "2020-01-01T01:00"], "30min", "2020-01-01T01:30:00"),
    (["2020-01-04", "2020-01-11", "2020-01-18"], "W", "2020-01-25"),
])
def test_frequency_inference_and_future_timestamps(tmp_path, stamps, freq, future):
    text = "t,v\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps))
    s = S.read_series([_write(tmp_path, "f.csv", text)])[0]
    assert s.axis.freq == freq
    assert s.future_timestamps(1) == [future]


def test_integer_timestamps_beyond_int64_are_read_exactly(tmp_path):
    big = 2 ** 60   # was an internal error (OverflowError) converting the timestamps to int64
    text = "t,v\n" + "".join(f"{i * big},{i}\n" for i in range(40))
    s = S.read_series([_write(tmp_path, "f.csv", text)])[0]
    assert s.axis.freq == str(big) and len(s.values) == 40
    assert s.future_timestamps(1) == [40 * big]
    with pytest.raises(InputError, match=r"f\.csv:2: timestamps are not on a regular step of 10{20}"):
        S.read_series([_write(tmp_path, "f.csv", text)], freq="1" + "0" * 20)


def test_interval_levels_given_twice_are_one_level():
    from rnntools.cli.task_forecast import _levels

    # predict --intervals 80,80 wrote level 80 as lower/upper and again as lower_80/upper_80
    assert _levels(None, None, "80,80") == (80,)
    assert _levels(None, None, "95, 80,95") == (95, 80)
    assert _levels(None, None, "none") == ()


@pytest.mark.parametrize("freq", ["0", "00", 0])
def test_frequency_zero_is_refused(freq):
    from rnntools.tasks.forecast.timeaxis import parse_freq

    with pytest.raises(ValueError):   # the text "0" was read as the step 1
        parse_freq(freq)


def test_jsonl_many_series_and_pandas_freq_aliases(tmp_path):
    path = _write(tmp_path, "m.jsonl", '{"id": "a", "start": "1958-03-29", "freq": "W-SAT", "values": [1, 2, null]}\n'
                                        '\n{"id": "b", "values": [3, 4, 5]}\n')
    a, b = S.read_series([path])
    assert (a.axis.freq, b.axis.freq) == ("W", "1")
    assert np.isnan(a.values[2]) and a.future_timestamps(1) == ["1958-04-19"]
    assert b.future_timestamps(2) == [3, 4]


BAD = [
    ("t,v\n2020-01-01,1\n2020-01-02,abc\n", r"x\.csv:3: column 'v': 'abc' is not a number"),
    ("t,v\n2020-01-02,1\n2020-01-01,2\n", r"x\.csv:3: timestamp .* comes after .*sort"),
    ("t,v\n2020-01-01,1\n2020-01-01,2\n", r"x\.csv:3: duplicate timestamp .*line 2"),
    ("t,v\nyesterday,1\n", r"x\.csv:2: column 't': 'yesterday' is not a timestamp"),
    ("t,v\n2020-01-01,1\n2020-01-02,2,3\n", r"x\.csv:3: expected 2 fields"),
    ("t,v\n", r"x\.csv: no data rows"),
    # thousands separators make the column text, which would be read as a long-format id column
    ('t,v\n\n2020-01-01,"1,000"\n', r"x\.csv:3: no value column .*'v' holds '1,000' .*thousands separators"),
    ("t,v\n01/02/2020,1\n", r"x\.csv:2: column 't': '01/02/2020' is not a timestamp"),
    # a mistyped timestamp: a gap this long would be filled with made-up values (10**15 of them: petabytes)
    ("t,v\n" + "".join(f"{i},{i}\n" for i in range(40)) + "1000000000000000,1\n",
     r"x\.csv:42: timestamp 1000000000000000 comes 999999999999961 steps of 1 after 39: .*span "
     r"1000000000000001 steps for its 41 values"),
    ("t,v\n2020-01-01,1\n2020-01-02,2\n9999-12-31,3\n", r"x\.csv:4: timestamp 9999-12-31 comes \d+ steps of D "
     r"after 2020-01-02"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_bad_csv_inputs(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        S.read_series([_write(tmp_path, "x.csv", text)])


@pytest.mark.parametrize("text", [
    "t;v\n2020-01-01;1,5\n2020-01-02;-2,25\n2020-01-03;3\n",      # a spreadsheet's semicolons, decimal commas
    "t\tv\n2020-01-01\t1.5\n2020-01-02\t-2.25\n2020-01-03\t3\n",   # tab-separated
    "t|v\n2020-01-01|1.5\n2020-01-02|-2.25\n2020-01-03|3\n",
    "t,v\n2020/01/01,1.5\n2020/1/2,-2.25\n2020/01/03,3\n",          # year-first dates with slashes
])
def test_csv_dialects_read_as_the_comma_file(tmp_path, text):
    ref = S.read_series([_write(tmp_path, "ref.csv", "t,v\n2020-01-01,1.5\n2020-01-02,-2.25\n2020-01-03,3\n")])
    got = S.read_series([_write(tmp_path, "x.csv", text)])
    assert [s.id for s in got] == [s.id for s in ref] == ["v"]
    np.testing.assert_array_equal(got[0].values, ref[0].values)
    assert got[0].future_timestamps(2) == ref[0].future_timestamps(2)


def test_decimal_commas_are_read_only_in_semicolon_files(tmp_path):
    from rnntools.io import csv_delimiter, iter_csv

    assert [csv_delimiter(h) for h in ("a,b", "a;b", "a\tb", "a|b", "a", "a;b;c,d")] == [",", ";", "\t", "|", ",", ";"]
    rows = list(iter_csv(_write(tmp_path, "c.csv", 'name,v\n"x;1,5",2\n')))
    assert rows == [(2, {"name": "x;1,5", "v": "2"})]        # a quoted comma in a comma file stays
    rows = list(iter_csv(_write(tmp_path, "s.csv", "name;v\nab,c;1,5e3\n")))
    assert rows == [(2, {"name": "ab,c", "v": "1.5e3"})]     # text with a comma is not a number


@pytest.mark.parametrize("line,message", [
    ('{"id": "a", "values": [1, "x"]}', r"x\.jsonl:1: column 'values\[1\]': 'x' is not a number"),
    ('{"id": "a", "start": "2020-01-01", "freq": "fortnight", "values": [1]}', r"x\.jsonl:1: unknown freq"),
    ('{"id": "a", "start": "2020-01-01", "values": [1]}', r"x\.jsonl:1: field 'freq' is needed"),
    ('{"id": "a"}', r"x\.jsonl:1: record has no field 'values'"),
    ('[1, 2]', r"x\.jsonl:1: expected a JSON object"),
    # the records' time axes are parsed once per distinct (freq, start): true is not the start 1
    ('{"id": "a", "start": 1, "values": [1]}\n{"id": "b", "start": true, "values": [1]}',
     r"x\.jsonl:2: 'start' should be an integer"),
])
def test_bad_jsonl_inputs(tmp_path, line, message):
    with pytest.raises(InputError, match=message):
        S.read_series([_write(tmp_path, "x.jsonl", line + "\n")])


def test_a_series_too_short_for_the_network_is_forecast_by_a_statistical_method(capsys):
    # it was an error for the whole file ("series 'tiny' has 20 values; it needs at least 48"); a user of
    # statsforecast gets a forecast of 20 values: the network trains on the long series with the window they
    # allow, the short one is forecast by its statistical method, a warning naming it
    axis = S.TimeAxis("int", 1)
    series = [S.Series("long", _seasonal(200), axis, 0), S.Series("tiny", _seasonal(20), axis, 0, source="in.jsonl:2")]
    model = F.fit_model(series, F.ForecastConfig(season=12, horizon=12, lookback=24), dict(FAST))
    assert "series 'tiny' shorter than the network's 48 values" in capsys.readouterr().err
    assert model.cfg.lookback == 24 and "tiny" in model.selection["short"]
    assert "rnn" not in CH.bases_of(model.selection["choice"]["tiny"])
    out = {r["id"]: r for r in F.forecast(model, series, 12)}
    assert all(np.isfinite(out[i]["forecast"]).all() and len(out[i]["forecast"]) == 12 for i in ("long", "tiny"))
    assert (out["tiny"]["lower_80"] <= out["tiny"]["forecast"]).all()


def test_a_series_too_short_even_for_a_statistical_method_is_an_error_naming_it():
    axis = S.TimeAxis("int", 1)
    series = [S.Series("long", _seasonal(200), axis, 0), S.Series("tiny", _seasonal(10), axis, 0, source="in.jsonl:2")]
    with pytest.raises(InputError, match=r"in\.jsonl:2: series 'tiny' has 10 values; it needs at least 14 to be "
                                         r"forecast by a statistical method .* and 48 for the network"):
        F.fit_model(series, F.ForecastConfig(season=12, horizon=12, lookback=24), dict(FAST), quiet=True)
    with pytest.raises(InputError, match=r"in\.jsonl:2: series 'tiny' has 10 values; the network needs at least 48"):
        F.fit_model(series[:1] + [S.Series("tiny", _seasonal(10), axis, 0, source="in.jsonl:2")],
                    F.ForecastConfig(season=12, horizon=12, lookback=24, select="rnn"), dict(FAST), quiet=True)


@pytest.mark.parametrize("name,value", [("level_input", 0), ("refit", "no")])
def test_fit_model_refuses_a_switch_that_is_not_a_bool(name, value):
    # it trained, then wrote a model file that load() refuses ("level_input is 0, expected true or false")
    series = [S.Series("a", _seasonal(200), S.TimeAxis("int", 1), 0)]
    with pytest.raises(UsageError, match=f"{name} is {value!r}, expected True or False"):
        F.fit_model(series, F.ForecastConfig(season=12, horizon=12, **{name: value}), dict(FAST), quiet=True)


@pytest.mark.parametrize("n,season,horizon,validated", [
    (9, 1, 6, False), (14, 1, 6, False), (17, 1, 6, True), (21, 4, 8, True), (40, 12, 18, False),
    (52, 12, 18, True)])
def test_short_series_are_forecast_with_intervals(n, season, horizon, validated):
    # below the default lookback's length (16 + horizon + a season) a series was an error, and between
    # that and about three horizons it had no validation origins: the network forecast alone, without
    # intervals (predict failed). The lookback now leaves one training window before the validation part
    # (or, failing that, one at all), and a series without validation origins takes its statistical
    # method from history origins, its intervals calibrated there
    axis = S.TimeAxis("int", 1)
    y = _seasonal(n, season=max(season, 2), trend=0.2, seed=n)
    s = S.Series("short", y, axis, 0)
    model = F.fit_model([s], F.ForecastConfig(season=season, horizon=horizon), dict(FAST), quiet=True)
    need = max(season, 2)
    assert need + model.cfg.lookback + horizon <= n
    out = F.forecast(model, [s], horizon, [80, 95])[0]
    if validated:
        assert model.qtable is not None
    else:
        assert "rnn" not in out["method"] and model.qtable is None
    f, lo80, hi80, lo95, hi95 = (np.asarray(out[k]) for k in ("forecast", "lower_80", "upper_80", "lower_95",
                                                                "upper_95"))
    assert np.all(np.isfinite(f)) and np.all(lo95 <= lo80) and np.all(lo80 <= f) and np.all(f <= hi80)
    assert np.all(hi80 <= hi95) and np.any(hi95 > lo95)
    # one value short of the network's window: its statistical method alone (it was an error for the file)
    cut = S.Series("s", y[:need + horizon], axis, 0)
    small = F.fit_model([cut], F.ForecastConfig(season=season, horizon=horizon), dict(FAST), quiet=True)
    out = F.forecast(small, [cut], horizon, [80])[0]
    assert "rnn" not in out["method"] and np.all(np.asarray(out["lower_80"]) <= np.asarray(out["forecast"]))
    with pytest.raises(InputError, match=rf"has {need + 1} values; it needs at least {need + 2} to be forecast by a "
                                         "statistical method"):
        F.fit_model([S.Series("s", y[:need + 1], axis, 0)], F.ForecastConfig(season=season, horizon=horizon),
                    dict(FAST), quiet=True)


# --- commands -----------------------------------------------------------------------------------------

def test_cli_train_predict_evaluate(run_cli, samples_dir, tmp_path):
    csv = os.path.join(samples_dir, "airline.csv")
    model = tmp_path / "f.npz"
    r = run_cli(["rnn-train", "--task", "forecast", csv, "-o", model, "--epochs", 15, "--horizon", 12])
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    r = run_cli(["predict", model, "--horizon", 3], input=open(csv).read())
    assert r.exit_code == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["id"] == "passengers" and rec["timestamps"] == ["1961-01", "1961-02", "1961-03"]
    assert all(lo <= f <= hi for lo, f, hi in zip(rec["lower"], rec["forecast"], rec["upper"]))
    assert rec["level"] == 80 and len(rec["upper_95"]) == 3
    assert 300 < rec["forecast"][0] < 700    # original units (the last observed value is 432)
    r = run_cli(["evaluate", model, csv, "--backtest", 1, "--no-refit"])
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["folds"] == 1 and summary["horizon"] == 12 and "naive_mase" in summary
    # --seed and --max-time set the refits: with --no-refit they were ignored, silently
    r = run_cli(["evaluate", model, csv, "--backtest", 1, "--no-refit", "--seed", 5])
    assert r.exit_code == 2 and r.stdout == "" and "--seed sets the refits of the backtest; --no-refit" in r.stderr
    r = run_cli(["evaluate", model, csv, "--backtest", 1, "--no-refit", "--max-time", 3])
    assert r.exit_code == 2 and "--max-time sets the refits" in r.stderr
    # bad option values are usage errors
    r = run_cli(["rnn-train", "--task", "forecast", csv, "-o", model, "--intervals", "80,150"])
    assert r.exit_code == 2 and "--intervals" in r.stderr


@pytest.mark.slow
def test_cron_style_pipeline(samples_dir, tmp_path):
    """A nightly job: train a global model on the quarterly series, forecast them all in one pass."""
    data = tmp_path / "q.jsonl"
    lines = [ln for ln in open(os.path.join(samples_dir, "series.jsonl")) if '"freq": "Q"' in ln]
    data.write_text("".join(lines))
    py = f"'{sys.executable}' -m rnntools"
    cmd = (f"set -euo pipefail; {py} rnn-train --task forecast {data} -o {tmp_path}/q.npz --epochs 20 && "
           f"{py} predict {tmp_path}/q.npz {data} --horizon 4 > {tmp_path}/out.jsonl && "
           f"{py} predict {tmp_path}/q.npz {data} | head -1")
    env = {**os.environ, "PYTHONPATH": ROOT}
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(ln) for ln in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in out] == ["woolyrnq", "ausbeer"]
    assert all(len(r["forecast"]) == 4 and r["timestamps"][0].endswith(("Q1", "Q2", "Q3", "Q4")) for r in out)
    assert len(result.stdout.splitlines()) == 1


def test_resume_continues_exactly(run_cli, samples_dir, tmp_path):
    csv = os.path.join(samples_dir, "airline.csv")
    common = ["rnn-train", "--task", "forecast", csv, "--horizon", 6, "--threads", 1, "--refit-all"]
    assert run_cli([*common, "-o", tmp_path / "a.npz", "--epochs", 6]).exit_code == 0
    assert run_cli([*common, "-o", tmp_path / "b.npz", "--epochs", 3]).exit_code == 0
    r = run_cli([*common, "-o", tmp_path / "b.npz", "--epochs", 6, "--resume", tmp_path / "b.npz"])
    assert r.exit_code == 0, r.stderr
    a, b = F.load(str(tmp_path / "a.npz")), F.load(str(tmp_path / "b.npz"))
    for name, value in a.members[0].params.items():
        np.testing.assert_array_equal(value, b.members[0].params[name], err_msg=name)
    np.testing.assert_array_equal(a.qtable, b.qtable)


def test_long_format_csv_and_year_starts(tmp_path):
    text = "store,date,sales\na,2024-01-01,1\na,2024-01-02,2\nb,2024-01-01,5\nb,2024-01-02,\n"
    a, b = S.read_series([_write(tmp_path, "long.csv", text)])   # the text column is the id
    assert (a.id, b.id) == ("a", "b") and np.isnan(b.values[1])
    assert b.future_timestamps(1) == ["2024-01-03"]
    y = S.read_series([_write(tmp_path, "y.jsonl", '{"id": "lynx", "start": "1821", "freq": "Y", "values": [1, 2]}\n')])
    assert y[0].future_timestamps(2) == ["1823", "1824"]
    with pytest.raises(InputError, match=r"long\.csv:4: timestamp 2024-01-01 comes after 2024-01-02 in series "
                                         r"'sales'.*--id-column"):
        S.read_series([_write(tmp_path, "long.csv", text.replace("store", "shop").replace("a,", "1,")
                              .replace("b,", "2,"))], id_column=None, target="sales")


def test_predict_rejects_other_frequencies_and_short_series():
    axis = S.TimeAxis("month", 1, "month")
    train = [S.Series("a", _seasonal(120), axis, S.parse_timestamp("2000-01")[1])]
    model = F.fit_model(train, F.ForecastConfig(season=12, horizon=6), {"epochs": 2}, quiet=True)
    daily = S.Series("d", _seasonal(120), S.TimeAxis("fixed", 86400, "date"), S.parse_timestamp("2000-01-01")[1],
                     source="x.jsonl:3")
    with pytest.raises(InputError, match=r"x\.jsonl:3: series 'd' has frequency D but the model forecasts M"):
        F.forecast(model, [daily], 6)
    short = S.Series("s", _seasonal(10), axis, S.parse_timestamp("2000-01")[1], source="x.jsonl:4")
    with pytest.raises(InputError, match=r"x\.jsonl:4: series 's' has 10 values; it needs at least 14 to be forecast"):
        F.forecast(model, [short], 6)


def test_past_covariates_help_when_they_lead_the_target(tmp_path, run_cli):
    rng = np.random.default_rng(5)
    n = 300
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = 0.8 * x[i - 1] + rng.normal()
    y = 10 + np.concatenate([[0.0], 3 * x[:-1]]) + 0.1 * rng.normal(size=n)   # y[t] = 3 x[t-1] + noise
    axis = S.TimeAxis("int", 1)
    H = 1
    errors = {}
    for with_cov in (False, True):
        s = S.Series("y", y[:-20], axis, 0, covariates=x[:-20, None] if with_cov else None)
        cfg = F.ForecastConfig(season=1, horizon=H, covariates=("x",) if with_cov else ())
        model = F.fit_model([s], cfg, dict(FAST), quiet=True)
        errs = []
        for cut in range(n - 20, n):   # one-step forecasts over the last 20 points
            hist = S.Series("y", y[:cut], axis, 0, covariates=x[:cut, None] if with_cov else None)
            errs.append(abs(F.forecast(model, [hist], H)[0]["forecast"][0] - y[cut]))
        errors[with_cov] = float(np.mean(errs))
    assert errors[True] < 0.5 * errors[False], errors
    # the CLI stores the covariate columns and predict reads them again
    csv = tmp_path / "c.csv"
    csv.write_text("t,y,x\n" + "".join(f"{i},{y[i]:.4f},{x[i]:.4f}\n" for i in range(n)))
    r = run_cli(["rnn-train", "--task", "forecast", csv, "--covariates", "x", "--horizon", 1, "--season", 1,
                 "--epochs", 3, "-o", tmp_path / "c.npz"])
    assert r.exit_code == 0, r.stderr
    r = run_cli(["predict", tmp_path / "c.npz", csv])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["timestamps"] == [n]
    r = run_cli(["predict", tmp_path / "c.npz"], input="t,y\n" + "".join(f"{i},{y[i]}\n" for i in range(n)))
    assert r.exit_code == 2 and "covariate 'x'" in r.stderr


def test_non_finite_forecasts_are_an_error_not_a_crash():
    axis = S.TimeAxis("int", 1)
    y = np.abs(_seasonal(150)) + 1
    cfg = F.ForecastConfig(season=12, horizon=6, transform="log", select="rnn")
    model = F.fit_model([S.Series("a", y, axis, 0)], cfg,
                        {"epochs": 2}, quiet=True)
    huge = S.Series("a", y, axis, 0, source="x.csv:2")
    # a network that has gone wild: scaled forecasts of 1e4 overflow exp() of the log transform
    model.forecast_scaled = lambda Z, pe, horizon, C=None: np.full((len(Z), horizon), 1e4)
    with pytest.raises(InputError, match=r"x\.csv:2: the forecast of series 'a' is not finite"):
        F.forecast(model, [huge], 6)


def _mixed_rows(count, n, seed):
    """Rows of a file of many series: seasonal, growing multiplicatively, negative, constant."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    rows = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            y = 50 * np.exp(0.01 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) * (1 + 0.03 * rng.normal(size=n))
        elif kind == 1:
            y = _seasonal(n, seed=seed + i, level=-3.0, trend=rng.normal())
        elif kind == 2:
            y = 20 + np.cumsum(rng.normal(size=n))
        else:
            y = np.full(n, 7.0)
        rows.append(y)
    return rows


@pytest.mark.parametrize("transform", ["auto", "log", "none"])
def test_batched_scalers_are_the_per_series_ones_bit_for_bit(transform):
    values = _mixed_rows(30, 80, 1) + _mixed_rows(5, 53, 2) + [_seasonal(40)]
    cfg = F.ForecastConfig(season=12, transform=transform)
    one = [D.fit_scaler(v, cfg).to_list() for v in values]
    assert D.fit_scalers(values, cfg) and [s.to_list() for s in D.fit_scalers(values, cfg)] == one
    if transform == "auto":
        assert 0 < sum(s[2] for s in one) < len(one)          # both kinds are in the test


def test_forecasts_do_not_depend_on_how_the_series_are_blocked(monkeypatch):
    # predict works over many series in blocks of rows (the network, the statistical methods, the scalers);
    # a series' forecast must be the same bits whatever the blocks
    axis = S.TimeAxis("month", 1, "month")
    start = S.parse_timestamp("2000-01")[1]
    train = [S.Series(f"t{i}", y, axis, start) for i, y in enumerate(_mixed_rows(4, 90, 3))]
    model = F.fit_model(train, F.ForecastConfig(season=12, horizon=6), {"epochs": 2}, quiet=True)
    # 130 values: 9-10 per phase of the decomposition, where numpy's sums of a row alone and among others
    # once differed
    series = [S.Series(f"u{i}", y, axis, start) for i, y in enumerate(_mixed_rows(150, 130, 4) + _mixed_rows(70, 61, 5))]
    whole = F.forecast(model, series, 6)
    monkeypatch.setattr(D, "BLOCK_BYTES", 1)             # the least: 64 rows per block
    monkeypatch.setattr(FM, "FORWARD_BLOCK_BYTES", 1)
    blocked = F.forecast(model, series, 6)
    for a, b in zip(whole, blocked):
        assert a["method"] == b["method"]
        for key in ("forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
            np.testing.assert_array_equal(a[key], b[key])
    # the statistical methods of one series alone are the bits it gets among others

    values = [s.values for s in series]
    need = {b: list(range(len(series))) for b in ("theta", "damped", "snaive")}
    many = CH.stat_forecasts(need, values, 6, 12)
    for i in (0, 1, 150, 219):
        alone = CH.stat_forecasts({b: [0] for b in need}, [values[i]], 6, 12)
        for b in need:
            np.testing.assert_array_equal(alone[b][0], many[b][i])


def _small_model_and_series(count):
    axis = S.TimeAxis("month", 1, "month")
    start = S.parse_timestamp("2000-01")[1]
    train = [S.Series(f"t{i}", y, axis, start) for i, y in enumerate(_mixed_rows(4, 90, 3))]
    model = F.fit_model(train, F.ForecastConfig(season=12, horizon=6), {"epochs": 2}, quiet=True)
    return model, [S.Series(f"u{i}", y, axis, start) for i, y in enumerate(_mixed_rows(count, 70, 4))]


def test_predict_forecasts_block_by_block_as_it_reads(monkeypatch):
    # predict forecasts a block of series at a time from a lazy reader: the records are those of one batch,
    # in the input's order, and the first comes before the whole input is read
    from rnntools.tasks.forecast import forecasts as FC

    model, series = _small_model_and_series(23)
    whole = list(F.predict(model, iter(series)))
    monkeypatch.setattr(FC, "SERIES_PER_BLOCK", 4)
    read = []

    def reader():
        for s in series:
            read.append(s.id)
            yield s

    out = F.predict(model, reader())
    first = next(out)
    assert len(read) == 4
    blocked = [first, *out]
    assert [r["id"] for r in blocked] == [s.id for s in series] == read
    assert json.dumps(blocked) == json.dumps(whole)


@pytest.mark.parametrize("workers", [1, 2])
def test_predict_text_is_the_jsonl_of_predict_in_worker_processes_too(monkeypatch, workers):
    # the CLI's fast path: blocks forecast and formatted in forked workers, the same bytes as writing
    # predict's records here, in the input's order (ids u0..u22 in 6 blocks)
    import io

    from rnntools.io import JsonlWriter
    from rnntools.tasks.forecast import forecasts as FC

    model, series = _small_model_and_series(23)
    buf = io.StringIO()
    writer = JsonlWriter(buf)
    for rec in F.predict(model, iter(series)):
        writer.write(rec)
    monkeypatch.setattr(FC, "SERIES_PER_BLOCK", 4)
    monkeypatch.setattr(FC, "BLOCKS_FOR_WORKERS", 2)
    from rnntools import parallel

    pools = []

    def ordered_map(func, items, workers):
        pools.append(workers)
        return real_map(func, items, workers)

    real_map = parallel.ordered_map
    monkeypatch.setattr(parallel, "ordered_map", ordered_map)
    texts = list(FC.predict_text(model, iter(series), model.cfg.horizon, model.levels, workers=workers))
    assert pools == ([] if workers == 1 else [2])
    assert len(texts) == 6
    assert "".join(texts) == buf.getvalue()


@pytest.mark.parametrize("levels", [None, [], [95]])
def test_block_text_is_the_jsonl_of_the_block_records_for_every_kind_of_value(levels):
    # the CLI's text path prints the rounded numbers with io.decimals: the same bytes as the JSON encoder,
    # also for rows it leaves to the encoder (tiny values repr prints with an exponent), odd ids, one level
    from rnntools.io.outputs import jsonl_text
    from rnntools.tasks.forecast import forecasts as FC

    model, series = _small_model_and_series(9)
    levels = list(model.levels) if levels is None else levels
    series[1].values = series[1].values * 1e-9       # forecasts near 1e-7: repr writes 1.23456e-07
    series[2].values = -series[2].values             # negative values and bounds
    series[3].values = series[3].values * 1e9        # large values: integers with ".0"
    series[4].id = 'quote " back \\ \u00e9 \u2028'
    expected = jsonl_text(FC._block_records(model, series, model.cfg.horizon, levels))
    got = FC._block_text(model, series, model.cfg.horizon, levels)
    assert got == expected
    assert "e-" in got.splitlines()[1]
    assert FC._block_text(model, [], model.cfg.horizon, levels) == ""


def test_an_error_in_a_worker_process_names_the_series_after_the_blocks_before_it(monkeypatch):
    from rnntools.tasks.forecast import forecasts as FC

    model, series = _small_model_and_series(12)
    series[9].source = "x.jsonl:10"
    with np.errstate(over="ignore"):  # values past the float range: the forecast is not finite
        series[9].values = series[9].values * 1e307
    monkeypatch.setattr(FC, "SERIES_PER_BLOCK", 4)
    monkeypatch.setattr(FC, "BLOCKS_FOR_WORKERS", 2)
    got = []
    with pytest.raises(InputError, match=r"x\.jsonl:10: the forecast of series 'u9' is not finite"):
        for text in FC.predict_text(model, iter(series), model.cfg.horizon, model.levels, workers=2):
            got.append(text)
    assert [json.loads(line)["id"] for text in got for line in text.splitlines()] == [f"u{i}" for i in range(8)]


def test_cli_predict_in_worker_processes_writes_the_same_bytes(run_cli, tmp_path, monkeypatch):
    from rnntools.tasks.forecast import forecasts as FC

    model = os.path.join(os.path.dirname(__file__), "data", "contract", "forecast.npz")
    air = json.loads(open(os.path.join(os.path.dirname(__file__), "..", "samples", "series.jsonl")).readline())
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"id": f"a{k}", "start": "1949-01", "freq": "M",
                                        "values": [v * (1 + k / 10) for v in air["values"]]}) + "\n"
                            for k in range(30)))
    monkeypatch.setattr(FC, "SERIES_PER_BLOCK", 4)
    monkeypatch.setattr(FC, "BLOCKS_FOR_WORKERS", 3)
    one = run_cli(["predict", model, path, "--threads", "1"])
    two = run_cli(["predict", model, path, "--threads", "2"])
    assert one.exit_code == two.exit_code == 0, two.stderr
    assert [json.loads(line)["id"] for line in two.stdout.splitlines()] == [f"a{k}" for k in range(30)]
    assert two.stdout == one.stdout


def test_a_series_id_in_two_inputs_is_an_error_and_an_empty_input_too(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"id": "x", "values": [1, 2, 3]}\n{"id": "y", "values": [1, 2, 3]}\n')
    b.write_text('{"id": "z", "values": [1, 2, 3]}\n{"id": "y", "values": [4, 5, 6]}\n')
    with pytest.raises(InputError, match="'y' appears in more than one input"):
        S.read_series([str(a), str(b)])
    assert [s.id for s in S.read_series([str(a)])] == ["x", "y"]
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="no series in the input"):
        S.read_series([str(empty)])


def test_a_series_too_short_for_the_season_names_the_season(run_cli, tmp_path):
    """A season near the series' length (60 monthly values, --season 59): the error said only that --lookback or
    --horizon should be smaller, though the season asked for the most history."""
    csv = tmp_path / "s.csv"
    csv.write_text("month,y\n" + "".join(f"{1949 + i // 12}-{i % 12 + 1:02d},{100 + i}\n" for i in range(60)))
    r = run_cli(["rnn-train", "--task", "forecast", csv, "-o", tmp_path / "m.npz", "--season", 59, "--max-steps", 2])
    assert r.exit_code == 1 and "59 for seasonal features, season 59" in r.stderr and "--season" in r.stderr, r.stderr


def test_a_window_no_series_holds_or_a_horizon_past_the_series_is_still_an_error():
    # the statistical fallback is for series too short for the network's default window; --lookback 100000 on
    # 144 values, or a horizon longer than the series, is a request the data cannot answer (exit 1 as before)
    axis = S.TimeAxis("int", 1)
    y = _seasonal(144)
    with pytest.raises(InputError, match=r"series 'a' has 144 values; it needs at least 100030 .* pass a smaller"):
        F.fit_model([S.Series("a", y, axis, 0)], F.ForecastConfig(season=12, horizon=18, lookback=100000),
                    dict(FAST), quiet=True)
    with pytest.raises(InputError, match=r"series 'a' has 144 values; it needs at least 1013 "):
        F.fit_model([S.Series("a", y, axis, 0)], F.ForecastConfig(season=12, horizon=1000), dict(FAST), quiet=True)
