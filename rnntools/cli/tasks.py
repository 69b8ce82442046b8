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


def model_command(name: str, help: str, output_help: str, stdin_default: bool) -> click.Command:
    """``predict`` or ``evaluate``: ``MODEL [INPUTS]...``; the model file's kind picks the module whose
    function ``name`` runs, with the options that module declares in ``NAME_OPTIONS``."""
    from rnntools.cli.common import CONTEXT, GroupedCommand, inputs_argument, option

    modules = {kind: m for kind, m in available(KINDS).items() if hasattr(m, name)}
    options, owners = collect_options(modules, f"{name.upper()}_OPTIONS")

    def command(model, inputs, output, **kwargs):
        from rnntools.errors import ModelFileError
        from rnntools.io import read_model_meta

        kind = read_model_meta(model)["kind"]
        if kind not in modules:
            raise ModelFileError(f"`{name}` does not take a {kind!r} model; it takes "
                                 f"{', '.join(sorted(modules))} models", model)
        reject_foreign_options(click.get_current_context(), owners, kind, f"a {kind} model")
        inputs = list(inputs) or (["-"] if stdin_default else [])
        getattr(modules[kind], name)(model, inputs, output, **task_kwargs(kwargs, owners, kind))

    for decorator in reversed(options):
        command = decorator(command)
    command = option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
                     group="Output", help=output_help)(command)
    command = inputs_argument()(command)
    command = click.argument("model", type=click.Path(dir_okay=False, allow_dash=True))(command)
    return click.command(name=name, cls=GroupedCommand, context_settings=CONTEXT, help=help)(command)
