"""Synchronous many-to-many over real values: one global recurrent forecaster over many series.

The task contract (docs/tasks.md): ``KIND``, ``DEFAULTS``, ``STRUCTURAL`` and ``train``/``load``/``read``/
``predict``/``evaluate``. The modules, in the order data flows through them:

    timeaxis.py  frequencies, timestamps, calendar ordinals
    series.py    CSV/JSONL to Series on a regular time axis; missing values
    data.py      Series to arrays: scaling, level-free features, baselines, residual targets, windows
    methods.py   the statistical methods (naive, seasonal naive, drift, Theta, damped trend, weekly), from
                 any origin
    choose.py    per series, a statistical method chosen on its history, combined with the network;
                 intervals per method
    model.py     the network (rnntools.nn Recurrent + Dense per ensemble member), Model, the model file
    forecasts.py batched forecasts of many series by their methods, intervals, output records
    metrics.py   MASE, sMAPE, coverage
    task.py      training with the shared trainer, the choice, calibration, backtests, the contract

This module imports nothing heavy: the CLI reads ``DEFAULTS`` for its help without loading numpy.
"""

from __future__ import annotations

KIND = "forecaster"

# THE place every default of the forecaster lives (None: chosen from the data, see task.resolve).
DEFAULTS: dict = {
    # input
    "target": None, "timestamp_column": None, "id_column": None, "freq": None, "missing": "interpolate",
    "covariates": (),
    # model
    "season": None, "horizon": None, "lookback": None, "strategy": "direct", "difference": "auto",
    "transform": "auto", "ensemble": 1, "refit": False, "level_input": True, "intervals": (80, 95),
    "select": "auto",
    # engine
    "cell": "lstm", "hidden": 32, "layers": 1, "dropout": 0.0,
    "epochs": 200, "patience": 10, "batch": None, "lr": 3e-3, "val_fraction": 0.2, "clip": 5.0,
    "optimizer": "adam", "seed": 1,
}

# options that change the network's structure or how the data becomes arrays: fixed on --resume
STRUCTURAL: frozenset = frozenset({
    "cell", "hidden", "layers", "season", "horizon", "lookback", "strategy", "difference", "transform",
    "ensemble", "covariates", "level_input", "target", "timestamp_column", "id_column", "freq", "missing",
})

__all__ = ["KIND", "DEFAULTS", "STRUCTURAL", "train", "load", "read", "predict", "evaluate", "summary_table"]


def __getattr__(name: str):
    # the rest (train, load, predict, ForecastConfig, fit_model...) lives in task.py, imported on first use
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib

    task = importlib.import_module("rnntools.tasks.forecast.task")
    try:
        return getattr(task, name)
    except AttributeError:
        raise AttributeError(f"module 'rnntools.tasks.forecast' has no attribute {name!r}") from None
