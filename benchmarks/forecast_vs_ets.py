"""rnntools forecaster vs ETS (statsmodels) vs seasonal naive on real series, plus batch-forecast speed.

    flock /tmp/rnntools-bench.lock python benchmarks/forecast_vs_ets.py            # accuracy + timing
    python benchmarks/forecast_vs_ets.py --only airpassengers,lynx --set ensemble=3  # ablations
    python benchmarks/forecast_vs_ets.py --speed-only

Data: benchmarks/datasets.py ``series()`` -- 14 real series that ship inside pmdarima and statsmodels
(monthly, weekly, quarterly, annual, half-hourly, 0.5 s). Every method sees the same history (the last
``--max-history`` points before the hold-out) and is scored on the same last-h hold-out (h by frequency,
as in the M4 competition). MASE is scaled by the in-sample seasonal-naive MAE of that history.

ETS: statsmodels ExponentialSmoothing, the best by AICc over error-additive models with trend
{none, additive damped} x season {none, additive, multiplicative (positive series)}, like R's ets() (season
only for 1 < m <= 52 with two full seasons of history). rnntools: the library with the CLI's defaults
(``rnntools rnn-train --task forecast``), one model per series, season and horizon given as to ETS.

Speed: a global model trained on 500 synthetic monthly series (at most 60 s), then the time to forecast 10,000
series of length 200 in one batched pass (library call, and the whole CLI: JSONL in, JSONL out: wall and CPU
seconds of the process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

from rnntools import console  # noqa: E402
from rnntools.tasks import forecast as F  # noqa: E402
from rnntools.tasks.forecast.metrics import coverage, mase, seasonal_naive, smape  # noqa: E402
from rnntools.tasks.forecast.series import Series, TimeAxis  # noqa: E402

H_BY_FREQ = {"monthly": 18, "quarterly": 8, "annual": 6, "weekly": 13, "half-hourly": 48, "0.5s": 20}


def ets_forecast(y: np.ndarray, h: int, m: int) -> tuple[np.ndarray, str]:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    best, best_aicc, name = None, np.inf, ""
    seasons = [None]
    if 1 < m <= 52 and len(y) >= 2 * m + 2:
        seasons += ["add"] + (["mul"] if np.all(y > 0) else [])
    for trend in (None, "add"):
        for seasonal in seasons:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit = ExponentialSmoothing(y, trend=trend, damped_trend=trend is not None, seasonal=seasonal,
                                               seasonal_periods=m if seasonal else None,
                                               initialization_method="estimated").fit()
                aicc = fit.aicc
                fc = fit.forecast(h)
            except Exception:  # noqa: BLE001 - a configuration that does not fit is skipped, as in ets()
                continue
            if np.isfinite(aicc) and np.all(np.isfinite(fc)) and aicc < best_aicc:
                best, best_aicc, name = fc, aicc, f"A,{'Ad' if trend else 'N'},{(seasonal or 'N')[0].upper()}"
    if best is None:
        return seasonal_naive(y, h, m), "naive"
    return np.asarray(best, np.float64), name


_ETS_CACHE = os.environ.get("FORECAST_ETS_CACHE")  # ablation runs reuse ETS forecasts (deterministic)


def ets_cached(y, h, m, name):
    if not _ETS_CACHE:
        return ets_forecast(y, h, m)
    cache = json.load(open(_ETS_CACHE)) if os.path.exists(_ETS_CACHE) else {}
    key = f"{name}:{len(y)}:{h}:{m}"
    if key not in cache:
        fc, label = ets_forecast(y, h, m)
        cache[key] = [fc.tolist(), label]
        json.dump(cache, open(_ETS_CACHE, "w"))
    return np.array(cache[key][0]), cache[key][1]


def rnn_forecast(y: np.ndarray, h: int, m: int, overrides: dict, engine: dict, name: str):
    s = Series(name, y, TimeAxis("int", 1), 0)
    cfg = F.ForecastConfig(season=m, horizon=h, **overrides)
    model = F.fit_model([s], cfg, dict(engine), quiet=True)
    p = F.forecast(model, [s], h)[0]
    return p, model


def accuracy(args, overrides, engine):
    import datasets

    rows, times = [], {"ets": [], "rnntools": []}
    for ds in datasets.series():
        if args.only and ds.name not in args.only:
            continue
        meta = datasets.SERIES_META[ds.name]
        h, m = H_BY_FREQ[meta["freq"]], ds.season
        y = np.asarray(ds.values, np.float64)
        train, test = y[:-h][-args.max_history:], y[-h:]
        naive = seasonal_naive(train, h, m)
        t_ets, t_rnn = [], []
        for _ in range(args.reps):  # alternate the two sides; the forecasts are deterministic
            t0 = time.perf_counter()
            fe, ets_name = ets_cached(train, h, m, ds.name)
            t_ets.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            p, model = rnn_forecast(train, h, m, overrides, engine, ds.name)
            t_rnn.append(time.perf_counter() - t0)
        fr = p["forecast"]
        row = {"series": ds.name, "freq": meta["freq"], "n": len(train), "h": h, "m": m,
               "mase_rnn": mase(test, fr, train, m), "mase_ets": mase(test, fe, train, m),
               "mase_naive": mase(test, naive, train, m), "smape_rnn": smape(test, fr),
               "smape_ets": smape(test, fe), "smape_naive": smape(test, naive),
               "cov80": coverage(test, p["lower_80"], p["upper_80"]) if "lower_80" in p else None,
               "cov95": coverage(test, p["lower_95"], p["upper_95"]) if "lower_95" in p else None,
               "ets": ets_name, "lookback": model.cfg.lookback, "steps": model.summary.get("steps"),
               "s_rnn": statistics.median(t_rnn), "s_ets": statistics.median(t_ets)}
        rows.append(row)
        times["ets"].append(row["s_ets"])
        times["rnntools"].append(row["s_rnn"])
        print(f"{ds.name:17s} {meta['freq']:11s} n={len(train):5d} h={h:2d} m={m:3d}  MASE rnn {row['mase_rnn']:.3f} "
              f"ets {row['mase_ets']:.3f} ({ets_name}) naive {row['mase_naive']:.3f}  sMAPE rnn "
              f"{row['smape_rnn']:.2f} ets {row['smape_ets']:.2f} naive {row['smape_naive']:.2f}  cov80 "
              f"{row['cov80']:.2f} cov95 {row['cov95']:.2f}  fit {row['s_rnn']:.2f}s vs {row['s_ets']:.2f}s",
              flush=True)
    k = len(rows)
    mean = {key: float(np.mean([r[key] for r in rows])) for key in
            ("mase_rnn", "mase_ets", "mase_naive", "smape_rnn", "smape_ets", "smape_naive", "cov80", "cov95")}
    wins_naive = sum(r["mase_rnn"] < r["mase_naive"] for r in rows)
    wins_ets = sum(r["mase_rnn"] < r["mase_ets"] for r in rows)
    print(f"\nmean MASE  rnntools {mean['mase_rnn']:.3f}  ETS {mean['mase_ets']:.3f}  seasonal naive "
          f"{mean['mase_naive']:.3f}   (ratio rnntools/ETS {mean['mase_rnn'] / mean['mase_ets']:.3f})")
    print(f"mean sMAPE rnntools {mean['smape_rnn']:.2f}  ETS {mean['smape_ets']:.2f}  seasonal naive "
          f"{mean['smape_naive']:.2f}")
    print(f"rnntools beats seasonal naive on {wins_naive}/{k} series, ETS on {wins_ets}/{k}")
    print(f"interval coverage on the hold-outs: 80% -> {mean['cov80']:.3f}, 95% -> {mean['cov95']:.3f}")
    print(f"fit+forecast time, sum of per-series medians over {args.reps} alternating reps: rnntools "
          f"{sum(times['rnntools']):.1f} s, ETS {sum(times['ets']):.1f} s "
          f"(ratio {sum(times['rnntools']) / max(sum(times['ets']), 1e-9):.2f})")
    return rows, mean


def synthetic(n_series: int, length: int, seed: int) -> np.ndarray:
    """Monthly-like series: random level, trend, seasonal amplitude and phase, AR(1) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(50, 500, (n_series, 1))
    trend = rng.normal(0, 0.003, (n_series, 1)) * level
    amp = rng.uniform(0.0, 0.3, (n_series, 1)) * level
    phase = rng.uniform(0, 2 * np.pi, (n_series, 1))
    noise = np.zeros((n_series, length))
    e = rng.normal(0, 0.05, (n_series, length)) * level
    for i in range(1, length):
        noise[:, i] = 0.5 * noise[:, i - 1] + e[:, i]
    return level + trend * t + amp * np.sin(2 * np.pi * t / 12 + phase) + noise


def write_series(Y: np.ndarray, path: str, train_path: str, n_train: int) -> None:
    """Rows of Y as monthly JSONL series s0, s1, ... in ``path``, and the first ``n_train`` in ``train_path``."""
    lines = [json.dumps({"id": f"s{i}", "start": "2000-01", "freq": "M",
                         "values": [round(float(v), 3) for v in y]}) + "\n" for i, y in enumerate(Y)]
    with open(path, "w") as f:
        f.writelines(lines)
    with open(train_path, "w") as f:
        f.writelines(lines[:n_train])


def speed(args):
    n, length = 10_000, 200
    Y = synthetic(n, length, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        path, train_path = os.path.join(tmp, "many.jsonl"), os.path.join(tmp, "train.jsonl")
        write_series(Y, path, train_path, 500)
        model_path = os.path.join(tmp, "global.npz")
        env = {**os.environ, "PYTHONPATH": ROOT}
        cmd = [sys.executable, "-m", "rnntools"]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "rnn-train", "--task", "forecast", train_path, "-o", model_path, "--max-time", "60"],
                       check=True, env=env)
        print(f"global model: trained on 500 series in {time.perf_counter() - t0:.1f} s")
        import resource

        from rnntools.tasks.forecast.series import read_series

        model = F.load(model_path)
        lib, cli = [], []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            series = read_series([path])
            t1 = time.perf_counter()
            out = F.forecast(model, series, model.cfg.horizon)
            lib.append((t1 - t0, time.perf_counter() - t1))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            with open(os.devnull, "w") as devnull:
                subprocess.run([*cmd, "predict", model_path, path], check=True, env=env, stdout=devnull)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli.append((time.perf_counter() - t0, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
        assert len(out) == n
        read_s = statistics.median(r for r, _ in lib)
        pred_s = statistics.median(p for _, p in lib)
        print(f"forecast {n} series x {length} points, horizon {model.cfg.horizon}, {args.reps} reps (medians): "
              f"read {read_s:.2f} s + batched forecast {pred_s:.2f} s; whole CLI (JSONL in -> JSONL out, "
              f"process start included) {statistics.median(w for w, _ in cli):.2f} s wall "
              f"({min(w for w, _ in cli):.2f}-{max(w for w, _ in cli):.2f}), "
              f"{statistics.median(c for _, c in cli):.2f} s CPU  [target < 5 s]")
        from isa import report

        print(report(torch_side=False))
        print(f"peak RSS of the rnntools subprocesses (training, CLI predict): "
              f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB; of this process "
              f"(library read + predict): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=lambda s: s.split(","), default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-history", type=int, default=1200)
    ap.add_argument("--set", action="append", default=[], help="ForecastConfig override, e.g. ensemble=3")
    ap.add_argument("--engine", action="append", default=[], help="engine option, e.g. hidden=64")
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=False), flush=True)
    console.configure(quiet=True)
    parse = lambda items: {k: (int(v) if v.lstrip("-").isdigit() else float(v) if v.replace(".", "", 1).isdigit()  # noqa: E731
                               else v) for k, v in (i.split("=", 1) for i in items)}
    overrides, engine = parse(args.set), parse(args.engine)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; overrides {overrides} "
          f"engine {engine}", flush=True)
    if not args.speed_only:
        accuracy(args, overrides, engine)
    if not args.no_speed:
        speed(args)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
