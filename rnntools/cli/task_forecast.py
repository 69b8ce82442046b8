"""The options only ``forecast`` takes: ``rnn-train --task forecast``, and ``predict``/``evaluate`` of
``forecaster`` models (click + stdlib only). The work is done by the package ``rnntools.tasks.forecast``."""

from __future__ import annotations

import click

from rnntools.cli.common import SEED, option
from rnntools.tasks.forecast import DEFAULTS as D


def _levels(ctx, param, value):
    if value is None:
        return None
    text = value.strip()
    if text.lower() == "none":
        return ()
    # an empty value or 0 is refused, not read as 'none': a script's empty variable must not drop the
    # intervals silently
    try:
        levels = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected percentages like 80,95, or 'none'") from None
    if any(not 0 < v < 100 for v in levels):
        raise click.BadParameter(f"{value!r}: levels are percentages between 1 and 99, or 'none'")
    # a level given twice is one level (predict wrote "80,80" as level 80 and again as lower_80/upper_80)
    return tuple(dict.fromkeys(levels))


def _covariates(ctx, param, value):
    if value is None:
        return ()
    names = [c.strip() for c in value.split(",")]
    # an empty name is refused, not skipped: `--covariates ,` or a script's empty variable trained without
    # covariates, silently
    if not all(names):
        raise click.BadParameter(f"{value!r}: expected CSV column names separated by commas, none of them empty")
    return tuple(dict.fromkeys(names))   # a column named twice is one input, not two copies of it


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
                f"forward; the count is reported [default: {D['missing']}]."),
]

TRAIN_OPTIONS = [
    *INPUT_OPTIONS,
    option("--covariates", type=str, default=None, group="Forecast model",
           callback=_covariates,
           help="CSV value columns (comma-separated) fed to the network as extra inputs; only their past "
                "is used, so predict needs no future values."),
    option("--horizon", type=click.IntRange(1), default=None, group="Forecast model",
           help="Steps to forecast [default: by frequency as in M4: Y 6, Q 8, M 18, W 13, D 14, h 48]."),
    option("--lookback", type=click.IntRange(1), default=None, group="Forecast model",
           help="Steps the network reads before forecasting [default: two seasons, at least 16]."),
    option("--season", type=click.IntRange(1), default=None, group="Forecast model",
           help="Seasonal period [default: from the frequency: M 12, Q 4, W 52, D 7, h 24; 1 = none]."),
    option("--strategy", type=click.Choice(["direct", "recursive"]), default=None,
           group="Forecast model", help="All horizons at once, or one step at a time fed back "
                                        f"[default: {D['strategy']}]."),
    option("--difference", type=click.Choice(["auto", "season", "drift", "1", "none"]), default=None,
           group="Forecast model", help="The network learns the residual over the seasonal-naive forecast "
                                        "(season), over seasonal naive plus the recent growth (drift), over "
                                        "the last value (1), or the values themselves (none); auto: season "
                                        f"when there is one, else 1 [default: {D['difference']}]."),
    option("--transform", type=click.Choice(["auto", "log", "none"]), default=None,
           group="Forecast model", help="log1p before scaling; auto: for positive series whose seasonal swing "
                                        f"grows with the level [default: {D['transform']}]."),
    option("--ensemble", type=click.IntRange(1, 1000), default=None, group="Forecast model",
           help="Average this many networks trained from different seeds."),
    option("--refit-all", "refit", is_flag=True, default=None, group="Forecast model",
           help="After early stopping, retrain on every value (the held-out ends too) for the chosen number "
                "of epochs; intervals stay calibrated on the validation split. Measured: better on 13 of 14 "
                "benchmark series, much worse on one, twice the training time; off by default."),
    option("--select", type=click.Choice(["auto", "rnn"]), default=None, group="Forecast model",
           help="auto: per series, the statistical method (naive, seasonal naive, drift, Theta, damped trend, "
                "theta+damped; weekly for daily seasons, daily for weekly ones) that forecast its history best, "
                "combined with the network by a median (predict reports it as 'method'); rnn: the network alone "
                f"[default: {D['select']}]."),
    option("--intervals", type=str, callback=_levels, default=None,
           group="Forecast model", help="Prediction interval levels (percent) calibrated on the validation "
                                        f"split; 'none' for none [default: {','.join(map(str, D['intervals']))}]."),
]


PREDICT_OPTIONS = [
    *INPUT_OPTIONS,
    option("--format", "output_format", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
           group="Output", help="jsonl: one record per series; csv: one row per series and step "
                                "(id,timestamp,step,forecast,method,lower_80,upper_80,...), for spreadsheets."),
    option("--horizon", type=click.IntRange(1), default=None, group="Forecast",
           help="Steps to forecast [default: the model's]; past the trained horizon forecasts are chained."),
    option("--intervals", type=str, callback=_levels, default=None, group="Forecast",
           help="Interval levels to emit, among those the model was trained with; 'none' for none "
                "[default: all of them]."),
]


EVALUATE_OPTIONS = [
    *INPUT_OPTIONS,
    option("--backtest", type=click.IntRange(1), default=3, show_default=True, group="Forecast",
           help="Rolling-origin folds: the last N non-overlapping horizons of every series."),
    option("--refit/--no-refit", default=True, show_default=True, group="Forecast",
           help="Retrain the model's configuration on each fold's history (honest), or score the saved "
                "model as it is (fast, but folds inside its training data are in-sample)."),
    option("--seed", type=SEED, default=None, group="Forecast",
           help="Random seed of the refits [default: the model's]; with --threads 1 the same numbers every run."),
    option("--max-time", type=click.FloatRange(0, min_open=True), default=None, group="Forecast",
           help="Stop each fold's refit after this many seconds [default: the model's budget]."),
]



def write_csv(records, stream) -> None:
    """``predict --format csv``: long format, one row per series and forecast step, the intervals as
    ``lower_L``/``upper_L`` columns for every level (the JSONL record's first level is ``lower``/``upper``
    with ``level``). The header comes from the first record; every record of one run has the same levels."""
    import csv

    from rnntools.tasks.forecast.forecasts import bound_fields

    writer, columns = None, []
    for rec in records:
        levels = [rec["level"]] if "level" in rec else []
        levels += [int(k[len("lower_"):]) for k in rec if k.startswith("lower_")]
        bounds = {}
        for lev, (lo, hi) in zip(levels, bound_fields(levels)):
            bounds[f"lower_{lev}"], bounds[f"upper_{lev}"] = rec[lo], rec[hi]
        if writer is None:
            columns = ["id", "timestamp", "step", "forecast", "method", *bounds]
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(columns)
        for step, (stamp, value) in enumerate(zip(rec["timestamps"], rec["forecast"]), 1):
            writer.writerow([rec["id"], stamp, step, value, rec.get("method", ""),
                             *(bounds[c][step - 1] for c in columns[5:])])
