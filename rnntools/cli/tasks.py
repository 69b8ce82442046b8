"""The task registry behind the polymorphic commands ``rnn-train``, ``predict`` and ``evaluate``.

Each task has a CLI module (click and the standard library only at import time) that may define:

    TRAIN_OPTIONS    list of option decorators only ``rnn-train --task T`` takes
    train(inputs, output, engine, **options)           engine: dict of the shared engine options
    PREDICT_OPTIONS  options of ``predict`` for this task's model kind
    predict(model, inputs, output, **options)
    EVALUATE_OPTIONS options of ``evaluate`` for this task's model kind
    evaluate(model, inputs, output, **options)

``predict`` and ``evaluate`` read the model file's kind and call the module that owns it. An option that
belongs to another task is a usage error (exit 2) naming the option and the task.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import click

from rnntools.errors import UsageError

# rnn-train --task NAME -> module
TASKS: dict[str, str] = {
    "lm": "rnntools.cli.task_lm",
    "classify": "rnntools.cli.task_classify",
    "forecast": "rnntools.cli.task_forecast",
    "seq2seq": "rnntools.cli.task_seq2seq",
}

# model kind (meta["kind"]) -> module
KINDS: dict[str, str] = {
    "lm": "rnntools.cli.task_lm",
    "classifier": "rnntools.cli.task_classify",
    "forecaster": "rnntools.cli.task_forecast",
    "seq2seq": "rnntools.cli.task_seq2seq",
    "vectors": "rnntools.cli.task_vectors",
}


def available(table: dict[str, str]) -> dict[str, ModuleType]:
    """The modules of ``table`` that exist (tasks land one at a time), imported."""
    out = {}
    for name, module_name in table.items():
        if importlib.util.find_spec(module_name) is not None:
            out[name] = importlib.import_module(module_name)
    return out


def collect_options(modules: dict[str, ModuleType], attribute: str) -> tuple[list, dict[str, set[str]]]:
    """All option decorators named ``attribute`` across modules, once per option name, and which
    names belong to which modules."""
    decorators, owners, seen = [], {}, {}
    for name, module in modules.items():
        for decorator in getattr(module, attribute, []):
            probe = decorator(lambda: None)
            param = probe.__click_params__[-1]
            owners.setdefault(param.name, set()).add(name)
            if param.name not in seen:
                seen[param.name] = param
                decorators.append(decorator)
    return decorators, owners


def reject_foreign_options(ctx: click.Context, owners: dict[str, set[str]], chosen: str, what: str) -> None:
    """A usage error for options given on the command line that ``chosen`` does not take."""
    for name, tasks in owners.items():
        if chosen in tasks:
            continue
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} does not apply to {what} (it is for {', '.join(sorted(tasks))})")


def task_kwargs(kwargs: dict, owners: dict[str, set[str]], chosen: str) -> dict:
    """The options ``chosen`` takes, out of all the parsed ones."""
    return {name: value for name, value in kwargs.items() if chosen in owners.get(name, ())}
