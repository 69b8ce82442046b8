"""``--task forecast``: train a forecaster, forecast many series at once, backtest it (click + stdlib only)."""

from __future__ import annotations

import click

from rnntools.cli.common import option


def _levels(ctx, param, value):
    if value is None:
        return None
    text = value.strip()
    if text.lower() in ("", "none", "0"):
        return ()
    try:
        levels = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter("expected percentages like 80,95") from None
    if any(not 0 < v < 100 for v in levels):
        raise click.BadParameter("levels are percentages between 1 and 99")
    return levels


# input options: the same definitions in rnn-train, predict and evaluate (predict/evaluate default to the
# columns the model was trained with, hence no defaults here)
INPUT_OPTIONS = [
    option("--target", type=str, default=None, group="Forecast input",
           help="CSV column to forecast [default: the first numeric column besides the timestamp]."),
    option("--timestamp-column", type=str, default=None, group="Forecast input",
           help="CSV timestamp column [default: one named date/time/timestamp/month..., else the first]."),
    option("--id-column", type=str, default=None, group="Forecast input",
           help="CSV column naming the series in long format (id,timestamp,value) [default: a column "
                "named id/series/unique_id, else the first text column, if any]."),
    option("--freq", type=str, default=None, group="Forecast input",
           help="Frequency (s, 15min, h, D, W, M, Q, Y) [default: inferred from the timestamps]."),
    option("--missing", type=click.Choice(["error", "interpolate", "ffill"]), default=None, group="Forecast input",
           help="Missing values and gaps: stop with an error, interpolate linearly, or carry the last value "
                "forward; the count is reported [default: interpolate]."),
]

TRAIN_OPTIONS = [
    *INPUT_OPTIONS,
    option("--covariates", type=str, default=None, group="Forecast model",
           callback=lambda ctx, param, v: tuple(c.strip() for c in v.split(",") if c.strip()) if v else (),
           help="CSV value columns (comma-separated) fed to the network as extra inputs; only their past "
                "is used, so predict needs no future values."),
    option("--horizon", type=click.IntRange(1), default=None, group="Forecast model",
           help="Steps to forecast [default: by frequency as in M4: Y 6, Q 8, M 18, W 13, D 14, h 48]."),
    option("--lookback", type=click.IntRange(1), default=None, group="Forecast model",
           help="Steps the network reads before forecasting [default: two seasons, at least 16]."),
    option("--season", type=click.IntRange(1), default=None, group="Forecast model",
           help="Seasonal period [default: from the frequency: M 12, Q 4, W 52, D 7, h 24; 1 = none]."),
    option("--strategy", type=click.Choice(["direct", "recursive"]), default="direct", show_default=True,
           group="Forecast model", help="All horizons at once, or one step at a time fed back."),
    option("--difference", type=click.Choice(["auto", "season", "drift", "1", "none"]), default="auto",
           show_default=True,
           group="Forecast model", help="The network learns the residual over the seasonal-naive forecast "
                                        "(season), over seasonal naive plus the recent growth (drift), over "
                                        "the last value (1), or the values themselves (none); auto: season "
                                        "when there is one, else 1."),
    option("--transform", type=click.Choice(["auto", "log", "none"]), default="auto", show_default=True,
           group="Forecast model", help="log1p before scaling; auto: for positive series whose seasonal swing "
                                        "grows with the level."),
    option("--ensemble", type=click.IntRange(1), default=1, show_default=True, group="Forecast model",
           help="Average this many networks trained from different seeds."),
    option("--refit-all", is_flag=True, group="Forecast model",
           help="After early stopping, retrain on every value (the held-out ends too) for the chosen number "
                "of epochs; intervals stay calibrated on the validation split. Measured: better on 13 of 14 "
                "benchmark series, much worse on one, twice the training time; off by default."),
    option("--intervals", type=str, callback=_levels, default="80,95", show_default=True,
           group="Forecast model", help="Prediction interval levels (percent) calibrated on the validation "
                                        "split; 'none' for none."),
]


def _read(inputs, opts: dict, defaults: dict, encoding_errors: str = "strict"):
    from rnntools import console
    from rnntools.tasks.series import apply_missing, read_series

    pick = {k: opts.get(k) if opts.get(k) is not None else defaults.get(k)
            for k in ("target", "timestamp_column", "id_column", "freq")}
    covariates = tuple(opts.get("covariates") or defaults.get("covariates") or ())
    series = read_series(list(inputs), encoding_errors=encoding_errors, covariates=covariates, **pick)
    pick["covariates"] = list(covariates)
    policy = opts.get("missing") or defaults.get("missing") or "interpolate"
    total, hit = 0, 0
    for s in series:
        n = apply_missing(s, policy)
        total += n
        hit += n > 0
    if total:
        console.warn(f"{total} missing value(s) in {hit} series filled by --missing {policy}")
    return series, pick, policy


def _season(series, season):
    if season is not None:
        return season
    given = {s.season for s in series if s.season is not None}
    if len(given) > 1:
        from rnntools.errors import InputError

        raise InputError(f"the series give different seasons ({', '.join(map(str, sorted(given)))}); one model "
                         f"has one season: train one model per frequency (e.g. jq -c 'select(.freq == \"M\")')")
    return given.pop() if given else None


def train(inputs, output, engine, *, target, timestamp_column, id_column, freq, missing, covariates, horizon,
          lookback, season, strategy, difference, transform, ensemble, refit_all, intervals):
    from rnntools import console
    from rnntools.io import load_model
    from rnntools.tasks import forecast as F

    series, pick, policy = _read(inputs, locals(), {}, engine.get("encoding_errors") or "strict")
    cfg = F.ForecastConfig(season=_season(series, season), horizon=horizon, lookback=lookback,
                           strategy=strategy, difference=difference, transform=transform, ensemble=ensemble,
                           refit=refit_all, covariates=tuple(covariates or ()),
                           intervals=tuple(intervals if intervals is not None else (80, 95)), missing=policy)
    resume = load_model(engine["resume"], F.KIND) if engine.get("resume") else None
    model = F.fit_model(series, cfg, engine, output=output, resume=resume, input_options=pick)
    c = model.cfg
    console.info(f"{len(series)} series, frequency {model.axis.freq}, season {c.season}, horizon {c.horizon}, "
                 f"lookback {c.lookback}, {c.strategy}; validation MAE (scaled) "
                 f"{_fmt(model.summary.get('val_loss'))}, naive {_fmt(model.summary.get('val_naive'))}")


def _fmt(v):
    return "n/a" if v is None else f"{v:.4g}"


PREDICT_OPTIONS = [
    *INPUT_OPTIONS,
    option("--horizon", type=click.IntRange(1), default=None, group="Forecast",
           help="Steps to forecast [default: the model's]; past the trained horizon forecasts are chained."),
    option("--intervals", type=str, callback=_levels, default=None, group="Forecast",
           help="Interval levels to emit, among those the model was trained with [default: all of them]."),
]


def predict(model, inputs, output, *, target, timestamp_column, id_column, freq, missing, horizon, intervals):
    from rnntools.io import JsonlWriter, open_output
    from rnntools.tasks import forecast as F

    m = F.load(model)
    series, _, _ = _read(inputs, locals(), m.input_options)
    levels = list(m.levels if intervals is None else intervals)
    records = F.predict(m, series, horizon or m.cfg.horizon, levels)
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        for rec in records:
            writer.write(F.output_record(rec, levels))


EVALUATE_OPTIONS = [
    *INPUT_OPTIONS,
    option("--backtest", type=click.IntRange(1), default=3, show_default=True, group="Forecast",
           help="Rolling-origin folds: the last N non-overlapping horizons of every series."),
    option("--refit/--no-refit", default=True, show_default=True, group="Forecast",
           help="Retrain the model's configuration on each fold's history (honest), or score the saved "
                "model as it is (fast, but folds inside its training data are in-sample)."),
]


def evaluate(model, inputs, output, *, target, timestamp_column, id_column, freq, missing, backtest, refit):
    from rnntools import console
    from rnntools.errors import UsageError
    from rnntools.io import JsonlWriter, open_output
    from rnntools.tasks import forecast as F

    if not inputs:
        raise UsageError("give the series to backtest: rnntools evaluate f.npz sales.csv --backtest 3")
    m = F.load(model)
    series, _, _ = _read(inputs, locals(), m.input_options)
    result = F.backtest(series, m.cfg, m.engine_options(), backtest, model=m, refit=refit)
    s = result["summary"]
    rows = [["MASE", s["mase"], s["naive_mase"]], ["sMAPE %", s["smape"], s["naive_smape"]]]
    rows += [[f"coverage {lev}%", s[f"coverage_{lev}"], ""] for lev in m.levels if f"coverage_{lev}" in s]
    console.print_table(f"backtest: {s['folds']} folds x horizon {s['horizon']}, {s['series']} series",
                        ["metric", "model", "seasonal naive"], rows)
    with open_output(output) as stream:
        JsonlWriter(stream).write(s)
