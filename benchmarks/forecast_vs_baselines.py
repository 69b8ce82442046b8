"""rnntools forecaster (defaults) vs seasonal naive, naive, drift, ETS, auto-ARIMA and Theta on 40 real series.

    nice -n 19 python benchmarks/forecast_vs_baselines.py                  # every series, one seed
    python benchmarks/forecast_vs_baselines.py --only airpassengers,us_realgdp --set select=rnn
    python benchmarks/forecast_vs_baselines.py --json rows.json            # rows for docs/forecast.md

Data: ``datasets.forecast_series()``: 40 series that ship inside pmdarima, statsmodels and sktime
(yearly, quarterly, monthly, weekly, daily, half-hourly, 0.5 s). Each method sees the same history (the
series without its last h points, at most ``--max-history`` of them) and is scored on those h points
(h by frequency as in M4: Y 6, Q 8, M 18, W 13, D 14, half-hourly 48, 0.5 s 20). MASE is scaled by the
in-sample seasonal-naive MAE of that history; "rel" is MASE / seasonal naive's MASE, summarised by its
geometric mean. Peers (benchmark-only, never runtime dependencies): statsforecast's AutoETS, AutoARIMA and
AutoTheta with the same season (ETS and ARIMA get no season above 24, as R's ets(); a seasonal ARIMA at
m = 52 or 336 takes hours); their 80/95% intervals are
scored too. rnntools: ``fit_model`` with the CLI's defaults, one model per series, season and horizon given
(as the held-out evaluation runs it), ``--threads 1``.

HELD_ASIDE series were not looked at while choosing defaults; they are summarised on their own.

``--lookback SEASONS,MIN``: the default input window's rule for this run (model.LOOKBACK_SEASONS seasons, at
least model.MIN_LOOKBACK steps) instead of the library's; with ``--model-cache`` its networks are cached under
names that say so, and a series whose window comes out as under the library's rule reads the library rule's
network (training is deterministic with one thread), so only the networks the rule changes are trained.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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

H_BY_FREQ = {"Y": 6, "Q": 8, "M": 18, "W": 13, "D": 14, "h": 48, "30min": 48, "5min": 48, "0.5s": 20}
HELD_ASIDE = {"us_realcons", "us_realdpi", "us_unemp", "elec_equip", "danish_lry", "de_R", "uk_ksi",
              "uschange_income", "msft_close", "copper_consumption"}
PEERS = ("ets", "arima", "theta")


def peer_forecast(name: str, y: np.ndarray, h: int, m: int) -> dict:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if name == "ets":
                model = AutoETS(season_length=m if 1 < m <= 24 else 1)
            elif name == "arima":
                # a seasonal ARIMA with m > 24 takes minutes to hours per fit (R's auto.arima suggests
                # Fourier terms instead): above 24 the peer is non-seasonal, as ETS
                model = AutoARIMA(season_length=m if m <= 24 else 1)
            else:
                model = AutoTheta(season_length=m if m > 1 and len(y) >= 2 * m else 1)
            out = model.forecast(y=y.astype(np.float64), h=h, level=[80, 95])
            fc = np.asarray(out["mean"], np.float64)
            if not np.all(np.isfinite(fc)):
                raise ValueError("non-finite")
            return {"forecast": fc, "lo80": out["lo-80"], "hi80": out["hi-80"], "lo95": out["lo-95"],
                    "hi95": out["hi-95"]}
        except Exception as exc:  # noqa: BLE001 - a peer that fails falls back to seasonal naive, and says so
            print(f"  {name} failed ({exc.__class__.__name__}: {exc}); seasonal naive instead", flush=True)
            return {"forecast": seasonal_naive(y, h, m)}


def lookback_of(n: int, h: int, m: int, overrides: dict, engine: dict, rule: tuple | None = None) -> int:
    """The network's input window for a series of n values under the lookback ``rule`` (SEASONS, MIN; None:
    the one in force)."""
    from rnntools.tasks.forecast import model as MD

    cfg = F.ForecastConfig(season=m, horizon=h, **overrides)
    old = MD.LOOKBACK_SEASONS, MD.MIN_LOOKBACK
    if rule is not None:
        MD.LOOKBACK_SEASONS, MD.MIN_LOOKBACK = rule
    try:
        return MD.resolve(cfg, TimeAxis("int", 1), [n], engine.get("val_fraction", F.DEFAULTS["val_fraction"])).lookback
    finally:
        MD.LOOKBACK_SEASONS, MD.MIN_LOOKBACK = old


LIBRARY_LOOKBACK: tuple | None = None   # the library's (SEASONS, MIN) when --lookback replaced them


def ours(y: np.ndarray, h: int, m: int, overrides: dict, engine: dict, name: str, cache: str | None = None,
         tag: str | None = None):
    from rnntools.tasks.forecast import model as MD

    s = Series(name, y, TimeAxis("int", 1), 0)
    cfg = F.ForecastConfig(season=m, horizon=h, **overrides)
    path = None
    if cache:
        opts = "-".join(f"{k}={v}" for k, v in sorted({**overrides, **engine}.items()))
        path = os.path.join(cache, f"{name}-{tag or len(y)}-{h}-{m}{'-' + opts if opts else ''}.npz")
        if LIBRARY_LOOKBACK is not None:
            library = path
            path = f"{path[:-4]}-lookback={MD.LOOKBACK_SEASONS},{MD.MIN_LOOKBACK}.npz"
            if (not os.path.exists(path) and os.path.exists(library) and lookback_of(len(y), h, m, overrides, engine)
                    == lookback_of(len(y), h, m, overrides, engine, LIBRARY_LOOKBACK)):
                path = library
    if path and os.path.exists(path):
        # the same network (training is deterministic with --threads 1): only the choice and the intervals,
        # which come after training, are recomputed with the current code
        model = F.load(path)
        F.reselect(model, [s])
    else:
        model = F.fit_model([s], cfg, {"threads": 1, **engine}, quiet=True)
        if path:
            F.save(model, path)
    return F.forecast(model, [s], h)[0], model


def series_of(path: str | None) -> list[tuple]:
    """``datasets.forecast_series()``, or the series of a JSONL file (one ``{"name", "freq", "m", "values",
    "source"}`` per line: other real series, to check a change on data it was not chosen on)."""
    if path is None:
        import datasets

        return datasets.forecast_series()
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return [(r["name"], r["freq"], int(r["m"]), np.asarray(r["values"], np.float64), r.get("source", ""))
            for r in recs]


def run(args, overrides, engine):

    rows = []
    cache = {}
    if args.peer_cache and os.path.exists(args.peer_cache):
        # the peers' forecasts do not change between runs of rnntools: fit them once per series
        with open(args.peer_cache) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    cache[rec["key"]] = rec
    shard, n_shards = map(int, args.shard.split("/"))
    for i, (name, freq, m, values, _source) in enumerate(series_of(args.series)):
        if args.only and name not in args.only or i % n_shards != shard:
            continue
        h = H_BY_FREQ[freq]
        y = np.asarray(values, np.float64)
        for fold in range(1, args.folds + 1):
            cut = len(y) - fold * h
            if fold > 1 and cut - h < max(2 * m, 16):
                break
            rows.append(one(args, name, freq, m, h, y[:cut][-args.max_history:], y[cut:cut + h], fold, cache,
                            overrides, engine, cut))
    return rows


def cache_tag(train, cut: int) -> str:
    """What names one origin's history in the caches: its length, plus where it ends when --max-history cut
    its start (every fold of a long series then has the same length, and the folds must not share a
    network or a peer's forecast fitted on another fold's data)."""
    return f"{len(train)}" if len(train) == cut else f"{len(train)}@{cut}"


def one(args, name, freq, m, h, train, test, fold, cache, overrides, engine, cut) -> dict:
    """One series at one origin: rnntools, the simple methods and the peers forecast ``test`` from ``train``."""
    row = {"series": name, "freq": freq, "n": len(train), "h": h, "m": m, "fold": fold,
           "held_aside": name in HELD_ASIDE}
    fc = {"snaive": seasonal_naive(train, h, m), "naive": np.repeat(train[-1], h),
          "drift": train[-1] + (train[-1] - train[0]) / (len(train) - 1) * np.arange(1, h + 1)}
    t0 = time.perf_counter()
    if args.no_ours:
        p = {"forecast": fc["snaive"], "method": "skipped"}
    else:
        p, model = ours(train, h, m, overrides, engine, name, args.model_cache, cache_tag(train, cut))
    row["s_rnntools"] = time.perf_counter() - t0
    fc["rnntools"] = p["forecast"]
    row["method"] = p.get("method", "rnn")
    for lev in (80, 95):
        if f"lower_{lev}" in p:
            row[f"cov{lev}_rnntools"] = coverage(test, p[f"lower_{lev}"], p[f"upper_{lev}"])
    if not args.no_peers:
        for peer in PEERS:
            key = f"{name}/{peer}/{cache_tag(train, cut)}/{h}/{m}"
            if key in cache:
                out, row[f"s_{peer}"] = {k: np.asarray(v) for k, v in cache[key]["out"].items()}, cache[key]["s"]
            else:
                t0 = time.perf_counter()
                out = peer_forecast(peer, train, h, m)
                row[f"s_{peer}"] = time.perf_counter() - t0
                if args.peer_cache:
                    with open(args.peer_cache, "a") as f:
                        f.write(json.dumps({"key": key, "s": row[f"s_{peer}"], "out": {
                            k: np.asarray(v, np.float64).tolist() for k, v in out.items()}}) + "\n")
            fc[peer] = out["forecast"]
            for lev in (80, 95):
                if f"lo{lev}" in out:
                    row[f"cov{lev}_{peer}"] = coverage(test, np.asarray(out[f"lo{lev}"]),
                                                       np.asarray(out[f"hi{lev}"]))
    for k, f in fc.items():
        row[f"mase_{k}"] = mase(test, f, train, m)
        row[f"smape_{k}"] = smape(test, f)
    for k in fc:
        row[f"rel_{k}"] = row[f"mase_{k}"] / row["mase_snaive"] if row["mase_snaive"] > 0 else 1.0
    if args.rows:
        with open(args.rows, "a") as f:
            f.write(json.dumps(row, default=float) + "\n")
    print(f"{name:22s} {freq:5s} f{fold} n={len(train):5d} h={h:2d} m={m:3d} {row['method']:9s} "
          + " ".join(f"{k} {row[f'mase_{k}']:.3f}" for k in fc)
          + f"  fit {row['s_rnntools']:.1f}s", flush=True)
    return row


def method_summary(rows: list[dict], k: str):
    """Method ``k`` over ``rows``: mean MASE, geometric mean of MASE relative to seasonal naive, mean sMAPE,
    and the lists of its 80% / 95% coverages and seconds (empty for methods without them)."""
    mm = np.mean([r[f"mase_{k}"] for r in rows])
    rel = np.exp(np.mean([np.log(max(r[f"rel_{k}"], 1e-9)) for r in rows]))
    sm = np.mean([r[f"smape_{k}"] for r in rows])
    c80 = [r[f"cov80_{k}"] for r in rows if f"cov80_{k}" in r]
    c95 = [r[f"cov95_{k}"] for r in rows if f"cov95_{k}" in r]
    tt = [r[f"s_{k}"] for r in rows if f"s_{k}" in r]
    return mm, rel, sm, c80, c95, tt


def summarise(rows: list[dict], title: str) -> None:
    if not rows:
        return
    keys = [k[5:] for k in rows[0] if k.startswith("mase_")]
    print(f"\n{title}: {len(rows)} {'series' if 'origin' not in title else 'forecasts'}")
    print(f"{'method':10s} {'mean MASE':>9s} {'geo rel':>8s} {'sMAPE':>7s} {'cov80':>6s} {'cov95':>6s} "
          f"{'time s':>7s}")
    for k in keys:
        mm, rel, sm, c80, c95, tt = method_summary(rows, k)
        print(f"{k:10s} {mm:9.3f} {rel:8.3f} {sm:7.2f} "
              f"{(np.mean(c80) if c80 else float('nan')):6.3f} {(np.mean(c95) if c95 else float('nan')):6.3f} "
              f"{(sum(tt) if tt else 0):7.1f}")
    worse = [r["series"] for r in rows
             if r["mase_rnntools"] > 1.1 * min(r["mase_naive"], r["mase_snaive"]) + 1e-12]
    beats = sum(r["mase_rnntools"] < r["mase_snaive"] for r in rows)
    print(f"rnntools beats seasonal naive on {beats}/{len(rows)}; worse than 1.1x the better of naive and "
          f"seasonal naive on {len(worse)}: {', '.join(worse) or 'none'}")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["method"]] = counts.get(r["method"], 0) + 1
    print("methods chosen: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))


NAMES = {"rnntools": "rnntools (defaults)", "snaive": "seasonal naive", "naive": "naive", "drift": "drift",
         "ets": "ETS (statsforecast AutoETS)", "arima": "auto-ARIMA (AutoARIMA)", "theta": "Theta (AutoTheta)"}


def markdown_table(rows: list[dict]) -> str:
    """One docs/forecast.md summary table of ``rows``, and the counts against seasonal naive."""
    out = ["| method | mean MASE | geo-mean rel. MASE vs seasonal naive | mean sMAPE % | coverage 80% | coverage 95% "
           "| fit+forecast s (sum) |", "|---|---|---|---|---|---|---|"]
    for k in NAMES:
        if f"mase_{k}" not in rows[0]:
            continue
        mm, rel, sm, c8, c9, tt = method_summary(rows, k)
        cov = f"{np.mean(c8):.3f} | {np.mean(c9):.3f} | {sum(tt):.0f}" if c8 else "- | - | -"
        out.append(f"| {NAMES[k]} | {mm:.3f} | {rel:.3f} | {sm:.2f} | {cov} |")

    def counts(k):
        worse = [r["series"] for r in rows if r[f"mase_{k}"] > 1.1 * min(r["mase_naive"], r["mase_snaive"]) + 1e-12]
        return sum(r[f"mase_{k}"] < r["mase_snaive"] for r in rows), worse
    beats, worse = counts("rnntools")
    ties = sum(r["mase_rnntools"] == r["mase_snaive"] for r in rows)
    peers = [k for k in PEERS if f"mase_{k}" in rows[0]]
    out += ["", f"rnntools beats seasonal naive on {beats} of {len(rows)} (ties {ties}; "
            + ", ".join(f"{NAMES[k].split(' ')[0]} {counts(k)[0]}" for k in peers)
            + f"); worse than 1.1x the better of naive and seasonal naive on {len(worse)} ("
            + ", ".join(f"{NAMES[k].split(' ')[0]} {len(counts(k)[1])}" for k in peers) + f"): {', '.join(worse)}."]
    return "\n".join(out)


def markdown(rows: list[dict]) -> str:
    """The benchmark's tables for docs/forecast.md."""
    last = [r for r in rows if r.get("fold", 1) == 1]
    parts = [("**All 40 series** (the last h points)", last),
             (f"**Held aside** ({sum(r['held_aside'] for r in last)} series, the last h points)",
              [r for r in last if r["held_aside"]]),
             (f"**Every origin** (4 per series: fold k hides the last k*h points and forecasts the first h of "
              f"them; {len(rows)} forecasts)", rows),
             (f"**Every origin, held aside** ({sum(r['held_aside'] for r in rows)} forecasts)",
              [r for r in rows if r["held_aside"]]),
             (f"**Every origin, chosen on** ({sum(not r['held_aside'] for r in rows)} forecasts)",
              [r for r in rows if not r["held_aside"]])]
    out = []
    for title, part in parts:
        if part:
            out += [title, "", markdown_table(part), ""]
    out += ["| series | freq | n | h | m | method | rnntools | seas. naive | naive | drift | ETS | ARIMA | Theta "
            "| cov80 | cov95 |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in last:
        name = r["series"] + (" (aside)" if r["held_aside"] else "")
        out.append(f"| {name} | {r['freq']} | {r['n']} | {r['h']} | {r['m']} | {r['method']} | "
                   + " | ".join(f"{r.get('mase_' + k, float('nan')):.3f}"
                                for k in ("rnntools", "snaive", "naive", "drift", "ets", "arima", "theta"))
                   + f" | {r.get('cov80_rnntools', float('nan')):.2f} | {r.get('cov95_rnntools', float('nan')):.2f} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=lambda s: s.split(","), default=None)
    ap.add_argument("--series", default=None, help="JSONL of other series instead of datasets.forecast_series()")
    ap.add_argument("--folds", type=int, default=1,
                    help="origins per series: fold k hides the last k*h points and forecasts the first h of them")
    ap.add_argument("--max-history", type=int, default=2016)
    ap.add_argument("--set", action="append", default=[], help="ForecastConfig override, e.g. select=rnn")
    ap.add_argument("--lookback", default=None, metavar="SEASONS,MIN",
                    help="the default input window's rule for this run (module docstring)")
    ap.add_argument("--engine", action="append", default=[], help="engine option, e.g. hidden=64")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-ours", action="store_true", help="only the peers (to fill --peer-cache)")
    ap.add_argument("--model-cache", default=None,
                    help="folder of trained networks: reused (selection and intervals recomputed) when present")
    ap.add_argument("--peer-cache", default=None, help="JSONL of the peers' forecasts: read, and appended to")
    ap.add_argument("--json", default=None, help="write the rows here")
    ap.add_argument("--rows", default=None, help="append each row to this JSONL file as it is done")
    ap.add_argument("--shard", default="0/1", help="K/N: run every N-th series from the K-th (parallel runs)")
    ap.add_argument("--summarise", nargs="*", default=None, help="only summarise these --json files")
    ap.add_argument("--markdown", default=None, help="write the docs/forecast.md tables here")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=False), flush=True)
    console.configure(quiet=True)
    from rnntools.parallel import configure_threads

    configure_threads(1)   # one core per process: accuracy runs share the machine

    def value(v):
        for cast in (int, float):
            try:
                return cast(v)
            except ValueError:
                pass
        return v

    def option(k, v):
        # a yes/no option as the model file keeps it (true or false): an int 0 trained the same network but
        # wrote a file that load() refuses, so a second run through --model-cache failed on it
        if F.ForecastConfig.__dataclass_fields__.get(k) is not None and isinstance(F.DEFAULTS.get(k), bool):
            if v.lower() in ("0", "false", "no"):
                return False
            if v.lower() in ("1", "true", "yes"):
                return True
            raise SystemExit(f"--set {k}={v}: expected true or false")
        return value(v)

    overrides = {k: option(k, v) for k, v in (i.split("=", 1) for i in args.set)}
    if args.lookback:
        from rnntools.tasks.forecast import model as MD

        global LIBRARY_LOOKBACK
        LIBRARY_LOOKBACK = MD.LOOKBACK_SEASONS, MD.MIN_LOOKBACK
        MD.LOOKBACK_SEASONS, MD.MIN_LOOKBACK = (int(v) for v in args.lookback.split(","))
    engine = {k: value(v) for k, v in (i.split("=", 1) for i in args.engine)}
    import platform

    print(f"load {os.getloadavg()[0]:.2f}; {platform.processor() or platform.machine()}; overrides {overrides} "
          f"engine {engine}; lookback rule {args.lookback or 'library'}", flush=True)
    if args.summarise:
        rows = []
        for path in args.summarise:
            text = open(path).read()
            rows += json.loads(text) if text.lstrip().startswith("[") else [json.loads(ln) for ln in text.splitlines()]
    else:
        rows = run(args, overrides, engine)
    last = [r for r in rows if r.get("fold", 1) == 1]   # the series' last h points: the headline tables
    summarise(last, "all")
    summarise([r for r in last if not r["held_aside"]], "chosen on")
    summarise([r for r in last if r["held_aside"]], "held aside")
    if len(last) < len(rows):
        summarise(rows, "every origin (series x folds)")
        summarise([r for r in rows if not r["held_aside"]], "every origin, chosen on")
        summarise([r for r in rows if r["held_aside"]], "every origin, held aside")
    print(f"load {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=float)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows))


if __name__ == "__main__":
    main()
